//! Interrupts of compile-time evaluation: injected at safe points over the whole corpus,
//! Ctrl-C (SIGINT) during a long `#run`, and `--comptime-timeout`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("root")
}

fn sx() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sx"));
    c.current_dir(root());
    c
}

/// Corpus programs (with expected stdout) that evaluate something at compile time.
fn comptime_programs() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().map(|x| x == "sx").unwrap_or(false) && p.with_extension("stdout").exists() {
                let src = std::fs::read_to_string(&p).unwrap_or_default();
                if src.contains("#run") {
                    out.push(p);
                }
            }
        }
    }
    let mut v = vec![];
    walk(&root().join("examples"), &mut v);
    v.sort();
    v
}

#[test]
fn injected_interrupts_resume_identically_or_abort_cleanly() {
    let progs = comptime_programs();
    assert!(progs.len() >= 5, "too few comptime programs: {}", progs.len());
    let mut aborted = 0;
    for p in &progs {
        let want_out = std::fs::read(p.with_extension("stdout")).unwrap();
        let want_exit: i32 = std::fs::read_to_string(p.with_extension("exit")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        for k in [1u64, 2, 5] {
            // Resume: every k-th safe point suspends the evaluation and resumes it.
            let o = sx()
                .args(["run", "--vm", "--safe-point-every", "7", "--inject-interrupt", &format!("{k}:resume")])
                .arg(p)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(want_exit), "{} k={k} resume: {}", p.display(), String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.stdout, want_out, "{} k={k} resume", p.display());
            // Abort: the evaluation stops with a diagnostic, or finished before a safe point.
            let o =
                sx().args(["run", "--vm", "--safe-point-every", "7", "--inject-interrupt", &format!("{k}:abort")]).arg(p).output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("panicked") && !err.contains("internal compiler error"), "{}: {err}", p.display());
            if err.contains("comptime evaluation interrupted") {
                aborted += 1;
                assert_eq!(o.status.code(), Some(1), "{}", p.display());
                assert!(err.contains("-->"), "{}: no location in {err}", p.display());
            } else {
                assert_eq!(o.status.code(), Some(want_exit), "{}: {err}", p.display());
                assert_eq!(o.stdout, want_out, "{}", p.display());
            }
        }
    }
    assert!(aborted > 0, "no evaluation was long enough to be interrupted");
}

const RUNAWAY: &str = "#import \"modules/std.sx\";\nspin :: () -> i64 {\n    x := 0;\n    while true { x += 1; }\n    return x;\n}\nX :: #run spin();\nmain :: () { print(\"{}\\n\", X); }\n";

fn runaway_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-int-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("runaway.sx");
    std::fs::write(&f, RUNAWAY).unwrap();
    f
}

#[test]
fn ctrl_c_stops_a_runaway_run_with_a_backtrace() {
    let f = runaway_file("sigint");
    let start = Instant::now();
    let child = sx()
        .args(["build", "--comptime-steps", "100000000000"])
        .arg(&f)
        .arg("-o")
        .arg(f.with_extension("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let pid = child.id() as i32;
    let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("comptime evaluation interrupted"), "{err}");
    assert!(err.contains("runaway.sx:4:"), "no faulting line in {err}");
    assert!(err.contains("in spin"), "no comptime call stack in {err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn comptime_timeout_stops_a_runaway_run() {
    let f = runaway_file("timeout");
    let start = Instant::now();
    let o = sx().args(["run", "--comptime-steps", "100000000000", "--comptime-timeout", "0.3"]).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("timed out after 0.3 s"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}
