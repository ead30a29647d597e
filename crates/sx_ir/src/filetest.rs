//! The runner of Cranelift-style file tests, shared by the crates that have them (`sx_ir`'s
//! passes, `sx_vm`'s translation): each `*.sxir` file of a directory is text IR whose first line
//! names what to run, `; test: KIND`, and whose expected output follows a line `; expect:` as
//! comment lines (`; ` + the output line). With `UPDATE_EXPECT` set, differing expectations are
//! rewritten (bless) instead of failing.

use std::path::{Path, PathBuf};

/// The line that starts a file's expected output.
pub const EXPECT_MARK: &str = "; expect:";

/// The expectation section for `output`.
fn expect_section(output: &str) -> String {
    let mut s = format!("{}\n", EXPECT_MARK);
    for line in output.lines() {
        s += &if line.is_empty() { ";\n".to_string() } else { format!("; {}\n", line) };
    }
    s
}

/// Runs one file through `run(kind, input)`; `Err` describes a mismatch (after rewriting the file
/// when blessing).
fn check_file(path: &Path, bless: bool, run: &dyn Fn(&str, &str) -> String) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {}", e))?;
    let kind = text.lines().next().and_then(|l| l.strip_prefix("; test:")).map(str::trim).ok_or("the first line must be `; test: KIND`")?;
    let (input, expected) = match text.find(&format!("\n{}\n", EXPECT_MARK)) {
        Some(at) => (&text[..at + 1], text[at + 1..].to_string()),
        None => (text.as_str(), String::new()),
    };
    let want = expect_section(&run(kind, input));
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

/// Runs every `*.sxir` file of `dir` (in name order) through `run(kind, input)`, which returns
/// the output to compare. Returns how many files ran, or every mismatch.
pub fn run_dir(dir: &Path, run: &dyn Fn(&str, &str) -> String) -> Result<usize, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {}", dir.display(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sxir"))
        .collect();
    files.sort();
    let bless = std::env::var_os("UPDATE_EXPECT").is_some();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| check_file(p, bless, run).err().map(|e| format!("{}: {}", p.file_name().unwrap_or_default().to_string_lossy(), e)))
        .collect();
    eprintln!("{} file tests, {} failed", files.len(), failures.len());
    if failures.is_empty() {
        Ok(files.len())
    } else {
        Err(failures.join("\n\n"))
    }
}
