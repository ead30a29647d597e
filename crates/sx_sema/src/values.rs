//! Lowered values: what an expression lowers to (floor 1, state; imports only the crate root).

use crate::*;
use sx_ir::Value;

/// Where a lowered value lives.
#[derive(Clone, Debug)]
pub(crate) enum V {
    /// Known at compile time, not yet materialised.
    Const(ConstVal),
    /// An IR scalar.
    Scalar(Value),
    /// An aggregate in memory at this address (not owned: copy before the memory changes).
    Mem(Value),
    /// No value (`void`).
    Void,
    /// Control never gets here (after `return`, `break`, a `noreturn` call).
    Never,
}

/// A typed lowered value.
#[derive(Clone, Debug)]
pub(crate) struct TV {
    pub ty: TypeId,
    pub v: V,
}

pub(crate) type R<T> = Result<T, ()>;

impl TV {
    pub fn konst(c: ConstVal) -> TV {
        TV { ty: c.ty(), v: V::Const(c) }
    }
    pub fn void() -> TV {
        TV { ty: bt::VOID, v: V::Void }
    }
    pub fn never() -> TV {
        TV { ty: bt::NORETURN, v: V::Never }
    }
    pub fn as_const(&self) -> Option<&ConstVal> {
        match &self.v {
            V::Const(c) => Some(c),
            _ => None,
        }
    }
}
