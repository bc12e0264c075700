//! Worker interceptors: code that runs around what a worker does — each activity attempt, and
//! inside each workflow run, around what comes in (the run, signals, queries, updates and
//! their validators) and what goes out (activities, local activities, children, signals and
//! cancel requests to other workflows, timers, continue-as-new, the run's end) — and can read
//! and write Temporal headers there.
//!
//! Register them with [`WorkerBuilder::interceptor`](crate::worker::WorkerBuilder::interceptor);
//! they run in registration order. Client-side interceptors are in
//! [`client::interceptor`](crate::client::interceptor).
//!
//! Workflow interceptors run inside the deterministic engine, so they are plain synchronous
//! hooks: they see each call before it happens (and may change its headers), and they run
//! again when the run is replayed — [`WorkflowInbound::replaying`] and
//! [`WorkflowOutbound::replaying`] say so, and anything with an effect outside the workflow
//! (a log line, a span, a metric) belongs behind `!replaying`. Put `#[deterministic]` on the
//! `impl WorkflowInterceptor for …` block to have the determinism lint check the hooks as it
//! checks workflow code.
//!
//! ```
//! use workflow_runtime::interceptor::PropagateHeaders;
//! # fn demo(client: &workflow_runtime::Client) {
//! // Each run passes the `tenant` header of its start on to its activities and children.
//! let worker = workflow_runtime::worker::Worker::builder(client, "billing")
//!     .interceptor(PropagateHeaders::new(["tenant"]));
//! # }
//! ```

use crate::activity::{ActivityError, ActivityInfo};
use crate::client::Failure;
use crate::client::headers::Headers;
use crate::client::proto::common::Payload;
use crate::workflow::WorkflowInfo;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(feature = "opentelemetry")]
mod opentelemetry;
mod propagate;
#[cfg(feature = "opentelemetry")]
pub use self::opentelemetry::{OpenTelemetryTracing, TRACE_HEADER};
pub use propagate::PropagateHeaders;

/// Code that runs around a worker's activities and inside its workflow runs.
///
/// Both methods have defaults that do nothing: implement the ones you need.
pub trait WorkerInterceptor: Send + Sync + 'static {
    /// The interceptor of one workflow run (called once per run the worker takes up, including
    /// a run it takes up again to replay it), or `None` to leave the run alone.
    fn workflow(&self, info: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        let _ = info;
        None
    }

    /// Runs around one activity attempt (local activities included): may look at the call,
    /// must run `next` (or fail the attempt instead), and sees how the attempt ended.
    fn intercept_activity<'a>(&'a self, call: ActivityInbound, next: ActivityNext<'a>) -> ActivityInterceptFuture<'a> {
        next.run(call)
    }

    /// Runs around one Nexus operation start this worker serves: may look at the request
    /// (its Nexus headers), must run `next` (or fail it instead), and sees how it ended.
    fn intercept_nexus_operation<'a>(&'a self, call: NexusInbound, next: NexusNext<'a>) -> NexusInterceptFuture<'a> {
        next.run(call)
    }
}

/// What [`WorkerInterceptor::intercept_nexus_operation`] returns: the start's success (a
/// result, or a running operation) or its error.
pub type NexusInterceptFuture<'a> = BoxFuture<'a, Result<(), crate::nexus::NexusError>>;

/// A Nexus operation start about to run, as interceptors see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NexusInbound {
    /// The request: service, operation, request id, Nexus headers, endpoint.
    pub ctx: crate::nexus::NexusContext,
    /// Its input (as it came).
    pub input: Option<Payload>,
}

/// The rest of a Nexus interceptor chain: the interceptors after this one, then the handler.
pub struct NexusNext<'a> {
    rest: &'a [Arc<dyn WorkerInterceptor>],
    run: Box<dyn FnOnce(NexusInbound) -> NexusInterceptFuture<'a> + Send + 'a>,
}

impl<'a> NexusNext<'a> {
    /// Runs the rest of the chain with `call`.
    pub fn run(self, call: NexusInbound) -> NexusInterceptFuture<'a> {
        match self.rest.split_first() {
            Some((first, rest)) => first.intercept_nexus_operation(call, NexusNext { rest, run: self.run }),
            None => (self.run)(call),
        }
    }
}

/// Runs a Nexus operation start through `interceptors`; `run` runs the handler with the call
/// as the last interceptor left it.
pub(crate) async fn intercept_nexus<F, Fut>(
    interceptors: &[Arc<dyn WorkerInterceptor>],
    call: NexusInbound,
    run: F,
) -> Result<crate::nexus::Started, crate::nexus::NexusError>
where
    F: FnOnce(NexusInbound) -> Fut + Send,
    Fut: std::future::Future<Output = Result<crate::nexus::Started, crate::nexus::NexusError>> + Send,
{
    if interceptors.is_empty() {
        return run(call).await;
    }
    let mut output = None;
    let slot = &mut output;
    let next = NexusNext {
        rest: interceptors,
        run: Box::new(move |call| {
            Box::pin(async move {
                *slot = Some(run(call).await?);
                Ok(())
            })
        }),
    };
    next.run(call).await?;
    output.ok_or_else(|| crate::nexus::NexusError::internal("a Nexus interceptor returned without running the handler"))
}

/// A worker's interceptors, in registration order.
pub(crate) type WorkerInterceptors = Arc<[Arc<dyn WorkerInterceptor>]>;

/// What [`WorkerInterceptor::intercept_activity`] returns: the attempt's success or its error.
pub type ActivityInterceptFuture<'a> = BoxFuture<'a, Result<(), ActivityError>>;

/// One activity attempt about to run, as interceptors see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ActivityInbound {
    /// The attempt: ids, type, attempt number, the headers it was scheduled with.
    pub info: ActivityInfo,
    /// Whether it is a local activity.
    pub local: bool,
    /// Its arguments (decoded by the codec), which an interceptor may rewrite.
    pub args: Vec<Payload>,
}

/// The rest of an activity interceptor chain: the interceptors after this one, then the
/// activity itself.
pub struct ActivityNext<'a> {
    rest: &'a [Arc<dyn WorkerInterceptor>],
    run: Box<dyn FnOnce(ActivityInbound) -> ActivityInterceptFuture<'a> + Send + 'a>,
}

impl<'a> ActivityNext<'a> {
    /// Runs the rest of the chain with `call`.
    pub fn run(self, call: ActivityInbound) -> ActivityInterceptFuture<'a> {
        match self.rest.split_first() {
            Some((first, rest)) => first.intercept_activity(call, ActivityNext { rest, run: self.run }),
            None => (self.run)(call),
        }
    }
}

/// Runs an activity attempt through `interceptors`; `run` runs the activity with the
/// arguments as the last interceptor left them.
pub(crate) async fn intercept_activity<F, Fut>(
    interceptors: &[Arc<dyn WorkerInterceptor>],
    call: ActivityInbound,
    run: F,
) -> Result<Payload, ActivityError>
where
    F: FnOnce(ActivityInbound) -> Fut + Send,
    Fut: std::future::Future<Output = Result<Payload, ActivityError>> + Send,
{
    if interceptors.is_empty() {
        return run(call).await;
    }
    let mut output = None;
    let slot = &mut output;
    let next = ActivityNext {
        rest: interceptors,
        run: Box::new(move |call| {
            Box::pin(async move {
                *slot = Some(run(call).await?);
                Ok(())
            })
        }),
    };
    next.run(call).await?;
    output.ok_or_else(|| {
        ActivityError::non_retryable(
            "an activity interceptor returned without running the activity",
            "InterceptorError",
        )
    })
}

/// The interceptor of one workflow run: hooks the engine calls as the run goes.
///
/// All methods have defaults that do nothing.
pub trait WorkflowInterceptor: 'static {
    /// Something arrives for the run: its start, a signal, a query, an update or an update's
    /// validation — before its handler runs.
    fn inbound(&mut self, call: &WorkflowInbound<'_>) {
        let _ = call;
    }

    /// The run issues something: an activity, a local activity, a child, a signal or cancel
    /// request to another workflow, a timer, a continue-as-new, or its own end. Headers, where
    /// the call carries them, may be changed.
    fn outbound(&mut self, call: &mut WorkflowOutbound<'_>) {
        let _ = call;
    }
}

/// What arrives for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboundKind {
    /// The run starts (its `#[run]` method is called).
    Run,
    /// A signal, by name.
    Signal,
    /// A query, by name (queries are never replayed: `replaying` is false).
    Query,
    /// An update's validator, by name.
    ValidateUpdate,
    /// An update's handler, by name.
    Update,
}

/// Something arriving for a run, as a [`WorkflowInterceptor`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowInbound<'a> {
    /// What it is.
    pub kind: InboundKind,
    /// The signal, query or update name; the workflow type for [`InboundKind::Run`].
    pub name: &'a str,
    /// The update's id, for updates.
    pub update_id: Option<&'a str>,
    /// The headers it came with (the start's, the signal's, the query's or the update's).
    pub headers: &'a Headers,
    /// The run.
    pub info: &'a WorkflowInfo,
    /// Workflow time.
    pub now: SystemTime,
    /// Whether history is being replayed (the call happened before, in an earlier task).
    pub replaying: bool,
}

/// What a run issues.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutboundKind {
    /// An activity, by type.
    Activity {
        /// The activity type.
        activity_type: String,
        /// Its id.
        activity_id: String,
    },
    /// A local activity, by type.
    LocalActivity {
        /// The activity type.
        activity_type: String,
    },
    /// A child workflow.
    Child {
        /// The child's type.
        workflow_type: String,
        /// The child's id.
        workflow_id: String,
    },
    /// A signal to another workflow.
    SignalExternal {
        /// The signal name.
        signal: String,
        /// The target workflow.
        workflow_id: String,
    },
    /// A cancel request to another workflow.
    CancelExternal {
        /// The target workflow.
        workflow_id: String,
    },
    /// A timer.
    Timer {
        /// How long it runs.
        duration: Duration,
    },
    /// The run continues as a new run.
    ContinueAsNew {
        /// The new run's workflow type.
        workflow_type: String,
    },
    /// The run completes.
    Complete,
    /// The run fails.
    Fail {
        /// Why.
        failure: Box<Failure>,
    },
    /// The run ends as canceled.
    Cancel,
    /// A Nexus operation (its headers are [`WorkflowOutbound::nexus_headers`]).
    NexusOperation {
        /// The endpoint called through.
        endpoint: String,
        /// The service's wire name.
        service: String,
        /// The operation's wire name.
        operation: String,
    },
}

/// Something a run issues, as a [`WorkflowInterceptor`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowOutbound<'a> {
    /// What it is.
    pub kind: OutboundKind,
    /// The headers it will carry, where the call has any (activities, local activities,
    /// children, signals, continue-as-new); `None` where it has none.
    pub headers: Option<&'a mut Headers>,
    /// A Nexus operation's headers (text, as the Nexus protocol carries them).
    pub nexus_headers: Option<&'a mut std::collections::HashMap<String, String>>,
    /// The run.
    pub info: &'a WorkflowInfo,
    /// Workflow time.
    pub now: SystemTime,
    /// Whether history is being replayed (the call was made before, in an earlier task).
    pub replaying: bool,
}
