//! What a run knows about itself: [`WorkflowInfo`], filled from the start event and kept
//! current as history arrives.

use crate::client::headers::Headers;
use crate::client::options::RetryPolicy;
use crate::client::proto::history::WorkflowExecutionStartedEventAttributes;
use crate::client::time::{from_proto_duration, from_timestamp};
use crate::engine::run_state::RunState;
use std::time::{Duration, SystemTime};

/// Facts about the running workflow, from its start event (the fields of the Go SDK's
/// `workflow.Info`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WorkflowInfo {
    /// The workflow type.
    pub workflow_type: String,
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The namespace.
    pub namespace: String,
    /// The task queue of the workflow.
    pub task_queue: String,
    /// The attempt of the run (retries of the whole workflow), from 1.
    pub attempt: u32,
    /// The run this one continued (continue-as-new, a retry or a cron run), if any.
    pub continued_from_run_id: Option<String>,
    /// The first run of the chain this run belongs to (retries and continue-as-new).
    pub first_execution_run_id: String,
    /// The run id this run had when it started (differs from `run_id` after a reset).
    pub original_run_id: String,
    /// The parent workflow, when this is a child.
    pub parent: Option<ParentInfo>,
    /// The cron schedule, when the workflow was started with one.
    pub cron_schedule: Option<String>,
    /// Limit of the whole chain of runs, if set.
    pub execution_timeout: Option<Duration>,
    /// Limit of this run, if set.
    pub run_timeout: Option<Duration>,
    /// Limit of one workflow task.
    pub task_timeout: Duration,
    /// The workflow's retry policy, if it has one.
    pub retry_policy: Option<RetryPolicy>,
    /// When this run started.
    pub start_time: Option<SystemTime>,
    /// Events in history so far (as of the current workflow task).
    pub history_length: u32,
    /// Whether the server suggests continuing as new (the history grows large).
    pub continue_as_new_suggested: bool,
    /// The Temporal headers the run was started with (read them with
    /// [`WorkflowContext::header`](crate::workflow::WorkflowContext::header)); a
    /// continue-as-new carries them to the next run.
    pub headers: Headers,
}

/// The parent of a child workflow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParentInfo {
    /// The parent's namespace.
    pub namespace: String,
    /// The parent's workflow id.
    pub workflow_id: String,
    /// The parent's run id.
    pub run_id: String,
}

impl RunState {
    /// Reads the start event: the info fields (which a continue-as-new carries over) and the
    /// search attributes and memo the run starts with.
    pub(crate) fn set_start_facts(
        &mut self,
        started: &WorkflowExecutionStartedEventAttributes,
        time: Option<&prost_wkt_types::Timestamp>,
    ) {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        self.search_attributes = started
            .search_attributes
            .clone()
            .map(|s| s.indexed_fields)
            .unwrap_or_default();
        self.memo = started.memo.clone().map(|m| m.fields).unwrap_or_default();
        let info = &mut self.info;
        info.attempt = started.attempt.max(1) as u32;
        if let Some(q) = &started.task_queue {
            info.task_queue = q.name.clone();
        }
        info.continued_from_run_id = non_empty(&started.continued_execution_run_id);
        info.first_execution_run_id = started.first_execution_run_id.clone();
        info.original_run_id = started.original_execution_run_id.clone();
        info.parent = started.parent_workflow_execution.as_ref().map(|p| ParentInfo {
            namespace: started.parent_workflow_namespace.clone(),
            workflow_id: p.workflow_id.clone(),
            run_id: p.run_id.clone(),
        });
        info.cron_schedule = non_empty(&started.cron_schedule);
        info.execution_timeout = started.workflow_execution_timeout.as_ref().map(from_proto_duration);
        info.run_timeout = started.workflow_run_timeout.as_ref().map(from_proto_duration);
        info.task_timeout = started
            .workflow_task_timeout
            .as_ref()
            .map(from_proto_duration)
            .unwrap_or(Duration::from_secs(10));
        info.retry_policy = started.retry_policy.as_ref().map(RetryPolicy::from);
        info.start_time = time.map(from_timestamp);
        info.headers = Headers::from(&started.header);
    }
}
