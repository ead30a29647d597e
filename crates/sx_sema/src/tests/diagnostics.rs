//! Diagnostics with their carets.

use super::check_diagnostics;
use expect_test::expect;

#[test]
fn mismatch_names_both_types() {
    check_diagnostics(
        "main :: () { x : i32 = \"no\"; }",
        expect![[r#"
        error: type mismatch: expected 'i32', found 'string'
         --> $DIR/test.sx:1:24
          |
        1 | main :: () { x : i32 = "no"; }
          |                        ^^^^
    "#]],
    );
}
