//! Two `extern` declarations of one C symbol must agree on the C function they describe: the
//! symbol is bound once, so a second view with another C signature (an `i32` where the first
//! has an `i64`, a struct by value where it has a pointer) would mis-type every call made
//! through it. Views that differ only in sx types with the same C form (`cstring`, `[*]u8`,
//! `?string` results; `i64`/`u64`) each adapt their calls and share the binding. (The
//! reference compiler also refuses sx-level differences; we do not, on purpose: a program's
//! `getenv -> cstring` must not clash with a library's `?string` view of it.)

use crate::*;
use std::collections::HashMap;
use sx_syntax::ast::{ExprKind, ItemKind};

/// What C sees of an extern declaration: its signature and its by-value struct parameters.
type CView = (sx_ir::Signature, Vec<sx_ir::ByvalParam>);

impl Compiler {
    /// Reports every extern function declaration whose C signature differs from an earlier
    /// declaration of the same C symbol (a program's own declaration is blamed before a
    /// library's).
    pub(crate) fn check_extern_views(&mut self) {
        let mut groups: Vec<(String, Vec<DeclId>)> = self.extern_decls().into_iter().filter(|(_, ids)| ids.len() > 1).collect();
        groups.sort_by_key(|(_, ids)| ids[0]);
        for (sym, ids) in groups {
            self.report_extern_views(&sym, ids);
        }
    }

    /// Reports the declarations of C symbol `sym` that differ from its first one; true when
    /// there is such a declaration.
    pub(crate) fn check_extern_symbol_views(&mut self, sym: &str) -> bool {
        let ids = self.extern_decls().remove(sym).unwrap_or_default();
        self.report_extern_views(sym, ids)
    }

    /// The extern function declarations of every loaded file, by C symbol.
    fn extern_decls(&self) -> HashMap<String, Vec<DeclId>> {
        let mut by_symbol: HashMap<String, Vec<DeclId>> = HashMap::new();
        for (id, d) in self.decls.iter() {
            // The compiler's runtime binds its own views; only their C types must agree.
            if Some(d.file) == self.runtime_file {
                continue;
            }
            let DeclKind::Item(item) = &d.kind else { continue };
            let ItemKind::Const { name, value, .. } = &item.kind else { continue };
            let ExprKind::Fn(decl) = &value.kind else { continue };
            if decl.attrs.is_extern && decl.body.is_none() && !decl.attrs.intrinsic {
                let sym = decl.attrs.extern_sym.clone().unwrap_or_else(|| name.name.clone());
                by_symbol.entry(sym).or_default().push(id);
            }
        }
        by_symbol
    }

    fn report_extern_views(&mut self, sym: &str, mut ids: Vec<DeclId>) -> bool {
        // Library declarations first, so the program's own view is the one reported.
        ids.sort_by_key(|&id| (!self.in_stdlib(self.decls[id].file), id));
        let mut first: Option<(CView, Span)> = None;
        let mut differ = false;
        for id in ids {
            let Some(sig) = self.extern_view(id) else { continue };
            let span = self.decls[id].span;
            match &first {
                None => first = Some((sig, span)),
                Some((want, at)) if *want != sig => {
                    let msg = format!(
                        "extern symbol '{}' is already bound with another C signature (at {}); two declarations of one C symbol must describe the same C function",
                        sym,
                        self.sources.location(*at)
                    );
                    self.diags.push(Diagnostic::error(span, msg));
                    differ = true;
                }
                Some(_) => {}
            }
        }
        differ
    }

    /// The C form of extern declaration `id`; `None` when it does not evaluate (its own errors
    /// are reported where it is used, not here).
    fn extern_view(&mut self, id: DeclId) -> Option<CView> {
        let before = self.diags.len();
        let view = match self.eval_decl(id) {
            // A C-variadic declaration is called through a shim per call shape: it binds
            // nothing by itself.
            Ok(ConstVal::Func(fid)) => self
                .fn_sig(fid)
                .ok()
                .filter(|sig| !sig.variadic)
                .and_then(|sig| self.c_abi(&sig).ok())
                .map(|abi| (abi.c_signature(), abi.byval())),
            _ => None,
        };
        if view.is_none() {
            self.diags.truncate(before);
        }
        view
    }
}
