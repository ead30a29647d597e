//! Items: declarations, `impl`, `#if` and `case` at item level, and function signatures.

use super::{Decl, Fail, PResult, Parser, MAX_DIAGS};
use crate::ast::*;
use crate::lexer::TokKind;
use sx_diag::Span;

impl<'a> Parser<'a> {
    pub(super) fn parse_items_until_eof(&mut self) -> Vec<Item> {
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

    pub(super) fn parse_item(&mut self) -> PResult<Item> {
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
                    "import" if self.at_c_import(0) => ItemKind::CImport { alias: None, unit: self.parse_c_unit()? },
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
            // Top-level (global) assembly: the block is a directive item.
            TokKind::Ident if self.is_word("asm") && (matches!(self.nth_kind(1), TokKind::LBrace) || self.nth_is_word(1, "volatile")) => {
                let e = self.parse_asm(self.lo())?;
                self.expect_semi()?;
                ItemKind::Directive(e)
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
            TokKind::Ident | TokKind::RawIdent
                if self.is_ident_tok() && matches!(self.nth_kind(1), TokKind::ColonColon) && self.at_c_import(2) =>
            {
                let alias = self.parse_ident()?;
                self.bump();
                ItemKind::CImport { alias: Some(alias), unit: self.parse_c_unit()? }
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

    pub(super) fn parse_str_lit(&mut self, what: &str) -> PResult<(String, Span)> {
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
    pub(super) fn parse_decl(&mut self) -> PResult<Decl> {
        let mut names = vec![self.parse_ident()?];
        while self.eat(&TokKind::Comma) {
            names.push(self.parse_ident()?);
        }
        self.parse_decl_rest(names)
    }

    pub(super) fn parse_decl_rest(&mut self, mut names: Vec<Ident>) -> PResult<Decl> {
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

    pub(super) fn at_arm_end(&self) -> bool {
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

    pub(super) fn parse_case_patterns(&mut self) -> PResult<Vec<Expr>> {
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

    pub(super) fn parse_fn(&mut self, lo: u32) -> PResult<FnDecl> {
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
    pub(super) fn parse_params(&mut self) -> PResult<Vec<Param>> {
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
                            self.bump();
                            let mut args = None;
                            if self.at(&TokKind::LParen) && !self.tok().nl_before {
                                self.bump();
                                args = Some(self.parse_args(TokKind::RParen)?);
                            }
                            a.other.push(OtherAttr { name: id, args });
                            continue;
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
    pub(super) fn parse_ret_spec(&mut self) -> PResult<RetSpec> {
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
}
