//! sx spellings of C names: words sx reserves get the backtick raw-identifier escape.

/// Words that are keywords or reserved names in sx (statement keywords, contextual words,
/// builtin type names); a C name spelled like one is written `` `name ``.
const RESERVED: &[&str] = &[
    "if",
    "else",
    "then",
    "while",
    "for",
    "break",
    "continue",
    "true",
    "false",
    "enum",
    "struct",
    "union",
    "case",
    "return",
    "defer",
    "xx",
    "and",
    "or",
    "raise",
    "try",
    "catch",
    "onfail",
    "null",
    "inline",
    "in",
    "push",
    "ufcs",
    "error",
    "private",
    "impl",
    "extern",
    "export",
    "abi",
    "noreturn",
    "intrinsic",
    "protocol",
    "void",
    "bool",
    "string",
    "cstring",
    "f32",
    "f64",
    "usize",
    "isize",
    "Type",
    "any",
    "int",
    "float",
    "Self",
    "Tuple",
    "Closure",
    "Vector",
    "context",
];

/// Whether `name` spells a builtin arbitrary-width integer type (`i1`…`i64`, `u1`…`u64`).
fn is_int_type_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('i').or_else(|| name.strip_prefix('u')) else { return false };
    !rest.is_empty()
        && !rest.starts_with('0')
        && rest.bytes().all(|b| b.is_ascii_digit())
        && rest.parse::<u32>().is_ok_and(|n| (1..=64).contains(&n))
}

/// Whether `name` is a plain identifier sx can spell at all (ASCII letters, digits, `_`).
pub(crate) fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The sx spelling of the C identifier `name`.
pub(crate) fn ident(name: &str) -> String {
    if RESERVED.contains(&name) || is_int_type_name(name) {
        format!("`{name}")
    } else {
        name.to_string()
    }
}
