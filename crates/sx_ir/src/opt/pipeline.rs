//! The optimisation pipeline over a whole module, for the code that goes to a native back end.
//!
//! Functions are visited bottom-up over the call graph (callees before callers, so a callee is
//! already optimised when it is inlined). Each one gets: inlining of its direct calls
//! ([`super::inline`]) — small callees, callees called from one place only, and its calls of
//! itself: tail calls (also `return x + self(…)`) become a loop ([`super::accumulate`]), the
//! others are unrolled a few levels with its own body (continuing the caller's accumulator where
//! the result is only added), and the calls left get the entry test in front ([`super::guard`])
//! — then [`super::promote_slots`] again (an inlined callee's parameters can be the addresses of
//! the caller's slots), [`super::strength`], [`super::simplify()`], loop-invariant hoisting
//! ([`super::licm`]; Cranelift's value numbering merges what hoisting brings together), full
//! unrolling of short counted loops ([`super::unroll`]) and loop rotation
//! ([`super::rotate`]), followed by `promote_slots` and `simplify` when either changed
//! something.

use super::inline::{inline_call, inst_blocks, size};
use crate::entity::EntityRef;
use crate::*;

/// The limits of the optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptConfig {
    /// Callees with at most this many instructions are inlined at every call.
    pub inline_small: usize,
    /// A callee called from one place only is inlined when it has at most this many
    /// instructions.
    pub inline_single: usize,
    /// A caller stops inlining once it has this many instructions.
    pub caller_limit: usize,
    /// How many levels of a small function's calls of itself are replaced by its body.
    pub self_levels: u32,
    /// Unrolling self-recursion stops once the function has this many instructions.
    pub self_limit: usize,
    /// Hoist loop-invariant pure instructions.
    pub licm: bool,
    /// Run the verifier after every pass and panic on a problem (a test aid: the back end
    /// verifies the result anyway).
    pub verify_each: bool,
}

impl Default for OptConfig {
    fn default() -> OptConfig {
        OptConfig {
            inline_small: 40,
            inline_single: 2000,
            caller_limit: 6000,
            self_levels: 3,
            self_limit: 400,
            licm: true,
            verify_each: cfg!(debug_assertions),
        }
    }
}

/// Optimises the functions of `m` that `funcs` marks (indexed by [`FuncId`]; functions not
/// marked are neither changed nor inlined). Debug variables are not maintained: a module with
/// debug information should not be optimised.
pub fn optimise_module(m: &mut Module, funcs: &[bool], config: &OptConfig) {
    let marked = |id: FuncId| funcs.get(id.index()).copied().unwrap_or(false) && m.funcs[id].is_defined();
    let order = bottom_up(m, &marked);
    let mut calls = vec![0u32; m.funcs.len()];
    for &id in &order {
        for_each_call(&m.funcs[id], |_, callee| calls[callee.index()] += 1);
    }
    // Functions that took in a single-call callee are not taken in by the single-call rule
    // themselves, so a chain of single calls costs linear time, not quadratic.
    let mut absorbed = vec![false; m.funcs.len()];
    for id in order {
        let stub = Function::new(m.funcs[id].name.clone(), m.funcs[id].sig.clone());
        let mut f = std::mem::replace(&mut m.funcs[id], stub);
        absorbed[id.index()] = inline_calls(m, id, &mut f, &calls, &absorbed, config);
        check(m, &f, config, "inlining");
        super::promote_slots(&mut f);
        check(m, &f, config, "promote_slots");
        if super::strength::reduce(&mut f) {
            check(m, &f, config, "strength");
        }
        super::simplify(&mut f);
        check(m, &f, config, "simplify");
        if config.licm && super::licm::hoist(&mut f) {
            check(m, &f, config, "licm");
        }
        // Unrolling and rotation leave values in slots for `promote_slots` to turn back into
        // SSA; one cleanup serves both.
        let unrolled = super::unroll::unroll(&mut f, m.pointer_type());
        check(m, &f, config, "unroll");
        let rotated = super::rotate::rotate(&mut f, m.pointer_type());
        check(m, &f, config, "rotate");
        if unrolled || rotated {
            super::promote_slots(&mut f);
            check(m, &f, config, "promote_slots");
            super::simplify(&mut f);
            check(m, &f, config, "simplify");
        }
        m.funcs[id] = f;
    }
}

/// Panics with the verifier's findings when `config.verify_each` is set and `f` is invalid.
fn check(m: &Module, f: &Function, config: &OptConfig, pass: &str) {
    if config.verify_each {
        let problems = crate::verify::verify_function_in(m, f);
        assert!(problems.is_empty(), "after {} of `{}`:\n{}\n{}", pass, f.name, problems.join("\n"), print_one(m, f));
    }
}

fn print_one(m: &Module, f: &Function) -> String {
    let mut s = String::new();
    crate::print::print_function(m, f, &mut s);
    s
}

/// Calls `each(call, callee)` for every direct call in the blocks of `f`.
fn for_each_call(f: &Function, mut each: impl FnMut(Inst, FuncId)) {
    for bd in f.blocks.values() {
        for &i in &bd.insts {
            if let InstKind::Call { func, .. } = f.insts[i].kind {
                each(i, func);
            }
        }
    }
}

/// The marked functions, callees before callers (a postorder of the call graph; in a cycle, the
/// function first reached is last).
fn bottom_up(m: &Module, marked: &dyn Fn(FuncId) -> bool) -> Vec<FuncId> {
    let mut seen = vec![false; m.funcs.len()];
    let mut order = Vec::new();
    for root in m.funcs.keys() {
        if seen[root.index()] || !marked(root) {
            continue;
        }
        seen[root.index()] = true;
        let mut stack: Vec<(FuncId, Vec<FuncId>)> = vec![(root, callees(m, root))];
        while let Some((id, pending)) = stack.last_mut() {
            match pending.pop() {
                Some(c) if !seen[c.index()] && marked(c) => {
                    seen[c.index()] = true;
                    let next = callees(m, c);
                    stack.push((c, next));
                }
                Some(_) => {}
                None => {
                    order.push(*id);
                    stack.pop();
                }
            }
        }
    }
    order
}

fn callees(m: &Module, id: FuncId) -> Vec<FuncId> {
    let mut out = Vec::new();
    for_each_call(&m.funcs[id], |_, c| out.push(c));
    out
}

/// Inlines the calls of `f` (function `id`, taken out of `m`) that the limits allow, then its
/// calls of itself. Returns whether it inlined a callee larger than the small limit (by the
/// single-call rule); `absorbed` says that of the functions already done.
fn inline_calls(m: &Module, id: FuncId, f: &mut Function, calls: &[u32], absorbed: &[bool], config: &OptConfig) -> bool {
    let mut at = inst_blocks(f);
    let mut own = size(f);
    let mut sites = Vec::new();
    for_each_call(f, |i, c| sites.push((i, c)));
    let mut recursive = false;
    let mut took_large = false;
    for (call, callee) in sites {
        if callee == id {
            recursive = true;
            continue;
        }
        let Some(g) = m.funcs.get(callee) else { continue };
        if !g.is_defined() || own >= config.caller_limit {
            continue;
        }
        let n = size(g);
        let single = calls.get(callee.index()).copied() == Some(1) && n <= config.inline_single && !absorbed[callee.index()];
        if (n <= config.inline_small || single) && inline_call(f, call, g, &mut at) {
            own += n;
            took_large |= n > config.inline_small;
        }
    }
    if !recursive || config.self_levels == 0 || own > config.inline_small {
        return took_large;
    }
    let guard = super::guard::entry_guard(f, id);
    let mut seed = None;
    if let Some(header) = super::accumulate::accumulate(f, id) {
        check(m, f, config, "accumulate");
        super::simplify(f);
        at = inst_blocks(f);
        own = size(f);
        seed = super::accumulate::seed_position(f, header);
    }
    unroll_self(f, id, own, seed, config, &mut at);
    check(m, f, config, "unrolling");
    // The calls left take the function's early exit in place.
    if let Some(g) = guard {
        let mut sites = Vec::new();
        for_each_call(f, |i, c| {
            if c == id {
                sites.push(i);
            }
        });
        for call in sites {
            inline_call(f, call, &g, &mut at);
        }
    }
    took_large
}

/// Replaces the calls of `f` (function `id`, `own` instructions) of itself by its body, level
/// by level, up to `config.self_levels` levels and `config.self_limit` instructions. With `seed`
/// (the position of the accumulator `f` starts with, see [`super::accumulate::seed_position`]),
/// a call whose result is only added to a value `a` becomes a copy that starts its accumulator
/// with `a`: all levels then share one accumulator.
fn unroll_self(f: &mut Function, id: FuncId, mut own: usize, seed: Option<usize>, config: &OptConfig, at: &mut Vec<Option<Block>>) {
    let body = f.clone();
    for _ in 0..config.self_levels {
        let mut sites = Vec::new();
        for_each_call(f, |i, c| {
            if c == id {
                sites.push(i);
            }
        });
        for call in sites {
            if own + size(&body) > config.self_limit.min(config.caller_limit) {
                return;
            }
            let sum = seed.and_then(|_| added_once(f, call, at));
            if !inline_call(f, call, &body, at) {
                continue;
            }
            own += size(&body);
            if let (Some(pos), Some((add, a))) = (seed, sum) {
                seed_copy(f, call, add, a, pos, at);
            }
        }
    }
}

/// When the one result of `call` is used once, by an `iadd` with a value `a` defined before the
/// call, later in the call's block: that addition and `a`.
fn added_once(f: &Function, call: Inst, at: &[Option<Block>]) -> Option<(Inst, Value)> {
    let block = at.get(call.index()).copied().flatten()?;
    let [r] = f.insts[call].results.as_slice() else { return None };
    let uses = super::accumulate::use_counts(f);
    if uses[r.index()] != 1 {
        return None;
    }
    let insts = &f.blocks[block].insts;
    let pos = insts.iter().position(|&i| i == call)?;
    let add = insts[pos + 1..].iter().copied().find(|&i| {
        let mut uses_r = false;
        f.insts[i].kind.for_each_operand(|v| uses_r |= v == *r);
        uses_r
    })?;
    let InstKind::Binary { op: BinOp::Iadd, a, b } = f.insts[add].kind else { return None };
    let other = if a == *r { b } else { a };
    if other == *r {
        return None;
    }
    // `other` must be available at the call: defined in another block (which dominates this one)
    // or before the call in this one.
    let before = match f.values[other].def {
        ValueDef::Param(..) => true,
        ValueDef::Result(i, _) => at.get(i.index()).copied().flatten() != Some(block) || insts[..pos].contains(&i),
    };
    before.then_some((add, other))
}

/// After `call` was inlined: its copy's entry jump (the new terminator of the call's block)
/// starts the accumulator (argument `pos`) with `a` instead of 0, and the sum `add` (`a` + the
/// call's result) is replaced by the result.
fn seed_copy(f: &mut Function, call: Inst, add: Inst, a: Value, pos: usize, at: &[Option<Block>]) {
    let Some(Some(block)) = at.get(call.index()).copied() else { return };
    let Some(&jump) = f.blocks[block].insts.last() else { return };
    let InstKind::Jump { dest, .. } = f.insts[jump].kind else { return };
    // The copy's entry block jumps to the copy of the loop header.
    let Some(&entry_jump) = f.blocks[dest].insts.last() else { return };
    let InstKind::Jump { args, .. } = &mut f.insts[entry_jump].kind else { return };
    let Some(slot) = args.get_mut(pos) else { return };
    *slot = a;
    let [r] = f.insts[call].results[..] else { return };
    let [s] = f.insts[add].results[..] else { return };
    for bd in f.blocks.values() {
        for &i in &bd.insts {
            f.insts[i].kind.for_each_operand_mut(|v| {
                if *v == s {
                    *v = r;
                }
            });
        }
    }
    if let Some(Some(b)) = at.get(add.index()).copied() {
        f.blocks[b].insts.retain(|&i| i != add);
    }
}
