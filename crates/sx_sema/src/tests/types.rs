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

#[test]
fn untyped_float_literal_defaults_to_f64() {
    check_type("probe :: () => 2.5 * 2;", expect!["f64"]);
}

#[test]
fn integer_division_of_literals_stays_integer() {
    check_type("probe :: () => 10 / 4;", expect!["i64"]);
}

#[test]
fn binary_op_widens_to_the_wider_signed_operand() {
    check_type("probe :: () { a : i8 = 1; b : i32 = 2; return a + b; }", expect!["i32"]);
}

#[test]
fn unsigned_operand_widens_into_strictly_wider_signed() {
    check_type("probe :: () { a : u8 = 1; b : i16 = 2; return a * b; }", expect!["i16"]);
}

#[test]
fn typed_operand_keeps_its_width_against_a_literal() {
    check_type("probe :: () { a : u16 = 1; return a + 1; }", expect!["u16"]);
}

#[test]
fn int_times_float_is_the_float_type() {
    check_type("probe :: () { a : i16 = 3; f : f32 = 0.5; return a * f; }", expect!["f32"]);
}

#[test]
fn shift_keeps_the_left_operand_type() {
    check_type("probe :: () { a : u8 = 1; return a << 3; }", expect!["u8"]);
}

#[test]
fn comparison_of_integers_is_bool() {
    check_type("probe :: () { a : u8 = 1; return a < 3; }", expect!["bool"]);
}

#[test]
fn logical_operators_are_bool() {
    check_type("probe :: () { a := 1; return a == 1 and !(a > 2); }", expect!["bool"]);
}

#[test]
fn address_of_local_is_a_pointer() {
    check_type("probe :: () { x : i32 = 1; return *x; }", expect!["*i32"]);
}

#[test]
fn dereference_yields_the_pointee_type() {
    check_type("probe :: () { x : i16 = 1; p := *x; return p.*; }", expect!["i16"]);
}

#[test]
fn pointer_to_pointer_nests() {
    check_type("probe :: () { x : u8 = 1; p := *x; return *p; }", expect!["**u8"]);
}

#[test]
fn untyped_array_literal_is_an_array_of_i64() {
    check_type("probe :: () { a := .[1, 2, 3]; return a; }", expect!["[3]i64"]);
}

#[test]
fn array_index_yields_the_element_type() {
    check_type("probe :: () { a : [4]u16 = ---; return a[2]; }", expect!["u16"]);
}

#[test]
fn array_len_is_i64() {
    check_type("probe :: () { a : [4]u16 = ---; return a.len; }", expect!["i64"]);
}

#[test]
fn slicing_an_array_gives_a_slice() {
    check_type("probe :: () { a : [6]i32 = ---; return a[1..4]; }", expect!["[]i32"]);
}

#[test]
fn slicing_a_slice_gives_a_slice() {
    check_type("probe :: (xs: []f32) => xs[1..];", expect!["[]f32"]);
}

#[test]
fn string_literal_is_string() {
    check_type("probe :: () => \"hello\";", expect!["string"]);
}

#[test]
fn indexing_a_string_gives_a_byte() {
    check_type("probe :: (s: string) => s[0];", expect!["u8"]);
}

#[test]
fn slicing_a_string_gives_a_string() {
    check_type("probe :: (s: string) => s[1..3];", expect!["string"]);
}

#[test]
fn struct_literal_has_the_struct_type() {
    check_type("P :: struct { x: i32; y: i32; }\nprobe :: () => P.{ x = 1, y = 2 };", expect!["P"]);
}

#[test]
fn field_access_yields_the_field_type() {
    check_type("P :: struct { x: i32; label: string; }\nprobe :: (p: P) => p.label;", expect!["string"]);
}

#[test]
fn field_access_through_a_pointer_auto_dereferences() {
    check_type("P :: struct { x: u64; }\nprobe :: (p: *P) => p.x;", expect!["u64"]);
}

#[test]
fn generic_struct_instance_is_named_with_its_argument() {
    check_type("Cell :: struct ($T: Type) { val: T; }\nprobe :: () => Cell(u8).{ val = 1 };", expect!["Cell(u8)"]);
}

#[test]
fn optional_variable_stays_optional() {
    check_type("probe :: () { x : ?i32 = 1; return x; }", expect!["?i32"]);
}

#[test]
fn coalescing_an_optional_yields_its_payload() {
    check_type("probe :: () { x : ?i32 = null; return x ?? 0; }", expect!["i32"]);
}

#[test]
fn forcing_an_optional_yields_its_payload() {
    check_type("probe :: (x: ?string) => x!;", expect!["string"]);
}

#[test]
fn optional_chaining_yields_an_optional_field() {
    check_type("P :: struct { v: u8; }\nprobe :: (p: ?P) => p?.v;", expect!["?u8"]);
}

#[test]
fn enum_member_has_the_enum_type() {
    check_type("Color :: enum { red; green; }\nprobe :: () => Color.green;", expect!["Color"]);
}

#[test]
fn enum_comparison_is_bool() {
    check_type("Color :: enum { red; green; }\nprobe :: (c: Color) => c == .red;", expect!["bool"]);
}

#[test]
fn untyped_tuple_literal_is_an_anonymous_struct() {
    check_type("probe :: () => .{ 1, \"two\" };", expect!["struct {0: i64; 1: string}"]);
}

#[test]
fn tuple_element_by_position() {
    check_type("probe :: (t: Tuple(i32, string)) => t.1;", expect!["string"]);
}

#[test]
fn multiple_return_is_a_tuple() {
    check_type("divmod :: (a: i64, b: i64) -> (i64, i64) { return a / b, a % b; }\nprobe :: () => divmod(7, 2);", expect!["(i64, i64)"]);
}

#[test]
fn generic_function_instance_returns_the_inferred_type() {
    check_type("sum :: (a: $T, b: T) -> T { return a + b; }\nprobe :: () => sum(1.5, 2.0);", expect!["f64"]);
}

#[test]
fn generic_parameter_inferred_from_a_slice_element() {
    check_type(
        "first :: (xs: []$T) -> T { return xs[0]; }\nprobe :: () { xs : []string = .[\"a\"]; return first(xs); }",
        expect!["string"],
    );
}

#[test]
fn generic_parameter_given_as_a_type_argument() {
    check_type("zero :: ($T: Type) -> T { x : T; return x; }\nprobe :: () => zero(u16);", expect!["u16"]);
}

#[test]
fn type_function_result_is_usable_as_a_type() {
    check_type("Row :: ($N: i64, $T: Type) -> Type { return [N]T; }\nprobe :: () { r : Row(3, u8) = ---; return r; }", expect!["[3]u8"]);
}

#[test]
fn dot_paren_cast_gives_the_named_type() {
    check_type("probe :: () { x := 300; return x.(u8); }", expect!["u8"]);
}

#[test]
fn xx_cast_takes_the_declared_target_type() {
    check_type("probe :: () { f := 2.5; n : i32 = xx f; return n; }", expect!["i32"]);
}

#[test]
fn boxing_into_any_gives_any() {
    check_type("probe :: () { n : i32 = 1; v : any = n; return v; }", expect!["any"]);
}

#[test]
fn type_of_an_any_is_a_type_value() {
    check_type("probe :: (v: any) => type_of(v);", expect!["Type"]);
}

#[test]
fn lambda_capturing_a_local_is_a_closure() {
    check_type(
        "#import \"modules/std.sx\";\nprobe :: () { base := 7; f := (x: i64) -> i64 => x + base; return f; }",
        expect!["Closure(i64) -> i64"],
    );
}

#[test]
fn calling_a_closure_yields_its_result_type() {
    check_type("probe :: (f: Closure(i64) -> bool) => f(3);", expect!["bool"]);
}

#[test]
fn failable_call_has_a_failable_type() {
    check_type(
        "E :: error { Bad }\nfind :: (k: i64) -> (u8, !E) { if k < 0 { raise error.Bad; } return 1; }\nprobe :: () => find(1);",
        expect!["(u8, !E)"],
    );
}

#[test]
fn or_on_a_failable_yields_the_value_type() {
    check_type(
        "E :: error { Bad }\nfind :: (k: i64) -> (u8, !E) { if k < 0 { raise error.Bad; } return 1; }\nprobe :: () => find(1) or 0;",
        expect!["u8"],
    );
}

#[test]
fn catch_on_a_failable_yields_the_value_type() {
    check_type(
        "E :: error { Bad }\nfind :: (k: i64) -> (u8, !E) { if k < 0 { raise error.Bad; } return 1; }\nprobe :: () { v := find(1) catch (e) 0; return v; }",
        expect!["u8"],
    );
}

#[test]
fn pure_failable_is_its_error_set() {
    check_type(
        "E :: error { Closed }\ncheck :: (ok: bool) -> !E { if !ok { raise error.Closed; } }\nprobe :: () => check(true);",
        expect!["E"],
    );
}

#[test]
fn size_of_is_i64() {
    check_type("probe :: () => size_of(u32);", expect!["i64"]);
}

#[test]
fn if_expression_takes_the_branch_type() {
    check_type("probe :: (c: bool) => if c then 1.5 else 2.0;", expect!["f64"]);
}

#[test]
fn mixed_signedness_of_the_same_width_is_an_error() {
    check_type(
        "probe :: () { a : u32 = 1; b : i32 = 2; return a + b; }",
        expect![[r#"
            error: mismatched operand types 'u32' and 'i32'
             --> $DIR/test.sx:1:48
              |
            1 | probe :: () { a : u32 = 1; b : i32 = 2; return a + b; }
              |                                                ^^^^^
        "#]],
    );
}

#[test]
fn unsigned_and_wider_signed_mix_to_the_signed_type() {
    check_type("probe :: () { a : u32 = 1; b : i64 = 2; return b - a; }", expect!["i64"]);
}

#[test]
fn xx_needs_a_known_target_type() {
    check_type(
        "probe :: () { f := 2.5; return xx f; }",
        expect![[r#"
            error: 'xx' needs a known target type here
             --> $DIR/test.sx:1:32
              |
            1 | probe :: () { f := 2.5; return xx f; }
              |                                ^^^^
        "#]],
    );
}

#[test]
fn flags_enum_union_keeps_the_enum_type() {
    check_type("Perm :: enum flags { read; write; exec; }\nprobe :: () { p : Perm = .read | .exec; return p; }", expect!["Perm"]);
}

#[test]
fn named_tuple_element_by_name() {
    check_type("probe :: (t: Tuple(lo: i32, hi: u8)) => t.hi;", expect!["u8"]);
}

#[test]
fn unboxing_an_any_gives_the_asserted_type() {
    check_type("#import \"modules/std.sx\";\nprobe :: (v: any) => v.(i16);", expect!["i16"]);
}

#[test]
fn optional_pointer_coalesced_with_a_pointer() {
    check_type("probe :: (p: ?*u8, q: *u8) => p ?? q;", expect!["*u8"]);
}

#[test]
fn many_pointer_index_yields_the_element_type() {
    check_type("probe :: (p: [*]i16) => p[3];", expect!["i16"]);
}

#[test]
fn if_expression_with_int_and_float_branches() {
    check_type("probe :: (c: bool) => if c then 1 else 2.5;", expect!["f64"]);
}

#[test]
fn unary_minus_keeps_the_operand_type() {
    check_type("probe :: () { a : i8 = 3; return -a; }", expect!["i8"]);
}

#[test]
fn bitwise_and_of_mixed_widths() {
    check_type("probe :: () { a : u8 = 3; b : u32 = 5; return a & b; }", expect!["u32"]);
}
