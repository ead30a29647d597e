//! Native implementations of the C functions evaluated code may call (by `ExternFunc.symbol`):
//! those that act on comptime memory (`malloc`, `free`, `memcpy`, …) or on the process (`write`
//! and `read` through the [`VmHost`], `exit`), and a few pure ones. Other externs are
//! foreign calls ([`crate::ffi`]).
//!
//! Arguments are interpreted through the extern's declared signature (an `i32` parameter is
//! sign-extended, an `f32` promoted), and results converted back to the declared return type.
//! Pointers are comptime pointers: every byte the C function would touch is bounds-checked.
//! Under `--sandbox`, `write` reaches only stdout, stderr and descriptors compile-time code
//! opened, and `read` only the latter ([`crate::policy`]).

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sx_ir::{ExternFunc, Type};

use crate::bytecode::Native;
use crate::host::VmHost;
use crate::memory::ComptimeMemory;
use crate::policy::Sandbox;
use crate::width::W;

/// Result of a native call: `Some(code)` when the program exits.
pub(crate) type NativeResult = Result<Option<i32>, String>;

fn arity(n: Native) -> usize {
    use Native::*;
    match n {
        Abort | ComptimeFrames => 0,
        Malloc | Free | Strlen | Exit | Puts | Putchar | Toupper | Tolower | Abs | Labs | Sqrt | Sin | Cos | Floor | Ceil | Fabs => 1,
        Calloc | Realloc | Pow | ClockGettime => 2,
        Write | Read | Memcpy | Memmove | Memset | Memcmp => 3,
    }
}

struct Args<'a> {
    vals: [u64; 4],
    ext: &'a ExternFunc,
}

impl Args<'_> {
    fn ty(&self, i: usize) -> Type {
        self.ext.sig.params.get(i).copied().unwrap_or(Type::I64)
    }
    fn int(&self, i: usize) -> i64 {
        W::of(self.ty(i)).sext(self.vals[i])
    }
    fn uint(&self, i: usize) -> u64 {
        self.vals[i]
    }
    fn flt(&self, i: usize) -> f64 {
        let v = self.vals[i];
        match self.ty(i) {
            Type::F32 => f32::from_bits(v as u32) as f64,
            Type::F64 => f64::from_bits(v),
            t => W::of(t).sext(v) as f64,
        }
    }
}

fn ret_int(ext: &ExternFunc, v: i64) -> Option<u64> {
    let t = ext.sig.returns.first().copied()?;
    Some(match t {
        Type::F32 => (v as f32).to_bits() as u64,
        Type::F64 => (v as f64).to_bits(),
        t => W::of(t).mask(v as u64),
    })
}

fn ret_flt(ext: &ExternFunc, v: f64) -> Option<u64> {
    let t = ext.sig.returns.first().copied()?;
    Some(match t {
        Type::F32 => (v as f32).to_bits() as u64,
        Type::F64 => v.to_bits(),
        t => W::of(t).mask(v as i64 as u64),
    })
}

fn monotonic_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

impl Native {
    /// Whether the function allocates or frees heap memory (its call site is recorded).
    pub(crate) fn allocates(self) -> bool {
        matches!(self, Native::Malloc | Native::Calloc | Native::Realloc | Native::Free)
    }
}

/// Calls `native` with the arguments listed at `extra[list..]` (`[nargs, args.., nres, res..]`);
/// `site` is the code position recorded for heap allocations and frees.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn call(
    native: Native,
    ext: &ExternFunc,
    mem: &mut ComptimeMemory,
    host: &mut dyn VmHost,
    regs: &mut [u64],
    extra: &[u32],
    list: u32,
    site: crate::memory::Site,
    sandbox: &Sandbox,
) -> NativeResult {
    let l = extra.get(list as usize..).unwrap_or(&[]);
    let nargs = l.first().copied().unwrap_or(0) as usize;
    let need = arity(native);
    if nargs < need || l.len() < nargs + 2 {
        return Err(format!("extern function `{}` is declared with {} parameters, but the C function takes {}", ext.symbol, nargs, need));
    }
    let mut vals = [0u64; 4];
    for (i, v) in vals.iter_mut().enumerate().take(need) {
        *v = regs.get(l[1 + i] as usize).copied().unwrap_or(0);
    }
    let a = Args { vals, ext };
    let name = ext.symbol.as_str();
    let memerr = |e: crate::memory::MemFault| format!("in `{}`: {}", name, e);
    use Native::*;
    let result: Option<u64> = match native {
        Write => {
            let fd = a.int(0) as i32;
            if sandbox.policy.sandbox {
                sandbox.write_fd(name, fd as i64)?;
            }
            let len = a.uint(2);
            let bytes = mem.read_bytes(a.uint(1), len).map_err(memerr)?;
            let n = host.write(fd, bytes);
            ret_int(ext, n)
        }
        Read => {
            let (fd, ptr, len) = (a.int(0) as i32, a.uint(1), a.uint(2));
            if sandbox.policy.sandbox {
                sandbox.read_fd(name, fd as i64)?;
            }
            // The whole buffer must be writable comptime memory before anything is read.
            mem.bytes_mut(ptr, len).map_err(memerr)?;
            let mut tmp = vec![0u8; len as usize];
            let n = host.read(fd, &mut tmp);
            if n > 0 {
                mem.write_bytes(ptr, &tmp[..(n as usize).min(tmp.len())]).map_err(memerr)?;
            }
            ret_int(ext, n)
        }
        ComptimeFrames => return Err("malformed module: the frame printout is not an extern".to_string()),
        Malloc => ret_int(ext, mem.alloc_at(a.uint(0), site)? as i64),
        Calloc => match a.uint(0).checked_mul(a.uint(1)) {
            Some(n) => ret_int(ext, mem.alloc_at(n, site)? as i64),
            None => ret_int(ext, 0),
        },
        Realloc => ret_int(ext, mem.realloc_at(a.uint(0), a.uint(1), site)? as i64),
        Free => {
            mem.free_at(a.uint(0), site)?;
            ret_int(ext, 0)
        }
        Memcpy | Memmove => {
            mem.copy(a.uint(0), a.uint(1), a.uint(2)).map_err(memerr)?;
            ret_int(ext, a.uint(0) as i64)
        }
        Memset => {
            mem.fill(a.uint(0), a.int(1) as u8, a.uint(2)).map_err(memerr)?;
            ret_int(ext, a.uint(0) as i64)
        }
        Memcmp => {
            let n = a.uint(2);
            let r = if n == 0 {
                0
            } else {
                let x = mem.read_bytes(a.uint(0), n).map_err(memerr)?;
                let y = mem.read_bytes(a.uint(1), n).map_err(memerr)?;
                match x.iter().zip(y).find(|(p, q)| p != q) {
                    Some((p, q)) => *p as i64 - *q as i64,
                    None => 0,
                }
            };
            ret_int(ext, r)
        }
        Strlen => ret_int(ext, mem.strlen(a.uint(0)).map_err(memerr)? as i64),
        Exit => return Ok(Some(a.int(0) as i32)),
        Abort => return Err("the program called abort()".to_string()),
        Puts => {
            let p = a.uint(0);
            let n = mem.strlen(p).map_err(memerr)?;
            let mut s = mem.read_bytes(p, n).map_err(memerr)?.to_vec();
            s.push(b'\n');
            let r = if host.write(1, &s) < 0 { -1 } else { s.len() as i64 };
            ret_int(ext, r)
        }
        Putchar => {
            let c = a.int(0) as u8;
            let r = if host.write(1, &[c]) < 0 { -1 } else { c as i64 };
            ret_int(ext, r)
        }
        Toupper | Tolower => {
            let c = a.int(0);
            let r = if (0..=255).contains(&c) {
                let b = c as u8;
                (if native == Toupper { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() }) as i64
            } else {
                c
            };
            ret_int(ext, r)
        }
        Abs => ret_int(ext, (a.int(0) as i32).wrapping_abs() as i64),
        Labs => ret_int(ext, a.int(0).wrapping_abs()),
        Sqrt => ret_flt(ext, a.flt(0).sqrt()),
        Sin => ret_flt(ext, a.flt(0).sin()),
        Cos => ret_flt(ext, a.flt(0).cos()),
        Floor => ret_flt(ext, a.flt(0).floor()),
        Ceil => ret_flt(ext, a.flt(0).ceil()),
        Fabs => ret_flt(ext, a.flt(0).abs()),
        Pow => ret_flt(ext, a.flt(0).powf(a.flt(1))),
        ClockGettime => {
            let (sec, nsec) = if a.int(0) == 0 {
                let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                (d.as_secs() as i64, d.subsec_nanos() as i64)
            } else {
                // A monotonic clock starting one second after an arbitrary epoch.
                let d = monotonic_base().elapsed();
                (d.as_secs() as i64 + 1, d.subsec_nanos() as i64)
            };
            let ts = a.uint(1);
            mem.store(ts, 8, sec as u64).map_err(memerr)?;
            mem.store(ts.wrapping_add(8), 8, nsec as u64).map_err(memerr)?;
            ret_int(ext, 0)
        }
    };
    let nres = l[1 + nargs] as usize;
    if nres > 0 {
        let v = result.unwrap_or(0);
        if let Some(&r) = l.get(2 + nargs) {
            if let Some(slot) = regs.get_mut(r as usize) {
                *slot = v;
            }
        }
    }
    Ok(None)
}
