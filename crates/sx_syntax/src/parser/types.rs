//! Type expressions: array and parenthesised types, `struct`/`union` and `enum` bodies.

use super::{PResult, Parser, Restr};
use crate::ast::*;
use crate::lexer::TokKind;

impl<'a> Parser<'a> {
    /// A type expression (same grammar as expressions, without `{`-trailing forms).
    pub(super) fn parse_type(&mut self) -> PResult<Expr> {
        let old = self.restr();
        self.no_block = true;
        self.for_header = false;
        let r = self.parse_expr_bp(0);
        self.set_restr(old);
        r
    }

    /// `[]T`, `[*]T`, `[N]T`, `[:0]T`.
    pub(super) fn parse_array_type(&mut self) -> PResult<Expr> {
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

    /// Inside `.( ... )`: a type (allowing `?T`, `*P`, etc.).
    pub(super) fn parse_type_in_parens(&mut self) -> PResult<Expr> {
        self.parse_expr()
    }

    /// After `struct` / `union` / `protocol`: `[(params)] [#directives] { members }`.
    pub(super) fn parse_struct_body(&mut self, lo: u32) -> PResult<StructDecl> {
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
    pub(super) fn parse_enum(&mut self, lo: u32) -> PResult<EnumDecl> {
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
