//! The workflow side of a worker: the sticky cache of runs, and turning one workflow task into
//! commands (or a task failure, or a query answer) by handing its events to the run's engine.
//! Pure: no network, one thread.

use super::cache::LruCache;
use crate::client::failure::Failure;
use crate::client::proto::command::Command;
use crate::client::proto::common::{Payload, WorkflowExecution};
use crate::client::proto::enums::WorkflowTaskFailedCause;
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::client::proto::query::WorkflowQueryResult;
use crate::client::proto::workflowservice::PollWorkflowTaskQueueResponse;
use crate::engine::driver::WorkflowFactory;
use crate::engine::run::Run;
use crate::engine::run::RunSettings;
use crate::workflow::TaskError;
use crate::workflow::WorkflowInfo;
use crate::workflow::local_activity::{LocalActivityRequest, LocalActivityResult};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The registered workflow types, by name.
pub(crate) type Factories = Arc<BTreeMap<String, Arc<dyn WorkflowFactory>>>;

/// Where a run cache announces the runs it pushed out to make room for others, so that the
/// worker tells the server to send their next tasks to the normal queue, where the full
/// history comes with the task and any worker may take it.
pub(crate) type Evictions = tokio::sync::mpsc::UnboundedSender<WorkflowExecution>;

/// What to answer for one workflow task.
#[derive(Debug)]
pub(crate) enum TaskOutcome {
    /// Send these commands (and query answers).
    Completed {
        commands: Vec<Command>,
        messages: Vec<crate::client::proto::protocol::Message>,
        query_results: HashMap<String, WorkflowQueryResult>,
        /// Local activities to run before the task is answered; each result goes back through
        /// [`RunCache::resolve_local`], which answers the task's commands anew.
        local_activities: Vec<LocalActivityRequest>,
        /// Whether the run still waits on local activities (started now or earlier).
        locals_pending: bool,
        /// SDK name, version and flags to record in history with the answer.
        sdk_metadata: Option<crate::client::proto::sdk::WorkflowTaskCompletedMetadata>,
        /// The run's workflow task timeout: local activities that outlast most of it keep
        /// the task alive.
        task_timeout: std::time::Duration,
        /// When the run started, if this answer closes it (known only with metrics on).
        #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
        run_started: Option<std::time::SystemTime>,
    },
    /// Fail the workflow task; the server retries it.
    Failed {
        cause: WorkflowTaskFailedCause,
        failure: Failure,
    },
    /// The answer of a legacy query task.
    QueryAnswer(Result<Payload, String>),
    /// The task carries part of the history and the run is not cached: fetch it all.
    NeedFullHistory,
    /// The events of a part of a long history are applied ([`RunCache::process_part`]); the
    /// run waits for the rest.
    Replaying,
}

/// Runs workflow tasks against cached or replayed runs.
pub(crate) struct RunCache {
    factories: Factories,
    settings: RunSettings,
    /// Boxed: the map's slots stay small, and a spare slot costs a pointer, not a run.
    cache: LruCache<Box<Run>>,
    /// Runs waiting on local activities, kept whatever the cache size.
    awaiting_locals: HashMap<String, Run>,
    /// Runs whose history is being applied page by page, and when their replay from the
    /// first event began (none: a cached run carrying on).
    replaying: HashMap<String, (Run, Option<std::time::Instant>)>,
    pub(super) metrics: super::metrics::WorkerMetrics,
    /// Told of each run pushed out to make room (none: no sticky queue to take them off).
    pub(super) evictions: Option<Evictions>,
    namespace: String,
}

impl RunCache {
    pub(crate) fn new(factories: Factories, settings: RunSettings, cache_size: usize, namespace: String) -> Self {
        RunCache {
            factories,
            settings,
            cache: LruCache::new(cache_size),
            awaiting_locals: HashMap::new(),
            replaying: HashMap::new(),
            metrics: Default::default(),
            evictions: None,
            namespace,
        }
    }

    pub(crate) fn evict(&mut self, run_id: &str) {
        if self.cache.take(run_id).is_some() {
            self.metrics.evicted();
        }
        self.awaiting_locals.remove(run_id);
        self.replaying.remove(run_id);
    }

    /// When the replay of the task's run from its first event began, if it is being replayed
    /// in parts.
    pub(crate) fn replay_started(&self, task: &PollWorkflowTaskQueueResponse) -> Option<std::time::Instant> {
        let run_id = task.workflow_execution.as_ref().map_or("", |e| e.run_id.as_str());
        self.replaying.get(run_id).and_then(|(_, since)| *since)
    }

    pub(crate) fn cached_runs(&self) -> usize {
        self.cache.len()
    }

    /// Processes one task: its history is complete, or its earlier parts went through
    /// [`RunCache::process_part`].
    pub(crate) fn process(&mut self, task: &PollWorkflowTaskQueueResponse) -> TaskOutcome {
        let events = task.history.as_ref().map(|h| h.events.as_slice()).unwrap_or(&[]);
        let (mut run, _) = match self.run_for(task) {
            Ok(run) => run,
            Err(outcome) => return *outcome,
        };
        let span = self.task_span(task);
        let _enter = span.enter();
        let execution = task.workflow_execution.clone().unwrap_or_default();

        // A legacy query: bring the run up to date, answer, and issue nothing.
        if let Some(query) = &task.query {
            if let Err(e) = run.apply(events, 0, &[]) {
                return TaskOutcome::from_error(e);
            }
            let answer = run.answer_query(query);
            self.keep(execution.run_id, run);
            return TaskOutcome::QueryAnswer(answer);
        }

        let activation = match run.apply(events, task.started_event_id, &task.messages) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "workflow task failed");
                return TaskOutcome::from_error(e);
            }
        };
        let query_results = run.answer_queries(&task.queries);
        self.answer(execution.run_id, run, activation, query_results)
    }

    /// Applies the events of one part of a long history, whose later pages are still to
    /// come: the events up to (not including) a workflow task start, so each task they hold
    /// has the events recorded after it. The run waits, out of the cache, for the next part or
    /// the task itself ([`RunCache::process`]); the history is never held whole.
    pub(crate) fn process_part(&mut self, task: &PollWorkflowTaskQueueResponse) -> TaskOutcome {
        let events = task.history.as_ref().map(|h| h.events.as_slice()).unwrap_or(&[]);
        let (mut run, since) = match self.run_for(task) {
            Ok(run) => run,
            Err(outcome) => return *outcome,
        };
        let span = self.task_span(task);
        let _enter = span.enter();
        // No task of a part is the current one: each is followed by its events.
        if let Err(e) = run.apply(events, 0, &[]) {
            tracing::warn!(error = %e, "workflow task failed");
            return TaskOutcome::from_error(e);
        }
        let run_id = task
            .workflow_execution
            .as_ref()
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        self.replaying.insert(run_id, (run, since));
        TaskOutcome::Replaying
    }

    /// The run a task's events go to, with when its replay from the first event began (none
    /// for a cached run): the one being replayed in parts, the cached one when the events
    /// carry on from it, or a new one when they start the history.
    fn run_for(
        &mut self,
        task: &PollWorkflowTaskQueueResponse,
    ) -> Result<(Run, Option<std::time::Instant>), Box<TaskOutcome>> {
        // Borrowed: the ids are copied only when a run is created (a cached run's task, the
        // common case, copies none).
        let (workflow_id, run_id) = task
            .workflow_execution
            .as_ref()
            .map_or(("", ""), |e| (e.workflow_id.as_str(), e.run_id.as_str()));
        let events = task.history.as_ref().map(|h| h.events.as_slice()).unwrap_or(&[]);
        let first_event = events.first().map(|e| e.event_id);
        if let Some((run, since)) = self.replaying.remove(run_id)
            && first_event.is_none_or(|id| id == run.last_event_id + 1)
        {
            return Ok((run, since));
        }
        // A full history always replays from scratch: a cached run may hold commands of a
        // task whose answer the server never recorded.
        let cached = self
            .awaiting_locals
            .remove(run_id)
            .or_else(|| self.cache.take(run_id).map(|run| *run));
        match cached {
            Some(run) if first_event.is_none_or(|id| id == run.last_event_id + 1) && first_event != Some(1) => {
                Ok((run, None))
            }
            _ if first_event == Some(1) => {
                let workflow_type = task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                let Some(factory) = self.factories.get(&workflow_type) else {
                    return Err(Box::new(TaskOutcome::from_error(TaskError::UnknownWorkflowType {
                        workflow_type,
                        registered: crate::messages::listed(self.factories.keys().map(String::as_str)),
                    })));
                };
                let info = WorkflowInfo {
                    workflow_type,
                    workflow_id: workflow_id.to_string(),
                    run_id: run_id.to_string(),
                    namespace: self.namespace.clone(),
                    task_queue: String::new(),
                    attempt: 1,
                    ..Default::default()
                };
                let run = Run::new(factory.create(), info).with_settings(self.settings.clone());
                Ok((run, Some(std::time::Instant::now())))
            }
            _ => Err(Box::new(TaskOutcome::NeedFullHistory)),
        }
    }

    fn task_span(&self, task: &PollWorkflowTaskQueueResponse) -> tracing::Span {
        let execution = task.workflow_execution.as_ref();
        tracing::info_span!(
            "workflow_task",
            namespace = %self.namespace,
            workflow_type = %task.workflow_type.as_ref().map_or("", |t| t.name.as_str()),
            workflow_id = %execution.map_or("", |e| e.workflow_id.as_str()),
            run_id = %execution.map_or("", |e| e.run_id.as_str()),
            attempt = task.attempt,
        )
    }

    /// A local activity of run `run_id` finished: the run goes on, and the task's commands are
    /// answered anew (with any further local activities to run).
    pub(crate) fn resolve_local(&mut self, run_id: &str, result: LocalActivityResult) -> TaskOutcome {
        let Some(mut run) = self.awaiting_locals.remove(run_id) else {
            return TaskOutcome::failed(
                format!("run {run_id} is no longer waiting on local activities"),
                "WorkflowTaskError",
            );
        };
        let info = run.info();
        let span = tracing::info_span!(
            "workflow_task",
            namespace = %self.namespace,
            workflow_type = %info.workflow_type,
            workflow_id = %info.workflow_id,
            run_id = %run_id,
            local_activity = result.seq,
        );
        let _enter = span.enter();
        match run.resolve_local(result) {
            Ok(activation) => self.answer(run_id.to_string(), run, activation, HashMap::new()),
            Err(e) => TaskOutcome::from_error(e),
        }
    }

    fn answer(
        &mut self,
        run_id: String,
        run: Run,
        activation: crate::engine::run::Activation,
        query_results: HashMap<String, WorkflowQueryResult>,
    ) -> TaskOutcome {
        let commands = activation.commands.iter().map(|c| c.to_proto()).collect();
        let locals_pending = run.has_pending_locals();
        let run_started = self.metrics.closing_run_start(&run);
        let task_timeout = run.task_timeout();
        if locals_pending || !run.finished {
            self.keep(run_id, run);
        }
        TaskOutcome::Completed {
            commands,
            messages: activation.messages,
            query_results,
            local_activities: activation.local_activities,
            locals_pending,
            sdk_metadata: activation.sdk_metadata,
            task_timeout,
            run_started,
        }
    }

    fn keep(&mut self, run_id: String, mut run: Run) {
        if run.has_pending_locals() {
            self.awaiting_locals.insert(run_id, run);
            return;
        }
        run.trim();
        if let Some((run_id, run)) = self.cache.put(run_id, Box::new(run)) {
            tracing::debug!(%run_id, "evicted from the workflow cache");
            self.metrics.evicted();
            if let Some(evictions) = &self.evictions {
                let workflow_id = run.workflow_id();
                // The receiver is gone only when the worker stops, and then its sticky queue
                // goes away with it.
                let _ = evictions.send(WorkflowExecution { workflow_id, run_id });
            }
        }
    }
}

/// Takes from the front of `events` (a history arriving in pages, more to come) the part
/// [`RunCache::process_part`] can apply: the events before the last workflow task start among
/// them. `None` while they hold no such part yet.
pub(crate) fn take_complete_part(events: &mut Vec<HistoryEvent>) -> Option<Vec<HistoryEvent>> {
    let split = events
        .iter()
        .rposition(|e| matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_))))?;
    (split > 0).then(|| events.drain(..split).collect())
}

impl TaskOutcome {
    /// The task failure for an engine error: a nondeterminism error says so, as its cause.
    fn from_error(error: TaskError) -> TaskOutcome {
        match &error {
            TaskError::Nondeterminism { .. } => TaskOutcome::Failed {
                cause: WorkflowTaskFailedCause::NonDeterministicError,
                failure: Failure::application(error.to_string(), "WorkflowTaskError"),
            },
            _ => TaskOutcome::failed(error.to_string(), "WorkflowTaskError"),
        }
    }

    /// A task failure the worker (not the workflow's history) caused: the server retries it.
    pub(crate) fn failed(message: String, failure_type: &str) -> TaskOutcome {
        TaskOutcome::Failed {
            cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            failure: Failure::application(message, failure_type),
        }
    }
}
