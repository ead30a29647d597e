//! What an instruction does besides computing its results: the one classification the
//! optimisation passes share (dead-code elimination, value numbering, hoisting).

use crate::*;

/// The integer constant `v` is defined as (its type and canonical sign-extended bits), if any.
pub fn int_const(f: &Function, v: Value) -> Option<(Type, i64)> {
    let ValueDef::Result(i, 0) = f.values.get(v)?.def else { return None };
    let InstKind::Iconst { ty, imm } = f.insts.get(i)?.kind else { return None };
    Some((ty, canonical(ty, imm)))
}

/// The float constant `v` is defined as, if any (an `F32` constant rounded to `f32`, as the
/// back ends materialise it).
pub fn float_const(f: &Function, v: Value) -> Option<(Type, f64)> {
    let ValueDef::Result(i, 0) = f.values.get(v)?.def else { return None };
    let InstKind::Fconst { ty, value } = f.insts.get(i)?.kind else { return None };
    Some((ty, if ty == Type::F32 { value as f32 as f64 } else { value }))
}

/// `imm` truncated to the width of `ty` and sign-extended back to 64 bits.
pub fn canonical(ty: Type, imm: i64) -> i64 {
    match ty.bytes() {
        1 => imm as i8 as i64,
        2 => imm as i16 as i64,
        4 => imm as i32 as i64,
        _ => imm,
    }
}

/// `imm` truncated to the width of `ty`, zero-extended.
pub fn unsigned(ty: Type, imm: i64) -> u64 {
    match ty.bytes() {
        1 => imm as u8 as u64,
        2 => imm as u16 as u64,
        4 => imm as u32 as u64,
        _ => imm as u64,
    }
}

/// Whether `x <cc> y` holds for two constants of type `ty` in canonical (sign-extended) form:
/// the signed conditions compare them as they are, the unsigned ones at the type's width.
pub fn icmp_holds(ty: Type, cc: IntCC, x: i64, y: i64) -> bool {
    let (ux, uy) = (unsigned(ty, x), unsigned(ty, y));
    match cc {
        IntCC::Eq => x == y,
        IntCC::Ne => x != y,
        IntCC::Slt => x < y,
        IntCC::Sle => x <= y,
        IntCC::Sgt => x > y,
        IntCC::Sge => x >= y,
        IntCC::Ult => ux < uy,
        IntCC::Ule => ux <= uy,
        IntCC::Ugt => ux > uy,
        IntCC::Uge => ux >= uy,
    }
}

/// True when a division or remainder by `divisor` cannot trap: a constant other than 0 (and, for
/// a signed division, other than -1, which overflows on the minimum).
fn division_is_safe(f: &Function, op: BinOp, divisor: Value) -> bool {
    match int_const(f, divisor) {
        Some((_, 0)) | None => false,
        Some((_, -1)) => op != BinOp::Sdiv,
        Some(_) => true,
    }
}

/// True when the instruction only computes its results from its operands: no memory access, no
/// control flow, no call, no trap. Such an instruction may be removed when its results are unused,
/// merged with an equal one that dominates it, and moved as long as its operands stay defined.
/// Every instruction not listed here (loads, stores, calls, memory operations, terminators and
/// any instruction kind a pass does not know) is kept where it is.
pub fn is_pure(f: &Function, kind: &InstKind) -> bool {
    use InstKind::*;
    match kind {
        Iconst { .. } | Fconst { .. } | Unary { .. } | Icmp { .. } | Fcmp { .. } | Convert { .. } | Select { .. } => true,
        StackAddr { .. } | DataAddr { .. } | FuncAddr { .. } => true,
        Binary { op, b, .. } => match op {
            BinOp::Sdiv | BinOp::Udiv | BinOp::Srem | BinOp::Urem => division_is_safe(f, *op, *b),
            BinOp::Iadd
            | BinOp::Isub
            | BinOp::Imul
            | BinOp::And
            | BinOp::Or
            | BinOp::Xor
            | BinOp::Shl
            | BinOp::Sshr
            | BinOp::Ushr
            | BinOp::Fadd
            | BinOp::Fsub
            | BinOp::Fmul
            | BinOp::Fdiv => true,
        },
        Load { .. }
        | Store { .. }
        | Call { .. }
        | CallExtern { .. }
        | CallIndirect { .. }
        | MemCopy { .. }
        | MemFill { .. }
        | Jump { .. }
        | Branch { .. }
        | Return { .. }
        | Trap { .. }
        | AtomicLoad { .. }
        | AtomicStore { .. }
        | AtomicRmw { .. }
        | AtomicCas { .. }
        | Fence { .. } => false,
    }
}
