//! UFCS functions a library declares for its own types reach every receiver of those types:
//! `context.allocator.alloc(u8, 3)` finds the library's `alloc :: ufcs (a: Allocator, …)`
//! although the calling file only sees the library's facade (where the module declaring
//! `alloc` is a namespace, not a flat import).

use crate::*;

impl Compiler {
    /// A `ufcs` function named `name` declared by a standard-library file whose first
    /// parameter's type is `receiver` (or a pointer to it); `None` when there is none. Only
    /// consulted after the caller's own scope has no such function.
    pub(crate) fn library_ufcs(&mut self, name: &str, receiver: TypeId, span: Span) -> R<Option<FnId>> {
        let files: Vec<FileIdx> = self.files.iter().filter(|(_, f)| f.names.contains_key(name)).map(|(i, _)| i).collect();
        for file in files {
            if !self.in_stdlib(file) {
                continue;
            }
            let Some(ConstVal::Func(fid)) = self.lookup_own(file, name, span)? else { continue };
            let decl = self.fns[fid].decl.clone();
            if !decl.attrs.ufcs {
                continue;
            }
            let Some(first) = decl.params.first().filter(|p| !p.comptime).and_then(|p| p.ty.clone()) else { continue };
            if crate::generics::mentions(&first, &crate::generics::poly_names(&decl)) {
                continue;
            }
            let (owner, outer) = (self.fns[fid].owner, self.fns[fid].local_consts.clone());
            let before = self.diags.len();
            let Ok(t) = self.eval_type_in(file, owner, &outer, &first) else {
                self.diags.truncate(before);
                continue;
            };
            if t == receiver || t == self.types.pointer(receiver) {
                return Ok(Some(fid));
            }
        }
        Ok(None)
    }
}
