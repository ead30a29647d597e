//! The VM's bytecode: the op table ([`Op`], defined once by `define_ops!`), operand kinds
//! ([`Operand`]) and everything derived from the table — the register and branch-target walk,
//! validation, relinking into the executor's shared arrays, and the disassembler
//! ([`Compiled::to_text`]).
//!
//! Each op lists its operands with their *kind* (destination register, source register, branch
//! target, operand list in [`Compiled::extra`], immediate, slot/data/function/extern index, …).
//! [`Op::operands`] and [`Op::operands_mut`] are generated from that table and visit every
//! operand with its kind, so code that must see every register or every target (validation,
//! linking, the translator's branch rewriting) handles kinds, never op names, and a new op is
//! covered by writing its table line. The executor's dispatch loop is the one hand-written
//! match over every op (it is the hot loop); it has no catch-all arm either.

use std::fmt::Write as _;

use sx_diag::Span;
use sx_ir::{IntCC, Signature};

use crate::width::W;

/// A register index (relative to the frame base).
pub type R = u32;

/// Symbol prefix of the externs that are requests to the embedding compiler.
pub const COMPILER_CALL_PREFIX: &str = "__sx_compiler.";

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
    /// The native model of the C function `s`, if there is one.
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

/// Defines the operand kinds once: the type each kind is stored as (`kind::*` aliases, the
/// field types of [`Op`]), the by-value view [`Operand`] and the mutable view [`OperandMut`].
macro_rules! define_operand_kinds {
    ($( $(#[$doc:meta])* $kind:ident : $ty:ty ),* $(,)?) => {
        /// The storage type of each operand kind (the field types of [`Op`]).
        pub mod kind {
            $( $(#[$doc])* pub type $kind = $ty; )*
        }
        /// One operand of an op, by kind.
        #[derive(Copy, Clone, Debug)]
        pub enum Operand {
            $( $(#[$doc])* $kind($ty), )*
        }
        /// One operand of an op, by kind, to rewrite in place.
        #[derive(Debug)]
        pub enum OperandMut<'a> {
            $( $(#[$doc])* $kind(&'a mut $ty), )*
        }
    };
}

define_operand_kinds! {
    /// A destination register.
    Dst: crate::bytecode::R,
    /// A source register.
    Src: crate::bytecode::R,
    /// A branch target: an op index (function-local in [`Compiled`], global once linked).
    Target: u32,
    /// Index in `extra` of a select's two source registers `[a, b]`.
    Pair: u32,
    /// Index in `extra` of a call's `[nargs, args.., nresults, results..]` registers.
    CallList: u32,
    /// Index in `extra` of a return's `[n, values..]` registers.
    RetList: u32,
    /// A 32-bit immediate (offsets, masks, sign-extended constants).
    Imm: i32,
    /// A shift amount.
    Shift: u32,
    /// The raw bits of a constant.
    Bits: u64,
    /// A stack slot of the function (dense index into [`Compiled::slots`]).
    Slot: u32,
    /// A static data object of the module (`DataId`).
    Data: u32,
    /// A function of the module (`FuncId`).
    Func: u32,
    /// An extern of the module (`ExternId`; `u32::MAX` for the frame-dump pseudo-native).
    Ext: u32,
    /// An indirect call's signature (index into [`Compiled::sigs`]).
    Sig: u32,
    /// An integer width.
    W: crate::width::W,
    /// An integer operator.
    IOp: crate::bytecode::IOp,
    /// A float operator.
    FOp: crate::bytecode::FOp,
    /// An integer condition.
    IntCC: sx_ir::IntCC,
    /// A float condition.
    FloatCC: sx_ir::FloatCC,
    /// A conversion.
    ConvOp: sx_ir::ConvOp,
    /// An atomic read-modify-write operator.
    RmwOp: sx_ir::RmwOp,
    /// A scalar type.
    Type: sx_ir::Type,
    /// A C function modelled in Rust.
    Native: crate::bytecode::Native,
    /// A trap reason.
    TrapCode: sx_ir::TrapCode,
    /// A yes/no option.
    Flag: bool,
}

/// Operands a conditional branch's inverse takes over: conditions are inverted, everything else
/// is kept.
trait Inverted {
    fn inverted(self) -> Self;
}

impl Inverted for u32 {
    fn inverted(self) -> u32 {
        self
    }
}

impl Inverted for i32 {
    fn inverted(self) -> i32 {
        self
    }
}

impl Inverted for W {
    fn inverted(self) -> W {
        self
    }
}

impl Inverted for IntCC {
    fn inverted(self) -> IntCC {
        invert(self)
    }
}

/// The inverse of a conditional branch (`inverse X` in the op table) or `None`.
macro_rules! inverse_op {
    ([] $($field:ident)*) => {{
        $( let _ = $field; )*
        None
    }};
    ([$inv:ident] $($field:ident)*) => {
        Some(Op::$inv { $( $field: Inverted::inverted($field) ),* })
    };
}

/// Defines [`Op`] and the code generated from its table.
macro_rules! define_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident { $( $field:ident : $kind:ident ),* $(,)? } $( inverse $inv:ident )?
    ),* $(,)?) => {
        /// One bytecode instruction (16 bytes). Operand kinds: see [`Operand`].
        #[derive(Copy, Clone, Debug)]
        pub enum Op {
            $( $(#[$doc])* $name { $( $field: kind::$kind ),* }, )*
        }

        impl Op {
            /// The op's name as in the table.
            pub fn name(self) -> &'static str {
                match self {
                    $( Op::$name { .. } => stringify!($name), )*
                }
            }

            /// Calls `f` with every operand (field name and value), in table order.
            pub fn operands(&self, mut f: impl FnMut(&'static str, Operand)) {
                match *self {
                    $( Op::$name { $( $field ),* } => { $( f(stringify!($field), Operand::$kind($field)); )* } )*
                }
            }

            /// Calls `f` with every operand to rewrite it in place, in table order.
            pub fn operands_mut(&mut self, mut f: impl FnMut(OperandMut<'_>)) {
                match self {
                    $( Op::$name { $( $field ),* } => { $( f(OperandMut::$kind($field)); )* } )*
                }
            }

            /// The conditional branch taken exactly when this one (a conditional branch) is not.
            pub fn inverse(self) -> Option<Op> {
                match self {
                    $( Op::$name { $( $field ),* } => inverse_op!([$($inv)?] $($field)*), )*
                }
            }
        }
    };
}

define_ops! {
    /// `d = v` (raw bits).
    Const { d: Dst, v: Bits },
    /// `d = s`.
    Mov { d: Dst, s: Src },
    Add64 { d: Dst, a: Src, b: Src },
    Sub64 { d: Dst, a: Src, b: Src },
    Mul64 { d: Dst, a: Src, b: Src },
    AddImm64 { d: Dst, a: Src, imm: Imm },
    Add32 { d: Dst, a: Src, b: Src },
    Sub32 { d: Dst, a: Src, b: Src },
    AddImm32 { d: Dst, a: Src, imm: Imm },
    And { d: Dst, a: Src, b: Src },
    Or { d: Dst, a: Src, b: Src },
    Xor { d: Dst, a: Src, b: Src },
    /// Any integer operator at any width (checked division).
    IBin { op: IOp, w: W, d: Dst, a: Src, b: Src },
    IBinImm { op: IOp, w: W, d: Dst, a: Src, imm: Imm },
    Icmp { cc: IntCC, w: W, d: Dst, a: Src, b: Src },
    IcmpImm { cc: IntCC, w: W, d: Dst, a: Src, imm: Imm },
    F64Bin { op: FOp, d: Dst, a: Src, b: Src },
    F32Bin { op: FOp, d: Dst, a: Src, b: Src },
    Fcmp { cc: FloatCC, f32: Flag, d: Dst, a: Src, b: Src },
    Ineg { w: W, d: Dst, a: Src },
    Bnot { w: W, d: Dst, a: Src },
    Fneg64 { d: Dst, a: Src },
    Fneg32 { d: Dst, a: Src },
    Conv { op: ConvOp, from: Type, to: Type, d: Dst, a: Src },
    /// `d = r(c) != 0 ? r(list[0]) : r(list[1])`.
    Select { d: Dst, c: Src, list: Pair },
    Load { w: W, d: Dst, a: Src, off: Imm },
    Store { w: W, a: Src, v: Src, off: Imm },
    StackAddr { d: Dst, slot: Slot },
    DataAddr { d: Dst, data: Data },
    /// Copies `r(n)` bytes from address `r(s)` to address `r(d)`.
    MemCopy { d: Src, s: Src, n: Src },
    /// Fills `r(n)` bytes at address `r(d)` with byte `r(b)`.
    MemFill { d: Src, b: Src, n: Src },
    Jmp { t: Target },
    BrIf { c: Src, t: Target } inverse BrIfNot,
    BrIfNot { c: Src, t: Target } inverse BrIf,
    BrCmp { cc: IntCC, w: W, a: Src, b: Src, t: Target } inverse BrCmp,
    BrCmpImm { cc: IntCC, w: W, a: Src, imm: Imm, t: Target } inverse BrCmpImm,
    /// `d = a * imm` (64-bit).
    MulImm64 { d: Dst, a: Src, imm: Imm },
    /// 64-bit signed division / remainder by a constant that is neither 0 nor -1.
    SdivImm64 { d: Dst, a: Src, imm: Imm },
    SremImm64 { d: Dst, a: Src, imm: Imm },
    /// 64-bit signed division / remainder by `1 << sh` (1 <= sh <= 30), truncating.
    SdivPow2 { d: Dst, a: Src, sh: Shift },
    SremPow2 { d: Dst, a: Src, sh: Shift },
    F64Add { d: Dst, a: Src, b: Src },
    F64Sub { d: Dst, a: Src, b: Src },
    F64Mul { d: Dst, a: Src, b: Src },
    F64Div { d: Dst, a: Src, b: Src },
    /// Integer truncation to `w` (mask).
    Trunc { w: W, d: Dst, a: Src },
    /// Sign extension from `from` to `to`.
    Sext { from: W, to: W, d: Dst, a: Src },
    I64ToF64 { d: Dst, a: Src },
    F64ToI64 { d: Dst, a: Src },
    /// Width-specialised loads/stores at `r(a) + off` (checked).
    Load8 { d: Dst, a: Src, off: Imm },
    Load16 { d: Dst, a: Src, off: Imm },
    Load32 { d: Dst, a: Src, off: Imm },
    Load64 { d: Dst, a: Src, off: Imm },
    Store8 { a: Src, v: Src, off: Imm },
    Store16 { a: Src, v: Src, off: Imm },
    Store32 { a: Src, v: Src, off: Imm },
    Store64 { a: Src, v: Src, off: Imm },
    /// Loads/stores at `r(a) + r(b)` (an address add fused into its only users).
    Load8X { d: Dst, a: Src, b: Src },
    Load16X { d: Dst, a: Src, b: Src },
    Load32X { d: Dst, a: Src, b: Src },
    Load64X { d: Dst, a: Src, b: Src },
    Store8X { a: Src, b: Src, v: Src },
    Store16X { a: Src, b: Src, v: Src },
    Store32X { a: Src, b: Src, v: Src },
    Store64X { a: Src, b: Src, v: Src },
    /// Jump to `t` when `r(a) & mask` is zero / not zero (`x % 2^k == 0` and its negation).
    BrMaskZ { a: Src, mask: Imm, t: Target } inverse BrMaskNZ,
    BrMaskNZ { a: Src, mask: Imm, t: Target } inverse BrMaskZ,
    /// `d = s` then jump to `t` (a block-argument copy fused with its jump).
    MovJmp { d: Dst, s: Src, t: Target },
    /// 64-bit compare-and-branch: jump to `t` when `r(a) cc r(b)` (`Eq`/`Ne` also serve every
    /// narrower width, since register values are canonical).
    BrEq { a: Src, b: Src, t: Target } inverse BrNe,
    BrNe { a: Src, b: Src, t: Target } inverse BrEq,
    BrSlt { a: Src, b: Src, t: Target } inverse BrSge,
    BrSle { a: Src, b: Src, t: Target } inverse BrSgt,
    BrSgt { a: Src, b: Src, t: Target } inverse BrSle,
    BrSge { a: Src, b: Src, t: Target } inverse BrSlt,
    BrUlt { a: Src, b: Src, t: Target } inverse BrUge,
    BrUge { a: Src, b: Src, t: Target } inverse BrUlt,
    /// The same against a 64-bit immediate (`imm as i64`).
    BrEqI { a: Src, imm: Imm, t: Target } inverse BrNeI,
    BrNeI { a: Src, imm: Imm, t: Target } inverse BrEqI,
    BrSltI { a: Src, imm: Imm, t: Target } inverse BrSgeI,
    BrSleI { a: Src, imm: Imm, t: Target } inverse BrSgtI,
    BrSgtI { a: Src, imm: Imm, t: Target } inverse BrSleI,
    BrSgeI { a: Src, imm: Imm, t: Target } inverse BrSltI,
    BrUltI { a: Src, imm: Imm, t: Target } inverse BrUgeI,
    BrUgeI { a: Src, imm: Imm, t: Target } inverse BrUltI,
    /// A call of a module function.
    Call { func: Func, list: CallList },
    /// A call through a function pointer, checked against signature `sig`.
    CallIndirect { callee: Src, list: CallList, sig: Sig },
    /// A call of a C function modelled in Rust ([`crate::natives`]).
    CallNative { native: Native, ext: Ext, list: CallList },
    /// A call of a C function through the dynamic loader and libffi ([`crate::ffi`]).
    CallForeign { ext: Ext, list: CallList },
    /// A request to the embedding compiler (an extern named `__sx_compiler.<name>`): the
    /// evaluation suspends and [`crate::Vm::call`] returns [`crate::Outcome::CompilerCall`].
    CallCompiler { ext: Ext, list: CallList },
    Ret0 {},
    Ret1 { r: Src },
    Ret { list: RetList },
    Trap { code: TrapCode },
    /// A 64-bit store of a float: like `Store64` but never a pointer (no provenance check).
    Store64F { a: Src, v: Src, off: Imm },
    /// `Store64F` at `r(a) + r(b)`.
    Store64FX { a: Src, b: Src, v: Src },
    /// An atomic read-modify-write at address `r(a)`, width `w` (checked; the VM runs one
    /// thread, so a load and a store are atomic): `d` = the old value, memory = `op(old, r(v))`.
    AtomicRmw { op: RmwOp, w: W, d: Dst, a: Src, v: Src },
    /// An atomic compare-and-swap at address `r(a)`, width `w`: `d` = the value found, which
    /// is replaced by `r(list[1])` when it equals `r(list[0])` (the memory must be writable
    /// either way).
    AtomicCas { w: W, d: Dst, a: Src, list: Pair },
}

// The dispatch loop copies one op per step: keep it at two words.
const _: () = assert!(std::mem::size_of::<Op>() == 16);

impl Op {
    /// Calls `f` with every register operand (destinations and sources; registers in `extra`
    /// lists excluded).
    pub fn regs(&self, mut f: impl FnMut(R)) {
        self.operands(|_, o| match o {
            Operand::Dst(r) | Operand::Src(r) => f(r),
            Operand::Target(_)
            | Operand::Pair(_)
            | Operand::CallList(_)
            | Operand::RetList(_)
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
            | Operand::RmwOp(_)
            | Operand::Type(_)
            | Operand::Native(_)
            | Operand::TrapCode(_)
            | Operand::Flag(_) => {}
        });
    }

    /// The branch target, for a jump or branch.
    pub fn target(&self) -> Option<u32> {
        let mut target = None;
        self.operands(|_, o| {
            if let Operand::Target(t) = o {
                target = Some(t);
            }
        });
        target
    }

    /// Sets the branch target of a jump or branch (other ops are left alone).
    pub fn set_target(&mut self, target: u32) {
        self.operands_mut(|o| {
            if let OperandMut::Target(t) = o {
                *t = target;
            }
        });
    }

    /// Rebases a function-local op into the executor's shared arrays: branch targets by
    /// `ops_base`, `extra` lists by `extra_base`, signatures by `sig_base`.
    pub fn relink(mut self, ops_base: u32, extra_base: u32, sig_base: u32) -> Op {
        self.operands_mut(|o| match o {
            OperandMut::Target(t) => *t += ops_base,
            OperandMut::Pair(l) | OperandMut::CallList(l) | OperandMut::RetList(l) => *l += extra_base,
            OperandMut::Sig(s) => *s += sig_base,
            OperandMut::Dst(_)
            | OperandMut::Src(_)
            | OperandMut::Imm(_)
            | OperandMut::Shift(_)
            | OperandMut::Bits(_)
            | OperandMut::Slot(_)
            | OperandMut::Data(_)
            | OperandMut::Func(_)
            | OperandMut::Ext(_)
            | OperandMut::W(_)
            | OperandMut::IOp(_)
            | OperandMut::FOp(_)
            | OperandMut::IntCC(_)
            | OperandMut::FloatCC(_)
            | OperandMut::ConvOp(_)
            | OperandMut::RmwOp(_)
            | OperandMut::Type(_)
            | OperandMut::Native(_)
            | OperandMut::TrapCode(_)
            | OperandMut::Flag(_) => {}
        });
        self
    }
}

/// A translated function.
#[derive(Debug)]
pub struct Compiled {
    /// Symbol name of the function.
    pub name: String,
    /// The bytecode; branch targets are indices into it.
    pub ops: Vec<Op>,
    /// Source span of each op (of the IR instruction it implements).
    pub spans: Vec<Option<Span>>,
    /// Operand lists of calls, returns and selects (see [`Operand`]).
    pub extra: Vec<u32>,
    /// Signatures of indirect calls.
    pub sigs: Vec<Signature>,
    /// Registers of a frame (the last one is the translator's scratch register).
    pub num_regs: u32,
    /// Parameters, passed in registers `0..num_params`.
    pub num_params: u32,
    /// `(size, align)` of each stack slot.
    pub slots: Vec<(u32, u32)>,
}

impl Compiled {
    /// The registers of the `extra` list at `at` with `len` entries, if it lies inside `extra`.
    fn list(&self, at: u32, len: u32) -> Option<&[u32]> {
        self.extra.get(at as usize..(at as usize).checked_add(len as usize)?)
    }

    /// The argument and result registers of the call list at `at`.
    fn call_list(&self, at: u32) -> Option<(&[u32], &[u32])> {
        let nargs = *self.extra.get(at as usize)?;
        let args = self.list(at.checked_add(1)?, nargs)?;
        let res_at = at.checked_add(1)?.checked_add(nargs)?;
        let nres = *self.extra.get(res_at as usize)?;
        Some((args, self.list(res_at + 1, nres)?))
    }

    /// The value registers of the return list at `at`.
    fn ret_list(&self, at: u32) -> Option<&[u32]> {
        let n = *self.extra.get(at as usize)?;
        self.list(at.checked_add(1)?, n)
    }

    /// Checks the invariants the executor relies on without re-checking them per instruction:
    /// every register operand (including those in `extra` lists) is below `num_regs`, every
    /// branch target is inside the function, every list lies inside `extra`, every slot and
    /// signature index exists. (The executor also appends a trapping sentinel, so falling off
    /// the end cannot run into another function.)
    pub fn validate(&self) -> Result<(), String> {
        let n = self.num_regs;
        let regs_ok = |l: Option<&[u32]>| l.is_some_and(|l| l.iter().all(|&r| r < n));
        for (i, op) in self.ops.iter().enumerate() {
            let mut bad = None;
            op.operands(|_, o| match o {
                Operand::Dst(r) | Operand::Src(r) => {
                    if r >= n {
                        bad = Some(format!("op {} uses register {} of {}", i, r, n));
                    }
                }
                Operand::Target(t) => {
                    if t as usize >= self.ops.len() {
                        bad = Some(format!("op {} jumps to {} of {}", i, t, self.ops.len()));
                    }
                }
                Operand::Pair(l) => {
                    if !regs_ok(self.list(l, 2)) {
                        bad = Some(format!("op {} has a malformed operand list", i));
                    }
                }
                Operand::CallList(l) => {
                    let ok = self.call_list(l).is_some_and(|(a, r)| regs_ok(Some(a)) && regs_ok(Some(r)));
                    if !ok {
                        bad = Some(format!("op {} has a malformed operand list", i));
                    }
                }
                Operand::RetList(l) => {
                    if !regs_ok(self.ret_list(l)) {
                        bad = Some(format!("op {} has a malformed operand list", i));
                    }
                }
                Operand::Slot(s) => {
                    if s as usize >= self.slots.len() {
                        bad = Some(format!("op {} uses stack slot {} of {}", i, s, self.slots.len()));
                    }
                }
                Operand::Sig(s) => {
                    if s as usize >= self.sigs.len() {
                        bad = Some(format!("op {} uses signature {} of {}", i, s, self.sigs.len()));
                    }
                }
                // Module entities are checked when the op runs (the module may still grow).
                Operand::Data(_) | Operand::Func(_) | Operand::Ext(_) => {}
                Operand::Imm(_)
                | Operand::Shift(_)
                | Operand::Bits(_)
                | Operand::W(_)
                | Operand::IOp(_)
                | Operand::FOp(_)
                | Operand::IntCC(_)
                | Operand::FloatCC(_)
                | Operand::ConvOp(_)
                | Operand::RmwOp(_)
                | Operand::Type(_)
                | Operand::Native(_)
                | Operand::TrapCode(_)
                | Operand::Flag(_) => {}
            });
            if let Some(m) = bad {
                return Err(format!("malformed function `{}`: {}", self.name, m));
            }
        }
        Ok(())
    }

    /// The bytecode as text: a header line, then one line per op,
    /// `  index: [rD =] op_name operands` (see [`Compiled::op_text`]).
    pub fn to_text(&self) -> String {
        let mut out = format!("fn {} (params {}, regs {}", self.name, self.num_params, self.num_regs);
        if !self.slots.is_empty() {
            let slots: Vec<String> = self.slots.iter().map(|(size, align)| format!("{}/{}", size, align)).collect();
            let _ = write!(out, ", slots {}", slots.join(" "));
        }
        out.push_str("):\n");
        let width = self.ops.len().saturating_sub(1).to_string().len();
        for (i, op) in self.ops.iter().enumerate() {
            let _ = writeln!(out, "  {:>width$}: {}", i, self.op_text(op), width = width);
        }
        out
    }

    /// One op as text: `rD = op_name` and the other operands by kind — registers `rN`, branch
    /// targets `@N`, lists expanded (`(r1, r2) -> (r3)` for calls), entities `slotN`, `dataN`,
    /// `fnN`, `extN`, `sigN`, everything else as its value.
    pub fn op_text(&self, op: &Op) -> String {
        let mut dst = None;
        let mut parts: Vec<String> = Vec::new();
        let regs = |l: Option<&[u32]>| match l {
            Some(l) => l.iter().map(|r| format!("r{}", r)).collect::<Vec<_>>().join(", "),
            None => "<bad list>".to_string(),
        };
        op.operands(|field, o| {
            let text = match o {
                Operand::Dst(r) => {
                    dst = Some(r);
                    return;
                }
                Operand::Src(r) => format!("r{}", r),
                Operand::Target(t) => format!("@{}", t),
                Operand::Pair(l) => regs(self.list(l, 2)),
                Operand::CallList(l) => match self.call_list(l) {
                    Some((args, res)) => format!("({}) -> ({})", regs(Some(args)), regs(Some(res))),
                    None => "<bad list>".to_string(),
                },
                Operand::RetList(l) => regs(self.ret_list(l)),
                Operand::Imm(v) => v.to_string(),
                Operand::Shift(v) => v.to_string(),
                Operand::Bits(v) => format!("{:#x}", v),
                Operand::Slot(s) => format!("slot{}", s),
                Operand::Data(d) => format!("data{}", d),
                Operand::Func(f) => format!("fn{}", f),
                Operand::Ext(e) => format!("ext{}", e),
                Operand::Sig(s) => format!("sig{}", s),
                Operand::W(w) => format!("i{}", w.bits()),
                Operand::IOp(v) => format!("{:?}", v).to_lowercase(),
                Operand::FOp(v) => format!("{:?}", v).to_lowercase(),
                Operand::IntCC(v) => v.name().to_string(),
                Operand::FloatCC(v) => v.name().to_string(),
                Operand::ConvOp(v) => v.name().to_string(),
                Operand::RmwOp(v) => v.name().to_string(),
                Operand::Type(t) => t.name().to_string(),
                Operand::Native(v) => format!("{:?}", v).to_lowercase(),
                Operand::TrapCode(v) => format!("{:?}", v).to_lowercase(),
                Operand::Flag(v) => format!("{}={}", field, v),
            };
            parts.push(text);
        });
        let mut out = match dst {
            Some(d) => format!("r{} = {}", d, snake_case(op.name())),
            None => snake_case(op.name()),
        };
        if !parts.is_empty() {
            out.push(' ');
            out.push_str(&parts.join(", "));
        }
        out
    }
}

/// `BrSltI` → `br_slt_i`, `Add64` → `add64`, `F64ToI64` → `f64_to_i64`: an underscore before an
/// uppercase letter that follows a lowercase letter or a digit.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = true;
        }
    }
    out
}
