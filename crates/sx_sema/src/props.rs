//! `#set` property writes: `obj.name = v` calls the struct's `name :: (self: *S, v: V) #set`
//! method, and `obj.name op= v` reads through the `#get` of the same name first. The receiver
//! is evaluated once. A setter is registered in the struct's members under [`setter_key`], so
//! it can share its name with a getter.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::Value;
use sx_types::TypeKind as TK;

impl FnCx<'_> {
    /// Lowers `lhs op= rhs` when `lhs` names a `#set` property; `Ok(false)` when it does not
    /// (the caller then lowers an ordinary store).
    pub(crate) fn property_assign(&mut self, op: AssignOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<bool> {
        let ExprKind::Field { base, name } = &lhs.kind else { return Ok(false) };
        let key = setter_key(&name.name);
        if !self.c.structs.values().any(|m| m.consts.contains_key(&key)) {
            return Ok(false);
        }
        if let Some(ConstVal::Namespace(_)) = self.resolve_path(base)? {
            return Ok(false);
        }
        let (addr, sty) = self.receiver_address(base)?;
        if let Some((off, fty)) = self.field_of(sty, &name.name) {
            // An ordinary field after all: store at its offset (the receiver is already evaluated).
            let fa = self.offset_addr(addr, off as i64);
            return self.store_compound(op, fa, fty, rhs, span).map(|_| true);
        }
        let Some(ConstVal::Func(setter)) = self.c.struct_member(sty, &key)? else {
            return self.no_field_pub(sty, name);
        };
        let vty = match self.c.fn_sig(setter)?.params.get(1) {
            Some(t) => *t,
            None => return self.err(name.span, format!("the #set accessor '{}' needs a value parameter", name.name)),
        };
        let value = if op == AssignOp::Assign {
            let v = self.expr(rhs, Some(vty))?;
            self.coerce(v, vty, rhs.span)?
        } else {
            let Some(ConstVal::Func(getter)) = self.c.struct_member(sty, &name.name)? else {
                return self.err(name.span, format!("'{}' has a #set accessor but no #get to read for '{}'", name.name, op_text_of(op)));
            };
            let cur = self.call_getter(getter, addr, sty, span)?;
            let r = self.expr(rhs, Some(cur.ty))?;
            let v = self.arith(compound_binop(op), cur, r, span)?;
            self.coerce(v, vty, span)?
        };
        let v = self.materialize(value, span)?;
        let v = self.spill(v, span)?;
        let arg_name = format!("\u{0}setarg{}", self.c.fresh());
        let s = self.slot_for(vty);
        let sa = self.slot_addr(s);
        self.store(sa, v, span)?;
        self.bind(&arg_name, Local::Var { slot: s, ty: vty, by_ref: false, readonly: true });
        let arg = Expr::new(ExprKind::Ident(Ident { name: arg_name, span, raw: true }), span);
        self.call_with_receiver_addr(setter, addr, sty, &[Arg { name: None, value: arg, spread: false, span }], span)?;
        Ok(true)
    }

    /// `a.p, b.q = x, y` where some target is a `#set` property: every value is computed
    /// first, then the targets are assigned left to right. `Ok(false)` when no target can be
    /// a property (the caller lowers the multi-assignment itself).
    pub(crate) fn multi_assign_properties(&mut self, lhs: &[Expr], rhs: &[Expr], span: Span) -> R<bool> {
        let is_property = |cx: &Self, e: &Expr| match &e.kind {
            ExprKind::Field { name, .. } => {
                let key = setter_key(&name.name);
                cx.c.structs.values().any(|m| m.consts.contains_key(&key))
            }
            _ => false,
        };
        if lhs.len() != rhs.len() || !lhs.iter().any(|l| is_property(self, l)) {
            return Ok(false);
        }
        let mut temps = vec![];
        for r in rhs {
            let v = self.expr(r, None)?;
            if matches!(v.v, V::Never) {
                return Ok(true);
            }
            let name = format!("\u{0}multi{}", self.c.fresh());
            if let V::Const(c) = &v.v {
                self.bind(&name, Local::Const(c.clone()));
            } else {
                let ty = v.ty;
                let v = self.materialize(v, r.span)?;
                let s = self.slot_for(ty);
                let sa = self.slot_addr(s);
                self.store(sa, v, r.span)?;
                self.bind(&name, Local::Var { slot: s, ty, by_ref: false, readonly: true });
            }
            temps.push(Expr::new(ExprKind::Ident(Ident { name, span: r.span, raw: true }), r.span));
        }
        for (l, t) in lhs.iter().zip(&temps) {
            self.assign_one(AssignOp::Assign, l, t, span)?;
        }
        Ok(true)
    }

    /// The address of the struct an assignment target's base names (through one pointer).
    fn receiver_address(&mut self, base: &Expr) -> R<(Value, TypeId)> {
        let (addr, ty) = match self.place_opt(base, true)? {
            Some(p) => p,
            None => {
                let v = self.expr(base, None)?;
                let ty = v.ty;
                match self.c.types.kind(ty) {
                    TK::Pointer(inner) => {
                        let inner = *inner;
                        return Ok((self.scalar(v, base.span)?, inner));
                    }
                    _ => {
                        let v = self.materialize(v, base.span)?;
                        let v = self.spill(v, base.span)?;
                        match v.v {
                            V::Mem(a) => (a, ty),
                            _ => return self.err(base.span, format!("cannot assign a property of a value of type '{}'", self.tname(ty))),
                        }
                    }
                }
            }
        };
        match self.c.types.kind(ty) {
            TK::Pointer(inner) => {
                let inner = *inner;
                let p = self.ptr_ty();
                Ok((self.b(|b| b.load(p, addr, 0)), inner))
            }
            _ => Ok((addr, ty)),
        }
    }

    /// `addr op= rhs` for a plain storage location of type `ty`.
    fn store_compound(&mut self, op: AssignOp, addr: Value, ty: TypeId, rhs: &Expr, span: Span) -> R<()> {
        if op == AssignOp::Assign {
            let v = self.expr(rhs, Some(ty))?;
            let v = self.coerce(v, ty, rhs.span)?;
            return self.store(addr, v, span);
        }
        let cur = self.load(addr, ty);
        let r = self.expr(rhs, Some(ty))?;
        let v = self.arith(compound_binop(op), cur, r, span)?;
        let v = self.coerce(v, ty, span)?;
        self.store(addr, v, span)
    }
}

fn op_text_of(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Assign => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
        AssignOp::Rem => "%=",
        AssignOp::BitAnd => "&=",
        AssignOp::BitOr => "|=",
        AssignOp::BitXor => "^=",
        AssignOp::Shl => "<<=",
        AssignOp::Shr => ">>=",
    }
}
