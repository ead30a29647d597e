//! Compiling the `#source` files of `#import c` units with the system C compiler, cached.
//!
//! An object is reused when nothing it was made from changed: its cache key hashes the
//! source's path and bytes, the unit's defines, flags and include directories, and the C
//! compiler's identity (`cc --version` and `cc -dumpmachine`, asked once per compiler binary);
//! a manifest next to the object lists every header the compile read (from `cc -MD`) with the
//! hash of its bytes, so editing an included header compiles again. Objects of a program are
//! linked into one shared object (`cc -shared`, cached by the objects' bytes) for the JIT and
//! for compile-time calls. Nothing here knows about sema's tables.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bumped when the cache's layout or the compile command changes.
const CACHE_VERSION: &str = "sx-c-cache-1";

/// What one `#source` file is compiled with.
pub(crate) struct CSourceJob<'a> {
    /// The C file (absolute).
    pub source: &'a Path,
    /// `-D` definitions, `NAME=VALUE` or `NAME`.
    pub defines: &'a [String],
    /// Extra flags, already split.
    pub flags: &'a [String],
    /// `-I` directories after the source's own directory.
    pub include_dirs: &'a [PathBuf],
}

/// Why a C build step failed.
#[derive(Debug)]
pub(crate) enum CBuildError {
    /// The C compiler rejected the source; its own diagnostics.
    Compile { output: String },
    /// The C compiler could not be run, or the cache could not be written.
    Tool(String),
}

/// The C compiler and the object cache, with counters of what one compilation did.
pub(crate) struct CBuilder {
    cc: String,
    cache: PathBuf,
    /// `cc --version` + `cc -dumpmachine`, once asked.
    identity: Option<String>,
    /// C compiles run (`cc -c`).
    pub compiles: u32,
    /// Objects reused from the cache.
    pub reused: u32,
    /// Shared-object links run (`cc -shared`).
    pub links: u32,
}

impl CBuilder {
    /// The compiler `$CC` (else `cc`) with the cache under [`cache_dir`].
    pub fn new() -> CBuilder {
        let cc = std::env::var("CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".to_string());
        CBuilder { cc, cache: cache_dir().join("c"), identity: None, compiles: 0, reused: 0, links: 0 }
    }

    /// The object of `job`: from the cache when its source, headers and settings are
    /// unchanged, else compiled (and cached).
    pub fn object(&mut self, job: &CSourceJob) -> Result<PathBuf, CBuildError> {
        let source_bytes =
            std::fs::read(job.source).map_err(|e| CBuildError::Tool(format!("cannot read '{}': {}", job.source.display(), e)))?;
        let identity = self.identity()?;
        let mut key = Hash128::new();
        key.add(CACHE_VERSION.as_bytes());
        key.add(identity.as_bytes());
        key.add(job.source.as_os_str().as_encoded_bytes());
        key.add(&source_bytes);
        for d in job.defines {
            key.add(b"-D");
            key.add(d.as_bytes());
        }
        for f in job.flags {
            key.add(b"-F");
            key.add(f.as_bytes());
        }
        for i in job.include_dirs {
            key.add(b"-I");
            key.add(i.as_os_str().as_encoded_bytes());
        }
        let stem = key.hex();
        std::fs::create_dir_all(&self.cache)
            .map_err(|e| CBuildError::Tool(format!("cannot create the C cache '{}': {}", self.cache.display(), e)))?;
        let object = self.cache.join(format!("{}.o", stem));
        let manifest = self.cache.join(format!("{}.deps", stem));
        if object.is_file() && manifest_is_current(&manifest) {
            self.reused += 1;
            return Ok(object);
        }
        self.compile(job, &object, &manifest)?;
        Ok(object)
    }

    fn compile(&mut self, job: &CSourceJob, object: &Path, manifest: &Path) -> Result<(), CBuildError> {
        let tag = format!("{}.tmp{}", object.display(), std::process::id());
        let (tmp_obj, tmp_dep) = (PathBuf::from(format!("{}.o", tag)), PathBuf::from(format!("{}.d", tag)));
        let mut cmd = Command::new(&self.cc);
        // Plain ASCII quotes in the C compiler's messages, whatever the user's locale.
        cmd.env("LC_ALL", "C");
        cmd.arg("-c").arg("-fPIC").arg("-MD").arg("-MF").arg(&tmp_dep).arg("-o").arg(&tmp_obj);
        if let Some(dir) = job.source.parent() {
            cmd.arg("-I").arg(dir);
        }
        for i in job.include_dirs {
            cmd.arg("-I").arg(i);
        }
        for d in job.defines {
            cmd.arg(format!("-D{}", d));
        }
        cmd.args(job.flags).arg(job.source);
        self.compiles += 1;
        let out = cmd.output().map_err(|e| CBuildError::Tool(format!("cannot run the C compiler '{}': {}", self.cc, e)))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp_obj);
            let _ = std::fs::remove_file(&tmp_dep);
            let mut text = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
            if text.is_empty() {
                text = format!("'{}' exited with {}", self.cc, out.status);
            }
            return Err(CBuildError::Compile { output: text });
        }
        let deps = std::fs::read_to_string(&tmp_dep).map(|t| parse_make_deps(&t)).unwrap_or_default();
        let _ = std::fs::remove_file(&tmp_dep);
        let mut lines = String::new();
        for d in deps.iter().map(PathBuf::from).chain(std::iter::once(job.source.to_path_buf())) {
            let abs = if d.is_absolute() { d } else { std::env::current_dir().unwrap_or_default().join(d) };
            let bytes = std::fs::read(&abs).map_err(|e| CBuildError::Tool(format!("cannot read '{}': {}", abs.display(), e)))?;
            lines.push_str(&format!("{} {}\n", Hash128::of(&bytes).hex(), abs.display()));
        }
        let io = |e: std::io::Error| CBuildError::Tool(format!("cannot write the C cache: {}", e));
        std::fs::rename(&tmp_obj, object).map_err(io)?;
        std::fs::write(manifest, lines).map_err(io)?;
        Ok(())
    }

    /// One shared object holding `objects` (for the JIT and compile-time calls), linked once
    /// per distinct set of object bytes.
    pub fn shared_object(&mut self, objects: &[PathBuf]) -> Result<PathBuf, CBuildError> {
        let mut key = Hash128::new();
        key.add(CACHE_VERSION.as_bytes());
        key.add(self.identity()?.as_bytes());
        for o in objects {
            let bytes = std::fs::read(o).map_err(|e| CBuildError::Tool(format!("cannot read '{}': {}", o.display(), e)))?;
            key.add(&bytes);
        }
        let path = self.cache.join(format!("units-{}.so", key.hex()));
        if path.is_file() {
            return Ok(path);
        }
        let tmp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
        self.links += 1;
        let out = Command::new(&self.cc)
            .arg("-shared")
            .arg("-o")
            .arg(&tmp)
            .args(objects)
            .output()
            .map_err(|e| CBuildError::Tool(format!("cannot run the C compiler '{}': {}", self.cc, e)))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(CBuildError::Compile { output: String::from_utf8_lossy(&out.stderr).trim_end().to_string() });
        }
        std::fs::rename(&tmp, &path).map_err(|e| CBuildError::Tool(format!("cannot write the C cache: {}", e)))?;
        Ok(path)
    }

    /// The compiler's identity, asked once per binary (cached by the binary's path, size and
    /// modification time, so an unchanged compiler is not run again).
    fn identity(&mut self) -> Result<String, CBuildError> {
        if let Some(id) = &self.identity {
            return Ok(id.clone());
        }
        let binary = find_in_path(&self.cc)
            .ok_or_else(|| CBuildError::Tool(format!("cannot find the C compiler '{}' (set CC or install cc)", self.cc)))?;
        let meta = std::fs::metadata(&binary).map_err(|e| CBuildError::Tool(format!("cannot read '{}': {}", binary.display(), e)))?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
        let stamp = Hash128::of(format!("{}|{}|{}|{}", self.cc, binary.display(), meta.len(), mtime).as_bytes()).hex();
        let file = self.cache.join(format!("cc-{}.id", stamp));
        if let Ok(id) = std::fs::read_to_string(&file) {
            self.identity = Some(id.clone());
            return Ok(id);
        }
        let ask = |arg: &str| -> Result<String, CBuildError> {
            let out = Command::new(&self.cc)
                .arg(arg)
                .output()
                .map_err(|e| CBuildError::Tool(format!("cannot run the C compiler '{}': {}", self.cc, e)))?;
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let id = format!("{}\n{}", ask("--version")?.trim(), ask("-dumpmachine")?.trim());
        std::fs::create_dir_all(&self.cache)
            .map_err(|e| CBuildError::Tool(format!("cannot create the C cache '{}': {}", self.cache.display(), e)))?;
        let _ = std::fs::write(&file, &id);
        self.identity = Some(id.clone());
        Ok(id)
    }
}

/// The cache directory: `$SX_CACHE_DIR`, else `$XDG_CACHE_HOME/sx`, else `~/.cache/sx`, else
/// the temporary directory's `sx-cache`.
pub fn cache_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("SX_CACHE_DIR") {
        return d;
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return d.join("sx");
    }
    if let Some(h) = var("HOME") {
        return h.join(".cache").join("sx");
    }
    std::env::temp_dir().join("sx-cache")
}

/// The C compiler's diagnostics for `header` (`cc -fsyntax-only`), or `None` when it accepts it.
pub(crate) fn syntax_check(cc: &str, header: &Path, defines: &[String], flags: &[String], include_dirs: &[PathBuf]) -> Option<String> {
    let mut cmd = Command::new(cc);
    cmd.env("LC_ALL", "C").arg("-fsyntax-only").arg("-x").arg("c");
    for i in include_dirs {
        cmd.arg("-I").arg(i);
    }
    for d in defines {
        cmd.arg(format!("-D{}", d));
    }
    cmd.args(flags).arg(header);
    let out = cmd.output().ok()?;
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).trim_end().to_string())
}

/// Whether every file a manifest lists still has the bytes it had.
fn manifest_is_current(manifest: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest) else { return false };
    let mut any = false;
    for line in text.lines() {
        let Some((hash, path)) = line.split_once(' ') else { return false };
        match std::fs::read(path) {
            Ok(bytes) if Hash128::of(&bytes).hex() == hash => any = true,
            _ => return false,
        }
    }
    any
}

/// The prerequisites of a Make rule as `cc -MD` writes it (`obj.o: a.c b.h \` …), with `\ `
/// for a space inside a name.
pub(crate) fn parse_make_deps(text: &str) -> Vec<String> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let Some((_, rest)) = joined.split_once(": ") else { return vec![] };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // A rule for the next target would end the list (cc -MD writes one rule unless -MP).
    out.into_iter().take_while(|d| !d.ends_with(':')).collect()
}

/// The global symbols `object` defines (functions and data), for the duplicate check.
pub(crate) fn defined_symbols(object: &Path) -> Result<Vec<String>, String> {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(object).map_err(|e| format!("cannot read '{}': {}", object.display(), e))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("cannot read the object '{}': {}", object.display(), e))?;
    Ok(file
        .symbols()
        .filter(|s| s.is_definition() && s.is_global() && !s.is_weak())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect())
}

/// The symbols `file` (an object or a shared object) needs from elsewhere: its strong
/// undefined global symbols (dynamic ones for a shared object).
pub(crate) fn undefined_symbols(file: &Path) -> Result<Vec<String>, String> {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read '{}': {}", file.display(), e))?;
    let parsed = object::File::parse(&*bytes).map_err(|e| format!("cannot read the object '{}': {}", file.display(), e))?;
    let symbols: Vec<object::Symbol> = match parsed.kind() {
        object::ObjectKind::Dynamic => parsed.dynamic_symbols().collect(),
        _ => parsed.symbols().collect(),
    };
    Ok(symbols
        .iter()
        .filter(|s| s.is_undefined() && s.is_global() && !s.is_weak())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| !n.is_empty() && n != "_GLOBAL_OFFSET_TABLE_")
        .collect())
}

/// `name` resolved through `$PATH` (as written when it holds a `/`).
fn find_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then(|| std::fs::canonicalize(&p).unwrap_or(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// A 128-bit content hash (two SipHash-1-3 lanes with fixed keys): stable across runs, which
/// is all a cache key needs.
pub(crate) struct Hash128 {
    lanes: [DefaultHasher; 2],
}

impl Hash128 {
    fn new() -> Hash128 {
        let mut lanes = [DefaultHasher::new(), DefaultHasher::new()];
        0xa5u8.hash(&mut lanes[1]);
        Hash128 { lanes }
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash128 {
        let mut h = Hash128::new();
        h.add(bytes);
        h
    }

    /// Adds `bytes` (length-prefixed, so concatenations differ).
    pub fn add(&mut self, bytes: &[u8]) {
        for lane in &mut self.lanes {
            bytes.len().hash(lane);
            lane.write(bytes);
        }
    }

    /// 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}{:016x}", self.lanes[0].finish(), self.lanes[1].finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_deps_are_split_with_continuations_and_escaped_spaces() {
        let d = "/tmp/x.o: /a/b.c /usr/include/stdio.h \\\n /a/my\\ dir/h.h\n";
        assert_eq!(parse_make_deps(d), vec!["/a/b.c", "/usr/include/stdio.h", "/a/my dir/h.h"]);
        assert!(parse_make_deps("garbage").is_empty());
    }

    #[test]
    fn hashes_are_stable_and_length_prefixed() {
        assert_eq!(Hash128::of(b"abc").hex(), Hash128::of(b"abc").hex());
        let mut ab = Hash128::new();
        ab.add(b"a");
        ab.add(b"bc");
        let mut a_b = Hash128::new();
        a_b.add(b"ab");
        a_b.add(b"c");
        assert_ne!(ab.hex(), a_b.hex());
    }
}
