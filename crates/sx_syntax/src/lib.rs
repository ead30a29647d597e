//! sx_syntax
