//! Function literals whose parameters are untyped take the parameter types from the closure or
//! function type the context expects: `cb : Closure(i64, string) -> i64 = (a, b) => a + b.len;`
//! and `apply((a, b) => a * b, …)`.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

impl FnCx<'_> {
    /// `decl` with each untyped parameter typed from `expected` (`None` when `decl` has no
    /// untyped parameter or nothing is expected). The types are reached through hidden local
    /// constants, so the function literal sees them like written types.
    pub(crate) fn contextual_lambda(&mut self, decl: &FnDecl, expected: Option<TypeId>) -> R<Option<FnDecl>> {
        let untyped = |p: &Param| p.ty.is_none() && p.default.is_none() && !p.comptime && !p.variadic;
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
