//! Function bodies: slots, blocks with parameters, instructions; then the value table, with
//! result types derived from the instructions.

use super::cursor::{Cursor, PResult, Pos};
use super::Symbols;
use crate::entity::EntityRef;
use crate::*;

/// An instruction as written, before its results have types.
struct RawInst {
    results: Vec<Value>,
    kind: InstKind,
    pos: Pos,
}

/// A block as written.
struct RawBlock {
    params: Vec<(Value, Type)>,
    insts: Vec<RawInst>,
    pos: Pos,
}

/// Parses the lines of a body up to and including the closing `}` into `f` (which has its
/// name and signature).
pub(super) fn parse_body(c: &mut Cursor, m: &Module, symbols: &Symbols, f: &mut Function) -> PResult<()> {
    let mut blocks: Vec<RawBlock> = Vec::new();
    loop {
        c.skip_lines();
        let pos = c.pos();
        if c.eat('}') {
            break;
        }
        if c.at_end() {
            return Err(pos.error("unterminated function body (expected `}`)"));
        }
        let w = c.peek_word();
        if let Some(n) = super::entity_number(w, "ss") {
            if !blocks.is_empty() {
                return Err(pos.error("stack slots must come before the first block"));
            }
            super::expect_number(pos, w, n, f.slots.len())?;
            c.word()?;
            c.expect('=')?;
            c.keyword("slot")?;
            let size = c.u32(u32::MAX)?;
            c.expect(',')?;
            c.keyword("align")?;
            let align = c.u32(u32::MAX)?;
            c.end_line()?;
            f.slots.push(SlotData { size, align });
        } else if w == "debug" {
            if !blocks.is_empty() {
                return Err(pos.error("debug variables must come before the first block"));
            }
            c.word()?;
            f.debug_vars.push(super::debug::parse_var(c)?);
        } else if let Some(n) = super::entity_number(w, "block") {
            super::expect_number(pos, w, n, blocks.len())?;
            c.word()?;
            blocks.push(RawBlock { params: block_params(c)?, insts: Vec::new(), pos });
        } else {
            let Some(block) = blocks.last_mut() else {
                return Err(pos.error(format!("expected a block header such as `block0():` or a slot, found {}", c.found())));
            };
            block.insts.push(parse_inst(c, symbols)?);
        }
    }
    build(m, f, blocks)
}

/// `(v0: i64, …):` and the end of the line.
fn block_params(c: &mut Cursor) -> PResult<Vec<(Value, Type)>> {
    c.expect('(')?;
    let mut params = Vec::new();
    if !c.eat(')') {
        loop {
            let v = c.value()?;
            c.expect(':')?;
            params.push((v, c.ty()?));
            if c.eat(')') {
                break;
            }
            c.expect(',')?;
        }
    }
    c.expect(':')?;
    c.end_line()?;
    Ok(params)
}

/// `addr+off` / `addr-off`.
fn address(c: &mut Cursor) -> PResult<(Value, i32)> {
    let addr = c.value()?;
    let pos = c.pos();
    let offset = c.signed_offset()?;
    let offset = i32::try_from(offset).map_err(|_| pos.error(format!("offset {} does not fit in 32 bits", offset)))?;
    Ok((addr, offset))
}

/// `a, b` (two comma-separated values).
fn two(c: &mut Cursor) -> PResult<(Value, Value)> {
    let a = c.value()?;
    c.expect(',')?;
    Ok((a, c.value()?))
}

/// `a, b, c`.
fn three(c: &mut Cursor) -> PResult<(Value, Value, Value)> {
    let (a, b) = two(c)?;
    c.expect(',')?;
    Ok((a, b, c.value()?))
}

/// `blockN(args)`.
fn destination(c: &mut Cursor) -> PResult<(Block, Vec<Value>)> {
    let b = Block(c.entity("block", "a block")?);
    c.expect('(')?;
    Ok((b, c.value_list()?))
}

/// A float literal: decimal, `inf`, `-inf`, `NaN`, or `0x` and the 16 hex digits of its bits.
fn float(c: &mut Cursor) -> PResult<f64> {
    let pos = c.pos();
    let text = c.token()?;
    let value = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(f64::from_bits),
        None => text.parse::<f64>().ok(),
    };
    value.ok_or_else(|| pos.error(format!("invalid float `{}`", text)))
}

/// One instruction line: results, opcode, operands, end of line.
fn parse_inst(c: &mut Cursor, symbols: &Symbols) -> PResult<RawInst> {
    let pos = c.pos();
    let mut results = Vec::new();
    if super::entity_number(c.peek_word(), "v").is_some() {
        loop {
            results.push(c.value()?);
            if c.eat('=') {
                break;
            }
            c.expect(',')?;
        }
    }
    let op_pos = c.pos();
    let word = c.word()?;
    let (op, suffix) = match word.split_once('.') {
        Some((op, ty)) => (op, Some(Type::from_name(ty).ok_or_else(|| op_pos.error(format!("unknown type `{}` in `{}`", ty, word)))?)),
        None => (word, None),
    };
    let typed = |want: bool| -> PResult<Type> {
        match (suffix, want) {
            (Some(t), true) => Ok(t),
            (None, true) => Err(op_pos.error(format!("`{}` needs a type suffix such as `{}.i64`", op, op))),
            (_, false) => Err(op_pos.error(format!("`{}` takes no type suffix", op))),
        }
    };
    if suffix.is_some() && !matches!(op, "iconst" | "fconst" | "load" | "atomic_load") && ConvOp::from_name(op).is_none() {
        typed(false)?;
    }
    let kind = if let Some(op) = BinOp::from_name(op) {
        let (a, b) = two(c)?;
        InstKind::Binary { op, a, b }
    } else if let Some(op) = UnOp::from_name(op) {
        InstKind::Unary { op, a: c.value()? }
    } else if let Some(conv) = ConvOp::from_name(op) {
        let to = typed(true)?;
        InstKind::Convert { op: conv, a: c.value()?, to }
    } else {
        parse_other_inst(c, symbols, op, op_pos, typed)?
    };
    c.end_line()?;
    Ok(RawInst { results, kind, pos })
}

/// The instructions with their own syntax (everything but binary, unary and conversion ops).
fn parse_other_inst(c: &mut Cursor, symbols: &Symbols, op: &str, op_pos: Pos, typed: impl Fn(bool) -> PResult<Type>) -> PResult<InstKind> {
    Ok(match op {
        "iconst" => InstKind::Iconst { ty: typed(true)?, imm: c.int()? },
        "fconst" => InstKind::Fconst { ty: typed(true)?, value: float(c)? },
        "icmp" | "fcmp" => {
            let pos = c.pos();
            let cc = c.word()?;
            let (a, b) = two(c)?;
            if op == "icmp" {
                let cc = IntCC::from_name(cc).ok_or_else(|| pos.error(format!("unknown integer condition `{}`", cc)))?;
                InstKind::Icmp { cc, a, b }
            } else {
                let cc = FloatCC::from_name(cc).ok_or_else(|| pos.error(format!("unknown float condition `{}`", cc)))?;
                InstKind::Fcmp { cc, a, b }
            }
        }
        "select" => {
            let (cond, a, b) = three(c)?;
            InstKind::Select { cond, a, b }
        }
        "load" => {
            let ty = typed(true)?;
            let (addr, offset) = address(c)?;
            InstKind::Load { ty, addr, offset }
        }
        "store" => {
            let (addr, offset) = address(c)?;
            c.expect(',')?;
            InstKind::Store { addr, offset, value: c.value()? }
        }
        "atomic_load" => {
            let ty = typed(true)?;
            let order = ordering(c)?;
            InstKind::AtomicLoad { ty, addr: c.value()?, order }
        }
        "atomic_store" => {
            let order = ordering(c)?;
            let (addr, value) = two(c)?;
            InstKind::AtomicStore { addr, value, order }
        }
        "atomic_rmw" => {
            let pos = c.pos();
            let word = c.word()?;
            let op = RmwOp::from_name(word).ok_or_else(|| pos.error(format!("unknown read-modify-write operator `{}`", word)))?;
            let order = ordering(c)?;
            let (addr, value) = two(c)?;
            InstKind::AtomicRmw { op, addr, value, order }
        }
        "atomic_cas" => {
            let success = ordering(c)?;
            let failure = ordering(c)?;
            let (addr, expected, desired) = three(c)?;
            InstKind::AtomicCas { addr, expected, desired, success, failure }
        }
        "fence" => InstKind::Fence { order: ordering(c)? },
        "stack_addr" => InstKind::StackAddr { slot: Slot(c.entity("ss", "a stack slot")?) },
        "data_addr" => InstKind::DataAddr { data: DataId(c.entity("data", "a data object")?) },
        "func_addr" => InstKind::FuncAddr { func: symbols.func(c)? },
        "call" => {
            let func = symbols.func(c)?;
            c.expect('(')?;
            InstKind::Call { func, args: c.value_list()? }
        }
        "call_extern" => {
            let ext = symbols.ext(c)?;
            c.expect('(')?;
            InstKind::CallExtern { ext, args: c.value_list()? }
        }
        "call_indirect" => {
            let sig = c.signature()?;
            let callee = c.value()?;
            c.expect('(')?;
            InstKind::CallIndirect { sig, callee, args: c.value_list()? }
        }
        "memcopy" => {
            let (dst, src, len) = three(c)?;
            InstKind::MemCopy { dst, src, len }
        }
        "memfill" => {
            let (dst, byte, len) = three(c)?;
            InstKind::MemFill { dst, byte, len }
        }
        "jump" => {
            let (dest, args) = destination(c)?;
            InstKind::Jump { dest, args }
        }
        "brif" => {
            let cond = c.value()?;
            c.expect(',')?;
            let (then_dest, then_args) = destination(c)?;
            c.expect(',')?;
            let (else_dest, else_args) = destination(c)?;
            InstKind::Branch { cond, then_dest, then_args, else_dest, else_args }
        }
        "return" => {
            let mut values = Vec::new();
            if !c.at_line_end() {
                values.push(c.value()?);
                while c.eat(',') {
                    values.push(c.value()?);
                }
            }
            InstKind::Return { values }
        }
        "trap" => {
            let pos = c.pos();
            let code = match c.word()? {
                "unreachable" => TrapCode::Unreachable,
                "user" => TrapCode::User(c.uint(u64::from(u16::MAX))? as u16),
                w => return Err(pos.error(format!("expected `unreachable` or `user N`, found `{}`", w))),
            };
            InstKind::Trap { code }
        }
        _ => return Err(op_pos.error(format!("unknown instruction `{}`", op))),
    })
}

/// An atomic ordering (`relaxed`, `acquire`, `release`, `acq_rel`, `seq_cst`).
fn ordering(c: &mut Cursor) -> PResult<AtomicOrdering> {
    let pos = c.pos();
    let word = c.word()?;
    AtomicOrdering::from_name(word).ok_or_else(|| pos.error(format!("unknown atomic ordering `{}`", word)))
}

/// What is known about a value while the body is assembled.
#[derive(Clone, Copy)]
struct Def {
    def: ValueDef,
    ty: Option<Type>,
}

/// Fills `f`'s tables from the parsed blocks: instructions numbered in text order, values with
/// the numbers written, result types derived (see [`InstKind::result_types`]), placeholders
/// for numbers never defined.
fn build(m: &Module, f: &mut Function, blocks: Vec<RawBlock>) -> PResult<()> {
    let mut defs: Vec<Option<Def>> = Vec::new();
    let mut define = |v: Value, def: ValueDef, ty: Option<Type>, pos: Pos| -> PResult<()> {
        if defs.len() <= v.index() {
            defs.resize(v.index() + 1, None);
        }
        if defs[v.index()].is_some() {
            return Err(pos.error(format!("{} is defined twice", v)));
        }
        defs[v.index()] = Some(Def { def, ty });
        Ok(())
    };
    let mut insts: Vec<RawInst> = Vec::new();
    for (b, raw) in blocks.into_iter().enumerate() {
        let block = Block::new(b);
        for (k, &(v, ty)) in raw.params.iter().enumerate() {
            define(v, ValueDef::Param(block, k as u32), Some(ty), raw.pos)?;
        }
        let mut data = BlockData { params: raw.params.iter().map(|&(v, _)| v).collect(), insts: Vec::new() };
        for inst in raw.insts {
            let id = Inst::new(insts.len());
            let want = inst.kind.result_types(m, |_| Some(Type::I64)).map(|t| t.as_slice().len()).unwrap_or(inst.results.len());
            if want != inst.results.len() {
                return Err(inst.pos.error(format!("this instruction produces {} result(s), {} named", want, inst.results.len())));
            }
            for (k, &r) in inst.results.iter().enumerate() {
                define(r, ValueDef::Result(id, k as u32), None, inst.pos)?;
            }
            data.insts.push(id);
            insts.push(inst);
        }
        f.blocks.push(data);
    }
    // Operands may be defined later in the text (a block that comes later may dominate): derive
    // types until nothing changes.
    let mut unknown: Vec<usize> = (0..insts.len()).collect();
    loop {
        let before = unknown.len();
        unknown.retain(|&n| {
            let inst = &insts[n];
            let ty_of = |v: Value| defs.get(v.index()).copied().flatten().and_then(|d| d.ty);
            let Some(tys) = inst.kind.result_types(m, ty_of) else { return true };
            for (&r, &ty) in inst.results.iter().zip(tys.as_slice()) {
                if let Some(Some(d)) = defs.get_mut(r.index()) {
                    d.ty = Some(ty);
                }
            }
            false
        });
        if unknown.is_empty() || unknown.len() == before {
            break;
        }
    }
    // Operands that are never defined: extend the table so every reference is in range.
    let mut count = defs.len();
    for inst in &insts {
        for v in inst.kind.operands() {
            count = count.max(v.index() + 1);
        }
    }
    defs.resize(count, None);
    for inst in insts {
        f.insts.push(InstData { kind: inst.kind, results: inst.results, span: None });
    }
    // Numbers never defined become results of one placeholder instruction that is in no block.
    let filler = f.insts.next_key();
    let mut gaps = Vec::new();
    for (n, d) in defs.into_iter().enumerate() {
        let data = match d {
            Some(d) => ValueData { ty: d.ty.unwrap_or(Type::I64), def: d.def },
            None => {
                gaps.push(Value::new(n));
                ValueData { ty: Type::I64, def: ValueDef::Result(filler, gaps.len() as u32 - 1) }
            }
        };
        f.values.push(data);
    }
    if !gaps.is_empty() {
        f.insts.push(InstData { kind: InstKind::Trap { code: TrapCode::Unreachable }, results: gaps, span: None });
    }
    Ok(())
}
