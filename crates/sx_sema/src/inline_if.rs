//! `inline if` in function bodies: the condition (or the matched subject) is a compile-time
//! value and only the chosen branch is lowered, so the other branches may hold code that does
//! not type-check for this instance (the way a generic body gates per-kind behaviour).
//!
//! - `inline if cond { … } else { … }` — `cond` folds to a `bool`;
//! - `inline if T == { case slice: … case Foo: … else: … }` — `T` is a `Type` constant and an
//!   arm names concrete types or categories (`int`, `struct`, `slice`, `protocol`, …); a value
//!   subject matches constant patterns by equality.
//!
//! `#error("msg")` reports `msg` as a compile error where it is lowered (an arm that should
//! never be chosen).

use crate::fncx::FnCx;
use crate::*;

impl FnCx<'_> {
    pub(crate) fn inline_if(&mut self, cond: &Cond, then: &Expr, else_: Option<&Expr>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let Cond::Expr(c) = cond else {
            return self.err(span, "'inline if' needs a compile-time condition, not a binding");
        };
        let v = self.expr(c, Some(bt::BOOL))?;
        let Some(ConstVal::Bool(b)) = v.as_const() else {
            return self.err(c.span, "'inline if' needs a condition known at compile time");
        };
        match (b, else_) {
            (true, _) => self.expr(then, expected),
            (false, Some(e)) => self.expr(e, expected),
            (false, None) => Ok(TV::void()),
        }
    }

    pub(crate) fn inline_match(
        &mut self,
        subject: &Expr,
        arms: &[MatchArm],
        else_: Option<&Block>,
        expected: Option<TypeId>,
        span: Span,
    ) -> R<TV> {
        let sv = self.expr(subject, None)?;
        let Some(sc) = sv.as_const().cloned() else {
            return self.err(subject.span, "'inline if … == {…}' needs a subject known at compile time");
        };
        for arm in arms {
            if arm.capture.is_some() {
                return self.err(arm.span, "not supported yet: a payload capture in an 'inline if' arm");
            }
            let mut chosen = false;
            for p in &arm.patterns {
                if self.inline_pattern_matches(&sc, sv.ty, p)? {
                    chosen = true;
                    break;
                }
            }
            if chosen {
                return self.block_value(&arm.body, expected);
            }
        }
        match else_ {
            Some(b) => self.block_value(b, expected),
            None => {
                let _ = span;
                Ok(TV::void())
            }
        }
    }

    fn inline_pattern_matches(&mut self, subject: &ConstVal, sty: TypeId, p: &Expr) -> R<bool> {
        if let ConstVal::Type(t) = subject {
            let t = *t;
            if let ExprKind::Ident(id) = &p.kind {
                if !id.raw && id.name == "protocol" {
                    return Ok(self.c.is_protocol(t));
                }
            }
            return self.type_matches_pattern(t, p);
        }
        let pv = self.expr(p, Some(sty))?;
        match pv.as_const() {
            Some(c) => Ok(consts_equal(subject, c)),
            None => self.err(p.span, "an 'inline if' pattern must be a compile-time constant"),
        }
    }

    /// `#error("message")`: a compile error at this point of the lowering.
    pub(crate) fn error_directive(&mut self, args: Option<&[Arg]>, span: Span) -> R<TV> {
        let msg = match args.and_then(|a| a.first()) {
            Some(a) => match self.expr(&a.value, None)?.as_const() {
                Some(ConstVal::Str(s)) => String::from_utf8_lossy(s).into_owned(),
                _ => return self.err(a.value.span, "#error needs a string message"),
            },
            None => "#error".to_string(),
        };
        // Inside a generic instance the user's call is what selected this arm: report there.
        if let Some(site) = self.c.lowering.and_then(|f| self.c.inst.instance_sites.get(&f).copied()) {
            self.c.diags.push(Diagnostic::error(site, msg).with_located_note(span, "raised by '#error' here"));
            return Err(());
        }
        self.err(span, msg)
    }
}

/// Equality of two folded constants (integers compare by value whatever their typing).
fn consts_equal(a: &ConstVal, b: &ConstVal) -> bool {
    match (a, b) {
        (ConstVal::Int { v: x, .. }, ConstVal::Int { v: y, .. }) => x == y,
        (ConstVal::Float { v: x, .. }, ConstVal::Float { v: y, .. }) => x == y,
        _ => a == b,
    }
}
