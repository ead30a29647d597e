//! The native tier against the interpreter on the `run` file tests: every `; run:` call of
//! `tests/filetests/run_*.sxir` on a VM with the tier off and on a VM with it on, both with a
//! safe point every few steps (so the tier compiles early and enters and leaves native code
//! often). Outcomes — values, exit statuses, and for errors the message, span, call stack and
//! related spans — and the output must be identical, and the tier must have compiled code.

use std::path::Path;

use sx_ir::{FuncId, Module, Type};
use sx_vm::{CaptureHost, Outcome, Vm, VmError, VmLimits};

/// One call's outcome, its stdout and the number of functions the tier compiled.
fn run(m: &Module, f: FuncId, args: &[u64], jit: bool, every: u64) -> (Result<Outcome, VmError>, Vec<u8>, u64) {
    let limits = VmLimits { comptime_jit: jit, check_every: every, max_steps: 50_000_000, ..VmLimits::default() };
    let host = CaptureHost::new();
    let mut vm = Vm::new(limits, Box::new(host.clone()));
    let r = vm.call(m, f, args);
    (r, host.output(1), vm.native_functions())
}

/// The argument bits of a `; run:` argument (integers, `-` signs, floats for float params).
fn arg(text: &str, ty: Type) -> u64 {
    match ty {
        Type::F32 => text.parse::<f32>().map(|x| x.to_bits() as u64).unwrap_or(0),
        Type::F64 => text.parse::<f64>().map(|x| x.to_bits()).unwrap_or(0),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => {
            let (neg, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
            let v = match digits.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap_or(0),
                None => digits.parse::<u64>().unwrap_or(0),
            };
            if neg {
                v.wrapping_neg()
            } else {
                v
            }
        }
    }
}

#[test]
fn native_tier_matches_the_interpreter_on_the_run_file_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let mut calls = 0;
    let mut compiled = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("filetests").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if !name.starts_with("run_") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let m = sx_ir::parse(&text).unwrap_or_else(|e| panic!("{}: {}", name, e));
        for line in text.lines().filter_map(|l| l.strip_prefix("; run:")) {
            let (fname, rest) = line.trim().split_once('(').expect("call");
            let Some((id, f)) = m.funcs.iter().find(|(_, f)| f.name == fname.trim()) else { continue };
            let texts: Vec<&str> = rest.trim_end_matches(')').split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
            if texts.len() != f.sig.params.len() {
                continue;
            }
            let args: Vec<u64> = texts.iter().zip(&f.sig.params).map(|(t, &ty)| arg(t, ty)).collect();
            for every in [1, 17] {
                let (want, want_out, _) = run(&m, id, &args, false, every);
                let (got, got_out, n) = run(&m, id, &args, true, every);
                assert_eq!(want, got, "{}: {} (safe point every {} steps)", name, line, every);
                assert_eq!(want_out, got_out, "{}: {} output", name, line);
                compiled += n;
            }
            calls += 1;
        }
    }
    assert!(calls >= 20, "only {} calls", calls);
    assert!(compiled > 0, "the tier compiled nothing");
}
