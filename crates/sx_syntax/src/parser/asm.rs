//! `asm [volatile] { "template", [name] "constraint" -> T, "c" -> *place, "c" = expr, clobbers(.r) }`.
//!
//! A comma-separated brace block: the template first, then operands in source order and an
//! optional `clobbers(…)` clause; a trailing comma is allowed. `volatile` and `clobbers` are
//! words only here. After `->`, a leading `*` makes the output a place (`-> *x` stores
//! through `x`); anything else is the output's type.

use super::{PResult, Parser};
use crate::ast::*;
use crate::lexer::TokKind;
use sx_diag::Span;

impl<'a> Parser<'a> {
    /// At `asm`: the whole inline-assembly expression.
    pub(super) fn parse_asm(&mut self, lo: u32) -> PResult<Expr> {
        self.bump();
        let volatile = self.eat_word("volatile");
        self.expect(TokKind::LBrace, "'{' after 'asm'")?;
        let template = self.parse_expr()?;
        let mut operands = Vec::new();
        let mut clobbers = Vec::new();
        loop {
            if self.eat(&TokKind::RBrace) {
                break;
            }
            self.expect(TokKind::Comma, "',' or '}' in an asm block")?;
            if self.eat(&TokKind::RBrace) {
                break;
            }
            if self.is_word("clobbers") && matches!(self.nth_kind(1), TokKind::LParen) {
                self.bump();
                self.bump();
                self.parse_asm_clobbers(&mut clobbers)?;
                continue;
            }
            operands.push(self.parse_asm_operand()?);
        }
        let asm = AsmExpr { volatile, template, operands, clobbers };
        Ok(Expr::new(ExprKind::Asm(Box::new(asm)), self.span(lo)))
    }

    /// `.a, .b)` (after `clobbers(`).
    fn parse_asm_clobbers(&mut self, out: &mut Vec<Ident>) -> PResult<()> {
        loop {
            if self.eat(&TokKind::RParen) {
                return Ok(());
            }
            self.expect(TokKind::Dot, "'.name' of a clobbered register")?;
            out.push(self.parse_ident()?);
            if !self.eat(&TokKind::Comma) {
                self.expect(TokKind::RParen, "',' or ')' in clobbers(…)")?;
                return Ok(());
            }
        }
    }

    /// `[name]? "constraint" (-> T | -> *place | = expr)`.
    fn parse_asm_operand(&mut self) -> PResult<AsmOperand> {
        let lo = self.lo();
        let name = if self.eat(&TokKind::LBracket) {
            let id = self.parse_ident()?;
            self.expect(TokKind::RBracket, "']' after an asm operand name")?;
            Some(id)
        } else {
            None
        };
        if !matches!(self.kind(), TokKind::Str(_)) {
            return self.expected("a constraint string (like \"r\" or \"={rax}\") in an asm operand");
        }
        let constraint_span = self.tok_span();
        let bytes = self.take_str();
        let constraint = String::from_utf8_lossy(&bytes).into_owned();
        let role = if self.eat(&TokKind::Arrow) {
            if self.at(&TokKind::Star) {
                let place = self.parse_unary()?;
                AsmRole::Place(place)
            } else {
                AsmRole::Value(self.parse_type()?)
            }
        } else if self.eat(&TokKind::Eq) {
            AsmRole::Input(self.parse_expr()?)
        } else {
            return self.expected("'->' (an output) or '=' (an input) after the asm constraint");
        };
        let span: Span = self.span(lo);
        Ok(AsmOperand { name, constraint, constraint_span, role, span })
    }
}
