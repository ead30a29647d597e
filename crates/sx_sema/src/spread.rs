//! `f(..t)` where `t` is a tuple (or an anonymous struct, or a fixed-size array): the value is
//! evaluated once into a hidden local and the call receives its elements as separate
//! arguments, so it can fill fixed parameters (`add2(..pair)`), a variadic slice or a pack.
//! Slices and packs spread as before.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// Arrays longer than this are not split into separate arguments.
const MAX_SPREAD_ARRAY: u64 = 256;

impl FnCx<'_> {
    /// The argument list with every tuple/array spread replaced by its elements (`None` when
    /// there is nothing to replace).
    pub(crate) fn expand_value_spreads(&mut self, args: &[Arg]) -> R<Option<Rc<Vec<Arg>>>> {
        if !args.iter().any(|a| a.spread) {
            return Ok(None);
        }
        let is_hidden = |a: &Arg| matches!(&a.value.kind, ExprKind::Ident(id) if id.raw && id.name.starts_with("\u{0}spread"));
        if args.iter().all(|a| !a.spread || is_hidden(a)) {
            return Ok(None);
        }
        let mut out: Vec<Arg> = vec![];
        for a in args {
            if !a.spread || is_hidden(a) {
                out.push(a.clone());
                continue;
            }
            let v = self.expr(&a.value, None)?;
            let ty = v.ty;
            let elems: Option<Vec<Ident>> = match self.c.types.kind(ty).clone() {
                TK::Struct(_) if self.is_tuple_like(ty) => {
                    let names = self.c.types.struct_of(ty).map(|s| s.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>());
                    names.map(|ns| ns.into_iter().map(|n| Ident { name: n, span: a.span, raw: true }).collect())
                }
                TK::Array(n, _) if n <= MAX_SPREAD_ARRAY => Some(vec![]),
                _ => None,
            };
            // Evaluated once, into a hidden local the new arguments read.
            let tmp = format!("\u{0}spread{}", self.c.fresh());
            let v = self.materialize(v, a.span)?;
            let s = self.slot_for(ty);
            let sa = self.slot_addr(s);
            self.store(sa, v, a.span)?;
            self.bind(&tmp, Local::Var { slot: s, ty, by_ref: false, readonly: true });
            let base = Expr::new(ExprKind::Ident(Ident { name: tmp, span: a.span, raw: true }), a.value.span);
            match (elems, self.c.types.kind(ty).clone()) {
                (Some(fields), TK::Struct(_)) => {
                    for f in fields {
                        let value = Expr::new(ExprKind::Field { base: Box::new(base.clone()), name: f }, a.value.span);
                        out.push(Arg { name: None, value, spread: false, span: a.span });
                    }
                }
                (Some(_), TK::Array(n, _)) => {
                    for i in 0..n {
                        let index = Expr::new(ExprKind::Int(i as u128), a.value.span);
                        let value = Expr::new(ExprKind::Index { base: Box::new(base.clone()), index: Box::new(index) }, a.value.span);
                        out.push(Arg { name: None, value, spread: false, span: a.span });
                    }
                }
                _ => out.push(Arg { name: a.name.clone(), value: base, spread: true, span: a.span }),
            }
        }
        let out = Rc::new(out);
        Ok(Some(out))
    }
}
