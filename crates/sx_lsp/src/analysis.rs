//! One analysis of a document: `sx_sema::analysis::analyze` run sandboxed on a big-stack
//! thread, its results converted to LSP positions.

use crate::text;
use crate::world::{FileText, World};
use lsp_types::{DiagnosticSeverity, Range};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sx_sema::analysis::Session;

/// How the server compiles documents.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Standard library directories (searched by `#import`, readable by compile-time code).
    pub stdlib: Vec<PathBuf>,
    /// The target layouts are computed for.
    pub target: sx_ir::Target,
    /// Step budget of one compile-time evaluation.
    pub max_steps: u64,
    /// Wall-clock limit of one compile-time evaluation.
    pub timeout: std::time::Duration,
}

impl Settings {
    /// The defaults for the host target with `stdlib`.
    pub fn new(stdlib: Vec<PathBuf>) -> Settings {
        Settings { stdlib, target: sx_ir::Target::host(), max_steps: 50_000_000, timeout: std::time::Duration::from_secs(5) }
    }
}

/// What the server keeps of one analysis.
#[derive(Debug)]
pub struct Result {
    /// The document's diagnostics.
    pub diagnostics: Vec<lsp_types::Diagnostic>,
    /// What the analysis knows, for position requests.
    pub world: Arc<World>,
}

/// Analyses the document at `path` with the open documents' texts in `overlay`.
pub fn analyse(settings: &Settings, path: &Path, overlay: HashMap<PathBuf, String>) -> Result {
    let opts = options(settings, path);
    let path = path.to_path_buf();
    let text = overlay.get(&path).cloned().or_else(|| std::fs::read_to_string(&path).ok()).unwrap_or_default();
    let work = move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut overlay = overlay;
            let (parse_errors, repaired) = repair(&text);
            if let Some(r) = &repaired {
                overlay.insert(path.clone(), r.clone());
            }
            let a = sx_sema::analysis::analyze(&path, &opts, Session { overlay, capture: sx_vm::CaptureHost::new(), library: true });
            let mut result = convert(a, &path, repaired.as_deref().unwrap_or(&text), text.clone());
            if repaired.is_some() {
                result.diagnostics = parse_errors.iter().map(|d| diagnostic(range_of(&text, d.span), d.message.clone())).collect();
            }
            result
        }))
    };
    let joined = std::thread::Builder::new().stack_size(512 << 20).spawn(work).map(|h| h.join());
    match joined {
        Ok(Ok(Ok(result))) => result,
        Ok(Ok(Err(_))) | Ok(Err(_)) | Err(_) => Result {
            diagnostics: vec![diagnostic(Range::default(), "internal compiler error while analysing this file".to_string())],
            world: Arc::new(World::new(sx_diag::FileId(u32::MAX), String::new(), Default::default(), HashMap::new(), HashMap::new())),
        },
    }
}

/// How many lines [`repair`] blanks at most.
const MAX_REPAIRS: usize = 8;

/// The parse errors of `text` and, when there are any, a repaired copy that parses (or parses
/// further): each line an error is reported on (the line before, when that one is unfinished —
/// not ending in `;`, `{` or `}`) is blanked to spaces, and a `}` is appended when the parser
/// reaches the end inside a block, so every other byte keeps its offset and the rest of the
/// function around an unfinished line is still analysed.
fn repair(text: &str) -> (Vec<sx_diag::Diagnostic>, Option<String>) {
    let (_, first_errors) = sx_syntax::parse_file(sx_diag::FileId(0), text);
    if first_errors.is_empty() {
        return (first_errors, None);
    }
    let mut bytes = text.as_bytes().to_vec();
    let mut errors = first_errors.clone();
    for _ in 0..MAX_REPAIRS {
        let Some(at) = errors.iter().filter_map(|d| d.span).map(|s| s.lo as usize).min() else { break };
        let at = at.min(bytes.len());
        if bytes[at..].iter().all(|b| b.is_ascii_whitespace()) {
            // At the end: a block is still open (appending keeps every offset).
            bytes.extend_from_slice(b"\n}");
            errors = sx_syntax::parse_file(sx_diag::FileId(0), &String::from_utf8_lossy(&bytes)).1;
            if errors.is_empty() {
                break;
            }
            continue;
        }
        let line_lo = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lo = line_lo;
        // The line before, when it is unfinished (the error is where the parser noticed).
        let mut prev_end = line_lo;
        while prev_end > 0 {
            let prev_lo = bytes[..prev_end - 1].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let line = String::from_utf8_lossy(&bytes[prev_lo..prev_end - 1]).into_owned();
            let line = line.trim();
            if !line.is_empty() {
                if !line.ends_with([';', '{', '}']) && !line.starts_with("//") {
                    lo = prev_lo;
                }
                break;
            }
            prev_end = prev_lo;
        }
        let hi = bytes[lo..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| lo + i);
        for b in &mut bytes[lo..hi] {
            *b = b' ';
        }
        let repaired = String::from_utf8_lossy(&bytes).into_owned();
        errors = sx_syntax::parse_file(sx_diag::FileId(0), &repaired).1;
        if errors.is_empty() {
            break;
        }
    }
    (first_errors, Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The range of an optional span of `text` (the start of the text when there is none).
fn range_of(text: &str, span: Option<sx_diag::Span>) -> Range {
    span.map_or_else(Range::default, |s| text::range(text, s.lo, s.hi))
}

/// Compiler options for `path`: sandboxed compile-time code (reads only under the file's
/// directory and the stdlib), bounded steps and time.
fn options(settings: &Settings, path: &Path) -> sx_sema::Options {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let mut roots = vec![dir.clone()];
    roots.extend(settings.stdlib.iter().cloned());
    let limits = sx_vm::VmLimits {
        max_steps: settings.max_steps,
        timeout: Some(settings.timeout),
        policy: sx_vm::VmPolicy::sandboxed(vec![], &roots),
        ..sx_vm::VmLimits::default()
    };
    sx_sema::Options {
        target: settings.target,
        paths: sx_sema::ImportPaths { cwd: dir, stdlib: settings.stdlib.clone() },
        vm_limits: limits,
        trace_comptime: false,
        interrupt: None,
        debug_info: false,
    }
}

/// An error diagnostic at `range`.
fn diagnostic(range: Range, message: String) -> lsp_types::Diagnostic {
    lsp_types::Diagnostic {
        range,
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("sx".to_string()),
        message,
        ..Default::default()
    }
}

/// The analysis in LSP terms. Diagnostics located in another file are shown at the start of
/// the document with their location. `text` is the analysed text of the document, `doc` its
/// real text (they differ when [`repair`] blanked lines); when the document could not be
/// loaded, `text` stands in for it (under a file id no loaded file has).
fn convert(a: sx_sema::analysis::Analysis, path: &Path, text: &str, doc: String) -> Result {
    let mut diagnostics = vec![];
    for d in &a.diags {
        let mut message = d.message.clone();
        for note in &d.notes {
            message.push_str("\nnote: ");
            message.push_str(note);
        }
        let range = match d.span {
            Some(s) if Some(s.file) == a.root => text::range(&a.sources.file(s.file).text, s.lo, s.hi),
            Some(s) => {
                message = format!("{}: {}", a.sources.location(s), message);
                Range::default()
            }
            None => Range::default(),
        };
        diagnostics.push(diagnostic(range, message));
    }
    let values = a.decls.iter().filter_map(|d| d.value.clone().map(|v| (d.span, v))).collect();
    let mut files: HashMap<sx_diag::FileId, FileText> =
        a.facts.files.iter().map(|f| (f.file, FileText { path: f.path.clone(), text: a.sources.file(f.file).text.clone() })).collect();
    let root = a.root.unwrap_or(sx_diag::FileId(u32::MAX));
    files.entry(root).or_insert_with(|| FileText { path: path.to_path_buf(), text: text.to_string() });
    Result { diagnostics, world: Arc::new(World::new(root, doc, a.facts, files, values)) }
}
