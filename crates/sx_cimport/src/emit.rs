//! The [`Model`] to sx source text. Every declaration whose C name does not start with `__`
//! is a root; the records, enums and typedefs roots mention are emitted with them (a `__`
//! typedef is replaced by what it names). What cannot be spelled is reported instead.

use crate::cexpr::{FloatWidth, Value};
use crate::macros::MacroValues;
use crate::model::*;
use crate::names;
use crate::Skipped;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write;

/// Where a type is written: directly as the whole type of a field, parameter, variable,
/// typedef or array element, or nested (pointee, return type), where a function-pointer
/// type needs a name of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pos {
    Direct,
    Nested,
}

/// Entities a spelled type refers to.
#[derive(Default)]
struct Deps {
    records: BTreeSet<RecordId>,
    enums: BTreeSet<EnumId>,
    typedefs: BTreeSet<TypedefId>,
    fnptrs: BTreeMap<String, String>,
}

/// The sx text and what was left out.
pub(crate) struct Emitted {
    pub(crate) text: String,
    pub(crate) skipped: Vec<Skipped>,
    /// Records emitted with their fields (not opaque), in emission order.
    pub(crate) records: Vec<RecordId>,
}

/// Options that change what is emitted.
pub(crate) struct EmitOptions {
    /// Emit `name : T extern;` for C `extern` variables.
    pub(crate) extern_vars: bool,
    /// First line of the output (a comment naming the headers).
    pub(crate) header: String,
}

struct Emitter<'m> {
    model: &'m Model,
    macros: MacroValues<'m>,
    /// (offset, sequence, text) of every emitted declaration.
    items: Vec<(usize, usize, String)>,
    skipped: Vec<(usize, Skipped)>,
    names: HashSet<String>,
    done_records: HashSet<RecordId>,
    done_enums: HashSet<EnumId>,
    done_typedefs: HashSet<TypedefId>,
    fnptrs: BTreeMap<String, String>,
    reproducible: HashMap<RecordId, Result<(), String>>,
    in_progress: HashSet<RecordId>,
    typedef_ok: HashMap<TypedefId, Result<(), String>>,
    /// Macros whose body is one identifier that is not a constant: (name, target, offset, why).
    aliases: Vec<(String, String, usize, String)>,
    full_records: Vec<RecordId>,
}

/// Emits the sx text for `model`.
pub(crate) fn emit(model: &Model, opts: &EmitOptions) -> Emitted {
    let mut e = Emitter {
        model,
        macros: MacroValues::new(model),
        items: Vec::new(),
        skipped: Vec::new(),
        names: HashSet::new(),
        done_records: HashSet::new(),
        done_enums: HashSet::new(),
        done_typedefs: HashSet::new(),
        fnptrs: BTreeMap::new(),
        reproducible: HashMap::new(),
        in_progress: HashSet::new(),
        typedef_ok: HashMap::new(),
        aliases: Vec::new(),
        full_records: Vec::new(),
    };
    e.roots(opts);
    e.finish(opts)
}

fn public(name: &str) -> bool {
    !name.starts_with("__")
}

fn int_name(model: &Model, k: IntKind) -> &'static str {
    match (model.int_size(k), k) {
        (_, IntKind::Bool) => "bool",
        (_, IntKind::Char | IntKind::UChar) => "u8",
        (_, IntKind::SChar) => "i8",
        (2, _) if k.signed() => "i16",
        (2, _) => "u16",
        (4, _) if k.signed() => "i32",
        (4, _) => "u32",
        (_, _) if k.signed() => "i64",
        (_, _) => "u64",
    }
}

impl<'m> Emitter<'m> {
    fn skip(&mut self, name: &str, reason: impl Into<String>, offset: usize) {
        self.skipped.push((offset, Skipped { name: name.to_string(), reason: one_line(&reason.into()) }));
    }

    fn push(&mut self, offset: usize, text: String) {
        let seq = self.items.len();
        self.items.push((offset, seq, text));
    }

    /// Claims an sx name; false if another declaration already has it.
    fn claim(&mut self, name: &str) -> bool {
        self.names.insert(name.to_string())
    }

    fn roots(&mut self, opts: &EmitOptions) {
        let m = self.model;
        // Every C ordinary identifier that is declared wins over a macro of the same name.
        let declared: HashSet<&str> = m
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .chain(m.variables.iter().map(|v| v.name.as_str()))
            .chain(m.typedefs.iter().map(|(_, t)| t.name.as_str()))
            .chain(m.enumerators.keys().map(|k| k.as_str()))
            .collect();
        let mut order: Vec<(usize, Root)> = Vec::new();
        order.extend(m.functions.iter().enumerate().map(|(i, f)| (f.offset, Root::Function(i))));
        order.extend(m.variables.iter().enumerate().map(|(i, v)| (v.offset, Root::Variable(i))));
        order.extend(m.typedefs.iter().map(|(id, t)| (t.offset, Root::Typedef(id))));
        order.extend(m.records.iter().map(|(id, r)| (r.offset, Root::Record(id))));
        order.extend(m.enums.iter().map(|(id, en)| (en.offset, Root::Enum(id))));
        order.extend(m.rejected.iter().enumerate().map(|(i, r)| (r.offset, Root::Rejected(i))));
        let mut macro_names: Vec<(&String, &Macro)> = m.macros.iter().filter(|(_, mac)| !mac.builtin).collect();
        macro_names.sort_by(|a, b| (a.1.offset, a.0).cmp(&(b.1.offset, b.0)));
        order.extend(macro_names.into_iter().map(|(n, mac)| (mac.offset, Root::Macro(n.clone()))));
        order.sort_by_key(|(o, _)| *o);
        for (offset, root) in order {
            match root {
                Root::Function(i) => self.function(&m.functions[i]),
                Root::Variable(i) => {
                    if opts.extern_vars {
                        self.variable(&m.variables[i]);
                    }
                }
                Root::Typedef(id) => {
                    if public(&m.typedefs[id].name) {
                        self.typedef(id);
                    }
                }
                Root::Record(id) => {
                    if m.records[id].tag.as_deref().is_some_and(public) {
                        self.record(id);
                    }
                }
                Root::Enum(id) => self.enum_root(id),
                Root::Rejected(i) => {
                    let r = &m.rejected[i];
                    if public(&r.name) {
                        self.skip(&r.name, r.reason.clone(), r.offset);
                    }
                }
                Root::Macro(name) => {
                    if public(&name) && !declared.contains(name.as_str()) {
                        self.macro_const(&name, offset);
                    }
                }
            }
        }
        // `#define alias name` of an emitted type or function is an sx alias.
        for (name, target, offset, why) in std::mem::take(&mut self.aliases) {
            if self.names.contains(&target) && self.claim(&name) {
                self.push(offset, format!("{} :: {};", names::ident(&name), names::ident(&target)));
            } else {
                self.skip(&name, why, offset);
            }
        }
    }

    fn finish(mut self, opts: &EmitOptions) -> Emitted {
        self.items.sort_by_key(|(o, s, _)| (*o, *s));
        let mut text = String::new();
        text.push_str(&opts.header);
        text.push('\n');
        for (_, _, item) in &self.items {
            text.push_str(item);
            text.push('\n');
        }
        if !self.fnptrs.is_empty() {
            text.push_str("\n// Function-pointer types used inside other types.\n");
            for (name, rhs) in &self.fnptrs {
                let _ = writeln!(text, "{name} :: {rhs};");
            }
        }
        self.skipped.sort_by_key(|a| a.0);
        let mut seen = HashSet::new();
        let skipped = self.skipped.into_iter().map(|(_, s)| s).filter(|s| seen.insert(s.name.clone())).collect();
        Emitted { text, skipped, records: self.full_records }
    }

    /// Commits the dependencies of a declaration that was emitted.
    fn commit(&mut self, deps: Deps) {
        self.fnptrs.extend(deps.fnptrs);
        for id in deps.typedefs {
            self.typedef(id);
        }
        for id in deps.records {
            self.record(id);
        }
        for id in deps.enums {
            self.enum_alias(id);
        }
    }

    fn function(&mut self, f: &Function) {
        if !public(&f.name) {
            return;
        }
        if !names::is_valid(&f.name) {
            return self.skip(&f.name, "a name sx cannot spell", f.offset);
        }
        let mut deps = Deps::default();
        let sig = match self.signature(&f.ty, &mut deps) {
            Ok(s) => s,
            Err(why) => return self.skip(&f.name, why, f.offset),
        };
        let sx_name = names::ident(&f.name);
        if !self.claim(&f.name) {
            return self.skip(&f.name, "another declaration has the same name", f.offset);
        }
        let mut text = format!("{sx_name} :: {sig} extern");
        if let Some(sym) = f.symbol.as_ref().filter(|s| **s != f.name) {
            let _ = write!(text, " {}", string_literal(sym.as_bytes()).unwrap_or_default());
        }
        if f.noreturn && f.ty.ret == CType::Void {
            text.push_str(" noreturn");
        }
        text.push(';');
        self.push(f.offset, text);
        self.commit(deps);
    }

    /// `(a: A, b: B, ..args: []any) -> R` of a function declaration.
    fn signature(&mut self, f: &FnType, deps: &mut Deps) -> Result<String, String> {
        let mut params = Vec::new();
        let mut used: HashSet<String> = HashSet::new();
        for (i, p) in f.params.iter().enumerate() {
            let what = match &p.name {
                Some(n) => format!("parameter `{n}`"),
                None => format!("parameter {}", i + 1),
            };
            self.by_value(&p.ty).map_err(|why| format!("{what}: {why}"))?;
            let ty = self.spell(&p.ty, Pos::Direct, deps).map_err(|why| format!("{what}: {why}"))?;
            let name = match &p.name {
                Some(n) if names::is_valid(n) && !used.contains(n) => n.clone(),
                Some(_) | None => format!("arg{}", i + 1),
            };
            used.insert(name.clone());
            params.push(format!("{}: {}", names::ident(&name), ty));
        }
        if f.variadic {
            let mut name = "args".to_string();
            while used.contains(&name) {
                name.push('_');
            }
            params.push(format!("..{name}: []any"));
        }
        let mut sig = format!("({})", params.join(", "));
        if f.ret != CType::Void {
            self.by_value(&f.ret).map_err(|why| format!("the result: {why}"))?;
            let ret = self.spell(&f.ret, Pos::Nested, deps).map_err(|why| format!("the result: {why}"))?;
            let _ = write!(sig, " -> {ret}");
        }
        Ok(sig)
    }

    fn variable(&mut self, v: &Variable) {
        if !public(&v.name) {
            return;
        }
        if !names::is_valid(&v.name) {
            return self.skip(&v.name, "a name sx cannot spell", v.offset);
        }
        let mut deps = Deps::default();
        let ty = match &v.ty {
            // `extern T name[];`: the symbol is the array; its length is not known.
            CType::Array(elem, None) => {
                self.by_value(elem).and_then(|()| self.spell(elem, Pos::Direct, &mut deps)).map(|t| format!("[0]{t}"))
            }
            ty => self.by_value(ty).and_then(|()| self.spell(ty, Pos::Direct, &mut deps)),
        };
        let ty = match ty {
            Ok(t) => t,
            Err(why) => return self.skip(&v.name, why, v.offset),
        };
        if !self.claim(&v.name) {
            return self.skip(&v.name, "another declaration has the same name", v.offset);
        }
        let mut text = format!("{} : {} extern", names::ident(&v.name), ty);
        if let Some(sym) = v.symbol.as_ref().filter(|s| **s != v.name) {
            let _ = write!(text, " {}", string_literal(sym.as_bytes()).unwrap_or_default());
        }
        text.push(';');
        self.push(v.offset, text);
        self.commit(deps);
    }

    /// Whether the typedef `id` can be emitted (its type is spellable).
    fn typedef_check(&mut self, id: TypedefId) -> Result<(), String> {
        if let Some(r) = self.typedef_ok.get(&id) {
            return r.clone();
        }
        self.typedef_ok.insert(id, Err("a typedef defined in terms of itself".into()));
        let ty = self.model.typedefs[id].ty.clone();
        let r = self.spell_typedef_rhs(&ty, &mut Deps::default()).map(|_| ());
        self.typedef_ok.insert(id, r.clone());
        r
    }

    /// The right-hand side of `name :: …;` for a typedef of `ty`.
    fn spell_typedef_rhs(&mut self, ty: &CType, deps: &mut Deps) -> Result<String, String> {
        match self.model.function_of(ty) {
            Some(f) => self.fn_type(&f, deps),
            None => self.spell(ty, Pos::Direct, deps),
        }
    }

    /// Whether typedef `id` names an untagged record or enum (it is emitted as that type).
    fn defining_typedef(&self, id: TypedefId) -> bool {
        let t = &self.model.typedefs[id];
        let named = |tag: &Option<String>, typedef_name: &Option<String>| tag.is_none() && typedef_name.as_deref() == Some(t.name.as_str());
        if let CType::Record(r) = &t.ty {
            let rec = &self.model.records[*r];
            return named(&rec.tag, &rec.typedef_name);
        }
        if let CType::Enum(e) = &t.ty {
            let en = &self.model.enums[*e];
            return named(&en.tag, &en.typedef_name);
        }
        false
    }

    fn typedef(&mut self, id: TypedefId) {
        if !self.done_typedefs.insert(id) {
            return;
        }
        let t = &self.model.typedefs[id];
        let (name, offset, ty) = (t.name.clone(), t.offset, t.ty.clone());
        if !names::is_valid(&name) {
            return self.skip(&name, "a name sx cannot spell", offset);
        }
        if self.defining_typedef(id) {
            if let CType::Record(r) = ty {
                self.record(r);
            } else if let CType::Enum(e) = ty {
                self.enum_alias(e);
            }
            return;
        }
        let mut deps = Deps::default();
        let rhs = match self.spell_typedef_rhs(&ty, &mut deps) {
            Ok(r) => r,
            Err(why) => {
                if public(&name) {
                    self.skip(&name, why, offset);
                }
                return;
            }
        };
        if !self.claim(&name) {
            return self.skip(&name, "another declaration has the same name", offset);
        }
        self.push(offset, format!("{} :: {};", names::ident(&name), rhs));
        self.commit(deps);
    }

    fn record_name(&self, id: RecordId) -> Option<String> {
        self.model.record_name(id)
    }

    /// Whether sx reproduces the C layout of record `id` (complete, no bit-fields or
    /// layout attributes, every field spellable by value).
    fn reproducible(&mut self, id: RecordId) -> Result<(), String> {
        if let Some(r) = self.reproducible.get(&id) {
            return r.clone();
        }
        if !self.in_progress.insert(id) {
            return Err("a struct that contains itself".into());
        }
        let r = self.reproducible_uncached(id);
        self.in_progress.remove(&id);
        self.reproducible.insert(id, r.clone());
        r
    }

    fn reproducible_uncached(&mut self, id: RecordId) -> Result<(), String> {
        let rec = &self.model.records[id];
        if let Some(p) = &rec.layout_problem {
            return Err(format!("layout not reproducible in sx ({p})"));
        }
        let Some(fields) = rec.fields.clone() else { return Err("an incomplete struct or union".into()) };
        let last = fields.len().saturating_sub(1);
        for (i, f) in fields.iter().enumerate() {
            let what = f.name.as_deref().unwrap_or("(anonymous member)");
            let r = match &f.ty {
                CType::Array(elem, None) if i == last && rec.kind == RecordKind::Struct => self.by_value(elem),
                ty => self.by_value(ty),
            };
            r.map_err(|why| format!("field `{what}`: {why}"))?;
            let mut scratch = Deps::default();
            self.spell_field(&f.ty, i == last, &mut scratch).map_err(|why| format!("field `{what}`: {why}"))?;
        }
        if self.model.record_layout(id).is_none() {
            return Err("no computable layout".into());
        }
        Ok(())
    }

    /// Checks that a value of `ty` has a layout sx reproduces.
    fn by_value(&mut self, ty: &CType) -> Result<(), String> {
        match ty {
            CType::Void => Err("`void` used as a value type".into()),
            CType::Int(_) | CType::Float(_) => Ok(()),
            CType::Pointer(p) => self.pointee(p),
            CType::Array(elem, Some(_)) => self.by_value(elem),
            CType::Array(_, None) => Err("an array of unknown length".into()),
            CType::Function(_) => Err("a function type used as a value".into()),
            CType::Record(id) => {
                let id = *id;
                self.reproducible(id).map_err(|why| match self.record_name(id) {
                    Some(n) => format!("`{n}`: {why}"),
                    None => why,
                })
            }
            CType::Enum(id) => {
                if self.model.enums[*id].complete {
                    Ok(())
                } else {
                    Err("an incomplete enum".into())
                }
            }
            CType::Typedef(id) => {
                let target = self.model.typedefs[*id].ty.clone();
                let name = self.model.typedefs[*id].name.clone();
                if matches!(self.model.resolve(&target), CType::Function(_)) {
                    return Err(format!("`{name}` is a function type"));
                }
                self.by_value(&target).map_err(|why| format!("`{name}`: {why}"))
            }
            CType::Unsupported(why) => Err(why.clone()),
        }
    }

    /// Checks that a pointer to `ty` can be spelled.
    fn pointee(&mut self, ty: &CType) -> Result<(), String> {
        match ty {
            CType::Void | CType::Int(_) | CType::Float(_) | CType::Record(_) => Ok(()),
            CType::Pointer(p) => self.pointee(p),
            CType::Array(elem, Some(_)) => self.by_value(elem),
            CType::Array(_, None) => Err("a pointer to an array of unknown length".into()),
            CType::Function(f) => {
                let f = (**f).clone();
                self.fn_check(&f)
            }
            CType::Enum(_) => Ok(()),
            CType::Typedef(id) => {
                let target = self.model.typedefs[*id].ty.clone();
                self.pointee(&target)
            }
            CType::Unsupported(why) => Err(why.clone()),
        }
    }

    fn fn_check(&mut self, f: &FnType) -> Result<(), String> {
        if f.variadic {
            return Err("a pointer to a variadic C function".into());
        }
        for p in &f.params {
            self.by_value(&p.ty)?;
        }
        if f.ret != CType::Void {
            self.by_value(&f.ret)?;
        }
        Ok(())
    }

    /// A field's type; a flexible array member (last, unknown length) is `[0]T`.
    fn spell_field(&mut self, ty: &CType, last: bool, deps: &mut Deps) -> Result<String, String> {
        if let (CType::Array(elem, None), true) = (ty, last) {
            return Ok(format!("[0]{}", self.spell(elem, Pos::Direct, deps)?));
        }
        self.spell(ty, Pos::Direct, deps)
    }

    /// The sx spelling of `ty` (checks done by [`Emitter::by_value`] / [`Emitter::pointee`]).
    fn spell(&mut self, ty: &CType, pos: Pos, deps: &mut Deps) -> Result<String, String> {
        let m = self.model;
        match ty {
            CType::Void => Ok("void".into()),
            CType::Int(k) => Ok(int_name(m, *k).into()),
            CType::Float(FloatKind::Float) => Ok("f32".into()),
            CType::Float(FloatKind::Double) => Ok("f64".into()),
            CType::Pointer(p) => self.spell_pointer(p, pos, deps),
            CType::Array(elem, Some(n)) => Ok(format!("[{n}]{}", self.spell(elem, Pos::Direct, deps)?)),
            CType::Array(_, None) => Err("an array of unknown length".into()),
            CType::Function(_) => Err("a function type used as a value".into()),
            CType::Record(id) => match self.record_name(*id) {
                Some(name) => {
                    if !names::is_valid(&name) {
                        return Err(format!("`{name}` is a name sx cannot spell"));
                    }
                    deps.records.insert(*id);
                    Ok(names::ident(&name))
                }
                None => self.record_body(*id, deps),
            },
            CType::Enum(id) => {
                let en = &m.enums[*id];
                if !en.complete {
                    return Err("an incomplete enum".into());
                }
                match (&en.tag, &en.typedef_name) {
                    (Some(tag), _) => {
                        deps.enums.insert(*id);
                        Ok(format!("enum_{tag}"))
                    }
                    (None, Some(name)) => {
                        deps.enums.insert(*id);
                        Ok(names::ident(name))
                    }
                    (None, None) => Ok(int_name(m, m.enum_int(*id)).into()),
                }
            }
            CType::Typedef(id) => {
                let t = &m.typedefs[*id];
                if !public(&t.name) && !self.defining_typedef(*id) {
                    let target = t.ty.clone();
                    return match self.model.function_of(&target) {
                        Some(f) => self.fn_type(&f, deps),
                        None => self.spell(&target, pos, deps),
                    };
                }
                if !names::is_valid(&t.name) {
                    return Err(format!("`{}` is a name sx cannot spell", t.name));
                }
                let name = names::ident(&t.name);
                self.typedef_check(*id)?;
                deps.typedefs.insert(*id);
                Ok(name)
            }
            CType::Unsupported(why) => Err(why.clone()),
        }
    }

    fn spell_pointer(&mut self, p: &CType, pos: Pos, deps: &mut Deps) -> Result<String, String> {
        let m = self.model;
        match m.resolve(p) {
            CType::Int(IntKind::Char | IntKind::SChar | IntKind::UChar) => return Ok("[*]u8".into()),
            CType::Void => return Ok("*void".into()),
            CType::Function(f) => {
                // A pointer to a public function typedef is that typedef (emitted as a
                // function-pointer type); otherwise the function type itself.
                if let CType::Typedef(id) = p {
                    if public(&m.typedefs[*id].name) {
                        return self.spell(p, pos, deps);
                    }
                }
                let f = (**f).clone();
                let text = self.fn_type(&f, deps)?;
                return Ok(match pos {
                    Pos::Direct => text,
                    Pos::Nested => {
                        let name = format!("fnptr_{:08x}", crate::cache::hash64(text.as_bytes()) as u32);
                        deps.fnptrs.insert(name.clone(), text);
                        name
                    }
                });
            }
            CType::Int(_)
            | CType::Float(_)
            | CType::Pointer(_)
            | CType::Array(..)
            | CType::Record(_)
            | CType::Enum(_)
            | CType::Typedef(_)
            | CType::Unsupported(_) => {}
        }
        Ok(format!("*{}", self.spell(p, Pos::Nested, deps)?))
    }

    /// `(A, B) -> R abi(.c)`.
    fn fn_type(&mut self, f: &FnType, deps: &mut Deps) -> Result<String, String> {
        self.fn_check(f)?;
        let mut params = Vec::new();
        for p in &f.params {
            params.push(self.spell(&p.ty, Pos::Direct, deps)?);
        }
        let ret = if f.ret == CType::Void { "void".to_string() } else { self.spell(&f.ret, Pos::Nested, deps)? };
        Ok(format!("({}) -> {} abi(.c)", params.join(", "), ret))
    }

    /// `struct { … }` / `union { … }` written in place (anonymous records).
    fn record_body(&mut self, id: RecordId, deps: &mut Deps) -> Result<String, String> {
        self.reproducible(id)?;
        let rec = self.model.records[id].clone();
        let kw = match rec.kind {
            RecordKind::Struct => "struct",
            RecordKind::Union => "union",
        };
        let fields = rec.fields.unwrap_or_default();
        let mut body = format!("{kw} {{");
        let last = fields.len().saturating_sub(1);
        for (i, f) in fields.iter().enumerate() {
            match &f.name {
                Some(n) => {
                    let ty = self.spell_field(&f.ty, i == last, deps)?;
                    let _ = write!(body, " {}: {};", field_name(n), ty);
                }
                None => {
                    let ty = self.spell(&f.ty, Pos::Direct, deps)?;
                    let _ = write!(body, " {ty};");
                }
            }
        }
        body.push_str(" }");
        Ok(body)
    }

    fn record(&mut self, id: RecordId) {
        if !self.done_records.insert(id) {
            return;
        }
        let Some(name) = self.record_name(id) else { return };
        let rec = self.model.records[id].clone();
        if !names::is_valid(&name) {
            return self.skip(&name, "a name sx cannot spell", rec.offset);
        }
        if !self.claim(&name) {
            return self.skip(&name, "another declaration has the same name", rec.offset);
        }
        let sx_name = names::ident(&name);
        let mut deps = Deps::default();
        let body = self.reproducible(id).and_then(|()| self.record_members(&rec, &mut deps));
        match body {
            Ok(members) => {
                let kw = match rec.kind {
                    RecordKind::Struct => "struct",
                    RecordKind::Union => "union",
                };
                self.push(rec.offset, format!("{sx_name} :: {kw} {{\n{members}}}"));
                self.full_records.push(id);
                self.commit(deps);
            }
            Err(why) => {
                if rec.fields.is_some() {
                    self.skip(&name, format!("{why}; declared opaque (usable only behind pointers)"), rec.offset);
                }
                self.push(rec.offset, format!("{sx_name} :: struct {{}} // opaque"));
            }
        }
    }

    fn record_members(&mut self, rec: &Record, deps: &mut Deps) -> Result<String, String> {
        let mut out = String::new();
        let fields = rec.fields.clone().unwrap_or_default();
        let last = fields.len().saturating_sub(1);
        for (i, f) in fields.iter().enumerate() {
            match &f.name {
                Some(n) => {
                    let ty = self.spell_field(&f.ty, i == last, deps)?;
                    let _ = writeln!(out, "    {}: {};", field_name(n), ty);
                }
                None => {
                    let ty = self.spell(&f.ty, Pos::Direct, deps)?;
                    let _ = writeln!(out, "    {ty};");
                }
            }
        }
        Ok(out)
    }

    fn enum_root(&mut self, id: EnumId) {
        let en = self.model.enums[id].clone();
        if en.tag.as_deref().is_some_and(public) && en.complete {
            self.enum_alias(id);
        }
        if !en.complete {
            return;
        }
        let k = self.model.enum_int(id);
        let ty = int_name(self.model, k);
        for (name, value) in &en.enumerators {
            if !public(name) {
                continue;
            }
            if !names::is_valid(name) {
                self.skip(name, "a name sx cannot spell", en.offset);
                continue;
            }
            if !self.claim(name) {
                self.skip(name, "another declaration has the same name", en.offset);
                continue;
            }
            self.push(en.offset, format!("{} : {} : {};", names::ident(name), ty, value));
        }
    }

    fn enum_alias(&mut self, id: EnumId) {
        if !self.done_enums.insert(id) {
            return;
        }
        let en = self.model.enums[id].clone();
        let name = match (&en.tag, &en.typedef_name) {
            (Some(tag), _) => format!("enum_{tag}"),
            (None, Some(n)) => n.clone(),
            (None, None) => return,
        };
        if !names::is_valid(&name) {
            return self.skip(&name, "a name sx cannot spell", en.offset);
        }
        if !self.claim(&name) {
            return self.skip(&name, "another declaration has the same name", en.offset);
        }
        let ty = int_name(self.model, self.model.enum_int(id));
        self.push(en.offset, format!("{} :: {};", names::ident(&name), ty));
    }

    fn macro_const(&mut self, name: &str, offset: usize) {
        let Some(mac) = self.model.macros.get(name) else { return };
        if mac.function_like {
            return self.skip(name, "a function-like macro", offset);
        }
        if !names::is_valid(name) {
            return self.skip(name, "a name sx cannot spell", offset);
        }
        let body = mac.body.trim().to_string();
        if body.is_empty() {
            return;
        }
        let value = match self.macros.value(name) {
            Ok(v) => v,
            Err(why) => {
                let shown: String = body.chars().take(60).collect();
                let why = format!("macro `{shown}` is not a constant ({why})");
                if names::is_valid(&body) && body != name {
                    self.aliases.push((name.to_string(), body, offset, why));
                    return;
                }
                return self.skip(name, why, offset);
            }
        };
        let text = match value {
            Value::Int(v, _) => {
                if i64::try_from(v).is_ok() {
                    format!("{} :: {};", names::ident(name), v)
                } else if u64::try_from(v).is_ok() {
                    format!("{} : u64 : {};", names::ident(name), v)
                } else {
                    return self.skip(name, "an integer constant wider than 64 bits", offset);
                }
            }
            Value::Float(f, w) => {
                let ty = match w {
                    FloatWidth::Float => "f32",
                    FloatWidth::Double => "f64",
                    FloatWidth::LongDouble => return self.skip(name, "a `long double` constant", offset),
                };
                match float_literal(f) {
                    Some(lit) => format!("{} : {} : {};", names::ident(name), ty, lit),
                    None => return self.skip(name, "an infinite or NaN constant", offset),
                }
            }
            Value::Str(bytes) => match string_literal(&bytes) {
                Some(lit) => format!("{} :: {};", names::ident(name), lit),
                None => return self.skip(name, "a string constant that is not UTF-8", offset),
            },
        };
        if !self.claim(name) {
            return self.skip(name, "another declaration has the same name", offset);
        }
        self.push(offset, text);
    }
}

/// The kinds of roots, for ordering them by source position.
enum Root {
    Function(usize),
    Variable(usize),
    Typedef(TypedefId),
    Record(RecordId),
    Enum(EnumId),
    Rejected(usize),
    Macro(String),
}

/// A field name: only words that are statement keywords in sx member position need the
/// escape; the rest are legal as they are.
fn field_name(name: &str) -> String {
    if name == "inline" {
        "`inline".into()
    } else {
        name.into()
    }
}

/// A float constant sx lexes (it has no exponent form, and the integer part of a literal must
/// stay below 2^128): a decimal literal, or for huge values an exact product of an integer
/// mantissa and powers of two. `None` for infinities and NaN.
pub(crate) fn float_literal(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    if v.abs() >= 1e38 {
        // v = mantissa · 2^exp with an integer mantissa below 2^53; every factor is exact.
        let bits = v.abs().to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
        let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
        let mut factors = vec![format!("{mantissa}.0")];
        let mut rest = exp;
        while rest > 0 {
            let step = rest.min(100);
            factors.push(format!("{}.0", 1u128 << step));
            rest -= step;
        }
        let product = factors.join(" * ");
        return Some(if v < 0.0 { format!("-({product})") } else { product });
    }
    let s = format!("{v}");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.as_str()),
    };
    let digits = if digits.contains('.') { digits.to_string() } else { format!("{digits}.0") };
    Some(if neg { format!("-{digits}") } else { digits })
}

/// An sx string literal for `bytes`, `None` if they are not UTF-8.
pub(crate) fn string_literal(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Some(out)
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\t', '\r'], " ")
}
