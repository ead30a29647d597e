//! Integer widths of VM operations ([`W`]): masking to canonical register values and sign
//! extension. A leaf module shared by the translator, the executor, natives and FFI.

use sx_ir::Type;

/// Integer width of an operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum W {
    B8,
    B16,
    B32,
    B64,
}

impl W {
    /// The width of values of type `t` (f32 and f64 by their size).
    pub fn of(t: Type) -> W {
        match t {
            Type::I8 => W::B8,
            Type::I16 => W::B16,
            Type::I32 | Type::F32 => W::B32,
            Type::I64 | Type::F64 => W::B64,
        }
    }
    /// `v` zero-extended from this width (the canonical register value).
    #[inline(always)]
    pub fn mask(self, v: u64) -> u64 {
        match self {
            W::B8 => v as u8 as u64,
            W::B16 => v as u16 as u64,
            W::B32 => v as u32 as u64,
            W::B64 => v,
        }
    }
    /// `v` sign-extended from this width.
    #[inline(always)]
    pub fn sext(self, v: u64) -> i64 {
        match self {
            W::B8 => v as u8 as i8 as i64,
            W::B16 => v as u16 as i16 as i64,
            W::B32 => v as u32 as i32 as i64,
            W::B64 => v as i64,
        }
    }
    /// Number of bits.
    #[inline(always)]
    pub fn bits(self) -> u32 {
        match self {
            W::B8 => 8,
            W::B16 => 16,
            W::B32 => 32,
            W::B64 => 64,
        }
    }
    /// Number of bytes.
    #[inline(always)]
    pub fn bytes(self) -> usize {
        (self.bits() / 8) as usize
    }
    /// The smallest signed value of this width.
    #[inline(always)]
    pub fn smin(self) -> i64 {
        match self {
            W::B8 => i8::MIN as i64,
            W::B16 => i16::MIN as i64,
            W::B32 => i32::MIN as i64,
            W::B64 => i64::MIN,
        }
    }
}
