//! sx_codegen
