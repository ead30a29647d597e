//! Semantic analysis and lowering: sx syntax trees → checked, typed [`sx_ir::Module`].
//!
//! Owns: import resolution and per-file scopes ([`loader`]), lazy declaration checking (only
//! what `main`, `#run` and globals reach is checked), constant folding, type evaluation, and the
//! typed lowering of function bodies into IR ([`lower`]). Every compile-time evaluation that is
//! not a plain constant fold (`#run`, global initialisers) is lowered to an IR thunk and executed
//! on the comptime VM ([`comptime`]); its result bytes are baked into static data.
//!
//! Must never: JIT-compile code to evaluate something at compile time, compute a layout other
//! than through [`sx_types::TypeTable`], or let a user error escape as a panic.

pub mod analysis;
mod anyval;
mod asm;
mod asm_x86;
mod atomics;
mod branches;
pub mod build_api;
mod build_options;
mod c_build;
pub mod c_units;
mod c_variadic;
mod cabi;
mod call;
mod closure_impls;
mod closures;
mod compiler_api;
pub mod comptime;
pub mod consts;
mod context_ext;
mod debug_vars;
mod decls;
mod emit;
mod enum_layout;
mod errors;
mod expr;
mod extern_views;
mod fn_state;
mod fncx;
mod generics;
mod index;
mod inline_consts;
mod inline_if;
mod insert;
mod introspect;
mod jni;
mod jni_calls;
mod jni_fields;
mod jni_rules;
mod lambda_ctx;
mod libraries;
mod library_ufcs;
mod literals;
pub mod loader;
mod location;
pub mod lower;
mod members;
mod operators;
mod optional;
mod packs;
pub mod phase_times;
mod places;
pub mod printfmt;
mod props;
mod protocols;
mod reflect;
mod runtime;
mod slot_errors;
mod spread;
mod stmt;
mod syntax_facts;
mod target_facts;
mod tuples;
mod type_fns;
mod type_rules;
mod values;
mod vector;
mod views;

#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use loader::ImportPaths;
use sx_diag::{Diagnostic, FileId, SourceMap, Span};
use sx_ir::entity::EntityVec;
use sx_ir::{FuncId, Module, Target};
use sx_syntax::ast::*;
use sx_types::{builtin as bt, TypeId, TypeTable};

pub use consts::{ConstKey, ConstVal};
// The crate prelude: only floors 0 and 1 (facts, decisions, plain state) are re-exported here,
// so `use crate::*` never hides an upward import.
use fn_state::*;
use syntax_facts::*;
use type_rules::*;
use values::*;

sx_ir::entity!(
    /// Index of a loaded source file (module).
    FileIdx,
    "file"
);
sx_ir::entity!(
    /// Index of a top-level declaration.
    DeclId,
    "decl"
);
sx_ir::entity!(
    /// Index of a function definition (a source function, possibly a method).
    FnId,
    "fn"
);

/// A loaded file and its scope.
pub struct FileInfo {
    pub dir: PathBuf,
    pub file_id: FileId,
    /// Own top-level names.
    pub names: HashMap<String, Vec<DeclId>>,
    /// Flat `#import`s (their own names are visible here, one hop).
    pub flat_imports: Vec<FileIdx>,
    /// Top-level `#run expr;` statements.
    pub runs: Vec<Expr>,
}

/// What a top-level declaration is.
#[derive(Clone)]
pub enum DeclKind {
    /// `name :: value` / `name : T : value`.
    Item(Rc<Item>),
    /// A global variable (the item and the index of the name).
    Global(Rc<Item>, usize),
    /// `name :: #import "..."`.
    Namespace(FileIdx),
}

/// Evaluation state of a declaration.
#[derive(Clone)]
pub enum DeclState {
    Todo,
    InProgress,
    Done(ConstVal),
    Failed,
}

/// A top-level declaration.
pub struct DeclInfo {
    pub file: FileIdx,
    pub name: String,
    pub kind: DeclKind,
    pub private: bool,
    pub span: Span,
    pub state: DeclState,
}

/// A source function.
pub struct FnDef {
    pub name: String,
    pub decl: Rc<FnDecl>,
    pub file: FileIdx,
    /// For methods: the struct type whose scope the body sees.
    pub owner: Option<TypeId>,
    pub sig: Option<FnSig>,
    pub func: Option<FuncId>,
    pub span: Span,
    /// Nested in a function body: names of local types/consts visible to it.
    pub local_consts: Rc<HashMap<String, ConstVal>>,
}

/// A checked function signature.
#[derive(Clone, Debug)]
pub struct FnSig {
    pub params: Vec<TypeId>,
    pub param_names: Vec<String>,
    pub defaults: Vec<Option<Expr>>,
    pub ret: TypeId,
    /// True when the IR function takes a hidden result pointer first.
    pub sret: bool,
    pub is_extern: bool,
    pub variadic: bool,
}

/// Extra per-struct information: where it was declared and its members.
pub struct StructMeta {
    pub file: FileIdx,
    pub consts: HashMap<String, Rc<Member>>,
    pub defaults: Vec<Option<Expr>>,
    pub local_consts: Rc<HashMap<String, ConstVal>>,
    /// Memoised evaluated member constants.
    pub evaluated: HashMap<String, ConstVal>,
}

/// Options of one compilation.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub paths: ImportPaths,
    pub vm_limits: sx_vm::VmLimits,
    /// Print one `comptime-eval <file:line:col>` line to stderr per VM evaluation.
    pub trace_comptime: bool,
    /// Interrupt flag for compile-time evaluation (set by the driver's Ctrl-C handler).
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Describe parameters and locals for a debugger (`-g`): their slots stay in memory and the
    /// module carries debug tables ([`sx_ir::debug`]).
    pub debug_info: bool,
}

/// What a successful compilation produces.
pub struct Output {
    pub module: Module,
    /// The root file has a top-level `#run expr;` that runs sx code, not only a compiler
    /// request such as `#run on_build(f);` (the driver prints `--- build done ---`).
    pub root_has_run: bool,
    /// How many compile-time evaluations ran on the VM.
    pub vm_evaluations: u64,
    /// What a VM running the program needs to call its extern functions (`Vm::declare_foreign`).
    pub foreign: Vec<(String, sx_vm::ForeignSig)>,
    /// The build callback and settings compile-time code registered (used by `sx build`).
    pub build: build_api::BuildPlan,
    /// Wall time of the front end's measured phases (parse, comptime VM, IR passes).
    pub timings: phase_times::PhaseTimes,
    /// Every source file the compilation read (maps the IR's spans to files and lines).
    pub sources: SourceMap,
    /// The shared libraries the program's `#library` declarations name, in load order.
    pub libraries: Vec<String>,
    /// The objects and shared object of the program's `#import c` units.
    pub c_link: c_units::CLink,
}

/// The state of one compilation.
pub struct Compiler {
    pub sources: SourceMap,
    pub files: EntityVec<FileIdx, FileInfo>,
    pub file_by_path: HashMap<PathBuf, FileIdx>,
    pub decls: EntityVec<DeclId, DeclInfo>,
    pub fns: EntityVec<FnId, FnDef>,
    pub types: TypeTable,
    pub structs: HashMap<TypeId, StructMeta>,
    pub module: Module,
    pub diags: Vec<Diagnostic>,
    pub paths: ImportPaths,
    /// Unsaved editor buffers by canonical path, read instead of the disk ([`analysis`]).
    pub(crate) overlay: HashMap<PathBuf, String>,
    /// A root file without `main` is a library, not an error ([`analysis`]).
    pub(crate) library_root: bool,
    /// Editor facts, recorded only in an editor analysis ([`analysis`]).
    pub(crate) index: Option<Box<index::Recorder>>,
    /// The names of the `#library` declarations of every loaded file ([`libraries`]).
    pub(crate) libraries: Vec<String>,
    /// The `#import c` units of every loaded file ([`c_units`]).
    pub(crate) c: c_units::CUnits,
    pub(crate) unsupported: Vec<(Span, &'static str)>,
    pub(crate) queue: VecDeque<FnId>,
    /// Function literals and declarations by the source span of their `FnDecl` (file, start,
    /// end): a literal lowered from a cloned syntax tree (a `defer` body, a rewritten argument
    /// list) is still the same function.
    pub(crate) fn_by_decl: HashMap<(u32, u32, u32), FnId>,
    pub(crate) name_counter: Cell<u32>,
    /// The file defining `print` and the formatting helpers (our std).
    pub(crate) std_file: Option<FileIdx>,
    /// Set while a bare name is looked up as a type: a name several imported files declare
    /// then resolves to the one declaration that is a type (`decls::lookup_global`).
    pub(crate) type_position: bool,
    /// Failures through inferred-`!` slots, checked once every body is lowered ([`slot_errors`]).
    pub(crate) slot_failures: Vec<slot_errors::SlotFailure>,
    pub(crate) depth: u32,
    /// The function whose body is being lowered.
    pub(crate) lowering: Option<FnId>,
    /// Protocols, `impl`s and their dispatch tables.
    pub(crate) protos: crate::protocols::ProtoTables,
    /// Every loaded `#context_extend` declaration, with its file (fields of std's `Context`).
    pub(crate) context_extends: Vec<(FileIdx, Rc<Item>)>,
    /// The compiler-provided `context` global, once made (`Compiler::program_context`).
    pub(crate) context_global: Option<(sx_ir::DataId, TypeId)>,
    /// The compiler's runtime file, once loaded (`crate::runtime`).
    pub(crate) runtime_file: Option<FileIdx>,
    /// Generic instances and type functions: what was instantiated, for which arguments, from
    pub(crate) inst: Instances,
    /// Compile-time evaluation: the VM, its counters and settings, the compiler API's state and
    pub(crate) ct: Comptime,
    /// What lowering has added to the module and memoises: string and global data, type records,
    pub(crate) out: Emitted,
    /// Runtime classes and the JNI lowering's cache cells (`jni`, `jni_calls`).
    pub(crate) jni: jni_rules::JniTables,
}

/// Generic instances and type functions: what was instantiated, for which arguments, from
/// where, and how deep instantiation nests.
#[derive(Default)]
pub(crate) struct Instances {
    pub inferring: Vec<(FnId, Option<TypeId>, bool)>,
    pub partial_sigs: HashMap<FnId, FnSig>,
    pub instances: HashMap<(FnId, Vec<(String, ConstKey)>), FnId>,
    pub instance_of: HashMap<FnId, FnId>,
    /// Per generic instance: the outermost call that made it (the user's call, when an
    /// instance was made while lowering another instance); `#error` reports there.
    pub instance_sites: HashMap<FnId, Span>,
    /// Per generic instance: how many instances, each made while lowering the previous, lead
    /// to it (bounded, so a function instantiating itself forever stops with an error).
    pub instance_depth: HashMap<FnId, u32>,
    pub generic_structs: Vec<(String, Rc<StructDecl>, FileIdx, Rc<HashMap<String, ConstVal>>)>,
    pub struct_instances: HashMap<(u32, Vec<ConstKey>), TypeId>,
    /// Results of type functions per (function, argument values) (see [`type_fns`]).
    pub type_fn_results: HashMap<(FnId, Vec<ConstKey>), TypeId>,
    /// Type-function calls being evaluated.
    pub type_fn_active: std::collections::HashSet<(FnId, Vec<ConstKey>)>,
    /// Type functions with `name: $T` parameters re-read as `$T: Type` (see [`type_fns`]).
    pub type_fn_variants: HashMap<(FnId, Vec<bool>), FnId>,
}

/// Compile-time evaluation: the VM, its counters and settings, the compiler API's state and
/// the build plan compile-time code registered.
pub(crate) struct Comptime {
    pub vm: sx_vm::Vm,
    pub vm_evals: u64,
    /// Wall time of parsing, VM runs and verification so far (`promote_slots` time is kept
    /// per thread, see [`phase_times`]).
    pub times: phase_times::PhaseTimes,
    pub trace_comptime: bool,
    /// What compile-time code asked of `sx build`.
    pub build: build_api::BuildPlan,
    /// Side-effect `#run`s evaluated so far (they are named `__run_K`).
    pub side_effect_runs: u32,
    /// How many `#insert`s enclose the code being lowered.
    pub insert_depth: u32,
    /// The name for the next comptime thunk, when it is not the default.
    pub thunk_name: Option<String>,
    /// When set, the next comptime thunk must not call functions (constant initialisers).
    pub pure_thunk_message: Option<String>,
    /// The compiler API's string pool and minted types (see [`compiler_api`]).
    pub api: compiler_api::ApiState,
}

/// What lowering has added to the module and memoises: string and global data, type records,
/// printers, closure thunks and adapters, lowered closure bodies, extern symbols.
#[derive(Default)]
pub(crate) struct Emitted {
    pub globals: HashMap<(DeclId, usize), (sx_ir::DataId, TypeId)>,
    pub strings: HashMap<Vec<u8>, sx_ir::DataId>,
    pub extern_syms: HashMap<String, Span>,
    pub fn_of_func: HashMap<FuncId, FnId>,
    /// The generated printer of each type (`reflect::type_fmt_fn`).
    pub print_fns: HashMap<TypeId, sx_ir::FuncId>,
    /// Function-pointer-to-closure thunks per function type.
    pub closure_thunks: HashMap<(TypeId, Option<FuncId>), FuncId>,
    /// Adapters that run a plain function where a failable one is expected, keyed by (plain
    /// function type, target type, the function called directly if not through the env).
    pub failable_adapters: HashMap<(TypeId, TypeId, Option<FuncId>), FuncId>,
    /// Lowered closure bodies per lambda.
    pub closure_infos: HashMap<FnId, ClosureInfo>,
    /// Capture candidates of a lambda whose signature is being inferred.
    pub closure_candidates: HashMap<FnId, HashMap<String, TypeId>>,
    /// Emitted run-time type records (`Type` values, `any` tags).
    pub rtti: reflect::Rtti,
    /// Debug information of variables (`-g`).
    pub debug: debug_vars::DebugTables,
}

/// Compiles the program rooted at `path`.
pub fn compile(path: &Path, opts: &Options) -> Result<Output, (SourceMap, Vec<Diagnostic>)> {
    let mut c = Compiler::new(opts);
    let (root, result) = c.compile_path(path);
    if result.is_err() || !c.diags.is_empty() {
        return Err((c.sources, c.diags));
    }
    let root_has_run = root.is_some_and(|r| c.root_runs_code(r));
    let vm_evaluations = c.ct.vm_evals;
    let mut foreign = c.foreign_sigs();
    foreign.extend(c.c.shim_sigs.iter().cloned());
    let c_link = c.c_link();
    let build = std::mem::take(&mut c.ct.build);
    let mut timings = c.ct.times;
    timings.ir_passes += phase_times::take_promote_slots();
    Ok(Output {
        module: c.module,
        root_has_run,
        vm_evaluations,
        foreign,
        build,
        timings,
        sources: c.sources,
        c_link,
        libraries: c.libraries,
    })
}

/// At most this many errors are shown; a summary line counts the rest.
pub const MAX_ERRORS: usize = 50;

/// Orders diagnostics by file (load order: the root file first) and position; diagnostics
/// without a location keep their order after the located ones. Beyond [`MAX_ERRORS`] they are
/// replaced by one line counting them.
fn in_source_order(diags: &mut Vec<Diagnostic>) {
    diags.sort_by_key(|d| match d.span {
        Some(s) => (0, s.file, s.lo),
        None => (1, FileId::default(), 0),
    });
    if diags.len() > MAX_ERRORS {
        let more = diags.len() - MAX_ERRORS;
        diags.truncate(MAX_ERRORS);
        diags.push(Diagnostic::bare(format!("{} more error{} not shown", more, if more == 1 { "" } else { "s" })));
    }
}

impl Compiler {
    /// Loads and compiles the program rooted at `path`; returns the root file and whether
    /// compilation succeeded. The diagnostics are deduplicated and in source order; a failure
    /// without one gets a bare "compilation failed".
    pub(crate) fn compile_path(&mut self, path: &Path) -> (Option<FileIdx>, Result<(), ()>) {
        phase_times::take_promote_slots();
        let shown = path.to_string_lossy().into_owned();
        let root = self.load_file(path, shown, None);
        if self.diags.is_empty() {
            self.finish_c_units();
        }
        let result = match root {
            Some(root) if self.diags.is_empty() => self.compile_root(root),
            // An editor analysis checks the recovered trees for their facts; only the parse
            // errors are reported.
            Some(root) if self.index.is_some() => {
                let parse_errors = self.diags.len();
                let _ = self.compile_root(root);
                self.diags.truncate(parse_errors);
                Err(())
            }
            _ => Err(()),
        };
        let mut seen = std::collections::HashSet::new();
        self.diags.retain(|d| seen.insert((d.span.map(|s| (s.file, s.lo, s.hi)), d.message.clone())));
        in_source_order(&mut self.diags);
        if result.is_err() && self.diags.is_empty() {
            self.diags.push(Diagnostic::bare("compilation failed"));
        }
        (root, result)
    }

    /// A compiler whose compile-time code writes to the real stdout and stderr.
    fn new(opts: &Options) -> Compiler {
        Compiler::with_host(opts, Box::new(sx_vm::StdHost))
    }

    /// A compiler whose compile-time code writes through `host`.
    pub(crate) fn with_host(opts: &Options, host: Box<dyn sx_vm::VmHost>) -> Compiler {
        let mut vm = sx_vm::Vm::new(opts.vm_limits.clone(), host);
        if let Some(flag) = &opts.interrupt {
            vm.set_interrupt_handle(flag.clone());
        }
        Compiler {
            sources: SourceMap::new(),
            files: EntityVec::new(),
            file_by_path: HashMap::new(),
            decls: EntityVec::new(),
            fns: EntityVec::new(),
            types: TypeTable::new(opts.target),
            structs: HashMap::new(),
            module: Module::new(opts.target),
            diags: vec![],
            paths: opts.paths.clone(),
            overlay: HashMap::new(),
            library_root: false,
            index: None,
            libraries: vec![],
            c: Default::default(),
            unsupported: vec![],
            protos: Default::default(),
            queue: VecDeque::new(),
            fn_by_decl: HashMap::new(),
            name_counter: Cell::new(0),
            std_file: None,
            type_position: false,
            slot_failures: vec![],
            depth: 0,
            lowering: None,
            context_extends: vec![],
            context_global: None,
            runtime_file: None,
            inst: Instances::default(),
            ct: Comptime {
                vm,
                vm_evals: 0,
                times: Default::default(),
                trace_comptime: opts.trace_comptime,
                side_effect_runs: 0,
                thunk_name: None,
                pure_thunk_message: None,
                insert_depth: 0,
                api: Default::default(),
                build: Default::default(),
            },
            out: Emitted { debug: debug_vars::DebugTables::new(opts.debug_info), ..Default::default() },
            jni: Default::default(),
        }
    }

    /// Reports an error and returns `Err(())`.
    pub(crate) fn err<T>(&mut self, span: Span, msg: impl Into<String>) -> Result<T, ()> {
        self.diags.push(Diagnostic::error(span, msg));
        Err(())
    }

    /// Rejects declaring a name that spells a builtin type.
    pub(crate) fn check_reserved(&mut self, name: &Ident) -> Result<(), ()> {
        if !name.raw && builtin_type(&mut self.types, &name.name).is_some() && !matches!(name.name.as_str(), "int" | "float") {
            return self.err(name.span, format!("'{}' is a reserved type name and cannot be used as an identifier", name.name));
        }
        Ok(())
    }

    /// [`Compiler::check_reserved`] on every name: each offender is reported, then it fails.
    pub(crate) fn check_reserved_all<'a>(&mut self, names: impl IntoIterator<Item = &'a Ident>) -> Result<(), ()> {
        let mut ok = true;
        for name in names {
            ok &= self.check_reserved(name).is_ok();
        }
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    fn compile_root(&mut self, root: FileIdx) -> Result<(), ()> {
        if let Some((span, what)) = self.unsupported.first().cloned() {
            // Unsupported constructs only matter in files the program uses; report the first one
            // found in the root file eagerly, the rest lazily when referenced.
            if span.file == self.files[root].file_id {
                return self.err(span, format!("not supported yet: {}", what));
            }
        }
        // Top-level `#run` statements, in source order.
        let runs = self.files[root].runs.clone();
        for r in &runs {
            self.run_side_effect(root, r)?;
        }
        let main = self.lookup_global(root, "main", self.files[root].file_id_span())?;
        let span = Span::new(self.files[root].file_id, 0, 0);
        // A failure in `main` does not stop the checks below: every independent error of the
        // program is reported in one run.
        let entry = match main {
            None if self.library_root => Ok(()),
            None => return self.err(span, "no 'main' function found"),
            Some(ConstVal::Func(fid)) => self.build_entry(fid),
            Some(_) => return self.err(span, "'main' is not a function"),
        };
        self.check_root_decls(root);
        self.declare_exports();
        self.declare_jni_mains();
        self.check_context_extensions();
        // Every `impl` is checked (an unknown protocol is an error even when nothing erases).
        if !self.protos.pending.is_empty() {
            let _ = self.resolve_impls();
        }
        let drained = self.drain_queue();
        self.check_slot_failures();
        self.check_extern_symbols();
        self.check_extern_views();
        self.check_layout_cycles();
        self.check_runtime_compiler_calls();
        let _ = self.check_minted(None);
        if entry.is_err() || drained.is_err() || !self.diags.is_empty() {
            return Err(());
        }
        let problems = phase_times::timed(&mut self.ct.times.ir_passes, || sx_ir::verify::verify_module(&self.module));
        if let Some(p) = problems.first() {
            self.diags.push(Diagnostic::bare(format!("internal error: IR verification failed: {}", p)));
            return Err(());
        }
        Ok(())
    }

    /// A type still waiting for its layout once everything is compiled holds itself by value
    /// through other types (`A { b: B }`, `B { a: A }`): an error naming the chain's members.
    fn check_layout_cycles(&mut self) {
        let pending = self.types.pending_layouts().to_vec();
        let Some(&first) = pending.first() else { return };
        let names: Vec<String> = pending.iter().map(|&t| format!("'{}'", self.types.name(t))).collect();
        let msg =
            format!("{} contain each other by value, which needs infinite size; use a pointer for one of the fields", names.join(", "));
        let tname = self.types.name(first);
        let span =
            self.types.struct_of(first).and_then(|s| s.span).or_else(|| self.decls.values().find(|d| d.name == tname).map(|d| d.span));
        match span {
            Some(sp) => self.diags.push(Diagnostic::error(sp, msg)),
            None => self.diags.push(Diagnostic::bare(msg)),
        }
    }

    /// The root file's declarations are all checked (not only the reachable ones): constants
    /// and types are evaluated, globals laid out, and every declared name is validated.
    fn check_root_decls(&mut self, root: FileIdx) {
        let mut ids: Vec<DeclId> = self.files[root].names.values().flatten().copied().collect();
        ids.sort_by_key(|d| d.0);
        for id in ids {
            let d = &self.decls[id];
            let is_fn = matches!(&d.kind, DeclKind::Item(item) if matches!(&item.kind, ItemKind::Const { value, .. } if matches!(value.kind, ExprKind::Fn(_))));
            if is_fn {
                if let DeclKind::Item(item) = d.kind.clone() {
                    if let ItemKind::Const { name, value, .. } = &item.kind {
                        let _ = self.check_reserved(name);
                        if let ExprKind::Fn(decl) = &value.kind {
                            self.check_fn_attrs(decl, value.span);
                        }
                    }
                }
                // Every concrete function of the root file is checked, reached or not (the
                // executable still holds only what the program reaches).
                if let Ok(ConstVal::Func(f)) = self.eval_decl(id) {
                    let d = &self.fns[f];
                    let concrete = !d.decl.attrs.is_extern && !d.decl.attrs.intrinsic && d.decl.body.is_some();
                    // Any `$` in the signature (also inside closure types and packs) makes it generic.
                    let text = &self.sources.file(d.decl.span.file).text;
                    let sig_text = |sp: Span| text.get(sp.lo as usize..sp.hi as usize).unwrap_or("");
                    let spelled_generic = d.decl.params.iter().any(|p| sig_text(p.span).contains('$'))
                        || d.decl.ret.as_ref().is_some_and(|r| sig_text(r.span).contains('$'));
                    if concrete
                        && !spelled_generic
                        && !crate::syntax_facts::is_generic_decl(&d.decl)
                        && !self.inst.instance_of.contains_key(&f)
                    {
                        let span = d.span;
                        let _ = self.declare_fn(f, span);
                    }
                }
                continue;
            }
            // The methods of a struct that takes no parameters are checked like functions.
            if let DeclKind::Item(item) = d.kind.clone() {
                if let ItemKind::Const { value: Expr { kind: ExprKind::Struct(sd), .. }, .. } = &item.kind {
                    if sd.params.is_none() {
                        self.check_method_attrs(sd.members.iter().filter_map(|m| match &m.kind {
                            MemberKind::Const { value, .. } => Some(value),
                            _ => None,
                        }));
                    }
                }
            }
            let _ = self.eval_decl(id);
        }
    }

    /// [`Compiler::check_fn_attrs`] on each function among `values` (members of a struct or
    /// an `impl`).
    pub(crate) fn check_method_attrs<'a>(&mut self, values: impl IntoIterator<Item = &'a Expr>) {
        for value in values {
            if let ExprKind::Fn(decl) = &value.kind {
                self.check_fn_attrs(decl, value.span);
            }
        }
    }

    /// Validates a function's linkage and ABI attributes, and that a generic return type is
    /// bound by some parameter.
    fn check_fn_attrs(&mut self, decl: &FnDecl, span: Span) {
        let has_pack = decl.params.iter().any(|p| p.variadic && p.comptime);
        if let (Some(r), false) = (&decl.ret, has_pack) {
            let mut in_ret = vec![];
            for v in &r.values {
                poly_names(&v.ty, &mut in_ret);
            }
            let mut in_params = vec![];
            for p in &decl.params {
                if let Some(t) = &p.ty {
                    poly_names(t, &mut in_params);
                }
                if p.comptime {
                    if let Some(n) = &p.name {
                        in_params.push((n.name.clone(), n.span));
                    }
                }
            }
            if let Some((n, sp)) = in_ret.iter().find(|(n, _)| !in_params.iter().any(|(m, _)| m == n)) {
                let msg =
                    format!("generic return type '${}' cannot be bound: no parameter mentions '${}', so no call site can infer it", n, n);
                let _ = self.err::<()>(*sp, msg);
            }
        }
        if decl.attrs.is_extern && decl.attrs.export {
            let _ = self.err::<()>(span, "conflicting linkage: 'extern' and 'export' cannot be combined — a declaration is either an import ('extern') or a definition ('export')");
        }
        if let Some(abi) = &decl.attrs.abi {
            let ok = matches!(&abi.kind, ExprKind::EnumLit(id) if id.name == "c" || id.name == "naked");
            if !ok {
                let _ = self.err::<()>(abi.span, "unknown ABI (expected '.c' or '.naked')");
            }
        }
    }

    /// Lowers every queued function body.
    pub(crate) fn drain_queue(&mut self) -> Result<(), ()> {
        let mut ok = true;
        while let Some(f) = self.queue.pop_front() {
            if self.lower_fn(f).is_err() {
                ok = false;
            }
        }
        if ok && self.diags.is_empty() {
            Ok(())
        } else {
            Err(())
        }
    }

    /// Lowers the queued functions that `root` (an IR function of the module) can reach through
    /// calls and function addresses, leaving unrelated queued work for later. Compile-time
    /// evaluation uses this so that evaluating a declaration never lowers code that uses it.
    pub(crate) fn lower_reachable(&mut self, root: FuncId) -> Result<(), ()> {
        // Only errors of this lowering count: an earlier, independent error elsewhere in the
        // program must not make every later compile-time evaluation fail.
        let errors_before = self.diags.len();
        let mut work = vec![root];
        let mut seen = std::collections::HashSet::new();
        let mut ok = true;
        while let Some(f) = work.pop() {
            if !seen.insert(f) {
                continue;
            }
            if let Some(&fid) = self.out.fn_of_func.get(&f) {
                if let Some(pos) = self.queue.iter().position(|q| *q == fid) {
                    self.queue.remove(pos);
                    if self.lower_fn(fid).is_err() {
                        ok = false;
                        continue;
                    }
                }
            }
            let func = &self.module.funcs[f];
            for b in func.blocks.values() {
                for &i in &b.insts {
                    match &func.insts[i].kind {
                        sx_ir::InstKind::Call { func: g, .. } | sx_ir::InstKind::FuncAddr { func: g } => work.push(*g),
                        sx_ir::InstKind::DataAddr { data } => work.extend(self.funcs_in_data(*data)),
                        _ => {}
                    }
                }
            }
        }
        if ok && self.diags.len() == errors_before {
            Ok(())
        } else {
            Err(())
        }
    }

    /// A fresh numeric suffix for symbol names.
    pub(crate) fn fresh(&self) -> u32 {
        let n = self.name_counter.get();
        self.name_counter.set(n + 1);
        n
    }
}

impl FileInfo {
    fn file_id_span(&self) -> Span {
        Span::new(self.file_id, 0, 0)
    }
}

/// Names of builtin types usable in type position.
pub(crate) fn builtin_type(types: &mut TypeTable, name: &str) -> Option<TypeId> {
    Some(match name {
        "void" => bt::VOID,
        "bool" => bt::BOOL,
        "string" => bt::STRING,
        "cstring" => bt::CSTRING,
        "f32" => bt::F32,
        "f64" => bt::F64,
        "usize" => bt::USIZE,
        "isize" => bt::ISIZE,
        "Type" => bt::TYPE,
        "any" => bt::ANY,
        "noreturn" => bt::NORETURN,
        "int" => bt::I64,
        "float" => bt::F64,
        _ => {
            let (signed, rest) = match name.as_bytes().first() {
                Some(b'i') => (true, &name[1..]),
                Some(b'u') => (false, &name[1..]),
                _ => return None,
            };
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.starts_with('0') {
                return None;
            }
            let bits: u32 = rest.parse().ok()?;
            if bits == 0 || bits > 64 {
                return None;
            }
            types.int(bits as u8, signed)
        }
    })
}
