//! Nexus tasks: poll the task queue's Nexus requests, run the registered operation handler,
//! and answer with its result, an operation failure, or a handler error — in the protocol's
//! Temporal-failure form when the request says the server reads it, the older form otherwise.

use super::WorkerOptions;
use super::metrics::{PollerKind, SlotKind, WorkerMetrics};
use super::polling;
use super::tuning::{PollerBehavior, SlotSupplier, Slots};
use crate::client::failure::Failure;
use crate::client::proto::enums::{NexusHandlerErrorRetryBehavior, TaskQueueKind};
use crate::client::proto::failure as pf;
use crate::client::proto::nexus as pn;
use crate::client::proto::taskqueue::TaskQueue;
use crate::client::proto::workflowservice as ws;
use crate::client::{Client, ClientError};
use crate::interceptor::{NexusInbound, WorkerInterceptors, intercept_nexus};
use crate::nexus::{ErasedOperation, NexusContext, NexusError, Started, WorkflowRunToken};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The registered operations, by (service, operation).
pub(crate) type Operations = Arc<BTreeMap<(String, String), ErasedOperation>>;

struct NexusWorkerState {
    client: Client,
    task_queue: String,
    identity: String,
    instance_key: String,
    /// The deployment version on every poll.
    deployment: Option<crate::client::proto::deployment::WorkerDeploymentOptions>,
    refusals: polling::Refusals,
    operations: Operations,
    interceptors: WorkerInterceptors,
    slots: Slots,
    pollers: PollerBehavior,
    metrics: WorkerMetrics,
}

pub(super) struct NexusWorker {
    shared: Arc<NexusWorkerState>,
    poller: JoinHandle<()>,
}

impl NexusWorker {
    pub(super) fn start(
        client: Client,
        task_queue: String,
        identity: &super::WorkerIdentity,
        operations: Operations,
        interceptors: WorkerInterceptors,
        options: &WorkerOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let shared = Arc::new(NexusWorkerState {
            client,
            task_queue,
            identity: identity.name.clone(),
            instance_key: identity.instance_key.clone(),
            deployment: identity.deployment.clone(),
            refusals: identity.refusals.clone(),
            operations,
            interceptors,
            slots: Slots::new(&SlotSupplier::Fixed(options.max_concurrent_nexus_tasks)),
            pollers: options.nexus_pollers,
            metrics: identity.metrics.clone(),
        });
        (shared.metrics).watch_slots(SlotKind::Nexus, &shared.slots);
        let poller = tokio::spawn(poll_loop(shared.clone(), shutdown));
        NexusWorker { shared, poller }
    }

    /// Waits for the pollers to stop and in-flight requests to be answered.
    pub(super) async fn finish(self, deadline: tokio::time::Instant) {
        let _ = self.poller.await;
        if tokio::time::timeout_at(deadline, self.shared.slots.all_released())
            .await
            .is_err()
        {
            tracing::warn!("Nexus requests still running after the shutdown grace period");
        }
    }
}

async fn poll_loop(shared: Arc<NexusWorkerState>, shutdown: watch::Receiver<bool>) {
    let poll = |timeout| {
        let request = ws::PollNexusTaskQueueRequest {
            namespace: shared.client.namespace().to_string(),
            task_queue: Some(TaskQueue {
                name: shared.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            identity: shared.identity.clone(),
            worker_instance_key: shared.instance_key.clone(),
            deployment_options: shared.deployment.clone(),
            ..Default::default()
        };
        shared.client.call(request, Some(timeout), |mut s, r| async move {
            s.poll_nexus_task_queue(r).await
        })
    };
    let handle = |task| {
        let shared = shared.clone();
        async move { handle_task(&shared, task).await }
    };
    let settings = polling::PollSettings {
        what: "Nexus task",
        metrics: shared.metrics.poller(PollerKind::Nexus),
        slots: shared.slots.clone(),
        pollers: shared.pollers,
        rate: None,
        shutdown,
        refusals: shared.refusals.clone(),
    };
    polling::poll_loop(settings, poll, handle).await
}

/// How a request ended, before it is put in the protocol's words.
enum Answer {
    Completed(Box<pn::Response>),
    HandlerError(NexusError),
}

async fn handle_task(shared: &NexusWorkerState, task: ws::PollNexusTaskQueueResponse) {
    let request = task.request.unwrap_or_default();
    let task_metrics = shared.metrics.nexus_task(&request);
    let temporal_failures = request
        .capabilities
        .as_ref()
        .is_some_and(|c| c.temporal_failure_responses);
    let deadline = request_timeout(&request.header).map(|timeout| std::time::Instant::now() + timeout);
    let answering = answer_request(shared, request, deadline, temporal_failures);
    let answer = match deadline {
        None => answering.await,
        Some(deadline) => match tokio::time::timeout_at(deadline.into(), answering).await {
            Ok(answer) => answer,
            Err(_) => {
                // The caller's server has given up on this request (and retries it, or times
                // the operation out): the handler is dropped, and an answer would be refused.
                tracing::warn!("a Nexus request outlasted its deadline; its handler was cancelled");
                return task_metrics.timed_out();
            }
        },
    };
    task_metrics.finished(failure_reason(&answer));
    respond(shared, task.task_token, answer, temporal_failures).await;
}

/// The request's deadline from now: its `Request-Timeout` header (a Go duration, as the
/// server writes it: `9.998s`, `300ms`).
fn request_timeout(header: &std::collections::HashMap<String, String>) -> Option<std::time::Duration> {
    let (_, value) = header.iter().find(|(k, _)| k.eq_ignore_ascii_case("request-timeout"))?;
    parse_go_duration(value)
}

/// A Go duration (`1h2m3.5s`, `300ms`, `10us`); `None` when it is not one.
fn parse_go_duration(text: &str) -> Option<std::time::Duration> {
    let mut rest = text.trim();
    let mut seconds = 0.0_f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        seconds += number * scale;
        rest = &rest[unit_len..];
    }
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

/// What the handler (or the cancellation) answers the request.
async fn answer_request(
    shared: &NexusWorkerState,
    request: pn::Request,
    deadline: Option<std::time::Instant>,
    temporal_failures: bool,
) -> Answer {
    match request.variant {
        Some(pn::request::Variant::StartOperation(start)) => {
            let span = tracing::info_span!(
                "nexus_operation",
                namespace = %shared.client.namespace(),
                service = %start.service,
                operation = %start.operation,
                endpoint = %request.endpoint,
            );
            let callback = (!start.callback.is_empty()).then(|| {
                (
                    start.callback.clone(),
                    start.callback_header.clone().into_iter().collect(),
                )
            });
            let ctx = NexusContext {
                client: shared.client.clone(),
                callback,
                service: start.service.clone(),
                operation: start.operation.clone(),
                request_id: start.request_id.clone(),
                headers: request.header.clone().into_iter().collect(),
                endpoint: request.endpoint.clone(),
                task_queue: shared.task_queue.clone(),
                deadline,
            };
            start_operation(shared, ctx, start.payload, temporal_failures)
                .instrument(span)
                .await
        }
        Some(pn::request::Variant::CancelOperation(cancel)) => cancel_operation(shared, &cancel.operation_token).await,
        None => Answer::HandlerError(NexusError::bad_request("a Nexus request without an operation")),
    }
}

/// Sends the answer to the request of `task_token`.
async fn respond(shared: &NexusWorkerState, task_token: Vec<u8>, answer: Answer, temporal_failures: bool) {
    let namespace = shared.client.namespace().to_string();
    let sent = match answer {
        Answer::Completed(response) => {
            let request = ws::RespondNexusTaskCompletedRequest {
                namespace,
                identity: shared.identity.clone(),
                task_token,
                response: Some(*response),
                ..Default::default()
            };
            let call =
                |mut s: crate::client::WorkflowService, r| async move { s.respond_nexus_task_completed(r).await };
            shared.client.call(request, None, call).await.map(drop)
        }
        Answer::HandlerError(error) => {
            let mut request = ws::RespondNexusTaskFailedRequest {
                namespace,
                identity: shared.identity.clone(),
                task_token,
                ..Default::default()
            };
            if temporal_failures {
                request.failure = Some(handler_failure(&error));
            } else {
                #[allow(deprecated)]
                {
                    request.error = Some(handler_error(&error));
                }
            }
            let call = |mut s: crate::client::WorkflowService, r| async move { s.respond_nexus_task_failed(r).await };
            shared.client.call(request, None, call).await.map(drop)
        }
    };
    if let Err(e) = sent {
        tracing::warn!(error = %ClientError::from(e), "could not answer a Nexus request");
    }
}

/// How a request failed, in the `failure_reason` words of the core-based SDKs' metrics:
/// `handler_error_<TYPE>`, `operation_failed` or `operation_canceled`; `None` when it did not.
fn failure_reason(answer: &Answer) -> Option<String> {
    use pn::start_operation_response::Variant as Start;
    let response = match answer {
        Answer::HandlerError(error) => return Some(format!("handler_error_{}", retry_behavior(error).0)),
        Answer::Completed(response) => response,
    };
    let Some(pn::response::Variant::StartOperation(start)) = &response.variant else {
        return None;
    };
    match start.variant.as_ref()? {
        Start::Failure(failure) => Some(
            match failure.failure_info {
                Some(pf::failure::FailureInfo::CanceledFailureInfo(_)) => "operation_canceled",
                _ => "operation_failed",
            }
            .to_string(),
        ),
        #[allow(deprecated)]
        Start::OperationError(error) => Some(format!("operation_{}", error.operation_state)),
        _ => None,
    }
}

/// Runs the operation's handler; its result or failure answers the request, its handler
/// errors fail the task.
async fn start_operation(
    shared: &NexusWorkerState,
    ctx: NexusContext,
    payload: Option<crate::client::proto::common::Payload>,
    temporal_failures: bool,
) -> Answer {
    let key = (ctx.service.clone(), ctx.operation.clone());
    let Some(operation) = shared.operations.get(&key).cloned() else {
        let names: Vec<String> = shared.operations.keys().map(|(s, o)| format!("{s}.{o}")).collect();
        let known = crate::messages::listed(names.iter().map(String::as_str));
        return Answer::HandlerError(NexusError::Handler {
            kind: crate::nexus::HandlerErrorKind::NotFound,
            message: format!(
                "operation `{}.{}` is not registered on this worker; registered: {known}",
                key.0, key.1
            ),
            retryable: None,
        });
    };
    let call = NexusInbound { ctx, input: payload };
    let run = intercept_nexus(&shared.interceptors, call, |call| operation(call.ctx, call.input));
    let outcome = match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(run)).await {
        Ok(outcome) => outcome,
        Err(panic) => Err(NexusError::internal(format!(
            "the operation handler panicked: {}",
            crate::messages::panic_message(&*panic)
        ))),
    };
    let start = match outcome {
        Ok(Started::Sync(payload)) => {
            pn::start_operation_response::Variant::SyncSuccess(pn::start_operation_response::Sync {
                payload: Some(payload),
                links: Vec::new(),
            })
        }
        Ok(Started::Async { token }) =>
        {
            #[allow(deprecated)]
            pn::start_operation_response::Variant::AsyncSuccess(pn::start_operation_response::Async {
                operation_token: token,
                ..Default::default()
            })
        }
        Err(NexusError::Failed(message)) if temporal_failures => {
            pn::start_operation_response::Variant::Failure(Failure::application(message, "NexusOperationError").into())
        }
        Err(NexusError::Canceled(message)) if temporal_failures => {
            pn::start_operation_response::Variant::Failure(Failure::canceled(message).into())
        }
        Err(NexusError::Failed(message)) => unsuccessful("failed", message),
        Err(NexusError::Canceled(message)) => unsuccessful("canceled", message),
        Err(handler) => return Answer::HandlerError(handler),
    };
    Answer::Completed(Box::new(pn::Response {
        variant: Some(pn::response::Variant::StartOperation(pn::StartOperationResponse {
            variant: Some(start),
        })),
    }))
}

/// Cancels a workflow-backed operation: asks its workflow to cancel (the caller learns the
/// outcome when the workflow ends).
async fn cancel_operation(shared: &NexusWorkerState, token: &str) -> Answer {
    let Some(token) = WorkflowRunToken::decode(token) else {
        return Answer::HandlerError(NexusError::bad_request(
            "an operation token this worker did not issue: only workflow-backed operations can be canceled",
        ));
    };
    if token.namespace() != shared.client.namespace() {
        return Answer::HandlerError(NexusError::bad_request(format!(
            "the operation runs in namespace `{}`, not this worker's",
            token.namespace()
        )));
    }
    let handle = shared.client.untyped_handle(token.workflow_id(), None);
    match handle.cancel("canceled by the Nexus caller").await {
        Ok(()) => Answer::Completed(Box::new(pn::Response {
            variant: Some(pn::response::Variant::CancelOperation(pn::CancelOperationResponse {})),
        })),
        Err(e @ ClientError::NotFound(_)) => Answer::HandlerError(NexusError::Handler {
            kind: crate::nexus::HandlerErrorKind::NotFound,
            message: e.to_string(),
            retryable: None,
        }),
        Err(e) => Answer::HandlerError(NexusError::internal(e.to_string())),
    }
}

/// An operation that failed or was canceled, in the older protocol's form.
fn unsuccessful(state: &str, message: String) -> pn::start_operation_response::Variant {
    #[allow(deprecated)]
    pn::start_operation_response::Variant::OperationError(pn::UnsuccessfulOperationError {
        operation_state: state.to_string(),
        failure: Some(pn::Failure {
            message,
            ..Default::default()
        }),
    })
}

/// The type, retry behaviour and message of a handler error.
fn retry_behavior(error: &NexusError) -> (String, NexusHandlerErrorRetryBehavior, String) {
    match error {
        NexusError::Handler {
            kind,
            message,
            retryable,
        } => {
            let behavior = match retryable {
                Some(true) => NexusHandlerErrorRetryBehavior::Retryable,
                Some(false) => NexusHandlerErrorRetryBehavior::NonRetryable,
                None => NexusHandlerErrorRetryBehavior::Unspecified,
            };
            (kind.as_str().to_string(), behavior, message.clone())
        }
        other => (
            "INTERNAL".to_string(),
            NexusHandlerErrorRetryBehavior::Unspecified,
            other.to_string(),
        ),
    }
}

/// A handler error as a Temporal failure (the current protocol).
fn handler_failure(error: &NexusError) -> pf::Failure {
    let (kind, behavior, message) = retry_behavior(error);
    pf::Failure {
        message,
        failure_info: Some(pf::failure::FailureInfo::NexusHandlerFailureInfo(
            pf::NexusHandlerFailureInfo {
                r#type: kind,
                retry_behavior: behavior as i32,
            },
        )),
        ..Default::default()
    }
}

/// A handler error in the older protocol's form.
fn handler_error(error: &NexusError) -> pn::HandlerError {
    let (kind, behavior, message) = retry_behavior(error);
    pn::HandlerError {
        error_type: kind,
        failure: Some(pn::Failure {
            message,
            ..Default::default()
        }),
        retry_behavior: behavior as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn request_timeouts_read_as_go_durations() {
        let header = |v: &str| [("Request-Timeout".to_string(), v.to_string())].into_iter().collect();
        assert_eq!(request_timeout(&header("9.998s")), Some(Duration::from_millis(9998)));
        assert_eq!(request_timeout(&header("300ms")), Some(Duration::from_millis(300)));
        assert_eq!(request_timeout(&header("1m30s")), Some(Duration::from_secs(90)));
        assert_eq!(request_timeout(&header("250us")), Some(Duration::from_micros(250)));
        assert_eq!(request_timeout(&header("soon")), None);
        assert_eq!(request_timeout(&header("10")), None);
        assert_eq!(request_timeout(&header("")), None);
        assert_eq!(request_timeout(&Default::default()), None);
    }
}
