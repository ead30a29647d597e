//! Run-time type information: `Type` values and the records behind them.
//!
//! At run time a `Type` is an 8-byte handle: the address of a read-only *type record* emitted
//! lazily (once per type, so handles compare by address) into static data. A record holds the
//! category, layout, name, element/pointee type, the members of structs and enums, and a
//! pointer to a generated function that prints a value of the type (what `print` calls for an
//! `any`). Records refer to each other through relocations, so the same bytes serve the VM,
//! the JIT and the linked binary, and a `Type` computed at compile time bakes like a pointer.
//!
//! The record layouts are two internal structs laid out by [`sx_types::TypeTable`]:
//! `TypeInfo { kind, size, align, name, elem, count, members, flags, payload_offset, fmt }` and
//! `TypeMember { name, ty, offset, value }` (fields of a struct; variants of an enum, with the
//! tag value and the payload type or `void`).

use crate::fncx::FnCx;
use crate::type_rules::{cat, flag};
use crate::*;
use sx_ir::{Function, Reloc, RelocTarget, Signature, Value};
use sx_types::TypeKind as TK;

/// The compiler's memo of emitted type records.
#[derive(Default)]
pub struct Rtti {
    records: HashMap<TypeId, sx_ir::DataId>,
    by_record: HashMap<sx_ir::DataId, TypeId>,
    /// The internal `TypeInfo` and `TypeMember` struct types.
    layout: Option<(TypeId, TypeId)>,
}

impl Compiler {
    /// The internal record struct types (created on first use).
    pub(crate) fn rtti_layout(&mut self) -> (TypeId, TypeId) {
        if let Some(l) = self.out.rtti.layout {
            return l;
        }
        let ptr_void = self.types.pointer(bt::VOID);
        let member = self.types.new_struct("__TypeMember", false, None);
        self.types.complete_struct(
            member,
            vec![("name".into(), bt::STRING), ("ty".into(), bt::TYPE), ("offset".into(), bt::I64), ("value".into(), bt::I64)],
        );
        let members = self.types.many_pointer(member);
        let info = self.types.new_struct("__TypeInfo", false, None);
        self.types.complete_struct(
            info,
            vec![
                ("kind".into(), bt::I64),
                ("size".into(), bt::I64),
                ("align".into(), bt::I64),
                ("name".into(), bt::STRING),
                ("elem".into(), bt::TYPE),
                ("count".into(), bt::I64),
                ("members".into(), members),
                ("flags".into(), bt::I64),
                ("payload_offset".into(), bt::I64),
                ("fmt".into(), ptr_void),
            ],
        );
        self.out.rtti.layout = Some((info, member));
        (info, member)
    }

    /// Byte offset of field `name` of the `TypeInfo` (or, with `member`, `TypeMember`) record.
    pub(crate) fn rtti_offset(&mut self, member: bool, name: &str) -> i32 {
        let (info, mem) = self.rtti_layout();
        let t = if member { mem } else { info };
        self.types.struct_of(t).and_then(|s| s.fields.iter().find(|f| f.name == name)).map(|f| f.offset as i32).unwrap_or(0)
    }

    /// Size of one `TypeMember` record.
    pub(crate) fn rtti_member_size(&mut self) -> i64 {
        let (_, mem) = self.rtti_layout();
        self.types.size_of(mem) as i64
    }

    /// The category code of `t`.
    pub(crate) fn type_category(&self, t: TypeId) -> i64 {
        match self.types.kind(t) {
            TK::Void => cat::VOID,
            TK::Bool => cat::BOOL,
            TK::Int { .. } => cat::INT,
            TK::Float { .. } => cat::FLOAT,
            TK::String => cat::STRING,
            TK::Cstring => cat::CSTRING,
            TK::Pointer(_) => cat::POINTER,
            TK::ManyPointer(_) => cat::MANY_POINTER,
            TK::Slice(_) => cat::SLICE,
            TK::Array(..) => cat::ARRAY,
            TK::Vector(..) => cat::VECTOR,
            TK::Struct(_) if self.types.struct_of(t).map(|s| s.is_union).unwrap_or(false) => cat::UNION,
            TK::Struct(_) => cat::STRUCT,
            TK::Enum(_) => cat::ENUM,
            TK::Optional(_) => cat::OPTIONAL,
            TK::Func { .. } => cat::FUNC,
            TK::TypeType => cat::TYPE,
            TK::Any => cat::ANY,
            TK::NoReturn => cat::NORETURN,
            TK::ErrorSet(_) => cat::ERROR_SET,
            TK::Closure { .. } => cat::CLOSURE,
            TK::Failable { repr, .. } => self.type_category(*repr),
        }
    }

    /// The type a record describes (for reading `Type` values back from compile-time results).
    pub(crate) fn type_of_record(&self, d: sx_ir::DataId) -> Option<TypeId> {
        self.out.rtti.by_record.get(&d).copied()
    }

    /// The record of `t`, emitting it (and the records it refers to) on first use.
    pub(crate) fn type_record(&mut self, t: TypeId, span: Span) -> R<sx_ir::DataId> {
        if let Some(&d) = self.out.rtti.records.get(&t) {
            return Ok(d);
        }
        let name = format!("__type.{}", self.fresh());
        let d = self.module.add_data(sx_ir::Data { name, bytes: vec![], align: 8, relocs: vec![], writable: false });
        self.out.rtti.records.insert(t, d);
        self.out.rtti.by_record.insert(d, t);
        self.write_type_record(t, d, span)?;
        Ok(d)
    }

    /// The record of `t` if one was emitted.
    pub(crate) fn existing_type_record(&self, t: TypeId) -> Option<sx_ir::DataId> {
        self.out.rtti.records.get(&t).copied()
    }

    /// Fills record `d` with what is known about `t` now. A forward-declared type's record is
    /// written again when the type is defined (its size never changes).
    pub(crate) fn write_type_record(&mut self, t: TypeId, d: sx_ir::DataId, span: Span) -> R<()> {
        let (info, member) = self.rtti_layout();
        let mut w = RecordWriter::new(self.types.size_of(info) as usize);
        let off = |c: &mut Compiler, f: &str| c.rtti_offset(false, f) as usize;
        let kind = self.type_category(t);
        let o = off(self, "kind");
        w.int(o, kind);
        let o = off(self, "size");
        w.int(o, self.types.size_of(t) as i64);
        let o = off(self, "align");
        w.int(o, self.types.align_of(t) as i64);
        let tname = self.types.name(t);
        let o = off(self, "name");
        self.write_string(&mut w, o, &tname);
        let elem = match self.types.kind(t).clone() {
            TK::Pointer(e) | TK::ManyPointer(e) | TK::Slice(e) | TK::Array(_, e) | TK::Vector(_, e) | TK::Optional(e) => Some(e),
            TK::String => Some(bt::U8),
            TK::Enum(_) => self.types.enum_of(t).map(|e| e.backing),
            _ => None,
        };
        if let Some(e) = elem {
            let ed = self.type_record(e, span)?;
            let o = off(self, "elem");
            w.reloc(o, RelocTarget::Data(ed));
        }
        let mut flags = 0;
        if self.types.is_signed(t) {
            flags |= flag::SIGNED;
        }
        if self.types.is_tuple(t) {
            flags |= flag::TUPLE;
        }
        // (name, type, offset, value) of each member.
        let mut members: Vec<(String, TypeId, i64, i64)> = vec![];
        let mut count = 0i64;
        match self.types.kind(t).clone() {
            TK::Struct(_) => {
                let fields = self.types.struct_of(t).map(|s| s.fields.clone()).unwrap_or_default();
                count = fields.len() as i64;
                members = fields.into_iter().map(|f| (f.name, f.ty, f.offset as i64, 0)).collect();
            }
            TK::Enum(_) => {
                if let Some(e) = self.types.enum_of(t).cloned() {
                    count = e.variants.len() as i64;
                    if e.flags {
                        flags |= flag::FLAGS;
                    }
                    if e.tagged {
                        flags |= flag::TAGGED;
                    }
                    let o = off(self, "payload_offset");
                    w.int(o, e.payload_offset as i64);
                    members = e
                        .variants
                        .into_iter()
                        .map(|v| (v.name, v.payload.unwrap_or(bt::VOID), e.payload_offset as i64, v.value as i64))
                        .collect();
                }
            }
            TK::Array(n, _) | TK::Vector(n, _) => count = n as i64,
            _ => {}
        }
        let o = off(self, "count");
        w.int(o, count);
        let o = off(self, "flags");
        w.int(o, flags);
        if !members.is_empty() {
            let msize = self.types.size_of(member) as usize;
            let mut mw = RecordWriter::new(msize * members.len());
            for (i, (mname, mty, moff, mval)) in members.into_iter().enumerate() {
                let base = i * msize;
                let o = self.rtti_offset(true, "name") as usize;
                self.write_string(&mut mw, base + o, &mname);
                let md = self.type_record(mty, span)?;
                let o = self.rtti_offset(true, "ty") as usize;
                mw.reloc(base + o, RelocTarget::Data(md));
                let o = self.rtti_offset(true, "offset") as usize;
                mw.int(base + o, moff);
                let o = self.rtti_offset(true, "value") as usize;
                mw.int(base + o, mval);
            }
            let name = format!("__type_members.{}", self.fresh());
            let md = self.module.add_data(sx_ir::Data { name, bytes: mw.bytes, align: 8, relocs: mw.relocs, writable: false });
            let o = off(self, "members");
            w.reloc(o, RelocTarget::Data(md));
        }
        if let Some(f) = self.type_fmt_fn(t, span)? {
            let o = off(self, "fmt");
            w.reloc(o, RelocTarget::Func(f));
        }
        self.module.datas[d].bytes = w.bytes;
        self.module.datas[d].relocs = w.relocs;
        Ok(())
    }

    /// Writes a `string` header for `s` at `off` (the bytes are an interned literal).
    fn write_string(&mut self, w: &mut RecordWriter, off: usize, s: &str) {
        let bytes = self.string_bytes_data(s.as_bytes());
        let pb = self.module.pointer_bytes() as usize;
        w.reloc(off, RelocTarget::Data(bytes));
        w.int(off + pb, s.len() as i64);
    }

    /// The generated `(p: *void)` function that prints the value of type `t` at `p` (what
    /// `print` calls for an `any`, and what printing a recursive type calls for its inner
    /// values); one per type, none without the standard library or for `void`.
    pub(crate) fn type_fmt_fn(&mut self, t: TypeId, span: Span) -> R<Option<sx_ir::FuncId>> {
        if matches!(self.types.kind(t), TK::Void | TK::NoReturn) {
            return Ok(None);
        }
        if let Some(&f) = self.out.print_fns.get(&t) {
            return Ok(Some(f));
        }
        let Some(std) = self.std_file.or_else(|| self.find_std()) else { return Ok(None) };
        let p = self.module.pointer_type();
        let name = format!("__sx_fmt_value.{}", self.fresh());
        let sig = Signature { params: vec![p], returns: vec![] };
        // Declared before its body is lowered: a recursive type's printer calls itself.
        let id = self.module.funcs.push(Function::new(name.clone(), sig.clone()));
        self.out.print_fns.insert(t, id);
        let f = Function::new(name, sig);
        let mut cx = FnCx::new(self, f, std, None, Rc::new(HashMap::new()));
        cx.e.span = Some(span);
        let entry = cx.new_block();
        cx.switch(entry);
        let arg = cx.b(|b| b.append_block_param(entry, p));
        let v = cx.load(arg, t);
        cx.emit_value(v, span)?;
        cx.e.ret_if_open();
        let f = cx.e.finish();
        self.module.funcs[id] = f;
        Ok(Some(id))
    }

    /// The functions that static data `d` refers to, directly or through other data (type
    /// records point at their print functions).
    pub(crate) fn funcs_in_data(&self, d: sx_ir::DataId) -> Vec<sx_ir::FuncId> {
        let mut out = vec![];
        let mut seen = std::collections::HashSet::new();
        let mut work = vec![d];
        while let Some(d) = work.pop() {
            if !seen.insert(d) {
                continue;
            }
            for r in &self.module.datas[d].relocs {
                match r.target {
                    RelocTarget::Data(x) => work.push(x),
                    RelocTarget::Func(f) => out.push(f),
                }
            }
        }
        out
    }
}

/// Bytes and relocations of a record under construction.
struct RecordWriter {
    bytes: Vec<u8>,
    relocs: Vec<Reloc>,
}

impl RecordWriter {
    fn new(size: usize) -> Self {
        RecordWriter { bytes: vec![0; size], relocs: vec![] }
    }
    fn int(&mut self, off: usize, v: i64) {
        if let Some(b) = self.bytes.get_mut(off..off + 8) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }
    fn reloc(&mut self, off: usize, target: RelocTarget) {
        self.relocs.push(Reloc { offset: off as u32, target, addend: 0 });
    }
}

impl<'c> FnCx<'c> {
    /// The run-time handle of type `t` (the address of its record).
    pub fn type_value(&mut self, t: TypeId, span: Span) -> R<Value> {
        let d = self.c.type_record(t, span)?;
        let p = self.ptr_ty();
        Ok(self.b(|b| b.data_addr(d, p)))
    }

    /// Loads word field `name` (`kind`, `size`, `elem`, `members`, …) of the record `tag`.
    pub fn rt_field(&mut self, tag: Value, name: &str) -> Value {
        let off = self.c.rtti_offset(false, name);
        let p = self.ptr_ty();
        self.b(|b| b.load(p, tag, off))
    }

    /// The address of the `name` string of record `tag` (a `string` in memory).
    pub fn rt_name(&mut self, tag: Value) -> TV {
        let off = self.c.rtti_offset(false, "name") as i64;
        let a = self.offset_addr(tag, off);
        TV { ty: bt::STRING, v: V::Mem(a) }
    }

    /// The address of member record `idx` (a run-time index) of record `tag`.
    pub fn rt_member(&mut self, tag: Value, idx: Value) -> Value {
        let base = self.rt_field(tag, "members");
        let size = self.c.rtti_member_size();
        let p = self.ptr_ty();
        let sz = self.iconst(p, size);
        let off = self.b(|b| b.binary(sx_ir::BinOp::Imul, idx, sz));
        self.b(|b| b.binary(sx_ir::BinOp::Iadd, base, off))
    }

    /// Loads word field `name` (`ty`, `offset`, `value`) of the member record at `m`.
    pub fn rt_member_field(&mut self, m: Value, name: &str) -> Value {
        let off = self.c.rtti_offset(true, name);
        let p = self.ptr_ty();
        self.b(|b| b.load(p, m, off))
    }

    /// The address of the `name` string of the member record at `m`.
    pub fn rt_member_name(&mut self, m: Value) -> TV {
        let off = self.c.rtti_offset(true, "name") as i64;
        let a = self.offset_addr(m, off);
        TV { ty: bt::STRING, v: V::Mem(a) }
    }
}
