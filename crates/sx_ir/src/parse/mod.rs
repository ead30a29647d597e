//! Reads the text IR that [`crate::print()`] writes back into a [`Module`].
//!
//! The format is line-oriented; `;` starts a comment that runs to the end of the line, blank
//! lines are ignored. Grammar sketch (`N` a decimal number, `NAME` a bare word of letters,
//! digits, `_`, `.`, `$` or a double-quoted string with `\"`, `\\`, `\n`, `\t`, `\u{…}`):
//!
//! ```text
//! module   := ["target" TARGET] ["entry" FUNC] item*           ; TARGET: x86_64-linux | aarch64-linux
//! item     := extern | data | dtype | function
//! extern   := "externN" "=" "extern" NAME sig ("byval(param" N "," N "bytes)")*
//! data     := "dataN" "=" ("const" | "global") NAME "size" N "align" N bytes reloc*
//! bytes    := "[" HEX* "]" | STRING                               ; a prefix: the rest is zero
//! reloc    := "reloc@" N "=" ("dataN" | FUNC) ("+" | "-") N        ; offset = target + addend
//! dtype    := "dtN" "=" "debug_type" NAME shape                  ; a type for debug information
//! shape    := "scalar" ("signed"|"unsigned"|"float"|"bool"|"char") SIZE | "pointer" ("dtN" | "void")
//!           | "struct" SIZE ("field" NAME "dtN" "@" N)* | "array" "dtN" COUNT
//!           | "enum" ("signed"|"unsigned") SIZE ("variant" NAME INT)* | "opaque" SIZE
//! function := "function" NAME sig ["export"] ["{" slot* dvar* block* "}"]   ; no braces: a declaration
//! dvar     := "debug" ("param"|"local") NAME "ssN" "dtN" ["ref"]   ; a variable in a slot (`ref`: its address)
//! sig      := "(" [TYPE ("," TYPE)*] ")" "->" "(" [TYPE ("," TYPE)*] ")"  ; TYPE: i8 … i64, f32, f64
//! slot     := "ssN" "=" "slot" SIZE "," "align" N
//! block    := "blockN" "(" [VALUE ":" TYPE ("," VALUE ":" TYPE)*] ")" ":" inst*
//! inst     := [VALUE ("," VALUE)* "="] OPCODE operands             ; one per line
//! FUNC     := NAME | "fnN"           EXTERN := NAME | "externN"    VALUE := "vN"
//! ```
//!
//! Instructions (`a`, `b`, `c` values, `T` a type, `addr±off` a value plus a byte offset):
//! `iconst.T INT`, `fconst.T FLOAT` (decimal, `inf`, `NaN`, or `0x` + the f64 bits),
//! `BINOP a, b` (`iadd isub imul sdiv udiv srem urem and or xor shl sshr ushr fadd fsub fmul
//! fdiv`), `UNOP a` (`ineg bnot fneg`), `icmp CC a, b` (`eq ne slt sle sgt sge ult ule ugt uge`),
//! `fcmp CC a, b` (`eq ne lt le gt ge`), `CONV.T a` (`sext uext trunc fpromote fdemote ftos ftou
//! stof utof bitcast`), `select c, a, b`, `load.T addr±off`, `store addr±off, a`,
//! `stack_addr ssN`, `data_addr dataN`, `func_addr FUNC`, `call FUNC(args)`,
//! `call_extern EXTERN(args)`, `call_indirect sig a(args)`, `memcopy dst, src, len`,
//! `memfill dst, byte, len`, `atomic_load.T ORD a`, `atomic_store ORD addr, a`,
//! `atomic_rmw RMW ORD addr, a` (`add sub and or xor smin smax umin umax xchg`),
//! `atomic_cas ORD ORD addr, expected, desired` (success, then failure ordering), `fence ORD`
//! (ORD: `relaxed acquire release acq_rel seq_cst`), `jump blockN(args)`, `brif c, blockN(args), blockM(args)`,
//! `return [a, …]`, `trap unreachable`, `trap user N`.
//!
//! Result types are not written: they follow from the instruction (its type suffix, the
//! callee's signature, the pointer type, or the first operand's type). Externs, data objects,
//! slots and blocks must be numbered in order of appearance; values keep the numbers written
//! (numbers that are never defined become unused placeholders). A function may be named before
//! its definition; an extern must be declared before it is called. Functions are referred to by
//! name, or by number (`fn3`) when the printer found the name ambiguous. References to missing
//! blocks, slots or data objects parse and are left to [`crate::verify()`] to report. Source spans
//! are not part of the text.

mod body;
mod cursor;
mod debug;

use crate::entity::EntityRef;
use crate::*;
pub use cursor::ParseError;
use cursor::{entity_number, Cursor, PResult, Pos};
use std::collections::HashMap;

/// The largest data object (in bytes) a text may declare.
const MAX_DATA_BYTES: u32 = 1 << 26;

/// Function and extern names, for resolving references.
struct Symbols {
    funcs: HashMap<String, Vec<FuncId>>,
    func_count: usize,
    externs: HashMap<String, Vec<ExternId>>,
}

impl Symbols {
    /// Resolves a function reference (`name`, `"name"` or `fnN`).
    fn func(&self, c: &mut Cursor) -> PResult<FuncId> {
        let pos = c.pos();
        let quoted = matches!(c.peek_after_blank(), Some('"'));
        let name = c.name()?;
        if !quoted {
            if let Some(n) = entity_number(&name, "fn") {
                return if (n as usize) < self.func_count { Ok(FuncId(n)) } else { Err(pos.error(format!("unknown function {}", name))) };
            }
        }
        resolve(&self.funcs, &name, pos, "function", "fn")
    }
    /// Resolves an extern reference (`symbol`, `"symbol"` or `externN`).
    fn ext(&self, c: &mut Cursor) -> PResult<ExternId> {
        let pos = c.pos();
        let quoted = matches!(c.peek_after_blank(), Some('"'));
        let name = c.name()?;
        if !quoted {
            if let Some(n) = entity_number(&name, "extern") {
                let known = self.externs.values().flatten().any(|&e| e == ExternId(n));
                return if known { Ok(ExternId(n)) } else { Err(pos.error(format!("unknown extern {}", name))) };
            }
        }
        resolve(&self.externs, &name, pos, "extern", "extern")
    }
}

fn resolve<K: Copy>(map: &HashMap<String, Vec<K>>, name: &str, pos: Pos, what: &str, prefix: &str) -> PResult<K> {
    match map.get(name).map(|v| v.as_slice()) {
        Some([one]) => Ok(*one),
        Some([_, _, ..]) => Err(pos.error(format!("{} name `{}` is ambiguous: refer to it by number ({}N)", what, name, prefix))),
        _ => Err(pos.error(format!("unknown {} `{}`", what, name))),
    }
}

/// `function NAME sig [export]` (after the keyword).
fn function_header(c: &mut Cursor) -> PResult<(String, Signature, Linkage)> {
    let name = c.name()?;
    let sig = c.signature()?;
    let linkage = if c.peek_word() == "export" {
        c.word()?;
        Linkage::Export
    } else {
        Linkage::Local
    };
    Ok((name, sig, linkage))
}

/// Every function header of the text, in order, so bodies can call functions defined later.
/// Malformed headers are skipped here; the main pass reports them.
fn function_headers(text: &str) -> Vec<Function> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let rest = line.trim_start_matches([' ', '\t']);
        if !rest.starts_with("function") {
            continue;
        }
        let mut c = Cursor::at(text, start, n as u32 + 1);
        if c.word().ok() != Some("function") {
            continue;
        }
        if let Ok((name, sig, linkage)) = function_header(&mut c) {
            let mut f = Function::new(name, sig);
            f.linkage = linkage;
            out.push(f);
        }
    }
    out
}

/// Parses a module (see the module documentation for the format).
pub fn parse_module(text: &str) -> Result<Module, ParseError> {
    let mut m = Module::new(Target::X86_64Linux);
    let mut symbols = Symbols { funcs: HashMap::new(), func_count: 0, externs: HashMap::new() };
    for f in function_headers(text) {
        let id = m.funcs.push(f);
        symbols.funcs.entry(m.funcs[id].name.clone()).or_default().push(id);
    }
    symbols.func_count = m.funcs.len();
    let mut c = Cursor::at(text, 0, 1);
    c.skip_lines();
    if c.peek_word() == "target" {
        c.word()?;
        let pos = c.pos();
        let name = c.token()?;
        m.target = Target::from_name(name).ok_or_else(|| pos.error(format!("unknown target `{}`", name)))?;
        c.end_line()?;
    }
    let mut next_func = 0usize;
    loop {
        c.skip_lines();
        if c.at_end() {
            break;
        }
        let pos = c.pos();
        let w = c.word()?;
        if w == "entry" {
            m.entry = Some(symbols.func(&mut c)?);
            c.end_line()?;
        } else if w == "function" {
            let (name, sig, linkage) = function_header(&mut c)?;
            let id = FuncId::new(next_func);
            next_func += 1;
            let Some(f) = m.funcs.get(id) else { return Err(pos.error("function headers changed between passes")) };
            if f.name != name || f.sig != sig || f.linkage != linkage {
                return Err(pos.error("function headers changed between passes"));
            }
            if c.eat('{') {
                c.end_line()?;
                let mut f = Function::new(name, sig);
                f.linkage = linkage;
                body::parse_body(&mut c, &m, &symbols, &mut f)?;
                m.funcs[id] = f;
            }
            c.end_line()?;
        } else if let Some(n) = entity_number(w, "extern") {
            expect_number(pos, w, n, m.externs.len())?;
            let e = parse_extern(&mut c)?;
            let id = m.externs.push(e);
            symbols.externs.entry(m.externs[id].symbol.clone()).or_default().push(id);
        } else if let Some(n) = entity_number(w, "data") {
            expect_number(pos, w, n, m.datas.len())?;
            let d = parse_data(&mut c, &symbols)?;
            m.datas.push(d);
        } else if let Some(n) = entity_number(w, "dt") {
            expect_number(pos, w, n, m.debug_types.len())?;
            let t = debug::parse_type(&mut c)?;
            m.debug_types.push(t);
        } else if w == "target" {
            return Err(pos.error("`target` must come first"));
        } else {
            return Err(pos.error(format!("expected `function`, `externN =`, `dataN =`, `dtN =` or `entry`, found `{}`", w)));
        }
    }
    if next_func != m.funcs.len() {
        return Err(c.error("function headers changed between passes"));
    }
    Ok(m)
}

/// Entities are numbered in order: the next one must be `count`.
fn expect_number(pos: Pos, word: &str, n: u32, count: usize) -> PResult<()> {
    if n as usize == count {
        Ok(())
    } else {
        let prefix = word.trim_end_matches(|c: char| c.is_ascii_digit());
        Err(pos.error(format!("expected {}{} here: these are numbered in order", prefix, count)))
    }
}

/// `= extern NAME sig byval(param N, N bytes)*` (after `externN`).
fn parse_extern(c: &mut Cursor) -> PResult<ExternFunc> {
    c.expect('=')?;
    c.keyword("extern")?;
    let symbol = c.name()?;
    let sig = c.signature()?;
    let mut byval = Vec::new();
    while !c.at_line_end() {
        c.keyword("byval")?;
        c.expect('(')?;
        c.keyword("param")?;
        let param = c.u32(u32::MAX)?;
        c.expect(',')?;
        let size = c.u32(u32::MAX)?;
        c.keyword("bytes")?;
        c.expect(')')?;
        byval.push(ByvalParam { param, size });
    }
    c.end_line()?;
    Ok(ExternFunc { symbol, sig, byval })
}

/// `= (const|global) NAME size N align N bytes reloc*` (after `dataN`).
fn parse_data(c: &mut Cursor, symbols: &Symbols) -> PResult<Data> {
    c.expect('=')?;
    let pos = c.pos();
    let writable = match c.word()? {
        "const" => false,
        "global" => true,
        w => return Err(pos.error(format!("expected `const` or `global`, found `{}`", w))),
    };
    let name = c.name()?;
    c.keyword("size")?;
    let size = c.u32(MAX_DATA_BYTES)?;
    c.keyword("align")?;
    let align = c.u32(u32::MAX)?;
    c.skip_blank();
    let pos = c.pos();
    let mut bytes = match c.peek() {
        Some('[') => {
            c.expect('[')?;
            c.hex_bytes(size as usize)?
        }
        Some('"') => c.string()?.into_bytes(),
        _ => return Err(c.expected("`[` or a string with the initial bytes")),
    };
    if bytes.len() > size as usize {
        return Err(pos.error(format!("{} initial bytes do not fit in size {}", bytes.len(), size)));
    }
    bytes.resize(size as usize, 0);
    let mut relocs = Vec::new();
    while !c.at_line_end() {
        c.keyword("reloc")?;
        c.expect('@')?;
        let offset = c.u32(u32::MAX)?;
        c.expect('=')?;
        let target = match entity_number(c.peek_word(), "data") {
            Some(_) => RelocTarget::Data(DataId(c.entity("data", "a data object")?)),
            None => RelocTarget::Func(symbols.func(c)?),
        };
        let addend = c.signed_offset()?;
        relocs.push(Reloc { offset, target, addend });
    }
    c.end_line()?;
    Ok(Data { name, bytes, align, relocs, writable })
}

#[cfg(test)]
mod tests;
