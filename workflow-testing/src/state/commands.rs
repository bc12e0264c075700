//! What a workflow task's commands become in the test environment: the events the server
//! would record, and their effects on other runs (children, signals, cancel requests).

use super::*;

/// What a workflow task's commands ask of other runs, done after all its commands are recorded.
pub(super) enum AfterTask {
    StartChild {
        initiated_event_id: i64,
        attributes: Box<workflow_client::proto::command::StartChildWorkflowExecutionCommandAttributes>,
    },
    Signal {
        initiated_event_id: i64,
        attributes: Box<workflow_client::proto::command::SignalExternalWorkflowExecutionCommandAttributes>,
    },
    Cancel {
        initiated_event_id: i64,
        execution: WorkflowExecution,
    },
}

impl State {
    pub(super) fn apply_command(
        &mut self,
        run_id: &str,
        completed_id: i64,
        command: Command,
        after: &mut Vec<AfterTask>,
    ) -> Result<(), Refusal> {
        let Some(attributes) = command.attributes else {
            return Ok(());
        };
        match attributes {
            Cmd::ScheduleActivityTaskCommandAttributes(mut a) => {
                let run_timeout = self.executions[run_id].request.workflow_run_timeout.as_ref();
                activity_timeouts(&mut a, run_timeout.map(from_proto_duration).unwrap_or_default())?;
                let task_queue = a.task_queue.as_ref().map(|q| q.name.clone()).unwrap_or_default();
                let task_queue = if task_queue.is_empty() {
                    self.executions[run_id].task_queue.clone()
                } else {
                    task_queue
                };
                let activity = ActivityState {
                    activity_id: a.activity_id.clone(),
                    activity_type: a.activity_type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                    task_queue: task_queue.clone(),
                    input: a.input.clone(),
                    attempt: 1,
                    retry: effective_retry(a.retry_policy.clone()),
                    schedule_to_start: a
                        .schedule_to_start_timeout
                        .as_ref()
                        .map(from_proto_duration)
                        .filter(|d| !d.is_zero()),
                    start_to_close: a
                        .start_to_close_timeout
                        .as_ref()
                        .or(a.schedule_to_close_timeout.as_ref())
                        .map(from_proto_duration)
                        .filter(|d| !d.is_zero()),
                    heartbeat_timeout: a
                        .heartbeat_timeout
                        .as_ref()
                        .map(from_proto_duration)
                        .filter(|d| !d.is_zero()),
                    heartbeat_details: None,
                    last_failure: None,
                    cancel_requested: false,
                    started: false,
                    deadline: None,
                    heartbeat_deadline: None,
                    schedule_deadline: a
                        .schedule_to_close_timeout
                        .as_ref()
                        .map(from_proto_duration)
                        .filter(|d| !d.is_zero())
                        .map(|d| std::time::Instant::now() + d),
                };
                let scheduled = self.append(
                    run_id,
                    Ev::ActivityTaskScheduledEventAttributes(h::ActivityTaskScheduledEventAttributes {
                        activity_id: a.activity_id,
                        activity_type: a.activity_type,
                        task_queue: Some(TaskQueue {
                            name: task_queue,
                            ..Default::default()
                        }),
                        header: a.header,
                        input: a.input,
                        schedule_to_close_timeout: a.schedule_to_close_timeout,
                        schedule_to_start_timeout: a.schedule_to_start_timeout,
                        start_to_close_timeout: a.start_to_close_timeout,
                        heartbeat_timeout: a.heartbeat_timeout,
                        workflow_task_completed_event_id: completed_id,
                        retry_policy: Some(activity.retry.clone()),
                        ..Default::default()
                    }),
                );
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                execution.activities.insert(scheduled, activity);
                self.queue_activity(run_id, scheduled);
            }
            Cmd::RequestCancelActivityTaskCommandAttributes(a) => {
                self.append(
                    run_id,
                    Ev::ActivityTaskCancelRequestedEventAttributes(h::ActivityTaskCancelRequestedEventAttributes {
                        scheduled_event_id: a.scheduled_event_id,
                        workflow_task_completed_event_id: completed_id,
                    }),
                );
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                let started = match execution.activities.get_mut(&a.scheduled_event_id) {
                    Some(activity) => {
                        activity.cancel_requested = true;
                        activity.started
                    }
                    None => return Ok(()),
                };
                if !started {
                    // Not running: canceled at once, as the server does.
                    execution.activities.remove(&a.scheduled_event_id);
                    self.append(
                        run_id,
                        Ev::ActivityTaskCanceledEventAttributes(h::ActivityTaskCanceledEventAttributes {
                            scheduled_event_id: a.scheduled_event_id,
                            latest_cancel_requested_event_id: completed_id + 1,
                            ..Default::default()
                        }),
                    );
                    self.schedule_task(run_id);
                }
            }
            Cmd::StartTimerCommandAttributes(a) => {
                let duration = a
                    .start_to_fire_timeout
                    .as_ref()
                    .map(from_proto_duration)
                    .unwrap_or_default();
                let started = self.append(
                    run_id,
                    Ev::TimerStartedEventAttributes(h::TimerStartedEventAttributes {
                        timer_id: a.timer_id.clone(),
                        start_to_fire_timeout: a.start_to_fire_timeout,
                        workflow_task_completed_event_id: completed_id,
                    }),
                );
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                execution.timers.insert(a.timer_id.clone(), started);
                let when = self.now + duration;
                self.at(
                    when,
                    Due::Timer {
                        run_id: run_id.to_string(),
                        timer_id: a.timer_id,
                    },
                );
            }
            Cmd::CancelTimerCommandAttributes(a) => {
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                if let Some(started) = execution.timers.remove(&a.timer_id) {
                    self.append(
                        run_id,
                        Ev::TimerCanceledEventAttributes(h::TimerCanceledEventAttributes {
                            timer_id: a.timer_id,
                            started_event_id: started,
                            workflow_task_completed_event_id: completed_id,
                            identity: String::new(),
                        }),
                    );
                }
            }
            Cmd::RecordMarkerCommandAttributes(a) => {
                self.append(
                    run_id,
                    Ev::MarkerRecordedEventAttributes(h::MarkerRecordedEventAttributes {
                        marker_name: a.marker_name,
                        details: a.details,
                        workflow_task_completed_event_id: completed_id,
                        header: a.header,
                        failure: a.failure,
                    }),
                );
            }
            Cmd::CompleteWorkflowExecutionCommandAttributes(a) => self.close(
                run_id,
                WorkflowExecutionStatus::Completed,
                Ev::WorkflowExecutionCompletedEventAttributes(h::WorkflowExecutionCompletedEventAttributes {
                    result: a.result,
                    workflow_task_completed_event_id: completed_id,
                    new_execution_run_id: String::new(),
                }),
            ),
            Cmd::FailWorkflowExecutionCommandAttributes(a) => self.fail_run(run_id, a.failure, completed_id),
            Cmd::CancelWorkflowExecutionCommandAttributes(a) => self.close(
                run_id,
                WorkflowExecutionStatus::Canceled,
                Ev::WorkflowExecutionCanceledEventAttributes(h::WorkflowExecutionCanceledEventAttributes {
                    workflow_task_completed_event_id: completed_id,
                    details: a.details,
                }),
            ),
            Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(a) => {
                let (workflow_id, workflow_type, task_queue) = {
                    let e = &self.executions[run_id];
                    (e.workflow_id.clone(), e.workflow_type.clone(), e.task_queue.clone())
                };
                let workflow_type = a
                    .workflow_type
                    .clone()
                    .filter(|t| !t.name.is_empty())
                    .unwrap_or(WorkflowType { name: workflow_type });
                let task_queue = a
                    .task_queue
                    .clone()
                    .filter(|q| !q.name.is_empty())
                    .unwrap_or(TaskQueue {
                        name: task_queue,
                        ..Default::default()
                    });
                // The new run's id is known once it exists; record the close after starting it.
                let next = self.start_continued(run_id, &workflow_id, &workflow_type, &task_queue, &a)?;
                let (run_timeout, task_timeout) = {
                    let started = &self.executions[&next].request;
                    (started.workflow_run_timeout, started.workflow_task_timeout)
                };
                self.close(
                    run_id,
                    WorkflowExecutionStatus::ContinuedAsNew,
                    Ev::WorkflowExecutionContinuedAsNewEventAttributes(
                        h::WorkflowExecutionContinuedAsNewEventAttributes {
                            new_execution_run_id: next.clone(),
                            workflow_type: Some(workflow_type),
                            task_queue: Some(task_queue),
                            input: a.input,
                            workflow_run_timeout: Some(run_timeout.unwrap_or_default()),
                            workflow_task_timeout: task_timeout,
                            workflow_task_completed_event_id: completed_id,
                            ..Default::default()
                        },
                    ),
                );
                let parent = self.executions[run_id].parent.clone();
                if let Some(new_run) = self.executions.get_mut(&next) {
                    new_run.parent = parent;
                }
                self.executions.get_mut(run_id).expect("execution exists").continued_by = Some(next);
            }
            Cmd::UpsertWorkflowSearchAttributesCommandAttributes(a) => {
                let fields = a.search_attributes.map(|s| s.indexed_fields).unwrap_or_default();
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                execution.search_attributes.extend(fields.clone());
                self.append(
                    run_id,
                    Ev::UpsertWorkflowSearchAttributesEventAttributes(
                        h::UpsertWorkflowSearchAttributesEventAttributes {
                            workflow_task_completed_event_id: completed_id,
                            search_attributes: Some(workflow_client::proto::common::SearchAttributes {
                                indexed_fields: fields,
                            }),
                        },
                    ),
                );
            }
            Cmd::ModifyWorkflowPropertiesCommandAttributes(a) => {
                let fields = a.upserted_memo.map(|m| m.fields).unwrap_or_default();
                let execution = self.executions.get_mut(run_id).expect("execution exists");
                execution.memo.extend(fields.clone());
                self.append(
                    run_id,
                    Ev::WorkflowPropertiesModifiedEventAttributes(h::WorkflowPropertiesModifiedEventAttributes {
                        workflow_task_completed_event_id: completed_id,
                        upserted_memo: Some(workflow_client::proto::common::Memo { fields }),
                    }),
                );
            }
            Cmd::StartChildWorkflowExecutionCommandAttributes(a) => {
                let timeouts = with_server_timeouts(ws::StartWorkflowExecutionRequest {
                    workflow_execution_timeout: a.workflow_execution_timeout,
                    workflow_run_timeout: a.workflow_run_timeout,
                    workflow_task_timeout: a.workflow_task_timeout,
                    ..Default::default()
                });
                let task_queue = a
                    .task_queue
                    .clone()
                    .filter(|q| !q.name.is_empty())
                    .unwrap_or(TaskQueue {
                        name: self.executions[run_id].task_queue.clone(),
                        ..Default::default()
                    });
                let initiated_event_id = self.append(
                    run_id,
                    Ev::StartChildWorkflowExecutionInitiatedEventAttributes(
                        h::StartChildWorkflowExecutionInitiatedEventAttributes {
                            namespace: self.namespace.clone(),
                            workflow_id: a.workflow_id.clone(),
                            workflow_type: a.workflow_type.clone(),
                            task_queue: Some(task_queue.clone()),
                            input: a.input.clone(),
                            workflow_execution_timeout: a.workflow_execution_timeout,
                            workflow_run_timeout: Some(timeouts.workflow_run_timeout.unwrap_or_default()),
                            workflow_task_timeout: timeouts.workflow_task_timeout,
                            parent_close_policy: a.parent_close_policy,
                            workflow_task_completed_event_id: completed_id,
                            workflow_id_reuse_policy: a
                                .workflow_id_reuse_policy
                                .max(workflow_client::proto::enums::WorkflowIdReusePolicy::AllowDuplicate as i32),
                            retry_policy: a.retry_policy.clone().map(|p| effective_retry(Some(p))),
                            header: a.header.clone(),
                            memo: a.memo.clone(),
                            search_attributes: a.search_attributes.clone(),
                            ..Default::default()
                        },
                    ),
                );
                let mut attributes = a;
                attributes.task_queue = Some(task_queue);
                after.push(AfterTask::StartChild {
                    initiated_event_id,
                    attributes: Box::new(attributes),
                });
            }
            Cmd::SignalExternalWorkflowExecutionCommandAttributes(a) => {
                let initiated_event_id = self.append(
                    run_id,
                    Ev::SignalExternalWorkflowExecutionInitiatedEventAttributes(
                        h::SignalExternalWorkflowExecutionInitiatedEventAttributes {
                            workflow_task_completed_event_id: completed_id,
                            namespace: self.namespace.clone(),
                            workflow_execution: a.execution.clone(),
                            signal_name: a.signal_name.clone(),
                            input: a.input.clone(),
                            child_workflow_only: a.child_workflow_only,
                            header: a.header.clone(),
                            ..Default::default()
                        },
                    ),
                );
                after.push(AfterTask::Signal {
                    initiated_event_id,
                    attributes: Box::new(a),
                });
            }
            Cmd::RequestCancelExternalWorkflowExecutionCommandAttributes(a) => {
                let execution = WorkflowExecution {
                    workflow_id: a.workflow_id,
                    run_id: a.run_id,
                };
                let initiated_event_id = self.append(
                    run_id,
                    Ev::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                        h::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                            workflow_task_completed_event_id: completed_id,
                            namespace: self.namespace.clone(),
                            workflow_execution: Some(execution.clone()),
                            child_workflow_only: a.child_workflow_only,
                            reason: a.reason,
                            ..Default::default()
                        },
                    ),
                );
                after.push(AfterTask::Cancel {
                    initiated_event_id,
                    execution,
                });
            }
            Cmd::ScheduleNexusOperationCommandAttributes(a) => self.schedule_nexus(run_id, completed_id, a)?,
            Cmd::RequestCancelNexusOperationCommandAttributes(a) => {
                self.request_cancel_nexus(run_id, completed_id, a.scheduled_event_id)
            }
            other => {
                let name = format!("{other:?}");
                let name = name
                    .split('(')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches("CommandAttributes");
                return Err(Refusal::Invalid(format!(
                    "the test environment does not support the command {name} yet"
                )));
            }
        }
        Ok(())
    }

    /// Starts a child, signals or cancels another run, and records the outcome in `run_id`;
    /// nothing when `run_id` closed in the same task (the server drops such requests too).
    pub(super) fn apply_after_task(&mut self, run_id: &str, effect: AfterTask) {
        use workflow_client::proto::enums::{
            SignalExternalWorkflowExecutionFailedCause as Cause, StartChildWorkflowExecutionFailedCause,
            WorkflowIdReusePolicy,
        };
        if !self.executions.get(run_id).is_some_and(Execution::is_open) {
            return;
        }
        match effect {
            AfterTask::StartChild {
                initiated_event_id,
                attributes: a,
            } => {
                let exists = self.latest.get(&a.workflow_id).cloned();
                let refused = match &exists {
                    Some(run) if self.executions[run].is_open() => true,
                    Some(_) => a.workflow_id_reuse_policy == WorkflowIdReusePolicy::RejectDuplicate as i32,
                    None => false,
                };
                if refused {
                    self.append(
                        run_id,
                        Ev::StartChildWorkflowExecutionFailedEventAttributes(
                            h::StartChildWorkflowExecutionFailedEventAttributes {
                                namespace: self.namespace.clone(),
                                workflow_id: a.workflow_id.clone(),
                                workflow_type: a.workflow_type.clone(),
                                cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists as i32,
                                initiated_event_id,
                                ..Default::default()
                            },
                        ),
                    );
                    self.schedule_task(run_id);
                    return;
                }
                let request = ws::StartWorkflowExecutionRequest {
                    namespace: self.namespace.clone(),
                    workflow_id: a.workflow_id.clone(),
                    workflow_type: a.workflow_type.clone(),
                    task_queue: a.task_queue.clone(),
                    input: a.input.clone(),
                    workflow_execution_timeout: a.workflow_execution_timeout,
                    workflow_run_timeout: a.workflow_run_timeout,
                    workflow_task_timeout: a.workflow_task_timeout,
                    header: a.header.clone(),
                    memo: a.memo.clone(),
                    search_attributes: a.search_attributes.clone(),
                    retry_policy: a.retry_policy.clone(),
                    ..Default::default()
                };
                let Ok(child) = self.start(request, None) else { return };
                let started_event_id = self.append(
                    run_id,
                    Ev::ChildWorkflowExecutionStartedEventAttributes(h::ChildWorkflowExecutionStartedEventAttributes {
                        namespace: self.namespace.clone(),
                        initiated_event_id,
                        workflow_execution: Some(WorkflowExecution {
                            workflow_id: a.workflow_id.clone(),
                            run_id: child.clone(),
                        }),
                        workflow_type: a.workflow_type.clone(),
                        ..Default::default()
                    }),
                );
                self.executions.get_mut(&child).expect("just started").parent = Some(ParentLink {
                    run_id: run_id.to_string(),
                    initiated_event_id,
                    started_event_id,
                });
                if let Some(parent) = self.executions.get_mut(run_id) {
                    parent.children.push((child, a.parent_close_policy));
                }
                self.schedule_task(run_id);
            }
            AfterTask::Signal {
                initiated_event_id,
                attributes: a,
            } => {
                let target = a.execution.clone().unwrap_or_default();
                let delivered = self.signal(ws::SignalWorkflowExecutionRequest {
                    workflow_execution: Some(target.clone()),
                    signal_name: a.signal_name.clone(),
                    input: a.input.clone(),
                    header: a.header.clone(),
                    ..Default::default()
                });
                let event = match delivered {
                    Ok(()) => Ev::ExternalWorkflowExecutionSignaledEventAttributes(
                        h::ExternalWorkflowExecutionSignaledEventAttributes {
                            initiated_event_id,
                            namespace: self.namespace.clone(),
                            workflow_execution: Some(target),
                            ..Default::default()
                        },
                    ),
                    Err(_) => Ev::SignalExternalWorkflowExecutionFailedEventAttributes(
                        h::SignalExternalWorkflowExecutionFailedEventAttributes {
                            cause: Cause::ExternalWorkflowExecutionNotFound as i32,
                            namespace: self.namespace.clone(),
                            workflow_execution: Some(target),
                            initiated_event_id,
                            ..Default::default()
                        },
                    ),
                };
                self.append(run_id, event);
                self.schedule_task(run_id);
            }
            AfterTask::Cancel {
                initiated_event_id,
                execution,
            } => {
                let delivered = self.request_cancel(ws::RequestCancelWorkflowExecutionRequest {
                    workflow_execution: Some(execution.clone()),
                    reason: "requested by another workflow".into(),
                    ..Default::default()
                });
                let event = match delivered {
                    Ok(()) => Ev::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                        h::ExternalWorkflowExecutionCancelRequestedEventAttributes {
                            initiated_event_id,
                            namespace: self.namespace.clone(),
                            workflow_execution: Some(execution),
                            ..Default::default()
                        },
                    ),
                    Err(_) => Ev::RequestCancelExternalWorkflowExecutionFailedEventAttributes(
                        h::RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                            cause: Cause::ExternalWorkflowExecutionNotFound as i32,
                            namespace: self.namespace.clone(),
                            workflow_execution: Some(execution),
                            initiated_event_id,
                            ..Default::default()
                        },
                    ),
                };
                self.append(run_id, event);
                self.schedule_task(run_id);
            }
        }
    }

    pub(super) fn start_continued(
        &mut self,
        from: &str,
        workflow_id: &str,
        workflow_type: &WorkflowType,
        task_queue: &TaskQueue,
        a: &workflow_client::proto::command::ContinueAsNewWorkflowExecutionCommandAttributes,
    ) -> Result<String, Refusal> {
        self.start(
            ws::StartWorkflowExecutionRequest {
                namespace: self.namespace.clone(),
                workflow_id: workflow_id.to_string(),
                workflow_type: Some(workflow_type.clone()),
                task_queue: Some(task_queue.clone()),
                input: a.input.clone(),
                workflow_run_timeout: a.workflow_run_timeout,
                workflow_task_timeout: a.workflow_task_timeout,
                header: a.header.clone(),
                memo: a.memo.clone(),
                search_attributes: a.search_attributes.clone(),
                ..Default::default()
            },
            Some(from.to_string()),
        )
    }
}

/// Fills in and bounds an activity's timeouts as the server does when it records the command:
/// a schedule-to-close timeout bounds the others and stands in for those not given; without
/// one, the run timeout (zero when none) stands in for it and for schedule-to-start; none
/// exceeds the run timeout; the heartbeat timeout is at most start-to-close. Refused as the
/// server refuses it when neither start-to-close nor schedule-to-close is given.
fn activity_timeouts(
    a: &mut workflow_client::proto::command::ScheduleActivityTaskCommandAttributes,
    run_timeout: Duration,
) -> Result<(), Refusal> {
    use workflow_client::time::to_proto_duration;
    let read = |d: &Option<workflow_client::proto::Duration>| d.as_ref().map(from_proto_duration).unwrap_or_default();
    let (mut schedule_to_close, mut schedule_to_start, mut start_to_close, mut heartbeat) = (
        read(&a.schedule_to_close_timeout),
        read(&a.schedule_to_start_timeout),
        read(&a.start_to_close_timeout),
        read(&a.heartbeat_timeout),
    );
    if !schedule_to_close.is_zero() {
        if !run_timeout.is_zero() {
            schedule_to_close = schedule_to_close.min(run_timeout);
        }
        schedule_to_start = if schedule_to_start.is_zero() {
            schedule_to_close
        } else {
            schedule_to_start.min(schedule_to_close)
        };
        start_to_close = if start_to_close.is_zero() {
            schedule_to_close
        } else {
            start_to_close.min(schedule_to_close)
        };
    } else if !start_to_close.is_zero() {
        schedule_to_close = run_timeout;
        if schedule_to_start.is_zero() {
            schedule_to_start = run_timeout;
        }
    } else {
        return Err(Refusal::Invalid(
            "BadScheduleActivityAttributes: a valid StartToClose or ScheduleToCloseTimeout is not set on the command"
                .into(),
        ));
    }
    if !run_timeout.is_zero() {
        for timeout in [
            &mut schedule_to_close,
            &mut schedule_to_start,
            &mut start_to_close,
            &mut heartbeat,
        ] {
            *timeout = (*timeout).min(run_timeout);
        }
    }
    heartbeat = heartbeat.min(start_to_close);
    a.schedule_to_close_timeout = Some(to_proto_duration(schedule_to_close));
    a.schedule_to_start_timeout = Some(to_proto_duration(schedule_to_start));
    a.start_to_close_timeout = Some(to_proto_duration(start_to_close));
    a.heartbeat_timeout = Some(to_proto_duration(heartbeat));
    Ok(())
}
