//! The worker: polls a task queue for workflow and activity tasks, runs them, answers.
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! # async fn demo(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let worker = Worker::builder(&client, "orders")
//!     // .workflow::<OrderWorkflow>()
//!     // .activity(charge_card)
//!     .build()?;
//! let shutdown = worker.shutdown_handle();
//! tokio::spawn(async move {
//!     tokio::signal::ctrl_c().await.ok();
//!     shutdown.shutdown();
//! });
//! worker.run().await?;
//! # Ok(()) }
//! ```

mod activity_tasks;
mod cache;
pub(crate) mod codec;
mod deployment;
mod eager_start;
mod evictions;
mod executor;
mod local_activities;
mod metrics;
mod nexus_tasks;
mod polling;
pub(crate) mod run_cache;
mod running;
pub mod tuning;
mod workflow_tasks;

pub use deployment::WorkerDeploymentOptions;
pub use running::RunningWorker;
pub use tuning::{PollerBehavior, ResourceTuner, SlotSupplier};

#[cfg(test)]
mod run_cache_tests;

use crate::activity::{ActivityContext, ActivityError};
use crate::client::Client;
use crate::client::proto::common::Payload;
use crate::definition::{Activity, ActivityGroup, ActivityRegistry, ErasedActivity, Workflow, erase_activity};
use crate::dynamic::{DynamicFactory, DynamicState};
use crate::engine::driver::{TypedFactory, WorkflowFactory};
use crate::interceptor::{WorkerInterceptor, WorkerInterceptors};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why a worker could not be built or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The builder was given something it cannot use.
    #[error("invalid worker configuration: {0}")]
    Config(String),
    /// The workflow thread stopped unexpectedly.
    #[error("the workflow thread stopped: {0}")]
    WorkflowThread(String),
    /// A spawned worker's task ended without returning (it panicked or was aborted).
    #[error("the worker's task stopped: {0}")]
    Stopped(String),
    /// A spawned worker did not stop within the bound given to `stop_within`.
    #[error("the worker did not stop within {0:?}")]
    StopTimedOut(Duration),
    /// A versioned worker runs workflow types that have no versioning behaviour, and it has
    /// no default: each type needs `#[workflow(versioning = "pinned")]` (or `"auto_upgrade"`),
    /// or the worker [`WorkerDeploymentOptions::default_versioning_behavior`].
    #[error(
        "worker versioning is on and these workflow types have no versioning behaviour: {}; mark each with \
         `#[workflow(versioning = \"pinned\")]` or `\"auto_upgrade\"`, or give the worker a \
         default_versioning_behavior",
        workflow_types.join(", ")
    )]
    NoVersioningBehavior {
        /// The types without one, by wire name.
        workflow_types: Vec<String>,
    },
    /// The server does not serve a poll this worker needs (it answered UNIMPLEMENTED, which no
    /// retry changes): the worker stopped.
    #[error("the worker stopped: the server does not serve its {what} polls: {message}")]
    PollRefused {
        /// The kind of task polled.
        what: &'static str,
        /// The server's message.
        message: String,
    },
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How many workflow tasks run at once (default: 100, fixed).
    pub workflow_task_slots: SlotSupplier,
    /// How many activity attempts run at once (default: 100, fixed).
    pub activity_slots: SlotSupplier,
    /// How many local activity attempts run at once (default: 100, fixed).
    pub local_activity_slots: SlotSupplier,
    /// Polls of each workflow task queue, the normal one and the worker's sticky one
    /// (default: 8 each: a task that finds a poll waiting is handed over at once, one that
    /// finds none is stored in the server's task queue and read back, which costs the server
    /// more).
    pub workflow_pollers: PollerBehavior,
    /// Polls of the activity task queue (default: 2).
    pub activity_pollers: PollerBehavior,
    /// Nexus requests handled at once (when the worker serves Nexus operations).
    pub max_concurrent_nexus_tasks: usize,
    /// Polls of the task queue's Nexus requests (when the worker serves Nexus operations;
    /// default: 2).
    pub nexus_pollers: PollerBehavior,
    /// The most activity attempts this worker starts per second (default: no limit): each
    /// start comes at least `1 / n` s after the one before, with no burst, and the worker
    /// does not poll while a start would have to wait. As the Go SDK's
    /// `WorkerActivitiesPerSecond`. Eager activity execution is off while a rate limit is set.
    pub max_activities_per_second: Option<f64>,
    /// The most activities per second the server hands out from the task queue, to all its
    /// workers together (default: the server's own limit). Sent with every activity poll; the
    /// server keeps the latest value it was sent, so workers of a queue should agree. As the Go
    /// SDK's `TaskQueueActivitiesPerSecond`. The server allows a short burst (about one
    /// second's worth per task queue partition).
    pub max_task_queue_activities_per_second: Option<f64>,
    /// Do not poll the activity task queue: registered activities run only as local
    /// activities of this worker's workflows (as the Go SDK's `LocalActivityWorkerOnly`).
    pub no_remote_activities: bool,
    /// Do not poll workflow tasks, even with workflows registered: an activity (or Nexus)
    /// worker built from the same registrations as a workflow worker.
    pub no_workflow_tasks: bool,
    /// Runs kept in memory between tasks; 0 disables the sticky queue (every task replays).
    /// When the cache is full, the least recently used run makes room, and the server is told
    /// to send that run's next task to the normal queue, with its whole history.
    pub sticky_cache_size: usize,
    /// How long a task on this worker's sticky queue waits before the server gives it to any
    /// worker.
    pub sticky_schedule_to_start_timeout: Duration,
    /// Identity shown in history (default: the client's).
    pub identity: Option<String>,
    /// Build id of this worker's code, recorded on every workflow task it completes (the
    /// `binaryChecksum` of `WorkflowTaskCompleted` events), so a history tells which build ran.
    /// A worker with [`deployment`](Self::deployment) options names its build there instead.
    pub build_id: Option<String>,
    /// The worker deployment version this worker runs, and whether the server routes work by
    /// it (worker versioning; default: none).
    pub deployment: Option<WorkerDeploymentOptions>,
    /// How long shutdown may take: in-flight tasks finish within it (activities are told at
    /// once through `ActivityContext::worker_shutdown`); activities still running near its
    /// end are cancelled and given its last tenth (at most 1 s) to report, and the worker
    /// stops by the end of it whatever they do.
    pub graceful_shutdown_timeout: Duration,
    /// How long one poll of workflow code may run without yielding before its task fails as
    /// deadlocked (and the workflow thread is replaced). A worker of the test environment on a
    /// current-thread runtime runs workflow code on that runtime's thread, which such code
    /// holds: there it is reported (an error log naming the run) and its task cannot fail.
    pub deadlock_detection_timeout: Duration,
    /// Whether workflow code's logs (`tracing` events and spans) are written while it replays
    /// history, too. Off by default: a line is written once, when the code runs live; turn it
    /// on to follow a replay.
    pub log_during_replay: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            workflow_task_slots: SlotSupplier::Fixed(100),
            activity_slots: SlotSupplier::Fixed(100),
            local_activity_slots: SlotSupplier::Fixed(100),
            workflow_pollers: PollerBehavior::SimpleMaximum(8),
            activity_pollers: PollerBehavior::SimpleMaximum(2),
            max_concurrent_nexus_tasks: 100,
            nexus_pollers: PollerBehavior::SimpleMaximum(2),
            max_activities_per_second: None,
            max_task_queue_activities_per_second: None,
            no_remote_activities: false,
            no_workflow_tasks: false,
            sticky_cache_size: 1000,
            sticky_schedule_to_start_timeout: Duration::from_secs(5),
            identity: None,
            build_id: None,
            deployment: None,
            graceful_shutdown_timeout: Duration::from_secs(30),
            deadlock_detection_timeout: Duration::from_secs(2),
            log_during_replay: false,
        }
    }
}

impl WorkerOptions {
    /// What cannot work in these settings, one line each.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, slots) in [
            ("workflow_task_slots", &self.workflow_task_slots),
            ("activity_slots", &self.activity_slots),
            ("local_activity_slots", &self.local_activity_slots),
        ] {
            problems.extend(slots.problem().map(|p| format!("{name}: {p}")));
        }
        for (name, pollers) in [
            ("workflow_pollers", &self.workflow_pollers),
            ("activity_pollers", &self.activity_pollers),
            ("nexus_pollers", &self.nexus_pollers),
        ] {
            problems.extend(pollers.problem().map(|p| format!("{name}: {p}")));
        }
        if let Some(deployment) = &self.deployment {
            problems.extend(deployment.problems());
            if self.build_id.is_some() {
                problems.push("build_id and deployment are both set; the deployment names the build".into());
            }
        }
        if self.max_concurrent_nexus_tasks == 0 {
            problems.push("max_concurrent_nexus_tasks must be at least 1".into());
        }
        for (name, rate) in [
            ("max_activities_per_second", self.max_activities_per_second),
            (
                "max_task_queue_activities_per_second",
                self.max_task_queue_activities_per_second,
            ),
        ] {
            if let Some(r) = rate
                && !(r.is_finite() && r > 0.0)
            {
                problems.push(format!("{name} must be a number above 0, not {r}"));
            }
        }
        problems
    }

    /// Whether the worker polls workflow tasks and activity tasks, given whether it has
    /// workflows and activities registered.
    fn polls(&self, workflows: bool, activities: bool) -> (bool, bool) {
        (
            workflows && !self.no_workflow_tasks,
            activities && !self.no_remote_activities,
        )
    }

    /// Whether activities are rate limited (then none run eagerly: an eager task would skip
    /// both limits).
    fn rate_limited(&self) -> bool {
        self.max_activities_per_second.is_some() || self.max_task_queue_activities_per_second.is_some()
    }
}

/// Builds a [`Worker`].
pub struct WorkerBuilder {
    client: Client,
    task_queue: String,
    workflows: BTreeMap<String, Arc<dyn WorkflowFactory>>,
    activities: BTreeMap<String, ErasedActivity>,
    nexus_operations: BTreeMap<(String, String), crate::nexus::ErasedOperation>,
    options: WorkerOptions,
    interceptors: Vec<Arc<dyn WorkerInterceptor>>,
    metrics: metrics::Chosen,
    errors: Vec<String>,
}

impl WorkerBuilder {
    /// Serves Nexus operation `O` with `handler`, a synchronous operation: its result (or
    /// failure) answers the caller's request. The worker polls its task queue's Nexus
    /// requests; an endpoint targeting the task queue routes calls here (see
    /// [`crate::nexus`]).
    pub fn nexus_operation<O, F, Fut>(self, handler: F) -> Self
    where
        O: crate::nexus::NexusOperation,
        F: Fn(crate::nexus::NexusContext, O::Input) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<O::Output, crate::nexus::NexusError>> + Send + 'static,
    {
        let mut registry = crate::nexus::NexusRegistry::new();
        registry.operation::<O, F, Fut>(handler);
        self.nexus_registered(registry)
    }

    /// Serves Nexus operation `O` with workflow `W`: `start` says how to start it for the
    /// operation's input (a [`WorkflowStart`](crate::nexus::WorkflowStart): its id, task queue
    /// and the workflow's input); the operation answers with its token at once, and the caller
    /// gets the workflow's result when the run closes (the run carries the caller's callback;
    /// a retried request finds the same run).
    pub fn nexus_workflow_operation<O, W, F>(self, start: F) -> Self
    where
        O: crate::nexus::NexusOperation,
        W: crate::client::WorkflowDefinition<Output = O::Output>,
        W::Input: Send + Sync,
        F: Fn(
                &crate::nexus::NexusContext,
                O::Input,
            ) -> Result<crate::nexus::WorkflowStart<W>, crate::nexus::NexusError>
            + Send
            + Sync
            + 'static,
    {
        let mut registry = crate::nexus::NexusRegistry::new();
        registry.workflow_operation::<O, W, F>(start);
        self.nexus_registered(registry)
    }

    /// Serves every operation of a Nexus service: the `Handler` that `#[nexus_service]`
    /// generates around an implementation of the service's trait (see
    /// [`nexus_service`](crate::nexus_service)), or any [`NexusService`](crate::nexus::NexusService).
    /// An operation registered twice (by two services, or by a service and
    /// [`nexus_operation`](Self::nexus_operation)) makes [`build`](Self::build) fail, naming it.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// use workflow_runtime::nexus::{NexusContext, NexusError};
    ///
    /// #[nexus_service(name = "greeting")]
    /// pub trait Greeting {
    ///     #[operation]
    ///     async fn hello(&self, ctx: NexusContext, name: String) -> Result<String, NexusError>;
    /// }
    ///
    /// /// Greets in one language, shared by every request.
    /// struct Greeter {
    ///     word: String,
    /// }
    ///
    /// impl Greeting for Greeter {
    ///     async fn hello(&self, _ctx: NexusContext, name: String) -> Result<String, NexusError> {
    ///         Ok(format!("{} {name}", self.word))
    ///     }
    /// }
    ///
    /// # fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let worker = Worker::builder(client, "greeting-handlers")
    ///     .nexus_service(greeting::Handler(Greeter { word: "hello".into() }))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn nexus_service<S: crate::nexus::NexusService>(self, service: S) -> Self {
        let mut registry = crate::nexus::NexusRegistry::new();
        S::register(Arc::new(service), &mut registry);
        self.nexus_registered(registry)
    }

    /// Takes the operations of `registry`, reporting each one registered before.
    fn nexus_registered(mut self, registry: crate::nexus::NexusRegistry) -> Self {
        for (key, handler) in registry.entries {
            match self.nexus_operations.entry(key) {
                std::collections::btree_map::Entry::Vacant(free) => {
                    free.insert(handler);
                }
                std::collections::btree_map::Entry::Occupied(taken) => {
                    let (service, operation) = taken.key();
                    self.errors
                        .push(format!("Nexus operation `{service}.{operation}` is registered twice"));
                }
            }
        }
        self
    }

    /// Registers workflow `W`.
    pub fn workflow<W: Workflow>(mut self) -> Self {
        if self
            .workflows
            .insert(W::NAME.to_string(), Arc::new(TypedFactory::<W>::new()))
            .is_some()
        {
            self.errors
                .push(format!("workflow type `{}` is registered twice", W::NAME));
        }
        self
    }

    /// Registers a workflow type by name whose code takes and returns raw payloads (see
    /// [`crate::dynamic`]); signals queue up in its [`DynamicState`].
    pub fn dynamic_workflow<F>(mut self, name: impl Into<String>, run: F) -> Self
    where
        F: Fn(
                crate::workflow::WorkflowContext<DynamicState>,
                Vec<Payload>,
            ) -> futures::future::LocalBoxFuture<'static, crate::workflow::WorkflowResult<Payload>>
            + Send
            + Sync
            + 'static,
    {
        let name = name.into();
        let factory = DynamicFactory {
            name: name.clone(),
            run: Arc::new(run),
        };
        if self.workflows.insert(name.clone(), Arc::new(factory)).is_some() {
            self.errors.push(format!("workflow type `{name}` is registered twice"));
        }
        self
    }

    /// Registers an activity type by name that takes and returns raw payloads.
    pub fn dynamic_activity<F, Fut>(mut self, name: impl Into<String>, run: F) -> Self
    where
        F: Fn(ActivityContext, Vec<Payload>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Payload, ActivityError>> + Send + 'static,
    {
        let name = name.into();
        let erased: ErasedActivity = Arc::new(move |ctx, args| Box::pin(run(ctx, args)));
        if self.activities.insert(name.clone(), erased).is_some() {
            self.errors.push(format!("activity type `{name}` is registered twice"));
        }
        self
    }

    /// Registers every activity of a group of activities sharing state (an
    /// `#[activities]` impl block), bound to `group`.
    pub fn activities<G: ActivityGroup>(mut self, group: G) -> Self {
        let mut registry = ActivityRegistry::default();
        G::register(Arc::new(group), &mut registry);
        for (name, activity) in registry.entries {
            if self.activities.insert(name.clone(), activity).is_some() {
                self.errors.push(format!("activity type `{name}` is registered twice"));
            }
        }
        self
    }

    /// Registers an activity.
    pub fn activity<A: Activity>(mut self, activity: A) -> Self {
        if self
            .activities
            .insert(A::NAME.to_string(), erase_activity(activity))
            .is_some()
        {
            self.errors
                .push(format!("activity type `{}` is registered twice", A::NAME));
        }
        self
    }

    /// Registers activity `A` run by `run` instead of its own body: a typed mock for tests.
    /// The closure takes the attempt's context and `A`'s arguments as a tuple (`(word,)` for
    /// one, `()` for none) and returns `A`'s result type, so a mock that drifts from the
    /// activity's signature does not compile.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// #[activity(start_to_close_timeout = "10s")]
    /// async fn charge(customer: String, cents: u64) -> Result<String, ActivityError> {
    ///     unimplemented!("talks to the payment provider")
    /// }
    /// # fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let worker = Worker::builder(client, "orders")
    ///     .mock_activity(charge, |_ctx, (customer, cents)| async move { Ok(format!("test-{customer}-{cents}")) })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn mock_activity<A, F, Fut>(mut self, _activity: A, run: F) -> Self
    where
        A: crate::definition::ActivityDefinition,
        F: Fn(ActivityContext, A::Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<A::Output, ActivityError>> + Send + 'static,
    {
        let erased = crate::definition::erase_fn::<A, F, Fut>(run);
        if self.activities.insert(A::NAME.to_string(), erased).is_some() {
            self.errors
                .push(format!("activity type `{}` is registered twice", A::NAME));
        }
        self
    }

    /// Adds an interceptor (see [`crate::interceptor`]); it runs inside those added before it.
    pub fn interceptor(mut self, interceptor: impl WorkerInterceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Sets all options.
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the sticky cache size (0: no cache, every task replays the history).
    pub fn sticky_cache_size(mut self, size: usize) -> Self {
        self.options.sticky_cache_size = size;
        self
    }

    /// Writes workflow code's logs during replays too (see [`WorkerOptions::log_during_replay`]).
    pub fn log_during_replay(mut self, log: bool) -> Self {
        self.options.log_during_replay = log;
        self
    }

    /// Runs at most `n` activity attempts at once (a fixed [`SlotSupplier`]).
    pub fn max_concurrent_activities(mut self, n: usize) -> Self {
        self.options.activity_slots = SlotSupplier::Fixed(n);
        self
    }

    /// Runs at most `n` workflow tasks at once (a fixed [`SlotSupplier`]).
    pub fn max_concurrent_workflow_tasks(mut self, n: usize) -> Self {
        self.options.workflow_task_slots = SlotSupplier::Fixed(n);
        self
    }

    /// Runs at most `n` local activity attempts at once (a fixed [`SlotSupplier`]).
    pub fn max_concurrent_local_activities(mut self, n: usize) -> Self {
        self.options.local_activity_slots = SlotSupplier::Fixed(n);
        self
    }

    /// Sets how many workflow tasks run at once.
    pub fn workflow_task_slots(mut self, slots: impl Into<SlotSupplier>) -> Self {
        self.options.workflow_task_slots = slots.into();
        self
    }

    /// Sets how many activity attempts run at once.
    pub fn activity_slots(mut self, slots: impl Into<SlotSupplier>) -> Self {
        self.options.activity_slots = slots.into();
        self
    }

    /// Sets how many local activity attempts run at once.
    pub fn local_activity_slots(mut self, slots: impl Into<SlotSupplier>) -> Self {
        self.options.local_activity_slots = slots.into();
        self
    }

    /// Hands out workflow task, activity and local activity slots from `tuner`, with each
    /// kind's default [`ResourceSlotOptions`](tuning::ResourceSlotOptions).
    pub fn resource_based_slots(mut self, tuner: &ResourceTuner) -> Self {
        self.options.workflow_task_slots = tuner.workflow_task_slots();
        self.options.activity_slots = tuner.activity_slots();
        self.options.local_activity_slots = tuner.local_activity_slots();
        self
    }

    /// Sets the polls of each workflow task queue (normal and sticky).
    pub fn workflow_pollers(mut self, pollers: impl Into<PollerBehavior>) -> Self {
        self.options.workflow_pollers = pollers.into();
        self
    }

    /// Sets the polls of the activity task queue.
    pub fn activity_pollers(mut self, pollers: impl Into<PollerBehavior>) -> Self {
        self.options.activity_pollers = pollers.into();
        self
    }

    /// Starts at most `per_second` activity attempts per second on this worker (see
    /// [`WorkerOptions::max_activities_per_second`]).
    pub fn max_activities_per_second(mut self, per_second: f64) -> Self {
        self.options.max_activities_per_second = Some(per_second);
        self
    }

    /// Asks the server to hand out at most `per_second` activities per second from the task
    /// queue (see [`WorkerOptions::max_task_queue_activities_per_second`]).
    pub fn max_task_queue_activities_per_second(mut self, per_second: f64) -> Self {
        self.options.max_task_queue_activities_per_second = Some(per_second);
        self
    }

    /// Does not poll the activity task queue: registered activities run only as this
    /// worker's local activities.
    pub fn no_remote_activities(mut self, no: bool) -> Self {
        self.options.no_remote_activities = no;
        self
    }

    /// Does not poll workflow tasks, even with workflows registered.
    pub fn no_workflow_tasks(mut self, no: bool) -> Self {
        self.options.no_workflow_tasks = no;
        self
    }

    /// Sets how long workflow code may run without yielding (see
    /// [`WorkerOptions::deadlock_detection_timeout`]).
    pub fn deadlock_detection_timeout(mut self, d: Duration) -> Self {
        self.options.deadlock_detection_timeout = d;
        self
    }

    /// Sets the build id recorded on the workflow tasks this worker completes.
    pub fn build_id(mut self, id: impl Into<String>) -> Self {
        self.options.build_id = Some(id.into());
        self
    }

    /// Declares the worker deployment version this worker runs (see
    /// [`WorkerDeploymentOptions`]).
    pub fn deployment(mut self, deployment: WorkerDeploymentOptions) -> Self {
        self.options.deployment = Some(deployment);
        self
    }

    /// Sets the graceful shutdown timeout.
    pub fn graceful_shutdown_timeout(mut self, d: Duration) -> Self {
        self.options.graceful_shutdown_timeout = d;
        self
    }

    /// Checks the registrations and options.
    pub fn build(self) -> Result<Worker, WorkerError> {
        let mut errors = self.errors;
        if self.task_queue.is_empty() {
            errors.push("the task queue name is empty".into());
        }
        if self.workflows.is_empty() && self.activities.is_empty() && self.nexus_operations.is_empty() {
            errors.push("nothing is registered: add at least one workflow or activity".into());
        }
        errors.extend(self.options.problems());
        let (polls_workflows, polls_activities) =
            (self.options).polls(!self.workflows.is_empty(), !self.activities.is_empty());
        if !polls_workflows && !polls_activities && self.nexus_operations.is_empty() && errors.is_empty() {
            errors
                .push("nothing to poll: no_workflow_tasks and no_remote_activities leave no task kind to poll".into());
        }
        if !errors.is_empty() {
            return Err(WorkerError::Config(errors.join("; ")));
        }
        // A versioned worker reports a behaviour on every workflow task: each type it runs has
        // one, as the other SDKs require.
        let behaviors = match &self.options.deployment {
            Some(d) if d.use_worker_versioning && polls_workflows => {
                let resolved = deployment::Behaviors::resolve(d, &self.workflows);
                Some(resolved.map_err(|workflow_types| WorkerError::NoVersioningBehavior { workflow_types })?)
            }
            _ => None,
        };
        let (shutdown_tx, _) = watch::channel(false);
        let identity = self
            .options
            .identity
            .clone()
            .unwrap_or_else(|| self.client.identity().to_string());
        let metrics = metrics::WorkerMetrics::for_worker(&self.metrics, &self.client, &self.task_queue);
        Ok(Worker {
            metrics,
            client: self.client,
            task_queue: self.task_queue,
            workflows: Arc::new(self.workflows),
            activities: Arc::new(self.activities),
            nexus_operations: Arc::new(self.nexus_operations),
            interceptors: self.interceptors.into(),
            options: self.options,
            identity,
            behaviors,
            shutdown: Arc::new(shutdown_tx),
        })
    }
}

/// Who a worker is to the server: its identity (shown in histories) and a key unique to this
/// worker instance, sent with every poll and with `ShutdownWorker`; and the metrics it records
/// under that name.
#[derive(Clone)]
pub(super) struct WorkerIdentity {
    pub(super) name: String,
    pub(super) instance_key: String,
    pub(super) metrics: metrics::WorkerMetrics,
    /// The deployment version every poll and task answer declares, if the worker has one.
    pub(super) deployment: Option<crate::client::proto::deployment::WorkerDeploymentOptions>,
    /// Where the pollers report a poll the server does not serve.
    pub(super) refusals: polling::Refusals,
}

/// Polls one task queue and runs the workflows and activities registered on it.
pub struct Worker {
    client: Client,
    task_queue: String,
    workflows: run_cache::Factories,
    activities: Arc<BTreeMap<String, ErasedActivity>>,
    nexus_operations: nexus_tasks::Operations,
    interceptors: WorkerInterceptors,
    options: WorkerOptions,
    identity: String,
    /// Each workflow type's versioning behaviour, on a versioned worker.
    behaviors: Option<deployment::Behaviors>,
    shutdown: Arc<watch::Sender<bool>>,
    metrics: metrics::WorkerMetrics,
}

/// Stops a running worker: polling stops, in-flight tasks finish (within the grace period),
/// then [`Worker::run`] returns.
#[derive(Clone)]
pub struct ShutdownHandle {
    shutdown: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Starts the shutdown.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

impl Worker {
    /// A builder for a worker of `task_queue`.
    pub fn builder(client: &Client, task_queue: impl Into<String>) -> WorkerBuilder {
        WorkerBuilder {
            client: client.clone(),
            task_queue: task_queue.into(),
            workflows: BTreeMap::new(),
            activities: BTreeMap::new(),
            nexus_operations: BTreeMap::new(),
            options: WorkerOptions::default(),
            interceptors: Vec::new(),
            metrics: Default::default(),
            errors: Vec::new(),
        }
    }

    /// The task queue this worker polls.
    pub fn task_queue(&self) -> &str {
        &self.task_queue
    }

    /// What this worker serves, by wire name: each workflow type with its signals, queries and
    /// updates (and their doc comments), as the `__temporal_workflow_metadata` query answers.
    pub fn workflow_definitions(&self) -> Vec<crate::client::proto::sdk::WorkflowDefinition> {
        self.workflows.values().map(|f| f.create().definition()).collect()
    }

    /// The activity types this worker runs, by wire name, sorted.
    pub fn activity_types(&self) -> Vec<&str> {
        self.activities.keys().map(String::as_str).collect()
    }

    /// Whether this worker polls workflow tasks and activity tasks.
    fn polled(&self) -> (bool, bool) {
        (self.options).polls(!self.workflows.is_empty(), !self.activities.is_empty())
    }

    /// A handle that stops this worker.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shutdown: self.shutdown.clone(),
        }
    }

    /// Polls and runs tasks until shutdown; returns when every in-flight task has finished.
    pub async fn run(self) -> Result<(), WorkerError> {
        self.start()?.serve().await
    }

    /// Starts polling (and the workflow thread): from here on, eager starts on this worker's
    /// client can hand it their first task.
    fn start(self) -> Result<Serving, WorkerError> {
        let shutdown = self.shutdown.subscribe();
        tracing::info!(task_queue = %self.task_queue, identity = %self.identity, "worker started");
        self.metrics.worker_started();
        let identity = WorkerIdentity {
            name: self.identity.clone(),
            instance_key: uuid::Uuid::new_v4().simple().to_string(),
            metrics: self.metrics.clone(),
            deployment: self.options.deployment.as_ref().map(WorkerDeploymentOptions::to_proto),
            refusals: polling::Refusals::new(self.shutdown.clone()),
        };
        let (polls_workflows, polls_activities) = self.polled();
        let activities = if !polls_activities {
            None
        } else {
            Some(activity_tasks::ActivityWorker::start(
                self.client.clone(),
                self.task_queue.clone(),
                identity.clone(),
                self.activities.clone(),
                self.interceptors.clone(),
                &self.options,
                shutdown.clone(),
            ))
        };
        let workflows = if !polls_workflows {
            None
        } else {
            Some(workflow_tasks::WorkflowWorker::start(
                self.client.clone(),
                self.task_queue.clone(),
                identity.clone(),
                workflow_tasks::Registered {
                    workflows: self.workflows.clone(),
                    activities: self.activities.clone(),
                    interceptors: self.interceptors.clone(),
                    behaviors: self.behaviors.clone(),
                },
                &self.options,
                activities
                    .as_ref()
                    .filter(|_| !self.options.rate_limited())
                    .map(|a| a.eager()),
                shutdown.clone(),
            )?)
        };
        let nexus = (!self.nexus_operations.is_empty()).then(|| {
            nexus_tasks::NexusWorker::start(
                self.client.clone(),
                self.task_queue.clone(),
                &identity,
                self.nexus_operations.clone(),
                self.interceptors.clone(),
                &self.options,
                shutdown.clone(),
            )
        });
        Ok(Serving {
            worker: self,
            identity,
            activities,
            workflows,
            nexus,
            shutdown,
        })
    }
}

/// A started worker: its pollers run until shutdown.
struct Serving {
    worker: Worker,
    identity: WorkerIdentity,
    activities: Option<activity_tasks::ActivityWorker>,
    workflows: Option<workflow_tasks::WorkflowWorker>,
    nexus: Option<nexus_tasks::NexusWorker>,
    shutdown: watch::Receiver<bool>,
}

impl Serving {
    /// Waits for shutdown, then for every in-flight task to finish (within the grace period).
    async fn serve(self) -> Result<(), WorkerError> {
        let Serving {
            worker: this,
            identity,
            activities,
            workflows,
            nexus,
            shutdown,
        } = self;
        let mut shutdown_wait = shutdown.clone();
        let _ = shutdown_wait.wait_for(|s| *s).await;
        tracing::info!(task_queue = %this.task_queue, "worker shutting down");
        this.announce_shutdown(&identity, workflows.as_ref().and_then(|w| w.sticky_queue()))
            .await;
        // The grace period bounds the whole stop, counted from when shutdown began.
        let deadline = tokio::time::Instant::now() + this.options.graceful_shutdown_timeout;
        let (wf, act) = tokio::join!(
            async {
                match workflows {
                    Some(w) => w.finish(deadline).await,
                    None => Ok(()),
                }
            },
            async {
                if let Some(a) = activities {
                    a.finish(deadline).await;
                }
                if let Some(n) = nexus {
                    n.finish(deadline).await;
                }
            }
        );
        let () = act;
        wf?;
        tracing::info!(task_queue = %this.task_queue, "worker stopped");
        identity.refusals.outcome()
    }
}

impl Worker {
    /// Tells the server this worker is going away, before it waits for its tasks: the next
    /// tasks of its cached runs go to the normal queue rather than its sticky queue, and a
    /// server that supports it answers the worker's outstanding polls at once.
    async fn announce_shutdown(&self, identity: &WorkerIdentity, sticky_queue: Option<String>) {
        use crate::client::proto::enums::TaskQueueType;
        let mut types = Vec::new();
        let (polls_workflows, polls_activities) = self.polled();
        if polls_workflows {
            types.push(TaskQueueType::Workflow as i32);
        }
        if polls_activities {
            types.push(TaskQueueType::Activity as i32);
        }
        if !self.nexus_operations.is_empty() {
            types.push(TaskQueueType::Nexus as i32);
        }
        let request = crate::client::proto::workflowservice::ShutdownWorkerRequest {
            namespace: self.client.namespace().to_string(),
            sticky_task_queue: sticky_queue.unwrap_or_default(),
            identity: identity.name.clone(),
            reason: "graceful shutdown".into(),
            worker_instance_key: identity.instance_key.clone(),
            task_queue: self.task_queue.clone(),
            task_queue_types: types,
            ..Default::default()
        };
        let result = self
            .client
            .call(request, Some(Duration::from_secs(5)), |mut s, r| async move {
                s.shutdown_worker(r).await
            })
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e.status.message(), "ShutdownWorker was not accepted");
        }
    }
}
