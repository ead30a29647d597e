//! Statements and blocks: declarations, assignments, loops, `defer`, and the statement/tail split.

use super::{Decl, Fail, PResult, Parser, Restr, StmtOut};
use crate::ast::*;
use crate::lexer::TokKind;
use sx_diag::Span;

impl<'a> Parser<'a> {
    pub(super) fn parse_block(&mut self) -> PResult<Block> {
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

    pub(super) fn parse_stmts_until(&mut self, end: impl Fn(&Self) -> bool, arm: bool) -> PResult<(Vec<Stmt>, Option<Expr>)> {
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

    pub(super) fn parse_stmt(&mut self, arm: bool) -> PResult<StmtOut> {
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

    pub(super) fn parse_cond(&mut self) -> PResult<Cond> {
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

    /// `break`/`return x`/... without consuming the trailing `;` (the enclosing statement does).
    pub(super) fn parse_stmt_no_semi(&mut self) -> PResult<StmtOut> {
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
}
