//! Child workflows, as workflow code sees them: start a child and await its result, signal or
//! cancel it (through [`ExternalWorkflow`], which also reaches any workflow by id).
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! # use workflow_runtime::workflow::ParentClosePolicy;
//! # #[workflow] #[derive(Default)] pub struct Kitchen;
//! # #[workflow] impl Kitchen { #[run] async fn run(_ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<u32> { Ok(1) } }
//! # async fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
//! // Start and wait: the child's input and result are typed by its definition.
//! let minutes: u32 = ctx.child::<Kitchen>("order-7".to_string()).await?;
//!
//! // Or start, do other work, then wait; the child outlives the parent if asked to.
//! let kitchen = ctx
//!     .child::<Kitchen>("order-8".to_string())
//!     .workflow_id("kitchen-order-8")
//!     .parent_close_policy(ParentClosePolicy::Abandon)
//!     .start()
//!     .await?;
//! kitchen.signal_by_name("hurry", ()).await?;
//! let minutes = kitchen.result().await?;
//! # Ok(()) }
//! ```

use super::cancellation::{CancellationScope, CancellationType};
use super::error::WorkflowError;
use crate::client::definitions::WorkflowDefinition;
use crate::client::failure::{Failure, FailureKind};
use crate::client::options::{IdReusePolicy, RetryPolicy};
use crate::client::payload::{self, IntoArgs, PayloadArgs};
use crate::client::proto::command as pc;
use crate::client::proto::common::{Payload, Payloads, WorkflowType};
use crate::client::proto::enums::{self, RetryState, TaskQueueKind};
use crate::client::proto::taskqueue::TaskQueue;
use crate::client::time::to_proto_duration;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use super::external::{ExternalRequest, ExternalWorkflow};

/// What happens to a child when its parent closes (completes, fails, times out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParentClosePolicy {
    /// The child is terminated (the server's default).
    #[default]
    Terminate,
    /// The child is asked to cancel.
    RequestCancel,
    /// The child keeps running on its own.
    Abandon,
}

impl From<ParentClosePolicy> for enums::ParentClosePolicy {
    fn from(p: ParentClosePolicy) -> Self {
        match p {
            ParentClosePolicy::Terminate => enums::ParentClosePolicy::Terminate,
            ParentClosePolicy::RequestCancel => enums::ParentClosePolicy::RequestCancel,
            ParentClosePolicy::Abandon => enums::ParentClosePolicy::Abandon,
        }
    }
}

/// Options of one child workflow.
#[derive(Debug, Clone, Default)]
pub struct ChildOptions {
    /// The child's workflow id (default: a UUID drawn from the run's deterministic randomness).
    pub workflow_id: Option<String>,
    /// The child's task queue (default: the parent's).
    pub task_queue: Option<String>,
    /// Limit of the whole child execution, retries and continue-as-new included.
    pub execution_timeout: Option<Duration>,
    /// Limit of one run of the child.
    pub run_timeout: Option<Duration>,
    /// Limit of one workflow task of the child.
    pub task_timeout: Option<Duration>,
    /// Retries of the whole child workflow (default: none).
    pub retry_policy: Option<RetryPolicy>,
    /// Whether the id may be reused after an earlier run with it closed.
    pub id_reuse_policy: Option<IdReusePolicy>,
    /// What happens to the child when the parent closes.
    pub parent_close_policy: ParentClosePolicy,
    /// A one-line summary shown in the web UI's history of the parent.
    pub summary: Option<String>,
}

/// The record of one child in the run's state.
#[derive(Default)]
pub(crate) struct ChildSlot {
    pub(crate) workflow_type: String,
    pub(crate) workflow_id: String,
    /// The `StartChildWorkflowExecutionInitiated` event, once history has it.
    pub(crate) initiated_event_id: Option<i64>,
    /// The child's run id once it started, or why it could not start.
    pub(crate) started: Option<Result<String, Failure>>,
    /// The child's result once it closed.
    pub(crate) outcome: Option<Result<Option<Payload>, Failure>>,
    pub(crate) wakers: Vec<Waker>,
    /// Whether a cancellation of the scope awaiting its handle's result asked it to cancel.
    pub(crate) cancel_sent: bool,
}

impl RunState {
    /// Records what became of a child (started, failed to start, closed) and wakes its waiters.
    pub(crate) fn resolve_child(&mut self, initiated_event_id: i64, f: impl FnOnce(&mut ChildSlot)) {
        if let Some(slot) = self.children.by_event_mut(initiated_event_id) {
            f(slot);
            for w in slot.wakers.drain(..) {
                w.wake();
            }
        }
        self.wake_conditions();
    }
}

/// Wraps a child's failure the way other SDKs do: a child-workflow failure whose cause says why.
pub(crate) fn child_failure(
    run: &RunState,
    initiated_event_id: i64,
    started_event_id: i64,
    retry_state: i32,
    cause: Failure,
) -> Failure {
    let slot = run.children.by_event(initiated_event_id);
    let (workflow_type, workflow_id) = slot
        .map(|s| (s.workflow_type.clone(), s.workflow_id.clone()))
        .unwrap_or_default();
    let run_id = match slot.and_then(|s| s.started.as_ref()) {
        Some(Ok(run_id)) => run_id.clone(),
        _ => String::new(),
    };
    Failure {
        message: "child workflow failed".to_string(),
        source: crate::client::failure::FAILURE_SOURCE.to_string(),
        stack_trace: String::new(),
        kind: Box::new(FailureKind::ChildWorkflow {
            namespace: run.info.namespace.clone(),
            workflow_id,
            run_id,
            workflow_type,
            retry_state: RetryState::try_from(retry_state).unwrap_or(RetryState::Unspecified),
            initiated_event_id,
            started_event_id,
        }),
        cause: Some(Box::new(cause)),
    }
}

/// A child workflow being configured: `.await` it to run the child to its end, or
/// `.start().await` for a [`ChildWorkflow`] handle.
#[must_use = "a child workflow call does nothing until it is awaited or started"]
pub struct ChildCall<C: WorkflowDefinition> {
    run: Rc<RefCell<RunState>>,
    input: C::Input,
    options: ChildOptions,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
}

impl<C: WorkflowDefinition> ChildCall<C> {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, input: impl IntoArgs<C::Input>) -> Self {
        ChildCall {
            run,
            input: input.into_args(),
            options: ChildOptions::default(),
            scope: None,
            // As in the Python, TypeScript and Java SDKs: the parent learns how its child ended.
            cancellation_type: CancellationType::WaitCancellationCompleted,
        }
    }
    /// When `scope` is cancelled while the child runs (awaited to its end), cancels it the
    /// way [`cancellation_type`](Self::cancellation_type) says. Default: the scope the code
    /// runs in.
    pub fn cancellation_scope(mut self, scope: &CancellationScope) -> Self {
        self.scope = Some(scope.clone());
        self
    }
    /// How a cancellation of its scope is carried out (default: ask the child to cancel and
    /// wait until it has closed, so its end is what this call returns).
    pub fn cancellation_type(mut self, t: CancellationType) -> Self {
        self.cancellation_type = t;
        self
    }
    /// Replaces all options.
    pub fn options(mut self, options: ChildOptions) -> Self {
        self.options = options;
        self
    }
    /// Sets the child's workflow id.
    pub fn workflow_id(mut self, id: impl Into<String>) -> Self {
        self.options.workflow_id = Some(id.into());
        self
    }
    /// Runs the child on another task queue.
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.options.task_queue = Some(queue.into());
        self
    }
    /// Sets what happens to the child when the parent closes.
    pub fn parent_close_policy(mut self, policy: ParentClosePolicy) -> Self {
        self.options.parent_close_policy = policy;
        self
    }
    /// Limits the whole child execution.
    pub fn execution_timeout(mut self, d: Duration) -> Self {
        self.options.execution_timeout = Some(d);
        self
    }
    /// Limits one run of the child.
    pub fn run_timeout(mut self, d: Duration) -> Self {
        self.options.run_timeout = Some(d);
        self
    }
    /// Retries the child workflow as a whole.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.options.retry_policy = Some(p);
        self
    }
    /// Whether the id may be reused after an earlier run with it closed.
    pub fn id_reuse_policy(mut self, p: IdReusePolicy) -> Self {
        self.options.id_reuse_policy = Some(p);
        self
    }
    /// A one-line summary of this child, shown in the web UI's history of the parent.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.options.summary = Some(summary.into());
        self
    }

    /// Starts the child now, in call order (its start command is issued at once), and returns
    /// a future that resolves once the server started it (or refused to): to await later.
    pub fn start(self) -> StartChildFuture<C> {
        let mut pending = PendingChild::new(self);
        match pending.issue() {
            Ok(seq) => pending.seq = Some(seq),
            Err(e) => pending.early_error = Some(e),
        }
        StartChildFuture(pending)
    }
}

impl<C: WorkflowDefinition> IntoFuture for ChildCall<C> {
    type Output = Result<C::Output, WorkflowError>;
    type IntoFuture = ChildFuture<C>;
    fn into_future(self) -> Self::IntoFuture {
        ChildFuture(PendingChild::new(self))
    }
}

/// A child on its way to the server, shared by the start and the run-to-end futures.
///
/// Dropped before the start command reached the server, it withdraws the start; afterwards the
/// child runs on under its parent close policy (cancel it with [`ChildWorkflow::cancel`]).
struct PendingChild<C: WorkflowDefinition> {
    run: Rc<RefCell<RunState>>,
    call: Option<(C::Input, ChildOptions)>,
    seq: Option<u32>,
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    cancel_handled: bool,
    /// Why issuing the start at [`ChildCall::start`] failed, reported at the first poll.
    early_error: Option<WorkflowError>,
}

impl<C: WorkflowDefinition> PendingChild<C> {
    fn new(call: ChildCall<C>) -> Self {
        PendingChild {
            run: call.run,
            call: Some((call.input, call.options)),
            seq: None,
            scope: call.scope,
            cancellation_type: call.cancellation_type,
            cancel_handled: false,
            early_error: None,
        }
    }

    fn issue(&mut self) -> Result<u32, WorkflowError> {
        let (input, options) = self.call.take().expect("issued once");
        let payloads = input.to_payloads().map_err(|e| {
            WorkflowError::non_retryable(
                format!("arguments of child workflow `{}`: {e}", C::NAME),
                "PayloadError",
            )
        })?;
        let mut run = self.run.borrow_mut();
        let seq = run.children.next_seq();
        let workflow_id = match options.workflow_id {
            Some(id) => id,
            None => run.next_uuid().to_string(),
        };
        let attributes = pc::StartChildWorkflowExecutionCommandAttributes {
            workflow_id: workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: C::NAME.to_string(),
            }),
            task_queue: Some(TaskQueue {
                name: options.task_queue.unwrap_or_else(|| run.info.task_queue.clone()),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: (!payloads.is_empty()).then_some(Payloads { payloads }),
            workflow_execution_timeout: options.execution_timeout.map(to_proto_duration),
            workflow_run_timeout: options.run_timeout.map(to_proto_duration),
            workflow_task_timeout: options.task_timeout.map(to_proto_duration),
            parent_close_policy: enums::ParentClosePolicy::from(options.parent_close_policy) as i32,
            workflow_id_reuse_policy: options
                .id_reuse_policy
                .map(|p| enums::WorkflowIdReusePolicy::from(p) as i32)
                .unwrap_or_default(),
            retry_policy: options.retry_policy.map(Into::into),
            ..Default::default()
        };
        run.children.insert(
            seq,
            ChildSlot {
                workflow_type: C::NAME.to_string(),
                workflow_id,
                ..Default::default()
            },
        );
        run.issue(WorkflowCommand::StartChild {
            seq,
            attributes: Box::new(attributes),
            summary: options.summary,
        });
        Ok(seq)
    }

    /// Issues the start on first poll, then waits until `read` finds what it waits for.
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        read: impl FnOnce(&Rc<RefCell<RunState>>, u32, &ChildSlot) -> Option<Result<T, WorkflowError>>,
    ) -> Poll<Result<T, WorkflowError>> {
        if let Some(e) = self.early_error.take() {
            return Poll::Ready(Err(e));
        }
        let seq = match self.seq {
            Some(seq) => seq,
            None => match self.issue() {
                Ok(seq) => {
                    self.seq = Some(seq);
                    seq
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        };
        let run_rc = self.run.clone();
        let mut run = run_rc.borrow_mut();
        let slot = run
            .children
            .get_mut(seq)
            .expect("child slot exists while its future lives");
        match read(&run_rc, seq, slot) {
            Some(out) => Poll::Ready(out),
            None => {
                slot.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<C: WorkflowDefinition> Drop for PendingChild<C> {
    fn drop(&mut self) {
        let Some(seq) = self.seq else { return };
        let Ok(mut run) = self.run.try_borrow_mut() else { return };
        let initiated = run.children.get(seq).is_some_and(|s| s.initiated_event_id.is_some());
        if !initiated {
            // Still queued in this activation: never sent, so withdraw it.
            run.commands
                .retain(|c| !matches!(c, WorkflowCommand::StartChild { seq: s, .. } if *s == seq));
            run.children.remove(seq);
        }
    }
}

/// A child being started; resolves to its [`ChildWorkflow`] handle once the server started it.
pub struct StartChildFuture<C: WorkflowDefinition>(PendingChild<C>);

impl<C: WorkflowDefinition> Future for StartChildFuture<C> {
    type Output = Result<ChildWorkflow<C>, WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (scope, cancellation_type) = (self.0.scope.clone(), self.0.cancellation_type);
        self.0.poll_with(cx, |run, seq, slot| {
            Some(match slot.started.as_ref()? {
                Ok(run_id) => Ok(ChildWorkflow {
                    run: run.clone(),
                    seq,
                    workflow_id: slot.workflow_id.clone(),
                    run_id: run_id.clone(),
                    scope: scope.clone(),
                    cancellation_type,
                    _child: PhantomData,
                }),
                Err(f) => Err(f.clone().into()),
            })
        })
    }
}

/// A child run to its end; resolves to its output or a child-workflow failure.
pub struct ChildFuture<C: WorkflowDefinition>(PendingChild<C>);

impl<C: WorkflowDefinition> Unpin for StartChildFuture<C> {}
impl<C: WorkflowDefinition> Unpin for ChildFuture<C> {}

impl<C: WorkflowDefinition> Future for ChildFuture<C> {
    type Output = Result<C::Output, WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let run = self.0.run.clone();
        let scope = self.0.scope.get_or_insert_with(|| CancellationScope::current(&run));
        if scope.is_cancelled() && !self.0.cancel_handled {
            self.0.cancel_handled = true;
            if let Some(done) = self.0.cancel() {
                return Poll::Ready(done);
            }
        }
        run.borrow_mut().watch_scopes(cx);
        self.0.poll_with(cx, |_, _, slot| child_result::<C>(slot))
    }
}

impl<C: WorkflowDefinition> PendingChild<C> {
    /// Carries out a cancellation of the scope; `Some` when the future ends now.
    fn cancel(&mut self) -> Option<Result<C::Output, WorkflowError>> {
        let canceled = || Some(Err(canceled_child()));
        let Some(seq) = self.seq else {
            self.call = None; // never started
            return canceled();
        };
        let (initiated, workflow_id) = {
            let run = self.run.borrow();
            let slot = run.children.get(seq)?;
            if slot.outcome.is_some() {
                return None; // already ended: its result stands
            }
            (slot.initiated_event_id.is_some(), slot.workflow_id.clone())
        };
        if !initiated {
            let mut run = self.run.borrow_mut();
            run.commands
                .retain(|c| !matches!(c, WorkflowCommand::StartChild { seq: s, .. } if *s == seq));
            run.children.remove(seq);
            self.seq = None;
            return canceled();
        }
        if self.cancellation_type != CancellationType::Abandon {
            let child = ExternalWorkflow {
                run: self.run.clone(),
                workflow_id,
                run_id: String::new(),
                child_only: true,
            };
            let _delivery = child.cancel();
        }
        match self.cancellation_type {
            CancellationType::WaitCancellationCompleted => None,
            _ => canceled(),
        }
    }
}

/// What waiting on a child gives when its cancellation ends the wait.
fn canceled_child() -> WorkflowError {
    WorkflowError::canceled("child workflow canceled")
}

fn child_result<C: WorkflowDefinition>(slot: &ChildSlot) -> Option<Result<C::Output, WorkflowError>> {
    if let Some(Err(f)) = &slot.started {
        return Some(Err(f.clone().into()));
    }
    Some(match slot.outcome.as_ref()? {
        Ok(p) => payload::from_optional_payload(p.as_ref()).map_err(|e| {
            WorkflowError::non_retryable(format!("result of child workflow `{}`: {e}", C::NAME), "PayloadError")
        }),
        Err(f) => Err(f.clone().into()),
    })
}

/// A started child workflow.
pub struct ChildWorkflow<C> {
    run: Rc<RefCell<RunState>>,
    seq: u32,
    workflow_id: String,
    run_id: String,
    /// The scope and cancellation type the child was started with.
    scope: Option<CancellationScope>,
    cancellation_type: CancellationType,
    _child: PhantomData<fn() -> C>,
}

impl<C: WorkflowDefinition> ChildWorkflow<C> {
    /// The child's workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The child's first run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Waits for the child to close: its result, or a child-workflow failure whose cause says
    /// why it failed, timed out, was canceled or terminated.
    ///
    /// When the child's cancellation scope (the one given at the call, else the scope this
    /// code runs in — by default cancelled when the workflow is asked to cancel) is cancelled
    /// while it waits, the child is cancelled as its
    /// [`cancellation_type`](ChildCall::cancellation_type) says: asked once and waited for
    /// until it has closed (the default), asked and given up on at once, or abandoned
    /// without a word.
    pub async fn result(&self) -> Result<C::Output, WorkflowError> {
        let mut scope = self.scope.clone();
        std::future::poll_fn(|cx| {
            let scope = scope.get_or_insert_with(|| CancellationScope::current(&self.run));
            let ask_cancel = {
                let mut run = self.run.borrow_mut();
                run.watch_scopes(cx);
                let Some(slot) = run.children.get_mut(self.seq) else {
                    return Poll::Ready(Err(WorkflowError::non_retryable("child slot vanished", "Internal")));
                };
                if let Some(out) = child_result::<C>(slot) {
                    return Poll::Ready(out);
                }
                slot.wakers.push(cx.waker().clone());
                let ask =
                    scope.is_cancelled() && !slot.cancel_sent && self.cancellation_type != CancellationType::Abandon;
                slot.cancel_sent |= ask;
                ask
            };
            if ask_cancel {
                // Its delivery shows in history; the child's end is what a wait waits for.
                let _delivery = self.cancel();
            }
            if scope.is_cancelled() && self.cancellation_type != CancellationType::WaitCancellationCompleted {
                return Poll::Ready(Err(canceled_child()));
            }
            Poll::Pending
        })
        .await
    }

    fn external(&self) -> ExternalWorkflow {
        ExternalWorkflow {
            run: self.run.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: String::new(),
            child_only: true,
        }
    }

    /// Sends a signal to the child by its wire name; resolves once the server delivered it.
    pub fn signal_by_name<A: PayloadArgs>(&self, name: &str, args: A) -> ExternalRequest {
        self.external().signal_by_name(name, args)
    }

    /// Asks the child to cancel; resolves once the request is delivered. The child decides
    /// what cancellation means; [`result`](Self::result) then reports how it ended.
    pub fn cancel(&self) -> ExternalRequest {
        self.external().cancel()
    }
}

/// The failure of a child the server refused to start.
pub(crate) fn start_child_failure(workflow_type: &str, workflow_id: &str, cause: i32) -> Failure {
    let cause = enums::StartChildWorkflowExecutionFailedCause::try_from(cause)
        .map(|c| c.as_str_name().to_string())
        .unwrap_or_else(|_| cause.to_string());
    Failure::application(
        format!("child workflow `{workflow_type}` with id `{workflow_id}` was not started: {cause}"),
        "ChildWorkflowNotStarted",
    )
    .non_retryable()
}
