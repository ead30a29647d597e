//! `sx build -g`: gdb in batch mode breaks on an sx line, shows sx function names and lines in
//! `bt`, `next` moves to the next line, and parameters and locals print with their sx types
//! (integers, floats, bools, strings, slices, structs, arrays, pointers, enums), a shadowing
//! local only in its block; the same for `sx run -g` through gdb's JIT interface. gdb must be installed (`.ci/run` installs it): a missing gdb fails
//! the test rather than passing it unseen.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = r#"#import "modules/std.sx";

add :: (a: i64, b: i64) -> i64 {
    s := a + b;
    return s * 2;
}

main :: () {
    x := 3;
    y := add(x, 4);
    print("{}\n", y);
    z := y + 1;
    print("{}\n", z);
}
"#;

/// Variables of many types, a slice parameter, a shadowing local in a block.
const VARS_PROGRAM: &str = r#"#import "modules/std.sx";

Point :: struct { x: i64; y: f64; }
Color :: enum { red; green; blue; }

scale :: (p: Point, k: f64) -> f64 {
    r := p.y * k;
    return r;
}

sum :: (xs: []i64, bias: i64) -> i64 {
    total := bias;
    for xs (x) {
        total += x;
    }
    return total;
}

main :: () {
    count := 3;
    label := "hello";
    origin := Point.{x = 7, y = 2.5};
    ready := true;
    digits: [3]i32 = .[4, 5, 6];
    at := *origin;
    tint := Color.green;
    f := scale(origin, 2.0);
    s := sum(digits_view(), 1);
    {
        count := 10;
        print("{} {}\n", count, label);
    }
    print("{} {} {} {} {} {}\n", count, ready, digits[1], at.x, f, s);
}

digits_view :: () -> []i64 {
    d: [2]i64 = .[20, 22];
    v: []i64 = d;
    return v;
}
"#;

/// A fresh directory holding `prog.sx`.
fn program_dir(tag: &str) -> PathBuf {
    program_dir_with(tag, PROGRAM)
}

/// A fresh directory holding `prog.sx` with the text `program`.
fn program_dir_with(tag: &str, program: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-debuginfo-{}-{}", tag, std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("prog.sx"), program).expect("write prog.sx");
    dir
}

/// Builds `prog.sx` in `dir` into `prog` with `args`; returns the executable's path.
fn build(dir: &Path, args: &[&str]) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .arg("build")
        .args(args)
        .args(["prog.sx", "-o", "prog"])
        .current_dir(dir)
        .output()
        .expect("run sx");
    assert!(o.status.success(), "sx build failed: {}", String::from_utf8_lossy(&o.stderr));
    dir.join("prog")
}

/// Runs gdb in batch mode on `exe` with the commands `cmds`; returns its stdout.
fn gdb(dir: &Path, exe: &Path, cmds: &[&str]) -> String {
    let mut c = Command::new("gdb");
    // gdb takes `.sx` for assembler-with-cpp (no prologue skipping) unless told otherwise.
    c.args(["-nx", "-batch", "-iex", "set extension-language .sx c", "-ex", "set debuginfod enabled off", "-ex", "set style enabled off"]);
    for cmd in cmds {
        c.args(["-ex", cmd]);
    }
    let o = match c.arg(exe).current_dir(dir).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run gdb ({}): install it (`apt-get install gdb`; .ci/run does)", e),
    };
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("gdb stdout:\n{}\ngdb stderr:\n{}", text, String::from_utf8_lossy(&o.stderr));
    text
}

/// The line of `text` that starts with `prefix`, or a panic naming what was expected.
fn line_starting<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line starting with {:?} in gdb output:\n{}", prefix, text))
}

fn break_bt_next(opt: &str) {
    let dir = program_dir(&format!("opt{}", opt));
    let exe = build(&dir, &["-g", "--opt", opt]);
    let out = gdb(&dir, &exe, &["break prog.sx:4", "run", "bt", "next", "info line", "next", "next", "info line", "continue"]);
    // Stops at the sx line, in the sx function.
    let stop = line_starting(&out, "Breakpoint 1, ");
    assert!(stop.contains("add (a=3, b=4)") && stop.ends_with("at prog.sx:4"), "stop line: {}", stop);
    assert!(out.contains("\n4\t    s := a + b;\n"), "source line 4 not shown:\n{}", out);
    // `bt` names the sx functions with their lines.
    assert!(line_starting(&out, "#0  add (").ends_with("at prog.sx:4"), "frame 0:\n{}", out);
    let caller = line_starting(&out, "#1 ");
    assert!(caller.contains(" in main (") && caller.ends_with("at prog.sx:10"), "frame 1: {}", caller);
    // `next` moves to the next line; twice more leaves `add` and reaches the caller's next lines.
    assert!(out.contains("\n5\t    return s * 2;\n"), "`next` did not reach line 5:\n{}", out);
    assert!(out.contains("Line 5 of \"prog.sx\""), "`info line` after `next`:\n{}", out);
    assert!(out.contains("\n11\t    print(\"{}\\n\", y);\n"), "`next` did not return to line 11:\n{}", out);
    assert!(out.contains("\n12\t    z := y + 1;\n"), "`next` did not reach line 12:\n{}", out);
    assert!(out.contains("Line 12 of \"prog.sx\""), "`info line` after the last `next`:\n{}", out);
    assert!(out.contains("exited normally"), "the program did not finish:\n{}", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gdb_breaks_steps_and_backtraces_at_opt0() {
    break_bt_next("0");
}

#[test]
fn gdb_breaks_steps_and_backtraces_at_default_opt() {
    break_bt_next("2");
}

#[test]
fn function_breakpoint_skips_the_prologue() {
    let dir = program_dir("fnbreak");
    let exe = build(&dir, &["-g"]);
    let out = gdb(&dir, &exe, &["break add", "run", "bt 1"]);
    assert!(line_starting(&out, "Breakpoint 1 at ").ends_with("file prog.sx, line 4."), "breakpoint not on add's first line:\n{}", out);
    assert!(line_starting(&out, "Breakpoint 1, ").ends_with("add (a=3, b=4) at prog.sx:4"), "stop:\n{}", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_info_does_not_change_the_program() {
    let dir = program_dir("same");
    let plain = Command::new(build(&dir, &[])).output().expect("run plain build");
    let with_g = Command::new(build(&dir, &["-g"])).output().expect("run -g build");
    assert_eq!(plain.stdout, b"14\n15\n");
    assert_eq!(with_g.stdout, plain.stdout);
    assert_eq!(with_g.status.code(), plain.status.code());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cross_target_object_carries_debug_sections() {
    let dir = program_dir("arm");
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .args(["build", "-g", "--target", "aarch64-linux", "prog.sx", "-o", "prog"])
        .current_dir(&dir)
        .output()
        .expect("run sx");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let obj = std::fs::read(dir.join("prog.o")).expect("object written");
    for name in [&b".debug_info"[..], b".debug_line", b".debug_abbrev", b".eh_frame"] {
        assert!(obj.windows(name.len()).any(|w| w == name), "no {} section", String::from_utf8_lossy(name));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines of `text` from the first one starting with `from` up to (not including) the next
/// one starting with `to`.
fn section<'a>(text: &'a str, from: &str, to: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with(from)).unwrap_or_else(|| panic!("no {:?} in gdb output:\n{}", from, text));
    let end = lines[start + 1..].iter().position(|l| l.starts_with(to)).map_or(lines.len(), |n| start + 1 + n);
    lines[start..end].to_vec()
}

fn parameters_and_locals(opt: &str) {
    let dir = program_dir_with(&format!("vars{}", opt), VARS_PROGRAM);
    let exe = build(&dir, &["-g", "--opt", opt]);
    let out = gdb(
        &dir,
        &exe,
        &[
            "break prog.sx:20",
            "break prog.sx:14",
            "break prog.sx:31",
            "break prog.sx:33",
            "run",
            "next",
            "info line",
            "print count",
            "continue",
            "bt",
            "info args",
            "print x",
            "print total",
            "print xs.ptr[1]",
            "delete 2",
            "continue",
            "info locals",
            "print *at",
            "print label.len",
            "print origin.y + 1",
            "continue",
            "print count",
            "info locals",
            "continue",
        ],
    );
    // `next` from the first line of `main` reaches the second, where `count` holds 3.
    assert!(out.contains("\n21\t    label := \"hello\";\n"), "`next` did not reach line 21:\n{}", out);
    assert!(out.contains("Line 21 of \"prog.sx\""), "`info line` after `next`:\n{}", out);
    // Parameters in the stop line, `bt` and `info args`; a local and the loop variable.
    let stop = line_starting(&out, "Breakpoint 2, ");
    assert!(stop.starts_with("Breakpoint 2, sum (xs=..., bias=1) at prog.sx:14"), "stop line: {}", stop);
    assert!(line_starting(&out, "#0  sum (xs=..., bias=1) at prog.sx:14").len() > 0);
    assert!(line_starting(&out, "#1 ").contains(" in main () at prog.sx:28"), "frame 1:\n{}", out);
    for want in ["xs = {ptr = 0x", "bias = 1"] {
        assert!(out.lines().any(|l| l.starts_with(want)), "no {:?} in `info args`:\n{}", want, out);
    }
    let values: Vec<&str> = out.lines().filter(|l| l.starts_with('$')).map(|l| l.split_once(" = ").map_or(l, |(_, v)| v)).collect();
    // count, x, total, xs.ptr[1], *at, label.len, origin.y + 1, count after the block.
    assert_eq!(values, ["3", "20", "1", "22", "{x = 7, y = 2.5}", "5", "3.5", "3"], "printed values:\n{}", out);
    // Every local of `main` with its value inside the block: the shadowing `count` first.
    let inner = section(&out, "Breakpoint 3, ", "$");
    let want = [
        "count = 10",
        "count = 3",
        "label = {ptr = 0x",
        "origin = {x = 7, y = 2.5}",
        "ready = true",
        "digits = {4, 5, 6}",
        "at = 0x",
        "tint = green",
        "f = 5",
        "s = 43",
    ];
    let locals: Vec<&str> = inner.iter().copied().filter(|l| l.contains(" = ")).collect();
    assert_eq!(locals.len(), want.len(), "`info locals` in the block:\n{}", inner.join("\n"));
    for (got, want) in locals.iter().zip(want) {
        assert!(got.starts_with(want), "`info locals` line {:?}, want {:?}:\n{}", got, want, inner.join("\n"));
    }
    assert!(locals[2].ends_with("\"hello\", len = 5}"), "the string: {}", locals[2]);
    // After the block only the outer `count` is visible.
    let outer = section(&out, "Breakpoint 4, ", "[Inferior");
    assert_eq!(outer.iter().filter(|l| l.starts_with("count = ")).count(), 1, "after the block:\n{}", outer.join("\n"));
    assert!(out.contains("exited normally"), "the program did not finish:\n{}", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gdb_prints_parameters_and_locals_at_opt0() {
    parameters_and_locals("0");
}

#[test]
fn gdb_prints_parameters_and_locals_at_default_opt() {
    parameters_and_locals("2");
}

#[test]
fn run_on_the_vm_with_debug_info_is_a_named_error() {
    let dir = program_dir("runvm");
    let o = Command::new(env!("CARGO_BIN_EXE_sx")).args(["run", "--vm", "-g", "prog.sx"]).current_dir(&dir).output().expect("run sx");
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("not supported yet: -g with `sx run --vm`"), "{}", stderr);
    assert!(o.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sx run -g` under gdb: the JIT registers the program's DWARF through gdb's JIT interface,
/// so a pending breakpoint on an sx line resolves, and parameters, locals, `bt` and `next` work
/// as in a built program.
#[test]
fn gdb_debugs_the_jit_of_sx_run() {
    let dir = program_dir_with("jit", VARS_PROGRAM);
    let mut c = Command::new("gdb");
    c.args(["-nx", "-batch", "-iex", "set extension-language .sx c", "-ex", "set debuginfod enabled off", "-ex", "set style enabled off"]);
    for cmd in [
        "set breakpoint pending on",
        "break prog.sx:14",
        "break prog.sx:31",
        "run",
        "bt 3",
        "print x",
        "print total",
        "delete 1",
        "continue",
        "info locals",
        "next",
        "print count",
        "continue",
    ] {
        c.args(["-ex", cmd]);
    }
    c.args(["--args", env!("CARGO_BIN_EXE_sx"), "run", "-g", "prog.sx"]);
    let o = match c.current_dir(&dir).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run gdb ({}): install it (`apt-get install gdb`; .ci/run does)", e),
    };
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("gdb stdout:\n{}\ngdb stderr:\n{}", out, String::from_utf8_lossy(&o.stderr));
    let stop = out.lines().find(|l| l.contains("hit Breakpoint 1, ")).unwrap_or_else(|| panic!("breakpoint 1 not hit:\n{}", out));
    assert!(stop.ends_with("sum (xs=..., bias=1) at prog.sx:14"), "stop line: {}", stop);
    assert!(line_starting(&out, "#1 ").contains(" in main () at prog.sx:28"), "frame 1:\n{}", out);
    let values: Vec<&str> = out.lines().filter(|l| l.starts_with('$')).map(|l| l.split_once(" = ").map_or(l, |(_, v)| v)).collect();
    // x, total, then `count` after the block.
    assert_eq!(values, ["20", "1", "3"], "printed values:\n{}", out);
    let inner = section(&out, "Thread ", "10 hello");
    let inner: Vec<&str> = inner.iter().copied().skip_while(|l| !l.contains("hit Breakpoint 2, ")).collect();
    assert!(inner.first().is_some_and(|l| l.ends_with("main () at prog.sx:31")), "breakpoint 2:\n{}", out);
    let locals: Vec<&str> = inner.iter().copied().filter(|l| l.contains(" = ")).collect();
    assert_eq!(locals.first().copied(), Some("count = 10"), "`info locals` in the block:\n{}", out);
    assert!(locals.contains(&"count = 3") && locals.contains(&"origin = {x = 7, y = 2.5}"), "`info locals`:\n{}", out);
    assert!(out.contains("\n33\t    print("), "`next` did not reach line 33:\n{}", out);
    assert!(out.contains("3 true 5 7 5.000000 43"), "the program's output:\n{}", out);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ir_shows_the_debug_tables_with_g_only() {
    let dir = program_dir("ir");
    let ir = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_sx")).arg("ir").args(args).arg("prog.sx").current_dir(&dir).output().expect("run sx");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("utf-8")
    };
    let with_g = ir(&["-g"]);
    let add = with_g.split("\nfunction ").find(|f| f.starts_with("add")).unwrap_or_else(|| panic!("no add in:\n{}", with_g));
    let debug: Vec<&str> = add.lines().map(str::trim).filter(|l| l.starts_with("debug ")).collect();
    assert_eq!(debug.len(), 3, "{}", add);
    assert!(debug[0].starts_with("debug param \"a\" ss0 dt") && debug[1].starts_with("debug param \"b\" ss1 dt"), "{:?}", debug);
    assert!(debug[2].starts_with("debug local \"s\" ss2 dt"), "{:?}", debug);
    let i64_type = with_g.lines().find(|l| l.ends_with("= debug_type \"i64\" scalar signed 8")).expect("an i64 debug type");
    assert!(debug[0].ends_with(i64_type.split(' ').next().unwrap_or("?")), "{:?}", debug);
    let plain = ir(&[]);
    assert!(!plain.contains("= debug_type ") && !plain.contains("\n    debug "), "debug tables without -g");
    let _ = std::fs::remove_dir_all(&dir);
}
