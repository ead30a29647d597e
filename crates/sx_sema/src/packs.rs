//! Compile-time packs `..$args`: heterogeneous trailing arguments of a generic function.
//!
//! A call binds the pack to the per-position types of its trailing arguments; each distinct
//! list of types is one instance (see [`crate::generics`]). Inside the instance the pack name
//! is a [`ConstVal::Pack`] and each element is an ordinary parameter with a hidden name
//! (`args` + NUL + index). A pack has no run-time value: `args.len` is a constant, `args[i]`
//! needs a constant index (`$args[i]` is the element's type), `..args` spreads the elements
//! into a call or a `.{…}` literal, and `inline for args, 0.. (a, i)` unrolls over them.

use crate::lower::*;
use crate::*;

/// The hidden parameter name of element `i` of pack `name`.
pub(crate) fn pack_elem_name(name: &str, i: usize) -> String {
    format!("{}\u{0}{}", name, i)
}

/// A raw identifier expression naming element `i` of pack `name`.
fn pack_elem_expr(name: &str, i: usize, span: Span) -> Expr {
    Expr::new(ExprKind::Ident(Ident { name: pack_elem_name(name, i), span, raw: true }), span)
}

/// True when the declared return type of a pack function is a `$R` that no parameter binds:
/// it is inferred from the body, like an omitted return type.
pub(crate) fn is_inferred_poly_ret(decl: &FnDecl, ret: &Expr, scope: &HashMap<String, ConstVal>) -> bool {
    decl.params.iter().any(|p| p.comptime && p.variadic)
        && matches!(&ret.kind, ExprKind::Poly { name, .. } if !scope.contains_key(&name.name))
}

impl Compiler {
    /// The parameters that pack parameter `name` of instance `fid` expands to.
    pub(crate) fn pack_params(&self, fid: FnId, name: &str) -> Vec<(String, TypeId)> {
        match self.fns[fid.0 as usize].local_consts.get(name) {
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

    /// `args.len`: the number of elements (a constant).
    pub fn pack_field(&mut self, base: &Expr, name: &Ident) -> R<Option<TV>> {
        let Some((pack, types)) = self.pack_of(base)? else { return Ok(None) };
        if name.name != "len" {
            return self.err(name.span, format!("a pack has no member '{}' (only 'len')", name.name)).map(|_: ()| None);
        }
        let _ = pack;
        Ok(Some(TV::konst(ConstVal::Int { v: types.len() as i128, ty: Some(bt::I64) })))
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
            let pack = if a.spread { self.pack_of(&a.value)? } else { None };
            match pack {
                Some((name, types)) => {
                    let v = out.get_or_insert_with(|| args[..k].to_vec());
                    for i in 0..types.len() {
                        v.push(Arg { name: None, value: pack_elem_expr(&name, i, a.value.span), spread: false, span: a.span });
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
            let pack = if f.spread { self.pack_of(&f.value)? } else { None };
            match pack {
                Some((name, types)) => {
                    let v = out.get_or_insert_with(|| fields[..k].to_vec());
                    for i in 0..types.len() {
                        v.push(FieldInit { name: None, value: pack_elem_expr(&name, i, f.value.span), spread: false, span: f.span });
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
            let v = self.expr(&a.value, None)?;
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
            Pack(String),
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
                    its.push(It::Pack(name));
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
                    It::Pack(name) => {
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
            self.loops.push(LoopCx { brk: exit, cont: next, depth: self.scopes.len() });
            let r = self.block_value(&f.body, None);
            self.loops.pop();
            if r.is_err() {
                self.scopes.pop();
                return Err(());
            }
            self.pop_scope()?;
            self.jump(next);
            self.switch(next);
        }
        self.jump(exit);
        self.switch(exit);
        Ok(())
    }
}
