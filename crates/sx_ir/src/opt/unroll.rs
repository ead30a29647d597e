//! Full unrolling of short counted loops: a loop whose header tests an induction variable that
//! starts at a constant and steps by a constant (`for 0..5 (i)`) and runs at most
//! [`MAX_TRIPS`] times is peeled that many times, so every copy sees its own constant index
//! (array indices, bounds checks and `(i + 1) % 5` fold away). One more copy is made, whose
//! test fails on a constant, so the loop left behind becomes unreachable.
//!
//! Peeling one iteration copies the loop's blocks in front of it: correct for any loop, the trip
//! count only decides whether it pays. The values of the loop that are used after it now come
//! from any copy; as in [`super::rotate`] they go through fresh slots that
//! [`super::promote_slots`] (run next, with [`super::simplify()`]) turns into block parameters.

use super::effects::int_const;
use super::rotate::demote_outside_uses;
use crate::cfg::Cfg;
use crate::entity::EntityRef;
use crate::*;

/// Loops that run more often than this are not unrolled.
const MAX_TRIPS: u64 = 8;
/// Nor when the copies would add more than this many instructions.
const MAX_GROWTH: usize = 1000;

/// A loop chosen for unrolling.
struct Counted {
    header: Block,
    /// The loop's blocks.
    body: Vec<bool>,
    trips: u64,
}

/// Unrolls the short counted loops of `f` (innermost first; a loop containing one that was
/// unrolled waits for the next call). Returns whether anything changed.
pub fn unroll(f: &mut Function, ptr: Type) -> bool {
    let cfg = Cfg::compute(f);
    let mut loops = Vec::new();
    for &h in &cfg.rpo {
        if let Some(l) = counted_loop(f, &cfg, h) {
            loops.push(l);
        }
    }
    if loops.is_empty() {
        return false;
    }
    // Loops nested deepest first (they run most), then the smaller ones.
    let all = natural_loops(&cfg, f.blocks.len());
    let depth = |l: &Counted| all.iter().filter(|body| body[l.header.index()]).count();
    loops.sort_by_key(|l| (std::cmp::Reverse(depth(l)), l.body.iter().filter(|&&x| x).count()));
    let mut done: Vec<bool> = vec![false; f.blocks.len()];
    let mut changed = false;
    let mut budget = MAX_GROWTH;
    for l in loops {
        // A loop that contains one already unrolled (or is contained by it) waits.
        if l.body.iter().enumerate().any(|(b, &x)| x && done[b]) {
            continue;
        }
        let size: usize =
            f.blocks.iter().filter(|(b, _)| l.body.get(b.index()).copied().unwrap_or(false)).map(|(_, bd)| bd.insts.len()).sum();
        let growth = size * (l.trips as usize + 1);
        if growth > budget {
            continue;
        }
        budget -= growth;
        for (b, &x) in l.body.iter().enumerate() {
            done[b] |= x;
        }
        demote_outside_uses(f, &l.body, ptr);
        let Some(mut from) = outside_pred(f, &cfg, &l) else { continue };
        // One copy more than the trips: its test fails on a constant, so after folding nothing
        // reaches the loop left behind.
        for _ in 0..=l.trips {
            from = peel(f, &l, from);
        }
        changed = true;
    }
    changed
}

/// The blocks of every natural loop of the function (one per header with back edges).
fn natural_loops(cfg: &Cfg, n: usize) -> Vec<Vec<bool>> {
    let mut out = Vec::new();
    for &h in &cfg.rpo {
        let latches: Vec<Block> = cfg.preds[h.index()].iter().copied().filter(|&p| cfg.is_reachable(p) && cfg.dominates(h, p)).collect();
        if !latches.is_empty() {
            out.push(cfg.natural_loop(h, latches, n));
        }
    }
    out
}

/// The block outside the loop whose terminator enters it (its only such block).
fn outside_pred(f: &Function, cfg: &Cfg, l: &Counted) -> Option<Block> {
    let outside: Vec<Block> = cfg.preds[l.header.index()].iter().copied().filter(|p| !l.body[p.index()] && cfg.is_reachable(*p)).collect();
    let [p] = outside.as_slice() else { return None };
    f.blocks[*p].insts.last().map(|_| *p)
}

/// The loop with header `h`, when it is a short counted loop: one latch (a `jump h`), one block
/// outside entering it, and a header that only tests `param <cc> N` (a pure compare of one of its
/// parameters with a constant, then a branch leaving the loop on one arm), where the entering
/// edge passes a constant for that parameter and the latch passes `param + step` (a constant).
fn counted_loop(f: &Function, cfg: &Cfg, h: Block) -> Option<Counted> {
    let preds = &cfg.preds[h.index()];
    let latches: Vec<Block> = preds.iter().copied().filter(|&p| cfg.is_reachable(p) && cfg.dominates(h, p)).collect();
    let [latch] = latches.as_slice() else { return None };
    let body = cfg.natural_loop(h, vec![*latch], f.blocks.len());
    let outside: Vec<Block> = preds.iter().copied().filter(|p| !body[p.index()] && cfg.is_reachable(*p)).collect();
    let [pre] = outside.as_slice() else { return None };

    // The header: `c = icmp cc p, N` then `brif c`, one arm in the loop.
    let insts = &f.blocks[h].insts;
    let (&term, rest) = insts.split_last()?;
    let InstKind::Branch { cond, then_dest, else_dest, .. } = f.insts[term].kind else { return None };
    if body[then_dest.index()] == body[else_dest.index()] {
        return None;
    }
    let stays_when = body[then_dest.index()];
    let ValueDef::Result(ci, 0) = f.values[cond].def else { return None };
    if !rest.contains(&ci) || rest.iter().any(|&i| !super::effects::is_pure(f, &f.insts[i].kind)) {
        return None;
    }
    let InstKind::Icmp { cc, a: iv, b: limit } = f.insts[ci].kind else { return None };
    let (_, n) = int_const(f, limit)?;
    let ValueDef::Param(pb, pos) = f.values[iv].def else { return None };
    if pb != h {
        return None;
    }
    let pos = pos as usize;
    let start = edge_arg(f, *pre, h, pos).and_then(|v| int_const(f, v))?.1;
    let next = edge_arg(f, *latch, h, pos)?;
    let ValueDef::Result(si, 0) = f.values[next].def else { return None };
    let InstKind::Binary { op: BinOp::Iadd, a, b } = f.insts[si].kind else { return None };
    let step = if a == iv {
        b
    } else if b == iv {
        a
    } else {
        return None;
    };
    let (ty, step) = int_const(f, step)?;
    let trips = trip_count(ty, cc, start, step, n, stays_when)?;
    (trips > 0).then_some(Counted { header: h, body, trips })
}

/// The argument at `pos` that block `from`'s terminator passes to `to` (one edge only).
fn edge_arg(f: &Function, from: Block, to: Block, pos: usize) -> Option<Value> {
    let &t = f.blocks[from].insts.last()?;
    let edges = f.insts[t].kind.edges();
    let mut into = edges.iter().filter(|(d, _)| *d == to);
    let (_, args) = into.next()?;
    if into.next().is_some() {
        return None;
    }
    args.get(pos).copied()
}

/// How many times the loop runs: the index starts at `start` and grows by `step` (wrapping at
/// the width of `ty`) while `index <cc> n` is `stays_when`; `None` beyond [`MAX_TRIPS`].
fn trip_count(ty: Type, cc: IntCC, start: i64, step: i64, n: i64, stays_when: bool) -> Option<u64> {
    use super::effects::{canonical, icmp_holds};
    let mut v = canonical(ty, start);
    for trips in 0..=MAX_TRIPS {
        if icmp_holds(ty, cc, v, n) != stays_when {
            return Some(trips);
        }
        v = canonical(ty, v.wrapping_add(step));
    }
    None
}

/// Copies the blocks of loop `l` once; the edges of `from` into the header go to the copy, whose
/// latch jumps to the loop's header. Returns the copy of the latch, whose edge into the header
/// the next peel redirects.
fn peel(f: &mut Function, l: &Counted, from: Block) -> Block {
    let blocks: Vec<Block> = f.blocks.keys().filter(|b| l.body.get(b.index()).copied().unwrap_or(false)).collect();
    let mut block_map: Vec<Option<Block>> = vec![None; f.blocks.len()];
    for &b in &blocks {
        block_map[b.index()] = Some(f.blocks.push(BlockData::default()));
    }
    let mut value_map: Vec<Option<Value>> = vec![None; f.values.len()];
    for &b in &blocks {
        let nb = block_map[b.index()].unwrap_or(b);
        for (n, p) in f.blocks[b].params.clone().into_iter().enumerate() {
            let v = f.values.push(ValueData { ty: f.values[p].ty, def: ValueDef::Param(nb, n as u32) });
            value_map[p.index()] = Some(v);
            f.blocks[nb].params.push(v);
        }
        for i in f.blocks[b].insts.clone() {
            for r in f.insts[i].results.clone() {
                value_map[r.index()] = Some(f.values.push(ValueData { ty: f.values[r].ty, def: ValueDef::Param(nb, 0) }));
            }
        }
    }
    let mut latch_copy = from;
    for &b in &blocks {
        let nb = block_map[b.index()].unwrap_or(b);
        for i in f.blocks[b].insts.clone() {
            let d = f.insts[i].clone();
            let mut kind = d.kind;
            kind.for_each_operand_mut(|v| *v = value_map.get(v.index()).copied().flatten().unwrap_or(*v));
            let to_header = kind.edges().iter().any(|(dest, _)| *dest == l.header);
            retarget(&mut kind, &block_map, l.header);
            if to_header {
                latch_copy = nb;
            }
            let results: Vec<Value> = d.results.iter().map(|r| value_map[r.index()].unwrap_or(*r)).collect();
            let ni = f.insts.push(InstData { kind, results: results.clone(), span: d.span });
            for (n, &r) in results.iter().enumerate() {
                f.values[r].def = ValueDef::Result(ni, n as u32);
            }
            f.blocks[nb].insts.push(ni);
        }
    }
    // The entering edges go to the copy of the header.
    let copy_header = block_map[l.header.index()].unwrap_or(l.header);
    if let Some(&t) = f.blocks[from].insts.last() {
        redirect(&mut f.insts[t].kind, l.header, copy_header);
    }
    latch_copy
}

/// Points the edges of a copied terminator at the copies of loop blocks, except those to the
/// header, which stay (the copy's back edge enters the loop that is left).
fn retarget(kind: &mut InstKind, block_map: &[Option<Block>], header: Block) {
    let map = |b: &mut Block| {
        if *b != header {
            if let Some(Some(n)) = block_map.get(b.index()) {
                *b = *n;
            }
        }
    };
    if let InstKind::Jump { dest, .. } = kind {
        map(dest);
    }
    if let InstKind::Branch { then_dest, else_dest, .. } = kind {
        map(then_dest);
        map(else_dest);
    }
}

/// Redirects the edges of a terminator from `old` to `new`.
fn redirect(kind: &mut InstKind, old: Block, new: Block) {
    if let InstKind::Jump { dest, .. } = kind {
        if *dest == old {
            *dest = new;
        }
    }
    if let InstKind::Branch { then_dest, else_dest, .. } = kind {
        if *then_dest == old {
            *then_dest = new;
        }
        if *else_dest == old {
            *else_dest = new;
        }
    }
}
