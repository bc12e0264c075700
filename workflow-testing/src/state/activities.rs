//! Activities in the test environment: handed to workers, completed, failed and retried
//! with their retry policy (backoff in virtual time), heartbeats, and timeouts (real time).

use super::*;

pub(super) struct ActivityState {
    pub(super) activity_id: String,
    pub(super) activity_type: String,
    pub(super) task_queue: String,
    pub(super) input: Option<Payloads>,
    pub(super) attempt: i32,
    pub(super) retry: RetryPolicy,
    /// How long each attempt may wait in its queue (virtual time).
    pub(super) schedule_to_start: Option<Duration>,
    pub(super) start_to_close: Option<Duration>,
    pub(super) heartbeat_timeout: Option<Duration>,
    pub(super) heartbeat_details: Option<Payloads>,
    pub(super) last_failure: Option<ProtoFailure>,
    pub(super) cancel_requested: bool,
    pub(super) started: bool,
    /// Real-time limits of the current attempt and of the whole activity.
    pub(super) deadline: Option<std::time::Instant>,
    pub(super) heartbeat_deadline: Option<std::time::Instant>,
    pub(super) schedule_deadline: Option<std::time::Instant>,
}

/// How long after its last poll ended an activity task queue with no poll waiting still
/// counts as served (a worker polls again at once after each task). Past it, a task queued
/// there waits for time, and time may skip.
const SERVED_AFTER_LAST_POLL: Duration = Duration::from_secs(1);

/// The polls of one task queue (of activity or Nexus tasks).
#[derive(Default)]
pub(crate) struct Pollers {
    waiting: usize,
    last_left: Option<std::time::Instant>,
}

impl Pollers {
    /// A poll began.
    pub(super) fn began(&mut self) {
        self.waiting += 1;
    }

    /// A poll ended.
    pub(super) fn ended(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
        self.last_left = Some(std::time::Instant::now());
    }

    /// Whether a worker polls the queue: a poll waits on it, or one ended moments ago.
    pub(super) fn serves(&self, now: std::time::Instant) -> bool {
        self.waiting > 0
            || self
                .last_left
                .is_some_and(|t| now.duration_since(t) < SERVED_AFTER_LAST_POLL)
    }
}

/// The server's default activity retry policy, with the command's fields over it.
pub(super) fn effective_retry(policy: Option<RetryPolicy>) -> RetryPolicy {
    let mut p = policy.unwrap_or_default();
    if p.initial_interval.is_none() {
        p.initial_interval = Some(workflow_client::time::to_proto_duration(Duration::from_secs(1)));
    }
    if p.backoff_coefficient == 0.0 {
        p.backoff_coefficient = 2.0;
    }
    if p.maximum_interval.is_none() {
        let initial = from_proto_duration(p.initial_interval.as_ref().expect("set above"));
        p.maximum_interval = Some(workflow_client::time::to_proto_duration(initial * 100));
    }
    p
}

impl State {
    /// The run's activities not finished yet, as `DescribeWorkflowExecution` lists them: by
    /// scheduled event, each scheduled, started or asked to cancel, with its attempt and last
    /// heartbeat.
    pub(crate) fn pending_activities(
        &self,
        run_id: &str,
    ) -> Vec<workflow_client::proto::workflow::PendingActivityInfo> {
        use workflow_client::proto::enums::PendingActivityState;
        let mut activities: Vec<(&i64, &ActivityState)> = self.executions[run_id].activities.iter().collect();
        activities.sort_by_key(|(scheduled, _)| **scheduled);
        activities
            .into_iter()
            .map(|(_, a)| workflow_client::proto::workflow::PendingActivityInfo {
                activity_id: a.activity_id.clone(),
                activity_type: Some(ActivityType {
                    name: a.activity_type.clone(),
                }),
                state: if a.cancel_requested {
                    PendingActivityState::CancelRequested
                } else if a.started {
                    PendingActivityState::Started
                } else {
                    PendingActivityState::Scheduled
                } as i32,
                heartbeat_details: a.heartbeat_details.clone(),
                attempt: a.attempt.max(1),
                maximum_attempts: a.retry.maximum_attempts,
                last_failure: a.last_failure.clone(),
                ..Default::default()
            })
            .collect()
    }

    /// Puts the current attempt of an activity in its task queue, with its schedule-to-start
    /// timeout.
    pub(super) fn queue_activity(&mut self, run_id: &str, scheduled_event_id: i64) {
        let Some(activity) = self
            .executions
            .get(run_id)
            .and_then(|e| e.activities.get(&scheduled_event_id))
        else {
            return;
        };
        let (queue, attempt, wait) = (
            activity.task_queue.clone(),
            activity.attempt,
            activity.schedule_to_start,
        );
        self.activity_queues
            .entry(queue)
            .or_default()
            .push_back((run_id.to_string(), scheduled_event_id));
        if let Some(wait) = wait {
            let due = Due::ActivityScheduleToStart {
                run_id: run_id.to_string(),
                scheduled_event_id,
                attempt,
            };
            self.at(self.now + wait, due);
        }
    }

    /// An attempt waited in its queue past its schedule-to-start timeout: the activity times
    /// out without a retry whatever its retry policy, as on the server (no worker took it;
    /// another attempt would wait the same way).
    pub(super) fn schedule_to_start_passed(&mut self, run_id: &str, scheduled_event_id: i64, attempt: i32) {
        let Some(activity) = self
            .executions
            .get(run_id)
            .and_then(|e| e.activities.get(&scheduled_event_id))
            .filter(|a| !a.started && a.attempt == attempt)
        else {
            return;
        };
        if let Some(queue) = self.activity_queues.get_mut(&activity.task_queue) {
            queue.retain(|(r, s)| !(r == run_id && *s == scheduled_event_id));
        }
        let failure = server_failure(
            Failure::timeout(
                "activity ScheduleToStart timeout",
                workflow_client::proto::enums::TimeoutType::ScheduleToStart,
            ),
            SERVER_SOURCE,
        );
        self.executions
            .get_mut(run_id)
            .expect("run")
            .activities
            .remove(&scheduled_event_id);
        let event = Ev::ActivityTaskTimedOutEventAttributes(h::ActivityTaskTimedOutEventAttributes {
            failure: Some(failure),
            scheduled_event_id,
            started_event_id: 0,
            retry_state: RetryState::Timeout as i32,
        });
        self.append(run_id, event);
        self.schedule_task(run_id);
    }

    /// A worker's poll of activity task queue `queue` began.
    pub(crate) fn activity_poll_began(&mut self, queue: &str) {
        self.activity_pollers.entry(queue.to_string()).or_default().began();
    }

    /// A worker's poll of activity task queue `queue` ended.
    pub(crate) fn activity_poll_ended(&mut self, queue: &str) {
        self.activity_pollers.entry(queue.to_string()).or_default().ended();
    }

    /// Whether a worker polls activity task queue `queue`: a poll waits on it, or one ended
    /// moments ago.
    pub(super) fn activity_queue_served(&self, queue: &str, now: std::time::Instant) -> bool {
        self.activity_pollers.get(queue).is_some_and(|p| p.serves(now))
    }

    /// Hands out the next activity task of `queue`, if any.
    pub(crate) fn poll_activity(&mut self, queue: &str) -> Option<ws::PollActivityTaskQueueResponse> {
        loop {
            let (run_id, scheduled_event_id) = self.activity_queues.get_mut(queue)?.pop_front()?;
            let Some(execution) = self.executions.get_mut(&run_id) else {
                continue;
            };
            let Some(activity) = execution.activities.get_mut(&scheduled_event_id) else {
                continue;
            };
            activity.started = true;
            let real_now = std::time::Instant::now();
            activity.deadline = activity.start_to_close.map(|d| real_now + d);
            activity.heartbeat_deadline = activity.heartbeat_timeout.map(|d| real_now + d);
            self.in_flight += 1;
            return Some(ws::PollActivityTaskQueueResponse {
                task_token: Token::Activity {
                    run_id: run_id.clone(),
                    scheduled_event_id,
                    attempt: activity.attempt,
                }
                .encode(),
                workflow_namespace: self.namespace.clone(),
                workflow_type: Some(WorkflowType {
                    name: execution.workflow_type.clone(),
                }),
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: execution.workflow_id.clone(),
                    run_id,
                }),
                activity_type: Some(ActivityType {
                    name: activity.activity_type.clone(),
                }),
                activity_id: activity.activity_id.clone(),
                input: activity.input.clone(),
                heartbeat_details: activity.heartbeat_details.clone(),
                scheduled_time: Some(to_timestamp(self.now)),
                current_attempt_scheduled_time: Some(to_timestamp(self.now)),
                started_time: Some(to_timestamp(self.now)),
                attempt: activity.attempt,
                start_to_close_timeout: activity.start_to_close.map(workflow_client::time::to_proto_duration),
                heartbeat_timeout: activity.heartbeat_timeout.map(workflow_client::time::to_proto_duration),
                retry_policy: Some(activity.retry.clone()),
                ..Default::default()
            });
        }
    }

    /// The task token of the current attempt of activity `activity_id` of a run (for the
    /// `…ById` completions).
    pub(crate) fn activity_token(
        &self,
        execution: Option<&WorkflowExecution>,
        activity_id: &str,
    ) -> Result<Token, Refusal> {
        let run_id = self.resolve(execution)?;
        let (scheduled_event_id, activity) = self.executions[&run_id]
            .activities
            .iter()
            .find(|(_, a)| a.activity_id == activity_id)
            .ok_or_else(|| Refusal::NotFound(format!("no pending activity `{activity_id}`")))?;
        Ok(Token::Activity {
            run_id,
            scheduled_event_id: *scheduled_event_id,
            attempt: activity.attempt,
        })
    }

    /// The running activity a token names, if it is still current.
    pub(super) fn current_activity(&mut self, token: &Token) -> Option<(String, i64)> {
        let Token::Activity {
            run_id,
            scheduled_event_id,
            attempt,
        } = token
        else {
            return None;
        };
        let activity = self.executions.get(run_id)?.activities.get(scheduled_event_id)?;
        (activity.attempt == *attempt && activity.started).then(|| (run_id.clone(), *scheduled_event_id))
    }

    pub(super) fn started_event(&mut self, run_id: &str, scheduled_event_id: i64) -> i64 {
        let activity = &self.executions[run_id].activities[&scheduled_event_id];
        let attributes = h::ActivityTaskStartedEventAttributes {
            scheduled_event_id,
            attempt: activity.attempt,
            last_failure: activity.last_failure.clone(),
            ..Default::default()
        };
        self.append(run_id, Ev::ActivityTaskStartedEventAttributes(attributes))
    }

    pub(crate) fn complete_activity(&mut self, token: &Token, result: Option<Payloads>) -> Result<(), Refusal> {
        let (run_id, scheduled) = self.finish_attempt(token)?;
        self.close_activity(&run_id, scheduled, |started| {
            Ev::ActivityTaskCompletedEventAttributes(h::ActivityTaskCompletedEventAttributes {
                result,
                scheduled_event_id: scheduled,
                started_event_id: started,
                ..Default::default()
            })
        });
        Ok(())
    }

    pub(crate) fn cancel_activity(&mut self, token: &Token, details: Option<Payloads>) -> Result<(), Refusal> {
        let (run_id, scheduled) = self.finish_attempt(token)?;
        self.close_activity(&run_id, scheduled, |started| {
            Ev::ActivityTaskCanceledEventAttributes(h::ActivityTaskCanceledEventAttributes {
                details,
                scheduled_event_id: scheduled,
                started_event_id: started,
                ..Default::default()
            })
        });
        Ok(())
    }

    /// The activity's last attempt ends it: its started event, then `event` (built with the
    /// started event's id), and a workflow task to tell the code.
    fn close_activity(&mut self, run_id: &str, scheduled: i64, event: impl FnOnce(i64) -> Ev) {
        let started = self.started_event(run_id, scheduled);
        if let Some(execution) = self.executions.get_mut(run_id) {
            execution.activities.remove(&scheduled);
        }
        self.append(run_id, event(started));
        self.schedule_task(run_id);
    }

    pub(super) fn finish_attempt(&mut self, token: &Token) -> Result<(String, i64), Refusal> {
        let found = self.current_activity(token);
        if found.is_some() {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        found.ok_or_else(|| Refusal::NotFound("the activity task is no longer current".into()))
    }

    /// A failed attempt: retried per the retry policy (after a virtual-time backoff), or
    /// recorded as the activity's failure.
    pub(crate) fn fail_activity(
        &mut self,
        token: &Token,
        failure: Option<ProtoFailure>,
        last_heartbeat: Option<Payloads>,
    ) -> Result<(), Refusal> {
        let (run_id, scheduled) = self.finish_attempt(token)?;
        self.fail_attempt(&run_id, scheduled, failure.unwrap_or_default(), last_heartbeat, false);
        Ok(())
    }

    /// A failed or timed-out attempt: retried per the retry policy (after a virtual-time
    /// backoff), or recorded as the activity's failure or timeout.
    pub(super) fn fail_attempt(
        &mut self,
        run_id: &str,
        scheduled: i64,
        failure: ProtoFailure,
        last_heartbeat: Option<Payloads>,
        timed_out: bool,
    ) {
        let converted = Failure::from(failure.clone());
        let now = self.now;
        let Some(activity) = self
            .executions
            .get_mut(run_id)
            .and_then(|e| e.activities.get_mut(&scheduled))
        else {
            return;
        };
        if last_heartbeat.is_some() {
            activity.heartbeat_details = last_heartbeat;
        }
        let policy = workflow_client::RetryPolicy::from(&activity.retry);
        let time_left = activity
            .schedule_deadline
            .map(|d| d.saturating_duration_since(std::time::Instant::now()));
        let past_deadline = time_left.is_some_and(|left| left.is_zero());
        let delay = if activity.cancel_requested || past_deadline {
            None
        } else {
            policy.retry_delay(activity.attempt.max(1) as u32, &converted)
        };
        // As the server: a retry that would start after the schedule-to-close deadline is not
        // made; the activity fails at once, out of time.
        let no_retry_fits = delay.zip(time_left).is_some_and(|(delay, left)| delay >= left);
        let Some(delay) = delay.filter(|_| !no_retry_fits) else {
            let exhausted = policy.maximum_attempts > 0 && activity.attempt as u32 >= policy.maximum_attempts;
            let retry_state = if past_deadline || no_retry_fits {
                RetryState::Timeout
            } else if exhausted {
                RetryState::MaximumAttemptsReached
            } else {
                RetryState::NonRetryableFailure
            };
            let mut failure = failure;
            if timed_out {
                // The server names the last attempt's failure as the cause of a final timeout.
                failure.cause = activity.last_failure.clone().map(Box::new);
            }
            self.close_activity(run_id, scheduled, |started| {
                if timed_out {
                    Ev::ActivityTaskTimedOutEventAttributes(h::ActivityTaskTimedOutEventAttributes {
                        failure: Some(failure),
                        scheduled_event_id: scheduled,
                        started_event_id: started,
                        retry_state: retry_state as i32,
                    })
                } else {
                    Ev::ActivityTaskFailedEventAttributes(h::ActivityTaskFailedEventAttributes {
                        failure: Some(failure),
                        scheduled_event_id: scheduled,
                        started_event_id: started,
                        retry_state: retry_state as i32,
                        ..Default::default()
                    })
                }
            });
            return;
        };
        activity.attempt += 1;
        activity.started = false;
        activity.deadline = None;
        activity.heartbeat_deadline = None;
        activity.last_failure = Some(failure);
        self.at(
            now + delay,
            Due::ActivityRetry {
                run_id: run_id.to_string(),
                scheduled_event_id: scheduled,
            },
        );
    }

    /// While an activity attempt or a Nexus request runs in a worker (its code runs in real
    /// time), virtual time moves at real speed, so a timer the workflow set beside it fires as
    /// it would on a server; it never jumps past the attempt. Returns whether anything fell
    /// due.
    pub(crate) fn follow_real_time(&mut self, elapsed: Duration) -> bool {
        let running = self.nexus_request_running()
            || self
                .executions
                .values()
                .any(|e| e.is_open() && e.activities.values().any(|a| a.started));
        if !running {
            return false;
        }
        let due_before = self.due.len();
        self.advance_to(self.now + elapsed);
        self.due.len() != due_before
    }

    /// Times out the attempts whose start-to-close, heartbeat or schedule-to-close time (real
    /// time: the activity's code runs in real time) has passed.
    pub(crate) fn expire_attempts(&mut self, now: std::time::Instant) -> bool {
        use workflow_client::proto::enums::TimeoutType;
        let mut expired: Vec<(String, i64, TimeoutType, Option<Payloads>)> = Vec::new();
        for (run_id, execution) in &self.executions {
            for (scheduled, a) in &execution.activities {
                if !a.started {
                    continue;
                }
                let kind = if a.schedule_deadline.is_some_and(|d| now >= d) {
                    TimeoutType::ScheduleToClose
                } else if a.deadline.is_some_and(|d| now >= d) {
                    TimeoutType::StartToClose
                } else if a.heartbeat_deadline.is_some_and(|d| now >= d) {
                    TimeoutType::Heartbeat
                } else {
                    continue;
                };
                expired.push((run_id.clone(), *scheduled, kind, a.heartbeat_details.clone()));
            }
        }
        let any = !expired.is_empty();
        for (run_id, scheduled, kind, details) in expired {
            self.in_flight = self.in_flight.saturating_sub(1);
            let name = match kind {
                TimeoutType::ScheduleToClose => "ScheduleToClose",
                TimeoutType::Heartbeat => "Heartbeat",
                _ => "StartToClose",
            };
            // The words the server uses.
            let mut failure = Failure::timeout(format!("activity {name} timeout"), kind);
            if let workflow_client::failure::FailureKind::Timeout {
                last_heartbeat_details, ..
            } = &mut *failure.kind
            {
                *last_heartbeat_details = details.map(|d| d.payloads).unwrap_or_default();
            }
            self.fail_attempt(&run_id, scheduled, server_failure(failure, SERVER_SOURCE), None, true);
        }
        any
    }

    /// Keeps an attempt's details; answers whether cancellation was requested.
    pub(crate) fn heartbeat(&mut self, token: &Token, details: Option<Payloads>) -> Result<bool, Refusal> {
        let (run_id, scheduled) = self
            .current_activity(token)
            .ok_or_else(|| Refusal::NotFound("the activity task is no longer current".into()))?;
        let activity = self
            .executions
            .get_mut(&run_id)
            .expect("run")
            .activities
            .get_mut(&scheduled)
            .expect("current activity");
        if details.is_some() {
            activity.heartbeat_details = details;
        }
        activity.heartbeat_deadline = activity.heartbeat_timeout.map(|d| std::time::Instant::now() + d);
        Ok(activity.cancel_requested)
    }
}
