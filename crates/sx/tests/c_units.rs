//! The object cache of `#import c` `#source` units: a second build of an unchanged program
//! runs no C compiler; editing a header the source includes compiles it again.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory under the test's temporary directory.
fn fresh_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// `sx build --stats FILE` with the cache in `cache`; returns the "C compiles: …" line.
fn build_stats(file: &Path, cache: &Path, out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .args(["build", "--stats"])
        .arg(file)
        .arg("-o")
        .arg(out)
        .env("SX_CACHE_DIR", cache)
        .env_remove("SX_STDLIB_PATH")
        .output()
        .expect("spawn sx");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "sx build {} failed:\n{}", file.display(), stderr);
    stderr.lines().find(|l| l.starts_with("C compiles:")).unwrap_or_else(|| panic!("no C compiles line in:\n{}", stderr)).to_string()
}

#[test]
fn a_second_build_compiles_no_c_and_a_changed_header_compiles_again() {
    let dir = fresh_dir("c-units");
    let cache = dir.join("cache");
    std::fs::write(dir.join("lib.h"), "#define BASE 40\n").unwrap();
    std::fs::write(dir.join("lib.c"), "#include \"lib.h\"\nint answer(void) { return BASE + 2; }\n").unwrap();
    std::fs::write(
        dir.join("main.sx"),
        "#import \"modules/std.sx\";\nu :: #import c { #source \"lib.c\"; };\nanswer :: () -> i32 extern u;\nAT_COMPILE_TIME :: #run answer();\nmain :: () { print(\"{} {}\\n\", answer(), AT_COMPILE_TIME); }\n",
    )
    .unwrap();
    let (main, exe) = (dir.join("main.sx"), dir.join("main"));
    assert!(build_stats(&main, &cache, &exe).starts_with("C compiles: 1 (objects reused from the cache: 0"));
    let run = Command::new(&exe).output().expect("run the program");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "42 42\n");
    assert_eq!(build_stats(&main, &cache, &exe), "C compiles: 0 (objects reused from the cache: 1, shared-object links: 0)");
    std::fs::write(dir.join("lib.h"), "#define BASE 50\n").unwrap();
    assert!(build_stats(&main, &cache, &exe).starts_with("C compiles: 1 (objects reused from the cache: 0"));
    let run = Command::new(&exe).output().expect("run the program");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "52 52\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Compiled code (JIT and executable) writes a C global and C sees the write.
#[test]
fn compiled_code_writes_c_globals() {
    let dir = fresh_dir("c-globals");
    std::fs::write(dir.join("g.c"), "int hits = 5;\ndouble ratio = 0.5;\nint read_hits(void) { return hits; }\n").unwrap();
    std::fs::write(
        dir.join("main.sx"),
        "#import \"modules/std.sx\";\ng :: #import c { #source \"g.c\"; };\nhits : i32 extern;\nratio : f64 extern g;\nread_hits :: () -> i32 extern g;\nmain :: () { hits += 10; ratio = ratio * 3.0; print(\"{} {} {}\\n\", hits, read_hits(), ratio); }\n",
    )
    .unwrap();
    let main = dir.join("main.sx");
    let cache = dir.join("cache");
    let jit = Command::new(env!("CARGO_BIN_EXE_sx"))
        .arg("run")
        .arg(&main)
        .env("SX_CACHE_DIR", &cache)
        .env_remove("SX_STDLIB_PATH")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&jit.stdout), "15 15 1.500000\n", "stderr: {}", String::from_utf8_lossy(&jit.stderr));
    let exe = dir.join("main");
    build_stats(&main, &cache, &exe);
    let aot = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&aot.stdout), "15 15 1.500000\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--c-import-report` lists what a header's translation left out, and why, on stderr.
#[test]
fn c_import_report_lists_what_was_left_out() {
    let dir = fresh_dir("c-report");
    std::fs::write(dir.join("h.h"), "long double ld_half(long double x);\nint plain(int x);\n#define SQUARE(x) ((x)*(x))\n").unwrap();
    std::fs::write(
        dir.join("main.sx"),
        "#import \"modules/std.sx\";\nu :: #import c { #include \"h.h\"; };\nmain :: () { print(\"{}\\n\", u.plain); }\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .args(["check", "--c-import-report"])
        .arg(dir.join("main.sx"))
        .env("SX_CACHE_DIR", dir.join("cache"))
        .env_remove("SX_STDLIB_PATH")
        .env_remove("SX_C_IMPORT_REPORT")
        .output()
        .expect("spawn sx");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("C import of h.h: 2 C declaration(s) left out of the translation:"), "stderr:\n{stderr}");
    assert!(stderr.contains("ld_half  parameter `x`: `long double`"), "stderr:\n{stderr}");
    assert!(stderr.contains("SQUARE   a function-like macro"), "stderr:\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
