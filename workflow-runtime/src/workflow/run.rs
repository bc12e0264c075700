//! One workflow run: history events in, commands out, on a single-threaded executor.
//!
//! History is read in activations: the events that arrived before a workflow task started are
//! applied (activity results, timers, signals, cancel requests), then workflow code runs until
//! it waits, and the commands it issued are either sent (the current task) or matched against
//! the command events that history recorded after that task (replay).

use super::child::{child_failure, external_failure, start_child_failure};
use super::commands::{WorkflowCommand, describe_event, is_command_event};
use super::context::{ActivityOutcome, RunState, WorkflowContext, WorkflowInfo, activity_failure};
use super::error::{TaskError, WorkflowError};
use super::local_activity::LocalActivityResult;
use crate::client::failure::Failure;
use crate::client::payload::{self, PayloadArgs, PayloadError};
use crate::client::proto::common::{Payload, Payloads};
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::client::proto::protocol::{self, Message};
use crate::client::proto::sdk;
use crate::client::proto::update as pu;
use crate::client::time::from_timestamp;
use crate::definition::{HandlerKind, Handlers, SignalBody, UpdateBody, Workflow};
use futures::future::LocalBoxFuture;
use prost::Message as _;
use std::cell::RefCell;
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

/// A workflow type, erased: creates runs.
pub(crate) trait WorkflowFactory: Send + Sync {
    fn create(&self) -> Box<dyn WorkflowDriver>;
}

/// The typed part of a run, behind a trait object.
pub(crate) trait WorkflowDriver {
    fn start(
        &mut self,
        run: Rc<RefCell<RunState>>,
        input: Vec<Payload>,
    ) -> LocalBoxFuture<'static, Result<Payload, WorkflowError>>;
    /// Runs a signal handler: a sync one at once, an async one is returned to run beside
    /// `run`; also answers how many trailing payloads it ignored.
    fn signal(&mut self, name: &str, input: &[Payload]) -> Result<SignalDelivered, SignalError>;
    fn query(&self, name: &str, input: &[Payload]) -> Result<Payload, String>;
    /// Runs an update: its validator first when `validate` (live delivery; never on replay).
    fn update(&mut self, name: &str, input: &[Payload], validate: bool) -> UpdateOutcome;
    /// The workflow's type and handlers, with their descriptions.
    fn definition(&self) -> sdk::WorkflowDefinition;
}

/// What became of an update request.
pub(crate) enum UpdateOutcome {
    /// Refused before acceptance: nothing is recorded.
    Rejected(Failure),
    /// Accepted and run: its result or failure.
    Completed(Result<Payload, Failure>),
    /// Accepted; an async handler now runs beside the workflow and answers when done.
    Started(LocalBoxFuture<'static, Result<Payload, Failure>>),
    /// The handler panicked: the workflow task fails and nothing is recorded.
    Panicked(String),
}

/// A signal handed to its handler.
pub(crate) struct SignalDelivered {
    /// Trailing payloads beyond the handler's parameters, ignored.
    pub(crate) extra: usize,
    /// An async handler's work, to run beside `run`.
    pub(crate) running: Option<crate::definition::RunningSignal>,
}

/// Why a signal was not handled.
pub(crate) enum SignalError {
    Unknown,
    Decode(PayloadError),
    /// The handler panicked: the workflow task fails and the signal is delivered again.
    Panicked(String),
}

pub(crate) struct TypedFactory<W>(std::marker::PhantomData<fn() -> W>);

impl<W: Workflow> TypedFactory<W> {
    pub(crate) fn new() -> Self {
        TypedFactory(std::marker::PhantomData)
    }
}

impl<W: Workflow> WorkflowFactory for TypedFactory<W> {
    fn create(&self) -> Box<dyn WorkflowDriver> {
        let mut handlers = Handlers::default();
        W::handlers(&mut handlers);
        Box::new(TypedDriver::<W> { ctx: None, handlers })
    }
}

struct TypedDriver<W> {
    /// The context `run` got (state and run), for async update handlers.
    ctx: Option<WorkflowContext<W>>,
    handlers: Handlers<W>,
}

impl<W: Workflow> WorkflowDriver for TypedDriver<W> {
    fn start(
        &mut self,
        run: Rc<RefCell<RunState>>,
        input: Vec<Payload>,
    ) -> LocalBoxFuture<'static, Result<Payload, WorkflowError>> {
        let input = match W::Input::from_payloads(&input) {
            Ok(input) => input,
            Err(e) => {
                let message = format!("the input of workflow `{}` does not decode: {e}", W::NAME);
                return Box::pin(async move { Err(WorkflowError::non_retryable(message, "PayloadError")) });
            }
        };
        let state = Rc::new(RefCell::new(W::init(&input)));
        let ctx = WorkflowContext { run, state };
        self.ctx = Some(ctx.clone());
        let fut = W::run(ctx, input);
        Box::pin(async move {
            let output = fut.await?;
            payload::to_payload(&output).map_err(WorkflowError::from)
        })
    }

    fn signal(&mut self, name: &str, input: &[Payload]) -> Result<SignalDelivered, SignalError> {
        let handler = self.handlers.signals.get(name).ok_or(SignalError::Unknown)?;
        let ctx = self.ctx.as_ref().ok_or(SignalError::Unknown)?;
        let panicked = |p| SignalError::Panicked(panic_message(p));
        match handler {
            SignalBody::Sync(handle) => {
                let extra = std::panic::catch_unwind(AssertUnwindSafe(|| handle(&mut ctx.state.borrow_mut(), input)))
                    .map_err(panicked)?
                    .map_err(SignalError::Decode)?;
                Ok(SignalDelivered { extra, running: None })
            }
            SignalBody::Async(start) => {
                let (running, extra) = std::panic::catch_unwind(AssertUnwindSafe(|| start(ctx.clone(), input)))
                    .map_err(panicked)?
                    .map_err(SignalError::Decode)?;
                Ok(SignalDelivered {
                    extra,
                    running: Some(running),
                })
            }
        }
    }

    fn update(&mut self, name: &str, input: &[Payload], validate: bool) -> UpdateOutcome {
        let Some(handler) = self.handlers.updates.get(name) else {
            let known: Vec<&str> = self.handlers.updates.keys().map(String::as_str).collect();
            return UpdateOutcome::Rejected(Failure::application(
                format!(
                    "workflow `{}` has no update `{name}`; known updates: {}",
                    W::NAME,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                "UnknownUpdate",
            ));
        };
        let Some(ctx) = self.ctx.as_ref() else {
            return UpdateOutcome::Rejected(Failure::application("the workflow has not started yet", "NotStarted"));
        };
        let state = &ctx.state;
        if validate {
            // Live delivery only: an input that does not decode is refused before acceptance.
            match (handler.decode)(input) {
                Err(f) => return UpdateOutcome::Rejected(f),
                Ok(0) => {}
                Ok(extra) => tracing::warn!(
                    workflow_id = %ctx.run.borrow().info.workflow_id,
                    update = %name,
                    extra,
                    "update arguments beyond the handler's parameters were ignored"
                ),
            }
            if let Some(v) = &handler.validate {
                // A validator that panics refuses the update, as a throwing validator does in the
                // other SDKs: nothing is recorded either way.
                let verdict =
                    std::panic::catch_unwind(AssertUnwindSafe(|| v(&state.borrow(), input))).unwrap_or_else(|p| {
                        Err(Failure::application(
                            format!("update validator panicked: {}", panic_message(p)),
                            "Panic",
                        ))
                    });
                if let Err(f) = verdict {
                    return UpdateOutcome::Rejected(f);
                }
            }
        }
        let panicked = |p| UpdateOutcome::Panicked(format!("update `{name}` panicked: {}", panic_message(p)));
        match &handler.handle {
            UpdateBody::Sync(handle) => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| handle(&mut state.borrow_mut(), input))) {
                    Ok(result) => UpdateOutcome::Completed(result),
                    Err(p) => panicked(p),
                }
            }
            UpdateBody::Async(start) => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| start(ctx.clone(), input))) {
                    Ok(Ok(running)) => UpdateOutcome::Started(running),
                    Ok(Err(failure)) => UpdateOutcome::Completed(Err(failure)),
                    Err(p) => panicked(p),
                }
            }
        }
    }

    fn definition(&self) -> sdk::WorkflowDefinition {
        let describe = |kind: HandlerKind, names: Vec<&String>| -> Vec<sdk::WorkflowInteractionDefinition> {
            names
                .into_iter()
                .map(|name| sdk::WorkflowInteractionDefinition {
                    name: name.clone(),
                    description: self
                        .handlers
                        .descriptions
                        .get(&(kind, name.clone()))
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect()
        };
        sdk::WorkflowDefinition {
            r#type: W::NAME.to_string(),
            query_definitions: describe(HandlerKind::Query, self.handlers.queries.keys().collect()),
            signal_definitions: describe(HandlerKind::Signal, self.handlers.signals.keys().collect()),
            update_definitions: describe(HandlerKind::Update, self.handlers.updates.keys().collect()),
        }
    }

    fn query(&self, name: &str, input: &[Payload]) -> Result<Payload, String> {
        let Some(handler) = self.handlers.queries.get(name) else {
            let mut known: Vec<&str> = self.handlers.queries.keys().map(String::as_str).collect();
            known.extend([STACK_TRACE_QUERY, ENHANCED_STACK_TRACE_QUERY, METADATA_QUERY]);
            return Err(format!(
                "workflow `{}` has no query `{name}`; known queries: {}",
                W::NAME,
                known.join(", ")
            ));
        };
        let state = &self.ctx.as_ref().ok_or("the workflow has not started yet")?.state;
        // A panicking handler fails this query only: the run and the worker go on.
        std::panic::catch_unwind(AssertUnwindSafe(|| handler(&state.borrow(), input)))
            .map_err(|p| format!("query `{name}` panicked: {}", panic_message(p)))?
            .map_err(|e| format!("query `{name}`: {e}"))
    }
}

/// Records wakes; a wake from another thread than the run's, or outside an activation, is a
/// foreign wake (a tokio timer or channel inside workflow code).
struct RunWaker {
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
    pub(crate) local_activities: Vec<super::local_activity::LocalActivityRequest>,
    /// The SDK name, version and flags to record with the answer, when there is news.
    pub(crate) sdk_metadata: Option<crate::client::proto::sdk::WorkflowTaskCompletedMetadata>,
}

/// One run of a workflow, kept between tasks (sticky cache) or rebuilt by replay.
pub(crate) struct Run {
    run: Rc<RefCell<RunState>>,
    driver: Box<dyn WorkflowDriver>,
    root: Option<LocalBoxFuture<'static, Result<Payload, WorkflowError>>>,
    waker: Arc<RunWaker>,
    /// The id of the last event applied.
    pub(crate) last_event_id: i64,
    /// Events seen since the last activation, applied at the next one.
    pending: Vec<HistoryEvent>,
    /// Whether the run issued its final command.
    pub(crate) finished: bool,
    /// Updates accepted so far (a redelivered request is not run twice).
    accepted_updates: std::collections::BTreeSet<String>,
    /// Async update handlers accepted and still running, in acceptance order.
    running_updates: Vec<RunningUpdate>,
    /// Async signal handlers still running, in delivery order.
    running_signals: Vec<(String, crate::definition::RunningSignal)>,
    /// Rejections to send with the current task (they leave no trace in history).
    rejections: Vec<Message>,
    /// Commands matched since the last `WorkflowTaskCompleted`, described (for divergence).
    matched_in_task: Vec<String>,
    /// Where replay and code parted, as a side-by-side table, once it happened.
    divergence: Option<String>,
    /// Whether the last event matched was a deprecated patch marker the code no longer issues.
    skipped_deprecated_patch: bool,
}

impl Run {
    pub(crate) fn new(driver: Box<dyn WorkflowDriver>, info: WorkflowInfo) -> Self {
        Run {
            run: Rc::new(RefCell::new(RunState::new(info))),
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
        }
    }

    pub(crate) fn info(&self) -> WorkflowInfo {
        self.run.borrow().info.clone()
    }

    fn nondeterminism(&self, event_id: i64, recorded: String, produced: String) -> TaskError {
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
                        let mut run = self.run.borrow_mut();
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
                        let mut run = self.run.borrow_mut();
                        run.flags.try_use(super::sdk_flags::CoreFlag::IdAndTypeChecks, false);
                        run.flags
                            .try_use(super::sdk_flags::CoreFlag::TerminalCommandsLast, false);
                    } else if let Some(Some(EvAttr::WorkflowTaskCompletedEventAttributes(done))) =
                        events.get(i + 1).map(|e| &e.attributes)
                    {
                        // Replay: the flags this task ran with are recorded when it completed.
                        self.run.borrow_mut().flags.add_from_history(done.sdk_metadata.as_ref());
                    }
                    if !is_current {
                        // Replay: the side effects this task ran are recorded after it.
                        let recorded = events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(super::commands::side_effect_value);
                        let patches = events[i + 1..]
                            .iter()
                            .take_while(|e| {
                                !matches!(e.attributes, Some(EvAttr::WorkflowTaskStartedEventAttributes(_)))
                            })
                            .filter_map(super::commands::patch_marker)
                            .map(|(id, _)| id);
                        let mut run = self.run.borrow_mut();
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
                        self.run.borrow_mut().request_unresolved_locals();
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
                            .filter_map(super::local_activity::local_activity_marker)
                            .collect();
                        for result in finished {
                            self.resume_with_local(result)?;
                        }
                    }
                }
                Some(EvAttr::WorkflowTaskCompletedEventAttributes(done)) => {
                    self.matched_in_task.clear();
                    self.run.borrow_mut().flags.add_from_history(done.sdk_metadata.as_ref());
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
    fn current_activation(&mut self) -> Activation {
        let mut run = self.run.borrow_mut();
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
    fn resume_with_local(&mut self, result: LocalActivityResult) -> Result<(), TaskError> {
        IN_ACTIVATION.with(|a| a.set(true));
        self.run.borrow_mut().resolve_local(result);
        let polled = self.poll_root();
        IN_ACTIVATION.with(|a| a.set(false));
        polled
    }

    /// A local activity of the current task finished: records it, runs the code on, and
    /// answers the task's commands so far (the whole task's, not only the new ones).
    pub(crate) fn resolve_local(&mut self, result: LocalActivityResult) -> Result<Activation, TaskError> {
        self.resume_with_local(result)?;
        Ok(self.current_activation())
    }

    /// Local activities asked of the worker and not finished.
    pub(crate) fn has_pending_locals(&self) -> bool {
        self.run
            .borrow()
            .locals
            .values()
            .any(|s| s.outcome.is_none() && s.state == super::local_activity::LocalState::Requested)
    }

    /// Pops the oldest unmatched command and checks it is the one `event` records.
    fn match_command(&mut self, event: &HistoryEvent) -> Result<(), TaskError> {
        // A deprecated patch the code no longer mentions is skipped, with the upsert of the
        // run's patch ids that followed it.
        let after_skipped_patch = std::mem::take(&mut self.skipped_deprecated_patch);
        let skippable = |event: &HistoryEvent| {
            if matches!(super::commands::patch_marker(event), Some((_, true))) {
                return Some(true);
            }
            (after_skipped_patch && super::commands::is_change_version_upsert(event)).then_some(false)
        };
        let front = self.run.borrow().commands.front().cloned();
        let Some(command) = front.clone().filter(|c| c.matches(event)) else {
            if let Some(patch) = skippable(event) {
                self.skipped_deprecated_patch = patch;
                return Ok(());
            }
            let produced = front.map_or_else(|| "nothing".to_string(), |c| c.describe());
            return Err(self.nondeterminism(event.event_id, describe_event(event), produced));
        };
        self.run.borrow_mut().commands.pop_front();
        self.matched_in_task.push(command.describe());
        let mut run = self.run.borrow_mut();
        match command {
            WorkflowCommand::ScheduleActivity { seq, .. } => {
                run.activity_by_event.insert(event.event_id, seq);
                if let Some(slot) = run.activities.get_mut(&seq) {
                    slot.scheduled_event_id = Some(event.event_id);
                }
            }
            WorkflowCommand::StartChild { seq, .. } => {
                run.child_by_event.insert(event.event_id, seq);
                if let Some(slot) = run.children.get_mut(&seq) {
                    slot.initiated_event_id = Some(event.event_id);
                }
            }
            WorkflowCommand::SignalExternal { seq, .. } | WorkflowCommand::CancelExternal { seq, .. } => {
                run.external_by_event.insert(event.event_id, seq);
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies pending events and delivers updates, then runs workflow code until it waits.
    fn activate(&mut self, updates: Vec<UpdateDelivery>) -> Result<(), TaskError> {
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
        for update in updates {
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

    fn apply_event(&mut self, event: HistoryEvent) -> Result<(), TaskError> {
        let Some(attributes) = event.attributes else {
            return Ok(());
        };
        match attributes {
            EvAttr::WorkflowExecutionStartedEventAttributes(a) => {
                self.run.borrow_mut().set_start_facts(&a, event.event_time.as_ref());
                let input = a.input.map(|p| p.payloads).unwrap_or_default();
                self.root = Some(self.driver.start(self.run.clone(), input));
            }
            EvAttr::WorkflowExecutionSignaledEventAttributes(a) => {
                let input = a.input.map(|p| p.payloads).unwrap_or_default();
                // Said once: live, not again on every replay.
                let live = !self.run.borrow().replaying;
                let run = self.run.clone();
                let workflow_id = move || run.borrow().info.workflow_id.clone();
                match self.driver.signal(&a.signal_name, &input) {
                    Ok(delivered) => {
                        if delivered.extra > 0 && live {
                            tracing::warn!(
                                workflow_id = %workflow_id(),
                                signal = %a.signal_name,
                                extra = delivered.extra,
                                "signal arguments beyond the handler's parameters were ignored"
                            );
                        }
                        if let Some(running) = delivered.running {
                            self.running_signals.push((a.signal_name.clone(), running));
                        }
                    }
                    Err(SignalError::Unknown) if live => {
                        tracing::warn!(workflow_id = %workflow_id(), signal = %a.signal_name, "signal has no handler; dropped")
                    }
                    Err(SignalError::Decode(e)) if live => tracing::warn!(
                        workflow_id = %workflow_id(),
                        signal = %a.signal_name,
                        error = %e,
                        "signal input does not decode; dropped"
                    ),
                    Err(SignalError::Unknown | SignalError::Decode(_)) => {}
                    Err(SignalError::Panicked(message)) => {
                        let info = self.info();
                        return Err(TaskError::Panic {
                            workflow_type: info.workflow_type,
                            workflow_id: info.workflow_id,
                            message: format!("signal `{}` panicked: {message}", a.signal_name),
                        });
                    }
                }
                self.run.borrow_mut().wake_conditions();
            }
            EvAttr::WorkflowExecutionCancelRequestedEventAttributes(_) => self.run.borrow_mut().request_cancel(),
            EvAttr::ActivityTaskCompletedEventAttributes(a) => {
                let result = a.result.and_then(|p| p.payloads.into_iter().next());
                self.resolve_activity(a.scheduled_event_id, |_, _| ActivityOutcome::Completed(result));
            }
            EvAttr::ActivityTaskFailedEventAttributes(a) => {
                self.fail_activity(a.scheduled_event_id, a.started_event_id, a.retry_state, a.failure)
            }
            EvAttr::ActivityTaskTimedOutEventAttributes(a) => {
                self.fail_activity(a.scheduled_event_id, a.started_event_id, a.retry_state, a.failure)
            }
            EvAttr::ActivityTaskCanceledEventAttributes(a) => {
                self.resolve_activity(a.scheduled_event_id, |_, _| {
                    ActivityOutcome::Failed(Failure::canceled("activity canceled"))
                });
            }
            EvAttr::ChildWorkflowExecutionStartedEventAttributes(a) => {
                let run_id = a.workflow_execution.map(|e| e.run_id).unwrap_or_default();
                self.run
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.started = Some(Ok(run_id)));
            }
            EvAttr::StartChildWorkflowExecutionFailedEventAttributes(a) => {
                let failure = start_child_failure(
                    a.workflow_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
                    &a.workflow_id,
                    a.cause,
                );
                self.run
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.started = Some(Err(failure)));
            }
            EvAttr::ChildWorkflowExecutionCompletedEventAttributes(a) => {
                let result = a.result.and_then(|p| p.payloads.into_iter().next());
                self.run
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.outcome = Some(Ok(result)));
            }
            EvAttr::ChildWorkflowExecutionFailedEventAttributes(a) => {
                let cause = Failure::from(a.failure.unwrap_or_default());
                self.close_child(a.initiated_event_id, a.started_event_id, a.retry_state, cause);
            }
            EvAttr::ChildWorkflowExecutionCanceledEventAttributes(a) => {
                let details = a.details.map(|p| p.payloads).unwrap_or_default();
                let cause = Failure::canceled("child workflow canceled").with_details(details);
                self.close_child(a.initiated_event_id, a.started_event_id, 0, cause);
            }
            EvAttr::ChildWorkflowExecutionTimedOutEventAttributes(a) => {
                let cause = Failure::timeout(
                    "child workflow timed out",
                    crate::client::proto::enums::TimeoutType::StartToClose,
                );
                self.close_child(a.initiated_event_id, a.started_event_id, a.retry_state, cause);
            }
            EvAttr::ChildWorkflowExecutionTerminatedEventAttributes(a) => {
                let cause = Failure::terminated("child workflow terminated");
                self.close_child(a.initiated_event_id, a.started_event_id, 0, cause);
            }
            EvAttr::ExternalWorkflowExecutionSignaledEventAttributes(a) => {
                self.run.borrow_mut().resolve_external(a.initiated_event_id, Ok(()))
            }
            EvAttr::SignalExternalWorkflowExecutionFailedEventAttributes(a) => {
                let failure = external_failure("the signal", a.cause);
                self.run
                    .borrow_mut()
                    .resolve_external(a.initiated_event_id, Err(failure))
            }
            EvAttr::ExternalWorkflowExecutionCancelRequestedEventAttributes(a) => {
                self.run.borrow_mut().resolve_external(a.initiated_event_id, Ok(()))
            }
            EvAttr::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a) => {
                let failure = external_failure("the cancel request", a.cause);
                self.run
                    .borrow_mut()
                    .resolve_external(a.initiated_event_id, Err(failure))
            }
            EvAttr::TimerFiredEventAttributes(a) => {
                let mut run = self.run.borrow_mut();
                if let Some(slot) = a.timer_id.parse().ok().and_then(|seq: u32| run.timers.get_mut(&seq)) {
                    slot.fired = true;
                    if let Some(w) = slot.waker.take() {
                        w.wake();
                    }
                }
                run.wake_conditions();
            }
            _ => {}
        }
        Ok(())
    }

    /// Resolves an activity as failed (or timed out): an activity failure whose cause is what
    /// the server recorded.
    fn fail_activity(
        &mut self,
        scheduled_event_id: i64,
        started_event_id: i64,
        retry_state: i32,
        cause: Option<crate::client::proto::failure::Failure>,
    ) {
        let cause = Failure::from(cause.unwrap_or_default());
        self.resolve_activity(scheduled_event_id, |ty, id| {
            ActivityOutcome::Failed(activity_failure(
                ty,
                id,
                scheduled_event_id,
                started_event_id,
                retry_state,
                cause,
            ))
        });
    }

    /// Resolves a child as closed without a result: a child-workflow failure around `cause`.
    fn close_child(&mut self, initiated_event_id: i64, started_event_id: i64, retry_state: i32, cause: Failure) {
        let mut run = self.run.borrow_mut();
        let failure = child_failure(&run, initiated_event_id, started_event_id, retry_state, cause);
        run.resolve_child(initiated_event_id, |slot| slot.outcome = Some(Err(failure)));
    }

    fn resolve_activity(&mut self, scheduled_event_id: i64, outcome: impl FnOnce(&str, &str) -> ActivityOutcome) {
        let mut run = self.run.borrow_mut();
        let Some(seq) = run.activity_by_event.get(&scheduled_event_id).copied() else {
            return;
        };
        if let Some(slot) = run.activities.get_mut(&seq)
            && slot.outcome.is_none()
        {
            let activity_type = slot.activity_type.clone();
            slot.outcome = Some(outcome(&activity_type, &seq.to_string()));
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        }
        run.wake_conditions();
    }

    /// Polls the workflow future until it waits on something only history can resolve.
    fn poll_root(&mut self) -> Result<(), TaskError> {
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
            let updates = poll_running_updates(&mut self.running_updates, &self.run, &mut cx);
            let signals = poll_running_signals(&mut self.running_signals, &self.run, &mut cx);
            super::watchdog::poll_finished();
            match (polled, updates, signals) {
                (Err(panic), _, _) | (_, Err(panic), _) | (_, _, Err(panic)) => break Err(panic_message(panic)),
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
                    }) => match next.attributes(&self.run.borrow()) {
                        Ok(attributes) => WorkflowCommand::ContinueAsNew {
                            attributes: Box::new(attributes),
                        },
                        Err(e) => WorkflowCommand::Fail { failure: *e.failure },
                    },
                    Err(e) if e.is_canceled() && self.run.borrow().cancel_requested => WorkflowCommand::Cancel {
                        details: e.failure.detail_payloads().to_vec(),
                    },
                    Err(e) => WorkflowCommand::Fail { failure: *e.failure },
                };
                self.run.borrow_mut().commands.push_back(command);
                Ok(())
            }
        }
    }

    /// Runs one update: validation (live only), acceptance, the handler, completion.
    fn deliver_update(&mut self, update: UpdateDelivery) -> Result<(), TaskError> {
        let meta = update.request.meta.clone().unwrap_or_default();
        let update_id = meta.update_id.clone();
        if self.finished || self.accepted_updates.contains(&update_id) {
            return Ok(());
        }
        let input = update.request.input.clone().unwrap_or_default();
        let args = input.args.map(|p| p.payloads).unwrap_or_default();
        let outcome = self.driver.update(&input.name, &args, update.live);
        let result = match outcome {
            UpdateOutcome::Rejected(failure) if update.live => {
                tracing::debug!(update = %input.name, %update_id, %failure, "update rejected");
                self.rejections.push(protocol_message(
                    &update_id,
                    "reject",
                    &pu::Rejection {
                        rejected_request_message_id: update.message_id,
                        rejected_request_sequencing_event_id: update.sequencing_event_id,
                        rejected_request: Some(update.request),
                        failure: Some(failure.into()),
                    },
                ));
                return Ok(());
            }
            UpdateOutcome::Rejected(failure) => {
                // History accepted it, the code refuses it now: the code changed.
                return Err(self.nondeterminism(
                    0,
                    format!("WorkflowExecutionUpdateAccepted(update {update_id}, `{}`)", input.name),
                    format!("a rejection: {failure}"),
                ));
            }
            UpdateOutcome::Completed(result) => Ok(result),
            UpdateOutcome::Started(running) => Err(running),
            UpdateOutcome::Panicked(message) => {
                let info = self.info();
                return Err(TaskError::Panic {
                    workflow_type: info.workflow_type,
                    workflow_id: info.workflow_id,
                    message,
                });
            }
        };
        self.accepted_updates.insert(update_id.clone());
        let acceptance = protocol_message(
            &update_id,
            "accept",
            &pu::Acceptance {
                accepted_request_message_id: update.message_id,
                accepted_request_sequencing_event_id: update.sequencing_event_id,
                accepted_request: Some(update.request),
            },
        );
        let mut run = self.run.borrow_mut();
        run.commands.push_back(WorkflowCommand::Protocol {
            update_id: update_id.clone(),
            completed: false,
            message: Box::new(acceptance),
        });
        match result {
            Ok(result) => run.commands.push_back(update_completion(update_id, meta, result)),
            Err(future) => self.running_updates.push(RunningUpdate {
                update_id,
                meta,
                name: input.name,
                future,
            }),
        }
        run.wake_conditions();
        Ok(())
    }

    /// The table of the task where replay diverged: what history recorded after the task,
    /// beside what the code issued. `rest` starts at the first divergent event.
    fn side_by_side(&self, rest: &[HistoryEvent]) -> String {
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
        issued.extend(self.run.borrow().commands.iter().map(|c| c.describe()));
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
        self.run.borrow().commands.iter().cloned().collect()
    }

    /// Answers a query from the current state. Never issues commands.
    pub(crate) fn query(&self, name: &str, input: &[Payload]) -> Result<Payload, String> {
        if name == STACK_TRACE_QUERY {
            let text = self.run.borrow().describe_pending();
            return payload::to_payload(&text).map_err(|e| e.to_string());
        }
        if name == ENHANCED_STACK_TRACE_QUERY {
            // Workflow code has no source positions to show: each wait is a stack of one frame.
            let text = self.run.borrow().describe_pending();
            let stacks: Vec<serde_json::Value> = text
                .lines()
                .map(|wait| serde_json::json!({ "locations": [{ "functionName": wait, "internalCode": false }] }))
                .collect();
            let trace = serde_json::json!({
                "sdk": { "name": super::sdk_flags::SDK_NAME, "version": super::sdk_flags::SDK_VERSION },
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
                current_details: self.run.borrow().current_details.clone(),
            };
            return payload::to_proto_json_payload(&metadata).map_err(|e| e.to_string());
        }
        self.driver.query(name, input)
    }
}

/// An async update handler accepted and still running.
struct RunningUpdate {
    update_id: String,
    meta: pu::Meta,
    name: String,
    future: LocalBoxFuture<'static, Result<Payload, Failure>>,
}

/// Polls each running update once; a finished one issues its completion. A panic stops the
/// activation like a panic in `run`.
fn poll_running_updates(
    running: &mut Vec<RunningUpdate>,
    run: &Rc<RefCell<RunState>>,
    cx: &mut Context<'_>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    let mut i = 0;
    while i < running.len() {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| running[i].future.as_mut().poll(cx)))?;
        match polled {
            Poll::Ready(result) => {
                let done = running.remove(i);
                let mut run = run.borrow_mut();
                run.commands
                    .push_back(update_completion(done.update_id, done.meta, result));
                run.wake_conditions();
            }
            Poll::Pending => i += 1,
        }
    }
    Ok(())
}

/// Polls each running async signal handler once; a finished one is dropped, and the first
/// that failed is returned (it fails the run). A panic stops the activation.
fn poll_running_signals(
    running: &mut Vec<(String, crate::definition::RunningSignal)>,
    run: &Rc<RefCell<RunState>>,
    cx: &mut Context<'_>,
) -> Result<Option<WorkflowError>, Box<dyn std::any::Any + Send>> {
    let mut i = 0;
    while i < running.len() {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| running[i].1.as_mut().poll(cx)))?;
        match polled {
            Poll::Ready(result) => {
                drop(running.remove(i));
                run.borrow_mut().wake_conditions();
                if let Err(error) = result {
                    return Ok(Some(error));
                }
            }
            Poll::Pending => i += 1,
        }
    }
    Ok(None)
}

/// The protocol command that answers an update's caller with its result or failure.
fn update_completion(update_id: String, meta: pu::Meta, result: Result<Payload, Failure>) -> WorkflowCommand {
    let outcome = pu::Outcome {
        value: Some(match result {
            Ok(payload) => pu::outcome::Value::Success(Payloads {
                payloads: vec![payload],
            }),
            Err(failure) => pu::outcome::Value::Failure(failure.into()),
        }),
    };
    let response = protocol_message(
        &update_id,
        "complete",
        &pu::Response {
            meta: Some(meta),
            outcome: Some(outcome),
        },
    );
    WorkflowCommand::Protocol {
        update_id,
        completed: true,
        message: Box::new(response),
    }
}

/// An update request to run in an activation.
struct UpdateDelivery {
    message_id: String,
    sequencing_event_id: i64,
    request: pu::Request,
    /// Delivered by the server now (validate; may reject), or replayed from history.
    live: bool,
}

impl UpdateDelivery {
    fn from_message(message: &Message) -> Option<Self> {
        let body = message.body.as_ref()?;
        if !body.type_url.ends_with("temporal.api.update.v1.Request") {
            return None;
        }
        let request = pu::Request::decode(body.value.as_slice()).ok()?;
        let sequencing_event_id = match message.sequencing_id {
            Some(protocol::message::SequencingId::EventId(id)) => id,
            _ => 0,
        };
        Some(UpdateDelivery {
            message_id: message.id.clone(),
            sequencing_event_id,
            request,
            live: true,
        })
    }

    fn from_accepted_event(event: &HistoryEvent) -> Option<Self> {
        let Some(EvAttr::WorkflowExecutionUpdateAcceptedEventAttributes(a)) = &event.attributes else {
            return None;
        };
        Some(UpdateDelivery {
            message_id: a.accepted_request_message_id.clone(),
            sequencing_event_id: a.accepted_request_sequencing_event_id,
            request: a.accepted_request.clone()?,
            live: false,
        })
    }
}

/// A protocol message of an update, its body packed as `Any`.
fn protocol_message<M: prost::Name>(update_id: &str, step: &str, body: &M) -> Message {
    Message {
        id: format!("{update_id}/{step}"),
        protocol_instance_id: update_id.to_string(),
        body: Some(crate::client::proto::Any {
            type_url: M::type_url(),
            value: body.encode_to_vec(),
        }),
        sequencing_id: None,
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
