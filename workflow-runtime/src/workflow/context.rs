//! The workflow context: everything workflow code may touch — time, randomness, state,
//! activities, timers, conditions — all fed by history so that replay gives the same answers.
//! The futures of timers and activities live in [`timer`](super::timer) and
//! [`activity_call`](super::activity_call).

pub use super::activity_call::{ActivityCall, ActivityFuture, ActivityOptions};
use super::cancellation::CancellationScope;
use super::child::{ChildCall, ExternalWorkflow};
pub use super::info::{ParentInfo, WorkflowInfo};
pub use super::timer::Timer;
use crate::client::failure::Failure;
use crate::client::payload::{self, IntoArgs, PayloadArgs};
use crate::client::proto::common::Payload;
use crate::definition::ActivityDefinition;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use crate::workflow::{WorkflowError, WorkflowTime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The search attribute that lists a run's patch ids (as every official SDK sets it).
pub(crate) const CHANGE_VERSION_ATTRIBUTE: &str = "TemporalChangeVersion";

/// The handle workflow code uses for everything nondeterministic or durable.
///
/// `W` is the workflow's state; it is reached only through closures (`state`, `state_mut`,
/// `wait_condition`), so no borrow can be held across an `.await`.
pub struct WorkflowContext<W> {
    pub(crate) run: Rc<RefCell<RunState>>,
    pub(crate) state: Rc<RefCell<W>>,
}

impl<W> Clone for WorkflowContext<W> {
    fn clone(&self) -> Self {
        WorkflowContext {
            run: self.run.clone(),
            state: self.state.clone(),
        }
    }
}

impl<W: 'static> WorkflowContext<W> {
    /// Workflow time: the start time of the current workflow task, from history, so every
    /// replay reads the same instant. A [`WorkflowTime`] cannot read the machine's clock;
    /// convert it with `to_system_time()` where a wall-clock type is wanted.
    pub fn now(&self) -> WorkflowTime {
        WorkflowTime::from(self.run.borrow().now)
    }

    /// Facts about this run.
    pub fn info(&self) -> WorkflowInfo {
        self.run.borrow().info.clone()
    }

    /// The Temporal header `key` this run was started with, decoded as `T`: `Ok(None)` when
    /// the start carried no such header, an error when it does not decode as `T`.
    ///
    /// ```
    /// # use workflow_runtime::prelude::*;
    /// # #[workflow] #[derive(Default)] pub struct Billing;
    /// # #[workflow] impl Billing {
    /// #[run]
    /// async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
    ///     let tenant: Option<String> = ctx.header("tenant")?;
    ///     Ok(tenant.unwrap_or_else(|| "no tenant".into()))
    /// }
    /// # }
    /// ```
    pub fn header<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, WorkflowError> {
        self.run
            .borrow()
            .info
            .headers
            .get(key)
            .map_err(|e| WorkflowError::non_retryable(format!("header `{key}`: {e}"), "PayloadError"))
    }

    /// Sets what the workflow is doing now, in a line or a few (Markdown is fine): the web UI
    /// and `temporal workflow metadata` show it. Kept in memory only; set it again after a
    /// replay as the code runs.
    pub fn set_current_details(&self, details: impl Into<String>) {
        self.run.borrow_mut().current_details = details.into();
    }

    /// Whether the code is replaying history (handy to skip logging).
    pub fn is_replaying(&self) -> bool {
        self.run.borrow().replaying
    }

    /// A random number, the same on every replay of this run.
    pub fn random(&self) -> u64 {
        self.run.borrow_mut().next_random()
    }

    /// A random (v4) UUID, the same on every replay of this run.
    pub fn uuid(&self) -> uuid::Uuid {
        self.run.borrow_mut().next_uuid()
    }

    /// Runs `f` once and records its value in history; replays read the recorded value
    /// instead of running `f` again. For small nondeterministic values (a random id, a
    /// config read): the determinism lint does not look inside the closure. Anything slow
    /// or fallible belongs in an activity.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
    /// let token = ctx.side_effect(|| {
    ///     std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn side_effect<T: Serialize + DeserializeOwned>(&self, f: impl FnOnce() -> T) -> Result<T, WorkflowError> {
        let decode = |p: &Payload| {
            payload::from_payload::<T>(p)
                .map_err(|e| WorkflowError::non_retryable(format!("side effect value: {e}"), "PayloadError"))
        };
        let mut run = self.run.borrow_mut();
        let seq = run.next_side_effect_seq;
        run.next_side_effect_seq += 1;
        if run.replaying
            && let Some(recorded) = run.recorded_side_effects.pop_front()
        {
            // The command is issued again so that it matches the recorded marker.
            let value = decode(&recorded);
            run.commands
                .push_back(WorkflowCommand::SideEffect { seq, value: recorded });
            return value;
        }
        drop(run);
        let value = f();
        let payload = payload::to_payload(&value)
            .map_err(|e| WorkflowError::non_retryable(format!("side effect value: {e}"), "PayloadError"))?;
        self.run
            .borrow_mut()
            .commands
            .push_back(WorkflowCommand::SideEffect { seq, value: payload });
        Ok(value)
    }

    /// Versioning: whether this run takes the new code path of change `id`.
    ///
    /// A run that first meets the call live records a marker and takes the new path (`true`);
    /// a run replaying history recorded before the change finds no marker and keeps the old
    /// path (`false`), so old runs replay while new runs use the new code. The answer for an id
    /// never changes within a run. Once no run on the old path is left, replace the call by
    /// [`deprecate_patch`](Self::deprecate_patch), and later remove that too.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # fn demo(ctx: WorkflowContext<()>) {
    /// let carrier = if ctx.patched("ship-with-fast-carrier") { "fast" } else { "standard" };
    /// # }
    /// ```
    pub fn patched(&self, id: &str) -> bool {
        self.patch(id, false)
    }

    /// The second step of retiring a change made with [`patched`](Self::patched): the code keeps
    /// only the new path and calls this in its place, so runs that recorded the marker still
    /// replay and new runs record a deprecated marker that a later version may drop.
    pub fn deprecate_patch(&self, id: &str) {
        self.patch(id, true);
    }

    fn patch(&self, id: &str, deprecated: bool) -> bool {
        let mut run = self.run.borrow_mut();
        if let Some(answer) = run.patches.get(id) {
            return *answer;
        }
        let answer = if run.replaying {
            run.recorded_patches.contains(id)
        } else {
            true
        };
        if answer {
            run.issue(WorkflowCommand::Patch {
                id: id.to_string(),
                deprecated,
            });
            run.marked_patches.insert(id.to_string());
            // As the core-based SDKs do: the run's patch ids become searchable.
            let replaying = run.replaying;
            if run
                .flags
                .try_use(super::sdk_flags::CoreFlag::UpsertChangeVersionOnPatch, replaying)
            {
                let ids: Vec<&String> = run.marked_patches.iter().collect();
                if let Ok(mut value) = payload::to_payload(&ids) {
                    value.metadata.insert("type".to_string(), b"KeywordList".to_vec());
                    let attributes = HashMap::from([(CHANGE_VERSION_ATTRIBUTE.to_string(), value)]);
                    run.commands
                        .push_back(WorkflowCommand::UpsertSearchAttributes { attributes });
                }
            }
        }
        run.patches.insert(id.to_string(), answer);
        answer || deprecated
    }

    /// Sets or removes search attributes of this run (typed by their keys); visibility
    /// queries see the change once the workflow task completes.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # use workflow_runtime::client::SearchAttributeKey;
    /// const STAGE: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderStage");
    /// # fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
    /// ctx.upsert_search_attributes([STAGE.set("packed".to_string())])?;
    /// # Ok(()) }
    /// ```
    pub fn upsert_search_attributes(
        &self,
        updates: impl IntoIterator<Item = crate::client::SearchAttributeUpdate>,
    ) -> Result<(), WorkflowError> {
        let mut attributes = HashMap::new();
        for update in updates {
            let (name, value) = update.into_parts();
            let value = value
                .map_err(|e| WorkflowError::non_retryable(format!("search attribute `{name}`: {e}"), "PayloadError"))?;
            attributes.insert(name.to_string(), value);
        }
        if attributes.is_empty() {
            return Ok(());
        }
        let mut run = self.run.borrow_mut();
        run.search_attributes.extend(attributes.clone());
        run.commands
            .push_back(WorkflowCommand::UpsertSearchAttributes { attributes });
        Ok(())
    }

    /// This run's value of a search attribute: set at start or upserted since.
    pub fn search_attribute<T: Serialize + DeserializeOwned>(
        &self,
        key: crate::client::SearchAttributeKey<T>,
    ) -> Option<T> {
        key.get(&self.run.borrow().search_attributes).and_then(Result::ok)
    }

    /// Sets a memo field of this run (not indexed; shown by describe and list).
    pub fn upsert_memo<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), WorkflowError> {
        let value = payload::to_payload(value)
            .map_err(|e| WorkflowError::non_retryable(format!("memo `{key}`: {e}"), "PayloadError"))?;
        let mut run = self.run.borrow_mut();
        run.memo.insert(key.to_string(), value.clone());
        let fields = HashMap::from([(key.to_string(), value)]);
        run.issue(WorkflowCommand::UpsertMemo { fields });
        Ok(())
    }

    /// This run's memo field `key`: set at start or upserted since.
    pub fn memo<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.run
            .borrow()
            .memo
            .get(key)
            .and_then(|p| payload::from_payload(p).ok())
    }

    /// Reads the workflow state.
    pub fn state<R>(&self, f: impl FnOnce(&W) -> R) -> R {
        f(&self.state.borrow())
    }

    /// Changes the workflow state (pending `wait_condition`s are re-checked).
    pub fn state_mut<R>(&self, f: impl FnOnce(&mut W) -> R) -> R {
        let out = f(&mut self.state.borrow_mut());
        self.run.borrow_mut().wake_conditions();
        out
    }

    /// Whether cancellation of this workflow was requested.
    pub fn is_cancel_requested(&self) -> bool {
        self.run.borrow().cancel_requested
    }

    /// Waits until `predicate` holds on the state (checked after every signal, activity
    /// result, timer and state change). Ends with a cancellation error when its scope is
    /// cancelled first (by default: when the workflow's cancellation is requested), so
    /// `ctx.wait_condition(…).await?` in `#[run]` ends a cancelled run as canceled.
    pub fn wait_condition<F: Fn(&W) -> bool + 'static>(&self, predicate: F) -> WaitCondition<W, F> {
        WaitCondition {
            ctx: self.clone(),
            predicate,
            scope: None,
        }
    }

    /// A new cancellation scope inside the current one (by default the run's root scope):
    /// cancelled with it, when this workflow's cancellation is requested, or by
    /// [`CancellationScope::cancel`]. Put activities, timers and child workflows in it.
    pub fn cancellation_scope(&self) -> CancellationScope {
        CancellationScope::nested(&self.run)
    }

    /// A new scope that the workflow's cancellation does not reach (only its own
    /// [`cancel`](CancellationScope::cancel) does): run cleanup in it with
    /// [`CancellationScope::run`] after the workflow was asked to cancel.
    pub fn detached_scope(&self) -> CancellationScope {
        CancellationScope::detached(&self.run)
    }

    /// Waits until cancellation of the workflow is requested.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled { run: self.run.clone() }
    }

    /// A durable timer: `ctx.sleep(Duration::from_secs(3600)).await?`. Dropping the future
    /// before it fires cancels the timer.
    pub fn sleep(&self, duration: Duration) -> Timer {
        Timer::new(self.run.clone(), duration)
    }

    /// Calls activity `A` with its arguments; set options on the returned call, then `.await`.
    ///
    /// A close timeout is required: the `#[activity]` defaults or
    /// `.start_to_close_timeout(…)` / `.schedule_to_close_timeout(…)` at the call.
    ///
    /// One argument is passed as is, several as a tuple, none as `()`:
    /// `ctx.activity(charge_card, order)`, `ctx.activity(transfer, (from, to, cents))`.
    pub fn activity<A: ActivityDefinition>(&self, _activity: A, input: impl IntoArgs<A::Input>) -> ActivityCall<A> {
        ActivityCall::new(self.run.clone(), input.into_args())
    }

    /// Calls Nexus operation `O` through `endpoint` (the name the endpoint was created with on
    /// the server): the operation's output, or a failure whose cause says how it failed, was
    /// canceled or timed out. Recorded in history and replayed from it like an activity. The
    /// `Caller` a `#[nexus_service]` generates makes the same calls, one method per operation.
    ///
    /// ```
    /// # use workflow_runtime::prelude::*;
    /// # use workflow_runtime::nexus::NexusOperation;
    /// # pub struct Hello;
    /// # impl NexusOperation for Hello {
    /// #     const SERVICE: &'static str = "greeting";
    /// #     const NAME: &'static str = "hello";
    /// #     type Input = String;
    /// #     type Output = String;
    /// # }
    /// # #[workflow] #[derive(Default)] pub struct Greeter;
    /// # #[workflow] impl Greeter {
    /// #[run]
    /// async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
    ///     ctx.nexus::<Hello>("greeting-endpoint", name)
    ///         .schedule_to_close_timeout(Duration::from_secs(60))
    ///         .await
    /// }
    /// # }
    /// ```
    pub fn nexus<O: crate::nexus::NexusOperation>(
        &self,
        endpoint: impl Into<String>,
        input: O::Input,
    ) -> super::nexus_call::NexusCall<O> {
        super::nexus_call::NexusCall::new(self.run.clone(), endpoint.into(), input)
    }

    /// Runs activity `A` as a local activity: in this worker, inside the workflow task, its
    /// result recorded in history as a marker. For short activities (milliseconds to a few
    /// seconds) where a round trip through the server's queues would cost more than the work;
    /// see [`crate::workflow::local_activity`].
    pub fn local_activity<A: ActivityDefinition>(
        &self,
        _activity: A,
        input: impl IntoArgs<A::Input>,
    ) -> super::local_activity::LocalActivityCall<A> {
        super::local_activity::LocalActivityCall::new(self.run.clone(), input)
    }

    /// Calls workflow `C` as a child of this one; set options on the returned call, then
    /// `.await` it for the child's result or `.start().await` for a handle. Arguments are
    /// passed as for [`activity`](Self::activity) and checked against `C`'s `#[run]` signature.
    ///
    /// See [`crate::workflow::child`] for an example.
    pub fn child<C: crate::client::WorkflowDefinition>(&self, input: impl IntoArgs<C::Input>) -> ChildCall<C> {
        ChildCall::new(self.run.clone(), input)
    }

    /// Another workflow by id (and run id, or `""` for its latest run), to signal or cancel.
    pub fn external_workflow(&self, workflow_id: impl Into<String>, run_id: impl Into<String>) -> ExternalWorkflow {
        ExternalWorkflow {
            run: self.run.clone(),
            workflow_id: workflow_id.into(),
            run_id: run_id.into(),
            child_only: false,
        }
    }
}

impl<W: crate::client::WorkflowDefinition> WorkflowContext<W> {
    /// Ends this run by starting a fresh run of the same workflow (same id, new history) with
    /// `input`; return it as the run's error: `return Err(ctx.continue_as_new(next))`.
    /// Long-running workflows use it to keep their history short; the client's `result()`
    /// follows the chain to the last run.
    ///
    /// The next run keeps this run's memo, search attributes (upserts included), headers, task
    /// queue, timeouts and retry policy; [`continue_as_new_with`](Self::continue_as_new_with)
    /// changes any of them.
    pub fn continue_as_new(&self, input: impl IntoArgs<W::Input>) -> WorkflowError {
        self.continue_as_new_with(input, super::ContinueAsNewOptions::new())
    }

    /// [`continue_as_new`](Self::continue_as_new) with options for the next run; see
    /// [`crate::workflow::continue_as_new`].
    pub fn continue_as_new_with(
        &self,
        input: impl IntoArgs<W::Input>,
        options: super::ContinueAsNewOptions,
    ) -> WorkflowError {
        match input.into_args().to_payloads() {
            Ok(input) => WorkflowError {
                failure: Box::new(Failure::application("continued as new", "ContinueAsNew")),
                continue_as_new: Some(Box::new(super::continue_as_new::ContinueAsNew { input, options })),
            },
            Err(e) => WorkflowError::non_retryable(format!("continue-as-new input: {e}"), "PayloadError"),
        }
    }
}

/// The future of [`WorkflowContext::wait_condition`].
pub struct WaitCondition<W, F> {
    ctx: WorkflowContext<W>,
    predicate: F,
    /// The scope whose cancellation ends the wait, fixed at the first poll.
    scope: Option<CancellationScope>,
}

impl<W, F> Unpin for WaitCondition<W, F> {}

impl<W: 'static, F: Fn(&W) -> bool + 'static> WaitCondition<W, F> {
    /// Waits at most `timeout`: `Ok(true)` when the predicate held in time, `Ok(false)` when
    /// the time ran out. A durable timer is recorded only when the predicate does not already
    /// hold, and it is cancelled when the predicate wins.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # #[derive(Default)] struct Approval { approved: bool }
    /// # async fn demo(ctx: WorkflowContext<Approval>) -> WorkflowResult<()> {
    /// let approved = ctx.wait_condition(|s| s.approved).timeout(Duration::from_secs(86_400)).await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(self, timeout: Duration) -> futures::future::LocalBoxFuture<'static, Result<bool, WorkflowError>> {
        Box::pin(async move {
            if (self.predicate)(&self.ctx.state.borrow()) {
                return Ok(true);
            }
            let timer = self.ctx.sleep(timeout);
            match futures::future::select(self, timer).await {
                futures::future::Either::Left((met, _timer)) => met.map(|()| true),
                futures::future::Either::Right((fired, _wait)) => fired.map(|()| false),
            }
        })
    }
}

impl<W: 'static, F: Fn(&W) -> bool> Future for WaitCondition<W, F> {
    type Output = Result<(), WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if (self.predicate)(&self.ctx.state.borrow()) {
            return Poll::Ready(Ok(()));
        }
        let run = self.ctx.run.clone();
        let scope = self.scope.get_or_insert_with(|| CancellationScope::current(&run));
        if scope.is_cancelled() {
            return Poll::Ready(Err(WorkflowError::canceled("wait canceled")));
        }
        scope.watch(cx);
        run.borrow_mut().condition_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// The future of [`WorkflowContext::cancelled`].
pub struct Cancelled {
    run: Rc<RefCell<RunState>>,
}

impl Future for Cancelled {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut run = self.run.borrow_mut();
        if run.cancel_requested {
            return Poll::Ready(());
        }
        run.condition_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}
