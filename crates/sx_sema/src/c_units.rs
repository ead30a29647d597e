//! `#import c { #include "h"; #source "c"; #define "N=V"; #flags "…"; }` units.
//!
//! Registering a unit resolves its paths (the importing file's directory, the working
//! directory, the stdlib directories; a quoted header found in none of them, and every `<…>`
//! header, comes from the C compiler's include path), loads the sx translation of its headers
//! as a synthetic source file (`<c import of h>`: its names land in the importing file for an
//! anonymous unit, behind `name.` for a named one) and compiles its `#source` files
//! ([`c_build`]). When loading is done every unit's objects are checked for symbols two
//! sources define, linked into one shared object and loaded for compile-time calls; the driver
//! links the objects (`sx build`) or loads the shared object (`sx run`).

use crate::c_build::{CBuildError, CBuilder, CSourceJob};
use crate::*;
use std::path::{Path, PathBuf};

/// When this environment variable is set (to anything but `0`), every header translation prints
/// what it left out to stderr (`sx … --c-import-report` sets it).
pub const C_IMPORT_REPORT_ENV: &str = "SX_C_IMPORT_REPORT";

/// What the driver needs of the program's C units.
#[derive(Clone, Debug, Default)]
pub struct CLink {
    /// Every unit's compiled `#source` objects, in load order (linked by `sx build`).
    pub objects: Vec<PathBuf>,
    /// All of them linked into one shared object (loaded by `sx run` and `sx run --vm`).
    pub shared: Option<PathBuf>,
    /// C compiles this compilation ran (`cc -c`).
    pub compiles: u32,
    /// Objects reused from the cache.
    pub reused: u32,
    /// Shared-object links run (`cc -shared`).
    pub links: u32,
    /// The exported sx functions C in the units calls, by stub slot: in `shared` each is a stub
    /// jumping through its slot, which the driver (JIT) or the VM fills
    /// ([`sx_vm::library::set_export_target`]); `sx build` links the real functions instead.
    pub export_stubs: Vec<String>,
}

/// One registered unit.
pub(crate) struct CUnitInfo {
    /// The namespace file of the unit (its translated declarations; empty without headers).
    pub file: FileIdx,
    /// Its compiled sources: object, source as shown, the `#source` entry.
    pub objects: Vec<(PathBuf, String, Span)>,
}

/// The program's C units and the C build state.
#[derive(Default)]
pub(crate) struct CUnits {
    pub units: Vec<CUnitInfo>,
    builder: Option<CBuilder>,
    /// Set once the units' shared object was linked and loaded.
    pub link: Option<CLink>,
    /// The C shims of variadic calls by symbol name ([`c_variadic`](crate::c_variadic)).
    shims: HashMap<String, sx_ir::ExternId>,
    /// Their objects and those of generated code ([`Compiler::generated_object`]), linked
    /// after the units' objects.
    shim_objects: Vec<PathBuf>,
    /// The global symbols generated objects define (an `extern` may name one).
    generated_symbols: std::collections::HashSet<String>,
    /// The object of the export stubs ([`CLink::export_stubs`]), linked into the shared
    /// object only.
    export_stub: Option<PathBuf>,
    /// Whether [`Compiler::bind_comptime_exports`] ran.
    comptime_exports_bound: bool,
    /// Their signatures for comptime FFI.
    pub shim_sigs: Vec<(String, sx_vm::ForeignSig)>,
    /// Where each extern data symbol was declared.
    extern_data_spans: HashMap<String, Span>,
    /// The synthetic file of each distinct translation: importing the same headers twice
    /// (with the same settings) gives the same declarations, so `struct_T` is one type.
    by_translation: HashMap<String, FileIdx>,
    /// The synthetic files of each file's anonymous units: their names are the file's own
    /// (seen by the file's importers and as its namespace members).
    anonymous: HashMap<FileIdx, Vec<FileIdx>>,
}

impl CUnits {
    /// The synthetic files of `file`'s anonymous `#import c` units.
    pub fn anonymous_units(&self, file: FileIdx) -> &[FileIdx] {
        self.anonymous.get(&file).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `file` is the namespace file of a unit.
    pub fn is_unit_file(&self, file: FileIdx) -> bool {
        self.units.iter().any(|u| u.file == file)
    }
}

/// Library handles every program has without a `#library` declaration.
const ALWAYS_LINKED_HANDLES: [&str; 2] = ["libc", "libm"];

/// The paths a unit's quoted file is looked for in, in order.
fn search_bases(c: &Compiler, from: FileIdx) -> Vec<PathBuf> {
    let mut bases = vec![c.files[from].dir.clone(), c.paths.cwd.clone()];
    bases.extend(c.paths.stdlib.iter().cloned());
    bases
}

impl Compiler {
    /// Registers a `#import c` item of file `idx`.
    pub(crate) fn register_c_import(&mut self, idx: FileIdx, item: &Item) {
        let ItemKind::CImport { alias, unit } = &item.kind else { return };
        let mut defines = vec![];
        let mut flags = vec![];
        let mut headers = vec![];
        let mut sources = vec![];
        let mut failed = false;
        for e in &unit.entries {
            match e.kind {
                CEntryKind::Define => defines.push(e.value.clone()),
                CEntryKind::Flags => flags.extend(e.value.split_whitespace().map(str::to_string)),
                CEntryKind::Include => headers.push(e),
                CEntryKind::Source => match self.find_c_file(idx, &e.value) {
                    Ok(p) => sources.push((p, e.span)),
                    Err(searched) => {
                        failed = true;
                        self.diags.push(Diagnostic::error(
                            e.span,
                            format!("cannot find C source '{}' (searched {})", e.value, searched.join(", ")),
                        ));
                    }
                },
            }
        }
        let text =
            if headers.is_empty() { Some(String::new()) } else { self.translate_headers(idx, &headers, &defines, &flags, unit.span) };
        let Some(text) = text else { return };
        let shown = if headers.is_empty() {
            format!("<c unit {}>", alias.as_ref().map(|a| a.name.as_str()).unwrap_or("(anonymous)"))
        } else {
            format!("<c import of {}>", headers.iter().map(|h| h.value.as_str()).collect::<Vec<_>>().join(", "))
        };
        let ns = match self.c.by_translation.get(&text) {
            Some(&f) => f,
            None => {
                let dir = self.files[idx].dir.clone();
                let f = self.load_synthetic(shown, text.clone(), dir);
                self.c.by_translation.insert(text, f);
                f
            }
        };
        match alias {
            Some(a) => self.add_unit_namespace(idx, a, ns, item.private),
            None => {
                if !self.files[idx].flat_imports.contains(&ns) {
                    self.files[idx].flat_imports.push(ns);
                }
                let own = self.c.anonymous.entry(idx).or_default();
                if !own.contains(&ns) {
                    own.push(ns);
                }
            }
        }
        let mut objects = vec![];
        if !failed {
            let include_dirs: Vec<PathBuf> = headers
                .iter()
                .filter_map(|h| self.find_c_file(idx, &h.value).ok())
                .filter_map(|p| p.parent().map(Path::to_path_buf))
                .collect();
            for (src, span) in sources {
                let job = CSourceJob { source: &src, defines: &defines, flags: &flags, include_dirs: &include_dirs };
                let shown = self.c_display_path(&src);
                match self.c.builder.get_or_insert_with(CBuilder::new).object(&job) {
                    Ok(obj) => objects.push((obj, shown, span)),
                    Err(CBuildError::Compile { output }) => {
                        self.diags.push(Diagnostic::error(span, format!("C compile of '{}' failed:\n{}", shown, output)));
                    }
                    Err(CBuildError::Tool(msg)) => self.diags.push(Diagnostic::error(span, msg)),
                }
            }
        }
        self.c.units.push(CUnitInfo { file: ns, objects });
    }

    /// `name :: #import c {…}`: a namespace over the unit's file.
    fn add_unit_namespace(&mut self, idx: FileIdx, alias: &Ident, ns: FileIdx, private: bool) {
        self.add_decl(idx, alias.name.clone(), DeclKind::Namespace(ns), private, alias.span);
    }

    /// Translates a unit's headers to sx source text ([`sx_cimport`]); `None` after reporting
    /// why not, at the unit (`span`) or at the one header a failure names.
    fn translate_headers(&mut self, idx: FileIdx, headers: &[&CEntry], defines: &[String], flags: &[String], span: Span) -> Option<String> {
        let mut refs = vec![];
        let mut include_dirs: Vec<PathBuf> = vec![];
        for h in headers {
            match (h.angled, self.find_c_file(idx, &h.value)) {
                (false, Ok(p)) => {
                    if let Some(d) = p.parent() {
                        if !include_dirs.iter().any(|x| x == d) {
                            include_dirs.push(d.to_path_buf());
                        }
                    }
                    refs.push(sx_cimport::HeaderRef::Path(p));
                }
                // Found in none of the unit's directories: the C compiler's include path decides.
                (true, _) | (false, Err(_)) => refs.push(sx_cimport::HeaderRef::System(h.value.clone())),
            }
        }
        let unit = sx_cimport::CUnit { headers: refs, defines: defines.to_vec(), flags: flags.to_vec(), include_dirs };
        let cc = std::env::var("CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".to_string());
        let opts = sx_cimport::Options {
            cc,
            cache_dir: Some(crate::c_build::cache_dir().join("headers")),
            target_pointer_width: self.types.target.pointer_bytes() * 8,
        };
        match sx_cimport::translate(&unit, &opts) {
            Ok(t) => {
                if std::env::var_os(C_IMPORT_REPORT_ENV).is_some_and(|v| v != "0") {
                    let names: Vec<&str> = headers.iter().map(|h| h.value.as_str()).collect();
                    eprint!("C import of {}: {}", names.join(", "), sx_cimport::report(&t));
                }
                // A declaration of the program's own header that cannot be read is an error
                // (system headers may hold extensions the translation leaves out).
                let mut failed = false;
                for h in headers.iter().filter(|h| !h.angled) {
                    let Ok(path) = self.find_c_file(idx, &h.value) else { continue };
                    let marker = format!("<C declaration at {}:", path.display());
                    if let Some(s) = t.skipped.iter().find(|s| s.name.starts_with(&marker)) {
                        let shown = self.c_display_path(&path);
                        let why = crate::c_build::syntax_check(&opts.cc, &path, &unit.defines, &unit.flags, &unit.include_dirs)
                            .unwrap_or_else(|| s.reason.clone());
                        self.diags.push(Diagnostic::error(h.span, format!("cannot read the C header '{}':\n{}", shown, why)));
                        failed = true;
                    }
                }
                (!failed).then_some(t.sx_source)
            }
            Err(e) => {
                // A missing header: point at its `#include` and name where it was looked for.
                let missing = headers.iter().find(|h| e.message.contains(&format!("{}: No such file", h.value)));
                let (at, searched) = match missing {
                    Some(h) if !h.angled => {
                        let bases: Vec<String> = search_bases(self, idx).iter().map(|b| format!("'{}'", self.c_display_path(b))).collect();
                        (h.span, format!("\n(searched for '{}' in {} and the C compiler's include path)", h.value, bases.join(", ")))
                    }
                    Some(h) => (h.span, String::new()),
                    None => (span, String::new()),
                };
                self.diags.push(Diagnostic::error(at, format!("cannot import the C headers:\n{}{}", e.message.trim_end(), searched)));
                None
            }
        }
    }

    /// A source file made by the compiler (a C unit's translation), loaded like an import.
    fn load_synthetic(&mut self, shown: String, text: String, dir: PathBuf) -> FileIdx {
        let fid = self.sources.add(shown, text);
        let text = &self.sources.file(fid).text;
        let (ast, errs) = sx_syntax::parse_file(fid, text);
        crate::syntax_facts::intern_tags_in(&mut self.types, &self.sources.file(fid).text);
        let had_errors = !errs.is_empty();
        self.diags.extend(errs);
        let idx = self.files.next_key();
        self.files.push(FileInfo { dir, file_id: fid, names: HashMap::new(), flat_imports: vec![], runs: vec![] });
        if !had_errors {
            let items: Vec<Rc<Item>> = ast.items.into_iter().map(Rc::new).collect();
            self.register_items(idx, &items);
        }
        idx
    }

    /// `path` of a unit in `from`, or the directories searched.
    fn find_c_file(&self, from: FileIdx, path: &str) -> Result<PathBuf, Vec<String>> {
        let p = Path::new(path);
        if p.is_absolute() {
            return if p.is_file() { Ok(p.to_path_buf()) } else { Err(vec![path.to_string()]) };
        }
        let bases = search_bases(self, from);
        for b in &bases {
            let cand = b.join(p);
            if cand.is_file() {
                return Ok(std::fs::canonicalize(&cand).unwrap_or(cand));
            }
        }
        Err(bases.iter().map(|b| format!("'{}'", self.c_display_path(b))).collect())
    }

    fn c_display_path(&self, p: &Path) -> String {
        match p.strip_prefix(&self.paths.cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
            Ok(_) => ".".to_string(),
            Err(_) => p.to_string_lossy().into_owned(),
        }
    }

    /// After loading: rejects a symbol two sources define, links every unit's objects into
    /// one shared object and loads it for compile-time calls.
    pub(crate) fn finish_c_units(&mut self) {
        if self.c.link.is_some() || self.c.units.iter().all(|u| u.objects.is_empty()) {
            return;
        }
        let mut seen: HashMap<PathBuf, ()> = HashMap::new();
        let mut objects: Vec<(PathBuf, String, Span)> = vec![];
        for u in &self.c.units {
            for o in &u.objects {
                if seen.insert(o.0.clone(), ()).is_none() {
                    objects.push(o.clone());
                }
            }
        }
        if !self.check_duplicate_symbols(&objects) {
            return;
        }
        let paths: Vec<PathBuf> = objects.iter().map(|o| o.0.clone()).collect();
        let export_stubs = self.exports_the_units_call(&paths);
        let mut linked = paths.clone();
        if !export_stubs.is_empty() {
            match self.export_stub_object(&export_stubs) {
                Ok(o) => {
                    linked.push(o.clone());
                    self.c.export_stub = Some(o);
                }
                Err(msg) => return self.diags.push(Diagnostic::error(objects[0].2, msg)),
            }
        }
        let builder = self.c.builder.get_or_insert_with(CBuilder::new);
        let shared = match builder.shared_object(&linked) {
            Ok(p) => p,
            Err(CBuildError::Compile { output } | CBuildError::Tool(output)) => {
                self.diags.push(Diagnostic::error(objects[0].2, format!("cannot link the C units into a shared object:\n{}", output)));
                return;
            }
        };
        // Compile-time calls get their own copy: C state they change (a counter, a cache)
        // must not leak into the program `sx run` loads from `shared` in this process.
        let comptime_copy = shared.with_extension("comptime.so");
        if !comptime_copy.is_file() {
            if let Err(e) = std::fs::copy(&shared, &comptime_copy) {
                self.diags.push(Diagnostic::error(objects[0].2, format!("cannot write '{}': {}", comptime_copy.display(), e)));
                return;
            }
        }
        let shared_name = comptime_copy.to_string_lossy().into_owned();
        match self.ct.vm.load_library(&shared_name) {
            Ok(()) => self.check_unit_symbols(&shared, &objects),
            Err(sx_vm::LibraryError::Refused { .. }) => {}
            Err(e @ sx_vm::LibraryError::NotFound { .. }) => self.diags.push(Diagnostic::error(objects[0].2, e.to_string())),
        }
        let b = self.c.builder.as_ref();
        self.c.link = Some(CLink {
            objects: paths,
            shared: Some(shared),
            compiles: b.map_or(0, |b| b.compiles),
            reused: b.map_or(0, |b| b.reused),
            links: b.map_or(0, |b| b.links),
            export_stubs,
        });
    }

    /// The program's exported functions the units' objects call, sorted.
    fn exports_the_units_call(&self, objects: &[PathBuf]) -> Vec<String> {
        let exports = self.export_symbol_names();
        let mut called: Vec<String> =
            objects.iter().filter_map(|o| crate::c_build::undefined_symbols(o).ok()).flatten().filter(|s| exports.contains(s)).collect();
        called.sort();
        called.dedup();
        called
    }

    /// The object of the export stubs for `symbols` (see [`CLink::export_stubs`]): each is a
    /// hidden function that jumps through its slot of a table, so C in the shared object binds
    /// to it and one stub fits every signature (a tail jump keeps the argument registers).
    /// Until its slot is filled a stub jumps to address 0, which the fault trap reports.
    fn export_stub_object(&mut self, symbols: &[String]) -> Result<PathBuf, String> {
        let mut text = format!(
            "/* generated by sx: C in the #import c units calling exported sx functions */\n\
             static void *sx_export_targets[{n}] __attribute__((used));\n\
             void {setter}(int slot, void *code) {{ if (slot >= 0 && slot < {n}) sx_export_targets[slot] = code; }}\n",
            n = symbols.len(),
            setter = sx_vm::library::EXPORT_TARGET_SETTER,
        );
        let jump = |arch: &str, off: usize| match arch {
            "x86_64" => format!("\\tjmp *sx_export_targets+{off}(%rip)\\n"),
            _ => format!("\\tadrp x16, sx_export_targets+{off}\\n\\tldr x16, [x16, #:lo12:sx_export_targets+{off}]\\n\\tbr x16\\n"),
        };
        for (arch, guard) in [("x86_64", "#if defined(__x86_64__)"), ("aarch64", "#elif defined(__aarch64__)")] {
            text.push_str(guard);
            text.push('\n');
            for (i, sym) in symbols.iter().enumerate() {
                let kind = if arch == "x86_64" { "@function" } else { "%function" };
                text.push_str(&format!(
                    "__asm__(\".text\\n.globl {sym}\\n.hidden {sym}\\n.type {sym},{kind}\\n{sym}:\\n{}\");\n",
                    jump(arch, i * 8)
                ));
            }
        }
        text.push_str("#else\n#error \"sx: C calling exported sx functions under sx run needs x86-64 or AArch64\"\n#endif\n");
        let name = format!("__sx_exports_{}", &crate::c_build::Hash128::of(text.as_bytes()).hex()[..20]);
        let dir = crate::c_build::cache_dir().join("c");
        let source = dir.join(format!("{}.c", name));
        if std::fs::read_to_string(&source).ok().as_deref() != Some(text.as_str()) {
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&source, &text))
                .map_err(|e| format!("cannot write the export stubs of the C units: {}", e))?;
        }
        let job = CSourceJob { source: &source, defines: &[], flags: &[], include_dirs: &[] };
        let builder = self.c.builder.get_or_insert_with(CBuilder::new);
        builder.object(&job).map_err(|e| match e {
            CBuildError::Compile { output } | CBuildError::Tool(output) => {
                format!("cannot compile the export stubs of the C units:\n{}", output)
            }
        })
    }

    /// Points the export stubs of the compile-time copy of the units' shared object at the
    /// exported functions, run on the compile-time VM; once, before the first compile-time
    /// evaluation (the functions are declared and lowered here: C, not sx code, reaches them).
    pub(crate) fn bind_comptime_exports(&mut self) {
        if self.c.comptime_exports_bound {
            return;
        }
        let Some(link) = &self.c.link else { return };
        let Some(shared) = &link.shared else { return };
        self.c.comptime_exports_bound = true;
        let library = shared.with_extension("comptime.so").to_string_lossy().into_owned();
        let stubs = link.export_stubs.clone();
        let exports = self.export_decls();
        for (slot, sym) in stubs.iter().enumerate() {
            let Some(&(id, _, span)) = exports.iter().find(|(_, s, _)| s == sym) else { continue };
            let Ok(ConstVal::Func(fid)) = self.eval_decl(id) else { continue };
            if self.needs_instance(fid) {
                continue;
            }
            let Ok(func) = self.declare_fn(fid, span) else { continue };
            if self.lower_reachable(func).is_err() {
                continue;
            }
            if let Err(e) = self.ct.vm.bind_c_export(&self.module, func, &library, slot as u32) {
                self.diags.push(Diagnostic::error(span, format!("C cannot call the exported function '{}' at compile time: {}", sym, e)));
            }
        }
    }

    /// Every symbol the units' shared object `shared` needs (just loaded, lazily bound) must be
    /// defined by the process, a `#library` or a function the program exports; one that is not
    /// is an error at the `#source` that uses it, naming the libraries searched — before a
    /// compile-time call could reach it (the dynamic loader would end the compiler).
    fn check_unit_symbols(&mut self, shared: &Path, objects: &[(PathBuf, String, Span)]) {
        let needed = match crate::c_build::undefined_symbols(shared) {
            Ok(n) => n,
            Err(msg) => return self.diags.push(Diagnostic::error(objects[0].2, msg)),
        };
        let exports = self.export_symbol_names();
        let missing: Vec<String> = needed.into_iter().filter(|s| !exports.contains(s) && !sx_vm::library::host_symbol_defined(s)).collect();
        if missing.is_empty() {
            return;
        }
        let searched = self.searched_libraries();
        for symbol in missing {
            let user = objects
                .iter()
                .find(|(obj, ..)| crate::c_build::undefined_symbols(obj).is_ok_and(|u| u.contains(&symbol)))
                .unwrap_or(&objects[0]);
            self.diags.push(Diagnostic::error(
                user.2,
                format!("C symbol '{}', used by '{}', is defined nowhere (searched {})", symbol, user.1, searched.join(", ")),
            ));
        }
    }

    /// The program's `export` functions: declaration, C symbol, span (before they are
    /// compiled: see [`Compiler::declare_exports`]).
    fn export_decls(&self) -> Vec<(DeclId, String, Span)> {
        self.decls
            .iter()
            .filter_map(|(id, d)| match &d.kind {
                DeclKind::Item(item) => match &item.kind {
                    ItemKind::Const { name, value: Expr { kind: ExprKind::Fn(f), .. }, .. } if f.attrs.export && f.body.is_some() => {
                        Some((id, f.attrs.export_sym.clone().unwrap_or_else(|| name.name.clone()), item.span))
                    }
                    _ => None,
                },
                DeclKind::Global(..) | DeclKind::Namespace(_) => None,
            })
            .collect()
    }

    /// The C symbols of the program's `export` functions.
    fn export_symbol_names(&self) -> std::collections::HashSet<String> {
        self.export_decls().into_iter().map(|(_, sym, _)| sym).collect()
    }

    /// Where a C symbol is looked for, for "defined nowhere" errors.
    fn searched_libraries(&self) -> Vec<String> {
        let mut searched = vec!["the compiler's process".to_string(), "libc".to_string(), "libm".to_string()];
        searched.extend(
            self.libraries.iter().filter(|l| !sx_vm::library::ALWAYS_PRESENT.contains(&l.as_str())).map(|l| format!("#library \"{}\"", l)),
        );
        if self.c.units.iter().any(|u| !u.objects.is_empty()) {
            searched.push("the '#import c' units".to_string());
        }
        searched
    }

    /// Whether no global symbol is defined by two different sources (else an error at the
    /// second `#source`).
    fn check_duplicate_symbols(&mut self, objects: &[(PathBuf, String, Span)]) -> bool {
        let mut owner: HashMap<String, usize> = HashMap::new();
        let mut ok = true;
        for (i, (obj, shown, span)) in objects.iter().enumerate() {
            let syms = match crate::c_build::defined_symbols(obj) {
                Ok(s) => s,
                Err(msg) => {
                    self.diags.push(Diagnostic::error(*span, msg));
                    ok = false;
                    continue;
                }
            };
            for s in syms {
                match owner.get(&s) {
                    Some(&j) if objects[j].1 != *shown => {
                        ok = false;
                        self.diags.push(Diagnostic::error(
                            *span,
                            format!(
                                "C symbol '{}' is defined by multiple '#import c' sources: '{}' and '{}' — all units share one link namespace",
                                s, objects[j].1, shown
                            ),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        owner.insert(s, i);
                    }
                }
            }
        }
        ok
    }

    /// The extern of the C shim that calls variadic `sym` with fixed parameters `params`
    /// (the first `nfixed` of them are `sym`'s own) and result `ret`; compiled on first use
    /// and loaded for compile-time calls at once.
    pub(crate) fn c_variadic_shim(
        &mut self,
        sym: &str,
        nfixed: usize,
        params: &[crate::c_variadic::CScalar],
        ret: Option<&crate::c_variadic::CScalar>,
        span: Span,
    ) -> R<sx_ir::ExternId> {
        let ret_c = ret.map_or("void", |r| r.c);
        let mut key = crate::c_build::Hash128::of(sym.as_bytes());
        key.add(ret_c.as_bytes());
        key.add(&nfixed.to_le_bytes());
        for p in params {
            key.add(p.c.as_bytes());
        }
        let name = format!("__sx_va_{}", &key.hex()[..20]);
        let irsig = sx_ir::Signature { params: params.iter().map(|p| p.ir).collect(), returns: ret.iter().map(|r| r.ir).collect() };
        if let Some(&ext) = self.c.shims.get(&name) {
            return Ok(ext);
        }
        let fixed: Vec<&str> = params[..nfixed].iter().map(|p| p.c).collect();
        let proto = if fixed.is_empty() { "...".to_string() } else { format!("{}, ...", fixed.join(", ")) };
        let formals: Vec<String> = params.iter().enumerate().map(|(i, p)| format!("{} a{}", p.c, i)).collect();
        let actuals: Vec<String> = (0..params.len()).map(|i| format!("a{}", i)).collect();
        let text = format!(
            "/* generated by sx: the variadic call of {sym} */\n{ret_c} {sym}({proto});\n{ret_c} {name}({}) {{ {}{sym}({}); }}\n",
            if formals.is_empty() { "void".to_string() } else { formals.join(", ") },
            if ret.is_some() { "return " } else { "" },
            actuals.join(", "),
        );
        let dir = crate::c_build::cache_dir().join("c");
        let source = dir.join(format!("{}.c", name));
        if std::fs::read_to_string(&source).ok().as_deref() != Some(text.as_str()) {
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&source, &text)) {
                return self.err(span, format!("cannot write the C shim of variadic '{}': {}", sym, e));
            }
        }
        let flags = ["-fno-builtin".to_string(), "-w".to_string()];
        let job = CSourceJob { source: &source, defines: &[], flags: &flags, include_dirs: &[] };
        let builder = self.c.builder.get_or_insert_with(CBuilder::new);
        let built = builder.object(&job).and_then(|o| builder.shared_object(std::slice::from_ref(&o)).map(|so| (o, so)));
        let (object, shared) = match built {
            Ok(x) => x,
            Err(CBuildError::Compile { output } | CBuildError::Tool(output)) => {
                return self.err(span, format!("cannot compile the C shim of variadic '{}':\n{}", sym, output));
            }
        };
        let foreign = sx_vm::ForeignSig {
            params: params.iter().map(|p| p.foreign).collect(),
            rets: ret.iter().map(|r| r.foreign).collect(),
            variadic: None,
        };
        self.ct.vm.declare_foreign(&name, foreign.clone());
        match self.ct.vm.load_library(&shared.to_string_lossy()) {
            Ok(()) | Err(sx_vm::LibraryError::Refused { .. }) => {}
            Err(e @ sx_vm::LibraryError::NotFound { .. }) => return self.err(span, e.to_string()),
        }
        let ext = self.module.declare_extern(&name, irsig);
        self.c.shims.insert(name.clone(), ext);
        self.c.shim_objects.push(object);
        self.c.shim_sigs.push((name, foreign));
        Ok(ext)
    }

    /// The object of generated source `text` (file `name` in the cache, C or assembly by its
    /// extension), compiled on first use and linked like the variadic shims; it is not loaded
    /// for compile-time calls.
    pub(crate) fn generated_object(&mut self, name: &str, text: &str) -> Result<PathBuf, String> {
        let dir = crate::c_build::cache_dir().join("c");
        let source = dir.join(name);
        if std::fs::read_to_string(&source).ok().as_deref() != Some(text) {
            // Written aside and renamed: another compiler may be reading the same file.
            let tmp = dir.join(format!("{}.tmp{}", name, std::process::id()));
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&tmp, text))
                .and_then(|()| std::fs::rename(&tmp, &source))
                .map_err(|e| format!("cannot write '{}': {}", source.display(), e))?;
        }
        let job = CSourceJob { source: &source, defines: &[], flags: &[], include_dirs: &[] };
        let builder = self.c.builder.get_or_insert_with(CBuilder::new);
        let object = builder.object(&job).map_err(|e| match e {
            CBuildError::Compile { output } | CBuildError::Tool(output) => output,
        })?;
        if !self.c.shim_objects.contains(&object) {
            self.c.generated_symbols.extend(crate::c_build::defined_symbols(&object)?);
            self.c.shim_objects.push(object.clone());
        }
        Ok(object)
    }

    /// What the driver links and loads (after [`Compiler::finish_c_units`]): the units'
    /// objects and those of the variadic shims and generated code, with one shared object of
    /// them all (whose export stubs cover the exported functions any of them calls).
    pub(crate) fn c_link(&mut self) -> CLink {
        let mut link = self.c.link.clone().unwrap_or_default();
        if !self.c.shim_objects.is_empty() {
            link.objects.extend(self.c.shim_objects.iter().cloned());
            let stubs = self.exports_the_units_call(&link.objects);
            if stubs != link.export_stubs {
                match self.export_stub_object(&stubs) {
                    Ok(o) => self.c.export_stub = Some(o),
                    Err(msg) => self.diags.push(Diagnostic::bare(msg)),
                }
                link.export_stubs = stubs;
            }
            let linked: Vec<PathBuf> = link.objects.iter().chain(&self.c.export_stub).cloned().collect();
            let builder = self.c.builder.get_or_insert_with(CBuilder::new);
            match builder.shared_object(&linked) {
                Ok(p) => link.shared = Some(p),
                Err(CBuildError::Compile { output } | CBuildError::Tool(output)) => {
                    self.diags.push(Diagnostic::bare(format!("cannot link the C units into a shared object:\n{}", output)));
                }
            }
        }
        if let Some(b) = &self.c.builder {
            link.compiles = b.compiles;
            link.reused = b.reused;
            link.links = b.links;
        }
        link
    }

    /// `extern LIB`: `LIB` must be `libc`/`libm`, or name a `#library` constant or a named
    /// `#import c` unit visible in `file`, or declared by some loaded file (library handles are one link
    /// namespace: a module may bind `extern libc` without importing the file that declares
    /// `libc`); otherwise an error at `span`.
    pub(crate) fn check_extern_library(&mut self, file: FileIdx, lib: &Ident, span: Span) -> R<()> {
        let mut ids: Vec<DeclId> = self.files[file].names.get(&lib.name).cloned().unwrap_or_default();
        for imp in self.files[file].flat_imports.clone() {
            if let Some(more) = self.files[imp].names.get(&lib.name) {
                ids.extend(more.iter().copied().filter(|&d| !self.decls[d].private));
            }
        }
        let names_library = |c: &Compiler, d: DeclId| match &c.decls[d].kind {
            DeclKind::Item(item) => matches!(&item.kind, ItemKind::Const { value: Expr { kind: ExprKind::Library(_), .. }, .. }),
            DeclKind::Namespace(f) => c.c.is_unit_file(*f),
            DeclKind::Global(..) => false,
        };
        if ids.iter().any(|&d| names_library(self, d)) {
            return Ok(());
        }
        // libc and libm are in every program: `extern libc` / `extern libm` need no declaration.
        if ALWAYS_LINKED_HANDLES.contains(&lib.name.as_str()) {
            return Ok(());
        }
        let anywhere = self.files.values().filter_map(|f| f.names.get(&lib.name)).flatten().copied().collect::<Vec<_>>();
        if anywhere.into_iter().any(|d| names_library(self, d)) {
            return Ok(());
        }
        self.err(span, format!("extern library '{}' is not declared; expected a #library constant or a named '#import c' unit", lib.name))
    }

    /// Every `f :: (…) -> R export ["sym"] { … }` of the loaded files: compiled even when sx
    /// code never calls it (C does) and defined under its C symbol with external linkage.
    /// Its parameters and result must be scalars, which the sx and C conventions pass alike.
    pub(crate) fn declare_exports(&mut self) {
        let exported = self.export_decls();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for (id, sym, span) in exported {
            if let Some(first) = seen.insert(sym.clone(), span) {
                if first != span {
                    self.diags.push(Diagnostic::error(span, format!("C symbol '{}' is exported twice", sym)));
                }
                continue;
            }
            let Ok(ConstVal::Func(fid)) = self.eval_decl(id) else { continue };
            if self.needs_instance(fid) {
                self.diags.push(Diagnostic::error(span, format!("an exported function cannot be generic ('{}')", sym)));
                continue;
            }
            let Ok(sig) = self.fn_sig(fid) else { continue };
            let scalar = |c: &Compiler, t: TypeId| c.types.scalar(t).is_some();
            let ret_ok = sig.ret == bt::VOID || scalar(self, sig.ret);
            if sig.sret || !ret_ok || !sig.params.iter().all(|&t| scalar(self, t)) || sig.variadic {
                self.diags.push(Diagnostic::error(
                    span,
                    format!("not supported yet: exporting '{}' — an exported function takes and returns scalars only", sym),
                ));
                continue;
            }
            let Ok(func) = self.declare_fn(fid, span) else { continue };
            let f = &mut self.module.funcs[func];
            f.name = sym;
            f.linkage = sx_ir::Linkage::Export;
        }
    }

    /// `name : T extern [LIB] ["sym"];`: a global defined by C, a data object the back ends
    /// import by its symbol ([`sx_ir::EXTERN_DATA_PREFIX`]); reads and writes go to C's variable.
    pub(crate) fn extern_global(&mut self, id: DeclId, item: &Rc<Item>) -> R<ConstVal> {
        if let Some(&(d, t)) = self.out.globals.get(&(id, 0)) {
            return Ok(ConstVal::Global(d, t));
        }
        let ItemKind::ExternVar { name, ty, lib, sym } = &item.kind else { return Err(()) };
        self.check_reserved(name)?;
        let file = self.decls[id].file;
        if let Some(lib) = lib {
            self.check_extern_library(file, lib, item.span)?;
        }
        let t = self.eval_type_in(file, None, &Rc::new(HashMap::new()), ty)?;
        let size = self.types.size_of(t);
        if size == 0 {
            return self.err(item.span, "an extern variable cannot have a zero-sized type");
        }
        let symbol = sym.clone().unwrap_or_else(|| name.name.clone());
        self.c.extern_data_spans.entry(symbol.clone()).or_insert(item.span);
        let align = self.types.align_of(t).max(1) as u32;
        let data = sx_ir::Data {
            name: format!("{}{}", sx_ir::EXTERN_DATA_PREFIX, symbol),
            bytes: vec![0; size as usize],
            align,
            relocs: vec![],
            writable: true,
        };
        let d = self.module.add_data(data);
        self.out.globals.insert((id, 0), (d, t));
        Ok(ConstVal::Global(d, t))
    }

    /// Every C symbol the program uses must be defined somewhere the program is linked with:
    /// the process (libc, libm), a `#library`, an `#import c` unit. One that is not is an error
    /// at its declaration naming the libraries searched. (Under `--sandbox` without `ffi` the
    /// libraries are not loaded, so nothing is checked.)
    pub(crate) fn check_extern_symbols(&mut self) {
        if !self.ct.vm.limits().policy.allows(sx_vm::Permission::Ffi) {
            return;
        }
        let exported: std::collections::HashSet<&str> =
            self.module.funcs.values().filter(|f| f.linkage == sx_ir::Linkage::Export).map(|f| f.name.as_str()).collect();
        let mut missing: Vec<(String, Span)> = vec![];
        let functions =
            self.module.externs.values().map(|e| e.symbol.as_str()).filter_map(|s| self.out.extern_syms.get(s).map(|sp| (s, *sp)));
        let datas = self
            .module
            .datas
            .values()
            .filter_map(|d| d.name.strip_prefix(sx_ir::EXTERN_DATA_PREFIX))
            .filter_map(|s| self.c.extern_data_spans.get(s).map(|sp| (s, *sp)));
        for (symbol, span) in functions.chain(datas) {
            if !exported.contains(symbol) && !self.c.generated_symbols.contains(symbol) && !sx_vm::library::host_symbol_defined(symbol) {
                missing.push((symbol.to_string(), span));
            }
        }
        if missing.is_empty() {
            return;
        }
        let searched = self.searched_libraries();
        for (symbol, span) in missing {
            self.diags
                .push(Diagnostic::error(span, format!("C symbol '{}' is defined nowhere (searched {})", symbol, searched.join(", "))));
        }
    }
}
