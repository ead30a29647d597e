//! File tests in the style of Cranelift's: each `tests/filetests/*.sxir` file is text IR whose
//! first line names what to run, `; test: KIND`, and whose expected output follows a line
//! `; expect:` as comment lines (`; ` + the output line). Kinds:
//!
//! - `print`: parse and print the module (the printer and parser agree).
//! - `verify`: the verifier's messages, or `ok`.
//! - `promote_slots`: the input must verify; every function goes through mem2reg
//!   (`sx_ir::opt::promote_slots`), must verify again, and is printed.
//! - `simplify`, `licm`: the input must verify; every function goes through that pass
//!   (`sx_ir::opt::simplify`, `sx_ir::opt::licm::hoist`), must verify again, and is printed.
//! - `rotate`: the input must verify; every function goes through loop rotation
//!   (`sx_ir::opt::rotate::rotate`, then `promote_slots`, which repairs SSA), must verify again,
//!   and is printed.
//! - `optimise`: the whole pipeline of native code (`sx_ir::opt::optimise_module` on every
//!   function, the verifier after each pass), then the module is printed; a `; config: KEY=N`
//!   line overrides a limit (`self_levels`, `inline_small`, `inline_single`, `caller_limit`).
//! - `cfg`: per function, the reverse postorder, and per block its predecessors, immediate
//!   dominator and dominance frontier (or that it is unreachable).
//! - `parse_error`: the parse must fail; the error with its line and column.
//!
//! `UPDATE_EXPECT=1 cargo test -p sx_ir --test filetests` rewrites the expectations (bless).

use std::path::Path;
use sx_ir::cfg::Cfg;
use sx_ir::entity::EntityRef;
use sx_ir::{Block, Module};

fn list(blocks: impl IntoIterator<Item = Block>) -> String {
    blocks.into_iter().map(|b| b.to_string()).collect::<Vec<_>>().join(" ")
}

/// The `cfg` output of every defined function.
fn cfg_text(m: &Module) -> String {
    let mut out = String::new();
    for (_, f) in m.funcs.iter().filter(|(_, f)| f.is_defined()) {
        let cfg = Cfg::compute(f);
        let frontiers = cfg.dominance_frontiers();
        out += &format!("function {}\n  rpo: {}\n", f.name, list(cfg.rpo.iter().copied()));
        for b in f.blocks.keys() {
            let preds = list(cfg.preds[b.index()].iter().copied());
            if !cfg.is_reachable(b) {
                out += &format!("  {}: unreachable; preds [{}]\n", b, preds);
                continue;
            }
            let idom = cfg.idom(b).map(|d| d.to_string()).unwrap_or_else(|| "-".to_string());
            let frontier = list(frontiers[b.index()].iter().copied());
            out += &format!("  {}: preds [{}] idom {} frontier [{}]\n", b, preds, idom, frontier);
        }
    }
    out
}

/// Checks that `m` verifies, applies `pass`, and prints the result (or what does not verify).
fn transformed(mut m: Module, pass: impl FnOnce(&mut Module)) -> String {
    let errors = sx_ir::verify(&m);
    if !errors.is_empty() {
        return format!("the input does not verify: {:?}\n", errors);
    }
    pass(&mut m);
    let errors = sx_ir::verify(&m);
    let text = sx_ir::print(&m);
    if !errors.is_empty() {
        return format!("the output does not verify: {:?}\n{}", errors, text);
    }
    match sx_ir::parse(&text).map(|again| sx_ir::print(&again)) {
        Ok(again) if again == text => text,
        Ok(again) => format!("printing the output is not stable:\n{}\nthen:\n{}", text, again),
        Err(e) => format!("the printed output does not parse: {}\n{}", e, text),
    }
}

/// The optimiser limits of an `optimise` test: the defaults with every check on, changed by
/// `; config: KEY=N` lines.
fn config_of(input: &str) -> sx_ir::opt::OptConfig {
    let mut c = sx_ir::opt::OptConfig { verify_each: true, ..Default::default() };
    for line in input.lines() {
        let Some((key, n)) = line.strip_prefix("; config:").and_then(|r| r.trim().split_once('=')) else { continue };
        let n: usize = n.trim().parse().unwrap_or_else(|_| panic!("bad config line `{}`", line));
        match key.trim() {
            "self_levels" => c.self_levels = n as u32,
            "inline_small" => c.inline_small = n,
            "inline_single" => c.inline_single = n,
            "caller_limit" => c.caller_limit = n,
            "self_limit" => c.self_limit = n,
            "licm" => c.licm = n != 0,
            other => panic!("unknown config key `{}`", other),
        }
    }
    c
}

/// Runs the test `kind` on `input`.
fn run(kind: &str, input: &str) -> String {
    if kind == "parse_error" {
        return match sx_ir::parse(input) {
            Ok(m) => format!("unexpectedly parsed:\n{}", sx_ir::print(&m)),
            Err(e) => format!("{}\n", e),
        };
    }
    let m = match sx_ir::parse(input) {
        Ok(m) => m,
        Err(e) => return format!("parse error: {}\n", e),
    };
    match kind {
        "print" => {
            let text = sx_ir::print(&m);
            match sx_ir::parse(&text).map(|again| sx_ir::print(&again)) {
                Ok(again) if again == text => text,
                Ok(again) => format!("printing is not stable:\n{}\nthen:\n{}", text, again),
                Err(e) => format!("the printed text does not parse: {}\n{}", e, text),
            }
        }
        "verify" => {
            let errors = sx_ir::verify(&m);
            if errors.is_empty() {
                "ok\n".to_string()
            } else {
                errors.iter().map(|e| format!("{}\n", e)).collect()
            }
        }
        "promote_slots" => transformed(m, |m| m.funcs.iter_mut().for_each(|(_, f)| sx_ir::opt::promote_slots(f))),
        "simplify" => transformed(m, |m| {
            m.funcs.iter_mut().for_each(|(_, f)| {
                sx_ir::opt::simplify(f);
            })
        }),
        "licm" => transformed(m, |m| {
            m.funcs.iter_mut().for_each(|(_, f)| {
                sx_ir::opt::licm::hoist(f);
            })
        }),
        "rotate" => transformed(m, |m| {
            let ptr = m.pointer_type();
            m.funcs.iter_mut().for_each(|(_, f)| {
                if sx_ir::opt::rotate::rotate(f, ptr) {
                    sx_ir::opt::promote_slots(f);
                }
            })
        }),
        "optimise" => {
            let config = config_of(input);
            transformed(m, |m| {
                let all = vec![true; m.funcs.len()];
                sx_ir::opt::optimise_module(m, &all, &config);
            })
        }
        "cfg" => cfg_text(&m),
        other => format!("unknown test kind `{}`\n", other),
    }
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let n = sx_ir::filetest::run_dir(&dir, &run).unwrap_or_else(|failures| panic!("{}", failures));
    assert!(n >= 25, "only {} file tests", n);
}
