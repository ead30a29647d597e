//! What a debugger needs to know about a program's variables, in terms the back ends can use
//! without the front end: a module-wide table of types described as a debugger sees them
//! ([`DebugType`], already laid out for the target), and per function the sx variables that
//! live in stack slots ([`DebugVar`]). The front end fills both only when debug information
//! is asked for (`-g`); every store to a slot named here stays when the slot is promoted to SSA
//! values ([`crate::opt::promote_slots`]), so the variable's current value is in memory.
//!
//! Text form (see [`crate::parse()`]): one `dtN = debug_type …` line per type after the data
//! objects, and one `debug param|local …` line per variable after a function's slots.

use crate::entity::EntityVec;
use crate::{Inst, Slot, Span};

crate::entity!(
    /// A type of the module's debug type table ([`crate::Module::debug_types`]).
    DebugTypeId, "dt"
);

/// How the bits of a scalar are read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScalarEncoding {
    /// A two's-complement signed integer.
    Signed,
    /// An unsigned integer.
    Unsigned,
    /// An IEEE float.
    Float,
    /// A boolean (0 false, anything else true).
    Bool,
    /// A byte of text (what a string's bytes are shown as).
    Char,
}

/// A member of a struct type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugField {
    /// The member's name as sx spells it (`0`, `1`, … for tuple elements).
    pub name: String,
    /// Byte offset from the start of the struct.
    pub offset: u64,
    /// The member's type.
    pub ty: DebugTypeId,
}

/// The shape of a [`DebugType`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DebugTypeKind {
    /// An integer, float, boolean or byte of `size` bytes.
    Scalar { encoding: ScalarEncoding, size: u32 },
    /// A pointer; `None` points to nothing known (`*void`, a function).
    Pointer { pointee: Option<DebugTypeId> },
    /// A record of `size` bytes with members at fixed offsets (structs, tuples, strings and
    /// slices as `{ptr, len}`, optionals, closures, tagged unions).
    Struct { size: u64, fields: Vec<DebugField> },
    /// `count` elements of `elem`, one after the other.
    Array { elem: DebugTypeId, count: u64 },
    /// An integer of `size` bytes whose values have names.
    Enum { size: u32, signed: bool, variants: Vec<(String, i64)> },
    /// `size` bytes with no structure a debugger could show.
    Opaque { size: u64 },
}

/// A type as a debugger shows it: its sx name and its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugType {
    /// The name as sx spells it (`i64`, `Point`, `[]u8`, `*Node`).
    pub name: String,
    /// The layout.
    pub kind: DebugTypeKind,
}

/// Whether a variable is a parameter of its function or a local.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DebugVarKind {
    /// A parameter (in declaration order among the function's parameters).
    Param,
    /// A local variable (or a binding such as a loop variable or a capture).
    Local,
}

/// Instructions `start..end` (indices in creation order): the code lowered while a variable
/// was in scope.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstRange {
    /// The first instruction created after the variable was bound.
    pub start: Inst,
    /// The first instruction created after its scope had ended.
    pub end: Inst,
}

/// An sx variable of a function, living in a stack slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugVar {
    /// The name as written in the source.
    pub name: String,
    /// Parameter or local.
    pub kind: DebugVarKind,
    /// The slot holding the value (or, when `by_ref`, the value's address).
    pub slot: Slot,
    /// The slot holds a pointer to the value rather than the value (aggregate parameters).
    pub by_ref: bool,
    /// The variable's type.
    pub ty: DebugTypeId,
    /// Where the variable is declared.
    pub span: Option<Span>,
    /// The code in the variable's scope; `None` is the whole function. Like spans, not part
    /// of the text form.
    pub scope: Option<InstRange>,
}

/// The references to missing debug types in the module's table `types`.
pub fn type_problems(types: &EntityVec<DebugTypeId, DebugType>, out: &mut Vec<String>) {
    let missing = |t: DebugTypeId| types.get(t).is_none();
    for (id, t) in types.iter() {
        let refs: Vec<DebugTypeId> = match &t.kind {
            DebugTypeKind::Scalar { .. } | DebugTypeKind::Enum { .. } | DebugTypeKind::Opaque { .. } => vec![],
            DebugTypeKind::Pointer { pointee } => pointee.iter().copied().collect(),
            DebugTypeKind::Struct { fields, .. } => fields.iter().map(|f| f.ty).collect(),
            DebugTypeKind::Array { elem, .. } => vec![*elem],
        };
        for r in refs.into_iter().filter(|&r| missing(r)) {
            out.push(format!("{}: refers to missing {}", id, r));
        }
    }
}

/// The references of function `f`'s debug variables to missing slots or debug types.
pub fn var_problems(types: &EntityVec<DebugTypeId, DebugType>, f: &crate::Function, out: &mut Vec<String>) {
    for v in &f.debug_vars {
        if f.slots.get(v.slot).is_none() {
            out.push(format!("{}: debug variable `{}` is in missing {}", f.name, v.name, v.slot));
        }
        if types.get(v.ty).is_none() {
            out.push(format!("{}: debug variable `{}` has missing {}", f.name, v.name, v.ty));
        }
    }
}

impl ScalarEncoding {
    /// The word the text form uses.
    pub fn name(self) -> &'static str {
        match self {
            ScalarEncoding::Signed => "signed",
            ScalarEncoding::Unsigned => "unsigned",
            ScalarEncoding::Float => "float",
            ScalarEncoding::Bool => "bool",
            ScalarEncoding::Char => "char",
        }
    }
    /// The encoding the text form's word `w` names.
    pub fn from_name(w: &str) -> Option<ScalarEncoding> {
        [ScalarEncoding::Signed, ScalarEncoding::Unsigned, ScalarEncoding::Float, ScalarEncoding::Bool, ScalarEncoding::Char]
            .into_iter()
            .find(|e| e.name() == w)
    }
}

impl DebugVarKind {
    /// The word the text form uses.
    pub fn name(self) -> &'static str {
        match self {
            DebugVarKind::Param => "param",
            DebugVarKind::Local => "local",
        }
    }
}
