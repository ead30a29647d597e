//! The executor: the hot interpreter loop over translated bytecode plus the frame machinery.
//!
//! Registers of all active frames live in one `Vec<u64>` (a frame is the window
//! `[fp, fp + num_regs)`); calls between module functions push the caller onto an explicit
//! frame stack — the host stack never grows with sx recursion. The inner loop ([`interp`]) runs
//! one frame until it calls, returns, exits or faults; the driver ([`drive`]) does the rest.
//! Slow paths (errors, natives, translation) are out of line.

use std::rc::Rc;

use sx_ir::{ConvOp, FloatCC, FuncId, IntCC, Module, TrapCode, Type};

use crate::memory::{AllocKind, FUNC_ALLOC};
use crate::translate::{translate, Compiled, FOp, IOp, Op, W};
use crate::{natives, Frame, Outcome, Vm, VmError};

/// An active frame.
struct Cur {
    code: Rc<Compiled>,
    pc: usize,
    fp: usize,
    slot_base: usize,
    /// Index in the caller's `extra` of `[nresults, results..]`.
    ret_at: u32,
}

enum Action {
    Call { func: u32, list: u32 },
    CallIndirect { callee: u64, list: u32, sig: u32 },
    Ret0,
    Ret1(u64),
    RetN(u32),
    Exit(i32),
}

/// Frames kept in an error's stack trace (innermost first).
const MAX_TRACE: usize = 64;

pub(crate) fn run(vm: &mut Vm, m: &Module, func: FuncId, args: &[u64]) -> Result<Outcome, VmError> {
    vm.steps = vm.limits.max_steps;
    let name = m.funcs.get(func).map(|f| f.name.clone()).unwrap_or_else(|| func.to_string());
    let with_name = |msg: String| VmError {
        message: msg,
        span: m.funcs.get(func).and_then(|f| f.span),
        stack: vec![Frame { func: name.clone(), call_site: None }],
    };
    let code = code_for(vm, m, func.0).map_err(with_name)?;
    if args.len() != code.num_params as usize {
        return Err(with_name(format!(
            "`{}` takes {} arguments but was called with {}",
            code.name,
            code.num_params,
            args.len()
        )));
    }
    let f = &m.funcs[func];
    vm.regs.clear();
    vm.slots.clear();
    vm.regs.resize(code.num_regs as usize, 0);
    for (i, &a) in args.iter().enumerate() {
        let ty = f.sig.params.get(i).copied().unwrap_or(Type::I64);
        vm.regs[i] = W::of(ty).mask(a);
    }
    vm.slots.resize(code.slots.len(), 0);
    let mut frames = Vec::new();
    let mut cur = Cur { code, pc: 0, fp: 0, slot_base: 0, ret_at: 0 };
    let result = drive(vm, m, &mut cur, &mut frames);
    // Unwind: free every stack slot still allocated.
    for id in std::mem::take(&mut vm.slots) {
        if id != 0 {
            vm.mem.free_id(id);
        }
    }
    vm.regs.clear();
    result
}

/// The translated code of `func`, translating it on first use.
fn code_for(vm: &mut Vm, m: &Module, func: u32) -> Result<Rc<Compiled>, String> {
    if let Some(Some(c)) = vm.code.get(func as usize) {
        return Ok(c.clone());
    }
    translate_slow(vm, m, func)
}

#[cold]
#[inline(never)]
fn translate_slow(vm: &mut Vm, m: &Module, func: u32) -> Result<Rc<Compiled>, String> {
    let f = m.funcs.get(FuncId(func)).ok_or_else(|| format!("call of a missing function fn{}", func))?;
    if !f.is_defined() {
        return Err(format!("call of function `{}`, which has no body", f.name));
    }
    let mut c = translate(m, f)?;
    // A sentinel so a fall-through past the end can never index out of range.
    c.ops.push(Op::Trap { code: TrapCode::Unreachable });
    c.spans.push(f.span);
    let c = Rc::new(c);
    if vm.code.len() <= func as usize {
        vm.code.resize(func as usize + 1, None);
    }
    vm.code[func as usize] = Some(c.clone());
    Ok(c)
}

fn drive(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Cur>) -> Result<Outcome, VmError> {
    loop {
        let code = cur.code.clone();
        let r = interp(vm, m, &code, cur.fp, cur.slot_base, &mut cur.pc);
        let r = match r {
            Ok(Action::Call { func, list }) => push_call(vm, m, cur, frames, func, list),
            Ok(Action::CallIndirect { callee, list, sig }) => {
                let sig = &code.sigs[sig as usize];
                let id = (callee >> 32) as u32;
                let idx = callee as u32;
                match m.funcs.get(FuncId(idx)) {
                    Some(f) if id == FUNC_ALLOC => {
                        if f.sig != *sig {
                            Err(format!(
                                "indirect call of `{}` through a pointer of a different signature ({:?} -> {:?} vs {:?} -> {:?})",
                                f.name, f.sig.params, f.sig.returns, sig.params, sig.returns
                            ))
                        } else {
                            push_call(vm, m, cur, frames, idx, list)
                        }
                    }
                    _ => Err(bad_callee(vm, callee)),
                }
            }
            Ok(Action::Exit(c)) => return Ok(Outcome::Exited(c)),
            Ok(ret) => {
                // Gather the returned values (at most a few; one is the common case).
                let mut one = [0u64; 1];
                let mut many = Vec::new();
                let vals: &[u64] = match ret {
                    Action::Ret0 => &[],
                    Action::Ret1(v) => {
                        one[0] = v;
                        &one
                    }
                    Action::RetN(list) => {
                        let l = &code.extra[list as usize..];
                        let n = l[0] as usize;
                        many.extend(l[1..1 + n].iter().map(|&r| vm.regs[cur.fp + r as usize]));
                        &many
                    }
                    _ => &[],
                };
                match frames.last() {
                    None => {
                        return Ok(Outcome::Returned(vals.to_vec()));
                    }
                    Some(caller) => {
                        let l = &caller.code.extra[cur.ret_at as usize..];
                        let nres = l[0] as usize;
                        if nres != vals.len() {
                            Err(format!(
                                "`{}` returned {} values but its caller expects {}",
                                code.name,
                                vals.len(),
                                nres
                            ))
                        } else {
                            for (k, &v) in vals.iter().enumerate() {
                                vm.regs[caller.fp + l[1 + k] as usize] = v;
                            }
                            for id in vm.slots.drain(cur.slot_base..) {
                                if id != 0 {
                                    vm.mem.free_id(id);
                                }
                            }
                            *cur = frames.pop().expect("caller frame");
                            Ok(())
                        }
                    }
                }
            }
            Err(e) => Err(e),
        };
        if let Err(msg) = r {
            return Err(make_error(cur, frames, msg));
        }
    }
}

#[cold]
#[inline(never)]
fn bad_callee(vm: &Vm, callee: u64) -> String {
    match vm.mem.decode(callee) {
        crate::PointerTarget::Null => "indirect call through a null function pointer".to_string(),
        crate::PointerTarget::Func(f) => format!("indirect call of a missing function fn{}", f.0),
        _ => format!("indirect call through {:#x}, which is not a function pointer", callee),
    }
}

fn push_call(vm: &mut Vm, m: &Module, cur: &mut Cur, frames: &mut Vec<Cur>, func: u32, list: u32) -> Result<(), String> {
    if vm.steps == 0 {
        return Err(step_budget(vm));
    }
    vm.steps -= 1;
    if frames.len() + 1 >= vm.limits.max_call_depth {
        return Err(format!(
            "comptime evaluation exceeded the call depth limit ({} frames); is there unbounded recursion?",
            vm.limits.max_call_depth
        ));
    }
    let callee = code_for(vm, m, func)?;
    let l = &cur.code.extra[list as usize..];
    let nargs = l[0] as usize;
    if nargs != callee.num_params as usize {
        return Err(format!("`{}` takes {} arguments but was called with {}", callee.name, callee.num_params, nargs));
    }
    let new_fp = cur.fp + cur.code.num_regs as usize;
    let need = new_fp + callee.num_regs as usize;
    if need as u64 * 8 > vm.limits.max_stack_bytes {
        return Err(format!(
            "comptime evaluation exceeded the stack limit ({} bytes of registers); is there unbounded recursion?",
            vm.limits.max_stack_bytes
        ));
    }
    if vm.regs.len() < need {
        vm.regs.resize(need, 0);
    }
    for i in 0..nargs {
        vm.regs[new_fp + i] = vm.regs[cur.fp + l[1 + i] as usize];
    }
    let slot_base = vm.slots.len();
    vm.slots.resize(slot_base + callee.slots.len(), 0);
    let ret_at = list + 1 + nargs as u32;
    let caller = std::mem::replace(cur, Cur { code: callee, pc: 0, fp: new_fp, slot_base, ret_at });
    frames.push(caller);
    Ok(())
}

#[cold]
#[inline(never)]
fn make_error(cur: &Cur, frames: &[Cur], message: String) -> VmError {
    let span_at = |c: &Cur| c.code.spans.get(c.pc.wrapping_sub(1)).copied().flatten();
    let span = span_at(cur);
    let mut stack = Vec::new();
    let mut callee_name = cur.code.name.clone();
    for caller in frames.iter().rev() {
        if stack.len() >= MAX_TRACE {
            break;
        }
        stack.push(Frame { func: callee_name, call_site: span_at(caller) });
        callee_name = caller.code.name.clone();
    }
    if stack.len() < MAX_TRACE {
        stack.push(Frame { func: callee_name, call_site: None });
    } else if let Some(root) = frames.first() {
        stack.push(Frame { func: root.code.name.clone(), call_site: None });
    }
    VmError { message, span, stack }
}

#[cold]
#[inline(never)]
fn step_budget(vm: &Vm) -> String {
    step_msg(vm.limits.max_steps)
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

/// Runs the frame at `fp` from `*pcr` until it calls, returns, exits or faults.
fn interp(vm: &mut Vm, m: &Module, code: &Compiled, fp: usize, slot_base: usize, pcr: &mut usize) -> Result<Action, String> {
    let Vm { regs, mem, slots, host, steps, limits, .. } = vm;
    let n = code.num_regs as usize;
    let regs = &mut regs[fp..fp + n];
    let ops = &code.ops[..];
    let extra = &code.extra[..];
    let mut pc = *pcr;
    let mut budget = *steps;

    macro_rules! r {
        ($x:expr) => {
            regs[$x as usize]
        };
    }
    macro_rules! leave {
        ($v:expr) => {{
            *pcr = pc;
            *steps = budget;
            return $v;
        }};
    }
    macro_rules! jump {
        ($t:expr) => {{
            if budget == 0 {
                *steps = 0;
                *pcr = pc;
                return Err(step_msg(limits.max_steps));
            }
            budget -= 1;
            pc = $t as usize;
        }};
    }

    loop {
        let op = ops[pc];
        pc += 1;
        match op {
            Op::Const { d, v } => r!(d) = v,
            Op::Mov { d, s } => r!(d) = r!(s),
            Op::Add64 { d, a, b } => r!(d) = r!(a).wrapping_add(r!(b)),
            Op::Sub64 { d, a, b } => r!(d) = r!(a).wrapping_sub(r!(b)),
            Op::Mul64 { d, a, b } => r!(d) = r!(a).wrapping_mul(r!(b)),
            Op::AddImm64 { d, a, imm } => r!(d) = r!(a).wrapping_add(imm as i64 as u64),
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
            Op::F64Bin { op, d, a, b } => r!(d) = f64op(op, f64::from_bits(r!(a)), f64::from_bits(r!(b))).to_bits(),
            Op::F32Bin { op, d, a, b } => {
                r!(d) = f32op(op, f32::from_bits(r!(a) as u32), f32::from_bits(r!(b) as u32)).to_bits() as u64
            }
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
            Op::Conv { op, from, to, d, a } => r!(d) = conv(op, from, to, r!(a)),
            Op::Select { d, c, list } => {
                let l = list as usize;
                r!(d) = if r!(c) != 0 { r!(extra[l]) } else { r!(extra[l + 1]) }
            }
            Op::Load { w, d, a, off } => match mem.load(r!(a).wrapping_add(off as i64 as u64), w.bytes()) {
                Ok(v) => r!(d) = v,
                Err(e) => leave!(Err(fault_msg(e))),
            },
            Op::Store { w, a, v, off } => {
                if let Err(e) = mem.store(r!(a).wrapping_add(off as i64 as u64), w.bytes(), r!(v)) {
                    leave!(Err(fault_msg(e)))
                }
            }
            Op::StackAddr { d, slot } => {
                let i = slot_base + slot as usize;
                let id = match slots.get(i) {
                    Some(&id) if id != 0 => id,
                    _ => {
                        let size = code.slots.get(slot as usize).map(|s| s.0).unwrap_or(0);
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
            Op::MemCopy { d, s, n } => {
                if let Err(e) = mem.copy(r!(d), r!(s), r!(n)) {
                    leave!(Err(fault_msg(e)))
                }
            }
            Op::MemFill { d, b, n } => {
                if let Err(e) = mem.fill(r!(d), r!(b) as u8, r!(n)) {
                    leave!(Err(fault_msg(e)))
                }
            }
            Op::Jmp { t } => jump!(t),
            Op::BrIf { c, t } => {
                if r!(c) != 0 {
                    jump!(t)
                }
            }
            Op::BrIfNot { c, t } => {
                if r!(c) == 0 {
                    jump!(t)
                }
            }
            Op::BrCmp { cc, w, a, b, t } => {
                if icmp(cc, w, r!(a), r!(b)) {
                    jump!(t)
                }
            }
            Op::BrCmpImm { cc, w, a, imm, t } => {
                if icmp(cc, w, r!(a), imm_val(w, imm)) {
                    jump!(t)
                }
            }
            Op::Call { func, list } => leave!(Ok(Action::Call { func, list })),
            Op::CallIndirect { callee, list, sig } => leave!(Ok(Action::CallIndirect { callee: r!(callee), list, sig })),
            Op::CallNative { native, ext, list } => {
                let e = match m.externs.get(sx_ir::ExternId(ext)) {
                    Some(e) => e,
                    None => leave!(Err(unsupported(m, ext))),
                };
                match natives::call(native, e, mem, host.as_mut(), regs, extra, list) {
                    Ok(None) => {}
                    Ok(Some(code)) => leave!(Ok(Action::Exit(code))),
                    Err(e) => leave!(Err(e)),
                }
            }
            Op::CallUnsupported { ext } => leave!(Err(unsupported(m, ext))),
            Op::Ret0 => leave!(Ok(Action::Ret0)),
            Op::Ret1 { r } => leave!(Ok(Action::Ret1(r!(r)))),
            Op::Ret { list } => leave!(Ok(Action::RetN(list))),
            Op::Trap { code } => leave!(Err(trap_msg(code))),
        }
    }
}
