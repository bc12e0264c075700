//! Events that arrive while a workflow task runs wait until it completes, as on the server:
//! the task's completion and its commands' events come first, then the waiting events, in
//! arrival order, with their final ids. A run that closed in that task drops them.

use super::*;

/// Whether an event is written at once even while a task runs: the task's own events and the
/// run's close (a terminate or a timeout does not wait for the task).
pub(super) fn belongs_to_the_task(event: &HistoryEvent) -> bool {
    matches!(
        event.attributes,
        Some(
            Ev::WorkflowTaskScheduledEventAttributes(_)
                | Ev::WorkflowTaskStartedEventAttributes(_)
                | Ev::WorkflowTaskCompletedEventAttributes(_)
                | Ev::WorkflowTaskFailedEventAttributes(_)
                | Ev::WorkflowTaskTimedOutEventAttributes(_)
                | Ev::WorkflowExecutionCompletedEventAttributes(_)
                | Ev::WorkflowExecutionFailedEventAttributes(_)
                | Ev::WorkflowExecutionTimedOutEventAttributes(_)
                | Ev::WorkflowExecutionTerminatedEventAttributes(_)
                | Ev::WorkflowExecutionCanceledEventAttributes(_)
                | Ev::WorkflowExecutionContinuedAsNewEventAttributes(_)
        )
    )
}

impl State {
    /// Writes the events buffered during the task that just ended, giving each its id (and
    /// rewriting the placeholder ids buffered events cite: an activity's close names its
    /// buffered start).
    pub(super) fn flush_buffered(&mut self, run_id: &str) {
        let Some(execution) = self.executions.get_mut(run_id) else {
            return;
        };
        let buffered = std::mem::take(&mut execution.buffered);
        if !execution.is_open() || buffered.is_empty() {
            return;
        }
        let first_id = execution.history.len() as i64 + 1;
        // Placeholder -n is the n-th buffered event.
        let final_id = |placeholder: i64| {
            if placeholder < 0 {
                first_id - placeholder - 1
            } else {
                placeholder
            }
        };
        for (i, mut event) in buffered.into_iter().enumerate() {
            event.event_id = first_id + i as i64;
            match &mut event.attributes {
                Some(Ev::ActivityTaskCompletedEventAttributes(a)) => a.started_event_id = final_id(a.started_event_id),
                Some(Ev::ActivityTaskFailedEventAttributes(a)) => a.started_event_id = final_id(a.started_event_id),
                Some(Ev::ActivityTaskTimedOutEventAttributes(a)) => a.started_event_id = final_id(a.started_event_id),
                Some(Ev::ActivityTaskCanceledEventAttributes(a)) => a.started_event_id = final_id(a.started_event_id),
                _ => {}
            }
            execution.history.push(event);
        }
    }
}

impl State {
    /// Whether a task's answer would close the run although events arrived while it ran (a
    /// signal, an activity's outcome): the code has not seen them, so, as the server does, the
    /// answer is refused and a new task carries them.
    pub(super) fn closes_over_buffered_events(&self, run_id: &str, commands: &[Command]) -> bool {
        let closes = commands.iter().any(|c| {
            matches!(
                c.attributes,
                Some(
                    Cmd::CompleteWorkflowExecutionCommandAttributes(_)
                        | Cmd::FailWorkflowExecutionCommandAttributes(_)
                        | Cmd::CancelWorkflowExecutionCommandAttributes(_)
                        | Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(_)
                )
            )
        });
        closes && !self.executions[run_id].buffered.is_empty()
    }

    /// Records the refused answer as a task failure (`UNHANDLED_COMMAND`), writes the waiting
    /// events, and schedules a new task on the normal queue, which replays the whole history.
    pub(super) fn fail_task_for_unhandled_events(&mut self, run_id: &str, started_event_id: i64, identity: String) {
        self.append(
            run_id,
            Ev::WorkflowTaskFailedEventAttributes(h::WorkflowTaskFailedEventAttributes {
                scheduled_event_id: started_event_id - 1,
                started_event_id,
                cause: workflow_client::proto::enums::WorkflowTaskFailedCause::UnhandledCommand as i32,
                identity,
                ..Default::default()
            }),
        );
        self.flush_buffered(run_id);
        // Updates the refused answer carried are delivered again with the new task.
        for ((run, _), update) in self.updates.iter_mut() {
            if run == run_id && update.stage == UpdateStage::Admitted {
                update.delivered = false;
            }
        }
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        execution.sticky_queue = None;
        execution.task_again = false;
        self.schedule_task(run_id);
    }
}
