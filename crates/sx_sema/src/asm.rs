//! Inline assembly (`asm [volatile] { … }`) and naked functions (`abi(.naked)`).
//!
//! Cranelift cannot emit inline assembly, so each block becomes an out-of-line function: its
//! operands are decided here (what each constraint means for the value or place it names),
//! [`asm_x86`] chooses registers and writes the wrapper's assembly text, and the text is
//! assembled by the system `cc` into an object linked like the C shims
//! ([`Compiler::generated_object`]: the executable for `sx build`, the shared object `sx run`
//! loads before the JIT resolves symbols). The block itself lowers to stores of its inputs
//! into an operand frame (a stack slot, one word per operand), a call of the wrapper with the
//! frame's address, and loads of its outputs. A naked function's body is its asm text, the
//! function a generated symbol the sx function calls with its own arguments.
//!
//! The symbols start with [`sx_ir::ASM_SYMBOL_PREFIX`]: the compile-time VM refuses to run
//! them (`#run`, `sx run --vm`) with a named error at the block. Only x86-64 is supported.

use crate::asm_x86::{self, Class, Constraint, Load, Operand, Render};
use crate::fncx::FnCx;
use crate::*;
use sx_syntax::ast::{AsmExpr, AsmOperand, AsmRole, Body, FnDecl, StmtKind};
use sx_types::TypeKind as TK;

/// What happens to an operand's frame word after the template ran.
enum After {
    /// Nothing (inputs, memory written in place).
    Nothing,
    /// It is (part of) the block's value, of this type.
    Value(TypeId),
    /// It is stored through this address, as this type.
    Store(sx_ir::Value, TypeId),
}

/// A `#string` or quoted template's text.
fn template_text(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Str(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// The register a constraint pins, as written (`"={rax}"` → `rax`): the operand's name when
/// it has no `[name]`.
fn pinned_name(constraint: &str) -> Option<&str> {
    let c = constraint.trim_start_matches(['=', '+', '&', '*']);
    c.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
}

/// The symbol of a generated function for `text`.
fn symbol_for(kind: &str, text: &str) -> String {
    format!("{}{}{}", sx_ir::ASM_SYMBOL_PREFIX, kind, &crate::c_build::Hash128::of(text.as_bytes()).hex()[..20])
}

impl Compiler {
    /// Inline assembly needs an x86-64 target.
    fn asm_target(&mut self, span: Span) -> R<()> {
        match self.types.target {
            sx_ir::Target::X86_64Linux => Ok(()),
            sx_ir::Target::Aarch64Linux => self.err(span, "not supported yet: inline assembly for aarch64 (only x86-64)"),
        }
    }

    /// Assembles generated `text` (named `symbol`) into an object the program links.
    fn assemble(&mut self, symbol: &str, text: &str, span: Span) -> R<()> {
        match self.generated_object(&format!("{}.s", symbol), text) {
            Ok(_) => Ok(()),
            Err(msg) => self.err(span, format!("cannot assemble the inline assembly:\n{}", msg)),
        }
    }

    /// Whether `decl` is declared `abi(.naked)`.
    pub(crate) fn is_naked(decl: &FnDecl) -> bool {
        matches!(&decl.attrs.abi, Some(Expr { kind: ExprKind::EnumLit(id), .. }) if id.name == "naked")
    }
}

impl<'c> FnCx<'c> {
    /// Lowers an `asm` block: its value is void, its one value output, or a tuple of its value
    /// outputs (named by their operand names).
    pub(crate) fn asm_expr(&mut self, a: &AsmExpr, span: Span) -> R<TV> {
        self.c.asm_target(span)?;
        let Some(template) = template_text(&a.template) else {
            return self.err(a.template.span, "an asm template must be a string literal or a #string");
        };
        let names = self.asm_names(a, span)?;
        let values = a.operands.iter().filter(|o| matches!(o.role, AsmRole::Value(_))).count();
        if values == 0 && !a.volatile {
            return self.err(span, "asm expression with no outputs must be marked `volatile`");
        }
        let mut clobbered = vec![];
        for c in &a.clobbers {
            if !asm_x86::is_clobber_name(&c.name) {
                return self.err(c.span, format!("unknown clobber '.{}' (a register of the target, `.cc` or `.memory`)", c.name));
            }
            clobbered.extend(asm_x86::gpr_named(&c.name));
        }
        let frame_slot = self.e.slot(8 * a.operands.len().max(1) as u64, 8);
        let frame = self.slot_addr(frame_slot);
        self.b(|b| {
            let zero = b.iconst(sx_ir::Type::I8, 0);
            let len = b.iconst(sx_ir::Type::I64, 8 * a.operands.len().max(1) as i64);
            b.memfill(frame, zero, len);
        });
        let mut ops = vec![];
        let mut afters = vec![];
        for (i, op) in a.operands.iter().enumerate() {
            let c = match asm_x86::parse_constraint(&op.constraint) {
                Ok(c) => c,
                Err(msg) => return self.err(op.constraint_span, msg),
            };
            let word = self.offset_addr(frame, 8 * i as i64);
            let (operand, after) = self.asm_operand(op, &c, word, names[i].clone())?;
            ops.push(operand);
            afters.push(after);
        }
        let wrapper = match asm_x86::wrapper(&template, &ops, &clobbered, |code| symbol_for("", code)) {
            Ok(w) => w,
            Err(msg) => return self.err(span, msg),
        };
        self.c.assemble(&wrapper.symbol, &wrapper.text, span)?;
        let sig = sx_ir::Signature { params: vec![sx_ir::Type::I64], returns: vec![] };
        let ext = self.c.module.declare_extern(&wrapper.symbol, sig);
        self.b(|b| b.call_extern(ext, vec![frame], &[]));
        self.asm_results(afters, &names, frame, span)
    }

    /// Each operand's name (explicit, else its pinned register); rejects a name that repeats
    /// the register it pins, and two operands of one name.
    fn asm_names(&mut self, a: &AsmExpr, span: Span) -> R<Vec<Option<String>>> {
        let mut names: Vec<Option<String>> = vec![];
        for op in &a.operands {
            let pinned = pinned_name(&op.constraint);
            if let (Some(n), Some(p)) = (&op.name, pinned) {
                if n.name == p {
                    let msg = format!("redundant asm operand name `{}` — it already names the pinned register; drop the `[{}]`", p, p);
                    return self.err(span, msg);
                }
            }
            if let Some(n) = &op.name {
                if names.iter().flatten().any(|m| *m == n.name) {
                    return self.err(span, format!("duplicate asm operand name `{}`", n.name));
                }
            }
            names.push(op.name.as_ref().map(|n| n.name.clone()).or_else(|| pinned.map(str::to_string)));
        }
        Ok(names)
    }

    /// The byte size of an operand's type: a scalar of at most 8 bytes.
    fn asm_scalar_size(&mut self, ty: TypeId, span: Span) -> R<u64> {
        let size = self.c.types.size_of(ty);
        if self.c.types.scalar(ty).is_none() || size > 8 || size == 0 {
            return self.err(span, format!("an asm operand must be a scalar of at most 8 bytes, not '{}'", self.tname(ty)));
        }
        Ok(size)
    }

    /// Decides operand `op` with constraint `c`: what goes into its frame `word` before the
    /// template (emitted here) and what is done with it after.
    fn asm_operand(&mut self, op: &AsmOperand, c: &Constraint, word: sx_ir::Value, name: Option<String>) -> R<(Operand, After)> {
        let pin = match c.class {
            Class::Reg(p) => p,
            Class::Mem | Class::Imm | Class::Sym | Class::Tied(_) => None,
        };
        let mut operand = Operand {
            name,
            pin,
            needs_reg: matches!(c.class, Class::Reg(_) | Class::Mem | Class::Tied(_)),
            tied: if let Class::Tied(n) = c.class { Some(n) } else { None },
            output: c.output,
            load: Load::None,
            store: false,
            render: Render::Mem,
        };
        let cspan = op.constraint_span;
        match &op.role {
            AsmRole::Value(ty_expr) => {
                let ty = self.type_expr(ty_expr)?;
                let size = self.asm_scalar_size(ty, ty_expr.span)?;
                if !c.output {
                    return self.err(cspan, "an asm output (`->`) needs a constraint starting with `=`");
                }
                if c.read_write {
                    return self.err(cspan, "a read-write (`+`) asm output reads a place: write `-> *x`");
                }
                match (&c.class, c.indirect) {
                    (Class::Reg(_), _) => {
                        operand.store = true;
                        operand.render = Render::Reg(size);
                    }
                    (Class::Mem, false) => operand.load = Load::FrameAddress,
                    (Class::Mem, true) => return self.err(cspan, "an indirect (`*`) memory output writes through a place: write `-> *x`"),
                    (Class::Imm | Class::Sym | Class::Tied(_), _) => {
                        return self.err(cspan, "an asm output must be a register or memory");
                    }
                }
                Ok((operand, After::Value(ty)))
            }
            AsmRole::Place(place) => {
                if !c.output {
                    return self.err(cspan, "an asm output (`->`) needs a constraint starting with `=` or `+`");
                }
                let ptr = self.expr(place, None)?;
                let TK::Pointer(ty) = *self.c.types.kind(ptr.ty) else {
                    return self.err(place.span, "an asm place output needs an addressable place: `-> *x`");
                };
                let size = self.asm_scalar_size(ty, place.span)?;
                let addr = self.scalar(ptr, place.span)?;
                match c.class {
                    Class::Reg(_) => {
                        if c.read_write {
                            let seed = self.load(addr, ty);
                            self.store(word, seed, place.span)?;
                            operand.load = Load::Word;
                        }
                        operand.store = true;
                        operand.render = Render::Reg(size);
                        Ok((operand, After::Store(addr, ty)))
                    }
                    Class::Mem => {
                        self.b(|b| b.store(word, 0, addr));
                        operand.load = Load::Word;
                        Ok((operand, After::Nothing))
                    }
                    Class::Imm | Class::Sym | Class::Tied(_) => self.err(cspan, "an asm output must be a register or memory"),
                }
            }
            AsmRole::Input(e) => {
                if c.output {
                    return self.err(cspan, "an asm input (`=`) needs a constraint without `=` or `+`");
                }
                match c.class {
                    Class::Imm => {
                        let v = self.expr(e, None)?;
                        let V::Const(ConstVal::Int { v, .. }) = v.v else {
                            return self.err(e.span, "an immediate (`i`) asm operand needs a compile-time integer");
                        };
                        operand.render = Render::Imm(v);
                    }
                    Class::Sym => operand.render = Render::Sym(self.asm_symbol(e)?),
                    Class::Reg(_) | Class::Tied(_) | Class::Mem => {
                        let v = self.expr(e, None)?;
                        let v = match &v.v {
                            V::Const(k) if k.is_untyped() => self.coerce(v, bt::I64, e.span)?,
                            _ => v,
                        };
                        let size = self.asm_scalar_size(v.ty, e.span)?;
                        let is_ptr = matches!(self.c.types.kind(v.ty), TK::Pointer(_) | TK::ManyPointer(_));
                        if c.indirect && !is_ptr {
                            return self.err(e.span, "an indirect (`*`) memory input must be a pointer");
                        }
                        self.store(word, v, e.span)?;
                        operand.load = if c.class == Class::Mem && !c.indirect { Load::FrameAddress } else { Load::Word };
                        operand.render = if c.class == Class::Mem { Render::Mem } else { Render::Reg(size) };
                    }
                }
                Ok((operand, After::Nothing))
            }
        }
    }

    /// The symbol of an `s` operand: an `export` or `extern` function.
    fn asm_symbol(&mut self, e: &Expr) -> R<String> {
        let fid = match &e.kind {
            ExprKind::Ident(id) => match self.resolve(id)? {
                Some(Local::Const(ConstVal::Func(fid))) => Some(fid),
                _ => None,
            },
            _ => None,
        };
        let Some(fid) = fid else {
            return self.err(e.span, "a symbol (`s`) asm operand must name an `export` or `extern` function");
        };
        let def = &self.c.fns[fid];
        let attrs = &def.decl.attrs;
        if attrs.export {
            Ok(attrs.export_sym.clone().unwrap_or_else(|| def.name.clone()))
        } else if attrs.is_extern {
            Ok(attrs.extern_sym.clone().unwrap_or_else(|| def.name.clone()))
        } else {
            let msg = format!("a symbol (`s`) asm operand must name an `export` or `extern` function; '{}' has no C symbol", def.name);
            self.err(e.span, msg)
        }
    }

    /// The block's value after the call: outputs stored through their places, then void,
    /// the one value output, or a tuple of them.
    fn asm_results(&mut self, afters: Vec<After>, names: &[Option<String>], frame: sx_ir::Value, span: Span) -> R<TV> {
        let mut values = vec![];
        for (i, after) in afters.into_iter().enumerate() {
            let word = self.offset_addr(frame, 8 * i as i64);
            match after {
                After::Nothing => {}
                After::Value(ty) => values.push((names[i].clone(), self.load(word, ty))),
                After::Store(addr, ty) => {
                    let v = self.load(word, ty);
                    self.store(addr, v, span)?;
                }
            }
        }
        match values.len() {
            0 => Ok(TV::void()),
            1 => Ok(values.remove(0).1),
            _ => {
                let fields: Vec<(String, TypeId)> =
                    values.iter().enumerate().map(|(i, (n, v))| (n.clone().unwrap_or_else(|| i.to_string()), v.ty)).collect();
                let t = self.c.types.tuple(fields);
                let offsets: Vec<u64> = self.c.types.struct_of(t).map(|s| s.fields.iter().map(|f| f.offset).collect()).unwrap_or_default();
                let slot = self.slot_for(t);
                let at = self.slot_addr(slot);
                for ((_, v), off) in values.into_iter().zip(offsets) {
                    let field = self.offset_addr(at, off as i64);
                    self.store(field, v, span)?;
                }
                Ok(TV { ty: t, v: V::Mem(at) })
            }
        }
    }

    /// The body of naked function `decl`: its asm blocks (volatile, without operands) are the
    /// whole function, emitted as a generated symbol; the sx function calls it with its own
    /// parameters (scalars only) and returns its result.
    pub(crate) fn naked_body(&mut self, decl: &FnDecl, sig: &FnSig, irsig: &sx_ir::Signature) -> R<()> {
        let span = decl.span;
        self.c.asm_target(span)?;
        let scalar = |c: &Compiler, t: TypeId| c.types.scalar(t).is_some();
        if sig.sret || !(sig.ret == bt::VOID || scalar(self.c, sig.ret)) || !sig.params.iter().all(|&t| scalar(self.c, t)) {
            return self.err(span, "not supported yet: a naked function that takes or returns anything but scalars");
        }
        let mut template = String::new();
        let Some(Body::Block(blk)) = &decl.body else {
            return self.err(span, "a naked function's body must be a block of `asm volatile { … }` statements");
        };
        fn asm_of(e: &Expr) -> Option<&AsmExpr> {
            match &e.kind {
                ExprKind::Asm(a) if a.operands.is_empty() && a.clobbers.is_empty() => Some(a),
                _ => None,
            }
        }
        let stmts = blk.stmts.iter().map(|s| match &s.kind {
            StmtKind::Expr(e) => (asm_of(e), s.span),
            _ => (None, s.span),
        });
        for (a, at) in stmts.chain(blk.tail.iter().map(|e| (asm_of(e), e.span))) {
            let Some(a) = a else {
                return self.err(at, "a naked function's body may only hold `asm volatile { \"…\" }` blocks without operands");
            };
            let Some(text) = template_text(&a.template) else {
                return self.err(a.template.span, "an asm template must be a string literal or a #string");
            };
            template.push_str(&text);
            template.push('\n');
        }
        let symbol = symbol_for("naked_", &template);
        let text = match asm_x86::naked_function(&symbol, &template) {
            Ok(t) => t,
            Err(msg) => return self.err(span, msg),
        };
        self.c.assemble(&symbol, &text, span)?;
        let ext = self.c.module.declare_extern(&symbol, irsig.clone());
        let entry = self.new_block();
        self.switch(entry);
        let returns = irsig.returns.clone();
        self.b(|b| {
            let params: Vec<sx_ir::Value> = irsig.params.iter().map(|&t| b.append_block_param(entry, t)).collect();
            let results = b.call_extern(ext, params, &returns);
            b.ret(results);
        });
        Ok(())
    }
}
