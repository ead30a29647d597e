//! Compiler-provided target facts and top-level conditional compilation.
//!
//! `OS`, `ARCH` and `POINTER_SIZE` describe the compilation target. They resolve by name
//! without an import (a declaration of the same name in scope wins); `OS` and `ARCH` are
//! values of the `OperatingSystem` / `Architecture` enums of `modules/std/target.sx`, which
//! is loaded on first use.
//!
//! A module-level `inline if` (or `inline if X == { case … }`) is decided while the file's
//! declarations are registered, before anything is checked, so the chosen arm may declare
//! names, import modules and nest further conditionals, and the other arm is never looked
//! at. Its condition may only use the target facts, integer and boolean literals, enum
//! literals, comparisons and `and`/`or`/`!`: no declaration is known at that point.

use crate::*;
use sx_syntax::ast::{BinOp, UnOp};

/// A statically known value in a module-level condition.
#[derive(Clone, Debug, PartialEq)]
enum Fact {
    Int(i128),
    Bool(bool),
    /// An enum variant by name (`OS` evaluates to `.linux`, `.linux` to itself).
    Variant(String),
}

impl Compiler {
    /// The variant names of `OS` and `ARCH` for the target.
    fn target_variant(&self, name: &str) -> &'static str {
        match (name, self.types.target) {
            ("OS", _) => "linux",
            (_, sx_ir::Target::X86_64Linux) => "x86_64",
            (_, sx_ir::Target::Aarch64Linux) => "aarch64",
        }
    }

    /// The value of target fact `name` (one of [`TARGET_FACTS`]).
    pub(crate) fn target_fact(&mut self, name: &str, span: Span) -> R<ConstVal> {
        if name == "POINTER_SIZE" {
            return Ok(ConstVal::Int { v: self.types.target.pointer_bytes() as i128, ty: Some(bt::I64) });
        }
        let enum_name = if name == "OS" { "OperatingSystem" } else { "Architecture" };
        let Some(file) = self.load_stdlib_file("modules/std/target.sx") else {
            return self.err(span, format!("'{}' needs modules/std/target.sx, which is not in the standard library", name));
        };
        let Some(ConstVal::Type(t)) = self.lookup_own(file, enum_name, span)? else {
            return self.err(span, format!("modules/std/target.sx does not declare the enum '{}'", enum_name));
        };
        let want = self.target_variant(name);
        match self.types.enum_of(t).and_then(|e| e.variants.iter().find(|v| v.name == want)) {
            Some(v) => Ok(ConstVal::Int { v: v.value, ty: Some(t) }),
            None => self.err(span, format!("the enum '{}' has no variant '{}'", enum_name, want)),
        }
    }

    /// Names the standard library supplies without an import (the atomics of
    /// `modules/std/atomic.sx`): their declaration, loading the module on first use.
    pub(crate) fn library_intrinsic(&mut self, name: &str, span: Span) -> R<Option<ConstVal>> {
        if !(name.starts_with("atomic_") || matches!(name, "Atomic" | "Ordering")) {
            return Ok(None);
        }
        match self.load_stdlib_file("modules/std/atomic.sx") {
            Some(file) => self.lookup_own(file, name, span),
            None => Ok(None),
        }
    }

    /// Loads `rel` from the first standard-library directory that has it.
    pub(crate) fn load_stdlib_file(&mut self, rel: &str) -> Option<FileIdx> {
        let found = self.paths.stdlib.iter().map(|d| d.join(rel)).find(|p| p.is_file())?;
        self.load_file(&found, rel.to_string(), None)
    }

    /// Decides a module-level `inline if` condition (see the module docs).
    pub(crate) fn module_condition(&self, e: &Expr) -> Result<bool, (Span, String)> {
        match self.module_fact(e, 0)? {
            Fact::Bool(b) => Ok(b),
            _ => Err((e.span, "a module-level 'inline if' condition must be a boolean".to_string())),
        }
    }

    /// The arm of a module-level `inline if X == { case … }` that `subject` selects: the
    /// index of the first arm with a matching pattern, `None` for the `else` arm.
    pub(crate) fn module_match(&self, subject: &Expr, arms: &[sx_syntax::ast::ItemArm]) -> Result<Option<usize>, (Span, String)> {
        let v = self.module_fact(subject, 0)?;
        for (i, arm) in arms.iter().enumerate() {
            for p in &arm.patterns {
                if self.module_fact(p, 0)? == v {
                    return Ok(Some(i));
                }
            }
        }
        Ok(None)
    }

    fn module_fact(&self, e: &Expr, depth: u32) -> Result<Fact, (Span, String)> {
        let unsupported =
            || (e.span, "cannot evaluate this module-scope `inline if` condition; use an OS/ARCH/POINTER_SIZE comparison".to_string());
        let fact = |e: &Expr| self.module_fact(e, depth + 1);
        if depth > 64 {
            return Err(unsupported());
        }
        match &e.kind {
            ExprKind::Bool(b) => Ok(Fact::Bool(*b)),
            ExprKind::Int(v) => i128::try_from(*v).map(Fact::Int).map_err(|_| unsupported()),
            ExprKind::EnumLit(id) => Ok(Fact::Variant(id.name.clone())),
            ExprKind::Ident(id) if id.name == "POINTER_SIZE" => Ok(Fact::Int(self.types.target.pointer_bytes() as i128)),
            ExprKind::Ident(id) if TARGET_FACTS.contains(&id.name.as_str()) => Ok(Fact::Variant(self.target_variant(&id.name).to_string())),
            ExprKind::Unary { op: UnOp::Not, expr } => match fact(expr)? {
                Fact::Bool(b) => Ok(Fact::Bool(!b)),
                _ => Err(unsupported()),
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (fact(lhs)?, fact(rhs)?);
                let r = match (op, &a, &b) {
                    (BinOp::And, Fact::Bool(x), Fact::Bool(y)) => *x && *y,
                    (BinOp::Or, Fact::Bool(x), Fact::Bool(y)) => *x || *y,
                    (BinOp::Eq, _, _) if std::mem::discriminant(&a) == std::mem::discriminant(&b) => a == b,
                    (BinOp::Ne, _, _) if std::mem::discriminant(&a) == std::mem::discriminant(&b) => a != b,
                    (BinOp::Lt, Fact::Int(x), Fact::Int(y)) => x < y,
                    (BinOp::Le, Fact::Int(x), Fact::Int(y)) => x <= y,
                    (BinOp::Gt, Fact::Int(x), Fact::Int(y)) => x > y,
                    (BinOp::Ge, Fact::Int(x), Fact::Int(y)) => x >= y,
                    _ => return Err(unsupported()),
                };
                Ok(Fact::Bool(r))
            }
            _ => Err(unsupported()),
        }
    }
}
