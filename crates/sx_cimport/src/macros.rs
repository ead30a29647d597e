//! Object-like macros as constants: a tokenizer and parser for macro bodies (C constant
//! expressions: literals, operators, casts to arithmetic types, `sizeof`), evaluated with
//! the other macros and the enumerators as names.

use crate::cexpr::{self, BinOp, CExpr, Evaluator, FloatWidth, Names, UnOp, Value};
use crate::collect::PRELUDE_TYPES;
use crate::model::{CType, IntKind, Model};
use crate::specs::SpecSet;
use std::collections::{HashMap, HashSet};

/// One token of a macro body.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Number(String),
    Char(String),
    Str(String),
    Punct(&'static str),
}

const PUNCTS: &[&str] = &[
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "##", "->", "++", "--", "(", ")", "+", "-", "*", "/", "%", "<", ">", "&", "|", "^",
    "~", "!", "?", ":", ",", "[", "]", "{", "}", ".", ";", "#", "=",
];

fn tokenize(body: &str) -> Result<Vec<Tok>, String> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &body[start..i];
            let prefixed_literal = matches!(word, "L" | "u" | "U" | "u8") && matches!(b.get(i), Some(b'"') | Some(b'\''));
            if !prefixed_literal {
                out.push(Tok::Ident(word.to_string()));
                continue;
            }
        }
        if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            let quote = b[i];
            i += 1;
            while i < b.len() && b[i] != quote {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            if i >= b.len() {
                return Err("an unterminated literal".into());
            }
            i += 1;
            let text = body[start..i].to_string();
            out.push(if quote == b'"' { Tok::Str(text) } else { Tok::Char(text) });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            i += 1;
            while i < b.len() {
                let d = b[i];
                let exp_sign = (d == b'+' || d == b'-') && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P');
                if d.is_ascii_alphanumeric() || d == b'_' || d == b'.' || d == b'\'' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Number(body[start..i].to_string()));
            continue;
        }
        match PUNCTS.iter().find(|p| body[i..].starts_with(**p)) {
            Some(p) => {
                i += p.len();
                out.push(Tok::Punct(p));
            }
            None => return Err(format!("the character `{}`", body[i..].chars().next().unwrap_or('?'))),
        }
    }
    Ok(out)
}

/// Parses a C pp-number as an integer or floating constant.
fn number(model: &Model, text: &str) -> CExpr {
    let lower = text.to_ascii_lowercase();
    let hex = lower.starts_with("0x");
    let is_float = if hex { lower.contains('p') || lower.contains('.') } else { lower.contains('.') || lower.contains('e') };
    if is_float {
        return float_number(&lower, hex);
    }
    let digits_end = lower.trim_end_matches(['u', 'l']).len();
    let (digits, suffix) = lower.split_at(digits_end);
    let unsigned = suffix.contains('u');
    let longs = suffix.matches('l').count() as u8;
    if suffix.len() != unsigned as usize + longs as usize || longs > 2 {
        return CExpr::NotConstant(format!("the number `{text}`"));
    }
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        (2, bin)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    match cexpr::parse_digits(body, radix).and_then(|v| cexpr::literal_int_type(model, v, radix == 10, unsigned, longs).map(|k| (v, k))) {
        Some((v, k)) => CExpr::Int(v as i128, k),
        None => CExpr::NotConstant(format!("the number `{text}`")),
    }
}

fn float_number(lower: &str, hex: bool) -> CExpr {
    let (body, width) = if let Some(b) = lower.strip_suffix("f32") {
        (b, FloatWidth::Float)
    } else if let Some(b) = lower.strip_suffix("f64") {
        (b, FloatWidth::Double)
    } else if let Some(b) = lower.strip_suffix("f128").or_else(|| lower.strip_suffix("f64x")) {
        (b, FloatWidth::LongDouble)
    } else if let Some(b) = lower.strip_suffix('f') {
        (b, FloatWidth::Float)
    } else if let Some(b) = lower.strip_suffix('l') {
        (b, FloatWidth::LongDouble)
    } else {
        (lower, FloatWidth::Double)
    };
    let body: String = body.chars().filter(|c| *c != '\'').collect();
    let v = if hex { body.strip_prefix("0x").and_then(cexpr::parse_hex_float) } else { body.parse::<f64>().ok() };
    match v {
        Some(v) => CExpr::Float(if width == FloatWidth::Float { v as f32 as f64 } else { v }, width),
        None => CExpr::NotConstant(format!("the number `{lower}`")),
    }
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    model: &'a Model,
    depth: u32,
}

type P = Result<CExpr, String>;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }
    fn eat(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(format!("expected `{p}`"))
        }
    }

    fn expr(&mut self) -> P {
        self.depth += 1;
        if self.depth > 200 {
            return Err("the expression nests too deeply".into());
        }
        let r = self.conditional();
        self.depth -= 1;
        r
    }

    fn conditional(&mut self) -> P {
        let c = self.binary(0)?;
        if self.eat("?") {
            let t = self.expr()?;
            self.expect(":")?;
            let f = self.conditional()?;
            return Ok(CExpr::Cond(Box::new(c), Box::new(t), Box::new(f)));
        }
        Ok(c)
    }

    fn binary(&mut self, level: usize) -> P {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            &[("<", BinOp::Lt), (">", BinOp::Gt), ("<=", BinOp::Le), (">=", BinOp::Ge)],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else { return self.unary() };
        let mut lhs = self.binary(level + 1)?;
        loop {
            let Some(op) = ops.iter().find(|(p, _)| self.is_punct(p)).map(|(_, op)| *op) else { return Ok(lhs) };
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = CExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn unary(&mut self) -> P {
        self.depth += 1;
        if self.depth > 200 {
            return Err("the expression nests too deeply".into());
        }
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> P {
        for (p, op) in [("-", UnOp::Neg), ("+", UnOp::Plus), ("~", UnOp::Complement), ("!", UnOp::Not)] {
            if self.eat(p) {
                return Ok(CExpr::Unary(op, Box::new(self.unary()?)));
            }
        }
        if let Some(Tok::Ident(w)) = self.peek() {
            match w.as_str() {
                "__extension__" => {
                    self.pos += 1;
                    return self.unary();
                }
                "sizeof" => {
                    self.pos += 1;
                    if self.is_punct("(") && self.type_starts_at(1) {
                        self.pos += 1;
                        let ty = self.type_name()?;
                        self.expect(")")?;
                        return Ok(CExpr::SizeofType(ty));
                    }
                    return Ok(CExpr::SizeofExpr(Box::new(self.unary()?)));
                }
                "_Alignof" | "__alignof__" | "__alignof" | "alignof" => {
                    self.pos += 1;
                    self.expect("(")?;
                    let ty = self.type_name()?;
                    self.expect(")")?;
                    return Ok(CExpr::AlignofType(ty));
                }
                _ => {}
            }
        }
        if self.is_punct("(") && self.type_starts_at(1) {
            self.pos += 1;
            let ty = self.type_name()?;
            self.expect(")")?;
            let operand = self.unary()?;
            return Ok(CExpr::Cast(ty, Box::new(operand)));
        }
        self.primary()
    }

    fn primary(&mut self) -> P {
        let Some(tok) = self.peek().cloned() else { return Err("an incomplete expression".into()) };
        self.pos += 1;
        let e = match tok {
            Tok::Number(n) => number(self.model, &n),
            Tok::Char(c) => match cexpr::parse_char_token(&c) {
                Ok(v) => CExpr::Int(v, IntKind::Int),
                Err(why) => CExpr::NotConstant(why),
            },
            Tok::Str(first) => {
                let mut bytes = cexpr::parse_string_token(&first)?;
                while let Some(Tok::Str(next)) = self.peek().cloned() {
                    self.pos += 1;
                    bytes.extend(cexpr::parse_string_token(&next)?);
                }
                CExpr::Str(bytes)
            }
            Tok::Ident(name) => {
                if self.is_punct("(") {
                    return Err(format!("calls `{name}`"));
                }
                CExpr::Ident(name)
            }
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                e
            }
            Tok::Punct(p) => return Err(format!("the token `{p}`")),
        };
        if self.is_punct("[") || self.is_punct(".") || self.is_punct("->") || self.is_punct("++") || self.is_punct("--") {
            return Err("an expression that is not constant".into());
        }
        Ok(e)
    }

    /// Whether a type name starts `n` tokens ahead.
    fn type_starts_at(&self, n: usize) -> bool {
        let Some(Tok::Ident(w)) = self.peek_at(n) else { return false };
        SpecSet::default().keyword(w)
            || matches!(w.as_str(), "struct" | "union" | "enum" | "const" | "volatile" | "__const" | "_Bool")
            || self.model.typedef_by_name.contains_key(w.as_str())
            || w == "__builtin_va_list"
            || PRELUDE_TYPES.iter().any(|(p, _)| p == w)
    }

    /// Specifiers, then `*`s (an abstract declarator of pointers only).
    fn type_name(&mut self) -> Result<CType, String> {
        let mut set = SpecSet::default();
        while let Some(Tok::Ident(w)) = self.peek().cloned() {
            if matches!(w.as_str(), "const" | "volatile" | "__const" | "__volatile__" | "restrict" | "__restrict") {
                self.pos += 1;
                continue;
            }
            if set.keyword(&w) {
                self.pos += 1;
                continue;
            }
            if matches!(w.as_str(), "struct" | "union" | "enum") {
                self.pos += 1;
                let Some(Tok::Ident(tag)) = self.peek().cloned() else { return Err("a tagless type in a cast".into()) };
                self.pos += 1;
                let found = match w.as_str() {
                    "struct" => self.model.struct_tags.get(&tag).map(|id| CType::Record(*id)),
                    "union" => self.model.union_tags.get(&tag).map(|id| CType::Record(*id)),
                    _ => self.model.enum_tags.get(&tag).map(|id| CType::Enum(*id)),
                };
                set.named(found.unwrap_or_else(|| CType::Unsupported(format!("unknown type `{w} {tag}`"))));
                continue;
            }
            if set.named.is_none()
                && set.void + set.char + set.short + set.int + set.long + set.float + set.double + set.signed + set.unsigned == 0
            {
                if let Some(id) = self.model.typedef_by_name.get(&w) {
                    self.pos += 1;
                    set.named(CType::Typedef(*id));
                    continue;
                }
                if w == "__builtin_va_list" || PRELUDE_TYPES.iter().any(|(p, _)| *p == w) {
                    self.pos += 1;
                    set.named(CType::Unsupported(format!("`{w}`")));
                    continue;
                }
            }
            break;
        }
        let mut ty = set.resolve();
        while self.eat("*") {
            while matches!(self.peek(), Some(Tok::Ident(w)) if matches!(w.as_str(), "const" | "volatile" | "restrict" | "__restrict")) {
                self.pos += 1;
            }
            ty = CType::Pointer(Box::new(ty));
        }
        if !self.is_punct(")") {
            return Err("a cast to a complex type".into());
        }
        Ok(ty)
    }
}

/// Parses a macro body as a constant expression.
fn parse_body(model: &Model, body: &str) -> Result<CExpr, String> {
    let toks = tokenize(body)?;
    if toks.is_empty() {
        return Err("an empty macro".into());
    }
    let mut p = Parser { toks, pos: 0, model, depth: 0 };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err("not a single expression".into());
    }
    Ok(e)
}

/// Values of the object-like macros, memoised.
pub(crate) struct MacroValues<'m> {
    model: &'m Model,
    memo: HashMap<String, Result<Value, String>>,
    in_progress: HashSet<String>,
}

impl<'m> MacroValues<'m> {
    /// Evaluates macros against `model` (its macro table and enumerators).
    pub(crate) fn new(model: &'m Model) -> Self {
        MacroValues { model, memo: HashMap::new(), in_progress: HashSet::new() }
    }

    /// The constant value of macro `name`, or why it has none.
    pub(crate) fn value(&mut self, name: &str) -> Result<Value, String> {
        if let Some(v) = self.memo.get(name) {
            return v.clone();
        }
        let Some(m) = self.model.macros.get(name) else { return Err(format!("`{name}` is not a macro")) };
        if m.function_like {
            return Err("a function-like macro".into());
        }
        if self.in_progress.len() > 64 {
            return Err("macros nest too deeply".into());
        }
        let model = self.model;
        let body = m.body.clone();
        self.in_progress.insert(name.to_string());
        let r = parse_body(model, &body).and_then(|e| Evaluator::new(model, self).eval(&e));
        self.in_progress.remove(name);
        self.memo.insert(name.to_string(), r.clone());
        r
    }
}

impl Names for MacroValues<'_> {
    fn lookup(&mut self, name: &str) -> Result<Value, String> {
        let is_macro = self.model.macros.get(name).is_some_and(|m| !m.function_like);
        if is_macro && !self.in_progress.contains(name) {
            return self.value(name);
        }
        if let Some((v, k, _)) = self.model.enumerators.get(name) {
            return Ok(Value::Int(*v, *k));
        }
        Err(format!("refers to `{name}`, which is not a constant"))
    }
}
