//! The on-disk cache of translations (`Options::cache_dir`).
//!
//! Two kinds of files, both named by a 128-bit content hash:
//! - `<key>.sxc`: a translation, keyed by the preprocessed text, the defines, the flags, the
//!   C compiler's version and the translator's version;
//! - `<key>.manifest`: for one unit description (headers, defines, flags, include dirs, the
//!   compiler and its version), the translation key it produced and a hash of every header
//!   file read, so a warm run whose headers did not change skips the preprocessor.

use crate::{Skipped, Translation};
use std::path::{Path, PathBuf};

/// Bumped whenever the translator's output for the same input can change.
pub(crate) const TRANSLATOR_VERSION: &str = "sx_cimport 1";

/// FNV-1a, 64 bits.
pub(crate) fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A 128-bit content hash over a sequence of length-prefixed parts.
pub(crate) struct KeyHasher {
    a: u64,
    b: u64,
}

impl KeyHasher {
    /// A hasher seeded with the translator version.
    pub(crate) fn new() -> Self {
        let mut k = KeyHasher { a: 0xcbf2_9ce4_8422_2325, b: 0x6c62_272e_07bb_0142 };
        k.part(TRANSLATOR_VERSION.as_bytes());
        k
    }

    fn byte(&mut self, x: u8) {
        self.a ^= x as u64;
        self.a = self.a.wrapping_mul(0x0000_0100_0000_01b3);
        self.b ^= x as u64;
        self.b = self.b.wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5) ^ 0x9e37_79b9_7f4a_7c15;
    }

    /// Adds one part (its length first, so part boundaries count).
    pub(crate) fn part(&mut self, bytes: &[u8]) {
        for x in (bytes.len() as u64).to_le_bytes() {
            self.byte(x);
        }
        for x in bytes {
            self.byte(*x);
        }
    }

    /// The key as 32 hex digits.
    pub(crate) fn finish(&self) -> String {
        format!("{:016x}{:016x}", self.a, self.b)
    }
}

/// The hash of a file's contents, `None` if it cannot be read.
pub(crate) fn file_hash(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let mut k = KeyHasher::new();
    k.part(&bytes);
    Some(k.finish())
}

/// A cache directory.
pub(crate) struct Cache {
    dir: PathBuf,
}

/// What a manifest records.
pub(crate) struct Manifest {
    pub(crate) result_key: String,
    /// (content hash, path) of every header read.
    pub(crate) deps: Vec<(String, PathBuf)>,
}

impl Cache {
    /// The cache in `dir` (created on first store).
    pub(crate) fn new(dir: &Path) -> Self {
        Cache { dir: dir.to_path_buf() }
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    /// Writes `text` to the file for `key` (via a temporary file and a rename, so readers
    /// never see half a file). Failures are ignored: the cache is an optimisation.
    fn write(&self, key: &str, ext: &str, text: &str) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self.dir.join(format!("{key}.{ext}.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, self.path(key, ext)).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// The manifest stored under `key`.
    pub(crate) fn load_manifest(&self, key: &str) -> Option<Manifest> {
        let text = std::fs::read_to_string(self.path(key, "manifest")).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "sx-cimport-manifest 1" {
            return None;
        }
        let result_key = lines.next()?.strip_prefix("result ")?.to_string();
        let mut deps = Vec::new();
        for line in lines {
            let (hash, path) = line.strip_prefix("dep ")?.split_once('\t')?;
            deps.push((hash.to_string(), PathBuf::from(path)));
        }
        Some(Manifest { result_key, deps })
    }

    /// Stores a manifest.
    pub(crate) fn store_manifest(&self, key: &str, m: &Manifest) {
        let mut text = format!("sx-cimport-manifest 1\nresult {}\n", m.result_key);
        for (hash, path) in &m.deps {
            let Some(p) = path.to_str().filter(|p| !p.contains(['\n', '\t'])) else { return };
            text.push_str(&format!("dep {hash}\t{p}\n"));
        }
        self.write(key, "manifest", &text);
    }

    /// The translation stored under `key`.
    pub(crate) fn load_translation(&self, key: &str) -> Option<Translation> {
        let text = std::fs::read_to_string(self.path(key, "sxc")).ok()?;
        let (head, source) = text.split_once("\nsource\n")?;
        let mut lines = head.lines();
        if lines.next()? != "sx-cimport-cache 1" {
            return None;
        }
        let ndeps: usize = lines.next()?.strip_prefix("deps ")?.parse().ok()?;
        let mut deps = Vec::with_capacity(ndeps);
        for _ in 0..ndeps {
            deps.push(PathBuf::from(lines.next()?));
        }
        let nskipped: usize = lines.next()?.strip_prefix("skipped ")?.parse().ok()?;
        let mut skipped = Vec::with_capacity(nskipped);
        for _ in 0..nskipped {
            let (name, reason) = lines.next()?.split_once('\t')?;
            skipped.push(Skipped { name: name.to_string(), reason: reason.to_string() });
        }
        Some(Translation { sx_source: source.to_string(), skipped, deps })
    }

    /// Stores a translation.
    pub(crate) fn store_translation(&self, key: &str, t: &Translation) {
        let mut text = String::from("sx-cimport-cache 1\n");
        text.push_str(&format!("deps {}\n", t.deps.len()));
        for d in &t.deps {
            let Some(p) = d.to_str().filter(|p| !p.contains('\n')) else { return };
            text.push_str(p);
            text.push('\n');
        }
        text.push_str(&format!("skipped {}\n", t.skipped.len()));
        for s in &t.skipped {
            if s.name.contains(['\n', '\t']) || s.reason.contains('\n') {
                return;
            }
            text.push_str(&format!("{}\t{}\n", s.name, s.reason));
        }
        text.push_str("source\n");
        text.push_str(&t.sx_source);
        self.write(key, "sxc", &text);
    }
}
