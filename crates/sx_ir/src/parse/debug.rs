//! The debug tables' lines: `dtN = debug_type …` (module level) and `debug param|local …`
//! (in a function, after its slots).

use super::cursor::{Cursor, PResult};
use crate::debug::*;
use crate::Slot;

/// A debug type reference `dtN`.
fn type_ref(c: &mut Cursor) -> PResult<DebugTypeId> {
    c.entity("dt", "a debug type").map(DebugTypeId)
}

/// `= debug_type NAME SHAPE` (after `dtN`).
pub(super) fn parse_type(c: &mut Cursor) -> PResult<DebugType> {
    c.expect('=')?;
    c.keyword("debug_type")?;
    let name = c.name()?;
    let pos = c.pos();
    let kind = match c.word()? {
        "scalar" => {
            let pos = c.pos();
            let w = c.word()?;
            let encoding = ScalarEncoding::from_name(w)
                .ok_or_else(|| pos.error(format!("expected signed, unsigned, float, bool or char, found `{}`", w)))?;
            DebugTypeKind::Scalar { encoding, size: c.u32(u32::MAX)? }
        }
        "pointer" => {
            if c.peek_word() == "void" {
                c.word()?;
                DebugTypeKind::Pointer { pointee: None }
            } else {
                DebugTypeKind::Pointer { pointee: Some(type_ref(c)?) }
            }
        }
        "struct" => {
            let size = c.uint(u64::MAX >> 1)?;
            let mut fields = Vec::new();
            while !c.at_line_end() {
                c.keyword("field")?;
                let name = c.name()?;
                let ty = type_ref(c)?;
                c.expect('@')?;
                let offset = c.uint(u64::MAX >> 1)?;
                fields.push(DebugField { name, offset, ty });
            }
            DebugTypeKind::Struct { size, fields }
        }
        "array" => {
            let elem = type_ref(c)?;
            DebugTypeKind::Array { elem, count: c.uint(u64::MAX >> 1)? }
        }
        "enum" => {
            let pos = c.pos();
            let signed = match c.word()? {
                "signed" => true,
                "unsigned" => false,
                w => return Err(pos.error(format!("expected signed or unsigned, found `{}`", w))),
            };
            let size = c.u32(u32::MAX)?;
            let mut variants = Vec::new();
            while !c.at_line_end() {
                c.keyword("variant")?;
                let name = c.name()?;
                variants.push((name, c.int()?));
            }
            DebugTypeKind::Enum { size, signed, variants }
        }
        "opaque" => DebugTypeKind::Opaque { size: c.uint(u64::MAX >> 1)? },
        w => return Err(pos.error(format!("expected scalar, pointer, struct, array, enum or opaque, found `{}`", w))),
    };
    c.end_line()?;
    Ok(DebugType { name, kind })
}

/// `param|local NAME ssN dtM [ref]` (after `debug`).
pub(super) fn parse_var(c: &mut Cursor) -> PResult<DebugVar> {
    let pos = c.pos();
    let kind = match c.word()? {
        "param" => DebugVarKind::Param,
        "local" => DebugVarKind::Local,
        w => return Err(pos.error(format!("expected `param` or `local`, found `{}`", w))),
    };
    let name = c.name()?;
    let slot = Slot(c.entity("ss", "a stack slot")?);
    let ty = type_ref(c)?;
    let by_ref = c.peek_word() == "ref";
    if by_ref {
        c.word()?;
    }
    c.end_line()?;
    Ok(DebugVar { name, kind, slot, by_ref, ty, span: None, scope: None })
}
