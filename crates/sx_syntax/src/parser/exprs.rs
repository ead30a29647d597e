//! Expressions: precedence climbing, unary and postfix operators, primaries, `if` and `case`.

use super::{Fail, PResult, Parser, Restr, StmtOut, HARD_KEYWORDS};
use crate::ast::*;
use crate::lexer::TokKind;
use sx_diag::Span;

impl<'a> Parser<'a> {
    /// Full expression (lowest precedence).
    pub(super) fn parse_expr(&mut self) -> PResult<Expr> {
        self.parse_expr_bp(0)
    }

    /// Expression or range `lo..hi` with markers (for headers, slices, case patterns).
    pub(super) fn parse_range_or_expr(&mut self) -> PResult<Expr> {
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
    pub(super) fn parse_expr_bp(&mut self, min: u8) -> PResult<Expr> {
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

    pub(super) fn parse_unary(&mut self) -> PResult<Expr> {
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
    pub(super) fn parse_args(&mut self, close: TokKind) -> PResult<Vec<Arg>> {
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

    pub(super) fn parse_primary(&mut self) -> PResult<Expr> {
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
            "asm" if matches!(next, TokKind::LBrace) || self.nth_is_word(1, "volatile") => self.parse_asm(lo),
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
            "import" if self.is_word("c") && matches!(self.nth_kind(1), TokKind::LBrace) => {
                return self.fail("a '#import c { … }' block is a declaration: write it at module level, as '#import c { … };' or 'name :: #import c { … };'");
            }
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
}
