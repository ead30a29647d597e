//! Unary and binary operators: arithmetic, constant folding, logic, comparisons, casts.

use crate::consts::wrap_int;
use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
use crate::*;
use sx_ir::{BinOp as IB, FloatCC, IntCC, Type as IrType, UnOp as IU, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    pub(crate) fn unary(&mut self, op: UnOp, inner: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let v = self.expr(inner, expected.filter(|t| self.c.types.is_numeric(*t)))?;
        if let V::Const(c) = &v.v {
            let folded = match (op, c) {
                (UnOp::Neg, ConstVal::Int { v: x, ty }) => Some(ConstVal::Int {
                    v: match ty {
                        Some(t) => wrap_int(-x, self.c.types.int_bits(*t), self.c.types.is_signed(*t)),
                        None => -x,
                    },
                    ty: *ty,
                }),
                (UnOp::Neg, ConstVal::Float { v: x, ty }) => Some(ConstVal::Float { v: -x, ty: *ty }),
                (UnOp::Not, ConstVal::Bool(b)) => Some(ConstVal::Bool(!b)),
                (UnOp::BitNot, ConstVal::Int { v: x, ty: Some(t) }) => {
                    Some(ConstVal::Int { v: wrap_int(!x, self.c.types.int_bits(*t), self.c.types.is_signed(*t)), ty: Some(*t) })
                }
                (UnOp::BitNot, ConstVal::Int { v: x, ty: None }) => Some(ConstVal::Int { v: !x, ty: None }),
                _ => None,
            };
            if let Some(f) = folded {
                return Ok(TV { ty: f.ty(), v: V::Const(f) });
            }
        }
        let ty = v.ty;
        match op {
            UnOp::Neg if self.vector_shape(ty).is_some() => self.vector_negate(v, span),
            UnOp::Neg => {
                if !self.c.types.is_numeric(ty) {
                    return self.err(span, format!("cannot negate a value of type '{}'", self.tname(ty)));
                }
                let x = self.scalar(v, span)?;
                let r = if self.c.types.is_float(ty) { self.b(|b| b.unary(IU::Fneg, x)) } else { self.b(|b| b.unary(IU::Ineg, x)) };
                let r = self.fix_width(r, ty);
                Ok(TV { ty, v: V::Scalar(r) })
            }
            UnOp::Not => {
                if ty == bt::BOOL {
                    let x = self.scalar(v, span)?;
                    let one = self.iconst(IrType::I8, 1);
                    Ok(TV { ty, v: V::Scalar(self.b(|b| b.binary(IB::Xor, x, one))) })
                } else if self.c.types.is_int(ty) || self.c.types.is_pointer_like(ty) || self.c.types.is_error_set(ty) {
                    let x = self.scalar(v, span)?;
                    let irt = self.e.f.values[x].ty;
                    let z = self.iconst(irt, 0);
                    Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.icmp(IntCC::Eq, x, z))) })
                } else {
                    self.err(span, format!("operator '!' cannot be applied to a value of type '{}'", self.tname(ty)))
                }
            }
            UnOp::BitNot => {
                if !self.c.types.is_int(ty) {
                    return self.err(span, format!("operator '~' needs an integer, found '{}'", self.tname(ty)));
                }
                let x = self.scalar(v, span)?;
                let r = self.b(|b| b.unary(IU::Bnot, x));
                let r = self.fix_width(r, ty);
                Ok(TV { ty, v: V::Scalar(r) })
            }
        }
    }

    pub(crate) fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        match op {
            BinOp::Or => return self.or_expr(lhs, rhs, expected, span),
            BinOp::And => return self.logical(op, lhs, rhs, span),
            BinOp::Pipe => {
                let ExprKind::Call { callee, args, .. } = &rhs.kind else {
                    return self.err(rhs.span, "the right side of '|>' must be a call");
                };
                let mut all = vec![Arg { name: None, value: lhs.clone(), spread: false, span: lhs.span }];
                all.extend(args.iter().cloned());
                return self.call(callee, &all, expected, span);
            }
            BinOp::Coalesce => return self.coalesce(lhs, rhs, expected, span),
            BinOp::In => return self.tuple_in(lhs, rhs, span),
            _ => {}
        }
        let num_expected = expected.filter(|t| (self.c.types.is_numeric(*t) || self.c.types.is_plain_enum(*t)) && !op.is_comparison());
        if let ExprKind::AutoCast(_) = lhs.kind {
            if num_expected.is_none() && !matches!(rhs.kind, ExprKind::AutoCast(_)) {
                // `xx a < b`: the cast targets the other operand's type.
                let r = self.expr(rhs, None)?;
                let target = if r.as_const().map(|c| c.is_untyped()).unwrap_or(false) { r.ty } else { r.ty };
                let l = self.expr(lhs, Some(target))?;
                if op.is_comparison() {
                    return self.compare(op, l, r, span);
                }
                return self.arith(op, l, r, span);
            }
        }
        let mut l = self.expr(lhs, num_expected)?;
        let l_pointee = self.value_pointee(l.ty);
        if l_pointee.is_some() && !op.is_comparison() {
            l = self.auto_deref(l, span)?;
        }
        let r_expected = match l_pointee {
            Some(t) if op.is_comparison() && !matches!(rhs.kind, ExprKind::Null) => Some(t),
            _ if l.as_const().map(|c| c.is_untyped()).unwrap_or(false) => num_expected,
            _ => Some(l.ty),
        };
        let mut r = self.expr(rhs, r_expected.filter(|t| *t != bt::TYPE))?;
        if matches!(rhs.kind, ExprKind::Null) && self.c.types.optional_inner(l.ty).is_some() {
            // `opt == null` is a presence test, whatever the payload type.
            r = TV { ty: bt::VOID, v: V::Const(ConstVal::Null) };
        }
        let r_pointee = self.value_pointee(r.ty);
        if op.is_comparison() {
            // `p == 5` with `p: *i64` compares the pointee; two pointers compare as addresses.
            let (lp, rp) = (self.c.types.is_pointer_like(l.ty), self.c.types.is_pointer_like(r.ty));
            if l_pointee.is_some() && !rp {
                l = self.auto_deref(l, span)?;
            } else if r_pointee.is_some() && !lp {
                r = self.auto_deref(r, span)?;
            }
            return self.compare(op, l, r, span);
        }
        if r_pointee.is_some() {
            r = self.auto_deref(r, span)?;
        }
        self.arith(op, l, r, span)
    }

    /// The pointee of a single-item pointer to a number or plain enum: such a pointer is read
    /// through when it is an operand of an arithmetic or comparison operator (a `for xs (*x)`
    /// capture used as a value).
    pub(crate) fn value_pointee(&self, ty: TypeId) -> Option<TypeId> {
        match *self.c.types.kind(ty) {
            TK::Pointer(t) if self.c.types.is_numeric(t) || self.c.types.is_plain_enum(t) => Some(t),
            _ => None,
        }
    }

    /// Loads the value a single-item pointer points to.
    pub(crate) fn auto_deref(&mut self, pv: TV, span: Span) -> R<TV> {
        let TK::Pointer(t) = *self.c.types.kind(pv.ty) else {
            return Ok(pv);
        };
        let a = self.scalar(pv, span)?;
        Ok(self.load(a, t))
    }

    /// The common type of two numeric operands (untyped constants adapt).
    pub(crate) fn unify(&mut self, l: &TV, r: &TV, span: Span) -> R<TypeId> {
        let lu = l.as_const().map(|c| c.is_untyped()).unwrap_or(false);
        let ru = r.as_const().map(|c| c.is_untyped()).unwrap_or(false);
        let (lt, rt) = (l.ty, r.ty);
        if lt == rt {
            return Ok(lt);
        }
        let types = &self.c.types;
        if lu && ru {
            // int literal with float literal → f64
            return Ok(if types.is_float(lt) || types.is_float(rt) { bt::F64 } else { bt::I64 });
        }
        // An integer literal that does not fit the other side's type widens the result to `i64`.
        let fits = |c: Option<&ConstVal>, t: TypeId| match (c, types.kind(t)) {
            (Some(ConstVal::Int { v, .. }), TK::Int { bits, signed, .. }) => {
                let (lo, hi) = crate::consts::int_range(*bits, *signed);
                *v >= lo && *v <= hi
            }
            _ => true,
        };
        if lu {
            if types.is_float(lt) && types.is_int(rt) {
                return Ok(bt::F64);
            }
            if !fits(l.as_const(), rt) {
                return Ok(bt::I64);
            }
            return Ok(rt);
        }
        if ru {
            if types.is_float(rt) && types.is_int(lt) {
                return Ok(bt::F64);
            }
            if !fits(r.as_const(), lt) {
                return Ok(bt::I64);
            }
            return Ok(lt);
        }
        match (types.is_float(lt), types.is_float(rt)) {
            (true, true) => return Ok(if types.size_of(lt) >= types.size_of(rt) { lt } else { rt }),
            (true, false) if types.is_int(rt) => return Ok(lt),
            (false, true) if types.is_int(lt) => return Ok(rt),
            _ => {}
        }
        if types.is_int(lt) && types.is_int(rt) {
            if self.int_widens(lt, rt) {
                return Ok(rt);
            }
            if self.int_widens(rt, lt) {
                return Ok(lt);
            }
        }
        let msg = format!("mismatched operand types '{}' and '{}'", self.tname(lt), self.tname(rt));
        self.err(span, msg)
    }

    /// Arithmetic and bitwise operators on numbers.
    pub fn arith(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        if self.vector_shape(l.ty).is_some() || self.vector_shape(r.ty).is_some() {
            return self.vector_arith(op, l, r, span);
        }
        if self.c.types.is_tuple(l.ty) || self.c.types.is_tuple(r.ty) {
            return self.tuple_arith(op, l, r, span);
        }
        // `Type/P/Q`: the type of a type parameter bounded by protocols is `Type`.
        if let (BinOp::Div, Some(ConstVal::Type(bt::TYPE)), Some(ConstVal::Type(p))) = (op, l.as_const(), r.as_const()) {
            if self.c.is_protocol(*p) {
                return Ok(TV::konst(ConstVal::Type(bt::TYPE)));
            }
        }
        let shift = matches!(op, BinOp::Shl | BinOp::Shr);
        // Pointer arithmetic on many-pointers.
        if matches!(self.c.types.kind(l.ty), TK::ManyPointer(_)) && matches!(op, BinOp::Add | BinOp::Sub) && self.c.types.is_int(r.ty) {
            let TK::ManyPointer(e) = *self.c.types.kind(l.ty) else { unreachable!() };
            let ty = l.ty;
            let pv = self.scalar(l, span)?;
            let r = self.coerce(r, bt::I64, span).or_else(|_| Err(()))?;
            let iv = self.scalar(r, span)?;
            let p = self.ptr_ty();
            let esz = self.c.types.size_of(e) as i64;
            let sz = self.iconst(p, esz);
            let off = self.b(|b| b.binary(IB::Imul, iv, sz));
            let o = if op == BinOp::Add { IB::Iadd } else { IB::Isub };
            return Ok(TV { ty, v: V::Scalar(self.b(|b| b.binary(o, pv, off))) });
        }
        // Flags enums: `|`, `&`, `^` between values of the same enum type stay that type.
        if l.ty == r.ty && self.c.types.is_plain_enum(l.ty) && matches!(op, BinOp::BitOr | BinOp::BitAnd | BinOp::BitXor) {
            let ty = l.ty;
            if let (Some(ConstVal::Int { v: x, .. }), Some(ConstVal::Int { v: y, .. })) = (l.as_const(), r.as_const()) {
                let v = match op {
                    BinOp::BitOr => x | y,
                    BinOp::BitAnd => x & y,
                    _ => x ^ y,
                };
                return Ok(TV { ty, v: V::Const(ConstVal::Int { v, ty: Some(ty) }) });
            }
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let o = match op {
                BinOp::BitOr => IB::Or,
                BinOp::BitAnd => IB::And,
                _ => IB::Xor,
            };
            return Ok(TV { ty, v: V::Scalar(self.b(|bb| bb.binary(o, a, b))) });
        }
        for v in [&l, &r] {
            if !self.c.types.is_numeric(v.ty) {
                let msg = format!("operator '{}' cannot be applied to '{}' and '{}'", op_text(op), self.tname(l.ty), self.tname(r.ty));
                return self.err(span, msg);
            }
        }
        let ty = if shift {
            if l.as_const().map(|c| c.is_untyped()).unwrap_or(false) && !r.as_const().map(|c| c.is_untyped()).unwrap_or(false) {
                bt::I64
            } else {
                l.ty
            }
        } else {
            self.unify(&l, &r, span)?
        };
        let is_float = self.c.types.is_float(ty);
        if is_float && op == BinOp::Rem {
            let l = self.coerce(l, ty, span)?;
            let r = self.coerce(r, ty, span)?;
            if let (Some(a), Some(b)) = (l.as_const().cloned(), r.as_const().cloned()) {
                if let Some(c) = self.fold(op, &a, &b, ty, span)? {
                    return Ok(TV { ty: c.ty(), v: V::Const(c) });
                }
            }
            let (a, b) = (self.scalar(l, span)?, self.scalar(r, span)?);
            let irt = self.e.f.values[a].ty;
            let sym = if irt == IrType::F32 { "fmodf" } else { "fmod" };
            let ext = self.c.module.declare_extern(sym, sx_ir::Signature { params: vec![irt, irt], returns: vec![irt] });
            let v = self.b(|bb| bb.call_extern(ext, vec![a, b], &[irt]))[0];
            return Ok(TV { ty, v: V::Scalar(v) });
        }
        if is_float && matches!(op, BinOp::Shl | BinOp::Shr | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) {
            let msg = format!("operator '{}' needs integer operands, found '{}'", op_text(op), self.tname(ty));
            return self.err(span, msg);
        }
        let l = self.coerce(l, ty, span)?;
        let r = if shift { r } else { self.coerce(r, ty, span)? };
        // Constant folding.
        if let (Some(a), Some(b)) = (l.as_const().cloned(), r.as_const().cloned()) {
            if let Some(c) = self.fold(op, &a, &b, ty, span)? {
                return Ok(TV { ty: c.ty(), v: V::Const(c) });
            }
        }
        let signed = self.c.types.is_signed(ty);
        let a = self.scalar(l, span)?;
        let b = if shift {
            let rt = r.ty;
            let bv = self.scalar(r, span)?;
            let want = self.e.f.values[a].ty;
            let have = self.e.f.values[bv].ty;
            if have == want {
                bv
            } else if have.bytes() > want.bytes() {
                self.b(|b| b.convert(sx_ir::ConvOp::Trunc, bv, want))
            } else if self.c.types.is_signed(rt) {
                self.b(|b| b.convert(sx_ir::ConvOp::Sext, bv, want))
            } else {
                self.b(|b| b.convert(sx_ir::ConvOp::Uext, bv, want))
            }
        } else {
            self.scalar(r, span)?
        };
        let iop = match (op, is_float) {
            (BinOp::Add, false) => IB::Iadd,
            (BinOp::Sub, false) => IB::Isub,
            (BinOp::Mul, false) => IB::Imul,
            (BinOp::Div, false) => {
                if signed {
                    IB::Sdiv
                } else {
                    IB::Udiv
                }
            }
            (BinOp::Rem, false) => {
                if signed {
                    IB::Srem
                } else {
                    IB::Urem
                }
            }
            (BinOp::Add, true) => IB::Fadd,
            (BinOp::Sub, true) => IB::Fsub,
            (BinOp::Mul, true) => IB::Fmul,
            (BinOp::Div, true) => IB::Fdiv,
            (BinOp::BitAnd, _) => IB::And,
            (BinOp::BitOr, _) => IB::Or,
            (BinOp::BitXor, _) => IB::Xor,
            (BinOp::Shl, _) => IB::Shl,
            (BinOp::Shr, _) => {
                if signed {
                    IB::Sshr
                } else {
                    IB::Ushr
                }
            }
            _ => return self.err(span, format!("operator '{}' is not supported here", op_text(op))),
        };
        let v = self.b(|bb| bb.binary(iop, a, b));
        let v = if is_float { v } else { self.fix_width(v, ty) };
        Ok(TV { ty, v: V::Scalar(v) })
    }

    /// Folds a binary operation on two constants of type `ty`.
    pub(crate) fn fold(&mut self, op: BinOp, a: &ConstVal, b: &ConstVal, ty: TypeId, span: Span) -> R<Option<ConstVal>> {
        let tyo = match (a, b) {
            (
                ConstVal::Int { ty: None, .. } | ConstVal::Float { ty: None, .. },
                ConstVal::Int { ty: None, .. } | ConstVal::Float { ty: None, .. },
            ) => None,
            _ => Some(ty),
        };
        Ok(match (a, b) {
            (ConstVal::Int { v: x, .. }, ConstVal::Int { v: y, .. }) => {
                let (x, y) = (*x, *y);
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div | BinOp::Rem => {
                        if y == 0 {
                            return self.err(span, "division by zero in a constant expression");
                        }
                        if op == BinOp::Div {
                            x.checked_div(y)
                        } else {
                            x.checked_rem(y)
                        }
                    }
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                    BinOp::Shl => {
                        let bits = self.c.types.int_bits(ty) as i128;
                        Some(x.checked_shl((y.rem_euclid(bits.max(1))) as u32).unwrap_or(0))
                    }
                    BinOp::Shr => {
                        let bits = self.c.types.int_bits(ty) as i128;
                        let sh = y.rem_euclid(bits.max(1)) as u32;
                        if self.c.types.is_signed(ty) {
                            Some(x >> sh)
                        } else {
                            let u = wrap_int(x, bits as u8, false);
                            Some(u >> sh)
                        }
                    }
                    _ => None,
                };
                match r {
                    Some(v) => {
                        let v = match tyo {
                            Some(t) => wrap_int(v, self.c.types.int_bits(t), self.c.types.is_signed(t)),
                            None => v,
                        };
                        Some(ConstVal::Int { v, ty: tyo })
                    }
                    None => None,
                }
            }
            (ConstVal::Float { .. } | ConstVal::Int { .. }, ConstVal::Float { .. } | ConstVal::Int { .. }) => {
                let f = |c: &ConstVal| match c {
                    ConstVal::Int { v, .. } => *v as f64,
                    ConstVal::Float { v, .. } => *v,
                    _ => 0.0,
                };
                let (x, y) = (f(a), f(b));
                let single = ty == bt::F32;
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                    _ => return Ok(None),
                };
                let r = if single { r as f32 as f64 } else { r };
                Some(ConstVal::Float { v: r, ty: tyo })
            }
            _ => None,
        })
    }

    /// `l or rhs` with `l` already lowered (not failable).
    pub(crate) fn logical_or_from(&mut self, l: TV, rhs: &Expr, span: Span) -> R<TV> {
        self.logical_from(BinOp::Or, l, rhs, span, span)
    }

    pub(crate) fn logical(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<TV> {
        let l = self.expr(lhs, Some(bt::BOOL))?;
        // The right operand runs only when the left is true (`and`) / false (`or`).
        let proven = self.absent_errors(lhs, op == BinOp::And);
        if proven.is_empty() {
            return self.logical_from(op, l, rhs, lhs.span, span);
        }
        self.push_scope();
        self.prove_absent(proven);
        let r = self.logical_from(op, l, rhs, lhs.span, span);
        self.scopes.pop();
        r
    }

    pub(crate) fn logical_from(&mut self, op: BinOp, l: TV, rhs: &Expr, lspan: Span, span: Span) -> R<TV> {
        let l = self.presence_operand(l, lspan)?;
        if l.ty != bt::BOOL {
            let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(l.ty));
            return self.err(lspan, msg);
        }
        if let Some(ConstVal::Bool(a)) = l.as_const() {
            let a = *a;
            if (op == BinOp::And && !a) || (op == BinOp::Or && a) {
                return Ok(TV::konst(ConstVal::Bool(a)));
            }
            let r = self.expr(rhs, Some(bt::BOOL))?;
            let r = self.presence_operand(r, rhs.span)?;
            if r.ty != bt::BOOL {
                let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(r.ty));
                return self.err(rhs.span, msg);
            }
            return Ok(r);
        }
        let lv = self.scalar(l, span)?;
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
        let a = self.slot_addr(s);
        self.b(|b| b.store(a, 0, lv));
        let rhs_b = self.new_block();
        let join = self.new_block();
        if op == BinOp::And {
            self.b(|b| b.branch(lv, rhs_b, vec![], join, vec![]));
        } else {
            self.b(|b| b.branch(lv, join, vec![], rhs_b, vec![]));
        }
        self.switch(rhs_b);
        let r = self.expr(rhs, Some(bt::BOOL))?;
        let r = self.presence_operand(r, rhs.span)?;
        if r.ty != bt::BOOL {
            let msg = format!("operator '{}' needs 'bool' operands, found '{}'", op_text(op), self.tname(r.ty));
            return self.err(rhs.span, msg);
        }
        let rv = self.scalar(r, span)?;
        let a = self.slot_addr(s);
        self.b(|b| b.store(a, 0, rv));
        self.jump(join);
        self.switch(join);
        let a = self.slot_addr(s);
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.load(IrType::I8, a, 0))) })
    }

    /// `v.(T)` between a struct and a scalar: the bytes of `v` read as a `T` (the part `v`
    /// does not cover reads as zero).
    pub(crate) fn reinterpret(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        let size = self.c.types.size_of(v.ty).max(self.c.types.size_of(to)).max(1);
        let s = self.e.f.slots.push(sx_ir::SlotData { size: size as u32, align: 16 });
        let a = self.slot_addr(s);
        let p = self.ptr_ty();
        let zero = self.iconst(IrType::I8, 0);
        let len = self.iconst(p, size as i64);
        self.b(|b| b.memfill(a, zero, len));
        let v = self.materialize(v, span)?;
        self.store(a, v, span)?;
        Ok(self.load(a, to))
    }

    /// An optional operand of `and` / `or` stands for its presence.
    pub(crate) fn presence_operand(&mut self, v: TV, span: Span) -> R<TV> {
        if self.c.types.optional_inner(v.ty).is_none() {
            return Ok(v);
        }
        let p = self.opt_present(v, span)?;
        Ok(TV { ty: bt::BOOL, v: V::Scalar(p) })
    }

    pub(crate) fn chain(&mut self, operands: &[Expr], ops: &[BinOp], span: Span) -> R<TV> {
        // a < b <= c  ==>  (a < b) and (b <= c), each operand evaluated once.
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
        let join = self.new_block();
        let mut prev = self.expr(&operands[0], None)?;
        for (i, op) in ops.iter().enumerate() {
            let next =
                self.expr(&operands[i + 1], if prev.as_const().map(|c| c.is_untyped()).unwrap_or(false) { None } else { Some(prev.ty) })?;
            let next = self.materialize(next, operands[i + 1].span)?;
            let c = self.compare(*op, prev, next.clone(), span)?;
            let cv = self.scalar(c, span)?;
            let a = self.slot_addr(s);
            self.b(|b| b.store(a, 0, cv));
            if i + 1 < ops.len() {
                let cont = self.new_block();
                self.b(|b| b.branch(cv, cont, vec![], join, vec![]));
                self.switch(cont);
            } else {
                self.jump(join);
            }
            prev = next;
        }
        self.switch(join);
        let a = self.slot_addr(s);
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.load(IrType::I8, a, 0))) })
    }

    /// Comparison operators (numbers, bools, pointers, strings, structs).
    pub fn compare(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        let (lt, rt) = (l.ty, r.ty);
        if self.c.types.is_error_set(lt) || self.c.types.is_error_set(rt) {
            return self.compare_errors(op, l, r, span);
        }
        if self.c.types.is_tuple(lt) || self.c.types.is_tuple(rt) {
            return self.tuple_compare(op, l, r, span);
        }
        if lt == bt::ANY || rt == bt::ANY {
            return self.err(span, "'any' values cannot be compared: unbox first (`av.(T)`), or compare `type_of(av)`");
        }
        let types = &self.c.types;
        if lt == bt::STRING || rt == bt::STRING {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "strings can only be compared with '==' and '!='");
            }
            let l = self.coerce(l, bt::STRING, span)?;
            let r = self.coerce(r, bt::STRING, span)?;
            let eq = self.string_eq(l, r, span)?;
            return Ok(if op == BinOp::Eq { eq } else { self.not(eq) });
        }
        let l_opt = types.optional_inner(lt).is_some();
        let r_opt = types.optional_inner(rt).is_some();
        if (l_opt || r_opt) && matches!(op, BinOp::Eq | BinOp::Ne) {
            let l_null = matches!(l.as_const(), Some(ConstVal::Null));
            let r_null = matches!(r.as_const(), Some(ConstVal::Null));
            if l_null || r_null {
                let o = if l_null { r } else { l };
                if self.c.types.optional_inner(o.ty).is_none() {
                    return self.err(span, "only optionals and pointers compare with 'null'");
                }
                let p = self.opt_present(o, span)?;
                let tv = TV { ty: bt::BOOL, v: V::Scalar(p) };
                return Ok(if op == BinOp::Ne { tv } else { self.not(tv) });
            }
            // `?T == T` compares payloads when present; two optionals: both absent are equal.
            let (lo, ro) = (l_opt, r_opt);
            if lo && ro && lt != rt {
                let msg = format!("cannot compare optionals of different types '{}' and '{}'", self.tname(lt), self.tname(rt));
                return self.err(span, msg);
            }
            let opt_ty = if lo { lt } else { rt };
            let l = if lo { l } else { self.coerce(l, opt_ty, span)? };
            let r = if ro { r } else { self.coerce(r, opt_ty, span)? };
            let l = self.materialize(l, span)?;
            let l = self.spill(l, span)?;
            let r = self.materialize(r, span)?;
            let r = self.spill(r, span)?;
            let lp = self.opt_present(l.clone(), span)?;
            let rp = self.opt_present(r.clone(), span)?;
            let res = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
            let same = self.b(|b| b.icmp(IntCC::Eq, lp, rp));
            let ra = self.slot_addr(res);
            self.b(|b| b.store(ra, 0, same));
            let both = self.b(|b| b.binary(IB::And, lp, rp));
            let cmp_b = self.new_block();
            let done = self.new_block();
            self.b(|b| b.branch(both, cmp_b, vec![], done, vec![]));
            self.switch(cmp_b);
            let lv = self.opt_payload(l, span)?;
            let rv = self.opt_payload(r, span)?;
            let e = self.compare(BinOp::Eq, lv, rv, span)?;
            let ev = self.scalar(e, span)?;
            let ra = self.slot_addr(res);
            self.b(|b| b.store(ra, 0, ev));
            self.jump(done);
            self.switch(done);
            let ra = self.slot_addr(res);
            let v = self.b(|b| b.load(IrType::I8, ra, 0));
            let tv = TV { ty: bt::BOOL, v: V::Scalar(v) };
            return Ok(if op == BinOp::Eq { tv } else { self.not(tv) });
        }
        let types = &self.c.types;
        if lt == rt && types.is_tagged_enum(lt) {
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "tagged unions can only be compared with '==' and '!='");
            }
            let backing = types.enum_of(lt).map(|e| e.backing).unwrap_or(bt::I64);
            let irt = types.scalar(backing).unwrap_or(IrType::I64);
            let l = self.materialize(l, span)?;
            let r = self.materialize(r, span)?;
            let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these values") };
            let (x, y) = self.b(|bb| (bb.load(irt, a, 0), bb.load(irt, b, 0)));
            let cc = int_cc(op, false);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, x, y))) });
        }
        if lt == rt && types.is_plain_enum(lt) {
            if let (Some(ConstVal::Int { v: x, .. }), Some(ConstVal::Int { v: y, .. })) = (l.as_const(), r.as_const()) {
                let res = match op {
                    BinOp::Eq => x == y,
                    BinOp::Ne => x != y,
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    _ => x >= y,
                };
                return Ok(TV::konst(ConstVal::Bool(res)));
            }
            let signed = types.is_signed(lt);
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let cc = int_cc(op, signed);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, a, b))) });
        }
        if (types.is_numeric(lt) || l.as_const().map(|c| c.is_untyped()).unwrap_or(false))
            && (types.is_numeric(rt) || r.as_const().map(|c| c.is_untyped()).unwrap_or(false))
        {
            let ty = self.unify(&l, &r, span)?;
            let l = self.coerce(l, ty, span)?;
            let r = self.coerce(r, ty, span)?;
            if let (Some(a), Some(b)) = (l.as_const(), r.as_const()) {
                let ord = match (a, b) {
                    (ConstVal::Int { v: x, .. }, ConstVal::Int { v: y, .. }) => x.partial_cmp(y),
                    (ConstVal::Float { v: x, .. }, ConstVal::Float { v: y, .. }) => x.partial_cmp(y),
                    _ => None,
                };
                let res = match (op, ord) {
                    (BinOp::Ne, None) => Some(true),
                    (_, None) => Some(false),
                    (BinOp::Eq, Some(o)) => Some(o.is_eq()),
                    (BinOp::Ne, Some(o)) => Some(o.is_ne()),
                    (BinOp::Lt, Some(o)) => Some(o.is_lt()),
                    (BinOp::Le, Some(o)) => Some(o.is_le()),
                    (BinOp::Gt, Some(o)) => Some(o.is_gt()),
                    (BinOp::Ge, Some(o)) => Some(o.is_ge()),
                    _ => None,
                };
                if let Some(b) = res {
                    return Ok(TV::konst(ConstVal::Bool(b)));
                }
            }
            let is_float = self.c.types.is_float(ty);
            let signed = self.c.types.is_signed(ty);
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let v = if is_float {
                let cc = match op {
                    BinOp::Eq => FloatCC::Eq,
                    BinOp::Ne => FloatCC::Ne,
                    BinOp::Lt => FloatCC::Lt,
                    BinOp::Le => FloatCC::Le,
                    BinOp::Gt => FloatCC::Gt,
                    _ => FloatCC::Ge,
                };
                self.b(|bb| bb.fcmp(cc, a, b))
            } else {
                let cc = int_cc(op, signed);
                self.b(|bb| bb.icmp(cc, a, b))
            };
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(v) });
        }
        let ptrish = |t: TypeId, v: &TV| types.is_pointer_like(t) || matches!(v.as_const(), Some(ConstVal::Null)) || t == bt::TYPE;
        if (lt == bt::BOOL && rt == bt::BOOL) || (ptrish(lt, &l) && ptrish(rt, &r)) {
            if !matches!(op, BinOp::Eq | BinOp::Ne) && lt == bt::BOOL {
                return self.err(span, "booleans can only be compared with '==' and '!='");
            }
            let target = if matches!(l.as_const(), Some(ConstVal::Null)) { rt } else { lt };
            let l = if lt == bt::VOID { TV { ty: target, ..l } } else { l };
            let r = if rt == bt::VOID { TV { ty: target, ..r } } else { r };
            if let (Some(a), Some(b)) = (l.as_const(), r.as_const()) {
                if let (ConstVal::Type(x), ConstVal::Type(y)) = (a, b) {
                    let eq = x == y;
                    return Ok(TV::konst(ConstVal::Bool(if op == BinOp::Eq { eq } else { !eq })));
                }
                if let (ConstVal::Bool(x), ConstVal::Bool(y)) = (a, b) {
                    let eq = x == y;
                    return Ok(TV::konst(ConstVal::Bool(if op == BinOp::Eq { eq } else { !eq })));
                }
            }
            let a = self.scalar(l, span)?;
            let b = self.scalar(r, span)?;
            let cc = int_cc(op, false);
            return Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.icmp(cc, a, b))) });
        }
        if let (TK::Struct(_), TK::Struct(_)) = (types.kind(lt), types.kind(rt)) {
            if lt != rt {
                let msg = format!("cannot compare values of distinct struct types '{}' and '{}'", self.tname(lt), self.tname(rt));
                return self.err(span, msg);
            }
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                return self.err(span, "structs can only be compared with '==' and '!='");
            }
            if self.c.types.struct_of(lt).map(|s| s.is_union).unwrap_or(false) {
                return self.err(span, format!("untagged union '{}' cannot be compared", self.tname(lt)));
            }
            let l = self.materialize(l, span)?;
            let r = self.materialize(r, span)?;
            let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these values") };
            let eq = self.mem_eq(a, b, lt, span)?;
            return Ok(if op == BinOp::Eq { eq } else { self.not(eq) });
        }
        let msg = format!("cannot compare '{}' with '{}'", self.tname(lt), self.tname(rt));
        self.err(span, msg)
    }

    pub(crate) fn not(&mut self, tv: TV) -> TV {
        if let Some(ConstVal::Bool(b)) = tv.as_const() {
            return TV::konst(ConstVal::Bool(!b));
        }
        let V::Scalar(v) = tv.v else { return tv };
        let one = self.iconst(IrType::I8, 1);
        TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.binary(IB::Xor, v, one))) }
    }

    pub(crate) fn string_eq(&mut self, l: TV, r: TV, span: Span) -> R<TV> {
        if let (Some(ConstVal::Str(a)), Some(ConstVal::Str(b))) = (l.as_const(), r.as_const()) {
            return Ok(TV::konst(ConstVal::Bool(a == b)));
        }
        let l = self.materialize(l, span)?;
        let r = self.materialize(r, span)?;
        let (V::Mem(a), V::Mem(b)) = (l.v, r.v) else { return self.err(span, "cannot compare these strings") };
        self.call_runtime(RuntimeFn::StringEq, vec![a, b], bt::BOOL, span)
    }

    /// Field-by-field equality of two values of struct type `ty` at `a` and `b`.
    pub(crate) fn mem_eq(&mut self, a: Value, b: Value, ty: TypeId, span: Span) -> R<TV> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let mut acc: Option<Value> = None;
        for f in fields {
            let fa = self.offset_addr(a, f.offset as i64);
            let fb = self.offset_addr(b, f.offset as i64);
            let la = self.load(fa, f.ty);
            let lb = self.load(fb, f.ty);
            if matches!(self.c.types.kind(f.ty), TK::Array(..)) {
                return self.err(span, format!("cannot compare structs of type '{}': field '{}' is an array", self.tname(ty), f.name));
            }
            let e = self.compare(BinOp::Eq, la, lb, span)?;
            let ev = self.scalar(e, span)?;
            acc = Some(match acc {
                None => ev,
                Some(p) => self.b(|bb| bb.binary(IB::And, p, ev)),
            });
        }
        Ok(match acc {
            None => TV::konst(ConstVal::Bool(true)),
            Some(v) => TV { ty: bt::BOOL, v: V::Scalar(v) },
        })
    }

    /// Calls a helper function of our std (by name) with raw IR arguments.
    pub fn call_helper(&mut self, name: &str, args: Vec<Value>, ret: TypeId, span: Span) -> R<TV> {
        let Some(std) = self.c.std_file.or_else(|| self.c.find_std()) else {
            return self.err(span, format!("this needs the standard library helper '{}' (import \"modules/std.sx\")", name));
        };
        let Some(ConstVal::Func(fid)) = self.c.lookup_own(std, name, span)? else {
            return self.err(span, format!("standard library helper '{}' not found", name));
        };
        let func = self.c.declare_fn(fid, span)?;
        let rt: Vec<IrType> = self.c.types.scalar(ret).into_iter().collect();
        let r = self.b(|b| b.call(func, args, &rt));
        Ok(match r.first() {
            Some(v) => TV { ty: ret, v: V::Scalar(*v) },
            None => TV::void(),
        })
    }
}

fn int_cc(op: BinOp, signed: bool) -> IntCC {
    match (op, signed) {
        (BinOp::Eq, _) => IntCC::Eq,
        (BinOp::Ne, _) => IntCC::Ne,
        (BinOp::Lt, true) => IntCC::Slt,
        (BinOp::Le, true) => IntCC::Sle,
        (BinOp::Gt, true) => IntCC::Sgt,
        (BinOp::Ge, true) => IntCC::Sge,
        (BinOp::Lt, false) => IntCC::Ult,
        (BinOp::Le, false) => IntCC::Ule,
        (BinOp::Gt, false) => IntCC::Ugt,
        _ => IntCC::Uge,
    }
}

impl<'c> FnCx<'c> {
    /// `v.(T)` once the operand is lowered: raw views, `any` assertions, optional wrapping and
    /// the ordinary conversions.
    pub(crate) fn cast_value(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        if let Some(raw) = self.raw_view(&v, to, span)? {
            return Ok(raw);
        }
        // A protocol value starts with the same two words as an `any` (the object and
        // its concrete type), so a downcast `p.(T)` / `p.(?T)` is the `any` assertion.
        if let (true, TK::Pointer(inner)) = (self.c.is_protocol(v.ty), self.c.types.kind(to).clone()) {
            if self.c.is_protocol(inner) {
                return self.err(
                    span,
                    "the ctx recovery yields a pointer to the CONCRETE value, so its target must be the concrete pointee type (e.g. `p.(*YourConcrete)` or `p.(*void)`); to point at the protocol value itself, take its address with prefix `*`",
                );
            }
            // `p.(*T)`: the erased object (the protocol value's `ctx` word).
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            let V::Mem(a) = m.v else { return self.err(span, "a protocol value expected") };
            let p = self.ptr_ty();
            return Ok(TV { ty: to, v: V::Scalar(self.b(|b| b.load(p, a, 0))) });
        }
        let target_is_protocol = self.c.is_protocol(self.c.types.optional_inner(to).unwrap_or(to));
        let v = if self.c.is_protocol(v.ty) && !target_is_protocol && to != bt::ANY {
            let m = self.materialize(v, span)?;
            let m = self.spill(m, span)?;
            TV { ty: bt::ANY, v: m.v }
        } else {
            v
        };
        if v.ty == bt::ANY && to != bt::ANY {
            self.reject_any_to_protocol(to, span)?;
            return self.any_assert(v, to, span);
        }
        if let Some(inner) = self.c.types.optional_inner(to) {
            if self.c.types.optional_inner(v.ty).is_none() {
                let v = self.convert(v, inner, span)?;
                return self.opt_wrap(v, to, span);
            }
        }
        if matches!((self.c.types.kind(v.ty), self.c.types.kind(to)), (TK::Array(_, a), TK::Slice(b)) if a == b) {
            // `arr.([]T)`: the implicit array-to-slice view, spelled out.
            return self.coerce(v, to, span);
        }
        let plain_struct = |cx: &Self, t: TypeId| cx.c.types.struct_of(t).is_some() && !cx.c.is_protocol(t) && !cx.is_tuple_like(t);
        let scalar = |cx: &Self, t: TypeId| cx.c.types.scalar(t).is_some();
        if (plain_struct(self, v.ty) && scalar(self, to)) || (scalar(self, v.ty) && plain_struct(self, to)) {
            return self.reinterpret(v, to, span);
        }
        if let Some(r) = self.user_conversion(v.clone(), to, span)? {
            return Ok(r);
        }
        self.convert(v, to, span)
    }
}
