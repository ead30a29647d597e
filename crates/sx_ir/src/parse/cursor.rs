//! Reading the text IR character by character: blanks and `;` comments, words, numbers,
//! strings, entity references such as `v12`, all with 1-based line:column positions for errors.

use crate::*;

/// The largest entity number (`v…`, `block…`, `ss…`, `data…`) a text may use, so a typo cannot
/// make the parser allocate gigabytes.
pub(super) const MAX_ENTITY: u32 = 1 << 20;

/// A parse error at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Result of a parsing step.
pub(super) type PResult<T> = Result<T, ParseError>;

/// A line:column position.
#[derive(Copy, Clone, Debug)]
pub(super) struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    /// An error at this position.
    pub fn error(self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.line, col: self.col, message: message.into() }
    }
}

/// True for the characters of a word: names, opcodes (`iconst.i64`), entity references.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')
}

/// The number of an entity reference `<prefix><digits>` (`v12` with prefix `v`), if `word` is
/// one.
pub(super) fn entity_number(word: &str, prefix: &str) -> Option<u32> {
    let digits = word.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok()
}

/// A position in the text being parsed.
pub(super) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
    col: u32,
}

impl<'a> Cursor<'a> {
    /// A cursor at byte `offset` (a line start) of `src`, which is line `line`.
    pub fn at(src: &'a str, offset: usize, line: u32) -> Cursor<'a> {
        Cursor { src, pos: offset, line, col: 1 }
    }
    /// The current position, without skipping anything.
    fn here(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }
    /// The position of the next non-blank character.
    pub fn pos(&mut self) -> Pos {
        self.skip_blank();
        self.here()
    }
    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> ParseError {
        self.here().error(message)
    }
    /// The next character.
    pub fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    /// The next character after blanks.
    pub fn peek_after_blank(&mut self) -> Option<char> {
        self.skip_blank();
        self.peek()
    }
    /// Skips spaces, tabs and a `;` comment, stopping at the end of the line.
    pub fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                ';' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
    }
    /// Skips blanks, comments and whole empty lines.
    pub fn skip_lines(&mut self) {
        loop {
            self.skip_blank();
            if self.peek() == Some('\n') {
                self.bump();
            } else {
                break;
            }
        }
    }
    /// True at the end of the input (after blanks and empty lines have been skipped).
    pub fn at_end(&mut self) -> bool {
        self.skip_blank();
        self.peek().is_none()
    }
    /// True when only blanks or a comment are left on this line.
    pub fn at_line_end(&mut self) -> bool {
        self.skip_blank();
        matches!(self.peek(), None | Some('\n'))
    }
    /// Describes what comes next, for error messages.
    pub fn found(&mut self) -> String {
        self.skip_blank();
        match self.peek() {
            None => "the end of the input".to_string(),
            Some('\n') => "the end of the line".to_string(),
            Some(c) if is_word_char(c) => format!("`{}`", self.peek_word()),
            Some(c) => format!("`{}`", c),
        }
    }
    /// An error "expected `what`, found …" at the next non-blank character.
    pub fn expected(&mut self, what: impl std::fmt::Display) -> ParseError {
        let found = self.found();
        self.error(format!("expected {}, found {}", what, found))
    }
    /// Consumes the end of the line (or of the input).
    pub fn end_line(&mut self) -> PResult<()> {
        if !self.at_line_end() {
            return Err(self.expected("the end of the line"));
        }
        self.bump();
        Ok(())
    }
    /// The next word without consuming it (empty when none follows).
    pub fn peek_word(&mut self) -> &'a str {
        self.skip_blank();
        let rest = self.src.get(self.pos..).unwrap_or("");
        let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        &rest[..len]
    }
    /// Consumes a word: letters, digits, `_`, `.`, `$`.
    pub fn word(&mut self) -> PResult<&'a str> {
        let w = self.peek_word();
        if w.is_empty() {
            return Err(self.expected("a name"));
        }
        for _ in w.chars() {
            self.bump();
        }
        Ok(w)
    }
    /// Consumes everything up to the next blank, comma, parenthesis or end of line.
    pub fn token(&mut self) -> PResult<&'a str> {
        self.skip_blank();
        let rest = self.src.get(self.pos..).unwrap_or("");
        let len = rest.find(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';')).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.expected("a value"));
        }
        for _ in rest[..len].chars() {
            self.bump();
        }
        Ok(&rest[..len])
    }
    /// Consumes the keyword `kw`.
    pub fn keyword(&mut self, kw: &str) -> PResult<()> {
        if self.peek_word() != kw {
            return Err(self.expected(format!("`{}`", kw)));
        }
        self.word().map(|_| ())
    }
    /// Consumes `c` if it comes next.
    pub fn eat(&mut self, c: char) -> bool {
        self.skip_blank();
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }
    /// Consumes `c`.
    pub fn expect(&mut self, c: char) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(format!("`{}`", c)))
        }
    }
    /// A decimal integer, optionally negative.
    pub fn int(&mut self) -> PResult<i64> {
        self.skip_blank();
        let start = self.pos();
        let n = self.wide_int()?;
        i64::try_from(n).map_err(|_| start.error(format!("integer {} is out of range", n)))
    }
    /// A decimal integer of up to 30 digits, optionally negative.
    fn wide_int(&mut self) -> PResult<i128> {
        self.skip_blank();
        let start = self.pos();
        let rest = self.src.get(self.pos..).unwrap_or("");
        let sign = usize::from(rest.starts_with('-'));
        let digits = rest[sign..].bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(self.expected("an integer"));
        }
        let text = &rest[..sign + digits];
        for _ in 0..sign + digits {
            self.bump();
        }
        text.parse::<i128>().ok().filter(|_| digits <= 30).ok_or_else(|| start.error(format!("integer {} is out of range", text)))
    }
    /// A non-negative integer no larger than `max`.
    pub fn uint(&mut self, max: u64) -> PResult<u64> {
        self.skip_blank();
        let start = self.pos();
        let n = self.int()?;
        u64::try_from(n).ok().filter(|&n| n <= max).ok_or_else(|| start.error(format!("{} is out of range (0 to {})", n, max)))
    }
    /// A `u32` no larger than `max`.
    pub fn u32(&mut self, max: u32) -> PResult<u32> {
        self.uint(u64::from(max)).map(|n| n as u32)
    }
    /// `+N`, `-N` or `+-N` (how offsets and addends are written).
    pub fn signed_offset(&mut self) -> PResult<i64> {
        let start = self.pos();
        let n = if self.eat('+') {
            self.wide_int()?
        } else if self.eat('-') {
            -self.wide_int()?
        } else {
            return Err(self.expected("`+` or `-` and an offset"));
        };
        i64::try_from(n).map_err(|_| start.error(format!("offset {} is out of range", n)))
    }
    /// A double-quoted string with the escapes `\"`, `\\`, `\n`, `\t` and `\u{hex}`.
    pub fn string(&mut self) -> PResult<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let pos = self.here();
            match self.bump() {
                None | Some('\n') => return Err(pos.error("unterminated string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('u') => out.push(self.unicode_escape(pos)?),
                    _ => return Err(pos.error("unknown escape (use \\\", \\\\, \\n, \\t or \\u{…})")),
                },
                Some(c) => out.push(c),
            }
        }
    }
    fn unicode_escape(&mut self, pos: Pos) -> PResult<char> {
        let bad = || pos.error("malformed \\u{…} escape");
        if self.bump() != Some('{') {
            return Err(bad());
        }
        let mut code: u32 = 0;
        let mut digits = 0;
        loop {
            match self.bump() {
                Some('}') if digits > 0 => break,
                Some(c) if c.is_ascii_hexdigit() && digits < 6 => {
                    code = code * 16 + c.to_digit(16).unwrap_or(0);
                    digits += 1;
                }
                _ => return Err(bad()),
            }
        }
        char::from_u32(code).ok_or_else(bad)
    }
    /// A name: a word or a quoted string.
    pub fn name(&mut self) -> PResult<String> {
        self.skip_blank();
        if self.peek() == Some('"') {
            self.string()
        } else {
            self.word().map(str::to_string)
        }
    }
    /// An entity reference `<prefix>N` with `N` at most [`MAX_ENTITY`]; `what` names it in
    /// errors.
    pub fn entity(&mut self, prefix: &str, what: &str) -> PResult<u32> {
        let pos = self.pos();
        let w = self.peek_word();
        match entity_number(w, prefix) {
            Some(n) if n <= MAX_ENTITY => {
                self.word()?;
                Ok(n)
            }
            Some(_) => Err(pos.error(format!("{} number {} is too large", what, w))),
            None => Err(self.expected(format!("{} ({}N)", what, prefix))),
        }
    }
    /// A value reference `vN`.
    pub fn value(&mut self) -> PResult<Value> {
        self.entity("v", "a value").map(Value)
    }
    /// A comma-separated list of values up to `)` (the `(` already consumed).
    pub fn value_list(&mut self) -> PResult<Vec<Value>> {
        let mut out = Vec::new();
        if self.eat(')') {
            return Ok(out);
        }
        loop {
            out.push(self.value()?);
            if self.eat(')') {
                return Ok(out);
            }
            self.expect(',')?;
        }
    }
    /// A scalar type name.
    pub fn ty(&mut self) -> PResult<Type> {
        let pos = self.pos();
        let w = self.word()?;
        Type::from_name(w).ok_or_else(|| pos.error(format!("unknown type `{}`", w)))
    }
    /// `(types) -> (types)`.
    pub fn signature(&mut self) -> PResult<Signature> {
        let params = self.type_list()?;
        self.expect('-')?;
        self.expect('>')?;
        let returns = self.type_list()?;
        Ok(Signature { params, returns })
    }
    fn type_list(&mut self) -> PResult<Vec<Type>> {
        self.expect('(')?;
        let mut out = Vec::new();
        if self.eat(')') {
            return Ok(out);
        }
        loop {
            out.push(self.ty()?);
            if self.eat(')') {
                return Ok(out);
            }
            self.expect(',')?;
        }
    }
    /// Hexadecimal bytes up to `]` (the `[` already consumed); may span lines.
    pub fn hex_bytes(&mut self, limit: usize) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            self.skip_lines();
            let pos = self.pos();
            match self.peek() {
                Some(']') => {
                    self.bump();
                    return Ok(out);
                }
                None => return Err(pos.error("unterminated byte list (expected `]`)")),
                Some(c) => {
                    let hi = c.to_digit(16).ok_or_else(|| pos.error(format!("expected hexadecimal bytes or `]`, found `{}`", c)))?;
                    self.bump();
                    let lo = self.peek().and_then(|c| c.to_digit(16)).ok_or_else(|| pos.error("odd number of hexadecimal digits"))?;
                    self.bump();
                    if out.len() == limit {
                        return Err(pos.error(format!("more than {} initial bytes", limit)));
                    }
                    out.push((hi * 16 + lo) as u8);
                }
            }
        }
    }
}
