//! Optionals `?T`: wrapping, presence tests, unwrapping, `??`, `?.`, bindings and narrowing.
//!
//! Layout (from `sx_types`): a pointer-like `T` gives a nullable pointer (null = absent);
//! otherwise `{payload: T, present: u8}` with the flag right after the payload.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{IntCC, Type as IrType, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// True when `?T` is represented as a bare nullable pointer.
    pub fn opt_is_ptr(&self, opt: TypeId) -> bool {
        self.c.types.optional_inner(opt).map(|t| self.c.types.is_pointer_like(t)).unwrap_or(false)
    }

    /// The absent value of optional type `opt`.
    pub fn opt_none(&mut self, opt: TypeId, span: Span) -> R<TV> {
        if self.opt_is_ptr(opt) {
            return Ok(TV { ty: opt, v: V::Const(ConstVal::Null) });
        }
        let s = self.slot_for(opt);
        let a = self.slot_addr(s);
        self.init_default(a, opt, span)?;
        Ok(TV { ty: opt, v: V::Mem(a) })
    }

    /// `T` → `?T` (present).
    pub fn opt_wrap(&mut self, tv: TV, opt: TypeId, span: Span) -> R<TV> {
        if self.opt_is_ptr(opt) {
            return Ok(TV { ty: opt, ..tv });
        }
        let inner = self.c.types.optional_inner(opt).unwrap_or(bt::VOID);
        let s = self.slot_for(opt);
        let a = self.slot_addr(s);
        self.init_default(a, opt, span)?;
        self.store(a, tv, span)?;
        let off = self.c.types.size_of(inner) as i32;
        let one = self.iconst(IrType::I8, 1);
        self.b(|b| b.store(a, off, one));
        Ok(TV { ty: opt, v: V::Mem(a) })
    }

    /// An I8 that is 1 when the optional `tv` holds a value.
    pub fn opt_present(&mut self, tv: TV, span: Span) -> R<Value> {
        let opt = tv.ty;
        if let Some(ConstVal::Null) = tv.as_const() {
            return Ok(self.iconst(IrType::I8, 0));
        }
        let tv = self.materialize(tv, span)?;
        if self.opt_is_ptr(opt) {
            let v = self.scalar(tv, span)?;
            let irt = self.e.f.values[v].ty;
            let z = self.iconst(irt, 0);
            return Ok(self.b(|b| b.icmp(IntCC::Ne, v, z)));
        }
        let inner = self.c.types.optional_inner(opt).unwrap_or(bt::VOID);
        let V::Mem(a) = tv.v else { return self.err(span, "optional value expected") };
        let off = self.c.types.size_of(inner) as i32;
        Ok(self.b(|b| b.load(IrType::I8, a, off)))
    }

    /// The payload of optional `tv` (unchecked).
    pub fn opt_payload(&mut self, tv: TV, span: Span) -> R<TV> {
        let opt = tv.ty;
        let inner = self.c.types.optional_inner(opt).unwrap_or(bt::VOID);
        let tv = self.materialize(tv, span)?;
        if self.opt_is_ptr(opt) {
            return Ok(TV { ty: inner, ..tv });
        }
        let V::Mem(a) = tv.v else { return self.err(span, "optional value expected") };
        Ok(self.load(a, inner))
    }

    /// `x!`: the payload, or a located panic when absent.
    pub fn opt_unwrap(&mut self, tv: TV, span: Span) -> R<TV> {
        if self.c.types.optional_inner(tv.ty).is_none() {
            let msg = format!("'!' unwraps an optional, but this is '{}'", self.tname(tv.ty));
            return self.err(span, msg);
        }
        let tv = self.materialize(tv, span)?;
        let tv = self.spill(tv, span)?;
        let p = self.opt_present(tv.clone(), span)?;
        self.panic_unless(p, span, "unwrap of a null optional");
        self.opt_payload(tv, span)
    }

    /// Branches on the optional `v` (in memory): continues in a new block where it is present,
    /// with its payload; returns that payload and the block taken when it is null.
    pub(crate) fn split_optional(&mut self, v: TV, span: Span) -> R<(TV, sx_ir::Block)> {
        let present = self.opt_present(v.clone(), span)?;
        let yes = self.new_block();
        let no = self.new_block();
        self.b(|b| b.branch(present, yes, vec![], no, vec![]));
        self.switch(yes);
        let pv = self.opt_payload(v, span)?;
        Ok((pv, no))
    }

    /// `a ?? b`.
    pub fn coalesce(&mut self, lhs: &Expr, rhs: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let want = expected.map(|t| self.c.types.optional(t));
        let l = self.expr(lhs, want)?;
        let Some(inner) = self.c.types.optional_inner(l.ty) else {
            let msg = format!("'??' needs an optional on its left, found '{}'", self.tname(l.ty));
            return self.err(lhs.span, msg);
        };
        let l = self.materialize(l, lhs.span)?;
        let l = self.spill(l, lhs.span)?;
        let (pv, no) = self.split_optional(l.clone(), lhs.span)?;
        let yes_end = self.e.cur;
        self.switch(no);
        let r = self.expr(rhs, Some(inner))?;
        self.check_tuple_fallback(inner, &r, rhs.span)?;
        // `a ?? b` with an optional fallback stays optional.
        if r.ty == l.ty && r.ty != inner {
            let no_end = self.e.cur;
            self.switch(yes_end.expect("block"));
            let wrapped = self.opt_wrap(pv, l.ty, lhs.span)?;
            let yes_end = self.e.cur;
            return self.join(vec![(yes_end, wrapped, lhs.span), (no_end, r, rhs.span)], Some(l.ty), span);
        }
        let no_end = self.e.cur;
        self.join(vec![(yes_end, pv, lhs.span), (no_end, r, rhs.span)], Some(inner), span)
    }

    /// `x?.field`: `?F` (or `F` when the field is itself optional).
    pub fn opt_field(&mut self, base: &Expr, name: &Ident, span: Span) -> R<TV> {
        let mut bv = self.expr(base, None)?;
        let narrowed = matches!(&base.kind, ExprKind::Ident(id) if self.lookup_local(&id.name).is_some());
        if self.c.types.optional_inner(bv.ty).is_none() && narrowed && self.c.types.struct_of(self.deref_ptr(bv.ty)).is_some() {
            // A local narrowed by a null guard keeps the optional shape of `?.`.
            let oty = self.c.types.optional(bv.ty);
            bv = self.opt_wrap(bv, oty, base.span)?;
        }
        let Some(inner) = self.c.types.optional_inner(bv.ty) else {
            let msg = format!("'?.' needs an optional, found '{}'", self.tname(bv.ty));
            return self.err(base.span, msg);
        };
        let bv = self.materialize(bv, base.span)?;
        let bv = self.spill(bv, base.span)?;
        let target = match self.c.types.kind(inner).clone() {
            TK::Pointer(p) => p,
            _ => inner,
        };
        let field = self.field_of(target, &name.name);
        let getter = match field {
            Some(_) => None,
            None => match self.c.struct_member(target, &name.name)? {
                Some(ConstVal::Func(fid)) if self.c.fns[fid].decl.attrs.get => Some(fid),
                _ => {
                    let msg = format!("type '{}' has no field '{}'", self.tname(target), name.name);
                    return self.err(name.span, msg);
                }
            },
        };
        let (pv, no) = self.split_optional(bv.clone(), base.span)?;
        let addr = match (pv.v, self.c.types.kind(inner).clone()) {
            (V::Scalar(p), TK::Pointer(_)) => p,
            (V::Mem(a), _) => a,
            _ => return self.err(span, "cannot access a field of this optional"),
        };
        let fv = match (field, getter) {
            (Some((off, fty)), _) => {
                let fa = self.offset_addr(addr, off as i64);
                self.load(fa, fty)
            }
            (None, Some(fid)) => self.call_getter(fid, addr, target, span)?,
            (None, None) => return Err(()),
        };
        let fty = fv.ty;
        let result_ty = if self.c.types.optional_inner(fty).is_some() { fty } else { self.c.types.optional(fty) };
        let fv = if fty == result_ty { fv } else { self.opt_wrap(fv, result_ty, span)? };
        let yes_end = self.e.cur;
        self.switch(no);
        let none = self.opt_none(result_ty, span)?;
        let no_end = self.e.cur;
        self.join(vec![(yes_end, fv, span), (no_end, none, span)], Some(result_ty), span)
    }

    /// `a?.f[i]`: indexes the optional chain's value when present (the result is `?E`), else
    /// the whole expression is `null`.
    pub(crate) fn opt_index(&mut self, base: &Expr, index: &Expr, span: Span) -> R<TV> {
        let bv = self.expr(base, None)?;
        if self.c.types.optional_inner(bv.ty).is_none() {
            let msg = format!("'?.' needs an optional, found '{}'", self.tname(bv.ty));
            return self.err(base.span, msg);
        }
        let bv = self.materialize(bv, base.span)?;
        let bv = self.spill(bv, base.span)?;
        let (pv, no) = self.split_optional(bv.clone(), base.span)?;
        let (pty, tmp) = (pv.ty, format!("\u{0}optindex{}", self.c.fresh()));
        let s = self.slot_for(pty);
        let sa = self.slot_addr(s);
        self.store(sa, pv, span)?;
        self.push_scope();
        self.bind(&tmp, Local::Var { slot: s, ty: pty, by_ref: false, readonly: true });
        let target = Expr::new(ExprKind::Ident(Ident { name: tmp, span: base.span, raw: true }), base.span);
        let indexed = Expr::new(ExprKind::Index { base: Box::new(target), index: Box::new(index.clone()) }, span);
        let ev = self.expr(&indexed, None);
        self.scopes.pop();
        let ev = ev?;
        let result_ty = if self.c.types.optional_inner(ev.ty).is_some() { ev.ty } else { self.c.types.optional(ev.ty) };
        let ev = if ev.ty == result_ty { ev } else { self.opt_wrap(ev, result_ty, span)? };
        let yes_end = self.e.cur;
        self.switch(no);
        let none = self.opt_none(result_ty, span)?;
        let no_end = self.e.cur;
        self.join(vec![(yes_end, ev, span), (no_end, none, span)], Some(result_ty), span)
    }

    /// `t`, or what a single-item pointer type points to.
    fn deref_ptr(&self, t: TypeId) -> TypeId {
        match *self.c.types.kind(t) {
            TK::Pointer(p) => p,
            _ => t,
        }
    }

    /// Stops the program with a located message when `ok` is 0 (natively and on the VM alike).
    pub fn panic_unless(&mut self, ok: Value, span: Span, what: &str) {
        let good = self.new_block();
        let bad = self.new_block();
        self.b(|b| b.branch(ok, good, vec![], bad, vec![]));
        self.switch(bad);
        let msg = format!("{}: panic: {}\n", self.c.sources.location(span), what);
        let d = self.c.string_bytes_data(msg.as_bytes());
        let p = self.ptr_ty();
        let write = self
            .c
            .module
            .declare_extern("write", sx_ir::Signature { params: vec![IrType::I32, p, IrType::I64], returns: vec![IrType::I64] });
        let exit = self.c.module.declare_extern("_exit", sx_ir::Signature { params: vec![IrType::I32], returns: vec![] });
        let n = msg.len() as i64;
        self.b(|b| {
            let fd = b.iconst(IrType::I32, 2);
            let m = b.data_addr(d, p);
            let l = b.iconst(IrType::I64, n);
            b.call_extern(write, vec![fd, m, l], &[IrType::I64]);
            let one = b.iconst(IrType::I32, 1);
            b.call_extern(exit, vec![one], &[]);
            b.trap(sx_ir::TrapCode::Unreachable);
        });
        self.switch(good);
    }

    /// `name := value` binding of a condition: returns the presence test and binds `name` to the
    /// payload in a new scope (the caller pops it).
    pub fn bind_condition(&mut self, name: &Ident, value: &Expr) -> R<(Value, TV)> {
        self.c.check_reserved(name)?;
        let v = self.expr(value, None)?;
        if self.c.types.optional_inner(v.ty).is_none() {
            let msg = format!("'{} :=' in a condition needs an optional, found '{}'", name.name, self.tname(v.ty));
            return self.err(value.span, msg);
        }
        let v = self.materialize(v, value.span)?;
        let v = self.spill(v, value.span)?;
        let p = self.opt_present(v.clone(), value.span)?;
        Ok((p, v))
    }

    /// Binds `name` to the payload of optional `opt` (a read-only copy).
    pub fn bind_payload(&mut self, name: &Ident, opt: TV) -> R<()> {
        let pv = self.opt_payload(opt, name.span)?;
        let ty = pv.ty;
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        self.store(a, pv, name.span)?;
        self.bind(&name.name, Local::Var { slot: s, ty, by_ref: false, readonly: true });
        Ok(())
    }

    /// The optional local variables that `cond` tests against `null` (`x != null`, `x == null`,
    /// or a bare `x`), with `true` when the test means "present". Tests joined by `and` (all
    /// present) or by `or` (any absent) narrow every local they name.
    pub fn narrowing_target(&mut self, cond: &Expr) -> Option<(Vec<String>, bool)> {
        let (e, present) = match &cond.kind {
            ExprKind::Binary { op: op @ (BinOp::And | BinOp::Or), lhs, rhs } => {
                let (mut a, pa) = self.narrowing_target(lhs)?;
                let (b, pb) = self.narrowing_target(rhs)?;
                // `a != null and b != null` proves both inside; `a == null or b == null` proves both after.
                if pa != pb || pa != (*op == BinOp::And) {
                    return None;
                }
                a.extend(b);
                return Some((a, pa));
            }
            ExprKind::Binary { op: BinOp::Ne, lhs, rhs } if matches!(rhs.kind, ExprKind::Null) => (&**lhs, true),
            ExprKind::Binary { op: BinOp::Eq, lhs, rhs } if matches!(rhs.kind, ExprKind::Null) => (&**lhs, false),
            ExprKind::Ident(_) => (cond, true),
            _ => return None,
        };
        let ExprKind::Ident(id) = &e.kind else { return None };
        match self.lookup_local(&id.name) {
            Some(Local::Var { ty, .. }) if self.c.types.optional_inner(ty).is_some() => Some((vec![id.name.clone()], present)),
            _ => None,
        }
    }

    /// Rebinds optional local `name` as its payload type in the current scope (flow narrowing).
    /// The payload sits at offset 0 of the optional, so the slot (or, for a by-reference
    /// parameter, the pointer in it) is shared.
    pub fn narrow(&mut self, name: &str) {
        if let Some(Local::Var { slot, ty, by_ref, readonly }) = self.lookup_local(name) {
            if let Some(inner) = self.c.types.optional_inner(ty) {
                self.bind(name, Local::Var { slot, ty: inner, by_ref, readonly });
                if let Some(sc) = self.scopes.last_mut() {
                    sc.narrowed.insert(name.to_string(), Local::Var { slot, ty, by_ref, readonly });
                }
            }
        }
    }

    /// The optional binding of `name` when the visible `name` is a narrowing of it.
    pub(crate) fn narrowed_from(&self, name: &str) -> Option<Local> {
        let sc = self.scopes.iter().rev().find(|sc| sc.names.contains_key(name))?;
        let Some(Local::Var { slot, ty, .. }) = sc.names.get(name) else { return None };
        match sc.narrowed.get(name) {
            Some(l @ Local::Var { slot: s, ty: t, .. }) if s == slot && self.c.types.optional_inner(*t) == Some(*ty) => Some(l.clone()),
            _ => None,
        }
    }

    /// Assigning to a narrowed optional local ends the narrowing: `name` is bound again to its
    /// optional type (same storage), so the assignment writes the whole optional.
    pub(crate) fn end_narrowing(&mut self, lhs: &Expr) {
        let ExprKind::Ident(id) = &lhs.kind else { return };
        if let Some(l) = self.narrowed_from(&id.name) {
            self.bind(&id.name, l);
        }
    }

    /// True when `e` names an optional local narrowed to its payload (so `e!` is `e`).
    pub(crate) fn is_narrowed_local(&self, e: &Expr) -> bool {
        matches!(&e.kind, ExprKind::Ident(id) if self.narrowed_from(&id.name).is_some())
    }
}
