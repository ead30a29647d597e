//! Declarations: name lookup across files, lazy evaluation of top-level declarations, structs.

use crate::fncx::FnCx;
use crate::*;
use sx_types::TypeKind as TK;

impl Compiler {
    /// Looks `name` up in `file`'s scope: own declarations, then flat imports (one hop).
    pub(crate) fn lookup_global(&mut self, file: FileIdx, name: &str, span: Span) -> R<Option<ConstVal>> {
        let type_position = std::mem::take(&mut self.type_position);
        if let Some(ids) = self.files[file].names.get(name).cloned() {
            if let Some(&id) = ids.first() {
                self.note_use(span, name, id);
                return self.eval_decl(id).map(Some);
            }
        }
        let mut found: Vec<DeclId> = vec![];
        // A flat import brings its own names, which include its anonymous C units' names.
        let mut imports = self.files[file].flat_imports.clone();
        for i in 0..imports.len() {
            imports.extend_from_slice(self.c.anonymous_units(imports[i]));
        }
        for imp in imports {
            if let Some(ids) = self.files[imp].names.get(name) {
                for &id in ids {
                    if !self.decls[id].private && !found.contains(&id) {
                        found.push(id);
                    }
                }
            }
        }
        match found.len() {
            0 if name == "context" => self.program_context(span),
            0 => self.compiler_provided(name, span),
            1 => {
                self.note_use(span, name, found[0]);
                self.eval_decl(found[0]).map(Some)
            }
            _ => {
                // The same entity imported through two paths is not ambiguous.
                let mut vals = vec![];
                for id in &found {
                    vals.push(self.eval_decl(*id)?);
                }
                if vals.iter().all(|v| *v == vals[0]) {
                    return Ok(Some(vals.swap_remove(0)));
                }
                // The same C symbol declared by several files is one function.
                let sym = |c: &Compiler, v: &ConstVal| match v {
                    ConstVal::Func(f) if c.fns[*f].decl.attrs.is_extern => {
                        let d = &c.fns[*f];
                        Some(d.decl.attrs.extern_sym.clone().unwrap_or_else(|| d.name.clone()))
                    }
                    _ => None,
                };
                let s0 = sym(self, &vals[0]);
                if s0.is_some() && vals.iter().all(|v| sym(self, v) == s0) {
                    return Ok(Some(vals.swap_remove(0)));
                }
                // A module imported on purpose shadows the prelude (std.sx) for a shared name.
                let std = self.std_file.or_else(|| self.find_std());
                let not_prelude: Vec<usize> = (0..found.len()).filter(|&i| Some(self.decls[found[i]].file) != std).collect();
                if not_prelude.len() == 1 && found.len() == 2 {
                    return Ok(Some(vals.swap_remove(not_prelude[0])));
                }
                // Where a type is expected (`impl P for S`, `x: P`), declarations that are not
                // types do not compete.
                let types: Vec<usize> = (0..vals.len()).filter(|&i| matches!(vals[i], ConstVal::Type(_))).collect();
                if type_position && types.len() == 1 {
                    return Ok(Some(vals.swap_remove(types[0])));
                }
                self.err(span, format!("'{}' is ambiguous: it is declared by more than one imported file", name))
            }
        }
    }

    /// `ns.name`: the namespace file's own public names (and its flat imports).
    pub(crate) fn lookup_in_namespace(&mut self, file: FileIdx, name: &str, span: Span) -> R<Option<ConstVal>> {
        if let Some(ids) = self.files[file].names.get(name).cloned() {
            if let Some(&id) = ids.iter().find(|&&id| !self.decls[id].private) {
                self.note_use(span, name, id);
                return self.eval_decl(id).map(Some);
            }
            if !ids.is_empty() {
                return self.err(span, format!("'{}' is private to its file", name));
            }
        }
        if let Some(builtin) = self.language_intrinsic(name) {
            return Ok(Some(builtin));
        }
        // The names of the file's anonymous C units are its own.
        for unit in self.c.anonymous_units(file).to_vec() {
            if let Some(&id) = self.files[unit].names.get(name).and_then(|ids| ids.first()) {
                return self.eval_decl(id).map(Some);
            }
        }
        // Names the module only flat-imports are not its members, except namespace aliases,
        // which carry one hop.
        let imports = self.files[file].flat_imports.clone();
        for f in imports {
            let ids = self.files[f].names.get(name).cloned().unwrap_or_default();
            if let Some(&id) = ids.iter().find(|&&id| !self.decls[id].private && matches!(self.decls[id].kind, DeclKind::Namespace(_))) {
                return self.eval_decl(id).map(Some);
            }
        }
        Ok(None)
    }

    /// A file's own declaration `name` (used to find std helpers).
    pub(crate) fn lookup_own(&mut self, file: FileIdx, name: &str, _span: Span) -> R<Option<ConstVal>> {
        match self.files[file].names.get(name).and_then(|v| v.first().copied()) {
            Some(id) => self.eval_decl(id).map(Some),
            None => Ok(None),
        }
    }

    /// True for a file under one of the standard-library directories.
    pub(crate) fn in_stdlib(&self, file: FileIdx) -> bool {
        let canon = self.file_by_path.iter().find(|(_, f)| **f == file).map(|(p, _)| p.clone());
        let Some(path) = canon else { return false };
        self.paths.stdlib.iter().any(|d| std::fs::canonicalize(d).map(|d| path.starts_with(d)).unwrap_or(false))
    }

    /// The loaded standard-library file whose path ends with `suffix` (e.g. `std/meta.sx`).
    pub(crate) fn loaded_stdlib_file(&self, suffix: &str) -> Option<FileIdx> {
        let found = self.file_by_path.iter().find(|(p, _)| p.ends_with(suffix)).map(|(_, f)| *f)?;
        self.in_stdlib(found).then_some(found)
    }

    /// The file that declares the `print` intrinsic, if loaded.
    pub(crate) fn find_std(&mut self) -> Option<FileIdx> {
        for (i, f) in self.files.iter() {
            if f.names.contains_key("__sx_fmt_flush") {
                self.std_file = Some(i);
                return self.std_file;
            }
        }
        None
    }

    /// Evaluates a top-level declaration (memoised).
    pub(crate) fn eval_decl(&mut self, id: DeclId) -> R<ConstVal> {
        match &self.decls[id].state {
            DeclState::Done(c) => return Ok(c.clone()),
            DeclState::Failed => return Err(()),
            DeclState::InProgress => {
                let span = self.decls[id].span;
                let name = self.decls[id].name.clone();
                // A type built by `declare("name")` may refer to itself (`*name`) in its body.
                if let Some(t) = self.forward_type_for(&name, span) {
                    return Ok(ConstVal::Type(t));
                }
                return self.err(span, format!("'{}' depends on itself", name));
            }
            DeclState::Todo => {}
        }
        self.decls[id].state = DeclState::InProgress;
        let r = self.eval_decl_inner(id);
        self.decls[id].state = match &r {
            Ok(c) => DeclState::Done(c.clone()),
            Err(()) => DeclState::Failed,
        };
        r
    }

    fn eval_decl_inner(&mut self, id: DeclId) -> R<ConstVal> {
        let d = &self.decls[id];
        let (file, name, span) = (d.file, d.name.clone(), d.span);
        match d.kind.clone() {
            DeclKind::Namespace(f) => Ok(ConstVal::Namespace(f)),
            DeclKind::Global(item, idx) => self.eval_global(id, &item, idx),
            DeclKind::Item(item) => {
                let ItemKind::Const { name: ident, ty, value } = &item.kind else { return Err(()) };
                self.check_reserved(ident)?;
                if let Some((uspan, what)) =
                    self.unsupported.iter().find(|(s, _)| s.file == span.file && s.lo <= value.span.lo && value.span.hi <= s.hi).cloned()
                {
                    return self.err(uspan, format!("not supported yet: {}", what));
                }
                match &value.kind {
                    ExprKind::Fn(decl) if decl.body.is_some() || decl.attrs.is_extern || decl.attrs.intrinsic => {
                        if decl.attrs.intrinsic {
                            if !self.in_stdlib(file) && Some(file) != self.runtime_file {
                                return self.err(
                                    span,
                                    format!(
                                        "intrinsic '{}' is declared by the standard library (modules/std.sx), not by this module",
                                        name
                                    ),
                                );
                            }
                            if name == "print" || name == "format" {
                                self.std_file = Some(file);
                            }
                            return Ok(ConstVal::Intrinsic(name));
                        }
                        if decl.attrs.is_extern {
                            if let Some(lib) = &decl.attrs.extern_lib {
                                self.check_extern_library(file, lib, item.span)?;
                            }
                            let sym = decl.attrs.extern_sym.clone().unwrap_or_else(|| name.clone());
                            self.out.extern_syms.entry(sym).or_insert(span);
                        }
                        let fid = self.new_fn(&name, decl, file, None, Rc::new(HashMap::new()), span);
                        Ok(ConstVal::Func(fid))
                    }
                    ExprKind::Struct(sd) if sd.params.is_some() => {
                        self.inst.generic_structs.push((name.clone(), Rc::new((**sd).clone()), file, Rc::new(HashMap::new())));
                        Ok(ConstVal::GenericStruct(self.inst.generic_structs.len() as u32 - 1))
                    }
                    ExprKind::Struct(sd) => {
                        // Visible as a type before its fields resolve (self-reference through pointers).
                        let t = self.types.new_struct(&name, false, Some(span));
                        self.decls[id].state = DeclState::Done(ConstVal::Type(t));
                        self.fill_struct(t, sd, file, Rc::new(HashMap::new()))?;
                        Ok(ConstVal::Type(t))
                    }
                    ExprKind::UfcsAlias(target) => {
                        let outer = Rc::new(HashMap::new());
                        let f = match self.eval_const_in(file, None, &outer, target, None)? {
                            ConstVal::Func(f) => f,
                            _ => return self.err(target.span, "'ufcs' needs a function"),
                        };
                        let src = &self.fns[f];
                        let mut decl = (*src.decl).clone();
                        decl.attrs.ufcs = true;
                        let def = FnDef {
                            name: name.clone(),
                            decl: Rc::new(decl),
                            file: src.file,
                            owner: src.owner,
                            sig: None,
                            func: None,
                            span,
                            local_consts: src.local_consts.clone(),
                        };
                        Ok(ConstVal::Func(self.fns.push(def)))
                    }
                    ExprKind::Enum(ed) => {
                        let t = self.types.new_enum(&name);
                        self.decls[id].state = DeclState::Done(ConstVal::Type(t));
                        self.fill_enum(t, ed, file, Rc::new(HashMap::new()))?;
                        Ok(ConstVal::Type(t))
                    }
                    ExprKind::Union(sd) => {
                        let t = self.types.new_struct(&name, false, Some(span));
                        self.decls[id].state = DeclState::Done(ConstVal::Type(t));
                        self.fill_struct_kind(t, sd, file, Rc::new(HashMap::new()), true)?;
                        Ok(ConstVal::Type(t))
                    }
                    ExprKind::Protocol(sd) => self.declare_protocol(&name, sd, file, span),
                    ExprKind::Directive(d) if crate::jni::is_class_directive(d) => self.declare_runtime_class(id, &name, d, file, span),
                    ExprKind::ErrorSet(tags) => self.declare_error_set(&name, tags, value.span),
                    _ => {
                        let expected = match ty {
                            Some(t) => Some(self.eval_type_in(file, None, &Rc::new(HashMap::new()), t)?),
                            None => None,
                        };
                        if let ExprKind::ArrayLit { .. } = value.kind {
                            self.ct.pure_thunk_message =
                                Some(format!("constant '{}' must be initialized by compile-time constant elements", name));
                        }
                        let r = self.eval_const_in(file, None, &Rc::new(HashMap::new()), value, expected);
                        self.ct.pure_thunk_message = None;
                        r
                    }
                }
            }
        }
    }

    /// Creates a function definition.
    pub(crate) fn new_fn(
        &mut self,
        name: &str,
        decl: &FnDecl,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: Rc<HashMap<String, ConstVal>>,
        span: Span,
    ) -> FnId {
        let key = (decl.span.file.0, decl.span.lo, decl.span.hi);
        if let Some(&f) = self.fn_by_decl.get(&key) {
            // The key is an address: a temporary AST copy may reuse a dead one, so the span
            // must match too.
            // A contextual copy of a literal (parameter or result types filled in from the
            // expected type) is a different function from the literal as written.
            let known = &self.fns[f].decl;
            let same_shape = known.ret.is_some() == decl.ret.is_some()
                && known.params.iter().zip(&decl.params).all(|(a, b)| a.ty.is_some() == b.ty.is_some());
            if self.fns[f].owner == owner && known.span == decl.span && same_shape {
                return f;
            }
        }
        let id = self.fns.next_key();
        let mut decl = decl.clone();
        for p in &mut decl.params {
            if let Some(ty) = p.ty.as_mut().filter(|_| p.comptime) {
                crate::syntax_facts::strip_type_bounds(ty);
            }
            // `..xs: P` with a protocol `P` (any non-slice type) is a compile-time pack whose
            // elements must implement `P`; `generic_call` checks the constraint.
            if p.variadic && !p.comptime && p.ty.as_ref().is_some_and(|t| !matches!(t.kind, ExprKind::SliceType { .. })) {
                p.comptime = true;
            }
        }
        self.fns.push(FnDef { name: name.to_string(), decl: Rc::new(decl), file, owner, sig: None, func: None, span, local_consts: outer });
        self.fn_by_decl.insert(key, id);
        id
    }

    /// The function type of `fid`.
    pub(crate) fn fn_type(&mut self, fid: FnId) -> R<TypeId> {
        let sig = self.fn_sig(fid)?;
        Ok(self.types.intern(TK::Func { params: sig.params, ret: sig.ret }))
    }

    /// Declares a struct type (named, or anonymous for `struct {..}` in type position).
    pub(crate) fn declare_struct(
        &mut self,
        name: &str,
        sd: &StructDecl,
        file: FileIdx,
        outer: Rc<HashMap<String, ConstVal>>,
        span: Span,
    ) -> R<TypeId> {
        let t = self.types.new_struct(name, false, Some(span));
        let outer = with_own_name(outer, name, t);
        self.fill_struct(t, sd, file, outer)?;
        Ok(t)
    }

    fn fill_struct(&mut self, t: TypeId, sd: &StructDecl, file: FileIdx, outer: Rc<HashMap<String, ConstVal>>) -> R<()> {
        self.fill_struct_kind(t, sd, file, outer, false)
    }

    fn fill_struct_kind(
        &mut self,
        t: TypeId,
        sd: &StructDecl,
        file: FileIdx,
        outer: Rc<HashMap<String, ConstVal>>,
        is_union: bool,
    ) -> R<()> {
        let instance = sd
            .params
            .as_ref()
            .map(|ps| ps.iter().all(|p| p.name.as_ref().map(|n| outer.contains_key(&n.name)).unwrap_or(false)))
            .unwrap_or(true);
        if !instance {
            return self.err(sd.span, "a parameterised struct needs arguments: write `Name(args)`");
        }
        let mut fields: Vec<(String, TypeId)> = vec![];
        let mut defaults: Vec<Option<Expr>> = vec![];
        let mut consts: HashMap<String, Rc<Member>> = HashMap::new();
        // Every member constant spelling a builtin type is reported, then the declaration fails.
        self.check_reserved_all(sd.members.iter().filter_map(|m| {
            if let MemberKind::Const { name, .. } = &m.kind {
                Some(name)
            } else {
                None
            }
        }))?;
        for m in &sd.members {
            if let MemberKind::Const { name, .. } = &m.kind {
                let key = match &m.kind {
                    MemberKind::Const { value: Expr { kind: ExprKind::Fn(d), .. }, .. } if d.attrs.set => {
                        crate::syntax_facts::setter_key(&name.name)
                    }
                    _ => name.name.clone(),
                };
                consts.insert(key, Rc::new(m.clone()));
            }
        }
        // Register members first so field types may name the struct's own constants.
        self.structs.insert(
            t,
            StructMeta { file, consts: consts.clone(), defaults: vec![], local_consts: outer.clone(), evaluated: HashMap::new() },
        );
        for m in &sd.members {
            match &m.kind {
                MemberKind::Field { names, ty, default, undef } => {
                    let fty = self.eval_type_in(file, Some(t), &outer, ty)?;
                    if fty == t {
                        return self.err(ty.span, "a struct cannot contain itself; use a pointer");
                    }
                    for n in names {
                        if n.name == "inline" && !n.raw {
                            return self.err(n.span, "'inline' cannot name a member bare — escape it with a backtick (`inline) or rename");
                        }
                        if fields.iter().any(|(f, _)| *f == n.name) {
                            return self.err(n.span, format!("duplicate field '{}'", n.name));
                        }
                        fields.push((n.name.clone(), fty));
                        defaults.push(if *undef { Some(Expr::new(ExprKind::Undef, m.span)) } else { default.clone() });
                    }
                }
                MemberKind::Using(e) => {
                    let ut = self.eval_type_in(file, Some(t), &outer, e)?;
                    let Some(sdef) = self.types.struct_of(ut) else {
                        return self.err(e.span, "#using needs a struct type");
                    };
                    let ufields: Vec<(String, TypeId)> = sdef.fields.iter().map(|f| (f.name.clone(), f.ty)).collect();
                    let udefaults = self.structs.get(&ut).map(|m| m.defaults.clone()).unwrap_or_default();
                    for (i, f) in ufields.into_iter().enumerate() {
                        fields.push(f);
                        defaults.push(udefaults.get(i).cloned().flatten());
                    }
                }
                MemberKind::Const { .. } => {}
                MemberKind::Anon(e) => {
                    // Its fields are promoted (see `members.rs`).
                    let at = self.eval_type_in(file, Some(t), &outer, e)?;
                    if self.types.struct_of(at).is_none() {
                        return self.err(e.span, "an anonymous member must be a 'struct { .. }' or 'union { .. }'");
                    }
                    fields.push((format!("{}{}", crate::syntax_facts::ANON_PREFIX, fields.len()), at));
                    defaults.push(None);
                }
                MemberKind::Directive(e) => return self.err(e.span, "not supported yet: this struct member"),
            }
        }
        if !is_union && self.is_std_context(t, file) {
            self.add_context_extensions(t, &mut fields, &mut defaults)?;
        }
        if is_union {
            self.types.complete_union(t, fields);
        } else {
            self.types.complete_struct(t, fields);
        }
        if let Some(meta) = self.structs.get_mut(&t) {
            meta.defaults = defaults;
        }
        Ok(())
    }

    /// `S(args)` for a parameterised struct: the instance type (memoised per argument list).
    pub(crate) fn struct_instance(&mut self, idx: u32, args: Vec<ConstVal>, span: Span) -> R<TypeId> {
        let (name, sd, file, outer) = self.inst.generic_structs[idx as usize].clone();
        let params = sd.params.clone().unwrap_or_default();
        // A trailing pack parameter `..$Ts: []Type` takes the remaining arguments (types).
        let packed = params.last().is_some_and(|p| p.variadic);
        let fixed = params.len() - packed as usize;
        if (!packed && params.len() != args.len()) || args.len() < fixed {
            return self.err(span, format!("'{}' takes {} arguments, found {}", name, params.len(), args.len()));
        }
        let mut args = args;
        if packed {
            let mut rest = vec![];
            for a in args.split_off(fixed) {
                let ConstVal::Type(t) = a else { return self.err(span, format!("the pack parameter of '{}' takes types", name)) };
                rest.push(t);
            }
            args.push(ConstVal::Pack(rest));
        }
        let key = (idx, crate::consts::args_key(&args));
        if let Some(&t) = self.inst.struct_instances.get(&key) {
            return Ok(t);
        }
        let shown = self.instance_args_text(&args, ",");
        let t = self.types.new_struct(&format!("{}({})", name, shown), false, Some(span));
        self.inst.struct_instances.insert(key, t);
        let mut scope: HashMap<String, ConstVal> = (*outer).clone();
        for (p, a) in params.iter().zip(args) {
            if let Some(n) = &p.name {
                scope.insert(n.name.clone(), a);
            }
        }
        self.fill_struct(t, &sd, file, Rc::new(scope))?;
        Ok(t)
    }

    /// The structural (anonymous) struct type with the fields of inline struct `t` — the type
    /// an untyped `.{ … }` literal of the same fields has — so identical shapes are one type.
    pub(crate) fn same_shape_inline_struct(&mut self, t: TypeId) -> TypeId {
        let Some(def) = self.types.struct_of(t).cloned() else { return t };
        if def.tuple {
            return t;
        }
        let fields = def.fields.into_iter().map(|f| (f.name, f.ty)).collect();
        if def.is_union {
            self.types.anonymous_union(fields)
        } else {
            self.types.anonymous_struct(fields)
        }
    }

    /// Declares an anonymous untagged union type; a plain one (fields only) is structural, like
    /// a plain inline struct.
    pub(crate) fn declare_union(&mut self, sd: &StructDecl, file: FileIdx, outer: Rc<HashMap<String, ConstVal>>, span: Span) -> R<TypeId> {
        let t = self.types.new_struct("union", false, Some(span));
        self.fill_struct_kind(t, sd, file, outer, true)?;
        Ok(if plain_inline_struct(sd) { self.same_shape_inline_struct(t) } else { t })
    }

    /// Declares an enum type (for local declarations).
    pub(crate) fn declare_enum(&mut self, name: &str, ed: &EnumDecl, file: FileIdx, outer: Rc<HashMap<String, ConstVal>>) -> R<TypeId> {
        let t = self.types.new_enum(name);
        let outer = with_own_name(outer, name, t);
        self.fill_enum(t, ed, file, outer)?;
        Ok(t)
    }

    fn fill_enum(&mut self, t: TypeId, ed: &EnumDecl, file: FileIdx, outer: Rc<HashMap<String, ConstVal>>) -> R<()> {
        if ed.params.is_some() {
            return self.err(ed.span, "not supported yet: parameterised enums");
        }
        let backing = match &ed.backing {
            Some(b) => {
                let bt_ = self.eval_type_in(file, None, &outer, b)?;
                let bt_ = self.enum_layout_backing(t, bt_, b.span)?.unwrap_or(bt_);
                if !self.types.is_int(bt_) {
                    return self.err(b.span, "not supported yet: an enum backing type that is not an integer");
                }
                bt_
            }
            None => bt::I64,
        };
        let mut consts: HashMap<String, Rc<Member>> = HashMap::new();
        let mut variants: Vec<sx_types::EnumVariant> = vec![];
        let mut next: i128 = 0;
        let mut auto_bit = 0u32;
        for v in &ed.variants {
            if let Some(val) = &v.value {
                if let ExprKind::Fn(_) = val.kind {
                    let m = Member { kind: MemberKind::Const { name: v.name.clone(), ty: None, value: val.clone() }, span: v.span };
                    consts.insert(v.name.name.clone(), Rc::new(m));
                    continue;
                }
            }
            let value = match &v.value {
                Some(e) => match self.eval_const_in(file, None, &outer, e, None)? {
                    ConstVal::Int { v, .. } => v,
                    _ => return self.err(e.span, "an enum variant's value must be a compile-time integer"),
                },
                None if ed.flags => {
                    let x = 1i128 << auto_bit.min(63);
                    auto_bit += 1;
                    x
                }
                None => next,
            };
            if ed.flags && v.value.is_none() {
                // auto bits already advanced
            }
            next = value + 1;
            let payload = match &v.payload {
                Some(p) => {
                    if ed.flags {
                        return self.err(p.span, "flags enum variants cannot have payloads");
                    }
                    let pt = self.eval_type_in(file, None, &outer, p)?;
                    if pt == t {
                        let name = self.types.name(t);
                        return self.err(
                            p.span,
                            format!(
                                "type '{}' is infinitely sized (it contains itself by value); use a pointer ('*{}') to break the cycle",
                                name, name
                            ),
                        );
                    }
                    if pt == bt::VOID {
                        None
                    } else {
                        Some(pt)
                    }
                }
                None => None,
            };
            if variants.iter().any(|x| x.name == v.name.name) {
                return self.err(v.name.span, format!("duplicate variant '{}'", v.name.name));
            }
            variants.push(sx_types::EnumVariant { name: v.name.name.clone(), value, payload });
        }
        self.check_enum_layout_payloads(t, &variants, ed)?;
        self.types.complete_enum(t, backing, ed.flags, variants);
        self.structs.insert(t, StructMeta { file, consts, defaults: vec![], local_consts: outer, evaluated: HashMap::new() });
        Ok(())
    }

    /// A constant or method declared in a struct body.
    pub(crate) fn struct_member(&mut self, t: TypeId, name: &str) -> R<Option<ConstVal>> {
        match self.struct_member_own(t, name)? {
            Some(c) => Ok(Some(c)),
            None => Ok(self.impl_method(t, name)?.map(ConstVal::Func)),
        }
    }

    fn struct_member_own(&mut self, t: TypeId, name: &str) -> R<Option<ConstVal>> {
        let Some(meta) = self.structs.get(&t) else { return Ok(None) };
        if let Some(c) = meta.evaluated.get(name) {
            return Ok(Some(c.clone()));
        }
        let Some(m) = meta.consts.get(name).cloned() else { return Ok(None) };
        let (file, outer) = (meta.file, meta.local_consts.clone());
        let MemberKind::Const { name: ident, ty, value } = &m.kind else { return Ok(None) };
        let c = match &value.kind {
            ExprKind::Fn(decl) if decl.body.is_some() || decl.attrs.is_extern => {
                ConstVal::Func(self.new_fn(&ident.name, decl, file, Some(t), outer, ident.span))
            }
            _ => {
                let expected = match ty {
                    Some(te) => Some(self.eval_type_in(file, Some(t), &outer, te)?),
                    None => None,
                };
                self.eval_const_in(file, Some(t), &outer, value, expected)?
            }
        };
        if let Some(meta) = self.structs.get_mut(&t) {
            meta.evaluated.insert(name.to_string(), c.clone());
        }
        Ok(Some(c))
    }

    /// Evaluates a type expression in a declaration scope.
    pub(crate) fn eval_type_in(
        &mut self,
        file: FileIdx,
        owner: Option<TypeId>,
        outer: &Rc<HashMap<String, ConstVal>>,
        e: &Expr,
    ) -> R<TypeId> {
        let f = sx_ir::Function::new("", sx_ir::Signature::default());
        let mut cx = FnCx::new(self, f, file, owner, outer.clone());
        let b = cx.new_block();
        cx.switch(b);
        cx.type_expr(e)
    }

    /// The compile-time arguments of an instance (`Box(i64,4)`, `Show(string)`) as shown in
    /// its name, separated by `sep`.
    pub(crate) fn instance_args_text(&self, args: &[ConstVal], sep: &str) -> String {
        let shown: Vec<String> = args
            .iter()
            .map(|a| match a {
                ConstVal::Type(t) => self.types.name(*t),
                ConstVal::Int { v, .. } => v.to_string(),
                ConstVal::Pack(ts) => ts.iter().map(|t| self.types.name(*t)).collect::<Vec<_>>().join(","),
                other => format!("{:?}", other),
            })
            .collect();
        shown.join(sep)
    }

    /// Interned read-only NUL-terminated bytes of a string literal.
    pub(crate) fn string_bytes_data(&mut self, s: &[u8]) -> sx_ir::DataId {
        let key = [b"b:".as_slice(), s].concat();
        if let Some(&d) = self.out.strings.get(&key) {
            return d;
        }
        let mut bytes = s.to_vec();
        bytes.push(0);
        let n = self.out.strings.len();
        let d = self.module.add_data(sx_ir::Data { name: format!("str.{}", n), bytes, align: 1, relocs: vec![], writable: false });
        self.out.strings.insert(key, d);
        d
    }

    /// Interned read-only `{ptr, len}` header of a string literal.
    pub(crate) fn string_header_data(&mut self, s: &[u8]) -> sx_ir::DataId {
        let key = [b"h:".as_slice(), s].concat();
        if let Some(&d) = self.out.strings.get(&key) {
            return d;
        }
        let bytes_d = self.string_bytes_data(s);
        let pb = self.module.pointer_bytes() as usize;
        let mut bytes = vec![0u8; 2 * pb];
        bytes[pb..pb + 8].copy_from_slice(&(s.len() as u64).to_le_bytes()[..pb.min(8)]);
        let n = self.out.strings.len();
        let d = self.module.add_data(sx_ir::Data {
            name: format!("strh.{}", n),
            bytes,
            align: pb as u32,
            relocs: vec![sx_ir::Reloc { offset: 0, target: sx_ir::RelocTarget::Data(bytes_d), addend: 0 }],
            writable: false,
        });
        self.out.strings.insert(key, d);
        d
    }
}

/// The constants visible inside a type declared in a function body: the enclosing ones plus the
/// type's own name (its members and methods may name it).
fn with_own_name(outer: Rc<HashMap<String, ConstVal>>, name: &str, t: TypeId) -> Rc<HashMap<String, ConstVal>> {
    if name.is_empty() || outer.contains_key(name) {
        return outer;
    }
    let mut scope = (*outer).clone();
    scope.insert(name.to_string(), ConstVal::Type(t));
    Rc::new(scope)
}

/// A struct or union body of fields only (no parameters, directives, defaults or other members):
/// spelled inline, its type is structural.
pub(crate) fn plain_inline_struct(sd: &StructDecl) -> bool {
    sd.params.is_none()
        && sd.directives.is_empty()
        && sd.members.iter().all(|m| matches!(&m.kind, MemberKind::Field { default: None, undef: false, .. }))
}
