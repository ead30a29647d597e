//! sx_vm
