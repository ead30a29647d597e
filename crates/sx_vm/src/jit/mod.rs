//! The native tier of compile-time evaluation (`--comptime-jit=on`): functions that get hot on
//! the interpreter are compiled by Cranelift ([`compile`]) from their *bytecode* (not the IR),
//! op for op, so that native code and the loop agree on every register at every op boundary.
//!
//! **Hotness** costs the interpreter nothing per instruction: the loop already counts down a
//! step chunk; when it runs out (a safe point, every `VmLimits::check_every` steps) the driver
//! asks [`at_safe_point`], which compiles the running function, its callers on the frame stack
//! and everything they call directly, then continues the running frame natively when its
//! `pc` is an entry (a block start). A compiled function's `FuncMeta::start` is set to
//! `u32::MAX`, so the loop's own "not translated yet" check sends calls of it to the driver
//! (`exec::call_native`), which makes the call natively.
//!
//! **What native code keeps** (everything the interpreter guarantees):
//! - values at target layout in comptime memory: every load and store goes through the
//!   allocation table, with the interpreter's checks in a few instructions ([`compile`]:
//!   table index, `offset / N < len / N` after a rotate for bounds + alignment + liveness —
//!   freed allocations have no bytes —, the `writable` byte for stores), and 64-bit integer
//!   stores mark pointer provenance like `store_n`;
//! - the step budget: one step per taken branch and per call, counted exactly as the loop does,
//!   so safe points (interrupt flag, deadline, total budget, injected interrupts) happen at the
//!   same steps with the tier on or off;
//! - the call-depth limit, the register-stack limit and integer division checks.
//!
//! **What native code may not do**: produce a diagnostic, call C, answer or make compiler
//! requests, or recurse on the host stack without bound. Whenever an op would fault, needs
//! something it does not handle (an indirect, foreign or compiler call, a trap, a failed
//! check, a used-up step chunk, a callee without native code, more than
//! [`MAX_NATIVE_STACK`] bytes of host stack or [`MAX_NATIVE_DEPTH`] nested native frames) it *leaves*: it writes its registers back into
//! the VM's register window, the frames of its native callers are recreated on the frame
//! stack, and the interpreter executes that op itself — so every diagnostic, span and
//! comptime call stack is the interpreter's. Out-of-line helpers ([`helpers`]) do what needs
//! the `Vm` (stack slots, static data, C functions modelled in Rust, `memcpy`/`memset`).

mod compile;
mod helpers;

use sx_ir::Module;

use crate::machine::{Cur, FuncMeta, Saved, Vm};
use crate::native_code::{trace_enabled, FuncState, NativeMeta};

/// Native frames nested inside one entry from the driver (deeper calls leave to the
/// interpreter, which may enter native code again from there).
pub(crate) const MAX_NATIVE_DEPTH: u64 = 10_000;

/// Host stack native frames may use per entry from the driver, in bytes (the threads that run
/// the VM have at least 2 MiB).
pub(crate) const MAX_NATIVE_STACK: u64 = 256 << 10;

/// Registers the driver makes available above the entered frame before native code runs.
const NATIVE_REG_ROOM: usize = 1 << 16;

/// Values a native `Ret` hands back through [`JitCtx::ret`]; a return of more leaves.
pub(crate) const MAX_NATIVE_RETURNS: usize = 16;

/// How the driver goes on after native code ran.
pub(crate) enum JitExit {
    /// Continue interpreting at `cur` (it may have moved).
    Continue,
    /// The program called `exit` with this status.
    Exited(i32),
}

/// Why native code left (beyond "the interpreter continues at `cur`").
pub(crate) enum Leave {
    /// The interpreter executes the op at `cur.pc`.
    Deopt,
    /// An out-of-line helper failed with this message, after the op (`cur.pc` is past it).
    Error(String),
    /// A modelled `exit` with this status.
    Exit(i32),
}

/// The context every native function receives: the fields compiled code reads and writes
/// (offsets by `offset_of!`, see [`compile`]) and, after them, what the helpers need.
#[repr(C)]
pub(crate) struct JitCtx {
    /// The allocation table (`ComptimeMemory::allocs`) and its length, refreshed by every
    /// helper that may allocate.
    pub(crate) allocs: u64,
    pub(crate) allocs_len: u64,
    /// Steps left in the current chunk (the loop's `budget`).
    pub(crate) budget: u64,
    /// Native calls allowed before one must leave: the call-depth limit's room
    /// (`max_call_depth - 1 - frames`) capped by [`MAX_NATIVE_DEPTH`] nested native frames.
    pub(crate) depth_left: u64,
    /// Native calls leave when the host stack pointer is below this (at most
    /// [`MAX_NATIVE_STACK`] bytes of host stack per entry).
    pub(crate) stack_floor: u64,
    /// Address one past the register vector.
    pub(crate) regs_end: u64,
    /// Native entry per `FuncId` (0 = none) and the table's length.
    pub(crate) code: u64,
    pub(crate) code_len: u64,
    /// `vm.slots.len()`.
    pub(crate) slots_len: u64,
    /// The loop's `source_site` of the innermost active call that has a span (a native call
    /// op with a span sets it for its callee): what a modelled `malloc`/`free` in an extern
    /// wrapper (no span of its own) records as its site.
    pub(crate) site: u64,
    /// Where the interpreter continues after a leave: function, pc, register window address,
    /// slot base.
    pub(crate) cur_func: u64,
    pub(crate) cur_pc: u64,
    pub(crate) cur_regs: u64,
    pub(crate) cur_slot_base: u64,
    /// Values of a native return.
    pub(crate) ret: [u64; MAX_NATIVE_RETURNS],
    pub(crate) vm: *mut Vm,
    pub(crate) module: *const Module,
    /// The frames of native callers of the leaving frame, innermost first.
    pub(crate) pending: Vec<Saved>,
    pub(crate) leave: Leave,
}

/// Status of a native function: it returned (values in [`JitCtx::ret`]).
pub(crate) const STATUS_RETURNED: u32 = 0;
/// Status of a native function: it left (see [`Leave`]).
pub(crate) const STATUS_LEFT: u32 = 1;

/// The real [`FuncMeta`] of a function compiled to native code.
pub(crate) fn native_meta(vm: &Vm, func: u32) -> Option<FuncMeta> {
    vm.jit.as_ref()?.native(func).map(|n| func_meta(n.meta))
}

/// A [`FuncMeta`] as the tier keeps it.
pub(crate) fn native_meta_of(m: FuncMeta) -> NativeMeta {
    NativeMeta { start: m.start, num_regs: m.num_regs, num_params: m.num_params, num_slots: m.num_slots, slot_start: m.slot_start }
}

/// The [`FuncMeta`] the tier keeps as `m`.
fn func_meta(m: NativeMeta) -> FuncMeta {
    FuncMeta { start: m.start, num_regs: m.num_regs, num_params: m.num_params, num_slots: m.num_slots, slot_start: m.slot_start }
}

/// How [`at_safe_point`] translates a function (the executor's `ensure_translated`).
pub(crate) type Translate = fn(&mut Vm, &Module, u32) -> Result<FuncMeta, String>;

/// Functions compiled per safe point at most (a function, its callers and their callees).
const MAX_BATCH: usize = 64;

/// A safe point of the loop: compiles the running function, the callers on the frame stack
/// (a few levels) and what they call directly, then runs `cur` natively when it stands at an
/// entry.
pub(crate) fn at_safe_point(
    vm: &mut Vm,
    m: &Module,
    cur: &mut Cur,
    frames: &mut Vec<Saved>,
    translate: Translate,
) -> Result<JitExit, String> {
    if vm.jit.is_none() {
        return Ok(JitExit::Continue);
    }
    let mut roots = vec![cur.func];
    roots.extend(frames.iter().rev().take(4).map(|s| s.func));
    compile_batch(vm, m, &roots, translate);
    if entry_index(vm, cur.func, cur.pc).is_some() {
        return run(vm, m, cur, frames);
    }
    Ok(JitExit::Continue)
}

/// The entry index of `pc` in native function `func`.
fn entry_index(vm: &Vm, func: u32, pc: usize) -> Option<u32> {
    let n = vm.jit.as_ref()?.native(func)?;
    n.entries.binary_search(&(pc as u32)).ok().map(|i| i as u32)
}

/// Compiles the untried functions among `roots` and their direct callees (transitively, at
/// most [`MAX_BATCH`]); failures are remembered and never retried.
fn compile_batch(vm: &mut Vm, m: &Module, roots: &[u32], translate: Translate) {
    let mut work: Vec<u32> = roots.to_vec();
    let mut batch: Vec<u32> = Vec::new();
    while let Some(f) = work.pop() {
        let Some(tier) = vm.jit.as_ref() else { return };
        // A call of a missing function (a malformed module) is the loop's error to report; the
        // tier keeps state only for the module's functions.
        let exists = m.funcs.get(sx_ir::FuncId(f)).is_some();
        if !exists || !matches!(tier.state(f), FuncState::Untried) || batch.contains(&f) || batch.len() >= MAX_BATCH {
            continue;
        }
        if translate(vm, m, f).is_err() {
            if let Some(t) = vm.jit.as_mut() {
                t.set_state(f, FuncState::Failed);
            }
            continue;
        }
        batch.push(f);
        if let Some(meta) = translate_meta(vm, f) {
            let range = op_range(vm, meta);
            work.extend(compile::direct_callees(&vm.code.ops[range]));
        }
    }
    if batch.is_empty() {
        return;
    }
    let jobs: Vec<compile::Job> = batch
        .iter()
        .filter_map(|&func| translate_meta(vm, func).map(|meta| compile::Job { func, meta, range: op_range(vm, meta) }))
        .collect();
    let metas: Vec<(u32, FuncMeta)> = jobs.iter().map(|j| (j.func, j.meta)).collect();
    let mut callee_metas = std::collections::HashMap::new();
    for j in &jobs {
        for c in compile::direct_callees(&vm.code.ops[j.range.clone()]) {
            if let Some(meta) = translate_meta(vm, c) {
                callee_metas.insert(c, meta);
            }
        }
    }
    for j in &jobs {
        callee_metas.insert(j.func, j.meta);
    }
    let site_users: std::collections::HashSet<u32> =
        callee_metas.iter().filter(|(_, meta)| reads_site(vm, op_range(vm, **meta))).map(|(&f, _)| f).collect();
    let Some(mut tier) = vm.jit.take() else { return };
    let result = compile::compile_functions(&mut tier, &vm.code, &jobs, &|f| callee_metas.get(&f).copied(), &|f| {
        // A callee not translated yet may become native later: assume it reads the site.
        site_users.contains(&f) || !callee_metas.contains_key(&f)
    });
    match result {
        Ok(done) => {
            for (f, native) in done {
                tier.compiled += 1;
                if let Some(meta) = vm.code.funcs.get_mut(f as usize) {
                    meta.start = u32::MAX;
                }
                tier.set_state(f, FuncState::Native(native));
            }
            for (f, _) in &metas {
                if matches!(tier.state(*f), FuncState::Untried) {
                    tier.set_state(*f, FuncState::Failed);
                }
            }
        }
        Err(_) => {
            for (f, _) in &metas {
                tier.set_state(*f, FuncState::Failed);
            }
        }
    }
    vm.jit = Some(tier);
}

/// Whether the ops in `range` may read [`JitCtx::site`]: a modelled `malloc`/`free` or a call
/// at an op without a span (extern wrappers), which records the caller's call site instead.
fn reads_site(vm: &Vm, range: std::ops::Range<usize>) -> bool {
    range.into_iter().any(|pc| {
        let spanless = !matches!(vm.code.spans.get(pc), Some(Some(_)));
        match vm.code.ops.get(pc) {
            Some(crate::bytecode::Op::CallNative { native, .. }) => spanless && native.allocates(),
            Some(crate::bytecode::Op::Call { .. }) | Some(crate::bytecode::Op::CallIndirect { .. }) => spanless,
            Some(_) | None => false,
        }
    })
}

/// The ops of the function with metadata `meta` in the code store: from its start to the
/// next function's start (its trap sentinel included).
fn op_range(vm: &Vm, meta: FuncMeta) -> std::ops::Range<usize> {
    let start = meta.start as usize;
    let mut end = vm.code.ops.len();
    let mut consider = |s: u32| {
        if s != u32::MAX && s as usize > start && (s as usize) < end {
            end = s as usize;
        }
    };
    for f in &vm.code.funcs {
        consider(f.start);
    }
    if let Some(t) = vm.jit.as_ref() {
        for st in &t.funcs {
            if let FuncState::Native(n) = st {
                consider(n.meta.start);
            }
        }
    }
    start..end
}

/// The real [`FuncMeta`] of a translated function (the code store's, or the tier's when it is
/// compiled), `None` when it is not translated.
fn translate_meta(vm: &Vm, f: u32) -> Option<FuncMeta> {
    match vm.code.funcs.get(f as usize) {
        Some(meta) if meta.start != u32::MAX => Some(*meta),
        Some(_) | None => native_meta(vm, f),
    }
}

/// Runs native function `cur.func` from `cur.pc` (an entry) until it leaves, or returns into a
/// caller that is not native at an entry; then the interpreter continues at `cur`.
pub(crate) fn run(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Saved>) -> Result<JitExit, String> {
    // Native calls cannot grow the register vector (native frames point into it): give them
    // room first, within the stack limit, so they do not leave for every new depth.
    let room = (cur.fp + cur.num_regs + NATIVE_REG_ROOM).min((vm.limits.max_stack_bytes / 8) as usize);
    if vm.regs.len() < room {
        vm.regs.resize(room, 0);
    }
    loop {
        let Some(entry) = entry_index(vm, cur.func, cur.pc) else { return Ok(JitExit::Continue) };
        let Some(native) = vm.jit.as_ref().and_then(|t| t.native(cur.func)) else { return Ok(JitExit::Continue) };
        let f = native.entry;
        let nres = match frames.last() {
            Some(s) => vm.code.extra[s.ret_at as usize],
            None => u32::MAX,
        };
        let Some(tier) = vm.jit.as_ref() else { return Ok(JitExit::Continue) };
        let regs_base = vm.regs.as_mut_ptr();
        let here = 0u8;
        let stack_floor = (std::ptr::addr_of!(here) as u64).saturating_sub(MAX_NATIVE_STACK);
        let mut ctx = JitCtx {
            stack_floor,
            allocs: vm.mem.allocs.as_ptr() as u64,
            allocs_len: vm.mem.allocs.len() as u64,
            budget: vm.steps,
            depth_left: (vm.limits.max_call_depth as u64).saturating_sub(1 + frames.len() as u64).min(MAX_NATIVE_DEPTH),
            regs_end: regs_base as u64 + vm.regs.len() as u64 * 8,
            code: tier.code.as_ptr() as u64,
            code_len: tier.code.len() as u64,
            slots_len: vm.slots.len() as u64,
            site: frames
                .iter()
                .rev()
                .map(|f| f.pc as usize)
                .find(|&p| vm.code.spans.get(p.wrapping_sub(1)).is_some_and(|s| s.is_some()))
                .unwrap_or(0) as u64,
            cur_func: 0,
            cur_pc: 0,
            cur_regs: 0,
            cur_slot_base: 0,
            ret: [0; MAX_NATIVE_RETURNS],
            vm: vm as *mut Vm,
            module: m as *const Module,
            pending: Vec::new(),
            leave: Leave::Deopt,
        };
        // SAFETY: `f` was compiled for this VM's code store; `cur.fp + num_regs` lies inside the
        // register vector (invariant of every frame), which native code never resizes; the
        // context outlives the call. While native code runs, the VM is reached only through
        // `ctx.vm` (by the helpers).
        let status =
            unsafe { f(&mut ctx as *mut JitCtx as *mut std::ffi::c_void, regs_base.add(cur.fp), entry, cur.slot_base as u64, nres) };
        vm.steps = ctx.budget;
        if status == STATUS_RETURNED {
            let Some(s) = frames.pop() else { return Err("native return without a caller".to_string()) };
            let n = vm.code.extra[s.ret_at as usize] as usize;
            for k in 0..n {
                let dst = vm.code.extra[s.ret_at as usize + 1 + k] as usize;
                vm.regs[s.fp + dst] = ctx.ret[k];
            }
            *cur = Cur { func: s.func, pc: s.pc as usize, fp: s.fp, num_regs: s.num_regs as usize, slot_base: s.slot_base as usize };
            continue;
        }
        frames.extend(ctx.pending.drain(..).rev());
        let func = ctx.cur_func as u32;
        let num_regs = translate_meta(vm, func).map_or(0, |meta| meta.num_regs as usize);
        *cur = Cur {
            func,
            pc: ctx.cur_pc as usize,
            fp: ((ctx.cur_regs - regs_base as u64) / 8) as usize,
            num_regs,
            slot_base: ctx.cur_slot_base as usize,
        };
        if trace_enabled() {
            let op = vm.code.ops.get(cur.pc).map_or("?", |op| op.name());
            eprintln!("comptime-jit: left fn{} at {} ({}), {} steps left in the chunk", cur.func, cur.pc, op, vm.steps);
        }
        return match std::mem::replace(&mut ctx.leave, Leave::Deopt) {
            Leave::Deopt => Ok(JitExit::Continue),
            Leave::Error(e) => Err(e),
            Leave::Exit(c) => Ok(JitExit::Exited(c)),
        };
    }
}

/// Functions compiled so far (statistics and tests).
pub(crate) fn compiled_count(vm: &Vm) -> u64 {
    vm.jit.as_ref().map_or(0, |t| t.compiled)
}
