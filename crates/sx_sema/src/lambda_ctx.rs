//! Function literals whose parameters are untyped take the parameter types from the closure or
//! function type the context expects: `cb : Closure(i64, string) -> i64 = (a, b) => a + b.len;`
//! and `apply((a, b) => a * b, …)`. A generic parameter typed from a pack
//! (`mapper: Closure(..xs.T) -> $R, ..xs: P`) types such a literal once the pack is bound.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// A parameter without a written type, default, `$` or `..`: typed by the context.
fn untyped(p: &Param) -> bool {
    p.ty.is_none() && p.default.is_none() && !p.comptime && !p.variadic
}

/// True when argument `arg` of a parameter of pattern type `te` is a function literal with
/// untyped parameters that a `..` spread of `te`'s closure parameters types (the spread names
/// the call's pack, bound only after the other arguments).
pub(crate) fn waits_for_pack(te: &Expr, arg: &Expr) -> bool {
    let ExprKind::ClosureType { params, .. } = &te.kind else { return false };
    let ExprKind::Fn(decl) = &arg.kind else { return false };
    params.iter().any(|a| a.spread) && decl.params.iter().any(untyped)
}

impl FnCx<'_> {
    /// Lowers the function literals [`waits_for_pack`] held back in a call of generic `fid`,
    /// now that `binds` has the pack: each literal's parameter types are its pattern's closure
    /// parameters evaluated with the bindings so far, then the pattern binds what the literal
    /// gives (its result type for `-> $R`).
    pub(crate) fn pack_typed_lambdas(
        &mut self,
        fid: FnId,
        decl: &FnDecl,
        deferred: &[usize],
        given: &[Option<Arg>],
        binds: &mut Vec<(String, ConstVal, bool)>,
        vals: &mut [Option<(TV, Span)>],
    ) -> R<()> {
        let (file, owner) = (self.c.fns[fid].file, self.c.fns[fid].owner);
        for &i in deferred {
            let (Some(te), Some(a)) = (&decl.params[i].ty, &given[i]) else { continue };
            let ExprKind::ClosureType { params, .. } = &te.kind else { continue };
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
