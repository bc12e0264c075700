//! What workflow code uses: the [`WorkflowContext`] and what it offers (activities, timers,
//! children, conditions, cancellation scopes, continue-as-new, versioning), and the errors a
//! workflow ends with. The engine that runs this code, driven by history, is the crate's
//! private `engine` module.

pub(crate) mod activity_call;
pub mod cancellation;
pub mod child;
pub(crate) mod context;
pub mod continue_as_new;
pub(crate) mod error;
pub(crate) mod external;
pub(crate) mod info;
pub mod local_activity;
pub(crate) mod nexus_call;
pub mod sdk_flags;
mod time;
pub(crate) mod timer;

pub use crate::engine::run::{ENHANCED_STACK_TRACE_QUERY, METADATA_QUERY, STACK_TRACE_QUERY};
pub use cancellation::{CancellationScope, CancellationType};
pub use child::{ChildCall, ChildOptions, ChildWorkflow, ExternalRequest, ExternalWorkflow, ParentClosePolicy};
pub use context::{
    ActivityCall, ActivityFuture, ActivityOptions, Cancelled, ParentInfo, Timer, WaitCondition, WorkflowContext,
    WorkflowInfo,
};
pub use continue_as_new::ContinueAsNewOptions;
pub use error::{TaskError, WorkflowError, WorkflowResult};
pub use local_activity::{LocalActivityCall, LocalActivityFuture};
pub use nexus_call::{NexusCall, NexusFuture};
pub use time::WorkflowTime;
