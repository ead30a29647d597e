//! Type functions: a call of a function declared `-> Type` whose arguments are all known at
//! compile time (`Make(N, i64)`, `Box(i64)`, `RecvResult(T)`), used where a type is needed (a
//! type position, `F(x).variant`, a reflection intrinsic's type argument), is evaluated at
//! compile time — on the VM, like any constant initialiser. Results are memoised per function
//! and argument values, so the same arguments give the same type at every site (a type
//! function that mints a nominal type mints it once). Used as a value (`h := declare("X")`), such
//! a call is an ordinary call.

use crate::fncx::FnCx;
use crate::*;

/// Type-function evaluations may wait on each other this many levels deep.
const MAX_TYPE_FN_NESTING: usize = 100;

impl<'c> FnCx<'c> {
    /// The type that `e` names when it is a call of a type function with compile-time
    /// arguments (see [`Self::fold_type_fn_call`]).
    pub(crate) fn type_fn_type(&mut self, e: &Expr) -> R<Option<TypeId>> {
        let ExprKind::Call { callee, args, .. } = &e.kind else { return Ok(None) };
        match self.resolve_path(callee)? {
            Some(ConstVal::Func(fid)) => self.fold_type_fn_call(fid, args, e.span),
            _ => Ok(None),
        }
    }

    /// The type `fid(args)` names when `fid` is a type function and every argument is a
    /// compile-time constant; `None` when the call must be lowered as an ordinary call.
    pub(crate) fn fold_type_fn_call(&mut self, fid: FnId, args: &[Arg], span: Span) -> R<Option<TypeId>> {
        let decl = self.c.fns[fid].decl.clone();
        let returns_type = match decl.ret.as_ref() {
            Some(r) if r.error.is_none() && r.values.len() == 1 => {
                matches!(&r.values[0].ty.kind, ExprKind::Ident(id) if id.name == "Type" && !id.raw)
            }
            _ => false,
        };
        if !returns_type || decl.body.is_none() || decl.attrs.is_extern || args.iter().any(|a| a.spread || a.name.is_some()) {
            return Ok(None);
        }
        let mut values = vec![];
        for a in args {
            match self.static_arg(&a.value)? {
                Some(v) => values.push(v),
                None => return Ok(None),
            }
        }
        let fid = self.c.type_fn_by_type_args(fid, &values);
        let key = (fid, values.iter().map(ConstVal::value_key).collect::<Vec<_>>());
        if let Some(&t) = self.c.inst.type_fn_results.get(&key) {
            return Ok(Some(t));
        }
        if self.c.inst.type_fn_active.len() >= MAX_TYPE_FN_NESTING {
            let msg = format!(
                "type functions nested more than {} levels deep (does it keep calling itself with new arguments?)",
                MAX_TYPE_FN_NESTING
            );
            return self.err(span, msg);
        }
        // The evaluation below lowers this very call: let it through as an ordinary call.
        if !self.c.inst.type_fn_active.insert(key.clone()) {
            return Ok(None);
        }
        let mut scope: HashMap<String, ConstVal> = (*self.outer_consts).clone();
        scope.insert("__sx_type_fn".to_string(), ConstVal::Func(fid));
        let mut call_args = vec![];
        for (i, (a, v)) in args.iter().zip(values).enumerate() {
            let name = format!("__sx_type_arg{}", i);
            scope.insert(name.clone(), v);
            let id = Ident { name, span: a.value.span, raw: false };
            call_args.push(Arg { name: None, value: Expr::new(ExprKind::Ident(id), a.value.span), spread: false, span: a.span });
        }
        let callee = Expr::new(ExprKind::Ident(Ident { name: "__sx_type_fn".to_string(), span, raw: false }), span);
        let call = Expr::new(ExprKind::Call { callee: Box::new(callee), args: call_args, trailing_block: false }, span);
        let (file, owner) = (self.file, self.owner);
        let r = self.c.eval_const_in(file, owner, &Rc::new(scope), &call, Some(bt::TYPE));
        self.c.inst.type_fn_active.remove(&key);
        match r? {
            ConstVal::Type(t) => {
                self.c.inst.type_fn_results.insert(key, t);
                Ok(Some(t))
            }
            _ => self.err(span, "a type function must return a type"),
        }
    }

    /// The compile-time value of argument `e`, or `None` when it is not one (evaluating it
    /// then emits no code with effects: only constant-shaped expressions are tried).
    fn static_arg(&mut self, e: &Expr) -> R<Option<ConstVal>> {
        if let Some(t) = self.try_type(e)? {
            return Ok(Some(ConstVal::Type(t)));
        }
        if !self.constant_shaped(e)? {
            return Ok(None);
        }
        let v = self.expr(e, None)?;
        Ok(v.as_const().cloned())
    }

    /// Whether `e` is built only from literals, names and calls of intrinsics, parameterised
    /// structs and type functions (so lowering it cannot have effects).
    fn constant_shaped(&mut self, e: &Expr) -> R<bool> {
        Ok(match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Char(_) => true,
            ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::EnumLit(_) => true,
            ExprKind::Unary { expr, .. } => self.constant_shaped(expr)?,
            ExprKind::Binary { lhs, rhs, .. } => self.constant_shaped(lhs)? && self.constant_shaped(rhs)?,
            ExprKind::Call { callee, args, .. } => {
                let ok_callee = match self.resolve_path(callee)? {
                    Some(ConstVal::Intrinsic(_)) | Some(ConstVal::GenericStruct(_)) => true,
                    Some(ConstVal::Func(f)) => {
                        let d = &self.c.fns[f].decl;
                        matches!(d.ret.as_ref().and_then(|r| r.values.first()).map(|v| &v.ty.kind), Some(ExprKind::Ident(id)) if id.name == "Type")
                    }
                    None => matches!(&callee.kind, ExprKind::Ident(id) if id.name == "Tuple" || id.name == "Vector"),
                    _ => false,
                };
                let mut ok = ok_callee;
                for a in args {
                    ok = ok && !a.spread && self.constant_shaped(&a.value)?;
                }
                ok
            }
            _ => false,
        })
    }
}

impl Compiler {
    /// A type function given a type for a parameter declared `name: $T` binds `T` to that type
    /// (not to `Type`): the function as if that parameter were written `$T: Type`.
    fn type_fn_by_type_args(&mut self, fid: FnId, values: &[ConstVal]) -> FnId {
        let decl = self.fns[fid].decl.clone();
        let mut changed = vec![false; decl.params.len()];
        let mut params = decl.params.clone();
        for (i, (p, v)) in params.iter_mut().zip(values).enumerate() {
            let poly = match &p.ty {
                Some(Expr { kind: ExprKind::Poly { name, constraint: None }, .. }) if !p.comptime => name.clone(),
                _ => continue,
            };
            if !matches!(v, ConstVal::Type(_)) {
                continue;
            }
            p.ty = Some(Expr::new(ExprKind::Ident(Ident { name: "Type".to_string(), span: poly.span, raw: false }), poly.span));
            p.name = Some(poly);
            p.comptime = true;
            changed[i] = true;
        }
        if !changed.contains(&true) {
            return fid;
        }
        let key = (fid, changed);
        if let Some(&f) = self.inst.type_fn_variants.get(&key) {
            return f;
        }
        let src = &self.fns[fid];
        let def = FnDef {
            name: src.name.clone(),
            decl: Rc::new(FnDecl { params, ..(*decl).clone() }),
            file: src.file,
            owner: src.owner,
            sig: None,
            func: None,
            span: src.span,
            local_consts: src.local_consts.clone(),
        };
        let f = self.fns.push(def);
        self.inst.type_fn_variants.insert(key, f);
        f
    }
}
