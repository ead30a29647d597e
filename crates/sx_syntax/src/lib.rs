//! Front end of the sx compiler: lexer, parser and syntax tree.
//!
//! Entry point: [`parse_file`]. The parser never panics; errors are reported as
//! [`Diagnostic`]s and the returned tree contains what could be recovered.

pub mod ast;
pub mod lexer;
pub mod parser;

use sx_diag::{Diagnostic, FileId};

/// Parses one source file into a syntax tree plus diagnostics (empty on success).
pub fn parse_file(file: FileId, src: &str) -> (ast::File, Vec<Diagnostic>) {
    parser::parse(file, src)
}
