//! Generics by monomorphisation: `$T` parameters inferred from arguments, explicit
//! `$T: Type` / `$N: u32` compile-time parameters, and parameterised structs `S($T)`.
//!
//! An instance is an ordinary [`FnDef`] sharing the generic declaration, whose scope binds the
//! compile-time parameters as constants; its signature skips the `$` parameters.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// The names a generic declaration binds (`$T` patterns and `$name` parameters).
pub(crate) fn poly_names(decl: &FnDecl) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Poly { name, .. } => out.push(name.name.clone()),
            ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => walk(i, out),
            ExprKind::SliceType { elem, .. } => walk(elem, out),
            ExprKind::ArrayType { len, elem } => {
                walk(len, out);
                walk(elem, out)
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| walk(&a.value, out)),
            ExprKind::ClosureType { params, ret } => {
                params.iter().for_each(|a| walk(&a.value, out));
                ret.iter().flat_map(|r| r.values.iter()).for_each(|v| walk(&v.ty, out));
            }
            _ => {}
        }
    }
    let mut out = vec![];
    for p in &decl.params {
        if p.comptime {
            if let Some(n) = &p.name {
                out.push(n.name.clone());
            }
        }
        if let Some(t) = &p.ty {
            walk(t, &mut out);
        }
    }
    out
}

/// Does `e` mention one of `names` (as `$N` or a bare identifier)?
pub(crate) fn mentions(e: &Expr, names: &[String]) -> bool {
    match &e.kind {
        ExprKind::Poly { .. } => true,
        ExprKind::Ident(id) => names.contains(&id.name),
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => mentions(i, names),
        ExprKind::SliceType { elem, .. } => mentions(elem, names),
        ExprKind::ArrayType { len, elem } => mentions(len, names) || mentions(elem, names),
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions(&a.value, names)),
        ExprKind::ClosureType { params, ret } => {
            params.iter().any(|a| mentions(&a.value, names)) || ret.iter().flat_map(|r| r.values.iter()).any(|v| mentions(&v.ty, names))
        }
        _ => false,
    }
}

/// A chain of generic instances, each made while lowering the one before, may be this long.
const MAX_INSTANCE_DEPTH: u32 = 500;

/// Per parameter: a `$T: Type` parameter whose name a run-time parameter's type mentions (so
/// a call may leave it out and have it inferred).
pub(crate) fn inferable_type_params(decl: &FnDecl) -> Vec<bool> {
    decl.params
        .iter()
        .map(|p| {
            let is_type = p.ty.as_ref().map(|t| matches!(&t.kind, ExprKind::Ident(id) if id.name == "Type")).unwrap_or(false);
            let Some(name) = p.name.as_ref().filter(|_| p.comptime && !p.variadic && is_type && p.default.is_none()) else { return false };
            let names = [name.name.clone()];
            decl.params.iter().any(|q| !q.comptime && q.ty.as_ref().map(|t| mentions_name(t, &names)).unwrap_or(false))
        })
        .collect()
}

/// Does type expression `e` name one of `names` as a bare identifier?
fn mentions_name(e: &Expr, names: &[String]) -> bool {
    match &e.kind {
        ExprKind::Ident(id) => names.contains(&id.name),
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => mentions_name(i, names),
        ExprKind::SliceType { elem, .. } => mentions_name(elem, names),
        ExprKind::ArrayType { len, elem } => mentions_name(len, names) || mentions_name(elem, names),
        ExprKind::Call { args, .. } => args.iter().any(|a| mentions_name(&a.value, names)),
        _ => false,
    }
}

impl Compiler {
    /// The instance of generic function `fid` for `binds` (memoised).
    pub(crate) fn fn_instance(&mut self, fid: FnId, binds: Vec<(String, ConstVal)>) -> FnId {
        let key = (fid, binds.iter().map(|(n, v)| (n.clone(), v.key())).collect::<Vec<_>>());
        if let Some(&f) = self.inst.instances.get(&key) {
            return f;
        }
        let src = &self.fns[fid];
        let mut scope: HashMap<String, ConstVal> = (*src.local_consts).clone();
        for (k, v) in &binds {
            scope.insert(k.clone(), v.clone());
        }
        let def = FnDef {
            name: src.name.clone(),
            decl: src.decl.clone(),
            file: src.file,
            owner: src.owner,
            sig: None,
            func: None,
            span: src.span,
            local_consts: Rc::new(scope),
        };
        let id = self.fns.push(def);
        self.inst.instance_of.insert(id, fid);
        self.inst.instances.insert(key, id);
        id
    }

    /// The compile-time arguments an instance of a parameterised struct was made with, in
    /// parameter order (`None` when `ty` is not such an instance).
    pub(crate) fn struct_instance_args(&self, ty: TypeId) -> Option<Vec<ConstVal>> {
        let g = self.inst.struct_instances.iter().find(|(_, t)| **t == ty).map(|((g, _), _)| *g)?;
        let params = self.inst.generic_structs[g as usize].1.params.clone().unwrap_or_default();
        let scope = &self.structs.get(&ty)?.local_consts;
        params.iter().map(|p| p.name.as_ref().and_then(|n| scope.get(&n.name).cloned())).collect()
    }

    /// True for a generic function that still needs instantiating. A method of a `$`-pattern
    /// impl whose patterns the impl already bound (`convert :: (self: Closure(..$args) -> $R)`
    /// in `impl … for Closure(..$args) -> $R`) is an ordinary function.
    pub(crate) fn needs_instance(&self, fid: FnId) -> bool {
        let def = &self.fns[fid];
        let bound_by_impl =
            || self.protos.pattern_methods.contains(&fid) && poly_names(&def.decl).iter().all(|n| def.local_consts.contains_key(n));
        !self.inst.instance_of.contains_key(&fid) && is_generic_decl(&def.decl) && !bound_by_impl()
    }
}

impl<'c> FnCx<'c> {
    /// Binds the patterns of `pat` against type `ty`.
    pub(crate) fn unify_pattern(
        &mut self,
        pat: &Expr,
        ty: TypeId,
        untyped: bool,
        binds: &mut Vec<(String, ConstVal, bool)>,
        span: Span,
    ) -> R<()> {
        if let ExprKind::Ident(id) = &pat.kind {
            if self.poly_scope.contains(&id.name) {
                let p = Expr::new(ExprKind::Poly { name: id.clone(), constraint: None }, pat.span);
                return self.unify_pattern(&p, ty, untyped, binds, span);
            }
            return Ok(());
        }
        match &pat.kind {
            ExprKind::Poly { name, .. } => {
                if self.fixed_binds.contains(&name.name) {
                    return Ok(());
                }
                match binds.iter_mut().find(|(n, _, _)| *n == name.name) {
                    None => binds.push((name.name.clone(), ConstVal::Type(ty), untyped)),
                    Some((_, ConstVal::Type(prev), prev_untyped)) => {
                        if *prev != ty {
                            let types = &self.c.types;
                            let merged = if *prev_untyped && !untyped {
                                Some(ty)
                            } else if untyped && !*prev_untyped {
                                Some(*prev)
                            } else if types.is_numeric(*prev) && types.is_numeric(ty) && (types.is_float(*prev) || types.is_float(ty)) {
                                Some(if types.is_float(*prev) { *prev } else { ty })
                            } else {
                                None
                            };
                            match merged {
                                Some(m) => {
                                    *prev = m;
                                    *prev_untyped = *prev_untyped && untyped;
                                }
                                None => {
                                    let msg = format!("'${}' is bound to both '{}' and '{}'", name.name, self.tname(*prev), self.tname(ty));
                                    return self.err(span, msg);
                                }
                            }
                        }
                    }
                    Some(_) => {}
                }
                Ok(())
            }
            ExprKind::AddrOf(inner) => match self.c.types.kind(ty).clone() {
                TK::Pointer(t) => self.unify_pattern(inner, t, false, binds, span),
                _ => self.unify_pattern(inner, ty, untyped, binds, span),
            },
            ExprKind::ManyPtrType(inner) => match self.c.types.kind(ty).clone() {
                TK::ManyPointer(t) | TK::Pointer(t) => self.unify_pattern(inner, t, false, binds, span),
                _ => Ok(()),
            },
            ExprKind::SliceType { elem, .. } => match self.c.types.kind(ty).clone() {
                TK::Slice(t) | TK::Array(_, t) => self.unify_pattern(elem, t, false, binds, span),
                _ => Ok(()),
            },
            ExprKind::ArrayType { len, elem } => match self.c.types.kind(ty).clone() {
                TK::Array(n, t) => {
                    if let ExprKind::Poly { name, .. } = &len.kind {
                        if !binds.iter().any(|(k, _, _)| *k == name.name) {
                            binds.push((name.name.clone(), ConstVal::Int { v: n as i128, ty: Some(bt::I64) }, false));
                        }
                    }
                    self.unify_pattern(elem, t, false, binds, span)
                }
                _ => Ok(()),
            },
            ExprKind::OptionalType(inner) => match self.c.types.optional_inner(ty) {
                Some(t) => self.unify_pattern(inner, t, false, binds, span),
                None => self.unify_pattern(inner, ty, untyped, binds, span),
            },
            ExprKind::ClosureType { params, ret } => {
                // `Closure(A, $B) -> $R` against a closure or function type: parameters pair up
                // (a `..$pack` spread is bound by the pack's own arguments), the result unifies.
                let (ps, r) = match self.c.types.kind(ty).clone() {
                    TK::Closure { params, ret } | TK::Func { params, ret } => (params, ret),
                    _ => return Ok(()),
                };
                if !params.iter().any(|a| a.spread) && params.len() == ps.len() {
                    for (a, t) in params.iter().zip(ps) {
                        self.unify_pattern(&a.value, t, false, binds, span)?;
                    }
                }
                if let Some(spec) = ret.as_ref() {
                    // `-> ($R, !)` against a failable result binds `$R` to its value.
                    let one_value = spec.error.is_some() && spec.values.len() == 1;
                    let r = if let (TK::Failable { value, .. }, true) = (self.c.types.kind(r), one_value) { *value } else { r };
                    if let Some(rs) = spec.values.first() {
                        self.unify_pattern(&rs.ty, r, false, binds, span)?;
                    }
                }
                Ok(())
            }
            ExprKind::Call { callee, args, .. } if matches!(&callee.kind, ExprKind::Ident(id) if id.name == "Tuple" && !id.raw) => {
                let elems: Vec<TypeId> = self.c.types.struct_of(ty).map(|s| s.fields.iter().map(|f| f.ty).collect()).unwrap_or_default();
                if self.is_tuple_like(ty) && elems.len() == args.len() {
                    for (a, t) in args.iter().zip(elems) {
                        self.unify_pattern(&a.value, t, false, binds, span)?;
                    }
                }
                Ok(())
            }
            ExprKind::Call { args, .. } => {
                // `Box($T)` against an instance of a parameterised struct: each pattern argument
                // unifies with the value the instance bound to that parameter.
                let ty = match self.c.types.kind(ty).clone() {
                    TK::Pointer(t) if self.c.struct_instance_args(ty).is_none() => t,
                    _ => ty,
                };
                let Some(bound) = self.c.struct_instance_args(ty) else { return Ok(()) };
                if bound.len() != args.len() {
                    return Ok(());
                }
                for (a, v) in args.iter().zip(bound) {
                    match (v, &a.value.kind) {
                        (ConstVal::Type(t), _) => self.unify_pattern(&a.value, t, false, binds, span)?,
                        (v, ExprKind::Poly { name, .. }) => {
                            if !binds.iter().any(|(k, _, _)| *k == name.name) && !self.fixed_binds.contains(&name.name) {
                                binds.push((name.name.clone(), v, false));
                            }
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A call of generic function `fid`: infers the compile-time parameters, instantiates,
    /// and calls the instance with the already-lowered run-time arguments.
    pub fn generic_call(&mut self, fid: FnId, receiver: Option<TV>, args: &[Arg], span: Span) -> R<TV> {
        let decl = self.c.fns[fid].decl.clone();
        let (cfile, cowner, couter) = {
            let d = &self.c.fns[fid];
            (d.file, d.owner, d.local_consts.clone())
        };
        let n = decl.params.len();
        let mut given: Vec<Option<Arg>> = vec![None; n];
        let mut pack_args: Vec<Arg> = vec![];
        let pack_at = decl.params.iter().position(|p| p.comptime && p.variadic);
        let mut next = 0usize;
        if receiver.is_some() {
            next = 1;
        }
        // `f :: ($T: Type, v: T)` called as `f(x)`: `$T` is inferred from the other arguments,
        // so positional arguments skip it.
        let inferable = inferable_type_params(&decl);
        let positional = args.iter().filter(|a| a.name.is_none()).count() + next;
        let fixed_count = decl.params.iter().filter(|p| !(p.comptime && p.variadic)).count();
        // With defaulted parameters a count fits both forms: `f($T: Type, v: T, loc := …)`
        // called as `f(i64, 100)` gives `$T`, as `f(100)` leaves it out. A type where the
        // first inferable parameter stands decides it.
        let n_inferable = inferable.iter().filter(|b| **b).count();
        let required = decl.params.iter().filter(|p| !(p.comptime && p.variadic) && p.default.is_none()).count();
        let fits_inferred = positional + n_inferable >= required && positional + n_inferable <= fixed_count;
        let fits_explicit = positional >= required && positional <= fixed_count;
        let mut skip_inferable = pack_at.is_none() && n_inferable > 0 && fits_inferred;
        if skip_inferable && fits_explicit {
            let first = inferable.iter().position(|b| *b).unwrap_or(0).saturating_sub(next);
            skip_inferable = match args.iter().filter(|a| a.name.is_none()).nth(first) {
                Some(a) => !self.names_a_type(&a.value)?,
                None => true,
            };
        }
        for a in args {
            while skip_inferable && a.name.is_none() && next < n && inferable[next] {
                next += 1;
            }
            if a.spread {
                return self.err(a.span, "not supported yet: spreading into a generic call");
            }
            match &a.name {
                Some(nm) => match decl.params.iter().position(|p| p.name.as_ref().map(|x| x.name == nm.name).unwrap_or(false)) {
                    Some(i) => given[i] = Some(a.clone()),
                    None => return self.err(nm.span, format!("no parameter named '{}'", nm.name)),
                },
                None => {
                    if Some(next) == pack_at {
                        pack_args.push(a.clone());
                        continue;
                    }
                    if next >= n {
                        return self.err(a.span, format!("too many arguments: '{}' takes {}", self.c.fns[fid].name, n));
                    }
                    if decl.params[next].variadic {
                        // A slice variadic `..xs: []T` of a generic function: this and the
                        // following positional arguments form one array literal argument.
                        match &mut given[next] {
                            Some(Arg {
                                value: Expr { kind: ExprKind::ArrayLit { elems, .. }, span: lit_span, .. },
                                span: arg_span,
                                ..
                            }) => {
                                elems.push(a.value.clone());
                                *lit_span = lit_span.to(a.span);
                                *arg_span = arg_span.to(a.span);
                            }
                            _ => {
                                let lit = Expr::new(ExprKind::ArrayLit { ty: None, elems: vec![a.value.clone()] }, a.span);
                                given[next] = Some(Arg { name: None, value: lit, spread: false, span: a.span });
                            }
                        }
                        continue;
                    }
                    given[next] = Some(a.clone());
                    next += 1;
                }
            }
        }
        // A slice variadic given no arguments is the empty slice.
        for (i, p) in decl.params.iter().enumerate() {
            if p.variadic && !p.comptime && given[i].is_none() {
                let lit = Expr::new(ExprKind::ArrayLit { ty: None, elems: vec![] }, span);
                given[i] = Some(Arg { name: None, value: lit, spread: false, span });
            }
        }
        let mut binds: Vec<(String, ConstVal, bool)> = vec![];
        let mut vals: Vec<Option<(TV, Span)>> = vec![None; n];
        let _ = (&cfile, &cowner, &couter);
        let names = poly_names(&decl);
        let saved_scope = std::mem::replace(&mut self.poly_scope, names.clone());
        let saved_fixed = std::mem::take(&mut self.fixed_binds);
        let r = self.generic_call_inner(fid, &decl, receiver, &given, &mut binds, &mut vals, &names, span);
        let fixed = std::mem::replace(&mut self.fixed_binds, saved_fixed);
        self.poly_scope = saved_scope;
        let deferred = r?;
        let mut pack_vals = vec![];
        if let Some(pi) = pack_at {
            let (pv, types) = self.pack_arg_values(&pack_args)?;
            let constraint = match &decl.params[pi].ty {
                Some(te) => self.check_pack_constraint(fid, te, &types, &pv)?,
                None => None,
            };
            let name = decl.params[pi].name.as_ref().map(|n| n.name.clone()).unwrap_or_default();
            if let Some(p) = constraint {
                binds.push((crate::syntax_facts::pack_constraint_name(&name), ConstVal::Type(p), false));
            }
            binds.push((name, ConstVal::Pack(types), false));
            pack_vals = pv;
        }
        if !deferred.is_empty() {
            let saved = (std::mem::replace(&mut self.poly_scope, names.clone()), std::mem::replace(&mut self.fixed_binds, fixed));
            let r = self.typed_generic_lambdas(fid, &decl, &deferred, &given, &names, &mut binds, &mut vals);
            (self.poly_scope, self.fixed_binds) = saved;
            r?;
            self.check_all_inferred(fid, &decl, &given, &binds, &vals, &names, span)?;
        }
        self.finish_generic_call(fid, &decl, given, binds, vals, pack_vals, span)
    }

    /// `..xs: P`: every element type of the pack must implement protocol `P` (`..xs: any` and
    /// `..$xs: []Type` have no constraint); a bare family `P` takes elements implementing some
    /// instance `P(…)` (exactly one). Returns the constraining protocol.
    /// Does `e` name a type at compile time (a type name, a type function call, or type
    /// syntax that is not also a value: `[]T`, `[N]T`, `[*]T`, `?T`)?
    fn names_a_type(&mut self, e: &Expr) -> R<bool> {
        Ok(match &e.kind {
            ExprKind::Ident(id) => match self.resolve(id)? {
                Some(Local::Const(ConstVal::Type(_))) => true,
                Some(_) => false,
                None => crate::builtin_type(&mut self.c.types, &id.name).is_some(),
            },
            ExprKind::Call { .. } => self.type_fn_type(e)?.is_some(),
            ExprKind::SliceType { .. } | ExprKind::ArrayType { .. } | ExprKind::ManyPtrType(_) | ExprKind::OptionalType(_) => true,
            _ => false,
        })
    }

    fn check_pack_constraint(&mut self, fid: FnId, te: &Expr, types: &[TypeId], vals: &[(TV, Span)]) -> R<Option<TypeId>> {
        if matches!(&te.kind, ExprKind::SliceType { .. }) {
            return Ok(None);
        }
        let (cfile, cowner, couter) = {
            let d = &self.c.fns[fid];
            (d.file, d.owner, d.local_consts.clone())
        };
        let p = self.c.eval_type_in(cfile, cowner, &couter, te)?;
        if p == bt::ANY {
            // `..xs: any`: a pack of anything.
            return Ok(None);
        }
        if !self.c.is_protocol(p) {
            let msg = format!("a variadic parameter is a slice ('..xs: []T') or a protocol pack ('..xs: P'), not '{}'", self.tname(p));
            return self.err(te.span, msg);
        }
        if !self.c.protos.pending.is_empty() {
            self.c.resolve_impls()?;
        }
        for (t, (_, span)) in types.iter().zip(vals) {
            if self.c.is_protocol_family(p) {
                self.pack_family_instance(p, *t, *span)?;
                continue;
            }
            let concrete = match self.c.types.kind(*t) {
                TK::Pointer(inner) if !self.c.protos.impls.contains_key(&(p, *t)) => *inner,
                _ => *t,
            };
            self.c.instantiate_generic_impls(concrete)?;
            if !self.c.protos.impls.contains_key(&(p, concrete)) {
                let msg = format!("'{}' does not implement protocol '{}' (required by the pack parameter)", self.tname(*t), self.tname(p));
                return self.err(*span, msg);
            }
        }
        Ok(Some(p))
    }

    #[allow(clippy::too_many_arguments)]
    fn generic_call_inner(
        &mut self,
        fid: FnId,
        decl: &FnDecl,
        receiver: Option<TV>,
        given: &[Option<Arg>],
        binds: &mut Vec<(String, ConstVal, bool)>,
        vals: &mut [Option<(TV, Span)>],
        names: &[String],
        span: Span,
    ) -> R<Vec<usize>> {
        let (cfile, cowner, couter) = {
            let d = &self.c.fns[fid];
            (d.file, d.owner, d.local_consts.clone())
        };
        let mut receiver = receiver;
        let mut deferred_receiver = None;
        if let Some(r) = receiver.take() {
            deferred_receiver = Some(r);
        }
        // Explicit compile-time parameters: `$T: Type`, `$N: u32`.
        for (i, p) in decl.params.iter().enumerate() {
            if !p.comptime || p.variadic {
                continue;
            }
            let Some(name) = &p.name else { continue };
            let a = match &given[i] {
                Some(a) => a.value.clone(),
                None => match &p.default {
                    Some(d) => d.clone(),
                    None if inferable_type_params(decl)[i] => continue,
                    None => return self.err(span, format!("missing compile-time argument '{}'", name.name)),
                },
            };
            let declared = match &p.ty {
                Some(t) if !matches!(&t.kind, ExprKind::Ident(id) if id.name == "Type") => {
                    Some(self.c.eval_type_in(cfile, cowner, &couter, t)?)
                }
                _ => None,
            };
            // A type function's result is a type argument like any other.
            let v = match self.type_fn_type(&a)? {
                Some(t) if declared.is_none() => TV::konst(ConstVal::Type(t)),
                _ => self.expr(&a, declared)?,
            };
            let v = match declared {
                Some(t) => self.coerce(v, t, a.span)?,
                None => v,
            };
            let c = match v.as_const().cloned() {
                Some(c) => c,
                // An aggregate argument (`.circle(5.0)`, a struct literal) is evaluated at
                // compile time on the VM and baked.
                None if declared.map(|t| self.c.types.scalar(t).is_none()).unwrap_or(false) => {
                    let (file, owner, outer) = (self.file, self.owner, self.outer_consts.clone());
                    self.c.eval_const_in(file, owner, &outer, &a, declared)?
                }
                None => return self.err(a.span, format!("'${}' needs a compile-time argument", name.name)),
            };
            binds.push((name.name.clone(), c, false));
            self.fixed_binds.push(name.name.clone());
        }
        if let Some(r) = deferred_receiver {
            if let Some(te) = &decl.params[0].ty {
                let rt = r.ty;
                self.unify_pattern(te, rt, false, binds, span)?;
            }
            vals[0] = Some((r, span));
        }
        // Pattern-typed parameters: lower the argument, then bind. A function literal with
        // untyped parameters waits for the other arguments and the pack.
        let mut deferred = vec![];
        for (i, p) in decl.params.iter().enumerate() {
            if p.comptime || vals[i].is_some() {
                continue;
            }
            let Some(te) = &p.ty else { continue };
            if !mentions(te, names) {
                continue;
            }
            let Some(a) = &given[i] else { continue };
            if crate::lambda_ctx::waits_for_bindings(te, &a.value) {
                deferred.push(i);
                continue;
            }
            let tv = self.expr(&a.value, None)?;
            let untyped = tv.as_const().map(|c| c.is_untyped()).unwrap_or(false);
            self.unify_pattern(te, tv.ty, untyped, binds, a.value.span)?;
            vals[i] = Some((tv, a.value.span));
        }
        for p in decl.params.iter().filter(|p| p.comptime && !p.variadic) {
            if let Some(n) = &p.name {
                if !binds.iter().any(|(k, _, _)| *k == n.name) {
                    return self.err(span, format!("missing compile-time argument '{}'", n.name));
                }
            }
        }
        if deferred.is_empty() {
            self.check_all_inferred(fid, decl, given, binds, vals, names, span)?;
        }
        Ok(deferred)
    }

    /// Every generic name is bound once all arguments are given (the pack's own name aside).
    #[allow(clippy::too_many_arguments)]
    fn check_all_inferred(
        &mut self,
        fid: FnId,
        decl: &FnDecl,
        given: &[Option<Arg>],
        binds: &[(String, ConstVal, bool)],
        vals: &[Option<(TV, Span)>],
        names: &[String],
        span: Span,
    ) -> R<()> {
        let pack = decl.params.iter().find(|p| p.comptime && p.variadic).and_then(|p| p.name.as_ref()).map(|n| n.name.clone());
        let given_all = decl.params.iter().enumerate().all(|(i, p)| p.comptime || given[i].is_some() || i == 0 && vals[0].is_some());
        if given_all {
            for n in names {
                if Some(n) != pack.as_ref() && !binds.iter().any(|(k, _, _)| k == n) {
                    let fname = self.c.fns[fid].name.clone();
                    return self
                        .err(span, format!("cannot infer generic type parameter '{}' for '{}' from this call's arguments", n, fname));
                }
            }
        }
        Ok(())
    }

    fn finish_generic_call(
        &mut self,
        fid: FnId,
        decl: &FnDecl,
        given: Vec<Option<Arg>>,
        binds: Vec<(String, ConstVal, bool)>,
        mut vals: Vec<Option<(TV, Span)>>,
        pack_vals: Vec<(TV, Span)>,
        span: Span,
    ) -> R<TV> {
        let (cfile, cowner) = {
            let d = &self.c.fns[fid];
            (d.file, d.owner)
        };
        let binds: Vec<(String, ConstVal)> = binds.into_iter().map(|(k, v, _)| (k, v)).collect();
        let inst = self.c.fn_instance(fid, binds);
        if !self.c.inst.instance_sites.contains_key(&inst) {
            let outer = self.c.lowering.and_then(|f| self.c.inst.instance_sites.get(&f).copied());
            self.c.inst.instance_sites.insert(inst, outer.unwrap_or(span));
            // How many instances, each made while lowering the previous one, lead here.
            let depth = self.c.lowering.and_then(|f| self.c.inst.instance_depth.get(&f).copied()).unwrap_or(0) + 1;
            self.c.inst.instance_depth.insert(inst, depth);
            if depth > MAX_INSTANCE_DEPTH {
                let name = self.c.fns[fid].name.clone();
                let msg = format!(
                    "generic instances nested more than {} levels deep (does '{}' instantiate itself with ever new arguments?)",
                    MAX_INSTANCE_DEPTH, name
                );
                return self.err(span, msg);
            }
        }
        let sig = self.c.fn_sig(inst)?;
        let func = self.c.declare_fn(inst, span)?;
        // Run-time arguments, in signature order.
        let mut irargs = vec![];
        let rslot = self.sret_arg(sig.ret, &mut irargs);
        let mut k = 0usize;
        let mut pack_vals = pack_vals.into_iter();
        for (i, p) in decl.params.iter().enumerate() {
            if p.comptime {
                if p.variadic {
                    for (tv, sp) in pack_vals.by_ref() {
                        let pty = sig.params[k];
                        k += 1;
                        let tv = self.coerce_arg_pub(tv, pty, sp)?;
                        irargs.push(self.pass_arg_pub(tv, sp)?);
                    }
                }
                continue;
            }
            let pty = sig.params[k];
            k += 1;
            let (tv, sp) = match vals[i].take() {
                Some(v) => v,
                None => match &given[i] {
                    Some(a) => (self.arg_value(&a.value, pty)?, a.value.span),
                    None => match &p.default {
                        Some(d) if matches!(d.kind, ExprKind::CallerLocation) => (self.caller_location(span, Some(pty), d.span)?, span),
                        Some(d) => {
                            let d = &self.default_at_call_site(d, span)?.unwrap_or_else(|| d.clone());
                            let (sf, so, sc) = (self.file, self.owner, self.outer_consts.clone());
                            self.file = cfile;
                            self.owner = cowner;
                            self.outer_consts = self.c.fns[inst].local_consts.clone();
                            let r = self.expr(d, Some(pty));
                            self.file = sf;
                            self.owner = so;
                            self.outer_consts = sc;
                            (r?, d.span)
                        }
                        None => {
                            let nm = p.name.as_ref().map(|x| x.name.clone()).unwrap_or_default();
                            return self.err(span, format!("missing argument '{}'", nm));
                        }
                    },
                },
            };
            let tv = self.coerce_arg_pub(tv, pty, sp)?;
            irargs.push(self.pass_arg_pub(tv, sp)?);
        }
        let rets: Vec<sx_ir::Type> = self.c.module.funcs[func].sig.returns.clone();
        let res = self.b(|b| b.call(func, irargs, &rets));
        Ok(self.call_result_pub(sig.ret, res, rslot))
    }
}
