//! One workflow run: history events in, commands out, on a single-threaded executor.
//!
//! History is read in activations: the events that arrived before a workflow task started are
//! applied (activity results, timers, signals, cancel requests), then workflow code runs until
//! it waits, and the commands it issued are either sent (the current task) or matched against
//! the command events that history recorded after that task (replay).

use super::commands::WorkflowCommand;
use super::driver::WorkflowDriver;
use super::matcher::{describe_event, is_command_event};
use super::run_state::RunState;
use super::updates::{RunningUpdate, UpdateDelivery, poll_running_signals, poll_running_updates};
use crate::client::payload::{self};
use crate::client::proto::common::{Payload, Payloads};
use crate::client::proto::enums::QueryResultType;
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::client::proto::protocol::Message;
use crate::client::proto::query::{WorkflowQuery, WorkflowQueryResult};
use crate::client::proto::sdk;
use crate::client::time::from_timestamp;
use crate::interceptor::{InboundKind, WorkerInterceptors};
use crate::workflow::context::WorkflowInfo;
use crate::workflow::error::{TaskError, WorkflowError};
use crate::workflow::local_activity::LocalActivityResult;
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// The name of the built-in query that describes what the workflow waits on.
pub const STACK_TRACE_QUERY: &str = "__stack_trace";

/// The name of the built-in query the web UI's stack trace view asks: what the workflow waits
/// on, in the structured shape of the TypeScript and Python SDKs (one stack per wait).
pub const ENHANCED_STACK_TRACE_QUERY: &str = "__enhanced_stack_trace";

/// The name of the built-in query that lists a workflow's handlers and current details (the
/// web UI and `temporal workflow metadata` ask it).
pub const METADATA_QUERY: &str = "__temporal_workflow_metadata";

/// Most polls of the workflow future in one activation before it counts as never yielding.
const MAX_POLLS_PER_ACTIVATION: usize = 10_000;

/// Records wakes; a wake from another thread than the run's, or outside an activation, is a
/// foreign wake (a tokio timer or channel inside workflow code).
pub(super) struct RunWaker {
    woken: AtomicBool,
    foreign: AtomicBool,
    owner: std::thread::ThreadId,
}

thread_local! {
    static IN_ACTIVATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Wake for RunWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if std::thread::current().id() != self.owner || !IN_ACTIVATION.with(|a| a.get()) {
            self.foreign.store(true, Ordering::SeqCst);
        }
    }
}

/// The outcome of processing a history batch.
#[derive(Debug, Default)]
pub(crate) struct Activation {
    /// Commands to send for the current task.
    pub(crate) commands: Vec<WorkflowCommand>,
    /// Protocol messages to send with them (update acceptances, completions, rejections).
    pub(crate) messages: Vec<Message>,
    /// Local activities the worker is to run (their results come back by `resolve_local`).
    pub(crate) local_activities: Vec<crate::workflow::local_activity::LocalActivityRequest>,
    /// The SDK name, version and flags to record with the answer, when there is news.
    pub(crate) sdk_metadata: Option<crate::client::proto::sdk::WorkflowTaskCompletedMetadata>,
}

/// One run of a workflow, kept between tasks (sticky cache) or rebuilt by replay.
pub(crate) struct Run {
    /// The run's state, shared with its workflow context.
    pub(super) state: Rc<RefCell<RunState>>,
    pub(super) driver: Box<dyn WorkflowDriver>,
    pub(super) root: Option<LocalBoxFuture<'static, Result<Payload, WorkflowError>>>,
    pub(super) waker: Arc<RunWaker>,
    /// The id of the last event applied.
    pub(crate) last_event_id: i64,
    /// Events seen since the last activation, applied at the next one.
    pub(super) pending: Vec<HistoryEvent>,
    /// Whether the run issued its final command.
    pub(crate) finished: bool,
    /// Updates accepted so far (a redelivered request is not run twice).
    pub(super) accepted_updates: std::collections::BTreeSet<String>,
    /// Async update handlers accepted and still running, in acceptance order.
    pub(super) running_updates: Vec<RunningUpdate>,
    /// Async signal handlers still running, in delivery order.
    pub(super) running_signals: Vec<(String, crate::definition::RunningSignal)>,
    /// Rejections to send with the current task (they leave no trace in history).
    pub(super) rejections: Vec<Message>,
    /// Commands matched since the last `WorkflowTaskCompleted`, described (for divergence).
    pub(super) matched_in_task: Vec<String>,
    /// Where replay and code parted, as a side-by-side table, once it happened.
    pub(super) divergence: Option<String>,
    /// Whether the last event matched was a deprecated patch marker the code no longer issues.
    pub(super) skipped_deprecated_patch: bool,
    /// What the worker sets for its runs.
    pub(super) settings: RunSettings,
    /// Updates admitted by events of the task being applied, to deliver with its messages.
    pub(super) admitted_updates: Vec<UpdateDelivery>,
}

/// What a worker sets for each of its runs.
#[derive(Clone, Default)]
pub(crate) struct RunSettings {
    /// The worker's interceptors, which give each run its own when it starts.
    pub(crate) interceptors: WorkerInterceptors,
    /// Whether workflow code logs while it replays history (by default only live code does, so
    /// each line is written once).
    pub(crate) log_during_replay: bool,
}

impl Run {
    pub(crate) fn new(driver: Box<dyn WorkflowDriver>, info: WorkflowInfo) -> Self {
        Run {
            state: Rc::new(RefCell::new(RunState::new(info))),
            driver,
            root: None,
            waker: Arc::new(RunWaker {
                woken: AtomicBool::new(false),
                foreign: AtomicBool::new(false),
                owner: std::thread::current().id(),
            }),
            last_event_id: 0,
            pending: Vec::new(),
            finished: false,
            accepted_updates: Default::default(),
            running_updates: Vec::new(),
            running_signals: Vec::new(),
            rejections: Vec::new(),
            matched_in_task: Vec::new(),
            divergence: None,
            skipped_deprecated_patch: false,
            settings: RunSettings::default(),
            admitted_updates: Vec::new(),
        }
    }

    /// The run with what its worker sets.
    pub(crate) fn with_settings(mut self, settings: RunSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs `f`, which may run workflow code, with its logs silenced while the run replays
    /// (unless the worker keeps them): each line is written once, when the code runs live.
    fn quiet_on_replay<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        if self.settings.log_during_replay || !self.state.borrow().replaying {
            return f(self);
        }
        tracing::dispatcher::with_default(&tracing::Dispatch::none(), || f(self))
    }

    pub(crate) fn info(&self) -> WorkflowInfo {
        self.state.borrow().info.clone()
    }

    pub(crate) fn workflow_id(&self) -> String {
        self.state.borrow().info.workflow_id.clone()
    }

    /// The run's workflow task timeout, from its start event.
    pub(crate) fn task_timeout(&self) -> std::time::Duration {
        self.state.borrow().info.task_timeout
    }

    pub(super) fn nondeterminism(&self, event_id: i64, recorded: String, produced: String) -> TaskError {
        let info = self.info();
        TaskError::Nondeterminism {
            workflow_type: info.workflow_type,
            workflow_id: info.workflow_id,
            event_id,
            recorded,
            produced,
        }
    }

    /// Applies `events` (continuing at `last_event_id + 1`). `current_started_id` is the
    /// `WorkflowTaskStarted` event of the task being answered (0 to replay only). Returns the
    /// commands issued for that task.
    /// `messages` are the protocol messages (update requests) of the current task.
    pub(crate) fn apply(
        &mut self,
        events: &[HistoryEvent],
        current_started_id: i64,
        messages: &[Message],
    ) -> Result<Activation, TaskError> {
        let mut activation = Activation::default();
        for (i, event) in events.iter().enumerate() {
            if event.event_id <= self.last_event_id {
                continue; // already applied (a page boundary or a repeated task)
            }
            if event.event_id != self.last_event_id + 1 {
                let info = self.info();
                return Err(TaskError::BadHistory {
                    workflow_id: info.workflow_id,
                    detail: format!(
                        "expected event {}, got event {}",
                        self.last_event_id + 1,
                        event.event_id
                    ),
                });
            }
            self.last_event_id = event.event_id;
            match &event.attributes {
                Some(EvAttr::WorkflowTaskStartedEventAttributes(_)) => {
                    let next = events.get(i + 1);
                    let abandoned = matches!(
                        next.and_then(|n| n.attributes.as_ref()),
                        Some(
                            EvAttr::WorkflowTaskFailedEventAttributes(_)
                                | EvAttr::WorkflowTaskTimedOutEventAttributes(_)
                        )
                    );
                    if abandoned {
                        continue; // that task's work was thrown away; its events go to the next
                    }
                    let is_current =
                        event.event_id == current_started_id || (current_started_id == 0 && next.is_none());
                    {
                        let mut run = self.state.borrow_mut();
                        if let Some(t) = &event.event_time {
                            run.now = from_timestamp(t);
                        }
                        run.info.history_length = event.event_id as u32;
                        if let Some(EvAttr::WorkflowTaskStartedEventAttributes(a)) = &event.attributes {
                            run.info.continue_as_new_suggested = a.suggest_continue_as_new;
                        }
                        run.replaying = !is_current;
                    }
                    if is_current {
                        // Live: the checks and command order of these flags hold for this task.
                        let mut run = self.state.borrow_mut();
                        run.flags
                            .try_use(crate::workflow::sdk_flags::CoreFlag::IdAndTypeChecks, false);
                        run.flags
                            .try_use(crate::workflow::sdk_flags::CoreFlag::TerminalCommandsLast, false);
                    } else if let Some(Some(EvAttr::WorkflowTaskCompletedEventAttributes(done))) =
                        events.get(i + 1).map(|e| &e.attributes)
                    {
                        // Replay: the flags this task ran with are recorded when it completed.
                        self.state
                            .borrow_mut()
                            .flags
                            .add_from_history(done.sdk_metadata.as_ref());
                    }
                    if !is_current {
                        // Replay: the side effects this task ran are recorded after it.
                        let recorded = events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(super::matcher::side_effect_value);
                        let patches = events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(super::matcher::patch_marker)
                            .map(|(id, _)| id);
                        let mut run = self.state.borrow_mut();
                        run.recorded_side_effects.clear();
                        run.recorded_side_effects.extend(recorded);
                        run.recorded_patches.clear();
                        run.recorded_patches.extend(patches);
                    }
                    let updates = if is_current {
                        messages.iter().filter_map(UpdateDelivery::from_message).collect()
                    } else {
                        // Replay: the updates this task accepted are recorded after it.
                        events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(UpdateDelivery::from_accepted_event)
                            .collect()
                    };
                    if is_current {
                        // Local activities met on replay without a recorded result run now.
                        self.state.borrow_mut().request_unresolved_locals();
                    }
                    self.activate(updates)?;
                    if is_current {
                        activation = self.current_activation();
                    } else {
                        // Replay: local activities that finished during this task are recorded
                        // after it; each is resolved and the code run on, as it happened live.
                        let finished: Vec<_> = events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(super::matcher::local_activity_marker)
                            .collect();
                        for result in finished {
                            self.resume_with_local(result)?;
                        }
                    }
                }
                Some(EvAttr::WorkflowTaskCompletedEventAttributes(done)) => {
                    self.matched_in_task.clear();
                    self.state
                        .borrow_mut()
                        .flags
                        .add_from_history(done.sdk_metadata.as_ref());
                }
                Some(
                    EvAttr::WorkflowTaskScheduledEventAttributes(_)
                    | EvAttr::WorkflowTaskFailedEventAttributes(_)
                    | EvAttr::WorkflowTaskTimedOutEventAttributes(_)
                    | EvAttr::ActivityTaskStartedEventAttributes(_),
                ) => {}
                _ if is_command_event(event) => {
                    if let Err(e) = self.match_command(event) {
                        self.divergence = Some(self.side_by_side(&events[i..]));
                        return Err(e);
                    }
                }
                _ => self.pending.push(event.clone()),
            }
        }
        Ok(activation)
    }

    /// What the current task answers so far: every command not yet matched by history (all
    /// issued during this task), the update messages, and local activities to run.
    pub(super) fn current_activation(&mut self) -> Activation {
        let mut run = self.state.borrow_mut();
        let commands: Vec<WorkflowCommand> = run.commands.iter().cloned().collect();
        let mut messages = std::mem::take(&mut self.rejections);
        messages.extend(commands.iter().filter_map(|c| match c {
            WorkflowCommand::Protocol { message, .. } => Some((**message).clone()),
            _ => None,
        }));
        Activation {
            commands,
            messages,
            local_activities: std::mem::take(&mut run.local_requests),
            sdk_metadata: run.flags.for_answer(),
        }
    }

    /// Feeds one local activity result to the run and runs the code on.
    pub(super) fn resume_with_local(&mut self, result: LocalActivityResult) -> Result<(), TaskError> {
        IN_ACTIVATION.with(|a| a.set(true));
        self.state.borrow_mut().resolve_local(result);
        let polled = self.quiet_on_replay(Run::poll_root);
        IN_ACTIVATION.with(|a| a.set(false));
        polled
    }

    /// A local activity of the current task finished: records it, runs the code on, and
    /// answers the task's commands so far (the whole task's, not only the new ones).
    pub(crate) fn resolve_local(&mut self, result: LocalActivityResult) -> Result<Activation, TaskError> {
        self.resume_with_local(result)?;
        Ok(self.current_activation())
    }

    /// Gives back the spare room of the buffers a task filled, before the run waits in the
    /// cache for its next task (an idle run keeps only what it holds).
    pub(crate) fn trim(&mut self) {
        let mut state = self.state.borrow_mut();
        state.commands.shrink_to_fit();
        state.condition_wakers.shrink_to_fit();
        state.scope_wakers.shrink_to_fit();
        drop(state);
        self.pending.shrink_to_fit();
        self.matched_in_task.shrink_to_fit();
    }

    /// Local activities asked of the worker and not finished.
    pub(crate) fn has_pending_locals(&self) -> bool {
        self.state
            .borrow()
            .locals
            .in_order()
            .any(|(_, s)| s.outcome.is_none() && s.state == crate::workflow::local_activity::LocalState::Requested)
    }

    /// Applies pending events and delivers updates, then runs workflow code until it waits.
    pub(super) fn activate(&mut self, updates: Vec<UpdateDelivery>) -> Result<(), TaskError> {
        self.quiet_on_replay(|run| run.activate_loud(updates))
    }

    fn activate_loud(&mut self, updates: Vec<UpdateDelivery>) -> Result<(), TaskError> {
        // Wakes from here on come from history (this engine), not from outside.
        IN_ACTIVATION.with(|a| a.set(true));
        let pending = std::mem::take(&mut self.pending);
        let mut result = Ok(());
        for event in pending {
            result = self.apply_event(event);
            if result.is_err() {
                break;
            }
        }
        let admitted = std::mem::take(&mut self.admitted_updates);
        for update in admitted.into_iter().chain(updates) {
            if result.is_ok() {
                result = self.deliver_update(update);
            }
        }
        if result.is_ok() {
            result = self.poll_root();
        }
        IN_ACTIVATION.with(|a| a.set(false));
        result
    }

    /// Polls the workflow future until it waits on something only history can resolve.
    pub(super) fn poll_root(&mut self) -> Result<(), TaskError> {
        if self.finished {
            return Ok(());
        }
        let info = self.info();
        let Some(root) = self.root.as_mut() else { return Ok(()) };
        let waker = Waker::from(self.waker.clone());
        let mut cx = Context::from_waker(&waker);
        let mut polls = 0;
        let outcome = loop {
            self.waker.woken.store(false, Ordering::SeqCst);
            polls += 1;
            super::watchdog::poll_started(&info.workflow_type, &info.workflow_id, &info.run_id);
            let polled = std::panic::catch_unwind(AssertUnwindSafe(|| root.as_mut().poll(&mut cx)));
            // Async update and signal handlers run beside `run`, polled after it in the order
            // they were accepted or delivered.
            let updates = poll_running_updates(&mut self.running_updates, &self.state, &mut cx);
            let signals = poll_running_signals(&mut self.running_signals, &self.state, &mut cx);
            super::watchdog::poll_finished();
            match (polled, updates, signals) {
                (Err(panic), _, _) | (_, Err(panic), _) | (_, _, Err(panic)) => {
                    break Err(crate::messages::panic_message(&*panic));
                }
                (Ok(Poll::Ready(result)), _, _) => break Ok(Some(result)),
                // A failing async signal handler fails the run, as `run` failing would.
                (_, _, Ok(Some(error))) => break Ok(Some(Err(error))),
                (Ok(Poll::Pending), Ok(()), Ok(None)) if self.waker.woken.load(Ordering::SeqCst) => {
                    if polls >= MAX_POLLS_PER_ACTIVATION {
                        return Err(TaskError::Busy {
                            workflow_type: info.workflow_type,
                            workflow_id: info.workflow_id,
                            detail: format!("it woke itself {polls} times in one activation without waiting"),
                        });
                    }
                }
                (Ok(Poll::Pending), Ok(()), Ok(None)) => break Ok(None),
            }
        };
        if self.waker.foreign.swap(false, Ordering::SeqCst) {
            return Err(TaskError::ForeignWake {
                workflow_type: info.workflow_type,
                workflow_id: info.workflow_id,
            });
        }
        match outcome {
            Err(message) => Err(TaskError::Panic {
                workflow_type: info.workflow_type,
                workflow_id: info.workflow_id,
                message,
            }),
            Ok(None) => Ok(()),
            Ok(Some(result)) => {
                self.finished = true;
                self.root = None;
                for (signal, _) in self.running_signals.drain(..) {
                    tracing::warn!(
                        %signal,
                        "the workflow finished while this signal's async handler was still running; its work \
                         stops here (wait with `ctx.wait_condition` until handlers are done before returning)"
                    );
                }
                for unfinished in self.running_updates.drain(..) {
                    tracing::warn!(
                        update = %unfinished.name,
                        update_id = %unfinished.update_id,
                        "the workflow finished while this update's handler was still running; its caller gets \
                         an error (wait with `ctx.wait_condition` until handlers are done before returning)"
                    );
                }
                let command = match result {
                    Ok(payload) => WorkflowCommand::Complete {
                        result: Some(Payloads {
                            payloads: vec![payload],
                        }),
                    },
                    Err(WorkflowError {
                        continue_as_new: Some(next),
                        ..
                    }) => match next.attributes(&self.state.borrow()) {
                        Ok(attributes) => WorkflowCommand::ContinueAsNew {
                            attributes: Box::new(attributes),
                        },
                        Err(e) => WorkflowCommand::Fail { failure: *e.failure },
                    },
                    Err(e) if e.is_canceled() && self.state.borrow().cancel_requested => WorkflowCommand::Cancel {
                        details: e.failure.detail_payloads().to_vec(),
                    },
                    Err(e) => WorkflowCommand::Fail { failure: *e.failure },
                };
                self.state.borrow_mut().issue(command);
                Ok(())
            }
        }
    }

    /// The table of the task where replay diverged: what history recorded after the task,
    /// beside what the code issued. `rest` starts at the first divergent event.
    pub(super) fn side_by_side(&self, rest: &[HistoryEvent]) -> String {
        let mut recorded: Vec<(String, String)> = self
            .matched_in_task
            .iter()
            .map(|m| (String::new(), format!("(matched) {m}")))
            .collect();
        recorded.extend(
            rest.iter()
                .take_while(|e| is_command_event(e))
                .map(|e| (e.event_id.to_string(), describe_event(e))),
        );
        let mut issued: Vec<String> = self.matched_in_task.clone();
        issued.extend(self.state.borrow().commands.iter().map(|c| c.describe()));
        let first = self.matched_in_task.len();
        let width = recorded.iter().map(|(_, r)| r.len()).max().unwrap_or(0).max(20);
        let mut out = format!(
            "{:>6}  {:<width$} | {}\n",
            "event", "recorded in history", "issued by the code"
        );
        for row in 0..recorded.len().max(issued.len()) {
            let (id, left) = recorded.get(row).cloned().unwrap_or_default();
            let right = issued.get(row).cloned().unwrap_or_else(|| "(nothing)".to_string());
            let left = if left.is_empty() { "(nothing)".to_string() } else { left };
            let marker = if row == first { "   <- first difference" } else { "" };
            out.push_str(&format!("{id:>6}  {left:<width$} | {right}{marker}\n"));
        }
        out
    }

    /// Where replay and code diverged, as a side-by-side table (after a nondeterminism error).
    pub(crate) fn divergence(&self) -> Option<&str> {
        self.divergence.as_deref()
    }

    /// Commands issued and not (yet) matched by history.
    pub(crate) fn pending_commands(&self) -> Vec<WorkflowCommand> {
        self.state.borrow().commands.iter().cloned().collect()
    }

    /// Answers a query from the current state. Never issues commands.
    /// The answer to a query a task carries.
    pub(crate) fn answer_query(&self, query: &WorkflowQuery) -> Result<Payload, String> {
        self.state
            .borrow_mut()
            .intercept_inbound(InboundKind::Query, &query.query_type, None, query.header.as_ref());
        let args = query.query_args.as_ref().map(|p| p.payloads.as_slice()).unwrap_or(&[]);
        self.query(&query.query_type, args)
    }

    /// The answers to the queries a workflow task carries beside its events, by query id, as
    /// the task's completion sends them.
    pub(crate) fn answer_queries(
        &self,
        queries: &HashMap<String, WorkflowQuery>,
    ) -> HashMap<String, WorkflowQueryResult> {
        queries
            .iter()
            .map(|(id, q)| {
                let result = match self.answer_query(q) {
                    Ok(p) => WorkflowQueryResult {
                        result_type: QueryResultType::Answered as i32,
                        answer: Some(Payloads { payloads: vec![p] }),
                        ..Default::default()
                    },
                    Err(message) => WorkflowQueryResult {
                        result_type: QueryResultType::Failed as i32,
                        error_message: message,
                        ..Default::default()
                    },
                };
                (id.clone(), result)
            })
            .collect()
    }

    pub(crate) fn query(&self, name: &str, input: &[Payload]) -> Result<Payload, String> {
        if name == STACK_TRACE_QUERY {
            let text = self.state.borrow().describe_pending();
            return payload::to_payload(&text).map_err(|e| e.to_string());
        }
        if name == ENHANCED_STACK_TRACE_QUERY {
            // Workflow code has no source positions to show: each wait is a stack of one frame.
            let text = self.state.borrow().describe_pending();
            let stacks: Vec<serde_json::Value> = text
                .lines()
                .map(|wait| serde_json::json!({ "locations": [{ "functionName": wait, "internalCode": false }] }))
                .collect();
            let trace = serde_json::json!({
                "sdk": { "name": crate::workflow::sdk_flags::SDK_NAME, "version": crate::workflow::sdk_flags::SDK_VERSION },
                "sources": {},
                "stacks": stacks,
            });
            return payload::to_payload(&trace).map_err(|e| e.to_string());
        }
        if name == METADATA_QUERY {
            let mut definition = self.driver.definition();
            for (name, description) in [
                (STACK_TRACE_QUERY, "What the workflow is waiting on now."),
                (
                    ENHANCED_STACK_TRACE_QUERY,
                    "What the workflow is waiting on now, one stack per wait.",
                ),
                (METADATA_QUERY, "The workflow's type, handlers and current details."),
            ] {
                definition.query_definitions.push(sdk::WorkflowInteractionDefinition {
                    name: name.to_string(),
                    description: description.to_string(),
                });
            }
            let metadata = sdk::WorkflowMetadata {
                definition: Some(definition),
                current_details: self.state.borrow().current_details.clone(),
            };
            return payload::to_proto_json_payload(&metadata).map_err(|e| e.to_string());
        }
        self.driver.query(name, input)
    }
}
