//! Shared libraries a program names with `name :: #library "z";`: found by the file names the
//! dynamic loader is asked for (`libz.so`, then `libz.so.N` when the development symlink is
//! not installed) and opened with global visibility, so both the VM's FFI and a JIT that
//! resolves symbols in the whole process see their functions.

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_LAZY, RTLD_NOW};

/// Libraries every program already has (libc; libm, which the link always names and the VM
/// always searches): a `#library` of one of them is neither loaded nor linked again.
pub const ALWAYS_PRESENT: [&str; 2] = ["c", "m"];

/// The highest `N` tried for a `libNAME.so.N` fallback.
const MAX_SONAME_VERSION: u32 = 9;

/// Why a `#library` was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryError {
    /// No file the dynamic loader was asked for could be opened.
    NotFound {
        /// The library's name as written.
        name: String,
        /// The file names tried, in order.
        tried: Vec<String>,
    },
    /// The `--sandbox` policy does not grant `ffi`, which loading a library needs.
    Refused {
        /// The library's name as written.
        name: String,
    },
}

impl std::fmt::Display for LibraryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LibraryError::NotFound { name, tried } => {
                write!(f, "cannot find library `{}` (tried {})", name, tried.join(", "))
            }
            LibraryError::Refused { name } => {
                write!(f, "loading library `{}` at compile time needs `--comptime-allow=ffi` under `--sandbox`", name)
            }
        }
    }
}

/// The file names tried for library `name`: a name with a `/` or a `.so` in it as written,
/// otherwise `libNAME.so` and then `libNAME.so.N` for `N` from 0 to [`MAX_SONAME_VERSION`].
pub fn candidate_files(name: &str) -> Vec<String> {
    if name.contains('/') || name.contains(".so") {
        return vec![name.to_string()];
    }
    let plain = format!("lib{}.so", name);
    let mut out = vec![plain.clone()];
    out.extend((0..=MAX_SONAME_VERSION).map(|n| format!("{}.{}", plain, n)));
    out
}

/// The directories searched for a versioned shared object the fixed candidates miss: those of
/// `LD_LIBRARY_PATH`, then the system's usual library directories.
fn library_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> =
        std::env::var_os("LD_LIBRARY_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    let arch = format!("{}-linux-gnu", std::env::consts::ARCH);
    for d in ["/usr/local/lib", "/usr/lib", "/lib", "/usr/lib64", "/lib64"] {
        dirs.push(std::path::PathBuf::from(d).join(&arch));
        dirs.push(std::path::PathBuf::from(d));
    }
    dirs
}

/// The installed file of library `name` when only a versioned shared object with a dotted
/// version exists (`libpcap.so.0.8`, no `libpcap.so`): its file name, the shortest such name
/// in the first directory that has one.
pub fn versioned_file(name: &str) -> Option<String> {
    versioned_file_in(name, &library_dirs())
}

/// [`versioned_file`] over the directories `dirs`, in order.
fn versioned_file_in(name: &str, dirs: &[std::path::PathBuf]) -> Option<String> {
    if name.contains('/') || name.contains(".so") {
        return None;
    }
    let prefix = format!("lib{}.so.", name);
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut found: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.strip_prefix(&prefix).is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')))
            .collect();
        found.sort_by_key(|f| (f.len(), f.clone()));
        if let Some(f) = found.into_iter().next() {
            return Some(f);
        }
    }
    None
}

/// The linker flag that links library `name`: `-lNAME`, or `-l:FILE` naming the versioned
/// shared object when the development symlink `libNAME.so` is not installed.
pub fn link_flag(name: &str) -> String {
    let plain = format!("lib{}.so", name);
    let has_plain = library_dirs().iter().any(|d| d.join(&plain).exists());
    match versioned_file(name) {
        Some(file) if !has_plain => format!("-l:{}", file),
        _ => format!("-l{}", name),
    }
}

/// Opens library `name` (see [`candidate_files`], then [`versioned_file`]) with global symbol
/// visibility.
pub fn open_library(name: &str) -> Result<Library, LibraryError> {
    let mut tried = candidate_files(name);
    tried.extend(versioned_file(name));
    for file in &tried {
        if file.contains('\0') {
            break;
        }
        // A path is a shared object the compiler linked from `#import c` sources: it may call
        // functions the program itself exports, bound only when first called.
        let binding = if name.contains('/') { RTLD_LAZY } else { RTLD_NOW };
        // SAFETY: loading a library runs its initialisers; the program asked for the library
        // by name, exactly as linking it into the executable would.
        if let Ok(lib) = unsafe { Library::open(Some(file.as_str()), binding | RTLD_GLOBAL) } {
            return Ok(lib);
        }
    }
    let shown = if tried.len() > 2 { vec![tried[0].clone(), format!("{} … {}", tried[1], tried[tried.len() - 1])] } else { tried };
    Err(LibraryError::NotFound { name: name.to_string(), tried: shown })
}

/// The function of a C units library that points an export stub at its target (see
/// `EXPORT_STUB` in sx_sema's C units): `void SETTER(int slot, void *code)`.
pub const EXPORT_TARGET_SETTER: &str = "sx_set_export_target";

/// Points slot `slot` of the export stubs of the C units library at path `library` (already
/// loaded) at `code`: C in that library calling the exported sx function then runs `code`.
pub fn set_export_target(library: &str, slot: u32, code: u64) -> Result<(), String> {
    // SAFETY: the library is already loaded (this only takes another reference to it).
    let lib = unsafe { Library::open(Some(library), RTLD_LAZY | RTLD_GLOBAL) }.map_err(|e| format!("cannot open '{}': {}", library, e))?;
    // SAFETY: the generated setter has exactly this C prototype.
    let setter = unsafe { lib.get::<unsafe extern "C" fn(i32, *mut std::ffi::c_void)>(EXPORT_TARGET_SETTER.as_bytes()) }
        .map_err(|e| format!("'{}' has no export stubs: {}", library, e))?;
    // SAFETY: the setter stores the pointer in the library's own table.
    unsafe { setter(slot as i32, code as *mut std::ffi::c_void) };
    Ok(())
}

/// Whether `symbol` is defined in the process or a library opened with global visibility
/// (every `#library` and `#import c` unit the compiler loaded).
pub fn host_symbol_defined(symbol: &str) -> bool {
    if symbol.is_empty() || symbol.contains('\0') {
        return false;
    }
    // SAFETY: the symbol's address is looked up, never used.
    unsafe { Library::this().get::<*const u8>(symbol.as_bytes()) }.is_ok()
}

/// Copies the current bytes of the C global `symbol` (found in the process and every library
/// opened with global visibility) into `out`: the VM reads the value C has now (its copy is
/// read-only: a write would not reach C).
pub fn read_host_global(symbol: &str, out: &mut [u8]) -> Result<(), String> {
    let this = Library::this();
    // SAFETY: the address is only read, for the size of the variable's declared type.
    let addr = unsafe { this.get::<*const u8>(symbol.as_bytes()) }.map(|s| *s).unwrap_or(std::ptr::null());
    if addr.is_null() {
        return Err(format!("C global `{}` is not defined in the compiler's process or the loaded libraries", symbol));
    }
    // SAFETY: `symbol` names a C object at least `out.len()` bytes long (its sx declaration's size).
    unsafe { std::ptr::copy_nonoverlapping(addr, out.as_mut_ptr(), out.len()) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_try_the_dev_symlink_first() {
        let c = candidate_files("z");
        assert_eq!(c[0], "libz.so");
        assert!(c.contains(&"libz.so.1".to_string()));
        assert_eq!(candidate_files("libfoo.so.3"), vec!["libfoo.so.3".to_string()]);
    }

    #[test]
    fn a_missing_library_names_the_files_tried() {
        match open_library("sx_no_such_library") {
            Err(LibraryError::NotFound { tried, .. }) => assert_eq!(tried[0], "libsx_no_such_library.so"),
            other => panic!("expected NotFound, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_dotted_soname_is_found_when_no_symlink_is_installed() {
        let dir = std::env::temp_dir().join(format!("sx-versioned-lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["libsxdemo.so.0.8", "libsxdemo.so.1.10.3", "libsxdemo.so.0.8.bak", "libother.so.2.0"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let dirs = vec![std::path::PathBuf::from("/nonexistent-sx-dir"), dir.clone()];
        assert_eq!(versioned_file_in("sxdemo", &dirs), Some("libsxdemo.so.0.8".to_string()));
        assert_eq!(versioned_file_in("missing", &dirs), None);
        assert_eq!(versioned_file_in("libsxdemo.so.0.8", &dirs), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
