//! Comptime FFI: extern functions without a model in [`crate::natives`] are called for real,
//! through the dynamic loader and libffi.
//!
//! **Resolution.** The symbol is looked up with `dlsym` in the compiler's own process (which
//! links libc), then in `libc.so.6` and `libm.so.6`; the `extern LIB` library reference is not
//! in the IR, so other libraries are not searched. Functions that would act on the compiler's
//! process itself (`fork`, `exec*`, `exit` variants, signals, `longjmp`, …) are refused.
//!
//! **Prototype.** The IR signature is the C prototype (`i8…i64`, `f32`, `f64`): the front end
//! has already split a small by-value struct into its eightbytes (two IR results are a small
//! struct C returns in two registers, prepared as a libffi struct return), and a struct C takes
//! in memory is a pointer parameter listed in [`sx_ir::ExternFunc::byval`], whose bytes are
//! copied (pointer words translated like any pointer argument) into a libffi struct argument
//! of that size. The front end also says, per parameter and result, which pointer-sized
//! integers are pointers ([`ForeignSig`], registered with [`crate::Vm::declare_foreign`]); an
//! extern without such a description is not called. A C-variadic function
//! ([`ForeignSig::variadic`]: the number of fixed parameters; the variadic arguments already
//! promoted by the front end) is prepared with `ffi_prep_cif_var`, everything else with
//! `ffi_prep_cif`.
//!
//! **Pointers into comptime memory** ([`crate::ffi_pointers`]). A pointer argument must be null,
//! a live allocation with an in-bounds offset, or an opaque handle; it is replaced by the host
//! address of that allocation's bytes plus the offset (a `cstring` parameter must also reach a
//! NUL inside its allocation). Anything else (an integer cast to a pointer, a dangling pointer)
//! is an error before C runs; an sx function pointer is "not supported yet" (C cannot call back
//! into the VM). Pointers stored inside those allocations (one level, by the provenance marks of
//! [`crate::memory`]) are replaced by host addresses too, and restored afterwards. An
//! allocation's bytes move against a guard page the first time C sees them and stay there
//! ([`crate::guard_pages`]), so the address C sees is the same in every call (C libraries keep
//! pointers to caller memory: zlib's `z_stream`) and C running past a buffer's end faults at
//! once. After the call, every 8-byte word C changed in those allocations is translated: a host
//! address inside a comptime allocation (one C saw now or in an earlier call) becomes that
//! comptime pointer (the end pointer `strtol` stores), an address of other mapped memory an
//! opaque handle (the `sqlite3*` `sqlite3_open` stores through its out-parameter), marked as a
//! pointer; other values stay as C wrote them.
//!
//! **Results.** A returned pointer inside a comptime allocation becomes the comptime pointer;
//! a returned `cstring`/byte pointer elsewhere is copied up to its NUL into a new comptime
//! allocation; any other host pointer becomes an opaque handle ([`crate::memory::AllocKind::
//! Foreign`]): it compares, converts to an integer and can be passed back to C (as the same
//! host address), but dereferencing it at comptime is an error. Comptime code never reads host
//! memory.
//!
//! **Faults.** The call runs inside [`crate::fault_trap`]: a SIGSEGV, SIGBUS, SIGFPE, SIGILL or
//! SIGABRT raised by C unwinds out of the call, which becomes an error naming the C function
//! and, for a memory fault, which argument's buffer C ran past (or the null or wild address).
//! The VM stays usable; what C wrote before the fault stays written.
//!
//! **Sandbox.** Under `--sandbox` each call is first checked against the VM's
//! [`crate::policy::VmPolicy`] (after resolution, so functions refused always keep their
//! message); a refused call never reaches C. Handles made from out-parameters count as C's
//! memory there, like returned ones.
//!
//! Not caught: C writing before the start of a buffer (underflow), or far past its end into
//! other mapped memory without touching the guard page first, or through a pointer it kept from
//! an earlier call into a buffer since freed (`strtok`, `setvbuf`); a buffer beyond the guard
//! pool's capacity ([`crate::guard_pages::MAX_SLOTS`]) has no guard page. A C call runs to
//! completion: the step budget, `--comptime-timeout` and Ctrl-C act at the next safe point
//! after it returns (the driver exits on a second Ctrl-C).

use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::Rc;

use libffi::middle::{Arg, Cif, CodePtr, Ret, Type as FfiType};
use sx_ir::{ExternFunc, Type};

use crate::fault_trap::{self, CFault};
use crate::ffi_pointers::{fault_message, from_host, handle_host, patch_nested, settle, take_snapshot, to_host, Exposed, Homes, Patched};
use crate::ffi_turns::CallbackTable;
use crate::memory::{AllocKind, ComptimeMemory, FUNC_ALLOC};
use crate::policy::Sandbox;
use crate::width::W;

/// What an extern's parameter or result is at the sx level, beyond its IR type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ForeignType {
    /// An integer (or bool, enum): passed by value, extended per `signed`.
    Int { signed: bool },
    /// `f32`/`f64`.
    Float,
    /// A pointer (passed as a host address; a result is translated back or made opaque).
    Pointer,
    /// A NUL-terminated string (`cstring`; as a result also `*u8`/`[*]u8`): like `Pointer`, but
    /// an argument must reach a NUL inside its allocation and a result outside comptime memory
    /// is copied.
    CString,
}

/// The sx-level description of an extern's parameters and result (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignSig {
    /// Every C-level parameter of the extern's IR signature, the variadic ones included.
    pub params: Vec<ForeignType>,
    /// Empty for `void`; two entries for a small struct C returns in two registers.
    pub rets: Vec<ForeignType>,
    /// `Some(n)` for a C-variadic function (`printf`): the first `n` parameters are the fixed
    /// ones, the rest are variadic arguments, already promoted by the front end (C's default
    /// argument promotions: integers to at least `int`, `float` to `double`).
    pub variadic: Option<usize>,
}

/// A resolved C function, its call interface and its description.
struct Callable {
    code: CodePtr,
    cif: Cif,
    sig: ForeignSig,
}

/// The comptime FFI state of a [`crate::Vm`]: declared signatures, resolved functions (by
/// extern index) and the libraries searched.
#[derive(Default)]
pub(crate) struct Foreign {
    sigs: HashMap<String, ForeignSig>,
    resolved: HashMap<u32, Result<Rc<Callable>, String>>,
    libs: Option<Vec<libloading::os::unix::Library>>,
    /// The `#library` names the sandbox did not load (named when a symbol is missing).
    pub(crate) refused_libs: Vec<String>,
    /// The `--sandbox` policy every call is checked against (also consulted by the natives).
    pub(crate) sandbox: Sandbox,
    /// Where the allocations C has seen live on the host.
    homes: Homes,
    /// The bytes of the exposed allocations before the current call (reused between calls).
    snapshot: Vec<u8>,
    /// The C function pointers of sx functions handed to C ([`crate::ffi_callbacks`]).
    pub(crate) callbacks: CallbackTable,
}

/// Symbols that would act on the compiler's own process rather than compute something.
const REFUSED: &[&str] = &[
    "_Exit",
    "quick_exit",
    "atexit",
    "at_quick_exit",
    "on_exit",
    "fork",
    "vfork",
    "clone",
    "daemon",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "execl",
    "execle",
    "execlp",
    "fexecve",
    "raise",
    "kill",
    "signal",
    "sigaction",
    "setjmp",
    "_setjmp",
    "sigsetjmp",
    "longjmp",
    "_longjmp",
    "siglongjmp",
    "pthread_exit",
    "pthread_kill",
    "pthread_cancel",
    "setcontext",
    "swapcontext",
    "dlclose",
];

impl Foreign {
    /// No declarations yet; calls are checked against `sandbox`.
    pub(crate) fn new(sandbox: Sandbox) -> Foreign {
        Foreign { sandbox, ..Foreign::default() }
    }

    pub(crate) fn declare(&mut self, symbol: &str, sig: ForeignSig) {
        self.sigs.insert(symbol.to_string(), sig);
    }

    /// Adds a `#library` to the libraries foreign symbols are looked up in.
    pub(crate) fn add_library(&mut self, lib: libloading::os::unix::Library) {
        self.libs.get_or_insert_with(default_libs).push(lib);
        // A symbol not found before may be in the new library.
        self.resolved.retain(|_, r| r.is_ok());
    }

    pub(crate) fn is_declared(&self, symbol: &str) -> bool {
        self.sigs.contains_key(symbol)
    }

    fn lookup(&mut self, symbol: &str) -> Option<*const c_void> {
        lookup(&mut self.libs, symbol)
    }

    /// Resolves extern `ext_id` on its first call (the outcome, a callable or an error, is
    /// kept in `resolved`).
    fn resolve(&mut self, ext_id: u32, ext: &ExternFunc) {
        if !self.resolved.contains_key(&ext_id) {
            let r = self.resolve_new(ext).map(Rc::new);
            self.resolved.insert(ext_id, r);
        }
    }

    fn resolve_new(&mut self, ext: &ExternFunc) -> Result<Callable, String> {
        let name = ext.symbol.as_str();
        if REFUSED.contains(&name) {
            return Err(unsupported(name, " (it would act on the compiler's own process)"));
        }
        if name.starts_with(sx_ir::ASM_SYMBOL_PREFIX) {
            return Err("inline assembly cannot run on the VM (`#run`, `sx run --vm`): it is machine code for the target; `sx run` and `sx build` run it".to_string());
        }
        let sig = match self.sigs.get(name) {
            Some(s) => s.clone(),
            None => return Err(unsupported(name, " (no C signature is known for it)")),
        };
        let bad_variadic = sig.variadic.is_some_and(|fixed| fixed > sig.params.len());
        if sig.params.len() != ext.sig.params.len() || sig.rets.len() != ext.sig.returns.len() || ext.sig.returns.len() > 2 || bad_variadic
        {
            return Err(format!("malformed module: the C signature of `{}` does not match its IR signature", name));
        }
        let code = self.lookup(name).ok_or_else(|| match self.refused_libs.as_slice() {
            [] => unsupported(name, " (no such symbol in the compiler's process, libc or libm)"),
            refused => format!(
                "extern function `{}` is not in the compiler's process, libc or libm, and `--sandbox` did not load {} (that needs `--comptime-allow=ffi`)",
                name,
                refused.iter().map(|l| format!("`#library \"{}\"`", l)).collect::<Vec<_>>().join(", ")
            ),
        })?;
        let mut params: Vec<FfiType> = ext.sig.params.iter().zip(&sig.params).map(|(&t, &k)| ffi_type(t, k)).collect();
        for b in &ext.byval {
            // Only the size matters for a struct C receives in memory: 8-byte words.
            let words = (b.size as usize).div_ceil(8);
            match params.get_mut(b.param as usize) {
                Some(p) => *p = FfiType::structure(vec![FfiType::u64(); words]),
                None => return Err(format!("malformed module: by-value parameter {} of `{}` does not exist", b.param, name)),
            }
        }
        let mut rets: Vec<FfiType> = ext.sig.returns.iter().zip(&sig.rets).map(|(&t, &k)| ffi_type(t, k)).collect();
        // Two results are the eightbytes of a small struct C returns in two registers.
        let ret = match rets.len() {
            0 => FfiType::void(),
            1 => rets.remove(0),
            _ => FfiType::structure(rets),
        };
        let cif = match sig.variadic {
            Some(fixed) => Cif::try_new_variadic(params, fixed, ret),
            None => Cif::try_new(params, ret),
        };
        let cif = cif.map_err(|e| format!("cannot prepare the C call of `{}`: {:?}", name, e))?;
        Ok(Callable { code: CodePtr::from_ptr(code), cif, sig })
    }
}

/// The address of `symbol` in the compiler's process, libc or libm (`libs`, opened on first use).
fn lookup(libs: &mut Option<Vec<libloading::os::unix::Library>>, symbol: &str) -> Option<*const c_void> {
    let libs = libs.get_or_insert_with(default_libs);
    if symbol.is_empty() || symbol.contains('\0') {
        return None;
    }
    for lib in libs.iter() {
        // SAFETY: the symbol is only used as a code address handed to libffi.
        if let Ok(s) = unsafe { lib.get::<*const c_void>(symbol.as_bytes()) } {
            let p = *s;
            if !p.is_null() {
                return Some(p);
            }
        }
    }
    None
}

/// The process itself, libc and libm: where foreign symbols are looked up by default.
fn default_libs() -> Vec<libloading::os::unix::Library> {
    use libloading::os::unix::Library;
    let mut v = vec![Library::this()];
    for name in ["libc.so.6", "libm.so.6"] {
        // SAFETY: loading the C and math libraries runs no initialisers beyond theirs,
        // which the process has already run (it links them).
        if let Ok(l) = unsafe { Library::new(name) } {
            v.push(l);
        }
    }
    v
}

fn unsupported(name: &str, why: &str) -> String {
    format!("not supported yet at comptime: extern function `{}`{}", name, why)
}

fn ffi_type(t: Type, k: ForeignType) -> FfiType {
    let signed = !matches!(k, ForeignType::Int { signed: false });
    match t {
        Type::I8 if signed => FfiType::i8(),
        Type::I8 => FfiType::u8(),
        Type::I16 if signed => FfiType::i16(),
        Type::I16 => FfiType::u16(),
        Type::I32 if signed => FfiType::i32(),
        Type::I32 => FfiType::u32(),
        Type::I64 if matches!(k, ForeignType::Pointer | ForeignType::CString) => FfiType::pointer(),
        Type::I64 if signed => FfiType::i64(),
        Type::I64 => FfiType::u64(),
        Type::F32 => FfiType::f32(),
        Type::F64 => FfiType::f64(),
    }
}

impl Foreign {
    /// The comptime value for a word C passes to a callback: a host address inside a comptime
    /// allocation C has seen becomes that comptime pointer, an address of other mapped memory an
    /// opaque handle; anything else (an integer) stays.
    pub(crate) fn from_c(&self, mem: &mut ComptimeMemory, w: u64) -> Result<u64, String> {
        if w >> 32 == 0 {
            return Ok(w);
        }
        match self.homes.find(mem, w) {
            Some(p) => Ok(p),
            None if crate::ffi_pointers::is_host_address(w) => mem.foreign_handle(w),
            None => Ok(w),
        }
    }

    /// The comptime pointer for host address `w` if it lies in a buffer C has seen.
    pub(crate) fn comptime_of(&self, mem: &ComptimeMemory, w: u64) -> Option<u64> {
        self.homes.find(mem, w)
    }

    /// The host value for a word a callback returns to C: a comptime pointer becomes the host
    /// address of its (guarded) buffer; anything else stays.
    pub(crate) fn to_c(&mut self, mem: &mut ComptimeMemory, w: u64) -> Result<u64, String> {
        let id = w >> 32;
        if id < FUNC_ALLOC as u64 || id as usize >= mem.allocs.len() {
            return Ok(w);
        }
        to_host(mem, &mut self.homes, w, false, (0, false), &mut Vec::new())
    }
}

/// Why a C call did not complete.
pub(crate) enum FfiStop {
    /// An error (the message names the C function).
    Error(String),
    /// An argument is an sx function pointer: C may call back into the VM, which the dispatch
    /// loop cannot serve; nothing has happened yet (see `exec`).
    NeedsCallbacks,
}

impl From<String> for FfiStop {
    fn from(e: String) -> FfiStop {
        FfiStop::Error(e)
    }
}

/// Calls the C function behind extern `ext_id` with the arguments listed at `extra[list..]`
/// (`[nargs, args.., nres, res..]`).
#[cold]
#[inline(never)]
pub(crate) fn call(
    foreign: &mut Foreign,
    ext_id: u32,
    ext: &ExternFunc,
    mem: &mut ComptimeMemory,
    regs: &mut [u64],
    extra: &[u32],
    list: u32,
) -> Result<(), FfiStop> {
    if foreign.callbacks.any() {
        // C may hold a function pointer into the VM: the call must be published.
        return Err(FfiStop::NeedsCallbacks);
    }
    let l = extra.get(list as usize..).unwrap_or(&[]);
    let mut p = prepare(foreign, ext_id, ext, mem, regs, l, false)?;
    // SAFETY: `prepare` made every argument a value of its C type or a host address of a live
    // buffer, which stays in place while C runs (the VM is suspended and holds no borrow of it).
    let outcome = unsafe { invoke(&mut p) };
    Ok(complete(foreign, ext, mem, p, outcome, None, regs, l)?)
}

/// A C call whose arguments are ready (see [`prepare`]); it borrows nothing of the VM, so C may
/// call back into the VM while it runs.
pub(crate) struct Prepared {
    callable: Rc<Callable>,
    /// Argument values as 8-byte cells (libffi reads the low bytes on little-endian hosts).
    cells: Vec<u64>,
    /// By-value struct arguments: parameter index and words.
    structs: Vec<(usize, Vec<u64>)>,
    exposed: Vec<Exposed>,
    patched: Vec<Patched>,
    snapshot: Vec<u8>,
    /// The sx function pointer arguments (parameter index, function index), when allowed;
    /// their cells are filled by [`Prepared::set_code`].
    pub(crate) callbacks: Vec<(usize, u32)>,
    ret: [u64; 2],
}

impl Prepared {
    /// The writable buffers C was given (alloc id, host address, length).
    pub(crate) fn writable_buffers(&self) -> Vec<(u32, u64, u64)> {
        self.exposed.iter().filter(|e| e.snapshot.is_some()).map(|e| (e.id, e.base, e.len)).collect()
    }

    /// Makes argument `i` the code address `code` (a callback trampoline).
    pub(crate) fn set_code(&mut self, i: usize, code: u64) {
        if let Some(c) = self.cells.get_mut(i) {
            *c = code;
        }
    }
}

/// Resolves the callee, checks the call against the sandbox and translates the arguments at
/// `l` (`[nargs, args.., nres, res..]` over `regs`) for C. With `callbacks`, sx function pointer
/// arguments are listed in [`Prepared::callbacks`] instead of refused.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare(
    foreign: &mut Foreign,
    ext_id: u32,
    ext: &ExternFunc,
    mem: &mut ComptimeMemory,
    regs: &[u64],
    l: &[u32],
    callbacks: bool,
) -> Result<Prepared, FfiStop> {
    let nargs = l.first().copied().unwrap_or(0) as usize;
    if nargs != ext.sig.params.len() || l.len() < nargs + 2 {
        return Err(format!("malformed module: call of `{}` does not match its signature", ext.symbol).into());
    }
    let name = ext.symbol.as_str();
    foreign.resolve(ext_id, ext);
    let callable = match foreign.resolved.get(&ext_id) {
        Some(Ok(c)) => c.clone(),
        Some(Err(e)) => return Err(e.clone().into()),
        None => return Err(unsupported(name, "").into()),
    };
    let sig = &callable.sig;
    let arg_bits = |i: usize| regs.get(l[1 + i] as usize).copied().unwrap_or(0);
    let is_pointer = |i: usize| matches!(sig.params[i], ForeignType::Pointer | ForeignType::CString) && ext.sig.params[i] == Type::I64;
    let mut sx_functions = Vec::new();
    // Only a plain pointer parameter can take code; a string parameter refuses a function.
    let takes_code = |i: usize| sig.params[i] == ForeignType::Pointer && ext.sig.params[i] == Type::I64;
    for i in (0..nargs).filter(|&i| takes_code(i) && arg_bits(i) >> 32 == FUNC_ALLOC as u64) {
        if !callbacks {
            return Err(FfiStop::NeedsCallbacks);
        }
        sx_functions.push((i, arg_bits(i) as u32));
    }
    if foreign.sandbox.policy.sandbox {
        let args: Vec<i64> = (0..nargs).map(|i| W::of(ext.sig.params[i]).sext(arg_bits(i))).collect();
        let pointers: Vec<bool> = (0..nargs).map(is_pointer).collect();
        foreign.sandbox.check_foreign(name, &args, &pointers, mem)?;
    }
    let in_call = |e: String| format!("in the call of C function `{}`: {}", name, e);

    let homes = &mut foreign.homes;
    let mut exposed: Vec<Exposed> = Vec::new();
    let mut cells: Vec<u64> = Vec::with_capacity(nargs);
    let mut structs: Vec<(usize, Vec<u64>)> = Vec::new();
    for i in 0..nargs {
        let v = arg_bits(i);
        let t = ext.sig.params[i];
        let at = |e: String| in_call(format!("argument {}: {}", i + 1, e));
        if let Some(b) = ext.byval.iter().find(|b| b.param as usize == i) {
            let words = struct_copy(mem, homes, v, b.size, i, &mut exposed).map_err(at)?;
            structs.push((i, words));
            cells.push(0);
            continue;
        }
        let cell = match sig.params[i] {
            _ if sx_functions.iter().any(|f| f.0 == i) => 0,
            ForeignType::Pointer | ForeignType::CString if t == Type::I64 => {
                to_host(mem, homes, v, sig.params[i] == ForeignType::CString, (i, false), &mut exposed).map_err(at)?
            }
            ForeignType::Int { .. } if t == Type::I64 && v >> 32 != 0 => handle_host(mem, v).unwrap_or(v),
            ForeignType::Int { signed: true } => W::of(t).sext(v) as u64,
            _ => v,
        };
        cells.push(cell);
    }

    if foreign.sandbox.policy.sandbox && name == "sprintf" && foreign.sandbox.guards_memory() {
        let bytes = sprintf_bytes(&mut foreign.libs, ext, sig, &cells).map_err(in_call)?;
        foreign.sandbox.check_write(name, mem, 0, arg_bits(0), bytes)?;
    }

    // One level deeper: pointers stored inside the exposed allocations.
    let patched = patch_nested(mem, homes, &mut exposed);
    let mut snapshot = std::mem::take(&mut foreign.snapshot);
    take_snapshot(mem, &mut exposed, &mut snapshot);
    Ok(Prepared { callable, cells, structs, exposed, patched, snapshot, callbacks: sx_functions, ret: [0; 2] })
}

/// Runs the prepared call inside the fault trap.
///
/// # Safety
/// Every host address among the arguments must still address a live buffer (nothing the VM
/// did since [`prepare`] freed an exposed allocation).
pub(crate) unsafe fn invoke(p: &mut Prepared) -> Result<(), CFault> {
    let mut args: Vec<*mut c_void> = p
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| match p.structs.iter().find(|s| s.0 == i) {
            Some((_, words)) => words.as_ptr() as *mut c_void,
            None => c as *const u64 as *mut c_void,
        })
        .collect();
    let returns = !p.callable.sig.rets.is_empty();
    let ret_ptr = if returns { p.ret.as_mut_ptr() as *mut c_void } else { std::ptr::null_mut() };
    // SAFETY: the call interface was built from the extern's IR signature (the C prototype the
    // program declares); `args` points at `cells`/`structs`, alive until the call returns;
    // `ret` has room for two words; the caller vouches for the host addresses.
    unsafe { fault_trap::call(&p.callable.cif, p.callable.code, &mut args, ret_ptr) }
}

/// After the call: translates what C wrote into comptime memory and the results into the
/// registers at `l` over `regs`, or explains the fault (or `callback_error`, the failure of an
/// sx function C called back, which ended the call).
#[allow(clippy::too_many_arguments)]
pub(crate) fn complete(
    foreign: &mut Foreign,
    ext: &ExternFunc,
    mem: &mut ComptimeMemory,
    p: Prepared,
    outcome: Result<(), CFault>,
    callback_error: Option<String>,
    regs: &mut [u64],
    l: &[u32],
) -> Result<(), String> {
    let name = ext.symbol.as_str();
    let in_call = |e: String| format!("in the call of C function `{}`: {}", name, e);
    let settled = settle(mem, &foreign.homes, &p.exposed, &p.patched, &p.snapshot);
    foreign.snapshot = p.snapshot;
    settled.map_err(in_call)?;
    if let Some(e) = callback_error {
        return Err(in_call(e));
    }
    if let Err(fault) = outcome {
        return Err(in_call(fault_message(mem, &p.exposed, &fault)));
    }
    let (sig, ret) = (&p.callable.sig, p.ret);
    if foreign.sandbox.policy.sandbox && !ext.sig.returns.is_empty() {
        foreign.sandbox.record_result(name, ret[0]);
    }
    let nargs = l.first().copied().unwrap_or(0) as usize;
    let nres = l.get(1 + nargs).copied().unwrap_or(0) as usize;
    for (i, (&t, &k)) in ext.sig.returns.iter().zip(&sig.rets).enumerate().take(nres) {
        let raw = ret[i];
        let value = match k {
            ForeignType::Pointer | ForeignType::CString if t == Type::I64 && raw != 0 => {
                match from_host(&p.exposed, raw).or_else(|| foreign.homes.find(mem, raw)) {
                    Some(ptr) => ptr,
                    None if k == ForeignType::CString => copy_c_string(mem, raw).map_err(in_call)?,
                    None => mem.foreign_handle(raw).map_err(in_call)?,
                }
            }
            _ => match t {
                Type::F32 => raw as u32 as u64,
                Type::F64 => raw,
                t => W::of(t).mask(raw),
            },
        };
        if let Some(&r) = l.get(2 + nargs + i) {
            if let Some(slot) = regs.get_mut(r as usize) {
                *slot = value;
            }
        }
    }
    Ok(())
}

/// How many bytes `sprintf` with these arguments (`cells`, host-translated) writes, its NUL
/// included: `snprintf(NULL, 0, …)` with the same format and arguments, which writes nothing.
fn sprintf_bytes(
    libs: &mut Option<Vec<libloading::os::unix::Library>>,
    ext: &ExternFunc,
    sig: &ForeignSig,
    cells: &[u64],
) -> Result<u64, String> {
    if !ext.byval.is_empty() || cells.len() < 2 {
        return Err("cannot size the output of this `sprintf`".to_string());
    }
    let code = lookup(libs, "snprintf").ok_or("no `snprintf` to size the output of `sprintf` with")?;
    let mut params = vec![FfiType::pointer(), FfiType::u64()];
    params.extend(ext.sig.params.iter().zip(&sig.params).skip(1).map(|(&t, &k)| ffi_type(t, k)));
    let cif = Cif::try_new(params, FfiType::i32()).map_err(|e| format!("cannot prepare the C call of `snprintf`: {:?}", e))?;
    let nothing = [0u64; 2];
    let mut args = vec![Arg::new(&nothing[0]), Arg::new(&nothing[1])];
    args.extend(cells[1..].iter().map(Arg::new));
    let mut ret = [0u64; 2];
    // SAFETY: `snprintf` with a null buffer and size 0 writes nothing; the other arguments are
    // those `sprintf` is about to get (format and values, pointers already host addresses of
    // live comptime buffers that cannot move while C runs).
    unsafe { cif.call_return_into(CodePtr::from_ptr(code), &args, Ret::new(&mut ret)) };
    match ret[0] as i32 {
        n if n >= 0 => Ok(n as u64 + 1),
        _ => Err("`snprintf` could not size the output of `sprintf`".to_string()),
    }
}

/// The bytes of the `size`-byte struct at comptime pointer `p`, as 8-byte words for a C call
/// that receives it by value; pointers stored in it (by the provenance marks) become host
/// addresses, exposing their allocations.
fn struct_copy(
    mem: &mut ComptimeMemory,
    homes: &mut Homes,
    p: u64,
    size: u32,
    arg: usize,
    exposed: &mut Vec<Exposed>,
) -> Result<Vec<u64>, String> {
    let bytes = mem.read_bytes(p, size as u64).map_err(|e| e.to_string())?.to_vec();
    let mut words = vec![0u64; (size as usize).div_ceil(8).max(1)];
    for (k, chunk) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        words[k] = u64::from_le_bytes(w);
    }
    let (id, off) = ((p >> 32) as usize, p as u32 as usize);
    let marked = mem.allocs.get(id).map(|a| a.marked_in(off, size as usize)).unwrap_or_default();
    for o in marked {
        if (o - off) % 8 == 0 {
            let k = (o - off) / 8;
            words[k] = to_host(mem, homes, words[k], false, (arg, true), exposed)?;
        }
    }
    Ok(words)
}

/// Copies the NUL-terminated string C returned at host address `p` into a new comptime
/// allocation (with its NUL) and returns the comptime pointer.
fn copy_c_string(mem: &mut ComptimeMemory, p: u64) -> Result<u64, String> {
    // SAFETY: C returned this as a pointer to a NUL-terminated string (the extern's declared
    // result type); it is read once, up to and including its NUL, and never kept.
    let bytes = unsafe { std::ffi::CStr::from_ptr(p as *const std::ffi::c_char) }.to_bytes_with_nul();
    let q = mem.alloc(bytes.len() as u64, AllocKind::Heap)?;
    mem.write_bytes(q, bytes).map_err(|e| e.to_string())?;
    Ok(q)
}
