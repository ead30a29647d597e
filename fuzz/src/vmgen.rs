//! The generator of the `vm` fuzz targets: arbitrary bytes decoded into an `sx_ir` module
//! (see `fuzz_targets/vm.rs` for what it builds), shared by `vm` (no panic, determinism) and
//! `vm_jit` (the interpreter against the native tier).

use arbitrary::{Result, Unstructured};
use sx_ir::builder::FunctionBuilder;
use sx_ir::*;

/// The integer types.
pub const INT_TYPES: [Type; 4] = [Type::I8, Type::I16, Type::I32, Type::I64];
/// Every scalar type.
pub const ALL_TYPES: [Type; 6] = [Type::I8, Type::I16, Type::I32, Type::I64, Type::F32, Type::F64];

/// The externs the generator may call: `(symbol, params, returns)`.
pub const EXTERNS: &[(&str, &[Type], &[Type])] = &[
    ("malloc", &[Type::I64], &[Type::I64]),
    ("free", &[Type::I64], &[]),
    ("memcpy", &[Type::I64, Type::I64, Type::I64], &[Type::I64]),
    ("memmove", &[Type::I64, Type::I64, Type::I64], &[Type::I64]),
    ("memset", &[Type::I64, Type::I32, Type::I64], &[Type::I64]),
    ("memcmp", &[Type::I64, Type::I64, Type::I64], &[Type::I32]),
    ("write", &[Type::I32, Type::I64, Type::I64], &[Type::I64]),
    ("strlen", &[Type::I64], &[Type::I64]),
    ("calloc", &[Type::I64, Type::I64], &[Type::I64]),
    ("realloc", &[Type::I64, Type::I64], &[Type::I64]),
    ("puts", &[Type::I64], &[Type::I32]),
    ("putchar", &[Type::I32], &[Type::I32]),
    ("exit", &[Type::I32], &[]),
    ("abort", &[], &[]),
    ("toupper", &[Type::I32], &[Type::I32]),
    ("abs", &[Type::I32], &[Type::I32]),
    ("labs", &[Type::I64], &[Type::I64]),
    ("sqrt", &[Type::F64], &[Type::F64]),
    ("pow", &[Type::F64, Type::F64], &[Type::F64]),
    ("floor", &[Type::F32], &[Type::F32]),
    ("clock_gettime", &[Type::I32, Type::I64], &[Type::I32]),
    ("getenv", &[Type::I64], &[Type::I64]),
    ("read", &[Type::I32, Type::I64, Type::I64], &[Type::I64]),
    ("sx_fuzz_unknown", &[Type::I64], &[Type::I64]),
    // Compiler requests: the VM suspends (`Outcome::CompilerCall`); `serve` answers them.
    ("__sx_compiler.ask", &[Type::I64], &[Type::I64]),
    ("__sx_compiler.note", &[], &[]),
];

/// Answers the compiler requests of a suspended evaluation (at most 16, then abandons it):
/// `ask` gets a value derived from its argument, `note` nothing, anything else a wrong number
/// of results (which must be an error, not a panic).
pub fn serve(
    vm: &mut sx_vm::Vm,
    m: &sx_ir::Module,
    mut r: Result<sx_vm::Outcome, sx_vm::VmError>,
) -> Result<sx_vm::Outcome, sx_vm::VmError> {
    for _ in 0..16 {
        let Ok(sx_vm::Outcome::CompilerCall { name, args }) = &r else { return r };
        let results = match name.as_str() {
            "ask" => vec![args.first().copied().unwrap_or(0).wrapping_mul(31) ^ 7],
            "note" => vec![],
            _ => vec![1, 2, 3],
        };
        r = vm.resume(m, &results);
    }
    if matches!(r, Ok(sx_vm::Outcome::CompilerCall { .. })) {
        vm.abandon();
    }
    r
}

fn pick<T: Copy>(u: &mut Unstructured, xs: &[T]) -> Result<T> {
    Ok(*u.choose(xs)?)
}

fn small_sig(u: &mut Unstructured) -> Result<Signature> {
    let np = u.int_in_range(0..=3)?;
    let nr = u.int_in_range(0..=2)?;
    let mut s = Signature::default();
    for _ in 0..np {
        s.params.push(pick(u, &ALL_TYPES)?);
    }
    for _ in 0..nr {
        s.returns.push(pick(u, &ALL_TYPES)?);
    }
    Ok(s)
}

/// Values usable at the current point, by type.
#[derive(Default, Clone)]
struct Pool {
    by_ty: [Vec<Value>; 6],
}

fn ty_ix(t: Type) -> usize {
    match t {
        Type::I8 => 0,
        Type::I16 => 1,
        Type::I32 => 2,
        Type::I64 => 3,
        Type::F32 => 4,
        Type::F64 => 5,
    }
}

impl Pool {
    fn add(&mut self, t: Type, v: Value) {
        self.by_ty[ty_ix(t)].push(v);
    }
}

/// Interesting integer constants (boundaries, pointer-ish values, small offsets).
pub fn interesting_int(u: &mut Unstructured) -> Result<i64> {
    Ok(match u.int_in_range(0..=11)? {
        0 => 0,
        1 => 1,
        2 => -1,
        3 => i64::MIN,
        4 => i64::MAX,
        5 => i32::MIN as i64,
        6 => u32::MAX as i64,
        7 => (u.int_in_range(1..=8u32)? as i64) << 32, // an allocation-id-shaped pointer
        8 => ((u.int_in_range(1..=8u32)? as i64) << 32) | u.int_in_range(0..=64i64)?,
        9 => u.int_in_range(-16..=80)?,
        10 => i16::MIN as i64,
        _ => u.arbitrary()?,
    })
}

struct Gen<'m> {
    m: &'m Module,
    sigs: Vec<Signature>,
    ext_ids: Vec<ExternId>,
}

impl Gen<'_> {
    /// A value of type `t` from the pool, or a fresh constant.
    fn val(&self, u: &mut Unstructured, b: &mut FunctionBuilder, pool: &mut Pool, t: Type) -> Result<Value> {
        let vs = &pool.by_ty[ty_ix(t)];
        if !vs.is_empty() && u.ratio(3, 4)? {
            return Ok(*u.choose(vs)?);
        }
        let v = if t.is_float() {
            let x = match u.int_in_range(0..=5)? {
                0 => 0.0,
                1 => f64::NAN,
                2 => f64::INFINITY,
                3 => -1.5,
                4 => 1e19,
                _ => u.arbitrary()?,
            };
            b.fconst(t, x)
        } else {
            let k = interesting_int(u)?;
            b.iconst(t, k)
        };
        pool.add(t, v);
        Ok(v)
    }

    fn args(&self, u: &mut Unstructured, b: &mut FunctionBuilder, pool: &mut Pool, tys: &[Type]) -> Result<Vec<Value>> {
        let mut out = Vec::with_capacity(tys.len());
        for &t in tys {
            out.push(self.val(u, b, pool, t)?);
        }
        Ok(out)
    }

    /// One non-terminator instruction.
    fn inst(&self, u: &mut Unstructured, b: &mut FunctionBuilder, pool: &mut Pool, nslots: u32) -> Result<()> {
        let ptr = Type::I64;
        match u.int_in_range(0..=19)? {
            0 => {
                let t = pick(u, &ALL_TYPES)?;
                let _ = self.val(u, b, pool, t)?;
            }
            1 | 2 => {
                let float = u.ratio(1, 4)?;
                let (t, op) = if float {
                    (pick(u, &[Type::F32, Type::F64])?, pick(u, &[BinOp::Fadd, BinOp::Fsub, BinOp::Fmul, BinOp::Fdiv])?)
                } else {
                    use BinOp::*;
                    (pick(u, &INT_TYPES)?, pick(u, &[Iadd, Isub, Imul, Sdiv, Udiv, Srem, Urem, And, Or, Xor, Shl, Sshr, Ushr])?)
                };
                let x = self.val(u, b, pool, t)?;
                let shift = matches!(op, BinOp::Shl | BinOp::Sshr | BinOp::Ushr);
                let bt = if shift { pick(u, &INT_TYPES)? } else { t };
                let y = self.val(u, b, pool, bt)?;
                let r = b.binary(op, x, y);
                pool.add(t, r);
            }
            3 => {
                let float = u.arbitrary()?;
                let (t, op) = if float {
                    (pick(u, &[Type::F32, Type::F64])?, UnOp::Fneg)
                } else {
                    (pick(u, &INT_TYPES)?, pick(u, &[UnOp::Ineg, UnOp::Bnot])?)
                };
                let x = self.val(u, b, pool, t)?;
                let r = b.unary(op, x);
                pool.add(t, r);
            }
            4 => {
                use IntCC::*;
                let t = pick(u, &INT_TYPES)?;
                let cc = pick(u, &[Eq, Ne, Slt, Sle, Sgt, Sge, Ult, Ule, Ugt, Uge])?;
                let x = self.val(u, b, pool, t)?;
                let y = self.val(u, b, pool, t)?;
                let r = b.icmp(cc, x, y);
                pool.add(Type::I8, r);
            }
            5 => {
                use FloatCC::*;
                let t = pick(u, &[Type::F32, Type::F64])?;
                let cc = pick(u, &[Eq, Ne, Lt, Le, Gt, Ge])?;
                let x = self.val(u, b, pool, t)?;
                let y = self.val(u, b, pool, t)?;
                let r = b.fcmp(cc, x, y);
                pool.add(Type::I8, r);
            }
            6 => {
                use ConvOp::*;
                let op = pick(u, &[Sext, Uext, Trunc, FPromote, FDemote, FToS, FToU, SToF, UToF, Bitcast])?;
                // Mostly sensible (from, to) pairs; sometimes anything.
                let (from, to) = if u.ratio(1, 8)? {
                    (pick(u, &ALL_TYPES)?, pick(u, &ALL_TYPES)?)
                } else {
                    match op {
                        Sext | Uext => {
                            let a = u.int_in_range(0..=2usize)?;
                            let c = u.int_in_range(a + 1..=3)?;
                            (INT_TYPES[a], INT_TYPES[c])
                        }
                        Trunc => {
                            let a = u.int_in_range(1..=3usize)?;
                            let c = u.int_in_range(0..=a - 1)?;
                            (INT_TYPES[a], INT_TYPES[c])
                        }
                        FPromote => (Type::F32, Type::F64),
                        FDemote => (Type::F64, Type::F32),
                        FToS | FToU => (pick(u, &[Type::F32, Type::F64])?, pick(u, &INT_TYPES)?),
                        SToF | UToF => (pick(u, &INT_TYPES)?, pick(u, &[Type::F32, Type::F64])?),
                        Bitcast => {
                            pick(u, &[(Type::I32, Type::F32), (Type::F32, Type::I32), (Type::I64, Type::F64), (Type::F64, Type::I64)])?
                        }
                    }
                };
                let x = self.val(u, b, pool, from)?;
                let r = b.convert(op, x, to);
                pool.add(to, r);
            }
            7 => {
                let t = pick(u, &ALL_TYPES)?;
                let c = self.val(u, b, pool, Type::I8)?;
                let x = self.val(u, b, pool, t)?;
                let y = self.val(u, b, pool, t)?;
                let r = b.select(c, x, y);
                pool.add(t, r);
            }
            8 | 9 => {
                // Load through a pointer-sized value (often a real address, sometimes garbage).
                let t = pick(u, &ALL_TYPES)?;
                let a = self.val(u, b, pool, ptr)?;
                let off = if u.ratio(7, 8)? { u.int_in_range(-8..=72)? } else { u.arbitrary()? };
                let r = b.load(t, a, off);
                pool.add(t, r);
            }
            10 | 11 => {
                let t = pick(u, &ALL_TYPES)?;
                let a = self.val(u, b, pool, ptr)?;
                let v = self.val(u, b, pool, t)?;
                let off = if u.ratio(7, 8)? { u.int_in_range(-8..=72)? } else { u.arbitrary()? };
                b.store(a, off, v);
            }
            12 => {
                if nslots > 0 {
                    let s = Slot(u.int_in_range(0..=nslots - 1)?);
                    let r = b.stack_addr(s, ptr);
                    pool.add(ptr, r);
                }
            }
            13 => {
                if !self.m.datas.is_empty() {
                    let d = DataId(u.int_in_range(0..=self.m.datas.len() as u32 - 1)?);
                    let r = b.data_addr(d, ptr);
                    pool.add(ptr, r);
                } else if !self.sigs.is_empty() {
                    let f = FuncId(u.int_in_range(0..=self.sigs.len() as u32 - 1)?);
                    let r = b.func_addr(f, ptr);
                    pool.add(ptr, r);
                }
            }
            14 => {
                if !self.sigs.is_empty() {
                    let fi = u.int_in_range(0..=self.sigs.len() - 1)?;
                    let sig = self.sigs[fi].clone();
                    let args = self.args(u, b, pool, &sig.params)?;
                    let rs = b.call(FuncId(fi as u32), args, &sig.returns);
                    for (r, t) in rs.into_iter().zip(sig.returns) {
                        pool.add(t, r);
                    }
                }
            }
            15 | 16 => {
                if !self.ext_ids.is_empty() {
                    let e = *u.choose(&self.ext_ids)?;
                    let sig = self.m.externs[e].sig.clone();
                    let args = self.args(u, b, pool, &sig.params)?;
                    let rs = b.call_extern(e, args, &sig.returns);
                    for (r, t) in rs.into_iter().zip(sig.returns) {
                        pool.add(t, r);
                    }
                }
            }
            17 => {
                // Indirect call: usually through a function address with its own signature,
                // sometimes with a mismatched one or through a non-function pointer.
                let (callee, sig) = if !self.sigs.is_empty() && u.ratio(3, 4)? {
                    let fi = u.int_in_range(0..=self.sigs.len() - 1)?;
                    let c = b.func_addr(FuncId(fi as u32), ptr);
                    let sig = if u.ratio(7, 8)? { self.sigs[fi].clone() } else { small_sig(u)? };
                    (c, sig)
                } else {
                    (self.val(u, b, pool, ptr)?, small_sig(u)?)
                };
                let args = self.args(u, b, pool, &sig.params)?;
                let rets = sig.returns.clone();
                let rs = b.call_indirect(sig, callee, args);
                for (r, t) in rs.into_iter().zip(rets) {
                    pool.add(t, r);
                }
            }
            18 => {
                let d = self.val(u, b, pool, ptr)?;
                let s = self.val(u, b, pool, ptr)?;
                let n = if u.ratio(3, 4)? { b.iconst(ptr, u.int_in_range(0..=80)?) } else { self.val(u, b, pool, ptr)? };
                b.memcopy(d, s, n);
            }
            _ => {
                let d = self.val(u, b, pool, ptr)?;
                let bt = pick(u, &INT_TYPES)?;
                let byte = self.val(u, b, pool, bt)?;
                let n = if u.ratio(3, 4)? { b.iconst(ptr, u.int_in_range(0..=80)?) } else { self.val(u, b, pool, ptr)? };
                b.memfill(d, byte, n);
            }
        }
        Ok(())
    }

    /// Builds the body of a function with signature `sig`.
    fn body(&self, u: &mut Unstructured, f: &mut Function) -> Result<()> {
        let sig = f.sig.clone();
        let mut b = FunctionBuilder::new(f);
        let nslots = u.int_in_range(0..=3u32)?;
        for _ in 0..nslots {
            let size = if u.ratio(7, 8)? { u.int_in_range(0..=64)? } else { u.arbitrary()? };
            let align = pick(u, &[1, 2, 4, 8, 16, 0, 3, 4096])?;
            b.create_slot(size, align);
        }
        let nblocks = u.int_in_range(1..=6usize)?;
        let blocks: Vec<Block> = (0..nblocks).map(|_| b.create_block()).collect();
        let mut entry_pool = Pool::default();
        for &t in &sig.params {
            let v = b.append_block_param(blocks[0], t);
            entry_pool.add(t, v);
        }
        for &blk in &blocks[1..] {
            for _ in 0..u.int_in_range(0..=3)? {
                let t = pick(u, &ALL_TYPES)?;
                b.append_block_param(blk, t);
            }
        }
        for (bi, &blk) in blocks.iter().enumerate() {
            // Entry values dominate every block; other blocks see their own parameters.
            let mut pool = entry_pool.clone();
            if bi > 0 {
                for &p in &b.func.blocks[blk].params.clone() {
                    let t = b.func.values[p].ty;
                    pool.add(t, p);
                }
            }
            b.switch_to_block(blk);
            let ninsts = u.int_in_range(0..=12)?;
            for _ in 0..ninsts {
                if u.is_empty() {
                    break;
                }
                self.inst(u, &mut b, &mut pool, nslots)?;
            }
            // Terminator.
            let edge = |u: &mut Unstructured, b: &mut FunctionBuilder, pool: &mut Pool| -> Result<(Block, Vec<Value>)> {
                // Forward edges mostly (so that the function terminates), back edges sometimes.
                let d = if bi + 1 < nblocks && u.ratio(3, 4)? {
                    u.int_in_range(bi + 1..=nblocks - 1)?
                } else {
                    u.int_in_range(1.min(nblocks - 1)..=nblocks - 1)?
                };
                let dest = blocks[d];
                let tys: Vec<Type> = b.func.blocks[dest].params.iter().map(|&p| b.func.values[p].ty).collect();
                let args = self.args(u, b, pool, &tys)?;
                Ok((dest, args))
            };
            let choice = if nblocks == 1 { u.int_in_range(2..=3)? } else { u.int_in_range(0..=3)? };
            match choice {
                0 => {
                    let (d, a) = edge(u, &mut b, &mut pool)?;
                    b.jump(d, a);
                }
                1 => {
                    let c = self.val(u, &mut b, &mut pool, Type::I8)?;
                    let (d1, a1) = edge(u, &mut b, &mut pool)?;
                    let (d2, a2) = edge(u, &mut b, &mut pool)?;
                    b.branch(c, d1, a1, d2, a2);
                }
                2 => {
                    let vs = self.args(u, &mut b, &mut pool, &sig.returns)?;
                    b.ret(vs);
                }
                _ => {
                    if u.ratio(1, 3)? {
                        b.trap(TrapCode::User(u.arbitrary()?));
                    } else {
                        let vs = self.args(u, &mut b, &mut pool, &sig.returns)?;
                        b.ret(vs);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A module of 1–4 generated functions (function 0 is the entry).
pub fn gen_module(u: &mut Unstructured) -> Result<Module> {
    let mut m = Module::new(Target::X86_64Linux);
    // Externs: a few of the natively implemented ones, occasionally with a wrong signature.
    let next = u.int_in_range(0..=5)?;
    let mut ext_ids = Vec::new();
    for _ in 0..next {
        let &(sym, params, rets) = u.choose(EXTERNS)?;
        let sig = if u.ratio(1, 10)? { small_sig(u)? } else { Signature { params: params.to_vec(), returns: rets.to_vec() } };
        let id = m.declare_extern(sym, sig);
        if !ext_ids.contains(&id) {
            ext_ids.push(id);
        }
    }
    // Functions: signatures first, so that bodies can call any of them.
    let nfuncs = u.int_in_range(1..=4usize)?;
    let mut sigs = Vec::new();
    for i in 0..nfuncs {
        let sig = if i == 0 && u.ratio(1, 2)? { Signature { params: vec![], returns: vec![Type::I32] } } else { small_sig(u)? };
        sigs.push(sig);
    }
    // Data objects, relocations to data and functions.
    let ndata = u.int_in_range(0..=3usize)?;
    for i in 0..ndata {
        let len = u.int_in_range(0..=48usize)?;
        let mut bytes = vec![0u8; len];
        u.fill_buffer(&mut bytes)?;
        let mut relocs = Vec::new();
        if len >= 8 {
            for _ in 0..u.int_in_range(0..=2)? {
                let offset = u.int_in_range(0..=(len - 8) as u32)?;
                let target = if u.arbitrary()? {
                    RelocTarget::Data(DataId(u.int_in_range(0..=ndata as u32 - 1)?))
                } else {
                    RelocTarget::Func(FuncId(u.int_in_range(0..=nfuncs as u32 - 1)?))
                };
                relocs.push(Reloc { offset, target, addend: u.int_in_range(-4..=16)? });
            }
        }
        m.add_data(Data { name: format!("d{}", i), bytes, align: pick(u, &[1, 2, 4, 8, 16, 0, 3])?, relocs, writable: u.arbitrary()? });
    }
    // A function without parameters or results is sometimes the comptime frame printer the VM
    // intercepts calls of (`sx_ir::COMPTIME_FRAMES_FUNC`).
    let mut names = Vec::new();
    for (i, sig) in sigs.iter().enumerate() {
        let frames = sig.params.is_empty() && sig.returns.is_empty() && i > 0 && u.ratio(1, 3)?;
        let name = if frames { format!("{}.{}", sx_ir::COMPTIME_FRAMES_FUNC, i) } else { format!("f{}", i) };
        m.funcs.push(Function::new(name.clone(), sig.clone()));
        names.push(name);
    }
    let mut bodies = Vec::new();
    {
        let g = Gen { m: &m, sigs: sigs.clone(), ext_ids };
        for (i, sig) in sigs.iter().enumerate() {
            let mut f = Function::new(names[i].clone(), sig.clone());
            // A declared-only function now and then (calling it must be an error).
            if i == 0 || u.ratio(7, 8)? {
                g.body(u, &mut f)?;
            }
            bodies.push(f);
        }
    }
    for (i, f) in bodies.into_iter().enumerate() {
        m.funcs[FuncId(i as u32)] = f;
    }
    m.entry = Some(FuncId(0));
    Ok(m)
}

/// Breaks a well-formed module in one of many ways (several, possibly).
pub fn corrupt(u: &mut Unstructured, m: &mut Module) -> Result<()> {
    for _ in 0..u.int_in_range(1..=3)? {
        let fi = FuncId(u.int_in_range(0..=m.funcs.len() as u32 - 1)?);
        let nvals = m.funcs[fi].values.len() as u32;
        let ninsts = m.funcs[fi].insts.len() as u32;
        let nblocks = m.funcs[fi].blocks.len() as u32;
        let wild_val = |u: &mut Unstructured| -> Result<Value> {
            Ok(Value(if u.ratio(1, 2)? { u.int_in_range(0..=nvals + 3)? } else { u.arbitrary()? }))
        };
        let wild_block = |u: &mut Unstructured| -> Result<Block> {
            Ok(Block(if u.ratio(3, 4)? { u.int_in_range(0..=nblocks + 2)? } else { u.arbitrary()? }))
        };
        let choice = u.int_in_range(0..=15)?;
        if choice >= 14 {
            corrupt_module(u, m, fi, choice)?;
            continue;
        }
        let f = &mut m.funcs[fi];
        match choice {
            // Replace an operand by an arbitrary (maybe undefined, maybe mistyped) value.
            0 | 1 if ninsts > 0 => {
                let i = Inst(u.int_in_range(0..=ninsts - 1)?);
                let n = f.insts[i].kind.operands().len();
                if n > 0 {
                    let k = u.int_in_range(0..=n - 1)?;
                    let nv = wild_val(u)?;
                    let mut j = 0;
                    f.insts[i].kind.for_each_operand_mut(|v| {
                        if j == k {
                            *v = nv;
                        }
                        j += 1;
                    });
                }
            }
            // Retarget an edge to an arbitrary (maybe missing) block.
            2 if ninsts > 0 => {
                let i = Inst(u.int_in_range(0..=ninsts - 1)?);
                let nb = wild_block(u)?;
                match &mut f.insts[i].kind {
                    InstKind::Jump { dest, .. } => *dest = nb,
                    InstKind::Branch { then_dest, else_dest, .. } => {
                        if u.arbitrary()? {
                            *then_dest = nb
                        } else {
                            *else_dest = nb
                        }
                    }
                    _ => {}
                }
            }
            // Drop an argument of an edge, call or return.
            3 if ninsts > 0 => {
                let i = Inst(u.int_in_range(0..=ninsts - 1)?);
                match &mut f.insts[i].kind {
                    InstKind::Jump { args, .. }
                    | InstKind::Call { args, .. }
                    | InstKind::CallExtern { args, .. }
                    | InstKind::CallIndirect { args, .. }
                    | InstKind::Return { values: args } => {
                        args.pop();
                    }
                    InstKind::Branch { then_args, else_args, .. } => {
                        then_args.pop();
                        else_args.push(Value(0));
                    }
                    _ => {}
                }
            }
            // Remove an instruction from its block (often a terminator).
            4 if nblocks > 0 => {
                let b = Block(u.int_in_range(0..=nblocks - 1)?);
                let insts = &mut f.blocks[b].insts;
                if !insts.is_empty() {
                    if u.ratio(1, 2)? {
                        insts.pop();
                    } else {
                        let k = u.int_in_range(0..=insts.len() - 1)?;
                        insts.remove(k);
                    }
                }
            }
            // List an instruction twice / in another block, or a missing instruction.
            5 if nblocks > 0 && ninsts > 0 => {
                let b = Block(u.int_in_range(0..=nblocks - 1)?);
                let i = Inst(if u.ratio(3, 4)? { u.int_in_range(0..=ninsts - 1)? } else { u.int_in_range(0..=ninsts + 5)? });
                let insts = &mut f.blocks[b].insts;
                let at = u.int_in_range(0..=insts.len())?;
                insts.insert(at, i);
            }
            // Change result/param types, or result counts.
            6 if nvals > 0 => {
                let v = Value(u.int_in_range(0..=nvals - 1)?);
                f.values[v].ty = pick(u, &ALL_TYPES)?;
            }
            7 if ninsts > 0 => {
                let i = Inst(u.int_in_range(0..=ninsts - 1)?);
                if u.arbitrary()? {
                    f.insts[i].results.pop();
                } else {
                    let nv = wild_val(u)?;
                    f.insts[i].results.push(nv);
                }
            }
            // Change an entry parameter / the signature.
            8 => {
                if u.arbitrary()? {
                    f.sig.params.push(pick(u, &ALL_TYPES)?);
                } else if u.arbitrary()? {
                    f.sig.params.pop();
                } else {
                    f.sig.returns = small_sig(u)?.returns;
                }
            }
            9 if nblocks > 0 => {
                let b = Block(u.int_in_range(0..=nblocks - 1)?);
                let nv = wild_val(u)?;
                if u.arbitrary()? {
                    f.blocks[b].params.push(nv);
                } else {
                    f.blocks[b].params.pop();
                }
            }
            // Dangling references to slots, data, functions, externs.
            10 if ninsts > 0 => {
                let i = Inst(u.int_in_range(0..=ninsts - 1)?);
                let n: u32 = if u.ratio(3, 4)? { u.int_in_range(0..=8)? } else { u.arbitrary()? };
                match &mut f.insts[i].kind {
                    InstKind::StackAddr { slot } => *slot = Slot(n),
                    InstKind::DataAddr { data } => *data = DataId(n),
                    InstKind::FuncAddr { func } => *func = FuncId(n),
                    InstKind::Call { func, .. } => *func = FuncId(n),
                    InstKind::CallExtern { ext, .. } => *ext = ExternId(n),
                    InstKind::Load { ty, .. } => *ty = pick(u, &ALL_TYPES)?,
                    InstKind::Convert { to, .. } => *to = pick(u, &ALL_TYPES)?,
                    InstKind::Iconst { ty, .. } | InstKind::Fconst { ty, .. } => *ty = pick(u, &ALL_TYPES)?,
                    InstKind::Binary { op, .. } => *op = pick(u, &[BinOp::Fadd, BinOp::Iadd, BinOp::Sdiv, BinOp::Fdiv, BinOp::Shl])?,
                    _ => {}
                }
            }
            // Inconsistent value definitions.
            11 if nvals > 0 => {
                let v = Value(u.int_in_range(0..=nvals - 1)?);
                f.values[v].def = if u.arbitrary()? {
                    ValueDef::Result(Inst(u.int_in_range(0..=ninsts + 2)?), u.int_in_range(0..=3)?)
                } else {
                    ValueDef::Param(Block(u.int_in_range(0..=nblocks + 2)?), u.int_in_range(0..=3)?)
                };
            }
            // Append an instruction after the terminator, or an empty block, or drop all blocks.
            12 => {
                let b = Block(u.int_in_range(0..=nblocks.saturating_sub(1))?);
                let mut fb = FunctionBuilder::new(f);
                match u.int_in_range(0..=2)? {
                    0 if nblocks > 0 => {
                        let k =
                            fb.func.insts.push(InstData { kind: InstKind::Iconst { ty: Type::I32, imm: 7 }, results: vec![], span: None });
                        fb.func.blocks[b].insts.push(k);
                    }
                    1 => {
                        fb.create_block();
                    }
                    _ => {
                        fb.func.blocks = Default::default();
                    }
                }
            }
            // Bad slots.
            13 => {
                let size = u.arbitrary()?;
                let align = u.arbitrary()?;
                f.slots.push(SlotData { size, align });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Module-level corruption: bad relocations, bad entry, bad data, duplicate names.
fn corrupt_module(u: &mut Unstructured, m: &mut Module, fi: FuncId, choice: u32) -> Result<()> {
    if choice == 14 {
        if !m.datas.is_empty() {
            let d = DataId(u.int_in_range(0..=m.datas.len() as u32 - 1)?);
            let offset = u.arbitrary()?;
            let target =
                if u.arbitrary()? { RelocTarget::Data(DataId(u.arbitrary()?)) } else { RelocTarget::Func(FuncId(u.int_in_range(0..=9)?)) };
            m.datas[d].relocs.push(Reloc { offset, target, addend: u.arbitrary()? });
            m.datas[d].align = u.arbitrary()?;
        } else {
            m.entry = Some(FuncId(u.int_in_range(0..=9)?));
        }
    } else {
        // Duplicate a function name (caches are keyed by id; names must not confuse them).
        let n = m.funcs.len() as u32;
        let other = FuncId(u.int_in_range(0..=n - 1)?);
        let name = m.funcs[other].name.clone();
        m.funcs[fi].name = name;
    }
    Ok(())
}

/// Every instruction listed in a block exists, and every parameter, result and operand is a
/// value of its function.
pub fn indexable(m: &Module) -> bool {
    m.funcs.values().all(|f| {
        let nv = f.values.len() as u32;
        f.blocks.values().all(|bd| {
            bd.params.iter().all(|v| v.0 < nv)
                && bd.insts.iter().all(|&i| match f.insts.get(i) {
                    None => false,
                    Some(d) => d.results.iter().all(|v| v.0 < nv) && d.kind.operands().iter().all(|v| v.0 < nv),
                })
        })
    })
}

/// The VM budgets of the fuzz targets (small, so every input ends quickly).
pub fn limits() -> sx_vm::VmLimits {
    let mut l = sx_vm::VmLimits::default();
    l.max_steps = 10_000;
    l.max_call_depth = 200;
    l.max_memory = 1 << 20;
    l.max_stack_bytes = 1 << 20;
    l.check_every = 1 << 10;
    l
}
