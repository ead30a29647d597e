//! Editor facts recorded while lowering (floor 0, plain data): the type of every expression and
//! place lowered, the type a compile-time type expression denotes, the type of every declared
//! local, and the top-level declaration every resolved name use refers to.
//!
//! The recorder exists only in an editor analysis ([`crate::analysis`]): a normal compilation
//! has `Compiler::index == None` and its hooks cost one `Option` test each.

use crate::*;

/// What lowering saw, keyed by source spans.
#[derive(Default)]
pub(crate) struct Recorder {
    /// The type of each lowered expression or place (the last lowering wins).
    pub expr_types: HashMap<Span, TypeId>,
    /// For expressions that denote a type at compile time (`Point` in `Point.{}`), that type.
    pub type_values: HashMap<Span, TypeId>,
    /// The type of each declared local variable, by the span of its name.
    pub local_types: HashMap<Span, TypeId>,
    /// The top-level declaration each resolved name refers to, by the span of the name.
    pub uses: HashMap<Span, DeclId>,
}

impl Recorder {
    /// Records an expression at `span` of type `ty` (denoting the type `type_value`).
    pub fn expr(&mut self, span: Span, ty: TypeId, type_value: Option<TypeId>) {
        self.expr_types.insert(span, ty);
        if let Some(t) = type_value {
            self.type_values.insert(span, t);
        }
    }

    /// Records that the name `name` written at `span` refers to declaration `id`. Look-ups the
    /// compiler makes for itself (at a span that is not the name) are not uses.
    pub fn use_of(&mut self, span: Span, name: &str, id: DeclId) {
        if (span.hi - span.lo) as usize == name.len() {
            self.uses.insert(span, id);
        }
    }

    /// Records the local variable declared at `name` with type `ty`.
    pub fn local(&mut self, name: Span, ty: TypeId) {
        self.local_types.insert(name, ty);
    }
}

impl Compiler {
    /// Records (in an editor analysis) that the name `name` at `span` resolved to `id`.
    pub(crate) fn note_use(&mut self, span: Span, name: &str, id: DeclId) {
        if let Some(ix) = self.index.as_mut() {
            ix.use_of(span, name, id);
        }
    }
}
