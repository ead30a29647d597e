//! Partial inlining of a function's early exit: a call becomes the function's entry test, the
//! exit's result when the test takes it, and the call otherwise (gcc's `fib.part`).
//!
//! Used for the calls of a recursive function to itself that unrolling leaves (the leaves of
//! naive `fib` then cost a compare instead of a call with its prologue). The guard is a small
//! function: a copy of the entry block, the exit block, and a block that calls the function with
//! the entry's parameters and returns what it returns; [`super::inline::inline_call`] puts it
//! in place of a call. Only pure instructions are copied, so taking the exit early computes
//! exactly what the call would have, and the other way the call runs the whole function (whose
//! repeated entry test is pure and cheap).

use super::effects::is_pure;
use crate::entity::EntityRef;
use crate::*;

/// At most this many instructions in the entry block and the exit block together.
const GUARD_LIMIT: usize = 8;

/// The guard of `f` (function `me`), if it has one: its entry block holds pure instructions
/// only and ends in a branch one of whose targets is a block without parameters that holds
/// pure instructions only and returns.
pub fn entry_guard(f: &Function, me: FuncId) -> Option<Function> {
    let entry = f.entry()?;
    let (&term, body) = f.blocks[entry].insts.split_last()?;
    let InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } = &f.insts[term].kind else { return None };
    let simple =
        |insts: &[Inst]| insts.iter().all(|&i| is_pure(f, &f.insts[i].kind) && !matches!(f.insts[i].kind, InstKind::StackAddr { .. }));
    let exit_of = |b: Block| {
        let bd = &f.blocks[b];
        let (&ret, rest) = bd.insts.split_last()?;
        (bd.params.is_empty() && b != entry && matches!(f.insts[ret].kind, InstKind::Return { .. }) && simple(rest)).then_some(b)
    };
    let (exit, exit_first) = match (exit_of(*then_dest), exit_of(*else_dest)) {
        (Some(b), _) if then_args.is_empty() => (b, true),
        (_, Some(b)) if else_args.is_empty() => (b, false),
        _ => return None,
    };
    if !simple(body) || body.len() + f.blocks[exit].insts.len() > GUARD_LIMIT {
        return None;
    }

    let mut g = Function::new(f.name.clone(), f.sig.clone());
    let mut map: Vec<Option<Value>> = vec![None; f.values.len()];
    let b0 = g.blocks.push(BlockData::default());
    let b_exit = g.blocks.push(BlockData::default());
    let b_call = g.blocks.push(BlockData::default());
    for (n, &p) in f.blocks[entry].params.iter().enumerate() {
        let v = g.values.push(ValueData { ty: f.values[p].ty, def: ValueDef::Param(b0, n as u32) });
        map[p.index()] = Some(v);
        g.blocks[b0].params.push(v);
    }
    for &i in body {
        copy_inst(f, &mut g, i, b0, &mut map)?;
    }
    let c = map[cond.index()]?;
    let (then_b, else_b) = if exit_first { (b_exit, b_call) } else { (b_call, b_exit) };
    push(&mut g, b0, InstKind::Branch { cond: c, then_dest: then_b, then_args: vec![], else_dest: else_b, else_args: vec![] }, &[]);
    for &i in &f.blocks[exit].insts {
        copy_inst(f, &mut g, i, b_exit, &mut map)?;
    }
    let args = g.blocks[b0].params.clone();
    let results: Vec<Value> = f.sig.returns.iter().map(|&ty| g.values.push(ValueData { ty, def: ValueDef::Param(b_call, 0) })).collect();
    push(&mut g, b_call, InstKind::Call { func: me, args }, &results);
    push(&mut g, b_call, InstKind::Return { values: results }, &[]);
    Some(g)
}

/// Copies instruction `i` of `f` to the end of block `b` of `g`, mapping its operands through
/// `map` and recording its results there. `None` when an operand is not defined in the copy
/// (the exit block uses a value of a block that is not copied).
fn copy_inst(f: &Function, g: &mut Function, i: Inst, b: Block, map: &mut [Option<Value>]) -> Option<()> {
    let d = &f.insts[i];
    let mut kind = d.kind.clone();
    let mut missing = false;
    kind.for_each_operand_mut(|v| match map[v.index()] {
        Some(n) => *v = n,
        None => missing = true,
    });
    if missing {
        return None;
    }
    let results: Vec<Value> = d
        .results
        .iter()
        .map(|&r| {
            let n = g.values.push(ValueData { ty: f.values[r].ty, def: ValueDef::Param(b, 0) });
            map[r.index()] = Some(n);
            n
        })
        .collect();
    let ni = push(g, b, kind, &results);
    g.insts[ni].span = d.span;
    Some(())
}

/// Appends an instruction with the given (already created) results to block `b` of `g`.
fn push(g: &mut Function, b: Block, kind: InstKind, results: &[Value]) -> Inst {
    let ni = g.insts.push(InstData { kind, results: results.to_vec(), span: None });
    for (n, &r) in results.iter().enumerate() {
        g.values[r].def = ValueDef::Result(ni, n as u32);
    }
    g.blocks[b].insts.push(ni);
    ni
}
