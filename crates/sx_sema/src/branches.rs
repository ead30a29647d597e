//! Value-producing control flow: `if` and `match` expressions and joining their arms.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{IntCC, Type as IrType, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    pub(crate) fn if_expr(&mut self, cond: &Cond, then: &Expr, else_: Option<&Expr>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let (t, bound, narrowed) = match cond {
            Cond::Expr(c) => {
                let cv = self.expr(c, Some(bt::BOOL))?;
                (self.truth(cv, c.span)?, None, self.narrowing_target(c))
            }
            Cond::Bind { name, value } => {
                let (p, opt) = self.bind_condition(name, value)?;
                (p, Some((name.clone(), opt)), None)
            }
        };
        let tb = self.new_block();
        let eb = self.new_block();
        self.b(|b| b.branch(t, tb, vec![], eb, vec![]));
        let r = self.if_arms(tb, eb, then, else_, expected, span, narrowed.clone(), bound, Some(cond))?;
        // `if x == null { return; }` narrows `x` for the rest of the block.
        if let Some((names, false)) = &narrowed {
            if else_.is_none() && matches!(r.1, Some(true)) {
                names.iter().for_each(|n| self.narrow(n));
            }
        }
        // `if err { return; }` proves `err` absent for the rest of the block.
        if let (Cond::Expr(c), None, Some(true)) = (cond, else_, r.1) {
            let proven = self.absent_errors(c, false);
            self.prove_absent(proven);
        }
        Ok(r.0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn if_arms(
        &mut self,
        tb: sx_ir::Block,
        eb: sx_ir::Block,
        then: &Expr,
        else_: Option<&Expr>,
        expected: Option<TypeId>,
        span: Span,
        narrowed: Option<(Vec<String>, bool)>,
        bound: Option<(Ident, TV)>,
        cond: Option<&Cond>,
    ) -> R<(TV, Option<bool>)> {
        let cond = match cond {
            Some(Cond::Expr(c)) => Some(c),
            _ => None,
        };
        // The then-branch sees the payload (binding or narrowing) in its own scope.
        let then_scope = |cx: &mut Self| -> R<()> {
            cx.switch(tb);
            cx.push_scope();
            if let Some((name, opt)) = &bound {
                cx.bind_payload(name, opt.clone())?;
            }
            if let Some((names, true)) = &narrowed {
                names.iter().for_each(|n| cx.narrow(n));
            }
            if let Some(c) = cond {
                let proven = cx.absent_errors(c, true);
                cx.prove_absent(proven);
            }
            Ok(())
        };
        let Some(else_) = else_ else {
            if let Some(exp) = expected {
                if exp != bt::VOID && exp != bt::TYPE {
                    return self.err(span, "an 'if' used as a value needs an 'else' branch");
                }
            }
            then_scope(self)?;
            let r = self.expr(then, None);
            self.scopes.pop();
            r?;
            let then_diverges = self.terminated();
            self.jump(eb);
            self.switch(eb);
            return Ok((TV::void(), Some(then_diverges)));
        };
        let mut arms = vec![];
        then_scope(self)?;
        // A failed then-branch does not hide the errors of the else-branch.
        let tv = self.recovering(|cx| cx.expr(then, expected));
        self.scopes.pop();
        let then_failed = tv.is_err();
        if let Ok(tv) = tv {
            arms.push((self.e.cur, tv, then.span));
        }
        self.switch(eb);
        // The else-branch of `if x == null` sees `x` narrowed.
        self.push_scope();
        if let Some((names, false)) = &narrowed {
            names.iter().for_each(|n| self.narrow(n));
        }
        if let Some(c) = cond {
            let proven = self.absent_errors(c, false);
            self.prove_absent(proven);
        }
        let ev = self.expr(else_, expected);
        self.scopes.pop();
        let ev = ev?;
        if then_failed {
            return Err(());
        }
        arms.push((self.e.cur, ev, else_.span));
        Ok((self.join(arms, expected, span)?, None))
    }

    /// Merges the values of several arms (each ending in its block) into one value.
    pub fn join(&mut self, arms: Vec<(Option<sx_ir::Block>, TV, Span)>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let live: Vec<&(Option<sx_ir::Block>, TV, Span)> = arms.iter().filter(|(_, v, _)| !matches!(v.v, V::Never)).collect();
        let join = self.new_block();
        if live.is_empty() {
            self.switch(join);
            return Ok(TV::never());
        }
        let ty = match expected.filter(|t| *t != bt::TYPE && *t != bt::VOID) {
            Some(t) => t,
            None => {
                let mut ty: Option<TV> = None;
                let is_null = |v: &TV| matches!(v.v, V::Const(ConstVal::Null)) && v.ty == bt::VOID;
                let has_null = live.iter().any(|(_, v, _)| is_null(v));
                for (_, v, s) in live.iter().filter(|(_, v, _)| !is_null(v)) {
                    ty = Some(match ty {
                        None => (*v).clone(),
                        Some(prev) => {
                            if self.c.types.is_numeric(prev.ty) && self.c.types.is_numeric(v.ty)
                                || prev.as_const().map(|c| c.is_untyped()).unwrap_or(false)
                            {
                                let u = self.unify(&prev, v, *s)?;
                                let untyped = prev.as_const().map(|c| c.is_untyped()).unwrap_or(false)
                                    && v.as_const().map(|c| c.is_untyped()).unwrap_or(false);
                                TV { ty: u, v: if untyped { prev.v.clone() } else { V::Void } }
                            } else {
                                prev
                            }
                        }
                    });
                }
                match ty.map(|t| t.ty) {
                    // `if c { 5 } else { null }`: a `null` arm makes the value optional.
                    Some(t)
                        if has_null && t != bt::VOID && !self.c.types.is_pointer_like(t) && self.c.types.optional_inner(t).is_none() =>
                    {
                        self.c.types.optional(t)
                    }
                    Some(t) => t,
                    None => bt::VOID,
                }
            }
        };
        let void_arm = live.iter().any(|(_, v, _)| v.ty == bt::VOID && !(matches!(v.v, V::Const(ConstVal::Null)) && ty != bt::VOID));
        if ty == bt::VOID || void_arm {
            let yields = |v: &TV| v.ty != bt::VOID || matches!(v.v, V::Const(ConstVal::Null));
            if live.iter().any(|(_, v, _)| yields(v)) {
                self.void_arm = live.iter().find(|(_, v, _)| !yields(v)).map(|(_, _, s)| *s);
            }
            for (blk, _, _) in &arms {
                if let Some(b) = blk {
                    self.switch(*b);
                    self.jump(join);
                }
            }
            self.switch(join);
            return Ok(TV::void());
        }
        let s = self.slot_for(ty);
        for (blk, v, sp) in arms {
            if matches!(v.v, V::Never) {
                continue;
            }
            if let Some(b) = blk {
                self.switch(b);
                if self.terminated() {
                    continue;
                }
                let v = self.coerce(v, ty, sp)?;
                let a = self.slot_addr(s);
                self.store(a, v, sp)?;
                self.jump(join);
            }
        }
        self.switch(join);
        let _ = span;
        let a = self.slot_addr(s);
        Ok(self.load(a, ty))
    }

    /// Binds a match-arm capture to the `ty` value at `addr`: a read-only copy for `(v)`, a
    /// pointer to it for `(*v)`.
    pub(crate) fn bind_capture(&mut self, cap: &Capture, addr: Value, ty: TypeId) -> R<()> {
        self.c.check_reserved(&cap.name)?;
        let (bty, v) = if cap.by_ref {
            let pty = self.c.types.pointer(ty);
            (pty, TV { ty: pty, v: V::Scalar(addr) })
        } else {
            (ty, self.load(addr, ty))
        };
        let sl = self.slot_for(bty);
        let sa = self.slot_addr(sl);
        self.store(sa, v, cap.name.span)?;
        self.bind(&cap.name.name, Local::Var { slot: sl, ty: bty, by_ref: false, readonly: true });
        Ok(())
    }

    pub(crate) fn match_expr(
        &mut self,
        subject: &Expr,
        arms: &[MatchArm],
        else_: Option<&Block>,
        expected: Option<TypeId>,
        span: Span,
    ) -> R<TV> {
        let sv = self.expr(subject, None)?;
        if self.c.is_protocol(sv.ty) {
            // A type switch on a protocol value reads its concrete type like an `any`'s.
            let m = self.materialize(sv, subject.span)?;
            let m = self.spill(m, subject.span)?;
            return self.match_types(TV { ty: bt::ANY, v: m.v }, arms, else_, expected, span);
        }
        if sv.ty == bt::ANY || sv.ty == bt::TYPE {
            return self.match_types(sv, arms, else_, expected, span);
        }
        if self.c.types.optional_inner(sv.ty).is_some() {
            return self.match_optional(sv, arms, else_, expected, span);
        }
        let sv = if sv.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(sv.clone(), sv.ty, span)? } else { sv };
        let mut sty = sv.ty;
        let mut sv = sv;
        // Through a pointer to an enum or an integer.
        if let TK::Pointer(inner) = self.c.types.kind(sty).clone() {
            if matches!(self.c.types.kind(inner), TK::Enum(_)) || self.c.types.is_int(inner) || inner == bt::BOOL {
                let p = self.scalar(sv, subject.span)?;
                sv = self.load(p, inner);
                sty = inner;
            }
        }
        if !(self.c.types.is_int(sty) || sty == bt::BOOL || matches!(self.c.types.kind(sty), TK::Enum(_)) || self.c.types.is_error_set(sty))
        {
            let msg = format!("not supported yet: matching on a value of type '{}'", self.tname(sty));
            return self.err(subject.span, msg);
        }
        let tagged = self.c.types.is_tagged_enum(sty);
        let sv = self.materialize(sv, subject.span)?;
        let sv = if tagged { self.spill(sv, subject.span)? } else { sv };
        let subj_addr = match sv.v {
            V::Mem(a) => Some(a),
            _ => None,
        };
        let s = if tagged {
            let backing = self.c.types.enum_of(sty).map(|e| e.backing).unwrap_or(bt::I64);
            let irt = self.c.types.scalar(backing).unwrap_or(IrType::I64);
            let a = subj_addr.expect("tagged subject in memory");
            self.b(|b| b.load(irt, a, 0))
        } else {
            self.scalar(sv, subject.span)?
        };
        let join_expected = expected;
        let mut results = vec![];
        let end = self.new_block();
        let mut covered: Vec<&str> = vec![];
        let mut failed = false;
        for arm in arms {
            covered.extend(arm.patterns.iter().filter_map(|p| match &p.kind {
                ExprKind::EnumLit(id) => Some(id.name.as_str()),
                _ => None,
            }));
            if arm.capture.is_some() && !tagged {
                return self.err(arm.span, "only tagged-union variants carry a payload to capture");
            }
            let body_b = self.new_block();
            let mut next = self.new_block();
            let mut captured: Option<(u64, TypeId)> = None;
            for (k, p) in arm.patterns.iter().enumerate() {
                let pvv = if tagged {
                    let ExprKind::EnumLit(id) = &p.kind else {
                        return self.err(p.span, "a tagged-union 'case' needs a '.variant' pattern");
                    };
                    let (value, payload) = self.variant_info(sty, id)?;
                    if let Some(pt) = payload {
                        let off = self.c.types.enum_of(sty).map(|e| e.payload_offset).unwrap_or(0);
                        captured = Some((off, pt));
                    }
                    let irt = self.e.f.values[s].ty;
                    self.iconst(irt, value as i64)
                } else {
                    let pv = self.expr(p, Some(sty))?;
                    let pv = self.coerce(pv, sty, p.span)?;
                    if pv.as_const().is_none() {
                        return self.err(p.span, "a 'case' pattern must be a compile-time constant");
                    }
                    self.scalar(pv, p.span)?
                };
                let c = self.b(|b| b.icmp(IntCC::Eq, s, pvv));
                if k + 1 < arm.patterns.len() {
                    let more = self.new_block();
                    self.b(|b| b.branch(c, body_b, vec![], more, vec![]));
                    self.switch(more);
                } else {
                    self.b(|b| b.branch(c, body_b, vec![], next, vec![]));
                }
            }
            if arm.patterns.is_empty() {
                self.jump(next);
                next = self.new_block();
            }
            self.switch(body_b);
            self.push_scope();
            if let Some(cap) = &arm.capture {
                let Some((off, pt)) = captured else {
                    return self.err(cap.name.span, "this variant has no payload to capture");
                };
                let a = subj_addr.expect("tagged subject in memory");
                let pa = self.offset_addr(a, off as i64);
                self.bind_capture(cap, pa, pt)?;
            }
            // A failed arm does not hide the errors of the arms after it.
            let v = self.recovering(|cx| cx.block_value(&arm.body, join_expected));
            self.scopes.pop();
            match v {
                Ok(v) => results.push((self.e.cur, v, arm.body.span)),
                Err(()) => failed = true,
            }
            self.switch(next);
        }
        if failed {
            return Err(());
        }
        let exhaustive =
            self.c.types.enum_of(sty).map(|e| !e.variants.is_empty() && e.variants.iter().all(|v| covered.contains(&v.name.as_str())));
        if else_.is_none() && exhaustive == Some(true) {
            return self.finish_exhaustive_match(results, join_expected, end, span);
        }
        self.finish_match(results, else_, join_expected, end, span)
    }

    /// `if opt == { case .some: (v) … case .none: … }`.
    pub(crate) fn match_optional(
        &mut self,
        sv: TV,
        arms: &[MatchArm],
        else_: Option<&Block>,
        expected: Option<TypeId>,
        span: Span,
    ) -> R<TV> {
        let sv = self.materialize(sv, span)?;
        let sv = self.spill(sv, span)?;
        let present = self.opt_present(sv.clone(), span)?;
        let mut results = vec![];
        let end = self.new_block();
        let (mut has_some, mut has_none) = (false, false);
        for arm in arms {
            let body_b = self.new_block();
            let next = self.new_block();
            let mut want_some = None;
            for p in &arm.patterns {
                match &p.kind {
                    ExprKind::EnumLit(id) if id.name == "some" => want_some = Some(true),
                    ExprKind::EnumLit(id) if id.name == "none" => want_some = Some(false),
                    ExprKind::Null => want_some = Some(false),
                    _ => return self.err(p.span, "an optional is matched with 'case .some:' or 'case .none:'"),
                }
            }
            has_some |= want_some == Some(true);
            has_none |= want_some == Some(false);
            match want_some {
                Some(true) => self.b(|b| b.branch(present, body_b, vec![], next, vec![])),
                Some(false) => self.b(|b| b.branch(present, next, vec![], body_b, vec![])),
                None => self.b(|b| b.jump(body_b, vec![])),
            }
            self.switch(body_b);
            self.push_scope();
            if let Some(cap) = &arm.capture {
                if want_some != Some(true) {
                    self.scopes.pop();
                    return self.err(cap.name.span, "only 'case .some:' has a payload to capture");
                }
                if self.c.check_reserved(&cap.name).is_err() {
                    self.scopes.pop();
                    return Err(());
                }
                self.bind_payload(&cap.name, sv.clone())?;
            }
            let v = self.block_value(&arm.body, expected);
            self.scopes.pop();
            let v = v?;
            results.push((self.e.cur, v, arm.body.span));
            self.switch(next);
        }
        if else_.is_none() && has_some && has_none {
            return self.finish_exhaustive_match(results, expected, end, span);
        }
        self.finish_match(results, else_, expected, end, span)
    }

    /// The common tail of value matches: the `else` arm (or an unreachable fall-through when
    /// a value is expected), the join of all arm values, and the block that `break` in an arm
    /// jumps to (`end`), which continues after the match.
    pub fn finish_match(
        &mut self,
        mut results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        else_: Option<&Block>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        match else_ {
            Some(b) => {
                let v = self.block_value(b, expected)?;
                results.push((self.e.cur, v, b.span));
            }
            None => {
                if expected.map(|t| t != bt::VOID).unwrap_or(false) {
                    // A value match without `else`: falling through is unreachable.
                    self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
                    results.push((self.e.cur, TV::never(), span));
                } else {
                    results.push((self.e.cur, TV::void(), span));
                }
            }
        }
        self.join_match_arms(results, expected, end, span)
    }

    /// A match without `else` whose arms name every variant of the subject's enum: falling
    /// through is unreachable, so the match has a value even where none is expected.
    pub(crate) fn finish_exhaustive_match(
        &mut self,
        mut results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
        results.push((self.e.cur, TV::never(), span));
        self.join_match_arms(results, expected, end, span)
    }

    /// Joins the arm values of a match and continues after it (at `end`, the target of
    /// `break` in an arm).
    pub(crate) fn join_match_arms(
        &mut self,
        results: Vec<(Option<sx_ir::Block>, TV, Span)>,
        expected: Option<TypeId>,
        end: sx_ir::Block,
        span: Span,
    ) -> R<TV> {
        let r = self.join(results, expected, span)?;
        let after = self.e.cur;
        self.switch(end);
        if let Some(a) = after {
            self.b(|b| b.jump(a, vec![]));
        }
        self.switch(after.unwrap_or(end));
        Ok(r)
    }
}
