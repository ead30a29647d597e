//! Data-driven unit tests of sema, in the style of rust-analyzer: each test is a small sx
//! program and the expected answer as text (`expect![[…]]`; `UPDATE_EXPECT=1 cargo test`
//! rewrites the expectations). Four probes:
//!
//! - [`check_type`]: the type of an expression — the program defines `probe` without a return
//!   type (`probe :: () => EXPR;` or a body ending in `return EXPR;`), and the probe prints the
//!   inferred return type;
//! - [`check_coercion`]: the implicit conversion [`coercion`] decides between two types named
//!   by type expressions (`check_coercion("", "[4]i32", "[]i32", …)`), with declarations first;
//! - [`check_literal`]: how a constant (`CONST :: …` in the program) adapts to a type
//!   ([`literal_coercion`]);
//! - [`check_diagnostics`]: every diagnostic of compiling a whole program, rendered with
//!   `file:line:col` and carets as the driver prints them.
//!
//! Programs see our standard library (the `library` directory, as the driver finds it) like any
//! program: `#import "modules/std.sx"`.

mod closure_patterns;
mod coercions;
mod diagnostics;
mod enum_layouts;
mod protocols;
mod recovery;
mod types;

use crate::*;
use expect_test::Expect;
use std::path::PathBuf;

/// The options of a test compilation: host-independent x86-64 layout, our standard library.
fn options() -> Options {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    Options {
        target: Target::X86_64Linux,
        paths: ImportPaths { cwd: root.clone(), stdlib: vec![root.join("library")] },
        vm_limits: sx_vm::VmLimits::default(),
        trace_comptime: false,
        interrupt: None,
        debug_info: false,
    }
}

/// Writes `src` to a fresh file named `test.sx` and returns its path.
fn write_program(src: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sx_sema_check_{}_{}", std::process::id(), n));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("test.sx");
    std::fs::write(&path, src).expect("write test program");
    path
}

/// Renders diagnostics as the driver prints them, with the temp directory taken out.
fn render(sources: &SourceMap, diags: &[Diagnostic], path: &std::path::Path) -> String {
    let dir = path.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = String::new();
    for d in diags {
        out.push_str(&sx_diag::render(sources, d).replace(&dir, "$DIR"));
        out.push('\n');
    }
    out
}

/// A compiler with `src` loaded as its root file.
fn load(src: &str) -> (Compiler, Option<FileIdx>, PathBuf) {
    let path = write_program(src);
    let mut c = Compiler::new(&options());
    let shown = path.to_string_lossy().into_owned();
    let root = c.load_file(&path, shown, None);
    (c, root, path)
}

/// Evaluates the type expression `text` in the root file (via a hidden constant).
fn eval_type(c: &mut Compiler, root: FileIdx, name: &str) -> Option<TypeId> {
    let span = c.files[root].file_id_span();
    match c.lookup_global(root, name, span) {
        Ok(Some(ConstVal::Type(t))) => Some(t),
        _ => None,
    }
}

/// The answer of a probe, or the diagnostics that prevented it.
fn answer(c: &Compiler, path: &std::path::Path, found: Option<String>) -> String {
    match found {
        Some(s) if c.diags.is_empty() => s,
        _ => render(&c.sources, &c.diags, path),
    }
}

/// Checks the type of `probe`'s returned expression.
pub(crate) fn check_type(src: &str, expect: Expect) {
    let (mut c, root, path) = load(src);
    let found = root.and_then(|root| {
        let span = c.files[root].file_id_span();
        match c.lookup_global(root, "probe", span) {
            Ok(Some(ConstVal::Func(f))) => c.fn_sig(f).ok().map(|s| c.types.name(s.ret)),
            _ => None,
        }
    });
    expect.assert_eq(&answer(&c, &path, found));
}

/// Checks the implicit conversion decided from type `from` to type `to` (type expressions,
/// evaluated after the declarations in `decls`).
pub(crate) fn check_coercion(decls: &str, from: &str, to: &str, expect: Expect) {
    let src = format!("{}\n__From :: {};\n__To :: {};\n", decls, from, to);
    let (mut c, root, path) = load(&src);
    let found = root.and_then(|root| {
        let (f, t) = (eval_type(&mut c, root, "__From")?, eval_type(&mut c, root, "__To")?);
        Some(match coercion(&c.types, f, t) {
            Ok(rule) => format!("{:?}", rule),
            Err(e) => format!("error: {:?}", e),
        })
    });
    expect.assert_eq(&answer(&c, &path, found));
}

/// Checks how the constant `CONST` of `src` adapts to type expression `to`.
pub(crate) fn check_literal(src: &str, to: &str, expect: Expect) {
    let src = format!("{}\n__To :: {};\n", src, to);
    let (mut c, root, path) = load(&src);
    let found = root.and_then(|root| {
        let span = c.files[root].file_id_span();
        let k = c.lookup_global(root, "CONST", span).ok().flatten()?;
        let t = eval_type(&mut c, root, "__To")?;
        let from = k.ty();
        Some(match literal_coercion(&c.types, &k, from, t) {
            Ok(LiteralCoercion::Const(v)) => format!("Const({})", const_text(&c, &v)),
            Ok(other) => format!("{:?}", other),
            Err(e) => format!("error: {}", e.message(&c.types.name(t))),
        })
    });
    expect.assert_eq(&answer(&c, &path, found));
}

/// A constant as the tests show it: value and type.
fn const_text(c: &Compiler, v: &ConstVal) -> String {
    match v {
        ConstVal::Int { v, ty } => format!("{}: {}", v, ty.map(|t| c.types.name(t)).unwrap_or_else(|| "untyped".into())),
        ConstVal::Float { v, ty } => format!("{:?}: {}", v, ty.map(|t| c.types.name(t)).unwrap_or_else(|| "untyped".into())),
        other => format!("{:?}", other),
    }
}

/// Checks every diagnostic of compiling `src` as a whole program (`"ok"` when it compiles).
pub(crate) fn check_diagnostics(src: &str, expect: Expect) {
    let path = write_program(src);
    let out = match compile(&path, &options()) {
        Ok(_) => "ok\n".to_string(),
        Err((sources, diags)) => render(&sources, &diags, &path),
    };
    expect.assert_eq(&out);
}
