//! What each history event resolves: the start of the run, signals, cancel requests, and the
//! outcome of an activity, timer, child or signal to another workflow, handed to what waits.

use super::driver::SignalError;
use super::run::Run;
use super::updates::UpdateDelivery;
use crate::client::failure::Failure;
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::interceptor::InboundKind;
use crate::workflow::activity_call::{ActivityOutcome, activity_failure};
use crate::workflow::child::{child_failure, start_child_failure};
use crate::workflow::error::TaskError;
use crate::workflow::external::external_failure;

impl Run {
    pub(super) fn apply_event(&mut self, event: HistoryEvent) -> Result<(), TaskError> {
        let event_id = event.event_id;
        let Some(attributes) = event.attributes else {
            return Ok(());
        };
        match attributes {
            // An update the server admitted without a protocol message (reapplied after a
            // reset): delivered as if it had come with the task. On replay its acceptance
            // event delivers it instead.
            EvAttr::WorkflowExecutionUpdateAdmittedEventAttributes(a) => {
                if !self.state.borrow().replaying
                    && let Some(request) = a.request
                {
                    self.admitted_updates.push(UpdateDelivery::admitted(event_id, request));
                }
            }
            EvAttr::WorkflowExecutionStartedEventAttributes(a) => {
                let mut state = self.state.borrow_mut();
                state.set_start_facts(&a, event.event_time.as_ref());
                state.start_interceptors(&self.settings.interceptors, a.header.as_ref());
                drop(state);
                let input = a.input.map(|p| p.payloads).unwrap_or_default();
                self.root = Some(self.driver.start(self.state.clone(), input));
            }
            EvAttr::WorkflowExecutionSignaledEventAttributes(a) => {
                self.state
                    .borrow_mut()
                    .intercept_inbound(InboundKind::Signal, &a.signal_name, None, a.header.as_ref());
                let input = a.input.map(|p| p.payloads).unwrap_or_default();
                // Said once: live, not again on every replay.
                let live = !self.state.borrow().replaying;
                let run = self.state.clone();
                let workflow_id = move || run.borrow().info.workflow_id.clone();
                match self.driver.signal(&a.signal_name, &input) {
                    Ok(delivered) => {
                        if delivered.extra > 0 && live {
                            tracing::warn!(
                                workflow_id = %workflow_id(),
                                signal = %a.signal_name,
                                extra = delivered.extra,
                                "signal arguments beyond the handler's parameters were ignored"
                            );
                        }
                        if let Some(running) = delivered.running {
                            self.running_signals.push((a.signal_name.clone(), running));
                        }
                    }
                    Err(SignalError::Unknown) if live => {
                        tracing::warn!(workflow_id = %workflow_id(), signal = %a.signal_name, "signal has no handler; dropped")
                    }
                    Err(SignalError::Decode(e)) if live => tracing::warn!(
                        workflow_id = %workflow_id(),
                        signal = %a.signal_name,
                        error = %e,
                        "signal input does not decode; dropped"
                    ),
                    Err(SignalError::Unknown | SignalError::Decode(_)) => {}
                    Err(SignalError::Panicked(message)) => {
                        let info = self.info();
                        return Err(TaskError::Panic {
                            workflow_type: info.workflow_type,
                            workflow_id: info.workflow_id,
                            message: format!("signal `{}` panicked: {message}", a.signal_name),
                        });
                    }
                }
                self.state.borrow_mut().wake_conditions();
            }
            EvAttr::WorkflowExecutionCancelRequestedEventAttributes(_) => self.state.borrow_mut().request_cancel(),
            EvAttr::ActivityTaskCompletedEventAttributes(a) => {
                let result = a.result.and_then(|p| p.payloads.into_iter().next());
                self.resolve_activity(a.scheduled_event_id, |_, _| ActivityOutcome::Completed(result));
            }
            EvAttr::ActivityTaskFailedEventAttributes(a) => {
                self.fail_activity(a.scheduled_event_id, a.started_event_id, a.retry_state, a.failure)
            }
            EvAttr::ActivityTaskTimedOutEventAttributes(a) => {
                self.fail_activity(a.scheduled_event_id, a.started_event_id, a.retry_state, a.failure)
            }
            EvAttr::ActivityTaskCanceledEventAttributes(a) => {
                self.resolve_activity(a.scheduled_event_id, |_, _| {
                    ActivityOutcome::Failed(Failure::canceled("activity canceled"))
                });
            }
            EvAttr::ChildWorkflowExecutionStartedEventAttributes(a) => {
                let run_id = a.workflow_execution.map(|e| e.run_id).unwrap_or_default();
                self.state
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.started = Some(Ok(run_id)));
            }
            EvAttr::StartChildWorkflowExecutionFailedEventAttributes(a) => {
                let failure = start_child_failure(
                    a.workflow_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
                    &a.workflow_id,
                    a.cause,
                );
                self.state
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.started = Some(Err(failure)));
            }
            EvAttr::ChildWorkflowExecutionCompletedEventAttributes(a) => {
                let result = a.result.and_then(|p| p.payloads.into_iter().next());
                self.state
                    .borrow_mut()
                    .resolve_child(a.initiated_event_id, |slot| slot.outcome = Some(Ok(result)));
            }
            EvAttr::ChildWorkflowExecutionFailedEventAttributes(a) => {
                let cause = Failure::from(a.failure.unwrap_or_default());
                self.close_child(a.initiated_event_id, a.started_event_id, a.retry_state, cause);
            }
            EvAttr::ChildWorkflowExecutionCanceledEventAttributes(a) => {
                let details = a.details.map(|p| p.payloads).unwrap_or_default();
                let cause = Failure::canceled("child workflow canceled").with_details(details);
                self.close_child(a.initiated_event_id, a.started_event_id, 0, cause);
            }
            EvAttr::ChildWorkflowExecutionTimedOutEventAttributes(a) => {
                let cause = Failure::timeout(
                    "child workflow timed out",
                    crate::client::proto::enums::TimeoutType::StartToClose,
                );
                self.close_child(a.initiated_event_id, a.started_event_id, a.retry_state, cause);
            }
            EvAttr::ChildWorkflowExecutionTerminatedEventAttributes(a) => {
                let cause = Failure::terminated("child workflow terminated");
                self.close_child(a.initiated_event_id, a.started_event_id, 0, cause);
            }
            EvAttr::NexusOperationStartedEventAttributes(a) => {
                let token = a.operation_token;
                self.state
                    .borrow_mut()
                    .resolve_nexus(a.scheduled_event_id, |slot| slot.operation_token = Some(token));
            }
            EvAttr::NexusOperationCompletedEventAttributes(a) => {
                let result = a.result;
                self.state
                    .borrow_mut()
                    .resolve_nexus(a.scheduled_event_id, |slot| slot.outcome = Some(Ok(result)));
            }
            EvAttr::NexusOperationFailedEventAttributes(a) => self.fail_nexus(a.scheduled_event_id, a.failure),
            EvAttr::NexusOperationCanceledEventAttributes(a) => self.fail_nexus(a.scheduled_event_id, a.failure),
            EvAttr::NexusOperationTimedOutEventAttributes(a) => self.fail_nexus(a.scheduled_event_id, a.failure),
            EvAttr::ExternalWorkflowExecutionSignaledEventAttributes(a) => {
                self.state.borrow_mut().resolve_external(a.initiated_event_id, Ok(()))
            }
            EvAttr::SignalExternalWorkflowExecutionFailedEventAttributes(a) => {
                let failure = external_failure("the signal", a.cause);
                self.state
                    .borrow_mut()
                    .resolve_external(a.initiated_event_id, Err(failure))
            }
            EvAttr::ExternalWorkflowExecutionCancelRequestedEventAttributes(a) => {
                self.state.borrow_mut().resolve_external(a.initiated_event_id, Ok(()))
            }
            EvAttr::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a) => {
                let failure = external_failure("the cancel request", a.cause);
                self.state
                    .borrow_mut()
                    .resolve_external(a.initiated_event_id, Err(failure))
            }
            EvAttr::TimerFiredEventAttributes(a) => {
                let mut run = self.state.borrow_mut();
                if let Some(slot) = a.timer_id.parse().ok().and_then(|seq: u32| run.timers.get_mut(seq)) {
                    slot.fired = true;
                    if let Some(w) = slot.waker.take() {
                        w.wake();
                    }
                }
                run.wake_conditions();
            }
            _ => {}
        }
        Ok(())
    }

    /// Resolves a Nexus operation as failed, canceled or timed out, with the failure the
    /// server recorded (a Nexus operation failure whose cause says why).
    fn fail_nexus(&mut self, scheduled_event_id: i64, failure: Option<crate::client::proto::failure::Failure>) {
        let failure = Failure::from(failure.unwrap_or_default());
        self.state
            .borrow_mut()
            .resolve_nexus(scheduled_event_id, |slot| slot.outcome = Some(Err(failure)));
    }

    /// Resolves an activity as failed (or timed out): an activity failure whose cause is what
    /// the server recorded.
    pub(super) fn fail_activity(
        &mut self,
        scheduled_event_id: i64,
        started_event_id: i64,
        retry_state: i32,
        cause: Option<crate::client::proto::failure::Failure>,
    ) {
        let cause = Failure::from(cause.unwrap_or_default());
        self.resolve_activity(scheduled_event_id, |ty, id| {
            ActivityOutcome::Failed(activity_failure(
                ty,
                id,
                scheduled_event_id,
                started_event_id,
                retry_state,
                cause,
            ))
        });
    }

    /// Resolves a child as closed without a result: a child-workflow failure around `cause`.
    pub(super) fn close_child(
        &mut self,
        initiated_event_id: i64,
        started_event_id: i64,
        retry_state: i32,
        cause: Failure,
    ) {
        let mut run = self.state.borrow_mut();
        let failure = child_failure(&run, initiated_event_id, started_event_id, retry_state, cause);
        run.resolve_child(initiated_event_id, |slot| slot.outcome = Some(Err(failure)));
    }

    pub(super) fn resolve_activity(
        &mut self,
        scheduled_event_id: i64,
        outcome: impl FnOnce(&str, &str) -> ActivityOutcome,
    ) {
        let mut run = self.state.borrow_mut();
        let Some(seq) = run.activities.seq_of_event(scheduled_event_id) else {
            return;
        };
        if let Some(slot) = run.activities.get_mut(seq)
            && slot.outcome.is_none()
        {
            let activity_type = slot.activity_type.clone();
            slot.outcome = Some(outcome(&activity_type, &seq.to_string()));
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        }
        run.wake_conditions();
    }
}
