//! The worker's side of Temporal's SDK metrics (see [`crate::metrics`]): one hook per place a
//! metric changes. Without the `metrics` feature every hook is an empty inline function of a
//! zero-sized type, so the worker compiles them away.

pub(crate) use imp::*;

/// The pollers of a worker, as the `poller_type` label names them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PollerKind {
    Workflow,
    StickyWorkflow,
    Activity,
    Nexus,
}

/// The task slots of a worker, as the `worker_type` label names them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SlotKind {
    Workflow,
    Activity,
    LocalActivity,
    Nexus,
}

#[cfg(feature = "metrics")]
mod imp {
    use super::{PollerKind, SlotKind};
    use crate::activity::ActivityError;
    use crate::client::metrics::{DEFAULT_BUCKETS_MS, DurationHistogram, Metrics, Tally};
    use crate::client::proto::command::{Command, command::Attributes};
    use crate::client::proto::common::Payload;
    use crate::client::proto::nexus as pn;
    use crate::client::proto::workflowservice as ws;
    use crate::client::time::from_timestamp;
    use crate::engine::run::Run;
    use crate::worker::run_cache::TaskOutcome;
    use crate::worker::tuning::Slots;
    use crate::workflow::local_activity::LocalActivityResult;
    use opentelemetry::metrics::Counter;
    use opentelemetry::{KeyValue, StringValue};
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime};

    /// sdk-core's buckets, in milliseconds.
    const WORKFLOW_E2E_BUCKETS_MS: &[f64] = &[
        100.,
        500.,
        1000.,
        1500.,
        2000.,
        5000.,
        10_000.,
        30_000.,
        60_000.,
        120_000.,
        300_000.,
        600_000.,
        1_800_000.,
        3_600_000.,
        30_600_000.,
        86_400_000.,
    ];
    const WORKFLOW_TASK_BUCKETS_MS: &[f64] = &[1., 10., 20., 50., 100., 200., 500., 1000.];
    const ACTIVITY_EXECUTION_BUCKETS_MS: &[f64] = &[50., 100., 500., 1000., 5000., 10_000., 60_000.];
    const SCHEDULE_TO_START_BUCKETS_MS: &[f64] = &[100., 500., 1000., 5000., 10_000., 100_000., 1_000_000.];

    /// Where a worker records, with its `namespace` and `task_queue` labels; records nothing
    /// when the worker has no [`Metrics`].
    #[derive(Clone, Default)]
    pub(crate) struct WorkerMetrics(Option<Arc<Instruments>>);

    /// What [`WorkerBuilder::metrics`](crate::worker::WorkerBuilder::metrics) chose.
    pub(crate) type Chosen = Option<Metrics>;

    struct Instruments {
        metrics: Metrics,
        /// `namespace`, `task_queue` and the handle's own labels.
        base: Vec<KeyValue>,
        task_queue: StringValue,
        worker_start: Tally,
        workflow_poll_succeed: Tally,
        workflow_poll_empty: Tally,
        activity_poll_succeed: Tally,
        activity_poll_empty: Tally,
        workflow_completed: Counter<u64>,
        workflow_failed: Counter<u64>,
        workflow_canceled: Counter<u64>,
        workflow_continue_as_new: Counter<u64>,
        workflow_e2e_latency: DurationHistogram,
        workflow_task_failed: Counter<u64>,
        workflow_task_schedule_to_start: DurationHistogram,
        workflow_task_execution: DurationHistogram,
        workflow_task_replay: DurationHistogram,
        sticky_cache_hit: Tally,
        sticky_cache_miss: Tally,
        sticky_cache_evictions: Tally,
        sticky_cache_size: Tally,
        activity_failed: Counter<u64>,
        activity_schedule_to_start: DurationHistogram,
        activity_execution: DurationHistogram,
        activity_succeed_e2e: DurationHistogram,
        local_activity_total: Counter<u64>,
        local_activity_failed: Counter<u64>,
        local_activity_canceled: Counter<u64>,
        local_activity_execution: DurationHistogram,
        local_activity_succeed_e2e: DurationHistogram,
        nexus_poll_empty: Tally,
        nexus_schedule_to_start: DurationHistogram,
        nexus_execution: DurationHistogram,
        nexus_e2e: DurationHistogram,
        nexus_failed: Counter<u64>,
    }

    impl crate::worker::WorkerBuilder {
        /// Records this worker's metrics through `metrics` rather than the client's (see
        /// [`crate::metrics`]).
        pub fn metrics(mut self, metrics: impl Into<Metrics>) -> Self {
            self.metrics = Some(metrics.into());
            self
        }
    }

    impl WorkerMetrics {
        /// The instruments of a worker: those the builder chose, else the client's.
        pub(crate) fn for_worker(chosen: &Chosen, client: &crate::client::Client, task_queue: &str) -> Self {
            let metrics = chosen.as_ref().or(client.options().metrics.as_ref());
            WorkerMetrics::new(metrics, client.namespace(), task_queue)
        }

        /// The instruments of a worker of `task_queue` recording through `metrics`.
        pub(crate) fn new(metrics: Option<&Metrics>, namespace: &str, task_queue: &str) -> Self {
            let Some(m) = metrics else {
                return WorkerMetrics(None);
            };
            let task_queue = StringValue::from(Arc::<str>::from(task_queue));
            let base = m.label_set([
                KeyValue::new("namespace", StringValue::from(Arc::<str>::from(namespace))),
                KeyValue::new("task_queue", task_queue.clone()),
            ]);
            let tally = |name: &str, description: &'static str| m.tally_counter(name, description, base.clone());
            WorkerMetrics(Some(Arc::new(Instruments {
                worker_start: tally("worker_start", "Count of the number of initialized workers"),
                workflow_poll_succeed: tally(
                    "workflow_task_queue_poll_succeed",
                    "Count of workflow task queue poll successes",
                ),
                workflow_poll_empty: tally(
                    "workflow_task_queue_poll_empty",
                    "Count of workflow task queue poll timeouts (no new task)",
                ),
                activity_poll_succeed: tally("activity_task_received", "Count of activity task queue poll successes"),
                activity_poll_empty: tally(
                    "activity_poll_no_task",
                    "Count of activity task queue poll timeouts (no new task)",
                ),
                workflow_completed: m.counter("workflow_completed", "Count of successfully completed workflows"),
                workflow_failed: m.counter("workflow_failed", "Count of failed workflows"),
                workflow_canceled: m.counter("workflow_canceled", "Count of canceled workflows"),
                workflow_continue_as_new: m.counter("workflow_continue_as_new", "Count of continued-as-new workflows"),
                workflow_e2e_latency: m.duration_histogram(
                    "workflow_endtoend_latency",
                    "Histogram of total workflow execution latencies",
                    WORKFLOW_E2E_BUCKETS_MS,
                ),
                workflow_task_failed: m.counter(
                    "workflow_task_execution_failed",
                    "Count of workflow task execution failures",
                ),
                workflow_task_schedule_to_start: m.duration_histogram(
                    "workflow_task_schedule_to_start_latency",
                    "Histogram of workflow task schedule-to-start latencies",
                    SCHEDULE_TO_START_BUCKETS_MS,
                ),
                workflow_task_execution: m.duration_histogram(
                    "workflow_task_execution_latency",
                    "Histogram of workflow task execution (not replay) latencies",
                    WORKFLOW_TASK_BUCKETS_MS,
                ),
                workflow_task_replay: m.duration_histogram(
                    "workflow_task_replay_latency",
                    "Histogram of workflow task replay latencies",
                    WORKFLOW_TASK_BUCKETS_MS,
                ),
                sticky_cache_hit: tally(
                    "sticky_cache_hit",
                    "Count of times the workflow cache was used for a new workflow task",
                ),
                sticky_cache_miss: tally(
                    "sticky_cache_miss",
                    "Count of times the workflow cache was missing a workflow for a sticky task",
                ),
                sticky_cache_evictions: tally(
                    "sticky_cache_total_forced_eviction",
                    "Count of evictions of cached workflows",
                ),
                sticky_cache_size: m.tally_gauge(
                    "sticky_cache_size",
                    "Current number of cached workflows",
                    base.clone(),
                ),
                activity_failed: m.counter("activity_execution_failed", "Count of activity task execution failures"),
                activity_schedule_to_start: m.duration_histogram(
                    "activity_schedule_to_start_latency",
                    "Histogram of activity schedule-to-start latencies",
                    SCHEDULE_TO_START_BUCKETS_MS,
                ),
                activity_execution: m.duration_histogram(
                    "activity_execution_latency",
                    "Histogram of activity execution latencies",
                    ACTIVITY_EXECUTION_BUCKETS_MS,
                ),
                activity_succeed_e2e: m.duration_histogram(
                    "activity_succeed_endtoend_latency",
                    "Histogram of activity execution latencies for successful activities",
                    DEFAULT_BUCKETS_MS,
                ),
                local_activity_total: m.counter("local_activity_total", "Count of local activities executed"),
                local_activity_failed: m.counter(
                    "local_activity_execution_failed",
                    "Count of local activity executions that failed",
                ),
                local_activity_canceled: m.counter(
                    "local_activity_execution_cancelled",
                    "Count of local activity executions that were cancelled",
                ),
                local_activity_execution: m.duration_histogram(
                    "local_activity_execution_latency",
                    "Histogram of local activity execution latencies",
                    DEFAULT_BUCKETS_MS,
                ),
                local_activity_succeed_e2e: m.duration_histogram(
                    "local_activity_succeed_endtoend_latency",
                    "Histogram of local activity execution latencies for successful local activities",
                    DEFAULT_BUCKETS_MS,
                ),
                nexus_poll_empty: tally(
                    "nexus_poll_no_task",
                    "Count of Nexus task queue poll timeouts (no new task)",
                ),
                nexus_schedule_to_start: m.duration_histogram(
                    "nexus_task_schedule_to_start_latency",
                    "Histogram of Nexus task schedule-to-start latencies",
                    SCHEDULE_TO_START_BUCKETS_MS,
                ),
                nexus_execution: m.duration_histogram(
                    "nexus_task_execution_latency",
                    "Histogram of Nexus task execution latencies",
                    ACTIVITY_EXECUTION_BUCKETS_MS,
                ),
                nexus_e2e: m.duration_histogram(
                    "nexus_task_endtoend_latency",
                    "Histogram of Nexus task end-to-end latencies, from schedule to answer",
                    DEFAULT_BUCKETS_MS,
                ),
                nexus_failed: m.counter(
                    "nexus_task_execution_failed",
                    "Count of Nexus task executions that failed (by failure_reason)",
                ),
                metrics: m.clone(),
                base,
                task_queue,
            })))
        }

        /// The worker started polling.
        pub(crate) fn worker_started(&self) {
            if let Some(i) = &self.0 {
                i.worker_start.add(1);
            }
        }

        /// Reports a worker's used slots (`worker_task_slots_used`) and, when their number is
        /// fixed, free slots (`worker_task_slots_available`) whenever metrics are collected,
        /// for as long as `slots` lives.
        pub(crate) fn watch_slots(&self, kind: SlotKind, slots: &Slots) {
            let Some(i) = &self.0 else { return };
            let worker_type = match kind {
                SlotKind::Workflow => "WorkflowWorker",
                SlotKind::Activity => "ActivityWorker",
                SlotKind::LocalActivity => "LocalActivityWorker",
                SlotKind::Nexus => "NexusWorker",
            };
            let labels = with(&i.base, [KeyValue::new("worker_type", worker_type)]);
            let observe = |name: &str, description: &'static str, used: bool| {
                let (slots, labels) = (slots.downgrade(), labels.clone());
                i.metrics
                    .meter()
                    .u64_observable_gauge(format!("{}{name}", crate::client::metrics::PREFIX))
                    .with_description(description)
                    .with_callback(move |gauge| match slots.used_of() {
                        Some((taken, _)) if used => gauge.observe(taken as u64, &labels),
                        Some((taken, Some(max))) => gauge.observe(max.saturating_sub(taken) as u64, &labels),
                        _ => {}
                    })
                    .build();
            };
            observe(
                "worker_task_slots_available",
                "Current number of available slots per task type",
                false,
            );
            observe(
                "worker_task_slots_used",
                "Current number of used slots per task type",
                true,
            );
        }

        /// The metrics of one poller.
        pub(crate) fn poller(&self, kind: PollerKind) -> PollerMetrics {
            let Some(i) = &self.0 else {
                return PollerMetrics(None);
            };
            let poller_type = match kind {
                PollerKind::Workflow => "workflow_task",
                PollerKind::StickyWorkflow => "sticky_workflow_task",
                PollerKind::Activity => "activity_task",
                PollerKind::Nexus => "nexus_task",
            };
            // The core-based SDKs count Nexus polls that brought nothing, not those that did.
            let (succeed, empty) = match kind {
                PollerKind::Workflow | PollerKind::StickyWorkflow => {
                    (Some(i.workflow_poll_succeed.clone()), i.workflow_poll_empty.clone())
                }
                PollerKind::Activity => (Some(i.activity_poll_succeed.clone()), i.activity_poll_empty.clone()),
                PollerKind::Nexus => (None, i.nexus_poll_empty.clone()),
            };
            let pollers = i.metrics.tally_up_down(
                "num_pollers",
                "Current number of active pollers per queue type",
                with(&i.base, [KeyValue::new("poller_type", poller_type)]),
            );
            PollerMetrics(Some(Arc::new(Poller {
                pollers,
                succeed,
                empty,
                task_queue: i.task_queue.clone(),
            })))
        }

        /// A workflow task arrived: records its schedule-to-start latency; the returned value
        /// records the rest as the task goes on.
        pub(crate) fn workflow_task(&self, task: &ws::PollWorkflowTaskQueueResponse) -> WorkflowTaskMetrics {
            let Some(i) = &self.0 else {
                return WorkflowTaskMetrics(None);
            };
            let workflow_type = task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
            let labels = with(&i.base, [KeyValue::new("workflow_type", workflow_type)]);
            if let (Some(scheduled), Some(started)) = (&task.scheduled_time, &task.started_time)
                && let Ok(waited) = from_timestamp(started).duration_since(from_timestamp(scheduled))
            {
                i.workflow_task_schedule_to_start.record(waited, &labels);
            }
            WorkflowTaskMetrics(Some((i.clone(), labels, Instant::now())))
        }

        /// Runs `process` on a workflow task in the engine, counting a sticky cache hit (the run
        /// was cached) or miss (a run with earlier workflow tasks replayed from its full history,
        /// timed as replay latency).
        /// `replay_started`: when the replay of the run began, if its earlier history came in
        /// parts before this task's last part.
        pub(crate) fn engine_task(
            &self,
            task: &ws::PollWorkflowTaskQueueResponse,
            replay_started: Option<Instant>,
            process: impl FnOnce(&ws::PollWorkflowTaskQueueResponse) -> TaskOutcome,
        ) -> TaskOutcome {
            let Some(i) = &self.0 else { return process(task) };
            let full_history = replay_started.is_some()
                || task
                    .history
                    .as_ref()
                    .and_then(|h| h.events.first())
                    .is_some_and(|e| e.event_id == 1);
            let replay = full_history && task.previous_started_event_id > 0;
            let started = replay_started.unwrap_or_else(Instant::now);
            let outcome = process(task);
            if replay {
                let workflow_type = task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                let labels = with(&i.base, [KeyValue::new("workflow_type", workflow_type)]);
                i.workflow_task_replay.record(started.elapsed(), &labels);
                i.sticky_cache_miss.add(1);
            } else if !full_history && !matches!(outcome, TaskOutcome::NeedFullHistory) {
                i.sticky_cache_hit.add(1);
            }
            outcome
        }

        /// A cached run left the cache (its size limit, or an error or refusal evicting it).
        pub(crate) fn evicted(&self) {
            if let Some(i) = &self.0 {
                i.sticky_cache_evictions.add(1);
            }
        }

        /// The number of runs now cached.
        pub(crate) fn cache_size(&self, runs: usize) {
            if let Some(i) = &self.0 {
                i.sticky_cache_size.set(runs as i64);
            }
        }

        /// When the run started, if this answer closes it (for the end-to-end latency).
        pub(crate) fn closing_run_start(&self, run: &Run) -> Option<SystemTime> {
            self.0.as_ref()?;
            if run.finished { run.info().start_time } else { None }
        }

        /// An activity attempt starts: records its schedule-to-start latency.
        pub(crate) fn activity_attempt(&self, task: &ws::PollActivityTaskQueueResponse) -> ActivityAttemptMetrics {
            let Some(i) = &self.0 else {
                return ActivityAttemptMetrics(None);
            };
            let name = |t: &Option<crate::client::proto::common::ActivityType>| {
                t.as_ref().map(|t| t.name.clone()).unwrap_or_default()
            };
            let labels = with(
                &i.base,
                [
                    KeyValue::new("activity_type", name(&task.activity_type)),
                    KeyValue::new(
                        "workflow_type",
                        task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                    ),
                ],
            );
            let scheduled = task
                .current_attempt_scheduled_time
                .as_ref()
                .or(task.scheduled_time.as_ref());
            if let (Some(scheduled), Some(started)) = (scheduled, &task.started_time)
                && let Ok(waited) = from_timestamp(started).duration_since(from_timestamp(scheduled))
            {
                i.activity_schedule_to_start.record(waited, &labels);
            }
            let first_scheduled = task.scheduled_time.as_ref().map(from_timestamp);
            ActivityAttemptMetrics(Some((i.clone(), labels, Instant::now(), first_scheduled)))
        }

        /// A Nexus request arrived: records its schedule-to-start latency; the returned value
        /// records how it ended.
        pub(crate) fn nexus_task(&self, request: &pn::Request) -> NexusTaskMetrics {
            let Some(i) = &self.0 else {
                return NexusTaskMetrics(None);
            };
            let (service, operation) = match &request.variant {
                Some(pn::request::Variant::StartOperation(start)) => (start.service.clone(), start.operation.clone()),
                Some(pn::request::Variant::CancelOperation(cancel)) => {
                    (cancel.service.clone(), cancel.operation.clone())
                }
                None => Default::default(),
            };
            let labels = with(
                &i.base,
                [
                    KeyValue::new("nexus_service", service),
                    KeyValue::new("nexus_operation", operation),
                ],
            );
            let scheduled = request.scheduled_time.as_ref().map(from_timestamp);
            if let Some(waited) = scheduled.and_then(|s| SystemTime::now().duration_since(s).ok()) {
                i.nexus_schedule_to_start.record(waited, &labels);
            }
            NexusTaskMetrics(Some((i.clone(), labels, Instant::now(), scheduled)))
        }

        /// A local activity of a `workflow_type` run starts.
        pub(crate) fn local_activity(&self, workflow_type: &str, activity_type: &str) -> LocalActivityMetrics {
            let Some(i) = &self.0 else {
                return LocalActivityMetrics(None);
            };
            let labels = with(
                &i.base,
                [
                    KeyValue::new("activity_type", activity_type.to_string()),
                    KeyValue::new("workflow_type", workflow_type.to_string()),
                ],
            );
            LocalActivityMetrics(Some((i.clone(), labels, Instant::now())))
        }
    }

    fn with<const N: usize>(base: &[KeyValue], extra: [KeyValue; N]) -> Vec<KeyValue> {
        let mut labels = Vec::with_capacity(base.len() + N);
        labels.extend(extra);
        labels.extend(base.iter().cloned());
        labels
    }

    /// The metrics of one poller: pollers in a poll, polls that brought a task or none.
    #[derive(Clone)]
    pub(crate) struct PollerMetrics(Option<Arc<Poller>>);

    struct Poller {
        pollers: Tally,
        succeed: Option<Tally>,
        empty: Tally,
        task_queue: StringValue,
    }

    /// Counts a poller as polling until dropped.
    pub(crate) struct Polling(Option<Arc<Poller>>);

    impl Drop for Polling {
        fn drop(&mut self) {
            if let Some(p) = &self.0 {
                p.pollers.add(-1);
            }
        }
    }

    impl PollerMetrics {
        /// A poll starts; `poll` is the call, whose request metrics get the `task_queue`.
        pub(crate) fn polling<F: Future>(&self, poll: F) -> (Polling, impl Future<Output = F::Output>) {
            let task_queue = self.0.as_ref().map(|p| {
                p.pollers.add(1);
                p.task_queue.clone()
            });
            let poll = async move {
                match task_queue {
                    Some(task_queue) => crate::client::metrics::with_task_queue(task_queue, poll).await,
                    None => poll.await,
                }
            };
            (Polling(self.0.clone()), poll)
        }

        /// A poll ended with a task (`true`) or empty.
        pub(crate) fn polled(&self, got_task: bool) {
            if let Some(p) = &self.0 {
                match (got_task, &p.succeed) {
                    (true, Some(succeed)) => succeed.add(1),
                    (true, None) => {}
                    (false, _) => p.empty.add(1),
                }
            }
        }
    }

    /// What a workflow task led to: its execution latency, a task failure, the run closed.
    pub(crate) struct WorkflowTaskMetrics(Option<(Arc<Instruments>, Vec<KeyValue>, Instant)>);

    /// How an answer closes its run, and when the run started.
    pub(crate) struct Closing(Option<(Counter<u64>, Option<SystemTime>)>);

    impl WorkflowTaskMetrics {
        /// Looks at the answer before it is sent: counts a task failure, notes a closing command.
        pub(crate) fn answering(&self, outcome: &TaskOutcome) -> Closing {
            let Some((i, labels, _)) = &self.0 else {
                return Closing(None);
            };
            match outcome {
                TaskOutcome::Failed { cause, .. } => {
                    use crate::client::proto::enums::WorkflowTaskFailedCause as Cause;
                    let reason = match cause {
                        Cause::NonDeterministicError => "NonDeterminismError",
                        _ => "WorkflowError",
                    };
                    let labels = with(labels, [KeyValue::new("failure_reason", reason)]);
                    i.workflow_task_failed.add(1, &labels);
                    Closing(None)
                }
                TaskOutcome::Completed {
                    commands, run_started, ..
                } => Closing(closing_counter(i, commands).map(|c| (c, *run_started))),
                _ => Closing(None),
            }
        }

        /// The answer was sent (`accepted`: the server took it): the task's execution latency,
        /// and the run's end when it closed it.
        pub(crate) fn answered(self, closing: Closing, accepted: bool) {
            let Some((i, labels, received)) = self.0 else { return };
            i.workflow_task_execution.record(received.elapsed(), &labels);
            if let (Some((counter, started)), true) = (closing.0, accepted) {
                counter.add(1, &labels);
                if let Some(took) = started.and_then(|s| SystemTime::now().duration_since(s).ok()) {
                    i.workflow_e2e_latency.record(took, &labels);
                }
            }
        }
    }

    fn closing_counter(i: &Instruments, commands: &[Command]) -> Option<Counter<u64>> {
        commands.iter().find_map(|c| match c.attributes.as_ref()? {
            Attributes::CompleteWorkflowExecutionCommandAttributes(_) => Some(i.workflow_completed.clone()),
            Attributes::FailWorkflowExecutionCommandAttributes(_) => Some(i.workflow_failed.clone()),
            Attributes::CancelWorkflowExecutionCommandAttributes(_) => Some(i.workflow_canceled.clone()),
            Attributes::ContinueAsNewWorkflowExecutionCommandAttributes(_) => Some(i.workflow_continue_as_new.clone()),
            _ => None,
        })
    }

    /// One activity attempt: its execution latency and outcome (with when it started, and when
    /// the activity was first scheduled).
    pub(crate) struct ActivityAttemptMetrics(Option<Attempt>);

    type Attempt = (Arc<Instruments>, Vec<KeyValue>, Instant, Option<SystemTime>);

    impl ActivityAttemptMetrics {
        /// The attempt ended with `result` (about to be reported).
        pub(crate) fn finished(&self, result: &Result<Payload, ActivityError>) {
            let Some((i, labels, started, scheduled)) = &self.0 else {
                return;
            };
            i.activity_execution.record(started.elapsed(), labels);
            match result {
                Ok(_) => {
                    if let Some(took) = scheduled.and_then(|s| SystemTime::now().duration_since(s).ok()) {
                        i.activity_succeed_e2e.record(took, labels);
                    }
                }
                Err(ActivityError::Failed(_)) => i.activity_failed.add(1, labels),
                Err(ActivityError::Canceled | ActivityError::WillCompleteAsync) => {}
            }
        }
    }

    /// One Nexus request: its execution and end-to-end latencies and how it failed (with when
    /// it started, and when it was scheduled).
    pub(crate) struct NexusTaskMetrics(Option<Attempt>);

    impl NexusTaskMetrics {
        /// The request was answered; `failure_reason` says how it failed, if it did
        /// (`handler_error_<TYPE>`, `operation_failed`, `operation_canceled`).
        pub(crate) fn finished(&self, failure_reason: Option<String>) {
            let Some((i, labels, started, scheduled)) = &self.0 else {
                return;
            };
            i.nexus_execution.record(started.elapsed(), labels);
            if let Some(took) = scheduled.and_then(|s| SystemTime::now().duration_since(s).ok()) {
                i.nexus_e2e.record(took, labels);
            }
            if let Some(reason) = failure_reason {
                i.nexus_failed
                    .add(1, &with(labels, [KeyValue::new("failure_reason", reason)]));
            }
        }

        /// The request outlasted its deadline and was dropped unanswered (no end-to-end
        /// latency, as in the other SDKs).
        pub(crate) fn timed_out(&self) {
            let Some((i, labels, started, _)) = &self.0 else {
                return;
            };
            i.nexus_execution.record(started.elapsed(), labels);
            i.nexus_failed
                .add(1, &with(labels, [KeyValue::new("failure_reason", "timeout")]));
        }
    }

    /// One local activity, through its local retries.
    pub(crate) struct LocalActivityMetrics(Option<(Arc<Instruments>, Vec<KeyValue>, Instant)>);

    impl LocalActivityMetrics {
        /// The local activity ended with `result` after `result.attempt` attempts.
        pub(crate) fn finished(&self, result: &LocalActivityResult) {
            let Some((i, labels, started)) = &self.0 else { return };
            let took: Duration = started.elapsed();
            i.local_activity_total.add(u64::from(result.attempt.max(1)), labels);
            i.local_activity_execution.record(took, labels);
            match &result.outcome {
                Ok(_) => i.local_activity_succeed_e2e.record(took, labels),
                Err(f) if matches!(*f.kind, crate::client::FailureKind::Canceled { .. }) => {
                    i.local_activity_canceled.add(1, labels)
                }
                Err(_) => i.local_activity_failed.add(1, labels),
            }
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod imp {
    use super::{PollerKind, SlotKind};
    use crate::activity::ActivityError;
    use crate::client::proto::common::Payload;
    use crate::client::proto::nexus as pn;
    use crate::client::proto::workflowservice as ws;
    use crate::engine::run::Run;
    use crate::worker::run_cache::TaskOutcome;
    use crate::worker::tuning::Slots;
    use crate::workflow::local_activity::LocalActivityResult;
    use std::time::SystemTime;

    /// Records nothing (the `metrics` feature is off).
    #[derive(Clone, Default)]
    pub(crate) struct WorkerMetrics;
    pub(crate) type Chosen = ();
    #[derive(Clone)]
    pub(crate) struct PollerMetrics;
    pub(crate) struct Polling;

    impl Drop for Polling {
        #[inline(always)]
        fn drop(&mut self) {}
    }
    pub(crate) struct WorkflowTaskMetrics;
    pub(crate) struct Closing;
    pub(crate) struct ActivityAttemptMetrics;
    pub(crate) struct LocalActivityMetrics;
    pub(crate) struct NexusTaskMetrics;

    impl WorkerMetrics {
        #[inline(always)]
        pub(crate) fn for_worker(_: &Chosen, _: &crate::client::Client, _: &str) -> Self {
            WorkerMetrics
        }
        #[inline(always)]
        pub(crate) fn worker_started(&self) {}
        #[inline(always)]
        pub(crate) fn watch_slots(&self, _: SlotKind, _: &Slots) {}
        #[inline(always)]
        pub(crate) fn poller(&self, _: PollerKind) -> PollerMetrics {
            PollerMetrics
        }
        #[inline(always)]
        pub(crate) fn workflow_task(&self, _: &ws::PollWorkflowTaskQueueResponse) -> WorkflowTaskMetrics {
            WorkflowTaskMetrics
        }
        #[inline(always)]
        pub(crate) fn engine_task(
            &self,
            task: &ws::PollWorkflowTaskQueueResponse,
            _: Option<std::time::Instant>,
            process: impl FnOnce(&ws::PollWorkflowTaskQueueResponse) -> TaskOutcome,
        ) -> TaskOutcome {
            process(task)
        }
        #[inline(always)]
        pub(crate) fn evicted(&self) {}
        #[inline(always)]
        pub(crate) fn cache_size(&self, _: usize) {}
        #[inline(always)]
        pub(crate) fn closing_run_start(&self, _: &Run) -> Option<SystemTime> {
            None
        }
        #[inline(always)]
        pub(crate) fn activity_attempt(&self, _: &ws::PollActivityTaskQueueResponse) -> ActivityAttemptMetrics {
            ActivityAttemptMetrics
        }
        #[inline(always)]
        pub(crate) fn local_activity(&self, _: &str, _: &str) -> LocalActivityMetrics {
            LocalActivityMetrics
        }
        #[inline(always)]
        pub(crate) fn nexus_task(&self, _: &pn::Request) -> NexusTaskMetrics {
            NexusTaskMetrics
        }
    }

    impl NexusTaskMetrics {
        #[inline(always)]
        pub(crate) fn finished(&self, _: Option<String>) {}
        #[inline(always)]
        pub(crate) fn timed_out(&self) {}
    }

    impl PollerMetrics {
        #[inline(always)]
        pub(crate) fn polling<F: Future>(&self, poll: F) -> (Polling, F) {
            (Polling, poll)
        }
        #[inline(always)]
        pub(crate) fn polled(&self, _: bool) {}
    }

    impl WorkflowTaskMetrics {
        #[inline(always)]
        pub(crate) fn answering(&self, _: &TaskOutcome) -> Closing {
            Closing
        }
        #[inline(always)]
        pub(crate) fn answered(self, _: Closing, _: bool) {}
    }

    impl ActivityAttemptMetrics {
        #[inline(always)]
        pub(crate) fn finished(&self, _: &Result<Payload, ActivityError>) {}
    }

    impl LocalActivityMetrics {
        #[inline(always)]
        pub(crate) fn finished(&self, _: &LocalActivityResult) {}
    }
}
