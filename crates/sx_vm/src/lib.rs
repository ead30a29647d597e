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
//! Layers (each module imports only from those below it): [`width`], [`host`],
//! [`guard_pages`] (buffers C may see, against guard pages) and [`fault_trap`] (catching C's
//! faults) are leaves, [`memory`] stands on `guard_pages`; [`policy`] (the `--sandbox` rules,
//! above `memory`) decides which host effects compile-time code may have; [`bytecode`] is the op table and everything generated from it
//! (operand walks, validation, linking, the text form); [`ffi`] and [`natives`] call C
//! functions; [`translate`] produces bytecode; `machine` holds the state the executor and this
//! API share (the `Vm`, the code store, frames, suspended evaluations); [`exec`] is the
//! dispatch loop; this root is the public API ([`Vm`]'s methods, [`module_bytecode`]).
//!
//! Semantics match native execution: wrapping two's complement integer arithmetic, truncating
//! division, IEEE floats (f32 arithmetic done in f32), saturating float→int conversions.
//! Integer division by zero and `MIN / -1` — which trap natively — are [`VmError`]s.
//!
//! Must never: crash or hang the compiler (malformed modules give errors, never panics; deep sx
//! recursion uses the VM's own frame stack, never host recursion; step, call-depth and memory
//! budgets stop runaway code — see [`VmLimits`]); let comptime code dereference host memory
//! (host addresses exist only while an FFI call runs; what C returns is translated back, copied
//! or made opaque); run native code that skips a check of the interpreter. The native code it
//! runs is the C functions the program calls and, with `VmLimits::comptime_jit`, the `jit`
//! tier's compiled bytecode, which makes the interpreter's checks or leaves to it.
//!
//! A [`Vm`] is bound to one (growing) [`Module`]: successive calls may pass the module with new
//! functions and data appended, but existing ones must never change (caches are keyed by
//! `FuncId`/`DataId`).

pub mod bytecode;
pub mod exec;
pub mod fault_trap;
pub mod ffi;
mod ffi_callbacks;
mod ffi_pointers;
mod ffi_turns;
pub mod guard_pages;
pub mod host;
mod jit;
pub mod library;
mod machine;
pub mod memory;
mod native_code;
pub mod natives;
pub mod policy;
pub mod translate;
pub mod width;

pub use bytecode::COMPILER_CALL_PREFIX;
pub use ffi::{ForeignSig, ForeignType};
pub use host::{CaptureHost, CapturedWrites, StdHost, VmHost};
pub use library::{open_library, LibraryError};
pub use machine::{Frame, Outcome, Vm, VmError, VmLimits};
pub use memory::{ComptimeMemory, PointerTarget};
pub use policy::{Permission, VmPolicy};
use std::sync::Arc;
use sx_ir::{DataId, FuncId, Function, Module};

impl Vm {
    /// A fresh VM with empty memory.
    pub fn new(limits: VmLimits, host: Box<dyn VmHost>) -> Vm {
        let sandbox = policy::Sandbox::new(limits.policy.clone());
        let jit = native_code::Tier::new_if(limits.comptime_jit);
        Vm {
            mem: ComptimeMemory::new(limits.max_memory),
            code: machine::CodeStore::default(),
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
            foreign: ffi::Foreign::new(sandbox),
            suspended: Vec::new(),
            jit,
        }
    }

    /// Describes extern `symbol` for comptime FFI: which of its pointer-sized parameters and
    /// result are pointers (see [`ffi`]). Externs without a description are not called.
    pub fn declare_foreign(&mut self, symbol: &str, sig: ForeignSig) {
        self.foreign.declare(symbol, sig);
    }

    /// Loads shared library `name` (`#library`) so foreign calls resolve in it too. Under
    /// `--sandbox` this is refused unless `ffi` is granted.
    pub fn load_library(&mut self, name: &str) -> Result<(), LibraryError> {
        if library::ALWAYS_PRESENT.contains(&name) {
            return Ok(());
        }
        if !self.limits.policy.allows(Permission::Ffi) {
            self.foreign.refused_libs.push(name.to_string());
            return Err(LibraryError::Refused { name: name.to_string() });
        }
        let lib = library::open_library(name)?;
        self.foreign.add_library(lib);
        Ok(())
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

    /// Functions the native tier has compiled so far (0 with `comptime_jit` off).
    pub fn native_functions(&self) -> u64 {
        jit::compiled_count(self)
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

/// Translates IR function `f` of `m` and returns its VM bytecode as text (see
/// [`bytecode::Compiled::to_text`]), or the translator's error.
pub fn function_bytecode(m: &Module, f: &Function) -> Result<String, String> {
    translate::translate(m, f).map(|c| c.to_text())
}

/// Translates every function of `m` that has a body and returns their VM bytecode as text, in
/// module order, separated by blank lines. A function the translator rejects is listed with
/// its error (`fn NAME: error: …`).
pub fn module_bytecode(m: &Module) -> String {
    let mut out = String::new();
    for (_, f) in m.funcs.iter() {
        if !f.is_defined() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        match function_bytecode(m, f) {
            Ok(text) => out.push_str(&text),
            Err(e) => {
                out.push_str(&format!("fn {}: error: {}\n", f.name, e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
