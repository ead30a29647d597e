//! Instruction selection of [`super::translate`]: [`Tx`] walks the blocks in layout order and
//! emits ops for every instruction the [`Plan`] did not fold away — parallel moves on edges,
//! fused compare-and-branches, loop rotation, immediates and specialised ops.

use sx_diag::Span;
use sx_ir::entity::EntityRef;
use sx_ir::{BinOp, Block, BlockData, ConvOp, Function, Inst, InstData, InstKind, IntCC, Module, Signature, TrapCode, Type, UnOp, Value};

use super::analysis::Plan;
use super::{bin_kind, err, fold_of, swap_cc, BinKind, Fold};
use crate::bytecode::{invert, FOp, IOp, Native, Op, COMPILER_CALL_PREFIX, R};
use crate::width::W;

/// The translation state: the ops emitted so far and what is still to be patched.
pub(super) struct Tx<'a> {
    pub f: &'a Function,
    pub m: &'a Module,
    pub plan: &'a Plan,
    /// Canonical value of integer constants.
    pub konst: Vec<Option<u64>>,
    /// Register of each value.
    pub reg: Vec<R>,
    /// Use counts of alias roots (see [`super::analysis::RootUses`]).
    pub uses: Vec<u32>,
    /// The scratch register of parallel moves.
    pub tmp: R,
    pub ops: Vec<Op>,
    pub spans: Vec<Option<Span>>,
    pub extra: Vec<u32>,
    pub sigs: Vec<Signature>,
    /// Span of the instruction being translated.
    pub span: Option<Span>,
    /// `(op index, block)` whose target is the block's start.
    pub fixups: Vec<(usize, Block)>,
    /// First op of each block emitted so far (`u32::MAX`: not yet).
    pub block_start: Vec<u32>,
    /// Ops before this index may be jump targets: a `Mov` there is not fused with a later jump.
    pub barrier: usize,
    /// Used stack slots, renumbered densely (`u32::MAX`: not referenced).
    pub slot_map: Vec<u32>,
    /// `(size, align)` of the used stack slots.
    pub used_slots: Vec<(u32, u32)>,
}

/// State of the block being translated: a compare or mask test waiting for the branch it is
/// fused into.
#[derive(Default)]
struct BlockState {
    /// A compare `(cc, w, a, b or immediate)` fused into the following branch.
    fused: Option<(IntCC, W, R, Result<R, i32>)>,
    /// `x % 2^k` (not emitted) whose only user is an `== 0` / `!= 0` fused into the branch:
    /// `(value, x, mask)`.
    mask_of: Option<(Value, R, i32)>,
    /// The fused mask test `(taken when zero, x, mask)`.
    fused_mask: Option<(bool, R, i32)>,
    /// The block's terminator was translated.
    terminated: bool,
}

impl<'a> Tx<'a> {
    fn ty(&self, v: Value) -> Result<Type, String> {
        match self.f.values.get(v) {
            Some(d) => Ok(d.ty),
            None => err(self.f, format!("reference to missing value {}", v)),
        }
    }
    fn r(&self, v: Value) -> Result<R, String> {
        match self.reg.get(v.index()) {
            Some(&r) => Ok(r),
            None => err(self.f, format!("reference to missing value {}", v)),
        }
    }
    fn k(&self, v: Value) -> Option<u64> {
        self.konst.get(v.index()).copied().flatten()
    }
    /// The register of result `k` of instruction `i`.
    fn result(&self, d: &InstData, i: Inst, k: usize) -> Result<R, String> {
        match d.results.get(k) {
            Some(&v) => self.r(v),
            None => err(self.f, format!("{} lacks a result", i)),
        }
    }
    fn emit(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.spans.push(self.span);
        self.ops.len() - 1
    }
    fn fold_of(&self, kind: &InstKind) -> Option<Fold> {
        fold_of(self.f, &self.konst, kind)
    }

    /// Emits a parallel move `dsts[i] <- srcs[i]`.
    fn parallel_move(&mut self, pairs: &mut Vec<(R, R)>) {
        pairs.retain(|(d, s)| d != s);
        while !pairs.is_empty() {
            if let Some(i) = (0..pairs.len()).find(|&i| !pairs.iter().any(|(_, s)| *s == pairs[i].0)) {
                let (d, s) = pairs.swap_remove(i);
                self.emit(Op::Mov { d, s });
            } else {
                // Every pending destination is still a source: a cycle. Save one destination
                // in the scratch register and redirect its readers.
                let d0 = pairs[0].0;
                let tmp = self.tmp;
                self.emit(Op::Mov { d: tmp, s: d0 });
                for p in pairs.iter_mut() {
                    if p.1 == d0 {
                        p.1 = tmp;
                    }
                }
            }
        }
    }

    /// Copies `args` into `dest`'s parameters.
    fn edge_copies(&mut self, dest: Block, args: &[Value]) -> Result<(), String> {
        let params = match self.f.blocks.get(dest) {
            Some(b) => &b.params,
            None => return err(self.f, format!("jump to missing {}", dest)),
        };
        if params.len() != args.len() {
            return err(self.f, format!("{} arguments passed to {} with {} parameters", args.len(), dest, params.len()));
        }
        let mut pairs = Vec::with_capacity(args.len());
        for (p, a) in params.iter().zip(args) {
            pairs.push((self.r(*p)?, self.r(*a)?));
        }
        self.parallel_move(&mut pairs);
        Ok(())
    }

    /// Emits a jump to `dest` unless it is the next block in layout.
    ///
    /// A backward jump to a block that starts with a conditional branch is rotated: it becomes
    /// the inverted branch back to the op after the header's branch, followed by a jump to the
    /// header's other target (taken once, on loop exit). A jump right after a block-argument
    /// `Mov` is fused into a `MovJmp`.
    fn jump_to(&mut self, dest: Block, next: Option<Block>) {
        if Some(dest) == next {
            return;
        }
        let start = self.block_start.get(dest.index()).copied().unwrap_or(u32::MAX);
        if start != u32::MAX {
            let s = start as usize;
            if let Some(inv) = self.ops.get(s).and_then(|o| o.inverse()) {
                // The header branch's target: resolved, or still a pending fixup.
                let pending = self.fixups.iter().find(|(at, _)| *at == s).map(|(_, b)| *b);
                let at = self.emit(inv);
                self.ops[at].set_target(start + 1);
                let out = self.emit(Op::Jmp { t: 0 });
                match pending {
                    Some(b) => self.fixups.push((out, b)),
                    None => {
                        let t = self.ops[s].target().unwrap_or(start);
                        self.ops[out].set_target(t);
                    }
                }
                return;
            }
        }
        if self.ops.len() > self.barrier {
            if let Some(&Op::Mov { d, s }) = self.ops.last() {
                let at = self.ops.len() - 1;
                self.ops[at] = Op::MovJmp { d, s, t: 0 };
                self.fixups.push((at, dest));
                return;
            }
        }
        let at = self.emit(Op::Jmp { t: 0 });
        self.fixups.push((at, dest));
    }

    /// The dense index of a used stack slot (which must exist).
    fn slot_index(&mut self, slot: sx_ir::Slot) -> u32 {
        let k = slot.index();
        if self.slot_map[k] == u32::MAX {
            self.slot_map[k] = self.used_slots.len() as u32;
            let sd = &self.f.slots[slot];
            self.used_slots.push((sd.size, sd.align));
        }
        self.slot_map[k]
    }

    fn list(&mut self, items: &[u32]) -> u32 {
        let at = self.extra.len() as u32;
        self.extra.extend_from_slice(items);
        at
    }

    fn call_list(&mut self, args: &[Value], results: &[Value]) -> Result<u32, String> {
        let mut l = Vec::with_capacity(args.len() + results.len() + 2);
        l.push(args.len() as u32);
        for a in args {
            l.push(self.r(*a)?);
        }
        l.push(results.len() as u32);
        for r in results {
            l.push(self.r(*r)?);
        }
        Ok(self.list(&l))
    }

    /// The prologue of a function with loops: every used constant and the first `stack_addr`
    /// of each slot, materialised once before the entry block.
    pub fn emit_prologue(&mut self) -> Result<(), String> {
        let f = self.f;
        for (_, bd) in f.blocks.iter() {
            for &i in &bd.insts {
                let d = &f.insts[i];
                let Some(&v) = d.results.first() else { continue };
                if self.uses.get(v.index()).copied().unwrap_or(0) == 0 {
                    continue;
                }
                let c = match d.kind {
                    InstKind::StackAddr { slot } if self.plan.alias[v.index()].is_none() => {
                        if f.slots.get(slot).is_none() {
                            return err(f, format!("{}: missing {}", i, slot));
                        }
                        self.span = d.span;
                        let (r, k) = (self.r(v)?, self.slot_index(slot));
                        self.emit(Op::StackAddr { d: r, slot: k });
                        continue;
                    }
                    InstKind::Iconst { ty, imm } => {
                        if ty.is_float() {
                            0
                        } else {
                            W::of(ty).mask(imm as u64)
                        }
                    }
                    InstKind::Fconst { ty: Type::F32, value } => (value as f32).to_bits() as u64,
                    InstKind::Fconst { ty: Type::F64, value } => value.to_bits(),
                    _ => continue,
                };
                self.span = d.span;
                let r = self.r(v)?;
                self.emit(Op::Const { d: r, v: c });
            }
        }
        Ok(())
    }

    /// Translates block `b`, the `at`-th in layout order.
    pub fn emit_block(&mut self, at: usize, b: Block) -> Result<(), String> {
        let f = self.f;
        let bd = &f.blocks[b];
        self.block_start[b.index()] = self.ops.len() as u32;
        self.barrier = self.ops.len() + 1;
        let next_block = self.plan.order.get(at + 1).copied();
        if bd.insts.is_empty() {
            self.span = f.span;
            self.emit(Op::Trap { code: TrapCode::Unreachable });
            return Ok(());
        }
        let mut st = BlockState::default();
        for (n, &i) in bd.insts.iter().enumerate() {
            let d = &f.insts[i];
            self.span = d.span;
            if st.terminated {
                return err(f, format!("{} follows the terminator of {}", i, b));
            }
            if d.results.len() == 1 && self.plan.is_alias(d.results[0]) {
                continue;
            }
            if d.results.len() == 1 && self.plan.pair.get(d.results[0].index()).is_some_and(|a| a.is_some()) {
                continue;
            }
            self.emit_inst(bd, n, i, next_block, &mut st)?;
        }
        if !st.terminated {
            return err(f, format!("{} does not end in a terminator", b));
        }
        Ok(())
    }

    /// Translates instruction `i`, the `n`-th of block `bd`.
    fn emit_inst(&mut self, bd: &BlockData, n: usize, i: Inst, next_block: Option<Block>, st: &mut BlockState) -> Result<(), String> {
        let f = self.f;
        let d = &f.insts[i];
        match &d.kind {
            InstKind::Iconst { ty, imm } => {
                let v = d.results.first().copied();
                if let Some(v) = v {
                    if !self.plan.hoist && self.uses.get(v.index()).copied().unwrap_or(0) > 0 {
                        let c = if ty.is_float() { 0 } else { W::of(*ty).mask(*imm as u64) };
                        let dst = self.result(d, i, 0)?;
                        self.emit(Op::Const { d: dst, v: c });
                    }
                } else {
                    return err(f, format!("{} lacks a result", i));
                }
            }
            InstKind::Fconst { ty, value } => {
                let bits = match ty {
                    Type::F32 => (*value as f32).to_bits() as u64,
                    Type::F64 => value.to_bits(),
                    Type::I8 | Type::I16 | Type::I32 | Type::I64 => return err(f, format!("{}: fconst of an integer type", i)),
                };
                let used = d.results.first().is_some_and(|v| self.uses.get(v.index()).copied().unwrap_or(0) > 0);
                if !self.plan.hoist && used {
                    let dst = self.result(d, i, 0)?;
                    self.emit(Op::Const { d: dst, v: bits });
                }
            }
            InstKind::Binary { op, a, b } => self.emit_binary(bd, n, i, *op, *a, *b, st)?,
            InstKind::Unary { op, a } => {
                let dst = self.result(d, i, 0)?;
                let ta = self.ty(*a)?;
                let ra = self.r(*a)?;
                let o = match (op, ta) {
                    (UnOp::Ineg, t) if !t.is_float() => Op::Ineg { w: W::of(t), d: dst, a: ra },
                    (UnOp::Bnot, t) if !t.is_float() => Op::Bnot { w: W::of(t), d: dst, a: ra },
                    (UnOp::Fneg, Type::F32) => Op::Fneg32 { d: dst, a: ra },
                    (UnOp::Fneg, Type::F64) => Op::Fneg64 { d: dst, a: ra },
                    _ => return err(f, format!("{}: {:?} on {}", i, op, ta.name())),
                };
                self.emit(o);
            }
            InstKind::Icmp { cc, a, b } => self.emit_icmp(bd, n, i, *cc, *a, *b, st)?,
            InstKind::Fcmp { cc, a, b } => {
                let ta = self.ty(*a)?;
                if !ta.is_float() {
                    return err(f, format!("{}: fcmp on {}", i, ta.name()));
                }
                let o = Op::Fcmp { cc: *cc, f32: ta == Type::F32, d: self.result(d, i, 0)?, a: self.r(*a)?, b: self.r(*b)? };
                self.emit(o);
            }
            InstKind::Convert { op, a, to } => self.emit_convert(d, i, *op, *a, *to)?,
            InstKind::Select { cond, a, b } => {
                let dst = self.result(d, i, 0)?;
                let l = [self.r(*a)?, self.r(*b)?];
                let list = self.list(&l);
                let o = Op::Select { d: dst, c: self.r(*cond)?, list };
                self.emit(o);
            }
            InstKind::Load { ty, addr, offset } => self.emit_load(d, i, *ty, *addr, *offset)?,
            InstKind::Store { addr, offset, value } => self.emit_store(*addr, *offset, *value)?,
            InstKind::StackAddr { slot } => {
                if f.slots.get(*slot).is_none() {
                    return err(f, format!("{}: missing {}", i, slot));
                }
                if !self.plan.hoist {
                    let dst = self.result(d, i, 0)?;
                    let o = Op::StackAddr { d: dst, slot: self.slot_index(*slot) };
                    self.emit(o);
                }
            }
            InstKind::DataAddr { data } => {
                let o = Op::DataAddr { d: self.result(d, i, 0)?, data: data.0 };
                self.emit(o);
            }
            InstKind::FuncAddr { func } => {
                let o = Op::Const { d: self.result(d, i, 0)?, v: crate::memory::func_ptr(func.0) };
                self.emit(o);
            }
            InstKind::Call { func, args } => self.emit_call(d, i, *func, args)?,
            InstKind::CallExtern { ext, args } => self.emit_call_extern(d, i, *ext, args)?,
            InstKind::CallIndirect { sig, callee, args } => {
                if sig.params.len() != args.len() || sig.returns.len() != d.results.len() {
                    return err(f, format!("{}: indirect call does not match its signature", i));
                }
                let list = self.call_list(args, &d.results)?;
                let s = self.sigs.len() as u32;
                self.sigs.push(sig.clone());
                let o = Op::CallIndirect { callee: self.r(*callee)?, list, sig: s };
                self.emit(o);
            }
            InstKind::MemCopy { dst, src, len } => {
                let o = Op::MemCopy { d: self.r(*dst)?, s: self.r(*src)?, n: self.r(*len)? };
                self.emit(o);
            }
            InstKind::MemFill { dst, byte, len } => {
                let o = Op::MemFill { d: self.r(*dst)?, b: self.r(*byte)?, n: self.r(*len)? };
                self.emit(o);
            }
            InstKind::AtomicLoad { ty, addr, .. } => {
                let o = Op::Load { w: W::of(*ty), d: self.result(d, i, 0)?, a: self.r(*addr)?, off: 0 };
                self.emit(o);
            }
            InstKind::AtomicStore { addr, value, .. } => self.emit_store(*addr, 0, *value)?,
            InstKind::AtomicRmw { op, addr, value, .. } => {
                let w = W::of(self.ty(*value)?);
                let o = Op::AtomicRmw { op: *op, w, d: self.result(d, i, 0)?, a: self.r(*addr)?, v: self.r(*value)? };
                self.emit(o);
            }
            InstKind::AtomicCas { addr, expected, desired, .. } => {
                let w = W::of(self.ty(*expected)?);
                let l = [self.r(*expected)?, self.r(*desired)?];
                let list = self.list(&l);
                let o = Op::AtomicCas { w, d: self.result(d, i, 0)?, a: self.r(*addr)?, list };
                self.emit(o);
            }
            // One thread: nothing to order.
            InstKind::Fence { .. } => {}
            InstKind::Jump { dest, args } => {
                st.terminated = true;
                self.edge_copies(*dest, args)?;
                self.jump_to(*dest, next_block);
            }
            InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } => {
                st.terminated = true;
                self.emit_branch(*cond, (*then_dest, then_args), (*else_dest, else_args), next_block, st)?;
            }
            InstKind::Return { values } => {
                st.terminated = true;
                self.emit_return(i, values)?;
            }
            InstKind::Trap { code } => {
                st.terminated = true;
                self.emit(Op::Trap { code: *code });
            }
        }
        Ok(())
    }

    /// An integer or float binary operator: immediates, specialised 64/32-bit ops, or (for
    /// `x % 2^k` only compared with zero by the branch that follows) nothing but a pending mask
    /// test.
    #[allow(clippy::too_many_arguments)]
    fn emit_binary(
        &mut self,
        bd: &BlockData,
        n: usize,
        i: Inst,
        op: BinOp,
        a: Value,
        bv: Value,
        st: &mut BlockState,
    ) -> Result<(), String> {
        let f = self.f;
        let d = &f.insts[i];
        let dst = self.result(d, i, 0)?;
        let ta = self.ty(a)?;
        let (ra, rb) = (self.r(a)?, self.r(bv)?);
        let iop = match bin_kind(op) {
            BinKind::Int(iop) => iop,
            BinKind::Float(fop) => {
                let o = match (ta, fop) {
                    (Type::F32, _) => Op::F32Bin { op: fop, d: dst, a: ra, b: rb },
                    (Type::F64, FOp::Add) => Op::F64Add { d: dst, a: ra, b: rb },
                    (Type::F64, FOp::Sub) => Op::F64Sub { d: dst, a: ra, b: rb },
                    (Type::F64, FOp::Mul) => Op::F64Mul { d: dst, a: ra, b: rb },
                    (Type::F64, FOp::Div) => Op::F64Div { d: dst, a: ra, b: rb },
                    (Type::I8 | Type::I16 | Type::I32 | Type::I64, _) => return err(f, format!("{}: float operator on {}", i, ta.name())),
                };
                self.emit(o);
                return Ok(());
            }
        };
        if ta.is_float() {
            return err(f, format!("{}: integer operator on {}", i, ta.name()));
        }
        let w = W::of(ta);
        let Some(fold) = self.fold_of(&d.kind) else {
            let o = match (iop, w) {
                (IOp::Add, W::B64) => Op::Add64 { d: dst, a: ra, b: rb },
                (IOp::Sub, W::B64) => Op::Sub64 { d: dst, a: ra, b: rb },
                (IOp::Mul, W::B64) => Op::Mul64 { d: dst, a: ra, b: rb },
                (IOp::Add, W::B32) => Op::Add32 { d: dst, a: ra, b: rb },
                (IOp::Sub, W::B32) => Op::Sub32 { d: dst, a: ra, b: rb },
                (IOp::And, _) => Op::And { d: dst, a: ra, b: rb },
                (IOp::Or, _) => Op::Or { d: dst, a: ra, b: rb },
                (IOp::Xor, _) => Op::Xor { d: dst, a: ra, b: rb },
                _ => Op::IBin { op: iop, w, d: dst, a: ra, b: rb },
            };
            self.emit(o);
            return Ok(());
        };
        let src = if fold.swap { rb } else { ra };
        let imm = fold.imm;
        if iop == IOp::Srem && w == W::B64 && !fold.swap && imm > 1 && imm & (imm - 1) == 0 && self.uses[d.results[0].index()] == 1 {
            let r0 = d.results[0];
            let mut j = n + 1;
            while bd.insts.get(j).is_some_and(|&x| matches!(f.insts[x].kind, InstKind::Iconst { .. })) {
                j += 1;
            }
            let ok = match (bd.insts.get(j).map(|&x| &f.insts[x]), bd.insts.get(j + 1).map(|&x| &f.insts[x].kind)) {
                (Some(c), Some(InstKind::Branch { cond, .. })) => match &c.kind {
                    InstKind::Icmp { cc: IntCC::Eq | IntCC::Ne, a: x, b: z } => {
                        *x == r0 && self.k(*z) == Some(0) && c.results.first() == Some(cond) && self.uses[cond.index()] == 1
                    }
                    _ => false,
                },
                _ => false,
            };
            if ok {
                st.mask_of = Some((r0, src, imm - 1));
                return Ok(());
            }
        }
        let o = match (iop, w) {
            (IOp::Add, W::B64) => Op::AddImm64 { d: dst, a: src, imm },
            (IOp::Sub, W::B64) if imm != i32::MIN => Op::AddImm64 { d: dst, a: src, imm: -imm },
            (IOp::Add, W::B32) => Op::AddImm32 { d: dst, a: src, imm },
            (IOp::Sub, W::B32) => Op::AddImm32 { d: dst, a: src, imm: (imm as u32).wrapping_neg() as i32 },
            (IOp::Mul, W::B64) => Op::MulImm64 { d: dst, a: src, imm },
            (IOp::Sdiv, W::B64) if imm > 1 && imm & (imm - 1) == 0 => Op::SdivPow2 { d: dst, a: src, sh: imm.trailing_zeros() },
            (IOp::Srem, W::B64) if imm > 1 && imm & (imm - 1) == 0 => Op::SremPow2 { d: dst, a: src, sh: imm.trailing_zeros() },
            (IOp::Sdiv, W::B64) if imm != 0 && imm != -1 => Op::SdivImm64 { d: dst, a: src, imm },
            (IOp::Srem, W::B64) if imm != 0 && imm != -1 => Op::SremImm64 { d: dst, a: src, imm },
            _ => Op::IBinImm { op: iop, w, d: dst, a: src, imm },
        };
        self.emit(o);
        Ok(())
    }

    /// An integer compare: fused into the branch that follows when that is its only user,
    /// otherwise `Icmp`/`IcmpImm`.
    #[allow(clippy::too_many_arguments)]
    fn emit_icmp(&mut self, bd: &BlockData, n: usize, i: Inst, cc: IntCC, a: Value, bv: Value, st: &mut BlockState) -> Result<(), String> {
        let f = self.f;
        let d = &f.insts[i];
        let ta = self.ty(a)?;
        let w = W::of(ta);
        let dst = self.result(d, i, 0)?;
        let fold = self.fold_of(&d.kind);
        let (cc2, ra, rb) = match fold {
            Some(fo) if fo.swap => (swap_cc(cc), self.r(bv)?, Err(fo.imm)),
            Some(fo) => (cc, self.r(a)?, Err(fo.imm)),
            None => (cc, self.r(a)?, Ok(self.r(bv)?)),
        };
        // Fuse with an immediately following branch that is the only user.
        let result = d.results[0];
        let fuse = match bd.insts.get(n + 1).map(|&j| &f.insts[j].kind) {
            Some(InstKind::Branch { cond, .. }) => *cond == result && self.uses[result.index()] == 1,
            _ => false,
        };
        if let Some((_, x, mask)) = st.mask_of.filter(|m| m.0 == a && fuse) {
            st.fused_mask = Some((cc == IntCC::Eq, x, mask));
        } else if fuse {
            st.fused = Some((cc2, w, ra, rb));
        } else {
            match rb {
                Ok(rb) => self.emit(Op::Icmp { cc: cc2, w, d: dst, a: ra, b: rb }),
                Err(imm) => self.emit(Op::IcmpImm { cc: cc2, w, d: dst, a: ra, imm }),
            };
        }
        Ok(())
    }

    /// A conversion, checked against its operand and result types.
    fn emit_convert(&mut self, d: &InstData, i: Inst, op: ConvOp, a: Value, to: Type) -> Result<(), String> {
        let from = self.ty(a)?;
        let ok = match op {
            ConvOp::Sext | ConvOp::Uext | ConvOp::Trunc => !from.is_float() && !to.is_float(),
            ConvOp::FPromote => from == Type::F32 && to == Type::F64,
            ConvOp::FDemote => from == Type::F64 && to == Type::F32,
            ConvOp::FToS | ConvOp::FToU => from.is_float() && !to.is_float(),
            ConvOp::SToF | ConvOp::UToF => !from.is_float() && to.is_float(),
            ConvOp::Bitcast => from.bytes() == to.bytes(),
        };
        if !ok {
            return err(self.f, format!("{}: {:?} from {} to {}", i, op, from.name(), to.name()));
        }
        let (dst, a) = (self.result(d, i, 0)?, self.r(a)?);
        let o = match (op, from, to) {
            (ConvOp::Trunc | ConvOp::Uext, _, t) => Op::Trunc { w: W::of(t), d: dst, a },
            (ConvOp::Sext, fr, t) => Op::Sext { from: W::of(fr), to: W::of(t), d: dst, a },
            (ConvOp::SToF, Type::I64, Type::F64) => Op::I64ToF64 { d: dst, a },
            (ConvOp::FToS, Type::F64, Type::I64) => Op::F64ToI64 { d: dst, a },
            _ => Op::Conv { op, from, to, d: dst, a },
        };
        self.emit(o);
        Ok(())
    }

    /// The address register(s) and offset of a load or store at `addr + offset`: a folded
    /// `x + y` pair, or the address register with folded constant offsets added.
    fn address(&self, addr: Value, offset: i32) -> Result<(R, Option<R>, i32), String> {
        let off = offset.wrapping_add(self.plan.addr_off.get(addr.index()).copied().unwrap_or(0));
        let a = self.r(addr)?;
        Ok(match self.plan.pair.get(addr.index()).copied().flatten() {
            Some((x, y)) => (self.reg[x.index()], Some(self.reg[y.index()]), off),
            None => (a, None, off),
        })
    }

    /// A load, width-specialised.
    fn emit_load(&mut self, d: &InstData, i: Inst, ty: Type, addr: Value, offset: i32) -> Result<(), String> {
        let dst = self.result(d, i, 0)?;
        let (a, b, off) = self.address(addr, offset)?;
        let o = match (W::of(ty), b) {
            (W::B8, Some(b)) => Op::Load8X { d: dst, a, b },
            (W::B16, Some(b)) => Op::Load16X { d: dst, a, b },
            (W::B32, Some(b)) => Op::Load32X { d: dst, a, b },
            (W::B64, Some(b)) => Op::Load64X { d: dst, a, b },
            (W::B8, None) => Op::Load8 { d: dst, a, off },
            (W::B16, None) => Op::Load16 { d: dst, a, off },
            (W::B32, None) => Op::Load32 { d: dst, a, off },
            (W::B64, None) => Op::Load64 { d: dst, a, off },
        };
        self.emit(o);
        Ok(())
    }

    /// A store, width-specialised (an f64 store never carries a pointer).
    fn emit_store(&mut self, addr: Value, offset: i32, value: Value) -> Result<(), String> {
        let is_float = self.ty(value)? == Type::F64;
        let w = W::of(self.ty(value)?);
        let (a, b, off) = self.address(addr, offset)?;
        let v = self.r(value)?;
        let o = match (w, b) {
            (W::B8, Some(b)) => Op::Store8X { a, b, v },
            (W::B16, Some(b)) => Op::Store16X { a, b, v },
            (W::B32, Some(b)) => Op::Store32X { a, b, v },
            (W::B64, Some(b)) if is_float => Op::Store64FX { a, b, v },
            (W::B64, Some(b)) => Op::Store64X { a, b, v },
            (W::B8, None) => Op::Store8 { a, v, off },
            (W::B16, None) => Op::Store16 { a, v, off },
            (W::B32, None) => Op::Store32 { a, v, off },
            (W::B64, None) if is_float => Op::Store64F { a, v, off },
            (W::B64, None) => Op::Store64 { a, v, off },
        };
        self.emit(o);
        Ok(())
    }

    /// A direct call. Arity is checked here, against the callee's signature, so calls and
    /// returns need no count checks at run time.
    fn emit_call(&mut self, d: &InstData, i: Inst, func: sx_ir::FuncId, args: &[Value]) -> Result<(), String> {
        let m = self.m;
        if let Some(callee) = m.funcs.get(func) {
            if callee.sig.params.len() != args.len() || callee.sig.returns.len() != d.results.len() {
                return err(self.f, format!("{}: call of `{}` does not match its signature", i, callee.name));
            }
        }
        let list = self.call_list(args, &d.results)?;
        let frames_dump = m.funcs.get(func).is_some_and(|c| {
            c.name.split('.').next() == Some(sx_ir::COMPTIME_FRAMES_FUNC) && c.sig.params.is_empty() && c.sig.returns.is_empty()
        });
        if frames_dump {
            self.emit(Op::CallNative { native: Native::ComptimeFrames, ext: u32::MAX, list });
        } else {
            self.emit(Op::Call { func: func.0, list });
        }
        Ok(())
    }

    /// A call of an extern: native model, compiler request or foreign call.
    fn emit_call_extern(&mut self, d: &InstData, i: Inst, ext: sx_ir::ExternId, args: &[Value]) -> Result<(), String> {
        let m = self.m;
        let e = match m.externs.get(ext) {
            Some(e) => e,
            None => return err(self.f, format!("{}: missing {}", i, ext)),
        };
        if e.sig.params.len() != args.len() || e.sig.returns.len() != d.results.len() {
            return err(self.f, format!("{}: call of `{}` does not match its signature", i, e.symbol));
        }
        let list = self.call_list(args, &d.results)?;
        let o = match Native::by_symbol(&e.symbol) {
            Some(native) => Op::CallNative { native, ext: ext.0, list },
            None if e.symbol.starts_with(COMPILER_CALL_PREFIX) => Op::CallCompiler { ext: ext.0, list },
            None => Op::CallForeign { ext: ext.0, list },
        };
        self.emit(o);
        Ok(())
    }

    /// Emits a conditional jump taken when the branch condition `c` is `when` (using a fused
    /// mask test or compare when there is one).
    fn cond_jump(&mut self, c: R, when: bool, st: &BlockState) -> usize {
        if let Some((eq, a, mask)) = st.fused_mask {
            // Taken when `(x & mask == 0) == eq` holds (`when`) or fails.
            return if eq == when { self.emit(Op::BrMaskZ { a, mask, t: 0 }) } else { self.emit(Op::BrMaskNZ { a, mask, t: 0 }) };
        }
        match st.fused {
            Some((cc, w, a, rb)) => {
                let cc = if when { cc } else { invert(cc) };
                self.emit(br_op(cc, w, a, rb))
            }
            None => {
                if when {
                    self.emit(Op::BrIf { c, t: 0 })
                } else {
                    self.emit(Op::BrIfNot { c, t: 0 })
                }
            }
        }
    }

    /// A two-way branch: a conditional jump to the successor without edge copies (falling
    /// through to the other when it is next in layout), edge copies and jumps.
    fn emit_branch(
        &mut self,
        cond: Value,
        (then_dest, then_args): (Block, &[Value]),
        (else_dest, else_args): (Block, &[Value]),
        next_block: Option<Block>,
        st: &BlockState,
    ) -> Result<(), String> {
        let c = self.r(cond)?;
        let then_next = Some(then_dest) == next_block;
        if else_args.is_empty() && then_next {
            let at = self.cond_jump(c, false, st);
            self.fixups.push((at, else_dest));
            self.edge_copies(then_dest, then_args)?;
        } else if then_args.is_empty() {
            let at = self.cond_jump(c, true, st);
            self.fixups.push((at, then_dest));
            self.edge_copies(else_dest, else_args)?;
            self.jump_to(else_dest, next_block);
        } else if else_args.is_empty() {
            let at = self.cond_jump(c, false, st);
            self.fixups.push((at, else_dest));
            self.edge_copies(then_dest, then_args)?;
            self.jump_to(then_dest, next_block);
        } else {
            let at = self.cond_jump(c, false, st);
            self.edge_copies(then_dest, then_args)?;
            self.jump_to(then_dest, None);
            let here = self.ops.len() as u32;
            self.ops[at].set_target(here);
            self.barrier = here as usize + 1;
            self.edge_copies(else_dest, else_args)?;
            self.jump_to(else_dest, next_block);
        }
        // Validate destinations even when args are empty.
        for dest in [then_dest, else_dest] {
            if self.f.blocks.get(dest).is_none() {
                return err(self.f, format!("branch to missing {}", dest));
            }
        }
        Ok(())
    }

    /// A return of `values` (checked against the signature).
    fn emit_return(&mut self, i: Inst, values: &[Value]) -> Result<(), String> {
        if values.len() != self.f.sig.returns.len() {
            return err(self.f, format!("{}: returns {} values, the signature {}", i, values.len(), self.f.sig.returns.len()));
        }
        let o = match values.len() {
            0 => Op::Ret0 {},
            1 => Op::Ret1 { r: self.r(values[0])? },
            n => {
                let mut l = vec![n as u32];
                for v in values {
                    l.push(self.r(*v)?);
                }
                Op::Ret { list: self.list(&l) }
            }
        };
        self.emit(o);
        Ok(())
    }

    /// Points every pending jump at its block's first op.
    pub fn resolve_fixups(&mut self) -> Result<(), String> {
        for (at, b) in std::mem::take(&mut self.fixups) {
            let t = match self.block_start.get(b.index()) {
                Some(&t) if t != u32::MAX => t,
                _ => return err(self.f, format!("jump to missing {}", b)),
            };
            self.ops[at].set_target(t);
        }
        Ok(())
    }
}

/// The compare-and-branch op for `a cc b` (`b` a register or an immediate), specialised where
/// the width does not matter or is 64 bits.
fn br_op(cc: IntCC, w: W, a: R, b: Result<R, i32>) -> Op {
    use IntCC::*;
    let t = 0;
    match b {
        Ok(b) => match (cc, w) {
            (Eq, _) => Op::BrEq { a, b, t },
            (Ne, _) => Op::BrNe { a, b, t },
            // Canonical values are zero-extended: unsigned order is width-independent.
            (Ult, _) => Op::BrUlt { a, b, t },
            (Uge, _) => Op::BrUge { a, b, t },
            (Ugt, _) => Op::BrUlt { a: b, b: a, t },
            (Ule, _) => Op::BrUge { a: b, b: a, t },
            (Slt, W::B64) => Op::BrSlt { a, b, t },
            (Sle, W::B64) => Op::BrSle { a, b, t },
            (Sgt, W::B64) => Op::BrSgt { a, b, t },
            (Sge, W::B64) => Op::BrSge { a, b, t },
            (Slt | Sle | Sgt | Sge, W::B8 | W::B16 | W::B32) => Op::BrCmp { cc, w, a, b, t },
        },
        Err(imm) => {
            // The immediate as `imm as i64 as u64` equals its canonical value of width `w`.
            let same = w == W::B64 || (imm >= 0 && w.mask(imm as u64) == imm as u64);
            match cc {
                Eq if same => Op::BrEqI { a, imm, t },
                Ne if same => Op::BrNeI { a, imm, t },
                Ult if same => Op::BrUltI { a, imm, t },
                Uge if same => Op::BrUgeI { a, imm, t },
                Slt if w == W::B64 => Op::BrSltI { a, imm, t },
                Sle if w == W::B64 => Op::BrSleI { a, imm, t },
                Sgt if w == W::B64 => Op::BrSgtI { a, imm, t },
                Sge if w == W::B64 => Op::BrSgeI { a, imm, t },
                Eq | Ne | Ult | Uge | Slt | Sle | Sgt | Sge | Ugt | Ule => Op::BrCmpImm { cc, w, a, imm, t },
            }
        }
    }
}
