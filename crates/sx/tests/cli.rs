//! Command-line behaviour: the IR printer, targets, diagnostics and exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("root")
}

fn sx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sx")).args(args).current_dir(root()).output().expect("run sx")
}

#[test]
fn ir_text_is_stable() {
    let o = sx(&["ir", "--target", "x86_64-linux", "examples/ir/add.sx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    // Symbol suffixes are numbered in lowering order; the shape is what matters here.
    expect_test::expect![[r#"
        target x86_64-linux
        entry main

        function main.0 () -> (i32) {
        block0():
            v0 = iconst.i64 40
            v1 = iconst.i64 2
            v2 = call add.1(v0, v1)
            v3 = trunc.i32 v2
            return v3
        }

        function main () -> (i32) export {
        block0():
            v0 = call main.0()
            v1 = iconst.i32 255
            v2 = and v0, v1
            return v2
        }

        function add.1 (i64, i64) -> (i64) {
            ss0 = slot 0, align 8
            ss1 = slot 0, align 8
        block0(v0: i64, v1: i64):
            v8 = iadd v0, v1
            return v8
        }
    "#]]
    .assert_eq(&text);
}

#[test]
fn aarch64_object_is_emitted() {
    let dir = std::env::temp_dir().join(format!("sx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("hello_arm");
    let o = sx(&["build", "--target", "aarch64-linux", "examples/hello.sx", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let obj = std::fs::read(out.with_extension("o")).expect("object written");
    // ELF, e_machine = EM_AARCH64 (183).
    assert_eq!(&obj[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 183);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_target_is_a_diagnostic() {
    let o = sx(&["run", "--target", "sparc-sunos", "examples/hello.sx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown target 'sparc-sunos'"));
}

#[test]
fn missing_file_is_a_diagnostic() {
    let o = sx(&["run", "examples/does-not-exist.sx"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot read 'examples/does-not-exist.sx'"), "{err}");
}

#[test]
fn garbage_input_never_panics() {
    let dir = std::env::temp_dir().join(format!("sx-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let alphabet = b"main :: () { x := 1; } ( ) [ ] { } . , ; : = + - * / # \" ' $ @ ! ? < > & | ^ ~ 0 9 a z _ \n #run #import if else while for return struct print";
    for round in 0..40 {
        let mut src = Vec::new();
        for _ in 0..(50 + round * 10) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let f = dir.join(format!("g{round}.sx"));
        std::fs::write(&f, &src).unwrap();
        let o = sx(&["run", "--vm", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked") && !err.contains("internal compiler error"), "round {round}: {err}");
        assert!(o.status.code().is_some(), "round {round}: killed by a signal");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn comptime_memory_flag_limits_compile_time_memory() {
    let prog = "examples/comptime/big_table.sx";
    let o = sx(&["run", "--comptime-memory", "64K", prog]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("comptime memory limit exceeded") && err.contains("limit 65536 bytes"), "{err}");
    assert!(err.contains("big_table.sx:11:15"), "{err}");
    for ok in ["1M", "1048576", "2mib", "1G"] {
        let o = sx(&["run", "--comptime-memory", ok, prog]);
        assert!(o.status.success(), "{ok}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = sx(&["run", "--comptime-memory", "12Q", prog]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a byte count"));
}

/// A baked `#run` result no longer counts against the comptime memory budget: 200 constants of
/// 2 KiB each (400 KiB in all) fit in a 256 KiB budget.
#[test]
fn baked_results_free_their_comptime_memory() {
    let mut src = String::from("#import \"modules/std.sx\";\n");
    src += "block :: (seed: u8) -> [2048]u8 { b : [2048]u8; for 0..2048 (i) { b[i] = seed + xx (i % 7); } return b; }\n";
    let mut sum = String::new();
    for i in 0..200 {
        src += &format!("B{i} :: #run block({i});\n");
        sum += &format!("s += B{i}[{i}]; ");
    }
    src += &format!("main :: () {{ s := 0; {sum} print(\"{{}}\\n\", s); }}\n");
    let path = std::env::temp_dir().join(format!("sx_many_runs_{}.sx", std::process::id()));
    std::fs::write(&path, src).expect("write");
    let o = sx(&["run", "--comptime-memory", "256K", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Element i of block(i) is i + i % 7 (mod 256, as u8), widened to i64 by the sum.
    let want: i64 = (0..200).map(|i: i64| (i + i % 7) % 256).sum();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), want.to_string());
}

/// Module-level `inline if` on `ARCH` follows `--target`: each target compiles its own arm.
#[test]
fn module_inline_if_follows_the_target() {
    let src = "inline if ARCH == .aarch64 { PICK :: 7001; } else { PICK :: 9001; }\nmain :: () -> i32 { return PICK; }\n";
    let path = std::env::temp_dir().join(format!("sx_arch_pick_{}.sx", std::process::id()));
    std::fs::write(&path, src).expect("write");
    let ir = |target: &str| {
        let o = sx(&["ir", "--target", target, path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (arm, x86) = (ir("aarch64-linux"), ir("x86_64-linux"));
    let _ = std::fs::remove_file(&path);
    assert!(arm.contains("7001") && !arm.contains("9001"), "{arm}");
    assert!(x86.contains("9001") && !x86.contains("7001"), "{x86}");
}

/// `sx build` runs the `on_build` callback after code generation: it sees the build settings,
/// adds a link flag and links through the default pipeline; the callback and the pipeline are
/// not in the executable. A callback that returns false fails the build; one that never links
/// leaves no executable.
#[test]
fn build_callback_drives_the_build() {
    let tmp = std::env::temp_dir().join(format!("sx_on_build_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let exe = tmp.join("prog");
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .args(["build", "examples/build/on_build.sx", "-o", exe.to_str().unwrap()])
        .current_dir(root())
        .env("SX_BUILD_VERBOSE", "1")
        .output()
        .expect("run sx");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}{}", out, String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("[build] target x86_64-linux") && out.contains("[build] 1 extra flag(s), last -Wl,-z,noexecstack"), "{out}");
    let run = Command::new(&exe).output().expect("run the executable");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "runtime main\n");
    let symbols = Command::new("nm").arg(&exe).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    assert!(!symbols.contains("custom_build") && !symbols.contains("default_pipeline"), "build-only code in the executable");

    let write = |name: &str, body: &str| {
        let p = tmp.join(name);
        let src = format!(
            "#import \"modules/std.sx\";\n#import \"modules/build.sx\";\n#import \"modules/compiler.sx\";\n{body}\nmain :: () {{ }}\n"
        );
        std::fs::write(&p, src).expect("write");
        p
    };
    let refuses = write("refuses.sx", "no :: (opt: BuildOptions) -> bool { return false; }\n#run on_build(no);");
    let o = sx(&["build", refuses.to_str().unwrap(), "-o", tmp.join("refused").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the build callback returned false"));
    assert!(!tmp.join("refused").exists());
    let check_only =
        write("check.sx", "check :: (opt: BuildOptions) -> bool { print(\"checked\\n\"); return true; }\n#run on_build(check);");
    let o = sx(&["build", check_only.to_str().unwrap(), "-o", tmp.join("unlinked").to_str().unwrap()]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("checked"));
    assert!(!tmp.join("unlinked").exists(), "a callback that does not link leaves no executable");
    let early = write("early.sx", "#run emit_object();");
    let o = sx(&["build", early.to_str().unwrap(), "-o", tmp.join("early").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("'emit_object' runs only in the build callback"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Writes `src` to a fresh file in the temp directory (named after `name` and this process).
fn temp_program(name: &str, src: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("sx_cli_{}_{}.sx", name, std::process::id()));
    std::fs::write(&path, src).expect("write");
    path
}

/// `sx check` runs the front end and compile-time code: a `#run` that fails is an error (exit
/// 1, the diagnostic on stderr); a problem only running the program would hit is not (exit 0,
/// no output), although `sx run` of the same program fails.
#[test]
fn check_runs_compile_time_code_but_not_the_program() {
    let helper = "#import \"modules/std.sx\";\nat :: (i: int) -> int { a: [4]int; return a[i]; }\n";
    let bad_run = temp_program("check_run_error", &format!("{helper}X :: #run at(9);\nmain :: () {{ print(\"{{}}\\n\", X); }}\n"));
    let o = sx(&["check", bad_run.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("index out of bounds") && err.contains("error: compile-time code called exit(1)"), "{err}");
    assert!(err.contains("check_run_error") && err.contains(":3:11"), "{err}");
    assert!(o.stdout.is_empty());

    let bad_at_run_time = temp_program("check_runtime_error", &format!("{helper}main :: () {{ print(\"{{}}\\n\", at(9)); }}\n"));
    let o = sx(&["check", bad_at_run_time.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "check prints nothing on success");
    let o = sx(&["run", bad_at_run_time.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "the program itself fails");
    assert!(String::from_utf8_lossy(&o.stderr).contains("index out of bounds"));
    let _ = std::fs::remove_file(&bad_run);
    let _ = std::fs::remove_file(&bad_at_run_time);

    let o = sx(&["check", "--target", "aarch64-linux", "examples/std/compress_codecs.sx"]);
    assert!(o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `--time` prints one row per phase that ran, then the total.
#[test]
fn time_prints_the_phase_table() {
    let prog = temp_program(
        "time_phases",
        "#import \"modules/std.sx\";\nsq :: (n: int) -> int { return n * n; }\nN :: #run sq(7);\nmain :: () { print(\"{}\\n\", N); }\n",
    );
    let exe = std::env::temp_dir().join(format!("sx_cli_time_{}", std::process::id()));
    let o = sx(&["build", "--time", prog.to_str().unwrap(), "-o", exe.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let rows: Vec<&str> = err.lines().map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name.trim())).collect();
    assert_eq!(rows, ["phase", "parse", "sema", "comptime VM", "IR passes", "codegen", "link", "total"], "{err}");
    for line in err.lines().skip(1) {
        let ms = line.rsplit(' ').next().unwrap_or("");
        assert!(ms.parse::<f64>().is_ok_and(|v| v >= 0.0), "not a time: {line}");
    }
    let run = Command::new(&exe).output().expect("run the executable");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "49\n");

    // `run` has no link step; `check` neither codegen nor link.
    let o = sx(&["run", "--time", prog.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "49\n");
    assert!(err.contains("codegen") && !err.contains("link") && err.contains("total"), "{err}");
    let o = sx(&["check", "--time", prog.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("sema") && !err.contains("codegen") && err.contains("total"), "{err}");
    let o = sx(&["check", prog.to_str().unwrap()]);
    assert!(o.stderr.is_empty(), "no table without --time");
    let _ = std::fs::remove_file(&prog);
    let _ = std::fs::remove_file(&exe);
}

/// Every `--opt` level compiles a program correctly, in the JIT and as an executable; other
/// levels are a usage error.
#[test]
fn opt_levels_run_correctly() {
    let prog = "examples/std/compress_codecs.sx";
    let want = std::fs::read_to_string(root().join("examples/std/compress_codecs.stdout")).expect("expected output");
    for level in ["0", "1", "2", "3"] {
        let o = sx(&["run", "--opt", level, prog]);
        assert!(o.status.success(), "--opt {level}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), want, "--opt {level}");
    }
    for level in ["0", "3"] {
        let exe = std::env::temp_dir().join(format!("sx_cli_opt{}_{}", level, std::process::id()));
        let o = sx(&["build", "--opt", level, prog, "-o", exe.to_str().unwrap()]);
        assert!(o.status.success(), "--opt {level}: {}", String::from_utf8_lossy(&o.stderr));
        let run = Command::new(&exe).current_dir(root()).output().expect("run the executable");
        let _ = std::fs::remove_file(&exe);
        assert_eq!(String::from_utf8_lossy(&run.stdout), want, "built with --opt {level}");
    }
    let o = sx(&["run", "--opt", "4", "examples/hello.sx"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--color always` colours diagnostics with ANSI escapes; `never`, and `auto` when stderr is
/// not a terminal (as here), render them plain.
#[test]
fn color_flag_controls_ansi_escapes() {
    let prog = temp_program("color", "main :: () { x := zz; }\n");
    let diag = |args: &[&str]| {
        let o = sx(args);
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let p = prog.to_str().unwrap();
    let colored = diag(&["check", "--color", "always", p]);
    assert!(colored.contains("\x1b[") && colored.contains("zz"), "{colored:?}");
    for plain in [diag(&["check", "--color", "never", p]), diag(&["check", p]), diag(&["run", "--color", "auto", p])] {
        assert!(!plain.contains('\x1b') && plain.contains("error: ") && plain.contains("zz"), "{plain:?}");
    }
    let _ = std::fs::remove_file(&prog);
}

/// A `#library` whose development symlink (`libNAME.so`) is missing is found by its versioned
/// name (`libNAME.so.1`), at compile time and by the JIT.
#[test]
fn a_library_without_its_dev_symlink_is_found_by_soname() {
    let zlib = Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    if !zlib.exists() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("sx_soname_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let _ = std::fs::remove_file(tmp.join("libsxz.so.1"));
    std::os::unix::fs::symlink(zlib, tmp.join("libsxz.so.1")).expect("symlink");
    let src = std::fs::read_to_string(root().join("examples/ffi/zlib_library.sx")).expect("example");
    let prog = tmp.join("prog.sx");
    std::fs::write(&prog, src.replace("#library \"z\"", "#library \"sxz\"")).expect("write program");
    for args in [&["run", "--vm"][..], &["run"][..]] {
        let o = Command::new(env!("CARGO_BIN_EXE_sx"))
            .args(args)
            .arg(&prog)
            .current_dir(root())
            .env("LD_LIBRARY_PATH", &tmp)
            .output()
            .expect("run sx");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.contains("agree: true, known value: true"),
            "{:?}: {}{}",
            args,
            out,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--comptime-jit=on` (the native comptime tier) gives the same results and the same
/// diagnostics as the interpreter on compile-time loops long enough for the tier to take over.
#[test]
fn comptime_jit_flag_keeps_results_and_diagnostics() {
    let dir = std::env::temp_dir().join(format!("sx-cli-comptime-jit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut outputs = Vec::new();
    for mode in ["--comptime-jit=off", "--comptime-jit=on"] {
        let exe = dir.join(format!("hot{}", outputs.len()));
        let b = sx(&["build", "examples/comptime/hot_loops.sx", "-o", exe.to_str().expect("path"), mode]);
        assert!(b.status.success(), "{}: {}", mode, String::from_utf8_lossy(&b.stderr));
        let run = Command::new(&exe).output().expect("run the program");
        let fault = sx(&["build", "examples/diagnostics/comptime_hot_fault.sx", "-o", exe.to_str().expect("path"), mode]);
        assert!(!fault.status.success(), "{}: the fault was not reported", mode);
        outputs.push((run.stdout, fault.stderr));
    }
    assert_eq!(String::from_utf8_lossy(&outputs[0].0), "25997 2864133 46368 1122040411 396298401\n");
    assert_eq!(outputs[0], outputs[1], "the tier changed a result or a diagnostic");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sx run --vm` of a program whose run-time code reaches inline assembly: a located error
/// naming the reason (the VM does not execute target machine code), not a crash.
#[test]
fn inline_assembly_on_the_vm_is_a_located_error() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sx-cache");
    let o = Command::new(env!("CARGO_BIN_EXE_sx"))
        .args(["run", "--vm", "--color", "never", "examples/asm/operands.sx"])
        .current_dir(root())
        .env("SX_CACHE_DIR", cache)
        .output()
        .expect("run sx");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error: inline assembly cannot run on the VM"), "{err}");
    assert!(err.contains("--> examples/asm/operands.sx:56:5"), "{err}");
}
