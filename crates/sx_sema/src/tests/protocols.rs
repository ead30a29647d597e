//! Protocol views, `Self`-typed methods, owned erasure spellings and vector lanes.

use super::{check_diagnostics, check_type};
use expect_test::expect;

const PROTO: &str = "
Shape :: protocol {
    area :: (self: *Self) -> i64;
    same :: (self: *Self, other: Self) -> bool;
    many :: (self: *Self) -> []Self;
    twice :: (self: *Self) -> i64 { self.area() * 2 }
}
Sq :: struct {
    side: i64;
    area :: (self: *Sq) -> i64 { -1 }
}
impl Shape for Sq {
    area :: (self: *Sq) -> i64 { self.side * self.side }
    same :: (self: *Sq, other: Sq) -> bool { self.side == other.side }
    many :: (self: *Sq) -> []Sq { .[] }
}
";

#[test]
fn a_bounded_type_parameter_is_a_type() {
    check_type(
        &format!("{PROTO}\nbigger :: ($T: Type/Shape, a: T) -> i64 {{ a.twice() }}\nprobe :: () => bigger(Sq, Sq.{{ side = 2 }});"),
        expect![["i64"]],
    );
}

#[test]
fn a_default_method_calls_its_impl_before_an_inherent_method() {
    check_type(&format!("{PROTO}\nprobe :: () {{ s := Sq.{{ side = 3 }}; return s.twice(); }}"), expect![["i64"]]);
}

#[test]
fn a_self_typed_result_has_no_erased_slot_either() {
    check_diagnostics(
        &format!("{PROTO}\nmain :: () {{ s := Sq.{{ side = 1 }}; e : Shape = xx s; _ = e.many(); _ = e.area(); }}"),
        expect![[r#"
            error: 'many' is unavailable on an erased 'Shape' value: its signature mentions 'Self' past the receiver, which denotes no type through erasure; call it on a concrete value or through a generic bound ('$T/Shape')
              --> $DIR/test.sx:18:60
               |
            18 | main :: () { s := Sq.{ side = 1 }; e : Shape = xx s; _ = e.many(); _ = e.area(); }
               |                                                            ^^^^
        "#]],
    );
}

#[test]
fn a_view_of_a_call_result_is_refused() {
    check_diagnostics(
        &format!("{PROTO}\nmake :: () -> Sq {{ Sq.{{ side = 1 }} }}\nmain :: () {{ v : *Shape = make(); }}"),
        expect![[r#"
            error: cannot view a temporary 'Sq' as '*Shape': a view borrows storage and a temporary has none — bind it to a name first, or erase an owned copy with '.(Shape)'
              --> $DIR/test.sx:19:27
               |
            19 | main :: () { v : *Shape = make(); }
               |                           ^^^^^^
        "#]],
    );
}

#[test]
fn an_impl_without_the_method_anywhere_is_reported() {
    check_diagnostics(
        "P :: protocol { get :: (self: *Self) -> i64; }\nB :: struct { n: i64; }\nimpl P for B {}\nmain :: () { b := B.{ n = 1 }; p : P = xx b; }",
        expect![[r#"
            error: 'impl P for B' is missing method 'get'
             --> $DIR/test.sx:3:1
              |
            3 | impl P for B {}
              | ^^^^^^^^^^^^^^^
            error: 'B' does not implement protocol 'P': method 'get' is missing
             --> $DIR/test.sx:4:40
              |
            4 | main :: () { b := B.{ n = 1 }; p : P = xx b; }
              |                                        ^^^^
        "#]],
    );
}

#[test]
fn a_vector_lane_is_a_place_of_the_element_type() {
    check_type("probe :: () { v : Vector(4, f32) = ---; v.w = 2.0; v.x += v.w; return v.x; }", expect![["f32"]]);
}

#[test]
fn a_local_lambda_is_a_closure() {
    check_type("probe :: () { f := (x: i64) -> i64 { x + 1 }; return f; }", expect![["Closure(i64) -> i64"]]);
}
