//! Layouts against the C compiler: every struct and union the translation of the seven system
//! headers declares with its fields is measured three ways — by a C program (`sizeof`,
//! `_Alignof`, `offsetof` of every field path), by the translator's own layout rules (used for
//! `sizeof` in constants), and by the sx compiler on the generated declarations (`size_of`,
//! `align_of`, field addresses). The sx part runs `target/release/sx` when it is built.

use super::headers::{system_unit, HEADERS};
use crate::model::{CType, Model, RecordId, RecordKind};
use crate::{cc, translate_text_full, Options};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One record to measure: its C spelling, sx spelling, and field paths (`a`, `a.b` through
/// named fields of anonymous type, promoted fields of anonymous members).
struct Measured {
    c_name: String,
    sx_name: String,
    paths: Vec<String>,
}

fn field_paths(model: &Model, id: RecordId, prefix: &str, out: &mut Vec<String>, depth: u32) {
    let Some(fields) = &model.records[id].fields else { return };
    for f in fields {
        let anonymous_record = match &f.ty {
            CType::Record(r) => Some(*r).filter(|r| model.record_name(*r).is_none() && depth < 8),
            CType::Void
            | CType::Int(_)
            | CType::Float(_)
            | CType::Pointer(_)
            | CType::Array(..)
            | CType::Function(_)
            | CType::Enum(_)
            | CType::Typedef(_)
            | CType::Unsupported(_) => None,
        };
        match (&f.name, anonymous_record) {
            (Some(n), Some(r)) => {
                out.push(format!("{prefix}{n}"));
                field_paths(model, r, &format!("{prefix}{n}."), out, depth + 1);
            }
            (Some(n), None) => out.push(format!("{prefix}{n}")),
            (None, Some(r)) => field_paths(model, r, prefix, out, depth + 1),
            (None, None) => {}
        }
    }
}

fn c_spelling(model: &Model, id: RecordId) -> Option<String> {
    let r = &model.records[id];
    let kw = match r.kind {
        RecordKind::Struct => "struct",
        RecordKind::Union => "union",
    };
    match (&r.tag, &r.typedef_name) {
        (Some(tag), _) => Some(format!("{kw} {tag}")),
        (None, Some(name)) => Some(name.clone()),
        (None, None) => None,
    }
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-cimport-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `key value…` lines of a program's output.
fn lines_to_map(text: &str) -> BTreeMap<String, String> {
    text.lines().filter_map(|l| l.split_once(' ')).map(|(k, v)| (k.to_string(), v.trim().to_string())).collect()
}

fn c_program(measured: &[Measured]) -> String {
    let mut c = String::from("#include <stdio.h>\n#include <stddef.h>\n");
    for h in HEADERS {
        let _ = writeln!(c, "#include <{h}>");
    }
    c.push_str("int main(void) {\n");
    for m in measured {
        let _ = writeln!(c, "    printf(\"{} %zu %zu\\n\", sizeof({}), _Alignof({}));", m.sx_name, m.c_name, m.c_name);
        for p in &m.paths {
            let _ = writeln!(c, "    printf(\"{}.{} %zu\\n\", offsetof({}, {}));", m.sx_name, p, m.c_name, p);
        }
    }
    c.push_str("    return 0;\n}\n");
    c
}

fn sx_program(measured: &[Measured]) -> String {
    let mut s = String::from("#import \"modules/std.sx\";\n#import \"translated.sx\";\n\n");
    for (i, m) in measured.iter().enumerate() {
        let _ = writeln!(s, "measure_{i} :: () {{");
        let _ = writeln!(s, "    v : {} = ---;", m.sx_name);
        let _ = writeln!(s, "    base : u64 = xx *v;");
        let _ = writeln!(s, "    print(\"{} {{}} {{}}\\n\", size_of({}), align_of({}));", m.sx_name, m.sx_name, m.sx_name);
        for (j, p) in m.paths.iter().enumerate() {
            let _ = writeln!(s, "    o{j} : u64 = xx *v.{p};");
            let _ = writeln!(s, "    print(\"{}.{} {{}}\\n\", o{j} - base);", m.sx_name, p);
        }
        s.push_str("}\n");
    }
    s.push_str("main :: () {\n");
    for i in 0..measured.len() {
        let _ = writeln!(s, "    measure_{i}();");
    }
    s.push_str("}\n");
    s
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(out.status.success(), "{what} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sx_binary() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/sx");
    p.exists().then_some(p)
}

#[test]
fn record_layouts_match_the_c_compiler() {
    let unit = system_unit(HEADERS);
    let pp = cc::preprocess("cc", &unit).unwrap_or_else(|e| panic!("{}", e.message));
    let (t, model, records) =
        translate_text_full(&pp, &Options::default(), "// layout test", 25).unwrap_or_else(|e| panic!("{}", e.message));
    let measured: Vec<Measured> = records
        .iter()
        .filter_map(|id| {
            let c_name = c_spelling(&model, *id)?;
            let sx_name = crate::names::ident(&model.record_name(*id)?);
            let mut paths = Vec::new();
            field_paths(&model, *id, "", &mut paths, 0);
            Some(Measured { c_name, sx_name, paths })
        })
        .collect();
    assert!(measured.len() >= 20, "only {} records to measure", measured.len());

    let dir = scratch_dir("layout");
    std::fs::write(dir.join("layout.c"), c_program(&measured)).expect("write C");
    run(Command::new("cc").arg("-o").arg(dir.join("layout_c")).arg(dir.join("layout.c")), "cc on the layout program");
    let c_out = lines_to_map(&run(&mut Command::new(dir.join("layout_c")), "the C layout program"));

    // The translator's own layout rules (they decide `sizeof` in enum values and macros).
    let mut mismatches = Vec::new();
    for (m, id) in measured.iter().zip(&records) {
        let ours = model.record_layout(*id).map(|l| format!("{} {}", l.size, l.align));
        if ours.as_deref() != c_out.get(&m.sx_name).map(|s| s.as_str()) {
            mismatches.push(format!("{}: translator {:?}, cc {:?}", m.sx_name, ours, c_out.get(&m.sx_name)));
        }
        if let Some(offsets) = model.field_offsets(*id) {
            let named = model.records[*id].fields.iter().flatten().zip(offsets).filter_map(|(f, o)| f.name.clone().map(|n| (n, o)));
            for (name, off) in named {
                let key = format!("{}.{}", m.sx_name, name);
                if c_out.get(&key) != Some(&off.to_string()) {
                    mismatches.push(format!("{key}: translator {off}, cc {:?}", c_out.get(&key)));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "translator layout differs from cc:\n{}", mismatches.join("\n"));

    let fields: usize = measured.iter().map(|m| m.paths.len()).sum();
    let Some(sx) = sx_binary() else {
        eprintln!(
            "skipped the sx half: target/release/sx is not built ({} records, {} fields checked against the translator)",
            measured.len(),
            fields
        );
        return;
    };
    std::fs::write(dir.join("translated.sx"), &t.sx_source).expect("write translation");
    std::fs::write(dir.join("layout.sx"), sx_program(&measured)).expect("write sx");
    let sx_out = lines_to_map(&run(Command::new(sx).arg("run").arg(dir.join("layout.sx")), "sx run on the layout program"));
    let mut mismatches = Vec::new();
    for (key, c_value) in &c_out {
        if sx_out.get(key) != Some(c_value) {
            mismatches.push(format!("{key}: cc {c_value}, sx {:?}", sx_out.get(key)));
        }
    }
    assert!(mismatches.is_empty(), "sx layout differs from cc:\n{}", mismatches.join("\n"));
    eprintln!("layouts: {} records, {} field offsets identical in cc, the translator and sx", measured.len(), fields);
    let _ = std::fs::remove_dir_all(&dir);
}
