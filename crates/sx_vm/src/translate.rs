//! Translation of an IR [`Function`] into compact register bytecode ([`Compiled`]).
//!
//! Every SSA value gets a register of the frame (entry-block parameters first, so a caller
//! copies arguments into registers `0..n`), plus one scratch register for breaking cycles in
//! parallel copies. Block parameters are registers too: a jump copies its arguments into the
//! destination's parameter registers as a sequentialized parallel move. Branch targets are
//! instruction indices.
//!
//! The translator does the work the hot loop should not (see `bench/` for the effect):
//! - values that equal another value share its register and emit nothing: identity ops
//!   (`x + 0`, `x * 1`, zero extension, same-size bitcast), repeated pure operations found by
//!   value numbering over the dominator tree, truncations that are only stored at their width,
//!   and (in functions with loops) every `stack_addr` of a slot after the first;
//! - `p = x + c` used only as load/store addresses folds into the accesses' offsets, and
//!   `p = x + y` into two-register loads/stores;
//! - a value computed only to be passed to the closing jump's block parameter is computed
//!   directly into the parameter's register (no edge copy);
//! - in functions with loops, constants and stack-slot addresses are materialised once in a
//!   prologue; integer constants used as the right operand of arithmetic or comparisons become
//!   immediates (with specialised ops: 64-bit compare-and-branch per condition, multiply,
//!   division and remainder by constants and powers of two, `x % 2^k == 0` branches);
//! - an `icmp` feeding only the following branch is fused into a compare-and-branch; blocks are
//!   laid out in chains that fall through into branch `then` successors; a backward jump to a
//!   loop header that starts with a conditional branch is rotated into the inverted branch
//!   (one dispatch per iteration less); a block-argument copy before a jump becomes `MovJmp`.
//!
//! Finally `validate` checks every register operand, list and branch target, which is what
//! lets the executor access registers and ops without bounds checks.
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

/// C functions modelled in Rust ([`crate::natives`]): those that act on comptime memory or on
/// the process, plus pure ones cheaper than a foreign call. Every other extern is a foreign call.
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
    /// A call of [`sx_ir::COMPTIME_FRAMES_FUNC`] (not an extern): handled by the executor's
    /// driver, which sees the frame stack.
    ComptimeFrames,
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
            _ => return None,
        })
    }
}

/// One bytecode instruction (16 bytes). `d` is the destination register; `list` indexes
/// [`Compiled::extra`] (`[nargs, args.., nresults, results..]` for calls, `[n, values..]` for
/// returns, `[a, b]` for selects); `t` is a target instruction index.
#[derive(Copy, Clone, Debug)]
pub enum Op {
    Const {
        d: R,
        v: u64,
    },
    Mov {
        d: R,
        s: R,
    },
    Add64 {
        d: R,
        a: R,
        b: R,
    },
    Sub64 {
        d: R,
        a: R,
        b: R,
    },
    Mul64 {
        d: R,
        a: R,
        b: R,
    },
    AddImm64 {
        d: R,
        a: R,
        imm: i32,
    },
    Add32 {
        d: R,
        a: R,
        b: R,
    },
    Sub32 {
        d: R,
        a: R,
        b: R,
    },
    AddImm32 {
        d: R,
        a: R,
        imm: i32,
    },
    And {
        d: R,
        a: R,
        b: R,
    },
    Or {
        d: R,
        a: R,
        b: R,
    },
    Xor {
        d: R,
        a: R,
        b: R,
    },
    IBin {
        op: IOp,
        w: W,
        d: R,
        a: R,
        b: R,
    },
    IBinImm {
        op: IOp,
        w: W,
        d: R,
        a: R,
        imm: i32,
    },
    Icmp {
        cc: IntCC,
        w: W,
        d: R,
        a: R,
        b: R,
    },
    IcmpImm {
        cc: IntCC,
        w: W,
        d: R,
        a: R,
        imm: i32,
    },
    F64Bin {
        op: FOp,
        d: R,
        a: R,
        b: R,
    },
    F32Bin {
        op: FOp,
        d: R,
        a: R,
        b: R,
    },
    Fcmp {
        cc: FloatCC,
        f32: bool,
        d: R,
        a: R,
        b: R,
    },
    Ineg {
        w: W,
        d: R,
        a: R,
    },
    Bnot {
        w: W,
        d: R,
        a: R,
    },
    Fneg64 {
        d: R,
        a: R,
    },
    Fneg32 {
        d: R,
        a: R,
    },
    Conv {
        op: ConvOp,
        from: Type,
        to: Type,
        d: R,
        a: R,
    },
    Select {
        d: R,
        c: R,
        list: u32,
    },
    Load {
        w: W,
        d: R,
        a: R,
        off: i32,
    },
    Store {
        w: W,
        a: R,
        v: R,
        off: i32,
    },
    StackAddr {
        d: R,
        slot: u32,
    },
    DataAddr {
        d: R,
        data: u32,
    },
    MemCopy {
        d: R,
        s: R,
        n: R,
    },
    MemFill {
        d: R,
        b: R,
        n: R,
    },
    Jmp {
        t: u32,
    },
    BrIf {
        c: R,
        t: u32,
    },
    BrIfNot {
        c: R,
        t: u32,
    },
    BrCmp {
        cc: IntCC,
        w: W,
        a: R,
        b: R,
        t: u32,
    },
    BrCmpImm {
        cc: IntCC,
        w: W,
        a: R,
        imm: i32,
        t: u32,
    },
    /// `d = a * imm` (64-bit).
    MulImm64 {
        d: R,
        a: R,
        imm: i32,
    },
    /// 64-bit signed division / remainder by a constant that is neither 0 nor -1.
    SdivImm64 {
        d: R,
        a: R,
        imm: i32,
    },
    SremImm64 {
        d: R,
        a: R,
        imm: i32,
    },
    /// 64-bit signed division / remainder by `1 << sh` (1 <= sh <= 30), truncating.
    SdivPow2 {
        d: R,
        a: R,
        sh: u32,
    },
    SremPow2 {
        d: R,
        a: R,
        sh: u32,
    },
    F64Add {
        d: R,
        a: R,
        b: R,
    },
    F64Sub {
        d: R,
        a: R,
        b: R,
    },
    F64Mul {
        d: R,
        a: R,
        b: R,
    },
    F64Div {
        d: R,
        a: R,
        b: R,
    },
    /// Integer truncation to `w` (mask).
    Trunc {
        w: W,
        d: R,
        a: R,
    },
    /// Sign extension from `from` to `to`.
    Sext {
        from: W,
        to: W,
        d: R,
        a: R,
    },
    I64ToF64 {
        d: R,
        a: R,
    },
    F64ToI64 {
        d: R,
        a: R,
    },
    /// Width-specialised loads/stores at `r(a) + off` (checked).
    Load8 {
        d: R,
        a: R,
        off: i32,
    },
    Load16 {
        d: R,
        a: R,
        off: i32,
    },
    Load32 {
        d: R,
        a: R,
        off: i32,
    },
    Load64 {
        d: R,
        a: R,
        off: i32,
    },
    Store8 {
        a: R,
        v: R,
        off: i32,
    },
    Store16 {
        a: R,
        v: R,
        off: i32,
    },
    Store32 {
        a: R,
        v: R,
        off: i32,
    },
    Store64 {
        a: R,
        v: R,
        off: i32,
    },
    /// Loads/stores at `r(a) + r(b)` (an address add fused into its only users).
    Load8X {
        d: R,
        a: R,
        b: R,
    },
    Load16X {
        d: R,
        a: R,
        b: R,
    },
    Load32X {
        d: R,
        a: R,
        b: R,
    },
    Load64X {
        d: R,
        a: R,
        b: R,
    },
    Store8X {
        a: R,
        b: R,
        v: R,
    },
    Store16X {
        a: R,
        b: R,
        v: R,
    },
    Store32X {
        a: R,
        b: R,
        v: R,
    },
    Store64X {
        a: R,
        b: R,
        v: R,
    },
    /// Jump to `t` when `r(a) & mask` is zero / not zero (`x % 2^k == 0` and its negation).
    BrMaskZ {
        a: R,
        mask: i32,
        t: u32,
    },
    BrMaskNZ {
        a: R,
        mask: i32,
        t: u32,
    },
    /// `d = s` then jump to `t` (a block-argument copy fused with its jump).
    MovJmp {
        d: R,
        s: R,
        t: u32,
    },
    /// 64-bit compare-and-branch: jump to `t` when `r(a) cc r(b)` (`Eq`/`Ne` also serve every
    /// narrower width, since register values are canonical).
    BrEq {
        a: R,
        b: R,
        t: u32,
    },
    BrNe {
        a: R,
        b: R,
        t: u32,
    },
    BrSlt {
        a: R,
        b: R,
        t: u32,
    },
    BrSle {
        a: R,
        b: R,
        t: u32,
    },
    BrSgt {
        a: R,
        b: R,
        t: u32,
    },
    BrSge {
        a: R,
        b: R,
        t: u32,
    },
    BrUlt {
        a: R,
        b: R,
        t: u32,
    },
    BrUge {
        a: R,
        b: R,
        t: u32,
    },
    /// The same against a 64-bit immediate (`imm as i64`).
    BrEqI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrNeI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrSltI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrSleI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrSgtI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrSgeI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrUltI {
        a: R,
        imm: i32,
        t: u32,
    },
    BrUgeI {
        a: R,
        imm: i32,
        t: u32,
    },
    Call {
        func: u32,
        list: u32,
    },
    CallIndirect {
        callee: R,
        list: u32,
        sig: u32,
    },
    CallNative {
        native: Native,
        ext: u32,
        list: u32,
    },
    /// A call of a C function through the dynamic loader and libffi ([`crate::ffi`]).
    CallForeign {
        ext: u32,
        list: u32,
    },
    /// A request to the embedding compiler (an extern named `__sx_compiler.<name>`): the
    /// evaluation suspends and [`crate::Vm::call`] returns [`crate::Outcome::CompilerCall`].
    CallCompiler {
        ext: u32,
        list: u32,
    },
    Ret0,
    Ret1 {
        r: R,
    },
    Ret {
        list: u32,
    },
    Trap {
        code: TrapCode,
    },
    /// A 64-bit store of a float: like `Store64` but never a pointer (no provenance check).
    Store64F {
        a: R,
        v: R,
        off: i32,
    },
    /// `Store64F` at `r(a) + r(b)`.
    Store64FX {
        a: R,
        b: R,
        v: R,
    },
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
    /// First op of each block emitted so far (`u32::MAX`: not yet).
    block_start: Vec<u32>,
    /// Ops before this index may be jump targets: a `Mov` there is not fused with a later jump.
    barrier: usize,
    /// Used stack slots, renumbered densely (`u32::MAX`: not referenced).
    slot_map: Vec<u32>,
    used_slots: Vec<(u32, u32)>,
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
            if let Some(inv) = self.ops.get(s).and_then(|o| invert_br(*o)) {
                // The header branch's target: resolved, or still a pending fixup.
                let pending = self.fixups.iter().find(|(at, _)| *at == s).map(|(_, b)| *b);
                let at = self.emit(inv);
                set_target(&mut self.ops[at], start + 1);
                let out = self.emit(Op::Jmp { t: 0 });
                match pending {
                    Some(b) => self.fixups.push((out, b)),
                    None => {
                        let t = target_of(&self.ops[s]).unwrap_or(start);
                        set_target(&mut self.ops[out], t);
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
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            if f.insts.get(i).is_none() {
                return err(f, format!("reference to missing instruction {}", i));
            }
        }
    }

    // Block layout: chains that follow each jump and prefer a branch's `then` successor (the
    // loop body, the in-bounds path of a check), so most conditional branches fall through.
    let nblocks = f.blocks.len();
    let succ = |b: Block| -> (Option<Block>, Option<Block>) {
        let last = f.blocks[b].insts.last().map(|&i| &f.insts[i].kind);
        let ok = |d: Block| if d.index() < nblocks { Some(d) } else { None };
        match last {
            Some(InstKind::Jump { dest, .. }) => (ok(*dest), None),
            Some(InstKind::Branch { then_dest, else_dest, .. }) => (ok(*then_dest), ok(*else_dest)),
            _ => (None, None),
        }
    };
    let mut order: Vec<Block> = Vec::with_capacity(nblocks);
    let mut pos = vec![usize::MAX; nblocks];
    {
        let mut scan = 0;
        let mut want = Some(entry);
        while order.len() < nblocks {
            let b = match want {
                Some(b) if pos[b.index()] == usize::MAX => b,
                _ => {
                    while scan < nblocks && pos[scan] != usize::MAX {
                        scan += 1;
                    }
                    Block::new(scan)
                }
            };
            pos[b.index()] = order.len();
            order.push(b);
            let (a, c) = succ(b);
            want = match (a, c) {
                (Some(a), _) if pos[a.index()] == usize::MAX => Some(a),
                (_, c) => c,
            };
        }
    }
    let mut has_loop = false;
    for &b in &order {
        let (a, c) = succ(b);
        for d in [a, c].into_iter().flatten() {
            has_loop |= pos[d.index()] <= pos[b.index()];
        }
    }
    // In functions with loops, constants and stack-slot addresses are materialised once, before
    // the entry block (every later `stack_addr` of a slot shares the first one's register).
    let hoist = has_loop;

    // Identity operations (`x + 0`, `x * 1`, zero extension, same-size bitcast) produce the
    // canonical bits of their operand: such a value shares its operand's register and emits
    // nothing. Sound in SSA: a register is written only at its value's definition (or, for a
    // block parameter, on edges into its block, which no use of an alias can be live across).
    let mut alias: Vec<Option<Value>> = vec![None; nvals];
    // Address folding: `p = iadd q, c` whose every use is the address of a load or store is
    // not computed; the accesses use `q` with `c` added to their offset.
    let mut addr_off: Vec<i32> = vec![0; nvals];
    let tyof = |v: Value| f.values.get(v).map(|d| d.ty);
    let mut other_uses = vec![0u32; nvals];
    // Uses as the stored value of a store (of the value's own width).
    let mut store_val_uses = vec![0u32; nvals];
    let mut addr_uses: Vec<Vec<i32>> = vec![Vec::new(); nvals];
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            match &f.insts[i].kind {
                InstKind::Load { addr, offset, .. } => {
                    if let Some(u) = addr_uses.get_mut(addr.index()) {
                        u.push(*offset);
                    }
                }
                InstKind::Store { addr, offset, value } => {
                    if let Some(u) = addr_uses.get_mut(addr.index()) {
                        u.push(*offset);
                    }
                    if let Some(u) = other_uses.get_mut(value.index()) {
                        *u += 1;
                    }
                    if let Some(u) = store_val_uses.get_mut(value.index()) {
                        *u += 1;
                    }
                }
                k => {
                    for v in k.operands() {
                        if let Some(u) = other_uses.get_mut(v.index()) {
                            *u += 1;
                        }
                    }
                }
            }
        }
    }
    let mut slot_root: Vec<Option<Value>> = vec![None; f.slots.len()];
    for &b in &order {
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            if let (true, InstKind::StackAddr { slot }, Some(&res)) = (hoist, &d.kind, d.results.first()) {
                if let (Some(r), true) = (slot_root.get_mut(slot.index()), res.index() < nvals) {
                    match r {
                        Some(first) => alias[res.index()] = Some(*first),
                        None => *r = Some(res),
                    }
                }
            }
        }
    }
    // Global value numbering over the dominator tree: a pure, non-trapping operation that
    // repeats a dominating one on the same operands shares its register (array indexing
    // recomputes `base + i * size` for every field access).
    {
        let cfg = sx_ir::cfg::Cfg::compute(f);
        let rootv = |alias: &Vec<Option<Value>>, mut v: Value| {
            let mut n = 0;
            while let Some(a) = alias.get(v.index()).copied().flatten() {
                v = a;
                n += 1;
                if n > nvals {
                    break;
                }
            }
            v
        };
        let mut table: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
        let mut stack: Vec<(Block, bool)> = vec![(entry, false)];
        let mut added: Vec<Vec<String>> = vec![Vec::new(); nblocks];
        while let Some((b, done)) = stack.pop() {
            if done {
                for k in std::mem::take(&mut added[b.index()]) {
                    table.remove(&k);
                }
                continue;
            }
            if b.index() >= nblocks || !cfg.is_reachable(b) {
                continue;
            }
            stack.push((b, true));
            for &i in &f.blocks[b].insts {
                let d = &f.insts[i];
                let Some(&res) = d.results.first() else { continue };
                if d.results.len() != 1 || res.index() >= nvals {
                    continue;
                }
                let key = match &d.kind {
                    InstKind::Binary { op, a, b: bb } if !matches!(op, BinOp::Sdiv | BinOp::Udiv | BinOp::Srem | BinOp::Urem) => {
                        let (ra, rb) = (rootv(&alias, *a), rootv(&alias, *bb));
                        let (ka, kb) = (konst.get(a.index()).copied().flatten(), konst.get(bb.index()).copied().flatten());
                        // Constants are keyed by value (each `iconst` is its own SSA value).
                        let o = |r: Value, k: Option<u64>| match k {
                            Some(c) => format!("#{}", c),
                            None => format!("v{}", r.index()),
                        };
                        format!("{:?}|{:?}|{}|{}", op, tyof(res), o(ra, ka), o(rb, kb))
                    }
                    InstKind::Convert { op, a, to } => format!("cv{:?}|{:?}|v{}", op, to, rootv(&alias, *a).index()),
                    _ => continue,
                };
                match table.get(&key) {
                    Some(&v) if v != res => alias[res.index()] = Some(v),
                    Some(_) => {}
                    None => {
                        table.insert(key.clone(), res);
                        added[b.index()].push(key);
                    }
                }
            }
            for &c in cfg.dom_children(b) {
                stack.push((c, false));
            }
        }
    }
    // Values another value was merged into must keep their own computed register (no
    // offset or pair folding, no truncation elision).
    let mut merged_into = vec![false; nvals];
    for v in 0..nvals {
        if let Some(a) = alias[v] {
            if let Some(m) = merged_into.get_mut(a.index()) {
                *m = true;
            }
        }
    }
    for &b in &order {
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            let Some(&res) = d.results.first() else { continue };
            if let InstKind::Binary { op: BinOp::Iadd, a, b } = &d.kind {
                if res.index() < nvals
                    && alias[res.index()].is_none()
                    && !merged_into[res.index()]
                    && other_uses[res.index()] == 0
                    && !addr_uses[res.index()].is_empty()
                {
                    let k = |v: &Value| konst.get(v.index()).copied().flatten();
                    let c = match (k(a), k(b)) {
                        (_, Some(c)) => Some((*a, c)),
                        (Some(c), None) => Some((*b, c)),
                        _ => None,
                    };
                    if let Some((q, c)) = c {
                        let fits = |o: &i32| (*o as i64).checked_add(c as i64).is_some_and(|x| i32::try_from(x).is_ok());
                        if tyof(res) == Some(Type::I64) && tyof(q) == Some(Type::I64) && addr_uses[res.index()].iter().all(fits) {
                            alias[res.index()] = Some(q);
                            addr_off[res.index()] = c as i64 as i32;
                        }
                    }
                }
            }
        }
    }
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = &f.insts[i];
            let Some(&res) = d.results.first() else { continue };
            if res.index() >= nvals || alias[res.index()].is_some() || d.results.len() != 1 {
                continue;
            }
            let src = match &d.kind {
                InstKind::Binary { op, a, b } => {
                    let (Some(ta), Some(tb), Some(tr)) = (tyof(*a), tyof(*b), tyof(res)) else { continue };
                    if ta.is_float() || ta != tr {
                        continue;
                    }
                    let kb = konst.get(b.index()).copied().flatten();
                    let ka = konst.get(a.index()).copied().flatten();
                    match (int_op(*op), ka, kb) {
                        (Some(IOp::Add | IOp::Sub | IOp::Or | IOp::Xor | IOp::Shl | IOp::Sshr | IOp::Ushr), _, Some(0)) => Some(*a),
                        (Some(IOp::Mul | IOp::Sdiv | IOp::Udiv), _, Some(1)) if ta == tb => Some(*a),
                        (Some(IOp::Add | IOp::Or | IOp::Xor), Some(0), _) if ta == tb => Some(*b),
                        (Some(IOp::Mul), Some(1), _) if ta == tb => Some(*b),
                        _ => None,
                    }
                }
                InstKind::Convert { op: ConvOp::Uext, a, to } => match tyof(*a) {
                    Some(from) if !from.is_float() && !to.is_float() && from.bytes() <= to.bytes() => Some(*a),
                    _ => None,
                },
                // A truncation only ever stored (at its own width) stores the same bytes as
                // its untruncated operand.
                InstKind::Convert { op: ConvOp::Trunc, a, to }
                    if !to.is_float()
                        && !merged_into[res.index()]
                        && other_uses[res.index()] == store_val_uses[res.index()]
                        && addr_uses[res.index()].is_empty() =>
                {
                    match tyof(*a) {
                        Some(from) if !from.is_float() => Some(*a),
                        _ => None,
                    }
                }
                InstKind::Convert { op: ConvOp::Bitcast, a, to } => match tyof(*a) {
                    Some(from) if from.bytes() == to.bytes() => Some(*a),
                    _ => None,
                },
                _ => None,
            };
            if let Some(src) = src {
                if src.index() < nvals && src != res {
                    alias[res.index()] = Some(src);
                }
            }
        }
    }
    // Roots of alias chains (a cycle, possible only in malformed IR, is cut).
    let mut root: Vec<Value> = (0..nvals).map(|i| Value::new(i)).collect();
    for v in 0..nvals {
        let mut r = Value::new(v);
        let mut n = 0;
        while let Some(a) = alias[r.index()] {
            r = a;
            n += 1;
            if n > nvals {
                alias[v] = None;
                r = Value::new(v);
                break;
            }
        }
        root[v] = r;
    }
    let root_of = |v: Value| root.get(v.index()).copied().unwrap_or(v);
    // Two-register addresses: `p = iadd x, y` (64-bit, no constant) whose every use is the
    // address of a load or store at offset 0 is not computed; the accesses add `x + y`.
    let mut pair: Vec<Option<(Value, Value)>> = vec![None; nvals];
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = &f.insts[i];
            if let (InstKind::Binary { op: BinOp::Iadd, a, b }, Some(&res)) = (&d.kind, d.results.first()) {
                let k = |v: &Value| konst.get(v.index()).copied().flatten().is_some();
                if res.index() < nvals
                    && a.index() < nvals
                    && b.index() < nvals
                    && alias[res.index()].is_none()
                    && !merged_into[res.index()]
                    && !k(a)
                    && !k(b)
                    && tyof(res) == Some(Type::I64)
                    && tyof(*a) == Some(Type::I64)
                    && tyof(*b) == Some(Type::I64)
                    && other_uses[res.index()] == 0
                    && !addr_uses[res.index()].is_empty()
                    && addr_uses[res.index()].iter().all(|o| *o == 0)
                {
                    pair[res.index()] = Some((root_of(*a), root_of(*b)));
                }
            }
        }
    }

    // Registers: entry parameters first.
    let mut reg = vec![u32::MAX; nvals];
    let mut next = 0u32;
    for &p in &f.blocks[entry].params {
        match reg.get_mut(p.index()) {
            Some(r) if *r == u32::MAX && alias[p.index()].is_none() => {
                *r = next;
                next += 1;
            }
            _ => return err(f, "bad entry block parameter"),
        }
    }
    let num_params = next;
    if num_params as usize != f.sig.params.len() {
        return err(f, "entry block parameters do not match the signature");
    }
    for (v, r) in reg.iter_mut().enumerate() {
        if *r == u32::MAX && alias[v].is_none() {
            *r = next;
            next += 1;
        }
    }
    for v in 0..nvals {
        if alias[v].is_some() {
            reg[v] = reg[root[v].index()];
        }
    }
    let tmp = next;
    let num_regs = next + 1;

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
        block_start: Vec::new(),
        barrier: 0,
        slot_map: vec![u32::MAX; f.slots.len()],
        used_slots: Vec::new(),
    };

    // Use counts of alias roots (operands folded into immediates and alias definitions do not
    // count), and where each value is defined.
    let mut uses = vec![0u32; nvals];
    let mut def_at: Vec<Option<(Block, usize)>> = vec![None; nvals];
    for (b, bd) in f.blocks.iter() {
        for (n, &i) in bd.insts.iter().enumerate() {
            let d = &f.insts[i];
            for &r in &d.results {
                if let Some(x) = def_at.get_mut(r.index()) {
                    *x = Some((b, n));
                }
            }
            if d.results.len() == 1 && alias.get(d.results[0].index()).is_some_and(|a| a.is_some()) {
                continue;
            }
            let folded = tx.fold_of(&d.kind).and_then(|fo| Tx::folded_operand(&d.kind, fo));
            let mut skipped = false;
            for v in d.kind.operands() {
                if !skipped && Some(v) == folded {
                    skipped = true;
                    continue;
                }
                match uses.get_mut(root_of(v).index()) {
                    Some(u) => *u += 1,
                    None => return err(f, format!("reference to missing value {}", v)),
                }
            }
        }
    }

    // Coalescing: a value defined in a block only to be passed to the parameter `p` of the
    // block's closing jump is computed directly into `p`'s register, when nothing after its
    // definition in the block reads `p` (no copy on the edge then).
    for (cb, bd) in f.blocks.iter() {
        let Some(&last) = bd.insts.last() else { continue };
        let InstKind::Jump { dest, args } = &f.insts[last].kind else { continue };
        let Some(dbd) = f.blocks.get(*dest) else { continue };
        if dbd.params.len() != args.len() {
            continue;
        }
        for (k, &a) in args.iter().enumerate() {
            let v = root_of(a);
            let p = dbd.params[k];
            if v != a || p.index() >= nvals || alias[p.index()].is_some() || uses[v.index()] != 1 {
                continue;
            }
            let Some((vb, vn)) = def_at[v.index()] else { continue };
            if vb != cb || vn + 1 >= bd.insts.len() {
                continue;
            }
            let vd = &f.insts[bd.insts[vn]];
            if matches!(vd.kind, InstKind::Iconst { .. } | InstKind::Fconst { .. }) || vd.results.len() != 1 {
                continue;
            }
            let pr = tx.reg[p.index()];
            let reads = |o: Value| {
                tx.reg.get(o.index()) == Some(&pr)
                    || pair.get(o.index()).copied().flatten().is_some_and(|(x, y)| tx.reg[x.index()] == pr || tx.reg[y.index()] == pr)
            };
            let reads_p = bd.insts[vn + 1..].iter().any(|&j| {
                let ops = f.insts[j].kind.operands();
                if j == last {
                    ops.iter().enumerate().any(|(x, &o)| x != k && reads(o))
                } else {
                    ops.iter().any(|&o| reads(o))
                }
            });
            if !reads_p {
                tx.reg[v.index()] = pr;
            }
        }
    }

    if hoist {
        for (_, bd) in f.blocks.iter() {
            for &i in &bd.insts {
                let d = &f.insts[i];
                let Some(&v) = d.results.first() else { continue };
                if uses.get(v.index()).copied().unwrap_or(0) == 0 {
                    continue;
                }
                let c = match d.kind {
                    InstKind::StackAddr { slot } if alias[v.index()].is_none() => {
                        if f.slots.get(slot).is_none() {
                            return err(f, format!("{}: missing {}", i, slot));
                        }
                        tx.span = d.span;
                        let (r, k) = (tx.r(v)?, tx.slot_index(slot));
                        tx.emit(Op::StackAddr { d: r, slot: k });
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
                tx.span = d.span;
                let r = tx.r(v)?;
                tx.emit(Op::Const { d: r, v: c });
            }
        }
    }

    tx.block_start = vec![u32::MAX; nblocks];
    for (at, &b) in order.iter().enumerate() {
        let bd = &f.blocks[b];
        tx.block_start[b.index()] = tx.ops.len() as u32;
        tx.barrier = tx.ops.len() + 1;
        let next_block = order.get(at + 1).copied();
        if bd.insts.is_empty() {
            tx.span = f.span;
            tx.emit(Op::Trap { code: TrapCode::Unreachable });
            continue;
        }
        let mut fused: Option<(IntCC, W, R, Result<R, i32>)> = None;
        // `x % 2^k` (not emitted) whose only user is an `== 0` / `!= 0` fused into the branch.
        let mut mask_of: Option<(Value, R, i32)> = None;
        let mut fused_mask: Option<(bool, R, i32)> = None;
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
            if d.results.len() == 1 && alias.get(d.results[0].index()).is_some_and(|a| a.is_some()) {
                continue;
            }
            if d.results.len() == 1 && pair.get(d.results[0].index()).is_some_and(|a| a.is_some()) {
                continue;
            }
            match &d.kind {
                InstKind::Iconst { ty, imm } => {
                    let v = d.results.first().copied();
                    if let Some(v) = v {
                        if !hoist && uses.get(v.index()).copied().unwrap_or(0) > 0 {
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
                    let used = d.results.first().is_some_and(|v| uses.get(v.index()).copied().unwrap_or(0) > 0);
                    if !hoist && used {
                        tx.emit(Op::Const { d: res(0)?, v: bits });
                    }
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
                            if iop == IOp::Srem
                                && w == W::B64
                                && !fold.swap
                                && imm > 1
                                && imm & (imm - 1) == 0
                                && uses[d.results[0].index()] == 1
                            {
                                let r0 = d.results[0];
                                let mut j = n + 1;
                                while bd.insts.get(j).is_some_and(|&x| matches!(f.insts[x].kind, InstKind::Iconst { .. })) {
                                    j += 1;
                                }
                                let ok = match (bd.insts.get(j).map(|&x| &f.insts[x]), bd.insts.get(j + 1).map(|&x| &f.insts[x].kind)) {
                                    (Some(c), Some(InstKind::Branch { cond, .. })) => match &c.kind {
                                        InstKind::Icmp { cc: IntCC::Eq | IntCC::Ne, a: x, b: z } => {
                                            *x == r0 && tx.k(*z) == Some(0) && c.results.first() == Some(cond) && uses[cond.index()] == 1
                                        }
                                        _ => false,
                                    },
                                    _ => false,
                                };
                                if ok {
                                    mask_of = Some((r0, src, imm - 1));
                                    continue;
                                }
                            }
                            let o = match (iop, w) {
                                (IOp::Add, W::B64) => Op::AddImm64 { d: dst, a: src, imm },
                                (IOp::Sub, W::B64) if imm != i32::MIN => Op::AddImm64 { d: dst, a: src, imm: -imm },
                                (IOp::Add, W::B32) => Op::AddImm32 { d: dst, a: src, imm },
                                (IOp::Sub, W::B32) => Op::AddImm32 { d: dst, a: src, imm: (imm as u32).wrapping_neg() as i32 },
                                (IOp::Mul, W::B64) => Op::MulImm64 { d: dst, a: src, imm },
                                (IOp::Sdiv, W::B64) if imm > 1 && imm & (imm - 1) == 0 => {
                                    Op::SdivPow2 { d: dst, a: src, sh: imm.trailing_zeros() }
                                }
                                (IOp::Srem, W::B64) if imm > 1 && imm & (imm - 1) == 0 => {
                                    Op::SremPow2 { d: dst, a: src, sh: imm.trailing_zeros() }
                                }
                                (IOp::Sdiv, W::B64) if imm != 0 && imm != -1 => Op::SdivImm64 { d: dst, a: src, imm },
                                (IOp::Srem, W::B64) if imm != 0 && imm != -1 => Op::SremImm64 { d: dst, a: src, imm },
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
                        let o = match (ta, fop) {
                            (Type::F32, _) => Op::F32Bin { op: fop, d: dst, a: ra, b: rb },
                            (Type::F64, FOp::Add) => Op::F64Add { d: dst, a: ra, b: rb },
                            (Type::F64, FOp::Sub) => Op::F64Sub { d: dst, a: ra, b: rb },
                            (Type::F64, FOp::Mul) => Op::F64Mul { d: dst, a: ra, b: rb },
                            (Type::F64, FOp::Div) => Op::F64Div { d: dst, a: ra, b: rb },
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
                    if let Some((_, x, mask)) = mask_of.filter(|m| m.0 == *a && fuse) {
                        fused_mask = Some((*cc == IntCC::Eq, x, mask));
                    } else if fuse {
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
                    let (d, a) = (res(0)?, tx.r(*a)?);
                    let o = match (op, from, *to) {
                        (ConvOp::Trunc | ConvOp::Uext, _, t) => Op::Trunc { w: W::of(t), d, a },
                        (ConvOp::Sext, fr, t) => Op::Sext { from: W::of(fr), to: W::of(t), d, a },
                        (ConvOp::SToF, Type::I64, Type::F64) => Op::I64ToF64 { d, a },
                        (ConvOp::FToS, Type::F64, Type::I64) => Op::F64ToI64 { d, a },
                        _ => Op::Conv { op: *op, from, to: *to, d, a },
                    };
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
                    let (d, a) = (res(0)?, tx.r(*addr)?);
                    let off = offset.wrapping_add(addr_off.get(addr.index()).copied().unwrap_or(0));
                    let o = match (W::of(*ty), pair.get(addr.index()).copied().flatten()) {
                        (w, Some((x, y))) => {
                            let (a, b) = (tx.reg[x.index()], tx.reg[y.index()]);
                            match w {
                                W::B8 => Op::Load8X { d, a, b },
                                W::B16 => Op::Load16X { d, a, b },
                                W::B32 => Op::Load32X { d, a, b },
                                W::B64 => Op::Load64X { d, a, b },
                            }
                        }
                        (w, None) => match w {
                            W::B8 => Op::Load8 { d, a, off },
                            W::B16 => Op::Load16 { d, a, off },
                            W::B32 => Op::Load32 { d, a, off },
                            W::B64 => Op::Load64 { d, a, off },
                        },
                    };
                    tx.emit(o);
                }
                InstKind::Store { addr, offset, value } => {
                    let is_float = tx.ty(*value)? == Type::F64;
                    let w = W::of(tx.ty(*value)?);
                    let (a, v) = (tx.r(*addr)?, tx.r(*value)?);
                    let off = offset.wrapping_add(addr_off.get(addr.index()).copied().unwrap_or(0));
                    let o = match (w, pair.get(addr.index()).copied().flatten()) {
                        (w, Some((x, y))) => {
                            let (a, b) = (tx.reg[x.index()], tx.reg[y.index()]);
                            match w {
                                W::B8 => Op::Store8X { a, b, v },
                                W::B16 => Op::Store16X { a, b, v },
                                W::B32 => Op::Store32X { a, b, v },
                                W::B64 if is_float => Op::Store64FX { a, b, v },
                                W::B64 => Op::Store64X { a, b, v },
                            }
                        }
                        (w, None) => match w {
                            W::B8 => Op::Store8 { a, v, off },
                            W::B16 => Op::Store16 { a, v, off },
                            W::B32 => Op::Store32 { a, v, off },
                            W::B64 if is_float => Op::Store64F { a, v, off },
                            W::B64 => Op::Store64 { a, v, off },
                        },
                    };
                    tx.emit(o);
                }
                InstKind::StackAddr { slot } => {
                    if f.slots.get(*slot).is_none() {
                        return err(f, format!("{}: missing {}", i, slot));
                    }
                    if !hoist {
                        let dst = res(0)?;
                        let o = Op::StackAddr { d: dst, slot: tx.slot_index(*slot) };
                        tx.emit(o);
                    }
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
                    // Arity is checked here, against the callee's signature, so calls and
                    // returns need no count checks at run time.
                    if let Some(callee) = m.funcs.get(*func) {
                        if callee.sig.params.len() != args.len() || callee.sig.returns.len() != d.results.len() {
                            return err(f, format!("{}: call of `{}` does not match its signature", i, callee.name));
                        }
                    }
                    let list = tx.call_list(args, &d.results)?;
                    let frames_dump = m.funcs.get(*func).is_some_and(|c| {
                        c.name.split('.').next() == Some(sx_ir::COMPTIME_FRAMES_FUNC) && c.sig.params.is_empty() && c.sig.returns.is_empty()
                    });
                    if frames_dump {
                        tx.emit(Op::CallNative { native: Native::ComptimeFrames, ext: u32::MAX, list });
                    } else {
                        tx.emit(Op::Call { func: func.0, list });
                    }
                }
                InstKind::CallExtern { ext, args } => {
                    let e = match m.externs.get(*ext) {
                        Some(e) => e,
                        None => return err(f, format!("{}: missing {}", i, ext)),
                    };
                    if e.sig.params.len() != args.len() || e.sig.returns.len() != d.results.len() {
                        return err(f, format!("{}: call of `{}` does not match its signature", i, e.symbol));
                    }
                    let list = tx.call_list(args, &d.results)?;
                    let o = match Native::by_symbol(&e.symbol) {
                        Some(native) => Op::CallNative { native, ext: ext.0, list },
                        None if e.symbol.starts_with(crate::COMPILER_CALL_PREFIX) => Op::CallCompiler { ext: ext.0, list },
                        None => Op::CallForeign { ext: ext.0, list },
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
                        if let Some((eq, a, mask)) = fused_mask {
                            // Taken when `(x & mask == 0) == eq` holds (`when`) or fails.
                            return if eq == when {
                                tx.emit(Op::BrMaskZ { a, mask, t: 0 })
                            } else {
                                tx.emit(Op::BrMaskNZ { a, mask, t: 0 })
                            };
                        }
                        match fused {
                            Some((cc, w, a, rb)) => {
                                let cc = if when { cc } else { invert(cc) };
                                tx.emit(br_op(cc, w, a, rb))
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
                    let then_next = Some(*then_dest) == next_block;
                    if else_args.is_empty() && then_next {
                        let at = cond_jump(&mut tx, false);
                        tx.fixups.push((at, *else_dest));
                        tx.edge_copies(*then_dest, then_args)?;
                    } else if then_args.is_empty() {
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
                        tx.barrier = here as usize + 1;
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
                    if values.len() != f.sig.returns.len() {
                        return err(f, format!("{}: returns {} values, the signature {}", i, values.len(), f.sig.returns.len()));
                    }
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
        let t = match tx.block_start.get(b.index()) {
            Some(&t) if t != u32::MAX => t,
            _ => return err(f, format!("jump to missing {}", b)),
        };
        set_target(&mut tx.ops[at], t);
    }
    let slots = std::mem::take(&mut tx.used_slots);
    let c = Compiled { name: f.name.clone(), ops: tx.ops, spans: tx.spans, extra: tx.extra, sigs: tx.sigs, num_regs, num_params, slots };
    validate(f, &c)?;
    Ok(c)
}

/// The branch target field of a jump op.
fn target_mut(op: &mut Op) -> Option<&mut u32> {
    match op {
        Op::Jmp { t }
        | Op::MovJmp { t, .. }
        | Op::BrIf { t, .. }
        | Op::BrIfNot { t, .. }
        | Op::BrCmp { t, .. }
        | Op::BrCmpImm { t, .. }
        | Op::BrEq { t, .. }
        | Op::BrNe { t, .. }
        | Op::BrSlt { t, .. }
        | Op::BrSle { t, .. }
        | Op::BrSgt { t, .. }
        | Op::BrSge { t, .. }
        | Op::BrUlt { t, .. }
        | Op::BrUge { t, .. }
        | Op::BrEqI { t, .. }
        | Op::BrNeI { t, .. }
        | Op::BrSltI { t, .. }
        | Op::BrSleI { t, .. }
        | Op::BrSgtI { t, .. }
        | Op::BrSgeI { t, .. }
        | Op::BrUltI { t, .. }
        | Op::BrUgeI { t, .. }
        | Op::BrMaskZ { t, .. }
        | Op::BrMaskNZ { t, .. } => Some(t),
        _ => None,
    }
}

/// The branch target of a jump op.
pub fn target_of(op: &Op) -> Option<u32> {
    let mut o = *op;
    target_mut(&mut o).map(|t| *t)
}

fn set_target(op: &mut Op, target: u32) {
    if let Some(t) = target_mut(op) {
        *t = target;
    }
}

/// Rebases the branch target of `op` by `base` (linking into a shared op array).
pub fn rebase_target(op: &mut Op, base: u32) {
    if let Some(t) = target_mut(op) {
        *t += base;
    }
}

/// The conditional branch taken exactly when `op` (a conditional branch) is not.
fn invert_br(op: Op) -> Option<Op> {
    Some(match op {
        Op::BrIf { c, t } => Op::BrIfNot { c, t },
        Op::BrIfNot { c, t } => Op::BrIf { c, t },
        Op::BrCmp { cc, w, a, b, t } => Op::BrCmp { cc: invert(cc), w, a, b, t },
        Op::BrCmpImm { cc, w, a, imm, t } => Op::BrCmpImm { cc: invert(cc), w, a, imm, t },
        Op::BrEq { a, b, t } => Op::BrNe { a, b, t },
        Op::BrNe { a, b, t } => Op::BrEq { a, b, t },
        Op::BrSlt { a, b, t } => Op::BrSge { a, b, t },
        Op::BrSge { a, b, t } => Op::BrSlt { a, b, t },
        Op::BrSle { a, b, t } => Op::BrSgt { a, b, t },
        Op::BrSgt { a, b, t } => Op::BrSle { a, b, t },
        Op::BrUlt { a, b, t } => Op::BrUge { a, b, t },
        Op::BrUge { a, b, t } => Op::BrUlt { a, b, t },
        Op::BrEqI { a, imm, t } => Op::BrNeI { a, imm, t },
        Op::BrNeI { a, imm, t } => Op::BrEqI { a, imm, t },
        Op::BrSltI { a, imm, t } => Op::BrSgeI { a, imm, t },
        Op::BrSgeI { a, imm, t } => Op::BrSltI { a, imm, t },
        Op::BrSleI { a, imm, t } => Op::BrSgtI { a, imm, t },
        Op::BrSgtI { a, imm, t } => Op::BrSleI { a, imm, t },
        Op::BrUltI { a, imm, t } => Op::BrUgeI { a, imm, t },
        Op::BrUgeI { a, imm, t } => Op::BrUltI { a, imm, t },
        Op::BrMaskZ { a, mask, t } => Op::BrMaskNZ { a, mask, t },
        Op::BrMaskNZ { a, mask, t } => Op::BrMaskZ { a, mask, t },
        _ => return None,
    })
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
            _ => Op::BrCmp { cc, w, a, b, t },
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
                _ => Op::BrCmpImm { cc, w, a, imm, t },
            }
        }
    }
}

/// Calls `f` with every register operand of `op` (lists in `extra` excluded).
fn op_regs(op: &Op, mut f: impl FnMut(R)) {
    use Op::*;
    match *op {
        Const { d, .. } | StackAddr { d, .. } | DataAddr { d, .. } => f(d),
        Mov { d, s } | MovJmp { d, s, .. } => {
            f(d);
            f(s)
        }
        Add64 { d, a, b }
        | Sub64 { d, a, b }
        | Mul64 { d, a, b }
        | Add32 { d, a, b }
        | Sub32 { d, a, b }
        | And { d, a, b }
        | Or { d, a, b }
        | Xor { d, a, b }
        | IBin { d, a, b, .. }
        | Icmp { d, a, b, .. }
        | F64Bin { d, a, b, .. }
        | F32Bin { d, a, b, .. }
        | Fcmp { d, a, b, .. }
        | F64Add { d, a, b }
        | F64Sub { d, a, b }
        | F64Mul { d, a, b }
        | F64Div { d, a, b } => {
            f(d);
            f(a);
            f(b)
        }
        AddImm64 { d, a, .. }
        | AddImm32 { d, a, .. }
        | IBinImm { d, a, .. }
        | IcmpImm { d, a, .. }
        | MulImm64 { d, a, .. }
        | SdivImm64 { d, a, .. }
        | SremImm64 { d, a, .. }
        | SdivPow2 { d, a, .. }
        | SremPow2 { d, a, .. }
        | Ineg { d, a, .. }
        | Bnot { d, a, .. }
        | Fneg64 { d, a }
        | Fneg32 { d, a }
        | Conv { d, a, .. }
        | Trunc { d, a, .. }
        | Sext { d, a, .. }
        | I64ToF64 { d, a }
        | F64ToI64 { d, a }
        | Load { d, a, .. }
        | Load8 { d, a, .. }
        | Load16 { d, a, .. }
        | Load32 { d, a, .. }
        | Load64 { d, a, .. } => {
            f(d);
            f(a)
        }
        Select { d, c, .. } => {
            f(d);
            f(c)
        }
        Store { a, v, .. }
        | Store8 { a, v, .. }
        | Store16 { a, v, .. }
        | Store32 { a, v, .. }
        | Store64 { a, v, .. }
        | Store64F { a, v, .. } => {
            f(a);
            f(v)
        }
        MemCopy { d, s, n } => {
            f(d);
            f(s);
            f(n)
        }
        MemFill { d, b, n } => {
            f(d);
            f(b);
            f(n)
        }
        BrIf { c, .. } | BrIfNot { c, .. } => f(c),
        BrCmp { a, b, .. }
        | BrEq { a, b, .. }
        | BrNe { a, b, .. }
        | BrSlt { a, b, .. }
        | BrSle { a, b, .. }
        | BrSgt { a, b, .. }
        | BrSge { a, b, .. }
        | BrUlt { a, b, .. }
        | BrUge { a, b, .. } => {
            f(a);
            f(b)
        }
        BrCmpImm { a, .. }
        | BrEqI { a, .. }
        | BrNeI { a, .. }
        | BrSltI { a, .. }
        | BrSleI { a, .. }
        | BrSgtI { a, .. }
        | BrSgeI { a, .. }
        | BrUltI { a, .. }
        | BrUgeI { a, .. }
        | BrMaskZ { a, .. }
        | BrMaskNZ { a, .. } => f(a),
        Load8X { d, a, b } | Load16X { d, a, b } | Load32X { d, a, b } | Load64X { d, a, b } => {
            f(d);
            f(a);
            f(b)
        }
        Store8X { a, b, v } | Store16X { a, b, v } | Store32X { a, b, v } | Store64X { a, b, v } | Store64FX { a, b, v } => {
            f(a);
            f(b);
            f(v)
        }
        CallIndirect { callee, .. } => f(callee),
        Ret1 { r } => f(r),
        Jmp { .. } | Call { .. } | CallNative { .. } | CallForeign { .. } | CallCompiler { .. } | Ret0 | Ret { .. } | Trap { .. } => {}
    }
}

/// Checks the invariants the executor relies on without re-checking them per instruction:
/// every register operand (including those in `extra` lists) is below `num_regs`, every
/// branch target is inside the function, every list lies inside `extra`, and the function
/// does not fall off its end (the executor also appends a trapping sentinel).
fn validate(f: &Function, c: &Compiled) -> Result<(), String> {
    let n = c.num_regs;
    let mut bad = None;
    let list = |at: u32, len: usize| -> Option<&[u32]> { c.extra.get(at as usize..at as usize + len) };
    for (i, op) in c.ops.iter().enumerate() {
        op_regs(op, |r| {
            if r >= n {
                bad = Some(format!("op {} uses register {} of {}", i, r, n));
            }
        });
        if let Some(t) = target_of(op) {
            if t as usize >= c.ops.len() {
                bad = Some(format!("op {} jumps to {} of {}", i, t, c.ops.len()));
            }
        }
        let regs_in = |l: Option<&[u32]>| l.is_some_and(|l| l.iter().all(|&r| r < n));
        let ok = match *op {
            Op::Select { list: l, .. } => regs_in(list(l, 2)),
            Op::Ret { list: l } => c.extra.get(l as usize).is_some_and(|&k| regs_in(list(l + 1, k as usize))),
            Op::Call { list: l, .. }
            | Op::CallIndirect { list: l, .. }
            | Op::CallNative { list: l, .. }
            | Op::CallForeign { list: l, .. }
            | Op::CallCompiler { list: l, .. } => match c.extra.get(l as usize) {
                Some(&na) => match c.extra.get(l as usize + 1 + na as usize) {
                    Some(&nr) => regs_in(list(l + 1, na as usize)) && regs_in(list(l + 2 + na, nr as usize)),
                    None => false,
                },
                None => false,
            },
            _ => true,
        };
        if !ok {
            bad = Some(format!("op {} has a malformed operand list", i));
        }
        if bad.is_some() {
            break;
        }
    }
    match bad {
        Some(m) => err(f, m),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_small() {
        assert!(std::mem::size_of::<super::Op>() <= 16, "{}", std::mem::size_of::<super::Op>());
    }
}
