//! Error recovery: every independent error of a function, a statement or a declaration is
//! reported in one run, each once, without follow-on errors.

use super::check_diagnostics;
use expect_test::expect;

#[test]
fn a_discarded_last_value_is_reported_at_its_semicolon() {
    check_diagnostics(
        "twice :: (n: i64) -> i64 {\n    n * 2;\n}\nmain :: () { x := twice(1); }",
        expect![[r#"
        error: the function returns 'i64', but the `;` here discards the last expression's value (remove it, or `return` explicitly)
         --> $DIR/test.sx:2:10
          |
        2 |     n * 2;
          |          ^
    "#]],
    );
}

#[test]
fn every_argument_of_a_call_is_checked() {
    check_diagnostics(
        "#import \"modules/std.sx\";\nadd :: (a: i64, b: i64) -> i64 => a + b;\nmain :: () {\n    x := add(\"one\", true);\n    print(\"{} {}\\n\", nope, alsonope);\n}",
        expect![[r#"
            error: type mismatch: expected 'i64', found 'string'
             --> $DIR/test.sx:4:14
              |
            4 |     x := add("one", true);
              |              ^^^^^
            error: undeclared identifier 'nope'
             --> $DIR/test.sx:5:22
              |
            5 |     print("{} {}\n", nope, alsonope);
              |                      ^^^^
            error: undeclared identifier 'alsonope'
             --> $DIR/test.sx:5:28
              |
            5 |     print("{} {}\n", nope, alsonope);
              |                            ^^^^^^^^
        "#]],
    );
}

#[test]
fn a_typed_declaration_keeps_its_type_after_its_initializer_fails() {
    check_diagnostics(
        "main :: () {\n    n : i64 = \"seven\";\n    s : string = n;\n    m := undefined_name;\n    k : i64 = m;\n}",
        expect![[r#"
        error: type mismatch: expected 'i64', found 'string'
         --> $DIR/test.sx:2:15
          |
        2 |     n : i64 = "seven";
          |               ^^^^^^^
        error: type mismatch: expected 'string', found 'i64'
         --> $DIR/test.sx:3:18
          |
        3 |     s : string = n;
          |                  ^
        error: undeclared identifier 'undefined_name'
         --> $DIR/test.sx:4:10
          |
        4 |     m := undefined_name;
          |          ^^^^^^^^^^^^^^
    "#]],
    );
}

#[test]
fn every_field_default_of_a_struct_is_checked() {
    check_diagnostics(
        "Cfg :: struct {\n    a: i64 = 0.5;\n    b: bool = 3;\n    c: i64 = 1;\n}\nmain :: () { c := Cfg.{}; }",
        expect![[r#"
            error: cannot convert non-integral float 0.5 to 'i64' without a cast
             --> $DIR/test.sx:2:14
              |
            2 |     a: i64 = 0.5;
              |              ^^^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:3:15
              |
            3 |     b: bool = 3;
              |               ^
        "#]],
    );
}

#[test]
fn a_reserved_parameter_name_does_not_hide_a_reserved_local() {
    check_diagnostics(
        "f :: (u16: i64) {\n    f32 := 2;\n}\nmain :: () { f(1); }",
        expect![[r#"
        error: 'u16' is a reserved type name and cannot be used as an identifier
         --> $DIR/test.sx:1:7
          |
        1 | f :: (u16: i64) {
          |       ^^^
        error: 'f32' is a reserved type name and cannot be used as an identifier
         --> $DIR/test.sx:2:5
          |
        2 |     f32 := 2;
          |     ^^^
    "#]],
    );
}

#[test]
fn each_branch_of_an_if_and_each_match_arm_reports() {
    check_diagnostics(
        "E :: enum { a; b; c; }\nmain :: () {\n    n := 1;\n    if n > 0 { x : bool = 1; } else { y : string = 2; }\n    e := E.a;\n    if e == {\n        case .a: { p : bool = 3; }\n        case .b: { q : bool = 4; }\n        case .c: {}\n    }\n}",
        expect![[r#"
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:4:27
              |
            4 |     if n > 0 { x : bool = 1; } else { y : string = 2; }
              |                           ^
            error: type mismatch: expected 'string', found 'i64'
             --> $DIR/test.sx:4:52
              |
            4 |     if n > 0 { x : bool = 1; } else { y : string = 2; }
              |                                                    ^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:7:31
              |
            7 |         case .a: { p : bool = 3; }
              |                               ^
            error: type mismatch: expected 'bool', found 'i64'
             --> $DIR/test.sx:8:31
              |
            8 |         case .b: { q : bool = 4; }
              |                               ^
        "#]],
    );
}

#[test]
fn a_value_match_with_a_branch_yielding_nothing_points_at_it() {
    check_diagnostics(
        "E :: enum { a; b; }\nnoop :: () {}\nmain :: () {\n    e := E.a;\n    v := if e == {\n        case .a: { noop(); }\n        case .b: { 2 }\n    };\n}",
        expect![[r#"
            error: this branch yields no value, but the branching expression it belongs to is used as a value
             --> $DIR/test.sx:6:18
              |
            6 |         case .a: { noop(); }
              |                  ^^^^^^^^^^^
        "#]],
    );
}

#[test]
fn named_argument_rules_are_each_reported() {
    check_diagnostics(
        "f :: (a: i64, b: i64 = 1) -> i64 => a + b;\nv :: (n: i64, ..rest: []i64) -> i64 => n;\ng :: (x: i64, body: Closure()) { body(); }\nmain :: () {\n    p := f(b = 2, 1);\n    q := v(1, rest = 2);\n    h := (a: i64) => a;\n    r := h(a = 1);\n    g(1, body = () => {}) { };\n}",
        expect![[r#"
            error: a positional argument cannot follow named arguments: name it, or move it before them
             --> $DIR/test.sx:5:19
              |
            5 |     p := f(b = 2, 1);
              |                   ^
            error: variadic parameter 'rest' takes its values by position only
             --> $DIR/test.sx:6:15
              |
            6 |     q := v(1, rest = 2);
              |               ^^^^
            error: named argument 'a': a closure or function-pointer value has no parameter names, so its arguments bind by position
             --> $DIR/test.sx:8:10
              |
            8 |     r := h(a = 1);
              |          ^^^^^^^^
            error: parameter 'body' is given both by name and by the trailing block
             --> $DIR/test.sx:9:27
              |
            9 |     g(1, body = () => {}) { };
              |                           ^^^
        "#]],
    );
}

#[test]
fn member_intrinsics_refuse_the_other_family() {
    check_diagnostics(
        "#import \"modules/std.sx\";\nP :: struct { x: i64; }\nC :: enum { r; g; }\nmain :: () {\n    a := struct_field_count(C);\n    b := variant_name(P, 0);\n    c := struct_field_count([3]u8);\n    d := variant_count(C) + struct_field_count(P);\n}",
        expect![[r#"
            error: 'struct_field_count' takes a struct, tuple or union type; 'C' is an enum: use 'variant_count'
             --> $DIR/test.sx:5:10
              |
            5 |     a := struct_field_count(C);
              |          ^^^^^^^^^^^^^^^^^^^^^
            error: 'variant_name' takes an enum or tagged-union type, not 'P': use 'struct_field_name'
             --> $DIR/test.sx:6:10
              |
            6 |     b := variant_name(P, 0);
              |          ^^^^^^^^^^^^^^^^^^
            error: 'struct_field_count' takes a struct, tuple or union type; for '[3]u8' use '.len' and indexing
             --> $DIR/test.sx:7:10
              |
            7 |     c := struct_field_count([3]u8);
              |          ^^^^^^^^^^^^^^^^^^^^^^^^^
        "#]],
    );
}

#[test]
fn optionals_of_different_types_do_not_compare() {
    check_diagnostics(
        "main :: () {\n    a : ?i32 = null;\n    b : ?i64 = null;\n    c := a == b;\n}",
        expect![[r#"
        error: cannot compare optionals of different types '?i32' and '?i64'
         --> $DIR/test.sx:4:10
          |
        4 |     c := a == b;
          |          ^^^^^^
    "#]],
    );
}

#[test]
fn two_names_for_a_two_value_failable_drop_its_error() {
    check_diagnostics(
        "E :: error { Bad }\npair :: () -> (i64, i64, !E) { return 1, 2; }\nmain :: () {\n    a, b := pair();\n}",
        expect![[r#"
            error: 'pair' returns 2 values and an error: the error slot cannot be dropped (bind it as a last name and handle it, or use 'try' / 'catch')
             --> $DIR/test.sx:4:13
              |
            4 |     a, b := pair();
              |             ^^^^^^
        "#]],
    );
}

#[test]
fn unbindable_generic_returns_of_methods_are_reported() {
    check_diagnostics(
        "P :: protocol { m :: (self: *Self) -> i64; }\nS :: struct {\n    v: i64;\n    get :: (self: *S) -> $T { 0 }\n}\nimpl P for S {\n    m :: (self: *S) -> i64 { 0 }\n    other :: (self: *S) -> $U { 0 }\n}\nmain :: () {}",
        expect![[r#"
            error: generic return type '$T' cannot be bound: no parameter mentions '$T', so no call site can infer it
             --> $DIR/test.sx:4:27
              |
            4 |     get :: (self: *S) -> $T { 0 }
              |                           ^
            error: generic return type '$U' cannot be bound: no parameter mentions '$U', so no call site can infer it
             --> $DIR/test.sx:8:29
              |
            8 |     other :: (self: *S) -> $U { 0 }
              |                             ^
        "#]],
    );
}

#[test]
fn a_capture_of_a_constrained_pack_sees_only_the_protocol() {
    check_diagnostics(
        "#import \"modules/std.sx\";\nShow :: protocol { show :: (self: *Self) -> i64; }\nBox :: struct { v: i64; }\nimpl Show for Box { show :: (self: *Box) -> i64 { self.v } }\nall :: (..xs: Show) {\n    inline for xs (x) { print(\"{} {}\\n\", x.show(), x.v); }\n}\nmain :: () { all(Box.{ v = 1 }); }",
        expect![[r#"
            error: 'v' is not part of protocol 'Show': 'x' is a pack element, viewed through the pack's constraint
             --> $DIR/test.sx:6:54
              |
            6 |     inline for xs (x) { print("{} {}\n", x.show(), x.v); }
              |                                                      ^
        "#]],
    );
}

#[test]
fn an_impl_method_with_its_own_type_parameters_does_not_erase() {
    check_diagnostics(
        "#import \"modules/std.sx\";\nP :: protocol { m :: (self: *Self) -> i64; }\nS :: struct { v: i64; }\nimpl P for S { m :: (self: *S, $T: Type) -> i64 { self.v } }\nmain :: () {\n    s := S.{ v = 1 };\n    p := s.(P);\n}",
        expect![[r#"
            error: 'S' does not implement protocol 'P': method 'm' has a mismatched signature — it declares compile-time parameters of its own, which a protocol method cannot have
             --> $DIR/test.sx:7:10
              |
            7 |     p := s.(P);
              |          ^^^^^
        "#]],
    );
}

#[test]
fn an_error_directive_in_an_instance_notes_where_it_is() {
    check_diagnostics(
        "only_ints :: (v: $T) {\n    inline if T == {\n        case i64: {}\n        else: { #error(\"only integers\"); }\n    }\n}\nmain :: () { only_ints(1); only_ints(true); }",
        expect![[r#"
            error: only integers
             --> $DIR/test.sx:7:28
              |
            7 | main :: () { only_ints(1); only_ints(true); }
              |                            ^^^^^^^^^^^^^^^

            note: raised by '#error' here
             --> $DIR/test.sx:4:17
              |
            4 |         else: { #error("only integers"); }
              |                 ^^^^^^^^^^^^^^^^^^^^^^^
        "#]],
    );
}
