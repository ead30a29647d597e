//! Aggregate literals: struct, anonymous, tagged-union variant and array literals.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::Value;
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// `E.v.{ … }` / `.v.{ … }`: a tagged-union variant built from a literal of its payload (the
    /// fields of a struct payload, or the single value of a scalar one).
    pub(crate) fn variant_struct_lit(
        &mut self,
        ty: Option<&Expr>,
        fields: &[FieldInit],
        expected: Option<TypeId>,
        span: Span,
    ) -> R<Option<TV>> {
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

    pub(crate) fn struct_lit(&mut self, ty: Option<&Expr>, fields: &[FieldInit], expected: Option<TypeId>, span: Span) -> R<TV> {
        // Against `?T`, the literal builds the `T` (wrapped by the caller's coercion).
        let expected = expected.map(|t| self.c.types.optional_inner(t).unwrap_or(t));
        if ty.is_none() {
            if let Some(t) = expected.filter(|t| matches!(self.c.types.kind(*t), TK::Array(..) | TK::Vector(..))) {
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
            let v = match self.view_of_place(&fi.value, fty)? {
                Some(v) => v,
                None => self.expr(&fi.value, Some(fty))?,
            };
            let v = self.coerce(v, fty, fi.value.span)?;
            let fa = self.offset_addr(a, off as i64);
            self.store(fa, v, fi.span)?;
        }
        Ok(TV { ty: sty, v: V::Mem(a) })
    }

    /// `T.{ … } { stmts }`: the literal, then the block with `self` naming it in place; the
    /// value is the literal as the block left it.
    pub(crate) fn init_block(&mut self, init: &Expr, body: &Block, expected: Option<TypeId>, span: Span) -> R<TV> {
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
    pub(crate) fn closure_parts_lit(&mut self, fields: &[FieldInit], ct: TypeId, span: Span) -> R<TV> {
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

    pub(crate) fn anon_struct_lit(&mut self, fields: &[FieldInit], span: Span) -> R<TV> {
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

    pub(crate) fn array_lit(&mut self, ty: Option<&Expr>, elems: &[Expr], expected: Option<TypeId>, span: Span) -> R<TV> {
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
