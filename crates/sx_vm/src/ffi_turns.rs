//! Whose turn it is to use a VM while C runs: the hand-over between the thread evaluating
//! compile-time code and the threads C calls sx functions back on.
//!
//! A VM is used by one thread at a time. The evaluating thread *publishes* each C call that C
//! may call back from (a yielding call, see [`crate::ffi_callbacks`]) before it enters C, and
//! *reclaims* the VM when C returns. While a call is published and nobody has the turn, a
//! callback — on the calling thread inside that call, or on any thread C started — *takes* the
//! turn, runs its sx function on the VM and *gives* the turn back. A callback that arrives while
//! no call is published (the evaluating thread runs sx code) waits for the next one. Reclaiming
//! waits until the running callback, and any call it published in turn, are done: published
//! calls nest like a stack.
//!
//! This module knows nothing of the VM: a published call carries an opaque pointer to the
//! caller's context, valid while it is published.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

/// A published C call: who made it and the context of the caller (valid while published).
#[derive(Copy, Clone)]
pub(crate) struct Published {
    /// Identifies the call among the nested published calls.
    id: u64,
    /// The thread inside the call.
    pub(crate) thread: ThreadId,
    /// The caller's context for callbacks (owned by the caller).
    pub(crate) context: *const c_void,
}

/// The hand-over state.
#[derive(Default)]
struct Turn {
    /// The innermost published call.
    current: Option<Published>,
    /// Whether a callback has the turn.
    busy: bool,
    /// The id of the next published call.
    next_id: u64,
}

// SAFETY: the context pointer is only dereferenced by the thread holding the turn, while the
// call that published it is inside C.
unsafe impl Send for Turn {}

/// One VM's hand-over (shared with the callbacks C holds, which may outlive a call).
#[derive(Default)]
pub(crate) struct CallbackHub {
    turn: Mutex<Turn>,
    changed: Condvar,
}

/// What [`CallbackHub::publish`] replaced, for [`CallbackHub::reclaim`].
pub(crate) struct Ticket {
    id: u64,
    outer: Option<Published>,
    outer_busy: bool,
}

impl CallbackHub {
    fn lock(&self) -> MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the calling thread's C call with `context`; callbacks may take the turn until
    /// [`CallbackHub::reclaim`].
    pub(crate) fn publish(&self, context: *const c_void) -> Ticket {
        let mut t = self.lock();
        let id = t.next_id;
        t.next_id += 1;
        let ticket = Ticket { id, outer: t.current, outer_busy: t.busy };
        t.current = Some(Published { id, thread: std::thread::current().id(), context });
        t.busy = false;
        self.changed.notify_all();
        ticket
    }

    /// After C returned: waits until no callback runs inside the published call, then restores
    /// the state before [`CallbackHub::publish`].
    pub(crate) fn reclaim(&self, ticket: Ticket) {
        let mut t = self.lock();
        while t.busy || t.current.map(|c| c.id) != Some(ticket.id) {
            t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        t.current = ticket.outer;
        t.busy = ticket.outer_busy;
        self.changed.notify_all();
    }

    /// Waits for a published call nobody else uses and takes the turn in it.
    pub(crate) fn take(&self) -> Published {
        let mut t = self.lock();
        loop {
            match t.current {
                Some(call) if !t.busy => {
                    t.busy = true;
                    return call;
                }
                Some(_) | None => t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    /// Gives back the turn [`CallbackHub::take`] took.
    pub(crate) fn give(&self) {
        let mut t = self.lock();
        t.busy = false;
        self.changed.notify_all();
    }
}

/// The C function pointers of one VM's sx functions (libffi closures, one per function), made
/// the first time a function is passed to C and kept for the VM's life and beyond: C may keep a
/// function pointer and call it later, from any thread (`pthread_create`, a registered SQL
/// function), so a closure is never freed — a call after the VM is gone waits for a turn that
/// never comes instead of jumping into freed memory.
#[derive(Default)]
pub(crate) struct CallbackTable {
    /// The hand-over every closure of the VM uses.
    pub(crate) hub: Arc<CallbackHub>,
    /// Closure code address by sx function index.
    pub(crate) code: HashMap<u32, u64>,
}

impl CallbackTable {
    /// Whether C may hold a function pointer into this VM (then every C call must be published).
    pub(crate) fn any(&self) -> bool {
        !self.code.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A callback on another thread waits for a published call, and reclaiming waits for it.
    #[test]
    fn a_callback_runs_only_inside_a_published_call() {
        let hub = Arc::new(CallbackHub::default());
        let ran = Arc::new(AtomicU32::new(0));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (h, r) = (Arc::clone(&hub), Arc::clone(&ran));
        let worker = std::thread::spawn(move || {
            let call = h.take();
            started_tx.send(()).expect("send");
            std::thread::sleep(std::time::Duration::from_millis(20));
            r.store(call.context as usize as u32, Ordering::SeqCst);
            h.give();
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the callback ran while nothing was published");
        let ticket = hub.publish(7usize as *const c_void);
        // Like C in `pthread_join`: the call lasts until the callback has started.
        started_rx.recv().expect("recv");
        hub.reclaim(ticket);
        assert_eq!(ran.load(Ordering::SeqCst), 7, "reclaim returned before the callback was done");
        worker.join().expect("worker");
    }

    /// A callback that makes a published call of its own lets other callbacks run inside it,
    /// and gets its turn back when that call is reclaimed.
    #[test]
    fn published_calls_nest() {
        let hub = CallbackHub::default();
        let outer = hub.publish(1usize as *const c_void);
        let first = hub.take();
        assert_eq!(first.context as usize, 1);
        let inner = hub.publish(2usize as *const c_void);
        assert_eq!(hub.take().context as usize, 2);
        hub.give();
        hub.reclaim(inner);
        {
            let t = hub.lock();
            assert!(t.busy, "the outer callback lost its turn");
            assert_eq!(t.current.map(|c| c.context as usize), Some(1));
        }
        hub.give();
        hub.reclaim(outer);
        assert!(hub.lock().current.is_none());
    }
}
