//! The one error type of the client, and how gRPC statuses map onto it.

use crate::converter::{CodecError, ConvertError};
use crate::failure::Failure;
use crate::payload::PayloadError;
use crate::proto::common::Payload;
use crate::proto::errordetails;
use prost::Message;

/// Everything a client call can fail with. Match on it; each `Display` reads as a sentence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The address could not be parsed or the TLS settings are invalid.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A workflow with this id is already running (or the reuse policy refuses the id).
    #[error("a workflow with id `{workflow_id}` is already started (run id `{run_id}`)")]
    AlreadyStarted {
        /// The id that was asked for.
        workflow_id: String,
        /// The run that holds it.
        run_id: String,
    },
    /// The workflow, run, activity or namespace does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The server refused the request as malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server could not be reached, even after retries.
    #[error("the Temporal server is unavailable after {attempts} attempt(s): {message}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        message: String,
    },
    /// The caller lacks permission (bad API key, mTLS identity, namespace access).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The call's deadline passed.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// A value did not encode, or a payload did not decode (names the Rust type and encoding).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The payload codec refused.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The workflow ended with a failure.
    #[error("workflow failed: {0}")]
    WorkflowFailed(Box<Failure>),
    /// The workflow was canceled.
    #[error("workflow was canceled")]
    WorkflowCanceled {
        /// Details the workflow attached when it accepted cancellation.
        details: Vec<Payload>,
    },
    /// The workflow was terminated.
    #[error("workflow was terminated{}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    WorkflowTerminated {
        /// The reason given to terminate.
        reason: String,
    },
    /// The workflow hit its run or execution timeout.
    #[error("workflow timed out")]
    WorkflowTimedOut,
    /// A query handler failed, or no handler has the name.
    #[error("query `{name}` failed: {message}")]
    QueryFailed {
        /// The query name.
        name: String,
        /// What the worker said.
        message: String,
    },
    /// The query was refused by its reject condition.
    #[error("query rejected: the workflow is {status}")]
    QueryRejected {
        /// The workflow's status at the time.
        status: String,
    },
    /// An update was rejected by its validator or failed in its handler.
    #[error("update `{name}` failed: {failure}")]
    UpdateFailed {
        /// The update name.
        name: String,
        /// The failure.
        failure: Box<Failure>,
    },
    /// A schedule with this id already exists.
    #[error("a schedule with id `{schedule_id}` already exists")]
    ScheduleAlreadyExists {
        /// The id that was asked for.
        schedule_id: String,
    },
    /// No schedule has this id (it was never created, or was deleted).
    #[error("no schedule with id `{schedule_id}` exists")]
    ScheduleNotFound {
        /// The id that was asked for.
        schedule_id: String,
    },
    /// The schedule changed between the description an update was based on and the update;
    /// nothing was written.
    #[error("schedule `{schedule_id}` changed since it was described; describe it again and redo the update")]
    ScheduleConflict {
        /// The schedule's id.
        schedule_id: String,
    },
    /// A worker deployment's routing changed between the read whose conflict token a change
    /// carried and the change; nothing was written.
    #[error(
        "the routing of worker deployment `{deployment_name}` changed since it was read; describe it again and redo the change"
    )]
    DeploymentConflict {
        /// The deployment's name.
        deployment_name: String,
    },
    /// A batch job with this id already exists.
    #[error("a batch job with id `{job_id}` already exists")]
    BatchAlreadyExists {
        /// The id that was asked for.
        job_id: String,
    },
    /// A Nexus endpoint with this name already exists.
    #[error("a Nexus endpoint named `{name}` already exists")]
    NexusEndpointAlreadyExists {
        /// The name that was asked for.
        name: String,
    },
    /// No batch job has this id.
    #[error("no batch job with id `{job_id}` exists")]
    BatchNotFound {
        /// The id that was asked for.
        job_id: String,
    },
    /// The HTTP proxy did not open a tunnel to the server (see
    /// [`ClientOptions::http_connect_proxy`](crate::ClientOptions::http_connect_proxy)).
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
    /// A history JSON document could not be read or written.
    #[error("history JSON: {0}")]
    HistoryJson(String),
    /// Any other server error.
    #[error("Temporal server error ({code:?}): {message}")]
    Server {
        /// The gRPC code.
        code: tonic::Code,
        /// The server's message.
        message: String,
    },
}

impl From<ConvertError> for ClientError {
    fn from(e: ConvertError) -> Self {
        match e {
            ConvertError::Payload(p) => ClientError::Payload(p),
            ConvertError::Codec(c) => ClientError::Codec(c),
        }
    }
}

/// Converts a final gRPC status into a [`ClientError`]. `attempts` is how many times the call
/// was tried; `workflow_id` gives context to "already started".
pub(crate) fn from_status(status: tonic::Status, attempts: u32, workflow_id: Option<&str>) -> ClientError {
    let message = status.message().to_string();
    match status.code() {
        tonic::Code::AlreadyExists => {
            let run_id = already_started_run_id(&status).unwrap_or_default();
            ClientError::AlreadyStarted {
                workflow_id: workflow_id.unwrap_or_default().to_string(),
                run_id,
            }
        }
        tonic::Code::NotFound => ClientError::NotFound(message),
        tonic::Code::InvalidArgument => ClientError::InvalidArgument(message),
        tonic::Code::Unavailable => ClientError::Unavailable { attempts, message },
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => ClientError::PermissionDenied(message),
        tonic::Code::DeadlineExceeded => ClientError::DeadlineExceeded(message),
        code => ClientError::Server { code, message },
    }
}

/// The running run's id carried in a `WorkflowExecutionAlreadyStartedFailure` status detail.
fn already_started_run_id(status: &tonic::Status) -> Option<String> {
    let details = crate::proto::rpc::Status::decode(status.details()).ok()?;
    details.details.iter().find_map(|any| {
        any.type_url
            .ends_with("WorkflowExecutionAlreadyStartedFailure")
            .then(|| errordetails::WorkflowExecutionAlreadyStartedFailure::decode(any.value.as_slice()).ok())
            .flatten()
            .map(|f| f.run_id)
    })
}

/// Whether a status is worth retrying: the server is briefly away or shedding load.
pub(crate) fn is_transient(status: &tonic::Status) -> bool {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::ResourceExhausted => true,
        // The connection broke under the request (tonic's own statuses, not the server's):
        // every call this client makes is safe to repeat (task tokens, request ids), so it is
        // sent again on a fresh connection rather than lost.
        tonic::Code::Unknown | tonic::Code::Cancelled => {
            status.metadata().is_empty() && matches!(status.message(), "transport error" | "operation was canceled")
        }
        _ => false,
    }
}

/// Converts the final status of a schedule call into a [`ClientError`] named by the schedule.
pub(crate) fn schedule_error(status: tonic::Status, attempts: u32, schedule_id: &str) -> ClientError {
    let schedule_id = schedule_id.to_string();
    match status.code() {
        tonic::Code::AlreadyExists => ClientError::ScheduleAlreadyExists { schedule_id },
        tonic::Code::NotFound => ClientError::ScheduleNotFound { schedule_id },
        // A server whose scheduler checks the token itself refuses a stale update.
        _ if status.message().contains("conflict token") => ClientError::ScheduleConflict { schedule_id },
        _ => from_status(status, attempts, None),
    }
}

/// The client error a worker deployment call's status means, named by the deployment.
pub(crate) fn deployment_error(status: tonic::Status, attempts: u32, deployment_name: &str) -> ClientError {
    if status.message().contains("conflict token") {
        return ClientError::DeploymentConflict {
            deployment_name: deployment_name.to_string(),
        };
    }
    from_status(status, attempts, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_statuses_name_the_schedule() {
        let error = |code, message: &str| schedule_error(tonic::Status::new(code, message), 1, "nightly");
        assert!(matches!(
            error(tonic::Code::AlreadyExists, "schedule with this ID is already registered"),
            ClientError::ScheduleAlreadyExists { schedule_id } if schedule_id == "nightly"
        ));
        assert!(matches!(
            error(tonic::Code::NotFound, "workflow not found for ID: temporal-sys-scheduler:nightly"),
            ClientError::ScheduleNotFound { schedule_id } if schedule_id == "nightly"
        ));
        assert!(matches!(
            error(tonic::Code::FailedPrecondition, "conflict token mismatch"),
            ClientError::ScheduleConflict { schedule_id } if schedule_id == "nightly"
        ));
        assert!(matches!(
            error(tonic::Code::InvalidArgument, "bad spec"),
            ClientError::InvalidArgument(m) if m == "bad spec"
        ));
    }

    #[test]
    fn deployment_conflicts_name_the_deployment() {
        let error = |code, message: &str| deployment_error(tonic::Status::new(code, message), 1, "shop");
        // What the server's worker deployment workflow answers a stale token with.
        assert!(matches!(
            error(tonic::Code::FailedPrecondition, "conflict token mismatch"),
            ClientError::DeploymentConflict { deployment_name } if deployment_name == "shop"
        ));
        assert!(matches!(
            error(tonic::Code::NotFound, "worker deployment not found"),
            ClientError::NotFound(_)
        ));
    }
}
