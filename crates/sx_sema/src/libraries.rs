//! `name :: #library "z";` declarations: every loaded file's libraries are recorded for the
//! driver (linked as `-lz`, loaded before a JIT run) and loaded into the compile-time VM so
//! `#run` code can call their functions.

use crate::*;

impl Compiler {
    /// Records the library `value` names if it is a `#library` expression, and loads it into
    /// the compile-time VM; a library that cannot be found is an error at `value`. Under
    /// `--sandbox` without `ffi` it is recorded but not loaded (its calls are refused anyway).
    pub(crate) fn record_library(&mut self, value: &Expr) {
        let ExprKind::Library(name) = &value.kind else { return };
        if self.libraries.contains(name) {
            return;
        }
        self.libraries.push(name.clone());
        match self.ct.vm.load_library(name) {
            Ok(()) | Err(sx_vm::LibraryError::Refused { .. }) => {}
            Err(e @ sx_vm::LibraryError::NotFound { .. }) => self.diags.push(Diagnostic::error(value.span, e.to_string())),
        }
    }
}
