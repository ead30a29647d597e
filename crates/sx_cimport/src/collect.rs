//! lang-c's syntax tree to the [`Model`]: declaration specifiers and declarators to C types,
//! struct/union/enum definitions, typedefs, functions and `extern` variables, with the GNU
//! attributes that change a layout (`packed`, `aligned`, `mode`, `vector_size`).

use crate::cexpr::{self, BinOp, CExpr, Evaluator, FloatWidth, Names, UnOp, Value};
use crate::model::*;
use crate::specs::SpecSet;
use lang_c::ast::*;
use lang_c::span::Node;

/// Type names the preprocessed text may use that lang-c does not know (declared by the
/// prelude the translator puts in front of the text) and what they are.
pub(crate) const PRELUDE_TYPES: &[(&str, &str)] = &[
    ("__int128_t", "a 128-bit integer"),
    ("__uint128_t", "a 128-bit integer"),
    ("__sx_int128", "a 128-bit integer"),
    ("__sx_float80", "an 80-bit float"),
    ("__sx_fp16", "a 16-bit float"),
    ("__sx_bf16", "a bfloat16"),
];

/// One declaration specifier or specifier-qualifier, whichever list it came from.
enum Spec<'a> {
    Type(&'a Node<TypeSpecifier>),
    Storage(&'a StorageClassSpecifier),
    Func(&'a FunctionSpecifier),
    Align,
    Ext(&'a [Node<Extension>]),
    Qualifier(&'a TypeQualifier),
}

fn from_decl_specs(specs: &[Node<DeclarationSpecifier>]) -> Vec<Spec<'_>> {
    specs
        .iter()
        .map(|s| match &s.node {
            DeclarationSpecifier::StorageClass(c) => Spec::Storage(&c.node),
            DeclarationSpecifier::TypeSpecifier(t) => Spec::Type(t),
            DeclarationSpecifier::TypeQualifier(q) => Spec::Qualifier(&q.node),
            DeclarationSpecifier::Function(f) => Spec::Func(&f.node),
            DeclarationSpecifier::Alignment(_) => Spec::Align,
            DeclarationSpecifier::Extension(e) => Spec::Ext(e),
        })
        .collect()
}

fn from_qual_specs(specs: &[Node<SpecifierQualifier>]) -> Vec<Spec<'_>> {
    specs
        .iter()
        .map(|s| match &s.node {
            SpecifierQualifier::TypeSpecifier(t) => Spec::Type(t),
            SpecifierQualifier::TypeQualifier(q) => Spec::Qualifier(&q.node),
            SpecifierQualifier::Extension(e) => Spec::Ext(e),
        })
        .collect()
}

/// What a specifier list says besides the type.
struct Specs<'a> {
    ty: CType,
    storage: Option<StorageClassSpecifier>,
    noreturn: bool,
    attrs: Vec<&'a Attribute>,
}

/// Layout-relevant attributes.
#[derive(Default)]
struct LayoutAttrs {
    packed: bool,
    /// `aligned(N)`; `Some(None)`: `aligned` without an argument (the target's maximum).
    aligned: Option<Option<u64>>,
    mode: Option<String>,
    vector: bool,
    noreturn: bool,
}

/// Builds the [`Model`] of a translation unit.
pub(crate) struct Collector {
    pub(crate) model: Model,
    /// Declarations that start before this offset belong to the prelude.
    prelude_end: usize,
    depth: u32,
}

impl Collector {
    /// A collector for a target with `pointer_bytes`-byte pointers.
    pub(crate) fn new(pointer_bytes: u64, prelude_end: usize) -> Self {
        Collector { model: Model::new(pointer_bytes), prelude_end, depth: 0 }
    }

    /// Collects every external declaration of `unit`.
    pub(crate) fn unit(&mut self, unit: &TranslationUnit) {
        for ext in &unit.0 {
            let offset = ext.span.start;
            if offset < self.prelude_end {
                continue;
            }
            match &ext.node {
                ExternalDeclaration::Declaration(d) => self.declaration(&d.node, offset),
                ExternalDeclaration::FunctionDefinition(f) => self.function_definition(&f.node, offset),
                ExternalDeclaration::StaticAssert(_) => {}
            }
        }
    }

    fn reject(&mut self, name: &str, reason: impl Into<String>, offset: usize) {
        if self.model.rejected.iter().any(|r| r.name == name) {
            return;
        }
        self.model.rejected.push(Rejected { name: name.to_string(), reason: reason.into(), offset });
    }

    fn declaration(&mut self, d: &Declaration, offset: usize) {
        let specs = from_decl_specs(&d.specifiers);
        let s = self.specifiers(&specs, offset);
        for init in &d.declarators {
            let (name, ty, exts) = self.declarator(&init.node.declarator.node, s.ty.clone(), offset);
            let Some(name) = name else { continue };
            let mut attrs: Vec<&Attribute> = s.attrs.clone();
            attrs.extend(exts.iter().filter_map(|e| match e {
                Extension::Attribute(a) => Some(a),
                Extension::AsmLabel(_) | Extension::AvailabilityAttribute(_) => None,
            }));
            let symbol = asm_label(&exts);
            if s.storage == Some(StorageClassSpecifier::Typedef) {
                self.typedef(name, ty, &attrs, &s.ty, offset);
                continue;
            }
            let la = self.layout_attrs(&attrs);
            if let Some(f) = self.model.function_of(&ty) {
                if s.storage == Some(StorageClassSpecifier::Static) {
                    self.reject(&name, "a static function (no linkable symbol)", offset);
                    continue;
                }
                self.function(name, f, symbol, s.noreturn || la.noreturn, offset);
                continue;
            }
            match s.storage {
                Some(StorageClassSpecifier::Static) => self.reject(&name, "a static variable (no linkable symbol)", offset),
                Some(StorageClassSpecifier::ThreadLocal) => self.reject(&name, "a thread-local variable", offset),
                Some(StorageClassSpecifier::Typedef)
                | Some(StorageClassSpecifier::Extern)
                | Some(StorageClassSpecifier::Auto)
                | Some(StorageClassSpecifier::Register)
                | None => {
                    if specs.iter().any(|sp| matches!(sp, Spec::Storage(StorageClassSpecifier::ThreadLocal))) {
                        self.reject(&name, "a thread-local variable", offset);
                    } else if la.aligned.is_some() || la.packed {
                        self.reject(&name, "a variable with an alignment attribute", offset);
                    } else if !self.model.variables.iter().any(|v| v.name == name) {
                        self.model.variables.push(Variable { name, ty, symbol, offset });
                    }
                }
            }
        }
    }

    fn function_definition(&mut self, f: &FunctionDefinition, offset: usize) {
        let specs = from_decl_specs(&f.specifiers);
        let s = self.specifiers(&specs, offset);
        let (name, ty, exts) = self.declarator(&f.declarator.node, s.ty.clone(), offset);
        let (Some(name), CType::Function(fty)) = (name, ty) else { return };
        if s.storage == Some(StorageClassSpecifier::Static) {
            self.reject(&name, "a static inline function (no linkable symbol)", offset);
            return;
        }
        let attrs: Vec<&Attribute> = exts
            .iter()
            .filter_map(|e| match e {
                Extension::Attribute(a) => Some(a),
                Extension::AsmLabel(_) | Extension::AvailabilityAttribute(_) => None,
            })
            .collect();
        let noreturn = s.noreturn || self.layout_attrs(&attrs).noreturn;
        self.function(name, *fty, asm_label(&exts), noreturn, offset);
    }

    fn function(&mut self, name: String, ty: FnType, symbol: Option<String>, noreturn: bool, offset: usize) {
        if let Some(existing) = self.model.functions.iter_mut().find(|f| f.name == name) {
            if symbol.is_some() {
                existing.symbol = symbol;
            }
            existing.noreturn |= noreturn;
            return;
        }
        self.model.functions.push(Function { name, ty, symbol, noreturn, offset });
    }

    fn typedef(&mut self, name: String, ty: CType, attrs: &[&Attribute], base: &CType, offset: usize) {
        if self.model.typedef_by_name.contains_key(&name) {
            return;
        }
        let la = self.layout_attrs(attrs);
        let mut ty = ty;
        if let Some(mode) = &la.mode {
            ty = self.apply_mode(&ty, mode);
        }
        if la.vector {
            ty = CType::Unsupported("a vector type (`vector_size`)".into());
        }
        if la.packed || la.aligned.is_some() {
            let natural = self.model.layout(&ty).map(|l| l.align);
            let same = matches!((la.aligned, natural), (Some(Some(n)), Some(a)) if n == a) && !la.packed;
            if !same {
                ty = CType::Unsupported("a typedef with an alignment attribute".into());
            }
        }
        // `typedef struct { … } name;` names the untagged record (or enum) itself.
        if &ty == base {
            if let CType::Record(id) = &ty {
                let r = &mut self.model.records[*id];
                if r.tag.is_none() && r.typedef_name.is_none() {
                    r.typedef_name = Some(name.clone());
                }
            } else if let CType::Enum(id) = &ty {
                let e = &mut self.model.enums[*id];
                if e.tag.is_none() && e.typedef_name.is_none() {
                    e.typedef_name = Some(name.clone());
                }
            }
        }
        let id = self.model.typedefs.push(Typedef { name: name.clone(), ty, offset });
        self.model.typedef_by_name.insert(name, id);
    }

    /// Reads a specifier list: the type (defining any struct/union/enum it contains), the
    /// storage class, `_Noreturn`, and the attributes.
    fn specifiers<'a>(&mut self, specs: &[Spec<'a>], offset: usize) -> Specs<'a> {
        let mut set = SpecSet::default();
        let mut storage = None;
        let mut noreturn = false;
        let mut attrs: Vec<&Attribute> = Vec::new();
        for s in specs {
            if let Spec::Ext(exts) = s {
                attrs.extend(exts.iter().filter_map(|e| match &e.node {
                    Extension::Attribute(a) => Some(a),
                    Extension::AsmLabel(_) | Extension::AvailabilityAttribute(_) => None,
                }));
            }
        }
        let la = self.layout_attrs(&attrs);
        for s in specs {
            match s {
                Spec::Type(t) => self.type_specifier(&mut set, &t.node, &la, offset),
                Spec::Storage(c) => {
                    if **c == StorageClassSpecifier::ThreadLocal && storage.is_some() {
                        continue;
                    }
                    storage = Some((*c).clone());
                }
                Spec::Func(FunctionSpecifier::Noreturn) => noreturn = true,
                Spec::Func(FunctionSpecifier::Inline) => {}
                Spec::Align => set.alignas = true,
                Spec::Qualifier(TypeQualifier::Atomic) => set.atomic = true,
                Spec::Qualifier(_) | Spec::Ext(_) => {}
            }
        }
        let mut ty = set.resolve();
        if let Some(mode) = &la.mode {
            ty = self.apply_mode(&ty, mode);
        }
        Specs { ty, storage, noreturn, attrs }
    }

    fn type_specifier(&mut self, set: &mut SpecSet, t: &TypeSpecifier, la: &LayoutAttrs, offset: usize) {
        match t {
            TypeSpecifier::Void => set.void += 1,
            TypeSpecifier::Char => set.char += 1,
            TypeSpecifier::Short => set.short += 1,
            TypeSpecifier::Int => set.int += 1,
            TypeSpecifier::Long => set.long += 1,
            TypeSpecifier::Float => set.float += 1,
            TypeSpecifier::Double => set.double += 1,
            TypeSpecifier::Signed => set.signed += 1,
            TypeSpecifier::Unsigned => set.unsigned += 1,
            TypeSpecifier::Bool => set.bool += 1,
            TypeSpecifier::Complex => set.complex += 1,
            TypeSpecifier::Atomic(_) => set.atomic = true,
            TypeSpecifier::Struct(st) => {
                let id = self.record(&st.node, la, offset);
                set.named(CType::Record(id));
            }
            TypeSpecifier::Enum(et) => {
                let ty = self.enum_type(&et.node, la, offset);
                set.named(ty);
            }
            TypeSpecifier::TypedefName(id) => {
                let ty = self.typedef_name(&id.node.name);
                set.named(ty);
            }
            TypeSpecifier::TypeOf(t) => {
                let ty = match &t.node {
                    TypeOf::Type(tn) => self.type_name(&tn.node, offset),
                    TypeOf::Expression(_) => CType::Unsupported("`typeof` of an expression".into()),
                };
                set.named(ty);
            }
            TypeSpecifier::TS18661Float(f) => {
                let ty = match (&f.format, f.width) {
                    (TS18661FloatFormat::BinaryInterchange, 32) => CType::Float(FloatKind::Float),
                    (TS18661FloatFormat::BinaryInterchange, 64) | (TS18661FloatFormat::BinaryExtended, 32) => {
                        CType::Float(FloatKind::Double)
                    }
                    (format, width) => CType::Unsupported(format!("`_Float{}{}`", width, float_suffix(format))),
                };
                set.named(ty);
            }
        }
    }

    /// The type a typedef name stands for.
    pub(crate) fn typedef_name(&self, name: &str) -> CType {
        if name == "__builtin_va_list" {
            return CType::Unsupported("C `va_list`".into());
        }
        if let Some((_, what)) = PRELUDE_TYPES.iter().find(|(n, _)| *n == name) {
            return CType::Unsupported((*what).to_string());
        }
        match self.model.typedef_by_name.get(name) {
            Some(id) => CType::Typedef(*id),
            None => CType::Unsupported(format!("unknown type `{name}`")),
        }
    }

    fn type_name(&mut self, tn: &TypeName, offset: usize) -> CType {
        let specs = from_qual_specs(&tn.specifiers);
        let s = self.specifiers(&specs, offset);
        match &tn.declarator {
            Some(d) => self.declarator(&d.node, s.ty, offset).1,
            None => s.ty,
        }
    }

    /// Applies a declarator to `base`: the declared name, its type, and the extensions
    /// (attributes, asm labels) written on any level of it.
    fn declarator(&mut self, d: &Declarator, base: CType, offset: usize) -> (Option<String>, CType, Vec<Extension>) {
        let mut exts = Vec::new();
        let (name, ty) = self.declarator_into(d, base, offset, &mut exts);
        (name, ty, exts)
    }

    fn declarator_into(&mut self, d: &Declarator, base: CType, offset: usize, exts: &mut Vec<Extension>) -> (Option<String>, CType) {
        if self.depth > 100 {
            return (None, CType::Unsupported("a declarator nested too deeply".into()));
        }
        exts.extend(d.extensions.iter().map(|e| e.node.clone()));
        let mut ty = base;
        for derived in &d.derived {
            ty = match &derived.node {
                DerivedDeclarator::Pointer(_) => CType::Pointer(Box::new(ty)),
                DerivedDeclarator::Array(a) => {
                    let len = match &a.node.size {
                        ArraySize::Unknown | ArraySize::VariableUnknown => Ok(None),
                        ArraySize::VariableExpression(e) | ArraySize::StaticExpression(e) => self.array_len(&e.node).map(Some),
                    };
                    match len {
                        Ok(n) => CType::Array(Box::new(ty), n),
                        Err(why) => CType::Unsupported(format!("an array whose length is not a constant ({why})")),
                    }
                }
                DerivedDeclarator::Function(f) => self.fn_type(&f.node, ty, offset),
                DerivedDeclarator::KRFunction(ids) => {
                    if ids.is_empty() {
                        CType::Function(Box::new(FnType { ret: ty, params: Vec::new(), variadic: false }))
                    } else {
                        CType::Unsupported("a K&R-style function".into())
                    }
                }
                DerivedDeclarator::Block(_) => CType::Unsupported("a block pointer".into()),
            };
        }
        match &d.kind.node {
            DeclaratorKind::Abstract => (None, ty),
            DeclaratorKind::Identifier(id) => (Some(id.node.name.clone()), ty),
            DeclaratorKind::Declarator(inner) => {
                self.depth += 1;
                let r = self.declarator_into(&inner.node, ty, offset, exts);
                self.depth -= 1;
                r
            }
        }
    }

    fn fn_type(&mut self, f: &FunctionDeclarator, ret: CType, offset: usize) -> CType {
        let mut params = Vec::new();
        for p in &f.parameters {
            let specs = from_decl_specs(&p.node.specifiers);
            let s = self.specifiers(&specs, offset);
            let (name, ty) = match &p.node.declarator {
                Some(d) => {
                    let (n, t, _) = self.declarator(&d.node, s.ty, offset);
                    (n, t)
                }
                None => (None, s.ty),
            };
            // Array and function parameters are pointers (C11 6.7.6.3), typedef'd ones too.
            let ty = match self.model.resolve(&ty) {
                CType::Array(elem, _) => CType::Pointer(elem.clone()),
                CType::Function(_) => CType::Pointer(Box::new(ty)),
                CType::Void
                | CType::Int(_)
                | CType::Float(_)
                | CType::Pointer(_)
                | CType::Record(_)
                | CType::Enum(_)
                | CType::Typedef(_)
                | CType::Unsupported(_) => ty,
            };
            params.push(Param { name, ty });
        }
        if params.len() == 1 && params[0].name.is_none() && params[0].ty == CType::Void {
            params.clear();
        }
        let variadic = f.ellipsis == Ellipsis::Some;
        CType::Function(Box::new(FnType { ret, params, variadic }))
    }

    fn array_len(&mut self, e: &Expression) -> Result<u64, String> {
        let ce = self.const_expr(e);
        let v = Evaluator::new(&self.model, &mut EnumNames { model: Some(&self.model.enumerators) }).eval(&ce)?;
        match v {
            Value::Int(n, _) => u64::try_from(n).map_err(|_| "a negative length".to_string()),
            Value::Float(..) | Value::Str(_) => Err("not an integer".into()),
        }
    }

    fn record(&mut self, st: &StructType, la: &LayoutAttrs, offset: usize) -> RecordId {
        let kind = match st.kind.node {
            StructKind::Struct => RecordKind::Struct,
            StructKind::Union => RecordKind::Union,
        };
        let tag = st.identifier.as_ref().map(|i| i.node.name.clone());
        let existing = tag.as_ref().and_then(|t| match kind {
            RecordKind::Struct => self.model.struct_tags.get(t).copied(),
            RecordKind::Union => self.model.union_tags.get(t).copied(),
        });
        let Some(decls) = &st.declarations else {
            if let Some(id) = existing {
                return id;
            }
            return self.new_record(kind, tag, offset);
        };
        let id = match existing {
            Some(id) if self.model.records[id].fields.is_none() => id,
            Some(_) => self.model.records.push(Record {
                kind,
                tag: None,
                typedef_name: None,
                fields: None,
                layout_problem: Some("a second definition of the same tag".into()),
                offset,
            }),
            None => self.new_record(kind, tag, offset),
        };
        let mut fields = Vec::new();
        let mut problem = None;
        for d in decls {
            let StructDeclaration::Field(f) = &d.node else { continue };
            self.field(&f.node, offset, &mut fields, &mut problem);
        }
        self.model.records[id].fields = Some(fields);
        if problem.is_none() && la.packed {
            problem = Some("a packed struct or union".to_string());
        }
        if problem.is_none() {
            if let Some(aligned) = la.aligned {
                let natural = self.model.record_layout(id).map(|l| l.align);
                problem = match (aligned, natural) {
                    (Some(n), Some(a)) if n <= a => None,
                    _ => Some("an alignment attribute that changes the layout".to_string()),
                };
            }
        }
        self.model.records[id].layout_problem = problem;
        id
    }

    fn new_record(&mut self, kind: RecordKind, tag: Option<String>, offset: usize) -> RecordId {
        let id = self.model.records.push(Record { kind, tag: tag.clone(), typedef_name: None, fields: None, layout_problem: None, offset });
        if let Some(t) = tag {
            match kind {
                RecordKind::Struct => self.model.struct_tags.insert(t, id),
                RecordKind::Union => self.model.union_tags.insert(t, id),
            };
        }
        id
    }

    fn field(&mut self, f: &StructField, offset: usize, fields: &mut Vec<Field>, problem: &mut Option<String>) {
        let specs = from_qual_specs(&f.specifiers);
        let s = self.specifiers(&specs, offset);
        if f.declarators.is_empty() {
            // C11 anonymous member: an untagged struct or union without a declarator.
            if let CType::Record(id) = s.ty {
                if self.model.records[id].tag.is_none() {
                    fields.push(Field { name: None, ty: s.ty });
                }
            }
            return;
        }
        for sd in &f.declarators {
            let (name, ty, exts) = match &sd.node.declarator {
                Some(d) => self.declarator(&d.node, s.ty.clone(), offset),
                None => (None, s.ty.clone(), Vec::new()),
            };
            if sd.node.bit_width.is_some() {
                if problem.is_none() {
                    *problem = Some(format!("bit-field `{}`", name.as_deref().unwrap_or("(unnamed)")));
                }
                continue;
            }
            let Some(name) = name else { continue };
            let mut attrs = s.attrs.clone();
            attrs.extend(exts.iter().filter_map(|e| match e {
                Extension::Attribute(a) => Some(a),
                Extension::AsmLabel(_) | Extension::AvailabilityAttribute(_) => None,
            }));
            let la = self.layout_attrs(&attrs);
            let ty = match &la.mode {
                Some(mode) => self.apply_mode(&ty, mode),
                None => ty,
            };
            if la.vector && problem.is_none() {
                *problem = Some(format!("field `{name}` has a vector type"));
            }
            if la.packed || la.aligned.is_some() {
                let natural = self.model.layout(&ty).map(|l| l.align);
                let harmless = match (la.packed, la.aligned, natural) {
                    (false, Some(Some(n)), Some(a)) => n <= a,
                    (true, None, Some(1)) => true,
                    _ => false,
                };
                if !harmless && problem.is_none() {
                    *problem = Some(format!("field `{name}` has an alignment attribute"));
                }
            }
            fields.push(Field { name: Some(name), ty });
        }
    }

    fn enum_type(&mut self, et: &EnumType, la: &LayoutAttrs, offset: usize) -> CType {
        let tag = et.identifier.as_ref().map(|i| i.node.name.clone());
        let existing = tag.as_ref().and_then(|t| self.model.enum_tags.get(t).copied());
        if et.enumerators.is_empty() {
            let id = match existing {
                Some(id) => id,
                None => self.new_enum(tag, offset),
            };
            return CType::Enum(id);
        }
        let id = match existing {
            Some(id) if !self.model.enums[id].complete => id,
            Some(_) | None => self.new_enum(tag, offset),
        };
        let mut next: i128 = 0;
        let mut values = Vec::new();
        for en in &et.enumerators {
            let name = en.node.identifier.node.name.clone();
            let value = match &en.node.expression {
                Some(e) => {
                    let ce = self.const_expr(&e.node);
                    match Evaluator::new(&self.model, &mut EnumNames { model: Some(&self.model.enumerators) }).eval(&ce) {
                        Ok(Value::Int(v, _)) => v,
                        Ok(_) | Err(_) => next,
                    }
                }
                None => next,
            };
            next = value.saturating_add(1);
            self.model.enumerators.insert(name.clone(), (value, IntKind::Int, id));
            values.push((name, value));
        }
        self.model.enums[id].enumerators = values;
        self.model.enums[id].complete = true;
        let kind = self.model.enum_int(id);
        for (name, _) in &self.model.enums[id].enumerators {
            if let Some(e) = self.model.enumerators.get_mut(name) {
                e.1 = kind;
            }
        }
        if la.packed {
            return CType::Unsupported("a packed enum".into());
        }
        CType::Enum(id)
    }

    fn new_enum(&mut self, tag: Option<String>, offset: usize) -> EnumId {
        let id = self.model.enums.push(Enum { tag: tag.clone(), typedef_name: None, enumerators: Vec::new(), complete: false, offset });
        if let Some(t) = tag {
            self.model.enum_tags.insert(t, id);
        }
        id
    }

    fn layout_attrs(&mut self, attrs: &[&Attribute]) -> LayoutAttrs {
        let mut la = LayoutAttrs::default();
        for a in attrs {
            let name = a.name.node.trim_matches('_');
            match name {
                "packed" => la.packed = true,
                "aligned" => {
                    let n = a.arguments.first().map(|e| {
                        let ce = self.const_expr(&e.node);
                        match Evaluator::new(&self.model, &mut EnumNames { model: Some(&self.model.enumerators) }).eval(&ce) {
                            Ok(Value::Int(n, _)) => u64::try_from(n).ok(),
                            Ok(_) | Err(_) => None,
                        }
                    });
                    la.aligned = Some(match n {
                        Some(Some(n)) => Some(n),
                        Some(None) => Some(u64::MAX),
                        None => None,
                    });
                }
                "mode" => {
                    if let Some(Expression::Identifier(id)) = a.arguments.first().map(|e| &e.node) {
                        la.mode = Some(id.node.name.trim_matches('_').to_string());
                    }
                }
                "vector_size" => la.vector = true,
                "noreturn" => la.noreturn = true,
                _ => {}
            }
        }
        la
    }

    fn apply_mode(&self, ty: &CType, mode: &str) -> CType {
        let signed = match self.model.resolve(ty) {
            CType::Int(k) => k.signed(),
            CType::Float(_) => return CType::Unsupported(format!("a float with `mode({mode})`")),
            CType::Void
            | CType::Pointer(_)
            | CType::Array(..)
            | CType::Function(_)
            | CType::Record(_)
            | CType::Enum(_)
            | CType::Typedef(_)
            | CType::Unsupported(_) => return CType::Unsupported(format!("`mode({mode})`")),
        };
        let kind = match mode {
            "QI" => IntKind::SChar,
            "HI" => IntKind::Short,
            "SI" => IntKind::Int,
            "DI" | "word" | "pointer" => IntKind::LongLong,
            _ => return CType::Unsupported(format!("an integer with `mode({mode})`")),
        };
        CType::Int(if signed { kind } else { kind.to_unsigned() })
    }

    /// Converts a lang-c expression to a constant-expression tree.
    pub(crate) fn const_expr(&mut self, e: &Expression) -> CExpr {
        self.const_expr_mut(e, 0)
    }

    fn const_expr_mut(&mut self, e: &Expression, depth: u32) -> CExpr {
        if depth > 300 {
            return CExpr::NotConstant("an expression nested too deeply".into());
        }
        let sub = |this: &mut Self, x: &Node<Expression>| Box::new(this.const_expr_mut(&x.node, depth + 1));
        match e {
            Expression::Identifier(i) => CExpr::Ident(i.node.name.clone()),
            Expression::Constant(c) => constant(&self.model, &c.node),
            Expression::StringLiteral(s) => string_lit(&s.node),
            Expression::SizeOfTy(t) => CExpr::SizeofType(self.type_name(&t.node.0.node, 0)),
            Expression::SizeOfVal(v) => CExpr::SizeofExpr(sub(self, &v.node.0)),
            Expression::AlignOf(t) => CExpr::AlignofType(self.type_name(&t.node.0.node, 0)),
            Expression::UnaryOperator(u) => {
                let op = match u.node.operator.node {
                    UnaryOperator::Plus => UnOp::Plus,
                    UnaryOperator::Minus => UnOp::Neg,
                    UnaryOperator::Complement => UnOp::Complement,
                    UnaryOperator::Negate => UnOp::Not,
                    UnaryOperator::PostIncrement
                    | UnaryOperator::PostDecrement
                    | UnaryOperator::PreIncrement
                    | UnaryOperator::PreDecrement
                    | UnaryOperator::Address
                    | UnaryOperator::Indirection => return CExpr::NotConstant("an operator that is not constant".into()),
                };
                CExpr::Unary(op, sub(self, &u.node.operand))
            }
            Expression::Cast(c) => {
                let ty = self.type_name(&c.node.type_name.node, 0);
                CExpr::Cast(ty, sub(self, &c.node.expression))
            }
            Expression::BinaryOperator(b) => match binop(&b.node.operator.node) {
                Some(op) => CExpr::Binary(op, sub(self, &b.node.lhs), sub(self, &b.node.rhs)),
                None => CExpr::NotConstant("an operator that is not constant".into()),
            },
            Expression::Conditional(c) => {
                CExpr::Cond(sub(self, &c.node.condition), sub(self, &c.node.then_expression), sub(self, &c.node.else_expression))
            }
            Expression::GenericSelection(_)
            | Expression::Member(_)
            | Expression::Call(_)
            | Expression::CompoundLiteral(_)
            | Expression::Comma(_)
            | Expression::OffsetOf(_)
            | Expression::VaArg(_)
            | Expression::Statement(_) => CExpr::NotConstant("an expression that is not constant".into()),
        }
    }
}

fn float_suffix(f: &TS18661FloatFormat) -> &'static str {
    match f {
        TS18661FloatFormat::BinaryInterchange | TS18661FloatFormat::DecimalInterchange => "",
        TS18661FloatFormat::BinaryExtended | TS18661FloatFormat::DecimalExtended => "x",
    }
}

fn binop(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Multiply => BinOp::Mul,
        BinaryOperator::Divide => BinOp::Div,
        BinaryOperator::Modulo => BinOp::Rem,
        BinaryOperator::Plus => BinOp::Add,
        BinaryOperator::Minus => BinOp::Sub,
        BinaryOperator::ShiftLeft => BinOp::Shl,
        BinaryOperator::ShiftRight => BinOp::Shr,
        BinaryOperator::Less => BinOp::Lt,
        BinaryOperator::Greater => BinOp::Gt,
        BinaryOperator::LessOrEqual => BinOp::Le,
        BinaryOperator::GreaterOrEqual => BinOp::Ge,
        BinaryOperator::Equals => BinOp::Eq,
        BinaryOperator::NotEquals => BinOp::Ne,
        BinaryOperator::BitwiseAnd => BinOp::BitAnd,
        BinaryOperator::BitwiseXor => BinOp::BitXor,
        BinaryOperator::BitwiseOr => BinOp::BitOr,
        BinaryOperator::LogicalAnd => BinOp::And,
        BinaryOperator::LogicalOr => BinOp::Or,
        BinaryOperator::Index
        | BinaryOperator::Assign
        | BinaryOperator::AssignMultiply
        | BinaryOperator::AssignDivide
        | BinaryOperator::AssignModulo
        | BinaryOperator::AssignPlus
        | BinaryOperator::AssignMinus
        | BinaryOperator::AssignShiftLeft
        | BinaryOperator::AssignShiftRight
        | BinaryOperator::AssignBitwiseAnd
        | BinaryOperator::AssignBitwiseXor
        | BinaryOperator::AssignBitwiseOr => return None,
    })
}

fn constant(model: &Model, c: &Constant) -> CExpr {
    match c {
        Constant::Integer(i) => {
            let (radix, digits) = match i.base {
                IntegerBase::Decimal => (10, &*i.number),
                IntegerBase::Octal => (8, &*i.number),
                IntegerBase::Hexadecimal => (16, i.number.trim_start_matches("0x").trim_start_matches("0X")),
                IntegerBase::Binary => (2, i.number.trim_start_matches("0b").trim_start_matches("0B")),
            };
            if i.suffix.imaginary {
                return CExpr::NotConstant("an imaginary constant".into());
            }
            let value = if digits.is_empty() { Some(0) } else { cexpr::parse_digits(digits, radix) };
            let longs = match i.suffix.size {
                IntegerSize::Int => 0,
                IntegerSize::Long => 1,
                IntegerSize::LongLong => 2,
            };
            match value
                .and_then(|v| cexpr::literal_int_type(model, v, i.base == IntegerBase::Decimal, i.suffix.unsigned, longs).map(|k| (v, k)))
            {
                Some((v, k)) => CExpr::Int(v as i128, k),
                None => CExpr::NotConstant("an integer literal too large for any C type".into()),
            }
        }
        Constant::Float(f) => {
            if f.suffix.imaginary {
                return CExpr::NotConstant("an imaginary constant".into());
            }
            let width = match &f.suffix.format {
                FloatFormat::Float => FloatWidth::Float,
                FloatFormat::Double => FloatWidth::Double,
                FloatFormat::LongDouble => FloatWidth::LongDouble,
                FloatFormat::TS18661Format(t) => match (&t.format, t.width) {
                    (TS18661FloatFormat::BinaryInterchange, 32) => FloatWidth::Float,
                    (TS18661FloatFormat::BinaryInterchange, 64) => FloatWidth::Double,
                    _ => FloatWidth::LongDouble,
                },
            };
            let text: String = f.number.chars().filter(|c| *c != '\'').collect();
            let v = match f.base {
                FloatBase::Decimal => text.parse::<f64>().ok(),
                FloatBase::Hexadecimal => cexpr::parse_hex_float(text.trim_start_matches("0x").trim_start_matches("0X")),
            };
            match v {
                Some(v) => CExpr::Float(if width == FloatWidth::Float { v as f32 as f64 } else { v }, width),
                None => CExpr::NotConstant("a malformed floating literal".into()),
            }
        }
        Constant::Character(raw) => match cexpr::parse_char_token(raw) {
            Ok(v) => CExpr::Int(v, IntKind::Int),
            Err(why) => CExpr::NotConstant(why),
        },
    }
}

fn string_lit(pieces: &[String]) -> CExpr {
    let mut out = Vec::new();
    for p in pieces {
        match cexpr::parse_string_token(p) {
            Ok(b) => out.extend(b),
            Err(why) => return CExpr::NotConstant(why),
        }
    }
    CExpr::Str(out)
}

/// The symbol an `__asm__("…")` label names, if any.
fn asm_label(exts: &[Extension]) -> Option<String> {
    exts.iter().find_map(|e| match e {
        Extension::AsmLabel(pieces) => {
            let mut out = Vec::new();
            for p in &pieces.node {
                out.extend(cexpr::parse_string_token(p).ok()?);
            }
            String::from_utf8(out).ok().filter(|s| !s.is_empty())
        }
        Extension::Attribute(_) | Extension::AvailabilityAttribute(_) => None,
    })
}

/// Enumerator names while collecting.
struct EnumNames<'a> {
    model: Option<&'a std::collections::HashMap<String, (i128, IntKind, EnumId)>>,
}

impl Names for EnumNames<'_> {
    fn lookup(&mut self, name: &str) -> Result<Value, String> {
        match self.model.and_then(|m| m.get(name)) {
            Some((v, k, _)) => Ok(Value::Int(*v, *k)),
            None => Err(format!("refers to `{name}`, which is not a constant")),
        }
    }
}
