//! Decisions over types (floor 0): pure functions of the [`TypeTable`] that the lowering
//! modules consult before they emit anything — which implicit conversion applies
//! ([`coercion`]), how an untyped literal adapts to the type a context wants
//! ([`literal_coercion`]), promoted members of anonymous fields, and the codes of run-time type
//! records. Nothing here emits IR or reports a diagnostic.

use crate::syntax_facts::ANON_PREFIX;
use crate::*;

/// The field `name` reached through anonymous members of struct type `ty`: its byte offset
/// from the outer value, its type, and the index of the outer hidden field it lives in.
pub(crate) fn promoted_field(types: &TypeTable, ty: TypeId, name: &str) -> Option<(u64, TypeId, usize)> {
    let s = types.struct_of(ty)?;
    for (i, f) in s.fields.iter().enumerate() {
        if !f.name.starts_with(ANON_PREFIX) {
            continue;
        }
        if let Some(g) = types.struct_of(f.ty).and_then(|inner| inner.fields.iter().find(|g| g.name == name)) {
            return Some((f.offset + g.offset, g.ty, i));
        }
        if let Some((off, t, _)) = promoted_field(types, f.ty, name) {
            return Some((f.offset + off, t, i));
        }
    }
    None
}

/// Formats a float the way diagnostics show it.
pub(crate) fn fmt_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{:.1}", v)
    } else {
        format!("{}", v)
    }
}

/// Category codes stored in a record's `kind` (what a category `case` tests).
pub(crate) mod cat {
    pub const VOID: i64 = 0;
    pub const BOOL: i64 = 1;
    pub const INT: i64 = 2;
    pub const FLOAT: i64 = 3;
    pub const STRING: i64 = 4;
    pub const CSTRING: i64 = 5;
    pub const POINTER: i64 = 6;
    pub const MANY_POINTER: i64 = 7;
    pub const SLICE: i64 = 8;
    pub const ARRAY: i64 = 9;
    pub const STRUCT: i64 = 10;
    pub const UNION: i64 = 11;
    pub const ENUM: i64 = 12;
    pub const OPTIONAL: i64 = 13;
    pub const FUNC: i64 = 14;
    pub const TYPE: i64 = 15;
    pub const ANY: i64 = 16;
    pub const NORETURN: i64 = 17;
    pub const ERROR_SET: i64 = 18;
    pub const CLOSURE: i64 = 19;
    pub const VECTOR: i64 = 20;
}

/// Bits of a record's `flags`.
pub(crate) mod flag {
    /// A signed integer (or an enum with a signed backing type).
    pub const SIGNED: i64 = 1;
    /// A `#flags` enum.
    pub const FLAGS: i64 = 2;
    /// A tagged union (an enum whose variants carry payloads).
    pub const TAGGED: i64 = 4;
    /// A tuple (a struct of positional elements).
    pub const TUPLE: i64 = 8;
}

/// True when a function returning `ret` returns it through a hidden result pointer (an
/// aggregate; `void` and `noreturn` return nothing).
pub(crate) fn returns_via_sret(types: &TypeTable, ret: TypeId) -> bool {
    ret != bt::VOID && ret != bt::NORETURN && types.scalar(ret).is_none()
}
