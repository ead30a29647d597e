//! The position requests over a [`World`]: hover, definition, references, signature help and
//! inlay hints (completion is in [`crate::completion`]). Each answers in the protocol's JSON
//! shapes; `at` is a byte offset in the analysed document.

use crate::syntax_index::{BindingKind, Occurrence, Role, SyntaxIndex};
use crate::text;
use crate::world::{Base, World};
use serde_json::{json, Value};
use sx_diag::Span;
use sx_sema::analysis::{ShownValue, SiteKind, TypeId, TypeShape};

/// The protocol location of `span`.
pub fn location(w: &World, span: Span) -> Value {
    json!({ "uri": text::path_uri(&w.path(span.file)), "range": range(w, span) })
}

/// The protocol range of `span`.
fn range(w: &World, span: Span) -> Value {
    let r = text::range(w.text(span.file), span.lo, span.hi);
    json!({ "start": r.start, "end": r.end })
}

/// The written name at `at` in the document and the definition it refers to.
fn target_at(w: &World, ix: &SyntaxIndex, at: u32) -> Option<(Occurrence, Span)> {
    let occ = ix.occurrence_at(at)?.clone();
    let def = w.resolve(w.root, ix, &occ)?;
    Some((occ, def))
}

/// `textDocument/definition`: where the name at `at` is defined, or the file an `#import`
/// path names.
pub fn definition(w: &World, at: u32) -> Value {
    let ix = w.index(w.root);
    if let Some((_, def)) = target_at(w, &ix, at) {
        return location(w, def);
    }
    // On an `#import` path: the start of the imported file.
    let Some((_, path)) = ix.imports.iter().find(|(s, _)| s.lo <= at && at < s.hi) else { return Value::Null };
    let file = w.facts.files.iter().find(|f| f.path.ends_with(path.trim_start_matches("./")));
    match file {
        Some(f) => location(w, Span::new(f.file, 0, 0)),
        None => Value::Null,
    }
}

/// `textDocument/references`: every name in the document and the other loaded files outside
/// the standard library that refers to the same definition as the name at `at`.
pub fn references(w: &World, at: u32, include_declaration: bool) -> Value {
    let ix = w.index(w.root);
    let Some((occ, def)) = target_at(w, &ix, at) else { return Value::Null };
    let local = def.file == w.root && ix.bindings.iter().any(|b| b.span == def);
    let mut files = if local { vec![w.root] } else { w.user_files() };
    if !files.contains(&def.file) && !local {
        files.push(def.file);
    }
    let mut out = vec![];
    if include_declaration {
        out.push(location(w, def));
    }
    for f in files {
        let fix = w.index(f);
        for o in fix.occurrences.iter().filter(|o| o.name == occ.name && o.span != def) {
            if w.resolve(f, &fix, o) == Some(def) {
                out.push(location(w, o.span));
            }
        }
    }
    Value::Array(out)
}

/// The type recorded for the name `occ` where it is written.
fn type_here(w: &World, ix: &SyntaxIndex, occ: &Occurrence) -> Option<TypeId> {
    let f = &w.facts;
    match occ.role {
        Role::Name { .. } => f.type_values.get(&occ.span).or_else(|| f.expr_types.get(&occ.span)).copied(),
        Role::Member { base } => f.expr_types.get(&Span::new(occ.span.file, base.lo, occ.span.hi)).copied(),
        Role::Variant { expr } => f.expr_types.get(&expr).copied(),
        Role::Binding(i) => w.binding_type(ix, i),
        Role::Definition => None,
    }
}

/// A compile-time value as hover text.
fn shown(v: &ShownValue) -> String {
    match v {
        ShownValue::Int(i) => format!("value: `{}`", i),
        ShownValue::Float(f) => format!("value: `{:?}`", f),
        ShownValue::Bool(b) => format!("value: `{}`", b),
        ShownValue::Str(s) => format!("value: `{:?}`", s),
        ShownValue::Type { name, size, align } => format!("type `{}`: size_of = {}, align_of = {}", name, size, align),
    }
}

/// `textDocument/hover`: for a top-level name its declaration and compile-time value (for a
/// type, its size and alignment); for a local, parameter, field or variant its type; anywhere
/// else the type of the smallest expression around `at`.
pub fn hover(w: &World, at: u32) -> Value {
    let ix = w.index(w.root);
    let found = match ix.occurrence_at(at) {
        Some(occ) => hover_name(w, &ix, occ).map(|md| (md, occ.span)),
        None => None,
    };
    let found = found.or_else(|| {
        let (span, t) = w
            .facts
            .expr_types
            .iter()
            .filter(|(s, _)| s.file == w.root && s.lo <= at && at < s.hi)
            .min_by_key(|(s, _)| (s.hi - s.lo, s.lo))?;
        Some((format!("```sx\n{}\n```", w.type_name(*t)), *span))
    });
    match found {
        Some((md, span)) => json!({ "contents": { "kind": "markdown", "value": md }, "range": range(w, span) }),
        None => Value::Null,
    }
}

/// The hover text of the written name `occ`.
fn hover_name(w: &World, ix: &SyntaxIndex, occ: &Occurrence) -> Option<String> {
    let here = type_here(w, ix, occ);
    let def = w.resolve(w.root, ix, occ);
    if let Some(site) = def.and_then(|d| w.site(d)) {
        let line = text::line_of(w.text(site.span.file), site.span.lo).trim();
        let mut md = format!("```sx\n{}\n```", line);
        if let Some(v) = w.values.get(&site.span) {
            md.push_str("\n\n");
            md.push_str(&shown(v));
        } else if let (SiteKind::Global | SiteKind::Constant, Some(t)) = (site.kind, here) {
            md.push_str(&format!("\n\ntype: `{}`", w.type_name(t)));
        }
        return Some(md);
    }
    if let Some(def) = def {
        let dix = w.index(def.file);
        if let Some(b) = dix.bindings.iter().find(|b| b.span == def) {
            let ty = here.map(|t| w.type_name(t)).or_else(|| w.binding_type_name(def.file, &dix, b)).unwrap_or_else(|| "?".to_string());
            let what = match b.kind {
                BindingKind::Local => "local",
                BindingKind::Param => "parameter",
                BindingKind::Capture => "capture",
                BindingKind::Const => "local constant",
            };
            return Some(format!("```sx\n{}: {}\n```\n\n{}", b.name, ty, what));
        }
        // A member: its declaration line and the type where it is used (or declared).
        let line = text::line_of(w.text(def.file), def.lo).trim();
        let mut md = format!("```sx\n{}\n```", line);
        if let Some(t) = here.or_else(|| declared_field_type(w, def)) {
            md.push_str(&format!("\n\ntype: `{}`", w.type_name(t)));
        }
        return Some(md);
    }
    here.map(|t| format!("```sx\n{}\n```", w.type_name(t)))
}

/// The type of the struct field whose name is declared at `def`.
fn declared_field_type(w: &World, def: Span) -> Option<TypeId> {
    let name = w.snippet(def);
    w.facts.types.iter().find_map(|(t, f)| match &f.shape {
        TypeShape::Struct { fields, span: Some(s), .. } if s.file == def.file => {
            let declared = w.type_decl(*t)?.members.iter().any(|m| m.1 == def);
            declared.then(|| fields.iter().find(|f| f.0 == name).map(|f| f.1)).flatten()
        }
        TypeShape::Struct { .. } | TypeShape::Enum { .. } | TypeShape::Pointer(_) | TypeShape::Func { .. } | TypeShape::Other => None,
    })
}

/// `textDocument/inlayHint`: the inferred type after the name of every `:=` local declared in
/// bytes `[lo, hi)`.
pub fn inlay_hints(w: &World, lo: u32, hi: u32) -> Value {
    let ix = w.index(w.root);
    let text = w.text(w.root);
    let mut out = vec![];
    for b in ix.bindings.iter().filter(|b| b.inferred && b.kind == BindingKind::Local && lo <= b.span.lo && b.span.lo < hi) {
        if let Some(t) = w.facts.local_types.get(&b.span) {
            let label = format!(": {}", w.type_name(*t));
            out.push(json!({ "position": text::position(text, b.span.hi), "label": label, "kind": 1 }));
        }
    }
    Value::Array(out)
}

/// The identifier characters.
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The dotted name `a.b.c` that ends `text`, split at its dots (empty when `text` does not end
/// in one).
pub fn trailing_chain(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lo = bytes.len();
    while lo > 0 && (is_ident_byte(bytes[lo - 1]) || bytes[lo - 1] == b'.') {
        lo -= 1;
    }
    let chain: Vec<&str> = text[lo..].split('.').collect();
    let valid = chain.iter().all(|s| !s.is_empty()) && chain.first().is_some_and(|s| !s.as_bytes()[0].is_ascii_digit());
    if valid {
        chain
    } else {
        vec![]
    }
}

/// The definition the dotted name `chain` denotes at byte `at` of the document.
pub fn chain_def(w: &World, chain: &[&str], at: u32) -> Option<Span> {
    let (last, init) = chain.split_last()?;
    if init.is_empty() {
        let ix = w.index(w.root);
        if let Some(b) = ix.visible_at(at).into_iter().find(|b| b.name == *last) {
            return Some(b.span);
        }
        return w.lookup_top(w.root, last).map(|d| d.span);
    }
    match chain_base(w, init, at)? {
        Base::Namespace(f) => w.lookup_in(f, last).map(|d| d.span),
        Base::Type(t) | Base::Value(t) => w.member_def(t, last),
    }
}

/// What the dotted name `chain` is at byte `at` of the document, used before a `.`.
pub fn chain_base(w: &World, chain: &[&str], at: u32) -> Option<Base> {
    let (first, rest) = chain.split_first()?;
    let mut base = w.base_of_def(chain_def(w, &[first], at)?)?;
    for seg in rest {
        base = match base {
            Base::Namespace(f) => w.base_of_def(w.lookup_in(f, seg)?.span)?,
            Base::Value(t) => Base::Value(w.field_type(t, seg)?),
            Base::Type(t) => w.base_of_def(w.member_def(t, seg)?)?,
        };
    }
    Some(base)
}

/// The call around byte `at` of `text`: the offset of its `(` and the index of the argument
/// `at` is in.
pub fn call_context(text: &str, at: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let (mut depth, mut active) = (0usize, 0usize);
    let mut i = at.min(bytes.len());
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' if depth == 0 => return Some((i, active)),
            b'[' | b'{' if depth == 0 => return None,
            b'(' | b'[' | b'{' => depth -= 1,
            b',' if depth == 0 => active += 1,
            b';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// `textDocument/signatureHelp`: the parameters of the function called around `at`, with the
/// one being written active.
pub fn signature_help(w: &World, at: usize) -> Value {
    let text = w.doc.as_str();
    let Some((paren, mut active)) = call_context(text, at) else { return Value::Null };
    let chain = trailing_chain(&text[..paren]);
    let Some(&name) = chain.last() else { return Value::Null };
    let mut def = chain_def(w, &chain, at as u32);
    if def.is_none() && chain.len() > 1 {
        // `x.f(…)` calling a free function through UFCS: `x` is its first argument.
        def = w.lookup_top(w.root, name).map(|d| d.span);
        active += 1;
    }
    let Some(def) = def else { return Value::Null };
    let dix = w.index(def.file);
    // `v.method(…)` passes `v` as the method's `self`.
    let receiver = chain.len() > 1 && matches!(chain_base(w, &chain[..chain.len() - 1], at as u32), Some(Base::Value(_)));
    let takes_self =
        dix.decl_at(def).and_then(|d| d.params.as_ref()).and_then(|(ps, _)| ps.first()).is_some_and(|p| w.snippet(*p).starts_with("self"));
    if receiver && takes_self {
        active += 1;
    }
    let (params, ret) = match dix.decl_at(def).and_then(|d| d.params.clone()) {
        Some((ps, r)) => (ps.iter().map(|p| w.snippet(*p).to_string()).collect::<Vec<_>>(), r.map(|r| w.snippet(r).to_string())),
        None => {
            let shape = match w.base_of_def(def) {
                Some(Base::Value(t)) => w.facts.types.get(&t).map(|f| f.shape.clone()),
                Some(Base::Type(_) | Base::Namespace(_)) | None => None,
            };
            let Some(TypeShape::Func { params, ret }) = shape else { return Value::Null };
            (params.iter().map(|p| w.type_name(*p)).collect(), Some(w.type_name(ret)))
        }
    };
    let mut label = format!("{}(", name);
    let mut spans = vec![];
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            label.push_str(", ");
        }
        let lo = label.encode_utf16().count();
        label.push_str(p);
        spans.push(json!({ "label": [lo, label.encode_utf16().count()] }));
    }
    label.push(')');
    if let Some(r) = ret {
        label.push_str(" -> ");
        label.push_str(&r);
    }
    json!({ "signatures": [{ "label": label, "parameters": spans }], "activeSignature": 0, "activeParameter": active })
}
