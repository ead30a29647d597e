//! Per-function lowering state (floor 1): scopes and locals, loop targets, and the error,
//! closure and multi-return contexts of the body being lowered. Plain data; the code that
//! uses it lives in the lowering modules above.

use crate::*;
use sx_ir::{Block as IrBlock, Slot};

#[derive(Clone)]
pub(crate) enum Local {
    /// A variable in a stack slot. `by_ref`: the slot holds a pointer to the value.
    Var {
        slot: Slot,
        ty: TypeId,
        by_ref: bool,
        readonly: bool,
    },
    Const(ConstVal),
}

#[derive(Default)]
pub(crate) struct Scope {
    pub names: HashMap<String, Local>,
    pub defers: Vec<Stmt>,
    /// Optional locals narrowed to their payload in this scope, with their optional binding.
    pub narrowed: HashMap<String, Local>,
    /// Names whose declaration in this scope failed: a later use fails without a diagnostic
    /// of its own (the declaration's error already explains it).
    pub poisoned: std::collections::HashSet<String>,
}

pub(crate) struct LoopCx {
    pub brk: IrBlock,
    pub cont: IrBlock,
    pub depth: usize,
}

/// The failable signature of the function being lowered.
#[derive(Clone, Debug)]
pub(crate) struct FailSig {
    /// The success value type (`None` for `-> !`; a tuple for several value slots).
    pub value: Option<TypeId>,
    /// The error-set type of the error slot.
    pub err: TypeId,
}

/// Per-function error-handling state of [`FnCx`].
#[derive(Default)]
pub(crate) struct ErrCx {
    /// Set when the function is failable.
    pub fail: Option<FailSig>,
    /// Fallback targets of the enclosing `or` chains and `catch` operands, innermost last.
    pub targets: Vec<IrBlock>,
    /// The function's source name (return-trace frames).
    pub func_name: String,
    /// The kinds (`"defer"`, `"onfail"`) of the cleanup bodies being lowered, innermost last.
    pub cleanup: Vec<&'static str>,
    /// Value slots bound by `v, err := f()`, each with its error's slot and both names: a
    /// value may be read only where its error is proven absent.
    pub guarded: HashMap<sx_ir::Slot, (sx_ir::Slot, String, String)>,
}

/// The capture state of a closure body being lowered.
pub(crate) struct ClosureCx {
    /// Enclosing locals the body may capture, with their types.
    pub candidates: HashMap<String, TypeId>,
    /// Captured so far: name, type, byte offset in the environment.
    pub captured: Vec<(String, TypeId, u64)>,
    pub env_size: u64,
}

/// A lowered closure body.
#[derive(Clone, Debug)]
pub(crate) struct ClosureInfo {
    pub func: sx_ir::FuncId,
    pub ty: TypeId,
    pub captured: Vec<(String, TypeId, u64)>,
    pub env_size: u64,
}

/// The result slots of a function declared `-> (A, B)` / `-> (x: A, y: B)`.
#[derive(Clone, Default)]
pub(crate) struct MultiRet {
    /// The named slots as body locals: name, stack slot, type (empty for positional slots).
    pub locals: Vec<(String, Slot, TypeId)>,
}
