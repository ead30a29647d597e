//! Pointers across a comptime C call ([`crate::ffi`]): comptime pointers become host addresses
//! of guarded buffers before the call, host addresses C produced become comptime pointers or
//! opaque handles after it, and a fault C raised is explained in terms of the arguments.

use std::collections::BTreeMap;

use crate::fault_trap::CFault;
use crate::guard_pages::page_size;
use crate::memory::{AllocKind, ComptimeMemory, FIRST_ALLOC, FUNC_ALLOC};

/// The message for an sx function pointer handed to C (C cannot call back into the VM yet).
pub(crate) const CALLBACK_UNSUPPORTED: &str =
    "not supported yet: C calling back into compile-time code (an sx function pointer passed to C)";

/// An allocation whose bytes C may see during one call.
pub(crate) struct Exposed {
    pub id: u32,
    pub base: u64,
    pub len: u64,
    /// The argument (0-based) through which C reached it.
    pub arg: usize,
    /// Reached through a pointer stored in another exposed allocation, not the argument itself.
    pub nested: bool,
    /// Whether its buffer ends at a guard page.
    pub guarded: bool,
    /// Where its bytes before the call start in the call's snapshot (writable ones only).
    pub snapshot: Option<usize>,
}

/// A pointer word inside an exposed allocation, replaced by a host address for the call.
pub(crate) struct Patched {
    pub id: u32,
    pub off: usize,
    pub original: u64,
    pub host: u64,
}

/// Where the guarded allocations live on the host: the end address of each buffer (its guard
/// page) → alloc id. Guard pages are reused with their slots, so this stays as small as the
/// slot pool; an entry is trusted only while the allocation is live and still ends there.
#[derive(Default)]
pub(crate) struct Homes {
    by_end: BTreeMap<u64, u32>,
}

impl Homes {
    /// The comptime pointer for host address `h` if it lies inside (or one past the end of) a
    /// live guarded allocation.
    pub(crate) fn find(&self, mem: &ComptimeMemory, h: u64) -> Option<u64> {
        let (&end, &id) = self.by_end.range(h..).next()?;
        let a = mem.allocs.get(id as usize).filter(|a| a.live && a.bytes.is_guarded() && a.bytes.end_address() == end)?;
        let base = end - a.bytes.len() as u64;
        (h >= base).then(|| ((id as u64) << 32) | (h - base))
    }
}

/// The host address behind `v` when it is an opaque handle (a host address C wrote that the VM
/// keeps as an allocation of its own, see `settle`), whatever the type it travels in: C may
/// hand out an address as an integer (`pthread_t`) and expect it back the same way.
pub(crate) fn handle_host(mem: &ComptimeMemory, v: u64) -> Option<u64> {
    let id = (v >> 32) as u32;
    let a = mem.allocs.get(id as usize).filter(|a| id >= FIRST_ALLOC && a.live)?;
    let AllocKind::Foreign { host } = a.kind else { return None };
    Some(host.wrapping_add(v as u32 as u64))
}

/// The host address of comptime pointer `v`, exposing (and guarding) its allocation; `arg` and
/// `nested` say how C reaches it.
pub(crate) fn to_host(
    mem: &mut ComptimeMemory,
    homes: &mut Homes,
    v: u64,
    cstring: bool,
    (arg, nested): (usize, bool),
    exposed: &mut Vec<Exposed>,
) -> Result<u64, String> {
    let id = (v >> 32) as u32;
    let off = v as u32 as u64;
    if v == 0 {
        return Ok(0);
    }
    if id < FUNC_ALLOC {
        return Err(format!("the integer {:#x} is not a pointer C could use", v));
    }
    if id == FUNC_ALLOC {
        return Err(CALLBACK_UNSUPPORTED.to_string());
    }
    let Some(a) = mem.allocs.get_mut(id as usize).filter(|_| id >= FIRST_ALLOC) else {
        return Err(format!("{:#x} is not a valid pointer", v));
    };
    if !a.live {
        return Err(format!("a pointer to freed memory (#{}) is passed to C", id));
    }
    if let AllocKind::Foreign { host } = a.kind {
        return Ok(host.wrapping_add(off));
    }
    let len = a.bytes.len() as u64;
    if off > len {
        return Err(format!("a pointer {} bytes past the start of an allocation of {} bytes (#{}) is passed to C", off, len, id));
    }
    if cstring && !a.bytes[off as usize..].contains(&0) {
        return Err(format!("a string without a NUL terminator inside its allocation (#{}) is passed to C as a cstring", id));
    }
    if !cfg!(feature = "ffi-no-containment") && !a.bytes.is_guarded() && a.bytes.guard() {
        homes.by_end.insert(a.bytes.end_address(), id);
    }
    let base = a.bytes.as_ptr() as u64;
    if !exposed.iter().any(|e| e.id == id) {
        exposed.push(Exposed { id, base, len, arg, nested, guarded: a.bytes.is_guarded(), snapshot: None });
    }
    Ok(base + off)
}

/// The comptime pointer for host address `h` if it lies inside an exposed allocation (one past
/// the end counts when no allocation contains it).
pub(crate) fn from_host(exposed: &[Exposed], h: u64) -> Option<u64> {
    let inside = exposed.iter().find(|e| h >= e.base && h - e.base < e.len);
    let end = || exposed.iter().find(|e| h >= e.base && h - e.base == e.len && e.len > 0);
    inside.or_else(end).map(|e| ((e.id as u64) << 32) | (h - e.base))
}

/// Replaces the pointers stored inside the exposed allocations (one level, by the provenance
/// marks) by host addresses, exposing what they point to; returns the replaced words.
pub(crate) fn patch_nested(mem: &mut ComptimeMemory, homes: &mut Homes, exposed: &mut Vec<Exposed>) -> Vec<Patched> {
    let mut patched: Vec<Patched> = Vec::new();
    let first_level = exposed.len();
    for k in 0..first_level {
        let (id, arg) = (exposed[k].id, exposed[k].arg);
        let offs = mem.allocs[id as usize].marked_in(0, exposed[k].len as usize);
        for off in offs {
            let original = word(&mem.allocs[id as usize].bytes, off);
            let tid = (original >> 32) as u32;
            let pointee_ok = tid >= FIRST_ALLOC && mem.allocs.get(tid as usize).is_some_and(|a| a.live);
            if !pointee_ok {
                continue;
            }
            if let Ok(host) = to_host(mem, homes, original, false, (arg, true), exposed) {
                mem.allocs[id as usize].bytes[off..off + 8].copy_from_slice(&host.to_le_bytes());
                patched.push(Patched { id, off, original, host });
            }
        }
    }
    patched
}

/// Records the bytes C is about to see of every writable exposed allocation in `snapshot`, so
/// that [`settle`] finds the words C wrote.
pub(crate) fn take_snapshot(mem: &ComptimeMemory, exposed: &mut [Exposed], snapshot: &mut Vec<u8>) {
    snapshot.clear();
    for e in exposed.iter_mut() {
        let a = &mem.allocs[e.id as usize];
        if a.writable {
            e.snapshot = Some(snapshot.len());
            snapshot.extend_from_slice(&a.bytes);
        }
    }
}

/// After the call: every 8-byte word C changed in an exposed allocation that holds a host
/// address becomes a comptime pointer (inside a comptime allocation) or an opaque handle (C's
/// own memory, e.g. the `sqlite3*` that `sqlite3_open` stores through its out-parameter), marked
/// as a pointer; then the patched words C left alone get their comptime pointers back.
/// A handle needs an 8-aligned word (what C's allocators and objects give): a word that is two
/// `int`s, or an `int` and the stack garbage C leaves in struct padding, can look like a mapped
/// address (`{ int y; /* pad */ }` with a stack address's upper half in the padding), and must
/// stay the integers it is.
pub(crate) fn settle(
    mem: &mut ComptimeMemory,
    homes: &Homes,
    exposed: &[Exposed],
    patched: &[Patched],
    snapshot: &[u8],
) -> Result<(), String> {
    let unchanged = |mem: &ComptimeMemory, id: u32, base: u64, len: u64| {
        mem.allocs.get(id as usize).is_some_and(|a| a.live && a.bytes.as_ptr() as u64 == base && a.bytes.len() as u64 == len)
    };
    for e in exposed {
        let Some(at) = e.snapshot else { continue };
        if !unchanged(mem, e.id, e.base, e.len) {
            continue;
        }
        let len = e.len as usize;
        let mut off = 0;
        while off + 8 <= len {
            let w = word(&mem.allocs[e.id as usize].bytes, off);
            if w != word(&snapshot[at..at + len], off) && w >> 32 != 0 {
                let translated = match from_host(exposed, w).or_else(|| homes.find(mem, w)) {
                    Some(p) => Some(p),
                    None if w % 8 == 0 && is_host_address(w) => Some(mem.foreign_handle(w)?),
                    None => None,
                };
                if let Some(p) = translated {
                    let a = &mut mem.allocs[e.id as usize];
                    a.bytes[off..off + 8].copy_from_slice(&p.to_le_bytes());
                    a.mark_pointer(off);
                }
            }
            off += 8;
        }
    }
    for p in patched {
        let a = &mut mem.allocs[p.id as usize];
        if a.live && p.off + 8 <= a.bytes.len() && word(&a.bytes, p.off) == p.host {
            a.bytes[p.off..p.off + 8].copy_from_slice(&p.original.to_le_bytes());
        }
    }
    Ok(())
}

/// The little-endian word at `off` of `bytes` (`off + 8 <= len`).
fn word(bytes: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[off..off + 8]);
    u64::from_le_bytes(w)
}

/// Whether `w`, a word C wrote, is the address of mapped memory of this process: user space
/// above 4 GiB (where the compiler's heap and every mapping live) and on a mapped page. Small
/// integers and most others fail the range test before the one system call.
pub(crate) fn is_host_address(w: u64) -> bool {
    if !(1u64 << 32..1u64 << 47).contains(&w) {
        return false;
    }
    let page = w & !(page_size() as u64 - 1);
    // SAFETY: `msync` with MS_ASYNC on one page only asks the kernel whether it is mapped
    // (ENOMEM if not); it neither reads nor writes the memory.
    unsafe { libc::msync(page as *mut libc::c_void, page_size(), libc::MS_ASYNC) == 0 }
}

/// What a comptime allocation is, for a diagnostic.
fn what(mem: &ComptimeMemory, id: u32) -> String {
    match mem.allocs.get(id as usize).map(|a| a.kind) {
        Some(AllocKind::Stack) => "a stack slot".to_string(),
        Some(AllocKind::Heap) => "a heap allocation".to_string(),
        Some(AllocKind::Data(d)) => format!("static data {}", d),
        Some(AllocKind::Foreign { .. }) | None => "an allocation".to_string(),
    }
}

/// Explains fault `f` of the C call: which argument's buffer C ran past, or the address.
pub(crate) fn fault_message(mem: &ComptimeMemory, exposed: &[Exposed], f: &CFault) -> String {
    let head = format!("C faulted ({})", f.describe());
    let tail = "; the call was abandoned";
    if !f.is_memory_access() {
        return format!("{}{}", head, tail);
    }
    let page = page_size() as u64;
    let past = exposed.iter().find(|e| e.guarded && f.addr >= e.base + e.len && f.addr - (e.base + e.len) < page);
    if let Some(e) = past {
        let through = if e.nested { format!("a buffer reached through argument {}", e.arg + 1) } else { format!("argument {}", e.arg + 1) };
        let beyond = f.addr - (e.base + e.len);
        return format!(
            "{} at byte {} past the end of {}, {} of {} bytes (#{}){}",
            head,
            beyond,
            through,
            what(mem, e.id),
            e.len,
            e.id,
            tail
        );
    }
    if f.addr < page {
        return format!("{} on a null pointer (address {:#x}){}", head, f.addr, tail);
    }
    format!("{} at address {:#x}, which is not memory C may use{}", head, f.addr, tail)
}
