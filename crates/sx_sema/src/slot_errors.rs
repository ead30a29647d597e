//! Failures through function slots: `try h(x)` where `h` is a closure or function-pointer value
//! whose type has an inferred `!` set. No single function is called there, so the tags that can
//! arrive are those of every lambda of that shape (same parameter and result types, inferred
//! `!`) the program lowers. Each such `try` in a function with a named set is recorded while
//! lowering and checked once every body is lowered: each tag of the union must be in the
//! caller's set. When some lambda's tags cannot be known from its text the site is not checked.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

/// A `try` through a slot of an inferred-`!` shape, inside a function with a named error set.
pub(crate) struct SlotFailure {
    params: Vec<TypeId>,
    ret: TypeId,
    /// The caller's named error set.
    set: TypeId,
    span: Span,
}

impl FnCx<'_> {
    /// Records a failure of the slot `callee` (a local or parameter of closure or function type
    /// with an inferred `!` set) propagating into the named set `set`; anything else is not
    /// recorded.
    pub(crate) fn note_slot_failure(&mut self, callee: &Expr, set: TypeId, span: Span) {
        let ExprKind::Ident(id) = &callee.kind else { return };
        let Some(Local::Var { ty, .. }) = self.lookup_local(&id.name) else { return };
        let (params, ret) = match self.c.types.kind(ty) {
            TK::Closure { params, ret } | TK::Func { params, ret } => (params.clone(), *ret),
            _ => return,
        };
        if self.c.has_inferred_error_set(ret) {
            self.c.slot_failures.push(SlotFailure { params, ret, set, span });
        }
    }
}

impl Compiler {
    /// True when a function result type fails with an inferred `!` set.
    fn has_inferred_error_set(&self, ret: TypeId) -> bool {
        let err = match self.types.kind(ret) {
            TK::Failable { err, .. } => *err,
            _ => ret,
        };
        err == sx_types::builtin::ANY_ERROR
    }

    /// Checks every recorded slot failure against the lambdas of its shape.
    pub(crate) fn check_slot_failures(&mut self) {
        let checks = std::mem::take(&mut self.slot_failures);
        if checks.is_empty() {
            return;
        }
        // The lowered lambdas with an inferred `!` set, with their signatures.
        let lambdas: Vec<FnId> = self
            .fns
            .iter()
            .filter(|(_, d)| d.name == "lambda" && d.decl.ret.as_ref().and_then(|r| r.error.as_ref()).is_some_and(|e| e.set.is_none()))
            .map(|(f, _)| f)
            .collect();
        let mut shapes: Vec<(Vec<TypeId>, TypeId, FnId)> = vec![];
        for f in lambdas {
            if let Some(sig) = self.fns[f].sig.clone() {
                shapes.push((sig.params, sig.ret, f));
            }
        }
        for check in checks {
            let mut tags = std::collections::BTreeSet::new();
            let mut known = true;
            for (params, ret, f) in &shapes {
                if *params != check.params || *ret != check.ret {
                    continue;
                }
                match self.inferred_error_tags(*f) {
                    Some(t) => tags.extend(t),
                    None => known = false,
                }
            }
            let Some(def) = self.types.error_set_of(check.set).cloned() else { continue };
            let Some(allowed) = def.tags else { continue };
            if !known {
                continue;
            }
            for t in tags.iter().filter(|t| !allowed.contains(t)) {
                let msg = format!("error tag 'error.{}' is not in caller's error set '{}'", t, def.name);
                self.diags.push(Diagnostic::error(check.span, msg));
            }
        }
    }
}
