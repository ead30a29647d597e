//! [`ComptimeMemory`]: byte-addressable memory at the target's layout, with allocation-based
//! pointers (the rustc const-eval / Miri model).
//!
//! A pointer is `u64 = (alloc_id << 32) | offset`. Alloc id 0 is null (so small integers cast to
//! pointers are "null-ish"), id [`FUNC_ALLOC`] encodes function addresses (offset = function
//! index), every other id names one allocation: a static data object, a stack slot or a heap
//! block. Ids are never reused, so a dangling pointer is always detected. Every access checks
//! null, freed allocations, bounds (`offset + size <= len`) and writes to read-only data.

use std::fmt;

use sx_ir::entity::EntityRef;
use sx_ir::{DataId, FuncId, Module, RelocTarget};

/// The reserved alloc id of function addresses.
pub const FUNC_ALLOC: u32 = 0xFFFF_FFFF;
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
    /// Not a pointer this memory produced.
    Invalid,
}

/// What an allocation is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AllocKind {
    Data(DataId),
    Stack,
    Heap,
}

#[derive(Debug)]
pub(crate) struct Alloc {
    pub bytes: Vec<u8>,
    pub kind: AllocKind,
    pub writable: bool,
    pub live: bool,
}

/// Why an access failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemFaultKind {
    Null,
    Freed,
    OutOfBounds,
    ReadOnly,
    FuncPtr,
    Invalid,
}

/// A failed access of `size` bytes at `addr`, with the allocation's length when it has one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemFault {
    pub kind: MemFaultKind,
    pub addr: u64,
    pub size: u64,
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
            None => "allocation".to_string(),
        };
        match self.kind {
            MemFaultKind::Null => write!(f, "null pointer dereference (address {:#x}, {} bytes)", self.addr, self.size),
            MemFaultKind::Freed => {
                write!(f, "use after free: access of {} bytes at offset {} of a freed {} (#{})", self.size, off, what, id)
            }
            MemFaultKind::OutOfBounds => {
                write!(f, "out of bounds access: {} bytes at offset {} of a {} of {} bytes (#{})", self.size, off, what, self.alloc_len, id)
            }
            MemFaultKind::ReadOnly => write!(f, "write to read-only memory ({} at offset {})", what, off),
            MemFaultKind::FuncPtr => write!(f, "memory access through a function pointer"),
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
    live: u64,
    limit: u64,
}

impl ComptimeMemory {
    /// Empty memory allowing `limit` live bytes.
    pub fn new(limit: u64) -> ComptimeMemory {
        let null = Alloc { bytes: Vec::new(), kind: AllocKind::Heap, writable: false, live: false };
        ComptimeMemory { allocs: vec![null], data_alloc: Vec::new(), live: 0, limit }
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
        self.allocs.push(Alloc { bytes: vec![0; size as usize], kind, writable, live: true });
        self.live += size;
        Ok(id << 32)
    }

    /// Frees the allocation `id` (no checks; used for stack slots).
    pub(crate) fn free_id(&mut self, id: u32) {
        if let Some(a) = self.allocs.get_mut(id as usize) {
            if a.live {
                self.live -= a.bytes.len() as u64;
                a.live = false;
                a.bytes = Vec::new();
            }
        }
    }

    /// `free(ptr)` for heap pointers: null is a no-op; anything but the start of a live heap
    /// allocation is an error.
    pub fn free(&mut self, ptr: u64) -> Result<(), String> {
        if ptr == 0 {
            return Ok(());
        }
        let id = (ptr >> 32) as usize;
        let off = ptr as u32;
        match self.allocs.get(id) {
            Some(a) if id != 0 && a.kind == AllocKind::Heap => {
                if !a.live {
                    return Err(format!("double free of heap allocation #{}", id));
                }
                if off != 0 {
                    return Err(format!("free of a pointer into the middle of heap allocation #{} (offset {})", id, off));
                }
                self.free_id(id as u32);
                Ok(())
            }
            Some(a) if id != 0 => Err(format!(
                "free of a pointer that was not returned by malloc ({})",
                match a.kind {
                    AllocKind::Stack => "a stack slot".to_string(),
                    AllocKind::Data(d) => format!("static data {}", d),
                    AllocKind::Heap => "heap".to_string(),
                }
            )),
            _ => Err(format!("free of an invalid pointer {:#x}", ptr)),
        }
    }

    /// `realloc(ptr, size)` with glibc semantics (null → malloc, size 0 → free and null).
    pub fn realloc(&mut self, ptr: u64, size: u64) -> Result<u64, String> {
        if ptr == 0 {
            return self.alloc(size, AllocKind::Heap);
        }
        if size == 0 {
            self.free(ptr)?;
            return Ok(0);
        }
        let id = (ptr >> 32) as usize;
        let ok = matches!(self.allocs.get(id), Some(a) if id != 0 && a.kind == AllocKind::Heap && a.live && ptr as u32 == 0);
        if !ok {
            // Produce the matching free() diagnostic.
            self.free(ptr)?;
            return Err(format!("realloc of an invalid pointer {:#x}", ptr));
        }
        let old = self.allocs[id].bytes.len() as u64;
        let new_ptr = self.alloc(size, AllocKind::Heap)?;
        let n = old.min(size) as usize;
        let nid = (new_ptr >> 32) as usize;
        let (lo, hi) = self.allocs.split_at_mut(nid);
        hi[0].bytes[..n].copy_from_slice(&lo[id].bytes[..n]);
        self.free_id(id as u32);
        Ok(new_ptr)
    }

    #[cold]
    #[inline(never)]
    fn fault(&self, addr: u64, size: u64, write: bool) -> MemFault {
        let id = addr >> 32;
        let mut f = MemFault { kind: MemFaultKind::Invalid, addr, size, alloc_len: 0, alloc_kind: None };
        if id == 0 {
            f.kind = MemFaultKind::Null;
        } else if id == FUNC_ALLOC as u64 {
            f.kind = MemFaultKind::FuncPtr;
        } else if let Some(a) = self.allocs.get(id as usize) {
            f.alloc_kind = Some(a.kind);
            f.alloc_len = a.bytes.len() as u64;
            f.kind = if !a.live {
                MemFaultKind::Freed
            } else if write && !a.writable && (addr as u32 as u64) + size <= a.bytes.len() as u64 {
                MemFaultKind::ReadOnly
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

    /// Writes `bytes` at `ptr`.
    pub fn write_bytes(&mut self, ptr: u64, bytes: &[u8]) -> Result<(), MemFault> {
        self.bytes_mut(ptr, bytes.len() as u64)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Loads `n` (1, 2, 4 or 8) bytes little-endian, zero-extended.
    #[inline]
    pub fn load(&self, addr: u64, n: usize) -> Result<u64, MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if let Some(b) = a.bytes.get(off..off + n) {
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
    /// (one bounds compare; freed allocations have no bytes, so they fail it too).
    #[inline(always)]
    pub(crate) fn load_n<const N: usize>(&self, addr: u64) -> Result<u64, MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get(id) {
            if off + N <= a.bytes.len() {
                let b = &a.bytes[off..off + N];
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

    /// Stores the low `N` (1, 2, 4 or 8) bytes of `v` little-endian (fast path).
    #[inline(always)]
    pub(crate) fn store_n<const N: usize>(&mut self, addr: u64, v: u64) -> Result<(), MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get_mut(id) {
            if a.writable && off + N <= a.bytes.len() {
                a.bytes[off..off + N].copy_from_slice(&v.to_le_bytes()[..N]);
                return Ok(());
            }
        }
        Err(self.fault(addr, N as u64, true))
    }

    /// Stores the low `n` (1, 2, 4 or 8) bytes of `v` little-endian.
    #[inline]
    pub fn store(&mut self, addr: u64, n: usize, v: u64) -> Result<(), MemFault> {
        let id = (addr >> 32) as usize;
        let off = addr as u32 as usize;
        if let Some(a) = self.allocs.get_mut(id) {
            if a.writable {
                if let Some(b) = a.bytes.get_mut(off..off + n) {
                    b.copy_from_slice(&v.to_le_bytes()[..n]);
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
        Ok(())
    }

    /// `memset(dst, byte, len)` with bounds checks.
    pub fn fill(&mut self, dst: u64, byte: u8, len: u64) -> Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        self.bytes_mut(dst, len)?.fill(byte);
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
            let data = &m.datas[x];
            let base = (self.data_alloc[x.index()] as u64) << 32;
            for r in &data.relocs {
                let target = match r.target {
                    RelocTarget::Data(t) => {
                        let existing = self.data_alloc.get(t.index()).copied().unwrap_or(0);
                        if existing != 0 {
                            (existing as u64) << 32
                        } else {
                            self.new_data_alloc(m, t, &mut work)?
                        }
                    }
                    RelocTarget::Func(f) => func_ptr(f.0),
                };
                let v = target.wrapping_add(r.addend as u64);
                let id = (base >> 32) as usize;
                let off = r.offset as usize;
                match self.allocs[id].bytes.get_mut(off..off + 8) {
                    Some(b) => b.copy_from_slice(&v.to_le_bytes()),
                    None => return Err(format!("malformed module: relocation at offset {} past the end of {}", r.offset, x)),
                }
            }
        }
        Ok(root)
    }

    fn new_data_alloc(&mut self, m: &Module, d: DataId, work: &mut Vec<DataId>) -> Result<u64, String> {
        let data = m.datas.get(d).ok_or_else(|| format!("malformed module: reference to missing {}", d))?;
        let ptr = self.alloc(data.bytes.len() as u64, AllocKind::Data(d))?;
        let id = (ptr >> 32) as usize;
        self.allocs[id].bytes.copy_from_slice(&data.bytes);
        self.allocs[id].writable = data.writable;
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
            Some(_) if id == 0 => PointerTarget::Invalid,
            Some(a) if !a.live => PointerTarget::Dangling { alloc: id, offset },
            Some(a) => match a.kind {
                AllocKind::Data(d) => PointerTarget::Data(d, offset),
                AllocKind::Heap => PointerTarget::Heap { alloc: id, offset },
                AllocKind::Stack => PointerTarget::Stack { alloc: id, offset },
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
}
