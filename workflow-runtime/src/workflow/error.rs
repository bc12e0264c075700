//! Errors of workflow code, and of the engine running it.

use crate::client::failure::Failure;
use crate::client::payload::PayloadError;

/// The result type of workflow code.
pub type WorkflowResult<T> = Result<T, WorkflowError>;

/// How workflow code fails: a Temporal failure, so the caller (in any SDK) sees the type,
/// message, details and cause.
///
/// `?` converts activity failures, timer cancellations and payload errors into it.
///
/// The failure is boxed so that `WorkflowResult<T>` stays small; it dereferences to
/// [`Failure`] (`err.message`, `err.kind`, `err.root_cause()`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowError {
    /// The failure the workflow ends with.
    pub failure: Box<Failure>,
    /// Set by [`crate::workflow::WorkflowContext::continue_as_new`]: the run ends by starting
    /// a new run of the same workflow with these arguments, instead of failing.
    pub(crate) continue_as_new: Option<Box<super::continue_as_new::ContinueAsNew>>,
}

impl std::ops::Deref for WorkflowError {
    type Target = Failure;
    fn deref(&self) -> &Failure {
        &self.failure
    }
}

impl WorkflowError {
    /// An application failure with a type name, retryable by the workflow's retry policy.
    pub fn application(message: impl Into<String>, type_name: impl Into<String>) -> Self {
        WorkflowError {
            failure: Box::new(Failure::application(message, type_name)),
            continue_as_new: None,
        }
    }

    /// A cancellation: returned from a run after cancellation was requested, the workflow
    /// ends as canceled rather than failed.
    pub fn canceled(message: impl Into<String>) -> Self {
        Failure::canceled(message).into()
    }

    /// Whether this is a cancellation (of the workflow, or of an activity, timer or child it
    /// waited on).
    pub fn is_canceled(&self) -> bool {
        matches!(
            *self.failure.root_cause().kind,
            crate::client::failure::FailureKind::Canceled { .. }
        )
    }

    /// An application failure that is never retried.
    pub fn non_retryable(message: impl Into<String>, type_name: impl Into<String>) -> Self {
        WorkflowError {
            failure: Box::new(Failure::application(message, type_name).non_retryable()),
            continue_as_new: None,
        }
    }
}

impl std::fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

impl std::error::Error for WorkflowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.failure)
    }
}

impl From<Failure> for WorkflowError {
    fn from(failure: Failure) -> Self {
        WorkflowError {
            failure: Box::new(failure),
            continue_as_new: None,
        }
    }
}

impl From<PayloadError> for WorkflowError {
    fn from(e: PayloadError) -> Self {
        WorkflowError {
            failure: Box::new(Failure::application(e.to_string(), "PayloadError").non_retryable()),
            continue_as_new: None,
        }
    }
}

/// Why the engine could not complete a workflow task. The task fails (the server retries it);
/// the workflow itself goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// The code did not issue the commands history recorded.
    #[error(
        "nondeterminism in workflow {workflow_type} (id {workflow_id}) at event {event_id}: \
         history recorded {recorded}, the code did {produced}"
    )]
    Nondeterminism {
        /// The workflow type.
        workflow_type: String,
        /// The workflow id.
        workflow_id: String,
        /// The event where history and code diverge.
        event_id: i64,
        /// What history has.
        recorded: String,
        /// What the code produced.
        produced: String,
    },
    /// Workflow code panicked.
    #[error("workflow {workflow_type} (id {workflow_id}) panicked: {message}")]
    Panic {
        /// The workflow type.
        workflow_type: String,
        /// The workflow id.
        workflow_id: String,
        /// The panic message.
        message: String,
    },
    /// A future was woken by something other than this engine (a tokio timer, a channel…).
    #[error(
        "workflow {workflow_type} (id {workflow_id}) was woken from outside the deterministic executor: \
         workflow code must wait only on the workflow context (ctx.sleep, activities, signals, \
         ctx.wait_condition), never on tokio or other runtimes"
    )]
    ForeignWake {
        /// The workflow type.
        workflow_type: String,
        /// The workflow id.
        workflow_id: String,
    },
    /// Workflow code kept the executor busy without waiting on anything.
    #[error("workflow {workflow_type} (id {workflow_id}) did not yield: {detail}")]
    Busy {
        /// The workflow type.
        workflow_type: String,
        /// The workflow id.
        workflow_id: String,
        /// What was seen.
        detail: String,
    },
    /// No workflow of this type is registered on the worker.
    #[error("workflow type `{workflow_type}` is not registered on this worker; registered: {registered}")]
    UnknownWorkflowType {
        /// The type asked for.
        workflow_type: String,
        /// The types the worker has.
        registered: String,
    },
    /// The history handed to the engine is not one it can read.
    #[error("malformed history for workflow {workflow_id}: {detail}")]
    BadHistory {
        /// The workflow id.
        workflow_id: String,
        /// What is wrong.
        detail: String,
    },
}
