//! Lowering of JNI calls: `#jni_env(env) { … }`, `#jni_call(T)(target, "name", "sig", args…)`,
//! `#jni_static_call`, `obj.method(args)` on a pointer to a `#jni_class`, `Class.method(args)`
//! (static methods and the constructor `new`) and `super.method(args)` in a `#jni_main` method.
//!
//! Every call is plain IR: the function table is `*env`, each JNI function a pointer loaded
//! from it and called indirectly, so the VM, the JIT and the binary run the same code (a
//! program may hand in a table of its own functions). Calls use the `…A` forms, which take
//! the arguments as a `jvalue` array (nothing is variadic). A method ID is looked up once per
//! (class, name, descriptor, dispatch) and kept in a cache cell `{jclass, jmethodID}` shared by
//! every call site of that method; the cached class is a global reference, and a cell filled
//! from an object's class is reused only for objects that are instances of it.
//!
//! The env is the enclosing `#jni_env` block's (or the native method's `env` parameter);
//! outside any, the env the innermost running `#jni_env` block published in a program-wide
//! cell (one cell, like `context`: not per thread yet).

use sx_ir::{Signature, Type as IrType, Value};
use sx_types::TypeKind as TK;

use crate::fncx::FnCx;
use crate::jni::ENV_LOCAL;
use crate::jni_rules::{call_slot, parse_method_descriptor, slot, type_descriptor, Dispatch, IdKind, JniType, RuntimeTarget};
use crate::*;

/// Where the class of a method-ID lookup comes from.
pub(crate) enum ClassOf {
    /// The object's class (`GetObjectClass`); the cache is reused for instances of it.
    Object(Value),
    /// A class value (`#jni_static_call`); the cache is reused for the same class.
    Given(Value),
    /// A class by name (`FindClass`): static methods, constructors, `super`.
    Named(String),
}

/// A resolved JNI call: what to call and with which typed arguments.
struct JniCall {
    env: Value,
    dispatch: Dispatch,
    name: String,
    desc: String,
    params: Vec<TypeId>,
    ret: TypeId,
    ret_jni: JniType,
}

impl<'c> FnCx<'c> {
    /// `#jni_env(env) { body }`: `env` is the JNI env of the body (and published for calls
    /// made from functions it calls); the block's value is the body's.
    pub(crate) fn jni_env_block(&mut self, d: &DirectiveExpr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let (Some([env]), Some(body)) = (d.args.as_deref(), d.body.as_ref()) else {
            return self.err(span, "#jni_env takes the env and a block: '#jni_env(env) { … }'");
        };
        let pv = self.c.types.pointer(bt::VOID);
        let v = self.expr(&env.value, Some(pv))?;
        if !matches!(self.c.types.kind(v.ty), TK::Pointer(_)) {
            let msg = format!("#jni_env needs the JNIEnv pointer, found '{}'", self.tname(v.ty));
            return self.err(env.value.span, msg);
        }
        let v = self.scalar(v, env.value.span)?;
        let global = self.jni_env_global();
        let p = self.ptr_ty();
        self.push_scope();
        let r = (|| -> R<TV> {
            let s = self.slot_for(pv);
            let a = self.slot_addr(s);
            self.b(|b| b.store(a, 0, v));
            self.bind(ENV_LOCAL, Local::Var { slot: s, ty: pv, by_ref: false, readonly: true });
            let saved = self.slot_for(pv);
            let sa = self.slot_addr(saved);
            let ga = self.b(|b| b.data_addr(global, p));
            let old = self.b(|b| b.load(p, ga, 0));
            self.b(|b| b.store(sa, 0, old));
            self.b(|b| b.store(ga, 0, v));
            let n = self.c.fresh();
            let (gname, sname) = (format!("\u{0}jni_env_cell{}", n), format!("\u{0}jni_env_saved{}", n));
            self.bind(&gname, Local::Const(ConstVal::Global(global, pv)));
            self.bind(&sname, Local::Var { slot: saved, ty: pv, by_ref: false, readonly: true });
            let ident = |name: String| Expr::new(ExprKind::Ident(Ident { name, span, raw: true }), span);
            let restore = Stmt { span, kind: StmtKind::Assign { op: AssignOp::Assign, lhs: ident(gname), rhs: ident(sname) } };
            self.scopes.last_mut().expect("scope").defers.push(restore);
            let tv = self.block_value(body, expected)?;
            self.spill(tv, span)
        })();
        match r {
            Ok(tv) => self.pop_scope().map(|_| tv),
            Err(()) => {
                self.scopes.pop();
                Err(())
            }
        }
    }

    /// `#jni_call(T)(target, "name", "sig", args…)` / `#jni_static_call(T)(class, …)`.
    pub(crate) fn jni_call_directive(&mut self, d: &DirectiveExpr, args: &[Arg], span: Span) -> R<TV> {
        let dispatch = if d.name.name == "jni_static_call" { Dispatch::Static } else { Dispatch::Virtual };
        let Some([ret_arg]) = d.args.as_deref() else {
            return self.err(
                d.name.span,
                format!("#{} takes the result type: '#{}(T)(target, \"name\", \"sig\", args…)'", d.name.name, d.name.name),
            );
        };
        if args.len() < 3 {
            return self.err(span, format!("#{} needs the target, the method name and its descriptor", d.name.name));
        }
        let ret = self.type_expr(&ret_arg.value)?;
        let literal = |e: &Expr| match &e.kind {
            ExprKind::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        };
        let (Some(name), Some(desc)) = (literal(&args[1].value), literal(&args[2].value)) else {
            return self.err(args[1].span, "not supported yet: a JNI method name or descriptor that is not a string literal");
        };
        let (jparams, jret) = match parse_method_descriptor(&desc) {
            Ok(p) => p,
            Err(msg) => return self.err(args[2].span, msg),
        };
        let ret_jni = self.jni_result_type(ret, &format!("'{}'", name), span)?;
        if ret_jni != jret {
            let msg = format!("the descriptor \"{}\" does not return '{}'", desc, self.tname(ret));
            return self.err(args[2].span, msg);
        }
        let method_args = &args[3..];
        if method_args.len() != jparams.len() {
            let noun = if jparams.len() == 1 { "argument" } else { "arguments" };
            let msg = format!("the descriptor \"{}\" takes {} {}, found {}", desc, jparams.len(), noun, method_args.len());
            return self.err(span, msg);
        }
        let pv = self.c.types.pointer(bt::VOID);
        let target = self.expr(&args[0].value, Some(pv))?;
        if !matches!(self.c.types.kind(target.ty), TK::Pointer(_)) {
            let msg = format!("the target of a JNI call is an object or class pointer, found '{}'", self.tname(target.ty));
            return self.err(args[0].value.span, msg);
        }
        let target = self.scalar(target, args[0].value.span)?;
        let params: Vec<TypeId> = jparams.iter().map(|&j| self.jni_param_type(j)).collect();
        let env = self.jni_env_value();
        let call = JniCall { env, dispatch, name, desc, params, ret, ret_jni };
        let class = match dispatch {
            Dispatch::Static => ClassOf::Given(target),
            Dispatch::Virtual | Dispatch::Nonvirtual => ClassOf::Object(target),
        };
        self.emit_jni_call(&call, "", class, Some(target), method_args, span)
    }

    /// A call through a runtime class: `obj.m(args)`, `Class.m(args)`, `super.m(args)`.
    pub(crate) fn runtime_call(&mut self, target: RuntimeTarget, name: &Ident, args: &[Arg], span: Span) -> R<TV> {
        let class = match target {
            RuntimeTarget::Instance(_, c) | RuntimeTarget::Class(c) => c,
            RuntimeTarget::Super(c) => c,
        };
        let runtime = self.c.runtime_class(class).map(|k| k.runtime);
        match runtime {
            Some(r) if r.is_jni() => {}
            Some(r) => return self.err(span, format!("not supported yet: calling methods of a {} class", r.directive())),
            None => return Err(()),
        }
        if let RuntimeTarget::Super(c) = target {
            return self.super_call(c, name, args, span);
        }
        let Some((decl_class, i)) = self.c.find_runtime_method(class, &name.name)? else {
            let msg = format!("no method '{}' on runtime class '{}' (or any #extends ancestor)", name.name, self.tname(class));
            return self.err(name.span, msg);
        };
        let is_static = self.c.jni.classes[&decl_class].methods[i].is_static;
        match target {
            RuntimeTarget::Instance(obj, _) => {
                if is_static {
                    let msg = format!("'{}' is a class method: call it as '{}.{}(…)'", name.name, self.tname(decl_class), name.name);
                    return self.err(name.span, msg);
                }
                let call = self.method_call_plan(decl_class, i, Dispatch::Virtual, span)?;
                let key = self.c.jni.classes[&decl_class].path.clone();
                self.emit_jni_call(&call, &key, ClassOf::Object(obj), Some(obj), args, span)
            }
            RuntimeTarget::Class(_) => {
                if !is_static {
                    let msg = format!("'{}' is an instance method: call it on a '*{}'", name.name, self.tname(decl_class));
                    return self.err(name.span, msg);
                }
                let path = self.c.jni.classes[&decl_class].path.clone();
                let call = self.method_call_plan(decl_class, i, Dispatch::Static, span)?;
                if name.name == "new" {
                    return self.jni_constructor(call, decl_class, class, path, args, span);
                }
                self.emit_jni_call(&call, &path.clone(), ClassOf::Named(path), None, args, span)
            }
            RuntimeTarget::Super(_) => Err(()),
        }
    }

    /// `Class.new(args)`: `NewObjectA` with the constructor `<init>` (the descriptor's result
    /// is `V`); the value is a `*Class`.
    fn jni_constructor(&mut self, mut call: JniCall, decl_class: TypeId, class: TypeId, path: String, args: &[Arg], span: Span) -> R<TV> {
        let ret_ok = matches!(self.c.types.kind(call.ret), TK::Pointer(p) if *p == decl_class || *p == class);
        if !ret_ok {
            let msg = format!("the constructor 'new' of '{}' returns '*Self'", self.tname(class));
            return self.err(span, msg);
        }
        if let Some(close) = call.desc.rfind(')') {
            if self.c.jni.classes[&decl_class].methods.iter().all(|m| m.name.name != "new" || m.descriptor.is_none()) {
                call.desc = format!("{}V", &call.desc[..=close]);
            }
        }
        call.name = "<init>".into();
        call.dispatch = Dispatch::Virtual;
        let argv = self.jni_args(&call.params, args, span)?;
        let (cls, mid) = self.method_id(&call, &path, ClassOf::Named(path.clone()));
        let p = self.ptr_ty();
        let f = self.jni_fn(call.env, slot::NEW_OBJECT_A);
        let sig = Signature { params: vec![p; 4], returns: vec![p] };
        let env = call.env;
        let r = self.b(|b| b.call_indirect(sig, f, vec![env, cls, mid, argv]));
        let t = self.c.types.pointer(class);
        Ok(TV { ty: t, v: V::Scalar(r[0]) })
    }

    /// `super.m(args)` in a `#jni_main` method: `CallNonvirtual<T>MethodA` on the parent class
    /// (`#extends`, else `android/app/Activity`) with this method's own signature when `m` is
    /// the method being defined, else the parent's declaration of `m`.
    fn super_call(&mut self, class: TypeId, name: &Ident, args: &[Arg], span: Span) -> R<TV> {
        let parent = self.c.runtime_parent(class)?;
        let parent_path = match parent {
            Some(p) => self.c.jni.classes[&p].path.clone(),
            None => "android/app/Activity".to_string(),
        };
        let own = self.c.jni.classes[&class].methods.iter().position(|m| m.name.name == name.name);
        let found = match (own, parent) {
            (Some(i), _) => Some((class, i)),
            (None, Some(p)) => self.c.find_runtime_method(p, &name.name)?,
            (None, None) => None,
        };
        let Some((decl_class, i)) = found else {
            let msg = format!(
                "no method '{}' for 'super.{}(…)': declare the parent class with '#extends' and '#jni_class(…) extern'",
                name.name, name.name
            );
            return self.err(name.span, msg);
        };
        let call = self.method_call_plan(decl_class, i, Dispatch::Nonvirtual, span)?;
        let self_id = Ident { name: "self".into(), span: name.span, raw: false };
        let this = match self.resolve(&self_id)? {
            Some(Local::Var { slot, ty, .. }) => {
                let a = self.slot_addr(slot);
                let v = self.load(a, ty);
                self.scalar(v, span)?
            }
            _ => return self.err(span, "'super' needs the method's 'self'"),
        };
        self.emit_jni_call(&call, &parent_path.clone(), ClassOf::Named(parent_path), Some(this), args, span)
    }

    /// The signature, descriptor and env of method `i` of runtime class `class`.
    fn method_call_plan(&mut self, class: TypeId, i: usize, dispatch: Dispatch, span: Span) -> R<JniCall> {
        let k = &self.c.jni.classes[&class];
        let (file, m_name, decl, over, is_static) =
            (k.file, k.methods[i].name.name.clone(), k.methods[i].decl.clone(), k.methods[i].descriptor.clone(), k.methods[i].is_static);
        let shown = format!("'{}.{}'", k.name, m_name);
        let outer = crate::jni::self_scope(class);
        let mut params = vec![];
        for p in decl.params.iter().skip(if is_static { 0 } else { 1 }) {
            let Some(te) = &p.ty else { return self.err(p.span, "a runtime class method's parameters need types") };
            params.push(self.c.eval_type_in(file, Some(class), &outer, te)?);
        }
        let ret = match decl.ret.as_ref().map(|r| &r.values[..]) {
            None => bt::VOID,
            Some([v]) => self.c.eval_type_in(file, Some(class), &outer, &v.ty)?,
            Some(_) => return self.err(span, format!("not supported yet: JNI method {} returning several values", shown)),
        };
        let ret_jni = self.jni_result_type(ret, &shown, span)?;
        let desc = match over {
            Some(d) => d,
            None => {
                let mut d = String::from("(");
                for &t in params.iter() {
                    let c: &Compiler = self.c;
                    match type_descriptor(&c.types, t, &|x| c.runtime_class_path(x)) {
                        Ok(s) => d.push_str(&s),
                        Err(msg) => return self.err(span, format!("no JNI descriptor for {}: {}", shown, msg)),
                    }
                }
                let c: &Compiler = self.c;
                let r = match type_descriptor(&c.types, ret, &|x| c.runtime_class_path(x)) {
                    Ok(s) => s,
                    Err(msg) => return self.err(span, format!("no JNI descriptor for {}: {}", shown, msg)),
                };
                format!("{}){}", d, r)
            }
        };
        let env = self.jni_env_value();
        Ok(JniCall { env, dispatch, name: m_name, desc, params, ret, ret_jni })
    }

    /// The Java type of a call result, or the error that it is not lowered.
    fn jni_result_type(&mut self, ret: TypeId, shown: &str, span: Span) -> R<JniType> {
        match JniType::of(&self.c.types, ret) {
            Some(j) if j.returnable() => Ok(j),
            _ => {
                let msg = format!(
                    "not supported yet: JNI method {} returns '{}' — only void, bool, i32, i64, f32, f64 and pointers are lowered",
                    shown,
                    self.tname(ret)
                );
                self.err(span, msg)
            }
        }
    }

    /// The sx type a descriptor's parameter takes.
    fn jni_param_type(&mut self, j: JniType) -> TypeId {
        match j {
            JniType::Boolean => bt::BOOL,
            JniType::Byte => bt::I8,
            JniType::Char => bt::U16,
            JniType::Short => bt::I16,
            JniType::Int => bt::I32,
            JniType::Long => bt::I64,
            JniType::Float => bt::F32,
            JniType::Double => bt::F64,
            JniType::Object | JniType::Void => self.c.types.pointer(bt::VOID),
        }
    }

    /// The arguments as a `jvalue` array (8 bytes each) on the stack; its address.
    fn jni_args(&mut self, params: &[TypeId], args: &[Arg], span: Span) -> R<Value> {
        if args.len() != params.len() {
            return self.err(span, format!("expected {} arguments, found {}", params.len(), args.len()));
        }
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 8 * params.len().max(1) as u32, align: 8 });
        let base = self.slot_addr(s);
        if !params.is_empty() {
            // Each jvalue is 8 bytes whatever the argument's width: zero the rest.
            let p = self.ptr_ty();
            let (zero, len) = (self.iconst(IrType::I8, 0), self.iconst(p, 8 * params.len() as i64));
            self.b(|b| b.memfill(base, zero, len));
        }
        for (i, (a, &pt)) in args.iter().zip(params).enumerate() {
            let v = if matches!(self.c.types.kind(pt), TK::Pointer(inner) if *inner == bt::VOID) {
                let v = self.expr(&a.value, Some(pt))?;
                if !matches!(self.c.types.kind(v.ty), TK::Pointer(_)) {
                    let msg = format!("a Java object argument is a pointer, found '{}'", self.tname(v.ty));
                    return self.err(a.value.span, msg);
                }
                v
            } else {
                let v = self.expr(&a.value, Some(pt))?;
                self.coerce(v, pt, a.value.span)?
            };
            let v = self.scalar(v, a.value.span)?;
            self.b(|b| b.store(base, 8 * i as i32, v));
        }
        Ok(base)
    }

    /// Emits a resolved call: method ID, arguments, `Call<T>MethodA`.
    fn emit_jni_call(&mut self, call: &JniCall, key: &str, class: ClassOf, target: Option<Value>, args: &[Arg], span: Span) -> R<TV> {
        let argv = self.jni_args(&call.params, args, span)?;
        let (cls, mid) = self.method_id(call, key, class);
        let p = self.ptr_ty();
        let f = self.jni_fn(call.env, call_slot(call.dispatch, call.ret_jni));
        let returns = match self.c.types.scalar(call.ret) {
            Some(t) if call.ret_jni != JniType::Void => vec![t],
            _ => vec![],
        };
        let env = call.env;
        let (params, irargs) = match (call.dispatch, target) {
            (Dispatch::Nonvirtual, Some(obj)) => (vec![p; 5], vec![env, obj, cls, mid, argv]),
            (Dispatch::Static, _) => (vec![p; 4], vec![env, cls, mid, argv]),
            (Dispatch::Virtual, Some(obj)) => (vec![p; 4], vec![env, obj, mid, argv]),
            (Dispatch::Virtual | Dispatch::Nonvirtual, None) => return self.err(span, "a JNI instance call needs its object"),
        };
        let r = self.b(|b| b.call_indirect(Signature { params, returns }, f, irargs));
        Ok(match r.first() {
            Some(&v) => TV { ty: call.ret, v: V::Scalar(v) },
            None => TV::void(),
        })
    }

    /// The method ID of a call (and the class it was looked up in), through its cache cell.
    fn method_id(&mut self, call: &JniCall, key: &str, class: ClassOf) -> (Value, Value) {
        self.member_id(call.env, key, &call.name, &call.desc, IdKind::Method(call.dispatch), class)
    }

    /// The ID of a method or field (and the class it was looked up in), through its cache cell.
    pub(crate) fn member_id(&mut self, env: Value, key: &str, name: &str, desc: &str, kind: IdKind, class: ClassOf) -> (Value, Value) {
        let cell = self.id_cell(key, name, desc, kind);
        let p = self.ptr_ty();
        let ca = self.b(|b| b.data_addr(cell, p));
        let cached = self.b(|b| b.load(p, ca, 0));
        let zero = self.iconst(p, 0);
        let filled = self.b(|b| b.icmp(sx_ir::IntCC::Ne, cached, zero));
        let (check, hit, miss, cont) = (self.new_block(), self.new_block(), self.new_block(), self.new_block());
        self.b(|b| b.branch(filled, check, vec![], miss, vec![]));
        self.switch(check);
        let same = match &class {
            ClassOf::Object(obj) => Some((slot::IS_INSTANCE_OF, vec![env, *obj, cached])),
            ClassOf::Given(c) => Some((slot::IS_SAME_OBJECT, vec![env, cached, *c])),
            ClassOf::Named(_) => None,
        };
        match same {
            Some((s, args)) => {
                let f = self.jni_fn(env, s);
                let r = self.b(|b| b.call_indirect(Signature { params: vec![p; 3], returns: vec![IrType::I8] }, f, args));
                let z8 = self.iconst(IrType::I8, 0);
                let yes = self.b(|b| b.icmp(sx_ir::IntCC::Ne, r[0], z8));
                self.b(|b| b.branch(yes, hit, vec![], miss, vec![]));
            }
            None => self.jump(hit),
        }
        self.switch(hit);
        let m0 = self.b(|b| b.load(p, ca, 8));
        self.b(|b| b.jump(cont, vec![m0]));
        self.switch(miss);
        let local = match &class {
            ClassOf::Object(obj) => {
                let f = self.jni_fn(env, slot::GET_OBJECT_CLASS);
                let obj = *obj;
                self.b(|b| b.call_indirect(Signature { params: vec![p; 2], returns: vec![p] }, f, vec![env, obj]))[0]
            }
            ClassOf::Given(c) => *c,
            ClassOf::Named(path) => {
                let d = self.c.string_bytes_data(path.as_bytes());
                let s = self.b(|b| b.data_addr(d, p));
                let f = self.jni_fn(env, slot::FIND_CLASS);
                self.b(|b| b.call_indirect(Signature { params: vec![p; 2], returns: vec![p] }, f, vec![env, s]))[0]
            }
        };
        let f = self.jni_fn(env, slot::NEW_GLOBAL_REF);
        let global = self.b(|b| b.call_indirect(Signature { params: vec![p; 2], returns: vec![p] }, f, vec![env, local]))[0];
        let get = kind.lookup_slot();
        let nd = self.c.string_bytes_data(name.as_bytes());
        let sd = self.c.string_bytes_data(desc.as_bytes());
        let (na, sa) = (self.b(|b| b.data_addr(nd, p)), self.b(|b| b.data_addr(sd, p)));
        let f = self.jni_fn(env, get);
        let fresh = self.b(|b| b.call_indirect(Signature { params: vec![p; 4], returns: vec![p] }, f, vec![env, global, na, sa]))[0];
        self.b(|b| b.store(ca, 0, global));
        self.b(|b| b.store(ca, 8, fresh));
        self.b(|b| b.jump(cont, vec![fresh]));
        let mid = self.b(|b| b.append_block_param(cont, p));
        self.switch(cont);
        let cls = self.b(|b| b.load(p, ca, 0));
        (cls, mid)
    }

    /// The cache cell `{jclass, ID}` of a method or field (one per class key, name, descriptor
    /// and kind).
    fn id_cell(&mut self, key: &str, name: &str, desc: &str, kind: IdKind) -> sx_ir::DataId {
        let k = (key.to_string(), name.to_string(), desc.to_string(), kind);
        if let Some(&d) = self.c.jni.id_cells.get(&k) {
            return d;
        }
        let n = self.c.jni.id_cells.len();
        let d = self.c.module.add_data(sx_ir::Data {
            name: format!("jni.id.{}", n),
            bytes: vec![0; 16],
            align: 8,
            relocs: vec![],
            writable: true,
        });
        self.c.jni.id_cells.insert(k, d);
        d
    }

    /// Function `index` of the env's function table (`(*env)[index]`).
    pub(crate) fn jni_fn(&mut self, env: Value, index: u32) -> Value {
        let p = self.ptr_ty();
        let table = self.b(|b| b.load(p, env, 0));
        self.b(|b| b.load(p, table, 8 * index as i32))
    }

    /// The JNI env in effect: the enclosing `#jni_env` block's or native method's, else the
    /// program-wide cell.
    pub(crate) fn jni_env_value(&mut self) -> Value {
        let p = self.ptr_ty();
        if let Some(Local::Var { slot, .. }) = self.lookup_local(ENV_LOCAL) {
            let a = self.slot_addr(slot);
            return self.b(|b| b.load(p, a, 0));
        }
        let g = self.jni_env_global();
        let a = self.b(|b| b.data_addr(g, p));
        self.b(|b| b.load(p, a, 0))
    }

    /// The program-wide env cell.
    fn jni_env_global(&mut self) -> sx_ir::DataId {
        if let Some(d) = self.c.jni.env_global {
            return d;
        }
        let d = self.c.module.add_data(sx_ir::Data { name: "jni.env".into(), bytes: vec![0; 8], align: 8, relocs: vec![], writable: true });
        self.c.jni.env_global = Some(d);
        d
    }
}
