//! The corpus test: every program under `examples/` runs in all three modes — the comptime VM
//! (`sx run --vm`), the Cranelift JIT (`sx run`) and AOT (`sx build` + the executable) — and
//! each mode must produce exactly the expected stdout and exit status.
//!
//! Layout: `examples/<category>/<name>.sx` with `<name>.stdout` and optionally `<name>.exit`
//! (default 0); an optional `<name>.stderr` must then match stderr exactly in every mode (runtime
//! reports such as an error escaping `main`). A program that must be rejected has `<name>.diag` instead: each of its lines
//! must appear in the compiler's stderr, stdout must be empty and the exit status 1.
//! Files without any expectation file (imported helper modules) are skipped.

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

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().map(|e| e == "sx").unwrap_or(false) {
            let has = ["stdout", "exit", "diag"].iter().any(|x| p.with_extension(x).exists());
            if has {
                out.push(p);
            }
        }
    }
}

/// All corpus programs (paths relative to the repo root).
pub fn programs() -> Vec<PathBuf> {
    let root = repo_root();
    let mut v = vec![];
    collect(&root.join("examples"), &mut v);
    v.into_iter().map(|p| p.strip_prefix(&root).expect("under root").to_path_buf()).collect()
}

fn run(cmd: &mut Command) -> Output {
    cmd.current_dir(repo_root()).env_remove("SX_STDLIB_PATH").output().expect("spawn")
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
        for mode in ["jit", "vm"] {
            let mut c = Command::new(sx());
            c.arg("run");
            if mode == "vm" {
                c.arg("--vm");
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
    let want_exit: i32 = std::fs::read_to_string(abs.with_extension("exit")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let want_err = std::fs::read(abs.with_extension("stderr")).ok();
    let mut results = vec![];
    let vm = run(Command::new(sx()).arg("run").arg("--vm").arg(rel));
    results.push(("vm", status(&vm), vm.stdout.clone(), vm.stderr.clone()));
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
