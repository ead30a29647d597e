//! `vm_jit`: the comptime interpreter against its native tier on generated modules (see
//! `sx_fuzz::differential`). Any divergence — a result, an error message, span or call stack,
//! program output — is a failure.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(sx_fuzz::differential::init);
    if let Some(d) = sx_fuzz::differential::check(data) {
        panic!("the native tier diverged from the interpreter:\n{}", d);
    }
});
