//! Source files, spans and diagnostics.
//!
//! Owns: the [`SourceMap`] (every file the compiler read, by [`FileId`]), byte [`Span`]s into
//! those files, and the [`Diagnostic`] type every layer reports user errors with. Rendering goes
//! through `annotate-snippets` (rustc-style `error: …` / `--> file:line:col` / caret snippet).
//!
//! Must never: panic on a span that is out of range (it is clamped), or print anything itself
//! except through [`render`].

use std::fmt;

/// Index of a file in the [`SourceMap`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A half-open byte range `[lo, hi)` in one source file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub lo: u32,
    pub hi: u32,
}

impl Span {
    /// A span covering `[lo, hi)` of `file`.
    pub fn new(file: FileId, lo: u32, hi: u32) -> Span {
        Span { file, lo, hi: hi.max(lo) }
    }
    /// The smallest span covering both (same file assumed; `self`'s file wins).
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span { file: self.file, lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (command line or import resolution), used in diagnostics.
    pub path: String,
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(path: String, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i as u32 + 1);
            }
        }
        SourceFile { path, text, line_starts }
    }
    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = offset.min(self.text.len() as u32);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).max(start);
        let col = self.text.get(start..end).map(|s| s.chars().count()).unwrap_or(end - start);
        (line as u32 + 1, col as u32 + 1)
    }
    /// The text of 1-based line `line`, without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        let i = (line.max(1) - 1) as usize;
        let Some(&start) = self.line_starts.get(i) else { return "" };
        let end = self.line_starts.get(i + 1).map(|&e| e as usize - 1).unwrap_or(self.text.len());
        self.text.get(start as usize..end.max(start as usize)).unwrap_or("").trim_end_matches('\r')
    }
}

/// The loaded files indexed by [`FileId`] (the one place a `FileId` becomes a `usize`).
#[derive(Debug, Default, Clone)]
struct FileTable {
    files: Vec<SourceFile>,
}

impl FileTable {
    /// Position of `id`'s file in the table.
    fn slot(id: FileId) -> usize {
        id.0 as usize
    }
    fn push(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }
    fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(Self::slot(id))
    }
    fn len(&self) -> usize {
        self.files.len()
    }
}

impl std::ops::Index<FileId> for FileTable {
    type Output = SourceFile;
    fn index(&self, id: FileId) -> &SourceFile {
        &self.files[Self::slot(id)]
    }
}

/// All source files of one compilation.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: FileTable,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(path.into(), text.into()))
    }
    /// The file behind `id`.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }
    /// Number of files loaded.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.len() == 0
    }
    /// `path:line:col` of the start of `span`.
    pub fn location(&self, span: Span) -> String {
        match self.files.get(span.file) {
            Some(f) => {
                let (l, c) = f.line_col(span.lo);
                format!("{}:{}:{}", f.path, l, c)
            }
            None => "<unknown>".to_string(),
        }
    }
}

/// Severity of a diagnostic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Note,
}

/// A user-facing message about the program, anchored at a span.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub level: Level,
    pub message: String,
    pub span: Option<Span>,
    /// Extra lines printed after the snippet (`note: …`), e.g. a comptime call stack.
    pub notes: Vec<String>,
    /// Notes with a place of their own (`note: …` with its own `-->` and snippet).
    pub located_notes: Vec<(Span, String)>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { level: Level::Error, message: message.into(), span: Some(span), notes: vec![], located_notes: vec![] }
    }
    /// An error with no source location (e.g. a missing file given on the command line).
    pub fn bare(message: impl Into<String>) -> Diagnostic {
        Diagnostic { level: Level::Error, message: message.into(), span: None, notes: vec![], located_notes: vec![] }
    }
    /// Adds a note pointing at `span`, rendered with its own location and snippet.
    pub fn with_located_note(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.located_notes.push((span, note.into()));
        self
    }
    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)
    }
}

/// Renders `diag` rustc-style: `error: msg`, `--> path:line:col`, the source line and a caret run.
pub fn render(map: &SourceMap, diag: &Diagnostic) -> String {
    render_with(map, diag, false)
}

/// Renders `diag` like [`render`], with ANSI colours and bold text (annotate-snippets' styled
/// renderer) for a terminal.
pub fn render_colored(map: &SourceMap, diag: &Diagnostic) -> String {
    render_with(map, diag, true)
}

fn render_with(map: &SourceMap, diag: &Diagnostic, colored: bool) -> String {
    use annotate_snippets::{renderer::DecorStyle, AnnotationKind, Group, Level as ALevel, Renderer, Snippet};
    let level = match diag.level {
        Level::Error => ALevel::ERROR,
        Level::Note => ALevel::NOTE,
    };
    let renderer = if colored { Renderer::styled() } else { Renderer::plain() }.decor_style(DecorStyle::Ascii);
    let mut out = String::new();
    match diag.span.and_then(|s| map.files.get(s.file).map(|f| (s, f))) {
        Some((span, file)) => {
            let len = file.text.len();
            let lo = (span.lo as usize).min(len);
            let mut hi = (span.hi as usize).min(len).max(lo);
            // Stay on char boundaries.
            let lo = floor_char_boundary(&file.text, lo);
            hi = floor_char_boundary(&file.text, hi);
            let title = level.primary_title(diag.message.as_str());
            let group = title
                .element(Snippet::source(file.text.as_str()).path(file.path.as_str()).annotation(AnnotationKind::Primary.span(lo..hi)));
            out.push_str(&renderer.render(&[group]));
            for (span, note) in &diag.located_notes {
                let Some(file) = map.files.get(span.file) else { continue };
                let (lo, hi) = clamp_span(&file.text, *span);
                let group = ALevel::NOTE
                    .primary_title(note.as_str())
                    .element(Snippet::source(file.text.as_str()).path(file.path.as_str()).annotation(AnnotationKind::Primary.span(lo..hi)));
                out.push_str("\n\n");
                out.push_str(&renderer.render(&[group]));
            }
        }
        None if colored => {
            let group = Group::with_title(ALevel::ERROR.primary_title(diag.message.as_str()));
            out.push_str(&renderer.render(&[group]));
        }
        None => {
            out.push_str(&format!("error: {}", diag.message));
        }
    }
    for n in &diag.notes {
        out.push('\n');
        out.push_str(n);
    }
    out
}

/// The byte range of `span` within `text`, clamped to it and to char boundaries.
fn clamp_span(text: &str, span: Span) -> (usize, usize) {
    let len = text.len();
    let lo = floor_char_boundary(text, (span.lo as usize).min(len));
    let hi = floor_char_boundary(text, (span.hi as usize).min(len).max(lo));
    (lo, hi)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_render() {
        let mut m = SourceMap::new();
        let f = m.add("a.sx", "x := 1;\ny := zz;\n");
        let d = Diagnostic::error(Span::new(f, 13, 15), "unknown name 'zz'");
        assert_eq!(m.location(d.span.unwrap()), "a.sx:2:6");
        let r = render(&m, &d);
        assert!(r.starts_with("error: unknown name 'zz'"), "{r}");
        assert!(r.contains("--> a.sx:2:6"), "{r}");
        assert!(r.contains("^^"), "{r}");
        assert!(!r.contains('\x1b'), "{r}");
    }

    #[test]
    fn colored_render_has_ansi_escapes() {
        let mut m = SourceMap::new();
        let f = m.add("a.sx", "x := 1;\ny := zz;\n");
        let d = Diagnostic::error(Span::new(f, 13, 15), "unknown name 'zz'");
        let r = render_colored(&m, &d);
        assert!(r.contains("\x1b["), "{r:?}");
        assert!(r.contains("unknown name 'zz'"), "{r}");
        let bare = render_colored(&m, &Diagnostic::bare("no 'main' function found"));
        assert!(bare.contains("\x1b[") && bare.contains("no 'main' function found"), "{bare:?}");
    }
}
