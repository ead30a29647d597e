//! The sx language server (`sx lsp`): JSON-RPC over stdin/stdout with `lsp-server` messages.
//!
//! Owns: the document store (full text sync), diagnostics computed by compiling a document's
//! current text (unsaved buffers of other open documents are used by its imports), document
//! symbols, and position requests — hover, definition, references, completion, signature help,
//! inlay hints — answered from the compiler's recorded facts joined with a syntax index of each
//! file ([`world`]).
//!
//! Must never: let compile-time code act on the host or write to the protocol's stdout (each
//! analysis runs sandboxed with its output captured and a step budget and timeout), or crash on
//! a document (analyses run on a big-stack thread behind `catch_unwind`).

mod analysis;
mod completion;
mod features;
mod handlers;
mod symbols;
mod syntax_index;
mod text;
mod world;

use lsp_server::{Message, Notification, Request, Response};
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::mpsc;

pub use analysis::Settings;

/// Runs the server on stdin/stdout until `exit`; returns the process status (0 after a
/// `shutdown`, 1 otherwise).
pub fn run(settings: Settings) -> i32 {
    let Some(mut out) = protocol_stdout() else {
        eprintln!("error: sx lsp: cannot set up stdout");
        return 1;
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut input = BufReader::new(std::io::stdin());
        while let Ok(Some(msg)) = Message::read(&mut input) {
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    let mut server = Server { settings, docs: HashMap::new(), shutdown: false, initialized: false };
    let mut send = |msg: Message| {
        let _ = msg.write(&mut out);
        let _ = out.flush();
    };
    while let Ok(first) = rx.recv() {
        // The latest text wins: apply every message already waiting before analysing.
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let mut dirty: Vec<String> = vec![];
        for msg in batch {
            match msg {
                Message::Request(req) => {
                    server.flush(&mut dirty, &mut send);
                    if let Some(resp) = server.request(req) {
                        send(Message::Response(resp));
                    }
                }
                Message::Notification(n) if n.method == "exit" => return if server.shutdown { 0 } else { 1 },
                Message::Notification(n) => {
                    if let Some(uri) = server.notification(n) {
                        if !dirty.contains(&uri) {
                            dirty.push(uri);
                        }
                    }
                }
                Message::Response(_) => {}
            }
        }
        server.flush(&mut dirty, &mut send);
    }
    1
}

/// The protocol's output: a duplicate of the process's stdout; fd 1 itself then points at
/// stderr, so nothing else written to stdout (a foreign `printf` at compile time) can corrupt
/// the JSON-RPC stream.
fn protocol_stdout() -> Option<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain descriptor calls; the duplicate is owned by the returned `File` only.
    unsafe {
        let fd = libc::dup(1);
        if fd < 0 {
            return None;
        }
        if libc::dup2(2, 1) < 0 {
            libc::close(fd);
            return None;
        }
        Some(std::fs::File::from_raw_fd(fd))
    }
}

/// One open document.
struct Document {
    path: PathBuf,
    text: String,
    /// The last analysis of the current text.
    analysis: Option<analysis::Result>,
}

/// The server's state.
struct Server {
    settings: Settings,
    docs: HashMap<String, Document>,
    shutdown: bool,
    initialized: bool,
}

impl Server {
    /// Answers a request.
    fn request(&mut self, req: Request) -> Option<Response> {
        if req.method == "initialize" {
            self.initialized = true;
            return Some(Response::new_ok(req.id, handlers::initialize_result()));
        }
        if !self.initialized {
            return Some(Response::new_err(req.id, -32002, "server not initialized".to_string()));
        }
        match req.method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                Some(Response::new_ok(req.id, serde_json::Value::Null))
            }
            "textDocument/documentSymbol" => Some(handlers::document_symbol(self, req)),
            "textDocument/hover" => Some(handlers::hover(self, req)),
            "textDocument/definition" => Some(handlers::definition(self, req)),
            "textDocument/references" => Some(handlers::references(self, req)),
            "textDocument/completion" => Some(handlers::completion(self, req)),
            "textDocument/signatureHelp" => Some(handlers::signature_help(self, req)),
            "textDocument/inlayHint" => Some(handlers::inlay_hint(self, req)),
            _ => Some(Response::new_err(req.id, -32601, format!("method '{}' is not supported", req.method))),
        }
    }

    /// Applies a notification; returns the URI of a document whose diagnostics may change.
    fn notification(&mut self, n: Notification) -> Option<String> {
        use lsp_types::{DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams};
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let p: DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri.as_str().to_string();
                let path = text::uri_path(&uri)?;
                self.docs.insert(uri.clone(), Document { path, text: p.text_document.text, analysis: None });
                Some(uri)
            }
            "textDocument/didChange" => {
                let p: DidChangeTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri.as_str().to_string();
                let doc = self.docs.get_mut(&uri)?;
                // Full sync: the last change holds the whole text.
                doc.text = p.content_changes.into_iter().last()?.text;
                doc.analysis = None;
                Some(uri)
            }
            "textDocument/didClose" => {
                let p: DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri.as_str().to_string();
                self.docs.remove(&uri);
                // Flushing a closed document clears its diagnostics.
                Some(uri)
            }
            _ => None,
        }
    }

    /// Analyses the documents in `dirty` and publishes their diagnostics (none for a document
    /// that was closed).
    fn flush(&mut self, dirty: &mut Vec<String>, send: &mut impl FnMut(Message)) {
        for uri in dirty.drain(..) {
            let diags = self.analyse(&uri).unwrap_or_default();
            let params = serde_json::json!({ "uri": uri, "diagnostics": diags });
            send(Message::Notification(Notification::new("textDocument/publishDiagnostics".to_string(), params)));
        }
    }

    /// The analysis of document `uri` (computed now when its text changed since the last);
    /// `None` for a document that is not open.
    fn analyse(&mut self, uri: &str) -> Option<Vec<lsp_types::Diagnostic>> {
        let overlay: HashMap<PathBuf, String> = self.docs.values().map(|d| (d.path.clone(), d.text.clone())).collect();
        let doc = self.docs.get_mut(uri)?;
        if doc.analysis.is_none() {
            doc.analysis = Some(analysis::analyse(&self.settings, &doc.path, overlay));
        }
        doc.analysis.as_ref().map(|a| a.diagnostics.clone())
    }
}
