//! The text IR round trip on the whole corpus: for every `examples/**/*.sx` program with an
//! expectation file (the programs `corpus.rs` runs), `sx ir` prints the module; parsing that
//! text with `sx_ir::parse` must give a module that passes `sx_ir::verify` and prints to the
//! very same text. Programs the compiler rejects (the diagnostic examples) are counted as not
//! applicable. The parsed module is then compiled natively (`emit_object` + `cc`) and run: its
//! output and exit status must be the program's expected ones, so the text carries everything the
//! program needs (data bytes, relocations, externs, the entry).
//!
//! The same again with `-g` (`sx ir -g`): the debug tables round-trip too, and the module —
//! whose variables stay in memory — compiled with debug information still gives the
//! program's output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().map(|e| e == "sx").unwrap_or(false) {
            if ["stdout", "exit", "diag"].iter().any(|x| p.with_extension(x).exists()) {
                out.push(p);
            }
        }
    }
}

/// What happened to one program.
enum Outcome {
    RoundTripped,
    /// The compiler rejected it (a diagnostic example).
    NotApplicable,
    Failed(String),
}

/// Compiles `module` to an executable, runs it, and compares with the expectation files of
/// `program`; `compile_time_output` is what `#run` code printed while compiling.
/// `-lNAME` for each `#library "NAME"` the program declares (`sx build` links them from the
/// compilation's library list, which the text IR does not carry).
fn library_flags(source: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(source).unwrap_or_default();
    text.split("#library \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| !matches!(*name, "c" | "m"))
        .map(|name| format!("-l{}", name))
        .collect()
}

fn run_natively(root: &Path, program: &Path, module: &sx_ir::Module, compile_time_output: &str, debug: bool) -> Result<(), String> {
    let abs = root.join(program);
    let no_sources = sx_diag::SourceMap::new();
    let sources = sx_codegen::DebugSources { sources: &no_sources, comp_dir: "/".into() };
    let object = sx_codegen::emit_object_debug(module, sx_codegen::OptLevel::default(), debug.then_some(&sources))
        .map_err(|e| format!("emit_object: {}", e))?;
    let tag = if debug { "-g" } else { "" };
    let dir = std::env::temp_dir().join(format!("sx-ir-roundtrip{}-{}", tag, std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let exe = dir.join(program.to_string_lossy().replace('/', "_"));
    sx_codegen::link_executable(&object, &exe, &library_flags(&abs)).map_err(|e| format!("link: {}", e))?;
    let out = Command::new(&exe).current_dir(root).output().map_err(|e| format!("run: {}", e));
    let _ = std::fs::remove_file(&exe);
    let out = out?;
    let want_out = std::fs::read(abs.with_extension("stdout")).unwrap_or_default();
    let want_exit: i32 = std::fs::read_to_string(abs.with_extension("exit")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    // `sx build` prints what compile-time code printed, a marker when the program has `#run`
    // code, and what its build callback prints (programs under examples/build); then the
    // executable runs.
    let mut got_out = compile_time_output.as_bytes().to_vec();
    got_out.extend(&out.stdout);
    let mut with_marker = compile_time_output.as_bytes().to_vec();
    with_marker.extend(b"--- build done ---\n");
    with_marker.extend(&out.stdout);
    let output_matches =
        want_out == got_out || want_out == with_marker || (program.starts_with("examples/build") && want_out.ends_with(&out.stdout));
    let code = {
        use std::os::unix::process::ExitStatusExt;
        out.status.code().unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0))
    };
    let err_differs = std::fs::read(abs.with_extension("stderr")).ok().is_some_and(|want| want != out.stderr);
    if !output_matches || code != want_exit || err_differs {
        return Err(format!(
            "the executable built from the parsed module exits {} (want {}) with stdout\n{}\nstderr\n{}",
            code,
            want_exit,
            String::from_utf8_lossy(&got_out),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn check(root: &Path, program: &Path, debug: bool) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_sx"))
        .arg("ir")
        .args(debug.then_some("-g"))
        .arg(program)
        .current_dir(root)
        .env_remove("SX_STDLIB_PATH")
        .env("SX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("sx-cache"))
        .output()
        .expect("spawn sx");
    if !out.status.success() {
        return if root.join(program).with_extension("diag").exists() {
            Outcome::NotApplicable
        } else {
            Outcome::Failed(format!("`sx ir` failed: {}", String::from_utf8_lossy(&out.stderr)))
        };
    }
    let Ok(stdout) = String::from_utf8(out.stdout) else { return Outcome::Failed("`sx ir` printed invalid UTF-8".into()) };
    // What `#run` code prints while compiling comes before the module.
    let Some((start, _)) = stdout.match_indices("target ").find(|&(at, _)| at == 0 || stdout[..at].ends_with('\n')) else {
        return Outcome::Failed("no `target` line in the output of `sx ir`".into());
    };
    let text = &stdout[start..];
    let module = match sx_ir::parse(text) {
        Ok(m) => m,
        Err(e) => {
            let line = text.lines().nth(e.line.saturating_sub(1) as usize).unwrap_or("");
            return Outcome::Failed(format!("parse error {}\n    {}", e, line));
        }
    };
    let errors = sx_ir::verify(&module);
    if !errors.is_empty() {
        return Outcome::Failed(format!("the parsed module does not verify: {:?}", &errors[..errors.len().min(5)]));
    }
    let again = sx_ir::print(&module);
    if again != text {
        let first = again.lines().zip(text.lines()).position(|(a, b)| a != b).unwrap_or(again.lines().count().min(text.lines().count()));
        return Outcome::Failed(format!(
            "reprinted text differs at line {}:\n    printed: {}\n    again:   {}",
            first + 1,
            text.lines().nth(first).unwrap_or("<end>"),
            again.lines().nth(first).unwrap_or("<end>")
        ));
    }
    if debug && module.debug_types.is_empty() && module.funcs.values().any(|f| !f.debug_vars.is_empty()) {
        return Outcome::Failed("debug variables without debug types".into());
    }
    // The objects of `#import c` units, of the shims of C-variadic calls (`__sx_va_*`) and of
    // assembly (`sx_ir::ASM_SYMBOL_PREFIX`, top-level `asm`) are not part of the module text:
    // such a program is checked as text only.
    let needs_c_objects =
        module.externs.values().any(|e| e.symbol.starts_with("__sx_va_") || e.symbol.starts_with(sx_ir::ASM_SYMBOL_PREFIX));
    let source = std::fs::read_to_string(root.join(program)).unwrap_or_default();
    if needs_c_objects || source.contains("#import c") || source.lines().any(|l| l.starts_with("asm ")) {
        return Outcome::RoundTripped;
    }
    match run_natively(root, program, &module, &stdout[..start], debug) {
        Ok(()) => Outcome::RoundTripped,
        Err(e) => Outcome::Failed(e),
    }
}

#[test]
fn every_corpus_module_round_trips_through_the_text_ir() {
    round_trip_corpus(false);
}

#[test]
fn every_corpus_module_with_debug_tables_round_trips_through_the_text_ir() {
    round_trip_corpus(true);
}

/// Round-trips every corpus program (with `-g` when `debug`) and runs what was parsed.
fn round_trip_corpus(debug: bool) {
    let root = repo_root();
    let mut programs = vec![];
    collect(&root.join("examples"), &mut programs);
    let programs: Vec<PathBuf> = programs.into_iter().map(|p| p.strip_prefix(&root).expect("under root").to_path_buf()).collect();
    assert!(programs.len() > 100, "corpus not found");
    let next = AtomicUsize::new(0);
    let (done, not_applicable) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(p) = programs.get(i) else { break };
                match check(&root, p, debug) {
                    Outcome::RoundTripped => done.fetch_add(1, Ordering::SeqCst),
                    Outcome::NotApplicable => not_applicable.fetch_add(1, Ordering::SeqCst),
                    Outcome::Failed(why) => {
                        failures.lock().expect("lock").push(format!("{}: {}", p.display(), why));
                        0
                    }
                };
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    let (done, not_applicable) = (done.into_inner(), not_applicable.into_inner());
    eprintln!(
        "ir round trip{}: {} programs round-tripped, {} not applicable (rejected by the compiler), {} failed",
        if debug { " with -g" } else { "" },
        done,
        not_applicable,
        failures.len()
    );
    assert!(failures.is_empty(), "{} programs failed the text IR round trip:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(done + not_applicable, programs.len());
}
