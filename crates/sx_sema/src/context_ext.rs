//! `#context_extend name: T = default;` — fields the program adds to std's `Context`.
//!
//! Every declaration in any loaded file becomes a field of the one `Context` struct, after
//! std's own fields, ordered by declaring file path and then name. `context.name` is then
//! reachable from every module, and `push .{ name = v }` patches it like any other field.
//! Types and defaults are evaluated in the declaring file; a default must be a compile-time
//! constant.

use crate::fncx::FnCx;
use crate::*;

impl Compiler {
    /// Records a loaded `#context_extend`; a second declaration of the same name is an error.
    pub(crate) fn register_context_extension(&mut self, file: FileIdx, item: Rc<Item>) {
        let ItemKind::ContextExtend { name, .. } = &item.kind else { return };
        let prev = self.context_extends.iter().find_map(|(_, other)| match &other.kind {
            ItemKind::ContextExtend { name: n, .. } if n.name == name.name => Some(other.span),
            _ => None,
        });
        if let Some(prev) = prev {
            let d = Diagnostic::error(
                item.span,
                format!("duplicate context field '{}': every field of the program's Context is declared once", name.name),
            )
            .with_note(format!("'{}' is also declared at {}", name.name, self.sources.location(prev)));
            self.diags.push(d);
            return;
        }
        self.context_extends.push((file, item));
    }

    /// Declares the library's `Context` when the program extends it, so the extensions are
    /// checked even if nothing reads `context`.
    pub(crate) fn check_context_extensions(&mut self) {
        let Some(span) = self.context_extends.first().map(|(_, item)| item.span) else { return };
        let _ = self.context_type(span);
    }

    /// True when `t`, being declared in `file`, is the library's `Context`: a struct of that
    /// name declared by a standard-library file.
    pub(crate) fn is_std_context(&mut self, t: TypeId, file: FileIdx) -> bool {
        self.types.name(t) == "Context" && self.in_stdlib(file)
    }

    /// The library's `Context` struct and the file declaring it: the first loaded
    /// standard-library file whose own `Context` is a struct (aliases such as
    /// `Context :: core.Context` resolve to the same type).
    pub(crate) fn context_type(&mut self, span: Span) -> R<Option<(FileIdx, TypeId)>> {
        let files: Vec<FileIdx> = self.files.iter().filter(|(_, f)| f.names.contains_key("Context")).map(|(i, _)| i).collect();
        for file in files {
            if !self.in_stdlib(file) {
                continue;
            }
            if let Some(ConstVal::Type(t)) = self.lookup_own(file, "Context", span)? {
                if self.types.struct_of(t).is_some() {
                    return Ok(Some((file, t)));
                }
            }
        }
        Ok(None)
    }

    /// The program's implicit `context`, which the compiler provides when no scope declares
    /// one (the library declares only the `Context` type): one writable global holding every
    /// field's default, `#context_extend` fields included. `None` without a `Context` type.
    pub(crate) fn program_context(&mut self, span: Span) -> R<Option<ConstVal>> {
        if let Some((d, t)) = self.context_global {
            return Ok(Some(ConstVal::Global(d, t)));
        }
        let Some((file, t)) = self.context_type(span)? else { return Ok(None) };
        let empty: Rc<HashMap<String, ConstVal>> = Rc::default();
        let baked = self.run_thunk(file, None, &empty, crate::comptime::ThunkBody::Default(t), span)?;
        let (d, t) = self.bake_global("context", Some(t), baked, span)?;
        self.context_global = Some((d, t));
        Ok(Some(ConstVal::Global(d, t)))
    }

    /// Appends the `#context_extend` fields (with their defaults) to `Context`'s fields.
    pub(crate) fn add_context_extensions(
        &mut self,
        t: TypeId,
        fields: &mut Vec<(String, TypeId)>,
        defaults: &mut Vec<Option<Expr>>,
    ) -> R<()> {
        let mut decls = self.context_extends.clone();
        decls.sort_by_key(|(f, item)| {
            let name = match &item.kind {
                ItemKind::ContextExtend { name, .. } => name.name.clone(),
                _ => String::new(),
            };
            (self.sources.file(self.files[*f].file_id).path.clone(), name)
        });
        for (file, item) in decls {
            let ItemKind::ContextExtend { name, ty, default } = &item.kind else { continue };
            if fields.iter().any(|(f, _)| *f == name.name) {
                return self.err(name.span, format!("context field '{}' is already a field of the standard Context", name.name));
            }
            let empty: Rc<HashMap<String, ConstVal>> = Rc::default();
            let fty = self.eval_type_in(file, None, &empty, ty)?;
            let Some(default) = default else {
                return self
                    .err(item.span, format!("context field '{}' needs a default value: `#context_extend name: T = value;`", name.name));
            };
            self.ct.pure_thunk_message = Some(format!("global '{}' must be initialized by a compile-time constant", name.name));
            let value = self.eval_const_in(file, None, &empty, default, Some(fty));
            self.ct.pure_thunk_message = None;
            let value = value?;
            fields.push((name.name.clone(), fty));
            let expr = match literal_expr(&value, default.span) {
                Some(e) => e,
                None => {
                    // Any other constant (a protocol borrowing a global, an aggregate) is
                    // reached through a hidden constant of the Context's scope.
                    let hidden = format!("\u{0}context_default.{}", name.name);
                    if let Some(meta) = self.structs.get_mut(&t) {
                        let mut consts = (*meta.local_consts).clone();
                        consts.insert(hidden.clone(), value.clone());
                        meta.local_consts = Rc::new(consts);
                    }
                    Expr::new(ExprKind::Ident(Ident { name: hidden, span: default.span, raw: true }), default.span)
                }
            };
            defaults.push(Some(expr));
        }
        Ok(())
    }
}

/// A literal expression for a folded default (so it reads the same from std's scope); `None`
/// when the value has no literal spelling.
fn literal_expr(v: &ConstVal, span: Span) -> Option<Expr> {
    let lit = |k: ExprKind| Expr::new(k, span);
    let neg = |e: Expr| Expr::new(ExprKind::Unary { op: UnOp::Neg, expr: Box::new(e) }, span);
    Some(match v {
        ConstVal::Int { v, .. } if *v >= 0 => lit(ExprKind::Int(*v as u128)),
        ConstVal::Int { v, .. } => neg(lit(ExprKind::Int(v.unsigned_abs()))),
        ConstVal::Float { v, .. } if *v >= 0.0 => lit(ExprKind::Float(*v)),
        ConstVal::Float { v, .. } => neg(lit(ExprKind::Float(-*v))),
        ConstVal::Bool(b) => lit(ExprKind::Bool(*b)),
        ConstVal::Null => lit(ExprKind::Null),
        ConstVal::Str(s) => lit(ExprKind::Str(s.clone())),
        _ => return None,
    })
}

impl FnCx<'_> {
    /// `context.f = v` (or a write into an inline part of `context.f`) is an error: the context
    /// changes only through `push`. Writing through a pointer held in a context field is fine.
    pub(crate) fn reject_context_field_write(&mut self, lhs: &Expr) -> R<()> {
        let mut chain = vec![];
        let mut e = lhs;
        loop {
            match &e.kind {
                ExprKind::Field { base, name } => {
                    chain.push(Some(name));
                    e = base;
                }
                ExprKind::Index { base, .. } => {
                    chain.push(None);
                    e = base;
                }
                _ => break,
            }
        }
        let ExprKind::Ident(root) = &e.kind else { return Ok(()) };
        let Some(Some(field)) = chain.last().copied() else { return Ok(()) };
        if root.name != "context" || root.raw {
            return Ok(());
        }
        let Some(Local::Const(ConstVal::Global(_, cty))) = self.resolve(root)? else { return Ok(()) };
        let Some((_, fty)) = self.field_of(cty, &field.name) else { return Ok(()) };
        let through_pointer = chain.len() > 1 && self.c.types.is_pointer_like(fty);
        if through_pointer {
            return Ok(());
        }
        let msg = format!(
            "cannot assign to context field '{}': the context changes only through `push .{{ {} = ... }}` (writing through a pointer field's pointee is allowed)",
            field.name, field.name
        );
        self.err(lhs.span, msg)
    }
}
