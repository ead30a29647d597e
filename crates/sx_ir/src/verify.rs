//! The IR verifier: structural and type invariants every back end relies on.
//!
//! Checked: every block ends in exactly one terminator and has none before it; every operand is a
//! value of this function; in blocks reachable from the entry every definition dominates its
//! uses (a block's parameters dominate the block; an instruction's results dominate what follows
//! it), while in unreachable blocks (which no back end translates) a value defined in the same
//! block must be defined before its use; values' recorded definitions match where they are; branch
//! arguments match the destination's parameters in count and type; binary operands agree in type;
//! loads/stores/addresses use the pointer type; atomic read-modify-writes and compare-and-swaps
//! work on integers, and every atomic ordering is one its operation allows; calls match their callee signatures; returns match
//! the function signature; results have the types the instruction produces (see
//! [`InstKind::result_types`]); referenced functions, data, externs and slots exist.

use crate::entity::EntityRef;
use crate::*;

/// Verifies every defined function of `m`. Returns the list of problems (empty = valid).
pub fn verify_module(m: &Module) -> Vec<String> {
    let mut errs = Vec::new();
    for (_, f) in m.funcs.iter() {
        if f.is_defined() {
            verify_function(m, f, &mut errs);
        }
        crate::debug::var_problems(&m.debug_types, f, &mut errs);
    }
    crate::debug::type_problems(&m.debug_types, &mut errs);
    if let Some(e) = m.entry {
        if m.funcs.get(e).is_none() {
            errs.push(format!("entry {} does not exist", e));
        }
    }
    for (id, e) in m.externs.iter() {
        for b in &e.byval {
            if e.sig.params.get(b.param as usize) != Some(&m.pointer_type()) || b.size == 0 || b.size % 8 != 0 {
                errs.push(format!("{}: by-value parameter {} is not a pointer parameter with a size in whole eightbytes", id, b.param));
            }
        }
    }
    for (id, d) in m.datas.iter() {
        for r in &d.relocs {
            if r.offset as usize + m.pointer_bytes() as usize > d.bytes.len() {
                errs.push(format!("{}: relocation at {} past the end", id, r.offset));
            }
            let ok = match r.target {
                RelocTarget::Data(x) => m.datas.get(x).is_some(),
                RelocTarget::Func(x) => m.funcs.get(x).is_some(),
            };
            if !ok {
                errs.push(format!("{}: relocation to a missing target", id));
            }
        }
    }
    errs
}

/// Verifies the function `f` against the declarations of `m` (which need not contain it, e.g.
/// while a pass holds it). Returns the list of problems (empty = valid).
pub fn verify_function_in(m: &Module, f: &Function) -> Vec<String> {
    let mut errs = Vec::new();
    if f.is_defined() {
        verify_function(m, f, &mut errs);
    }
    errs
}

/// `(i32, i64)`.
fn types(tys: &[Type]) -> String {
    format!("({})", tys.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "))
}

/// `result 0 of i3` / `parameter 1 of block2`.
fn def_text(def: ValueDef) -> String {
    match def {
        ValueDef::Result(i, n) => format!("result {} of {}", n, i),
        ValueDef::Param(b, n) => format!("parameter {} of {}", n, b),
    }
}

fn verify_function(m: &Module, f: &Function, errs: &mut Vec<String>) {
    let before = errs.len();
    verify_structure(m, f, errs);
    if errs.len() == before {
        verify_dominance(f, errs);
    }
}

/// Definitions must dominate their uses (see the module docs).
fn verify_dominance(f: &Function, errs: &mut Vec<String>) {
    let name = &f.name;
    let mut err = |s: String| errs.push(format!("{}: {}", name, s));
    // Where each instruction sits, and whether the recorded definitions are consistent.
    let mut pos: Vec<(u32, u32)> = vec![(u32::MAX, 0); f.insts.len()];
    for (b, bd) in f.blocks.iter() {
        for (n, &p) in bd.params.iter().enumerate() {
            if f.values[p].def != ValueDef::Param(b, n as u32) {
                err(format!("{} is parameter {} of {} but records {}", p, n, b, def_text(f.values[p].def)));
                return;
            }
        }
        for (n, &i) in bd.insts.iter().enumerate() {
            if pos[i.index()].0 != u32::MAX {
                err(format!("{} appears twice", i));
                return;
            }
            pos[i.index()] = (b.0, n as u32);
            for (k, &r) in f.insts[i].results.iter().enumerate() {
                if f.values[r].def != ValueDef::Result(i, k as u32) {
                    err(format!("{} is result {} of {} but records {}", r, k, i, def_text(f.values[r].def)));
                    return;
                }
            }
        }
    }
    let cfg = crate::cfg::Cfg::compute(f);
    for (b, bd) in f.blocks.iter() {
        let reachable = cfg.is_reachable(b);
        for (n, &i) in bd.insts.iter().enumerate() {
            let mut violation = None;
            f.insts[i].kind.for_each_operand(|v| {
                if violation.is_some() {
                    return;
                }
                let (db, dn) = match f.values[v].def {
                    ValueDef::Param(db, _) => (db, None),
                    ValueDef::Result(di, _) => {
                        let (db, dn) = pos[di.index()];
                        (Block(db), Some(dn))
                    }
                };
                let ok = if db == b { dn.map(|dn| (dn as usize) < n).unwrap_or(true) } else { !reachable || cfg.dominates(db, b) };
                if !ok {
                    violation = Some((v, db));
                }
            });
            if let Some((v, db)) = violation {
                err(format!("{} in {} uses {} whose definition in {} does not dominate it", i, b, v, db));
                return;
            }
        }
    }
}

fn verify_structure(m: &Module, f: &Function, errs: &mut Vec<String>) {
    let ptr = m.pointer_type();
    let mut defined = vec![false; f.values.len()];
    let name = &f.name;
    let mut err = |s: String| errs.push(format!("{}: {}", name, s));
    // Pass 0: every entity a block lists must exist (malformed IR must not panic below).
    for (b, bd) in f.blocks.iter() {
        if let Some(p) = bd.params.iter().find(|p| f.values.get(**p).is_none()) {
            err(format!("{} has parameter {} that is not a value of the function", b, p));
            return;
        }
        for &i in &bd.insts {
            let Some(d) = f.insts.get(i) else {
                err(format!("{} lists {} that is not an instruction of the function", b, i));
                return;
            };
            if let Some(r) = d.results.iter().find(|r| f.values.get(**r).is_none()) {
                err(format!("{} has result {} that is not a value of the function", i, r));
                return;
            }
        }
    }
    // Pass 1: which values have a definition at all.
    for (_, bd) in f.blocks.iter() {
        for &p in &bd.params {
            if let Some(d) = defined.get_mut(p.index()) {
                *d = true;
            }
        }
        for &i in &bd.insts {
            for &r in &f.insts[i].results {
                if let Some(d) = defined.get_mut(r.index()) {
                    *d = true;
                }
            }
        }
    }
    if let Some(entry) = f.entry() {
        let ps: Vec<Type> = f.blocks[entry].params.iter().map(|&v| f.values[v].ty).collect();
        if ps != f.sig.params {
            err(format!("entry block params {} differ from signature {}", types(&ps), types(&f.sig.params)));
        }
    }
    for (b, bd) in f.blocks.iter() {
        if bd.insts.is_empty() {
            err(format!("{} is empty", b));
            continue;
        }
        for (n, &i) in bd.insts.iter().enumerate() {
            let last = n + 1 == bd.insts.len();
            let k = &f.insts[i].kind;
            if k.is_terminator() != last {
                err(format!("{} in {}: terminator misplaced", i, b));
            }
            let mut undefined = None;
            k.for_each_operand(|v| {
                if undefined.is_none() && (v.index() >= f.values.len() || !defined[v.index()]) {
                    undefined = Some(v);
                }
            });
            if let Some(v) = undefined {
                err(format!("{} uses undefined {}", i, v));
                return;
            }
            let ty = |v: Value| f.values[v].ty;
            let check_args = |dest: Block, args: &[Value], err: &mut dyn FnMut(String)| match f.blocks.get(dest) {
                None => err(format!("{} jumps to missing {}", i, dest)),
                Some(d) => {
                    if d.params.len() != args.len() || d.params.iter().zip(args).any(|(&p, &a)| ty(p) != ty(a)) {
                        let want: Vec<Type> = d.params.iter().map(|&p| ty(p)).collect();
                        let got: Vec<Type> = args.iter().map(|&a| ty(a)).collect();
                        err(format!("{}: args {} do not match {} params {}", i, types(&got), dest, types(&want)));
                    }
                }
            };
            if let Some(want) = k.result_types(m, |v| Some(ty(v))) {
                let (res, want) = (&f.insts[i].results, want.as_slice());
                if res.len() != want.len() || res.iter().zip(want).any(|(&r, &t)| ty(r) != t) {
                    let got: Vec<Type> = res.iter().map(|&r| ty(r)).collect();
                    err(format!("{}: results {} should be {}", i, types(&got), types(want)));
                }
            }
            match k {
                InstKind::Binary { op, a, b } => {
                    let shift = matches!(op, BinOp::Shl | BinOp::Sshr | BinOp::Ushr);
                    if !shift && ty(*a) != ty(*b) {
                        err(format!("{}: operand types differ", i));
                    }
                    let float_op = matches!(op, BinOp::Fadd | BinOp::Fsub | BinOp::Fmul | BinOp::Fdiv);
                    if float_op != ty(*a).is_float() {
                        err(format!("{}: {} on {}", i, op.name(), ty(*a).name()));
                    }
                }
                InstKind::Icmp { a, b, .. } => {
                    if ty(*a) != ty(*b) || ty(*a).is_float() {
                        err(format!("{}: icmp operand types", i));
                    }
                }
                InstKind::Fcmp { a, b, .. } => {
                    if ty(*a) != ty(*b) || !ty(*a).is_float() {
                        err(format!("{}: fcmp operand types", i));
                    }
                }
                InstKind::Select { a, b, .. } => {
                    if ty(*a) != ty(*b) {
                        err(format!("{}: select operand types differ", i));
                    }
                }
                InstKind::Load { addr, .. } | InstKind::Store { addr, .. } => {
                    if ty(*addr) != ptr {
                        err(format!("{}: address is not a pointer", i));
                    }
                }
                InstKind::AtomicLoad { addr, order, .. } => {
                    if ty(*addr) != ptr {
                        err(format!("{}: address is not a pointer", i));
                    }
                    if !order.valid_for_load() {
                        err(format!("{}: atomic load with ordering {}", i, order.name()));
                    }
                }
                InstKind::AtomicStore { addr, order, .. } => {
                    if ty(*addr) != ptr {
                        err(format!("{}: address is not a pointer", i));
                    }
                    if !order.valid_for_store() {
                        err(format!("{}: atomic store with ordering {}", i, order.name()));
                    }
                }
                InstKind::AtomicRmw { addr, value, .. } => {
                    if ty(*addr) != ptr {
                        err(format!("{}: address is not a pointer", i));
                    }
                    if ty(*value).is_float() {
                        err(format!("{}: atomic_rmw on {}", i, ty(*value).name()));
                    }
                }
                InstKind::AtomicCas { addr, expected, desired, failure, .. } => {
                    if ty(*addr) != ptr {
                        err(format!("{}: address is not a pointer", i));
                    }
                    if ty(*expected) != ty(*desired) || ty(*expected).is_float() {
                        err(format!("{}: atomic_cas operands must be integers of one type", i));
                    }
                    if !failure.valid_for_load() {
                        err(format!("{}: atomic_cas failure ordering {}", i, failure.name()));
                    }
                }
                InstKind::Fence { order } => {
                    if !order.valid_for_fence() {
                        err(format!("{}: fence with ordering {}", i, order.name()));
                    }
                }
                InstKind::StackAddr { slot } => {
                    if f.slots.get(*slot).is_none() {
                        err(format!("{}: missing {}", i, slot));
                    }
                }
                InstKind::DataAddr { data } => {
                    if m.datas.get(*data).is_none() {
                        err(format!("{}: missing {}", i, data));
                    }
                }
                InstKind::Call { func, args } => match m.funcs.get(*func) {
                    None => err(format!("{}: missing {}", i, func)),
                    Some(callee) => {
                        let got: Vec<Type> = args.iter().map(|&a| ty(a)).collect();
                        if got != callee.sig.params {
                            err(format!("{}: call {} args {} vs {}", i, callee.name, types(&got), types(&callee.sig.params)));
                        }
                    }
                },
                InstKind::CallExtern { ext, args } => match m.externs.get(*ext) {
                    None => err(format!("{}: missing {}", i, ext)),
                    Some(e) => {
                        let got: Vec<Type> = args.iter().map(|&a| ty(a)).collect();
                        if got != e.sig.params {
                            err(format!("{}: extern {} args {} vs {}", i, e.symbol, types(&got), types(&e.sig.params)));
                        }
                    }
                },
                InstKind::CallIndirect { sig, args, callee } => {
                    let got: Vec<Type> = args.iter().map(|&a| ty(a)).collect();
                    if got != sig.params || ty(*callee) != ptr {
                        err(format!("{}: indirect call args {} vs {} (callee must be a pointer)", i, types(&got), types(&sig.params)));
                    }
                }
                InstKind::Jump { dest, args } => check_args(*dest, args, &mut err),
                InstKind::Branch { then_dest, then_args, else_dest, else_args, .. } => {
                    check_args(*then_dest, then_args, &mut err);
                    check_args(*else_dest, else_args, &mut err);
                }
                InstKind::Return { values } => {
                    let got: Vec<Type> = values.iter().map(|&a| ty(a)).collect();
                    if got != f.sig.returns {
                        err(format!("{}: return {} vs signature {}", i, types(&got), types(&f.sig.returns)));
                    }
                }
                InstKind::FuncAddr { func } => {
                    if m.funcs.get(*func).is_none() {
                        err(format!("{}: missing {}", i, func));
                    }
                }
                InstKind::Iconst { .. }
                | InstKind::Fconst { .. }
                | InstKind::Unary { .. }
                | InstKind::Convert { .. }
                | InstKind::MemCopy { .. }
                | InstKind::MemFill { .. }
                | InstKind::Trap { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::FunctionBuilder;

    fn add_fn() -> Module {
        let mut m = Module::new(Target::X86_64Linux);
        let mut f = Function::new("add", Signature { params: vec![Type::I64, Type::I64], returns: vec![Type::I64] });
        {
            let mut b = FunctionBuilder::new(&mut f);
            let e = b.create_block();
            let x = b.append_block_param(e, Type::I64);
            let y = b.append_block_param(e, Type::I64);
            b.switch_to_block(e);
            let s = b.binary(BinOp::Iadd, x, y);
            b.ret(vec![s]);
        }
        m.funcs.push(f);
        m
    }

    #[test]
    fn valid_function_passes_and_prints() {
        let m = add_fn();
        assert!(verify_module(&m).is_empty(), "{:?}", verify_module(&m));
        let text = crate::print::print_module(&m);
        expect_test::expect![[r#"
            target x86_64-linux

            function add (i64, i64) -> (i64) {
            block0(v0: i64, v1: i64):
                v2 = iadd v0, v1
                return v2
            }
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn wrong_return_type_is_reported() {
        let mut m = add_fn();
        m.funcs[FuncId(0)].sig.returns = vec![Type::I32];
        let errs = verify_module(&m);
        assert!(errs.iter().any(|e| e.contains("return")), "{:?}", errs);
    }

    #[test]
    fn float_op_on_int_is_reported() {
        let mut m = add_fn();
        if let InstKind::Binary { op, .. } = &mut m.funcs[FuncId(0)].insts[Inst(0)].kind {
            *op = BinOp::Fadd;
        }
        assert!(!verify_module(&m).is_empty());
    }
}

#[cfg(test)]
mod malformed {
    use super::*;

    /// Found by the `vm` fuzz target: an instruction whose result is not a value of the
    /// function must be reported, not panic.
    #[test]
    fn out_of_range_result_is_reported() {
        let mut m = Module::new(Target::X86_64Linux);
        let mut f = Function::new("f", Signature::default());
        let b = f.blocks.push(BlockData::default());
        let i = f.insts.push(InstData { kind: InstKind::Return { values: vec![] }, results: vec![Value(0)], span: None });
        f.blocks[b].insts.push(i);
        m.funcs.push(f);
        assert!(!verify_module(&m).is_empty());
    }

    #[test]
    fn missing_inst_and_param_are_reported() {
        let mut m = Module::new(Target::X86_64Linux);
        let mut f = Function::new("f", Signature::default());
        let b = f.blocks.push(BlockData::default());
        f.blocks[b].insts.push(Inst(7));
        f.blocks[b].params.push(Value(3));
        m.funcs.push(f);
        assert!(!verify_module(&m).is_empty());
    }
}
