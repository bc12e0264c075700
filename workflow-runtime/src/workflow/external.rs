//! Other ("external") workflows, known by id: signal them or ask them to cancel from workflow
//! code, and learn whether the server delivered the request.

use super::error::WorkflowError;
use crate::client::failure::Failure;
use crate::client::payload::PayloadArgs;
use crate::client::proto::command as pc;
use crate::client::proto::common::{Payloads, WorkflowExecution};
use crate::client::proto::enums;
use crate::engine::commands::WorkflowCommand;
use crate::engine::run_state::RunState;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The record of one signal or cancel request sent to another workflow.
#[derive(Default)]
pub(crate) struct ExternalSlot {
    pub(crate) description: String,
    pub(crate) outcome: Option<Result<(), Failure>>,
    pub(crate) waker: Option<Waker>,
}

impl RunState {
    /// Records the outcome of a signal or cancel request to another workflow.
    pub(crate) fn resolve_external(&mut self, initiated_event_id: i64, outcome: Result<(), Failure>) {
        if let Some(slot) = self.externals.by_event_mut(initiated_event_id)
            && slot.outcome.is_none()
        {
            slot.outcome = Some(outcome);
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        }
        self.wake_conditions();
    }
}

/// Another workflow, known by id: signal it or ask it to cancel.
pub struct ExternalWorkflow {
    pub(crate) run: Rc<RefCell<RunState>>,
    pub(crate) workflow_id: String,
    pub(crate) run_id: String,
    pub(crate) child_only: bool,
}

impl ExternalWorkflow {
    fn request(&self, description: String, command: impl FnOnce(u32) -> WorkflowCommand) -> ExternalRequest {
        let mut run = self.run.borrow_mut();
        let seq = run.externals.next_seq();
        let command = command(seq);
        run.externals.insert(
            seq,
            ExternalSlot {
                description,
                ..Default::default()
            },
        );
        run.issue(command);
        ExternalRequest {
            run: self.run.clone(),
            seq,
            early_error: None,
        }
    }

    /// Sends a signal by its wire name; resolves once the server delivered it (or could not:
    /// the workflow is unknown or closed).
    pub fn signal_by_name<A: PayloadArgs>(&self, name: &str, args: A) -> ExternalRequest {
        let input = match args.to_payloads() {
            Ok(p) => p,
            Err(e) => {
                return ExternalRequest {
                    run: self.run.clone(),
                    seq: 0,
                    early_error: Some(WorkflowError::non_retryable(
                        format!("arguments of signal `{name}`: {e}"),
                        "PayloadError",
                    )),
                };
            }
        };
        let (workflow_id, run_id, child_only) = (self.workflow_id.clone(), self.run_id.clone(), self.child_only);
        self.request(format!("signal {name} to {workflow_id}"), |seq| {
            WorkflowCommand::SignalExternal {
                seq,
                attributes: Box::new(pc::SignalExternalWorkflowExecutionCommandAttributes {
                    execution: Some(WorkflowExecution { workflow_id, run_id }),
                    signal_name: name.to_string(),
                    input: (!input.is_empty()).then_some(Payloads { payloads: input }),
                    child_workflow_only: child_only,
                    ..Default::default()
                }),
            }
        })
    }

    /// Asks the workflow to cancel; resolves once the request is delivered.
    pub fn cancel(&self) -> ExternalRequest {
        let (workflow_id, run_id, child_only) = (self.workflow_id.clone(), self.run_id.clone(), self.child_only);
        self.request(format!("cancel of {workflow_id}"), |seq| {
            WorkflowCommand::CancelExternal {
                seq,
                attributes: Box::new(pc::RequestCancelExternalWorkflowExecutionCommandAttributes {
                    workflow_id,
                    run_id,
                    child_workflow_only: child_only,
                    ..Default::default()
                }),
            }
        })
    }
}

/// A signal or cancel request to another workflow, issued when created; await it to learn
/// whether the server delivered it.
#[must_use = "await the request to learn whether it was delivered"]
pub struct ExternalRequest {
    run: Rc<RefCell<RunState>>,
    seq: u32,
    early_error: Option<WorkflowError>,
}

impl Future for ExternalRequest {
    type Output = Result<(), WorkflowError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(e) = self.early_error.take() {
            return Poll::Ready(Err(e));
        }
        let mut run = self.run.borrow_mut();
        let Some(slot) = run.externals.get_mut(self.seq) else {
            return Poll::Ready(Err(WorkflowError::non_retryable("request slot vanished", "Internal")));
        };
        match &slot.outcome {
            Some(Ok(())) => Poll::Ready(Ok(())),
            Some(Err(f)) => Poll::Ready(Err(f.clone().into())),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The failure of a signal or cancel request the server could not deliver.
pub(crate) fn external_failure(what: &str, cause: i32) -> Failure {
    let cause = enums::SignalExternalWorkflowExecutionFailedCause::try_from(cause)
        .map(|c| c.as_str_name().to_string())
        .unwrap_or_else(|_| cause.to_string());
    Failure::application(format!("{what} was not delivered: {cause}"), "ExternalWorkflowNotFound").non_retryable()
}
