//! Error sets and failable functions.
//!
//! Representation: an error value is a `u32` global tag id (0 = no error; ids come from
//! [`sx_types::TypeTable::error_tag`]). A pure failable `-> !E` returns the error-set value
//! itself; a value-carrying failable `-> (A, !E)` returns a [`sx_types::TypeKind::Failable`]
//! aggregate `{0: A, 1: E}` (through the usual hidden result pointer). Several value slots
//! `-> (A, B, !E)` / `-> (x: A, y: B, !E)` make the success value the tuple of the slots
//! (`{0: (A, B), 1: E}`), so `try`/`catch`/`or` yield that tuple and the multi-return
//! machinery of `tuples.rs` (return lists, named slot locals) fills it. A returned failable
//! whose value type matches and whose error set fits is forwarded as is (tags are global).
//!
//! Control flow: `try X` and bare failables inside `or` chains / `catch` operands route a
//! failure to the innermost *fallback target* (a block taking the tag); with none, `try`
//! propagates: it runs the `onfail` and `defer` cleanups of every open scope and returns the
//! tag from the function. `raise` and every failing `try` push a return-trace frame (a static
//! record of the site) onto the ring in our std; absorbing sites clear it.
//! An `av.(T)` assertion on an `any` (or `o?.(T)` on a `?any`) consumed by try / or / catch
//! fails with `error.mismatch`. Plain functions widen into failable function and closure
//! types through an adapter that clears the error slot. A failable call evaluated alone at
//! compile time yields its value or stops the build.
//!
//! Checks: a propagated error set must fit the function's named set (an inferred `!` set is
//! recovered from the bodies' text); a value slot of `v, err := f()` is read only where `err`
//! is proven absent (proofs are scope entries bound by conditions); `defer`/`onfail` bodies
//! cannot transfer control.

use crate::fncx::FnCx;
use crate::runtime::RuntimeFn;
use crate::*;
use sx_ir::{Block as IrBlock, IntCC, Type as IrType, Value};
use sx_types::TypeKind as TK;

/// The scope entry recording that the error in slot `err` is proven absent here (bound like a
/// local, so it lives exactly as long as the scope that proved it).
fn absent_marker(err: sx_ir::Slot) -> String {
    format!("\u{0}no_error:{:?}", err)
}

impl Compiler {
    /// Declares `name :: error { tags }`.
    pub(crate) fn declare_error_set(&mut self, name: &str, tags: &[Ident], span: Span) -> R<ConstVal> {
        if tags.is_empty() {
            return self.err(span, format!("error set '{}' is empty: an error set needs at least one tag", name));
        }
        let mut seen = std::collections::HashSet::new();
        for t in tags {
            if !seen.insert(t.name.as_str()) {
                return self.err(t.span, format!("duplicate tag '{}' in error set '{}'", t.name, name));
            }
        }
        let t = self.types.new_error_set(name, tags.iter().map(|t| t.name.clone()).collect());
        Ok(ConstVal::Type(t))
    }

    /// The failable signature named by a return spec (`-> !`, `-> (T, !E)`, `-> (A, B, !E)`,
    /// `-> (x: A, y: B, !E)`), or `None`. `params` are the function's parameter names (a named
    /// value slot may not reuse one).
    pub(crate) fn failable_ret(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        r: &RetSpec,
        params: &[String],
    ) -> R<Option<TypeId>> {
        let Some(es) = &r.error else { return Ok(None) };
        let err = match &es.set {
            None => bt::ANY_ERROR,
            Some(e) => {
                let t = self.eval_type_in(file, owner, outer, e)?;
                if !self.types.is_error_set(t) {
                    let msg = format!("'!{}' needs an error set, found '{}'", self.types.name(t), self.types.name(t));
                    return self.err(e.span, msg);
                }
                t
            }
        };
        let value = self.ret_spec_type(file, owner, outer, r, params)?;
        if value == bt::VOID {
            return Ok(Some(err));
        }
        Ok(Some(self.types.failable(value, err)))
    }

    /// A static `[N]string` table of all error tag names (index = tag id - 1).
    pub(crate) fn error_names_table(&mut self) -> (sx_ir::DataId, u32) {
        let names = self.types.error_tags.clone();
        let pb = self.module.pointer_bytes() as usize;
        let mut bytes = vec![0u8; 2 * pb * names.len().max(1)];
        let mut relocs = vec![];
        for (i, n) in names.iter().enumerate() {
            let d = self.string_bytes_data(n.as_bytes());
            let off = 2 * pb * i;
            bytes[off + pb..off + pb + 8.min(pb)].copy_from_slice(&(n.len() as u64).to_le_bytes()[..8.min(pb)]);
            relocs.push(sx_ir::Reloc { offset: off as u32, target: sx_ir::RelocTarget::Data(d), addend: 0 });
        }
        let d = self.module.add_data(sx_ir::Data {
            name: format!("error_names.{}", self.fresh()),
            bytes,
            align: pb as u32,
            relocs,
            writable: false,
        });
        (d, names.len() as u32)
    }

    /// True when `main` is declared failable (`-> !` or `-> (int, !)`).
    pub(crate) fn main_is_failable(&self, main: FnId) -> bool {
        self.fns[main].decl.ret.as_ref().map(|r| r.error.is_some()).unwrap_or(false)
    }

    /// The entry point of a failable `main`: an escaped error prints the unhandled-error
    /// report and the return trace on stderr and exits with 1.
    pub(crate) fn build_failable_entry(&mut self, main: FnId) -> R<()> {
        let span = self.fns[main].span;
        let sig = self.fn_sig(main)?;
        if !sig.params.is_empty() {
            return self.err(span, "'main' must not take parameters");
        }
        let value = match self.types.kind(sig.ret).clone() {
            TK::Failable { value, .. } => Some(value),
            _ => None,
        };
        if value.map(|t| !self.types.is_int(t)).unwrap_or(false) {
            let msg = format!("a failable 'main' must return '!' or '(integer, !)', not '{}'", self.types.name(sig.ret));
            return self.err(span, msg);
        }
        let file = self.fns[main].file;
        let f = sx_ir::Function::new("main", sx_ir::Signature { params: vec![], returns: vec![IrType::I32] });
        let mut cx = FnCx::new(self, f, file, None, Rc::new(HashMap::new()));
        cx.e.span = Some(span);
        let entry = cx.new_block();
        cx.switch(entry);
        let r = cx.failable_entry_body(main, sig.ret, span);
        r?;
        let mut f = cx.e.finish();
        f.linkage = sx_ir::Linkage::Export;
        let id = self.module.funcs.push(f);
        self.module.entry = Some(id);
        Ok(())
    }
}

impl<'c> FnCx<'c> {
    fn failable_entry_body(&mut self, main: FnId, ret: TypeId, span: Span) -> R<()> {
        let user = self.c.declare_fn(main, span)?;
        let mut args = vec![];
        let rslot = self.sret_arg(ret, &mut args);
        let rets = self.c.module.funcs[user].sig.returns.clone();
        let res = self.b(|b| b.call(user, args, &rets));
        let tv = self.call_result_pub(ret, res, rslot);
        let (err, value) = self.split_failable(tv, span)?;
        let good = self.branch_on_error(err);
        let name = self.error_name_value(err, span)?;
        let na = self.scalar(name, span)?;
        self.flush_print_buffer(span)?;
        self.call_runtime(RuntimeFn::ErrorUnhandled, vec![na], bt::VOID, span)?;
        let one = self.iconst(IrType::I32, 1);
        self.b(|b| b.ret(vec![one]));
        self.switch(good);
        let code = match value {
            Some(v) => {
                let v = self.scalar(v, span)?;
                let t = self.e.f.values[v].ty;
                let v32 = match t.bytes() {
                    4 => v,
                    8 => self.b(|b| b.convert(sx_ir::ConvOp::Trunc, v, IrType::I32)),
                    _ => self.b(|b| b.convert(sx_ir::ConvOp::Uext, v, IrType::I32)),
                };
                let mask = self.iconst(IrType::I32, 255);
                self.b(|b| b.binary(sx_ir::BinOp::And, v32, mask))
            }
            None => self.iconst(IrType::I32, 0),
        };
        self.b(|b| b.ret(vec![code]));
        Ok(())
    }

    /// Branches on the error tag: continues in a new block when it is set (the failure path)
    /// and returns the block for the success path.
    fn branch_on_error(&mut self, err: Value) -> sx_ir::Block {
        let zero = self.iconst(IrType::I32, 0);
        let failed = self.b(|b| b.icmp(IntCC::Ne, err, zero));
        let bad = self.new_block();
        let good = self.new_block();
        self.b(|b| b.branch(failed, bad, vec![], good, vec![]));
        self.switch(bad);
        good
    }

    /// The tag's name as a `string` (through the std table lookup).
    fn error_name_value(&mut self, err: Value, span: Span) -> R<TV> {
        let (table, count) = self.c.error_names_table();
        let p = self.ptr_ty();
        let ta = self.b(|b| b.data_addr(table, p));
        let n = self.iconst(IrType::I32, count as i64);
        self.call_runtime(RuntimeFn::ErrorName, vec![err, ta, n], bt::STRING, span)
    }

    /// `error_name(e)`: the tag name of an error value (or of a raw `u32` tag id) as a
    /// `string`; folds for a constant tag.
    pub(crate) fn error_name_call(&mut self, args: &[Arg], span: Span) -> R<TV> {
        let [a] = args else { return self.err(span, "'error_name' takes one argument") };
        let v = self.expr(&a.value, None)?;
        let is_tag = self.c.types.is_error_set(v.ty) || matches!(self.c.types.kind(v.ty), TK::Int { bits: 32, signed: false, .. });
        if !is_tag {
            let msg = format!("'error_name' needs an error value, found '{}'", self.tname(v.ty));
            return self.err(a.value.span, msg);
        }
        if let Some(ConstVal::Int { v: tag, .. }) = v.as_const() {
            if let Some(n) = self.c.types.error_tag_name(*tag as u32) {
                return Ok(TV::konst(ConstVal::Str(n.as_bytes().to_vec())));
            }
        }
        let v = self.coerce(v.clone(), if self.c.types.is_error_set(v.ty) { v.ty } else { bt::U32 }, a.value.span)?;
        let tag = self.scalar(v, a.value.span)?;
        self.error_name_value(tag, span)
    }

    /// Formats an error value for `print` (the tag name).
    pub(crate) fn fmt_error_value(&mut self, v: Value, span: Span) -> R<()> {
        let (table, count) = self.c.error_names_table();
        let p = self.ptr_ty();
        let ta = self.b(|b| b.data_addr(table, p));
        let n = self.iconst(IrType::I32, count as i64);
        self.call_helper("__sx_fmt_error", vec![v, ta, n], bt::VOID, span)?;
        Ok(())
    }

    /// Sets up the error state of a function body from its declaration.
    pub(crate) fn init_failable(&mut self, decl: &FnDecl, name: &str, ret: TypeId) {
        self.errs.func_name = name.to_string();
        let failable = decl.ret.as_ref().map(|r| r.error.is_some()).unwrap_or(false) || self.c.types.is_error_set(ret);
        if !failable {
            return;
        }
        let sig = match self.c.types.kind(ret).clone() {
            TK::Failable { value, err, .. } => FailSig { value: Some(value), err },
            _ => FailSig { value: None, err: ret },
        };
        self.errs.fail = Some(sig);
    }

    /// `(success value type, error type)` when `ty` is the result of a failable (`None` value
    /// for `-> !`).
    pub(crate) fn failable_parts(&self, ty: TypeId) -> Option<(Option<TypeId>, TypeId)> {
        match self.c.types.kind(ty) {
            TK::Failable { value, err, .. } => Some((Some(*value), *err)),
            TK::ErrorSet(_) => Some((None, ty)),
            _ => None,
        }
    }

    /// The type a value-position expression of the function body should produce: the success
    /// value of a failable, else the return type (`None` for `void` and `-> !`).
    pub(crate) fn body_value_type(&self) -> Option<TypeId> {
        match &self.errs.fail {
            Some(f) => f.value,
            None if self.ret_ty == bt::VOID => None,
            None => Some(self.ret_ty),
        }
    }

    /// Splits a failable result into its error tag and its success value (`None` for `-> !`).
    pub(crate) fn split_failable(&mut self, tv: TV, span: Span) -> R<(Value, Option<TV>)> {
        match self.c.types.kind(tv.ty).clone() {
            TK::ErrorSet(_) => Ok((self.scalar(tv, span)?, None)),
            TK::Failable { value, err, repr } => {
                let tv = self.materialize(tv, span)?;
                let V::Mem(addr) = tv.v else { return self.err(span, "internal error: failable result is not in memory") };
                let (voff, eoff) = self.failable_offsets(repr);
                let ea = self.offset_addr(addr, eoff);
                let e = self.load(ea, err);
                let e = self.scalar(e, span)?;
                let va = self.offset_addr(addr, voff);
                Ok((e, Some(self.load(va, value))))
            }
            _ => {
                let msg = format!("expected a failable expression, found '{}'", self.tname(tv.ty));
                self.err(span, msg)
            }
        }
    }

    /// Pushes a return-trace frame for the site at `span`.
    fn trace_push(&mut self, span: Span) -> R<()> {
        let frame = self.trace_frame_data(span);
        let p = self.ptr_ty();
        let a = self.b(|b| b.data_addr(frame, p));
        self.call_runtime(RuntimeFn::TracePush, vec![a], bt::VOID, span)?;
        Ok(())
    }

    /// Clears the return trace (an error was absorbed).
    pub(crate) fn trace_clear(&mut self, span: Span) -> R<()> {
        if self.terminated() {
            return Ok(());
        }
        self.call_runtime(RuntimeFn::TraceClear, vec![], bt::VOID, span)?;
        Ok(())
    }

    /// The static frame record `{func, file, text, line, col}` of a trace site.
    fn trace_frame_data(&mut self, span: Span) -> sx_ir::DataId {
        let sf = self.c.sources.file(span.file);
        let (line, col) = sf.line_col(span.lo);
        let text = sf.line_text(line).to_string();
        let base = sf.path.rsplit('/').next().unwrap_or(&sf.path).to_string();
        let func = self.errs.func_name.clone();
        let pb = self.c.module.pointer_bytes() as usize;
        let mut bytes = vec![0u8; 6 * pb + 16];
        let mut relocs = vec![];
        for (i, s) in [func, base, text].iter().enumerate() {
            let d = self.c.string_bytes_data(s.as_bytes());
            let off = 2 * pb * i;
            bytes[off + pb..off + pb + 8.min(pb)].copy_from_slice(&(s.len() as u64).to_le_bytes()[..8.min(pb)]);
            relocs.push(sx_ir::Reloc { offset: off as u32, target: sx_ir::RelocTarget::Data(d), addend: 0 });
        }
        bytes[6 * pb..6 * pb + 8].copy_from_slice(&(line as i64).to_le_bytes());
        bytes[6 * pb + 8..6 * pb + 16].copy_from_slice(&(col as i64).to_le_bytes());
        let name = format!("trace_frame.{}", self.c.fresh());
        self.c.module.add_data(sx_ir::Data { name, bytes, align: 8, relocs, writable: false })
    }

    /// Leaves the function with error `err`: runs `onfail` and `defer` cleanups of all open
    /// scopes, then returns the tag (value slots undefined).
    fn propagate(&mut self, err: Value, span: Span) -> R<()> {
        if self.errs.fail.is_none() {
            return self.err(span, "an error can only propagate out of a failable function (declare it '-> !' or '-> (T, !)'), or handle it with 'catch' / 'or'");
        }
        self.run_error_cleanups(err)?;
        if self.terminated() {
            return Ok(());
        }
        self.emit_error_return(err);
        Ok(())
    }

    /// Byte offsets of the value and of the error slot in a failable's `repr`.
    fn failable_offsets(&self, repr: TypeId) -> (i64, i64) {
        let fields = self.c.types.struct_of(repr).map(|s| s.fields.clone()).unwrap_or_default();
        let off = |i: usize| fields.get(i).map(|f| f.offset as i64).unwrap_or(0);
        (off(0), off(1))
    }

    fn emit_error_return(&mut self, err: Value) {
        let ret = self.ret_ty;
        match self.c.types.kind(ret).clone() {
            TK::Failable { repr, .. } => {
                let (_, eoff) = self.failable_offsets(repr);
                if let Some(s) = self.sret {
                    let dst = self.e.sret_ptr(s);
                    let ea = self.offset_addr(dst, eoff);
                    self.b(|b| b.store(ea, 0, err));
                }
                self.b(|b| b.ret(vec![]));
            }
            _ => {
                self.b(|b| b.ret(vec![err]));
            }
        }
    }

    /// Runs the cleanups of every open scope on an error exit: `defer`s and `onfail`s,
    /// newest first; `onfail (e)` sees the tag.
    fn run_error_cleanups(&mut self, err: Value) -> R<()> {
        let mut i = self.scopes.len();
        while i > 0 {
            i -= 1;
            let cleanups = self.scopes[i].defers.clone();
            for d in cleanups.iter().rev() {
                let saved: Vec<Scope> = self.scopes.drain(i + 1..).collect();
                self.push_scope();
                let kind = if matches!(d.kind, StmtKind::OnFail { .. }) { "onfail" } else { "defer" };
                self.errs.cleanup.push(kind);
                let r = match &d.kind {
                    StmtKind::OnFail { binding, body } => {
                        if let Some(b) = binding {
                            let ety = self.errs.fail.as_ref().map(|f| f.err).unwrap_or(bt::ANY_ERROR);
                            let s = self.slot_for(ety);
                            let a = self.slot_addr(s);
                            self.b(|bb| bb.store(a, 0, err));
                            self.bind(&b.name, Local::Var { slot: s, ty: ety, by_ref: false, readonly: true });
                        }
                        self.stmt(body)
                    }
                    _ => self.stmt(d),
                };
                self.errs.cleanup.pop();
                self.scopes.pop();
                self.scopes.extend(saved);
                r?;
            }
        }
        Ok(())
    }

    /// A failure of error set `from` (the result of `operand`) propagating out of this
    /// function: every tag it can carry must be in the function's named set. A call of a
    /// function with an inferred `!` set carries the tags inferred for it.
    fn check_propagated_set(&mut self, from: TypeId, operand: &Expr, span: Span) -> R<()> {
        let Some(to) = self.errs.fail.as_ref().map(|f| f.err) else { return Ok(()) };
        let Some(to_def) = self.c.types.error_set_of(to).cloned() else { return Ok(()) };
        let Some(to_tags) = to_def.tags else { return Ok(()) };
        let from_tags = match self.c.types.error_set_of(from).and_then(|d| d.tags.clone()) {
            Some(t) => t,
            None => {
                let ExprKind::Call { callee, .. } = &operand.kind else { return Ok(()) };
                let Ok(Some(ConstVal::Func(fid))) = self.resolve_path(callee) else {
                    self.note_slot_failure(callee, to, span);
                    return Ok(());
                };
                match self.c.inferred_error_tags(fid) {
                    Some(t) => t.into_iter().collect(),
                    None => return Ok(()),
                }
            }
        };
        match from_tags.iter().find(|t| !to_tags.contains(t)) {
            Some(t) => {
                let msg = format!("error tag 'error.{}' is not in caller's error set '{}'", t, to_def.name);
                self.err(span, msg)
            }
            None => Ok(()),
        }
    }

    /// Fails with the tag named `tag` (see [`Self::route_failure`]).
    pub(crate) fn fail_with_tag(&mut self, tag: &str, target: Option<IrBlock>, trace: Option<Span>, span: Span) -> R<()> {
        let id = self.c.types.error_tag(tag);
        let err = self.iconst(IrType::I32, id as i64);
        self.route_failure(err, target, trace, span)
    }

    /// Routes a failure with tag `err` to `target` (or propagates when `None`), pushing a trace
    /// frame for `trace` sites.
    fn route_failure(&mut self, err: Value, target: Option<IrBlock>, trace: Option<Span>, span: Span) -> R<()> {
        if let Some(t) = trace {
            self.trace_push(t)?;
        }
        match target {
            Some(b) => {
                self.b(|bb| bb.jump(b, vec![err]));
                Ok(())
            }
            None => self.propagate(err, span),
        }
    }

    /// Lowers `e` as an operand whose failure goes to `target` (`None`: propagate). `Ok` holds
    /// the success value and the error type when `e` is failable; `Err` the plain value.
    pub(crate) fn failable_operand(
        &mut self,
        e: &Expr,
        target: Option<IrBlock>,
        expected: Option<TypeId>,
        trace: Option<Span>,
    ) -> R<Result<(TV, TypeId), TV>> {
        match &e.kind {
            ExprKind::Try(inner) => {
                self.check_cleanup_exit("try", e.span)?;
                let r = self.failable_operand(inner, target, expected, Some(e.span))?;
                match r {
                    Ok(v) => Ok(Ok(v)),
                    Err(plain) => {
                        let msg = format!("'try' needs a failable expression, found '{}'", self.tname(plain.ty));
                        self.err(inner.span, msg)
                    }
                }
            }
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } => self.or_chain(lhs, rhs, target, expected, e.span),
            ExprKind::Cast { expr: inner, ty } => {
                // `av.(T)` on an `any` (or a protocol value, whose first two words are the same
                // view) consumed by try / or / catch: a mismatch fails with `error.mismatch`
                // instead of stopping the program.
                let to = self.type_expr(ty)?;
                let v = self.expr(inner, Some(to))?;
                let view = v.ty == bt::ANY || (self.c.is_protocol(v.ty) && !self.c.is_protocol(to) && !self.c.types.is_pointer_like(to));
                if !view || to == bt::ANY || self.c.types.optional_inner(to).is_some() || matches!(v.v, V::Never) {
                    return Ok(Err(self.cast_value(v, to, e.span)?));
                }
                let (data, tag) = self.any_parts(v, e.span)?;
                let want = self.type_value(to, e.span)?;
                let hit = self.b(|b| b.icmp(IntCC::Eq, tag, want));
                let good = self.new_block();
                let bad = self.new_block();
                self.b(|b| b.branch(hit, good, vec![], bad, vec![]));
                self.switch(bad);
                self.fail_with_tag("mismatch", target, trace, e.span)?;
                self.switch(good);
                Ok(Ok((self.load(data, to), bt::ANY_ERROR)))
            }
            ExprKind::OptCast { expr: inner, ty } => {
                // `o?.(T)` on an `?any` consumed by try / or / catch: `(?T, !)`.
                let (v, failable) = self.opt_cast_with(inner, ty, e.span, Some((target, trace)))?;
                Ok(if failable { Ok((v, bt::ANY_ERROR)) } else { Err(v) })
            }
            _ => {
                let tv = self.expr(e, expected)?;
                let is_failable = match self.c.types.kind(tv.ty) {
                    TK::Failable { .. } => true,
                    TK::ErrorSet(_) => matches!(e.kind, ExprKind::Call { .. }),
                    _ => false,
                };
                if !is_failable || matches!(tv.v, V::Never) {
                    return Ok(Err(tv));
                }
                if target.is_none() && trace.is_none() {
                    return self
                        .err(e.span, "a failable call must be handled: use 'try', 'catch', an 'or' fallback value, or destructure it");
                }
                let (_, ety) = self.failable_parts(tv.ty).unwrap_or((None, bt::ANY_ERROR));
                if target.is_none() {
                    self.check_propagated_set(ety, e, trace.unwrap_or(e.span))?;
                }
                let (err, value) = self.split_failable(tv, e.span)?;
                let good = self.branch_on_error(err);
                self.route_failure(err, target, trace, e.span)?;
                self.switch(good);
                Ok(Ok((value.unwrap_or_else(TV::void), ety)))
            }
        }
    }

    /// `a or b` where `a` is failable: on `a`'s failure evaluate `b` (a value terminates the
    /// chain; a failable `b` fails on to `target`). A plain `a` makes it a logical `or`.
    fn or_chain(
        &mut self,
        lhs: &Expr,
        rhs: &Expr,
        target: Option<IrBlock>,
        expected: Option<TypeId>,
        span: Span,
    ) -> R<Result<(TV, TypeId), TV>> {
        let (next, _, l) = self.under_fallback(lhs, expected);
        let (lv, ety) = match l? {
            Ok(v) => v,
            Err(plain) => {
                return self.logical_or_from(plain, rhs, span).map(Err);
            }
        };
        let lv = self.materialize(lv, lhs.span)?;
        let lv = self.spill(lv, lhs.span)?;
        let l_end = self.e.cur;
        self.switch(next);
        let want = if lv.ty == bt::VOID { None } else { Some(lv.ty) };
        let r = self.failable_operand(rhs, target, want, None)?;
        let (rv, failable_rhs) = match r {
            Ok((v, _)) => (v, true),
            Err(v) => {
                if lv.ty == bt::VOID && v.ty != bt::VOID && !matches!(v.v, V::Never) {
                    return self.err(rhs.span, "a failable without a value ('-> !') cannot fall back to a value: chain another failable with 'or try', or absorb it with 'catch {}'");
                }
                (v, false)
            }
        };
        if !failable_rhs {
            self.trace_clear(rhs.span)?;
        }
        let r_end = self.e.cur;
        let ty = if lv.ty == bt::VOID { None } else { Some(lv.ty) };
        let joined = self.join(vec![(l_end, lv, lhs.span), (r_end, rv, rhs.span)], ty, span)?;
        Ok(Ok((joined, ety)))
    }

    /// `try e` in value position.
    pub(crate) fn try_expr(&mut self, e: &Expr, expected: Option<TypeId>) -> R<TV> {
        let target = self.errs.targets.last().copied();
        match self.failable_operand(e, target, expected, None)? {
            Ok((v, _)) => Ok(v),
            Err(v) => Ok(v),
        }
    }

    /// `a or b` in value position, where `a` may be failable.
    pub(crate) fn or_expr(&mut self, lhs: &Expr, rhs: &Expr, expected: Option<TypeId>, span: Span) -> R<TV> {
        let target = self.errs.targets.last().copied();
        match self.or_chain(lhs, rhs, target, expected, span)? {
            Ok((v, _)) => Ok(v),
            Err(v) => Ok(v),
        }
    }

    /// Lowers `e` with a fresh fallback target (a block taking the error tag) for its
    /// failures; returns the target, its tag parameter and the operand's result.
    #[allow(clippy::type_complexity)]
    fn under_fallback(&mut self, e: &Expr, expected: Option<TypeId>) -> (IrBlock, Value, R<Result<(TV, TypeId), TV>>) {
        let target = self.new_block();
        let tag = self.b(|b| b.append_block_param(target, IrType::I32));
        self.errs.targets.push(target);
        let r = self.failable_operand(e, Some(target), expected, None);
        self.errs.targets.pop();
        (target, tag, r)
    }

    /// `x catch (e) body`.
    pub(crate) fn catch_expr(&mut self, x: &Expr, clause: &CatchClause, expected: Option<TypeId>, span: Span) -> R<TV> {
        if let Some(b) = &clause.binding {
            self.c.check_reserved(b)?;
        }
        let (h, herr, r) = self.under_fallback(x, expected);
        let (v, ety) = match r? {
            Ok(v) => v,
            Err(plain) => {
                let msg = format!("'catch' needs a failable expression, found '{}'", self.tname(plain.ty));
                return self.err(x.span, msg);
            }
        };
        let v = self.materialize(v, x.span)?;
        let v = self.spill(v, x.span)?;
        let ok_end = self.e.cur;
        let vty = v.ty;
        self.switch(h);
        self.push_scope();
        if let Some(b) = &clause.binding {
            let s = self.slot_for(ety);
            let a = self.slot_addr(s);
            self.b(|bb| bb.store(a, 0, herr));
            self.bind(&b.name, Local::Var { slot: s, ty: ety, by_ref: false, readonly: true });
        }
        let want = if vty == bt::VOID { None } else { Some(vty) };
        let body = self.expr(&clause.body, want);
        let body = match body {
            Ok(bv) => {
                if vty != bt::VOID && !matches!(bv.v, V::Never) && bv.ty == bt::VOID {
                    self.scopes.pop();
                    let msg =
                        format!("the 'catch' handler must produce a value of type '{}' or leave (return, raise, break)", self.tname(vty));
                    return self.err(clause.body.span, msg);
                }
                let bv = if vty == bt::VOID || matches!(bv.v, V::Never) { bv } else { self.coerce(bv, vty, clause.body.span)? };
                let bv = if vty == bt::VOID { bv } else { self.materialize(bv, clause.body.span)? };
                let bv = if matches!(bv.v, V::Never) { bv } else { self.spill(bv, clause.body.span)? };
                bv
            }
            Err(()) => {
                self.scopes.pop();
                return Err(());
            }
        };
        self.pop_scope()?;
        if !matches!(body.v, V::Never) {
            self.trace_clear(span)?;
        }
        let h_end = self.e.cur;
        let body = if vty == bt::VOID && !matches!(body.v, V::Never) { TV::void() } else { body };
        self.join(vec![(ok_end, v, x.span), (h_end, body, clause.body.span)], want, span)
    }

    /// Rejects `what` (`return`, `raise`, `try`, `break`, `continue`) inside a `defer` or
    /// `onfail` body: cleanup runs while the scope is already being left, so there is nowhere
    /// to transfer control to. (A lambda in a cleanup body is its own function.)
    pub(crate) fn check_cleanup_exit(&mut self, what: &str, span: Span) -> R<()> {
        let Some(kind) = self.errs.cleanup.last() else { return Ok(()) };
        let article = if kind.starts_with('o') { "an" } else { "a" };
        let msg = format!(
            "`{}` is not allowed inside {} `{}` body — cleanup runs while the function is already exiting, so there is nothing to transfer control to",
            what, article, kind
        );
        self.err(span, msg)
    }

    /// `raise e;`
    pub(crate) fn raise_stmt(&mut self, e: &Expr, span: Span) -> R<()> {
        let Some(fail) = self.errs.fail.clone() else {
            return self.err(span, "'raise' is only allowed in a failable function (declare it '-> !' or '-> (T, !)')");
        };
        let v = self.expr(e, Some(fail.err))?;
        if !self.c.types.is_error_set(v.ty) {
            let msg = format!("'raise' needs an error value, found '{}'", self.tname(v.ty));
            return self.err(e.span, msg);
        }
        let v = self.coerce(v, fail.err, e.span)?;
        let err = self.scalar(v, e.span)?;
        self.route_failure(err, None, Some(span), span)
    }

    /// `onfail stmt;` / `onfail (e) { … }`: registered like a `defer` that only runs on error.
    pub(crate) fn onfail_stmt(&mut self, s: &Stmt) -> R<()> {
        if self.errs.fail.is_none() {
            return self.err(s.span, "'onfail' is only allowed in a failable function");
        }
        if let StmtKind::OnFail { binding: Some(b), .. } = &s.kind {
            self.c.check_reserved(b)?;
        }
        self.scopes.last_mut().expect("scope").defers.push(s.clone());
        Ok(())
    }

    /// `return …` in a failable function: success (error slot 0) or a forwarded failable.
    pub(crate) fn failable_return(&mut self, tv: Option<TV>, span: Span) -> R<()> {
        let fail = self.errs.fail.clone().expect("failable");
        let ret = self.ret_ty;
        let tv = match tv {
            Some(tv) if matches!(tv.v, V::Never) => return Ok(()),
            Some(tv) if self.is_forwarded_failable(&tv, &fail) => {
                // Forwarding a failable result (or an error value for `-> !`): tags are global,
                // so a result whose error set fits ours has our layout and is returned as is.
                let tv = if fail.value.is_none() {
                    self.coerce(tv, ret, span)?
                } else {
                    let (_, from) = self.failable_parts(tv.ty).unwrap_or((None, fail.err));
                    self.check_error_widening(from, fail.err, span)?;
                    let tv = self.materialize(tv, span)?;
                    TV { ty: ret, v: tv.v }
                };
                let tv = self.materialize(tv, span)?;
                let tv = self.spill(tv, span)?;
                self.run_defers_from(0)?;
                if self.terminated() {
                    return Ok(());
                }
                return self.emit_raw_return(tv, span);
            }
            other => other,
        };
        match (fail.value, tv) {
            (None, None) => {
                self.run_defers_from(0)?;
                if !self.terminated() {
                    let z = self.iconst(IrType::I32, 0);
                    self.b(|b| b.ret(vec![z]));
                }
                Ok(())
            }
            (None, Some(tv)) if tv.ty == bt::VOID => self.failable_return(None, span),
            (None, Some(tv)) => {
                let msg =
                    format!("this failable function returns no value ('-> !'), but a value of type '{}' is returned", self.tname(tv.ty));
                self.err(span, msg)
            }
            (Some(vty), None) => {
                let msg = format!("missing return value of type '{}'", self.tname(vty));
                self.err(span, msg)
            }
            (Some(vty), Some(tv)) => {
                let v = self.coerce(tv, vty, span)?;
                let z = self.iconst(IrType::I32, 0);
                self.return_value_and_error(v, z, span)
            }
        }
    }

    /// Returns value `v` (of the success value type) with error slot `err`, after the defers.
    fn return_value_and_error(&mut self, v: TV, err: Value, span: Span) -> R<()> {
        let v = self.materialize(v, span)?;
        let v = self.spill(v, span)?;
        self.run_defers_from(0)?;
        if self.terminated() {
            return Ok(());
        }
        let TK::Failable { repr, .. } = self.c.types.kind(self.ret_ty).clone() else { return Err(()) };
        let (voff, eoff) = self.failable_offsets(repr);
        let Some(s) = self.sret else { return Err(()) };
        let dst = self.e.sret_ptr(s);
        let va = self.offset_addr(dst, voff);
        self.store(va, v, span)?;
        let ea = self.offset_addr(dst, eoff);
        self.b(|b| b.store(ea, 0, err));
        self.b(|b| b.ret(vec![]));
        Ok(())
    }

    /// `return .{v, error.X}` / `return .{a, b, error.X}` in a value-carrying failable: a
    /// positional literal with one element more than the value slots spells the whole result
    /// (the value slots, then the error). `Ok(false)` when `e` is not such a literal.
    pub(crate) fn return_full_failable(&mut self, e: &Expr, span: Span) -> R<bool> {
        let Some(FailSig { value: Some(value), err }) = self.errs.fail.clone() else { return Ok(false) };
        let ExprKind::StructLit { ty: None, fields } = &e.kind else { return Ok(false) };
        if fields.iter().any(|f| f.name.is_some() || f.spread) {
            return Ok(false);
        }
        let slots: Vec<TypeId> = match self.c.types.struct_of(value).filter(|s| s.tuple) {
            Some(s) => s.fields.iter().map(|f| f.ty).collect(),
            None => vec![value],
        };
        if fields.len() != slots.len() + 1 {
            return Ok(false);
        }
        let mut elems: Vec<(String, TypeId)> = slots.iter().enumerate().map(|(i, t)| (i.to_string(), *t)).collect();
        elems.push((slots.len().to_string(), err));
        let whole = self.c.types.tuple(elems);
        let tv = self.expr(e, Some(whole))?;
        if matches!(tv.v, V::Never) {
            return Ok(true);
        }
        let tv = self.coerce(tv, whole, e.span)?;
        let mut parts = self.tuple_elements(tv, e.span)?;
        let tag = parts.pop().expect("error element");
        let tag = self.scalar(tag, e.span)?;
        let v = if self.c.types.is_tuple(value) {
            let s = self.slot_for(value);
            let a = self.slot_addr(s);
            let fields = self.c.types.struct_of(value).map(|s| s.fields.clone()).unwrap_or_default();
            for (f, p) in fields.iter().zip(parts) {
                let fa = self.offset_addr(a, f.offset as i64);
                self.store(fa, p, e.span)?;
            }
            TV { ty: value, v: V::Mem(a) }
        } else {
            parts.pop().expect("value element")
        };
        self.return_value_and_error(v, tag, span)?;
        Ok(true)
    }

    /// True when a returned value is a failable result to forward as is: the function's own
    /// result type, one with the same value and a fitting error set, or (for `-> !`) any
    /// error value.
    fn is_forwarded_failable(&self, tv: &TV, fail: &FailSig) -> bool {
        if tv.ty == self.ret_ty {
            return true;
        }
        match (self.failable_parts(tv.ty), fail.value) {
            (Some(_), None) => tv.ty != bt::VOID,
            (Some((Some(v), _)), Some(ours)) => v == ours,
            _ => false,
        }
    }

    /// Checks that errors of set `from` may flow into set `to` (same set, subset, or the open
    /// set `!`).
    fn check_error_widening(&mut self, from: TypeId, to: TypeId, span: Span) -> R<()> {
        if from == to {
            return Ok(());
        }
        let to_tags = self.c.types.error_set_of(to).and_then(|d| d.tags.clone());
        let from_tags = self.c.types.error_set_of(from).and_then(|d| d.tags.clone());
        let ok = match (from_tags, to_tags) {
            (_, None) => true,
            (Some(f), Some(t)) => f.iter().all(|x| t.contains(x)),
            (None, Some(_)) => false,
        };
        if ok {
            return Ok(());
        }
        let msg = format!("error set '{}' is not a subset of '{}'", self.tname(from), self.tname(to));
        self.err(span, msg)
    }

    fn emit_raw_return(&mut self, tv: TV, span: Span) -> R<()> {
        match self.sret {
            Some(s) => {
                let dst = self.e.sret_ptr(s);
                self.store(dst, tv, span)?;
                self.b(|b| b.ret(vec![]));
            }
            None => {
                let v = self.scalar(tv, span)?;
                self.b(|b| b.ret(vec![v]));
            }
        }
        Ok(())
    }

    /// `error.X` with an optional expected type.
    pub(crate) fn error_value(&mut self, id: &Ident, expected: Option<TypeId>, span: Span) -> R<TV> {
        let tag = self.c.types.error_tag(&id.name);
        let ty = match expected {
            Some(t) if self.c.types.is_error_set(t) => {
                self.check_tag_in_set(&id.name, t, span)?;
                t
            }
            Some(t) if self.c.types.is_int(t) => t,
            _ => bt::ANY_ERROR,
        };
        Ok(TV::konst(ConstVal::Int { v: tag as i128, ty: Some(ty) }))
    }

    fn check_tag_in_set(&mut self, tag: &str, set: TypeId, span: Span) -> R<()> {
        if let Some(def) = self.c.types.error_set_of(set) {
            if let Some(tags) = &def.tags {
                if !tags.iter().any(|t| t == tag) {
                    let msg = format!("error.{} is not a member of error set '{}'", tag, def.name);
                    return self.err(span, msg);
                }
            }
        }
        Ok(())
    }

    /// Implicit conversions involving error sets: a tag constant into a set that contains it
    /// or into an integer (`tag : u32 = error.X`), any set into the open set, a subset into a
    /// superset. `None` when neither side is an error set.
    pub(crate) fn coerce_error(&mut self, tv: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let from = tv.ty;
        let (fe, te) = (self.c.types.is_error_set(from), self.c.types.is_error_set(to));
        if !fe && !te {
            return Ok(None);
        }
        if fe && te {
            if let Some(ConstVal::Int { v, .. }) = tv.as_const() {
                let name = self.c.types.error_tag_name(*v as u32).unwrap_or("").to_string();
                self.check_tag_in_set(&name, to, span)?;
                return Ok(Some(TV { ty: to, v: tv.v.clone() }));
            }
            self.check_error_widening(from, to, span)?;
            return Ok(Some(TV { ty: to, v: tv.v.clone() }));
        }
        if fe && self.c.types.is_int(to) && self.c.types.size_of(to) >= 4 {
            if let Some(ConstVal::Int { v, .. }) = tv.as_const() {
                return Ok(Some(TV::konst(ConstVal::Int { v: *v, ty: Some(to) })));
            }
        }
        Ok(None)
    }

    /// `==` / `!=` between error values (and tag literals).
    pub(crate) fn compare_errors(&mut self, op: BinOp, l: TV, r: TV, span: Span) -> R<TV> {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return self.err(span, "error values only compare with '==' and '!='");
        }
        let (le, re) = (self.c.types.is_error_set(l.ty), self.c.types.is_error_set(r.ty));
        if !(le && re) {
            let other = if le { r.ty } else { l.ty };
            let msg = format!("an error value compares only with another error value or an 'error.X' literal, not '{}'", self.tname(other));
            return self.err(span, msg);
        }
        for (side, other) in [(&l, &r), (&r, &l)] {
            if let Some(ConstVal::Int { v, .. }) = side.as_const() {
                let name = self.c.types.error_tag_name(*v as u32).unwrap_or("").to_string();
                self.check_tag_in_set(&name, other.ty, span)?;
            }
        }
        if let (Some(ConstVal::Int { v: a, .. }), Some(ConstVal::Int { v: b, .. })) = (l.as_const(), r.as_const()) {
            let eq = a == b;
            return Ok(TV::konst(ConstVal::Bool(if op == BinOp::Eq { eq } else { !eq })));
        }
        let (lty, rty) = (l.ty, r.ty);
        let l = TV { ty: lty, v: l.v };
        let lv = self.scalar(l, span)?;
        let r = TV { ty: rty, v: r.v };
        let rv = self.scalar(r, span)?;
        let cc = if op == BinOp::Eq { IntCC::Eq } else { IntCC::Ne };
        Ok(TV { ty: bt::BOOL, v: V::Scalar(self.b(|b| b.icmp(cc, lv, rv))) })
    }

    /// `a, err := failable()` and `v, n, err := …`: binds the value slots and the error.
    pub(crate) fn destructure_failable(&mut self, names: &[Ident], value: &Expr, span: Span) -> R<Option<()>> {
        if names.len() < 2 {
            return Ok(None);
        }
        // `a, b := f()` of an `f -> (A, B, !E)` names the values and drops the error (with more
        // values, a name count that does not fit is reported below).
        if let ExprKind::Call { callee, .. } = &value.kind {
            if let ExprKind::Ident(id) = &callee.kind {
                if let Some(Local::Const(ConstVal::Func(fid))) = self.resolve(id)? {
                    let ret = self.c.fns[fid].decl.ret.as_ref();
                    let values = ret.filter(|r| r.error.is_some()).map(|r| r.values.len()).unwrap_or(0);
                    if values == 2 && names.len() == 2 {
                        let msg = format!(
                            "'{}' returns {} values and an error: the error slot cannot be dropped (bind it as a last name and handle it, or use 'try' / 'catch')",
                            id.name, values
                        );
                        return self.err(value.span, msg);
                    }
                }
            }
        }
        let tv = self.expr(value, None)?;
        self.bind_failable(names, tv, span)
    }

    /// Binds the value slots and the error of failable `tv` to `names` (see
    /// [`Self::destructure_failable`]).
    pub(crate) fn bind_failable(&mut self, names: &[Ident], tv: TV, span: Span) -> R<Option<()>> {
        let Some((value_ty, ety)) = self.failable_parts(tv.ty) else {
            let msg = format!("cannot destructure a value of type '{}' into {} names", self.tname(tv.ty), names.len());
            return self.err(span, msg);
        };
        // The value slots: one, or the elements of a several-value (tuple) result.
        let slots = match value_ty {
            None => 0,
            Some(_) if names.len() == 2 => 1,
            Some(v) => self.c.types.struct_of(v).filter(|s| s.tuple).map(|s| s.fields.len()).unwrap_or(1),
        };
        if names.len() != slots + 1 {
            let msg = format!("this failable has {} value(s) and an error: destructure it into {} names", slots, slots + 1);
            return self.err(span, msg);
        }
        if names.last().map(|n| n.name == "_").unwrap_or(false) {
            return self.err(names[names.len() - 1].span, "the error slot cannot be discarded: bind it and handle it");
        }
        let (err, value) = self.split_failable(tv, span)?;
        let mut parts = vec![];
        match value {
            Some(v) if slots == 1 => parts.push(v),
            Some(v) => parts.extend(self.tuple_elements(v, span)?),
            None => {}
        }
        parts.push(TV { ty: ety, v: V::Scalar(err) });
        let mut value_slots = vec![];
        for (n, p) in names.iter().zip(parts) {
            if n.name == "_" {
                continue;
            }
            let s = self.slot_for(p.ty);
            let a = self.slot_addr(s);
            let ty = p.ty;
            self.store(a, p, span)?;
            self.bind(&n.name, Local::Var { slot: s, ty, by_ref: false, readonly: false });
            value_slots.push((s, n.name.clone()));
        }
        // The last binding is the error; the others are its value slots.
        if let Some((err_slot, err_name)) = value_slots.pop() {
            for (s, name) in value_slots {
                self.errs.guarded.insert(s, (err_slot, name, err_name.clone()));
            }
        }
        self.trace_clear(span)?;
        Ok(Some(()))
    }
}

impl<'c> FnCx<'c> {
    /// A read of local slot `slot`: a failable's value slot may be read only where its error is
    /// proven absent (`if !err { … }`, after `if err { return; }`, in the else of `if err`, on
    /// the right of `!err and …`).
    pub(crate) fn check_value_slot_read(&mut self, slot: sx_ir::Slot, span: Span) -> R<()> {
        let Some((err, value, err_name)) = self.errs.guarded.get(&slot).cloned() else { return Ok(()) };
        if self.lookup_local(&absent_marker(err)).is_some() {
            return Ok(());
        }
        let msg = format!(
            "value `{}` from a failable can be used only where its error `{}` is proven absent — guard the use with `if !{} {{ … }}`, or return early with `if {} {{ return; }}` before reading `{}`",
            value, err_name, err_name, err_name, value
        );
        self.err(span, msg)
    }

    /// A write to local slot `slot`: a value slot that is assigned holds a real value.
    pub(crate) fn note_slot_write(&mut self, slot: sx_ir::Slot) {
        self.errs.guarded.remove(&slot);
    }

    /// The error slots proven absent when condition `e` evaluates to `truth`.
    pub(crate) fn absent_errors(&self, e: &Expr, truth: bool) -> Vec<sx_ir::Slot> {
        if self.errs.guarded.is_empty() {
            return vec![];
        }
        match &e.kind {
            ExprKind::Ident(id) if !truth => match self.lookup_local(&id.name) {
                Some(Local::Var { slot, by_ref: false, .. }) if self.errs.guarded.values().any(|g| g.0 == slot) => vec![slot],
                _ => vec![],
            },
            ExprKind::Unary { op: UnOp::Not, expr } => self.absent_errors(expr, !truth),
            ExprKind::Binary { op: BinOp::And, lhs, rhs } if truth => {
                let mut v = self.absent_errors(lhs, true);
                v.extend(self.absent_errors(rhs, true));
                v
            }
            ExprKind::Binary { op: BinOp::Or, lhs, rhs } if !truth => {
                let mut v = self.absent_errors(lhs, false);
                v.extend(self.absent_errors(rhs, false));
                v
            }
            _ => vec![],
        }
    }

    /// Records in the current scope that the errors in `slots` are absent.
    pub(crate) fn prove_absent(&mut self, slots: Vec<sx_ir::Slot>) {
        for s in slots {
            self.bind(&absent_marker(s), Local::Const(ConstVal::Bool(true)));
        }
    }

    /// A failable call evaluated at compile time on its own (`X :: #run f();`): the result is
    /// its value; an error stops the compilation (reported with its return trace). Any other
    /// value is returned unchanged.
    pub(crate) fn strip_comptime_failable(&mut self, tv: TV, e: &Expr) -> R<TV> {
        let call = matches!(e.kind, ExprKind::Call { .. });
        let failable = match self.c.types.kind(tv.ty) {
            TK::Failable { .. } => true,
            TK::ErrorSet(_) => call,
            _ => false,
        };
        if !failable || matches!(tv.v, V::Never) {
            return Ok(tv);
        }
        let (err, value) = self.split_failable(tv, e.span)?;
        let good = self.branch_on_error(err);
        let name = self.error_name_value(err, e.span)?;
        let na = self.scalar(name, e.span)?;
        self.flush_print_buffer(e.span)?;
        self.call_runtime(RuntimeFn::ComptimeError, vec![na], bt::VOID, e.span)?;
        let exit = self.c.module.declare_extern("_exit", sx_ir::Signature { params: vec![IrType::I32], returns: vec![] });
        self.b(|b| {
            let one = b.iconst(IrType::I32, 1);
            b.call_extern(exit, vec![one], &[]);
            b.trap(sx_ir::TrapCode::Unreachable);
        });
        self.switch(good);
        self.trace_clear(e.span)?;
        Ok(value.unwrap_or_else(TV::void))
    }

    /// True when `value` is a call of a function declared failable (so `a, err := value`
    /// destructures its value slots and its error).
    pub(crate) fn is_failable_destructure(&mut self, value: &Expr) -> bool {
        let value = match &value.kind {
            ExprKind::Try(_) => return false,
            _ => value,
        };
        let ExprKind::Call { callee, .. } = &value.kind else { return false };
        let fid = match self.resolve_path(callee) {
            Ok(Some(ConstVal::Func(f))) => f,
            // `v.method(…)` on a local of a struct type (or a pointer to one).
            _ => match &callee.kind {
                // `T.f(…)` / `ns.T.f(…)`: a function of a struct type.
                ExprKind::Field { base, name } if matches!(self.resolve_path(base), Ok(Some(ConstVal::Type(_)))) => {
                    let Ok(Some(ConstVal::Type(t))) = self.resolve_path(base) else { return false };
                    match self.c.struct_member(t, &name.name) {
                        Ok(Some(ConstVal::Func(f))) => f,
                        _ => return false,
                    }
                }
                ExprKind::Field { base, name } => {
                    let ExprKind::Ident(id) = &base.kind else { return false };
                    let Some(Local::Var { ty, .. }) = self.lookup_local(&id.name) else { return false };
                    let t = match self.c.types.kind(ty) {
                        TK::Pointer(inner) => *inner,
                        _ => ty,
                    };
                    match self.c.struct_member(t, &name.name) {
                        Ok(Some(ConstVal::Func(f))) => f,
                        _ => return false,
                    }
                }
                _ => return false,
            },
        };
        self.c.fns[fid].decl.ret.as_ref().map(|r| r.error.is_some()).unwrap_or(false)
    }
}

impl<'c> FnCx<'c> {
    /// Widening a plain function into a failable function or closure type of the same
    /// parameters whose success value is the function's result (`(A) -> T` into
    /// `(A) -> (T, !E)` / `Closure(A) -> (T, !E)`, `() -> void` into `() -> !E`): an adapter
    /// runs it and reports no error. `None` when the conversion does not have this shape.
    pub(crate) fn widen_fn_to_failable(&mut self, tv: &TV, to: TypeId, span: Span) -> R<Option<TV>> {
        let TK::Func { params: fp, ret: fr } = self.c.types.kind(tv.ty).clone() else { return Ok(None) };
        let (tp, tr, closure) = match self.c.types.kind(to).clone() {
            TK::Func { params, ret } => (params, ret, false),
            TK::Closure { params, ret } => (params, ret, true),
            _ => return Ok(None),
        };
        let fits = match self.c.types.kind(tr) {
            TK::Failable { value, .. } => *value == fr,
            TK::ErrorSet(_) => fr == bt::VOID,
            _ => false,
        };
        if tp != fp || !fits || self.failable_parts(fr).is_some() {
            return Ok(None);
        }
        let p = self.ptr_ty();
        if closure {
            let fnptr = self.scalar(tv.clone(), span)?;
            let adapter = self.c.failable_adapter(tv.ty, to, None);
            let code = self.b(|b| b.func_addr(adapter, p));
            return Ok(Some(self.closure_value_pub(to, code, fnptr)));
        }
        let Some(ConstVal::Func(fid)) = tv.as_const().cloned() else {
            let msg = format!(
                "not supported yet: widening a function value of type '{}' into '{}' (pass the function itself)",
                self.tname(tv.ty),
                self.tname(to)
            );
            return self.err(span, msg);
        };
        let func = self.c.declare_fn(fid, span)?;
        let adapter = self.c.failable_adapter(tv.ty, to, Some(func));
        Ok(Some(TV { ty: to, v: V::Scalar(self.b(|b| b.func_addr(adapter, p))) }))
    }
}

impl Compiler {
    /// The tags a function with an inferred `!` set can fail with: those it raises by name,
    /// the named sets of the functions whose errors it forwards (`try f()`, `return f()`),
    /// and the inferred sets of the `!` functions among those (so a cycle of them shares one
    /// set). `None` when some failure's tags cannot be known from the text (raising a
    /// variable, `try` through a closure or method); such sets are not checked.
    pub(crate) fn inferred_error_tags(&mut self, fid: FnId) -> Option<std::collections::BTreeSet<String>> {
        use sx_syntax::lexer::TokKind as T;
        let mut tags = std::collections::BTreeSet::new();
        let mut seen = std::collections::HashSet::new();
        let mut work = vec![fid];
        while let Some(f) = work.pop() {
            if !seen.insert(f) {
                continue;
            }
            let def = &self.fns[f];
            let (file, decl) = (def.file, def.decl.clone());
            let body_span = match &decl.body {
                Some(Body::Block(b)) => b.span,
                Some(Body::Expr(e)) => e.span,
                None => return None,
            };
            let text = self.sources.file(body_span.file).text.get(body_span.lo as usize..body_span.hi as usize)?.to_string();
            let (toks, _) = sx_syntax::lexer::lex(body_span.file, &text);
            let word = |i: usize| -> &str {
                match toks.get(i) {
                    Some(t) if matches!(t.kind, T::Ident) => text.get(t.lo as usize..t.hi as usize).unwrap_or(""),
                    _ => "",
                }
            };
            let mut i = 0;
            while i < toks.len() {
                match word(i) {
                    "raise" => {
                        if word(i + 1) != "error" || !matches!(toks.get(i + 2).map(|t| &t.kind), Some(T::Dot)) || word(i + 3).is_empty() {
                            return None;
                        }
                        tags.insert(word(i + 3).to_string());
                    }
                    kw @ ("try" | "return") => {
                        // A forwarded call: `name(` or `ns.name(`.
                        let mut path = vec![word(i + 1).to_string()];
                        let mut j = i + 2;
                        while matches!(toks.get(j).map(|t| &t.kind), Some(T::Dot)) && !word(j + 1).is_empty() {
                            path.push(word(j + 1).to_string());
                            j += 2;
                        }
                        let is_call = !path[0].is_empty() && matches!(toks.get(j).map(|t| &t.kind), Some(T::LParen));
                        let callee = if is_call { self.function_named(file, &path, body_span) } else { None };
                        match callee {
                            Some(g) => {
                                let gdecl = self.fns[g].decl.clone();
                                match gdecl.ret.as_ref().and_then(|r| r.error.as_ref()) {
                                    Some(es) if es.set.is_none() => work.push(g),
                                    Some(_) => {
                                        let gsig = self.fn_sig(g).ok()?;
                                        let err = match self.types.kind(gsig.ret) {
                                            TK::Failable { err, .. } => *err,
                                            _ => gsig.ret,
                                        };
                                        tags.extend(self.types.error_set_of(err)?.tags.clone()?);
                                    }
                                    None => {}
                                }
                            }
                            None if kw == "try" => return None,
                            None => {}
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        Some(tags)
    }

    /// The function a name path (`f`, `ns.f`) denotes in `file`, if any.
    fn function_named(&mut self, file: FileIdx, path: &[String], span: Span) -> Option<FnId> {
        let mut c = self.lookup_global(file, &path[0], span).ok()??;
        for name in &path[1..] {
            let ConstVal::Namespace(f) = c else { return None };
            c = self.lookup_in_namespace(f, name, span).ok()??;
        }
        match c {
            ConstVal::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The adapter behind [`FnCx::widen_fn_to_failable`]: it has the calling convention of
    /// `to` (a closure's takes the plain function pointer as its environment; with `direct`
    /// it calls that function instead), calls the plain function of type `from`, and returns
    /// its result with the error slot cleared.
    fn failable_adapter(&mut self, from: TypeId, to: TypeId, direct: Option<sx_ir::FuncId>) -> sx_ir::FuncId {
        if let Some(&f) = self.out.failable_adapters.get(&(from, to, direct)) {
            return f;
        }
        let TK::Func { params, ret: from_ret } = self.types.kind(from).clone() else { unreachable!("checked by the caller") };
        let to_ret = match self.types.kind(to) {
            TK::Func { ret, .. } | TK::Closure { ret, .. } => *ret,
            _ => unreachable!("checked by the caller"),
        };
        let sig_of = |c: &Compiler, ret: TypeId| {
            let sret = returns_via_sret(&c.types, ret);
            let s = FnSig { params: params.clone(), param_names: vec![], defaults: vec![], ret, sret, is_extern: false, variadic: false };
            (c.ir_sig(&s), sret)
        };
        let (plain_sig, plain_sret) = sig_of(self, from_ret);
        let (mut sig, to_sret) = sig_of(self, to_ret);
        let env_at = if to_sret { 1 } else { 0 };
        let p = self.module.pointer_type();
        if direct.is_none() {
            sig.params.insert(env_at, p);
        }
        let eoff = match self.types.kind(to_ret) {
            TK::Failable { repr, .. } => self.types.struct_of(*repr).and_then(|s| s.fields.get(1).map(|f| f.offset as i32)),
            _ => None,
        };
        let mut f = sx_ir::Function::new(format!("failable_adapter.{}", self.fresh()), sig.clone());
        crate::emit::write_adapter(&mut f, None, |b, vals| {
            let dst = if to_sret { Some(vals[0]) } else { None };
            let mut args: Vec<Value> = vals[env_at..].to_vec();
            let fnptr = if direct.is_none() { Some(args.remove(0)) } else { None };
            // The value is the first field of the failable result: a plain result through a
            // hidden pointer is written straight there.
            if plain_sret {
                args.insert(0, dst.expect("failable results are aggregates"));
            }
            let r = match (direct, fnptr) {
                (Some(func), _) => b.call(func, args, &plain_sig.returns),
                (None, Some(ptr)) => b.call_indirect(plain_sig.clone(), ptr, args),
                (None, None) => unreachable!("an adapter calls through its environment or directly"),
            };
            let zero = b.iconst(IrType::I32, 0);
            match (dst, eoff) {
                (Some(dst), Some(eoff)) => {
                    if let Some(&v) = r.first() {
                        b.store(dst, 0, v);
                    }
                    b.store(dst, eoff, zero);
                    b.ret(vec![]);
                }
                _ => b.ret(vec![zero]),
            }
        });
        let id = self.module.funcs.push(f);
        self.out.failable_adapters.insert((from, to, direct), id);
        id
    }
}
