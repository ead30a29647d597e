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
//! Finally [`Compiled::validate`] checks every register operand, list and branch target, which is what
//! lets the executor access registers and ops without bounds checks.
//!
//! Register values are canonical: integers are zero-extended from their width, f32 is
//! `to_bits() as u64`, f64 is `to_bits()`.
//!
//! Passes, in order (each one function): [`analysis::constants`], [`analysis::plan`] (block
//! layout, use counts, shared slot addresses, value numbering, folded address offsets,
//! identities, alias roots, address pairs), [`analysis::assign_registers`],
//! [`analysis::root_uses`], [`analysis::coalesce_jump_args`], then instruction selection in
//! [`emit`] (prologue, blocks in layout order, fixups) and validation.

mod analysis;
mod emit;

use sx_ir::entity::EntityRef;
use sx_ir::{BinOp, Function, InstKind, IntCC, Module, Value};

pub use crate::bytecode::Compiled;
use crate::bytecode::{FOp, IOp};
use crate::width::W;

/// Translates function `f` of `m`.
pub fn translate(m: &Module, f: &Function) -> Result<Compiled, String> {
    let entry = match f.entry() {
        Some(e) => e,
        None => return Err(format!("function `{}` has no body", f.name)),
    };
    if f.values.len() >= (u32::MAX - 2) as usize {
        return err(f, "too many values");
    }
    let konst = analysis::constants(f)?;
    let plan = analysis::plan(f, entry, &konst);
    let mut regs = analysis::assign_registers(f, &plan)?;
    let root_uses = analysis::root_uses(f, &plan, |kind| fold_of(f, &konst, kind))?;
    analysis::coalesce_jump_args(f, &plan, &root_uses, &mut regs.reg);
    let num_regs = regs.tmp + 1;
    let mut tx = emit::Tx {
        f,
        m,
        plan: &plan,
        konst,
        reg: regs.reg,
        uses: root_uses.uses,
        tmp: regs.tmp,
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
    if plan.hoist {
        tx.emit_prologue()?;
    }
    tx.block_start = vec![u32::MAX; f.blocks.len()];
    for (at, &b) in plan.order.iter().enumerate() {
        tx.emit_block(at, b)?;
    }
    tx.resolve_fixups()?;
    let slots = std::mem::take(&mut tx.used_slots);
    let c = Compiled {
        name: f.name.clone(),
        ops: tx.ops,
        spans: tx.spans,
        extra: tx.extra,
        sigs: tx.sigs,
        num_regs,
        num_params: regs.num_params,
        slots,
    };
    c.validate()?;
    Ok(c)
}

fn err<T>(f: &Function, msg: impl Into<String>) -> Result<T, String> {
    Err(format!("malformed function `{}`: {}", f.name, msg.into()))
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

/// What a binary operator computes on: integers or floats.
enum BinKind {
    Int(IOp),
    Float(FOp),
}

/// The integer or float operator of `op`.
fn bin_kind(op: BinOp) -> BinKind {
    use BinKind::{Float, Int};
    match op {
        BinOp::Iadd => Int(IOp::Add),
        BinOp::Isub => Int(IOp::Sub),
        BinOp::Imul => Int(IOp::Mul),
        BinOp::Sdiv => Int(IOp::Sdiv),
        BinOp::Udiv => Int(IOp::Udiv),
        BinOp::Srem => Int(IOp::Srem),
        BinOp::Urem => Int(IOp::Urem),
        BinOp::And => Int(IOp::And),
        BinOp::Or => Int(IOp::Or),
        BinOp::Xor => Int(IOp::Xor),
        BinOp::Shl => Int(IOp::Shl),
        BinOp::Sshr => Int(IOp::Sshr),
        BinOp::Ushr => Int(IOp::Ushr),
        BinOp::Fadd => Float(FOp::Add),
        BinOp::Fsub => Float(FOp::Sub),
        BinOp::Fmul => Float(FOp::Mul),
        BinOp::Fdiv => Float(FOp::Div),
    }
}

/// The integer operator of `op` (`None` for float operators).
fn int_op(op: BinOp) -> Option<IOp> {
    match bin_kind(op) {
        BinKind::Int(iop) => Some(iop),
        BinKind::Float(_) => None,
    }
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

/// Immediate for constant `c` of width `w` (read back as `w.mask(imm as i64 as u64)`).
fn imm_for(w: W, c: u64) -> Option<i32> {
    match w {
        W::B64 => i32::try_from(c as i64).ok(),
        _ => Some(c as u32 as i32),
    }
}

/// The fold of `kind`'s constant operand into an immediate, if any (`konst`: canonical values
/// of integer constants).
fn fold_of(f: &Function, konst: &[Option<u64>], kind: &InstKind) -> Option<Fold> {
    let ty = |v: Value| f.values.get(v).map(|d| d.ty);
    let k = |v: Value| konst.get(v.index()).copied().flatten();
    match kind {
        InstKind::Binary { op, a, b } => {
            let iop = int_op(*op)?;
            let w = W::of(ty(*a)?);
            if let Some(c) = k(*b) {
                if matches!(iop, IOp::Shl | IOp::Sshr | IOp::Ushr) {
                    return Some(Fold { swap: false, imm: (c & 63) as i32 });
                }
                if W::of(ty(*b)?) == w {
                    return imm_for(w, c).map(|imm| Fold { swap: false, imm });
                }
                return None;
            }
            if commutative(iop) && ty(*a)? == ty(*b)? {
                let c = k(*a)?;
                return imm_for(w, c).map(|imm| Fold { swap: true, imm });
            }
            None
        }
        InstKind::Icmp { a, b, .. } => {
            let w = W::of(ty(*a)?);
            if ty(*a)? != ty(*b)? {
                return None;
            }
            if let Some(c) = k(*b) {
                return imm_for(w, c).map(|imm| Fold { swap: false, imm });
            }
            let c = k(*a)?;
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
