//! The interpreter against the native tier (`vm_jit`): the same generated module, entry and
//! arguments on a VM with the tier off and on a VM with it on (compiling every function it
//! reaches, `SX_COMPTIME_JIT=eager`), with the same budgets and safe-point interval. The
//! outcomes must be identical — return values, `exit` statuses, compiler requests, and for
//! errors the whole `VmError` (message, span, comptime call stack, related spans) — and so must
//! everything the program wrote. Each VM runs the entry twice (the second run reuses cached
//! code and leftover heap).

use arbitrary::Unstructured;
use sx_ir::FuncId;

use crate::vmgen::{corrupt, gen_module, interesting_int, limits, serve};

/// Sets `SX_COMPTIME_JIT=eager` for this process (before the first VM is made).
pub fn init() {
    std::env::set_var("SX_COMPTIME_JIT", "eager");
}

/// What one VM did: the two outcomes, its stdout and stderr, and how many functions the tier
/// compiled.
type Trace = (Vec<Result<sx_vm::Outcome, sx_vm::VmError>>, Vec<u8>, Vec<u8>, u64);

/// How one input went.
pub enum Checked {
    /// No module to run (the generator gave up, or a corrupted module the VM cannot index).
    Skipped,
    /// Both VMs agreed; the tier compiled this many functions.
    Same(u64),
    /// They diverged.
    Diverged(String),
}

/// Runs `data`'s module on both VMs; `Some(description)` when they diverge.
pub fn check(data: &[u8]) -> Option<String> {
    match check_counted(data) {
        Checked::Diverged(d) => Some(d),
        Checked::Skipped | Checked::Same(_) => None,
    }
}

/// [`check`], saying whether the module ran and how much the tier compiled.
pub fn check_counted(data: &[u8]) -> Checked {
    let corrupted = data.first().map(|b| b % 8 == 0).unwrap_or(false);
    let check_every = data.get(1).map(|&b| 1 + (b as u64 % 64)).unwrap_or(1 << 10);
    let (data, tail) = if corrupted && data.len() > 3 {
        let k = data.len() - (data.len() / 4).clamp(1, 32);
        (&data[2..k], &data[k..])
    } else {
        (data.get(2..).unwrap_or(&[]), &[][..])
    };
    let mut u = Unstructured::new(data);
    let args: Vec<u64> = (0..4).map(|_| interesting_int(&mut u).unwrap_or(0) as u64).collect();
    let Ok(mut m) = gen_module(&mut u) else { return Checked::Skipped };
    if corrupted {
        let _ = corrupt(&mut Unstructured::new(tail), &mut m);
        if !crate::vmgen::indexable(&m) {
            return Checked::Skipped;
        }
    }
    if m.externs.values().any(|e| e.symbol == "clock_gettime") {
        return Checked::Skipped;
    }
    let entry = FuncId(0);
    let nargs = m.funcs.get(entry).map(|f| f.sig.params.len()).unwrap_or(0);
    let args = &args[..nargs.min(args.len())];
    let run = |jit: bool| -> Trace {
        let mut l = limits();
        l.check_every = check_every;
        l.comptime_jit = jit;
        let host = sx_vm::CaptureHost::new();
        let mut vm = sx_vm::Vm::new(l, Box::new(host.clone()));
        let mut outs = Vec::new();
        for _ in 0..2 {
            let r = vm.call(&m, entry, args);
            outs.push(serve(&mut vm, &m, r));
        }
        (outs, host.output(1), host.output(2), vm.native_functions())
    };
    let interp = run(false);
    let native = run(true);
    if (&interp.0, &interp.1, &interp.2) != (&native.0, &native.1, &native.2) {
        return Checked::Diverged(format!("interpreter: {:?}\nnative tier: {:?}", interp.0, native.0));
    }
    Checked::Same(native.3)
}
