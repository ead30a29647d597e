//! The system headers end to end: preprocessor, parser, translation, sx parser; the cache;
//! the errors of a failing compiler.

use super::assert_parses;
use crate::{report, translate, CUnit, HeaderRef, Options};
use std::time::Instant;

/// The headers every translation test covers (zlib1g-dev and libsqlite3-dev provide the last
/// two; `.ci/run` installs them).
pub(super) const HEADERS: &[&str] = &["stdio.h", "stdlib.h", "string.h", "math.h", "zlib.h", "sqlite3.h", "pthread.h"];

pub(super) fn system_unit(headers: &[&str]) -> CUnit {
    for h in headers {
        let path = std::path::Path::new("/usr/include").join(h);
        assert!(path.exists(), "{} is missing: install zlib1g-dev and libsqlite3-dev (see .ci/run)", path.display());
    }
    CUnit { headers: headers.iter().map(|h| HeaderRef::System(format!("<{h}>"))).collect(), ..CUnit::default() }
}

#[test]
fn each_system_header_translates_and_parses() {
    for h in HEADERS {
        let t0 = Instant::now();
        let t = match translate(&system_unit(&[h]), &Options::default()) {
            Ok(t) => t,
            Err(e) => panic!("{h}: {}", e.message),
        };
        assert_parses(&t.sx_source);
        assert!(t.deps.iter().any(|d| d.ends_with(h)), "{h} is not among the dependencies {:?}", t.deps);
        let unparsed: Vec<_> = t.skipped.iter().filter(|s| s.name.starts_with("<C declaration")).collect();
        assert!(unparsed.is_empty(), "{h}: lang-c could not parse {unparsed:?}");
        eprintln!("{h}: {} lines, {} left out, {:?}", t.sx_source.lines().count(), t.skipped.len(), t0.elapsed());
    }
}

#[test]
fn all_headers_in_one_unit() {
    let t = translate(&system_unit(HEADERS), &Options::default()).unwrap_or_else(|e| panic!("{}", e.message));
    assert_parses(&t.sx_source);
    for needle in [
        "printf :: (__format: [*]u8, ..args: []any) -> i32 extern;",
        "fscanf :: (__stream: *FILE, __format: [*]u8, ..args: []any) -> i32 extern \"__isoc99_fscanf\";",
        "stdout : *FILE extern;",
        "FILE :: struct__IO_FILE;",
        "EOF :: -1;",
        "exit :: (__status: i32) extern noreturn;",
        "z_stream :: struct_z_stream_s;",
        "SQLITE_OK :: 0;",
        "sqlite3 :: struct_sqlite3;",
        "struct_sqlite3 :: struct {} // opaque",
        "sqlite3_open :: (filename: [*]u8, ppDb: **sqlite3) -> i32 extern;",
        "M_PI : f64 : 3.141592653589793;",
        "pthread_create :: (",
        "div_t :: struct {",
    ] {
        assert!(t.sx_source.contains(needle), "missing `{needle}` in the translation");
    }
    let r = report(&t);
    assert!(r.contains("vprintf") && r.contains("va_list"), "{r}");
    // Deterministic: the same input gives the same text.
    let again = translate(&system_unit(HEADERS), &Options::default()).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(t, again);
}

#[test]
fn cache_cold_and_warm() {
    let dir = std::env::temp_dir().join(format!("sx-cimport-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = Options { cache_dir: Some(dir.clone()), ..Options::default() };
    let unit = system_unit(&["stdio.h", "sqlite3.h"]);
    let t0 = Instant::now();
    let cold = translate(&unit, &opts).unwrap_or_else(|e| panic!("{}", e.message));
    let cold_time = t0.elapsed();
    let t1 = Instant::now();
    let warm = translate(&unit, &opts).unwrap_or_else(|e| panic!("{}", e.message));
    let warm_time = t1.elapsed();
    assert_eq!(cold, warm);
    let uncached = translate(&unit, &Options::default()).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(cold, uncached);
    // A different define is a different key.
    let mut other = unit.clone();
    other.defines.push("SX_CIMPORT_TEST_ONLY=1".into());
    let t = translate(&other, &opts).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(t.sx_source, cold.sx_source);
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert!(files >= 3, "expected translation and manifest files in {}", dir.display());
    eprintln!("stdio.h + sqlite3.h: cold {cold_time:?}, warm {warm_time:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_header_lists_the_search_path() {
    let unit = CUnit {
        headers: vec![HeaderRef::System("\"sx_no_such_header.h\"".into())],
        include_dirs: vec!["/nonexistent/sx-include".into()],
        ..CUnit::default()
    };
    let e = translate(&unit, &Options::default()).expect_err("a missing header must fail");
    assert!(e.message.contains("sx_no_such_header.h"), "{}", e.message);
    assert!(e.message.contains("searched:") && e.message.contains("/nonexistent/sx-include"), "{}", e.message);
    assert!(e.message.contains("/usr/include"), "{}", e.message);
}

#[test]
fn compiler_diagnostics_are_the_error() {
    let dir = std::env::temp_dir().join(format!("sx-cimport-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let header = dir.join("bad.h");
    std::fs::write(&header, "#error this header refuses\nint x;\n").expect("write header");
    let unit = CUnit { headers: vec![HeaderRef::Path(header)], ..CUnit::default() };
    let e = translate(&unit, &Options::default()).expect_err("#error must fail");
    assert!(e.message.contains("this header refuses"), "{}", e.message);
    let unit = CUnit { headers: vec![HeaderRef::System("<stdio.h>".into())], ..CUnit::default() };
    let e = translate(&unit, &Options { cc: "/nonexistent/sx-cc".into(), ..Options::default() }).expect_err("no compiler");
    assert!(e.message.contains("/nonexistent/sx-cc"), "{}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn defines_and_include_dirs_reach_the_preprocessor() {
    let dir = std::env::temp_dir().join(format!("sx-cimport-defs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("unit.h"), "#ifdef WANT_IT\nint wanted(int x);\n#endif\n#define BASE (CDEF_BASE + 1)\n").expect("write");
    let unit = CUnit {
        headers: vec![HeaderRef::System("\"unit.h\"".into())],
        defines: vec!["WANT_IT".into(), "CDEF_BASE=41".into()],
        include_dirs: vec![dir.clone()],
        flags: vec!["-O2".into()],
    };
    let t = translate(&unit, &Options::default()).unwrap_or_else(|e| panic!("{}", e.message));
    assert!(t.sx_source.contains("wanted :: (x: i32) -> i32 extern;"), "{}", t.sx_source);
    assert!(t.sx_source.contains("BASE :: 42;"), "{}", t.sx_source);
    assert!(!t.sx_source.contains("CDEF_BASE"), "command-line defines are not emitted: {}", t.sx_source);
    assert!(t.deps.contains(&dir.join("unit.h")), "{:?}", t.deps);
    let _ = std::fs::remove_dir_all(&dir);
}
