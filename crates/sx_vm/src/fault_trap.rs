//! Catching C's faults during compile-time calls, so C cannot take the compiler down.
//!
//! Every comptime C call goes through [`call`], which runs `ffi_call` inside a tiny C shim
//! (`csrc/fault_trap.c`): the shim `sigsetjmp`s (without saving the signal mask: no system
//! call per call), marks the thread as being in a trapped C call, and calls. A process-wide
//! handler for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT, running on the alternate signal
//! stack (so C overflowing its own stack is caught too), `siglongjmp`s back to the shim when the
//! faulting thread is inside such a call; the shim unblocks the signal and returns it. On any
//! other thread, or outside a C call, the handler does what the handler installed before it
//! would (Rust's stack-overflow report, or the default action), so a bug in the compiler
//! itself still crashes as before.
//!
//! Unwinding out of C is sound for the compiler only because the jump skips no Rust frames
//! (the shim calls libffi directly) and C's half-done work is abandoned: what C wrote into
//! comptime buffers stays, locks C held stay held. A fault inside the C library's own
//! allocator (C corrupted its own heap and glibc aborted with the heap lock held) can leave
//! `malloc` locked for this thread; comptime buffers cannot corrupt the heap any more (they sit
//! against guard pages, [`crate::guard_pages`]), so that needs C that breaks its own memory.

use std::ffi::c_void;
use std::sync::OnceLock;

use libffi::middle::{Cif, CodePtr};

type FfiCallFn = unsafe extern "C" fn(*mut libffi::raw::ffi_cif, Option<unsafe extern "C" fn()>, *mut c_void, *mut *mut c_void);

extern "C" {
    fn sx_trap_install() -> i32;
    fn sx_trap_suspend() -> *mut c_void;
    fn sx_trap_resume(trap: *mut c_void);
    fn sx_trap_bail();
    fn sx_trap_call(
        call: FfiCallFn,
        cif: *mut libffi::raw::ffi_cif,
        code: *mut c_void,
        rvalue: *mut c_void,
        avalue: *mut *mut c_void,
        fault_addr: *mut *mut c_void,
    ) -> i32;
}

/// [`CFault::signal`] of a call abandoned by [`bail`].
pub const BAILED: i32 = -1;

/// A C call ended by a signal (or by [`bail`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CFault {
    /// The signal number (SIGSEGV, …).
    pub signal: i32,
    /// The address the kernel reported (the faulting access for SIGSEGV/SIGBUS).
    pub addr: u64,
}

impl CFault {
    /// What the signal means, for a diagnostic.
    pub fn describe(&self) -> String {
        let what = match self.signal {
            libc::SIGSEGV => "SIGSEGV, invalid memory access",
            libc::SIGBUS => "SIGBUS, bus error",
            libc::SIGFPE => "SIGFPE, arithmetic fault",
            libc::SIGILL => "SIGILL, illegal instruction",
            libc::SIGABRT => "SIGABRT, C called abort",
            BAILED => "a callback into compile-time code failed",
            _ => return format!("signal {}", self.signal),
        };
        what.to_string()
    }

    /// Whether the fault is a memory access at [`CFault::addr`].
    pub fn is_memory_access(&self) -> bool {
        matches!(self.signal, libc::SIGSEGV | libc::SIGBUS)
    }
}

/// Installs the process-wide handler (once).
fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    // SAFETY: installs signal handlers; `OnceLock` runs it once.
    *INSTALLED.get_or_init(|| unsafe { sx_trap_install() } == 0)
}

/// Calls `code` through `cif` with `args` (pointers to the argument values) and `ret` (where
/// the result goes; null for `void`), catching the signals C raises (see the module docs).
///
/// # Safety
/// The same as libffi's `ffi_call`: `cif` describes `code`'s C prototype, `args` holds one
/// valid pointer per parameter, `ret` has room for the result.
pub unsafe fn call(cif: &Cif, code: CodePtr, args: &mut [*mut c_void], ret: *mut c_void) -> Result<(), CFault> {
    if cfg!(feature = "ffi-no-containment") || !install() {
        // No handler: call unprotected rather than not at all.
        libffi::raw::ffi_call(cif.as_raw_ptr(), Some(*code.as_fun()), ret, args.as_mut_ptr());
        return Ok(());
    }
    let mut addr: *mut c_void = std::ptr::null_mut();
    let signal = sx_trap_call(libffi::raw::ffi_call, cif.as_raw_ptr(), code.as_mut_ptr(), ret, args.as_mut_ptr(), &mut addr);
    match signal {
        0 => Ok(()),
        signal => Err(CFault { signal, addr: addr as u64 }),
    }
}

/// The calling thread's armed trap, disarmed: while C calls back into the compiler, a fault is
/// the compiler's own and must crash as usual. Give the value back to [`resume`].
pub fn suspend() -> Suspended {
    // SAFETY: reads and clears a thread-local pointer.
    Suspended(unsafe { sx_trap_suspend() })
}

/// Re-arms the trap [`suspend`] disarmed.
pub fn resume(s: Suspended) {
    // SAFETY: `s` is the trap of a call still running on this thread (C called back into us
    // from inside it).
    unsafe { sx_trap_resume(s.0) }
}

/// The trap [`suspend`] took off (opaque).
pub struct Suspended(*mut c_void);

/// Abandons the innermost trapped C call of this thread: jumps back to where [`call`] armed
/// the trap, which then returns a [`CFault`] with signal [`BAILED`]. Returns if there is none.
///
/// # Safety
/// The frames between here and that [`call`] are C frames and frames that own nothing with a
/// destructor (the jump skips them without running anything).
pub unsafe fn bail() {
    sx_trap_bail()
}
