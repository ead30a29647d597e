//! Request handlers: capabilities, document symbols, hover and definition.

use crate::analysis::Name;
use crate::{symbols, text, Server};
use lsp_server::{Request, Response};
use lsp_types::{DocumentSymbolParams, GotoDefinitionParams, HoverParams, TextDocumentPositionParams};
use serde_json::{json, Value};
use sx_sema::analysis::ShownValue;

/// The `initialize` result: full text sync, symbols, hover, definition.
pub fn initialize_result() -> Value {
    json!({
        "capabilities": {
            "textDocumentSync": { "openClose": true, "change": 1 },
            "documentSymbolProvider": true,
            "hoverProvider": true,
            "definitionProvider": true,
        },
        "serverInfo": { "name": "sx", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// Decodes `req`'s parameters, or the invalid-params error response.
fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, Response> {
    serde_json::from_value(req.params.clone()).map_err(|e| Response::new_err(req.id.clone(), -32602, e.to_string()))
}

/// `textDocument/documentSymbol`: the outline of the document's current text.
pub fn document_symbol(server: &Server, req: Request) -> Response {
    let p: DocumentSymbolParams = match params(&req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Some(doc) = server.docs.get(p.text_document.uri.as_str()) else { return Response::new_ok(req.id, Value::Null) };
    let src = doc.text.clone();
    // The parser caps nesting but wants a big stack.
    let outline = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            std::panic::catch_unwind(|| {
                let (file, _) = sx_syntax::parse_file(sx_diag::FileId(0), &src);
                symbols::outline(&src, &file.items)
            })
            .unwrap_or_default()
        })
        .ok()
        .and_then(|h| h.join().ok())
        .unwrap_or_default();
    Response::new_ok(req.id, outline)
}

/// The top-level name under the cursor at `pos`, with the range of the word.
fn name_at<'a>(server: &'a mut Server, pos: &TextDocumentPositionParams) -> Option<(Name, lsp_types::Range)> {
    let uri = pos.text_document.uri.as_str();
    server.analyse(uri)?;
    let doc = server.docs.get(uri)?;
    let at = text::offset(&doc.text, pos.position);
    let (lo, word) = text::word_at(&doc.text, at)?;
    let range = text::range(&doc.text, lo as u32, (lo + word.len()) as u32);
    let name = doc.analysis.as_ref()?.names.iter().find(|n| n.name == word)?.clone();
    Some((name, range))
}

/// `textDocument/hover`: a top-level name's declaration line and compile-time value (for a
/// type, its size and alignment at the target).
pub fn hover(server: &mut Server, req: Request) -> Response {
    let p: HoverParams = match params(&req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Some((name, range)) = name_at(server, &p.text_document_position_params) else {
        return Response::new_ok(req.id, Value::Null);
    };
    let mut md = format!("```sx\n{}\n```", name.line);
    if let Some(v) = &name.value {
        md.push_str("\n\n");
        md.push_str(&shown(v));
    }
    let range = json!({ "start": range.start, "end": range.end });
    Response::new_ok(req.id, json!({ "contents": { "kind": "markdown", "value": md }, "range": range }))
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

/// `textDocument/definition`: where a top-level name (of the document or a flat import) is
/// declared.
pub fn definition(server: &mut Server, req: Request) -> Response {
    let p: GotoDefinitionParams = match params(&req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Some((name, _)) = name_at(server, &p.text_document_position_params) else {
        return Response::new_ok(req.id, Value::Null);
    };
    let range = json!({ "start": name.range.start, "end": name.range.end });
    Response::new_ok(req.id, json!({ "uri": text::path_uri(&name.path), "range": range }))
}
