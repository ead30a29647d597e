//! Decisions over types (floor 0): pure functions of the [`TypeTable`] that the lowering
//! modules consult before they emit anything — which implicit conversion applies
//! ([`coercion`]), how an untyped literal adapts to the type a context wants
//! ([`literal_coercion`]), promoted members of anonymous fields, and the codes of run-time type
//! records. Nothing here emits IR or reports a diagnostic.

use crate::consts::{int_range, wrap_int};
use crate::syntax_facts::ANON_PREFIX;
use crate::*;
use sx_types::TypeKind as TK;

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

/// The built-in implicit conversion from one type to another, decided from the two types
/// alone (conversions that need the compiler's tables — protocol erasure, closures, `any`,
/// failable widening, tuples — are decided by their own modules before or after this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Coercion {
    /// Same bits: the value only changes its static type (`[]u8` ↔ `string`, `*T` → `*void`,
    /// `*[N]T` → `[*]T`, equal function types).
    Retype,
    /// A numeric conversion (integer widening, `i64` to a narrower integer, int → float,
    /// `f32` ↔ `f64`).
    Numeric,
    /// `[N]T` → `[]T`: a slice over the array in place.
    ArrayToSlice(u64),
    /// `[N]T` → `[*]T`: the array's address.
    ArrayToManyPointer,
    /// Anything → `void`: the value is dropped.
    Discard,
    /// `T` → `?T` (the payload is coerced to `inner` first).
    WrapOptional { inner: TypeId },
    /// `?A` → `?B`: pointer-like optionals are retyped, others re-wrapped element-wise.
    OptionalToOptional { inner: TypeId, both_pointers: bool },
    /// Between anonymous structs of the same shape (field count and size).
    AnonymousStruct,
    /// None of the built-in rules applies.
    NoRule,
}

/// Why no implicit conversion exists (rendered by the caller, which knows the type names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CoercionError {
    /// An optional used where its payload (or another non-optional type) is wanted.
    OptionalNotUnwrapped,
}

/// Decides the built-in implicit conversion of a (non-constant) value of type `from` into
/// `to` — see [`Coercion`].
pub(crate) fn coercion(types: &TypeTable, from: TypeId, to: TypeId) -> Result<Coercion, CoercionError> {
    if from == to {
        return Ok(Coercion::Retype);
    }
    let pointer_optional = |t: TypeId| types.optional_inner(t).map(|i| types.is_pointer_like(i)).unwrap_or(false);
    if let Some(inner) = types.optional_inner(to) {
        return Ok(match types.optional_inner(from) {
            Some(_) => Coercion::OptionalToOptional { inner, both_pointers: pointer_optional(to) && pointer_optional(from) },
            None => Coercion::WrapOptional { inner },
        });
    }
    if types.optional_inner(from).is_some() && !matches!(types.kind(to), TK::Void) {
        return Err(CoercionError::OptionalNotUnwrapped);
    }
    Ok(match (types.kind(from), types.kind(to)) {
        (TK::Int { .. }, TK::Int { .. }) if int_widens(types, from, to) => Coercion::Numeric,
        // A value of the default literal types (`i64`, `f64`) converts implicitly to a
        // narrower integer / to `f32`, truncating, as the reference compiler does
        // (`total := 0; … return total;` from an `-> i32` function).
        (TK::Int { .. }, TK::Int { .. }) if from == bt::I64 => Coercion::Numeric,
        (TK::Float { bits: 64 }, TK::Float { bits: 32 }) => Coercion::Numeric,
        (TK::Int { .. }, TK::Float { .. }) => Coercion::Numeric,
        (TK::Float { bits: 32 }, TK::Float { bits: 64 }) => Coercion::Numeric,
        // A run-time float into an integer binding truncates toward zero (compile-time floats
        // are checked for integrality by `literal_coercion` first).
        (TK::Float { .. }, TK::Int { .. }) => Coercion::Numeric,
        (TK::Bool, TK::Bool) => Coercion::Retype,
        (TK::Pointer(a), TK::ManyPointer(b)) if a == b => Coercion::Retype,
        (TK::Pointer(a), TK::Pointer(b)) if *b == bt::VOID || *a == bt::VOID => Coercion::Retype,
        (TK::ManyPointer(_), TK::ManyPointer(b)) | (TK::ManyPointer(_), TK::Pointer(b)) if *b == bt::VOID => Coercion::Retype,
        (TK::Pointer(inner), TK::ManyPointer(b)) if matches!(types.kind(*inner), TK::Array(_, e) if e == b) => Coercion::Retype,
        (TK::Array(n, e), TK::Slice(se)) if e == se => Coercion::ArrayToSlice(*n),
        (TK::Array(_, e), TK::ManyPointer(b)) if e == b => Coercion::ArrayToManyPointer,
        (TK::String, TK::Slice(e)) if *e == bt::U8 => Coercion::Retype,
        (TK::Slice(e), TK::String) if *e == bt::U8 => Coercion::Retype,
        (TK::Func { params: p1, ret: r1 }, TK::Func { params: p2, ret: r2 }) if p1 == p2 && r1 == r2 => Coercion::Retype,
        (_, TK::Void) => Coercion::Discard,
        (TK::Struct(_), TK::Struct(_)) => match (types.struct_of(from), types.struct_of(to)) {
            (Some(a), Some(b))
                if a.anonymous && b.anonymous && !a.is_union && !b.is_union && a.fields.len() == b.fields.len() && a.size == b.size =>
            {
                Coercion::AnonymousStruct
            }
            _ => Coercion::NoRule,
        },
        _ => Coercion::NoRule,
    })
}

/// True when an integer of type `from` converts implicitly to integer type `to` (same
/// signedness and no narrower, or unsigned into a strictly wider signed type).
pub(crate) fn int_widens(types: &TypeTable, from: TypeId, to: TypeId) -> bool {
    let (TK::Int { bits: fb, signed: fs, .. }, TK::Int { bits: tb, signed: ts, .. }) = (types.kind(from), types.kind(to)) else {
        return false;
    };
    if fs == ts {
        tb >= fb
    } else if !fs && *ts {
        tb > fb
    } else {
        false
    }
}

/// How a compile-time constant adapts to the type a context wants.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LiteralCoercion {
    /// The constant, re-typed or converted (`1` as `u8`, `2` as `f32`, `null` as `*T`).
    Const(ConstVal),
    /// A string literal used as `[]u8`: materialise the string and retype it.
    StringBytes,
    /// The rules for constants do not apply; the value converts like a run-time value.
    NotLiteral,
}

/// Why a constant cannot take the wanted type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LiteralError {
    /// An untyped integer literal outside the target integer type's range.
    IntOutOfRange(i128),
    /// A float constant with a fractional part (or not finite) where an integer is wanted.
    NonIntegralFloat(f64),
    /// An integral float constant outside the target integer type's range.
    FloatOutOfRange(i128),
}

impl LiteralError {
    /// The diagnostic text, given the target type's name.
    pub fn message(&self, to: &str) -> String {
        match self {
            LiteralError::IntOutOfRange(v) => format!("integer literal {} does not fit in '{}'", v, to),
            LiteralError::NonIntegralFloat(v) => {
                format!("cannot convert non-integral float {} to '{}' without a cast", fmt_float(*v), to)
            }
            LiteralError::FloatOutOfRange(i) => format!("value {} does not fit in '{}'", i, to),
        }
    }
}

/// The untyped-literal rules: how constant `c` (of static type `from`) becomes a `to`.
/// An untyped integer takes any integer type it fits in, and any float type; a typed integer
/// constant widens like a value; an untyped float takes any float type, an `f64` constant also
/// `f32`; an integral float constant becomes an integer that can hold it; `null` becomes any
/// pointer, `cstring` or function; a string literal becomes a `cstring` or `[]u8`.
pub(crate) fn literal_coercion(types: &TypeTable, c: &ConstVal, from: TypeId, to: TypeId) -> Result<LiteralCoercion, LiteralError> {
    Ok(match (c, types.kind(to)) {
        (ConstVal::Int { v, ty }, TK::Int { bits, signed, .. }) if ty.is_none() || types.is_int(from) => {
            let (lo, hi) = int_range(*bits, *signed);
            if ty.is_none() && (*v < lo || *v > hi) {
                return Err(LiteralError::IntOutOfRange(*v));
            }
            if ty.is_none() || int_widens(types, from, to) {
                LiteralCoercion::Const(ConstVal::Int { v: wrap_int(*v, *bits, *signed), ty: Some(to) })
            } else {
                LiteralCoercion::NotLiteral
            }
        }
        (ConstVal::Int { v, .. }, TK::Float { .. }) => LiteralCoercion::Const(ConstVal::Float { v: *v as f64, ty: Some(to) }),
        (ConstVal::Float { v, ty }, TK::Float { bits }) if ty.is_none() || *bits == 64 => {
            LiteralCoercion::Const(ConstVal::Float { v: *v, ty: Some(to) })
        }
        (ConstVal::Float { v, .. }, TK::Int { bits, signed, .. }) => {
            if v.fract() != 0.0 || !v.is_finite() {
                return Err(LiteralError::NonIntegralFloat(*v));
            }
            let (lo, hi) = int_range(*bits, *signed);
            let i = *v as i128;
            if i < lo || i > hi {
                return Err(LiteralError::FloatOutOfRange(i));
            }
            LiteralCoercion::Const(ConstVal::Int { v: i, ty: Some(to) })
        }
        (ConstVal::Null, TK::Pointer(_) | TK::ManyPointer(_) | TK::Cstring | TK::Func { .. }) => LiteralCoercion::Const(ConstVal::Null),
        (ConstVal::Str(_), TK::Cstring) => LiteralCoercion::Const(c.clone()),
        (ConstVal::Str(_), TK::Slice(e)) if *e == bt::U8 => LiteralCoercion::StringBytes,
        _ => LiteralCoercion::NotLiteral,
    })
}
