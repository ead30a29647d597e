//! Bytecode → Cranelift IR, one function at a time, op for op (see the module docs of
//! [`super`] for what native code keeps and when it leaves).
//!
//! A native function is `(ctx, regs, entry, slot_base, nres) -> status`. `regs` is the frame's
//! window in the VM's register vector: every VM register is a Cranelift variable, loaded from
//! the window on entry and written back to it when the function leaves. `entry` selects the
//! block to start at (`br_table` over the block starts, so the interpreter can hand over at a
//! loop header, a call or a return point). `nres` is the number of results the caller expects
//! (`u32::MAX`: no caller frame, so `Ret` leaves and the loop finishes the evaluation).

use std::collections::HashMap;
use std::ops::Range;

use cranelift_codegen::ir::condcodes::{FloatCC as CFloatCC, IntCC as CIntCC};
use cranelift_codegen::ir::types::{F32, F64, I32, I64, I8};
use cranelift_codegen::ir::{AbiParam, Block, FuncRef, InstBuilder, JumpTableData, MemFlagsData, SigRef, Signature, Value};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::{Linkage, Module as _};
use sx_ir::{ConvOp, FloatCC, IntCC, Type};

use super::helpers;
use super::{native_meta_of, JitCtx, MAX_NATIVE_RETURNS, STATUS_LEFT, STATUS_RETURNED};
use crate::bytecode::{FOp, IOp, Native, Op, Operand};
use crate::machine::{CodeStore, FuncMeta};
use crate::memory::{ALLOC_BYTES_LEN, ALLOC_BYTES_PTR, ALLOC_UNITS, ALLOC_WRITABLE, FUNC_ALLOC};
use crate::native_code::{NativeFn, NativeFunc, Tier};
use crate::width::W;

/// Functions larger than this (ops × registers: the size of their leave paths) stay
/// interpreted.
const MAX_WORK: usize = 400_000;

// Compiled code indexes the allocation table by `id << 6`.
const _: () = assert!(std::mem::size_of::<crate::memory::Alloc>() == 64);

/// Field offsets of [`JitCtx`] as `i32` (Cranelift offsets).
macro_rules! ctx_off {
    ($f:ident) => {
        std::mem::offset_of!(JitCtx, $f) as i32
    };
}

/// The direct callees (`Call` ops) among `ops`.
pub(super) fn direct_callees(ops: &[Op]) -> Vec<u32> {
    let mut v = Vec::new();
    for op in ops {
        if let Op::Call { func, .. } = op {
            if !v.contains(func) {
                v.push(*func);
            }
        }
    }
    v
}

/// A set of registers (one bit each).
type RegSet = Vec<u64>;

/// The registers `op` reads and writes (operand lists in `extra` included), as `(uses, defs)`.
fn uses_defs(op: &Op, extra: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (mut uses, mut defs) = (Vec::new(), Vec::new());
    let list = |at: u32, n: u32| -> Vec<u32> { extra.get(at as usize..(at + n) as usize).map_or(Vec::new(), |s| s.to_vec()) };
    op.operands(|_, o| match o {
        Operand::Dst(r) => defs.push(r),
        Operand::Src(r) => uses.push(r),
        Operand::Pair(l) => uses.extend(list(l, 2)),
        Operand::CallList(l) => {
            let nargs = extra.get(l as usize).copied().unwrap_or(0);
            uses.extend(list(l + 1, nargs));
            let nres = extra.get((l + 1 + nargs) as usize).copied().unwrap_or(0);
            defs.extend(list(l + 2 + nargs, nres));
        }
        Operand::RetList(l) => {
            let n = extra.get(l as usize).copied().unwrap_or(0);
            uses.extend(list(l + 1, n));
        }
        Operand::Target(_)
        | Operand::Imm(_)
        | Operand::Shift(_)
        | Operand::Bits(_)
        | Operand::Slot(_)
        | Operand::Data(_)
        | Operand::Func(_)
        | Operand::Ext(_)
        | Operand::Sig(_)
        | Operand::W(_)
        | Operand::IOp(_)
        | Operand::FOp(_)
        | Operand::IntCC(_)
        | Operand::FloatCC(_)
        | Operand::ConvOp(_)
        | Operand::Type(_)
        | Operand::Native(_)
        | Operand::TrapCode(_)
        | Operand::RmwOp(_)
        | Operand::Flag(_) => {}
    });
    (uses, defs)
}

/// Whether control can go from `op` to the next op.
fn falls_through(op: &Op) -> bool {
    !matches!(op, Op::Jmp { .. } | Op::MovJmp { .. } | Op::Ret0 {} | Op::Ret1 { .. } | Op::Ret { .. } | Op::Trap { .. })
}

/// The registers live on entry to each op of `ops` (which start at global pc `start`): those
/// the interpreter may read before writing them when it continues there. Leaving writes back
/// only these, entering loads only these.
fn live_in(ops: &[Op], start: usize, extra: &[u32], num_regs: u32) -> Vec<RegSet> {
    let words = (num_regs as usize).div_ceil(64).max(1);
    let ud: Vec<(Vec<u32>, Vec<u32>)> = ops.iter().map(|op| uses_defs(op, extra)).collect();
    let mut live: Vec<RegSet> = vec![vec![0; words]; ops.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..ops.len()).rev() {
            let mut out = vec![0u64; words];
            let succ = |j: usize, out: &mut RegSet, live: &Vec<RegSet>| {
                if let Some(l) = live.get(j) {
                    for (o, x) in out.iter_mut().zip(l) {
                        *o |= x;
                    }
                }
            };
            if falls_through(&ops[i]) {
                succ(i + 1, &mut out, &live);
            }
            if let Some(t) = ops[i].target() {
                succ((t as usize).wrapping_sub(start), &mut out, &live);
            }
            for &d in &ud[i].1 {
                out[d as usize / 64] &= !(1 << (d % 64));
            }
            for &u in &ud[i].0 {
                out[u as usize / 64] |= 1 << (u % 64);
            }
            if out != live[i] {
                live[i] = out;
                changed = true;
            }
        }
    }
    live
}

/// The registers in `set`.
fn members(set: &RegSet) -> Vec<u32> {
    let mut v = Vec::new();
    for (w, &bits) in set.iter().enumerate() {
        let mut b = bits;
        while b != 0 {
            let k = b.trailing_zeros();
            b &= b - 1;
            v.push(w as u32 * 64 + k);
        }
    }
    v
}

/// One function to compile: its id, real metadata and op range in the code store.
pub(super) struct Job {
    pub(super) func: u32,
    pub(super) meta: FuncMeta,
    pub(super) range: Range<usize>,
}

/// Compiles `jobs` into the tier's code memory; returns the functions that compiled (a
/// function Cranelift rejects or that is too large is left out).
pub(super) fn compile_functions(
    tier: &mut Tier,
    code: &CodeStore,
    jobs: &[Job],
    meta_of: &dyn Fn(u32) -> Option<FuncMeta>,
    reads_site: &dyn Fn(u32) -> bool,
) -> Result<Vec<(u32, Box<NativeFunc>)>, String> {
    let serial = tier.compiled;
    let tier_ids = tier.ids.clone();
    let module = tier.jit_module()?;
    let call_conv = module.isa().default_call_conv();
    let mut fctx = FunctionBuilderContext::new();
    let mut defined = Vec::new();
    for (k, job) in jobs.iter().enumerate() {
        if job.range.len() * (job.meta.num_regs as usize + 1) > MAX_WORK {
            continue;
        }
        let name = format!("sx_comptime_{}_{}_{}", job.func, serial, k);
        let sig = native_signature(call_conv);
        let id = module.declare_function(&name, Linkage::Local, &sig).map_err(|e| e.to_string())?;
        let mut cctx = module.make_context();
        cctx.func.signature = sig;
        // Direct calls only to code that is sure to exist: itself and earlier batches.
        let mut direct = HashMap::new();
        direct.insert(job.func, module.declare_func_in_func(id, &mut cctx.func));
        for c in direct_callees(&code.ops[job.range.clone()]) {
            if let Some(&cid) = tier_ids.get(&c) {
                direct.insert(c, module.declare_func_in_func(cid, &mut cctx.func));
            }
        }
        let frontend = module.isa().frontend_config();
        let entries = {
            let b = FunctionBuilder::new(&mut cctx.func, &mut fctx);
            let mut g = Gen::new(b, code, job, call_conv, meta_of, direct, reads_site);
            let entries = g.function();
            g.b.seal_all_blocks();
            g.b.finalize(frontend);
            entries
        };
        let Some(entries) = entries else { continue };
        if std::env::var_os("SX_JIT_CLIF").is_some() {
            eprintln!("{}", cctx.func.display());
        }
        if let Err(e) = module.define_function(id, &mut cctx) {
            if super::trace_enabled() {
                eprintln!("comptime-jit: fn{} not compiled: {:?}", job.func, e);
            }
            continue;
        }
        if super::trace_enabled() {
            eprintln!(
                "comptime-jit: compiled fn{} `{}` ({} ops, {} entries)",
                job.func,
                code.names.get(job.func as usize).map_or("", |n| n.as_str()),
                job.range.len(),
                entries.len()
            );
        }
        defined.push((job, id, entries));
    }
    module.finalize_definitions().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (job, id, entries) in defined {
        let p = module.get_finalized_function(id);
        // SAFETY: `p` is the finalized code of a function with signature
        // `native_signature`, which is `NativeFn`'s in the platform's C convention.
        let entry: NativeFn = unsafe { std::mem::transmute::<*const u8, NativeFn>(p) };
        out.push((job.func, Box::new(NativeFunc { entry, meta: native_meta_of(job.meta), entries, id })));
    }
    Ok(out)
}

/// `(ctx, regs, entry, slot_base, nres) -> status`.
fn native_signature(call_conv: CallConv) -> Signature {
    let mut s = Signature::new(call_conv);
    for t in [I64, I64, I32, I64, I32] {
        s.params.push(AbiParam::new(t));
    }
    s.returns.push(AbiParam::new(I32));
    s
}

/// Helper signatures: `n` i64 parameters, an i64 result or none.
fn helper_signature(call_conv: CallConv, n: usize, ret: bool) -> Signature {
    let mut s = Signature::new(call_conv);
    s.params.extend(std::iter::repeat_n(AbiParam::new(I64), n));
    if ret {
        s.returns.push(AbiParam::new(I64));
    }
    s
}

/// Memory flags of every access native code makes (checked before, never trapping).
fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// The code generator of one function.
struct Gen<'a, 'b> {
    b: FunctionBuilder<'b>,
    code: &'a CodeStore,
    job: &'a Job,
    meta_of: &'a dyn Fn(u32) -> Option<FuncMeta>,
    /// Whether a callee may read `JitCtx::site` (see `jit::reads_site`).
    reads_site: &'a dyn Fn(u32) -> bool,
    regs_var: Vec<Variable>,
    budget: Variable,
    tbl: Variable,
    tbl_len: Variable,
    slot_vars: Vec<Variable>,
    data_vars: HashMap<u32, Variable>,
    ctx: Value,
    regs: Value,
    slot_base: Value,
    nres: Value,
    /// The block starting at each block-start pc.
    blocks: HashMap<usize, Block>,
    /// Registers live on entry to each op (index `pc - start`).
    live: Vec<RegSet>,
    sig_native: SigRef,
    /// Direct references to the function itself and to callees compiled in earlier batches.
    direct: HashMap<u32, FuncRef>,
    sig_h: [SigRef; 8],
    sig_hv: [SigRef; 8],
    entry: Value,
}

impl<'a, 'b> Gen<'a, 'b> {
    fn new(
        mut b: FunctionBuilder<'b>,
        code: &'a CodeStore,
        job: &'a Job,
        call_conv: CallConv,
        meta_of: &'a dyn Fn(u32) -> Option<FuncMeta>,
        direct: HashMap<u32, FuncRef>,
        reads_site: &'a dyn Fn(u32) -> bool,
    ) -> Self {
        let regs_var = (0..job.meta.num_regs).map(|_| b.declare_var(I64)).collect();
        let budget = b.declare_var(I64);
        let tbl = b.declare_var(I64);
        let tbl_len = b.declare_var(I64);
        let slot_vars = (0..job.meta.num_slots).map(|_| b.declare_var(I64)).collect();
        let sig_native = b.import_signature(native_signature(call_conv));
        let sig_h = std::array::from_fn(|n| b.import_signature(helper_signature(call_conv, n, true)));
        let sig_hv = std::array::from_fn(|n| b.import_signature(helper_signature(call_conv, n, false)));
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        Gen {
            b,
            code,
            job,
            meta_of,
            reads_site,
            regs_var,
            budget,
            tbl,
            tbl_len,
            slot_vars,
            data_vars: HashMap::new(),
            ctx: p[0],
            regs: p[1],
            slot_base: p[3],
            nres: p[4],
            entry: p[2],
            blocks: HashMap::new(),
            live: Vec::new(),
            direct,
            sig_native,
            sig_h,
            sig_hv,
        }
    }

    /// Emits the whole function; returns its entry pcs, `None` when it cannot be compiled.
    fn function(&mut self) -> Option<Vec<u32>> {
        let Range { start, end } = self.job.range.clone();
        let ops = &self.code.ops[start..end];
        self.live = live_in(ops, start, &self.code.extra, self.job.meta.num_regs);
        let mut leaders = vec![start];
        for (i, op) in ops.iter().enumerate() {
            let pc = start + i;
            if let Some(t) = op.target() {
                if !(start..end).contains(&(t as usize)) {
                    return None;
                }
                leaders.push(t as usize);
                leaders.push(pc + 1);
            }
            if matches!(op, Op::Ret0 {} | Op::Ret1 { .. } | Op::Ret { .. } | Op::Trap { .. }) {
                leaders.push(pc + 1);
            }
            if matches!(op, Op::Call { .. } | Op::CallIndirect { .. }) {
                leaders.push(pc);
                leaders.push(pc + 1);
            }
        }
        leaders.retain(|&p| p < end);
        leaders.sort_unstable();
        leaders.dedup();
        for &l in &leaders {
            let blk = self.b.create_block();
            self.blocks.insert(l, blk);
        }
        self.prologue(&leaders);
        let mut open = false;
        for (i, op) in ops.iter().enumerate() {
            let pc = start + i;
            if let Some(&blk) = self.blocks.get(&pc) {
                if open {
                    self.b.ins().jump(blk, &[]);
                }
                self.b.switch_to_block(blk);
            } else if !open {
                // After an op that always leaves: code no path reaches.
                let blk = self.b.create_block();
                self.b.switch_to_block(blk);
            }
            open = self.op(*op, pc);
        }
        if open {
            self.leave(end - 1);
        }
        Some(leaders.iter().map(|&p| p as u32).collect())
    }

    /// Loads the budget and the allocation table, then dispatches on the entry index to a block
    /// that loads the registers live there and jumps to the entry's block.
    fn prologue(&mut self, leaders: &[usize]) {
        let b = self.ctx_load(ctx_off!(budget));
        self.b.def_var(self.budget, b);
        self.refresh_table();
        let zero = self.b.ins().iconst(I64, 0);
        for k in 0..self.slot_vars.len() {
            self.b.def_var(self.slot_vars[k], zero);
        }
        let dispatch = self.b.current_block().expect("in the entry block");
        let mut loaders = Vec::new();
        for &l in leaders {
            let blk = self.b.create_block();
            self.b.switch_to_block(blk);
            let live = members(&self.live[l - self.job.range.start]);
            for r in live {
                let v = self.b.ins().load(I64, flags(), self.regs, (r * 8) as i32);
                self.b.def_var(self.regs_var[r as usize], v);
            }
            self.b.ins().jump(self.blocks[&l], &[]);
            loaders.push(blk);
        }
        self.b.switch_to_block(dispatch);
        // Native calls enter at the start: test for it before the table.
        let table = self.b.create_block();
        self.b.ins().brif(self.entry, table, &[], loaders[0], &[]);
        self.b.switch_to_block(table);
        let calls: Vec<_> = loaders.iter().map(|&blk| self.b.func.dfg.block_call(blk, &[])).collect();
        // Every branch edge needs its own `BlockCall` (the SSA builder appends arguments to it).
        let default = self.b.func.dfg.block_call(loaders[0], &[]);
        let jt = self.b.create_jump_table(JumpTableData::new(default, &calls));
        self.b.ins().br_table(self.entry, jt);
    }

    fn ctx_load(&mut self, off: i32) -> Value {
        self.b.ins().load(I64, flags(), self.ctx, off)
    }

    fn ctx_store(&mut self, v: Value, off: i32) {
        self.b.ins().store(flags(), v, self.ctx, off);
    }

    /// Re-reads the allocation table's address and length (after anything that may allocate).
    fn refresh_table(&mut self) {
        let t = self.ctx_load(ctx_off!(allocs));
        let n = self.ctx_load(ctx_off!(allocs_len));
        self.b.def_var(self.tbl, t);
        self.b.def_var(self.tbl_len, n);
    }

    fn r(&mut self, reg: u32) -> Value {
        self.b.use_var(self.regs_var[reg as usize])
    }

    fn set(&mut self, reg: u32, v: Value) {
        self.b.def_var(self.regs_var[reg as usize], v);
    }

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(I64, v)
    }

    /// Calls helper `f` (address) with `args` after `ctx`; its i64 result when `ret`.
    fn helper(&mut self, f: usize, args: &[Value], ret: bool) -> Option<Value> {
        let mut all = vec![self.ctx];
        all.extend_from_slice(args);
        let sig = if ret { self.sig_h[all.len()] } else { self.sig_hv[all.len()] };
        let addr = self.iconst(f as i64);
        let call = self.b.ins().call_indirect(sig, addr, &all);
        self.b.inst_results(call).first().copied()
    }

    /// Writes every register and the budget back, records where the interpreter continues
    /// (`pc`) and returns [`STATUS_LEFT`]. Ends the current block.
    fn leave(&mut self, pc: usize) {
        self.flush_regs(pc);
        let b = self.b.use_var(self.budget);
        self.ctx_store(b, ctx_off!(budget));
        let f = self.iconst(self.job.func as i64);
        self.ctx_store(f, ctx_off!(cur_func));
        let p = self.iconst(pc as i64);
        self.ctx_store(p, ctx_off!(cur_pc));
        self.ctx_store(self.regs, ctx_off!(cur_regs));
        self.ctx_store(self.slot_base, ctx_off!(cur_slot_base));
        let s = self.b.ins().iconst(I32, STATUS_LEFT as i64);
        self.b.ins().return_(&[s]);
    }

    /// Writes the registers live at `pc` back to the window.
    fn flush_regs(&mut self, pc: usize) {
        let live = match self.live.get(pc.wrapping_sub(self.job.range.start)) {
            Some(set) => members(set),
            None => Vec::new(),
        };
        for r in live {
            let v = self.r(r);
            self.b.ins().store(flags(), v, self.regs, (r * 8) as i32);
        }
    }

    /// Leaves at `pc` when `cond` (an i8 truth value) holds; continues in a new block.
    fn leave_if(&mut self, cond: Value, pc: usize) {
        let out = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(out);
        self.b.ins().brif(cond, out, &[], cont, &[]);
        self.b.switch_to_block(out);
        self.leave(pc);
        self.b.switch_to_block(cont);
    }

    /// One step (a taken branch or a call): leaves at `pc` when the chunk is used up.
    fn tick(&mut self, pc: usize) {
        let b = self.b.use_var(self.budget);
        let z = self.b.ins().icmp_imm_s(CIntCC::Equal, b, 0);
        self.leave_if(z, pc);
        let b = self.b.use_var(self.budget);
        let b1 = self.b.ins().iadd_imm_s(b, -1);
        self.b.def_var(self.budget, b1);
    }

    /// Jumps (a step) to `t`.
    fn goto(&mut self, t: u32, pc: usize) {
        self.tick(pc);
        let blk = self.blocks[&(t as usize)];
        self.b.ins().jump(blk, &[]);
    }

    /// Branches to `t` when `cond` (i8), else falls through to `pc + 1`.
    fn branch(&mut self, cond: Value, t: u32, pc: usize) {
        let taken = self.b.create_block();
        let next = self.blocks[&(pc + 1)];
        self.b.ins().brif(cond, taken, &[], next, &[]);
        self.b.switch_to_block(taken);
        self.goto(t, pc);
    }

    fn mask(&mut self, w: W, v: Value) -> Value {
        match w {
            W::B64 => v,
            W::B8 | W::B16 | W::B32 => self.b.ins().band_imm_s(v, w.mask(u64::MAX) as i64),
        }
    }

    fn sext(&mut self, w: W, v: Value) -> Value {
        let t = match w {
            W::B64 => return v,
            W::B8 => I8,
            W::B16 => cranelift_codegen::ir::types::I16,
            W::B32 => I32,
        };
        let n = self.b.ins().ireduce(t, v);
        self.b.ins().sextend(I64, n)
    }

    fn imm_val(&mut self, w: W, imm: i32) -> Value {
        self.iconst(w.mask(imm as i64 as u64) as i64)
    }

    /// The loop's `icmp`: equality and unsigned orders on the raw values, signed ones on the
    /// values sign-extended from `w`. An i8 truth value.
    fn icmp(&mut self, cc: IntCC, w: W, x: Value, y: Value) -> Value {
        let (c, signed) = match cc {
            IntCC::Eq => (CIntCC::Equal, false),
            IntCC::Ne => (CIntCC::NotEqual, false),
            IntCC::Ult => (CIntCC::UnsignedLessThan, false),
            IntCC::Ule => (CIntCC::UnsignedLessThanOrEqual, false),
            IntCC::Ugt => (CIntCC::UnsignedGreaterThan, false),
            IntCC::Uge => (CIntCC::UnsignedGreaterThanOrEqual, false),
            IntCC::Slt => (CIntCC::SignedLessThan, true),
            IntCC::Sle => (CIntCC::SignedLessThanOrEqual, true),
            IntCC::Sgt => (CIntCC::SignedGreaterThan, true),
            IntCC::Sge => (CIntCC::SignedGreaterThanOrEqual, true),
        };
        let (x, y) = if signed { (self.sext(w, x), self.sext(w, y)) } else { (x, y) };
        self.b.ins().icmp(c, x, y)
    }

    fn bool64(&mut self, c: Value) -> Value {
        self.b.ins().uextend(I64, c)
    }

    /// The loop's `ibin`; division checks leave at `pc` (the loop reports them).
    fn ibin(&mut self, op: IOp, w: W, x: Value, y: Value, pc: usize) -> Value {
        let bits = w.bits() as i64;
        match op {
            IOp::Add => {
                let v = self.b.ins().iadd(x, y);
                self.mask(w, v)
            }
            IOp::Sub => {
                let v = self.b.ins().isub(x, y);
                self.mask(w, v)
            }
            IOp::Mul => {
                let v = self.b.ins().imul(x, y);
                self.mask(w, v)
            }
            IOp::And => self.b.ins().band(x, y),
            IOp::Or => self.b.ins().bor(x, y),
            IOp::Xor => self.b.ins().bxor(x, y),
            IOp::Shl => {
                let a = self.b.ins().band_imm_s(y, bits - 1);
                let v = self.b.ins().ishl(x, a);
                self.mask(w, v)
            }
            IOp::Ushr => {
                let a = self.b.ins().band_imm_s(y, bits - 1);
                self.b.ins().ushr(x, a)
            }
            IOp::Sshr => {
                let a = self.b.ins().band_imm_s(y, bits - 1);
                let s = self.sext(w, x);
                let v = self.b.ins().sshr(s, a);
                self.mask(w, v)
            }
            IOp::Udiv | IOp::Urem => {
                let z = self.b.ins().icmp_imm_s(CIntCC::Equal, y, 0);
                self.leave_if(z, pc);
                if op == IOp::Udiv {
                    self.b.ins().udiv(x, y)
                } else {
                    self.b.ins().urem(x, y)
                }
            }
            IOp::Sdiv => {
                let (a, d) = (self.sext(w, x), self.sext(w, y));
                let z = self.b.ins().icmp_imm_s(CIntCC::Equal, d, 0);
                self.leave_if(z, pc);
                let m1 = self.b.ins().icmp_imm_s(CIntCC::Equal, d, -1);
                let mn = self.b.ins().icmp_imm_s(CIntCC::Equal, a, w.smin());
                let ov = self.b.ins().band(m1, mn);
                self.leave_if(ov, pc);
                let v = self.b.ins().sdiv(a, d);
                self.mask(w, v)
            }
            IOp::Srem => {
                let (a, d) = (self.sext(w, x), self.sext(w, y));
                let z = self.b.ins().icmp_imm_s(CIntCC::Equal, d, 0);
                self.leave_if(z, pc);
                // `wrapping_rem`: x % -1 is 0 (and must not reach the hardware for MIN).
                let m1 = self.b.ins().icmp_imm_s(CIntCC::Equal, d, -1);
                let one = self.iconst(1);
                let safe = self.b.ins().select(m1, one, d);
                let r = self.b.ins().srem(a, safe);
                let zero = self.iconst(0);
                let v = self.b.ins().select(m1, zero, r);
                self.mask(w, v)
            }
        }
    }

    fn to_f64(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(F64, MemFlagsData::new(), v)
    }

    fn from_f64(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(I64, MemFlagsData::new(), v)
    }

    fn to_f32(&mut self, v: Value) -> Value {
        let n = self.b.ins().ireduce(I32, v);
        self.b.ins().bitcast(F32, MemFlagsData::new(), n)
    }

    fn from_f32(&mut self, v: Value) -> Value {
        let n = self.b.ins().bitcast(I32, MemFlagsData::new(), v);
        self.b.ins().uextend(I64, n)
    }

    fn fop(&mut self, op: FOp, a: Value, b: Value) -> Value {
        match op {
            FOp::Add => self.b.ins().fadd(a, b),
            FOp::Sub => self.b.ins().fsub(a, b),
            FOp::Mul => self.b.ins().fmul(a, b),
            FOp::Div => self.b.ins().fdiv(a, b),
        }
    }

    fn f64bin(&mut self, op: FOp, a: Value, b: Value) -> Value {
        let (x, y) = (self.to_f64(a), self.to_f64(b));
        let v = self.fop(op, x, y);
        self.from_f64(v)
    }

    /// `StackAddr`: the frame's slot, allocated on first use (cached per activation).
    /// Returns whether the block stays open.
    fn stack_addr(&mut self, d: u32, slot: u32, pc: usize) -> bool {
        let Some(&var) = self.slot_vars.get(slot as usize) else {
            self.leave(pc);
            return false;
        };
        let f = self.iconst(self.job.func as i64);
        let s = self.iconst(slot as i64);
        self.cached_addr(var, d, helpers::stack_addr as *const () as usize, &[f, s, self.slot_base], pc);
        true
    }

    /// `DataAddr`: static data `data`, created on first use (cached per activation).
    fn data_addr(&mut self, d: u32, data: u32, pc: usize) {
        // Never defined before its first use: Cranelift's SSA builder reads such a variable as
        // 0 ("not known yet") on every path from the entry.
        let var = match self.data_vars.get(&data) {
            Some(&v) => v,
            None => {
                let v = self.b.declare_var(I64);
                self.data_vars.insert(data, v);
                v
            }
        };
        let dv = self.iconst(data as i64);
        self.cached_addr(var, d, helpers::data_addr as *const () as usize, &[dv], pc);
    }

    /// A compare-and-branch at width `w`; the block ends.
    fn branch_cmp(&mut self, cc: IntCC, w: W, x: Value, y: Value, t: u32, pc: usize) -> bool {
        let c = self.icmp(cc, w, x, y);
        self.branch(c, t, pc);
        false
    }

    /// `d = f(r(a))`.
    fn un(&mut self, d: u32, a: u32, f: impl FnOnce(&mut Self, Value) -> Value) {
        let x = self.r(a);
        let v = f(self, x);
        self.set(d, v);
    }

    /// `d = f(r(a), r(b))`.
    fn bi(&mut self, d: u32, a: u32, b: u32, f: impl FnOnce(&mut Self, Value, Value) -> Value) {
        let (x, y) = (self.r(a), self.r(b));
        let v = f(self, x, y);
        self.set(d, v);
    }

    /// The loop's `SdivPow2` (`rem`: `SremPow2`): truncating division by `1 << sh`.
    fn div_pow2(&mut self, x: Value, sh: u32, rem: bool) -> Value {
        let sign = self.b.ins().sshr_imm_s(x, 63);
        let bias = self.b.ins().ushr_imm_s(sign, (64 - sh as i64) & 63);
        let sum = self.b.ins().iadd(x, bias);
        let q = self.b.ins().sshr_imm_s(sum, sh as i64 & 63);
        if !rem {
            return q;
        }
        let qs = self.b.ins().ishl_imm_s(q, sh as i64 & 63);
        self.b.ins().isub(x, qs)
    }

    /// `d = a op b` on f64 registers.
    fn f64op(&mut self, op: FOp, d: u32, a: u32, b: u32) {
        let (x, y) = (self.r(a), self.r(b));
        let v = self.f64bin(op, x, y);
        self.set(d, v);
    }

    fn f32bin(&mut self, op: FOp, a: Value, b: Value) -> Value {
        let (x, y) = (self.to_f32(a), self.to_f32(b));
        let v = self.fop(op, x, y);
        self.from_f32(v)
    }

    fn fcmp(&mut self, cc: FloatCC, f32: bool, a: Value, b: Value) -> Value {
        let c = match cc {
            FloatCC::Eq => CFloatCC::Equal,
            FloatCC::Ne => CFloatCC::NotEqual,
            FloatCC::Lt => CFloatCC::LessThan,
            FloatCC::Le => CFloatCC::LessThanOrEqual,
            FloatCC::Gt => CFloatCC::GreaterThan,
            FloatCC::Ge => CFloatCC::GreaterThanOrEqual,
        };
        let (x, y) = if f32 { (self.to_f32(a), self.to_f32(b)) } else { (self.to_f64(a), self.to_f64(b)) };
        let t = self.b.ins().fcmp(c, x, y);
        self.bool64(t)
    }

    /// The loop's `fval`: the register as an f64 (an f32 widened).
    fn fval(&mut self, t: Type, x: Value) -> Value {
        match t {
            Type::F32 => {
                let f = self.to_f32(x);
                self.b.ins().fpromote(F64, f)
            }
            Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::F64 => self.to_f64(x),
        }
    }

    /// The loop's `conv`.
    fn conv(&mut self, op: ConvOp, from: Type, to: Type, x: Value) -> Value {
        let wt = W::of(to);
        match op {
            ConvOp::Sext => {
                let s = self.sext(W::of(from), x);
                self.mask(wt, s)
            }
            ConvOp::Uext | ConvOp::Trunc | ConvOp::Bitcast => self.mask(wt, x),
            ConvOp::FPromote => {
                let f = self.to_f32(x);
                let d = self.b.ins().fpromote(F64, f);
                self.from_f64(d)
            }
            ConvOp::FDemote => {
                let d = self.to_f64(x);
                let f = self.b.ins().fdemote(F32, d);
                self.from_f32(f)
            }
            ConvOp::FToS => {
                let f = self.fval(from, x);
                match to {
                    Type::I8 | Type::I16 => {
                        let (lo, hi) = if to == Type::I8 { (i8::MIN as i64, i8::MAX as i64) } else { (i16::MIN as i64, i16::MAX as i64) };
                        let v = self.b.ins().fcvt_to_sint_sat(I32, f);
                        let v = self.b.ins().sextend(I64, v);
                        let lo = self.iconst(lo);
                        let hi = self.iconst(hi);
                        let v = self.b.ins().smax(v, lo);
                        let v = self.b.ins().smin(v, hi);
                        self.mask(wt, v)
                    }
                    Type::I32 => {
                        let v = self.b.ins().fcvt_to_sint_sat(I32, f);
                        self.b.ins().uextend(I64, v)
                    }
                    Type::I64 | Type::F32 | Type::F64 => self.b.ins().fcvt_to_sint_sat(I64, f),
                }
            }
            ConvOp::FToU => {
                let f = self.fval(from, x);
                match to {
                    Type::I8 | Type::I16 => {
                        let hi = if to == Type::I8 { u8::MAX as i64 } else { u16::MAX as i64 };
                        let v = self.b.ins().fcvt_to_uint_sat(I32, f);
                        let v = self.b.ins().uextend(I64, v);
                        let hi = self.iconst(hi);
                        self.b.ins().umin(v, hi)
                    }
                    Type::I32 => {
                        let v = self.b.ins().fcvt_to_uint_sat(I32, f);
                        self.b.ins().uextend(I64, v)
                    }
                    Type::I64 | Type::F32 | Type::F64 => self.b.ins().fcvt_to_uint_sat(I64, f),
                }
            }
            ConvOp::SToF => {
                let i = self.sext(W::of(from), x);
                match to {
                    Type::F32 => {
                        let f = self.b.ins().fcvt_from_sint(F32, i);
                        self.from_f32(f)
                    }
                    Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::F64 => {
                        let f = self.b.ins().fcvt_from_sint(F64, i);
                        self.from_f64(f)
                    }
                }
            }
            ConvOp::UToF => match to {
                Type::F32 => {
                    let f = self.b.ins().fcvt_from_uint(F32, x);
                    self.from_f32(f)
                }
                Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::F64 => {
                    let f = self.b.ins().fcvt_from_uint(F64, x);
                    self.from_f64(f)
                }
            },
        }
    }

    /// The checks of an `n`-byte access at `addr` (the memory's `in_bounds_aligned`, plus
    /// `writable` for stores): leaves at `pc` when one fails, so the loop reports the fault.
    /// Returns the host address of the bytes, and the allocation id and offset.
    fn access(&mut self, n: u32, addr: Value, write: bool, pc: usize) -> (Value, Value, Value) {
        let id = self.b.ins().ushr_imm_s(addr, 32);
        let len = self.b.use_var(self.tbl_len);
        let out = self.b.ins().icmp(CIntCC::UnsignedGreaterThanOrEqual, id, len);
        self.leave_if(out, pc);
        let tbl = self.b.use_var(self.tbl);
        let scaled = self.b.ins().ishl_imm_s(id, 6);
        let ent = self.b.ins().iadd(tbl, scaled);
        let off = self.b.ins().band_imm_s(addr, 0xffff_ffff);
        let k = n.trailing_zeros();
        let mut bad = if k == 0 {
            let lim = self.b.ins().uload32(flags(), ent, ALLOC_BYTES_LEN as i32);
            self.b.ins().icmp(CIntCC::UnsignedGreaterThanOrEqual, off, lim)
        } else {
            let rot = self.b.ins().rotr_imm_s(off, k as i64);
            let lim = self.b.ins().uload32(flags(), ent, (ALLOC_UNITS + 4 * (k as usize - 1)) as i32);
            self.b.ins().icmp(CIntCC::UnsignedGreaterThanOrEqual, rot, lim)
        };
        if write {
            let wr = self.b.ins().uload8(I64, flags(), ent, ALLOC_WRITABLE as i32);
            let ro = self.b.ins().icmp_imm_s(CIntCC::Equal, wr, 0);
            bad = self.b.ins().bor(bad, ro);
        }
        self.leave_if(bad, pc);
        let base = self.b.ins().load(I64, flags(), ent, ALLOC_BYTES_PTR as i32);
        let p = self.b.ins().iadd(base, off);
        (p, id, off)
    }

    fn load(&mut self, n: u32, d: u32, addr: Value, pc: usize) {
        let (p, _, _) = self.access(n, addr, false, pc);
        let v = match n {
            1 => self.b.ins().uload8(I64, flags(), p, 0),
            2 => self.b.ins().uload16(I64, flags(), p, 0),
            4 => self.b.ins().uload32(flags(), p, 0),
            _ => self.b.ins().load(I64, flags(), p, 0),
        };
        self.set(d, v);
    }

    /// A store; a 64-bit store of a pointer-looking integer marks the word when `track`.
    fn store(&mut self, n: u32, addr: Value, v: Value, track: bool, pc: usize) {
        let (p, id, off) = self.access(n, addr, true, pc);
        match n {
            1 => self.b.ins().istore8(flags(), v, p, 0),
            2 => self.b.ins().istore16(flags(), v, p, 0),
            4 => self.b.ins().istore32(flags(), v, p, 0),
            _ => self.b.ins().store(flags(), v, p, 0),
        };
        if track && n == 8 {
            let hi = self.b.ins().ushr_imm_s(v, 32);
            let tag = self.b.ins().iadd_imm_s(hi, -(FUNC_ALLOC as i64));
            let len = self.b.use_var(self.tbl_len);
            let lim = self.b.ins().iadd_imm_s(len, -(FUNC_ALLOC as i64));
            let is_ptr = self.b.ins().icmp(CIntCC::UnsignedLessThan, tag, lim);
            let mark = self.b.create_block();
            let cont = self.b.create_block();
            self.b.set_cold_block(mark);
            self.b.ins().brif(is_ptr, mark, &[], cont, &[]);
            self.b.switch_to_block(mark);
            self.helper(helpers::mark_pointer as *const () as usize, &[id, off], false);
            self.b.ins().jump(cont, &[]);
            self.b.switch_to_block(cont);
        }
    }

    /// `d = cache` when set, else `d = helper(args)` (0: leave after `pc`), remembered in `cache`.
    fn cached_addr(&mut self, cache: Variable, d: u32, f: usize, args: &[Value], pc: usize) {
        let cached = self.b.use_var(cache);
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(cached, merge, &[], slow, &[]);
        self.b.switch_to_block(slow);
        let p = self.helper(f, args, true).expect("helper result");
        self.refresh_table();
        let failed = self.b.ins().icmp_imm_s(CIntCC::Equal, p, 0);
        self.leave_if(failed, pc + 1);
        self.b.def_var(cache, p);
        self.b.ins().jump(merge, &[]);
        self.b.switch_to_block(merge);
        let v = self.b.use_var(cache);
        self.set(d, v);
    }

    /// The registers of the call list at `list`: arguments and results.
    fn call_list(&self, list: u32) -> (Vec<u32>, Vec<u32>) {
        let x = &self.code.extra;
        let l = list as usize;
        let nargs = x[l] as usize;
        let args = x[l + 1..l + 1 + nargs].to_vec();
        let nres = x[l + 1 + nargs] as usize;
        let res = x[l + 2 + nargs..l + 2 + nargs + nres].to_vec();
        (args, res)
    }

    /// A call of module function `callee`: natively when it has native code, else (and when a
    /// check fails) leave at `pc` so the loop makes the call. Returns whether the block stays
    /// open.
    fn call(&mut self, callee: u32, list: u32, pc: usize) -> bool {
        let (args, res) = self.call_list(list);
        let Some(cm) = (self.meta_of)(callee) else {
            self.leave(pc);
            return false;
        };
        if args.len() != cm.num_params as usize {
            self.leave(pc);
            return false;
        }
        let d = self.ctx_load(ctx_off!(depth_left));
        let deep = self.b.ins().icmp_imm_s(CIntCC::Equal, d, 0);
        self.leave_if(deep, pc);
        let sp = self.b.ins().get_stack_pointer(I64);
        let floor = self.ctx_load(ctx_off!(stack_floor));
        let low = self.b.ins().icmp(CIntCC::UnsignedLessThan, sp, floor);
        self.leave_if(low, pc);
        let target = match self.direct.get(&callee) {
            Some(&fref) => Ok(fref),
            None => {
                let code_len = self.ctx_load(ctx_off!(code_len));
                let missing = self.b.ins().icmp_imm_s(CIntCC::UnsignedLessThanOrEqual, code_len, callee as i64);
                self.leave_if(missing, pc);
                let table = self.ctx_load(ctx_off!(code));
                let slot = self.b.ins().iadd_imm_s(table, callee as i64 * 8);
                let fnp = self.b.ins().load(I64, flags(), slot, 0);
                let none = self.b.ins().icmp_imm_s(CIntCC::Equal, fnp, 0);
                self.leave_if(none, pc);
                Err(fnp)
            }
        };
        let new_regs = self.b.ins().iadd_imm_s(self.regs, self.job.meta.num_regs as i64 * 8);
        let need = self.b.ins().iadd_imm_s(new_regs, cm.num_regs as i64 * 8);
        let end = self.ctx_load(ctx_off!(regs_end));
        let full = self.b.ins().icmp(CIntCC::UnsignedGreaterThan, need, end);
        self.leave_if(full, pc);
        self.tick(pc);
        for (i, &a) in args.iter().enumerate() {
            let v = self.r(a);
            self.b.ins().store(flags(), v, new_regs, (i * 8) as i32);
        }
        let sb = self.ctx_load(ctx_off!(slots_len));
        if cm.num_slots != 0 {
            let n = self.iconst(cm.num_slots as i64);
            self.helper(helpers::slots_enter as *const () as usize, &[n], false);
        }
        let d1 = self.b.ins().iadd_imm_s(d, -1);
        self.ctx_store(d1, ctx_off!(depth_left));
        let b = self.b.use_var(self.budget);
        self.ctx_store(b, ctx_off!(budget));
        let entry0 = self.b.ins().iconst(I32, 0);
        let nres = self.b.ins().iconst(I32, res.len() as i64);
        let has_span = matches!(self.code.spans.get(pc), Some(Some(_)));
        let outer_site = if has_span && (self.reads_site)(callee) {
            let old = self.ctx_load(ctx_off!(site));
            let here = self.iconst(pc as i64 + 1);
            self.ctx_store(here, ctx_off!(site));
            Some(old)
        } else {
            None
        };
        let call_args = [self.ctx, new_regs, entry0, sb, nres];
        let call = match target {
            Ok(fref) => self.b.ins().call(fref, &call_args),
            Err(fnp) => self.b.ins().call_indirect(self.sig_native, fnp, &call_args),
        };
        let status = self.b.inst_results(call)[0];
        if let Some(old) = outer_site {
            self.ctx_store(old, ctx_off!(site));
        }
        self.ctx_store(d, ctx_off!(depth_left));
        self.refresh_table();
        let unwind = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(unwind);
        self.b.ins().brif(status, unwind, &[], ok, &[]);
        // The callee left: this frame becomes an interpreter frame waiting for its return.
        self.b.switch_to_block(unwind);
        self.flush_regs(pc + 1);
        let vals = [self.job.func as i64, pc as i64 + 1, -1, -1, self.job.meta.num_regs as i64, list as i64 + 1 + args.len() as i64];
        let mut hargs: Vec<Value> = vals.iter().map(|&v| self.b.ins().iconst(I64, v)).collect();
        hargs[2] = self.regs;
        hargs[3] = self.slot_base;
        self.helper(helpers::push_frame as *const () as usize, &hargs, false);
        let s = self.b.ins().iconst(I32, STATUS_LEFT as i64);
        self.b.ins().return_(&[s]);
        self.b.switch_to_block(ok);
        let b = self.ctx_load(ctx_off!(budget));
        self.b.def_var(self.budget, b);
        for (k, &r) in res.iter().enumerate() {
            let v = self.ctx_load(ctx_off!(ret) + (k * 8) as i32);
            self.set(r, v);
        }
        true
    }

    /// The registers a `Ret` op's operand list (at `list` in `extra`) returns.
    fn ret_list(&self, list: u32) -> Vec<u32> {
        let l = list as usize;
        let n = self.code.extra[l] as usize;
        self.code.extra[l + 1..l + 1 + n].to_vec()
    }

    /// A return of the values in `srcs`.
    fn ret(&mut self, srcs: &[u32], pc: usize) {
        if srcs.len() > MAX_NATIVE_RETURNS {
            return self.leave(pc);
        }
        let wrong = self.b.ins().icmp_imm_s(CIntCC::NotEqual, self.nres, srcs.len() as i64);
        self.leave_if(wrong, pc);
        for (k, &r) in srcs.iter().enumerate() {
            let v = self.r(r);
            self.ctx_store(v, ctx_off!(ret) + (k * 8) as i32);
        }
        if self.job.meta.num_slots != 0 {
            self.helper(helpers::slots_leave as *const () as usize, &[self.slot_base], false);
        }
        let b = self.b.use_var(self.budget);
        self.ctx_store(b, ctx_off!(budget));
        let s = self.b.ins().iconst(I32, STATUS_RETURNED as i64);
        self.b.ins().return_(&[s]);
    }

    /// A call of a C function modelled in Rust, through [`helpers::native_call`].
    fn call_native(&mut self, list: u32, pc: usize) {
        let (args, res) = self.call_list(list);
        for &a in &args {
            let v = self.r(a);
            self.b.ins().store(flags(), v, self.regs, (a * 8) as i32);
        }
        let p = self.iconst(pc as i64);
        let st = self.helper(helpers::native_call as *const () as usize, &[p, self.regs], true).expect("helper result");
        self.refresh_table();
        let failed = self.b.create_block();
        let before = self.b.create_block();
        let after = self.b.create_block();
        let ok = self.b.create_block();
        for blk in [failed, before, after] {
            self.b.set_cold_block(blk);
        }
        self.b.ins().brif(st, failed, &[], ok, &[]);
        self.b.switch_to_block(failed);
        let is_before = self.b.ins().icmp_imm_s(CIntCC::Equal, st, helpers::BEFORE as i64);
        self.b.ins().brif(is_before, before, &[], after, &[]);
        self.b.switch_to_block(before);
        self.leave(pc);
        self.b.switch_to_block(after);
        self.leave(pc + 1);
        self.b.switch_to_block(ok);
        for &r in &res {
            let v = self.b.ins().load(I64, flags(), self.regs, (r * 8) as i32);
            self.set(r, v);
        }
    }

    /// `MemCopy`/`MemFill` through helper `f`; a fault leaves after `pc` (already reported).
    fn mem_helper(&mut self, f: usize, args: [u32; 3], pc: usize) {
        let vals: Vec<Value> = args.iter().map(|&r| self.r(r)).collect();
        let st = self.helper(f, &vals, true).expect("helper result");
        self.leave_if(st, pc + 1);
    }

    /// Emits op `op` at `pc`; returns whether the block stays open (falls through).
    fn op(&mut self, op: Op, pc: usize) -> bool {
        macro_rules! bin {
            ($d:expr, $a:expr, $b:expr, $f:ident) => {{
                let (x, y) = (self.r($a), self.r($b));
                let v = self.b.ins().$f(x, y);
                self.set($d, v);
            }};
        }
        macro_rules! br {
            ($a:expr, $b:expr, $cc:expr, $t:expr) => {{
                let (x, y) = (self.r($a), self.r($b));
                let c = self.b.ins().icmp($cc, x, y);
                self.branch(c, $t, pc);
                return false;
            }};
        }
        macro_rules! bri {
            ($a:expr, $imm:expr, $cc:expr, $t:expr) => {{
                let x = self.r($a);
                let c = self.b.ins().icmp_imm_s($cc, x, $imm as i64);
                self.branch(c, $t, pc);
                return false;
            }};
        }
        macro_rules! ld {
            ($n:expr, $d:expr, $a:expr, $off:expr) => {{
                let x = self.r($a);
                let addr = self.b.ins().iadd_imm_s(x, $off as i64);
                self.load($n, $d, addr, pc);
            }};
        }
        macro_rules! ldx {
            ($n:expr, $d:expr, $a:expr, $b:expr) => {{
                let (x, y) = (self.r($a), self.r($b));
                let addr = self.b.ins().iadd(x, y);
                self.load($n, $d, addr, pc);
            }};
        }
        macro_rules! st {
            ($n:expr, $a:expr, $v:expr, $off:expr, $track:expr) => {{
                let (x, v) = (self.r($a), self.r($v));
                let addr = self.b.ins().iadd_imm_s(x, $off as i64);
                self.store($n, addr, v, $track, pc);
            }};
        }
        macro_rules! stx {
            ($n:expr, $a:expr, $b:expr, $v:expr, $track:expr) => {{
                let (x, y, v) = (self.r($a), self.r($b), self.r($v));
                let addr = self.b.ins().iadd(x, y);
                self.store($n, addr, v, $track, pc);
            }};
        }
        match op {
            Op::Const { d, v } => {
                let c = self.iconst(v as i64);
                self.set(d, c);
            }
            Op::Mov { d, s } => self.un(d, s, |_, x| x),
            Op::MovJmp { d, s, t } => {
                self.tick(pc);
                let v = self.r(s);
                self.set(d, v);
                let blk = self.blocks[&(t as usize)];
                self.b.ins().jump(blk, &[]);
                return false;
            }
            Op::Add64 { d, a, b } => bin!(d, a, b, iadd),
            Op::Sub64 { d, a, b } => bin!(d, a, b, isub),
            Op::Mul64 { d, a, b } => bin!(d, a, b, imul),
            Op::And { d, a, b } => bin!(d, a, b, band),
            Op::Or { d, a, b } => bin!(d, a, b, bor),
            Op::Xor { d, a, b } => bin!(d, a, b, bxor),
            Op::AddImm64 { d, a, imm } => self.un(d, a, |g, x| g.b.ins().iadd_imm_s(x, imm as i64)),
            Op::MulImm64 { d, a, imm } => self.un(d, a, |g, x| g.b.ins().imul_imm_s(x, imm as i64)),
            Op::SdivImm64 { d, a, imm } | Op::SremImm64 { d, a, imm } => {
                let x = self.r(a);
                let y = self.iconst(imm as i64);
                if imm == 0 || imm == -1 {
                    self.leave(pc);
                    return false;
                }
                let v = if matches!(op, Op::SdivImm64 { .. }) { self.b.ins().sdiv(x, y) } else { self.b.ins().srem(x, y) };
                self.set(d, v);
            }
            Op::SdivPow2 { d, a, sh } => self.un(d, a, |g, x| g.div_pow2(x, sh, false)),
            Op::SremPow2 { d, a, sh } => self.un(d, a, |g, x| g.div_pow2(x, sh, true)),
            Op::Add32 { d, a, b } => self.bi(d, a, b, |g, x, y| {
                let v = g.b.ins().iadd(x, y);
                g.mask(W::B32, v)
            }),
            Op::Sub32 { d, a, b } => self.bi(d, a, b, |g, x, y| {
                let v = g.b.ins().isub(x, y);
                g.mask(W::B32, v)
            }),
            Op::AddImm32 { d, a, imm } => self.un(d, a, |g, x| {
                let v = g.b.ins().iadd_imm_s(x, imm as u32 as i64);
                g.mask(W::B32, v)
            }),
            Op::IBin { op: o, w, d, a, b } => self.bi(d, a, b, |g, x, y| g.ibin(o, w, x, y, pc)),
            Op::IBinImm { op: o, w, d, a, imm } => self.un(d, a, |g, x| {
                let y = g.imm_val(w, imm);
                g.ibin(o, w, x, y, pc)
            }),
            Op::Icmp { cc, w, d, a, b } => self.bi(d, a, b, |g, x, y| {
                let c = g.icmp(cc, w, x, y);
                g.bool64(c)
            }),
            Op::IcmpImm { cc, w, d, a, imm } => self.un(d, a, |g, x| {
                let y = g.imm_val(w, imm);
                let c = g.icmp(cc, w, x, y);
                g.bool64(c)
            }),
            Op::F64Bin { op: o, d, a, b } => self.f64op(o, d, a, b),
            Op::F64Add { d, a, b } => self.f64op(FOp::Add, d, a, b),
            Op::F64Sub { d, a, b } => self.f64op(FOp::Sub, d, a, b),
            Op::F64Mul { d, a, b } => self.f64op(FOp::Mul, d, a, b),
            Op::F64Div { d, a, b } => self.f64op(FOp::Div, d, a, b),
            Op::F32Bin { op: o, d, a, b } => self.bi(d, a, b, |g, x, y| g.f32bin(o, x, y)),
            Op::Fcmp { cc, f32, d, a, b } => self.bi(d, a, b, |g, x, y| g.fcmp(cc, f32, x, y)),
            Op::Ineg { w, d, a } => self.un(d, a, |g, x| {
                let v = g.b.ins().ineg(x);
                g.mask(w, v)
            }),
            Op::Bnot { w, d, a } => self.un(d, a, |g, x| {
                let v = g.b.ins().bnot(x);
                g.mask(w, v)
            }),
            Op::Fneg64 { d, a } => self.un(d, a, |g, x| g.b.ins().bxor_imm_s(x, i64::MIN)),
            Op::Fneg32 { d, a } => self.un(d, a, |g, x| {
                let v = g.b.ins().bxor_imm_s(x, 1 << 31);
                g.mask(W::B32, v)
            }),
            Op::Trunc { w, d, a } => self.un(d, a, |g, x| g.mask(w, x)),
            Op::Sext { from, to, d, a } => self.un(d, a, |g, x| {
                let s = g.sext(from, x);
                g.mask(to, s)
            }),
            Op::I64ToF64 { d, a } => self.un(d, a, |g, x| {
                let f = g.b.ins().fcvt_from_sint(F64, x);
                g.from_f64(f)
            }),
            Op::F64ToI64 { d, a } => self.un(d, a, |g, x| {
                let f = g.to_f64(x);
                g.b.ins().fcvt_to_sint_sat(I64, f)
            }),
            Op::Conv { op: o, from, to, d, a } => self.un(d, a, |g, x| g.conv(o, from, to, x)),
            Op::Select { d, c, list } => {
                let l = list as usize;
                let (ra, rb) = (self.code.extra[l], self.code.extra[l + 1]);
                let (cv, x, y) = (self.r(c), self.r(ra), self.r(rb));
                let v = self.b.ins().select(cv, x, y);
                self.set(d, v);
            }
            Op::Load { w, d, a, off } => ld!(w.bytes() as u32, d, a, off),
            Op::Load8 { d, a, off } => ld!(1, d, a, off),
            Op::Load16 { d, a, off } => ld!(2, d, a, off),
            Op::Load32 { d, a, off } => ld!(4, d, a, off),
            Op::Load64 { d, a, off } => ld!(8, d, a, off),
            Op::Load8X { d, a, b } => ldx!(1, d, a, b),
            Op::Load16X { d, a, b } => ldx!(2, d, a, b),
            Op::Load32X { d, a, b } => ldx!(4, d, a, b),
            Op::Load64X { d, a, b } => ldx!(8, d, a, b),
            Op::Store { w, a, v, off } => st!(w.bytes() as u32, a, v, off, true),
            Op::Store8 { a, v, off } => st!(1, a, v, off, true),
            Op::Store16 { a, v, off } => st!(2, a, v, off, true),
            Op::Store32 { a, v, off } => st!(4, a, v, off, true),
            Op::Store64 { a, v, off } => st!(8, a, v, off, true),
            Op::Store64F { a, v, off } => st!(8, a, v, off, false),
            Op::Store8X { a, b, v } => stx!(1, a, b, v, true),
            Op::Store16X { a, b, v } => stx!(2, a, b, v, true),
            Op::Store32X { a, b, v } => stx!(4, a, b, v, true),
            Op::Store64X { a, b, v } => stx!(8, a, b, v, true),
            Op::Store64FX { a, b, v } => stx!(8, a, b, v, false),
            Op::StackAddr { d, slot } => return self.stack_addr(d, slot, pc),
            Op::DataAddr { d, data } => self.data_addr(d, data, pc),
            Op::MemCopy { d, s, n } => self.mem_helper(helpers::mem_copy as *const () as usize, [d, s, n], pc),
            Op::MemFill { d, b, n } => self.mem_helper(helpers::mem_fill as *const () as usize, [d, b, n], pc),
            Op::Jmp { t } => {
                self.goto(t, pc);
                return false;
            }
            Op::BrIf { c, t } => bri!(c, 0, CIntCC::NotEqual, t),
            Op::BrIfNot { c, t } => bri!(c, 0, CIntCC::Equal, t),
            Op::BrCmp { cc, w, a, b, t } => {
                let (x, y) = (self.r(a), self.r(b));
                return self.branch_cmp(cc, w, x, y, t, pc);
            }
            Op::BrCmpImm { cc, w, a, imm, t } => {
                let x = self.r(a);
                let y = self.imm_val(w, imm);
                return self.branch_cmp(cc, w, x, y, t, pc);
            }
            Op::BrEq { a, b, t } => br!(a, b, CIntCC::Equal, t),
            Op::BrNe { a, b, t } => br!(a, b, CIntCC::NotEqual, t),
            Op::BrSlt { a, b, t } => br!(a, b, CIntCC::SignedLessThan, t),
            Op::BrSle { a, b, t } => br!(a, b, CIntCC::SignedLessThanOrEqual, t),
            Op::BrSgt { a, b, t } => br!(a, b, CIntCC::SignedGreaterThan, t),
            Op::BrSge { a, b, t } => br!(a, b, CIntCC::SignedGreaterThanOrEqual, t),
            Op::BrUlt { a, b, t } => br!(a, b, CIntCC::UnsignedLessThan, t),
            Op::BrUge { a, b, t } => br!(a, b, CIntCC::UnsignedGreaterThanOrEqual, t),
            Op::BrEqI { a, imm, t } => bri!(a, imm, CIntCC::Equal, t),
            Op::BrNeI { a, imm, t } => bri!(a, imm, CIntCC::NotEqual, t),
            Op::BrSltI { a, imm, t } => bri!(a, imm, CIntCC::SignedLessThan, t),
            Op::BrSleI { a, imm, t } => bri!(a, imm, CIntCC::SignedLessThanOrEqual, t),
            Op::BrSgtI { a, imm, t } => bri!(a, imm, CIntCC::SignedGreaterThan, t),
            Op::BrSgeI { a, imm, t } => bri!(a, imm, CIntCC::SignedGreaterThanOrEqual, t),
            Op::BrUltI { a, imm, t } => bri!(a, imm, CIntCC::UnsignedLessThan, t),
            Op::BrUgeI { a, imm, t } => bri!(a, imm, CIntCC::UnsignedGreaterThanOrEqual, t),
            Op::BrMaskZ { a, mask, t } | Op::BrMaskNZ { a, mask, t } => {
                let x = self.r(a);
                let m = self.b.ins().band_imm_s(x, mask as i64);
                let cc = if matches!(op, Op::BrMaskZ { .. }) { CIntCC::Equal } else { CIntCC::NotEqual };
                let c = self.b.ins().icmp_imm_s(cc, m, 0);
                self.branch(c, t, pc);
                return false;
            }
            Op::Call { func, list } => return self.call(func, list, pc),
            Op::CallNative { native, list, .. } => {
                if native == Native::ComptimeFrames {
                    self.leave(pc);
                    return false;
                }
                self.call_native(list, pc);
            }
            Op::CallIndirect { .. }
            | Op::CallForeign { .. }
            | Op::CallCompiler { .. }
            | Op::Trap { .. }
            | Op::AtomicRmw { .. }
            | Op::AtomicCas { .. } => {
                self.leave(pc);
                return false;
            }
            Op::Ret0 {} => {
                self.ret(&[], pc);
                return false;
            }
            Op::Ret1 { r } => {
                self.ret(&[r], pc);
                return false;
            }
            Op::Ret { list } => {
                let srcs = self.ret_list(list);
                self.ret(&srcs, pc);
                return false;
            }
        }
        true
    }
}
