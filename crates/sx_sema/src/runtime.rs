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

impl FnCx<'_> {
    /// Calls runtime function `rt` with IR arguments; `ret` is its sx result type.
    pub(crate) fn call_runtime(&mut self, rt: RuntimeFn, args: Vec<Value>, ret: TypeId, span: Span) -> R<TV> {
        let Some(file) = self.c.runtime_file() else {
            return self.err(span, "internal error: the compiler's runtime file does not parse");
        };
        let Some(ConstVal::Func(fid)) = self.c.lookup_own(file, rt.name(), span)? else {
            return self.err(span, format!("internal error: runtime function '{}' is missing", rt.name()));
        };
        let func = self.c.declare_fn(fid, span)?;
        let rt: Vec<IrType> = self.c.types.scalar(ret).into_iter().collect();
        let r = self.b(|b| b.call(func, args, &rt));
        Ok(match r.first() {
            Some(v) => TV { ty: ret, v: V::Scalar(*v) },
            None => TV::void(),
        })
    }
}
