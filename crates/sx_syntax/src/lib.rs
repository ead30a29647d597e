//! Front end of the sx compiler: lexer, parser and syntax tree.
//!
//! Entry point: [`parse_file`]. The parser never panics; errors are reported as
//! [`Diagnostic`]s and the returned tree contains what could be recovered.

pub mod ast;
pub mod lexer;
pub mod parser;

use sx_diag::{Diagnostic, FileId};

/// Parses one source file into a syntax tree plus diagnostics (empty on success).
///
/// Parsing runs on a helper thread with a large stack so that deeply nested input
/// (up to [`parser::MAX_DEPTH`]) cannot overflow the caller's stack; if the thread
/// cannot be spawned, it runs on the current thread.
pub fn parse_file(file: FileId, src: &str) -> (ast::File, Vec<Diagnostic>) {
    const STACK: usize = 64 << 20;
    let r = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("sx-parse".into())
            .stack_size(STACK)
            .spawn_scoped(s, || parser::parse(file, src))
            .ok()
            .map(|h| h.join())
    });
    match r {
        Some(Ok(res)) => res,
        Some(Err(payload)) => std::panic::resume_unwind(payload),
        None => parser::parse(file, src),
    }
}

#[cfg(test)]
mod tests;
