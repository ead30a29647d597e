//! The drop-in test: the reference implementation's golden corpus compiled against the
//! reference's own standard library (`SX_STDLIB_PATH=<checkout>/library`), with our compiler.
//!
//! It needs a checkout of `sx-org/sx` (not part of this repository, and CI has no network):
//! set `SX_REFERENCE_CHECKOUT=<dir>` (a tree with `examples/` and `library/`). Without it the
//! test says it was skipped and passes. With it, every runnable example runs — `sx run`, or
//! `sx build` and the executable for `{"aot": true}` examples — and its stdout and exit status
//! are compared with the snapshots (addresses and trailing newlines normalised, as the
//! reference's runner does). The test fails when any example crashes the compiler (a signal
//! or a Rust panic) or fewer than `SX_REFERENCE_MIN_PERCENT` (default 90) percent pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one example may run.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What running one example gave.
enum Verdict {
    Pass,
    Fail(String),
    Crash(String),
    Skip,
}

#[test]
fn reference_corpus_against_the_reference_library() {
    let Some(root) = std::env::var_os("SX_REFERENCE_CHECKOUT").map(PathBuf::from) else {
        println!("skipped: set SX_REFERENCE_CHECKOUT=<a checkout of sx-org/sx> to run the drop-in test");
        return;
    };
    assert!(root.join("examples").is_dir() && root.join("library").is_dir(), "{} has no examples/ and library/", root.display());
    let min_percent: usize = std::env::var("SX_REFERENCE_MIN_PERCENT").ok().and_then(|v| v.parse().ok()).unwrap_or(90);
    let examples = collect(&root);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(rel) = examples.get(i) else { break };
                let v = run_one(&root, rel);
                results.lock().unwrap().push((rel.clone(), v));
            });
        }
    });
    let results = results.into_inner().unwrap();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut crashes = vec![];
    for (rel, v) in &results {
        match v {
            Verdict::Pass => passed += 1,
            Verdict::Skip => skipped += 1,
            Verdict::Fail(why) => {
                failed += 1;
                println!("FAIL {}: {}", rel, why);
            }
            Verdict::Crash(why) => {
                failed += 1;
                crashes.push(format!("{}: {}", rel, why));
            }
        }
    }
    let runnable = passed + failed;
    println!("drop-in: {} passed, {} failed, {} skipped ({} runnable)", passed, failed, skipped, runnable);
    assert!(crashes.is_empty(), "the compiler crashed on:\n{}", crashes.join("\n"));
    assert!(
        runnable > 0 && passed * 100 >= runnable * min_percent,
        "{} of {} runnable examples pass, below {} %",
        passed,
        runnable,
        min_percent
    );
}

/// Every example with an exit or stdout snapshot, as repository-relative paths.
fn collect(root: &Path) -> Vec<String> {
    let mut out = vec![];
    let Ok(cats) = std::fs::read_dir(root.join("examples")) else { return out };
    let mut cats: Vec<PathBuf> = cats.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    cats.sort();
    for cat in cats {
        let Ok(files) = std::fs::read_dir(&cat) else { continue };
        let mut files: Vec<PathBuf> = files.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let (Some(stem), Some("sx")) = (f.file_stem().and_then(|s| s.to_str()), f.extension().and_then(|e| e.to_str())) else {
                continue;
            };
            let exp = cat.join("expected").join(stem);
            if exp.with_extension("exit").exists() || exp.with_extension("stdout").exists() {
                if let Ok(rel) = f.strip_prefix(root) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    out
}

/// Runs example `rel` (relative to `root`) the way its snapshots were made.
fn run_one(root: &Path, rel: &str) -> Verdict {
    let src = root.join(rel);
    let (Some(dir), Some(stem)) = (src.parent(), src.file_stem().and_then(|s| s.to_str())) else { return Verdict::Skip };
    let exp = dir.join("expected").join(stem);
    let build = std::fs::read_to_string(exp.with_extension("build")).unwrap_or_default();
    if rel.starts_with("examples/ffi-objc/") || skipped_here(&build) {
        return Verdict::Skip;
    }
    let sx = env!("CARGO_BIN_EXE_sx");
    let library = root.join("library");
    let (code, stdout, stderr) = if build.contains("\"aot\": true") || build.contains("\"aot\":true") {
        let exe = std::env::temp_dir().join(format!("sx-dropin-{}-{}", std::process::id(), stem));
        let mut b = Command::new(sx);
        b.args(["build", rel, "-o"]).arg(&exe).current_dir(root).env("SX_STDLIB_PATH", &library);
        let (code, _, err) = run_with_timeout(b);
        if code != 0 {
            (code, vec![], err)
        } else {
            let mut e = Command::new(&exe);
            e.current_dir(root);
            let r = run_with_timeout(e);
            let _ = std::fs::remove_file(&exe);
            r
        }
    } else {
        let mut r = Command::new(sx);
        r.args(["run", rel]).current_dir(root).env("SX_STDLIB_PATH", &library);
        run_with_timeout(r)
    };
    let err = String::from_utf8_lossy(&stderr);
    if err.contains("panicked at") || err.contains("internal error") {
        return Verdict::Crash(err.lines().find(|l| l.contains("panicked") || l.contains("internal error")).unwrap_or("").to_string());
    }
    if code > 128 && !expected_signal(&exp, code) {
        return Verdict::Crash(format!("signal {}", code - 128));
    }
    let want_code: i32 = std::fs::read_to_string(exp.with_extension("exit")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let want_out = std::fs::read(exp.with_extension("stdout")).unwrap_or_default();
    let mut why = vec![];
    if code != want_code {
        why.push(format!("exit {} (want {})", code, want_code));
    }
    if normalize(&stdout) != normalize(&want_out) {
        why.push("stdout differs".to_string());
    }
    if why.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(why.join("; "))
    }
}

/// A `.build` sidecar that this host cannot run: another OS, a non-host target, bundles.
fn skipped_here(build: &str) -> bool {
    let other_os = build.contains("\"host_os\"") && !build.contains("\"linux\"");
    let other_target = build.contains("\"target\"") && !build.contains("linux");
    other_os || other_target || build.contains("\"bundle\"") || build.contains("\"apk\"")
}

/// An example whose snapshot itself is death by signal `code - 128` (e.g. an abort it tests).
fn expected_signal(exp: &Path, code: i32) -> bool {
    std::fs::read_to_string(exp.with_extension("exit")).ok().and_then(|s| s.trim().parse::<i32>().ok()) == Some(code)
}

/// Exit status (a signal N as 128 + N, a timeout as 124), stdout and stderr of `cmd`.
fn run_with_timeout(mut cmd: Command) -> (i32, Vec<u8>, Vec<u8>) {
    let out_path = std::env::temp_dir().join(format!("sx-dropin-out-{}-{:?}", std::process::id(), std::thread::current().id()));
    let err_path = out_path.with_extension("err");
    let (Ok(out_f), Ok(err_f)) = (std::fs::File::create(&out_path), std::fs::File::create(&err_path)) else {
        return (125, vec![], b"cannot create output files".to_vec());
    };
    let Ok(mut child) = cmd.stdin(Stdio::null()).stdout(out_f).stderr(err_f).spawn() else {
        return (125, vec![], b"cannot start".to_vec());
    };
    let start = Instant::now();
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                break status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            }
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break 124;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break 125,
        }
    };
    let out = std::fs::read(&out_path).unwrap_or_default();
    let err = std::fs::read(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    (code, out, err)
}

/// Addresses (`0x` and 4+ lowercase hex digits) become `0xADDR`; trailing newlines go.
fn normalize(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'0' && data.get(i + 1) == Some(&b'x') {
            let n = data[i + 2..].iter().take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)).count();
            if n >= 4 {
                out.extend_from_slice(b"0xADDR");
                i += 2 + n;
                continue;
            }
        }
        out.push(data[i]);
        i += 1;
    }
    while out.last() == Some(&b'\n') {
        out.pop();
    }
    out
}
