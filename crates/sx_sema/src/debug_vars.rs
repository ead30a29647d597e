//! Debug information for variables (floor 3), filled only when the driver asks for it (`-g`,
//! [`crate::Options::debug_info`]): every sx parameter and local bound to a stack slot is
//! recorded in its function's [`sx_ir::Function::debug_vars`] with its type described in the
//! module's debug type table ([`sx_ir::Module::debug_types`], translated from the
//! [`sx_types::TypeTable`] once per type), and the instructions lowered while it is in scope.
//! A recorded slot is never promoted to SSA values, so its value is in memory for a debugger.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::debug::{DebugField, DebugType, DebugTypeId, DebugTypeKind as DK, DebugVar, DebugVarKind, InstRange, ScalarEncoding};
use sx_ir::entity::EntityRef;
use sx_ir::Inst;
use sx_types::TypeKind as TK;

use crate::emit::OPEN_SCOPE;

/// Whether debug information is written, and the debug type of each sx type so far.
#[derive(Default)]
pub(crate) struct DebugTables {
    /// `-g`: record variables and their types.
    pub enabled: bool,
    /// The debug type of each sx type described so far.
    types: HashMap<TypeId, DebugTypeId>,
}

impl DebugTables {
    /// Tables that record variables when `enabled`.
    pub fn new(enabled: bool) -> DebugTables {
        DebugTables { enabled, types: HashMap::new() }
    }
}

/// A name the user wrote (hidden names of the compiler's own temporaries are not).
fn is_user_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

impl Compiler {
    /// The debug type describing `t` (added to the module's table on first use).
    pub(crate) fn debug_type(&mut self, t: TypeId) -> DebugTypeId {
        if let Some(&id) = self.out.debug.types.get(&t) {
            return id;
        }
        let size = self.types.size_of(t);
        let id = self.module.debug_types.push(DebugType { name: self.types.name(t), kind: DK::Opaque { size } });
        // Memoised before the parts, so a type reaching itself through a pointer ends.
        self.out.debug.types.insert(t, id);
        let kind = self.debug_type_kind(t);
        self.module.debug_types[id].kind = kind;
        id
    }

    /// A debug type that stands for no sx type of its own (a string's bytes, a slice's pointer).
    fn debug_type_extra(&mut self, name: String, kind: DK) -> DebugTypeId {
        self.module.debug_types.push(DebugType { name, kind })
    }

    /// `{ptr: [*]elem, len: i64}`, how strings and slices are laid out.
    fn debug_ptr_len(&mut self, elem: DebugTypeId, elem_name: &str) -> DK {
        let ptr = self.debug_type_extra(format!("[*]{}", elem_name), DK::Pointer { pointee: Some(elem) });
        let len = self.debug_type(bt::I64);
        let p = u64::from(self.types.target.pointer_bytes());
        DK::Struct { size: 2 * p, fields: vec![field("ptr", 0, ptr), field("len", p, len)] }
    }

    /// The shape of `t` as a debugger shows it.
    fn debug_type_kind(&mut self, t: TypeId) -> DK {
        let size = self.types.size_of(t);
        let p = u64::from(self.types.target.pointer_bytes());
        let scalar = |encoding, size: u64| DK::Scalar { encoding, size: size as u32 };
        match self.types.kind(t).clone() {
            TK::Void | TK::NoReturn => DK::Opaque { size: 0 },
            TK::Bool => scalar(ScalarEncoding::Bool, 1),
            TK::Int { signed, .. } => scalar(if signed { ScalarEncoding::Signed } else { ScalarEncoding::Unsigned }, size),
            TK::Float { .. } => scalar(ScalarEncoding::Float, size),
            TK::TypeType => scalar(ScalarEncoding::Unsigned, size),
            TK::String => {
                let byte = self.debug_type_extra("u8".into(), scalar(ScalarEncoding::Char, 1));
                self.debug_ptr_len(byte, "u8")
            }
            TK::Cstring => {
                let byte = self.debug_type_extra("u8".into(), scalar(ScalarEncoding::Char, 1));
                DK::Pointer { pointee: Some(byte) }
            }
            TK::Pointer(to) | TK::ManyPointer(to) => {
                DK::Pointer { pointee: (!matches!(self.types.kind(to), TK::Void)).then(|| self.debug_type(to)) }
            }
            TK::Func { .. } => DK::Pointer { pointee: None },
            TK::Slice(elem) => {
                let e = self.debug_type(elem);
                let name = self.types.name(elem);
                self.debug_ptr_len(e, &name)
            }
            TK::Array(count, elem) | TK::Vector(count, elem) => DK::Array { elem: self.debug_type(elem), count },
            TK::Struct(s) => {
                let fields: Vec<(String, u64, TypeId)> =
                    self.types.structs[s].fields.iter().map(|f| (f.name.clone(), f.offset, f.ty)).collect();
                let fields = fields.into_iter().map(|(name, offset, ty)| DebugField { name, offset, ty: self.debug_type(ty) }).collect();
                DK::Struct { size, fields }
            }
            TK::Enum(e) => self.debug_enum_kind(e),
            TK::Optional(inner) if self.types.is_pointer_like(inner) => {
                let d = self.debug_type(inner);
                self.module.debug_types[d].kind.clone()
            }
            TK::Optional(inner) => {
                let value = self.debug_type(inner);
                let present = self.debug_type(bt::BOOL);
                DK::Struct { size, fields: vec![field("value", 0, value), field("present", self.types.size_of(inner), present)] }
            }
            TK::Closure { .. } => {
                let code = self.debug_type_extra("fn".into(), DK::Pointer { pointee: None });
                DK::Struct { size, fields: vec![field("fn", 0, code), field("env", p, code)] }
            }
            TK::ErrorSet(set) => {
                let members = self.types.error_sets[set].tags.clone();
                let mut variants = vec![("none".to_string(), 0)];
                for (i, tag) in self.types.error_tags.iter().enumerate() {
                    if members.as_ref().is_none_or(|m| m.contains(tag)) {
                        variants.push((tag.clone(), i as i64 + 1));
                    }
                }
                DK::Enum { size: size as u32, signed: false, variants }
            }
            TK::Failable { repr, .. } => {
                let d = self.debug_type(repr);
                self.module.debug_types[d].kind.clone()
            }
            TK::Any => {
                let data = self.debug_type_extra("*void".into(), DK::Pointer { pointee: None });
                let ty = self.debug_type(bt::TYPE);
                DK::Struct { size, fields: vec![field("data", 0, data), field("type", p, ty)] }
            }
        }
    }

    /// A plain enum as named integers; a tagged union as `{tag, payload}` with the payloads
    /// overlapping at the payload offset.
    fn debug_enum_kind(&mut self, e: sx_types::EnumId) -> DK {
        let def = self.types.enums[e].clone();
        let backing = self.types.size_of(def.backing) as u32;
        let signed = self.types.is_signed(def.backing);
        let variants = def.variants.iter().map(|v| (v.name.clone(), v.value as i64)).collect();
        let tag = DK::Enum { size: backing, signed, variants };
        if !def.tagged {
            return tag;
        }
        let tag = self.debug_type_extra(def.name.clone(), tag);
        let payloads: Vec<(String, TypeId)> = def.variants.iter().filter_map(|v| Some((v.name.clone(), v.payload?))).collect();
        let fields = payloads.into_iter().map(|(name, ty)| DebugField { name, offset: 0, ty: self.debug_type(ty) }).collect();
        let payload_size = def.size.saturating_sub(def.payload_offset);
        let payload = self.debug_type_extra(format!("{}.payload", def.name), DK::Struct { size: payload_size, fields });
        DK::Struct { size: def.size, fields: vec![field("tag", 0, tag), field("payload", def.payload_offset, payload)] }
    }
}

fn field(name: &str, offset: u64, ty: DebugTypeId) -> DebugField {
    DebugField { name: name.to_string(), offset, ty }
}

impl<'c> FnCx<'c> {
    /// Records `name` bound to `local` as a debug variable of the function (with `-g`, for a
    /// user's name in a slot not recorded yet).
    pub(crate) fn note_debug_var(&mut self, name: &str, local: &Local, kind: DebugVarKind) {
        if !self.c.out.debug.enabled || !is_user_name(name) {
            return;
        }
        let Local::Var { slot, ty, by_ref, .. } = *local else { return };
        if self.e.f.debug_vars.iter().any(|v| v.slot == slot) {
            return;
        }
        let ty = self.c.debug_type(ty);
        let start = Inst::new(self.e.f.insts.len());
        let scope = Some(InstRange { start, end: OPEN_SCOPE });
        self.e.f.debug_vars.push(DebugVar { name: name.to_string(), kind, slot, by_ref, ty, span: self.e.span, scope });
    }

    /// Ends the scope of every debug variable whose binding is no longer on the scope stack
    /// (called before each statement: a block that ended before it ended their scope).
    pub(crate) fn close_debug_scopes(&mut self) {
        if !self.c.out.debug.enabled {
            return;
        }
        let here = Inst::new(self.e.f.insts.len());
        let scopes = &self.scopes;
        let bound = |v: &DebugVar| scopes.iter().any(|s| matches!(s.names.get(&v.name), Some(Local::Var { slot, .. }) if *slot == v.slot));
        for v in self.e.f.debug_vars.iter_mut() {
            let ended = v.scope.is_some_and(|r| r.end == OPEN_SCOPE) && !bound(v);
            if let (true, Some(range)) = (ended, v.scope.as_mut()) {
                range.end = here;
            }
        }
    }
}
