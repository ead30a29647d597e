//! End-to-end tests: hand-built IR through the JIT and through object emission + `cc`.

use sx_codegen::{emit_object, jit_run, link_executable};
use sx_ir::builder::FunctionBuilder;
use sx_ir::*;

fn sig(params: &[Type], returns: &[Type]) -> Signature {
    Signature { params: params.to_vec(), returns: returns.to_vec() }
}

/// Adds a function built by `body` (given the builder and its entry-block params).
fn add_fn(m: &mut Module, name: &str, s: Signature, body: impl FnOnce(&mut FunctionBuilder, &[Value], &mut ModuleRefs)) -> FuncId {
    let id = m.funcs.next_key();
    let mut f = Function::new(name, s.clone());
    {
        let mut refs = ModuleRefs { self_id: id };
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let params: Vec<Value> = s.params.iter().map(|&t| b.append_block_param(e, t)).collect();
        b.switch_to_block(e);
        body(&mut b, &params, &mut refs);
    }
    m.funcs.push(f)
}

struct ModuleRefs {
    self_id: FuncId,
}

fn set_main(m: &mut Module, body: impl FnOnce(&mut FunctionBuilder, &[Value], &mut ModuleRefs)) -> FuncId {
    let id = add_fn(m, "main", sig(&[], &[Type::I32]), body);
    m.funcs[id].linkage = Linkage::Export;
    m.entry = Some(id);
    id
}

fn host() -> Module {
    Module::new(Target::host())
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

fn check(m: &Module, stdout: &str, status: i32) {
    let jit = jit_run(m).unwrap_or_else(|e| panic!("jit_run: {}", e));
    assert_eq!(jit, status, "JIT exit status");
    let (out, code) = run_aot(m);
    assert_eq!(out, stdout, "AOT stdout");
    assert_eq!(code, status, "AOT exit status");
}

fn ret_i32(b: &mut FunctionBuilder, v: i64) {
    let c = b.iconst(Type::I32, v);
    b.ret(vec![c]);
}

#[test]
fn returns_42() {
    let mut m = host();
    set_main(&mut m, |b, _, _| ret_i32(b, 42));
    assert_eq!(jit_run(&m).unwrap(), 42);
    check(&m, "", 42);
}

fn fib_module() -> Module {
    let mut m = host();
    let fib = m.funcs.next_key();
    add_fn(&mut m, "fib", sig(&[Type::I64], &[Type::I64]), |b, p, refs| {
        let n = p[0];
        assert_eq!(refs.self_id, fib);
        let two = b.iconst(Type::I64, 2);
        let small = b.icmp(IntCC::Slt, n, two);
        let base = b.create_block();
        let rec = b.create_block();
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
    });
    set_main(&mut m, |b, _, _| {
        let ten = b.iconst(Type::I64, 20);
        let r = b.call(fib, vec![ten], &[Type::I64])[0];
        let k = b.iconst(Type::I64, 256);
        let r = b.binary(BinOp::Urem, r, k);
        let r = b.convert(ConvOp::Trunc, r, Type::I32);
        b.ret(vec![r]);
    });
    m
}

#[test]
fn recursive_fib() {
    // fib(20) = 6765; 6765 % 256 = 109
    check(&fib_module(), "", 109);
}

#[test]
fn loop_sum() {
    // sum of 1..=10 = 55, with the loop header also the target of a back edge.
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        let header = b.create_block();
        let i = b.append_block_param(header, Type::I32);
        let acc = b.append_block_param(header, Type::I32);
        let body = b.create_block();
        let exit = b.create_block();
        let r = b.append_block_param(exit, Type::I32);
        let zero = b.iconst(Type::I32, 0);
        let one = b.iconst(Type::I32, 1);
        b.jump(header, vec![one, zero]);
        b.switch_to_block(header);
        let ten = b.iconst(Type::I32, 10);
        let more = b.icmp(IntCC::Sle, i, ten);
        b.branch(more, body, vec![], exit, vec![acc]);
        b.switch_to_block(body);
        let acc2 = b.binary(BinOp::Iadd, acc, i);
        let one = b.iconst(Type::I32, 1);
        let i2 = b.binary(BinOp::Iadd, i, one);
        b.jump(header, vec![i2, acc2]);
        b.switch_to_block(exit);
        b.ret(vec![r]);
    });
    check(&m, "", 55);
}

#[test]
fn i8_wraps_and_shifts_mask() {
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        let a = b.iconst(Type::I8, 200);
        let c = b.iconst(Type::I8, 100);
        let s = b.binary(BinOp::Iadd, a, c); // 300 mod 256 = 44
        let w = b.convert(ConvOp::Uext, s, Type::I32);
        // 1 << 33 on i32 is 1 << 1 = 2 (amount taken modulo the width).
        let one = b.iconst(Type::I32, 1);
        let amt = b.iconst(Type::I32, 33);
        let sh = b.binary(BinOp::Shl, one, amt);
        let r = b.binary(BinOp::Iadd, w, sh); // 46
                                              // -1 as i8 sign-extended stays -1; (-1) + 47 = 46 -> check equality, add 0/1.
        let m1 = b.iconst(Type::I8, -1);
        let m1w = b.convert(ConvOp::Sext, m1, Type::I32);
        let c47 = b.iconst(Type::I32, 47);
        let x = b.binary(BinOp::Iadd, m1w, c47);
        let eq = b.icmp(IntCC::Eq, x, r);
        let eqw = b.convert(ConvOp::Uext, eq, Type::I32);
        let r = b.binary(BinOp::Iadd, r, eqw); // 47
        b.ret(vec![r]);
    });
    check(&m, "", 47);
}

#[test]
fn f64_arithmetic_and_saturating_conversion() {
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        let x = b.fconst(Type::F64, 2.5);
        let y = b.fconst(Type::F64, 4.0);
        let p = b.binary(BinOp::Fmul, x, y); // 10.0
        let h = b.fconst(Type::F64, 0.75);
        let q = b.binary(BinOp::Fadd, p, h); // 10.75
        let i = b.convert(ConvOp::FToS, q, Type::I32); // 10
                                                       // NaN -> 0 (saturating, no trap); 1e10 -> i8 saturates at 127.
        let z = b.fconst(Type::F64, 0.0);
        let nan = b.binary(BinOp::Fdiv, z, z);
        let n = b.convert(ConvOp::FToS, nan, Type::I32);
        let big = b.fconst(Type::F64, 1e10);
        let s8 = b.convert(ConvOp::FToS, big, Type::I8);
        let s8w = b.convert(ConvOp::Sext, s8, Type::I32); // 127
        let neg = b.fconst(Type::F64, -3.0);
        let u8_ = b.convert(ConvOp::FToU, neg, Type::I8); // 0
        let u8w = b.convert(ConvOp::Uext, u8_, Type::I32);
        let nan_ne = b.fcmp(FloatCC::Ne, nan, nan); // 1 (unordered)
        let nan_eq = b.fcmp(FloatCC::Eq, nan, nan); // 0
        let ne = b.convert(ConvOp::Uext, nan_ne, Type::I32);
        let eq = b.convert(ConvOp::Uext, nan_eq, Type::I32);
        // f32 round trip: (float)3 * 2 -> 6
        let three = b.iconst(Type::I64, 3);
        let f = b.convert(ConvOp::SToF, three, Type::F32);
        let two = b.fconst(Type::F32, 2.0);
        let f6 = b.binary(BinOp::Fmul, f, two);
        let d6 = b.convert(ConvOp::FPromote, f6, Type::F64);
        let i6 = b.convert(ConvOp::FToS, d6, Type::I32);
        let mut r = b.binary(BinOp::Iadd, i, n);
        for v in [s8w, u8w, ne, eq, i6] {
            r = b.binary(BinOp::Iadd, r, v);
        }
        b.ret(vec![r]); // 10 + 0 + 127 + 0 + 1 + 0 + 6 = 144
    });
    check(&m, "", 144);
}

#[test]
fn stack_slot_struct() {
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        // struct { i8 tag; i32 x; i64 y; } at offsets 0, 4, 8.
        let s = b.create_slot(16, 8);
        let p = b.stack_addr(s, Type::I64);
        let tag = b.iconst(Type::I8, 3);
        let x = b.iconst(Type::I32, 1000);
        let y = b.iconst(Type::I64, -7);
        b.store(p, 0, tag);
        b.store(p, 4, x);
        b.store(p, 8, y);
        let t = b.load(Type::I8, p, 0);
        let x = b.load(Type::I32, p, 4);
        let y = b.load(Type::I64, p, 8);
        let t = b.convert(ConvOp::Uext, t, Type::I32);
        let y = b.convert(ConvOp::Trunc, y, Type::I32);
        let r = b.binary(BinOp::Iadd, t, x);
        let r = b.binary(BinOp::Iadd, r, y); // 996
        let k = b.iconst(Type::I32, 256);
        let r = b.binary(BinOp::Srem, r, k); // 228
        b.ret(vec![r]);
    });
    check(&m, "", 228);
}

fn write_extern(m: &mut Module) -> ExternId {
    m.declare_extern("write", sig(&[Type::I32, Type::I64, Type::I64], &[Type::I64]))
}

#[test]
fn data_string_written_with_write() {
    let mut m = host();
    let write = write_extern(&mut m);
    let hi = m.add_data(Data { name: "str.hi".into(), bytes: b"hi\n".to_vec(), align: 1, relocs: vec![], writable: false });
    set_main(&mut m, |b, _, _| {
        let fd = b.iconst(Type::I32, 1);
        let p = b.data_addr(hi, Type::I64);
        let n = b.iconst(Type::I64, 3);
        let w = b.call_extern(write, vec![fd, p, n], &[Type::I64])[0];
        let w = b.convert(ConvOp::Trunc, w, Type::I32);
        b.ret(vec![w]);
    });
    check(&m, "hi\n", 3);
}

#[test]
fn data_relocation_to_data_and_writable_global() {
    let mut m = host();
    let write = write_extern(&mut m);
    let s = m.add_data(Data { name: "str".into(), bytes: b"xhello\n".to_vec(), align: 1, relocs: vec![], writable: false });
    // A constant holding {ptr = &str + 1, len = 6}: a read-only object with a relocation.
    let mut bytes = vec![0u8; 16];
    bytes[8..16].copy_from_slice(&6u64.to_le_bytes());
    let slice = m.add_data(Data {
        name: "slice".into(),
        bytes,
        align: 8,
        relocs: vec![Reloc { offset: 0, target: RelocTarget::Data(s), addend: 1 }],
        writable: false,
    });
    // A writable global counter, same name as another data object (must be deduplicated).
    let g = m.add_data(Data { name: "str".into(), bytes: 5i32.to_le_bytes().to_vec(), align: 4, relocs: vec![], writable: true });
    set_main(&mut m, |b, _, _| {
        let sl = b.data_addr(slice, Type::I64);
        let p = b.load(Type::I64, sl, 0);
        let n = b.load(Type::I64, sl, 8);
        let fd = b.iconst(Type::I32, 1);
        b.call_extern(write, vec![fd, p, n], &[Type::I64]);
        let gp = b.data_addr(g, Type::I64);
        let v = b.load(Type::I32, gp, 0);
        let k = b.iconst(Type::I32, 10);
        let v = b.binary(BinOp::Imul, v, k);
        b.store(gp, 0, v);
        let v2 = b.load(Type::I32, gp, 0);
        b.ret(vec![v2]);
    });
    check(&m, "hello\n", 50);
}

#[test]
fn call_indirect_through_func_addr_and_function_table() {
    let mut m = host();
    let add = add_fn(&mut m, "add", sig(&[Type::I32, Type::I32], &[Type::I32]), |b, p, _| {
        let s = b.binary(BinOp::Iadd, p[0], p[1]);
        b.ret(vec![s]);
    });
    let mul = add_fn(&mut m, "mul", sig(&[Type::I32, Type::I32], &[Type::I32]), |b, p, _| {
        let s = b.binary(BinOp::Imul, p[0], p[1]);
        b.ret(vec![s]);
    });
    // A table of function pointers in static data.
    let table = m.add_data(Data {
        name: "vtable".into(),
        bytes: vec![0; 8],
        align: 8,
        relocs: vec![Reloc { offset: 0, target: RelocTarget::Func(mul), addend: 0 }],
        writable: false,
    });
    set_main(&mut m, |b, _, _| {
        let s = sig(&[Type::I32, Type::I32], &[Type::I32]);
        let fa = b.func_addr(add, Type::I64);
        let x = b.iconst(Type::I32, 5);
        let y = b.iconst(Type::I32, 6);
        let r1 = b.call_indirect(s.clone(), fa, vec![x, y])[0]; // 11
        let t = b.data_addr(table, Type::I64);
        let fm = b.load(Type::I64, t, 0);
        let r2 = b.call_indirect(s, fm, vec![r1, y])[0]; // 66
        b.ret(vec![r2]);
    });
    check(&m, "", 66);
}

#[test]
fn memcopy_and_memfill() {
    let mut m = host();
    let write = write_extern(&mut m);
    let src = m.add_data(Data { name: "src".into(), bytes: b"abcdef".to_vec(), align: 1, relocs: vec![], writable: false });
    set_main(&mut m, |b, _, _| {
        let buf = b.create_slot(16, 1);
        let p = b.stack_addr(buf, Type::I64);
        let byte = b.iconst(Type::I32, 0x100 + b'z' as i64); // low byte 'z'
        let n = b.iconst(Type::I64, 8);
        b.memfill(p, byte, n); // zzzzzzzz
        let s = b.data_addr(src, Type::I64);
        let three = b.iconst(Type::I64, 3);
        let one = b.iconst(Type::I64, 1);
        let dst = b.binary(BinOp::Iadd, p, one);
        b.memcopy(dst, s, three); // zabczzzz
                                  // Overlapping move: shift bytes 0..4 right by 2 -> zazabczz
        let two = b.iconst(Type::I64, 2);
        let dst2 = b.binary(BinOp::Iadd, p, two);
        let four = b.iconst(Type::I64, 4);
        b.memcopy(dst2, p, four);
        let nl = b.iconst(Type::I8, b'\n' as i64);
        b.store(p, 8, nl);
        let fd = b.iconst(Type::I32, 1);
        let len = b.iconst(Type::I64, 9);
        b.call_extern(write, vec![fd, p, len], &[Type::I64]);
        ret_i32(b, 7);
    });
    check(&m, "zazabczz\n", 7);
}

#[test]
fn select_multi_return_and_bodyless_functions() {
    let mut m = host();
    // A declared-but-undefined function that is never called must not be compiled.
    let ghost = m.funcs.push(Function::new("ghost", sig(&[], &[Type::I32])));
    let pair = add_fn(&mut m, "pair", sig(&[Type::I64], &[Type::I64, Type::I32]), |b, p, _| {
        let c = b.iconst(Type::I64, 3);
        let x = b.binary(BinOp::Imul, p[0], c);
        let y = b.iconst(Type::I32, 4);
        b.ret(vec![x, y]);
    });
    set_main(&mut m, |b, _, _| {
        let two = b.iconst(Type::I64, 2);
        let rs = b.call(pair, vec![two], &[Type::I64, Type::I32]);
        let x = b.convert(ConvOp::Trunc, rs[0], Type::I32);
        let big = b.icmp(IntCC::Ugt, x, rs[1]);
        let r = b.select(big, x, rs[1]); // max(6, 4) = 6
                                         // A reference to `ghost` on a path that is never taken.
        let zero = b.iconst(Type::I8, 0);
        let never = b.create_block();
        let done = b.create_block();
        b.branch(zero, never, vec![], done, vec![]);
        b.switch_to_block(never);
        let g = b.call(ghost, vec![], &[Type::I32])[0];
        b.ret(vec![g]);
        b.switch_to_block(done);
        b.ret(vec![r]);
    });
    check(&m, "", 6);
}

#[test]
fn exit_through_libc() {
    let mut m = host();
    let exit = m.declare_extern("exit", sig(&[Type::I32], &[]));
    set_main(&mut m, |b, _, _| {
        // Never returns in the AOT run; only checked there (exit in the JIT would end the test).
        let c = b.iconst(Type::I32, 9);
        b.call_extern(exit, vec![c], &[]);
        b.trap(TrapCode::Unreachable);
    });
    let (out, code) = run_aot(&m);
    assert_eq!((out.as_str(), code), ("", 9));
}

#[test]
fn sqrt_from_libm() {
    let mut m = host();
    let sqrt = m.declare_extern("sqrt", sig(&[Type::F64], &[Type::F64]));
    set_main(&mut m, |b, _, _| {
        let x = b.fconst(Type::F64, 1764.0);
        let r = b.call_extern(sqrt, vec![x], &[Type::F64])[0];
        let r = b.convert(ConvOp::FToS, r, Type::I32);
        b.ret(vec![r]);
    });
    check(&m, "", 42);
}

#[test]
fn aarch64_object_emits() {
    let mut m = fib_module();
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
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        let c = b.iconst(Type::I64, 1); // wrong return type
        b.ret(vec![c]);
    });
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("invalid IR"), "{}", e);
    assert!(emit_object(&m).is_err());
}

#[test]
fn unresolvable_extern_is_an_error() {
    let mut m = host();
    let nope = m.declare_extern("sx_definitely_not_a_symbol", sig(&[], &[]));
    set_main(&mut m, |b, _, _| {
        b.call_extern(nope, vec![], &[]);
        ret_i32(b, 0);
    });
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("sx_definitely_not_a_symbol"), "{}", e);
}

#[test]
fn non_dominating_use_is_an_error() {
    // The IR verifier accepts a use in a block not dominated by the definition; Cranelift must
    // not see it and we must not panic.
    let mut m = host();
    set_main(&mut m, |b, _, _| {
        let c = b.iconst(Type::I8, 1);
        let l = b.create_block();
        let r = b.create_block();
        let j = b.create_block();
        b.branch(c, l, vec![], r, vec![]);
        b.switch_to_block(l);
        let v = b.iconst(Type::I32, 5);
        b.jump(j, vec![]);
        b.switch_to_block(r);
        b.jump(j, vec![]);
        b.switch_to_block(j);
        b.ret(vec![v]);
    });
    let e = jit_run(&m).unwrap_err();
    assert!(e.message.contains("verifier") || e.message.contains("dominate"), "{}", e);
}
