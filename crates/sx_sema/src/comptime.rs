//! Compile-time evaluation on the VM: constant thunks, `#run`, global initialisers, baking
//! results into static data, and the program entry wrapper.

use crate::lower::*;
use crate::*;
use sx_ir::builder::FunctionBuilder;
use sx_ir::{Function, Linkage, Reloc, RelocTarget, Signature, TrapCode, Type as IrType};
use sx_types::TypeKind as TK;
use sx_vm::PointerTarget;

/// What a thunk computes.
enum ThunkBody<'a> {
    /// The expression, the type it must have, and whether it must run on the VM even when it
    /// folds (`#run`).
    Expr(&'a Expr, Option<TypeId>, bool),
    Default(TypeId),
}

impl Compiler {
    /// Evaluates `e` at compile time. Constant folds return directly; anything else is lowered
    /// into a thunk and run on the VM, and the result is baked.
    pub(crate) fn eval_const_in(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        e: &Expr,
        expected: Option<TypeId>,
    ) -> R<ConstVal> {
        self.eval_const_impl(file, owner, outer, e, expected, false)
    }

    /// `#run e`: like [`Self::eval_const_in`] but always executed on the VM.
    pub(crate) fn eval_run(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        e: &Expr,
        expected: Option<TypeId>,
    ) -> R<ConstVal> {
        self.eval_const_impl(file, owner, outer, e, expected, true)
    }

    fn eval_const_impl(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        e: &Expr,
        expected: Option<TypeId>,
        force_vm: bool,
    ) -> R<ConstVal> {
        match self.run_thunk(file, owner, outer, ThunkBody::Expr(e, expected, force_vm), e.span)? {
            Baked::Const(c) => Ok(c),
            Baked::Bytes { ty, bytes, relocs } => {
                if let Some(c) = self.scalar_const(ty, &bytes) {
                    return Ok(c);
                }
                if let Some(t) = self.baked_type_value(ty, &relocs) {
                    return Ok(ConstVal::Type(t));
                }
                let align = self.types.align_of(ty) as u32;
                let n = self.fresh();
                let d = self.module.add_data(sx_ir::Data { name: format!("const.{}", n), bytes, align, relocs, writable: false });
                Ok(ConstVal::Data(d, ty))
            }
            Baked::Void => Ok(ConstVal::Int { v: 0, ty: Some(bt::VOID) }),
        }
    }

    /// A top-level or body-local `#run expr;` evaluated for its side effects.
    pub(crate) fn run_side_effect(&mut self, file: FileIdx, e: &Expr) -> R<()> {
        let outer = Rc::new(HashMap::new());
        self.run_thunk(file, None, &outer, ThunkBody::Expr(e, None, true), e.span)?;
        Ok(())
    }

    /// A global variable: its initial bytes are computed at compile time (on the VM when the
    /// initialiser is not a plain constant).
    pub(crate) fn eval_global(&mut self, id: DeclId, item: &Rc<Item>, idx: usize) -> R<ConstVal> {
        if let Some(&(d, t)) = self.globals.get(&(id, idx)) {
            return Ok(ConstVal::Global(d, t));
        }
        let ItemKind::Var { names, ty, value, undef } = &item.kind else { return Err(()) };
        if names.len() != 1 {
            return self.err(item.span, "not supported yet: several globals in one declaration");
        }
        crate::stmt::check_reserved(self, &names[0])?;
        let file = self.decls[id.0 as usize].file;
        let outer = Rc::new(HashMap::new());
        let declared = match ty {
            Some(t) => Some(self.eval_type_in(file, None, &outer, t)?),
            None => None,
        };
        let baked = match (value, declared) {
            (Some(v), _) => {
                self.pure_thunk_message = Some(format!("global '{}' must be initialized by a compile-time constant", names[0].name));
                let r = self.run_thunk(file, None, &outer, ThunkBody::Expr(v, declared, false), v.span);
                self.pure_thunk_message = None;
                r?
            }
            (None, Some(t)) if *undef => Baked::Bytes { ty: t, bytes: vec![0; self.types.size_of(t) as usize], relocs: vec![] },
            (None, Some(t)) => self.run_thunk(file, None, &outer, ThunkBody::Default(t), item.span)?,
            (None, None) => return self.err(item.span, "a global needs a type or a value"),
        };
        let (ty, bytes, relocs) = match baked {
            Baked::Bytes { ty, bytes, relocs } => (ty, bytes, relocs),
            Baked::Const(c) => {
                let ty = declared.unwrap_or_else(|| c.ty());
                match &c {
                    ConstVal::Str(s) => {
                        let h = self.string_header_data(s);
                        let hb = self.module.datas[h].bytes.clone();
                        let relocs = self.module.datas[h].relocs.clone();
                        (ty, hb, relocs)
                    }
                    ConstVal::Data(d, t) => (*t, self.module.datas[*d].bytes.clone(), self.module.datas[*d].relocs.clone()),
                    ConstVal::Type(t) => {
                        let rec = self.type_record(*t, item.span)?;
                        (ty, vec![0; 8], vec![Reloc { offset: 0, target: RelocTarget::Data(rec), addend: 0 }])
                    }
                    _ => match consts::scalar_bytes(&self.types, &c, ty) {
                        Some(b) => (ty, b, vec![]),
                        None => return self.err(item.span, "global initializer must be a compile-time constant"),
                    },
                }
            }
            Baked::Void => return self.err(item.span, "a global cannot have type 'void'"),
        };
        let align = self.types.align_of(ty).max(1) as u32;
        let name = format!("{}.{}", names[0].name, self.fresh());
        let d = self.module.add_data(sx_ir::Data { name, bytes, align, relocs, writable: true });
        self.globals.insert((id, idx), (d, ty));
        Ok(ConstVal::Global(d, ty))
    }

    fn run_thunk(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        body: ThunkBody,
        span: Span,
    ) -> R<Baked> {
        let p = self.module.pointer_type();
        let name = format!("__comptime.{}", self.fresh());
        let f = Function::new(name, Signature { params: vec![p], returns: vec![] });
        let mut cx = FnCx::new(self, f, file, owner, outer.clone());
        cx.span = Some(span);
        let entry = cx.new_block();
        cx.switch(entry);
        let out = cx.b(|b| b.append_block_param(entry, p));
        let ty = match body {
            ThunkBody::Expr(e, expected, force_vm) => {
                let tv = cx.expr(e, expected)?;
                let tv = match expected {
                    Some(t) => cx.coerce(tv, t, e.span)?,
                    None => tv,
                };
                if let V::Const(c) = &tv.v {
                    let foldable_only = matches!(
                        c,
                        ConstVal::Type(_) | ConstVal::Func(_) | ConstVal::Namespace(_) | ConstVal::Intrinsic(_) | ConstVal::Str(_)
                    );
                    if !force_vm || foldable_only {
                        return Ok(Baked::Const(c.clone()));
                    }
                }
                let tv = if tv.as_const().map(|c| c.is_untyped()).unwrap_or(false) { cx.coerce(tv.clone(), tv.ty, e.span)? } else { tv };
                let ty = tv.ty;
                if !matches!(tv.v, V::Void | V::Never) {
                    cx.store(out, tv, span)?;
                }
                ty
            }
            ThunkBody::Default(t) => {
                cx.init_default(out, t, span)?;
                t
            }
        };
        if !cx.terminated() {
            cx.b(|b| b.ret(vec![]));
        }
        cx.b(|b| b.seal_unterminated(TrapCode::Unreachable));
        let mut f = cx.f;
        sx_ir::opt::promote_slots(&mut f);
        if let Some(msg) = self.pure_thunk_message.take() {
            let calls = f.blocks.values().flat_map(|b| b.insts.iter()).any(|&i| {
                matches!(
                    f.insts[i].kind,
                    sx_ir::InstKind::Call { .. } | sx_ir::InstKind::CallIndirect { .. } | sx_ir::InstKind::CallExtern { .. }
                )
            });
            if calls {
                return self.err(span, msg);
            }
        }
        let fid = self.module.funcs.push(f);
        self.lower_reachable(fid)?;
        let problems = sx_ir::verify::verify_module(&self.module);
        if let Some(p) = problems.first() {
            return self.err(span, format!("internal error: IR verification failed: {}", p));
        }
        let size = if ty == bt::VOID || ty == bt::NORETURN { 0 } else { self.types.size_of(ty) };
        let buf = match self.vm.alloc(size.max(1), self.types.align_of(ty).max(1)) {
            Ok(b) => b,
            Err(e) => return self.vm_error(e, span),
        };
        self.vm_evals += 1;
        if self.trace_comptime {
            eprintln!("comptime-eval {}", self.sources.location(span));
        }
        match self.vm.call(&self.module, fid, &[buf]) {
            Ok(sx_vm::Outcome::Returned(_)) => {}
            Ok(sx_vm::Outcome::Exited(code)) => {
                return self.err(span, format!("compile-time code called exit({})", code));
            }
            Err(e) => return self.vm_error(e, span),
        }
        if ty == bt::VOID || ty == bt::NORETURN {
            return Ok(Baked::Void);
        }
        let bytes = match self.vm.read_bytes(buf, size) {
            Ok(b) => b,
            Err(e) => return self.vm_error(e, span),
        };
        let mut bytes = bytes;
        let mut relocs = vec![];
        let mut memo = HashMap::new();
        self.bake_walk(&mut bytes, &mut relocs, 0, ty, span, &mut memo, 0)?;
        Ok(Baked::Bytes { ty, bytes, relocs })
    }

    fn vm_error<T>(&mut self, e: sx_vm::VmError, span: Span) -> R<T> {
        let mut d = Diagnostic::error(e.span.unwrap_or(span), format!("compile-time evaluation failed: {}", e.message));
        // The comptime call stack, innermost first; runs of identical frames are folded.
        let mut lines: Vec<(String, usize)> = vec![];
        for fr in &e.stack {
            let name = fr.func.split('.').next().unwrap_or(&fr.func).to_string();
            let at = match fr.call_site {
                Some(s) => format!(" (called at {})", self.sources.location(s)),
                None => String::new(),
            };
            let line = format!("  in {}{}", name, at);
            match lines.last_mut() {
                Some((prev, n)) if *prev == line => *n += 1,
                _ => lines.push((line, 1)),
            }
        }
        for (line, n) in lines {
            d = d.with_note(if n > 1 { format!("{} [{} frames]", line, n) } else { line });
        }
        if e.span.is_some() && e.span != Some(span) {
            d = d.with_note(format!("  evaluated for {}", self.sources.location(span)));
        }
        self.diags.push(d);
        Err(())
    }

    /// A `Type` result read back from its baked bytes: the relocation points at a type record.
    fn baked_type_value(&self, ty: TypeId, relocs: &[Reloc]) -> Option<TypeId> {
        if ty != bt::TYPE {
            return None;
        }
        match relocs.first().map(|r| r.target) {
            Some(RelocTarget::Data(d)) => self.type_of_record(d),
            _ => None,
        }
    }

    /// A scalar constant from baked bytes, when `ty` is a plain scalar (not a pointer or a
    /// `Type`, whose value is a relocation).
    pub(crate) fn scalar_const(&self, ty: TypeId, bytes: &[u8]) -> Option<ConstVal> {
        let mut raw = [0u8; 8];
        let n = bytes.len().min(8);
        raw[..n].copy_from_slice(&bytes[..n]);
        let u = u64::from_le_bytes(raw);
        match self.types.kind(ty) {
            TK::Int { bits, signed, .. } => Some(ConstVal::Int { v: consts::wrap_int(u as i128, *bits, *signed), ty: Some(ty) }),
            TK::Bool => Some(ConstVal::Bool(u & 1 == 1)),
            TK::Float { bits: 32 } => Some(ConstVal::Float { v: f32::from_bits(u as u32) as f64, ty: Some(ty) }),
            TK::Float { .. } => Some(ConstVal::Float { v: f64::from_bits(u), ty: Some(ty) }),
            _ => None,
        }
    }

    /// Rewrites the pointers inside `bytes[off..]` (a value of type `ty`) into relocations,
    /// copying the heap memory they point to into new static data.
    #[allow(clippy::too_many_arguments)]
    fn bake_walk(
        &mut self,
        bytes: &mut Vec<u8>,
        relocs: &mut Vec<Reloc>,
        off: usize,
        ty: TypeId,
        span: Span,
        memo: &mut HashMap<u32, sx_ir::DataId>,
        depth: u32,
    ) -> R<()> {
        if depth > 64 {
            return self.err(span, "compile-time result nests pointers too deeply to bake");
        }
        let pb = self.module.pointer_bytes() as usize;
        match self.types.kind(ty).clone() {
            TK::Struct(_) => {
                let fields = self.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
                for f in fields {
                    self.bake_walk(bytes, relocs, off + f.offset as usize, f.ty, span, memo, depth)?;
                }
            }
            TK::Array(n, e) => {
                if self.has_pointers(e) {
                    let es = self.types.size_of(e) as usize;
                    for i in 0..n as usize {
                        self.bake_walk(bytes, relocs, off + i * es, e, span, memo, depth)?;
                    }
                }
            }
            // `?T`: the payload sits at offset 0 (a nullable pointer is the pointer itself).
            TK::Optional(inner) => self.bake_walk(bytes, relocs, off, inner, span, memo, depth)?,
            TK::Any => {
                let data_ty = self.types.pointer(bt::U8);
                self.bake_walk(bytes, relocs, off, data_ty, span, memo, depth)?;
                self.bake_walk(bytes, relocs, off + pb, bt::TYPE, span, memo, depth)?;
            }
            TK::String | TK::Slice(_) | TK::Pointer(_) | TK::ManyPointer(_) | TK::Cstring | TK::Func { .. } | TK::TypeType => {
                let elem = match self.types.kind(ty) {
                    TK::Slice(e) | TK::Pointer(e) | TK::ManyPointer(e) => *e,
                    _ => bt::U8,
                };
                let Some(raw) = bytes.get(off..off + pb) else { return Ok(()) };
                let mut b8 = [0u8; 8];
                b8[..pb].copy_from_slice(raw);
                let ptr = u64::from_le_bytes(b8);
                let target = match self.vm.decode_pointer(ptr) {
                    PointerTarget::Null => None,
                    PointerTarget::Data(d, o) => Some((RelocTarget::Data(d), o as i64)),
                    PointerTarget::Func(f) => Some((RelocTarget::Func(f), 0)),
                    PointerTarget::Heap { alloc, offset } => {
                        let d = match memo.get(&alloc) {
                            Some(d) => *d,
                            None => {
                                let len = self.vm.allocation_len(alloc).unwrap_or(0);
                                let base = ptr - offset;
                                let mut hb = match self.vm.read_bytes(base, len) {
                                    Ok(b) => b,
                                    Err(e) => return self.vm_error(e, span),
                                };
                                let name = format!("baked.{}", self.fresh());
                                let d =
                                    self.module.add_data(sx_ir::Data { name, bytes: vec![], align: 16, relocs: vec![], writable: true });
                                memo.insert(alloc, d);
                                let mut hrel = vec![];
                                if self.has_pointers(elem) {
                                    let es = self.types.size_of(elem).max(1) as usize;
                                    let mut o = 0;
                                    while o + es <= hb.len() {
                                        self.bake_walk(&mut hb, &mut hrel, o, elem, span, memo, depth + 1)?;
                                        o += es;
                                    }
                                }
                                self.module.datas[d].bytes = hb;
                                self.module.datas[d].relocs = hrel;
                                d
                            }
                        };
                        Some((RelocTarget::Data(d), offset as i64))
                    }
                    PointerTarget::Stack { .. } => {
                        return self.err(span, "compile-time result points into a stack frame that no longer exists");
                    }
                    PointerTarget::Dangling { .. } => {
                        return self.err(span, "compile-time result holds a pointer to freed memory");
                    }
                    PointerTarget::Invalid => {
                        return self.err(span, "compile-time result holds a pointer that cannot be baked");
                    }
                };
                if let Some((t, addend)) = target {
                    for b in &mut bytes[off..off + pb] {
                        *b = 0;
                    }
                    relocs.push(Reloc { offset: off as u32, target: t, addend });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn has_pointers(&self, ty: TypeId) -> bool {
        match self.types.kind(ty) {
            TK::String | TK::Slice(_) | TK::Pointer(_) | TK::ManyPointer(_) | TK::Cstring | TK::Func { .. } | TK::TypeType | TK::Any => {
                true
            }
            TK::Array(_, e) | TK::Optional(e) => self.has_pointers(*e),
            TK::Struct(_) => self.types.struct_of(ty).map(|s| s.fields.iter().any(|f| self.has_pointers(f.ty))).unwrap_or(false),
            _ => false,
        }
    }

    /// Creates the C entry point `main() -> i32` that calls the user's `main`.
    pub(crate) fn build_entry(&mut self, main: FnId) -> R<()> {
        let span = self.fns[main.0 as usize].span;
        let sig = self.fn_sig(main)?;
        if !sig.params.is_empty() {
            return self.err(span, "'main' must not take parameters");
        }
        if self.main_is_failable(main) {
            return self.build_failable_entry(main);
        }
        let ret = sig.ret;
        let ok_ret = ret == bt::VOID || ret == bt::NORETURN || self.types.is_int(ret);
        if !ok_ret {
            let msg = format!("'main' must return void or an integer, not '{}'", self.types.name(ret));
            return self.err(span, msg);
        }
        let user = self.declare_fn(main, span)?;
        let mut f = Function::new("main", Signature { params: vec![], returns: vec![IrType::I32] });
        f.linkage = Linkage::Export;
        {
            let mut b = FunctionBuilder::new(&mut f);
            b.set_span(Some(span));
            let e = b.create_block();
            b.switch_to_block(e);
            let rets = self.module.funcs[user].sig.returns.clone();
            let r = b.call(user, vec![], &rets);
            let code = match r.first() {
                None => b.iconst(IrType::I32, 0),
                Some(&v) => {
                    let t = b.ty(v);
                    let v32 = match t.bytes() {
                        4 => v,
                        8 => b.convert(sx_ir::ConvOp::Trunc, v, IrType::I32),
                        _ => b.convert(sx_ir::ConvOp::Uext, v, IrType::I32),
                    };
                    let mask = b.iconst(IrType::I32, 255);
                    b.binary(sx_ir::BinOp::And, v32, mask)
                }
            };
            b.ret(vec![code]);
        }
        let id = self.module.funcs.push(f);
        self.module.entry = Some(id);
        Ok(())
    }
}

/// A compile-time result.
enum Baked {
    Const(ConstVal),
    Bytes { ty: TypeId, bytes: Vec<u8>, relocs: Vec<Reloc> },
    Void,
}
