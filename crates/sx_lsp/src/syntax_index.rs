//! The syntax-level index of one file: every local binding (locals, parameters, captures, local
//! constants) with the range where it is visible, and every name written in the file with the
//! binding it refers to (lexical scoping), so that locals resolve even in code the compiler
//! did not lower (un-instantiated generics, functions nothing reaches, broken statements).

use sx_diag::{FileId, Span};
use sx_syntax::ast::*;

/// What kind of local a binding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `x := e` / `x : T = e`.
    Local,
    /// A function parameter.
    Param,
    /// A `for`/`case`/`if x :=`/`catch (e)`/`onfail (e)` capture.
    Capture,
    /// A local `name :: value`.
    Const,
}

/// A local name.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The name.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The byte range where it is visible.
    pub visible: (u32, u32),
    /// What it is.
    pub kind: BindingKind,
    /// The written type, if any.
    pub annotation: Option<Span>,
    /// Declared with `:=` (its type is inferred).
    pub inferred: bool,
}

/// How a written name is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A plain name; `binding` is the local it refers to, if any.
    Name { binding: Option<usize> },
    /// A local binding's own name (index into [`SyntaxIndex::bindings`]).
    Binding(usize),
    /// The name of a top-level declaration, a struct member or an enum variant.
    Definition,
    /// The member name of `base.name`, or a field name in the struct literal at `base`.
    Member { base: Span },
    /// The variant name of an enum literal `.name` (written at `expr`).
    Variant { expr: Span },
}

/// A name written in the file.
#[derive(Clone, Debug)]
pub struct Occurrence {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// How it is used.
    pub role: Role,
}

/// A constant declaration (`name :: value`, at any level) whose value is a type or a function.
#[derive(Clone, Debug)]
pub struct DeclBody {
    /// The declared name's span.
    pub name: Span,
    /// The value's span.
    pub value: Span,
    /// Struct/union fields and member constants, or enum variants: names and spans.
    pub members: Vec<(String, Span)>,
    /// For a function: each parameter's span, then the result's, if written.
    pub params: Option<(Vec<Span>, Option<Span>)>,
}

/// The index of one parsed file.
#[derive(Debug)]
pub struct SyntaxIndex {
    /// Every local binding, in source order.
    pub bindings: Vec<Binding>,
    /// Every written name, in source order.
    pub occurrences: Vec<Occurrence>,
    /// Every type and function declaration, in source order.
    pub decls: Vec<DeclBody>,
    /// Every `#import`: the span of its path string and the path.
    pub imports: Vec<(Span, String)>,
}

impl SyntaxIndex {
    /// Parses `text` as file `id` and indexes it.
    pub fn new(id: FileId, text: &str) -> SyntaxIndex {
        let (file, _) = sx_syntax::parse_file(id, text);
        let mut w =
            Walker { bindings: vec![], occurrences: vec![], decls: vec![], imports: vec![], scopes: vec![], block_end: vec![u32::MAX] };
        w.items(&file.items);
        let (bindings, mut occurrences, decls, imports) = (w.bindings, w.occurrences, w.decls, w.imports);
        occurrences.sort_by_key(|o| o.span.lo);
        SyntaxIndex { bindings, occurrences, decls, imports }
    }

    /// The declaration whose name or value is at `span`.
    pub fn decl_at(&self, span: Span) -> Option<&DeclBody> {
        self.decls.iter().find(|d| d.name == span || d.value == span)
    }

    /// The written name at byte `at` (the one ending there when none covers it).
    pub fn occurrence_at(&self, at: u32) -> Option<&Occurrence> {
        let covering = self.occurrences.iter().find(|o| o.span.lo <= at && at < o.span.hi);
        covering.or_else(|| self.occurrences.iter().find(|o| o.span.hi == at))
    }

    /// The bindings visible at byte `at`, innermost (latest) first.
    pub fn visible_at(&self, at: u32) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self.bindings.iter().filter(|b| b.visible.0 <= at && at <= b.visible.1 && b.span.hi <= at).collect();
        v.sort_by_key(|b| std::cmp::Reverse(b.span.lo));
        v
    }
}

/// The recursive walk that fills the index.
struct Walker {
    bindings: Vec<Binding>,
    occurrences: Vec<Occurrence>,
    decls: Vec<DeclBody>,
    imports: Vec<(Span, String)>,
    /// The lexical scopes: names with their binding indices.
    scopes: Vec<Vec<(String, usize)>>,
    /// The end of each enclosing block (a local is visible up to it).
    block_end: Vec<u32>,
}

impl Walker {
    fn push(&mut self) {
        self.scopes.push(vec![]);
    }

    fn pop(&mut self) {
        self.scopes.pop();
    }

    fn bind(&mut self, id: &Ident, visible: (u32, u32), kind: BindingKind, annotation: Option<&Expr>, inferred: bool) {
        let index = self.bindings.len();
        self.bindings.push(Binding {
            name: id.name.clone(),
            span: id.span,
            visible,
            kind,
            annotation: annotation.map(|a| a.span),
            inferred,
        });
        self.occurrences.push(Occurrence { name: id.name.clone(), span: id.span, role: Role::Binding(index) });
        if let Some(s) = self.scopes.last_mut() {
            s.push((id.name.clone(), index));
        }
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes.iter().rev().find_map(|s| s.iter().rev().find(|(n, _)| n == name).map(|(_, i)| *i))
    }

    fn note(&mut self, id: &Ident, role: Role) {
        self.occurrences.push(Occurrence { name: id.name.clone(), span: id.span, role });
    }

    /// Records `name :: value` when the value declares a type or a function.
    fn decl(&mut self, name: &Ident, value: &Expr) {
        let ids = |v: &[&Ident]| v.iter().map(|i| (i.name.clone(), i.span)).collect::<Vec<_>>();
        let (members, params) = if let ExprKind::Struct(sd) | ExprKind::Union(sd) | ExprKind::Protocol(sd) = &value.kind {
            let mut names: Vec<&Ident> = vec![];
            for m in &sd.members {
                match &m.kind {
                    MemberKind::Field { names: ns, .. } => names.extend(ns.iter()),
                    MemberKind::Const { name, .. } => names.push(name),
                    MemberKind::Using(_) | MemberKind::Anon(_) | MemberKind::Directive(_) => {}
                }
            }
            (ids(&names), None)
        } else if let ExprKind::Enum(ed) = &value.kind {
            (ids(&ed.variants.iter().map(|v| &v.name).collect::<Vec<_>>()), None)
        } else if let ExprKind::Fn(d) = &value.kind {
            (vec![], Some((d.params.iter().map(|p| p.span).collect(), d.ret.as_ref().map(|r| r.span))))
        } else {
            return;
        };
        for (n, span) in &members {
            self.occurrences.push(Occurrence { name: n.clone(), span: *span, role: Role::Definition });
        }
        self.decls.push(DeclBody { name: name.span, value: value.span, members, params });
    }

    fn items(&mut self, items: &[Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Const { name, ty, value } => {
                if self.scopes.is_empty() {
                    self.note(name, Role::Definition);
                } else {
                    self.bind(name, (item.span.lo, *self.block_end.last().unwrap_or(&u32::MAX)), BindingKind::Const, ty.as_ref(), false);
                }
                self.decl(name, value);
                self.opt(ty.as_ref());
                self.expr(value);
            }
            ItemKind::Var { names, ty, value, .. } => {
                for n in names {
                    self.note(n, Role::Definition);
                }
                self.opt(ty.as_ref());
                self.opt(value.as_ref());
            }
            ItemKind::Import { alias, path, path_span } => {
                self.imports.push((*path_span, path.clone()));
                if let Some(a) = alias {
                    self.note(a, Role::Definition);
                }
            }
            ItemKind::Run(e) | ItemKind::Insert(e) | ItemKind::Directive(e) => self.expr(e),
            ItemKind::Impl(d) => {
                self.expr(&d.protocol);
                self.opt(d.target.as_ref());
                self.items(&d.items);
            }
            ItemKind::ContextExtend { ty, default, .. } => {
                self.expr(ty);
                self.opt(default.as_ref());
            }
            ItemKind::InlineIf { cond, then, else_ } => {
                self.expr(cond);
                self.items(then);
                self.items(else_);
            }
            ItemKind::InlineMatch { subject, arms, else_ } => {
                self.expr(subject);
                for arm in arms {
                    self.exprs(&arm.patterns);
                    self.items(&arm.items);
                }
                if let Some(e) = else_ {
                    self.items(e);
                }
            }
            ItemKind::ExternVar { ty, .. } => self.expr(ty),
            ItemKind::CImport { alias, .. } => {
                if let Some(a) = alias {
                    self.note(a, Role::Definition);
                }
            }
        }
    }

    fn opt(&mut self, e: Option<&Expr>) {
        if let Some(e) = e {
            self.expr(e);
        }
    }

    fn exprs(&mut self, es: &[Expr]) {
        for e in es {
            self.expr(e);
        }
    }

    fn args(&mut self, args: &[Arg]) {
        for a in args {
            self.expr(&a.value);
        }
    }

    fn block(&mut self, b: &Block) {
        self.push();
        self.block_end.push(b.span.hi);
        self.block_inner(b);
        self.block_end.pop();
        self.pop();
    }

    fn block_inner(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
        if let Some(t) = &b.tail {
            self.expr(t);
        }
    }

    /// `b` in a new scope where `capture` (visible in `b`) is bound first.
    fn captured_block(&mut self, capture: Option<&Ident>, b: &Block) {
        self.push();
        if let Some(c) = capture {
            self.bind(c, (b.span.lo, b.span.hi), BindingKind::Capture, None, false);
        }
        self.block(b);
        self.pop();
    }

    fn cond(&mut self, c: &Cond, then: impl FnOnce(&mut Walker), visible: (u32, u32)) {
        match c {
            Cond::Expr(e) => {
                self.expr(e);
                then(self);
            }
            Cond::Bind { name, value } => {
                self.expr(value);
                self.push();
                self.bind(name, visible, BindingKind::Capture, None, false);
                then(self);
                self.pop();
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { names, ty, value, .. } => {
                self.opt(ty.as_ref());
                self.opt(value.as_ref());
                let end = *self.block_end.last().unwrap_or(&u32::MAX);
                for n in names {
                    self.bind(n, (n.span.lo, end), BindingKind::Local, ty.as_ref(), ty.is_none());
                }
            }
            StmtKind::Const { name, ty, value } => {
                let end = *self.block_end.last().unwrap_or(&u32::MAX);
                self.bind(name, (s.span.lo, end), BindingKind::Const, ty.as_ref(), false);
                self.decl(name, value);
                self.opt(ty.as_ref());
                self.expr(value);
            }
            StmtKind::Assign { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            StmtKind::MultiAssign { lhs, rhs } => {
                self.exprs(lhs);
                self.exprs(rhs);
            }
            StmtKind::Expr(e) | StmtKind::Raise(e) | StmtKind::Run(e) | StmtKind::Insert(e) => self.expr(e),
            StmtKind::Return(vals) => {
                for v in vals {
                    self.expr(&v.value);
                }
            }
            StmtKind::Break | StmtKind::Continue => {}
            StmtKind::Defer(inner) => self.stmt(inner),
            StmtKind::OnFail { binding, body } => {
                self.push();
                if let Some(b) = binding {
                    self.bind(b, (body.span.lo, body.span.hi), BindingKind::Capture, None, false);
                }
                self.stmt(body);
                self.pop();
            }
            StmtKind::While { cond, body } => self.cond(cond, |w| w.block(body), (body.span.lo, body.span.hi)),
            StmtKind::For(f) => {
                self.exprs(&f.iters);
                self.push();
                for c in &f.captures {
                    self.bind(&c.name, (f.body.span.lo, f.body.span.hi), BindingKind::Capture, None, false);
                }
                self.block(&f.body);
                self.pop();
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Push { ctx, body } => {
                self.expr(ctx);
                self.block(body);
            }
            StmtKind::Item(item) => self.item(item),
        }
    }

    fn fn_decl(&mut self, d: &FnDecl) {
        self.push();
        let visible = (d.span.lo, d.span.hi);
        for p in &d.params {
            self.opt(p.ty.as_ref());
            self.opt(p.default.as_ref());
            if let Some(n) = &p.name {
                self.bind(n, visible, BindingKind::Param, p.ty.as_ref(), false);
            }
        }
        if let Some(r) = &d.ret {
            for v in &r.values {
                self.expr(&v.ty);
                self.opt(v.default.as_ref());
                if let Some(n) = &v.name {
                    self.bind(n, visible, BindingKind::Local, Some(&v.ty), false);
                }
            }
            if let Some(e) = &r.error {
                self.opt(e.set.as_ref());
            }
        }
        self.opt(d.attrs.abi.as_ref());
        match &d.body {
            Some(Body::Block(b)) => self.block(b),
            Some(Body::Expr(e)) => self.expr(e),
            None => {}
        }
        self.pop();
    }

    fn struct_decl(&mut self, sd: &StructDecl) {
        self.push();
        if let Some(ps) = &sd.params {
            for p in ps {
                self.opt(p.ty.as_ref());
                if let Some(n) = &p.name {
                    self.bind(n, (sd.span.lo, sd.span.hi), BindingKind::Param, p.ty.as_ref(), false);
                }
            }
        }
        for m in &sd.members {
            match &m.kind {
                MemberKind::Field { ty, default, .. } => {
                    self.expr(ty);
                    self.opt(default.as_ref());
                }
                MemberKind::Const { name, ty, value } => {
                    self.decl(name, value);
                    self.opt(ty.as_ref());
                    self.expr(value);
                }
                MemberKind::Using(e) | MemberKind::Anon(e) | MemberKind::Directive(e) => self.expr(e),
            }
        }
        self.pop();
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Ident(id) => {
                let binding = self.lookup(&id.name);
                self.note(id, Role::Name { binding });
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Char(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Undef
            | ExprKind::CallerLocation
            | ExprKind::Import(_)
            | ExprKind::Library(_)
            | ExprKind::ErrorSet(_)
            | ExprKind::ErrorValue(_)
            | ExprKind::Error => {}
            ExprKind::Poly { constraint, .. } => self.opt(constraint.as_deref()),
            ExprKind::EnumLit(id) => self.note(id, Role::Variant { expr: e.span }),
            ExprKind::StructLit { ty, fields } => {
                self.opt(ty.as_deref());
                for f in fields {
                    // `x = …` names a field of the literal's type.
                    if let Some(n) = &f.name {
                        self.note(n, Role::Member { base: e.span });
                    }
                    self.expr(&f.value);
                }
            }
            ExprKind::ArrayLit { ty, elems } => {
                self.opt(ty.as_deref());
                self.exprs(elems);
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::AddrOf(expr)
            | ExprKind::Deref(expr)
            | ExprKind::AutoCast(expr)
            | ExprKind::Try(expr)
            | ExprKind::Unwrap(expr)
            | ExprKind::Run(expr)
            | ExprKind::UfcsAlias(expr)
            | ExprKind::ManyPtrType(expr)
            | ExprKind::OptionalType(expr) => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Chain { operands, .. } => self.exprs(operands),
            ExprKind::Range { lo, hi, .. } => {
                self.opt(lo.as_deref());
                self.opt(hi.as_deref());
            }
            ExprKind::Cast { expr, ty } | ExprKind::OptCast { expr, ty } => {
                self.expr(expr);
                self.expr(ty);
            }
            ExprKind::CastWithAlloc { expr, ty, alloc } => {
                self.expr(expr);
                self.expr(ty);
                self.expr(alloc);
            }
            ExprKind::Call { callee, args, .. } => {
                self.expr(callee);
                self.args(args);
            }
            ExprKind::Field { base, name } | ExprKind::OptField { base, name } => {
                self.expr(base);
                self.note(name, Role::Member { base: base.span });
            }
            ExprKind::Index { base, index } => {
                self.expr(base);
                self.expr(index);
            }
            ExprKind::Slice { base, lo, hi, .. } => {
                self.expr(base);
                self.opt(lo.as_deref());
                self.opt(hi.as_deref());
            }
            ExprKind::If { cond, then, else_, .. } => {
                self.cond(cond, |w| w.expr(then), (then.span.lo, then.span.hi));
                self.opt(else_.as_deref());
            }
            ExprKind::Match { subject, arms, else_, .. } => {
                self.expr(subject);
                for arm in arms {
                    self.exprs(&arm.patterns);
                    self.captured_block(arm.capture.as_ref().map(|c| &c.name), &arm.body);
                }
                if let Some(b) = else_ {
                    self.block(b);
                }
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Asm(a) => {
                self.expr(&a.template);
                for op in &a.operands {
                    match &op.role {
                        AsmRole::Value(e) | AsmRole::Place(e) | AsmRole::Input(e) => self.expr(e),
                    }
                }
            }
            ExprKind::Fn(d) => self.fn_decl(d),
            ExprKind::ClosureType { params, ret } => {
                self.args(params);
                if let Some(r) = ret {
                    for v in &r.values {
                        self.expr(&v.ty);
                    }
                }
            }
            ExprKind::Struct(sd) | ExprKind::Union(sd) | ExprKind::Protocol(sd) => self.struct_decl(sd),
            ExprKind::Enum(ed) => {
                self.opt(ed.backing.as_ref());
                for v in &ed.variants {
                    self.opt(v.value.as_ref());
                    self.opt(v.payload.as_ref());
                }
            }
            ExprKind::SliceType { elem, sentinel } => {
                self.expr(elem);
                self.opt(sentinel.as_deref());
            }
            ExprKind::ArrayType { len, elem } => {
                self.expr(len);
                self.expr(elem);
            }
            ExprKind::Catch { expr, clause } => {
                self.expr(expr);
                self.push();
                if let Some(b) = &clause.binding {
                    self.bind(b, (clause.body.span.lo, clause.body.span.hi), BindingKind::Capture, None, false);
                }
                self.expr(&clause.body);
                self.pop();
            }
            ExprKind::Directive(d) => {
                if let Some(a) = &d.args {
                    self.args(a);
                }
                self.opt(d.inner.as_deref());
                if let Some(b) = &d.body {
                    self.block(b);
                }
            }
            ExprKind::InitBlock { expr, body } => {
                self.expr(expr);
                self.block(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locals_resolve_lexically() {
        let src = "f :: (a: i64) -> i64 {\n    b := a + 1;\n    { b := 2; a = b; }\n    return b;\n}\n";
        let ix = SyntaxIndex::new(FileId(0), src);
        let names: Vec<(&str, BindingKind)> = ix.bindings.iter().map(|b| (b.name.as_str(), b.kind)).collect();
        assert_eq!(names, vec![("a", BindingKind::Param), ("b", BindingKind::Local), ("b", BindingKind::Local)]);
        let uses: Vec<(&str, Option<usize>)> = ix
            .occurrences
            .iter()
            .filter_map(|o| match o.role {
                Role::Name { binding } => Some((o.name.as_str(), binding)),
                Role::Binding(_) | Role::Definition | Role::Member { .. } | Role::Variant { .. } => None,
            })
            .collect();
        assert_eq!(uses, vec![("i64", None), ("i64", None), ("a", Some(0)), ("a", Some(0)), ("b", Some(2)), ("b", Some(1))]);
        let at = src.find("return").unwrap_or(0) as u32;
        let visible: Vec<&str> = ix.visible_at(at).iter().map(|b| b.name.as_str()).collect();
        assert_eq!(visible, vec!["b", "a"]);
    }
}
