//! The state of the native comptime tier that a `Vm` owns (the code memory, the entry table,
//! what is known about each function) and the environment switches; below `machine`, which
//! holds it, and `jit`, which compiles and runs the code.

use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};

/// Where a function lives in the code store and the size of its frame (the executor's
/// `FuncMeta`, kept here for the functions compiled to native code).
#[derive(Copy, Clone)]
pub(crate) struct NativeMeta {
    pub(crate) start: u32,
    pub(crate) num_regs: u32,
    pub(crate) num_params: u32,
    pub(crate) num_slots: u32,
    pub(crate) slot_start: u32,
}

/// Whether the tier is on by default: yes, unless `SX_COMPTIME_JIT` is `off` or `0`.
pub(crate) fn enabled_by_env() -> bool {
    !std::env::var("SX_COMPTIME_JIT").is_ok_and(|v| v == "off" || v == "0")
}

/// Whether `SX_COMPTIME_JIT=eager` asks to compile every function the driver sees at once
/// (testing: the differential tests run as much code natively as possible).
fn eager_by_env() -> bool {
    static EAGER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *EAGER.get_or_init(|| std::env::var("SX_COMPTIME_JIT").is_ok_and(|v| v == "eager"))
}

/// `SX_JIT_TRACE=1` prints what the tier compiles and why native code leaves (debugging aid;
/// `SX_JIT_CLIF=1` prints the Cranelift IR of every compiled function).
pub(crate) fn trace_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SX_JIT_TRACE").is_some_and(|v| v != "0"))
}

/// A native function: `(ctx, regs, entry, slot_base, nres_expected) -> status`, `ctx` being
/// a `jit::JitCtx` (see `jit::compile`).
pub(crate) type NativeFn = unsafe extern "C" fn(*mut std::ffi::c_void, *mut u64, u32, u64, u32) -> u32;

/// A function compiled to native code.
pub(crate) struct NativeFunc {
    pub(crate) entry: NativeFn,
    /// The function's real metadata (the code store's says `start == u32::MAX`).
    pub(crate) meta: NativeMeta,
    /// Global pcs where native code may be entered (block starts), sorted; the position is the
    /// entry index.
    pub(crate) entries: Vec<u32>,
    /// The function in the tier's code memory (later batches call it directly).
    pub(crate) id: cranelift_module::FuncId,
}

/// What the tier knows about one function.
pub(crate) enum FuncState {
    Untried,
    /// Not compiled (not translatable, too large, or Cranelift refused it).
    Failed,
    Native(Box<NativeFunc>),
}

/// The native tier of one `Vm`: the code memory, the entry table and per-function state.
pub(crate) struct Tier {
    pub(crate) module: Option<JITModule>,
    /// Native entry address per `FuncId` (0 = none): the table compiled calls go through.
    pub(crate) code: Vec<u64>,
    pub(crate) funcs: Vec<FuncState>,
    /// Code-memory function of each native `FuncId`.
    pub(crate) ids: std::collections::HashMap<u32, cranelift_module::FuncId>,
    pub(crate) compiled: u64,
    /// Compile at every driver step, not only at safe points ([`eager_by_env`]).
    pub(crate) eager: bool,
}

// SAFETY: the tier owns its code memory exclusively; nothing in it refers to a thread.
unsafe impl Send for Tier {}

impl Drop for Tier {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the VM owning this tier is being dropped: no native frame is active and
            // no entry address survives it.
            unsafe { module.free_memory() };
        }
    }
}

impl Tier {
    /// A tier when `on`.
    pub(crate) fn new_if(on: bool) -> Option<Box<Tier>> {
        on.then(|| {
            Box::new(Tier {
                module: None,
                code: Vec::new(),
                funcs: Vec::new(),
                ids: std::collections::HashMap::new(),
                compiled: 0,
                eager: eager_by_env(),
            })
        })
    }

    pub(crate) fn state(&self, func: u32) -> &FuncState {
        self.funcs.get(func as usize).unwrap_or(&FuncState::Untried)
    }

    pub(crate) fn native(&self, func: u32) -> Option<&NativeFunc> {
        match self.state(func) {
            FuncState::Native(n) => Some(n),
            FuncState::Untried | FuncState::Failed => None,
        }
    }

    pub(crate) fn set_state(&mut self, func: u32, s: FuncState) {
        let i = func as usize;
        if self.funcs.len() <= i {
            self.funcs.resize_with(i + 1, || FuncState::Untried);
            self.code.resize(i + 1, 0);
        }
        if let FuncState::Native(n) = &s {
            self.code[i] = n.entry as usize as u64;
            self.ids.insert(func, n.id);
        }
        self.funcs[i] = s;
    }

    pub(crate) fn jit_module(&mut self) -> Result<&mut JITModule, String> {
        if self.module.is_none() {
            let mut flags = settings::builder();
            for (k, v) in [("opt_level", "speed"), ("use_colocated_libcalls", "false"), ("is_pic", "false")] {
                flags.set(k, v).map_err(|e| e.to_string())?;
            }
            let isa =
                cranelift_native::builder().map_err(|e| e.to_string())?.finish(settings::Flags::new(flags)).map_err(|e| e.to_string())?;
            let builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
            self.module = Some(JITModule::new(builder));
        }
        self.module.as_mut().ok_or_else(|| "no code memory".to_string())
    }
}
