//! Loop-invariant code motion: a pure instruction (see [`super::effects::is_pure`]) inside a
//! natural loop whose operands are all defined outside the loop moves to the end of the loop's
//! preheader — the one block outside the loop that enters the header, when it ends in a `jump`.
//! Loops without such a preheader are left alone. Pure instructions cannot trap, so running them
//! when the loop body would not have run changes nothing.

use super::effects::is_pure;
use super::inline::inst_blocks;
use crate::cfg::Cfg;
use crate::entity::EntityRef;
use crate::*;

/// Hoists the invariant pure instructions of every loop of `f`. Returns whether any moved.
pub fn hoist(f: &mut Function) -> bool {
    let cfg = Cfg::compute(f);
    let mut loops: Vec<(Block, Vec<bool>)> = Vec::new();
    for &h in &cfg.rpo {
        let latches: Vec<Block> = cfg.preds[h.index()].iter().copied().filter(|&b| cfg.is_reachable(b) && cfg.dominates(h, b)).collect();
        if latches.is_empty() {
            continue;
        }
        loops.push((h, cfg.natural_loop(h, latches, f.blocks.len())));
    }
    // Inner loops (fewer blocks) first, so what leaves an inner loop can leave the outer one too.
    loops.sort_by_key(|(_, body)| body.iter().filter(|&&x| x).count());
    let mut at = inst_blocks(f);
    let mut moved = false;
    for (h, body) in &loops {
        let outside: Vec<Block> = cfg.preds[h.index()].iter().copied().filter(|p| !body[p.index()] && cfg.is_reachable(*p)).collect();
        let [pre] = outside.as_slice() else { continue };
        let Some(&term) = f.blocks[*pre].insts.last() else { continue };
        if !matches!(f.insts[term].kind, InstKind::Jump { .. }) {
            continue;
        }
        moved |= hoist_loop(f, &cfg, body, *pre, &mut at);
    }
    moved
}

/// Moves the invariant pure instructions of the loop `body` to the end of `pre` (before its
/// terminator).
fn hoist_loop(f: &mut Function, cfg: &Cfg, body: &[bool], pre: Block, at: &mut [Option<Block>]) -> bool {
    let inside = |f: &Function, at: &[Option<Block>], v: Value| match f.values[v].def {
        ValueDef::Param(b, _) => body[b.index()],
        ValueDef::Result(i, _) => at[i.index()].is_none_or(|b| body[b.index()]),
    };
    let mut hoisted = Vec::new();
    for &b in cfg.rpo.iter().filter(|b| body[b.index()]) {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut kept = Vec::with_capacity(insts.len());
        for i in insts {
            let d = &f.insts[i];
            let mut invariant = !d.results.is_empty() && is_pure(f, &d.kind);
            d.kind.for_each_operand(|v| invariant &= !inside(f, at, v));
            if invariant {
                at[i.index()] = Some(pre);
                hoisted.push(i);
            } else {
                kept.push(i);
            }
        }
        f.blocks[b].insts = kept;
    }
    if hoisted.is_empty() {
        return false;
    }
    let term = f.blocks[pre].insts.pop();
    f.blocks[pre].insts.extend(hoisted);
    f.blocks[pre].insts.extend(term);
    true
}
