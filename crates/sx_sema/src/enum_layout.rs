//! Layout-struct enums: `E :: enum struct { tag: u32; _: u32; payload: [30]u32; } { … }` (or a
//! named struct, `enum EventLayout { … }`) for C tagged unions whose memory layout is fixed.
//!
//! The struct's field `tag` (an integer at offset 0) is the discriminant and gives the enum its
//! backing type; its field `payload` is where every variant's payload lives, which must fit
//! there (size and alignment); other fields are reserved space. The enum has the struct's size
//! and alignment ([`sx_types::TypeTable::set_enum_layout`]).

use crate::*;

impl Compiler {
    /// When `backing` (the type after `enum`, written at `span`) is a struct, makes it enum
    /// `t`'s layout and returns the tag's type; `Ok(None)` when it is not a struct.
    pub(crate) fn enum_layout_backing(&mut self, t: TypeId, backing: TypeId, span: Span) -> R<Option<TypeId>> {
        let Some(def) = self.types.struct_of(backing).cloned() else { return Ok(None) };
        if def.is_union || def.tuple {
            return Ok(None);
        }
        let Some(tag) = def.fields.iter().find(|f| f.name == "tag") else {
            return self.err(span, "an enum layout struct needs an integer field 'tag' (the discriminant)");
        };
        if !self.types.is_int(tag.ty) {
            let msg = format!("the 'tag' of an enum layout struct must be an integer, not '{}'", self.types.name(tag.ty));
            return self.err(span, msg);
        }
        if tag.offset != 0 {
            return self.err(span, "not supported yet: an enum layout struct whose 'tag' is not its first field");
        }
        self.types.set_enum_layout(t, backing);
        Ok(Some(tag.ty))
    }

    /// Checks that every payload of layout enum `t` fits the layout's field `payload`.
    /// A payload is reported at its type in `ed`.
    pub(crate) fn check_enum_layout_payloads(&mut self, t: TypeId, variants: &[sx_types::EnumVariant], ed: &EnumDecl) -> R<()> {
        let Some(layout) = self.types.enum_of(t).and_then(|e| e.layout) else { return Ok(()) };
        let area = self.types.struct_of(layout).and_then(|s| s.fields.iter().find(|f| f.name == "payload")).map(|f| (f.offset, f.ty));
        let mut ok = true;
        for v in variants {
            let Some(p) = v.payload else { continue };
            let span = ed.variants.iter().find(|d| d.name.name == v.name).and_then(|d| d.payload.as_ref()).map_or(ed.span, |e| e.span);
            let Some((offset, ty)) = area else {
                let msg = format!("variant '{}' has a payload, but the enum's layout struct has no field 'payload'", v.name);
                return self.err(span, msg);
            };
            let (size, room, align) = (self.types.size_of(p), self.types.size_of(ty), self.types.align_of(p));
            if size > room || offset % align != 0 {
                let msg = format!(
                    "the payload of variant '{}' ('{}', {} bytes, aligned to {}) does not fit the layout's 'payload' ({} bytes at offset {})",
                    v.name,
                    self.types.name(p),
                    size,
                    align,
                    room,
                    offset
                );
                ok &= self.err::<()>(span, msg).is_ok();
            }
        }
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }
}
