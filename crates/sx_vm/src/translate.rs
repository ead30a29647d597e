//! Translation of an IR [`Function`] into compact register bytecode ([`Compiled`]).
//!
//! Every SSA value gets a register of the frame (entry-block parameters first, so a caller
//! copies arguments into registers `0..n`), plus one scratch register for breaking cycles in
//! parallel copies. Block parameters are registers too: a jump copies its arguments into the
//! destination's parameter registers as a sequentialized parallel move. Integer constants used
//! only as the right operand of an arithmetic op or comparison are folded into immediates, an
//! `icmp` feeding only the following branch is fused into a compare-and-branch, and jumps to the
//! next block fall through. Branch targets are instruction indices.
//!
//! Register values are canonical: integers are zero-extended from their width, f32 is
//! `to_bits() as u64`, f64 is `to_bits()`.

use sx_diag::Span;
use sx_ir::entity::EntityRef;
use sx_ir::{BinOp, Block, ConvOp, FloatCC, Function, InstKind, IntCC, Module, Signature, TrapCode, Type, UnOp, Value};

/// A register index (relative to the frame base).
pub type R = u32;

/// Integer width of an operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum W {
    B8,
    B16,
    B32,
    B64,
}

impl W {
    pub fn of(t: Type) -> W {
        match t {
            Type::I8 => W::B8,
            Type::I16 => W::B16,
            Type::I32 | Type::F32 => W::B32,
            Type::I64 | Type::F64 => W::B64,
        }
    }
    #[inline(always)]
    pub fn mask(self, v: u64) -> u64 {
        match self {
            W::B8 => v as u8 as u64,
            W::B16 => v as u16 as u64,
            W::B32 => v as u32 as u64,
            W::B64 => v,
        }
    }
    #[inline(always)]
    pub fn sext(self, v: u64) -> i64 {
        match self {
            W::B8 => v as u8 as i8 as i64,
            W::B16 => v as u16 as i16 as i64,
            W::B32 => v as u32 as i32 as i64,
            W::B64 => v as i64,
        }
    }
    #[inline(always)]
    pub fn bits(self) -> u32 {
        match self {
            W::B8 => 8,
            W::B16 => 16,
            W::B32 => 32,
            W::B64 => 64,
        }
    }
    #[inline(always)]
    pub fn bytes(self) -> usize {
        (self.bits() / 8) as usize
    }
    #[inline(always)]
    pub fn smin(self) -> i64 {
        match self {
            W::B8 => i8::MIN as i64,
            W::B16 => i16::MIN as i64,
            W::B32 => i32::MIN as i64,
            W::B64 => i64::MIN,
        }
    }
}

/// Integer binary operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IOp {
    Add,
    Sub,
    Mul,
    Sdiv,
    Udiv,
    Srem,
    Urem,
    And,
    Or,
    Xor,
    Shl,
    Sshr,
    Ushr,
}

/// Float binary operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// C functions implemented natively.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Native {
    Write,
    Read,
    Malloc,
    Calloc,
    Realloc,
    Free,
    Memcpy,
    Memmove,
    Memset,
    Memcmp,
    Strlen,
    Exit,
    Abort,
    Puts,
    Putchar,
    Toupper,
    Tolower,
    Abs,
    Labs,
    Sqrt,
    Sin,
    Cos,
    Floor,
    Ceil,
    Pow,
    Fabs,
    ClockGettime,
    Getenv,
}

impl Native {
    pub fn by_symbol(s: &str) -> Option<Native> {
        use Native::*;
        Some(match s {
            "write" => Write,
            "read" => Read,
            "malloc" => Malloc,
            "calloc" => Calloc,
            "realloc" => Realloc,
            "free" => Free,
            "memcpy" => Memcpy,
            "memmove" => Memmove,
            "memset" => Memset,
            "memcmp" => Memcmp,
            "strlen" => Strlen,
            "exit" | "_exit" => Exit,
            "abort" => Abort,
            "puts" => Puts,
            "putchar" => Putchar,
            "toupper" => Toupper,
            "tolower" => Tolower,
            "abs" => Abs,
            "labs" | "llabs" => Labs,
            "sqrt" => Sqrt,
            "sin" => Sin,
            "cos" => Cos,
            "floor" => Floor,
            "ceil" => Ceil,
            "pow" => Pow,
            "fabs" => Fabs,
            "clock_gettime" => ClockGettime,
            "getenv" => Getenv,
            _ => return None,
        })
    }
}

/// One bytecode instruction (16 bytes). `d` is the destination register; `list` indexes
/// [`Compiled::extra`] (`[nargs, args.., nresults, results..]` for calls, `[n, values..]` for
/// returns, `[a, b]` for selects); `t` is a target instruction index.
#[derive(Copy, Clone, Debug)]
pub enum Op {
    Const { d: R, v: u64 },
    Mov { d: R, s: R },
    Add64 { d: R, a: R, b: R },
    Sub64 { d: R, a: R, b: R },
    Mul64 { d: R, a: R, b: R },
    AddImm64 { d: R, a: R, imm: i32 },
    Add32 { d: R, a: R, b: R },
    Sub32 { d: R, a: R, b: R },
    AddImm32 { d: R, a: R, imm: i32 },
    And { d: R, a: R, b: R },
    Or { d: R, a: R, b: R },
    Xor { d: R, a: R, b: R },
    IBin { op: IOp, w: W, d: R, a: R, b: R },
    IBinImm { op: IOp, w: W, d: R, a: R, imm: i32 },
    Icmp { cc: IntCC, w: W, d: R, a: R, b: R },
    IcmpImm { cc: IntCC, w: W, d: R, a: R, imm: i32 },
    F64Bin { op: FOp, d: R, a: R, b: R },
    F32Bin { op: FOp, d: R, a: R, b: R },
    Fcmp { cc: FloatCC, f32: bool, d: R, a: R, b: R },
    Ineg { w: W, d: R, a: R },
    Bnot { w: W, d: R, a: R },
    Fneg64 { d: R, a: R },
    Fneg32 { d: R, a: R },
    Conv { op: ConvOp, from: Type, to: Type, d: R, a: R },
    Select { d: R, c: R, list: u32 },
    Load { w: W, d: R, a: R, off: i32 },
    Store { w: W, a: R, v: R, off: i32 },
    StackAddr { d: R, slot: u32 },
    DataAddr { d: R, data: u32 },
    MemCopy { d: R, s: R, n: R },
    MemFill { d: R, b: R, n: R },
    Jmp { t: u32 },
    BrIf { c: R, t: u32 },
    BrIfNot { c: R, t: u32 },
    BrCmp { cc: IntCC, w: W, a: R, b: R, t: u32 },
    BrCmpImm { cc: IntCC, w: W, a: R, imm: i32, t: u32 },
    Call { func: u32, list: u32 },
    CallIndirect { callee: R, list: u32, sig: u32 },
    CallNative { native: Native, ext: u32, list: u32 },
    CallUnsupported { ext: u32 },
    Ret0,
    Ret1 { r: R },
    Ret { list: u32 },
    Trap { code: TrapCode },
}

/// A translated function.
#[derive(Debug)]
pub struct Compiled {
    pub name: String,
    pub ops: Vec<Op>,
    /// Source span of each op (of the IR instruction it implements).
    pub spans: Vec<Option<Span>>,
    pub extra: Vec<u32>,
    /// Signatures of indirect calls.
    pub sigs: Vec<Signature>,
    pub num_regs: u32,
    pub num_params: u32,
    /// `(size, align)` of each stack slot.
    pub slots: Vec<(u32, u32)>,
}

/// Inverse condition.
pub fn invert(cc: IntCC) -> IntCC {
    use IntCC::*;
    match cc {
        Eq => Ne,
        Ne => Eq,
        Slt => Sge,
        Sge => Slt,
        Sle => Sgt,
        Sgt => Sle,
        Ult => Uge,
        Uge => Ult,
        Ule => Ugt,
        Ugt => Ule,
    }
}

/// Condition with swapped operands.
fn swap_cc(cc: IntCC) -> IntCC {
    use IntCC::*;
    match cc {
        Eq => Eq,
        Ne => Ne,
        Slt => Sgt,
        Sgt => Slt,
        Sle => Sge,
        Sge => Sle,
        Ult => Ugt,
        Ugt => Ult,
        Ule => Uge,
        Uge => Ule,
    }
}

fn int_op(op: BinOp) -> Option<IOp> {
    Some(match op {
        BinOp::Iadd => IOp::Add,
        BinOp::Isub => IOp::Sub,
        BinOp::Imul => IOp::Mul,
        BinOp::Sdiv => IOp::Sdiv,
        BinOp::Udiv => IOp::Udiv,
        BinOp::Srem => IOp::Srem,
        BinOp::Urem => IOp::Urem,
        BinOp::And => IOp::And,
        BinOp::Or => IOp::Or,
        BinOp::Xor => IOp::Xor,
        BinOp::Shl => IOp::Shl,
        BinOp::Sshr => IOp::Sshr,
        BinOp::Ushr => IOp::Ushr,
        _ => return None,
    })
}

fn commutative(op: IOp) -> bool {
    matches!(op, IOp::Add | IOp::Mul | IOp::And | IOp::Or | IOp::Xor)
}

/// How an instruction with a constant operand is folded: `(swap operands, immediate)`.
#[derive(Copy, Clone)]
struct Fold {
    swap: bool,
    imm: i32,
}

struct Tx<'a> {
    f: &'a Function,
    /// Canonical value of integer constants.
    konst: Vec<Option<u64>>,
    reg: Vec<R>,
    tmp: R,
    ops: Vec<Op>,
    spans: Vec<Option<Span>>,
    extra: Vec<u32>,
    sigs: Vec<Signature>,
    span: Option<Span>,
    /// `(op index, block)` whose target is the block's start.
    fixups: Vec<(usize, Block)>,
}

fn err<T>(f: &Function, msg: impl Into<String>) -> Result<T, String> {
    Err(format!("malformed function `{}`: {}", f.name, msg.into()))
}

/// Immediate for constant `c` of width `w` (read back as `w.mask(imm as i64 as u64)`).
fn imm_for(w: W, c: u64) -> Option<i32> {
    match w {
        W::B64 => i32::try_from(c as i64).ok(),
        _ => Some(c as u32 as i32),
    }
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
    fn emit(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.spans.push(self.span);
        self.ops.len() - 1
    }

    /// The fold of `kind`'s constant operand, if any.
    fn fold_of(&self, kind: &InstKind) -> Option<Fold> {
        match kind {
            InstKind::Binary { op, a, b } => {
                let iop = int_op(*op)?;
                let w = W::of(self.ty(*a).ok()?);
                if let Some(c) = self.k(*b) {
                    if matches!(iop, IOp::Shl | IOp::Sshr | IOp::Ushr) {
                        return Some(Fold { swap: false, imm: (c & 63) as i32 });
                    }
                    if W::of(self.ty(*b).ok()?) == w {
                        return imm_for(w, c).map(|imm| Fold { swap: false, imm });
                    }
                    return None;
                }
                if commutative(iop) && self.ty(*a).ok()? == self.ty(*b).ok()? {
                    let c = self.k(*a)?;
                    return imm_for(w, c).map(|imm| Fold { swap: true, imm });
                }
                None
            }
            InstKind::Icmp { a, b, .. } => {
                let w = W::of(self.ty(*a).ok()?);
                if self.ty(*a).ok()? != self.ty(*b).ok()? {
                    return None;
                }
                if let Some(c) = self.k(*b) {
                    return imm_for(w, c).map(|imm| Fold { swap: false, imm });
                }
                let c = self.k(*a)?;
                imm_for(w, c).map(|imm| Fold { swap: true, imm })
            }
            _ => None,
        }
    }

    /// The operand a fold removes.
    fn folded_operand(kind: &InstKind, fold: Fold) -> Option<Value> {
        match kind {
            InstKind::Binary { a, b, .. } | InstKind::Icmp { a, b, .. } => Some(if fold.swap { *a } else { *b }),
            _ => None,
        }
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
    fn jump_to(&mut self, dest: Block, next: Option<Block>) {
        if Some(dest) != next {
            let at = self.emit(Op::Jmp { t: 0 });
            self.fixups.push((at, dest));
        }
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
}

/// Translates function `func` of `m`.
pub fn translate(m: &Module, f: &Function) -> Result<Compiled, String> {
    let entry = match f.entry() {
        Some(e) => e,
        None => return Err(format!("function `{}` has no body", f.name)),
    };
    let nvals = f.values.len();
    if nvals >= (u32::MAX - 2) as usize {
        return err(f, "too many values");
    }
    // Registers: entry parameters first.
    let mut reg = vec![u32::MAX; nvals];
    let mut next = 0u32;
    for &p in &f.blocks[entry].params {
        match reg.get_mut(p.index()) {
            Some(r) if *r == u32::MAX => {
                *r = next;
                next += 1;
            }
            _ => return err(f, "bad entry block parameter"),
        }
    }
    let num_params = next;
    for r in reg.iter_mut() {
        if *r == u32::MAX {
            *r = next;
            next += 1;
        }
    }
    let tmp = next;
    let num_regs = next + 1;

    let mut konst = vec![None; nvals];
    for (_, d) in f.insts.iter() {
        if let InstKind::Iconst { ty, imm } = d.kind {
            if let (false, Some(&r)) = (ty.is_float(), d.results.first()) {
                if let Some(k) = konst.get_mut(r.index()) {
                    *k = Some(W::of(ty).mask(imm as u64));
                }
            }
        }
    }

    let mut tx = Tx {
        f,
        konst,
        reg,
        tmp,
        ops: Vec::new(),
        spans: Vec::new(),
        extra: Vec::new(),
        sigs: Vec::new(),
        span: None,
        fixups: Vec::new(),
    };

    // Use counts (operands folded into immediates do not count).
    let mut uses = vec![0u32; nvals];
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = match f.insts.get(i) {
                Some(d) => d,
                None => return err(f, format!("reference to missing instruction {}", i)),
            };
            let folded = tx.fold_of(&d.kind).and_then(|fo| Tx::folded_operand(&d.kind, fo));
            let mut skipped = false;
            for v in d.kind.operands() {
                if !skipped && Some(v) == folded {
                    skipped = true;
                    continue;
                }
                match uses.get_mut(v.index()) {
                    Some(u) => *u += 1,
                    None => return err(f, format!("reference to missing value {}", v)),
                }
            }
        }
    }

    let nblocks = f.blocks.len();
    let mut block_start = vec![0u32; nblocks];
    for (b, bd) in f.blocks.iter() {
        block_start[b.index()] = tx.ops.len() as u32;
        let next_block = if b.index() + 1 < nblocks { Some(Block(b.0 + 1)) } else { None };
        if bd.insts.is_empty() {
            tx.span = f.span;
            tx.emit(Op::Trap { code: TrapCode::Unreachable });
            continue;
        }
        let mut fused: Option<(IntCC, W, R, Result<R, i32>)> = None;
        let mut terminated = false;
        for (n, &i) in bd.insts.iter().enumerate() {
            let d = &f.insts[i];
            tx.span = d.span;
            let res = |k: usize| -> Result<R, String> {
                match d.results.get(k) {
                    Some(&v) => tx.r(v),
                    None => err(f, format!("{} lacks a result", i)),
                }
            };
            if terminated {
                return err(f, format!("{} follows the terminator of {}", i, b));
            }
            match &d.kind {
                InstKind::Iconst { ty, imm } => {
                    let v = d.results.first().copied();
                    if let Some(v) = v {
                        if uses.get(v.index()).copied().unwrap_or(0) > 0 {
                            let c = if ty.is_float() { 0 } else { W::of(*ty).mask(*imm as u64) };
                            tx.emit(Op::Const { d: res(0)?, v: c });
                        }
                    } else {
                        return err(f, format!("{} lacks a result", i));
                    }
                }
                InstKind::Fconst { ty, value } => {
                    let bits = match ty {
                        Type::F32 => (*value as f32).to_bits() as u64,
                        Type::F64 => value.to_bits(),
                        _ => return err(f, format!("{}: fconst of an integer type", i)),
                    };
                    tx.emit(Op::Const { d: res(0)?, v: bits });
                }
                InstKind::Binary { op, a, b: bv } => {
                    let dst = res(0)?;
                    let ta = tx.ty(*a)?;
                    let (ra, rb) = (tx.r(*a)?, tx.r(*bv)?);
                    if let Some(iop) = int_op(*op) {
                        if ta.is_float() {
                            return err(f, format!("{}: integer operator on {}", i, ta.name()));
                        }
                        let w = W::of(ta);
                        if let Some(fold) = tx.fold_of(&d.kind) {
                            let src = if fold.swap { rb } else { ra };
                            let imm = fold.imm;
                            let o = match (iop, w) {
                                (IOp::Add, W::B64) => Op::AddImm64 { d: dst, a: src, imm },
                                (IOp::Sub, W::B64) if imm != i32::MIN => Op::AddImm64 { d: dst, a: src, imm: -imm },
                                (IOp::Add, W::B32) => Op::AddImm32 { d: dst, a: src, imm },
                                (IOp::Sub, W::B32) => Op::AddImm32 { d: dst, a: src, imm: (imm as u32).wrapping_neg() as i32 },
                                _ => Op::IBinImm { op: iop, w, d: dst, a: src, imm },
                            };
                            tx.emit(o);
                        } else {
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
                            tx.emit(o);
                        }
                    } else {
                        let fop = match op {
                            BinOp::Fadd => FOp::Add,
                            BinOp::Fsub => FOp::Sub,
                            BinOp::Fmul => FOp::Mul,
                            _ => FOp::Div,
                        };
                        let o = match ta {
                            Type::F32 => Op::F32Bin { op: fop, d: dst, a: ra, b: rb },
                            Type::F64 => Op::F64Bin { op: fop, d: dst, a: ra, b: rb },
                            _ => return err(f, format!("{}: float operator on {}", i, ta.name())),
                        };
                        tx.emit(o);
                    }
                }
                InstKind::Unary { op, a } => {
                    let dst = res(0)?;
                    let ta = tx.ty(*a)?;
                    let ra = tx.r(*a)?;
                    let o = match (op, ta) {
                        (UnOp::Ineg, t) if !t.is_float() => Op::Ineg { w: W::of(t), d: dst, a: ra },
                        (UnOp::Bnot, t) if !t.is_float() => Op::Bnot { w: W::of(t), d: dst, a: ra },
                        (UnOp::Fneg, Type::F32) => Op::Fneg32 { d: dst, a: ra },
                        (UnOp::Fneg, Type::F64) => Op::Fneg64 { d: dst, a: ra },
                        _ => return err(f, format!("{}: {:?} on {}", i, op, ta.name())),
                    };
                    tx.emit(o);
                }
                InstKind::Icmp { cc, a, b: bv } => {
                    let ta = tx.ty(*a)?;
                    let w = W::of(ta);
                    let dst = res(0)?;
                    let fold = tx.fold_of(&d.kind);
                    let (cc2, ra, rb) = match fold {
                        Some(fo) if fo.swap => (swap_cc(*cc), tx.r(*bv)?, Err(fo.imm)),
                        Some(fo) => (*cc, tx.r(*a)?, Err(fo.imm)),
                        None => (*cc, tx.r(*a)?, Ok(tx.r(*bv)?)),
                    };
                    // Fuse with an immediately following branch that is the only user.
                    let result = d.results[0];
                    let fuse = match bd.insts.get(n + 1).map(|&j| &f.insts[j].kind) {
                        Some(InstKind::Branch { cond, .. }) => *cond == result && uses[result.index()] == 1,
                        _ => false,
                    };
                    if fuse {
                        fused = Some((cc2, w, ra, rb));
                    } else {
                        match rb {
                            Ok(rb) => tx.emit(Op::Icmp { cc: cc2, w, d: dst, a: ra, b: rb }),
                            Err(imm) => tx.emit(Op::IcmpImm { cc: cc2, w, d: dst, a: ra, imm }),
                        };
                    }
                }
                InstKind::Fcmp { cc, a, b: bv } => {
                    let ta = tx.ty(*a)?;
                    if !ta.is_float() {
                        return err(f, format!("{}: fcmp on {}", i, ta.name()));
                    }
                    let o = Op::Fcmp { cc: *cc, f32: ta == Type::F32, d: res(0)?, a: tx.r(*a)?, b: tx.r(*bv)? };
                    tx.emit(o);
                }
                InstKind::Convert { op, a, to } => {
                    let from = tx.ty(*a)?;
                    let ok = match op {
                        ConvOp::Sext | ConvOp::Uext | ConvOp::Trunc => !from.is_float() && !to.is_float(),
                        ConvOp::FPromote => from == Type::F32 && *to == Type::F64,
                        ConvOp::FDemote => from == Type::F64 && *to == Type::F32,
                        ConvOp::FToS | ConvOp::FToU => from.is_float() && !to.is_float(),
                        ConvOp::SToF | ConvOp::UToF => !from.is_float() && to.is_float(),
                        ConvOp::Bitcast => from.bytes() == to.bytes(),
                    };
                    if !ok {
                        return err(f, format!("{}: {:?} from {} to {}", i, op, from.name(), to.name()));
                    }
                    let o = Op::Conv { op: *op, from, to: *to, d: res(0)?, a: tx.r(*a)? };
                    tx.emit(o);
                }
                InstKind::Select { cond, a, b: bv } => {
                    let dst = res(0)?;
                    let l = [tx.r(*a)?, tx.r(*bv)?];
                    let list = tx.list(&l);
                    let o = Op::Select { d: dst, c: tx.r(*cond)?, list };
                    tx.emit(o);
                }
                InstKind::Load { ty, addr, offset } => {
                    let o = Op::Load { w: W::of(*ty), d: res(0)?, a: tx.r(*addr)?, off: *offset };
                    tx.emit(o);
                }
                InstKind::Store { addr, offset, value } => {
                    let w = W::of(tx.ty(*value)?);
                    let o = Op::Store { w, a: tx.r(*addr)?, v: tx.r(*value)?, off: *offset };
                    tx.emit(o);
                }
                InstKind::StackAddr { slot } => {
                    if f.slots.get(*slot).is_none() {
                        return err(f, format!("{}: missing {}", i, slot));
                    }
                    let o = Op::StackAddr { d: res(0)?, slot: slot.0 };
                    tx.emit(o);
                }
                InstKind::DataAddr { data } => {
                    let o = Op::DataAddr { d: res(0)?, data: data.0 };
                    tx.emit(o);
                }
                InstKind::FuncAddr { func } => {
                    let o = Op::Const { d: res(0)?, v: crate::memory::func_ptr(func.0) };
                    tx.emit(o);
                }
                InstKind::Call { func, args } => {
                    let list = tx.call_list(args, &d.results)?;
                    tx.emit(Op::Call { func: func.0, list });
                }
                InstKind::CallExtern { ext, args } => {
                    let e = match m.externs.get(*ext) {
                        Some(e) => e,
                        None => return err(f, format!("{}: missing {}", i, ext)),
                    };
                    if e.sig.params.len() != args.len() || e.sig.returns.len() != d.results.len() {
                        return err(f, format!("{}: call of `{}` does not match its signature", i, e.symbol));
                    }
                    let o = match Native::by_symbol(&e.symbol) {
                        Some(native) => {
                            let list = tx.call_list(args, &d.results)?;
                            Op::CallNative { native, ext: ext.0, list }
                        }
                        None => Op::CallUnsupported { ext: ext.0 },
                    };
                    tx.emit(o);
                }
                InstKind::CallIndirect { sig, callee, args } => {
                    if sig.params.len() != args.len() || sig.returns.len() != d.results.len() {
                        return err(f, format!("{}: indirect call does not match its signature", i));
                    }
                    let list = tx.call_list(args, &d.results)?;
                    let s = tx.sigs.len() as u32;
                    tx.sigs.push(sig.clone());
                    let o = Op::CallIndirect { callee: tx.r(*callee)?, list, sig: s };
                    tx.emit(o);
                }
                InstKind::MemCopy { dst, src, len } => {
                    let o = Op::MemCopy { d: tx.r(*dst)?, s: tx.r(*src)?, n: tx.r(*len)? };
                    tx.emit(o);
                }
                InstKind::MemFill { dst, byte, len } => {
                    let o = Op::MemFill { d: tx.r(*dst)?, b: tx.r(*byte)?, n: tx.r(*len)? };
                    tx.emit(o);
                }
                InstKind::Jump { dest, args } => {
                    terminated = true;
                    tx.edge_copies(*dest, args)?;
                    tx.jump_to(*dest, next_block);
                }
                InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } => {
                    terminated = true;
                    let c = tx.r(*cond)?;
                    // Emits a conditional jump taken when the condition is `when`.
                    let cond_jump = |tx: &mut Tx, when: bool| -> usize {
                        match fused {
                            Some((cc, w, a, rb)) => {
                                let cc = if when { cc } else { invert(cc) };
                                match rb {
                                    Ok(b) => tx.emit(Op::BrCmp { cc, w, a, b, t: 0 }),
                                    Err(imm) => tx.emit(Op::BrCmpImm { cc, w, a, imm, t: 0 }),
                                }
                            }
                            None => {
                                if when {
                                    tx.emit(Op::BrIf { c, t: 0 })
                                } else {
                                    tx.emit(Op::BrIfNot { c, t: 0 })
                                }
                            }
                        }
                    };
                    if then_args.is_empty() {
                        let at = cond_jump(&mut tx, true);
                        tx.fixups.push((at, *then_dest));
                        tx.edge_copies(*else_dest, else_args)?;
                        tx.jump_to(*else_dest, next_block);
                    } else if else_args.is_empty() {
                        let at = cond_jump(&mut tx, false);
                        tx.fixups.push((at, *else_dest));
                        tx.edge_copies(*then_dest, then_args)?;
                        tx.jump_to(*then_dest, next_block);
                    } else {
                        let at = cond_jump(&mut tx, false);
                        tx.edge_copies(*then_dest, then_args)?;
                        tx.jump_to(*then_dest, None);
                        let here = tx.ops.len() as u32;
                        set_target(&mut tx.ops[at], here);
                        tx.edge_copies(*else_dest, else_args)?;
                        tx.jump_to(*else_dest, next_block);
                    }
                    // Validate destinations even when args are empty.
                    for dest in [then_dest, else_dest] {
                        if f.blocks.get(*dest).is_none() {
                            return err(f, format!("branch to missing {}", dest));
                        }
                    }
                }
                InstKind::Return { values } => {
                    terminated = true;
                    let o = match values.len() {
                        0 => Op::Ret0,
                        1 => Op::Ret1 { r: tx.r(values[0])? },
                        n => {
                            let mut l = vec![n as u32];
                            for v in values {
                                l.push(tx.r(*v)?);
                            }
                            Op::Ret { list: tx.list(&l) }
                        }
                    };
                    tx.emit(o);
                }
                InstKind::Trap { code } => {
                    terminated = true;
                    tx.emit(Op::Trap { code: *code });
                }
            }
        }
        if !terminated {
            return err(f, format!("{} does not end in a terminator", b));
        }
    }
    for (at, b) in std::mem::take(&mut tx.fixups) {
        let t = match block_start.get(b.index()) {
            Some(&t) => t,
            None => return err(f, format!("jump to missing {}", b)),
        };
        set_target(&mut tx.ops[at], t);
    }
    let slots = f.slots.values().map(|s| (s.size, s.align)).collect();
    Ok(Compiled {
        name: f.name.clone(),
        ops: tx.ops,
        spans: tx.spans,
        extra: tx.extra,
        sigs: tx.sigs,
        num_regs,
        num_params,
        slots,
    })
}

fn set_target(op: &mut Op, target: u32) {
    match op {
        Op::Jmp { t } | Op::BrIf { t, .. } | Op::BrIfNot { t, .. } | Op::BrCmp { t, .. } | Op::BrCmpImm { t, .. } => *t = target,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_small() {
        assert!(std::mem::size_of::<super::Op>() <= 16, "{}", std::mem::size_of::<super::Op>());
    }
}
