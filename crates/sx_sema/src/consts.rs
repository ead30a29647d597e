//! Compile-time constant values and folding.

use crate::*;

/// A value known at compile time.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstVal {
    /// An integer; `ty: None` is an untyped literal (defaults to `i64`).
    Int {
        v: i128,
        ty: Option<TypeId>,
    },
    /// A float; `ty: None` is an untyped literal (defaults to `f64`).
    Float {
        v: f64,
        ty: Option<TypeId>,
    },
    Bool(bool),
    /// A string constant (content bytes).
    Str(Vec<u8>),
    /// `null`.
    Null,
    /// A type used as a value.
    Type(TypeId),
    /// A function.
    Func(FnId),
    /// An imported namespace.
    Namespace(FileIdx),
    /// A global variable.
    Global(sx_ir::DataId, TypeId),
    /// An aggregate constant baked into read-only static data.
    Data(sx_ir::DataId, TypeId),
    /// A compiler intrinsic (`print`, `size_of`, …) declared by the library.
    Intrinsic(String),
    /// A local variable of an enclosing function, seen from a nested function (which has no
    /// environment): using it is an error.
    EnclosingLocal,
    /// A parameterised struct (`S :: struct ($T: Type) {…}`), instantiated by `S(args)`.
    GenericStruct(u32),
    /// A compile-time pack `..$args` bound to the types of its elements (see `packs`).
    Pack(Vec<TypeId>),
}

impl ConstVal {
    /// The type of the value (untyped literals report their default type).
    pub fn ty(&self) -> TypeId {
        match self {
            ConstVal::Int { ty, .. } => ty.unwrap_or(bt::I64),
            ConstVal::Float { ty, .. } => ty.unwrap_or(bt::F64),
            ConstVal::Bool(_) => bt::BOOL,
            ConstVal::Str(_) => bt::STRING,
            ConstVal::Null => bt::VOID,
            ConstVal::Type(_) => bt::TYPE,
            ConstVal::Global(_, t) | ConstVal::Data(_, t) => *t,
            _ => bt::VOID,
        }
    }
    /// True for untyped numeric literals (they adapt to the type the context expects).
    pub fn is_untyped(&self) -> bool {
        matches!(self, ConstVal::Int { ty: None, .. } | ConstVal::Float { ty: None, .. })
    }
}

/// Range of an integer type of `bits` bits.
pub fn int_range(bits: u8, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// Wraps `v` to an integer of `bits` bits (two's complement), returned sign- or zero-extended.
pub fn wrap_int(v: i128, bits: u8, signed: bool) -> i128 {
    let mask: i128 = if bits >= 127 { -1 } else { (1i128 << bits) - 1 };
    let low = v & mask;
    if signed && bits < 128 && (low >> (bits - 1)) & 1 == 1 {
        low - (1i128 << bits)
    } else {
        low
    }
}

/// The little-endian bytes of a scalar constant of type `ty`, or `None`.
pub fn scalar_bytes(types: &TypeTable, c: &ConstVal, ty: TypeId) -> Option<Vec<u8>> {
    let size = types.size_of(ty) as usize;
    match (c, types.kind(ty)) {
        (ConstVal::Int { v, .. }, sx_types::TypeKind::Float { bits }) => {
            Some(if *bits == 32 { (*v as f32).to_le_bytes().to_vec() } else { (*v as f64).to_le_bytes().to_vec() })
        }
        (ConstVal::Int { v, .. }, _) => Some((*v as i64).to_le_bytes()[..size.min(8)].to_vec()),
        (ConstVal::Float { v, .. }, sx_types::TypeKind::Float { bits: 32 }) => Some((*v as f32).to_le_bytes().to_vec()),
        (ConstVal::Float { v, .. }, _) => Some(v.to_le_bytes().to_vec()),
        (ConstVal::Bool(b), _) => Some(vec![*b as u8]),
        (ConstVal::Null, _) => Some(vec![0; size]),
        (ConstVal::Type(t), _) => Some((t.0 as i64).to_le_bytes().to_vec()),
        _ => None,
    }
}

/// A compile-time count (a lane count, an `inline for` bound): an integer, or a float with no
/// fractional part (`F :: 4.0`).
pub(crate) fn count_value(c: &ConstVal) -> Option<i128> {
    match c {
        ConstVal::Int { v, .. } => Some(*v),
        ConstVal::Float { v, .. } if v.fract() == 0.0 && v.is_finite() && v.abs() < 1e18 => Some(*v as i128),
        _ => None,
    }
}

/// A hashable identity of a constant for memo tables (generic instances, parameterised
/// structs and protocols, type-function results): equal keys mean the same constant. Floats
/// are compared by their bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConstKey {
    Int(i128, Option<TypeId>),
    Float(u64, Option<TypeId>),
    Bool(bool),
    Str(Vec<u8>),
    Null,
    Type(TypeId),
    Func(FnId),
    Namespace(FileIdx),
    Global(sx_ir::DataId, TypeId),
    Data(sx_ir::DataId, TypeId),
    Intrinsic(String),
    EnclosingLocal,
    GenericStruct(u32),
    Pack(Vec<TypeId>),
}

impl ConstVal {
    /// The memo-table identity of this constant (see [`ConstKey`]).
    pub fn key(&self) -> ConstKey {
        match self {
            ConstVal::Int { v, ty } => ConstKey::Int(*v, *ty),
            ConstVal::Float { v, ty } => ConstKey::Float(v.to_bits(), *ty),
            ConstVal::Bool(b) => ConstKey::Bool(*b),
            ConstVal::Str(s) => ConstKey::Str(s.clone()),
            ConstVal::Null => ConstKey::Null,
            ConstVal::Type(t) => ConstKey::Type(*t),
            ConstVal::Func(f) => ConstKey::Func(*f),
            ConstVal::Namespace(f) => ConstKey::Namespace(*f),
            ConstVal::Global(d, t) => ConstKey::Global(*d, *t),
            ConstVal::Data(d, t) => ConstKey::Data(*d, *t),
            ConstVal::Intrinsic(n) => ConstKey::Intrinsic(n.clone()),
            ConstVal::EnclosingLocal => ConstKey::EnclosingLocal,
            ConstVal::GenericStruct(g) => ConstKey::GenericStruct(*g),
            ConstVal::Pack(ts) => ConstKey::Pack(ts.clone()),
        }
    }

    /// The identity of the value alone: numbers without their literal type (a type function
    /// called with `4` and with `4 as u8` gives one type).
    pub fn value_key(&self) -> ConstKey {
        match self.key() {
            ConstKey::Int(v, _) => ConstKey::Int(v, None),
            ConstKey::Float(v, _) => ConstKey::Float(v, None),
            other => other,
        }
    }
}

/// The memo key of a list of compile-time arguments.
pub fn args_key(args: &[ConstVal]) -> Vec<ConstKey> {
    args.iter().map(ConstVal::key).collect()
}
