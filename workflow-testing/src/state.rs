//! The test environment's side of the protocol: executions, their histories, task queues and a
//! virtual clock. Commands from the (real) worker become history events here exactly as the
//! server would record them; workflow semantics stay in the worker's engine.

use prost::{Message as _, Name};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;
use workflow_client::failure::Failure;
use workflow_client::proto::command::{Command, command::Attributes as Cmd};
use workflow_client::proto::common::{ActivityType, Payloads, RetryPolicy, WorkflowExecution, WorkflowType};
use workflow_client::proto::enums::{EventType, RetryState, TaskQueueKind, WorkflowExecutionStatus};
use workflow_client::proto::failure::Failure as ProtoFailure;
use workflow_client::proto::history::{self as h, HistoryEvent, history_event::Attributes as Ev};
use workflow_client::proto::protocol::{Message, message::SequencingId};
use workflow_client::proto::query::WorkflowQuery;
use workflow_client::proto::taskqueue::TaskQueue;
use workflow_client::proto::update as pu;
use workflow_client::proto::workflowservice as ws;
use workflow_client::time::{from_proto_duration, to_proto_duration, to_timestamp};

mod activities;
mod buffering;
mod commands;
mod nexus;
mod queries;
mod retries;
mod skipping;
mod task_failures;
mod updates;
mod visibility;

use activities::{ActivityState, effective_retry};
pub(crate) use nexus::NexusTask;
pub(crate) use skipping::Awaited;
pub(crate) use updates::{UpdateStage, UpdateState};

/// Where virtual time starts: a fixed instant, so recorded histories are the same every run.
pub(crate) const EPOCH_SECS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// What a task token names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Workflow {
        run_id: String,
        started_event_id: i64,
    },
    Activity {
        run_id: String,
        scheduled_event_id: i64,
        attempt: i32,
    },
    Query {
        id: u64,
    },
    /// A Nexus request (an operation's start or cancel) handed to a worker.
    Nexus(NexusTask),
}

impl Token {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Token::Workflow {
                run_id,
                started_event_id,
            } => format!("w|{run_id}|{started_event_id}"),
            Token::Activity {
                run_id,
                scheduled_event_id,
                attempt,
            } => format!("a|{run_id}|{scheduled_event_id}|{attempt}"),
            Token::Query { id } => format!("q|{id}"),
            Token::Nexus(task) => format!(
                "n|{}|{}|{}|{}",
                task.run_id,
                task.scheduled_event_id,
                if task.cancel { "cancel" } else { "start" },
                task.attempt
            ),
        }
        .into_bytes()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Token> {
        let text = std::str::from_utf8(bytes).ok()?;
        let parts: Vec<&str> = text.split('|').collect();
        match parts.as_slice() {
            ["w", run_id, started] => Some(Token::Workflow {
                run_id: run_id.to_string(),
                started_event_id: started.parse().ok()?,
            }),
            ["a", run_id, scheduled, attempt] => Some(Token::Activity {
                run_id: run_id.to_string(),
                scheduled_event_id: scheduled.parse().ok()?,
                attempt: attempt.parse().ok()?,
            }),
            ["q", id] => Some(Token::Query { id: id.parse().ok()? }),
            ["n", run_id, scheduled, kind @ ("start" | "cancel"), attempt] => Some(Token::Nexus(NexusTask {
                run_id: run_id.to_string(),
                scheduled_event_id: scheduled.parse().ok()?,
                cancel: *kind == "cancel",
                attempt: attempt.parse().ok()?,
            })),
            _ => None,
        }
    }
}

/// Why a request was refused (turned into a gRPC status by the service).
#[derive(Debug)]
pub(crate) enum Refusal {
    NotFound(String),
    AlreadyStarted(String),
    /// Something with that name exists (a Nexus endpoint).
    AlreadyExists(String),
    Invalid(String),
}

impl Refusal {
    /// What was refused, and why.
    pub(crate) fn message(self) -> String {
        match self {
            Refusal::NotFound(m) | Refusal::AlreadyStarted(m) | Refusal::AlreadyExists(m) | Refusal::Invalid(m) => m,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TaskState {
    Idle,
    Scheduled,
    Started,
}

/// One run of a workflow.
pub(crate) struct Execution {
    pub(crate) workflow_id: String,
    pub(crate) run_id: String,
    pub(crate) workflow_type: String,
    pub(crate) task_queue: String,
    pub(crate) history: Vec<HistoryEvent>,
    pub(crate) status: WorkflowExecutionStatus,
    task: TaskState,
    /// Events arrived while a task was running: another task follows it.
    task_again: bool,
    sticky_queue: Option<String>,
    /// The `WorkflowTaskStarted` of the last task the worker completed.
    last_completed_started_id: i64,
    activities: HashMap<i64, ActivityState>,
    /// Nexus operations not ended yet, by scheduled event.
    nexus: HashMap<i64, nexus::NexusOperationState>,
    timers: HashMap<String, i64>,
    /// The run that continued this one, when it continued as new.
    pub(crate) continued_by: Option<String>,
    /// The parent, when this run is a child.
    parent: Option<ParentLink>,
    /// Search attributes and memo, as set at start and upserted since.
    pub(crate) search_attributes: HashMap<String, workflow_client::proto::common::Payload>,
    pub(crate) memo: HashMap<String, workflow_client::proto::common::Payload>,
    /// Children started by this run, with what happens to them when it closes.
    children: Vec<(String, i32)>,
    /// Queries that arrived while events waited for a workflow task (answered with that task,
    /// after the events), or while a task ran (answered once it completed).
    waiting_queries: Vec<u64>,
    /// The attempt of the run's current workflow task (1 unless earlier attempts failed).
    task_attempt: i32,
    /// When the workflow task in a worker's hands was handed out (real time), and how long
    /// the worker has to answer it.
    task_started_at: Option<std::time::Instant>,
    task_timeout: Duration,
    /// Events that arrived while a workflow task was running: as on the server, they are
    /// written after that task's completion (and its commands' events), not in between.
    buffered: Vec<HistoryEvent>,
    /// The request the run was started with: a retry starts the next attempt from it.
    request: ws::StartWorkflowExecutionRequest,
    /// Which attempt of its workflow this run is (1 unless its retry policy retried it).
    attempt: i32,
    /// The first run of its retry chain.
    first_run_id: String,
    /// When the workflow's execution timeout, counted from the first run, ends (no retry
    /// starts after it).
    execution_deadline: Option<SystemTime>,
}

#[derive(Clone)]
struct ParentLink {
    run_id: String,
    initiated_event_id: i64,
    started_event_id: i64,
}

impl Execution {
    pub(crate) fn is_open(&self) -> bool {
        self.status == WorkflowExecutionStatus::Running
    }

    /// The close event, once closed.
    pub(crate) fn close_event(&self) -> Option<&HistoryEvent> {
        if self.is_open() { None } else { self.history.last() }
    }
}

enum Due {
    Timer {
        run_id: String,
        timer_id: String,
    },
    /// A retried run's first workflow task, after the retry policy's backoff.
    FirstTask {
        run_id: String,
    },
    WorkflowTimeout {
        run_id: String,
    },
    ActivityRetry {
        run_id: String,
        scheduled_event_id: i64,
    },
    /// An activity attempt's schedule-to-start timeout (virtual time: the task waits in a
    /// queue).
    ActivityScheduleToStart {
        run_id: String,
        scheduled_event_id: i64,
        attempt: i32,
    },
    /// A Nexus request is sent again after a retryable failure's backoff.
    NexusRetry {
        run_id: String,
        scheduled_event_id: i64,
    },
    /// A Nexus operation's schedule-to-close timeout.
    NexusTimeout {
        run_id: String,
        scheduled_event_id: i64,
    },
}

/// A query waiting for the worker's answer.
pub(crate) struct PendingQuery {
    pub(crate) run_id: String,
    pub(crate) query: WorkflowQuery,
    pub(crate) answer: Option<oneshot::Sender<Result<Payloads, String>>>,
}

/// Everything the environment holds.
pub(crate) struct State {
    pub(crate) namespace: String,
    pub(crate) now: SystemTime,
    pub(crate) executions: HashMap<String, Execution>,
    /// Workflow id → its latest run.
    pub(crate) latest: HashMap<String, String>,
    workflow_queues: HashMap<String, VecDeque<String>>,
    activity_queues: HashMap<String, VecDeque<(String, i64)>>,
    /// Who polls each activity task queue.
    activity_pollers: HashMap<String, activities::Pollers>,
    query_queues: HashMap<String, VecDeque<u64>>,
    pub(crate) queries: HashMap<u64, PendingQuery>,
    next_query: u64,
    due: BTreeMap<(SystemTime, u64), Due>,
    next_due: u64,
    /// Updates by (run, update id).
    pub(crate) updates: HashMap<(String, String), UpdateState>,
    /// Tasks handed to a worker and not answered yet.
    in_flight: usize,
    /// Workers that announced their shutdown (by instance key): their polls end at once.
    pub(crate) stopped_workers: std::collections::HashSet<String>,
    run_counter: u64,
    /// Whether a failed workflow task is retried, as on the server, instead of failing the run.
    pub(crate) retry_failed_tasks: bool,
    /// Nexus endpoints, by name.
    endpoints: BTreeMap<String, nexus::Endpoint>,
    /// Nexus requests waiting for a worker, by task queue.
    nexus_queues: HashMap<String, VecDeque<NexusTask>>,
    /// Who polls each Nexus task queue.
    nexus_pollers: HashMap<String, activities::Pollers>,
    /// Nexus requests in workers' hands, with their (real-time) deadlines.
    nexus_running: HashMap<NexusTask, std::time::Instant>,
    /// Numbers the ids of endpoints and Nexus requests.
    nexus_counter: u64,
    /// What clients wait for while time may skip, by wait.
    awaited: HashMap<u64, Awaited>,
    awaited_counter: u64,
}

fn event_type(attributes: &Ev) -> EventType {
    match attributes {
        Ev::WorkflowExecutionStartedEventAttributes(_) => EventType::WorkflowExecutionStarted,
        Ev::WorkflowExecutionCompletedEventAttributes(_) => EventType::WorkflowExecutionCompleted,
        Ev::WorkflowExecutionFailedEventAttributes(_) => EventType::WorkflowExecutionFailed,
        Ev::WorkflowExecutionCanceledEventAttributes(_) => EventType::WorkflowExecutionCanceled,
        Ev::WorkflowExecutionTerminatedEventAttributes(_) => EventType::WorkflowExecutionTerminated,
        Ev::WorkflowExecutionTimedOutEventAttributes(_) => EventType::WorkflowExecutionTimedOut,
        Ev::WorkflowExecutionContinuedAsNewEventAttributes(_) => EventType::WorkflowExecutionContinuedAsNew,
        Ev::WorkflowExecutionSignaledEventAttributes(_) => EventType::WorkflowExecutionSignaled,
        Ev::WorkflowExecutionCancelRequestedEventAttributes(_) => EventType::WorkflowExecutionCancelRequested,
        Ev::WorkflowTaskScheduledEventAttributes(_) => EventType::WorkflowTaskScheduled,
        Ev::WorkflowTaskStartedEventAttributes(_) => EventType::WorkflowTaskStarted,
        Ev::WorkflowTaskCompletedEventAttributes(_) => EventType::WorkflowTaskCompleted,
        Ev::WorkflowTaskFailedEventAttributes(_) => EventType::WorkflowTaskFailed,
        Ev::WorkflowTaskTimedOutEventAttributes(_) => EventType::WorkflowTaskTimedOut,
        Ev::ActivityTaskScheduledEventAttributes(_) => EventType::ActivityTaskScheduled,
        Ev::ActivityTaskStartedEventAttributes(_) => EventType::ActivityTaskStarted,
        Ev::ActivityTaskCompletedEventAttributes(_) => EventType::ActivityTaskCompleted,
        Ev::ActivityTaskFailedEventAttributes(_) => EventType::ActivityTaskFailed,
        Ev::ActivityTaskTimedOutEventAttributes(_) => EventType::ActivityTaskTimedOut,
        Ev::ActivityTaskCancelRequestedEventAttributes(_) => EventType::ActivityTaskCancelRequested,
        Ev::ActivityTaskCanceledEventAttributes(_) => EventType::ActivityTaskCanceled,
        Ev::TimerStartedEventAttributes(_) => EventType::TimerStarted,
        Ev::TimerFiredEventAttributes(_) => EventType::TimerFired,
        Ev::TimerCanceledEventAttributes(_) => EventType::TimerCanceled,
        Ev::MarkerRecordedEventAttributes(_) => EventType::MarkerRecorded,
        Ev::UpsertWorkflowSearchAttributesEventAttributes(_) => EventType::UpsertWorkflowSearchAttributes,
        Ev::WorkflowExecutionUpdateAcceptedEventAttributes(_) => EventType::WorkflowExecutionUpdateAccepted,
        Ev::WorkflowExecutionUpdateCompletedEventAttributes(_) => EventType::WorkflowExecutionUpdateCompleted,
        Ev::WorkflowPropertiesModifiedEventAttributes(_) => EventType::WorkflowPropertiesModified,
        Ev::StartChildWorkflowExecutionInitiatedEventAttributes(_) => EventType::StartChildWorkflowExecutionInitiated,
        Ev::StartChildWorkflowExecutionFailedEventAttributes(_) => EventType::StartChildWorkflowExecutionFailed,
        Ev::ChildWorkflowExecutionStartedEventAttributes(_) => EventType::ChildWorkflowExecutionStarted,
        Ev::ChildWorkflowExecutionCompletedEventAttributes(_) => EventType::ChildWorkflowExecutionCompleted,
        Ev::ChildWorkflowExecutionFailedEventAttributes(_) => EventType::ChildWorkflowExecutionFailed,
        Ev::ChildWorkflowExecutionCanceledEventAttributes(_) => EventType::ChildWorkflowExecutionCanceled,
        Ev::ChildWorkflowExecutionTerminatedEventAttributes(_) => EventType::ChildWorkflowExecutionTerminated,
        Ev::ChildWorkflowExecutionTimedOutEventAttributes(_) => EventType::ChildWorkflowExecutionTimedOut,
        Ev::SignalExternalWorkflowExecutionInitiatedEventAttributes(_) => {
            EventType::SignalExternalWorkflowExecutionInitiated
        }
        Ev::SignalExternalWorkflowExecutionFailedEventAttributes(_) => EventType::SignalExternalWorkflowExecutionFailed,
        Ev::ExternalWorkflowExecutionSignaledEventAttributes(_) => EventType::ExternalWorkflowExecutionSignaled,
        Ev::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_) => {
            EventType::RequestCancelExternalWorkflowExecutionInitiated
        }
        Ev::RequestCancelExternalWorkflowExecutionFailedEventAttributes(_) => {
            EventType::RequestCancelExternalWorkflowExecutionFailed
        }
        Ev::ExternalWorkflowExecutionCancelRequestedEventAttributes(_) => {
            EventType::ExternalWorkflowExecutionCancelRequested
        }
        Ev::NexusOperationScheduledEventAttributes(_) => EventType::NexusOperationScheduled,
        Ev::NexusOperationStartedEventAttributes(_) => EventType::NexusOperationStarted,
        Ev::NexusOperationCompletedEventAttributes(_) => EventType::NexusOperationCompleted,
        Ev::NexusOperationFailedEventAttributes(_) => EventType::NexusOperationFailed,
        Ev::NexusOperationCanceledEventAttributes(_) => EventType::NexusOperationCanceled,
        Ev::NexusOperationTimedOutEventAttributes(_) => EventType::NexusOperationTimedOut,
        Ev::NexusOperationCancelRequestedEventAttributes(_) => EventType::NexusOperationCancelRequested,
        Ev::NexusOperationCancelRequestCompletedEventAttributes(_) => EventType::NexusOperationCancelRequestCompleted,
        Ev::NexusOperationCancelRequestFailedEventAttributes(_) => EventType::NexusOperationCancelRequestFailed,
        _ => EventType::Unspecified,
    }
}

impl State {
    pub(crate) fn new(namespace: String) -> Self {
        State {
            namespace,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS),
            executions: HashMap::new(),
            latest: HashMap::new(),
            workflow_queues: HashMap::new(),
            activity_queues: HashMap::new(),
            activity_pollers: HashMap::new(),
            query_queues: HashMap::new(),
            queries: HashMap::new(),
            next_query: 1,
            due: BTreeMap::new(),
            next_due: 0,
            updates: HashMap::new(),
            in_flight: 0,
            stopped_workers: Default::default(),
            run_counter: 0,
            retry_failed_tasks: false,
            endpoints: BTreeMap::new(),
            nexus_queues: HashMap::new(),
            nexus_pollers: HashMap::new(),
            nexus_running: HashMap::new(),
            nexus_counter: 0,
            awaited: HashMap::new(),
            awaited_counter: 0,
        }
    }

    /// Records an event of the run. While a workflow task runs, an event from elsewhere (a
    /// signal, an activity's or a child's outcome, a timer) is buffered and gets its id when
    /// the task completes; the id returned meanwhile is a placeholder (negative) that
    /// [`flush_buffered`](Self::flush_buffered) rewrites where other buffered events cite it.
    fn append(&mut self, run_id: &str, attributes: Ev) -> i64 {
        let now = self.now;
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        let mut event = HistoryEvent {
            event_time: Some(to_timestamp(now)),
            event_type: event_type(&attributes) as i32,
            attributes: Some(attributes),
            ..Default::default()
        };
        if execution.task == TaskState::Started && !buffering::belongs_to_the_task(&event) {
            event.event_id = -(execution.buffered.len() as i64 + 1);
            execution.buffered.push(event);
            return -(execution.buffered.len() as i64);
        }
        event.event_id = execution.history.len() as i64 + 1;
        let event_id = event.event_id;
        execution.history.push(event);
        event_id
    }

    /// Asks for a workflow task: now, or after the one running.
    fn schedule_task(&mut self, run_id: &str) {
        let Some(execution) = self.executions.get_mut(run_id) else {
            return;
        };
        if !execution.is_open() {
            return;
        }
        match execution.task {
            TaskState::Scheduled => {}
            TaskState::Started => execution.task_again = true,
            TaskState::Idle => {
                execution.task = TaskState::Scheduled;
                let queue = execution.sticky_queue.clone().unwrap_or(execution.task_queue.clone());
                // As the server records it: the sticky queue with its normal queue's name, or
                // the normal queue.
                let task_queue = match &execution.sticky_queue {
                    Some(sticky) => TaskQueue {
                        name: sticky.clone(),
                        kind: TaskQueueKind::Sticky as i32,
                        normal_name: execution.task_queue.clone(),
                    },
                    None => TaskQueue {
                        name: execution.task_queue.clone(),
                        kind: TaskQueueKind::Normal as i32,
                        normal_name: String::new(),
                    },
                };
                let attempt = execution.task_attempt;
                let start_to_close_timeout = Some(to_proto_duration(execution.task_timeout));
                self.append(
                    run_id,
                    Ev::WorkflowTaskScheduledEventAttributes(h::WorkflowTaskScheduledEventAttributes {
                        task_queue: Some(task_queue),
                        start_to_close_timeout,
                        attempt,
                    }),
                );
                self.workflow_queues
                    .entry(queue)
                    .or_default()
                    .push_back(run_id.to_string());
            }
        }
    }

    fn at(&mut self, when: SystemTime, due: Due) {
        self.next_due += 1;
        self.due.insert((when, self.next_due), due);
    }

    /// Starts a run; `continued_from` links a continue-as-new chain.
    pub(crate) fn start(
        &mut self,
        request: ws::StartWorkflowExecutionRequest,
        continued_from: Option<String>,
    ) -> Result<String, Refusal> {
        // A start sent again (its request id the same): the run it started, as on the server
        // (a Nexus handler's retried start finds the run its first attempt started).
        if !request.request_id.is_empty()
            && let Some(run) = self.latest.get(&request.workflow_id)
            && self
                .executions
                .get(run)
                .is_some_and(|e| e.is_open() && e.request.request_id == request.request_id)
        {
            return Ok(run.clone());
        }
        self.start_attempt(request, continued_from, None)
    }

    /// Starts a run, as the first attempt of its workflow or (`retry`) the next attempt of a
    /// failed run, whose first task waits for the retry policy's backoff.
    fn start_attempt(
        &mut self,
        request: ws::StartWorkflowExecutionRequest,
        continued_from: Option<String>,
        retry: Option<retries::NextAttempt>,
    ) -> Result<String, Refusal> {
        let request = with_server_timeouts(request);
        if let Some(previous) = self
            .latest
            .get(&request.workflow_id)
            .and_then(|r| self.executions.get(r))
            && continued_from.is_none()
        {
            use workflow_client::proto::enums::WorkflowIdReusePolicy as Reuse;
            let refused = match Reuse::try_from(request.workflow_id_reuse_policy).unwrap_or(Reuse::AllowDuplicate) {
                _ if previous.is_open() => true,
                Reuse::RejectDuplicate => true,
                Reuse::AllowDuplicateFailedOnly => previous.status == WorkflowExecutionStatus::Completed,
                _ => false,
            };
            if refused {
                return Err(Refusal::AlreadyStarted(format!(
                    "workflow `{}` was already started",
                    request.workflow_id
                )));
            }
        }
        let workflow_type = request.workflow_type.clone().unwrap_or_default().name;
        if workflow_type.is_empty() {
            return Err(Refusal::Invalid("a workflow type is required".into()));
        }
        let task_queue = request.task_queue.clone().unwrap_or_default().name;
        self.run_counter += 1;
        let run_id = format!("{:08x}-0000-4000-8000-{:012x}", self.run_counter, self.run_counter);
        let attempt = retry.as_ref().map_or(1, |r| r.attempt);
        let first_run_id = retry
            .as_ref()
            .map_or_else(|| run_id.clone(), |r| r.first_run_id.clone());
        let execution_deadline = match &retry {
            Some(r) => r.execution_deadline,
            None => request
                .workflow_execution_timeout
                .as_ref()
                .map(from_proto_duration)
                .filter(|d| !d.is_zero())
                .map(|d| self.now + d),
        };
        self.executions.insert(
            run_id.clone(),
            Execution {
                workflow_id: request.workflow_id.clone(),
                run_id: run_id.clone(),
                workflow_type: workflow_type.clone(),
                task_queue: task_queue.clone(),
                history: Vec::new(),
                status: WorkflowExecutionStatus::Running,
                task: TaskState::Idle,
                task_again: false,
                sticky_queue: None,
                last_completed_started_id: 0,
                activities: HashMap::new(),
                nexus: HashMap::new(),
                timers: HashMap::new(),
                continued_by: None,
                parent: None,
                children: Vec::new(),
                search_attributes: request
                    .search_attributes
                    .clone()
                    .map(|s| s.indexed_fields)
                    .unwrap_or_default(),
                memo: request.memo.clone().map(|m| m.fields).unwrap_or_default(),
                task_attempt: 1,
                task_started_at: None,
                task_timeout: request
                    .workflow_task_timeout
                    .as_ref()
                    .map(from_proto_duration)
                    .filter(|d| !d.is_zero())
                    .unwrap_or(Duration::from_secs(10)),
                buffered: Vec::new(),
                waiting_queries: Vec::new(),
                request: request.clone(),
                attempt,
                first_run_id: first_run_id.clone(),
                execution_deadline,
            },
        );
        self.latest.insert(request.workflow_id.clone(), run_id.clone());
        let limit = [
            request.workflow_run_timeout.as_ref(),
            request.workflow_execution_timeout.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(from_proto_duration)
        .filter(|d| !d.is_zero())
        .min();
        let backoff = retry.as_ref().map_or(Duration::ZERO, |r| r.backoff);
        let run_deadline = limit.map(|limit| self.now + backoff + limit);
        if let Some(when) = [run_deadline, execution_deadline].into_iter().flatten().min() {
            self.at(when, Due::WorkflowTimeout { run_id: run_id.clone() });
        }
        self.append(
            &run_id,
            Ev::WorkflowExecutionStartedEventAttributes(h::WorkflowExecutionStartedEventAttributes {
                workflow_type: Some(WorkflowType { name: workflow_type }),
                task_queue: request.task_queue,
                input: request.input,
                workflow_execution_timeout: request.workflow_execution_timeout,
                workflow_run_timeout: request.workflow_run_timeout,
                workflow_task_timeout: request.workflow_task_timeout,
                continued_execution_run_id: continued_from.unwrap_or_default(),
                original_execution_run_id: run_id.clone(),
                first_execution_run_id: first_run_id,
                attempt,
                retry_policy: request.retry_policy.clone(),
                first_workflow_task_backoff: Some(to_proto_duration(backoff)),
                continued_failure: retry.as_ref().and_then(|r| r.last_failure.clone()),
                initiator: if retry.is_some() {
                    workflow_client::proto::enums::ContinueAsNewInitiator::Retry as i32
                } else {
                    0
                },
                identity: request.identity,
                memo: request.memo,
                search_attributes: request.search_attributes,
                header: request.header,
                workflow_id: request.workflow_id,
                completion_callbacks: request.completion_callbacks,
                ..Default::default()
            }),
        );
        if backoff > Duration::ZERO {
            self.at(self.now + backoff, Due::FirstTask { run_id: run_id.clone() });
        } else {
            self.schedule_task(&run_id);
        }
        Ok(run_id)
    }

    /// The run a request names: its run id, or the latest run of the workflow id.
    pub(crate) fn resolve(&self, execution: Option<&WorkflowExecution>) -> Result<String, Refusal> {
        let execution = execution.ok_or_else(|| Refusal::Invalid("no workflow execution given".into()))?;
        if !execution.run_id.is_empty() {
            return if self.executions.contains_key(&execution.run_id) {
                Ok(execution.run_id.clone())
            } else {
                Err(Refusal::NotFound(format!("no run `{}`", execution.run_id)))
            };
        }
        self.latest
            .get(&execution.workflow_id)
            .cloned()
            .ok_or_else(|| Refusal::NotFound(format!("no workflow with id `{}`", execution.workflow_id)))
    }

    fn open_run(&self, execution: Option<&WorkflowExecution>) -> Result<String, Refusal> {
        let run_id = self.resolve(execution)?;
        if !self.executions[&run_id].is_open() {
            return Err(Refusal::NotFound("the workflow execution has already completed".into()));
        }
        Ok(run_id)
    }

    pub(crate) fn signal(&mut self, request: ws::SignalWorkflowExecutionRequest) -> Result<(), Refusal> {
        let run_id = self.open_run(request.workflow_execution.as_ref())?;
        self.append(
            &run_id,
            Ev::WorkflowExecutionSignaledEventAttributes(h::WorkflowExecutionSignaledEventAttributes {
                signal_name: request.signal_name,
                input: request.input,
                identity: request.identity,
                header: request.header,
                ..Default::default()
            }),
        );
        self.schedule_task(&run_id);
        Ok(())
    }

    pub(crate) fn request_cancel(&mut self, request: ws::RequestCancelWorkflowExecutionRequest) -> Result<(), Refusal> {
        let run_id = self.open_run(request.workflow_execution.as_ref())?;
        self.append(
            &run_id,
            Ev::WorkflowExecutionCancelRequestedEventAttributes(h::WorkflowExecutionCancelRequestedEventAttributes {
                cause: request.reason,
                identity: request.identity,
                ..Default::default()
            }),
        );
        self.schedule_task(&run_id);
        Ok(())
    }

    pub(crate) fn terminate(&mut self, request: ws::TerminateWorkflowExecutionRequest) -> Result<(), Refusal> {
        let run_id = self.open_run(request.workflow_execution.as_ref())?;
        self.close(
            &run_id,
            WorkflowExecutionStatus::Terminated,
            Ev::WorkflowExecutionTerminatedEventAttributes(h::WorkflowExecutionTerminatedEventAttributes {
                reason: request.reason,
                details: request.details,
                identity: request.identity,
            }),
        );
        Ok(())
    }

    fn close(&mut self, run_id: &str, status: WorkflowExecutionStatus, event: Ev) {
        let retried = retries::is_retried(&event);
        self.append(run_id, event.clone());
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        execution.status = status;
        self.release_waiting_queries(run_id);
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        execution.activities.clear();
        execution.nexus.clear();
        execution.timers.clear();
        let parent = execution.parent.clone();
        let children = std::mem::take(&mut execution.children);
        let (workflow_id, workflow_type) = (execution.workflow_id.clone(), execution.workflow_type.clone());
        self.due.retain(|_, d| match d {
            Due::Timer { run_id: r, .. }
            | Due::FirstTask { run_id: r }
            | Due::ActivityRetry { run_id: r, .. }
            | Due::ActivityScheduleToStart { run_id: r, .. }
            | Due::NexusRetry { run_id: r, .. }
            | Due::NexusTimeout { run_id: r, .. }
            | Due::WorkflowTimeout { run_id: r } => r != run_id,
        });
        for queue in self.activity_queues.values_mut() {
            queue.retain(|(r, _)| r != run_id);
        }
        for queue in self.nexus_queues.values_mut() {
            queue.retain(|task| task.run_id != run_id);
        }
        let next_run = match &event {
            Ev::WorkflowExecutionContinuedAsNewEventAttributes(a) => Some(a.new_execution_run_id.as_str()),
            Ev::WorkflowExecutionFailedEventAttributes(a) if retried => Some(a.new_execution_run_id.as_str()),
            Ev::WorkflowExecutionTimedOutEventAttributes(a) if retried => Some(a.new_execution_run_id.as_str()),
            _ => None,
        };
        self.deliver_callbacks(run_id, &event, next_run);
        if let Some(parent) = parent
            && status != WorkflowExecutionStatus::ContinuedAsNew
            && !retried
            && self.executions.get(&parent.run_id).is_some_and(Execution::is_open)
        {
            let child = Some(WorkflowExecution {
                workflow_id,
                run_id: run_id.to_string(),
            });
            let child_type = Some(WorkflowType { name: workflow_type });
            let (initiated_event_id, started_event_id) = (parent.initiated_event_id, parent.started_event_id);
            let reported = match event {
                Ev::WorkflowExecutionCompletedEventAttributes(a) => Ev::ChildWorkflowExecutionCompletedEventAttributes(
                    h::ChildWorkflowExecutionCompletedEventAttributes {
                        result: a.result,
                        workflow_execution: child,
                        workflow_type: child_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
                Ev::WorkflowExecutionFailedEventAttributes(a) => {
                    Ev::ChildWorkflowExecutionFailedEventAttributes(h::ChildWorkflowExecutionFailedEventAttributes {
                        failure: a.failure,
                        workflow_execution: child,
                        workflow_type: child_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: a.retry_state,
                        ..Default::default()
                    })
                }
                Ev::WorkflowExecutionCanceledEventAttributes(a) => Ev::ChildWorkflowExecutionCanceledEventAttributes(
                    h::ChildWorkflowExecutionCanceledEventAttributes {
                        details: a.details,
                        workflow_execution: child,
                        workflow_type: child_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
                Ev::WorkflowExecutionTimedOutEventAttributes(a) => Ev::ChildWorkflowExecutionTimedOutEventAttributes(
                    h::ChildWorkflowExecutionTimedOutEventAttributes {
                        workflow_execution: child,
                        workflow_type: child_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: a.retry_state,
                        ..Default::default()
                    },
                ),
                _ => Ev::ChildWorkflowExecutionTerminatedEventAttributes(
                    h::ChildWorkflowExecutionTerminatedEventAttributes {
                        workflow_execution: child,
                        workflow_type: child_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
            };
            self.append(&parent.run_id, reported);
            self.schedule_task(&parent.run_id);
        }
        if status == WorkflowExecutionStatus::ContinuedAsNew || retried {
            return;
        }
        for (child, policy) in children {
            let child = self.latest_run_of(&child);
            if !self.executions.get(&child).is_some_and(Execution::is_open) {
                continue;
            }
            let execution = Some(WorkflowExecution {
                workflow_id: String::new(),
                run_id: child.clone(),
            });
            if policy == workflow_client::proto::enums::ParentClosePolicy::RequestCancel as i32 {
                let _ = self.request_cancel(ws::RequestCancelWorkflowExecutionRequest {
                    workflow_execution: execution,
                    reason: "the parent closed".into(),
                    ..Default::default()
                });
            } else if policy != workflow_client::proto::enums::ParentClosePolicy::Abandon as i32 {
                let _ = self.terminate(ws::TerminateWorkflowExecutionRequest {
                    workflow_execution: execution,
                    reason: "the parent closed".into(),
                    ..Default::default()
                });
            }
        }
    }

    /// The last run of the chain `run_id` starts (it may have continued as new).
    fn latest_run_of(&self, run_id: &str) -> String {
        let mut run = run_id.to_string();
        while let Some(next) = self.executions.get(&run).and_then(|e| e.continued_by.clone()) {
            run = next;
        }
        run
    }

    /// Hands out the next workflow task (or query) of `queue`, if any.
    pub(crate) fn poll_workflow(&mut self, queue: &str) -> Option<ws::PollWorkflowTaskQueueResponse> {
        if let Some(id) = self.query_queues.get_mut(queue).and_then(VecDeque::pop_front) {
            let pending = self.queries.get(&id)?;
            let execution = &self.executions[&pending.run_id];
            self.in_flight += 1;
            return Some(ws::PollWorkflowTaskQueueResponse {
                task_token: Token::Query { id }.encode(),
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: execution.workflow_id.clone(),
                    run_id: execution.run_id.clone(),
                }),
                workflow_type: Some(WorkflowType {
                    name: execution.workflow_type.clone(),
                }),
                history: Some(h::History {
                    events: execution.history.clone(),
                }),
                query: Some(pending.query.clone()),
                ..Default::default()
            });
        }
        let run_id = self.workflow_queues.get_mut(queue)?.pop_front()?;
        self.start_workflow_task(run_id, queue)
    }

    /// Starts the run's scheduled workflow task at once, taking it off its queue: the next
    /// task a worker's answer asks to get back (`return_new_workflow_task`).
    pub(crate) fn start_next_task_of(&mut self, run_id: &str) -> Option<ws::PollWorkflowTaskQueueResponse> {
        if self.executions.get(run_id)?.task != TaskState::Scheduled {
            return None;
        }
        let (queue, waiting) = self
            .workflow_queues
            .iter_mut()
            .find(|(_, waiting)| waiting.iter().any(|r| r == run_id))?;
        waiting.retain(|r| r != run_id);
        let queue = queue.clone();
        self.start_workflow_task(run_id.to_string(), &queue)
    }

    /// Starts the run's scheduled workflow task, taken off `queue`: its started event, and the
    /// task as a poll answers it (only the new events when `queue` is the run's sticky queue).
    fn start_workflow_task(&mut self, run_id: String, queue: &str) -> Option<ws::PollWorkflowTaskQueueResponse> {
        let execution = self.executions.get(&run_id)?;
        if execution.task != TaskState::Scheduled {
            return None;
        }
        let scheduled_event_id = execution.history.len() as i64;
        let started_event_id = self.append(
            &run_id,
            Ev::WorkflowTaskStartedEventAttributes(h::WorkflowTaskStartedEventAttributes {
                scheduled_event_id,
                ..Default::default()
            }),
        );
        let execution = self.executions.get_mut(&run_id).expect("execution exists");
        execution.task = TaskState::Started;
        execution.task_started_at = Some(std::time::Instant::now());
        let sticky = execution.sticky_queue.as_deref() == Some(queue);
        let previous = execution.last_completed_started_id;
        let events: Vec<HistoryEvent> = if sticky {
            execution.history[previous as usize..].to_vec()
        } else {
            execution.history.clone()
        };
        let mut messages = Vec::new();
        for ((run, update_id), update) in self.updates.iter_mut() {
            if run == &run_id && update.stage == UpdateStage::Admitted && !update.delivered {
                update.delivered = true;
                messages.push(Message {
                    id: format!("{update_id}/request"),
                    protocol_instance_id: update_id.clone(),
                    sequencing_id: Some(SequencingId::EventId(started_event_id - 1)),
                    body: Some(workflow_client::proto::Any {
                        type_url: pu::Request::type_url(),
                        value: update.request.encode_to_vec(),
                    }),
                });
            }
        }
        let queries = self.queries_for_task(&run_id);
        let execution = &self.executions[&run_id];
        self.in_flight += 1;
        Some(ws::PollWorkflowTaskQueueResponse {
            queries,
            messages,
            task_token: Token::Workflow {
                run_id: run_id.clone(),
                started_event_id,
            }
            .encode(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: execution.workflow_id.clone(),
                run_id,
            }),
            workflow_type: Some(WorkflowType {
                name: execution.workflow_type.clone(),
            }),
            previous_started_event_id: previous,
            started_event_id,
            attempt: execution.task_attempt,
            history: Some(h::History { events }),
            workflow_execution_task_queue: Some(TaskQueue {
                name: execution.task_queue.clone(),
                ..Default::default()
            }),
            scheduled_time: Some(to_timestamp(self.now)),
            started_time: Some(to_timestamp(self.now)),
            ..Default::default()
        })
    }

    /// A worker stopped: its sticky queue goes away, and the tasks waiting there move to their
    /// runs' normal queues (as the server does on `ShutdownWorker`).
    pub(crate) fn drop_sticky_queue(&mut self, sticky: &str) {
        let waiting = self.workflow_queues.remove(sticky).unwrap_or_default();
        for execution in self.executions.values_mut() {
            if execution.sticky_queue.as_deref() == Some(sticky) {
                execution.sticky_queue = None;
            }
        }
        for run_id in waiting {
            let queue = self.executions[&run_id].task_queue.clone();
            self.workflow_queues.entry(queue).or_default().push_back(run_id);
        }
    }

    /// A worker no longer holds the run (`ResetStickyTaskQueue`): its next task goes to the
    /// normal queue. A task already waiting on the sticky queue stays there, for its worker.
    pub(crate) fn reset_sticky_queue(&mut self, run_id: &str) {
        if let Some(execution) = self.executions.get_mut(run_id) {
            execution.sticky_queue = None;
        }
    }

    /// Records a workflow task's answer: its commands become events.
    pub(crate) fn complete_workflow_task(
        &mut self,
        run_id: &str,
        started_event_id: i64,
        mut request: ws::RespondWorkflowTaskCompletedRequest,
    ) -> Result<(), Refusal> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let execution = self
            .executions
            .get_mut(run_id)
            .ok_or_else(|| Refusal::NotFound("workflow task of an unknown run".into()))?;
        if !execution.is_open() || execution.current_task_started() != Some(started_event_id) {
            return Err(Refusal::NotFound("the workflow task is no longer current".into()));
        }
        execution.task = TaskState::Idle;
        execution.task_attempt = 1;
        execution.task_started_at = None;
        execution.last_completed_started_id = started_event_id;
        execution.sticky_queue = request
            .sticky_attributes
            .as_ref()
            .and_then(|s| s.worker_task_queue.as_ref())
            .map(|q| q.name.clone())
            .filter(|name| !name.is_empty());
        let force_new_task = request.force_create_new_workflow_task;
        self.answer_task_queries(std::mem::take(&mut request.query_results));
        if self.closes_over_buffered_events(run_id, &request.commands) {
            self.fail_task_for_unhandled_events(run_id, started_event_id, request.identity);
            return Ok(());
        }
        let completed_id = self.append(
            run_id,
            Ev::WorkflowTaskCompletedEventAttributes(h::WorkflowTaskCompletedEventAttributes {
                scheduled_event_id: started_event_id - 1,
                started_event_id,
                identity: request.identity.clone(),
                ..Default::default()
            }),
        );
        let mut after = Vec::new();
        let mut messages: HashMap<String, Message> = request.messages.into_iter().map(|m| (m.id.clone(), m)).collect();
        for command in request.commands {
            if !self.executions[run_id].is_open() {
                break;
            }
            if let Some(Cmd::ProtocolMessageCommandAttributes(a)) = &command.attributes {
                if let Some(message) = messages.remove(&a.message_id) {
                    self.apply_update_message(run_id, message);
                }
                continue;
            }
            self.apply_command(run_id, completed_id, command, &mut after)?;
        }
        // Messages no command placed in history: rejections.
        for message in messages.into_values() {
            self.apply_update_message(run_id, message);
        }
        for effect in after {
            self.apply_after_task(run_id, effect);
        }
        self.flush_buffered(run_id);
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        if std::mem::take(&mut execution.task_again) || force_new_task {
            self.schedule_task(run_id);
        }
        self.release_waiting_queries(run_id);
        Ok(())
    }

    /// The workflow task failed: in the test environment the run fails with the task's
    /// failure, so a test sees a panic or a nondeterminism error at once instead of retries.
    pub(crate) fn fail_workflow_task(&mut self, run_id: &str, failure: Option<ProtoFailure>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(execution) = self.executions.get_mut(run_id) else {
            return;
        };
        if !execution.is_open() {
            return;
        }
        execution.task = TaskState::Idle;
        self.close(
            run_id,
            WorkflowExecutionStatus::Failed,
            Ev::WorkflowExecutionFailedEventAttributes(h::WorkflowExecutionFailedEventAttributes {
                failure,
                retry_state: RetryState::NonRetryableFailure as i32,
                ..Default::default()
            }),
        );
        self.flush_buffered(run_id);
    }

    /// Queues a query for the worker; the answer arrives on the returned channel.
    pub(crate) fn query(
        &mut self,
        execution: Option<&WorkflowExecution>,
        query: WorkflowQuery,
    ) -> Result<oneshot::Receiver<Result<Payloads, String>>, Refusal> {
        let run_id = self.resolve(execution)?;
        let queue = self.executions[&run_id].task_queue.clone();
        let (tx, rx) = oneshot::channel();
        let id = self.next_query;
        self.next_query += 1;
        self.queries.insert(
            id,
            PendingQuery {
                run_id,
                query,
                answer: Some(tx),
            },
        );
        self.route_query(id, queue);
        Ok(rx)
    }

    pub(crate) fn answer_query(&mut self, id: u64, answer: Result<Payloads, String>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(mut pending) = self.queries.remove(&id)
            && let Some(tx) = pending.answer.take()
        {
            let _ = tx.send(answer);
        }
    }

    /// Whether nothing can happen until time moves: no task (nor Nexus request) in a worker's
    /// hands, and none queued where a worker would take it (an activity task or Nexus request
    /// on a queue no worker polls waits for time, as its timeout does).
    pub(crate) fn is_idle(&self) -> bool {
        let now = std::time::Instant::now();
        self.in_flight == 0
            && self.workflow_queues.values().all(VecDeque::is_empty)
            && self
                .activity_queues
                .iter()
                .all(|(queue, tasks)| tasks.is_empty() || !self.activity_queue_served(queue, now))
            && self.query_queues.values().all(VecDeque::is_empty)
            && self.nexus_queues_idle(now)
    }

    /// When the next timer or retry is due.
    pub(crate) fn next_due(&self) -> Option<SystemTime> {
        self.due.keys().next().map(|(t, _)| *t)
    }

    /// Moves the clock to `to` (never back), firing what is due on the way.
    pub(crate) fn advance_to(&mut self, to: SystemTime) {
        while let Some((&(when, n), _)) = self.due.iter().next() {
            if when > to {
                break;
            }
            let due = self.due.remove(&(when, n)).expect("present");
            self.now = self.now.max(when);
            match due {
                Due::Timer { run_id, timer_id } => {
                    let Some(started) = self
                        .executions
                        .get_mut(&run_id)
                        .and_then(|e| e.timers.remove(&timer_id))
                    else {
                        continue;
                    };
                    self.append(
                        &run_id,
                        Ev::TimerFiredEventAttributes(h::TimerFiredEventAttributes {
                            timer_id,
                            started_event_id: started,
                        }),
                    );
                    self.schedule_task(&run_id);
                }
                Due::FirstTask { run_id } => {
                    if self.executions.get(&run_id).is_some_and(Execution::is_open) {
                        self.schedule_task(&run_id);
                    }
                }
                Due::WorkflowTimeout { run_id } => {
                    if self.executions.get(&run_id).is_some_and(Execution::is_open) {
                        self.time_out_run(&run_id);
                    }
                }
                Due::ActivityRetry {
                    run_id,
                    scheduled_event_id,
                } => self.queue_activity(&run_id, scheduled_event_id),
                Due::ActivityScheduleToStart {
                    run_id,
                    scheduled_event_id,
                    attempt,
                } => self.schedule_to_start_passed(&run_id, scheduled_event_id, attempt),
                Due::NexusRetry {
                    run_id,
                    scheduled_event_id,
                } => self.retry_nexus(&run_id, scheduled_event_id),
                Due::NexusTimeout {
                    run_id,
                    scheduled_event_id,
                } => self.nexus_timed_out(&run_id, scheduled_event_id),
            }
        }
        self.now = self.now.max(to);
    }
}

/// `request` with its timeouts as the server records them: a run timeout no longer than the
/// execution timeout (and equal to it when not given), and a workflow task timeout of 10 s when
/// not given, at most the run timeout and at most 120 s.
pub(super) fn with_server_timeouts(
    mut request: ws::StartWorkflowExecutionRequest,
) -> ws::StartWorkflowExecutionRequest {
    let given =
        |d: &Option<workflow_client::proto::Duration>| d.as_ref().map(from_proto_duration).filter(|d| !d.is_zero());
    let execution = given(&request.workflow_execution_timeout);
    let run = match (given(&request.workflow_run_timeout), execution) {
        (Some(run), Some(execution)) => Some(run.min(execution)),
        (run, execution) => run.or(execution),
    };
    let task = given(&request.workflow_task_timeout)
        .unwrap_or(Duration::from_secs(10))
        .min(run.unwrap_or(Duration::MAX))
        .min(Duration::from_secs(120));
    request.workflow_run_timeout = run.map(to_proto_duration);
    request.workflow_task_timeout = Some(to_proto_duration(task));
    request
}

/// The source the server writes into the failures it makes itself (activity timeouts); the
/// failures of Nexus operations it ends name none.
pub(super) const SERVER_SOURCE: &str = "Server";

/// `failure` as the server makes it, naming `source` (see [`SERVER_SOURCE`]) instead of this
/// SDK.
pub(super) fn server_failure(failure: Failure, source: &str) -> ProtoFailure {
    let mut failure = ProtoFailure::from(failure);
    failure.source = source.to_string();
    failure
}
