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

#[test]
fn undeclared_identifier_is_named() {
    check_diagnostics(
        "main :: () { total := 1; x := totl + 1; }",
        expect![[r#"
        error: undeclared identifier 'totl'
         --> $DIR/test.sx:1:31
          |
        1 | main :: () { total := 1; x := totl + 1; }
          |                               ^^^^
    "#]],
    );
}

#[test]
fn too_many_arguments_names_the_parameter_count() {
    check_diagnostics(
        "f :: (a: i64) -> i64 => a;\nmain :: () { x := f(1, 2); }",
        expect![[r#"
        error: too many arguments: 'f' takes 1
         --> $DIR/test.sx:2:24
          |
        2 | main :: () { x := f(1, 2); }
          |                        ^
    "#]],
    );
}

#[test]
fn too_few_arguments_are_reported() {
    check_diagnostics(
        "f :: (a: i64, b: i64) -> i64 => a + b;\nmain :: () { x := f(1); }",
        expect![[r#"
        error: missing argument 'b' in call to 'f'
         --> $DIR/test.sx:2:19
          |
        2 | main :: () { x := f(1); }
          |                   ^^^^
    "#]],
    );
}

#[test]
fn argument_of_the_wrong_type_is_a_mismatch() {
    check_diagnostics(
        "f :: (s: string) {}\nmain :: () { f(1); }",
        expect![[r#"
        error: type mismatch: expected 'string', found 'i64'
         --> $DIR/test.sx:2:16
          |
        2 | main :: () { f(1); }
          |                ^
    "#]],
    );
}

#[test]
fn reaching_the_end_without_a_return_value() {
    check_diagnostics(
        "f :: (n: i64) -> i64 { if n > 0 { return n; } m := n; }\nmain :: () { x := f(1); }",
        expect![[r#"
        error: missing return value of type 'i64'
         --> $DIR/test.sx:1:55
          |
        1 | f :: (n: i64) -> i64 { if n > 0 { return n; } m := n; }
          |                                                       ^
    "#]],
    );
}

#[test]
fn trailing_if_without_else_is_the_value_of_a_valued_function() {
    check_diagnostics(
        "f :: (n: i64) -> i64 { if n > 0 { return n; } }\nmain :: () { x := f(1); }",
        expect![[r#"
        error: an 'if' used as a value needs an 'else' branch
         --> $DIR/test.sx:1:24
          |
        1 | f :: (n: i64) -> i64 { if n > 0 { return n; } }
          |                        ^^^^^^^^^^^^^^^^^^^^^^
    "#]],
    );
}

#[test]
fn returning_a_value_from_a_void_function() {
    check_diagnostics(
        "f :: () -> void { return 1; }\nmain :: () { f(); }",
        expect![[r#"
        error: function returns nothing, but a value of type 'i64' is returned
         --> $DIR/test.sx:1:26
          |
        1 | f :: () -> void { return 1; }
          |                          ^
    "#]],
    );
}

#[test]
fn returning_a_value_without_a_declared_type_infers_it() {
    check_diagnostics(
        "f :: () { return 1; }\nmain :: () { x : i64 = f(); }",
        expect![[r#"
        ok
    "#]],
    );
}

#[test]
fn returning_the_wrong_type() {
    check_diagnostics(
        "f :: () -> bool { return \"yes\"; }\nmain :: () { x := f(); }",
        expect![[r#"
        error: type mismatch: expected 'bool', found 'string'
         --> $DIR/test.sx:1:26
          |
        1 | f :: () -> bool { return "yes"; }
          |                          ^^^^^
    "#]],
    );
}

#[test]
fn reserved_type_name_cannot_be_a_variable() {
    check_diagnostics(
        "main :: () { u8 := 1; }",
        expect![[r#"
        error: 'u8' is a reserved type name and cannot be used as an identifier
         --> $DIR/test.sx:1:14
          |
        1 | main :: () { u8 := 1; }
          |              ^^
    "#]],
    );
}

#[test]
fn optional_is_not_unwrapped_implicitly() {
    check_diagnostics(
        "main :: () { o : ?i64 = 1; x : i64 = o; }",
        expect![[r#"
        error: type mismatch: expected 'i64', found '?i64' (an optional is never unwrapped implicitly: use '!', '??' or 'if v := …')
         --> $DIR/test.sx:1:38
          |
        1 | main :: () { o : ?i64 = 1; x : i64 = o; }
          |                                      ^
    "#]],
    );
}

#[test]
fn integer_literal_out_of_range_for_a_parameter() {
    check_diagnostics(
        "f :: (b: u8) {}\nmain :: () { f(256); }",
        expect![[r#"
        error: integer literal 256 does not fit in 'u8'
         --> $DIR/test.sx:2:16
          |
        2 | main :: () { f(256); }
          |                ^^^
    "#]],
    );
}

#[test]
fn non_integral_float_literal_into_an_integer() {
    check_diagnostics(
        "main :: () { x : i32 = 2.5; }",
        expect![[r#"
        error: cannot convert non-integral float 2.5 to 'i32' without a cast
         --> $DIR/test.sx:1:24
          |
        1 | main :: () { x : i32 = 2.5; }
          |                        ^^^
    "#]],
    );
}

#[test]
fn narrowing_a_typed_value_needs_a_cast() {
    check_diagnostics(
        "main :: () { a : i32 = 1; b : i16 = a; }",
        expect![[r#"
        error: type mismatch: expected 'i16', found 'i32'
         --> $DIR/test.sx:1:37
          |
        1 | main :: () { a : i32 = 1; b : i16 = a; }
          |                                     ^
    "#]],
    );
}

#[test]
fn if_used_as_a_value_needs_an_else() {
    check_diagnostics(
        "main :: () { n := 4; v := if n > 2 then 10; }",
        expect![[r#"
        error: an 'if' used as a value needs an 'else' branch
         --> $DIR/test.sx:1:27
          |
        1 | main :: () { n := 4; v := if n > 2 then 10; }
          |                           ^^^^^^^^^^^^^^^^
    "#]],
    );
}

#[test]
fn unknown_field_names_the_type() {
    check_diagnostics(
        "P :: struct { x: i32; }\nmain :: () { p : P; y := p.z; }",
        expect![[r#"
        error: type 'P' has no field 'z'
         --> $DIR/test.sx:2:28
          |
        2 | main :: () { p : P; y := p.z; }
          |                            ^
    "#]],
    );
}

#[test]
fn unknown_field_in_a_struct_literal() {
    check_diagnostics(
        "P :: struct { x: i32; }\nmain :: () { p := P.{ x = 1, w = 2 }; }",
        expect![[r#"
        error: type 'P' has no field 'w'
         --> $DIR/test.sx:2:30
          |
        2 | main :: () { p := P.{ x = 1, w = 2 }; }
          |                              ^
    "#]],
    );
}

#[test]
fn independent_errors_in_three_functions_are_all_reported() {
    check_diagnostics(
        "f :: () -> i64 { return \"a\"; }\ng :: () -> void { y := nope; }\nmain :: () -> void { x := f(); g(); b : bool = 1; }",
        expect![[r#"
            error: type mismatch: expected 'i64', found 'string'
             --> $DIR/test.sx:1:25
              |
            1 | f :: () -> i64 { return "a"; }
              |                         ^^^
            error: undeclared identifier 'nope'
             --> $DIR/test.sx:2:24
              |
            2 | g :: () -> void { y := nope; }
              |                        ^^^^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:3:48
              |
            3 | main :: () -> void { x := f(); g(); b : bool = 1; }
              |                                                ^
        "#]],
    );
}

#[test]
fn an_error_while_inferring_a_return_type_hides_no_other_error() {
    // `g` and `main` have no declared return type, so checking `main` infers `g`'s from its
    // body; the error found there does not stop the checks of `f`.
    check_diagnostics(
        "f :: () -> i64 { return \"a\"; }\ng :: () { y := nope; }\nmain :: () { x := f(); g(); }",
        expect![[r#"
            error: type mismatch: expected 'i64', found 'string'
             --> $DIR/test.sx:1:25
              |
            1 | f :: () -> i64 { return "a"; }
              |                         ^^^
            error: undeclared identifier 'nope'
             --> $DIR/test.sx:2:16
              |
            2 | g :: () { y := nope; }
              |                ^^^^
        "#]],
    );
}

#[test]
fn every_error_of_one_function_is_reported() {
    check_diagnostics(
        "main :: () -> void { a : i32 = \"x\"; b := missing; }",
        expect![[r#"
            error: type mismatch: expected 'i32', found 'string'
             --> $DIR/test.sx:1:32
              |
            1 | main :: () -> void { a : i32 = "x"; b := missing; }
              |                                ^^^
            error: undeclared identifier 'missing'
             --> $DIR/test.sx:1:42
              |
            1 | main :: () -> void { a : i32 = "x"; b := missing; }
              |                                          ^^^^^^^
        "#]],
    );
}

#[test]
fn unreached_function_is_still_checked() {
    check_diagnostics(
        "helper :: () -> i64 { return true; }\nmain :: () {}",
        expect![[r#"
        error: type mismatch: expected 'i64', found 'bool'
         --> $DIR/test.sx:1:30
          |
        1 | helper :: () -> i64 { return true; }
          |                              ^^^^
    "#]],
    );
}

#[test]
fn enum_backed_by_a_float_is_not_supported() {
    check_diagnostics(
        "E :: enum f32 { a; b; }\nmain :: () { e : E = .a; }",
        expect![[r#"
        error: not supported yet: an enum backing type that is not an integer
         --> $DIR/test.sx:1:11
          |
        1 | E :: enum f32 { a; b; }
          |           ^^^
    "#]],
    );
}

#[test]
fn error_inside_a_generic_instance_is_reported_in_its_body() {
    // BUG?: nothing points at the call `add(true, false)` that made the instance with
    // `T = bool` (the '#error' directive in a generic does name its call site).
    check_diagnostics(
        "add :: (a: $T, b: T) -> T { return a + b; }\nmain :: () { s := add(true, false); }",
        expect![[r#"
            error: operator '+' cannot be applied to 'bool' and 'bool'
             --> $DIR/test.sx:1:36
              |
            1 | add :: (a: $T, b: T) -> T { return a + b; }
              |                                    ^^^^^
        "#]],
    );
}

#[test]
fn correct_generic_instances_do_not_hide_a_failing_one() {
    check_diagnostics(
        "add :: (a: $T, b: T) -> T { return a + b; }\nmain :: () -> void { i := add(1, 2); f := add(1.5, 2.0); s := add(\"a\", \"b\"); }",
        expect![[r#"
            error: operator '+' cannot be applied to 'string' and 'string'
             --> $DIR/test.sx:1:36
              |
            1 | add :: (a: $T, b: T) -> T { return a + b; }
              |                                    ^^^^^
        "#]],
    );
}

#[test]
fn generic_parameter_only_in_the_result_is_rejected() {
    check_diagnostics(
        "last :: (n: i64) -> $T { x : T; return x; }\nmain :: () { v := last(1); }",
        expect![[r#"
            error: '$T' is only bound in a generic function's parameters
             --> $DIR/test.sx:1:21
              |
            1 | last :: (n: i64) -> $T { x : T; return x; }
              |                     ^^
            error: generic return type '$T' cannot be bound: no parameter mentions '$T', so no call site can infer it
             --> $DIR/test.sx:1:22
              |
            1 | last :: (n: i64) -> $T { x : T; return x; }
              |                      ^
        "#]],
    );
}

#[test]
fn generic_parameter_that_cannot_be_inferred_from_the_arguments() {
    check_diagnostics(
        "first :: (xs: []$T) -> T { return xs[0]; }\nmain :: () { v := first(5); }",
        expect![[r#"
        error: cannot infer generic type parameter 'T' for 'first' from this call's arguments
         --> $DIR/test.sx:2:19
          |
        2 | main :: () { v := first(5); }
          |                   ^^^^^^^^
    "#]],
    );
}

#[test]
fn comptime_division_by_zero_is_reported_at_the_run() {
    // BUG?: the trace shows the compiler's own thunk (`in __comptime`) as a frame.
    check_diagnostics(
        "div :: (a: i64, b: i64) -> i64 { return a / b; }\nK :: #run div(1, 0);\nmain :: () { x := K; }",
        expect![[r#"
        error: compile-time evaluation failed: integer division by zero
         --> $DIR/test.sx:1:41
          |
        1 | div :: (a: i64, b: i64) -> i64 { return a / b; }
          |                                         ^^^^^
          in div (called at $DIR/test.sx:2:11)
          in __comptime
          evaluated for $DIR/test.sx:2:11
    "#]],
    );
}

#[test]
fn dereferencing_a_non_pointer() {
    check_diagnostics(
        "main :: () { x := 1; y := x.*; }",
        expect![[r#"
        error: cannot dereference a value of type 'i64'
         --> $DIR/test.sx:1:27
          |
        1 | main :: () { x := 1; y := x.*; }
          |                           ^^^
    "#]],
    );
}

#[test]
fn calling_a_non_function() {
    check_diagnostics(
        "main :: () { x := 1; y := x(2); }",
        expect![[r#"
        error: cannot call a value of type 'i64'
         --> $DIR/test.sx:1:27
          |
        1 | main :: () { x := 1; y := x(2); }
          |                           ^
    "#]],
    );
}

#[test]
fn break_outside_a_loop() {
    check_diagnostics(
        "main :: () { break; }",
        expect![[r#"
        error: 'break'/'continue' outside of a loop
         --> $DIR/test.sx:1:14
          |
        1 | main :: () { break; }
          |              ^^^^^^
    "#]],
    );
}

#[test]
fn assigning_to_a_constant() {
    check_diagnostics(
        "LIMIT :: 3;\nmain :: () { LIMIT = 4; }",
        expect![[r#"
        error: cannot assign to constant 'LIMIT'
         --> $DIR/test.sx:2:14
          |
        2 | main :: () { LIMIT = 4; }
          |              ^^^^^
    "#]],
    );
}

#[test]
fn struct_as_a_condition() {
    check_diagnostics(
        "P :: struct { x: i32; }\nmain :: () { p : P; if p { } }",
        expect![[r#"
        error: condition must be 'bool', integer or pointer, found 'P'
         --> $DIR/test.sx:2:24
          |
        2 | main :: () { p : P; if p { } }
          |                        ^
    "#]],
    );
}

#[test]
fn raise_outside_a_failable_function() {
    check_diagnostics(
        "E :: error { Oops }\nf :: () -> i64 { raise error.Oops; }\nmain :: () { x := f(); }",
        expect![[r#"
        error: 'raise' is only allowed in a failable function (declare it '-> !' or '-> (T, !)')
         --> $DIR/test.sx:2:18
          |
        2 | f :: () -> i64 { raise error.Oops; }
          |                  ^^^^^^^^^^^^^^^^^
    "#]],
    );
}

#[test]
fn discarding_the_error_of_a_failable_call() {
    check_diagnostics(
        "E :: error { Oops }\nf :: (n: i64) -> !E { if n < 0 { raise error.Oops; } }\nmain :: () { f(1); }",
        expect![[r#"
        error: the error of a failable call cannot be discarded: use 'try', 'catch' or an 'or' fallback
         --> $DIR/test.sx:3:14
          |
        3 | main :: () { f(1); }
          |              ^^^^
    "#]],
    );
}

#[test]
fn comparing_distinct_struct_types() {
    check_diagnostics(
        "A :: struct { v: i64; }\nB :: struct { v: i64; }\nmain :: () { a : A; b : B; c := a == b; }",
        expect![[r#"
            error: cannot compare values of distinct struct types 'A' and 'B'
             --> $DIR/test.sx:3:33
              |
            3 | main :: () { a : A; b : B; c := a == b; }
              |                                 ^^^^^^
        "#]],
    );
}

#[test]
fn well_typed_program_compiles() {
    check_diagnostics(
        "f :: (a: i32) -> i64 => a * 2;\nmain :: () { x := f(3); }",
        expect![[r#"
        ok
    "#]],
    );
}

#[test]
fn negative_literal_into_an_unsigned_variable() {
    check_diagnostics(
        "main :: () { x : u8 = -1; }",
        expect![[r#"
        error: integer literal -1 does not fit in 'u8'
         --> $DIR/test.sx:1:23
          |
        1 | main :: () { x : u8 = -1; }
          |                       ^^
    "#]],
    );
}

#[test]
fn constant_index_past_the_end_of_an_array() {
    check_diagnostics(
        "main :: () { a : [4]i32; x := a[4]; }",
        expect![[r#"
        error: index 4 is out of bounds for an array of length 4
         --> $DIR/test.sx:1:33
          |
        1 | main :: () { a : [4]i32; x := a[4]; }
          |                                 ^
    "#]],
    );
}

#[test]
fn destructuring_into_the_wrong_number_of_names() {
    check_diagnostics(
        "two :: () -> (i64, i64) { return 1, 2; }\nmain :: () { a, b, c := two(); }",
        expect![[r#"
            error: cannot destructure 2 values into 3 names
             --> $DIR/test.sx:2:14
              |
            2 | main :: () { a, b, c := two(); }
              |              ^^^^^^^^^^^^^^^^^
        "#]],
    );
}

#[test]
fn assigning_to_an_undeclared_name() {
    check_diagnostics(
        "main :: () { a := 1; a, b = 2, 3; }",
        expect![[r#"
        error: unresolved 'b' in assignment — no variable or global with this name; use 'b := ...' to declare a new variable
         --> $DIR/test.sx:1:25
          |
        1 | main :: () { a := 1; a, b = 2, 3; }
          |                         ^
    "#]],
    );
}

#[test]
fn dollar_inside_a_body_expression() {
    check_diagnostics(
        "f :: (a: $T) -> i64 { return size_of($T); }\nmain :: () { x := f(1); }",
        expect![[r#"
        error: '$' introduces a generic parameter only in its declaration; write 'T' here
         --> $DIR/test.sx:1:38
          |
        1 | f :: (a: $T) -> i64 { return size_of($T); }
          |                                      ^^
    "#]],
    );
}

#[test]
fn dollar_inside_a_body_type_annotation_is_accepted() {
    // BUG?: `$T` in an expression of the body is an error ("'$' introduces a generic
    // parameter only in its declaration; write 'T' here", see the test above), but the same
    // spelling in a local's type annotation compiles silently.
    check_diagnostics(
        "f :: (a: $T) -> T { b : $T = a; return b; }\nmain :: () { x := f(1); }",
        expect![[r#"
        ok
    "#]],
    );
}

#[test]
fn float_operand_of_a_shift() {
    check_diagnostics(
        "main :: () -> void { a := 1.5; b := a << 2; }",
        expect![[r#"
        error: operator '<<' needs integer operands, found 'f64'
         --> $DIR/test.sx:1:37
          |
        1 | main :: () -> void { a := 1.5; b := a << 2; }
          |                                     ^^^^^^
    "#]],
    );
}

#[test]
fn comparing_a_string_with_an_integer() {
    check_diagnostics(
        "main :: () -> void { s := \"a\"; c := s == 1; }",
        expect![[r#"
        error: type mismatch: expected 'string', found 'i64'
         --> $DIR/test.sx:1:37
          |
        1 | main :: () -> void { s := "a"; c := s == 1; }
          |                                     ^^^^^^
    "#]],
    );
}

#[test]
fn main_returning_a_string_is_rejected() {
    check_diagnostics(
        "main :: () -> string { return \"x\"; }",
        expect![[r#"
        error: 'main' must return void or an integer, not 'string'
         --> $DIR/test.sx:1:1
          |
        1 | main :: () -> string { return "x"; }
          | ^^^^
    "#]],
    );
}

#[test]
fn missing_main() {
    check_diagnostics(
        "helper :: () -> i64 { return 1; }",
        expect![[r#"
        error: no 'main' function found
         --> $DIR/test.sx:1:1
          |
        1 | helper :: () -> i64 { return 1; }
          | ^
    "#]],
    );
}

#[test]
fn a_failed_declaration_causes_no_follow_on_errors() {
    // `y` failed to be declared: its later uses stay quiet, the unrelated error after them is
    // still reported.
    check_diagnostics(
        "main :: () -> void { y : i32 = \"x\"; z := y + 1; w := y * z; q : bool = 2; }",
        expect![[r#"
            error: type mismatch: expected 'i32', found 'string'
             --> $DIR/test.sx:1:32
              |
            1 | main :: () -> void { y : i32 = "x"; z := y + 1; w := y * z; q : bool = 2; }
              |                                ^^^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:1:72
              |
            1 | main :: () -> void { y : i32 = "x"; z := y + 1; w := y * z; q : bool = 2; }
              |                                                                        ^
        "#]],
    );
}

#[test]
fn errors_in_nested_blocks_and_after_them_are_all_reported() {
    check_diagnostics(
        "main :: () -> void {\n    i := 0;\n    while i < 3 {\n        a : u8 = 1000;\n        i += 1;\n    }\n    if i > 1 { b := nothing; }\n    c : string = 1;\n}",
        expect![[r#"
            error: integer literal 1000 does not fit in 'u8'
             --> $DIR/test.sx:4:18
              |
            4 |         a : u8 = 1000;
              |                  ^^^^
            error: undeclared identifier 'nothing'
             --> $DIR/test.sx:7:21
              |
            7 |     if i > 1 { b := nothing; }
              |                     ^^^^^^^
            error: type mismatch: expected 'string', found 'i64'
             --> $DIR/test.sx:8:18
              |
            8 |     c : string = 1;
              |                  ^
        "#]],
    );
}

#[test]
fn diagnostics_come_in_source_order() {
    // `main` is checked first, `late` afterwards, yet `late`'s error comes first: it is
    // earlier in the file.
    check_diagnostics(
        "late :: () -> i64 { return \"no\"; }\nmain :: () -> void { x := late(); y : bool = 3; }",
        expect![[r#"
            error: type mismatch: expected 'i64', found 'string'
             --> $DIR/test.sx:1:28
              |
            1 | late :: () -> i64 { return "no"; }
              |                            ^^^^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:2:46
              |
            2 | main :: () -> void { x := late(); y : bool = 3; }
              |                                              ^
        "#]],
    );
}

#[test]
fn more_than_fifty_errors_end_in_a_count() {
    let mut src = String::from("main :: () -> void {\n");
    for k in 0..60 {
        src.push_str(&format!("    v{} : bool = {};\n", k, k));
    }
    src.push_str("}\n");
    let path = super::write_program(&src);
    let Err((_, diags)) = crate::compile(&path, &super::options()) else { panic!("the program must not compile") };
    assert_eq!(diags.len(), crate::MAX_ERRORS + 1);
    assert_eq!(diags.last().map(|d| d.message.as_str()), Some("10 more errors not shown"));
}

#[test]
fn an_earlier_error_does_not_stop_later_constant_evaluation() {
    // `main` has no declared return type and `K` is first evaluated after the error on line 3;
    // the write into the constant must still be reported.
    check_diagnostics(
        "K : [2]i64 : .[1, 2];\nmain :: () {\n    x : bool = 1;\n    K[0] = 5;\n}",
        expect![[r#"
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:3:16
              |
            3 |     x : bool = 1;
              |                ^
            error: cannot assign to constant 'K'
             --> $DIR/test.sx:4:5
              |
            4 |     K[0] = 5;
              |     ^
        "#]],
    );
}
