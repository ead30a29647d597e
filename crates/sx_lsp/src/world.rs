//! What one analysis knows, and name resolution over it: the compiler's recorded facts
//! (expression types, resolved top-level names, declared locals' types, every loaded file's
//! scope) joined with the syntax index of each file (lexical locals, members, declarations).
//!
//! A definition is identified by the span of its name; resolving a written name gives that
//! span, wherever it is (a local, a parameter, a top-level declaration of any loaded file, a
//! struct field or member constant, an enum variant).

use crate::syntax_index::{Binding, DeclBody, Occurrence, Role, SyntaxIndex};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use sx_diag::{FileId, Span};
use sx_sema::analysis::{DeclSite, Facts, FileFacts, ShownValue, SiteKind, TypeId, TypeShape};

/// A loaded file's text.
#[derive(Clone, Debug)]
pub struct FileText {
    /// Its path.
    pub path: PathBuf,
    /// Its text as analysed.
    pub text: String,
}

/// One analysis, ready for queries.
#[derive(Debug)]
pub struct World {
    /// The analysed document's file.
    pub root: FileId,
    /// The document's real text (the analysed text may have repaired lines blanked).
    pub doc: String,
    /// What the compiler recorded.
    pub facts: Facts,
    /// Every loaded file's text.
    pub files: HashMap<FileId, FileText>,
    /// The compile-time values of the document's constants, by the span of their names.
    pub values: HashMap<Span, ShownValue>,
    /// Syntax indices parsed so far.
    parsed: Mutex<HashMap<FileId, Arc<SyntaxIndex>>>,
}

/// What the expression before a `.` is.
#[derive(Clone, Copy, Debug)]
pub enum Base {
    /// A value of this type.
    Value(TypeId),
    /// This type itself.
    Type(TypeId),
    /// A namespace (`ns :: #import`) binding this file.
    Namespace(FileId),
}

impl World {
    /// A world over `facts` and the loaded files' texts.
    pub fn new(root: FileId, doc: String, facts: Facts, files: HashMap<FileId, FileText>, values: HashMap<Span, ShownValue>) -> World {
        World { root, doc, facts, files, values, parsed: Mutex::new(HashMap::new()) }
    }

    /// The text of file `f` ("" when unknown).
    pub fn text(&self, f: FileId) -> &str {
        self.files.get(&f).map_or("", |t| t.text.as_str())
    }

    /// The syntax index of file `f` (parsed on first use).
    pub fn index(&self, f: FileId) -> Arc<SyntaxIndex> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        parsed.entry(f).or_insert_with(|| Arc::new(SyntaxIndex::new(f, self.text(f)))).clone()
    }

    /// The scope facts of file `f`.
    pub fn file_facts(&self, f: FileId) -> Option<&FileFacts> {
        self.facts.files.iter().find(|x| x.file == f)
    }

    /// The files whose names references are searched in: the document and every loaded file
    /// outside the standard library.
    pub fn user_files(&self) -> Vec<FileId> {
        let mut v = vec![self.root];
        v.extend(self.facts.files.iter().filter(|f| !f.stdlib && f.file != self.root).map(|f| f.file));
        v
    }

    /// The top-level declaration whose name is at `span`.
    pub fn site(&self, span: Span) -> Option<&DeclSite> {
        self.file_facts(span.file)?.decls.iter().find(|d| d.span == span)
    }

    /// The top-level declaration `name` as file `f` sees it: its own, then its flat imports'.
    pub fn lookup_top(&self, f: FileId, name: &str) -> Option<&DeclSite> {
        let ff = self.file_facts(f)?;
        if let Some(d) = ff.decls.iter().find(|d| d.name == name) {
            return Some(d);
        }
        ff.flat_imports.iter().filter_map(|i| self.file_facts(*i)).flat_map(|i| i.decls.iter()).find(|d| d.name == name && !d.private)
    }

    /// The public declaration `name` of the namespace file `f`.
    pub fn lookup_in(&self, f: FileId, name: &str) -> Option<&DeclSite> {
        self.file_facts(f)?.decls.iter().find(|d| d.name == name && !d.private)
    }

    /// The definition the written name `occ` of file `f` refers to.
    pub fn resolve(&self, f: FileId, ix: &SyntaxIndex, occ: &Occurrence) -> Option<Span> {
        match occ.role {
            Role::Binding(i) | Role::Name { binding: Some(i) } => ix.bindings.get(i).map(|b| b.span),
            Role::Definition => Some(occ.span),
            Role::Name { binding: None } => {
                self.facts.uses.get(&occ.span).copied().or_else(|| self.lookup_top(f, &occ.name).map(|d| d.span))
            }
            Role::Member { base } => {
                if let Some(s) = self.facts.uses.get(&occ.span) {
                    return Some(*s);
                }
                match self.base_at(f, ix, base)? {
                    Base::Namespace(ns) => self.lookup_in(ns, &occ.name).map(|d| d.span),
                    Base::Type(t) | Base::Value(t) => self.member_def(t, &occ.name),
                }
            }
            Role::Variant { expr } => {
                let t = *self.facts.expr_types.get(&expr)?;
                self.member_def(t, &occ.name)
            }
        }
    }

    /// What the expression at `base` (the left of a `.`) of file `f` is.
    pub fn base_at(&self, f: FileId, ix: &SyntaxIndex, base: Span) -> Option<Base> {
        if let Some(t) = self.facts.type_values.get(&base) {
            return Some(Base::Type(*t));
        }
        if let Some(t) = self.facts.expr_types.get(&base) {
            return Some(Base::Value(*t));
        }
        // A name the compiler did not lower: a namespace, or what it resolves to.
        let occ = ix.occurrences.iter().find(|o| o.span == base)?;
        let def = self.resolve(f, ix, occ)?;
        self.base_of_def(def)
    }

    /// What the definition at `def` is, used before a `.`.
    pub fn base_of_def(&self, def: Span) -> Option<Base> {
        if let Some(site) = self.site(def) {
            if let Some(ns) = site.namespace {
                return Some(Base::Namespace(ns));
            }
            if site.kind == SiteKind::Type {
                return self.type_named(site).map(Base::Type);
            }
            return self.use_type(def);
        }
        let ix = self.index(def.file);
        let b = ix.bindings.iter().position(|b| b.span == def)?;
        self.binding_type(&ix, b).map(Base::Value)
    }

    /// The type of a value named by some recorded use of the definition at `def`.
    fn use_type(&self, def: Span) -> Option<Base> {
        let used = self.facts.uses.iter().filter(|(_, d)| **d == def).map(|(u, _)| *u);
        for u in used {
            if let Some(t) = self.facts.type_values.get(&u) {
                return Some(Base::Type(*t));
            }
            if let Some(t) = self.facts.expr_types.get(&u) {
                return Some(Base::Value(*t));
            }
        }
        None
    }

    /// The type the top-level type declaration `site` declares.
    pub fn type_named(&self, site: &DeclSite) -> Option<TypeId> {
        let by_span = self.facts.types.iter().find(|(_, t)| matches!(&t.shape, TypeShape::Struct { span: Some(s), .. } if *s == site.span));
        if let Some((t, _)) = by_span {
            return Some(*t);
        }
        if let Some(Base::Type(t)) = self.use_type(site.span) {
            return Some(t);
        }
        self.facts.types.iter().find(|(_, t)| t.name == site.name && matches!(t.shape, TypeShape::Enum { .. })).map(|(t, _)| *t)
    }

    /// The type of binding `b` of file `f`: recorded at its declaration or at a use, else none.
    pub fn binding_type(&self, ix: &SyntaxIndex, b: usize) -> Option<TypeId> {
        let binding = ix.bindings.get(b)?;
        if let Some(t) = self.facts.local_types.get(&binding.span) {
            return Some(*t);
        }
        let uses = ix.occurrences.iter().filter(|o| o.role == Role::Name { binding: Some(b) });
        for o in uses {
            if let Some(t) = self.facts.expr_types.get(&o.span) {
                return Some(*t);
            }
        }
        binding.annotation.and_then(|a| self.facts.type_values.get(&a).copied())
    }

    /// The type name of binding `b`: its recorded type, else its written annotation.
    pub fn binding_type_name(&self, f: FileId, ix: &SyntaxIndex, b: &Binding) -> Option<String> {
        let i = ix.bindings.iter().position(|x| x.span == b.span)?;
        if let Some(t) = self.binding_type(ix, i) {
            return Some(self.type_name(t));
        }
        b.annotation.map(|a| self.text(f).get(a.lo as usize..a.hi as usize).unwrap_or("").to_string())
    }

    /// `t` without pointers (`p.x` reads through them).
    pub fn deref(&self, mut t: TypeId) -> TypeId {
        for _ in 0..8 {
            match self.facts.types.get(&t).map(|f| &f.shape) {
                Some(TypeShape::Pointer(p)) => t = *p,
                Some(TypeShape::Struct { .. } | TypeShape::Enum { .. } | TypeShape::Func { .. } | TypeShape::Other) | None => break,
            }
        }
        t
    }

    /// The name of type `t` as sx spells it.
    pub fn type_name(&self, t: TypeId) -> String {
        self.facts.types.get(&t).map_or_else(|| "?".to_string(), |f| f.name.clone())
    }

    /// The type of field `name` of a value of type `t` (through pointers).
    pub fn field_type(&self, t: TypeId, name: &str) -> Option<TypeId> {
        match &self.facts.types.get(&self.deref(t))?.shape {
            TypeShape::Struct { fields, .. } => fields.iter().find(|f| f.0 == name).map(|f| f.1),
            TypeShape::Enum { .. } | TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other => None,
        }
    }

    /// Where member `name` (field, member constant, method or variant) of type `t` is declared.
    pub fn member_def(&self, t: TypeId, name: &str) -> Option<Span> {
        let body = self.type_decl(self.deref(t))?;
        body.members.iter().find(|m| m.0 == name).map(|m| m.1)
    }

    /// The declaration of struct or enum `t`.
    pub fn type_decl(&self, t: TypeId) -> Option<DeclBody> {
        let facts = self.facts.types.get(&t)?;
        let span = match &facts.shape {
            TypeShape::Struct { span, .. } => (*span)?,
            TypeShape::Enum { .. } => {
                let site =
                    self.facts.files.iter().flat_map(|f| f.decls.iter()).find(|d| d.name == facts.name && d.kind == SiteKind::Type)?;
                site.span
            }
            TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other => return None,
        };
        self.index(span.file).decl_at(span).cloned()
    }

    /// The source text of `span`.
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.file).get(span.lo as usize..span.hi as usize).unwrap_or("")
    }

    /// The path of file `f`.
    pub fn path(&self, f: FileId) -> PathBuf {
        self.files.get(&f).map(|t| t.path.clone()).unwrap_or_default()
    }
}
