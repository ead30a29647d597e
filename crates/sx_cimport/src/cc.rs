//! Running the system C compiler: `cc -E -dD` on a generated file that includes the unit's
//! headers (read from standard input), `cc --version` for cache keys, and the compiler's
//! include search path for "header not found" messages.

use crate::{CImportError, CUnit, HeaderRef};
use std::io::Write;
use std::process::{Command, Stdio};

/// The C text that includes every header of `unit`.
pub(crate) fn include_text(unit: &CUnit) -> String {
    let mut text = String::new();
    for h in &unit.headers {
        match h {
            HeaderRef::Path(p) => {
                let s = p.to_string_lossy();
                let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
                text.push_str(&format!("#include \"{escaped}\"\n"));
            }
            HeaderRef::System(name) => {
                let name = name.trim();
                if (name.starts_with('<') && name.ends_with('>')) || (name.starts_with('"') && name.ends_with('"') && name.len() >= 2) {
                    text.push_str(&format!("#include {name}\n"));
                } else {
                    text.push_str(&format!("#include <{name}>\n"));
                }
            }
        }
    }
    text
}

/// The command-line arguments for the unit's defines, include directories and flags.
fn unit_args(unit: &CUnit) -> Vec<String> {
    let mut args = Vec::new();
    for d in &unit.defines {
        args.push(format!("-D{d}"));
    }
    for dir in &unit.include_dirs {
        args.push(format!("-I{}", dir.to_string_lossy()));
    }
    args.extend(unit.flags.iter().cloned());
    args
}

fn spawn_error(cc: &str, e: std::io::Error) -> CImportError {
    CImportError { message: format!("cannot run the C compiler `{cc}`: {e}") }
}

/// Runs `cc -E -dD` over the unit's headers; the preprocessed text on success, the
/// compiler's diagnostics (plus the directories searched, for a missing header) on failure.
pub(crate) fn preprocess(cc: &str, unit: &CUnit) -> Result<String, CImportError> {
    let input = include_text(unit);
    let mut cmd = Command::new(cc);
    cmd.arg("-E").arg("-dD").args(unit_args(unit)).arg("-x").arg("c").arg("-");
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(cc, e))?;
    let out = std::thread::scope(|s| {
        let stdin = child.stdin.take();
        let writer = s.spawn(move || {
            if let Some(mut stdin) = stdin {
                let _ = stdin.write_all(input.as_bytes());
            }
        });
        let out = child.wait_with_output();
        let _ = writer.join();
        out
    })
    .map_err(|e| spawn_error(cc, e))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let mut message = format!("the C compiler `{cc}` failed on the `#import c` headers:\n{}", stderr.trim_end());
        if stderr.contains("No such file or directory") || stderr.contains("file not found") {
            message.push_str("\nsearched:");
            for dir in &unit.include_dirs {
                message.push_str(&format!("\n  {}", dir.display()));
            }
            for dir in system_include_dirs(cc, unit) {
                message.push_str(&format!("\n  {dir}"));
            }
        }
        return Err(CImportError { message });
    }
    String::from_utf8(out.stdout).map_err(|_| CImportError { message: "the preprocessed C headers are not UTF-8 text".into() })
}

/// The compiler's `#include <…>` search directories (from `cc -E -v`).
fn system_include_dirs(cc: &str, unit: &CUnit) -> Vec<String> {
    let out = Command::new(cc)
        .arg("-E")
        .arg("-v")
        .args(unit.flags.iter())
        .arg("-x")
        .arg("c")
        .arg("/dev/null")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let Ok(out) = out else { return Vec::new() };
    let text = String::from_utf8_lossy(&out.stderr);
    let mut dirs = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("#include <...> search starts here") || line.starts_with("#include \"...\" search starts here") {
            inside = true;
            continue;
        }
        if line.starts_with("End of search list") {
            break;
        }
        if inside && line.starts_with(' ') {
            dirs.push(line.trim().to_string());
        }
    }
    dirs
}

/// `cc --version`'s output (part of every cache key).
pub(crate) fn version(cc: &str) -> Result<String, CImportError> {
    let out = Command::new(cc).arg("--version").stdin(Stdio::null()).output().map_err(|e| spawn_error(cc, e))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
