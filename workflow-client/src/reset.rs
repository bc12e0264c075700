//! Resetting a workflow: the run is ended and a new run carries its history up to a workflow
//! task, from where the workflow code runs again (after a bug fix, say). Signals and updates
//! the old run received after that point are applied to the new run again unless excluded.
//!
//! ```no_run
//! # use workflow_client::{ClientError, UntypedWorkflowHandle};
//! # async fn demo(order: UntypedWorkflowHandle) -> Result<(), ClientError> {
//! use workflow_client::reset::ResetOptions;
//! // Run the last workflow task again with the fixed code; signals received since are kept.
//! let new_run = order.reset(ResetOptions::last_workflow_task("fixed the pricing bug")).await?;
//! // Or start over from the first task, without the signals the old run received.
//! let fresh = order
//!     .reset(ResetOptions::first_workflow_task("replay from scratch").reapply_signals(false))
//!     .await?;
//! # Ok(()) }
//! ```

use crate::error::ClientError;
use crate::handle::UntypedWorkflowHandle;
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::{EventType, ResetReapplyExcludeType, ResetReapplyType};
use crate::proto::history::HistoryEvent;
use crate::proto::workflowservice as ws;

/// Where the new run takes over from the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTarget {
    /// The run's first completed workflow task (or, when none completed, its first one): the
    /// workflow code runs again from its start.
    FirstWorkflowTask,
    /// The run's last completed workflow task (or, when none completed, its first one): the
    /// code runs again from the last decision it made.
    LastWorkflowTask,
    /// A `WorkflowTaskCompleted`, `WorkflowTaskFailed`, `WorkflowTaskTimedOut` or
    /// `WorkflowTaskStarted` event of the run, by id: the new run keeps the events before it.
    Event(i64),
}

/// What [`UntypedWorkflowHandle::reset`] does: where to, why, and which of the old run's later
/// signals and updates the new run receives again.
#[derive(Debug, Clone)]
pub struct ResetOptions {
    /// Where the new run takes over.
    pub target: ResetTarget,
    /// Why, recorded in both runs' histories.
    pub reason: String,
    /// Whether signals the old run received after the reset point are sent to the new run
    /// again (default `true`).
    pub reapply_signals: bool,
    /// Whether updates the old run accepted after the reset point are delivered to the new run
    /// again (default `true`).
    pub reapply_updates: bool,
    /// Deduplicates the request (a random id when `None`).
    pub request_id: Option<String>,
}

impl ResetOptions {
    /// A reset to `target`, reapplying later signals and updates.
    pub fn new(target: ResetTarget, reason: impl Into<String>) -> Self {
        ResetOptions {
            target,
            reason: reason.into(),
            reapply_signals: true,
            reapply_updates: true,
            request_id: None,
        }
    }

    /// A reset to the run's first workflow task (as `temporal workflow reset --type FirstWorkflowTask`).
    pub fn first_workflow_task(reason: impl Into<String>) -> Self {
        Self::new(ResetTarget::FirstWorkflowTask, reason)
    }

    /// A reset to the run's last completed workflow task (as `temporal workflow reset --type LastWorkflowTask`).
    pub fn last_workflow_task(reason: impl Into<String>) -> Self {
        Self::new(ResetTarget::LastWorkflowTask, reason)
    }

    /// A reset to a workflow task event, by id (as `temporal workflow reset --event-id`).
    pub fn event(event_id: i64, reason: impl Into<String>) -> Self {
        Self::new(ResetTarget::Event(event_id), reason)
    }

    /// Whether the old run's later signals reach the new run.
    pub fn reapply_signals(mut self, reapply: bool) -> Self {
        self.reapply_signals = reapply;
        self
    }

    /// Whether the old run's later updates reach the new run.
    pub fn reapply_updates(mut self, reapply: bool) -> Self {
        self.reapply_updates = reapply;
        self
    }

    /// Sets the id that deduplicates the request.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// The event kinds the server must not reapply.
    fn excluded(&self) -> Vec<i32> {
        [
            (!self.reapply_signals).then_some(ResetReapplyExcludeType::Signal),
            (!self.reapply_updates).then_some(ResetReapplyExcludeType::Update),
        ]
        .into_iter()
        .flatten()
        .map(|t| t as i32)
        .collect()
    }
}

/// Finds a reset point in history events read in one direction: the first
/// `WorkflowTaskCompleted` met wins; without one, the event after the earliest
/// `WorkflowTaskScheduled` (its `WorkflowTaskStarted`), as the `temporal` CLI chooses.
#[derive(Default)]
struct ResetPoint {
    earliest_scheduled: Option<i64>,
}

impl ResetPoint {
    /// The completed task's event id, when `event` is one.
    fn feed(&mut self, event: &HistoryEvent) -> Option<i64> {
        match EventType::try_from(event.event_type) {
            Ok(EventType::WorkflowTaskCompleted) => Some(event.event_id),
            Ok(EventType::WorkflowTaskScheduled) => {
                let earliest = self.earliest_scheduled.get_or_insert(event.event_id);
                *earliest = (*earliest).min(event.event_id);
                None
            }
            _ => None,
        }
    }

    /// The reset point when no completed task was met.
    fn fallback(&self) -> Option<i64> {
        self.earliest_scheduled.map(|id| id + 1)
    }
}

impl UntypedWorkflowHandle {
    /// Resets the run this handle targets (its latest run when it names none): the server ends
    /// it (terminated, when it is running) and starts a new run with its history up to the
    /// reset point; the workflow's code runs again from there. Returns a handle to the new run.
    ///
    /// [`ResetTarget::FirstWorkflowTask`] and [`ResetTarget::LastWorkflowTask`] read the run's
    /// history for the first or last `WorkflowTaskCompleted` event, as `temporal workflow
    /// reset --type` does. An event that is no workflow task event, or a run without any
    /// workflow task, fails with [`ClientError::InvalidArgument`].
    pub async fn reset(&self, options: ResetOptions) -> Result<UntypedWorkflowHandle, ClientError> {
        let client = self.client();
        let run_id = match self.run_id() {
            Some(run_id) => run_id.to_string(),
            // Pinned first, so the event ids read below and the reset name the same run.
            None => self.describe().await?.summary.run_id,
        };
        let execution = WorkflowExecution {
            workflow_id: self.workflow_id().to_string(),
            run_id: run_id.clone(),
        };
        let event_id = match options.target {
            ResetTarget::Event(id) if id > 0 => id,
            ResetTarget::Event(id) => {
                return Err(ClientError::InvalidArgument(format!(
                    "reset to event {id}: event ids start at 1"
                )));
            }
            ResetTarget::FirstWorkflowTask => self.find_reset_point(&execution, false).await?,
            ResetTarget::LastWorkflowTask => self.find_reset_point(&execution, true).await?,
        };
        #[allow(deprecated)] // The CLI's "reapply all, but these" shape: the type field is still read.
        let request = ws::ResetWorkflowExecutionRequest {
            namespace: client.namespace().to_string(),
            workflow_execution: Some(execution),
            reason: options.reason.clone(),
            workflow_task_finish_event_id: event_id,
            request_id: options
                .request_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            reset_reapply_type: ResetReapplyType::AllEligible as i32,
            reset_reapply_exclude_types: options.excluded(),
            post_reset_operations: Vec::new(),
            identity: client.identity().to_string(),
        };
        let resp = client
            .call(
                request,
                None,
                |mut s, r| async move { s.reset_workflow_execution(r).await },
            )
            .await
            .map_err(|e| e.into_client_error(Some(self.workflow_id())))?;
        tracing::debug!(workflow_id = %self.workflow_id(), from_run = %run_id, event_id, new_run = %resp.run_id, "workflow reset");
        Ok(self.for_run(resp.run_id))
    }

    /// The first (or, `from_end`, the last) completed workflow task of the run, read page by
    /// page from that end of its history until found.
    async fn find_reset_point(&self, execution: &WorkflowExecution, from_end: bool) -> Result<i64, ClientError> {
        let client = self.client();
        let namespace = client.namespace().to_string();
        let mut point = ResetPoint::default();
        let mut token = Vec::new();
        loop {
            let rpc_error = |e: crate::client::RpcError| e.into_client_error(Some(self.workflow_id()));
            let (events, next) = if from_end {
                let request = ws::GetWorkflowExecutionHistoryReverseRequest {
                    namespace: namespace.clone(),
                    execution: Some(execution.clone()),
                    maximum_page_size: 100,
                    next_page_token: token,
                };
                let resp = client
                    .call(request, None, |mut s, r| async move {
                        s.get_workflow_execution_history_reverse(r).await
                    })
                    .await
                    .map_err(rpc_error)?;
                (resp.history.map(|h| h.events), resp.next_page_token)
            } else {
                let request = ws::GetWorkflowExecutionHistoryRequest {
                    namespace: namespace.clone(),
                    execution: Some(execution.clone()),
                    maximum_page_size: 100,
                    next_page_token: token,
                    skip_archival: true,
                    ..Default::default()
                };
                let resp = client
                    .call(request, None, |mut s, r| async move {
                        s.get_workflow_execution_history(r).await
                    })
                    .await
                    .map_err(rpc_error)?;
                (resp.history.map(|h| h.events), resp.next_page_token)
            };
            if let Some(found) = events.unwrap_or_default().iter().find_map(|e| point.feed(e)) {
                return Ok(found);
            }
            if next.is_empty() {
                break;
            }
            token = next;
        }
        point.fallback().ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "run `{}` of workflow `{}` has no workflow task to reset to",
                execution.run_id, execution.workflow_id
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(types: &[EventType]) -> Vec<HistoryEvent> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| HistoryEvent {
                event_id: i as i64 + 1,
                event_type: *t as i32,
                ..Default::default()
            })
            .collect()
    }

    fn point<'a>(events: impl Iterator<Item = &'a HistoryEvent>) -> Option<i64> {
        let mut point = ResetPoint::default();
        for e in events {
            if let Some(found) = point.feed(e) {
                return Some(found);
            }
        }
        point.fallback()
    }

    #[test]
    fn first_and_last_completed_tasks_are_found_from_either_end() {
        use EventType::*;
        let history = events(&[
            WorkflowExecutionStarted,  // 1
            WorkflowTaskScheduled,     // 2
            WorkflowTaskStarted,       // 3
            WorkflowTaskCompleted,     // 4
            WorkflowExecutionSignaled, // 5
            WorkflowTaskScheduled,     // 6
            WorkflowTaskStarted,       // 7
            WorkflowTaskCompleted,     // 8
            WorkflowExecutionSignaled, // 9
            WorkflowTaskScheduled,     // 10
        ]);
        assert_eq!(point(history.iter()), Some(4));
        assert_eq!(point(history.iter().rev()), Some(8));
    }

    #[test]
    fn without_a_completed_task_the_first_task_started_is_the_point() {
        use EventType::*;
        let history = events(&[
            WorkflowExecutionStarted, // 1
            WorkflowTaskScheduled,    // 2
            WorkflowTaskStarted,      // 3
            WorkflowTaskFailed,       // 4
            WorkflowTaskScheduled,    // 5
        ]);
        assert_eq!(point(history.iter()), Some(3));
        assert_eq!(point(history.iter().rev()), Some(3));
        assert_eq!(point(events(&[WorkflowExecutionStarted]).iter()), None);
    }

    #[test]
    fn excluded_kinds_follow_the_options() {
        let all = ResetOptions::last_workflow_task("r");
        assert!(all.excluded().is_empty());
        let none = all.clone().reapply_signals(false).reapply_updates(false);
        assert_eq!(
            none.excluded(),
            [
                ResetReapplyExcludeType::Signal as i32,
                ResetReapplyExcludeType::Update as i32
            ]
        );
    }
}
