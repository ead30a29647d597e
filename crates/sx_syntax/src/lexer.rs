//! The lexer: source text to [`Token`]s with byte spans.
//!
//! Keywords are not distinguished here: every word is an [`TokKind::Ident`] and the
//! parser checks spellings (many keywords are contextual). Backtick raw identifiers
//! become [`TokKind::RawIdent`] (span excludes the backtick). `#name` is one
//! [`TokKind::Directive`] token, except `#string DELIM ... DELIM` which becomes a
//! [`TokKind::Str`].

use sx_diag::{Diagnostic, FileId, Span};

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum TokKind {
    /// A word (identifier or keyword).
    Ident,
    /// `` `word `` — never a keyword.
    RawIdent,
    /// `#word` (span covers the `#`).
    Directive,
    /// Integer literal value.
    Int(u128),
    /// Float literal value.
    Float(f64),
    /// Character literal code point.
    Char(u32),
    /// String literal bytes (escapes processed).
    Str(Vec<u8>),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `;`
    Semi,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `:`
    Colon,
    /// `::`
    ColonColon,
    /// `:=`
    ColonEq,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `&`
    Amp,
    /// `|`
    Pipe,
    /// `^`
    Caret,
    /// `~`
    Tilde,
    /// `!`
    Bang,
    /// `?`
    Question,
    /// `??`
    QQ,
    /// `?.`
    QDot,
    /// `->`
    Arrow,
    /// `=>`
    FatArrow,
    /// `$`
    Dollar,
    /// `|>`
    PipeGt,
    /// `---`
    Undef,
    /// `+= -= *= /= %= &= |= ^= <<= >>=`
    OpEq(crate::ast::AssignOp),
    /// End of input.
    Eof,
}

/// One token.
#[derive(Clone, Debug)]
pub struct Token {
    /// The kind (with literal payloads).
    pub kind: TokKind,
    /// Byte offset of the first character.
    pub lo: u32,
    /// Byte offset past the last character.
    pub hi: u32,
    /// A newline occurs between the previous token and this one.
    pub nl_before: bool,
}

/// Tokenises `src`. Always ends with an [`TokKind::Eof`] token. Never panics.
pub fn lex(file: FileId, src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lx = Lexer { file, src: src.as_bytes(), text: src, pos: 0, toks: Vec::new(), diags: Vec::new() };
    lx.run();
    (lx.toks, lx.diags)
}

struct Lexer<'a> {
    file: FileId,
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    toks: Vec<Token>,
    diags: Vec<Diagnostic>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}
fn is_ident_cont(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn peek(&self, off: usize) -> u8 {
        *self.src.get(self.pos + off).unwrap_or(&0)
    }
    fn err(&mut self, lo: usize, hi: usize, msg: impl Into<String>) {
        if self.diags.len() < 100 {
            self.diags.push(Diagnostic::error(Span::new(self.file, lo as u32, hi as u32), msg));
        }
    }
    fn push(&mut self, kind: TokKind, lo: usize, nl: bool) {
        self.toks.push(Token { kind, lo: lo as u32, hi: self.pos as u32, nl_before: nl });
    }

    fn run(&mut self) {
        let mut nl = false;
        loop {
            // whitespace and comments
            while self.pos < self.src.len() {
                let b = self.src[self.pos];
                if b == b'\n' {
                    nl = true;
                    self.pos += 1;
                } else if b == b' ' || b == b'\t' || b == b'\r' {
                    self.pos += 1;
                } else if b == b'/' && self.peek(1) == b'/' {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                } else {
                    break;
                }
            }
            let lo = self.pos;
            if self.pos >= self.src.len() {
                self.push(TokKind::Eof, lo, nl);
                return;
            }
            let b = self.src[self.pos];
            let kind = if is_ident_start(b) {
                self.ident_end();
                TokKind::Ident
            } else if b == b'`' {
                self.pos += 1;
                let s = self.pos;
                self.ident_end();
                if self.pos == s {
                    self.err(lo, self.pos, "expected an identifier after '`'");
                    continue;
                }
                self.toks.push(Token { kind: TokKind::RawIdent, lo: s as u32, hi: self.pos as u32, nl_before: nl });
                nl = false;
                continue;
            } else if b.is_ascii_digit() {
                self.number()
            } else if b == b'"' {
                self.string()
            } else if b == b'\'' {
                self.char_lit()
            } else if b == b'#' {
                self.pos += 1;
                let s = self.pos;
                self.ident_end();
                if self.pos == s {
                    self.err(lo, self.pos, "expected a directive name after '#'");
                    continue;
                }
                if &self.src[s..self.pos] == b"string" {
                    self.heredoc(lo)
                } else {
                    TokKind::Directive
                }
            } else {
                match self.punct() {
                    Some(k) => k,
                    None => {
                        // skip one UTF-8 char
                        let ch_len = self.text.get(self.pos..).and_then(|s| s.chars().next()).map(|c| c.len_utf8()).unwrap_or(1);
                        self.pos += ch_len;
                        self.err(lo, self.pos, format!("unexpected character '{}'", self.text.get(lo..self.pos).unwrap_or("?")));
                        continue;
                    }
                }
            };
            self.push(kind, lo, nl);
            nl = false;
        }
    }

    fn ident_end(&mut self) {
        while self.pos < self.src.len() && is_ident_cont(self.src[self.pos]) {
            self.pos += 1;
        }
    }

    fn punct(&mut self) -> Option<TokKind> {
        use crate::ast::AssignOp as A;
        use TokKind::*;
        let b0 = self.peek(0);
        let b1 = self.peek(1);
        let b2 = self.peek(2);
        let (k, n) = match (b0, b1, b2) {
            (b'<', b'<', b'=') => (OpEq(A::Shl), 3),
            (b'>', b'>', b'=') => (OpEq(A::Shr), 3),
            (b'-', b'-', b'-') => (Undef, 3),
            (b'.', b'.', _) => (DotDot, 2),
            (b':', b':', _) => (ColonColon, 2),
            (b':', b'=', _) => (ColonEq, 2),
            (b'=', b'=', _) => (EqEq, 2),
            (b'=', b'>', _) => (FatArrow, 2),
            (b'!', b'=', _) => (Ne, 2),
            (b'<', b'=', _) => (Le, 2),
            (b'>', b'=', _) => (Ge, 2),
            (b'<', b'<', _) => (Shl, 2),
            (b'>', b'>', _) => (Shr, 2),
            (b'-', b'>', _) => (Arrow, 2),
            (b'?', b'?', _) => (QQ, 2),
            (b'?', b'.', _) => (QDot, 2),
            (b'|', b'>', _) => (PipeGt, 2),
            (b'+', b'=', _) => (OpEq(A::Add), 2),
            (b'-', b'=', _) => (OpEq(A::Sub), 2),
            (b'*', b'=', _) => (OpEq(A::Mul), 2),
            (b'/', b'=', _) => (OpEq(A::Div), 2),
            (b'%', b'=', _) => (OpEq(A::Rem), 2),
            (b'&', b'=', _) => (OpEq(A::BitAnd), 2),
            (b'|', b'=', _) => (OpEq(A::BitOr), 2),
            (b'^', b'=', _) => (OpEq(A::BitXor), 2),
            (b'(', _, _) => (LParen, 1),
            (b')', _, _) => (RParen, 1),
            (b'{', _, _) => (LBrace, 1),
            (b'}', _, _) => (RBrace, 1),
            (b'[', _, _) => (LBracket, 1),
            (b']', _, _) => (RBracket, 1),
            (b';', _, _) => (Semi, 1),
            (b',', _, _) => (Comma, 1),
            (b'.', _, _) => (Dot, 1),
            (b':', _, _) => (Colon, 1),
            (b'=', _, _) => (Eq, 1),
            (b'<', _, _) => (Lt, 1),
            (b'>', _, _) => (Gt, 1),
            (b'+', _, _) => (Plus, 1),
            (b'-', _, _) => (Minus, 1),
            (b'*', _, _) => (Star, 1),
            (b'/', _, _) => (Slash, 1),
            (b'%', _, _) => (Percent, 1),
            (b'&', _, _) => (Amp, 1),
            (b'|', _, _) => (Pipe, 1),
            (b'^', _, _) => (Caret, 1),
            (b'~', _, _) => (Tilde, 1),
            (b'!', _, _) => (Bang, 1),
            (b'?', _, _) => (Question, 1),
            (b'$', _, _) => (Dollar, 1),
            _ => return None,
        };
        self.pos += n;
        Some(k)
    }

    fn number(&mut self) -> TokKind {
        let lo = self.pos;
        let after_dot = matches!(self.toks.last(), Some(Token { kind: TokKind::Dot, .. }));
        let radix = if self.peek(0) == b'0' {
            match self.peek(1) {
                b'x' | b'X' => 16,
                b'o' | b'O' => 8,
                b'b' | b'B' => 2,
                _ => 10,
            }
        } else {
            10
        };
        if radix != 10 {
            self.pos += 2;
        }
        let mut val: u128 = 0;
        let mut overflow = false;
        let mut ndigits = 0;
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            if c == b'_' {
                self.pos += 1;
                continue;
            }
            let d = match (c as char).to_digit(radix) {
                Some(d) => d,
                None => {
                    if c.is_ascii_alphanumeric() {
                        // e.g. 0b102 or 12abc
                        while self.pos < self.src.len() && is_ident_cont(self.src[self.pos]) {
                            self.pos += 1;
                        }
                        self.err(lo, self.pos, "invalid digit in number literal");
                        return TokKind::Int(val);
                    }
                    break;
                }
            };
            ndigits += 1;
            match val.checked_mul(radix as u128).and_then(|v| v.checked_add(d as u128)) {
                Some(v) => val = v,
                None => overflow = true,
            }
            self.pos += 1;
        }
        if radix != 10 && ndigits == 0 {
            self.err(lo, self.pos, "number literal has no digits after its base prefix");
        }
        if overflow {
            self.err(lo, self.pos, "integer literal is too large");
            val = u128::MAX;
        }
        // fraction: `.` followed by a digit (not `..`, not `.(`, not after a `.` field access)
        if radix == 10 && !after_dot && self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            self.pos += 1;
            while self.pos < self.src.len() && (self.src[self.pos].is_ascii_digit() || self.src[self.pos] == b'_') {
                self.pos += 1;
            }
            let text: String = self.text.get(lo..self.pos).unwrap_or("0").chars().filter(|&c| c != '_').collect();
            return TokKind::Float(text.parse::<f64>().unwrap_or(0.0));
        }
        TokKind::Int(val)
    }

    /// Reads one escape after a backslash (pos is at the char after `\`). Returns the code point.
    fn escape(&mut self, quote: u8) -> Option<u32> {
        let lo = self.pos - 1;
        let c = self.peek(0);
        self.pos += 1;
        Some(match c {
            b'n' => 10,
            b't' => 9,
            b'r' => 13,
            b'0' => 0,
            b'\\' => b'\\' as u32,
            b'\'' => b'\'' as u32,
            b'"' => b'"' as u32,
            b'x' => {
                let h = self.text.get(self.pos..self.pos + 2).and_then(|s| u32::from_str_radix(s, 16).ok());
                match h {
                    Some(v) => {
                        self.pos += 2;
                        v
                    }
                    None => {
                        self.err(lo, self.pos, "invalid \\x escape (expected two hex digits)");
                        return None;
                    }
                }
            }
            b'u' => {
                if self.peek(0) != b'{' {
                    self.err(lo, self.pos, "invalid \\u escape (expected '{')");
                    return None;
                }
                let s = self.pos + 1;
                let mut e = s;
                while e < self.src.len() && self.src[e].is_ascii_hexdigit() {
                    e += 1;
                }
                if e >= self.src.len() || self.src[e] != b'}' || e == s {
                    self.err(lo, e.min(self.src.len()), "invalid \\u{...} escape");
                    self.pos = e.min(self.src.len());
                    return None;
                }
                self.pos = e + 1;
                match self.text.get(s..e).and_then(|h| u32::from_str_radix(h, 16).ok()) {
                    Some(v) if v <= 0x10FFFF => v,
                    _ => {
                        self.err(lo, self.pos, "\\u{...} escape is out of range");
                        return None;
                    }
                }
            }
            0 if self.pos > self.src.len() => {
                self.pos = self.src.len();
                return None;
            }
            _ => {
                let _ = quote;
                // Unknown escape: keep it verbatim (backslash + char).
                self.pos -= 1;
                return Some(u32::MAX);
            }
        })
    }

    fn string(&mut self) -> TokKind {
        let lo = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.pos >= self.src.len() {
                self.err(lo, self.src.len(), "unterminated string literal");
                break;
            }
            let c = self.src[self.pos];
            if c == b'"' {
                self.pos += 1;
                break;
            }
            if c == b'\\' {
                self.pos += 1;
                let is_x = self.peek(0) == b'x';
                match self.escape(b'"') {
                    Some(u32::MAX) => out.push(b'\\'),
                    Some(v) => {
                        if is_x {
                            out.push(v as u8);
                        } else {
                            let ch = char::from_u32(v).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                    None => {}
                }
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        TokKind::Str(out)
    }

    fn char_lit(&mut self) -> TokKind {
        let lo = self.pos;
        self.pos += 1;
        let c = self.peek(0);
        let val = if c == b'\\' {
            self.pos += 1;
            match self.escape(b'\'') {
                Some(u32::MAX) => {
                    let v = self.peek(0) as u32;
                    self.err(lo, self.pos + 1, "unknown escape sequence in character literal");
                    self.pos += 1;
                    v
                }
                Some(v) => v,
                None => 0,
            }
        } else if c == b'\'' || c == b'\n' || self.pos >= self.src.len() {
            self.err(lo, self.pos, "empty character literal");
            if c == b'\'' {
                self.pos += 1;
            }
            return TokKind::Char(0);
        } else {
            match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
                Some(ch) => {
                    self.pos += ch.len_utf8();
                    ch as u32
                }
                None => {
                    self.pos += 1;
                    0
                }
            }
        };
        if self.peek(0) == b'\'' {
            self.pos += 1;
        } else {
            // find closing quote on this line for recovery
            let mut e = self.pos;
            while e < self.src.len() && self.src[e] != b'\'' && self.src[e] != b'\n' {
                e += 1;
            }
            if e < self.src.len() && self.src[e] == b'\'' {
                self.err(lo, e + 1, "character literal must contain exactly one character");
                self.pos = e + 1;
            } else {
                self.err(lo, self.pos, "unterminated character literal");
            }
        }
        TokKind::Char(val)
    }

    /// `#string DELIM\n ... \nDELIM` (pos is after `#string`).
    fn heredoc(&mut self, lo: usize) -> TokKind {
        while self.pos < self.src.len() && (self.src[self.pos] == b' ' || self.src[self.pos] == b'\t') {
            self.pos += 1;
        }
        let ds = self.pos;
        self.ident_end();
        let delim = self.text.get(ds..self.pos).unwrap_or("").to_string();
        if delim.is_empty() {
            self.err(lo, self.pos, "expected a delimiter identifier after #string");
            return TokKind::Str(Vec::new());
        }
        // skip the rest of the line
        while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
            self.pos += 1;
        }
        if self.pos < self.src.len() {
            self.pos += 1;
        }
        let start = self.pos;
        let mut line = self.pos;
        loop {
            if line >= self.src.len() {
                self.err(lo, self.src.len(), format!("unterminated #string heredoc (missing '{}' at the start of a line)", delim));
                self.pos = self.src.len();
                return TokKind::Str(self.src[start..].to_vec());
            }
            let rest = &self.src[line..];
            if rest.starts_with(delim.as_bytes()) && !rest.get(delim.len()).map(|&b| is_ident_cont(b)).unwrap_or(false) {
                let content = self.src[start..line].to_vec();
                self.pos = line + delim.len();
                return TokKind::Str(content);
            }
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => line += i + 1,
                None => line = self.src.len(),
            }
        }
    }
}
