//! The parser must never panic or hang: truncated programs, random bytes and random
//! token soup all have to come back with diagnostics.

use sx_diag::FileId;

const SAMPLE: &str = r#"#import "modules/std.sx";
Point :: struct { x, y: i64 = 0; m :: (self: *Point) -> i64 => self.x; }
E :: enum u8 { a; b :: 3; c; }
M :: enum { text: string; quit; }
f :: (a: i64, b := 2, ..xs: []i64) -> (i64, !) {
    defer print("x");
    for xs, 0.. (x, i) { if x == { case 0: continue; case .a: (p) { break; } else: {} } }
    s := xs[1..=2]; p := *s[0]; p.* = 3; q := p?.x ?? 4;
    v := if a < b <= 3 then 1 else 2;
    w := .{ x = 1, y = 2 }; arr := .[1, 2, 3];
    h := #string END
raw
END;
    c := 'a' + '\n'; t := "a\tb\x41\u{1F980}";
    return v.(i64) + xx w.x, try g() catch (e) { 0 };
}
main :: () -> i32 { while true { push .{ allocator = a } { f(1) { } } } 0 }
"#;

fn check(src: &str) {
    let _ = sx_syntax::parse_file(FileId(0), src);
}

fn prefixes(src: &str, step: usize) {
    let mut i = 0;
    while i <= src.len() {
        if src.is_char_boundary(i) {
            check(&src[..i]);
        }
        i += step;
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// About 400 prefixes of each file (which must exist).
fn file_prefixes(files: impl IntoIterator<Item = impl AsRef<std::path::Path>>, needs: &str) {
    for f in files {
        let f = f.as_ref();
        let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e}{needs}", f.display()));
        prefixes(&src, (src.len() / 400).max(1));
    }
}

#[test]
fn truncated_prefixes_do_not_panic() {
    prefixes(SAMPLE, 1);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    file_prefixes(
        ["library/modules/std/map.sx", "library/modules/std/json.sx", "examples/tuples/destructure.sx"].map(|f| root.join(f)),
        "",
    );
}

#[test]
#[ignore = "needs the reference checkout at /tmp/sx-ref; run with --include-ignored"]
fn truncated_reference_prefixes_do_not_panic() {
    file_prefixes(
        [
            "/tmp/sx-ref/library/modules/std/list.sx",
            "/tmp/sx-ref/examples/basic/0025-basic-literals.sx",
            "/tmp/sx-ref/library/modules/std/fmt.sx",
        ],
        " (this test needs the reference checkout at /tmp/sx-ref)",
    );
}

#[test]
fn random_bytes_do_not_panic() {
    let mut r = Rng(0x9E3779B97F4A7C15);
    for _ in 0..300 {
        let n = (r.next() % 200) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| (r.next() % 128) as u8).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn token_soup_does_not_panic() {
    const TOKS: &[&str] = &[
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ";",
        ",",
        ".",
        "..",
        ":",
        "::",
        ":=",
        "=",
        "==",
        "<",
        ">",
        "+",
        "-",
        "*",
        "!",
        "?",
        "?.",
        "??",
        "->",
        "=>",
        "$",
        "|>",
        "---",
        "if",
        "then",
        "else",
        "case",
        "for",
        "while",
        "return",
        "struct",
        "enum",
        "union",
        "error",
        "catch",
        "try",
        "xx",
        "inline",
        "#run",
        "#import",
        "#string X\nX",
        "x",
        "T",
        "1",
        "2.5",
        "'c'",
        "\"s\"",
        "and",
        "or",
        "defer",
        "push",
        "impl",
        "ufcs",
        "extern",
        "#get",
        "Closure",
        "\n",
    ];
    let mut r = Rng(12345);
    for _ in 0..2000 {
        let n = (r.next() % 40) as usize;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(TOKS[(r.next() % TOKS.len() as u64) as usize]);
            s.push(' ');
        }
        check(&s);
        check(&format!("f :: () {{ {} }}", s));
    }
}
