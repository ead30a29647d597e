//! Places and member access: lvalues, fields, type members, indexing and slicing.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{BinOp as IB, IntCC, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// The storage `e` denotes, if it is an lvalue (`Ok(None)` for rvalues, without a
    /// diagnostic). With `for_write`, read-only bindings and constants are errors.
    pub fn place_opt(&mut self, e: &Expr, for_write: bool) -> R<Option<(Value, TypeId)>> {
        let span = e.span;
        let r = match &e.kind {
            ExprKind::Ident(id) => match self.resolve(id)? {
                Some(Local::Var { slot, ty, by_ref, readonly }) => {
                    if readonly && for_write {
                        return self.err(span, format!("cannot assign to '{}': it is read-only", id.name));
                    }
                    if for_write {
                        self.note_slot_write(slot);
                    } else {
                        self.check_value_slot_read(slot, id.span)?;
                    }
                    let a = self.slot_addr(slot);
                    let a = if by_ref {
                        let p = self.ptr_ty();
                        self.b(|b| b.load(p, a, 0))
                    } else {
                        a
                    };
                    Ok((a, ty))
                }
                Some(Local::Const(ConstVal::Global(d, ty))) => {
                    let p = self.ptr_ty();
                    Ok((self.b(|b| b.data_addr(d, p)), ty))
                }
                Some(Local::Const(_)) if for_write => self.err(span, format!("cannot assign to constant '{}'", id.name)),
                Some(Local::Const(_)) => return Ok(None),
                None => self.err(span, format!("undeclared identifier '{}'", id.name)),
            },
            ExprKind::Deref(inner) => {
                let pv = self.expr(inner, None)?;
                let TK::Pointer(t) = self.c.types.kind(pv.ty).clone() else {
                    let msg = format!("cannot dereference a value of type '{}'", self.tname(pv.ty));
                    return self.err(span, msg);
                };
                Ok((self.scalar(pv, span)?, t))
            }
            ExprKind::Field { base, name } => {
                self.check_pack_view(base, name)?;
                if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                    return match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                        Some(ConstVal::Global(d, ty)) => {
                            let p = self.ptr_ty();
                            Ok(Some((self.b(|b| b.data_addr(d, p)), ty)))
                        }
                        Some(_) if for_write => self.err(span, format!("cannot assign to constant '{}'", name.name)),
                        Some(_) => Ok(None),
                        None => self.err(name.span, format!("namespace has no member '{}'", name.name)),
                    };
                }
                if for_write {
                    self.check_const_root(base)?;
                }
                let (addr, ty) = self.aggregate_base(base, true)?;
                let pointee = match self.c.types.kind(ty) {
                    TK::Pointer(inner) => *inner,
                    _ => ty,
                };
                if self.c.runtime_class(pointee).is_some() {
                    let msg = format!("'{}' is a Java field: it has no address (assign it through a local holding the object)", name.name);
                    return self.err(name.span, msg);
                }
                if for_write && self.c.types.is_tagged_enum(ty) {
                    let msg = format!(
                        "cannot assign to variant '{}' of '{}' directly: construct the whole value instead (`x = .{}(…)`)",
                        name.name,
                        self.tname(ty),
                        name.name
                    );
                    return self.err(name.span, msg);
                }
                match self.field_of(ty, &name.name) {
                    Some((off, fty)) => Ok((self.offset_addr(addr, off as i64), fty)),
                    None => self.no_field(ty, name),
                }
            }
            ExprKind::Index { base, index } => {
                let address_only = std::mem::take(&mut self.address_only);
                if let Some(alias) = self.pack_index_alias(base, index)? {
                    return self.place_opt(&alias, for_write);
                }
                if for_write {
                    self.check_const_root(base)?;
                }
                let (addr, ty) = self.aggregate_base(base, true)?;
                let iv = self.expr(index, Some(bt::I64))?;
                if self.is_tuple_like(ty) {
                    return self.tuple_index(addr, ty, &iv, index.span).map(Some);
                }
                if !self.c.types.is_int(iv.ty) {
                    let msg = format!("index must be an integer, found '{}'", self.tname(iv.ty));
                    return self.err(index.span, msg);
                }
                let iv = if iv.as_const().map(|c| c.is_untyped()).unwrap_or(false) {
                    self.coerce(iv, bt::I64, index.span)?
                } else {
                    self.convert(iv, bt::I64, index.span)?
                };
                let p = self.ptr_ty();
                let pb = self.c.module.pointer_bytes() as i32;
                let mut len: Option<Value> = None;
                let (base_ptr, elem) = match self.c.types.kind(ty).clone() {
                    TK::Array(n, el) | TK::Vector(n, el) => {
                        if let Some(ConstVal::Int { v, .. }) = iv.as_const() {
                            if *v < 0 || *v as u64 > n || (*v as u64 == n && !address_only) {
                                return self.err(index.span, format!("index {} is out of bounds for an array of length {}", v, n));
                            }
                        } else {
                            len = Some(self.iconst(p, n as i64));
                        }
                        (addr, el)
                    }
                    TK::Slice(el) => {
                        len = Some(self.b(|b| b.load(p, addr, pb)));
                        (self.b(|b| b.load(p, addr, 0)), el)
                    }
                    TK::String => {
                        len = Some(self.b(|b| b.load(p, addr, pb)));
                        (self.b(|b| b.load(p, addr, 0)), bt::U8)
                    }
                    TK::ManyPointer(el) => (self.b(|b| b.load(p, addr, 0)), el),
                    _ => {
                        let msg = format!("cannot index a value of type '{}'", self.tname(ty));
                        return self.err(span, msg);
                    }
                };
                let i = self.scalar(iv, index.span)?;
                if let Some(len) = len {
                    if address_only {
                        let ok = self.b(|b| b.icmp(IntCC::Ule, i, len));
                        self.panic_unless(ok, index.span, "index out of bounds");
                    } else {
                        self.bounds_check(i, len, index.span);
                    }
                }
                let esz = self.c.types.size_of(elem) as i64;
                let sz = self.iconst(p, esz);
                let off = self.b(|b| b.binary(IB::Imul, i, sz));
                Ok((self.b(|b| b.binary(IB::Iadd, base_ptr, off)), elem))
            }
            _ => return Ok(None),
        };
        if let (Some(ix), Ok((_, ty))) = (self.c.index.as_mut(), &r) {
            ix.expr(span, *ty, None);
        }
        r.map(Some)
    }

    /// Rejects a write into a constant aggregate (`K[1] = 2`, `K.a = 2`): follows fields and
    /// indices (not pointer dereferences) down to the root name.
    pub(crate) fn check_const_root(&mut self, base: &Expr) -> R<()> {
        let mut e = base;
        loop {
            match &e.kind {
                ExprKind::Field { base, .. } | ExprKind::Index { base, .. } => e = base,
                ExprKind::Ident(id) => {
                    let konst = match self.resolve(id)? {
                        Some(Local::Const(ConstVal::Data(_, ty))) => !self.c.types.is_pointer_like(ty),
                        Some(Local::Const(ConstVal::Str(_))) => true,
                        _ => false,
                    };
                    if konst {
                        return self.err(e.span, format!("cannot assign to constant '{}'", id.name));
                    }
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }

    /// Stops the program with a located message when `i` is not below `len` (unsigned, so
    /// negative indices fail too). Natively and on the VM alike: `write` + `_exit(1)`.
    pub fn bounds_check(&mut self, i: Value, len: Value, span: Span) {
        let ok = self.b(|b| b.icmp(IntCC::Ult, i, len));
        self.panic_unless(ok, span, "index out of bounds");
    }

    /// The memory holding a struct/array/slice operand (auto-dereferencing one pointer level).
    /// With `want_place`, lvalues yield their own storage so writes land there.
    pub(crate) fn aggregate_base(&mut self, base: &Expr, want_place: bool) -> R<(Value, TypeId)> {
        let got = if want_place { self.place_opt(base, false)? } else { None };
        let (addr, ty) = match got {
            Some(p) => p,
            None => {
                let v = self.expr(base, None)?;
                let ty = v.ty;
                if let V::Const(ConstVal::Type(_)) | V::Const(ConstVal::Namespace(_)) = v.v {
                    return self.err(base.span, "expected a value");
                }
                let v = self.materialize(v, base.span)?;
                match v.v {
                    V::Mem(a) => (a, ty),
                    V::Scalar(s) if self.c.types.is_pointer_like(ty) => {
                        // A pointer value: its pointee is the aggregate.
                        if let TK::Pointer(inner) | TK::ManyPointer(inner) = self.c.types.kind(ty).clone() {
                            if matches!(self.c.types.kind(ty), TK::ManyPointer(_)) {
                                let sl = self.slot_for(ty);
                                let a = self.slot_addr(sl);
                                self.b(|b| b.store(a, 0, s));
                                return Ok((a, ty));
                            }
                            return Ok((s, inner));
                        }
                        return self.err(base.span, "cannot access a member of this value");
                    }
                    V::Scalar(s) => {
                        let sl = self.slot_for(ty);
                        let a = self.slot_addr(sl);
                        self.b(|b| b.store(a, 0, s));
                        (a, ty)
                    }
                    _ => return self.err(base.span, "expected a value"),
                }
            }
        };
        if let TK::Pointer(inner) = self.c.types.kind(ty).clone() {
            let p = self.ptr_ty();
            let pv = self.b(|b| b.load(p, addr, 0));
            return Ok((pv, inner));
        }
        Ok((addr, ty))
    }

    /// Byte offset and type of field `name` of aggregate type `ty` (`ptr`/`len` of slices too).
    pub fn field_of(&mut self, ty: TypeId, name: &str) -> Option<(u64, TypeId)> {
        let pb = self.c.module.pointer_bytes() as u64;
        match self.c.types.kind(ty).clone() {
            TK::Struct(_) => self
                .c
                .types
                .struct_of(ty)?
                .fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| (f.offset, f.ty))
                .or_else(|| self.tuple_element(ty, name))
                .or_else(|| crate::type_rules::promoted_field(&self.c.types, ty, name).map(|(off, t, _)| (off, t))),
            TK::Enum(_) => {
                let e = self.c.types.enum_of(ty)?;
                let v = e.variants.iter().find(|v| v.name == name)?;
                Some((e.payload_offset, v.payload?))
            }
            TK::String => match name {
                "ptr" => Some((0, self.c.types.many_pointer(bt::U8))),
                "len" => Some((pb, bt::I64)),
                _ => None,
            },
            TK::Slice(e) => match name {
                "ptr" => Some((0, self.c.types.many_pointer(e))),
                "len" => Some((pb, bt::I64)),
                _ => None,
            },
            // A vector lane by name (`.x .y .z .w`, `.r .g .b .a`): an assignable place.
            TK::Vector(n, e) => {
                let lane = crate::vector::lane_of(name).filter(|l| *l < n)?;
                Some((lane * self.c.types.size_of(e), e))
            }
            // A closure's two words: the code and its environment.
            TK::Closure { .. } => match name {
                "fn_ptr" => Some((0, self.c.types.pointer(bt::VOID))),
                "env" => Some((pb, self.c.types.pointer(bt::VOID))),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn no_field_pub<T>(&mut self, ty: TypeId, name: &Ident) -> R<T> {
        self.no_field(ty, name)
    }

    pub(crate) fn no_field<T>(&mut self, ty: TypeId, name: &Ident) -> R<T> {
        let msg = if self.c.types.is_tuple(ty) {
            format!("field '{}' not found on type '{}'", name.name, self.tname(ty))
        } else {
            format!("type '{}' has no field '{}'", self.tname(ty), name.name)
        };
        self.err(name.span, msg)
    }

    pub(crate) fn field(&mut self, base: &Expr, name: &Ident, span: Span) -> R<TV> {
        if let Some(tv) = self.pack_field(base, name)? {
            return Ok(tv);
        }
        self.check_pack_view(base, name)?;
        // A bare numeric type name as a receiver (`f64.epsilon`, `i32.max`) is always the type:
        // only a raw identifier (`` `f64 ``) reads a value bound under that spelling.
        if let ExprKind::Ident(id) = &base.kind {
            if !id.raw && !matches!(id.name.as_str(), "int" | "float") {
                if let Some(t) = builtin_type(&mut self.c.types, &id.name).filter(|t| self.c.types.is_numeric(*t)) {
                    return self.type_member(t, name);
                }
            }
        }
        // Namespaces and types first.
        if matches!(base.kind, ExprKind::Ident(_) | ExprKind::Field { .. }) {
            if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                return match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                    Some(ConstVal::Global(d, ty)) => {
                        let p = self.ptr_ty();
                        let a = self.b(|bb| bb.data_addr(d, p));
                        Ok(self.load(a, ty))
                    }
                    Some(ConstVal::Func(fid)) if self.c.needs_instance(fid) => Ok(TV::konst(ConstVal::Func(fid))),
                    Some(ConstVal::Func(fid)) => {
                        let t = self.c.fn_type(fid)?;
                        Ok(TV { ty: t, v: V::Const(ConstVal::Func(fid)) })
                    }
                    Some(c) => Ok(TV::konst(c)),
                    None => self.err(name.span, format!("namespace has no member '{}'", name.name)),
                };
            }
        }
        if let Some(t) = self.try_type(base)? {
            return self.type_member(t, name);
        }
        // Fields of constant aggregates fold (not those of a constant re-lowered at each use).
        if let ExprKind::Ident(id) = &base.kind {
            let folds = self.inline_struct_const_init(id)?.is_none();
            if let Some(ConstVal::Data(d, ty)) = if folds { self.resolve_path(base)? } else { None } {
                if let Some((off, fty)) = self.field_of(ty, &name.name) {
                    if self.c.types.scalar(fty).is_some() && !self.c.types.is_pointer_like(fty) {
                        let es = self.c.types.size_of(fty) as usize;
                        let bytes = self.c.module.datas[d].bytes.get(off as usize..off as usize + es).map(|b| b.to_vec());
                        if let Some(c) = bytes.and_then(|b| self.c.scalar_const(fty, &b)) {
                            return Ok(TV::konst(c));
                        }
                    }
                }
            }
        }
        let bv = self.expr(base, None)?;
        if self.vector_shape(bv.ty).is_some() {
            return self.vector_member(bv, name, span);
        }
        // Constant folds: `.len` of arrays, fields of constant aggregates are loaded normally.
        if let TK::Array(n, _) = self.c.types.kind(bv.ty).clone() {
            if name.name == "len" {
                return Ok(TV::konst(ConstVal::Int { v: n as i128, ty: Some(bt::I64) }));
            }
        }
        if let TK::Pointer(inner) = self.c.types.kind(bv.ty).clone() {
            if let TK::Array(n, _) = self.c.types.kind(inner).clone() {
                if name.name == "len" {
                    return Ok(TV::konst(ConstVal::Int { v: n as i128, ty: Some(bt::I64) }));
                }
            }
        }
        if let Some(ConstVal::Str(s)) = bv.as_const() {
            if name.name == "len" {
                return Ok(TV::konst(ConstVal::Int { v: s.len() as i128, ty: Some(bt::I64) }));
            }
        }
        if matches!(self.c.types.kind(bv.ty), TK::Func { .. }) && matches!(name.name.as_str(), "fn_ptr" | "env") {
            // A function value seen as a closure: its code, and no environment.
            let vp = self.c.types.pointer(bt::VOID);
            if name.name == "env" {
                return Ok(TV { ty: vp, v: V::Const(ConstVal::Null) });
            }
            let code = self.materialize(bv, span)?;
            let code = self.scalar(code, span)?;
            return Ok(TV { ty: vp, v: V::Scalar(code) });
        }
        let ty = bv.ty;
        let bv = self.materialize(bv, span)?;
        let (addr, aty) = match bv.v {
            V::Mem(a) => (a, ty),
            V::Scalar(p) => match self.c.types.kind(ty).clone() {
                TK::Pointer(inner) if self.c.runtime_class(inner).is_some() => return self.runtime_field_get(p, inner, name, span),
                TK::Pointer(inner) => (p, inner),
                _ => return self.no_field(ty, name),
            },
            _ => return self.no_field(ty, name),
        };
        match self.field_of(aty, &name.name) {
            Some((off, fty)) => {
                let a = self.offset_addr(addr, off as i64);
                Ok(self.load(a, fty))
            }
            None => match self.c.struct_member(aty, &name.name)? {
                Some(ConstVal::Func(fid)) if self.c.fns[fid].decl.attrs.get => self.call_getter(fid, addr, aty, span),
                _ => self.no_field(aty, name),
            },
        }
    }

    /// `T.name`: numeric limits, struct constants and methods.
    pub(crate) fn type_member(&mut self, t: TypeId, name: &Ident) -> R<TV> {
        let k = self.c.types.kind(t).clone();
        match (&k, name.name.as_str()) {
            (TK::Int { bits, signed, .. }, "min" | "max") => {
                let (lo, hi) = consts::int_range(*bits, *signed);
                let v = if name.name == "min" { lo } else { hi };
                return Ok(TV::konst(ConstVal::Int { v, ty: Some(t) }));
            }
            (TK::Float { bits }, n) => {
                let v = match (bits, n) {
                    (32, "max") => f32::MAX as f64,
                    (32, "min") => f32::MIN as f64,
                    (32, "epsilon") => f32::EPSILON as f64,
                    (32, "min_positive") => f32::MIN_POSITIVE as f64,
                    (32, "true_min") => f32::from_bits(1) as f64,
                    (64, "max") => f64::MAX,
                    (64, "min") => f64::MIN,
                    (64, "epsilon") => f64::EPSILON,
                    (64, "min_positive") => f64::MIN_POSITIVE,
                    (64, "true_min") => f64::from_bits(1),
                    (_, "inf") => f64::INFINITY,
                    (_, "nan") => f64::NAN,
                    _ => return self.err(name.span, format!("type '{}' has no member '{}'", self.tname(t), name.name)),
                };
                return Ok(TV::konst(ConstVal::Float { v, ty: Some(t) }));
            }
            (TK::Array(n, _), "len") => return Ok(TV::konst(ConstVal::Int { v: *n as i128, ty: Some(bt::I64) })),
            (TK::Enum(_), _) => {
                let has = self.c.types.enum_of(t).map(|e| e.variants.iter().any(|v| v.name == name.name)).unwrap_or(false);
                if has {
                    return self.enum_variant_value(t, name, None, name.span);
                }
            }
            _ => {}
        }
        match self.c.struct_member(t, &name.name)? {
            Some(ConstVal::Func(fid)) => {
                let ft = self.c.fn_type(fid)?;
                Ok(TV { ty: ft, v: V::Const(ConstVal::Func(fid)) })
            }
            Some(c) => Ok(TV::konst(c)),
            None => self.err(name.span, format!("type '{}' has no member '{}'", self.tname(t), name.name)),
        }
    }

    pub(crate) fn subslice(&mut self, base: &Expr, lo: Option<&Expr>, hi: Option<&Expr>, lo_ex: bool, hi_inc: bool, span: Span) -> R<TV> {
        let (addr, ty) = match self.place_opt(base, false)? {
            Some(p) => p,
            None => {
                let v = self.expr(base, None)?;
                if matches!(self.c.types.kind(v.ty), TK::Array(..)) {
                    return self.err(base.span, "cannot slice a temporary array: store it in a variable first");
                }
                let ty = v.ty;
                let v = self.materialize(v, base.span)?;
                match v.v {
                    V::Mem(a) => (a, ty),
                    V::Scalar(s) => {
                        let sl = self.slot_for(ty);
                        let a = self.slot_addr(sl);
                        self.b(|b| b.store(a, 0, s));
                        (a, ty)
                    }
                    _ => return self.err(base.span, "cannot slice this value"),
                }
            }
        };
        let p = self.ptr_ty();
        let pb = self.c.module.pointer_bytes() as i32;
        let (ptr, len, elem, result) = match self.c.types.kind(ty).clone() {
            TK::Array(n, e) => {
                let l = self.iconst(p, n as i64);
                let st = self.c.types.slice(e);
                (addr, Some(l), e, st)
            }
            TK::Slice(e) => {
                let (a, l) = self.b(|b| (b.load(p, addr, 0), b.load(p, addr, pb)));
                (a, Some(l), e, ty)
            }
            TK::String => {
                let (a, l) = self.b(|b| (b.load(p, addr, 0), b.load(p, addr, pb)));
                (a, Some(l), bt::U8, ty)
            }
            TK::ManyPointer(e) => {
                let a = self.b(|b| b.load(p, addr, 0));
                let st = self.c.types.slice(e);
                (a, None, e, st)
            }
            TK::Pointer(inner) => match self.c.types.kind(inner).clone() {
                TK::Array(n, e) => {
                    let a = self.b(|b| b.load(p, addr, 0));
                    let l = self.iconst(p, n as i64);
                    let st = self.c.types.slice(e);
                    (a, Some(l), e, st)
                }
                _ => return self.err(span, format!("cannot slice a value of type '{}'", self.tname(ty))),
            },
            _ => return self.err(span, format!("cannot slice a value of type '{}'", self.tname(ty))),
        };
        let bound = |cx: &mut Self, e: Option<&Expr>| -> R<Option<Value>> {
            match e {
                None => Ok(None),
                Some(e) => {
                    let v = cx.expr(e, Some(bt::I64))?;
                    let v = if v.as_const().map(|c| c.is_untyped()).unwrap_or(false) {
                        cx.coerce(v, bt::I64, e.span)?
                    } else {
                        cx.convert(v, bt::I64, e.span)?
                    };
                    Ok(Some(cx.scalar(v, e.span)?))
                }
            }
        };
        let lo_v = bound(self, lo)?;
        let hi_v = bound(self, hi)?;
        let one = self.iconst(p, 1);
        let start = match lo_v {
            Some(v) if lo_ex => self.b(|b| b.binary(IB::Iadd, v, one)),
            Some(v) => v,
            None => self.iconst(p, if lo_ex { 1 } else { 0 }),
        };
        let end = match hi_v {
            Some(v) if hi_inc => self.b(|b| b.binary(IB::Iadd, v, one)),
            Some(v) => v,
            None => match len {
                Some(l) => l,
                None => return self.err(span, "slicing a many-pointer needs an explicit end"),
            },
        };
        let esz = self.c.types.size_of(elem) as i64;
        let sz = self.iconst(p, esz);
        let off = self.b(|b| b.binary(IB::Imul, start, sz));
        let nptr = self.b(|b| b.binary(IB::Iadd, ptr, off));
        let nlen = self.b(|b| b.binary(IB::Isub, end, start));
        self.make_slice(nptr, Some(nlen), 0, result)
    }
}
