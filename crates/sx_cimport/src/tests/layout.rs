//! Layouts against the C compiler.
