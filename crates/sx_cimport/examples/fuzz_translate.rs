//! A mutation fuzzer for the translator (no cargo-fuzz needed):
//! `cargo run --release -p sx_cimport --example fuzz_translate -- [--iterations N] [--seed S] [--out DIR]`.
//!
//! Seeds: the preprocessed text (`cc -E -dD`) of stdio.h, stdlib.h, string.h, math.h, zlib.h,
//! sqlite3.h and pthread.h (those that exist) plus hand-written tricky declarations. Each
//! iteration takes a window of a seed, mutates it (byte flips, token deletion, duplication,
//! insertion of C keywords and punctuation, splices) and runs `translate_preprocessed` —
//! lang-c's parse and the translation, without the C compiler. A panic, or generated sx that
//! the sx parser rejects, is a finding: the input is written to `--out` and the run fails.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const HEADERS: &[&str] = &["stdio.h", "stdlib.h", "string.h", "math.h", "zlib.h", "sqlite3.h", "pthread.h"];

const HAND_SEEDS: &[&str] = &[
    "struct outer { int kind; union { int i; float f; struct { short lo, hi; } parts; }; struct { char tag; } named; };\n",
    "typedef int (*handler_t)(int code, void *ctx);\nstruct table { handler_t h[4]; void (*hooks[2])(const char *); int (*(*f)(void))(int); };\n",
    "void (*signal(int sig, void (*func)(int)))(int);\ntypedef void fn_type(int);\nfn_type *get_fn(void);\n",
    "enum color { RED, GREEN = 5, BLUE };\nenum sign { NEG = -2, POS = 0x80000000u };\ntypedef enum { A = 1 << 3, B = A | 1, C = sizeof(long) } mode_t2;\n",
    "#define MAX 64\n#define F 0.75\n#define S \"x\" \"y\"\n#define E (-(MAX * 2))\n#define M (~0UL)\n#define C ((unsigned char)300)\n#define Q (MAX > 1 ? 1 : 2)\n",
    "struct flags { unsigned a : 1; int c; };\nstruct p { char c; int i; } __attribute__((packed));\ntypedef int w __attribute__((aligned(16)));\n",
    "int printf(const char *fmt, ...);\nint fscanf(void *s, const char *f, ...) __asm__(\"\" \"__isoc99_fscanf\");\nextern char **environ;\nextern const char v[];\n",
    "struct node; typedef struct node node_t; struct node { int v; node_t *next; }; int i2(int u8, int in, int type);\n",
    "typedef struct { int x[3][4]; double d; } arr_t; struct flex { int n; double data[]; }; _Static_assert(1, \"x\");\n",
];

const TOKENS: &[&str] = &[
    "struct ",
    "union ",
    "enum ",
    "typedef ",
    "extern ",
    "static ",
    "inline ",
    "const ",
    "unsigned ",
    "long ",
    "char ",
    "int ",
    "double ",
    "void ",
    "*",
    "**",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ";",
    ",",
    "...",
    ":3",
    "= 1",
    "= -1",
    " x ",
    " y ",
    "0x7fffffff",
    "18446744073709551615ULL",
    "1e308",
    "'a'",
    "\"s\"",
    "sizeof(int)",
    "__attribute__((packed))",
    "__attribute__((aligned(16)))",
    "__asm__(\"sym\")",
    "__extension__ ",
    "_Float128 ",
    "__int128 ",
    "__builtin_va_list ",
    "_Bool ",
    "_Complex ",
    "\n#define X ",
    "\n#define Y(a) a\n",
    "\n#undef X\n",
    "\n# 1 \"/usr/include/x.h\" 1\n",
    " if ",
    " in ",
    " i8 ",
    " u8 ",
    "(void)",
    "[]",
    "[0]",
    "<<",
    ">>",
    "?",
    ":",
    "~",
    "!",
    "/ 0",
    "__",
    "_Alignas(8) ",
    "typeof(int) ",
];

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn preprocessed(header: &str) -> Option<String> {
    let mut child = Command::new("cc")
        .args(["-E", "-dD", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(format!("#include <{header}>\n").as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Token boundaries of `bytes` (starts of words, numbers and single punctuation bytes).
fn token_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        starts.push(i);
        if b.is_ascii_alphanumeric() || b == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    starts
}

fn token_range(bytes: &[u8], starts: &[usize], k: usize) -> (usize, usize) {
    let lo = starts[k];
    let hi = starts.get(k + 1).copied().unwrap_or(bytes.len());
    (lo, hi)
}

fn mutate(rng: &mut Rng, seeds: &[String]) -> Vec<u8> {
    let seed = seeds[rng.below(seeds.len())].as_bytes();
    let len = 64 + rng.below(4096);
    let start = if seed.len() > len { rng.below(seed.len() - len) } else { 0 };
    let mut data = seed[start..(start + len).min(seed.len())].to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let starts = token_starts(&data);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !starts.is_empty() => {
                let (lo, hi) = token_range(&data, &starts, rng.below(starts.len()));
                data.drain(lo..hi);
            }
            2 if !starts.is_empty() => {
                let (lo, hi) = token_range(&data, &starts, rng.below(starts.len()));
                let tok = data[lo..hi].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, tok);
            }
            3 => {
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let at = if starts.is_empty() { 0 } else { starts[rng.below(starts.len())] };
                data.splice(at..at, tok.iter().copied());
            }
            4 => {
                let other = seeds[rng.below(seeds.len())].as_bytes();
                let n = 1 + rng.below(512);
                let from = rng.below(other.len().saturating_sub(n) + 1);
                let piece = other[from..(from + n).min(other.len())].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, piece);
            }
            5 if starts.len() > 2 => {
                let a = rng.below(starts.len() - 1);
                let b = a + 1 + rng.below((starts.len() - a - 1).min(16));
                let (lo, _) = token_range(&data, &starts, a);
                let (_, hi) = token_range(&data, &starts, b);
                data.drain(lo..hi);
            }
            _ => {
                let at = rng.below(data.len() + 1);
                data.insert(at, rng.below(256) as u8);
            }
        }
    }
    data
}

static PARSER_PANICS: AtomicUsize = AtomicUsize::new(0);

fn main() {
    let mut iterations: usize = 100_000;
    let mut seed: u64 = 0x5eed_c1a0;
    let mut out_dir = std::env::temp_dir().join("sx-cimport-fuzz");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" => iterations = args.next().and_then(|v| v.parse().ok()).unwrap_or(iterations),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--out" => out_dir = args.next().map(Into::into).unwrap_or(out_dir),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let mut seeds: Vec<String> = HAND_SEEDS.iter().map(|s| s.to_string()).collect();
    for h in HEADERS {
        match preprocessed(h) {
            Some(text) => seeds.push(text),
            None => eprintln!("(no seed from {h}: not installed)"),
        }
    }
    // lang-c panics are caught inside the translator (they become errors); count them quietly.
    std::panic::set_hook(Box::new(|info| {
        if std::thread::current().name() == Some("sx-cimport-parse") {
            PARSER_PANICS.fetch_add(1, Ordering::Relaxed);
        } else {
            eprintln!("panic: {info}");
        }
    }));
    let mut rng = Rng(seed | 1);
    let opts = sx_cimport::Options::default();
    let (mut ok, mut errors, mut findings) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    for i in 0..iterations {
        let data = mutate(&mut rng, &seeds);
        let text = String::from_utf8_lossy(&data).into_owned();
        let result = std::panic::catch_unwind(|| sx_cimport::translate_preprocessed(&text, &opts));
        let finding = match result {
            Ok(Ok(t)) => {
                ok += 1;
                let (_, diags) = sx_syntax::parse_file(sx_diag::FileId(0), &t.sx_source);
                diags.first().map(|d| format!("generated sx does not parse: {}", d.message))
            }
            Ok(Err(_)) => {
                errors += 1;
                None
            }
            Err(_) => Some("the translator panicked".to_string()),
        };
        if let Some(what) = finding {
            findings += 1;
            let _ = std::fs::create_dir_all(&out_dir);
            let path = out_dir.join(format!("finding-{i}.c"));
            let _ = std::fs::write(&path, &data);
            eprintln!("iteration {i}: {what} (input saved to {})", path.display());
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!("{} executions, {:?}", i + 1, started.elapsed());
        }
    }
    println!(
        "{iterations} executions in {:?}: {ok} translated, {errors} errors, {} parser panics caught, {findings} findings",
        started.elapsed(),
        PARSER_PANICS.load(Ordering::Relaxed)
    );
    if findings > 0 {
        std::process::exit(1);
    }
}
