//! Wall-clock time the front end spends in its measured phases (for `sx --time`): parsing,
//! the comptime VM, and the IR passes (`promote_slots`, the verifier). Everything else the
//! front end does is semantic analysis and lowering.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Time spent in each measured front-end phase of one compilation.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseTimes {
    /// Parsing source files (`loader`).
    pub parse: Duration,
    /// Running compile-time code on the VM (`vm.call` and `vm.resume`, not the compiler
    /// requests serviced between them).
    pub comptime_vm: Duration,
    /// `promote_slots` on every finished function and IR verification.
    pub ir_passes: Duration,
}

thread_local! {
    /// `promote_slots` time of the compilation running on this thread (the emitter that runs
    /// it has no access to the compiler).
    static PROMOTE_SLOTS: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Runs `op` and adds its wall time to this thread's `promote_slots` total.
pub(crate) fn time_promote_slots<T>(op: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = op();
    let spent = start.elapsed();
    PROMOTE_SLOTS.with(|t| t.set(t.get() + spent));
    r
}

/// This thread's `promote_slots` total so far, reset to zero.
pub(crate) fn take_promote_slots() -> Duration {
    PROMOTE_SLOTS.with(|t| t.replace(Duration::ZERO))
}

/// Runs `op` and adds its wall time to `total`.
pub(crate) fn timed<T>(total: &mut Duration, op: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = op();
    *total += start.elapsed();
    r
}
