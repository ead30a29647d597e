//! Anonymous members of structs and unions: `union { data: [2]f32; struct { x, y: f32; }; }`.
//!
//! The inner aggregate becomes a hidden field (named with [`ANON_PREFIX`], which no source
//! identifier can spell) whose own fields are promoted: `v.x` reaches `x` through it, as a
//! value, a place and in struct literals. A union literal may set one member, or several
//! members of the same anonymous-struct arm.

use crate::fncx::FnCx;
use crate::type_rules::promoted_field;
use crate::*;

impl<'c> FnCx<'c> {
    /// A union literal sets one member, or members of one anonymous-struct arm: anything else
    /// would write several values over the same bytes.
    pub fn check_union_literal(&mut self, ty: TypeId, fields: &[FieldInit], span: Span) -> R<()> {
        let Some(s) = self.c.types.struct_of(ty).filter(|s| s.is_union) else { return Ok(()) };
        let names: Vec<String> = s.fields.iter().map(|f| f.name.clone()).collect();
        let mut arms = std::collections::BTreeSet::new();
        for (pos, fi) in fields.iter().enumerate() {
            let arm = match &fi.name {
                Some(n) => match names.iter().position(|f| *f == n.name) {
                    Some(i) => Some(i),
                    None => promoted_field(&self.c.types, ty, &n.name).map(|(_, _, i)| i),
                },
                None => Some(pos),
            };
            arms.extend(arm);
        }
        if arms.len() > 1 {
            let msg = format!(
                "a union literal may set only one member, or several members of the same anonymous-struct arm — '{}'s members overlay the same storage",
                self.tname(ty)
            );
            return self.err(span, msg);
        }
        Ok(())
    }
}
