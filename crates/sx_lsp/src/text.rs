//! Positions: byte offsets of sx spans ↔ LSP line/character positions (UTF-16 units), and
//! `file://` URIs ↔ paths.

use lsp_types::{Position, Range};
use std::path::PathBuf;

/// The LSP position of byte `offset` in `text` (clamped to the text; a split character counts
/// from its start).
pub fn position(text: &str, offset: u32) -> Position {
    let mut offset = (offset as usize).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count();
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    Position { line: line as u32, character: character as u32 }
}

/// The LSP range of bytes `[lo, hi)` in `text`.
pub fn range(text: &str, lo: u32, hi: u32) -> Range {
    Range { start: position(text, lo), end: position(text, hi.max(lo)) }
}

/// The byte offset of an LSP position in `text` (clamped to its line and the text).
pub fn offset(text: &str, pos: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= pos.character {
            return line_start + i;
        }
        units += c.len_utf16() as u32;
    }
    line_end
}

/// The 0-based line of `text` containing byte `offset`, without its newline.
pub fn line_of(text: &str, offset: u32) -> &str {
    let offset = (offset as usize).min(text.len());
    let lo = text.as_bytes()[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let hi = text[lo..].find('\n').map_or(text.len(), |i| lo + i);
    text[lo..hi].trim_end_matches('\r')
}

/// The path of a `file://` URI (percent-decoded); other schemes give `None`.
pub fn uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out).into_owned()))
}

/// The `file://` URI of an absolute path (percent-encoding what is not unreserved or `/`).
pub fn path_uri(path: &std::path::Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns() {
        let text = "a :: \"é😀\";\nb";
        let p = position(text, text.find(';').unwrap_or(0) as u32);
        // `é` is one UTF-16 unit, `😀` two.
        assert_eq!((p.line, p.character), (0, 10));
        assert_eq!(offset(text, p), text.find(';').unwrap_or(0));
        assert_eq!(position(text, text.len() as u32), Position { line: 1, character: 1 });
        assert_eq!(offset(text, Position { line: 5, character: 0 }), text.len());
    }

    #[test]
    fn uris() {
        let p = std::path::Path::new("/tmp/a b/x.sx");
        assert_eq!(path_uri(p), "file:///tmp/a%20b/x.sx");
        assert_eq!(uri_path(&path_uri(p)).as_deref(), Some(p));
    }
}
