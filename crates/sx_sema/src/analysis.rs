//! Editor analysis (used by `sx lsp`): compiles a file whose text, and its imports' texts, may
//! come from unsaved buffers, with compile-time output captured, and reports the diagnostics,
//! the compile-time values of the root file's constants, the top-level names it sees, and the
//! facts lowering recorded ([`Facts`]: expression types, resolved names, declared locals).

use crate::*;
pub use sx_types::TypeId;
use sx_types::TypeKind as TK;

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

/// What a top-level declaration declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// A function.
    Function,
    /// A struct, union, enum, protocol or other type-valued constant written as a type.
    Type,
    /// Any other constant.
    Constant,
    /// A global variable.
    Global,
    /// `name :: #import "…"`.
    Namespace,
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
    /// What it declares.
    pub kind: SiteKind,
    /// For a namespace, the file it binds.
    pub namespace: Option<FileId>,
    /// Declared `private`.
    pub private: bool,
}

/// One loaded file's scope.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// The file's path (canonical when it exists on disk).
    pub path: PathBuf,
    /// Its id in [`Analysis::sources`].
    pub file: FileId,
    /// Its own top-level declarations, in source order.
    pub decls: Vec<DeclSite>,
    /// The files it imports flat.
    pub flat_imports: Vec<FileId>,
    /// Under a standard-library directory.
    pub stdlib: bool,
}

/// The shape of a type, as far as an editor needs it.
#[derive(Clone, Debug)]
pub enum TypeShape {
    /// A struct or union: its fields with their types, its member constants and methods, and
    /// the span it was declared at.
    Struct { fields: Vec<(String, TypeId)>, members: Vec<String>, span: Option<Span> },
    /// An enum and its variant names.
    Enum { variants: Vec<String> },
    /// `*T`.
    Pointer(TypeId),
    /// A function or closure: parameter and result types.
    Func { params: Vec<TypeId>, ret: TypeId },
    /// Anything else.
    Other,
}

/// A type the facts mention.
#[derive(Clone, Debug)]
pub struct TypeFacts {
    /// The name as sx spells it.
    pub name: String,
    /// Its shape.
    pub shape: TypeShape,
}

/// What lowering recorded about the analysed program (spans point into
/// [`Analysis::sources`]).
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The type of each lowered expression or place.
    pub expr_types: HashMap<Span, TypeId>,
    /// The type each compile-time type expression denotes.
    pub type_values: HashMap<Span, TypeId>,
    /// The type of each declared local variable, by the span of its name.
    pub local_types: HashMap<Span, TypeId>,
    /// For each resolved use of a top-level name, the span of the declared name.
    pub uses: HashMap<Span, Span>,
    /// Every type mentioned above (and the types they reach through fields, pointers and
    /// signatures).
    pub types: HashMap<TypeId, TypeFacts>,
    /// Every loaded file's scope, in load order (the root first).
    pub files: Vec<FileFacts>,
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
    /// What lowering recorded.
    pub facts: Facts,
}

/// Analyses the program rooted at `path` with `session`'s unsaved buffers; compile-time
/// writes go to `session.capture`.
pub fn analyze(path: &Path, opts: &Options, session: Session) -> Analysis {
    let mut c = Compiler::with_host(opts, Box::new(session.capture));
    c.overlay = session.overlay.into_iter().map(|(p, text)| (std::fs::canonicalize(&p).unwrap_or(p), text)).collect();
    c.library_root = session.library;
    c.index = Some(Box::default());
    let (root, _) = c.compile_path(path);
    let diags = std::mem::take(&mut c.diags);
    let mut decls = vec![];
    if let Some(root) = root {
        let mut files = vec![root];
        files.extend(c.files[root].flat_imports.iter().copied());
        let ids: Vec<DeclId> = c.decls.keys().collect();
        for file in files {
            for &id in &ids {
                if c.decls[id].file != file {
                    continue;
                }
                let value = if file == root { c.shown_value(id) } else { None };
                decls.push(c.decl_site(id, value));
            }
        }
    }
    let facts = c.facts();
    let root = root.map(|r| c.files[r].file_id);
    Analysis { sources: c.sources, diags, decls, root, facts }
}

/// What the constant item `item` declares, judged from its syntax.
fn item_site_kind(item: &Item) -> SiteKind {
    let ItemKind::Const { value, .. } = &item.kind else { return SiteKind::Constant };
    if let ExprKind::Fn(f) = &value.kind {
        if f.body.is_some() || f.attrs.is_extern || f.attrs.intrinsic {
            return SiteKind::Function;
        }
    }
    let is_type =
        matches!(value.kind, ExprKind::Struct(_) | ExprKind::Union(_) | ExprKind::Enum(_) | ExprKind::Protocol(_) | ExprKind::ErrorSet(_));
    if is_type {
        SiteKind::Type
    } else {
        SiteKind::Constant
    }
}

impl Compiler {
    /// The site of declaration `id` with its compile-time `value`.
    fn decl_site(&self, id: DeclId, value: Option<ShownValue>) -> DeclSite {
        let d = &self.decls[id];
        let path = self.file_by_path.iter().find(|(_, &f)| f == d.file).map(|(p, _)| p.clone()).unwrap_or_default();
        let (kind, namespace) = match &d.kind {
            DeclKind::Namespace(f) => (SiteKind::Namespace, Some(self.files[*f].file_id)),
            DeclKind::Global(..) => (SiteKind::Global, None),
            DeclKind::Item(item) => (item_site_kind(item), None),
        };
        DeclSite { name: d.name.clone(), path, span: d.span, value, kind, namespace, private: d.private }
    }

    /// The recorded facts in editor terms: declarations resolved to their sites, every type
    /// mentioned described, every loaded file's scope.
    fn facts(&mut self) -> Facts {
        let ix = self.index.take().map(|b| *b).unwrap_or_default();
        let uses = ix.uses.iter().map(|(&span, &id)| (span, self.decls[id].span)).collect();
        let mut types = HashMap::new();
        let mut work: Vec<TypeId> = ix.expr_types.values().chain(ix.type_values.values()).chain(ix.local_types.values()).copied().collect();
        while let Some(t) = work.pop() {
            if types.contains_key(&t) {
                continue;
            }
            let facts = self.type_facts(t);
            match &facts.shape {
                TypeShape::Struct { fields, .. } => work.extend(fields.iter().map(|f| f.1)),
                TypeShape::Pointer(p) => work.push(*p),
                TypeShape::Func { params, ret } => {
                    work.extend(params.iter().copied());
                    work.push(*ret);
                }
                TypeShape::Enum { .. } | TypeShape::Other => {}
            }
            types.insert(t, facts);
        }
        let mut files = vec![];
        for (idx, info) in self.files.iter() {
            let mut ids: Vec<DeclId> = info.names.values().flatten().copied().collect();
            ids.sort_by_key(|d| self.decls[*d].span.lo);
            let decls = ids.into_iter().map(|id| self.decl_site(id, None)).collect();
            let flat_imports = info.flat_imports.iter().map(|f| self.files[*f].file_id).collect();
            let path = self.file_by_path.iter().find(|(_, &f)| f == idx).map(|(p, _)| p.clone()).unwrap_or_default();
            files.push(FileFacts { path, file: info.file_id, decls, flat_imports, stdlib: self.in_stdlib(idx) });
        }
        Facts { expr_types: ix.expr_types, type_values: ix.type_values, local_types: ix.local_types, uses, types, files }
    }

    /// What an editor needs to know of type `t`.
    fn type_facts(&self, t: TypeId) -> TypeFacts {
        let shape = match self.types.kind(t) {
            TK::Struct(_) => {
                let s = self.types.struct_of(t);
                let fields = s.map(|s| s.fields.iter().map(|f| (f.name.clone(), f.ty)).collect()).unwrap_or_default();
                let mut members: Vec<String> = self.structs.get(&t).map(|m| m.consts.keys().cloned().collect()).unwrap_or_default();
                members.sort();
                TypeShape::Struct { fields, members, span: s.and_then(|s| s.span) }
            }
            TK::Enum(_) => TypeShape::Enum {
                variants: self.types.enum_of(t).map(|e| e.variants.iter().map(|v| v.name.clone()).collect()).unwrap_or_default(),
            },
            TK::Pointer(p) => TypeShape::Pointer(*p),
            TK::Func { params, ret } | TK::Closure { params, ret } => TypeShape::Func { params: params.clone(), ret: *ret },
            TK::Void
            | TK::Bool
            | TK::Int { .. }
            | TK::Float { .. }
            | TK::String
            | TK::Cstring
            | TK::ManyPointer(_)
            | TK::Slice(_)
            | TK::Array(..)
            | TK::Vector(..)
            | TK::Optional(_)
            | TK::TypeType
            | TK::NoReturn
            | TK::ErrorSet(_)
            | TK::Failable { .. }
            | TK::Any => TypeShape::Other,
        };
        TypeFacts { name: self.types.name(t), shape }
    }

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
