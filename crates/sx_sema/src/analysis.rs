//! Editor analysis (used by `sx lsp`): compiles a file whose text, and its imports' texts, may
//! come from unsaved buffers, with compile-time output captured, and reports the diagnostics,
//! the compile-time values of the root file's constants and the top-level names it sees.

use crate::*;

/// Inputs of an editor analysis beyond [`Options`].
#[derive(Default)]
pub struct Session {
    /// Unsaved buffers: path → text, read instead of the file on disk (paths are
    /// canonicalised when the file exists).
    pub overlay: HashMap<PathBuf, String>,
    /// Where compile-time writes to stdout and stderr go.
    pub capture: sx_vm::CaptureHost,
    /// A root file without `main` is a library: its declarations are checked, and no
    /// "no 'main' function found" is reported.
    pub library: bool,
}

/// A compile-time value shown to an editor.
#[derive(Clone, Debug, PartialEq)]
pub enum ShownValue {
    /// An integer constant.
    Int(i128),
    /// A float constant.
    Float(f64),
    /// A boolean constant.
    Bool(bool),
    /// A string constant (lossy UTF-8).
    Str(String),
    /// A type with its layout at the target.
    Type { name: String, size: u64, align: u64 },
}

/// A top-level name visible in the root file.
#[derive(Clone, Debug)]
pub struct DeclSite {
    /// The declared name.
    pub name: String,
    /// The declaring file (canonical path when it exists on disk).
    pub path: PathBuf,
    /// The span of the name in its file.
    pub span: Span,
    /// Its compile-time value, for the root file's constants that have one.
    pub value: Option<ShownValue>,
}

/// What an editor analysis found.
pub struct Analysis {
    /// Every loaded file's text (spans of diagnostics and sites point here).
    pub sources: SourceMap,
    /// The diagnostics `sx check` would report.
    pub diags: Vec<Diagnostic>,
    /// Top-level names of the root file, then those of its flat imports.
    pub decls: Vec<DeclSite>,
    /// The root file's id in `sources`, when it was loaded.
    pub root: Option<FileId>,
}

/// Analyses the program rooted at `path` with `session`'s unsaved buffers; compile-time
/// writes go to `session.capture`.
pub fn analyze(path: &Path, opts: &Options, session: Session) -> Analysis {
    let mut c = Compiler::with_host(opts, Box::new(session.capture));
    c.overlay = session.overlay.into_iter().map(|(p, text)| (std::fs::canonicalize(&p).unwrap_or(p), text)).collect();
    c.library_root = session.library;
    let (root, _) = c.compile_path(path);
    let diags = std::mem::take(&mut c.diags);
    let mut decls = vec![];
    if let Some(root) = root {
        let mut files = vec![root];
        files.extend(c.files[root].flat_imports.iter().copied());
        let paths: HashMap<FileIdx, PathBuf> = c.file_by_path.iter().map(|(p, &f)| (f, p.clone())).collect();
        let ids: Vec<DeclId> = c.decls.keys().collect();
        for file in files {
            for &id in &ids {
                if c.decls[id].file != file {
                    continue;
                }
                let value = if file == root { c.shown_value(id) } else { None };
                let d = &c.decls[id];
                decls.push(DeclSite { name: d.name.clone(), path: paths.get(&file).cloned().unwrap_or_default(), span: d.span, value });
            }
        }
    }
    let root = root.map(|r| c.files[r].file_id);
    Analysis { sources: c.sources, diags, decls, root }
}

impl Compiler {
    /// The compile-time value of constant `id` (evaluated now if nothing used it; what that
    /// evaluation reports is dropped), when it is a scalar, a string or a type.
    fn shown_value(&mut self, id: DeclId) -> Option<ShownValue> {
        let DeclKind::Item(item) = &self.decls[id].kind else { return None };
        let ItemKind::Const { value, .. } = &item.kind else { return None };
        if matches!(value.kind, ExprKind::Fn(_)) {
            return None;
        }
        let before = self.diags.len();
        let val = self.eval_decl(id);
        self.diags.truncate(before);
        match val.ok()? {
            ConstVal::Int { v, .. } => Some(ShownValue::Int(v)),
            ConstVal::Float { v, .. } => Some(ShownValue::Float(v)),
            ConstVal::Bool(b) => Some(ShownValue::Bool(b)),
            ConstVal::Str(s) => Some(ShownValue::Str(String::from_utf8_lossy(&s).into_owned())),
            ConstVal::Type(t) => {
                Some(ShownValue::Type { name: self.types.name(t), size: self.types.size_of(t), align: self.types.align_of(t) })
            }
            ConstVal::Null
            | ConstVal::Func(_)
            | ConstVal::Namespace(_)
            | ConstVal::Global(..)
            | ConstVal::Data(..)
            | ConstVal::Intrinsic(_)
            | ConstVal::EnclosingLocal
            | ConstVal::GenericStruct(_)
            | ConstVal::Pack(_) => None,
        }
    }
}
