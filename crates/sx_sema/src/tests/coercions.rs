//! Implicit conversions decided from the types alone, and the untyped-literal rules.

use super::{answer, check_coercion, check_literal, eval_type, load};
use crate::*;
use expect_test::{expect, Expect};

/// Like [`check_coercion`], but shows the types a rule carries by name (`TypeId`s depend on
/// the order of interning).
fn check_coercion_named(decls: &str, from: &str, to: &str, expect: Expect) {
    let src = format!("{}\n__From :: {};\n__To :: {};\n", decls, from, to);
    let (mut c, root, path) = load(&src);
    let found = root.and_then(|root| {
        let (f, t) = (eval_type(&mut c, root, "__From")?, eval_type(&mut c, root, "__To")?);
        Some(match coercion(&c.types, f, t) {
            Ok(Coercion::WrapOptional { inner }) => format!("WrapOptional {{ inner: {} }}", c.types.name(inner)),
            Ok(Coercion::OptionalToOptional { inner, both_pointers }) => {
                format!("OptionalToOptional {{ inner: {}, both_pointers: {} }}", c.types.name(inner), both_pointers)
            }
            Ok(rule) => format!("{:?}", rule),
            Err(e) => format!("error: {:?}", e),
        })
    });
    expect.assert_eq(&answer(&c, &path, found));
}

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

#[test]
fn same_type_is_a_retype() {
    check_coercion("", "i32", "i32", expect!["Retype"]);
}

#[test]
fn byte_slice_to_string_is_a_retype() {
    check_coercion("", "[]u8", "string", expect!["Retype"]);
}

#[test]
fn string_to_byte_slice_is_a_retype() {
    check_coercion("", "string", "[]u8", expect!["Retype"]);
}

#[test]
fn string_to_other_slice_has_no_rule() {
    check_coercion("", "string", "[]i8", expect!["NoRule"]);
}

#[test]
fn pointer_to_void_pointer_is_a_retype() {
    check_coercion("", "*i32", "*void", expect!["Retype"]);
}

#[test]
fn void_pointer_to_typed_pointer_is_a_retype() {
    check_coercion("", "*void", "*u8", expect!["Retype"]);
}

#[test]
fn pointer_to_array_to_many_pointer_is_a_retype() {
    check_coercion("", "*[4]i32", "[*]i32", expect!["Retype"]);
}

#[test]
fn pointer_to_array_of_other_element_has_no_rule() {
    check_coercion("", "*[4]i32", "[*]u32", expect!["NoRule"]);
}

#[test]
fn pointer_between_unrelated_pointees_has_no_rule() {
    check_coercion("", "*i32", "*i64", expect!["NoRule"]);
}

#[test]
fn equal_function_types_are_a_retype() {
    check_coercion("", "(i64) -> i64", "(i64) -> i64", expect!["Retype"]);
}

#[test]
fn signed_widening_is_numeric() {
    check_coercion("", "i8", "i64", expect!["Numeric"]);
}

#[test]
fn unsigned_widening_is_numeric() {
    check_coercion("", "u16", "u32", expect!["Numeric"]);
}

#[test]
fn unsigned_into_strictly_wider_signed_is_numeric() {
    check_coercion("", "u8", "i16", expect!["Numeric"]);
}

#[test]
fn unsigned_into_signed_of_same_width_has_no_rule() {
    check_coercion("", "u8", "i8", expect!["NoRule"]);
}

#[test]
fn signed_into_unsigned_has_no_rule() {
    check_coercion("", "i8", "u64", expect!["NoRule"]);
}

#[test]
fn signed_narrowing_has_no_rule() {
    check_coercion("", "i32", "i16", expect!["NoRule"]);
}

#[test]
fn i64_into_narrower_signed_is_numeric() {
    check_coercion("", "i64", "i16", expect!["Numeric"]);
}

#[test]
fn i64_into_narrower_unsigned_is_numeric() {
    check_coercion("", "i64", "u8", expect!["Numeric"]);
}

#[test]
fn u64_into_narrower_unsigned_has_no_rule() {
    check_coercion("", "u64", "u32", expect!["NoRule"]);
}

#[test]
fn int_to_float_is_numeric() {
    check_coercion("", "i32", "f32", expect!["Numeric"]);
}

#[test]
fn runtime_float_to_int_truncates() {
    check_coercion("", "f64", "i64", expect!["Numeric"]);
}

#[test]
fn f32_to_f64_is_numeric() {
    check_coercion("", "f32", "f64", expect!["Numeric"]);
}

#[test]
fn f64_to_f32_is_numeric() {
    check_coercion("", "f64", "f32", expect!["Numeric"]);
}

#[test]
fn int_to_bool_has_no_rule() {
    check_coercion("", "i32", "bool", expect!["NoRule"]);
}

#[test]
fn array_to_slice_of_other_element_has_no_rule() {
    check_coercion("", "[4]i32", "[]i64", expect!["NoRule"]);
}

#[test]
fn array_to_many_pointer() {
    check_coercion("", "[3]u8", "[*]u8", expect!["ArrayToManyPointer"]);
}

#[test]
fn anything_to_void_is_discarded() {
    check_coercion("P :: struct { x: i32; }", "P", "void", expect!["Discard"]);
}

#[test]
fn optional_to_void_is_discarded() {
    check_coercion("", "?i32", "void", expect!["Discard"]);
}

#[test]
fn value_into_optional_is_wrapped() {
    check_coercion_named("", "i32", "?i32", expect!["WrapOptional { inner: i32 }"]);
}

#[test]
fn narrower_value_into_optional_is_wrapped_with_the_payload_type() {
    check_coercion_named("", "u8", "?i64", expect!["WrapOptional { inner: i64 }"]);
}

#[test]
fn optional_pointers_are_retyped() {
    check_coercion_named("", "?*i32", "?*void", expect!["OptionalToOptional { inner: *void, both_pointers: true }"]);
}

#[test]
fn optional_values_are_rewrapped() {
    check_coercion_named("", "?i32", "?i64", expect!["OptionalToOptional { inner: i64, both_pointers: false }"]);
}

#[test]
fn optional_value_into_optional_pointer_is_not_both_pointers() {
    check_coercion_named("", "?i64", "?*void", expect!["OptionalToOptional { inner: *void, both_pointers: false }"]);
}

#[test]
fn anonymous_structs_of_the_same_shape_convert() {
    check_coercion("", "type_of(.{ a = 1, b = 2 })", "type_of(.{ x = 3, y = 4 })", expect!["AnonymousStruct"]);
}

#[test]
fn anonymous_structs_of_different_sizes_have_no_rule() {
    check_coercion("", "type_of(.{ 1, 2 })", "type_of(.{ 1.(i32), 2.(i32) })", expect!["NoRule"]);
}

#[test]
fn anonymous_structs_of_different_field_counts_have_no_rule() {
    check_coercion("", "type_of(.{ 1, 2 })", "type_of(.{ 1, 2, 3 })", expect!["NoRule"]);
}

#[test]
fn anonymous_structs_with_other_field_types_of_the_same_size_convert() {
    // BUG?: the rule looks only at field count and size, and the conversion is a retype
    // of the bits: `b : struct { x: f64; y: i64; } = .{ 1, 2.5 };` compiles and reads
    // `b.x` as 0.0 (the bits of 1) and `b.y` as 4612811918334230528 (the bits of 2.5).
    check_coercion("", "type_of(.{ 1, 2.5 })", "type_of(.{ x = 2.5, y = 1 })", expect!["AnonymousStruct"]);
}

#[test]
fn anonymous_structs_with_fields_in_another_order_convert_by_position() {
    // BUG?: field names are ignored: `b : struct { y: i64; x: i64; } = .{ x = 1, y = 2 };`
    // gives `b.x == 2`, `b.y == 1`.
    check_coercion("", "type_of(.{ x = 1, y = 2 })", "type_of(.{ y = 1, x = 2 })", expect!["AnonymousStruct"]);
}

#[test]
fn inline_struct_type_at_module_scope_is_nominal() {
    check_coercion("", "struct { a: i64; b: i64; }", "struct { x: i64; y: i64; }", expect!["NoRule"]);
}

#[test]
fn distinct_nominal_structs_have_no_rule() {
    check_coercion("A :: struct { v: i64; }\nB :: struct { v: i64; }", "A", "B", expect!["NoRule"]);
}

#[test]
fn optional_pointer_is_not_unwrapped_into_a_pointer() {
    check_coercion("", "?*u8", "*u8", expect!["error: OptionalNotUnwrapped"]);
}

#[test]
fn untyped_int_literal_fits_u8_max() {
    check_literal("CONST :: 255;", "u8", expect!["Const(255: u8)"]);
}

#[test]
fn negative_literal_into_unsigned_is_out_of_range() {
    check_literal("CONST :: -1;", "u32", expect!["error: integer literal -1 does not fit in 'u32'"]);
}

#[test]
fn i8_minimum_literal_fits() {
    check_literal("CONST :: -128;", "i8", expect!["Const(-128: i8)"]);
}

#[test]
fn below_i8_minimum_is_out_of_range() {
    check_literal("CONST :: -129;", "i8", expect!["error: integer literal -129 does not fit in 'i8'"]);
}

#[test]
fn u16_maximum_literal_fits() {
    check_literal("CONST :: 65535;", "u16", expect!["Const(65535: u16)"]);
}

#[test]
fn above_i32_maximum_is_out_of_range() {
    check_literal("CONST :: 2147483648;", "i32", expect!["error: integer literal 2147483648 does not fit in 'i32'"]);
}

#[test]
fn large_literal_fits_u64() {
    check_literal("CONST :: 4294967296;", "u64", expect!["Const(4294967296: u64)"]);
}

#[test]
fn untyped_int_literal_into_float() {
    check_literal("CONST :: 3;", "f32", expect!["Const(3.0: f32)"]);
}

#[test]
fn untyped_float_literal_into_f32() {
    check_literal("CONST :: 2.5;", "f32", expect!["Const(2.5: f32)"]);
}

#[test]
fn typed_f64_constant_into_f32() {
    check_literal("CONST : f64 : 2.5;", "f32", expect!["Const(2.5: f32)"]);
}

#[test]
fn typed_f64_constant_into_int_converts_like_a_literal() {
    // BUG?: the float → integer literal rule ignores the constant's declared type (and a
    // constant declared `: f64` is even stored untyped), so `K : f64 : 3.0; n : i64 = K;`
    // compiles, while a typed integer constant does not narrow as a literal (see
    // `typed_constant_does_not_narrow_as_a_literal`) and a run-time f64 has no rule into an
    // integer (`float_to_int_has_no_rule`).
    check_literal("CONST : f64 : 3.0;", "i64", expect!["Const(3: i64)"]);
}

#[test]
fn typed_f32_constant_into_int_converts_like_a_literal() {
    // BUG?: as above; `K : f32 : 3.0; n : i64 = K;` compiles and `n` is 3.
    check_literal("CONST : f32 : 3.0;", "i64", expect!["Const(3: i64)"]);
}

#[test]
fn integral_float_literal_into_int() {
    check_literal("CONST :: 6.0;", "i64", expect!["Const(6: i64)"]);
}

#[test]
fn non_integral_float_into_int_is_an_error() {
    check_literal("CONST :: 2.5;", "i32", expect!["error: cannot convert non-integral float 2.5 to 'i32' without a cast"]);
}

#[test]
fn integral_float_out_of_range_is_an_error() {
    check_literal("CONST :: 300.0;", "u8", expect!["error: value 300 does not fit in 'u8'"]);
}

#[test]
fn typed_constant_widens_as_a_literal() {
    check_literal("CONST : u8 : 200;", "i64", expect!["Const(200: i64)"]);
}

#[test]
fn typed_constant_does_not_narrow_as_a_literal() {
    check_literal("CONST : i32 : 5;", "i8", expect!["NotLiteral"]);
}

#[test]
fn null_into_pointer() {
    check_literal("CONST :: null;", "*i32", expect!["Const(Null)"]);
}

#[test]
fn null_into_optional_is_not_a_literal_rule() {
    check_literal("CONST :: null;", "?i32", expect!["NotLiteral"]);
}

#[test]
fn string_literal_into_cstring() {
    check_literal("CONST :: \"hi\";", "cstring", expect!["Const(Str([104, 105]))"]);
}

#[test]
fn string_literal_into_byte_slice() {
    check_literal("CONST :: \"hi\";", "[]u8", expect!["StringBytes"]);
}

#[test]
fn string_literal_into_string_is_not_a_literal_rule() {
    check_literal("CONST :: \"hi\";", "string", expect!["NotLiteral"]);
}

#[test]
fn bool_constant_into_int_is_not_a_literal_rule() {
    check_literal("CONST :: true;", "i32", expect!["NotLiteral"]);
}
