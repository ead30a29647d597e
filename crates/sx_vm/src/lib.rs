//! The sx comptime VM (v1): an interpreter for [`sx_ir`] modules.
//!
//! Owns: executing IR functions at compile time (`X :: #run f()` constants) and running whole
//! programs (`sx run --vm`) as a differential oracle against the Cranelift back ends. Design
//! (wasmi-style): [`translate`] turns an IR function into compact register bytecode on its first
//! call (cached by `FuncId`); [`exec`] runs it with an explicit frame stack; [`memory`] is the
//! comptime memory — allocation-based pointers (`(alloc_id << 32) | offset`, the rustc
//! const-eval / Miri model) over byte buffers laid out exactly like the target (little endian,
//! 8-byte pointers), with every access checked (null, freed, out of bounds, misaligned,
//! read-only data) and stored pointers tracked (provenance, for baking results). C functions
//! that act on comptime memory or the process (`write`, `malloc`, `free`, `memcpy`, `exit`, …)
//! are modelled in [`natives`]; every other extern is called for real through the dynamic
//! loader and libffi ([`ffi`]), with pointers translated to host addresses for the duration of
//! the call only.
//!
//! Semantics match native execution: wrapping two's complement integer arithmetic, truncating
//! division, IEEE floats (f32 arithmetic done in f32), saturating float→int conversions.
//! Integer division by zero and `MIN / -1` — which trap natively — are [`VmError`]s.
//!
//! Must never: crash or hang the compiler (malformed modules give errors, never panics; deep sx
//! recursion uses the VM's own frame stack, never host recursion; step, call-depth and memory
//! budgets stop runaway code — see [`VmLimits`]); let comptime code dereference host memory
//! (host addresses exist only while an FFI call runs; what C returns is translated back, copied
//! or made opaque); JIT. The only native code it runs is the C functions the program calls.
//!
//! A [`Vm`] is bound to one (growing) [`Module`]: successive calls may pass the module with new
//! functions and data appended, but existing ones must never change (caches are keyed by
//! `FuncId`/`DataId`).

pub mod exec;
pub mod ffi;
pub mod memory;
pub mod natives;
pub mod translate;

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

pub use ffi::{ForeignSig, ForeignType};
pub use memory::{ComptimeMemory, PointerTarget};
use sx_diag::Span;
use sx_ir::{DataId, FuncId, Module};

/// Resource budgets of a [`Vm`]. Exceeding any of them is a [`VmError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmLimits {
    /// Steps per top-level [`Vm::call`]; one step is counted per taken jump/branch and per call.
    pub max_steps: u64,
    /// Wall-clock limit of one top-level [`Vm::call`].
    pub timeout: Option<std::time::Duration>,
    /// Steps between two safe-point checks (interrupt flag, deadline). The hot loop only
    /// counts down a local budget; these checks run when a chunk is used up, so they cost
    /// nothing per instruction. Smaller values lower the interrupt latency.
    pub check_every: u64,
    /// Test hook: at every n-th safe point, either abort (`true`) or suspend and resume the
    /// evaluation through the driver (`false`), to prove safe points preserve state.
    pub inject_interrupt: Option<(u64, bool)>,
    /// Maximum number of active frames (call depth).
    pub max_call_depth: usize,
    /// Maximum total live bytes of comptime memory (static data, stack slots, heap).
    pub max_memory: u64,
    /// Maximum size of the VM's register stack, in bytes.
    pub max_stack_bytes: u64,
    /// Whether externs without a Rust model are called through the dynamic loader and libffi
    /// ([`ffi`]). C code runs unsandboxed in the compiler's process; fuzzing turns this off.
    pub foreign_calls: bool,
}

impl Default for VmLimits {
    fn default() -> Self {
        VmLimits {
            max_steps: 200_000_000,
            timeout: None,
            check_every: 1 << 20,
            inject_interrupt: None,
            max_call_depth: 100_000,
            max_memory: 1 << 30,
            max_stack_bytes: 512 << 20,
            foreign_calls: true,
        }
    }
}

/// One active call of a [`VmError`]'s stack trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Symbol name of the function.
    pub func: String,
    /// Span of the call instruction (in the caller) that created this frame; `None` for the
    /// outermost frame.
    pub call_site: Option<Span>,
}

/// An error of comptime evaluation (a fault of the evaluated program, an unsupported feature,
/// an exceeded budget or a malformed module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmError {
    pub message: String,
    /// Span of the faulting instruction, when known.
    pub span: Option<Span>,
    /// Active calls, innermost first.
    pub stack: Vec<Frame>,
    /// Other places the error refers to, e.g. `("allocated here", span)` and
    /// `("freed here", span)` for a use after free.
    pub related: Vec<(String, Span)>,
}

impl VmError {
    /// An error without location.
    pub fn new(message: impl Into<String>) -> VmError {
        VmError { message: message.into(), span: None, stack: Vec::new(), related: Vec::new() }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for fr in &self.stack {
            write!(f, "\n    in `{}`", fr.func)?;
        }
        Ok(())
    }
}

impl std::error::Error for VmError {}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The function returned these values (raw bits, canonical: integers zero-extended from
    /// their width, f32 as `to_bits() as u64`, f64 as `to_bits()`).
    Returned(Vec<u64>),
    /// The program called `exit`/`_exit` with this status.
    Exited(i32),
    /// The evaluation called `__sx_compiler.<name>` (a compiler-API function) with these raw
    /// arguments and is suspended. The embedder answers with [`Vm::resume`] (which may return
    /// another request) or gives up with [`Vm::abandon`]; meanwhile it may run other
    /// evaluations on this VM (they nest).
    CompilerCall { name: String, args: Vec<u64> },
}

/// Symbol prefix of the externs that are requests to the embedding compiler.
pub const COMPILER_CALL_PREFIX: &str = "__sx_compiler.";

/// The outside world as seen by evaluated code.
pub trait VmHost {
    /// `write(fd, bytes)`: returns the number of bytes written or a negative value on error.
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64;
    /// `read(fd, buf)`: returns the number of bytes read (0 at the end) or a negative value on
    /// error. By default nothing can be read.
    fn read(&mut self, _fd: i32, _buf: &mut [u8]) -> i64 {
        -1
    }
}

/// Runs `op` on the open file descriptor `fd` without taking ownership of it.
fn with_fd<T>(fd: i32, op: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>) -> std::io::Result<T> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    }
    // SAFETY: the descriptor is borrowed for one call and never closed here (ManuallyDrop);
    // an invalid descriptor makes the system call fail, which is reported as -1.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    op(&mut f)
}

/// The default host: fd 1 is the process's stdout, fd 2 its stderr (flushed after each write so
/// ordering with native output is kept); other descriptors are the process's own (files the
/// program opened through comptime FFI or at run time), read and written for real.
#[derive(Default, Debug, Clone, Copy)]
pub struct StdHost;

impl VmHost for StdHost {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        let ok = match fd {
            1 => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|_| o.flush()).is_ok()
            }
            2 => {
                let mut o = std::io::stderr().lock();
                o.write_all(bytes).and_then(|_| o.flush()).is_ok()
            }
            _ => return with_fd(fd, |f| f.write(bytes)).map(|n| n as i64).unwrap_or(-1),
        };
        if ok {
            bytes.len() as i64
        } else {
            -1
        }
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> i64 {
        use std::io::Read;
        let r = if fd == 0 { std::io::stdin().lock().read(buf) } else { with_fd(fd, |f| f.read(buf)) };
        r.map(|n| n as i64).unwrap_or(-1)
    }
}

/// Captured `(fd, bytes)` writes.
pub type CapturedWrites = Arc<Mutex<Vec<(i32, Vec<u8>)>>>;

/// A host capturing everything written to fds 1 and 2 (in order) into a shared buffer.
#[derive(Default, Debug, Clone)]
pub struct CaptureHost {
    /// `(fd, bytes)` of every successful write.
    pub writes: CapturedWrites,
}

impl CaptureHost {
    pub fn new() -> CaptureHost {
        CaptureHost::default()
    }
    /// Everything written to `fd`, concatenated.
    pub fn output(&self, fd: i32) -> Vec<u8> {
        let w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        w.iter().filter(|(f, _)| *f == fd).flat_map(|(_, b)| b.iter().copied()).collect()
    }
}

impl VmHost for CaptureHost {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        if fd != 1 && fd != 2 {
            return -1;
        }
        let mut w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        w.push((fd, bytes.to_vec()));
        bytes.len() as i64
    }
}

/// The comptime virtual machine: comptime memory, the translated-code cache, limits and host.
pub struct Vm {
    pub(crate) mem: ComptimeMemory,
    pub(crate) code: exec::CodeStore,
    pub(crate) limits: VmLimits,
    pub(crate) host: Box<dyn VmHost>,
    pub(crate) regs: Vec<u64>,
    pub(crate) slots: Vec<u32>,
    pub(crate) steps: u64,
    /// Steps of the current call not yet handed to the hot loop as a chunk.
    pub(crate) remaining: u64,
    pub(crate) interrupt: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) safe_points: u64,
    pub(crate) evals: u64,
    pub(crate) foreign: ffi::Foreign,
    /// Evaluations suspended at a compiler request, innermost last.
    pub(crate) suspended: Vec<exec::Suspended>,
}

impl Vm {
    /// A fresh VM with empty memory.
    pub fn new(limits: VmLimits, host: Box<dyn VmHost>) -> Vm {
        Vm {
            mem: ComptimeMemory::new(limits.max_memory),
            code: exec::CodeStore::default(),
            limits,
            host,
            regs: Vec::new(),
            slots: Vec::new(),
            steps: 0,
            remaining: 0,
            interrupt: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            deadline: None,
            safe_points: 0,
            evals: 0,
            foreign: ffi::Foreign::default(),
            suspended: Vec::new(),
        }
    }

    /// Describes extern `symbol` for comptime FFI: which of its pointer-sized parameters and
    /// result are pointers (see [`ffi`]). Externs without a description are not called.
    pub fn declare_foreign(&mut self, symbol: &str, sig: ForeignSig) {
        self.foreign.declare(symbol, sig);
    }

    /// Whether [`Vm::declare_foreign`] was called for `symbol`.
    pub fn is_foreign_declared(&self, symbol: &str) -> bool {
        self.foreign.is_declared(symbol)
    }

    /// The flag that interrupts evaluation at the next safe point (set it from a Ctrl-C
    /// handler or a watchdog). It is cleared when an evaluation is stopped by it.
    pub fn interrupt_handle(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.interrupt.clone()
    }

    /// Uses `flag` (e.g. one a Ctrl-C handler sets) as this VM's interrupt flag.
    pub fn set_interrupt_handle(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.interrupt = flag;
    }

    /// Safe points reached so far (chunk boundaries of the step budget).
    pub fn safe_points(&self) -> u64 {
        self.safe_points
    }

    /// A VM with default limits writing to the real stdout/stderr.
    pub fn with_defaults() -> Vm {
        Vm::new(VmLimits::default(), Box::new(StdHost))
    }

    /// The limits in force.
    pub fn limits(&self) -> &VmLimits {
        &self.limits
    }

    /// Calls `func` of `m` with scalar `args` (raw bits: integers two's complement, f64 as
    /// `to_bits()`, f32 as `to_bits() as u64`). The step budget is per call.
    pub fn call(&mut self, m: &Module, func: FuncId, args: &[u64]) -> Result<Outcome, VmError> {
        self.evals += 1;
        exec::run(self, m, func, args)
    }

    /// Continues the innermost evaluation suspended at [`Outcome::CompilerCall`] with the
    /// request's results (raw bits, one per result of the extern's signature). Budgets,
    /// deadline and stack carry over from before the suspension.
    pub fn resume(&mut self, m: &Module, results: &[u64]) -> Result<Outcome, VmError> {
        exec::resume(self, m, results)
    }

    /// Drops the innermost suspended evaluation (its request could not be answered).
    pub fn abandon(&mut self) {
        exec::abandon(self)
    }

    /// Runs `m.entry` (signature `() -> i32`) and returns its exit status (the returned value
    /// or the code passed to `exit`).
    pub fn run_program(&mut self, m: &Module) -> Result<i32, VmError> {
        // A whole program is compiled code, not compile-time evaluation: `is_comptime()` is false.
        self.mem.comptime_stage = false;
        let entry = m.entry.ok_or_else(|| VmError::new("the module has no entry function"))?;
        match self.call(m, entry, &[])? {
            Outcome::Exited(c) => Ok(c),
            Outcome::CompilerCall { name, .. } => {
                self.abandon();
                Err(VmError::new(format!("'{}' runs only at compile time", name)))
            }
            Outcome::Returned(v) => match v.as_slice() {
                [c] => Ok(*c as u32 as i32),
                _ => Err(VmError::new("the entry function must return one i32")),
            },
        }
    }

    /// A fresh zeroed heap allocation of `size` bytes for the caller (e.g. an sret buffer).
    /// Alignment is implicit: allocations start at offset 0 of their own address space.
    pub fn alloc(&mut self, size: u64, _align: u64) -> Result<u64, VmError> {
        self.mem.alloc(size, memory::AllocKind::Heap).map_err(VmError::new)
    }

    /// Frees a heap allocation made by [`Vm::alloc`] (or by comptime code).
    pub fn free(&mut self, ptr: u64) -> Result<(), VmError> {
        self.mem.free(ptr).map_err(VmError::new)
    }

    /// Reads `len` bytes at `ptr` (bounds-checked).
    pub fn read_bytes(&self, ptr: u64, len: u64) -> Result<Vec<u8>, VmError> {
        self.mem.read_bytes(ptr, len).map(|b| b.to_vec()).map_err(|e| VmError::new(e.to_string()))
    }

    /// Writes `bytes` at `ptr` (bounds- and writability-checked).
    pub fn write_bytes(&mut self, ptr: u64, bytes: &[u8]) -> Result<(), VmError> {
        self.mem.write_bytes(ptr, bytes).map_err(|e| VmError::new(e.to_string()))
    }

    /// What `ptr` points to.
    pub fn decode_pointer(&self, ptr: u64) -> PointerTarget {
        self.mem.decode(ptr)
    }

    /// Size in bytes of a live allocation (as returned in a [`PointerTarget`]).
    pub fn allocation_len(&self, alloc: u32) -> Option<u64> {
        self.mem.allocation_len(alloc)
    }

    /// Offsets (relative to `ptr`) of the words in `[ptr, ptr + len)` where comptime code
    /// stored pointers (provenance; decode the current values before use).
    pub fn pointer_offsets(&self, ptr: u64, len: u64) -> Vec<u64> {
        self.mem.pointer_offsets(ptr, len)
    }

    /// The address of static data object `data` (created on first use), e.g. to pass a string
    /// literal to a function.
    pub fn data_address(&mut self, m: &Module, data: DataId) -> Result<u64, VmError> {
        self.mem.data_ptr(m, data).map_err(VmError::new)
    }

    /// Refreshes comptime memory's copy of static data `data` after the compiler completed it
    /// (see [`ComptimeMemory::reload_data`]).
    pub fn reload_data(&mut self, m: &Module, data: DataId) -> Result<(), VmError> {
        self.mem.reload_data(m, data).map_err(VmError::new)
    }

    /// The pointer value `FuncAddr` yields for `func`.
    pub fn func_address(func: FuncId) -> u64 {
        memory::func_ptr(func.0)
    }

    /// Number of top-level [`Vm::call`]s made so far.
    pub fn eval_count(&self) -> u64 {
        self.evals
    }

    /// Total live bytes of comptime memory.
    pub fn live_bytes(&self) -> u64 {
        self.mem.live_bytes()
    }
}
