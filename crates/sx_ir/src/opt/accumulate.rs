//! Tail calls of a function to itself become a loop, also when the call's result is added to
//! something first (`return x + f(args)`, as in naive recursive `fib`): integer addition wraps,
//! so it is associative and commutative, and the pending additions can be summed in an
//! accumulator that every other `return` adds to its value.
//!
//! The function's body moves from the entry block to a new loop header with one more parameter,
//! the accumulator; the entry block becomes `jump header(params…, 0)`. A tail call becomes
//! `jump header(args…, acc + x)`, a `return v` becomes `return acc + v`. Only functions with one
//! integer result are changed, and only calls whose result is used by nothing but that addition
//! and the `return` right after it.

use crate::entity::EntityRef;
use crate::*;

/// A tail call found in a block: the call and the value added to its result (`None`: the result
/// is returned as it is).
struct TailCall {
    block: Block,
    args: Vec<Value>,
    addend: Option<Value>,
}

/// The number of uses of every value in the blocks of `f`.
pub(super) fn use_counts(f: &Function) -> Vec<u32> {
    let mut uses = vec![0u32; f.values.len()];
    for bd in f.blocks.values() {
        for &i in &bd.insts {
            f.insts[i].kind.for_each_operand(|v| uses[v.index()] += 1);
        }
    }
    uses
}

/// The tail call ending block `b` of `f` (function `me`), if any.
fn tail_call(f: &Function, me: FuncId, b: Block, uses: &[u32]) -> Option<TailCall> {
    let insts = &f.blocks[b].insts;
    let n = insts.len();
    let InstKind::Return { values } = &f.insts[*insts.last()?].kind else { return None };
    let [ret] = values.as_slice() else { return None };
    let call_of = |i: Inst| {
        let InstKind::Call { func, args } = &f.insts[i].kind else { return None };
        let [r] = f.insts[i].results.as_slice() else { return None };
        (*func == me).then(|| (args.clone(), *r))
    };
    if n >= 2 {
        if let Some((args, r)) = call_of(insts[n - 2]) {
            if r == *ret && uses[r.index()] == 1 {
                return Some(TailCall { block: b, args, addend: None });
            }
        }
    }
    if n < 3 {
        return None;
    }
    let (args, r) = call_of(insts[n - 3])?;
    let add = &f.insts[insts[n - 2]];
    let InstKind::Binary { op: BinOp::Iadd, a, b: other } = add.kind else { return None };
    if add.results.as_slice() != [*ret] || uses[r.index()] != 1 || uses[ret.index()] != 1 {
        return None;
    }
    let addend = match (a == r, other == r) {
        (true, false) => other,
        (false, true) => a,
        (true, true) | (false, false) => return None,
    };
    Some(TailCall { block: b, args, addend: Some(addend) })
}

/// Turns the self tail calls of `f` (function `me`) into a loop. Returns the loop's header
/// (whose last parameter is the accumulator) when it did.
pub fn accumulate(f: &mut Function, me: FuncId) -> Option<Block> {
    let entry = f.entry()?;
    let [ty] = f.sig.returns.as_slice() else { return None };
    let ty = *ty;
    if ty.is_float() {
        return None;
    }
    let uses = use_counts(f);
    let tails: Vec<TailCall> = f.blocks.keys().filter_map(|b| tail_call(f, me, b, &uses)).collect();
    if tails.is_empty() {
        return None;
    }

    // The body moves to a new header block with the accumulator as an extra parameter.
    let header = f.blocks.push(BlockData::default());
    let body = std::mem::take(&mut f.blocks[entry]);
    for (n, &p) in body.params.iter().enumerate() {
        f.values[p].def = ValueDef::Param(header, n as u32);
    }
    let acc = f.values.push(ValueData { ty, def: ValueDef::Param(header, body.params.len() as u32) });
    f.blocks[header] = body;
    f.blocks[header].params.push(acc);
    for b in f.blocks.keys().collect::<Vec<_>>() {
        let Some(&t) = f.blocks[b].insts.last() else { continue };
        retarget_entry(&mut f.insts[t].kind, entry, header, acc);
    }

    // The new entry: the parameters and a zero accumulator.
    let params: Vec<Value> = f
        .sig
        .params
        .clone()
        .into_iter()
        .enumerate()
        .map(|(n, t)| f.values.push(ValueData { ty: t, def: ValueDef::Param(entry, n as u32) }))
        .collect();
    let zero = push_value(f, InstKind::Iconst { ty, imm: 0 }, ty, entry);
    let mut args = params.clone();
    args.push(zero);
    f.blocks[entry].params = params;
    push_term(f, InstKind::Jump { dest: header, args }, entry);

    // Tail calls jump back; the other returns add the accumulator.
    let mut is_tail = vec![false; f.blocks.len()];
    for mut t in tails {
        if t.block == entry {
            t.block = header;
        }
        is_tail[t.block.index()] = true;
        let keep = f.blocks[t.block].insts.len() - if t.addend.is_some() { 3 } else { 2 };
        f.blocks[t.block].insts.truncate(keep);
        let next = match t.addend {
            Some(x) => push_value(f, InstKind::Binary { op: BinOp::Iadd, a: acc, b: x }, ty, t.block),
            None => acc,
        };
        let mut args = t.args;
        args.push(next);
        push_term(f, InstKind::Jump { dest: header, args }, t.block);
    }
    for b in f.blocks.keys().collect::<Vec<_>>() {
        if is_tail[b.index()] || b == entry {
            continue;
        }
        let Some(t) = f.blocks[b].insts.pop() else { continue };
        let InstKind::Return { values } = &f.insts[t].kind else {
            f.blocks[b].insts.push(t);
            continue;
        };
        let v = values[0];
        let sum = push_value(f, InstKind::Binary { op: BinOp::Iadd, a: acc, b: v }, ty, b);
        f.insts[t].kind = InstKind::Return { values: vec![sum] };
        f.blocks[b].insts.push(t);
    }
    Some(header)
}

/// Appends a new instruction with one result of type `ty` to block `b`; returns the result.
fn push_value(f: &mut Function, kind: InstKind, ty: Type, b: Block) -> Value {
    let i = f.insts.next_key();
    let r = f.values.push(ValueData { ty, def: ValueDef::Result(i, 0) });
    f.insts.push(InstData { kind, results: vec![r], span: None });
    f.blocks[b].insts.push(i);
    r
}

/// Appends a new instruction without results (a terminator) to block `b`.
fn push_term(f: &mut Function, kind: InstKind, b: Block) {
    let i = f.insts.push(InstData { kind, results: vec![], span: None });
    f.blocks[b].insts.push(i);
}

/// Redirects the edges of a terminator from the old entry block to the header, passing the
/// accumulator along.
fn retarget_entry(kind: &mut InstKind, entry: Block, header: Block, acc: Value) {
    if let InstKind::Jump { dest, args } = kind {
        if *dest == entry {
            *dest = header;
            args.push(acc);
        }
    }
    if let InstKind::Branch { then_dest, then_args, else_dest, else_args, .. } = kind {
        if *then_dest == entry {
            *then_dest = header;
            then_args.push(acc);
        }
        if *else_dest == entry {
            *else_dest = header;
            else_args.push(acc);
        }
    }
}

/// Where the accumulator of a function in the form [`accumulate`] leaves (`header` its loop)
/// starts: the position of the accumulator among the arguments of the entry block's `jump
/// header(…)`, when the accumulator only ever flows into its own sum — every use of it, and of
/// a sum of it, is an integer addition, the accumulator argument of a jump to the header, or a
/// returned value. Then the function started with `a` instead of 0 returns `a` plus what it
/// returns (addition wraps: associative and commutative), so a caller's `a + f(x)` can seed the
/// accumulator with `a` instead of adding afterwards.
pub fn seed_position(f: &Function, header: Block) -> Option<usize> {
    let entry = f.entry()?;
    let &term = f.blocks[entry].insts.last()?;
    let InstKind::Jump { dest, args } = &f.insts[term].kind else { return None };
    let &acc = f.blocks[header].params.last()?;
    let pos = args.len().checked_sub(1)?;
    if *dest != header || args.len() != f.blocks[header].params.len() || !matches!(super::effects::int_const(f, args[pos]), Some((_, 0))) {
        return None;
    }
    // The values that carry the accumulator: its parameter and every sum with it.
    let mut carries = vec![false; f.values.len()];
    carries[acc.index()] = true;
    let mut changed = true;
    while changed {
        changed = false;
        for bd in f.blocks.values() {
            for &i in &bd.insts {
                let d = &f.insts[i];
                if let (InstKind::Binary { op: BinOp::Iadd, a, b }, [r]) = (&d.kind, d.results.as_slice()) {
                    if (carries[a.index()] || carries[b.index()]) && !carries[r.index()] {
                        carries[r.index()] = true;
                        changed = true;
                    }
                }
            }
        }
    }
    // Every other use of a carrying value is rejected; every `return` returns one, and edges pass
    // them exactly as the header's accumulator (the entry's edge passes the zero). Edges pass carrying values exactly at the header's accumulator (the entry's the zero).
    let edges_ok = |kind: &InstKind, is_entry: bool| {
        kind.edges().iter().all(|(dest, args)| {
            args.iter().enumerate().all(|(n, v)| {
                let at_acc = *dest == header && n == pos;
                carries[v.index()] == at_acc || (at_acc && is_entry)
            })
        })
    };
    for bd in f.blocks.values() {
        for &i in &bd.insts {
            let kind = &f.insts[i].kind;
            let ok = if let InstKind::Binary { op: BinOp::Iadd, a, b } = kind {
                !(carries[a.index()] && carries[b.index()])
            } else if let InstKind::Return { values } = kind {
                matches!(values.as_slice(), [v] if carries[v.index()])
            } else if let InstKind::Branch { cond, .. } = kind {
                !carries[cond.index()] && edges_ok(kind, i == term)
            } else if let InstKind::Jump { .. } = kind {
                edges_ok(kind, i == term)
            } else {
                let mut uses = false;
                kind.for_each_operand(|v| uses |= carries[v.index()]);
                !uses
            };
            if !ok {
                return None;
            }
        }
    }
    Some(pos)
}
