//! Source loading and `#import` resolution: builds the per-file scopes of a compilation.

use crate::*;
use std::path::{Path, PathBuf};

/// Where imports are searched, in order: the importing file's directory, the working
/// directory, then each stdlib directory.
#[derive(Clone, Debug, Default)]
pub struct ImportPaths {
    pub cwd: PathBuf,
    pub stdlib: Vec<PathBuf>,
}

impl Compiler {
    /// Loads `path` (once) and everything it imports; returns its file index.
    pub(crate) fn load_file(&mut self, path: &Path, shown: String, span: Option<Span>) -> Option<FileIdx> {
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(&idx) = self.file_by_path.get(&canon) {
            return Some(idx);
        }
        let on_disk = match self.overlay.get(&canon) {
            Some(text) => Ok(text.clone().into_bytes()),
            None => std::fs::read(path),
        };
        let text = match on_disk {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let msg = format!("cannot read '{}': {}", shown, e);
                self.diags.push(match span {
                    Some(s) => Diagnostic::error(s, msg),
                    None => Diagnostic::bare(msg),
                });
                return None;
            }
        };
        self.add_source_file(canon, shown, text)
    }

    /// Adds a source text that is not read from disk (e.g. the compiler's runtime) as a
    /// loaded file under `name`, once.
    pub(crate) fn load_text(&mut self, name: &str, text: String) -> Option<FileIdx> {
        let key = PathBuf::from(name);
        if let Some(&idx) = self.file_by_path.get(&key) {
            return Some(idx);
        }
        self.add_source_file(key, name.to_string(), text)
    }

    /// Parses a file's text and registers its declarations; `canon` is its key in
    /// `file_by_path`.
    fn add_source_file(&mut self, canon: PathBuf, shown: String, text: String) -> Option<FileIdx> {
        let fid = self.sources.add(shown, text);
        let text = &self.sources.file(fid).text;
        let (ast, errs) = crate::phase_times::timed(&mut self.ct.times.parse, || sx_syntax::parse_file(fid, text));
        crate::syntax_facts::intern_tags_in(&mut self.types, &self.sources.file(fid).text);
        let had_errors = !errs.is_empty();
        self.diags.extend(errs);
        let idx = self.files.next_key();
        self.file_by_path.insert(canon.clone(), idx);
        self.files.push(FileInfo {
            dir: canon.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
            file_id: fid,
            names: HashMap::new(),
            flat_imports: vec![],
            runs: vec![],
        });
        // An editor analysis goes on with the recovered tree.
        if had_errors && self.index.is_none() {
            return Some(idx);
        }
        let items: Vec<Rc<Item>> = ast.items.into_iter().map(Rc::new).collect();
        self.register_items(idx, &items);
        Some(idx)
    }

    pub(crate) fn register_items(&mut self, idx: FileIdx, items: &[Rc<Item>]) {
        for item in items {
            match &item.kind {
                ItemKind::Const { name, value, .. } => {
                    self.record_library(value);
                    self.add_decl(idx, name.name.clone(), DeclKind::Item(item.clone()), item.private, name.span);
                }
                ItemKind::Var { names, .. } => {
                    for (i, n) in names.iter().enumerate() {
                        self.add_decl(idx, n.name.clone(), DeclKind::Global(item.clone(), i), item.private, n.span);
                    }
                }
                ItemKind::Import { alias, path, path_span } => {
                    let Some(target) = self.resolve_import(idx, path, *path_span) else { continue };
                    match alias {
                        Some(a) => {
                            self.add_decl(idx, a.name.clone(), DeclKind::Namespace(target), item.private, a.span);
                        }
                        None if item.private => {
                            self.diags.push(Diagnostic::error(item.span, "'private' is not allowed on a flat '#import'; only a named import ('name :: #import \"…\"') can be private"));
                        }
                        None => {
                            if target != idx && !self.files[idx].flat_imports.contains(&target) {
                                self.files[idx].flat_imports.push(target);
                            }
                        }
                    }
                }
                ItemKind::Run(e) => self.files[idx].runs.push(e.clone()),
                ItemKind::InlineIf { cond, then, else_ } => match self.module_condition(cond) {
                    Ok(taken) => {
                        let arm: Vec<Rc<Item>> = if taken { then } else { else_ }.iter().cloned().map(Rc::new).collect();
                        self.register_items(idx, &arm);
                    }
                    Err((span, msg)) => self.diags.push(Diagnostic::error(span, msg)),
                },
                ItemKind::InlineMatch { subject, arms, else_ } => match self.module_match(subject, arms) {
                    Ok(chosen) => {
                        let items = match chosen {
                            Some(i) => Some(&arms[i].items),
                            None => else_.as_ref(),
                        };
                        let arm: Vec<Rc<Item>> = items.into_iter().flatten().cloned().map(Rc::new).collect();
                        self.register_items(idx, &arm);
                    }
                    Err((span, msg)) => self.diags.push(Diagnostic::error(span, msg)),
                },
                ItemKind::Insert(_) => self.unsupported.push((item.span, "top-level `#insert`")),
                ItemKind::Impl(_) => self.protos.pending.push((idx, item.clone())),
                ItemKind::ContextExtend { .. } => self.register_context_extension(idx, item.clone()),
                ItemKind::ExternVar { name, .. } => {
                    self.add_decl(idx, name.name.clone(), DeclKind::Global(item.clone(), 0), item.private, name.span);
                }
                ItemKind::CImport { .. } => self.register_c_import(idx, item),
                ItemKind::Directive(Expr { kind: ExprKind::Asm(a), .. }) => self.register_global_asm(a, item.span),
                ItemKind::Directive(e) => {
                    // A module-level `#error("…")` that survived conditional compilation stops the build.
                    if let ExprKind::Directive(d) = &e.kind {
                        if d.name.name == "error" {
                            let msg = match d.args.as_deref() {
                                Some([a]) => match &a.value.kind {
                                    ExprKind::Str(s) => String::from_utf8_lossy(s).into_owned(),
                                    _ => "#error needs a string literal message".to_string(),
                                },
                                _ => "#error".to_string(),
                            };
                            self.diags.push(Diagnostic::error(item.span, msg));
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn add_decl(&mut self, file: FileIdx, name: String, kind: DeclKind, private: bool, span: Span) {
        let id = self.decls.next_key();
        self.decls.push(DeclInfo { file, name: name.clone(), kind, private, span, state: DeclState::Todo });
        self.files[file].names.entry(name).or_default().push(id);
    }

    /// Resolves an import path to a loaded file (a directory imports all its `.sx` files).
    fn resolve_import(&mut self, from: FileIdx, path: &str, span: Span) -> Option<FileIdx> {
        let mut bases = vec![self.files[from].dir.clone(), self.paths.cwd.clone()];
        bases.extend(self.paths.stdlib.iter().cloned());
        for base in bases {
            let p = base.join(path);
            let as_file = if p.extension().is_some() { p.clone() } else { p.with_extension("sx") };
            let is_dir = p.is_dir();
            let is_file = as_file.is_file();
            // `#import "x"` next to both `x.sx` and `x/`: when `x.sx` is the importing file itself,
            // the directory is meant.
            let is_self = is_file && std::fs::canonicalize(&as_file).ok().and_then(|c| self.file_by_path.get(&c).copied()) == Some(from);
            if is_dir && is_file && p != as_file && !is_self {
                self.diags.push(Diagnostic::error(span, format!("import path '{}' is ambiguous: both a file and a directory", path)));
                return None;
            }
            if is_dir && is_self {
                return self.load_dir(&p, span);
            }
            if is_file {
                let shown = self.display_path(&as_file);
                return self.load_file(&as_file, shown, Some(span));
            }
            if is_dir {
                return self.load_dir(&p, span);
            }
        }
        self.diags.push(Diagnostic::error(span, format!("cannot find import '{}'", path)));
        None
    }

    /// A directory import: a synthetic file whose flat imports are the directory's `.sx` files.
    fn load_dir(&mut self, dir: &Path, span: Span) -> Option<FileIdx> {
        let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(&idx) = self.file_by_path.get(&canon) {
            return Some(idx);
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().map(|x| x == "sx").unwrap_or(false)).collect())
            .unwrap_or_default();
        entries.sort();
        let shown = self.display_path(dir);
        let fid = self.sources.add(shown, String::new());
        let idx = self.files.next_key();
        self.file_by_path.insert(canon.clone(), idx);
        self.files.push(FileInfo { dir: canon, file_id: fid, names: HashMap::new(), flat_imports: vec![], runs: vec![] });
        for e in entries {
            let shown = self.display_path(&e);
            if let Some(f) = self.load_file(&e, shown, Some(span)) {
                // Re-export: a directory import makes its files' own names visible.
                let names: Vec<(String, Vec<DeclId>)> = self.files[f].names.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                for (k, v) in names {
                    self.files[idx].names.entry(k).or_default().extend(v);
                }
            }
        }
        Some(idx)
    }

    fn display_path(&self, p: &Path) -> String {
        match p.strip_prefix(&self.paths.cwd) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => p.to_string_lossy().into_owned(),
        }
    }
}
