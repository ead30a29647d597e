//! Reflection intrinsics: `size_of`, `type_name`, `struct_field_*`, `variant_*`, `type_eq`,
//! `any_element`, `raw_make_any`, ….
//!
//! Each accepts a compile-time type (the answer folds to a constant when every argument is
//! constant) or a run-time `Type` value (the answer is read from the type records of
//! [`crate::reflect`]). An `any` passed where a type is expected stands for the type it holds —
//! or, when it holds a `Type` value, for that type.

use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
use crate::type_rules::{cat, flag};
use crate::*;
use sx_ir::{BinOp as IB, IntCC, Type as IrType, Value};
use sx_types::TypeKind as TK;

/// A type argument: known at compile time, or a run-time handle.
#[derive(Clone, Copy)]
enum TyArg {
    Static(TypeId),
    Runtime(Value),
}

/// An index argument: a constant, or a run-time `i64`.
#[derive(Clone, Copy)]
enum IdxArg {
    Static(i64),
    Runtime(Value),
}

impl<'c> FnCx<'c> {
    /// Lowers reflection intrinsic `name`; `None` when `name` is not one of them.
    pub fn introspect(&mut self, name: &str, args: &[Arg], span: Span) -> Option<R<TV>> {
        if !REFLECTION_INTRINSICS.contains(&name) {
            return None;
        }
        Some(self.introspect_inner(name, args, span))
    }

    fn introspect_inner(&mut self, name: &str, args: &[Arg], span: Span) -> R<TV> {
        let arity = match name {
            "size_of"
            | "align_of"
            | "type_name"
            | "type_of"
            | "is_unsigned"
            | "is_flags"
            | "is_identity"
            | "struct_field_count"
            | "variant_count"
            | "pointee_type"
            | "raw_any_data"
            | "is_struct"
            | "vector_lanes"
            | "__sx_variant_tag_width"
            | "__type_kind"
            | "__type_flags"
            | "__type_count"
            | "__type_elem" => 1,
            "any_element" => 3,
            _ => 2,
        };
        if args.len() != arity || args.iter().any(|a| a.spread || a.name.is_some()) {
            return self.err(span, format!("'{}' takes {} argument{}", name, arity, if arity == 1 { "" } else { "s" }));
        }
        let a0 = &args[0].value;
        match name {
            "type_of" => {
                self.value_ctx = true;
                let v = self.expr(a0, None)?;
                if v.ty == bt::ANY || self.c.is_protocol(v.ty) {
                    // An `any` or a protocol value: the concrete type stamped in its second word.
                    let (_, tag) = self.any_parts(v, a0.span)?;
                    return Ok(TV { ty: bt::TYPE, v: V::Scalar(tag) });
                }
                let t = if let Some(ConstVal::Func(f)) = v.as_const() { self.c.fn_type(*f)? } else { v.ty };
                Ok(TV::konst(ConstVal::Type(t)))
            }
            "size_of" | "align_of" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => {
                    let v = if name == "size_of" { self.c.types.size_of(t) } else { self.c.types.align_of(t) };
                    Ok(int_const(v as i64))
                }
                TyArg::Runtime(tag) => Ok(i64_val(self.rt_field(tag, if name == "size_of" { "size" } else { "align" }))),
            },
            "type_name" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(TV::konst(ConstVal::Str(self.tname(t).into_bytes()))),
                TyArg::Runtime(tag) => Ok(self.rt_name(tag)),
            },
            "type_eq" => {
                let (a, b) = (self.type_arg(name, a0)?, self.type_arg(name, &args[1].value)?);
                if let (TyArg::Static(x), TyArg::Static(y)) = (a, b) {
                    return Ok(TV::konst(ConstVal::Bool(x == y)));
                }
                let (x, y) = (self.handle(a, span)?, self.handle(b, span)?);
                Ok(bool_val(self.b(|bb| bb.icmp(IntCC::Eq, x, y))))
            }
            "is_unsigned" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(TV::konst(ConstVal::Bool(self.c.types.is_int(t) && !self.c.types.is_signed(t)))),
                TyArg::Runtime(tag) => {
                    let is_int = self.kind_is(tag, cat::INT);
                    let signed = self.flag_set(tag, flag::SIGNED);
                    let one = self.iconst(IrType::I8, 1);
                    let unsigned = self.b(|b| b.binary(IB::Xor, signed, one));
                    Ok(bool_val(self.b(|b| b.binary(IB::And, is_int, unsigned))))
                }
            },
            "is_struct" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(TV::konst(ConstVal::Bool(matches!(self.c.types.kind(t), TK::Struct(_))))),
                TyArg::Runtime(tag) => Ok(bool_val(self.kind_is(tag, cat::STRUCT))),
            },
            "vector_lanes" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(int_const(match self.c.types.kind(t) {
                    TK::Vector(n, _) => *n as i64,
                    _ => 0,
                })),
                TyArg::Runtime(tag) => {
                    // A record's `count` is the lane count for vectors; other kinds answer 0.
                    let ok = self.kind_is(tag, cat::VECTOR);
                    let n = self.rt_field(tag, "count");
                    let z = self.iconst(IrType::I64, 0);
                    Ok(i64_val(self.b(|b| b.select(ok, n, z))))
                }
            },
            "__sx_variant_tag_width" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(int_const(match self.c.types.enum_of(t).map(|e| e.backing) {
                    Some(backing) => {
                        let w = self.c.types.size_of(backing) as i64;
                        if self.c.types.is_signed(backing) {
                            -w
                        } else {
                            w
                        }
                    }
                    None => 0,
                })),
                TyArg::Runtime(tag) => {
                    // An enum's record holds its tag type as `elem`; other kinds answer 0 (and
                    // read the size of their own record instead of a possibly null `elem`).
                    let is_enum = self.kind_is(tag, cat::ENUM);
                    let elem = self.rt_field(tag, "elem");
                    let backing = self.b(|b| b.select(is_enum, elem, tag));
                    let size = self.rt_field(backing, "size");
                    let zero = self.iconst(IrType::I64, 0);
                    let neg = self.b(|b| b.binary(IB::Isub, zero, size));
                    let signed = self.flag_set(tag, flag::SIGNED);
                    let w = self.b(|b| b.select(signed, neg, size));
                    Ok(i64_val(self.b(|b| b.select(is_enum, w, zero))))
                }
            },
            "has_impl" => {
                let (TyArg::Static(p), TyArg::Static(t)) = (self.type_arg(name, a0)?, self.type_arg(name, &args[1].value)?) else {
                    return self.err(span, "'has_impl' needs a protocol and a type known at compile time");
                };
                if !self.c.is_protocol(p) {
                    return self.err(a0.span, format!("'has_impl' expects a protocol, got '{}'", self.tname(p)));
                }
                self.c.instantiate_generic_impls(t)?;
                Ok(TV::konst(ConstVal::Bool(self.c.protos.impls.contains_key(&(p, t)))))
            }
            "is_identity" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(TV::konst(ConstVal::Bool(self.c.protos.protocols.get(&t).map(|i| i.identity).unwrap_or(false)))),
                TyArg::Runtime(_) => self.err(span, "'is_identity' needs a type known at compile time"),
            },
            "is_flags" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => Ok(TV::konst(ConstVal::Bool(self.c.types.enum_of(t).map(|e| e.flags).unwrap_or(false)))),
                TyArg::Runtime(tag) => Ok(bool_val(self.flag_set(tag, flag::FLAGS))),
            },
            "struct_field_count"
            | "variant_count"
            | "struct_field_name"
            | "variant_name"
            | "struct_field_type"
            | "variant_type"
            | "struct_field_offset"
            | "variant_value"
            | "struct_field_value"
            | "variant_index"
            | "variant_payload" => self.member_introspection(name, args, span),
            "pointee_type" => match self.type_arg(name, a0)? {
                TyArg::Static(t) => match self.c.types.kind(t).clone() {
                    TK::Pointer(e) | TK::ManyPointer(e) => Ok(TV::konst(ConstVal::Type(e))),
                    _ => self.err(a0.span, format!("'{}' is not a pointer type", self.tname(t))),
                },
                TyArg::Runtime(tag) => Ok(TV { ty: bt::TYPE, v: V::Scalar(self.rt_field(tag, "elem")) }),
            },
            "any_element" => {
                let av = self.expr(a0, Some(bt::ANY))?;
                let av = self.coerce(av, bt::ANY, a0.span)?;
                let (data, _) = self.any_parts(av, a0.span)?;
                let et = self.type_arg(name, &args[1].value)?;
                let i = self.index_arg(&args[2].value)?;
                let idx = self.index_value(i);
                let tag = self.handle(et, span)?;
                let size = match et {
                    TyArg::Static(t) => self.iconst(IrType::I64, self.c.types.size_of(t) as i64),
                    TyArg::Runtime(tag) => self.rt_field(tag, "size"),
                };
                let off = self.b(|b| b.binary(IB::Imul, idx, size));
                let ea = self.b(|b| b.binary(IB::Iadd, data, off));
                Ok(self.make_any(ea, tag))
            }
            // Raw words of a type's record (what `type_info` in std/meta.sx is built from): its
            // category code, flag bits, element/member count and element type.
            "__type_kind" | "__type_flags" | "__type_count" => {
                let t = self.type_arg(name, a0)?;
                let tag = self.handle(t, span)?;
                let field = match name {
                    "__type_kind" => "kind",
                    "__type_flags" => "flags",
                    _ => "count",
                };
                Ok(i64_val(self.rt_field(tag, field)))
            }
            "__type_elem" => {
                let t = self.type_arg(name, a0)?;
                let tag = self.handle(t, span)?;
                Ok(TV { ty: bt::TYPE, v: V::Scalar(self.rt_field(tag, "elem")) })
            }
            "raw_any_data" => {
                let av = self.expr(a0, Some(bt::ANY))?;
                let av = self.coerce(av, bt::ANY, a0.span)?;
                let (data, _) = self.any_parts(av, a0.span)?;
                let pv = self.c.types.pointer(bt::VOID);
                Ok(TV { ty: pv, v: V::Scalar(data) })
            }
            "raw_make_any" => {
                let t = self.type_arg(name, a0)?;
                let tag = self.handle(t, span)?;
                let pv = self.c.types.pointer(bt::VOID);
                let p = self.expr(&args[1].value, Some(pv))?;
                let p = self.coerce(p, pv, args[1].value.span)?;
                let data = self.scalar(p, args[1].value.span)?;
                Ok(self.make_any(data, tag))
            }
            _ => self.err(span, format!("not supported yet: intrinsic '{}'", name)),
        }
    }

    /// The intrinsics over a struct's fields and an enum's variants (count, name, type,
    /// offset, value, index, payload); the caller has checked the arity.
    fn member_introspection(&mut self, name: &str, args: &[Arg], span: Span) -> R<TV> {
        let a0 = &args[0].value;
        if matches!(name, "struct_field_count" | "struct_field_name" | "variant_count" | "variant_name") {
            if let TyArg::Static(t) = self.type_arg(name, a0)? {
                self.check_member_family(name, t, span)?;
            }
        }
        match name {
            "struct_field_count" | "variant_count" => {
                let want_enum = name == "variant_count";
                match self.type_arg(name, a0)? {
                    TyArg::Static(t) => {
                        // `struct_field_count` of an enum known at compile time counts its variants
                        // (a run-time `Type` of an enum has no fields).
                        let variants = self.c.types.enum_of(t).map(|e| e.variants.len());
                        let n = if want_enum {
                            variants.unwrap_or(0)
                        } else {
                            self.c.types.struct_of(t).map(|s| s.fields.len()).or(variants).unwrap_or(0)
                        };
                        Ok(int_const(n as i64))
                    }
                    TyArg::Runtime(tag) => {
                        let ok = if want_enum { self.kind_is(tag, cat::ENUM) } else { self.has_fields(tag) };
                        let n = self.rt_field(tag, "count");
                        let z = self.iconst(IrType::I64, 0);
                        Ok(i64_val(self.b(|b| b.select(ok, n, z))))
                    }
                }
            }
            "struct_field_name" | "variant_name" => {
                let t = self.type_arg(name, a0)?;
                let i = self.index_arg(&args[1].value)?;
                if let (TyArg::Static(t), IdxArg::Static(i)) = (t, i) {
                    let (n, _, _, _) = self.static_member(t, i, name == "variant_name", span)?;
                    // A positional tuple element has no name.
                    let positional = self.c.types.is_tuple(t) && n.bytes().all(|b| b.is_ascii_digit());
                    let n = if positional { String::new() } else { n };
                    return Ok(TV::konst(ConstVal::Str(n.into_bytes())));
                }
                let m = self.member_addr(t, i, span)?;
                Ok(self.rt_member_name(m))
            }
            "struct_field_type" | "variant_type" => {
                let t = self.type_arg(name, a0)?;
                let i = self.index_arg(&args[1].value)?;
                if let (TyArg::Static(st), IdxArg::Static(k)) = (t, i) {
                    if name == "struct_field_type" && self.c.types.struct_of(st).is_none() && self.c.types.enum_of(st).is_none() {
                        let elem = self.element_type(st);
                        return match elem {
                            Some(e) => Ok(TV::konst(ConstVal::Type(e))),
                            None => self.err(args[0].value.span, format!("'{}' has no fields", self.tname(st))),
                        };
                    }
                    let (_, ty, _, _) = self.static_member(st, k, name == "variant_type", span)?;
                    return Ok(TV::konst(ConstVal::Type(ty)));
                }
                let tag = self.handle(t, span)?;
                let idx = self.index_value(i);
                if name == "variant_type" {
                    let m = self.rt_member(tag, idx);
                    return Ok(TV { ty: bt::TYPE, v: V::Scalar(self.rt_member_field(m, "ty")) });
                }
                // Structs and unions: the field's type; arrays, slices, optionals, pointers: the
                // element type.
                let p = self.ptr_ty();
                let s = self.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
                let elem = self.rt_field(tag, "elem");
                let sa = self.slot_addr(s);
                self.b(|b| b.store(sa, 0, elem));
                let has = self.has_fields(tag);
                let fields = self.new_block();
                let join = self.new_block();
                self.b(|b| b.branch(has, fields, vec![], join, vec![]));
                self.switch(fields);
                let m = self.rt_member(tag, idx);
                let mty = self.rt_member_field(m, "ty");
                let sa = self.slot_addr(s);
                self.b(|b| b.store(sa, 0, mty));
                self.jump(join);
                self.switch(join);
                let sa = self.slot_addr(s);
                Ok(TV { ty: bt::TYPE, v: V::Scalar(self.b(|b| b.load(p, sa, 0))) })
            }
            "struct_field_offset" | "variant_value" => {
                let t = self.type_arg(name, a0)?;
                let i = self.index_arg(&args[1].value)?;
                let enums = name == "variant_value";
                if let (TyArg::Static(st), IdxArg::Static(k)) = (t, i) {
                    let (_, _, off, val) = self.static_member(st, k, enums, span)?;
                    return Ok(int_const(if enums { val } else { off }));
                }
                let m = self.member_addr(t, i, span)?;
                Ok(i64_val(self.rt_member_field(m, if enums { "value" } else { "offset" })))
            }
            "struct_field_value" => {
                let (data, t) = self.value_view(a0)?;
                let i = self.index_arg(&args[1].value)?;
                if let (TyArg::Static(st), IdxArg::Static(k)) = (t, i) {
                    let (_, fty, off, _) = self.static_member(st, k, false, span)?;
                    let fa = self.offset_addr(data, off);
                    return self.box_place(fa, fty, span);
                }
                let m = self.member_addr(t, i, span)?;
                let off = self.rt_member_field(m, "offset");
                let fty = self.rt_member_field(m, "ty");
                let fa = self.b(|b| b.binary(IB::Iadd, data, off));
                Ok(self.make_any(fa, fty))
            }
            "variant_index" => {
                let t = self.type_arg(name, a0)?;
                let (data, vt) = self.value_view(&args[1].value)?;
                let tagv = self.enum_tag_value(data, vt, span)?;
                match t {
                    TyArg::Static(st) => {
                        let Some(e) = self.c.types.enum_of(st).cloned() else {
                            return self.err(args[0].value.span, format!("'{}' is not an enum", self.tname(st)));
                        };
                        let mut acc = self.iconst(IrType::I64, -1);
                        for (k, var) in e.variants.iter().enumerate().rev() {
                            let vv = self.iconst(IrType::I64, var.value as i64);
                            let hit = self.b(|b| b.icmp(IntCC::Eq, tagv, vv));
                            let kv = self.iconst(IrType::I64, k as i64);
                            acc = self.b(|b| b.select(hit, kv, acc));
                        }
                        Ok(i64_val(acc))
                    }
                    TyArg::Runtime(tag) => {
                        let members = self.rt_field(tag, "members");
                        let count = self.rt_field(tag, "count");
                        let stride = self.c.rtti_member_size();
                        let stride = self.iconst(IrType::I64, stride);
                        let voff = self.c.rtti_offset(true, "value") as i64;
                        let voff = self.iconst(IrType::I64, voff);
                        self.call_runtime(RuntimeFn::FindMemberValue, vec![members, count, stride, voff, tagv], bt::I64, span)
                    }
                }
            }
            "variant_payload" => {
                let (data, vt) = self.value_view(a0)?;
                let i = self.index_arg(&args[1].value)?;
                if let (TyArg::Static(st), IdxArg::Static(k)) = (vt, i) {
                    let (_, pty, off, _) = self.static_member(st, k, true, span)?;
                    let pa = self.offset_addr(data, off);
                    return self.box_place(pa, pty, span);
                }
                let m = self.member_addr(vt, i, span)?;
                let off = self.rt_member_field(m, "offset");
                let pty = self.rt_member_field(m, "ty");
                let pa = self.b(|b| b.binary(IB::Iadd, data, off));
                Ok(self.make_any(pa, pty))
            }
            other => self.err(span, format!("'{}' is not a member reflection intrinsic", other)),
        }
    }

    /// `type_info(t)` of a library that declares it as an intrinsic: the runtime's description
    /// of `t` as the `TypeInfo` type declared next to that intrinsic.
    pub(crate) fn type_info_call(&mut self, args: &[Arg], span: Span) -> R<TV> {
        let [a] = args else { return self.err(span, "'type_info' takes one argument") };
        let Some(info) = self.c.intrinsic_companion_type("type_info", "TypeInfo", span)? else {
            return self.err(span, "'type_info' needs the library's 'TypeInfo' type, declared next to the intrinsic");
        };
        let t = self.type_arg("type_info", &a.value)?;
        let tag = self.handle(t, span)?;
        let t = TV { ty: bt::TYPE, v: V::Scalar(tag) };
        self.call_runtime_generic("__sx_rt_type_info", vec![("R".to_string(), ConstVal::Type(info))], vec![t], span)
    }

    /// Evaluates a type argument.
    fn type_arg(&mut self, what: &str, e: &Expr) -> R<TyArg> {
        if let Some(t) = self.type_fn_type(e)? {
            return Ok(TyArg::Static(t));
        }
        let v = self.expr(e, Some(bt::TYPE))?;
        if let Some(ConstVal::Type(t)) = v.as_const() {
            return Ok(TyArg::Static(*t));
        }
        match v.ty {
            t if t == bt::TYPE => Ok(TyArg::Runtime(self.scalar(v, e.span)?)),
            t if t == bt::ANY => {
                // The held type — or the held `Type` value.
                let (data, tag) = self.any_parts(v, e.span)?;
                let type_rec = self.type_value(bt::TYPE, e.span)?;
                let holds_type = self.b(|b| b.icmp(IntCC::Eq, tag, type_rec));
                let yes = self.new_block();
                let join = self.new_block();
                let p = self.ptr_ty();
                let s = self.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
                let sa = self.slot_addr(s);
                self.b(|b| b.store(sa, 0, tag));
                self.b(|b| b.branch(holds_type, yes, vec![], join, vec![]));
                self.switch(yes);
                let held = self.b(|b| b.load(p, data, 0));
                let sa = self.slot_addr(s);
                self.b(|b| b.store(sa, 0, held));
                self.jump(join);
                self.switch(join);
                let sa = self.slot_addr(s);
                Ok(TyArg::Runtime(self.b(|b| b.load(p, sa, 0))))
            }
            _ => match &e.kind {
                ExprKind::Ident(id) if v.ty == bt::VOID => self.err(e.span, format!("unknown type '{}'", id.name)),
                _ => self.err(e.span, format!("{} expects a type, got '{}'", what, self.tname(v.ty))),
            },
        }
    }

    /// Evaluates an index argument.
    fn index_arg(&mut self, e: &Expr) -> R<IdxArg> {
        let v = self.expr(e, Some(bt::I64))?;
        if !self.c.types.is_int(v.ty) {
            return self.err(e.span, format!("an index must be an integer, found '{}'", self.tname(v.ty)));
        }
        if let Some(ConstVal::Int { v, .. }) = v.as_const() {
            return Ok(IdxArg::Static(*v as i64));
        }
        let v = self.convert(v, bt::I64, e.span)?;
        Ok(IdxArg::Runtime(self.scalar(v, e.span)?))
    }

    fn index_value(&mut self, i: IdxArg) -> Value {
        match i {
            IdxArg::Static(k) => self.iconst(IrType::I64, k),
            IdxArg::Runtime(v) => v,
        }
    }

    /// The run-time handle of a type argument.
    fn handle(&mut self, t: TyArg, span: Span) -> R<Value> {
        match t {
            TyArg::Static(t) => self.type_value(t, span),
            TyArg::Runtime(v) => Ok(v),
        }
    }

    /// Name, type, offset and value of field (or, with `variants`, variant) `i` of `t`.
    /// `struct_field_count`/`struct_field_name` count and name the fields of structs, tuples,
    /// unions and tagged unions, `variant_count`/`variant_name` the variants of enums: a plain
    /// enum, an array or a vector (for the former) or a type without variants (for the latter)
    /// known at compile time is an error naming what fits it.
    fn check_member_family(&mut self, name: &str, t: TypeId, span: Span) -> R<()> {
        let is_enum = self.c.types.enum_of(t).is_some();
        let has_fields = self.c.types.struct_of(t).is_some();
        let msg = if let Some(rest) = name.strip_prefix("struct_field_") {
            match self.c.types.kind(t) {
                TK::Array(..) | TK::Vector(..) => {
                    format!("'{}' takes a struct, tuple or union type; for '{}' use '.len' and indexing", name, self.tname(t))
                }
                _ if is_enum && !self.c.types.is_tagged_enum(t) => {
                    format!("'{}' takes a struct, tuple or union type; '{}' is an enum: use 'variant_{}'", name, self.tname(t), rest)
                }
                _ => return Ok(()),
            }
        } else {
            if is_enum {
                return Ok(());
            }
            let rest = name.strip_prefix("variant_").unwrap_or(name);
            let alt = if has_fields { format!(": use 'struct_field_{}'", rest) } else { String::new() };
            format!("'{}' takes an enum or tagged-union type, not '{}'{}", name, self.tname(t), alt)
        };
        self.err(span, msg)
    }

    fn static_member(&mut self, t: TypeId, i: i64, variants: bool, span: Span) -> R<(String, TypeId, i64, i64)> {
        let members: Vec<(String, TypeId, i64, i64)> = if variants {
            match self.c.types.enum_of(t) {
                Some(e) => e
                    .variants
                    .iter()
                    .map(|v| (v.name.clone(), v.payload.unwrap_or(bt::VOID), e.payload_offset as i64, v.value as i64))
                    .collect(),
                None => return self.err(span, format!("'{}' is not an enum", self.tname(t))),
            }
        } else {
            match (self.c.types.struct_of(t), self.c.types.enum_of(t)) {
                (Some(s), _) => s.fields.iter().map(|f| (f.name.clone(), f.ty, f.offset as i64, 0)).collect(),
                // The fields of an enum are its variants (their payload types, `void` for none).
                (None, Some(e)) => e
                    .variants
                    .iter()
                    .map(|v| (v.name.clone(), v.payload.unwrap_or(bt::VOID), e.payload_offset as i64, v.value as i64))
                    .collect(),
                (None, None) => return self.err(span, format!("'{}' is not a struct", self.tname(t))),
            }
        };
        if i < 0 || i as usize >= members.len() {
            let what = if variants { "variants" } else { "fields" };
            return self.err(span, format!("index {} is out of range: '{}' has {} {}", i, self.tname(t), members.len(), what));
        }
        Ok(members[i as usize].clone())
    }

    /// The address of member record `i` of type `t`.
    fn member_addr(&mut self, t: TyArg, i: IdxArg, span: Span) -> R<Value> {
        let tag = self.handle(t, span)?;
        let idx = self.index_value(i);
        Ok(self.rt_member(tag, idx))
    }

    /// An I8: the record `tag` has category `k`.
    fn kind_is(&mut self, tag: Value, k: i64) -> Value {
        let kind = self.rt_field(tag, "kind");
        let kv = self.iconst(IrType::I64, k);
        self.b(|b| b.icmp(IntCC::Eq, kind, kv))
    }

    /// An I8: the record `tag` describes a struct or union (it has fields).
    fn has_fields(&mut self, tag: Value) -> Value {
        let s = self.kind_is(tag, cat::STRUCT);
        let u = self.kind_is(tag, cat::UNION);
        self.b(|b| b.binary(IB::Or, s, u))
    }

    /// An I8: `bit` is set in the record's flags.
    fn flag_set(&mut self, tag: Value, bit: i64) -> Value {
        let flags = self.rt_field(tag, "flags");
        let bv = self.iconst(IrType::I64, bit);
        let m = self.b(|b| b.binary(IB::And, flags, bv));
        let z = self.iconst(IrType::I64, 0);
        self.b(|b| b.icmp(IntCC::Ne, m, z))
    }

    /// The element type behind an array, slice, optional or pointer type.
    fn element_type(&self, t: TypeId) -> Option<TypeId> {
        match self.c.types.kind(t) {
            TK::Array(_, e) | TK::Vector(_, e) | TK::Slice(e) | TK::Optional(e) | TK::Pointer(e) | TK::ManyPointer(e) => Some(*e),
            TK::String => Some(bt::U8),
            _ => None,
        }
    }

    /// An `any` from a data pointer and a handle.
    fn make_any(&mut self, data: Value, tag: Value) -> TV {
        let s = self.slot_for(bt::ANY);
        let a = self.slot_addr(s);
        let pb = self.c.module.pointer_bytes() as i32;
        self.b(|b| {
            b.store(a, 0, data);
            b.store(a, pb, tag);
        });
        TV { ty: bt::ANY, v: V::Mem(a) }
    }

    /// The storage and type of a value argument: an `any` gives its view; an lvalue its own
    /// storage; an rvalue a frame temporary.
    fn value_view(&mut self, e: &Expr) -> R<(Value, TyArg)> {
        let v = match self.lvalue_place(e)? {
            Some((addr, ty)) if ty != bt::ANY => return Ok((addr, TyArg::Static(ty))),
            Some((addr, ty)) => self.load(addr, ty),
            None => self.expr(e, None)?,
        };
        if v.ty == bt::ANY {
            let (data, tag) = self.any_parts(v, e.span)?;
            return Ok((data, TyArg::Runtime(tag)));
        }
        let v = if v.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(v.clone(), v.ty, e.span)? } else { v };
        let ty = v.ty;
        let v = self.materialize(v, e.span)?;
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        self.store(a, v, e.span)?;
        Ok((a, TyArg::Static(ty)))
    }

    /// The tag value (as an `i64`) of the enum value at `data`.
    fn enum_tag_value(&mut self, data: Value, t: TyArg, span: Span) -> R<Value> {
        match t {
            TyArg::Static(st) => {
                let Some(e) = self.c.types.enum_of(st).cloned() else {
                    return self.err(span, format!("'{}' is not an enum value", self.tname(st)));
                };
                let tv = self.load(data, e.backing);
                let tv = self.convert(TV { ty: e.backing, ..tv }, bt::I64, span)?;
                self.scalar(tv, span)
            }
            TyArg::Runtime(tag) => {
                let backing = self.rt_field(tag, "elem");
                let size = self.rt_field(backing, "size");
                let f = self.iconst(IrType::I8, 0);
                let signed = self.flag_set(backing, flag::SIGNED);
                let v = self.call_runtime(RuntimeFn::LoadI64, vec![data, size, f, signed], bt::I64, span)?;
                self.scalar(v, span)
            }
        }
    }
}

fn int_const(v: i64) -> TV {
    TV::konst(ConstVal::Int { v: v as i128, ty: Some(bt::I64) })
}

fn i64_val(v: Value) -> TV {
    TV { ty: bt::I64, v: V::Scalar(v) }
}

fn bool_val(v: Value) -> TV {
    TV { ty: bt::BOOL, v: V::Scalar(v) }
}
