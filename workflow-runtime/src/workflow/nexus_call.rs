//! Nexus operations called from workflow code: scheduled through an endpoint, recorded in
//! history (`NexusOperationScheduled`, then `…Completed`, `…Failed`, `…Canceled` or
//! `…TimedOut`) and replayed from it.

use super::cancellation::{CancellationScope, CancellationType};
use super::error::WorkflowError;
use crate::client::failure::Failure;
use crate::client::payload;
use crate::client::proto::command as pc;
use crate::client::proto::common::Payload;
use crate::client::time::to_proto_duration;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use crate::nexus::NexusOperation;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The record of one Nexus operation the run called.
#[derive(Default)]
pub(crate) struct NexusSlot {
    pub(crate) description: String,
    /// Its `NexusOperationScheduled` event, once history recorded it.
    pub(crate) scheduled_event_id: Option<i64>,
    /// The operation's token, once the handler started it asynchronously.
    pub(crate) operation_token: Option<String>,
    pub(crate) outcome: Option<Result<Option<Payload>, Failure>>,
    pub(crate) waker: Option<Waker>,
}

impl RunState {
    /// Records how a Nexus operation ended (or that it started), by its scheduled event.
    pub(crate) fn resolve_nexus(&mut self, scheduled_event_id: i64, update: impl FnOnce(&mut NexusSlot)) {
        if let Some(slot) = self.nexus.by_event_mut(scheduled_event_id) {
            update(slot);
            if slot.outcome.is_some()
                && let Some(w) = slot.waker.take()
            {
                w.wake();
            }
        }
        self.wake_conditions();
    }
}

/// A call of Nexus operation `O` being configured: `.await` it for the operation's output.
#[must_use = "a Nexus operation call does nothing until it is awaited"]
pub struct NexusCall<O: NexusOperation> {
    run: Rc<RefCell<RunState>>,
    endpoint: String,
    input: O::Input,
    schedule_to_close_timeout: Option<Duration>,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    _operation: PhantomData<fn() -> O>,
}

impl<O: NexusOperation> NexusCall<O> {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, endpoint: String, input: O::Input) -> Self {
        NexusCall {
            run,
            endpoint,
            input,
            schedule_to_close_timeout: None,
            scope: None,
            // As the other SDKs do by default: the caller learns how the operation ended.
            cancellation_type: CancellationType::WaitCancellationCompleted,
            _operation: PhantomData,
        }
    }

    /// When `scope` is cancelled while the operation runs, cancels it the way
    /// [`cancellation_type`](Self::cancellation_type) says. Default: the scope the code runs
    /// in (cancelled when the workflow is asked to cancel).
    pub fn cancellation_scope(mut self, scope: &CancellationScope) -> Self {
        self.scope = Some(scope.clone());
        self
    }

    /// How a cancellation is carried out: ask the handler and wait until the operation ended
    /// (the default), ask and stop waiting at once, or stop waiting without asking.
    pub fn cancellation_type(mut self, how: CancellationType) -> Self {
        self.cancellation_type = how;
        self
    }

    /// How long the caller waits for the operation to end, retries of the request included
    /// (the server's default when unset: the workflow's run timeout).
    pub fn schedule_to_close_timeout(mut self, timeout: Duration) -> Self {
        self.schedule_to_close_timeout = Some(timeout);
        self
    }

    /// Schedules the operation: its command is issued now, in call order.
    fn schedule(self) -> Result<u32, WorkflowError> {
        let input = payload::to_payload(&self.input).map_err(|e| {
            WorkflowError::non_retryable(
                format!("input of Nexus operation `{}.{}`: {e}", O::SERVICE, O::NAME),
                "PayloadError",
            )
        })?;
        let mut run = self.run.borrow_mut();
        let seq = run.nexus.next_seq();
        run.nexus.insert(
            seq,
            NexusSlot {
                description: format!("Nexus operation {}.{} through {}", O::SERVICE, O::NAME, self.endpoint),
                ..Default::default()
            },
        );
        let attributes = pc::ScheduleNexusOperationCommandAttributes {
            endpoint: self.endpoint,
            service: O::SERVICE.to_string(),
            operation: O::NAME.to_string(),
            input: Some(input),
            schedule_to_close_timeout: self.schedule_to_close_timeout.map(to_proto_duration),
            ..Default::default()
        };
        run.issue(WorkflowCommand::ScheduleNexusOperation {
            seq,
            attributes: Box::new(attributes),
        });
        Ok(seq)
    }
}

impl<O: NexusOperation> IntoFuture for NexusCall<O> {
    type Output = Result<O::Output, WorkflowError>;
    type IntoFuture = NexusFuture<O>;
    fn into_future(self) -> NexusFuture<O> {
        let run = self.run.clone();
        let (scope, cancellation_type) = (self.scope.clone(), self.cancellation_type);
        let scheduled = self.schedule();
        NexusFuture {
            run,
            scheduled,
            scope,
            cancellation_type,
            cancel_requested: false,
            _operation: PhantomData,
        }
    }
}

/// A Nexus operation scheduled from workflow code; resolves to its output or failure.
pub struct NexusFuture<O: NexusOperation> {
    run: Rc<RefCell<RunState>>,
    scheduled: Result<u32, WorkflowError>,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    cancel_requested: bool,
    _operation: PhantomData<fn() -> O>,
}

impl<O: NexusOperation> Unpin for NexusFuture<O> {}

impl<O: NexusOperation> Future for NexusFuture<O> {
    type Output = Result<O::Output, WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let seq = match &self.scheduled {
            Ok(seq) => *seq,
            Err(e) => return Poll::Ready(Err(e.clone())),
        };
        let run = self.run.clone();
        let cancelled = self
            .scope
            .get_or_insert_with(|| CancellationScope::current(&run))
            .is_cancelled();
        let mut run = run.borrow_mut();
        if cancelled && !self.cancel_requested {
            self.cancel_requested = true;
            cancel_nexus(&mut run, seq, self.cancellation_type);
        }
        run.watch_scopes(cx);
        let Some(slot) = run.nexus.get_mut(seq) else {
            return Poll::Ready(Err(WorkflowError::non_retryable(
                "Nexus operation slot vanished",
                "Internal",
            )));
        };
        match slot.outcome.clone() {
            Some(Ok(output)) => Poll::Ready(payload::from_optional_payload(output.as_ref()).map_err(|e| {
                WorkflowError::non_retryable(
                    format!("output of Nexus operation `{}.{}`: {e}", O::SERVICE, O::NAME),
                    "PayloadError",
                )
            })),
            Some(Err(failure)) => Poll::Ready(Err(failure.into())),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Cancels a pending operation the way `how` says: stop waiting now or when history reports
/// its end, asking the handler to cancel unless abandoned. An operation whose schedule
/// command was not sent yet is withdrawn.
fn cancel_nexus(run: &mut RunState, seq: u32, how: CancellationType) {
    let Some(slot) = run.nexus.get_mut(seq) else {
        return;
    };
    if slot.outcome.is_some() {
        return;
    }
    let canceled = || Some(Err(Failure::canceled("Nexus operation canceled")));
    let Some(scheduled_event_id) = slot.scheduled_event_id else {
        slot.outcome = canceled();
        run.commands
            .retain(|c| !matches!(c, WorkflowCommand::ScheduleNexusOperation { seq: s, .. } if *s == seq));
        return;
    };
    match how {
        CancellationType::Abandon => slot.outcome = canceled(),
        CancellationType::TryCancel => {
            slot.outcome = canceled();
            run.issue(WorkflowCommand::RequestCancelNexusOperation {
                seq,
                scheduled_event_id,
            });
        }
        // The outcome comes from history: canceled, or the result if it finished first.
        CancellationType::WaitCancellationCompleted => run.issue(WorkflowCommand::RequestCancelNexusOperation {
            seq,
            scheduled_event_id,
        }),
    }
}
