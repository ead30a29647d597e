//! The text IR's name of every variant of the small operator enums, defined once per variant
//! and shared by the printer ([`crate::print()`]) and the parser ([`crate::parse()`]).

use crate::*;

/// Implements `ALL`, `name` and `from_name` for an enum from one `Variant = "name"` list; the
/// generated `name` is an exhaustive `match`, so a variant without a name does not compile.
macro_rules! names {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            /// The variant's name in the text IR.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $text,)*
                }
            }
            /// The variant the text IR names `name`.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name {
                    $($text => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

names!(Type { I8 = "i8", I16 = "i16", I32 = "i32", I64 = "i64", F32 = "f32", F64 = "f64" });

names!(BinOp {
    Iadd = "iadd",
    Isub = "isub",
    Imul = "imul",
    Sdiv = "sdiv",
    Udiv = "udiv",
    Srem = "srem",
    Urem = "urem",
    And = "and",
    Or = "or",
    Xor = "xor",
    Shl = "shl",
    Sshr = "sshr",
    Ushr = "ushr",
    Fadd = "fadd",
    Fsub = "fsub",
    Fmul = "fmul",
    Fdiv = "fdiv",
});

names!(UnOp { Ineg = "ineg", Bnot = "bnot", Fneg = "fneg" });

names!(IntCC { Eq = "eq", Ne = "ne", Slt = "slt", Sle = "sle", Sgt = "sgt", Sge = "sge", Ult = "ult", Ule = "ule", Ugt = "ugt", Uge = "uge" });

names!(FloatCC { Eq = "eq", Ne = "ne", Lt = "lt", Le = "le", Gt = "gt", Ge = "ge" });

names!(ConvOp {
    Sext = "sext",
    Uext = "uext",
    Trunc = "trunc",
    FPromote = "fpromote",
    FDemote = "fdemote",
    FToS = "ftos",
    FToU = "ftou",
    SToF = "stof",
    UToF = "utof",
    Bitcast = "bitcast",
});

names!(AtomicOrdering { Relaxed = "relaxed", Acquire = "acquire", Release = "release", AcqRel = "acq_rel", SeqCst = "seq_cst" });

names!(RmwOp {
    Add = "add",
    Sub = "sub",
    And = "and",
    Or = "or",
    Xor = "xor",
    Smin = "smin",
    Smax = "smax",
    Umin = "umin",
    Umax = "umax",
    Xchg = "xchg",
});

names!(Target { X86_64Linux = "x86_64-linux", Aarch64Linux = "aarch64-linux" });

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name maps back to its variant, and no two variants of an enum share a name.
    #[test]
    fn names_round_trip() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(all: &[T], name: fn(T) -> &'static str, from: fn(&str) -> Option<T>) {
            for &v in all {
                assert_eq!(from(name(v)), Some(v), "{:?}", v);
            }
            let mut names: Vec<&str> = all.iter().map(|&v| name(v)).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), all.len());
        }
        check(Type::ALL, Type::name, Type::from_name);
        check(BinOp::ALL, BinOp::name, BinOp::from_name);
        check(UnOp::ALL, UnOp::name, UnOp::from_name);
        check(IntCC::ALL, IntCC::name, IntCC::from_name);
        check(FloatCC::ALL, FloatCC::name, FloatCC::from_name);
        check(ConvOp::ALL, ConvOp::name, ConvOp::from_name);
        check(AtomicOrdering::ALL, AtomicOrdering::name, AtomicOrdering::from_name);
        check(RmwOp::ALL, RmwOp::name, RmwOp::from_name);
        check(Target::ALL, Target::name, Target::from_name);
    }
}
