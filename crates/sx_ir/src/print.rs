//! The stable textual form of the IR (`sx ir`), used by snapshot tests and read back by
//! [`crate::parse()`] (the grammar is documented there). The text is complete: every function
//! (bodies and bodiless declarations), every data object's bytes and relocations and every
//! extern's signature and by-value parameters are printed, and the debug tables when there are
//! any, so parsing it rebuilds the module (source spans and variable scopes are not printed).

use crate::entity::EntityRef;
use crate::*;
use std::fmt::Write;

/// Bytes per line of a data object's hexadecimal initialiser when it does not fit on one line.
const HEX_BYTES_PER_LINE: usize = 32;

fn list(vs: &[Value]) -> String {
    vs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

/// `(params) -> (returns)`.
pub fn sig_text(sig: &Signature) -> String {
    let p: Vec<&str> = sig.params.iter().map(|t| t.name()).collect();
    let r: Vec<&str> = sig.returns.iter().map(|t| t.name()).collect();
    format!("({}) -> ({})", p.join(", "), r.join(", "))
}

/// True for a name printed without quotes: an identifier of letters, digits, `_`, `.` and `$`
/// not starting with a digit, and not of the form `fnN`, `dataN` or `externN` (which the text
/// uses for references by number).
pub fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    if !(first.is_ascii_alphabetic() || first == '_') || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')) {
        return false;
    }
    !["fn", "data", "extern"].iter().any(|prefix| {
        name.strip_prefix(prefix).map(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).unwrap_or(false)
    })
}

/// `s` as a double-quoted string: `"` and `\` escaped, `\n`, `\t`, and `\u{…}` for other
/// control characters.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name as the text writes it: bare when possible, else quoted.
fn name_text(name: &str) -> String {
    if is_bare_name(name) {
        name.to_string()
    } else {
        quoted(name)
    }
}

/// How instructions and relocations refer to functions and externs: by name when the name is
/// unique in the module, else by number (`fn3`, `extern2`).
struct Refs {
    funcs: Vec<String>,
    externs: Vec<String>,
}

impl Refs {
    fn new(m: &Module) -> Refs {
        Refs {
            funcs: unique_refs(m.funcs.iter().map(|(id, f)| (id.to_string(), f.name.as_str()))),
            externs: unique_refs(m.externs.iter().map(|(id, e)| (id.to_string(), e.symbol.as_str()))),
        }
    }
    fn func(&self, f: FuncId) -> String {
        self.funcs.get(f.index()).cloned().unwrap_or_else(|| f.to_string())
    }
    fn ext(&self, e: ExternId) -> String {
        self.externs.get(e.index()).cloned().unwrap_or_else(|| e.to_string())
    }
}

fn unique_refs<'a>(items: impl Iterator<Item = (String, &'a str)>) -> Vec<String> {
    let items: Vec<(String, &str)> = items.collect();
    let mut count: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for (_, name) in &items {
        *count.entry(name).or_default() += 1;
    }
    items.into_iter().map(|(id, name)| if count[name] == 1 { name_text(name) } else { id }).collect()
}

/// A float constant: Rust's shortest round-tripping decimal, or the raw bits (`0x…`) for a NaN
/// other than the canonical one.
fn float_text(value: f64) -> String {
    if value.is_nan() && value.to_bits() != f64::NAN.to_bits() {
        format!("0x{:016x}", value.to_bits())
    } else {
        format!("{:?}", value)
    }
}

/// `+8` / `-8`: an offset or addend.
fn offset_text(offset: i64) -> String {
    if offset < 0 {
        format!("-{}", offset.unsigned_abs())
    } else {
        format!("+{}", offset)
    }
}

/// `v3+8` / `v3-8`.
fn address_text(addr: Value, offset: i32) -> String {
    format!("{}{}", addr, offset_text(offset.into()))
}

/// Prints one instruction (without its results).
pub fn inst_text(m: &Module, k: &InstKind) -> String {
    inst_text_with(&Refs::new(m), k)
}

fn inst_text_with(refs: &Refs, k: &InstKind) -> String {
    use InstKind::*;
    match k {
        Iconst { ty, imm } => format!("iconst.{} {}", ty.name(), imm),
        Fconst { ty, value } => format!("fconst.{} {}", ty.name(), float_text(*value)),
        Binary { op, a, b } => format!("{} {}, {}", op.name(), a, b),
        Unary { op, a } => format!("{} {}", op.name(), a),
        Icmp { cc, a, b } => format!("icmp {} {}, {}", cc.name(), a, b),
        Fcmp { cc, a, b } => format!("fcmp {} {}, {}", cc.name(), a, b),
        Convert { op, a, to } => format!("{}.{} {}", op.name(), to.name(), a),
        Select { cond, a, b } => format!("select {}, {}, {}", cond, a, b),
        Load { ty, addr, offset } => format!("load.{} {}", ty.name(), address_text(*addr, *offset)),
        Store { addr, offset, value } => format!("store {}, {}", address_text(*addr, *offset), value),
        StackAddr { slot } => format!("stack_addr {}", slot),
        DataAddr { data } => format!("data_addr {}", data),
        FuncAddr { func } => format!("func_addr {}", refs.func(*func)),
        Call { func, args } => format!("call {}({})", refs.func(*func), list(args)),
        CallExtern { ext, args } => format!("call_extern {}({})", refs.ext(*ext), list(args)),
        CallIndirect { sig, callee, args } => format!("call_indirect {} {}({})", sig_text(sig), callee, list(args)),
        MemCopy { dst, src, len } => format!("memcopy {}, {}, {}", dst, src, len),
        MemFill { dst, byte, len } => format!("memfill {}, {}, {}", dst, byte, len),
        AtomicLoad { ty, addr, order } => format!("atomic_load.{} {} {}", ty.name(), order.name(), addr),
        AtomicStore { addr, value, order } => format!("atomic_store {} {}, {}", order.name(), addr, value),
        AtomicRmw { op, addr, value, order } => format!("atomic_rmw {} {} {}, {}", op.name(), order.name(), addr, value),
        AtomicCas { addr, expected, desired, success, failure } => {
            format!("atomic_cas {} {} {}, {}, {}", success.name(), failure.name(), addr, expected, desired)
        }
        Fence { order } => format!("fence {}", order.name()),
        Jump { dest, args } => format!("jump {}({})", dest, list(args)),
        Branch { cond, then_dest, then_args, else_dest, else_args } => {
            format!("brif {}, {}({}), {}({})", cond, then_dest, list(then_args), else_dest, list(else_args))
        }
        Return { values } if values.is_empty() => "return".to_string(),
        Return { values } => format!("return {}", list(values)),
        Trap { code: TrapCode::Unreachable } => "trap unreachable".to_string(),
        Trap { code: TrapCode::User(n) } => format!("trap user {}", n),
    }
}

/// Prints a function.
pub fn print_function(m: &Module, f: &Function, out: &mut String) {
    print_function_with(&Refs::new(m), f, out);
}

fn print_function_with(refs: &Refs, f: &Function, out: &mut String) {
    let export = if f.linkage == Linkage::Export { " export" } else { "" };
    let _ = write!(out, "function {} {}{}", name_text(&f.name), sig_text(&f.sig), export);
    if !f.is_defined() {
        out.push('\n');
        return;
    }
    out.push_str(" {\n");
    for (s, d) in f.slots.iter() {
        let _ = writeln!(out, "    {} = slot {}, align {}", s, d.size, d.align);
    }
    for v in &f.debug_vars {
        let _ = writeln!(out, "    {}", debug_var_text(v));
    }
    for (b, bd) in f.blocks.iter() {
        let params: Vec<String> = bd.params.iter().map(|&v| format!("{}: {}", v, value_type_name(f, v))).collect();
        let _ = writeln!(out, "{}({}):", b, params.join(", "));
        for &i in &bd.insts {
            let Some(d) = f.insts.get(i) else {
                let _ = writeln!(out, "    ; missing {}", i);
                continue;
            };
            let text = inst_text_with(refs, &d.kind);
            if d.results.is_empty() {
                let _ = writeln!(out, "    {}", text);
            } else {
                let _ = writeln!(out, "    {} = {}", list(&d.results), text);
            }
        }
    }
    let _ = writeln!(out, "}}");
}

fn value_type_name(f: &Function, v: Value) -> &'static str {
    f.values.get(v).map(|d| d.ty.name()).unwrap_or("?")
}

/// A data object's initial bytes: a string literal when they are printable text followed by at
/// most one NUL, else hexadecimal in brackets (several lines when long). Trailing zero bytes are
/// left out (the object's size is printed separately).
fn data_bytes_text(bytes: &[u8]) -> String {
    let used = bytes.iter().rposition(|&b| b != 0).map(|p| p + 1).unwrap_or(0);
    let text_like = bytes.len() - used <= 1;
    let bytes = &bytes[..used];
    if text_like && !bytes.is_empty() && bytes.iter().all(|&b| b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b)) {
        return quoted(&String::from_utf8_lossy(bytes));
    }
    let hex = |chunk: &[u8]| chunk.iter().map(|b| format!("{:02x}", b)).collect::<String>();
    if bytes.len() <= HEX_BYTES_PER_LINE {
        return format!("[{}]", hex(bytes));
    }
    let mut out = String::from("[\n");
    for chunk in bytes.chunks(HEX_BYTES_PER_LINE) {
        let _ = writeln!(out, "    {}", hex(chunk));
    }
    out.push(']');
    out
}

fn print_data(refs: &Refs, id: DataId, d: &Data, out: &mut String) {
    let kind = if d.writable { "global" } else { "const" };
    let _ = write!(out, "{} = {} {} size {} align {} {}", id, kind, quoted(&d.name), d.bytes.len(), d.align, data_bytes_text(&d.bytes));
    for r in &d.relocs {
        let target = match r.target {
            RelocTarget::Data(x) => x.to_string(),
            RelocTarget::Func(x) => refs.func(x),
        };
        let _ = write!(out, " reloc@{}={}{}", r.offset, target, offset_text(r.addend));
    }
    out.push('\n');
}

/// Prints a whole module: target, entry, externs, data objects, then functions.
pub fn print_module(m: &Module) -> String {
    let refs = Refs::new(m);
    let mut out = String::new();
    let _ = writeln!(out, "target {}", m.target.name());
    if let Some(entry) = m.entry {
        let _ = writeln!(out, "entry {}", refs.func(entry));
    }
    for (id, e) in m.externs.iter() {
        let byval: String = e.byval.iter().map(|b| format!(" byval(param {}, {} bytes)", b.param, b.size)).collect();
        let _ = writeln!(out, "{} = extern {} {}{}", id, quoted(&e.symbol), sig_text(&e.sig), byval);
    }
    for (id, d) in m.datas.iter() {
        print_data(&refs, id, d, &mut out);
    }
    for (id, t) in m.debug_types.iter() {
        let _ = writeln!(out, "{}", debug_type_text(id, t));
    }
    for (_, f) in m.funcs.iter() {
        out.push('\n');
        print_function_with(&refs, f, &mut out);
    }
    out
}

/// The text of type `id`: `dtN = debug_type NAME SHAPE` (without a newline).
pub fn debug_type_text(id: debug::DebugTypeId, t: &debug::DebugType) -> String {
    let mut out = format!("{} = debug_type {} ", id, quoted(&t.name));
    match &t.kind {
        debug::DebugTypeKind::Scalar { encoding, size } => {
            let _ = write!(out, "scalar {} {}", encoding.name(), size);
        }
        debug::DebugTypeKind::Pointer { pointee: Some(p) } => {
            let _ = write!(out, "pointer {}", p);
        }
        debug::DebugTypeKind::Pointer { pointee: None } => out.push_str("pointer void"),
        debug::DebugTypeKind::Struct { size, fields } => {
            let _ = write!(out, "struct {}", size);
            for f in fields {
                let _ = write!(out, " field {} {} @{}", quoted(&f.name), f.ty, f.offset);
            }
        }
        debug::DebugTypeKind::Array { elem, count } => {
            let _ = write!(out, "array {} {}", elem, count);
        }
        debug::DebugTypeKind::Enum { size, signed, variants } => {
            let _ = write!(out, "enum {} {}", if *signed { "signed" } else { "unsigned" }, size);
            for (name, value) in variants {
                let _ = write!(out, " variant {} {}", quoted(name), value);
            }
        }
        debug::DebugTypeKind::Opaque { size } => {
            let _ = write!(out, "opaque {}", size);
        }
    }
    out
}

/// The text of a debug variable: `debug KIND NAME ssN dtM [ref]` (without indentation or a
/// newline).
pub fn debug_var_text(v: &debug::DebugVar) -> String {
    let by_ref = if v.by_ref { " ref" } else { "" };
    format!("debug {} {} {} {}{}", v.kind.name(), quoted(&v.name), v.slot, v.ty, by_ref)
}
