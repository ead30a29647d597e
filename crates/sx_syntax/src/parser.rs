//! Hand-written recursive-descent parser with precedence climbing.
//!
//! Error handling: a failing production pushes a diagnostic and returns `Err(Fail)`;
//! the item loop then skips to the next line that starts in column 0 and resumes.
//! Nesting is capped at [`MAX_DEPTH`].

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
    // ----------------------------------------------------------------- tokens

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

    // ----------------------------------------------------------------- identifiers

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

    // ----------------------------------------------------------------- items

    fn parse_items_until_eof(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while !self.at_eof() {
            if self.eat(&TokKind::Semi) {
                continue;
            }
            let start = self.pos;
            match self.parse_item() {
                Ok(it) => items.push(it),
                Err(Fail) => {
                    self.recover_top(start);
                    if self.diags.len() >= MAX_DIAGS {
                        break;
                    }
                }
            }
        }
        items
    }

    /// Skips to the next token that starts a line in column 0 (a likely declaration start).
    fn recover_top(&mut self, start: usize) {
        if self.pos == start {
            self.bump();
        }
        while !self.at_eof() {
            let t = self.tok();
            if t.nl_before && self.col0(t.lo) && !matches!(t.kind, TokKind::RBrace | TokKind::RParen | TokKind::RBracket) {
                return;
            }
            self.bump();
        }
    }
    fn col0(&self, lo: u32) -> bool {
        lo == 0 || self.src.as_bytes().get(lo as usize - 1) == Some(&b'\n')
    }

    /// Items until `}` (not consumed).
    fn parse_items_until_rbrace(&mut self) -> PResult<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            if self.at(&TokKind::RBrace) {
                return Ok(items);
            }
            if self.at_eof() {
                return self.expected("'}'");
            }
            if self.eat(&TokKind::Semi) {
                continue;
            }
            items.push(self.parse_item()?);
        }
    }

    fn parse_item(&mut self) -> PResult<Item> {
        self.nest(|p| p.parse_item_inner())
    }

    fn parse_item_inner(&mut self) -> PResult<Item> {
        let lo = self.lo();
        let mut private = false;
        if self.is_word("private") && (self.nth_is_ident(1) || matches!(self.nth_kind(1), TokKind::Directive)) {
            self.bump();
            private = true;
        }
        let kind = match self.kind().clone() {
            TokKind::Directive => {
                let name = self.text().get(1..).unwrap_or("").to_string();
                match name.as_str() {
                    "import" => {
                        self.bump();
                        let (path, path_span) = self.parse_str_lit("an import path string")?;
                        self.expect_semi()?;
                        ItemKind::Import { alias: None, path, path_span }
                    }
                    "run" => {
                        self.bump();
                        let e = self.parse_expr()?;
                        self.expect_semi()?;
                        ItemKind::Run(e)
                    }
                    "insert" => {
                        self.bump();
                        let e = self.parse_expr()?;
                        self.expect_semi()?;
                        ItemKind::Insert(e)
                    }
                    "context_extend" => {
                        self.bump();
                        let name = self.parse_ident()?;
                        self.expect(TokKind::Colon, "':'")?;
                        let ty = self.parse_type()?;
                        let default = if self.eat(&TokKind::Eq) { Some(self.parse_expr()?) } else { None };
                        self.expect_semi()?;
                        ItemKind::ContextExtend { name, ty, default }
                    }
                    _ => {
                        let e = self.parse_expr()?;
                        self.expect_semi()?;
                        ItemKind::Directive(e)
                    }
                }
            }
            TokKind::Ident
                if self.is_word("impl")
                    && !matches!(self.nth_kind(1), TokKind::ColonColon | TokKind::Colon | TokKind::ColonEq | TokKind::Comma) =>
            {
                ItemKind::Impl(self.parse_impl()?)
            }
            TokKind::Ident if self.is_word("inline") && self.nth_is_word(1, "if") => {
                self.bump();
                self.bump();
                self.parse_inline_if_items()?
            }
            TokKind::Ident | TokKind::RawIdent if self.is_ident_tok() => {
                match self.nth_kind(1) {
                    TokKind::ColonColon | TokKind::Colon | TokKind::ColonEq | TokKind::Comma => {}
                    _ => return self.expected("'::', ':' or ':=' after a declaration name"),
                }
                let decl = self.parse_decl()?;
                match decl {
                    Decl::Const { name, ty: None, value: Expr { kind: ExprKind::Import(path), span } } => {
                        ItemKind::Import { alias: Some(name), path, path_span: span }
                    }
                    Decl::Const { name, ty, value } => ItemKind::Const { name, ty, value },
                    Decl::Var { names, ty, value, undef } => ItemKind::Var { names, ty, value, undef },
                    Decl::ExternVar { name, ty, lib, sym } => ItemKind::ExternVar { name, ty, lib, sym },
                }
            }
            _ => return self.expected("a declaration"),
        };
        Ok(Item { kind, span: self.span(lo), private })
    }

    fn parse_str_lit(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.kind().clone() {
            TokKind::Str(s) => {
                let sp = self.tok_span();
                self.bump();
                Ok((String::from_utf8_lossy(&s).into_owned(), sp))
            }
            _ => self.expected(what),
        }
    }

    /// `names (:: | : T : | := | : T = | : T ;) ...` including the terminating `;`.
    fn parse_decl(&mut self) -> PResult<Decl> {
        let mut names = vec![self.parse_ident()?];
        while self.eat(&TokKind::Comma) {
            names.push(self.parse_ident()?);
        }
        self.parse_decl_rest(names)
    }

    fn parse_decl_rest(&mut self, mut names: Vec<Ident>) -> PResult<Decl> {
        match self.kind() {
            TokKind::ColonColon => {
                self.bump();
                if names.len() != 1 {
                    let sp = names[1].span;
                    self.error_at(sp, "a constant declaration binds exactly one name");
                    return Err(Fail);
                }
                let value = self.parse_expr()?;
                self.expect_semi()?;
                Ok(Decl::Const { name: names.remove(0), ty: None, value })
            }
            TokKind::ColonEq => {
                self.bump();
                let value = self.parse_expr()?;
                self.expect_semi()?;
                Ok(Decl::Var { names, ty: None, value: Some(value), undef: false })
            }
            TokKind::Colon => {
                self.bump();
                let ty = self.parse_type()?;
                if self.is_word("extern") {
                    self.bump();
                    let lib = if self.is_ident_tok() { Some(self.parse_ident()?) } else { None };
                    let sym = if let TokKind::Str(s) = self.kind().clone() {
                        self.bump();
                        Some(String::from_utf8_lossy(&s).into_owned())
                    } else {
                        None
                    };
                    self.expect_semi()?;
                    return Ok(Decl::ExternVar { name: names.remove(0), ty, lib, sym });
                }
                if self.eat(&TokKind::Colon) {
                    if names.len() != 1 {
                        let sp = names[1].span;
                        self.error_at(sp, "a constant declaration binds exactly one name");
                        return Err(Fail);
                    }
                    let value = self.parse_expr()?;
                    self.expect_semi()?;
                    return Ok(Decl::Const { name: names.remove(0), ty: Some(ty), value });
                }
                if self.eat(&TokKind::Eq) {
                    if self.at(&TokKind::Undef) && matches!(self.nth_kind(1), TokKind::Semi) {
                        self.bump();
                        self.expect_semi()?;
                        return Ok(Decl::Var { names, ty: Some(ty), value: None, undef: true });
                    }
                    let value = self.parse_expr()?;
                    self.expect_semi()?;
                    return Ok(Decl::Var { names, ty: Some(ty), value: Some(value), undef: false });
                }
                self.expect_semi()?;
                Ok(Decl::Var { names, ty: Some(ty), value: None, undef: false })
            }
            _ => self.expected("'::', ':' or ':='"),
        }
    }

    fn parse_impl(&mut self) -> PResult<ImplDecl> {
        let lo = self.lo();
        self.bump(); // impl
        let protocol = self.with(true, false, |p| p.parse_type())?;
        let target = if self.eat_word("for") { Some(self.with(true, false, |p| p.parse_type())?) } else { None };
        self.expect(TokKind::LBrace, "'{'")?;
        let items = self.parse_items_until_rbrace()?;
        self.expect(TokKind::RBrace, "'}'")?;
        Ok(ImplDecl { protocol, target, items, span: self.span(lo) })
    }

    /// After `inline if` at item level.
    fn parse_inline_if_items(&mut self) -> PResult<ItemKind> {
        let cond = self.with(true, false, |p| p.parse_expr())?;
        if self.at(&TokKind::EqEq) && matches!(self.nth_kind(1), TokKind::LBrace) {
            self.bump();
            self.bump();
            let mut arms = Vec::new();
            let mut else_ = None;
            loop {
                if self.eat(&TokKind::RBrace) {
                    break;
                }
                if self.at_eof() {
                    return self.expected("'}'");
                }
                let alo = self.lo();
                if self.eat_word("case") {
                    let patterns = self.parse_case_patterns()?;
                    let items = self.parse_arm_items()?;
                    arms.push(ItemArm { patterns, items, span: self.span(alo) });
                } else if self.eat_word("else") {
                    if !self.eat(&TokKind::Colon) {
                        self.expect(TokKind::FatArrow, "':'")?;
                    }
                    else_ = Some(self.parse_arm_items()?);
                } else {
                    return self.expected("'case' or 'else'");
                }
            }
            return Ok(ItemKind::InlineMatch { subject: cond, arms, else_ });
        }
        self.expect(TokKind::LBrace, "'{'")?;
        let then = self.parse_items_until_rbrace()?;
        self.expect(TokKind::RBrace, "'}'")?;
        let mut else_ = Vec::new();
        if self.eat_word("else") {
            if self.is_word("if") {
                let lo = self.lo();
                self.bump();
                let k = self.parse_inline_if_items()?;
                else_.push(Item { kind: k, span: self.span(lo), private: false });
            } else if self.is_word("inline") && self.nth_is_word(1, "if") {
                let lo = self.lo();
                self.bump();
                self.bump();
                let k = self.parse_inline_if_items()?;
                else_.push(Item { kind: k, span: self.span(lo), private: false });
            } else {
                self.expect(TokKind::LBrace, "'{'")?;
                else_ = self.parse_items_until_rbrace()?;
                self.expect(TokKind::RBrace, "'}'")?;
            }
        }
        Ok(ItemKind::InlineIf { cond, then, else_ })
    }

    fn at_arm_end(&self) -> bool {
        self.at(&TokKind::RBrace)
            || self.at_eof()
            || self.is_word("case")
            || (self.is_word("else") && matches!(self.nth_kind(1), TokKind::Colon | TokKind::FatArrow))
    }

    fn parse_arm_items(&mut self) -> PResult<Vec<Item>> {
        let mut items = Vec::new();
        while !self.at_arm_end() {
            if self.eat(&TokKind::Semi) {
                continue;
            }
            if self.at(&TokKind::LBrace) {
                self.bump();
                let mut inner = self.parse_items_until_rbrace()?;
                self.expect(TokKind::RBrace, "'}'")?;
                items.append(&mut inner);
                continue;
            }
            items.push(self.parse_item()?);
        }
        Ok(items)
    }

    fn parse_case_patterns(&mut self) -> PResult<Vec<Expr>> {
        let mut pats = Vec::new();
        loop {
            let e = self.with(true, false, |p| p.parse_range_or_expr())?;
            pats.push(e);
            if !self.eat(&TokKind::Comma) {
                break;
            }
            if self.at(&TokKind::Colon) {
                break;
            }
        }
        self.expect(TokKind::Colon, "':' after case pattern")?;
        Ok(pats)
    }

    // ----------------------------------------------------------------- statements

    fn parse_block(&mut self) -> PResult<Block> {
        self.nest(|p| {
            let lo = p.lo();
            p.expect(TokKind::LBrace, "'{'")?;
            let old = p.restr();
            p.set_restr(Restr { no_block: false, for_header: false });
            let r = p.parse_stmts_until(|p| p.at(&TokKind::RBrace), false);
            p.set_restr(old);
            let (stmts, tail) = r?;
            p.expect(TokKind::RBrace, "'}'")?;
            Ok(Block { stmts, tail: tail.map(Box::new), span: p.span(lo) })
        })
    }

    fn parse_stmts_until(&mut self, end: impl Fn(&Self) -> bool, arm: bool) -> PResult<(Vec<Stmt>, Option<Expr>)> {
        let mut stmts = Vec::new();
        let mut tail = None;
        loop {
            if end(self) {
                break;
            }
            if self.at_eof() {
                return self.expected("'}'");
            }
            if self.eat(&TokKind::Semi) {
                continue;
            }
            if let Some(t) = tail.take() {
                // an expression without ';' followed by more statements
                let e: Expr = t;
                let sp = Span::new(self.file, e.span.hi, e.span.hi);
                if arm {
                    stmts.push(Stmt { span: e.span, kind: StmtKind::Expr(e) });
                } else {
                    self.error_at(sp, "expected ';' after expression");
                    return Err(Fail);
                }
            }
            match self.parse_stmt(arm)? {
                StmtOut::Stmt(s) => stmts.push(s),
                StmtOut::Tail(e) => tail = Some(e),
            }
        }
        Ok((stmts, tail))
    }

    fn parse_stmt(&mut self, arm: bool) -> PResult<StmtOut> {
        self.nest(|p| p.parse_stmt_inner(arm))
    }

    fn stmt(&self, kind: StmtKind, lo: u32) -> StmtOut {
        StmtOut::Stmt(Stmt { kind, span: self.span(lo) })
    }

    fn parse_stmt_inner(&mut self, arm: bool) -> PResult<StmtOut> {
        let lo = self.lo();
        match self.kind().clone() {
            TokKind::LBrace => {
                let b = self.parse_block()?;
                if self.at(&TokKind::RBrace) && !arm {
                    let sp = b.span;
                    return Ok(StmtOut::Tail(Expr::new(ExprKind::Block(b), sp)));
                }
                self.eat(&TokKind::Semi);
                return Ok(self.stmt(StmtKind::Block(b), lo));
            }
            TokKind::Directive => {
                let name = self.text().get(1..).unwrap_or("").to_string();
                match name.as_str() {
                    "run" => {
                        self.bump();
                        let e = self.parse_expr()?;
                        self.expect_semi()?;
                        return Ok(self.stmt(StmtKind::Run(e), lo));
                    }
                    "insert" => {
                        self.bump();
                        let e = self.parse_expr()?;
                        self.expect_semi()?;
                        return Ok(self.stmt(StmtKind::Insert(e), lo));
                    }
                    "import" | "context_extend" => {
                        let it = self.parse_item()?;
                        return Ok(self.stmt(StmtKind::Item(it), lo));
                    }
                    _ => {}
                }
            }
            TokKind::Ident => {
                let w = self.text();
                match w {
                    "return" => {
                        self.bump();
                        let mut vals = Vec::new();
                        if !self.at(&TokKind::Semi) && !self.at(&TokKind::RBrace) && !self.at_arm_end() {
                            loop {
                                let name = if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::Eq) {
                                    let n = self.parse_ident()?;
                                    self.bump();
                                    Some(n)
                                } else {
                                    None
                                };
                                let value = self.parse_expr()?;
                                vals.push(RetValue { name, value });
                                if !self.eat(&TokKind::Comma) {
                                    break;
                                }
                            }
                        }
                        self.expect_semi_stmt()?;
                        return Ok(self.stmt(StmtKind::Return(vals), lo));
                    }
                    "break" | "continue" => {
                        self.bump();
                        self.expect_semi_stmt()?;
                        let k = if w == "break" { StmtKind::Break } else { StmtKind::Continue };
                        return Ok(self.stmt(k, lo));
                    }
                    "defer" | "onfail" => {
                        self.bump();
                        let mut binding = None;
                        if w == "onfail" && self.onfail_binding_ahead() {
                            self.bump();
                            binding = Some(self.parse_ident()?);
                            self.bump();
                        }
                        let inner = match self.parse_stmt(false)? {
                            StmtOut::Stmt(s) => s,
                            StmtOut::Tail(e) => Stmt { span: e.span, kind: StmtKind::Expr(e) },
                        };
                        let k = if w == "defer" {
                            StmtKind::Defer(Box::new(inner))
                        } else {
                            StmtKind::OnFail { binding, body: Box::new(inner) }
                        };
                        return Ok(self.stmt(k, lo));
                    }
                    "raise" => {
                        self.bump();
                        let e = self.parse_expr()?;
                        self.expect_semi_stmt()?;
                        return Ok(self.stmt(StmtKind::Raise(e), lo));
                    }
                    "while" => {
                        self.bump();
                        let cond = self.parse_cond()?;
                        let body = self.parse_block()?;
                        self.eat(&TokKind::Semi);
                        return Ok(self.stmt(StmtKind::While { cond, body }, lo));
                    }
                    "for" => {
                        self.bump();
                        let f = self.parse_for(false)?;
                        return Ok(self.stmt(StmtKind::For(f), lo));
                    }
                    "inline" if self.nth_is_word(1, "for") => {
                        self.bump();
                        self.bump();
                        let f = self.parse_for(true)?;
                        return Ok(self.stmt(StmtKind::For(f), lo));
                    }
                    "push"
                        if !(matches!(self.nth_kind(1), TokKind::Dot) && self.nth(1).lo == self.tok().hi)
                            && !matches!(
                                self.nth_kind(1),
                                TokKind::LParen
                                    | TokKind::Eq
                                    | TokKind::Colon
                                    | TokKind::ColonColon
                                    | TokKind::ColonEq
                                    | TokKind::Semi
                                    | TokKind::OpEq(_)
                                    | TokKind::Comma
                            ) =>
                    {
                        self.bump();
                        let ctx = self.with(true, false, |p| p.parse_expr())?;
                        let body = self.parse_block()?;
                        self.eat(&TokKind::Semi);
                        return Ok(self.stmt(StmtKind::Push { ctx, body }, lo));
                    }
                    "impl" if self.nth_is_ident(1) => {
                        let it = self.parse_item()?;
                        return Ok(self.stmt(StmtKind::Item(it), lo));
                    }
                    "if" | "inline" => {
                        // a statement-level `if` ends at its last block: `if c {..} *p = 1;`
                        let e = self.nest(|p| p.parse_primary())?;
                        return self.finish_expr_stmt(e, lo, arm, true);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if self.is_word("private") && self.nth_is_ident(1) {
            return self.fail("'private' is only allowed on module-scope declarations");
        }
        // declarations
        if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::ColonColon | TokKind::Colon | TokKind::ColonEq) {
            let d = self.parse_decl()?;
            let k = match d {
                Decl::Const { name, ty, value } => StmtKind::Const { name, ty, value },
                Decl::Var { names, ty, value, undef } => StmtKind::Let { names, ty, value, undef },
                Decl::ExternVar { name, ty, lib, sym } => {
                    StmtKind::Item(Item { kind: ItemKind::ExternVar { name, ty, lib, sym }, span: self.span(lo), private: false })
                }
            };
            return Ok(self.stmt(k, lo));
        }
        let first = self.parse_expr()?;
        if self.at(&TokKind::Comma) {
            // multi-assign or destructuring declaration
            let mut lhs = vec![first];
            while self.eat(&TokKind::Comma) {
                lhs.push(self.parse_expr()?);
            }
            if self.at(&TokKind::ColonEq) || self.at(&TokKind::Colon) {
                let mut names = Vec::new();
                for e in lhs {
                    match e.kind {
                        ExprKind::Ident(id) => names.push(id),
                        _ => {
                            self.error_at(e.span, "expected a name in a destructuring declaration");
                            return Err(Fail);
                        }
                    }
                }
                let d = self.parse_decl_rest(names)?;
                let k = match d {
                    Decl::Const { name, ty, value } => StmtKind::Const { name, ty, value },
                    Decl::Var { names, ty, value, undef } => StmtKind::Let { names, ty, value, undef },
                    Decl::ExternVar { name, ty, lib, sym } => {
                        StmtKind::Item(Item { kind: ItemKind::ExternVar { name, ty, lib, sym }, span: self.span(lo), private: false })
                    }
                };
                return Ok(self.stmt(k, lo));
            }
            self.expect(TokKind::Eq, "'=' or ':=' after a list of targets")?;
            let mut rhs = vec![self.parse_expr()?];
            while self.eat(&TokKind::Comma) {
                rhs.push(self.parse_expr()?);
            }
            self.expect_semi_stmt()?;
            return Ok(self.stmt(StmtKind::MultiAssign { lhs, rhs }, lo));
        }
        let op = match self.kind() {
            TokKind::Eq => Some(AssignOp::Assign),
            TokKind::OpEq(op) => Some(*op),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.parse_expr()?;
            self.expect_semi_stmt()?;
            return Ok(self.stmt(StmtKind::Assign { op, lhs: first, rhs }, lo));
        }
        self.finish_expr_stmt(first, lo, arm, false)
    }

    /// `;` required, except before `}` / end of a match arm, or after a `}`.
    fn expect_semi_stmt(&mut self) -> PResult<()> {
        if self.eat(&TokKind::Semi) {
            return Ok(());
        }
        if self.at(&TokKind::RBrace) || self.at_arm_end() || matches!(self.prev_kind(), Some(TokKind::RBrace)) {
            return Ok(());
        }
        self.expected("';'")
    }

    fn finish_expr_stmt(&mut self, e: Expr, lo: u32, arm: bool, stmt_start_blocky: bool) -> PResult<StmtOut> {
        if self.eat(&TokKind::Semi) {
            return Ok(self.stmt(StmtKind::Expr(e), lo));
        }
        if self.at(&TokKind::RBrace) || (arm && self.at_arm_end()) {
            return Ok(StmtOut::Tail(e));
        }
        let ends_brace = matches!(self.prev_kind(), Some(TokKind::RBrace));
        if ends_brace || stmt_start_blocky {
            return Ok(self.stmt(StmtKind::Expr(e), lo));
        }
        self.expected("';'")
    }

    fn parse_cond(&mut self) -> PResult<Cond> {
        self.with(true, false, |p| {
            if p.is_ident_tok() && matches!(p.nth_kind(1), TokKind::ColonEq) {
                let name = p.parse_ident()?;
                p.bump();
                let value = p.parse_expr()?;
                return Ok(Cond::Bind { name, value });
            }
            Ok(Cond::Expr(p.parse_expr()?))
        })
    }

    /// After `for` / `inline for`.
    fn parse_for(&mut self, inline: bool) -> PResult<ForLoop> {
        let mut iters = Vec::new();
        self.with(true, true, |p| {
            loop {
                if p.at(&TokKind::LParen) && p.paren_is_capture() && !iters.is_empty() {
                    break;
                }
                iters.push(p.parse_range_or_expr()?);
                if !p.eat(&TokKind::Comma) {
                    break;
                }
            }
            Ok(())
        })?;
        if self.at(&TokKind::Colon) {
            return self
                .fail("for-loop syntax: the ':' before the capture was removed — write `for xs (x) { }` (index via `for xs, 0.. (x, i)`)");
        }
        let mut captures = Vec::new();
        if self.at(&TokKind::LParen) {
            self.bump();
            while !self.at(&TokKind::RParen) {
                let by_ref = self.eat(&TokKind::Star);
                let name = self.parse_ident()?;
                captures.push(Capture { name, by_ref });
                if !self.eat(&TokKind::Comma) {
                    break;
                }
            }
            self.expect(TokKind::RParen, "')'")?;
        }
        let body = if self.at(&TokKind::FatArrow) {
            let lo = self.lo();
            self.bump();
            let s = match self.parse_stmt(false)? {
                StmtOut::Stmt(s) => s,
                StmtOut::Tail(e) => Stmt { span: e.span, kind: StmtKind::Expr(e) },
            };
            Block { stmts: vec![s], tail: None, span: self.span(lo) }
        } else {
            let b = self.parse_block()?;
            self.eat(&TokKind::Semi);
            b
        };
        Ok(ForLoop { iters, captures, body, inline })
    }

    // ----------------------------------------------------------------- expressions

    /// Full expression (lowest precedence).
    fn parse_expr(&mut self) -> PResult<Expr> {
        self.parse_expr_bp(0)
    }

    /// A type expression (same grammar as expressions, without `{`-trailing forms).
    fn parse_type(&mut self) -> PResult<Expr> {
        let old = self.restr();
        self.no_block = true;
        self.for_header = false;
        let r = self.parse_expr_bp(0);
        self.set_restr(old);
        r
    }

    /// Expression or range `lo..hi` with markers (for headers, slices, case patterns).
    fn parse_range_or_expr(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        if self.at_range_op() {
            return self.parse_range_tail(None, lo);
        }
        let e = self.parse_expr()?;
        if self.at_range_op() {
            return self.parse_range_tail(Some(e), lo);
        }
        Ok(e)
    }

    fn at_range_op(&self) -> bool {
        match self.kind() {
            TokKind::DotDot => true,
            TokKind::Lt | TokKind::Eq => matches!(self.nth_kind(1), TokKind::DotDot),
            _ => false,
        }
    }

    fn parse_range_tail(&mut self, lo_e: Option<Expr>, lo: u32) -> PResult<Expr> {
        let (lo_e, hi_e, lo_exclusive, hi_inclusive) = self.parse_range_parts(lo_e)?;
        Ok(Expr::new(ExprKind::Range { lo: lo_e.map(Box::new), hi: hi_e.map(Box::new), lo_exclusive, hi_inclusive }, self.span(lo)))
    }

    fn parse_range_parts(&mut self, lo_e: Option<Expr>) -> PResult<(Option<Expr>, Option<Expr>, bool, bool)> {
        let mut lo_exclusive = false;
        if self.eat(&TokKind::Lt) {
            lo_exclusive = true;
        } else {
            self.eat(&TokKind::Eq);
        }
        self.expect(TokKind::DotDot, "'..'")?;
        let mut hi_inclusive = false;
        if self.eat(&TokKind::Eq) {
            hi_inclusive = true;
        } else {
            self.eat(&TokKind::Lt);
        }
        let hi_absent = match self.kind() {
            TokKind::RBracket
            | TokKind::RParen
            | TokKind::Comma
            | TokKind::LBrace
            | TokKind::FatArrow
            | TokKind::Colon
            | TokKind::Semi
            | TokKind::Eof => true,
            TokKind::LParen => self.for_header && self.paren_is_capture(),
            _ => false,
        };
        let hi_e = if hi_absent { None } else { Some(self.parse_expr()?) };
        Ok((lo_e, hi_e, lo_exclusive, hi_inclusive))
    }

    fn binop_info(&self) -> Option<(BinOp, u8)> {
        use TokKind as T;
        let r = match self.kind() {
            T::PipeGt => (BinOp::Pipe, 1),
            T::QQ => (BinOp::Coalesce, 2),
            T::Ident => match self.text() {
                "or" => (BinOp::Or, 3),
                "and" => (BinOp::And, 4),
                "in" => (BinOp::In, 8),
                _ => return None,
            },
            T::Pipe => (BinOp::BitOr, 5),
            T::Caret => (BinOp::BitXor, 6),
            T::Amp => (BinOp::BitAnd, 7),
            T::EqEq => {
                if self.no_block && matches!(self.nth_kind(1), T::LBrace) {
                    return None;
                }
                (BinOp::Eq, 8)
            }
            T::Ne => (BinOp::Ne, 8),
            T::Lt => {
                if matches!(self.nth_kind(1), T::DotDot) {
                    return None;
                }
                (BinOp::Lt, 8)
            }
            T::Le => (BinOp::Le, 8),
            T::Gt => (BinOp::Gt, 8),
            T::Ge => (BinOp::Ge, 8),
            T::Shl => (BinOp::Shl, 9),
            T::Shr => (BinOp::Shr, 9),
            T::Plus => (BinOp::Add, 10),
            T::Minus => (BinOp::Sub, 10),
            T::Star => (BinOp::Mul, 11),
            T::Slash => (BinOp::Div, 11),
            T::Percent => (BinOp::Rem, 11),
            _ => return None,
        };
        Some(r)
    }

    /// Precedence climbing; `min` is the lowest binding power accepted.
    fn parse_expr_bp(&mut self, min: u8) -> PResult<Expr> {
        self.nest(|p| {
            let lo = p.lo();
            let mut lhs = p.parse_unary()?;
            loop {
                // `catch` binds at the level of `or`
                if p.is_word("catch") && min <= 3 {
                    p.bump();
                    let clause = p.parse_catch_clause()?;
                    lhs = Expr::new(ExprKind::Catch { expr: Box::new(lhs), clause }, p.span(lo));
                    continue;
                }
                let Some((op, prec)) = p.binop_info() else { break };
                if prec < min {
                    break;
                }
                p.bump();
                if op.is_comparison() {
                    let rhs = p.parse_expr_bp(prec + 1)?;
                    let mut operands = vec![lhs, rhs];
                    let mut ops = vec![op];
                    while let Some((op2, prec2)) = p.binop_info() {
                        if prec2 != prec {
                            break;
                        }
                        p.bump();
                        operands.push(p.parse_expr_bp(prec + 1)?);
                        ops.push(op2);
                    }
                    lhs = if ops.len() == 1 {
                        let rhs = operands.pop().unwrap_or_else(|| Expr::new(ExprKind::Error, p.span(lo)));
                        let l = operands.pop().unwrap_or_else(|| Expr::new(ExprKind::Error, p.span(lo)));
                        Expr::new(ExprKind::Binary { op, lhs: Box::new(l), rhs: Box::new(rhs) }, p.span(lo))
                    } else {
                        Expr::new(ExprKind::Chain { operands, ops }, p.span(lo))
                    };
                } else {
                    let rhs = p.parse_expr_bp(prec + 1)?;
                    lhs = Expr::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, p.span(lo));
                }
            }
            Ok(lhs)
        })
    }

    /// After `catch`: `{..}` | `(e) {..}` | `(e) expr` | `(e) == { case .. }` | `expr`.
    fn parse_catch_clause(&mut self) -> PResult<CatchClause> {
        let mut binding = None;
        if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::LBrace) {
            return self.fail("the catch error binding needs parens: `catch (e) { ... }`");
        }
        if self.at(&TokKind::LParen) && self.nth_is_ident(1) && matches!(self.nth_kind(2), TokKind::RParen) {
            self.bump();
            binding = Some(self.parse_ident()?);
            self.bump();
        }
        let lo = self.lo();
        if self.at(&TokKind::EqEq) && matches!(self.nth_kind(1), TokKind::LBrace) {
            self.bump();
            let subject = match &binding {
                Some(b) => Expr::new(ExprKind::Ident(b.clone()), b.span),
                None => Expr::new(ExprKind::Error, self.tok_span()),
            };
            let m = self.parse_match_body(subject, false, lo)?;
            return Ok(CatchClause { binding, body: Box::new(m) });
        }
        let body = if self.at(&TokKind::LBrace) {
            let b = self.parse_block()?;
            let sp = b.span;
            Expr::new(ExprKind::Block(b), sp)
        } else {
            self.parse_branch()?
        };
        Ok(CatchClause { binding, body: Box::new(body) })
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        self.nest(|p| p.parse_unary_inner())
    }

    fn parse_unary_inner(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let un = match self.kind() {
            TokKind::Minus => Some(UnOp::Neg),
            TokKind::Bang => Some(UnOp::Not),
            TokKind::Tilde => Some(UnOp::BitNot),
            _ => None,
        };
        if let Some(op) = un {
            self.bump();
            let e = self.parse_unary()?;
            return Ok(Expr::new(ExprKind::Unary { op, expr: Box::new(e) }, self.span(lo)));
        }
        match self.kind() {
            TokKind::Star => {
                self.bump();
                let e = self.parse_unary()?;
                return Ok(Expr::new(ExprKind::AddrOf(Box::new(e)), self.span(lo)));
            }
            TokKind::Question => {
                self.bump();
                let e = self.parse_unary()?;
                return Ok(Expr::new(ExprKind::OptionalType(Box::new(e)), self.span(lo)));
            }
            TokKind::LBracket => {
                return self.parse_array_type();
            }
            TokKind::Ident if self.is_word("xx") => {
                self.bump();
                let e = self.parse_unary()?;
                return Ok(Expr::new(ExprKind::AutoCast(Box::new(e)), self.span(lo)));
            }
            TokKind::Ident if self.is_word("try") => {
                self.bump();
                let e = self.parse_unary()?;
                return Ok(Expr::new(ExprKind::Try(Box::new(e)), self.span(lo)));
            }
            _ => {}
        }
        let prim = self.parse_primary()?;
        self.parse_postfix(prim, lo)
    }

    /// `[]T`, `[*]T`, `[N]T`, `[:0]T`.
    fn parse_array_type(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        self.bump(); // [
        if self.eat(&TokKind::RBracket) {
            let elem = self.parse_unary()?;
            return Ok(Expr::new(ExprKind::SliceType { elem: Box::new(elem), sentinel: None }, self.span(lo)));
        }
        if self.at(&TokKind::Star) && matches!(self.nth_kind(1), TokKind::RBracket) {
            self.bump();
            self.bump();
            let elem = self.parse_unary()?;
            return Ok(Expr::new(ExprKind::ManyPtrType(Box::new(elem)), self.span(lo)));
        }
        if self.eat(&TokKind::Colon) {
            let s = self.with(false, false, |p| p.parse_expr())?;
            self.expect(TokKind::RBracket, "']'")?;
            let elem = self.parse_unary()?;
            return Ok(Expr::new(ExprKind::SliceType { elem: Box::new(elem), sentinel: Some(Box::new(s)) }, self.span(lo)));
        }
        let len = self.with(false, false, |p| p.parse_expr())?;
        self.expect(TokKind::RBracket, "']'")?;
        let elem = self.parse_unary()?;
        Ok(Expr::new(ExprKind::ArrayType { len: Box::new(len), elem: Box::new(elem) }, self.span(lo)))
    }

    fn parse_postfix(&mut self, mut e: Expr, lo: u32) -> PResult<Expr> {
        loop {
            match self.kind() {
                TokKind::LParen => {
                    if self.for_header && self.paren_is_capture() {
                        break;
                    }
                    if self.tok().nl_before {
                        break;
                    }
                    self.bump();
                    let args = self.parse_args(TokKind::RParen)?;
                    e = Expr::new(ExprKind::Call { callee: Box::new(e), args, trailing_block: false }, self.span(lo));
                }
                TokKind::Dot => match self.nth_kind(1).clone() {
                    TokKind::Ident | TokKind::RawIdent => {
                        self.bump();
                        let name = self.parse_member_name()?;
                        e = Expr::new(ExprKind::Field { base: Box::new(e), name }, self.span(lo));
                    }
                    TokKind::Int(_) => {
                        self.bump();
                        let t = self.bump();
                        let name = Ident { name: self.text_of(&t).replace('_', ""), span: Span::new(self.file, t.lo, t.hi), raw: false };
                        e = Expr::new(ExprKind::Field { base: Box::new(e), name }, self.span(lo));
                    }
                    TokKind::LParen => {
                        self.bump();
                        self.bump();
                        let ty = self.with(false, false, |p| p.parse_type_in_parens())?;
                        if self.eat(&TokKind::Comma) {
                            let alloc = self.with(false, false, |p| p.parse_expr())?;
                            self.eat(&TokKind::Comma);
                            self.expect(TokKind::RParen, "')'")?;
                            e = Expr::new(
                                ExprKind::CastWithAlloc { expr: Box::new(e), ty: Box::new(ty), alloc: Box::new(alloc) },
                                self.span(lo),
                            );
                            continue;
                        }
                        self.expect(TokKind::RParen, "')'")?;
                        e = Expr::new(ExprKind::Cast { expr: Box::new(e), ty: Box::new(ty) }, self.span(lo));
                    }
                    TokKind::Star => {
                        self.bump();
                        self.bump();
                        e = Expr::new(ExprKind::Deref(Box::new(e)), self.span(lo));
                    }
                    TokKind::LBrace => {
                        self.bump();
                        self.bump();
                        let fields = self.parse_field_inits()?;
                        e = Expr::new(ExprKind::StructLit { ty: Some(Box::new(e)), fields }, self.span(lo));
                    }
                    TokKind::LBracket => {
                        self.bump();
                        self.bump();
                        let elems = self.parse_expr_list(TokKind::RBracket)?;
                        e = Expr::new(ExprKind::ArrayLit { ty: Some(Box::new(e)), elems }, self.span(lo));
                    }
                    _ => {
                        self.bump();
                        return self.expected("a member name, '(', '*', '{' or '[' after '.'");
                    }
                },
                TokKind::QDot if matches!(self.nth_kind(1), TokKind::LParen) => {
                    self.bump();
                    self.bump();
                    let ty = self.with(false, false, |p| p.parse_type_in_parens())?;
                    self.expect(TokKind::RParen, "')'")?;
                    e = Expr::new(ExprKind::OptCast { expr: Box::new(e), ty: Box::new(ty) }, self.span(lo));
                }
                TokKind::QDot => {
                    self.bump();
                    let name = self.parse_member_name()?;
                    e = Expr::new(ExprKind::OptField { base: Box::new(e), name }, self.span(lo));
                }
                TokKind::LBracket => {
                    if self.tok().nl_before {
                        break;
                    }
                    self.bump();
                    let old = self.restr();
                    self.set_restr(Restr { no_block: false, for_header: false });
                    let r = self.parse_index_tail(e, lo);
                    self.set_restr(old);
                    e = r?;
                }
                TokKind::Bang => {
                    self.bump();
                    e = Expr::new(ExprKind::Unwrap(Box::new(e)), self.span(lo));
                }
                TokKind::LBrace if matches!(e.kind, ExprKind::StructLit { .. }) && !self.no_block && !self.tok().nl_before => {
                    let body = self.parse_block()?;
                    e = Expr::new(ExprKind::InitBlock { expr: Box::new(e), body }, self.span(lo));
                }
                TokKind::LBrace => {
                    // trailing block: `f(a) { .. }` on the same line
                    if self.no_block || self.tok().nl_before || !matches!(e.kind, ExprKind::Call { trailing_block: false, .. }) {
                        break;
                    }
                    let blo = self.lo();
                    let b = self.parse_block()?;
                    let sp = self.span(blo);
                    let f = FnDecl { params: vec![], ret: None, attrs: FnAttrs::default(), body: Some(Body::Block(b)), span: sp };
                    if let ExprKind::Call { args, trailing_block, .. } = &mut e.kind {
                        args.push(Arg { name: None, value: Expr::new(ExprKind::Fn(Box::new(f)), sp), spread: false, span: sp });
                        *trailing_block = true;
                    }
                    e.span = self.span(lo);
                }
                _ => break,
            }
        }
        Ok(e)
    }

    /// Inside `.( ... )`: a type (allowing `?T`, `*P`, etc.).
    fn parse_type_in_parens(&mut self) -> PResult<Expr> {
        self.parse_expr()
    }

    /// After `base[`: index or slice.
    fn parse_index_tail(&mut self, base: Expr, lo: u32) -> PResult<Expr> {
        let first = if self.at_range_op() { None } else { Some(self.parse_expr()?) };
        if self.at_range_op() {
            let (l, h, lx, hi) = self.parse_range_parts(first)?;
            self.expect(TokKind::RBracket, "']'")?;
            return Ok(Expr::new(
                ExprKind::Slice { base: Box::new(base), lo: l.map(Box::new), hi: h.map(Box::new), lo_exclusive: lx, hi_inclusive: hi },
                self.span(lo),
            ));
        }
        self.expect(TokKind::RBracket, "']'")?;
        let index = match first {
            Some(i) => i,
            None => return self.expected("an index"),
        };
        Ok(Expr::new(ExprKind::Index { base: Box::new(base), index: Box::new(index) }, self.span(lo)))
    }

    /// Call / type-constructor arguments after `(` (consumes the closer).
    fn parse_args(&mut self, close: TokKind) -> PResult<Vec<Arg>> {
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = self.parse_args_inner(close);
        self.set_restr(old);
        r
    }

    fn parse_args_inner(&mut self, close: TokKind) -> PResult<Vec<Arg>> {
        let old = self.paren_ctx;
        self.paren_ctx = "generic type argument";
        let r = self.parse_args_inner2(close);
        self.paren_ctx = old;
        r
    }

    fn parse_args_inner2(&mut self, close: TokKind) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            if self.eat(&close) {
                return Ok(args);
            }
            let lo = self.lo();
            let mut name = None;
            let mut spread = false;
            if self.eat(&TokKind::DotDot) {
                spread = true;
            } else if matches!(self.kind(), TokKind::Ident | TokKind::RawIdent)
                && matches!(self.nth_kind(1), TokKind::Eq | TokKind::Colon)
                && self.is_ident_tok()
            {
                name = Some(self.parse_ident()?);
                self.bump();
            }
            let value = self.parse_range_or_expr()?;
            args.push(Arg { name, value, spread, span: self.span(lo) });
            if !self.eat(&TokKind::Comma) {
                self.expect(close, "',' or a closing delimiter")?;
                return Ok(args);
            }
        }
    }

    fn parse_expr_list(&mut self, close: TokKind) -> PResult<Vec<Expr>> {
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = (|| {
            let mut v = Vec::new();
            loop {
                if self.eat(&close) {
                    return Ok(v);
                }
                v.push(self.parse_expr()?);
                if !self.eat(&TokKind::Comma) {
                    self.expect(close.clone(), "',' or a closing delimiter")?;
                    return Ok(v);
                }
            }
        })();
        self.set_restr(old);
        r
    }

    /// After `.{` / `T.{` (consumes `}`).
    fn parse_field_inits(&mut self) -> PResult<Vec<FieldInit>> {
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = (|| {
            let mut v = Vec::new();
            loop {
                if self.eat(&TokKind::RBrace) {
                    return Ok(v);
                }
                let lo = self.lo();
                let mut name = None;
                let mut spread = false;
                if self.eat(&TokKind::DotDot) {
                    spread = true;
                } else if matches!(self.kind(), TokKind::Ident | TokKind::RawIdent) && matches!(self.nth_kind(1), TokKind::Eq) {
                    name = Some(self.parse_member_name()?);
                    self.bump();
                }
                let value = self.parse_expr()?;
                v.push(FieldInit { name, value, spread, span: self.span(lo) });
                if !self.eat(&TokKind::Comma) && !self.eat(&TokKind::Semi) {
                    self.expect(TokKind::RBrace, "',' or '}'")?;
                    return Ok(v);
                }
            }
        })();
        self.set_restr(old);
        r
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let k = match self.kind() {
            TokKind::Str(_) => TokKind::Str(Vec::new()),
            k => k.clone(),
        };
        match k {
            TokKind::Int(v) => {
                self.bump();
                Ok(Expr::new(ExprKind::Int(v), self.span(lo)))
            }
            TokKind::Float(v) => {
                self.bump();
                Ok(Expr::new(ExprKind::Float(v), self.span(lo)))
            }
            TokKind::Char(v) => {
                self.bump();
                Ok(Expr::new(ExprKind::Char(v), self.span(lo)))
            }
            TokKind::Str(_) => {
                let s = self.take_str();
                Ok(Expr::new(ExprKind::Str(s), self.span(lo)))
            }
            TokKind::Undef => {
                self.bump();
                Ok(Expr::new(ExprKind::Undef, self.span(lo)))
            }
            TokKind::RawIdent => {
                let t = self.bump();
                Ok(Expr::new(ExprKind::Ident(self.mk_ident(&t)), self.span(lo)))
            }
            TokKind::Dollar => {
                self.bump();
                let name = self.parse_ident()?;
                let constraint = if self.at(&TokKind::Slash) && self.nth_is_ident(1) {
                    self.bump();
                    let c = self.parse_unary()?;
                    Some(Box::new(c))
                } else {
                    None
                };
                Ok(Expr::new(ExprKind::Poly { name, constraint }, self.span(lo)))
            }
            TokKind::Dot => match self.nth_kind(1).clone() {
                TokKind::Ident | TokKind::RawIdent => {
                    self.bump();
                    let name = self.parse_member_name()?;
                    Ok(Expr::new(ExprKind::EnumLit(name), self.span(lo)))
                }
                TokKind::LBrace => {
                    self.bump();
                    self.bump();
                    let fields = self.parse_field_inits()?;
                    Ok(Expr::new(ExprKind::StructLit { ty: None, fields }, self.span(lo)))
                }
                TokKind::LBracket => {
                    self.bump();
                    self.bump();
                    let elems = self.parse_expr_list(TokKind::RBracket)?;
                    Ok(Expr::new(ExprKind::ArrayLit { ty: None, elems }, self.span(lo)))
                }
                _ => self.expected("an expression"),
            },
            TokKind::LParen => self.parse_paren_or_fn(),
            TokKind::LBrace => {
                let b = self.parse_block()?;
                Ok(Expr::new(ExprKind::Block(b), self.span(lo)))
            }
            TokKind::Directive => self.parse_directive_expr(),
            TokKind::Ident => self.parse_word_primary(),
            _ => self.expected("an expression"),
        }
    }

    fn parse_word_primary(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let w = self.text();
        let next = self.nth_kind(1).clone();
        let category_use = matches!(next, TokKind::Colon | TokKind::Comma | TokKind::RParen | TokKind::RBracket);
        match w {
            "true" | "false" => {
                self.bump();
                Ok(Expr::new(ExprKind::Bool(w == "true"), self.span(lo)))
            }
            "null" => {
                self.bump();
                Ok(Expr::new(ExprKind::Null, self.span(lo)))
            }
            "if" => {
                self.bump();
                self.parse_if(false, lo)
            }
            "inline" if self.nth_is_word(1, "if") => {
                self.bump();
                self.bump();
                self.parse_if(true, lo)
            }
            "struct" | "union" if !category_use => {
                self.bump();
                let d = self.parse_struct_body(lo)?;
                let k = if w == "struct" { ExprKind::Struct(Box::new(d)) } else { ExprKind::Union(Box::new(d)) };
                Ok(Expr::new(k, self.span(lo)))
            }
            "protocol" if matches!(next, TokKind::LBrace | TokKind::LParen | TokKind::Directive) => {
                self.bump();
                let d = self.parse_struct_body(lo)?;
                Ok(Expr::new(ExprKind::Protocol(Box::new(d)), self.span(lo)))
            }
            "enum" if !category_use => {
                self.bump();
                let d = self.parse_enum(lo)?;
                Ok(Expr::new(ExprKind::Enum(Box::new(d)), self.span(lo)))
            }
            "error" if matches!(next, TokKind::LBrace) => {
                self.bump();
                self.bump();
                let mut names = Vec::new();
                loop {
                    if self.eat(&TokKind::RBrace) {
                        break;
                    }
                    names.push(self.parse_member_name()?);
                    if !self.eat(&TokKind::Comma) && !self.eat(&TokKind::Semi) {
                        self.expect(TokKind::RBrace, "',' or '}'")?;
                        break;
                    }
                }
                Ok(Expr::new(ExprKind::ErrorSet(names), self.span(lo)))
            }
            "error" if matches!(next, TokKind::Dot) && matches!(self.nth_kind(2), TokKind::Ident | TokKind::RawIdent) => {
                self.bump();
                self.bump();
                let name = self.parse_member_name()?;
                Ok(Expr::new(ExprKind::ErrorValue(name), self.span(lo)))
            }
            "ufcs" if matches!(next, TokKind::LParen) => {
                self.bump();
                let mut e = self.parse_paren_or_fn()?;
                match &mut e.kind {
                    ExprKind::Fn(f) => {
                        f.attrs.ufcs = true;
                        f.span = self.span(lo);
                    }
                    _ => {
                        let sp = e.span;
                        self.error_at(sp, "expected a function after 'ufcs'");
                        return Err(Fail);
                    }
                }
                e.span = self.span(lo);
                Ok(e)
            }
            "ufcs" if matches!(next, TokKind::Ident | TokKind::RawIdent) => {
                self.bump();
                let target = self.parse_unary()?;
                Ok(Expr::new(ExprKind::UfcsAlias(Box::new(target)), self.span(lo)))
            }
            "asm" if matches!(next, TokKind::LBrace) || self.nth_is_word(1, "volatile") => {
                self.bump();
                let volatile = self.eat_word("volatile");
                let body = self.parse_block()?;
                Ok(Expr::new(ExprKind::Asm { volatile, body }, self.span(lo)))
            }
            "Closure" if matches!(next, TokKind::LParen) => {
                self.bump();
                self.bump();
                let params = self.parse_args(TokKind::RParen)?;
                let ret = if self.eat(&TokKind::Arrow) { Some(Box::new(self.parse_ret_spec()?)) } else { None };
                Ok(Expr::new(ExprKind::ClosureType { params, ret }, self.span(lo)))
            }
            _ => {
                if HARD_KEYWORDS.contains(&w) && !category_use {
                    return self.fail(format!("expected an expression, found keyword '{}'", w));
                }
                let t = self.bump();
                Ok(Expr::new(ExprKind::Ident(self.mk_ident(&t)), self.span(lo)))
            }
        }
    }

    /// `#run`, `#caller_location`, `#import`, `#library`, generic directives.
    fn parse_directive_expr(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let t = self.bump();
        let name_str = self.text_of(&t).get(1..).unwrap_or("").to_string();
        match name_str.as_str() {
            "run" => {
                let e = self.parse_expr_bp(0)?;
                return Ok(Expr::new(ExprKind::Run(Box::new(e)), self.span(lo)));
            }
            "caller_location" => return Ok(Expr::new(ExprKind::CallerLocation, self.span(lo))),
            "import" => {
                let (p, _) = self.parse_str_lit("an import path string")?;
                return Ok(Expr::new(ExprKind::Import(p), self.span(lo)));
            }
            "library" => {
                let (p, _) = self.parse_str_lit("a library name string")?;
                return Ok(Expr::new(ExprKind::Library(p), self.span(lo)));
            }
            _ => {}
        }
        let name = Ident { name: name_str, span: Span::new(self.file, t.lo, t.hi), raw: false };
        let mut args = None;
        if self.at(&TokKind::LParen) && !self.tok().nl_before {
            self.bump();
            args = Some(self.parse_args(TokKind::RParen)?);
        } else if !self.tok().nl_before && (matches!(self.kind(), TokKind::Str(_)) || self.is_ident_tok()) {
            let alo = self.lo();
            let e = self.parse_unary()?;
            args = Some(vec![Arg { name: None, value: e, spread: false, span: self.span(alo) }]);
        }
        let mut inner = None;
        if matches!(self.kind(), TokKind::Directive) && !self.tok().nl_before {
            inner = Some(Box::new(self.parse_directive_expr()?));
        }
        let mut modifiers = Vec::new();
        while (self.is_word("extern") || self.is_word("export")) && !self.tok().nl_before {
            let t = self.bump();
            modifiers.push(self.mk_ident(&t));
        }
        let body = if self.at(&TokKind::LBrace) && !self.no_block && !self.tok().nl_before { Some(self.parse_block()?) } else { None };
        Ok(Expr::new(ExprKind::Directive(Box::new(DirectiveExpr { name, args, inner, modifiers, body })), self.span(lo)))
    }

    /// After `if` / `inline if`.
    fn parse_if(&mut self, inline: bool, lo: u32) -> PResult<Expr> {
        let cond = self.parse_cond()?;
        if let Cond::Expr(subject) = &cond {
            if self.at(&TokKind::EqEq) && matches!(self.nth_kind(1), TokKind::LBrace) {
                self.bump();
                let subject = subject.clone();
                return self.parse_match_body(subject, inline, lo);
            }
        }
        let then = if self.eat_word("then") {
            self.parse_branch()?
        } else if self.at(&TokKind::LBrace) {
            let b = self.parse_block()?;
            let sp = b.span;
            Expr::new(ExprKind::Block(b), sp)
        } else {
            return self.expected("'then' or '{' after the if condition");
        };
        let else_ = if self.is_word("else") && !matches!(self.nth_kind(1), TokKind::Colon | TokKind::FatArrow) {
            self.bump();
            let elo = self.lo();
            if self.is_word("if") {
                self.bump();
                Some(Box::new(self.parse_if(false, elo)?))
            } else if self.is_word("inline") && self.nth_is_word(1, "if") {
                self.bump();
                self.bump();
                Some(Box::new(self.parse_if(true, elo)?))
            } else if self.at(&TokKind::LBrace) {
                let b = self.parse_block()?;
                let sp = b.span;
                Some(Box::new(Expr::new(ExprKind::Block(b), sp)))
            } else {
                Some(Box::new(self.parse_branch()?))
            }
        } else {
            None
        };
        Ok(Expr::new(ExprKind::If { cond: Box::new(cond), then: Box::new(then), else_, inline }, self.span(lo)))
    }

    /// A `then`/`else`/`catch` branch: an expression, or a statement (`break`, `return x`,
    /// `raise e`, `x = 1`) wrapped in a block.
    fn parse_branch(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let stmt_kw = ["break", "continue", "return", "raise", "defer"].iter().any(|w| self.is_word(w));
        if stmt_kw {
            let s = match self.parse_stmt_no_semi()? {
                StmtOut::Stmt(s) => s,
                StmtOut::Tail(e) => Stmt { span: e.span, kind: StmtKind::Expr(e) },
            };
            let sp = self.span(lo);
            return Ok(Expr::new(ExprKind::Block(Block { stmts: vec![s], tail: None, span: sp }), sp));
        }
        let e = self.parse_expr()?;
        let op = match self.kind() {
            TokKind::Eq => Some(AssignOp::Assign),
            TokKind::OpEq(op) => Some(*op),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.parse_expr()?;
            let sp = self.span(lo);
            let s = Stmt { kind: StmtKind::Assign { op, lhs: e, rhs }, span: sp };
            return Ok(Expr::new(ExprKind::Block(Block { stmts: vec![s], tail: None, span: sp }), sp));
        }
        Ok(e)
    }

    /// `break`/`return x`/... without consuming the trailing `;` (the enclosing statement does).
    fn parse_stmt_no_semi(&mut self) -> PResult<StmtOut> {
        let lo = self.lo();
        let w = self.text();
        self.bump();
        let kind = match w {
            "break" => StmtKind::Break,
            "continue" => StmtKind::Continue,
            "raise" => StmtKind::Raise(self.parse_expr()?),
            "defer" => {
                let e = self.parse_expr()?;
                StmtKind::Defer(Box::new(Stmt { span: e.span, kind: StmtKind::Expr(e) }))
            }
            _ => {
                let mut vals = Vec::new();
                if !matches!(self.kind(), TokKind::Semi | TokKind::RBrace | TokKind::RParen | TokKind::Comma)
                    && !self.is_word("else")
                    && !self.at_arm_end()
                {
                    loop {
                        let name = if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::Eq) {
                            let n = self.parse_ident()?;
                            self.bump();
                            Some(n)
                        } else {
                            None
                        };
                        let value = self.parse_expr()?;
                        vals.push(RetValue { name, value });
                        if !self.eat(&TokKind::Comma) {
                            break;
                        }
                    }
                }
                StmtKind::Return(vals)
            }
        };
        Ok(StmtOut::Stmt(Stmt { kind, span: self.span(lo) }))
    }

    /// After `subject ==` with `{` current.
    fn parse_match_body(&mut self, subject: Expr, inline: bool, lo: u32) -> PResult<Expr> {
        self.expect(TokKind::LBrace, "'{'")?;
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = self.parse_match_arms();
        self.set_restr(old);
        let (arms, else_) = r?;
        Ok(Expr::new(ExprKind::Match { subject: Box::new(subject), arms, else_, inline }, self.span(lo)))
    }

    fn parse_match_arms(&mut self) -> PResult<(Vec<MatchArm>, Option<Block>)> {
        let mut arms = Vec::new();
        let mut else_ = None;
        loop {
            if self.eat(&TokKind::RBrace) {
                break;
            }
            if self.at_eof() {
                return self.expected("'}'");
            }
            if self.eat(&TokKind::Semi) {
                continue;
            }
            let alo = self.lo();
            if self.eat_word("case") {
                let patterns = self.parse_case_patterns()?;
                let capture = self.parse_arm_capture()?;
                let body = self.parse_arm_body()?;
                arms.push(MatchArm { patterns, capture, body, span: self.span(alo) });
            } else if self.is_word("else") {
                self.bump();
                if !self.eat(&TokKind::Colon) && !self.at(&TokKind::FatArrow) {
                    return self.expected("':' after 'else'");
                }
                else_ = Some(self.parse_arm_body()?);
            } else {
                return self.expected("'case' or 'else'");
            }
        }
        Ok((arms, else_))
    }

    fn parse_arm_capture(&mut self) -> PResult<Option<Capture>> {
        if !self.at(&TokKind::LParen) {
            return Ok(None);
        }
        let (star, name_at) = if matches!(self.nth_kind(1), TokKind::Star) { (true, 2) } else { (false, 1) };
        if self.nth_is_ident(name_at) && matches!(self.nth_kind(name_at + 1), TokKind::RParen) {
            let after = self.nth_kind(name_at + 2).clone();
            if matches!(after, TokKind::LBrace | TokKind::FatArrow) || self.nth(name_at + 2).nl_before {
                self.bump();
                if star {
                    self.bump();
                }
                let name = self.parse_ident()?;
                self.bump();
                return Ok(Some(Capture { name, by_ref: star }));
            }
        }
        Ok(None)
    }

    fn parse_arm_body(&mut self) -> PResult<Block> {
        let lo = self.lo();
        if self.eat(&TokKind::FatArrow) {
            let old = self.restr();
            self.set_restr(Restr { no_block: false, for_header: false });
            let r = self.parse_stmt(true);
            self.set_restr(old);
            let mut b = Block { stmts: vec![], tail: None, span: Span::new(self.file, lo, lo) };
            match r? {
                StmtOut::Stmt(Stmt { kind: StmtKind::Expr(e), .. }) => b.tail = Some(Box::new(e)),
                StmtOut::Stmt(s) => b.stmts.push(s),
                StmtOut::Tail(e) => b.tail = Some(Box::new(e)),
            }
            b.span = self.span(lo);
            return Ok(b);
        }
        let (mut stmts, mut tail) = self.parse_stmts_until(|p| p.at_arm_end(), true)?;
        if tail.is_none() && stmts.len() == 1 {
            if let StmtKind::Block(_) = &stmts[0].kind {
                if let Some(Stmt { kind: StmtKind::Block(b), .. }) = stmts.pop() {
                    return Ok(b);
                }
            }
        }
        if tail.is_none() {
            if let Some(Stmt { kind: StmtKind::Expr(_), .. }) = stmts.last() {
                if let Some(Stmt { kind: StmtKind::Expr(e), .. }) = stmts.pop() {
                    tail = Some(e);
                }
            }
        }
        if let Some(Expr { kind: ExprKind::Block(_), .. }) = &tail {
            if stmts.is_empty() {
                if let Some(Expr { kind: ExprKind::Block(b), .. }) = tail {
                    return Ok(b);
                }
            }
        }
        Ok(Block { stmts, tail: tail.map(Box::new), span: self.span(lo) })
    }

    /// At `(`: a parenthesised expression, or a function literal / type.
    fn parse_paren_or_fn(&mut self) -> PResult<Expr> {
        let lo = self.lo();
        let is_fn = match self.matching_close(0) {
            None => false,
            Some(j) => {
                let after = self.kind_at(j + 1);
                let empty = j == self.pos + 1;
                let named_param = {
                    // `(name:`, `($`, `(..`, `(name :=`
                    let k1 = self.kind_at(self.pos + 1);
                    let k2 = self.kind_at(self.pos + 2);
                    matches!(k1, TokKind::Dollar | TokKind::DotDot)
                        || (matches!(k1, TokKind::Ident | TokKind::RawIdent) && matches!(k2, TokKind::Colon | TokKind::ColonEq))
                };
                let after_word = match after {
                    TokKind::Ident => {
                        let t = &self.toks[(j + 1).min(self.toks.len() - 1)];
                        matches!(self.text_of(t), "extern" | "intrinsic" | "export" | "noreturn" | "abi")
                    }
                    _ => false,
                };
                empty
                    || named_param
                    || after_word
                    || matches!(after, TokKind::Arrow | TokKind::FatArrow | TokKind::Directive)
                    || (matches!(after, TokKind::LBrace) && !self.no_block)
            }
        };
        if !is_fn {
            self.bump();
            let old = self.restr();
            self.set_restr(Restr { no_block: false, for_header: false });
            let r = self.parse_range_or_expr();
            self.set_restr(old);
            let mut e = r?;
            if self.at(&TokKind::Comma) {
                let sp = match self.matching_close_from(lo) {
                    Some(hi) => Span::new(self.file, lo, hi),
                    None => self.tok_span(),
                };
                let what = self.paren_ctx;
                self.error_at(
                    sp,
                    format!(
                        "a bare-paren `(A, B)` is a multi-return signature, valid only as a return type; a tuple-valued {} uses `Tuple(…)`",
                        what
                    ),
                );
                return Err(Fail);
            }
            self.expect(TokKind::RParen, "')'")?;
            // keep the inner node but widen its span to the parentheses
            e.span = self.span(lo);
            return Ok(e);
        }
        let f = self.parse_fn(lo)?;
        Ok(Expr::new(ExprKind::Fn(Box::new(f)), self.span(lo)))
    }

    fn parse_fn(&mut self, lo: u32) -> PResult<FnDecl> {
        self.expect(TokKind::LParen, "'('")?;
        let mut params = self.with(false, false, |p| p.parse_params())?;
        let ret = if self.eat(&TokKind::Arrow) { Some(self.with(true, false, |p| p.parse_ret_spec())?) } else { None };
        let attrs = self.parse_fn_attrs()?;
        let body = if self.at(&TokKind::LBrace) && !self.no_block {
            Some(Body::Block(self.parse_block()?))
        } else if self.eat(&TokKind::FatArrow) {
            Some(Body::Expr(self.parse_expr()?))
        } else {
            None
        };
        if body.is_some() {
            // untyped lambda params `(x) => ..` were parsed as bare types
            for prm in params.iter_mut() {
                if prm.name.is_none() && prm.default.is_none() {
                    if let Some(Expr { kind: ExprKind::Ident(id), .. }) = &prm.ty {
                        prm.name = Some(id.clone());
                        prm.ty = None;
                    }
                }
            }
        }
        Ok(FnDecl { params, ret, attrs, body, span: self.span(lo) })
    }

    /// Parameters after `(` (consumes `)`).
    fn parse_params(&mut self) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        loop {
            if self.eat(&TokKind::RParen) {
                return Ok(params);
            }
            let lo = self.lo();
            let variadic = self.eat(&TokKind::DotDot);
            let comptime = self.at(&TokKind::Dollar)
                && self.nth_is_ident(1)
                && matches!(self.nth_kind(2), TokKind::Colon | TokKind::ColonEq | TokKind::Comma | TokKind::RParen);
            let named = if comptime {
                self.bump();
                true
            } else {
                self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::Colon | TokKind::ColonEq)
                    || (variadic && self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::Comma | TokKind::RParen))
            };
            let mut prm = Param { name: None, ty: None, default: None, comptime, variadic, span: Span::new(self.file, lo, lo) };
            if named {
                prm.name = Some(self.parse_ident()?);
                if self.eat(&TokKind::Colon) {
                    prm.ty = Some(self.parse_type()?);
                    if self.eat(&TokKind::Eq) {
                        prm.default = Some(self.parse_expr()?);
                    }
                } else if self.eat(&TokKind::ColonEq) {
                    prm.default = Some(self.parse_expr()?);
                }
            } else {
                prm.ty = Some(self.parse_type()?);
            }
            prm.span = self.span(lo);
            params.push(prm);
            if !self.eat(&TokKind::Comma) {
                self.expect(TokKind::RParen, "',' or ')'")?;
                return Ok(params);
            }
        }
    }

    fn parse_fn_attrs(&mut self) -> PResult<FnAttrs> {
        let mut a = FnAttrs::default();
        loop {
            match self.kind().clone() {
                TokKind::Ident => match self.text() {
                    "extern" => {
                        self.bump();
                        a.is_extern = true;
                        if self.is_ident_tok() && !matches!(self.text(), "intrinsic" | "export" | "noreturn" | "abi") {
                            let t = self.bump();
                            a.extern_lib = Some(self.mk_ident(&t));
                        }
                        if let TokKind::Str(s) = self.kind().clone() {
                            self.bump();
                            a.extern_sym = Some(String::from_utf8_lossy(&s).into_owned());
                        } else if self.at(&TokKind::LBracket) && matches!(self.nth_kind(1), TokKind::Str(_)) {
                            self.bump();
                            if let TokKind::Str(s) = self.kind().clone() {
                                a.extern_sym = Some(String::from_utf8_lossy(&s).into_owned());
                            }
                            self.bump();
                            self.expect(TokKind::RBracket, "']'")?;
                        }
                    }
                    "export" => {
                        self.bump();
                        a.export = true;
                        if let TokKind::Str(s) = self.kind().clone() {
                            self.bump();
                            a.export_sym = Some(String::from_utf8_lossy(&s).into_owned());
                        }
                    }
                    "intrinsic" => {
                        self.bump();
                        a.intrinsic = true;
                    }
                    "noreturn" => {
                        self.bump();
                        a.noreturn = true;
                    }
                    "abi" if matches!(self.nth_kind(1), TokKind::LParen) => {
                        self.bump();
                        self.bump();
                        let e = self.with(false, false, |p| p.parse_expr())?;
                        self.expect(TokKind::RParen, "')'")?;
                        a.abi = Some(e);
                    }
                    _ => break,
                },
                TokKind::Directive => {
                    let name = self.text().get(1..).unwrap_or("");
                    match name {
                        "get" => a.get = true,
                        "set" => a.set = true,
                        "inline" => a.inline = true,
                        "intrinsic" => a.intrinsic = true,
                        "run" | "import" | "insert" | "caller_location" | "string" => break,
                        _ => {
                            let t = self.tok().clone();
                            let mut id = self.mk_ident(&t);
                            id.name = name.to_string();
                            a.other.push(id);
                        }
                    }
                    self.bump();
                }
                _ => break,
            }
        }
        Ok(a)
    }

    /// After `->`.
    fn parse_ret_spec(&mut self) -> PResult<RetSpec> {
        let lo = self.lo();
        if self.at(&TokKind::Bang) {
            let err = self.parse_err_spec()?;
            return Ok(RetSpec { values: vec![], error: Some(err), paren: false, span: self.span(lo) });
        }
        if self.at(&TokKind::LParen) {
            let fn_type = match self.matching_close(0) {
                Some(j) => matches!(self.kind_at(j + 1), TokKind::Arrow),
                None => false,
            };
            if !fn_type {
                self.bump();
                let mut values = Vec::new();
                let mut error = None;
                loop {
                    if self.eat(&TokKind::RParen) {
                        break;
                    }
                    let slo = self.lo();
                    if self.at(&TokKind::Bang) {
                        error = Some(self.parse_err_spec()?);
                    } else {
                        let name = if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::Colon) {
                            let n = self.parse_ident()?;
                            self.bump();
                            Some(n)
                        } else {
                            None
                        };
                        let ty = self.parse_type()?;
                        let default = if self.eat(&TokKind::Eq) { Some(self.parse_expr()?) } else { None };
                        values.push(RetSlot { name, ty, default, span: self.span(slo) });
                    }
                    if !self.eat(&TokKind::Comma) {
                        self.expect(TokKind::RParen, "',' or ')'")?;
                        break;
                    }
                }
                return Ok(RetSpec { values, error, paren: true, span: self.span(lo) });
            }
        }
        let ty = self.parse_ret_type()?;
        let sp = self.span(lo);
        Ok(RetSpec { values: vec![RetSlot { name: None, ty, default: None, span: sp }], error: None, paren: false, span: sp })
    }

    /// A single return type: unary-level type expression (no binary operators, so that
    /// `-> T {` and `-> T => e` work).
    fn parse_ret_type(&mut self) -> PResult<Expr> {
        self.with(true, false, |p| p.parse_unary())
    }

    /// `!` or `!Set`.
    fn parse_err_spec(&mut self) -> PResult<ErrSpec> {
        let lo = self.lo();
        self.expect(TokKind::Bang, "'!'")?;
        let has_set = self.is_ident_tok() && !matches!(self.text(), "extern" | "intrinsic" | "export" | "noreturn" | "abi");
        let set = if has_set { Some(self.with(true, false, |p| p.parse_unary())?) } else { None };
        Ok(ErrSpec { set, span: self.span(lo) })
    }

    /// After `struct` / `union` / `protocol`: `[(params)] [#directives] { members }`.
    fn parse_struct_body(&mut self, lo: u32) -> PResult<StructDecl> {
        let params = if self.eat(&TokKind::LParen) { Some(self.with(false, false, |p| p.parse_params())?) } else { None };
        let mut directives = Vec::new();
        while matches!(self.kind(), TokKind::Directive) {
            let t = self.bump();
            let mut id = self.mk_ident(&t);
            id.name = id.name.trim_start_matches('#').to_string();
            directives.push(id);
        }
        self.expect(TokKind::LBrace, "'{'")?;
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = self.parse_members();
        self.set_restr(old);
        let members = r?;
        Ok(StructDecl { params, directives, members, span: self.span(lo) })
    }

    /// Members until `}` (consumed).
    fn parse_members(&mut self) -> PResult<Vec<Member>> {
        let mut members = Vec::new();
        loop {
            if self.eat(&TokKind::RBrace) {
                return Ok(members);
            }
            if self.at_eof() {
                return self.expected("'}'");
            }
            if self.eat(&TokKind::Semi) {
                continue;
            }
            let m = self.nest(|p| p.parse_member())?;
            members.push(m);
        }
    }

    fn parse_member(&mut self) -> PResult<Member> {
        let lo = self.lo();
        if self.is_directive("using") {
            self.bump();
            let e = self.parse_type()?;
            self.expect_semi()?;
            return Ok(Member { kind: MemberKind::Using(e), span: self.span(lo) });
        }
        if matches!(self.kind(), TokKind::Directive) {
            let e = self.parse_expr()?;
            self.expect_semi()?;
            return Ok(Member { kind: MemberKind::Directive(e), span: self.span(lo) });
        }
        if self.is_word("inline") && self.nth_is_word(1, "if") {
            let e = self.parse_expr()?;
            self.eat(&TokKind::Semi);
            return Ok(Member { kind: MemberKind::Directive(e), span: self.span(lo) });
        }
        if (self.is_word("struct") || self.is_word("union")) && matches!(self.nth_kind(1), TokKind::LBrace | TokKind::Directive) {
            let e = self.parse_expr()?;
            self.eat(&TokKind::Semi);
            return Ok(Member { kind: MemberKind::Anon(e), span: self.span(lo) });
        }
        self.eat_word_if_followed_by_ident("private");
        let mut names = vec![self.parse_member_name()?];
        while self.eat(&TokKind::Comma) {
            names.push(self.parse_member_name()?);
        }
        match self.kind() {
            TokKind::ColonColon => {
                self.bump();
                let value = self.parse_expr()?;
                self.expect_semi()?;
                let name = names.swap_remove(0);
                Ok(Member { kind: MemberKind::Const { name, ty: None, value }, span: self.span(lo) })
            }
            TokKind::Colon => {
                self.bump();
                let old = self.paren_ctx;
                self.paren_ctx = "field";
                let ty = self.parse_type();
                self.paren_ctx = old;
                let ty = ty?;
                if self.eat(&TokKind::Colon) {
                    let value = self.parse_expr()?;
                    self.expect_semi()?;
                    let name = names.swap_remove(0);
                    return Ok(Member { kind: MemberKind::Const { name, ty: Some(ty), value }, span: self.span(lo) });
                }
                let mut default = None;
                let mut undef = false;
                if self.eat(&TokKind::Eq) {
                    if self.at(&TokKind::Undef) && matches!(self.nth_kind(1), TokKind::Semi | TokKind::RBrace) {
                        self.bump();
                        undef = true;
                    } else {
                        default = Some(self.parse_expr()?);
                    }
                }
                if !self.eat(&TokKind::Semi) && !self.eat(&TokKind::Comma) && !self.at(&TokKind::RBrace) {
                    return self.expected("';'");
                }
                Ok(Member { kind: MemberKind::Field { names, ty, default, undef }, span: self.span(lo) })
            }
            _ => self.expected("':' or '::' in a member declaration"),
        }
    }

    fn eat_word_if_followed_by_ident(&mut self, w: &str) {
        if self.is_word(w) && matches!(self.nth_kind(1), TokKind::Ident | TokKind::RawIdent) {
            self.bump();
        }
    }

    /// After `enum`.
    fn parse_enum(&mut self, lo: u32) -> PResult<EnumDecl> {
        let mut flags = false;
        let mut backing = None;
        let mut params = None;
        loop {
            if self.at(&TokKind::LBrace) {
                break;
            }
            if self.is_word("flags") {
                self.bump();
                flags = true;
                continue;
            }
            if self.at(&TokKind::LParen) && params.is_none() {
                self.bump();
                params = Some(self.with(false, false, |p| p.parse_params())?);
                continue;
            }
            if backing.is_none() {
                backing = Some(self.with(true, false, |p| p.parse_unary())?);
                continue;
            }
            return self.expected("'{'");
        }
        self.bump(); // {
        let mut variants = Vec::new();
        let old = self.restr();
        self.set_restr(Restr { no_block: false, for_header: false });
        let r = (|| loop {
            if self.eat(&TokKind::RBrace) {
                return Ok(());
            }
            if self.at_eof() {
                return self.expected("'}'");
            }
            if self.eat(&TokKind::Semi) || self.eat(&TokKind::Comma) {
                continue;
            }
            let vlo = self.lo();
            let name = self.parse_member_name()?;
            let mut value = None;
            let mut payload = None;
            if self.eat(&TokKind::ColonColon) {
                value = Some(self.parse_expr()?);
                if self.eat(&TokKind::Colon) {
                    payload = Some(self.parse_type()?);
                }
            } else if self.eat(&TokKind::Colon) {
                payload = Some(self.parse_type()?);
                if self.eat(&TokKind::Colon) {
                    value = Some(self.parse_expr()?);
                }
            }
            variants.push(Variant { name, value, payload, span: self.span(vlo) });
            if !self.eat(&TokKind::Semi)
                && !self.eat(&TokKind::Comma)
                && !self.at(&TokKind::RBrace)
                && !matches!(self.prev_kind(), Some(TokKind::RBrace))
            {
                return self.expected("';' or ','");
            }
        })();
        self.set_restr(old);
        r?;
        Ok(EnumDecl { backing, flags, params, variants, span: self.span(lo) })
    }
}
