//! File tests in the style of Cranelift's: each `tests/filetests/*.sxir` file is text IR whose
//! first line names what to run, `; test: KIND`, and whose expected output follows a line
//! `; expect:` as comment lines (`; ` + the output line). Kinds:
//!
//! - `print`: parse and print the module (the printer and parser agree).
//! - `verify`: the verifier's messages, or `ok`.
//! - `promote_slots`: the input must verify; every function goes through mem2reg
//!   (`sx_ir::opt::promote_slots`), must verify again, and is printed.
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

/// Runs the test `kind` on `input`.
fn run(kind: &str, input: &str) -> String {
    if kind == "parse_error" {
        return match sx_ir::parse(input) {
            Ok(m) => format!("unexpectedly parsed:\n{}", sx_ir::print(&m)),
            Err(e) => format!("{}\n", e),
        };
    }
    let mut m = match sx_ir::parse(input) {
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
        "promote_slots" => {
            let errors = sx_ir::verify(&m);
            if !errors.is_empty() {
                return format!("the input does not verify: {:?}\n", errors);
            }
            for (_, f) in m.funcs.iter_mut() {
                sx_ir::opt::promote_slots(f);
            }
            let errors = sx_ir::verify(&m);
            let text = sx_ir::print(&m);
            if errors.is_empty() {
                text
            } else {
                format!("the output does not verify: {:?}\n{}", errors, text)
            }
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
