//! The build pipeline's side of the compiler API (`modules/build.sx`).
//!
//! `sx build` drives the build with sx code: compile-time code registers a callback with
//! `on_build(cb)` (the last registration wins) and adjusts the build (`add_link_flag`,
//! `set_output_path`); after code generation the driver runs the callback on the VM, and the
//! callback's requests (`emit_object`, the `raw_link_*` steps behind `link`, the build queries)
//! are serviced by the driver, which owns code generation and linking. Without a callback the
//! driver does what `default_pipeline` does: emit the object file and link it.
//!
//! Here the compiler answers the requests made *during compilation*: registration, the
//! settings, and the queries (whose answers are the plan so far). The actions `emit_object` and
//! `raw_link_*` are errors at that point: there is no code to emit yet.

use crate::*;

/// The lists `raw_build_list_count` / `raw_build_list_at` (and `raw_link_add`) name by number.
pub mod build_list {
    pub const OBJECTS: u64 = 0;
    pub const LIBRARIES: u64 = 1;
    pub const FRAMEWORKS: u64 = 2;
    pub const FLAGS: u64 = 3;
}

/// What compile-time code asked of the build.
#[derive(Clone, Debug, Default)]
pub struct BuildPlan {
    /// The function `on_build` registered last: `(opt: BuildOptions) -> bool`.
    pub callback: Option<FuncId>,
    /// Extra linker arguments (`add_link_flag`).
    pub link_flags: Vec<String>,
    /// The executable's path when the program set it (`set_output_path`).
    pub output: Option<String>,
}

impl Compiler {
    /// Answers build request `name` made during compilation; `None` when `name` is not one.
    pub(crate) fn service_build(&mut self, name: &str, a: &[u64], span: Span) -> Option<R<Vec<u64>>> {
        if !BUILD_API.contains(&name) {
            return None;
        }
        Some(self.service_build_inner(name, a, span))
    }

    fn service_build_inner(&mut self, name: &str, a: &[u64], span: Span) -> R<Vec<u64>> {
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        match name {
            "on_build" => match self.ct.vm.decode_pointer(arg(0)) {
                sx_vm::PointerTarget::Func(f) => {
                    let sig = &self.module.funcs[f].sig;
                    let ok = sig.params == [self.module.pointer_type()] && sig.returns == [sx_ir::Type::I8];
                    if !ok {
                        return self.err(span, "on_build expects a function '(opt: BuildOptions) -> bool'");
                    }
                    self.ct.build.callback = Some(f);
                    Ok(vec![])
                }
                _ => self.err(span, "on_build expects a function, not a null or data pointer"),
            },
            "raw_add_link_flag" => {
                let s = self.vm_string(arg(0), arg(1), span)?;
                self.ct.build.link_flags.push(s);
                Ok(vec![])
            }
            "raw_set_output_path" => {
                let s = self.vm_string(arg(0), arg(1), span)?;
                self.ct.build.output = Some(s);
                Ok(vec![])
            }
            "build_output" => {
                let s = self.ct.build.output.clone().unwrap_or_default();
                self.vm_string_result(&s, span)
            }
            "build_target" => {
                let s = self.types.target.name().to_string();
                self.vm_string_result(&s, span)
            }
            "raw_build_list_count" => Ok(vec![if arg(0) == build_list::FLAGS { self.ct.build.link_flags.len() as u64 } else { 0 }]),
            "raw_build_list_at" => {
                let s = if arg(0) == build_list::FLAGS { self.ct.build.link_flags.get(arg(1) as usize).cloned() } else { None };
                self.vm_string_result(&s.unwrap_or_default(), span)
            }
            _ => self.err(span, format!("'{}' runs only in the build callback, after code generation (register one with on_build)", name)),
        }
    }

    /// A string result for comptime code: the address and length of its bytes in static data.
    fn vm_string_result(&mut self, s: &str, span: Span) -> R<Vec<u64>> {
        let d = self.string_bytes_data(s.as_bytes());
        match self.ct.vm.data_address(&self.module, d) {
            Ok(p) => Ok(vec![p, s.len() as u64]),
            Err(e) => self.vm_error(e, span),
        }
    }
}
