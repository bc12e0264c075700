//! The typed part of a run behind a trait object: a workflow type's factory, and the driver
//! that starts its code and hands it signals, queries and updates by wire name.

use super::run::{ENHANCED_STACK_TRACE_QUERY, METADATA_QUERY, STACK_TRACE_QUERY};
use super::run_state::RunState;
use crate::client::deployment::VersioningBehavior;
use crate::client::failure::Failure;
use crate::client::payload::{self, PayloadArgs, PayloadError};
use crate::client::proto::common::Payload;
use crate::client::proto::sdk;
use crate::definition::{HandlerKind, Handlers, SignalBody, UpdateBody, Workflow};
use crate::workflow::context::WorkflowContext;
use crate::workflow::error::WorkflowError;
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

/// A workflow type, erased: creates runs.
pub(crate) trait WorkflowFactory: Send + Sync {
    fn create(&self) -> Box<dyn WorkflowDriver>;
    /// The workflow type's own versioning behaviour (`None`: the worker's default applies).
    fn versioning_behavior(&self) -> Option<VersioningBehavior> {
        None
    }
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

    fn versioning_behavior(&self) -> Option<VersioningBehavior> {
        W::VERSIONING_BEHAVIOR
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
        let panicked = |p: Box<dyn std::any::Any + Send>| SignalError::Panicked(crate::messages::panic_message(&*p));
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
            return UpdateOutcome::Rejected(Failure::application(
                format!(
                    "workflow `{}` has no update `{name}`; known updates: {}",
                    W::NAME,
                    crate::messages::listed(self.handlers.updates.keys().map(String::as_str))
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
                            format!("update validator panicked: {}", crate::messages::panic_message(&*p)),
                            "Panic",
                        ))
                    });
                if let Err(f) = verdict {
                    return UpdateOutcome::Rejected(f);
                }
            }
        }
        let panicked = |p: Box<dyn std::any::Any + Send>| {
            UpdateOutcome::Panicked(format!(
                "update `{name}` panicked: {}",
                crate::messages::panic_message(&*p)
            ))
        };
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
            let user = self.handlers.queries.keys().map(String::as_str);
            let built_in = [STACK_TRACE_QUERY, ENHANCED_STACK_TRACE_QUERY, METADATA_QUERY];
            return Err(format!(
                "workflow `{}` has no query `{name}`; known queries: {}",
                W::NAME,
                crate::messages::listed(user.chain(built_in))
            ));
        };
        let state = &self.ctx.as_ref().ok_or("the workflow has not started yet")?.state;
        // A panicking handler fails this query only: the run and the worker go on.
        std::panic::catch_unwind(AssertUnwindSafe(|| handler(&state.borrow(), input)))
            .map_err(|p| format!("query `{name}` panicked: {}", crate::messages::panic_message(&*p)))?
            .map_err(|e| format!("query `{name}`: {e}"))
    }
}
