//! `any`: a borrowed view `{data: pointer, tag: Type}` of a value of any type.
//!
//! Boxing an lvalue points at its storage (mutations stay visible through the view); boxing an
//! rvalue copies it into a frame temporary first. `xx av` is an unchecked unbox (numeric
//! targets convert from whatever width the tag names); `av.(T)` checks the tag and stops the
//! program with `type assertion failed at <file>:<line>: expected T, got U` on a mismatch;
//! `av.(?T)` gives `null` instead. Printing an `any` calls the print function of its tag's
//! record. `if av == { case T: (v) … case struct: … }` switches on the tag (also on a run-time
//! `Type`): concrete arms compare handles, category arms test the record's category.

use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
use crate::type_rules::{cat, flag};
use crate::*;
use sx_ir::{BinOp as IB, IntCC, Signature, Type as IrType, Value};
use sx_types::TypeKind as TK;

/// A `case` pattern of a type switch.
#[derive(Clone, Copy, PartialEq)]
enum TypePat {
    /// Exactly this type.
    Concrete(TypeId),
    /// Every type of a category (`int`, `struct`, …).
    Category(Category),
}

/// The categories a type switch can name.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Category {
    Int,
    Float,
    Struct,
    Enum,
    Union,
    Array,
    Slice,
    Pointer,
    Optional,
    Closure,
    Type,
    Vector,
    ErrorSet,
    Tuple,
    /// Only in the static `inline if T == { … }`: a protocol value carries no type tag.
    Protocol,
}

fn category_named(name: &str) -> Option<Category> {
    Some(match name {
        "int" => Category::Int,
        "float" => Category::Float,
        "struct" => Category::Struct,
        "enum" => Category::Enum,
        "union" => Category::Union,
        "array" => Category::Array,
        "slice" => Category::Slice,
        "pointer" => Category::Pointer,
        "optional" => Category::Optional,
        "closure" => Category::Closure,
        "type" => Category::Type,
        "vector" => Category::Vector,
        "error_set" => Category::ErrorSet,
        "tuple" => Category::Tuple,
        "protocol" => Category::Protocol,
        _ => return None,
    })
}

impl Compiler {
    /// True when type `t` belongs to category `c` (the run-time test, decided statically).
    fn in_category(&self, t: TypeId, c: Category) -> bool {
        let k = self.type_category(t);
        match c {
            Category::Int => k == cat::INT,
            Category::Float => k == cat::FLOAT,
            Category::Struct => k == cat::STRUCT && !self.is_protocol(t),
            Category::Enum => k == cat::ENUM,
            Category::Union => k == cat::UNION || self.types.is_tagged_enum(t),
            Category::Array => k == cat::ARRAY,
            Category::Slice => k == cat::SLICE,
            Category::Pointer => k == cat::POINTER || k == cat::MANY_POINTER,
            Category::Optional => k == cat::OPTIONAL,
            Category::Closure => k == cat::FUNC || k == cat::CLOSURE,
            Category::Type => k == cat::TYPE,
            Category::ErrorSet => k == cat::ERROR_SET,
            Category::Vector => k == cat::VECTOR,
            Category::Tuple => k == cat::STRUCT && self.types.struct_of(t).is_some_and(|s| s.tuple),
            Category::Protocol => self.is_protocol(t),
        }
    }
}

impl<'c> FnCx<'c> {
    /// An `any` viewing the value of type `ty` stored at `addr`.
    pub fn box_place(&mut self, addr: Value, ty: TypeId, span: Span) -> R<TV> {
        let tag = self.type_value(ty, span)?;
        let s = self.slot_for(bt::ANY);
        let a = self.slot_addr(s);
        let pb = self.c.module.pointer_bytes() as i32;
        self.b(|b| {
            b.store(a, 0, addr);
            b.store(a, pb, tag);
        });
        Ok(TV { ty: bt::ANY, v: V::Mem(a) })
    }

    /// Boxes an rvalue: the value is copied into a frame temporary that the view points at.
    pub fn box_value(&mut self, tv: TV, span: Span) -> R<TV> {
        if tv.ty == bt::ANY || matches!(tv.v, V::Never) {
            return Ok(tv);
        }
        let tv = if tv.as_const().map(|c| c.is_untyped()).unwrap_or(false) { self.coerce(tv.clone(), tv.ty, span)? } else { tv };
        let ty = tv.ty;
        if let Some(ConstVal::Null) = tv.as_const() {
            return self.err(span, "cannot box an untyped 'null' in an 'any'");
        }
        if matches!(self.c.types.kind(ty), TK::Void | TK::NoReturn) || matches!(tv.v, V::Void) {
            return self.err(span, format!("cannot box a value of type '{}' in an 'any'", self.tname(ty)));
        }
        let tv = self.materialize(tv, span)?;
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        self.store(a, tv, span)?;
        self.box_place(a, ty, span)
    }

    /// `e` boxed as an `any`: an lvalue is viewed in place, an rvalue through a temporary.
    pub fn box_expr(&mut self, e: &Expr) -> R<TV> {
        if let Some(tv) = self.box_lvalue(e)? {
            return Ok(tv);
        }
        let v = self.expr(e, None)?;
        self.box_value(v, e.span)
    }

    /// When `e` is an lvalue (a variable, field, element or dereference), the `any` viewing its
    /// storage; `None` for rvalues.
    pub fn box_lvalue(&mut self, e: &Expr) -> R<Option<TV>> {
        match self.lvalue_place(e)? {
            Some((addr, ty)) if ty == bt::ANY => Ok(Some(self.load(addr, ty))),
            Some((addr, ty)) => Ok(Some(self.box_place(addr, ty, e.span)?)),
            None => Ok(None),
        }
    }

    /// The storage of `e` when it is an lvalue (a variable, field, element or dereference).
    pub fn lvalue_place(&mut self, e: &Expr) -> R<Option<(Value, TypeId)>> {
        if !matches!(e.kind, ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::Index { .. } | ExprKind::Deref(_)) {
            return Ok(None);
        }
        match &e.kind {
            // `ns.name`, `T.member`, `args.len`: not storage.
            ExprKind::Field { base, .. } => {
                if self.resolve_path(base)?.is_some() || self.try_type(base)?.is_some() {
                    return Ok(None);
                }
                if let ExprKind::Ident(id) = &base.kind {
                    if let Some(Local::Const(ConstVal::Pack(_))) = self.lookup_local(&id.name) {
                        return Ok(None);
                    }
                }
            }
            ExprKind::Ident(id) => match self.resolve(id)? {
                Some(Local::Var { .. }) | Some(Local::Const(ConstVal::Global(..))) => {}
                _ => return Ok(None),
            },
            _ => {}
        }
        self.place_opt(e, false)
    }

    /// The data pointer and the tag of an `any` value.
    pub fn any_parts(&mut self, tv: TV, span: Span) -> R<(Value, Value)> {
        let tv = self.materialize(tv, span)?;
        let V::Mem(a) = tv.v else { return self.err(span, "an 'any' value expected") };
        let p = self.ptr_ty();
        let pb = self.c.module.pointer_bytes() as i32;
        Ok(self.b(|b| (b.load(p, a, 0), b.load(p, a, pb))))
    }

    /// `av.(AnyRaw)` and `s.(SliceRaw)`: the words of an `any` / a slice or string as the std
    /// struct of the same layout (`None` for any other cast).
    pub fn raw_view(&mut self, v: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let Some(name) = self.c.types.struct_of(to).map(|s| s.name.clone()) else { return Ok(None) };
        // The library's raw views, wherever in the standard library it declares them.
        let Some(file) = self.c.structs.get(&to).map(|m| m.file) else { return Ok(None) };
        if !self.c.in_stdlib(file) {
            return Ok(None);
        }
        let fits = match name.as_str() {
            "AnyRaw" => v.ty == bt::ANY,
            "SliceRaw" => matches!(self.c.types.kind(v.ty), TK::Slice(_) | TK::String),
            "StringRaw" => matches!(self.c.types.kind(v.ty), TK::String),
            "ProtocolRaw" => self.c.is_protocol(v.ty),
            "ClosureRaw" => matches!(self.c.types.kind(v.ty), TK::Closure { .. }),
            _ => false,
        };
        if !fits {
            return Ok(None);
        }
        let m = self.materialize(v.clone(), span)?;
        let m = self.spill(m, span)?;
        Ok(Some(TV { ty: to, v: m.v }))
    }

    /// `xx av`: loads the boxed value as `to` without checking the tag. Numeric targets read
    /// the width the tag names and convert.
    pub fn any_unbox(&mut self, tv: TV, to: TypeId, span: Span) -> R<TV> {
        let (data, tag) = self.any_parts(tv, span)?;
        if self.c.types.is_numeric(to) {
            let size = self.rt_field(tag, "size");
            let kind = self.rt_field(tag, "kind");
            let fk = self.iconst(IrType::I64, cat::FLOAT);
            let is_float = self.b(|b| b.icmp(IntCC::Eq, kind, fk));
            let flags = self.rt_field(tag, "flags");
            let one = self.iconst(IrType::I64, flag::SIGNED);
            let sbit = self.b(|b| b.binary(IB::And, flags, one));
            let zero = self.iconst(IrType::I64, 0);
            let signed = self.b(|b| b.icmp(IntCC::Ne, sbit, zero));
            let (helper, via) = if self.c.types.is_float(to) { (RuntimeFn::LoadF64, bt::F64) } else { (RuntimeFn::LoadI64, bt::I64) };
            let v = self.call_runtime(helper, vec![data, size, is_float, signed], via, span)?;
            return self.convert(v, to, span);
        }
        Ok(self.load(data, to))
    }

    /// `av.(T)` (checked: a mismatch stops the program) and `av.(?T)` (soft: `null`).
    pub fn any_assert(&mut self, tv: TV, to: TypeId, span: Span) -> R<TV> {
        let (data, tag) = self.any_parts(tv, span)?;
        if let Some(inner) = self.c.types.optional_inner(to) {
            let want = self.type_value(inner, span)?;
            let hit = self.b(|b| b.icmp(IntCC::Eq, tag, want));
            let exact = self.type_value(to, span)?;
            let hit_opt = self.b(|b| b.icmp(IntCC::Eq, tag, exact));
            let yes = self.new_block();
            let opt_b = self.new_block();
            let no = self.new_block();
            let try_opt = self.new_block();
            self.b(|b| b.branch(hit, yes, vec![], try_opt, vec![]));
            self.switch(try_opt);
            self.b(|b| b.branch(hit_opt, opt_b, vec![], no, vec![]));
            self.switch(yes);
            let v = self.load(data, inner);
            let w = self.opt_wrap(v, to, span)?;
            let yes_end = self.e.cur;
            self.switch(opt_b);
            let o = self.load(data, to);
            let opt_end = self.e.cur;
            self.switch(no);
            let none = self.opt_none(to, span)?;
            let no_end = self.e.cur;
            return self.join(vec![(yes_end, w, span), (opt_end, o, span), (no_end, none, span)], Some(to), span);
        }
        let want = self.type_value(to, span)?;
        let ok = self.b(|b| b.icmp(IntCC::Eq, tag, want));
        let good = self.new_block();
        let bad = self.new_block();
        self.b(|b| b.branch(ok, good, vec![], bad, vec![]));
        self.switch(bad);
        self.assertion_failure(tag, to, span)?;
        self.switch(good);
        Ok(self.load(data, to))
    }

    /// `o?.(T)`: `null` stays `null`; a present payload is converted (an `any` payload is
    /// asserted). A `?U` target flattens: the result is `?U`, not `??U`.
    /// Refuses asserting an `any` to a protocol type `to` (or `?P`): its tag is always concrete.
    pub(crate) fn reject_any_to_protocol(&mut self, to: TypeId, span: Span) -> R<()> {
        let target = self.c.types.optional_inner(to).unwrap_or(to);
        if self.c.is_protocol(target) {
            let msg = format!(
                "an 'any' value's type tag is always a concrete type — it never holds an erased '{}', so this assertion can never succeed; assert the concrete type instead ('av.(T)') or switch on the tag ('if av == {{ case T: … }}')",
                self.tname(target)
            );
            return self.err(span, msg);
        }
        Ok(())
    }

    pub fn opt_cast(&mut self, e: &Expr, ty: &Expr, span: Span) -> R<TV> {
        self.opt_cast_with(e, ty, span, None).map(|(v, _)| v)
    }

    /// [`Self::opt_cast`]; with `on_mismatch`, an `?any` receiver whose present payload is not
    /// a `T` fails with `error.mismatch` to that fallback target (`None`: propagate) and
    /// trace site instead of stopping the program. The flag tells whether it could fail.
    pub fn opt_cast_with(
        &mut self,
        e: &Expr,
        ty: &Expr,
        span: Span,
        on_mismatch: Option<(Option<sx_ir::Block>, Option<Span>)>,
    ) -> R<(TV, bool)> {
        let to = self.type_expr(ty)?;
        let ov = self.expr(e, None)?;
        let Some(inner) = self.c.types.optional_inner(ov.ty) else {
            let msg = format!("'?.(…)' needs an optional, found '{}'", self.tname(ov.ty));
            return self.err(e.span, msg);
        };
        if inner == bt::ANY {
            self.reject_any_to_protocol(to, span)?;
        }
        let result = if self.c.types.optional_inner(to).is_some() { to } else { self.c.types.optional(to) };
        let ov = self.materialize(ov, e.span)?;
        let ov = self.spill(ov, e.span)?;
        let (pv, no) = self.split_optional(ov.clone(), e.span)?;
        let failable = inner == bt::ANY && on_mismatch.is_some() && self.c.types.optional_inner(to).is_none();
        let cv = if let (true, Some((target, trace))) = (failable, on_mismatch) {
            let (data, tag) = self.any_parts(pv, span)?;
            let want = self.type_value(to, span)?;
            let hit = self.b(|b| b.icmp(IntCC::Eq, tag, want));
            let good = self.new_block();
            let bad = self.new_block();
            self.b(|b| b.branch(hit, good, vec![], bad, vec![]));
            self.switch(bad);
            self.fail_with_tag("mismatch", target, trace, span)?;
            self.switch(good);
            self.load(data, to)
        } else if inner == bt::ANY {
            self.any_assert(pv, to, span)?
        } else if let Some(target) = self.c.types.optional_inner(to) {
            let c = self.convert(pv, target, span)?;
            self.opt_wrap(c, to, span)?
        } else {
            self.convert(pv, to, span)?
        };
        let cv = if cv.ty == result { cv } else { self.opt_wrap(cv, result, span)? };
        let yes_end = self.e.cur;
        self.switch(no);
        let none = self.opt_none(result, span)?;
        let no_end = self.e.cur;
        let v = self.join(vec![(yes_end, cv, span), (no_end, none, span)], Some(result), span)?;
        Ok((v, failable))
    }

    /// Prints `type assertion failed at <file>:<line>: expected T, got U` and exits with 1.
    fn assertion_failure(&mut self, tag: Value, want: TypeId, span: Span) -> R<()> {
        let file = self.c.sources.file(span.file);
        let (line, _) = file.line_col(span.lo);
        let msg = format!("type assertion failed at {}:{}: expected {}, got ", file.path, line, self.tname(want));
        let msg = self.materialize(TV::konst(ConstVal::Str(msg.into_bytes())), span)?;
        let V::Mem(ma) = msg.v else { return Err(()) };
        let name = self.rt_name(tag);
        let V::Mem(na) = name.v else { return Err(()) };
        self.flush_print_buffer(span)?;
        self.call_runtime(RuntimeFn::TypeAssertionFailed, vec![ma, na], bt::VOID, span)?;
        self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
        Ok(())
    }

    /// Prints the value an `any` views (through its tag's print function).
    pub fn emit_any(&mut self, tv: TV, span: Span) -> R<()> {
        let (data, tag) = self.any_parts(tv, span)?;
        self.emit_unless_null_tag(tag, span, |cx, done| {
            let p = cx.ptr_ty();
            let zero = cx.iconst(p, 0);
            let f = cx.rt_field(tag, "fmt");
            let has = cx.b(|b| b.icmp(IntCC::Ne, f, zero));
            let call = cx.new_block();
            cx.b(|b| b.branch(has, call, vec![], done, vec![]));
            cx.switch(call);
            cx.b(|b| b.call_indirect(Signature { params: vec![p], returns: vec![] }, f, vec![data]));
            Ok(())
        })
    }

    /// Prints `null` for a null type handle `tag`; otherwise runs `body` (which may also jump
    /// to the `done` block it is given) and continues after both.
    fn emit_unless_null_tag(&mut self, tag: Value, span: Span, body: impl FnOnce(&mut Self, sx_ir::Block) -> R<()>) -> R<()> {
        let p = self.ptr_ty();
        let zero = self.iconst(p, 0);
        let null = self.b(|b| b.icmp(IntCC::Eq, tag, zero));
        let some = self.new_block();
        let none = self.new_block();
        let done = self.new_block();
        self.b(|b| b.branch(null, none, vec![], some, vec![]));
        self.switch(none);
        self.emit_text("null", span)?;
        self.jump(done);
        self.switch(some);
        body(self, done)?;
        self.jump(done);
        self.switch(done);
        Ok(())
    }

    /// Prints a run-time `Type` value (its name).
    pub fn emit_type_value(&mut self, tv: TV, span: Span) -> R<()> {
        let tag = self.scalar(tv, span)?;
        self.emit_unless_null_tag(tag, span, |cx, _| {
            let name = cx.rt_name(tag);
            let V::Mem(na) = name.v else { return Err(()) };
            cx.call_helper("__sx_fmt_str", vec![na], bt::VOID, span)?;
            Ok(())
        })
    }

    /// The pattern a type-switch `case` names.
    fn type_pattern(&mut self, p: &Expr) -> R<TypePat> {
        if let ExprKind::Ident(id) = &p.kind {
            if !id.raw {
                if let Some(c) = category_named(&id.name) {
                    return Ok(TypePat::Category(c));
                }
            }
        }
        let v = self.expr(p, Some(bt::TYPE))?;
        match v.as_const() {
            Some(ConstVal::Type(t)) => Ok(TypePat::Concrete(*t)),
            _ => self.err(
                p.span,
                "a type switch 'case' names a type or a category (int, float, struct, tuple, enum, union, array, slice, pointer, optional, closure, type, vector, error_set; protocol in 'inline if')",
            ),
        }
    }

    /// Whether the compile-time type `t` is named by type-switch pattern `p` (a type or a
    /// category), for `inline if T == { case … }`.
    pub(crate) fn type_matches_pattern(&mut self, t: TypeId, p: &Expr) -> R<bool> {
        Ok(match self.type_pattern(p)? {
            TypePat::Concrete(c) => c == t,
            TypePat::Category(c) => self.c.in_category(t, c),
        })
    }

    /// `if v == { case T: … }` on an `any` (the tag) or a run-time `Type`.
    pub fn match_types(&mut self, sv: TV, arms: &[MatchArm], else_: Option<&Block>, expected: Option<TypeId>, span: Span) -> R<TV> {
        let is_any = sv.ty == bt::ANY;
        let sv = self.materialize(sv, span)?;
        let sv = self.spill(sv, span)?;
        let (data, tag) = if is_any {
            let (d, t) = self.any_parts(sv, span)?;
            (Some(d), t)
        } else {
            (None, self.scalar(sv, span)?)
        };
        // A null handle (a zeroed `any`) classifies as `void`.
        let p = self.ptr_ty();
        let zero = self.iconst(p, 0);
        let null = self.b(|b| b.icmp(IntCC::Eq, tag, zero));
        let void_rec = self.type_value(bt::VOID, span)?;
        let tag = self.b(|b| b.select(null, void_rec, tag));
        let mut seen: Vec<TypePat> = vec![];
        let mut results = vec![];
        let end = self.new_block();
        for arm in arms {
            let mut pats = vec![];
            for p in &arm.patterns {
                let pat = self.type_pattern(p)?;
                let covered = seen.iter().any(|s| match (s, pat) {
                    (TypePat::Concrete(a), TypePat::Concrete(b)) => *a == b,
                    (TypePat::Category(c), TypePat::Concrete(t)) => self.c.in_category(t, *c),
                    (TypePat::Category(a), TypePat::Category(b)) => *a == b,
                    (TypePat::Concrete(_), TypePat::Category(_)) => false,
                });
                if covered {
                    return self.err(
                        p.span,
                        "this arm is unreachable — earlier arms already claim every type it names (a concrete arm must come BEFORE the category that contains it)",
                    );
                }
                pats.push((pat, p.span));
            }
            seen.extend(pats.iter().map(|(p, _)| *p));
            let body_b = self.new_block();
            let next = self.new_block();
            for (k, (pat, pat_span)) in pats.iter().enumerate() {
                let c = self.type_test(tag, *pat, *pat_span)?;
                if k + 1 < pats.len() {
                    let more = self.new_block();
                    self.b(|b| b.branch(c, body_b, vec![], more, vec![]));
                    self.switch(more);
                } else {
                    self.b(|b| b.branch(c, body_b, vec![], next, vec![]));
                }
            }
            if pats.is_empty() {
                self.jump(body_b);
            }
            self.switch(body_b);
            self.push_scope();
            if let Some(cap) = &arm.capture {
                let bound = match (data, pats.as_slice()) {
                    (Some(d), [(TypePat::Concrete(t), _)]) => Some((d, *t)),
                    _ => None,
                };
                let Some((d, t)) = bound else {
                    self.scopes.pop();
                    let msg = if is_any {
                        "only an arm naming exactly one concrete type can bind the value (a category names many types)"
                    } else {
                        "a match on a 'Type' has no value to bind"
                    };
                    return self.err(cap.name.span, msg);
                };
                self.bind_capture(cap, d, t)?;
            }
            let v = self.block_value(&arm.body, expected);
            self.scopes.pop();
            let v = v?;
            results.push((self.e.cur, v, arm.body.span));
            self.switch(next);
        }
        self.finish_match(results, else_, expected, end, span)
    }

    /// An I8 that is 1 when the handle `tag` matches `pat`.
    fn type_test(&mut self, tag: Value, pat: TypePat, span: Span) -> R<Value> {
        let kinds: &[i64] = match pat {
            TypePat::Concrete(t) => {
                let want = self.type_value(t, span)?;
                return Ok(self.b(|b| b.icmp(IntCC::Eq, tag, want)));
            }
            TypePat::Category(c) => match c {
                Category::Int => &[cat::INT],
                Category::Float => &[cat::FLOAT],
                Category::Struct => &[cat::STRUCT],
                Category::Enum => &[cat::ENUM],
                Category::Union => &[cat::UNION],
                Category::Array => &[cat::ARRAY],
                Category::Slice => &[cat::SLICE],
                Category::Pointer => &[cat::POINTER, cat::MANY_POINTER],
                Category::Optional => &[cat::OPTIONAL],
                Category::Closure => &[cat::FUNC, cat::CLOSURE],
                Category::Type => &[cat::TYPE],
                Category::ErrorSet => &[cat::ERROR_SET],
                Category::Vector => &[cat::VECTOR],
                Category::Tuple => &[],
                Category::Protocol => {
                    return self.err(span, "a run-time type switch cannot test 'protocol': protocol values carry no type tag (use 'inline if T == { case protocol: … }' in generic code)");
                }
            },
        };
        let kind = self.rt_field(tag, "kind");
        let mut acc = self.iconst(IrType::I8, 0);
        for &k in kinds {
            let kv = self.iconst(IrType::I64, k);
            let e = self.b(|b| b.icmp(IntCC::Eq, kind, kv));
            acc = self.b(|b| b.binary(IB::Or, acc, e));
        }
        if pat == TypePat::Category(Category::Tuple) {
            // A struct whose record has the tuple flag.
            acc = self.kind_with_flag(tag, kind, cat::STRUCT, flag::TUPLE);
        }
        if pat == TypePat::Category(Category::Union) {
            // Tagged unions count as unions too.
            let tagged = self.kind_with_flag(tag, kind, cat::ENUM, flag::TAGGED);
            acc = self.b(|b| b.binary(IB::Or, acc, tagged));
        }
        Ok(acc)
    }

    /// An I8 that is 1 when type record `tag` (of category `kind`) is of category `category`
    /// with flag bit `bit` set.
    fn kind_with_flag(&mut self, tag: Value, kind: Value, category: i64, bit: i64) -> Value {
        let kv = self.iconst(IrType::I64, category);
        let is_kind = self.b(|b| b.icmp(IntCC::Eq, kind, kv));
        let flags = self.rt_field(tag, "flags");
        let bv = self.iconst(IrType::I64, bit);
        let masked = self.b(|b| b.binary(IB::And, flags, bv));
        let z = self.iconst(IrType::I64, 0);
        let set = self.b(|b| b.icmp(IntCC::Ne, masked, z));
        self.b(|b| b.binary(IB::And, is_kind, set))
    }
}
