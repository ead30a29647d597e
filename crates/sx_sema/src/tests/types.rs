//! The type of an expression.

use super::check_type;
use expect_test::expect;

#[test]
fn untyped_integer_literal_defaults_to_i64() {
    check_type("probe :: () => 1 + 2;", expect![["i64"]]);
}

#[test]
fn typed_local_keeps_its_type() {
    check_type("probe :: () { x : u8 = 1; return x; }", expect![["u8"]]);
}
