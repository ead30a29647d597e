//! [`ComptimeMemory`]: byte-addressable memory at the target's layout, with allocation-based
//! pointers (the rustc const-eval / Miri model).
//!
//! A pointer is `u64 = (alloc_id << 32) | offset`. Alloc id 0 is null; ids below
//! [`FIRST_ALLOC`] are never handed out (so integers below 2^42 never look like pointers), except
//! [`FUNC_ALLOC`], which encodes function addresses (offset = function index); every other id
//! names one allocation: a static data object, a stack slot or a heap block. Ids are never reused, so a dangling pointer is always detected. Every access checks
//! null, freed allocations, bounds (`offset + size <= len`), natural alignment (an access of
//! `n` = 2, 4 or 8 bytes needs `offset % n == 0`; every allocation's base counts as aligned to
//! anything, so this is the alignment native code sees given the target's layout) and writes
//! to read-only data.
//!
//! **Provenance.** The IR has no pointer type (pointers are pointer-sized integers), so the VM
//! cannot know for certain that a stored value is a pointer. It records what it can: a 64-bit
//! store of an integer (not of a float; or a copy of such a word by `memcpy`/`realloc`, or a
//! relocation of static data, or a pointer a C function wrote during a comptime FFI call) whose
//! high half is an id in use (`1 <= id <` number of ids: an allocation or the function-address
//! id) marks that 8-byte word of the destination allocation as holding a pointer
//! ([`ComptimeMemory::pointer_offsets`]). Marks are not cleared by later stores; readers re-check the word's
//! current value ([`ComptimeMemory::decode`]). Limits: a pointer written in pieces (two 32-bit
//! stores, byte copies at a different alignment) is not marked, and a 64-bit integer that
//! happens to equal a pointer (`id << 32 | offset`; ids start at [`FIRST_ALLOC`], so only
//! integers of at least 2^42) is indistinguishable from one; the baker trusts the static type
//! where it says plain data.
//!
//! **Host pointers** exist only during a comptime FFI call ([`crate::ffi`]): an allocation's
//! buffer moves against a guard page the first time C sees it and never moves again
//! ([`crate::guard_pages`]), and every host address C returns or stores is translated back into
//! a comptime pointer, copied, or wrapped as an opaque [`AllocKind::Foreign`] handle that
//! comptime code cannot dereference.

use std::fmt;

use sx_ir::entity::EntityRef;
use sx_ir::{DataId, FuncId, Module, RelocTarget};

use crate::guard_pages::AllocBytes;

/// The first id of a real allocation. The ids below it are placeholders without bytes, so that
/// integers below `FIRST_ALLOC << 32` (2^42) never decode as pointers.
pub const FIRST_ALLOC: u32 = 1024;
/// The reserved alloc id of function addresses: the placeholder right below [`FIRST_ALLOC`], so
/// one range check on the high half recognises every pointer (provenance).
pub const FUNC_ALLOC: u32 = FIRST_ALLOC - 1;

/// Whether `id` is null or a placeholder below the first allocation (not [`FUNC_ALLOC`]).
fn is_unused_id(id: u64) -> bool {
    id < FUNC_ALLOC as u64
}
/// Allocation ids stop before this (ids near the top are reserved).
const MAX_ALLOC_ID: u64 = 0xFFFF_FF00;

/// The pointer `FuncAddr func` yields.
pub fn func_ptr(func: u32) -> u64 {
    ((FUNC_ALLOC as u64) << 32) | func as u64
}

/// What a pointer value refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PointerTarget {
    /// The null pointer (0).
    Null,
    /// Inside (or one past) static data object `DataId`.
    Data(DataId, u64),
    /// Inside a live heap allocation.
    Heap { alloc: u32, offset: u64 },
    /// Inside a live stack slot.
    Stack { alloc: u32, offset: u64 },
    /// A function address.
    Func(FuncId),
    /// An allocation that has been freed.
    Dangling { alloc: u32, offset: u64 },
    /// An opaque handle for host memory a C function returned (never dereferenceable).
    Foreign { host: u64, offset: u64 },
    /// Not a pointer this memory produced.
    Invalid,
}

/// What an allocation is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AllocKind {
    Data(DataId),
    Stack,
    Heap,
    /// An opaque handle (no bytes) for the host address a C function returned.
    Foreign {
        host: u64,
    },
}

/// A code position of the executor (an index into its op array, plus one); 0 = unknown. The
/// executor maps it to a source span.
pub type Site = u32;

/// One allocation. Laid out so that what every access reads (the buffer, its access bounds,
/// `writable`) shares the first half of one cache line.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Alloc {
    /// The bytes; allocations never grow (realloc makes a new one). Moved against a guard page
    /// when first handed to C ([`crate::guard_pages`]).
    pub bytes: AllocBytes,
    /// `bytes.len() >> k` for k = 1..=3: the bounds of 2-, 4- and 8-byte accesses, see
    /// [`in_bounds_aligned`] (0 once freed).
    units: [u32; 3],
    pub writable: bool,
    pub live: bool,
    /// Where a heap block was allocated and freed.
    pub alloc_site: Site,
    pub free_site: Site,
    pub kind: AllocKind,
    /// Provenance bitmap: bit `i` is set when a pointer was stored at offset `8 * i` (see the
    /// module docs). None until the first pointer store.
    ptr_words: Option<Box<Vec<u64>>>,
}

/// Byte offsets inside one [`Alloc`] (64 bytes) that compiled code reads ([`crate::jit`]): the
/// buffer's address and length, the access bounds `units` (three `u32`) and `writable` (a byte).
pub(crate) const ALLOC_BYTES_PTR: usize = std::mem::offset_of!(Alloc, bytes) + crate::guard_pages::BYTES_PTR_OFFSET;
/// See [`ALLOC_BYTES_PTR`].
pub(crate) const ALLOC_BYTES_LEN: usize = std::mem::offset_of!(Alloc, bytes) + crate::guard_pages::BYTES_LEN_OFFSET;
/// See [`ALLOC_BYTES_PTR`].
pub(crate) const ALLOC_UNITS: usize = std::mem::offset_of!(Alloc, units);
/// See [`ALLOC_BYTES_PTR`].
pub(crate) const ALLOC_WRITABLE: usize = std::mem::offset_of!(Alloc, writable);

impl Alloc {
    fn new(bytes: Vec<u8>, kind: AllocKind, writable: bool, live: bool) -> Alloc {
        let n = bytes.len() as u32;
        Alloc {
            bytes: AllocBytes::from_vec(bytes),
            units: [n >> 1, n >> 2, n >> 3],
            writable,
            live,
            alloc_site: 0,
            free_site: 0,
            kind,
            ptr_words: None,
        }
    }

    /// Frees the bytes and the marks.
    fn release(&mut self) {
        self.bytes = AllocBytes::empty();
        self.units = [0; 3];
        self.ptr_words = None;
    }

    fn marks(&self) -> &[u64] {
        self.ptr_words.as_deref().map_or(&[], |v| v.as_slice())
    }

    /// Marks the 8-byte word at `off` (a multiple of 8) as holding a pointer.
    #[cold]
    #[inline(never)]
    pub(crate) fn mark_pointer(&mut self, off: usize) {
        let w = off / 8;
        let (i, bit) = (w / 64, w % 64);
        let v = self.ptr_words.get_or_insert_with(Default::default);
        if v.len() <= i {
            v.resize(i + 1, 0);
        }
        v[i] |= 1 << bit;
    }

    /// Clears the marks of every word overlapping `[off, off + len)`.
    fn clear_marks(&mut self, off: usize, len: usize) {
        let Some(v) = self.ptr_words.as_mut() else { return };
        if len == 0 {
            return;
        }
        let (first, last) = (off / 8, (off + len - 1) / 8);
        for w in first..=last {
            match v.get_mut(w / 64) {
                Some(m) => *m &= !(1 << (w % 64)),
                None => break,
            }
        }
    }

    /// Offsets of the marked words inside `[off, off + len)`.
    pub(crate) fn marked_in(&self, off: usize, len: usize) -> Vec<usize> {
        let mut v = Vec::new();
        for (i, &m) in self.marks().iter().enumerate() {
            let mut bits = m;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let o = (i * 64 + b) * 8;
                if o >= off && o + 8 <= off + len {
                    v.push(o);
                }
            }
        }
        v
    }
}

/// Whether `v` looks like a pointer this memory produced: its high half is an id in use
/// (`FUNC_ALLOC <= id < n`: the function-address id or an allocation).
#[inline(always)]
pub(crate) fn is_pointer_tag(v: u64, n: usize) -> bool {
    (v >> 32).wrapping_sub(FUNC_ALLOC as u64) < (n as u64).wrapping_sub(FUNC_ALLOC as u64)
}

/// Why an access failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemFaultKind {
    Null,
    Freed,
    OutOfBounds,
    Misaligned,
    ReadOnly,
    FuncPtr,
    /// Through an opaque handle for host memory returned by C.
    Opaque,
    Invalid,
}

/// A failed access of `size` bytes at `addr`, with the allocation's length when it has one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemFault {
    pub kind: MemFaultKind,
    pub addr: u64,
    pub size: u64,
    pub write: bool,
    pub alloc_len: u64,
    pub alloc_kind: Option<AllocKind>,
}

impl fmt::Display for MemFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.addr >> 32;
        let off = self.addr as u32;
        let what = match self.alloc_kind {
            Some(AllocKind::Heap) => "heap allocation".to_string(),
            Some(AllocKind::Stack) => "stack slot".to_string(),
            Some(AllocKind::Data(d)) => format!("static data {}", d),
            Some(AllocKind::Foreign { .. }) => "opaque C pointer".to_string(),
            None => "allocation".to_string(),
        };
        let access = if self.write { "store" } else { "load" };
        match self.kind {
            MemFaultKind::Null => write!(f, "null pointer dereference (address {:#x}, {} bytes)", self.addr, self.size),
            MemFaultKind::Freed => {
                write!(f, "use after free: access of {} bytes at offset {} of a freed {} (#{})", self.size, off, what, id)
            }
            MemFaultKind::OutOfBounds => {
                write!(f, "out of bounds access: {} bytes at offset {} of a {} of {} bytes (#{})", self.size, off, what, self.alloc_len, id)
            }
            MemFaultKind::Misaligned => write!(
                f,
                "misaligned access: {}-byte {} at offset {} of a {} of {} bytes (#{}); it needs {}-byte alignment",
                self.size, access, off, what, self.alloc_len, id, self.size
            ),
            MemFaultKind::ReadOnly => write!(f, "write to read-only memory ({} at offset {})", what, off),
            MemFaultKind::FuncPtr => write!(f, "memory access through a function pointer"),
            MemFaultKind::Opaque => write!(
                f,
                "dereference of an opaque pointer returned by a C function (host address {:#x}); comptime code cannot access host memory",
                match self.alloc_kind {
                    Some(AllocKind::Foreign { host }) => host.wrapping_add(off as u64),
                    _ => 0,
                }
            ),
            MemFaultKind::Invalid => write!(f, "access through an invalid pointer {:#x}", self.addr),
        }
    }
}

/// Comptime memory: the allocation table.
#[derive(Debug)]
pub struct ComptimeMemory {
    pub(crate) allocs: Vec<Alloc>,
    /// `DataId` → alloc id (0 = not created yet).
    data_alloc: Vec<u32>,
    /// Host address → alloc id of its opaque [`AllocKind::Foreign`] handle.
    foreign_handles: std::collections::HashMap<u64, u32>,
    live: u64,
    limit: u64,
    /// Allocation and free sites of the heap block behind the last use-after-free or double
    /// free detected (read once by the executor's error path).
    fault_sites: std::cell::Cell<Option<(Site, Site)>>,
    /// Compile-time evaluation (true) or a whole program run on the VM: what the
    /// [`sx_ir::COMPTIME_FLAG_DATA`] byte reads.
    pub(crate) comptime_stage: bool,
}

impl ComptimeMemory {
    /// Empty memory allowing `limit` live bytes.
    pub fn new(limit: u64) -> ComptimeMemory {
        let placeholders = (0..FIRST_ALLOC).map(|_| Alloc::new(Vec::new(), AllocKind::Heap, false, false)).collect();
        ComptimeMemory {
            allocs: placeholders,
            data_alloc: Vec::new(),
            foreign_handles: std::collections::HashMap::new(),
            live: 0,
            limit,
            fault_sites: std::cell::Cell::new(None),
            comptime_stage: true,
        }
    }

    /// The allocation and free sites recorded with the last use-after-free or double free
    /// (cleared by reading).
    pub fn take_fault_sites(&self) -> Option<(Site, Site)> {
        self.fault_sites.take()
    }

    /// Total live bytes.
    pub fn live_bytes(&self) -> u64 {
        self.live
    }

    /// Creates a zeroed allocation of `size` bytes and returns its pointer.
    pub fn alloc(&mut self, size: u64, kind: AllocKind) -> Result<u64, String> {
        if size > self.limit || self.live + size > self.limit {
            return Err(format!(
                "comptime memory limit exceeded: allocating {} bytes with {} bytes live (limit {} bytes)",
                size, self.live, self.limit
            ));
        }
        if size > u32::MAX as u64 {
            return Err(format!("allocation of {} bytes is too large for comptime memory", size));
        }
        let id = self.allocs.len() as u64;
        if id >= MAX_ALLOC_ID {
            return Err("comptime memory ran out of allocation ids".to_string());
        }
        let writable = !matches!(kind, AllocKind::Data(_));
        self.allocs.push(Alloc::new(vec![0; size as usize], kind, writable, true));
        self.live += size;
        Ok(id << 32)
    }

    /// `malloc` at code position `site` (remembered for use-after-free diagnostics).
    pub fn alloc_at(&mut self, size: u64, site: Site) -> Result<u64, String> {
        let p = self.alloc(size, AllocKind::Heap)?;
        self.allocs[(p >> 32) as usize].alloc_site = site;
        Ok(p)
    }

    /// The opaque handle (a pointer without bytes) standing for host address `host`; the same
    /// address always gives the same handle.
    pub fn foreign_handle(&mut self, host: u64) -> Result<u64, String> {
        if let Some(&id) = self.foreign_handles.get(&host) {
            return Ok((id as u64) << 32);
        }
        let p = self.alloc(0, AllocKind::Foreign { host })?;
        let id = (p >> 32) as u32;
        self.allocs[id as usize].writable = false;
        self.foreign_handles.insert(host, id);
        Ok(p)
    }

    /// Frees the allocation `id` (no checks; used for stack slots).
    #[inline]
    pub(crate) fn free_id(&mut self, id: u32) {
        if let Some(a) = self.allocs.get_mut(id as usize) {
            if a.live {
                self.live -= a.bytes.len() as u64;
                a.live = false;
                a.release();
            }
        }
    }

    /// `free(ptr)` for heap pointers: null is a no-op; anything but the start of a live heap
    /// allocation is an error.
    pub fn free(&mut self, ptr: u64) -> Result<(), String> {
        self.free_at(ptr, 0)
    }

    /// `free(ptr)` at code position `site` (remembered for use-after-free diagnostics).
    pub fn free_at(&mut self, ptr: u64, site: Site) -> Result<(), String> {
        if ptr == 0 {
            return Ok(());
        }
        let id = (ptr >> 32) as usize;
        let off = ptr as u32;
        if id == FUNC_ALLOC as usize {
            return Err("free of a function pointer".to_string());
        }
        if is_unused_id(id as u64) {
            return Err(format!("free of an invalid pointer {:#x}", ptr));
        }
        match self.allocs.get(id) {
            Some(a) if id != 0 && a.kind == AllocKind::Heap => {
                if !a.live {
                    self.fault_sites.set(Some((a.alloc_site, a.free_site)));
                    return Err(format!("double free of heap allocation #{}", id));
                }
                if off != 0 {
                    return Err(format!("free of a pointer into the middle of heap allocation #{} (offset {})", id, off));
                }
                self.free_id(id as u32);
                self.allocs[id].free_site = site;
                Ok(())
            }
            Some(a) if id != 0 => Err(format!(
                "free of a pointer that was not returned by malloc ({})",
                match a.kind {
                    AllocKind::Stack => "a stack slot".to_string(),
                    AllocKind::Data(d) => format!("static data {}", d),
                    AllocKind::Heap => "heap".to_string(),
                    AllocKind::Foreign { .. } => "an opaque pointer returned by a C function".to_string(),
                }
            )),
            _ => Err(format!("free of an invalid pointer {:#x}", ptr)),
        }
    }

    /// `realloc(ptr, size)` at code position `site`: a new block holding the old contents
    /// (and their pointer marks); the old block counts as freed at `site`.
    pub fn realloc_at(&mut self, ptr: u64, size: u64, site: Site) -> Result<u64, String> {
        if ptr == 0 {
            return self.alloc_at(size, site);
        }
        if size == 0 {
            self.free_at(ptr, site)?;
            return Ok(0);
        }
        let id = (ptr >> 32) as usize;
        let ok = matches!(self.allocs.get(id), Some(a) if id != 0 && a.kind == AllocKind::Heap && a.live && ptr as u32 == 0);
        if !ok {
            // Produce the matching free() diagnostic.
            self.free_at(ptr, site)?;
            return Err(format!("realloc of an invalid pointer {:#x}", ptr));
        }
        let old = self.allocs[id].bytes.len() as u64;
        let new_ptr = self.alloc_at(size, site)?;
        let n = old.min(size) as usize;
        let nid = (new_ptr >> 32) as usize;
        let (lo, hi) = self.allocs.split_at_mut(nid);
        hi[0].bytes[..n].copy_from_slice(&lo[id].bytes[..n]);
        let words = n / 8;
        let mut marks: Vec<u64> = lo[id].marks().iter().copied().take(words.div_ceil(64)).collect();
        if !words.is_multiple_of(64) {
            if let Some(w) = marks.get_mut(words / 64) {
                *w &= (1u64 << (words % 64)) - 1;
            }
        }
        hi[0].ptr_words = if marks.is_empty() { None } else { Some(Box::new(marks)) };
        self.free_id(id as u32);
        self.allocs[id].free_site = site;
        Ok(new_ptr)
    }

    /// `realloc(ptr, size)` with glibc semantics (null → malloc, size 0 → free and null).
    pub fn realloc(&mut self, ptr: u64, size: u64) -> Result<u64, String> {
        self.realloc_at(ptr, size, 0)
    }

    #[cold]
    #[inline(never)]
    fn fault(&self, addr: u64, size: u64, write: bool) -> MemFault {
        let id = addr >> 32;
        let off = addr as u32 as u64;
        let mut f = MemFault { kind: MemFaultKind::Invalid, addr, size, write, alloc_len: 0, alloc_kind: None };
        if id == 0 {
            f.kind = MemFaultKind::Null;
        } else if is_unused_id(id) {
            f.kind = MemFaultKind::Invalid;
        } else if id == FUNC_ALLOC as u64 {
            f.kind = MemFaultKind::FuncPtr;
        } else if let Some(a) = self.allocs.get(id as usize) {
            f.alloc_kind = Some(a.kind);
            f.alloc_len = a.bytes.len() as u64;
            f.kind = if !a.live {
                if a.kind == AllocKind::Heap {
                    self.fault_sites.set(Some((a.alloc_site, a.free_site)));
                }
                MemFaultKind::Freed
            } else if matches!(a.kind, AllocKind::Foreign { .. }) {
                MemFaultKind::Opaque
            } else if off.saturating_add(size) > a.bytes.len() as u64 {
                MemFaultKind::OutOfBounds
            } else if write && !a.writable {
                MemFaultKind::ReadOnly
            } else if size.is_power_of_two() && size <= 8 && !off.is_multiple_of(size) {
                // Only aligned accesses fail inside the bounds of live, writable memory.
                MemFaultKind::Misaligned
            } else {
                MemFaultKind::OutOfBounds
            };
        }
        f
    }

    /// The live bytes `[ptr, ptr+len)`.
    #[inline]
    pub fn read_bytes(&self, ptr: u64, len: u64) -> Result<&[u8], MemFault> {
        let id = (ptr >> 32) as usize;
        let off = ptr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if a.live && len <= u32::MAX as u64 {
                if let Some(b) = a.bytes.get(off..off + len as usize) {
                    return Ok(b);
                }
            }
        }
        Err(self.fault(ptr, len, false))
    }

    /// The live, writable bytes `[ptr, ptr+len)`.
    #[inline]
    pub fn bytes_mut(&mut self, ptr: u64, len: u64) -> Result<&mut [u8], MemFault> {
        let id = (ptr >> 32) as usize;
        let off = ptr as u32 as usize;
        let ok = match self.allocs.get(id) {
            Some(a) => a.live && a.writable && len <= u32::MAX as u64 && off + len as usize <= a.bytes.len(),
            None => false,
        };
        if ok {
            Ok(&mut self.allocs[id].bytes[off..off + len as usize])
        } else {
            Err(self.fault(ptr, len, true))
        }
    }

    /// Writes `bytes` at `ptr` (clearing the pointer marks of the words it overwrites).
    pub fn write_bytes(&mut self, ptr: u64, bytes: &[u8]) -> Result<(), MemFault> {
        self.bytes_mut(ptr, bytes.len() as u64)?.copy_from_slice(bytes);
        self.allocs[(ptr >> 32) as usize].clear_marks(ptr as u32 as usize, bytes.len());
        Ok(())
    }

    /// Loads `n` (1, 2, 4 or 8) bytes little-endian, zero-extended (aligned to `n`).
    #[inline]
    pub fn load(&self, addr: u64, n: usize) -> Result<u64, MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if let Some(b) = a.bytes.get(off..off + n).filter(|_| off & n.wrapping_sub(1) == 0) {
                // Freed allocations have no bytes, so `get` already failed for them.
                return Ok(match n {
                    1 => b[0] as u64,
                    2 => u16::from_le_bytes([b[0], b[1]]) as u64,
                    4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
                    _ => {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(&b[..8.min(b.len())]);
                        u64::from_le_bytes(w)
                    }
                });
            }
        }
        Err(self.fault(addr, n as u64, false))
    }

    /// Loads `N` (1, 2, 4 or 8) bytes little-endian, zero-extended: the executor's fast path
    /// (one compare covers bounds and alignment; freed allocations have no bytes, so they fail
    /// it too).
    #[inline(always)]
    pub(crate) fn load_n<const N: usize>(&self, addr: u64) -> Result<u64, MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if in_bounds_aligned::<N>(off, a) {
                // SAFETY: off + N <= len (checked just above).
                let b = unsafe { a.bytes.get_unchecked(off..off + N) };
                return Ok(match N {
                    1 => b[0] as u64,
                    2 => u16::from_le_bytes([b[0], b[1]]) as u64,
                    4 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
                    _ => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                });
            }
        }
        Err(self.fault(addr, N as u64, false))
    }

    /// Stores the low `N` (1, 2, 4 or 8) bytes of `v` little-endian (fast path). A 64-bit
    /// store of a pointer-looking value marks the word (provenance, see the module docs).
    #[inline(always)]
    pub(crate) fn store_n<const N: usize>(&mut self, addr: u64, v: u64) -> Result<(), MemFault> {
        self.store_n_tagged::<N, true>(addr, v)
    }

    /// [`Self::store_n`], with provenance marking only when `TRACK` (false for stores of float
    /// values, which are never pointers).
    #[inline(always)]
    pub(crate) fn store_n_tagged<const N: usize, const TRACK: bool>(&mut self, addr: u64, v: u64) -> Result<(), MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        let n = self.allocs.len();
        if let Some(a) = self.allocs.get_mut(id) {
            if a.writable && in_bounds_aligned::<N>(off, a) {
                // SAFETY: off + N <= len (checked just above).
                unsafe { a.bytes.get_unchecked_mut(off..off + N) }.copy_from_slice(&v.to_le_bytes()[..N]);
                if TRACK && N == 8 && is_pointer_tag(v, n) {
                    a.mark_pointer(off);
                }
                return Ok(());
            }
        }
        Err(self.fault(addr, N as u64, true))
    }

    /// Stores the low `n` (1, 2, 4 or 8) bytes of `v` little-endian (aligned to `n`).
    #[inline]
    pub fn store(&mut self, addr: u64, n: usize, v: u64) -> Result<(), MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        let count = self.allocs.len();
        if let Some(a) = self.allocs.get_mut(id) {
            if a.writable && off & n.wrapping_sub(1) == 0 {
                if let Some(b) = a.bytes.get_mut(off..off + n) {
                    b.copy_from_slice(&v.to_le_bytes()[..n]);
                    if n == 8 && is_pointer_tag(v, count) {
                        a.mark_pointer(off);
                    }
                    return Ok(());
                }
            }
        }
        Err(self.fault(addr, n as u64, true))
    }

    /// `memmove(dst, src, len)` with bounds checks (a zero length checks nothing).
    pub fn copy(&mut self, dst: u64, src: u64, len: u64) -> Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        self.read_bytes(src, len)?;
        self.bytes_mut(dst, len)?;
        let (sid, did) = ((src >> 32) as usize, (dst >> 32) as usize);
        let (so, d_o, n) = (src as u32 as usize, dst as u32 as usize, len as usize);
        if sid == did {
            self.allocs[sid].bytes.copy_within(so..so + n, d_o);
        } else if sid < did {
            let (lo, hi) = self.allocs.split_at_mut(did);
            hi[0].bytes[d_o..d_o + n].copy_from_slice(&lo[sid].bytes[so..so + n]);
        } else {
            let (lo, hi) = self.allocs.split_at_mut(sid);
            lo[did].bytes[d_o..d_o + n].copy_from_slice(&hi[0].bytes[so..so + n]);
        }
        if self.allocs[sid].ptr_words.is_some() || self.allocs[did].ptr_words.is_some() {
            self.copy_marks(sid, so, did, d_o, n);
        }
        Ok(())
    }

    /// The pointer marks of a `memmove`: the destination range loses its marks and gets those
    /// of the source words that stay 8-byte aligned.
    #[cold]
    #[inline(never)]
    fn copy_marks(&mut self, sid: usize, so: usize, did: usize, d_o: usize, n: usize) {
        let moved: Vec<usize> = if (so % 8) == (d_o % 8) { self.allocs[sid].marked_in(so, n) } else { Vec::new() };
        let dst = &mut self.allocs[did];
        dst.clear_marks(d_o, n);
        for o in moved {
            dst.mark_pointer(o - so + d_o);
        }
    }

    /// `memset(dst, byte, len)` with bounds checks.
    pub fn fill(&mut self, dst: u64, byte: u8, len: u64) -> Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        self.bytes_mut(dst, len)?.fill(byte);
        self.allocs[(dst >> 32) as usize].clear_marks(dst as u32 as usize, len as usize);
        Ok(())
    }

    /// Length of the NUL-terminated string at `ptr` (which must end inside its allocation).
    pub fn strlen(&self, ptr: u64) -> Result<u64, MemFault> {
        let id = (ptr >> 32) as usize;
        let off = ptr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if a.live && off <= a.bytes.len() {
                if let Some(n) = a.bytes[off..].iter().position(|&b| b == 0) {
                    return Ok(n as u64);
                }
                let rest = (a.bytes.len() - off) as u64;
                return Err(self.fault(ptr.wrapping_add(rest), 1, false));
            }
        }
        Err(self.fault(ptr, 1, false))
    }

    /// The pointer to static data `d`, creating its allocation (and those of the data objects
    /// its relocations point to) on first use.
    pub fn data_ptr(&mut self, m: &Module, d: DataId) -> Result<u64, String> {
        if let Some(&id) = self.data_alloc.get(d.index()) {
            if id != 0 {
                return Ok((id as u64) << 32);
            }
        }
        self.create_data(m, d)
    }

    #[cold]
    #[inline(never)]
    fn create_data(&mut self, m: &Module, d: DataId) -> Result<u64, String> {
        let mut work = Vec::new();
        let root = self.new_data_alloc(m, d, &mut work)?;
        while let Some(x) = work.pop() {
            self.write_relocs(m, x, Some(&mut work))?;
        }
        Ok(root)
    }

    /// Writes the relocated pointer words of static data `x` into its allocation (marking them
    /// as pointers). A target without an allocation gets one: queued on `work` when given
    /// (the caller links it), created and linked at once otherwise.
    fn write_relocs(&mut self, m: &Module, x: DataId, mut work: Option<&mut Vec<DataId>>) -> Result<(), String> {
        let data = m.datas.get(x).ok_or_else(|| format!("malformed module: reference to missing {}", x))?;
        let id = self.data_alloc.get(x.index()).copied().unwrap_or(0) as usize;
        for r in &data.relocs {
            let target = match r.target {
                RelocTarget::Data(t) => {
                    let existing = self.data_alloc.get(t.index()).copied().unwrap_or(0);
                    match (existing, work.as_deref_mut()) {
                        (0, Some(w)) => self.new_data_alloc(m, t, w)?,
                        (0, None) => self.data_ptr(m, t)?,
                        (e, _) => (e as u64) << 32,
                    }
                }
                RelocTarget::Func(f) => func_ptr(f.0),
            };
            let v = target.wrapping_add(r.addend as u64);
            let off = r.offset as usize;
            match self.allocs.get_mut(id).and_then(|a| a.bytes.get_mut(off..off + 8)) {
                Some(b) => b.copy_from_slice(&v.to_le_bytes()),
                None => return Err(format!("malformed module: relocation at offset {} past the end of {}", r.offset, x)),
            }
            if off.is_multiple_of(8) {
                self.allocs[id].mark_pointer(off);
            }
        }
        Ok(())
    }

    /// Copies the current bytes and relocations of static data `d` into its allocation, when
    /// one exists (a data object the compiler completed after comptime code first saw it, such
    /// as the type record of a forward-declared type). The size must not have changed.
    pub fn reload_data(&mut self, m: &Module, d: DataId) -> Result<(), String> {
        let id = self.data_alloc.get(d.index()).copied().unwrap_or(0);
        if id == 0 {
            return Ok(());
        }
        let data = m.datas.get(d).ok_or_else(|| format!("malformed module: reference to missing {}", d))?;
        if self.allocs[id as usize].bytes.len() != data.bytes.len() {
            return Err(format!("static data {} changed its size after comptime code used it", d));
        }
        self.allocs[id as usize].bytes.copy_from_slice(&data.bytes);
        self.write_relocs(m, d, None)?;
        Ok(())
    }

    fn new_data_alloc(&mut self, m: &Module, d: DataId, work: &mut Vec<DataId>) -> Result<u64, String> {
        let data = m.datas.get(d).ok_or_else(|| format!("malformed module: reference to missing {}", d))?;
        let ptr = self.alloc(data.bytes.len() as u64, AllocKind::Data(d))?;
        let id = (ptr >> 32) as usize;
        self.allocs[id].bytes.copy_from_slice(&data.bytes);
        let extern_global = data.name.strip_prefix(sx_ir::EXTERN_DATA_PREFIX);
        if let Some(symbol) = extern_global {
            crate::library::read_host_global(symbol, &mut self.allocs[id].bytes)?;
        }
        if data.name == sx_ir::COMPTIME_FLAG_DATA && self.comptime_stage {
            if let Some(b) = self.allocs[id].bytes.first_mut() {
                *b = 1;
            }
        }
        // A C global is a copy here: writing it would not reach C, so it is refused.
        self.allocs[id].writable = data.writable && extern_global.is_none();
        if self.data_alloc.len() <= d.index() {
            self.data_alloc.resize(d.index() + 1, 0);
        }
        self.data_alloc[d.index()] = id as u32;
        work.push(d);
        Ok(ptr)
    }

    /// What `ptr` points to.
    pub fn decode(&self, ptr: u64) -> PointerTarget {
        if ptr == 0 {
            return PointerTarget::Null;
        }
        let id = (ptr >> 32) as u32;
        let offset = ptr as u32 as u64;
        if id == FUNC_ALLOC {
            return PointerTarget::Func(FuncId(offset as u32));
        }
        match self.allocs.get(id as usize) {
            Some(_) if is_unused_id(id as u64) => PointerTarget::Invalid,
            Some(a) if !a.live => PointerTarget::Dangling { alloc: id, offset },
            Some(a) => match a.kind {
                AllocKind::Data(d) => PointerTarget::Data(d, offset),
                AllocKind::Heap => PointerTarget::Heap { alloc: id, offset },
                AllocKind::Stack => PointerTarget::Stack { alloc: id, offset },
                AllocKind::Foreign { host } => PointerTarget::Foreign { host, offset },
            },
            None => PointerTarget::Invalid,
        }
    }

    /// Length of live allocation `alloc`.
    pub fn allocation_len(&self, alloc: u32) -> Option<u64> {
        match self.allocs.get(alloc as usize) {
            Some(a) if a.live && alloc != 0 => Some(a.bytes.len() as u64),
            _ => None,
        }
    }

    /// Offsets (relative to `ptr`) of the words in `[ptr, ptr + len)` marked as holding a
    /// pointer (provenance; see the module docs). The words' current values may have changed
    /// since: decode them before use.
    pub fn pointer_offsets(&self, ptr: u64, len: u64) -> Vec<u64> {
        let off = ptr as u32 as usize;
        match self.allocs.get((ptr >> 32) as usize) {
            Some(a) if a.live && ptr >> 32 != 0 => a.marked_in(off, len as usize).into_iter().map(|o| (o - off) as u64).collect(),
            _ => Vec::new(),
        }
    }
}

/// `off % N == 0 && off + N <= len` in one compare, as cheap as the plain bounds check (`N` is
/// 1, 2, 4 or 8; `off < 2^32`): rotating a misaligned offset right by log2(N) moves its low
/// bits to the top, above any length; for an aligned one, `off / N < len / N` (rounded down,
/// precomputed per allocation) is exactly `off + N <= len`.
#[inline(always)]
fn in_bounds_aligned<const N: usize>(off: usize, a: &Alloc) -> bool {
    let k = N.trailing_zeros();
    if k == 0 {
        off < a.bytes.len()
    } else {
        off.rotate_right(k) < a.units[(k as usize - 1) % 3] as usize
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alloc_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<super::Alloc>(), 64);
    }
}
