//! Workflow task pollers (normal and sticky queue) and the workflow thread they feed.

use super::WorkerError;
use super::WorkerOptions;
use super::activity_tasks::EagerActivities;
use super::codec;
use super::deployment::Behaviors;
use super::executor::{Executor, Part};
use super::local_activities::{LocalActivities, RunFacts};
use super::polling;
use super::run_cache::{Factories, TaskOutcome, take_complete_part};
use super::tuning::{SlotPermit, Slots};
use crate::client::proto::command::{Command, command::Attributes as CmdAttr};
use crate::client::proto::enums::{QueryResultType, TaskQueueKind, VersioningBehavior};
use crate::client::proto::history::History;
use crate::client::proto::taskqueue::{StickyExecutionAttributes, TaskQueue};
use crate::client::proto::workflowservice as ws;
use crate::client::time::to_proto_duration;
use crate::client::{Client, ClientError};
use crate::engine::run::RunSettings;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Activities asked for eagerly in one workflow task answer (the server caps it too).
const MAX_EAGER_ACTIVITIES_PER_TASK: usize = 3;
use tokio::task::JoinHandle;

pub(super) struct WorkflowWorkerState {
    pub(super) client: Client,
    pub(super) task_queue: String,
    sticky_queue: Option<String>,
    sticky_timeout: Duration,
    identity: String,
    executor: Executor,
    /// Runs activities the server hands back with a workflow task answer.
    eager: Option<EagerActivities>,
    /// The build id of this worker's code, recorded on each completed workflow task.
    build_id: String,
    /// The deployment version on every poll and answer.
    pub(super) deployment: Option<crate::client::proto::deployment::WorkerDeploymentOptions>,
    /// Each workflow type's versioning behaviour, reported on each completion (versioned
    /// workers only).
    behaviors: Option<Behaviors>,
    refusals: polling::Refusals,
    pub(super) slots: Slots,
    /// Local activities in flight and their results, by run.
    locals: LocalActivities,
    /// Set when the worker shuts down: answers stop asking for stickiness.
    pub(super) shutdown: watch::Receiver<bool>,
    /// This worker's key on every poll (the server ends its polls when it shuts down).
    instance_key: String,
    metrics: super::metrics::WorkerMetrics,
}

/// What the worker runs: workflow types, and the activities local activities call.
pub(super) struct Registered {
    pub(super) workflows: Factories,
    pub(super) activities: Arc<std::collections::BTreeMap<String, crate::definition::ErasedActivity>>,
    pub(super) interceptors: crate::interceptor::WorkerInterceptors,
    pub(super) behaviors: Option<Behaviors>,
}

pub(super) struct WorkflowWorker {
    shared: Arc<WorkflowWorkerState>,
    pollers: Vec<JoinHandle<()>>,
    /// Takes eager starts while the worker lives.
    _eager_starts: Arc<super::eager_start::EagerIntake>,
}

impl WorkflowWorker {
    pub(super) fn start(
        client: Client,
        task_queue: String,
        identity: super::WorkerIdentity,
        registered: Registered,
        options: &WorkerOptions,
        eager: Option<EagerActivities>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, WorkerError> {
        let cache_size = options.sticky_cache_size;
        let namespace = client.namespace().to_string();
        // In the test environment on a current-thread runtime (what `#[tokio::test]` gives),
        // workflow code runs on the test's thread: no hop to a workflow thread and back per task.
        let inline = client.is_in_process()
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        let executor = Executor::start(
            task_queue.clone(),
            registered.workflows,
            RunSettings {
                interceptors: registered.interceptors.clone(),
                log_during_replay: options.log_during_replay,
            },
            cache_size,
            namespace,
            options.deadlock_detection_timeout,
            identity.metrics.clone(),
            (cache_size > 0).then(|| super::evictions::start(client.clone(), shutdown.clone())),
            inline,
        )?;
        let sticky_queue = (cache_size > 0).then(|| format!("{}-{}-sticky", identity.name, identity.instance_key));
        let shared = Arc::new(WorkflowWorkerState {
            client,
            task_queue: task_queue.clone(),
            sticky_queue: sticky_queue.clone(),
            sticky_timeout: options.sticky_schedule_to_start_timeout,
            identity: identity.name,
            executor,
            eager,
            build_id: options.build_id.clone().unwrap_or_default(),
            deployment: identity.deployment,
            behaviors: registered.behaviors,
            refusals: identity.refusals,
            slots: Slots::new(&options.workflow_task_slots),
            locals: LocalActivities::new(
                registered.activities,
                registered.interceptors,
                Slots::new(&options.local_activity_slots),
                &identity.metrics,
            ),
            shutdown: shutdown.clone(),
            instance_key: identity.instance_key,
            metrics: identity.metrics,
        });
        (shared.metrics).watch_slots(super::metrics::SlotKind::Workflow, &shared.slots);
        let normal = TaskQueue {
            name: task_queue.clone(),
            kind: TaskQueueKind::Normal as i32,
            ..Default::default()
        };
        let sticky = sticky_queue.as_ref().map(|sticky| TaskQueue {
            name: sticky.clone(),
            kind: TaskQueueKind::Sticky as i32,
            normal_name: task_queue.clone(),
        });
        let pollers = [Some(normal), sticky]
            .into_iter()
            .flatten()
            .map(|queue| {
                let settings = polling::PollSettings {
                    what: "workflow task",
                    metrics: shared.metrics.poller(match queue.kind == TaskQueueKind::Sticky as i32 {
                        true => super::metrics::PollerKind::StickyWorkflow,
                        false => super::metrics::PollerKind::Workflow,
                    }),
                    // Each queue is a class of its own: resource-based slots give each its
                    // first slot, so neither queue's polls hold every slot.
                    slots: shared.slots.class(),
                    pollers: options.workflow_pollers,
                    rate: None,
                    shutdown: shutdown.clone(),
                    refusals: shared.refusals.clone(),
                };
                tokio::spawn(poll_loop(shared.clone(), queue, settings))
            })
            .collect();
        Ok(WorkflowWorker {
            _eager_starts: super::eager_start::EagerIntake::register(&shared),
            shared,
            pollers,
        })
    }

    /// Tells the server this worker's sticky queue is going away (its runs' next tasks go to
    /// the normal queue), waits for the pollers to stop and in-flight tasks to finish, then
    /// stops the thread.
    pub(super) async fn finish(self, deadline: tokio::time::Instant) -> Result<(), WorkerError> {
        for p in self.pollers {
            let _ = p.await;
        }
        if tokio::time::timeout_at(deadline, self.shared.slots.all_released())
            .await
            .is_err()
        {
            tracing::warn!("workflow tasks still running after the shutdown grace period");
        }
        self.shared.executor.stop().await
    }
}

impl WorkflowWorker {
    /// The sticky queue of this worker, if it caches runs.
    pub(super) fn sticky_queue(&self) -> Option<String> {
        self.shared.sticky_queue.clone()
    }
}

async fn poll_loop(shared: Arc<WorkflowWorkerState>, queue: TaskQueue, settings: polling::PollSettings) {
    let poll = |timeout| {
        let request = ws::PollWorkflowTaskQueueRequest {
            namespace: shared.client.namespace().to_string(),
            task_queue: Some(queue.clone()),
            identity: shared.identity.clone(),
            worker_instance_key: shared.instance_key.clone(),
            deployment_options: shared.deployment.clone(),
            ..Default::default()
        };
        shared.client.call(request, Some(timeout), |mut s, r| async move {
            s.poll_workflow_task_queue(r).await
        })
    };
    let handle = |task| {
        let shared = shared.clone();
        async move { handle_task(&shared, task).await }
    };
    polling::poll_loop(settings, poll, handle).await
}

impl WorkflowWorkerState {
    /// Where the run's next tasks go: this worker's sticky queue, unless it is shutting down
    /// (then they go to the normal queue, where another worker finds them at once).
    fn sticky_attributes(&self) -> Option<StickyExecutionAttributes> {
        let stopping = *self.shutdown.borrow();
        self.sticky_queue
            .as_ref()
            .filter(|_| !stopping)
            .map(|name| StickyExecutionAttributes {
                worker_task_queue: Some(TaskQueue {
                    name: name.clone(),
                    kind: TaskQueueKind::Sticky as i32,
                    normal_name: self.task_queue.clone(),
                }),
                schedule_to_start_timeout: Some(to_proto_duration(self.sticky_timeout)),
            })
    }

    /// The versioning behaviour a completion of `task` reports.
    fn versioning_behavior(&self, task: &ws::PollWorkflowTaskQueueResponse) -> VersioningBehavior {
        let workflow_type = task.workflow_type.as_ref().map_or("", |t| t.name.as_str());
        self.behaviors
            .as_ref()
            .map_or(VersioningBehavior::Unspecified, |b| b.of(workflow_type))
    }

    /// One page of the history of the task's run from `page_token` (empty: the first), and
    /// the next page's token (empty after the last).
    async fn fetch_history_page(
        &self,
        task: &ws::PollWorkflowTaskQueueResponse,
        page_token: Vec<u8>,
    ) -> Result<(History, Vec<u8>), ClientError> {
        let execution = task.workflow_execution.clone().unwrap_or_default();
        self.client
            .untyped_handle(execution.workflow_id, Some(execution.run_id))
            .fetch_history_page(page_token)
            .await
    }
}

/// A workflow task and the ones the server hands back with its answers: when events arrive
/// while a task runs (a signal, an activity result, a local activity kept alive), the server
/// starts the run's next task at once and returns it in the answer (the answer asks for that,
/// as the official SDKs' do), so it runs here without a poll round trip, in the same slot.
pub(super) async fn handle_task(shared: &WorkflowWorkerState, task: ws::PollWorkflowTaskQueueResponse) {
    let mut next = Some(task);
    while let Some(task) = next {
        next = handle_one_task(shared, task).await;
    }
}

/// One workflow task: its whole history, the engine's answer (after the local activities it
/// asked for), encoded by the payload codec, sent back. Returns the run's next task when the
/// server handed it back with the answer.
async fn handle_one_task(
    shared: &WorkflowWorkerState,
    mut task: ws::PollWorkflowTaskQueueResponse,
) -> Option<ws::PollWorkflowTaskQueueResponse> {
    let run_id = run_id_of(&task);
    let task_metrics = shared.metrics.workflow_task(&task);
    let outcome = run_engine(shared, &mut task).await?;
    let (mut outcome, keep_alive) = settle_local_activities(shared, &task, outcome).await;
    encode_outcome(shared.client.data_converter(), &mut outcome).await;
    let closing = task_metrics.answering(&outcome);
    let answered = respond(shared, &task, outcome, keep_alive).await;
    task_metrics.answered(closing, answered.is_ok());
    match answered {
        Ok(next) => next,
        Err(e) => {
            // The server did not take the answer (the task timed out, the run closed): the
            // cached run may be ahead of history, so replay it next time.
            tracing::warn!(error = %e, %run_id, "workflow task answer refused");
            shared.executor.evict(run_id);
            None
        }
    }
}

/// The engine's answer to the task, its payloads decoded first. A run that is not cached and
/// whose task starts mid-history is replayed from the full history. `None`: no answer can be
/// given (the history could not be fetched, or the workflow thread is gone).
async fn run_engine(shared: &WorkflowWorkerState, task: &mut ws::PollWorkflowTaskQueueResponse) -> Option<TaskOutcome> {
    let outcome = run_paged(shared, task).await;
    if !matches!(outcome, Some(TaskOutcome::NeedFullHistory)) {
        return outcome;
    }
    match shared.fetch_history_page(task, Vec::new()).await {
        Ok((first, next)) => {
            task.history = Some(first);
            task.next_page_token = next;
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not fetch the full history");
            return None;
        }
    }
    run_paged(shared, task).await
}

/// Runs the task whose history may come in pages (its first page in the task, the rest
/// fetched one at a time): while pages remain, the events before the last workflow task
/// start at hand go to the run as one part, so a long history is replayed as it arrives and
/// never held whole (each page is dropped once applied). The task's last part answers it.
async fn run_paged(shared: &WorkflowWorkerState, task: &mut ws::PollWorkflowTaskQueueResponse) -> Option<TaskOutcome> {
    while !task.next_page_token.is_empty() {
        if let Some(events) = take_complete_part(&mut task.history.get_or_insert_default().events) {
            let mut part = ws::PollWorkflowTaskQueueResponse {
                workflow_execution: task.workflow_execution.clone(),
                workflow_type: task.workflow_type.clone(),
                attempt: task.attempt,
                history: Some(History { events }),
                ..Default::default()
            };
            match decode_and_run(shared, &mut part, Part::Earlier).await? {
                TaskOutcome::Replaying => {}
                other => return Some(other),
            }
        }
        let token = std::mem::take(&mut task.next_page_token);
        match shared.fetch_history_page(task, token).await {
            Ok((page, next)) => {
                task.history.get_or_insert_default().events.extend(page.events);
                task.next_page_token = next;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the rest of the history");
                shared.executor.evict(run_id_of(task));
                return None;
            }
        }
    }
    decode_and_run(shared, task, Part::Last).await
}

async fn decode_and_run(
    shared: &WorkflowWorkerState,
    task: &mut ws::PollWorkflowTaskQueueResponse,
    part: Part,
) -> Option<TaskOutcome> {
    match codec::decode_workflow_task(shared.client.data_converter(), task).await {
        Ok(()) => {
            // Handed over and taken back, not copied: the history of a run that is not cached
            // may be long (a deep copy of many events costs more than replaying them).
            let handed = Arc::new(std::mem::take(task));
            let outcome = shared.executor.run(handed.clone(), part).await;
            *task = Arc::try_unwrap(handed).unwrap_or_else(|kept| (*kept).clone());
            outcome
        }
        Err(e) => Some(codec_failure(e)),
    }
}

fn codec_failure(e: crate::client::converter::ConvertError) -> TaskOutcome {
    TaskOutcome::failed(format!("payload codec: {e}"), "CodecError")
}

/// Encodes the answer's payloads with the payload codec (when it encodes outgoing payloads);
/// a codec error turns the answer into a task failure.
async fn encode_outcome(dc: &crate::client::converter::DataConverter, outcome: &mut TaskOutcome) {
    if !dc.encodes_outgoing() {
        return;
    }
    let encoded = match outcome {
        TaskOutcome::Completed {
            commands,
            messages,
            query_results,
            ..
        } => codec::encode_completion(dc, commands, messages, query_results).await,
        TaskOutcome::QueryAnswer(Ok(answer)) => codec::encode_one(dc, std::mem::take(answer))
            .await
            .map(|encoded| *answer = encoded),
        TaskOutcome::Failed { .. }
        | TaskOutcome::QueryAnswer(Err(_))
        | TaskOutcome::NeedFullHistory
        | TaskOutcome::Replaying => Ok(()),
    };
    if let Err(e) = encoded {
        *outcome = codec_failure(e);
    }
}

/// Sends the answer: the commands, a task failure, or a legacy query's answer. Returns the
/// run's next task when the server started it at once and handed it back.
async fn respond(
    shared: &WorkflowWorkerState,
    task: &ws::PollWorkflowTaskQueueResponse,
    outcome: TaskOutcome,
    keep_alive: bool,
) -> Result<Option<ws::PollWorkflowTaskQueueResponse>, ClientError> {
    let token = task.task_token.clone();
    let namespace = shared.client.namespace().to_string();
    let result = match outcome {
        TaskOutcome::Completed {
            mut commands,
            messages,
            query_results,
            sdk_metadata,
            ..
        } => {
            let slots = reserve_eager_slots(shared, &mut commands);
            // `binary_checksum` is deprecated in favour of worker deployments; it is how a
            // history records the build of a worker without deployment options.
            #[allow(deprecated)]
            let request = ws::RespondWorkflowTaskCompletedRequest {
                task_token: token,
                commands,
                messages,
                identity: shared.identity.clone(),
                sticky_attributes: shared.sticky_attributes(),
                query_results,
                namespace,
                binary_checksum: shared.build_id.clone(),
                // Local activities still running: this answer keeps the task alive, and the
                // server hands out the next task at once to carry on.
                force_create_new_workflow_task: keep_alive,
                // A next task the server creates at once (events that came in meanwhile, or
                // the one asked for above) comes back in the answer, not through a poll.
                return_new_workflow_task: true,
                sdk_metadata,
                // The workflow type's behaviour on every completion of a versioned worker (the
                // server keeps the run's latest; unspecified: an unversioned worker).
                versioning_behavior: shared.versioning_behavior(task) as i32,
                deployment_options: shared.deployment.clone(),
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_workflow_task_completed(r).await
                })
                .await
                .map(|response| {
                    // Activities this worker asked for come back here instead of through a poll.
                    if let Some(eager) = &shared.eager {
                        for (task, slot) in response.activity_tasks.into_iter().zip(slots) {
                            eager.run(task, slot);
                        }
                    }
                    response.workflow_task
                })
        }
        TaskOutcome::Failed { failure, .. } if task.attempt > 1 => {
            // As the core-based SDKs do: a failure is reported on a task's first attempt only.
            // Later attempts are left to the workflow task timeout, so a broken deploy retries
            // at the server's pace instead of in a hot loop; history keeps the first report.
            shared.executor.evict(run_id_of(task));
            tracing::warn!(
                attempt = task.attempt,
                %failure,
                "workflow task failed again; not reported, the server retries it after its timeout"
            );
            Ok(None)
        }
        TaskOutcome::Failed { cause, failure } => {
            shared.executor.evict(run_id_of(task));
            let request = ws::RespondWorkflowTaskFailedRequest {
                task_token: token,
                cause: cause as i32,
                failure: Some(failure.into()),
                identity: shared.identity.clone(),
                namespace,
                deployment_options: shared.deployment.clone(),
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_workflow_task_failed(r).await
                })
                .await
                .map(|_| None)
        }
        TaskOutcome::QueryAnswer(answer) => {
            let (completed_type, query_result, error_message) = match answer {
                Ok(p) => (
                    QueryResultType::Answered,
                    Some(crate::client::proto::common::Payloads { payloads: vec![p] }),
                    String::new(),
                ),
                Err(message) => (QueryResultType::Failed, None, message),
            };
            let request = ws::RespondQueryTaskCompletedRequest {
                task_token: token,
                completed_type: completed_type as i32,
                query_result,
                error_message,
                namespace,
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_query_task_completed(r).await
                })
                .await
                .map(|_| None)
        }
        TaskOutcome::NeedFullHistory => {
            tracing::warn!("the full history still did not start at event 1");
            Ok(None)
        }
        TaskOutcome::Replaying => {
            tracing::warn!("a part of the history was taken for the whole");
            Ok(None)
        }
    };
    result.map_err(ClientError::from)
}

fn run_id_of(task: &ws::PollWorkflowTaskQueueResponse) -> String {
    task.workflow_execution
        .as_ref()
        .map(|e| e.run_id.clone())
        .unwrap_or_default()
}

/// The workflow task timeout the server applies when the start does not set one.
const DEFAULT_WORKFLOW_TASK_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the local activities the task asked for and feeds each result back to the run, until
/// none is pending. When they outlast 80% of the workflow task timeout, answers what the task
/// has so far and asks for a new task (`true`): the activities keep running and their results
/// wait for that task.
async fn settle_local_activities(
    shared: &WorkflowWorkerState,
    task: &ws::PollWorkflowTaskQueueResponse,
    mut outcome: TaskOutcome,
) -> (TaskOutcome, bool) {
    let execution = task.workflow_execution.clone().unwrap_or_default();
    let facts = RunFacts {
        namespace: shared.client.namespace().to_string(),
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        workflow_type: task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        task_queue: shared.task_queue.clone(),
    };
    // The run's own timeout (its start event may be pages behind, or not in a sticky task).
    let timeout = match &outcome {
        TaskOutcome::Completed { task_timeout, .. } => Some(*task_timeout),
        _ => None,
    }
    .filter(|d| !d.is_zero())
    .unwrap_or(DEFAULT_WORKFLOW_TASK_TIMEOUT);
    let deadline = tokio::time::Instant::now() + timeout.mul_f64(0.8);
    loop {
        let TaskOutcome::Completed {
            local_activities,
            locals_pending,
            messages,
            query_results,
            ..
        } = &mut outcome
        else {
            return (outcome, false);
        };
        for request in std::mem::take(local_activities) {
            shared.locals.start(&facts, request, &shared.metrics);
        }
        if !*locals_pending {
            shared.locals.forget(&facts.run_id);
            return (outcome, false);
        }
        let queue = shared.locals.run(&facts.run_id);
        let Ok(Some(result)) = tokio::time::timeout_at(deadline, queue.next()).await else {
            tracing::debug!(run_id = %facts.run_id, "local activities outlast the workflow task; keeping it alive");
            return (outcome, true);
        };
        let (earlier_messages, earlier_queries) = (std::mem::take(messages), std::mem::take(query_results));
        let Some(mut next) = shared.executor.resolve_local(facts.run_id.clone(), result).await else {
            return (outcome, false);
        };
        // The new answer replaces the commands; messages and query answers of this task add up.
        if let TaskOutcome::Completed {
            messages,
            query_results,
            ..
        } = &mut next
        {
            let fresh = std::mem::take(messages);
            *messages = earlier_messages;
            for m in fresh {
                if !messages.iter().any(|e| e.id == m.id) {
                    messages.push(m);
                }
            }
            query_results.extend(earlier_queries);
        }
        outcome = next;
    }
}

/// Asks for eager execution of the activities this worker runs and has a free slot for, and
/// holds those slots until the answer says which tasks came back.
fn reserve_eager_slots(shared: &WorkflowWorkerState, commands: &mut [Command]) -> Vec<SlotPermit> {
    let Some(eager) = &shared.eager else { return Vec::new() };
    let mut slots = Vec::new();
    for command in commands.iter_mut() {
        if slots.len() >= MAX_EAGER_ACTIVITIES_PER_TASK {
            break;
        }
        let Some(CmdAttr::ScheduleActivityTaskCommandAttributes(a)) = command.attributes.as_mut() else {
            continue;
        };
        let activity_type = a.activity_type.as_ref().map(|t| t.name.as_str()).unwrap_or("");
        let task_queue = a.task_queue.as_ref().map(|q| q.name.as_str()).unwrap_or("");
        if let Some(slot) = eager.reserve(activity_type, task_queue) {
            a.request_eager_execution = true;
            slots.push(slot);
        }
    }
    slots
}
