//! The executor's shared state, below both the dispatch loop ([`crate::exec`]) and the public
//! API (the crate root): the [`Vm`] and its budgets ([`VmLimits`]), outcomes and errors, the
//! linked code store ([`CodeStore`]), frames, and suspended evaluations.

use std::fmt;
use std::sync::Arc;

use sx_diag::Span;

use crate::bytecode::Op;
use crate::ffi::Foreign;
use crate::host::VmHost;
use crate::memory::ComptimeMemory;

/// Resource budgets of a [`Vm`]. Exceeding any of them is a [`VmError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmLimits {
    /// Steps per top-level [`Vm::call`]; one step is counted per taken jump/branch and per call.
    pub max_steps: u64,
    /// Wall-clock limit of one top-level [`Vm::call`].
    pub timeout: Option<std::time::Duration>,
    /// Steps between two safe-point checks (interrupt flag, deadline). The hot loop only
    /// counts down a local budget; these checks run when a chunk is used up, so they cost
    /// nothing per instruction. Smaller values lower the interrupt latency.
    pub check_every: u64,
    /// Test hook: at every n-th safe point, either abort (`true`) or suspend and resume the
    /// evaluation through the driver (`false`), to prove safe points preserve state.
    pub inject_interrupt: Option<(u64, bool)>,
    /// Maximum number of active frames (call depth).
    pub max_call_depth: usize,
    /// Maximum total live bytes of comptime memory (static data, stack slots, heap).
    pub max_memory: u64,
    /// Maximum size of the VM's register stack, in bytes.
    pub max_stack_bytes: u64,
    /// Whether externs without a Rust model are called through the dynamic loader and libffi
    /// ([`crate::ffi`]). C code runs in the compiler's process, limited only by `policy`;
    /// fuzzing turns this off.
    pub foreign_calls: bool,
    /// What compile-time code may do on the host (`--sandbox`, see [`crate::policy`]).
    pub policy: crate::policy::VmPolicy,
    /// Whether hot functions are compiled to native code (`jit`, `--comptime-jit`).
    /// The default is on unless the environment variable `SX_COMPTIME_JIT` is `off` or `0`
    /// (how test harnesses switch the tier off without a flag).
    pub comptime_jit: bool,
}

impl Default for VmLimits {
    fn default() -> Self {
        VmLimits {
            max_steps: 200_000_000,
            timeout: None,
            check_every: 1 << 20,
            inject_interrupt: None,
            max_call_depth: 100_000,
            max_memory: 1 << 30,
            max_stack_bytes: 512 << 20,
            foreign_calls: true,
            policy: crate::policy::VmPolicy::default(),
            comptime_jit: crate::native_code::enabled_by_env(),
        }
    }
}

/// One active call of a [`VmError`]'s stack trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Symbol name of the function.
    pub func: String,
    /// Span of the call instruction (in the caller) that created this frame; `None` for the
    /// outermost frame.
    pub call_site: Option<Span>,
}

/// An error of comptime evaluation (a fault of the evaluated program, an unsupported feature,
/// an exceeded budget or a malformed module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmError {
    /// What went wrong.
    pub message: String,
    /// Span of the faulting instruction, when known.
    pub span: Option<Span>,
    /// Active calls, innermost first.
    pub stack: Vec<Frame>,
    /// Other places the error refers to, e.g. `("allocated here", span)` and
    /// `("freed here", span)` for a use after free.
    pub related: Vec<(String, Span)>,
}

impl VmError {
    /// An error without location.
    pub fn new(message: impl Into<String>) -> VmError {
        VmError { message: message.into(), span: None, stack: Vec::new(), related: Vec::new() }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for fr in &self.stack {
            write!(f, "\n    in `{}`", fr.func)?;
        }
        Ok(())
    }
}

impl std::error::Error for VmError {}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned these values (raw bits, canonical: integers zero-extended from
    /// their width, f32 as `to_bits() as u64`, f64 as `to_bits()`).
    Returned(Vec<u64>),
    /// The program called `exit`/`_exit` with this status.
    Exited(i32),
    /// The evaluation called `__sx_compiler.<name>` (a compiler-API function) with these raw
    /// arguments and is suspended. The embedder answers with [`Vm::resume`] (which may return
    /// another request) or gives up with [`Vm::abandon`]; meanwhile it may run other
    /// evaluations on this VM (they nest).
    CompilerCall { name: String, args: Vec<u64> },
}

/// The comptime virtual machine: comptime memory, the translated-code cache, limits and host.
pub struct Vm {
    pub(crate) mem: ComptimeMemory,
    pub(crate) code: CodeStore,
    pub(crate) limits: VmLimits,
    pub(crate) host: Box<dyn VmHost>,
    pub(crate) regs: Vec<u64>,
    pub(crate) slots: Vec<u32>,
    pub(crate) steps: u64,
    /// Steps of the current call not yet handed to the hot loop as a chunk.
    pub(crate) remaining: u64,
    pub(crate) interrupt: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) safe_points: u64,
    pub(crate) evals: u64,
    pub(crate) foreign: Foreign,
    /// Evaluations suspended at a compiler request, innermost last.
    pub(crate) suspended: Vec<Suspended>,
    /// The native tier (`jit`), when `VmLimits::comptime_jit` is on.
    pub(crate) jit: Option<Box<crate::native_code::Tier>>,
}

/// All translated code of a [`Vm`], linked into shared arrays: a call to a translated function
/// is a jump inside one op array, so the hot loop never leaves for calls and returns.
#[derive(Default)]
pub(crate) struct CodeStore {
    pub(crate) ops: Vec<Op>,
    pub(crate) spans: Vec<Option<sx_diag::Span>>,
    pub(crate) extra: Vec<u32>,
    pub(crate) sigs: Vec<sx_ir::Signature>,
    /// Per `FuncId`; `start == u32::MAX` when the loop cannot run the function itself: not
    /// translated yet, or compiled to native code (the driver then calls it through
    /// `jit`, which keeps the real start).
    pub(crate) funcs: Vec<FuncMeta>,
    pub(crate) names: Vec<String>,
    pub(crate) slot_sizes: Vec<u32>,
}

/// Where a translated function lives in the [`CodeStore`] and the size of its frame.
#[derive(Copy, Clone)]
pub(crate) struct FuncMeta {
    pub(crate) start: u32,
    pub(crate) num_regs: u32,
    pub(crate) num_params: u32,
    pub(crate) num_slots: u32,
    pub(crate) slot_start: u32,
}

/// The [`FuncMeta`] of a function not translated yet.
pub(crate) const UNTRANSLATED: FuncMeta = FuncMeta { start: u32::MAX, num_regs: 0, num_params: 0, num_slots: 0, slot_start: 0 };

/// A suspended caller.
#[derive(Copy, Clone)]
pub(crate) struct Saved {
    pub(crate) func: u32,
    pub(crate) pc: u32,
    pub(crate) fp: usize,
    pub(crate) num_regs: u32,
    pub(crate) slot_base: u32,
    /// Index in `extra` of the call's `[nresults, results..]`.
    pub(crate) ret_at: u32,
}

/// The running frame.
#[derive(Copy, Clone)]
pub(crate) struct Cur {
    pub(crate) func: u32,
    pub(crate) pc: usize,
    pub(crate) fp: usize,
    pub(crate) num_regs: usize,
    pub(crate) slot_base: usize,
}

/// An evaluation suspended at a compiler request ([`Outcome::CompilerCall`]): everything the
/// driver needs to continue it, moved out of the [`Vm`] so that the compiler may run other
/// evaluations before resuming this one.
pub(crate) struct Suspended {
    pub(crate) cur: Cur,
    pub(crate) frames: Vec<Saved>,
    pub(crate) regs: Vec<u64>,
    pub(crate) slots: Vec<u32>,
    pub(crate) steps: u64,
    pub(crate) remaining: u64,
    pub(crate) deadline: Option<std::time::Instant>,
    /// The extern called and its operand list (results go to its result registers).
    pub(crate) ext: u32,
    pub(crate) list: u32,
}
