//! `--time`: the wall time of each compiler phase a command ran, printed as a table on stderr.

use std::time::{Duration, Instant};

/// The phases one command ran and how long each took.
pub struct PhaseClock {
    start: Instant,
    /// Wall time of the whole front end (`sx_sema::compile`), once it has run.
    front_end: Option<Duration>,
    /// The front end's own breakdown (present when it succeeded).
    sema: Option<sx_sema::phase_times::PhaseTimes>,
    /// Whether any compile-time evaluation ran on the VM.
    ran_vm: bool,
    /// Cranelift code generation (JIT compile or object emission).
    pub codegen: Option<Duration>,
    /// The system linker.
    pub link: Option<Duration>,
    /// Time that belongs to the program, not the compiler (`sx run` executing it).
    excluded: Duration,
}

impl PhaseClock {
    /// A clock started now.
    pub fn start() -> PhaseClock {
        PhaseClock {
            start: Instant::now(),
            front_end: None,
            sema: None,
            ran_vm: false,
            codegen: None,
            link: None,
            excluded: Duration::ZERO,
        }
    }

    /// Records the front end's wall time and, when it succeeded, its breakdown.
    pub fn front_end(&mut self, wall: Duration, out: Option<&sx_sema::Output>) {
        self.front_end = Some(wall);
        if let Some(out) = out {
            self.sema = Some(out.timings);
            self.ran_vm = out.vm_evaluations > 0;
        }
    }

    /// Runs `op`, adding its wall time to the phase in `slot`.
    pub fn time<T>(slot: &mut Option<Duration>, op: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let r = op();
        *slot = Some(slot.unwrap_or_default() + start.elapsed());
        r
    }

    /// Runs `op` (the user's program) and leaves its time out of the total.
    pub fn exclude<T>(&mut self, op: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let r = op();
        self.excluded += start.elapsed();
        r
    }

    /// The table: one row per phase that ran, then the total (wall time of the command, less
    /// the program's own run time).
    pub fn table(&self) -> String {
        let mut rows: Vec<(&str, Duration)> = vec![];
        match (self.front_end, self.sema) {
            (Some(wall), Some(t)) => {
                let measured = t.parse + t.comptime_vm + t.ir_passes;
                rows.push(("parse", t.parse));
                rows.push(("sema", wall.saturating_sub(measured)));
                if self.ran_vm {
                    rows.push(("comptime VM", t.comptime_vm));
                }
                rows.push(("IR passes", t.ir_passes));
            }
            (Some(wall), None) => rows.push(("front end (failed)", wall)),
            (None, _) => {}
        }
        if let Some(d) = self.codegen {
            rows.push(("codegen", d));
        }
        if let Some(d) = self.link {
            rows.push(("link", d));
        }
        rows.push(("total", self.start.elapsed().saturating_sub(self.excluded)));
        let mut text = format!("{:<20} {:>10}\n", "phase", "ms");
        for (name, d) in rows {
            text.push_str(&format!("{:<20} {:>10.1}\n", name, d.as_secs_f64() * 1000.0));
        }
        text
    }
}
