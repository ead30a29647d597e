//! Hand-written recursive-descent parser with precedence climbing.
//!
//! Error handling: a failing production pushes a diagnostic and returns `Err(Fail)`;
//! the item loop then skips to the next line that starts in column 0 and resumes.
//! Nesting is capped at [`MAX_DEPTH`].
//!
//! This module holds the parser state and token plumbing; the productions live in
//! `items` (declarations, function signatures), `stmts`, `exprs` and `types`.

mod asm;
mod cimport;
mod exprs;
mod items;
mod stmts;
mod types;

use crate::ast::*;
use crate::lexer::{lex, TokKind, Token};
use sx_diag::{Diagnostic, FileId, Span};

/// Maximum syntactic nesting depth before the parser gives up with a diagnostic.
pub const MAX_DEPTH: u32 = 500;
const MAX_DIAGS: usize = 50;

#[derive(Debug)]
struct Fail;
type PResult<T> = Result<T, Fail>;

/// Words that cannot be used as plain identifiers in expression position.
const HARD_KEYWORDS: &[&str] = &[
    "if", "else", "then", "while", "for", "break", "continue", "true", "false", "enum", "struct", "union", "case", "return", "defer", "xx",
    "and", "or", "raise", "try", "catch", "onfail", "null", "inline",
];

/// Parses a whole file. Never panics.
pub fn parse(file: FileId, src: &str) -> (File, Vec<Diagnostic>) {
    let (toks, diags) = lex(file, src);
    let mut p = Parser { file, src, toks, pos: 0, diags, depth: 0, no_block: false, for_header: false, paren_ctx: "value type" };
    let items = p.parse_items_until_eof();
    let span = Span::new(file, 0, src.len() as u32);
    (File { items, span }, p.diags)
}

struct Parser<'a> {
    file: FileId,
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    diags: Vec<Diagnostic>,
    depth: u32,
    /// In `if`/`while`/`for` headers etc.: `{` ends the expression (no trailing blocks,
    /// and `x == {` stops before `==`).
    no_block: bool,
    /// In a `for` header: a paren group followed by `{`/`=>` is the capture, not a call.
    for_header: bool,
    /// What a bare `(A, B)` would be used as here (for the diagnostic).
    paren_ctx: &'static str,
}

#[derive(Clone, Copy)]
struct Restr {
    no_block: bool,
    for_header: bool,
}

enum StmtOut {
    Stmt(Stmt),
    Tail(Expr),
}

enum Decl {
    Const { name: Ident, ty: Option<Expr>, value: Expr },
    Var { names: Vec<Ident>, ty: Option<Expr>, value: Option<Expr>, undef: bool },
    ExternVar { name: Ident, ty: Expr, lib: Option<Ident>, sym: Option<String> },
}

impl<'a> Parser<'a> {
    fn tok(&self) -> &Token {
        let i = self.pos.min(self.toks.len() - 1);
        &self.toks[i]
    }

    fn kind(&self) -> &TokKind {
        &self.tok().kind
    }

    fn nth(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i]
    }

    fn nth_kind(&self, n: usize) -> &TokKind {
        &self.nth(n).kind
    }

    fn at(&self, k: &TokKind) -> bool {
        self.kind() == k
    }

    fn at_eof(&self) -> bool {
        matches!(self.kind(), TokKind::Eof)
    }

    fn bump(&mut self) -> Token {
        let cur = self.tok();
        let t = Token {
            kind: match &cur.kind {
                TokKind::Str(_) => TokKind::Str(Vec::new()),
                k => k.clone(),
            },
            lo: cur.lo,
            hi: cur.hi,
            nl_before: cur.nl_before,
        };
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    /// Consumes a string token, moving its bytes out (tokens are never revisited).
    fn take_str(&mut self) -> Vec<u8> {
        let i = self.pos.min(self.toks.len() - 1);
        let out = match &mut self.toks[i].kind {
            TokKind::Str(s) => std::mem::take(s),
            _ => Vec::new(),
        };
        self.bump();
        out
    }

    fn eat(&mut self, k: &TokKind) -> bool {
        if self.at(k) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn text_of(&self, t: &Token) -> &'a str {
        self.src.get(t.lo as usize..t.hi as usize).unwrap_or("")
    }

    fn text(&self) -> &'a str {
        let t = self.tok();
        self.src.get(t.lo as usize..t.hi as usize).unwrap_or("")
    }

    fn nth_text(&self, n: usize) -> &'a str {
        let t = self.nth(n);
        self.src.get(t.lo as usize..t.hi as usize).unwrap_or("")
    }

    /// Current token is the (non-raw) word `w`.
    fn is_word(&self, w: &str) -> bool {
        matches!(self.kind(), TokKind::Ident) && self.text() == w
    }

    fn nth_is_word(&self, n: usize, w: &str) -> bool {
        matches!(self.nth_kind(n), TokKind::Ident) && self.nth_text(n) == w
    }

    fn is_directive(&self, name: &str) -> bool {
        matches!(self.kind(), TokKind::Directive) && self.text().get(1..) == Some(name)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn lo(&self) -> u32 {
        self.tok().lo
    }

    fn prev_hi(&self) -> u32 {
        if self.pos == 0 {
            0
        } else {
            self.toks[(self.pos - 1).min(self.toks.len() - 1)].hi
        }
    }

    fn prev_kind(&self) -> Option<&TokKind> {
        if self.pos == 0 {
            None
        } else {
            self.toks.get(self.pos - 1).map(|t| &t.kind)
        }
    }

    fn span(&self, lo: u32) -> Span {
        Span::new(self.file, lo, self.prev_hi().max(lo))
    }

    fn tok_span(&self) -> Span {
        let t = self.tok();
        Span::new(self.file, t.lo, t.hi)
    }

    fn describe(&self) -> String {
        match self.kind() {
            TokKind::Eof => "end of file".to_string(),
            TokKind::Str(_) => "a string literal".to_string(),
            _ => format!("'{}'", self.text()),
        }
    }

    fn error_at(&mut self, span: Span, msg: impl Into<String>) {
        if self.diags.len() < MAX_DIAGS {
            self.diags.push(Diagnostic::error(span, msg));
        }
    }

    fn fail<T>(&mut self, msg: impl Into<String>) -> PResult<T> {
        let sp = self.tok_span();
        self.error_at(sp, msg);
        Err(Fail)
    }

    fn expected<T>(&mut self, what: &str) -> PResult<T> {
        let m = format!("expected {}, found {}", what, self.describe());
        self.fail(m)
    }

    fn expect(&mut self, k: TokKind, what: &str) -> PResult<Token> {
        if self.at(&k) {
            Ok(self.bump())
        } else {
            self.expected(what)
        }
    }

    /// `;` is required unless the previous token closed a `}` body.
    fn expect_semi(&mut self) -> PResult<()> {
        if self.eat(&TokKind::Semi) {
            return Ok(());
        }
        if matches!(self.prev_kind(), Some(TokKind::RBrace)) {
            return Ok(());
        }
        self.expected("';'")
    }

    fn restr(&self) -> Restr {
        Restr { no_block: self.no_block, for_header: self.for_header }
    }

    fn set_restr(&mut self, r: Restr) {
        self.no_block = r.no_block;
        self.for_header = r.for_header;
    }

    /// Runs `f` with the given restrictions, restoring the old ones afterwards.
    fn with<T>(&mut self, no_block: bool, for_header: bool, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let old = self.restr();
        self.no_block = no_block;
        self.for_header = for_header;
        let r = f(self);
        self.set_restr(old);
        r
    }

    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return self.fail("nesting is too deep");
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Index of the token matching the opener at `self.pos + n` (or None).
    fn matching_close(&self, n: usize) -> Option<usize> {
        let start = self.pos + n;
        let mut depth = 0i32;
        let mut i = start;
        while i < self.toks.len() {
            match self.toks[i].kind {
                TokKind::LParen | TokKind::LBracket | TokKind::LBrace => depth += 1,
                TokKind::RParen | TokKind::RBracket | TokKind::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                    if depth < 0 {
                        return None;
                    }
                }
                TokKind::Eof => return None,
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn kind_at(&self, i: usize) -> &TokKind {
        &self.toks[i.min(self.toks.len() - 1)].kind
    }

    /// End offset of the group whose opener starts at byte `lo`.
    fn matching_close_from(&self, lo: u32) -> Option<u32> {
        let i = self.toks.iter().position(|t| t.lo == lo)?;
        let mut depth = 0i32;
        for t in self.toks.iter().skip(i) {
            match t.kind {
                TokKind::LParen | TokKind::LBracket | TokKind::LBrace => depth += 1,
                TokKind::RParen | TokKind::RBracket | TokKind::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(t.hi);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// At `(`: is this paren group a capture list (followed by `{` or `=>`)?
    fn paren_is_capture(&self) -> bool {
        match self.matching_close(0) {
            Some(j) => matches!(self.kind_at(j + 1), TokKind::LBrace | TokKind::FatArrow),
            None => false,
        }
    }

    fn is_ident_tok(&self) -> bool {
        match self.kind() {
            TokKind::RawIdent => true,
            TokKind::Ident => !HARD_KEYWORDS.contains(&self.text()),
            _ => false,
        }
    }

    /// `onfail (e) {`: a parenthesised error binding follows.
    fn onfail_binding_ahead(&self) -> bool {
        matches!(self.kind(), TokKind::LParen)
            && self.nth_is_ident(1)
            && matches!(self.nth_kind(2), TokKind::RParen)
            && matches!(self.nth_kind(3), TokKind::LBrace)
    }

    fn nth_is_ident(&self, n: usize) -> bool {
        match self.nth_kind(n) {
            TokKind::RawIdent => true,
            TokKind::Ident => !HARD_KEYWORDS.contains(&self.nth_text(n)),
            _ => false,
        }
    }

    fn parse_ident(&mut self) -> PResult<Ident> {
        if self.is_ident_tok() {
            let t = self.bump();
            Ok(self.mk_ident(&t))
        } else {
            self.expected("an identifier")
        }
    }

    /// Any word, keywords included (member names after `.`).
    fn parse_member_name(&mut self) -> PResult<Ident> {
        match self.kind() {
            TokKind::Ident | TokKind::RawIdent => {
                let t = self.bump();
                Ok(self.mk_ident(&t))
            }
            _ => self.expected("a member name"),
        }
    }

    fn mk_ident(&self, t: &Token) -> Ident {
        Ident { name: self.text_of(t).to_string(), span: Span::new(self.file, t.lo, t.hi), raw: matches!(t.kind, TokKind::RawIdent) }
    }
}
