//! Typed lowering of function bodies (and comptime thunks) into IR.

use crate::consts::wrap_int;
use crate::fncx::FnCx;
use crate::*;
use sx_ir::{BinOp as IB, ConvOp, FloatCC, Function, IntCC, Signature, TrapCode, Type as IrType, Value};
use sx_types::TypeKind as TK;

impl<'c> FnCx<'c> {
    // ---- scopes -----------------------------------------------------------------------------

    pub fn push_scope(&mut self) {
        self.scopes.push(Scope::default());
    }
    /// Pops a scope, running its defers if control reaches its end.
    pub fn pop_scope(&mut self) -> R<()> {
        let depth = self.scopes.len() - 1;
        if !self.terminated() {
            self.run_defers_from(depth)?;
        }
        self.scopes.pop();
        Ok(())
    }
    /// Emits the defers of scopes `depth..` (innermost first) without popping them.
    pub fn run_defers_from(&mut self, depth: usize) -> R<()> {
        let mut i = self.scopes.len();
        while i > depth {
            i -= 1;
            let defers = self.scopes[i].defers.clone();
            for d in defers.iter().rev() {
                if matches!(d.kind, StmtKind::OnFail { .. }) {
                    continue;
                }
                // A defer body sees the scope it was declared in.
                let saved: Vec<Scope> = self.scopes.drain(i + 1..).collect();
                self.push_scope();
                self.errs.cleanup.push("defer");
                let r = self.stmt(d);
                self.errs.cleanup.pop();
                self.scopes.pop();
                self.scopes.extend(saved);
                r?;
            }
        }
        Ok(())
    }
    /// Binds parameter `name` in the current scope.
    fn bind_param(&mut self, name: &str, l: Local) {
        self.note_debug_var(name, &l, sx_ir::debug::DebugVarKind::Param);
        self.bind(name, l);
    }
    pub fn bind(&mut self, name: &str, l: Local) {
        if name == "_" {
            return;
        }
        self.note_debug_var(name, &l, sx_ir::debug::DebugVarKind::Local);
        self.scopes.last_mut().expect("scope").names.insert(name.to_string(), l);
    }
    /// Marks `name` as a local whose declaration failed in the current scope (unless the
    /// declaration bound it before failing).
    pub fn poison(&mut self, name: &str) {
        let scope = self.scopes.last_mut().expect("scope");
        if !scope.names.contains_key(name) {
            scope.poisoned.insert(name.to_string());
        }
    }
    /// True when the innermost scope that knows `name` knows it as a failed declaration.
    fn is_poisoned(&self, name: &str) -> bool {
        for s in self.scopes.iter().rev() {
            if s.names.contains_key(name) {
                return false;
            }
            if s.poisoned.contains(name) {
                return true;
            }
        }
        false
    }
    pub fn lookup_local(&self, name: &str) -> Option<Local> {
        for s in self.scopes.iter().rev() {
            if let Some(l) = s.names.get(name) {
                return Some(l.clone());
            }
        }
        self.outer_consts.get(name).map(|c| Local::Const(c.clone()))
    }

    /// Resolves a bare name: locals, then the owner struct's constants, then the file scope.
    pub fn resolve(&mut self, id: &Ident) -> R<Option<Local>> {
        if self.is_poisoned(&id.name) {
            return Err(());
        }
        if let Some(l) = self.lookup_local(&id.name) {
            if let Local::Const(ConstVal::EnclosingLocal) = l {
                if let Some(cap) = self.capture(&id.name) {
                    return Ok(Some(cap));
                }
                let msg = format!(
                    "a nested function cannot use enclosing local '{}': nested functions have no environment (pass it as a parameter)",
                    id.name
                );
                return self.err(id.span, msg);
            }
            return Ok(Some(l));
        }
        if let Some(owner) = self.owner {
            if let Some(c) = self.c.struct_member(owner, &id.name)? {
                // A bare call inside a type's method of a name the file also declares as a
                // function is the file's function: `open :: (…) { return open(…); }` in a struct
                // delegates to the free `open`, it does not call itself.
                let file_fn = match c {
                    ConstVal::Func(_) if self.c.files[self.file].names.contains_key(&id.name) => {
                        self.c.lookup_global(self.file, &id.name, id.span)?.filter(|g| matches!(g, ConstVal::Func(_)))
                    }
                    _ => None,
                };
                return Ok(Some(Local::Const(file_fn.unwrap_or(c))));
            }
        }
        let file = self.file;
        if let Some(c) = self.c.lookup_global(file, &id.name, id.span)? {
            return Ok(Some(Local::Const(c)));
        }
        // Compiler intrinsics are recognised without any import.
        if !id.raw
            && (BUILTIN_INTRINSICS.contains(&id.name.as_str())
                || crate::syntax_facts::REFLECTION_INTRINSICS.contains(&id.name.as_str())
                || crate::syntax_facts::COMPILER_API.contains(&id.name.as_str()))
        {
            return Ok(Some(Local::Const(ConstVal::Intrinsic(id.name.clone()))));
        }
        if !id.raw && crate::syntax_facts::TARGET_FACTS.contains(&id.name.as_str()) {
            return self.c.target_fact(&id.name, id.span).map(|c| Some(Local::Const(c)));
        }
        if !id.raw {
            if let Some(c) = self.c.library_intrinsic(&id.name, id.span)? {
                return Ok(Some(Local::Const(c)));
            }
        }
        // `type_info` is visible bare once std/meta.sx is loaded (also through `m :: #import`).
        if !id.raw && id.name == "type_info" {
            if let Some(f) = self.c.loaded_stdlib_file("std/meta.sx") {
                return Ok(self.c.lookup_own(f, &id.name, id.span)?.map(Local::Const));
            }
        }
        Ok(None)
    }

    /// Resolves a path of namespaces (`a.b.c`) without emitting code: `Some` when `e` names a
    /// compile-time entity reached through namespaces (or is a plain identifier bound to one).
    pub fn resolve_path(&mut self, e: &Expr) -> R<Option<ConstVal>> {
        match &e.kind {
            ExprKind::Ident(id) => Ok(match self.resolve(id)? {
                Some(Local::Const(c)) => Some(c),
                _ => None,
            }),
            ExprKind::Field { base, name } => match self.resolve_path(base)? {
                Some(ConstVal::Namespace(f)) => match self.c.lookup_in_namespace(f, &name.name, name.span)? {
                    Some(c) => Ok(Some(c)),
                    None => self.err(name.span, format!("namespace has no member '{}'", name.name)),
                },
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    // ---- values -----------------------------------------------------------------------------

    /// Materialises a compile-time constant as an IR value of type `tv.ty`.
    pub fn materialize(&mut self, tv: TV, span: Span) -> R<TV> {
        let V::Const(c) = &tv.v else { return Ok(tv) };
        let ty = tv.ty;
        let v = match c {
            ConstVal::Int { v, .. } => {
                if self.c.types.is_float(ty) {
                    let irt = self.c.types.scalar(ty).unwrap_or(IrType::F64);
                    let x = *v as f64;
                    V::Scalar(self.b(|b| b.fconst(irt, x)))
                } else {
                    let Some(irt) = self.c.types.scalar(ty) else {
                        return self.err(span, format!("cannot use an integer as '{}'", self.tname(ty)));
                    };
                    let x = *v as i64;
                    V::Scalar(self.iconst(irt, x))
                }
            }
            ConstVal::Float { v, .. } => {
                let irt = self.c.types.scalar(ty).filter(|t| t.is_float()).unwrap_or(IrType::F64);
                let x = *v;
                V::Scalar(self.b(|b| b.fconst(irt, x)))
            }
            ConstVal::Bool(b) => {
                let x = *b as i64;
                V::Scalar(self.iconst(IrType::I8, x))
            }
            ConstVal::Null => {
                if self.c.types.optional_inner(ty).is_some() && !self.opt_is_ptr(ty) {
                    return self.opt_none(ty, span);
                }
                let p = self.ptr_ty();
                V::Scalar(self.iconst(p, 0))
            }
            ConstVal::Type(t) => V::Scalar(self.type_value(*t, span)?),
            ConstVal::Str(s) => {
                let s = s.clone();
                if ty == bt::CSTRING {
                    let d = self.c.string_bytes_data(&s);
                    let p = self.ptr_ty();
                    V::Scalar(self.b(|b| b.data_addr(d, p)))
                } else {
                    let d = self.c.string_header_data(&s);
                    let p = self.ptr_ty();
                    V::Mem(self.b(|b| b.data_addr(d, p)))
                }
            }
            ConstVal::Global(d, _) | ConstVal::Data(d, _) => {
                let d = *d;
                let p = self.ptr_ty();
                let addr = self.b(|b| b.data_addr(d, p));
                return Ok(self.load(addr, ty));
            }
            ConstVal::Func(fid) => {
                let fid = *fid;
                let func = self.c.declare_fn(fid, span)?;
                let p = self.ptr_ty();
                V::Scalar(self.b(|b| b.func_addr(func, p)))
            }
            ConstVal::Namespace(_) => return self.err(span, "a namespace is not a value"),
            ConstVal::EnclosingLocal => return self.err(span, "an enclosing local is not visible here"),
            ConstVal::GenericStruct(_) => return self.err(span, "a parameterised struct needs arguments: write `Name(args)`"),
            ConstVal::Intrinsic(n) => return self.err(span, format!("intrinsic '{}' cannot be used as a value", n)),
            ConstVal::Pack(_) => {
                return self.err(span, "a pack has no run-time value: index it with a constant, spread it with '..', or use '.len'")
            }
        };
        Ok(TV { ty, v })
    }

    /// Loads a value of type `ty` stored at `addr`.
    pub fn load(&mut self, addr: Value, ty: TypeId) -> TV {
        match self.c.types.scalar(ty) {
            Some(irt) => TV { ty, v: V::Scalar(self.b(|b| b.load(irt, addr, 0))) },
            None if ty == bt::VOID => TV::void(),
            None => TV { ty, v: V::Mem(addr) },
        }
    }

    /// The IR scalar of a value (materialising constants).
    pub fn scalar(&mut self, tv: TV, span: Span) -> R<Value> {
        let tv = self.materialize(tv, span)?;
        match tv.v {
            V::Scalar(v) => Ok(v),
            V::Mem(a) => Ok(a),
            _ => self.err(span, format!("expected a value, found '{}'", self.tname(tv.ty))),
        }
    }

    /// Stores `tv` (already of type `ty`) at `addr`.
    pub fn store(&mut self, addr: Value, tv: TV, span: Span) -> R<()> {
        let ty = tv.ty;
        let tv = self.materialize(tv, span)?;
        match tv.v {
            V::Scalar(v) => {
                self.b(|b| b.store(addr, 0, v));
            }
            V::Mem(src) => {
                let size = self.c.types.size_of(ty) as i64;
                if size > 0 {
                    let p = self.ptr_ty();
                    let len = self.iconst(p, size);
                    self.b(|b| b.memcopy(addr, src, len));
                }
            }
            V::Void | V::Never | V::Const(_) => {}
        }
        Ok(())
    }

    /// Copies an aggregate into a fresh stack slot (so later writes to the source don't alias).
    pub fn spill(&mut self, tv: TV, span: Span) -> R<TV> {
        match &tv.v {
            V::Mem(_) | V::Const(ConstVal::Data(..)) | V::Const(ConstVal::Global(..)) => {
                let ty = tv.ty;
                let s = self.slot_for(ty);
                let a = self.slot_addr(s);
                self.store(a, tv, span)?;
                Ok(TV { ty, v: V::Mem(a) })
            }
            _ => Ok(tv),
        }
    }

    /// Zero-fills `ty` at `addr` and applies struct field defaults.
    pub fn init_default(&mut self, addr: Value, ty: TypeId, span: Span) -> R<()> {
        let size = self.c.types.size_of(ty) as i64;
        if size == 0 {
            return Ok(());
        }
        let p = self.ptr_ty();
        let zero = self.iconst(IrType::I8, 0);
        let len = self.iconst(p, size);
        self.b(|b| b.memfill(addr, zero, len));
        self.apply_defaults(addr, ty, span, &mut vec![])
    }

    /// Stores the field defaults of `ty` (recursively through fields and small arrays) at
    /// `addr`. `path` holds the structs being filled: a struct met again inside itself holds
    /// itself by value — no layout exists; the cycle is reported once compilation ends
    /// (`check_layout_cycles`), so this fails quietly instead of recursing forever.
    fn apply_defaults(&mut self, addr: Value, ty: TypeId, span: Span, path: &mut Vec<TypeId>) -> R<()> {
        match self.c.types.kind(ty).clone() {
            TK::Struct(_) => {
                if path.contains(&ty) {
                    return Err(());
                }
                path.push(ty);
                let r = self.apply_struct_defaults(addr, ty, span, path);
                path.pop();
                r
            }
            TK::Array(n, e) if n <= 64 && self.has_defaults(e, &mut vec![]) => {
                let esz = self.c.types.size_of(e) as i64;
                for i in 0..n as i64 {
                    let p = self.ptr_ty();
                    let off = self.iconst(p, i * esz);
                    let ea = self.b(|b| b.binary(IB::Iadd, addr, off));
                    self.apply_defaults(ea, e, span, path)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The fields of struct `ty` at `addr`: each default evaluated in the struct's scope, other
    /// fields filled with their own types' defaults.
    fn apply_struct_defaults(&mut self, addr: Value, ty: TypeId, span: Span, path: &mut Vec<TypeId>) -> R<()> {
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        let (defaults, sfile, sconsts) = match self.c.structs.get(&ty) {
            Some(m) => (m.defaults.clone(), Some(m.file), Some(m.local_consts.clone())),
            None => (vec![], None, None),
        };
        let mut failed = false;
        for (i, fl) in fields.iter().enumerate() {
            let p = self.ptr_ty();
            let off = self.iconst(p, fl.offset as i64);
            let faddr = self.b(|b| b.binary(IB::Iadd, addr, off));
            match defaults.get(i).cloned().flatten() {
                Some(d) if !matches!(d.kind, ExprKind::Undef) => {
                    // Evaluated in the struct's scope (its file, its constants, the
                    // parameters of a parameterised struct's instance).
                    let saved = (self.file, self.outer_consts.clone());
                    if let Some(f) = sfile {
                        self.file = f;
                    }
                    if let Some(c) = sconsts.clone().filter(|c| !c.is_empty()) {
                        let mut merged = (*saved.1).clone();
                        merged.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
                        self.outer_consts = Rc::new(merged);
                    }
                    let r = self.recovering(|cx| cx.expr(&d, Some(fl.ty)).and_then(|v| cx.coerce(v, fl.ty, d.span)));
                    (self.file, self.outer_consts) = saved;
                    // Every field's default is checked before the struct value fails.
                    match r {
                        Ok(v) => self.store(faddr, v, span)?,
                        Err(()) => failed = true,
                    }
                }
                _ => self.apply_defaults(faddr, fl.ty, span, path)?,
            }
        }
        if failed {
            return Err(());
        }
        Ok(())
    }

    /// True when a value of `ty` has field defaults anywhere inside it (`path`: the structs
    /// being looked into, so a struct holding itself by value ends the search).
    fn has_defaults(&self, ty: TypeId, path: &mut Vec<TypeId>) -> bool {
        match self.c.types.kind(ty) {
            TK::Struct(_) => {
                if path.contains(&ty) {
                    return false;
                }
                if self.c.structs.get(&ty).map(|m| m.defaults.iter().any(|d| d.is_some())).unwrap_or(false) {
                    return true;
                }
                path.push(ty);
                let fields: Vec<TypeId> = self.c.types.struct_of(ty).map(|s| s.fields.iter().map(|f| f.ty).collect()).unwrap_or_default();
                let found = fields.into_iter().any(|f| self.has_defaults(f, path));
                path.pop();
                found
            }
            TK::Array(_, e) => self.has_defaults(*e, path),
            _ => false,
        }
    }

    // ---- conversions ------------------------------------------------------------------------

    /// Implicit conversion of `tv` to `to` (or an error naming both types).
    pub fn coerce(&mut self, tv: TV, to: TypeId, span: Span) -> R<TV> {
        if tv.ty == to || matches!(tv.v, V::Never) {
            return Ok(TV { ty: to, ..tv });
        }
        if let Some(v) = self.coerce_error(&tv, to, span)? {
            return Ok(v);
        }
        if to == bt::TYPE {
            if let Some(ConstVal::Func(f)) = tv.as_const() {
                // A function used as a `Type` value stands for its function type.
                let ft = self.c.fn_type(*f)?;
                return Ok(TV::konst(ConstVal::Type(ft)));
            }
        }
        if let Some(v) = self.coerce_to_view(&tv, to, span)? {
            return Ok(v);
        }
        if self.c.is_protocol(to) && !self.c.is_protocol(tv.ty) {
            return self.erase_to_protocol(tv, to, span);
        }
        if let Some(v) = self.widen_fn_to_failable(&tv, to, span)? {
            return Ok(v);
        }
        if matches!(self.c.types.kind(to), TK::Closure { .. }) && matches!(self.c.types.kind(tv.ty), TK::Func { .. }) {
            if let Some(v) = self.func_to_closure(tv.clone(), to, span)? {
                return Ok(v);
            }
        }
        if to == bt::ANY {
            return self.box_value(tv, span);
        }
        let from = tv.ty;
        let rule = match coercion(&self.c.types, from, to) {
            Ok(rule) => rule,
            Err(CoercionError::OptionalNotUnwrapped) => {
                let msg = format!(
                    "type mismatch: expected '{}', found '{}' (an optional is never unwrapped implicitly: use '!', '??' or 'if v := …')",
                    self.tname(to),
                    self.tname(from)
                );
                return self.err(span, msg);
            }
        };
        match rule {
            Coercion::WrapOptional { inner } => {
                if let Some(ConstVal::Null) = tv.as_const() {
                    return self.opt_none(to, span);
                }
                let v = self.coerce(tv, inner, span)?;
                return self.opt_wrap(v, to, span);
            }
            Coercion::OptionalToOptional { both_pointers: true, .. } => return Ok(TV { ty: to, ..tv }),
            Coercion::OptionalToOptional { inner, both_pointers: false } => {
                if let Some(ConstVal::Null) = tv.as_const() {
                    return self.opt_none(to, span);
                }
                return self.coerce_optional_payload(tv, inner, to, span);
            }
            _ => {}
        }
        // Constants adapt to the expected type.
        if let V::Const(c) = &tv.v {
            match literal_coercion(&self.c.types, c, from, to) {
                Ok(LiteralCoercion::Const(k)) => return Ok(TV { ty: to, v: V::Const(k) }),
                Ok(LiteralCoercion::StringBytes) => {
                    let m = self.materialize(TV::konst(c.clone()), span)?;
                    return Ok(TV { ty: to, v: m.v });
                }
                Ok(LiteralCoercion::NotLiteral) => {}
                Err(e) => {
                    let msg = e.message(&self.tname(to));
                    return self.err(span, msg);
                }
            }
        }
        match rule {
            Coercion::Retype => return Ok(TV { ty: to, ..tv }),
            Coercion::Numeric => return self.convert(tv, to, span),
            Coercion::ArrayToSlice(n) => {
                let tv = self.materialize(tv, span)?;
                let V::Mem(addr) = tv.v else { return self.err(span, "array value expected") };
                return self.make_slice(addr, None, n as i64, to);
            }
            Coercion::ArrayToManyPointer => {
                let tv = self.materialize(tv, span)?;
                let V::Mem(addr) = tv.v else { return self.err(span, "array value expected") };
                return Ok(TV { ty: to, v: V::Scalar(addr) });
            }
            Coercion::Discard => return Ok(TV::void()),
            Coercion::WrapOptional { .. } | Coercion::OptionalToOptional { .. } | Coercion::AnonymousStruct | Coercion::NoRule => {}
        }
        if let Some(v) = self.coerce_to_tuple(&tv, to, span)? {
            return Ok(v);
        }
        if rule == Coercion::AnonymousStruct {
            return Ok(TV { ty: to, ..tv });
        }
        let msg = format!("type mismatch: expected '{}', found '{}'", self.tname(to), self.tname(from));
        self.err(span, msg)
    }

    /// `?A` → `?B` for non-pointer optionals: the payload, when present, coerced to `inner` and
    /// wrapped again; absent stays absent.
    fn coerce_optional_payload(&mut self, tv: TV, inner: TypeId, to: TypeId, span: Span) -> R<TV> {
        let tv = self.materialize(tv, span)?;
        let tv = self.spill(tv, span)?;
        let (pv, no) = self.split_optional(tv, span)?;
        let pv = self.coerce(pv, inner, span)?;
        let w = self.opt_wrap(pv, to, span)?;
        let yes_end = self.e.cur;
        self.switch(no);
        let none = self.opt_none(to, span)?;
        let no_end = self.e.cur;
        self.join(vec![(yes_end, w, span), (no_end, none, span)], Some(to), span)
    }

    /// True when an int of type `from` converts implicitly to int type `to`.
    pub fn int_widens(&self, from: TypeId, to: TypeId) -> bool {
        int_widens(&self.c.types, from, to)
    }

    /// Explicit numeric / pointer conversion (`xx`, `.(T)`): always succeeds between scalars.
    pub fn convert(&mut self, tv: TV, to: TypeId, span: Span) -> R<TV> {
        let from = tv.ty;
        if from == to {
            return Ok(tv);
        }
        if let Some(v) = self.coerce_to_view(&tv, to, span)? {
            return Ok(v);
        }
        if self.c.is_protocol(to) && !self.c.is_protocol(from) {
            return self.erase_to_protocol(tv, to, span);
        }
        if matches!(self.c.types.kind(to), TK::Closure { .. }) && matches!(self.c.types.kind(from), TK::Func { .. }) {
            if let Some(v) = self.func_to_closure(tv.clone(), to, span)? {
                return Ok(v);
            }
        }
        if from == bt::ANY {
            return self.any_unbox(tv, to, span);
        }
        if to == bt::ANY {
            return self.box_value(tv, span);
        }
        if let V::Const(c) = &tv.v {
            let folded = match (c, self.c.types.kind(to)) {
                (ConstVal::Int { v, .. }, TK::Int { bits, signed, .. }) => {
                    Some(ConstVal::Int { v: wrap_int(*v, *bits, *signed), ty: Some(to) })
                }
                (ConstVal::Int { v, .. }, TK::Float { .. }) => Some(ConstVal::Float { v: *v as f64, ty: Some(to) }),
                (ConstVal::Float { v, .. }, TK::Float { bits }) => {
                    Some(ConstVal::Float { v: if *bits == 32 { *v as f32 as f64 } else { *v }, ty: Some(to) })
                }
                (ConstVal::Float { v, .. }, TK::Int { bits, signed, .. }) => {
                    Some(ConstVal::Int { v: wrap_int(v.trunc() as i128, *bits, *signed), ty: Some(to) })
                }
                (ConstVal::Bool(b), TK::Int { .. }) => Some(ConstVal::Int { v: *b as i128, ty: Some(to) }),
                (ConstVal::Int { v, .. }, TK::Enum(_)) if self.c.types.is_plain_enum(to) => {
                    let b = self.c.types.int_bits(to);
                    Some(ConstVal::Int { v: wrap_int(*v, b, self.c.types.is_signed(to)), ty: Some(to) })
                }
                _ => None,
            };
            if let Some(f) = folded {
                return Ok(TV { ty: to, v: V::Const(f) });
            }
        }
        let (Some(fi), Some(ti)) = (self.c.types.scalar(from), self.c.types.scalar(to)) else {
            if self.c.types.size_of(from) == self.c.types.size_of(to)
                && self.c.types.scalar(from).is_none()
                && self.c.types.scalar(to).is_none()
            {
                return Ok(TV { ty: to, ..tv });
            }
            if let Some(v) = self.c_string_to_slice(&tv, to, span)? {
                return Ok(v);
            }
            let msg = format!("cannot convert '{}' to '{}'", self.tname(from), self.tname(to));
            return self.err(span, msg);
        };
        let v = self.scalar(tv, span)?;
        let from_signed = self.c.types.is_signed(from);
        let to_signed = self.c.types.is_signed(to);
        let ff = fi.is_float();
        let tf = ti.is_float();
        let out = if ff && tf {
            if fi == ti {
                v
            } else if fi == IrType::F32 {
                self.b(|b| b.convert(ConvOp::FPromote, v, ti))
            } else {
                self.b(|b| b.convert(ConvOp::FDemote, v, ti))
            }
        } else if ff {
            let op = if to_signed { ConvOp::FToS } else { ConvOp::FToU };
            if to == bt::BOOL {
                let z = self.b(|b| b.fconst(fi, 0.0));
                self.b(|b| b.fcmp(FloatCC::Ne, v, z))
            } else if ti.bytes() < 8 {
                // Into a narrow integer: to i64 (truncating toward zero), then keep the low bits.
                let wide = self.b(|b| b.convert(ConvOp::FToS, v, IrType::I64));
                let r = self.b(|b| b.convert(ConvOp::Trunc, wide, ti));
                self.fix_width(r, to)
            } else {
                let r = self.b(|b| b.convert(op, v, ti));
                self.fix_width(r, to)
            }
        } else if tf {
            let op = if from_signed { ConvOp::SToF } else { ConvOp::UToF };
            self.b(|b| b.convert(op, v, ti))
        } else {
            let (fb, tb) = (fi.bytes(), ti.bytes());
            let r = if fb == tb {
                v
            } else if fb > tb {
                self.b(|b| b.convert(ConvOp::Trunc, v, ti))
            } else if from_signed {
                self.b(|b| b.convert(ConvOp::Sext, v, ti))
            } else {
                self.b(|b| b.convert(ConvOp::Uext, v, ti))
            };
            if to == bt::BOOL {
                let z = self.iconst(ti, 0);
                self.b(|b| b.icmp(IntCC::Ne, r, z))
            } else {
                self.fix_width(r, to)
            }
        };
        Ok(TV { ty: to, v: V::Scalar(out) })
    }

    /// Re-normalises an odd-width integer (`u2`, `i5`) held in a wider IR register.
    pub fn fix_width(&mut self, v: Value, ty: TypeId) -> Value {
        let TK::Int { bits, signed, .. } = *self.c.types.kind(ty) else { return v };
        let irt = self.e.f.values[v].ty;
        let full = irt.bytes() * 8;
        if bits as u32 >= full {
            return v;
        }
        let sh = self.iconst(irt, (full - bits as u32) as i64);
        let l = self.b(|b| b.binary(IB::Shl, v, sh));
        if signed {
            self.b(|b| b.binary(IB::Sshr, l, sh))
        } else {
            self.b(|b| b.binary(IB::Ushr, l, sh))
        }
    }

    /// Builds a `{ptr, len}` aggregate in a fresh slot.
    pub fn make_slice(&mut self, ptr: Value, len_v: Option<Value>, len: i64, ty: TypeId) -> R<TV> {
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        let p = self.ptr_ty();
        let lv = match len_v {
            Some(v) => v,
            None => self.iconst(p, len),
        };
        let pb = self.c.module.pointer_bytes() as i32;
        self.b(|b| {
            b.store(a, 0, ptr);
            b.store(a, pb, lv);
        });
        Ok(TV { ty, v: V::Mem(a) })
    }

    /// Converts a condition value to an I8 truth value.
    pub fn truth(&mut self, tv: TV, span: Span) -> R<Value> {
        let ty = tv.ty;
        match self.c.types.kind(ty).clone() {
            TK::Bool => self.scalar(tv, span),
            TK::Optional(_) => self.opt_present(tv, span),
            TK::Int { .. } | TK::Pointer(_) | TK::ManyPointer(_) | TK::Cstring | TK::Func { .. } | TK::Enum(_) | TK::ErrorSet(_)
                if self.c.types.scalar(ty).is_some() =>
            {
                let v = self.scalar(tv, span)?;
                let irt = self.e.f.values[v].ty;
                let z = self.iconst(irt, 0);
                Ok(self.b(|b| b.icmp(IntCC::Ne, v, z)))
            }
            _ => {
                let msg = format!("condition must be 'bool', integer or pointer, found '{}'", self.tname(ty));
                self.err(span, msg)
            }
        }
    }

    // ---- function-level ---------------------------------------------------------------------

    /// Emits a return of `tv` (coerced to the return type), running all defers first.
    pub fn emit_return(&mut self, tv: Option<TV>, span: Span) -> R<()> {
        if self.errs.fail.is_some() && self.infer.is_none() {
            return self.failable_return(tv, span);
        }
        if let Some(slot) = &mut self.infer {
            if let Some(tv) = &tv {
                if slot.is_none() && !matches!(tv.v, V::Never) && tv.ty != bt::VOID {
                    *slot = Some(tv.ty);
                    if let Some(last) = self.c.inst.inferring.last_mut() {
                        last.1 = Some(tv.ty);
                    }
                }
            }
            if !self.terminated() {
                self.b(|b| b.ret(vec![]));
            }
            return Ok(());
        }
        let ret_ty = self.ret_ty;
        let val = match tv {
            Some(tv) if !matches!(tv.v, V::Never) => {
                if ret_ty == bt::VOID {
                    if tv.ty != bt::VOID {
                        let msg = format!("function returns nothing, but a value of type '{}' is returned", self.tname(tv.ty));
                        return self.err(span, msg);
                    }
                    None
                } else {
                    let v = self.coerce(tv, ret_ty, span)?;
                    // Evaluate before defers run: copy aggregates out.
                    Some(self.spill(v, span)?)
                }
            }
            Some(_) => return Ok(()),
            None => {
                if ret_ty != bt::VOID && ret_ty != bt::NORETURN {
                    let msg = format!("missing return value of type '{}'", self.tname(ret_ty));
                    return self.err(span, msg);
                }
                None
            }
        };
        self.run_defers_from(0)?;
        if self.terminated() {
            return Ok(());
        }
        match val {
            None => {
                self.b(|b| b.ret(vec![]));
            }
            Some(v) => {
                if let Some(sret) = self.sret {
                    let dst = self.e.sret_ptr(sret);
                    self.store(dst, v, span)?;
                    self.b(|b| b.ret(vec![]));
                } else {
                    let x = self.scalar(v, span)?;
                    self.b(|b| b.ret(vec![x]));
                }
            }
        }
        Ok(())
    }
}

impl Compiler {
    /// The one-byte data object behind `is_comptime()`.
    pub(crate) fn comptime_flag_data(&mut self) -> sx_ir::DataId {
        if let Some(d) = self.module.datas.iter().find(|(_, d)| d.name == sx_ir::COMPTIME_FLAG_DATA).map(|(id, _)| id) {
            return d;
        }
        self.module.add_data(sx_ir::Data {
            name: sx_ir::COMPTIME_FLAG_DATA.to_string(),
            bytes: vec![0],
            align: 1,
            relocs: vec![],
            writable: false,
        })
    }

    /// The IR signature of a checked sx signature.
    pub(crate) fn ir_sig(&self, sig: &FnSig) -> Signature {
        let p = self.module.pointer_type();
        let mut params = vec![];
        if sig.sret {
            params.push(p);
        }
        for &t in &sig.params {
            params.push(self.types.scalar(t).unwrap_or(p));
        }
        let returns =
            if sig.sret || sig.ret == bt::VOID || sig.ret == bt::NORETURN { vec![] } else { vec![self.types.scalar(sig.ret).unwrap_or(p)] };
        Signature { params, returns }
    }

    /// Declares the IR function of `fid` (checking its signature) and queues its body.
    pub(crate) fn declare_fn(&mut self, fid: FnId, span: Span) -> R<FuncId> {
        if let Some(f) = self.fns[fid].func {
            return Ok(f);
        }
        let sig = self.fn_sig(fid)?;
        let def = &self.fns[fid];
        let irsig = self.ir_sig(&sig);
        if sig.is_extern {
            let sym = def.decl.attrs.extern_sym.clone().unwrap_or_else(|| def.name.clone());
            if let Some(id) = self.runtime_symbol(&sym, span)? {
                if self.module.funcs[id].sig != irsig {
                    let msg = format!(
                        "the declaration of '{}' does not match the compiler's runtime, whose IR signature is `{}`",
                        sym,
                        sx_ir::print::sig_text(&self.module.funcs[id].sig)
                    );
                    return self.err(span, msg);
                }
                self.fns[fid].func = Some(id);
                return Ok(id);
            }
            let abi = match self.c_abi(&sig) {
                Ok(abi) => abi,
                Err(msg) => return self.err(span, msg),
            };
            let bound_differently = self.module.externs.values().any(|e| e.symbol == sym && e.sig != abi.c_signature());
            if bound_differently && self.check_extern_symbol_views(&sym) {
                return Err(());
            }
            let ext = self.module.declare_extern_byval(&sym, abi.c_signature(), abi.byval());
            // Externs are called through a small module function with the sx convention, so
            // function values work and aggregates are adapted to C (see `cabi`).
            let name = format!("{}.extern{}", sym, self.fresh());
            let f = self.build_extern_wrapper(name, &irsig, ext, &abi);
            let id = self.module.funcs.push(f);
            self.fns[fid].func = Some(id);
            return Ok(id);
        }
        if def.decl.body.is_none() {
            return self.err(span, format!("function '{}' has no body", def.name));
        }
        let name = format!("{}.{}", def.name, self.fresh());
        let mut f = Function::new(name, irsig);
        f.span = Some(def.span);
        let id = self.module.funcs.push(f);
        if self.inst.inferring.iter().any(|(g, _, _)| *g == fid) {
            // A recursive call seen while inferring the return type: a throwaway declaration.
            return Ok(id);
        }
        self.fns[fid].func = Some(id);
        self.out.fn_of_func.insert(id, fid);
        self.queue.push_back(fid);
        Ok(id)
    }

    /// Checks the signature of `fid`.
    pub(crate) fn fn_sig(&mut self, fid: FnId) -> R<FnSig> {
        if let Some(s) = &self.fns[fid].sig {
            return Ok(s.clone());
        }
        if let Some(k) = self.inst.inferring.iter().position(|(g, _, _)| *g == fid) {
            // Recursion while inferring the return type: use what the returns seen so far
            // say (void if none yet, remembered so a later non-void result is an error).
            let (_, seen, _) = self.inst.inferring[k];
            if seen.is_none() {
                self.inst.inferring[k].2 = true;
            }
            if let Some(p) = self.inst.partial_sigs.get(&fid).cloned() {
                let ret = seen.unwrap_or(bt::VOID);
                let sret = ret != bt::VOID && self.types.scalar(ret).is_none();
                return Ok(FnSig { ret, sret, ..p });
            }
        }
        let def = &self.fns[fid];
        let decl = def.decl.clone();
        let (file, owner, outer) = (def.file, def.owner, def.local_consts.clone());
        let mut params = vec![];
        let mut names = vec![];
        let mut defaults = vec![];
        let mut variadic = false;
        if self.needs_instance(fid) {
            let name = self.fns[fid].name.clone();
            return self.err(self.fns[fid].span, format!("generic function '{}' can only be called, not used as a value", name));
        }
        // Every parameter spelling a builtin type is reported, then the signature fails.
        if self.check_reserved_all(decl.params.iter().filter(|p| !p.comptime).filter_map(|p| p.name.as_ref())).is_err() {
            // The body is not lowered: its locals spelling a builtin type are reported here.
            if let Some(Body::Block(b)) = &decl.body {
                let _ = self.check_reserved_all(crate::syntax_facts::local_names_in(b));
            }
            return Err(());
        }
        for p in &decl.params {
            if p.comptime {
                if p.variadic {
                    for (n, t) in self.pack_params(fid, p.name.as_ref().map(|n| n.name.as_str()).unwrap_or("")) {
                        params.push(t);
                        names.push(n);
                        defaults.push(None);
                    }
                }
                continue;
            }
            let ty = match (&p.ty, &p.default) {
                (Some(t), _) => self.eval_type_in(file, owner, &outer, t)?,
                (None, Some(d)) => {
                    let v = self.eval_const_in(file, owner, &outer, d, None)?;
                    v.ty()
                }
                (None, None) => return self.err(p.span, "parameter needs a type"),
            };
            let ty = if p.variadic {
                variadic = true;
                match self.types.kind(ty) {
                    TK::Slice(_) => ty,
                    _ => return self.err(p.span, "not supported yet: variadic parameter that is not a slice"),
                }
            } else {
                ty
            };
            params.push(ty);
            names.push(p.name.as_ref().map(|n| n.name.clone()).unwrap_or_default());
            defaults.push(p.default.clone());
        }
        let inferred_ret = match &decl.ret {
            None => true,
            Some(r) => {
                r.values.len() == 1 && r.error.is_none() && crate::syntax_facts::is_inferred_poly_ret(&decl, &r.values[0].ty, &outer)
            }
        };
        let ret = match &decl.ret {
            _ if inferred_ret && decl.body.is_some() && !decl.attrs.is_extern => {
                let partial = FnSig {
                    params: params.clone(),
                    param_names: names.clone(),
                    defaults: defaults.clone(),
                    ret: bt::VOID,
                    sret: false,
                    is_extern: false,
                    variadic,
                };
                self.infer_return(fid, &partial)?
            }
            None => bt::VOID,
            Some(r) if r.error.is_some() => match self.failable_ret(file, owner, &outer, r, &names)? {
                Some(t) => t,
                None => bt::VOID,
            },
            Some(r) => self.ret_spec_type(file, owner, &outer, r, &names)?,
        };
        let ret = if decl.attrs.noreturn { bt::NORETURN } else { ret };
        let sret = returns_via_sret(&self.types, ret);
        let sig = FnSig { params, param_names: names, defaults, ret, sret, is_extern: decl.attrs.is_extern, variadic };
        self.fns[fid].sig = Some(sig.clone());
        Ok(sig)
    }

    /// Infers the return type of a function declared without `->` by lowering its body once in
    /// a scratch function: the type of the first returned value (or of an `=>` body), else void.
    fn infer_return(&mut self, fid: FnId, partial: &FnSig) -> R<TypeId> {
        self.inst.inferring.push((fid, None, false));
        self.inst.partial_sigs.insert(fid, partial.clone());
        let def = &self.fns[fid];
        let (decl, file, owner, outer) = (def.decl.clone(), def.file, def.owner, def.local_consts.clone());
        let irsig = self.ir_sig(partial);
        let f = Function::new("__infer", irsig.clone());
        let candidates = self.out.closure_candidates.get(&fid).cloned();
        let mut cx = FnCx::new(self, f, file, owner, outer);
        cx.infer = Some(None);
        if let Some(candidates) = candidates {
            cx.clo = Some(ClosureCx { candidates, captured: vec![], env_size: 0 });
        }
        cx.e.span = Some(decl.span);
        let outer_lowering = cx.c.lowering.replace(fid);
        cx.in_body = true;
        let r = cx.bind_params(partial, &irsig).and_then(|_| match decl.body.as_ref() {
            Some(Body::Expr(e)) => cx.expr(e, None).map(|tv| Some(tv.ty)),
            Some(Body::Block(blk)) => cx.block_value(blk, None).map(|_| None),
            None => Ok(None),
        });
        cx.c.lowering = outer_lowering;
        let inferred = cx.infer.flatten();
        let (_, _, used_void) = self.inst.inferring.pop().unwrap_or((fid, None, false));
        self.inst.partial_sigs.remove(&fid);
        let expr_ty = r?;
        let ret = expr_ty.or(inferred).unwrap_or(bt::VOID);
        if used_void && ret != bt::VOID {
            let (span, name) = (self.fns[fid].span, self.fns[fid].name.clone());
            return self.err(span, format!("cannot infer the return type of recursive function '{}'; declare it with '->'", name));
        }
        Ok(ret)
    }

    /// Lowers the body of `fid` into its declared IR function.
    pub(crate) fn lower_fn(&mut self, fid: FnId) -> R<()> {
        let sig = self.fn_sig(fid)?;
        let def = &self.fns[fid];
        let (decl, file, owner, outer) = (def.decl.clone(), def.file, def.owner, def.local_consts.clone());
        let func_id = def.func.expect("declared");
        let placeholder = Function::new(self.module.funcs[func_id].name.clone(), self.module.funcs[func_id].sig.clone());
        let f = std::mem::replace(&mut self.module.funcs[func_id], placeholder);
        let name = f.name.clone();
        let irsig = f.sig.clone();
        let mut cx = FnCx::new(self, f, file, owner, outer);
        cx.ret_ty = sig.ret;
        cx.e.span = Some(decl.span);
        let src_name = cx.c.fns[fid].name.clone();
        cx.init_failable(&decl, &src_name, sig.ret);
        let outer_lowering = cx.c.lowering.replace(fid);
        cx.in_body = true;
        let result = if Compiler::is_naked(&decl) {
            cx.naked_body(&decl, &sig, &irsig)
        } else {
            cx.bind_params(&sig, &irsig).and_then(|_| cx.bind_multi_return(&decl)).and_then(|_| cx.lower_body(&decl))
        };
        cx.c.lowering = outer_lowering;
        let mut f = cx.e.finish();
        f.name = name;
        self.module.funcs[func_id] = f;
        result
    }
}

impl<'c> FnCx<'c> {
    /// Creates the entry block and binds the parameters of `sig` to stack slots.
    pub fn bind_params(&mut self, sig: &FnSig, irsig: &Signature) -> R<()> {
        let cx = self;
        let entry = cx.new_block();
        cx.switch(entry);
        let params: Vec<Value> = cx.b(|b| irsig.params.iter().map(|&t| b.append_block_param(entry, t)).collect());
        let mut pi = 0;
        if sig.sret {
            let s = cx.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
            let a = cx.slot_addr(s);
            cx.b(|b| b.store(a, 0, params[0]));
            cx.sret = Some(s);
            pi = 1;
        }
        for (i, &ty) in sig.params.iter().enumerate() {
            let v = params[pi + i];
            let name = sig.param_names[i].clone();
            if cx.c.types.scalar(ty).is_some() {
                let s = cx.slot_for(ty);
                let a = cx.slot_addr(s);
                cx.b(|b| b.store(a, 0, v));
                cx.bind_param(&name, Local::Var { slot: s, ty, by_ref: false, readonly: false });
            } else {
                let s = cx.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
                let a = cx.slot_addr(s);
                cx.b(|b| b.store(a, 0, v));
                cx.bind_param(&name, Local::Var { slot: s, ty, by_ref: true, readonly: false });
            }
        }
        Ok(())
    }

    pub(crate) fn lower_body_pub(&mut self, decl: &FnDecl) -> R<()> {
        self.lower_body(decl)
    }

    fn lower_body(&mut self, decl: &FnDecl) -> R<()> {
        let cx = self;
        match decl.body.as_ref() {
            Some(Body::Block(blk)) => cx.fn_body_block(blk),
            Some(Body::Expr(e)) => {
                let ret = cx.ret_ty;
                let expected = if cx.errs.fail.is_some() { cx.body_value_type().or(Some(ret)) } else { cx.body_value_type() };
                match cx.expr(e, expected) {
                    Ok(tv) => {
                        let tv = if ret == bt::VOID { None } else { Some(tv) };
                        cx.emit_return(tv, e.span)
                    }
                    Err(()) => Err(()),
                }
            }
            None => Err(()),
        }
    }

    fn fn_body_block(&mut self, blk: &Block) -> R<()> {
        let ret = self.ret_ty;
        let expected = self.body_value_type();
        let tv = self.block_value(blk, expected)?;
        if self.terminated() {
            return Ok(());
        }
        if self.errs.fail.as_ref().map(|f| f.value.is_none()).unwrap_or(false) && blk.tail.is_none() {
            self.emit_return(None, blk.span)
        } else if ret == bt::VOID {
            self.emit_return(None, blk.span)
        } else if ret == bt::NORETURN {
            self.b(|b| b.trap(TrapCode::Unreachable));
            Ok(())
        } else if blk.tail.is_some() {
            self.emit_return(Some(tv), blk.span)
        } else if self.has_named_returns() {
            self.named_return(blk.span)
        } else if let Some(semi) = discarded_value_stmt(blk) {
            let msg = format!(
                "the function returns '{}', but the `;` here discards the last expression's value (remove it, or `return` explicitly)",
                self.tname(ret)
            );
            self.err(semi, msg)
        } else {
            let end = Span::new(blk.span.file, blk.span.hi.saturating_sub(1), blk.span.hi);
            let msg = format!("missing return value of type '{}'", self.tname(ret));
            self.err(end, msg)
        }
    }

    /// Lowers a block in a new scope; returns its tail value (or void).
    pub fn block_value(&mut self, blk: &Block, expected: Option<TypeId>) -> R<TV> {
        self.push_scope();
        let r = self.block_inner(blk, expected);
        let r = match r {
            Ok(tv) => {
                // Copy an aggregate tail out before the scope's defers run.
                let tv = if self.scopes.last().map(|s| !s.defers.is_empty()).unwrap_or(false) { self.spill(tv, blk.span)? } else { tv };
                self.pop_scope().map(|_| tv)
            }
            Err(()) => {
                self.scopes.pop();
                Err(())
            }
        };
        r
    }

    /// The statements and tail of a block. A failed statement does not end the block: the
    /// later statements are still checked (see [`FnCx::stmt_recovering`]), and the block fails
    /// once all of them are.
    fn block_inner(&mut self, blk: &Block, expected: Option<TypeId>) -> R<TV> {
        self.predeclare_consts(&blk.stmts)?;
        let mut failed = false;
        for s in &blk.stmts {
            if self.terminated() {
                return if failed { Err(()) } else { Ok(TV::never()) };
            }
            failed |= self.stmt_recovering(s).is_err();
        }
        if self.terminated() {
            return if failed { Err(()) } else { Ok(TV::never()) };
        }
        let tail = match &blk.tail {
            Some(e) => self.expr(e, expected),
            None => Ok(TV::void()),
        };
        if failed {
            return Err(());
        }
        tail
    }

    /// Lowers one statement of a block; after an error, restores what the rest of the block
    /// relies on: the scope, loop, fallback-target and cleanup stacks return to their depth
    /// before the statement, names it failed to declare are poisoned (their uses fail quietly
    /// instead of reporting follow-on errors), and emission continues in a fresh, unreachable
    /// block (a failed function's IR is discarded).
    pub(crate) fn stmt_recovering(&mut self, s: &Stmt) -> R<()> {
        let r = self.recovering(|cx| cx.stmt(s));
        if r.is_err() {
            for name in declared_names(s) {
                self.poison(name);
            }
        }
        r
    }

    /// Runs one independent piece of lowering (a statement, one argument of a call); after an
    /// error the scope, loop, fallback-target and cleanup stacks return to their depth before
    /// it and emission continues in a fresh, unreachable block, so the pieces after it are
    /// still checked.
    pub(crate) fn recovering<T>(&mut self, lower: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let depths = (self.scopes.len(), self.loops.len(), self.errs.targets.len(), self.errs.cleanup.len());
        let r = lower(self);
        if r.is_err() {
            self.scopes.truncate(depths.0);
            self.loops.truncate(depths.1);
            self.errs.targets.truncate(depths.2);
            self.errs.cleanup.truncate(depths.3);
            self.value_ctx = false;
            let fresh = self.new_block();
            self.switch(fresh);
        }
        r
    }
}

/// The span of the `;` ending a block's last statement when that statement is a plain value
/// expression (an operator, a name, a literal, a member read) whose value the `;` discards.
fn discarded_value_stmt(blk: &Block) -> Option<Span> {
    let last = blk.stmts.last()?;
    let StmtKind::Expr(e) = &last.kind else { return None };
    let plain_value = matches!(
        e.kind,
        ExprKind::Ident(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Char(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Unary { .. }
            | ExprKind::Binary { .. }
            | ExprKind::Chain { .. }
            | ExprKind::Field { .. }
            | ExprKind::Index { .. }
            | ExprKind::Cast { .. }
            | ExprKind::AutoCast(_)
            | ExprKind::Deref(_)
    );
    (plain_value && last.span.hi > e.span.hi).then(|| Span::new(last.span.file, last.span.hi.saturating_sub(1), last.span.hi))
}
