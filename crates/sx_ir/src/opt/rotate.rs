//! Loop rotation: a loop header that only tests (a few pure instructions, then a branch) is
//! copied onto the end of each back edge, so a loop runs as a test before it and a test at the
//! bottom of every iteration — two branches of their own (the first iteration's and the
//! others', which a branch predictor tells apart) and no jump back to the top.
//!
//! The copy computes what the header computes from the back edge's arguments; the values of the
//! header that are used elsewhere now come from either place, which SSA repairs the simple way:
//! they are stored to a fresh stack slot in the header (and so in every copy), each use outside
//! the header loads it, and [`super::promote_slots`] (which the caller runs next) turns the
//! slots back into block parameters.

use super::effects::is_pure;
use crate::cfg::Cfg;
use crate::entity::EntityRef;
use crate::*;

/// Headers with more instructions than this (terminator included) are not copied.
const HEADER_LIMIT: usize = 6;

/// Rotates the loops of `f` whose header qualifies. Returns whether it changed anything (the
/// caller then runs `promote_slots`).
pub fn rotate(f: &mut Function, ptr: Type) -> bool {
    let Some(entry) = f.entry() else { return false };
    let cfg = Cfg::compute(f);
    let mut changed = false;
    for h in cfg.rpo.clone() {
        if h == entry || !qualifies(f, h) {
            continue;
        }
        let latches: Vec<Block> = cfg.preds[h.index()]
            .iter()
            .copied()
            .filter(|&p| p != h && cfg.is_reachable(p) && cfg.dominates(h, p) && ends_in_jump_to(f, p, h))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if latches.is_empty() {
            continue;
        }
        let mut inside = vec![false; f.blocks.len()];
        inside[h.index()] = true;
        demote_outside_uses(f, &inside, ptr);
        for p in latches {
            copy_header(f, h, p);
        }
        changed = true;
    }
    changed
}

/// True when block `h` holds at most [`HEADER_LIMIT`] instructions: pure ones, then a branch.
fn qualifies(f: &Function, h: Block) -> bool {
    let insts = &f.blocks[h].insts;
    let Some((&term, body)) = insts.split_last() else { return false };
    insts.len() <= HEADER_LIMIT
        && matches!(f.insts[term].kind, InstKind::Branch { .. })
        && body.iter().all(|&i| is_pure(f, &f.insts[i].kind) && !matches!(f.insts[i].kind, InstKind::StackAddr { .. }))
}

fn ends_in_jump_to(f: &Function, p: Block, h: Block) -> bool {
    f.blocks[p].insts.last().is_some_and(|&t| matches!(f.insts[t].kind, InstKind::Jump { dest, .. } if dest == h))
}

/// Every value defined in a block that `inside` marks (parameter or result) and used by an
/// instruction of another block is stored to a fresh slot right after its definition, and each
/// such use loads it instead; [`super::promote_slots`] turns the slots back into SSA values
/// (block parameters where copies of the defining blocks meet).
pub(super) fn demote_outside_uses(f: &mut Function, inside: &[bool], ptr: Type) {
    let is_inside = |b: Block| inside.get(b.index()).copied().unwrap_or(false);
    let mut used_outside = vec![false; f.values.len()];
    for (b, bd) in f.blocks.iter() {
        if is_inside(b) {
            continue;
        }
        for &i in &bd.insts {
            f.insts[i].kind.for_each_operand(|v| used_outside[v.index()] = true);
        }
    }
    let mut slot_of: Vec<Option<Slot>> = vec![None; f.values.len()];
    let mut any = false;
    for b in f.blocks.keys().filter(|&b| is_inside(b)).collect::<Vec<_>>() {
        let mut defined: Vec<Value> = f.blocks[b].params.clone();
        for &i in &f.blocks[b].insts {
            defined.extend(f.insts[i].results.iter().copied());
        }
        for v in defined.into_iter().filter(|v| used_outside[v.index()]) {
            let bytes = f.values[v].ty.bytes();
            slot_of[v.index()] = Some(f.slots.push(SlotData { size: bytes, align: bytes }));
            any = true;
        }
    }
    if !any {
        return;
    }
    for b in f.blocks.keys().filter(|&b| is_inside(b)).collect::<Vec<_>>() {
        store_definitions(f, b, &slot_of, ptr);
    }
    load_uses(f, inside, &slot_of, ptr);
}

/// Stores each parameter of `b` that has a slot at the top of `b`, and each result that has one
/// right after its instruction.
fn store_definitions(f: &mut Function, b: Block, slot_of: &[Option<Slot>], ptr: Type) {
    let old = std::mem::take(&mut f.blocks[b].insts);
    let mut insts = Vec::with_capacity(old.len());
    let store = |f: &mut Function, insts: &mut Vec<Inst>, v: Value, slot: Slot| {
        let (i, addr) = new_value(f, InstKind::StackAddr { slot }, ptr);
        insts.push(i);
        let i = f.insts.push(InstData { kind: InstKind::Store { addr, offset: 0, value: v }, results: vec![], span: None });
        insts.push(i);
    };
    for p in f.blocks[b].params.clone() {
        if let Some(slot) = slot_of[p.index()] {
            store(f, &mut insts, p, slot);
        }
    }
    for i in old {
        let results = f.insts[i].results.clone();
        insts.push(i);
        for r in results {
            if let Some(slot) = slot_of[r.index()] {
                store(f, &mut insts, r, slot);
            }
        }
    }
    f.blocks[b].insts = insts;
}

/// Makes every instruction outside the blocks `inside` marks that uses a value with a slot load
/// it first.
fn load_uses(f: &mut Function, inside: &[bool], slot_of: &[Option<Slot>], ptr: Type) {
    for b in f.blocks.keys().collect::<Vec<_>>() {
        if inside.get(b.index()).copied().unwrap_or(false) {
            continue;
        }
        let old = std::mem::take(&mut f.blocks[b].insts);
        let mut insts = Vec::with_capacity(old.len());
        for i in old {
            let mut needed = Vec::new();
            f.insts[i].kind.for_each_operand(|v| {
                if slot_of[v.index()].is_some() && !needed.contains(&v) {
                    needed.push(v);
                }
            });
            let mut loaded = Vec::new();
            for v in needed {
                let Some(slot) = slot_of[v.index()] else { continue };
                let ty = f.values[v].ty;
                let (i, addr) = new_value(f, InstKind::StackAddr { slot }, ptr);
                insts.push(i);
                let (i, l) = new_value(f, InstKind::Load { ty, addr, offset: 0 }, ty);
                insts.push(i);
                loaded.push((v, l));
            }
            f.insts[i].kind.for_each_operand_mut(|v| {
                if let Some(&(_, l)) = loaded.iter().find(|(o, _)| o == v) {
                    *v = l;
                }
            });
            insts.push(i);
        }
        f.blocks[b].insts = insts;
    }
}

/// Creates an instruction (in no block yet) with one result of type `ty`.
fn new_value(f: &mut Function, kind: InstKind, ty: Type) -> (Inst, Value) {
    let i = f.insts.next_key();
    let r = f.values.push(ValueData { ty, def: ValueDef::Result(i, 0) });
    f.insts.push(InstData { kind, results: vec![r], span: None });
    (i, r)
}

/// Replaces the `jump h(args)` ending `p` by a copy of `h`'s instructions, its parameters
/// replaced by the arguments.
fn copy_header(f: &mut Function, h: Block, p: Block) {
    let Some(jump) = f.blocks[p].insts.pop() else { return };
    let InstKind::Jump { args, .. } = f.insts[jump].kind.clone() else {
        f.blocks[p].insts.push(jump);
        return;
    };
    let mut map: Vec<(Value, Value)> = f.blocks[h].params.iter().copied().zip(args).collect();
    for i in f.blocks[h].insts.clone() {
        let d = f.insts[i].clone();
        let mut kind = d.kind;
        kind.for_each_operand_mut(|v| {
            if let Some(&(_, n)) = map.iter().find(|(o, _)| o == v) {
                *v = n;
            }
        });
        let ni = f.insts.next_key();
        let results: Vec<Value> = d
            .results
            .iter()
            .enumerate()
            .map(|(n, &r)| {
                let nv = f.values.push(ValueData { ty: f.values[r].ty, def: ValueDef::Result(ni, n as u32) });
                map.push((r, nv));
                nv
            })
            .collect();
        f.insts.push(InstData { kind, results, span: d.span });
        f.blocks[p].insts.push(ni);
    }
}
