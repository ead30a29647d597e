//! Function inlining: a direct `call` is replaced by a copy of the callee's body.
//!
//! The calling block is split after the call: the call's results become the parameters of a new
//! continuation block, the call itself a `jump` to the copy of the callee's entry block (its
//! parameters take the arguments), and every `return` of the copy a `jump` to the continuation.
//! The callee's stack slots are copied (fresh slots per inlined copy), its instructions keep
//! their spans. Nothing else changes: the copy is cleaned up by [`super::simplify()`].

use crate::entity::EntityRef;
use crate::*;

/// The number of instructions in the blocks of `f` (its size for the inlining limits).
pub fn size(f: &Function) -> usize {
    f.blocks.values().map(|b| b.insts.len()).sum()
}

/// The block holding each instruction of `f` (`None` for instructions in no block).
pub fn inst_blocks(f: &Function) -> Vec<Option<Block>> {
    let mut at = vec![None; f.insts.len()];
    for (b, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            at[i.index()] = Some(b);
        }
    }
    at
}

/// Replaces the call `call` of `f` (in block `at[call]`) by a copy of `callee`'s body. `at` is
/// kept up to date for the instructions it moves or creates. Returns false (and changes nothing)
/// when `call` is not a direct call in a block or `callee` has no body.
pub fn inline_call(f: &mut Function, call: Inst, callee: &Function, at: &mut Vec<Option<Block>>) -> bool {
    let Some(Some(block)) = at.get(call.index()).copied() else { return false };
    let InstKind::Call { args, .. } = &f.insts[call].kind else { return false };
    let Some(callee_entry) = callee.entry() else { return false };
    if args.len() != callee.blocks[callee_entry].params.len() {
        return false;
    }
    let args = args.clone();
    let Some(pos) = f.blocks[block].insts.iter().position(|&i| i == call) else { return false };

    // Split: the instructions after the call move to the continuation block.
    let tail = f.blocks[block].insts.split_off(pos + 1);
    f.blocks[block].insts.pop();
    let results = f.insts[call].results.clone();
    let cont = f.blocks.push(BlockData { params: results.clone(), insts: tail });
    for (n, &r) in results.iter().enumerate() {
        f.values[r].def = ValueDef::Param(cont, n as u32);
    }
    at.resize(f.insts.len(), None);
    for &i in &f.blocks[cont].insts {
        at[i.index()] = Some(cont);
    }

    // Fresh slots, blocks and values for the copy.
    let slots: Vec<Slot> = callee.slots.values().map(|s| f.slots.push(s.clone())).collect();
    let blocks: Vec<Block> = callee.blocks.keys().map(|_| f.blocks.push(BlockData::default())).collect();
    let mut values: Vec<Option<Value>> = vec![None; callee.values.len()];
    for (cb, bd) in callee.blocks.iter() {
        let nb = blocks[cb.index()];
        for (n, &p) in bd.params.iter().enumerate() {
            let v = f.values.push(ValueData { ty: callee.values[p].ty, def: ValueDef::Param(nb, n as u32) });
            values[p.index()] = Some(v);
            f.blocks[nb].params.push(v);
        }
        for &i in &bd.insts {
            for &r in &callee.insts[i].results {
                // The definition is set when the instruction is copied below.
                values[r.index()] = Some(f.values.push(ValueData { ty: callee.values[r].ty, def: ValueDef::Param(nb, 0) }));
            }
        }
    }

    // Copy the instructions, redirecting returns to the continuation.
    for (cb, bd) in callee.blocks.iter() {
        let nb = blocks[cb.index()];
        for &i in &bd.insts {
            let d = &callee.insts[i];
            let mut kind = d.kind.clone();
            kind.for_each_operand_mut(|v| *v = values[v.index()].unwrap_or(*v));
            retarget(&mut kind, &blocks, &slots, cont);
            let results: Vec<Value> = d.results.iter().map(|r| values[r.index()].unwrap_or(*r)).collect();
            let ni = f.insts.push(InstData { kind, results: results.clone(), span: d.span });
            for (n, &r) in results.iter().enumerate() {
                f.values[r].def = ValueDef::Result(ni, n as u32);
            }
            f.blocks[nb].insts.push(ni);
            at.push(Some(nb));
        }
    }

    // The call becomes a jump into the copy.
    let span = f.insts[call].span;
    let jump = f.insts.push(InstData { kind: InstKind::Jump { dest: blocks[callee_entry.index()], args }, results: vec![], span });
    f.blocks[block].insts.push(jump);
    at.push(Some(block));
    true
}

/// Points the block and slot references of a copied instruction at the copies, and turns a
/// `return` into a jump to `cont`.
fn retarget(kind: &mut InstKind, blocks: &[Block], slots: &[Slot], cont: Block) {
    if let InstKind::Jump { dest, .. } = kind {
        *dest = blocks[dest.index()];
    }
    if let InstKind::Branch { then_dest, else_dest, .. } = kind {
        *then_dest = blocks[then_dest.index()];
        *else_dest = blocks[else_dest.index()];
    }
    if let InstKind::StackAddr { slot } = kind {
        *slot = slots[slot.index()];
    }
    if let InstKind::Return { values } = kind {
        *kind = InstKind::Jump { dest: cont, args: std::mem::take(values) };
    }
}
