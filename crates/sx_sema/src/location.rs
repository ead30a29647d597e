//! `#caller_location`: a `Source_Location { file, line, col, func }` built as read-only static
//! data. As a parameter default — directly or nested in the default's struct literal or call
//! arguments — it describes the call site (filled in by the call lowering, which knows the
//! call's span); anywhere else it describes the expression itself.

use crate::fncx::FnCx;
use crate::*;

impl FnCx<'_> {
    /// The `Source_Location` value of the source position `site`, in the function being
    /// lowered, typed as `expected` (a struct with any of the fields `file`/`func: string`,
    /// `line`/`col: integer`).
    pub(crate) fn caller_location(&mut self, site: Span, expected: Option<TypeId>, span: Span) -> R<TV> {
        let Some(ty) = expected.filter(|t| self.c.types.struct_of(*t).is_some()) else {
            return self.err(span, "#caller_location needs a 'Source_Location' destination (use it as a parameter default)");
        };
        let sf = self.c.sources.file(site.file);
        let (line, col) = sf.line_col(site.lo);
        let path = sf.path.clone();
        let func = self.errs.func_name.clone();
        let pb = self.c.module.pointer_bytes() as usize;
        let mut bytes = vec![0u8; self.c.types.size_of(ty) as usize];
        let mut relocs = vec![];
        let fields = self.c.types.struct_of(ty).map(|s| s.fields.clone()).unwrap_or_default();
        for f in &fields {
            let off = f.offset as usize;
            match f.name.as_str() {
                "file" | "func" if f.ty == bt::STRING => {
                    let text = if f.name == "file" { &path } else { &func };
                    let d = self.c.string_bytes_data(text.as_bytes());
                    relocs.push(sx_ir::Reloc { offset: off as u32, target: sx_ir::RelocTarget::Data(d), addend: 0 });
                    bytes[off + pb..off + 2 * pb].copy_from_slice(&(text.len() as u64).to_le_bytes()[..pb]);
                }
                "line" | "col" if self.c.types.is_int(f.ty) => {
                    let v = if f.name == "line" { line } else { col } as u64;
                    let n = self.c.types.size_of(f.ty) as usize;
                    bytes[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
                }
                _ => {
                    let msg = format!("#caller_location cannot fill field '{}' of '{}'", f.name, self.tname(ty));
                    return self.err(span, msg);
                }
            }
        }
        let align = self.c.types.align_of(ty) as u32;
        let name = format!("caller_location.{}", self.c.fresh());
        let d = self.c.module.add_data(sx_ir::Data { name, bytes, align, relocs, writable: false });
        Ok(TV::konst(ConstVal::Data(d, ty)))
    }

    /// A parameter default whose struct-literal fields, array elements or call arguments
    /// contain `#caller_location`, with each of those replaced by a constant describing the
    /// call at `site` (`None` when there is none).
    pub(crate) fn default_at_call_site(&mut self, d: &Expr, site: Span) -> R<Option<Expr>> {
        if !has_nested_caller_location(d) {
            return Ok(None);
        }
        let Some(loc_ty) = self.c.source_location_type(d.span)? else { return Ok(None) };
        let v = self.caller_location(site, Some(loc_ty), d.span)?;
        let Some(c) = v.as_const().cloned() else { return Ok(None) };
        let name = format!("\u{0}caller_location{}", self.c.fresh());
        self.bind(&name, Local::Const(c));
        Ok(Some(replace_caller_location(d, &name)))
    }
}

fn has_nested_caller_location(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::CallerLocation => true,
        ExprKind::StructLit { fields, .. } => fields.iter().any(|f| has_nested_caller_location(&f.value)),
        ExprKind::ArrayLit { elems, .. } => elems.iter().any(has_nested_caller_location),
        ExprKind::Call { args, .. } => args.iter().any(|a| has_nested_caller_location(&a.value)),
        _ => false,
    }
}

fn replace_caller_location(e: &Expr, name: &str) -> Expr {
    let mut out = e.clone();
    match &mut out.kind {
        ExprKind::CallerLocation => out.kind = ExprKind::Ident(Ident { name: name.to_string(), span: e.span, raw: true }),
        ExprKind::StructLit { fields, .. } => fields.iter_mut().for_each(|f| f.value = replace_caller_location(&f.value, name)),
        ExprKind::ArrayLit { elems, .. } => elems.iter_mut().for_each(|x| *x = replace_caller_location(x, name)),
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| a.value = replace_caller_location(&a.value, name)),
        _ => {}
    }
    out
}

impl Compiler {
    /// The library's `Source_Location` struct: declared by the first loaded standard-library
    /// file that declares one (`None` when no loaded file does).
    pub(crate) fn source_location_type(&mut self, span: Span) -> R<Option<TypeId>> {
        self.library_type("Source_Location", span, |c, t| c.types.struct_of(t).is_some())
    }

    /// The type `name` that the first loaded standard-library file declaring one (for which
    /// `fits` holds) declares: how the compiler finds the library's contract types.
    pub(crate) fn library_type(&mut self, name: &str, span: Span, fits: impl Fn(&Compiler, TypeId) -> bool) -> R<Option<TypeId>> {
        let files: Vec<FileIdx> = self.files.iter().filter(|(_, f)| f.names.contains_key(name)).map(|(i, _)| i).collect();
        for file in files {
            if !self.in_stdlib(file) {
                continue;
            }
            if let Some(ConstVal::Type(t)) = self.lookup_own(file, name, span)? {
                if fits(self, t) {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }
}
