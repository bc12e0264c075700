//! What the macros' generated code names, and nothing else: `::workflow_runtime::__private`.
//! Not a public API; it changes with the macros.

pub use crate::activity::{ActivityContext, ActivityError};
pub use crate::client::deployment::VersioningBehavior;
pub use crate::client::handle::{UpdateHandle, UpdateWaitStage};
pub use crate::client::{
    Client, ClientError, RetryPolicy, ScheduleHandle, ScheduleOptions, StartOptions, WorkflowDefinition, WorkflowHandle,
};
pub use crate::definition::{
    Activity, ActivityDefinition, ActivityGroup, ActivityRegistry, HandlerKind, Handlers, Workflow,
};
pub use crate::nexus::{NexusContext, NexusError, NexusOperation, NexusRegistry, NexusService, WorkflowStart};
pub use crate::workflow::{ActivityOptions, NexusCall, WorkflowContext, WorkflowError, WorkflowResult};
pub use futures::future::{BoxFuture, LocalBoxFuture};

/// Proof that `#[workflow]` is on the struct too (it generates the typed handle).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is missing `#[workflow]` on its struct",
    label = "this workflow's struct needs `#[workflow]`",
    note = "put `#[workflow]` on both the state struct and its impl block: the struct's attribute makes the typed handle"
)]
pub trait WorkflowStruct {}

/// The state a workflow starts with.
#[diagnostic::on_unimplemented(
    message = "the state of workflow `{Self}` needs a starting value",
    label = "`{Self}` does not implement `Default`",
    note = "add `#[derive(Default)]` to the workflow's struct: a run starts from `Default::default()`"
)]
pub trait DefaultState {}
impl<T: Default> DefaultState for T {}

/// The success type of a `Result`, so a renamed result type (`type Outcome<T> =
/// WorkflowResult<T>;`) works in a signature.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`",
    label = "expected `WorkflowResult<T>` (for `#[run]`) or `Result<T, ActivityError>` (for an activity)",
    note = "a renamed result type works too, as long as it is a `Result`"
)]
pub trait ResultOk {
    /// `T` of `Result<T, E>`.
    type Ok;
}
impl<T, E> ResultOk for Result<T, E> {
    type Ok = T;
}

pub const fn assert_workflow_struct<T: WorkflowStruct>() {}
pub const fn assert_default_state<T: DefaultState>() {}

/// Checks that an activity's future can move between threads (the worker runs it on tokio).
#[diagnostic::on_unimplemented(
    message = "the future of this activity is not `Send`",
    note = "an activity runs on the worker's multi-threaded runtime: do not hold an `Rc`, a `RefCell` borrow or a `MutexGuard` of std across an `.await`"
)]
pub trait SendActivityFuture {}
impl<F: Future + Send> SendActivityFuture for F {}

pub fn assert_send_activity_future<F: Future + SendActivityFuture>(f: F) -> F {
    f
}
