//! `#import c { #include "h"; #source "c"; #define "N=V"; #flags "…"; }`: a C unit.
//!
//! A bad entry is reported and skipped up to its `;` (or the closing `}`), so one mistake
//! gives one error and the rest of the unit is still read.

use super::{Fail, PResult, Parser};
use crate::ast::*;
use crate::lexer::TokKind;
use sx_diag::Span;

impl<'a> Parser<'a> {
    /// At `#import` followed by the word `c` and `{`.
    pub(super) fn at_c_import(&self, n: usize) -> bool {
        matches!(self.nth_kind(n), TokKind::Directive)
            && self.nth_text(n) == "#import"
            && self.nth_is_word(n + 1, "c")
            && matches!(self.nth_kind(n + 2), TokKind::LBrace)
    }

    /// `#import c { entries }` (at `#import`); the closing `}` may be followed by `;`.
    pub(super) fn parse_c_unit(&mut self) -> PResult<CUnitDecl> {
        let lo = self.lo();
        self.bump();
        self.bump();
        self.expect(TokKind::LBrace, "'{'")?;
        let mut entries = Vec::new();
        loop {
            if self.eat(&TokKind::RBrace) {
                break;
            }
            if self.at_eof() {
                return self.expected("'}' closing the '#import c' block");
            }
            if self.eat(&TokKind::Semi) {
                continue;
            }
            match self.parse_c_entry() {
                Ok(e) => entries.push(e),
                Err(Fail) => self.skip_c_entry(),
            }
        }
        let span = self.span(lo);
        self.eat(&TokKind::Semi);
        Ok(CUnitDecl { entries, span })
    }

    /// One `#include "h";` / `#source "c";` / `#define "N=V";` / `#flags "…";`.
    fn parse_c_entry(&mut self) -> PResult<CEntry> {
        let lo = self.lo();
        if !matches!(self.kind(), TokKind::Directive) {
            return self.expected("'#include', '#source', '#define' or '#flags' in the '#import c' block");
        }
        let kind = match self.text() {
            "#include" => CEntryKind::Include,
            "#source" => CEntryKind::Source,
            "#define" => CEntryKind::Define,
            "#flags" => CEntryKind::Flags,
            other => {
                let msg =
                    format!("unknown entry '{}' in the '#import c' block; expected '#include', '#source', '#define' or '#flags'", other);
                return self.fail(msg);
            }
        };
        self.bump();
        let (value, angled) = if kind == CEntryKind::Include && self.at(&TokKind::Lt) {
            (self.angled_header()?, true)
        } else {
            let what = match kind {
                CEntryKind::Include => "a header path string",
                CEntryKind::Source => "a C source path string",
                CEntryKind::Define => "a \"NAME=VALUE\" string",
                CEntryKind::Flags => "a C compiler flags string",
            };
            let (v, sp) = self.parse_str_lit(what)?;
            if v.is_empty() && kind != CEntryKind::Flags {
                self.error_at(sp, "the path or definition must not be empty");
                return Err(Fail);
            }
            // `#include "<stdio.h>"` names a system header too.
            match v.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
                Some(inner) if kind == CEntryKind::Include => (inner.to_string(), true),
                _ => (v, false),
            }
        };
        let span = self.span(lo);
        self.expect_semi()?;
        Ok(CEntry { kind, value, angled, span })
    }

    /// `<stdio.h>`: the source text between the brackets, on one line.
    fn angled_header(&mut self) -> PResult<String> {
        let open = self.bump();
        let start = open.hi;
        loop {
            if self.at(&TokKind::Gt) && !self.tok().nl_before {
                let end = self.lo();
                self.bump();
                let text = self.src.get(start as usize..end as usize).unwrap_or("").trim().to_string();
                if text.is_empty() {
                    self.error_at(Span::new(self.file, open.lo, end + 1), "the header name between '<' and '>' must not be empty");
                    return Err(Fail);
                }
                return Ok(text);
            }
            if self.at_eof() || self.tok().nl_before || matches!(self.kind(), TokKind::Semi | TokKind::RBrace) {
                return self.expected("'>' closing the header name");
            }
            self.bump();
        }
    }

    /// After a bad entry: skips to just past its `;`, or to the block's `}` (not consumed).
    fn skip_c_entry(&mut self) {
        while !self.at_eof() {
            match self.kind() {
                TokKind::Semi => {
                    self.bump();
                    return;
                }
                TokKind::RBrace => return,
                _ => {
                    self.bump();
                }
            }
        }
    }
}
