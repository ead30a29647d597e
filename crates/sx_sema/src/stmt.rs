//! Lowering of statements and control flow.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{BinOp as IB, Type as IrType, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    /// Declares the functions and types of a block up front, so siblings can refer to each
    /// other regardless of order.
    pub fn predeclare_consts(&mut self, stmts: &[Stmt]) -> R<()> {
        let mut new_fns = vec![];
        for s in stmts {
            if let StmtKind::Const { name, value, .. } = &s.kind {
                match &value.kind {
                    ExprKind::Fn(decl) if decl.body.is_some() || decl.attrs.is_extern => {
                        let outer = self.local_const_snapshot();
                        let fid = self.c.new_fn(&name.name, decl, self.file, self.owner, outer, name.span);
                        self.bind(&name.name, Local::Const(ConstVal::Func(fid)));
                        new_fns.push(fid);
                    }
                    ExprKind::Struct(sd) => {
                        let outer = self.local_const_snapshot();
                        let t = self.c.declare_struct(&name.name, sd, self.file, outer, name.span)?;
                        self.bind(&name.name, Local::Const(ConstVal::Type(t)));
                    }
                    ExprKind::Enum(ed) => {
                        let outer = self.local_const_snapshot();
                        let t = self.c.declare_enum(&name.name, ed, self.file, outer)?;
                        self.bind(&name.name, Local::Const(ConstVal::Type(t)));
                    }
                    _ => {}
                }
            }
        }
        // Siblings (and the function itself) are visible inside each nested function.
        if !new_fns.is_empty() {
            let mut snap = (*self.local_const_snapshot()).clone();
            for s in stmts {
                if let StmtKind::Let { names, .. } = &s.kind {
                    for n in names {
                        snap.entry(n.name.clone()).or_insert(ConstVal::EnclosingLocal);
                    }
                }
            }
            let snap = Rc::new(snap);
            for f in new_fns {
                self.c.fns[f].local_consts = snap.clone();
            }
        }
        Ok(())
    }

    /// The constants (types, functions, values) visible from here, for nested functions.
    pub fn local_const_snapshot(&self) -> Rc<HashMap<String, ConstVal>> {
        let mut m: HashMap<String, ConstVal> = (*self.outer_consts).clone();
        for s in &self.scopes {
            for (k, l) in &s.names {
                match l {
                    Local::Const(c) => {
                        m.insert(k.clone(), c.clone());
                    }
                    Local::Var { .. } => {
                        m.insert(k.clone(), ConstVal::EnclosingLocal);
                    }
                }
            }
        }
        Rc::new(m)
    }

    pub fn stmt(&mut self, s: &Stmt) -> R<()> {
        self.close_debug_scopes();
        self.e.span = Some(s.span);
        let exit = match &s.kind {
            StmtKind::Return(_) => Some("return"),
            StmtKind::Raise(_) => Some("raise"),
            StmtKind::Break => Some("break"),
            StmtKind::Continue => Some("continue"),
            _ => None,
        };
        if let Some(what) = exit {
            self.check_cleanup_exit(what, s.span)?;
        }
        if let StmtKind::Let { names, ty: None, value: Some(v), .. } = &s.kind {
            if let ([n], ExprKind::Ident(id)) = (names.as_slice(), &v.kind) {
                // `_ := v;` only marks a local as used: it reads nothing.
                if crate::syntax_facts::is_discard(n) && matches!(self.lookup_local(&id.name), Some(Local::Var { .. })) {
                    return Ok(());
                }
            }
        }
        match &s.kind {
            StmtKind::Let { names, ty: None, value: Some(value), .. } if names.len() >= 2 && self.is_failable_destructure(value) => {
                self.destructure_failable(names, value, s.span).map(|_| ())
            }
            StmtKind::Let { names, ty, value, undef } => self.let_stmt(names, ty.as_ref(), value.as_ref(), *undef, s.span),
            StmtKind::Const { name, ty, value } => {
                if self
                    .lookup_local(&name.name)
                    .map(|l| matches!(l, Local::Const(ConstVal::Func(_)) | Local::Const(ConstVal::Type(_))))
                    .unwrap_or(false)
                    && matches!(value.kind, ExprKind::Fn(_) | ExprKind::Struct(_) | ExprKind::Enum(_))
                {
                    return Ok(());
                }
                self.c.check_reserved(name)?;
                let expected = match ty {
                    Some(t) => Some(self.type_expr(t)?),
                    None => None,
                };
                let outer = self.local_const_snapshot();
                let (file, owner) = (self.file, self.owner);
                let c = self.c.eval_const_in(file, owner, &outer, value, expected)?;
                self.bind(&name.name, Local::Const(c));
                Ok(())
            }
            StmtKind::Assign { op, lhs, rhs } => self.assign(*op, lhs, rhs, s.span),
            StmtKind::MultiAssign { lhs, rhs } => self.multi_assign(lhs, rhs, s.span),
            StmtKind::Expr(e) => {
                let tv = self.expr(e, None)?;
                if matches!(e.kind, ExprKind::Call { .. }) && self.failable_parts(tv.ty).is_some() && !matches!(tv.v, V::Never) {
                    return self.err(e.span, "the error of a failable call cannot be discarded: use 'try', 'catch' or an 'or' fallback");
                }
                if let V::Never = tv.v {
                    if !self.terminated() {
                        self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
                    }
                }
                Ok(())
            }
            StmtKind::Return(vals) => {
                if let [v] = vals.as_slice() {
                    if v.name.is_none() && self.return_full_failable(&v.value, s.span)? {
                        return Ok(());
                    }
                }
                if self.multi_ret.is_some() || vals.len() > 1 || vals.iter().any(|v| v.name.is_some()) {
                    return self.return_stmt(vals, s.span);
                }
                match vals.first() {
                    None => self.emit_return(None, s.span),
                    Some(v) => {
                        let ret = self.ret_ty;
                        let expected = if self.errs.fail.is_some() { self.body_value_type().or(Some(ret)) } else { self.body_value_type() };
                        let tv = self.expr(&v.value, expected)?;
                        self.emit_return(Some(tv), v.value.span)
                    }
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                let Some(l) = self.loops.last() else {
                    return self.err(s.span, "'break'/'continue' outside of a loop");
                };
                let (depth, target) = (l.depth, if matches!(s.kind, StmtKind::Break) { l.brk } else { l.cont });
                self.run_defers_from(depth)?;
                self.jump(target);
                Ok(())
            }
            StmtKind::Defer(inner) => {
                self.scopes.last_mut().expect("scope").defers.push((**inner).clone());
                Ok(())
            }
            StmtKind::While { cond, body } => self.while_loop(cond, body),
            StmtKind::For(f) => self.for_loop(f, s.span),
            StmtKind::Block(b) => {
                self.block_value(b, None)?;
                Ok(())
            }
            StmtKind::Run(e) => {
                let file = self.file;
                self.c.run_side_effect(file, e)
            }
            StmtKind::OnFail { .. } => self.onfail_stmt(s),
            StmtKind::Raise(e) => self.raise_stmt(e, s.span),
            StmtKind::Push { ctx, body } => self.push_stmt(ctx, body, s.span),
            StmtKind::Insert(e) => self.insert_stmt(e, s.span),
            StmtKind::Item(_) => self.err(s.span, "not supported yet: this declaration inside a function body"),
        }
    }

    fn let_stmt(&mut self, names: &[Ident], ty: Option<&Expr>, value: Option<&Expr>, undef: bool, span: Span) -> R<()> {
        if names.len() != 1 {
            return self.let_destructure(names, ty, value, undef, span);
        }
        let name = &names[0];
        self.c.check_reserved(name)?;
        let declared = match ty {
            Some(t) => Some(self.type_expr(t)?),
            None => None,
        };
        if let (Some(t), Some(e)) = (ty, value) {
            self.check_call_convention(t, e)?;
        }
        let (ty, tv) = match value {
            Some(e) => match self.let_value(e, declared) {
                Ok(Some((ty, tv))) => (ty, Some(tv)),
                Ok(None) => return Ok(()),
                Err(()) => {
                    // The declared type still holds: later uses are checked against it.
                    if let Some(t) = declared.filter(|t| *t != bt::VOID && *t != bt::NORETURN) {
                        let s = self.slot_for(t);
                        self.bind(&name.name, Local::Var { slot: s, ty: t, by_ref: false, readonly: false });
                    }
                    return Err(());
                }
            },
            None => match declared {
                Some(t) => (t, None),
                None => return self.err(span, "declaration needs a type or a value"),
            },
        };
        if ty == bt::VOID || ty == bt::NORETURN {
            return self.err(name.span, format!("cannot declare a variable of type '{}'", self.tname(ty)));
        }
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        match tv {
            Some(tv) => self.store(a, tv, span)?,
            // A tuple declared `---` starts zeroed.
            None if undef && !self.c.types.is_tuple(ty) => {}
            None => self.init_default(a, ty, span)?,
        }
        if let Some(ix) = self.c.index.as_mut() {
            ix.local(name.span, ty);
        }
        self.bind(&name.name, Local::Var { slot: s, ty, by_ref: false, readonly: false });
        Ok(())
    }

    /// The type and coerced value of a declaration's initializer (`None` when it never
    /// completes).
    fn let_value(&mut self, e: &Expr, declared: Option<TypeId>) -> R<Option<(TypeId, TV)>> {
        let view = match declared {
            Some(t) => self.view_of_place(e, t)?,
            None => None,
        };
        let tv = match view {
            Some(v) => v,
            None => {
                self.value_ctx = true;
                self.expr(e, declared)?
            }
        };
        if matches!(tv.v, V::Never) {
            return Ok(None);
        }
        let ty = match declared {
            Some(t) => t,
            None => {
                if tv.ty == bt::VOID {
                    return self.err(e.span, "cannot declare a variable of type 'void'");
                }
                if let Some(ConstVal::Null) = tv.as_const() {
                    return self.err(e.span, "cannot infer a type from 'null'");
                }
                self.lambda_local_type(e, tv.ty)
            }
        };
        let tv = self.coerce(tv, ty, e.span)?;
        Ok(Some((ty, tv)))
    }

    /// The type of a local initialized by a lambda literal: a lambda literal is a closure
    /// value (so the variable can later hold a capturing one), unless it declares a C ABI.
    fn lambda_local_type(&mut self, e: &Expr, ty: TypeId) -> TypeId {
        let ExprKind::Fn(decl) = &e.kind else { return ty };
        if decl.body.is_none() || decl.attrs.abi.is_some() {
            return ty;
        }
        match self.c.types.kind(ty).clone() {
            TK::Func { params, ret } => self.c.types.intern(TK::Closure { params, ret }),
            _ => ty,
        }
    }

    /// Lowers one assignment statement `lhs op= rhs`.
    pub(crate) fn assign_one(&mut self, op: AssignOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<()> {
        self.assign(op, lhs, rhs, span)
    }

    fn assign(&mut self, op: AssignOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<()> {
        if let (AssignOp::Assign, ExprKind::Ident(id)) = (op, &lhs.kind) {
            if id.name == "_" && !id.raw {
                let v = self.expr(rhs, None)?;
                if let V::Never = v.v {
                    self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
                }
                return Ok(());
            }
        }
        self.reject_context_field_write(lhs)?;
        self.end_narrowing(lhs);
        if self.property_assign(op, lhs, rhs, span)? || self.runtime_field_assign(op, lhs, rhs, span)? {
            return Ok(());
        }
        let (addr, ty) = self.place(lhs)?;
        if op == AssignOp::Assign {
            let v = match self.view_of_place(rhs, ty)? {
                Some(v) => v,
                None => self.expr(rhs, Some(ty))?,
            };
            let v = self.coerce(v, ty, rhs.span)?;
            return self.store(addr, v, span);
        }
        let bop = crate::syntax_facts::compound_binop(op);
        let cur = self.load(addr, ty);
        let r = self.expr(rhs, Some(ty))?;
        let v = self.arith(bop, cur, r, span)?;
        let v = if self.c.types.is_int(ty) && self.c.types.is_float(v.ty) {
            return self.err(span, format!("cannot store a float result into '{}' without a cast", self.tname(ty)));
        } else {
            self.coerce_or_truncate(v, ty, span)?
        };
        self.store(addr, v, span)
    }

    /// Coerces, allowing the narrowing that compound assignment to a narrow int implies.
    fn coerce_or_truncate(&mut self, v: TV, ty: TypeId, span: Span) -> R<TV> {
        if self.c.types.is_int(v.ty) && self.c.types.is_int(ty) {
            self.convert(v, ty, span)
        } else {
            self.coerce(v, ty, span)
        }
    }

    fn while_loop(&mut self, cond: &Cond, body: &Block) -> R<()> {
        let head = self.new_block();
        let bodyb = self.new_block();
        let exit = self.new_block();
        self.jump(head);
        self.switch(head);
        let (t, bound) = match cond {
            Cond::Expr(c) => {
                let cv = self.expr(c, Some(bt::BOOL))?;
                (self.truth(cv, c.span)?, None)
            }
            Cond::Bind { name, value } => {
                let (p, opt) = self.bind_condition(name, value)?;
                (p, Some((name.clone(), opt)))
            }
        };
        self.b(|b| b.branch(t, bodyb, vec![], exit, vec![]));
        self.switch(bodyb);
        self.push_scope();
        if let Some((name, opt)) = bound {
            self.bind_payload(&name, opt)?;
        }
        self.loop_body(body, exit, head)?;
        self.jump(head);
        self.switch(exit);
        Ok(())
    }

    /// Lowers a loop body in the scope opened for it (closed here): `break` goes to `brk`,
    /// `continue` to `cont`.
    pub(crate) fn loop_body(&mut self, body: &Block, brk: sx_ir::Block, cont: sx_ir::Block) -> R<()> {
        self.loops.push(LoopCx { brk, cont, depth: self.scopes.len() });
        let r = self.block_value(body, None);
        self.loops.pop();
        if r.is_err() {
            self.scopes.pop();
            return Err(());
        }
        self.pop_scope()
    }

    fn for_loop(&mut self, f: &ForLoop, span: Span) -> R<()> {
        if f.inline {
            return self.inline_for(f, span);
        }
        if f.iters.is_empty() {
            return self.err(span, "'for' needs something to iterate");
        }
        let p = self.ptr_ty();
        enum It {
            Range { start: sx_ir::Slot, ty: TypeId },
            Coll { base: sx_ir::Slot, elem: TypeId },
        }
        let mut its = vec![];
        let mut count: Option<Value> = None;
        for (k, e) in f.iters.iter().enumerate() {
            if let ExprKind::Range { lo, hi, lo_exclusive, hi_inclusive } = &e.kind {
                let Some(lo) = lo else { return self.err(e.span, "a 'for' range needs a start") };
                let lov = self.expr(lo, None)?;
                let hiv = match hi {
                    Some(h) => Some(self.expr(h, None)?),
                    None => None,
                };
                let mut ty = bt::I64;
                for v in [Some(&lov), hiv.as_ref()].into_iter().flatten() {
                    if !v.as_const().map(|c| c.is_untyped()).unwrap_or(false) {
                        if !self.c.types.is_int(v.ty) {
                            return self.err(e.span, format!("range bounds must be integers, found '{}'", self.tname(v.ty)));
                        }
                        ty = bt::I64;
                    }
                }
                let lov = self.coerce_or_truncate(lov, ty, lo.span)?;
                let mut start = self.scalar(lov, lo.span)?;
                if *lo_exclusive {
                    let one = self.iconst(IrType::I64, 1);
                    start = self.b(|b| b.binary(IB::Iadd, start, one));
                }
                let ss = self.slot_for(ty);
                let sa = self.slot_addr(ss);
                self.b(|b| b.store(sa, 0, start));
                if let Some(hv) = hiv {
                    let hv = self.coerce_or_truncate(hv, ty, e.span)?;
                    let mut end = self.scalar(hv, e.span)?;
                    if *hi_inclusive {
                        let one = self.iconst(IrType::I64, 1);
                        end = self.b(|b| b.binary(IB::Iadd, end, one));
                    }
                    if count.is_none() {
                        let n = self.b(|b| b.binary(IB::Isub, end, start));
                        count = Some(n);
                    }
                } else if k == 0 {
                    return self.err(e.span, "the first iterable of a 'for' must be bounded");
                }
                its.push(It::Range { start: ss, ty });
            } else {
                let tv = match self.place_opt(e, false)? {
                    Some((a, t)) => TV { ty: t, v: V::Mem(a) },
                    None => {
                        let v = self.expr(e, None)?;
                        let v = self.materialize(v, e.span)?;
                        self.spill(v, e.span)?
                    }
                };
                let mut ty = tv.ty;
                let mut addr = match tv.v {
                    V::Mem(a) => a,
                    V::Scalar(a) => a,
                    _ => return self.err(e.span, "cannot iterate this value"),
                };
                // Through a pointer to a collection.
                if let TK::Pointer(inner) = self.c.types.kind(ty).clone() {
                    if self.c.types.scalar(ty).is_some() && !matches!(tv.v, V::Scalar(_)) {
                        addr = self.b(|b| b.load(p, addr, 0));
                    }
                    ty = inner;
                }
                // A struct with an `items: []T` field (how `List` iterates).
                if let TK::Struct(_) = self.c.types.kind(ty) {
                    if let Some((off, fty)) = self.field_of(ty, "items") {
                        if matches!(self.c.types.kind(fty), TK::Slice(_)) {
                            addr = self.offset_addr(addr, off as i64);
                            ty = fty;
                        }
                    }
                }
                let (base, len, elem) = match self.c.types.kind(ty).clone() {
                    TK::Array(n, el) => {
                        let len = self.iconst(p, n as i64);
                        (addr, len, el)
                    }
                    TK::Slice(el) => {
                        let pb = self.c.module.pointer_bytes() as i32;
                        let (b0, l) = self.b(|b| (b.load(p, addr, 0), b.load(p, addr, pb)));
                        (b0, l, el)
                    }
                    TK::String => {
                        let pb = self.c.module.pointer_bytes() as i32;
                        let (b0, l) = self.b(|b| (b.load(p, addr, 0), b.load(p, addr, pb)));
                        (b0, l, bt::U8)
                    }
                    _ => {
                        let msg = format!("cannot iterate over a value of type '{}'", self.tname(ty));
                        return self.err(e.span, msg);
                    }
                };
                let bs = self.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
                let ba = self.slot_addr(bs);
                self.b(|b| b.store(ba, 0, base));
                if count.is_none() {
                    count = Some(len);
                }
                its.push(It::Coll { base: bs, elem });
            }
        }
        let count = count.expect("count");
        let lp = self.e.counted_loop(count);
        self.push_scope();
        if !f.captures.is_empty() && f.captures.len() != its.len() {
            return self.err(f.captures[0].name.span, "for capture count must match the iterable count — one capture per iterable");
        }
        for cap in &f.captures {
            self.c.check_reserved(&cap.name)?;
        }
        for (k, cap) in f.captures.iter().enumerate() {
            let i = self.e.loop_index(&lp);
            match &its[k] {
                It::Range { start, ty } => {
                    if cap.by_ref {
                        return self.err(cap.name.span, "a range value cannot be captured by reference");
                    }
                    let sa = self.slot_addr(*start);
                    let st = self.b(|b| b.load(IrType::I64, sa, 0));
                    let v = self.b(|b| b.binary(IB::Iadd, st, i));
                    let s = self.slot_for(*ty);
                    let a = self.slot_addr(s);
                    self.b(|b| b.store(a, 0, v));
                    self.bind(&cap.name.name, Local::Var { slot: s, ty: *ty, by_ref: false, readonly: true });
                }
                It::Coll { base, elem } => {
                    let esz = self.c.types.size_of(*elem) as i64;
                    let ba = self.slot_addr(*base);
                    let b0 = self.b(|b| b.load(p, ba, 0));
                    let sz = self.iconst(p, esz);
                    let off = self.b(|b| b.binary(IB::Imul, i, sz));
                    let ea = self.b(|b| b.binary(IB::Iadd, b0, off));
                    if cap.by_ref {
                        let pty = self.c.types.pointer(*elem);
                        let s = self.slot_for(pty);
                        let a = self.slot_addr(s);
                        self.b(|b| b.store(a, 0, ea));
                        self.bind(&cap.name.name, Local::Var { slot: s, ty: pty, by_ref: false, readonly: true });
                    } else {
                        let s = self.slot_for(*elem);
                        let a = self.slot_addr(s);
                        let v = self.load(ea, *elem);
                        self.store(a, v, span)?;
                        self.bind(&cap.name.name, Local::Var { slot: s, ty: *elem, by_ref: false, readonly: true });
                    }
                }
            }
        }
        self.loop_body(&f.body, lp.exit, lp.step)?;
        self.e.end_counted_loop(lp);
        Ok(())
    }
}
