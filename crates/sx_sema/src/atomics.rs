//! The atomic intrinsics: a function the standard library declares `intrinsic` under one of the
//! names below lowers to the IR's atomic instructions.
//!
//! The contract with the library is the names and their parameter shapes:
//! `atomic_load($T, ptr: *T, o)`, `atomic_store($T, ptr, v: T, o)`, `atomic_fetch_add|sub|and|
//! or|xor|min|max($T, ptr, v, o) -> T` and `atomic_swap($T, ptr, v, o) -> T` (the old value),
//! `atomic_cmpxchg[_weak]($T, ptr, expected, desired, success, failure) -> ?T` (`null` when the
//! swap happened, else the value found) and `atomic_fence(o)`. Everything else comes from the
//! declaration: an ordering argument is a compile-time value of the type the declaration gives
//! that parameter (the library's `Ordering` enum), read by its variant's name (`relaxed`,
//! `acquire`, `release`, `acq_rel`, `seq_cst`). Orderings an operation does not allow are
//! errors at the ordering argument; `min`/`max` compare signed or unsigned as `T` is.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{AtomicOrdering, IntCC, RmwOp, Value};
use sx_syntax::ast::Arg;

/// Which atomic operation an intrinsic performs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum AtomicOp {
    Load,
    Store,
    /// A read-modify-write; `Min`/`Max` pick signed or unsigned by the operand type.
    Rmw(RmwKind),
    /// Compare-and-swap (the weak form may fail spuriously; ours never does).
    Cmpxchg,
    Fence,
}

/// The read-modify-write operators the library names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum RmwKind {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Min,
    Max,
    Swap,
}

/// The atomic operation of the intrinsic `name`, if it is one.
fn atomic_op(name: &str) -> Option<AtomicOp> {
    Some(match name {
        "atomic_load" => AtomicOp::Load,
        "atomic_store" => AtomicOp::Store,
        "atomic_fetch_add" => AtomicOp::Rmw(RmwKind::Add),
        "atomic_fetch_sub" => AtomicOp::Rmw(RmwKind::Sub),
        "atomic_fetch_and" => AtomicOp::Rmw(RmwKind::And),
        "atomic_fetch_or" => AtomicOp::Rmw(RmwKind::Or),
        "atomic_fetch_xor" => AtomicOp::Rmw(RmwKind::Xor),
        "atomic_fetch_min" => AtomicOp::Rmw(RmwKind::Min),
        "atomic_fetch_max" => AtomicOp::Rmw(RmwKind::Max),
        "atomic_swap" => AtomicOp::Rmw(RmwKind::Swap),
        "atomic_cmpxchg" | "atomic_cmpxchg_weak" => AtomicOp::Cmpxchg,
        "atomic_fence" => AtomicOp::Fence,
        _ => return None,
    })
}

impl AtomicOp {
    /// The number of arguments and the positions of the ordering arguments.
    fn shape(self) -> (usize, &'static [usize]) {
        match self {
            AtomicOp::Load => (3, &[2]),
            AtomicOp::Store | AtomicOp::Rmw(_) => (4, &[3]),
            AtomicOp::Cmpxchg => (6, &[4, 5]),
            AtomicOp::Fence => (1, &[0]),
        }
    }
}

/// The IR operator of `kind` on a signed or unsigned operand.
fn rmw_op(kind: RmwKind, signed: bool) -> RmwOp {
    match kind {
        RmwKind::Add => RmwOp::Add,
        RmwKind::Sub => RmwOp::Sub,
        RmwKind::And => RmwOp::And,
        RmwKind::Or => RmwOp::Or,
        RmwKind::Xor => RmwOp::Xor,
        RmwKind::Min if signed => RmwOp::Smin,
        RmwKind::Min => RmwOp::Umin,
        RmwKind::Max if signed => RmwOp::Smax,
        RmwKind::Max => RmwOp::Umax,
        RmwKind::Swap => RmwOp::Xchg,
    }
}

/// How much a compare-and-swap's failure ordering asks of the read that fails, compared with
/// what the success ordering gives: `relaxed` < `acquire` = `release` < `acq_rel` < `seq_cst`.
fn strength(o: AtomicOrdering) -> u8 {
    match o {
        AtomicOrdering::Relaxed => 0,
        AtomicOrdering::Acquire | AtomicOrdering::Release => 1,
        AtomicOrdering::AcqRel => 2,
        AtomicOrdering::SeqCst => 3,
    }
}

impl Compiler {
    /// The file and parameter list of the evaluated `intrinsic` declaration named `name`.
    fn intrinsic_params(&self, name: &str) -> Option<(FileIdx, Vec<sx_syntax::ast::Param>)> {
        for (_, file) in self.files.iter() {
            for &id in file.names.get(name).into_iter().flatten() {
                let d = &self.decls[id];
                let (DeclState::Done(ConstVal::Intrinsic(_)), DeclKind::Item(item)) = (&d.state, &d.kind) else { continue };
                if let ItemKind::Const { value: Expr { kind: ExprKind::Fn(decl), .. }, .. } = &item.kind {
                    return Some((d.file, decl.params.clone()));
                }
            }
        }
        None
    }
}

impl FnCx<'_> {
    /// Lowers a call of the atomic intrinsic `name`; `None` when `name` is not one.
    pub(crate) fn atomic_call(&mut self, name: &str, args: &[Arg], span: Span) -> Option<R<TV>> {
        let op = atomic_op(name)?;
        Some(self.lower_atomic(name, op, args, span))
    }

    fn lower_atomic(&mut self, name: &str, op: AtomicOp, args: &[Arg], span: Span) -> R<TV> {
        let (count, ordering_at) = op.shape();
        if args.len() != count {
            return self.err(span, format!("'{}' takes {} arguments, found {}", name, count, args.len()));
        }
        let mut orders = Vec::new();
        for &at in ordering_at {
            orders.push(self.ordering_arg(name, at, &args[at])?);
        }
        if op == AtomicOp::Fence {
            if !orders[0].valid_for_fence() {
                return self.err(args[0].value.span, "a fence cannot be .relaxed (use .acquire, .release, .acq_rel or .seq_cst)");
            }
            let order = orders[0];
            self.b(|b| b.fence(order));
            return Ok(TV::void());
        }
        let ty = self.atomic_type(op, &args[0])?;
        let irt = self.c.types.scalar(ty).unwrap_or(sx_ir::Type::I64);
        let ptr_ty = self.c.types.pointer(ty);
        let ptr = self.expr(&args[1].value, Some(ptr_ty))?;
        let ptr = self.coerce(ptr, ptr_ty, args[1].value.span)?;
        let addr = self.scalar(ptr, args[1].value.span)?;
        match op {
            AtomicOp::Load => {
                if !orders[0].valid_for_load() {
                    let msg = format!("an atomic load cannot be .{} (use .relaxed, .acquire or .seq_cst)", orders[0].name());
                    return self.err(args[2].value.span, msg);
                }
                let order = orders[0];
                let v = self.b(|b| b.atomic_load(irt, addr, order));
                Ok(TV { ty, v: V::Scalar(v) })
            }
            AtomicOp::Store => {
                if !orders[0].valid_for_store() {
                    let msg = format!("an atomic store cannot be .{} (use .relaxed, .release or .seq_cst)", orders[0].name());
                    return self.err(args[3].value.span, msg);
                }
                let v = self.operand(&args[2], ty)?;
                let order = orders[0];
                self.b(|b| b.atomic_store(addr, v, order));
                Ok(TV::void())
            }
            AtomicOp::Rmw(kind) => {
                let v = self.operand(&args[2], ty)?;
                let (rmw, order) = (rmw_op(kind, self.c.types.is_signed(ty)), orders[0]);
                let old = self.b(|b| b.atomic_rmw(rmw, addr, v, order));
                Ok(TV { ty, v: V::Scalar(old) })
            }
            AtomicOp::Cmpxchg => self.cmpxchg(ty, addr, args, (orders[0], orders[1])),
            AtomicOp::Fence => Ok(TV::void()),
        }
    }

    /// The compare-and-swap: `?T`, absent when the swap happened, else the value found.
    fn cmpxchg(&mut self, ty: TypeId, addr: Value, args: &[Arg], (success, failure): (AtomicOrdering, AtomicOrdering)) -> R<TV> {
        let failure_span = args[5].value.span;
        if !failure.valid_for_load() {
            let msg = format!("a compare-exchange failure ordering cannot be .{} (use .relaxed, .acquire or .seq_cst)", failure.name());
            return self.err(failure_span, msg);
        }
        if strength(failure) > strength(success) {
            let msg = format!(
                "the compare-exchange failure ordering .{} is stronger than its success ordering .{}",
                failure.name(),
                success.name()
            );
            return self.err(failure_span, msg);
        }
        let expected = self.operand(&args[2], ty)?;
        let desired = self.operand(&args[3], ty)?;
        let found = self.b(|b| b.atomic_cas(addr, expected, desired, success, failure));
        let failed = self.b(|b| b.icmp(IntCC::Ne, found, expected));
        let irt = self.e.f.values[found].ty;
        let zero = self.iconst(irt, 0);
        let payload = self.b(|b| b.select(failed, found, zero));
        let opt = self.c.types.optional(ty);
        let slot = self.slot_for(opt);
        let at = self.slot_addr(slot);
        let flag_offset = self.c.types.size_of(ty) as i32;
        self.b(|b| {
            b.store(at, 0, payload);
            b.store(at, flag_offset, failed);
        });
        Ok(TV { ty: opt, v: V::Mem(at) })
    }

    /// The `$T` argument: a scalar of 1, 2, 4 or 8 bytes; an integer (or plain enum or bool)
    /// that is not a pointer for a read-modify-write or compare-and-swap.
    fn atomic_type(&mut self, op: AtomicOp, arg: &Arg) -> R<TypeId> {
        let ty = self.type_expr(&arg.value)?;
        let types = &self.c.types;
        let Some(irt) = types.scalar(ty) else {
            let msg = format!(
                "'{}' cannot be accessed atomically: atomics need an integer, float, bool, enum or pointer of 1, 2, 4 or 8 bytes",
                self.tname(ty)
            );
            return self.err(arg.value.span, msg);
        };
        let integer = !irt.is_float() && !types.is_pointer_like(ty) && types.optional_inner(ty).is_none();
        if matches!(op, AtomicOp::Rmw(_) | AtomicOp::Cmpxchg) && !integer {
            let what = if matches!(op, AtomicOp::Cmpxchg) { "compare-exchange" } else { "read-modify-write" };
            let msg = format!("an atomic {} needs an integer type, not '{}'", what, self.tname(ty));
            return self.err(arg.value.span, msg);
        }
        Ok(ty)
    }

    /// A value argument converted to the operand type `ty`.
    fn operand(&mut self, arg: &Arg, ty: TypeId) -> R<Value> {
        let v = self.expr(&arg.value, Some(ty))?;
        let v = self.coerce(v, ty, arg.value.span)?;
        self.scalar(v, arg.value.span)
    }

    /// The ordering argument at position `at` of intrinsic `name`: a compile-time value of the
    /// type the declaration gives that parameter.
    fn ordering_arg(&mut self, name: &str, at: usize, arg: &Arg) -> R<AtomicOrdering> {
        let span = arg.value.span;
        let declared = self.c.intrinsic_params(name).and_then(|(file, params)| Some((file, params.get(at)?.ty.clone()?)));
        let Some((file, ty_expr)) = declared else {
            return self.err(span, format!("the declaration of intrinsic '{}' has no ordering parameter {}", name, at + 1));
        };
        let ordering = self.c.eval_type_in(file, None, &Rc::new(HashMap::new()), &ty_expr)?;
        let v = self.expr(&arg.value, Some(ordering))?;
        let v = self.coerce(v, ordering, span)?;
        let value = match v.as_const() {
            Some(ConstVal::Int { v, .. }) => *v,
            _ => {
                let msg = format!("the ordering must be known at compile time (a constant '{}' such as .seq_cst)", self.tname(ordering));
                return self.err(span, msg);
            }
        };
        let variant = self.c.types.enum_of(ordering).and_then(|e| e.variants.iter().find(|v| v.value == value)).map(|v| v.name.clone());
        match variant.as_deref().and_then(AtomicOrdering::from_name) {
            Some(o) => Ok(o),
            None => {
                let msg = format!("'{}' is not an atomic ordering (relaxed, acquire, release, acq_rel or seq_cst)", self.tname(ordering));
                self.err(span, msg)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AtomicOrdering::*;

    /// Which (success, failure) pairs the strength rule refuses: a failure ordering that
    /// acquires more than the success ordering does.
    #[test]
    fn failure_stronger_than_success() {
        let refused = |s: AtomicOrdering, f: AtomicOrdering| strength(f) > strength(s);
        assert!(refused(Relaxed, Acquire));
        assert!(refused(Relaxed, SeqCst));
        assert!(refused(Release, SeqCst));
        assert!(refused(AcqRel, SeqCst));
        assert!(!refused(Release, Acquire));
        assert!(!refused(AcqRel, Acquire));
        assert!(!refused(SeqCst, SeqCst));
        assert!(!refused(Acquire, Relaxed));
    }

    /// `min`/`max` follow the operand's signedness; the other operators do not care.
    #[test]
    fn min_and_max_pick_signedness() {
        assert_eq!(rmw_op(RmwKind::Min, true), RmwOp::Smin);
        assert_eq!(rmw_op(RmwKind::Min, false), RmwOp::Umin);
        assert_eq!(rmw_op(RmwKind::Max, true), RmwOp::Smax);
        assert_eq!(rmw_op(RmwKind::Max, false), RmwOp::Umax);
        assert_eq!(rmw_op(RmwKind::Swap, true), RmwOp::Xchg);
        assert_eq!(atomic_op("atomic_cmpxchg_weak"), Some(AtomicOp::Cmpxchg));
        assert_eq!(atomic_op("atomic_fetch_nand"), None);
    }
}
