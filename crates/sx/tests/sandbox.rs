//! `--sandbox`: compile-time code cannot act on the host. Each refused call is a located
//! diagnostic naming the function and the permission that would allow it, and leaves the file
//! system as it was; pure compile-time work still runs; `--comptime-allow` re-enables effects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("root")
}

fn sx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sx")).args(args).current_dir(dir).output().expect("run sx")
}

/// A fresh directory for one test, holding `victim.txt`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-sandbox-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("victim.txt"), "precious\n").expect("victim");
    dir
}

/// Every file under `dir` (relative path → contents).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p.clone());
            }
            let bytes = if p.is_file() { std::fs::read(&p).expect("read") } else { Vec::new() };
            out.insert(p.strip_prefix(dir).expect("under dir").to_path_buf(), bytes);
        }
    }
    out
}

/// The program: `decls` (extern declarations), then `X :: #run act();` where `act` runs `body`
/// (`DIR` stands for the scratch directory).
fn program(dir: &Path, decls: &str, body: &str) -> String {
    let body = body.replace("DIR", dir.to_str().expect("utf-8 temp dir"));
    format!(
        "#import \"modules/std.sx\";\nlibc :: #library \"c\";\nFILE :: struct {{ opaque: i64; }}\n{decls}\nact :: () -> i64 {{\n    {body}\n    return 0;\n}}\nX :: #run act();\nmain :: () {{ print(\"{{}}\\n\", X); }}\n"
    )
}

/// A host effect compile-time code attempts: the C function, its declaration, the call, and
/// the permission that allows it.
struct Attempt {
    func: &'static str,
    decl: &'static str,
    call: &'static str,
    permission: &'static str,
}

const ATTEMPTS: &[Attempt] = &[
    Attempt {
        func: "system",
        decl: "system :: (cmd: cstring) -> i32 extern libc;",
        call: "system(\"touch DIR/made_by_system\");",
        permission: "process",
    },
    Attempt {
        func: "popen",
        decl: "popen :: (cmd: cstring, mode: cstring) -> *FILE extern libc;",
        call: "popen(\"touch DIR/made_by_popen\", \"r\");",
        permission: "process",
    },
    Attempt {
        func: "unlink",
        decl: "unlink :: (path: cstring) -> i32 extern libc;",
        call: "unlink(\"DIR/victim.txt\");",
        permission: "fs-write",
    },
    Attempt {
        func: "rename",
        decl: "rename :: (from: cstring, to: cstring) -> i32 extern libc;",
        call: "rename(\"DIR/victim.txt\", \"DIR/renamed.txt\");",
        permission: "fs-write",
    },
    Attempt {
        func: "fopen",
        decl: "fopen :: (path: cstring, mode: cstring) -> *FILE extern libc;",
        call: "fopen(\"DIR/victim.txt\", \"w\");",
        permission: "fs-write",
    },
    // 87 is unlink on x86-64 Linux.
    Attempt {
        func: "syscall",
        decl: "syscall :: (number: i64, path: cstring) -> i64 extern libc;",
        call: "syscall(87, \"DIR/victim.txt\");",
        permission: "ffi",
    },
    Attempt {
        func: "dlopen",
        decl: "dlopen :: (path: cstring, flags: i32) -> *void extern libc;",
        call: "dlopen(\"libm.so.6\", 2);",
        permission: "ffi",
    },
];

/// Runs `attempt` under `--sandbox` with `subcommand` and checks the diagnostic and that nothing
/// changed on disk.
fn refused(attempt: &Attempt, subcommand: &str) {
    let dir = scratch(&format!("{}-{}", attempt.func, subcommand));
    let src = dir.join("prog.sx");
    std::fs::write(&src, program(&dir, attempt.decl, attempt.call)).expect("write program");
    let before = snapshot(&dir);
    let o = sx(&dir, &[subcommand, "--sandbox", "prog.sx", "-o", "prog_bin"][..if subcommand == "build" { 5 } else { 3 }]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}: {}", attempt.func, stderr);
    let want = format!(
        "compile-time call to '{}'{}is not allowed under --sandbox (needs --comptime-allow={})",
        attempt.func,
        if attempt.func == "fopen" {
            " to open '".to_string() + dir.to_str().unwrap_or("") + "/victim.txt' for writing "
        } else {
            " ".to_string()
        },
        attempt.permission
    );
    assert!(stderr.contains(&want), "{}: want {want:?} in\n{stderr}", attempt.func);
    // Located at the call (line 6 of the program, inside `act`), with the comptime call stack.
    assert!(stderr.contains("--> prog.sx:6:5"), "{}: no location in\n{stderr}", attempt.func);
    assert!(stderr.contains("in act (called at prog.sx:9:"), "{}: no call stack in\n{stderr}", attempt.func);
    assert_eq!(snapshot(&dir), before, "{}: the file system changed", attempt.func);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn host_effects_are_refused_under_run() {
    for a in ATTEMPTS {
        refused(a, "run");
    }
}

#[test]
fn host_effects_are_refused_under_build() {
    for a in ATTEMPTS {
        refused(a, "build");
    }
}

/// The attempts are real: without `--sandbox` (or with the permission granted) they act.
#[test]
fn without_the_sandbox_the_effects_happen() {
    for a in ATTEMPTS.iter().filter(|a| a.func != "dlopen" && a.func != "syscall") {
        for sandboxed in [false, true] {
            let dir = scratch(&format!("{}-free-{}", a.func, sandboxed));
            std::fs::write(dir.join("prog.sx"), program(&dir, a.decl, a.call)).expect("write program");
            let before = snapshot(&dir);
            let allow = format!("--comptime-allow={}", a.permission);
            let args: &[&str] = if sandboxed { &["run", "--sandbox", &allow, "prog.sx"] } else { &["run", "prog.sx"] };
            let o = sx(&dir, args);
            assert!(o.status.success(), "{} {:?}: {}", a.func, args, String::from_utf8_lossy(&o.stderr));
            // `popen` returns before its shell has run: give the child a moment.
            let changed = (0..50).any(|_| {
                let now = snapshot(&dir) != before;
                if !now {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                now
            });
            assert!(changed, "{} {:?}: nothing changed", a.func, args);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[test]
fn pure_compile_time_work_runs() {
    let dir = scratch("pure");
    let decls = "snprintf :: (buf: [*]u8, n: i64, fmt: cstring, x: i64, y: f64) -> i32 extern libc;\n\
                 strlen :: (s: cstring) -> i64 extern libc;\n\
                 sqrt :: (x: f64) -> f64 extern libm;\n\
                 atoi :: (s: cstring) -> i32 extern libc;\n\
                 time :: (t: *i64) -> i64 extern libc;\n\
                 sprintf :: (buf: [*]u8, fmt: cstring, x: i64) -> i32 extern libc;";
    let body = "buf : [*]u8 = xx c.malloc(64);\n    \
                n := snprintf(buf, 64, \"%ld:%.3f\", 6 * 7, sqrt(2.0));\n    \
                total := 0;\n    \
                for 0..10 (i) { total += i * i; }\n    \
                if time(null) <= 0 { return -1; }\n    \
                m := sprintf(buf, \"%ld\", 12345);\n    \
                c.free(xx buf);\n    \
                return m * 1000000 + n * 100000 + total * 100 + strlen(\"abcd\") * 10 + atoi(\"3\");";
    std::fs::write(dir.join("prog.sx"), program(&dir, decls, body)).expect("write program");
    let before = snapshot(&dir);
    let o = sx(&dir, &["run", "--sandbox", "prog.sx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // sprintf wrote "12345" (5 bytes), snprintf "42:1.414" (8); the sum of squares below 10 is 285.
    assert_eq!(String::from_utf8_lossy(&o.stdout), "5828543\n");
    assert_eq!(snapshot(&dir), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fs_write_permission_lets_a_file_write_through() {
    let dir = scratch("fs-write");
    let decls = "fopen :: (path: cstring, mode: cstring) -> *FILE extern libc;\n\
                 fputs :: (s: cstring, f: *FILE) -> i32 extern libc;\n\
                 fclose :: (f: *FILE) -> i32 extern libc;";
    let body = "f := fopen(\"DIR/out.txt\", \"w\");\n    if f == null { return 1; }\n    fputs(\"written at compile time\\n\", f);\n    fclose(f);";
    std::fs::write(dir.join("prog.sx"), program(&dir, decls, body)).expect("write program");
    let o = sx(&dir, &["run", "--sandbox", "prog.sx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("out.txt").exists());
    let o = sx(&dir, &["run", "--sandbox", "--comptime-allow=fs-write", "prog.sx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).expect("written"), "written at compile time\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_stay_inside_the_source_tree() {
    let root = root();
    // Reading a file of the source tree (the program's own text) is allowed.
    let o = sx(&root, &["run", "--sandbox", "examples/comptime/ffi_file.sx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = std::fs::read_to_string(root.join("examples/comptime/ffi_file.stdout")).expect("expected stdout");
    assert_eq!(String::from_utf8_lossy(&o.stdout), want);
    // A read outside it needs fs-read.
    let o = sx(&root, &["run", "--sandbox", "examples/diagnostics/comptime_ffi_opaque.sx"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("compile-time call to 'fopen' to read '/dev/null' outside the source tree is not allowed under --sandbox (needs --comptime-allow=fs-read)"),
        "{stderr}"
    );
    // Descriptors compile-time code opened with fs-write can be written, read and closed.
    let o = sx(&root, &["run", "--sandbox", "--comptime-allow=fs-write", "examples/comptime/file_io.sx"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = std::fs::read_to_string(root.join("examples/comptime/file_io.stdout")).expect("expected stdout");
    assert_eq!(String::from_utf8_lossy(&o.stdout), want);
}

#[test]
fn comptime_allow_needs_the_sandbox_and_known_names() {
    let root = root();
    let o = sx(&root, &["run", "--comptime-allow=fs-write", "examples/hello.sx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--comptime-allow needs --sandbox"));
    let o = sx(&root, &["run", "--sandbox", "--comptime-allow=net", "examples/hello.sx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown permission 'net'"));
}

/// Allowed functions are still refused when the call could corrupt or expose the compiler's
/// memory: a write past a comptime buffer, a forged `FILE *`, a pointer into C's memory C did
/// not hand out as a stream, a format whose `%s` gets no string, or `%n`.
#[test]
fn memory_unsafe_calls_are_refused() {
    let cases = [
        (
            "strcpy :: (dst: [*]u8, src: cstring) -> [*]u8 extern libc;",
            "buf : [*]u8 = xx c.malloc(4);\n    strcpy(buf, \"far too long for four bytes\");",
            "compile-time call to 'strcpy' writing 28 bytes into a 4-byte buffer (argument 1)",
        ),
        (
            "fclose :: (f: *FILE) -> i32 extern libc;",
            "f : *FILE = xx c.malloc(256);\n    fclose(f);",
            "compile-time call to 'fclose' with a stream compile-time code did not open",
        ),
        (
            "gmtime :: (t: *i64) -> *FILE extern libc;\nfclose :: (f: *FILE) -> i32 extern libc;",
            "t := 0;\n    fclose(gmtime(*t));",
            "compile-time call to 'fclose' with a stream compile-time code did not open",
        ),
        (
            "sprintf :: (buf: [*]u8, fmt: cstring, x: i64) -> i32 extern libc;",
            "buf : [*]u8 = xx c.malloc(4);\n    sprintf(buf, \"%ld\", 123456);",
            "compile-time call to 'sprintf' writing 7 bytes into a 4-byte buffer (argument 1)",
        ),
        (
            "snprintf :: (buf: [*]u8, n: i64, fmt: cstring, x: i64) -> i32 extern libc;",
            "buf : [*]u8 = xx c.malloc(32);\n    snprintf(buf, 32, \"%s\", 12345);",
            "compile-time call to 'snprintf' with '%s' for argument 4, which is no NUL-terminated comptime string",
        ),
        (
            "snprintf :: (buf: [*]u8, n: i64, fmt: cstring, x: *i32) -> i32 extern libc;",
            "buf : [*]u8 = xx c.malloc(32);\n    x : i32 = 0;\n    snprintf(buf, 32, \"ab%n\", *x);",
            "compile-time call to 'snprintf' with the conversion '%n' in the format \"ab%n\"",
        ),
    ];
    for (k, (decls, body, want)) in cases.iter().enumerate() {
        let dir = scratch(&format!("memory-{}", k));
        std::fs::write(dir.join("prog.sx"), program(&dir, decls, body)).expect("write program");
        let o = sx(&dir, &["run", "--sandbox", "prog.sx"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(want) && stderr.contains("(needs --comptime-allow=ffi)"), "want {want:?} in\n{stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Build requests of compile-time code that run the system linker with flags of its choosing
/// need `process`: `sx build` with a callback that adds a link flag.
#[test]
fn build_callbacks_need_process_for_link_flags() {
    let root = root();
    let dir = scratch("build-callback");
    let out = dir.join("on_build");
    let out = out.to_str().expect("utf-8 temp dir");
    let o = sx(&root, &["build", "--sandbox", "--comptime-allow=env", "examples/build/on_build.sx", "-o", out]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("compile-time call to 'raw_add_link_flag' (a flag for the system linker) is not allowed under --sandbox (needs --comptime-allow=process)"),
        "{stderr}"
    );
    assert!(!dir.join("on_build").exists());
    let o = sx(&root, &["build", "--sandbox", "--comptime-allow=env,process", "examples/build/on_build.sx", "-o", out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("on_build").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loading a `#library` into the compiler's process is an `ffi` effect: under `--sandbox` the
/// library is not loaded and compile-time calls into it are located errors naming the library;
/// `--comptime-allow=ffi` loads it.
#[test]
fn a_library_is_loaded_at_compile_time_only_with_ffi() {
    let root = root();
    let prog = "examples/ffi/zlib_library.sx";
    let o = sx(&root, &["run", "--sandbox", prog]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && o.stdout.is_empty(), "sandboxed run succeeded: {}", err);
    assert!(err.contains("`#library \"z\"`") && err.contains("--comptime-allow=ffi"), "{}", err);
    assert!(err.contains("zlib_library.sx:"), "not located: {}", err);
    let o = sx(&root, &["run", "--sandbox", "--comptime-allow=ffi", prog]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("comptime crc32(\"hello\") = 907060870"));
}
