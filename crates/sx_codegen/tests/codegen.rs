//! End-to-end tests: IR, written as text IR (`sx_ir::parse`), through the JIT and through
//! object emission + `cc`.

use sx_codegen::{emit_object, jit_run, link_executable};
use sx_ir::builder::FunctionBuilder;
use sx_ir::*;

/// Parses a fixture and retargets it to the host (fixtures leave out the `target` line).
fn module(text: &str) -> Module {
    let mut m = sx_ir::parse(text).unwrap_or_else(|e| panic!("fixture does not parse: {}", e));
    m.target = Target::host();
    m
}

/// Runs `m` natively: AOT (stdout, status) and JIT status must agree.
fn run_aot(m: &Module) -> (String, i32) {
    let obj = emit_object(m).unwrap_or_else(|e| panic!("emit_object: {}", e));
    let dir = std::env::temp_dir().join(format!("sx_codegen_test_{}_{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("prog");
    link_executable(&obj, &exe, &[]).unwrap_or_else(|e| panic!("link: {}", e));
    let out = std::process::Command::new(&exe).output().expect("run executable");
    let _ = std::fs::remove_dir_all(&dir);
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().expect("exited normally"))
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The JIT's status and the executable's stdout and status must be as given.
fn check(m: &Module, stdout: &str, status: i32) {
    let jit = jit_run(m).unwrap_or_else(|e| panic!("jit_run: {}", e));
    assert_eq!(jit, status, "JIT exit status");
    let (out, code) = run_aot(m);
    assert_eq!(out, stdout, "AOT stdout");
    assert_eq!(code, status, "AOT exit status");
}

#[test]
fn returns_42() {
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = iconst.i32 42
    return v0
}
",
    );
    assert_eq!(jit_run(&m).unwrap(), 42);
    check(&m, "", 42);
}

/// fib(20) % 256 from a recursive `fib` (shared with sx_vm's tests).
const FIB: &str = include_str!("../../sx_ir/tests/fixtures/fib.sxir");

#[test]
fn recursive_fib() {
    // fib(20) = 6765; 6765 % 256 = 109
    check(&module(FIB), "", 109);
}

/// Every atomic instruction at every width (shared with sx_vm's tests): 0, or the number of the
/// first check that failed.
const ATOMICS: &str = include_str!("../../sx_ir/tests/fixtures/atomics.sxir");

#[test]
fn atomic_instructions() {
    check(&module(ATOMICS), "", 0);
}

/// The builder and the text describe the same module: building `FIB`'s `fib` by hand prints
/// the fixture's text.
#[test]
fn builder_matches_the_text_fixture() {
    let sig = Signature { params: vec![Type::I64], returns: vec![Type::I64] };
    let mut m = Module::new(Target::host());
    let fib = m.funcs.next_key();
    let mut f = Function::new("fib", sig);
    {
        let mut b = FunctionBuilder::new(&mut f);
        let entry = b.create_block();
        let n = b.append_block_param(entry, Type::I64);
        b.switch_to_block(entry);
        let two = b.iconst(Type::I64, 2);
        let small = b.icmp(IntCC::Slt, n, two);
        let (base, rec) = (b.create_block(), b.create_block());
        b.branch(small, base, vec![], rec, vec![]);
        b.switch_to_block(base);
        b.ret(vec![n]);
        b.switch_to_block(rec);
        let one = b.iconst(Type::I64, 1);
        let n1 = b.binary(BinOp::Isub, n, one);
        let n2 = b.binary(BinOp::Isub, n, two);
        let a = b.call(fib, vec![n1], &[Type::I64])[0];
        let c = b.call(fib, vec![n2], &[Type::I64])[0];
        let s = b.binary(BinOp::Iadd, a, c);
        b.ret(vec![s]);
    }
    m.funcs.push(f);
    let text = module(FIB);
    let mut want = String::new();
    sx_ir::print::print_function(&text, &text.funcs[fib], &mut want);
    let mut got = String::new();
    sx_ir::print::print_function(&m, &m.funcs[fib], &mut got);
    assert_eq!(got, want);
}

#[test]
fn loop_sum() {
    // sum of 1..=10 = 55, with the loop header also the target of a back edge.
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = iconst.i32 0
    v1 = iconst.i32 1
    jump block1(v1, v0)
block1(v2: i32, v3: i32):
    v4 = iconst.i32 10
    v5 = icmp sle v2, v4
    brif v5, block2(), block3(v3)
block2():
    v6 = iadd v3, v2
    v7 = iconst.i32 1
    v8 = iadd v2, v7
    jump block1(v8, v6)
block3(v9: i32):
    return v9
}
",
    );
    check(&m, "", 55);
}

#[test]
fn i8_wraps_and_shifts_mask() {
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = iconst.i8 200
    v1 = iconst.i8 100
    v2 = iadd v0, v1            ; 300 mod 256 = 44
    v3 = uext.i32 v2
    v4 = iconst.i32 1
    v5 = iconst.i32 33
    v6 = shl v4, v5             ; 1 << 33 on i32 is 1 << 1 = 2 (amount modulo the width)
    v7 = iadd v3, v6            ; 46
    v8 = iconst.i8 -1
    v9 = sext.i32 v8            ; -1 sign-extended stays -1
    v10 = iconst.i32 47
    v11 = iadd v9, v10          ; 46
    v12 = icmp eq v11, v7
    v13 = uext.i32 v12
    v14 = iadd v7, v13          ; 47
    return v14
}
",
    );
    check(&m, "", 47);
}

#[test]
fn f64_arithmetic_and_saturating_conversion() {
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = fconst.f64 2.5
    v1 = fconst.f64 4.0
    v2 = fmul v0, v1            ; 10.0
    v3 = fconst.f64 0.75
    v4 = fadd v2, v3            ; 10.75
    v5 = ftos.i32 v4            ; 10
    v6 = fconst.f64 0.0
    v7 = fdiv v6, v6            ; NaN
    v8 = ftos.i32 v7            ; 0: saturating, no trap
    v9 = fconst.f64 1e10
    v10 = ftos.i8 v9            ; saturates at 127
    v11 = sext.i32 v10
    v12 = fconst.f64 -3.0
    v13 = ftou.i8 v12           ; 0
    v14 = uext.i32 v13
    v15 = fcmp ne v7, v7        ; 1 (unordered)
    v16 = fcmp eq v7, v7        ; 0
    v17 = uext.i32 v15
    v18 = uext.i32 v16
    v19 = iconst.i64 3
    v20 = stof.f32 v19
    v21 = fconst.f32 2.0
    v22 = fmul v20, v21         ; (float)3 * 2
    v23 = fpromote.f64 v22
    v24 = ftos.i32 v23          ; 6
    v25 = iadd v5, v8
    v26 = iadd v25, v11
    v27 = iadd v26, v14
    v28 = iadd v27, v17
    v29 = iadd v28, v18
    v30 = iadd v29, v24
    return v30                  ; 10 + 0 + 127 + 0 + 1 + 0 + 6 = 144
}
",
    );
    check(&m, "", 144);
}

#[test]
fn stack_slot_struct() {
    // struct { i8 tag; i32 x; i64 y; } at offsets 0, 4, 8.
    let m = module(
        "entry main
function main () -> (i32) export {
    ss0 = slot 16, align 8
block0():
    v0 = stack_addr ss0
    v1 = iconst.i8 3
    v2 = iconst.i32 1000
    v3 = iconst.i64 -7
    store v0+0, v1
    store v0+4, v2
    store v0+8, v3
    v4 = load.i8 v0+0
    v5 = load.i32 v0+4
    v6 = load.i64 v0+8
    v7 = uext.i32 v4
    v8 = trunc.i32 v6
    v9 = iadd v7, v5
    v10 = iadd v9, v8           ; 996
    v11 = iconst.i32 256
    v12 = srem v10, v11         ; 228
    return v12
}
",
    );
    check(&m, "", 228);
}

#[test]
fn data_string_written_with_write() {
    let m = module(
        r#"entry main
extern0 = extern "write" (i32, i64, i64) -> (i64)
data0 = const "str.hi" size 3 align 1 "hi\n"

function main () -> (i32) export {
block0():
    v0 = iconst.i32 1
    v1 = data_addr data0
    v2 = iconst.i64 3
    v3 = call_extern write(v0, v1, v2)
    v4 = trunc.i32 v3
    return v4
}
"#,
    );
    check(&m, "hi\n", 3);
}

#[test]
fn data_relocation_to_data_and_writable_global() {
    // data1 is a constant {ptr = &data0 + 1, len = 6}: a read-only object with a relocation.
    // data2 is a writable global counter with the same name as data0 (must be deduplicated).
    let m = module(
        r#"entry main
extern0 = extern "write" (i32, i64, i64) -> (i64)
data0 = const "str" size 7 align 1 "xhello\n"
data1 = const "slice" size 16 align 8 [0000000000000000 06] reloc@0=data0+1
data2 = global "str" size 4 align 4 [05]

function main () -> (i32) export {
block0():
    v0 = data_addr data1
    v1 = load.i64 v0+0
    v2 = load.i64 v0+8
    v3 = iconst.i32 1
    v4 = call_extern write(v3, v1, v2)
    v5 = data_addr data2
    v6 = load.i32 v5+0
    v7 = iconst.i32 10
    v8 = imul v6, v7
    store v5+0, v8
    v9 = load.i32 v5+0
    return v9
}
"#,
    );
    check(&m, "hello\n", 50);
}

#[test]
fn call_indirect_through_func_addr_and_function_table() {
    // data0 is a table of function pointers in static data.
    let m = module(
        r#"entry main
data0 = const "vtable" size 8 align 8 [] reloc@0=mul+0

function add (i32, i32) -> (i32) {
block0(v0: i32, v1: i32):
    v2 = iadd v0, v1
    return v2
}

function mul (i32, i32) -> (i32) {
block0(v0: i32, v1: i32):
    v2 = imul v0, v1
    return v2
}

function main () -> (i32) export {
block0():
    v0 = func_addr add
    v1 = iconst.i32 5
    v2 = iconst.i32 6
    v3 = call_indirect (i32, i32) -> (i32) v0(v1, v2)     ; 11
    v4 = data_addr data0
    v5 = load.i64 v4+0
    v6 = call_indirect (i32, i32) -> (i32) v5(v3, v2)     ; 66
    return v6
}
"#,
    );
    check(&m, "", 66);
}

#[test]
fn memcopy_and_memfill() {
    let m = module(
        r#"entry main
extern0 = extern "write" (i32, i64, i64) -> (i64)
data0 = const "src" size 6 align 1 "abcdef"

function main () -> (i32) export {
    ss0 = slot 16, align 1
block0():
    v0 = stack_addr ss0
    v1 = iconst.i32 378         ; 0x100 + 'z': only the low byte counts
    v2 = iconst.i64 8
    memfill v0, v1, v2          ; zzzzzzzz
    v3 = data_addr data0
    v4 = iconst.i64 3
    v5 = iconst.i64 1
    v6 = iadd v0, v5
    memcopy v6, v3, v4          ; zabczzzz
    v7 = iconst.i64 2
    v8 = iadd v0, v7
    v9 = iconst.i64 4
    memcopy v8, v0, v9          ; overlapping: bytes 0..4 move right by 2: zazabczz
    v10 = iconst.i8 10
    store v0+8, v10
    v11 = iconst.i32 1
    v12 = iconst.i64 9
    v13 = call_extern write(v11, v0, v12)
    v14 = iconst.i32 7
    return v14
}
"#,
    );
    check(&m, "zazabczz\n", 7);
}

#[test]
fn select_multi_return_and_bodyless_functions() {
    // `ghost` is declared but not defined and never called: it must not be compiled.
    let m = module(
        "entry main

function ghost () -> (i32)

function pair (i64) -> (i64, i32) {
block0(v0: i64):
    v1 = iconst.i64 3
    v2 = imul v0, v1
    v3 = iconst.i32 4
    return v2, v3
}

function main () -> (i32) export {
block0():
    v0 = iconst.i64 2
    v1, v2 = call pair(v0)
    v3 = trunc.i32 v1
    v4 = icmp ugt v3, v2
    v5 = select v4, v3, v2      ; max(6, 4) = 6
    v6 = iconst.i8 0
    brif v6, block1(), block2() ; `ghost` is only referenced on a path never taken
block1():
    v7 = call ghost()
    return v7
block2():
    return v5
}
",
    );
    check(&m, "", 6);
}

#[test]
fn exit_through_libc() {
    // Never returns in the AOT run; only checked there (exit in the JIT would end the test).
    let m = module(
        r#"entry main
extern0 = extern "exit" (i32) -> ()

function main () -> (i32) export {
block0():
    v0 = iconst.i32 9
    call_extern exit(v0)
    trap unreachable
}
"#,
    );
    let (out, code) = run_aot(&m);
    assert_eq!((out.as_str(), code), ("", 9));
}

#[test]
fn sqrt_from_libm() {
    let m = module(
        r#"entry main
extern0 = extern "sqrt" (f64) -> (f64)

function main () -> (i32) export {
block0():
    v0 = fconst.f64 1764.0
    v1 = call_extern sqrt(v0)
    v2 = ftos.i32 v1
    return v2
}
"#,
    );
    check(&m, "", 42);
}

#[test]
fn aarch64_object_emits() {
    let mut m = module(FIB);
    m.target = Target::Aarch64Linux;
    let obj = emit_object(&m).expect("aarch64 object");
    assert_eq!(&obj[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 183, "EM_AARCH64");
    // And x86_64 from any host.
    m.target = Target::X86_64Linux;
    let obj = emit_object(&m).expect("x86_64 object");
    assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 62, "EM_X86_64");
}

#[test]
fn invalid_ir_is_an_error_not_a_panic() {
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = iconst.i64 1           ; wrong return type
    return v0
}
",
    );
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("invalid IR"), "{}", e);
    assert!(emit_object(&m).is_err());
}

#[test]
fn unresolvable_extern_is_an_error() {
    let m = module(
        r#"entry main
extern0 = extern "sx_definitely_not_a_symbol" () -> ()

function main () -> (i32) export {
block0():
    call_extern sx_definitely_not_a_symbol()
    v0 = iconst.i32 0
    return v0
}
"#,
    );
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("sx_definitely_not_a_symbol"), "{}", e);
}

#[test]
fn non_dominating_use_is_an_error() {
    // v2 is defined in one arm only: Cranelift must not see the use, and we must not panic.
    let m = module(
        "entry main
function main () -> (i32) export {
block0():
    v0 = iconst.i8 1
    brif v0, block1(), block2()
block1():
    v2 = iconst.i32 5
    jump block3()
block2():
    jump block3()
block3():
    return v2
}
",
    );
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("verifier") || e.message.contains("dominate"), "{}", e);
}
