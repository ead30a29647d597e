//! sx_types
