//! Protocols: `P :: protocol [#inline] [#identity] { m :: (self: *Self, …) -> R; }`,
//! `impl P for T { … }`, erasure of a concrete value into a protocol value and dynamic
//! dispatch through it.
//!
//! Layout of a protocol value: `{ctx: *void, __type_id: Type, …}` followed by one function
//! pointer per method (`#inline`) or by `__vtable: *void` pointing at a static table of
//! function pointers (default layout). `ctx` points at the concrete value: borrowed for
//! `#identity` protocols and for `*T` sources, a heap copy (through `context.allocator`) otherwise.
//! Impl methods take the receiver as a pointer, so every slot has the IR signature
//! `(ctx, args…)` (after the hidden result pointer, if any).

use crate::lower::*;
use crate::*;
use sx_ir::Value;
use sx_types::TypeKind as TK;

/// A declared protocol.
#[derive(Clone, Debug)]
pub(crate) struct ProtoInfo {
    pub methods: Vec<ProtoMethod>,
    pub inline: bool,
    pub identity: bool,
    pub file: FileIdx,
}

/// One protocol method.
#[derive(Clone, Debug)]
pub(crate) struct ProtoMethod {
    pub name: String,
    pub decl: FnDecl,
}

/// The protocol state of a compilation.
#[derive(Default)]
pub(crate) struct ProtoTables {
    pub protocols: HashMap<TypeId, ProtoInfo>,
    /// `impl` items not yet resolved (protocol and target are evaluated on first need).
    pub pending: Vec<(FileIdx, Rc<Item>)>,
    /// `(protocol, concrete type)` → method name → function.
    pub impls: HashMap<(TypeId, TypeId), HashMap<String, FnId>>,
    /// Impl methods callable on the concrete type (`t.m()`, `T.m`).
    pub methods: HashMap<(TypeId, String), FnId>,
    /// Static vtables of default-layout protocols per `(protocol, concrete type)`.
    pub vtables: HashMap<(TypeId, TypeId), sx_ir::DataId>,
}

impl Compiler {
    /// Declares `name :: protocol { … }`.
    pub(crate) fn declare_protocol(&mut self, name: &str, sd: &StructDecl, file: FileIdx, span: Span) -> R<ConstVal> {
        let t = self.types.new_struct(name, false, Some(span));
        let mut methods = vec![];
        for m in &sd.members {
            match &m.kind {
                MemberKind::Const { name, value, .. } => match &value.kind {
                    ExprKind::Fn(decl) => {
                        let first_is_self =
                            decl.params.first().map(|p| p.name.as_ref().map(|n| n.name == "self").unwrap_or(false)).unwrap_or(false);
                        if !first_is_self {
                            return self
                                .err(name.span, format!("protocol method '{}' must take the receiver first: 'self: *Self'", name.name));
                        }
                        methods.push(ProtoMethod { name: name.name.clone(), decl: (**decl).clone() });
                    }
                    _ => return self.err(m.span, "not supported yet: constants in a protocol"),
                },
                _ => return self.err(m.span, "a protocol declares only methods"),
            }
        }
        let inline = sd.directives.iter().any(|d| d.name == "inline");
        let identity = sd.directives.iter().any(|d| d.name == "identity");
        let void_ptr = self.types.pointer(bt::VOID);
        let mut fields = vec![("ctx".to_string(), void_ptr), ("__type_id".to_string(), bt::TYPE)];
        if inline {
            for m in &methods {
                fields.push((m.name.clone(), void_ptr));
            }
        } else {
            fields.push(("__vtable".to_string(), void_ptr));
        }
        self.types.complete_struct(t, fields);
        self.protos.protocols.insert(t, ProtoInfo { methods, inline, identity, file });
        Ok(ConstVal::Type(t))
    }

    /// True for protocol types.
    pub(crate) fn is_protocol(&self, t: TypeId) -> bool {
        self.protos.protocols.contains_key(&t)
    }

    /// Resolves the pending `impl` items.
    pub(crate) fn resolve_impls(&mut self) -> R<()> {
        let pending = std::mem::take(&mut self.protos.pending);
        let mut ok = true;
        for (file, item) in pending {
            let ItemKind::Impl(imp) = &item.kind else { continue };
            let Some(target) = &imp.target else { continue };
            let simple = |e: &Expr| matches!(e.kind, ExprKind::Ident(_) | ExprKind::Field { .. });
            if !simple(&imp.protocol) || !simple(target) {
                continue;
            }
            let outer = Rc::new(HashMap::new());
            let Ok(p) = self.eval_type_in(file, None, &outer, &imp.protocol) else {
                ok = false;
                continue;
            };
            let Ok(t) = self.eval_type_in(file, None, &outer, target) else {
                ok = false;
                continue;
            };
            if !self.is_protocol(p) {
                let msg = format!("'{}' is not a protocol", self.types.name(p));
                let _ = self.err::<()>(imp.protocol.span, msg);
                ok = false;
                continue;
            }
            if self.protos.impls.contains_key(&(p, t)) {
                let msg = format!("duplicate 'impl {} for {}'", self.types.name(p), self.types.name(t));
                let _ = self.err::<()>(imp.span, msg);
                ok = false;
                continue;
            }
            let mut table = HashMap::new();
            for it in &imp.items {
                if let ItemKind::Const { name, value, .. } = &it.kind {
                    if let ExprKind::Fn(decl) = &value.kind {
                        let fid = self.new_fn(&name.name, decl, file, Some(t), Rc::new(HashMap::new()), name.span);
                        table.insert(name.name.clone(), fid);
                        self.protos.methods.entry((t, name.name.clone())).or_insert(fid);
                    }
                }
            }
            let methods = self.protos.protocols[&p].methods.clone();
            for m in &methods {
                if !table.contains_key(&m.name) {
                    if m.decl.body.is_some() {
                        // A default method body, instantiated for this type.
                        let pfile = self.protos.protocols[&p].file;
                        let fid = self.new_fn(&m.name, &m.decl, pfile, Some(t), Rc::new(HashMap::new()), imp.span);
                        table.insert(m.name.clone(), fid);
                        self.protos.methods.entry((t, m.name.clone())).or_insert(fid);
                    } else {
                        let msg = format!("'impl {} for {}' is missing method '{}'", self.types.name(p), self.types.name(t), m.name);
                        let _ = self.err::<()>(imp.span, msg);
                        ok = false;
                    }
                }
            }
            self.protos.impls.insert((p, t), table);
        }
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    /// An impl method of `t` named `name`.
    pub(crate) fn impl_method(&mut self, t: TypeId, name: &str) -> R<Option<FnId>> {
        if !self.protos.pending.is_empty() {
            self.resolve_impls()?;
        }
        Ok(self.protos.methods.get(&(t, name.to_string())).copied())
    }

    /// The parameter types (after the receiver) and result of protocol method `i`.
    fn proto_method_sig(&mut self, p: TypeId, i: usize) -> R<(Vec<TypeId>, TypeId)> {
        let info = self.protos.protocols[&p].clone();
        let m = &info.methods[i];
        let mut outer = HashMap::new();
        outer.insert("Self".to_string(), ConstVal::Type(p));
        let outer = Rc::new(outer);
        let mut params = vec![];
        for prm in m.decl.params.iter().skip(1) {
            let Some(te) = &prm.ty else { return self.err(prm.span, "a protocol method parameter needs a type") };
            let t = self.eval_type_in(info.file, None, &outer, te)?;
            if t == p {
                return self.err(prm.span, "not supported yet: protocol methods taking 'Self' beyond the receiver");
            }
            params.push(t);
        }
        let ret = match &m.decl.ret {
            None => bt::VOID,
            Some(r) if r.error.is_some() => self.failable_ret(info.file, None, &outer, r, &[])?.unwrap_or(bt::VOID),
            Some(r) if r.values.len() == 1 => self.eval_type_in(info.file, None, &outer, &r.values[0].ty)?,
            Some(r) => return self.err(r.span, "not supported yet: multiple return values in a protocol method"),
        };
        Ok((params, ret))
    }
}

impl<'c> FnCx<'c> {
    /// `xx e` / `e.(P)` into an `#identity` protocol borrows `e`, so `e` must name storage (a
    /// variable, field, element or dereference) or be a pointer, not a temporary value.
    pub(crate) fn check_identity_source(&mut self, e: &Expr, from: TypeId, to: TypeId, span: Span) -> R<()> {
        let identity = self.c.protos.protocols.get(&to).map(|i| i.identity).unwrap_or(false);
        let named = matches!(e.kind, ExprKind::Ident(_) | ExprKind::Field { .. } | ExprKind::Index { .. } | ExprKind::Deref(_));
        if !identity || named || self.c.types.is_pointer_like(from) || self.c.is_protocol(from) {
            return Ok(());
        }
        let msg = format!(
            "cannot erase a temporary to '#identity' protocol '{}': bind it to a name first (`x := …;` then `xx x`)",
            self.tname(to)
        );
        self.err(span, msg)
    }

    /// Erases `tv` (a concrete value, or a pointer to one) into a value of protocol `p`.
    pub(crate) fn erase_to_protocol(&mut self, tv: TV, p: TypeId, span: Span) -> R<TV> {
        if !self.c.protos.pending.is_empty() {
            self.c.resolve_impls()?;
        }
        let (concrete, by_pointer) = match self.c.types.kind(tv.ty).clone() {
            TK::Pointer(inner) if !self.c.protos.impls.contains_key(&(p, tv.ty)) => (inner, true),
            _ => (tv.ty, false),
        };
        let Some(table) = self.c.protos.impls.get(&(p, concrete)).cloned() else {
            let msg = format!("'{}' does not implement protocol '{}'", self.tname(concrete), self.tname(p));
            return self.err(span, msg);
        };
        let info = self.c.protos.protocols[&p].clone();
        let tv = self.materialize(tv, span)?;
        let ctx = if by_pointer {
            self.scalar(tv, span)?
        } else if info.identity {
            // Identity protocols borrow the value in place.
            match tv.v {
                V::Mem(a) => a,
                _ => {
                    let s = self.slot_for(concrete);
                    let a = self.slot_addr(s);
                    self.store(a, tv, span)?;
                    a
                }
            }
        } else {
            // Value protocols own a heap copy.
            let size = self.c.types.size_of(concrete).max(1) as i64;
            let p64 = self.ptr_ty();
            let n = self.iconst(p64, size);
            let vp = self.c.types.pointer(bt::VOID);
            let mem = self.call_helper("__sx_heap_alloc", vec![n], vp, span)?;
            let a = self.scalar(mem, span)?;
            self.store(a, tv, span)?;
            a
        };
        let slot = self.slot_for(p);
        let base = self.slot_addr(slot);
        self.b(|b| b.store(base, 0, ctx));
        let rec = self.c.type_record(concrete, span)?;
        let p64 = self.ptr_ty();
        let tid = self.b(|b| b.data_addr(rec, p64));
        let pb = self.c.module.pointer_bytes() as i64;
        let ta = self.offset_addr(base, pb);
        self.b(|b| b.store(ta, 0, tid));
        let mut funcs = vec![];
        for (i, m) in info.methods.iter().enumerate() {
            // A method the impl lacks was reported when the impl was resolved.
            let Some(&fid) = table.get(&m.name) else {
                let msg =
                    format!("'{}' does not implement protocol '{}': method '{}' is missing", self.tname(concrete), self.tname(p), m.name);
                return self.err(span, msg);
            };
            let (params, ret) = self.c.proto_method_sig(p, i)?;
            let isig = self.c.fn_sig(fid)?;
            let iparams: Vec<TypeId> = isig.params.iter().skip(1).copied().collect();
            if iparams != params || isig.ret != ret {
                let what = if isig.ret != ret {
                    format!("return type: protocol declares '{}', impl declares '{}'", self.tname(ret), self.tname(isig.ret))
                } else {
                    "parameter types differ".to_string()
                };
                let msg = format!(
                    "'{}' does not implement protocol '{}': method '{}' has a mismatched signature — {}",
                    self.tname(concrete),
                    self.tname(p),
                    m.name,
                    what
                );
                return self.err(span, msg);
            }
            funcs.push(self.c.declare_fn(fid, span)?);
        }
        if info.inline {
            for (i, f) in funcs.iter().enumerate() {
                let f = *f;
                let p64 = self.ptr_ty();
                let fa = self.b(|b| b.func_addr(f, p64));
                let sa = self.offset_addr(base, pb * (2 + i as i64));
                self.b(|b| b.store(sa, 0, fa));
            }
        } else {
            let vt = match self.c.protos.vtables.get(&(p, concrete)) {
                Some(d) => *d,
                None => {
                    let relocs = funcs
                        .iter()
                        .enumerate()
                        .map(|(i, f)| sx_ir::Reloc { offset: (i as i64 * pb) as u32, target: sx_ir::RelocTarget::Func(*f), addend: 0 })
                        .collect();
                    let name = format!("vtable.{}.{}", self.tname(p), self.c.fresh());
                    let bytes = vec![0u8; (funcs.len().max(1) as i64 * pb) as usize];
                    let d = self.c.module.add_data(sx_ir::Data { name, bytes, align: pb as u32, relocs, writable: false });
                    self.c.protos.vtables.insert((p, concrete), d);
                    d
                }
            };
            let p64 = self.ptr_ty();
            let va = self.b(|b| b.data_addr(vt, p64));
            let sa = self.offset_addr(base, 2 * pb);
            self.b(|b| b.store(sa, 0, va));
        }
        Ok(TV { ty: p, v: V::Mem(base) })
    }

    /// Calls method `name` on the protocol value at `obj` (of protocol type `p`).
    pub(crate) fn protocol_call(&mut self, obj: Value, p: TypeId, name: &Ident, args: &[Arg], span: Span) -> R<TV> {
        let info = self.c.protos.protocols[&p].clone();
        let Some(i) = info.methods.iter().position(|m| m.name == name.name) else {
            let msg = format!("protocol '{}' has no method '{}'", self.tname(p), name.name);
            return self.err(name.span, msg);
        };
        let (params, ret) = self.c.proto_method_sig(p, i)?;
        let pb = self.c.module.pointer_bytes() as i64;
        let p64 = self.ptr_ty();
        let ctx = self.b(|b| b.load(p64, obj, 0));
        let fptr = if info.inline {
            self.b(|b| b.load(p64, obj, (pb * (2 + i as i64)) as i32))
        } else {
            let vt = self.b(|b| b.load(p64, obj, (pb * 2) as i32));
            self.b(|b| b.load(p64, vt, (pb * i as i64) as i32))
        };
        self.indirect_call(fptr, Some(ctx), &params, ret, args, span)
    }
}

impl<'c> FnCx<'c> {
    /// `push ctx { body }`: installs `ctx` as the implicit `context` for the body and restores
    /// the previous one on every exit (a synthetic `defer`). `push .{ field = v }` patches a copy
    /// of the current context (unnamed fields are inherited).
    pub(crate) fn push_stmt(&mut self, ctx: &Expr, body: &Block, span: Span) -> R<()> {
        let ctx_id = Ident { name: "context".into(), span, raw: false };
        let ctx_expr = Expr::new(ExprKind::Ident(ctx_id.clone()), span);
        let Some((gaddr, cty)) = self.place_opt(&ctx_expr, false)? else {
            return self.err(span, "'push' needs the implicit 'context' (import \"modules/std.sx\")");
        };
        self.push_scope();
        let r = (|| -> R<()> {
            // Save the current context.
            let saved = self.slot_for(cty);
            let sa = self.slot_addr(saved);
            let cur = self.load(gaddr, cty);
            self.store(sa, cur, span)?;
            let hidden = format!("\u{0}saved_ctx{}", self.c.fresh());
            self.bind(&hidden, Local::Var { slot: saved, ty: cty, by_ref: false, readonly: true });
            // The new context, built before it is installed.
            let patch = match &ctx.kind {
                ExprKind::StructLit { ty: None, fields } if fields.iter().all(|f| f.name.is_some()) => Some(fields.clone()),
                _ => None,
            };
            let fresh = self.slot_for(cty);
            let fa = self.slot_addr(fresh);
            match patch {
                Some(fields) => {
                    let cur = self.load(gaddr, cty);
                    self.store(fa, cur, span)?;
                    for f in &fields {
                        let name = f.name.as_ref().expect("named");
                        let Some((off, fty)) = self.field_of(cty, &name.name) else {
                            let msg = format!("the context has no field '{}'", name.name);
                            return self.err(name.span, msg);
                        };
                        let v = self.expr(&f.value, Some(fty))?;
                        let v = self.coerce(v, fty, f.value.span)?;
                        let a = self.offset_addr(fa, off as i64);
                        self.store(a, v, f.value.span)?;
                    }
                }
                None => {
                    let v = self.expr(ctx, Some(cty))?;
                    let v = self.coerce(v, cty, ctx.span)?;
                    self.store(fa, v, ctx.span)?;
                }
            }
            let newv = TV { ty: cty, v: V::Mem(fa) };
            self.store(gaddr, newv, span)?;
            let restore = Stmt {
                span,
                kind: StmtKind::Assign {
                    op: AssignOp::Assign,
                    lhs: ctx_expr.clone(),
                    rhs: Expr::new(ExprKind::Ident(Ident { name: hidden, span, raw: true }), span),
                },
            };
            self.scopes.last_mut().expect("scope").defers.push(restore);
            self.block_value(body, None)?;
            Ok(())
        })();
        match r {
            Ok(()) => self.pop_scope(),
            Err(()) => {
                self.scopes.pop();
                Err(())
            }
        }
    }
}
