//! Layout-struct enums (`enum struct { tag: …; payload: […]…; } { … }`): what the layout
//! struct must provide.

use super::*;
use expect_test::expect;

#[test]
fn layout_needs_an_integer_tag_first() {
    check_diagnostics(
        "A :: enum struct { kind: u32; payload: [2]u32; } { x; }\n\
         B :: enum struct { tag: f32; payload: [2]u32; } { x; }\n\
         C :: enum struct { pad: u32; tag: u32; payload: [2]u32; } { x; }\n\
         main :: () { a : A = .x; b : B = .x; c : C = .x; }",
        expect![[r#"
            error: an enum layout struct needs an integer field 'tag' (the discriminant)
             --> $DIR/test.sx:1:11
              |
            1 | A :: enum struct { kind: u32; payload: [2]u32; } { x; }
              |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
            error: the 'tag' of an enum layout struct must be an integer, not 'f32'
             --> $DIR/test.sx:2:11
              |
            2 | B :: enum struct { tag: f32; payload: [2]u32; } { x; }
              |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
            error: not supported yet: an enum layout struct whose 'tag' is not its first field
             --> $DIR/test.sx:3:11
              |
            3 | C :: enum struct { pad: u32; tag: u32; payload: [2]u32; } { x; }
              |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        "#]],
    );
}

#[test]
fn payloads_must_fit_the_payload_field() {
    check_diagnostics(
        "Big :: struct { a: i64; b: i64; c: i64; }\n\
         E :: enum struct { tag: u32; payload: [4]u32; } { ok: i64; big: Big; }\n\
         F :: enum struct { tag: u16; payload: [3]u16; } { wide: i64; }\n\
         G :: enum struct { tag: u32; rest: u32; } { some: i32; }\n\
         main :: () { e : E = .ok(1); f : F = .wide(2); g : G = .some(3); }",
        expect![[r#"
            error: the payload of variant 'ok' ('i64', 8 bytes, aligned to 8) does not fit the layout's 'payload' (16 bytes at offset 4)
             --> $DIR/test.sx:2:55
              |
            2 | E :: enum struct { tag: u32; payload: [4]u32; } { ok: i64; big: Big; }
              |                                                       ^^^
            error: the payload of variant 'big' ('Big', 24 bytes, aligned to 8) does not fit the layout's 'payload' (16 bytes at offset 4)
             --> $DIR/test.sx:2:65
              |
            2 | E :: enum struct { tag: u32; payload: [4]u32; } { ok: i64; big: Big; }
              |                                                                 ^^^
            error: the payload of variant 'wide' ('i64', 8 bytes, aligned to 8) does not fit the layout's 'payload' (6 bytes at offset 2)
             --> $DIR/test.sx:3:57
              |
            3 | F :: enum struct { tag: u16; payload: [3]u16; } { wide: i64; }
              |                                                         ^^^
            error: variant 'some' has a payload, but the enum's layout struct has no field 'payload'
             --> $DIR/test.sx:4:51
              |
            4 | G :: enum struct { tag: u32; rest: u32; } { some: i32; }
              |                                                   ^^^
        "#]],
    );
}

#[test]
fn a_layout_enum_is_the_struct_in_size_and_alignment() {
    check_type(
        "L :: struct { tag: u8; payload: [3]u8; rest: u64; }\n\
         E :: enum L { a; b: [2]u8; }\n\
         probe :: () { x : [size_of(E) * 100 + align_of(E)]u8 = ---; return x; }",
        expect!["[1608]u8"],
    );
}
