//! `$`-pattern impls whose target is a closure type: `impl P for Closure(..$args) -> $R`.
//!
//! The target pattern is matched against a concrete closure type when the protocol machinery
//! meets one (an `xx` conversion, an erasure): each parameter pattern `$T` binds the parameter
//! type at its position, a concrete type must equal it, one `..$pack` takes the parameters
//! between the patterns before and after it (bound as a [`ConstVal::Pack`]), and the result
//! pattern (`void` when the pattern has none) binds or compares the closure's result. The
//! bindings are the impl's scope, as for a parameterised struct target.

use crate::*;
use sx_types::TypeKind as TK;

/// Binds `name` to `v`; false when it is already bound to something else.
fn bind(binds: &mut HashMap<String, ConstVal>, name: &str, v: ConstVal) -> bool {
    match binds.get(name) {
        Some(prev) => *prev == v,
        None => {
            binds.insert(name.to_string(), v);
            true
        }
    }
}

impl Compiler {
    /// Checks the closure pattern `Closure(params) -> ret` of a `$`-pattern impl when the impl
    /// is registered: at most one spread, spelled `..$pack`; parameter and result patterns are
    /// `$T` or types without patterns; a single result.
    pub(crate) fn check_closure_impl_pattern(&mut self, params: &[Arg], ret: Option<&RetSpec>) -> R<()> {
        let mut spreads = params.iter().filter(|a| a.spread);
        if let (Some(_), Some(second)) = (spreads.next(), spreads.next()) {
            return self.err(second.span, "a closure impl pattern takes at most one '..$pack'");
        }
        let mut parts = vec![];
        for a in params {
            match (&a.value.kind, a.spread) {
                (ExprKind::Poly { .. }, true) => {}
                (_, true) => return self.err(a.span, "not supported yet: a spread in a closure impl pattern other than '..$pack'"),
                (_, false) => parts.push(&a.value),
            }
        }
        if let Some(spec) = ret {
            if spec.values.len() != 1 || spec.error.is_some() || spec.paren {
                return self.err(spec.span, "not supported yet: a closure impl pattern with a multi-value or failable result");
            }
            parts.push(&spec.values[0].ty);
        }
        for pat in parts {
            if !matches!(pat.kind, ExprKind::Poly { .. }) && crate::syntax_facts::contains_poly(pat) {
                return self.err(pat.span, "not supported yet: a '$' pattern nested inside a closure impl pattern's type (write '$T')");
            }
        }
        Ok(())
    }

    /// The bindings of closure pattern `Closure(params) -> ret` (declared in `file`, checked by
    /// [`Compiler::check_closure_impl_pattern`]) against type `t`; `None` when `t` is no
    /// closure type or does not match.
    pub(crate) fn match_closure_impl_target(
        &mut self,
        file: FileIdx,
        params: &[Arg],
        ret: Option<&RetSpec>,
        t: TypeId,
    ) -> R<Option<HashMap<String, ConstVal>>> {
        let TK::Closure { params: ps, ret: r } = self.types.kind(t).clone() else { return Ok(None) };
        let mut binds = HashMap::new();
        let spread = params.iter().position(|a| a.spread);
        let fixed = params.len() - spread.is_some() as usize;
        if ps.len() < fixed || (spread.is_none() && ps.len() != fixed) {
            return Ok(None);
        }
        let mut pairs: Vec<(&Expr, TypeId)> = vec![];
        match spread.map(|k| (k, &params[k].value.kind)) {
            Some((k, ExprKind::Poly { name, .. })) => {
                let tail = params.len() - k - 1;
                let middle = ps[k..ps.len() - tail].to_vec();
                if !bind(&mut binds, &name.name, ConstVal::Pack(middle)) {
                    return Ok(None);
                }
                pairs.extend(params[..k].iter().map(|a| &a.value).zip(ps[..k].iter().copied()));
                pairs.extend(params[k + 1..].iter().map(|a| &a.value).zip(ps[ps.len() - tail..].iter().copied()));
            }
            Some(_) => return Ok(None),
            None => pairs.extend(params.iter().map(|a| &a.value).zip(ps.iter().copied())),
        }
        for (pat, ty) in pairs {
            if !self.match_closure_pattern_part(file, pat, ty, &mut binds)? {
                return Ok(None);
            }
        }
        let matched = match ret.and_then(|spec| spec.values.first()) {
            Some(slot) => self.match_closure_pattern_part(file, &slot.ty, r, &mut binds)?,
            None => r == bt::VOID,
        };
        Ok(matched.then_some(binds))
    }

    /// One parameter or result pattern: `$T` binds, a type without patterns must equal `ty`.
    fn match_closure_pattern_part(&mut self, file: FileIdx, pat: &Expr, ty: TypeId, binds: &mut HashMap<String, ConstVal>) -> R<bool> {
        if let ExprKind::Poly { name, .. } = &pat.kind {
            return Ok(bind(binds, &name.name, ConstVal::Type(ty)));
        }
        let outer = Rc::new(HashMap::new());
        Ok(self.eval_type_in(file, None, &outer, pat)? == ty)
    }
}
