//! `textDocument/completion`: names in scope, members after `x.`, enum variants after a bare
//! `.` where the expected type is known. It reads the text before the cursor (which often does
//! not parse yet) and resolves the names in it through the last analysis.

use crate::features::{call_context, chain_base, chain_def, is_ident_byte, trailing_chain};
use crate::syntax_index::BindingKind;
use crate::world::{Base, World};
use serde_json::{json, Value};
use sx_sema::analysis::{DeclSite, SiteKind, TypeId, TypeShape};

/// Completion item kinds of the protocol.
mod kind {
    /// A method or member constant.
    pub const METHOD: u32 = 2;
    /// A function.
    pub const FUNCTION: u32 = 3;
    /// A struct field.
    pub const FIELD: u32 = 5;
    /// A local, parameter or global.
    pub const VARIABLE: u32 = 6;
    /// A namespace.
    pub const MODULE: u32 = 9;
    /// An enum variant.
    pub const ENUM_MEMBER: u32 = 20;
    /// A constant.
    pub const CONSTANT: u32 = 21;
    /// A type.
    pub const STRUCT: u32 = 22;
}

/// One completion item.
fn item(label: &str, kind: u32, detail: Option<String>) -> Value {
    match detail {
        Some(d) => json!({ "label": label, "kind": kind, "detail": d }),
        None => json!({ "label": label, "kind": kind }),
    }
}

/// The completions at byte `at` of the document.
pub fn completion(w: &World, at: usize) -> Value {
    let text = w.doc.as_str();
    let at = at.min(text.len());
    let before = &text.as_bytes()[..at];
    let mut start = at;
    while start > 0 && is_ident_byte(before[start - 1]) {
        start -= 1;
    }
    let prefix = &text[start..at];
    let rest = &text[..start];
    let items = match rest.strip_suffix('.') {
        Some(pre) if pre.bytes().last().is_some_and(|b| is_ident_byte(b) || b == b')' || b == b']') => {
            let chain = trailing_chain(pre);
            match chain_base(w, &chain, at as u32) {
                Some(base) => members(w, base),
                None => vec![],
            }
        }
        Some(pre) => match expected_type(w, pre, at) {
            Some(t) => variants(w, t),
            None => vec![],
        },
        None => in_scope(w, at as u32),
    };
    let items: Vec<Value> = items.into_iter().filter(|i| i["label"].as_str().is_some_and(|l| l.starts_with(prefix))).collect();
    json!({ "isIncomplete": false, "items": items })
}

/// The item of a top-level declaration.
fn decl_item(w: &World, d: &DeclSite) -> Value {
    let k = match d.kind {
        SiteKind::Function => kind::FUNCTION,
        SiteKind::Type => kind::STRUCT,
        SiteKind::Constant => kind::CONSTANT,
        SiteKind::Global => kind::VARIABLE,
        SiteKind::Namespace => kind::MODULE,
    };
    let line = crate::text::line_of(w.text(d.span.file), d.span.lo).trim().to_string();
    item(&d.name, k, Some(line))
}

/// Locals visible at `at`, then the document's top-level names and its flat imports'.
fn in_scope(w: &World, at: u32) -> Vec<Value> {
    let ix = w.index(w.root);
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for b in ix.visible_at(at) {
        if seen.insert(b.name.clone()) {
            let k = if b.kind == BindingKind::Const { kind::CONSTANT } else { kind::VARIABLE };
            out.push(item(&b.name, k, w.binding_type_name(w.root, &ix, b)));
        }
    }
    let Some(ff) = w.file_facts(w.root) else { return out };
    let imported = ff.flat_imports.iter().filter_map(|f| w.file_facts(*f)).flat_map(|f| f.decls.iter().filter(|d| !d.private));
    for d in ff.decls.iter().chain(imported) {
        if seen.insert(d.name.clone()) {
            out.push(decl_item(w, d));
        }
    }
    out
}

/// The members of `base`: a namespace's public names, a type's variants and member
/// constants, a value's fields and methods.
fn members(w: &World, base: Base) -> Vec<Value> {
    match base {
        Base::Namespace(f) => {
            w.file_facts(f).map(|ff| ff.decls.iter().filter(|d| !d.private).map(|d| decl_item(w, d)).collect()).unwrap_or_default()
        }
        Base::Type(t) => match w.facts.types.get(&t).map(|f| &f.shape) {
            Some(TypeShape::Enum { .. }) => variants(w, t),
            Some(TypeShape::Struct { members, .. }) => members.iter().map(|m| item(m, kind::METHOD, None)).collect(),
            Some(TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other) | None => vec![],
        },
        Base::Value(t) => {
            let t = w.deref(t);
            let Some(facts) = w.facts.types.get(&t) else { return vec![] };
            match &facts.shape {
                TypeShape::Struct { fields, members, .. } => {
                    let mut out: Vec<Value> = fields.iter().map(|(n, ft)| item(n, kind::FIELD, Some(w.type_name(*ft)))).collect();
                    out.extend(members.iter().map(|m| item(m, kind::METHOD, None)));
                    out
                }
                TypeShape::Other if facts.name == "string" || facts.name.starts_with("[]") => {
                    vec![item("len", kind::FIELD, Some("i64".to_string())), item("ptr", kind::FIELD, None)]
                }
                TypeShape::Enum { .. } | TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other => vec![],
            }
        }
    }
}

/// The variants of enum `t`.
fn variants(w: &World, t: TypeId) -> Vec<Value> {
    let t = w.deref(t);
    match w.facts.types.get(&t).map(|f| (&f.shape, &f.name)) {
        Some((TypeShape::Enum { variants }, name)) => variants.iter().map(|v| item(v, kind::ENUM_MEMBER, Some(name.clone()))).collect(),
        Some((TypeShape::Struct { .. } | TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other, _)) | None => vec![],
    }
}

/// The type a bare `.variant` written after `pre` must have: `x : T = .`, `v == .`,
/// `v = .`, `f(… .` (the parameter's type), `case .` in `if v == { … }`.
fn expected_type(w: &World, pre: &str, at: usize) -> Option<TypeId> {
    let ctx = pre.trim_end();
    let value_of = |chain: &str| match chain_base(w, &trailing_chain(chain), at as u32)? {
        Base::Value(t) => Some(t),
        Base::Type(_) | Base::Namespace(_) => None,
    };
    let type_of = |chain: &str| match chain_base(w, &trailing_chain(chain.trim_end()), at as u32)? {
        Base::Type(t) => Some(t),
        Base::Value(_) | Base::Namespace(_) => None,
    };
    if let Some(lhs) = ctx.strip_suffix("==").or_else(|| ctx.strip_suffix("!=")) {
        return value_of(lhs.trim_end());
    }
    if ctx.ends_with("case") {
        let subject = &ctx[..ctx.rfind("== {")?];
        return value_of(subject.trim_end());
    }
    if let Some(lhs) = ctx.strip_suffix('=') {
        if lhs.ends_with(['<', '>', '!', '=', ':']) {
            return None;
        }
        let lhs = lhs.trim_end();
        // `name : T = .`: the written type.
        let chain = trailing_chain(lhs);
        let chain_len: usize = chain.iter().map(|s| s.len() + 1).sum::<usize>().saturating_sub(1);
        let before = lhs[..lhs.len() - chain_len].trim_end();
        if before.ends_with(':') && !chain.is_empty() {
            return type_of(lhs);
        }
        return value_of(lhs);
    }
    if ctx.ends_with('(') || ctx.ends_with(',') {
        let (paren, active) = call_context(&w.doc, at)?;
        let callee = trailing_chain(&w.doc[..paren]);
        let def = chain_def(w, &callee, at as u32)?;
        let ix = w.index(def.file);
        let (params, _) = ix.decl_at(def)?.params.clone()?;
        let param = w.snippet(*params.get(active)?);
        let (_, ty) = param.split_once(':')?;
        let ty = ty.split('=').next().unwrap_or("").trim();
        return type_of(ty);
    }
    None
}
