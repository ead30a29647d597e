//! Request handlers: capabilities, document symbols, and the position requests (answered by
//! [`features`] and [`completion`] on a thread of their own).

use crate::world::World;
use crate::{completion, features, symbols, text, Server};
use lsp_server::{Request, Response};
use lsp_types::{
    CompletionParams, DocumentSymbolParams, GotoDefinitionParams, HoverParams, InlayHintParams, ReferenceParams, SignatureHelpParams,
    TextDocumentPositionParams,
};
use serde_json::{json, Value};

/// The `initialize` result: full text sync and every request the server answers.
pub fn initialize_result() -> Value {
    json!({
        "capabilities": {
            "textDocumentSync": { "openClose": true, "change": 1 },
            "documentSymbolProvider": true,
            "hoverProvider": true,
            "definitionProvider": true,
            "referencesProvider": true,
            "completionProvider": { "triggerCharacters": ["."] },
            "signatureHelpProvider": { "triggerCharacters": ["(", ","] },
            "inlayHintProvider": true,
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

/// Runs `answer` over the analysis of the document at `pos` and the byte offset of the
/// position, on a thread of its own behind `catch_unwind` (a failure answers `null`).
fn at_position(server: &mut Server, req: &Request, pos: &TextDocumentPositionParams, answer: fn(&World, usize) -> Value) -> Response {
    let uri = pos.text_document.uri.as_str();
    let world = match server.analyse(uri).and_then(|_| server.docs.get(uri)).and_then(|d| d.analysis.as_ref()) {
        Some(a) => a.world.clone(),
        None => return Response::new_ok(req.id.clone(), Value::Null),
    };
    let at = text::offset(&world.doc, pos.position);
    let run = move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(&world, at))).unwrap_or(Value::Null);
    let value = std::thread::Builder::new().stack_size(64 << 20).spawn(run).ok().and_then(|h| h.join().ok()).unwrap_or(Value::Null);
    Response::new_ok(req.id.clone(), value)
}

/// `textDocument/hover`: see [`features::hover`].
pub fn hover(server: &mut Server, req: Request) -> Response {
    match params::<HoverParams>(&req) {
        Ok(p) => at_position(server, &req, &p.text_document_position_params, |w, at| features::hover(w, at as u32)),
        Err(resp) => resp,
    }
}

/// `textDocument/definition`: see [`features::definition`].
pub fn definition(server: &mut Server, req: Request) -> Response {
    match params::<GotoDefinitionParams>(&req) {
        Ok(p) => at_position(server, &req, &p.text_document_position_params, |w, at| features::definition(w, at as u32)),
        Err(resp) => resp,
    }
}

/// `textDocument/references`: see [`features::references`].
pub fn references(server: &mut Server, req: Request) -> Response {
    match params::<ReferenceParams>(&req) {
        Ok(p) if p.context.include_declaration => {
            at_position(server, &req, &p.text_document_position, |w, at| features::references(w, at as u32, true))
        }
        Ok(p) => at_position(server, &req, &p.text_document_position, |w, at| features::references(w, at as u32, false)),
        Err(resp) => resp,
    }
}

/// `textDocument/completion`: see [`completion::completion`].
pub fn completion(server: &mut Server, req: Request) -> Response {
    match params::<CompletionParams>(&req) {
        Ok(p) => at_position(server, &req, &p.text_document_position, completion::completion),
        Err(resp) => resp,
    }
}

/// `textDocument/signatureHelp`: see [`features::signature_help`].
pub fn signature_help(server: &mut Server, req: Request) -> Response {
    match params::<SignatureHelpParams>(&req) {
        Ok(p) => at_position(server, &req, &p.text_document_position_params, features::signature_help),
        Err(resp) => resp,
    }
}

/// `textDocument/inlayHint`: see [`features::inlay_hints`].
pub fn inlay_hint(server: &mut Server, req: Request) -> Response {
    let p: InlayHintParams = match params(&req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let uri = p.text_document.uri.as_str();
    let world = match server.analyse(uri).and_then(|_| server.docs.get(uri)).and_then(|d| d.analysis.as_ref()) {
        Some(a) => a.world.clone(),
        None => return Response::new_ok(req.id, Value::Null),
    };
    let src = world.doc.as_str();
    let (lo, hi) = (text::offset(src, p.range.start) as u32, text::offset(src, p.range.end) as u32);
    let run =
        move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| features::inlay_hints(&world, lo, hi))).unwrap_or(Value::Null);
    let value = std::thread::Builder::new().stack_size(64 << 20).spawn(run).ok().and_then(|h| h.join().ok()).unwrap_or(Value::Null);
    Response::new_ok(req.id, value)
}
