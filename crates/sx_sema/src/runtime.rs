//! The compiler's run-time support functions, written in sx (`runtime.sx`, embedded in the
//! compiler) and loaded as a synthetic file the first time lowered code needs one of them.
//!
//! They are the compiler's, not the standard library's: a program calls the same helpers
//! whichever library it is compiled against. The file relies only on the library contract
//! (`context.allocator.alloc_bytes`).

use crate::fncx::FnCx;
use crate::*;
use sx_ir::{Type as IrType, Value};

/// The text of the runtime file.
const RUNTIME_SOURCE: &str = include_str!("runtime.sx");

/// The name the runtime file has in diagnostics and the source map.
pub(crate) const RUNTIME_FILE_NAME: &str = "<sx runtime>";

/// A runtime support function lowered code may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeFn {
    /// `(a: string, b: string) -> bool`
    StringEq,
    /// `(p: *void, size: i64, is_float: bool, signed: bool) -> i64`
    LoadI64,
    /// `(p: *void, size: i64, is_float: bool, signed: bool) -> f64`
    LoadF64,
    /// `(base: [*]u8, count: i64, stride: i64, value_offset: i64, value: i64) -> i64`
    FindMemberValue,
    /// `(size: i64) -> *void`, from `context.allocator`
    HeapAlloc,
    /// `(size: i64) -> *void`, from C's `malloc` (a program without our std)
    HeapAllocLibc,
    /// `(dst: *void, src: *void, size: i64)`
    CopyBytes,
    /// `(tag: u32, names: [*]string, count: u32) -> string`
    ErrorName,
    /// `(frame: *__SxTraceFrame)`
    TracePush,
    /// `()`
    TraceClear,
    /// `(name: string)`: the report of an error that escaped a failable `main`
    ErrorUnhandled,
    /// `(name: string)`: the report of an error that escaped a compile-time call
    ComptimeError,
    /// `(message: string, got: string)`: a failed `v.(T)` assertion; exits with 1
    TypeAssertionFailed,
}

impl RuntimeFn {
    /// The function's name in `runtime.sx`.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeFn::StringEq => "__sx_rt_string_eq",
            RuntimeFn::LoadI64 => "__sx_rt_load_i64",
            RuntimeFn::LoadF64 => "__sx_rt_load_f64",
            RuntimeFn::FindMemberValue => "__sx_rt_find_member_value",
            RuntimeFn::HeapAlloc => "__sx_rt_heap_alloc",
            RuntimeFn::HeapAllocLibc => "__sx_rt_heap_alloc_libc",
            RuntimeFn::CopyBytes => "__sx_rt_copy_bytes",
            RuntimeFn::ErrorName => "__sx_rt_error_name",
            RuntimeFn::TracePush => "__sx_rt_trace_push",
            RuntimeFn::TraceClear => "__sx_rt_trace_clear",
            RuntimeFn::ErrorUnhandled => "__sx_rt_error_unhandled",
            RuntimeFn::ComptimeError => "__sx_rt_comptime_error",
            RuntimeFn::TypeAssertionFailed => "__sx_rt_type_assertion_failed",
        }
    }
}

impl Compiler {
    /// The runtime file, loaded on first use.
    pub(crate) fn runtime_file(&mut self) -> Option<FileIdx> {
        if let Some(f) = self.runtime_file {
            return Some(f);
        }
        let f = self.load_text(RUNTIME_FILE_NAME, RUNTIME_SOURCE.to_string())?;
        self.runtime_file = Some(f);
        Some(f)
    }
}

/// Names the compiler provides to every file when no scope declares them: language
/// primitives a library may use without declaring them.
const LANGUAGE_INTRINSICS: &[&str] = &["Vector", "__trace_resolve_frame"];

/// Functions of the runtime file that every file sees when no scope declares the name.
const RUNTIME_PROVIDED: &[&str] = &["__interp_print_frames"];

impl Compiler {
    /// A name no scope declares that the compiler provides: a language intrinsic or a
    /// runtime function (`None` for any other name).
    pub(crate) fn compiler_provided(&mut self, name: &str, span: Span) -> R<Option<ConstVal>> {
        if let Some(builtin) = self.language_intrinsic(name) {
            return Ok(Some(builtin));
        }
        if RUNTIME_PROVIDED.contains(&name) {
            let Some(file) = self.runtime_file() else { return Ok(None) };
            return self.lookup_own(file, name, span);
        }
        Ok(None)
    }

    /// `name` as a language primitive every scope and namespace answers (`Vector`).
    pub(crate) fn language_intrinsic(&self, name: &str) -> Option<ConstVal> {
        LANGUAGE_INTRINSICS.contains(&name).then(|| ConstVal::Intrinsic(name.to_string()))
    }

    /// The type `type_name` declared in the standard-library file that declares intrinsic
    /// `intrinsic` (e.g. `TypeInfo` next to `type_info`); `None` when there is no such pair.
    pub(crate) fn intrinsic_companion_type(&mut self, intrinsic: &str, type_name: &str, span: Span) -> R<Option<TypeId>> {
        let homes: Vec<FileIdx> =
            self.files.iter().filter(|(_, f)| f.names.contains_key(intrinsic) && f.names.contains_key(type_name)).map(|(i, _)| i).collect();
        for file in homes {
            if !self.in_stdlib(file) || !matches!(self.lookup_own(file, intrinsic, span)?, Some(ConstVal::Intrinsic(_))) {
                continue;
            }
            if let Some(ConstVal::Type(t)) = self.lookup_own(file, type_name, span)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// An `extern` declaration of one of the return-trace runtime's C symbols (`sx_trace_len`,
    /// `sx_trace_frame_at`, …) binds to the runtime's definition of it.
    pub(crate) fn runtime_symbol(&mut self, sym: &str, span: Span) -> R<Option<sx_ir::FuncId>> {
        if !sym.starts_with("sx_trace_") {
            return Ok(None);
        }
        let Some(file) = self.runtime_file() else { return Ok(None) };
        match self.lookup_own(file, sym, span)? {
            Some(ConstVal::Func(fid)) => self.declare_fn(fid, span).map(Some),
            _ => Ok(None),
        }
    }
}

impl FnCx<'_> {
    /// Calls the instance of generic runtime function `name` for the compile-time `binds` with
    /// run-time arguments `args` (already of the parameters' types).
    pub(crate) fn call_runtime_generic(&mut self, name: &str, binds: Vec<(String, ConstVal)>, args: Vec<TV>, span: Span) -> R<TV> {
        let Some(file) = self.c.runtime_file() else {
            return self.err(span, "internal error: the compiler's runtime file does not parse");
        };
        let Some(ConstVal::Func(fid)) = self.c.lookup_own(file, name, span)? else {
            return self.err(span, format!("internal error: runtime function '{}' is missing", name));
        };
        let inst = self.c.fn_instance(fid, binds);
        let sig = self.c.fn_sig(inst)?;
        let func = self.c.declare_fn(inst, span)?;
        let mut irargs = vec![];
        let rslot = self.sret_arg(sig.ret, &mut irargs);
        for (a, &pty) in args.into_iter().zip(&sig.params) {
            let a = self.coerce_arg_pub(a, pty, span)?;
            irargs.push(self.pass_arg_pub(a, span)?);
        }
        let rets: Vec<IrType> = self.c.module.funcs[func].sig.returns.clone();
        let res = self.b(|b| b.call(func, irargs, &rets));
        Ok(self.call_result_pub(sig.ret, res, rslot))
    }

    /// `__trace_resolve_frame(raw)`: the return-trace frame `raw` (what `sx_trace_frame_at`
    /// returned) as the `TraceFrame` type of the calling file's scope.
    pub(crate) fn trace_frame_call(&mut self, args: &[Arg], span: Span) -> R<TV> {
        let [a] = args else { return self.err(span, "'__trace_resolve_frame' takes one argument") };
        let file = self.file;
        let Some(ConstVal::Type(frame)) = self.c.lookup_global(file, "TraceFrame", span)? else {
            return self.err(span, "'__trace_resolve_frame' needs a 'TraceFrame' struct in scope");
        };
        let raw = self.expr(&a.value, Some(bt::U64))?;
        self.call_runtime_generic("__sx_rt_trace_resolve_frame", vec![("R".to_string(), ConstVal::Type(frame))], vec![raw], a.value.span)
    }

    /// Calls runtime function `rt` with IR arguments; `ret` is its sx result type (an
    /// aggregate comes back through a result slot).
    pub(crate) fn call_runtime(&mut self, rt: RuntimeFn, mut args: Vec<Value>, ret: TypeId, span: Span) -> R<TV> {
        let Some(file) = self.c.runtime_file() else {
            return self.err(span, "internal error: the compiler's runtime file does not parse");
        };
        let Some(ConstVal::Func(fid)) = self.c.lookup_own(file, rt.name(), span)? else {
            return self.err(span, format!("internal error: runtime function '{}' is missing", rt.name()));
        };
        let func = self.c.declare_fn(fid, span)?;
        if self.c.types.scalar(ret).is_none() && ret != bt::VOID {
            let out = self.slot_for(ret);
            let out = self.slot_addr(out);
            args.insert(0, out);
            self.b(|b| b.call(func, args, &[]));
            return Ok(TV { ty: ret, v: V::Mem(out) });
        }
        let rt: Vec<IrType> = self.c.types.scalar(ret).into_iter().collect();
        let r = self.b(|b| b.call(func, args, &rt));
        Ok(match r.first() {
            Some(v) => TV { ty: ret, v: V::Scalar(*v) },
            None => TV::void(),
        })
    }

    /// `size` bytes of heap memory: from `context.allocator` when the library declares a
    /// `Context`, else from C's `malloc`.
    pub(crate) fn heap_alloc(&mut self, size: Value, span: Span) -> R<TV> {
        let vp = self.c.types.pointer(bt::VOID);
        // Through `context.allocator` whenever the library declares a `Context`; with no
        // library at all, from C's heap.
        let rt = if self.c.context_type(span)?.is_some() { RuntimeFn::HeapAlloc } else { RuntimeFn::HeapAllocLibc };
        self.call_runtime(rt, vec![size], vp, span)
    }

    /// Writes out what the print shim of our std has buffered (before the runtime writes to
    /// standard error); nothing with a library that has no such buffer.
    pub(crate) fn flush_print_buffer(&mut self, span: Span) -> R<()> {
        if self.c.std_file.or_else(|| self.c.find_std()).is_some() {
            self.call_helper("__sx_fmt_flush", vec![], bt::VOID, span)?;
        }
        Ok(())
    }
}
