//! Batch operations: the server signals, cancels or terminates every workflow a visibility
//! query matches, as one job it runs in the background; the client starts, describes, lists,
//! waits for and stops such jobs.
//!
//! ```no_run
//! # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
//! use std::time::Duration;
//! use workflow_client::batch::{BatchOperation, BatchOptions, BatchState};
//!
//! let query = "WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'";
//! let options = BatchOptions::new(query, BatchOperation::signal("pause", ("maintenance".to_string(),))?, "maintenance");
//! let job = client.start_batch(options).await?;
//! let done = job.wait(Duration::from_secs(60)).await?;
//! assert_eq!(done.state, BatchState::Completed);
//! println!("signalled {} of {} workflows", done.completed, done.total);
//! # Ok(()) }
//! ```

use crate::client::{Client, RpcError, paginate};
use crate::error::{ClientError, from_status};
use crate::payload::{PayloadArgs, PayloadError};
use crate::proto::batch as pb;
use crate::proto::common::Payload;
use crate::proto::enums::{BatchOperationState, BatchOperationType};
use crate::proto::workflowservice::{
    self as ws, DescribeBatchOperationResponse, start_batch_operation_request::Operation,
};
use crate::time::from_timestamp;
use futures::Stream;
use std::time::{Duration, SystemTime};

/// What a batch job does to each workflow it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOperation {
    /// Sends this signal with these arguments (the codec applies).
    Signal {
        /// The signal's wire name.
        name: String,
        /// Its arguments, one payload each.
        args: Vec<Payload>,
    },
    /// Asks each workflow to cancel.
    Cancel,
    /// Terminates each workflow.
    Terminate,
}

impl BatchOperation {
    /// Sends signal `name` with typed arguments (a tuple, one payload each).
    pub fn signal(name: impl Into<String>, args: impl PayloadArgs) -> Result<Self, PayloadError> {
        Ok(BatchOperation::Signal {
            name: name.into(),
            args: args.to_payloads()?,
        })
    }
}

/// A batch job to start: which workflows, what to do, and why.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The visibility query that picks the workflows (as `list_workflows` reads it).
    pub query: String,
    /// What to do to each.
    pub operation: BatchOperation,
    /// Why, recorded with the job (and in each terminated workflow's history).
    pub reason: String,
    /// The job's id (a random one when `None`).
    pub job_id: Option<String>,
    /// The most workflows per second the job may act on (the server's own limit when `None`
    /// or higher).
    pub max_operations_per_second: Option<f32>,
}

impl BatchOptions {
    /// A job doing `operation` to the workflows `query` matches.
    pub fn new(query: impl Into<String>, operation: BatchOperation, reason: impl Into<String>) -> Self {
        BatchOptions {
            query: query.into(),
            operation,
            reason: reason.into(),
            job_id: None,
            max_operations_per_second: None,
        }
    }

    /// Names the job.
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.job_id = Some(id.into());
        self
    }

    /// Limits how many workflows per second the job acts on.
    pub fn max_operations_per_second(mut self, rate: f32) -> Self {
        self.max_operations_per_second = Some(rate);
        self
    }
}

/// What kind of job a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchKind {
    /// Signals workflows.
    Signal,
    /// Cancels workflows.
    Cancel,
    /// Terminates workflows.
    Terminate,
    /// Deletes workflows.
    Delete,
    /// Resets workflows.
    Reset,
    /// Another kind (the wire value), started by another client.
    Other(i32),
}

impl From<i32> for BatchKind {
    #[allow(deprecated)] // Older servers report the deprecated values.
    fn from(value: i32) -> Self {
        match BatchOperationType::try_from(value) {
            Ok(BatchOperationType::SignalWorkflow | BatchOperationType::Signal) => BatchKind::Signal,
            Ok(BatchOperationType::CancelWorkflow | BatchOperationType::Cancel) => BatchKind::Cancel,
            Ok(BatchOperationType::TerminateWorkflow | BatchOperationType::Terminate) => BatchKind::Terminate,
            Ok(BatchOperationType::DeleteWorkflow | BatchOperationType::Delete) => BatchKind::Delete,
            Ok(BatchOperationType::ResetWorkflow | BatchOperationType::Reset) => BatchKind::Reset,
            _ => BatchKind::Other(value),
        }
    }
}

/// Where a batch job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Still acting on workflows.
    Running,
    /// Done with every workflow it matched (some operations may have failed: see the counts).
    Completed,
    /// Stopped, or failed as a whole.
    Failed,
    /// Not reported.
    Unspecified,
}

impl From<i32> for BatchState {
    fn from(value: i32) -> Self {
        match BatchOperationState::try_from(value) {
            Ok(BatchOperationState::Running) => BatchState::Running,
            Ok(BatchOperationState::Completed) => BatchState::Completed,
            Ok(BatchOperationState::Failed) => BatchState::Failed,
            _ => BatchState::Unspecified,
        }
    }
}

/// A batch job as `describe` tells it.
#[derive(Debug, Clone)]
pub struct BatchDescription {
    /// The job's id.
    pub job_id: String,
    /// What it does.
    pub kind: BatchKind,
    /// Where it is.
    pub state: BatchState,
    /// When it started.
    pub start_time: Option<SystemTime>,
    /// When it ended.
    pub close_time: Option<SystemTime>,
    /// How many workflows it matched (known once it has listed them all).
    pub total: u64,
    /// How many it acted on.
    pub completed: u64,
    /// How many it failed to act on.
    pub failed: u64,
    /// Why it was started.
    pub reason: String,
    /// Its visibility query.
    pub query: String,
    /// Who started it.
    pub identity: String,
    /// The whole response, for fields not summarized here.
    pub raw: DescribeBatchOperationResponse,
}

impl From<DescribeBatchOperationResponse> for BatchDescription {
    fn from(r: DescribeBatchOperationResponse) -> Self {
        let count = |n: i64| n.max(0) as u64;
        BatchDescription {
            job_id: r.job_id.clone(),
            kind: BatchKind::from(r.operation_type),
            state: BatchState::from(r.state),
            start_time: r.start_time.as_ref().map(from_timestamp),
            close_time: r.close_time.as_ref().map(from_timestamp),
            total: count(r.total_operation_count),
            completed: count(r.complete_operation_count),
            failed: count(r.failure_operation_count),
            reason: r.reason.clone(),
            query: r.query.clone(),
            identity: r.identity.clone(),
            raw: r,
        }
    }
}

/// A batch job as `list_batches` tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    /// The job's id.
    pub job_id: String,
    /// What it does.
    pub kind: BatchKind,
    /// Where it is.
    pub state: BatchState,
    /// When it started.
    pub start_time: Option<SystemTime>,
    /// When it ended.
    pub close_time: Option<SystemTime>,
}

impl From<pb::BatchOperationInfo> for BatchSummary {
    fn from(i: pb::BatchOperationInfo) -> Self {
        BatchSummary {
            job_id: i.job_id,
            kind: BatchKind::from(i.operation_type),
            state: BatchState::from(i.state),
            start_time: i.start_time.as_ref().map(from_timestamp),
            close_time: i.close_time.as_ref().map(from_timestamp),
        }
    }
}

/// A batch job the server runs, known by its id.
#[derive(Debug, Clone)]
pub struct BatchHandle {
    client: Client,
    job_id: String,
}

impl BatchHandle {
    /// The job's id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Where the job is, and how many workflows it has acted on.
    pub async fn describe(&self) -> Result<BatchDescription, ClientError> {
        let request = ws::DescribeBatchOperationRequest {
            namespace: self.client.namespace().to_string(),
            job_id: self.job_id.clone(),
        };
        let resp = self
            .client
            .call(
                request,
                None,
                |mut s, r| async move { s.describe_batch_operation(r).await },
            )
            .await
            .map_err(|e| e.into_batch_error(&self.job_id))?;
        Ok(BatchDescription::from(resp))
    }

    /// Stops the job: the workflows it has not reached yet are left alone.
    pub async fn stop(&self, reason: &str) -> Result<(), ClientError> {
        let request = ws::StopBatchOperationRequest {
            namespace: self.client.namespace().to_string(),
            job_id: self.job_id.clone(),
            reason: reason.to_string(),
            identity: self.client.identity().to_string(),
        };
        self.client
            .call(request, None, |mut s, r| async move { s.stop_batch_operation(r).await })
            .await
            .map_err(|e| e.into_batch_error(&self.job_id))?;
        Ok(())
    }

    /// Waits until the job is no longer running and returns its last description, asking the
    /// server at growing intervals (from 100 ms up to 2 s). Past `bound` it fails with
    /// [`ClientError::DeadlineExceeded`], naming the job and how far it got.
    pub async fn wait(&self, bound: Duration) -> Result<BatchDescription, ClientError> {
        let deadline = tokio::time::Instant::now() + bound;
        let mut interval = Duration::from_millis(100);
        loop {
            let description = self.describe().await?;
            if description.state != BatchState::Running {
                return Ok(description);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ClientError::DeadlineExceeded(format!(
                    "batch job `{}` was still running after {bound:?}: {} of {} workflows done, {} failed",
                    self.job_id, description.completed, description.total, description.failed
                )));
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 2).min(Duration::from_secs(2));
        }
    }
}

impl RpcError {
    /// The client error a batch call's status means, named by the job's id.
    fn into_batch_error(self, job_id: &str) -> ClientError {
        let job_id = job_id.to_string();
        match self.status.code() {
            tonic::Code::AlreadyExists => ClientError::BatchAlreadyExists { job_id },
            tonic::Code::NotFound => ClientError::BatchNotFound { job_id },
            _ => from_status(self.status, self.attempts, None),
        }
    }
}

impl Client {
    /// Starts a batch job on the workflows `options.query` matches; returns its handle at once
    /// (the server works through the workflows in the background).
    pub async fn start_batch(&self, options: BatchOptions) -> Result<BatchHandle, ClientError> {
        let identity = self.identity().to_string();
        let operation = match options.operation {
            BatchOperation::Signal { name, args } => {
                let input = self.data_converter().encode_raw(args).await?;
                Operation::SignalOperation(pb::BatchOperationSignal {
                    signal: name,
                    input: (!input.payloads.is_empty()).then_some(input),
                    header: None,
                    identity,
                })
            }
            BatchOperation::Cancel => Operation::CancellationOperation(pb::BatchOperationCancellation { identity }),
            BatchOperation::Terminate => Operation::TerminationOperation(pb::BatchOperationTermination {
                details: None,
                identity,
            }),
        };
        let job_id = options.job_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let request = ws::StartBatchOperationRequest {
            namespace: self.namespace().to_string(),
            visibility_query: options.query,
            job_id: job_id.clone(),
            reason: options.reason,
            max_operations_per_second: options.max_operations_per_second.unwrap_or(0.0),
            operation: Some(operation),
            ..Default::default()
        };
        self.call(
            request,
            None,
            |mut s, r| async move { s.start_batch_operation(r).await },
        )
        .await
        .map_err(|e| e.into_batch_error(&job_id))?;
        Ok(self.batch_handle(job_id))
    }

    /// A handle to a batch job started earlier (by this process or another, or the CLI).
    pub fn batch_handle(&self, job_id: impl Into<String>) -> BatchHandle {
        BatchHandle {
            client: self.clone(),
            job_id: job_id.into(),
        }
    }

    /// The namespace's batch jobs, running and ended, fetching pages as the stream is read.
    pub fn list_batches(&self) -> impl Stream<Item = Result<BatchSummary, ClientError>> + use<> {
        let client = self.clone();
        paginate(move |page_token| {
            let client = client.clone();
            let request = ws::ListBatchOperationsRequest {
                namespace: client.namespace().to_string(),
                page_size: 100,
                next_page_token: page_token,
            };
            async move {
                let resp = client
                    .call(
                        request,
                        None,
                        |mut s, r| async move { s.list_batch_operations(r).await },
                    )
                    .await?;
                let page = resp.operation_info.into_iter().map(BatchSummary::from).collect();
                Ok((page, resp.next_page_token))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn kinds_and_states_read_current_and_deprecated_values() {
        assert_eq!(
            BatchKind::from(BatchOperationType::TerminateWorkflow as i32),
            BatchKind::Terminate
        );
        assert_eq!(
            BatchKind::from(BatchOperationType::Terminate as i32),
            BatchKind::Terminate
        );
        assert_eq!(BatchKind::from(BatchOperationType::Signal as i32), BatchKind::Signal);
        assert_eq!(
            BatchKind::from(BatchOperationType::CancelWorkflow as i32),
            BatchKind::Cancel
        );
        assert_eq!(BatchKind::from(999), BatchKind::Other(999));
        assert_eq!(
            BatchState::from(BatchOperationState::Completed as i32),
            BatchState::Completed
        );
        assert_eq!(BatchState::from(0), BatchState::Unspecified);
    }

    #[test]
    fn batch_statuses_name_the_job() {
        let error = |code| {
            RpcError {
                status: tonic::Status::new(code, "m"),
                attempts: 1,
            }
            .into_batch_error("job-7")
        };
        assert!(matches!(error(tonic::Code::NotFound), ClientError::BatchNotFound { job_id } if job_id == "job-7"));
        assert!(matches!(
            error(tonic::Code::AlreadyExists),
            ClientError::BatchAlreadyExists { job_id } if job_id == "job-7"
        ));
        assert!(matches!(
            error(tonic::Code::InvalidArgument),
            ClientError::InvalidArgument(_)
        ));
    }

    #[test]
    fn a_signal_carries_one_payload_per_argument() {
        let BatchOperation::Signal { name, args } = BatchOperation::signal("add", ("tea".to_string(), 2)).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(name, "add");
        assert_eq!(args.len(), 2);
    }
}
