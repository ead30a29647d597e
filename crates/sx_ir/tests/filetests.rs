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

use std::path::{Path, PathBuf};
use sx_ir::cfg::Cfg;
use sx_ir::entity::EntityRef;
use sx_ir::{Block, Module};

const EXPECT_MARK: &str = "; expect:";

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

/// The expectation section for `output`.
fn expect_section(output: &str) -> String {
    let mut s = format!("{}\n", EXPECT_MARK);
    for line in output.lines() {
        s += &if line.is_empty() { ";\n".to_string() } else { format!("; {}\n", line) };
    }
    s
}

/// Runs one file; `Err` describes a mismatch (after rewriting the file when blessing).
fn check_file(path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {}", e))?;
    let kind = text.lines().next().and_then(|l| l.strip_prefix("; test:")).map(str::trim).ok_or("the first line must be `; test: KIND`")?;
    let (input, expected) = match text.find(&format!("\n{}\n", EXPECT_MARK)) {
        Some(at) => (&text[..at + 1], text[at + 1..].to_string()),
        None => (text.as_str(), String::new()),
    };
    let output = run(kind, input);
    let want = expect_section(&output);
    if want == expected {
        return Ok(());
    }
    if bless {
        let sep = if input.ends_with("\n\n") { "" } else { "\n" };
        std::fs::write(path, format!("{}{}{}", input, sep, want)).map_err(|e| format!("cannot write: {}", e))?;
        return Ok(());
    }
    Err(format!("output differs; expected:\n{}\nactual:\n{}", expected, want))
}

#[test]
fn filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/filetests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sxir"))
        .collect();
    files.sort();
    let bless = std::env::var_os("UPDATE_EXPECT").is_some();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| check_file(p, bless).err().map(|e| format!("{}: {}", p.file_name().unwrap_or_default().to_string_lossy(), e)))
        .collect();
    eprintln!("{} file tests, {} failed", files.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(files.len() >= 25, "only {} file tests", files.len());
}
