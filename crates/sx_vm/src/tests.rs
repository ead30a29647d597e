//! Unit tests of the bytecode text of single translated functions ([`crate::function_bytecode`]).

use sx_ir::builder::FunctionBuilder;
use sx_ir::{BinOp, FuncId, Function, IntCC, Module, Signature, Target, Type, Value};

/// Adds a function with `params` and `rets` to `m`, built by `build` from the entry parameters.
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

fn text(m: &Module, f: FuncId) -> String {
    crate::function_bytecode(m, &m.funcs[f]).unwrap_or_else(|e| panic!("translation failed: {}", e))
}

#[test]
fn add_is_one_op() {
    let mut m = Module::new(Target::X86_64Linux);
    let f = def(&mut m, "add", &[Type::I64, Type::I64], &[Type::I64], |b, p| {
        let s = b.binary(BinOp::Iadd, p[0], p[1]);
        b.ret(vec![s]);
    });
    assert_eq!(text(&m, f), "fn add (params 2, regs 4):\n  0: r2 = add64 r0, r1\n  1: ret1 r2\n");
}

#[test]
fn compare_with_constant_fuses_into_inverted_immediate_branch() {
    let mut m = Module::new(Target::X86_64Linux);
    let f = def(&mut m, "small", &[Type::I64], &[Type::I64], |b, p| {
        let ten = b.iconst(Type::I64, 10);
        let c = b.icmp(IntCC::Slt, p[0], ten);
        let (yes, no) = (b.create_block(), b.create_block());
        b.branch(c, yes, vec![], no, vec![]);
        b.switch_to_block(yes);
        let one = b.iconst(Type::I64, 1);
        b.ret(vec![one]);
        b.switch_to_block(no);
        let zero = b.iconst(Type::I64, 0);
        b.ret(vec![zero]);
    });
    let want =
        "fn small (params 1, regs 6):\n  0: br_sge_i r0, 10, @3\n  1: r3 = const 0x1\n  2: ret1 r3\n  3: r4 = const 0x0\n  4: ret1 r4\n";
    assert_eq!(text(&m, f), want);
}

#[test]
fn calls_slots_and_memory_ops_show_their_operands() {
    let mut m = Module::new(Target::X86_64Linux);
    let id = def(&mut m, "id", &[Type::I64], &[Type::I64], |b, p| b.ret(vec![p[0]]));
    let f = def(&mut m, "through_slot", &[Type::I64], &[Type::I64], |b, p| {
        let slot = b.create_slot(8, 8);
        let addr = b.stack_addr(slot, Type::I64);
        b.store(addr, 0, p[0]);
        let x = b.load(Type::I64, addr, 0);
        let y = b.call(id, vec![x], &[Type::I64]);
        b.ret(y);
    });
    let want = "fn through_slot (params 1, regs 5, slots 8/8):\n  0: r1 = stack_addr slot0\n  1: store64 r1, r0, 0\n  2: r2 = load64 r1, 0\n  3: call fn0, (r2) -> (r3)\n  4: ret1 r3\n";
    assert_eq!(text(&m, f), want);
    assert_eq!(text(&m, id), "fn id (params 1, regs 2):\n  0: ret1 r0\n");
}

#[test]
fn loops_hoist_constants_and_rotate_the_back_edge() {
    let mut m = Module::new(Target::X86_64Linux);
    // sum = 0; i = 0; while i < n { sum += i; i += 1 }; return sum
    let f = def(&mut m, "sum_below", &[Type::I64], &[Type::I64], |b, p| {
        let zero = b.iconst(Type::I64, 0);
        let head = b.create_block();
        let i = b.append_block_param(head, Type::I64);
        let sum = b.append_block_param(head, Type::I64);
        let (body, exit) = (b.create_block(), b.create_block());
        b.jump(head, vec![zero, zero]);
        b.switch_to_block(head);
        let c = b.icmp(IntCC::Slt, i, p[0]);
        b.branch(c, body, vec![], exit, vec![]);
        b.switch_to_block(body);
        let sum2 = b.binary(BinOp::Iadd, sum, i);
        let one = b.iconst(Type::I64, 1);
        let i2 = b.binary(BinOp::Iadd, i, one);
        b.jump(head, vec![i2, sum2]);
        b.switch_to_block(exit);
        b.ret(vec![sum]);
    });
    // The constant 0 is materialised once before the entry block; the header test is an
    // inverted 64-bit compare-and-branch; the back edge is rotated into the test (@6), so an
    // iteration dispatches three ops.
    let want = "fn sum_below (params 1, regs 9):
  0: r1 = const 0x0
  1: r2 = mov r1
  2: r3 = mov r1
  3: br_sge r2, r0, @8
  4: r3 = add64 r3, r2
  5: r2 = add_imm64 r2, 1
  6: br_slt r2, r0, @4
  7: jmp @8
  8: ret1 r3
";
    assert_eq!(text(&m, f), want);
}

#[test]
fn malformed_functions_report_the_translator_error() {
    let mut m = Module::new(Target::X86_64Linux);
    let f = def(&mut m, "open_end", &[], &[Type::I64], |b, _| {
        b.iconst(Type::I64, 1);
    });
    let e = crate::function_bytecode(&m, &m.funcs[f]).unwrap_err();
    assert!(e.contains("does not end in a terminator"), "{}", e);
    let listing = crate::module_bytecode(&m);
    assert!(listing.starts_with("fn open_end: error: "), "{}", listing);
}
