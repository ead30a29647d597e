//! Compile-time evaluation on the VM: constant thunks, `#run`, global initialisers, baking
//! results into static data, and the program entry wrapper.

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{Function, Linkage, Reloc, RelocTarget, Signature, Type as IrType};
use sx_types::TypeKind as TK;
use sx_vm::PointerTarget;

/// What a thunk computes.
pub(crate) enum ThunkBody<'a> {
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
        // Side-effect runs are named `__run_K` in comptime call stacks.
        let name = format!("__run_{}", self.ct.side_effect_runs);
        self.ct.side_effect_runs += 1;
        self.ct.thunk_name = Some(name);
        self.run_thunk(file, None, &outer, ThunkBody::Expr(e, None, true), e.span)?;
        Ok(())
    }

    /// A global variable: its initial bytes are computed at compile time (on the VM when the
    /// initialiser is not a plain constant).
    pub(crate) fn eval_global(&mut self, id: DeclId, item: &Rc<Item>, idx: usize) -> R<ConstVal> {
        if let Some(&(d, t)) = self.out.globals.get(&(id, idx)) {
            return Ok(ConstVal::Global(d, t));
        }
        if let ItemKind::ExternVar { .. } = &item.kind {
            return self.extern_global(id, item);
        }
        let ItemKind::Var { names, ty, value, undef } = &item.kind else { return Err(()) };
        if names.len() != 1 {
            return self.err(item.span, "not supported yet: several globals in one declaration");
        }
        self.check_reserved(&names[0])?;
        let file = self.decls[id].file;
        let outer = Rc::new(HashMap::new());
        let declared = match ty {
            Some(t) => Some(self.eval_type_in(file, None, &outer, t)?),
            None => None,
        };
        let baked = match (value, declared) {
            (Some(v), _) => {
                self.ct.pure_thunk_message = Some(format!("global '{}' must be initialized by a compile-time constant", names[0].name));
                let r = self.run_thunk(file, None, &outer, ThunkBody::Expr(v, declared, false), v.span);
                self.ct.pure_thunk_message = None;
                r?
            }
            (None, Some(t)) if *undef => Baked::Bytes { ty: t, bytes: vec![0; self.types.size_of(t) as usize], relocs: vec![] },
            (None, Some(t)) => self.run_thunk(file, None, &outer, ThunkBody::Default(t), item.span)?,
            (None, None) => return self.err(item.span, "a global needs a type or a value"),
        };
        let (d, ty) = self.bake_global(&names[0].name, declared, baked, item.span)?;
        self.out.globals.insert((id, idx), (d, ty));
        Ok(ConstVal::Global(d, ty))
    }

    /// Places a global's compile-time initial value in writable static data named after the
    /// global; `declared` is its annotated type, if any.
    pub(crate) fn bake_global(&mut self, global: &str, declared: Option<TypeId>, baked: Baked, span: Span) -> R<(sx_ir::DataId, TypeId)> {
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
                        let rec = self.type_record(*t, span)?;
                        (ty, vec![0; 8], vec![Reloc { offset: 0, target: RelocTarget::Data(rec), addend: 0 }])
                    }
                    _ => match consts::scalar_bytes(&self.types, &c, ty) {
                        Some(b) => (ty, b, vec![]),
                        None => return self.err(span, "global initializer must be a compile-time constant"),
                    },
                }
            }
            Baked::Void => return self.err(span, "a global cannot have type 'void'"),
        };
        let align = self.types.align_of(ty).max(1) as u32;
        let name = format!("{}.{}", global, self.fresh());
        let d = self.module.add_data(sx_ir::Data { name, bytes, align, relocs, writable: true });
        Ok((d, ty))
    }

    pub(crate) fn run_thunk(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        body: ThunkBody,
        span: Span,
    ) -> R<Baked> {
        let p = self.module.pointer_type();
        let name = self.ct.thunk_name.take().unwrap_or_else(|| format!("__comptime.{}", self.fresh()));
        let f = Function::new(name, Signature { params: vec![p], returns: vec![] });
        let mut cx = FnCx::new(self, f, file, owner, outer.clone());
        cx.e.span = Some(span);
        let entry = cx.new_block();
        cx.switch(entry);
        let out = cx.b(|b| b.append_block_param(entry, p));
        let ty = match body {
            ThunkBody::Expr(e, expected, force_vm) => {
                let tv = cx.expr(e, expected)?;
                let tv = cx.strip_comptime_failable(tv, e)?;
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
        cx.e.ret_if_open();
        let f = cx.e.finish();
        if let Some(msg) = self.ct.pure_thunk_message.take() {
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
        self.bind_comptime_exports();
        let problems = crate::phase_times::timed(&mut self.ct.times.ir_passes, || sx_ir::verify::verify_module(&self.module));
        if let Some(p) = problems.first() {
            return self.err(span, format!("internal error: IR verification failed: {}", p));
        }
        let size = if ty == bt::VOID || ty == bt::NORETURN { 0 } else { self.types.size_of(ty) };
        let buf = match self.ct.vm.alloc(size.max(1), self.types.align_of(ty).max(1)) {
            Ok(b) => b,
            Err(e) => return self.vm_error(e, span),
        };
        self.ct.vm_evals += 1;
        self.declare_foreign_sigs();
        if self.ct.trace_comptime {
            eprintln!("comptime-eval {}", self.sources.location(span));
        }
        match self.vm_call_serviced(fid, &[buf], file, span)? {
            sx_vm::Outcome::Exited(code) => {
                return self.err(span, format!("compile-time code called exit({})", code));
            }
            _ => {}
        }
        if ty == bt::VOID || ty == bt::NORETURN {
            return Ok(Baked::Void);
        }
        let bytes = match self.ct.vm.read_bytes(buf, size) {
            Ok(b) => b,
            Err(e) => return self.vm_error(e, span),
        };
        let mut bytes = bytes;
        let relocs = self.bake_result(&mut bytes, buf, ty, span)?;
        // The result is baked (what it points to was copied into data objects): its buffer
        // no longer counts against the comptime memory budget.
        let _ = self.ct.vm.free(buf);
        Ok(Baked::Bytes { ty, bytes, relocs })
    }

    pub(crate) fn vm_error<T>(&mut self, e: sx_vm::VmError, span: Span) -> R<T> {
        let mut d = Diagnostic::error(e.span.unwrap_or(span), format!("compile-time evaluation failed: {}", e.message));
        for (label, at) in &e.related {
            d = d.with_note(format!("  {}: {}", label, self.sources.location(*at)));
        }
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

    /// Turns the pointers inside a compile-time result (`bytes`, read from comptime address
    /// `base`, of type `ty`) into relocations, copying every heap block they reach into new
    /// static data (worklist, so long chains such as linked lists have no depth limit).
    ///
    /// The words to relocate are those the static type says are pointers, united with those
    /// where the VM saw a pointer stored (provenance, `Vm::pointer_offsets`) that the static
    /// type does not claim as plain data: provenance finds pointers in untyped memory (`*void`
    /// and byte buffers such as arenas, blocks reached only through such words, tagged-union
    /// payloads), while a statically typed integer keeps its comptime bits even when they look
    /// like a pointer (constant folding reads those bytes). A statically typed pointer that
    /// cannot be baked is an error; a provenance-only word whose value is not a live, bakeable
    /// pointer with an in-bounds offset (stale, dangling, a C handle) is left as data.
    fn bake_result(&mut self, bytes: &mut [u8], base: u64, ty: TypeId, span: Span) -> R<Vec<Reloc>> {
        let mut memo: HashMap<u32, sx_ir::DataId> = HashMap::new();
        let mut work: Vec<(u32, sx_ir::DataId, Option<TypeId>)> = Vec::new();
        let mut layout = StaticLayout::default();
        self.static_layout(ty, 0, &mut layout);
        let relocs = self.bake_block(bytes, base, layout, &mut memo, &mut work, span)?;
        while let Some((alloc, d, elem)) = work.pop() {
            let len = self.ct.vm.allocation_len(alloc).unwrap_or(0);
            let hbase = (alloc as u64) << 32;
            let mut hb = match self.ct.vm.read_bytes(hbase, len) {
                Ok(b) => b,
                Err(e) => return self.vm_error(e, span),
            };
            // A block reached through a typed pointer is an array of its pointee type; bytes and
            // `void` say nothing about what the block holds.
            let mut layout = StaticLayout::default();
            let informative = |e: TypeId| !matches!(self.types.kind(e), TK::Int { bits: 8, .. } | TK::Void);
            if let Some(e) = elem.filter(|&e| informative(e)) {
                let es = self.types.size_of(e) as usize;
                if es > 0 && self.fully_plain(e) {
                    layout.data.push((0, hb.len() / es * es));
                } else if es > 0 {
                    let mut o = 0;
                    while o + es <= hb.len() {
                        self.static_layout(e, o, &mut layout);
                        o += es;
                    }
                }
            }
            let hrel = self.bake_block(&mut hb, hbase, layout, &mut memo, &mut work, span)?;
            self.module.datas[d].bytes = hb;
            self.module.datas[d].relocs = hrel;
        }
        Ok(relocs)
    }

    /// Relocates the pointer words of one block (`bytes`, at comptime address `base`): the
    /// statically typed pointer slots plus the provenance-marked words outside the ranges the
    /// static type knows to be plain data.
    fn bake_block(
        &mut self,
        bytes: &mut [u8],
        base: u64,
        layout: StaticLayout,
        memo: &mut HashMap<u32, sx_ir::DataId>,
        work: &mut Vec<(u32, sx_ir::DataId, Option<TypeId>)>,
        span: Span,
    ) -> R<Vec<Reloc>> {
        let pb = self.module.pointer_bytes() as usize;
        // offset -> (pointee type, statically typed)
        let mut cands: std::collections::BTreeMap<usize, (Option<TypeId>, bool)> = std::collections::BTreeMap::new();
        for (off, elem) in layout.slots {
            cands.insert(off, (elem, true));
        }
        let data = merge_ranges(layout.data);
        for off in self.ct.vm.pointer_offsets(base, bytes.len() as u64) {
            let off = off as usize;
            // The last plain-data range starting before the word's end must end before it.
            let k = data.partition_point(|&(lo, _)| lo < off + pb);
            let claimed = k > 0 && data[k - 1].1 > off;
            if !claimed {
                cands.entry(off).or_insert((None, false));
            }
        }
        let mut relocs = vec![];
        for (off, (elem, typed)) in cands {
            let Some(raw) = bytes.get(off..off + pb) else { continue };
            let mut b8 = [0u8; 8];
            b8[..pb].copy_from_slice(raw);
            let ptr = u64::from_le_bytes(b8);
            let target = match self.ct.vm.decode_pointer(ptr) {
                PointerTarget::Null => None,
                PointerTarget::Data(d, o) if typed || o <= self.module.datas.get(d).map_or(0, |x| x.bytes.len() as u64) => {
                    Some((RelocTarget::Data(d), o as i64))
                }
                PointerTarget::Func(f) if self.module.funcs.get(f).is_some() => Some((RelocTarget::Func(f), 0)),
                PointerTarget::Func(_) if typed => {
                    return self.err(span, "compile-time result holds a pointer that cannot be baked");
                }
                PointerTarget::Func(_) => None,
                PointerTarget::Heap { alloc, offset } if !typed && offset > self.ct.vm.allocation_len(alloc).unwrap_or(0) => None,
                PointerTarget::Data(..) => None,
                PointerTarget::Heap { alloc, offset } => {
                    let d = match memo.get(&alloc) {
                        Some(d) => *d,
                        None => {
                            let name = format!("baked.{}", self.fresh());
                            let d = self.module.add_data(sx_ir::Data { name, bytes: vec![], align: 16, relocs: vec![], writable: true });
                            memo.insert(alloc, d);
                            work.push((alloc, d, elem));
                            d
                        }
                    };
                    Some((RelocTarget::Data(d), offset as i64))
                }
                // Untyped words that no longer point at anything bakeable stay data.
                PointerTarget::Stack { .. } | PointerTarget::Dangling { .. } | PointerTarget::Foreign { .. } if !typed => None,
                PointerTarget::Stack { .. } => {
                    return self.err(span, "compile-time result points into a stack frame that no longer exists");
                }
                PointerTarget::Dangling { .. } => {
                    return self.err(span, "compile-time result holds a pointer to freed memory");
                }
                PointerTarget::Foreign { .. } => {
                    return self.err(span, "compile-time result holds a pointer a C function returned; host memory cannot be baked");
                }
                PointerTarget::Invalid if typed => {
                    return self.err(span, "compile-time result holds a pointer that cannot be baked");
                }
                PointerTarget::Invalid => None,
            };
            if let Some((t, addend)) = target {
                for b in &mut bytes[off..off + pb] {
                    *b = 0;
                }
                relocs.push(Reloc { offset: off as u32, target: t, addend });
            }
        }
        Ok(relocs)
    }

    /// What the static type `ty` says about a value at `off`: its pointer words (with the type
    /// each points to; `None` for function pointers) and the byte ranges of plain data.
    fn static_layout(&self, ty: TypeId, off: usize, out: &mut StaticLayout) {
        if self.fully_plain(ty) {
            out.data.push((off, off + self.types.size_of(ty) as usize));
            return;
        }
        match self.types.kind(ty) {
            TK::Struct(_) => {
                if let Some(s) = self.types.struct_of(ty) {
                    for f in &s.fields {
                        self.static_layout(f.ty, off + f.offset as usize, out);
                    }
                }
            }
            TK::Array(n, e) => {
                let es = self.types.size_of(*e) as usize;
                for i in 0..*n as usize {
                    self.static_layout(*e, off + i * es, out);
                }
            }
            TK::Any => {
                out.slots.push((off, Some(bt::U8)));
                out.slots.push((off + self.module.pointer_bytes() as usize, None));
            }
            TK::TypeType => out.slots.push((off, None)),
            TK::Closure { .. } => {
                out.slots.push((off, None));
                out.slots.push((off + self.module.pointer_bytes() as usize, Some(bt::U8)));
            }
            TK::Optional(i) => self.static_layout(*i, off, out),
            TK::Slice(e) | TK::Pointer(e) | TK::ManyPointer(e) => out.slots.push((off, Some(*e))),
            TK::String | TK::Cstring => out.slots.push((off, Some(bt::U8))),
            TK::Func { .. } => out.slots.push((off, None)),
            _ => {}
        }
        if matches!(self.types.kind(ty), TK::String | TK::Slice(_)) {
            let pb = self.module.pointer_bytes() as usize;
            out.data.push((off + pb, off + 2 * pb));
        }
    }

    /// Whether every byte of a `ty` value is plain data (integers, floats, bools, plain enums
    /// and arrays/structs of them): no pointer can live inside.
    fn fully_plain(&self, ty: TypeId) -> bool {
        match self.types.kind(ty) {
            // A `Type` is the address of a type record: a pointer, not plain data.
            TK::Int { .. } | TK::Float { .. } | TK::Bool => true,
            TK::Enum(_) => self.types.is_plain_enum(ty),
            TK::Array(_, e) | TK::Vector(_, e) => self.fully_plain(*e),
            TK::Struct(_) => self.types.struct_of(ty).is_some_and(|s| s.fields.iter().all(|f| self.fully_plain(f.ty))),
            _ => false,
        }
    }

    /// Describes every extern function whose IR function exists to the VM, for comptime FFI:
    /// which parameters and results are pointers or C strings.
    pub(crate) fn declare_foreign_sigs(&mut self) {
        for (sym, sig) in self.foreign_sigs() {
            if !self.ct.vm.is_foreign_declared(&sym) {
                self.ct.vm.declare_foreign(&sym, sig);
            }
        }
    }

    /// The comptime-FFI descriptions of the declared extern functions (see `sx_vm::ffi`).
    pub fn foreign_sigs(&self) -> Vec<(String, sx_vm::ForeignSig)> {
        let mut out = vec![];
        for def in self.fns.values() {
            if !def.decl.attrs.is_extern || def.func.is_none() {
                continue;
            }
            let Some(sig) = &def.sig else { continue };
            let sym = def.decl.attrs.extern_sym.clone().unwrap_or_else(|| def.name.clone());
            // Signatures C cannot take were rejected when the function was declared.
            if let Ok(abi) = self.c_abi(sig) {
                out.push((sym, abi.foreign_sig()));
            }
        }
        out
    }

    /// How comptime FFI treats a value of type `t`: `cstring` (and, as a result, a byte
    /// pointer) is a C string, other pointers are pointers.
    pub(crate) fn foreign_type(&self, t: TypeId, result: bool) -> sx_vm::ForeignType {
        use sx_vm::ForeignType as F;
        let byte = |e: TypeId| matches!(self.types.kind(e), TK::Int { bits: 8, .. });
        match self.types.kind(t) {
            TK::Float { .. } => F::Float,
            TK::Cstring => F::CString,
            TK::Pointer(e) | TK::ManyPointer(e) if result && byte(*e) => F::CString,
            TK::Pointer(_) | TK::ManyPointer(_) | TK::Func { .. } => F::Pointer,
            TK::Optional(i) => self.foreign_type(*i, result),
            TK::Int { signed, .. } => F::Int { signed: *signed },
            TK::Enum(_) => match self.types.enum_of(t) {
                Some(e) => self.foreign_type(e.backing, result),
                None => F::Int { signed: true },
            },
            _ => F::Int { signed: false },
        }
    }

    /// Creates the C entry point `main() -> i32` that calls the user's `main`.
    pub(crate) fn build_entry(&mut self, main: FnId) -> R<()> {
        let span = self.fns[main].span;
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
        crate::emit::write_adapter(&mut f, Some(span), |b, _| {
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
        });
        let id = self.module.funcs.push(f);
        self.module.entry = Some(id);
        Ok(())
    }
}

/// What a static type says about a block of memory (see `Compiler::static_layout`).
#[derive(Default)]
struct StaticLayout {
    /// Pointer words: offset and the type pointed to.
    slots: Vec<(usize, Option<TypeId>)>,
    /// Byte ranges `[lo, hi)` holding plain data.
    data: Vec<(usize, usize)>,
}

/// Sorts and merges overlapping or touching ranges.
fn merge_ranges(mut v: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    v.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// A compile-time result.
pub(crate) enum Baked {
    Const(ConstVal),
    Bytes { ty: TypeId, bytes: Vec<u8>, relocs: Vec<Reloc> },
    Void,
}

impl Compiler {
    /// Whether a top-level `#run` of root file `root` runs sx code: one whose expression is
    /// a direct call of an intrinsic (`#run on_build(f);`) only asks something of the compiler.
    pub(crate) fn root_runs_code(&mut self, root: FileIdx) -> bool {
        let runs = self.files[root].runs.clone();
        runs.iter().any(|r| {
            let ExprKind::Call { callee, .. } = &r.kind else { return true };
            let ExprKind::Ident(id) = &callee.kind else { return true };
            !matches!(self.lookup_global(root, &id.name, id.span), Ok(Some(ConstVal::Intrinsic(_))))
        })
    }
}
