//! How many polls a poll loop keeps open: fixed, or scaled on what polls bring back.

use super::PollerBehavior;
use std::time::Duration;
use tokio::sync::watch;

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
/// moved by poll outcomes between the bounds for [`PollerBehavior::Autoscaling`].
pub(crate) struct PollScaler {
    minimum: usize,
    maximum: usize,
    autoscaling: bool,
    count: watch::Sender<PollerCount>,
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

    /// Moves the target after a poll finished (autoscaling only).
    pub(crate) fn observe(&self, outcome: PollOutcome) {
        if !self.autoscaling {
            return;
        }
        let (minimum, maximum) = (self.minimum, self.maximum);
        self.count.send_if_modified(|c| {
            let target = match outcome {
                PollOutcome::Answered {
                    suggestion: Some(delta),
                    ..
                } => c.target.saturating_add_signed(delta as isize),
                PollOutcome::Answered { task: true, .. } => c.target.saturating_add(1),
                PollOutcome::Answered { task: false, .. } | PollOutcome::Failed => c.target.saturating_sub(1),
                PollOutcome::Overloaded => c.target / 2,
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
