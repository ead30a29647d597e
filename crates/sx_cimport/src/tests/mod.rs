//! Tests: tricky declarations as snapshots (`UPDATE_EXPECT=1` rewrites them), the system
//! headers end to end, layouts against the C compiler, the cache, and errors.

mod decls;
mod headers;
mod layout;

use crate::{translate_preprocessed, Options, Translation};
use expect_test::Expect;

/// Translates C text that needs no preprocessing.
fn tr(c: &str) -> Translation {
    match translate_preprocessed(c, &Options::default()) {
        Ok(t) => t,
        Err(e) => panic!("translation failed: {}", e.message),
    }
}

/// The sx text parses without a diagnostic.
fn assert_parses(sx: &str) {
    let (_, diags) = sx_syntax::parse_file(sx_diag::FileId(0), sx);
    if !diags.is_empty() {
        let mut msg = String::new();
        for d in diags.iter().take(10) {
            let at = d.span.map(|s| s.lo as usize).unwrap_or(0);
            let line = sx[..at.min(sx.len())].matches('\n').count() + 1;
            let text = sx.lines().nth(line - 1).unwrap_or("");
            msg.push_str(&format!("line {line}: {}\n    {text}\n", d.message));
        }
        panic!("{} parse diagnostic(s) in the generated sx:\n{msg}", diags.len());
    }
}

/// Snapshot of the generated declarations (without the header line) and the skipped list.
fn check(c: &str, expect: Expect) {
    let t = tr(c);
    assert_parses(&t.sx_source);
    let mut out: String = t.sx_source.lines().skip(1).map(|l| format!("{l}\n")).collect();
    if !t.skipped.is_empty() {
        out.push_str("-- skipped\n");
        for s in &t.skipped {
            out.push_str(&format!("{}: {}\n", s.name, s.reason));
        }
    }
    expect.assert_eq(&out);
}
