//! The worker's own limit on how fast it starts activities.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Hands out at most one start per interval (`1 / rate` seconds): each start is at least one
/// interval after the one before, measured from when it was actually handed out, so no
/// window of one second holds more than `rate` of them (rounded up). There is no burst.
///
/// Pollers ask [`ready`](Self::ready) before polling: it waits while a polled task waits for
/// its start and until a start could be handed out, so a task waits for its start at most one
/// interval per other poll open when it came.
pub(crate) struct RateLimiter {
    interval: Duration,
    state: watch::Sender<State>,
}

#[derive(Clone, Copy)]
struct State {
    /// The earliest time the next start may be handed out.
    next: Option<Instant>,
    /// Tasks polled and not started yet.
    waiting: usize,
}

/// A polled task waiting for its start (counted until it gets it or is dropped).
pub(crate) struct Waiting(Arc<RateLimiter>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.state.send_modify(|s| s.waiting -= 1);
    }
}

impl RateLimiter {
    /// A limit of `rate` starts per second (finite and above zero).
    pub(crate) fn per_second(rate: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate),
            state: watch::Sender::new(State { next: None, waiting: 0 }),
        }
    }

    /// Waits until no polled task waits for its start and a start could be handed out now,
    /// without taking it.
    pub(crate) async fn ready(&self) {
        let mut state = self.state.subscribe();
        loop {
            let State { next, waiting } = *state.borrow_and_update();
            if waiting > 0 {
                let _ = state.changed().await;
            } else if let Some(at) = next.filter(|at| *at > Instant::now()) {
                tokio::time::sleep_until(at).await;
            } else {
                return;
            }
        }
    }

    /// Counts a polled task as waiting for its start (call at once when it arrives).
    pub(crate) fn waiting(self: &Arc<Self>) -> Waiting {
        self.state.send_modify(|s| s.waiting += 1);
        Waiting(self.clone())
    }
}

impl Waiting {
    /// Waits for the next start and takes it.
    pub(crate) async fn start(self) {
        let limiter = &self.0;
        loop {
            let mut wait = None;
            limiter.state.send_if_modified(|s| {
                let now = Instant::now();
                match s.next {
                    Some(at) if at > now => wait = Some(at),
                    _ => s.next = Some(now + limiter.interval),
                }
                false
            });
            match wait {
                Some(at) => tokio::time::sleep_until(at).await,
                None => return,
            }
        }
    }
}
