//! Durable timers: `ctx.sleep(d)` starts one on the server; dropping it before it fires
//! cancels it.

use super::cancellation::CancellationScope;
use crate::client::failure::Failure;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use crate::workflow::WorkflowError;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct TimerSlot {
    pub(crate) duration: Duration,
    pub(crate) fired: bool,
    pub(crate) canceled: bool,
    pub(crate) waker: Option<Waker>,
}

/// A durable timer; see [`WorkflowContext::sleep`](super::WorkflowContext::sleep).
pub struct Timer {
    run: Rc<RefCell<RunState>>,
    duration: Duration,
    seq: Option<u32>,
    scope: Option<CancellationScope>,
    summary: Option<String>,
}

impl Timer {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, duration: Duration) -> Timer {
        Timer {
            run,
            duration,
            seq: None,
            scope: None,
            summary: None,
        }
    }

    /// Cancels the timer when `scope` is cancelled (default: the scope the code runs in); it
    /// then ends with a cancellation error.
    pub fn cancellation_scope(mut self, scope: &CancellationScope) -> Self {
        self.scope = Some(scope.clone());
        self
    }

    /// A one-line summary of this timer, shown in the web UI's history
    /// (`ctx.sleep(d).summary("cool-down before retrying the card")`).
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }
}

impl Future for Timer {
    type Output = Result<(), WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.duration.is_zero() {
            return Poll::Ready(Ok(()));
        }
        let run_rc = self.run.clone();
        let scope = self.scope.get_or_insert_with(|| CancellationScope::current(&run_rc));
        if scope.is_cancelled() {
            self.cancel();
            return Poll::Ready(Err(Failure::canceled("timer canceled").into()));
        }
        let mut run = run_rc.borrow_mut();
        run.watch_scopes(cx);
        let seq = match self.seq {
            Some(seq) => seq,
            None => {
                let seq = run.timers.next_seq();
                run.timers.insert(
                    seq,
                    TimerSlot {
                        duration: self.duration,
                        ..Default::default()
                    },
                );
                run.issue(WorkflowCommand::StartTimer {
                    seq,
                    duration: self.duration,
                    summary: self.summary.take(),
                });
                self.seq = Some(seq);
                seq
            }
        };
        let slot = run
            .timers
            .get_mut(seq)
            .expect("timer slot exists while its future lives");
        if slot.fired {
            Poll::Ready(Ok(()))
        } else if slot.canceled {
            Poll::Ready(Err(Failure::canceled("timer canceled").into()))
        } else {
            slot.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl Timer {
    /// Cancels a pending timer: withdrawn if its start was not sent yet, else canceled on the
    /// server.
    fn cancel(&mut self) {
        let Some(seq) = self.seq else { return };
        let Ok(mut run) = self.run.try_borrow_mut() else { return };
        let Some(slot) = run.timers.get_mut(seq) else { return };
        if slot.fired || slot.canceled {
            return;
        }
        slot.canceled = true;
        // Commands issued in earlier activations are already matched by history by the time
        // code runs again, so a start still queued was issued in this activation and never
        // sent: withdraw it. Otherwise ask the server to cancel the timer.
        let queued = run
            .commands
            .iter()
            .position(|c| matches!(c, WorkflowCommand::StartTimer { seq: s, .. } if *s == seq));
        match queued {
            Some(i) => {
                run.commands.remove(i);
            }
            None => run.issue(WorkflowCommand::CancelTimer { seq }),
        }
    }
}
