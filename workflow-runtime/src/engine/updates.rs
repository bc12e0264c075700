//! Updates and async handlers in a run: delivering an update (validation, acceptance, a
//! handler run at once or beside `run`), polling running handlers, and the protocol messages
//! that answer the caller.

use super::commands::WorkflowCommand;
use super::driver::UpdateOutcome;
use super::run::Run;
use super::run_state::RunState;
use crate::client::failure::Failure;
use crate::client::proto::common::{Payload, Payloads};
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::client::proto::protocol::{self, Message};
use crate::client::proto::update as pu;
use crate::interceptor::InboundKind;
use crate::workflow::error::{TaskError, WorkflowError};
use futures::future::LocalBoxFuture;
use prost::Message as _;
use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::task::{Context, Poll};

impl Run {
    /// Runs one update: validation (live only), acceptance, the handler, completion.
    pub(super) fn deliver_update(&mut self, update: UpdateDelivery) -> Result<(), TaskError> {
        let meta = update.request.meta.clone().unwrap_or_default();
        let update_id = meta.update_id.clone();
        if self.finished || self.accepted_updates.contains(&update_id) {
            return Ok(());
        }
        let input = update.request.input.clone().unwrap_or_default();
        let args = input.args.map(|p| p.payloads).unwrap_or_default();
        if update.live {
            self.state.borrow_mut().intercept_inbound(
                InboundKind::ValidateUpdate,
                &input.name,
                Some(&update_id),
                input.header.as_ref(),
            );
        }
        let outcome = self.driver.update(&input.name, &args, update.live);
        let result = match outcome {
            UpdateOutcome::Rejected(failure) if update.live => {
                tracing::debug!(update = %input.name, %update_id, %failure, "update rejected");
                self.rejections.push(protocol_message(
                    &update_id,
                    "reject",
                    &pu::Rejection {
                        rejected_request_message_id: update.message_id,
                        rejected_request_sequencing_event_id: update.sequencing_event_id,
                        rejected_request: Some(update.request),
                        failure: Some(failure.into()),
                    },
                ));
                return Ok(());
            }
            UpdateOutcome::Rejected(failure) => {
                // History accepted it, the code refuses it now: the code changed.
                return Err(self.nondeterminism(
                    0,
                    format!("WorkflowExecutionUpdateAccepted(update {update_id}, `{}`)", input.name),
                    format!("a rejection: {failure}"),
                ));
            }
            UpdateOutcome::Completed(result) => Ok(result),
            UpdateOutcome::Started(running) => Err(running),
            UpdateOutcome::Panicked(message) => {
                let info = self.info();
                return Err(TaskError::Panic {
                    workflow_type: info.workflow_type,
                    workflow_id: info.workflow_id,
                    message,
                });
            }
        };
        self.accepted_updates.insert(update_id.clone());
        self.state.borrow_mut().intercept_inbound(
            InboundKind::Update,
            &input.name,
            Some(&update_id),
            input.header.as_ref(),
        );
        let acceptance = protocol_message(
            &update_id,
            "accept",
            &pu::Acceptance {
                accepted_request_message_id: update.message_id,
                accepted_request_sequencing_event_id: update.sequencing_event_id,
                accepted_request: Some(update.request),
            },
        );
        let mut run = self.state.borrow_mut();
        run.issue(WorkflowCommand::Protocol {
            update_id: update_id.clone(),
            completed: false,
            message: Box::new(acceptance),
        });
        match result {
            Ok(result) => run.issue(update_completion(update_id, meta, result)),
            Err(future) => self.running_updates.push(RunningUpdate {
                update_id,
                meta,
                name: input.name,
                future,
            }),
        }
        run.wake_conditions();
        Ok(())
    }
}

/// An async update handler accepted and still running.
pub(super) struct RunningUpdate {
    pub(super) update_id: String,
    pub(super) meta: pu::Meta,
    pub(super) name: String,
    pub(super) future: LocalBoxFuture<'static, Result<Payload, Failure>>,
}

/// Polls each running update once; a finished one issues its completion. A panic stops the
/// activation like a panic in `run`.
pub(super) fn poll_running_updates(
    running: &mut Vec<RunningUpdate>,
    run: &Rc<RefCell<RunState>>,
    cx: &mut Context<'_>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    let mut i = 0;
    while i < running.len() {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| running[i].future.as_mut().poll(cx)))?;
        match polled {
            Poll::Ready(result) => {
                let done = running.remove(i);
                let mut run = run.borrow_mut();
                run.issue(update_completion(done.update_id, done.meta, result));
                run.wake_conditions();
            }
            Poll::Pending => i += 1,
        }
    }
    Ok(())
}

/// Polls each running async signal handler once; a finished one is dropped, and the first
/// that failed is returned (it fails the run). A panic stops the activation.
pub(super) fn poll_running_signals(
    running: &mut Vec<(String, crate::definition::RunningSignal)>,
    run: &Rc<RefCell<RunState>>,
    cx: &mut Context<'_>,
) -> Result<Option<WorkflowError>, Box<dyn std::any::Any + Send>> {
    let mut i = 0;
    while i < running.len() {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| running[i].1.as_mut().poll(cx)))?;
        match polled {
            Poll::Ready(result) => {
                drop(running.remove(i));
                run.borrow_mut().wake_conditions();
                if let Err(error) = result {
                    return Ok(Some(error));
                }
            }
            Poll::Pending => i += 1,
        }
    }
    Ok(None)
}

/// The protocol command that answers an update's caller with its result or failure.
pub(super) fn update_completion(
    update_id: String,
    meta: pu::Meta,
    result: Result<Payload, Failure>,
) -> WorkflowCommand {
    let outcome = pu::Outcome {
        value: Some(match result {
            Ok(payload) => pu::outcome::Value::Success(Payloads {
                payloads: vec![payload],
            }),
            Err(failure) => pu::outcome::Value::Failure(failure.into()),
        }),
    };
    let response = protocol_message(
        &update_id,
        "complete",
        &pu::Response {
            meta: Some(meta),
            outcome: Some(outcome),
        },
    );
    WorkflowCommand::Protocol {
        update_id,
        completed: true,
        message: Box::new(response),
    }
}

/// An update request to run in an activation.
pub(super) struct UpdateDelivery {
    pub(super) message_id: String,
    pub(super) sequencing_event_id: i64,
    pub(super) request: pu::Request,
    /// Delivered by the server now (validate; may reject), or replayed from history.
    pub(super) live: bool,
}

impl UpdateDelivery {
    pub(super) fn from_message(message: &Message) -> Option<Self> {
        let body = message.body.as_ref()?;
        if !body.type_url.ends_with("temporal.api.update.v1.Request") {
            return None;
        }
        let request = pu::Request::decode(body.value.as_slice()).ok()?;
        let sequencing_event_id = match message.sequencing_id {
            Some(protocol::message::SequencingId::EventId(id)) => id,
            _ => 0,
        };
        Some(UpdateDelivery {
            message_id: message.id.clone(),
            sequencing_event_id,
            request,
            live: true,
        })
    }

    /// An update recorded as admitted at `event_id` (no protocol message carried it): its
    /// acceptance refers to the request by the id the other SDKs give it.
    pub(super) fn admitted(event_id: i64, request: pu::Request) -> Self {
        let update_id = request.meta.as_ref().map(|m| m.update_id.clone()).unwrap_or_default();
        UpdateDelivery {
            message_id: format!("{update_id}/request"),
            sequencing_event_id: event_id,
            request,
            live: true,
        }
    }

    pub(super) fn from_accepted_event(event: &HistoryEvent) -> Option<Self> {
        let Some(EvAttr::WorkflowExecutionUpdateAcceptedEventAttributes(a)) = &event.attributes else {
            return None;
        };
        Some(UpdateDelivery {
            message_id: a.accepted_request_message_id.clone(),
            sequencing_event_id: a.accepted_request_sequencing_event_id,
            request: a.accepted_request.clone()?,
            live: false,
        })
    }
}

/// A protocol message of an update, its body packed as `Any`.
pub(super) fn protocol_message<M: prost::Name>(update_id: &str, step: &str, body: &M) -> Message {
    Message {
        id: format!("{update_id}/{step}"),
        protocol_instance_id: update_id.to_string(),
        body: Some(crate::client::proto::Any {
            type_url: M::type_url(),
            value: body.encode_to_vec(),
        }),
        sequencing_id: None,
    }
}
