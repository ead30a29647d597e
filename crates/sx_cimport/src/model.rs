//! The C declarations of one translation unit, as the translator understands them: types
//! (with typedef names and tags kept), records, enums, functions, variables and macros, plus
//! the C layout rules (LP64 or ILP32) the translator needs for `sizeof` and for checks.

use std::collections::HashMap;

/// Defines a typed index into a [`Table`].
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) struct $name(u32);

        impl TableIndex for $name {
            fn from_index(index: usize) -> Self {
                $name(u32::try_from(index).unwrap_or(u32::MAX))
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

/// A typed index.
pub(crate) trait TableIndex: Copy {
    /// The index for position `index`.
    fn from_index(index: usize) -> Self;
    /// The position this index names.
    fn index(self) -> usize;
}

/// A vector indexed by a typed id.
#[derive(Debug)]
pub(crate) struct Table<I, T> {
    items: Vec<T>,
    marker: std::marker::PhantomData<I>,
}

impl<I: TableIndex, T> Table<I, T> {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Table { items: Vec::new(), marker: std::marker::PhantomData }
    }
    /// Appends `item` and returns its id.
    pub(crate) fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::from_index(self.items.len() - 1)
    }
    /// Every id with its item, in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (I::from_index(i), t))
    }
}

impl<I: TableIndex, T> std::ops::Index<I> for Table<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: TableIndex, T> std::ops::IndexMut<I> for Table<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

id_type!(
    /// A struct or union.
    RecordId
);
id_type!(
    /// An enum type.
    EnumId
);
id_type!(
    /// A typedef.
    TypedefId
);

/// C integer types (the `char` variants stay apart: pointers to them become `[*]u8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntKind {
    Bool,
    Char,
    SChar,
    UChar,
    Short,
    UShort,
    Int,
    UInt,
    Long,
    ULong,
    LongLong,
    ULongLong,
}

/// C floating types the translator handles (others are [`CType::Unsupported`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatKind {
    Float,
    Double,
}

/// A C type. Qualifiers are dropped; typedef names, tags and enum types are kept as ids.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CType {
    Void,
    Int(IntKind),
    Float(FloatKind),
    Pointer(Box<CType>),
    /// Element type and length (`None`: `[]`, incomplete).
    Array(Box<CType>, Option<u64>),
    Function(Box<FnType>),
    Record(RecordId),
    Enum(EnumId),
    Typedef(TypedefId),
    /// A type sx has no spelling for; the text says why.
    Unsupported(String),
}

/// A function type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FnType {
    pub(crate) ret: CType,
    pub(crate) params: Vec<Param>,
    /// Ends in `...`.
    pub(crate) variadic: bool,
}

/// One parameter of a function type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Param {
    pub(crate) name: Option<String>,
    pub(crate) ty: CType,
}

/// Struct or union.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    Struct,
    Union,
}

/// One field of a record.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// `None`: an anonymous struct/union member whose fields are promoted.
    pub(crate) name: Option<String>,
    pub(crate) ty: CType,
}

/// A struct or union type.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) kind: RecordKind,
    pub(crate) tag: Option<String>,
    /// The typedef name of an untagged record (`typedef struct { … } div_t;`).
    pub(crate) typedef_name: Option<String>,
    /// `None` while the record is incomplete.
    pub(crate) fields: Option<Vec<Field>>,
    /// Why sx cannot reproduce the layout (bit-fields, `packed`, alignment attributes).
    pub(crate) layout_problem: Option<String>,
    /// Where the record is first mentioned (byte offset in the preprocessed text).
    pub(crate) offset: usize,
}

/// An enum type.
#[derive(Clone, Debug)]
pub(crate) struct Enum {
    pub(crate) tag: Option<String>,
    pub(crate) typedef_name: Option<String>,
    /// The enumerators with their values; empty while only forward-declared.
    pub(crate) enumerators: Vec<(String, i128)>,
    pub(crate) complete: bool,
    pub(crate) offset: usize,
}

/// A typedef.
#[derive(Clone, Debug)]
pub(crate) struct Typedef {
    pub(crate) name: String,
    pub(crate) ty: CType,
    pub(crate) offset: usize,
}

/// A function declaration.
#[derive(Clone, Debug)]
pub(crate) struct Function {
    pub(crate) name: String,
    pub(crate) ty: FnType,
    /// The symbol from `__asm__("name")`, when it differs from the C name.
    pub(crate) symbol: Option<String>,
    pub(crate) noreturn: bool,
    pub(crate) offset: usize,
}

/// An `extern` variable.
#[derive(Clone, Debug)]
pub(crate) struct Variable {
    pub(crate) name: String,
    pub(crate) ty: CType,
    pub(crate) symbol: Option<String>,
    pub(crate) offset: usize,
}

/// A declaration that reached the unit but cannot be translated at all.
#[derive(Clone, Debug)]
pub(crate) struct Rejected {
    pub(crate) name: String,
    pub(crate) reason: String,
    pub(crate) offset: usize,
}

/// An object-like or function-like macro as `cc -dD` printed it.
#[derive(Clone, Debug)]
pub(crate) struct Macro {
    pub(crate) body: String,
    pub(crate) function_like: bool,
    /// Defined by the compiler or on its command line (never emitted).
    pub(crate) builtin: bool,
    pub(crate) offset: usize,
}

/// Everything the collector found, in one place.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) records: Table<RecordId, Record>,
    pub(crate) enums: Table<EnumId, Enum>,
    pub(crate) typedefs: Table<TypedefId, Typedef>,
    pub(crate) functions: Vec<Function>,
    pub(crate) variables: Vec<Variable>,
    pub(crate) rejected: Vec<Rejected>,
    /// Enumerator name → (value, the enum's integer type, the enum).
    pub(crate) enumerators: HashMap<String, (i128, IntKind, EnumId)>,
    pub(crate) macros: HashMap<String, Macro>,
    pub(crate) typedef_by_name: HashMap<String, TypedefId>,
    pub(crate) struct_tags: HashMap<String, RecordId>,
    pub(crate) union_tags: HashMap<String, RecordId>,
    pub(crate) enum_tags: HashMap<String, EnumId>,
    /// Pointer width in bytes (8: LP64, 4: ILP32).
    pub(crate) pointer_bytes: u64,
}

/// Size and alignment in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) size: u64,
    pub(crate) align: u64,
}

impl Model {
    /// An empty model for a target with `pointer_bytes`-byte pointers.
    pub(crate) fn new(pointer_bytes: u64) -> Self {
        Model {
            records: Table::new(),
            enums: Table::new(),
            typedefs: Table::new(),
            functions: Vec::new(),
            variables: Vec::new(),
            rejected: Vec::new(),
            enumerators: HashMap::new(),
            macros: HashMap::new(),
            typedef_by_name: HashMap::new(),
            struct_tags: HashMap::new(),
            union_tags: HashMap::new(),
            enum_tags: HashMap::new(),
            pointer_bytes,
        }
    }

    /// Follows typedefs to the type they name (at most a bounded number of hops).
    pub(crate) fn resolve<'a>(&'a self, mut ty: &'a CType) -> &'a CType {
        for _ in 0..64 {
            let CType::Typedef(id) = ty else { return ty };
            ty = &self.typedefs[*id].ty;
        }
        ty
    }

    /// The function type `ty` names (through typedefs), if it is one.
    pub(crate) fn function_of(&self, ty: &CType) -> Option<FnType> {
        if let CType::Function(f) = self.resolve(ty) {
            Some((**f).clone())
        } else {
            None
        }
    }

    /// The integer type an enum is laid out as (GCC's rule: `unsigned int` when no value
    /// is negative, else `int`, widened to 64 bits when the values need it).
    pub(crate) fn enum_int(&self, id: EnumId) -> IntKind {
        let values = &self.enums[id].enumerators;
        let negative = values.iter().any(|(_, v)| *v < 0);
        if negative {
            if values.iter().all(|(_, v)| i32::try_from(*v).is_ok()) {
                IntKind::Int
            } else {
                IntKind::Long
            }
        } else if values.iter().all(|(_, v)| u32::try_from(*v).is_ok()) {
            IntKind::UInt
        } else {
            IntKind::ULong
        }
    }

    /// Size in bytes of an integer type.
    pub(crate) fn int_size(&self, k: IntKind) -> u64 {
        match k {
            IntKind::Bool | IntKind::Char | IntKind::SChar | IntKind::UChar => 1,
            IntKind::Short | IntKind::UShort => 2,
            IntKind::Int | IntKind::UInt => 4,
            IntKind::Long | IntKind::ULong => self.pointer_bytes,
            IntKind::LongLong | IntKind::ULongLong => 8,
        }
    }

    /// The C layout of `ty`, or `None` when it has none (incomplete, unsupported, a layout
    /// sx cannot reproduce, or a cycle in malformed input).
    pub(crate) fn layout(&self, ty: &CType) -> Option<Layout> {
        self.layout_depth(ty, 0)
    }

    fn layout_depth(&self, ty: &CType, depth: u32) -> Option<Layout> {
        if depth > 200 {
            return None;
        }
        let scalar = |n: u64| Some(Layout { size: n, align: n });
        match ty {
            CType::Void | CType::Function(_) | CType::Unsupported(_) => None,
            CType::Int(k) => scalar(self.int_size(*k)),
            CType::Float(FloatKind::Float) => scalar(4),
            CType::Float(FloatKind::Double) => Some(Layout { size: 8, align: if self.pointer_bytes == 4 { 4 } else { 8 } }),
            CType::Pointer(_) => scalar(self.pointer_bytes),
            CType::Array(elem, len) => {
                let e = self.layout_depth(elem, depth + 1)?;
                let n = (*len)?;
                Some(Layout { size: e.size.checked_mul(n)?, align: e.align })
            }
            CType::Enum(id) => {
                if !self.enums[*id].complete {
                    return None;
                }
                scalar(self.int_size(self.enum_int(*id)))
            }
            CType::Typedef(id) => self.layout_depth(&self.typedefs[*id].ty, depth + 1),
            CType::Record(id) => self.record_layout_depth(*id, depth + 1),
        }
    }

    /// The sx name of a named record (`struct_tag`, `union_tag`, or the typedef name of an
    /// untagged one), `None` for an anonymous one.
    pub(crate) fn record_name(&self, id: RecordId) -> Option<String> {
        let r = &self.records[id];
        let prefix = match r.kind {
            RecordKind::Struct => "struct_",
            RecordKind::Union => "union_",
        };
        match (&r.tag, &r.typedef_name) {
            (Some(tag), _) => Some(format!("{prefix}{tag}")),
            (None, Some(name)) => Some(name.clone()),
            (None, None) => None,
        }
    }

    /// Layout of a record, `None` if incomplete or not reproducible.
    pub(crate) fn record_layout(&self, id: RecordId) -> Option<Layout> {
        self.record_layout_depth(id, 0)
    }

    fn record_layout_depth(&self, id: RecordId, depth: u32) -> Option<Layout> {
        let r = &self.records[id];
        if r.layout_problem.is_some() {
            return None;
        }
        let fields = r.fields.as_ref()?;
        let mut size = 0u64;
        let mut align = 1u64;
        for (i, f) in fields.iter().enumerate() {
            let l = match (&f.ty, i + 1 == fields.len() && r.kind == RecordKind::Struct) {
                // A flexible array member: no size, but its alignment counts.
                (CType::Array(elem, None), true) => Layout { size: 0, align: self.layout_depth(elem, depth + 1)?.align },
                (ty, _) => self.layout_depth(ty, depth + 1)?,
            };
            align = align.max(l.align);
            match r.kind {
                RecordKind::Struct => size = round_up(size, l.align)?.checked_add(l.size)?,
                RecordKind::Union => size = size.max(l.size),
            }
        }
        Some(Layout { size: round_up(size, align)?, align })
    }

    /// Byte offsets of the fields of a reproducible record, in order (anonymous members too).
    #[cfg(test)]
    pub(crate) fn field_offsets(&self, id: RecordId) -> Option<Vec<u64>> {
        let r = &self.records[id];
        let fields = r.fields.as_ref()?;
        let mut out = Vec::with_capacity(fields.len());
        let mut size = 0u64;
        for f in fields {
            let l = match &f.ty {
                CType::Array(elem, None) => Layout { size: 0, align: self.layout(elem)?.align },
                ty => self.layout(ty)?,
            };
            match r.kind {
                RecordKind::Struct => {
                    let at = round_up(size, l.align)?;
                    out.push(at);
                    size = at.checked_add(l.size)?;
                }
                RecordKind::Union => out.push(0),
            }
        }
        Some(out)
    }
}

/// `n` rounded up to a multiple of `align` (a power of two or at least non-zero).
pub(crate) fn round_up(n: u64, align: u64) -> Option<u64> {
    if align == 0 {
        return Some(n);
    }
    n.checked_add(align - 1).map(|v| v / align * align)
}

impl IntKind {
    /// Whether the type is signed (`char` is signed on x86-64 System V).
    pub(crate) fn signed(self) -> bool {
        match self {
            IntKind::Char | IntKind::SChar | IntKind::Short | IntKind::Int | IntKind::Long | IntKind::LongLong => true,
            IntKind::Bool | IntKind::UChar | IntKind::UShort | IntKind::UInt | IntKind::ULong | IntKind::ULongLong => false,
        }
    }

    /// The conversion rank (C11 6.3.1.1), larger is wider.
    pub(crate) fn rank(self) -> u8 {
        match self {
            IntKind::Bool => 0,
            IntKind::Char | IntKind::SChar | IntKind::UChar => 1,
            IntKind::Short | IntKind::UShort => 2,
            IntKind::Int | IntKind::UInt => 3,
            IntKind::Long | IntKind::ULong => 4,
            IntKind::LongLong | IntKind::ULongLong => 5,
        }
    }

    /// The unsigned type of the same rank.
    pub(crate) fn to_unsigned(self) -> IntKind {
        match self {
            IntKind::Bool => IntKind::Bool,
            IntKind::Char | IntKind::SChar | IntKind::UChar => IntKind::UChar,
            IntKind::Short | IntKind::UShort => IntKind::UShort,
            IntKind::Int | IntKind::UInt => IntKind::UInt,
            IntKind::Long | IntKind::ULong => IntKind::ULong,
            IntKind::LongLong | IntKind::ULongLong => IntKind::ULongLong,
        }
    }
}
