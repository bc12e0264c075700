//! What the server tells about runs: summaries from list/count, and descriptions.

use crate::deployment::{VersioningBehavior, WorkerDeploymentVersion};
use crate::proto::common::Payload;
use crate::proto::workflow::WorkflowExecutionInfo;
use crate::proto::workflowservice::DescribeWorkflowExecutionResponse;
use crate::time::from_timestamp;
use std::collections::HashMap;
use std::time::SystemTime;

pub use crate::proto::enums::WorkflowExecutionStatus;

/// One run, as visibility lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSummary {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The workflow type name.
    pub workflow_type: String,
    /// Running, completed, failed, …
    pub status: WorkflowExecutionStatus,
    /// The task queue.
    pub task_queue: String,
    /// When the run started.
    pub start_time: Option<SystemTime>,
    /// When the run closed.
    pub close_time: Option<SystemTime>,
    /// Events in the run's history.
    pub history_length: i64,
    /// Memo fields, as stored.
    pub memo: HashMap<String, Payload>,
    /// Search attributes, as stored.
    pub search_attributes: HashMap<String, Payload>,
}

impl From<WorkflowExecutionInfo> for WorkflowSummary {
    fn from(i: WorkflowExecutionInfo) -> Self {
        let exec = i.execution.unwrap_or_default();
        WorkflowSummary {
            workflow_id: exec.workflow_id,
            run_id: exec.run_id,
            workflow_type: i.r#type.map(|t| t.name).unwrap_or_default(),
            status: WorkflowExecutionStatus::try_from(i.status).unwrap_or(WorkflowExecutionStatus::Unspecified),
            task_queue: i.task_queue,
            start_time: i.start_time.as_ref().map(from_timestamp),
            close_time: i.close_time.as_ref().map(from_timestamp),
            history_length: i.history_length,
            memo: i.memo.map(|m| m.fields).unwrap_or_default(),
            search_attributes: i.search_attributes.map(|s| s.indexed_fields).unwrap_or_default(),
        }
    }
}

/// One run, as `describe` tells it.
#[derive(Debug, Clone)]
pub struct WorkflowDescription {
    /// The summary fields.
    pub summary: WorkflowSummary,
    /// Whether cancellation was requested.
    pub cancel_requested: bool,
    /// Activities scheduled and not finished.
    pub pending_activities: usize,
    /// Child workflows started and not finished.
    pub pending_children: usize,
    /// How the run moves between worker deployment versions, as its last workflow task's
    /// worker declared it (`None`: unversioned workers ran it).
    pub versioning_behavior: Option<VersioningBehavior>,
    /// The worker deployment version the run is on (`None`: unversioned workers run it).
    pub deployment_version: Option<WorkerDeploymentVersion>,
    /// The whole response, for fields not summarized here.
    pub raw: DescribeWorkflowExecutionResponse,
}

impl From<DescribeWorkflowExecutionResponse> for WorkflowDescription {
    fn from(r: DescribeWorkflowExecutionResponse) -> Self {
        let versioning = (r.workflow_execution_info.as_ref()).and_then(|i| i.versioning_info.clone());
        WorkflowDescription {
            summary: WorkflowSummary::from(r.workflow_execution_info.clone().unwrap_or_default()),
            cancel_requested: r.workflow_extended_info.as_ref().is_some_and(|e| e.cancel_requested),
            pending_activities: r.pending_activities.len(),
            pending_children: r.pending_children.len(),
            versioning_behavior: versioning
                .as_ref()
                .and_then(|v| VersioningBehavior::from_proto(v.behavior)),
            deployment_version: versioning.and_then(|v| WorkerDeploymentVersion::from_proto(v.deployment_version)),
            raw: r,
        }
    }
}
