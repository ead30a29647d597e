//! `frontend`: arbitrary bytes as an sx source file.
//!
//! 1. The parser (`sx_syntax::parse_file`) on the lossily decoded text.
//! 2. The whole semantic front end (`sx_sema::compile`: import resolution, checking, lowering
//!    to IR, compile-time evaluation on the VM) on the same text written to a temp file, with
//!    small VM budgets and the repository's `library/` as the stdlib (so
//!    `#import "modules/std.sx"` works).
//!
//! Neither may panic. Like the `sx` driver, compilation runs on a big-stack thread (the
//! driver uses 512 MiB; the front end relies on it for deep programs), and a panic there is
//! re-raised here so libFuzzer records it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Env {
    file: PathBuf,
    opts: sx_sema::Options,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let dir = std::env::temp_dir().join(format!("sx-fuzz-frontend-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        let file = dir.join("input.sx");
        let mut limits = sx_vm::VmLimits::default();
        limits.max_steps = 100_000;
        limits.max_memory = 16 << 20;
        limits.max_call_depth = 1_000;
        limits.max_stack_bytes = 16 << 20;
        limits.timeout = Some(std::time::Duration::from_secs(2));
        // Comptime FFI runs real C code, which no sandbox contains: keep it out of fuzzing.
        limits.foreign_calls = false;
        let opts = sx_sema::Options {
            target: sx_ir::Target::X86_64Linux,
            paths: sx_sema::ImportPaths {
                // Relative imports that the examples use (`lib/shapes.sx`) resolve here.
                cwd: root.join("examples/modules"),
                stdlib: vec![root.join("library")],
            },
            vm_limits: limits,
            trace_comptime: false,
            interrupt: None,
        };
        Env { file, opts }
    })
}

fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("sx-fuzz".into())
            .stack_size(512 << 20)
            .spawn_scoped(s, f)
            .expect("spawn the compiler thread");
        match h.join() {
            Ok(v) => v,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // Keep single inputs small enough that one run stays fast.
    if data.len() > 64 * 1024 {
        return;
    }
    let src = String::from_utf8_lossy(data);
    let (_file, diags) = sx_syntax::parse_file(sx_diag::FileId(0), &src);
    // Rendering diagnostics is part of every failing compile; exercise it on the parser's too.
    if !diags.is_empty() {
        let mut map = sx_diag::SourceMap::new();
        map.add("input.sx", src.to_string());
        for d in &diags {
            let _ = sx_diag::render(&map, d);
        }
    }

    let env = env();
    std::fs::write(&env.file, data).expect("write the temp input");
    on_big_stack(|| match sx_sema::compile(&env.file, &env.opts) {
        Ok(out) => {
            let _ = sx_ir::print::print_module(&out.module);
        }
        Err((sources, diags)) => {
            for d in &diags {
                let _ = sx_diag::render(&sources, d);
            }
        }
    });
});
