//! Implicit conversions decided from the types alone, and the untyped-literal rules.

use super::{check_coercion, check_literal};
use expect_test::expect;

#[test]
fn array_to_slice() {
    check_coercion("", "[4]i32", "[]i32", expect![["ArrayToSlice(4)"]]);
}

#[test]
fn optional_is_not_unwrapped() {
    check_coercion("", "?i32", "i32", expect![["error: OptionalNotUnwrapped"]]);
}

#[test]
fn untyped_int_literal_out_of_range() {
    check_literal("CONST :: 300;", "u8", expect![["error: integer literal 300 does not fit in 'u8'"]]);
}
