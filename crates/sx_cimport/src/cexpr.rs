//! C constant expressions: a small tree both enum values / array lengths (from lang-c's
//! syntax tree) and macro bodies (from our own tokenizer) are converted to, C literal
//! parsing, and an evaluator with C's integer promotions and usual arithmetic conversions.

use crate::model::{CType, FloatKind, IntKind, Model};

/// The width of a floating constant (`long double` constants are recognised, then refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FloatWidth {
    Float,
    Double,
    LongDouble,
}

/// A constant expression.
#[derive(Clone, Debug)]
pub(crate) enum CExpr {
    Int(i128, IntKind),
    Float(f64, FloatWidth),
    Str(Vec<u8>),
    Ident(String),
    Unary(UnOp, Box<CExpr>),
    Binary(BinOp, Box<CExpr>, Box<CExpr>),
    Cond(Box<CExpr>, Box<CExpr>, Box<CExpr>),
    Cast(CType, Box<CExpr>),
    SizeofType(CType),
    SizeofExpr(Box<CExpr>),
    AlignofType(CType),
    /// Something that is not a constant; the text says what.
    NotConstant(String),
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Plus,
    Not,
    Complement,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

/// The value of a constant expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// The value (already wrapped to its type) and its C type.
    Int(i128, IntKind),
    Float(f64, FloatWidth),
    Str(Vec<u8>),
}

/// Resolves identifiers met while evaluating (macros, enumerators).
pub(crate) trait Names {
    /// The value of `name`, or why it has none.
    fn lookup(&mut self, name: &str) -> Result<Value, String>;
}

/// Wraps `v` to the range of `k`.
pub(crate) fn wrap(model: &Model, v: i128, k: IntKind) -> i128 {
    if k == IntKind::Bool {
        return (v != 0) as i128;
    }
    let bits = model.int_size(k) * 8;
    let mask: i128 = (1i128 << bits) - 1;
    let low = v & mask;
    if k.signed() && low >> (bits - 1) & 1 == 1 {
        low - (1i128 << bits)
    } else {
        low
    }
}

/// Whether `v` fits `k` without wrapping.
fn fits(model: &Model, v: i128, k: IntKind) -> bool {
    wrap(model, v, k) == v
}

/// The type of an integer literal (C11 6.4.4.1) with the given suffix.
pub(crate) fn literal_int_type(model: &Model, value: u128, decimal: bool, unsigned: bool, longs: u8) -> Option<IntKind> {
    let v = i128::try_from(value).ok()?;
    let signed_list: &[IntKind] = match longs {
        0 => &[IntKind::Int, IntKind::Long, IntKind::LongLong],
        1 => &[IntKind::Long, IntKind::LongLong],
        _ => &[IntKind::LongLong],
    };
    let unsigned_list: &[IntKind] = match longs {
        0 => &[IntKind::UInt, IntKind::ULong, IntKind::ULongLong],
        1 => &[IntKind::ULong, IntKind::ULongLong],
        _ => &[IntKind::ULongLong],
    };
    if unsigned {
        return unsigned_list.iter().copied().find(|k| fits(model, v, *k));
    }
    for k in signed_list {
        if fits(model, v, *k) {
            return Some(*k);
        }
        // Octal and hex literals may take the unsigned type of the same rank.
        if !decimal && fits(model, v, k.to_unsigned()) {
            return Some(k.to_unsigned());
        }
    }
    None
}

/// Parses the digits of an integer literal in `radix` (`'` separators allowed).
pub(crate) fn parse_digits(digits: &str, radix: u32) -> Option<u128> {
    let mut v: u128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '\'' {
            continue;
        }
        let d = c.to_digit(radix)?;
        v = v.checked_mul(radix as u128)?.checked_add(d as u128)?;
        any = true;
    }
    any.then_some(v)
}

/// Parses a hexadecimal floating literal's text after `0x` (`1.8p3`).
pub(crate) fn parse_hex_float(text: &str) -> Option<f64> {
    let (mant, exp) = match text.find(['p', 'P']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    Some(v * 2f64.powi(exp))
}

/// Decodes the body of a C character or string literal (between the quotes) to bytes.
pub(crate) fn unescape(body: &str) -> Option<Vec<u8>> {
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i)?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' | b'E' => out.push(27),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let v = u32::from_str_radix(std::str::from_utf8(&b[start..i]).ok()?, 16).ok()?;
                out.push(u8::try_from(v).ok()?);
            }
            b'0'..=b'7' => {
                let start = i - 1;
                while i < b.len() && i < start + 3 && (b'0'..=b'7').contains(&b[i]) {
                    i += 1;
                }
                let v = u32::from_str_radix(std::str::from_utf8(&b[start..i]).ok()?, 8).ok()?;
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Parses one C string-literal token (with its quotes); wide and UTF-16/32 literals are refused.
pub(crate) fn parse_string_token(tok: &str) -> Result<Vec<u8>, String> {
    let body = if let Some(rest) = tok.strip_prefix("u8") { rest } else { tok };
    if !body.starts_with('"') {
        return Err("a wide or Unicode string literal".into());
    }
    let inner = body.get(1..body.len().saturating_sub(1)).filter(|_| body.len() >= 2 && body.ends_with('"'));
    inner.and_then(unescape).ok_or_else(|| "a malformed string literal".to_string())
}

/// Parses one C character literal token (with its quotes) as an `int`.
pub(crate) fn parse_char_token(tok: &str) -> Result<i128, String> {
    if !tok.starts_with('\'') {
        return Err("a wide or Unicode character literal".into());
    }
    let inner = tok.get(1..tok.len().saturating_sub(1)).filter(|_| tok.len() >= 2 && tok.ends_with('\''));
    let bytes = inner.and_then(unescape).ok_or_else(|| "a malformed character literal".to_string())?;
    match bytes.as_slice() {
        // `char` is signed: '\xff' is -1.
        [b] => Ok(*b as i8 as i128),
        _ => Err("a multi-character constant".into()),
    }
}

/// Integer promotion (C11 6.3.1.1).
fn promote(_model: &Model, k: IntKind) -> IntKind {
    if k.rank() < IntKind::Int.rank() {
        IntKind::Int
    } else {
        k
    }
}

/// The common type of the usual arithmetic conversions for two integer types.
fn common_int(model: &Model, a: IntKind, b: IntKind) -> IntKind {
    let (a, b) = (promote(model, a), promote(model, b));
    if a == b {
        return a;
    }
    if a.signed() == b.signed() {
        return if a.rank() >= b.rank() { a } else { b };
    }
    let (s, u) = if a.signed() { (a, b) } else { (b, a) };
    if u.rank() >= s.rank() {
        u
    } else if model.int_size(s) > model.int_size(u) {
        s
    } else {
        s.to_unsigned()
    }
}

/// Evaluates constant expressions against a model (for `sizeof`) and a name resolver.
pub(crate) struct Evaluator<'m, 'n> {
    pub(crate) model: &'m Model,
    pub(crate) names: &'n mut dyn Names,
    depth: u32,
}

impl<'m, 'n> Evaluator<'m, 'n> {
    /// An evaluator over `model` resolving identifiers through `names`.
    pub(crate) fn new(model: &'m Model, names: &'n mut dyn Names) -> Self {
        Evaluator { model, names, depth: 0 }
    }

    /// Evaluates `e`.
    pub(crate) fn eval(&mut self, e: &CExpr) -> Result<Value, String> {
        if self.depth > 400 {
            return Err("the expression nests too deeply".into());
        }
        self.depth += 1;
        let r = self.eval_inner(e);
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, e: &CExpr) -> Result<Value, String> {
        let m = self.model;
        match e {
            CExpr::Int(v, k) => Ok(Value::Int(wrap(m, *v, *k), *k)),
            CExpr::Float(v, w) => Ok(Value::Float(*v, *w)),
            CExpr::Str(s) => Ok(Value::Str(s.clone())),
            CExpr::Ident(name) => self.names.lookup(name),
            CExpr::NotConstant(what) => Err(what.clone()),
            CExpr::Unary(op, x) => {
                let v = self.eval(x)?;
                self.unary(*op, v)
            }
            CExpr::Binary(op, a, b) => self.binary(*op, a, b),
            CExpr::Cond(c, t, f) => {
                let c = truth(&self.eval(c)?)?;
                let (tv, fv) = (self.eval(t)?, self.eval(f)?);
                let ty_probe = self.arith_pair(tv.clone(), fv.clone())?;
                let chosen = if c { tv } else { fv };
                match ty_probe {
                    Pair::Ints(_, _, k) => self.convert(chosen, &CType::Int(k)),
                    Pair::Floats(_, _, w) => Ok(Value::Float(as_f64(&chosen)?, w)),
                }
            }
            CExpr::Cast(ty, x) => {
                let v = self.eval(x)?;
                self.convert(v, ty)
            }
            CExpr::SizeofType(ty) => match m.layout(ty) {
                Some(l) => Ok(Value::Int(l.size as i128, size_type(m))),
                None => Err("`sizeof` of a type without a known layout".into()),
            },
            CExpr::AlignofType(ty) => match m.layout(ty) {
                Some(l) => Ok(Value::Int(l.align as i128, size_type(m))),
                None => Err("`_Alignof` of a type without a known layout".into()),
            },
            CExpr::SizeofExpr(x) => {
                let size = match self.eval(x)? {
                    Value::Int(_, k) => m.int_size(k),
                    Value::Float(_, FloatWidth::Float) => 4,
                    Value::Float(_, FloatWidth::Double) => 8,
                    Value::Float(_, FloatWidth::LongDouble) => 16,
                    Value::Str(s) => s.len() as u64 + 1,
                };
                Ok(Value::Int(size as i128, size_type(m)))
            }
        }
    }

    fn unary(&mut self, op: UnOp, v: Value) -> Result<Value, String> {
        let m = self.model;
        match (op, v) {
            (UnOp::Not, v) => Ok(Value::Int(!truth(&v)? as i128, IntKind::Int)),
            (_, Value::Str(_)) => Err("arithmetic on a string".into()),
            (UnOp::Plus, Value::Int(v, k)) => Ok(Value::Int(v, promote(m, k))),
            (UnOp::Neg, Value::Int(v, k)) => {
                let k = promote(m, k);
                Ok(Value::Int(wrap(m, -v, k), k))
            }
            (UnOp::Complement, Value::Int(v, k)) => {
                let k = promote(m, k);
                Ok(Value::Int(wrap(m, !v, k), k))
            }
            (UnOp::Plus, f @ Value::Float(..)) => Ok(f),
            (UnOp::Neg, Value::Float(v, w)) => Ok(Value::Float(-v, w)),
            (UnOp::Complement, Value::Float(..)) => Err("`~` on a floating value".into()),
        }
    }

    fn binary(&mut self, op: BinOp, a: &CExpr, b: &CExpr) -> Result<Value, String> {
        // `&&` and `||` do not evaluate their right side when the left decides.
        if matches!(op, BinOp::And | BinOp::Or) {
            let l = truth(&self.eval(a)?)?;
            if (op == BinOp::And && !l) || (op == BinOp::Or && l) {
                return Ok(Value::Int(l as i128, IntKind::Int));
            }
            let r = truth(&self.eval(b)?)?;
            return Ok(Value::Int(r as i128, IntKind::Int));
        }
        let (l, r) = (self.eval(a)?, self.eval(b)?);
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            return self.shift(op, l, r);
        }
        let m = self.model;
        match self.arith_pair(l, r)? {
            Pair::Ints(x, y, k) => {
                let v = match op {
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Div | BinOp::Rem if y == 0 => return Err("division by zero".into()),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitXor => Some(x ^ y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::Lt => return Ok(Value::Int((x < y) as i128, IntKind::Int)),
                    BinOp::Gt => return Ok(Value::Int((x > y) as i128, IntKind::Int)),
                    BinOp::Le => return Ok(Value::Int((x <= y) as i128, IntKind::Int)),
                    BinOp::Ge => return Ok(Value::Int((x >= y) as i128, IntKind::Int)),
                    BinOp::Eq => return Ok(Value::Int((x == y) as i128, IntKind::Int)),
                    BinOp::Ne => return Ok(Value::Int((x != y) as i128, IntKind::Int)),
                    BinOp::Shl | BinOp::Shr | BinOp::And | BinOp::Or => None,
                };
                let v = v.ok_or_else(|| "integer overflow".to_string())?;
                Ok(Value::Int(wrap(m, v, k), k))
            }
            Pair::Floats(x, y, w) => {
                let v = match op {
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Lt => return Ok(Value::Int((x < y) as i128, IntKind::Int)),
                    BinOp::Gt => return Ok(Value::Int((x > y) as i128, IntKind::Int)),
                    BinOp::Le => return Ok(Value::Int((x <= y) as i128, IntKind::Int)),
                    BinOp::Ge => return Ok(Value::Int((x >= y) as i128, IntKind::Int)),
                    BinOp::Eq => return Ok(Value::Int((x == y) as i128, IntKind::Int)),
                    BinOp::Ne => return Ok(Value::Int((x != y) as i128, IntKind::Int)),
                    BinOp::Rem | BinOp::BitAnd | BinOp::BitXor | BinOp::BitOr | BinOp::Shl | BinOp::Shr | BinOp::And | BinOp::Or => {
                        return Err("an integer operator on a floating value".into())
                    }
                };
                Ok(Value::Float(v, w))
            }
        }
    }

    fn shift(&mut self, op: BinOp, l: Value, r: Value) -> Result<Value, String> {
        let m = self.model;
        let (Value::Int(x, k), Value::Int(n, _)) = (l, r) else {
            return Err("a shift of a non-integer".into());
        };
        let k = promote(m, k);
        let bits = (m.int_size(k) * 8) as i128;
        if n < 0 || n >= bits {
            return Err("a shift by more than the width".into());
        }
        let x = wrap(m, x, k);
        let v = if op == BinOp::Shl {
            if x < 0 {
                return Err("a left shift of a negative value".into());
            }
            x << n
        } else {
            x >> n
        };
        Ok(Value::Int(wrap(m, v, k), k))
    }

    fn arith_pair(&self, l: Value, r: Value) -> Result<Pair, String> {
        let m = self.model;
        match (l, r) {
            (Value::Int(x, a), Value::Int(y, b)) => {
                let k = common_int(m, a, b);
                Ok(Pair::Ints(wrap(m, x, k), wrap(m, y, k), k))
            }
            (Value::Float(x, a), Value::Float(y, b)) => Ok(Pair::Floats(x, y, a.max(b))),
            (Value::Float(x, a), Value::Int(y, _)) => Ok(Pair::Floats(x, y as f64, a)),
            (Value::Int(x, _), Value::Float(y, b)) => Ok(Pair::Floats(x as f64, y, b)),
            (Value::Str(_), _) | (_, Value::Str(_)) => Err("arithmetic on a string".into()),
        }
    }

    /// Converts `v` to `ty` as a C cast does.
    pub(crate) fn convert(&self, v: Value, ty: &CType) -> Result<Value, String> {
        let m = self.model;
        match m.resolve(ty) {
            CType::Int(k) => match v {
                Value::Int(x, _) => Ok(Value::Int(wrap(m, x, *k), *k)),
                Value::Float(f, _) => {
                    if !f.is_finite() || f.abs() >= 1e30 {
                        return Err("a floating value out of the integer range".into());
                    }
                    let x = f.trunc() as i128;
                    if *k != IntKind::Bool && !fits(m, x, *k) {
                        return Err("a floating value out of the integer range".into());
                    }
                    Ok(Value::Int(if *k == IntKind::Bool { (f != 0.0) as i128 } else { x }, *k))
                }
                Value::Str(_) => Err("a string converted to an integer".into()),
            },
            CType::Enum(id) => {
                let k = m.enum_int(*id);
                self.convert(v, &CType::Int(k))
            }
            CType::Float(fk) => {
                let w = match fk {
                    FloatKind::Float => FloatWidth::Float,
                    FloatKind::Double => FloatWidth::Double,
                };
                let x = as_f64(&v)?;
                Ok(Value::Float(if w == FloatWidth::Float { x as f32 as f64 } else { x }, w))
            }
            CType::Pointer(_) => Err("a pointer value".into()),
            CType::Void => Err("a cast to void".into()),
            other => Err(format!("a cast to an unsupported type ({})", describe(other))),
        }
    }
}

enum Pair {
    Ints(i128, i128, IntKind),
    Floats(f64, f64, FloatWidth),
}

fn truth(v: &Value) -> Result<bool, String> {
    match v {
        Value::Int(x, _) => Ok(*x != 0),
        Value::Float(f, _) => Ok(*f != 0.0),
        Value::Str(_) => Err("a string used as a condition".into()),
    }
}

fn as_f64(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(x, _) => Ok(*x as f64),
        Value::Float(f, _) => Ok(*f),
        Value::Str(_) => Err("a string converted to a number".into()),
    }
}

/// `size_t`: `unsigned long`.
fn size_type(_m: &Model) -> IntKind {
    IntKind::ULong
}

fn describe(ty: &CType) -> &'static str {
    match ty {
        CType::Void => "void",
        CType::Int(_) => "integer",
        CType::Float(_) => "floating",
        CType::Pointer(_) => "pointer",
        CType::Array(..) => "array",
        CType::Function(_) => "function",
        CType::Record(_) => "struct or union",
        CType::Enum(_) => "enum",
        CType::Typedef(_) => "typedef",
        CType::Unsupported(_) => "unsupported",
    }
}
