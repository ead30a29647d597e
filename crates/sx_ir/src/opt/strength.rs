//! Signed remainders and divisions by powers of two made cheap where that is exact:
//!
//! - `srem x, 2^k` compared (`eq`/`ne`) with 0 becomes `and x, 2^k - 1` compared with 0: both
//!   are zero exactly when the low `k` bits of `x` are (negative `x` included).
//! - `sdiv x, 2^k` becomes `sshr x, k` where a dominating branch established that the low `j ≥ k`
//!   bits of `x` are zero (`(x & (2^j - 1)) == 0`): the division is then exact, and rounding
//!   towards zero and the arithmetic shift's rounding down agree.
//!
//! So `if x % 2 == 0 { x = x / 2; }` costs a bit test and a shift. The remainders left unused
//! are removed by [`super::simplify()`], which runs next.

use super::effects::int_const;
use crate::cfg::Cfg;
use crate::*;

/// Applies both rewrites to `f`. Returns whether anything changed.
pub fn reduce(f: &mut Function) -> bool {
    let mut changed = false;
    for b in f.blocks.keys().collect::<Vec<_>>() {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut out = Vec::with_capacity(insts.len());
        for i in insts {
            if let Some((x, ty, k)) = remainder_tested(f, i) {
                let mask = new_value(f, InstKind::Iconst { ty, imm: (1i64 << k) - 1 }, ty);
                let and = new_value(f, InstKind::Binary { op: BinOp::And, a: x, b: mask.1 }, ty);
                out.extend([mask.0, and.0]);
                if let InstKind::Icmp { a, .. } = &mut f.insts[i].kind {
                    *a = and.1;
                }
                changed = true;
            }
            out.push(i);
        }
        f.blocks[b].insts = out;
    }
    changed | exact_divisions(f)
}

/// For `icmp eq|ne (srem x, 2^k), 0` (the remainder's one use need not be this one): `x`, its
/// type and `k`.
fn remainder_tested(f: &Function, i: Inst) -> Option<(Value, Type, u32)> {
    let InstKind::Icmp { cc: IntCC::Eq | IntCC::Ne, a, b } = f.insts[i].kind else { return None };
    if !matches!(int_const(f, b), Some((_, 0))) {
        return None;
    }
    let ValueDef::Result(r, 0) = f.values[a].def else { return None };
    let InstKind::Binary { op: BinOp::Srem, a: x, b: d } = f.insts[r].kind else { return None };
    let (ty, k) = power_of_two(f, d)?;
    Some((x, ty, k))
}

/// `Some((type, k))` when `v` is the constant `2^k`, `1 ≤ k` and `2^k` positive at its width.
fn power_of_two(f: &Function, v: Value) -> Option<(Type, u32)> {
    let (ty, c) = int_const(f, v)?;
    let k = c.trailing_zeros();
    (c > 1 && c.count_ones() == 1 && k < ty.bytes() * 8 - 1).then_some((ty, k))
}

/// Rewrites the `sdiv x, 2^k` whose `x` a dominating branch showed to be a multiple of `2^k`.
fn exact_divisions(f: &mut Function) -> bool {
    let divides = |f: &Function, i: Inst| matches!(f.insts[i].kind, InstKind::Binary { op: BinOp::Sdiv, .. });
    if !f.blocks.values().any(|bd| bd.insts.iter().any(|&i| divides(f, i))) {
        return false;
    }
    let cfg = Cfg::compute(f);
    let mut changed = false;
    for &b in &cfg.rpo {
        let mut n = 0;
        while n < f.blocks[b].insts.len() {
            let i = f.blocks[b].insts[n];
            n += 1;
            let InstKind::Binary { op: BinOp::Sdiv, a: x, b: d } = f.insts[i].kind else { continue };
            let Some((ty, k)) = power_of_two(f, d) else { continue };
            if !known_multiple(f, &cfg, b, x, k) {
                continue;
            }
            let shift = new_value(f, InstKind::Iconst { ty, imm: k as i64 }, ty);
            f.insts[i].kind = InstKind::Binary { op: BinOp::Sshr, a: x, b: shift.1 };
            f.blocks[b].insts.insert(n - 1, shift.0);
            n += 1;
            changed = true;
        }
    }
    changed
}

/// True when a block dominating `b` (or `b` itself) is entered only on the arm of a branch where
/// `(x & (2^j - 1)) == 0` holds, `j ≥ k`.
fn known_multiple(f: &Function, cfg: &Cfg, b: Block, x: Value, k: u32) -> bool {
    let mut at = Some(b);
    while let Some(c) = at {
        if let Some((cond, holds)) = super::simplify::entry_condition(f, cfg, c) {
            if low_bits_zero(f, cond, holds, x).is_some_and(|j| j >= k) {
                return true;
            }
        }
        at = cfg.idom(c).filter(|&d| d != c);
    }
    false
}

/// When `cond` being `holds` means `x & (2^j - 1) == 0`: `j`.
fn low_bits_zero(f: &Function, cond: Value, holds: bool, x: Value) -> Option<u32> {
    let ValueDef::Result(i, 0) = f.values[cond].def else { return None };
    let InstKind::Icmp { cc, a, b } = f.insts[i].kind else { return None };
    let zero_when = match cc {
        IntCC::Eq => holds,
        IntCC::Ne => !holds,
        IntCC::Slt | IntCC::Sle | IntCC::Sgt | IntCC::Sge | IntCC::Ult | IntCC::Ule | IntCC::Ugt | IntCC::Uge => return None,
    };
    if !zero_when || !matches!(int_const(f, b), Some((_, 0))) {
        return None;
    }
    let ValueDef::Result(m, 0) = f.values[a].def else { return None };
    let InstKind::Binary { op: BinOp::And, a: p, b: q } = f.insts[m].kind else { return None };
    let mask = if p == x {
        q
    } else if q == x {
        p
    } else {
        return None;
    };
    let (_, c) = int_const(f, mask)?;
    let j = c.trailing_ones();
    (c >= 1 && (c as u64).checked_add(1).is_some_and(|n| n.is_power_of_two())).then_some(j)
}

/// Creates an instruction (in no block yet) with one result of type `ty`.
fn new_value(f: &mut Function, kind: InstKind, ty: Type) -> (Inst, Value) {
    let i = f.insts.next_key();
    let r = f.values.push(ValueData { ty, def: ValueDef::Result(i, 0) });
    f.insts.push(InstData { kind, results: vec![r], span: None });
    (i, r)
}
