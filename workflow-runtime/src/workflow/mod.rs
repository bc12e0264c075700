//! Workflow code and the deterministic engine that runs it.
//!
//! Each run lives on one worker thread, in a single-threaded executor that history alone
//! drives: workflow futures are polled only by it and woken only by history events (activity
//! results, timers, signals), and tokio never runs workflow code.

pub mod cancellation;
pub mod child;
pub(crate) mod commands;
pub(crate) mod context;
pub mod continue_as_new;
mod error;
mod info;
pub mod local_activity;
pub(crate) mod run;
pub mod sdk_flags;
pub(crate) mod watchdog;

pub use cancellation::{CancellationScope, CancellationType};
pub use child::{ChildCall, ChildOptions, ChildWorkflow, ExternalRequest, ExternalWorkflow, ParentClosePolicy};
pub use context::{
    ActivityCall, ActivityFuture, ActivityOptions, Cancelled, ParentInfo, Timer, WaitCondition, WorkflowContext,
    WorkflowInfo,
};
pub use continue_as_new::ContinueAsNewOptions;
pub use error::{TaskError, WorkflowError, WorkflowResult};
pub use local_activity::{LocalActivityCall, LocalActivityFuture};
pub use run::{ENHANCED_STACK_TRACE_QUERY, METADATA_QUERY, STACK_TRACE_QUERY};
