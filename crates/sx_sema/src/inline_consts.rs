//! Struct constants with run-time initializers: `NAME :: S.{ f = g(), … }` where a field calls
//! a function cannot be baked as a static value (the call's effects and result belong to the
//! run), so such a constant is re-lowered at each use — `NAME.f` runs the call every time
//! (`NAME :: #run g()` evaluates once). Every other constant is evaluated once at compile time.

use crate::fncx::FnCx;
use crate::*;

impl<'c> FnCx<'c> {
    /// The value of `id` when it names a struct constant of this file whose initializer
    /// calls a function: its initializer lowered here, in the constant's scope.
    pub(crate) fn inline_struct_const(&mut self, id: &Ident) -> R<Option<TV>> {
        let Some((value, file)) = self.inline_struct_const_init(id)? else { return Ok(None) };
        let (sf, so, sc) = (self.file, self.owner, self.outer_consts.clone());
        self.file = file;
        self.owner = None;
        self.outer_consts = Rc::new(HashMap::new());
        let r = self.expr(&value, None);
        self.file = sf;
        self.owner = so;
        self.outer_consts = sc;
        r.map(Some)
    }

    /// The initializer (and its file) of the struct constant `id` names when it is re-lowered
    /// at each use.
    pub(crate) fn inline_struct_const_init(&mut self, id: &Ident) -> R<Option<(Expr, FileIdx)>> {
        if id.raw || self.lookup_local(&id.name).is_some() || self.outer_consts.contains_key(&id.name) {
            return Ok(None);
        }
        let Some(ids) = self.c.files[self.file].names.get(&id.name) else { return Ok(None) };
        let [decl] = *ids.as_slice() else { return Ok(None) };
        let DeclKind::Item(item) = &self.c.decls[decl].kind else { return Ok(None) };
        let item = item.clone();
        let ItemKind::Const { ty: None, value, .. } = &item.kind else { return Ok(None) };
        let ExprKind::StructLit { ty: Some(_), fields } = &value.kind else { return Ok(None) };
        let file = self.c.decls[decl].file;
        let mut calls = false;
        for f in fields {
            let ExprKind::Call { callee, .. } = &f.value.kind else { continue };
            let ExprKind::Ident(fname) = &callee.kind else { continue };
            if let Some(ConstVal::Func(fid)) = self.c.lookup_global(file, &fname.name, fname.span)? {
                let d = &self.c.fns[fid].decl;
                calls |= d.body.is_some() && !d.attrs.is_extern;
            }
        }
        Ok(calls.then(|| (value.clone(), file)))
    }
}
