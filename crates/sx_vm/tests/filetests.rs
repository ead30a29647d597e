//! File tests of the VM in the style of Cranelift's (and of `sx_ir`'s): each
//! `tests/filetests/*.sxir` file is text IR whose first line names what to run,
//! `; test: KIND`, and whose expected output follows a line `; expect:` as comment lines
//! (`; ` + the output line). Kinds:
//!
//! - `translate`: the bytecode of every defined function (`sx_vm::module_bytecode`), or the
//!   translator's error for a function it rejects.
//! - `run`: every line `; run: NAME(ARG, …)` in the input calls function `NAME` on a fresh VM
//!   with those arguments (integers, decimal or `0x` hex, possibly negative; floats for `f32`
//!   and `f64` parameters) and prints `NAME(ARG, …) = RESULT, …` (integers as signed decimals
//!   of their width, floats as floats), `exit N`, a compiler request or `error: MESSAGE`,
//!   followed by what the call wrote to stdout, if anything.
//!
//! `UPDATE_EXPECT=1 cargo test -p sx_vm --test filetests` rewrites the expectations (bless).

use std::path::Path;
use sx_ir::{FuncId, Module, Type};
use sx_vm::{CaptureHost, Outcome, Vm, VmLimits};

const RUN_MARK: &str = "; run:";

/// Parses one argument of type `ty` into raw bits.
fn arg_bits(text: &str, ty: Type) -> Result<u64, String> {
    let bad = || format!("bad {} argument `{}`", ty.name(), text);
    match ty {
        Type::F32 => text.parse::<f32>().map(|x| x.to_bits() as u64).map_err(|_| bad()),
        Type::F64 => text.parse::<f64>().map(|x| x.to_bits()).map_err(|_| bad()),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => {
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let magnitude = match digits.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => digits.parse::<u64>(),
            }
            .map_err(|_| bad())?;
            Ok(if negative { magnitude.wrapping_neg() } else { magnitude })
        }
    }
}

/// A result's raw `bits` of type `ty` as text.
fn result_text(bits: u64, ty: Type) -> String {
    match ty {
        Type::I8 => (bits as u8 as i8).to_string(),
        Type::I16 => (bits as u16 as i16).to_string(),
        Type::I32 => (bits as u32 as i32).to_string(),
        Type::I64 => (bits as i64).to_string(),
        Type::F32 => format!("{:?}", f32::from_bits(bits as u32)),
        Type::F64 => format!("{:?}", f64::from_bits(bits)),
    }
}

/// The function of `m` named `name`.
fn find_function(m: &Module, name: &str) -> Option<FuncId> {
    m.funcs.iter().find(|(_, f)| f.name == name).map(|(id, _)| id)
}

/// Runs one `NAME(ARG, …)` call on a fresh VM and describes the outcome.
fn run_call(m: &Module, call: &str) -> String {
    let Some((name, rest)) = call.split_once('(') else { return format!("malformed run line `{}`", call) };
    let Some(args_text) = rest.strip_suffix(')') else { return format!("malformed run line `{}`", call) };
    let Some(id) = find_function(m, name.trim()) else { return format!("no function `{}`", name.trim()) };
    let f = &m.funcs[id];
    let args_texts: Vec<&str> = args_text.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    if args_texts.len() != f.sig.params.len() {
        return format!("{} takes {} arguments", f.name, f.sig.params.len());
    }
    let args = match args_texts.iter().zip(&f.sig.params).map(|(a, &ty)| arg_bits(a, ty)).collect::<Result<Vec<u64>, String>>() {
        Ok(args) => args,
        Err(e) => return e,
    };
    let host = CaptureHost::new();
    let mut vm = Vm::new(VmLimits::default(), Box::new(host.clone()));
    let head = format!("{}({})", f.name, args_texts.join(", "));
    let mut out = match vm.call(m, id, &args) {
        Ok(Outcome::Returned(values)) => {
            let shown: Vec<String> = values.iter().zip(&f.sig.returns).map(|(&v, &ty)| result_text(v, ty)).collect();
            format!("{} = {}", head, shown.join(", "))
        }
        Ok(Outcome::Exited(code)) => format!("{}: exit {}", head, code),
        Ok(Outcome::CompilerCall { name, args }) => format!("{}: compiler request {}{:?}", head, name, args),
        Err(e) => format!("{}: error: {}", head, e.message),
    };
    let stdout = host.output(1);
    if !stdout.is_empty() {
        out += &format!("\n  stdout: {:?}", String::from_utf8_lossy(&stdout));
    }
    out
}

/// Runs the test `kind` on `input`.
fn run(kind: &str, input: &str) -> String {
    let m = match sx_ir::parse(input) {
        Ok(m) => m,
        Err(e) => return format!("parse error: {}\n", e),
    };
    match kind {
        "translate" => sx_vm::module_bytecode(&m),
        "run" => {
            let calls: Vec<&str> = input.lines().filter_map(|l| l.strip_prefix(RUN_MARK)).map(str::trim).collect();
            if calls.is_empty() {
                return format!("no `{}` lines\n", RUN_MARK);
            }
            calls.iter().map(|c| run_call(&m, c) + "\n").collect()
        }
        other => format!("unknown test kind `{}`\n", other),
    }
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let n = sx_ir::filetest::run_dir(&dir, &run).unwrap_or_else(|failures| panic!("{}", failures));
    assert!(n >= 20, "only {} file tests", n);
}
