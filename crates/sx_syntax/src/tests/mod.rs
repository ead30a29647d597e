//! Unit tests: a compact S-expression rendering of the tree makes shapes easy to assert.

use crate::ast::*;
use crate::parse_file;
use sx_diag::FileId;

mod snapshots;

fn sx(e: &Expr) -> String {
    use ExprKind as K;
    match &e.kind {
        K::Ident(i) => i.name.clone(),
        K::Int(v) => v.to_string(),
        K::Float(v) => format!("{:?}", v),
        K::Char(c) => format!("'{}", c),
        K::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        K::Bool(b) => b.to_string(),
        K::Null => "null".into(),
        K::Undef => "---".into(),
        K::Poly { name, constraint } => match constraint {
            Some(c) => format!("${}/{}", name.name, sx(c)),
            None => format!("${}", name.name),
        },
        K::EnumLit(i) => format!(".{}", i.name),
        K::StructLit { ty, fields } => {
            let fs: Vec<String> = fields
                .iter()
                .map(|f| match &f.name {
                    Some(n) => format!("{}={}", n.name, sx(&f.value)),
                    None => sx(&f.value),
                })
                .collect();
            format!("(lit {} {})", ty.as_ref().map(|t| sx(t)).unwrap_or("_".into()), fs.join(" "))
        }
        K::ArrayLit { ty, elems } => {
            format!("(arr {} {})", ty.as_ref().map(|t| sx(t)).unwrap_or("_".into()), elems.iter().map(sx).collect::<Vec<_>>().join(" "))
        }
        K::Unary { op, expr } => format!("({:?} {})", op, sx(expr)),
        K::Binary { op, lhs, rhs } => format!("({:?} {} {})", op, sx(lhs), sx(rhs)),
        K::Chain { operands, ops } => {
            let mut s = format!("(chain {}", sx(&operands[0]));
            for (o, e) in ops.iter().zip(operands.iter().skip(1)) {
                s += &format!(" {:?} {}", o, sx(e));
            }
            s + ")"
        }
        K::Range { lo, hi, lo_exclusive, hi_inclusive } => format!(
            "(range {}{}{}{})",
            lo.as_ref().map(|t| sx(t)).unwrap_or("_".into()),
            if *lo_exclusive { " <" } else { "" },
            if *hi_inclusive { " =" } else { "" },
            hi.as_ref().map(|t| format!(" {}", sx(t))).unwrap_or_default()
        ),
        K::AddrOf(e) => format!("(* {})", sx(e)),
        K::Deref(e) => format!("(deref {})", sx(e)),
        K::AutoCast(e) => format!("(xx {})", sx(e)),
        K::Try(e) => format!("(try {})", sx(e)),
        K::Cast { expr, ty } => format!("(cast {} {})", sx(expr), sx(ty)),
        K::Unwrap(e) => format!("(unwrap {})", sx(e)),
        K::Call { callee, args, trailing_block } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| {
                    let v = if a.spread { format!("..{}", sx(&a.value)) } else { sx(&a.value) };
                    match &a.name {
                        Some(n) => format!("{}={}", n.name, v),
                        None => v,
                    }
                })
                .collect();
            format!("(call{} {} {})", if *trailing_block { "+tb" } else { "" }, sx(callee), a.join(" "))
        }
        K::Field { base, name } => format!("(. {} {})", sx(base), name.name),
        K::OptField { base, name } => format!("(?. {} {})", sx(base), name.name),
        K::Index { base, index } => format!("(idx {} {})", sx(base), sx(index)),
        K::Slice { base, lo, hi, lo_exclusive, hi_inclusive } => format!(
            "(slice {} {}{}{} {})",
            sx(base),
            lo.as_ref().map(|t| sx(t)).unwrap_or("_".into()),
            if *lo_exclusive { "<" } else { "" },
            if *hi_inclusive { "=" } else { "" },
            hi.as_ref().map(|t| sx(t)).unwrap_or("_".into())
        ),
        K::If { cond, then, else_, inline } => format!(
            "({}if {} {}{})",
            if *inline { "inline-" } else { "" },
            match &**cond {
                Cond::Expr(e) => sx(e),
                Cond::Bind { name, value } => format!("{}:={}", name.name, sx(value)),
            },
            sx(then),
            else_.as_ref().map(|e| format!(" {}", sx(e))).unwrap_or_default()
        ),
        K::Match { subject, arms, else_, .. } => {
            let mut s = format!("(match {}", sx(subject));
            for a in arms {
                s += &format!(
                    " (case {}{} {})",
                    a.patterns.iter().map(sx).collect::<Vec<_>>().join(","),
                    a.capture.as_ref().map(|c| format!(" ({})", c.name.name)).unwrap_or_default(),
                    block(&a.body)
                );
            }
            if let Some(b) = else_ {
                s += &format!(" (else {})", block(b));
            }
            s + ")"
        }
        K::Block(b) => block(b),
        K::Fn(f) => {
            let ps: Vec<String> = f
                .params
                .iter()
                .map(|p| {
                    format!(
                        "{}{}{}{}{}",
                        if p.variadic { ".." } else { "" },
                        if p.comptime { "$" } else { "" },
                        p.name.as_ref().map(|n| n.name.clone()).unwrap_or("_".into()),
                        p.ty.as_ref().map(|t| format!(":{}", sx(t))).unwrap_or_default(),
                        p.default.as_ref().map(|t| format!("={}", sx(t))).unwrap_or_default()
                    )
                })
                .collect();
            let ret = f.ret.as_ref().map(ret).unwrap_or_default();
            let body = match &f.body {
                Some(Body::Block(b)) => format!(" {}", block(b)),
                Some(Body::Expr(e)) => format!(" => {}", sx(e)),
                None => String::new(),
            };
            format!("(fn ({}){}{}{})", ps.join(" "), ret, if f.attrs.ufcs { " ufcs" } else { "" }, body)
        }
        K::ClosureType { params, ret: r } => {
            format!(
                "(Closure {}{})",
                params.iter().map(|a| sx(&a.value)).collect::<Vec<_>>().join(" "),
                r.as_ref().map(|r| ret(r)).unwrap_or_default()
            )
        }
        K::Struct(d) => format!("(struct {})", d.members.len()),
        K::Union(d) => format!("(union {})", d.members.len()),
        K::Protocol(d) => format!("(protocol {})", d.members.len()),
        K::Enum(d) => format!("(enum {})", d.variants.iter().map(|v| v.name.name.clone()).collect::<Vec<_>>().join(" ")),
        K::ErrorSet(v) => format!("(error {})", v.iter().map(|v| v.name.clone()).collect::<Vec<_>>().join(" ")),
        K::ErrorValue(i) => format!("error.{}", i.name),
        K::SliceType { elem, sentinel } => match sentinel {
            Some(s) => format!("[:{}]{}", sx(s), sx(elem)),
            None => format!("[]{}", sx(elem)),
        },
        K::ManyPtrType(e) => format!("[*]{}", sx(e)),
        K::ArrayType { len, elem } => format!("[{}]{}", sx(len), sx(elem)),
        K::OptionalType(e) => format!("?{}", sx(e)),
        K::Catch { expr, clause } => format!(
            "(catch {}{} {})",
            sx(expr),
            clause.binding.as_ref().map(|b| format!(" ({})", b.name)).unwrap_or_default(),
            sx(&clause.body)
        ),
        K::Run(e) => format!("(#run {})", sx(e)),
        K::CallerLocation => "#caller_location".into(),
        K::Import(p) => format!("(#import {:?})", p),
        K::Library(p) => format!("(#library {:?})", p),
        K::UfcsAlias(e) => format!("(ufcs {})", sx(e)),
        K::Directive(d) => format!("(#{})", d.name.name),
        K::CastWithAlloc { expr, ty, alloc } => format!("(cast {} {} {})", sx(expr), sx(ty), sx(alloc)),
        K::OptCast { expr, ty } => format!("(?cast {} {})", sx(expr), sx(ty)),
        K::InitBlock { expr, body } => format!("(init {} {})", sx(expr), block(body)),
        K::Asm(a) => {
            let ops: Vec<String> = a
                .operands
                .iter()
                .map(|o| {
                    let name = o.name.as_ref().map(|n| format!("[{}]", n.name)).unwrap_or_default();
                    let role = match &o.role {
                        AsmRole::Value(t) => format!("-> {}", sx(t)),
                        AsmRole::Place(p) => format!("-> place {}", sx(p)),
                        AsmRole::Input(e) => format!("= {}", sx(e)),
                    };
                    format!(" {}{:?} {}", name, o.constraint, role)
                })
                .collect();
            let clobbers: Vec<&str> = a.clobbers.iter().map(|c| c.name.as_str()).collect();
            format!(
                "(asm{} {}{} clobbers({}))",
                if a.volatile { " volatile" } else { "" },
                sx(&a.template),
                ops.concat(),
                clobbers.join(" ")
            )
        }
        K::Error => "<error>".into(),
    }
}

fn ret(r: &RetSpec) -> String {
    let vs: Vec<String> = r
        .values
        .iter()
        .map(|v| match &v.name {
            Some(n) => format!("{}:{}", n.name, sx(&v.ty)),
            None => sx(&v.ty),
        })
        .collect();
    let err = match &r.error {
        Some(ErrSpec { set: Some(s), .. }) => format!(" !{}", sx(s)),
        Some(ErrSpec { set: None, .. }) => " !".into(),
        None => String::new(),
    };
    if r.paren {
        format!(" -> ({}{})", vs.join(" "), err)
    } else if vs.is_empty() {
        format!(" ->{}", err)
    } else {
        format!(" -> {}{}", vs.join(" "), err)
    }
}

fn stmt(s: &Stmt) -> String {
    use StmtKind as S;
    match &s.kind {
        S::Let { names, ty, value, undef } => format!(
            "(let {}{}{}{})",
            names.iter().map(|n| n.name.clone()).collect::<Vec<_>>().join(","),
            ty.as_ref().map(|t| format!(":{}", sx(t))).unwrap_or_default(),
            value.as_ref().map(|v| format!(" {}", sx(v))).unwrap_or_default(),
            if *undef { " ---" } else { "" }
        ),
        S::Const { name, value, .. } => format!("(const {} {})", name.name, sx(value)),
        S::Assign { op, lhs, rhs } => format!("({:?}= {} {})", op, sx(lhs), sx(rhs)),
        S::MultiAssign { lhs, rhs } => {
            format!("(massign {} {})", lhs.iter().map(sx).collect::<Vec<_>>().join(","), rhs.iter().map(sx).collect::<Vec<_>>().join(","))
        }
        S::Expr(e) => sx(e),
        S::Return(v) => format!(
            "(return{})",
            v.iter()
                .map(|r| match &r.name {
                    Some(n) => format!(" {}={}", n.name, sx(&r.value)),
                    None => format!(" {}", sx(&r.value)),
                })
                .collect::<String>()
        ),
        S::Break => "(break)".into(),
        S::Continue => "(continue)".into(),
        S::Defer(s) => format!("(defer {})", stmt(s)),
        S::OnFail { binding, body } => match binding {
            Some(b) => format!("(onfail ({}) {})", b.name, stmt(body)),
            None => format!("(onfail {})", stmt(body)),
        },
        S::Raise(e) => format!("(raise {})", sx(e)),
        S::While { cond, body } => format!(
            "(while {} {})",
            match cond {
                Cond::Expr(e) => sx(e),
                Cond::Bind { name, value } => format!("{}:={}", name.name, sx(value)),
            },
            block(body)
        ),
        S::For(f) => format!(
            "({}for {} ({}) {})",
            if f.inline { "inline-" } else { "" },
            f.iters.iter().map(sx).collect::<Vec<_>>().join(","),
            f.captures.iter().map(|c| format!("{}{}", if c.by_ref { "*" } else { "" }, c.name.name)).collect::<Vec<_>>().join(","),
            block(&f.body)
        ),
        S::Block(b) => block(b),
        S::Push { ctx, body } => format!("(push {} {})", sx(ctx), block(body)),
        S::Run(e) => format!("(#run {})", sx(e)),
        S::Insert(e) => format!("(#insert {})", sx(e)),
        S::Item(_) => "(item)".into(),
    }
}

fn block(b: &Block) -> String {
    let mut parts: Vec<String> = b.stmts.iter().map(stmt).collect();
    if let Some(t) = &b.tail {
        parts.push(format!("=>{}", sx(t)));
    }
    format!("{{{}}}", parts.join(" "))
}

fn parse_ok(src: &str) -> File {
    let (f, d) = parse_file(FileId(0), src);
    assert!(d.is_empty(), "unexpected diagnostics for {:?}: {:?}", src, d.iter().map(|d| &d.message).collect::<Vec<_>>());
    f
}

/// Parses `x :: <src>;` and renders the value.
fn e(src: &str) -> String {
    let f = parse_ok(&format!("x :: {};", src));
    match &f.items[0].kind {
        ItemKind::Const { value, .. } => sx(value),
        k => panic!("not a const: {:?}", k),
    }
}

/// Parses `f :: () { <src> }` and renders the body.
fn body(src: &str) -> String {
    let f = parse_ok(&format!("f :: () {{ {} }}", src));
    match &f.items[0].kind {
        ItemKind::Const { value: Expr { kind: ExprKind::Fn(f), .. }, .. } => match &f.body {
            Some(Body::Block(b)) => block(b),
            _ => panic!(),
        },
        k => panic!("not a fn: {:?}", k),
    }
}

fn first_err(src: &str) -> String {
    let (_, d) = parse_file(FileId(0), src);
    d.first().map(|d| d.message.clone()).unwrap_or_default()
}

#[test]
fn precedence() {
    assert_eq!(e("1 + 2 * 3"), "(Add 1 (Mul 2 3))");
    assert_eq!(e("1 - 2 - 3"), "(Sub (Sub 1 2) 3)");
    assert_eq!(e("a << 1 + 2"), "(Shl a (Add 1 2))");
    assert_eq!(e("a & b == c"), "(BitAnd a (Eq b c))");
    assert_eq!(e("a | b ^ c & d"), "(BitOr a (BitXor b (BitAnd c d)))");
    assert_eq!(e("a or b and c"), "(Or a (And b c))");
    assert_eq!(e("a ?? b or c"), "(Coalesce a (Or b c))");
    assert_eq!(e("a |> f(b) ?? c"), "(Pipe a (Coalesce (call f b) c))");
    assert_eq!(e("-a.b"), "(Neg (. a b))");
    assert_eq!(e("-x.(i8)"), "(Neg (cast x i8))");
    assert_eq!(e("!a and b"), "(And (Not a) b)");
    assert_eq!(e("xx a + b"), "(Add (xx a) b)");
    assert_eq!(e("try f() or try g()"), "(Or (try (call f )) (try (call g )))");
    assert_eq!(e("*p.x"), "(* (. p x))");
    assert_eq!(e("p.*.x"), "(. (deref p) x)");
    assert_eq!(e("x! + 1"), "(Add (unwrap x) 1)");
    assert_eq!(e("a?.b"), "(?. a b)");
    assert_eq!(e("t.0.1"), "(. (. t 0) 1)");
    assert_eq!(e("56.(i8)"), "(cast 56 i8)");
    assert_eq!(e("a in t"), "(In a t)");
}

#[test]
fn chained_comparisons() {
    assert_eq!(e("a < b <= c"), "(chain a Lt b Le c)");
    assert_eq!(e("a == b == c"), "(chain a Eq b Eq c)");
    assert_eq!(e("a < b"), "(Lt a b)");
    assert_eq!(e("a + 1 < b and c > d"), "(And (Lt (Add a 1) b) (Gt c d))");
}

#[test]
fn literals() {
    assert_eq!(e("0xFF_FF"), "65535");
    assert_eq!(e("0o755"), "493");
    assert_eq!(e("0B1010"), "10");
    assert_eq!(e("1__000_"), "1000");
    assert_eq!(e("3.14_159"), "3.14159");
    assert_eq!(e("'a'"), "'97");
    assert_eq!(e("'\\n'"), "'10");
    assert_eq!(e("'\\xFF'"), "'255");
    assert_eq!(e("'\\u{1F980}'"), "'129408");
    assert_eq!(e("'\\''"), "'39");
    assert_eq!(e("\"a\\tb\\\"c\\\\\""), "\"a\\tb\\\"c\\\\\"");
    assert_eq!(e("\"line1\nline2\""), "\"line1\\nline2\"");
    assert_eq!(e("true"), "true");
    assert_eq!(e("null"), "null");
    assert_eq!(e("---"), "---");
    assert_eq!(e("`i2"), "i2");
    // non-UTF-8 bytes from \x escapes
    let f = parse_ok("x :: \"\\xe2\\x80\\x94\\xff\";");
    match &f.items[0].kind {
        ItemKind::Const { value: Expr { kind: ExprKind::Str(s), .. }, .. } => assert_eq!(s, &vec![0xe2, 0x80, 0x94, 0xff]),
        _ => panic!(),
    }
}

#[test]
fn heredoc() {
    let f = parse_ok("main :: () {\n    hd := #string END\nraw heredoc\n  END not here\nEND;\n    x := 1;\n}\n");
    let ItemKind::Const { value: Expr { kind: ExprKind::Fn(func), .. }, .. } = &f.items[0].kind else { panic!() };
    let Some(Body::Block(b)) = &func.body else { panic!() };
    let StmtKind::Let { value: Some(v), .. } = &b.stmts[0].kind else { panic!() };
    assert_eq!(sx(v), "\"raw heredoc\\n  END not here\\n\"");
    assert_eq!(b.stmts.len(), 2);
}

#[test]
fn aggregate_literals() {
    assert_eq!(e(".[1, 2, 3,]"), "(arr _ 1 2 3)");
    assert_eq!(e("P.{1, 2}"), "(lit P 1 2)");
    assert_eq!(e("P.{ y = 3, x = 1 }"), "(lit P y=3 x=1)");
    assert_eq!(e(".{ x, y }"), "(lit _ x y)");
    assert_eq!(e("ns.T.{a = 1}"), "(lit (. ns T) a=1)");
    assert_eq!(e(".red"), ".red");
    assert_eq!(e(".circle(1.0)"), "(call .circle 1.0)");
    assert_eq!(e("error.Oops"), "error.Oops");
    assert_eq!(e("S.{ v = 0 } { self.v = 5; }"), "(init (lit S v=0) {(Assign= (. self v) 5)})");
}

#[test]
fn types_as_exprs() {
    assert_eq!(e("[4]i32"), "[4]i32");
    assert_eq!(e("[2][3]u8"), "[2][3]u8");
    assert_eq!(e("[]*T"), "[](* T)");
    assert_eq!(e("[*]u8"), "[*]u8");
    assert_eq!(e("[:0]u8"), "[:0]u8");
    assert_eq!(e("?*T"), "?(* T)");
    assert_eq!(e("*List(T)"), "(* (call List T))");
    assert_eq!(e("Tuple(x: i64, y: bool)"), "(call Tuple x=i64 y=bool)");
    assert_eq!(e("Closure(i64, bool) -> i64"), "(Closure i64 bool -> i64)");
    assert_eq!(e("(i64, bool) -> i64"), "(fn (_:i64 _:bool) -> i64)");
    assert_eq!(e("error { A, B }"), "(error A B)");
}

#[test]
fn functions() {
    assert_eq!(e("(a: i64, b := 2) -> i64 { return a + b; }"), "(fn (a:i64 b=2) -> i64 {(return (Add a b))})");
    assert_eq!(e("(x: i64) -> i64 => x * 2"), "(fn (x:i64) -> i64 => (Mul x 2))");
    assert_eq!(e("($T: Type, ..xs: []T) -> T {}"), "(fn ($T:Type ..xs:[]T) -> T {})");
    assert_eq!(e("(x: $T/Proto, ..$args)"), "(fn (x:$T/Proto ..$args))");
    assert_eq!(e("() -> (i64, bool) {}"), "(fn () -> (i64 bool) {})");
    assert_eq!(e("() -> (q: i64, r: i64) {}"), "(fn () -> (q:i64 r:i64) {})");
    assert_eq!(e("() -> ! {}"), "(fn () -> ! {})");
    assert_eq!(e("() -> (i64, !E) {}"), "(fn () -> (i64 !E) {})");
    assert_eq!(e("ufcs (self: *S) -> i64 => 1"), "(fn (self:(* S)) -> i64 ufcs => 1)");
    assert_eq!(e("ufcs f"), "(ufcs f)");
    assert_eq!(e("(x) => x + 1"), "(fn (x) => (Add x 1))");
    assert_eq!(e("(n: i64) -> (i64) -> i64 { }"), "(fn (n:i64) -> (fn (_:i64) -> i64) {})");
    let f = parse_ok("puts :: (s: [:0]u8) -> i32 extern libc \"puts\";\nlen :: (self: *S) -> i64 #get => 3;\nsz :: ($T: Type) -> i64 intrinsic;\ncb :: (x: i32) -> i32 abi(.c);\n");
    let attrs: Vec<FnAttrs> = f
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Const { value: Expr { kind: ExprKind::Fn(f), .. }, .. } => f.attrs.clone(),
            _ => panic!(),
        })
        .collect();
    assert!(attrs[0].is_extern && attrs[0].extern_lib.as_ref().unwrap().name == "libc" && attrs[0].extern_sym.as_deref() == Some("puts"));
    assert!(attrs[1].get);
    assert!(attrs[2].intrinsic);
    assert!(attrs[3].abi.is_some());
}

#[test]
fn decls() {
    let f = parse_ok(
        "#import \"modules/std.sx\";\nc :: #import \"c.sx\";\nN : i32 : 4;\ng : i64;\nh : [4]u8 = ---;\nprivate k := 3;\n#run main();\nimpl Allocator for Arena { alloc :: (self: *Arena) {} }\n#context_extend depth: i64 = 0;\n",
    );
    let kinds: Vec<String> = f
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Import { alias, path, .. } => format!("import {:?} {}", alias.as_ref().map(|a| a.name.clone()), path),
            ItemKind::Const { name, ty, value } => format!("const {} {:?} {}", name.name, ty.as_ref().map(sx), sx(value)),
            ItemKind::Var { names, ty, value, undef } => {
                format!(
                    "var {} {:?} {:?} {}{}",
                    names[0].name,
                    ty.as_ref().map(sx),
                    value.as_ref().map(sx),
                    undef,
                    if i.private { " private" } else { "" }
                )
            }
            ItemKind::Run(e) => format!("run {}", sx(e)),
            ItemKind::Impl(d) => format!("impl {} {} {}", sx(&d.protocol), sx(d.target.as_ref().unwrap()), d.items.len()),
            ItemKind::ContextExtend { name, .. } => format!("ctx {}", name.name),
            k => format!("{:?}", k),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "import None modules/std.sx",
            "import Some(\"c\") c.sx",
            "const N Some(\"i32\") 4",
            "var g Some(\"i64\") None false",
            "var h Some(\"[4]u8\") None true",
            "var k None Some(\"3\") false private",
            "run (call main )",
            "impl Allocator Arena 1",
            "ctx depth",
        ]
    );
}

#[test]
fn structs_and_enums() {
    let f = parse_ok("S :: struct { a, b: i32; c: u8 = 42; d: T = ---; #using Other; m :: (self: *S) {} K :: 3; }");
    let ItemKind::Const { value: Expr { kind: ExprKind::Struct(d), .. }, .. } = &f.items[0].kind else { panic!() };
    assert_eq!(d.members.len(), 6);
    assert!(matches!(&d.members[0].kind, MemberKind::Field { names, .. } if names.len() == 2));
    assert!(matches!(&d.members[1].kind, MemberKind::Field { default: Some(_), .. }));
    assert!(matches!(&d.members[2].kind, MemberKind::Field { undef: true, default: None, .. }));
    assert!(matches!(&d.members[3].kind, MemberKind::Using(_)));
    assert!(matches!(&d.members[4].kind, MemberKind::Const { value: Expr { kind: ExprKind::Fn(_), .. }, .. }));
    let f = parse_ok("C :: struct ($T: Type) { v: T; }\nE :: enum u8 { a; b :: 3; c; }\nF :: enum flags { r, w }\nM :: enum { text: string; quit; key :: 0x30: i64; }\nU :: union { w: u32; f: f32; }\nP :: protocol #inline #identity { m :: (self: *Self) -> i64; }\n");
    let vals: Vec<&Expr> = f.items.iter().map(|i| if let ItemKind::Const { value, .. } = &i.kind { value } else { panic!() }).collect();
    let ExprKind::Struct(c) = &vals[0].kind else { panic!() };
    assert_eq!(c.params.as_ref().unwrap().len(), 1);
    let ExprKind::Enum(en) = &vals[1].kind else { panic!() };
    assert_eq!(en.backing.as_ref().map(sx).as_deref(), Some("u8"));
    assert_eq!(en.variants.len(), 3);
    assert_eq!(en.variants[1].value.as_ref().map(sx).as_deref(), Some("3"));
    let ExprKind::Enum(fl) = &vals[2].kind else { panic!() };
    assert!(fl.flags && fl.variants.len() == 2);
    let ExprKind::Enum(m) = &vals[3].kind else { panic!() };
    assert_eq!(m.variants[0].payload.as_ref().map(sx).as_deref(), Some("string"));
    assert_eq!(m.variants[2].payload.as_ref().map(sx).as_deref(), Some("i64"));
    assert!(matches!(&vals[4].kind, ExprKind::Union(u) if u.members.len() == 2));
    assert!(matches!(&vals[5].kind, ExprKind::Protocol(p) if p.directives.len() == 2 && p.members.len() == 1));
}

#[test]
fn statements() {
    assert_eq!(body("x := 1; x += 2; a, b := f(); a, b = b, a;"), "{(let x 1) (Add= x 2) (let a,b (call f )) (massign a,b b,a)}");
    assert_eq!(body("if a { b(); } else if c { d(); } else { e(); }"), "{=>(if a {(call b )} (if c {(call d )} {(call e )}))}");
    assert_eq!(body("if done then break; x = 1;"), "{(if done {(break)}) (Assign= x 1)}");
    assert_eq!(body("while v := next() { }"), "{(while v:=(call next ) {})}");
    assert_eq!(body("for 0..10 (i) { }"), "{(for (range 0 10) (i) {})}");
    assert_eq!(body("for xs, 0.. (x, i) { }"), "{(for xs,(range 0) (x,i) {})}");
    assert_eq!(body("for 0<..<5 (i) => f(i);"), "{(for (range 0 < 5) (i) {(call f i)})}");
    assert_eq!(body("for a..=b { }"), "{(for (range a = b) () {})}");
    assert_eq!(body("for xs (*x) { }"), "{(for xs (*x) {})}");
    assert_eq!(body("for make() (v) { }"), "{(for (call make ) (v) {})}");
    assert_eq!(body("inline for 0..3 (i) { }"), "{(inline-for (range 0 3) (i) {})}");
    assert_eq!(body("defer free(p); onfail log(); return 1, 2;"), "{(defer (call free p)) (onfail (call log )) (return 1 2)}");
    assert_eq!(body("return x = 1, y = 2;"), "{(return x=1 y=2)}");
    assert_eq!(body("raise error.Bad;"), "{(raise error.Bad)}");
    assert_eq!(body("push .{ allocator = a } { f(); }"), "{(push (lit _ allocator=a) {(call f )})}");
    assert_eq!(body("{ x := 1; } p.* = 3;"), "{{(let x 1)} (Assign= (deref p) 3)}");
    assert_eq!(body("if c { } *p = 3;"), "{(if c {}) (Assign= (* p) 3)}");
    assert_eq!(
        body("s := xs[1..=3]; t := xs[..]; u := xs[a..];"),
        "{(let s (slice xs 1= 3)) (let t (slice xs _ _)) (let u (slice xs a _))}"
    );
    assert_eq!(body("N :: #run f(); #insert code;"), "{(const N (#run (call f ))) (#insert code)}");
}

#[test]
fn block_values() {
    // a final expression without ';' is the block's value
    let f = parse_ok("main :: () -> i32 {\n    if false then 40 else 42\n}");
    let ItemKind::Const { value: Expr { kind: ExprKind::Fn(func), .. }, .. } = &f.items[0].kind else { panic!() };
    let Some(Body::Block(b)) = &func.body else { panic!() };
    assert_eq!(block(b), "{=>(if false 40 42)}");
    assert_eq!(e("if c { 1 } else { 2 }"), "(if c {=>1} {=>2})");
    assert_eq!(body("x := { y := 1; y + 1 };"), "{(let x {(let y 1) =>(Add y 1)})}");
}

#[test]
fn matches() {
    assert_eq!(
        body("if x == { case 0: a(); case 1, 2: { b(); } case .v: (p) { c(p); } else: d(); }"),
        "{=>(match x (case 0 {=>(call a )}) (case 1,2 {(call b )}) (case .v (p) {(call c p)}) (else {=>(call d )}))}"
    );
    assert_eq!(e("if s == { case .circle: (v) => v; else => 0; }"), "(match s (case .circle (v) {=>v}) (else {=>0}))");
    assert_eq!(e("f() catch (e) { 0 }"), "(catch (call f ) (e) {=>0})");
    assert_eq!(e("f() catch { 0 }"), "(catch (call f ) {=>0})");
    assert_eq!(e("f() catch (e) == { case error.A: 1; else: 2; }"), "(catch (call f ) (e) (match e (case error.A {=>1}) (else {=>2})))");
    assert_eq!(e("v.(P, alloc)"), "(cast v P alloc)");
    assert_eq!(e("a?.(i64)"), "(?cast a i64)");
}

#[test]
fn calls() {
    assert_eq!(e("f(1, name = v, ..xs)"), "(call f 1 name=v ..xs)");
    assert_eq!(e("f(a) { g(); }"), "(call+tb f a (fn () {(call g )}))");
    assert_eq!(e("#run f(1)"), "(#run (call f 1))");
    assert_eq!(e("x.m(1).n"), "(. (call (. x m) 1) n)");
}

#[test]
fn errors_have_spans() {
    assert_eq!(first_err("main :: () {\n    private x := 1;\n}"), "'private' is only allowed on module-scope declarations");
    assert!(first_err("x :: 1 +;").starts_with("expected an expression"));
    assert!(first_err("x :: \"abc").contains("unterminated string"));
    assert!(first_err("x :: 'ab';").contains("exactly one character"));
    // recovery: the second declaration still parses
    let (f, d) = parse_file(FileId(0), "a :: 1 +;\nb :: 2;\n");
    assert_eq!(d.len(), 1);
    assert!(f.items.iter().any(|i| matches!(&i.kind, ItemKind::Const { name, .. } if name.name == "b")));
}

#[test]
fn deep_nesting_is_capped() {
    let deep = format!("x :: {}1{};", "(".repeat(5000), ")".repeat(5000));
    let (_, d) = parse_file(FileId(0), &deep);
    assert!(d.iter().any(|d| d.message.contains("too deep")));
    let deep = format!("f :: () {{ {} }}", "{".repeat(3000));
    let (_, d) = parse_file(FileId(0), &deep);
    assert!(!d.is_empty());
    let deep = format!("x :: {}1;", "-".repeat(3000));
    let (_, d) = parse_file(FileId(0), &deep);
    assert!(!d.is_empty());
}

#[test]
fn node_sizes() {
    println!(
        "Expr {} ExprKind {} Stmt {} Token {} Block {}",
        std::mem::size_of::<Expr>(),
        std::mem::size_of::<ExprKind>(),
        std::mem::size_of::<Stmt>(),
        std::mem::size_of::<crate::lexer::Token>(),
        std::mem::size_of::<Block>()
    );
}

#[test]
fn asm_blocks() {
    assert_eq!(e(r#"asm volatile { "nop" }"#), r#"(asm volatile "nop" clobbers())"#);
    assert_eq!(
        e(r#"asm { "divq %[d]", [q] "={rax}" -> u64, "{rdx}" = 0, [d] "r" = d, clobbers(.cc, .memory), }"#),
        r#"(asm "divq %[d]" [q]"={rax}" -> u64 "{rdx}" = 0 [d]"r" = d clobbers(cc memory))"#
    );
    assert_eq!(
        e(r#"asm volatile { "incq %[v]", [v] "+r" -> *x.f }"#),
        r#"(asm volatile "incq %[v]" [v]"+r" -> place (* (. x f)) clobbers())"#
    );
}
