//! The scalar cleanup of one function, run after inlining and again after hoisting:
//! constant folding and propagation ([`super::fold`]), global value numbering of pure
//! instructions over the dominator tree, branches on constants and on conditions already decided
//! by a dominating branch, block parameters that always receive one value, merging a block into
//! its only predecessor, and dead pure instructions.
//!
//! Unreachable blocks are emptied to a single `trap unreachable` (blocks are never deleted, so
//! the block numbering stays). Removed instructions stay in the instruction table but are in no
//! block, as after [`super::promote_slots`].

use super::effects::{int_const, is_pure};
use super::fold::{fold, Folded};
use crate::cfg::Cfg;
use crate::entity::EntityRef;
use crate::*;
use rustc_hash::FxHashMap as HashMap;

/// Runs the cleanup to a fixed point (at most a few rounds). Returns whether anything changed.
pub fn simplify(f: &mut Function) -> bool {
    let Some(entry) = f.entry() else { return false };
    let mut any = false;
    for _ in 0..4 {
        let mut alias = Aliases::new(f.values.len());
        let cfg = Cfg::compute(f);
        let mut changed = clear_unreachable(f, &cfg);
        changed |= simplify_params(f, &cfg, entry, &mut alias);
        changed |= merge_blocks(f, &cfg.rpo, entry, &mut alias);
        alias.rewrite(f);
        let cfg = if changed { Cfg::compute(f) } else { cfg };
        let (numbered, decided) = number_values(f, &cfg, entry, &mut alias);
        alias.rewrite(f);
        changed |= remove_dead(f) | numbered;
        any |= changed;
        // Folding and value numbering reach their fixed point in one walk over the blocks as
        // they are; only a decided branch changes the control flow and can expose more.
        if !decided {
            break;
        }
    }
    any
}

/// A substitution of values by values (`v` stands for `alias[v]`), resolved through chains.
pub(crate) struct Aliases {
    to: Vec<Value>,
    /// True once any alias was recorded.
    used: bool,
}

impl Aliases {
    /// No substitution for a function of `n` values.
    pub(crate) fn new(n: usize) -> Aliases {
        Aliases { to: (0..n).map(Value::new).collect(), used: false }
    }
    /// What `v` stands for.
    pub(crate) fn resolve(&self, mut v: Value) -> Value {
        while let Some(&w) = self.to.get(v.index()) {
            if w == v {
                break;
            }
            v = w;
        }
        v
    }
    /// Makes `v` stand for `w`.
    pub(crate) fn set(&mut self, v: Value, w: Value) {
        let w = self.resolve(w);
        if v != w {
            if v.index() >= self.to.len() {
                let n = self.to.len();
                self.to.extend((n..=v.index()).map(Value::new));
            }
            self.to[v.index()] = w;
            self.used = true;
        }
    }
    /// Replaces every operand of every instruction in a block by what it stands for.
    pub(crate) fn rewrite(&self, f: &mut Function) {
        if !self.used {
            return;
        }
        let Function { blocks, insts, .. } = f;
        for bd in blocks.values() {
            for &i in &bd.insts {
                insts[i].kind.for_each_operand_mut(|v| *v = self.resolve(*v));
            }
        }
    }
}

/// A new `trap unreachable` instruction (in no block yet).
fn new_trap(f: &mut Function) -> Inst {
    f.insts.push(InstData { kind: InstKind::Trap { code: TrapCode::Unreachable }, results: vec![], span: None })
}

/// Empties every unreachable block to one `trap unreachable` without parameters.
fn clear_unreachable(f: &mut Function, cfg: &Cfg) -> bool {
    let mut changed = false;
    for b in f.blocks.keys().collect::<Vec<_>>() {
        if cfg.is_reachable(b) {
            continue;
        }
        let bd = &f.blocks[b];
        let is_trap = bd.params.is_empty() && bd.insts.len() == 1 && matches!(f.insts[bd.insts[0]].kind, InstKind::Trap { .. });
        if !is_trap {
            let t = new_trap(f);
            f.blocks[b] = BlockData { params: vec![], insts: vec![t] };
            changed = true;
        }
    }
    changed
}

/// The identity of a pure instruction for value numbering.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Int(Type, i64),
    Float(Type, u64),
    Binary(BinOp, Value, Value),
    Unary(UnOp, Value),
    Icmp(IntCC, Value, Value),
    Fcmp(FloatCC, Value, Value),
    Convert(ConvOp, Value, Type),
    Select(Value, Value, Value),
    Stack(Slot),
    Data(DataId),
    Func(FuncId),
}

/// The value-numbering key of `kind`, for the pure instructions with one result.
fn key(kind: &InstKind) -> Option<Key> {
    use InstKind::*;
    Some(match *kind {
        Iconst { ty, imm } => Key::Int(ty, super::effects::canonical(ty, imm)),
        Fconst { ty, value } => Key::Float(ty, value.to_bits()),
        Binary { op, a, b } => {
            let commutes = matches!(op, BinOp::Iadd | BinOp::Imul | BinOp::And | BinOp::Or | BinOp::Xor);
            let (a, b) = if commutes && b < a { (b, a) } else { (a, b) };
            Key::Binary(op, a, b)
        }
        Unary { op, a } => Key::Unary(op, a),
        Icmp { cc, a, b } => Key::Icmp(cc, a, b),
        Fcmp { cc, a, b } => Key::Fcmp(cc, a, b),
        Convert { op, a, to } => Key::Convert(op, a, to),
        Select { cond, a, b } => Key::Select(cond, a, b),
        StackAddr { slot } => Key::Stack(slot),
        DataAddr { data } => Key::Data(data),
        FuncAddr { func } => Key::Func(func),
        Load { .. }
        | Store { .. }
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
        | Fence { .. } => return None,
    })
}

/// The scoped tables of the dominator-tree walk, with an undo log per block.
#[derive(Default)]
struct Scope {
    numbers: HashMap<Key, Value>,
    known: HashMap<Value, bool>,
    undo: Vec<Undo>,
}

enum Undo {
    Number(Key),
    Known(Value),
}

impl Scope {
    fn unwind(&mut self, mark: usize) {
        while self.undo.len() > mark {
            match self.undo.pop() {
                Some(Undo::Number(k)) => {
                    self.numbers.remove(&k);
                }
                Some(Undo::Known(v)) => {
                    self.known.remove(&v);
                }
                None => break,
            }
        }
    }
}

/// The condition value `b` is entered under when its only reachable predecessor branches to it
/// on one arm only: (condition, whether it is true in `b`).
pub(super) fn entry_condition(f: &Function, cfg: &Cfg, b: Block) -> Option<(Value, bool)> {
    let preds = &cfg.preds[b.index()];
    let [p] = preds.as_slice() else { return None };
    let &term = f.blocks[*p].insts.last()?;
    let InstKind::Branch { cond, then_dest, else_dest, .. } = &f.insts[term].kind else { return None };
    (then_dest != else_dest).then_some((*cond, *then_dest == b))
}

/// Folds, value-numbers and decides branches over the dominator tree. Returns whether anything
/// changed, and whether a branch was decided.
fn number_values(f: &mut Function, cfg: &Cfg, entry: Block, alias: &mut Aliases) -> (bool, bool) {
    let mut changed = false;
    let mut decided = false;
    let mut scope = Scope::default();
    let mut stack: Vec<(Block, Option<usize>)> = vec![(entry, None)];
    while let Some((b, exit)) = stack.pop() {
        if let Some(mark) = exit {
            scope.unwind(mark);
            continue;
        }
        stack.push((b, Some(scope.undo.len())));
        if let Some((cond, value)) = entry_condition(f, cfg, b) {
            if scope.known.insert(cond, value).is_none() {
                scope.undo.push(Undo::Known(cond));
            }
        }
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut kept = Vec::with_capacity(insts.len());
        for i in insts {
            f.insts[i].kind.for_each_operand_mut(|v| *v = alias.resolve(*v));
            if let InstKind::Branch { .. } = f.insts[i].kind {
                decided |= decide_branch(f, i, &scope.known);
                kept.push(i);
                continue;
            }
            if f.insts[i].results.len() == 1 {
                let r = f.insts[i].results[0];
                match fold(f, &f.insts[i].kind) {
                    Some(Folded::Same(v)) => {
                        alias.set(r, v);
                        changed = true;
                        continue;
                    }
                    Some(Folded::Const(k)) => {
                        changed |= f.insts[i].kind != k;
                        f.insts[i].kind = k;
                    }
                    None => {}
                }
                if is_pure(f, &f.insts[i].kind) {
                    if let Some(k) = key(&f.insts[i].kind) {
                        if let Some(&v) = scope.numbers.get(&k) {
                            alias.set(r, v);
                            changed = true;
                            continue;
                        }
                        scope.numbers.insert(k.clone(), r);
                        scope.undo.push(Undo::Number(k));
                    }
                }
            }
            kept.push(i);
        }
        f.blocks[b].insts = kept;
        for &c in cfg.dom_children(b).iter().rev() {
            stack.push((c, None));
        }
    }
    (changed || decided, decided)
}

/// Turns the branch `i` into a jump when its condition is a constant or already decided, or both
/// arms are the same edge.
fn decide_branch(f: &mut Function, i: Inst, known: &HashMap<Value, bool>) -> bool {
    let InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } = &f.insts[i].kind else { return false };
    let taken = match int_const(f, *cond) {
        Some((_, c)) => Some(c != 0),
        None => known.get(cond).copied(),
    };
    let same = then_dest == else_dest && then_args == else_args;
    let (dest, args) = match (taken, same) {
        (Some(false), _) => (*else_dest, else_args.clone()),
        (Some(true), _) | (None, true) => (*then_dest, then_args.clone()),
        (None, false) => return false,
    };
    f.insts[i].kind = InstKind::Jump { dest, args };
    true
}

/// The terminators of reachable blocks with an edge into each block.
fn edges_into(f: &Function, cfg: &Cfg) -> Vec<Vec<Inst>> {
    let mut into: Vec<Vec<Inst>> = vec![Vec::new(); f.blocks.len()];
    for &b in &cfg.rpo {
        let Some(&t) = f.blocks[b].insts.last() else { continue };
        for (d, _) in f.insts[t].kind.edges() {
            if into[d.index()].last() != Some(&t) {
                into[d.index()].push(t);
            }
        }
    }
    into
}

/// Removes the block parameters that receive one value on every edge (or themselves, on a back
/// edge): they become that value.
fn simplify_params(f: &mut Function, cfg: &Cfg, entry: Block, alias: &mut Aliases) -> bool {
    let into = edges_into(f, cfg);
    let mut changed = false;
    loop {
        let mut round = false;
        for &b in &cfg.rpo {
            if b == entry || f.blocks[b].params.is_empty() {
                continue;
            }
            let params = f.blocks[b].params.clone();
            let mut keep = vec![true; params.len()];
            for (n, &p) in params.iter().enumerate() {
                let mut only: Option<Value> = None;
                let mut single = true;
                for &t in &into[b.index()] {
                    for (d, args) in f.insts[t].kind.edges() {
                        if d != b {
                            continue;
                        }
                        let a = alias.resolve(args[n]);
                        if a == p {
                            continue;
                        }
                        match only {
                            None => only = Some(a),
                            Some(o) if o == a => {}
                            Some(_) => single = false,
                        }
                    }
                }
                if let (true, Some(v)) = (single, only) {
                    alias.set(p, v);
                    keep[n] = false;
                }
            }
            if keep.iter().all(|&k| k) {
                continue;
            }
            round = true;
            let kept: Vec<Value> = params.iter().zip(&keep).filter(|(_, &k)| k).map(|(&p, _)| p).collect();
            for (n, &p) in kept.iter().enumerate() {
                f.values[p].def = ValueDef::Param(b, n as u32);
            }
            f.blocks[b].params = kept;
            for &t in &into[b.index()] {
                for (d, args) in f.insts[t].kind.edges_mut() {
                    if d == b {
                        let old = std::mem::take(args);
                        *args = old.into_iter().zip(&keep).filter(|(_, &k)| k).map(|(a, _)| a).collect();
                    }
                }
            }
        }
        changed |= round;
        if !round {
            return changed;
        }
    }
}

/// Appends each block reached only by one `jump` to the block that jumps (its parameters become
/// the jump's arguments); the emptied block becomes unreachable. `order` lists the blocks
/// reachable before branches were decided (a superset of those reachable now).
fn merge_blocks(f: &mut Function, order: &[Block], entry: Block, alias: &mut Aliases) -> bool {
    let mut preds: Vec<Vec<Block>> = vec![Vec::new(); f.blocks.len()];
    for &b in order {
        let Some(&t) = f.blocks[b].insts.last() else { continue };
        for (d, _) in f.insts[t].kind.edges() {
            preds[d.index()].push(b);
        }
    }
    let mut changed = false;
    for &b in order {
        if f.blocks[b].insts.is_empty() {
            continue;
        }
        while let Some(&t) = f.blocks[b].insts.last() {
            let InstKind::Jump { dest: c, args } = &f.insts[t].kind else { break };
            let c = *c;
            if c == entry || c == b || preds[c.index()].as_slice() != [b] {
                break;
            }
            for (&p, &a) in f.blocks[c].params.iter().zip(args) {
                alias.set(p, a);
            }
            f.blocks[b].insts.pop();
            let moved = std::mem::take(&mut f.blocks[c].insts);
            f.blocks[b].insts.extend(moved);
            let trap = new_trap(f);
            f.blocks[c] = BlockData { params: vec![], insts: vec![trap] };
            preds[c.index()].clear();
            if let Some(&nt) = f.blocks[b].insts.last() {
                for (d, _) in f.insts[nt].kind.edges() {
                    for p in preds[d.index()].iter_mut() {
                        if *p == c {
                            *p = b;
                        }
                    }
                }
            }
            changed = true;
        }
    }
    changed
}

/// Removes pure instructions whose results are never used (transitively).
pub(crate) fn remove_dead(f: &mut Function) -> bool {
    let mut uses = vec![0u32; f.values.len()];
    for bd in f.blocks.values() {
        for &i in &bd.insts {
            f.insts[i].kind.for_each_operand(|v| uses[v.index()] += 1);
        }
    }
    let mut dead = vec![false; f.insts.len()];
    let mut work: Vec<Inst> = f.blocks.values().flat_map(|bd| bd.insts.iter().copied()).collect();
    let mut any = false;
    while let Some(i) = work.pop() {
        let d = &f.insts[i];
        if dead[i.index()] || d.results.is_empty() || d.results.iter().any(|r| uses[r.index()] > 0) || !is_pure(f, &d.kind) {
            continue;
        }
        dead[i.index()] = true;
        any = true;
        d.kind.for_each_operand(|v| {
            uses[v.index()] -= 1;
            if uses[v.index()] == 0 {
                if let ValueDef::Result(j, _) = f.values[v].def {
                    work.push(j);
                }
            }
        });
    }
    if any {
        for bd in f.blocks.values_mut() {
            bd.insts.retain(|i| !dead[i.index()]);
        }
    }
    any
}
