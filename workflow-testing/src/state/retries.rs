//! Workflow retries, as the server does them: a run that fails (or times out) while its retry
//! policy allows another attempt closes naming the next run, which starts after the policy's
//! backoff as attempt n + 1; its parent (if any) hears only of the last attempt's end.

use super::*;

/// How the next attempt of a failed run starts.
pub(super) struct NextAttempt {
    pub(super) attempt: i32,
    pub(super) first_run_id: String,
    pub(super) backoff: Duration,
    pub(super) execution_deadline: Option<SystemTime>,
    pub(super) last_failure: Option<ProtoFailure>,
}

/// Whether a close event hands the workflow over to a retry (names the next run).
pub(super) fn is_retried(event: &Ev) -> bool {
    match event {
        Ev::WorkflowExecutionFailedEventAttributes(a) => !a.new_execution_run_id.is_empty(),
        Ev::WorkflowExecutionTimedOutEventAttributes(a) => !a.new_execution_run_id.is_empty(),
        _ => false,
    }
}

impl State {
    /// The workflow code failed the run: retried per its retry policy, or closed as failed
    /// with the retry state that says why not.
    pub(super) fn fail_run(&mut self, run_id: &str, failure: Option<ProtoFailure>, completed_id: i64) {
        let converted = Failure::from(failure.clone().unwrap_or_default());
        let (retry_state, next) = self.retry(run_id, &converted, failure.clone());
        self.close(
            run_id,
            WorkflowExecutionStatus::Failed,
            Ev::WorkflowExecutionFailedEventAttributes(h::WorkflowExecutionFailedEventAttributes {
                failure,
                retry_state: retry_state as i32,
                workflow_task_completed_event_id: completed_id,
                new_execution_run_id: next.unwrap_or_default(),
            }),
        );
    }

    /// The run's (or the workflow's execution) timeout passed: retried per its retry policy
    /// while the execution timeout allows, else closed as timed out.
    pub(super) fn time_out_run(&mut self, run_id: &str) {
        let timeout = Failure::timeout(
            "workflow timed out",
            workflow_client::proto::enums::TimeoutType::StartToClose,
        );
        // Past the execution timeout nothing is retried; past a run timeout the retry policy
        // decides (and the retry state says why not, as the server's does).
        let expired = self.executions[run_id]
            .execution_deadline
            .is_some_and(|d| self.now >= d);
        let (retry_state, next) = if expired {
            (RetryState::Timeout, None)
        } else {
            self.retry(run_id, &timeout, None)
        };
        self.close(
            run_id,
            WorkflowExecutionStatus::TimedOut,
            Ev::WorkflowExecutionTimedOutEventAttributes(h::WorkflowExecutionTimedOutEventAttributes {
                retry_state: retry_state as i32,
                new_execution_run_id: next.unwrap_or_default(),
            }),
        );
    }

    /// Starts the next attempt of `run_id` when its retry policy allows one for `failure`:
    /// `(InProgress, Some(next run))`; otherwise the retry state that says why not.
    fn retry(
        &mut self,
        run_id: &str,
        failure: &Failure,
        last_failure: Option<ProtoFailure>,
    ) -> (RetryState, Option<String>) {
        let execution = &self.executions[run_id];
        let Some(policy) = execution.request.retry_policy.as_ref() else {
            return (RetryState::RetryPolicyNotSet, None);
        };
        let policy = workflow_client::RetryPolicy::from(policy);
        let attempt = execution.attempt;
        let Some(backoff) = policy.retry_delay(attempt.max(1) as u32, failure) else {
            let exhausted = policy.maximum_attempts > 0 && attempt as u32 >= policy.maximum_attempts;
            let state = if exhausted {
                RetryState::MaximumAttemptsReached
            } else {
                RetryState::NonRetryableFailure
            };
            return (state, None);
        };
        if execution.execution_deadline.is_some_and(|d| self.now + backoff >= d) {
            return (RetryState::Timeout, None);
        }
        let next = NextAttempt {
            attempt: attempt + 1,
            first_run_id: execution.first_run_id.clone(),
            backoff,
            execution_deadline: execution.execution_deadline,
            last_failure,
        };
        let (request, parent) = (execution.request.clone(), execution.parent.clone());
        let Ok(next_run) = self.start_attempt(request, Some(run_id.to_string()), Some(next)) else {
            return (RetryState::InternalServerError, None);
        };
        self.executions.get_mut(&next_run).expect("just started").parent = parent;
        // Followed by whatever reaches the workflow through this run (its parent's close policy).
        self.executions.get_mut(run_id).expect("exists").continued_by = Some(next_run.clone());
        (RetryState::InProgress, Some(next_run))
    }
}
