//! What the server tells about a schedule: its description (with the actions it took and the
//! times it will act next) and its entry in a list.

use crate::client::Client;
use crate::error::ClientError;
use crate::proto::common::{Memo, Payload, SearchAttributes, WorkflowExecution};
use crate::proto::schedule as ps;
use crate::proto::workflowservice::DescribeScheduleResponse;
use crate::schedule::{Schedule, ScheduleSpec};
use crate::time::from_timestamp;
use crate::visibility::WorkflowExecutionStatus;
use std::collections::HashMap;
use std::time::SystemTime;

/// A schedule as `describe` tells it.
#[derive(Debug, Clone)]
pub struct ScheduleDescription {
    /// The schedule id.
    pub id: String,
    /// The schedule, as the server keeps it: cron strings compiled into calendars, defaults
    /// filled in (a 10 s workflow task timeout, a one-year catch-up window).
    pub schedule: Schedule,
    /// What it did and will do.
    pub info: ScheduleInfo,
    /// The schedule's memo, through the codec.
    pub memo: HashMap<String, Payload>,
    /// The schedule's search attributes.
    pub search_attributes: HashMap<String, Payload>,
    /// The whole response (payloads as stored), for fields not read here.
    pub raw: DescribeScheduleResponse,
}

impl ScheduleDescription {
    /// The version of the schedule this description read; an update based on it is refused
    /// once the schedule changed ([`ClientError::ScheduleConflict`]).
    pub fn conflict_token(&self) -> &[u8] {
        &self.raw.conflict_token
    }

    pub(crate) async fn from_proto(
        id: String,
        raw: DescribeScheduleResponse,
        client: &Client,
    ) -> Result<Self, ClientError> {
        let schedule = Schedule::from_proto(raw.schedule.clone().unwrap_or_default(), client).await?;
        let (memo, search_attributes) =
            memo_and_attributes(raw.memo.clone(), raw.search_attributes.clone(), client).await?;
        Ok(ScheduleDescription {
            id,
            schedule,
            info: ScheduleInfo::from(raw.info.clone().unwrap_or_default()),
            memo,
            search_attributes,
            raw,
        })
    }
}

/// The memo through the codec, and the search attributes as they are.
async fn memo_and_attributes(
    memo: Option<Memo>,
    search_attributes: Option<SearchAttributes>,
    client: &Client,
) -> Result<(HashMap<String, Payload>, HashMap<String, Payload>), ClientError> {
    let memo = client
        .data_converter()
        .decode_map(memo.map(|m| m.fields).unwrap_or_default())
        .await?;
    Ok((memo, search_attributes.map(|s| s.indexed_fields).unwrap_or_default()))
}

/// What a schedule did and will do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleInfo {
    /// Actions taken so far (scheduled, triggered and backfilled).
    pub action_count: u64,
    /// Actions missed because they were past the catch-up window.
    pub missed_catchup_window: u64,
    /// Actions skipped by the overlap policy.
    pub overlap_skipped: u64,
    /// Actions dropped because the buffer was full.
    pub buffer_dropped: u64,
    /// Actions waiting in the buffer.
    pub buffer_size: u64,
    /// Workflows started by the schedule that are still running.
    pub running_workflows: Vec<ScheduledRun>,
    /// The latest actions, oldest first (the server keeps about ten).
    pub recent_actions: Vec<ScheduleActionResult>,
    /// The next times the schedule will act, soonest first (the server gives about ten).
    pub next_action_times: Vec<SystemTime>,
    /// When the schedule was created.
    pub created_at: Option<SystemTime>,
    /// When it was last updated.
    pub updated_at: Option<SystemTime>,
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

impl From<ps::ScheduleInfo> for ScheduleInfo {
    fn from(i: ps::ScheduleInfo) -> Self {
        ScheduleInfo {
            action_count: count(i.action_count),
            missed_catchup_window: count(i.missed_catchup_window),
            overlap_skipped: count(i.overlap_skipped),
            buffer_dropped: count(i.buffer_dropped),
            buffer_size: count(i.buffer_size),
            running_workflows: i.running_workflows.into_iter().map(ScheduledRun::from).collect(),
            recent_actions: i.recent_actions.into_iter().map(ScheduleActionResult::from).collect(),
            next_action_times: i.future_action_times.iter().map(from_timestamp).collect(),
            created_at: i.create_time.as_ref().map(from_timestamp),
            updated_at: i.update_time.as_ref().map(from_timestamp),
        }
    }
}

/// A workflow run a schedule started.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScheduledRun {
    /// Its workflow id (the action's id with the scheduled time appended, unless kept).
    pub workflow_id: String,
    /// Its run id.
    pub run_id: String,
}

impl From<WorkflowExecution> for ScheduledRun {
    fn from(e: WorkflowExecution) -> Self {
        ScheduledRun {
            workflow_id: e.workflow_id,
            run_id: e.run_id,
        }
    }
}

/// One action a schedule took.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleActionResult {
    /// The time the spec (with jitter) gave the action; for a backfill, the past time.
    pub scheduled_at: Option<SystemTime>,
    /// When it was taken.
    pub taken_at: Option<SystemTime>,
    /// The workflow run it started.
    pub run: ScheduledRun,
    /// That run's status as last seen by the schedule (it lags behind the run).
    pub status: WorkflowExecutionStatus,
}

impl From<ps::ScheduleActionResult> for ScheduleActionResult {
    fn from(a: ps::ScheduleActionResult) -> Self {
        ScheduleActionResult {
            scheduled_at: a.schedule_time.as_ref().map(from_timestamp),
            taken_at: a.actual_time.as_ref().map(from_timestamp),
            run: a.start_workflow_result.map(ScheduledRun::from).unwrap_or_default(),
            status: WorkflowExecutionStatus::try_from(a.start_workflow_status)
                .unwrap_or(WorkflowExecutionStatus::Unspecified),
        }
    }
}

/// A schedule as `list_schedules` gives it (visibility: it may lag behind a change).
#[derive(Debug, Clone)]
pub struct ScheduleSummary {
    /// The schedule id.
    pub id: String,
    /// The type of the workflow it starts.
    pub workflow_type: String,
    /// Whether it is paused.
    pub paused: bool,
    /// The note of its last pause or unpause.
    pub note: String,
    /// Its spec, compiled by the server.
    pub spec: ScheduleSpec,
    /// The latest actions, oldest first.
    pub recent_actions: Vec<ScheduleActionResult>,
    /// The next times it will act.
    pub next_action_times: Vec<SystemTime>,
    /// The schedule's memo, through the codec.
    pub memo: HashMap<String, Payload>,
    /// The schedule's search attributes.
    pub search_attributes: HashMap<String, Payload>,
}

impl ScheduleSummary {
    pub(crate) async fn from_proto(entry: ps::ScheduleListEntry, client: &Client) -> Result<Self, ClientError> {
        let info = entry.info.unwrap_or_default();
        let (memo, search_attributes) = memo_and_attributes(entry.memo, entry.search_attributes, client).await?;
        Ok(ScheduleSummary {
            id: entry.schedule_id,
            workflow_type: info.workflow_type.map(|t| t.name).unwrap_or_default(),
            paused: info.paused,
            note: info.notes,
            spec: info.spec.map(ScheduleSpec::from).unwrap_or_default(),
            recent_actions: info
                .recent_actions
                .into_iter()
                .map(ScheduleActionResult::from)
                .collect(),
            next_action_times: info.future_action_times.iter().map(from_timestamp).collect(),
            memo,
            search_attributes,
        })
    }
}
