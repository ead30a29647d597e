//! End-to-end tests of the comptime VM on IR written as text (`sx_ir::parse`) or built with
//! the builder (tests that attach source spans or build malformed IR).

use sx_diag::{FileId, Span};
use sx_ir::builder::FunctionBuilder;
use sx_ir::entity::EntityRef;
use sx_ir::*;
use sx_vm::*;

fn sp(lo: u32) -> Option<Span> {
    Some(Span::new(FileId(0), lo, lo + 1))
}

fn module() -> Module {
    Module::new(Target::X86_64Linux)
}

/// Parses a text IR fixture.
fn parse(text: &str) -> Module {
    sx_ir::parse(text).unwrap_or_else(|e| panic!("fixture does not parse: {}", e))
}

/// The function of `m` named `name`.
fn func(m: &Module, name: &str) -> FuncId {
    m.funcs.iter().find(|(_, f)| f.name == name).map(|(id, _)| id).unwrap_or_else(|| panic!("no function `{}`", name))
}

/// Gives instruction number `inst` (as numbered in the text) of `f` the span [`sp`]`(lo)`:
/// spans are not part of text IR.
fn set_span(m: &mut Module, f: FuncId, inst: usize, lo: u32) {
    m.funcs[f].insts[Inst::new(inst)].span = sp(lo);
}

/// Defines a function; `build` gets the builder, the function's own id and the entry params.
fn def(m: &mut Module, name: &str, params: &[Type], rets: &[Type], build: impl FnOnce(&mut FunctionBuilder, FuncId, &[Value])) -> FuncId {
    let id = m.funcs.next_key();
    let mut f = Function::new(name, Signature { params: params.to_vec(), returns: rets.to_vec() });
    {
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let ps: Vec<Value> = params.iter().map(|&t| b.append_block_param(e, t)).collect();
        b.switch_to_block(e);
        build(&mut b, id, &ps);
    }
    m.funcs.push(f);
    id
}

fn vm() -> Vm {
    Vm::new(VmLimits::default(), Box::new(CaptureHost::new()))
}

fn ret1(vm: &mut Vm, m: &Module, f: FuncId, args: &[u64]) -> u64 {
    match vm.call(m, f, args) {
        Ok(Outcome::Returned(v)) => {
            assert_eq!(v.len(), 1, "{:?}", v);
            v[0]
        }
        other => panic!("unexpected {:?}", other),
    }
}

fn err(vm: &mut Vm, m: &Module, f: FuncId, args: &[u64]) -> VmError {
    match vm.call(m, f, args) {
        Err(e) => e,
        other => panic!("expected an error, got {:?}", other),
    }
}

/// The recursive `fib` of the fixture shared with sx_codegen's tests.
fn fib_module() -> (Module, FuncId) {
    let m = parse(include_str!("../../sx_ir/tests/fixtures/fib.sxir"));
    assert!(verify::verify_module(&m).is_empty(), "{:?}", verify::verify_module(&m));
    let fib = func(&m, "fib");
    (m, fib)
}

/// Every atomic instruction at every width (the fixture shared with sx_codegen's tests, whose
/// `main` returns 0 or the number of the first check that failed).
#[test]
fn atomic_instructions_match_the_native_results() {
    let m = parse(include_str!("../../sx_ir/tests/fixtures/atomics.sxir"));
    assert!(verify::verify_module(&m).is_empty(), "{:?}", verify::verify_module(&m));
    let main = func(&m, "main");
    assert_eq!(ret1(&mut vm(), &m, main, &[]), 0);
}

#[test]
fn recursive_fib() {
    let (m, fib) = fib_module();
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, fib, &[25]), 75025);
    assert_eq!(ret1(&mut vm, &m, fib, &[1]), 1);
    assert_eq!(vm.eval_count(), 2);
    assert_eq!(vm.live_bytes(), 0);
}

#[test]
#[ignore]
fn bench_fib30() {
    let (m, fib) = fib_module();
    let mut vm = vm();
    let t = std::time::Instant::now();
    assert_eq!(ret1(&mut vm, &m, fib, &[30]), 832040);
    println!("fib(30) on the VM: {:?}", t.elapsed());
}

#[test]
fn loop_sum() {
    let m = parse(
        "function sum (i64) -> (i64) {
block0(v0: i64):
    v1 = iconst.i64 1
    v2 = iconst.i64 0
    jump block1(v1, v2)
block1(v3: i64, v4: i64):
    v5 = iadd v4, v3
    v6 = iconst.i64 1
    v7 = iadd v3, v6
    v8 = icmp sgt v7, v0
    brif v8, block2(), block1(v7, v5)
block2():
    return v5
}
",
    );
    assert!(verify::verify_module(&m).is_empty());
    let f = func(&m, "sum");
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[1_000_000]), 500_000_500_000);
}

#[test]
fn iterative_fib_with_swapped_block_params() {
    // loop(a, b, n): if n == 0 return a; else loop(b, a + b, n - 1)
    let mut m = module();
    let f = def(&mut m, "fib_iter", &[Type::I64], &[Type::I64], |b, _, p| {
        let head = b.create_block();
        let a = b.append_block_param(head, Type::I64);
        let bb = b.append_block_param(head, Type::I64);
        let n = b.append_block_param(head, Type::I64);
        let exit = b.create_block();
        let z = b.iconst(Type::I64, 0);
        let o = b.iconst(Type::I64, 1);
        b.jump(head, vec![z, o, p[0]]);
        b.switch_to_block(head);
        let s = b.binary(BinOp::Iadd, a, bb);
        let one = b.iconst(Type::I64, 1);
        let n1 = b.binary(BinOp::Isub, n, one);
        let zero = b.iconst(Type::I64, 0);
        let done = b.icmp(IntCC::Eq, n, zero);
        b.branch(done, exit, vec![], head, vec![bb, s, n1]);
        b.switch_to_block(exit);
        b.ret(vec![a]);
    });
    // A pure swap (a, b) -> (b, a), repeated n times.
    let g = def(&mut m, "swap", &[Type::I64, Type::I64, Type::I64], &[Type::I64], |b, _, p| {
        let head = b.create_block();
        let x = b.append_block_param(head, Type::I64);
        let y = b.append_block_param(head, Type::I64);
        let n = b.append_block_param(head, Type::I64);
        let exit = b.create_block();
        b.jump(head, vec![p[0], p[1], p[2]]);
        b.switch_to_block(head);
        let one = b.iconst(Type::I64, 1);
        let n1 = b.binary(BinOp::Isub, n, one);
        let done = b.icmp(IntCC::Eq, n, one);
        b.branch(done, exit, vec![], head, vec![y, x, n1]);
        b.switch_to_block(exit);
        let ten = b.iconst(Type::I64, 10);
        let x10 = b.binary(BinOp::Imul, x, ten);
        let r = b.binary(BinOp::Iadd, x10, y);
        b.ret(vec![r]);
    });
    assert!(verify::verify_module(&m).is_empty());
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[50]), 12_586_269_025);
    assert_eq!(ret1(&mut vm, &m, g, &[1, 2, 1]), 12);
    assert_eq!(ret1(&mut vm, &m, g, &[1, 2, 2]), 21);
    assert_eq!(ret1(&mut vm, &m, g, &[1, 2, 7]), 12);
}

/// Builds `f(x: ty, y: ty) -> ty = op(x, y)`.
fn binop_fn(m: &mut Module, ty: Type, op: BinOp) -> FuncId {
    def(m, &format!("{:?}_{:?}", op, ty), &[ty, ty], &[ty], |b, _, p| {
        let r = b.binary(op, p[0], p[1]);
        b.ret(vec![r]);
    })
}

#[test]
fn narrow_wrapping_arithmetic_and_conversions() {
    let m = parse(
        "function add8 (i8, i8) -> (i8) {
block0(v0: i8, v1: i8):
    v2 = iadd v0, v1
    return v2
}

function mul16 (i16, i16) -> (i16) {
block0(v0: i16, v1: i16):
    v2 = imul v0, v1
    return v2
}

function sub32 (i32, i32) -> (i32) {
block0(v0: i32, v1: i32):
    v2 = isub v0, v1
    return v2
}

function add32 (i32, i32) -> (i32) {
block0(v0: i32, v1: i32):
    v2 = iadd v0, v1
    return v2
}

function sext (i8) -> (i64) {
block0(v0: i8):
    v1 = sext.i64 v0
    return v1
}

function uext (i8) -> (i64) {
block0(v0: i8):
    v1 = uext.i64 v0
    return v1
}

function sext16 (i16) -> (i32) {
block0(v0: i16):
    v1 = sext.i32 v0
    return v1
}

function trunc (i64) -> (i8) {
block0(v0: i64):
    v1 = trunc.i8 v0
    return v1
}

; An i8 constant folded into an immediate: x + 100.
function addimm8 (i8) -> (i8) {
block0(v0: i8):
    v1 = iconst.i8 100
    v2 = iadd v0, v1
    return v2
}

function neg8 (i8) -> (i8) {
block0(v0: i8):
    v1 = ineg v0
    return v1
}

function not16 (i16) -> (i16) {
block0(v0: i16):
    v1 = bnot v0
    return v1
}
",
    );
    let [add8, mul16, sub32, add32, sext, uext, sext16_32, trunc, addimm8, neg8, not16] =
        ["add8", "mul16", "sub32", "add32", "sext", "uext", "sext16", "trunc", "addimm8", "neg8", "not16"].map(|name| func(&m, name));
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, add8, &[127, 1]), 0x80);
    assert_eq!(ret1(&mut vm, &m, add8, &[200, 100]), 44);
    assert_eq!(ret1(&mut vm, &m, mul16, &[300, 300]), (90000u32 as u16) as u64);
    assert_eq!(ret1(&mut vm, &m, sub32, &[0, 1]), 0xFFFF_FFFF);
    assert_eq!(ret1(&mut vm, &m, add32, &[0xFFFF_FFFF, 2]), 1);
    assert_eq!(ret1(&mut vm, &m, sext, &[0x80]) as i64, -128);
    assert_eq!(ret1(&mut vm, &m, uext, &[0x80]), 128);
    assert_eq!(ret1(&mut vm, &m, sext16_32, &[0xFFFE]), 0xFFFF_FFFE);
    assert_eq!(ret1(&mut vm, &m, trunc, &[0x1234]), 0x34);
    assert_eq!(ret1(&mut vm, &m, addimm8, &[200]), 44);
    assert_eq!(ret1(&mut vm, &m, neg8, &[1]), 0xFF);
    assert_eq!(ret1(&mut vm, &m, neg8, &[0x80]), 0x80);
    assert_eq!(ret1(&mut vm, &m, not16, &[0]), 0xFFFF);
    // Arguments are canonicalized to their type.
    assert_eq!(ret1(&mut vm, &m, add8, &[(-1i64) as u64, 2]), 1);
}

#[test]
fn signed_vs_unsigned_shifts_div_rem() {
    let mut m = module();
    let t = Type::I32;
    let sdiv = binop_fn(&mut m, t, BinOp::Sdiv);
    let udiv = binop_fn(&mut m, t, BinOp::Udiv);
    let srem = binop_fn(&mut m, t, BinOp::Srem);
    let urem = binop_fn(&mut m, t, BinOp::Urem);
    let sshr = binop_fn(&mut m, t, BinOp::Sshr);
    let ushr = binop_fn(&mut m, t, BinOp::Ushr);
    let shl = binop_fn(&mut m, t, BinOp::Shl);
    let sshr8 = binop_fn(&mut m, Type::I8, BinOp::Sshr);
    let sdiv64 = binop_fn(&mut m, Type::I64, BinOp::Sdiv);
    let srem64 = binop_fn(&mut m, Type::I64, BinOp::Srem);
    let slt = def(&mut m, "slt", &[t, t], &[Type::I8], |b, _, p| {
        let r = b.icmp(IntCC::Slt, p[0], p[1]);
        b.ret(vec![r]);
    });
    let ult = def(&mut m, "ult", &[t, t], &[Type::I8], |b, _, p| {
        let r = b.icmp(IntCC::Ult, p[0], p[1]);
        b.ret(vec![r]);
    });
    let n7 = (-7i32) as u32 as u64;
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, sdiv, &[n7, 2]) as u32 as i32, -3);
    assert_eq!(ret1(&mut vm, &m, udiv, &[n7, 2]), (0xFFFF_FFF9u32 / 2) as u64);
    assert_eq!(ret1(&mut vm, &m, srem, &[n7, 2]) as u32 as i32, -1);
    assert_eq!(ret1(&mut vm, &m, urem, &[n7, 2]), 1);
    assert_eq!(ret1(&mut vm, &m, sshr, &[n7, 1]) as u32 as i32, -4);
    assert_eq!(ret1(&mut vm, &m, ushr, &[n7, 1]), 0x7FFF_FFFC);
    assert_eq!(ret1(&mut vm, &m, shl, &[1, 33]), 2, "shift amount is taken modulo the width");
    assert_eq!(ret1(&mut vm, &m, shl, &[0x8000_0001, 1]), 2);
    assert_eq!(ret1(&mut vm, &m, sshr8, &[0x80, 7]), 0xFF);
    assert_eq!(ret1(&mut vm, &m, slt, &[n7, 1]), 1);
    assert_eq!(ret1(&mut vm, &m, ult, &[n7, 1]), 0);
    assert_eq!(ret1(&mut vm, &m, srem64, &[i64::MIN as u64, (-1i64) as u64]), 0);
    let e = err(&mut vm, &m, sdiv64, &[i64::MIN as u64, (-1i64) as u64]);
    assert!(e.message.contains("overflow"), "{}", e);
    let e = err(&mut vm, &m, sdiv, &[0x8000_0000, 0xFFFF_FFFF]);
    assert!(e.message.contains("overflow"), "{}", e);
}

#[test]
fn division_by_zero_is_an_error_with_span() {
    let mut m = module();
    let f = def(&mut m, "div", &[Type::I64, Type::I64], &[Type::I64], |b, _, p| {
        b.set_span(sp(40));
        let r = b.binary(BinOp::Udiv, p[0], p[1]);
        b.ret(vec![r]);
    });
    let g = def(&mut m, "divc", &[Type::I64], &[Type::I64], |b, _, p| {
        let z = b.iconst(Type::I64, 0);
        b.set_span(sp(41));
        let r = b.binary(BinOp::Srem, p[0], z);
        b.ret(vec![r]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, f, &[1, 0]);
    assert!(e.message.contains("division by zero"), "{}", e);
    assert_eq!(e.span, sp(40));
    assert_eq!(e.stack, vec![Frame { func: "div".into(), call_site: None }]);
    let e = err(&mut vm, &m, g, &[1]);
    assert!(e.message.contains("by zero"), "{}", e);
    assert_eq!(e.span, sp(41));
    // The VM stays usable.
    assert_eq!(ret1(&mut vm, &m, f, &[10, 3]), 3);
}

#[test]
fn f32_vs_f64_arithmetic() {
    let m = parse(
        "function add32 (f32, f32) -> (f32) {
block0(v0: f32, v1: f32):
    v2 = fadd v0, v1
    return v2
}

function add64 (f64, f64) -> (f64) {
block0(v0: f64, v1: f64):
    v2 = fadd v0, v1
    return v2
}

function div32 (f32, f32) -> (f32) {
block0(v0: f32, v1: f32):
    v2 = fdiv v0, v1
    return v2
}

function conv (f64) -> (i32) {
block0(v0: f64):
    v1 = ftos.i32 v0
    return v1
}

function demote (f64) -> (f32) {
block0(v0: f64):
    v1 = fdemote.f32 v0
    return v1
}

function fconst () -> (f32) {
block0():
    v0 = fconst.f32 0.1
    return v0
}

function ltnan (f64, f64) -> (i8) {
block0(v0: f64, v1: f64):
    v2 = fcmp lt v0, v1
    return v2
}

function nenan (f64, f64) -> (i8) {
block0(v0: f64, v1: f64):
    v2 = fcmp ne v0, v1
    return v2
}

function s2f (i32) -> (f32) {
block0(v0: i32):
    v1 = stof.f32 v0
    return v1
}
",
    );
    let [add32, add64, div32, conv, demote, fc, lt_nan, ne_nan, s2f] =
        ["add32", "add64", "div32", "conv", "demote", "fconst", "ltnan", "nenan", "s2f"].map(|name| func(&m, name));
    let mut vm = vm();
    let f32b = |x: f32| x.to_bits() as u64;
    let r = ret1(&mut vm, &m, add32, &[f32b(0.1), f32b(0.2)]);
    assert_eq!(f32::from_bits(r as u32), 0.1f32 + 0.2f32);
    assert_eq!(r >> 32, 0, "f32 results are canonical");
    let r = ret1(&mut vm, &m, add64, &[0.1f64.to_bits(), 0.2f64.to_bits()]);
    assert_eq!(f64::from_bits(r), 0.1 + 0.2);
    assert_ne!(f64::from_bits(r), (0.1f32 + 0.2f32) as f64);
    let r = ret1(&mut vm, &m, div32, &[f32b(1.0), f32b(3.0)]);
    assert_eq!(f32::from_bits(r as u32), 1.0f32 / 3.0f32);
    assert_eq!(ret1(&mut vm, &m, conv, &[(-2.9f64).to_bits()]) as u32 as i32, -2);
    assert_eq!(ret1(&mut vm, &m, conv, &[1e20f64.to_bits()]) as u32 as i32, i32::MAX);
    assert_eq!(ret1(&mut vm, &m, conv, &[f64::NAN.to_bits()]), 0);
    assert_eq!(ret1(&mut vm, &m, demote, &[0.1f64.to_bits()]), f32b(0.1));
    assert_eq!(ret1(&mut vm, &m, fc, &[]), f32b(0.1));
    assert_eq!(ret1(&mut vm, &m, lt_nan, &[f64::NAN.to_bits(), 1f64.to_bits()]), 0);
    assert_eq!(ret1(&mut vm, &m, ne_nan, &[f64::NAN.to_bits(), 1f64.to_bits()]), 1);
    assert_eq!(ret1(&mut vm, &m, s2f, &[(-3i32) as u32 as u64]), f32b(-3.0));
}

#[test]
fn struct_in_stack_slot() {
    // struct { a: i32, b: i8, c: i64 } at offsets 0, 4, 8 (size 16, align 8)
    let m = parse(
        "function s (i32, i64) -> (i64) {
    ss0 = slot 16, align 8
block0(v0: i32, v1: i64):
    v2 = stack_addr ss0
    store v2+0, v0
    v3 = iconst.i8 -1
    store v2+4, v3
    store v2+8, v1
    v4 = load.i32 v2+0
    v5 = load.i8 v2+4
    v6 = load.i64 v2+8
    v7 = sext.i64 v4
    v8 = uext.i64 v5
    v9 = iadd v7, v8
    v10 = iadd v9, v6
    v11 = load.i64 v2+0             ; the i32 and i8 read back as one little-endian i64
    v12 = iconst.i64 1099511627775   ; 0xff_ffff_ffff
    v13 = and v11, v12
    v14 = iconst.i64 1099511627774   ; 0xff_ffff_fffe
    v15 = icmp eq v13, v14
    v16 = uext.i64 v15
    v17 = iconst.i64 1000000
    v18 = imul v16, v17
    v19 = iadd v10, v18
    return v19
}
",
    );
    assert!(verify::verify_module(&m).is_empty(), "{:?}", verify::verify_module(&m));
    let f = func(&m, "s");
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[(-2i32) as u32 as u64, 1000]) as i64, -2 + 255 + 1000 + 1_000_000);
    assert_eq!(vm.live_bytes(), 0, "stack slots are freed at return");
}

#[test]
fn static_data_with_relocation() {
    // data1 is a struct { ptr: *u8, len: i64 } pointing at "hi!" + 1.
    let mut m = parse(
        r#"data0 = const "str" size 4 align 1 "hi!"
data1 = const "slice" size 16 align 8 [0000000000000000 03] reloc@0=data0+1

function f () -> (i64) {
block0():
    v0 = data_addr data1
    v1 = load.i64 v0+0
    v2 = load.i64 v0+8
    v3 = load.i8 v1+0                   ; 'i'
    v4 = uext.i64 v3
    v5 = iconst.i64 1000
    v6 = imul v4, v5
    v7 = iadd v6, v2
    return v7
}

function ptr () -> (i64) {
block0():
    v0 = data_addr data1
    v1 = load.i64 v0+0
    return v1
}

function write_ro () -> () {
block0():
    v0 = data_addr data0
    v1 = iconst.i8 0
    store v0+0, v1
    return
}
"#,
    );
    let s = DataId(0);
    assert_eq!(m.datas[s].bytes, b"hi!\0");
    let [f, ptr_of, write_ro] = ["f", "ptr", "write_ro"].map(|name| func(&m, name));
    set_span(&mut m, write_ro, 2, 7);
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[]), b'i' as u64 * 1000 + 3);
    let p = ret1(&mut vm, &m, ptr_of, &[]);
    assert_eq!(vm.decode_pointer(p), PointerTarget::Data(s, 1));
    assert_eq!(vm.read_bytes(p, 3).unwrap(), b"i!\0");
    let e = err(&mut vm, &m, write_ro, &[]);
    assert!(e.message.contains("read-only"), "{}", e);
    assert_eq!(e.span, sp(7));
}

#[test]
fn write_to_captured_host() {
    let mut m = module();
    let s = m.add_data(Data { name: "hello".into(), bytes: b"hello\n".to_vec(), align: 1, relocs: vec![], writable: false });
    let write = m.declare_extern("write", Signature { params: vec![Type::I32, Type::I64, Type::I64], returns: vec![Type::I64] });
    let main = def(&mut m, "main", &[], &[Type::I32], |b, _, _| {
        let fd = b.iconst(Type::I32, 1);
        let p = b.data_addr(s, Type::I64);
        let n = b.iconst(Type::I64, 6);
        let w = b.call_extern(write, vec![fd, p, n], &[Type::I64])[0];
        let r = b.convert(ConvOp::Trunc, w, Type::I32);
        b.ret(vec![r]);
    });
    m.entry = Some(main);
    let host = CaptureHost::new();
    let mut vm = Vm::new(VmLimits::default(), Box::new(host.clone()));
    assert_eq!(vm.run_program(&m).unwrap(), 6);
    assert_eq!(host.output(1), b"hello\n");
    assert_eq!(host.output(2), b"");
}

#[test]
fn natives_puts_memset_strlen_exit() {
    let mut m = module();
    let s = m.add_data(Data { name: "s".into(), bytes: b"abc\0".to_vec(), align: 1, relocs: vec![], writable: false });
    let ptr = Type::I64;
    let malloc = m.declare_extern("malloc", Signature { params: vec![ptr], returns: vec![ptr] });
    let memcpy = m.declare_extern("memcpy", Signature { params: vec![ptr, ptr, ptr], returns: vec![ptr] });
    let strlen = m.declare_extern("strlen", Signature { params: vec![ptr], returns: vec![ptr] });
    let toupper = m.declare_extern("toupper", Signature { params: vec![Type::I32], returns: vec![Type::I32] });
    let puts = m.declare_extern("puts", Signature { params: vec![ptr], returns: vec![Type::I32] });
    let exit = m.declare_extern("exit", Signature { params: vec![Type::I32], returns: vec![] });
    let main = def(&mut m, "main", &[], &[Type::I32], |b, _, _| {
        let src = b.data_addr(s, ptr);
        let n = b.call_extern(strlen, vec![src], &[ptr])[0];
        let one = b.iconst(ptr, 1);
        let n1 = b.binary(BinOp::Iadd, n, one);
        let buf = b.call_extern(malloc, vec![n1], &[ptr])[0];
        b.call_extern(memcpy, vec![buf, src, n1], &[ptr]);
        let c = b.load(Type::I8, buf, 1);
        let c32 = b.convert(ConvOp::Uext, c, Type::I32);
        let up = b.call_extern(toupper, vec![c32], &[Type::I32])[0];
        let up8 = b.convert(ConvOp::Trunc, up, Type::I8);
        b.store(buf, 1, up8);
        b.call_extern(puts, vec![buf], &[Type::I32]);
        let code = b.iconst(Type::I32, 42);
        b.call_extern(exit, vec![code], &[]);
        b.trap(TrapCode::Unreachable);
    });
    m.entry = Some(main);
    let host = CaptureHost::new();
    let mut vm = Vm::new(VmLimits::default(), Box::new(host.clone()));
    assert_eq!(vm.call(&m, main, &[]).unwrap(), Outcome::Exited(42));
    assert_eq!(vm.run_program(&m).unwrap(), 42);
    assert_eq!(host.output(1), b"aBc\naBc\n");
}

#[test]
fn use_after_free_is_an_error_with_span() {
    let mut m = module();
    let ptr = Type::I64;
    let malloc = m.declare_extern("malloc", Signature { params: vec![ptr], returns: vec![ptr] });
    let free = m.declare_extern("free", Signature { params: vec![ptr], returns: vec![] });
    let f = def(&mut m, "uaf", &[], &[Type::I64], |b, _, _| {
        let n = b.iconst(ptr, 8);
        let p = b.call_extern(malloc, vec![n], &[ptr])[0];
        let v = b.iconst(Type::I64, 5);
        b.store(p, 0, v);
        let ok = b.load(Type::I64, p, 0);
        b.call_extern(free, vec![p], &[]);
        b.set_span(sp(99));
        let bad = b.load(Type::I64, p, 0);
        let r = b.binary(BinOp::Iadd, ok, bad);
        b.ret(vec![r]);
    });
    let caller = def(&mut m, "caller", &[], &[Type::I64], |b, _, _| {
        b.set_span(sp(3));
        let r = b.call(f, vec![], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    let double = def(&mut m, "double_free", &[], &[], |b, _, _| {
        let n = b.iconst(ptr, 8);
        let p = b.call_extern(malloc, vec![n], &[ptr])[0];
        b.call_extern(free, vec![p], &[]);
        b.call_extern(free, vec![p], &[]);
        b.ret(vec![]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, caller, &[]);
    assert!(e.message.contains("use after free"), "{}", e);
    assert_eq!(e.span, sp(99));
    assert_eq!(e.stack, vec![Frame { func: "uaf".into(), call_site: sp(3) }, Frame { func: "caller".into(), call_site: None }]);
    let e = err(&mut vm, &m, double, &[]);
    assert!(e.message.contains("double free"), "{}", e);
}

#[test]
fn out_of_bounds_and_null_loads_are_errors() {
    let mut m = module();
    let oob = def(&mut m, "oob", &[], &[Type::I64], |b, _, _| {
        let slot = b.create_slot(8, 8);
        let a = b.stack_addr(slot, Type::I64);
        b.set_span(sp(11));
        let v = b.load(Type::I64, a, 4);
        b.ret(vec![v]);
    });
    let neg = def(&mut m, "neg", &[], &[Type::I64], |b, _, _| {
        let slot = b.create_slot(8, 8);
        let a = b.stack_addr(slot, Type::I64);
        let v = b.load(Type::I8, a, -1);
        b.ret(vec![v]);
    });
    let null = def(&mut m, "null", &[Type::I64], &[Type::I64], |b, _, p| {
        b.set_span(sp(12));
        let v = b.load(Type::I64, p[0], 8);
        b.ret(vec![v]);
    });
    let memfill = def(&mut m, "memfill", &[Type::I64], &[], |b, _, p| {
        let slot = b.create_slot(8, 8);
        let a = b.stack_addr(slot, Type::I64);
        let byte = b.iconst(Type::I8, 0);
        b.memfill(a, byte, p[0]);
        b.ret(vec![]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, oob, &[]);
    assert!(e.message.contains("out of bounds"), "{}", e);
    assert_eq!(e.span, sp(11));
    let e = err(&mut vm, &m, neg, &[]);
    assert!(!e.message.is_empty());
    let e = err(&mut vm, &m, null, &[0]);
    assert!(e.message.contains("null"), "{}", e);
    assert_eq!(e.span, sp(12));
    assert!(vm.call(&m, memfill, &[8]).is_ok());
    let e = err(&mut vm, &m, memfill, &[9]);
    assert!(e.message.contains("out of bounds"), "{}", e);
    assert_eq!(vm.live_bytes(), 0, "stack slots are freed after errors too");
}

#[test]
fn infinite_loop_hits_step_budget() {
    let mut m = module();
    let f = def(&mut m, "spin", &[], &[], |b, _, _| {
        let l = b.create_block();
        b.jump(l, vec![]);
        b.switch_to_block(l);
        b.set_span(sp(5));
        b.jump(l, vec![]);
    });
    let limits = VmLimits { max_steps: 1_000_000, ..VmLimits::default() };
    let mut vm = Vm::new(limits, Box::new(CaptureHost::new()));
    let e = err(&mut vm, &m, f, &[]);
    assert!(e.message.contains("step budget"), "{}", e);
    assert_eq!(e.span, sp(5));
}

#[test]
fn unbounded_recursion_hits_depth_limit() {
    let mut m = module();
    let f = def(&mut m, "down", &[Type::I64], &[Type::I64], |b, me, p| {
        let slot = b.create_slot(8, 8);
        let a = b.stack_addr(slot, Type::I64);
        b.store(a, 0, p[0]);
        let one = b.iconst(Type::I64, 1);
        let n = b.binary(BinOp::Iadd, p[0], one);
        let r = b.call(me, vec![n], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, f, &[0]);
    assert!(e.message.contains("call depth"), "{}", e);
    assert!(e.stack.len() <= 65, "trace is bounded: {}", e.stack.len());
    assert_eq!(vm.live_bytes(), 0);
}

#[test]
fn unknown_extern_is_not_supported() {
    let mut m = module();
    let ext = m.declare_extern("dlopen", Signature { params: vec![Type::I64, Type::I32], returns: vec![Type::I64] });
    let read = m.declare_extern("read", Signature { params: vec![Type::I32, Type::I64, Type::I64], returns: vec![Type::I64] });
    let f = def(&mut m, "f", &[], &[Type::I64], |b, _, _| {
        let a = b.iconst(Type::I64, 0);
        let c = b.iconst(Type::I32, 0);
        b.set_span(sp(21));
        let r = b.call_extern(ext, vec![a, c], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    let g = def(&mut m, "g", &[], &[Type::I64], |b, _, _| {
        let a = b.iconst(Type::I64, 0);
        let c = b.iconst(Type::I32, 0);
        let r = b.call_extern(read, vec![c, a, a], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, f, &[]);
    assert_eq!(e.message, "not supported yet at comptime: extern function `dlopen` (no C signature is known for it)");
    assert_eq!(e.span, sp(21));
    // `read` is modelled (through the host) and checks its buffer first: a null one faults.
    let e = err(&mut vm, &m, g, &[]);
    assert!(e.message.contains("in `read`") && e.message.contains("null"), "{}", e);
}

#[test]
fn call_indirect_through_func_addr() {
    let m = parse(
        "function add (i64, i64) -> (i64) {
block0(v0: i64, v1: i64):
    v2 = iadd v0, v1
    return v2
}

function mul (i64, i64) -> (i64) {
block0(v0: i64, v1: i64):
    v2 = imul v0, v1
    return v2
}

function neg (i64) -> (i64) {
block0(v0: i64):
    v1 = ineg v0
    return v1
}

function apply (i64, i64, i64) -> (i64) {
block0(v0: i64, v1: i64, v2: i64):
    v3 = call_indirect (i64, i64) -> (i64) v0(v1, v2)
    return v3
}

function f (i8) -> (i64) {
block0(v0: i8):
    v1 = func_addr add
    v2 = func_addr mul
    v3 = select v0, v1, v2
    v4 = iconst.i64 6
    v5 = iconst.i64 7
    v6 = call apply(v3, v4, v5)
    return v6
}
",
    );
    let [mul, neg, apply, f] = ["mul", "neg", "apply", "f"].map(|name| func(&m, name));
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[1]), 13);
    assert_eq!(ret1(&mut vm, &m, f, &[0]), 42);
    let p = Vm::func_address(mul);
    assert_eq!(vm.decode_pointer(p), PointerTarget::Func(mul));
    assert_eq!(ret1(&mut vm, &m, apply, &[p, 3, 4]), 12);
    let e = err(&mut vm, &m, apply, &[Vm::func_address(neg), 3, 4]);
    assert!(e.message.contains("signature"), "{}", e);
    let e = err(&mut vm, &m, apply, &[0, 3, 4]);
    assert!(e.message.contains("null"), "{}", e);
    let e = err(&mut vm, &m, apply, &[12345, 3, 4]);
    assert!(e.message.contains("not a function pointer"), "{}", e);
}

/// `pair` returns two values.
const PAIR: &str = "function pair (i64) -> (i64, i32) {
block0(v0: i64):
    v1 = trunc.i32 v0
    v2 = iconst.i32 1
    v3 = iadd v1, v2
    return v0, v3
}
";

/// `user` calls `pair`; appended to [`PAIR`].
const USER: &str = "
function user () -> (i64) {
block0():
    v0 = iconst.i64 41
    v1, v2 = call pair(v0)
    v3 = uext.i64 v2
    v4 = iadd v1, v3
    return v4
}
";

#[test]
fn multiple_returns_and_growing_module() {
    let mut m = parse(PAIR);
    let pair = func(&m, "pair");
    let mut vm = vm();
    assert_eq!(vm.call(&m, pair, &[0xFFFF_FFFF]).unwrap(), Outcome::Returned(vec![0xFFFF_FFFF, 0]));
    // The module grows; the VM keeps its caches and memory.
    let grown = parse(&format!("{}{}", PAIR, USER));
    let user = m.funcs.push(grown.funcs[func(&grown, "user")].clone());
    assert_eq!(ret1(&mut vm, &m, user, &[]), 83);
    assert_eq!(vm.eval_count(), 2);
}

#[test]
fn host_api_alloc_read_write() {
    let mut m = module();
    let sum = def(&mut m, "sum3", &[Type::I64], &[Type::I64], |b, _, p| {
        let a = b.load(Type::I64, p[0], 0);
        let c = b.load(Type::I64, p[0], 8);
        let s = b.binary(BinOp::Iadd, a, c);
        b.store(p[0], 16, s);
        b.ret(vec![s]);
    });
    let mut vm = vm();
    let buf = vm.alloc(24, 8).unwrap();
    let mut bytes = 5u64.to_le_bytes().to_vec();
    bytes.extend(7u64.to_le_bytes());
    vm.write_bytes(buf, &bytes).unwrap();
    assert_eq!(ret1(&mut vm, &m, sum, &[buf]), 12);
    assert_eq!(vm.read_bytes(buf + 16, 8).unwrap(), 12u64.to_le_bytes());
    assert!(matches!(vm.decode_pointer(buf), PointerTarget::Heap { offset: 0, .. }));
    assert!(vm.read_bytes(buf + 20, 8).is_err());
    assert_eq!(vm.decode_pointer(0), PointerTarget::Null);
}

#[test]
fn malformed_modules_do_not_panic() {
    let mut m = module();
    // Call of a missing function.
    let f = def(&mut m, "f", &[], &[Type::I64], |b, _, _| {
        let r = b.call(FuncId(999), vec![], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    // Wrong argument count.
    let g = def(&mut m, "g", &[Type::I64], &[Type::I64], |b, _, p| b.ret(vec![p[0]]));
    let h = def(&mut m, "h", &[], &[Type::I64], |b, _, _| {
        let r = b.call(g, vec![], &[Type::I64])[0];
        b.ret(vec![r]);
    });
    // Wrong result count.
    let k = def(&mut m, "k", &[], &[Type::I64], |b, _, _| {
        let x = b.iconst(Type::I64, 1);
        let r = b.call(g, vec![x], &[Type::I64, Type::I64])[0];
        b.ret(vec![r]);
    });
    // Missing data, a jump to a missing block, an unterminated block, a declared-only function.
    let d = def(&mut m, "d", &[], &[Type::I64], |b, _, _| {
        let r = b.data_addr(DataId(77), Type::I64);
        b.ret(vec![r]);
    });
    let j = def(&mut m, "j", &[], &[], |b, _, _| b.jump(Block(42), vec![]));
    let u = def(&mut m, "u", &[], &[], |b, _, _| {
        b.iconst(Type::I64, 1);
    });
    let decl = m.funcs.push(Function::new("decl", Signature::default()));
    // Bogus value and missing extern.
    let v = def(&mut m, "v", &[], &[Type::I64], |b, _, _| b.ret(vec![Value(1234)]));
    let x = def(&mut m, "x", &[], &[], |b, _, _| {
        b.call_extern(ExternId(5), vec![], &[]);
        b.ret(vec![]);
    });
    let mut vm = vm();
    for (func, args) in [
        (f, vec![]),
        (h, vec![]),
        (k, vec![]),
        (d, vec![]),
        (j, vec![]),
        (u, vec![]),
        (decl, vec![]),
        (v, vec![]),
        (x, vec![]),
        (g, vec![]),
        (FuncId(5000), vec![]),
    ] {
        let e = err(&mut vm, &m, func, &args);
        assert!(!e.message.is_empty());
    }
    assert!(vm.run_program(&m).is_err(), "no entry");
}

#[test]
#[ignore]
fn bench_default_step_budget() {
    // How long runaway code runs before the default step budget stops it.
    let mut m = module();
    let f = def(&mut m, "spin", &[], &[], |b, _, _| {
        let l = b.create_block();
        let i = b.append_block_param(l, Type::I64);
        let z = b.iconst(Type::I64, 0);
        b.jump(l, vec![z]);
        b.switch_to_block(l);
        let one = b.iconst(Type::I64, 1);
        let i2 = b.binary(BinOp::Iadd, i, one);
        b.jump(l, vec![i2]);
    });
    let mut vm = vm();
    let t = std::time::Instant::now();
    let e = err(&mut vm, &m, f, &[]);
    println!("default step budget exhausted after {:?}: {}", t.elapsed(), e);
    let (m, fib) = fib_module();
    let mut vm = self::vm();
    let t = std::time::Instant::now();
    let e = err(&mut vm, &m, fib, &[60]);
    println!("recursive fib(60) stopped after {:?}: {}", t.elapsed(), e);
}

#[test]
fn use_after_free_and_double_free_name_the_sites() {
    let mut m = module();
    let ptr = Type::I64;
    let malloc = m.declare_extern("malloc", Signature { params: vec![ptr], returns: vec![ptr] });
    let free = m.declare_extern("free", Signature { params: vec![ptr], returns: vec![] });
    let f = def(&mut m, "uaf", &[Type::I8], &[Type::I64], |b, _, p| {
        let n = b.iconst(ptr, 8);
        b.set_span(sp(10));
        let q = b.call_extern(malloc, vec![n], &[ptr])[0];
        b.set_span(sp(20));
        b.call_extern(free, vec![q], &[]);
        let again = b.create_block();
        let read = b.create_block();
        b.branch(p[0], again, vec![], read, vec![]);
        b.switch_to_block(again);
        b.set_span(sp(30));
        b.call_extern(free, vec![q], &[]);
        let z = b.iconst(Type::I64, 0);
        b.ret(vec![z]);
        b.switch_to_block(read);
        b.set_span(sp(40));
        let v = b.load(Type::I64, q, 0);
        b.ret(vec![v]);
    });
    let mut vm = vm();
    let e = err(&mut vm, &m, f, &[0]);
    assert!(e.message.contains("use after free"), "{}", e);
    assert_eq!(e.span, sp(40));
    assert_eq!(e.related, vec![("allocated here".to_string(), sp(10).unwrap()), ("freed here".to_string(), sp(20).unwrap())]);
    let e = err(&mut vm, &m, f, &[1]);
    assert!(e.message.contains("double free"), "{}", e);
    assert_eq!(e.span, sp(30));
    assert_eq!(e.related.len(), 2, "{:?}", e.related);
    // Other errors carry no stale sites.
    let g = def(&mut m, "null", &[], &[Type::I64], |b, _, _| {
        let z = b.iconst(ptr, 0);
        let v = b.load(Type::I64, z, 0);
        b.ret(vec![v]);
    });
    let e = err(&mut vm, &m, g, &[]);
    assert!(e.related.is_empty());
}

#[test]
fn misaligned_accesses_are_errors() {
    let mut m = module();
    let f = def(&mut m, "mis", &[Type::I64, Type::I64], &[Type::I64], |b, _, p| {
        let slot = b.create_slot(32, 8);
        let a = b.stack_addr(slot, Type::I64);
        let at = b.binary(BinOp::Iadd, a, p[0]);
        let is_load = b.create_block();
        let is_store = b.create_block();
        b.branch(p[1], is_store, vec![], is_load, vec![]);
        b.switch_to_block(is_load);
        b.set_span(sp(7));
        let v = b.load(Type::I32, at, 0);
        let w = b.convert(ConvOp::Uext, v, Type::I64);
        b.ret(vec![w]);
        b.switch_to_block(is_store);
        let x = b.iconst(Type::I16, 1);
        b.set_span(sp(8));
        b.store(at, 0, x);
        let z = b.iconst(Type::I64, 0);
        b.ret(vec![z]);
    });
    let mut vm = vm();
    assert_eq!(ret1(&mut vm, &m, f, &[4, 0]), 0);
    assert_eq!(ret1(&mut vm, &m, f, &[6, 1]), 0);
    let e = err(&mut vm, &m, f, &[2, 0]);
    assert!(e.message.contains("misaligned access: 4-byte load at offset 2"), "{}", e);
    assert_eq!(e.span, sp(7));
    let e = err(&mut vm, &m, f, &[3, 1]);
    assert!(e.message.contains("misaligned access: 2-byte store at offset 3"), "{}", e);
    assert_eq!(e.span, sp(8));
    // Out of bounds wins over misalignment.
    let e = err(&mut vm, &m, f, &[30, 0]);
    assert!(e.message.contains("out of bounds"), "{}", e);
}

#[test]
fn stored_pointers_are_tracked() {
    let mut m = module();
    let ptr = Type::I64;
    let malloc = m.declare_extern("malloc", Signature { params: vec![ptr], returns: vec![ptr] });
    let memcpy = m.declare_extern("memcpy", Signature { params: vec![ptr, ptr, ptr], returns: vec![ptr] });
    // Returns a 40-byte block: [0] = pointer to a second block, [8] = -5, [16] = 1 << 32,
    // [24..40) = a copy of [0..16).
    let f = def(&mut m, "build", &[], &[Type::I64], |b, _, _| {
        let n = b.iconst(ptr, 40);
        let outer = b.call_extern(malloc, vec![n], &[ptr])[0];
        let inner = b.call_extern(malloc, vec![n], &[ptr])[0];
        b.store(outer, 0, inner);
        let neg = b.iconst(Type::I64, -5);
        b.store(outer, 8, neg);
        let big = b.iconst(Type::I64, 1 << 40);
        b.store(outer, 16, big);
        let sixteen = b.iconst(ptr, 16);
        let dst = b.iconst(ptr, 24);
        let d = b.binary(BinOp::Iadd, outer, dst);
        b.call_extern(memcpy, vec![d, outer, sixteen], &[ptr]);
        b.ret(vec![outer]);
    });
    let mut vm = vm();
    let p = ret1(&mut vm, &m, f, &[]);
    assert_eq!(vm.pointer_offsets(p, 40), vec![0, 24]);
    assert_eq!(vm.pointer_offsets(p + 8, 32), vec![16]);
    let inner = u64::from_le_bytes(vm.read_bytes(p, 8).unwrap().try_into().unwrap());
    assert!(matches!(vm.decode_pointer(inner), PointerTarget::Heap { offset: 0, .. }));
    // Overwriting bytes through the host API clears the marks.
    vm.write_bytes(p, &[0; 8]).unwrap();
    assert_eq!(vm.pointer_offsets(p, 40), vec![24]);
}

fn c_strtol_module() -> (Module, FuncId, ExternId) {
    let mut m = module();
    let ptr = Type::I64;
    let strtol = m.declare_extern("strtol", Signature { params: vec![ptr, ptr, Type::I32], returns: vec![Type::I64] });
    let text = m.add_data(Data { name: "s".into(), bytes: b"  123xyz\0".to_vec(), align: 1, relocs: vec![], writable: false });
    // Returns strtol's value * 1000 + how far the end pointer is from the start.
    let f = def(&mut m, "parse", &[], &[Type::I64], |b, _, _| {
        let s = b.data_addr(text, ptr);
        let slot = b.create_slot(8, 8);
        let end = b.stack_addr(slot, ptr);
        let base = b.iconst(Type::I32, 10);
        b.set_span(sp(50));
        let v = b.call_extern(strtol, vec![s, end, base], &[Type::I64])[0];
        let e = b.load(ptr, end, 0);
        let used = b.binary(BinOp::Isub, e, s);
        let k = b.iconst(Type::I64, 1000);
        let scaled = b.binary(BinOp::Imul, v, k);
        let r = b.binary(BinOp::Iadd, scaled, used);
        b.ret(vec![r]);
    });
    (m, f, strtol)
}

#[test]
fn foreign_calls_translate_pointers_both_ways() {
    let (m, f, _) = c_strtol_module();
    let mut vm = vm();
    let e = err(&mut vm, &m, f, &[]);
    assert!(e.message.contains("no C signature is known"), "{}", e);
    assert_eq!(e.span, sp(50));
    let sig = ForeignSig {
        params: vec![ForeignType::CString, ForeignType::Pointer, ForeignType::Int { signed: true }],
        rets: vec![ForeignType::Int { signed: true }],
        variadic: None,
    };
    let mut machine = Vm::new(VmLimits::default(), Box::new(CaptureHost::new()));
    machine.declare_foreign("strtol", sig);
    assert_eq!(ret1(&mut machine, &m, f, &[]), 123 * 1000 + 5);
}

#[test]
fn foreign_results_are_copied_or_opaque() {
    let mut m = module();
    let ptr = Type::I64;
    let strdup = m.declare_extern("strdup", Signature { params: vec![ptr], returns: vec![ptr] });
    let fopen = m.declare_extern("fopen", Signature { params: vec![ptr, ptr], returns: vec![ptr] });
    let fclose = m.declare_extern("fclose", Signature { params: vec![ptr], returns: vec![Type::I32] });
    let strchr = m.declare_extern("strchr", Signature { params: vec![ptr, Type::I32], returns: vec![ptr] });
    let text = m.add_data(Data { name: "t".into(), bytes: b"k:v\0".to_vec(), align: 1, relocs: vec![], writable: false });
    let path = m.add_data(Data { name: "p".into(), bytes: b"/dev/null\0".to_vec(), align: 1, relocs: vec![], writable: false });
    let mode = m.add_data(Data { name: "m".into(), bytes: b"r\0".to_vec(), align: 1, relocs: vec![], writable: false });
    let dup = def(&mut m, "dup", &[], &[ptr], |b, _, _| {
        let s = b.data_addr(text, ptr);
        let r = b.call_extern(strdup, vec![s], &[ptr])[0];
        b.ret(vec![r]);
    });
    let find = def(&mut m, "find", &[], &[ptr], |b, _, _| {
        let s = b.data_addr(text, ptr);
        let c = b.iconst(Type::I32, ':' as i64);
        let r = b.call_extern(strchr, vec![s, c], &[ptr])[0];
        let d = b.binary(BinOp::Isub, r, s);
        b.ret(vec![d]);
    });
    let open = def(&mut m, "open", &[], &[ptr], |b, _, _| {
        let p = b.data_addr(path, ptr);
        let md = b.data_addr(mode, ptr);
        let r = b.call_extern(fopen, vec![p, md], &[ptr])[0];
        b.ret(vec![r]);
    });
    let close = def(&mut m, "close", &[ptr], &[Type::I32], |b, _, p| {
        let r = b.call_extern(fclose, vec![p[0]], &[Type::I32])[0];
        b.ret(vec![r]);
    });
    let peek = def(&mut m, "peek", &[ptr], &[Type::I64], |b, _, p| {
        b.set_span(sp(60));
        let v = b.load(Type::I64, p[0], 0);
        b.ret(vec![v]);
    });
    let mut vm = vm();
    let cstr = ForeignType::CString;
    let p = ForeignType::Pointer;
    vm.declare_foreign("strdup", ForeignSig { params: vec![cstr], rets: vec![cstr], variadic: None });
    vm.declare_foreign("strchr", ForeignSig { params: vec![cstr, ForeignType::Int { signed: true }], rets: vec![cstr], variadic: None });
    vm.declare_foreign("fopen", ForeignSig { params: vec![cstr, cstr], rets: vec![p], variadic: None });
    vm.declare_foreign("fclose", ForeignSig { params: vec![p], rets: vec![ForeignType::Int { signed: true }], variadic: None });
    let copy = ret1(&mut vm, &m, dup, &[]);
    assert!(matches!(vm.decode_pointer(copy), PointerTarget::Heap { offset: 0, .. }));
    assert_eq!(vm.read_bytes(copy, 4).unwrap(), b"k:v\0");
    assert_eq!(ret1(&mut vm, &m, find, &[]), 1, "strchr's result points into our own data");
    let h = ret1(&mut vm, &m, open, &[]);
    assert!(matches!(vm.decode_pointer(h), PointerTarget::Foreign { offset: 0, .. }), "{:?}", vm.decode_pointer(h));
    let e = err(&mut vm, &m, peek, &[h]);
    assert!(e.message.contains("opaque pointer"), "{}", e);
    assert_eq!(e.span, sp(60));
    assert!(vm.read_bytes(h, 1).is_err());
    assert_eq!(ret1(&mut vm, &m, close, &[h]), 0);
}

#[test]
fn foreign_calls_refuse_non_pointers() {
    let (mut m, _, strtol) = c_strtol_module();
    let ptr = Type::I64;
    let f = def(&mut m, "bad", &[ptr], &[Type::I64], |b, _, p| {
        let z = b.iconst(ptr, 0);
        let base = b.iconst(Type::I32, 10);
        let v = b.call_extern(strtol, vec![p[0], z, base], &[Type::I64])[0];
        b.ret(vec![v]);
    });
    let mut vm = vm();
    let sig = ForeignSig {
        params: vec![ForeignType::CString, ForeignType::Pointer, ForeignType::Int { signed: true }],
        rets: vec![ForeignType::Int { signed: true }],
        variadic: None,
    };
    vm.declare_foreign("strtol", sig);
    let e = err(&mut vm, &m, f, &[5]);
    assert!(e.message.contains("is not a pointer C could use"), "{}", e);
    let e = err(&mut vm, &m, f, &[Vm::func_address(f)]);
    assert!(e.message.contains("function pointer"), "{}", e);
    let e = err(&mut vm, &m, f, &[0xdead_0000_0000]);
    assert!(e.message.contains("not a valid pointer"), "{}", e);
    let buf = vm.alloc(4, 1).unwrap();
    vm.write_bytes(buf, b"12\0\0").unwrap();
    assert_eq!(ret1(&mut vm, &m, f, &[buf]), 12);
    let e = err(&mut vm, &m, f, &[buf + 5]);
    assert!(e.message.contains("past the start"), "{}", e);
}

#[test]
fn foreign_calls_can_be_disabled() {
    let (m, f, _) = c_strtol_module();
    let limits = VmLimits { foreign_calls: false, ..VmLimits::default() };
    let mut vm = Vm::new(limits, Box::new(CaptureHost::new()));
    let sig = ForeignSig {
        params: vec![ForeignType::CString, ForeignType::Pointer, ForeignType::Int { signed: true }],
        rets: vec![ForeignType::Int { signed: true }],
        variadic: None,
    };
    vm.declare_foreign("strtol", sig);
    let e = err(&mut vm, &m, f, &[]);
    assert!(e.message.contains("foreign calls are disabled"), "{}", e);
}

/// `f(x) = ask(x) + ask(x * 10)` through a callee frame, where `ask` is a compiler request.
fn compiler_call_module() -> (Module, FuncId) {
    let mut m = module();
    let ask = m.declare_extern("__sx_compiler.ask", Signature { params: vec![Type::I64], returns: vec![Type::I64] });
    let inner = def(&mut m, "inner", &[Type::I64], &[Type::I64], |b, _, p| {
        let a = b.call_extern(ask, vec![p[0]], &[Type::I64])[0];
        let ten = b.iconst(Type::I64, 10);
        let x10 = b.binary(BinOp::Imul, p[0], ten);
        let c = b.call_extern(ask, vec![x10], &[Type::I64])[0];
        let s = b.binary(BinOp::Iadd, a, c);
        b.ret(vec![s]);
    });
    let outer = def(&mut m, "outer", &[Type::I64], &[Type::I64], |b, _, p| {
        let r = b.call(inner, vec![p[0]], &[Type::I64])[0];
        let one = b.iconst(Type::I64, 1);
        let s = b.binary(BinOp::Iadd, r, one);
        b.ret(vec![s]);
    });
    (m, outer)
}

#[test]
fn compiler_calls_suspend_and_resume() {
    let (m, outer) = compiler_call_module();
    let mut vm = vm();
    let first = vm.call(&m, outer, &[3]).unwrap();
    assert_eq!(first, Outcome::CompilerCall { name: "ask".to_string(), args: vec![3] });
    let second = vm.resume(&m, &[100]).unwrap();
    assert_eq!(second, Outcome::CompilerCall { name: "ask".to_string(), args: vec![30] });
    assert_eq!(vm.resume(&m, &[5]).unwrap(), Outcome::Returned(vec![106]));
}

#[test]
fn compiler_calls_nest() {
    // While one evaluation waits, the embedder runs another to completion on the same VM.
    let (m, outer) = compiler_call_module();
    let mut vm = vm();
    assert!(matches!(vm.call(&m, outer, &[2]).unwrap(), Outcome::CompilerCall { .. }));
    let nested = vm.call(&m, outer, &[7]).unwrap();
    assert_eq!(nested, Outcome::CompilerCall { name: "ask".to_string(), args: vec![7] });
    assert!(matches!(vm.resume(&m, &[1]).unwrap(), Outcome::CompilerCall { .. }));
    assert_eq!(vm.resume(&m, &[1]).unwrap(), Outcome::Returned(vec![3]));
    // The outer evaluation continues where it stopped.
    assert_eq!(vm.resume(&m, &[10]).unwrap(), Outcome::CompilerCall { name: "ask".to_string(), args: vec![20] });
    assert_eq!(vm.resume(&m, &[20]).unwrap(), Outcome::Returned(vec![31]));
}

#[test]
fn compiler_call_answer_count_is_checked_and_abandon_frees() {
    let (m, outer) = compiler_call_module();
    let mut vm = vm();
    assert!(matches!(vm.call(&m, outer, &[1]).unwrap(), Outcome::CompilerCall { .. }));
    let e = vm.resume(&m, &[1, 2]).unwrap_err();
    assert!(e.message.contains("answered with 2 values"), "{}", e.message);
    assert!(matches!(vm.call(&m, outer, &[1]).unwrap(), Outcome::CompilerCall { .. }));
    vm.abandon();
    assert!(vm.resume(&m, &[1]).is_err());
    // A module without an entry cannot run as a program.
    assert!(vm.run_program(&m).is_err());
}
