//! Runtime classes (`Name :: #jni_class("path") extern { … }` and the other runtime
//! directives): the declaration becomes an opaque nominal type plus a [`RuntimeClass`] record
//! (methods, fields, `#extends`); a `#jni_main` class's methods become exported JNI native
//! methods (`Java_…_sx_1<name>(env, self, args…)`) whose bodies see `env` as their JNI env.
//! Calls through these classes are lowered by `jni_calls`.

use std::collections::HashMap;
use std::rc::Rc;

use crate::jni_rules::{native_symbol, RtField, RtMethod, Runtime, RuntimeClass};
use crate::*;

/// The hidden local holding the JNI env of the enclosing `#jni_env` block or native method.
pub(crate) const ENV_LOCAL: &str = "\u{0}jni_env";

/// Whether a declaration's value is a runtime class directive (`#jni_class(..)`, `#jni_main
/// #jni_class(..)`, `#objc_class(..)`, …).
pub(crate) fn is_class_directive(d: &DirectiveExpr) -> bool {
    if d.name.name == "jni_main" {
        return matches!(d.inner.as_deref(), Some(Expr { kind: ExprKind::Directive(inner), .. }) if is_class_directive(inner));
    }
    Runtime::from_directive(&d.name.name).is_some()
}

impl Compiler {
    /// Declares the runtime class `name` of declaration `id`.
    pub(crate) fn declare_runtime_class(&mut self, id: DeclId, name: &str, d: &DirectiveExpr, file: FileIdx, span: Span) -> R<ConstVal> {
        let (d, is_main) = match (&d.name.name[..], d.inner.as_deref()) {
            ("jni_main", Some(Expr { kind: ExprKind::Directive(inner), .. })) => (&**inner, true),
            _ => (d, false),
        };
        let Some(runtime) = Runtime::from_directive(&d.name.name) else { return Err(()) };
        if is_main && runtime != Runtime::JniClass {
            return self.err(span, "#jni_main marks a #jni_class");
        }
        let path = match d.args.as_deref() {
            Some([Arg { value: Expr { kind: ExprKind::Str(s), .. }, name: None, spread: false, .. }]) => {
                String::from_utf8_lossy(s).into_owned()
            }
            _ => return self.err(d.name.span, format!("{} takes the runtime's class name as one string literal", runtime.directive())),
        };
        let mut is_extern = false;
        for m in &d.modifiers {
            match m.name.as_str() {
                "extern" => is_extern = true,
                _ => return self.err(m.span, format!("not supported yet: '{}' on a runtime class", m.name)),
            }
        }
        if is_main && is_extern {
            return self.err(span, "a #jni_main class is defined by the program: it cannot be 'extern'");
        }
        let t = self.types.new_struct(name, false, Some(span));
        self.types.complete_struct(t, vec![]);
        self.decls[id].state = DeclState::Done(ConstVal::Type(t));
        let mut class =
            RuntimeClass { name: name.to_string(), runtime, path, file, is_extern, extends: None, methods: vec![], fields: vec![] };
        if let Some(body) = &d.body {
            self.class_members(&mut class, body)?;
        }
        if !is_extern && !is_main {
            let msg = format!(
                "not supported yet: a {} class defined in sx (declare the runtime's class 'extern', or the Activity '#jni_main')",
                runtime.directive()
            );
            return self.err(d.name.span, msg);
        }
        let natives: Vec<(usize, FnDecl)> = if is_main { self.native_method_decls(&class)? } else { vec![] };
        self.jni.classes.insert(t, class);
        self.runtime_parent(t)?;
        for (i, decl) in natives {
            self.declare_native_method(t, i, decl)?;
        }
        Ok(ConstVal::Type(t))
    }

    /// Reads the members of a runtime class body: methods, fields, `#extends`/`#implements`.
    fn class_members(&mut self, class: &mut RuntimeClass, body: &Block) -> R<()> {
        let tail_stmt = body.tail.as_ref().map(|e| Stmt { span: e.span, kind: StmtKind::Expr((**e).clone()) });
        let mut names_ok = true;
        for s in body.stmts.iter().chain(tail_stmt.iter()) {
            match &s.kind {
                StmtKind::Const { name, ty: None, value: Expr { kind: ExprKind::Fn(decl), .. } } => {
                    let names = std::iter::once(name).chain(decl.params.iter().filter_map(|p| p.name.as_ref()));
                    names_ok &= self.check_reserved_all(names).is_ok();
                    if class.methods.iter().any(|m| m.name.name == name.name) {
                        return self.err(name.span, format!("'{}' is declared twice in '{}'", name.name, class.name));
                    }
                    if decl.body.is_some() && class.is_extern {
                        return self.err(name.span, "a method of an 'extern' runtime class has no body: the runtime defines it");
                    }
                    let descriptor = self.method_descriptor_attr(decl)?;
                    let is_static = !takes_self(decl);
                    class.methods.push(RtMethod { name: name.clone(), decl: Rc::new((**decl).clone()), descriptor, is_static, fid: None });
                }
                StmtKind::Let { names, ty: Some(ty), value: None, undef: false } => {
                    names_ok &= self.check_reserved_all(names).is_ok();
                    for n in names {
                        class.fields.push(RtField { name: n.clone(), ty: ty.clone() });
                    }
                }
                StmtKind::Expr(Expr { kind: ExprKind::Directive(dir), span }) if dir.name.name == "extends" => match dir.args.as_deref() {
                    Some([a]) if class.extends.is_none() => class.extends = Some(a.value.clone()),
                    Some([_]) => return self.err(*span, "a runtime class extends one class"),
                    _ => return self.err(*span, "#extends names the parent class: '#extends Parent;'"),
                },
                StmtKind::Expr(Expr { kind: ExprKind::Directive(dir), span }) if dir.name.name == "implements" => {
                    if !matches!(dir.args.as_deref(), Some([_])) {
                        return self.err(*span, "#implements names one interface: '#implements Interface;'");
                    }
                }
                _ => return self.err(s.span, format!("not supported yet: this member of a {} declaration", class.runtime.directive())),
            }
        }
        if names_ok {
            Ok(())
        } else {
            Err(())
        }
    }

    /// `#jni_method_descriptor("(..)R")` after a method's signature.
    fn method_descriptor_attr(&mut self, decl: &FnDecl) -> R<Option<String>> {
        let Some(attr) = decl.attrs.other.iter().find(|a| a.name.name == "jni_method_descriptor") else { return Ok(None) };
        match attr.args.as_deref() {
            Some([Arg { value: Expr { kind: ExprKind::Str(s), .. }, .. }]) => {
                let text = String::from_utf8_lossy(s).into_owned();
                if let Err(msg) = crate::jni_rules::parse_method_descriptor(&text) {
                    return self.err(attr.name.span, msg);
                }
                Ok(Some(text))
            }
            _ => self.err(attr.name.span, "#jni_method_descriptor takes the method's JNI descriptor as a string literal"),
        }
    }

    /// The native methods of a `#jni_main` class: each method with a body, its declaration
    /// with the env prepended (`(env, self: *Self, args…)`, the JNI native method's parameters).
    fn native_method_decls(&mut self, class: &RuntimeClass) -> R<Vec<(usize, FnDecl)>> {
        let mut out = vec![];
        for (i, m) in class.methods.iter().enumerate() {
            if m.decl.body.is_none() {
                return self.err(m.name.span, "a method of a #jni_main class needs a body");
            }
            if m.is_static {
                return self.err(
                    m.name.span,
                    "not supported yet: a static method of a #jni_main class (its first parameter must be 'self: *Self')",
                );
            }
            let sp = m.name.span;
            let void = Expr::new(ExprKind::Ident(Ident { name: "void".into(), span: sp, raw: false }), sp);
            let env_ty = Expr::new(ExprKind::AddrOf(Box::new(void)), sp);
            let env = Param {
                name: Some(Ident { name: ENV_LOCAL.into(), span: sp, raw: true }),
                ty: Some(env_ty),
                default: None,
                comptime: false,
                variadic: false,
                span: sp,
            };
            let mut decl = (*m.decl).clone();
            decl.params.insert(0, env);
            decl.attrs.export = true;
            decl.attrs.export_sym = Some(native_symbol(&class.path, &m.name.name));
            out.push((i, decl));
        }
        Ok(out)
    }

    /// Declares native method `i` of the `#jni_main` class `t` as an exported function.
    fn declare_native_method(&mut self, t: TypeId, i: usize, decl: FnDecl) -> R<()> {
        let class = &self.jni.classes[&t];
        let (file, name, sym) = (class.file, class.methods[i].name.clone(), decl.attrs.export_sym.clone().unwrap_or_default());
        let fid = self.new_fn(&name.name, &decl, file, Some(t), self_scope(t), name.span);
        if let Some(class) = self.jni.classes.get_mut(&t) {
            class.methods[i].fid = Some(fid);
        }
        // `Class.method` names the native method as the JVM calls it (env first).
        let meta = self.structs.entry(t).or_insert_with(|| StructMeta {
            file,
            consts: HashMap::new(),
            defaults: vec![],
            local_consts: self_scope(t),
            evaluated: HashMap::new(),
        });
        meta.evaluated.insert(name.name.clone(), ConstVal::Func(fid));
        let sig = self.fn_sig(fid)?;
        let scalar = |c: &Compiler, ty: TypeId| c.types.scalar(ty).is_some();
        if sig.sret || !(sig.ret == bt::VOID || scalar(self, sig.ret)) || !sig.params.iter().all(|&p| scalar(self, p)) {
            return self.err(name.span, format!("not supported yet: the native method '{}' takes and returns scalars only", name.name));
        }
        if self.module.funcs.values().any(|f| f.name == sym) {
            return self.err(name.span, format!("C symbol '{}' is exported twice", sym));
        }
        let func = self.declare_fn(fid, name.span)?;
        let f = &mut self.module.funcs[func];
        f.name = sym;
        f.linkage = sx_ir::Linkage::Export;
        Ok(())
    }

    /// Declares the `#jni_main` classes of every loaded file (their native methods are exported
    /// whether or not the program names the class).
    pub(crate) fn declare_jni_mains(&mut self) {
        let mains: Vec<DeclId> = self
            .decls
            .iter()
            .filter(|(_, d)| match &d.kind {
                DeclKind::Item(item) => matches!(&item.kind, ItemKind::Const { value: Expr { kind: ExprKind::Directive(dir), .. }, .. } if dir.name.name == "jni_main"),
                DeclKind::Global(..) | DeclKind::Namespace(_) => false,
            })
            .map(|(id, _)| id)
            .collect();
        for id in mains {
            let _ = self.eval_decl(id);
        }
    }

    /// The runtime class a type is, if any.
    pub(crate) fn runtime_class(&self, t: TypeId) -> Option<&RuntimeClass> {
        self.jni.classes.get(&t)
    }

    /// The class path of the runtime class `t` (for descriptors).
    pub(crate) fn runtime_class_path(&self, t: TypeId) -> Option<String> {
        self.jni.classes.get(&t).map(|c| c.path.clone())
    }

    /// The parent of runtime class `t` (`#extends`), evaluated in the class's file.
    pub(crate) fn runtime_parent(&mut self, t: TypeId) -> R<Option<TypeId>> {
        let Some(class) = self.jni.classes.get(&t) else { return Ok(None) };
        let Some(e) = class.extends.clone() else { return Ok(None) };
        let file = class.file;
        let p = self.eval_type_in(file, Some(t), &self_scope(t), &e)?;
        if !self.jni.classes.contains_key(&p) {
            return self.err(e.span, format!("'{}' is not a runtime class", self.types.name(p)));
        }
        Ok(Some(p))
    }

    /// The first of runtime class `t` and its `#extends` ancestors (nearest first, a cycle
    /// ends the walk) on which `pick` finds something: that class and what it found.
    fn find_up_chain<T>(&mut self, t: TypeId, pick: impl Fn(&RuntimeClass) -> Option<T>) -> R<Option<(TypeId, T)>> {
        let mut cur = Some(t);
        let mut seen = vec![];
        while let Some(c) = cur {
            if seen.contains(&c) {
                break;
            }
            seen.push(c);
            if let Some(found) = self.jni.classes.get(&c).and_then(&pick) {
                return Ok(Some((c, found)));
            }
            cur = self.runtime_parent(c)?;
        }
        Ok(None)
    }

    /// Finds field `name` on runtime class `t` or its `#extends` ancestors: the declaring class
    /// and the field's type.
    pub(crate) fn find_runtime_field(&mut self, t: TypeId, name: &str) -> R<Option<(TypeId, TypeId)>> {
        let found = self.find_up_chain(t, |k| k.fields.iter().find(|f| f.name.name == name).map(|f| (k.file, f.ty.clone())))?;
        let Some((c, (file, te))) = found else { return Ok(None) };
        let ty = self.eval_type_in(file, Some(c), &self_scope(c), &te)?;
        Ok(Some((c, ty)))
    }

    /// Finds method `name` on runtime class `t` or its `#extends` ancestors: the class that
    /// declares it and its index.
    pub(crate) fn find_runtime_method(&mut self, t: TypeId, name: &str) -> R<Option<(TypeId, usize)>> {
        self.find_up_chain(t, |k| k.methods.iter().position(|m| m.name.name == name))
    }
}

/// The constants a runtime class's members see: `Self`.
pub(crate) fn self_scope(t: TypeId) -> Rc<HashMap<String, ConstVal>> {
    Rc::new(HashMap::from([("Self".to_string(), ConstVal::Type(t))]))
}

/// Whether a method's first parameter is `self: *Self` (an instance method).
fn takes_self(decl: &FnDecl) -> bool {
    let Some(p) = decl.params.first() else { return false };
    match &p.ty {
        Some(Expr { kind: ExprKind::AddrOf(inner), .. }) => matches!(&inner.kind, ExprKind::Ident(id) if id.name == "Self"),
        _ => false,
    }
}
