//! C header translation for `#import c`: the headers of a C unit, preprocessed by the system
//! C compiler (`cc -E -dD`) and parsed with lang-c (GNU C11), become sx source text that sema
//! parses as a synthetic file.
//!
//! What is translated: functions (C `...` as `..args: []any`), `extern` variables, structs and
//! unions with C's exact layout (tagged ones as `struct_T` / `union_T`, incomplete or
//! unreproducible ones as opaque `struct {}`), enums as their integer type plus one typed
//! constant per enumerator, typedefs as aliases, and object-like macros whose value is an
//! integer, float or string constant. Names starting with `__` are not emitted unless
//! something emitted needs them. Everything left out is listed in [`Translation::skipped`].
//!
//! Entry points: [`translate`] (runs the C compiler, uses the cache) and
//! [`translate_preprocessed`] (text already preprocessed; for tests and fuzzing).

mod cache;
mod cc;
mod cexpr;
mod collect;
mod emit;
mod macros;
mod model;
mod names;
mod pptext;
mod specs;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

/// One `#import c { … }` unit: what to include and how to preprocess it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CUnit {
    /// The headers, in `#include` order.
    pub headers: Vec<HeaderRef>,
    /// `-D` definitions: `"NAME=VALUE"` or `"NAME"`.
    pub defines: Vec<String>,
    /// Further compiler flags (`-O2`, `-std=c11`, …).
    pub flags: Vec<String>,
    /// `-I` directories.
    pub include_dirs: Vec<PathBuf>,
}

/// A header of a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderRef {
    /// A resolved file, included by its path.
    Path(PathBuf),
    /// `<stdio.h>`, or a quoted name found nowhere: passed to the compiler as written
    /// (a bare name is included as `<name>`).
    System(String),
}

/// How to translate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The C compiler (`"cc"`).
    pub cc: String,
    /// Where to keep translations between runs; `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Pointer width of the target in bits (64: LP64; 32: ILP32).
    pub target_pointer_width: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { cc: "cc".into(), cache_dir: None, target_pointer_width: 64 }
    }
}

/// The result of translating a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The sx declarations.
    pub sx_source: String,
    /// What was left out, and why, in source order.
    pub skipped: Vec<Skipped>,
    /// Every header file read (for cache keys of the caller), sorted.
    pub deps: Vec<PathBuf>,
}

/// A C declaration that is not (fully) in the translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The C name (`struct_T` for a tagged struct).
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// Why a unit could not be translated at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CImportError {
    /// The C compiler's own diagnostics when it failed (plus the directories searched when a
    /// header is missing), or what could not be parsed.
    pub message: String,
}

impl std::fmt::Display for CImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CImportError {}

/// How many declarations lang-c cannot parse are left out before the unit is an error.
const MAX_UNPARSED: usize = 25;

/// Translates the headers of `unit` to sx source text.
pub fn translate(unit: &CUnit, opts: &Options) -> Result<Translation, CImportError> {
    let version = cc::version(&opts.cc)?;
    let cache = opts.cache_dir.as_deref().map(cache::Cache::new);
    let unit_key = unit_key(unit, opts, &version);
    if let Some(c) = &cache {
        if let Some(t) = warm_hit(c, &unit_key) {
            return Ok(t);
        }
    }
    let pp = cc::preprocess(&opts.cc, unit)?;
    let mut k = cache::KeyHasher::new();
    k.part(pp.as_bytes());
    k.part(version.as_bytes());
    k.part(opts.target_pointer_width.to_string().as_bytes());
    for d in &unit.defines {
        k.part(d.as_bytes());
    }
    k.part(b"flags");
    for f in &unit.flags {
        k.part(f.as_bytes());
    }
    let result_key = k.finish();
    let t = match cache.as_ref().and_then(|c| c.load_translation(&result_key)) {
        Some(t) => t,
        None => {
            let t = translate_text(&pp, opts, &header_comment(unit), MAX_UNPARSED)?;
            if let Some(c) = &cache {
                c.store_translation(&result_key, &t);
            }
            t
        }
    };
    if let Some(c) = &cache {
        let deps = t.deps.iter().filter_map(|p| cache::file_hash(p).map(|h| (h, p.clone()))).collect::<Vec<_>>();
        if deps.len() == t.deps.len() {
            c.store_manifest(&unit_key, &cache::Manifest { result_key, deps });
        }
    }
    Ok(t)
}

/// The key of a unit description (everything that decides the preprocessor's output except
/// the contents of the headers).
fn unit_key(unit: &CUnit, opts: &Options, version: &str) -> String {
    let mut k = cache::KeyHasher::new();
    k.part(b"unit");
    k.part(opts.cc.as_bytes());
    k.part(version.as_bytes());
    k.part(opts.target_pointer_width.to_string().as_bytes());
    k.part(cc::include_text(unit).as_bytes());
    for group in [&unit.defines, &unit.flags] {
        k.part(b"group");
        for s in group {
            k.part(s.as_bytes());
        }
    }
    k.part(b"dirs");
    for d in &unit.include_dirs {
        k.part(d.to_string_lossy().as_bytes());
    }
    for var in ["CPATH", "C_INCLUDE_PATH", "GCC_EXEC_PREFIX", "COMPILER_PATH"] {
        k.part(std::env::var(var).unwrap_or_default().as_bytes());
    }
    if let Ok(cwd) = std::env::current_dir() {
        k.part(cwd.to_string_lossy().as_bytes());
    }
    k.finish()
}

/// A cached translation whose headers are all unchanged since it was made.
fn warm_hit(c: &cache::Cache, unit_key: &str) -> Option<Translation> {
    let m = c.load_manifest(unit_key)?;
    for (hash, path) in &m.deps {
        if cache::file_hash(path).as_deref() != Some(hash.as_str()) {
            return None;
        }
    }
    c.load_translation(&m.result_key)
}

fn header_comment(unit: &CUnit) -> String {
    let names: Vec<String> = unit
        .headers
        .iter()
        .map(|h| match h {
            HeaderRef::Path(p) => p.display().to_string(),
            HeaderRef::System(s) => s.clone(),
        })
        .collect();
    format!("// C declarations translated by sx_cimport from: {}", names.join(", ").replace('\n', " "))
}

/// Translates text the C preprocessor already produced (`cc -E -dD` output, or any C without
/// directives). [`translate`] without the compiler and the cache; for tests and fuzzing.
pub fn translate_preprocessed(text: &str, opts: &Options) -> Result<Translation, CImportError> {
    translate_text(text, opts, "// C declarations translated by sx_cimport", MAX_UNPARSED)
}

fn translate_text(raw: &str, opts: &Options, header: &str, max_unparsed: usize) -> Result<Translation, CImportError> {
    translate_text_full(raw, opts, header, max_unparsed).map(|(t, _, _)| t)
}

/// [`translate_text`] plus the model and the records emitted with their fields.
fn translate_text_full(
    raw: &str,
    opts: &Options,
    header: &str,
    max_unparsed: usize,
) -> Result<(Translation, model::Model, Vec<model::RecordId>), CImportError> {
    let pointer_bytes = if opts.target_pointer_width == 32 { 4 } else { 8 };
    let mut prepared = pptext::prepare(raw);
    let mut skipped = Vec::new();
    let unit = parse_with_recovery(&mut prepared, &mut skipped, max_unparsed)?;
    let markers = pptext::Markers::new(&prepared.text);
    let mut collector = collect::Collector::new(pointer_bytes, prepared.prelude_end);
    collector.model.macros = pptext::macros(&prepared.text, &markers);
    collector.unit(&unit);
    let emitted = emit::emit(&collector.model, &emit::EmitOptions { extern_vars: true, header: header.to_string() });
    skipped.extend(emitted.skipped);
    let deps = markers.files().into_iter().map(PathBuf::from).collect();
    Ok((Translation { sx_source: emitted.text, skipped, deps }, collector.model, emitted.records))
}

/// Deepest bracket nesting lang-c is asked to parse (its parser recurses per level).
const MAX_NESTING: usize = 256;

/// Parses the prepared text; a declaration lang-c rejects is blanked out and reported, up to
/// `max_unparsed` of them.
fn parse_with_recovery(
    prepared: &mut pptext::Prepared,
    skipped: &mut Vec<Skipped>,
    max_unparsed: usize,
) -> Result<lang_c::ast::TranslationUnit, CImportError> {
    let mut unparsed = 0;
    loop {
        let (offset, message) = match parse_guarded(&prepared.text)? {
            Ok(unit) => return Ok(unit),
            Err(e) => e,
        };
        let markers = pptext::Markers::new(&prepared.text);
        let location = markers.location(&prepared.text, prepared.prelude_end, offset);
        let fail = |why: &str| CImportError { message: format!("cannot parse the C declarations at {location}: {message}{why}") };
        if offset < prepared.prelude_end || unparsed >= max_unparsed {
            return Err(fail(""));
        }
        let (lo, hi) = pptext::declaration_bounds(&prepared.text, prepared.prelude_end, offset);
        let chunk = prepared.text.get(lo..hi).unwrap_or("");
        if chunk.lines().all(|l| l.starts_with('#') || l.trim().is_empty()) {
            return Err(fail(" (unbalanced brackets?)"));
        }
        skipped.push(Skipped {
            name: format!("<C declaration at {location}>"),
            reason: format!("the C parser (lang-c) cannot read it: {}", message.replace(['\n', '\t'], " ")),
        });
        pptext::blank(&mut prepared.text, (lo, hi));
        unparsed += 1;
    }
}

/// One lang-c parse on a thread with a large stack, behind `catch_unwind`: the unit, or the
/// syntax error's offset and message; an error if the input nests too deeply or lang-c
/// panics.
type ParseOutcome = Result<lang_c::ast::TranslationUnit, (usize, String)>;

fn parse_guarded(text: &str) -> Result<ParseOutcome, CImportError> {
    if nesting_depth(text) > MAX_NESTING {
        return Err(CImportError { message: format!("the C declarations nest brackets more than {MAX_NESTING} deep") });
    }
    let config = lang_c::driver::Config::with_gcc();
    let run = || {
        std::panic::catch_unwind(|| match lang_c::driver::parse_preprocessed(&config, text.to_string()) {
            Ok(p) => Ok(p.unit),
            Err(e) => {
                let mut expected: Vec<&str> = e.expected.iter().copied().collect();
                expected.sort_unstable();
                Err((e.offset, format!("unexpected input, expected one of {}", expected.join(" "))))
            }
        })
    };
    let result = std::thread::scope(|s| {
        std::thread::Builder::new().name("sx-cimport-parse".into()).stack_size(256 << 20).spawn_scoped(s, run).ok().map(|h| h.join())
    });
    match result {
        Some(Ok(Ok(outcome))) => Ok(outcome),
        None => match run() {
            Ok(outcome) => Ok(outcome),
            Err(_) => Err(CImportError { message: "the C parser (lang-c) failed on these declarations".into() }),
        },
        Some(Ok(Err(_))) | Some(Err(_)) => Err(CImportError { message: "the C parser (lang-c) failed on these declarations".into() }),
    }
}

/// The deepest nesting of `(`, `[` and `{` (ignoring literals only roughly: an upper bound).
fn nesting_depth(text: &str) -> usize {
    let mut depth: usize = 0;
    let mut max = 0;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A human-readable list of what `t` left out (for `--c-import-report`).
pub fn report(t: &Translation) -> String {
    if t.skipped.is_empty() {
        return "every C declaration was translated\n".to_string();
    }
    let mut out = format!("{} C declaration(s) left out of the translation:\n", t.skipped.len());
    let width = t.skipped.iter().map(|s| s.name.len()).max().unwrap_or(0).min(40);
    for s in &t.skipped {
        out.push_str(&format!("  {:width$}  {}\n", s.name, s.reason, width = width));
    }
    out
}
