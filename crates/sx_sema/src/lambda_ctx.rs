//! Function literals whose parameters are untyped take the parameter types from the closure or
//! function type the context expects: `cb : Closure(i64, string) -> i64 = (a, b) => a + b.len;`
//! and `apply((a, b) => a * b, …)`.

use crate::lower::*;
use crate::*;
use sx_types::TypeKind as TK;

impl FnCx<'_> {
    /// `decl` with each untyped parameter typed from `expected` (`None` when `decl` has no
    /// untyped parameter or nothing is expected). The types are reached through hidden local
    /// constants, so the function literal sees them like written types.
    pub(crate) fn contextual_lambda(&mut self, decl: &FnDecl, expected: Option<TypeId>) -> R<Option<FnDecl>> {
        let untyped = |p: &Param| p.ty.is_none() && p.default.is_none() && !p.comptime && !p.variadic;
        if !decl.params.iter().any(untyped) {
            return Ok(None);
        }
        let params = match expected.map(|t| self.c.types.kind(t).clone()) {
            Some(TK::Closure { params, .. }) | Some(TK::Func { params, .. }) => params,
            _ => return Ok(None),
        };
        if params.len() != decl.params.len() {
            return Ok(None);
        }
        let mut out = decl.clone();
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
