//! sx_sema
