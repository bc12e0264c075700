//! How many polls a poll loop keeps open: fixed, or scaled on what polls bring back.

use super::PollerBehavior;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The period over which tasks taken are counted, to tell whether more polls bring more tasks.
pub(crate) const INGESTION_PERIOD: Duration = Duration::from_millis(100);

/// The poll deadline while an autoscaling loop is above its minimum: the server answers
/// empty about a second before it, so pollers added for a burst come back soon after it ends.
pub(crate) const SCALED_UP_POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls open (or backing off after an error) and how many there should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PollerCount {
    pub(crate) active: usize,
    pub(crate) target: usize,
}

/// What a finished poll brought, as the scaler weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollOutcome {
    /// A task (`true`) or nothing, with the server's suggested change if it made one.
    Answered { task: bool, suggestion: Option<i32> },
    /// The server refused the poll as overloaded (`RESOURCE_EXHAUSTED`).
    Overloaded,
    /// The poll failed otherwise.
    Failed,
}

/// Keeps a poll loop's open polls at a target: fixed for [`PollerBehavior::SimpleMaximum`],
/// moved by poll outcomes between the bounds for [`PollerBehavior::Autoscaling`], by the rules
/// the official SDKs follow (so the pollers a task queue's description lists move alike).
pub(crate) struct PollScaler {
    minimum: usize,
    maximum: usize,
    autoscaling: bool,
    count: watch::Sender<PollerCount>,
    ingestion: Mutex<Ingestion>,
}

/// How a poll's outcome moves the target.
#[derive(Debug, Clone, Copy)]
enum Step {
    By(isize),
    Halve,
}

/// Tasks taken per [`INGESTION_PERIOD`], and what the server has said so far.
#[derive(Debug)]
struct Ingestion {
    period_started: Instant,
    this_period: u64,
    last_period: u64,
    /// Whether tasks came in at least 10 % faster in the last period than in the one before:
    /// only then does a suggestion to poll more take effect (more polls would not help
    /// otherwise: the worker, not the polls, would be what limits it).
    scale_up_allowed: bool,
    /// Whether any answer carried a suggestion. Until one does, empty polls remove no poller
    /// (nothing would ever add it back).
    saw_suggestion: bool,
}

impl Ingestion {
    /// Closes the periods that ended by `now`.
    fn roll(&mut self, now: Instant) {
        // Two empty periods leave the same state as any more would.
        for _ in 0..3 {
            if now.saturating_duration_since(self.period_started) < INGESTION_PERIOD {
                return;
            }
            self.scale_up_allowed = self.this_period as f64 >= self.last_period as f64 * 1.1;
            self.last_period = std::mem::take(&mut self.this_period);
            self.period_started += INGESTION_PERIOD;
        }
        self.period_started = now;
    }
}

/// One open poll's place; freed when dropped.
pub(crate) struct Turn<'a>(&'a PollScaler);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.count.send_modify(|c| c.active -= 1);
    }
}

impl PollScaler {
    pub(crate) fn new(behavior: PollerBehavior) -> Self {
        let (minimum, maximum, initial, autoscaling) = match behavior {
            PollerBehavior::SimpleMaximum(n) => (n, n, n, false),
            PollerBehavior::Autoscaling {
                minimum,
                maximum,
                initial,
            } => (minimum, maximum, initial, true),
        };
        PollScaler {
            minimum,
            maximum,
            autoscaling,
            count: watch::Sender::new(PollerCount {
                active: 0,
                target: initial.clamp(minimum, maximum),
            }),
            ingestion: Mutex::new(Ingestion {
                period_started: Instant::now(),
                this_period: 0,
                last_period: 0,
                scale_up_allowed: true,
                saw_suggestion: false,
            }),
        }
    }

    /// A place for one more poll, once fewer than the target are open.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        let mut changed = self.count.subscribe();
        loop {
            let taken = self.count.send_if_modified(|c| {
                let free = c.active < c.target;
                if free {
                    c.active += 1;
                }
                free
            });
            if taken {
                return Turn(self);
            }
            // The scaler owns the sender, so the channel cannot close while it is awaited.
            let _ = changed.changed().await;
        }
    }

    /// The deadline of the next poll: short while scaled above the minimum.
    pub(crate) fn poll_timeout(&self, normal: Duration) -> Duration {
        if self.autoscaling && self.count.borrow().target > self.minimum {
            SCALED_UP_POLL_TIMEOUT.min(normal)
        } else {
            normal
        }
    }

    /// Moves the target after a poll finished (autoscaling only): by the server's suggestion
    /// when the answer carries one (one to poll more only while tasks come in faster than in
    /// the period before), one fewer after an empty poll once the server has made any
    /// suggestion, half as many when it refuses a poll as overloaded, one fewer after another
    /// failure.
    pub(crate) fn observe(&self, outcome: PollOutcome) {
        self.observe_at(outcome, Instant::now());
    }

    /// [`observe`](Self::observe) with the time it happened.
    pub(crate) fn observe_at(&self, outcome: PollOutcome, now: Instant) {
        if !self.autoscaling {
            return;
        }
        let step = {
            let mut ingestion = self.ingestion.lock().unwrap_or_else(|e| e.into_inner());
            ingestion.roll(now);
            match outcome {
                PollOutcome::Answered { task, suggestion } => {
                    ingestion.this_period += u64::from(task);
                    match suggestion {
                        Some(delta) => {
                            ingestion.saw_suggestion = true;
                            (delta < 0 || (delta > 0 && ingestion.scale_up_allowed)).then_some(Step::By(delta as isize))
                        }
                        None => (!task && ingestion.saw_suggestion).then_some(Step::By(-1)),
                    }
                }
                PollOutcome::Overloaded => Some(Step::Halve),
                PollOutcome::Failed => Some(Step::By(-1)),
            }
        };
        let Some(step) = step else { return };
        let (minimum, maximum) = (self.minimum, self.maximum);
        self.count.send_if_modified(|c| {
            let target = match step {
                Step::By(delta) => c.target.saturating_add_signed(delta),
                Step::Halve => c.target / 2,
            }
            .clamp(minimum, maximum);
            let moved = target != c.target;
            c.target = target;
            moved
        });
    }

    /// The counts now.
    #[cfg(test)]
    pub(crate) fn count(&self) -> PollerCount {
        *self.count.borrow()
    }
}
