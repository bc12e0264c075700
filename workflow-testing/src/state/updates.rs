//! Updates in the test environment: admitted, delivered with a workflow task, accepted,
//! completed or rejected (a rejection leaves no event), deduplicated by update id.

use super::*;

/// Where an update is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum UpdateStage {
    Admitted,
    Accepted,
    Completed,
}

/// One update request and what became of it.
pub(crate) struct UpdateState {
    pub(super) request: pu::Request,
    pub(super) delivered: bool,
    pub(crate) stage: UpdateStage,
    pub(crate) outcome: Option<pu::Outcome>,
    pub(super) accepted_event_id: i64,
}

impl State {
    /// Records an update's acceptance or completion as the server does, or its rejection
    /// (which leaves no event).
    pub(super) fn apply_update_message(&mut self, run_id: &str, message: Message) {
        let Some(body) = message.body else { return };
        let key = (run_id.to_string(), message.protocol_instance_id.clone());
        if body.type_url == pu::Acceptance::type_url() {
            let Ok(acceptance) = pu::Acceptance::decode(body.value.as_slice()) else {
                return;
            };
            let event = self.append(
                run_id,
                Ev::WorkflowExecutionUpdateAcceptedEventAttributes(h::WorkflowExecutionUpdateAcceptedEventAttributes {
                    protocol_instance_id: message.protocol_instance_id.clone(),
                    accepted_request_message_id: acceptance.accepted_request_message_id,
                    accepted_request_sequencing_event_id: acceptance.accepted_request_sequencing_event_id,
                    accepted_request: acceptance.accepted_request,
                }),
            );
            if let Some(update) = self.updates.get_mut(&key) {
                update.stage = UpdateStage::Accepted;
                update.accepted_event_id = event;
            }
        } else if body.type_url == pu::Response::type_url() {
            let Ok(response) = pu::Response::decode(body.value.as_slice()) else {
                return;
            };
            let accepted_event_id = self.updates.get(&key).map(|u| u.accepted_event_id).unwrap_or_default();
            self.append(
                run_id,
                Ev::WorkflowExecutionUpdateCompletedEventAttributes(
                    h::WorkflowExecutionUpdateCompletedEventAttributes {
                        meta: response.meta,
                        accepted_event_id,
                        outcome: response.outcome.clone(),
                    },
                ),
            );
            if let Some(update) = self.updates.get_mut(&key) {
                update.stage = UpdateStage::Completed;
                update.outcome = response.outcome;
            }
        } else if body.type_url == pu::Rejection::type_url() {
            let Ok(rejection) = pu::Rejection::decode(body.value.as_slice()) else {
                return;
            };
            if let Some(update) = self.updates.get_mut(&key) {
                update.stage = UpdateStage::Completed;
                update.outcome = Some(pu::Outcome {
                    value: Some(pu::outcome::Value::Failure(rejection.failure.unwrap_or_default())),
                });
            }
        }
    }

    /// Admits an update (the same id again is the same update) and asks for a workflow task
    /// to deliver it. Returns the run and the update's key.
    pub(crate) fn request_update(
        &mut self,
        execution: Option<&WorkflowExecution>,
        request: pu::Request,
    ) -> Result<(String, String), Refusal> {
        let update_id = request.meta.as_ref().map(|m| m.update_id.clone()).unwrap_or_default();
        if update_id.is_empty() {
            return Err(Refusal::Invalid("an update id is required".into()));
        }
        let run_id = self.resolve(execution)?;
        let key = (run_id.clone(), update_id.clone());
        if self.updates.contains_key(&key) {
            return Ok(key);
        }
        if !self.executions[&run_id].is_open() {
            return Err(Refusal::NotFound("the workflow execution has already completed".into()));
        }
        self.updates.insert(
            key.clone(),
            UpdateState {
                request,
                delivered: false,
                stage: UpdateStage::Admitted,
                outcome: None,
                accepted_event_id: 0,
            },
        );
        self.schedule_task(&run_id);
        Ok(key)
    }
}
