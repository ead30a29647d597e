//! Constant folding and algebraic simplification of one instruction, with the semantics the
//! back ends give it (wrapping integer arithmetic at the operand width, shift amounts modulo the
//! width, IEEE floats). What would trap (division by zero, the signed division overflow) or
//! produce a NaN is left to run.

use super::effects::{canonical, float_const, icmp_holds, int_const, unsigned};
use crate::*;

/// What an instruction simplifies to.
#[derive(Clone, Debug, PartialEq)]
pub enum Folded {
    /// A constant (an `Iconst` or `Fconst` kind that replaces the instruction).
    Const(InstKind),
    /// An existing value (the instruction's only result is that value).
    Same(Value),
}

/// The simplification of `kind` (an instruction of `f` whose operands are already resolved), if
/// any.
pub fn fold(f: &Function, kind: &InstKind) -> Option<Folded> {
    use InstKind::*;
    match *kind {
        Binary { op, a, b } => fold_binary(f, op, a, b),
        Unary { op, a } => fold_unary(f, op, a),
        Icmp { cc, a, b } => {
            if a == b {
                let same = matches!(cc, IntCC::Eq | IntCC::Sle | IntCC::Sge | IntCC::Ule | IntCC::Uge);
                return Some(Folded::Const(Iconst { ty: Type::I8, imm: same as i64 }));
            }
            let ((ty, x), (_, y)) = (int_const(f, a)?, int_const(f, b)?);
            let r = icmp_holds(ty, cc, x, y);
            Some(Folded::Const(Iconst { ty: Type::I8, imm: r as i64 }))
        }
        Fcmp { cc, a, b } => {
            let ((_, x), (_, y)) = (float_const(f, a)?, float_const(f, b)?);
            let r = match cc {
                FloatCC::Eq => x == y,
                FloatCC::Ne => x != y,
                FloatCC::Lt => x < y,
                FloatCC::Le => x <= y,
                FloatCC::Gt => x > y,
                FloatCC::Ge => x >= y,
            };
            Some(Folded::Const(Iconst { ty: Type::I8, imm: r as i64 }))
        }
        Convert { op, a, to } => fold_convert(f, op, a, to),
        Select { cond, a, b } => {
            if a == b {
                return Some(Folded::Same(a));
            }
            let (_, c) = int_const(f, cond)?;
            Some(Folded::Same(if c != 0 { a } else { b }))
        }
        Iconst { .. }
        | Fconst { .. }
        | Load { .. }
        | Store { .. }
        | StackAddr { .. }
        | DataAddr { .. }
        | FuncAddr { .. }
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
        | Fence { .. } => None,
    }
}

/// A float constant of type `ty`, unless it is a NaN (whose bits the hardware chooses).
fn float(ty: Type, value: f64) -> Option<Folded> {
    let value = if ty == Type::F32 { value as f32 as f64 } else { value };
    (!value.is_nan()).then_some(Folded::Const(InstKind::Fconst { ty, value }))
}

fn fold_binary(f: &Function, op: BinOp, a: Value, b: Value) -> Option<Folded> {
    if op_is_float(op) {
        let ((ty, x), (_, y)) = (float_const(f, a)?, float_const(f, b)?);
        let r = if ty == Type::F32 { float_op(op, x as f32, y as f32)? as f64 } else { float_op(op, x, y)? };
        return float(ty, r);
    }
    let ty = f.value_type(a);
    let (ca, cb) = (int_const(f, a).map(|c| c.1), int_const(f, b).map(|c| c.1));
    let (Some(x), Some(y)) = (ca, cb) else { return identity(op, a, b, ca, cb, ty) };
    let bits = ty.bytes() * 8;
    let (ux, uy) = (unsigned(ty, x), unsigned(ty, y));
    let amount = (uy % bits as u64) as u32;
    let r = match op {
        BinOp::Iadd => x.wrapping_add(y),
        BinOp::Isub => x.wrapping_sub(y),
        BinOp::Imul => x.wrapping_mul(y),
        BinOp::Sdiv if y == 0 || (y == -1 && x == canonical(ty, 1i64 << (bits - 1))) => return None,
        BinOp::Sdiv => x.wrapping_div(y),
        BinOp::Srem if y == 0 => return None,
        BinOp::Srem => x.wrapping_rem(y),
        BinOp::Udiv | BinOp::Urem if uy == 0 => return None,
        BinOp::Udiv => (ux / uy) as i64,
        BinOp::Urem => (ux % uy) as i64,
        BinOp::And => x & y,
        BinOp::Or => x | y,
        BinOp::Xor => x ^ y,
        BinOp::Shl => x.wrapping_shl(amount),
        BinOp::Sshr => x >> amount,
        BinOp::Ushr => (ux >> amount) as i64,
        BinOp::Fadd | BinOp::Fsub | BinOp::Fmul | BinOp::Fdiv => return None,
    };
    Some(Folded::Const(InstKind::Iconst { ty, imm: canonical(ty, r) }))
}

/// `x op y` for the four float operators, in the precision of `T`.
fn float_op<T: std::ops::Add<Output = T> + std::ops::Sub<Output = T> + std::ops::Mul<Output = T> + std::ops::Div<Output = T>>(
    op: BinOp,
    x: T,
    y: T,
) -> Option<T> {
    Some(match op {
        BinOp::Fadd => x + y,
        BinOp::Fsub => x - y,
        BinOp::Fmul => x * y,
        BinOp::Fdiv => x / y,
        BinOp::Iadd
        | BinOp::Isub
        | BinOp::Imul
        | BinOp::Sdiv
        | BinOp::Udiv
        | BinOp::Srem
        | BinOp::Urem
        | BinOp::And
        | BinOp::Or
        | BinOp::Xor
        | BinOp::Shl
        | BinOp::Sshr
        | BinOp::Ushr => return None,
    })
}

fn op_is_float(op: BinOp) -> bool {
    matches!(op, BinOp::Fadd | BinOp::Fsub | BinOp::Fmul | BinOp::Fdiv)
}

/// `x + 0`, `x * 1`, `x * 0`, `x - x`, … with at most one constant operand.
fn identity(op: BinOp, a: Value, b: Value, ca: Option<i64>, cb: Option<i64>, ty: Type) -> Option<Folded> {
    use BinOp::*;
    let zero = Some(Folded::Const(InstKind::Iconst { ty, imm: 0 }));
    if matches!(op, Iadd | Or | Xor) && ca == Some(0) {
        return Some(Folded::Same(b));
    }
    if matches!(op, Iadd | Isub | Or | Xor | Shl | Sshr | Ushr) && cb == Some(0) {
        return Some(Folded::Same(a));
    }
    if matches!(op, Imul | Sdiv | Udiv) && cb == Some(1) || op == And && cb == Some(-1) {
        return Some(Folded::Same(a));
    }
    if op == Imul && ca == Some(1) || op == And && ca == Some(-1) {
        return Some(Folded::Same(b));
    }
    if matches!(op, Imul | And) && (ca == Some(0) || cb == Some(0)) {
        return zero;
    }
    if a == b && matches!(op, Isub | Xor) {
        return zero;
    }
    if a == b && matches!(op, And | Or) {
        return Some(Folded::Same(a));
    }
    None
}

fn fold_unary(f: &Function, op: UnOp, a: Value) -> Option<Folded> {
    match op {
        UnOp::Ineg | UnOp::Bnot => {
            let (ty, x) = int_const(f, a)?;
            let r = if op == UnOp::Ineg { x.wrapping_neg() } else { !x };
            Some(Folded::Const(InstKind::Iconst { ty, imm: canonical(ty, r) }))
        }
        UnOp::Fneg => {
            let (ty, x) = float_const(f, a)?;
            float(ty, -x)
        }
    }
}

fn fold_convert(f: &Function, op: ConvOp, a: Value, to: Type) -> Option<Folded> {
    let from = f.value_type(a);
    if from == to && matches!(op, ConvOp::Bitcast | ConvOp::Sext | ConvOp::Uext | ConvOp::Trunc) {
        return Some(Folded::Same(a));
    }
    let int = |imm: i64| Some(Folded::Const(InstKind::Iconst { ty: to, imm: canonical(to, imm) }));
    match op {
        ConvOp::Sext | ConvOp::Trunc if !from.is_float() && !to.is_float() => int(int_const(f, a)?.1),
        ConvOp::Uext if !from.is_float() && !to.is_float() => int(unsigned(from, int_const(f, a)?.1) as i64),
        ConvOp::Bitcast if !from.is_float() && !to.is_float() => int(int_const(f, a)?.1),
        ConvOp::SToF if !from.is_float() && to.is_float() => {
            let x = int_const(f, a)?.1;
            float(to, if to == Type::F32 { x as f32 as f64 } else { x as f64 })
        }
        ConvOp::UToF if !from.is_float() && to.is_float() => {
            let x = unsigned(from, int_const(f, a)?.1);
            float(to, if to == Type::F32 { x as f32 as f64 } else { x as f64 })
        }
        ConvOp::FPromote | ConvOp::FDemote if from.is_float() && to.is_float() => float(to, float_const(f, a)?.1),
        ConvOp::Sext
        | ConvOp::Uext
        | ConvOp::Trunc
        | ConvOp::Bitcast
        | ConvOp::SToF
        | ConvOp::UToF
        | ConvOp::FPromote
        | ConvOp::FDemote
        | ConvOp::FToS
        | ConvOp::FToU => None,
    }
}
