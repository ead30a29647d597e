//! Lowering of calls: direct, method, UFCS, indirect, and compiler intrinsics.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{Type as IrType, Value};
use sx_types::TypeKind as TK;

/// What a call expression calls.
enum Callee {
    Direct(FnId),
    Indirect(TV),
    Intrinsic(String),
    /// A method of the protocol value at this address.
    Protocol(Value, TypeId, Ident),
    /// A method of a runtime class (`jni_calls`).
    Runtime(crate::jni_rules::RuntimeTarget, Ident),
}

impl<'c> FnCx<'c> {
    pub fn call(&mut self, callee: &Expr, args: &[Arg], expected: Option<TypeId>, span: Span) -> R<TV> {
        // Type constructors take spreads of types (`Tuple(..Ts)`, `S(i64, ..xs.T)`), not values.
        if let (ExprKind::Ident(id), true) = (&callee.kind, args.iter().any(|a| a.spread)) {
            match self.resolve(id)? {
                None if !id.raw && id.name == "Tuple" => return self.tuple_type_call(args, span),
                Some(Local::Const(ConstVal::GenericStruct(g))) => return self.generic_struct_call(g, args, span),
                _ => {}
            }
        }
        if let Some(expanded) = self.expand_pack_args(args)? {
            return self.call(callee, &expanded, expected, span);
        }
        if let Some(expanded) = self.expand_value_spreads(args)? {
            return self.call(callee, &expanded, expected, span);
        }
        let mut receiver: Option<(Expr, bool)> = None;
        // Tagged-union construction: `.variant(payload)` / `E.variant(payload)`.
        if let ExprKind::EnumLit(id) = &callee.kind {
            let target = expected.map(|t| self.deref_enum(t)).filter(|t| matches!(self.c.types.kind(*t), TK::Enum(_)));
            if target.is_none() {
                if let Some(r) = self.struct_static_shorthand(id, args, expected, span)? {
                    return Ok(r);
                }
            }
            return match target {
                Some(t) => self.enum_variant_value(t, id, Some(args), span),
                None => self.err(callee.span, format!("enum literal '.{}' needs a known enum type here", id.name)),
            };
        }
        if let ExprKind::Field { base, name } = &callee.kind {
            if let Some(t) = self.try_type(base)? {
                let is_variant = self.c.types.enum_of(t).map(|e| e.variants.iter().any(|v| v.name == name.name)).unwrap_or(false);
                if is_variant {
                    return self.enum_variant_value(t, name, Some(args), span);
                }
            }
        }
        if let ExprKind::Directive(d) = &callee.kind {
            if matches!(&d.name.name[..], "jni_call" | "jni_static_call") {
                return self.jni_call_directive(d, args, span);
            }
        }
        let target = match &callee.kind {
            ExprKind::Ident(id) => {
                let resolved = self.resolve(id)?;
                if resolved.is_none() && !id.raw && id.name == "Tuple" {
                    return self.tuple_type_call(args, span);
                }
                if resolved.is_none() && !id.raw && builtin_type(&mut self.c.types, &id.name).is_some() {
                    return self.err(callee.span, format!("'{}' is a type, not a function; use a cast '.({})'", id.name, id.name));
                }
                match resolved {
                    Some(Local::Const(ConstVal::GenericStruct(g))) => return self.generic_struct_call(g, args, span),
                    Some(Local::Const(ConstVal::Type(t))) if self.c.is_protocol_family(t) => {
                        return self.protocol_instance_call(t, args, span);
                    }
                    Some(Local::Const(ConstVal::Func(f))) => Callee::Direct(f),
                    Some(Local::Const(ConstVal::Intrinsic(n))) => Callee::Intrinsic(n),
                    Some(Local::Const(ConstVal::Type(t))) => {
                        let msg = format!("'{}' is a type, not a function", self.tname(t));
                        return self.err(callee.span, msg);
                    }
                    Some(_) => Callee::Indirect(self.expr(callee, None)?),
                    None => return self.err(id.span, format!("undeclared identifier '{}'", id.name)),
                }
            }
            ExprKind::Field { base, name } => {
                // `ns.Box(args)`: the parameterised struct authored by that module.
                if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                    match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                        Some(ConstVal::GenericStruct(g)) => return self.generic_struct_call(g, args, span),
                        Some(ConstVal::Type(t)) if self.c.is_protocol_family(t) => return self.protocol_instance_call(t, args, span),
                        _ => {}
                    }
                }
                self.method_target(base, name, &mut receiver)?
            }
            _ => Callee::Indirect(self.expr(callee, None)?),
        };
        if let (Callee::Indirect(_), Some(named)) = (&target, args.iter().find_map(|a| a.name.as_ref())) {
            let msg = format!(
                "named argument '{}': a closure or function-pointer value has no parameter names, so its arguments bind by position",
                named.name
            );
            return self.err(span, msg);
        }
        match target {
            Callee::Intrinsic(n) => match receiver {
                // A dot-called intrinsic: the receiver is its first argument.
                Some((recv, _)) => {
                    let mut all = vec![Arg { name: None, value: recv, spread: false, span: callee.span }];
                    all.extend(args.iter().cloned());
                    self.intrinsic(&n, &all, expected, span)
                }
                None => self.intrinsic(&n, args, expected, span),
            },
            Callee::Protocol(obj, p, name) => self.protocol_call(obj, p, &name, args, span),
            Callee::Runtime(target, name) => self.runtime_call(target, &name, args, span),
            Callee::Direct(fid) => self.direct_call(fid, receiver, args, span),
            Callee::Indirect(tv) if matches!(self.c.types.kind(tv.ty), TK::Closure { .. }) => self.call_closure(tv, args, span),
            Callee::Indirect(tv) => {
                let TK::Func { params, ret } = self.c.types.kind(tv.ty).clone() else {
                    let msg = format!("cannot call a value of type '{}'", self.tname(tv.ty));
                    return self.err(callee.span, msg);
                };
                if args.len() != params.len() {
                    return self.err(span, format!("expected {} arguments, found {}", params.len(), args.len()));
                }
                let fv = self.scalar(tv, callee.span)?;
                self.indirect_call(fv, None, &params, ret, args, span)
            }
        }
    }

    /// `f(a) { … }`: the trailing block is the argument of `f`'s last parameter, so earlier
    /// parameters with defaults may be left out (`scaffold() { … }`).
    pub(crate) fn bind_trailing_block(&mut self, callee: &Expr, args: &[Arg]) -> R<Option<Rc<Vec<Arg>>>> {
        let ExprKind::Ident(id) = &callee.kind else { return Ok(None) };
        let Some(Local::Const(ConstVal::Func(fid))) = self.resolve(id)? else { return Ok(None) };
        let params = &self.c.fns[fid].decl.params;
        let Some(last) = params.last().and_then(|p| p.name.clone()) else { return Ok(None) };
        if let ([given @ .., block], Some(_)) = (args, self.c.fns[fid].decl.body.as_ref()) {
            if given.iter().any(|a| a.name.as_ref().map(|n| n.name == last.name).unwrap_or(false)) {
                return self.err(block.span, format!("parameter '{}' is given both by name and by the trailing block", last.name));
            }
        }
        let params = &self.c.fns[fid].decl.params;
        let positional = args.iter().filter(|a| a.name.is_none()).count();
        if positional >= params.len() || args.iter().any(|a| a.spread || a.name.as_ref().map(|n| n.name == last.name).unwrap_or(false)) {
            return Ok(None);
        }
        let mut out = args.to_vec();
        if let Some(block) = out.last_mut() {
            block.name = Some(Ident { name: last.name.clone(), span: block.span, raw: false });
        }
        let out = Rc::new(out);
        Ok(Some(out))
    }

    /// A function type spelled with `abi(.c)` only holds functions with the C calling
    /// convention (`extern` or `abi(.c)` themselves).
    pub(crate) fn check_call_convention(&mut self, ty: &Expr, value: &Expr) -> R<()> {
        let ExprKind::Fn(ft) = &ty.kind else { return Ok(()) };
        if ft.body.is_some() || ft.attrs.abi.is_none() {
            return Ok(());
        }
        let ExprKind::Ident(id) = &value.kind else { return Ok(()) };
        let Some(Local::Const(ConstVal::Func(fid))) = self.resolve(id)? else { return Ok(()) };
        let attrs = &self.c.fns[fid].decl.attrs;
        if attrs.is_extern || attrs.abi.is_some() {
            return Ok(());
        }
        let msg =
            format!("call-convention mismatch: '{}' is declared with default sx convention but the target type expects abi(.c)", id.name);
        self.err(value.span, msg)
    }

    /// `S(args)` of a parameterised struct: the instance type for those compile-time values.
    fn generic_struct_call(&mut self, g: u32, args: &[Arg], span: Span) -> R<TV> {
        let mut vals = vec![];
        let params = self.c.inst.generic_structs[g as usize].1.params.clone().unwrap_or_default();
        let (gfile, gouter) = (self.c.inst.generic_structs[g as usize].2, self.c.inst.generic_structs[g as usize].3.clone());
        for (i, a) in args.iter().enumerate() {
            if a.spread {
                // `S(A, ..Ts)`: the spread types fill the struct's pack parameter.
                for t in self.type_spread(&a.value)? {
                    vals.push(ConstVal::Type(t));
                }
                continue;
            }
            // A value parameter (`$K: u32`) takes its argument at the declared type.
            let declared = match params.get(i).and_then(|p| p.ty.as_ref()) {
                Some(t) if !matches!(&t.kind, ExprKind::Ident(id) if id.name == "Type") => {
                    Some(self.c.eval_type_in(gfile, None, &gouter, t)?)
                }
                _ => None,
            };
            let v = self.expr(&a.value, declared)?;
            let v = match declared {
                Some(t) if self.c.types.is_int(t) => {
                    if let (Some(ConstVal::Int { v: n, .. }), TK::Int { bits, signed, .. }) = (v.as_const(), self.c.types.kind(t).clone()) {
                        let (lo, hi) = crate::consts::int_range(bits, signed);
                        if *n < lo || *n > hi {
                            let pname = params[i].name.as_ref().map(|n| n.name.clone()).unwrap_or_default();
                            let msg = format!("value {} does not fit in {} parameter {}", n, self.tname(t), pname);
                            return self.err(a.value.span, msg);
                        }
                    }
                    self.coerce(v, t, a.value.span)?
                }
                _ => v,
            };
            match v.as_const() {
                Some(c) => vals.push(c.clone()),
                None => return self.err(a.value.span, "a struct parameter must be a compile-time value"),
            }
        }
        let t = self.c.struct_instance(g, vals, span)?;
        Ok(TV::konst(ConstVal::Type(t)))
    }

    /// `P(args)` of a protocol family: the instance protocol for those compile-time values.
    fn protocol_instance_call(&mut self, family: TypeId, args: &[Arg], span: Span) -> R<TV> {
        let mut vals = vec![];
        for a in args {
            if a.spread || a.name.is_some() {
                return self.err(a.span, "not supported yet: named or spread arguments of a protocol family");
            }
            let v = self.expr(&a.value, Some(bt::TYPE))?;
            // An untyped literal takes its default type, so `P(1)` and `P(1 as i64)` agree.
            let v = if v.as_const().is_some_and(|c| c.is_untyped()) { self.coerce(v.clone(), v.ty, a.value.span)? } else { v };
            match v.as_const() {
                Some(c) => vals.push(c.clone()),
                None => return self.err(a.value.span, "a protocol argument must be a compile-time value"),
            }
        }
        let t = self.c.protocol_instance(family, vals, span)?;
        Ok(TV::konst(ConstVal::Type(t)))
    }

    /// An indirect call of `code` with the sx calling convention: the hidden result pointer
    /// (aggregate results), then `leading` (a closure environment or protocol context), then
    /// `args` coerced to `params`.
    pub(crate) fn indirect_call(
        &mut self,
        code: Value,
        leading: Option<Value>,
        params: &[TypeId],
        ret: TypeId,
        args: &[Arg],
        span: Span,
    ) -> R<TV> {
        if args.len() != params.len() {
            return self.err(span, format!("expected {} arguments, found {}", params.len(), args.len()));
        }
        let mut irargs = vec![];
        let sret = returns_via_sret(&self.c.types, ret);
        let rslot = self.sret_arg(ret, &mut irargs);
        let mut all = vec![];
        if let Some(l) = leading {
            irargs.push(l);
            all.push(self.c.types.pointer(bt::VOID));
        }
        for (a, &pt) in args.iter().zip(params) {
            let v = self.expr(&a.value, Some(pt))?;
            let v = self.coerce(v, pt, a.value.span)?;
            irargs.push(self.pass_arg(v, a.value.span)?);
        }
        all.extend(params.iter().copied());
        let sig = FnSig { params: all, param_names: vec![], defaults: vec![], ret, sret, is_extern: false, variadic: false };
        let irsig = self.c.ir_sig(&sig);
        let res = self.b(|b| b.call_indirect(irsig, code, irargs));
        Ok(self.call_result(ret, res, rslot))
    }

    /// Resolves `base.name(...)`: namespace function, static member, field of function type,
    /// method (with receiver), or opt-in UFCS function.
    fn method_target(&mut self, base: &Expr, name: &Ident, receiver: &mut Option<(Expr, bool)>) -> R<Callee> {
        self.check_pack_view(base, name)?;
        if matches!(base.kind, ExprKind::Ident(_) | ExprKind::Field { .. }) {
            if let Some(ConstVal::Namespace(f)) = self.resolve_path(base)? {
                return match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                    Some(ConstVal::Func(fid)) => Ok(Callee::Direct(fid)),
                    Some(ConstVal::Intrinsic(n)) => Ok(Callee::Intrinsic(n)),
                    Some(_) => self.err(name.span, format!("'{}' is not a function", name.name)),
                    None => self.err(name.span, format!("namespace has no member '{}'", name.name)),
                };
            }
        }
        if let ExprKind::Ident(id) = &base.kind {
            if let (false, "super", None, Some(owner)) = (id.raw, &id.name[..], self.lookup_local("super"), self.owner) {
                if self.c.runtime_class(owner).is_some() {
                    return Ok(Callee::Runtime(crate::jni_rules::RuntimeTarget::Super(owner), name.clone()));
                }
            }
        }
        if let Some(t) = self.try_type(base)? {
            return match self.c.struct_member(t, &name.name)? {
                Some(ConstVal::Func(fid)) => Ok(Callee::Direct(fid)),
                _ if self.c.runtime_class(t).is_some() => Ok(Callee::Runtime(crate::jni_rules::RuntimeTarget::Class(t), name.clone())),
                _ => {
                    let msg = format!("type '{}' has no function '{}'", self.tname(t), name.name);
                    self.err(name.span, msg)
                }
            };
        }
        // The receiver's type, without evaluating it twice: peek via a typed lowering into a
        // scratch block is expensive, so evaluate the base as a place/value now and reuse it.
        let (addr, ty) = self.place_or_temp(base)?;
        if let Some(callee) = self.optional_protocol_receiver(addr, ty, name) {
            return Ok(callee);
        }
        let mut sty = ty;
        let mut is_ptr = false;
        if let TK::Pointer(inner) = self.c.types.kind(ty).clone() {
            sty = inner;
            is_ptr = true;
        }
        if is_ptr && self.c.runtime_class(sty).is_some() {
            let p = self.ptr_ty();
            let obj = self.b(|b| b.load(p, addr, 0));
            return Ok(Callee::Runtime(crate::jni_rules::RuntimeTarget::Instance(obj, sty), name.clone()));
        }
        if self.c.is_protocol(sty) && self.c.protos.protocols[&sty].methods.iter().any(|m| m.name == name.name) {
            let obj = if is_ptr {
                let p = self.ptr_ty();
                self.b(|b| b.load(p, addr, 0))
            } else {
                addr
            };
            return Ok(Callee::Protocol(obj, sty, name.clone()));
        }
        // A field holding a function value.
        if let Some((off, fty)) = self.field_of(sty, &name.name) {
            if matches!(self.c.types.kind(fty), TK::Func { .. } | TK::Closure { .. }) {
                let obj = if is_ptr {
                    let p = self.ptr_ty();
                    self.b(|b| b.load(p, addr, 0))
                } else {
                    addr
                };
                let fa = self.offset_addr(obj, off as i64);
                return Ok(Callee::Indirect(self.load(fa, fty)));
            }
        }
        let mut found = match self.c.default_domain_method(sty, &name.name) {
            Some(fid) => Some(ConstVal::Func(fid)),
            None => self.c.struct_member(sty, &name.name)?,
        };
        if found.is_none() {
            // Opt-in UFCS: a visible free function declared `ufcs`.
            let id = Ident { name: name.name.clone(), span: name.span, raw: false };
            let resolved = self.resolve(&id)?;
            if let Some(Local::Const(ConstVal::Intrinsic(n))) = &resolved {
                if crate::build_options::BUILD_OPTION_METHODS.contains(&n.as_str()) {
                    *receiver = Some((base.clone(), false));
                    return Ok(Callee::Intrinsic(n.clone()));
                }
            }
            if let Some(Local::Const(ConstVal::Func(fid))) = resolved {
                if self.c.fns[fid].decl.attrs.ufcs {
                    found = Some(ConstVal::Func(fid));
                } else {
                    let msg = format!(
                        "'{}' is not a method of '{}'; declare it with 'ufcs' to call it with dot syntax",
                        name.name,
                        self.tname(sty)
                    );
                    return self.err(name.span, msg);
                }
            }
        }
        if found.is_none() {
            found = self.c.library_ufcs(&name.name, sty, name.span)?.map(ConstVal::Func);
        }
        match found {
            Some(ConstVal::Func(fid)) => {
                // Stash the receiver as a synthetic expression bound to a temp local.
                let pty = self.c.types.pointer(ty);
                let s = self.slot_for(pty);
                let sa = self.slot_addr(s);
                self.b(|b| b.store(sa, 0, addr));
                let tmp = format!("\u{0}recv{}", self.c.fresh());
                self.bind(&tmp, Local::Var { slot: s, ty: pty, by_ref: false, readonly: true });
                let e = Expr::new(ExprKind::Ident(Ident { name: tmp, span: base.span, raw: true }), base.span);
                *receiver = Some((e, is_ptr));
                Ok(Callee::Direct(fid))
            }
            _ => {
                let msg = format!("type '{}' has no field or method '{}'", self.tname(sty), name.name);
                self.err(name.span, msg)
            }
        }
    }

    /// A method call on an optional protocol value `?P` or view `?*P` dispatches on the
    /// payload, unchecked (like the call on a null view).
    fn optional_protocol_receiver(&mut self, addr: sx_ir::Value, ty: TypeId, name: &Ident) -> Option<Callee> {
        let inner = self.c.types.optional_inner(ty)?;
        let (p, view) = match self.c.types.kind(inner) {
            TK::Pointer(p) => (*p, true),
            _ => (inner, false),
        };
        if !self.c.is_protocol(p) || !self.c.protos.protocols[&p].methods.iter().any(|m| m.name == name.name) {
            return None;
        }
        // `?P` keeps its payload at offset 0; `?*P` is a nullable pointer to the value.
        let obj = if view {
            let pt = self.ptr_ty();
            self.b(|b| b.load(pt, addr, 0))
        } else {
            addr
        };
        Some(Callee::Protocol(obj, p, name.clone()))
    }

    pub fn pass_arg_pub(&mut self, v: TV, span: Span) -> R<Value> {
        self.pass_arg(v, span)
    }
    pub fn coerce_arg_pub(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        self.coerce_arg(v, to, span)
    }
    pub fn call_result_pub(&mut self, ret: TypeId, res: Vec<Value>, rslot: Option<Value>) -> TV {
        self.call_result(ret, res, rslot)
    }

    /// `.make(args)` where a struct `S` (or `?S`) is expected: the call `S.make(args)` of the
    /// struct's static function; `None` when `S` has no function of that name.
    fn struct_static_shorthand(&mut self, id: &Ident, args: &[Arg], expected: Option<TypeId>, span: Span) -> R<Option<TV>> {
        let Some(t) = expected.map(|t| self.c.types.optional_inner(t).unwrap_or(t)) else { return Ok(None) };
        if self.c.types.struct_of(t).is_none() || !matches!(self.c.struct_member(t, &id.name)?, Some(ConstVal::Func(_))) {
            return Ok(None);
        }
        let tmp = format!("\u{0}shorthand{}", self.c.fresh());
        self.bind(&tmp, Local::Const(ConstVal::Type(t)));
        let base = Expr::new(ExprKind::Ident(Ident { name: tmp, span: id.span, raw: true }), id.span);
        let callee = Expr::new(ExprKind::Field { base: Box::new(base), name: id.clone() }, id.span);
        self.call(&callee, args, expected, span).map(Some)
    }

    /// Reads a `#get` property: calls `fid` with the object at `addr` (of type `ty`) as receiver.
    pub(crate) fn call_getter(&mut self, fid: FnId, addr: Value, ty: TypeId, span: Span) -> R<TV> {
        self.call_with_receiver_addr(fid, addr, ty, &[], span)
    }

    /// Calls method `fid` with the object at `addr` (of type `ty`) as receiver, then `args`.
    pub(crate) fn call_with_receiver_addr(&mut self, fid: FnId, addr: Value, ty: TypeId, args: &[Arg], span: Span) -> R<TV> {
        let pty = self.c.types.pointer(ty);
        let s = self.slot_for(pty);
        let sa = self.slot_addr(s);
        self.b(|b| b.store(sa, 0, addr));
        let tmp = format!("\u{0}getter{}", self.c.fresh());
        self.bind(&tmp, Local::Var { slot: s, ty: pty, by_ref: false, readonly: true });
        let e = Expr::new(ExprKind::Ident(Ident { name: tmp, span, raw: true }), span);
        self.direct_call(fid, Some((e, false)), args, span)
    }

    /// The C math function `name` (`sqrt`, `sin`, …) of a number: `f32` calls the `…f` variant,
    /// anything else is converted to `f64`.
    pub(crate) fn float_math(&mut self, name: &str, v: TV, span: Span) -> R<TV> {
        // `f32` computes in `f64` and rounds back (exact for `sqrt`, `floor`, `ceil`, `fabs`;
        // the `…f` variants have no C signature the compile-time VM knows).
        let ty = if self.c.types.is_float(v.ty) { v.ty } else { bt::F64 };
        let v = self.coerce(v, ty, span)?;
        let v = self.convert(v, bt::F64, span)?;
        let x = self.scalar(v, span)?;
        let irt = IrType::F64;
        let ext = self.c.module.declare_extern(name, sx_ir::Signature { params: vec![irt], returns: vec![irt] });
        let r = self.b(|b| b.call_extern(ext, vec![x], &[irt]));
        self.convert(TV { ty: bt::F64, v: V::Scalar(r[0]) }, ty, span)
    }

    /// Passes an argument value: scalars directly, aggregates as a pointer to a private copy.
    fn pass_arg(&mut self, v: TV, span: Span) -> R<Value> {
        let ty = v.ty;
        if self.c.types.scalar(ty).is_some() {
            return self.scalar(v, span);
        }
        let v = self.materialize(v, span)?;
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        self.store(a, v, span)?;
        Ok(a)
    }

    fn call_result(&mut self, ret: TypeId, res: Vec<Value>, rslot: Option<Value>) -> TV {
        if ret == bt::NORETURN {
            self.b(|b| b.trap(sx_ir::TrapCode::Unreachable));
            return TV::never();
        }
        if let Some(a) = rslot {
            return TV { ty: ret, v: V::Mem(a) };
        }
        match res.first() {
            Some(v) => TV { ty: ret, v: V::Scalar(*v) },
            None => TV::void(),
        }
    }

    fn direct_call(&mut self, fid: FnId, receiver: Option<(Expr, bool)>, args: &[Arg], span: Span) -> R<TV> {
        if self.c.needs_instance(fid) {
            let recv = match receiver {
                None => None,
                Some((recv, is_ptr)) => {
                    // Pass `*S` when the first parameter is a pointer pattern, else the value.
                    let rp = self.expr(&recv, None)?;
                    let rpv = self.scalar(rp.clone(), span)?;
                    let TK::Pointer(stor_ty) = self.c.types.kind(rp.ty).clone() else { return Err(()) };
                    let decl = self.c.fns[fid].decl.clone();
                    let wants_ptr =
                        decl.params.first().and_then(|p| p.ty.as_ref()).map(|t| matches!(t.kind, ExprKind::AddrOf(_))).unwrap_or(false);
                    Some(match (wants_ptr, is_ptr) {
                        (true, false) => TV { ty: self.c.types.pointer(stor_ty), v: V::Scalar(rpv) },
                        (true, true) => self.load(rpv, stor_ty),
                        (false, false) => self.load(rpv, stor_ty),
                        (false, true) => {
                            let p = self.ptr_ty();
                            let obj = self.b(|b| b.load(p, rpv, 0));
                            let TK::Pointer(sty) = self.c.types.kind(stor_ty).clone() else { return Err(()) };
                            self.load(obj, sty)
                        }
                    })
                }
            };
            return self.generic_call(fid, recv, args, span);
        }
        let sig = self.c.fn_sig(fid)?;
        if sig.is_extern && sig.variadic {
            return self.c_variadic_call(fid, &sig, args, span);
        }
        let func = self.c.declare_fn(fid, span)?;
        let nparams = sig.params.len();
        let mut slots: Vec<Option<(TV, Span)>> = vec![None; nparams];
        let mut next = 0usize;
        if let Some((recv, is_ptr)) = receiver {
            if nparams == 0 {
                return self.err(span, "method takes no receiver parameter");
            }
            // The receiver temp holds a pointer to the receiver storage.
            let rp = self.expr(&recv, None)?;
            let rpv = self.scalar(rp.clone(), span)?;
            let TK::Pointer(stor_ty) = self.c.types.kind(rp.ty).clone() else { return Err(()) };
            let p0 = sig.params[0];
            let v = if p0 == stor_ty {
                self.load(rpv, stor_ty)
            } else if is_ptr {
                // Storage holds a pointer to the struct.
                let p = self.ptr_ty();
                let obj = self.b(|b| b.load(p, rpv, 0));
                let TK::Pointer(sty) = self.c.types.kind(stor_ty).clone() else { return Err(()) };
                if p0 == stor_ty {
                    TV { ty: stor_ty, v: V::Scalar(obj) }
                } else {
                    self.load(obj, sty)
                }
            } else {
                TV { ty: self.c.types.pointer(stor_ty), v: V::Scalar(rpv) }
            };
            slots[0] = Some((v, span));
            next = 1;
        }
        let variadic_at = if sig.variadic { Some(nparams - 1) } else { None };
        let mut var_args: Vec<&Arg> = vec![];
        let mut failed = false;
        let mut named_seen = false;
        for a in args {
            if let Some(n) = &a.name {
                named_seen = true;
                let Some(i) = sig.param_names.iter().position(|p| *p == n.name) else {
                    return self.err(n.span, format!("no parameter named '{}'", n.name));
                };
                if Some(i) == variadic_at {
                    return self.err(n.span, format!("variadic parameter '{}' takes its values by position only", n.name));
                }
                if slots[i].is_some() {
                    return self.err(n.span, format!("parameter '{}' is given twice", n.name));
                }
                match self.recovering(|cx| cx.arg_value(&a.value, sig.params[i])) {
                    Ok(v) => slots[i] = Some((v, a.value.span)),
                    Err(()) => failed = true,
                }
                continue;
            }
            if named_seen {
                return self.err(a.span, "a positional argument cannot follow named arguments: name it, or move it before them");
            }
            if Some(next) == variadic_at {
                var_args.push(a);
                continue;
            }
            if next >= nparams {
                let shown =
                    nparams - if slots.first().map(|s| s.is_some()).unwrap_or(false) && next > 0 && args.len() < next { 1 } else { 0 };
                let _ = shown;
                return self.err(a.span, format!("too many arguments: '{}' takes {}", self.c.fns[fid].name, nparams));
            }
            match self.recovering(|cx| cx.arg_value(&a.value, sig.params[next])) {
                Ok(v) => slots[next] = Some((v, a.value.span)),
                Err(()) => failed = true,
            }
            next += 1;
        }
        if failed {
            // The arguments that did lower are still checked against their parameters.
            for (i, sl) in slots.into_iter().enumerate() {
                if let Some((v, sp)) = sl {
                    let _ = self.recovering(|cx| cx.coerce_arg(v, sig.params[i], sp));
                }
            }
            return Err(());
        }
        if let Some(vi) = variadic_at {
            let TK::Slice(et) = self.c.types.kind(sig.params[vi]).clone() else { return Err(()) };
            if var_args.len() == 1 && var_args[0].spread {
                let v = self.expr(&var_args[0].value, Some(sig.params[vi]))?;
                slots[vi] = Some((v, var_args[0].span));
            } else {
                let n = var_args.len() as u64;
                let aty = self.c.types.array(n.max(1), et);
                let s = self.slot_for(aty);
                let a = self.slot_addr(s);
                let esz = self.c.types.size_of(et) as i64;
                for (i, va) in var_args.iter().enumerate() {
                    let v = self.expr(&va.value, Some(et))?;
                    let v = self.coerce(v, et, va.value.span)?;
                    let ea = self.offset_addr(a, i as i64 * esz);
                    self.store(ea, v, va.span)?;
                }
                let st = sig.params[vi];
                let sl = self.make_slice(a, None, n as i64, st)?;
                slots[vi] = Some((sl, span));
            }
        }
        // Defaults, evaluated in the callee's file.
        let (cfile, cowner) = (self.c.fns[fid].file, self.c.fns[fid].owner);
        for i in 0..nparams {
            if slots[i].is_none() {
                match sig.defaults[i].clone() {
                    Some(d) if matches!(d.kind, ExprKind::CallerLocation) => {
                        let v = self.caller_location(span, Some(sig.params[i]), d.span)?;
                        slots[i] = Some((v, span));
                    }
                    Some(d) => {
                        let d = self.default_at_call_site(&d, span)?.unwrap_or(d);
                        let (sf, so) = (self.file, self.owner);
                        self.file = cfile;
                        self.owner = cowner;
                        let r = self.expr(&d, Some(sig.params[i]));
                        self.file = sf;
                        self.owner = so;
                        slots[i] = Some((r?, d.span));
                    }
                    None => {
                        let msg = format!("missing argument '{}' in call to '{}'", sig.param_names[i], self.c.fns[fid].name);
                        return self.err(span, msg);
                    }
                }
            }
        }
        let mut irargs = vec![];
        let rslot = self.sret_arg(sig.ret, &mut irargs);
        for (i, sl) in slots.into_iter().enumerate() {
            let (v, sp) = sl.expect("filled");
            let v = self.coerce_arg(v, sig.params[i], sp)?;
            irargs.push(self.pass_arg(v, sp)?);
        }
        let rets: Vec<IrType> = self.c.module.funcs[func].sig.returns.clone();
        let res = self.b(|b| b.call(func, irargs, &rets));
        Ok(self.call_result(sig.ret, res, rslot))
    }

    /// Lowers an argument for a parameter of type `pty`; an lvalue of type `T` passed to a `*T`
    /// parameter passes its live address.
    pub fn arg_value(&mut self, e: &Expr, pty: TypeId) -> R<TV> {
        if let Some(v) = self.view_of_place(e, pty)? {
            return Ok(v);
        }
        if let TK::Pointer(inner) = self.c.types.kind(pty).clone() {
            if matches!(e.kind, ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::Index { .. } | ExprKind::Deref(_)) {
                if let Some((addr, ty)) = self.place_opt(e, false)? {
                    if ty == inner {
                        return Ok(TV { ty: pty, v: V::Scalar(addr) });
                    }
                    return Ok(self.load(addr, ty));
                }
            }
        }
        self.expr(e, Some(pty))
    }

    /// Argument coercion: implicit conversions plus auto address-of (`T` → `*T`).
    fn coerce_arg(&mut self, v: TV, to: TypeId, span: Span) -> R<TV> {
        if let TK::Pointer(inner) = self.c.types.kind(to).clone() {
            if v.ty == inner {
                let v = self.materialize(v, span)?;
                let s = self.slot_for(inner);
                let a = self.slot_addr(s);
                self.store(a, v, span)?;
                return Ok(TV { ty: to, v: V::Scalar(a) });
            }
        }
        self.coerce(v, to, span)
    }

    fn intrinsic(&mut self, name: &str, args: &[Arg], expected: Option<TypeId>, span: Span) -> R<TV> {
        if let Some(r) = self.introspect(name, args, span) {
            return r;
        }
        if let Some(r) = self.compiler_api_call(name, args, span) {
            return r;
        }
        if let Some(r) = self.build_options_call(name, args, span) {
            return r;
        }
        if let Some(r) = self.atomic_call(name, args, span) {
            return r;
        }
        match name {
            "print" | "format" => self.print_call(name == "format", args, span),
            "error_name" => self.error_name_call(args, span),
            "type_info" => self.type_info_call(args, span),
            "__trace_resolve_frame" => self.trace_frame_call(args, span),
            "is_comptime" => {
                if !args.is_empty() {
                    return self.err(span, "'is_comptime' takes no arguments");
                }
                // One shared flag the VM sets for compile-time evaluation (see `sx_ir::COMPTIME_FLAG_DATA`).
                let d = self.c.comptime_flag_data();
                let p = self.ptr_ty();
                let a = self.b(|b| b.data_addr(d, p));
                let v = self.b(|b| b.load(IrType::I8, a, 0));
                Ok(TV { ty: bt::BOOL, v: V::Scalar(v) })
            }
            "Vector" => self.vector_type_call(args, span),
            "sqrt" | "sin" | "cos" | "floor" | "ceil" | "fabs" => {
                let [a] = args else { return self.err(span, format!("'{}' takes one argument", name)) };
                let float_or_vector = |cx: &Self, t: TypeId| cx.c.types.is_float(t) || cx.vector_shape(t).is_some();
                let v = self.expr(&a.value, expected.filter(|t| float_or_vector(self, *t)))?;
                if self.vector_shape(v.ty).is_some() {
                    return self.vector_map(v, a.value.span, |cx, lane| cx.float_math(name, lane, span));
                }
                self.float_math(name, v, a.value.span)
            }
            _ => self.err(span, format!("not supported yet: intrinsic '{}'", name)),
        }
    }
}
