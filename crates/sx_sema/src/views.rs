//! Borrowed protocol views `*P` and optional protocol targets `?P` / `?*P`.
//!
//! A view is a pointer to a protocol value whose `ctx` borrows existing storage: at a
//! `*P`-typed position (parameter, annotated local, assignment target) a concrete lvalue lends
//! its own address and a pointer to a concrete value lends its pointee; the `{ctx, __type_id,
//! vtable}` record the view points at lives in a stack slot of the function that builds it. An
//! owned protocol value lends a view by plain address-of (`*s`). A temporary has no durable
//! storage to borrow and is refused.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// The protocol a view type `*P` (or `?*P`) borrows, with whether it is optional.
    fn view_protocol(&self, to: TypeId) -> Option<(TypeId, bool)> {
        let (inner, optional) = match self.c.types.optional_inner(to) {
            Some(i) => (i, true),
            None => (to, false),
        };
        match self.c.types.kind(inner) {
            TK::Pointer(p) if self.c.is_protocol(*p) && !self.c.is_protocol_family(*p) => Some((*p, optional)),
            _ => None,
        }
    }

    /// True for a type a view can borrow: neither a protocol, a pointer nor an optional.
    fn is_view_source(&self, t: TypeId) -> bool {
        !self.c.is_protocol(t) && !self.c.types.is_pointer_like(t) && self.c.types.optional_inner(t).is_none() && t != bt::ANY
    }

    /// `e` at a `to` position where `to` is a view `*P` / `?*P` and `e` names storage of a
    /// concrete type: the view of that storage (`None` when the rule does not apply).
    pub(crate) fn view_of_place(&mut self, e: &Expr, to: TypeId) -> R<Option<TV>> {
        let Some((_, _)) = self.view_protocol(to) else { return Ok(None) };
        if !matches!(e.kind, ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::Index { .. } | ExprKind::Deref(_)) {
            return Ok(None);
        }
        let Some((addr, ty)) = self.place_opt(e, false)? else { return Ok(None) };
        if !self.is_view_source(ty) {
            // Not a concrete lvalue: the ordinary conversion applies to its value.
            let v = self.load(addr, ty);
            return self.coerce(v, to, e.span).map(Some);
        }
        let pty = self.c.types.pointer(ty);
        self.view_from_pointer(TV { ty: pty, v: V::Scalar(addr) }, to, e.span).map(Some)
    }

    /// The view `to` (`*P` / `?*P`) of the value `ptr` (a `*C`) points at.
    fn view_from_pointer(&mut self, ptr: TV, to: TypeId, span: Span) -> R<TV> {
        let Some((p, optional)) = self.view_protocol(to) else { return self.err(span, "a protocol view expected") };
        let erased = self.erase_to_protocol(ptr, p, span)?;
        let V::Mem(record) = erased.v else { return self.err(span, "a protocol value expected") };
        let view_ty = self.c.types.pointer(p);
        let view = TV { ty: view_ty, v: V::Scalar(record) };
        if optional {
            return self.opt_wrap(view, to, span);
        }
        Ok(view)
    }

    /// True when `v.(to)` makes an owned protocol value: `to` is a protocol and `v` a concrete
    /// value, a pointer to one, or a view `*to`.
    pub(crate) fn is_owned_erasure(&self, v: &TV, to: TypeId) -> bool {
        if !self.c.is_protocol(to) || self.c.is_protocol_family(to) {
            return false;
        }
        match self.c.types.kind(v.ty) {
            TK::Pointer(inner) => *inner == to || self.is_view_source(*inner),
            _ => self.is_view_source(v.ty),
        }
    }

    /// Implicit conversions into protocol views and optional protocols: `*C` → `*P` / `?*P`
    /// (the view of the pointee), a concrete value → `?P` (erased, then present). A concrete
    /// temporary at a view position is refused. `None` when no such conversion applies.
    pub(crate) fn coerce_to_view(&mut self, tv: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        if let Some((p, _)) = self.view_protocol(to) {
            if let TK::Pointer(c) = self.c.types.kind(tv.ty).clone() {
                if self.is_view_source(c) {
                    return self.view_from_pointer(tv.clone(), to, span).map(Some);
                }
                return Ok(None);
            }
            if self.is_view_source(tv.ty) && tv.as_const().is_none() {
                let msg = format!(
                    "cannot view a temporary '{}' as '*{}': a view borrows storage and a temporary has none — bind it to a name first, or erase an owned copy with '.({})'",
                    self.tname(tv.ty),
                    self.tname(p),
                    self.tname(p)
                );
                return self.err(span, msg);
            }
            return Ok(None);
        }
        let Some(inner) = self.c.types.optional_inner(to) else { return Ok(None) };
        if !self.c.is_protocol(inner) || self.c.is_protocol_family(inner) {
            return Ok(None);
        }
        let from = tv.ty;
        let source = match self.c.types.kind(from) {
            TK::Pointer(c) => *c,
            _ => from,
        };
        if !self.is_view_source(source) || tv.as_const().is_some_and(|c| matches!(c, ConstVal::Null)) {
            return Ok(None);
        }
        let erased = self.erase_to_protocol(tv.clone(), inner, span)?;
        self.opt_wrap(erased, to, span).map(Some)
    }
}
