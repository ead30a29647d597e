//! sx_ir
