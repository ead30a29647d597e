//! Lowering of expressions: the dispatch over expression kinds, names and type expressions.

use crate::fncx::FnCx;
use crate::type_rules::fmt_float;
use crate::*;
use sx_ir::{Type as IrType, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// Evaluates a type expression.
    pub fn type_expr(&mut self, e: &Expr) -> R<TypeId> {
        // In a type annotation `$T` may name the bound parameter (`x : Box($T)`).
        let outer = std::mem::replace(&mut self.in_body, false);
        let r = self.type_expr_in(e);
        self.in_body = outer;
        r
    }

    pub(crate) fn type_expr_in(&mut self, e: &Expr) -> R<TypeId> {
        // A bare builtin type name is that type even where a backtick-declared `i2 shadows it.
        if let ExprKind::Ident(id) = &e.kind {
            if !id.raw {
                if let Some(t) = builtin_type(&mut self.c.types, &id.name) {
                    // Consumed like any lowered expression would.
                    self.value_ctx = false;
                    return Ok(t);
                }
            }
        }
        if let Some(t) = self.type_fn_type(e)? {
            return Ok(t);
        }
        self.c.type_position = matches!(e.kind, ExprKind::Ident(_));
        let tv = self.expr(e, Some(bt::TYPE));
        self.c.type_position = false;
        let tv = tv?;
        match tv.v {
            V::Const(ConstVal::Type(t)) => Ok(t),
            _ => {
                let what = match &e.kind {
                    ExprKind::Ident(i) => format!("unknown type '{}'", i.name),
                    _ => "expected a type".to_string(),
                };
                self.err(e.span, what)
            }
        }
    }

    /// Lowers an expression. `expected` is the type the context wants (used by literals,
    /// `xx`, `.{}`/`.[]` and untyped constants); the result is not coerced to it.
    pub fn expr(&mut self, e: &Expr, expected: Option<TypeId>) -> R<TV> {
        self.c.depth += 1;
        if self.c.depth > 400 {
            self.c.depth -= 1;
            return self.err(e.span, "expression nests too deeply");
        }
        let saved = self.e.span;
        self.e.span = Some(e.span);
        let value_ctx = std::mem::take(&mut self.value_ctx);
        if value_ctx {
            if let ExprKind::If { else_: None, inline: false, .. } = &e.kind {
                self.c.depth -= 1;
                self.e.span = saved;
                return self.err(e.span, "an 'if' used as a value needs an 'else' branch");
            }
        }
        let branching = value_ctx && matches!(e.kind, ExprKind::Match { inline: false, .. } | ExprKind::If { inline: false, .. });
        if branching {
            self.void_arm = None;
        }
        let r = match expected {
            // An lvalue flowing into an `any` is viewed in place.
            Some(t) if t == bt::ANY => match self.box_lvalue(e) {
                Ok(Some(tv)) => Ok(tv),
                Ok(None) => self.expr_inner(e, expected),
                Err(()) => Err(()),
            },
            _ => self.expr_inner(e, expected),
        };
        let r = match (r, self.void_arm.take().filter(|_| branching)) {
            (Ok(tv), Some(arm)) if tv.ty == bt::VOID => {
                self.err(arm, "this branch yields no value, but the branching expression it belongs to is used as a value")
            }
            (r, _) => r,
        };
        if let (Some(ix), Ok(tv)) = (self.c.index.as_mut(), &r) {
            ix.expr(e.span, tv.ty, if let V::Const(ConstVal::Type(t)) = tv.v { Some(t) } else { None });
        }
        self.e.span = saved;
        self.c.depth -= 1;
        r
    }

    pub(crate) fn expr_inner(&mut self, e: &Expr, expected: Option<TypeId>) -> R<TV> {
        let span = e.span;
        match &e.kind {
            ExprKind::Int(v) => {
                if *v > u64::MAX as u128 {
                    return self.err(span, "integer literal is too large");
                }
                let c = ConstVal::Int { v: *v as i128, ty: None };
                Ok(TV::konst(c))
            }
            ExprKind::Char(v) => Ok(TV::konst(ConstVal::Int { v: *v as i128, ty: None })),
            ExprKind::Float(v) => Ok(TV::konst(ConstVal::Float { v: *v, ty: None })),
            ExprKind::Bool(b) => Ok(TV::konst(ConstVal::Bool(*b))),
            ExprKind::Str(s) => Ok(TV::konst(ConstVal::Str(s.clone()))),
            ExprKind::Null => match expected.filter(|t| self.c.types.optional_inner(*t).is_some() && !self.opt_is_ptr(*t)) {
                Some(o) => self.opt_none(o, span),
                None => Ok(TV {
                    ty: expected.filter(|t| self.c.types.is_pointer_like(*t) || self.opt_is_ptr(*t)).unwrap_or(bt::VOID),
                    v: V::Const(ConstVal::Null),
                }),
            },
            ExprKind::Undef => self.err(span, "'---' is only allowed as a declaration's initial value"),
            ExprKind::Ident(id) => self.ident(id),
            ExprKind::Unary { op, expr } => self.unary(*op, expr, expected, span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, expected, span),
            ExprKind::Chain { operands, ops } => self.chain(operands, ops, span),
            ExprKind::AddrOf(inner) => {
                if let Some(t) = self.try_type(inner)? {
                    let p = self.c.types.pointer(t);
                    return Ok(TV::konst(ConstVal::Type(p)));
                }
                // `*xs[i]` may point one past the last element (it is not read there).
                self.address_only = matches!(inner.kind, ExprKind::Index { .. });
                let r = self.place_or_temp(inner);
                self.address_only = false;
                let (addr, ty) = r?;
                let pty = self.c.types.pointer(ty);
                Ok(TV { ty: pty, v: V::Scalar(addr) })
            }
            ExprKind::Deref(inner) => {
                let pv = self.expr(inner, None)?;
                let TK::Pointer(t) = self.c.types.kind(pv.ty).clone() else {
                    let msg = format!("cannot dereference a value of type '{}'", self.tname(pv.ty));
                    return self.err(span, msg);
                };
                let a = self.scalar(pv, span)?;
                Ok(self.load(a, t))
            }
            ExprKind::AutoCast(inner) => self.auto_cast(inner, expected, span),
            ExprKind::Cast { expr, ty } => {
                let to = self.type_expr(ty)?;
                let v = self.expr(expr, Some(to))?;
                self.check_identity_source(expr, v.ty, to, expr.span)?;
                if self.is_owned_erasure(&v, to) {
                    return self.erase_to_protocol_as(v, to, crate::protocols::Erasure::Snapshot, span);
                }
                self.cast_value(v, to, span)
            }
            ExprKind::Call { callee, args, trailing_block: true } => match self.bind_trailing_block(callee, args)? {
                Some(bound) => self.call(callee, &bound, expected, span),
                None => self.call(callee, args, expected, span),
            },
            ExprKind::Call { callee, args, .. } => self.call(callee, args, expected, span),
            ExprKind::Field { base, name } => self.field(base, name, span),
            ExprKind::Index { .. } | ExprKind::Slice { .. } => {
                if let ExprKind::Slice { base, lo, hi, lo_exclusive, hi_inclusive } = &e.kind {
                    return self.subslice(base, lo.as_deref(), hi.as_deref(), *lo_exclusive, *hi_inclusive, span);
                }
                if let ExprKind::Index { base, index } = &e.kind {
                    if let ExprKind::OptField { .. } = base.kind {
                        return self.opt_index(base, index, span);
                    }
                    if let Some(v) = self.pack_index(base, index)? {
                        return Ok(v);
                    }
                    if let Some(v) = self.fold_const_index(base, index)? {
                        return Ok(v);
                    }
                }
                let (addr, ty) = match self.place_opt(e, false)? {
                    Some(p) => p,
                    None => return self.err(span, "cannot index this value"),
                };
                Ok(self.load(addr, ty))
            }
            ExprKind::If { cond, then, else_, inline } => {
                if *inline {
                    return self.inline_if(cond, then, else_.as_deref(), expected, span);
                }
                self.if_expr(cond, then, else_.as_deref(), expected, span)
            }
            ExprKind::Match { subject, arms, else_, inline } => {
                if *inline {
                    return self.inline_match(subject, arms, else_.as_ref(), expected, span);
                }
                self.match_expr(subject, arms, else_.as_ref(), expected, span)
            }
            ExprKind::Block(b) => self.block_value(b, expected),
            ExprKind::StructLit { ty, fields } => match self.expand_pack_fields(fields)? {
                Some(fields) => self.struct_lit(ty.as_deref(), &fields, expected, span),
                None => self.struct_lit(ty.as_deref(), fields, expected, span),
            },
            ExprKind::ArrayLit { ty, elems } => self.array_lit(ty.as_deref(), elems, expected, span),
            ExprKind::Run(inner) => {
                let file = self.file;
                let owner = self.owner;
                let outer = self.local_const_snapshot();
                let c = self.c.eval_run(file, owner, &outer, inner, expected.filter(|t| *t != bt::TYPE))?;
                Ok(TV::konst(c))
            }
            ExprKind::Fn(decl) => self.fn_expr(decl, expected, span),
            ExprKind::Struct(sd) => {
                let outer = self.local_const_snapshot();
                let t = self.c.declare_struct("", sd, self.file, outer, span)?;
                // A plain inline struct type is structural: the same fields mean the same type.
                let plain = crate::decls::plain_inline_struct(sd);
                Ok(TV::konst(ConstVal::Type(if plain { self.c.same_shape_inline_struct(t) } else { t })))
            }
            ExprKind::SliceType { elem, .. } => {
                let t = self.type_expr(elem)?;
                let s = self.c.types.slice(t);
                Ok(TV::konst(ConstVal::Type(s)))
            }
            ExprKind::ManyPtrType(elem) => {
                let t = self.type_expr(elem)?;
                let s = self.c.types.many_pointer(t);
                Ok(TV::konst(ConstVal::Type(s)))
            }
            ExprKind::ArrayType { len, elem } => {
                let n = self.array_dim(len)?;
                if let ExprKind::StructLit { ty: Some(et), fields } = &elem.kind {
                    // `[3]i64.{ a, b, c }` parses as `[3](i64.{…})`: the braces belong to the
                    // whole array type.
                    if fields.iter().all(|f| f.name.is_none() && !f.spread) {
                        let t = self.type_expr(et)?;
                        let a = self.c.types.array(n, t);
                        let elems: Vec<Expr> = fields.iter().map(|f| f.value.clone()).collect();
                        return self.array_lit(None, &elems, Some(a), span);
                    }
                }
                let t = self.type_expr(elem)?;
                let a = self.c.types.array(n, t);
                Ok(TV::konst(ConstVal::Type(a)))
            }
            ExprKind::Range { .. } => self.err(span, "a range is only allowed in a 'for' header or a slice"),
            ExprKind::EnumLit(id) if expected.map(|t| self.c.types.is_error_set(t)).unwrap_or(false) => {
                self.error_value(id, expected, span)
            }
            ExprKind::EnumLit(id) => {
                let target = expected.map(|t| self.deref_enum(t)).filter(|t| matches!(self.c.types.kind(*t), TK::Enum(_)));
                match target {
                    Some(t) => self.enum_variant_value(t, id, None, span),
                    None => self.err(span, format!("enum literal '.{}' needs a known enum type here", id.name)),
                }
            }
            ExprKind::Poly { name, .. } => match self.resolve(name)? {
                Some(Local::Const(ConstVal::Pack(types))) => self.pack_types_value(&types, span),
                Some(Local::Const(_)) if self.in_body => {
                    let msg = format!("'$' introduces a generic parameter only in its declaration; write '{}' here", name.name);
                    self.err(span, msg)
                }
                Some(Local::Const(c)) => Ok(TV::konst(c)),
                _ => self.err(span, format!("'${}' is only bound in a generic function's parameters", name.name)),
            },
            ExprKind::Try(_) => self.try_expr(e, expected),
            ExprKind::Catch { expr: x, clause } => self.catch_expr(x, clause, expected, span),
            ExprKind::ErrorValue(id) => self.error_value(id, expected, span),
            ExprKind::ErrorSet(_) => self.err(span, "an error set must be declared as a named constant: `Name :: error { A, B }`"),
            ExprKind::OptionalType(inner) => {
                let t = self.type_expr(inner)?;
                let o = self.c.types.optional(t);
                Ok(TV::konst(ConstVal::Type(o)))
            }
            ExprKind::Unwrap(inner) if self.is_narrowed_local(inner) => self.expr(inner, expected),
            ExprKind::Unwrap(inner) => {
                let want = expected.map(|t| self.c.types.optional(t));
                let v = self.expr(inner, want)?;
                self.opt_unwrap(v, span)
            }
            ExprKind::OptField { base, name } => self.opt_field(base, name, span),
            ExprKind::ClosureType { params, ret } => self.closure_type(params, ret.as_deref()),
            ExprKind::OptCast { expr, ty } => self.opt_cast(expr, ty, span),
            ExprKind::Union(sd) => {
                let outer = self.local_const_snapshot();
                let t = self.c.declare_union(sd, self.file, outer, span)?;
                Ok(TV::konst(ConstVal::Type(t)))
            }
            ExprKind::Enum(ed) => {
                // An enum spelled inline (a field or return type): an anonymous enum type.
                let outer = self.local_const_snapshot();
                let t = self.c.declare_enum("enum", ed, self.file, outer)?;
                Ok(TV::konst(ConstVal::Type(t)))
            }
            ExprKind::Protocol(_) => self.err(span, "not supported yet: protocols"),
            ExprKind::CallerLocation => self.caller_location(span, expected, span),
            ExprKind::Import(_) => self.err(span, "#import is only allowed at the top level"),
            ExprKind::Library(_) => Ok(TV::void()),
            // `ufcs f` names `f` for method-call and pipe syntax, which every function allows.
            ExprKind::UfcsAlias(inner) => self.expr(inner, expected),
            ExprKind::Directive(d) if d.name.name == "error" => self.error_directive(d.args.as_deref(), span),
            ExprKind::Directive(d) if d.name.name == "jni_env" => self.jni_env_block(d, expected, span),
            ExprKind::Directive(d) if matches!(&d.name.name[..], "jni_call" | "jni_static_call") => {
                self.err(span, format!("#{} is called: '#{}(T)(target, \"name\", \"sig\", args…)'", d.name.name, d.name.name))
            }
            ExprKind::Directive(d) => self.err(span, format!("not supported yet: #{}", d.name.name)),
            ExprKind::Error => Err(()),
            ExprKind::InitBlock { expr: init, body } => self.init_block(init, body, expected, span),
            ExprKind::CastWithAlloc { expr, ty, alloc } => {
                let to = self.type_expr(ty)?;
                let v = self.expr(expr, Some(to))?;
                if !self.is_owned_erasure(&v, to) {
                    return self.err(span, "not supported yet: a cast with an allocator to anything but a protocol");
                }
                self.erase_to_protocol_as(v, to, crate::protocols::Erasure::Alloc(alloc), span)
            }
            ExprKind::Asm(a) => self.asm_expr(a, span),
        }
    }

    /// `xx e`: the conversion to the type the context expects (an enum's integer value when
    /// none is expected).
    fn auto_cast(&mut self, inner: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let Some(to) = expected.filter(|t| *t != bt::TYPE) else {
            // `xx e` on an enum value gives its integer value.
            let v = self.expr(inner, None)?;
            if self.c.types.is_plain_enum(v.ty) {
                let b = self.c.types.enum_of(v.ty).map(|e| e.backing).unwrap_or(bt::I64);
                return self.convert(v, b, span);
            }
            return self.err(span, "'xx' needs a known target type here");
        };
        if to == bt::ANY {
            // `xx p` of a protocol value: the concrete view (its first two words are an
            // `any`); every other value is boxed.
            if let Some((addr, ty)) = self.lvalue_place(inner)? {
                return match ty {
                    t if self.c.is_protocol(t) => Ok(TV { ty: bt::ANY, v: V::Mem(addr) }),
                    t if t == bt::ANY => Ok(self.load(addr, t)),
                    t => self.box_place(addr, t, inner.span),
                };
            }
            let pv = self.expr(inner, None)?;
            if self.c.is_protocol(pv.ty) {
                let m = self.materialize(pv, span)?;
                let m = self.spill(m, span)?;
                let V::Mem(a) = m.v else { return self.err(span, "a protocol value expected") };
                return Ok(TV { ty: bt::ANY, v: V::Mem(a) });
            }
            return self.box_value(pv, inner.span);
        }
        if self.c.types.optional_inner(to) == Some(bt::ANY) {
            let boxed = self.box_expr(inner)?;
            return self.opt_wrap(boxed, to, span);
        }
        if let Some(r) = self.pack_to_slice(inner, to, span)? {
            return Ok(r);
        }
        let v = self.expr(inner, None)?;
        self.check_identity_source(inner, v.ty, to, inner.span)?;
        if let Some(raw) = self.raw_view(&v, to, span)? {
            return Ok(raw);
        }
        if self.c.types.is_tagged_enum(v.ty) && self.c.types.is_int(to) {
            // `xx e` of a tagged union: its tag value.
            let backing = self.c.types.enum_of(v.ty).map(|e| e.backing).unwrap_or(bt::I64);
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            let V::Mem(a) = m.v else { return self.err(span, "a tagged union value expected") };
            let tag = self.load(a, backing);
            return self.convert(tag, to, span);
        }
        if self.c.types.is_int(v.ty) && matches!(self.c.types.kind(to), TK::Slice(_) | TK::String) {
            // `xx n` to a slice: the integer as the pointer word, length zero (`xx 0`
            // is the empty slice).
            return self.reinterpret(v, to, span);
        }
        if self.c.is_protocol(v.ty) && matches!(self.c.types.kind(to), TK::Pointer(_)) {
            // `xx p` to a pointer: the erased object (the protocol value's `ctx` word).
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            let V::Mem(a) = m.v else { return self.err(span, "a protocol value expected") };
            let p = self.ptr_ty();
            return Ok(TV { ty: to, v: V::Scalar(self.b(|b| b.load(p, a, 0))) });
        }
        if let Some(r) = self.user_conversion(v.clone(), to, span)? {
            return Ok(r);
        }
        self.convert(v, to, span)
    }

    /// A function literal or function type: a function type value, a capturing lambda, or a
    /// new function constant.
    fn fn_expr(&mut self, decl: &FnDecl, expected: Option<TypeId>, span: Span) -> R<TV> {
        if decl.body.is_none() && !decl.attrs.is_extern {
            // A function type.
            let mut params = vec![];
            for p in &decl.params {
                let Some(t) = &p.ty else { return self.err(p.span, "function type parameter needs a type") };
                params.push(self.type_expr(t)?);
            }
            let ret = match &decl.ret {
                None => bt::VOID,
                Some(r) => self.fn_type_ret(r)?,
            };
            let t = self.c.types.intern(TK::Func { params, ret });
            return Ok(TV::konst(ConstVal::Type(t)));
        }
        let typed;
        let decl = match self.contextual_lambda(decl, expected)? {
            Some(d) => {
                typed = d;
                &typed
            }
            None => decl,
        };
        if let Some(cl) = self.lambda(decl, span)? {
            return Ok(cl);
        }
        let outer = self.local_const_snapshot();
        let fid = self.c.new_fn("lambda", decl, self.file, self.owner, outer, span);
        let t = self.c.fn_type(fid)?;
        let tv = TV { ty: t, v: V::Const(ConstVal::Func(fid)) };
        Ok(tv)
    }

    /// `K[i]` on a constant array with a constant index folds to the element's value.
    pub(crate) fn fold_const_index(&mut self, base: &Expr, index: &Expr) -> R<Option<TV>> {
        let ExprKind::Ident(id) = &base.kind else { return Ok(None) };
        let Some(Local::Const(ConstVal::Data(d, ty))) = self.resolve(id)? else { return Ok(None) };
        let TK::Array(n, elem) = self.c.types.kind(ty).clone() else { return Ok(None) };
        let iv = self.expr(index, Some(bt::I64))?;
        let Some(ConstVal::Int { v: i, .. }) = iv.as_const().cloned() else { return Ok(None) };
        if i < 0 || i as u64 >= n {
            return self.err(index.span, format!("index {} is out of bounds for constant '{}' ({} elements)", i, id.name, n));
        }
        if self.c.types.scalar(elem).is_none() || self.c.types.is_pointer_like(elem) {
            return Ok(None);
        }
        let es = self.c.types.size_of(elem) as usize;
        let bytes = self.c.module.datas[d].bytes.get(i as usize * es..(i as usize + 1) * es).map(|b| b.to_vec());
        Ok(bytes.and_then(|b| self.c.scalar_const(elem, &b)).map(TV::konst))
    }

    /// `t`, or the enum behind a pointer type.
    pub fn deref_enum(&self, t: TypeId) -> TypeId {
        // `.v` / `.v(payload)` aimed at a `?E` builds the `E` (then wrapped by the coercion).
        let t = self.c.types.optional_inner(t).filter(|i| matches!(self.c.types.kind(*i), TK::Enum(_))).unwrap_or(t);
        match self.c.types.kind(t) {
            TK::Pointer(inner) if matches!(self.c.types.kind(*inner), TK::Enum(_)) => *inner,
            _ => t,
        }
    }

    /// Tag value and payload type of variant `id` of enum `t`.
    pub fn variant_info(&mut self, t: TypeId, id: &Ident) -> R<(i128, Option<TypeId>)> {
        let found = self.c.types.enum_of(t).and_then(|e| e.variants.iter().find(|v| v.name == id.name).map(|v| (v.value, v.payload)));
        match found {
            Some(x) => Ok(x),
            None => {
                let msg = format!("enum '{}' has no variant '{}'", self.tname(t), id.name);
                self.err(id.span, msg)
            }
        }
    }

    /// The value of variant `id` of enum `t` (with `payload` for tagged unions).
    pub fn enum_variant_value(&mut self, t: TypeId, id: &Ident, payload: Option<&[Arg]>, span: Span) -> R<TV> {
        let (value, pty) = self.variant_info(t, id)?;
        if !self.c.types.is_tagged_enum(t) {
            if payload.is_some() {
                return self.err(span, format!("variant '{}' of '{}' takes no payload", id.name, self.tname(t)));
            }
            return Ok(TV { ty: t, v: V::Const(ConstVal::Int { v: value, ty: Some(t) }) });
        }
        let (backing, poff) = self.c.types.enum_of(t).map(|e| (e.backing, e.payload_offset)).unwrap_or((bt::I64, 0));
        let s = self.slot_for(t);
        let a = self.slot_addr(s);
        self.init_default(a, t, span)?;
        let irt = self.c.types.scalar(backing).unwrap_or(IrType::I64);
        let tag = self.iconst(irt, value as i64);
        self.b(|b| b.store(a, 0, tag));
        match (pty, payload) {
            (Some(pt), Some(args)) => {
                let [arg] = args else {
                    return self.err(span, format!("variant '{}' takes one payload value", id.name));
                };
                let v = self.expr(&arg.value, Some(pt))?;
                let v = self.coerce(v, pt, arg.value.span)?;
                let pa = self.offset_addr(a, poff as i64);
                self.store(pa, v, arg.span)?;
            }
            (Some(_), None) => {}
            (None, Some(args)) if !args.is_empty() => {
                return self.err(span, format!("variant '{}' of '{}' takes no payload", id.name, self.tname(t)));
            }
            _ => {}
        }
        Ok(TV { ty: t, v: V::Mem(a) })
    }

    /// A compile-time array dimension.
    pub fn array_dim(&mut self, len: &Expr) -> R<u64> {
        let v = self.expr(len, None)?;
        let n: i128 = match v.as_const() {
            Some(ConstVal::Int { v, .. }) => *v,
            Some(ConstVal::Float { v, .. }) => {
                if v.fract() != 0.0 {
                    return self.err(len.span, format!("array dimension must be an integer, found non-integral float {}", fmt_float(*v)));
                }
                *v as i128
            }
            // A compile-time tagged-union value counts by its tag.
            Some(ConstVal::Data(d, t)) if self.c.types.is_tagged_enum(*t) => {
                let backing = self.c.types.enum_of(*t).map(|e| e.backing).unwrap_or(bt::I64);
                let n = self.c.types.size_of(backing) as usize;
                let bytes = &self.c.module.datas[*d].bytes;
                let mut raw = [0u8; 8];
                raw[..n.min(8)].copy_from_slice(&bytes[..n.min(8).min(bytes.len())]);
                i64::from_le_bytes(raw) as i128
            }
            _ => return self.err(len.span, "array dimension must be a compile-time constant integer"),
        };
        if n < 0 {
            return self.err(len.span, format!("array dimension must not be negative, found {}", n));
        }
        if n > u32::MAX as i128 {
            return self.err(len.span, format!("array dimension {} is too large (max {})", n, u32::MAX));
        }
        Ok(n as u64)
    }

    /// If `e` denotes a type, returns it (without reporting errors otherwise).
    /// Inside the body of an instance of parameterised struct `g`, the bare name of `g` means
    /// that instance.
    pub(crate) fn own_instance(&self, g: u32) -> Option<TypeId> {
        let owner = self.owner?;
        self.c.inst.struct_instances.iter().any(|((sg, _), t)| *sg == g && *t == owner).then_some(owner)
    }

    pub fn try_type(&mut self, e: &Expr) -> R<Option<TypeId>> {
        match &e.kind {
            ExprKind::Ident(id) => match self.resolve(id)? {
                Some(Local::Const(ConstVal::Type(t))) => Ok(Some(t)),
                Some(Local::Const(ConstVal::GenericStruct(g))) => Ok(self.own_instance(g)),
                Some(_) => Ok(None),
                None if !id.raw => Ok(builtin_type(&mut self.c.types, &id.name)),
                None => Ok(None),
            },
            ExprKind::AddrOf(inner) => Ok(self.try_type(inner)?.map(|t| self.c.types.pointer(t))),
            ExprKind::Poly { name, .. } => match self.resolve(name)? {
                Some(Local::Const(ConstVal::Type(t))) => Ok(Some(t)),
                _ => Ok(None),
            },
            ExprKind::Call { callee, .. } => match &callee.kind {
                ExprKind::Ident(id) => match self.resolve(id)? {
                    Some(Local::Const(ConstVal::GenericStruct(_))) => Ok(Some(self.type_expr(e)?)),
                    Some(Local::Const(ConstVal::Func(_))) => self.type_fn_type(e),
                    None if id.name == "Tuple" && !id.raw => Ok(Some(self.type_expr(e)?)),
                    _ => Ok(None),
                },
                ExprKind::Field { base, name } => match self.resolve_path(base)? {
                    Some(ConstVal::Namespace(f)) => match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                        Some(ConstVal::GenericStruct(_)) => Ok(Some(self.type_expr(e)?)),
                        _ => Ok(None),
                    },
                    _ => Ok(None),
                },
                _ => Ok(None),
            },
            ExprKind::OptionalType(_) => Ok(Some(self.type_expr(e)?)),
            ExprKind::SliceType { .. }
            | ExprKind::ManyPtrType(_)
            | ExprKind::ArrayType { .. }
            | ExprKind::Struct(_)
            | ExprKind::ClosureType { .. } => Ok(Some(self.type_expr(e)?)),
            ExprKind::Field { base, name } => {
                if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                    if let Some(ConstVal::Type(t)) = self.c.lookup_in_namespace(f, &name.name, name.span)? {
                        return Ok(Some(t));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    pub(crate) fn ident(&mut self, id: &Ident) -> R<TV> {
        if let Some(v) = self.inline_struct_const(id)? {
            return Ok(v);
        }
        let resolved = self.resolve(id)?;
        if resolved.is_none() && !id.raw {
            if let Some(t) = builtin_type(&mut self.c.types, &id.name) {
                return Ok(TV::konst(ConstVal::Type(t)));
            }
        }
        if let Some(Local::Const(ConstVal::GenericStruct(g))) = &resolved {
            if let Some(t) = self.own_instance(*g) {
                return Ok(TV::konst(ConstVal::Type(t)));
            }
        }
        match resolved {
            Some(Local::Var { slot, ty, by_ref, .. }) => {
                self.check_value_slot_read(slot, id.span)?;
                let a = self.slot_addr(slot);
                let a = if by_ref {
                    let p = self.ptr_ty();
                    self.b(|b| b.load(p, a, 0))
                } else {
                    a
                };
                Ok(self.load(a, ty))
            }
            Some(Local::Const(c)) => match c {
                ConstVal::Global(d, ty) => {
                    let p = self.ptr_ty();
                    let a = self.b(|b| b.data_addr(d, p));
                    Ok(self.load(a, ty))
                }
                ConstVal::Func(fid) if self.c.needs_instance(fid) => Ok(TV::konst(ConstVal::Func(fid))),
                ConstVal::Pack(_) => {
                    let msg = format!(
                        "pack '{}' has no run-time value: index it with a constant ('{}[0]'), spread it ('..{}') or use '{}.len'",
                        id.name, id.name, id.name, id.name
                    );
                    self.err(id.span, msg)
                }
                ConstVal::Func(fid) => {
                    let t = self.c.fn_type(fid)?;
                    Ok(TV { ty: t, v: V::Const(ConstVal::Func(fid)) })
                }
                c => Ok(TV::konst(c)),
            },
            None => self.err(id.span, format!("undeclared identifier '{}'", id.name)),
        }
    }

    /// Address of an lvalue, or of a temporary copy of an rvalue.
    pub fn place_or_temp(&mut self, e: &Expr) -> R<(Value, TypeId)> {
        match self.place_opt(e, false)? {
            Some(p) => Ok(p),
            None => {
                let v = self.expr(e, None)?;
                let ty = v.ty;
                let v = self.materialize(v, e.span)?;
                let s = self.slot_for(ty);
                let a = self.slot_addr(s);
                self.store(a, v, e.span)?;
                Ok((a, ty))
            }
        }
    }

    /// The address and type of an assignable location (an error when `e` is not one).
    pub fn place(&mut self, e: &Expr) -> R<(Value, TypeId)> {
        match self.place_opt(e, true)? {
            Some(p) => Ok(p),
            None => self.err(e.span, "expression is not assignable"),
        }
    }
}
