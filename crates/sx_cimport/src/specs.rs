//! The type named by a list of C type specifiers (`unsigned long int`, `struct tm`, a typedef
//! name), shared by declarations and by the casts in macro bodies.

use crate::model::{CType, FloatKind, IntKind};

/// Counts of the basic type specifiers in one specifier list, plus a named type.
#[derive(Default)]
pub(crate) struct SpecSet {
    pub(crate) void: u8,
    pub(crate) char: u8,
    pub(crate) short: u8,
    pub(crate) int: u8,
    pub(crate) long: u8,
    pub(crate) float: u8,
    pub(crate) double: u8,
    pub(crate) signed: u8,
    pub(crate) unsigned: u8,
    pub(crate) bool: u8,
    pub(crate) complex: u8,
    pub(crate) atomic: bool,
    pub(crate) alignas: bool,
    /// A struct, union, enum, typedef name or `typeof`.
    pub(crate) named: Option<CType>,
    pub(crate) named_count: u8,
}

impl SpecSet {
    /// Records a struct/union/enum/typedef type specifier.
    pub(crate) fn named(&mut self, ty: CType) {
        self.named_count = self.named_count.saturating_add(1);
        self.named = Some(ty);
    }

    /// Records a basic type keyword; false if `word` is not one.
    pub(crate) fn keyword(&mut self, word: &str) -> bool {
        let slot = match word {
            "void" => &mut self.void,
            "char" => &mut self.char,
            "short" => &mut self.short,
            "int" => &mut self.int,
            "long" => &mut self.long,
            "float" => &mut self.float,
            "double" => &mut self.double,
            "signed" | "__signed" | "__signed__" => &mut self.signed,
            "unsigned" => &mut self.unsigned,
            "_Bool" => &mut self.bool,
            "_Complex" | "__complex__" => &mut self.complex,
            _ => return false,
        };
        *slot = slot.saturating_add(1);
        true
    }

    /// The type these specifiers name.
    pub(crate) fn resolve(&self) -> CType {
        if self.atomic {
            return CType::Unsupported("an `_Atomic` type".into());
        }
        if self.alignas {
            return CType::Unsupported("an `_Alignas` declaration".into());
        }
        if self.complex > 0 {
            return CType::Unsupported("a `_Complex` type".into());
        }
        let basics = self.void + self.char + self.short + self.int + self.long + self.float + self.double + self.bool;
        if let Some(named) = &self.named {
            if basics + self.signed + self.unsigned > 0 || self.named_count > 1 {
                return CType::Unsupported("conflicting type specifiers".into());
            }
            return named.clone();
        }
        if self.signed > 0 && self.unsigned > 0 {
            return CType::Unsupported("conflicting type specifiers".into());
        }
        let unsigned = self.unsigned > 0;
        let pick = |s: IntKind| CType::Int(if unsigned { s.to_unsigned() } else { s });
        match (self.void, self.bool, self.char, self.short, self.long, self.float, self.double) {
            (1, 0, 0, 0, 0, 0, 0) if self.int + self.signed + self.unsigned == 0 => CType::Void,
            (0, 1, 0, 0, 0, 0, 0) if self.int + self.signed + self.unsigned == 0 => CType::Int(IntKind::Bool),
            (0, 0, 1, 0, 0, 0, 0) if self.int == 0 => CType::Int(if unsigned {
                IntKind::UChar
            } else if self.signed > 0 {
                IntKind::SChar
            } else {
                IntKind::Char
            }),
            (0, 0, 0, 1, 0, 0, 0) if self.int <= 1 => pick(IntKind::Short),
            (0, 0, 0, 0, 1, 0, 0) if self.int <= 1 => pick(IntKind::Long),
            (0, 0, 0, 0, 2, 0, 0) if self.int <= 1 => pick(IntKind::LongLong),
            (0, 0, 0, 0, 0, 1, 0) if self.int + self.signed + self.unsigned == 0 => CType::Float(FloatKind::Float),
            (0, 0, 0, 0, 0, 0, 1) if self.int + self.signed + self.unsigned == 0 => CType::Float(FloatKind::Double),
            (0, 0, 0, 0, 1, 0, 1) if self.int + self.signed + self.unsigned == 0 => CType::Unsupported("`long double`".into()),
            // `int`, `signed`, `unsigned`, or nothing at all (implicit int).
            (0, 0, 0, 0, 0, 0, 0) if self.int <= 1 => pick(IntKind::Int),
            _ => CType::Unsupported("conflicting type specifiers".into()),
        }
    }
}
