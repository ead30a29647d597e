//! Tests of the text IR parser: a module using every construct round-trips, errors carry
//! positions, and no input makes the parser panic.

use crate::*;

const EVERYTHING: &str = r#"target x86_64-linux
entry main
extern0 = extern "write" (i32, i64, i64) -> (i64)
extern1 = extern "takes_big" (i64, i64) -> () byval(param 1, 24 bytes)
data0 = const "str.0" size 7 align 1 "hi \"x\"\n"
data1 = global "counter" size 8 align 8 []
data2 = const "table" size 24 align 8 [2a] reloc@8=data0+0 reloc@16=helper-8
data3 = const "weird name" size 40 align 8 [
    000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
    ff
]
dt0 = debug_type "i64" scalar signed 8
dt1 = debug_type "*Node" pointer dt2
dt2 = debug_type "Node" struct 16 field "value" dt0 @0 field "next" dt1 @8
dt3 = debug_type "[4]u8" array dt4 4
dt4 = debug_type "u8" scalar char 1
dt5 = debug_type "Color" enum unsigned 4 variant "red" 0 variant "blue" -1
dt6 = debug_type "*void" pointer void
dt7 = debug_type "any" opaque 16

function helper (i64) -> (i64)

function dup () -> ()

function dup () -> ()

function main () -> (i32) export {
    ss0 = slot 8, align 8
    ss1 = slot 16, align 16
    debug param "n" ss0 dt0
    debug local "node" ss1 dt2 ref
block0():
    v0 = iconst.i64 -5
    v1 = iconst.i32 7
    v2 = fconst.f64 1.5
    v3 = fconst.f32 -inf
    v4 = fconst.f64 NaN
    v5 = fconst.f64 0x7ff8000000000001
    v6 = iadd v0, v0
    v7 = isub v6, v0
    v8 = sshr v7, v1
    v9 = ineg v8
    v10 = fneg v2
    v11 = icmp ult v0, v9
    v12 = fcmp ne v2, v10
    v13 = sext.i64 v1
    v14 = fpromote.f64 v3
    v15 = select v11, v13, v0
    v16 = stack_addr ss0
    v17 = load.i32 v16-4
    store v16+8, v15
    v18 = data_addr data1
    v19 = func_addr helper
    v20 = call helper(v15)
    call fn2()
    v21 = call_extern write(v1, v18, v0)
    v22 = call_indirect (i64) -> (i64) v19(v20)
    memcopy v16, v18, v0
    memfill v16, v1, v0
    brif v12, block1(v22), block2()
block1(v23: i64):
    v24 = trunc.i32 v23
    return v24
block2():
    jump block3()
block3():
    trap user 3
block4():
    trap unreachable
}
"#;

#[test]
fn every_construct_round_trips() {
    let m = parse(EVERYTHING).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(print(&m), EVERYTHING);
    assert_eq!(verify(&m), Vec::<String>::new());
}

#[test]
fn parsed_module_has_the_written_contents() {
    let m = parse(EVERYTHING).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(m.entry, Some(FuncId(3)));
    assert_eq!(m.externs[ExternId(1)].byval, vec![ByvalParam { param: 1, size: 24 }]);
    assert_eq!(m.datas[DataId(0)].bytes, b"hi \"x\"\n");
    let table = &m.datas[DataId(2)];
    assert_eq!(table.bytes.len(), 24);
    assert_eq!(table.bytes[0], 0x2a);
    assert!(table.bytes[1..].iter().all(|&b| b == 0));
    assert_eq!(table.relocs[1], Reloc { offset: 16, target: RelocTarget::Func(FuncId(0)), addend: -8 });
    assert!(m.datas[DataId(1)].writable && !table.writable);
    assert_eq!(m.datas[DataId(3)].bytes[32], 0xff);
    assert_eq!(m.datas[DataId(3)].name, "weird name");
    assert!(!m.funcs[FuncId(0)].is_defined());
    let main = &m.funcs[FuncId(3)];
    assert_eq!(main.linkage, Linkage::Export);
    assert_eq!(main.slots[Slot(1)].align, 16);
    assert_eq!(main.debug_vars[1].name, "node");
    assert!(main.debug_vars[1].by_ref && main.debug_vars[1].kind == debug::DebugVarKind::Local);
    assert_eq!(
        m.debug_types[debug::DebugTypeId(5)].kind,
        debug::DebugTypeKind::Enum { size: 4, signed: false, variants: vec![("red".into(), 0), ("blue".into(), -1)] }
    );
    let nan = main.insts.values().find_map(|d| match d.kind {
        InstKind::Fconst { value, .. } if value.is_nan() && value.to_bits() != f64::NAN.to_bits() => Some(value.to_bits()),
        _ => None,
    });
    assert_eq!(nan, Some(0x7ff8_0000_0000_0001));
    // Result types follow from the instructions.
    let types: Vec<&str> = [17, 11, 14, 20, 22, 24].iter().map(|&v| main.values[Value(v)].ty.name()).collect();
    assert_eq!(types, ["i32", "i8", "f64", "i64", "i64", "i32"]);
}

#[test]
fn missing_debug_types_and_slots_are_reported() {
    let text = "dt0 = debug_type \"*T\" pointer dt9\n\nfunction f () -> () {\n    debug local \"x\" ss0 dt0\nblock0():\n    return\n}\n";
    let m = parse(text).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(verify(&m), ["f: debug variable `x` is in missing ss0", "dt0: refers to missing dt9"]);
}

#[test]
fn values_keep_their_numbers_and_gaps_become_placeholders() {
    let text = "function f (i64) -> (i64) {\nblock0(v3: i64):\n    v9 = iadd v3, v3\n    return v9\n}\n";
    let m = parse(text).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(m.funcs[FuncId(0)].values.len(), 10);
    assert_eq!(print(&m), format!("target x86_64-linux\n\n{}", text));
    assert_eq!(verify(&m), Vec::<String>::new());
}

#[test]
fn operand_types_may_come_from_later_blocks() {
    let text = "function f (i32) -> (i32) {\nblock0(v0: i32):\n    jump block2()\nblock1():\n    v5 = iadd v4, v4\n    return v5\nblock2():\n    v4 = imul v0, v0\n    jump block1()\n}\n";
    let m = parse(text).unwrap_or_else(|e| panic!("{}", e));
    assert_eq!(m.funcs[FuncId(0)].values[Value(5)].ty, Type::I32);
    assert_eq!(verify(&m), Vec::<String>::new());
}

fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("parsed: {}", text),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_line_and_column() {
    assert_eq!(error_of("target sparc"), "1:8: unknown target `sparc`");
    assert_eq!(error_of("function f () -> () {\nblock0():\n    v0 = frobnicate\n}\n"), "3:10: unknown instruction `frobnicate`");
    assert_eq!(
        error_of("function f () -> () {\nblock0():\n    v0 = iconst 1\n}\n"),
        "3:10: `iconst` needs a type suffix such as `iconst.i64`"
    );
    assert_eq!(error_of("function f () -> () {\nblock1():\n    return\n}\n"), "2:1: expected block0 here: these are numbered in order");
    assert_eq!(error_of("function f () -> () {\nblock0():\n    call g()\n}\n"), "3:10: unknown function `g`");
    assert_eq!(error_of("function f () -> () {\nblock0():\n    return\n"), "4:1: unterminated function body (expected `}`)");
    assert_eq!(error_of("data0 = const \"d\" size 1 align 1 [0102]"), "1:37: more than 1 initial bytes");
    assert_eq!(error_of("dt0 = debug_type \"t\" tuple 8"), "1:22: expected scalar, pointer, struct, array, enum or opaque, found `tuple`");
    assert_eq!(
        error_of("function f () -> () {\nblock0():\n    debug local \"x\" ss0 dt0\n}\n"),
        "3:5: debug variables must come before the first block"
    );
}

/// Every prefix of a valid text, and the text with each character replaced by a few others,
/// parses or fails without panicking; what parses also verifies and prints without panicking.
#[test]
fn no_input_panics() {
    let chars: Vec<(usize, char)> = EVERYTHING.char_indices().collect();
    let check = |text: &str| {
        if let Ok(m) = parse(text) {
            let _ = verify(&m);
            let _ = print(&m);
        }
    };
    for &(at, _) in &chars {
        check(&EVERYTHING[..at]);
    }
    for (n, &(at, c)) in chars.iter().enumerate() {
        for with in ['0', '9', 'v', '(', '"', '\n', '-', ' '] {
            if n % 3 == 0 && with != c {
                let mut text = EVERYTHING.to_string();
                text.replace_range(at..at + c.len_utf8(), &with.to_string());
                check(&text);
            }
        }
    }
    for junk in
        ["", "\n\n", "target", "entry", "function", "function f", "function f (", "data0 = const \"", "v99999999999 = iadd", "\u{0}"]
    {
        check(junk);
    }
}
