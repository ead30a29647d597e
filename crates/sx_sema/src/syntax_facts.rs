//! Facts read off syntax alone (floor 0): predicates over declarations and type expressions,
//! hidden-name spellings, operator spellings, and the names the compiler recognises without a
//! declaration. Pure functions; nothing here sees a `Compiler`.

use crate::*;

/// Does a parameter's type expression mention a `$T` pattern?
pub(crate) fn contains_poly(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Poly { .. } => true,
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => contains_poly(i),
        ExprKind::SliceType { elem, .. } => contains_poly(elem),
        ExprKind::ArrayType { len, elem } => contains_poly(len) || contains_poly(elem),
        ExprKind::Call { args, .. } => args.iter().any(|a| contains_poly(&a.value)),
        ExprKind::ClosureType { params, ret } => {
            params.iter().any(|a| contains_poly(&a.value)) || ret.iter().flat_map(|r| r.values.iter()).any(|v| contains_poly(&v.ty))
        }
        _ => false,
    }
}

/// Does a type expression mention `Self` at any depth (`Self`, `*Self`, `[]Self`, `Box(Self)`,
/// function and closure types)?
pub(crate) fn mentions_self(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Ident(id) => id.name == "Self",
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => mentions_self(i),
        ExprKind::SliceType { elem, .. } => mentions_self(elem),
        ExprKind::ArrayType { len, elem } => mentions_self(len) || mentions_self(elem),
        ExprKind::Call { callee, args, .. } => mentions_self(callee) || args.iter().any(|a| mentions_self(&a.value)),
        ExprKind::ClosureType { params, ret } => {
            params.iter().any(|a| mentions_self(&a.value)) || ret.iter().flat_map(|r| r.values.iter()).any(|v| mentions_self(&v.ty))
        }
        ExprKind::Fn(d) => d.body.is_none() && is_self_typed_signature(d, 0),
        _ => false,
    }
}

/// Does a protocol method's signature mention `Self` past its first `skip` parameters (in a
/// later parameter or the result)? Such a method has no slot in an erased value.
pub(crate) fn is_self_typed_signature(d: &FnDecl, skip: usize) -> bool {
    d.params.iter().skip(skip).filter_map(|p| p.ty.as_ref()).any(mentions_self)
        || d.ret.iter().flat_map(|r| r.values.iter()).any(|v| mentions_self(&v.ty))
}

/// `$T: Type/P/Q` declares a type parameter bounded by protocols: the parameter's type is
/// `Type` (the bounds, like those of `$T/P`, are documentation the call checks by use).
pub(crate) fn strip_type_bounds(ty: &mut Expr) {
    let mut cur = &*ty;
    while let ExprKind::Binary { op: BinOp::Div, lhs, .. } = &cur.kind {
        cur = lhs;
    }
    if cur.span != ty.span && matches!(&cur.kind, ExprKind::Ident(id) if id.name == "Type") {
        *ty = cur.clone();
    }
}

/// Is `decl` generic (compile-time or pattern-typed parameters)?
pub(crate) fn is_generic_decl(decl: &FnDecl) -> bool {
    decl.params.iter().any(|p| p.comptime || p.ty.as_ref().map(contains_poly).unwrap_or(false))
}

/// The hidden name binding the protocol that constrains pack `name` (`..xs: P`).
pub(crate) fn pack_constraint_name(name: &str) -> String {
    format!("{}\u{0}constraint", name)
}

/// The hidden local recording the protocol an `inline for` capture of a constrained pack's
/// element is viewed through.
pub(crate) fn capture_view_name(name: &str) -> String {
    format!("{}\u{0}view", name)
}

/// True when the declared return type of a pack function is a `$R` that no parameter binds:
/// it is inferred from the body, like an omitted return type.
pub(crate) fn is_inferred_poly_ret(decl: &FnDecl, ret: &Expr, scope: &HashMap<String, ConstVal>) -> bool {
    decl.params.iter().any(|p| p.comptime && p.variadic)
        && matches!(&ret.kind, ExprKind::Poly { name, .. } if !scope.contains_key(&name.name))
}

/// The member-table key of the `#set` accessor `name`.
pub(crate) fn setter_key(name: &str) -> String {
    format!("{}\u{0}set", name)
}

/// The binary operator of a compound assignment (`+=` → `+`; plain `=` has none and is
/// never asked).
pub(crate) fn compound_binop(op: AssignOp) -> BinOp {
    match op {
        AssignOp::Add => BinOp::Add,
        AssignOp::Sub => BinOp::Sub,
        AssignOp::Mul => BinOp::Mul,
        AssignOp::Div => BinOp::Div,
        AssignOp::Rem => BinOp::Rem,
        AssignOp::BitAnd => BinOp::BitAnd,
        AssignOp::BitOr => BinOp::BitOr,
        AssignOp::BitXor => BinOp::BitXor,
        AssignOp::Shl => BinOp::Shl,
        AssignOp::Shr => BinOp::Shr,
        AssignOp::Assign => BinOp::Add,
    }
}

/// True when a return spec declares several values (`-> (A, B)`, or named slots `-> (x: A)`),
/// as opposed to a single type (`-> T`, `-> (T)`) or `-> ()`.
pub(crate) fn is_multi_return(r: &RetSpec) -> bool {
    r.values.len() >= 2 || r.values.iter().any(|s| s.name.is_some())
}

/// `_` (not written as a raw identifier) discards a value.
pub(crate) fn is_discard(id: &Ident) -> bool {
    id.name == "_" && !id.raw
}

/// `a.b.c` as written (for diagnostics).
pub(crate) fn path_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ident(id) => id.name.clone(),
        ExprKind::Field { base, name } => format!("{}.{}", path_text(base), name.name),
        _ => "…".into(),
    }
}

/// The source spelling of a binary operator.
pub(crate) fn op_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::In => "in",
        BinOp::BitAnd => "&",
        BinOp::BitXor => "^",
        BinOp::BitOr => "|",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Coalesce => "??",
        BinOp::Pipe => "|>",
    }
}

/// Prefix of the hidden field that holds an anonymous member.
pub(crate) const ANON_PREFIX: &str = "\u{0}anon";

/// Intrinsics the compiler recognises by name even without a declaration in scope.
pub(crate) const BUILTIN_INTRINSICS: &[&str] = &["sqrt", "sin", "cos", "floor", "error_name", "is_comptime"];

/// The intrinsics this module implements (recognised without an import).
pub(crate) const REFLECTION_INTRINSICS: &[&str] = &[
    "size_of",
    "align_of",
    "type_name",
    "type_of",
    "type_eq",
    "is_unsigned",
    "is_flags",
    "is_identity",
    "struct_field_count",
    "struct_field_name",
    "struct_field_type",
    "struct_field_offset",
    "struct_field_value",
    "variant_count",
    "variant_name",
    "variant_type",
    "variant_value",
    "variant_index",
    "variant_payload",
    "pointee_type",
    "any_element",
    "raw_any_data",
    "raw_make_any",
    "is_struct",
    "vector_lanes",
    "__sx_variant_tag_width",
    "has_impl",
    "__type_kind",
    "__type_flags",
    "__type_count",
    "__type_elem",
];

/// The names of the target facts.
pub(crate) const TARGET_FACTS: &[&str] = &["OS", "ARCH", "POINTER_SIZE"];

/// The compiler-API intrinsics.
pub(crate) const COMPILER_API: &[&str] = &[
    "raw_intern",
    "raw_text_of",
    "raw_find_type",
    "raw_type_kind",
    "raw_type_name",
    "raw_field_count",
    "raw_field_name",
    "raw_field_type",
    "raw_variant_value",
    "raw_pointer_to",
    "raw_declare_type",
    "raw_register_type",
];

/// The build requests of `modules/build.sx` (intrinsics serviced like the rest of the
/// compiler API).
pub(crate) const BUILD_API: &[&str] = &[
    "on_build",
    "raw_add_link_flag",
    "raw_set_output_path",
    "build_output",
    "build_target",
    "emit_object",
    "raw_build_list_count",
    "raw_build_list_at",
    "raw_link_begin",
    "raw_link_add",
    "raw_link_run",
];

/// The `$T` names introduced or used in a type expression.
pub(crate) fn poly_names(e: &Expr, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Poly { name, .. } => out.push((name.name.clone(), name.span)),
        ExprKind::AddrOf(i) | ExprKind::ManyPtrType(i) | ExprKind::OptionalType(i) => poly_names(i, out),
        ExprKind::SliceType { elem, .. } => poly_names(elem, out),
        ExprKind::ArrayType { len, elem } => {
            poly_names(len, out);
            poly_names(elem, out);
        }
        ExprKind::Call { callee, args, .. } => {
            poly_names(callee, out);
            for a in args {
                poly_names(&a.value, out);
            }
        }
        ExprKind::ClosureType { params, ret } => {
            for a in params {
                poly_names(&a.value, out);
            }
            for v in ret.iter().flat_map(|r| r.values.iter()) {
                poly_names(&v.ty, out);
            }
        }
        ExprKind::Fn(d) if d.body.is_none() => {
            for p in d.params.iter().filter_map(|p| p.ty.as_ref()) {
                poly_names(p, out);
            }
            for v in d.ret.iter().flat_map(|r| r.values.iter()) {
                poly_names(&v.ty, out);
            }
        }
        _ => {}
    }
}

/// Interns every error tag named in a file's text (`error.X`, `error { A, B }`), so the tag
/// ids and the tag-name table are complete before any code is lowered.
pub(crate) fn intern_tags_in(types: &mut TypeTable, text: &str) {
    let b = text.as_bytes();
    let ident = |i: usize| -> (usize, usize) {
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        (i, j)
    };
    let skip_ws = |mut i: usize| {
        while i < b.len() && (b[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = 0;
    while let Some(k) = text[i..].find("error") {
        let at = i + k;
        i = at + 5;
        let boundary_before = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b'#');
        let boundary_after = i >= b.len() || !(b[i].is_ascii_alphanumeric() || b[i] == b'_');
        if !boundary_before || !boundary_after {
            continue;
        }
        let j = skip_ws(i);
        if j < b.len() && b[j] == b'.' {
            let (s, e) = ident(skip_ws(j + 1));
            if e > s && !b[s].is_ascii_digit() {
                types.error_tag(&text[s..e]);
            }
        } else if j < b.len() && b[j] == b'{' {
            let mut p = j + 1;
            loop {
                p = skip_ws(p);
                let (s, e) = ident(p);
                if e == s || b[s].is_ascii_digit() {
                    break;
                }
                types.error_tag(&text[s..e]);
                p = skip_ws(e);
                if p < b.len() && (b[p] == b',' || b[p] == b';') {
                    p += 1;
                } else {
                    break;
                }
            }
        }
    }
}

/// The local names a statement declares (`x := …`, `a, b := …`, `x :: …`).
pub(crate) fn declared_names(s: &Stmt) -> Vec<&str> {
    match &s.kind {
        StmtKind::Let { names, .. } => names.iter().map(|n| n.name.as_str()).collect(),
        StmtKind::Const { name, .. } => vec![name.name.as_str()],
        StmtKind::Assign { .. }
        | StmtKind::MultiAssign { .. }
        | StmtKind::Expr(_)
        | StmtKind::Return(_)
        | StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Defer(_)
        | StmtKind::OnFail { .. }
        | StmtKind::Raise(_)
        | StmtKind::While { .. }
        | StmtKind::For(_)
        | StmtKind::Block(_)
        | StmtKind::Push { .. }
        | StmtKind::Run(_)
        | StmtKind::Insert(_)
        | StmtKind::Item(_) => vec![],
    }
}

/// The names `x := …` / `x :: …` declare in a block and in the blocks of its statements
/// (loops, bare blocks, `if`/`match` statements), in source order.
pub(crate) fn local_names_in(b: &Block) -> Vec<&Ident> {
    let mut out = vec![];
    collect_local_names(b, &mut out);
    out
}

fn collect_local_names<'a>(b: &'a Block, out: &mut Vec<&'a Ident>) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Let { names, .. } => out.extend(names.iter()),
            StmtKind::Const { name, .. } => out.push(name),
            StmtKind::While { body, .. } | StmtKind::Block(body) | StmtKind::Push { body, .. } => collect_local_names(body, out),
            StmtKind::For(f) => collect_local_names(&f.body, out),
            StmtKind::Expr(e) => collect_expr_local_names(e, out),
            StmtKind::Assign { .. }
            | StmtKind::MultiAssign { .. }
            | StmtKind::Return(_)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Defer(_)
            | StmtKind::OnFail { .. }
            | StmtKind::Raise(_)
            | StmtKind::Run(_)
            | StmtKind::Insert(_)
            | StmtKind::Item(_) => {}
        }
    }
}

fn collect_expr_local_names<'a>(e: &'a Expr, out: &mut Vec<&'a Ident>) {
    match &e.kind {
        ExprKind::Block(b) => collect_local_names(b, out),
        ExprKind::If { then, else_, .. } => {
            collect_expr_local_names(then, out);
            if let Some(e) = else_ {
                collect_expr_local_names(e, out);
            }
        }
        ExprKind::Match { arms, else_, .. } => {
            for arm in arms {
                collect_local_names(&arm.body, out);
            }
            if let Some(b) = else_ {
                collect_local_names(b, out);
            }
        }
        _ => {}
    }
}
