//! Optimisation passes over IR functions.
//!
//! [`promote_slots`] is mem2reg: stack slots that are only ever loaded and stored whole, with one
//! scalar type and without their address escaping, become SSA values (block parameters at the
//! merge points, placed on the iterated dominance frontier and then pruned). Sema runs it on
//! every function, so the VM and the back ends see register code.
//!
//! The other passes run only on the code a native back end compiles (`sx_codegen` at `--opt 2`
//! and above, through [`optimise_module`]): [`inline`], [`accumulate`] (self tail calls
//! become loops), [`guard`] (a call's entry test in front of it), [`simplify()`] (constant
//! folding with [`fold`], value numbering, branch folding, block merging, dead code),
//! [`strength`] (exact signed divisions and remainders by powers of two as bit operations), [`licm`]
//! [`unroll`] (short counted loops peeled completely) and [`rotate`] (loop rotation). Each
//! leaves the function valid for [`crate::verify()`] and printable as text IR.

pub mod accumulate;
pub mod effects;
pub mod fold;
pub mod guard;
pub mod inline;
pub mod licm;
pub mod pipeline;
pub mod rotate;
pub mod simplify;
pub mod strength;
pub mod unroll;

pub use pipeline::{optimise_module, OptConfig};
pub use simplify::simplify;

use crate::cfg::Cfg;
use crate::entity::EntityRef;
use crate::*;
use std::collections::HashMap;

const NONE: u32 = u32::MAX;

/// Promotes every promotable stack slot of `f` to SSA values (mem2reg).
///
/// A slot is promotable when each use of each `StackAddr` of it is the address operand of a
/// `Load` or `Store` at offset 0, all of them with one scalar type whose size is the slot's size.
/// Loads become uses of the reaching stored value (zero when no store reaches them: slots start
/// zero-filled), stores define new values, and merges get block parameters. Promoted slots stay
/// in the slot table with size 0; the removed instructions stay in the instruction table but are
/// no longer in any block. Functions whose entry block is a branch target are left alone. The
/// slots of the function's debug variables ([`Function::debug_vars`]) are promoted too, but keep
/// their size and every store to them, so a debugger finds each variable's current value there.
pub fn promote_slots(f: &mut Function) {
    let Some(entry) = f.entry() else { return };
    if f.slots.is_empty() {
        return;
    }
    let cfg = Cfg::compute(f);
    if !cfg.preds[entry.index()].is_empty() {
        return;
    }
    let Some(vars) = find_promotable(f) else { return };
    let nvars = vars.ty.len();

    // Blocks storing to each variable (reachable ones only: the others are renamed locally).
    let mut def_blocks: Vec<Vec<Block>> = vec![Vec::new(); nvars];
    for &b in &cfg.rpo {
        for &i in &f.blocks[b].insts {
            if let InstKind::Store { addr, .. } = f.insts[i].kind {
                let var = vars.var_of(addr);
                if var != NONE && def_blocks[var as usize].last() != Some(&b) {
                    def_blocks[var as usize].push(b);
                }
            }
        }
    }

    // Block parameters on the iterated dominance frontier of the stores.
    let df = cfg.dominance_frontiers();
    let nblocks = f.blocks.len();
    let mut added: Vec<Vec<(u32, Value)>> = vec![Vec::new(); nblocks];
    let mut placed = vec![NONE; nblocks];
    let mut queued = vec![NONE; nblocks];
    for var in 0..nvars as u32 {
        let mut work: Vec<Block> = def_blocks[var as usize].clone();
        for &b in &work {
            queued[b.index()] = var;
        }
        while let Some(b) = work.pop() {
            for &d in &df[b.index()] {
                if placed[d.index()] == var {
                    continue;
                }
                placed[d.index()] = var;
                let ty = vars.ty[var as usize];
                let n = f.blocks[d].params.len() as u32;
                let p = f.values.push(ValueData { ty, def: ValueDef::Param(d, n) });
                f.blocks[d].params.push(p);
                added[d.index()].push((var, p));
                if queued[d.index()] != var {
                    queued[d.index()] = var;
                    work.push(d);
                }
            }
        }
    }
    // Keep each block's added list in variable order (the order its parameters were appended).
    debug_assert!(added.iter().all(|a| a.windows(2).all(|w| w[0].0 < w[1].0)));

    // Renaming.
    let mut rn = Renamer { vars: &vars, added: &added, subst: Subst::default(), dead: vec![false; f.insts.len()], zeros: HashMap::new() };
    // Reachable blocks: walk the dominator tree, undoing each block's definitions on exit.
    let mut cur: Vec<Option<Value>> = vec![None; nvars];
    let mut undo: Vec<(u32, Option<Value>)> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut stack: Vec<(Block, bool)> = vec![(entry, false)];
    while let Some((b, exit)) = stack.pop() {
        if exit {
            let m = marks.pop().unwrap_or(0);
            while undo.len() > m {
                let (var, old) = undo.pop().expect("undo entry");
                cur[var as usize] = old;
            }
            continue;
        }
        marks.push(undo.len());
        stack.push((b, true));
        rn.block(f, b, entry, &mut cur, &mut undo);
        for &c in cfg.dom_children(b).iter().rev() {
            stack.push((c, false));
        }
    }
    // Unreachable blocks: each on its own, reading zero before its first store.
    for b in f.blocks.keys().collect::<Vec<_>>() {
        if !cfg.is_reachable(b) {
            let mut cur: Vec<Option<Value>> = vec![None; nvars];
            let mut undo = Vec::new();
            rn.block(f, b, b, &mut cur, &mut undo);
        }
    }
    let Renamer { mut subst, dead, zeros, .. } = rn;

    prune_params(f, &cfg, &added, &mut subst, &dead);

    // Rewrite operands, drop the dead instructions, prepend the zero constants still in use.
    let mut used = vec![false; f.values.len()];
    for b in f.blocks.keys().collect::<Vec<_>>() {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut kept = Vec::with_capacity(insts.len());
        for i in insts {
            if dead.get(i.index()).copied().unwrap_or(false) {
                continue;
            }
            f.insts[i].kind.for_each_operand_mut(|v| {
                *v = subst.resolve(*v);
                used[v.index()] = true;
            });
            kept.push(i);
        }
        f.blocks[b].insts = kept;
    }
    let mut zero_list: Vec<(Block, Value)> = zeros.iter().map(|(&(b, _), &v)| (b, v)).collect();
    zero_list.sort_by_key(|&(b, v)| (b, v));
    let mut by_block: HashMap<Block, Vec<Inst>> = HashMap::new();
    for (b, v) in zero_list {
        if used[v.index()] {
            if let ValueDef::Result(i, _) = f.values[v].def {
                by_block.entry(b).or_default().push(i);
            }
        }
    }
    for (b, mut pre) in by_block {
        pre.extend(std::mem::take(&mut f.blocks[b].insts));
        f.blocks[b].insts = pre;
    }
    for (s, sd) in f.slots.iter_mut() {
        if vars.promoted[s.index()] && !vars.mirrored[s.index()] {
            sd.size = 0;
        }
    }
}

/// The promotable slots of a function, numbered as variables.
struct Vars {
    /// Variable of each value that is a `StackAddr` of a promoted slot, else `NONE`.
    addr_var: Vec<u32>,
    /// Scalar type of each variable.
    ty: Vec<Type>,
    /// Slot index of each variable.
    slot_of_var: Vec<usize>,
    /// Whether each slot is promoted.
    promoted: Vec<bool>,
    /// Whether each slot is a debug variable's: promoted, but every store to it stays, so the
    /// slot always holds the variable's current value.
    mirrored: Vec<bool>,
}

impl Vars {
    fn var_of(&self, addr: Value) -> u32 {
        self.addr_var.get(addr.index()).copied().unwrap_or(NONE)
    }
}

fn find_promotable(f: &Function) -> Option<Vars> {
    let nv = f.values.len();
    let ns = f.slots.len();
    let mut addr_slot: Vec<u32> = vec![NONE; nv];
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = &f.insts[i];
            if let InstKind::StackAddr { slot } = d.kind {
                if let Some(&r) = d.results.first() {
                    if r.index() < nv && slot.index() < ns {
                        addr_slot[r.index()] = slot.0;
                    }
                }
            }
        }
    }
    let slot_of = |v: Value| addr_slot.get(v.index()).copied().unwrap_or(NONE);
    let mut ok = vec![true; ns];
    let mut ty: Vec<Option<Type>> = vec![None; ns];
    let mut access = |s: u32, t: Type, offset: i32, ok: &mut Vec<bool>| {
        let s = s as usize;
        if offset != 0 || ty[s].map(|u| u != t).unwrap_or(false) {
            ok[s] = false;
        }
        ty[s] = Some(t);
    };
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            match &f.insts[i].kind {
                InstKind::Load { ty: t, addr, offset } => {
                    let s = slot_of(*addr);
                    if s != NONE {
                        access(s, *t, *offset, &mut ok);
                    }
                }
                InstKind::Store { addr, offset, value } => {
                    let sv = slot_of(*value);
                    if sv != NONE {
                        ok[sv as usize] = false;
                    }
                    let s = slot_of(*addr);
                    if s != NONE {
                        access(s, f.values[*value].ty, *offset, &mut ok);
                    }
                }
                k => {
                    for v in k.operands() {
                        let s = slot_of(v);
                        if s != NONE {
                            ok[s as usize] = false;
                        }
                    }
                }
            }
        }
    }
    let mut promoted = vec![false; ns];
    let mut slot_var = vec![NONE; ns];
    let mut var_ty = Vec::new();
    let mut slot_of_var = Vec::new();
    for (s, sd) in f.slots.iter() {
        if let Some(t) = ty[s.index()] {
            if ok[s.index()] && t.bytes() == sd.size {
                promoted[s.index()] = true;
                slot_var[s.index()] = var_ty.len() as u32;
                var_ty.push(t);
                slot_of_var.push(s.index());
            }
        }
    }
    if var_ty.is_empty() {
        return None;
    }
    let addr_var = addr_slot.iter().map(|&s| if s == NONE { NONE } else { slot_var[s as usize] }).collect();
    // A debugger reads variables from their slots: their stores stay.
    let mut mirrored = vec![false; ns];
    for v in &f.debug_vars {
        if let Some(m) = mirrored.get_mut(v.slot.index()) {
            *m = true;
        }
    }
    Some(Vars { addr_var, ty: var_ty, promoted, mirrored, slot_of_var })
}

/// Value replacements (load results and removed parameters), followed transitively.
#[derive(Default)]
struct Subst {
    map: Vec<Option<Value>>,
}

impl Subst {
    fn set(&mut self, from: Value, to: Value) {
        if self.map.len() <= from.index() {
            self.map.resize(from.index() + 1, None);
        }
        self.map[from.index()] = Some(to);
    }
    fn resolve(&self, mut v: Value) -> Value {
        while let Some(Some(w)) = self.map.get(v.index()) {
            v = *w;
        }
        v
    }
}

struct Renamer<'a> {
    vars: &'a Vars,
    added: &'a [Vec<(u32, Value)>],
    subst: Subst,
    /// Instructions to remove (the promoted `StackAddr`s, loads and stores).
    dead: Vec<bool>,
    /// Zero constant of each type, per scope (the entry block, or an unreachable block).
    zeros: HashMap<(Block, Type), Value>,
}

impl Renamer<'_> {
    fn zero(&mut self, f: &mut Function, scope: Block, ty: Type) -> Value {
        if let Some(&v) = self.zeros.get(&(scope, ty)) {
            return v;
        }
        let inst = f.insts.next_key();
        let v = f.values.push(ValueData { ty, def: ValueDef::Result(inst, 0) });
        let kind = if ty.is_float() { InstKind::Fconst { ty, value: 0.0 } } else { InstKind::Iconst { ty, imm: 0 } };
        f.insts.push(InstData { kind, results: vec![v], span: None });
        self.zeros.insert((scope, ty), v);
        v
    }

    fn current(&mut self, f: &mut Function, scope: Block, cur: &[Option<Value>], var: u32) -> Value {
        match cur[var as usize] {
            Some(v) => v,
            None => self.zero(f, scope, self.vars.ty[var as usize]),
        }
    }

    /// Renames the promoted accesses of `b` given the definitions `cur` reaching its start.
    fn block(&mut self, f: &mut Function, b: Block, scope: Block, cur: &mut [Option<Value>], undo: &mut Vec<(u32, Option<Value>)>) {
        for &(var, p) in &self.added[b.index()] {
            undo.push((var, cur[var as usize]));
            cur[var as usize] = Some(p);
        }
        let insts = f.blocks[b].insts.clone();
        for i in insts {
            enum Act {
                Dead,
                Load(u32),
                Store(u32, Value),
                Term,
                Keep,
            }
            let act = match &f.insts[i].kind {
                InstKind::StackAddr { slot } if self.vars.mirrored.get(slot.index()).copied().unwrap_or(false) => Act::Keep,
                InstKind::StackAddr { slot } if self.vars.promoted.get(slot.index()).copied().unwrap_or(false) => Act::Dead,
                InstKind::Load { addr, .. } if self.vars.var_of(*addr) != NONE => Act::Load(self.vars.var_of(*addr)),
                InstKind::Store { addr, value, .. } if self.vars.var_of(*addr) != NONE => Act::Store(self.vars.var_of(*addr), *value),
                k => {
                    if k.is_terminator() {
                        Act::Term
                    } else {
                        Act::Keep
                    }
                }
            };
            match act {
                Act::Dead => self.dead[i.index()] = true,
                Act::Load(var) => {
                    self.dead[i.index()] = true;
                    let r = f.insts[i].results[0];
                    let d = self.current(f, scope, cur, var);
                    self.subst.set(r, d);
                }
                Act::Store(var, value) => {
                    let slot = self.vars.slot_of_var[var as usize];
                    self.dead[i.index()] = !self.vars.mirrored[slot];
                    let v = self.subst.resolve(value);
                    undo.push((var, cur[var as usize]));
                    cur[var as usize] = Some(v);
                }
                Act::Term => {
                    let dests = crate::cfg::successors(f, b);
                    let mut extra: Vec<Vec<Value>> = Vec::with_capacity(dests.len());
                    for d in dests {
                        let vars: Vec<u32> = self.added.get(d.index()).map(|a| a.iter().map(|&(v, _)| v).collect()).unwrap_or_default();
                        extra.push(vars.into_iter().map(|var| self.current(f, scope, cur, var)).collect());
                    }
                    for ((_, args), ex) in f.insts[i].kind.edges_mut().into_iter().zip(extra) {
                        args.extend(ex);
                    }
                }
                Act::Keep => {}
            }
        }
    }
}

/// Removes the added block parameters that are trivial (every reachable incoming edge passes
/// the same value or the parameter itself) or dead (only feeding other dead parameters), and
/// renumbers the remaining parameters.
fn prune_params(f: &mut Function, cfg: &Cfg, added: &[Vec<(u32, Value)>], subst: &mut Subst, dead: &[bool]) {
    // Added parameter → index into `incoming`.
    let mut idx: HashMap<Value, usize> = HashMap::new();
    let mut params: Vec<Value> = Vec::new();
    for a in added {
        for &(_, p) in a {
            idx.insert(p, params.len());
            params.push(p);
        }
    }
    if params.is_empty() {
        return;
    }
    let mut incoming: Vec<Vec<(Value, bool)>> = vec![Vec::new(); params.len()];
    for (b, bd) in f.blocks.iter() {
        let Some(&t) = bd.insts.last() else { continue };
        let from_reachable = cfg.is_reachable(b);
        let kind = &f.insts[t].kind;
        let edges = kind.edges();
        for (d, args) in edges {
            let Some(dd) = f.blocks.get(d) else { continue };
            for (pos, &a) in args.iter().enumerate() {
                if let Some(&p) = dd.params.get(pos) {
                    if let Some(&k) = idx.get(&p) {
                        incoming[k].push((a, from_reachable));
                    }
                }
            }
        }
    }
    // Trivial parameters, to a fixpoint.
    let mut removed = vec![false; params.len()];
    loop {
        let mut changed = false;
        for k in 0..params.len() {
            if removed[k] {
                continue;
            }
            let p = params[k];
            let mut uniq: Option<Value> = None;
            let mut multi = false;
            for &(a, r) in &incoming[k] {
                if !r {
                    continue;
                }
                let a = subst.resolve(a);
                if a == p {
                    continue;
                }
                match uniq {
                    None => uniq = Some(a),
                    Some(u) if u == a => {}
                    Some(_) => {
                        multi = true;
                        break;
                    }
                }
            }
            if let (false, Some(w)) = (multi, uniq) {
                subst.set(p, w);
                removed[k] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Liveness of the remaining ones: used by a real (non-argument) operand, or passed to a
    // live parameter.
    let mut live = vec![false; params.len()];
    let mut work: Vec<usize> = Vec::new();
    let mark = |v: Value, live: &mut Vec<bool>, work: &mut Vec<usize>| {
        if let Some(&k) = idx.get(&v) {
            if !removed[k] && !live[k] {
                live[k] = true;
                work.push(k);
            }
        }
    };
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            if dead.get(i.index()).copied().unwrap_or(false) {
                continue;
            }
            match &f.insts[i].kind {
                InstKind::Jump { dest, args } => {
                    for (pos, &a) in args.iter().enumerate() {
                        let p = f.blocks.get(*dest).and_then(|d| d.params.get(pos)).copied();
                        if p.map(|p| idx.contains_key(&p)).unwrap_or(false) {
                            continue;
                        }
                        mark(subst.resolve(a), &mut live, &mut work);
                    }
                }
                InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } => {
                    mark(subst.resolve(*cond), &mut live, &mut work);
                    for (dest, args) in [(then_dest, then_args), (else_dest, else_args)] {
                        for (pos, &a) in args.iter().enumerate() {
                            let p = f.blocks.get(*dest).and_then(|d| d.params.get(pos)).copied();
                            if p.map(|p| idx.contains_key(&p)).unwrap_or(false) {
                                continue;
                            }
                            mark(subst.resolve(a), &mut live, &mut work);
                        }
                    }
                }
                k => {
                    for v in k.operands() {
                        mark(subst.resolve(v), &mut live, &mut work);
                    }
                }
            }
        }
    }
    while let Some(k) = work.pop() {
        for &(a, _) in &incoming[k] {
            mark(subst.resolve(a), &mut live, &mut work);
        }
    }
    // Rebuild the parameter lists and the edges into them.
    let mut masks: HashMap<Block, Vec<bool>> = HashMap::new();
    for (b, a) in added.iter().enumerate() {
        if a.iter().all(|&(_, p)| live[idx[&p]]) {
            continue;
        }
        let b = Block::new(b);
        let keep: Vec<bool> = f.blocks[b].params.iter().map(|p| idx.get(p).map(|&k| live[k]).unwrap_or(true)).collect();
        let old = std::mem::take(&mut f.blocks[b].params);
        let new: Vec<Value> = old.into_iter().zip(&keep).filter(|(_, &k)| k).map(|(p, _)| p).collect();
        for (n, &p) in new.iter().enumerate() {
            f.values[p].def = ValueDef::Param(b, n as u32);
        }
        f.blocks[b].params = new;
        masks.insert(b, keep);
    }
    if masks.is_empty() {
        return;
    }
    let terms: Vec<Inst> = f.blocks.values().filter_map(|bd| bd.insts.last().copied()).collect();
    for t in terms {
        for (d, args) in f.insts[t].kind.edges_mut() {
            if let Some(keep) = masks.get(&d) {
                let old = std::mem::take(args);
                *args = old.into_iter().enumerate().filter(|(n, _)| keep.get(*n).copied().unwrap_or(true)).map(|(_, a)| a).collect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;
    use crate::print::print_function;
    use crate::verify::verify_module;

    const P: Type = Type::I64;

    /// A tiny reference interpreter for the integer subset used below. Slot addresses are
    /// `(slot + 1) << 32`; slots start zero-filled.
    fn run(f: &Function, args: &[i64]) -> Vec<i64> {
        let mut vals: HashMap<Value, i64> = HashMap::new();
        let mut mem: Vec<Vec<u8>> = f.slots.values().map(|s| vec![0u8; s.size.max(8) as usize]).collect();
        let wrap = |ty: Type, x: i64| -> i64 {
            match ty {
                Type::I8 => x as i8 as i64,
                Type::I16 => x as i16 as i64,
                Type::I32 => x as i32 as i64,
                Type::I64 | Type::F32 | Type::F64 => x,
            }
        };
        let mut b = f.entry().unwrap();
        let mut incoming: Vec<i64> = args.to_vec();
        for _ in 0..100_000 {
            for (&p, &a) in f.blocks[b].params.iter().zip(&incoming) {
                vals.insert(p, a);
            }
            for &i in &f.blocks[b].insts {
                let d = &f.insts[i];
                let g = |v: &Value| vals[v];
                let r = match &d.kind {
                    InstKind::Iconst { ty, imm } => wrap(*ty, *imm),
                    InstKind::Binary { op, a, b: bb } => {
                        let (x, y) = (g(a), g(bb));
                        let v = match op {
                            BinOp::Iadd => x.wrapping_add(y),
                            BinOp::Isub => x.wrapping_sub(y),
                            BinOp::Imul => x.wrapping_mul(y),
                            BinOp::Sdiv => x / y,
                            BinOp::Srem => x % y,
                            BinOp::Xor => x ^ y,
                            o => panic!("op {:?}", o),
                        };
                        wrap(f.values[*a].ty, v)
                    }
                    InstKind::Icmp { cc, a, b: bb } => {
                        let (x, y) = (g(a), g(bb));
                        (match cc {
                            IntCC::Eq => x == y,
                            IntCC::Ne => x != y,
                            IntCC::Slt => x < y,
                            IntCC::Sgt => x > y,
                            c => panic!("cc {:?}", c),
                        }) as i64
                    }
                    InstKind::StackAddr { slot } => ((slot.index() as i64) + 1) << 32,
                    InstKind::Load { ty, addr, offset } => {
                        let a = g(addr) + *offset as i64;
                        let (s, o) = ((a >> 32) as usize - 1, (a & 0xffff_ffff) as usize);
                        let mut raw = [0u8; 8];
                        raw[..ty.bytes() as usize].copy_from_slice(&mem[s][o..o + ty.bytes() as usize]);
                        wrap(*ty, i64::from_le_bytes(raw))
                    }
                    InstKind::Store { addr, offset, value } => {
                        let a = g(addr) + *offset as i64;
                        let (s, o) = ((a >> 32) as usize - 1, (a & 0xffff_ffff) as usize);
                        let n = f.values[*value].ty.bytes() as usize;
                        mem[s][o..o + n].copy_from_slice(&g(value).to_le_bytes()[..n]);
                        continue;
                    }
                    InstKind::Jump { dest, args } => {
                        incoming = args.iter().map(g).collect();
                        b = *dest;
                        break;
                    }
                    InstKind::Branch { cond, then_dest, then_args, else_dest, else_args } => {
                        let (d, a) = if g(cond) != 0 { (then_dest, then_args) } else { (else_dest, else_args) };
                        incoming = a.iter().map(g).collect();
                        b = *d;
                        break;
                    }
                    InstKind::Return { values } => return values.iter().map(g).collect(),
                    k => panic!("unsupported {:?}", k),
                };
                vals.insert(d.results[0], r);
            }
        }
        panic!("step limit");
    }

    fn module(f: Function) -> Module {
        let mut m = Module::new(Target::X86_64Linux);
        m.funcs.push(Function::new("g", Signature { params: vec![P], returns: vec![] }));
        m.funcs.push(f);
        m
    }

    /// Verifies, promotes, verifies again; returns (module after, printed function after).
    fn promote(f: Function) -> (Module, Function, String) {
        let before = f.clone();
        let m0 = module(f.clone());
        assert_eq!(verify_module(&m0), Vec::<String>::new());
        let mut f = f;
        promote_slots(&mut f);
        let m = module(f.clone());
        assert_eq!(verify_module(&m), Vec::<String>::new(), "{}", print_of(&m, &f));
        let text = print_of(&m, &f);
        (m, before, text)
    }

    fn print_of(m: &Module, f: &Function) -> String {
        let mut s = String::new();
        print_function(m, f, &mut s);
        s
    }

    fn memory_ops(f: &Function) -> usize {
        f.blocks
            .values()
            .flat_map(|b| b.insts.iter())
            .filter(|&&i| matches!(f.insts[i].kind, InstKind::Load { .. } | InstKind::Store { .. } | InstKind::StackAddr { .. }))
            .count()
    }

    fn sig1() -> Signature {
        Signature { params: vec![P], returns: vec![P] }
    }

    /// sum = 0; i = 0; while i < n { sum += i; i += 1 }; return sum (addresses re-emitted per use).
    fn counting_loop() -> Function {
        let mut f = Function::new("count", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, head, body, exit) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
        let n = b.append_block_param(e, P);
        b.switch_to_block(e);
        let (si, ss) = (b.create_slot(8, 8), b.create_slot(8, 8));
        let z = b.iconst(P, 0);
        let a = b.stack_addr(si, P);
        b.store(a, 0, z);
        let a = b.stack_addr(ss, P);
        b.store(a, 0, z);
        b.jump(head, vec![]);
        b.switch_to_block(head);
        let a = b.stack_addr(si, P);
        let i = b.load(P, a, 0);
        let c = b.icmp(IntCC::Slt, i, n);
        b.branch(c, body, vec![], exit, vec![]);
        b.switch_to_block(body);
        let a = b.stack_addr(ss, P);
        let s = b.load(P, a, 0);
        let a2 = b.stack_addr(si, P);
        let i = b.load(P, a2, 0);
        let s2 = b.binary(BinOp::Iadd, s, i);
        b.store(a, 0, s2);
        let one = b.iconst(P, 1);
        let i2 = b.binary(BinOp::Iadd, i, one);
        b.store(a2, 0, i2);
        b.jump(head, vec![]);
        b.switch_to_block(exit);
        let a = b.stack_addr(ss, P);
        let s = b.load(P, a, 0);
        b.ret(vec![s]);
        f
    }

    #[test]
    fn counting_loop_is_promoted() {
        let (m, before, text) = promote(counting_loop());
        let after = &m.funcs[FuncId(1)];
        assert_eq!(memory_ops(after), 0);
        for n in [0, 1, 10, 100] {
            assert_eq!(run(&before, &[n]), run(after, &[n]));
        }
        assert_eq!(run(after, &[10]), vec![45]);
        expect_test::expect![[r#"
            function count (i64) -> (i64) {
                ss0 = slot 0, align 8
                ss1 = slot 0, align 8
            block0(v0: i64):
                v1 = iconst.i64 0
                jump block1(v1, v1)
            block1(v16: i64, v17: i64):
                v6 = icmp slt v16, v0
                brif v6, block2(), block3()
            block2():
                v11 = iadd v17, v16
                v12 = iconst.i64 1
                v13 = iadd v16, v12
                jump block1(v13, v11)
            block3():
                return v17
            }
        "#]]
        .assert_eq(&text);
    }

    /// if x > 0 { s = 1 } else { s = 2 }; return s
    #[test]
    fn diamond_gets_a_merge_parameter() {
        let mut f = Function::new("diamond", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, t, el, j) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(8, 8);
        let z = b.iconst(P, 0);
        let c = b.icmp(IntCC::Sgt, x, z);
        b.branch(c, t, vec![], el, vec![]);
        b.switch_to_block(t);
        let a = b.stack_addr(s, P);
        let one = b.iconst(P, 1);
        b.store(a, 0, one);
        b.jump(j, vec![]);
        b.switch_to_block(el);
        let a = b.stack_addr(s, P);
        let two = b.iconst(P, 2);
        b.store(a, 0, two);
        b.jump(j, vec![]);
        b.switch_to_block(j);
        let a = b.stack_addr(s, P);
        let v = b.load(P, a, 0);
        b.ret(vec![v]);
        let (m, _, text) = promote(f);
        let after = &m.funcs[FuncId(1)];
        assert_eq!(memory_ops(after), 0);
        assert_eq!(run(after, &[5]), vec![1]);
        assert_eq!(run(after, &[-5]), vec![2]);
        expect_test::expect![[r#"
            function diamond (i64) -> (i64) {
                ss0 = slot 0, align 8
            block0(v0: i64):
                v1 = iconst.i64 0
                v2 = icmp sgt v0, v1
                brif v2, block1(), block2()
            block1():
                v4 = iconst.i64 1
                jump block3(v4)
            block2():
                v6 = iconst.i64 2
                jump block3(v6)
            block3(v9: i64):
                return v9
            }
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn escaping_address_is_not_promoted() {
        let mut f = Function::new("esc", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(8, 8);
        let a = b.stack_addr(s, P);
        b.store(a, 0, x);
        let a2 = b.stack_addr(s, P);
        b.call(FuncId(0), vec![a2], &[]);
        let a3 = b.stack_addr(s, P);
        let v = b.load(P, a3, 0);
        b.ret(vec![v]);
        let n = memory_ops(&f);
        let (m, _, _) = promote(f);
        assert_eq!(memory_ops(&m.funcs[FuncId(1)]), n);
        assert_eq!(m.funcs[FuncId(1)].slots[Slot(0)].size, 8);
    }

    #[test]
    fn mixed_type_or_offset_access_is_not_promoted() {
        // Written as i64, read as i8.
        let mut f = Function::new("mixed", Signature { params: vec![P], returns: vec![Type::I8] });
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(8, 8);
        let a = b.stack_addr(s, P);
        b.store(a, 0, x);
        let v = b.load(Type::I8, a, 0);
        b.ret(vec![v]);
        let (m, before, _) = promote(f);
        assert_eq!(memory_ops(&m.funcs[FuncId(1)]), 3);
        assert_eq!(run(&m.funcs[FuncId(1)], &[0x1ff]), run(&before, &[0x1ff]));
        // Accessed at a non-zero offset; and a slot larger than its access type.
        let mut f = Function::new("offset", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(16, 8);
        let t = b.create_slot(16, 8);
        let a = b.stack_addr(s, P);
        b.store(a, 8, x);
        let v = b.load(P, a, 8);
        let at = b.stack_addr(t, P);
        b.store(at, 0, v);
        let w = b.load(P, at, 0);
        b.ret(vec![w]);
        let (m, _, _) = promote(f);
        assert_eq!(memory_ops(&m.funcs[FuncId(1)]), 6);
    }

    /// if x > 0 { s = 7 }; return s + s0 where s0 is never written.
    #[test]
    fn read_before_write_is_zero() {
        let mut f = Function::new("rbw", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, t, j) = (b.create_block(), b.create_block(), b.create_block());
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(8, 8);
        let s0 = b.create_slot(8, 8);
        let z = b.iconst(P, 0);
        let c = b.icmp(IntCC::Sgt, x, z);
        b.branch(c, t, vec![], j, vec![]);
        b.switch_to_block(t);
        let a = b.stack_addr(s, P);
        let seven = b.iconst(P, 7);
        b.store(a, 0, seven);
        b.jump(j, vec![]);
        b.switch_to_block(j);
        let a = b.stack_addr(s, P);
        let v = b.load(P, a, 0);
        let a0 = b.stack_addr(s0, P);
        let u = b.load(P, a0, 0);
        let r = b.binary(BinOp::Iadd, v, u);
        b.ret(vec![r]);
        let (m, _, _) = promote(f);
        let after = &m.funcs[FuncId(1)];
        assert_eq!(memory_ops(after), 0);
        assert_eq!(run(after, &[1]), vec![7]);
        assert_eq!(run(after, &[0]), vec![0]);
    }

    /// a = 1; b = 2; i = 0; while i < n { t = a; a = b; b = t; i += 1 }; return a * 10 + b.
    #[test]
    fn swapping_loop_passes_arguments_in_parallel() {
        let mut f = Function::new("swap", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, head, body, exit) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
        let n = b.append_block_param(e, P);
        b.switch_to_block(e);
        let (sa, sb, st, si) = (b.create_slot(8, 8), b.create_slot(8, 8), b.create_slot(8, 8), b.create_slot(8, 8));
        let one = b.iconst(P, 1);
        let two = b.iconst(P, 2);
        let a = b.stack_addr(sa, P);
        b.store(a, 0, one);
        let a = b.stack_addr(sb, P);
        b.store(a, 0, two);
        b.jump(head, vec![]);
        b.switch_to_block(head);
        let a = b.stack_addr(si, P);
        let i = b.load(P, a, 0);
        let c = b.icmp(IntCC::Slt, i, n);
        b.branch(c, body, vec![], exit, vec![]);
        b.switch_to_block(body);
        let (pa, pb, pt, pi) = (b.stack_addr(sa, P), b.stack_addr(sb, P), b.stack_addr(st, P), b.stack_addr(si, P));
        let va = b.load(P, pa, 0);
        b.store(pt, 0, va);
        let vb = b.load(P, pb, 0);
        b.store(pa, 0, vb);
        let vt = b.load(P, pt, 0);
        b.store(pb, 0, vt);
        let i = b.load(P, pi, 0);
        let one = b.iconst(P, 1);
        let i2 = b.binary(BinOp::Iadd, i, one);
        b.store(pi, 0, i2);
        b.jump(head, vec![]);
        b.switch_to_block(exit);
        let (pa, pb) = (b.stack_addr(sa, P), b.stack_addr(sb, P));
        let va = b.load(P, pa, 0);
        let vb = b.load(P, pb, 0);
        let ten = b.iconst(P, 10);
        let m10 = b.binary(BinOp::Imul, va, ten);
        let r = b.binary(BinOp::Iadd, m10, vb);
        b.ret(vec![r]);
        let (m, before, text) = promote(f);
        let after = &m.funcs[FuncId(1)];
        assert_eq!(memory_ops(after), 0);
        for n in 0..5 {
            assert_eq!(run(after, &[n]), run(&before, &[n]));
        }
        assert_eq!(run(after, &[3]), vec![21]);
        // The back edge passes the two values crossed over.
        assert!(text.contains("jump block1("), "{}", text);
    }

    /// An unreachable block reading and writing a promoted slot and jumping into a merge.
    #[test]
    fn unreachable_block_gets_its_own_zero() {
        let mut f = Function::new("dead", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, l, dead, j) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        let s = b.create_slot(8, 8);
        let a = b.stack_addr(s, P);
        b.store(a, 0, x);
        let z = b.iconst(P, 0);
        let c = b.icmp(IntCC::Sgt, x, z);
        b.branch(c, l, vec![], j, vec![]);
        b.switch_to_block(l);
        let nine = b.iconst(P, 9);
        b.store(a, 0, nine);
        b.jump(j, vec![]);
        b.switch_to_block(dead);
        let v = b.load(P, a, 0);
        let one = b.iconst(P, 1);
        let w = b.binary(BinOp::Iadd, v, one);
        b.store(a, 0, w);
        b.jump(j, vec![]);
        b.switch_to_block(j);
        let v = b.load(P, a, 0);
        b.ret(vec![v]);
        let (m, _, text) = promote(f);
        let after = &m.funcs[FuncId(1)];
        assert_eq!(memory_ops(after), 0);
        assert_eq!(run(after, &[5]), vec![9]);
        assert_eq!(run(after, &[-5]), vec![-5]);
        expect_test::expect![[r#"
            function dead (i64) -> (i64) {
                ss0 = slot 0, align 8
            block0(v0: i64):
                v2 = iconst.i64 0
                v3 = icmp sgt v0, v2
                brif v3, block1(), block3(v0)
            block1():
                v4 = iconst.i64 9
                jump block3(v4)
            block2():
                v10 = iconst.i64 0
                v6 = iconst.i64 1
                v7 = iadd v10, v6
                jump block3(v7)
            block3(v9: i64):
                return v9
            }
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn verifier_rejects_non_dominating_use() {
        let mut f = Function::new("bad", sig1());
        let mut b = FunctionBuilder::new(&mut f);
        let (e, t, j) = (b.create_block(), b.create_block(), b.create_block());
        let x = b.append_block_param(e, P);
        b.switch_to_block(e);
        b.branch(x, t, vec![], j, vec![]);
        b.switch_to_block(t);
        let one = b.iconst(P, 1);
        b.jump(j, vec![]);
        b.switch_to_block(j);
        b.ret(vec![one]);
        let errs = verify_module(&module(f));
        assert!(errs.iter().any(|e| e.contains("does not dominate")), "{:?}", errs);
    }
}
