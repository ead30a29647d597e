//! gdb's JIT interface ("JIT Compilation Interface" in gdb's manual): the process exports the
//! descriptor `__jit_debug_descriptor` and the function `__jit_debug_register_code`; gdb puts a
//! breakpoint on the function and, when it is called, reads the in-memory object file the
//! descriptor's newest entry points to (here: the DWARF of the code `sx run -g` compiled, at
//! its real addresses) as if a shared library had been loaded.

use std::ptr::null_mut;

/// One registered object file (the interface's `jit_code_entry`).
#[repr(C)]
struct JitCodeEntry {
    next: *mut JitCodeEntry,
    prev: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// The interface's `jit_descriptor`: the list of registered entries and what just happened.
#[repr(C)]
struct JitDescriptor {
    version: u32,
    /// 0 nothing, 1 register `relevant_entry`, 2 unregister it.
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

const JIT_REGISTER_FN: u32 = 1;

/// The descriptor gdb reads (by this exact name).
#[no_mangle]
static mut __jit_debug_descriptor: JitDescriptor =
    JitDescriptor { version: 1, action_flag: 0, relevant_entry: null_mut(), first_entry: null_mut() };

/// gdb's breakpoint: called after each change of the descriptor (by this exact name; it must
/// not be inlined or optimised away).
#[no_mangle]
#[inline(never)]
extern "C" fn __jit_debug_register_code() {
    std::hint::black_box(());
}

/// Serialises registrations (the descriptor is process-wide).
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Registers the object file `image` with a debugger attached to this process (a no-op
/// without one). The image stays registered, and in memory, until the process exits.
pub(crate) fn register(image: Vec<u8>) {
    let image: &'static [u8] = Vec::leak(image);
    let entry = Box::leak(Box::new(JitCodeEntry {
        next: null_mut(),
        prev: null_mut(),
        symfile_addr: image.as_ptr(),
        symfile_size: image.len() as u64,
    }));
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: the descriptor is only touched here, under `LOCK`, and by a debugger while this
    // thread is stopped in `__jit_debug_register_code`; entries are leaked, so every pointer in
    // the list stays valid for the life of the process.
    unsafe {
        let descriptor = &raw mut __jit_debug_descriptor;
        entry.next = (*descriptor).first_entry;
        if let Some(first) = (*descriptor).first_entry.as_mut() {
            first.prev = entry;
        }
        (*descriptor).first_entry = entry;
        (*descriptor).relevant_entry = entry;
        (*descriptor).action_flag = JIT_REGISTER_FN;
        __jit_debug_register_code();
    }
}
