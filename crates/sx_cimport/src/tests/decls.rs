//! Snapshots of tricky C declarations.

use super::check;
use expect_test::expect;

#[test]
fn nested_anonymous_records() {
    check(
        r#"struct outer {
    int kind;
    union { int i; float f; struct { short lo, hi; } parts; };
    struct { char tag; union { long l; double d; } v; } named;
};
typedef struct { struct { int x, y; } a; } wrapped_t;"#,
        expect![[r#"
            struct_outer :: struct {
                kind: i32;
                union { i: i32; f: f32; parts: struct { lo: i16; hi: i16; }; };
                named: struct { tag: u8; v: union { l: i64; d: f64; }; };
            }
            wrapped_t :: struct {
                a: struct { x: i32; y: i32; };
            }
        "#]],
    );
}

#[test]
fn arrays_of_function_pointers() {
    check(
        r#"typedef int (*handler_t)(int code, void *ctx);
struct table {
    handler_t handlers[4];
    void (*hooks[2])(const char *msg);
    int (*(*factory)(void))(int);
};
void (*signal(int sig, void (*func)(int)))(int);
typedef void fn_type(int);
fn_type *get_fn(void);
void set_fn(fn_type f);"#,
        expect![[r#"
            handler_t :: (i32, *void) -> i32 abi(.c);
            struct_table :: struct {
                handlers: [4]handler_t;
                hooks: [2]([*]u8) -> void abi(.c);
                factory: () -> fnptr_ef170f3f abi(.c);
            }
            signal :: (sig: i32, func: (i32) -> void abi(.c)) -> fnptr_a40bfd99 extern;
            fn_type :: (i32) -> void abi(.c);
            get_fn :: () -> fn_type extern;
            set_fn :: (f: fn_type) extern;

            // Function-pointer types used inside other types.
            fnptr_a40bfd99 :: (i32) -> void abi(.c);
            fnptr_ef170f3f :: (i32) -> i32 abi(.c);
        "#]],
    );
}

#[test]
fn enums() {
    check(
        r#"enum color { COLOR_RED, COLOR_GREEN = 5, COLOR_BLUE };
enum sign { NEG = -2, NEG_NEXT, POS = 7 };
enum big { BIG = 0x100000000, BIGGER };
enum high { HIGH = 0x80000000u };
typedef enum { MODE_A = 1 << 3, MODE_B = MODE_A | 1, MODE_C = sizeof(long) } mode_t2;
enum color paint(enum color c, mode_t2 m);"#,
        expect![[r#"
            enum_color :: u32;
            COLOR_RED : u32 : 0;
            COLOR_GREEN : u32 : 5;
            COLOR_BLUE : u32 : 6;
            enum_sign :: i32;
            NEG : i32 : -2;
            NEG_NEXT : i32 : -1;
            POS : i32 : 7;
            enum_big :: u64;
            BIG : u64 : 4294967296;
            BIGGER : u64 : 4294967297;
            enum_high :: u32;
            HIGH : u32 : 2147483648;
            mode_t2 :: u32;
            MODE_A : u32 : 8;
            MODE_B : u32 : 9;
            MODE_C : u32 : 8;
            paint :: (c: enum_color, m: mode_t2) -> enum_color extern;
        "#]],
    );
}

#[test]
fn macro_constants() {
    check(
        r#"#define MAX_NODES 64
#define LOAD_FACTOR 0.75
#define HALF 0.5f
#define LIB_NAME "x" "y\n"
#define SHIFTED (1u << 31)
#define NEG (-(MAX_NODES * 2))
#define MASK (~0UL)
#define CAST ((unsigned char)300)
#define SIGNED_CHAR ((signed char)0xff)
#define COND (MAX_NODES > 10 ? 1 : 2)
#define CHAR_A 'A'
#define SIZE_INT sizeof(int)
#define HEX_FLOAT 0x1.8p1
#define BIG_DOUBLE 1e300
#define LONG_DOUBLE 1.5L
#define PTR ((void *)0)
#define CALL f(1)
#define FN(x) ((x) + 1)
#define EMPTY
#define ALIAS puts
#define SELF SELF
#define DIV_ZERO (1 / 0)
int puts(const char *s);"#,
        expect![[r#"
            MAX_NODES :: 64;
            LOAD_FACTOR : f64 : 0.75;
            HALF : f32 : 0.5;
            LIB_NAME :: "xy\n";
            SHIFTED :: 2147483648;
            NEG :: -128;
            MASK : u64 : 18446744073709551615;
            CAST :: 44;
            SIGNED_CHAR :: -1;
            COND :: 1;
            CHAR_A :: 65;
            SIZE_INT :: 4;
            HEX_FLOAT : f64 : 3.0;
            BIG_DOUBLE : f64 : 6724873095247260.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 1267650600228229401496703205376.0 * 17592186044416.0;
            ALIAS :: puts;
            puts :: (s: [*]u8) -> i32 extern;
            -- skipped
            LONG_DOUBLE: a `long double` constant
            PTR: macro `((void *)0)` is not a constant (a pointer value)
            CALL: macro `f(1)` is not a constant (calls `f`)
            FN: a function-like macro
            SELF: macro `SELF` is not a constant (refers to `SELF`, which is not a constant)
            DIV_ZERO: macro `(1 / 0)` is not a constant (division by zero)
        "#]],
    );
}

#[test]
fn pointers_and_qualifiers() {
    check(
        r#"typedef char *string_t;
typedef const unsigned char *bytes_t;
typedef unsigned char byte;
int f(const char *s, char **argv, const char *const *names, signed char *sc, byte *bp,
      const void *p, void **pp, const int *ip, int *const *ipp, volatile long *vl, char (*buf)[16]);
string_t g(bytes_t b);"#,
        expect![[r#"
            string_t :: [*]u8;
            bytes_t :: [*]u8;
            byte :: u8;
            f :: (s: [*]u8, argv: *[*]u8, names: *[*]u8, sc: [*]u8, bp: [*]u8, p: *void, pp: **void, ip: *i32, ipp: **i32, vl: *i64, buf: *[16]u8) -> i32 extern;
            g :: (b: bytes_t) -> string_t extern;
        "#]],
    );
}

#[test]
fn forward_declared_structs() {
    check(
        r#"struct node;
typedef struct node node_t;
struct list { struct node *head; node_t *tail; struct later *later; };
struct node { int value; struct node *next; };
typedef struct opaque_s opaque_t;
opaque_t *open_it(void);
void by_value(struct node n);"#,
        expect![[r#"
            struct_node :: struct {
                value: i32;
                next: *struct_node;
            }
            node_t :: struct_node;
            struct_list :: struct {
                head: *struct_node;
                tail: *node_t;
                later: *struct_later;
            }
            struct_later :: struct {} // opaque
            opaque_t :: struct_opaque_s;
            struct_opaque_s :: struct {} // opaque
            open_it :: () -> *opaque_t extern;
            by_value :: (n: struct_node) extern;
        "#]],
    );
}

#[test]
fn typedef_chains() {
    check(
        r#"typedef unsigned long __my_size;
typedef __my_size my_size_t;
typedef my_size_t size2_t;
typedef size2_t *size_ptr;
typedef struct point { int x, y; } point_t, *point_ptr;
typedef point_t point2;
size2_t measure(point2 p, size_ptr out);"#,
        expect![[r#"
            my_size_t :: u64;
            size2_t :: my_size_t;
            size_ptr :: *size2_t;
            point_t :: struct_point;
            struct_point :: struct {
                x: i32;
                y: i32;
            }
            point_ptr :: *struct_point;
            point2 :: point_t;
            measure :: (p: point2, out: size_ptr) -> size2_t extern;
        "#]],
    );
}

#[test]
fn reserved_names() {
    check(
        r#"int i2(int u8);
int pick(int in, int type, int context, int then, int string);
struct holder { int defer; int then; int inline_; };
typedef int f32;
f32 get(void);
extern int error;
enum { push = 1, defer = 2 };"#,
        expect![[r#"
            `i2 :: (`u8: i32) -> i32 extern;
            pick :: (`in: i32, type: i32, `context: i32, `then: i32, `string: i32) -> i32 extern;
            struct_holder :: struct {
                defer: i32;
                then: i32;
                inline_: i32;
            }
            `f32 :: i32;
            get :: () -> `f32 extern;
            `error : i32 extern;
            `push : u32 : 1;
            `defer : u32 : 2;
        "#]],
    );
}

#[test]
fn unreproducible_layouts() {
    check(
        r#"struct flags { unsigned a : 1; unsigned b : 3; int c; };
struct packed { char c; int i; } __attribute__((packed));
struct aligned_ok { int i __attribute__((aligned(4))); };
struct over_aligned { int i __attribute__((aligned(16))); };
struct holds_flags { struct flags f; };
struct points_to_flags { struct flags *f; };
typedef int wide_int __attribute__((aligned(16)));
long double ld(long double x);
_Complex double cd(void);
__int128 big(void);
unsigned __int128 ubig(void);
struct flex { int n; double data[]; };"#,
        expect![[r#"
            struct_flags :: struct {} // opaque
            struct_packed :: struct {} // opaque
            struct_aligned_ok :: struct {
                i: i32;
            }
            struct_over_aligned :: struct {} // opaque
            struct_holds_flags :: struct {} // opaque
            struct_points_to_flags :: struct {
                f: *struct_flags;
            }
            struct_flex :: struct {
                n: i32;
                data: [0]f64;
            }
            -- skipped
            struct_flags: layout not reproducible in sx (bit-field `a`); declared opaque (usable only behind pointers)
            struct_packed: layout not reproducible in sx (a packed struct or union); declared opaque (usable only behind pointers)
            struct_over_aligned: layout not reproducible in sx (field `i` has an alignment attribute); declared opaque (usable only behind pointers)
            struct_holds_flags: field `f`: `struct_flags`: layout not reproducible in sx (bit-field `a`); declared opaque (usable only behind pointers)
            wide_int: a typedef with an alignment attribute
            ld: parameter `x`: `long double`
            cd: the result: a `_Complex` type
            big: the result: a 128-bit integer
            ubig: the result: a 128-bit integer
        "#]],
    );
}

#[test]
fn functions_and_variables() {
    check(
        r#"int printf(const char *fmt, ...);
int vprintf(const char *fmt, __builtin_va_list ap);
int fscanf(void *s, const char *fmt, ...) __asm__("" "__isoc99_fscanf");
void exit(int status) __attribute__((__noreturn__));
_Noreturn void abort(void);
int noproto();
static int hidden(void);
static inline int inlined(void) { return 1; }
extern inline int gnu_inline(void) { return 2; }
extern char **environ;
extern const char version[];
extern _Thread_local int tls;
int __internal(void);
int args(int args, ...);"#,
        expect![[r#"
            printf :: (fmt: [*]u8, ..args: []any) -> i32 extern;
            fscanf :: (s: *void, fmt: [*]u8, ..args: []any) -> i32 extern "__isoc99_fscanf";
            exit :: (status: i32) extern noreturn;
            abort :: () extern noreturn;
            noproto :: () -> i32 extern;
            gnu_inline :: () -> i32 extern;
            environ : *[*]u8 extern;
            version : [0]u8 extern;
            args :: (args: i32, ..args_: []any) -> i32 extern;
            -- skipped
            vprintf: parameter `ap`: C `va_list`
            hidden: a static function (no linkable symbol)
            inlined: a static inline function (no linkable symbol)
            tls: a thread-local variable
        "#]],
    );
}

#[test]
fn parse_recovery() {
    check(
        r#"struct good { int a; };
struct bad { _Alignas(16) int q; };
int after(struct good g);"#,
        expect![[r#"
            struct_good :: struct {
                a: i32;
            }
            after :: (g: struct_good) -> i32 extern;
            -- skipped
            <C declaration at line 2>: the C parser (lang-c) cannot read it: unexpected input, expected one of <typedef_name> }
        "#]],
    );
}
