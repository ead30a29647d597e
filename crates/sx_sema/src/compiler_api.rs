//! The compiler API: functions compile-time code calls to read and extend the compiler's own
//! tables — the string pool (`raw_intern`, `raw_text_of`), the type table (`raw_find_type`,
//! `raw_type_kind`, `raw_field_*`, …) and type construction (`raw_declare_type`,
//! `raw_pointer_to`, `raw_register_type`).
//!
//! They are `intrinsic` declarations of the standard library (the readers in `std.sx`, the
//! writers in `std/meta.sx`); their declared signatures say how arguments convert. A call lowers
//! to a call of the reserved extern `__sx_compiler.<name>` with the arguments flattened to
//! scalars (a `string` or slice is its pointer and length, a `Type` the address of its record,
//! integers themselves). The VM executes such a call as a suspension: `Vm::call` returns
//! `Outcome::CompilerCall`, the compiler services the request here with full access to itself
//! (a type minted now is visible to the rest of the same evaluation, and nested evaluations may
//! run while it waits), then resumes the VM with the results.
//!
//! Handles are `u32`: a string id is its index in the pool plus one, a type id is the
//! [`TypeId`] plus one; 0 means "none". Minted types are ordinary nominal structs and enums of
//! the [`sx_types::TypeTable`]; a forward-declared type's record is rewritten in place (and
//! reloaded into comptime memory) when its body is registered.
//!
//! These functions have no run-time form: a function reachable from the program's entry that
//! calls one is a compile error naming the call path ([`Compiler::check_runtime_compiler_calls`]).

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{InstKind, Type as IrType};
use sx_types::TypeKind as TK;
use sx_vm::PointerTarget;

/// Compile-time evaluations started while others wait (a type function needing another
/// type function, …) may nest this deep.
const MAX_NESTED_EVALUATIONS: usize = 200;

/// Kind codes of `raw_type_kind` and `raw_register_type`.
mod kind {
    pub const OTHER: i64 = 0;
    pub const STRUCT: i64 = 1;
    pub const ENUM: i64 = 2;
    pub const TAGGED_UNION: i64 = 3;
    pub const TUPLE: i64 = 4;
    pub const UNION: i64 = 5;
    pub const ARRAY: i64 = 6;
    pub const VECTOR: i64 = 7;
    pub const ERROR_SET: i64 = 8;
}

/// A nominal type minted by `raw_declare_type` (or made ahead of it for a self-reference).
struct Minted {
    ty: TypeId,
    name: String,
    /// The evaluation that declared it (reported when it is never defined).
    span: Span,
    /// Id of that evaluation; `None` for a forward type no `raw_declare_type` claimed yet.
    eval: Option<u64>,
    /// `raw_register_type` gave it a body.
    defined: bool,
}

/// A registered body waiting until the types its members hold by value are defined.
struct PendingDef {
    ty: TypeId,
    kind: i64,
    members: Vec<(String, TypeId)>,
    file: FileIdx,
    span: Span,
}

/// The compiler-API state of one compilation.
#[derive(Default)]
pub(crate) struct ApiState {
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    minted: Vec<Minted>,
    /// Types made for `Name` when a declaration referred to itself while being evaluated and
    /// some loaded file says `declare("Name")`: the next `raw_declare_type("Name")` returns it.
    forward: HashMap<String, TypeId>,
    pending: Vec<PendingDef>,
    /// Declared signatures of the API intrinsics: parameter types and result type.
    sigs: HashMap<String, (Vec<TypeId>, TypeId)>,
    /// The evaluations running on the VM (file, span, id), innermost last.
    evals: Vec<(FileIdx, Span, u64)>,
    next_eval: u64,
}

impl<'c> FnCx<'c> {
    /// Lowers a call of compiler-API intrinsic `name`; `None` when `name` is not one.
    pub fn compiler_api_call(&mut self, name: &str, args: &[Arg], span: Span) -> Option<R<TV>> {
        if !COMPILER_API.contains(&name) && !crate::syntax_facts::BUILD_API.contains(&name) {
            return None;
        }
        Some(self.compiler_api_inner(name, args, span))
    }

    fn compiler_api_inner(&mut self, name: &str, args: &[Arg], span: Span) -> R<TV> {
        let (params, ret) = self.c.api_signature(name, span)?;
        if args.len() != params.len() || args.iter().any(|a| a.spread || a.name.is_some()) {
            return self.err(span, format!("'{}' takes {} argument{}", name, params.len(), if params.len() == 1 { "" } else { "s" }));
        }
        let p = self.ptr_ty();
        let pb = self.c.module.pointer_bytes() as i32;
        let mut ir_args = vec![];
        let mut ir_params = vec![];
        for (a, &pt) in args.iter().zip(&params) {
            let v = self.expr(&a.value, Some(pt))?;
            let v = self.coerce(v, pt, a.value.span)?;
            if matches!(self.c.types.kind(pt), TK::String | TK::Slice(_)) {
                let s = self.slot_for(pt);
                let addr = self.slot_addr(s);
                self.store(addr, v, a.value.span)?;
                let ptr = self.b(|b| b.load(p, addr, 0));
                let len = self.b(|b| b.load(IrType::I64, addr, pb));
                ir_args.extend([ptr, len]);
                ir_params.extend([p, IrType::I64]);
            } else {
                let Some(irt) = self.c.types.scalar(pt) else {
                    return self
                        .err(a.value.span, format!("not supported yet: a '{}' argument of a compiler-API function", self.tname(pt)));
                };
                ir_args.push(self.scalar(v, a.value.span)?);
                ir_params.push(irt);
            }
        }
        let rets = match self.c.types.kind(ret) {
            TK::String => vec![p, IrType::I64],
            TK::Void => vec![],
            _ => match self.c.types.scalar(ret) {
                Some(t) => vec![t],
                None => return self.err(span, format!("not supported yet: a compiler-API function returning '{}'", self.tname(ret))),
            },
        };
        let symbol = format!("{}{}", sx_vm::COMPILER_CALL_PREFIX, name);
        let ext = self.c.module.declare_extern(&symbol, sx_ir::Signature { params: ir_params, returns: rets.clone() });
        let r = self.b(|b| b.call_extern(ext, ir_args, &rets));
        Ok(match self.c.types.kind(ret) {
            TK::Void => TV::void(),
            TK::String => {
                let s = self.slot_for(bt::STRING);
                let a = self.slot_addr(s);
                let (ptr, len) = (r[0], r[1]);
                self.b(|b| {
                    b.store(a, 0, ptr);
                    b.store(a, pb, len);
                });
                TV { ty: bt::STRING, v: V::Mem(a) }
            }
            _ => TV { ty: ret, v: V::Scalar(r[0]) },
        })
    }
}

impl Compiler {
    /// The declared signature of API intrinsic `name` (its `intrinsic` declaration in the
    /// standard library).
    pub(crate) fn api_signature(&mut self, name: &str, span: Span) -> R<(Vec<TypeId>, TypeId)> {
        if let Some(s) = self.ct.api.sigs.get(name) {
            return Ok(s.clone());
        }
        let found = self.decls.values().find_map(|d| match &d.kind {
            DeclKind::Item(item) if d.name == name => match &item.kind {
                ItemKind::Const { value: Expr { kind: ExprKind::Fn(decl), .. }, .. } if decl.attrs.intrinsic => {
                    Some((d.file, Rc::new((**decl).clone())))
                }
                _ => None,
            },
            _ => None,
        });
        let Some((file, decl)) = found else {
            return self.err(span, format!("'{}' is not declared: import the module that declares it", name));
        };
        let outer = Rc::new(HashMap::new());
        let mut params = vec![];
        for p in &decl.params {
            let Some(t) = &p.ty else { return self.err(span, format!("'{}': every parameter needs a type", name)) };
            params.push(self.eval_type_in(file, None, &outer, t)?);
        }
        let ret = match decl.ret.as_ref().and_then(|r| r.values.first()) {
            Some(v) => self.eval_type_in(file, None, &outer, &v.ty)?,
            None => bt::VOID,
        };
        self.ct.api.sigs.insert(name.to_string(), (params.clone(), ret));
        Ok((params, ret))
    }

    /// Calls `func` on the VM, servicing its compiler requests until it ends. `file` and `span`
    /// are the evaluation's scope and source (for name lookups and diagnostics). Types the
    /// evaluation declared but never defined are reported when it ends.
    pub(crate) fn vm_call_serviced(&mut self, func: sx_ir::FuncId, args: &[u64], file: FileIdx, span: Span) -> R<sx_vm::Outcome> {
        if self.ct.api.evals.len() >= MAX_NESTED_EVALUATIONS {
            let msg = format!(
                "compile-time evaluations nested more than {} levels deep (a type function or #run that keeps needing itself?)",
                MAX_NESTED_EVALUATIONS
            );
            return self.err(span, msg);
        }
        let id = self.ct.api.next_eval;
        self.ct.api.next_eval += 1;
        self.ct.api.evals.push((file, span, id));
        let vm_time = &mut self.ct.times.comptime_vm;
        let mut r = crate::phase_times::timed(vm_time, || self.ct.vm.call(&self.module, func, args));
        let out = loop {
            match r {
                Ok(sx_vm::Outcome::CompilerCall { name, args }) => match self.service(&name, &args, span) {
                    Ok(results) => {
                        let vm_time = &mut self.ct.times.comptime_vm;
                        r = crate::phase_times::timed(vm_time, || self.ct.vm.resume(&self.module, &results));
                    }
                    Err(()) => {
                        self.ct.vm.abandon();
                        break Err(());
                    }
                },
                Ok(o) => break Ok(o),
                Err(e) => break self.vm_error(e, span),
            }
        };
        self.ct.api.evals.pop();
        let out = out?;
        self.check_minted(Some(id))?;
        Ok(out)
    }

    /// Answers one compiler request (raw argument bits in, raw result bits out).
    fn service(&mut self, name: &str, a: &[u64], span: Span) -> R<Vec<u64>> {
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        match name {
            "raw_intern" => {
                let s = self.vm_string(arg(0), arg(1), span)?;
                Ok(vec![self.intern_text(&s) as u64])
            }
            "raw_text_of" => {
                let text = self.text_of(arg(0) as u32).unwrap_or_default();
                let d = self.string_bytes_data(text.as_bytes());
                let p = self.vm_data_address(d, span)?;
                Ok(vec![p, text.len() as u64])
            }
            "raw_find_type" => {
                let Some(name) = self.text_of(arg(0) as u32) else { return Ok(vec![0]) };
                Ok(vec![self.find_type_by_name(&name, span)?.map(type_id_of).unwrap_or(0) as u64])
            }
            "raw_type_kind" => Ok(vec![self.type_from_id(arg(0)).map(|t| self.api_kind(t)).unwrap_or(kind::OTHER) as u64]),
            "raw_type_name" => {
                let Some(t) = self.type_from_id(arg(0)) else { return Ok(vec![0]) };
                let n = self.types.name(t);
                Ok(vec![self.intern_text(&n) as u64])
            }
            "raw_field_count" => Ok(vec![self.type_from_id(arg(0)).map(|t| self.api_members(t).len()).unwrap_or(0) as u64]),
            "raw_field_name" | "raw_field_type" | "raw_variant_value" => {
                let member = self.type_from_id(arg(0)).and_then(|t| self.api_members(t).into_iter().nth(arg(1) as usize));
                let Some((mname, mty, value)) = member else { return Ok(vec![0]) };
                Ok(vec![match name {
                    "raw_field_name" => self.intern_text(&mname) as u64,
                    "raw_field_type" => type_id_of(mty) as u64,
                    _ => value as u64,
                }])
            }
            "raw_pointer_to" => {
                let t = self.vm_type(arg(0), span)?;
                let p = self.types.pointer(t);
                Ok(vec![self.vm_type_handle(p, span)?])
            }
            "raw_declare_type" => {
                let n = self.vm_string(arg(0), arg(1), span)?;
                let t = self.declare_minted(&n, span);
                Ok(vec![self.vm_type_handle(t, span)?])
            }
            "raw_register_type" => {
                let t = self.vm_type(arg(0), span)?;
                let members = self.vm_members(arg(2), arg(3), span)?;
                self.register_minted(t, arg(1) as i64, members, span)?;
                Ok(vec![arg(0)])
            }
            _ => match self.service_build(name, a, span) {
                Some(r) => r,
                None => self.err(span, format!("not supported yet: compiler request '{}'", name)),
            },
        }
    }

    /// The id of `s` in the string pool (interned on first use).
    fn intern_text(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ct.api.string_ids.get(s) {
            return id;
        }
        self.ct.api.strings.push(s.to_string());
        let id = self.ct.api.strings.len() as u32;
        self.ct.api.string_ids.insert(s.to_string(), id);
        id
    }

    fn text_of(&self, id: u32) -> Option<String> {
        self.ct.api.strings.get((id as usize).checked_sub(1)?).cloned()
    }

    fn type_from_id(&self, id: u64) -> Option<TypeId> {
        let i = (id as u32).checked_sub(1)?;
        ((i as usize) < self.types.count()).then_some(TypeId(i))
    }

    /// The type named `name` as the evaluating file sees it (a minted type, a builtin, or a
    /// declaration, which is evaluated if needed).
    fn find_type_by_name(&mut self, name: &str, span: Span) -> R<Option<TypeId>> {
        if let Some(m) = self.ct.api.minted.iter().rev().find(|m| m.name == name) {
            return Ok(Some(m.ty));
        }
        if let Some(t) = builtin_type(&mut self.types, name) {
            return Ok(Some(t));
        }
        let Some(&(file, _, _)) = self.ct.api.evals.last() else { return Ok(None) };
        match self.lookup_global(file, name, span)? {
            Some(ConstVal::Type(t)) => Ok(Some(t)),
            _ => Ok(None),
        }
    }

    /// The `raw_type_kind` code of `t`.
    fn api_kind(&self, t: TypeId) -> i64 {
        match self.types.kind(t) {
            TK::Struct(_) => match self.types.struct_of(t) {
                Some(s) if s.is_union => kind::UNION,
                Some(s) if s.tuple => kind::TUPLE,
                _ => kind::STRUCT,
            },
            TK::Enum(_) if self.types.is_tagged_enum(t) => kind::TAGGED_UNION,
            TK::Enum(_) => kind::ENUM,
            TK::Array(..) => kind::ARRAY,
            TK::Vector(..) => kind::VECTOR,
            TK::ErrorSet(_) => kind::ERROR_SET,
            _ => kind::OTHER,
        }
    }

    /// Name, type (payload type for variants, `void` when none) and value of each field or
    /// variant of `t`.
    fn api_members(&self, t: TypeId) -> Vec<(String, TypeId, i128)> {
        if let Some(s) = self.types.struct_of(t) {
            return s.fields.iter().map(|f| (f.name.clone(), f.ty, 0)).collect();
        }
        if let Some(e) = self.types.enum_of(t) {
            return e.variants.iter().map(|v| (v.name.clone(), v.payload.unwrap_or(bt::VOID), v.value)).collect();
        }
        vec![]
    }

    /// A string argument of a request: `len` bytes at comptime address `ptr`.
    pub(crate) fn vm_string(&mut self, ptr: u64, len: u64, span: Span) -> R<String> {
        if len == 0 {
            return Ok(String::new());
        }
        match self.ct.vm.read_bytes(ptr, len) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => self.err(span, format!("bad string argument of a compiler request: {}", e.message)),
        }
    }

    /// The type a `Type` value (the address of a type record) stands for.
    fn vm_type(&mut self, handle: u64, span: Span) -> R<TypeId> {
        match self.ct.vm.decode_pointer(handle) {
            PointerTarget::Data(d, 0) => match self.type_of_record(d) {
                Some(t) => Ok(t),
                None => self.err(span, "comptime type construction failed: a 'Type' argument is not a type"),
            },
            _ => self.err(span, "comptime type construction failed: a 'Type' argument is not a type"),
        }
    }

    /// The comptime address of static data `d`.
    fn vm_data_address(&mut self, d: sx_ir::DataId, span: Span) -> R<u64> {
        match self.ct.vm.data_address(&self.module, d) {
            Ok(p) => Ok(p),
            Err(e) => self.vm_error(e, span),
        }
    }

    /// The `Type` value of `t` for comptime code: the address of its record (emitted now if
    /// needed, with the functions it refers to lowered).
    fn vm_type_handle(&mut self, t: TypeId, span: Span) -> R<u64> {
        let d = self.type_record(t, span)?;
        self.lower_record_functions(d)?;
        self.vm_data_address(d, span)
    }

    /// Lowers the queued functions a type record refers to (its print function and what that
    /// calls), so comptime code may use them right away.
    fn lower_record_functions(&mut self, d: sx_ir::DataId) -> R<()> {
        for f in self.funcs_in_data(d) {
            self.lower_reachable(f)?;
        }
        Ok(())
    }

    /// The `[]Member` argument of `raw_register_type`: (name, type) pairs.
    fn vm_members(&mut self, ptr: u64, len: u64, span: Span) -> R<Vec<(String, TypeId)>> {
        let (params, _) = self.api_signature("raw_register_type", span)?;
        let elem = match params.get(2).map(|&t| self.types.kind(t).clone()) {
            Some(TK::Slice(e)) => e,
            _ => return self.err(span, "'raw_register_type' must take its members as a slice"),
        };
        let fields = self.types.struct_of(elem).map(|s| s.fields.clone()).unwrap_or_default();
        let off = |n: &str, k: usize| fields.iter().find(|f| f.name == n).or(fields.get(k)).map(|f| f.offset);
        let (Some(name_off), Some(ty_off)) = (off("name", 0), off("ty", 1)) else {
            return self.err(span, "'raw_register_type' members must be {name: string, ty: Type}");
        };
        let size = self.types.size_of(elem);
        let pb = self.module.pointer_bytes() as u64;
        let mut out = vec![];
        for i in 0..len {
            let at = ptr.wrapping_add(i * size);
            let word = |c: &mut Compiler, o: u64| -> R<u64> {
                match c.ct.vm.read_bytes(at.wrapping_add(o), 8) {
                    Ok(b) => Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                    Err(e) => c.err(span, format!("comptime type construction failed: bad member list: {}", e.message)),
                }
            };
            let (sp, sl) = (word(self, name_off)?, word(self, name_off + pb)?);
            let name = self.vm_string(sp, sl, span)?;
            let h = word(self, ty_off)?;
            let ty = self.vm_type(h, span)?;
            out.push((name, ty));
        }
        Ok(out)
    }

    /// `raw_declare_type(name)`: a new empty nominal type (or the forward type made for a
    /// self-reference to `name`).
    fn declare_minted(&mut self, name: &str, span: Span) -> TypeId {
        let (eval_span, eval) = match self.ct.api.evals.last() {
            Some(&(_, s, id)) => (s, Some(id)),
            None => (span, None),
        };
        if let Some(t) = self.ct.api.forward.remove(name) {
            if let Some(m) = self.ct.api.minted.iter_mut().find(|m| m.ty == t) {
                m.eval = eval;
                m.span = eval_span;
            }
            return t;
        }
        let t = self.types.new_struct(name, false, Some(span));
        self.ct.api.minted.push(Minted { ty: t, name: name.to_string(), span: eval_span, eval, defined: false });
        t
    }

    /// When declaration `name` refers to itself while being evaluated and a loaded file spells
    /// `declare("name")`, the forward type that call will return (so `*name` works in the body
    /// that defines it).
    pub(crate) fn forward_type_for(&mut self, name: &str, span: Span) -> Option<TypeId> {
        if let Some(&t) = self.ct.api.forward.get(name) {
            return Some(t);
        }
        let needle = format!("declare(\"{}\")", name);
        let spelled = self.files.values().any(|fi| self.sources.file(fi.file_id).text.contains(&needle));
        if !spelled {
            return None;
        }
        let t = self.types.new_struct(name, false, Some(span));
        self.ct.api.minted.push(Minted { ty: t, name: name.to_string(), span, eval: None, defined: false });
        self.ct.api.forward.insert(name.to_string(), t);
        Some(t)
    }

    /// `raw_register_type(t, kind, members)`: gives declared type `t` its body. The layout is
    /// computed once every type a member holds by value is defined.
    fn register_minted(&mut self, t: TypeId, k: i64, members: Vec<(String, TypeId)>, span: Span) -> R<()> {
        let fail = |c: &mut Compiler, msg: String| {
            c.err::<()>(span, format!("comptime type construction failed: comptime register_type: {}", msg))
        };
        let Some(mi) = self.ct.api.minted.iter().position(|m| m.ty == t) else {
            let n = self.types.name(t);
            return fail(self, format!("'{}' was not made by declare / raw_declare_type", n));
        };
        if self.ct.api.minted[mi].defined {
            let n = self.ct.api.minted[mi].name.clone();
            return fail(self, format!("type '{}' is already defined", n));
        }
        if !(kind::STRUCT..=kind::TUPLE).contains(&k) {
            return fail(self, format!("unknown kind {} (1 struct, 2 enum, 3 tagged union, 4 tuple)", k));
        }
        if k != kind::TUPLE {
            for (i, (n, _)) in members.iter().enumerate() {
                if members[..i].iter().any(|(m, _)| m == n) {
                    return fail(self, format!("duplicate member name '{}'", n));
                }
            }
        }
        if k == kind::ENUM {
            if let Some((n, _)) = members.iter().find(|(_, ty)| *ty != bt::VOID) {
                return fail(self, format!("enum member '{}' has a payload (use kind 3, a tagged union)", n));
            }
        }
        if members.iter().any(|(_, ty)| self.holds_by_value(*ty, t)) {
            let n = self.types.name(t);
            return self.err(
                span,
                format!("type '{}' is infinitely sized (it contains itself by value); use a pointer ('*{}') to break the cycle", n, n),
            );
        }
        if k == kind::ENUM || k == kind::TAGGED_UNION {
            self.types.retarget_as_enum(t);
        } else if k == kind::TUPLE {
            self.types.mark_tuple(t);
        }
        self.ct.api.minted[mi].defined = true;
        let file = self.ct.api.evals.last().map(|e| e.0).unwrap_or(FileIdx(0));
        self.ct.api.pending.push(PendingDef { ty: t, kind: k, members, file, span });
        self.complete_pending()
    }

    /// Whether a value of type `ty` contains a `t` (not behind a pointer).
    fn holds_by_value(&self, ty: TypeId, t: TypeId) -> bool {
        if ty == t {
            return true;
        }
        match self.types.kind(ty) {
            TK::Array(_, e) | TK::Vector(_, e) | TK::Optional(e) => self.holds_by_value(*e, t),
            TK::Struct(_) => self.types.struct_of(ty).is_some_and(|s| s.fields.iter().any(|f| self.holds_by_value(f.ty, t))),
            TK::Enum(_) => {
                self.types.enum_of(ty).is_some_and(|e| e.variants.iter().any(|v| v.payload.is_some_and(|p| self.holds_by_value(p, t))))
            }
            _ => false,
        }
    }

    /// Whether every type a value of `ty` holds by value has its layout.
    fn layout_ready(&self, ty: TypeId) -> bool {
        match self.types.kind(ty) {
            TK::Struct(_) | TK::Enum(_) => self.types.is_complete(ty),
            TK::Array(_, e) | TK::Vector(_, e) => self.layout_ready(*e),
            TK::Optional(e) => self.types.is_pointer_like(*e) || self.layout_ready(*e),
            _ => true,
        }
    }

    /// Lays out every pending body whose members are ready, until none is left that can be.
    fn complete_pending(&mut self) -> R<()> {
        loop {
            let Some(i) = self.ct.api.pending.iter().position(|p| p.members.iter().all(|(_, ty)| self.layout_ready(*ty))) else {
                return Ok(());
            };
            let p = self.ct.api.pending.remove(i);
            let n = p.members.len();
            match p.kind {
                kind::STRUCT => self.types.complete_struct(p.ty, p.members),
                kind::TUPLE => {
                    let fields = p.members.into_iter().enumerate().map(|(i, (_, ty))| (i.to_string(), ty)).collect();
                    self.types.complete_struct(p.ty, fields);
                }
                _ => {
                    let variants = p
                        .members
                        .into_iter()
                        .enumerate()
                        .map(|(i, (name, ty))| sx_types::EnumVariant { name, value: i as i128, payload: (ty != bt::VOID).then_some(ty) })
                        .collect();
                    self.types.complete_enum(p.ty, bt::I64, false, variants);
                }
            }
            self.structs.insert(
                p.ty,
                StructMeta {
                    file: p.file,
                    consts: HashMap::new(),
                    defaults: vec![None; n],
                    local_consts: Rc::new(HashMap::new()),
                    evaluated: HashMap::new(),
                },
            );
            if let Some(d) = self.existing_type_record(p.ty) {
                self.write_type_record(p.ty, d, p.span)?;
                self.lower_record_functions(d)?;
                if let Err(e) = self.ct.vm.reload_data(&self.module, d) {
                    return self.vm_error(e, p.span);
                }
            }
        }
    }

    /// Reports minted types left without a body: those declared by evaluation `eval`, or with
    /// `None` (the end of compilation) all of them; also bodies that never got a layout.
    pub(crate) fn check_minted(&mut self, eval: Option<u64>) -> R<()> {
        let open: Vec<(String, Span)> = self
            .ct
            .api
            .minted
            .iter()
            .filter(|m| !m.defined && (eval.is_none() || m.eval == eval))
            .map(|m| (m.name.clone(), m.span))
            .collect();
        let mut failed = !open.is_empty();
        for (name, span) in &open {
            let msg = format!("type '{}' is declared but never defined — complete it with define(handle, info)", name);
            self.diags.push(Diagnostic::error(*span, msg));
        }
        if eval.is_none() || self.ct.api.evals.is_empty() {
            for p in std::mem::take(&mut self.ct.api.pending) {
                failed = true;
                let n = self.types.name(p.ty);
                self.diags.push(Diagnostic::error(
                    p.span,
                    format!("type '{}' is infinitely sized (it contains itself by value); use a pointer ('*{}') to break the cycle", n, n),
                ));
            }
        }
        if failed {
            self.ct.api.minted.retain(|m| m.defined);
            Err(())
        } else {
            Ok(())
        }
    }

    /// Compiler-API calls cannot run in the program: reports every one that a function the
    /// entry reaches makes, with the call path from `main`.
    pub(crate) fn check_runtime_compiler_calls(&mut self) {
        let Some(entry) = self.module.entry else { return };
        let mut parent: HashMap<sx_ir::FuncId, sx_ir::FuncId> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        let mut work = std::collections::VecDeque::from([entry]);
        seen.insert(entry);
        let mut found: Vec<(sx_ir::FuncId, String)> = vec![];
        while let Some(f) = work.pop_front() {
            let mut next = vec![];
            let func = &self.module.funcs[f];
            for b in func.blocks.values() {
                for &i in &b.insts {
                    match &func.insts[i].kind {
                        InstKind::Call { func: g, .. } | InstKind::FuncAddr { func: g } => next.push(*g),
                        InstKind::DataAddr { data } => next.extend(self.funcs_in_data(*data)),
                        InstKind::CallExtern { ext, .. } => {
                            if let Some(n) = self.module.externs[*ext].symbol.strip_prefix(sx_vm::COMPILER_CALL_PREFIX) {
                                if !found.iter().any(|(g, m)| *g == f && m == n) {
                                    found.push((f, n.to_string()));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            for g in next {
                if seen.insert(g) {
                    parent.insert(g, f);
                    work.push_back(g);
                }
            }
        }
        // The call path says where the call is, and why it is in the program at all.
        for (f, name) in found {
            let mut path = vec![];
            let mut at = Some(f);
            while let Some(g) = at {
                if g != entry {
                    path.push(self.runtime_fn_name(g));
                }
                at = parent.get(&g).copied();
            }
            path.reverse();
            let msg = format!(
                "'{}' runs only at compile time — it cannot be called from the runtime call graph (use it inside #run or a comptime '::')",
                name
            );
            let mut d = Diagnostic::bare(msg).with_note("  reached from the runtime graph:");
            for (i, p) in path.iter().enumerate() {
                d = d.with_note(format!("    {}{}", if i == 0 { "" } else { "-> " }, p));
            }
            d = d.with_note(format!("    -> {}   (compile-time only)", name));
            self.diags.push(d);
        }
    }

    /// The source name of an IR function (for call paths).
    fn runtime_fn_name(&self, f: sx_ir::FuncId) -> String {
        match self.out.fn_of_func.get(&f) {
            Some(fid) => self.fns[*fid].name.clone(),
            None => self.module.funcs[f].name.split('.').next().unwrap_or("?").to_string(),
        }
    }
}

/// The `u32` handle of a type.
fn type_id_of(t: TypeId) -> u32 {
    t.0 + 1
}
