//! What a workflow and an activity are to the runtime.
//!
//! The `#[workflow]` and `#[activity]` macros implement these traits; they can also be written
//! by hand (the runtime's own tests do), which is also how a workflow is given to the worker
//! without macros.

use crate::activity::{ActivityContext, ActivityError};
use crate::client::failure::Failure;
use crate::client::payload::{self, PayloadArgs, PayloadError};
use crate::client::proto::common::Payload;
use crate::workflow::{WorkflowContext, WorkflowResult};
use futures::future::{BoxFuture, LocalBoxFuture};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use workflow_client::definitions::{QueryDefinition, SignalDefinition, WorkflowDefinition};
use workflow_client::deployment::VersioningBehavior;

/// A workflow the worker can run: its state, its entry point and its handlers.
///
/// ```
/// use workflow_runtime::prelude::*;
/// use workflow_runtime::definition::{Handlers, Workflow};
/// use futures::future::{FutureExt, LocalBoxFuture};
///
/// #[derive(Default)]
/// struct Counter { total: u64 }
///
/// impl WorkflowDefinition for Counter {
///     const NAME: &'static str = "Counter";
///     type Input = (u64,);
///     type Output = u64;
/// }
///
/// impl Workflow for Counter {
///     fn init(_input: &Self::Input) -> Self { Counter::default() }
///     fn run(ctx: WorkflowContext<Self>, (target,): Self::Input) -> LocalBoxFuture<'static, WorkflowResult<u64>> {
///         async move {
///             ctx.wait_condition(move |s| s.total >= target).await?;
///             Ok(ctx.state(|s| s.total))
///         }
///         .boxed_local()
///     }
///     fn handlers(h: &mut Handlers<Self>) {
///         h.signal_raw("add", |s, (n,): (u64,)| s.total += n);
///         h.query_raw("total", |s, (): ()| s.total);
///     }
/// }
/// ```
pub trait Workflow: WorkflowDefinition + Sized {
    /// How this workflow's runs move between worker deployment versions on a worker that uses
    /// worker versioning (`#[workflow(versioning = "pinned")]` or `"auto_upgrade"` sets it;
    /// `None` leaves it to the worker's default). A worker without versioning ignores it.
    ///
    /// It belongs to the worker's side of a workflow (a definition that only calls a workflow,
    /// such as a `#[workflow_interface]`, has none).
    const VERSIONING_BEHAVIOR: Option<VersioningBehavior> = None;
    /// Builds the initial state from the input.
    fn init(input: &Self::Input) -> Self;
    /// The workflow's code.
    fn run(ctx: WorkflowContext<Self>, input: Self::Input) -> LocalBoxFuture<'static, WorkflowResult<Self::Output>>;
    /// Registers signal, query and update handlers.
    fn handlers(_handlers: &mut Handlers<Self>) {}
}

/// Runs a signal handler; answers how many trailing payloads it ignored.
type SignalFn<W> = Box<dyn Fn(&mut W, &[Payload]) -> Result<usize, PayloadError>>;
/// A running async signal handler: workflow code beside `run`.
pub(crate) type RunningSignal = LocalBoxFuture<'static, Result<(), crate::workflow::WorkflowError>>;
/// Starts an async signal handler: decodes its input, then returns its future (and how many
/// trailing payloads it ignored).
type AsyncSignalFn<W> = Box<dyn Fn(WorkflowContext<W>, &[Payload]) -> Result<(RunningSignal, usize), PayloadError>>;

/// What a signal runs.
pub(crate) enum SignalBody<W> {
    /// Changes the state at once, in history order.
    Sync(SignalFn<W>),
    /// Runs as workflow code beside `run` (activities, timers, waits).
    Async(AsyncSignalFn<W>),
}
type QueryFn<W> = Box<dyn Fn(&W, &[Payload]) -> Result<Payload, PayloadError>>;
type ValidateFn<W> = Box<dyn Fn(&W, &[Payload]) -> Result<(), Failure>>;
type UpdateFn<W> = Box<dyn Fn(&mut W, &[Payload]) -> Result<Payload, Failure>>;
/// Starts an async update: decodes its input, then returns the handler's future.
type AsyncUpdateFn<W> =
    Box<dyn Fn(WorkflowContext<W>, &[Payload]) -> Result<LocalBoxFuture<'static, Result<Payload, Failure>>, Failure>>;

/// Checks that an update's input decodes, before anything else (a bad input is rejected);
/// answers how many trailing payloads the handler ignores.
type DecodeFn = Box<dyn Fn(&[Payload]) -> Result<usize, Failure>>;

/// Decodes the arguments of a signal or update handler as the Go and TypeScript SDKs do:
/// payloads beyond the handler's parameters are ignored (the caller logs it, once, live),
/// fewer payloads than parameters is an error.
fn handler_args<A: PayloadArgs>(payloads: &[Payload]) -> Result<A, PayloadError> {
    A::from_payloads(&payloads[..payloads.len().min(A::COUNT)])
}

/// An update handler and its optional validator.
pub(crate) struct UpdateHandler<W> {
    pub(crate) decode: DecodeFn,
    pub(crate) validate: Option<ValidateFn<W>>,
    pub(crate) handle: UpdateBody<W>,
}

/// What an update runs once accepted.
pub(crate) enum UpdateBody<W> {
    /// Changes the state and answers within the task that accepts it.
    Sync(UpdateFn<W>),
    /// Runs as workflow code beside `run` (activities, timers, waits) and answers when done,
    /// possibly tasks later.
    Async(AsyncUpdateFn<W>),
}

fn bad_update_input(e: PayloadError) -> Failure {
    Failure::application(format!("update input: {e}"), "PayloadError").non_retryable()
}

fn update_output<R: Serialize>(output: &R) -> Result<Payload, Failure> {
    payload::to_payload(output).map_err(|e| Failure::application(e.to_string(), "PayloadError"))
}

/// The kinds of handler a workflow has besides `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HandlerKind {
    /// A signal handler.
    Signal,
    /// A query handler.
    Query,
    /// An update handler.
    Update,
}

/// The signal, query and update handlers of workflow `W`, by wire name.
pub struct Handlers<W> {
    pub(crate) signals: BTreeMap<String, SignalBody<W>>,
    pub(crate) queries: BTreeMap<String, QueryFn<W>>,
    pub(crate) updates: BTreeMap<String, UpdateHandler<W>>,
    /// What each handler does, for the workflow's metadata (the web UI and
    /// `temporal workflow metadata` show it).
    pub(crate) descriptions: BTreeMap<(HandlerKind, String), String>,
}

impl<W> Default for Handlers<W> {
    fn default() -> Self {
        Handlers {
            signals: BTreeMap::new(),
            queries: BTreeMap::new(),
            updates: BTreeMap::new(),
            descriptions: BTreeMap::new(),
        }
    }
}

impl<W> Handlers<W> {
    /// Describes a handler for the workflow's metadata; `#[workflow]` passes each handler's doc
    /// comment.
    pub fn describe(&mut self, kind: HandlerKind, name: &str, description: &str) {
        self.descriptions
            .insert((kind, name.to_string()), description.to_string());
    }
}

impl<W: Workflow> Handlers<W> {
    /// Registers the handler of signal `S`.
    pub fn signal<S: SignalDefinition<Workflow = W>>(&mut self, handler: impl Fn(&mut W, S::Input) + 'static) {
        self.signal_raw(S::NAME, handler);
    }

    /// Registers a signal handler by name.
    pub fn signal_raw<A: PayloadArgs + 'static>(&mut self, name: &str, handler: impl Fn(&mut W, A) + 'static) {
        self.signals.insert(
            name.to_string(),
            SignalBody::Sync(Box::new(move |state, payloads| {
                let args = handler_args::<A>(payloads)?;
                handler(state, args);
                Ok(payloads.len().saturating_sub(A::COUNT))
            })),
        );
    }

    /// Registers an async signal handler by name: workflow code that starts when the signal
    /// is delivered and runs beside `run` (it may call activities, sleep, wait on conditions).
    /// An error it returns fails the workflow, as one returned from `run` does.
    pub fn signal_async_raw<A, E, F, Fut>(&mut self, name: &str, handler: F)
    where
        A: PayloadArgs + 'static,
        E: Into<crate::workflow::WorkflowError> + 'static,
        F: Fn(WorkflowContext<W>, A) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + 'static,
    {
        self.signals.insert(
            name.to_string(),
            SignalBody::Async(Box::new(move |ctx, payloads| {
                let args = handler_args::<A>(payloads)?;
                let running = handler(ctx, args);
                let future: RunningSignal = Box::pin(async move { running.await.map_err(Into::into) });
                Ok((future, payloads.len().saturating_sub(A::COUNT)))
            })),
        );
    }

    /// Registers the handler of query `Q`.
    pub fn query<Q: QueryDefinition<Workflow = W>>(&mut self, handler: impl Fn(&W, Q::Input) -> Q::Output + 'static) {
        self.query_raw(Q::NAME, handler);
    }

    /// Registers a query handler by name.
    pub fn query_raw<A: PayloadArgs + 'static, R: Serialize + 'static>(
        &mut self,
        name: &str,
        handler: impl Fn(&W, A) -> R + 'static,
    ) {
        self.queries.insert(
            name.to_string(),
            Box::new(move |state, payloads| {
                let args = A::from_payloads(payloads)?;
                payload::to_payload(&handler(state, args))
            }),
        );
    }
}

impl<W: Workflow> Handlers<W> {
    /// Registers an update handler by name, with an optional validator. An input that does
    /// not decode, and a validator that refuses (or panics), reject the update: the caller gets
    /// the error and history keeps no trace of it. A handler that returns an error completes
    /// the update with that failure and the workflow goes on; a handler that panics fails the
    /// workflow task instead, so nothing is recorded and the retried task delivers the update
    /// again.
    pub fn update_raw<A, R, E, V>(
        &mut self,
        name: &str,
        handler: impl Fn(&mut W, A) -> Result<R, E> + 'static,
        validator: Option<V>,
    ) where
        A: PayloadArgs + 'static,
        R: Serialize + 'static,
        E: Into<crate::workflow::WorkflowError>,
        V: Fn(&W, A) -> Result<(), String> + 'static,
    {
        let handle: UpdateFn<W> = Box::new(move |state, payloads| {
            let args = handler_args::<A>(payloads).map_err(bad_update_input)?;
            let output = handler(state, args).map_err(|e| *e.into().failure)?;
            update_output(&output)
        });
        self.add_update(name, UpdateBody::Sync(handle), validator);
    }

    /// Registers an async update handler by name: workflow code that runs beside `run` once
    /// the update is accepted (it may call activities, sleep, wait on conditions) and answers
    /// the caller when it returns. The validator, if any, still decides synchronously.
    pub fn update_async_raw<A, R, E, V, F, Fut>(&mut self, name: &str, handler: F, validator: Option<V>)
    where
        A: PayloadArgs + 'static,
        R: Serialize + 'static,
        E: Into<crate::workflow::WorkflowError> + 'static,
        V: Fn(&W, A) -> Result<(), String> + 'static,
        F: Fn(WorkflowContext<W>, A) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<R, E>> + 'static,
    {
        let start: AsyncUpdateFn<W> = Box::new(move |ctx, payloads| {
            let args = handler_args::<A>(payloads).map_err(bad_update_input)?;
            let running = handler(ctx, args);
            Ok(Box::pin(async move {
                let output = running.await.map_err(|e| *e.into().failure)?;
                update_output(&output)
            }))
        });
        self.add_update(name, UpdateBody::Async(start), validator);
    }

    fn add_update<A, V>(&mut self, name: &str, handle: UpdateBody<W>, validator: Option<V>)
    where
        A: PayloadArgs + 'static,
        V: Fn(&W, A) -> Result<(), String> + 'static,
    {
        let decode: DecodeFn = Box::new(|payloads| {
            handler_args::<A>(payloads)
                .map(|_| payloads.len().saturating_sub(A::COUNT))
                .map_err(bad_update_input)
        });
        let validate = validator.map(|v| -> ValidateFn<W> {
            Box::new(move |state, payloads| {
                let args = handler_args::<A>(payloads).map_err(bad_update_input)?;
                v(state, args).map_err(|m| Failure::application(m, "UpdateRejected"))
            })
        });
        self.updates.insert(
            name.to_string(),
            UpdateHandler {
                decode,
                validate,
                handle,
            },
        );
    }
}

/// An activity type: its wire name, arguments and result.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activity",
    label = "expected an activity",
    note = "mark an async function with `#[activity]`, or implement `ActivityDefinition` by hand"
)]
pub trait ActivityDefinition: 'static {
    /// The activity type name on the wire.
    const NAME: &'static str;
    /// The arguments, as a tuple (one payload each).
    type Input: PayloadArgs + Send + 'static;
    /// The result.
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// Options every call starts from (timeouts, retry policy, task queue); a call can
    /// override each.
    fn default_options() -> crate::workflow::ActivityOptions {
        crate::workflow::ActivityOptions::default()
    }
}

/// An activity with its implementation.
pub trait Activity: ActivityDefinition + Send + Sync {
    /// Runs one attempt.
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Self::Input,
    ) -> BoxFuture<'static, Result<Self::Output, ActivityError>>;
}

/// An activity the worker can run, type-erased: raw payloads in and out.
pub(crate) type ErasedActivity =
    Arc<dyn Fn(ActivityContext, Vec<Payload>) -> BoxFuture<'static, Result<Payload, ActivityError>> + Send + Sync>;

pub(crate) fn erase_activity<A: Activity>(activity: A) -> ErasedActivity {
    let activity = Arc::new(activity);
    erase_fn::<A, _, _>(move |ctx, input| activity.execute(ctx, input))
}

/// Type-erases a closure that runs activity `A` with typed arguments.
pub(crate) fn erase_fn<A, F, Fut>(run: F) -> ErasedActivity
where
    A: ActivityDefinition,
    F: Fn(ActivityContext, A::Input) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<A::Output, ActivityError>> + Send + 'static,
{
    let run = Arc::new(run);
    Arc::new(move |ctx, payloads| {
        let run = run.clone();
        Box::pin(async move {
            let input = A::Input::from_payloads(&payloads).map_err(ActivityError::bad_input)?;
            let output = run(ctx, input).await?;
            payload::to_payload(&output).map_err(ActivityError::bad_output)
        })
    })
}

/// Activities that share state (a database pool, an HTTP client): the `#[activity]` methods
/// of one type, registered together with `WorkerBuilder::activities`. `#[activities]` on the
/// impl block implements it.
pub trait ActivityGroup: Send + Sync + 'static {
    /// Adds each activity of the group, bound to `this`.
    fn register(this: Arc<Self>, registry: &mut ActivityRegistry);
}

/// A group already shared (`Arc<Pool>`) registers as the group itself: the same state can
/// serve several workers (say, one per task queue).
impl<G: ActivityGroup> ActivityGroup for Arc<G> {
    fn register(this: Arc<Self>, registry: &mut ActivityRegistry) {
        G::register((*this).clone(), registry)
    }
}

/// Where an [`ActivityGroup`] adds its activities.
#[derive(Default)]
pub struct ActivityRegistry {
    pub(crate) entries: Vec<(String, ErasedActivity)>,
}

impl ActivityRegistry {
    /// Adds activity `A`, run by `run` with typed arguments.
    pub fn add<A, F, Fut>(&mut self, run: F)
    where
        A: ActivityDefinition,
        F: Fn(ActivityContext, A::Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<A::Output, ActivityError>> + Send + 'static,
    {
        self.entries.push((A::NAME.to_string(), erase_fn::<A, F, Fut>(run)));
    }
}
