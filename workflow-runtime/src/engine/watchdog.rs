//! Notices workflow code that never yields: the workflow thread records when each poll of a
//! workflow future starts, and the worker's async side checks how long it has been running.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The poll in progress on one workflow thread.
pub(crate) struct PollClock {
    base: Instant,
    /// Milliseconds since `base` when the current poll started, plus one; 0 when idle.
    started: AtomicU64,
    /// (workflow type, workflow id, run id) of the run being polled.
    run: Mutex<(String, String, String)>,
}

thread_local! {
    static CLOCK: RefCell<Option<Arc<PollClock>>> = const { RefCell::new(None) };
}

impl PollClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(PollClock {
            base: Instant::now(),
            started: AtomicU64::new(0),
            run: Mutex::new(Default::default()),
        })
    }

    /// Makes this clock the one the current thread's polls report to, until the returned
    /// guard is dropped (the thread's earlier clock, if any, comes back then).
    pub(crate) fn install(self: &Arc<Self>) -> Installed {
        Installed(CLOCK.with(|c| c.borrow_mut().replace(self.clone())))
    }

    /// How long the current poll has run, and which run it is, if one is running.
    pub(crate) fn busy(&self) -> Option<(Duration, (String, String, String))> {
        let started = self.started.load(Ordering::SeqCst);
        if started == 0 {
            return None;
        }
        let elapsed = (self.base.elapsed().as_millis() as u64).saturating_sub(started - 1);
        let run = self.run.lock().map(|r| r.clone()).unwrap_or_default();
        Some((Duration::from_millis(elapsed), run))
    }
}

/// A clock installed on this thread; holds the one it replaced.
pub(crate) struct Installed(Option<Arc<PollClock>>);

impl Drop for Installed {
    fn drop(&mut self) {
        let earlier = self.0.take();
        let _ = CLOCK.try_with(|c| *c.borrow_mut() = earlier);
    }
}

/// Marks the start of a poll of `run`'s workflow future on this thread.
pub(crate) fn poll_started(workflow_type: &str, workflow_id: &str, run_id: &str) {
    CLOCK.with(|c| {
        if let Some(clock) = c.borrow().as_ref() {
            if let Ok(mut r) = clock.run.lock() {
                *r = (workflow_type.to_string(), workflow_id.to_string(), run_id.to_string());
            }
            let now = clock.base.elapsed().as_millis() as u64 + 1;
            clock.started.store(now, Ordering::SeqCst);
        }
    });
}

/// Marks the end of the poll.
pub(crate) fn poll_finished() {
    CLOCK.with(|c| {
        if let Some(clock) = c.borrow().as_ref() {
            clock.started.store(0, Ordering::SeqCst);
        }
    });
}
