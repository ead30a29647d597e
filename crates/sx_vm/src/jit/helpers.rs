//! Out-of-line helpers of native code: everything that needs the [`Vm`] (stack slots, static
//! data, C functions modelled in Rust, `memcpy`/`memset`, pointer marks, recreating the frames
//! of native callers). Each receives the [`JitCtx`] of the running entry and reaches the VM
//! through it; each leaves the context's copies (`allocs`, `allocs_len`, `slots_len`) current.
//!
//! Statuses returned to native code: [`OK`], [`BEFORE`] (nothing happened: the interpreter
//! executes the op), [`AFTER`] (the op failed or exited; `JitCtx::leave` says how, and the
//! interpreter continues after it, exactly where its own error would be reported).

use sx_ir::{DataId, ExternId};

use super::{JitCtx, Leave};
use crate::bytecode::{Native, Op};
use crate::machine::{Saved, Vm};
use crate::memory::AllocKind;

/// The helper did its work.
pub(super) const OK: u64 = 0;
/// The helper did nothing; leave before the op.
pub(super) const BEFORE: u64 = 1;
/// The op failed or exited (see `JitCtx::leave`); leave after it.
pub(super) const AFTER: u64 = 2;

/// The VM of `ctx`, with the context's copies refreshed afterwards by [`refresh`].
///
/// # Safety
/// `ctx` is the live context of the running entry ([`super::run`]), whose `vm` is not
/// otherwise borrowed while native code runs.
unsafe fn vm_of<'a>(ctx: *mut JitCtx) -> &'a mut Vm {
    // SAFETY: see the function's contract.
    unsafe { &mut *(*ctx).vm }
}

/// Copies the allocation table's address and length and the slot count into `ctx`.
fn refresh(ctx: &mut JitCtx, vm: &Vm) {
    ctx.allocs = vm.mem.allocs.as_ptr() as u64;
    ctx.allocs_len = vm.mem.allocs.len() as u64;
    ctx.slots_len = vm.slots.len() as u64;
}

/// Marks the 8-byte word at `off` of allocation `id` as holding a pointer (a 64-bit store of a
/// pointer-looking integer, as `ComptimeMemory::store_n`).
///
/// # Safety
/// See [`vm_of`]; `id` passed native code's table check.
pub(super) unsafe extern "C" fn mark_pointer(ctx: *mut JitCtx, id: u64, off: u64) {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    if let Some(a) = vm.mem.allocs.get_mut(id as usize) {
        a.mark_pointer(off as usize);
    }
}

/// `StackAddr` when the frame's slot has no allocation cached: the loop's code. Returns the
/// pointer, or 0 after recording the error.
///
/// # Safety
/// See [`vm_of`].
pub(super) unsafe extern "C" fn stack_addr(ctx: *mut JitCtx, func: u64, slot: u64, slot_base: u64) -> u64 {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    // SAFETY: `ctx` is live and distinct from the VM.
    let c = unsafe { &mut *ctx };
    let i = slot_base as usize + slot as usize;
    let id = match vm.slots.get(i) {
        Some(&id) if id != 0 => id,
        _ => {
            let k = vm.code.funcs.get(func as usize).map(|f| f.slot_start as usize + slot as usize);
            let size = k.and_then(|k| vm.code.slot_sizes.get(k)).copied().unwrap_or(0);
            match vm.mem.alloc(size as u64, AllocKind::Stack) {
                Ok(p) => {
                    let id = (p >> 32) as u32;
                    if let Some(s) = vm.slots.get_mut(i) {
                        *s = id;
                    }
                    id
                }
                Err(e) => {
                    c.leave = Leave::Error(e);
                    refresh(c, vm);
                    return 0;
                }
            }
        }
    };
    refresh(c, vm);
    (id as u64) << 32
}

/// `DataAddr`: the pointer to static data `data` (created on first use), or 0 after recording
/// the error.
///
/// # Safety
/// See [`vm_of`]; `ctx.module` is the module being evaluated.
pub(super) unsafe extern "C" fn data_addr(ctx: *mut JitCtx, data: u64) -> u64 {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    // SAFETY: `ctx` is live and distinct from the VM; the module outlives the entry.
    let (c, m) = unsafe { (&mut *ctx, &*(*ctx).module) };
    let r = vm.mem.data_ptr(m, DataId(data as u32));
    refresh(c, vm);
    match r {
        Ok(p) => p,
        Err(e) => {
            c.leave = Leave::Error(e);
            0
        }
    }
}

/// A native call's callee slots: `n` empty slots after the current ones (the loop's `call!`).
///
/// # Safety
/// See [`vm_of`].
pub(super) unsafe extern "C" fn slots_enter(ctx: *mut JitCtx, n: u64) {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    let len = vm.slots.len();
    vm.slots.resize(len + n as usize, 0);
    // SAFETY: `ctx` is live and distinct from the VM.
    refresh(unsafe { &mut *ctx }, vm);
}

/// A native return's slot release: frees the slots from `slot_base` on (the loop's `ret!`).
///
/// # Safety
/// See [`vm_of`].
pub(super) unsafe extern "C" fn slots_leave(ctx: *mut JitCtx, slot_base: u64) {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    let base = slot_base as usize;
    if vm.slots.len() > base {
        let ids: Vec<u32> = vm.slots.drain(base..).collect();
        for id in ids {
            if id != 0 {
                vm.mem.free_id(id);
            }
        }
    }
    // SAFETY: `ctx` is live and distinct from the VM.
    refresh(unsafe { &mut *ctx }, vm);
}

/// A native caller whose callee left: records the caller's frame as the loop would have saved
/// it at the call (innermost first; [`super::run`] appends them in order).
///
/// # Safety
/// See [`vm_of`]; `regs` is the caller's register window inside `vm.regs`.
pub(super) unsafe extern "C" fn push_frame(ctx: *mut JitCtx, func: u64, pc: u64, regs: u64, slot_base: u64, num_regs: u64, ret_at: u64) {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    let base = vm.regs.as_ptr() as u64;
    let saved = Saved {
        func: func as u32,
        pc: pc as u32,
        fp: ((regs - base) / 8) as usize,
        num_regs: num_regs as u32,
        slot_base: slot_base as u32,
        ret_at: ret_at as u32,
    };
    // SAFETY: `ctx` is live and distinct from the VM.
    unsafe { (*ctx).pending.push(saved) };
}

/// `CallNative` at op `pc` with the frame's registers at `regs` (arguments written there by
/// native code; results read back from there).
///
/// # Safety
/// See [`vm_of`]; `regs` is the frame's register window inside `vm.regs`.
pub(super) unsafe extern "C" fn native_call(ctx: *mut JitCtx, pc: u64, regs: u64) -> u64 {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    // SAFETY: `ctx` is live and distinct from the VM; the module outlives the entry.
    let (c, m) = unsafe { (&mut *ctx, &*(*ctx).module) };
    let pc = pc as usize;
    let Some(&Op::CallNative { native, ext, list }) = vm.code.ops.get(pc) else { return BEFORE };
    if native == Native::ComptimeFrames {
        return BEFORE;
    }
    let Some(e) = m.externs.get(ExternId(ext)) else { return BEFORE };
    let site = if native.allocates() {
        // The loop's `source_site` at this op: its own span, else the innermost caller's call
        // site that has one (`JitCtx::site`).
        match vm.code.spans.get(pc) {
            Some(Some(_)) => (pc + 1) as crate::memory::Site,
            _ => c.site as crate::memory::Site,
        }
    } else {
        0
    };
    let len = ((c.regs_end - regs) / 8) as usize;
    // SAFETY: `[regs, regs_end)` lies inside the register vector, which nothing else borrows
    // during the call (natives get the memory, host and code separately).
    let frame = unsafe { std::slice::from_raw_parts_mut(regs as *mut u64, len) };
    let Vm { mem, host, code, foreign, .. } = vm;
    let r = crate::natives::call(native, e, mem, host.as_mut(), frame, &code.extra, list, site, &foreign.sandbox);
    refresh(c, vm);
    match r {
        Ok(None) => OK,
        Ok(Some(status)) => {
            c.leave = Leave::Exit(status);
            AFTER
        }
        Err(e) => {
            c.leave = Leave::Error(e);
            AFTER
        }
    }
}

/// `MemCopy`: `memmove(d, s, n)` with the memory's checks.
///
/// # Safety
/// See [`vm_of`].
pub(super) unsafe extern "C" fn mem_copy(ctx: *mut JitCtx, d: u64, s: u64, n: u64) -> u64 {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    match vm.mem.copy(d, s, n) {
        Ok(()) => OK,
        Err(e) => {
            // SAFETY: `ctx` is live and distinct from the VM.
            unsafe { (*ctx).leave = Leave::Error(e.to_string()) };
            AFTER
        }
    }
}

/// `MemFill`: `memset(d, b, n)` with the memory's checks.
///
/// # Safety
/// See [`vm_of`].
pub(super) unsafe extern "C" fn mem_fill(ctx: *mut JitCtx, d: u64, b: u64, n: u64) -> u64 {
    // SAFETY: see the function's contract.
    let vm = unsafe { vm_of(ctx) };
    match vm.mem.fill(d, b as u8, n) {
        Ok(()) => OK,
        Err(e) => {
            // SAFETY: `ctx` is live and distinct from the VM.
            unsafe { (*ctx).leave = Leave::Error(e.to_string()) };
            AFTER
        }
    }
}
