//! `cargo run --release -p sx_syntax --example parse_bench -- FILE...` — parse timing.
fn main() {
    let files: Vec<(String, String)> = std::env::args().skip(1).filter_map(|p| std::fs::read_to_string(&p).ok().map(|s| (p, s))).collect();
    let lines: usize = files.iter().map(|f| f.1.lines().count()).sum();
    for round in 0..3 {
        let t = std::time::Instant::now();
        let mut errs = 0;
        for (i, (_, src)) in files.iter().enumerate() {
            if std::env::var("LEX").is_ok() {
                let (t, d) = sx_syntax::lexer::lex(sx_diag::FileId(0), src);
                errs += d.len() + t.len() * 0;
                continue;
            }
            let (_, d) = if std::env::var("DIRECT").is_ok() {
                sx_syntax::parser::parse(sx_diag::FileId(i as u32), src)
            } else {
                sx_syntax::parse_file(sx_diag::FileId(i as u32), src)
            };
            errs += d.len();
        }
        println!("round {}: {} files, {} lines, {} diags, {:?}", round, files.len(), lines, errs, t.elapsed());
    }
}
#[allow(dead_code)]
fn lex_only() {}
