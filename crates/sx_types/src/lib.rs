//! sx types and their target layout.
//!
//! Owns: the [`TypeTable`] interner (structural types are hash-consed, structs are nominal), type
//! names as `print` and diagnostics spell them, and [`TypeTable::size_of`] / `align_of` / field
//! offsets computed for a [`sx_ir::Target`] (C-compatible layout). The back ends never compute a
//! layout: they see only byte offsets produced here.
//!
//! Must never: consult the host's layout (`std::mem::size_of`) for an sx type.

use std::collections::HashMap;
use sx_diag::Span;
use sx_ir::entity::{EntityRef, EntityVec};
use sx_ir::Target;

/// Handle of an interned type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

/// Index of a struct definition in [`TypeTable::structs`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructId(pub u32);

/// Index of an enum definition in [`TypeTable::enums`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnumId(pub u32);

/// One variant of an enum.
#[derive(Clone, Debug)]
pub struct EnumVariant {
    pub name: String,
    /// The tag value.
    pub value: i128,
    /// Payload type for tagged-union variants (`None` = no payload).
    pub payload: Option<TypeId>,
}

/// An enum: plain (an integer of the backing type), `flags`, or a tagged union
/// (`{tag: backing, payload}` with the payload at [`EnumDef::payload_offset`]).
#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    pub backing: TypeId,
    pub variants: Vec<EnumVariant>,
    pub flags: bool,
    /// Some variant carries a payload.
    pub tagged: bool,
    pub payload_offset: u64,
    pub size: u64,
    pub align: u64,
    pub complete: bool,
    /// The layout struct of `enum struct { tag: …; payload: […]…; } { … }` (or `enum L { … }`):
    /// it fixes the size, the alignment and the offset of the payload (its field `payload`);
    /// the tag is its field `tag`, at offset 0.
    pub layout: Option<TypeId>,
}

impl EnumDef {
    /// An enum named `name` with no variants yet (`i64` backing), to be completed later.
    pub fn empty(name: String) -> EnumDef {
        EnumDef {
            name,
            backing: builtin::I64,
            variants: vec![],
            flags: false,
            tagged: false,
            payload_offset: 0,
            size: 8,
            align: 8,
            complete: false,
            layout: None,
        }
    }
}

/// Index of an error set in [`TypeTable::error_sets`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrSetId(pub u32);

/// An error set: a named `error { A, B }` or the open set of inferred `!` functions.
#[derive(Clone, Debug)]
pub struct ErrSetDef {
    pub name: String,
    /// The member tag names; `None` for the open (inferred) set, which admits every tag.
    pub tags: Option<Vec<String>>,
}

/// Typed indices into the [`TypeTable`]'s tables (the one place a handle becomes a `usize`).
macro_rules! entity_ref {
    ($($name:ident),*) => {$(
        impl EntityRef for $name {
            fn new(index: usize) -> Self {
                $name(index as u32)
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}
entity_ref!(TypeId, StructId, EnumId, ErrSetId);

/// The shape of a type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeKind {
    Void,
    Bool,
    /// `iN` / `uN`, 1..=64 bits; `usize`/`isize` are 64-bit with `named` set.
    Int {
        bits: u8,
        signed: bool,
        named: Option<&'static str>,
    },
    Float {
        bits: u8,
    },
    /// `{ptr: [*]u8, len: i64}`.
    String,
    /// A C `char*`.
    Cstring,
    /// `*T`.
    Pointer(TypeId),
    /// `[*]T`.
    ManyPointer(TypeId),
    /// `[]T` = `{ptr, len}`.
    Slice(TypeId),
    /// `[N]T`.
    Array(u64, TypeId),
    /// `Vector(N, T)`: a SIMD vector of `N` lanes, laid out like `[N]T` padded to a power of
    /// two bytes.
    Vector(u64, TypeId),
    /// A nominal (or anonymous) struct.
    Struct(StructId),
    /// A nominal enum (plain, flags or tagged union).
    Enum(EnumId),
    /// `?T`: a nullable pointer when `T` is pointer-like, else `{T, present: u8}` with the
    /// flag right after the payload.
    Optional(TypeId),
    /// A function value (a code address): parameter and return types.
    Func {
        params: Vec<TypeId>,
        ret: TypeId,
    },
    /// The type of types (`Type`), only at compile time in M1.
    TypeType,
    /// `noreturn`.
    NoReturn,
    /// `Closure(A, B) -> R`: `{fn_ptr, env}`; the code takes the environment pointer first.
    Closure {
        params: Vec<TypeId>,
        ret: TypeId,
    },
    /// An error set value: a `u32` global tag id (0 = no error).
    ErrorSet(ErrSetId),
    /// The raw result of a value-carrying failable function `-> (A, !E)` / `-> (A, B, !E)`:
    /// `value` is the success value (the tuple of the value slots when there are several or
    /// they are named); laid out as `repr`, the anonymous struct `{0: value, 1: E}`.
    Failable {
        value: TypeId,
        err: TypeId,
        repr: TypeId,
    },
    /// `any`: a borrowed view `{data: pointer, type tag: Type}` (16 bytes on 64-bit targets).
    Any,
}

/// A struct field.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: TypeId,
    pub offset: u64,
}

/// A struct definition; fields are filled in after creation (structs may refer to themselves).
#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    pub fields: Vec<Field>,
    pub size: u64,
    pub align: u64,
    /// True once the fields and layout are final.
    pub complete: bool,
    /// True for anonymous (structural) structs.
    pub anonymous: bool,
    /// An untagged union: every field at offset 0.
    pub is_union: bool,
    /// A tuple (`Tuple(A, B)` / `Tuple(x: A, y: B)`): structural, positional elements are named
    /// `0`, `1`, … (see [`TypeTable::tuple`]).
    pub tuple: bool,
    pub span: Option<Span>,
}

/// The type interner plus the layout for one target.
pub struct TypeTable {
    kinds: EntityVec<TypeId, TypeKind>,
    map: HashMap<TypeKind, TypeId>,
    pub structs: EntityVec<StructId, StructDef>,
    pub enums: EntityVec<EnumId, EnumDef>,
    pub error_sets: EntityVec<ErrSetId, ErrSetDef>,
    /// Global error tag names; tag id = index + 1 (0 means "no error").
    pub error_tags: Vec<String>,
    tag_ids: HashMap<String, u32>,
    pub target: Target,
    /// Structs and enums laid out while a type they hold by value was still incomplete (a
    /// by-value cycle that closes through a pointer: `V { o: Obj }`, `Obj { items: [*]M }`,
    /// `M { v: V }` with `V` evaluated first). Each is laid out again, in place, as soon as
    /// everything it holds by value is complete; until then it counts as incomplete itself.
    pending_layout: Vec<TypeId>,
}

/// Builtin type handles, interned first so they have fixed ids.
pub mod builtin {
    use super::TypeId;
    pub const VOID: TypeId = TypeId(0);
    pub const BOOL: TypeId = TypeId(1);
    pub const I8: TypeId = TypeId(2);
    pub const I16: TypeId = TypeId(3);
    pub const I32: TypeId = TypeId(4);
    pub const I64: TypeId = TypeId(5);
    pub const U8: TypeId = TypeId(6);
    pub const U16: TypeId = TypeId(7);
    pub const U32: TypeId = TypeId(8);
    pub const U64: TypeId = TypeId(9);
    pub const F32: TypeId = TypeId(10);
    pub const F64: TypeId = TypeId(11);
    pub const STRING: TypeId = TypeId(12);
    pub const CSTRING: TypeId = TypeId(13);
    pub const USIZE: TypeId = TypeId(14);
    pub const ISIZE: TypeId = TypeId(15);
    pub const TYPE: TypeId = TypeId(16);
    pub const NORETURN: TypeId = TypeId(17);
    pub const ANY: TypeId = TypeId(18);
    /// The open error set of inferred `!` functions (admits every tag).
    pub const ANY_ERROR: TypeId = TypeId(19);
}

impl TypeTable {
    /// A table with the builtin types interned.
    pub fn new(target: Target) -> TypeTable {
        let mut t = TypeTable {
            kinds: EntityVec::new(),
            map: HashMap::new(),
            structs: EntityVec::new(),
            enums: EntityVec::new(),
            error_sets: EntityVec::new(),
            error_tags: vec![],
            tag_ids: HashMap::new(),
            target,
            pending_layout: Vec::new(),
        };
        use TypeKind::*;
        let int = |bits, signed| Int { bits, signed, named: None };
        for k in [
            Void,
            Bool,
            int(8, true),
            int(16, true),
            int(32, true),
            int(64, true),
            int(8, false),
            int(16, false),
            int(32, false),
            int(64, false),
            Float { bits: 32 },
            Float { bits: 64 },
            String,
            Cstring,
            Int { bits: 64, signed: false, named: Some("usize") },
            Int { bits: 64, signed: true, named: Some("isize") },
            TypeType,
            NoReturn,
            Any,
        ] {
            t.intern(k);
        }
        t.error_sets.push(ErrSetDef { name: "error".into(), tags: None });
        t.intern(ErrorSet(ErrSetId(0)));
        t
    }

    /// The global id of error tag `name` (interned on first use; ids start at 1).
    pub fn error_tag(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.tag_ids.get(name) {
            return id;
        }
        self.error_tags.push(name.to_string());
        let id = self.error_tags.len() as u32;
        self.tag_ids.insert(name.to_string(), id);
        id
    }
    /// The name of tag `id`, if interned.
    pub fn error_tag_name(&self, id: u32) -> Option<&str> {
        self.error_tags.get((id as usize).checked_sub(1)?).map(|s| s.as_str())
    }
    /// Creates a named error set with these member tags.
    pub fn new_error_set(&mut self, name: &str, tags: Vec<String>) -> TypeId {
        for t in &tags {
            self.error_tag(t);
        }
        let id = self.error_sets.push(ErrSetDef { name: name.to_string(), tags: Some(tags) });
        self.intern(TypeKind::ErrorSet(id))
    }
    /// The error set definition of an error-set type.
    pub fn error_set_of(&self, t: TypeId) -> Option<&ErrSetDef> {
        match self.kind(t) {
            TypeKind::ErrorSet(e) => Some(&self.error_sets[*e]),
            _ => None,
        }
    }
    /// True for error-set types.
    pub fn is_error_set(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::ErrorSet(_))
    }
    /// The raw result type of a value-carrying failable: success value `value` (a tuple for
    /// several value slots) and error set `err`.
    pub fn failable(&mut self, value: TypeId, err: TypeId) -> TypeId {
        let repr = self.anonymous_struct(vec![("0".into(), value), ("1".into(), err)]);
        self.intern(TypeKind::Failable { value, err, repr })
    }

    /// Interns a structural type.
    pub fn intern(&mut self, k: TypeKind) -> TypeId {
        if let Some(&id) = self.map.get(&k) {
            return id;
        }
        let id = self.kinds.push(k.clone());
        self.map.insert(k, id);
        id
    }
    /// Number of types interned so far (ids are `0..count()`).
    pub fn count(&self) -> usize {
        self.kinds.len()
    }
    /// The shape of `t`.
    pub fn kind(&self, t: TypeId) -> &TypeKind {
        &self.kinds[t]
    }
    pub fn int(&mut self, bits: u8, signed: bool) -> TypeId {
        self.intern(TypeKind::Int { bits, signed, named: None })
    }
    pub fn pointer(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Pointer(t))
    }
    pub fn many_pointer(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::ManyPointer(t))
    }
    pub fn slice(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Slice(t))
    }
    pub fn optional(&mut self, t: TypeId) -> TypeId {
        self.intern(TypeKind::Optional(t))
    }
    /// The payload type of an optional.
    pub fn optional_inner(&self, t: TypeId) -> Option<TypeId> {
        match self.kind(t) {
            TypeKind::Optional(i) => Some(*i),
            _ => None,
        }
    }
    pub fn array(&mut self, n: u64, t: TypeId) -> TypeId {
        self.intern(TypeKind::Array(n, t))
    }
    pub fn vector(&mut self, n: u64, t: TypeId) -> TypeId {
        self.intern(TypeKind::Vector(n, t))
    }
    /// Creates a new (incomplete) nominal struct type.
    pub fn new_struct(&mut self, name: &str, anonymous: bool, span: Option<Span>) -> TypeId {
        let sid = self.structs.push(StructDef {
            name: name.to_string(),
            fields: vec![],
            size: 0,
            align: 1,
            complete: false,
            anonymous,
            is_union: false,
            tuple: false,
            span,
        });
        self.intern(TypeKind::Struct(sid))
    }
    /// The struct behind `t`, if it is one.
    pub fn struct_of(&self, t: TypeId) -> Option<&StructDef> {
        match self.kind(t) {
            TypeKind::Struct(s) => self.structs.get(*s),
            _ => None,
        }
    }
    /// Sets the fields of struct type `t` and computes its C layout.
    pub fn complete_struct(&mut self, t: TypeId, fields: Vec<(String, TypeId)>) {
        let TypeKind::Struct(sid) = *self.kind(t) else { return };
        self.structs[sid].fields = fields.into_iter().map(|(name, ty)| Field { name, ty, offset: 0 }).collect();
        self.structs[sid].is_union = false;
        self.finish_layout(t);
    }

    /// Computes the field offsets, size and alignment of struct `t` from its fields' types.
    fn layout_struct(&mut self, t: TypeId) {
        let TypeKind::Struct(sid) = *self.kind(t) else { return };
        let fields = std::mem::take(&mut self.structs[sid].fields);
        let union = self.structs[sid].is_union;
        let mut off = 0u64;
        let mut size = 0u64;
        let mut align = 1u64;
        let mut out = Vec::new();
        for f in fields {
            let a = self.align_of(f.ty).max(1);
            let sz = self.size_of(f.ty);
            if union {
                size = size.max(sz);
                out.push(Field { offset: 0, ..f });
            } else {
                off = off.div_ceil(a) * a;
                out.push(Field { offset: off, ..f });
                off += sz;
                size = off;
            }
            align = align.max(a);
        }
        let s = &mut self.structs[sid];
        s.fields = out;
        s.size = size.div_ceil(align) * align;
        s.align = align;
        s.complete = true;
    }

    /// Lays out `t` (a struct or enum whose members are set), marks it pending when a member
    /// it holds by value is not laid out yet, and lays out again every pending type whose
    /// members are now all final.
    fn finish_layout(&mut self, t: TypeId) {
        self.layout_any(t);
        self.pending_layout.retain(|&p| p != t);
        if self.by_value_members(t).iter().any(|&m| !self.layout_final(m)) {
            self.pending_layout.push(t);
        }
        loop {
            let ready: Vec<TypeId> = self
                .pending_layout
                .iter()
                .copied()
                .filter(|&p| self.by_value_members(p).iter().all(|&m| m == p || self.layout_final(m)))
                .collect();
            if ready.is_empty() {
                break;
            }
            self.pending_layout.retain(|p| !ready.contains(p));
            for p in ready {
                self.layout_any(p);
            }
        }
    }

    fn layout_any(&mut self, t: TypeId) {
        match self.kind(t) {
            TypeKind::Struct(_) => self.layout_struct(t),
            TypeKind::Enum(_) => self.layout_enum(t),
            _ => {}
        }
    }

    /// The types `t` holds by value (fields; payloads of a tagged enum).
    fn by_value_members(&self, t: TypeId) -> Vec<TypeId> {
        match self.kind(t) {
            TypeKind::Struct(sid) => self.structs[*sid].fields.iter().map(|f| f.ty).collect(),
            TypeKind::Enum(eid) => self.enums[*eid].variants.iter().filter_map(|v| v.payload).collect(),
            _ => vec![],
        }
    }

    /// The structs and enums still waiting for a member to be laid out (after compilation: the
    /// ones that contain themselves by value through other types).
    pub fn pending_layouts(&self) -> &[TypeId] {
        &self.pending_layout
    }

    /// True when `t`'s size and alignment are final (nothing it holds by value is still
    /// being defined or waiting for a re-layout).
    pub fn layout_final(&self, t: TypeId) -> bool {
        match self.kind(t) {
            TypeKind::Struct(sid) => self.structs[*sid].complete && !self.pending_layout.contains(&t),
            TypeKind::Enum(eid) => self.enums[*eid].complete && !self.pending_layout.contains(&t),
            TypeKind::Array(_, e) | TypeKind::Vector(_, e) => self.layout_final(*e),
            TypeKind::Optional(i) => self.is_pointer_like(*i) || self.layout_final(*i),
            TypeKind::Failable { repr, .. } => self.layout_final(*repr),
            _ => true,
        }
    }

    /// Creates a new (incomplete) enum type.
    pub fn new_enum(&mut self, name: &str) -> TypeId {
        let id = self.enums.push(EnumDef::empty(name.to_string()));
        self.intern(TypeKind::Enum(id))
    }
    /// The enum behind `t`, if it is one.
    pub fn enum_of(&self, t: TypeId) -> Option<&EnumDef> {
        match self.kind(t) {
            TypeKind::Enum(e) => self.enums.get(*e),
            _ => None,
        }
    }
    /// Sets an enum's variants and computes its layout.
    pub fn complete_enum(&mut self, t: TypeId, backing: TypeId, flags: bool, variants: Vec<EnumVariant>) {
        let TypeKind::Enum(eid) = *self.kind(t) else { return };
        let e = &mut self.enums[eid];
        e.backing = backing;
        e.flags = flags;
        e.variants = variants;
        self.finish_layout(t);
    }

    /// Gives enum `t` layout struct `layout` (before [`TypeTable::complete_enum`]): its size,
    /// alignment and `payload` offset become the enum's, and the enum is an aggregate even when
    /// no variant carries a payload.
    pub fn set_enum_layout(&mut self, t: TypeId, layout: TypeId) {
        if let TypeKind::Enum(eid) = *self.kind(t) {
            self.enums[eid].layout = Some(layout);
        }
    }

    /// Computes the tag/payload layout of enum `t` from its backing type and variants.
    fn layout_enum(&mut self, t: TypeId) {
        let TypeKind::Enum(eid) = *self.kind(t) else { return };
        if let Some(l) = self.enums[eid].layout {
            let payload_offset = self.struct_of(l).and_then(|s| s.fields.iter().find(|f| f.name == "payload")).map_or(0, |f| f.offset);
            let (size, align) = (self.size_of(l), self.align_of(l));
            return self.set_enum_shape(eid, true, payload_offset, size, align);
        }
        let (backing, payloads): (TypeId, Vec<TypeId>) = {
            let e = &self.enums[eid];
            (e.backing, e.variants.iter().filter_map(|v| v.payload).collect())
        };
        let tagged = !payloads.is_empty();
        let tag_size = self.size_of(backing).max(1);
        let tag_align = self.align_of(backing).max(1);
        let (mut psize, mut palign) = (0u64, 1u64);
        for p in payloads {
            psize = psize.max(self.size_of(p));
            palign = palign.max(self.align_of(p));
        }
        let payload_offset = if tagged { tag_size.div_ceil(palign) * palign } else { 0 };
        let align = if tagged { tag_align.max(palign) } else { tag_align };
        let size = if tagged { (payload_offset + psize).div_ceil(align) * align } else { tag_size };
        self.set_enum_shape(eid, tagged, payload_offset, size, align);
    }

    /// Records enum `eid`'s computed shape and marks it complete.
    fn set_enum_shape(&mut self, eid: EnumId, tagged: bool, payload_offset: u64, size: u64, align: u64) {
        let e = &mut self.enums[eid];
        e.tagged = tagged;
        e.payload_offset = payload_offset;
        e.size = size;
        e.align = align;
        e.complete = true;
    }

    /// Turns a nominal struct type that was created but never completed (a forward-declared
    /// slot) into an incomplete enum type with the same name and the same [`TypeId`]; returns
    /// false (and changes nothing) for any other type.
    pub fn retarget_as_enum(&mut self, t: TypeId) -> bool {
        let TypeKind::Struct(sid) = *self.kind(t) else { return false };
        let s = &self.structs[sid];
        if s.complete || s.anonymous {
            return false;
        }
        let name = s.name.clone();
        let eid = self.enums.push(EnumDef::empty(name));
        self.map.remove(&TypeKind::Struct(sid));
        self.kinds[t] = TypeKind::Enum(eid);
        self.map.insert(TypeKind::Enum(eid), t);
        true
    }

    /// Marks nominal struct type `t` as a tuple (positional elements named `0`, `1`, …).
    pub fn mark_tuple(&mut self, t: TypeId) {
        if let TypeKind::Struct(sid) = *self.kind(t) {
            self.structs[sid].tuple = true;
        }
    }

    /// True once a struct's or enum's members and layout are final (always true for other
    /// types).
    pub fn is_complete(&self, t: TypeId) -> bool {
        match self.kind(t) {
            TypeKind::Struct(s) => self.structs[*s].complete,
            TypeKind::Enum(e) => self.enums[*e].complete,
            _ => true,
        }
    }

    /// Sets the fields of union type `t`: all at offset 0, size and alignment the maximum.
    pub fn complete_union(&mut self, t: TypeId, fields: Vec<(String, TypeId)>) {
        let TypeKind::Struct(sid) = *self.kind(t) else { return };
        self.structs[sid].fields = fields.into_iter().map(|(name, ty)| Field { name, ty, offset: 0 }).collect();
        self.structs[sid].is_union = true;
        self.finish_layout(t);
    }

    /// The first complete struct accepted by `kind` whose fields are exactly `fields`.
    fn find_complete_struct(&self, fields: &[(String, TypeId)], kind: impl Fn(&StructDef) -> bool) -> Option<StructId> {
        let same =
            |s: &StructDef| s.fields.len() == fields.len() && s.fields.iter().zip(fields).all(|(f, (n, t))| &f.name == n && f.ty == *t);
        self.structs.iter().find(|(_, s)| s.complete && kind(s) && same(s)).map(|(sid, _)| sid)
    }

    /// Finds an anonymous struct with exactly these fields, or creates one.
    pub fn anonymous_struct(&mut self, fields: Vec<(String, TypeId)>) -> TypeId {
        let found = self.find_complete_struct(&fields, |s| s.anonymous && !s.tuple && !s.is_union);
        if let Some(sid) = found {
            return self.intern(TypeKind::Struct(sid));
        }
        let t = self.new_struct("", true, None);
        self.complete_struct(t, fields);
        t
    }

    /// Finds an anonymous untagged union with exactly these fields, or creates one.
    pub fn anonymous_union(&mut self, fields: Vec<(String, TypeId)>) -> TypeId {
        let found = self.find_complete_struct(&fields, |s| s.anonymous && s.is_union);
        if let Some(sid) = found {
            return self.intern(TypeKind::Struct(sid));
        }
        let t = self.new_struct("", true, None);
        self.complete_union(t, fields);
        t
    }

    /// Finds the tuple type with exactly these elements, or creates it. Positional elements are
    /// named by their index (`"0"`, `"1"`, …), named ones by their name.
    pub fn tuple(&mut self, fields: Vec<(String, TypeId)>) -> TypeId {
        let found = self.find_complete_struct(&fields, |s| s.tuple);
        if let Some(sid) = found {
            return self.intern(TypeKind::Struct(sid));
        }
        let t = self.new_struct("", true, None);
        if let TypeKind::Struct(sid) = *self.kind(t) {
            self.structs[sid].tuple = true;
        }
        self.complete_struct(t, fields);
        t
    }

    /// True for tuple types.
    pub fn is_tuple(&self, t: TypeId) -> bool {
        self.struct_of(t).map(|s| s.tuple).unwrap_or(false)
    }

    /// Size in bytes at the target layout.
    pub fn size_of(&self, t: TypeId) -> u64 {
        let p = self.target.pointer_bytes() as u64;
        match self.kind(t) {
            TypeKind::Void | TypeKind::NoReturn => 0,
            TypeKind::Bool => 1,
            TypeKind::Int { bits, .. } => int_storage_bytes(*bits) as u64,
            TypeKind::Float { bits } => *bits as u64 / 8,
            TypeKind::String | TypeKind::Slice(_) => 2 * p,
            TypeKind::Cstring | TypeKind::Pointer(_) | TypeKind::ManyPointer(_) | TypeKind::Func { .. } => p,
            TypeKind::Array(n, e) => n.saturating_mul(self.size_of(*e)),
            TypeKind::Vector(n, e) => n.saturating_mul(self.size_of(*e)).max(1).next_power_of_two(),
            TypeKind::Struct(s) => self.structs[*s].size,
            TypeKind::Enum(e) => self.enums[*e].size,
            TypeKind::Optional(t) => {
                if self.is_pointer_like(*t) {
                    p
                } else {
                    let a = self.align_of(*t).max(1);
                    (self.size_of(*t) + 1).div_ceil(a) * a
                }
            }
            TypeKind::TypeType => 8,
            TypeKind::ErrorSet(_) => 4,
            TypeKind::Closure { .. } => 2 * p,
            TypeKind::Failable { repr, .. } => self.size_of(*repr),
            TypeKind::Any => p + 8,
        }
    }
    /// Alignment in bytes at the target layout.
    pub fn align_of(&self, t: TypeId) -> u64 {
        let p = self.target.pointer_bytes() as u64;
        match self.kind(t) {
            TypeKind::Void | TypeKind::NoReturn | TypeKind::Bool => 1,
            TypeKind::Int { bits, .. } => int_storage_bytes(*bits) as u64,
            TypeKind::Float { bits } => *bits as u64 / 8,
            TypeKind::String
            | TypeKind::Slice(_)
            | TypeKind::Cstring
            | TypeKind::Pointer(_)
            | TypeKind::ManyPointer(_)
            | TypeKind::Func { .. } => p,
            TypeKind::Array(_, e) => self.align_of(*e),
            // A vector aligns to its (power-of-two) size, its natural SIMD alignment.
            TypeKind::Vector(..) => self.size_of(t),
            TypeKind::Struct(s) => self.structs[*s].align,
            TypeKind::Enum(e) => self.enums[*e].align,
            TypeKind::Optional(t) => {
                if self.is_pointer_like(*t) {
                    p
                } else {
                    self.align_of(*t).max(1)
                }
            }
            TypeKind::TypeType => 8,
            TypeKind::ErrorSet(_) => 4,
            TypeKind::Closure { .. } => p,
            TypeKind::Failable { repr, .. } => self.align_of(*repr),
            TypeKind::Any => p.max(8),
        }
    }

    /// The IR scalar type that holds a value of `t`, or `None` for aggregates and void.
    pub fn scalar(&self, t: TypeId) -> Option<sx_ir::Type> {
        use sx_ir::Type as T;
        match self.kind(t) {
            TypeKind::Bool => Some(T::I8),
            TypeKind::Int { bits, .. } => T::int_of_bytes(int_storage_bytes(*bits)),
            TypeKind::Float { bits: 32 } => Some(T::F32),
            TypeKind::Float { .. } => Some(T::F64),
            TypeKind::Cstring | TypeKind::Pointer(_) | TypeKind::ManyPointer(_) | TypeKind::Func { .. } => {
                T::int_of_bytes(self.target.pointer_bytes())
            }
            TypeKind::TypeType => Some(T::I64),
            TypeKind::ErrorSet(_) => Some(T::I32),
            TypeKind::Enum(e) => {
                let d = &self.enums[*e];
                if d.tagged {
                    None
                } else {
                    self.scalar(d.backing)
                }
            }
            TypeKind::Optional(t) if self.is_pointer_like(*t) => T::int_of_bytes(self.target.pointer_bytes()),
            _ => None,
        }
    }

    /// True for payload-less (plain or flags) enums, which behave like their backing integer.
    pub fn is_plain_enum(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Enum(e) if !self.enums[*e].tagged)
    }
    /// True for tagged-union enums.
    pub fn is_tagged_enum(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Enum(e) if self.enums[*e].tagged)
    }

    pub fn is_int(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Int { .. })
    }
    pub fn is_signed(&self, t: TypeId) -> bool {
        match self.kind(t) {
            TypeKind::Int { signed, .. } => *signed,
            TypeKind::Enum(e) => self.is_signed(self.enums[*e].backing),
            _ => false,
        }
    }
    pub fn is_float(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Float { .. })
    }
    pub fn is_numeric(&self, t: TypeId) -> bool {
        self.is_int(t) || self.is_float(t)
    }
    pub fn is_pointer_like(&self, t: TypeId) -> bool {
        matches!(self.kind(t), TypeKind::Pointer(_) | TypeKind::ManyPointer(_) | TypeKind::Cstring | TypeKind::Func { .. })
    }
    /// Bit width of an integer type.
    pub fn int_bits(&self, t: TypeId) -> u8 {
        match self.kind(t) {
            TypeKind::Int { bits, .. } => *bits,
            TypeKind::Bool => 8,
            TypeKind::Enum(e) => self.int_bits(self.enums[*e].backing),
            _ => 64,
        }
    }

    /// The type's name as sx spells it (`i64`, `*Point`, `[]u8`, `[4]i32`, `(i64) -> i64`).
    pub fn name(&self, t: TypeId) -> String {
        match self.kind(t) {
            TypeKind::Void => "void".into(),
            TypeKind::Bool => "bool".into(),
            TypeKind::Int { named: Some(n), .. } => (*n).into(),
            TypeKind::Int { bits, signed, .. } => format!("{}{}", if *signed { 'i' } else { 'u' }, bits),
            TypeKind::Float { bits } => format!("f{}", bits),
            TypeKind::String => "string".into(),
            TypeKind::Cstring => "cstring".into(),
            TypeKind::Pointer(e) => format!("*{}", self.name(*e)),
            TypeKind::ManyPointer(e) => format!("[*]{}", self.name(*e)),
            TypeKind::Slice(e) => format!("[]{}", self.name(*e)),
            TypeKind::Array(n, e) => format!("[{}]{}", n, self.name(*e)),
            TypeKind::Vector(n, e) => format!("Vector({},{})", n, self.name(*e)),
            TypeKind::Struct(s) => {
                let d = &self.structs[*s];
                if d.tuple {
                    let fs: Vec<String> = d
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| if f.name == i.to_string() { self.name(f.ty) } else { format!("{}: {}", f.name, self.name(f.ty)) })
                        .collect();
                    if fs.len() == 1 {
                        format!("({},)", fs[0])
                    } else {
                        format!("({})", fs.join(", "))
                    }
                } else if d.anonymous {
                    let fs: Vec<String> = d.fields.iter().map(|f| format!("{}: {}", f.name, self.name(f.ty))).collect();
                    let keyword = if d.is_union { "union" } else { "struct" };
                    format!("{} {{{}}}", keyword, fs.join("; "))
                } else {
                    d.name.clone()
                }
            }
            TypeKind::Func { params, ret } => {
                let ps: Vec<String> = params.iter().map(|p| self.name(*p)).collect();
                if *ret == builtin::VOID {
                    format!("({})", ps.join(", "))
                } else {
                    format!("({}) -> {}", ps.join(", "), self.name(*ret))
                }
            }
            TypeKind::TypeType => "Type".into(),
            TypeKind::NoReturn => "noreturn".into(),
            TypeKind::Any => "any".into(),
            TypeKind::Enum(e) => self.enums[*e].name.clone(),
            TypeKind::Optional(t) => format!("?{}", self.name(*t)),
            TypeKind::ErrorSet(e) => self.error_sets[*e].name.clone(),
            TypeKind::Closure { params, ret } => {
                let ps: Vec<String> = params.iter().map(|p| self.name(*p)).collect();
                if *ret == builtin::VOID {
                    format!("Closure({})", ps.join(", "))
                } else {
                    format!("Closure({}) -> {}", ps.join(", "), self.name(*ret))
                }
            }
            TypeKind::Failable { value, err, .. } => {
                // A tuple value lists its slots: `(A, B, !E)`, `(x: A, y: B, !E)`.
                let mut ps: Vec<String> = match self.struct_of(*value).filter(|s| s.tuple) {
                    Some(s) => s
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| if f.name == i.to_string() { self.name(f.ty) } else { format!("{}: {}", f.name, self.name(f.ty)) })
                        .collect(),
                    None => vec![self.name(*value)],
                };
                let e = if *err == builtin::ANY_ERROR { "!".to_string() } else { format!("!{}", self.name(*err)) };
                ps.push(e);
                format!("({})", ps.join(", "))
            }
        }
    }
}

/// Storage bytes for an integer of `bits` bits (1, 2, 4 or 8).
pub fn int_storage_bytes(bits: u8) -> u32 {
    match bits {
        0..=8 => 1,
        9..=16 => 2,
        17..=32 => 4,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_layout() {
        let mut t = TypeTable::new(Target::X86_64Linux);
        let s = t.new_struct("S", false, None);
        t.complete_struct(s, vec![("a".into(), builtin::I64), ("b".into(), builtin::F32)]);
        assert_eq!((t.size_of(s), t.align_of(s)), (16, 8));
        let s2 = t.new_struct("T", false, None);
        t.complete_struct(s2, vec![("a".into(), builtin::U8), ("b".into(), builtin::I32), ("c".into(), builtin::U8)]);
        assert_eq!((t.size_of(s2), t.align_of(s2)), (12, 4));
        assert_eq!(t.struct_of(s2).unwrap().fields[1].offset, 4);
        assert_eq!(t.size_of(builtin::STRING), 16);
        let u2 = t.int(2, false);
        assert_eq!(t.size_of(u2), 1);
        assert_eq!(t.name(u2), "u2");
        let arr = t.array(4, builtin::I32);
        assert_eq!(t.size_of(arr), 16);
        let p = t.pointer(s);
        assert_eq!(t.name(p), "*S");
    }

    #[test]
    fn tuples_are_structural_and_distinct_from_anonymous_structs() {
        let mut t = TypeTable::new(Target::X86_64Linux);
        let pos = vec![("0".to_string(), builtin::U8), ("1".to_string(), builtin::I64)];
        let a = t.tuple(pos.clone());
        assert_eq!(t.tuple(pos.clone()), a);
        assert_ne!(t.anonymous_struct(pos), a);
        assert!(t.is_tuple(a));
        assert_eq!((t.size_of(a), t.align_of(a)), (16, 8));
        assert_eq!(t.name(a), "(u8, i64)");
        let one = t.tuple(vec![("0".into(), builtin::I32)]);
        assert_eq!(t.name(one), "(i32,)");
        let named = t.tuple(vec![("x".into(), builtin::I64), ("y".into(), builtin::BOOL)]);
        assert_eq!(t.name(named), "(x: i64, y: bool)");
        let empty = t.tuple(vec![]);
        assert_eq!(t.name(empty), "()");
    }
}
