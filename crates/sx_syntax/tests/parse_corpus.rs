//! Parses the reference example corpus and stdlib of the reference checkout at /tmp/sx-ref and
//! fails on any parse failure (examples the reference compiler itself rejects are excused).
//!
//! The checkout is not part of this repository, so the test is ignored by default (reported as
//! ignored, never as passed). Run it with
//! `cargo test --release -p sx_syntax --test parse_corpus -- --include-ignored`; it then fails
//! loudly when the checkout, a listed example or a file is missing.

use std::path::{Path, PathBuf};
use sx_diag::FileId;

const REF: &str = "/tmp/sx-ref";
const LIST: &str = "/work/shared/sx-core/core-examples.txt";

/// Why the test is ignored by default.
const NEEDS_REF: &str = "needs the reference checkout at /tmp/sx-ref, which is not part of this repository";

fn collect_sx(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e} ({NEEDS_REF})", dir.display()));
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_sx(&p, out);
        } else if p.extension().map(|e| e == "sx").unwrap_or(false) {
            out.push(p);
        }
    }
}

/// Does the reference compiler reject this example (an expected stderr with `error:`
/// and exit code != 0)?
fn expected_to_fail(path: &Path) -> bool {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) else { return false };
    let stem = stem.to_string_lossy();
    let stderr = dir.join("expected").join(format!("{}.stderr", stem));
    std::fs::read_to_string(stderr).map(|s| s.contains("error")).unwrap_or(false)
}

fn run_set(name: &str, files: &[PathBuf], allow_expected_failures: bool) -> (usize, usize, Vec<String>) {
    let mut fails = 0;
    let mut excused = 0;
    let mut msgs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e} ({NEEDS_REF})", f.display()));
        let (_ast, diags) = sx_syntax::parse_file(FileId(i as u32), &src);
        if let Some(d) = diags.first() {
            if allow_expected_failures && expected_to_fail(f) {
                excused += 1;
                if std::env::var("SX_SHOW_EXCUSED").is_ok() {
                    println!("  (expected) {}: {}", f.display(), d.message);
                }
                continue;
            }
            fails += 1;
            let (line, col) = d
                .span
                .map(|s| {
                    let pre = &src.as_bytes()[..(s.lo as usize).min(src.len())];
                    let line = pre.iter().filter(|&&b| b == b'\n').count() + 1;
                    let col = pre.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                    (line, col)
                })
                .unwrap_or((0, 0));
            msgs.push(format!("{}:{}:{}: {}", f.display(), line, col, d.message));
        }
    }
    println!("[{}] {} files, {} parse failures, {} expected (diagnostic examples)", name, files.len(), fails, excused);
    (fails, excused, msgs)
}

#[test]
#[ignore = "needs the reference checkout at /tmp/sx-ref; run with --include-ignored"]
fn parse_reference_corpus() {
    assert!(Path::new(REF).is_dir(), "{REF} is absent: this test {NEEDS_REF}");
    let mut examples = Vec::new();
    match std::fs::read_to_string(LIST) {
        Ok(list) => {
            for l in list.lines() {
                let l = l.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                examples.push(Path::new(REF).join(l));
            }
        }
        Err(e) => {
            println!("note: {LIST}: {e}; parsing every example under {REF}/examples instead");
            collect_sx(&Path::new(REF).join("examples"), &mut examples)
        }
    }
    let mut lib = Vec::new();
    collect_sx(&Path::new(REF).join("library/modules"), &mut lib);

    let t0 = std::time::Instant::now();
    let (ef, _, emsgs) = run_set("examples", &examples, true);
    let (lf, _, lmsgs) = run_set("library", &lib, false);
    println!("parsed in {:?}", t0.elapsed());
    for m in emsgs.iter().chain(lmsgs.iter()).take(60) {
        println!("  {}", m);
    }
    assert!(examples.len() + lib.len() > 0, "no files found under {REF}");
    assert_eq!(ef + lf, 0, "parse failures in the reference corpus");
}
