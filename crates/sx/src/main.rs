//! The `sx` command line: `run` (Cranelift JIT, or `--vm`), `build` (object + system linker),
//! `check` (front end and compile-time evaluation only), `ir` (print the IR) and `lsp` (the
//! language server, [`sx_lsp`]).
//!
//! Owns: argument parsing, locating the standard library, rendering diagnostics, and process
//! exit codes. Must never: let a Rust panic or a stack overflow of the compiler reach the user
//! (compilation runs on a large-stack thread behind `catch_unwind`).

mod build;
mod phases;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use phases::PhaseClock;

#[derive(Parser)]
#[command(name = "sx", version, about = "The sx compiler")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Debug information for gdb: `build` writes DWARF (lines, functions, parameters and locals,
    /// which stay in memory), `run` hands it to gdb's JIT interface, `ir` shows the debug tables.
    #[arg(short = 'g', global = true)]
    debug: bool,
    /// Target triple: x86_64-linux or aarch64-linux.
    #[arg(long, global = true)]
    target: Option<String>,
    /// Print compile statistics (comptime VM evaluations) to stderr.
    #[arg(long, global = true)]
    stats: bool,
    /// Step budget of one compile-time evaluation.
    #[arg(long, global = true)]
    comptime_steps: Option<u64>,
    /// Limit of live compile-time memory (static data, stack slots and heap), in bytes; a
    /// K, M or G suffix multiplies by 2^10, 2^20 or 2^30 (e.g. 64M).
    #[arg(long, global = true, value_parser = parse_bytes)]
    comptime_memory: Option<u64>,
    /// Print `comptime-eval <file:line:col>` to stderr for every compile-time VM evaluation.
    #[arg(long, global = true)]
    trace_comptime: bool,
    /// Wall-clock limit (seconds) of each compile-time evaluation.
    #[arg(long, global = true)]
    comptime_timeout: Option<f64>,
    /// Testing: interrupt every K-th safe point of every compile-time evaluation, either
    /// aborting it (`K:abort`) or suspending and resuming it (`K:resume`).
    #[arg(long, global = true, hide = true)]
    inject_interrupt: Option<String>,
    /// Testing: steps between safe points.
    #[arg(long, global = true, hide = true)]
    safe_point_every: Option<u64>,
    /// After the command, print the wall time of each compiler phase to stderr.
    #[arg(long, global = true)]
    time: bool,
    /// Print to stderr, for each `#import c` header translation, the C declarations it left out
    /// (bit-fields, `long double`, function-like macros, …) and why.
    #[arg(long, global = true)]
    c_import_report: bool,
    /// Colour diagnostics: auto (when stderr is a terminal and NO_COLOR is unset), always or
    /// never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Compile-time code cannot act on the host: foreign calls are limited to functions without
    /// host effects and reads to the source tree (see --comptime-allow).
    #[arg(long, global = true)]
    sandbox: bool,
    /// Under --sandbox, re-enable host effects of compile-time code: a comma list of fs-read,
    /// fs-write, process, env, ffi (any foreign function).
    #[arg(long, global = true, value_name = "PERMS")]
    comptime_allow: Vec<String>,
    /// Compile hot compile-time functions to native code (a sandboxed Cranelift tier with the
    /// interpreter's checks, budgets and diagnostics). Default: off (or `SX_COMPTIME_JIT=on`).
    #[arg(long, global = true, value_enum, value_name = "off|on")]
    comptime_jit: Option<OnOff>,
}

/// A switch given as `off` or `on`.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum OnOff {
    Off,
    On,
}

/// When diagnostics are coloured.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum ColorChoice {
    /// When stderr is a terminal and NO_COLOR is unset or empty.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether diagnostics written to stderr now get colours.
    fn colors_stderr(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// `--opt N`: 0 no optimisation (fast debug builds), 1 Cranelift `speed`, 2 (the default) the
/// IR optimiser then `speed`, 3 larger inlining limits then `speed_and_size`.
fn opt_level(n: u8) -> sx_codegen::OptLevel {
    sx_codegen::OptLevel::from_number(n)
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile and run FILE (Cranelift JIT, or the comptime VM with --vm).
    Run {
        file: PathBuf,
        /// Run the whole program on the comptime VM.
        #[arg(long)]
        vm: bool,
        /// Optimisation level of native code: 0 (none, fastest compile), 1 (Cranelift speed), 2 (IR
        /// inlining, folding and hoisting, then speed), 3 (larger inlining limits, speed and size).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
        opt: u8,
        #[command(flatten)]
        common: Common,
    },
    /// Compile FILE to a native executable.
    Build {
        file: PathBuf,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Extra argument for the system linker `cc` (an object file, `-lNAME`, `-LDIR`, …);
        /// repeatable.
        #[arg(long = "link-arg", value_name = "ARG", allow_hyphen_values = true)]
        link_args: Vec<String>,
        /// Optimisation level of native code: 0 (none, fastest compile), 1 (Cranelift speed), 2 (IR
        /// inlining, folding and hoisting, then speed), 3 (larger inlining limits, speed and size).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
        opt: u8,
        #[command(flatten)]
        common: Common,
    },
    /// Check FILE: parse, analyse and run its compile-time code, without generating code.
    Check {
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Print the IR of FILE.
    Ir {
        file: PathBuf,
        /// Print the comptime VM's bytecode of every function instead of the IR.
        #[arg(long)]
        bytecode: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Serve the Language Server Protocol on stdin/stdout (for editors).
    Lsp,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Deep programs must not overflow the compiler's stack: run on a big-stack thread.
    let handle = std::thread::Builder::new().stack_size(512 << 20).spawn(move || {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("error: internal compiler error: {}", info);
        }));
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_cli(cli))) {
            Ok(code) => code,
            Err(_) => 1,
        }
    });
    let code = match handle {
        Ok(h) => h.join().unwrap_or(1),
        Err(_) => {
            eprintln!("error: cannot start the compiler thread");
            1
        }
    };
    ExitCode::from(code as u8)
}

/// Set while compile-time code runs: Ctrl-C then interrupts the evaluation (which reports a
/// diagnostic with the comptime backtrace) instead of killing the compiler.
static IN_COMPTIME: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static INTERRUPT: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();

fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    INTERRUPT
        .get_or_init(|| {
            let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let f = flag.clone();
            let _ = ctrlc::set_handler(move || {
                use std::sync::atomic::Ordering;
                if IN_COMPTIME.load(Ordering::SeqCst) && !f.swap(true, Ordering::SeqCst) {
                    return;
                }
                std::process::exit(130);
            });
            flag
        })
        .clone()
}

/// A byte count: digits with an optional K/M/G suffix (binary multiples, case-insensitive,
/// optionally followed by `B` or `iB`).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.strip_suffix("ib").or_else(|| lower.strip_suffix('b')).unwrap_or(&lower);
    let (digits, shift) = match body.chars().last() {
        Some('k') => (&body[..body.len() - 1], 10),
        Some('m') => (&body[..body.len() - 1], 20),
        Some('g') => (&body[..body.len() - 1], 30),
        _ => (body, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("'{}' is not a byte count (e.g. 1048576, 64K, 64M, 1G)", s))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("'{}' is too large", s))
}

fn stdlib_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![];
    if let Ok(p) = std::env::var("SX_STDLIB_PATH") {
        dirs.extend(std::env::split_paths(&p).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1).take(4) {
            let cand = anc.join("library");
            if cand.join("modules/std.sx").is_file() {
                dirs.push(cand);
                break;
            }
        }
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../library");
    if built_in.join("modules/std.sx").is_file() {
        dirs.push(built_in);
    }
    dirs
}

fn options(file: &Path, common: &Common) -> Result<sx_sema::Options, String> {
    let target = match &common.target {
        None => sx_ir::Target::host(),
        Some(t) => sx_ir::Target::parse(t).ok_or_else(|| format!("unknown target '{}' (expected x86_64-linux or aarch64-linux)", t))?,
    };
    let mut limits = sx_vm::VmLimits::default();
    if let Some(s) = common.comptime_steps {
        limits.max_steps = s;
    }
    if let Some(b) = common.comptime_memory {
        limits.max_memory = b;
    }
    if let Some(t) = common.comptime_timeout {
        if !(t > 0.0 && t.is_finite()) {
            return Err(format!("--comptime-timeout needs a positive number of seconds, not {}", t));
        }
        limits.timeout = Some(std::time::Duration::from_secs_f64(t));
    }
    if let Some(j) = common.comptime_jit {
        limits.comptime_jit = j == OnOff::On;
    }
    if let Some(n) = common.safe_point_every {
        limits.check_every = n.max(1);
    }
    if let Some(spec) = &common.inject_interrupt {
        let (k, mode) = spec.split_once(':').unwrap_or((spec.as_str(), "abort"));
        let k: u64 = k.parse().map_err(|_| format!("bad --inject-interrupt '{}' (want K:abort or K:resume)", spec))?;
        limits.inject_interrupt = Some((k.max(1), mode != "resume"));
    }
    if common.c_import_report {
        // Read by sx_sema's C units (`C_IMPORT_REPORT_ENV`), which print as they translate.
        std::env::set_var(sx_sema::c_units::C_IMPORT_REPORT_ENV, "1");
    }
    let stdlib = stdlib_dirs();
    if common.sandbox {
        let mut allowed = Vec::new();
        for list in &common.comptime_allow {
            allowed.extend(sx_vm::Permission::parse_list(list).map_err(|e| format!("--comptime-allow: {}", e))?);
        }
        let mut roots = vec![file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()];
        roots.extend(stdlib.iter().cloned());
        limits.policy = sx_vm::VmPolicy::sandboxed(allowed, &roots);
    } else if !common.comptime_allow.is_empty() {
        return Err("--comptime-allow needs --sandbox".to_string());
    }
    Ok(sx_sema::Options {
        target,
        paths: sx_sema::ImportPaths { cwd: std::env::current_dir().unwrap_or_default(), stdlib },
        vm_limits: limits,
        trace_comptime: common.trace_comptime,
        interrupt: Some(interrupt_flag()),
        debug_info: common.debug,
    })
}

/// Runs the front end on `file`; renders its diagnostics on failure (exit status 1). Its wall
/// time and breakdown go to `clock`.
fn compile(file: &Path, common: &Common, clock: &mut PhaseClock) -> Result<sx_sema::Output, i32> {
    let opts = match options(file, common) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {}", e);
            return Err(1);
        }
    };
    IN_COMPTIME.store(true, std::sync::atomic::Ordering::SeqCst);
    let start = Instant::now();
    let result = sx_sema::compile(file, &opts);
    clock.front_end(start.elapsed(), result.as_ref().ok());
    IN_COMPTIME.store(false, std::sync::atomic::Ordering::SeqCst);
    match result {
        Ok(out) => {
            if common.stats {
                eprintln!("comptime evaluations: {}", out.vm_evaluations);
                let c = &out.c_link;
                if !c.objects.is_empty() {
                    eprintln!("C compiles: {} (objects reused from the cache: {}, shared-object links: {})", c.compiles, c.reused, c.links);
                }
            }
            Ok(out)
        }
        Err((sources, diags)) => {
            let colored = common.color.colors_stderr();
            let mut first = true;
            for d in &diags {
                if !first {
                    eprintln!();
                }
                first = false;
                let text = if colored { sx_diag::render_colored(&sources, d) } else { sx_diag::render(&sources, d) };
                eprintln!("{}", text);
            }
            Err(1)
        }
    }
}

/// The phase marker (SUBSET §0.7): printed when the root file has a top-level `#run`,
/// after compile-time output and before the program's.
fn print_build_done(out: &sx_sema::Output) {
    if out.root_has_run {
        use std::io::Write;
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(b"--- build done ---\n");
        let _ = so.flush();
    }
}

fn run_cli(cli: Cli) -> i32 {
    let mut clock = PhaseClock::start();
    let (code, common) = match cli.cmd {
        Cmd::Run { file, vm, opt, common } => (run_program(&file, vm, opt_level(opt), &common, &mut clock), common),
        Cmd::Build { file, output, link_args, opt, common } => {
            (build_program(&file, output, link_args, opt_level(opt), common.debug, &common, &mut clock), common)
        }
        Cmd::Lsp => return sx_lsp::run(sx_lsp::Settings::new(stdlib_dirs())),
        Cmd::Check { file, common } => (compile(&file, &common, &mut clock).map_or_else(|c| c, |_| 0), common),
        Cmd::Ir { file, bytecode, common } => {
            let code = match compile(&file, &common, &mut clock) {
                Ok(out) => {
                    if bytecode {
                        print!("{}", sx_vm::module_bytecode(&out.module));
                    } else {
                        print!("{}", sx_ir::print::print_module(&out.module));
                    }
                    0
                }
                Err(c) => c,
            };
            (code, common)
        }
    };
    if common.time {
        eprint!("{}", clock.table());
    }
    code
}

/// The program's `#library` names beyond libc and libm, which every program has.
fn extra_libraries(out: &sx_sema::Output) -> impl Iterator<Item = &String> {
    out.libraries.iter().filter(|name| !sx_vm::library::ALWAYS_PRESENT.contains(&name.as_str()))
}

/// `sx run`: compiles `file`, then runs it (JIT, or the comptime VM with `vm`).
fn run_program(file: &Path, vm: bool, opt: sx_codegen::OptLevel, common: &Common, clock: &mut PhaseClock) -> i32 {
    if common.debug && vm {
        eprintln!(
            "error: not supported yet: -g with `sx run --vm` (the VM gives gdb no debug information); use `sx run -g` or `sx build -g`"
        );
        return 1;
    }
    let out = match compile(file, common, clock) {
        Ok(o) => o,
        Err(c) => return c,
    };
    print_build_done(&out);
    if vm {
        let mut machine = sx_vm::Vm::new(sx_vm::VmLimits::default(), Box::new(sx_vm::StdHost));
        for (symbol, sig) in &out.foreign {
            machine.declare_foreign(symbol, sig.clone());
        }
        let unit_library = out.c_link.shared.as_ref().map(|p| p.to_string_lossy().into_owned());
        for name in out.libraries.iter().chain(unit_library.as_ref()) {
            if let Err(e) = machine.load_library(name) {
                eprintln!("error: {}", e);
                return 1;
            }
        }
        for (slot, symbol) in out.c_link.export_stubs.iter().enumerate() {
            let func = out.module.funcs.iter().find(|(_, f)| f.is_defined() && f.linkage == sx_ir::Linkage::Export && f.name == *symbol);
            let bound = match (func, &unit_library) {
                (Some((func, _)), Some(library)) => machine.bind_c_export(&out.module, func, library, slot as u32),
                _ => Err(format!("the exported function '{}' was not compiled", symbol)),
            };
            if let Err(e) = bound {
                eprintln!("error: C cannot call the exported function '{}': {}", symbol, e);
                return 1;
            }
        }
        match clock.exclude(|| machine.run_program(&out.module)) {
            Ok(code) => code & 0xff,
            Err(e) => {
                eprintln!("error: {}", e.message);
                1
            }
        }
    } else {
        // The JIT resolves externs in the whole process: the libraries are opened globally
        // first and stay open until the program has run.
        let mut libraries = Vec::with_capacity(out.libraries.len() + 1);
        let unit_library = out.c_link.shared.as_ref().map(|p| p.to_string_lossy().into_owned());
        for name in unit_library.iter().chain(extra_libraries(&out)) {
            match sx_vm::open_library(name) {
                Ok(lib) => libraries.push(lib),
                Err(e) => {
                    eprintln!("error: {}", e);
                    return 1;
                }
            }
        }
        let comp_dir = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        let sources = sx_codegen::DebugSources { sources: &out.sources, comp_dir };
        let debug = common.debug.then_some(&sources);
        match PhaseClock::time(&mut clock.codegen, || sx_codegen::jit_compile_debug(&out.module, opt, debug)) {
            Ok(program) => {
                if let Err(e) = bind_jit_exports(&program, &out.c_link, unit_library.as_deref()) {
                    eprintln!("error: {}", e);
                    return 1;
                }
                clock.exclude(|| program.run()) & 0xff
            }
            Err(e) => {
                eprintln!("error: {}", e);
                1
            }
        }
    }
}

/// Points the export stubs of the C units' shared object `library` at the JIT's code of the
/// exported functions C calls.
fn bind_jit_exports(program: &sx_codegen::JitProgram, link: &sx_sema::c_units::CLink, library: Option<&str>) -> Result<(), String> {
    for (slot, symbol) in link.export_stubs.iter().enumerate() {
        let code = program.exported_function(symbol);
        let bound = match (code, library) {
            (Some(code), Some(library)) => sx_vm::library::set_export_target(library, slot as u32, code as u64),
            _ => Err(format!("the exported function '{}' was not compiled", symbol)),
        };
        bound.map_err(|e| format!("C cannot call the exported function '{}': {}", symbol, e))?;
    }
    Ok(())
}

/// `sx build`: compiles `file` and writes the executable (or runs the program's build callback).
fn build_program(
    file: &Path,
    output: Option<PathBuf>,
    link_args: Vec<String>,
    opt: sx_codegen::OptLevel,
    debug: bool,
    common: &Common,
    clock: &mut PhaseClock,
) -> i32 {
    let out = match compile(file, common, clock) {
        Ok(o) => o,
        Err(c) => return c,
    };
    print_build_done(&out);
    // The command line's `-o` wins over a path compile-time code set.
    let dest = output
        .or_else(|| out.build.output.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(file.file_stem().unwrap_or_default()));
    let limits = options(file, common).map(|o| o.vm_limits).unwrap_or_default();
    let mut link_flags = link_args;
    link_flags.extend(out.build.link_flags.iter().cloned());
    link_flags.extend(extra_libraries(&out).map(|name| sx_vm::library::link_flag(name)));
    let mut job = build::BuildJob { out: &out, dest, link_flags, limits, opt, debug, clock };
    match job.run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", e);
            1
        }
    }
}
