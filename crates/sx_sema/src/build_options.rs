//! A build module that declares its build settings as `intrinsic` functions (the reference
//! library's `build.sx` and `compiler.sx`): `build_options()` returns the module's own
//! `BuildOptions` handle (an empty struct; the settings live in the compiler), the `ufcs`
//! intrinsics on it map onto the compiler's build requests (see [`crate::build_api`]), and
//! the list-returning queries and `link` run through the compiler's runtime with the
//! module's own list type. Settings this compiler's targets cannot carry out (app bundles,
//! frameworks, asset directories, JNI mains) answer "none" when read and end the build with
//! a message naming them when set.

use crate::fncx::FnCx;
use crate::*;

/// Intrinsics on a `BuildOptions` handle that dot syntax reaches (`opt.bundle_path()`).
pub(crate) const BUILD_OPTION_METHODS: &[&str] = &[
    "add_link_flag",
    "set_output_path",
    "binary_path",
    "target_triple",
    "is_macos",
    "is_ios",
    "is_ios_device",
    "is_ios_simulator",
    "is_android",
    "bundle_path",
    "bundle_id",
    "codesign_identity",
    "provisioning_profile",
    "manifest_path",
    "keystore_path",
    "framework_count",
    "framework_path_count",
    "asset_dir_count",
    "jni_main_count",
    "framework_at",
    "framework_path_at",
    "asset_dir_src_at",
    "asset_dir_dest_at",
    "jni_main_runtime_path_at",
    "jni_main_java_source_at",
    "set_bundle_path",
    "set_bundle_id",
    "set_codesign_identity",
    "set_provisioning_profile",
    "set_manifest_path",
    "set_keystore_path",
    "add_framework",
    "add_asset_dir",
    "set_post_link_module",
    "set_wasm_shell",
];

/// The list queries and the list of the compiler's build plan each reads.
const LIST_QUERIES: &[(&str, i64)] = &[("c_object_paths", 0), ("link_libraries", 1), ("build_frameworks", 2), ("build_flags", 3)];

impl<'c> FnCx<'c> {
    /// Lowers build intrinsic `name` (the receiver, for a method, is `args[0]`); `None` when
    /// `name` is not one of them.
    pub(crate) fn build_options_call(&mut self, name: &str, args: &[Arg], span: Span) -> Option<R<TV>> {
        if name == "build_options" || name == "link" || BUILD_OPTION_METHODS.contains(&name) || LIST_QUERIES.iter().any(|(n, _)| *n == name)
        {
            return Some(self.build_options_inner(name, args, span));
        }
        None
    }

    fn build_options_inner(&mut self, name: &str, args: &[Arg], span: Span) -> R<TV> {
        let (params, ret) = self.c.api_signature(name, span)?;
        if args.len() != params.len() || args.iter().any(|a| a.spread || a.name.is_some()) {
            return self.err(span, format!("'{}' takes {} argument{}", name, params.len(), if params.len() == 1 { "" } else { "s" }));
        }
        if name == "build_options" {
            let s = self.slot_for(ret);
            let a = self.slot_addr(s);
            self.init_default(a, ret, span)?;
            return Ok(TV { ty: ret, v: V::Mem(a) });
        }
        if let Some(&(_, which)) = LIST_QUERIES.iter().find(|(n, _)| *n == name) {
            let which = TV::konst(ConstVal::Int { v: which as i128, ty: Some(bt::I64) });
            return self.call_runtime_generic("__sx_rt_build_list", vec![("L".to_string(), ConstVal::Type(ret))], vec![which], span);
        }
        let mut vals = vec![];
        for (a, &pt) in args.iter().zip(&params) {
            let v = self.expr(&a.value, Some(pt))?;
            vals.push(self.coerce(v, pt, a.value.span)?);
        }
        if name == "link" {
            let list = params[0];
            return self.call_runtime_generic("__sx_rt_link", vec![("L".to_string(), ConstVal::Type(list))], vals, span);
        }
        // The methods: `vals[0]` is the handle, which carries nothing.
        let request = |n: &str| n.to_string();
        let forwarded = match name {
            "add_link_flag" => Some(request("raw_add_link_flag")),
            "set_output_path" => Some(request("raw_set_output_path")),
            "binary_path" => Some(request("build_output")),
            "target_triple" => Some(request("build_target")),
            _ => None,
        };
        if let Some(req) = forwarded {
            // The requests are declared by the compiler's runtime file.
            self.c.runtime_file();
            return self
                .compiler_api_call(&req, &args[1..], span)
                .unwrap_or_else(|| self.err(span, "internal error: build request missing"));
        }
        Ok(match name {
            "is_macos" | "is_ios" | "is_ios_device" | "is_ios_simulator" | "is_android" => TV::konst(ConstVal::Bool(false)),
            "bundle_path" | "bundle_id" | "codesign_identity" | "provisioning_profile" | "manifest_path" | "keystore_path" => {
                TV { ty: ret, ..TV::konst(ConstVal::Str(vec![])) }
            }
            "framework_count" | "framework_path_count" | "asset_dir_count" | "jni_main_count" => {
                TV::konst(ConstVal::Int { v: 0, ty: Some(ret) })
            }
            _ => {
                // Setting (or reading an element of) what no target of ours has.
                let what = TV::konst(ConstVal::Str(name.as_bytes().to_vec()));
                self.call_runtime_generic("__sx_rt_build_unsupported", vec![], vec![what], span)?;
                if ret == bt::VOID {
                    TV::void()
                } else {
                    TV { ty: ret, ..TV::konst(ConstVal::Str(vec![])) }
                }
            }
        })
    }
}
