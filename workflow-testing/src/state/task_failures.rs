//! Failed and timed-out workflow tasks. By default a failed task (a panic, a nondeterminism
//! error) fails the run at once, so a test sees it instead of waiting on retries; with
//! `retry_failed_tasks` the environment does what the server does: records the failure, and
//! hands out the task again (attempt n + 1, on the normal queue, with the whole history), and a
//! task the worker does not answer within its task timeout times out and is retried too.

use super::*;

impl State {
    /// The worker reported the task `started_event_id` of `run_id` failed.
    pub(crate) fn workflow_task_failed(
        &mut self,
        run_id: &str,
        started_event_id: i64,
        cause: i32,
        failure: Option<ProtoFailure>,
    ) {
        if !self.retry_failed_tasks {
            return self.fail_workflow_task(run_id, failure);
        }
        let Some(execution) = self.executions.get(run_id) else {
            return;
        };
        if !execution.is_open() || execution.current_task_started() != Some(started_event_id) {
            return;
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.append(
            run_id,
            Ev::WorkflowTaskFailedEventAttributes(h::WorkflowTaskFailedEventAttributes {
                scheduled_event_id: started_event_id - 1,
                started_event_id,
                cause,
                failure,
                ..Default::default()
            }),
        );
        self.retry_task(run_id);
    }

    /// Times out the workflow tasks a worker held past their task timeout (real time, as the
    /// worker's code runs in real time), and hands each out again, as the server does whether
    /// or not failed tasks are retried: a worker that went away with a task is not a bug in the
    /// workflow. Returns whether any timed out.
    pub(crate) fn expire_workflow_tasks(&mut self, now: std::time::Instant) -> bool {
        let expired: Vec<(String, i64)> = self
            .executions
            .values()
            .filter(|e| e.is_open() && e.task == TaskState::Started)
            .filter(|e| e.task_started_at.is_some_and(|at| now >= at + e.task_timeout))
            .filter_map(|e| Some((e.run_id.clone(), e.current_task_started()?)))
            .collect();
        for (run_id, started_event_id) in &expired {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.append(
                run_id,
                Ev::WorkflowTaskTimedOutEventAttributes(h::WorkflowTaskTimedOutEventAttributes {
                    scheduled_event_id: started_event_id - 1,
                    started_event_id: *started_event_id,
                    timeout_type: workflow_client::proto::enums::TimeoutType::StartToClose as i32,
                }),
            );
            self.retry_task(run_id);
        }
        !expired.is_empty()
    }

    /// Schedules the next attempt of the run's workflow task, on the normal queue.
    fn retry_task(&mut self, run_id: &str) {
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        execution.task = TaskState::Idle;
        execution.task_started_at = None;
        execution.task_attempt += 1;
        execution.task_again = false;
        execution.sticky_queue = None;
        self.flush_buffered(run_id);
        self.schedule_task(run_id);
    }
}

impl Execution {
    /// The `WorkflowTaskStarted` event of the task in a worker's hands, if one is.
    pub(super) fn current_task_started(&self) -> Option<i64> {
        if self.task != TaskState::Started {
            return None;
        }
        self.history
            .iter()
            .rev()
            .find(|e| matches!(e.attributes, Some(Ev::WorkflowTaskStartedEventAttributes(_))))
            .map(|e| e.event_id)
    }
}
