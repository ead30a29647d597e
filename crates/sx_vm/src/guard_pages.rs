//! Allocation buffers that C may see, placed against guard pages.
//!
//! Every comptime allocation owns an [`AllocBytes`]: at first an ordinary heap buffer. When
//! the allocation is first handed to a C function ([`crate::ffi`]) its bytes move, for the rest
//! of its life, into a *guarded slot*: whole pages from a pooled `mmap` region whose end abuts a
//! `PROT_NONE` page, the buffer placed so that its last byte is the last byte before that page.
//! A C function that writes or reads past the end of a comptime buffer (`strcpy` into a 4-byte
//! array, `memset` with a bad length) then faults on the guard page at once — instead of
//! corrupting the compiler's heap — and [`crate::fault_trap`] turns the fault into an error.
//!
//! **Why move, not copy per call.** C libraries keep pointers to caller memory across calls
//! (zlib's `z_stream` is checked against the address `deflateInit` saw, a `FILE` keeps its
//! `setvbuf` buffer): the address of a buffer must not change between calls, so a buffer moves
//! once and stays. The cost is one copy per allocation that ever reaches C, none per call.
//!
//! **Placement.** The start is `guard - len`: since a C object's size is a multiple of its
//! alignment, that address has the alignment of anything that fills the buffer exactly; zero
//! slack means even a one-byte overflow faults. What lies before the buffer in its slot is
//! unrelated stale bytes (underflows are not caught).
//!
//! **Pool.** Slots come in size classes of 1, 2, 4, … 256 data pages plus one guard page,
//! carved from chunks of about 512 KB `mmap`ed once; a freed allocation returns its slot to its
//! class's free list (no system call on the hot path). Bigger buffers get a mapping of their
//! own, unmapped when freed. Each slot costs the kernel two mappings (data, guard), so at most
//! [`MAX_SLOTS`] slots exist; beyond that a buffer stays on the heap, unguarded (a wild write
//! through it is still caught if it faults, but not an overflow into the next heap block).

use std::ptr::NonNull;
use std::sync::Mutex;

/// At most this many guarded slots exist at once (each is two kernel mappings; Linux allows
/// 65,530 per process by default).
pub const MAX_SLOTS: usize = 8192;
/// Size classes `0..CLASSES` hold `1 << class` data pages.
const CLASSES: usize = 9;
/// Data pages per chunk of the small classes (a chunk holds `CHUNK_PAGES >> class` slots).
const CHUNK_PAGES: usize = 64;
/// `slot` of a buffer owned by the global allocator.
const ON_HEAP: u32 = u32::MAX;

/// The system page size (4096 on x86-64 Linux), read once.
pub fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            n as usize
        } else {
            4096
        }
    })
}

/// The bytes of one comptime allocation: a heap buffer or a guarded slot (see the module docs).
/// Dereferences to `[u8]`; 16 bytes, like the `Box<[u8]>` it replaces.
pub struct AllocBytes {
    ptr: NonNull<u8>,
    len: u32,
    /// Index into the pool's slots, or [`ON_HEAP`].
    slot: u32,
}

/// Byte offsets of an [`AllocBytes`]'s buffer address and length, for compiled code that reads
/// the allocation table ([`crate::jit`]).
pub(crate) const BYTES_PTR_OFFSET: usize = std::mem::offset_of!(AllocBytes, ptr);
/// See [`BYTES_PTR_OFFSET`].
pub(crate) const BYTES_LEN_OFFSET: usize = std::mem::offset_of!(AllocBytes, len);

// SAFETY: an `AllocBytes` owns its buffer exclusively, like a `Box<[u8]>`; the pool it may
// return a slot to is behind a mutex.
unsafe impl Send for AllocBytes {}
// SAFETY: shared access only reads the buffer.
unsafe impl Sync for AllocBytes {}

impl AllocBytes {
    /// A heap buffer holding `bytes` (at most `u32::MAX` of them; comptime allocations are
    /// smaller, see `ComptimeMemory::alloc`).
    #[inline(always)]
    pub fn from_vec(mut bytes: Vec<u8>) -> AllocBytes {
        bytes.truncate(u32::MAX as usize);
        let len = bytes.len() as u32;
        let raw = Box::into_raw(bytes.into_boxed_slice());
        // SAFETY: a box's pointer is never null (dangling but aligned when empty).
        let ptr = unsafe { NonNull::new_unchecked(raw as *mut u8) };
        AllocBytes { ptr, len, slot: ON_HEAP }
    }

    /// No bytes.
    #[inline(always)]
    pub const fn empty() -> AllocBytes {
        AllocBytes { ptr: NonNull::dangling(), len: 0, slot: ON_HEAP }
    }

    /// Whether the buffer sits against a guard page.
    pub fn is_guarded(&self) -> bool {
        self.slot != ON_HEAP
    }

    /// Moves the bytes into a guarded slot unless they are there already; false when the pool
    /// is exhausted (the bytes stay where they are). The address changes at most once.
    pub fn guard(&mut self) -> bool {
        if self.is_guarded() {
            return true;
        }
        let len = self.len as usize;
        let Some((slot, guard)) = pool().acquire(len) else { return false };
        let start = guard - len;
        // SAFETY: the slot's data pages `[guard - data_len, guard)` are mapped read-write and
        // belong to this slot alone; the heap buffer holds `len` bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), start as *mut u8, len) };
        let old = std::mem::replace(
            self,
            AllocBytes { ptr: NonNull::new(start as *mut u8).unwrap_or(NonNull::dangling()), len: len as u32, slot },
        );
        drop(old);
        true
    }

    /// The first address past the buffer: the guard page's start when guarded.
    pub fn end_address(&self) -> u64 {
        self.ptr.as_ptr() as u64 + self.len as u64
    }
}

impl Drop for AllocBytes {
    #[inline(always)]
    fn drop(&mut self) {
        if self.slot != ON_HEAP {
            return release_slot(self.slot);
        }
        if self.len != 0 {
            // SAFETY: the pointer came from `Box::<[u8]>::into_raw` in `from_vec` with `len`
            // bytes, so it was allocated with the layout of `[u8; len]`.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), std::alloc::Layout::from_size_align_unchecked(self.len as usize, 1)) };
        }
    }
}

/// Returns guarded slot `slot` to the pool (out of line: the heap case is the hot one).
#[cold]
#[inline(never)]
fn release_slot(slot: u32) {
    pool().release(slot);
}

impl std::ops::Deref for AllocBytes {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` addresses `len` initialised bytes this value owns.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl std::ops::DerefMut for AllocBytes {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl std::fmt::Debug for AllocBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AllocBytes({} bytes{})", self.len, if self.is_guarded() { ", guarded" } else { "" })
    }
}

/// One guarded slot: data pages ending at `guard`, then the guard page.
struct Slot {
    guard: usize,
    /// Size class, or `None` for a mapping of its own (`mapping` bytes from `guard - data`).
    class: Option<usize>,
    /// Bytes of data pages.
    data: usize,
    in_use: bool,
}

/// The process's guarded slots (see the module docs).
struct Pool {
    slots: Vec<Slot>,
    /// Free slot indices per size class.
    free: [Vec<u32>; CLASSES],
    /// Slot indices of unmapped big slots, reusable as indices.
    vacant: Vec<u32>,
    /// Slots that exist (in use or on a free list).
    mapped: usize,
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    static POOL: Mutex<Pool> = Mutex::new(Pool { slots: Vec::new(), free: [const { Vec::new() }; CLASSES], vacant: Vec::new(), mapped: 0 });
    // A panic while holding the lock cannot leave the lists inconsistent in a way that matters
    // more than losing guard pages; keep going.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// A free slot for `len` bytes: its index and guard page address.
    fn acquire(&mut self, len: usize) -> Option<(u32, usize)> {
        let page = page_size();
        let pages = len.div_ceil(page).max(1);
        let class = pages.next_power_of_two().trailing_zeros() as usize;
        if class >= CLASSES {
            return self.map_big(pages * page);
        }
        if self.free[class].is_empty() {
            self.map_chunk(class)?;
        }
        let i = self.free[class].pop()?;
        let s = &mut self.slots[i as usize];
        s.in_use = true;
        Some((i, s.guard))
    }

    fn release(&mut self, i: u32) {
        let Some(s) = self.slots.get_mut(i as usize).filter(|s| s.in_use) else { return };
        s.in_use = false;
        match s.class {
            Some(c) => self.free[c].push(i),
            None => {
                let start = s.guard - s.data;
                // SAFETY: the slot's own mapping (data pages plus guard page), no longer used.
                unsafe { libc::munmap(start as *mut libc::c_void, s.data + page_size()) };
                self.mapped -= 1;
                self.vacant.push(i);
            }
        }
    }

    /// A fresh mapping of `data` bytes of pages plus a guard page, as a slot of its own.
    fn map_big(&mut self, data: usize) -> Option<(u32, usize)> {
        if self.mapped >= MAX_SLOTS {
            return None;
        }
        let start = map_guarded(data, 1)?;
        self.mapped += 1;
        let slot = Slot { guard: start + data, class: None, data, in_use: true };
        let i = match self.vacant.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        Some((i, start + data))
    }

    /// Maps a chunk of slots of `class` and puts them on its free list.
    fn map_chunk(&mut self, class: usize) -> Option<()> {
        let page = page_size();
        let per_chunk = (CHUNK_PAGES >> class).max(1).min(MAX_SLOTS.saturating_sub(self.mapped));
        if per_chunk == 0 {
            return None;
        }
        let data = page << class;
        let start = map_guarded(data, per_chunk)?;
        for k in 0..per_chunk {
            let guard = start + k * (data + page) + data;
            self.slots.push(Slot { guard, class: Some(class), data, in_use: false });
            self.free[class].push((self.slots.len() - 1) as u32);
        }
        self.mapped += per_chunk;
        Some(())
    }
}

/// Maps `count` consecutive slots of `data` bytes of read-write pages each followed by a
/// `PROT_NONE` page; returns the start. Never unmapped for pooled chunks.
fn map_guarded(data: usize, count: usize) -> Option<usize> {
    let page = page_size();
    let stride = data + page;
    let total = stride.checked_mul(count)?;
    // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    let start = p as usize;
    for k in 0..count {
        let guard = start + k * stride + data;
        // SAFETY: `guard` is a page inside the mapping just made.
        if unsafe { libc::mprotect(guard as *mut libc::c_void, page, libc::PROT_NONE) } != 0 {
            // SAFETY: the mapping just made, not yet handed out.
            unsafe { libc::munmap(p, total) };
            return None;
        }
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_bytes_is_two_words() {
        assert_eq!(std::mem::size_of::<AllocBytes>(), 16);
    }

    #[test]
    fn guarded_buffer_keeps_its_bytes_and_ends_at_the_guard_page() {
        for len in [0usize, 1, 4, 12, 24, 4096, 4097, 70_000, 2 << 20] {
            let mut b = AllocBytes::from_vec((0..len).map(|i| i as u8).collect());
            assert!(b.guard());
            assert!(b.is_guarded());
            assert_eq!(b.len(), len);
            assert!(b.iter().enumerate().all(|(i, &x)| x == i as u8));
            assert_eq!(b.end_address() as usize % page_size(), 0, "len {}", len);
            let addr = b.as_ptr() as usize;
            assert_eq!(addr % (len & len.wrapping_neg()).clamp(1, 16), 0, "alignment of len {}", len);
            if len > 0 {
                b[len - 1] = 7;
            }
            let p = b.as_ptr();
            assert!(b.guard());
            assert_eq!(b.as_ptr(), p, "a guarded buffer never moves");
        }
        // A freed slot goes back to its class (the pool is process-wide: only this test uses it).
        let mut a = AllocBytes::from_vec(vec![1; 100]);
        a.guard();
        let end = a.end_address();
        drop(a);
        let mut b = AllocBytes::from_vec(vec![2; 100]);
        b.guard();
        assert_eq!(b.end_address(), end);
    }
}
