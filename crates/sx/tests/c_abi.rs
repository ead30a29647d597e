//! Structs passed to and returned from C by value (x86-64 System V), and `string` arguments
//! passed as NUL-terminated copies: `tests/c_abi/cabi.sx` calls the functions of
//! `tests/c_abi/cabi.c` at compile time (comptime FFI) and at run time, in VM, JIT and AOT mode.
//!
//! The C file is built with the system `cc` (which `sx build` links with anyway): as a shared
//! library that `LD_PRELOAD` puts into the compiler's process, where comptime FFI and the JIT
//! look symbols up, and as an object file linked into the AOT executable with `--link-arg`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c_abi")
}

fn cc(args: &[&str]) {
    let o = Command::new("cc").args(args).output().expect("run cc");
    assert!(o.status.success(), "cc {:?}: {}", args, String::from_utf8_lossy(&o.stderr));
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().expect("run");
    assert!(o.status.success(), "{:?} failed: {}{}", cmd, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn structs_cross_the_c_boundary_by_value() {
    let tmp = std::env::temp_dir().join(format!("sx_c_abi_{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let c = dir().join("cabi.c");
    let (so, obj, exe) = (tmp.join("libcabi.so"), tmp.join("cabi.o"), tmp.join("cabi"));
    cc(&["-O1", "-fPIC", "-shared", "-o", so.to_str().unwrap(), c.to_str().unwrap()]);
    cc(&["-O1", "-c", "-o", obj.to_str().unwrap(), c.to_str().unwrap()]);
    let expected = std::fs::read_to_string(dir().join("cabi.expected")).expect("expected output");
    let src = dir().join("cabi.sx");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sx = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sx"));
        c.current_dir(&root).env("LD_PRELOAD", &so);
        c
    };
    assert_eq!(run(sx().args(["run", "--vm"]).arg(&src)), expected, "VM");
    assert_eq!(run(sx().arg("run").arg(&src)), expected, "JIT");
    run(sx().arg("build").arg(&src).arg("-o").arg(&exe).arg("--link-arg").arg(&obj));
    assert_eq!(run(&mut Command::new(&exe)), expected, "AOT");
    let _ = std::fs::remove_dir_all(&tmp);
}
