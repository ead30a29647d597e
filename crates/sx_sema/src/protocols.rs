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
//!
//! A *protocol family* `P :: protocol(T: Type) { … }` is a protocol type whose method
//! signatures mention its parameters; `P(i64)` is its *instance* for those arguments (one type
//! per argument list), an ordinary protocol with `T` bound. `impl P(i64) for Src` implements an
//! instance for any type expression `Src`. The bare family names "some instance" where a pack
//! constrains its elements (`..xs: P`). Std's `Into :: protocol(Target: Type)` is the hook of
//! user conversions: `xx v` to `T` with no built-in conversion calls the visible
//! `impl Into(T) for type_of(v)` (see [`FnCx::user_conversion`]).

use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
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
    /// A family (`protocol(T: Type)`) or one of its instances: the parameter names.
    pub params: Vec<String>,
    /// An instance: its family and arguments (`None` for a plain protocol or a bare family).
    pub instance_of: Option<(TypeId, Vec<ConstVal>)>,
    /// Names the method signatures see besides `Self` (an instance's parameters).
    pub scope: Rc<HashMap<String, ConstVal>>,
}

/// One protocol method.
#[derive(Clone, Debug)]
pub(crate) struct ProtoMethod {
    pub name: String,
    pub decl: FnDecl,
    /// `Self` appears only as the receiver: the method has a slot in an erased value.
    pub dispatchable: bool,
}

/// How an erasure gets the object of an owned protocol value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Erasure<'e> {
    /// `xx v` or an implicit conversion: a pointer's pointee is borrowed.
    Implicit,
    /// `v.(P)`: an owned copy (a pointer's pointee is snapshotted).
    Snapshot,
    /// `v.(P, alloc)`: an owned copy allocated through the named allocator.
    Alloc(&'e Expr),
}

/// A method an impl leaves out that its type must already have.
#[derive(Clone, Debug)]
pub(crate) struct Adoption {
    pub protocol: TypeId,
    pub target: TypeId,
    pub method: String,
    pub span: Span,
    /// The impl is a further impl of a family instance (its table is in `other_impls`).
    pub other_file: bool,
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
    /// Instances of protocol families per (family, arguments).
    pub instances: HashMap<(TypeId, Vec<ConstKey>), TypeId>,
    /// Where each impl of `impls` was written.
    pub impl_sites: HashMap<(TypeId, TypeId), (FileIdx, Span)>,
    /// Further impls of a family instance for the same type in other files (`impls` holds the
    /// first); which one applies depends on what the using file imports.
    pub other_impls: HashMap<(TypeId, TypeId), Vec<(FileIdx, Span, HashMap<String, FnId>)>>,
    /// Impls with `$` patterns (`impl P for Pair($T)`), instantiated when a type matches.
    pub generic_impls: Vec<(FileIdx, Rc<Item>)>,
    /// Default method bodies instantiated for an impl → the protocol whose impl they belong to.
    pub default_domain: HashMap<FnId, TypeId>,
    /// Impl methods taking their receiver by value → the by-pointer thunk a slot calls.
    pub receiver_thunks: HashMap<FnId, FnId>,
    /// Impl methods left out and not defaulted, adopted once the impls are registered.
    pub unadopted: Vec<Adoption>,
    /// Types the generic impls were already matched against.
    pub generic_matched: std::collections::HashSet<TypeId>,
    /// Methods of `$`-pattern impls (their `$` names are bound by the impl's match).
    pub pattern_methods: std::collections::HashSet<FnId>,
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
                        let dispatchable = !crate::syntax_facts::is_self_typed_signature(decl, 1);
                        methods.push(ProtoMethod { name: name.name.clone(), decl: (**decl).clone(), dispatchable });
                    }
                    _ => return self.err(m.span, "not supported yet: constants in a protocol"),
                },
                _ => return self.err(m.span, "a protocol declares only methods"),
            }
        }
        let inline = sd.directives.iter().any(|d| d.name == "inline");
        let identity = sd.directives.iter().any(|d| d.name == "identity");
        let mut params = vec![];
        for p in sd.params.iter().flatten() {
            let Some(n) = &p.name else { return self.err(p.span, "a protocol parameter needs a name") };
            if p.variadic {
                return self.err(p.span, "not supported yet: a variadic protocol parameter");
            }
            params.push(n.name.clone());
        }
        if sd.params.as_ref().is_some_and(|ps| ps.is_empty()) {
            return self.err(sd.span, "a parameterised protocol needs at least one parameter");
        }
        self.protocol_layout(t, &methods, inline);
        let info = ProtoInfo { methods, inline, identity, file, params, instance_of: None, scope: Rc::new(HashMap::new()) };
        self.protos.protocols.insert(t, info);
        Ok(ConstVal::Type(t))
    }

    /// Lays out protocol type `t`: `{ctx, __type_id}` then the method slots or `__vtable`.
    fn protocol_layout(&mut self, t: TypeId, methods: &[ProtoMethod], inline: bool) {
        let void_ptr = self.types.pointer(bt::VOID);
        let mut fields = vec![("ctx".to_string(), void_ptr), ("__type_id".to_string(), bt::TYPE)];
        if inline {
            for m in methods.iter().filter(|m| m.dispatchable) {
                fields.push((m.name.clone(), void_ptr));
            }
        } else {
            fields.push(("__vtable".to_string(), void_ptr));
        }
        self.types.complete_struct(t, fields);
    }

    /// True for a bare protocol family (`P :: protocol(T: Type)`, not one of its instances).
    pub(crate) fn is_protocol_family(&self, t: TypeId) -> bool {
        self.protos.protocols.get(&t).is_some_and(|i| !i.params.is_empty() && i.instance_of.is_none())
    }

    /// The family a protocol instance belongs to.
    pub(crate) fn protocol_family_of(&self, t: TypeId) -> Option<TypeId> {
        self.protos.protocols.get(&t).and_then(|i| i.instance_of.as_ref()).map(|(f, _)| *f)
    }

    /// The instance `family(args)` (one type per argument list).
    pub(crate) fn protocol_instance(&mut self, family: TypeId, args: Vec<ConstVal>, span: Span) -> R<TypeId> {
        let info = self.protos.protocols[&family].clone();
        if args.len() != info.params.len() {
            let msg = format!(
                "protocol '{}' takes {} argument{}, found {}",
                self.types.name(family),
                info.params.len(),
                if info.params.len() == 1 { "" } else { "s" },
                args.len()
            );
            return self.err(span, msg);
        }
        let key = (family, crate::consts::args_key(&args));
        if let Some(&t) = self.protos.instances.get(&key) {
            return Ok(t);
        }
        let shown = self.instance_args_text(&args, ", ");
        let t = self.types.new_struct(&format!("{}({})", self.types.name(family), shown), false, Some(span));
        self.protos.instances.insert(key, t);
        self.protocol_layout(t, &info.methods, info.inline);
        let scope: HashMap<String, ConstVal> = info.params.iter().cloned().zip(args.iter().cloned()).collect();
        let inst = ProtoInfo { instance_of: Some((family, args)), scope: Rc::new(scope), ..info };
        self.protos.protocols.insert(t, inst);
        Ok(t)
    }

    /// The argument named `param` of protocol instance `inst`.
    pub(crate) fn protocol_instance_arg(&self, inst: TypeId, param: &str) -> Option<ConstVal> {
        self.protos.protocols.get(&inst)?.scope.get(param).cloned()
    }

    /// The instances of `family` that `t` implements (in a stable order).
    pub(crate) fn family_impls_for(&mut self, family: TypeId, t: TypeId) -> R<Vec<TypeId>> {
        if !self.protos.pending.is_empty() {
            self.resolve_impls()?;
        }
        self.instantiate_generic_impls(t)?;
        let mut out: Vec<TypeId> =
            self.protos.impls.keys().filter(|(p, c)| *c == t && self.protocol_family_of(*p) == Some(family)).map(|(p, _)| *p).collect();
        out.sort_by_key(|p| p.0);
        Ok(out)
    }

    /// True when `from` imports `to`, directly or through other imports (flat or namespaced).
    pub(crate) fn file_reaches(&self, from: FileIdx, to: FileIdx) -> bool {
        let mut seen = std::collections::HashSet::new();
        let mut work = vec![from];
        while let Some(f) = work.pop() {
            if f == to {
                return true;
            }
            if !seen.insert(f) {
                continue;
            }
            let info = &self.files[f];
            work.extend(info.flat_imports.iter().copied());
            for ids in info.names.values() {
                for id in ids {
                    if let DeclKind::Namespace(n) = &self.decls[*id].kind {
                        work.push(*n);
                    }
                }
            }
        }
        false
    }

    /// True for protocol types.
    pub(crate) fn is_protocol(&self, t: TypeId) -> bool {
        self.protos.protocols.contains_key(&t)
    }

    /// Resolves the pending `impl` items. Every item is either registered, kept as a generic
    /// impl, or reported.
    pub(crate) fn resolve_impls(&mut self) -> R<()> {
        let pending = std::mem::take(&mut self.protos.pending);
        let mut ok = true;
        for (file, item) in pending {
            let ItemKind::Impl(imp) = &item.kind else { continue };
            ok &= self.resolve_impl(file, &item, imp).is_ok();
        }
        ok &= self.settle_adoptions().is_ok();
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    fn resolve_impl(&mut self, file: FileIdx, item: &Rc<Item>, imp: &ImplDecl) -> R<()> {
        let Some(target) = &imp.target else {
            return self.err(imp.span, "not supported yet: 'impl T { … }' without 'for'");
        };
        if crate::syntax_facts::contains_poly(&imp.protocol) || crate::syntax_facts::contains_poly(target) {
            if let ExprKind::ClosureType { params, ret } = &target.kind {
                self.check_closure_impl_pattern(params, ret.as_deref())?;
            }
            self.protos.generic_impls.push((file, item.clone()));
            return Ok(());
        }
        self.check_method_attrs(imp.items.iter().filter_map(|i| match &i.kind {
            ItemKind::Const { value, .. } => Some(value),
            _ => None,
        }));
        let outer = Rc::new(HashMap::new());
        let p = self.eval_type_in(file, None, &outer, &imp.protocol)?;
        let t = self.eval_type_in(file, None, &outer, target)?;
        self.register_impl(file, imp, p, t, outer)
    }

    /// Instantiates the `$`-pattern impls whose target matches instance `t` of a parameterised
    /// struct (`impl P for Pair($T)` for `Pair(i32)`: `T` is bound to `i32` in the protocol and
    /// the methods) or closure type `t` (`impl P for Closure(..$args) -> $R`, see
    /// `closure_impls`), once per type.
    pub(crate) fn instantiate_generic_impls(&mut self, t: TypeId) -> R<()> {
        if !self.protos.pending.is_empty() {
            self.resolve_impls()?;
        }
        if self.protos.generic_impls.is_empty() || !self.protos.generic_matched.insert(t) {
            return Ok(());
        }
        let instance = self.inst.struct_instances.iter().find(|(_, v)| **v == t).map(|((g, _), _)| *g);
        let instance = instance.and_then(|g| Some((g, self.struct_instance_args(t)?)));
        for (file, item) in self.protos.generic_impls.clone() {
            let ItemKind::Impl(imp) = &item.kind else { continue };
            if let Some(ExprKind::ClosureType { params, ret }) = imp.target.as_ref().map(|e| &e.kind) {
                let Some(binds) = self.match_closure_impl_target(file, params, ret.as_deref(), t)? else { continue };
                let outer = Rc::new(binds);
                let p = self.eval_type_in(file, None, &outer, &imp.protocol)?;
                if !self.protos.impls.contains_key(&(p, t)) {
                    self.register_impl(file, imp, p, t, outer)?;
                }
                continue;
            }
            let Some(ExprKind::Call { callee, args: pats, .. }) = imp.target.as_ref().map(|e| &e.kind) else {
                let span = imp.target.as_ref().map(|e| e.span).unwrap_or(imp.span);
                return self.err(
                    span,
                    "not supported yet: a '$' pattern impl whose target is not a parameterised struct 'S($T, …)' or a closure type 'Closure(..$args) -> $R'",
                );
            };
            let Some((g, args)) = instance.clone() else { continue };
            let ExprKind::Ident(id) = &callee.kind else { continue };
            if self.lookup_global(file, &id.name, id.span)? != Some(ConstVal::GenericStruct(g)) {
                continue;
            }
            let mut binds: HashMap<String, ConstVal> = HashMap::new();
            let mut matches = pats.len() == args.len();
            for (pat, arg) in pats.iter().zip(&args) {
                match &pat.value.kind {
                    ExprKind::Poly { name, .. } => {
                        binds.insert(name.name.clone(), arg.clone());
                    }
                    _ => {
                        let outer = Rc::new(HashMap::new());
                        let v = self.eval_const_in(file, None, &outer, &pat.value, None)?;
                        matches &= v == *arg;
                    }
                }
            }
            if !matches {
                continue;
            }
            let outer = Rc::new(binds);
            let p = self.eval_type_in(file, None, &outer, &imp.protocol)?;
            if !self.protos.impls.contains_key(&(p, t)) {
                self.register_impl(file, imp, p, t, outer)?;
            }
        }
        self.settle_adoptions()
    }

    /// Registers `impl p for t` (its methods see `outer`).
    fn register_impl(&mut self, file: FileIdx, imp: &ImplDecl, p: TypeId, t: TypeId, outer: Rc<HashMap<String, ConstVal>>) -> R<()> {
        if !self.is_protocol(p) {
            let msg = format!("'{}' is not a protocol", self.types.name(p));
            return self.err(imp.protocol.span, msg);
        }
        if self.is_protocol_family(p) {
            let msg = format!(
                "protocol '{}' is parameterised: implement an instance, e.g. 'impl {}(T) for …'",
                self.types.name(p),
                self.types.name(p)
            );
            return self.err(imp.protocol.span, msg);
        }
        let mut other_file = false;
        if let Some(&(f0, _)) = self.protos.impl_sites.get(&(p, t)) {
            let same_file = f0 == file || self.protos.other_impls.get(&(p, t)).is_some_and(|v| v.iter().any(|(f, _, _)| *f == file));
            if same_file || self.protocol_family_of(p).is_none() {
                let msg = format!("duplicate 'impl {} for {}'", self.types.name(p), self.types.name(t));
                return self.err(imp.span, msg);
            }
            // A family instance implemented again in another file: which impl an `xx` uses
            // depends on that file's imports.
            other_file = true;
        }
        let mut table = HashMap::new();
        for it in &imp.items {
            if let ItemKind::Const { name, value, .. } = &it.kind {
                if let ExprKind::Fn(decl) = &value.kind {
                    let fid = self.new_fn(&name.name, decl, file, Some(t), outer.clone(), name.span);
                    if !outer.is_empty() {
                        self.protos.pattern_methods.insert(fid);
                    }
                    table.insert(name.name.clone(), fid);
                    if !other_file {
                        self.protos.methods.entry((t, name.name.clone())).or_insert(fid);
                    }
                    continue;
                }
            }
            return self.err(it.span, "an impl declares only methods");
        }
        let info = self.protos.protocols[&p].clone();
        for m in &info.methods {
            if !table.contains_key(&m.name) {
                if m.decl.body.is_some() {
                    // A default method body, instantiated for this type: `Self` is the type, and
                    // its method calls on the receiver's type prefer this impl's methods.
                    let mut scope = (*info.scope).clone();
                    scope.insert("Self".to_string(), ConstVal::Type(t));
                    let fid = self.new_fn(&m.name, &m.decl, info.file, Some(t), Rc::new(scope), imp.span);
                    self.protos.default_domain.insert(fid, p);
                    table.insert(m.name.clone(), fid);
                    if !other_file {
                        self.protos.methods.entry((t, m.name.clone())).or_insert(fid);
                    }
                } else {
                    // Adopted from the type's own methods or another impl's, once every
                    // pending impl is registered (`settle_adoptions`).
                    self.protos.unadopted.push(Adoption { protocol: p, target: t, method: m.name.clone(), span: imp.span, other_file });
                }
            }
        }
        if other_file {
            self.protos.other_impls.entry((p, t)).or_default().push((file, imp.span, table));
        } else {
            self.protos.impl_sites.insert((p, t), (file, imp.span));
            self.protos.impls.insert((p, t), table);
        }
        Ok(())
    }

    /// Gives each impl method the impl left out (and the protocol has no default for) the
    /// method of that name its type already has — inherent or from another impl — or reports
    /// it missing.
    fn settle_adoptions(&mut self) -> R<()> {
        let mut ok = true;
        for a in std::mem::take(&mut self.protos.unadopted) {
            let Some(ConstVal::Func(fid)) = self.struct_member(a.target, &a.method)? else {
                let msg =
                    format!("'impl {} for {}' is missing method '{}'", self.types.name(a.protocol), self.types.name(a.target), a.method);
                let _ = self.err::<()>(a.span, msg);
                ok = false;
                continue;
            };
            let key = (a.protocol, a.target);
            let table = if a.other_file {
                self.protos.other_impls.get_mut(&key).and_then(|v| v.last_mut()).map(|(_, _, t)| t)
            } else {
                self.protos.impls.get_mut(&key)
            };
            if let Some(table) = table {
                table.insert(a.method, fid);
            }
        }
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    /// The function a protocol slot calls for impl method `fid` of type `t`: `fid` itself when
    /// it takes its receiver by pointer, else a thunk `(self: *t, args…) { fid(self.*, args…) }`
    /// (every slot is called with the object's address).
    pub(crate) fn by_pointer_receiver(&mut self, fid: FnId, t: TypeId) -> R<FnId> {
        let sig = self.fn_sig(fid)?;
        if sig.params.first().is_none_or(|p| matches!(self.types.kind(*p), TK::Pointer(_))) {
            return Ok(fid);
        }
        if let Some(&thunk) = self.protos.receiver_thunks.get(&fid) {
            return Ok(thunk);
        }
        let def = &self.fns[fid];
        let (file, owner, name) = (def.file, def.owner, format!("{}.by_pointer", def.name));
        let mut decl = (*def.decl).clone();
        let span = Span::new(decl.span.file, decl.span.lo, decl.span.lo);
        let hidden = |n: &str| Ident { name: format!("\u{0}{}", n), span, raw: true };
        let ident = |id: Ident| Expr::new(ExprKind::Ident(id), span);
        let mut scope = (*def.local_consts).clone();
        scope.insert(hidden("recv_type").name, ConstVal::Type(t));
        scope.insert(hidden("by_value").name, ConstVal::Func(fid));
        let mut args = vec![];
        for (i, p) in decl.params.iter_mut().enumerate() {
            if i == 0 {
                p.name = Some(hidden("recv"));
                p.ty = Some(Expr::new(ExprKind::AddrOf(Box::new(ident(hidden("recv_type")))), span));
                args.push(Expr::new(ExprKind::Deref(Box::new(ident(hidden("recv")))), span));
                continue;
            }
            let Some(n) = p.name.clone() else { return self.err(p.span, "a protocol method parameter needs a name") };
            args.push(ident(n));
        }
        let args = args.into_iter().map(|value| Arg { name: None, value, spread: false, span }).collect();
        let call = Expr::new(ExprKind::Call { callee: Box::new(ident(hidden("by_value"))), args, trailing_block: false }, span);
        decl.body = Some(Body::Block(Block { stmts: vec![], tail: Some(Box::new(call)), span }));
        decl.span = span;
        let thunk = self.new_fn(&name, &decl, file, owner, Rc::new(scope), span);
        self.protos.receiver_thunks.insert(fid, thunk);
        Ok(thunk)
    }

    /// In the body of a protocol's default method instantiated for `t`: the method `name` of
    /// that protocol's impl for `t` (which wins over an inherent method of the same name).
    pub(crate) fn default_domain_method(&self, t: TypeId, name: &str) -> Option<FnId> {
        let cur = self.lowering?;
        let p = *self.protos.default_domain.get(&cur)?;
        if self.fns[cur].owner != Some(t) {
            return None;
        }
        self.protos.impls.get(&(p, t))?.get(name).copied()
    }

    /// An impl method of `t` named `name`.
    pub(crate) fn impl_method(&mut self, t: TypeId, name: &str) -> R<Option<FnId>> {
        if !self.protos.pending.is_empty() {
            self.resolve_impls()?;
        }
        self.instantiate_generic_impls(t)?;
        Ok(self.protos.methods.get(&(t, name.to_string())).copied())
    }

    /// The parameter types (after the receiver) and result of protocol method `i`.
    fn proto_method_sig(&mut self, p: TypeId, i: usize, self_ty: TypeId) -> R<(Vec<TypeId>, TypeId)> {
        let info = self.protos.protocols[&p].clone();
        let m = &info.methods[i];
        let mut outer = (*info.scope).clone();
        outer.insert("Self".to_string(), ConstVal::Type(self_ty));
        let outer = Rc::new(outer);
        let mut params = vec![];
        for prm in m.decl.params.iter().skip(1) {
            let Some(te) = &prm.ty else { return self.err(prm.span, "a protocol method parameter needs a type") };
            params.push(self.eval_type_in(info.file, None, &outer, te)?);
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
        self.erase_to_protocol_as(tv, p, Erasure::Implicit, span)
    }

    /// Erases `tv` into a value of protocol `p` the way `how` says: an implicit erasure borrows
    /// a pointer's pointee, the postfix spellings `.(P)` / `.(P, alloc)` own a copy of it (a
    /// view `*P` is promoted: its object copied). `#identity` protocols always borrow.
    pub(crate) fn erase_to_protocol_as(&mut self, tv: TV, p: TypeId, how: Erasure<'_>, span: Span) -> R<TV> {
        if tv.ty == self.c.types.pointer(p) {
            return self.promote_view(tv, p, how, span);
        }
        if !self.c.protos.pending.is_empty() {
            self.c.resolve_impls()?;
        }
        self.c.instantiate_generic_impls(tv.ty)?;
        if let TK::Pointer(inner) = self.c.types.kind(tv.ty).clone() {
            self.c.instantiate_generic_impls(inner)?;
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
        let (tv, by_pointer) = match how {
            Erasure::Snapshot | Erasure::Alloc(_) if by_pointer && !info.identity => {
                let ptr = self.scalar(tv, span)?;
                (self.load(ptr, concrete), false)
            }
            _ => (tv, by_pointer),
        };
        if let (Erasure::Alloc(_), true) = (&how, info.identity) {
            let msg = format!(
                "'.({}, allocator)' on '#identity' protocol '{}': its values borrow and allocate nothing",
                self.tname(p),
                self.tname(p)
            );
            return self.err(span, msg);
        }
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
            let a = self.erasure_alloc(n, &how, span)?;
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
            let self_ty = if m.dispatchable { p } else { concrete };
            let (params, ret) = self.c.proto_method_sig(p, i, self_ty)?;
            if self.c.needs_instance(fid) {
                let msg = format!(
                    "'{}' does not implement protocol '{}': method '{}' has a mismatched signature — it declares compile-time parameters of its own, which a protocol method cannot have",
                    self.tname(concrete),
                    self.tname(p),
                    m.name
                );
                return self.err(span, msg);
            }
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
            if m.dispatchable {
                let slot_fn = self.c.by_pointer_receiver(fid, concrete)?;
                funcs.push(self.c.declare_fn(slot_fn, span)?);
            }
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

    /// `size` bytes for an owned erasure: through the named allocator of `.(P, alloc)`, else
    /// from the context's.
    fn erasure_alloc(&mut self, size: Value, how: &Erasure<'_>, span: Span) -> R<Value> {
        let mem = match how {
            Erasure::Alloc(alloc) => {
                let sz = self.tmp_value(TV { ty: bt::I64, v: V::Scalar(size) }, span);
                let callee = Expr::new(
                    ExprKind::Field { base: Box::new((*alloc).clone()), name: Ident { name: "alloc_bytes".into(), span, raw: false } },
                    span,
                );
                let arg = Arg { name: None, value: sz, spread: false, span };
                let call = Expr::new(ExprKind::Call { callee: Box::new(callee), args: vec![arg], trailing_block: false }, span);
                self.expr(&call, None)?
            }
            Erasure::Implicit | Erasure::Snapshot => self.heap_alloc(size, span)?,
        };
        self.scalar(mem, span)
    }

    /// A hidden local holding `v`, as an expression naming it.
    fn tmp_value(&mut self, v: TV, span: Span) -> Expr {
        let s = self.slot_for(v.ty);
        let a = self.slot_addr(s);
        let _ = self.store(a, v.clone(), span);
        let name = format!("\u{0}erase{}", self.c.fresh());
        self.bind(&name, Local::Var { slot: s, ty: v.ty, by_ref: false, readonly: true });
        Expr::new(ExprKind::Ident(Ident { name, span, raw: true }), span)
    }

    /// `view.(P)` / `view.(P, alloc)` on a `*P`: an owned value with the view's type and
    /// method words and a fresh copy of its object (as many bytes as its type's size).
    fn promote_view(&mut self, view: TV, p: TypeId, how: Erasure<'_>, span: Span) -> R<TV> {
        if self.c.protos.protocols[&p].identity || matches!(how, Erasure::Implicit) {
            let ptr = self.scalar(view, span)?;
            return Ok(self.load(ptr, p));
        }
        let src = self.scalar(view, span)?;
        let p64 = self.ptr_ty();
        let pb = self.c.module.pointer_bytes() as i32;
        let ctx = self.b(|b| b.load(p64, src, 0));
        let rec = self.b(|b| b.load(p64, src, pb));
        let size_off = self.c.rtti_offset(false, "size") as i32;
        let size = self.b(|b| b.load(sx_ir::Type::I64, rec, size_off));
        let mem = self.erasure_alloc(size, &how, span)?;
        self.call_runtime(RuntimeFn::CopyBytes, vec![mem, ctx, size], bt::VOID, span)?;
        let slot = self.slot_for(p);
        let base = self.slot_addr(slot);
        let words = self.c.types.size_of(p) as i32 / pb;
        for w in 1..words {
            let x = self.b(|b| b.load(p64, src, w * pb));
            self.b(|b| b.store(base, w * pb, x));
        }
        self.b(|b| b.store(base, 0, mem));
        Ok(TV { ty: p, v: V::Mem(base) })
    }

    /// `xx v` / `v.(T)` to `to` where no built-in conversion applies: the call of `convert`
    /// from the `impl Into(to) for type_of(v)` visible from this file (a direct call). `None`
    /// when a built-in conversion applies or no such impl exists anywhere.
    pub(crate) fn user_conversion(&mut self, v: TV, to: TypeId, span: Span) -> R<Option<TV>> {
        // An untyped literal converts as its default type (`xx 42` is an `i64` source).
        let from = v.as_const().filter(|c| c.is_untyped()).map(|c| c.ty()).unwrap_or(v.ty);
        let builtin = from == to
            || to == bt::ANY
            || from == bt::ANY
            || self.c.is_protocol(to)
            || (self.c.types.scalar(from).is_some() && self.c.types.scalar(to).is_some())
            || matches!(self.c.types.kind(to), TK::Closure { .. } | TK::Func { .. })
            || self.c.types.optional_inner(to).is_some();
        if builtin {
            return Ok(None);
        }
        let Some(into) = self.c.library_type("Into", span, |c, t| c.is_protocol_family(t))? else { return Ok(None) };
        if !self.c.protos.pending.is_empty() {
            self.c.resolve_impls()?;
        }
        self.c.instantiate_generic_impls(from)?;
        let inst = self.c.protocol_instance(into, vec![ConstVal::Type(to)], span)?;
        let mut candidates: Vec<(FileIdx, Span, HashMap<String, FnId>)> = vec![];
        if let (Some(table), Some(&(f, sp))) = (self.c.protos.impls.get(&(inst, from)), self.c.protos.impl_sites.get(&(inst, from))) {
            candidates.push((f, sp, table.clone()));
        }
        candidates.extend(self.c.protos.other_impls.get(&(inst, from)).cloned().unwrap_or_default());
        if candidates.is_empty() {
            return Ok(None);
        }
        let here = self.file;
        let visible: Vec<_> = candidates.iter().filter(|(f, _, _)| self.c.file_reaches(here, *f)).cloned().collect();
        let path_of = |cx: &Self, f: FileIdx| cx.c.sources.file(cx.c.files[f].file_id).path.clone();
        match visible.len() {
            0 => {
                let wheres: Vec<String> = candidates.iter().map(|(f, _, _)| format!("'{}'", path_of(self, *f))).collect();
                let msg = format!(
                    "no visible xx conversion from '{}' to '{}': 'impl Into({}) for {}' is in {}, which this file does not import",
                    self.tname(from),
                    self.tname(to),
                    self.tname(to),
                    self.tname(from),
                    wheres.join(", ")
                );
                self.err(span, msg)
            }
            1 => {
                let (_, _, table) = &visible[0];
                let Some(&fid) = table.get("convert") else {
                    let msg = format!("'impl Into({}) for {}' has no 'convert' method", self.tname(to), self.tname(from));
                    return self.err(span, msg);
                };
                if self.c.lowering == Some(fid) {
                    let msg = format!(
                        "recursive xx conversion: 'convert' of 'impl Into({}) for {}' converts its own source to its own target",
                        self.tname(to),
                        self.tname(from)
                    );
                    return self.err(span, msg);
                }
                let v = if v.ty != from || v.as_const().is_some_and(|c| c.is_untyped()) { self.coerce(v, from, span)? } else { v };
                let v = self.materialize(v, span)?;
                let slot = self.slot_for(from);
                let addr = self.slot_addr(slot);
                self.store(addr, v, span)?;
                let r = self.call_with_receiver_addr(fid, addr, from, &[], span)?;
                if r.ty != to {
                    let msg = format!(
                        "'convert' of 'impl Into({}) for {}' returns '{}', not '{}'",
                        self.tname(to),
                        self.tname(from),
                        self.tname(r.ty),
                        self.tname(to)
                    );
                    return self.err(span, msg);
                }
                Ok(Some(r))
            }
            _ => {
                let wheres: Vec<String> = visible.iter().map(|(f, _, _)| format!("'{}'", path_of(self, *f))).collect();
                let msg = format!(
                    "ambiguous xx conversion from '{}' to '{}': 'impl Into({}) for {}' is visible from {}",
                    self.tname(from),
                    self.tname(to),
                    self.tname(to),
                    self.tname(from),
                    wheres.join(" and ")
                );
                self.err(span, msg)
            }
        }
    }

    /// Calls method `name` on the protocol value at `obj` (of protocol type `p`).
    pub(crate) fn protocol_call(&mut self, obj: Value, p: TypeId, name: &Ident, args: &[Arg], span: Span) -> R<TV> {
        let info = self.c.protos.protocols[&p].clone();
        let Some(i) = info.methods.iter().position(|m| m.name == name.name) else {
            let msg = format!("protocol '{}' has no method '{}'", self.tname(p), name.name);
            return self.err(name.span, msg);
        };
        if !info.methods[i].dispatchable {
            let msg = format!(
                "'{}' is unavailable on an erased '{}' value: its signature mentions 'Self' past the receiver, which denotes no type through erasure; call it on a concrete value or through a generic bound ('$T/{}')",
                name.name,
                self.tname(p),
                self.tname(p)
            );
            return self.err(name.span, msg);
        }
        let (params, ret) = self.c.proto_method_sig(p, i, p)?;
        let i = info.methods[..i].iter().filter(|m| m.dispatchable).count();
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
