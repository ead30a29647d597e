//! Inline assembly on x86-64: constraints, register choice and the out-of-line wrapper.
//!
//! Cranelift has no inline assembly, so an `asm` block becomes a function of its own in a
//! generated assembly file (AT&T syntax), assembled by the system `cc` (see [`crate::asm`]).
//! The compiled code calls it with one argument, the address of an *operand frame* (8 bytes
//! per operand, in source order). The wrapper saves the callee-saved registers and the frame
//! address, moves every input from the frame into the register its constraint asks for, runs
//! the template (its `%[name]` references replaced by those registers), stores the register
//! outputs back into the frame, restores and returns. To the compiled code it is an ordinary
//! C call: the caller-saved registers are clobbered anyway and memory may change, so the
//! clobber list only keeps registers out of the operand choice. At the template the stack
//! is 16-byte aligned (a `call` in the template is well formed).
//!
//! Everything here is pure: the caller decides what each operand is ([`Operand`]); this file
//! chooses registers and writes text. No diagnostics: errors are returned as messages.

use std::fmt::Write;

/// The sixteen general-purpose registers, by their 64-bit names; index = family.
const GPRS: [&str; 16] = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

/// Byte, word and doubleword names of the first eight families (`r8`–`r15` add `b`/`w`/`d`).
const LOW_NAMES: [[&str; 3]; 8] = [
    ["al", "ax", "eax"],
    ["cl", "cx", "ecx"],
    ["dl", "dx", "edx"],
    ["bl", "bx", "ebx"],
    ["spl", "sp", "esp"],
    ["bpl", "bp", "ebp"],
    ["sil", "si", "esi"],
    ["dil", "di", "edi"],
];

/// The family index of `%rsp`, never chosen for an operand.
const RSP: usize = 4;
/// The family index of `%rdi`, which carries the frame address into the wrapper.
const RDI: usize = 7;

/// The order free registers are chosen in: caller-saved first.
const CHOICE_ORDER: [usize; 15] = [0, 1, 2, 6, 7, 8, 9, 10, 11, 3, 12, 13, 14, 15, 5];

/// The order the register that holds the frame address after the template is chosen in.
const SCRATCH_ORDER: [usize; 15] = [11, 10, 9, 8, 0, 1, 2, 6, 7, 3, 12, 13, 14, 15, 5];

/// Callee-saved registers the wrapper saves (and restores in reverse).
const SAVED: [&str; 6] = ["rbp", "rbx", "r12", "r13", "r14", "r15"];

/// A general-purpose register family (`0` = `rax` … `15` = `r15`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gpr(usize);

impl Gpr {
    /// The register's name for an operand of `bytes` bytes.
    fn name(self, bytes: u64) -> String {
        let i = self.0;
        match (bytes, i) {
            (8, _) => GPRS[i].to_string(),
            (1..=4, 0..=7) => LOW_NAMES[i][match bytes {
                1 => 0,
                2 => 1,
                _ => 2,
            }]
            .to_string(),
            (1, _) => format!("{}b", GPRS[i]),
            (2, _) => format!("{}w", GPRS[i]),
            _ => format!("{}d", GPRS[i]),
        }
    }
}

/// The register family a name of any width denotes (`eax`, `al`, `r8d` → its family).
pub(crate) fn gpr_named(name: &str) -> Option<Gpr> {
    if let Some(i) = GPRS.iter().position(|g| *g == name) {
        return Some(Gpr(i));
    }
    if let Some(i) = LOW_NAMES.iter().position(|n| n.contains(&name)) {
        return Some(Gpr(i));
    }
    for suffix in ["b", "w", "d"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some(i) = GPRS.iter().position(|g| *g == base).filter(|&i| i >= 8) {
                return Some(Gpr(i));
            }
        }
    }
    None
}

/// Whether `name` may appear in `clobbers(…)`: a general-purpose, vector or x87 register, or
/// one of `cc`, `memory`, `flags`, `dirflag`, `fpsr`, `fpcr`.
pub(crate) fn is_clobber_name(name: &str) -> bool {
    let numbered = |prefix: &str, n: u32| name.strip_prefix(prefix).and_then(|d| d.parse::<u32>().ok()).is_some_and(|d| d < n);
    gpr_named(name).is_some()
        || matches!(name, "cc" | "memory" | "flags" | "dirflag" | "fpsr" | "fpcr" | "st")
        || numbered("xmm", 32)
        || numbered("ymm", 32)
        || numbered("zmm", 32)
        || numbered("k", 8)
        || numbered("st", 8)
        || numbered("mm", 8)
}

/// What a constraint asks for, after its `=`/`+`/`&`/`*` prefixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A register, a given one or any.
    Reg(Option<Gpr>),
    /// A memory operand (`m`).
    Mem,
    /// An immediate (`i`, `n`).
    Imm,
    /// A symbol (`s`): the name itself.
    Sym,
    /// The same register as output number `n` (`"0"`).
    Tied(usize),
}

/// A parsed constraint string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Constraint {
    /// `=…` or `+…`.
    pub output: bool,
    /// `+…`: read and written.
    pub read_write: bool,
    /// `*`: the operand is the address of the memory the template uses.
    pub indirect: bool,
    pub class: Class,
}

/// Parses a constraint; the error says what is wrong with it.
pub(crate) fn parse_constraint(text: &str) -> Result<Constraint, String> {
    let mut rest = text;
    let (mut output, mut read_write, mut indirect) = (false, false, false);
    if let Some(r) = rest.strip_prefix('=') {
        output = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        output = true;
        read_write = true;
        rest = r;
    }
    // Early-clobber: every operand gets a register of its own here, so it always holds.
    rest = rest.strip_prefix('&').unwrap_or(rest);
    if let Some(r) = rest.strip_prefix('*') {
        indirect = true;
        rest = r;
    }
    // Alternatives (`r,m`): the first one is used.
    let first = rest.split(',').next().unwrap_or("");
    let class = if let Some(reg) = first.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        match gpr_named(reg) {
            Some(g) if g.0 == RSP => return Err("the stack pointer cannot be an asm operand".to_string()),
            Some(g) => Class::Reg(Some(g)),
            None => return Err(format!("not supported yet: asm operand register '{{{}}}' (only general-purpose registers)", reg)),
        }
    } else if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        Class::Tied(first.parse().map_err(|_| format!("bad operand number in asm constraint \"{}\"", text))?)
    } else {
        letters_class(first).ok_or_else(|| {
            if first.is_empty() {
                format!("asm constraint \"{}\" names no register or operand kind", text)
            } else {
                format!("not supported yet: asm constraint \"{}\" (supported: r, m, i, n, s, a, b, c, d, S, D, {{reg}}, a digit)", text)
            }
        })?
    };
    Ok(Constraint { output, read_write, indirect, class })
}

/// The class of a set of constraint letters: a register when one is allowed, else memory,
/// an immediate or a symbol.
fn letters_class(letters: &str) -> Option<Class> {
    let pinned = |c: char| match c {
        'a' => Some(0),
        'b' => Some(3),
        'c' => Some(1),
        'd' => Some(2),
        'S' => Some(6),
        'D' => Some(7),
        _ => None,
    };
    if letters.chars().count() == 1 {
        if let Some(i) = letters.chars().next().and_then(pinned) {
            return Some(Class::Reg(Some(Gpr(i))));
        }
    }
    let known = |c: char| matches!(c, 'r' | 'q' | 'R' | 'g' | 'm' | 'o' | 'V' | 'i' | 'n' | 's' | 'X');
    if !letters.chars().all(known) {
        return None;
    }
    let has = |set: &str| letters.chars().any(|c| set.contains(c));
    Some(if has("rqRgX") {
        Class::Reg(None)
    } else if has("moV") {
        Class::Mem
    } else if has("in") {
        Class::Imm
    } else {
        Class::Sym
    })
}

/// How the wrapper fills an operand before the template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    /// Nothing (a write-only output, an immediate, a symbol).
    None,
    /// The frame word (a value or, for memory through a place, an address) into the register.
    Word,
    /// The address of the frame word into the register (memory operands held in the frame).
    FrameAddress,
}

/// What the template sees for an operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Render {
    /// The register, named for a value of this many bytes.
    Reg(u64),
    /// `(%reg)`: memory at the address in the register.
    Mem,
    /// `$value`.
    Imm(i128),
    /// The bare symbol.
    Sym(String),
}

/// One operand as the caller decided it.
#[derive(Clone, Debug)]
pub(crate) struct Operand {
    /// The name `%[name]` uses (explicit, or the pinned register as written), if any.
    pub name: Option<String>,
    /// A specific register, when the constraint pins one.
    pub pin: Option<Gpr>,
    /// Whether it needs a register at all (register and memory operands do).
    pub needs_reg: bool,
    /// The output number whose register an input shares (`"0"`).
    pub tied: Option<usize>,
    /// Whether it is an output (counts for `"N"` ties).
    pub output: bool,
    pub load: Load,
    /// Whether the register is stored back into the frame after the template.
    pub store: bool,
    pub render: Render,
}

/// A generated wrapper: its symbol and the assembly file's text.
pub(crate) struct Wrapper {
    pub symbol: String,
    pub text: String,
}

/// The wrapper of `template` with `operands` (in source order, frame word `i` at `8 * i`),
/// registers in `clobbered` kept free of operands. `symbol_of` names it from the text's hash.
pub(crate) fn wrapper(
    template: &str,
    operands: &[Operand],
    clobbered: &[Gpr],
    symbol_of: impl Fn(&str) -> String,
) -> Result<Wrapper, String> {
    let regs = choose_registers(operands, clobbered)?;
    let body = rewrite_template(template, operands, &regs)?;
    let mut code = String::new();
    for r in SAVED {
        let _ = writeln!(code, "\tpushq %{}", r);
    }
    let _ = writeln!(code, "\tpushq %rdi");
    // The frame register is loaded last: it may be an operand's register itself.
    let mut loads: Vec<(usize, Gpr)> = vec![];
    for (i, op) in operands.iter().enumerate() {
        if let (Some(r), true) = (regs[i], op.load != Load::None) {
            loads.push((i, r));
        }
    }
    loads.sort_by_key(|(_, r)| r.0 == RDI);
    for (i, r) in loads {
        let insn = if operands[i].load == Load::FrameAddress { "leaq" } else { "movq" };
        let _ = writeln!(code, "\t{} {}(%rdi), %{}", insn, 8 * i, r.name(8));
    }
    code.push_str(&body);
    if !body.ends_with('\n') {
        code.push('\n');
    }
    // The template may have switched syntax.
    code.push_str("\t.att_syntax prefix\n");
    let stores: Vec<(usize, Gpr)> =
        operands.iter().enumerate().filter(|(_, op)| op.store).filter_map(|(i, _)| regs[i].map(|r| (i, r))).collect();
    if !stores.is_empty() {
        let busy: Vec<usize> = stores.iter().map(|(_, r)| r.0).collect();
        let Some(&scratch) = SCRATCH_ORDER.iter().find(|g| !busy.contains(g)) else {
            return Err("too many asm outputs: no register is left to store them".to_string());
        };
        let _ = writeln!(code, "\tmovq (%rsp), %{}", GPRS[scratch]);
        for (i, r) in stores {
            let _ = writeln!(code, "\tmovq %{}, {}(%{})", r.name(8), 8 * i, GPRS[scratch]);
        }
    }
    let _ = writeln!(code, "\tleaq 8(%rsp), %rsp");
    for r in SAVED.iter().rev() {
        let _ = writeln!(code, "\tpopq %{}", r);
    }
    code.push_str("\tret\n");
    let symbol = symbol_of(&code);
    let text = format!(
        "# generated by sx: an inline assembly block\n\t.text\n\t.globl {s}\n\t.type {s}, @function\n\t.p2align 4\n{s}:\n{code}\t.size {s}, .-{s}\n\t.section .note.GNU-stack,\"\",@progbits\n",
        s = symbol,
        code = code
    );
    Ok(Wrapper { symbol, text })
}

/// The text of a naked function `symbol` whose body is `template` (`%%` is `%`).
pub(crate) fn naked_function(symbol: &str, template: &str) -> Result<String, String> {
    let body = rewrite_template(template, &[], &[])?;
    Ok(format!(
        "# generated by sx: a naked function\n\t.text\n\t.globl {s}\n\t.type {s}, @function\n\t.p2align 4\n{s}:\n{body}\n\t.size {s}, .-{s}\n\t.section .note.GNU-stack,\"\",@progbits\n",
        s = symbol,
        body = body
    ))
}

/// A register for every operand that needs one: pinned ones as pinned (an input and an
/// output may pin the same register; two inputs or two outputs may not), ties share their
/// output's, the rest are chosen from the registers nobody pins or clobbers.
fn choose_registers(operands: &[Operand], clobbered: &[Gpr]) -> Result<Vec<Option<Gpr>>, String> {
    let mut regs: Vec<Option<Gpr>> = vec![None; operands.len()];
    let mut taken: Vec<usize> = clobbered.iter().map(|g| g.0).collect();
    taken.push(RSP);
    for (i, op) in operands.iter().enumerate() {
        let Some(p) = op.pin else { continue };
        let clash = operands[..i].iter().any(|o| o.pin == Some(p) && o.output == op.output);
        if clash {
            let what = if op.output { "outputs" } else { "inputs" };
            return Err(format!("two asm {} use register {}", what, GPRS[p.0]));
        }
        regs[i] = Some(p);
        taken.push(p.0);
    }
    let outputs: Vec<usize> = operands.iter().enumerate().filter(|(_, o)| o.output).map(|(i, _)| i).collect();
    for (i, op) in operands.iter().enumerate() {
        if regs[i].is_some() || !op.needs_reg || op.tied.is_some() {
            continue;
        }
        let Some(&g) = CHOICE_ORDER.iter().find(|g| !taken.contains(g)) else {
            return Err("too many asm operands: no general-purpose register is left".to_string());
        };
        regs[i] = Some(Gpr(g));
        taken.push(g);
    }
    for (i, op) in operands.iter().enumerate() {
        let Some(n) = op.tied else { continue };
        let Some(&out) = outputs.get(n) else {
            return Err(format!("asm input tied to output {} but there are {} outputs", n, outputs.len()));
        };
        let (Some(r), Render::Reg(_)) = (regs[out], &operands[out].render) else {
            return Err(format!("asm input tied to output {}, which is not in a register", n));
        };
        regs[i] = Some(r);
    }
    Ok(regs)
}

/// The template with `%[name]`/`%[name:mod]` replaced by the operands, `%%` by `%` and `%=`
/// by a number unique to the block; any other text is kept (`$` and `%reg` included).
fn rewrite_template(template: &str, operands: &[Operand], regs: &[Option<Gpr>]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, n)| n) {
            Some('%') => {
                chars.next();
                out.push('%');
            }
            Some('=') => {
                chars.next();
                out.push('0');
            }
            Some('[') => {
                let rest = &template[i + 2..];
                let Some(close) = rest.find(']') else { return Err("unterminated `%[` in the asm template".to_string()) };
                let inner = &rest[..close];
                let (name, modifier) = match inner.split_once(':') {
                    Some((n, m)) => (n, Some(m)),
                    None => (inner, None),
                };
                let Some(k) = operands.iter().position(|o| o.name.as_deref() == Some(name)) else {
                    return Err(format!("the asm template references `%[{}]` but no operand is named `{}`", name, name));
                };
                out.push_str(&render(&operands[k], regs[k], modifier)?);
                for _ in 0..close + 2 {
                    chars.next();
                }
            }
            _ => out.push('%'),
        }
    }
    Ok(out)
}

/// The text of operand `op` (in register `reg`) under `modifier`: `b`/`w`/`k`/`q` name a
/// register at 8/16/32/64 bits, `c` prints an immediate or symbol bare.
fn render(op: &Operand, reg: Option<Gpr>, modifier: Option<&str>) -> Result<String, String> {
    let width = match modifier {
        None | Some("c") | Some("P") => None,
        Some("b") => Some(1),
        Some("w") => Some(2),
        Some("k") => Some(4),
        Some("q") => Some(8),
        Some(m) => return Err(format!("not supported yet: asm operand modifier `:{}` (supported: b, w, k, q, c)", m)),
    };
    let bare = matches!(modifier, Some("c") | Some("P"));
    Ok(match (&op.render, reg) {
        (Render::Reg(bytes), Some(r)) => format!("%{}", r.name(width.unwrap_or(*bytes))),
        (Render::Mem, Some(r)) => format!("(%{})", r.name(8)),
        (Render::Imm(v), _) if bare => v.to_string(),
        (Render::Imm(v), _) => format!("${}", v),
        (Render::Sym(s), _) => s.clone(),
        (Render::Reg(_) | Render::Mem, None) => return Err("internal: an asm operand has no register".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg_op(name: &str, pin: Option<&str>, output: bool, load: Load, store: bool) -> Operand {
        Operand {
            name: Some(name.to_string()),
            pin: pin.and_then(gpr_named),
            needs_reg: true,
            tied: None,
            output,
            load,
            store,
            render: Render::Reg(8),
        }
    }

    #[test]
    fn constraints_parse() {
        let c = parse_constraint("={rax}").unwrap();
        assert!(c.output && !c.read_write && c.class == Class::Reg(gpr_named("rax")));
        assert_eq!(parse_constraint("+r").unwrap().read_write, true);
        let m = parse_constraint("=*m").unwrap();
        assert!(m.indirect && m.class == Class::Mem);
        assert_eq!(parse_constraint("0").unwrap().class, Class::Tied(0));
        assert_eq!(parse_constraint("D").unwrap().class, Class::Reg(gpr_named("rdi")));
        assert_eq!(parse_constraint("rm").unwrap().class, Class::Reg(None));
        assert!(parse_constraint("x").is_err());
        assert!(parse_constraint("{rsp}").is_err());
        assert_eq!(gpr_named("r9d"), gpr_named("r9"));
        assert_eq!(Gpr(8).name(1), "r8b");
        assert_eq!(Gpr(6).name(1), "sil");
    }

    #[test]
    fn the_frame_register_is_loaded_last_and_outputs_go_back() {
        let ops = [
            reg_op("ret", Some("rax"), true, Load::None, true),
            reg_op("n", Some("rax"), false, Load::Word, false),
            reg_op("fd", Some("rdi"), false, Load::Word, false),
            reg_op("buf", None, false, Load::Word, false),
        ];
        let w = wrapper("syscall # %[buf] 100%%", &ops, &[gpr_named("rcx").unwrap()], |_| "f".to_string()).unwrap();
        let lines: Vec<&str> = w.text.lines().map(str::trim).collect();
        let at = |s: &str| lines.iter().position(|l| *l == s).unwrap_or_else(|| panic!("{s} missing:\n{}", w.text));
        assert!(at("movq 8(%rdi), %rax") < at("movq 16(%rdi), %rdi"));
        assert!(at("movq 16(%rdi), %rdi") < at("syscall # %rdx 100%"));
        assert!(at("movq %rax, 0(%r11)") > at("movq (%rsp), %r11"));
    }

    #[test]
    fn unknown_template_names_are_errors() {
        let ops = [reg_op("a", None, false, Load::Word, false)];
        assert!(wrapper("mov %[b], %rax", &ops, &[], |_| "f".to_string()).is_err());
    }
}
