//! The executor: the hot interpreter loop over translated bytecode plus the frame machinery.
//!
//! Translated functions are linked into one shared op array ([`CodeStore`]), so a call is a jump.
//! Registers of all active frames live in one `Vec<u64>` (a frame is the window
//! `[fp, fp + num_regs)`); calls between module functions push the caller onto an explicit
//! frame stack — the host stack never grows with sx recursion. The inner loop ([`interp`])
//! handles calls and returns itself and leaves only for slow paths (first call of a function
//! to translate, register-stack growth, errors, the outermost return, `exit`), which the driver
//! ([`drive`]) handles before re-entering. Error messages are built in `#[cold]` functions.

use sx_ir::entity::EntityRef;
use sx_ir::{ConvOp, FloatCC, FuncId, IntCC, Module, RmwOp, TrapCode, Type};

use crate::bytecode::{FOp, IOp, Native, Op, COMPILER_CALL_PREFIX};
use crate::ffi::FfiStop;
use crate::jit::JitExit;
use crate::machine::{CodeStore, Cur, Frame, FuncMeta, Outcome, Saved, Suspended, Vm, VmError, VmLimits, UNTRANSLATED};
use crate::memory::{AllocKind, ComptimeMemory, MemFault, Site, FUNC_ALLOC};
use crate::natives;
use crate::translate::translate;
use crate::width::W;

enum Action {
    /// Translate `func`, then re-execute the call at `pc - 1`.
    Translate(u32),
    /// Grow the register stack to this many registers, then re-execute the call.
    Grow(usize),
    /// The outermost frame returned (values at `extra[list..]`, or the one value).
    Ret0,
    Ret1(u64),
    RetN(u32),
    Exit(i32),
    /// Suspended at a safe point; re-enter the loop to resume (`true`: re-execute the call
    /// instruction that reached the safe point).
    Pause(bool),
    /// Print the comptime call frames, then resume after the call.
    PrintFrames,
    /// A compiler request (`Op::CallCompiler`): extern and operand list.
    Compiler(u32, u32),
    /// A C call that may call back into the VM (an sx function pointer is among its
    /// arguments): extern and operand list; made outside the loop, then resume after it.
    ForeignCallbacks(u32, u32),
}

enum SafePoint {
    Continue(u64),
    Pause(u64),
    Stop(String),
}

/// A safe point: the hot loop's step chunk ran out. Checks the interrupt flag, the deadline and
/// the total budget, then hands out the next chunk.
#[cold]
#[inline(never)]
fn safe_point(
    remaining: &mut u64,
    limits: &VmLimits,
    interrupt: &std::sync::atomic::AtomicBool,
    deadline: &Option<std::time::Instant>,
    safe_points: &mut u64,
) -> SafePoint {
    use std::sync::atomic::Ordering;
    *safe_points += 1;
    if interrupt.swap(false, Ordering::Relaxed) {
        return SafePoint::Stop("comptime evaluation interrupted".to_string());
    }
    if let Some(d) = deadline {
        if std::time::Instant::now() >= *d {
            let secs = limits.timeout.map(|t| t.as_secs_f64()).unwrap_or(0.0);
            return SafePoint::Stop(format!("comptime evaluation timed out after {} s", secs));
        }
    }
    if *remaining == 0 {
        return SafePoint::Stop(step_msg(limits.max_steps));
    }
    let chunk = (*remaining).min(limits.check_every.max(1));
    *remaining -= chunk;
    if let Some((every, abort)) = limits.inject_interrupt {
        if every > 0 && safe_points.is_multiple_of(every) {
            if abort {
                return SafePoint::Stop("comptime evaluation interrupted (injected at a safe point)".to_string());
            }
            return SafePoint::Pause(chunk);
        }
    }
    SafePoint::Continue(chunk)
}

/// Frames kept in an error's stack trace (innermost first).
const MAX_TRACE: usize = 64;

pub(crate) fn run(vm: &mut Vm, m: &Module, func: FuncId, args: &[u64]) -> Result<Outcome, VmError> {
    vm.steps = 0;
    vm.remaining = vm.limits.max_steps;
    vm.deadline = vm.limits.timeout.map(|t| std::time::Instant::now() + t);
    let name = m.funcs.get(func).map(|f| f.name.clone()).unwrap_or_else(|| func.to_string());
    let with_name = |msg: String| VmError {
        message: msg,
        span: m.funcs.get(func).and_then(|f| f.span),
        stack: vec![Frame { func: name.clone(), call_site: None }],
        related: Vec::new(),
    };
    vm.mem.take_fault_sites();
    if let Some(cached) = vm.code.names.get(func.index()) {
        if !cached.is_empty() && *cached != name {
            return Err(with_name(format!(
                "this VM has run a different module (fn{} was `{}`); a VM is bound to one growing module",
                func.0, cached
            )));
        }
    }
    let meta = ensure_translated(vm, m, func.0).map_err(with_name)?;
    if args.len() != meta.num_params as usize {
        return Err(with_name(format!("`{}` takes {} arguments but was called with {}", name, meta.num_params, args.len())));
    }
    let f = &m.funcs[func];
    vm.regs.clear();
    vm.slots.clear();
    vm.regs.resize(meta.num_regs as usize + 64, 0);
    for (i, &a) in args.iter().enumerate() {
        let ty = f.sig.params.get(i).copied().unwrap_or(Type::I64);
        vm.regs[i] = W::of(ty).mask(a);
    }
    vm.slots.resize(meta.num_slots as usize, 0);
    let frames = Vec::new();
    let cur = Cur { func: func.0, pc: meta.start as usize, fp: 0, num_regs: meta.num_regs as usize, slot_base: 0 };
    finish(vm, m, cur, frames)
}

/// Drives the evaluation from `cur` until it ends or suspends. An ended evaluation frees its
/// stack slots; a suspended one is pushed onto `vm.suspended` for [`resume`].
fn finish(vm: &mut Vm, m: &Module, mut cur: Cur, mut frames: Vec<Saved>) -> Result<Outcome, VmError> {
    let result = drive(vm, m, &mut cur, &mut frames);
    if let Ok(Stop::Compiler { ext, list }) = result {
        let Some(e) = m.externs.get(sx_ir::ExternId(ext)) else {
            let msg = unsupported(m, ext);
            drop_state(vm);
            return Err(make_error(&vm.code, &cur, &frames, msg, None));
        };
        let name = e.symbol.strip_prefix(COMPILER_CALL_PREFIX).unwrap_or(&e.symbol).to_string();
        if let Err(msg) = vm.foreign.sandbox.check_compiler_call(&name) {
            drop_state(vm);
            return Err(make_error(&vm.code, &cur, &frames, msg, None));
        }
        let l = list as usize;
        let nargs = vm.code.extra[l] as usize;
        let args: Vec<u64> = vm.code.extra[l + 1..l + 1 + nargs].iter().map(|&r| vm.regs[cur.fp + r as usize]).collect();
        let s = Suspended {
            cur,
            frames,
            regs: std::mem::take(&mut vm.regs),
            slots: std::mem::take(&mut vm.slots),
            steps: vm.steps,
            remaining: vm.remaining,
            deadline: vm.deadline,
            ext,
            list,
        };
        vm.suspended.push(s);
        return Ok(Outcome::CompilerCall { name, args });
    }
    drop_state(vm);
    result.map(|s| match s {
        Stop::Done(o) => o,
        Stop::Compiler { .. } => Outcome::Returned(vec![]),
    })
}

/// Frees every stack slot of the current evaluation and clears its registers.
fn drop_state(vm: &mut Vm) {
    for id in std::mem::take(&mut vm.slots) {
        if id != 0 {
            vm.mem.free_id(id);
        }
    }
    vm.regs.clear();
}

/// Continues the innermost suspended evaluation with the results of its compiler request.
pub(crate) fn resume(vm: &mut Vm, m: &Module, results: &[u64]) -> Result<Outcome, VmError> {
    let Some(s) = vm.suspended.pop() else {
        return Err(VmError::new("no suspended evaluation to resume"));
    };
    drop_state(vm);
    vm.regs = s.regs;
    vm.slots = s.slots;
    vm.steps = s.steps;
    vm.remaining = s.remaining;
    vm.deadline = s.deadline;
    let l = s.list as usize;
    let nargs = vm.code.extra[l] as usize;
    let nres = vm.code.extra[l + 1 + nargs] as usize;
    if nres != results.len() {
        let name = m.externs.get(sx_ir::ExternId(s.ext)).map(|e| e.symbol.clone()).unwrap_or_default();
        let msg = format!("compiler request `{}` answered with {} values, expected {}", name, results.len(), nres);
        drop_state(vm);
        return Err(make_error(&vm.code, &s.cur, &s.frames, msg, None));
    }
    let rets = m.externs.get(sx_ir::ExternId(s.ext)).map(|e| e.sig.returns.clone()).unwrap_or_default();
    for (k, &v) in results.iter().enumerate() {
        let dst = vm.code.extra[l + 2 + nargs + k] as usize;
        let w = W::of(rets.get(k).copied().unwrap_or(Type::I64));
        vm.regs[s.cur.fp + dst] = w.mask(v);
    }
    finish(vm, m, s.cur, s.frames)
}

/// Drops the innermost suspended evaluation (the compiler could not answer its request),
/// freeing its stack slots.
pub(crate) fn abandon(vm: &mut Vm) {
    if let Some(s) = vm.suspended.pop() {
        for id in s.slots {
            if id != 0 {
                vm.mem.free_id(id);
            }
        }
    }
}

/// How [`drive`] stopped without an error.
enum Stop {
    Done(Outcome),
    /// A compiler request: extern `ext` with operand list `list`.
    Compiler {
        ext: u32,
        list: u32,
    },
}

/// Translates `func` on first use and links it into the code store.
fn ensure_translated(vm: &mut Vm, m: &Module, func: u32) -> Result<FuncMeta, String> {
    if let Some(meta) = vm.code.funcs.get(func as usize) {
        if meta.start != u32::MAX {
            return Ok(*meta);
        }
    }
    if let Some(meta) = crate::jit::native_meta(vm, func) {
        return Ok(meta);
    }
    translate_slow(vm, m, func)
}

#[cold]
#[inline(never)]
fn translate_slow(vm: &mut Vm, m: &Module, func: u32) -> Result<FuncMeta, String> {
    let f = m.funcs.get(FuncId(func)).ok_or_else(|| format!("call of a missing function fn{}", func))?;
    if !f.is_defined() {
        return Err(format!("call of function `{}`, which has no body", f.name));
    }
    let c = translate(m, f)?;
    if dump_enabled() {
        eprint!("{}", c.to_text());
    }
    let st = &mut vm.code;
    if st.ops.len() + c.ops.len() + 1 >= u32::MAX as usize || st.extra.len() + c.extra.len() >= u32::MAX as usize {
        return Err("comptime code store is full".to_string());
    }
    let (base, xbase, sbase) = (st.ops.len() as u32, st.extra.len() as u32, st.sigs.len() as u32);
    for op in &c.ops {
        st.ops.push(op.relink(base, xbase, sbase));
    }
    st.spans.extend_from_slice(&c.spans);
    // A sentinel so a fall-through past the end can never run into the next function.
    st.ops.push(Op::Trap { code: TrapCode::Unreachable });
    st.spans.push(f.span);
    st.extra.extend_from_slice(&c.extra);
    st.sigs.extend(c.sigs);
    let meta = FuncMeta {
        start: base,
        num_regs: c.num_regs,
        num_params: c.num_params,
        num_slots: c.slots.len() as u32,
        slot_start: st.slot_sizes.len() as u32,
    };
    st.slot_sizes.extend(c.slots.iter().map(|s| s.0));
    if st.funcs.len() <= func as usize {
        st.funcs.resize(func as usize + 1, UNTRANSLATED);
        st.names.resize(func as usize + 1, String::new());
    }
    st.funcs[func as usize] = meta;
    st.names[func as usize] = c.name;
    Ok(meta)
}

/// `SX_VM_DUMP=1` prints every translated function's bytecode to stderr (debugging aid).
fn dump_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SX_VM_DUMP").is_some_and(|v| v != "0"))
}

fn drive(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Saved>) -> Result<Stop, VmError> {
    loop {
        if vm.jit.as_ref().is_some_and(|t| t.eager) {
            match crate::jit::at_safe_point(vm, m, cur, frames, ensure_translated) {
                Ok(JitExit::Continue) => {}
                Ok(JitExit::Exited(c)) => return Ok(Stop::Done(Outcome::Exited(c))),
                Err(msg) => {
                    let sites = vm.mem.take_fault_sites();
                    return Err(make_error(&vm.code, cur, frames, msg, sites));
                }
            }
        }
        let r = match interp(vm, m, cur, frames) {
            Ok(Action::Translate(func)) if crate::jit::native_meta(vm, func).is_some() => match call_native(vm, m, cur, frames, func) {
                Ok(JitExit::Continue) => Ok(()),
                Ok(JitExit::Exited(c)) => return Ok(Stop::Done(Outcome::Exited(c))),
                Err(e) => Err(e),
            },
            Ok(Action::Translate(func)) => ensure_translated(vm, m, func).map(|_| cur.pc -= 1),
            Ok(Action::Grow(need)) => grow_regs(vm, need).map(|_| cur.pc -= 1),
            Ok(Action::Exit(c)) => return Ok(Stop::Done(Outcome::Exited(c))),
            Ok(Action::Compiler(ext, list)) => return Ok(Stop::Compiler { ext, list }),
            Ok(Action::ForeignCallbacks(ext, list)) => call_with_callbacks(vm, m, cur, ext, list),
            Ok(Action::Pause(redo)) => {
                if redo {
                    cur.pc -= 1;
                }
                match crate::jit::at_safe_point(vm, m, cur, frames, ensure_translated) {
                    Ok(JitExit::Continue) => Ok(()),
                    Ok(JitExit::Exited(c)) => return Ok(Stop::Done(Outcome::Exited(c))),
                    Err(e) => Err(e),
                }
            }
            Ok(Action::PrintFrames) => {
                print_frames(vm, frames);
                Ok(())
            }
            Ok(Action::Ret0) => return Ok(Stop::Done(Outcome::Returned(vec![]))),
            Ok(Action::Ret1(v)) => return Ok(Stop::Done(Outcome::Returned(vec![v]))),
            Ok(Action::RetN(list)) => {
                let l = &vm.code.extra[list as usize..];
                let n = l[0] as usize;
                return Ok(Stop::Done(Outcome::Returned(l[1..1 + n].iter().map(|&r| vm.regs[cur.fp + r as usize]).collect())));
            }
            Err(e) => Err(e),
        };
        if let Err(msg) = r {
            let sites = vm.mem.take_fault_sites();
            return Err(make_error(&vm.code, cur, frames, msg, sites));
        }
    }
}

/// Grows the register stack to at least `need` registers, within the stack limit.
fn grow_regs(vm: &mut Vm, need: usize) -> Result<(), String> {
    if need as u64 * 8 > vm.limits.max_stack_bytes {
        return Err(format!(
            "comptime evaluation exceeded the stack limit ({} bytes of registers); is there unbounded recursion?",
            vm.limits.max_stack_bytes
        ));
    }
    let n = (need + need / 2).max(1024);
    vm.regs.resize(n, 0);
    Ok(())
}

/// The loop's call of a function compiled to native code (`cur.pc` is after the call op): the
/// same step, depth, arity and stack checks as the loop's `call!`, in the same order and with
/// the same messages; then the callee runs natively ([`crate::jit::run`]).
#[cold]
#[inline(never)]
fn call_native(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Saved>, callee: u32) -> Result<JitExit, String> {
    let list = match vm.code.ops.get(cur.pc.wrapping_sub(1)) {
        Some(Op::Call { list, .. }) | Some(Op::CallIndirect { list, .. }) => *list,
        _ => return Err("malformed native call".to_string()),
    };
    if vm.steps == 0 {
        match safe_point(&mut vm.remaining, &vm.limits, &vm.interrupt, &vm.deadline, &mut vm.safe_points) {
            SafePoint::Continue(c) => vm.steps = c,
            SafePoint::Pause(c) => {
                vm.steps = c;
                cur.pc -= 1;
                return Ok(JitExit::Continue);
            }
            SafePoint::Stop(e) => return Err(e),
        }
    }
    vm.steps -= 1;
    if frames.len() + 1 >= vm.limits.max_call_depth {
        return Err(depth_msg(vm.limits.max_call_depth));
    }
    let Some(meta) = crate::jit::native_meta(vm, callee) else {
        return Err("malformed native call".to_string());
    };
    let l = list as usize;
    let nargs = vm.code.extra[l] as usize;
    if nargs != meta.num_params as usize {
        return Err(arity_msg(&vm.code, callee, meta.num_params, nargs));
    }
    let new_fp = cur.fp + cur.num_regs;
    if new_fp + meta.num_regs as usize > vm.regs.len() {
        // As the loop does: grow, then execute the call again (its step counted twice).
        grow_regs(vm, new_fp + meta.num_regs as usize)?;
        cur.pc -= 1;
        return Ok(JitExit::Continue);
    }
    for i in 0..nargs {
        let r = vm.code.extra[l + 1 + i] as usize;
        vm.regs[new_fp + i] = vm.regs[cur.fp + r];
    }
    frames.push(Saved {
        func: cur.func,
        pc: cur.pc as u32,
        fp: cur.fp,
        num_regs: cur.num_regs as u32,
        slot_base: cur.slot_base as u32,
        ret_at: list + 1 + nargs as u32,
    });
    let slot_base = vm.slots.len();
    if meta.num_slots != 0 {
        vm.slots.resize(slot_base + meta.num_slots as usize, 0);
    }
    *cur = Cur { func: callee, pc: meta.start as usize, fp: new_fp, num_regs: meta.num_regs as usize, slot_base };
    crate::jit::run(vm, m, cur, frames)
}

/// Why the loop leaves after a C call that did not complete in it.
#[cold]
#[inline(never)]
fn foreign_stop(stop: FfiStop, ext: u32, list: u32) -> Result<Action, String> {
    match stop {
        FfiStop::Error(e) => Err(e),
        FfiStop::NeedsCallbacks => Ok(Action::ForeignCallbacks(ext, list)),
    }
}

/// A C call that may call back into the VM (see [`crate::ffi_callbacks`]): the evaluation's
/// registers, slots and budget are set aside while C runs, so each callback is a nested
/// evaluation; then they are restored and execution goes on after the call.
#[cold]
#[inline(never)]
fn call_with_callbacks(vm: &mut Vm, m: &Module, cur: &Cur, ext: u32, list: u32) -> Result<(), String> {
    let x = &vm.code.extra;
    let l0 = list as usize;
    let nargs = x.get(l0).copied().unwrap_or(0) as usize;
    let nres = x.get(l0 + 1 + nargs).copied().unwrap_or(0) as usize;
    let l: Vec<u32> = x.get(l0..l0 + 2 + nargs + nres).unwrap_or(&[]).to_vec();
    let mut regs = std::mem::take(&mut vm.regs);
    let slots = std::mem::take(&mut vm.slots);
    let (steps, remaining, deadline) = (vm.steps, vm.remaining, vm.deadline);
    let frame = regs.get_mut(cur.fp..).unwrap_or(&mut []);
    let r = crate::ffi_callbacks::call(vm, m, ext, &l, frame, nested_evaluation);
    drop_state(vm);
    vm.regs = regs;
    vm.slots = slots;
    (vm.steps, vm.remaining, vm.deadline) = (steps, remaining, deadline);
    r
}

/// Runs `func` for a C callback while the calling evaluation is set aside.
fn nested_evaluation(vm: &mut Vm, m: &Module, func: FuncId, args: &[u64]) -> Result<Vec<u64>, String> {
    match run(vm, m, func, args) {
        Ok(Outcome::Returned(v)) => Ok(v),
        Ok(Outcome::Exited(code)) => Err(format!("it called exit({})", code)),
        Ok(Outcome::CompilerCall { name, .. }) => {
            abandon(vm);
            Err(format!("it made the compiler request `{}`, which cannot be answered while C runs", name))
        }
        Err(e) => Err(e.message),
    }
}

#[cold]
#[inline(never)]
fn bad_callee(mem: &crate::memory::ComptimeMemory, callee: u64) -> String {
    match mem.decode(callee) {
        crate::memory::PointerTarget::Null => "indirect call through a null function pointer".to_string(),
        crate::memory::PointerTarget::Func(f) => format!("indirect call of a missing function fn{}", f.0),
        _ => format!("indirect call through {:#x}, which is not a function pointer", callee),
    }
}

/// `trace.print_interpreter_frames()`: the active frames, outermost first, without the
/// innermost one (the function that asked).
#[cold]
#[inline(never)]
fn print_frames(vm: &mut Vm, frames: &[Saved]) {
    if !vm.mem.comptime_stage {
        // A whole program on the VM is compiled code: no interpreter frames, as in the JIT.
        return;
    }
    let st = &vm.code;
    let name = |f: u32| {
        let n = st.names.get(f as usize).map(|s| s.as_str()).unwrap_or("");
        n.split('.').next().unwrap_or(n).to_string()
    };
    let mut text = String::from("comptime call frames (most recent call last):\n");
    for s in frames {
        text.push_str(&format!("  at {}\n", name(s.func)));
    }
    vm.host.write(1, text.as_bytes());
}

#[cold]
#[inline(never)]
fn make_error(st: &CodeStore, cur: &Cur, frames: &[Saved], message: String, sites: Option<(Site, Site)>) -> VmError {
    let span_at = |pc: usize| st.spans.get(pc.wrapping_sub(1)).copied().flatten();
    let mut related = Vec::new();
    if let Some((alloc, free)) = sites {
        for (label, site) in [("allocated here", alloc), ("freed here", free)] {
            if let Some(sp) = span_at(site as usize).filter(|_| site != 0) {
                related.push((label.to_string(), sp));
            }
        }
    }
    let name = |f: u32| st.names.get(f as usize).cloned().unwrap_or_default();
    // Extern wrappers have no spans: report the innermost call site that has one.
    let span = span_at(cur.pc).or_else(|| frames.iter().rev().find_map(|f| span_at(f.pc as usize)));
    let mut stack = Vec::new();
    let mut callee = cur.func;
    for caller in frames.iter().rev() {
        if stack.len() >= MAX_TRACE {
            break;
        }
        stack.push(Frame { func: name(callee), call_site: span_at(caller.pc as usize) });
        callee = caller.func;
    }
    if stack.len() < MAX_TRACE {
        stack.push(Frame { func: name(callee), call_site: None });
    } else if let Some(root) = frames.first() {
        stack.push(Frame { func: name(root.func), call_site: None });
    }
    VmError { message, span, stack, related }
}

/// The code position of the innermost active instruction that has a source span: the current
/// one, else the call sites of the enclosing frames (extern wrappers have no spans of their
/// own). 0 when none has.
#[cold]
#[inline(never)]
fn source_site(st: &CodeStore, pc: usize, frames: &[Saved]) -> Site {
    let has_span = |p: usize| st.spans.get(p.wrapping_sub(1)).is_some_and(|s| s.is_some());
    if has_span(pc) {
        return pc as Site;
    }
    frames.iter().rev().map(|f| f.pc as usize).find(|&p| has_span(p)).unwrap_or(0) as Site
}

#[cold]
#[inline(never)]
fn step_msg(max: u64) -> String {
    format!("comptime evaluation exceeded the step budget ({} steps); is there an infinite loop?", max)
}

#[cold]
#[inline(never)]
fn fault_msg(e: crate::memory::MemFault) -> String {
    e.to_string()
}

#[cold]
#[inline(never)]
fn trap_msg(code: TrapCode) -> String {
    match code {
        TrapCode::Unreachable => "reached unreachable code".to_string(),
        TrapCode::User(n) => format!("runtime check failed (trap {})", n),
    }
}

#[cold]
#[inline(never)]
fn unsupported(m: &Module, ext: u32) -> String {
    let name = m.externs.get(sx_ir::ExternId(ext)).map(|e| e.symbol.as_str()).unwrap_or("?");
    format!("not supported yet at comptime: extern function `{}`", name)
}

/// Integer binary operation on canonical operands.
#[inline(always)]
fn ibin(op: IOp, w: W, x: u64, y: u64) -> Result<u64, &'static str> {
    let amt = |y: u64| (y as u32) & (w.bits() - 1);
    Ok(match op {
        IOp::Add => w.mask(x.wrapping_add(y)),
        IOp::Sub => w.mask(x.wrapping_sub(y)),
        IOp::Mul => w.mask(x.wrapping_mul(y)),
        IOp::And => x & y,
        IOp::Or => x | y,
        IOp::Xor => x ^ y,
        IOp::Shl => w.mask(x << amt(y)),
        IOp::Ushr => x >> amt(y),
        IOp::Sshr => w.mask((w.sext(x) >> amt(y)) as u64),
        IOp::Udiv => {
            if y == 0 {
                return Err("integer division by zero");
            }
            x / y
        }
        IOp::Urem => {
            if y == 0 {
                return Err("integer remainder by zero");
            }
            x % y
        }
        IOp::Sdiv => {
            let (a, b) = (w.sext(x), w.sext(y));
            if b == 0 {
                return Err("integer division by zero");
            }
            if b == -1 && a == w.smin() {
                return Err("integer overflow in division (MIN / -1)");
            }
            w.mask((a / b) as u64)
        }
        IOp::Srem => {
            let (a, b) = (w.sext(x), w.sext(y));
            if b == 0 {
                return Err("integer remainder by zero");
            }
            w.mask(a.wrapping_rem(b) as u64)
        }
    })
}

#[inline(always)]
fn icmp(cc: IntCC, w: W, x: u64, y: u64) -> bool {
    match cc {
        IntCC::Eq => x == y,
        IntCC::Ne => x != y,
        IntCC::Ult => x < y,
        IntCC::Ule => x <= y,
        IntCC::Ugt => x > y,
        IntCC::Uge => x >= y,
        IntCC::Slt => w.sext(x) < w.sext(y),
        IntCC::Sle => w.sext(x) <= w.sext(y),
        IntCC::Sgt => w.sext(x) > w.sext(y),
        IntCC::Sge => w.sext(x) >= w.sext(y),
    }
}

/// An atomic read-modify-write of the `w`-wide integer at `addr` (one thread: a checked load
/// and store); the old value.
fn atomic_rmw(mem: &mut ComptimeMemory, op: RmwOp, w: W, addr: u64, x: u64) -> Result<u64, MemFault> {
    let old = mem.load(addr, w.bytes())?;
    mem.store(addr, w.bytes(), rmw(op, w, old, x))?;
    Ok(old)
}

/// An atomic compare-and-swap of the `w`-wide integer at `addr`; the value found. The memory
/// must be writable even when the values differ (it is written back unchanged).
fn atomic_cas(mem: &mut ComptimeMemory, w: W, addr: u64, expected: u64, desired: u64) -> Result<u64, MemFault> {
    let found = mem.load(addr, w.bytes())?;
    mem.store(addr, w.bytes(), if found == expected { desired } else { found })?;
    Ok(found)
}

/// The value an atomic read-modify-write stores: `op(old, x)` at width `w` (both canonical).
fn rmw(op: RmwOp, w: W, old: u64, x: u64) -> u64 {
    w.mask(match op {
        RmwOp::Add => old.wrapping_add(x),
        RmwOp::Sub => old.wrapping_sub(x),
        RmwOp::And => old & x,
        RmwOp::Or => old | x,
        RmwOp::Xor => old ^ x,
        RmwOp::Smin if w.sext(x) < w.sext(old) => x,
        RmwOp::Smax if w.sext(x) > w.sext(old) => x,
        RmwOp::Smin | RmwOp::Smax => old,
        RmwOp::Umin => old.min(x),
        RmwOp::Umax => old.max(x),
        RmwOp::Xchg => x,
    })
}

#[inline(always)]
fn imm_val(w: W, imm: i32) -> u64 {
    w.mask(imm as i64 as u64)
}

fn fcmp<T: PartialOrd>(cc: FloatCC, x: T, y: T) -> bool {
    match cc {
        FloatCC::Eq => x == y,
        FloatCC::Ne => x != y,
        FloatCC::Lt => x < y,
        FloatCC::Le => x <= y,
        FloatCC::Gt => x > y,
        FloatCC::Ge => x >= y,
    }
}

fn fval(t: Type, x: u64) -> f64 {
    match t {
        Type::F32 => f32::from_bits(x as u32) as f64,
        _ => f64::from_bits(x),
    }
}

fn conv(op: ConvOp, from: Type, to: Type, x: u64) -> u64 {
    let wt = W::of(to);
    match op {
        ConvOp::Sext => wt.mask(W::of(from).sext(x) as u64),
        ConvOp::Uext | ConvOp::Trunc | ConvOp::Bitcast => wt.mask(x),
        ConvOp::FPromote => (f32::from_bits(x as u32) as f64).to_bits(),
        ConvOp::FDemote => (f64::from_bits(x) as f32).to_bits() as u64,
        ConvOp::FToS => {
            let f = fval(from, x);
            match to {
                Type::I8 => f as i8 as u8 as u64,
                Type::I16 => f as i16 as u16 as u64,
                Type::I32 => f as i32 as u32 as u64,
                _ => f as i64 as u64,
            }
        }
        ConvOp::FToU => {
            let f = fval(from, x);
            match to {
                Type::I8 => f as u8 as u64,
                Type::I16 => f as u16 as u64,
                Type::I32 => f as u32 as u64,
                _ => f as u64,
            }
        }
        ConvOp::SToF => {
            let i = W::of(from).sext(x);
            match to {
                Type::F32 => (i as f32).to_bits() as u64,
                _ => (i as f64).to_bits(),
            }
        }
        ConvOp::UToF => match to {
            Type::F32 => (x as f32).to_bits() as u64,
            _ => (x as f64).to_bits(),
        },
    }
}

#[inline(always)]
fn f64op(op: FOp, a: f64, b: f64) -> f64 {
    match op {
        FOp::Add => a + b,
        FOp::Sub => a - b,
        FOp::Mul => a * b,
        FOp::Div => a / b,
    }
}

#[inline(always)]
fn f32op(op: FOp, a: f32, b: f32) -> f32 {
    match op {
        FOp::Add => a + b,
        FOp::Sub => a - b,
        FOp::Mul => a * b,
        FOp::Div => a / b,
    }
}

/// Runs from `cur` until the outermost frame returns, the program exits, a call needs a
/// translation or more registers, or something faults. Calls and returns between translated
/// functions stay in the loop.
///
/// Registers are accessed through a raw frame pointer without bounds checks. This is sound
/// because (1) the translator validates that every register operand of a function, including
/// those in `extra` lists, is below its `num_regs` (`Compiled::validate`), (2) a frame is
/// only entered when `fp + num_regs <= regs.len()` (else the driver grows the stack first),
/// and (3) the register vector is not resized while this function runs. Op fetches are
/// unchecked because every branch target is validated to lie inside its function and every
/// function ends in a trapping sentinel.
#[allow(unused_unsafe)] // the register/list macros nest their unsafe blocks
fn interp(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Saved>) -> Result<Action, String> {
    let Vm { regs: all, mem, slots, host, steps, limits, code: st, remaining, interrupt, deadline, safe_points, foreign, jit, .. } = vm;
    let jit_on = jit.is_some();
    let all_len = all.len();
    let base: *mut u64 = all.as_mut_ptr();
    let ops = &st.ops[..];
    let extra = &st.extra[..];
    let funcs = &st.funcs[..];
    let Cur { mut func, mut pc, mut fp, mut num_regs, mut slot_base } = *cur;
    debug_assert!(fp + num_regs <= all_len);
    // SAFETY: fp + num_regs <= all_len (invariant of every frame, see above).
    let mut rp: *mut u64 = unsafe { base.add(fp) };
    let mut budget = *steps;
    let max_depth = limits.max_call_depth;
    #[cfg(feature = "vm-poll-atomic")]
    let poll: &std::sync::atomic::AtomicBool = interrupt;

    macro_rules! r {
        ($x:expr) => {
            // SAFETY: register operands are validated < num_regs at translation time and the
            // frame `[fp, fp + num_regs)` lies inside the register vector.
            *unsafe {
                debug_assert!(fp + ($x as usize) < all_len);
                &mut *rp.add($x as usize)
            }
        };
    }
    macro_rules! x {
        ($i:expr) => {
            // SAFETY: list indices and lengths are validated at translation time.
            *unsafe { extra.get_unchecked($i) }
        };
    }
    macro_rules! leave {
        ($v:expr) => {{
            *cur = Cur { func, pc, fp, num_regs, slot_base };
            *steps = budget;
            return $v;
        }};
    }
    // The only per-step cost: count down a local chunk. Interrupts, deadlines and the total
    // budget are checked when the chunk runs out (a safe point).
    macro_rules! safe_point {
        ($redo:expr, $resume_pc:expr) => {{
            match safe_point(remaining, limits, interrupt, deadline, safe_points) {
                SafePoint::Continue(c) => {
                    budget = c;
                    if jit_on {
                        // The native tier decides at safe points ([`crate::jit::at_safe_point`]):
                        // count this step as the loop would, then leave to the driver.
                        if !$redo {
                            budget -= 1;
                        }
                        pc = $resume_pc;
                        leave!(Ok(Action::Pause($redo)))
                    }
                }
                SafePoint::Pause(c) => {
                    budget = c;
                    pc = $resume_pc;
                    leave!(Ok(Action::Pause($redo)))
                }
                SafePoint::Stop(e) => leave!(Err(e)),
            }
        }};
    }
    // One step (a taken jump or a call). The measurement features swap the design:
    // `vm-poll-atomic` additionally polls the interrupt flag at every step; `vm-no-budget`
    // removes the check entirely (no step budget, no interrupts; never ship it).
    macro_rules! tick {
        ($redo:expr, $resume_pc:expr) => {{
            #[cfg(feature = "vm-poll-atomic")]
            {
                if poll.load(std::sync::atomic::Ordering::Relaxed) {
                    poll.store(false, std::sync::atomic::Ordering::Relaxed);
                    leave!(Err("comptime evaluation interrupted".to_string()))
                }
            }
            #[cfg(not(feature = "vm-no-budget"))]
            {
                if budget == 0 {
                    safe_point!($redo, $resume_pc)
                }
                budget -= 1;
            }
        }};
    }
    macro_rules! jump {
        ($t:expr) => {{
            tick!(false, $t as usize);
            pc = $t as usize;
        }};
    }
    macro_rules! br {
        ($cond:expr, $t:expr) => {{
            if $cond {
                jump!($t)
            }
        }};
    }
    macro_rules! call {
        ($callee:expr, $meta:expr, $list:expr) => {{
            let meta: FuncMeta = $meta;
            tick!(true, pc);
            if frames.len() + 1 >= max_depth {
                leave!(Err(depth_msg(max_depth)))
            }
            let l = $list as usize;
            let nargs = x!(l) as usize;
            if nargs != meta.num_params as usize {
                leave!(Err(arity_msg(st, $callee, meta.num_params, nargs)))
            }
            let new_fp = fp + num_regs;
            if new_fp + meta.num_regs as usize > all_len {
                leave!(Ok(Action::Grow(new_fp + meta.num_regs as usize)))
            }
            // SAFETY: new_fp + callee num_regs <= all_len, checked just above.
            let np = unsafe { rp.add(num_regs) };
            for i in 0..nargs {
                // SAFETY: i < num_params <= callee num_regs; argument registers are validated.
                unsafe { *np.add(i) = r!(x!(l + 1 + i)) };
            }
            frames.push(Saved {
                func,
                pc: pc as u32,
                fp,
                num_regs: num_regs as u32,
                slot_base: slot_base as u32,
                ret_at: $list + 1 + nargs as u32,
            });
            slot_base = slots.len();
            if meta.num_slots != 0 {
                slots.resize(slot_base + meta.num_slots as usize, 0);
            }
            func = $callee;
            fp = new_fp;
            num_regs = meta.num_regs as usize;
            pc = meta.start as usize;
            rp = np;
        }};
    }
    // Returns `n` values found at offsets given by `$src(k)` of the callee's window.
    macro_rules! ret {
        ($n:expr, $src:expr, $top:expr) => {{
            let n: usize = $n;
            let s = match frames.last() {
                None => leave!(Ok($top)),
                Some(s) => *s,
            };
            let want = x!(s.ret_at as usize) as usize;
            if want != n {
                leave!(Err(ret_count_msg(st, func, n, want)))
            }
            frames.pop();
            if slots.len() > slot_base {
                for id in slots.drain(slot_base..) {
                    if id != 0 {
                        mem.free_id(id);
                    }
                }
            }
            // SAFETY: the caller's frame lies inside the register vector.
            let crp = unsafe { base.add(s.fp) };
            for k in 0..n {
                let src: usize = $src(k);
                let dst = x!(s.ret_at as usize + 1 + k) as usize;
                // SAFETY: result registers are validated against the caller's num_regs,
                // sources against the callee's.
                unsafe { *crp.add(dst) = *rp.add(src) };
            }
            func = s.func;
            pc = s.pc as usize;
            fp = s.fp;
            num_regs = s.num_regs as usize;
            slot_base = s.slot_base as usize;
            rp = crp;
        }};
    }
    macro_rules! mem_op {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => leave!(Err(fault_msg(e))),
            }
        };
    }

    loop {
        debug_assert!(pc < ops.len());
        // SAFETY: pc is a validated branch target, a function start, or the successor of an
        // op that is not the last of its function (each function ends in a trap sentinel).
        let op = *unsafe { ops.get_unchecked(pc) };
        pc += 1;
        match op {
            Op::Const { d, v } => r!(d) = v,
            Op::Mov { d, s } => r!(d) = r!(s),
            Op::MovJmp { d, s, t } => {
                r!(d) = r!(s);
                jump!(t)
            }
            Op::Add64 { d, a, b } => r!(d) = r!(a).wrapping_add(r!(b)),
            Op::Sub64 { d, a, b } => r!(d) = r!(a).wrapping_sub(r!(b)),
            Op::Mul64 { d, a, b } => r!(d) = r!(a).wrapping_mul(r!(b)),
            Op::AddImm64 { d, a, imm } => r!(d) = r!(a).wrapping_add(imm as i64 as u64),
            Op::MulImm64 { d, a, imm } => r!(d) = r!(a).wrapping_mul(imm as i64 as u64),
            Op::SdivImm64 { d, a, imm } => r!(d) = (r!(a) as i64 / imm as i64) as u64,
            Op::SremImm64 { d, a, imm } => r!(d) = (r!(a) as i64 % imm as i64) as u64,
            Op::SdivPow2 { d, a, sh } => {
                let x = r!(a) as i64;
                let bias = ((x >> 63) as u64) >> (64 - sh);
                r!(d) = ((x as u64).wrapping_add(bias) as i64 >> sh) as u64
            }
            Op::SremPow2 { d, a, sh } => {
                let x = r!(a) as i64;
                let bias = ((x >> 63) as u64) >> (64 - sh);
                let q = ((x as u64).wrapping_add(bias) as i64 >> sh) as u64;
                r!(d) = (x as u64).wrapping_sub(q << sh)
            }
            Op::Add32 { d, a, b } => r!(d) = (r!(a) as u32).wrapping_add(r!(b) as u32) as u64,
            Op::Sub32 { d, a, b } => r!(d) = (r!(a) as u32).wrapping_sub(r!(b) as u32) as u64,
            Op::AddImm32 { d, a, imm } => r!(d) = (r!(a) as u32).wrapping_add(imm as u32) as u64,
            Op::And { d, a, b } => r!(d) = r!(a) & r!(b),
            Op::Or { d, a, b } => r!(d) = r!(a) | r!(b),
            Op::Xor { d, a, b } => r!(d) = r!(a) ^ r!(b),
            Op::IBin { op, w, d, a, b } => match ibin(op, w, r!(a), r!(b)) {
                Ok(v) => r!(d) = v,
                Err(e) => leave!(Err(e.to_string())),
            },
            Op::IBinImm { op, w, d, a, imm } => match ibin(op, w, r!(a), imm_val(w, imm)) {
                Ok(v) => r!(d) = v,
                Err(e) => leave!(Err(e.to_string())),
            },
            Op::Icmp { cc, w, d, a, b } => r!(d) = icmp(cc, w, r!(a), r!(b)) as u64,
            Op::IcmpImm { cc, w, d, a, imm } => r!(d) = icmp(cc, w, r!(a), imm_val(w, imm)) as u64,
            Op::F64Add { d, a, b } => r!(d) = (f64::from_bits(r!(a)) + f64::from_bits(r!(b))).to_bits(),
            Op::F64Sub { d, a, b } => r!(d) = (f64::from_bits(r!(a)) - f64::from_bits(r!(b))).to_bits(),
            Op::F64Mul { d, a, b } => r!(d) = (f64::from_bits(r!(a)) * f64::from_bits(r!(b))).to_bits(),
            Op::F64Div { d, a, b } => r!(d) = (f64::from_bits(r!(a)) / f64::from_bits(r!(b))).to_bits(),
            Op::F64Bin { op, d, a, b } => r!(d) = f64op(op, f64::from_bits(r!(a)), f64::from_bits(r!(b))).to_bits(),
            Op::F32Bin { op, d, a, b } => r!(d) = f32op(op, f32::from_bits(r!(a) as u32), f32::from_bits(r!(b) as u32)).to_bits() as u64,
            Op::Fcmp { cc, f32, d, a, b } => {
                r!(d) = if f32 {
                    fcmp(cc, f32::from_bits(r!(a) as u32), f32::from_bits(r!(b) as u32))
                } else {
                    fcmp(cc, f64::from_bits(r!(a)), f64::from_bits(r!(b)))
                } as u64
            }
            Op::Ineg { w, d, a } => r!(d) = w.mask(r!(a).wrapping_neg()),
            Op::Bnot { w, d, a } => r!(d) = w.mask(!r!(a)),
            Op::Fneg64 { d, a } => r!(d) = r!(a) ^ (1 << 63),
            Op::Fneg32 { d, a } => r!(d) = (r!(a) as u32 ^ (1 << 31)) as u64,
            Op::Trunc { w, d, a } => r!(d) = w.mask(r!(a)),
            Op::Sext { from, to, d, a } => r!(d) = to.mask(from.sext(r!(a)) as u64),
            Op::I64ToF64 { d, a } => r!(d) = (r!(a) as i64 as f64).to_bits(),
            Op::F64ToI64 { d, a } => r!(d) = f64::from_bits(r!(a)) as i64 as u64,
            Op::Conv { op, from, to, d, a } => r!(d) = conv(op, from, to, r!(a)),
            Op::Select { d, c, list } => {
                let l = list as usize;
                r!(d) = if r!(c) != 0 { r!(x!(l)) } else { r!(x!(l + 1)) }
            }
            Op::Load8 { d, a, off } => r!(d) = mem_op!(mem.load_n::<1>(r!(a).wrapping_add(off as i64 as u64))),
            Op::Load16 { d, a, off } => r!(d) = mem_op!(mem.load_n::<2>(r!(a).wrapping_add(off as i64 as u64))),
            Op::Load32 { d, a, off } => r!(d) = mem_op!(mem.load_n::<4>(r!(a).wrapping_add(off as i64 as u64))),
            Op::Load64 { d, a, off } => r!(d) = mem_op!(mem.load_n::<8>(r!(a).wrapping_add(off as i64 as u64))),
            Op::Store8 { a, v, off } => mem_op!(mem.store_n::<1>(r!(a).wrapping_add(off as i64 as u64), r!(v))),
            Op::Store16 { a, v, off } => mem_op!(mem.store_n::<2>(r!(a).wrapping_add(off as i64 as u64), r!(v))),
            Op::Store32 { a, v, off } => mem_op!(mem.store_n::<4>(r!(a).wrapping_add(off as i64 as u64), r!(v))),
            Op::Store64 { a, v, off } => mem_op!(mem.store_n::<8>(r!(a).wrapping_add(off as i64 as u64), r!(v))),
            Op::Store64F { a, v, off } => mem_op!(mem.store_n_tagged::<8, false>(r!(a).wrapping_add(off as i64 as u64), r!(v))),
            Op::Load8X { d, a, b } => r!(d) = mem_op!(mem.load_n::<1>(r!(a).wrapping_add(r!(b)))),
            Op::Load16X { d, a, b } => r!(d) = mem_op!(mem.load_n::<2>(r!(a).wrapping_add(r!(b)))),
            Op::Load32X { d, a, b } => r!(d) = mem_op!(mem.load_n::<4>(r!(a).wrapping_add(r!(b)))),
            Op::Load64X { d, a, b } => r!(d) = mem_op!(mem.load_n::<8>(r!(a).wrapping_add(r!(b)))),
            Op::Store8X { a, b, v } => mem_op!(mem.store_n::<1>(r!(a).wrapping_add(r!(b)), r!(v))),
            Op::Store16X { a, b, v } => mem_op!(mem.store_n::<2>(r!(a).wrapping_add(r!(b)), r!(v))),
            Op::Store32X { a, b, v } => mem_op!(mem.store_n::<4>(r!(a).wrapping_add(r!(b)), r!(v))),
            Op::Store64X { a, b, v } => mem_op!(mem.store_n::<8>(r!(a).wrapping_add(r!(b)), r!(v))),
            Op::Store64FX { a, b, v } => mem_op!(mem.store_n_tagged::<8, false>(r!(a).wrapping_add(r!(b)), r!(v))),
            Op::Load { w, d, a, off } => r!(d) = mem_op!(mem.load(r!(a).wrapping_add(off as i64 as u64), w.bytes())),
            Op::Store { w, a, v, off } => mem_op!(mem.store(r!(a).wrapping_add(off as i64 as u64), w.bytes(), r!(v))),
            Op::AtomicRmw { op, w, d, a, v } => r!(d) = mem_op!(atomic_rmw(mem, op, w, r!(a), r!(v))),
            Op::AtomicCas { w, d, a, list } => r!(d) = mem_op!(atomic_cas(mem, w, r!(a), r!(x!(list as usize)), r!(x!(list as usize + 1)))),
            Op::StackAddr { d, slot } => {
                let i = slot_base + slot as usize;
                let id = match slots.get(i) {
                    Some(&id) if id != 0 => id,
                    _ => {
                        let k = funcs.get(func as usize).map(|f| f.slot_start as usize + slot as usize);
                        let size = k.and_then(|k| st.slot_sizes.get(k)).copied().unwrap_or(0);
                        match mem.alloc(size as u64, AllocKind::Stack) {
                            Ok(p) => {
                                let id = (p >> 32) as u32;
                                if let Some(s) = slots.get_mut(i) {
                                    *s = id;
                                }
                                id
                            }
                            Err(e) => leave!(Err(e)),
                        }
                    }
                };
                r!(d) = (id as u64) << 32;
            }
            Op::DataAddr { d, data } => match mem.data_ptr(m, sx_ir::DataId(data)) {
                Ok(p) => r!(d) = p,
                Err(e) => leave!(Err(e)),
            },
            Op::MemCopy { d, s, n } => mem_op!(mem.copy(r!(d), r!(s), r!(n))),
            Op::MemFill { d, b, n } => mem_op!(mem.fill(r!(d), r!(b) as u8, r!(n))),
            Op::Jmp { t } => jump!(t),
            Op::BrIf { c, t } => br!(r!(c) != 0, t),
            Op::BrIfNot { c, t } => br!(r!(c) == 0, t),
            Op::BrCmp { cc, w, a, b, t } => br!(icmp(cc, w, r!(a), r!(b)), t),
            Op::BrCmpImm { cc, w, a, imm, t } => br!(icmp(cc, w, r!(a), imm_val(w, imm)), t),
            Op::BrEq { a, b, t } => br!(r!(a) == r!(b), t),
            Op::BrNe { a, b, t } => br!(r!(a) != r!(b), t),
            Op::BrSlt { a, b, t } => br!((r!(a) as i64) < r!(b) as i64, t),
            Op::BrSle { a, b, t } => br!(r!(a) as i64 <= r!(b) as i64, t),
            Op::BrSgt { a, b, t } => br!(r!(a) as i64 > r!(b) as i64, t),
            Op::BrSge { a, b, t } => br!(r!(a) as i64 >= r!(b) as i64, t),
            Op::BrUlt { a, b, t } => br!(r!(a) < r!(b), t),
            Op::BrUge { a, b, t } => br!(r!(a) >= r!(b), t),
            Op::BrEqI { a, imm, t } => br!(r!(a) == imm as i64 as u64, t),
            Op::BrNeI { a, imm, t } => br!(r!(a) != imm as i64 as u64, t),
            Op::BrSltI { a, imm, t } => br!((r!(a) as i64) < imm as i64, t),
            Op::BrSleI { a, imm, t } => br!(r!(a) as i64 <= imm as i64, t),
            Op::BrSgtI { a, imm, t } => br!(r!(a) as i64 > imm as i64, t),
            Op::BrSgeI { a, imm, t } => br!(r!(a) as i64 >= imm as i64, t),
            Op::BrUltI { a, imm, t } => br!(r!(a) < imm as i64 as u64, t),
            Op::BrUgeI { a, imm, t } => br!(r!(a) >= imm as i64 as u64, t),
            Op::BrMaskZ { a, mask, t } => br!(r!(a) & mask as u64 == 0, t),
            Op::BrMaskNZ { a, mask, t } => br!(r!(a) & mask as u64 != 0, t),
            Op::Call { func: callee, list } => {
                let meta = match funcs.get(callee as usize) {
                    Some(mt) if mt.start != u32::MAX => *mt,
                    _ => leave!(Ok(Action::Translate(callee))),
                };
                call!(callee, meta, list)
            }
            Op::CallIndirect { callee, list, sig } => {
                let p = r!(callee);
                let idx = p as u32;
                let ok = (p >> 32) as u32 == FUNC_ALLOC && m.funcs.get(FuncId(idx)).is_some();
                if !ok {
                    leave!(Err(bad_callee(mem, p)))
                }
                let want = &st.sigs[sig as usize];
                if m.funcs[FuncId(idx)].sig != *want {
                    leave!(Err(sig_msg(m, idx, want)))
                }
                let meta = match funcs.get(idx as usize) {
                    Some(mt) if mt.start != u32::MAX => *mt,
                    _ => leave!(Ok(Action::Translate(idx))),
                };
                call!(idx, meta, list)
            }
            Op::CallNative { native, ext, list } => {
                if native == Native::ComptimeFrames {
                    leave!(Ok(Action::PrintFrames))
                }
                let e = match m.externs.get(sx_ir::ExternId(ext)) {
                    Some(e) => e,
                    None => leave!(Err(unsupported(m, ext))),
                };
                let site = if native.allocates() { source_site(st, pc, frames) } else { 0 };
                // SAFETY: the frame `[fp, all_len)` lies inside the register vector.
                let regs = unsafe { std::slice::from_raw_parts_mut(rp, all_len - fp) };
                match natives::call(native, e, mem, host.as_mut(), regs, extra, list, site, &foreign.sandbox) {
                    Ok(None) => {}
                    Ok(Some(code)) => leave!(Ok(Action::Exit(code))),
                    Err(e) => leave!(Err(e)),
                }
            }
            Op::CallForeign { ext, list } => {
                let e = match m.externs.get(sx_ir::ExternId(ext)) {
                    Some(e) => e,
                    None => leave!(Err(unsupported(m, ext))),
                };
                // SAFETY: the frame `[fp, all_len)` lies inside the register vector.
                let regs = unsafe { std::slice::from_raw_parts_mut(rp, all_len - fp) };
                if !limits.foreign_calls {
                    leave!(Err(format!("not supported yet at comptime: extern function `{}` (foreign calls are disabled)", e.symbol)))
                }
                if let Err(stop) = crate::ffi::call(foreign, ext, e, mem, regs, extra, list) {
                    leave!(foreign_stop(stop, ext, list))
                }
            }
            Op::CallCompiler { ext, list } => leave!(Ok(Action::Compiler(ext, list))),
            Op::Ret0 {} => ret!(0, |_| 0usize, Action::Ret0),
            Op::Ret1 { r } => ret!(1, |_| r as usize, Action::Ret1(r!(r))),
            Op::Ret { list } => {
                let l = list as usize;
                ret!(x!(l) as usize, |k: usize| x!(l + 1 + k) as usize, Action::RetN(list))
            }
            Op::Trap { code } => leave!(Err(trap_msg(code))),
        }
    }
}

#[cold]
#[inline(never)]
fn depth_msg(max: usize) -> String {
    format!("comptime evaluation exceeded the call depth limit ({} frames); is there unbounded recursion?", max)
}

#[cold]
#[inline(never)]
fn arity_msg(st: &CodeStore, func: u32, want: u32, got: usize) -> String {
    let name = st.names.get(func as usize).cloned().unwrap_or_default();
    format!("`{}` takes {} arguments but was called with {}", name, want, got)
}

#[cold]
#[inline(never)]
fn ret_count_msg(st: &CodeStore, func: u32, got: usize, want: usize) -> String {
    let name = st.names.get(func as usize).cloned().unwrap_or_default();
    format!("`{}` returned {} values but its caller expects {}", name, got, want)
}

#[cold]
#[inline(never)]
fn sig_msg(m: &Module, idx: u32, want: &sx_ir::Signature) -> String {
    let f = &m.funcs[FuncId(idx)];
    format!(
        "indirect call of `{}` through a pointer of a different signature ({:?} -> {:?} vs {:?} -> {:?})",
        f.name, f.sig.params, f.sig.returns, want.params, want.returns
    )
}
