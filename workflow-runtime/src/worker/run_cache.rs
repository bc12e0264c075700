//! The workflow side of a worker: the sticky cache of runs, and turning one workflow task into
//! commands (or a task failure, or a query answer) by handing its events to the run's engine.
//! Pure: no network, one thread.

use super::cache::LruCache;
use crate::client::failure::Failure;
use crate::client::proto::command::Command;
use crate::client::proto::common::Payload;
use crate::client::proto::enums::WorkflowTaskFailedCause;
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
}

/// Runs workflow tasks against cached or replayed runs.
pub(crate) struct RunCache {
    factories: Factories,
    settings: RunSettings,
    /// Boxed: the map's slots stay small, and a spare slot costs a pointer, not a run.
    cache: LruCache<Box<Run>>,
    /// Runs waiting on local activities, kept whatever the cache size.
    awaiting_locals: HashMap<String, Run>,
    pub(super) metrics: super::metrics::WorkerMetrics,
    namespace: String,
}

impl RunCache {
    pub(crate) fn new(factories: Factories, settings: RunSettings, cache_size: usize, namespace: String) -> Self {
        RunCache {
            factories,
            settings,
            cache: LruCache::new(cache_size),
            awaiting_locals: HashMap::new(),
            metrics: Default::default(),
            namespace,
        }
    }

    pub(crate) fn evict(&mut self, run_id: &str) {
        if self.cache.take(run_id).is_some() {
            self.metrics.evicted();
        }
        self.awaiting_locals.remove(run_id);
    }

    pub(crate) fn cached_runs(&self) -> usize {
        self.cache.len()
    }

    /// Processes one task (its history must be complete: all pages fetched).
    pub(crate) fn process(&mut self, task: &PollWorkflowTaskQueueResponse) -> TaskOutcome {
        let execution = task.workflow_execution.clone().unwrap_or_default();
        let workflow_type = task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let events = task.history.as_ref().map(|h| h.events.as_slice()).unwrap_or(&[]);
        let first_event = events.first().map(|e| e.event_id);

        // A full history always replays from scratch: a cached run may hold commands of a
        // task whose answer the server never recorded.
        let cached = self
            .awaiting_locals
            .remove(&execution.run_id)
            .or_else(|| self.cache.take(&execution.run_id).map(|run| *run));
        let mut run = match cached {
            Some(run) if first_event.is_none_or(|id| id == run.last_event_id + 1) && first_event != Some(1) => run,
            _ if first_event == Some(1) => {
                let Some(factory) = self.factories.get(&workflow_type) else {
                    return TaskOutcome::from_error(TaskError::UnknownWorkflowType {
                        workflow_type,
                        registered: crate::messages::listed(self.factories.keys().map(String::as_str)),
                    });
                };
                let info = WorkflowInfo {
                    workflow_type: workflow_type.clone(),
                    workflow_id: execution.workflow_id.clone(),
                    run_id: execution.run_id.clone(),
                    namespace: self.namespace.clone(),
                    task_queue: String::new(),
                    attempt: 1,
                    ..Default::default()
                };
                Run::new(factory.create(), info).with_settings(self.settings.clone())
            }
            _ => return TaskOutcome::NeedFullHistory,
        };

        let span = tracing::info_span!(
            "workflow_task",
            namespace = %self.namespace,
            workflow_type = %workflow_type,
            workflow_id = %execution.workflow_id,
            run_id = %execution.run_id,
            attempt = task.attempt,
        );
        let _enter = span.enter();

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
            run_started,
        }
    }

    fn keep(&mut self, run_id: String, mut run: Run) {
        if run.has_pending_locals() {
            self.awaiting_locals.insert(run_id, run);
            return;
        }
        run.trim();
        if let Some(evicted) = self.cache.put(run_id, Box::new(run)) {
            tracing::debug!(run_id = %evicted, "evicted from the workflow cache");
            self.metrics.evicted();
        }
    }
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
