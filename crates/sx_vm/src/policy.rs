//! The `--sandbox` policy: what compile-time code may do to the host, decided in one place.
//!
//! Without the sandbox ([`VmPolicy::default`]) every C function the program declares may be
//! called (except the few [`crate::ffi`] always refuses). Under the sandbox a C function runs
//! only when it has no host effect — memory, strings, `ctype`, `libm`, formatting into buffers,
//! time queries, conversions, sorting — or when the permission its effect needs was granted
//! ([`Permission`], `--comptime-allow=fs-read,fs-write,process,env,ffi`):
//!
//! - `process`: `system`, `popen`, `fork`, `exec*`, `posix_spawn`, `kill`, `chdir`, …, and
//!   the build requests that run the system linker (`add_link_flag`, `link`);
//! - `fs-write`: `fopen` with a write/append/update mode, `open` with `O_WRONLY`/`O_RDWR`/
//!   `O_CREAT`/`O_TRUNC`/`O_APPEND`, `unlink`, `remove`, `rename`, `mkdir`, `rmdir`,
//!   `truncate`, `chmod`, stream writes (`fwrite`, `fputs`, `fprintf`, …), and `write`/`writev`
//!   on any descriptor other than stdout and stderr, and choosing the executable's path;
//! - `fs-read`: opening, `stat`ing or listing a path outside the source tree (the root file's
//!   directory and the standard library directories, symlinks resolved), and reading a
//!   descriptor compile-time code did not open itself (stdin included);
//! - `env`: `getenv`, `setenv`, `putenv`, `unsetenv`, `clearenv`;
//! - `ffi`: any other foreign function, e.g. `syscall`, `dlopen`, `dlsym`, `dup2`.
//!
//! The check runs once per foreign call (and in the natives `write`/`read`), never per
//! instruction. A refused call is an ordinary [`crate::VmError`] at the call site, e.g.
//! `compile-time call to 'system' is not allowed under --sandbox (needs
//! --comptime-allow=process)`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::memory::{AllocKind, ComptimeMemory, FIRST_ALLOC};

/// A host capability compile-time code may be granted under the sandbox.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Reading files outside the source tree, and descriptors comptime code did not open.
    FsRead,
    /// Creating, writing, renaming and removing files.
    FsWrite,
    /// Creating processes and changing the compiler's process.
    Process,
    /// Reading and changing environment variables.
    Env,
    /// Calling any foreign function.
    Ffi,
}

impl Permission {
    /// Every permission, in the order `--comptime-allow` lists them.
    pub const ALL: [Permission; 5] = [Permission::FsRead, Permission::FsWrite, Permission::Process, Permission::Env, Permission::Ffi];

    /// The name `--comptime-allow` spells it with.
    pub fn name(self) -> &'static str {
        match self {
            Permission::FsRead => "fs-read",
            Permission::FsWrite => "fs-write",
            Permission::Process => "process",
            Permission::Env => "env",
            Permission::Ffi => "ffi",
        }
    }

    /// The permission named `name` (see [`Permission::name`]).
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Parses a comma-separated `--comptime-allow` list (`fs-write,process`).
    pub fn parse_list(list: &str) -> Result<Vec<Permission>, String> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match Permission::parse(part) {
                Some(p) => out.push(p),
                None => {
                    let names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
                    return Err(format!("unknown permission '{}' (expected one of {})", part, names.join(", ")));
                }
            }
        }
        Ok(out)
    }
}

/// What compile-time code may do on the host (part of [`crate::VmLimits`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmPolicy {
    /// Whether the sandbox is on; when off, everything below is ignored.
    pub sandbox: bool,
    /// Permissions granted under the sandbox.
    pub allowed: Vec<Permission>,
    /// The source tree: directories whose files compile-time code may read (canonical paths).
    pub source_roots: Vec<PathBuf>,
}

impl VmPolicy {
    /// The sandbox with `allowed` granted and reads allowed under `roots` (canonicalised here;
    /// a root that does not exist is dropped).
    pub fn sandboxed(allowed: Vec<Permission>, roots: &[PathBuf]) -> VmPolicy {
        let source_roots = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
        VmPolicy { sandbox: true, allowed, source_roots }
    }

    /// Whether an effect needing `p` may happen.
    pub fn allows(&self, p: Permission) -> bool {
        !self.sandbox || self.allowed.contains(&p)
    }

    /// Whether `path` (relative to the compiler's working directory) lies in the source tree.
    fn in_source_tree(&self, path: &Path) -> bool {
        match resolve(path) {
            Some(p) => self.source_roots.iter().any(|r| p.starts_with(r)),
            None => false,
        }
    }
}

/// `path` made absolute with symlinks resolved; a file that does not exist yet is resolved
/// through its directory.
fn resolve(path: &Path) -> Option<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    if let Ok(p) = abs.canonicalize() {
        return Some(p);
    }
    let name = abs.file_name()?;
    if name == ".." {
        return None;
    }
    Some(abs.parent()?.canonicalize().ok()?.join(name))
}

/// The sandbox of one VM: its policy and the descriptors compile-time code opened under it.
#[derive(Default)]
pub(crate) struct Sandbox {
    pub(crate) policy: VmPolicy,
    opened: HashSet<i64>,
    /// Host addresses of the `FILE *`/`DIR *` streams compile-time code opened.
    streams: HashSet<u64>,
}

/// How a C function is treated under the sandbox.
#[derive(Copy, Clone)]
enum Rule {
    /// No host effect.
    Pure,
    /// Always needs this permission.
    Needs(Permission),
    /// `fopen(path, mode)`: a write mode needs `fs-write`, a read outside the tree `fs-read`.
    Fopen,
    /// `open(path, flags, …)` (`at`: `openat(dirfd, path, flags, …)`).
    Open { at: bool },
    /// Reads metadata or contents at the path in argument `path` (`dirfd`: a directory
    /// descriptor argument the path may be relative to).
    ReadPath { path: usize, dirfd: Option<usize> },
    /// Reads the descriptor in argument 0.
    FdRead,
    /// Writes the descriptor in argument 0.
    FdWrite,
    /// `close(fd)`.
    Close,
}

/// C functions without host effects (`libm` is [`MATH`]).
#[rustfmt::skip]
const PURE: &[&str] = &[
    // memory
    "malloc", "calloc", "realloc", "free", "memcpy", "memmove", "memset", "memcmp", "memchr",
    "memrchr", "memmem", "memccpy", "bzero", "explicit_bzero",
    // strings
    "strlen", "strnlen", "strcmp", "strncmp", "strcasecmp", "strncasecmp", "strcoll", "strxfrm", "strverscmp", "strchr",
    "strrchr", "strchrnul", "strstr", "strcasestr", "strspn", "strcspn", "strpbrk", "strcpy", "strncpy", "stpcpy", "stpncpy",
    "strcat", "strncat", "strdup", "strndup", "strerror", "strerror_r", "strsignal", "ffs",
    "ffsl", "ffsll", "wcslen", "wcscmp", "wcsncmp", "wcschr", "wcsrchr", "wcsstr",
    // ctype
    "isalpha", "isdigit", "isalnum", "isspace", "isupper", "islower", "isxdigit", "ispunct", "isprint", "isgraph", "iscntrl",
    "isblank", "isascii", "toupper", "tolower", "towupper", "towlower", "iswalpha", "iswdigit", "iswalnum", "iswspace",
    "iswupper", "iswlower",
    // conversions, sorting, integer arithmetic, pseudo-random numbers
    "atoi", "atol", "atoll", "atof", "strtol", "strtoll", "strtoul", "strtoull", "strtod", "strtof", "strtold", "strtoimax",
    "strtoumax", "abs", "labs", "llabs", "imaxabs", "div", "ldiv", "lldiv", "imaxdiv", "qsort", "bsearch", "rand", "srand",
    "rand_r", "random", "srandom", "drand48", "erand48", "lrand48", "nrand48", "mrand48", "jrand48", "srand48", "htons",
    "htonl", "ntohs", "ntohl", "inet_addr", "inet_aton", "inet_ntoa", "inet_pton", "inet_ntop",
    // formatting into buffers
    "snprintf", "sprintf",
    // time and identity queries
    "time", "clock", "clock_gettime", "clock_getres", "gettimeofday", "difftime", "mktime", "timegm", "gmtime", "gmtime_r",
    "localtime", "localtime_r", "asctime", "asctime_r", "ctime", "ctime_r", "strftime", "getpid", "getppid", "getuid",
    "geteuid", "getgid", "getegid",
    // streams and directories compile-time code opened (a `FILE *` or `DIR *` only comes from
    // an allowed `fopen`/`opendir`)
    "fread", "fgets", "fgetc", "getc", "ungetc", "feof", "ferror", "clearerr", "fseek", "fseeko", "ftell", "ftello", "rewind",
    "fclose", "fileno", "readdir", "closedir", "rewinddir",
];

/// `libm` functions, real and complex, without their `f`/`l` suffixed variants.
#[rustfmt::skip]
const MATH: &[&str] = &[
    "sqrt", "cbrt", "hypot", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "logb", "ilogb", "pow", "floor", "ceil", "round",
    "lround", "llround", "trunc", "rint", "lrint", "llrint", "nearbyint", "fmod", "remainder", "remquo", "fabs", "fmin", "fmax",
    "fdim", "fma", "ldexp", "frexp", "modf", "scalbn", "scalbln", "copysign", "nan", "nextafter", "erf", "erfc", "tgamma",
    "lgamma", "cabs", "carg", "creal", "cimag", "conj", "cproj", "csqrt", "cexp", "clog", "cpow", "csin", "ccos", "ctan",
    "casin", "cacos", "catan", "csinh", "ccosh", "ctanh", "casinh", "cacosh", "catanh",
];

/// C functions that create processes or change the compiler's process (`process`).
#[rustfmt::skip]
const PROCESS: &[&str] = &[
    "system", "popen", "pclose", "fork", "vfork", "clone", "daemon", "posix_spawn", "posix_spawnp", "execv", "execve",
    "execvp", "execvpe", "execl", "execle", "execlp", "fexecve", "kill", "killpg", "wait", "waitpid", "waitid", "setsid",
    "setuid", "setgid", "seteuid", "setegid", "chdir", "fchdir", "chroot", "nice", "setpriority", "setrlimit", "prctl",
    "ptrace",
];

/// C functions that read or change the environment (`env`).
const ENV: &[&str] = &["getenv", "secure_getenv", "setenv", "unsetenv", "putenv", "clearenv"];

/// C functions that create, write, rename or remove files (`fs-write`).
#[rustfmt::skip]
const FS_WRITE: &[&str] = &[
    "creat", "unlink", "unlinkat", "remove", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "truncate",
    "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "utime",
    "utimes", "utimensat", "futimens", "mkfifo", "mknod", "mkstemp", "mkdtemp", "tmpfile", "tmpnam", "freopen", "fwrite",
    "fputs", "fputc", "putc", "fprintf", "vfprintf", "fflush", "dprintf",
];

/// Where `name`'s arguments say what it does.
fn rule(name: &str) -> Rule {
    static TABLE: OnceLock<HashMap<&'static str, Rule>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let lists = [
            (PURE, Rule::Pure),
            (MATH, Rule::Pure),
            (PROCESS, Rule::Needs(Permission::Process)),
            (ENV, Rule::Needs(Permission::Env)),
            (FS_WRITE, Rule::Needs(Permission::FsWrite)),
        ];
        lists.iter().flat_map(|(names, r)| names.iter().map(move |n| (*n, *r))).collect()
    });
    if let Some(r) = table.get(name) {
        return *r;
    }
    if name.strip_suffix('f').or_else(|| name.strip_suffix('l')).is_some_and(|b| MATH.contains(&b)) {
        return Rule::Pure;
    }
    match name {
        "fopen" | "fopen64" => Rule::Fopen,
        "open" | "open64" => Rule::Open { at: false },
        "openat" | "openat64" => Rule::Open { at: true },
        "stat" | "lstat" | "access" | "opendir" | "realpath" | "readlink" => Rule::ReadPath { path: 0, dirfd: None },
        "statx" | "fstatat" | "faccessat" | "readlinkat" => Rule::ReadPath { path: 1, dirfd: Some(0) },
        "fdopen" => Rule::Needs(Permission::FsRead),
        "read" | "readv" | "pread" | "preadv" | "lseek" | "fstat" | "fdopendir" => Rule::FdRead,
        "write" | "writev" | "pwrite" | "pwritev" | "ftruncate" | "fsync" | "fdatasync" => Rule::FdWrite,
        "close" => Rule::Close,
        _ => Rule::Needs(Permission::Ffi),
    }
}

/// `open` flags that create, truncate or write (Linux).
const O_WRITING: i64 = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000;
/// `openat`'s "relative to the working directory" descriptor.
const AT_FDCWD: i64 = -100;

impl Sandbox {
    /// A sandbox enforcing `policy`.
    pub(crate) fn new(policy: VmPolicy) -> Sandbox {
        Sandbox { policy, opened: HashSet::new(), streams: HashSet::new() }
    }

    /// Whether compile-time code may call C function `name` with `args` (integers
    /// sign-extended, pointers as comptime pointers into `mem`); the error says which
    /// permission would allow it.
    ///
    /// `pointers[i]` says whether argument `i` is a pointer. Past the permission, the call's
    /// memory must be safe for the compiler: a `FILE *`/`DIR *` argument must be a stream
    /// compile-time code opened, no other argument may point into C's memory, and what C
    /// writes through a pointer must fit in its comptime allocation ([`writes`]).
    pub(crate) fn check_foreign(&mut self, name: &str, args: &[i64], pointers: &[bool], mem: &ComptimeMemory) -> Result<(), String> {
        if !self.policy.sandbox || self.policy.allowed.contains(&Permission::Ffi) {
            return Ok(());
        }
        self.check_effect(name, args, mem)?;
        self.check_memory(name, args, pointers, mem)
    }

    /// The permission part of [`Sandbox::check_foreign`].
    fn check_effect(&mut self, name: &str, args: &[i64], mem: &ComptimeMemory) -> Result<(), String> {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        match rule(name) {
            Rule::Pure => Ok(()),
            Rule::Needs(p) => self.need(name, "", p),
            Rule::Fopen => {
                let path = c_path(mem, arg(0));
                let mode = c_string(mem, arg(1)).unwrap_or_default();
                if mode.contains(['w', 'a', '+']) {
                    return self.need(name, &format!(" to open {} for writing", quoted(&path)), Permission::FsWrite);
                }
                self.read_path(name, path)
            }
            Rule::Open { at } => {
                let (path_at, flags) = if at { (1, arg(2)) } else { (0, arg(1)) };
                let path = c_path(mem, arg(path_at));
                if flags & O_WRITING != 0 {
                    return self.need(name, &format!(" to open {} for writing", quoted(&path)), Permission::FsWrite);
                }
                self.read_path_at(name, path, at.then(|| arg(0)))
            }
            Rule::ReadPath { path, dirfd } => self.read_path_at(name, c_path(mem, arg(path)), dirfd.map(arg)),
            Rule::FdRead => self.read_fd(name, arg(0)),
            Rule::FdWrite => self.write_fd(name, arg(0)),
            Rule::Close => {
                if self.opened.remove(&arg(0)) {
                    return Ok(());
                }
                self.need(name, &format!(" on descriptor {}, which compile-time code did not open,", arg(0)), Permission::Ffi)
            }
        }
    }

    /// The memory part of [`Sandbox::check_foreign`].
    fn check_memory(&mut self, name: &str, args: &[i64], pointers: &[bool], mem: &ComptimeMemory) -> Result<(), String> {
        if let Some(at) = format_arg(name) {
            if let Err(why) = check_format(at, args, pointers, mem) {
                return self.need(name, &format!(" with {}", why), Permission::Ffi);
            }
        }
        let stream = stream_arg(name);
        for (i, (&v, _)) in args.iter().zip(pointers).enumerate().filter(|(_, (_, &p))| p) {
            let host = host_handle(mem, v as u64);
            if Some(i) == stream {
                let open = v == 0 && name == "fflush" || host.is_some_and(|h| self.streams.contains(&h));
                if !open {
                    return self.need(name, " with a stream compile-time code did not open", Permission::Ffi);
                }
                if matches!(name, "fclose" | "closedir" | "pclose") {
                    self.streams.remove(&host.unwrap_or(0));
                }
            } else if host.is_some() {
                return self.need(name, &format!(" with a pointer to C's memory as argument {}", i + 1), Permission::Ffi);
            }
        }
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        for w in writes(name, &arg, mem)? {
            if !(arg(w.arg) == 0 && w.optional) {
                self.check_write(name, mem, w.arg, arg(w.arg) as u64, w.bytes)?;
            }
        }
        Ok(())
    }

    /// Whether the memory checks of [`Sandbox::check_foreign`] apply (the sandbox is on and
    /// `ffi` is not granted).
    pub(crate) fn guards_memory(&self) -> bool {
        self.policy.sandbox && !self.policy.allowed.contains(&Permission::Ffi)
    }

    /// Whether C function `name` may write `bytes` bytes through its argument `arg`, comptime
    /// pointer `p`: they must fit in a writable comptime allocation.
    pub(crate) fn check_write(&self, name: &str, mem: &ComptimeMemory, arg: usize, p: u64, bytes: u64) -> Result<(), String> {
        if bytes == 0 {
            return Ok(());
        }
        let room = room(mem, p);
        if room.is_none_or(|r| r < bytes) {
            let into = match room {
                Some(r) => format!("a {}-byte buffer", r),
                None => "memory that is no writable comptime buffer".to_string(),
            };
            return self.need(name, &format!(" writing {} bytes into {} (argument {})", bytes, into, arg + 1), Permission::Ffi);
        }
        Ok(())
    }

    /// Records what a successful call opened (from its raw result): the descriptor of
    /// `open`/`openat`/`creat`/`mkstemp`, so that reading, writing and closing it are allowed,
    /// and the stream of `fopen`/`opendir`/…, so that it may be passed to the stream functions.
    pub(crate) fn record_result(&mut self, name: &str, raw: u64) {
        if !self.policy.sandbox {
            return;
        }
        if matches!(name, "open" | "open64" | "openat" | "openat64" | "creat" | "mkstemp") && raw as i32 >= 0 {
            self.opened.insert(raw as i32 as i64);
        }
        if OPENS_STREAM.contains(&name) && raw != 0 {
            self.streams.insert(raw);
        }
    }

    /// Whether compile-time code may make compiler request `name` (a `__sx_compiler.` call)
    /// under the sandbox: the build requests that run the system linker with flags, objects
    /// and an output of the code's choosing need `process`, choosing where the executable is
    /// written needs `fs-write`; every other request only reads or shapes the compilation.
    pub(crate) fn check_compiler_call(&self, name: &str) -> Result<(), String> {
        if !self.policy.sandbox {
            return Ok(());
        }
        match name {
            "raw_add_link_flag" => self.need(name, " (a flag for the system linker)", Permission::Process),
            "raw_link_begin" | "raw_link_add" | "raw_link_run" => self.need(name, " (running the system linker)", Permission::Process),
            "raw_set_output_path" => self.need(name, " (where the executable is written)", Permission::FsWrite),
            _ => Ok(()),
        }
    }

    /// Whether the native `write` may write descriptor `fd`.
    pub(crate) fn write_fd(&self, name: &str, fd: i64) -> Result<(), String> {
        if fd == 1 || fd == 2 || self.opened.contains(&fd) {
            return Ok(());
        }
        self.need(name, &format!(" on descriptor {}", fd), Permission::FsWrite)
    }

    /// Whether the native `read` may read descriptor `fd`.
    pub(crate) fn read_fd(&self, name: &str, fd: i64) -> Result<(), String> {
        if self.opened.contains(&fd) {
            return Ok(());
        }
        self.need(name, &format!(" on descriptor {}, which compile-time code did not open,", fd), Permission::FsRead)
    }

    fn read_path_at(&self, name: &str, path: Option<PathBuf>, dirfd: Option<i64>) -> Result<(), String> {
        match (dirfd, &path) {
            (Some(fd), Some(p)) if fd != AT_FDCWD && !p.is_absolute() => {
                self.need(name, &format!(" with {} relative to descriptor {}", quoted(&path), fd), Permission::FsRead)
            }
            _ => self.read_path(name, path),
        }
    }

    fn read_path(&self, name: &str, path: Option<PathBuf>) -> Result<(), String> {
        if let Some(p) = &path {
            if self.policy.in_source_tree(p) {
                return Ok(());
            }
        }
        self.need(name, &format!(" to read {} outside the source tree", quoted(&path)), Permission::FsRead)
    }

    fn need(&self, name: &str, what: &str, p: Permission) -> Result<(), String> {
        if self.policy.allows(p) {
            return Ok(());
        }
        Err(format!("compile-time call to '{}'{} is not allowed under --sandbox (needs --comptime-allow={})", name, what, p.name()))
    }
}

/// Functions whose non-null result is a stream ([`Sandbox::record_result`]).
const OPENS_STREAM: &[&str] = &["fopen", "fopen64", "fdopen", "freopen", "opendir", "fdopendir", "popen", "tmpfile"];

/// The argument of `name` that is a `FILE *` or `DIR *`.
fn stream_arg(name: &str) -> Option<usize> {
    Some(match name {
        "fgetc" | "getc" | "feof" | "ferror" | "clearerr" | "fseek" | "fseeko" | "ftell" | "ftello" | "rewind" | "fclose" | "fileno"
        | "readdir" | "closedir" | "rewinddir" | "fprintf" | "vfprintf" | "fflush" | "pclose" => 0,
        "ungetc" | "fputs" | "fputc" | "putc" => 1,
        "fgets" | "freopen" => 2,
        "fread" | "fwrite" => 3,
        _ => return None,
    })
}

/// The argument of a `printf`-family function that is its format (the values follow it).
fn format_arg(name: &str) -> Option<usize> {
    match name {
        "sprintf" | "fprintf" | "dprintf" => Some(1),
        "snprintf" => Some(2),
        _ => None,
    }
}

/// Checks the format at argument `at` against the values after it, so that C touches no
/// memory but what it is given: every conversion has its value, `%s` gets a NUL-terminated
/// comptime string (or null), and `%n` (a write), positional arguments and wide strings are
/// refused. Returns why a format is refused.
fn check_format(at: usize, args: &[i64], pointers: &[bool], mem: &ComptimeMemory) -> Result<(), String> {
    let fmt = c_string(mem, args.get(at).copied().unwrap_or(0)).ok_or("a format that is no comptime string")?;
    let mut next = at + 1;
    let mut take = || {
        let i = next;
        next += 1;
        if i < args.len() {
            Ok(i)
        } else {
            Err(format!("the format {:?}, which wants more values than the call passes", fmt))
        }
    };
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        loop {
            let Some(d) = chars.next() else { return Err(format!("the format {:?}, which ends inside a conversion", fmt)) };
            match d {
                '%' => break,
                '-' | '+' | ' ' | '#' | '0'..='9' | '.' | '\'' | 'I' | 'h' | 'l' | 'L' | 'q' | 'j' | 'z' | 'Z' | 't' => {}
                '*' => {
                    take()?;
                }
                'd' | 'i' | 'o' | 'u' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'a' | 'A' | 'c' | 'p' | 'm' => {
                    if d != 'm' {
                        take()?;
                    }
                    break;
                }
                's' => {
                    let i = take()?;
                    let v = args[i];
                    if v != 0 && (!pointers.get(i).copied().unwrap_or(false) || c_string(mem, v).is_none()) {
                        return Err(format!("'%s' for argument {}, which is no NUL-terminated comptime string", i + 1));
                    }
                    break;
                }
                other => return Err(format!("the conversion '%{}' in the format {:?}", other, fmt)),
            }
        }
    }
    Ok(())
}

/// The host address behind comptime pointer `p` if it is an opaque handle to C's memory.
fn host_handle(mem: &ComptimeMemory, p: u64) -> Option<u64> {
    let id = (p >> 32) as u32;
    match mem.allocs.get(id as usize).filter(|a| id >= FIRST_ALLOC && a.live)?.kind {
        AllocKind::Foreign { host } => Some(host.wrapping_add(p as u32 as u64)),
        AllocKind::Data(_) | AllocKind::Stack | AllocKind::Heap => None,
    }
}

/// The bytes from comptime pointer `p` to the end of its allocation, if it points into a live,
/// writable comptime allocation.
fn room(mem: &ComptimeMemory, p: u64) -> Option<u64> {
    let id = (p >> 32) as u32;
    let a = mem.allocs.get(id as usize).filter(|a| id >= FIRST_ALLOC && a.live && a.writable)?;
    match a.kind {
        AllocKind::Foreign { .. } => None,
        AllocKind::Data(_) | AllocKind::Stack | AllocKind::Heap => (a.bytes.len() as u64).checked_sub(p as u32 as u64),
    }
}

/// A write C makes through pointer argument `arg`.
struct Write {
    arg: usize,
    bytes: u64,
    /// A null pointer means "no output".
    optional: bool,
}

/// `sizeof(struct tm)`, `sizeof(struct stat)` and `sizeof(struct statx)` on x86-64 and
/// aarch64 Linux (glibc).
const TM: u64 = 56;
const STAT: u64 = 144;
const STATX: u64 = 256;

/// What a C function compile-time code may call writes through its pointer arguments, from
/// its arguments. (`sprintf` is sized by [`crate::ffi`], which runs `snprintf(NULL, 0, …)`
/// with the same arguments first.)
fn writes(name: &str, arg: &dyn Fn(usize) -> i64, mem: &ComptimeMemory) -> Result<Vec<Write>, String> {
    let n = |i: usize| arg(i).max(0) as u64;
    let w = |arg: usize, bytes: u64| Write { arg, bytes, optional: false };
    let opt = |arg: usize, bytes: u64| Write { arg, bytes, optional: true };
    let len = |i: usize| -> Result<u64, String> {
        mem.strlen(arg(i) as u64).map_err(|e| format!("in the call of C function `{}`: argument {}: {}", name, i + 1, e))
    };
    Ok(match name {
        "snprintf" | "bzero" | "explicit_bzero" | "fgets" => vec![w(0, n(1))],
        "strncpy" | "stpncpy" | "strxfrm" => vec![w(0, n(2))],
        "memccpy" => vec![w(0, n(3))],
        "strerror_r" | "fstat" => vec![if name == "fstat" { w(1, STAT) } else { w(1, n(2)) }],
        "strftime" => vec![w(0, n(1))],
        "inet_ntop" => vec![w(2, n(3))],
        "inet_pton" => vec![w(2, if arg(0) == 2 { 4 } else { 16 })],
        "inet_aton" => vec![w(1, 4)],
        "asctime_r" | "ctime_r" => vec![w(1, 26)],
        "gmtime_r" | "localtime_r" => vec![w(1, TM)],
        "mktime" | "timegm" => vec![w(0, TM)],
        "time" => vec![opt(0, 8)],
        "clock_getres" => vec![opt(1, 16)],
        "gettimeofday" => vec![w(0, 16), opt(1, 8)],
        "strtol" | "strtoll" | "strtoul" | "strtoull" | "strtod" | "strtof" | "strtold" | "strtoimax" | "strtoumax" => {
            vec![opt(1, 8)]
        }
        "frexp" | "frexpf" | "frexpl" | "modff" => vec![w(1, 4)],
        "modf" => vec![w(1, 8)],
        "modfl" => vec![w(1, 16)],
        "remquo" | "remquof" | "remquol" => vec![w(2, 4)],
        "rand_r" => vec![w(0, 4)],
        "erand48" | "nrand48" | "jrand48" => vec![w(0, 6)],
        "qsort" => vec![w(0, n(1).saturating_mul(n(2)))],
        "fread" | "pread" => vec![if name == "fread" { w(0, n(1).saturating_mul(n(2))) } else { w(1, n(2)) }],
        "strcpy" | "stpcpy" => vec![w(0, len(1)? + 1)],
        "strcat" => vec![w(0, len(0)? + len(1)? + 1)],
        "strncat" => vec![w(0, len(0)? + len(1)?.min(n(2)) + 1)],
        "stat" | "lstat" => vec![w(1, STAT)],
        "fstatat" => vec![w(2, STAT)],
        "statx" => vec![w(4, STATX)],
        "readlink" => vec![w(1, n(2))],
        "readlinkat" => vec![w(2, n(3))],
        "realpath" => vec![opt(1, 4096)],
        "tmpnam" => vec![opt(0, 20)],
        "wait" => vec![opt(0, 4)],
        "waitpid" => vec![opt(1, 4)],
        "readv" | "preadv" => iovecs(mem, arg(1) as u64, n(2)).map_err(|e| format!("in the call of C function `{}`: {}", name, e))?,
        _ => Vec::new(),
    })
}

/// The writes `readv` makes into the `count` buffers of the `iovec` array at `iov`, checked
/// here (each `iov_base` must have room for its `iov_len`); the result is empty on success.
fn iovecs(mem: &ComptimeMemory, iov: u64, count: u64) -> Result<Vec<Write>, String> {
    let bytes = mem.read_bytes(iov, count.saturating_mul(16)).map_err(|e| e.to_string())?;
    for (k, v) in bytes.chunks_exact(16).enumerate() {
        let word = |o: usize| u64::from_le_bytes([v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], v[o + 5], v[o + 6], v[o + 7]]);
        let (base, len) = (word(0), word(8));
        if len > 0 && room(mem, base).is_none_or(|r| r < len) {
            return Err(format!("iovec {} does not describe a writable comptime buffer of {} bytes", k, len));
        }
    }
    Ok(Vec::new())
}

/// The path whose NUL-terminated bytes are at comptime pointer `p`, if they are there (the
/// bytes C will see, not a lossy decoding).
fn c_path(mem: &ComptimeMemory, p: i64) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let p = p as u64;
    let n = mem.strlen(p).ok()?;
    mem.read_bytes(p, n).ok().map(|b| PathBuf::from(std::ffi::OsStr::from_bytes(b)))
}

/// The NUL-terminated string at comptime pointer `p`, if it is one.
fn c_string(mem: &ComptimeMemory, p: i64) -> Option<String> {
    let p = p as u64;
    let n = mem.strlen(p).ok()?;
    mem.read_bytes(p, n).ok().map(|b| String::from_utf8_lossy(b).into_owned())
}

fn quoted(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("'{}'", p.display()),
        None => "a path that is no string".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_and_classify() {
        assert_eq!(Permission::parse_list("fs-write, process").unwrap(), vec![Permission::FsWrite, Permission::Process]);
        assert!(Permission::parse_list("net").is_err());
        assert!(matches!(rule("sqrtf"), Rule::Pure));
        assert!(matches!(rule("system"), Rule::Needs(Permission::Process)));
        assert!(matches!(rule("syscall"), Rule::Needs(Permission::Ffi)));
        assert!(matches!(rule("unlink"), Rule::Needs(Permission::FsWrite)));
        let mut sb = Sandbox::new(VmPolicy::sandboxed(vec![], &[]));
        let mem = ComptimeMemory::new(1 << 20);
        let e = sb.check_foreign("system", &[0], &[true], &mem).unwrap_err();
        assert_eq!(e, "compile-time call to 'system' is not allowed under --sandbox (needs --comptime-allow=process)");
        assert!(sb.check_foreign("strlen", &[0], &[true], &mem).is_ok());
        assert!(sb.write_fd("write", 1).is_ok() && sb.write_fd("write", 5).is_err());
        let mut open = Sandbox::new(VmPolicy::default());
        assert!(open.check_foreign("system", &[0], &[true], &mem).is_ok());
    }
}
