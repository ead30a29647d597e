//! Tuples and multiple values.
//!
//! - `Tuple(A, B)` / `Tuple(x: A, y: B)` types: a tuple is a structural struct
//!   ([`sx_types::StructDef::tuple`]) whose positional elements are named `0`, `1`, …; a named
//!   tuple keeps its names and also answers `.0`, `.1`. Values come from `.{…}` against a tuple
//!   target or `Tuple(…).{…}` (the ordinary struct-literal path).
//! - Tuple operators: `==`/`!=` element-wise, `<`/`<=`/`>`/`>=` lexicographic, `+` concatenation,
//!   `* N` repetition (compile-time `N`), `v in t`; a 1-tuple compares with a scalar.
//! - Multiple return values: a function declared `-> (A, B)` / `-> (x: A, y: B)` returns the
//!   tuple of its value slots through the hidden result pointer (sret), so a call's value is an
//!   ordinary tuple in memory — bound once and read with `.0` / `.name`, or destructured. Named
//!   slots are locals of the body; reaching the end of the body returns them (each must be
//!   assigned on every path unless it has a default).
//! - Destructuring declarations `a, b := e;` and multi-target assignment `a, b = x, y;` /
//!   `a, b = e;` (every right-hand value is computed before any store).

use std::collections::BTreeSet;

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{BinOp as IB, Type as IrType, Value};
use sx_types::TypeKind as TK;

impl Compiler {
    /// The type a return spec denotes: `void` for `-> ()`, the single type, or the tuple of the
    /// value slots for a multi-value return. `params` are the function's parameter names (a
    /// named slot may not reuse one).
    pub(crate) fn ret_spec_type(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        r: &RetSpec,
        params: &[String],
    ) -> R<TypeId> {
        if r.values.is_empty() {
            return Ok(bt::VOID);
        }
        if !is_multi_return(r) {
            return self.eval_type_in(file, owner, outer, &r.values[0].ty);
        }
        let named = r.values.iter().filter(|s| s.name.is_some()).count();
        if named != 0 && named != r.values.len() {
            return self.err(r.span, "return slots must be all named or all positional");
        }
        let mut fields: Vec<(String, TypeId)> = vec![];
        for (i, s) in r.values.iter().enumerate() {
            let ty = self.eval_type_in(file, owner, outer, &s.ty)?;
            if ty == bt::VOID || ty == bt::NORETURN {
                return self.err(s.ty.span, format!("a return slot cannot have type '{}'", self.types.name(ty)));
            }
            let name = match &s.name {
                Some(n) => {
                    self.check_reserved(n)?;
                    if params.iter().any(|p| *p == n.name) {
                        let msg = format!("named return '{}' collides with a parameter of the same name — rename one", n.name);
                        return self.err(r.span, msg);
                    }
                    if fields.iter().any(|(f, _)| *f == n.name) {
                        return self.err(n.span, format!("named return '{}' is declared more than once", n.name));
                    }
                    n.name.clone()
                }
                None => i.to_string(),
            };
            fields.push((name, ty));
        }
        Ok(self.types.tuple(fields))
    }
}

/// The value written for a non-type `Tuple(…)` element in diagnostics.
fn element_kind(c: &TypeTable, v: &TV) -> String {
    match v.as_const() {
        Some(ConstVal::Int { ty: None, .. }) => "int_literal".into(),
        Some(ConstVal::Float { ty: None, .. }) => "float_literal".into(),
        Some(ConstVal::Str(_)) => "string_literal".into(),
        Some(ConstVal::Bool(_)) => "bool_literal".into(),
        Some(ConstVal::Null) => "null".into(),
        _ => c.name(v.ty),
    }
}

impl<'c> FnCx<'c> {
    // ---- types ------------------------------------------------------------------------------

    /// `Tuple(A, B)` / `Tuple(x: A, y: B)`: the tuple type.
    pub fn tuple_type_call(&mut self, args: &[Arg], span: Span) -> R<TV> {
        let named = args.iter().filter(|a| a.name.is_some()).count();
        if named != 0 && named != args.len() {
            return self.err(span, "a tuple type must name all its elements or none");
        }
        let mut fields: Vec<(String, TypeId)> = vec![];
        for a in args {
            if a.spread {
                if named != 0 {
                    return self.err(a.span, "a spread '..' in a tuple type needs positional elements");
                }
                for t in self.type_spread(&a.value)? {
                    fields.push((fields.len().to_string(), t));
                }
                continue;
            }
            let v = self.expr(&a.value, Some(bt::TYPE))?;
            let Some(ConstVal::Type(t)) = v.as_const().cloned() else {
                let msg = format!(
                    "tuple type element is not a type (found `{}`); a tuple used as a type must list only types, e.g. `Tuple(i32, i32)`",
                    element_kind(&self.c.types, &v)
                );
                return self.err(a.value.span, msg);
            };
            if t == bt::NORETURN {
                return self.err(a.value.span, "a tuple element cannot have type 'noreturn'");
            }
            let name = match &a.name {
                Some(n) => {
                    if fields.iter().any(|(f, _)| *f == n.name) {
                        return self.err(n.span, format!("tuple element '{}' is declared more than once", n.name));
                    }
                    n.name.clone()
                }
                None => fields.len().to_string(),
            };
            fields.push((name, t));
        }
        Ok(TV::konst(ConstVal::Type(self.c.types.tuple(fields))))
    }

    /// A tuple element by position (`t.0` also on a named tuple): byte offset and type.
    pub fn tuple_element(&self, ty: TypeId, name: &str) -> Option<(u64, TypeId)> {
        let s = self.c.types.struct_of(ty).filter(|s| s.tuple)?;
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let i: usize = name.parse().ok()?;
        s.fields.get(i).map(|f| (f.offset, f.ty))
    }

    /// `t[i]` on a tuple-like value: the element at compile-time index `i` (elements differ in
    /// type, so the index must be known).
    pub fn tuple_index(&mut self, addr: Value, ty: TypeId, index: &TV, span: Span) -> R<(Value, TypeId)> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let Some(ConstVal::Int { v, .. }) = index.as_const() else {
            let msg = format!("a tuple index must be a compile-time integer (the elements of '{}' differ in type)", self.tname(ty));
            return self.err(span, msg);
        };
        match usize::try_from(*v).ok().and_then(|i| fields.get(i)) {
            Some(f) => Ok((self.offset_addr(addr, f.offset as i64), f.ty)),
            None => {
                let msg = format!("index {} is out of bounds for '{}' ({} elements)", v, self.tname(ty), fields.len());
                self.err(span, msg)
            }
        }
    }

    /// A tuple or an anonymous struct (the value `.{…}` builds without a target type).
    pub fn is_tuple_like(&self, ty: TypeId) -> bool {
        self.c.types.struct_of(ty).map(|s| (s.tuple || s.anonymous) && !s.is_union).unwrap_or(false)
    }

    /// The elements of a tuple-like value, loaded in order (aggregates stay in place).
    pub fn tuple_elements(&mut self, tv: TV, span: Span) -> R<Vec<TV>> {
        let ty = tv.ty;
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let tv = self.materialize(tv, span)?;
        let V::Mem(a) = tv.v else { return self.err(span, format!("expected a value of type '{}'", self.tname(ty))) };
        let mut out = vec![];
        for f in fields {
            let fa = self.offset_addr(a, f.offset as i64);
            out.push(self.load(fa, f.ty));
        }
        Ok(out)
    }

    /// Builds a tuple of type `ty` from element values (coerced to the element types).
    fn build_tuple(&mut self, ty: TypeId, elems: Vec<TV>, span: Span) -> R<TV> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        for (f, v) in fields.iter().zip(elems) {
            let v = self.coerce(v, f.ty, span)?;
            let fa = self.offset_addr(a, f.offset as i64);
            self.store(fa, v, span)?;
        }
        Ok(TV { ty, v: V::Mem(a) })
    }

    /// Implicit conversion of a tuple-like value to another tuple type of the same length,
    /// element by element. `None` when it does not apply.
    pub fn coerce_to_tuple(&mut self, tv: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let from = tv.ty;
        if from == to || !self.c.types.is_tuple(to) || !self.is_tuple_like(from) {
            return Ok(None);
        }
        let n_to = self.c.types.struct_of(to).map(|s| s.fields.len()).unwrap_or(0);
        let n_from = self.c.types.struct_of(from).map(|s| s.fields.len()).unwrap_or(0);
        if n_to != n_from {
            return Ok(None);
        }
        let elems = self.tuple_elements(tv.clone(), span)?;
        Ok(Some(self.build_tuple(to, elems, span)?))
    }

    // ---- operators --------------------------------------------------------------------------

    /// Comparison with a tuple operand: element-wise equality, lexicographic ordering, and a
    /// 1-tuple against a scalar.
    pub fn tuple_compare(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        let (lt, rt) = (l.ty, r.ty);
        let (l_tup, r_tup) = (self.is_tuple_like(lt), self.is_tuple_like(rt));
        if l_tup != r_tup {
            // A 1-tuple compares like its element.
            let (t, other) = if l_tup { (l.clone(), r.clone()) } else { (r.clone(), l.clone()) };
            let n = self.c.types.struct_of(t.ty).map(|s| s.fields.len()).unwrap_or(0);
            if n != 1 {
                let msg = format!("cannot compare '{}' with '{}'", self.tname(lt), self.tname(rt));
                return self.err(span, msg);
            }
            let e0 = self.tuple_elements(t, span)?.remove(0);
            return if l_tup { self.compare(op, e0, other, span) } else { self.compare(op, other, e0, span) };
        }
        let le = self.tuple_elements(l, span)?;
        let re = self.tuple_elements(r, span)?;
        if le.len() != re.len() {
            let msg = format!("cannot compare tuples of different lengths: '{}' and '{}'", self.tname(lt), self.tname(rt));
            return self.err(span, msg);
        }
        match op {
            BinOp::Eq | BinOp::Ne => {
                let mut parts = vec![];
                for (a, b) in le.into_iter().zip(re) {
                    parts.push(self.compare(BinOp::Eq, a, b, span)?);
                }
                let eq = self.all_true(parts, span)?;
                Ok(if op == BinOp::Eq { eq } else { self.negate(eq) })
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => self.lexicographic(op, le, re, span),
            _ => self.err(span, format!("operator '{}' cannot be applied to tuples", crate::syntax_facts::op_text(op))),
        }
    }

    /// The conjunction of boolean values (constant when all are).
    fn all_true(&mut self, parts: Vec<TV>, span: Span) -> R<TV> {
        if parts.iter().all(|p| p.as_const().is_some()) {
            let all = parts.iter().all(|p| matches!(p.as_const(), Some(ConstVal::Bool(true))));
            return Ok(TV::konst(ConstVal::Bool(all)));
        }
        let mut acc: Option<Value> = None;
        for p in parts {
            let v = self.scalar(p, span)?;
            acc = Some(match acc {
                None => v,
                Some(x) => self.b(|b| b.binary(IB::And, x, v)),
            });
        }
        Ok(TV { ty: bt::BOOL, v: V::Scalar(acc.expect("non-empty")) })
    }

    /// The disjunction of boolean values (constant when all are).
    fn any_true(&mut self, parts: Vec<TV>, span: Span) -> R<TV> {
        if parts.iter().all(|p| p.as_const().is_some()) {
            let any = parts.iter().any(|p| matches!(p.as_const(), Some(ConstVal::Bool(true))));
            return Ok(TV::konst(ConstVal::Bool(any)));
        }
        let mut acc: Option<Value> = None;
        for p in parts {
            let v = self.scalar(p, span)?;
            acc = Some(match acc {
                None => v,
                Some(x) => self.b(|b| b.binary(IB::Or, x, v)),
            });
        }
        Ok(TV { ty: bt::BOOL, v: V::Scalar(acc.expect("non-empty")) })
    }

    fn negate(&mut self, tv: TV) -> TV {
        if let Some(ConstVal::Bool(b)) = tv.as_const() {
            return TV::konst(ConstVal::Bool(!b));
        }
        let V::Scalar(v) = tv.v else { return tv };
        let one = self.iconst(IrType::I8, 1);
        TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.binary(IB::Xor, v, one))) }
    }

    /// `a < b` (and `<=`, `>`, `>=`) on tuples: the first unequal element decides; all equal
    /// is true only for `<=` / `>=`.
    fn lexicographic(&mut self, op: BinOp, le: Vec<TV>, re: Vec<TV>, span: Span) -> R<TV> {
        let want_less = matches!(op, BinOp::Lt | BinOp::Le);
        let on_tie = matches!(op, BinOp::Le | BinOp::Ge);
        let res = self.e.f.slots.push(sx_ir::SlotData { size: 1, align: 1 });
        let done = self.new_block();
        for (a, b) in le.into_iter().zip(re) {
            for (cmp, answer) in [(BinOp::Lt, want_less), (BinOp::Gt, !want_less)] {
                let c = self.compare(cmp, a.clone(), b.clone(), span)?;
                let cv = self.scalar(c, span)?;
                let decided = self.new_block();
                let next = self.new_block();
                self.b(|bb| bb.branch(cv, decided, vec![], next, vec![]));
                self.switch(decided);
                let v = self.iconst(IrType::I8, answer as i64);
                let ra = self.slot_addr(res);
                self.b(|bb| bb.store(ra, 0, v));
                self.jump(done);
                self.switch(next);
            }
        }
        let v = self.iconst(IrType::I8, on_tie as i64);
        let ra = self.slot_addr(res);
        self.b(|bb| bb.store(ra, 0, v));
        self.jump(done);
        self.switch(done);
        let ra = self.slot_addr(res);
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|bb| bb.load(IrType::I8, ra, 0))) })
    }

    /// Arithmetic with a tuple operand: `a + b` concatenates, `t * N` repeats.
    pub fn tuple_arith(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        let (lt, rt) = (l.ty, r.ty);
        match op {
            BinOp::Add if self.is_tuple_like(lt) && self.is_tuple_like(rt) => {
                let lf = self.c.types.struct_of(lt).map(|s| s.fields.clone()).unwrap_or_default();
                let rf = self.c.types.struct_of(rt).map(|s| s.fields.clone()).unwrap_or_default();
                let all: Vec<&sx_types::Field> = lf.iter().chain(&rf).collect();
                // Names survive when every element is named and no name repeats.
                let names: BTreeSet<&str> = all.iter().map(|f| f.name.as_str()).collect();
                let keep_names = names.len() == all.len() && all.iter().all(|f| !f.name.bytes().all(|b| b.is_ascii_digit()));
                let fields: Vec<(String, TypeId)> =
                    all.iter().enumerate().map(|(i, f)| (if keep_names { f.name.clone() } else { i.to_string() }, f.ty)).collect();
                let ty = self.c.types.tuple(fields);
                let mut elems = self.tuple_elements(l, span)?;
                elems.extend(self.tuple_elements(r, span)?);
                self.build_tuple(ty, elems, span)
            }
            BinOp::Mul if self.is_tuple_like(lt) != self.is_tuple_like(rt) => {
                let (t, n) = if self.is_tuple_like(lt) { (l, r) } else { (r, l) };
                let count = match n.as_const() {
                    Some(ConstVal::Int { v, .. }) if self.c.types.is_int(n.ty) || n.as_const().map(|c| c.is_untyped()).unwrap_or(false) => {
                        *v
                    }
                    _ => return self.err(span, "a tuple can only be repeated by a compile-time integer ('t * 3')"),
                };
                if !(0..=1024).contains(&count) {
                    return self.err(span, format!("cannot repeat a tuple {} times", count));
                }
                let tf = self.c.types.struct_of(t.ty).map(|s| s.fields.clone()).unwrap_or_default();
                let mut fields = vec![];
                for _ in 0..count {
                    for f in &tf {
                        fields.push((fields.len().to_string(), f.ty));
                    }
                }
                let ty = self.c.types.tuple(fields);
                let one = self.tuple_elements(t, span)?;
                let mut elems = vec![];
                for _ in 0..count {
                    elems.extend(one.iter().cloned());
                }
                self.build_tuple(ty, elems, span)
            }
            _ => {
                let msg = format!(
                    "operator '{}' cannot be applied to '{}' and '{}'",
                    crate::syntax_facts::op_text(op),
                    self.tname(lt),
                    self.tname(rt)
                );
                self.err(span, msg)
            }
        }
    }

    /// `v in t`: whether some element of tuple `t` equals `v`.
    pub fn tuple_in(&mut self, lhs: &Expr, rhs: &Expr, span: Span) -> R<TV> {
        let l = self.expr(lhs, None)?;
        let r = self.expr(rhs, None)?;
        if !self.is_tuple_like(r.ty) {
            let msg = format!("'in' needs a tuple on its right, found '{}'", self.tname(r.ty));
            return self.err(rhs.span, msg);
        }
        let l = self.materialize(l, lhs.span)?;
        let l = self.spill(l, lhs.span)?;
        let elems = self.tuple_elements(r, rhs.span)?;
        let mut parts = vec![];
        for e in elems {
            parts.push(self.compare(BinOp::Eq, l.clone(), e, span)?);
        }
        if parts.is_empty() {
            return Ok(TV::konst(ConstVal::Bool(false)));
        }
        self.any_true(parts, span)
    }

    /// `o ?? v` where `o` holds a tuple: a scalar fallback is a likely slip for a 1-tuple.
    pub fn check_tuple_fallback(&mut self, payload: TypeId, fallback: &TV, span: Span) -> R<()> {
        if !self.c.types.is_tuple(payload) || self.is_tuple_like(fallback.ty) || self.c.types.optional_inner(fallback.ty).is_some() {
            return Ok(());
        }
        if matches!(fallback.v, V::Never) {
            return Ok(());
        }
        let msg = format!(
            "'??' default has type '{}', but the optional's payload is '{}' (a tuple fallback is written `.{{x}}`)",
            self.tname(fallback.ty),
            self.tname(payload)
        );
        self.err(span, msg)
    }

    // ---- destructuring and multi-target assignment -------------------------------------------

    /// `a, b := e;` (also `a, b : T = e;`, and `a, b : T;` declaring several variables).
    pub fn let_destructure(&mut self, names: &[Ident], ty: Option<&Expr>, value: Option<&Expr>, undef: bool, span: Span) -> R<()> {
        for n in names {
            if !is_discard(n) {
                self.c.check_reserved(n)?;
            }
        }
        let declared = match ty {
            Some(t) => Some(self.type_expr(t)?),
            None => None,
        };
        let Some(e) = value else {
            let Some(t) = declared else { return self.err(span, "declaration needs a type or a value") };
            if t == bt::VOID || t == bt::NORETURN {
                return self.err(span, format!("cannot declare a variable of type '{}'", self.tname(t)));
            }
            for n in names.iter().filter(|n| !is_discard(n)) {
                let s = self.slot_for(t);
                if !undef {
                    let a = self.slot_addr(s);
                    self.init_default(a, t, span)?;
                }
                self.bind(&n.name, Local::Var { slot: s, ty: t, by_ref: false, readonly: false });
            }
            return Ok(());
        };
        self.value_ctx = true;
        let tv = self.expr(e, None)?;
        if matches!(tv.v, V::Never) {
            return Ok(());
        }
        if self.failable_parts(tv.ty).is_some() && names.len() >= 2 && declared.is_none() {
            // A failable call the syntax alone did not recognise (a static method, a call
            // through a namespace): its value slots and its error.
            return self.bind_failable(names, tv, e.span).map(|_| ());
        }
        if !self.is_tuple_like(tv.ty) {
            let msg = format!(
                "cannot destructure a value of type '{}': only a tuple or a multi-value call can be destructured",
                self.tname(tv.ty)
            );
            return self.err(e.span, msg);
        }
        let elems = self.tuple_elements(tv, e.span)?;
        if elems.len() != names.len() {
            let msg = format!("cannot destructure {} values into {} names", elems.len(), names.len());
            return self.err(span, msg);
        }
        let mut binds = vec![];
        for (n, v) in names.iter().zip(elems) {
            if is_discard(n) {
                continue;
            }
            let t = declared.unwrap_or(v.ty);
            if t == bt::VOID || t == bt::NORETURN {
                return self.err(n.span, format!("cannot declare a variable of type '{}'", self.tname(t)));
            }
            let v = self.coerce(v, t, n.span)?;
            let s = self.slot_for(t);
            let a = self.slot_addr(s);
            self.store(a, v, n.span)?;
            binds.push((n.name.clone(), Local::Var { slot: s, ty: t, by_ref: false, readonly: false }));
        }
        for (n, l) in binds {
            self.bind(&n, l);
        }
        Ok(())
    }

    /// `a, b = x, y;` / `a, b = e;`: every target's location and every right-hand value are
    /// computed before the first store.
    pub fn multi_assign(&mut self, lhs: &[Expr], rhs: &[Expr], span: Span) -> R<()> {
        if self.multi_assign_properties(lhs, rhs, span)? {
            return Ok(());
        }
        let mut targets = vec![];
        for l in lhs {
            targets.push(self.assign_target(l)?);
        }
        let mut vals = vec![];
        if lhs.len() == rhs.len() {
            for (r, t) in rhs.iter().zip(&targets) {
                let v = self.expr(r, t.map(|(_, ty)| ty))?;
                if matches!(v.v, V::Never) {
                    return Ok(());
                }
                let v = match t {
                    Some((_, ty)) => self.coerce(v, *ty, r.span)?,
                    None => v,
                };
                let v = self.materialize(v, r.span)?;
                vals.push((self.spill(v, r.span)?, r.span));
            }
        } else if rhs.len() == 1 {
            let v = self.expr(&rhs[0], None)?;
            if matches!(v.v, V::Never) {
                return Ok(());
            }
            if !self.is_tuple_like(v.ty) {
                let msg = format!("cannot assign one value of type '{}' to {} targets", self.tname(v.ty), lhs.len());
                return self.err(rhs[0].span, msg);
            }
            let v = self.materialize(v, rhs[0].span)?;
            let v = self.spill(v, rhs[0].span)?;
            let elems = self.tuple_elements(v, rhs[0].span)?;
            if elems.len() != lhs.len() {
                let msg = format!("cannot destructure {} values into {} targets", elems.len(), lhs.len());
                return self.err(span, msg);
            }
            for (e, t) in elems.into_iter().zip(&targets) {
                let e = match t {
                    Some((_, ty)) => self.coerce(e, *ty, rhs[0].span)?,
                    None => e,
                };
                vals.push((e, rhs[0].span));
            }
        } else {
            return self.err(span, format!("assignment has {} targets but {} values", lhs.len(), rhs.len()));
        }
        for (t, (v, sp)) in targets.into_iter().zip(vals) {
            if let Some((addr, _)) = t {
                self.store(addr, v, sp)?;
            }
        }
        Ok(())
    }

    /// The location a multi-assignment writes (`None` for the `_` discard).
    fn assign_target(&mut self, e: &Expr) -> R<Option<(Value, TypeId)>> {
        const IMMUTABLE: &str = "constants are immutable (use a '=' global or a local copy for mutable data)";
        self.reject_context_field_write(e)?;
        self.end_narrowing(e);
        match &e.kind {
            ExprKind::Ident(id) if is_discard(id) => return Ok(None),
            ExprKind::Ident(id) => match self.resolve(id)? {
                None => {
                    let msg = format!(
                        "unresolved '{}' in assignment — no variable or global with this name; use '{} := ...' to declare a new variable",
                        id.name, id.name
                    );
                    return self.err(id.span, msg);
                }
                Some(Local::Var { readonly: true, ty, .. }) if matches!(self.c.types.kind(ty), TK::Pointer(_)) => {
                    let msg =
                        format!("cannot assign to by-ref capture '{}' directly — write through it with '{}.* = ...'", id.name, id.name);
                    return self.err(id.span, msg);
                }
                Some(Local::Const(c)) if !matches!(c, ConstVal::Global(..)) => {
                    return self.err(id.span, format!("cannot assign through constant '{}' — {}", id.name, IMMUTABLE));
                }
                _ => {}
            },
            ExprKind::Field { base, name } => {
                if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                    let what = match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                        Some(ConstVal::Global(..)) => None,
                        Some(ConstVal::Func(_)) => Some("a function"),
                        Some(ConstVal::Type(_)) => Some("a type"),
                        Some(ConstVal::Namespace(_)) => Some("a namespace"),
                        Some(_) => Some("a constant"),
                        None => return self.err(name.span, format!("namespace has no member '{}'", name.name)),
                    };
                    if let Some(what) = what {
                        let shown = format!("{}.{}", crate::syntax_facts::path_text(base), name.name);
                        return self.err(name.span, format!("cannot assign to '{}' — it is {}, not a mutable global", shown, what));
                    }
                }
                if let Some(root) = self.const_root(e)? {
                    return self.err(e.span, format!("cannot assign through constant '{}' — {}", root, IMMUTABLE));
                }
            }
            ExprKind::Index { .. } => {
                if let Some(root) = self.const_root(e)? {
                    return self.err(e.span, format!("cannot assign through constant '{}' — {}", root, IMMUTABLE));
                }
            }
            _ => {}
        }
        Ok(Some(self.place(e)?))
    }

    /// The constant a member/index target is rooted at (`K.x`, `K[1]`), if any.
    fn const_root(&mut self, e: &Expr) -> R<Option<String>> {
        let mut e = e;
        loop {
            match &e.kind {
                ExprKind::Field { base, .. } | ExprKind::Index { base, .. } => e = base,
                ExprKind::Ident(id) => {
                    return Ok(match self.resolve(id)? {
                        Some(Local::Const(ConstVal::Data(_, ty))) if !self.c.types.is_pointer_like(ty) => Some(id.name.clone()),
                        Some(Local::Const(ConstVal::Str(_))) => Some(id.name.clone()),
                        _ => None,
                    });
                }
                _ => return Ok(None),
            }
        }
    }

    // ---- multiple return values -------------------------------------------------------------

    /// At the start of a function declared `-> (A, B)` / `-> (x: A, y: B)`: binds the named
    /// slots as locals (seeded with their defaults or zero) and checks that every slot without
    /// a default is assigned on every path that reaches the end of the body.
    pub fn bind_multi_return(&mut self, decl: &FnDecl) -> R<()> {
        let Some(r) = &decl.ret else { return Ok(()) };
        let slots = self.value_slots_type();
        if !is_multi_return(r) || !self.c.types.is_tuple(slots) {
            return Ok(());
        }
        let fields = self.c.types.struct_of(slots).map(|s| s.fields.clone()).unwrap_or_default();
        let mut locals = vec![];
        if r.values.iter().all(|s| s.name.is_some()) {
            for (slot, f) in r.values.iter().zip(&fields) {
                let s = self.slot_for(f.ty);
                let a = self.slot_addr(s);
                match &slot.default {
                    Some(d) => {
                        let v = self.expr(d, Some(f.ty))?;
                        let v = self.coerce(v, f.ty, d.span)?;
                        self.store(a, v, d.span)?;
                    }
                    None => self.init_default(a, f.ty, slot.span)?,
                }
                self.bind(&f.name, Local::Var { slot: s, ty: f.ty, by_ref: false, readonly: false });
                locals.push((f.name.clone(), s, f.ty));
            }
            if let Some(Body::Block(blk)) = &decl.body {
                let required: Vec<String> =
                    r.values.iter().filter(|s| s.default.is_none()).filter_map(|s| s.name.as_ref().map(|n| n.name.clone())).collect();
                if let Some(assigned) = assigned_in_block(blk, BTreeSet::new()) {
                    if let Some(missing) = required.iter().find(|n| !assigned.contains(*n)) {
                        let msg = format!(
                            "named return '{}' may be unset (not assigned on every path) and has no default — assign it on every path, give it a default, or end with an explicit `return`",
                            missing
                        );
                        return self.err(blk.span, msg);
                    }
                }
            }
        }
        self.multi_ret = Some(MultiRet { locals });
        Ok(())
    }

    /// The type of the function's value slots: the return type, or a failable's success value
    /// (a tuple for a multi-value return).
    fn value_slots_type(&self) -> TypeId {
        match self.errs.fail.as_ref() {
            Some(f) => f.value.unwrap_or(bt::VOID),
            None => self.ret_ty,
        }
    }

    /// True when the function has named result slots (reaching the end of the body returns them).
    pub fn has_named_returns(&self) -> bool {
        self.multi_ret.as_ref().map(|m| !m.locals.is_empty()).unwrap_or(false)
    }

    /// Returns the current values of the named result slots.
    pub fn named_return(&mut self, span: Span) -> R<()> {
        let locals = self.multi_ret.as_ref().map(|m| m.locals.clone()).unwrap_or_default();
        let mut elems = vec![];
        for (_, s, ty) in locals {
            let a = self.slot_addr(s);
            elems.push(self.load(a, ty));
        }
        let slots = self.value_slots_type();
        let tv = self.build_tuple(slots, elems, span)?;
        self.emit_return(Some(tv), span)
    }

    /// `return a, b;`, `return x = a, y = b;`, and any `return` in a multi-value function.
    pub fn return_stmt(&mut self, vals: &[RetValue], span: Span) -> R<()> {
        let ret = self.value_slots_type();
        if self.multi_ret.is_none() {
            if vals.len() > 1 {
                let msg = format!("this function returns a single value, but a list of {} was given", vals.len());
                return self.err(span, msg);
            }
            return self.err(span, "a named return element needs named return slots (`-> (x: A, y: B)`)");
        }
        let fields = self.c.types.struct_of(ret).map(|s| s.fields.clone()).unwrap_or_default();
        let n = fields.len();
        if vals.is_empty() {
            if self.has_named_returns() {
                return self.named_return(span);
            }
            return self.err(span, format!("this function returns {} values — return them as `return a, b`", n));
        }
        if vals.len() == 1 && vals[0].name.is_none() {
            // A value that already is the result (e.g. another multi-value call's).
            let e = &vals[0].value;
            let tv = self.expr(e, Some(ret))?;
            if tv.ty == ret || matches!(tv.v, V::Never) || (self.errs.fail.is_some() && self.failable_parts(tv.ty).is_some()) {
                return self.emit_return(Some(tv), e.span);
            }
            return self.err(e.span, format!("this function returns {} values — return them as `return a, b`, not a single value", n));
        }
        let named = vals.iter().filter(|v| v.name.is_some()).count();
        if named != 0 && named != vals.len() {
            return self.err(span, "a return list must name all its elements or none");
        }
        if vals.len() != n {
            return self.err(span, format!("this function returns {} values, but {} were given", n, vals.len()));
        }
        let mut slot_of = vec![];
        for (i, v) in vals.iter().enumerate() {
            let k = match &v.name {
                None => i,
                Some(name) => match fields.iter().position(|f| f.name == name.name) {
                    Some(k) => k,
                    None => return self.err(span, format!("named return element '{}' does not name any return slot", name.name)),
                },
            };
            if slot_of.contains(&k) {
                let shown = v.name.as_ref().map(|x| x.name.clone()).unwrap_or_default();
                return self.err(span, format!("named return element '{}' is given more than once", shown));
            }
            slot_of.push(k);
        }
        let s = self.slot_for(ret);
        let a = self.slot_addr(s);
        for (v, k) in vals.iter().zip(slot_of) {
            let f = &fields[k];
            let tv = self.expr(&v.value, Some(f.ty))?;
            if matches!(tv.v, V::Never) {
                return Ok(());
            }
            let tv = self.coerce(tv, f.ty, v.value.span)?;
            let fa = self.offset_addr(a, f.offset as i64);
            self.store(fa, tv, v.value.span)?;
        }
        self.emit_return(Some(TV { ty: ret, v: V::Mem(a) }), span)
    }

    /// The result type of a function or closure type's return spec (`(A) -> (B, C)` is a
    /// multi-value one, `(A) -> (B, !E)` a failable one).
    pub fn fn_type_ret(&mut self, r: &RetSpec) -> R<TypeId> {
        if let Some(es) = &r.error {
            let err = match &es.set {
                None => bt::ANY_ERROR,
                Some(e) => {
                    let t = self.type_expr(e)?;
                    if !self.c.types.is_error_set(t) {
                        let msg = format!("'!{}' needs an error set", self.tname(t));
                        return self.err(e.span, msg);
                    }
                    t
                }
            };
            let plain = RetSpec { error: None, ..r.clone() };
            let value = self.fn_type_ret(&plain)?;
            return Ok(if value == bt::VOID { err } else { self.c.types.failable(value, err) });
        }
        if !is_multi_return(r) {
            return match r.values.first() {
                Some(s) => self.type_expr(&s.ty),
                None => Ok(bt::VOID),
            };
        }
        let mut fields = vec![];
        for (i, s) in r.values.iter().enumerate() {
            let t = self.type_expr(&s.ty)?;
            fields.push((s.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| i.to_string()), t));
        }
        Ok(self.c.types.tuple(fields))
    }
}

// ---- definite assignment of named result slots --------------------------------------------------

/// The names plainly assigned (`x = …`, `x, y = …`) on every path through `blk`, starting from
/// `set`; `None` when no path reaches its end (every path returns or raises).
fn assigned_in_block(blk: &Block, mut set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    for s in &blk.stmts {
        set = assigned_in_stmt(s, set)?;
    }
    match &blk.tail {
        Some(e) => assigned_in_expr(e, set),
        None => Some(set),
    }
}

fn assigned_in_stmt(s: &Stmt, mut set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    match &s.kind {
        StmtKind::Assign { lhs, .. } => {
            if let ExprKind::Ident(id) = &lhs.kind {
                set.insert(id.name.clone());
            }
            Some(set)
        }
        StmtKind::MultiAssign { lhs, .. } => {
            for l in lhs {
                if let ExprKind::Ident(id) = &l.kind {
                    set.insert(id.name.clone());
                }
            }
            Some(set)
        }
        StmtKind::Return(_) | StmtKind::Raise(_) => None,
        StmtKind::Expr(e) => assigned_in_expr(e, set),
        StmtKind::Block(b) => assigned_in_block(b, set),
        _ => Some(set),
    }
}

fn assigned_in_expr(e: &Expr, set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    match &e.kind {
        ExprKind::Block(b) => assigned_in_block(b, set),
        ExprKind::If { then, else_: Some(else_), .. } => {
            let a = assigned_in_expr(then, set.clone());
            let b = assigned_in_expr(else_, set);
            meet([a, b])
        }
        ExprKind::Match { arms, else_, .. } => {
            let mut outs: Vec<Option<BTreeSet<String>>> = arms.iter().map(|a| assigned_in_block(&a.body, set.clone())).collect();
            if let Some(b) = else_ {
                outs.push(assigned_in_block(b, set.clone()));
            }
            if outs.is_empty() {
                Some(set)
            } else {
                meet(outs)
            }
        }
        _ => Some(set),
    }
}

/// Joins control-flow paths: what every path that continues has assigned.
fn meet<I: IntoIterator<Item = Option<BTreeSet<String>>>>(paths: I) -> Option<BTreeSet<String>> {
    let mut acc: Option<BTreeSet<String>> = None;
    for p in paths.into_iter().flatten() {
        acc = Some(match acc {
            None => p,
            Some(a) => a.intersection(&p).cloned().collect(),
        });
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names definitely assigned at the end of `f`'s body (`None`: no path reaches it).
    fn assigned(src: &str) -> Option<Vec<String>> {
        let (file, diags) = sx_syntax::parse_file(sx_diag::FileId(0), src);
        assert!(diags.is_empty(), "{:?}", diags);
        let ItemKind::Const { value, .. } = &file.items[0].kind else { panic!("not a const") };
        let ExprKind::Fn(decl) = &value.kind else { panic!("not a function") };
        let Some(Body::Block(blk)) = &decl.body else { panic!("no body") };
        assigned_in_block(blk, BTreeSet::new()).map(|s| s.into_iter().collect())
    }

    #[test]
    fn straight_line_and_branches() {
        assert_eq!(assigned("f :: () { a = 1; b, c = 2, 3; }"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(assigned("f :: () { if x { a = 1; b = 1; } else { a = 2; } }"), Some(vec!["a".into()]));
        assert_eq!(assigned("f :: () { if x { a = 1; } }"), Some(vec![]));
        assert_eq!(assigned("f :: () { if x { a = 1; } else if y { a = 2; } else { a = 3; } }"), Some(vec!["a".into()]));
    }

    #[test]
    fn returning_paths_do_not_count() {
        assert_eq!(assigned("f :: () { if x { return; } a = 1; }"), Some(vec!["a".into()]));
        assert_eq!(assigned("f :: () { if x { return; } else { a = 1; } }"), Some(vec!["a".into()]));
        assert_eq!(assigned("f :: () { return; }"), None);
    }

    #[test]
    fn loops_and_matches() {
        assert_eq!(assigned("f :: () { while x { a = 1; } for xs (v) { b = 1; } }"), Some(vec![]));
        let m = "f :: () { if v == { case 1: a = 1; b = 1; case 2: a = 2; else: a = 3; } }";
        assert_eq!(assigned(m), Some(vec!["a".into()]));
        assert_eq!(assigned("f :: () { a = if x then 1 else 2; }"), Some(vec!["a".into()]));
    }
}
