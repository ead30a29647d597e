//! `textDocument/documentSymbol`: the outline of a parsed file (constants, functions, types
//! with their members and variants, globals, named imports).

use crate::text;
use lsp_types::{DocumentSymbol, SymbolKind};
use sx_syntax::ast::{Expr, ExprKind, Ident, Item, ItemKind, MemberKind};

/// The outline of `items` (parsed from `src`).
pub fn outline(src: &str, items: &[Item]) -> Vec<DocumentSymbol> {
    let mut out = vec![];
    for item in items {
        match &item.kind {
            ItemKind::Const { name, value, .. } => out.push(const_symbol(src, name, value, item.span.lo, item.span.hi)),
            ItemKind::Var { names, .. } => {
                for n in names {
                    out.push(symbol(src, n, SymbolKind::VARIABLE, item.span.lo, item.span.hi, vec![]));
                }
            }
            ItemKind::Import { alias: Some(a), .. } | ItemKind::CImport { alias: Some(a), .. } => {
                out.push(symbol(src, a, SymbolKind::MODULE, item.span.lo, item.span.hi, vec![]));
            }
            ItemKind::ContextExtend { name, .. } => out.push(symbol(src, name, SymbolKind::FIELD, item.span.lo, item.span.hi, vec![])),
            ItemKind::ExternVar { name, .. } => out.push(symbol(src, name, SymbolKind::VARIABLE, item.span.lo, item.span.hi, vec![])),
            ItemKind::InlineIf { then, else_, .. } => {
                out.extend(outline(src, then));
                out.extend(outline(src, else_));
            }
            ItemKind::InlineMatch { arms, else_, .. } => {
                for arm in arms {
                    out.extend(outline(src, &arm.items));
                }
                out.extend(outline(src, else_.as_deref().unwrap_or(&[])));
            }
            ItemKind::Import { alias: None, .. }
            | ItemKind::CImport { alias: None, .. }
            | ItemKind::Run(_)
            | ItemKind::Insert(_)
            | ItemKind::Impl(_)
            | ItemKind::Directive(_) => {}
        }
    }
    out
}

/// The symbol of `name :: value` spanning `[lo, hi)`.
fn const_symbol(src: &str, name: &Ident, value: &Expr, lo: u32, hi: u32) -> DocumentSymbol {
    if let ExprKind::Fn(_) = &value.kind {
        return symbol(src, name, SymbolKind::FUNCTION, lo, hi, vec![]);
    }
    if let ExprKind::Struct(s) | ExprKind::Union(s) = &value.kind {
        let mut children = vec![];
        for m in &s.members {
            match &m.kind {
                MemberKind::Field { names, .. } => {
                    for n in names {
                        children.push(symbol(src, n, SymbolKind::FIELD, m.span.lo, m.span.hi, vec![]));
                    }
                }
                MemberKind::Const { name, value, .. } => children.push(const_symbol(src, name, value, m.span.lo, m.span.hi)),
                MemberKind::Using(_) | MemberKind::Anon(_) | MemberKind::Directive(_) => {}
            }
        }
        return symbol(src, name, SymbolKind::STRUCT, lo, hi, children);
    }
    if let ExprKind::Protocol(_) = &value.kind {
        return symbol(src, name, SymbolKind::INTERFACE, lo, hi, vec![]);
    }
    if let ExprKind::Enum(e) = &value.kind {
        let children = e.variants.iter().map(|v| symbol(src, &v.name, SymbolKind::ENUM_MEMBER, v.span.lo, v.span.hi, vec![])).collect();
        return symbol(src, name, SymbolKind::ENUM, lo, hi, children);
    }
    symbol(src, name, SymbolKind::CONSTANT, lo, hi, vec![])
}

/// One symbol named `name` covering `[lo, hi)`.
#[allow(deprecated)]
fn symbol(src: &str, name: &Ident, kind: SymbolKind, lo: u32, hi: u32, children: Vec<DocumentSymbol>) -> DocumentSymbol {
    let full = text::range(src, lo.min(name.span.lo), hi.max(name.span.hi));
    DocumentSymbol {
        name: name.name.clone(),
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range: full,
        selection_range: text::range(src, name.span.lo, name.span.hi),
        children: (!children.is_empty()).then_some(children),
    }
}
