//! Prints the sx translation of C headers and what was left out:
//! `cargo run --release -p sx_cimport --example translate -- stdio.h [more.h …] [--report]`.

fn main() {
    let mut unit = sx_cimport::CUnit::default();
    let mut report = false;
    for arg in std::env::args().skip(1) {
        if arg == "--report" {
            report = true;
        } else if let Some(d) = arg.strip_prefix("-D") {
            unit.defines.push(d.to_string());
        } else if let Some(dir) = arg.strip_prefix("-I") {
            unit.include_dirs.push(dir.into());
        } else if std::path::Path::new(&arg).is_file() {
            unit.headers.push(sx_cimport::HeaderRef::Path(std::fs::canonicalize(&arg).unwrap_or_else(|_| arg.clone().into())));
        } else {
            unit.headers.push(sx_cimport::HeaderRef::System(arg));
        }
    }
    match sx_cimport::translate(&unit, &sx_cimport::Options::default()) {
        Ok(t) => {
            if report {
                print!("{}", sx_cimport::report(&t));
            } else {
                print!("{}", t.sx_source);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
