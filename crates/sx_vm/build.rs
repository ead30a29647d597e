//! Builds the fault trap around compile-time C calls (`csrc/fault_trap.c`, see
//! `src/fault_trap.rs`) with the system C compiler.

fn main() {
    println!("cargo:rerun-if-changed=csrc/fault_trap.c");
    cc::Build::new().file("csrc/fault_trap.c").warnings(true).compile("sx_fault_trap");
}
