//! Local activities: short activities the worker runs itself, inside the workflow task, with
//! no round trip through the server's task queues. The result is recorded in history as a
//! marker, so replay reads it instead of running the activity again.
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! #[activity(start_to_close_timeout = "5s", retry(maximum_attempts = 3))]
//! async fn lookup_rate(currency: String) -> Result<u64, ActivityError> {
//!     Ok(120)
//! }
//! # async fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
//! let rate = ctx.local_activity(lookup_rate, "EUR".to_string()).await?;
//! # Ok(()) }
//! ```
//!
//! A local activity is retried by the worker with its retry policy. One that runs longer than
//! the workflow task timeout keeps the workflow task alive: the worker completes the task and
//! asks for the next one while the activity goes on.

use super::error::WorkflowError;
use crate::client::failure::Failure;
use crate::client::options::RetryPolicy;
use crate::client::payload::{self, IntoArgs, PayloadArgs};
use crate::client::proto::command as pc;
use crate::client::proto::common::{Payload, Payloads};
use crate::definition::ActivityDefinition;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The marker name local activity results are recorded under (the one the SDKs built on
/// Temporal's core use).
pub(crate) const LOCAL_ACTIVITY_MARKER: &str = "core_local_activity";

/// What the worker is asked to run.
#[derive(Debug, Clone)]
pub(crate) struct LocalActivityRequest {
    pub(crate) seq: u32,
    pub(crate) activity_type: String,
    pub(crate) input: Vec<Payload>,
    pub(crate) start_to_close_timeout: Option<Duration>,
    pub(crate) schedule_to_close_timeout: Option<Duration>,
    pub(crate) retry_policy: RetryPolicy,
    /// The headers the run's interceptors gave it.
    pub(crate) headers: crate::client::headers::Headers,
}

/// How a local activity ended, as the worker reports it.
#[derive(Debug, Clone)]
pub(crate) struct LocalActivityResult {
    pub(crate) seq: u32,
    pub(crate) attempt: u32,
    pub(crate) outcome: Result<Option<Payload>, Failure>,
    /// When it was first scheduled and when it completed (worker time, recorded in the marker).
    pub(crate) times: MarkerTimes,
    /// The type a marker recorded (replay checks it against the code's).
    pub(crate) recorded_type: Option<String>,
}

/// The times a local activity marker records, as sdk-core writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct MarkerTimes {
    pub(crate) original_schedule: Option<std::time::SystemTime>,
    pub(crate) complete: Option<std::time::SystemTime>,
}

/// A time as the marker's JSON holds it: `{"seconds": …, "nanos": …}`.
fn marker_time(t: Option<std::time::SystemTime>) -> serde_json::Value {
    match t.map(crate::client::time::to_timestamp) {
        Some(ts) => serde_json::json!({ "seconds": ts.seconds, "nanos": ts.nanos }),
        None => serde_json::Value::Null,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalState {
    /// Asked of the worker (live) and not back yet.
    Requested,
    /// Met while replaying: its result comes from a marker in history, or, if history ends
    /// before one, from running it once the run is live.
    AwaitingMarker,
}

pub(crate) struct LocalSlot {
    pub(crate) request: LocalActivityRequest,
    pub(crate) state: LocalState,
    pub(crate) outcome: Option<Result<Option<Payload>, Failure>>,
    pub(crate) waker: Option<Waker>,
}

/// The marker command recording `result` of local activity `activity_type`.
pub(crate) fn marker_command(activity_type: &str, result: &LocalActivityResult) -> WorkflowCommand {
    let mut details = std::collections::HashMap::new();
    // sdk-core's `LocalActivityMarkerData`: core-based SDKs refuse a marker without its fields.
    let data = serde_json::json!({
        "seq": result.seq,
        "attempt": result.attempt,
        "activity_id": result.seq.to_string(),
        "activity_type": activity_type,
        "complete_time": marker_time(result.times.complete),
        "backoff": null,
        "original_schedule_time": marker_time(result.times.original_schedule),
    });
    if let Ok(p) = payload::to_payload(&data) {
        details.insert("data".to_string(), Payloads { payloads: vec![p] });
    }
    let failure = match &result.outcome {
        Ok(Some(p)) => {
            details.insert(
                "result".to_string(),
                Payloads {
                    payloads: vec![p.clone()],
                },
            );
            None
        }
        Ok(None) => None,
        Err(f) => Some(f.clone().into()),
    };
    WorkflowCommand::LocalActivityMarker {
        seq: result.seq,
        attributes: Box::new(pc::RecordMarkerCommandAttributes {
            marker_name: LOCAL_ACTIVITY_MARKER.to_string(),
            details,
            header: None,
            failure,
        }),
    }
}

impl RunState {
    /// Records a local activity's result (from the worker, or from a marker on replay): the
    /// marker command is issued and the waiting future woken.
    pub(crate) fn resolve_local(&mut self, result: LocalActivityResult) -> bool {
        let Some(slot) = self.locals.get_mut(result.seq) else {
            return false;
        };
        if slot.outcome.is_some() {
            return false;
        }
        let command = marker_command(&slot.request.activity_type, &result);
        let failure = result.outcome.clone().map_err(|cause| {
            super::activity_call::activity_failure(
                &slot.request.activity_type,
                &result.seq.to_string(),
                0,
                0,
                crate::client::proto::enums::RetryState::MaximumAttemptsReached as i32,
                cause,
            )
        });
        slot.outcome = Some(failure);
        if let Some(w) = slot.waker.take() {
            w.wake();
        }
        self.issue(command);
        self.wake_conditions();
        true
    }

    /// Local activities met while replaying whose result history does not hold: now that the
    /// run is live, they are asked of the worker.
    pub(crate) fn request_unresolved_locals(&mut self) {
        let waiting: Vec<u32> = self
            .locals
            .in_order()
            .filter(|(_, s)| s.outcome.is_none() && s.state == LocalState::AwaitingMarker)
            .map(|(seq, _)| seq)
            .collect();
        for seq in waiting {
            let slot = self.locals.get_mut(seq).expect("listed above");
            slot.state = LocalState::Requested;
            let request = slot.request.clone();
            self.local_requests.push(request);
        }
    }
}

/// A local activity call being configured; `.await` it to run the activity.
#[must_use = "a local activity call does nothing until it is awaited"]
pub struct LocalActivityCall<A: ActivityDefinition> {
    run: Rc<RefCell<RunState>>,
    input: A::Input,
    start_to_close_timeout: Option<Duration>,
    schedule_to_close_timeout: Option<Duration>,
    retry_policy: Option<RetryPolicy>,
    _activity: PhantomData<A>,
}

impl<A: ActivityDefinition> LocalActivityCall<A> {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, input: impl IntoArgs<A::Input>) -> Self {
        let defaults = A::default_options();
        LocalActivityCall {
            run,
            input: input.into_args(),
            start_to_close_timeout: defaults.start_to_close_timeout,
            schedule_to_close_timeout: defaults.schedule_to_close_timeout,
            retry_policy: defaults.retry_policy,
            _activity: PhantomData,
        }
    }
    /// Limits one attempt.
    pub fn start_to_close_timeout(mut self, d: Duration) -> Self {
        self.start_to_close_timeout = Some(d);
        self
    }
    /// Limits all attempts together.
    pub fn schedule_to_close_timeout(mut self, d: Duration) -> Self {
        self.schedule_to_close_timeout = Some(d);
        self
    }
    /// Sets the retry policy (default: unlimited attempts, 1 s doubling to 100 s).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry_policy = Some(p);
        self
    }
}

impl<A: ActivityDefinition> IntoFuture for LocalActivityCall<A> {
    type Output = Result<A::Output, WorkflowError>;
    type IntoFuture = LocalActivityFuture<A>;
    fn into_future(self) -> LocalActivityFuture<A> {
        LocalActivityFuture {
            call: Some(self),
            seq: None,
        }
    }
}

/// A running local activity.
pub struct LocalActivityFuture<A: ActivityDefinition> {
    call: Option<LocalActivityCall<A>>,
    seq: Option<(u32, Rc<RefCell<RunState>>)>,
}

impl<A: ActivityDefinition> Unpin for LocalActivityFuture<A> {}

impl<A: ActivityDefinition> LocalActivityFuture<A> {
    fn request(&mut self) -> Result<(u32, Rc<RefCell<RunState>>), WorkflowError> {
        let call = self.call.take().expect("requested once");
        if call.start_to_close_timeout.is_none() && call.schedule_to_close_timeout.is_none() {
            return Err(WorkflowError::non_retryable(
                format!(
                    "local activity `{}` has no close timeout: set start_to_close_timeout or \
                     schedule_to_close_timeout on the call or in its #[activity] defaults",
                    A::NAME
                ),
                "InvalidActivityCall",
            ));
        }
        let input = call.input.to_payloads().map_err(|e| {
            WorkflowError::non_retryable(format!("arguments of activity `{}`: {e}", A::NAME), "PayloadError")
        })?;
        let mut run = call.run.borrow_mut();
        // One sequence for remote and local activities, as the core-based SDKs number them.
        let seq = run.next_activity_seq();
        let mut request = LocalActivityRequest {
            seq,
            activity_type: A::NAME.to_string(),
            input,
            start_to_close_timeout: call.start_to_close_timeout,
            schedule_to_close_timeout: call.schedule_to_close_timeout,
            retry_policy: call.retry_policy.unwrap_or_default(),
            headers: Default::default(),
        };
        run.intercept_local(&mut request);
        let state = if run.replaying {
            LocalState::AwaitingMarker
        } else {
            run.local_requests.push(request.clone());
            LocalState::Requested
        };
        run.locals.insert(
            seq,
            LocalSlot {
                request,
                state,
                outcome: None,
                waker: None,
            },
        );
        drop(run);
        Ok((seq, call.run))
    }
}

impl<A: ActivityDefinition> Future for LocalActivityFuture<A> {
    type Output = Result<A::Output, WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (seq, run) = match self.seq.clone() {
            Some(s) => s,
            None => match self.request() {
                Ok(s) => {
                    self.seq = Some(s.clone());
                    s
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        };
        let mut run = run.borrow_mut();
        let slot = run
            .locals
            .get_mut(seq)
            .expect("local activity slot exists while its future lives");
        match slot.outcome.clone() {
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(Ok(p)) => Poll::Ready(payload::from_optional_payload(p.as_ref()).map_err(|e| {
                WorkflowError::non_retryable(format!("result of activity `{}`: {e}", A::NAME), "PayloadError")
            })),
            Some(Err(f)) => Poll::Ready(Err(f.into())),
        }
    }
}
