//! The corpus test: every program under `examples/` runs in all three modes — the comptime VM
//! (`sx run --vm`), the Cranelift JIT (`sx run`) and AOT (`sx build` + the executable) — and
//! each mode must produce exactly the expected stdout and exit status. The VM mode runs twice:
//! as `sx` runs it (the native comptime tier compiles only hot functions) and with
//! `SX_COMPTIME_JIT=eager` (every function compiled), so the tier and the interpreter agree on
//! every program.
//!
//! Layout: `examples/<category>/<name>.sx` with `<name>.stdout` and optionally `<name>.exit`
//! (default 0); an optional `<name>.stderr` must then match stderr exactly in every mode (runtime
//! reports such as an error escaping `main`). A program that must be rejected has `<name>.diag` instead: each of its lines
//! must appear in the compiler's stderr, stdout must be empty and the exit status 1.
//! A file without any expectation file is not run: it must be an imported module without `main`,
//! or start with `// helper of: <file>.sx` naming (relative to its own directory) the program that
//! uses it. `every_main_has_an_expectation` fails on any other file, so no program is skipped
//! silently. A program whose first line starts with `// modes: jit aot` runs only natively (one
//! that starts threads: the VM runs one thread); the rest of that line says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn sx() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sx"))
}

/// The extensions of the files that state what a program must do; any one makes it a corpus program.
const EXPECTATIONS: [&str; 4] = ["stdout", "exit", "diag", "stderr"];

/// The first-line marker of a file with `main` that is not run itself but imported by another program.
const HELPER_MARKER: &str = "// helper of:";

/// The first-line marker of a program that runs only in JIT and AOT mode, not on the VM.
const NATIVE_ONLY_MARKER: &str = "// modes: jit aot";

/// True when the program at `abs` is marked to run only natively.
fn native_only(abs: &Path) -> bool {
    std::fs::read_to_string(abs).is_ok_and(|t| t.lines().next().is_some_and(|l| l.starts_with(NATIVE_ONLY_MARKER)))
}

/// Every `.sx` file under `dir`, recursively, sorted.
fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_sources(&p, out);
        } else if p.extension().map(|e| e == "sx").unwrap_or(false) {
            out.push(p);
        }
    }
}

/// Every `.sx` file under `examples/` (absolute paths).
fn sources() -> Vec<PathBuf> {
    let mut v = vec![];
    collect_sources(&repo_root().join("examples"), &mut v);
    v
}

fn has_expectation(src: &Path) -> bool {
    EXPECTATIONS.iter().any(|x| src.with_extension(x).exists())
}

/// True when the source declares `main` at the start of a line (`main :: …`).
fn declares_main(text: &str) -> bool {
    text.lines().any(|l| l.strip_prefix("main").is_some_and(|rest| rest.trim_start().starts_with("::")))
}

/// All corpus programs (paths relative to the repo root).
pub fn programs() -> Vec<PathBuf> {
    let root = repo_root();
    sources().into_iter().filter(|p| has_expectation(p)).map(|p| p.strip_prefix(&root).expect("under root").to_path_buf()).collect()
}

/// Why `src` (a file under `examples/`) is neither a corpus program nor a proper helper, if so.
fn unexpected_source(src: &Path) -> Option<String> {
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    let marker = text.lines().next().and_then(|l| l.strip_prefix(HELPER_MARKER)).map(str::trim);
    if let Some(of) = marker {
        let dir = src.parent().expect("a file has a directory");
        if of.is_empty() || !dir.join(of).is_file() {
            return Some(format!("its `{HELPER_MARKER}` line names {of:?}, which is no file next to it"));
        }
        if has_expectation(src) {
            return Some(format!("it is marked `{HELPER_MARKER} {of}` but has an expectation file, so it is run"));
        }
        return None;
    }
    if declares_main(&text) && !has_expectation(src) {
        let names = EXPECTATIONS.map(|x| format!(".{x}")).join("/");
        return Some(format!("it declares `main` but has no expectation file ({names}) and no first line `{HELPER_MARKER} <file>.sx`"));
    }
    None
}

/// Every file with `main` under `examples/` is run by the corpus or marked as another program's
/// helper, and every expectation file belongs to a source file.
#[test]
fn every_main_has_an_expectation() {
    let root = repo_root();
    let mut offenders: Vec<String> = sources()
        .iter()
        .filter_map(|src| unexpected_source(src).map(|why| format!("{}: {why}", src.strip_prefix(&root).unwrap_or(src).display())))
        .collect();
    let mut all = vec![];
    collect_files(&root.join("examples"), &mut all);
    for f in all {
        let is_expectation = f.extension().and_then(|e| e.to_str()).is_some_and(|e| EXPECTATIONS.contains(&e));
        if is_expectation && !f.with_extension("sx").is_file() {
            offenders.push(format!("{}: expectation file without a program", f.strip_prefix(&root).unwrap_or(&f).display()));
        }
    }
    assert!(offenders.is_empty(), "examples the corpus would skip silently:\n{}", offenders.join("\n"));
}

/// Every file under `dir`, recursively.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for p in rd.filter_map(|e| e.ok()).map(|e| e.path()) {
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    // C units compile into a cache of the test's own, never the user's.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sx-cache");
    cmd.current_dir(repo_root()).env_remove("SX_STDLIB_PATH").env("SX_CACHE_DIR", cache).output().expect("spawn")
}

fn status(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}

fn check_program(rel: &Path, tmp: &Path) -> Result<(), String> {
    let root = repo_root();
    let abs = root.join(rel);
    let name = rel.to_string_lossy().to_string();
    if abs.with_extension("diag").exists() {
        let want = std::fs::read_to_string(abs.with_extension("diag")).unwrap_or_default();
        for mode in ["jit", "vm", "vm-eager"] {
            let mut c = Command::new(sx());
            c.arg("run");
            if mode != "jit" {
                c.arg("--vm");
            }
            if mode == "vm-eager" {
                c.env("SX_COMPTIME_JIT", "eager");
            }
            let o = run(c.arg(rel));
            let stderr = String::from_utf8_lossy(&o.stderr);
            if status(&o) != 1 || !o.stdout.is_empty() {
                return Err(format!(
                    "{name} [{mode}]: expected exit 1 and no stdout, got exit {} stdout {:?}\nstderr:\n{stderr}",
                    status(&o),
                    String::from_utf8_lossy(&o.stdout)
                ));
            }
            if stderr.contains("internal compiler error") {
                return Err(format!("{name}: internal compiler error:\n{stderr}"));
            }
            for line in want.lines().filter(|l| !l.trim().is_empty()) {
                if !stderr.contains(line) {
                    return Err(format!("{name}: stderr lacks {line:?}\nstderr:\n{stderr}"));
                }
            }
        }
        return Ok(());
    }
    let want_out = std::fs::read(abs.with_extension("stdout")).unwrap_or_default();
    let want_exit: i32 = match std::fs::read_to_string(abs.with_extension("exit")) {
        Ok(s) => s.trim().parse().map_err(|_| format!("{name}: {:?} in its .exit file is no exit status", s.trim()))?,
        Err(_) => 0,
    };
    let want_err = std::fs::read(abs.with_extension("stderr")).ok();
    let mut results = vec![];
    if !native_only(&abs) {
        let vm = run(Command::new(sx()).arg("run").arg("--vm").arg(rel));
        results.push(("vm", status(&vm), vm.stdout.clone(), vm.stderr.clone()));
        // The whole program once more with every function compiled by the native comptime
        // tier: it must agree with the interpreter on output, exit status and diagnostics.
        let eager = run(Command::new(sx()).arg("run").arg("--vm").arg(rel).env("SX_COMPTIME_JIT", "eager"));
        results.push(("vm-eager", status(&eager), eager.stdout.clone(), eager.stderr.clone()));
    }
    let jit = run(Command::new(sx()).arg("run").arg(rel));
    results.push(("jit", status(&jit), jit.stdout.clone(), jit.stderr.clone()));
    let exe = tmp.join(rel.file_stem().expect("stem"));
    let build = run(Command::new(sx()).arg("build").arg(rel).arg("-o").arg(&exe));
    if status(&build) != 0 {
        results.push(("aot-build", status(&build), build.stdout.clone(), build.stderr.clone()));
    } else {
        let o = run(&mut Command::new(&exe));
        let mut out = build.stdout.clone();
        out.extend(&o.stdout);
        results.push(("aot", status(&o), out, o.stderr.clone()));
    }
    let mut errs = vec![];
    for (mode, code, out, err) in &results {
        let err_differs = want_err.as_ref().map(|w| w != err).unwrap_or(false);
        if *code != want_exit || *out != want_out || err_differs {
            errs.push(format!(
                "{name} [{mode}]: exit {code} (want {want_exit})\n--- stdout\n{}\n--- want\n{}\n--- stderr\n{}\n--- want stderr\n{}",
                String::from_utf8_lossy(out),
                String::from_utf8_lossy(&want_out),
                String::from_utf8_lossy(err),
                want_err.as_ref().map(|w| String::from_utf8_lossy(w).into_owned()).unwrap_or_else(|| "(not checked)".into())
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}

#[test]
fn corpus_all_modes_agree() {
    let progs = programs();
    assert!(progs.len() >= 75, "corpus too small: {} programs", progs.len());
    let tmp = std::env::temp_dir().join(format!("sx-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(vec![]);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(p) = progs.get(i) else { break };
                if let Err(e) = check_program(p, &tmp) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&tmp);
    let failures = failures.into_inner().unwrap();
    let passed = progs.len() - failures.len();
    for f in &failures {
        eprintln!("{f}\n");
    }
    eprintln!("corpus: {} passed, {} failed", passed, failures.len());
    assert!(failures.is_empty(), "{} corpus programs failed", failures.len());
}

/// Every `#run` of the corpus is evaluated on the comptime VM: the compiler's trace lists one
/// VM evaluation per `#run` site line.
#[test]
fn every_run_is_evaluated_on_the_vm() {
    let mut checked = 0;
    for rel in programs() {
        let abs = repo_root().join(&rel);
        if abs.with_extension("diag").exists() {
            continue;
        }
        let src = std::fs::read_to_string(&abs).unwrap_or_default();
        let run_lines: Vec<usize> =
            src.lines().enumerate().filter(|(_, l)| l.split("//").next().unwrap_or("").contains("#run")).map(|(i, _)| i + 1).collect();
        if run_lines.is_empty() {
            continue;
        }
        let o = run(Command::new(sx()).arg("ir").arg("--trace-comptime").arg(&rel));
        let trace = String::from_utf8_lossy(&o.stderr);
        for line in run_lines {
            let key = format!("comptime-eval {}:{}:", rel.display(), line);
            assert!(trace.contains(&key), "{}: the #run on line {} was not evaluated on the VM\ntrace:\n{}", rel.display(), line, trace);
            checked += 1;
        }
    }
    assert!(checked >= 5, "too few #run sites checked: {checked}");
}
