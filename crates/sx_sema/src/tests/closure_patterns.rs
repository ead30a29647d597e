//! Closure-typed patterns: impls for `Closure(..$args) -> $R` and function literals typed from
//! a pack projection (`Closure(..xs.T) -> $R`).

use super::*;
use expect_test::expect;

const SOURCES: &str = "Src :: protocol(T: Type) { get :: (self: *Self) -> T; }\n\
    A :: struct { v: i64; }\n\
    B :: struct { s: string; }\n\
    impl Src(i64) for A { get :: (self: *A) -> i64 => self.v; }\n\
    impl Src(string) for B { get :: (self: *B) -> string => self.s; }\n\
    zip :: (f: Closure(..xs.T) -> $R, ..xs: Src) -> R { return f(..xs.get); }\n";

#[test]
fn a_pack_typed_literal_binds_the_result() {
    let src = format!("{}probe :: () => zip((a, b) => b.len > a, A.{{ v = 1 }}, B.{{ s = \"x\" }});", SOURCES);
    check_type(&src, expect!["bool"]);
}

#[test]
fn a_pack_typed_literal_with_the_wrong_arity_names_its_parameter() {
    let src = format!("{}main :: () {{ r := zip((a) => a, A.{{ v = 1 }}, A.{{ v = 2 }}); }}", SOURCES);
    check_diagnostics(
        &src,
        expect![[r#"
        error: this function literal takes 1 parameter(s), but 'f' is a 'Closure(i64, i64)' here
         --> $DIR/test.sx:7:23
          |
        7 | main :: () { r := zip((a) => a, A.{ v = 1 }, A.{ v = 2 }); }
          |                       ^^^^^^^^
    "#]],
    );
}

#[test]
fn a_closure_impl_pattern_with_a_fixed_parameter_matches_only_that_type() {
    check_diagnostics(
        "#import \"modules/std.sx\";\n\
         Sig :: struct { n: i64; r: Type; tag: u8; }\n\
         impl Into(Sig) for Closure(i64, ..$rest) -> $R {\n\
             convert :: (self: Closure(i64, ..$rest) -> $R) -> Sig { return .{ n = rest.len, r = R }; }\n\
         }\n\
         main :: () {\n\
             f := (a: i64, b: u8, c: bool) -> f32 { return 1.0; };\n\
             g := (a: i32) -> f32 { return 1.0; };\n\
             s : Sig = xx f;\n\
             t : Sig = xx g;\n\
         }",
        expect![[r#"
            error: cannot convert 'Closure(i32) -> f32' to 'Sig'
              --> $DIR/test.sx:10:11
               |
            10 | t : Sig = xx g;
               |           ^^^^
        "#]],
    );
}

#[test]
fn a_literal_is_typed_by_a_binding_of_an_earlier_argument() {
    check_type(
        "apply :: (x: $T, f: Closure(T) -> $R) -> R { return f(x); }\n\
         probe :: () => apply(2.5, (v) => v > 1.0);",
        expect!["bool"],
    );
}

#[test]
fn a_literal_whose_parameter_types_it_binds_itself_still_needs_them_written() {
    check_diagnostics(
        "first :: (f: Closure($A) -> $A, x: i64) -> i64 { return x; }\n\
         main :: () { r := first((v) => v, 1); }",
        expect![[r#"
            error: parameter needs a type
             --> $DIR/test.sx:2:26
              |
            2 | main :: () { r := first((v) => v, 1); }
              |                          ^
        "#]],
    );
}
