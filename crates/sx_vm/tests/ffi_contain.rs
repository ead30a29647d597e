//! Compile-time C calls that misbehave: faults are caught and reported (the VM stays usable),
//! host pointers C stores through out-parameters become opaque handles, C-variadic calls, C
//! calling back into sx functions, and a compiler bug outside a C call still crashes the process.

use sx_ir::builder::FunctionBuilder;
use sx_ir::*;
use sx_vm::*;

/// Defines a function; `build` gets the builder and the entry params.
fn def(m: &mut Module, name: &str, params: &[Type], rets: &[Type], build: impl FnOnce(&mut FunctionBuilder, &[Value])) -> FuncId {
    let id = m.funcs.next_key();
    let mut f = Function::new(name, Signature { params: params.to_vec(), returns: rets.to_vec() });
    {
        let mut b = FunctionBuilder::new(&mut f);
        let e = b.create_block();
        let ps: Vec<Value> = params.iter().map(|&t| b.append_block_param(e, t)).collect();
        b.switch_to_block(e);
        build(&mut b, &ps);
    }
    m.funcs.push(f);
    id
}

fn vm() -> Vm {
    Vm::new(VmLimits::default(), Box::new(CaptureHost::new()))
}

fn ret1(vm: &mut Vm, m: &Module, f: FuncId, args: &[u64]) -> u64 {
    match vm.call(m, f, args) {
        Ok(Outcome::Returned(v)) => v[0],
        other => panic!("unexpected {:?}", other),
    }
}

fn err(vm: &mut Vm, m: &Module, f: FuncId, args: &[u64]) -> VmError {
    match vm.call(m, f, args) {
        Err(e) => e,
        other => panic!("expected an error, got {:?}", other),
    }
}

const P: Type = Type::I64;

fn sig(params: Vec<ForeignType>, rets: Vec<ForeignType>) -> ForeignSig {
    ForeignSig { params, rets, variadic: None }
}

fn int() -> ForeignType {
    ForeignType::Int { signed: false }
}

/// `name(args…) -> ret` as an sx function of the same parameters.
fn wrapper(m: &mut Module, name: &str, params: &[Type], ret: Type) -> FuncId {
    let ext = m.declare_extern(name, Signature { params: params.to_vec(), returns: vec![ret] });
    def(m, &format!("call_{}", name), params, &[ret], |b, p| {
        let r = b.call_extern(ext, p.to_vec(), &[ret])[0];
        b.ret(vec![r]);
    })
}

/// A comptime buffer holding `bytes`.
fn buffer(vm: &mut Vm, bytes: &[u8]) -> u64 {
    let p = vm.alloc(bytes.len() as u64, 1).unwrap();
    vm.write_bytes(p, bytes).unwrap();
    p
}

#[test]
fn c_faults_become_errors_and_the_vm_goes_on() {
    let mut m = Module::new(Target::X86_64Linux);
    let strcpy = wrapper(&mut m, "strcpy", &[P, P], P);
    let strnlen = wrapper(&mut m, "strnlen", &[P, P], P);
    let bzero = wrapper(&mut m, "explicit_bzero", &[P, P], P);
    let mut vm = vm();
    vm.declare_foreign("strcpy", sig(vec![ForeignType::Pointer, ForeignType::CString], vec![ForeignType::Pointer]));
    vm.declare_foreign("strnlen", sig(vec![ForeignType::Pointer, int()], vec![int()]));
    vm.declare_foreign("explicit_bzero", sig(vec![ForeignType::Pointer, int()], vec![int()]));

    let small = vm.alloc(4, 1).unwrap();
    let long = buffer(&mut vm, b"far more than four bytes\0");
    let e = err(&mut vm, &m, strcpy, &[small, long]);
    assert!(e.message.contains("in the call of C function `strcpy`"), "{}", e);
    assert!(e.message.contains("SIGSEGV"), "{}", e);
    assert!(e.message.contains("past the end of argument 1"), "{}", e);
    // The VM keeps working (what C wrote before the fault, if anything, stays in the buffer).
    let fits = buffer(&mut vm, b"abc\0");
    assert_eq!(ret1(&mut vm, &m, strcpy, &[small, fits]), small, "a pointer into our buffer comes back as itself");
    assert_eq!(ret1(&mut vm, &m, strnlen, &[small, 100]), 3);

    let e = err(&mut vm, &m, strnlen, &[0, 10]);
    assert!(e.message.contains("on a null pointer"), "{}", e);
    let e = err(&mut vm, &m, bzero, &[small, 100_000_000]);
    assert!(e.message.contains("byte 0 past the end of argument 1"), "{}", e);
    for _ in 0..3 {
        assert_eq!(ret1(&mut vm, &m, strnlen, &[long, 100]), 24);
    }
}

#[test]
fn host_pointers_stored_by_c_are_handles() {
    let mut m = Module::new(Target::X86_64Linux);
    let memalign = wrapper(&mut m, "posix_memalign", &[P, P, P], Type::I32);
    let strcpy = wrapper(&mut m, "strcpy", &[P, P], P);
    let strnlen = wrapper(&mut m, "strnlen", &[P, P], P);
    let peek = def(&mut m, "peek", &[P], &[P], |b, p| {
        let v = b.load(P, p[0], 0);
        b.ret(vec![v]);
    });
    let mut vm = vm();
    vm.declare_foreign("posix_memalign", sig(vec![ForeignType::Pointer, int(), int()], vec![ForeignType::Int { signed: true }]));
    vm.declare_foreign("strcpy", sig(vec![ForeignType::Pointer, ForeignType::CString], vec![ForeignType::Pointer]));
    vm.declare_foreign("strnlen", sig(vec![ForeignType::Pointer, int()], vec![int()]));

    let out = vm.alloc(8, 8).unwrap();
    assert_eq!(ret1(&mut vm, &m, memalign, &[out, 16, 64]), 0);
    let word = vm.read_bytes(out, 8).unwrap();
    let handle = u64::from_le_bytes(word.try_into().unwrap());
    assert!(matches!(vm.decode_pointer(handle), PointerTarget::Foreign { offset: 0, .. }), "{:?}", vm.decode_pointer(handle));
    // Passed back to C it is the same host memory.
    let text = buffer(&mut vm, b"handle\0");
    assert_eq!(ret1(&mut vm, &m, strcpy, &[handle, text]), handle, "C returns the host address: the same handle");
    assert_eq!(ret1(&mut vm, &m, strnlen, &[handle, 64]), 6);
    assert_eq!(ret1(&mut vm, &m, strnlen, &[handle + 2, 64]), 4, "an offset from a handle reaches C as an offset");
    // Comptime code cannot read it.
    let e = err(&mut vm, &m, peek, &[handle]);
    assert!(e.message.contains("opaque pointer"), "{}", e);
}

#[test]
fn c_variadic_calls() {
    let mut m = Module::new(Target::X86_64Linux);
    let params = [P, P, P, Type::I32, Type::F64, P, Type::I64];
    let snprintf = wrapper(&mut m, "snprintf", &params, Type::I32);
    let mut vm = vm();
    let cstr = ForeignType::CString;
    let s = ForeignType::Int { signed: true };
    let described =
        ForeignSig { params: vec![ForeignType::Pointer, int(), cstr, s, ForeignType::Float, cstr, s], rets: vec![s], variadic: Some(3) };
    vm.declare_foreign("snprintf", described);
    let buf = vm.alloc(64, 1).unwrap();
    let fmt = buffer(&mut vm, b"%d|%.2f|%s|%ld\0");
    let word = buffer(&mut vm, b"str\0");
    let args = [buf, 64, fmt, (-7i32) as u32 as u64, 2.5f64.to_bits(), word, (-1i64) as u64];
    let n = ret1(&mut vm, &m, snprintf, &args);
    let text = b"-7|2.50|str|-1";
    assert_eq!(n, text.len() as u64);
    assert_eq!(vm.read_bytes(buf, text.len() as u64 + 1).unwrap(), [&text[..], b"\0"].concat());
}

#[test]
fn variadic_description_must_fit_the_signature() {
    let mut m = Module::new(Target::X86_64Linux);
    let f = wrapper(&mut m, "printf", &[P], Type::I32);
    let mut vm = vm();
    vm.declare_foreign("printf", ForeignSig { params: vec![ForeignType::CString], rets: vec![int()], variadic: Some(2) });
    let fmt = buffer(&mut vm, b"x\0");
    let e = err(&mut vm, &m, f, &[fmt]);
    assert!(e.message.contains("does not match its IR signature"), "{}", e);
}

/// `sort(buf, n, k)`: `qsort(buf, n, 4, cmp)` with an sx comparator of i32s, then returns
/// `k + buf[0]` (so the caller's registers must survive the callbacks). With `failing`, the
/// comparator divides by zero when it sees a 5.
fn qsort_module(failing: bool) -> (Module, FuncId) {
    let mut m = Module::new(Target::X86_64Linux);
    let qsort_ext = m.declare_extern("qsort", Signature { params: vec![P, P, P, P], returns: vec![] });
    let cmp = def(&mut m, "cmp", &[P, P], &[Type::I32], |b, p| {
        let x = b.load(Type::I32, p[0], 0);
        let y = b.load(Type::I32, p[1], 0);
        let d = b.binary(BinOp::Isub, x, y);
        if failing {
            let five = b.iconst(Type::I32, 5);
            let dx = b.binary(BinOp::Isub, x, five);
            let one = b.iconst(Type::I32, 1);
            let t = b.binary(BinOp::Sdiv, one, dx);
            let zero = b.iconst(Type::I32, 0);
            let z = b.binary(BinOp::Imul, t, zero);
            let r = b.binary(BinOp::Iadd, d, z);
            b.ret(vec![r]);
        } else {
            b.ret(vec![d]);
        }
    });
    let f = def(&mut m, "sort", &[P, P, P], &[P], |b, p| {
        let w = b.iconst(P, 4);
        let c = b.func_addr(cmp, P);
        b.call_extern(qsort_ext, vec![p[0], p[1], w, c], &[]);
        let first = b.load(Type::I32, p[0], 0);
        let wide = b.convert(ConvOp::Sext, first, P);
        let r = b.binary(BinOp::Iadd, p[2], wide);
        b.ret(vec![r]);
    });
    (m, f)
}

fn declare_qsort(vm: &mut Vm) {
    let ptr = ForeignType::Pointer;
    vm.declare_foreign("qsort", sig(vec![ptr, int(), int(), ptr], vec![]));
}

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn c_calls_back_into_compile_time_code() {
    let (m, sort) = qsort_module(false);
    let mut vm = vm();
    declare_qsort(&mut vm);
    let buf = buffer(&mut vm, &i32s(&[4, 1, 5, 2, 3]));
    assert_eq!(ret1(&mut vm, &m, sort, &[buf, 5, 100]), 101);
    assert_eq!(vm.read_bytes(buf, 20).unwrap(), i32s(&[1, 2, 3, 4, 5]));
}

#[test]
fn a_failing_callback_abandons_the_c_call() {
    let (m, sort) = qsort_module(true);
    let mut vm = vm();
    declare_qsort(&mut vm);
    let buf = buffer(&mut vm, &i32s(&[4, 1, 5, 2, 3]));
    let e = err(&mut vm, &m, sort, &[buf, 5, 0]);
    assert!(e.message.contains("in the call of C function `qsort`: the sx function `cmp` it called back failed"), "{}", e);
    assert!(e.message.contains("division by zero"), "{}", e);
    // Without a 5 the same comparator works: the VM recovered.
    let ok = buffer(&mut vm, &i32s(&[3, 1, 2]));
    assert_eq!(ret1(&mut vm, &m, sort, &[ok, 3, 7]), 8);
}

/// Outside a C call the fault handler changes nothing: a wild write in the compiler itself
/// still kills the process with SIGSEGV (checked in a child process: this test binary run
/// again with `SX_FAULT_CHILD` set).
#[test]
fn compiler_faults_still_crash() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("SX_FAULT_CHILD").is_some() {
        let mut m = Module::new(Target::X86_64Linux);
        let strnlen = wrapper(&mut m, "strnlen", &[P, P], P);
        let mut vm = vm();
        vm.declare_foreign("strnlen", sig(vec![ForeignType::Pointer, int()], vec![int()]));
        assert!(err(&mut vm, &m, strnlen, &[0, 1]).message.contains("null pointer"));
        let wild = std::hint::black_box(8usize) as *mut u8;
        // SAFETY: deliberately not safe: the child must die of this write.
        unsafe { std::ptr::write_volatile(wild, 1) };
        std::process::exit(0);
    }
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me)
        .args(["--exact", "compiler_faults_still_crash", "--nocapture", "--test-threads=1"])
        .env("SX_FAULT_CHILD", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(11), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}
