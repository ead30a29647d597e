//! The preprocessed text `cc -E -dD` printed: the prelude and spelling fixes that let lang-c
//! parse it, line markers (which file each byte came from), the `#define`/`#undef` lines, and
//! the bounds of one top-level declaration (to leave out a declaration lang-c cannot parse).

use crate::collect::PRELUDE_TYPES;
use crate::model::Macro;
use std::collections::HashMap;

/// Text ready for lang-c: a prelude of typedefs, then the preprocessor's output.
pub(crate) struct Prepared {
    pub(crate) text: String,
    /// Offset where the preprocessor's output starts.
    pub(crate) prelude_end: usize,
}

/// Builds the text lang-c parses from `cc -E` output.
pub(crate) fn prepare(raw: &str) -> Prepared {
    let mut text = String::new();
    for (name, _) in PRELUDE_TYPES {
        text.push_str("typedef int ");
        text.push_str(name);
        text.push_str(";\n");
    }
    let prelude_end = text.len();
    text.push_str(&respell_builtin_types(raw));
    Prepared { text, prelude_end }
}

/// Replaces GNU type keywords lang-c does not know by prelude typedef names
/// (`unsigned __int128` → `__sx_int128`, which the translator reports as unsupported).
fn respell_builtin_types(raw: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        ("__int128", "__sx_int128"),
        ("__float128", "_Float128"),
        ("__float80", "__sx_float80"),
        ("__fp16", "__sx_fp16"),
        ("__bf16", "__sx_bf16"),
    ];
    if !MAP.iter().any(|(from, _)| raw.contains(from)) {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    let mut last_word: Option<(usize, usize)> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &raw[start..i];
            match MAP.iter().find(|(from, _)| *from == word) {
                Some((_, to)) => {
                    // Drop a sign keyword right before `__int128` (the type is refused anyway).
                    if let Some((ws, we)) = last_word {
                        let prev = &out[ws..we];
                        if (prev == "unsigned" || prev == "signed" || prev == "__signed__") && out[we..].trim().is_empty() {
                            out.truncate(ws);
                        }
                    }
                    let at = out.len();
                    out.push_str(to);
                    last_word = Some((at, out.len()));
                }
                None => {
                    let at = out.len();
                    out.push_str(word);
                    last_word = Some((at, out.len()));
                }
            }
            continue;
        }
        let ch_len = utf8_len(b);
        let end = (i + ch_len).min(bytes.len());
        out.push_str(raw.get(i..end).unwrap_or(""));
        i = end;
    }
    out
}

fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Where each part of the text came from, from `# LINE "FILE" FLAGS` markers.
pub(crate) struct Markers {
    /// (offset of the line after the marker, file, that line's number), by offset.
    marks: Vec<(usize, String, usize)>,
}

impl Markers {
    /// Reads the line markers of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let mut marks = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if let Some((line_no, file)) = parse_marker(line) {
                marks.push((offset + line.len(), file, line_no));
            }
            offset += line.len();
        }
        Markers { marks }
    }

    fn mark_at(&self, offset: usize) -> Option<&(usize, String, usize)> {
        let i = self.marks.partition_point(|(o, _, _)| *o <= offset);
        i.checked_sub(1).map(|i| &self.marks[i])
    }

    /// The file the byte at `offset` came from.
    pub(crate) fn file_at(&self, offset: usize) -> &str {
        self.mark_at(offset).map(|(_, f, _)| f.as_str()).unwrap_or("")
    }

    /// `file:line` of `offset` in `text` (`line N` of the text after the prelude when no
    /// marker precedes it).
    pub(crate) fn location(&self, text: &str, prelude_end: usize, offset: usize) -> String {
        match self.mark_at(offset) {
            Some((start, file, line)) => {
                let newlines = text.get(*start..offset).map(|s| s.matches('\n').count()).unwrap_or(0);
                format!("{}:{}", file, line + newlines)
            }
            None => {
                let newlines = text.get(prelude_end..offset).map(|s| s.matches('\n').count()).unwrap_or(0);
                format!("line {}", newlines + 1)
            }
        }
    }

    /// Every real file the preprocessor read (not `<stdin>`, `<built-in>`, `<command-line>`),
    /// sorted and without duplicates.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.marks.iter().map(|(_, f, _)| f.clone()).filter(|f| !is_pseudo_file(f)).collect();
        files.sort();
        files.dedup();
        files
    }
}

/// `<stdin>`, `<built-in>`, `<command-line>` and the like.
pub(crate) fn is_pseudo_file(f: &str) -> bool {
    f.starts_with('<') && f.ends_with('>')
}

/// Parses `# 12 "file.h" 1 3 4` (also `#line 12 "file.h"`).
fn parse_marker(line: &str) -> Option<(usize, String)> {
    let rest = line.strip_prefix('#')?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix("line").map(|r| r.trim_start()).unwrap_or(rest);
    let digits_end = rest.find(|c: char| !c.is_ascii_digit())?;
    if digits_end == 0 {
        return None;
    }
    let line_no = rest[..digits_end].parse().ok()?;
    let rest = rest[digits_end..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut file = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some((line_no, file)),
            '\\' => file.push(chars.next()?),
            c => file.push(c),
        }
    }
    None
}

/// The macros defined at the end of the text (`#define` lines in order, `#undef` removes).
pub(crate) fn macros(text: &str, markers: &Markers) -> HashMap<String, Macro> {
    let mut out = HashMap::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let Some(rest) = line.strip_prefix('#') else { continue };
        let rest = rest.trim_start_matches([' ', '\t']);
        if let Some(def) = rest.strip_prefix("define") {
            if !def.starts_with([' ', '\t']) {
                continue;
            }
            let def = def.trim_start_matches([' ', '\t']).trim_end_matches(['\n', '\r']);
            let name_end = def.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(def.len());
            let name = &def[..name_end];
            if name.is_empty() {
                continue;
            }
            let function_like = def[name_end..].starts_with('(');
            let body = def[name_end..].trim().to_string();
            let builtin = is_pseudo_file(markers.file_at(at));
            out.insert(name.to_string(), Macro { body, function_like, builtin, offset: at });
        } else if let Some(name) = rest.strip_prefix("undef") {
            out.remove(name.trim());
        }
    }
    out
}

/// The byte range of the top-level declaration containing `offset`, starting the scan at
/// `from`: it begins after the previous `;` (or function body) at nesting depth 0 and ends at
/// the next one. Directive lines, string and character literals are skipped.
pub(crate) fn declaration_bounds(text: &str, from: usize, offset: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let mut depth: i64 = 0;
    let mut start = from;
    let mut i = from;
    let mut line_start = true;
    let mut last_sig = b' ';
    let mut body_at_depth0 = false;
    while i < b.len() {
        let c = b[i];
        if line_start && c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        line_start = c == b'\n';
        match c {
            b'"' | b'\'' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' => {
                if depth == 0 {
                    body_at_depth0 = last_sig == b')';
                }
                depth += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 && body_at_depth0 {
                    if i >= offset {
                        return (start, i + 1);
                    }
                    start = i + 1;
                    body_at_depth0 = false;
                }
            }
            b';' if depth <= 0 => {
                if i >= offset {
                    return (start, i + 1);
                }
                start = i + 1;
                depth = 0;
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            last_sig = c;
        }
        i += 1;
    }
    (start, b.len())
}

/// Replaces the range with spaces, keeping newlines and directive lines.
pub(crate) fn blank(text: &mut String, range: (usize, usize)) {
    let mut bytes = std::mem::take(text).into_bytes();
    let (lo, hi) = (range.0.min(bytes.len()), range.1.min(bytes.len()));
    let mut i = lo;
    let mut in_directive = lo > 0 && line_is_directive(&bytes, lo);
    while i < hi {
        if bytes[i] == b'\n' {
            in_directive = bytes.get(i + 1) == Some(&b'#');
        } else if !in_directive {
            bytes[i] = b' ';
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII spaces, but a multi-byte character may have
    // been cut: fall back to a lossy conversion then.
    *text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
}

fn line_is_directive(bytes: &[u8], at: usize) -> bool {
    let line_start = bytes[..at].iter().rposition(|b| *b == b'\n').map(|p| p + 1).unwrap_or(0);
    bytes.get(line_start) == Some(&b'#')
}
