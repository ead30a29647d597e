//! Compile-time packs `..$args`: heterogeneous trailing arguments of a generic function.
//!
//! A call binds the pack to the per-position types of its trailing arguments; each distinct
//! list of types is one instance (see [`crate::generics`]). Inside the instance the pack name
//! is a [`ConstVal::Pack`] and each element is an ordinary parameter with a hidden name
//! (`args` + NUL + index). A pack has no run-time value: `args.len` is a constant, `args[i]`
//! needs a constant index (`$args[i]` is the element's type), `..args` spreads the elements
//! into a call or a `.{…}` literal, and `inline for args, 0.. (a, i)` unrolls over them.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// The hidden parameter name of element `i` of pack `name`.
pub(crate) fn pack_elem_name(name: &str, i: usize) -> String {
    format!("{}\u{0}{}", name, i)
}

/// A raw identifier expression naming element `i` of pack `name`.
fn pack_elem_expr(name: &str, i: usize, span: Span) -> Expr {
    Expr::new(ExprKind::Ident(Ident { name: pack_elem_name(name, i), span, raw: true }), span)
}

impl Compiler {
    /// The parameters that pack parameter `name` of instance `fid` expands to.
    pub(crate) fn pack_params(&self, fid: FnId, name: &str) -> Vec<(String, TypeId)> {
        match self.fns[fid].local_consts.get(name) {
            Some(ConstVal::Pack(types)) => types.iter().enumerate().map(|(i, t)| (pack_elem_name(name, i), *t)).collect(),
            _ => vec![],
        }
    }
}

impl<'c> FnCx<'c> {
    /// The pack bound to `e` when `e` names one (`args` or `$args`).
    fn pack_of(&mut self, e: &Expr) -> R<Option<(String, Vec<TypeId>)>> {
        let id = match &e.kind {
            ExprKind::Ident(id) => id,
            ExprKind::Poly { name, .. } => name,
            _ => return Ok(None),
        };
        match self.lookup_local(&id.name) {
            Some(Local::Const(ConstVal::Pack(types))) => Ok(Some((id.name.clone(), types))),
            _ => Ok(None),
        }
    }

    /// The protocol constraining pack `name` (`..xs: P`), if any.
    pub(crate) fn pack_constraint(&mut self, name: &str) -> Option<TypeId> {
        match self.lookup_local(&pack_constraint_name(name)) {
            Some(Local::Const(ConstVal::Type(p))) => Some(p),
            _ => None,
        }
    }

    /// The instance of protocol family `family` that pack element type `t` (or the type it
    /// points to) implements; there must be exactly one.
    pub(crate) fn pack_family_instance(&mut self, family: TypeId, t: TypeId, span: Span) -> R<TypeId> {
        let mut found = self.c.family_impls_for(family, t)?;
        if found.is_empty() {
            if let TK::Pointer(inner) = self.c.types.kind(t).clone() {
                found = self.c.family_impls_for(family, inner)?;
            }
        }
        match found.len() {
            1 => Ok(found[0]),
            0 => {
                let msg =
                    format!("'{}' does not implement protocol '{}' (required by the pack parameter)", self.tname(t), self.tname(family));
                self.err(span, msg)
            }
            _ => {
                let names: Vec<String> = found.iter().map(|p| format!("'{}'", self.tname(*p))).collect();
                let msg = format!(
                    "'{}' implements several instances of protocol '{}' ({}): a pack element must implement exactly one",
                    self.tname(t),
                    self.tname(family),
                    names.join(", ")
                );
                self.err(span, msg)
            }
        }
    }

    /// The protocol element `i` (of type `t`) of pack `name` is viewed through: the pack's
    /// constraint, or for a family constraint the instance the element implements.
    pub(crate) fn pack_elem_protocol(&mut self, name: &str, t: TypeId, span: Span) -> R<Option<TypeId>> {
        match self.pack_constraint(name) {
            Some(p) if self.c.is_protocol_family(p) => self.pack_family_instance(p, t, span).map(Some),
            other => Ok(other),
        }
    }

    /// `xs[i].m` on a pack constrained by a protocol: the element is viewed through the
    /// protocol, so `m` must be one of its methods (a concrete field is not reachable).
    pub(crate) fn check_pack_view(&mut self, base: &Expr, name: &Ident) -> R<()> {
        if let ExprKind::Ident(id) = &base.kind {
            // An `inline for` capture of a constrained pack's element: the same view.
            let Some(p) = self.capture_view(&id.name) else { return Ok(()) };
            if self.c.protos.protocols.get(&p).is_some_and(|info| info.methods.iter().any(|m| m.name == name.name)) {
                return Ok(());
            }
            let msg = format!(
                "'{}' is not part of protocol '{}': '{}' is a pack element, viewed through the pack's constraint",
                name.name,
                self.tname(p),
                id.name
            );
            return self.err(name.span, msg);
        }
        let ExprKind::Index { base: pb, index } = &base.kind else { return Ok(()) };
        if !matches!(pb.kind, ExprKind::Ident(_)) {
            return Ok(());
        }
        let Some((pack, types)) = self.pack_of(pb)? else { return Ok(()) };
        if self.pack_constraint(&pack).is_none() {
            return Ok(());
        }
        let i = self.pack_position(&pack, types.len(), index)?;
        let Some(p) = self.pack_elem_protocol(&pack, types[i], name.span)? else { return Ok(()) };
        if self.c.protos.protocols.get(&p).is_some_and(|info| info.methods.iter().any(|m| m.name == name.name)) {
            return Ok(());
        }
        let msg = format!(
            "'{}' is not part of protocol '{}': an element of pack '{}' is viewed through its constraint",
            name.name,
            self.tname(p),
            pack
        );
        self.err(name.span, msg)
    }

    /// The protocol an `inline for` capture named `name` views its pack element through, when
    /// `name` is such a capture where it is visible.
    fn capture_view(&self, name: &str) -> Option<TypeId> {
        let marker = capture_view_name(name);
        let scope = self.scopes.iter().rev().find(|s| s.names.contains_key(name))?;
        match scope.names.get(&marker) {
            Some(Local::Const(ConstVal::Type(p))) => Some(*p),
            _ => None,
        }
    }

    /// The constant index of `args[index]`, checked against the pack's length.
    fn pack_position(&mut self, name: &str, len: usize, index: &Expr) -> R<usize> {
        let iv = self.expr(index, Some(bt::I64))?;
        let Some(ConstVal::Int { v, .. }) = iv.as_const().cloned() else {
            let msg =
                format!("pack '{}' must be indexed by a compile-time constant — a pack is comptime-only and has no runtime value", name);
            return self.err(index.span, msg);
        };
        if v < 0 || v as usize >= len {
            let msg = format!("pack index {} out of bounds: '{}' has {} element{}", v, name, len, if len == 1 { "" } else { "s" });
            return self.err(index.span, msg);
        }
        Ok(v as usize)
    }

    /// `args[i]` as the expression naming the element (for values and places).
    pub fn pack_index_alias(&mut self, base: &Expr, index: &Expr) -> R<Option<Expr>> {
        if !matches!(base.kind, ExprKind::Ident(_)) {
            return Ok(None);
        }
        let Some((name, types)) = self.pack_of(base)? else { return Ok(None) };
        let i = self.pack_position(&name, types.len(), index)?;
        Ok(Some(pack_elem_expr(&name, i, base.span)))
    }

    /// `args[i]` (the element's value) or `$args[i]` (its type).
    pub fn pack_index(&mut self, base: &Expr, index: &Expr) -> R<Option<TV>> {
        if let ExprKind::Poly { .. } = base.kind {
            let Some((name, types)) = self.pack_of(base)? else { return Ok(None) };
            let i = self.pack_position(&name, types.len(), index)?;
            return Ok(Some(TV::konst(ConstVal::Type(types[i]))));
        }
        match self.pack_index_alias(base, index)? {
            Some(alias) => Ok(Some(self.expr(&alias, None)?)),
            None => Ok(None),
        }
    }

    /// `args.len`: the number of elements (a constant). For a pack constrained by a protocol,
    /// `xs.m` projects member `m` out of every element: a parameter of the constraint's family
    /// gives the pack of per-element arguments (`xs.T`, for type positions), a method taking
    /// no arguments gives the tuple of the per-element results (`xs.get`).
    pub fn pack_field(&mut self, base: &Expr, name: &Ident) -> R<Option<TV>> {
        let Some((pack, types)) = self.pack_of(base)? else { return Ok(None) };
        if name.name == "len" {
            return Ok(Some(TV::konst(ConstVal::Int { v: types.len() as i128, ty: Some(bt::I64) })));
        }
        if let Some(projected) = self.pack_type_projection(&pack, &types, name)? {
            return Ok(Some(TV::konst(ConstVal::Pack(projected))));
        }
        let exprs = self.pack_value_projection(&pack, &types, name)?;
        let mut vals = vec![];
        for e in &exprs {
            let v = self.expr(e, None)?;
            if v.ty == bt::VOID || v.ty == bt::NORETURN {
                let msg = format!("cannot project '{}' over pack '{}': it has no value", name.name, pack);
                return self.err(name.span, msg);
            }
            let v = if v.as_const().is_some_and(|c| c.is_untyped()) { self.coerce(v.clone(), v.ty, e.span)? } else { v };
            let v = self.materialize(v, e.span)?;
            vals.push(v);
        }
        let tt = self.c.types.tuple(vals.iter().enumerate().map(|(i, v)| (i.to_string(), v.ty)).collect());
        let s = self.slot_for(tt);
        let a = self.slot_addr(s);
        for (i, v) in vals.into_iter().enumerate() {
            let Some((off, _)) = self.tuple_element(tt, &i.to_string()) else { return Err(()) };
            let ea = self.offset_addr(a, off as i64);
            self.store(ea, v, name.span)?;
        }
        Ok(Some(TV { ty: tt, v: V::Mem(a) }))
    }

    /// `xs.T` where `T` is a parameter of the family constraining `xs`: each element's argument.
    fn pack_type_projection(&mut self, pack: &str, types: &[TypeId], name: &Ident) -> R<Option<Vec<TypeId>>> {
        let Some(p) = self.pack_constraint(pack) else { return Ok(None) };
        let family = self.c.protocol_family_of(p).unwrap_or(p);
        let has_param = self.c.protos.protocols.get(&family).is_some_and(|i| i.params.contains(&name.name));
        if !has_param {
            return Ok(None);
        }
        let mut out = vec![];
        for &t in types {
            let inst = self.pack_elem_protocol(pack, t, name.span)?.unwrap_or(p);
            match self.c.protocol_instance_arg(inst, &name.name) {
                Some(ConstVal::Type(a)) => out.push(a),
                _ => {
                    let msg = format!("parameter '{}' of '{}' is not a type, so it cannot be projected", name.name, self.tname(inst));
                    return self.err(name.span, msg);
                }
            }
        }
        Ok(Some(out))
    }

    /// `xs.m` in value position: per element, the call `xs[i].m()` of the constraint's method.
    fn pack_value_projection(&mut self, pack: &str, types: &[TypeId], name: &Ident) -> R<Vec<Expr>> {
        let Some(p) = self.pack_constraint(pack) else {
            let msg = format!("a pack has no member '{}' (only 'len')", name.name);
            return self.err(name.span, msg);
        };
        let mut out = vec![];
        for (i, &t) in types.iter().enumerate() {
            let inst = self.pack_elem_protocol(pack, t, name.span)?.unwrap_or(p);
            let method = self.c.protos.protocols.get(&inst).and_then(|info| info.methods.iter().find(|m| m.name == name.name).cloned());
            let Some(m) = method else {
                let msg =
                    format!("protocol '{}' has no method or parameter '{}' to project over pack '{}'", self.tname(inst), name.name, pack);
                return self.err(name.span, msg);
            };
            if m.decl.params.len() != 1 {
                let msg = format!("cannot project method '{}' over pack '{}': it takes arguments", name.name, pack);
                return self.err(name.span, msg);
            }
            let elem = pack_elem_expr(pack, i, name.span);
            let callee = Expr::new(ExprKind::Field { base: Box::new(elem), name: name.clone() }, name.span);
            out.push(Expr::new(ExprKind::Call { callee: Box::new(callee), args: vec![], trailing_block: false }, name.span));
        }
        Ok(out)
    }

    /// What `..e` spreads when `e` is a pack (`..xs`: its elements) or a value projection of
    /// one (`..xs.get`: the per-element calls).
    fn pack_spread_exprs(&mut self, e: &Expr) -> R<Option<Vec<Expr>>> {
        if let Some((name, types)) = self.pack_of(e)? {
            return Ok(Some((0..types.len()).map(|i| pack_elem_expr(&name, i, e.span)).collect()));
        }
        if let ExprKind::Field { base, name } = &e.kind {
            if name.name != "len" {
                if let Some((pack, types)) = self.pack_of(base)? {
                    if self.pack_type_projection(&pack, &types, name)?.is_none() {
                        return self.pack_value_projection(&pack, &types, name).map(Some);
                    }
                }
            }
        }
        Ok(None)
    }

    /// `xx xs` of a pack to a slice type `[]E`: a stack array of the elements each converted to
    /// `E` as `xx` would (boxed to `any`, erased to a protocol), viewed as a slice.
    pub fn pack_to_slice(&mut self, inner: &Expr, to: TypeId, span: Span) -> R<Option<TV>> {
        let TK::Slice(elem) = self.c.types.kind(to).clone() else { return Ok(None) };
        if !matches!(inner.kind, ExprKind::Ident(_) | ExprKind::Poly { .. }) {
            return Ok(None);
        }
        let Some((name, types)) = self.pack_of(inner)? else { return Ok(None) };
        let n = types.len();
        let arr = self.c.types.array(n as u64, elem);
        let s = self.slot_for(arr);
        let base = self.slot_addr(s);
        let stride = self.c.types.size_of(elem) as i64;
        for i in 0..n {
            let e = pack_elem_expr(&name, i, inner.span);
            let cast = Expr::new(ExprKind::AutoCast(Box::new(e)), inner.span);
            let v = self.expr(&cast, Some(elem))?;
            let v = self.coerce(v, elem, inner.span)?;
            let a = self.offset_addr(base, stride * i as i64);
            self.store(a, v, span)?;
        }
        self.make_slice(base, None, n as i64, to).map(Some)
    }

    /// The types `..e` spreads in a type position (`Tuple(..e)`, `Closure(..e) -> R`, a
    /// parameterised struct's arguments): a pack's element types (`..xs`, `..$Ts`), a type
    /// projection (`..xs.T`), or a one-argument type constructor mapped over one of those
    /// (`..F(Ts)`: `F(t)` per element).
    pub fn type_spread(&mut self, e: &Expr) -> R<Vec<TypeId>> {
        if let Some((_, types)) = self.pack_of(e)? {
            return Ok(types);
        }
        if let ExprKind::Call { callee, args, .. } = &e.kind {
            if let [a] = args.as_slice() {
                if !a.spread && a.name.is_none() && self.is_type_pack_expr(&a.value)? {
                    let inner = self.type_spread(&a.value)?;
                    let mut out = vec![];
                    for t in inner {
                        let hidden = format!("\u{0}spread_elem{}", self.c.fresh());
                        self.bind(&hidden, Local::Const(ConstVal::Type(t)));
                        let arg = Expr::new(ExprKind::Ident(Ident { name: hidden, span: a.value.span, raw: true }), a.value.span);
                        let call = Expr::new(
                            ExprKind::Call { callee: callee.clone(), args: vec![Arg { value: arg, ..a.clone() }], trailing_block: false },
                            e.span,
                        );
                        out.push(self.type_expr(&call)?);
                    }
                    return Ok(out);
                }
            }
        }
        let v = self.expr(e, Some(bt::TYPE))?;
        match v.as_const() {
            Some(ConstVal::Pack(types)) => Ok(types.clone()),
            _ => self.err(e.span, "'..' in a type position needs a pack of types ('..Ts', '..xs.T' or '..F(Ts)')"),
        }
    }

    /// True when `e` names a pack or a type projection of one (what [`Self::type_spread`] maps).
    fn is_type_pack_expr(&mut self, e: &Expr) -> R<bool> {
        if self.pack_of(e)?.is_some() {
            return Ok(true);
        }
        if let ExprKind::Field { base, name } = &e.kind {
            if let Some((pack, types)) = self.pack_of(base)? {
                return Ok(self.pack_type_projection(&pack, &types, name)?.is_some());
            }
        }
        Ok(false)
    }

    /// `$args` bare: the element types as a `[]Type` value (over a read-only static table).
    pub fn pack_types_value(&mut self, types: &[TypeId], span: Span) -> R<TV> {
        let mut relocs = vec![];
        for (i, &t) in types.iter().enumerate() {
            let rec = self.c.type_record(t, span)?;
            relocs.push(sx_ir::Reloc { offset: i as u32 * 8, target: sx_ir::RelocTarget::Data(rec), addend: 0 });
        }
        let name = format!("__pack_types.{}", self.c.fresh());
        let bytes = vec![0u8; types.len().max(1) * 8];
        let d = self.c.module.add_data(sx_ir::Data { name, bytes, align: 8, relocs, writable: false });
        let p = self.ptr_ty();
        let a = self.b(|b| b.data_addr(d, p));
        let st = self.c.types.slice(bt::TYPE);
        self.make_slice(a, None, types.len() as i64, st)
    }

    /// Replaces each `..args` (a pack) among call arguments by the pack's elements.
    pub fn expand_pack_args(&mut self, args: &[Arg]) -> R<Option<Vec<Arg>>> {
        let mut out: Option<Vec<Arg>> = None;
        for (k, a) in args.iter().enumerate() {
            let elems = if a.spread { self.pack_spread_exprs(&a.value)? } else { None };
            match elems {
                Some(elems) => {
                    let v = out.get_or_insert_with(|| args[..k].to_vec());
                    for value in elems {
                        v.push(Arg { name: None, value, spread: false, span: a.span });
                    }
                }
                None => {
                    if let Some(v) = out.as_mut() {
                        v.push(a.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Replaces each `..args` (a pack) in a `.{…}` literal by the pack's elements.
    pub fn expand_pack_fields(&mut self, fields: &[FieldInit]) -> R<Option<Vec<FieldInit>>> {
        let mut out: Option<Vec<FieldInit>> = None;
        for (k, f) in fields.iter().enumerate() {
            let elems = if f.spread { self.pack_spread_exprs(&f.value)? } else { None };
            match elems {
                Some(elems) => {
                    let v = out.get_or_insert_with(|| fields[..k].to_vec());
                    for value in elems {
                        v.push(FieldInit { name: None, value, spread: false, span: f.span });
                    }
                }
                None => {
                    if let Some(v) = out.as_mut() {
                        v.push(f.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Lowers the trailing arguments of a pack call: their values and the pack's types (untyped
    /// constants take their default types).
    pub fn pack_arg_values(&mut self, args: &[Arg]) -> R<(Vec<(TV, Span)>, Vec<TypeId>)> {
        let mut vals = vec![];
        let mut types = vec![];
        for a in args {
            if let Some(n) = &a.name {
                return self.err(n.span, "a pack element cannot be named");
            }
            self.value_ctx = true;
            // `xx e` into a pack has no target type: the element is `e` as it is.
            let e = match &a.value.kind {
                ExprKind::AutoCast(inner) => inner.as_ref(),
                _ => &a.value,
            };
            let v = self.expr(e, None)?;
            let v = if v.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(v.clone(), v.ty, a.value.span)? } else { v };
            if matches!(v.v, V::Void) || v.ty == bt::VOID || v.ty == bt::NORETURN {
                let msg = format!("a value of type '{}' cannot be passed in a pack", self.tname(v.ty));
                return self.err(a.value.span, msg);
            }
            if let Some(ConstVal::Null) = v.as_const() {
                return self.err(a.value.span, "cannot infer a type for 'null' in a pack");
            }
            let v = self.materialize(v, a.value.span)?;
            let v = self.spill(v, a.value.span)?;
            types.push(v.ty);
            vals.push((v, a.value.span));
        }
        Ok((vals, types))
    }

    /// `inline for`: the body is repeated once per element of a pack or per value of a
    /// constant range, with the captures bound to that element / constant.
    pub fn inline_for(&mut self, f: &ForLoop, span: Span) -> R<()> {
        if f.iters.is_empty() {
            return self.err(span, "'for' needs something to iterate");
        }
        enum It {
            Pack(String, Vec<TypeId>),
            Range(i128),
        }
        let mut its = vec![];
        let mut count: Option<usize> = None;
        for e in &f.iters {
            if let ExprKind::Range { lo, hi, lo_exclusive, hi_inclusive } = &e.kind {
                let Some(lo) = lo else { return self.err(e.span, "a 'for' range needs a start") };
                let konst = |cx: &mut Self, x: &Expr| -> R<i128> {
                    let v = cx.expr(x, Some(bt::I64))?;
                    match v.as_const().and_then(crate::consts::count_value) {
                        Some(n) => Ok(n),
                        None => cx.err(x.span, "an 'inline for' range bound must be a compile-time integer"),
                    }
                };
                let start = konst(self, lo)? + *lo_exclusive as i128;
                if let Some(h) = hi {
                    let end = konst(self, h)? + *hi_inclusive as i128;
                    if count.is_none() {
                        count = Some((end - start).clamp(0, 4096) as usize);
                    }
                }
                its.push(It::Range(start));
                continue;
            }
            match self.pack_of(e)? {
                Some((name, types)) => {
                    if count.is_none() {
                        count = Some(types.len());
                    }
                    its.push(It::Pack(name, types));
                }
                None => return self.err(e.span, "not supported yet: 'inline for' over something other than a pack or a constant range"),
            }
        }
        let Some(n) = count else { return self.err(f.iters[0].span, "the first iterable of a 'for' must be bounded") };
        if !f.captures.is_empty() && f.captures.len() != its.len() {
            return self.err(f.captures[0].name.span, "for capture count must match the iterable count — one capture per iterable");
        }
        let exit = self.new_block();
        for k in 0..n {
            let next = self.new_block();
            self.push_scope();
            for (cap, it) in f.captures.iter().zip(&its) {
                if cap.by_ref {
                    self.scopes.pop();
                    return self.err(cap.name.span, "an 'inline for' capture cannot be taken by reference");
                }
                match it {
                    It::Range(start) => {
                        let c = ConstVal::Int { v: start + k as i128, ty: Some(bt::I64) };
                        self.bind(&cap.name.name, Local::Const(c));
                    }
                    It::Pack(name, types) => {
                        if let (Some(_), Some(&t)) = (self.pack_constraint(name), types.get(k)) {
                            if let Some(p) = self.pack_elem_protocol(name, t, cap.name.span)? {
                                self.bind(&capture_view_name(&cap.name.name), Local::Const(ConstVal::Type(p)));
                            }
                        }
                        let elem = self.lookup_local(&pack_elem_name(name, k));
                        match elem {
                            Some(Local::Var { slot, ty, by_ref, .. }) => {
                                self.bind(&cap.name.name, Local::Var { slot, ty, by_ref, readonly: true });
                            }
                            Some(l) => self.bind(&cap.name.name, l),
                            None => {
                                self.scopes.pop();
                                return self.err(cap.name.span, format!("pack element {} of '{}' is not visible here", k, name));
                            }
                        }
                    }
                }
            }
            self.loop_body(&f.body, exit, next)?;
            self.jump(next);
            self.switch(next);
        }
        self.jump(exit);
        self.switch(exit);
        Ok(())
    }
}
