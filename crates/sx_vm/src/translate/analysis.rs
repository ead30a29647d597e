//! The analysis passes of [`super::translate`]: block layout, value aliasing (identities,
//! value numbering, shared slot addresses, folded address arithmetic), register assignment and
//! the use counts and coalescing that instruction selection reads. Each pass is one function;
//! together they fill a [`Plan`].

use std::collections::HashMap;

use sx_ir::entity::EntityRef;
use sx_ir::{BinOp, Block, ConvOp, Function, InstKind, Type, Value};

use super::{err, int_op, Fold};
use crate::bytecode::{IOp, R};
use crate::width::W;

/// What the analyses decided about the function's values; read by instruction selection.
pub(super) struct Plan {
    /// The entry block.
    pub entry: Block,
    /// Blocks in layout order.
    pub order: Vec<Block>,
    /// Whether constants and stack-slot addresses are materialised once in a prologue (in
    /// functions with loops).
    pub hoist: bool,
    /// A value that shares another value's register and emits nothing.
    pub alias: Vec<Option<Value>>,
    /// Offset folded into the loads and stores that use the value as their address.
    pub addr_off: Vec<i32>,
    /// A two-register address `x + y` folded into the loads and stores that use the value.
    pub pair: Vec<Option<(Value, Value)>>,
    /// The root of each value's alias chain.
    pub root: Vec<Value>,
}

impl Plan {
    /// The root of `v`'s alias chain.
    pub fn root_of(&self, v: Value) -> Value {
        self.root.get(v.index()).copied().unwrap_or(v)
    }
    /// Whether `v` shares another value's register (its definition emits nothing).
    pub fn is_alias(&self, v: Value) -> bool {
        self.alias.get(v.index()).is_some_and(|a| a.is_some())
    }
}

/// How each value is used: as a store's value, as a load/store address (the offsets), otherwise.
struct UseCounts {
    /// Uses other than as an address (a store's value included).
    other: Vec<u32>,
    /// Uses as the stored value of a store (of the value's own width).
    store_val: Vec<u32>,
    /// Offsets of the loads and stores that use the value as their address.
    addr: Vec<Vec<i32>>,
}

/// Canonical value of every integer constant, after checking that blocks reference existing
/// instructions.
pub(super) fn constants(f: &Function) -> Result<Vec<Option<u64>>, String> {
    let mut konst = vec![None; f.values.len()];
    for (_, d) in f.insts.iter() {
        if let InstKind::Iconst { ty, imm } = d.kind {
            if let (false, Some(&r)) = (ty.is_float(), d.results.first()) {
                if let Some(k) = konst.get_mut(r.index()) {
                    *k = Some(W::of(ty).mask(imm as u64));
                }
            }
        }
    }
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            if f.insts.get(i).is_none() {
                return err(f, format!("reference to missing instruction {}", i));
            }
        }
    }
    Ok(konst)
}

/// Successors of `b` that exist: a jump's destination, a branch's `then` and `else`.
fn successors(f: &Function, b: Block) -> (Option<Block>, Option<Block>) {
    let nblocks = f.blocks.len();
    let last = f.blocks[b].insts.last().map(|&i| &f.insts[i].kind);
    let ok = |d: Block| if d.index() < nblocks { Some(d) } else { None };
    match last {
        Some(InstKind::Jump { dest, .. }) => (ok(*dest), None),
        Some(InstKind::Branch { then_dest, else_dest, .. }) => (ok(*then_dest), ok(*else_dest)),
        _ => (None, None),
    }
}

/// Block layout: chains that follow each jump and prefer a branch's `then` successor (the loop
/// body, the in-bounds path of a check), so most conditional branches fall through. Returns
/// the order and whether some edge goes backwards (the function has a loop).
pub(super) fn block_layout(f: &Function, entry: Block) -> (Vec<Block>, bool) {
    let nblocks = f.blocks.len();
    let mut order: Vec<Block> = Vec::with_capacity(nblocks);
    let mut pos = vec![usize::MAX; nblocks];
    let mut scan = 0;
    let mut want = Some(entry);
    while order.len() < nblocks {
        let b = match want {
            Some(b) if pos[b.index()] == usize::MAX => b,
            _ => {
                while scan < nblocks && pos[scan] != usize::MAX {
                    scan += 1;
                }
                Block::new(scan)
            }
        };
        pos[b.index()] = order.len();
        order.push(b);
        let (a, c) = successors(f, b);
        want = match (a, c) {
            (Some(a), _) if pos[a.index()] == usize::MAX => Some(a),
            (_, c) => c,
        };
    }
    let mut has_loop = false;
    for &b in &order {
        let (a, c) = successors(f, b);
        for d in [a, c].into_iter().flatten() {
            has_loop |= pos[d.index()] <= pos[b.index()];
        }
    }
    (order, has_loop)
}

/// Counts how every value is used (as an address with which offsets, as a stored value,
/// otherwise).
fn use_counts(f: &Function) -> UseCounts {
    let nvals = f.values.len();
    let mut u = UseCounts { other: vec![0u32; nvals], store_val: vec![0u32; nvals], addr: vec![Vec::new(); nvals] };
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            match &f.insts[i].kind {
                InstKind::Load { addr, offset, .. } => {
                    if let Some(a) = u.addr.get_mut(addr.index()) {
                        a.push(*offset);
                    }
                }
                InstKind::Store { addr, offset, value } => {
                    if let Some(a) = u.addr.get_mut(addr.index()) {
                        a.push(*offset);
                    }
                    if let Some(o) = u.other.get_mut(value.index()) {
                        *o += 1;
                    }
                    if let Some(s) = u.store_val.get_mut(value.index()) {
                        *s += 1;
                    }
                }
                k => {
                    for v in k.operands() {
                        if let Some(o) = u.other.get_mut(v.index()) {
                            *o += 1;
                        }
                    }
                }
            }
        }
    }
    u
}

/// With a prologue, every `stack_addr` of a slot after the first (in layout order) shares the
/// first one's register.
fn share_slot_addresses(f: &Function, order: &[Block], alias: &mut [Option<Value>]) {
    let nvals = f.values.len();
    let mut slot_root: Vec<Option<Value>> = vec![None; f.slots.len()];
    for &b in order {
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            if let (InstKind::StackAddr { slot }, Some(&res)) = (&d.kind, d.results.first()) {
                if let (Some(r), true) = (slot_root.get_mut(slot.index()), res.index() < nvals) {
                    match r {
                        Some(first) => alias[res.index()] = Some(*first),
                        None => *r = Some(res),
                    }
                }
            }
        }
    }
}

/// The end of `v`'s alias chain (a cycle is cut after `alias.len()` steps).
fn chain_root(alias: &[Option<Value>], mut v: Value) -> Value {
    let mut n = 0;
    while let Some(a) = alias.get(v.index()).copied().flatten() {
        v = a;
        n += 1;
        if n > alias.len() {
            break;
        }
    }
    v
}

/// Global value numbering over the dominator tree: a pure, non-trapping operation that repeats
/// a dominating one on the same operands shares its register (array indexing recomputes
/// `base + i * size` for every field access).
fn value_numbering(f: &Function, entry: Block, konst: &[Option<u64>], alias: &mut [Option<Value>]) {
    let nvals = f.values.len();
    let nblocks = f.blocks.len();
    let tyof = |v: Value| f.values.get(v).map(|d| d.ty);
    let cfg = sx_ir::cfg::Cfg::compute(f);
    let mut table: HashMap<String, Value> = HashMap::new();
    let mut stack: Vec<(Block, bool)> = vec![(entry, false)];
    let mut added: Vec<Vec<String>> = vec![Vec::new(); nblocks];
    while let Some((b, done)) = stack.pop() {
        if done {
            for k in std::mem::take(&mut added[b.index()]) {
                table.remove(&k);
            }
            continue;
        }
        if b.index() >= nblocks || !cfg.is_reachable(b) {
            continue;
        }
        stack.push((b, true));
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            let Some(&res) = d.results.first() else { continue };
            if d.results.len() != 1 || res.index() >= nvals {
                continue;
            }
            let key = match &d.kind {
                InstKind::Binary { op, a, b: bb } if !matches!(op, BinOp::Sdiv | BinOp::Udiv | BinOp::Srem | BinOp::Urem) => {
                    let (ra, rb) = (chain_root(alias, *a), chain_root(alias, *bb));
                    let (ka, kb) = (konst.get(a.index()).copied().flatten(), konst.get(bb.index()).copied().flatten());
                    // Constants are keyed by value (each `iconst` is its own SSA value).
                    let o = |r: Value, k: Option<u64>| match k {
                        Some(c) => format!("#{}", c),
                        None => format!("v{}", r.index()),
                    };
                    format!("{:?}|{:?}|{}|{}", op, tyof(res), o(ra, ka), o(rb, kb))
                }
                InstKind::Convert { op, a, to } => format!("cv{:?}|{:?}|v{}", op, to, chain_root(alias, *a).index()),
                _ => continue,
            };
            match table.get(&key) {
                Some(&v) if v != res => alias[res.index()] = Some(v),
                Some(_) => {}
                None => {
                    table.insert(key.clone(), res);
                    added[b.index()].push(key);
                }
            }
        }
        for &c in cfg.dom_children(b) {
            stack.push((c, false));
        }
    }
}

/// Values another value was merged into: they must keep their own computed register (no
/// offset or pair folding, no truncation elision).
fn merged_into(alias: &[Option<Value>]) -> Vec<bool> {
    let mut merged = vec![false; alias.len()];
    for a in alias.iter().flatten() {
        if let Some(m) = merged.get_mut(a.index()) {
            *m = true;
        }
    }
    merged
}

/// Address folding: `p = iadd q, c` whose every use is the address of a load or store is not
/// computed; the accesses use `q` with `c` added to their offset.
fn fold_address_offsets(
    f: &Function,
    order: &[Block],
    konst: &[Option<u64>],
    uses: &UseCounts,
    merged: &[bool],
    alias: &mut [Option<Value>],
    addr_off: &mut [i32],
) {
    let nvals = f.values.len();
    let tyof = |v: Value| f.values.get(v).map(|d| d.ty);
    for &b in order {
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            let Some(&res) = d.results.first() else { continue };
            let InstKind::Binary { op: BinOp::Iadd, a, b } = &d.kind else { continue };
            if res.index() >= nvals
                || alias[res.index()].is_some()
                || merged[res.index()]
                || uses.other[res.index()] != 0
                || uses.addr[res.index()].is_empty()
            {
                continue;
            }
            let k = |v: &Value| konst.get(v.index()).copied().flatten();
            let c = match (k(a), k(b)) {
                (_, Some(c)) => Some((*a, c)),
                (Some(c), None) => Some((*b, c)),
                _ => None,
            };
            if let Some((q, c)) = c {
                let fits = |o: &i32| (*o as i64).checked_add(c as i64).is_some_and(|x| i32::try_from(x).is_ok());
                if tyof(res) == Some(Type::I64) && tyof(q) == Some(Type::I64) && uses.addr[res.index()].iter().all(fits) {
                    alias[res.index()] = Some(q);
                    addr_off[res.index()] = c as i64 as i32;
                }
            }
        }
    }
}

/// Identity operations (`x + 0`, `x * 1`, zero extension, same-size bitcast, a truncation only
/// ever stored at its own width) produce the canonical bits — or the stored bytes — of their
/// operand: such a value shares its operand's register and emits nothing. Sound in SSA: a
/// register is written only at its value's definition (or, for a block parameter, on edges
/// into its block, which no use of an alias can be live across).
fn identity_aliases(f: &Function, konst: &[Option<u64>], uses: &UseCounts, merged: &[bool], alias: &mut [Option<Value>]) {
    let nvals = f.values.len();
    let tyof = |v: Value| f.values.get(v).map(|d| d.ty);
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = &f.insts[i];
            let Some(&res) = d.results.first() else { continue };
            if res.index() >= nvals || alias[res.index()].is_some() || d.results.len() != 1 {
                continue;
            }
            let src = match &d.kind {
                InstKind::Binary { op, a, b } => {
                    let (Some(ta), Some(tb), Some(tr)) = (tyof(*a), tyof(*b), tyof(res)) else { continue };
                    if ta.is_float() || ta != tr {
                        continue;
                    }
                    let kb = konst.get(b.index()).copied().flatten();
                    let ka = konst.get(a.index()).copied().flatten();
                    match (int_op(*op), ka, kb) {
                        (Some(IOp::Add | IOp::Sub | IOp::Or | IOp::Xor | IOp::Shl | IOp::Sshr | IOp::Ushr), _, Some(0)) => Some(*a),
                        (Some(IOp::Mul | IOp::Sdiv | IOp::Udiv), _, Some(1)) if ta == tb => Some(*a),
                        (Some(IOp::Add | IOp::Or | IOp::Xor), Some(0), _) if ta == tb => Some(*b),
                        (Some(IOp::Mul), Some(1), _) if ta == tb => Some(*b),
                        _ => None,
                    }
                }
                InstKind::Convert { op: ConvOp::Uext, a, to } => match tyof(*a) {
                    Some(from) if !from.is_float() && !to.is_float() && from.bytes() <= to.bytes() => Some(*a),
                    _ => None,
                },
                // A truncation only ever stored (at its own width) stores the same bytes as
                // its untruncated operand.
                InstKind::Convert { op: ConvOp::Trunc, a, to }
                    if !to.is_float()
                        && !merged[res.index()]
                        && uses.other[res.index()] == uses.store_val[res.index()]
                        && uses.addr[res.index()].is_empty() =>
                {
                    match tyof(*a) {
                        Some(from) if !from.is_float() => Some(*a),
                        _ => None,
                    }
                }
                InstKind::Convert { op: ConvOp::Bitcast, a, to } => match tyof(*a) {
                    Some(from) if from.bytes() == to.bytes() => Some(*a),
                    _ => None,
                },
                _ => None,
            };
            if let Some(src) = src {
                if src.index() < nvals && src != res {
                    alias[res.index()] = Some(src);
                }
            }
        }
    }
}

/// Roots of alias chains (a cycle, possible only in malformed IR, is cut).
fn alias_roots(alias: &mut [Option<Value>]) -> Vec<Value> {
    let nvals = alias.len();
    let mut root: Vec<Value> = (0..nvals).map(Value::new).collect();
    for v in 0..nvals {
        let mut r = Value::new(v);
        let mut n = 0;
        while let Some(a) = alias[r.index()] {
            r = a;
            n += 1;
            if n > nvals {
                alias[v] = None;
                r = Value::new(v);
                break;
            }
        }
        root[v] = r;
    }
    root
}

/// Two-register addresses: `p = iadd x, y` (64-bit, no constant) whose every use is the
/// address of a load or store at offset 0 is not computed; the accesses add `x + y`.
fn address_pairs(f: &Function, konst: &[Option<u64>], uses: &UseCounts, merged: &[bool], plan: &Plan) -> Vec<Option<(Value, Value)>> {
    let nvals = f.values.len();
    let tyof = |v: Value| f.values.get(v).map(|d| d.ty);
    let mut pair: Vec<Option<(Value, Value)>> = vec![None; nvals];
    for (_, bd) in f.blocks.iter() {
        for &i in &bd.insts {
            let d = &f.insts[i];
            if let (InstKind::Binary { op: BinOp::Iadd, a, b }, Some(&res)) = (&d.kind, d.results.first()) {
                let k = |v: &Value| konst.get(v.index()).copied().flatten().is_some();
                if res.index() < nvals
                    && a.index() < nvals
                    && b.index() < nvals
                    && plan.alias[res.index()].is_none()
                    && !merged[res.index()]
                    && !k(a)
                    && !k(b)
                    && tyof(res) == Some(Type::I64)
                    && tyof(*a) == Some(Type::I64)
                    && tyof(*b) == Some(Type::I64)
                    && uses.other[res.index()] == 0
                    && !uses.addr[res.index()].is_empty()
                    && uses.addr[res.index()].iter().all(|o| *o == 0)
                {
                    pair[res.index()] = Some((plan.root_of(*a), plan.root_of(*b)));
                }
            }
        }
    }
    pair
}

/// Runs the value analyses: which values alias others, fold into addresses or pairs.
pub(super) fn plan(f: &Function, entry: Block, konst: &[Option<u64>]) -> Plan {
    let nvals = f.values.len();
    let (order, hoist) = block_layout(f, entry);
    let mut alias: Vec<Option<Value>> = vec![None; nvals];
    let mut addr_off: Vec<i32> = vec![0; nvals];
    let uses = use_counts(f);
    if hoist {
        share_slot_addresses(f, &order, &mut alias);
    }
    value_numbering(f, entry, konst, &mut alias);
    let merged = merged_into(&alias);
    fold_address_offsets(f, &order, konst, &uses, &merged, &mut alias, &mut addr_off);
    identity_aliases(f, konst, &uses, &merged, &mut alias);
    let root = alias_roots(&mut alias);
    let mut plan = Plan { entry, order, hoist, alias, addr_off, pair: Vec::new(), root };
    plan.pair = address_pairs(f, konst, &uses, &merged, &plan);
    plan
}

/// Registers of the frame: one per value that is not an alias (entry-block parameters first,
/// so a caller copies arguments into registers `0..n`), aliases share their root's.
pub(super) struct Registers {
    /// Register of each value.
    pub reg: Vec<R>,
    /// Registers holding parameters.
    pub num_params: u32,
    /// The scratch register for breaking parallel-move cycles (the last one).
    pub tmp: R,
}

/// Assigns registers (entry parameters first, then every other non-alias value in order).
pub(super) fn assign_registers(f: &Function, plan: &Plan) -> Result<Registers, String> {
    let nvals = f.values.len();
    let mut reg = vec![u32::MAX; nvals];
    let mut next = 0u32;
    for &p in &f.blocks[plan.entry].params {
        match reg.get_mut(p.index()) {
            Some(r) if *r == u32::MAX && plan.alias[p.index()].is_none() => {
                *r = next;
                next += 1;
            }
            _ => return err(f, "bad entry block parameter"),
        }
    }
    let num_params = next;
    if num_params as usize != f.sig.params.len() {
        return err(f, "entry block parameters do not match the signature");
    }
    for (v, r) in reg.iter_mut().enumerate() {
        if *r == u32::MAX && plan.alias[v].is_none() {
            *r = next;
            next += 1;
        }
    }
    for v in 0..nvals {
        if plan.alias[v].is_some() {
            reg[v] = reg[plan.root[v].index()];
        }
    }
    Ok(Registers { reg, num_params, tmp: next })
}

/// Use counts of alias roots (operands folded into immediates and alias definitions do not
/// count), and where each value is defined (block, index in the block).
pub(super) struct RootUses {
    /// Uses of each alias root.
    pub uses: Vec<u32>,
    /// Where each value is defined.
    pub def_at: Vec<Option<(Block, usize)>>,
}

/// Counts the uses of alias roots; `fold_of` says which operand an instruction folds into an
/// immediate.
pub(super) fn root_uses(f: &Function, plan: &Plan, fold_of: impl Fn(&InstKind) -> Option<Fold>) -> Result<RootUses, String> {
    let nvals = f.values.len();
    let mut uses = vec![0u32; nvals];
    let mut def_at: Vec<Option<(Block, usize)>> = vec![None; nvals];
    for (b, bd) in f.blocks.iter() {
        for (n, &i) in bd.insts.iter().enumerate() {
            let d = &f.insts[i];
            for &r in &d.results {
                if let Some(x) = def_at.get_mut(r.index()) {
                    *x = Some((b, n));
                }
            }
            if d.results.len() == 1 && plan.is_alias(d.results[0]) {
                continue;
            }
            let folded = fold_of(&d.kind).and_then(|fo| super::folded_operand(&d.kind, fo));
            let mut skipped = false;
            for v in d.kind.operands() {
                if !skipped && Some(v) == folded {
                    skipped = true;
                    continue;
                }
                match uses.get_mut(plan.root_of(v).index()) {
                    Some(u) => *u += 1,
                    None => return err(f, format!("reference to missing value {}", v)),
                }
            }
        }
    }
    Ok(RootUses { uses, def_at })
}

/// Coalescing: a value defined in a block only to be passed to the parameter `p` of the
/// block's closing jump is computed directly into `p`'s register, when nothing after its
/// definition in the block reads `p` (no copy on the edge then).
pub(super) fn coalesce_jump_args(f: &Function, plan: &Plan, ru: &RootUses, reg: &mut [R]) {
    let nvals = f.values.len();
    for (cb, bd) in f.blocks.iter() {
        let Some(&last) = bd.insts.last() else { continue };
        let InstKind::Jump { dest, args } = &f.insts[last].kind else { continue };
        let Some(dbd) = f.blocks.get(*dest) else { continue };
        if dbd.params.len() != args.len() {
            continue;
        }
        for (k, &a) in args.iter().enumerate() {
            let v = plan.root_of(a);
            let p = dbd.params[k];
            if v != a || p.index() >= nvals || plan.alias[p.index()].is_some() || ru.uses[v.index()] != 1 {
                continue;
            }
            let Some((vb, vn)) = ru.def_at[v.index()] else { continue };
            if vb != cb || vn + 1 >= bd.insts.len() {
                continue;
            }
            let vd = &f.insts[bd.insts[vn]];
            if matches!(vd.kind, InstKind::Iconst { .. } | InstKind::Fconst { .. }) || vd.results.len() != 1 {
                continue;
            }
            let pr = reg[p.index()];
            let reads = |o: Value| {
                reg.get(o.index()) == Some(&pr)
                    || plan.pair.get(o.index()).copied().flatten().is_some_and(|(x, y)| reg[x.index()] == pr || reg[y.index()] == pr)
            };
            let reads_p = bd.insts[vn + 1..].iter().any(|&j| {
                let ops = f.insts[j].kind.operands();
                if j == last {
                    ops.iter().enumerate().any(|(x, &o)| x != k && reads(o))
                } else {
                    ops.iter().any(|&o| reads(o))
                }
            });
            if !reads_p {
                reg[v.index()] = pr;
            }
        }
    }
}
