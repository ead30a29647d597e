//! Function literals whose parameters are untyped take the parameter types from the closure or
//! function type the context expects: `cb : Closure(i64, string) -> i64 = (a, b) => a + b.len;`
//! and `apply((a, b) => a * b, …)`. Passed for a generic parameter `f: Closure(…) -> $R`, such a
//! literal waits until the call's other arguments (and its pack) are bound: `apply(3, (v) => v *
//! 2)` for `f: Closure(T) -> $R` after `x: $T`, `map((a, b) => a + b, …)` for
//! `f: Closure(..xs.T) -> $R, ..xs: P`; its result then binds `$R`.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// A parameter without a written type, default, `$` or `..`: typed by the context.
fn untyped(p: &Param) -> bool {
    p.ty.is_none() && p.default.is_none() && !p.comptime && !p.variadic
}

/// True when argument `arg` of a parameter of pattern type `te` is a function literal with
/// untyped parameters and `te` a closure type: the literal is lowered after the other
/// arguments, which may bind what its parameter types name.
pub(crate) fn waits_for_bindings(te: &Expr, arg: &Expr) -> bool {
    let ExprKind::ClosureType { .. } = &te.kind else { return false };
    let ExprKind::Fn(decl) = &arg.kind else { return false };
    decl.params.iter().any(untyped)
}

/// The names a type expression mentions, as `$name` or bare identifiers.
fn mentioned_names(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Poly { name, .. } | ExprKind::Ident(name) => out.push(name.name.clone()),
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => mentioned_names(i, out),
        ExprKind::SliceType { elem, .. } => mentioned_names(elem, out),
        ExprKind::ArrayType { len, elem } => {
            mentioned_names(len, out);
            mentioned_names(elem, out)
        }
        ExprKind::Field { base, .. } => mentioned_names(base, out),
        ExprKind::Call { callee, args, .. } => {
            mentioned_names(callee, out);
            args.iter().for_each(|a| mentioned_names(&a.value, out))
        }
        ExprKind::ClosureType { params, ret } => {
            params.iter().for_each(|a| mentioned_names(&a.value, out));
            ret.iter().flat_map(|r| r.values.iter()).for_each(|v| mentioned_names(&v.ty, out));
        }
        _ => {}
    }
}

impl FnCx<'_> {
    /// Lowers the function literals [`waits_for_bindings`] held back in a call of generic
    /// `fid` (whose generic names are `names`), once `binds` has the other arguments' bindings
    /// and the pack: when every generic name the pattern's closure parameters mention is bound,
    /// they are evaluated and type the literal's parameters; the pattern then binds what the
    /// literal gives (its result type for `-> $R`). A literal whose parameter types name a
    /// binding still missing is lowered as it is.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn typed_generic_lambdas(
        &mut self,
        fid: FnId,
        decl: &FnDecl,
        deferred: &[usize],
        given: &[Option<Arg>],
        names: &[String],
        binds: &mut Vec<(String, ConstVal, bool)>,
        vals: &mut [Option<(TV, Span)>],
    ) -> R<()> {
        let (file, owner) = (self.c.fns[fid].file, self.c.fns[fid].owner);
        for &i in deferred {
            let (Some(te), Some(a)) = (&decl.params[i].ty, &given[i]) else { continue };
            let ExprKind::ClosureType { params, .. } = &te.kind else { continue };
            let mut mentioned = vec![];
            params.iter().for_each(|p| mentioned_names(&p.value, &mut mentioned));
            if mentioned.iter().any(|n| names.contains(n) && !binds.iter().any(|(k, _, _)| k == n)) {
                let tv = self.expr(&a.value, None)?;
                self.unify_pattern(te, tv.ty, false, binds, a.value.span)?;
                vals[i] = Some((tv, a.value.span));
                continue;
            }
            let mut scope = (*self.c.fns[fid].local_consts).clone();
            scope.extend(binds.iter().map(|(k, v, _)| (k.clone(), v.clone())));
            let shape = Expr::new(ExprKind::ClosureType { params: params.clone(), ret: None }, te.span);
            let expected = self.c.eval_type_in(file, owner, &Rc::new(scope), &shape)?;
            let want = match self.c.types.kind(expected) {
                TK::Closure { params, .. } => params.len(),
                _ => 0,
            };
            if let ExprKind::Fn(lit) = &a.value.kind {
                if lit.params.len() != want {
                    let pname = decl.params[i].name.as_ref().map_or(String::new(), |n| n.name.clone());
                    let msg = format!(
                        "this function literal takes {} parameter(s), but '{}' is a '{}' here",
                        lit.params.len(),
                        pname,
                        self.tname(expected)
                    );
                    return self.err(a.value.span, msg);
                }
            }
            let tv = self.expr(&a.value, Some(expected))?;
            self.unify_pattern(te, tv.ty, false, binds, a.value.span)?;
            vals[i] = Some((tv, a.value.span));
        }
        Ok(())
    }

    /// `decl` with each untyped parameter typed from `expected` (`None` when `decl` has no
    /// untyped parameter or nothing is expected). The types are reached through hidden local
    /// constants, so the function literal sees them like written types.
    pub(crate) fn contextual_lambda(&mut self, decl: &FnDecl, expected: Option<TypeId>) -> R<Option<FnDecl>> {
        let (params, ret) = match expected.map(|t| self.c.types.kind(t).clone()) {
            Some(TK::Closure { params, ret }) | Some(TK::Func { params, ret }) => (params, ret),
            _ => return Ok(None),
        };
        // A multi-value result `-> (A, B)` the literal does not spell comes from the expected type.
        let multi_ret = decl.ret.is_none() && self.c.types.is_tuple(ret) && decl.body.is_some();
        if !decl.params.iter().any(untyped) && !multi_ret {
            return Ok(None);
        }
        if params.len() != decl.params.len() {
            return Ok(None);
        }
        let mut out = decl.clone();
        if multi_ret {
            let elems: Vec<(String, TypeId)> =
                self.c.types.struct_of(ret).map(|s| s.fields.iter().map(|f| (f.name.clone(), f.ty)).collect()).unwrap_or_default();
            let mut values = vec![];
            for (fname, t) in elems {
                let hidden = format!("\u{0}ret_type.{}", self.c.fresh());
                self.bind(&hidden, Local::Const(ConstVal::Type(t)));
                let ty = Expr::new(ExprKind::Ident(Ident { name: hidden, span: decl.span, raw: true }), decl.span);
                // Named result slots keep their names (`-> (x: A, y: B)`).
                let name = fname.parse::<u32>().is_err().then(|| Ident { name: fname, span: decl.span, raw: false });
                values.push(RetSlot { name, ty, default: None, span: decl.span });
            }
            out.ret = Some(RetSpec { values, error: None, paren: true, span: decl.span });
        }
        for (p, &t) in out.params.iter_mut().zip(&params) {
            if !untyped(p) {
                continue;
            }
            let hidden = format!("\u{0}param_type.{}", self.c.fresh());
            self.bind(&hidden, Local::Const(ConstVal::Type(t)));
            p.ty = Some(Expr::new(ExprKind::Ident(Ident { name: hidden, span: p.span, raw: true }), p.span));
        }
        Ok(Some(out))
    }
}
