//! Activity calls from workflow code: `ctx.activity(A, input)` with its options, the future
//! that schedules the activity and waits for its outcome, and how that outcome reads.

use super::cancellation::{CancellationScope, CancellationType};
use crate::client::failure::{Failure, FailureKind};
use crate::client::options::RetryPolicy;
use crate::client::payload::{self, PayloadArgs};
use crate::client::proto::command as pc;
use crate::client::proto::common::{ActivityType, Payload};
use crate::client::proto::enums::{RetryState, TaskQueueKind, TimeoutType};
use crate::client::proto::taskqueue::TaskQueue;
use crate::client::time::to_proto_duration;
use crate::definition::ActivityDefinition;
use crate::engine::commands::{WorkflowCommand, activity_type_name};
use crate::engine::run_state::RunState;
use crate::workflow::WorkflowError;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How an activity ended, as the workflow sees it.
#[derive(Debug, Clone)]
pub(crate) enum ActivityOutcome {
    Completed(Option<Payload>),
    Failed(Failure),
}

#[derive(Default)]
pub(crate) struct ActivitySlot {
    pub(crate) activity_type: String,
    pub(crate) scheduled_event_id: Option<i64>,
    pub(crate) outcome: Option<ActivityOutcome>,
    pub(crate) waker: Option<Waker>,
}

/// Options of one activity call.
#[derive(Debug, Clone, Default)]
pub struct ActivityOptions {
    /// The activity id (default: a sequence number).
    pub activity_id: Option<String>,
    /// The task queue (default: the workflow's).
    pub task_queue: Option<String>,
    /// Limit from scheduling to completion, retries included.
    pub schedule_to_close_timeout: Option<Duration>,
    /// Limit of waiting in the queue.
    pub schedule_to_start_timeout: Option<Duration>,
    /// Limit of one attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// Longest gap between heartbeats.
    pub heartbeat_timeout: Option<Duration>,
    /// Retries (server default: unlimited, exponential).
    pub retry_policy: Option<RetryPolicy>,
    /// A one-line summary shown in the web UI's history.
    pub summary: Option<String>,
}

/// An activity call being configured; `.await` it to run the activity.
#[must_use = "an activity call does nothing until it is awaited"]
pub struct ActivityCall<A: ActivityDefinition> {
    run: Rc<RefCell<RunState>>,
    input: A::Input,
    options: ActivityOptions,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    _activity: PhantomData<A>,
}

impl<A: ActivityDefinition> ActivityCall<A> {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, input: A::Input) -> Self {
        ActivityCall {
            run,
            input,
            options: A::default_options(),
            scope: None,
            cancellation_type: CancellationType::default(),
            _activity: PhantomData,
        }
    }

    /// Cancels the activity when `scope` is cancelled (default: the scope the code runs in;
    /// see [`CancellationScope`]).
    pub fn cancellation_scope(mut self, scope: &CancellationScope) -> Self {
        self.scope = Some(scope.clone());
        self
    }
    /// How a cancellation of its scope is carried out (default: try to cancel).
    pub fn cancellation_type(mut self, t: CancellationType) -> Self {
        self.cancellation_type = t;
        self
    }
    /// Replaces all options (the activity's defaults included).
    pub fn options(mut self, options: ActivityOptions) -> Self {
        self.options = options;
        self
    }
    /// Sets the start-to-close timeout.
    pub fn start_to_close_timeout(mut self, d: Duration) -> Self {
        self.options.start_to_close_timeout = Some(d);
        self
    }
    /// Sets the schedule-to-close timeout.
    pub fn schedule_to_close_timeout(mut self, d: Duration) -> Self {
        self.options.schedule_to_close_timeout = Some(d);
        self
    }
    /// Sets the schedule-to-start timeout.
    pub fn schedule_to_start_timeout(mut self, d: Duration) -> Self {
        self.options.schedule_to_start_timeout = Some(d);
        self
    }
    /// Sets the heartbeat timeout.
    pub fn heartbeat_timeout(mut self, d: Duration) -> Self {
        self.options.heartbeat_timeout = Some(d);
        self
    }
    /// Sets the retry policy.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.options.retry_policy = Some(p);
        self
    }
    /// Runs the activity on another task queue.
    pub fn task_queue(mut self, q: impl Into<String>) -> Self {
        self.options.task_queue = Some(q.into());
        self
    }
    /// Sets the activity id.
    pub fn activity_id(mut self, id: impl Into<String>) -> Self {
        self.options.activity_id = Some(id.into());
        self
    }
    /// A one-line summary of this call, shown in the web UI's history.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.options.summary = Some(summary.into());
        self
    }
}

impl<A: ActivityDefinition> ActivityCall<A> {
    /// Schedules the activity now, in call order, and returns its future to await later (as
    /// Go's `ExecuteActivity` does); a plain `.await` schedules it when first polled. Its scope
    /// is the one the code runs in now, unless one was given.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # #[activity(start_to_close_timeout = "1m")]
    /// # async fn quote(carrier: String) -> Result<u64, ActivityError> { Ok(1) }
    /// # async fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<u64> {
    /// let fast = ctx.activity(quote, "fast".to_string()).start();
    /// let cheap = ctx.activity(quote, "cheap".to_string()).start();
    /// // Both are scheduled, fast first, whichever is awaited first.
    /// Ok(cheap.await?.min(fast.await?))
    /// # }
    /// ```
    pub fn start(self) -> ActivityFuture<A> {
        let mut future = self.into_future();
        if future.scope.is_none() {
            future.scope = Some(CancellationScope::current(&future.run));
        }
        match future.schedule() {
            Ok(seq) => future.seq = Some(seq),
            Err(e) => future.early_error = Some(e),
        }
        future
    }
}

impl<A: ActivityDefinition> IntoFuture for ActivityCall<A> {
    type Output = Result<A::Output, WorkflowError>;
    type IntoFuture = ActivityFuture<A>;
    fn into_future(self) -> ActivityFuture<A> {
        ActivityFuture {
            run: self.run,
            call: Some((self.input, self.options)),
            seq: None,
            scope: self.scope,
            cancellation_type: self.cancellation_type,
            cancel_requested: false,
            early_error: None,
            _activity: PhantomData,
        }
    }
}

/// A running activity; dropping it before it finishes requests its cancellation.
pub struct ActivityFuture<A: ActivityDefinition> {
    run: Rc<RefCell<RunState>>,
    call: Option<(A::Input, ActivityOptions)>,
    seq: Option<u32>,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    cancel_requested: bool,
    /// Why scheduling at [`ActivityCall::start`] failed, reported at the first poll.
    early_error: Option<WorkflowError>,
    _activity: PhantomData<A>,
}

impl<A: ActivityDefinition> Unpin for ActivityFuture<A> {}

fn invalid_call(message: String) -> WorkflowError {
    WorkflowError::non_retryable(message, "InvalidActivityCall")
}

impl<A: ActivityDefinition> ActivityFuture<A> {
    fn schedule(&mut self) -> Result<u32, WorkflowError> {
        let (input, options) = self.call.take().expect("scheduled once");
        if options.start_to_close_timeout.is_none() && options.schedule_to_close_timeout.is_none() {
            return Err(invalid_call(format!(
                "activity `{}` has no close timeout: set start_to_close_timeout or schedule_to_close_timeout \
                 on the call or in its #[activity] defaults",
                A::NAME
            )));
        }
        let payloads = input
            .to_payloads()
            .map_err(|e| invalid_call(format!("arguments of activity `{}`: {e}", A::NAME)))?;
        let mut run = self.run.borrow_mut();
        let seq = run.next_activity_seq();
        let task_queue = options.task_queue.unwrap_or_else(|| run.info.task_queue.clone());
        let attributes = pc::ScheduleActivityTaskCommandAttributes {
            activity_id: options.activity_id.unwrap_or_else(|| seq.to_string()),
            activity_type: Some(ActivityType {
                name: A::NAME.to_string(),
            }),
            task_queue: Some(TaskQueue {
                name: task_queue,
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: (!payloads.is_empty()).then_some(crate::client::proto::common::Payloads { payloads }),
            schedule_to_close_timeout: options.schedule_to_close_timeout.map(to_proto_duration),
            schedule_to_start_timeout: options.schedule_to_start_timeout.map(to_proto_duration),
            start_to_close_timeout: options.start_to_close_timeout.map(to_proto_duration),
            heartbeat_timeout: options.heartbeat_timeout.map(to_proto_duration),
            retry_policy: options.retry_policy.map(Into::into),
            ..Default::default()
        };
        run.activities.insert(
            seq,
            ActivitySlot {
                activity_type: activity_type_name(&attributes).to_string(),
                ..Default::default()
            },
        );
        run.issue(WorkflowCommand::ScheduleActivity {
            seq,
            attributes: Box::new(attributes),
            summary: options.summary,
        });
        Ok(seq)
    }
}

impl<A: ActivityDefinition> Future for ActivityFuture<A> {
    type Output = Result<A::Output, WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(e) = self.early_error.take() {
            return Poll::Ready(Err(e));
        }
        let seq = match self.seq {
            Some(seq) => seq,
            None => match self.schedule() {
                Ok(seq) => {
                    self.seq = Some(seq);
                    seq
                }
                Err(failure) => return Poll::Ready(Err(failure)),
            },
        };
        let run_rc = self.run.clone();
        let cancelled = self
            .scope
            .get_or_insert_with(|| CancellationScope::current(&run_rc))
            .is_cancelled();
        let mut run = run_rc.borrow_mut();
        if cancelled && !self.cancel_requested {
            self.cancel_requested = true;
            cancel_activity(&mut run, seq, self.cancellation_type);
        }
        run.watch_scopes(cx);
        let slot = run
            .activities
            .get_mut(seq)
            .expect("activity slot exists while its future lives");
        match slot.outcome.clone() {
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(ActivityOutcome::Completed(p)) => {
                Poll::Ready(payload::from_optional_payload(p.as_ref()).map_err(|e| {
                    WorkflowError::non_retryable(format!("result of activity `{}`: {e}", A::NAME), "PayloadError")
                }))
            }
            Some(ActivityOutcome::Failed(f)) => Poll::Ready(Err(f.into())),
        }
    }
}

/// Cancels a pending activity the way `how` says: stop waiting now or when the server
/// reports the end, asking the server to cancel unless abandoned. An activity whose schedule
/// command was not sent yet is simply withdrawn.
fn cancel_activity(run: &mut RunState, seq: u32, how: CancellationType) {
    let Some(slot) = run.activities.get_mut(seq) else {
        return;
    };
    if slot.outcome.is_some() {
        return;
    }
    let Some(scheduled_event_id) = slot.scheduled_event_id else {
        slot.outcome = Some(ActivityOutcome::Failed(Failure::canceled("activity canceled")));
        run.commands
            .retain(|c| !matches!(c, WorkflowCommand::ScheduleActivity { seq: s, .. } if *s == seq));
        return;
    };
    match how {
        CancellationType::Abandon => {
            slot.outcome = Some(ActivityOutcome::Failed(Failure::canceled("activity abandoned")));
        }
        CancellationType::TryCancel => {
            slot.outcome = Some(ActivityOutcome::Failed(Failure::canceled("activity canceled")));
            run.issue(WorkflowCommand::RequestCancelActivity {
                seq,
                scheduled_event_id,
            });
        }
        // The outcome comes from history: canceled, or the result if it finished first.
        CancellationType::WaitCancellationCompleted => run.issue(WorkflowCommand::RequestCancelActivity {
            seq,
            scheduled_event_id,
        }),
    }
}

impl<A: ActivityDefinition> Drop for ActivityFuture<A> {
    fn drop(&mut self) {
        let Some(seq) = self.seq else { return };
        let Ok(mut run) = self.run.try_borrow_mut() else { return };
        // Dropped: the workflow stops waiting at once; the server is asked to cancel.
        cancel_activity(&mut run, seq, CancellationType::TryCancel);
    }
}

/// Wraps an activity's failure the way other SDKs do: an activity failure whose cause is what
/// the activity (or the server, for timeouts) reported.
pub(crate) fn activity_failure(
    activity_type: &str,
    activity_id: &str,
    scheduled_event_id: i64,
    started_event_id: i64,
    retry_state: i32,
    cause: Failure,
) -> Failure {
    let message = match &*cause.kind {
        FailureKind::Timeout { timeout_type, .. } => format!(
            "activity timed out ({})",
            TimeoutType::try_from(*timeout_type as i32)
                .map(|t| t.as_str_name())
                .unwrap_or("?")
        ),
        _ => "activity failed".to_string(),
    };
    Failure {
        message,
        source: crate::client::failure::FAILURE_SOURCE.to_string(),
        stack_trace: String::new(),
        kind: Box::new(FailureKind::Activity {
            activity_type: activity_type.to_string(),
            activity_id: activity_id.to_string(),
            retry_state: RetryState::try_from(retry_state).unwrap_or(RetryState::Unspecified),
            scheduled_event_id,
            started_event_id,
            identity: String::new(),
        }),
        cause: Some(Box::new(cause)),
    }
}
