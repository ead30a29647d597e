//! Closures: lambdas that use enclosing locals, `Closure(A) -> R` values and calls through them.
//!
//! A closure value is `{fn_ptr, env}`; its code takes `env` as the first parameter (after the
//! hidden result pointer). A lambda that mentions an enclosing local is lowered at once, with
//! each enclosing local it actually uses recorded as a capture at a byte offset of the
//! environment; the creation site then copies the captured values into an environment
//! allocated through `context.allocator` (no captures: a null environment). Plain functions
//! become closures through a per-signature thunk whose environment is the function pointer.

use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
use crate::*;
use sx_ir::Value;
use sx_types::TypeKind as TK;

/// Name of the hidden environment parameter.
const ENV: &str = "\u{0}env";

impl Compiler {
    /// The thunk that runs a plain function with the closure calling convention of
    /// `(params) -> ret`: `direct` itself (the environment is unused, null), or else the
    /// function pointer passed as the environment.
    fn fnptr_thunk(&mut self, params: &[TypeId], ret: TypeId, direct: Option<sx_ir::FuncId>) -> sx_ir::FuncId {
        let key = (self.types.intern(TK::Func { params: params.to_vec(), ret }), direct);
        if let Some(&f) = self.out.closure_thunks.get(&key) {
            return f;
        }
        let plain =
            FnSig { params: params.to_vec(), param_names: vec![], defaults: vec![], ret, sret: false, is_extern: false, variadic: false };
        let sret = returns_via_sret(&self.types, ret);
        let plain = FnSig { sret, ..plain };
        let plain_sig = self.ir_sig(&plain);
        let p = self.module.pointer_type();
        let mut cl_params = plain_sig.params.clone();
        let at = if sret { 1 } else { 0 };
        cl_params.insert(at, p);
        let cl_sig = sx_ir::Signature { params: cl_params.clone(), returns: plain_sig.returns.clone() };
        let mut f = sx_ir::Function::new(format!("closure_thunk.{}", self.fresh()), cl_sig);
        crate::emit::write_adapter(&mut f, None, |b, vals| {
            let env = vals[at];
            let mut args = vals.clone();
            args.remove(at);
            let r = match direct {
                Some(func) => b.call(func, args, &plain_sig.returns),
                None => b.call_indirect(plain_sig, env, args),
            };
            b.ret(r);
        });
        let id = self.module.funcs.push(f);
        self.out.closure_thunks.insert(key, id);
        id
    }
}

impl<'c> FnCx<'c> {
    /// `Closure(A, B) -> R` in type position.
    pub(crate) fn closure_type(&mut self, params: &[Arg], ret: Option<&RetSpec>) -> R<TV> {
        let mut ps = vec![];
        for a in params {
            if a.spread {
                ps.extend(self.type_spread(&a.value)?);
                continue;
            }
            ps.push(self.type_expr(&a.value)?);
        }
        let r = match ret {
            None => bt::VOID,
            Some(r) => self.fn_type_ret(r)?,
        };
        let t = self.c.types.intern(TK::Closure { params: ps, ret: r });
        Ok(TV::konst(ConstVal::Type(t)))
    }

    /// The enclosing locals a lambda's text mentions (a token scan; the body decides what it
    /// really captures).
    fn lambda_candidates(&self, decl: &FnDecl) -> HashMap<String, TypeId> {
        let mut locals: HashMap<String, TypeId> = HashMap::new();
        for s in &self.scopes {
            for (k, l) in &s.names {
                if let Local::Var { ty, .. } = l {
                    if !k.starts_with('\u{0}') {
                        locals.insert(k.clone(), *ty);
                    }
                }
            }
        }
        // Narrowing does not cross into the lambda: a narrowed optional is captured as the
        // optional (the closure may run when it is null).
        let names: Vec<String> = locals.keys().cloned().collect();
        for k in names {
            if let Some(Local::Var { ty, .. }) = self.narrowed_from(&k) {
                locals.insert(k, ty);
            }
        }
        // Captures of an enclosing closure body are locals too.
        if let Some(cl) = &self.clo {
            for (k, t) in &cl.candidates {
                locals.entry(k.clone()).or_insert(*t);
            }
        }
        if locals.is_empty() {
            return locals;
        }
        let sf = self.c.sources.file(decl.span.file);
        let text = sf.text.get(decl.span.lo as usize..decl.span.hi as usize).unwrap_or("");
        let (toks, _) = sx_syntax::lexer::lex(decl.span.file, text);
        let mut found = HashMap::new();
        for t in toks {
            if matches!(t.kind, sx_syntax::lexer::TokKind::Ident | sx_syntax::lexer::TokKind::RawIdent) {
                let w = text.get(t.lo as usize..t.hi as usize).unwrap_or("").trim_start_matches('`');
                if let Some(ty) = locals.get(w) {
                    found.insert(w.to_string(), *ty);
                }
                // A pack's name stands for its elements (hidden locals `name` + NUL + index).
                let prefix = format!("{}\u{0}", w);
                for (k, ty) in locals.iter().filter(|(k, _)| k.starts_with(&prefix)) {
                    found.insert(k.clone(), *ty);
                }
            }
        }
        found
    }

    /// A lambda in a function body: a plain function when it mentions no enclosing local,
    /// else a closure value.
    pub(crate) fn lambda(&mut self, decl: &FnDecl, span: Span) -> R<Option<TV>> {
        let candidates = self.lambda_candidates(decl);
        if candidates.is_empty() {
            return Ok(None);
        }
        let outer = self.local_const_snapshot();
        let fid = self.c.new_fn("lambda", decl, self.file, self.owner, outer, span);
        let info = match self.c.out.closure_infos.get(&fid) {
            Some(i) => i.clone(),
            None => {
                let i = self.c.lower_closure(fid, candidates)?;
                self.c.out.closure_infos.insert(fid, i.clone());
                i
            }
        };
        // Build the environment from the current values of the captured locals.
        let p = self.ptr_ty();
        let env = if info.captured.is_empty() {
            self.iconst(p, 0)
        } else {
            let n = self.iconst(p, info.env_size as i64);
            let vp = self.c.types.pointer(bt::VOID);
            let mem = self.call_runtime(RuntimeFn::HeapAlloc, vec![n], vp, span)?;
            let env = self.scalar(mem, span)?;
            for (name, ty, off) in &info.captured {
                let id = Ident { name: name.clone(), span, raw: true };
                let v = self.expr(&Expr::new(ExprKind::Ident(id), span), Some(*ty))?;
                // A narrowed optional reads as its payload here: wrap it back.
                let v = self.coerce(v, *ty, span)?;
                let a = self.offset_addr(env, *off as i64);
                self.store(a, v, span)?;
            }
            env
        };
        let func = info.func;
        let fa = self.b(|b| b.func_addr(func, p));
        Ok(Some(self.closure_value(info.ty, fa, env)))
    }

    /// A closure value of type `ty` from its code and environment pointers.
    pub(crate) fn closure_value_pub(&mut self, ty: TypeId, code: Value, env: Value) -> TV {
        self.closure_value(ty, code, env)
    }

    fn closure_value(&mut self, ty: TypeId, code: Value, env: Value) -> TV {
        let s = self.slot_for(ty);
        let a = self.slot_addr(s);
        let pb = self.c.module.pointer_bytes() as i32;
        self.b(|b| {
            b.store(a, 0, code);
            b.store(a, pb, env);
        });
        TV { ty, v: V::Mem(a) }
    }

    /// A captured enclosing local used inside a closure body: a by-reference local pointing
    /// into the environment.
    pub(crate) fn capture(&mut self, name: &str) -> Option<Local> {
        let cl = self.clo.as_mut()?;
        let ty = *cl.candidates.get(name)?;
        let off = match cl.captured.iter().find(|(n, _, _)| n == name) {
            Some((_, _, o)) => *o,
            None => {
                let align = self.c.types.align_of(ty).max(1);
                let off = cl.env_size.div_ceil(align) * align;
                cl.env_size = off + self.c.types.size_of(ty);
                cl.captured.push((name.to_string(), ty, off));
                off
            }
        };
        let Some(Local::Var { slot: env_slot, .. }) = self.lookup_local(ENV) else {
            // Return-type inference lowers the body without an environment: a scratch local.
            let s = self.slot_for(ty);
            return Some(Local::Var { slot: s, ty, by_ref: false, readonly: false });
        };
        let p = self.ptr_ty();
        let sa = self.slot_addr(env_slot);
        let env = self.b(|b| b.load(p, sa, 0));
        let addr = self.offset_addr(env, off as i64);
        let s = self.e.f.slots.push(sx_ir::SlotData { size: 8, align: 8 });
        let a = self.slot_addr(s);
        self.b(|b| b.store(a, 0, addr));
        Some(Local::Var { slot: s, ty, by_ref: true, readonly: false })
    }

    /// Converts a function (constant or pointer value) into a closure.
    pub(crate) fn func_to_closure(&mut self, tv: TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let TK::Closure { params, ret } = self.c.types.kind(to).clone() else { return Ok(None) };
        let TK::Func { params: fp, ret: fr } = self.c.types.kind(tv.ty).clone() else { return Ok(None) };
        if fp != params || fr != ret {
            let msg = format!("cannot use a function of type '{}' as '{}'", self.tname(tv.ty), self.tname(to));
            return self.err(span, msg);
        }
        let p = self.ptr_ty();
        if let Some(ConstVal::Func(fid)) = tv.as_const() {
            // A named function: a thunk that calls it directly, with no environment.
            let func = self.c.declare_fn(*fid, span)?;
            let thunk = self.c.fnptr_thunk(&params, ret, Some(func));
            let code = self.b(|b| b.func_addr(thunk, p));
            let null = self.iconst(p, 0);
            return Ok(Some(self.closure_value(to, code, null)));
        }
        let fnptr = self.scalar(tv, span)?;
        let thunk = self.c.fnptr_thunk(&params, ret, None);
        let code = self.b(|b| b.func_addr(thunk, p));
        Ok(Some(self.closure_value(to, code, fnptr)))
    }

    /// Calls the closure value `tv` with `args`.
    pub(crate) fn call_closure(&mut self, tv: TV, args: &[Arg], span: Span) -> R<TV> {
        let TK::Closure { params, ret } = self.c.types.kind(tv.ty).clone() else { return Err(()) };
        let tv = self.materialize(tv, span)?;
        let V::Mem(addr) = tv.v else { return self.err(span, "internal error: closure value not in memory") };
        let p = self.ptr_ty();
        let pb = self.c.module.pointer_bytes() as i32;
        let code = self.b(|b| b.load(p, addr, 0));
        let env = self.b(|b| b.load(p, addr, pb));
        self.indirect_call(code, Some(env), &params, ret, args, span)
    }
}

impl Compiler {
    /// Lowers a lambda body with the closure calling convention, recording its captures.
    fn lower_closure(&mut self, fid: FnId, candidates: HashMap<String, TypeId>) -> R<ClosureInfo> {
        self.out.closure_candidates.insert(fid, candidates.clone());
        let sig = self.fn_sig(fid);
        self.out.closure_candidates.remove(&fid);
        let sig = sig?;
        let vp = self.types.pointer(bt::VOID);
        let mut params = vec![vp];
        params.extend(sig.params.iter().copied());
        let mut names = vec![ENV.to_string()];
        names.extend(sig.param_names.iter().cloned());
        let mut defaults = vec![None];
        defaults.extend(sig.defaults.iter().cloned());
        let csig = FnSig { params, param_names: names, defaults, ..sig.clone() };
        let irsig = self.ir_sig(&csig);
        let def = &self.fns[fid];
        let (decl, file, owner, outer) = (def.decl.clone(), def.file, def.owner, def.local_consts.clone());
        let f = sx_ir::Function::new(format!("closure.{}", self.fresh()), irsig.clone());
        let mut cx = FnCx::new(self, f, file, owner, outer);
        cx.ret_ty = sig.ret;
        cx.e.span = Some(decl.span);
        cx.clo = Some(ClosureCx { candidates, captured: vec![], env_size: 0 });
        cx.init_failable(&decl, "lambda", sig.ret);
        let result = cx.bind_params(&csig, &irsig).and_then(|_| cx.bind_multi_return(&decl)).and_then(|_| cx.lower_body_pub(&decl));
        let clo = cx.clo.take().expect("closure state");
        result?;
        let f = cx.e.finish();
        let func = self.module.funcs.push(f);
        let ty = self.types.intern(TK::Closure { params: sig.params.clone(), ret: sig.ret });
        Ok(ClosureInfo { func, ty, captured: clo.captured, env_size: clo.env_size.max(1) })
    }
}
