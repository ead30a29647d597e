//! Lowering of expressions.

use crate::consts::wrap_int;
use crate::fncx::FnCx;
use crate::type_rules::fmt_float;
use crate::*;
use sx_ir::{BinOp as IB, FloatCC, IntCC, Type as IrType, UnOp as IU, Value};
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

    fn type_expr_in(&mut self, e: &Expr) -> R<TypeId> {
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
        let tv = self.expr(e, Some(bt::TYPE))?;
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
        let r = match expected {
            // An lvalue flowing into an `any` is viewed in place.
            Some(t) if t == bt::ANY => match self.box_lvalue(e) {
                Ok(Some(tv)) => Ok(tv),
                Ok(None) => self.expr_inner(e, expected),
                Err(()) => Err(()),
            },
            _ => self.expr_inner(e, expected),
        };
        self.e.span = saved;
        self.c.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr, expected: Option<TypeId>) -> R<TV> {
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
                let (addr, ty) = self.place_or_temp(inner)?;
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
            ExprKind::AutoCast(inner) => {
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
            ExprKind::Cast { expr, ty } => {
                let to = self.type_expr(ty)?;
                let v = self.expr(expr, Some(to))?;
                self.check_identity_source(expr, v.ty, to, expr.span)?;
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
            ExprKind::Fn(decl) => {
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
            ExprKind::Struct(sd) => {
                let outer = self.local_const_snapshot();
                let t = self.c.declare_struct("", sd, self.file, outer, span)?;
                // A plain inline struct type is structural: the same fields mean the same type.
                let plain = sd.params.is_none()
                    && sd.directives.is_empty()
                    && sd.members.iter().all(|m| matches!(&m.kind, MemberKind::Field { default: None, undef: false, .. }));
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
            ExprKind::Directive(d) => self.err(span, format!("not supported yet: #{}", d.name.name)),
            ExprKind::Error => Err(()),
            #[allow(unreachable_patterns)]
            ExprKind::InitBlock { expr: init, body } => self.init_block(init, body, expected, span),
            _ => self.err(span, "not supported yet: this kind of expression"),
        }
    }

    /// `K[i]` on a constant array with a constant index folds to the element's value.
    fn fold_const_index(&mut self, base: &Expr, index: &Expr) -> R<Option<TV>> {
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
    fn own_instance(&self, g: u32) -> Option<TypeId> {
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
            ExprKind::SliceType { .. } | ExprKind::ManyPtrType(_) | ExprKind::ArrayType { .. } | ExprKind::Struct(_) => {
                Ok(Some(self.type_expr(e)?))
            }
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

    fn ident(&mut self, id: &Ident) -> R<TV> {
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
                            if *v < 0 || *v as u64 >= n {
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
                    self.bounds_check(i, len, index.span);
                }
                let esz = self.c.types.size_of(elem) as i64;
                let sz = self.iconst(p, esz);
                let off = self.b(|b| b.binary(IB::Imul, i, sz));
                Ok((self.b(|b| b.binary(IB::Iadd, base_ptr, off)), elem))
            }
            _ => return Ok(None),
        };
        r.map(Some)
    }

    /// Rejects a write into a constant aggregate (`K[1] = 2`, `K.a = 2`): follows fields and
    /// indices (not pointer dereferences) down to the root name.
    fn check_const_root(&mut self, base: &Expr) -> R<()> {
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
    fn aggregate_base(&mut self, base: &Expr, want_place: bool) -> R<(Value, TypeId)> {
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

    fn no_field<T>(&mut self, ty: TypeId, name: &Ident) -> R<T> {
        let msg = if self.c.types.is_tuple(ty) {
            format!("field '{}' not found on type '{}'", name.name, self.tname(ty))
        } else {
            format!("type '{}' has no field '{}'", self.tname(ty), name.name)
        };
        self.err(name.span, msg)
    }

    fn field(&mut self, base: &Expr, name: &Ident, span: Span) -> R<TV> {
        if let Some(tv) = self.pack_field(base, name)? {
            return Ok(tv);
        }
        self.check_pack_view(base, name)?;
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
        // Fields of constant aggregates fold.
        if let ExprKind::Ident(_) = &base.kind {
            if let Some(ConstVal::Data(d, ty)) = self.resolve_path(base)? {
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
    fn type_member(&mut self, t: TypeId, name: &Ident) -> R<TV> {
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

    fn subslice(&mut self, base: &Expr, lo: Option<&Expr>, hi: Option<&Expr>, lo_ex: bool, hi_inc: bool, span: Span) -> R<TV> {
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

    fn unary(&mut self, op: UnOp, inner: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let v = self.expr(inner, expected.filter(|t| self.c.types.is_numeric(*t)))?;
        if let V::Const(c) = &v.v {
            let folded = match (op, c) {
                (UnOp::Neg, ConstVal::Int { v: x, ty }) => Some(ConstVal::Int {
                    v: match ty {
                        Some(t) => wrap_int(-x, self.c.types.int_bits(*t), self.c.types.is_signed(*t)),
                        None => -x,
                    },
                    ty: *ty,
                }),
                (UnOp::Neg, ConstVal::Float { v: x, ty }) => Some(ConstVal::Float { v: -x, ty: *ty }),
                (UnOp::Not, ConstVal::Bool(b)) => Some(ConstVal::Bool(!b)),
                (UnOp::BitNot, ConstVal::Int { v: x, ty: Some(t) }) => {
                    Some(ConstVal::Int { v: wrap_int(!x, self.c.types.int_bits(*t), self.c.types.is_signed(*t)), ty: Some(*t) })
                }
                (UnOp::BitNot, ConstVal::Int { v: x, ty: None }) => Some(ConstVal::Int { v: !x, ty: None }),
                _ => None,
            };
            if let Some(f) = folded {
                return Ok(TV { ty: f.ty(), v: V::Const(f) });
            }
        }
        let ty = v.ty;
        match op {
            UnOp::Neg if self.vector_shape(ty).is_some() => self.vector_negate(v, span),
            UnOp::Neg => {
                if !self.c.types.is_numeric(ty) {
                    return self.err(span, format!("cannot negate a value of type '{}'", self.tname(ty)));
                }
                let x = self.scalar(v, span)?;
                let r = if self.c.types.is_float(ty) { self.b(|b| b.unary(IU::Fneg, x)) } else { self.b(|b| b.unary(IU::Ineg, x)) };
                let r = self.fix_width(r, ty);
                Ok(TV { ty, v: V::Scalar(r) })
            }
            UnOp::Not => {
                if ty == bt::BOOL {
                    let x = self.scalar(v, span)?;
                    let one = self.iconst(IrType::I8, 1);
                    Ok(TV { ty, v: V::Scalar(self.b(|b| b.binary(IB::Xor, x, one))) })
                } else if self.c.types.is_int(ty) || self.c.types.is_pointer_like(ty) || self.c.types.is_error_set(ty) {
                    let x = self.scalar(v, span)?;
                    let irt = self.e.f.values[x].ty;
                    let z = self.iconst(irt, 0);
                    Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.icmp(IntCC::Eq, x, z))) })
                } else {
                    self.err(span, format!("operator '!' cannot be applied to a value of type '{}'", self.tname(ty)))
                }
            }
            UnOp::BitNot => {
                if !self.c.types.is_int(ty) {
                    return self.err(span, format!("operator '~' needs an integer, found '{}'", self.tname(ty)));
                }
                let x = self.scalar(v, span)?;
                let r = self.b(|b| b.unary(IU::Bnot, x));
                let r = self.fix_width(r, ty);
                Ok(TV { ty, v: V::Scalar(r) })
            }
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        match op {
            BinOp::Or => return self.or_expr(lhs, rhs, expected, span),
            BinOp::And => return self.logical(op, lhs, rhs, span),
            BinOp::Pipe => {
                let ExprKind::Call { callee, args, .. } = &rhs.kind else {
                    return self.err(rhs.span, "the right side of '|>' must be a call");
                };
                let mut all = vec![Arg { name: None, value: lhs.clone(), spread: false, span: lhs.span }];
                all.extend(args.iter().cloned());
                return self.call(callee, &all, expected, span);
            }
            BinOp::Coalesce => return self.coalesce(lhs, rhs, expected, span),
            BinOp::In => return self.tuple_in(lhs, rhs, span),
            _ => {}
        }
        let num_expected = expected.filter(|t| (self.c.types.is_numeric(*t) || self.c.types.is_plain_enum(*t)) && !op.is_comparison());
        if let ExprKind::AutoCast(_) = lhs.kind {
            if num_expected.is_none() && !matches!(rhs.kind, ExprKind::AutoCast(_)) {
                // `xx a < b`: the cast targets the other operand's type.
                let r = self.expr(rhs, None)?;
                let target = if r.as_const().map(|c| c.is_untyped()).unwrap_or(false) { r.ty } else { r.ty };
                let l = self.expr(lhs, Some(target))?;
                if op.is_comparison() {
                    return self.compare(op, l, r, span);
                }
                return self.arith(op, l, r, span);
            }
        }
        let mut l = self.expr(lhs, num_expected)?;
        let l_pointee = self.value_pointee(l.ty);
        if l_pointee.is_some() && !op.is_comparison() {
            l = self.auto_deref(l, span)?;
        }
        let r_expected = match l_pointee {
            Some(t) if op.is_comparison() && !matches!(rhs.kind, ExprKind::Null) => Some(t),
            _ if l.as_const().map(|c| c.is_untyped()).unwrap_or(false) => num_expected,
            _ => Some(l.ty),
        };
        let mut r = self.expr(rhs, r_expected.filter(|t| *t != bt::TYPE))?;
        if matches!(rhs.kind, ExprKind::Null) && self.c.types.optional_inner(l.ty).is_some() {
            // `opt == null` is a presence test, whatever the payload type.
            r = TV { ty: bt::VOID, v: V::Const(ConstVal::Null) };
        }
        let r_pointee = self.value_pointee(r.ty);
        if op.is_comparison() {
            // `p == 5` with `p: *i64` compares the pointee; two pointers compare as addresses.
            let (lp, rp) = (self.c.types.is_pointer_like(l.ty), self.c.types.is_pointer_like(r.ty));
            if l_pointee.is_some() && !rp {
                l = self.auto_deref(l, span)?;
            } else if r_pointee.is_some() && !lp {
                r = self.auto_deref(r, span)?;
            }
            return self.compare(op, l, r, span);
        }
        if r_pointee.is_some() {
            r = self.auto_deref(r, span)?;
        }
        self.arith(op, l, r, span)
    }

    /// The pointee of a single-item pointer to a number or plain enum: such a pointer is read
    /// through when it is an operand of an arithmetic or comparison operator (a `for xs (*x)`
    /// capture used as a value).
    fn value_pointee(&self, ty: TypeId) -> Option<TypeId> {
        match *self.c.types.kind(ty) {
            TK::Pointer(t) if self.c.types.is_numeric(t) || self.c.types.is_plain_enum(t) => Some(t),
            _ => None,
        }
    }

    /// Loads the value a single-item pointer points to.
    fn auto_deref(&mut self, pv: TV, span: Span) -> R<TV> {
        let TK::Pointer(t) = *self.c.types.kind(pv.ty) else {
            return Ok(pv);
        };
        let a = self.scalar(pv, span)?;
        Ok(self.load(a, t))
    }

    /// The common type of two numeric operands (untyped constants adapt).
    fn unify(&mut self, l: &TV, r: &TV, span: Span) -> R<TypeId> {
        let lu = l.as_const().map(|c| c.is_untyped()).unwrap_or(false);
        let ru = r.as_const().map(|c| c.is_untyped()).unwrap_or(false);
        let (lt, rt) = (l.ty, r.ty);
        if lt == rt {
            return Ok(lt);
        }
        let types = &self.c.types;
        if lu && ru {
            // int literal with float literal → f64
            return Ok(if types.is_float(lt) || types.is_float(rt) { bt::F64 } else { bt::I64 });
        }
        // An integer literal that does not fit the other side's type widens the result to `i64`.
        let fits = |c: Option<&ConstVal>, t: TypeId| match (c, types.kind(t)) {
            (Some(ConstVal::Int { v, .. }), TK::Int { bits, signed, .. }) => {
                let (lo, hi) = crate::consts::int_range(*bits, *signed);
                *v >= lo && *v <= hi
            }
            _ => true,
        };
        if lu {
            if types.is_float(lt) && types.is_int(rt) {
                return Ok(bt::F64);
            }
            if !fits(l.as_const(), rt) {
                return Ok(bt::I64);
            }
            return Ok(rt);
        }
        if ru {
            if types.is_float(rt) && types.is_int(lt) {
                return Ok(bt::F64);
            }
            if !fits(r.as_const(), lt) {
                return Ok(bt::I64);
            }
            return Ok(lt);
        }
        match (types.is_float(lt), types.is_float(rt)) {
            (true, true) => return Ok(if types.size_of(lt) >= types.size_of(rt) { lt } else { rt }),
            (true, false) if types.is_int(rt) => return Ok(lt),
            (false, true) if types.is_int(lt) => return Ok(rt),
            _ => {}
        }
        if types.is_int(lt) && types.is_int(rt) {
            if self.int_widens(lt, rt) {
                return Ok(rt);
            }
            if self.int_widens(rt, lt) {
                return Ok(lt);
            }
        }
        let msg = format!("mismatched operand types '{}' and '{}'", self.tname(lt), self.tname(rt));
        self.err(span, msg)
    }

    /// Arithmetic and bitwise operators on numbers.
    pub fn arith(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        if self.vector_shape(l.ty).is_some() || self.vector_shape(r.ty).is_some() {
            return self.vector_arith(op, l, r, span);
        }
        if self.c.types.is_tuple(l.ty) || self.c.types.is_tuple(r.ty) {
            return self.tuple_arith(op, l, r, span);
        }
        let shift = matches!(op, BinOp::Shl | BinOp::Shr);
        // Pointer arithmetic on many-pointers.
        if matches!(self.c.types.kind(l.ty), TK::ManyPointer(_)) && matches!(op, BinOp::Add | BinOp::Sub) && self.c.types.is_int(r.ty) {
            let TK::ManyPointer(e) = *self.c.types.kind(l.ty) else { unreachable!() };
            let ty = l.ty;
            let pv = self.scalar(l, span)?;
            let r = self.coerce(r, bt::I64, span).or_else(|_| Err(()))?;
            let iv = self.scalar(r, span)?;
            let p = self.ptr_ty();
            let esz = self.c.types.size_of(e) as i64;
            let sz = self.iconst(p, esz);
            let off = self.b(|b| b.binary(IB::Imul, iv, sz));
            let o = if op == BinOp::Add { IB::Iadd } else { IB::Isub };
            return Ok(TV { ty, v: V::Scalar(self.b(|b| b.binary(o, pv, off))) });
        }
        // Flags enums: `|`, `&`, `^` between values of the same enum type stay that type.
        if l.ty == r.ty && self.c.types.is_plain_enum(l.ty) && matches!(op, BinOp::BitOr | BinOp::BitAnd | BinOp::BitXor) {
            let ty = l.ty;
            if let (Some(ConstVal::Int { v: x, .. }), Some(ConstVal::Int { v: y, .. })) = (l.as_const(), r.as_const()) {
                let v = match op {
                    BinOp::BitOr => x | y,
                    BinOp::BitAnd => x & y,
                    _ => x ^ y,
                };
                return Ok(TV { ty, v: V::Const(ConstVal::Int { v, ty: Some(ty) }) });
            }
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let o = match op {
                BinOp::BitOr => IB::Or,
                BinOp::BitAnd => IB::And,
                _ => IB::Xor,
            };
            return Ok(TV { ty, v: V::Scalar(self.b(|bb| bb.binary(o, a, b))) });
        }
        for v in [&l, &r] {
            if !self.c.types.is_numeric(v.ty) {
                let msg = format!("operator '{}' cannot be applied to '{}' and '{}'", op_text(op), self.tname(l.ty), self.tname(r.ty));
                return self.err(span, msg);
            }
        }
        let ty = if shift {
            if l.as_const().map(|c| c.is_untyped()).unwrap_or(false) && !r.as_const().map(|c| c.is_untyped()).unwrap_or(false) {
                bt::I64
            } else {
                l.ty
            }
        } else {
            self.unify(&l, &r, span)?
        };
        let is_float = self.c.types.is_float(ty);
        if is_float && op == BinOp::Rem {
            let l = self.coerce(l, ty, span)?;
            let r = self.coerce(r, ty, span)?;
            if let (Some(a), Some(b)) = (l.as_const().cloned(), r.as_const().cloned()) {
                if let Some(c) = self.fold(op, &a, &b, ty, span)? {
                    return Ok(TV { ty: c.ty(), v: V::Const(c) });
                }
            }
            let (a, b) = (self.scalar(l, span)?, self.scalar(r, span)?);
            let irt = self.e.f.values[a].ty;
            let sym = if irt == IrType::F32 { "fmodf" } else { "fmod" };
            let ext = self.c.module.declare_extern(sym, sx_ir::Signature { params: vec![irt, irt], returns: vec![irt] });
            let v = self.b(|bb| bb.call_extern(ext, vec![a, b], &[irt]))[0];
            return Ok(TV { ty, v: V::Scalar(v) });
        }
        if is_float && matches!(op, BinOp::Shl | BinOp::Shr | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) {
            let msg = format!("operator '{}' needs integer operands, found '{}'", op_text(op), self.tname(ty));
            return self.err(span, msg);
        }
        let l = self.coerce(l, ty, span)?;
        let r = if shift { r } else { self.coerce(r, ty, span)? };
        // Constant folding.
        if let (Some(a), Some(b)) = (l.as_const().cloned(), r.as_const().cloned()) {
            if let Some(c) = self.fold(op, &a, &b, ty, span)? {
                return Ok(TV { ty: c.ty(), v: V::Const(c) });
            }
        }
        let signed = self.c.types.is_signed(ty);
        let a = self.scalar(l, span)?;
        let b = if shift {
            let rt = r.ty;
            let bv = self.scalar(r, span)?;
            let want = self.e.f.values[a].ty;
            let have = self.e.f.values[bv].ty;
            if have == want {
                bv
            } else if have.bytes() > want.bytes() {
                self.b(|b| b.convert(sx_ir::ConvOp::Trunc, bv, want))
            } else if self.c.types.is_signed(rt) {
                self.b(|b| b.convert(sx_ir::ConvOp::Sext, bv, want))
            } else {
                self.b(|b| b.convert(sx_ir::ConvOp::Uext, bv, want))
            }
        } else {
            self.scalar(r, span)?
        };
        let iop = match (op, is_float) {
            (BinOp::Add, false) => IB::Iadd,
            (BinOp::Sub, false) => IB::Isub,
            (BinOp::Mul, false) => IB::Imul,
            (BinOp::Div, false) => {
                if signed {
                    IB::Sdiv
                } else {
                    IB::Udiv
                }
            }
            (BinOp::Rem, false) => {
                if signed {
                    IB::Srem
                } else {
                    IB::Urem
                }
            }
            (BinOp::Add, true) => IB::Fadd,
            (BinOp::Sub, true) => IB::Fsub,
            (BinOp::Mul, true) => IB::Fmul,
            (BinOp::Div, true) => IB::Fdiv,
            (BinOp::BitAnd, _) => IB::And,
            (BinOp::BitOr, _) => IB::Or,
            (BinOp::BitXor, _) => IB::Xor,
            (BinOp::Shl, _) => IB::Shl,
            (BinOp::Shr, _) => {
                if signed {
                    IB::Sshr
                } else {
                    IB::Ushr
                }
            }
            _ => return self.err(span, format!("operator '{}' is not supported here", op_text(op))),
        };
        let v = self.b(|bb| bb.binary(iop, a, b));
        let v = if is_float { v } else { self.fix_width(v, ty) };
        Ok(TV { ty, v: V::Scalar(v) })
    }

    /// Folds a binary operation on two constants of type `ty`.
    fn fold(&mut self, op: BinOp, a: &ConstVal, b: &ConstVal, ty: TypeId, span: Span) -> R<Option<ConstVal>> {
        let tyo = match (a, b) {
            (
                ConstVal::Int { ty: None, .. } | ConstVal::Float { ty: None, .. },
                ConstVal::Int { ty: None, .. } | ConstVal::Float { ty: None, .. },
            ) => None,
            _ => Some(ty),
        };
        Ok(match (a, b) {
            (ConstVal::Int { v: x, .. }, ConstVal::Int { v: y, .. }) => {
                let (x, y) = (*x, *y);
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div | BinOp::Rem => {
                        if y == 0 {
                            return self.err(span, "division by zero in a constant expression");
                        }
                        if op == BinOp::Div {
                            x.checked_div(y)
                        } else {
                            x.checked_rem(y)
                        }
                    }
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                    BinOp::Shl => {
                        let bits = self.c.types.int_bits(ty) as i128;
                        Some(x.checked_shl((y.rem_euclid(bits.max(1))) as u32).unwrap_or(0))
                    }
                    BinOp::Shr => {
                        let bits = self.c.types.int_bits(ty) as i128;
                        let sh = y.rem_euclid(bits.max(1)) as u32;
                        if self.c.types.is_signed(ty) {
                            Some(x >> sh)
                        } else {
                            let u = wrap_int(x, bits as u8, false);
                            Some(u >> sh)
                        }
                    }
                    _ => None,
                };
                match r {
                    Some(v) => {
                        let v = match tyo {
                            Some(t) => wrap_int(v, self.c.types.int_bits(t), self.c.types.is_signed(t)),
                            None => v,
                        };
                        Some(ConstVal::Int { v, ty: tyo })
                    }
                    None => None,
                }
            }
            (ConstVal::Float { .. } | ConstVal::Int { .. }, ConstVal::Float { .. } | ConstVal::Int { .. }) => {
                let f = |c: &ConstVal| match c {
                    ConstVal::Int { v, .. } => *v as f64,
                    ConstVal::Float { v, .. } => *v,
                    _ => 0.0,
                };
                let (x, y) = (f(a), f(b));
                let single = ty == bt::F32;
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                    _ => return Ok(None),
                };
                let r = if single { r as f32 as f64 } else { r };
                Some(ConstVal::Float { v: r, ty: tyo })
            }
            _ => None,
        })
    }

    /// `l or rhs` with `l` already lowered (not failable).
    pub(crate) fn logical_or_from(&mut self, l: TV, rhs: &Expr, span: Span) -> R<TV> {
        self.logical_from(BinOp::Or, l, rhs, span, span)
    }

    fn logical(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<TV> {
        let l = self.expr(lhs, Some(bt::BOOL))?;
        // The right operand runs only when the left is true (`and`) / false (`or`).
        let proven = self.absent_errors(lhs, op == BinOp::And);
        if proven.is_empty() {
            return self.logical_from(op, l, rhs, lhs.span, span);
        }
        self.push_scope();
        self.prove_absent(proven);
        let r = self.logical_from(op, l, rhs, lhs.span, span);
        self.scopes.pop();
        r
    }

    fn logical_from(&mut self, op: BinOp, l: TV, rhs: &Expr, lspan: Span, span: Span) -> R<TV> {
        let l = self.presence_operand(l, lspan)?;
        if l.ty != bt::BOOL {
            let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(l.ty));
            return self.err(lspan, msg);
        }
        if let Some(ConstVal::Bool(a)) = l.as_const() {
            let a = *a;
            if (op == BinOp::And && !a) || (op == BinOp::Or && a) {
                return Ok(TV::konst(ConstVal::Bool(a)));
            }
            let r = self.expr(rhs, Some(bt::BOOL))?;
            let r = self.presence_operand(r, rhs.span)?;
            if r.ty != bt::BOOL {
                let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(r.ty));
                return self.err(rhs.span, msg);
            }
            return Ok(r);
        }
        let lv = self.scalar(l, span)?;
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
        let a = self.slot_addr(s);
        self.b(|b| b.store(a, 0, lv));
        let rhs_b = self.new_block();
        let join = self.new_block();
        if op == BinOp::And {
            self.b(|b| b.branch(lv, rhs_b, vec![], join, vec![]));
        } else {
            self.b(|b| b.branch(lv, join, vec![], rhs_b, vec![]));
        }
        self.switch(rhs_b);
        let r = self.expr(rhs, Some(bt::BOOL))?;
        let r = self.presence_operand(r, rhs.span)?;
        if r.ty != bt::BOOL {
            let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(r.ty));
            return self.err(rhs.span, msg);
        }
        let rv = self.scalar(r, span)?;
        let a = self.slot_addr(s);
        self.b(|b| b.store(a, 0, rv));
        self.jump(join);
        self.switch(join);
        let a = self.slot_addr(s);
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.load(IrType::I8, a, 0))) })
    }

    /// `v.(T)` between a struct and a scalar: the bytes of `v` read as a `T` (the part `v`
    /// does not cover reads as zero).
    fn reinterpret(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        let size = self.c.types.size_of(v.ty).max(self.c.types.size_of(to)).max(1);
        let s = self.e.f.slots.push(sx_ir::SlotData { size: size as u32, align: 16 });
        let a = self.slot_addr(s);
        let p = self.ptr_ty();
        let zero = self.iconst(IrType::I8, 0);
        let len = self.iconst(p, size as i64);
        self.b(|b| b.memfill(a, zero, len));
        let v = self.materialize(v, span)?;
        self.store(a, v, span)?;
        Ok(self.load(a, to))
    }

    /// An optional operand of `and` / `or` stands for its presence.
    fn presence_operand(&mut self, v: TV, span: Span) -> R<TV> {
        if self.c.types.optional_inner(v.ty).is_none() {
            return Ok(v);
        }
        let p = self.opt_present(v, span)?;
        Ok(TV { ty: bt::BOOL, v: V::Scalar(p) })
    }

    fn chain(&mut self, operands: &[Expr], ops: &[BinOp], span: Span) -> R<TV> {
        // a < b <= c  ==>  (a < b) and (b <= c), each operand evaluated once.
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
        let join = self.new_block();
        let mut prev = self.expr(&operands[0], None)?;
        for (i, op) in ops.iter().enumerate() {
            let next =
                self.expr(&operands[i + 1], if prev.as_const().map(|c| c.is_untyped()).unwrap_or(false) { None } else { Some(prev.ty) })?;
            let next = self.materialize(next, operands[i + 1].span)?;
            let c = self.compare(*op, prev, next.clone(), span)?;
            let cv = self.scalar(c, span)?;
            let a = self.slot_addr(s);
            self.b(|b| b.store(a, 0, cv));
            if i + 1 < ops.len() {
                let cont = self.new_block();
                self.b(|b| b.branch(cv, cont, vec![], join, vec![]));
                self.switch(cont);
            } else {
                self.jump(join);
            }
            prev = next;
        }
        self.switch(join);
        let a = self.slot_addr(s);
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.load(IrType::I8, a, 0))) })
    }

    /// Comparison operators (numbers, bools, pointers, strings, structs).
    pub fn compare(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        let (lt, rt) = (l.ty, r.ty);
        if self.c.types.is_error_set(lt) || self.c.types.is_error_set(rt) {
            return self.compare_errors(op, l, r, span);
        }
        if self.c.types.is_tuple(lt) || self.c.types.is_tuple(rt) {
            return self.tuple_compare(op, l, r, span);
        }
        if lt == bt::ANY || rt == bt::ANY {
            return self.err(span, "'any' values cannot be compared: unbox first (`av.(T)`), or compare `type_of(av)`");
        }
        let types = &self.c.types;
        if lt == bt::STRING || rt == bt::STRING {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "strings can only be compared with '==' and '!='");
            }
            let l = self.coerce(l, bt::STRING, span)?;
            let r = self.coerce(r, bt::STRING, span)?;
            let eq = self.string_eq(l, r, span)?;
            return Ok(if op == BinOp::Eq { eq } else { self.not(eq) });
        }
        let l_opt = types.optional_inner(lt).is_some();
        let r_opt = types.optional_inner(rt).is_some();
        if (l_opt || r_opt) && matches!(op, BinOp::Eq | BinOp::Ne) {
            let l_null = matches!(l.as_const(), Some(ConstVal::Null));
            let r_null = matches!(r.as_const(), Some(ConstVal::Null));
            if l_null || r_null {
                let o = if l_null { r } else { l };
                if self.c.types.optional_inner(o.ty).is_none() {
                    return self.err(span, "only optionals and pointers compare with 'null'");
                }
                let p = self.opt_present(o, span)?;
                let tv = TV { ty: bt::BOOL, v: V::Scalar(p) };
                return Ok(if op == BinOp::Ne { tv } else { self.not(tv) });
            }
            // `?T == T` compares payloads when present; two optionals: both absent are equal.
            let (lo, ro) = (l_opt, r_opt);
            let opt_ty = if lo { lt } else { rt };
            let l = if lo { l } else { self.coerce(l, opt_ty, span)? };
            let r = if ro { r } else { self.coerce(r, opt_ty, span)? };
            let l = self.materialize(l, span)?;
            let l = self.spill(l, span)?;
            let r = self.materialize(r, span)?;
            let r = self.spill(r, span)?;
            let lp = self.opt_present(l.clone(), span)?;
            let rp = self.opt_present(r.clone(), span)?;
            let res = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
            let same = self.b(|b| b.icmp(IntCC::Eq, lp, rp));
            let ra = self.slot_addr(res);
            self.b(|b| b.store(ra, 0, same));
            let both = self.b(|b| b.binary(IB::And, lp, rp));
            let cmp_b = self.new_block();
            let done = self.new_block();
            self.b(|b| b.branch(both, cmp_b, vec![], done, vec![]));
            self.switch(cmp_b);
            let lv = self.opt_payload(l, span)?;
            let rv = self.opt_payload(r, span)?;
            let e = self.compare(BinOp::Eq, lv, rv, span)?;
            let ev = self.scalar(e, span)?;
            let ra = self.slot_addr(res);
            self.b(|b| b.store(ra, 0, ev));
            self.jump(done);
            self.switch(done);
            let ra = self.slot_addr(res);
            let v = self.b(|b| b.load(IrType::I8, ra, 0));
            let tv = TV { ty: bt::BOOL, v: V::Scalar(v) };
            return Ok(if op == BinOp::Eq { tv } else { self.not(tv) });
        }
        let types = &self.c.types;
        if lt == rt && types.is_tagged_enum(lt) {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "tagged unions can only be compared with '==' and '!='");
            }
            let backing = types.enum_of(lt).map(|e| e.backing).unwrap_or(bt::I64);
            let irt = types.scalar(backing).unwrap_or(IrType::I64);
            let l = self.materialize(l, span)?;
            let r = self.materialize(r, span)?;
            let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these values") };
            let (x, y) = self.b(|bb| (bb.load(irt, a, 0), bb.load(irt, b, 0)));
            let cc = int_cc(op, false);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, x, y))) });
        }
        if lt == rt && types.is_plain_enum(lt) {
            if let (Some(ConstVal::Int { v: x, .. }), Some(ConstVal::Int { v: y, .. })) = (l.as_const(), r.as_const()) {
                let res = match op {
                    BinOp::Eq => x == y,
                    BinOp::Ne => x != y,
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    _ => x >= y,
                };
                return Ok(TV::konst(ConstVal::Bool(res)));
            }
            let signed = types.is_signed(lt);
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let cc = int_cc(op, signed);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, a, b))) });
        }
        if (types.is_numeric(lt) || l.as_const().map(|c| c.is_untyped()).unwrap_or(false))
            && (types.is_numeric(rt) || r.as_const().map(|c| c.is_untyped()).unwrap_or(false))
        {
            let ty = self.unify(&l, &r, span)?;
            let l = self.coerce(l, ty, span)?;
            let r = self.coerce(r, ty, span)?;
            if let (Some(a), Some(b)) = (l.as_const(), r.as_const()) {
                let ord = match (a, b) {
                    (ConstVal::Int { v: x, .. }, ConstVal::Int { v: y, .. }) => x.partial_cmp(y),
                    (ConstVal::Float { v: x, .. }, ConstVal::Float { v: y, .. }) => x.partial_cmp(y),
                    _ => None,
                };
                let res = match (op, ord) {
                    (BinOp::Ne, None) => Some(true),
                    (_, None) => Some(false),
                    (BinOp::Eq, Some(o)) => Some(o.is_eq()),
                    (BinOp::Ne, Some(o)) => Some(o.is_ne()),
                    (BinOp::Lt, Some(o)) => Some(o.is_lt()),
                    (BinOp::Le, Some(o)) => Some(o.is_le()),
                    (BinOp::Gt, Some(o)) => Some(o.is_gt()),
                    (BinOp::Ge, Some(o)) => Some(o.is_ge()),
                    _ => None,
                };
                if let Some(b) = res {
                    return Ok(TV::konst(ConstVal::Bool(b)));
                }
            }
            let is_float = self.c.types.is_float(ty);
            let signed = self.c.types.is_signed(ty);
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let v = if is_float {
                let cc = match op {
                    BinOp::Eq => FloatCC::Eq,
                    BinOp::Ne => FloatCC::Ne,
                    BinOp::Lt => FloatCC::Lt,
                    BinOp::Le => FloatCC::Le,
                    BinOp::Gt => FloatCC::Gt,
                    _ => FloatCC::Ge,
                };
                self.b(|bb| bb.fcmp(cc, a, b))
            } else {
                let cc = int_cc(op, signed);
                self.b(|bb| bb.icmp(cc, a, b))
            };
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(v) });
        }
        let ptrish = |t: TypeId, v: &TV| types.is_pointer_like(t) || matches!(v.as_const(), Some(ConstVal::Null)) || t == bt::TYPE;
        if (lt == bt::BOOL && rt == bt::BOOL) || (ptrish(lt, &l) && ptrish(rt, &r)) {
            if !matches!(op, BinOp::Eq | BinOp::Ne) && lt == bt::BOOL {
                return self.err(span, "booleans can only be compared with '==' and '!='");
            }
            let target = if matches!(l.as_const(), Some(ConstVal::Null)) { rt } else { lt };
            let l = if lt == bt::VOID { TV { ty: target, ..l } } else { l };
            let r = if rt == bt::VOID { TV { ty: target, ..r } } else { r };
            if let (Some(a), Some(b)) = (l.as_const(), r.as_const()) {
                if let (ConstVal::Type(x), ConstVal::Type(y)) = (a, b) {
                    let eq = x == y;
                    return Ok(TV::konst(ConstVal::Bool(if op == BinOp::Eq { eq } else { !eq })));
                }
                if let (ConstVal::Bool(x), ConstVal::Bool(y)) = (a, b) {
                    let eq = x == y;
                    return Ok(TV::konst(ConstVal::Bool(if op == BinOp::Eq { eq } else { !eq })));
                }
            }
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let cc = int_cc(op, false);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, a, b))) });
        }
        if let (TK::Struct(_), TK::Struct(_)) = (types.kind(lt), types.kind(rt)) {
            if lt != rt {
                let msg = format!("cannot compare values of distinct struct types '{}' and '{}'", self.tname(lt), self.tname(rt));
                return self.err(span, msg);
            }
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "structs can only be compared with '==' and '!='");
            }
            if self.c.types.struct_of(lt).map(|s| s.is_union).unwrap_or(false) {
                return self.err(span, format!("untagged union '{}' cannot be compared", self.tname(lt)));
            }
            let l = self.materialize(l, span)?;
            let r = self.materialize(r, span)?;
            let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these values") };
            let eq = self.mem_eq(a, b, lt, span)?;
            return Ok(if op == BinOp::Eq { eq } else { self.not(eq) });
        }
        let msg = format!("cannot compare '{}' with '{}'", self.tname(lt), self.tname(rt));
        self.err(span, msg)
    }

    fn not(&mut self, tv: TV) -> TV {
        if let Some(ConstVal::Bool(b)) = tv.as_const() {
            return TV::konst(ConstVal::Bool(!b));
        }
        let V::Scalar(v) = tv.v else { return tv };
        let one = self.iconst(IrType::I8, 1);
        TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.binary(IB::Xor, v, one))) }
    }

    fn string_eq(&mut self, l: TV, r: TV, span: Span) -> R<TV> {
        if let (Some(ConstVal::Str(a)), Some(ConstVal::Str(b))) = (l.as_const(), r.as_const()) {
            return Ok(TV::konst(ConstVal::Bool(a == b)));
        }
        let l = self.materialize(l, span)?;
        let r = self.materialize(r, span)?;
        let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these strings") };
        self.call_helper("__sx_string_eq", vec![a, b], bt::BOOL, span)
    }

    /// Field-by-field equality of two values of struct type `ty` at `a` and `b`.
    fn mem_eq(&mut self, a: Value, b: Value, ty: TypeId, span: Span) -> R<TV> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let mut acc: Option<Value> = None;
        for f in fields {
            let fa = self.offset_addr(a, f.offset as i64);
            let fb = self.offset_addr(b, f.offset as i64);
            let la = self.load(fa, f.ty);
            let lb = self.load(fb, f.ty);
            if matches!(self.c.types.kind(f.ty), TK::Array(..)) {
                return self.err(span, format!("cannot compare structs of type '{}': field '{}' is an array", self.tname(ty), f.name));
            }
            let e = self.compare(BinOp::Eq, la, lb, span)?;
            let ev = self.scalar(e, span)?;
            acc = Some(match acc {
                None => ev,
                Some(p) => self.b(|bb| bb.binary(IB::And, p, ev)),
            });
        }
        Ok(match acc {
            None => TV::konst(ConstVal::Bool(true)),
            Some(v) => TV { ty: bt::BOOL, v: V::Scalar(v) },
        })
    }

    /// Calls a helper function of our std (by name) with raw IR arguments.
    pub fn call_helper(&mut self, name: &str, args: Vec<Value>, ret: TypeId, span: Span) -> R<TV> {
        let Some(std) = self.c.std_file.or_else(|| self.c.find_std()) else {
            return self.err(span, format!("this needs the standard library helper '{}' (import \"modules/std.sx\")", name));
        };
        let Some(ConstVal::Func(fid)) = self.c.lookup_own(std, name, span)? else {
            return self.err(span, format!("standard library helper '{}' not found", name));
        };
        let func = self.c.declare_fn(fid, span)?;
        let rt: Vec<IrType> = self.c.types.scalar(ret).into_iter().collect();
        let r = self.b(|b| b.call(func, args, &rt));
        Ok(match r.first() {
            Some(v) => TV { ty: ret, v: V::Scalar(*v) },
            None => TV::void(),
        })
    }

    fn if_expr(&mut self, cond: &Cond, then: &Expr, else_: Option<&Expr>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let (t, bound, narrowed) = match cond {
            Cond::Expr(c) => {
                let cv = self.expr(c, Some(bt::BOOL))?;
                (self.truth(cv, c.span)?, None, self.narrowing_target(c))
            }
            Cond::Bind { name, value } => {
                let (p, opt) = self.bind_condition(name, value)?;
                (p, Some((name.clone(), opt)), None)
            }
        };
        let tb = self.new_block();
        let eb = self.new_block();
        self.b(|b| b.branch(t, tb, vec![], eb, vec![]));
        let r = self.if_arms(tb, eb, then, else_, expected, span, narrowed.clone(), bound, Some(cond))?;
        // `if x == null { return; }` narrows `x` for the rest of the block.
        if let Some((names, false)) = &narrowed {
            if else_.is_none() && matches!(r.1, Some(true)) {
                names.iter().for_each(|n| self.narrow(n));
            }
        }
        // `if err { return; }` proves `err` absent for the rest of the block.
        if let (Cond::Expr(c), None, Some(true)) = (cond, else_, r.1) {
            let proven = self.absent_errors(c, false);
            self.prove_absent(proven);
        }
        Ok(r.0)
    }

    #[allow(clippy::too_many_arguments)]
    fn if_arms(
        &mut self,
        tb: sx_ir::Block,
        eb: sx_ir::Block,
        then: &Expr,
        else_: Option<&Expr>,
        expected: Option<TypeId>,
        span: Span,
        narrowed: Option<(Vec<String>, bool)>,
        bound: Option<(Ident, TV)>,
        cond: Option<&Cond>,
    ) -> R<(TV, Option<bool>)> {
        let cond = match cond {
            Some(Cond::Expr(c)) => Some(c),
            _ => None,
        };
        // The then-branch sees the payload (binding or narrowing) in its own scope.
        let then_scope = |cx: &mut Self| -> R<()> {
            cx.switch(tb);
            cx.push_scope();
            if let Some((name, opt)) = &bound {
                cx.bind_payload(name, opt.clone())?;
            }
            if let Some((names, true)) = &narrowed {
                names.iter().for_each(|n| cx.narrow(n));
            }
            if let Some(c) = cond {
                let proven = cx.absent_errors(c, true);
                cx.prove_absent(proven);
            }
            Ok(())
        };
        let Some(else_) = else_ else {
            if let Some(exp) = expected {
                if exp != bt::VOID && exp != bt::TYPE {
                    return self.err(span, "an 'if' used as a value needs an 'else' branch");
                }
            }
            then_scope(self)?;
            let r = self.expr(then, None);
            self.scopes.pop();
            r?;
            let then_diverges = self.terminated();
            self.jump(eb);
            self.switch(eb);
            return Ok((TV::void(), Some(then_diverges)));
        };
        let mut arms = vec![];
        then_scope(self)?;
        let tv = self.expr(then, expected);
        self.scopes.pop();
        let tv = tv?;
        arms.push((self.e.cur, tv, then.span));
        self.switch(eb);
        // The else-branch of `if x == null` sees `x` narrowed.
        self.push_scope();
        if let Some((names, false)) = &narrowed {
            names.iter().for_each(|n| self.narrow(n));
        }
        if let Some(c) = cond {
            let proven = self.absent_errors(c, false);
            self.prove_absent(proven);
        }
        let ev = self.expr(else_, expected);
        self.scopes.pop();
        let ev = ev?;
        arms.push((self.e.cur, ev, else_.span));
        Ok((self.join(arms, expected, span)?, None))
    }

    /// Merges the values of several arms (each ending in its block) into one value.
    pub fn join(&mut self, arms: Vec<(Option<sx_ir::Block>, TV, Span)>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let live: Vec<&(Option<sx_ir::Block>, TV, Span)> = arms.iter().filter(|(_, v, _)| !matches!(v.v, V::Never)).collect();
        let join = self.new_block();
        if live.is_empty() {
            self.switch(join);
            return Ok(TV::never());
        }
        let ty = match expected.filter(|t| *t != bt::TYPE && *t != bt::VOID) {
            Some(t) => t,
            None => {
                let mut ty: Option<TV> = None;
                let is_null = |v: &TV| matches!(v.v, V::Const(ConstVal::Null)) && v.ty == bt::VOID;
                let has_null = live.iter().any(|(_, v, _)| is_null(v));
                for (_, v, s) in live.iter().filter(|(_, v, _)| !is_null(v)) {
                    ty = Some(match ty {
                        None => (*v).clone(),
                        Some(prev) => {
                            if self.c.types.is_numeric(prev.ty) && self.c.types.is_numeric(v.ty)
                                || prev.as_const().map(|c| c.is_untyped()).unwrap_or(false)
                            {
                                let u = self.unify(&prev, v, *s)?;
                                let untyped = prev.as_const().map(|c| c.is_untyped()).unwrap_or(false)
                                    && v.as_const().map(|c| c.is_untyped()).unwrap_or(false);
                                TV { ty: u, v: if untyped { prev.v.clone() } else { V::Void } }
                            } else {
                                prev
                            }
                        }
                    });
                }
                match ty.map(|t| t.ty) {
                    // `if c { 5 } else { null }`: a `null` arm makes the value optional.
                    Some(t)
                        if has_null && t != bt::VOID && !self.c.types.is_pointer_like(t) && self.c.types.optional_inner(t).is_none() =>
                    {
                        self.c.types.optional(t)
                    }
                    Some(t) => t,
                    None => bt::VOID,
                }
            }
        };
        let void_arm = live.iter().any(|(_, v, _)| v.ty == bt::VOID && !(matches!(v.v, V::Const(ConstVal::Null)) && ty != bt::VOID));
        if ty == bt::VOID || void_arm {
            for (blk, _, _) in &arms {
                if let Some(b) = blk {
                    self.switch(*b);
                    self.jump(join);
                }
            }
            self.switch(join);
            return Ok(TV::void());
        }
        let s = self.slot_for(ty);
        for (blk, v, sp) in arms {
            if matches!(v.v, V::Never) {
                continue;
            }
            if let Some(b) = blk {
                self.switch(b);
                if self.terminated() {
                    continue;
                }
                let v = self.coerce(v, ty, sp)?;
                let a = self.slot_addr(s);
                self.store(a, v, sp)?;
                self.jump(join);
            }
        }
        self.switch(join);
        let _ = span;
        let a = self.slot_addr(s);
        Ok(self.load(a, ty))
    }

    /// Binds a match-arm capture to the `ty` value at `addr`: a read-only copy for `(v)`, a
    /// pointer to it for `(*v)`.
    pub(crate) fn bind_capture(&mut self, cap: &Capture, addr: Value, ty: TypeId) -> R<()> {
        let (bty, v) = if cap.by_ref {
            let pty = self.c.types.pointer(ty);
            (pty, TV { ty: pty, v: V::Scalar(addr) })
        } else {
            (ty, self.load(addr, ty))
        };
        let sl = self.slot_for(bty);
        let sa = self.slot_addr(sl);
        self.store(sa, v, cap.name.span)?;
        self.bind(&cap.name.name, Local::Var { slot: sl, ty: bty, by_ref: false, readonly: true });
        Ok(())
    }

    fn match_expr(&mut self, subject: &Expr, arms: &[MatchArm], else_: Option<&Block>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let sv = self.expr(subject, None)?;
        if self.c.is_protocol(sv.ty) {
            // A type switch on a protocol value reads its concrete type like an `any`'s.
            let m = self.materialize(sv, subject.span)?;
            let m = self.spill(m, subject.span)?;
            return self.match_types(TV { ty: bt::ANY, v: m.v }, arms, else_, expected, span);
        }
        if sv.ty == bt::ANY || sv.ty == bt::TYPE {
            return self.match_types(sv, arms, else_, expected, span);
        }
        if self.c.types.optional_inner(sv.ty).is_some() {
            return self.match_optional(sv, arms, else_, expected, span);
        }
        let sv = if sv.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(sv.clone(), sv.ty, span)? } else { sv };
        let mut sty = sv.ty;
        let mut sv = sv;
        // Through a pointer to an enum or an integer.
        if let TK::Pointer(inner) = self.c.types.kind(sty).clone() {
            if matches!(self.c.types.kind(inner), TK::Enum(_)) || self.c.types.is_int(inner) || inner == bt::BOOL {
                let p = self.scalar(sv, subject.span)?;
                sv = self.load(p, inner);
                sty = inner;
            }
        }
        if !(self.c.types.is_int(sty) || sty == bt::BOOL || matches!(self.c.types.kind(sty), TK::Enum(_)) || self.c.types.is_error_set(sty))
        {
            let msg = format!("not supported yet: matching on a value of type '{}'", self.tname(sty));
            return self.err(subject.span, msg);
        }
        let tagged = self.c.types.is_tagged_enum(sty);
        let sv = self.materialize(sv, subject.span)?;
        let sv = if tagged { self.spill(sv, subject.span)? } else { sv };
        let subj_addr = match sv.v {
            V::Mem(a) => Some(a),
            _ => None,
        };
        let s = if tagged {
            let backing = self.c.types.enum_of(sty).map(|e| e.backing).unwrap_or(bt::I64);
            let irt = self.c.types.scalar(backing).unwrap_or(IrType::I64);
            let a = subj_addr.expect("tagged subject in memory");
            self.b(|b| b.load(irt, a, 0))
        } else {
            self.scalar(sv, subject.span)?
        };
        let join_expected = expected;
        let mut results = vec![];
        let end = self.new_block();
        let mut covered: Vec<&str> = vec![];
        for arm in arms {
            covered.extend(arm.patterns.iter().filter_map(|p| match &p.kind {
                ExprKind::EnumLit(id) => Some(id.name.as_str()),
                _ => None,
            }));
            if arm.capture.is_some() && !tagged {
                return self.err(arm.span, "only tagged-union variants carry a payload to capture");
            }
            let body_b = self.new_block();
            let mut next = self.new_block();
            let mut captured: Option<(u64, TypeId)> = None;
            for (k, p) in arm.patterns.iter().enumerate() {
                let pvv = if tagged {
                    let ExprKind::EnumLit(id) = &p.kind else {
                        return self.err(p.span, "a tagged-union 'case' needs a '.variant' pattern");
                    };
                    let (value, payload) = self.variant_info(sty, id)?;
                    if let Some(pt) = payload {
                        let off = self.c.types.enum_of(sty).map(|e| e.payload_offset).unwrap_or(0);
                        captured = Some((off, pt));
                    }
                    let irt = self.e.f.values[s].ty;
                    self.iconst(irt, value as i64)
                } else {
                    let pv = self.expr(p, Some(sty))?;
                    let pv = self.coerce(pv, sty, p.span)?;
                    if pv.as_const().is_none() {
                        return self.err(p.span, "a 'case' pattern must be a compile-time constant");
                    }
                    self.scalar(pv, p.span)?
                };
                let c = self.b(|b| b.icmp(IntCC::Eq, s, pvv));
                if k + 1 < arm.patterns.len() {
                    let more = self.new_block();
                    self.b(|b| b.branch(c, body_b, vec![], more, vec![]));
                    self.switch(more);
                } else {
                    self.b(|b| b.branch(c, body_b, vec![], next, vec![]));
                }
            }
            if arm.patterns.is_empty() {
                self.jump(next);
                next = self.new_block();
            }
            self.switch(body_b);
            self.push_scope();
            if let Some(cap) = &arm.capture {
                let Some((off, pt)) = captured else {
                    return self.err(cap.name.span, "this variant has no payload to capture");
                };
                let a = subj_addr.expect("tagged subject in memory");
                let pa = self.offset_addr(a, off as i64);
                self.bind_capture(cap, pa, pt)?;
            }
            let v = self.block_value(&arm.body, join_expected);
            self.scopes.pop();
            let v = v?;
            results.push((self.e.cur, v, arm.body.span));
            self.switch(next);
        }
        let exhaustive =
            self.c.types.enum_of(sty).map(|e| !e.variants.is_empty() && e.variants.iter().all(|v| covered.contains(&v.name.as_str())));
        if else_.is_none() && exhaustive == Some(true) {
            return self.finish_exhaustive_match(results, join_expected, end, span);
        }
        self.finish_match(results, else_, join_expected, end, span)
    }

    /// `if opt == { case .some: (v) … case .none: … }`.
    fn match_optional(&mut self, sv: TV, arms: &[MatchArm], else_: Option<&Block>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let sv = self.materialize(sv, span)?;
        let sv = self.spill(sv, span)?;
        let present = self.opt_present(sv.clone(), span)?;
        let mut results = vec![];
        let end = self.new_block();
        let (mut has_some, mut has_none) = (false, false);
        for arm in arms {
            let body_b = self.new_block();
            let next = self.new_block();
            let mut want_some = None;
            for p in &arm.patterns {
                match &p.kind {
                    ExprKind::EnumLit(id) if id.name == "some" => want_some = Some(true),
                    ExprKind::EnumLit(id) if id.name == "none" => want_some = Some(false),
                    ExprKind::Null => want_some = Some(false),
                    _ => return self.err(p.span, "an optional is matched with 'case .some:' or 'case .none:'"),
                }
            }
            has_some |= want_some == Some(true);
            has_none |= want_some == Some(false);
            match want_some {
                Some(true) => self.b(|b| b.branch(present, body_b, vec![], next, vec![])),
                Some(false) => self.b(|b| b.branch(present, next, vec![], body_b, vec![])),
                None => self.b(|b| b.jump(body_b, vec![])),
            }
            self.switch(body_b);
            self.push_scope();
            if let Some(cap) = &arm.capture {
                if want_some != Some(true) {
                    self.scopes.pop();
                    return self.err(cap.name.span, "only 'case .some:' has a payload to capture");
                }
                self.bind_payload(&cap.name, sv.clone())?;
            }
            let v = self.block_value(&arm.body, expected);
            self.scopes.pop();
            let v = v?;
            results.push((self.e.cur, v, arm.body.span));
            self.switch(next);
        }
        if else_.is_none() && has_some && has_none {
            return self.finish_exhaustive_match(results, expected, end, span);
        }
        self.finish_match(results, else_, expected, end, span)
    }

    /// The common tail of value matches: the `else` arm (or an unreachable fall-through when
    /// a value is expected), the join of all arm values, and the block that `break` in an arm
    /// jumps to (`end`), which continues after the match.
    pub fn finish_match(
        &mut self,
        mut results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        else_: Option<&Block>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        match else_ {
            Some(b) => {
                let v = self.block_value(b, expected)?;
                results.push((self.e.cur, v, b.span));
            }
            None => {
                if expected.map(|t| t != bt::VOID).unwrap_or(false) {
                    // A value match without `else`: falling through is unreachable.
                    self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
                    results.push((self.e.cur, TV::never(), span));
                } else {
                    results.push((self.e.cur, TV::void(), span));
                }
            }
        }
        self.join_match_arms(results, expected, end, span)
    }

    /// A match without `else` whose arms name every variant of the subject's enum: falling
    /// through is unreachable, so the match has a value even where none is expected.
    fn finish_exhaustive_match(
        &mut self,
        mut results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
        results.push((self.e.cur, TV::never(), span));
        self.join_match_arms(results, expected, end, span)
    }

    /// Joins the arm values of a match and continues after it (at `end`, the target of
    /// `break` in an arm).
    fn join_match_arms(
        &mut self,
        results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        let r = self.join(results, expected, span)?;
        let after = self.e.cur;
        self.switch(end);
        if let Some(a) = after {
            self.b(|b| b.jump(a, vec![]));
        }
        self.switch(after.unwrap_or(end));
        Ok(r)
    }

    /// `E.v.{ … }` / `.v.{ … }`: a tagged-union variant built from a literal of its payload (the
    /// fields of a struct payload, or the single value of a scalar one).
    fn variant_struct_lit(&mut self, ty: Option<&Expr>, fields: &[FieldInit], expected: Option<TypeId>, span: Span) -> R<Option<TV>> {
        let Some(te) = ty else { return Ok(None) };
        let (enum_ty, name) = match &te.kind {
            ExprKind::EnumLit(id) => match expected.map(|t| self.deref_enum(t)).filter(|t| self.c.types.is_tagged_enum(*t)) {
                Some(t) => (t, id),
                None => return Ok(None),
            },
            ExprKind::Field { base, name } => match self.try_type(base)? {
                Some(t) if self.c.types.is_tagged_enum(t) => (t, name),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let (_, payload) = self.variant_info(enum_ty, name)?;
        let Some(pt) = payload else {
            return self.err(span, format!("variant '.{}' has no payload to build with a literal", name.name));
        };
        let value = if self.c.types.struct_of(pt).is_some() {
            Expr::new(ExprKind::StructLit { ty: None, fields: fields.to_vec() }, span)
        } else {
            match fields {
                [f] if f.name.is_none() && !f.spread => f.value.clone(),
                _ => {
                    return self
                        .err(span, format!("variant '.{}' holds one '{}': write `.{}.{{ value }}`", name.name, self.tname(pt), name.name))
                }
            }
        };
        let args = [Arg { name: None, value, spread: false, span }];
        self.enum_variant_value(enum_ty, name, Some(&args), span).map(Some)
    }

    fn struct_lit(&mut self, ty: Option<&Expr>, fields: &[FieldInit], expected: Option<TypeId>, span: Span) -> R<TV> {
        // Against `?T`, the literal builds the `T` (wrapped by the caller's coercion).
        let expected = expected.map(|t| self.c.types.optional_inner(t).unwrap_or(t));
        if ty.is_none() {
            if let Some(t) = expected.filter(|t| matches!(self.c.types.kind(*t), TK::Array(..))) {
                if fields.iter().all(|f| f.name.is_none() && !f.spread) {
                    let elems: Vec<Expr> = fields.iter().map(|f| f.value.clone()).collect();
                    return self.array_lit(None, &elems, Some(t), span);
                }
            }
        }
        if let Some(v) = self.variant_struct_lit(ty, fields, expected, span)? {
            return Ok(v);
        }
        if let (None, Some(ct)) = (ty, expected.filter(|t| matches!(self.c.types.kind(*t), TK::Closure { .. }))) {
            return self.closure_parts_lit(fields, ct, span);
        }
        let sty = match ty {
            Some(t) => self.type_expr(t)?,
            None => match expected.filter(|t| matches!(self.c.types.kind(*t), TK::Struct(_) | TK::String | TK::Slice(_))) {
                Some(t) => t,
                None => return self.anon_struct_lit(fields, span),
            },
        };
        if matches!(self.c.types.kind(sty), TK::Array(..) | TK::Vector(..)) && fields.iter().all(|f| f.name.is_none() && !f.spread) {
            // `[3]i64.{ a, b, c }`: an array (or vector) literal spelled with braces.
            let elems: Vec<Expr> = fields.iter().map(|f| f.value.clone()).collect();
            return self.array_lit(None, &elems, Some(sty), span);
        }
        let flds: Vec<(String, u64, TypeId)> = match self.c.types.kind(sty).clone() {
            TK::Struct(_) => {
                self.c.types.struct_of(sty).map(|s| s.fields.iter().map(|f| (f.name.clone(), f.offset, f.ty)).collect()).unwrap_or_default()
            }
            TK::String | TK::Slice(_) => {
                let pb = self.c.module.pointer_bytes() as u64;
                let (_, pt) = self.field_of(sty, "ptr").expect("ptr");
                vec![("ptr".into(), 0, pt), ("len".into(), pb, bt::I64)]
            }
            _ => {
                let msg = format!("cannot build a '{}' with a struct literal", self.tname(sty));
                return self.err(span, msg);
            }
        };
        self.check_union_literal(sty, fields, span)?;
        let s = self.slot_for(sty);
        let a = self.slot_addr(s);
        self.init_default(a, sty, span)?;
        let mut pos = 0usize;
        for fi in fields {
            if fi.spread {
                return self.err(fi.span, "not supported yet: '..' in struct literals");
            }
            let (name, off, fty) = match &fi.name {
                Some(n) => match flds.iter().find(|f| f.0 == n.name) {
                    Some(f) => f.clone(),
                    None if crate::type_rules::promoted_field(&self.c.types, sty, &n.name).is_some() => {
                        let (off, fty, _) = crate::type_rules::promoted_field(&self.c.types, sty, &n.name).expect("promoted");
                        (n.name.clone(), off, fty)
                    }
                    None => {
                        let msg = format!("type '{}' has no field '{}'", self.tname(sty), n.name);
                        return self.err(n.span, msg);
                    }
                },
                None => {
                    // Shorthand `S.{ x, y }`: a bare identifier naming a field.
                    if let ExprKind::Ident(id) = &fi.value.kind {
                        if let Some(f) = flds.iter().find(|f| f.0 == id.name) {
                            if flds.iter().position(|g| g.0 == id.name) != Some(pos) || true {
                                let f = f.clone();
                                let v = self.expr(&fi.value, Some(f.2))?;
                                let v = self.coerce(v, f.2, fi.value.span)?;
                                let fa = self.offset_addr(a, f.1 as i64);
                                self.store(fa, v, fi.span)?;
                                pos = flds.iter().position(|g| g.0 == id.name).unwrap_or(pos) + 1;
                                continue;
                            }
                        }
                    }
                    match flds.get(pos) {
                        Some(f) => f.clone(),
                        None => {
                            let msg = format!("too many values for '{}' (it has {} fields)", self.tname(sty), flds.len());
                            return self.err(fi.span, msg);
                        }
                    }
                }
            };
            let _ = name;
            pos += 1;
            if matches!(fi.value.kind, ExprKind::Undef) {
                continue;
            }
            let v = self.expr(&fi.value, Some(fty))?;
            let v = self.coerce(v, fty, fi.value.span)?;
            let fa = self.offset_addr(a, off as i64);
            self.store(fa, v, fi.span)?;
        }
        Ok(TV { ty: sty, v: V::Mem(a) })
    }

    /// `T.{ … } { stmts }`: the literal, then the block with `self` naming it in place; the
    /// value is the literal as the block left it.
    fn init_block(&mut self, init: &Expr, body: &Block, expected: Option<TypeId>, span: Span) -> R<TV> {
        let v = self.expr(init, expected)?;
        let v = self.materialize(v, span)?;
        let v = self.spill(v, span)?;
        let V::Mem(a) = v.v else { return self.err(init.span, "an init block needs an aggregate value") };
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
        let sa = self.slot_addr(s);
        self.b(|b| b.store(sa, 0, a));
        self.push_scope();
        self.bind("self", Local::Var { slot: s, ty: v.ty, by_ref: true, readonly: false });
        let r = self.block_value(body, None);
        self.pop_scope()?;
        r?;
        Ok(TV { ty: v.ty, v: V::Mem(a) })
    }

    /// `.{ fn_ptr = f, env = e }` against a closure type: a closure from its two words (the
    /// code takes the environment pointer first).
    fn closure_parts_lit(&mut self, fields: &[FieldInit], ct: TypeId, span: Span) -> R<TV> {
        let vp = self.c.types.pointer(bt::VOID);
        let mut parts: [Option<Value>; 2] = [None, None];
        for (i, fi) in fields.iter().enumerate() {
            let slot = match fi.name.as_ref().map(|n| n.name.as_str()) {
                Some("fn_ptr") => 0,
                Some("env") => 1,
                None if !fi.spread && i < 2 => i,
                _ => return self.err(fi.span, "a closure literal has exactly the fields 'fn_ptr' and 'env'"),
            };
            let v = self.expr(&fi.value, Some(vp))?;
            let v = self.coerce(v, vp, fi.value.span)?;
            parts[slot] = Some(self.scalar(v, fi.value.span)?);
        }
        let [Some(code), Some(env)] = parts else {
            return self.err(span, "a closure literal needs both 'fn_ptr' and 'env'");
        };
        Ok(self.closure_value_pub(ct, code, env))
    }

    fn anon_struct_lit(&mut self, fields: &[FieldInit], span: Span) -> R<TV> {
        // A bare identifier `.{ x }` is the named shorthand `x = x`; `.{ (x) }` is positional.
        let text = &self.c.sources.file(span.file).text;
        let written_bare =
            |f: &FieldInit| text.get(f.span.lo as usize..f.span.hi as usize).is_some_and(|t| !t.trim_start().starts_with('('));
        let shorthand = |f: &FieldInit| match &f.value.kind {
            ExprKind::Ident(id) if f.name.is_none() && !f.spread && !id.raw && written_bare(f) => Some(id.name.clone()),
            _ => None,
        };
        let names: Vec<Option<String>> = fields.iter().map(|f| f.name.as_ref().map(|n| n.name.clone()).or_else(|| shorthand(f))).collect();
        if names.iter().any(|n| n.is_some()) && names.iter().any(|n| n.is_none()) {
            return self.err(span, "an untyped '.{ }' literal cannot mix positional and named elements — name all elements or none");
        }
        let mut vals = vec![];
        for (i, fi) in fields.iter().enumerate() {
            if fi.spread {
                // `..t` splices the elements of a tuple-like value, positionally.
                let v = self.expr(&fi.value, None)?;
                if !self.is_tuple_like(v.ty) {
                    return self.err(fi.span, format!("cannot spread a value of type '{}' into '.{{ }}'", self.tname(v.ty)));
                }
                for e in self.tuple_elements(v, fi.span)? {
                    let e = self.spill(e, fi.span)?;
                    vals.push((vals.len().to_string(), e));
                }
                continue;
            }
            let name = match &names[i] {
                Some(n) => n.clone(),
                None => vals.len().to_string(),
            };
            let v = self.expr(&fi.value, None)?;
            let v = if v.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(v.clone(), v.ty, fi.span)? } else { v };
            let v = self.materialize(v, fi.span)?;
            let v = self.spill(v, fi.span)?;
            vals.push((name, v));
        }
        let t = self.c.types.anonymous_struct(vals.iter().map(|(n, v)| (n.clone(), v.ty)).collect());
        let offs: Vec<u64> = self.c.types.struct_of(t).map(|s| s.fields.iter().map(|f| f.offset).collect()).unwrap_or_default();
        let s = self.slot_for(t);
        let a = self.slot_addr(s);
        self.init_default(a, t, span)?;
        for ((_, v), off) in vals.into_iter().zip(offs) {
            let fa = self.offset_addr(a, off as i64);
            self.store(fa, v, span)?;
        }
        Ok(TV { ty: t, v: V::Mem(a) })
    }

    fn array_lit(&mut self, ty: Option<&Expr>, elems: &[Expr], expected: Option<TypeId>, span: Span) -> R<TV> {
        let explicit = match ty {
            Some(t) => Some(self.type_expr(t)?),
            None => None,
        };
        if let Some(t) = explicit.filter(|t| !matches!(self.c.types.kind(*t), TK::Array(..) | TK::Slice(_) | TK::Vector(..))) {
            let msg = format!(
                "a '.[ ]' literal's type prefix names the aggregate type, not the element type — '{}' is not an array or slice; annotate the binding instead: `x : [N]{} = .[ … ]`",
                self.tname(t),
                self.tname(t)
            );
            return self.err(span, msg);
        }
        let target = explicit.or(expected);
        let vector_target = target.filter(|t| self.vector_shape(*t).is_some());
        let (elem, want_slice, n_fixed) = match target.map(|t| self.c.types.kind(t).clone()) {
            Some(TK::Array(n, e)) | Some(TK::Vector(n, e)) => (Some(e), None, Some(n)),
            Some(TK::Slice(e)) => (Some(e), target, None),
            _ => (None, None, None),
        };
        if let Some(n) = n_fixed {
            if n as usize != elems.len() && !elems.is_empty() {
                let msg = format!(
                    "array literal has {} elements, but the type '{}' needs {}",
                    elems.len(),
                    self.tname(target.unwrap_or(bt::VOID)),
                    n
                );
                return self.err(span, msg);
            }
        }
        let mut vals = vec![];
        let mut elem_ty = elem;
        if elem_ty.is_none() {
            // Infer from all elements: ints → i64, any float → f64, else the first typed element.
            let mut any_float = false;
            let mut all_num = true;
            let mut first = None;
            for e in elems {
                if let ExprKind::Float(_) = e.kind {
                    any_float = true;
                } else if let ExprKind::Int(_) | ExprKind::Char(_) = e.kind {
                } else if let ExprKind::Unary { op: UnOp::Neg, expr } = &e.kind {
                    if let ExprKind::Float(_) = expr.kind {
                        any_float = true;
                    }
                } else {
                    all_num = false;
                    if first.is_none() {
                        first = Some(e);
                    }
                }
            }
            if all_num && !elems.is_empty() {
                elem_ty = Some(if any_float { bt::F64 } else { bt::I64 });
            }
        }
        for e in elems {
            let v = self.expr(e, elem_ty)?;
            let et = match elem_ty {
                Some(t) => t,
                None => {
                    let t = v.ty;
                    elem_ty = Some(t);
                    t
                }
            };
            vals.push((self.coerce(v, et, e.span)?, e.span));
        }
        let Some(et) = elem_ty else { return self.err(span, "cannot infer the element type of an empty array literal") };
        let n = n_fixed.unwrap_or(vals.len() as u64);
        // A vector literal is laid out like the array of its lanes (in the vector's larger slot).
        let aty = vector_target.unwrap_or_else(|| self.c.types.array(n, et));
        let s = self.slot_for(aty);
        let a = self.slot_addr(s);
        if vals.is_empty() {
            self.init_default(a, aty, span)?;
        }
        let esz = self.c.types.size_of(et) as i64;
        for (i, (v, sp)) in vals.into_iter().enumerate() {
            let ea = self.offset_addr(a, i as i64 * esz);
            self.store(ea, v, sp)?;
        }
        match want_slice {
            Some(st) => self.make_slice(a, None, n as i64, st),
            None => Ok(TV { ty: aty, v: V::Mem(a) }),
        }
    }
}

fn int_cc(op: BinOp, signed: bool) -> IntCC {
    match (op, signed) {
        (BinOp::Eq, _) => IntCC::Eq,
        (BinOp::Ne, _) => IntCC::Ne,
        (BinOp::Lt, true) => IntCC::Slt,
        (BinOp::Le, true) => IntCC::Sle,
        (BinOp::Gt, true) => IntCC::Sgt,
        (BinOp::Ge, true) => IntCC::Sge,
        (BinOp::Lt, false) => IntCC::Ult,
        (BinOp::Le, false) => IntCC::Ule,
        (BinOp::Gt, false) => IntCC::Ugt,
        _ => IntCC::Uge,
    }
}

impl<'c> FnCx<'c> {
    /// `v.(T)` once the operand is lowered: raw views, `any` assertions, optional wrapping and
    /// the ordinary conversions.
    pub(crate) fn cast_value(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        if let Some(raw) = self.raw_view(&v, to, span)? {
            return Ok(raw);
        }
        // A protocol value starts with the same two words as an `any` (the object and
        // its concrete type), so a downcast `p.(T)` / `p.(?T)` is the `any` assertion.
        if let (true, TK::Pointer(inner)) = (self.c.is_protocol(v.ty), self.c.types.kind(to).clone()) {
            if self.c.is_protocol(inner) {
                return self.err(
                    span,
                    "the ctx recovery yields a pointer to the CONCRETE value, so its target must be the concrete pointee type (e.g. `p.(*YourConcrete)` or `p.(*void)`); to point at the protocol value itself, take its address with prefix `*`",
                );
            }
            // `p.(*T)`: the erased object (the protocol value's `ctx` word).
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            let V::Mem(a) = m.v else { return self.err(span, "a protocol value expected") };
            let p = self.ptr_ty();
            return Ok(TV { ty: to, v: V::Scalar(self.b(|b| b.load(p, a, 0))) });
        }
        let target_is_protocol = self.c.is_protocol(self.c.types.optional_inner(to).unwrap_or(to));
        let v = if self.c.is_protocol(v.ty) && !target_is_protocol && to != bt::ANY {
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            TV { ty: bt::ANY, v: m.v }
        } else {
            v
        };
        if v.ty == bt::ANY && to != bt::ANY {
            let target = self.c.types.optional_inner(to).unwrap_or(to);
            if self.c.is_protocol(target) {
                let msg = format!(
                    "an 'any' value's type tag is always a concrete type — it never holds an erased '{}', so this assertion can never succeed; assert the concrete type instead ('av.(T)') or switch on the tag ('if av == {{ case T: … }}')",
                    self.tname(target)
                );
                return self.err(span, msg);
            }
            return self.any_assert(v, to, span);
        }
        if let Some(inner) = self.c.types.optional_inner(to) {
            if self.c.types.optional_inner(v.ty).is_none() {
                let v = self.convert(v, inner, span)?;
                return self.opt_wrap(v, to, span);
            }
        }
        if matches!((self.c.types.kind(v.ty), self.c.types.kind(to)), (TK::Array(_, a), TK::Slice(b)) if a == b) {
            // `arr.([]T)`: the implicit array-to-slice view, spelled out.
            return self.coerce(v, to, span);
        }
        let plain_struct = |cx: &Self, t: TypeId| cx.c.types.struct_of(t).is_some() && !cx.c.is_protocol(t) && !cx.is_tuple_like(t);
        let scalar = |cx: &Self, t: TypeId| cx.c.types.scalar(t).is_some();
        if (plain_struct(self, v.ty) && scalar(self, to)) || (scalar(self, v.ty) && plain_struct(self, to)) {
            return self.reinterpret(v, to, span);
        }
        if let Some(r) = self.user_conversion(v.clone(), to, span)? {
            return Ok(r);
        }
        self.convert(v, to, span)
    }
}
