//! `sx lsp`: the language server started as a process and spoken to in JSON-RPC over its
//! stdin/stdout — diagnostics that follow edits of unsaved text, compile-time code without host
//! effects or output on the protocol stream, document symbols, hover (declarations, values,
//! types of expressions), definition and references (locals, fields, variants, across imports),
//! completion, signature help, inlay hints, and answers on files that do not compile.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// A running `sx lsp` and the messages it sent.
struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

impl Client {
    /// Starts `sx lsp` in `dir` and completes the `initialize` handshake.
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sx"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sx lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (k, v) = line.split_once(':').expect("a header line");
                    assert_eq!(k.to_ascii_lowercase(), "content-length", "unexpected header {line:?}");
                    len = Some(v.trim().parse::<usize>().expect("a length"));
                }
                let mut body = vec![0; len.expect("Content-Length")];
                r.read_exact(&mut body).expect("body");
                let msg: Value = serde_json::from_slice(&body).expect("a JSON message on stdout");
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut c = Client { child, stdin, incoming, next_id: 1 };
        let init = c.request("initialize", json!({ "capabilities": {}, "processId": null, "rootUri": null }));
        assert_eq!(init["capabilities"]["hoverProvider"], json!(true), "{init}");
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next message from the server (a test fails instead of hanging).
    fn recv(&mut self) -> Value {
        self.incoming.recv_timeout(Duration::from_secs(60)).expect("the server answers within 60 s")
    }

    /// Sends a request and returns its result (notifications before it are dropped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let msg = self.recv();
            if msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "{method}: {msg}");
                return msg["result"].clone();
            }
        }
    }

    /// The next `publishDiagnostics` for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let msg = self.recv();
            if msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri {
                return msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        let doc = json!({ "uri": uri, "languageId": "sx", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": doc }));
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        let doc = json!({ "uri": uri, "version": version });
        self.notify("textDocument/didChange", json!({ "textDocument": doc, "contentChanges": [{ "text": text }] }));
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let params = json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
        self.request(method, params)
    }

    /// `shutdown` then `exit`; the server must end with status 0.
    fn finish(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().expect("wait");
        assert_eq!(status.code(), Some(0));
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-lsp-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.canonicalize().expect("canonical scratch dir")
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `(start line, start char, end line, end char)` of a diagnostic or location.
fn range(v: &Value) -> (u64, u64, u64, u64) {
    let r = &v["range"];
    let n = |x: &Value| x.as_u64().expect("a number");
    (n(&r["start"]["line"]), n(&r["start"]["character"]), n(&r["end"]["line"]), n(&r["end"]["character"]))
}

#[test]
fn diagnostics_follow_unsaved_edits() {
    let dir = scratch("diags");
    let path = dir.join("main.sx");
    // The file on disk is fine; the editor's buffer is what counts.
    std::fs::write(&path, "main :: () {}\n").expect("write");
    let u = uri(&path);
    let mut c = Client::start(&dir);
    let broken = "#import \"modules/std.sx\";\nmain :: () {\n    s := \"é\"; x : i32 = \"no\";\n    print(\"{}\\n\", missing);\n}\n";
    c.open(&u, broken);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 2, "{diags:?}");
    // UTF-16 columns: `é` is one unit (two bytes) before the second statement.
    assert_eq!(range(&diags[0]), (2, 24, 2, 28), "{diags:?}");
    assert!(diags[0]["message"].as_str().unwrap_or("").contains("type mismatch"), "{diags:?}");
    assert_eq!(range(&diags[1]), (3, 18, 3, 25), "{diags:?}");
    assert!(diags[1]["message"].as_str().unwrap_or("").contains("missing"), "{diags:?}");
    let fixed = "#import \"modules/std.sx\";\nmain :: () {\n    s := \"é\"; x : i32 = 1;\n    print(\"{} {} {}\\n\", s, x, 2);\n}\n";
    c.change(&u, 2, fixed);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compile_time_code_has_no_host_effects() {
    let dir = scratch("sandbox");
    let path = dir.join("effects.sx");
    let victim = dir.join("made_by_system");
    let src = format!(
        "#import \"modules/std.sx\";\nlibc :: #library \"c\";\nsystem :: (cmd: cstring) -> i32 extern libc;\n\
         print_and_compute :: () -> i64 {{\n    print(\"comptime output on stdout\\n\");\n    system(\"touch {}\");\n    return 42;\n}}\n\
         X :: #run print_and_compute();\nmain :: () {{ print(\"{{}}\\n\", X); }}\n",
        victim.display()
    );
    std::fs::write(&path, &src).expect("write");
    let u = uri(&path);
    let mut c = Client::start(&dir);
    c.open(&u, &src);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let msg = diags[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("compile-time call to 'system' is not allowed under --sandbox"), "{msg}");
    assert_eq!(range(&diags[0]).0, 5, "{diags:?}");
    assert!(!victim.exists(), "compile-time code created a file");
    // Output of compile-time code and an endless loop: the protocol stays intact, the loop is cut.
    let spin = "#import \"modules/std.sx\";\ncompute :: () -> i64 { print(\"noise\\n\"); return 6 * 7; }\nX :: #run compute();\n\
                spin :: () -> i64 { i := 0; while true { i += 1; } return i; }\nY :: #run spin();\nmain :: () { print(\"{} {}\\n\", X, Y); }\n";
    c.change(&u, 2, spin);
    let diags = c.diagnostics(&u);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(range(&diags[0]).0, 3, "{diags:?}");
    let hover = c.at("textDocument/hover", &u, 2, 0);
    assert!(hover["contents"]["value"].as_str().unwrap_or("").contains("value: `42`"), "{hover}");
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn symbols_hover_and_definition() {
    let dir = scratch("symbols");
    let lib = dir.join("shapes.sx");
    let path = dir.join("main.sx");
    std::fs::write(&lib, "helper :: (x: i64) -> i64 { return x + 1; }\n").expect("write");
    let src = "#import \"modules/std.sx\";\n#import \"shapes.sx\";\nN :: 40 + 2;\nPoint :: struct { x: f32; y: f64; }\n\
               Color :: enum u8 { red; green; }\nGREETING :: \"hi\";\nmain :: () { print(\"{} {}\\n\", helper(N), GREETING); }\n";
    std::fs::write(&path, src).expect("write");
    let u = uri(&path);
    let mut c = Client::start(&dir);
    c.open(&u, src);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());
    let symbols = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": u } }));
    let summary: Vec<(String, u64, Vec<String>)> = symbols
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| {
            let children = s["children"].as_array().map(|c| c.iter().map(|c| c["name"].as_str().unwrap_or("").to_string()).collect());
            (s["name"].as_str().unwrap_or("").to_string(), s["kind"].as_u64().unwrap_or(0), children.unwrap_or_default())
        })
        .collect();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            ("N".to_string(), 14, vec![]),
            ("Point".to_string(), 23, names(&["x", "y"])),
            ("Color".to_string(), 10, names(&["red", "green"])),
            ("GREETING".to_string(), 14, vec![]),
            ("main".to_string(), 12, vec![]),
        ]
    );
    assert_eq!(range(&symbols[1]["children"][1]), (3, 26, 3, 33));
    let hover = |c: &mut Client, line, ch| c.at("textDocument/hover", &u, line, ch)["contents"]["value"].as_str().unwrap_or("").to_string();
    assert_eq!(hover(&mut c, 2, 0), "```sx\nN :: 40 + 2;\n```\n\nvalue: `42`");
    assert_eq!(hover(&mut c, 3, 3), "```sx\nPoint :: struct { x: f32; y: f64; }\n```\n\ntype `Point`: size_of = 16, align_of = 8");
    assert!(hover(&mut c, 4, 0).ends_with("size_of = 1, align_of = 1"));
    // A use inside `main` and a name from an import.
    assert!(hover(&mut c, 6, 48).ends_with("value: `\"hi\"`"));
    assert_eq!(hover(&mut c, 6, 31), "```sx\nhelper :: (x: i64) -> i64 { return x + 1; }\n```");
    let def = c.at("textDocument/definition", &u, 6, 31);
    assert_eq!(def["uri"], json!(uri(&lib)), "{def}");
    assert_eq!(range(&def), (0, 0, 0, 6));
    let def = c.at("textDocument/definition", &u, 6, 38);
    assert_eq!(def["uri"], json!(u), "{def}");
    assert_eq!(range(&def), (2, 0, 2, 1));
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn imports_see_unsaved_buffers() {
    let dir = scratch("overlay");
    let lib = dir.join("lib.sx");
    let path = dir.join("main.sx");
    std::fs::write(&lib, "old_name :: 1;\n").expect("write");
    let src = "#import \"lib.sx\";\nmain :: () -> i32 { return xx new_name; }\n";
    std::fs::write(&path, src).expect("write");
    let (u, lu) = (uri(&path), uri(&lib));
    let mut c = Client::start(&dir);
    c.open(&u, src);
    assert_eq!(c.diagnostics(&u).len(), 1);
    c.open(&lu, "new_name :: 2;\n");
    assert_eq!(c.diagnostics(&lu), Vec::<Value>::new());
    c.change(&u, 2, src);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());
    // Closing the import's buffer: the file on disk counts again, and a closed file has no
    // diagnostics.
    c.notify("textDocument/didClose", json!({ "textDocument": { "uri": lu } }));
    assert_eq!(c.diagnostics(&lu), Vec::<Value>::new());
    c.change(&u, 3, src);
    assert_eq!(c.diagnostics(&u).len(), 1);
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The project the position tests open: `main.sx` imports `util.sx` flat and `geom.sx` as a
/// namespace.
const MAIN: &str = "#import \"modules/std.sx\";\n#import \"util.sx\";\ngeom :: #import \"geom.sx\";\n\
Color :: enum u8 { red; green; blue; }\nPoint :: struct { x: i64; y: i64; }\nadd :: (a: i64, b: i64) -> i64 { return a + b; }\n\
main :: () {\n    p := Point.{x = 1, y = 2};\n    total := add(p.x, p.y);\n    c : Color = .green;\n\
    if c == .red { print(\"red\\n\"); }\n    v := geom.area(3, 4) + twice(total);\n    print(\"{} {}\\n\", total, v);\n}\n";

/// Writes the project of [`MAIN`] into a scratch directory and opens `main.sx` with `text`.
fn open_project(name: &str, text: &str) -> (PathBuf, Client, String) {
    let dir = scratch(name);
    std::fs::write(dir.join("util.sx"), "twice :: (n: i64) -> i64 { return n * 2; }\n").expect("write");
    std::fs::write(dir.join("geom.sx"), "area :: (w: i64, h: i64) -> i64 { return w * h; }\n").expect("write");
    std::fs::write(dir.join("main.sx"), MAIN).expect("write");
    let u = uri(&dir.join("main.sx"));
    let mut c = Client::start(&dir);
    c.open(&u, text);
    c.diagnostics(&u);
    (dir, c, u)
}

/// The (line, character) of the `nth` occurrence of `word` on line `line` of `text`.
fn find(text: &str, line: usize, word: &str, nth: usize) -> (u32, u32) {
    let l = text.lines().nth(line).expect("line");
    let mut at = 0;
    for _ in 0..=nth {
        at = l[at..].find(word).map(|i| at + i).expect("word on line") + 1;
    }
    (line as u32, (at - 1) as u32)
}

fn hover_text(c: &mut Client, u: &str, (line, ch): (u32, u32)) -> String {
    c.at("textDocument/hover", u, line, ch)["contents"]["value"].as_str().unwrap_or("").to_string()
}

fn labels(v: &Value) -> Vec<String> {
    v["items"].as_array().map(|a| a.iter().map(|i| i["label"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

#[test]
fn hover_types_of_locals_fields_and_calls() {
    let (dir, mut c, u) = open_project("hover-expr", MAIN);
    // A local where it is declared and where it is used, a field, a parameter in a body, a call.
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 8, "total", 0)), "```sx\ntotal: i64\n```\n\nlocal");
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 12, "total", 0)), "```sx\ntotal: i64\n```\n\nlocal");
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 8, "p", 0)), "```sx\np: Point\n```\n\nlocal");
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 9, "c", 0)), "```sx\nc: Color\n```\n\nlocal");
    let field = hover_text(&mut c, &u, find(MAIN, 8, "x", 0));
    assert_eq!(field, "```sx\nPoint :: struct { x: i64; y: i64; }\n```\n\ntype: `i64`");
    // A field where it is declared.
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 4, "y", 0)), field);
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 5, "a + b", 0)), "```sx\na: i64\n```\n\nparameter");
    assert_eq!(hover_text(&mut c, &u, find(MAIN, 11, "area", 0)), "```sx\narea :: (w: i64, h: i64) -> i64 { return w * h; }\n```");
    // Between names: the smallest expression around the cursor (the call's result).
    let (line, ch) = find(MAIN, 8, ", p", 0);
    assert_eq!(hover_text(&mut c, &u, (line, ch + 1)), "```sx\ni64\n```");
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn definition_of_locals_fields_variants_and_imports() {
    let (dir, mut c, u) = open_project("definition", MAIN);
    let def = |c: &mut Client, (l, ch): (u32, u32)| {
        let d = c.at("textDocument/definition", &u, l, ch);
        (d["uri"].as_str().unwrap_or("").to_string(), range(&d))
    };
    let main_uri = u.clone();
    assert_eq!(def(&mut c, find(MAIN, 12, "total", 0)), (main_uri.clone(), (8, 4, 8, 9)));
    assert_eq!(def(&mut c, find(MAIN, 5, "a + b", 0)), (main_uri.clone(), (5, 8, 5, 9)));
    assert_eq!(def(&mut c, find(MAIN, 8, "y", 0)), (main_uri.clone(), (4, 26, 4, 27)));
    assert_eq!(def(&mut c, find(MAIN, 10, "red", 0)), (main_uri.clone(), (3, 19, 3, 22)));
    // Across imports: a namespace member and a flat import's function.
    assert_eq!(def(&mut c, find(MAIN, 11, "area", 0)), (uri(&dir.join("geom.sx")), (0, 0, 0, 4)));
    assert_eq!(def(&mut c, find(MAIN, 11, "twice", 0)), (uri(&dir.join("util.sx")), (0, 0, 0, 5)));
    assert_eq!(def(&mut c, find(MAIN, 11, "geom", 0)), (main_uri, (2, 0, 2, 4)));
    // An import's path: the imported file.
    assert_eq!(def(&mut c, find(MAIN, 2, "geom.sx", 0)), (uri(&dir.join("geom.sx")), (0, 0, 0, 0)));
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn references_of_locals_fields_and_top_level_names() {
    let (dir, mut c, u) = open_project("references", MAIN);
    let refs = |c: &mut Client, (l, ch): (u32, u32)| {
        let params =
            json!({ "textDocument": { "uri": u }, "position": { "line": l, "character": ch }, "context": { "includeDeclaration": true } });
        let r = c.request("textDocument/references", params);
        r.as_array().expect("locations").iter().map(|l| (l["uri"].as_str().unwrap_or("").to_string(), range(l))).collect::<Vec<_>>()
    };
    let starts = |v: Vec<(String, (u64, u64, u64, u64))>| v.into_iter().map(|(_, r)| (r.0, r.1)).collect::<Vec<_>>();
    assert_eq!(starts(refs(&mut c, find(MAIN, 8, "total", 0))), vec![(8, 4), (11, 33), (12, 21)]);
    // A field, from its declaration: its name in the struct literal and the read `p.x`.
    assert_eq!(starts(refs(&mut c, find(MAIN, 4, "x", 0))), vec![(4, 18), (7, 16), (8, 19)]);
    assert_eq!(starts(refs(&mut c, find(MAIN, 5, "add", 0))), vec![(5, 0), (8, 13)]);
    // A function of another file: its declaration there, the use here.
    let twice = refs(&mut c, find(MAIN, 11, "twice", 0));
    assert_eq!(twice.len(), 2, "{twice:?}");
    assert_eq!(twice[0].0, uri(&dir.join("util.sx")));
    assert_eq!(twice[1], (u.clone(), (11, 27, 11, 32)));
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completion_in_scope_members_and_variants() {
    let dir = scratch("completion");
    std::fs::write(dir.join("util.sx"), "twice :: (n: i64) -> i64 { return n * 2; }\n").expect("write");
    std::fs::write(dir.join("geom.sx"), "area :: (w: i64, h: i64) -> i64 { return w * h; }\n").expect("write");
    let u = uri(&dir.join("main.sx"));
    let mut c = Client::start(&dir);
    // Each case edits line 12 of the program into something unfinished, as typing does.
    let mut version = 1;
    let mut complete = |c: &mut Client, line: &str| {
        let mut lines: Vec<&str> = MAIN.lines().collect();
        lines.insert(12, line);
        let text = lines.join("\n");
        if version == 1 {
            c.open(&u, &text);
        } else {
            c.change(&u, version, &text);
        }
        version += 1;
        labels(&c.at("textDocument/completion", &u, 12, line.len() as u32))
    };
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let in_scope = complete(&mut c, "    t");
    assert!(in_scope.contains(&"total".to_string()) && in_scope.contains(&"twice".to_string()), "{in_scope:?}");
    let all = complete(&mut c, "    ");
    for n in ["p", "total", "c", "v", "add", "Point", "geom", "main", "print"] {
        assert!(all.contains(&n.to_string()), "{n} missing from {all:?}");
    }
    assert_eq!(complete(&mut c, "    p."), names(&["x", "y"]));
    assert_eq!(complete(&mut c, "    q := p.y"), names(&["y"]));
    assert_eq!(complete(&mut c, "    geom."), names(&["area"]));
    assert_eq!(complete(&mut c, "    d : Color = ."), names(&["red", "green", "blue"]));
    assert_eq!(complete(&mut c, "    if c == .g"), names(&["green"]));
    assert_eq!(complete(&mut c, "    c = ."), names(&["red", "green", "blue"]));
    assert_eq!(complete(&mut c, "    Color."), names(&["red", "green", "blue"]));
    // An unclosed block: the function's locals are still in scope, a `case` knows its subject.
    assert_eq!(complete(&mut c, "    if c == { case ."), names(&["red", "green", "blue"]));
    let open_block = complete(&mut c, "    if c == { case .red: t");
    assert!(open_block.contains(&"total".to_string()), "{open_block:?}");
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn signature_help_and_inlay_hints() {
    let mut lines: Vec<&str> = MAIN.lines().collect();
    lines.insert(12, "    w := add(total, geom.area(1, ");
    let text = lines.join("\n");
    let (dir, mut c, u) = open_project("signature", &text);
    let help = c.at("textDocument/signatureHelp", &u, 12, 36);
    assert_eq!(help["signatures"][0]["label"], json!("area(w: i64, h: i64) -> i64"), "{help}");
    assert_eq!(help["signatures"][0]["parameters"], json!([{ "label": [5, 11] }, { "label": [13, 19] }]));
    assert_eq!(help["activeParameter"], json!(1));
    let help = c.at("textDocument/signatureHelp", &u, 12, 22);
    assert_eq!(help["signatures"][0]["label"], json!("add(a: i64, b: i64) -> i64"), "{help}");
    assert_eq!(help["activeParameter"], json!(1));
    c.change(&u, 2, MAIN);
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());
    let all = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 20, "character": 0 } });
    let hints = c.request("textDocument/inlayHint", json!({ "textDocument": { "uri": u }, "range": all }));
    let hints: Vec<(u64, u64, String)> = hints
        .as_array()
        .expect("hints")
        .iter()
        .map(|h| {
            (
                h["position"]["line"].as_u64().unwrap_or(0),
                h["position"]["character"].as_u64().unwrap_or(0),
                h["label"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // `c : Color = …` has a written type: no hint.
    assert_eq!(hints, vec![(7, 5, ": Point".to_string()), (8, 9, ": i64".to_string()), (11, 5, ": i64".to_string())]);
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_with_errors_still_answers() {
    // A type error and an unfinished line (the parser drops the whole function): the parse
    // error is published and requests on the rest of the function are still answered.
    let broken = MAIN.replace("    c : Color = .green;", "    c : Color = .green;\n    bad : i32 = \"no\";\n    q := p.");
    let (dir, mut c, u) = open_project("broken", &broken);
    assert_eq!(hover_text(&mut c, &u, find(&broken, 8, "total", 0)), "```sx\ntotal: i64\n```\n\nlocal");
    let def = c.at("textDocument/definition", &u, 13, 33);
    assert_eq!(range(&def), (8, 4, 8, 9), "{def}");
    assert_eq!(labels(&c.at("textDocument/completion", &u, 11, 11)), vec!["x".to_string(), "y".to_string()]);
    // An analysis that cannot finish (an endless compile-time loop) still answers in time.
    c.change(&u, 2, &format!("{}spin :: () -> i64 {{ while true {{}} return 0; }}\nS :: #run spin();\n", broken));
    assert!(!c.diagnostics(&u).is_empty());
    assert_eq!(hover_text(&mut c, &u, find(&broken, 8, "total", 0)), "```sx\ntotal: i64\n```\n\nlocal");
    c.finish();
    let _ = std::fs::remove_dir_all(&dir);
}
