//! `sx build -g`: gdb in batch mode breaks on an sx line, shows sx function names and lines in
//! `bt`, and `next` moves to the next line. gdb must be installed (`.ci/run` installs it): a
//! missing gdb fails the test.

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

/// A fresh directory holding `prog.sx`.
fn program_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-debuginfo-{}-{}", tag, std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("prog.sx"), PROGRAM).expect("write prog.sx");
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
    assert!(stop.contains("add (") && stop.ends_with("at prog.sx:4"), "stop line: {}", stop);
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
    assert!(line_starting(&out, "Breakpoint 1, ").ends_with("add () at prog.sx:4"), "stop:\n{}", out);
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
