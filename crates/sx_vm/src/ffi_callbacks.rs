//! C calling back into compile-time code: a C call with sx function pointers among its
//! arguments (`qsort(buf, n, 4, cmp)`), or any C call once C may hold one
//! (`pthread_create(…, entry, …)` then `pthread_join`).
//!
//! Such a call is made outside the dispatch loop (`exec` leaves it, as for a compiler request):
//! the caller's registers and stack slots are set aside, each sx function pointer argument
//! becomes the code address of a libffi closure (one per sx function, made on first use and
//! kept: see [`crate::ffi_turns::CallbackTable`]), and the call is *published*
//! ([`crate::ffi_turns`]) while C runs. When C calls a closure, the trampoline takes the VM's
//! turn, reads C's arguments by the sx function's IR signature (the C prototype of an `abi(.c)`
//! function), turns host addresses into comptime pointers (a buffer C was given, found by its
//! guarded home) or opaque handles, and runs the function as a nested evaluation on the same
//! VM — which is free, since nothing of it is borrowed while C runs (`ffi::prepare` and
//! `ffi::complete` borrow it before and after). The fault trap is disarmed meanwhile, so a fault
//! of the compiler itself still crashes. The result goes back to C.
//!
//! **Other threads.** A callback on a thread C started runs the same way, one at a time with
//! the rest of the VM: it waits until the evaluating thread is inside a published C call
//! (`pthread_join`), runs, and hands the VM back before that call may return. Since C may keep a
//! function pointer, every C call is published once any closure exists. sx code that waits for a
//! callback without calling C (spinning on a flag) never lets it run: the step budget ends it.
//!
//! When the sx function fails (an error, the step budget, a compiler request, which cannot be
//! served from inside C) on the thread inside the call, the trampoline returns through no Rust
//! frame: it abandons the whole C call through the fault trap ([`crate::fault_trap::bail`]) and
//! the call reports that error. On another thread it returns 0 to C and the published call
//! reports the error once C returns.
//!
//! While a callback runs on the calling thread, the words of the buffers C was given that hold
//! host addresses of comptime buffers (the pointers `ffi::prepare` translated for C, wherever C
//! moved them: `qsort` of an array of strings) read as comptime pointers again, and are host
//! addresses again when C resumes. Limits: only pointers one level deep are translated, the
//! words are found by value (every word of those buffers is checked per callback), a callback on
//! another thread sees them as host addresses (C on the calling thread may be reading them), and
//! each callback gets the evaluation's full step budget.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use libffi::low::{closure_alloc, closure_free, ffi_cif, prep_closure};
use libffi::middle::{Cif, Type as FfiType};
use sx_ir::entity::EntityRef;
use sx_ir::{ExternId, FuncId, Module, Type};

use crate::fault_trap;
use crate::ffi::{self, FfiStop};
use crate::ffi_turns::{CallbackHub, CallbackTable};
use crate::machine::Vm;

/// Runs sx function `FuncId` with arguments on the VM as a nested evaluation (provided by
/// `exec`, which owns evaluation).
pub(crate) type Nested = fn(&mut Vm, &Module, FuncId, &[u64]) -> Result<Vec<u64>, String>;

/// What the callbacks inside one published C call use (valid while it is published).
struct CallCx {
    vm: *mut Vm,
    m: *const Module,
    nested: Nested,
    /// The first failure of a callback.
    error: Mutex<Option<String>>,
    /// The writable buffers C was given (alloc id, host address, length).
    buffers: Vec<(u32, u64, u64)>,
}

impl CallCx {
    fn record(&self, e: String) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }

    fn failed(&self) -> bool {
        self.error.lock().map(|e| e.is_some()).unwrap_or(true)
    }
}

/// One closure's own data (never freed, like the closure).
struct TrampolineCx {
    hub: Arc<CallbackHub>,
    func: FuncId,
    name: String,
    params: Vec<Type>,
    ret: Option<Type>,
}

fn ffi_type(t: Type) -> FfiType {
    match t {
        Type::I8 => FfiType::i8(),
        Type::I16 => FfiType::i16(),
        Type::I32 => FfiType::i32(),
        Type::I64 => FfiType::i64(),
        Type::F32 => FfiType::f32(),
        Type::F64 => FfiType::f64(),
    }
}

/// The C function pointer calling sx function `func`: made on first use, then kept (see
/// [`CallbackTable`]).
fn closure_code(table: &mut CallbackTable, m: &Module, func: u32) -> Result<u64, String> {
    if let Some(&code) = table.code.get(&func) {
        return Ok(code);
    }
    let Some(f) = m.funcs.get(FuncId(func)) else {
        return Err(format!("a pointer to a missing function (fn{}) is passed to C", func));
    };
    let ret = match f.sig.returns.as_slice() {
        [] => None,
        [t] => Some(*t),
        _ => return Err(format!("not supported yet: C calling back `{}`, which returns {} values", f.name, f.sig.returns.len())),
    };
    let cif: &'static Cif = Box::leak(Box::new(Cif::new(f.sig.params.iter().map(|&t| ffi_type(t)), ret.map_or(FfiType::void(), ffi_type))));
    let name = f.name.split('.').next().unwrap_or(&f.name).to_string();
    let cx = Box::new(TrampolineCx { hub: Arc::clone(&table.hub), func: FuncId(func), name, params: f.sig.params.clone(), ret });
    let (closure, code) = closure_alloc();
    // SAFETY: the closure, its call interface and its data are never freed (C may call the
    // closure at any later time).
    let prepared = unsafe { prep_closure(closure, cif.as_raw_ptr(), enter, &*cx as *const TrampolineCx, code) };
    if prepared.is_err() {
        // SAFETY: just allocated, never handed out.
        unsafe { closure_free(closure) };
        return Err(format!("cannot make a C function pointer for `{}`", f.name));
    }
    Box::leak(cx);
    let code = code.as_ptr() as u64;
    table.code.insert(func, code);
    Ok(code)
}

impl Vm {
    /// Makes C in the units library at path `library` (loaded into this VM) run sx function
    /// `func` on this VM when it calls the exported function of stub slot `slot`.
    pub fn bind_c_export(&mut self, m: &Module, func: FuncId, library: &str, slot: u32) -> Result<(), String> {
        let code = closure_code(&mut self.foreign.callbacks, m, func.index() as u32)?;
        crate::library::set_export_target(library, slot, code)
    }
}

/// Where C enters a closure. Owns nothing with a destructor when it bails out.
unsafe extern "C" fn enter(_cif: &ffi_cif, result: &mut u64, args: *const *const c_void, cx: &TrampolineCx) {
    // SAFETY: libffi passes one pointer per parameter of the closure's call interface.
    let failed = unsafe { run_callback(cx, result, args) };
    if failed {
        // SAFETY: between here and the trapped call are C's frames and this one, which owns
        // nothing (`run_callback` has returned and dropped everything).
        unsafe { fault_trap::bail() };
    }
}

/// Runs the callback in its turn; true when it failed on the thread inside the published call
/// (then C must be abandoned).
///
/// # Safety
/// `args` holds one valid pointer per parameter of `cx.params`.
unsafe fn run_callback(cx: &TrampolineCx, result: &mut u64, args: *const *const c_void) -> bool {
    *result = 0;
    let call = cx.hub.take();
    let on_calling_thread = call.thread == std::thread::current().id();
    // SAFETY: a published context stays valid while it is published, and it stays published
    // while this callback has the turn.
    let ctx = unsafe { &*(call.context as *const CallCx) };
    let failed = if ctx.failed() {
        on_calling_thread
    } else {
        let raw: Vec<u64> = cx
            .params
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                // SAFETY: argument `k` points at a value of C type `t` (the closure's interface).
                let p = unsafe { *args.add(k) };
                // SAFETY: as above.
                unsafe {
                    match t {
                        Type::I8 => *(p as *const u8) as u64,
                        Type::I16 => *(p as *const u16) as u64,
                        Type::I32 | Type::F32 => *(p as *const u32) as u64,
                        Type::I64 | Type::F64 => *(p as *const u64),
                    }
                }
            })
            .collect();
        let buffers: &[(u32, u64, u64)] = if on_calling_thread { &ctx.buffers } else { &[] };
        let trap = fault_trap::suspend();
        // SAFETY: the VM and module outlive the published call; nothing else uses them while
        // this callback has the turn (the calling thread is inside C or waits in `reclaim`).
        let outcome = unsafe { evaluate(&mut *ctx.vm, &*ctx.m, ctx.nested, cx, buffers, &raw) };
        fault_trap::resume(trap);
        match outcome {
            Ok(v) => {
                *result = v;
                false
            }
            Err(e) if on_calling_thread => {
                ctx.record(format!("the sx function `{}` it called back failed: {}", cx.name, e));
                true
            }
            Err(e) => {
                ctx.record(format!("the sx function `{}`, called back on another thread, failed: {}", cx.name, e));
                false
            }
        }
    };
    cx.hub.give();
    failed
}

/// Translates C's arguments, runs the sx function and translates its result for C. While it
/// runs, the pointers C's buffers hold read as comptime pointers.
fn evaluate(vm: &mut Vm, m: &Module, nested: Nested, cx: &TrampolineCx, buffers: &[(u32, u64, u64)], raw: &[u64]) -> Result<u64, String> {
    let mut args = Vec::with_capacity(raw.len());
    for (&w, &t) in raw.iter().zip(&cx.params) {
        args.push(if t == Type::I64 { vm.foreign.from_c(&mut vm.mem, w)? } else { w });
    }
    let swapped = comptime_view(vm, buffers);
    let results = nested(vm, m, cx.func, &args);
    host_view(vm, &swapped)?;
    let results = results?;
    match (cx.ret, results.first()) {
        (Some(Type::I64), Some(&v)) => vm.foreign.to_c(&mut vm.mem, v),
        (Some(Type::I32 | Type::I16 | Type::I8), Some(&v)) => Ok(v as i64 as u64),
        (Some(_), Some(&v)) => Ok(v),
        (_, _) => Ok(0),
    }
}

/// The 8-byte word at `off` of live allocation `id`, if it still is at `base` with `len` bytes.
fn word_at(vm: &Vm, (id, base, len): (u32, u64, u64), off: usize) -> Option<u64> {
    let a = vm.mem.allocs.get(id as usize).filter(|a| a.live && a.bytes.as_ptr() as u64 == base && a.bytes.len() as u64 == len)?;
    let b = a.bytes.get(off..off + 8)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Turns the host addresses of comptime buffers stored in `buffers` (one level, where C keeps
/// them: the pointers `ffi::prepare` translated, moved around by C) into comptime pointers for
/// the duration of a callback; returns the words changed.
fn comptime_view(vm: &mut Vm, buffers: &[(u32, u64, u64)]) -> Vec<(u32, usize)> {
    let mut swapped = Vec::new();
    for &(id, base, len) in buffers {
        for off in (0..len as usize).step_by(8) {
            let Some(w) = word_at(vm, (id, base, len), off).filter(|w| w >> 32 != 0) else { continue };
            if let Some(p) = vm.foreign.comptime_of(&vm.mem, w) {
                let a = &mut vm.mem.allocs[id as usize];
                a.bytes[off..off + 8].copy_from_slice(&p.to_le_bytes());
                a.mark_pointer(off);
                swapped.push((id, off));
            }
        }
    }
    swapped
}

/// Undoes [`comptime_view`] after a callback: the words are host addresses again (of whatever
/// comptime buffer they point to now).
fn host_view(vm: &mut Vm, swapped: &[(u32, usize)]) -> Result<(), String> {
    for &(id, off) in swapped {
        let Some(a) = vm.mem.allocs.get(id as usize).filter(|a| a.live && off + 8 <= a.bytes.len()) else { continue };
        let w = u64::from_le_bytes(a.bytes[off..off + 8].try_into().unwrap_or([0; 8]));
        let h = vm.foreign.to_c(&mut vm.mem, w)?;
        vm.mem.allocs[id as usize].bytes[off..off + 8].copy_from_slice(&h.to_le_bytes());
    }
    Ok(())
}

/// Makes the C call of extern `ext_id` whose operand list is `l` (over the frame `regs`, set
/// aside from the VM by the caller), published so that C can call sx functions back: those
/// among its arguments and any C kept from an earlier call.
pub(crate) fn call(vm: &mut Vm, m: &Module, ext_id: u32, l: &[u32], regs: &mut [u64], nested: Nested) -> Result<(), String> {
    let Some(ext) = m.externs.get(ExternId(ext_id)) else {
        return Err(format!("malformed module: call of a missing extern #{}", ext_id));
    };
    let vmp: *mut Vm = vm;
    // SAFETY: `vmp` comes from the exclusive `vm`; every access below goes through it, and none
    // is alive while C runs (the callbacks use it then).
    let prepared = unsafe { ffi::prepare(&mut (*vmp).foreign, ext_id, ext, &mut (*vmp).mem, regs, l, true) };
    let mut p = match prepared {
        Ok(p) => p,
        Err(FfiStop::Error(e)) => return Err(e),
        Err(FfiStop::NeedsCallbacks) => return Err(format!("in the call of C function `{}`: callbacks refused", ext.symbol)),
    };
    // SAFETY: as above; no other borrow of the VM is alive.
    let table = unsafe { &mut (*vmp).foreign.callbacks };
    for (i, func) in p.callbacks.clone() {
        let code = closure_code(table, m, func).map_err(|e| format!("in the call of C function `{}`: {}", ext.symbol, e))?;
        p.set_code(i, code);
    }
    let hub = Arc::clone(&table.hub);
    let cx = CallCx { vm: vmp, m, nested, error: Mutex::new(None), buffers: p.writable_buffers() };
    let ticket = hub.publish(&cx as *const CallCx as *const c_void);
    // SAFETY: the arguments were prepared just now and nothing ran since; C's callbacks run
    // nested evaluations, which leave the exposed buffers in place unless they free them.
    let outcome = unsafe { ffi::invoke(&mut p) };
    hub.reclaim(ticket);
    let error = cx.error.lock().unwrap_or_else(|e| e.into_inner()).take();
    // SAFETY: C has returned and no callback has the turn any more.
    let vm = unsafe { &mut *vmp };
    ffi::complete(&mut vm.foreign, ext, &mut vm.mem, p, outcome, error, regs, l)
}
