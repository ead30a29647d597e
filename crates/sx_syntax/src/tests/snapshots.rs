//! Data-driven parser tests: each renders the tree of a small program and compares it with an
//! inline expectation (`UPDATE_EXPECT=1 cargo test -p sx_syntax` rewrites them).

use super::{block, body, first_err, parse_ok, stmt, sx};
use crate::ast::*;
use expect_test::{expect, Expect};

/// Renders one item, with the kinds the other tests do not spell out in full.
fn item(i: &Item) -> String {
    let items = |v: &[Item]| v.iter().map(item).collect::<Vec<_>>().join(" ");
    let private = if i.private { "private " } else { "" };
    let kind = match &i.kind {
        ItemKind::Const { name, ty, value } => {
            format!("(const {}{} {})", name.name, ty.as_ref().map(|t| format!(":{}", sx(t))).unwrap_or_default(), sx(value))
        }
        ItemKind::Var { names, ty, value, undef } => format!(
            "(var {}{}{}{})",
            names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(","),
            ty.as_ref().map(|t| format!(":{}", sx(t))).unwrap_or_default(),
            value.as_ref().map(|v| format!(" {}", sx(v))).unwrap_or_default(),
            if *undef { " ---" } else { "" }
        ),
        ItemKind::Import { alias, path, .. } => match alias {
            Some(a) => format!("(import {} {path:?})", a.name),
            None => format!("(import {path:?})"),
        },
        ItemKind::Run(e) => format!("(#run {})", sx(e)),
        ItemKind::Insert(e) => format!("(#insert {})", sx(e)),
        ItemKind::Impl(d) => format!(
            "(impl {}{} {})",
            sx(&d.protocol),
            d.target.as_ref().map(|t| format!(" for {}", sx(t))).unwrap_or_default(),
            items(&d.items)
        ),
        ItemKind::ContextExtend { name, ty, default } => {
            format!("(context_extend {}:{}{})", name.name, sx(ty), default.as_ref().map(|d| format!(" = {}", sx(d))).unwrap_or_default())
        }
        ItemKind::InlineIf { cond, then, else_ } => format!("(inline-if {} [{}] else [{}])", sx(cond), items(then), items(else_)),
        ItemKind::InlineMatch { subject, arms, else_ } => {
            let arms: Vec<String> = arms
                .iter()
                .map(|a| format!("(case {} [{}])", a.patterns.iter().map(sx).collect::<Vec<_>>().join(","), items(&a.items)))
                .collect();
            let else_ = else_.as_ref().map(|v| format!(" (else [{}])", items(v))).unwrap_or_default();
            format!("(inline-match {} {}{})", sx(subject), arms.join(" "), else_)
        }
        ItemKind::ExternVar { name, ty, lib, sym } => format!(
            "(extern-var {}:{}{}{})",
            name.name,
            sx(ty),
            lib.as_ref().map(|l| format!(" lib={}", l.name)).unwrap_or_default(),
            sym.as_ref().map(|s| format!(" sym={s:?}")).unwrap_or_default()
        ),
        ItemKind::Directive(e) => directive(e),
        ItemKind::CImport { alias, unit } => {
            let entries: Vec<String> =
                unit.entries.iter().map(|e| format!("({:?}{} {:?})", e.kind, if e.angled { " <>" } else { "" }, e.value)).collect();
            format!("(import-c{} {})", alias.as_ref().map(|a| format!(" {}", a.name)).unwrap_or_default(), entries.join(" "))
        }
    };
    format!("{private}{kind}")
}

/// Renders a directive expression with its arguments, inner directive, modifiers and body.
fn directive(e: &Expr) -> String {
    let ExprKind::Directive(d) = &e.kind else { return sx(e) };
    let args = d.args.as_ref().map(|a| format!("({})", a.iter().map(|a| sx(&a.value)).collect::<Vec<_>>().join(", "))).unwrap_or_default();
    let inner = d.inner.as_ref().map(|i| format!(" {}", directive(i))).unwrap_or_default();
    let modifiers: String = d.modifiers.iter().map(|m| format!(" {}", m.name)).collect();
    let body = d.body.as_ref().map(|b| format!(" {}", block(b))).unwrap_or_default();
    format!("(#{}{args}{inner}{modifiers}{body})", d.name.name)
}

/// Parses `src` (which must have no diagnostics) and compares its items, one a line.
fn check_items(src: &str, want: Expect) {
    let f = parse_ok(src);
    want.assert_eq(&f.items.iter().map(item).collect::<Vec<_>>().join("\n"));
}

#[test]
fn inline_if_items() {
    check_items(
        "inline if OS == .linux { A :: 1; B :: 2; } else if OS == .macos { A :: 3; } else { A :: 4; }\n\
         inline if DEBUG { log :: () {} }\n",
        expect![[r#"
            (inline-if (Eq OS .linux) [(const A 1) (const B 2)] else [(inline-if (Eq OS .macos) [(const A 3)] else [(const A 4)])])
            (inline-if DEBUG [(const log (fn () {}))] else [])"#]],
    );
}

#[test]
fn inline_match_items() {
    check_items(
        "inline if ARCH == { case .x86_64, .i386: W :: 8; V :: 1; case .aarch64: W :: 16; else: W :: 0; }\n\
         inline if N == { case 1: one :: 1; else => none :: 0; }\n",
        expect![[r#"
            (inline-match ARCH (case .x86_64,.i386 [(const W 8) (const V 1)]) (case .aarch64 [(const W 16)]) (else [(const W 0)]))
            (inline-match N (case 1 [(const one 1)]) (else [(const none 0)]))"#]],
    );
}

#[test]
fn extern_vars_and_item_directives() {
    check_items(
        "errno : i32 extern libc \"__errno\";\nenv : [*]cstring extern;\n#insert make_decls();\n\
         #library \"m\";\n#foreign_block(\"x\") extern { y := 1; }\nprivate #inline_all;\n",
        expect![[r#"
            (extern-var errno:i32 lib=libc sym="__errno")
            (extern-var env:[*]cstring)
            (#insert (call make_decls ))
            (#library "m")
            (#foreign_block("x") extern {(let y 1)})
            private (#inline_all)"#]],
    );
}

#[test]
fn directive_expressions() {
    let srcs = [
        "#caller_location",
        "#library \"c\"",
        "#type i64",
        "#outer #inner(1, 2) export",
        "#framework \"Foundation\"",
        "#cb() extern { go(); }",
    ];
    let rendered = srcs.map(|src| {
        let f = parse_ok(&format!("x :: {src};"));
        match &f.items[0].kind {
            ItemKind::Const { value, .. } => directive(value),
            _ => item(&f.items[0]),
        }
    });
    expect![[r##"
        #caller_location
        (#library "c")
        (#type(i64))
        (#outer (#inner(1, 2) export))
        (#framework("Foundation"))
        (#cb() extern {(call go )})"##]]
    .assert_eq(&rendered.join("\n"));
}

#[test]
fn onfail_bindings_and_deferred_blocks() {
    expect!["{(onfail (err) {(call report err)}) (onfail (call cleanup )) (defer {(call a ) (call b )}) (defer x)}"]
        .assert_eq(&body("onfail (err) { report(err); } onfail cleanup(); defer { a(); b(); } defer (x);"));
}

#[test]
fn enum_parameters_and_impl_targets() {
    check_items(
        "Opt :: enum ($T: Type) u8 { none; some: T; }\nimpl Into(string) for Opt(i64) { convert :: (self: *Opt(i64)) -> string => \"\"; }\n",
        expect![[r#"
            (const Opt (enum none some))
            (impl (call Into string) for (call Opt i64) (const convert (fn (self:(* (call Opt i64))) -> string => "")))"#]],
    );
    let f = parse_ok("Opt :: enum ($T: Type) u8 { none; some: T; }");
    let ItemKind::Const { value: Expr { kind: ExprKind::Enum(d), .. }, .. } = &f.items[0].kind else { panic!("not an enum") };
    expect![[r#"params=1 backing=u8 payloads=[None, Some("T")]"#]].assert_eq(&format!(
        "params={} backing={} payloads={:?}",
        d.params.as_ref().map_or(0, Vec::len),
        d.backing.as_ref().map(sx).unwrap_or_default(),
        d.variants.iter().map(|v| v.payload.as_ref().map(sx)).collect::<Vec<_>>()
    ));
}

#[test]
fn declaration_mistakes_are_diagnosed() {
    let errors = ["a, b :: 1;", "x : i32 : ;", "f :: () { case 1: x(); }", "inline if X { y :: 1; } else z :: 2;", "impl P for S;"];
    expect![[r#"
        a constant declaration binds exactly one name
        expected an expression, found ';'
        expected an expression, found keyword 'case'
        expected '{', found 'z'
        expected '{', found ';'"#]]
    .assert_eq(&errors.map(first_err).join("\n"));
}

#[test]
fn statement_level_declarations() {
    let f = parse_ok("f :: () { K :: 4; g : i64 = ---; ext : i32 extern; }");
    let ItemKind::Const { value: Expr { kind: ExprKind::Fn(func), .. }, .. } = &f.items[0].kind else { panic!("not a fn") };
    let Some(Body::Block(b)) = &func.body else { panic!("no block body") };
    let rendered: Vec<String> = b
        .stmts
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Item(i) => item(i),
            _ => stmt(s),
        })
        .collect();
    expect![[r#"
        (const K 4)
        (let g:i64 ---)
        (extern-var ext:i32)"#]]
    .assert_eq(&rendered.join("\n"));
}

#[test]
fn c_import_units() {
    check_items(
        r#"
#import c { #include "a.h"; #source "a.c"; };
cu :: #import c {
    #include <stdio.h>;
    #include "<zlib.h>";
    #define "BASE=42";
    #flags "-O2 -Wall";
}
private p :: #import c { #source "p.c"; };
#import "modules/std.sx";
"#,
        expect![[r#"
            (import-c (Include "a.h") (Source "a.c"))
            (import-c cu (Include <> "stdio.h") (Include <> "zlib.h") (Define "BASE=42") (Flags "-O2 -Wall"))
            private (import-c p (Source "p.c"))
            (import "modules/std.sx")"#]],
    );
}

#[test]
fn c_import_mistakes_are_located_and_recovered() {
    let src = "cu :: #import c {\n    #include a.h;\n    #sauce \"x.c\";\n    #source \"ok.c\";\n    #define \"\";\n};\nafter :: 1;\n";
    let (f, d) = crate::parse_file(sx_diag::FileId(0), src);
    let shown: Vec<String> = d.iter().map(|d| format!("{}: {}", d.span.map(|s| s.lo).unwrap_or(0), d.message)).collect();
    expect![[r#"
        31: expected a header path string, found 'a'
        40: unknown entry '#sauce' in the '#import c' block; expected '#include', '#source', '#define' or '#flags'
        86: the path or definition must not be empty"#]]
    .assert_eq(&shown.join("\n"));
    expect![[r#"
        (import-c cu (Source "ok.c"))
        (const after 1)"#]]
    .assert_eq(&f.items.iter().map(item).collect::<Vec<_>>().join("\n"));
    for bad in ["x := #import c { #source \"a.c\"; };", "#import c { #include \"a.h\";", "#import c { #include <> ; }"] {
        assert!(!first_err(bad).is_empty(), "no error for {bad:?}");
    }
}
