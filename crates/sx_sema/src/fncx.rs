//! The lowering context of one function body (floor 2): the compilation, the emitter, and the
//! per-body state of [`crate::fn_state`]. The lowering modules (floor 3) add their methods to
//! [`FnCx`]; this module only holds the state and the emitter shorthands.

use crate::emit::Emitter;
use crate::fn_state::*;
use crate::type_rules::returns_via_sret;
use crate::values::*;
use crate::*;
use sx_ir::{Block as IrBlock, Function, Slot, Type as IrType, Value};

/// The lowering context of one function body.
pub(crate) struct FnCx<'c> {
    /// The compilation this body belongs to.
    pub c: &'c mut Compiler,
    /// The IR being written.
    pub e: Emitter,
    pub file: FileIdx,
    pub owner: Option<TypeId>,
    pub scopes: Vec<Scope>,
    pub loops: Vec<LoopCx>,
    pub ret_ty: TypeId,
    /// Slot holding the hidden result pointer (aggregate returns).
    pub sret: Option<Slot>,
    /// Return-type inference mode: the type of the first returned value.
    pub infer: Option<Option<TypeId>>,
    /// The next expression is used as a value (a declaration's initialiser, an argument) even
    /// though no type is expected; consumed by [`FnCx::expr`].
    pub value_ctx: bool,
    /// The next index place is only having its address taken (`*buf[i]`): one past the last
    /// element is a valid address there. Consumed by the index place.
    pub address_only: bool,
    /// Names bound by the generic function being called (pattern inference).
    pub poly_scope: Vec<String>,
    /// Compile-time parameters given explicitly (never re-inferred).
    pub fixed_binds: Vec<String>,
    /// Local constants (types, functions) visible to nested functions.
    pub outer_consts: Rc<HashMap<String, ConstVal>>,
    /// Error-handling state (failable signature, `or`/`catch` fallback targets).
    pub errs: ErrCx,
    /// Set while lowering a closure body: what it may capture and what it has captured.
    pub clo: Option<ClosureCx>,
    /// Set in a function declared `-> (A, B)` / `-> (x: A, y: B)` (see [`crate::tuples`]).
    pub multi_ret: Option<MultiRet>,
    /// Lowering a function body (not evaluating a signature): `$T` is a declaration-only form.
    pub in_body: bool,
    /// Types whose `print` expansion encloses the current point (see `printfmt`).
    pub print_nest: Vec<TypeId>,
    /// Set by the last join of branches where one branch yields no value while another
    /// yields one: that branch (a `match` or `if` used as a value reports it).
    pub void_arm: Option<Span>,
}

impl<'c> FnCx<'c> {
    pub fn new(c: &'c mut Compiler, f: Function, file: FileIdx, owner: Option<TypeId>, outer: Rc<HashMap<String, ConstVal>>) -> Self {
        FnCx {
            e: Emitter::new(f, c.module.pointer_type()),
            c,
            file,
            owner,
            scopes: vec![Scope::default()],
            loops: vec![],
            ret_ty: bt::VOID,
            sret: None,
            infer: None,
            value_ctx: false,
            address_only: false,
            poly_scope: vec![],
            fixed_binds: vec![],
            outer_consts: outer,
            errs: Default::default(),
            clo: None,
            multi_ret: None,
            in_body: false,
            print_nest: vec![],
            void_arm: None,
        }
    }

    // ---- emitter shorthands ---------------------------------------------------------------------

    /// Runs `op` on a builder at the current block (see [`Emitter::b`]).
    pub fn b<T>(&mut self, op: impl FnOnce(&mut sx_ir::builder::FunctionBuilder) -> T) -> T {
        self.e.b(op)
    }
    /// A new, empty block.
    pub fn new_block(&mut self) -> IrBlock {
        self.e.new_block()
    }
    /// Continues emitting in `b`.
    pub fn switch(&mut self, b: IrBlock) {
        self.e.switch(b)
    }
    /// True when the current block already ends in a terminator.
    pub fn terminated(&mut self) -> bool {
        self.e.terminated()
    }
    /// The target's pointer-sized integer type.
    pub fn ptr_ty(&self) -> IrType {
        self.e.ptr_ty()
    }
    /// An integer constant.
    pub fn iconst(&mut self, ty: IrType, v: i64) -> Value {
        self.e.iconst(ty, v)
    }
    /// A stack slot laid out for a value of type `ty`.
    pub fn slot_for(&mut self, ty: TypeId) -> Slot {
        let (size, align) = (self.c.types.size_of(ty), self.c.types.align_of(ty));
        self.e.slot(size, align)
    }
    /// The address of slot `s`.
    pub fn slot_addr(&mut self, s: Slot) -> Value {
        self.e.slot_addr(s)
    }
    /// Address of a field at byte `offset` from `base`.
    pub fn offset_addr(&mut self, base: Value, offset: i64) -> Value {
        self.e.offset_addr(base, offset)
    }
    /// Jumps to `to` unless the current block is terminated.
    pub fn jump(&mut self, to: IrBlock) {
        self.e.jump(to)
    }
    /// For a call returning `ret`: reserves the result slot and pushes its address as the
    /// hidden first argument when the result comes back through memory.
    pub fn sret_arg(&mut self, ret: TypeId, args: &mut Vec<Value>) -> Option<Value> {
        if !returns_via_sret(&self.c.types, ret) {
            return None;
        }
        let (size, align) = (self.c.types.size_of(ret), self.c.types.align_of(ret));
        Some(self.e.sret_arg(size, align, args))
    }
    /// Reports an error at `span`.
    pub fn err<T>(&mut self, span: Span, msg: impl Into<String>) -> R<T> {
        self.c.err(span, msg)
    }
    /// The name of type `t` as sx spells it.
    pub fn tname(&self, t: TypeId) -> String {
        self.c.types.name(t)
    }
}
