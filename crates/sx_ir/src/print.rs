//! The stable textual form of the IR (`sx ir`), used by snapshot tests.

use crate::*;
use std::fmt::Write;

fn list(vs: &[Value]) -> String {
    vs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

fn sig_text(sig: &Signature) -> String {
    let p: Vec<&str> = sig.params.iter().map(|t| t.name()).collect();
    let r: Vec<&str> = sig.returns.iter().map(|t| t.name()).collect();
    format!("({}) -> ({})", p.join(", "), r.join(", "))
}

/// Prints one instruction (without its results).
pub fn inst_text(m: &Module, k: &InstKind) -> String {
    use InstKind::*;
    match k {
        Iconst { ty, imm } => format!("iconst.{} {}", ty.name(), imm),
        Fconst { ty, value } => format!("fconst.{} {:?}", ty.name(), value),
        Binary { op, a, b } => format!("{} {}, {}", format!("{:?}", op).to_lowercase(), a, b),
        Unary { op, a } => format!("{} {}", format!("{:?}", op).to_lowercase(), a),
        Icmp { cc, a, b } => format!("icmp {} {}, {}", format!("{:?}", cc).to_lowercase(), a, b),
        Fcmp { cc, a, b } => format!("fcmp {} {}, {}", format!("{:?}", cc).to_lowercase(), a, b),
        Convert { op, a, to } => format!("{}.{} {}", format!("{:?}", op).to_lowercase(), to.name(), a),
        Select { cond, a, b } => format!("select {}, {}, {}", cond, a, b),
        Load { ty, addr, offset } => format!("load.{} {}+{}", ty.name(), addr, offset),
        Store { addr, offset, value } => format!("store {}+{}, {}", addr, offset, value),
        StackAddr { slot } => format!("stack_addr {}", slot),
        DataAddr { data } => format!("data_addr {}", data),
        FuncAddr { func } => format!("func_addr {}", func_name(m, *func)),
        Call { func, args } => format!("call {}({})", func_name(m, *func), list(args)),
        CallExtern { ext, args } => {
            let name = m.externs.get(*ext).map(|e| e.symbol.as_str()).unwrap_or("?");
            format!("call_extern {}({})", name, list(args))
        }
        CallIndirect { sig, callee, args } => format!("call_indirect {} {}({})", sig_text(sig), callee, list(args)),
        MemCopy { dst, src, len } => format!("memcopy {}, {}, {}", dst, src, len),
        MemFill { dst, byte, len } => format!("memfill {}, {}, {}", dst, byte, len),
        Jump { dest, args } => format!("jump {}({})", dest, list(args)),
        Branch { cond, then_dest, then_args, else_dest, else_args } => {
            format!("brif {}, {}({}), {}({})", cond, then_dest, list(then_args), else_dest, list(else_args))
        }
        Return { values } => format!("return {}", list(values)),
        Trap { code } => format!("trap {:?}", code),
    }
}

fn func_name(m: &Module, f: FuncId) -> String {
    m.funcs.get(f).map(|f| f.name.clone()).unwrap_or_else(|| f.to_string())
}

/// Prints a function.
pub fn print_function(m: &Module, f: &Function, out: &mut String) {
    let _ = writeln!(out, "function {} {}{} {{", f.name, sig_text(&f.sig), if f.linkage == Linkage::Export { " export" } else { "" });
    for (s, d) in f.slots.iter() {
        let _ = writeln!(out, "    {} = slot {}, align {}", s, d.size, d.align);
    }
    for (b, bd) in f.blocks.iter() {
        let params: Vec<String> = bd.params.iter().map(|v| format!("{}: {}", v, f.values[*v].ty.name())).collect();
        let _ = writeln!(out, "{}({}):", b, params.join(", "));
        for &i in &bd.insts {
            let d = &f.insts[i];
            let text = inst_text(m, &d.kind);
            if d.results.is_empty() {
                let _ = writeln!(out, "    {}", text);
            } else {
                let _ = writeln!(out, "    {} = {}", list(&d.results), text);
            }
        }
    }
    let _ = writeln!(out, "}}");
}

/// Prints a whole module: externs, data objects, then functions.
pub fn print_module(m: &Module) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "target {}", m.target.name());
    for (id, e) in m.externs.iter() {
        let byval: String = e.byval.iter().map(|b| format!(" byval(param {}, {} bytes)", b.param, b.size)).collect();
        let _ = writeln!(out, "{} = extern \"{}\" {}{}", id, e.symbol, sig_text(&e.sig), byval);
    }
    for (id, d) in m.datas.iter() {
        let hex: String = d.bytes.iter().take(64).map(|b| format!("{:02x}", b)).collect();
        let more = if d.bytes.len() > 64 { "…" } else { "" };
        let _ = write!(
            out,
            "{} = {} \"{}\" size {} align {} [{}{}]",
            id,
            if d.writable { "global" } else { "const" },
            d.name,
            d.bytes.len(),
            d.align,
            hex,
            more
        );
        for r in &d.relocs {
            let t = match r.target {
                RelocTarget::Data(x) => x.to_string(),
                RelocTarget::Func(x) => func_name(m, x),
            };
            let _ = write!(out, " reloc@{}={}+{}", r.offset, t, r.addend);
        }
        out.push('\n');
    }
    for (_, f) in m.funcs.iter() {
        if f.is_defined() {
            out.push('\n');
            print_function(m, f, &mut out);
        }
    }
    out
}
