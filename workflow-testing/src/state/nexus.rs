//! Nexus in the test environment: endpoints, the operations workflows schedule through them,
//! and what ends them. An operation's start request is a Nexus task on the endpoint's target
//! task queue; a handler error that may be retried sends it again after a backoff in virtual
//! time, until the operation's schedule-to-close timeout (virtual time too). An operation the
//! handler started asynchronously ends when the run backing it closes: that run carries the
//! completion callback this environment issued, and its close is delivered to the caller as
//! the server does. Cancelling a started operation sends the handler a cancel request.

use super::*;
use workflow_client::proto::common::Payload;
use workflow_client::proto::failure::{NexusOperationFailureInfo, failure::FailureInfo};
use workflow_client::proto::nexus as pn;

/// The callback URL of the Nexus completion callbacks this environment issues (the server's
/// own, for callbacks it delivers itself).
pub(crate) const CALLBACK_URL: &str = "temporal://system";
/// The callback header that names the operation a callback completes.
const CALLBACK_TOKEN_HEADER: &str = "temporal-callback-token";
/// What the callback token of an operation starts with.
const CALLBACK_TOKEN_PREFIX: &str = "test-environment-nexus|";
/// How long a handler has to answer a Nexus request (real time: its code runs in real time),
/// as the server's default request timeout; past it, the request is retried.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The server's default backoff between attempts of a Nexus request.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// The message the server wraps an operation's failure in.
const UNSUCCESSFUL: &str = "nexus operation completed unsuccessfully";

/// A Nexus endpoint: where requests addressed to its name go.
pub(crate) struct Endpoint {
    pub(crate) id: String,
    pub(crate) task_queue: String,
    pub(crate) created: SystemTime,
}

impl Endpoint {
    /// The endpoint as the operator service describes it.
    pub(crate) fn describe(&self, name: &str, namespace: &str) -> pn::Endpoint {
        pn::Endpoint {
            version: 1,
            id: self.id.clone(),
            spec: Some(pn::EndpointSpec {
                name: name.to_string(),
                description: None,
                target: Some(pn::EndpointTarget {
                    variant: Some(pn::endpoint_target::Variant::Worker(pn::endpoint_target::Worker {
                        namespace: namespace.to_string(),
                        task_queue: self.task_queue.clone(),
                    })),
                }),
            }),
            created_time: Some(to_timestamp(self.created)),
            last_modified_time: Some(to_timestamp(self.created)),
            url_prefix: format!("/nexus/endpoints/{}", self.id),
        }
    }
}

/// Whether a name is one the server accepts for an endpoint.
fn valid_endpoint_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 200
}

/// A Nexus operation a run scheduled and that has not ended.
pub(super) struct NexusOperationState {
    endpoint: String,
    service: String,
    operation: String,
    input: Option<Payload>,
    header: HashMap<String, String>,
    request_id: String,
    task_queue: String,
    /// The operation's token, once the handler started it asynchronously.
    token: Option<String>,
    /// The `NexusOperationCancelRequested` event, once the caller asked to cancel.
    cancel_requested: Option<i64>,
    /// Whether the handler answered the cancel request.
    cancel_answered: bool,
    /// The attempt of the request being made (the start, or once started, the cancel).
    attempt: u32,
    /// Whether that request is in a worker's hands.
    in_flight: bool,
}

impl NexusOperationState {
    /// The request the operation waits on: its start, or once started and asked to cancel,
    /// the cancel request; `None` when it waits on nothing but its backing run.
    fn current_request(&self) -> Option<bool> {
        match (&self.token, self.cancel_requested) {
            (None, _) => Some(false),
            (Some(_), Some(_)) if !self.cancel_answered => Some(true),
            _ => None,
        }
    }
}

/// One Nexus request handed to workers: an operation's start or cancel, by attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NexusTask {
    pub(crate) run_id: String,
    pub(crate) scheduled_event_id: i64,
    pub(crate) cancel: bool,
    pub(crate) attempt: u32,
}

/// Whether a handler error is retried: by its retry behaviour, else by its type (the types
/// the Nexus specification marks as not retryable are not).
fn retryable(failure: &ProtoFailure) -> bool {
    use workflow_client::proto::enums::NexusHandlerErrorRetryBehavior as Behavior;
    let Some(FailureInfo::NexusHandlerFailureInfo(info)) = &failure.failure_info else {
        return true;
    };
    match Behavior::try_from(info.retry_behavior).unwrap_or(Behavior::Unspecified) {
        Behavior::Retryable => true,
        Behavior::NonRetryable => false,
        Behavior::Unspecified => !matches!(
            info.r#type.as_str(),
            "BAD_REQUEST" | "UNAUTHENTICATED" | "UNAUTHORIZED" | "NOT_FOUND" | "NOT_IMPLEMENTED" | "CONFLICT"
        ),
    }
}

/// The backoff before attempt `attempt + 1` of a request.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF)
}

/// The token the official SDKs (and this one) give a workflow-backed operation:
/// base64url without padding of `{"t":1,"ns":…,"wid":…}`.
fn workflow_run_token(namespace: &str, workflow_id: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // In the SDKs' field order (a JSON map would sort the keys).
    let json = format!(
        r#"{{"t":1,"ns":{},"wid":{}}}"#,
        serde_json::Value::from(namespace),
        serde_json::Value::from(workflow_id)
    );
    let mut out = String::new();
    for chunk in json.as_bytes().chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | ((*b as u32) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((bits >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

impl State {
    /// Creates endpoint `name`, routing to `task_queue` of namespace `namespace`.
    pub(crate) fn create_endpoint(
        &mut self,
        name: &str,
        namespace: &str,
        task_queue: &str,
    ) -> Result<pn::Endpoint, Refusal> {
        if !valid_endpoint_name(name) {
            return Err(Refusal::Invalid(format!(
                "`{name}` is not a valid Nexus endpoint name (a letter or `_`, then letters, digits, `-` or `_`)"
            )));
        }
        if namespace != self.namespace {
            return Err(Refusal::Invalid(format!(
                "the endpoint targets namespace `{namespace}`; the test environment has only `{}`",
                self.namespace
            )));
        }
        if task_queue.is_empty() {
            return Err(Refusal::Invalid("a Nexus endpoint needs a target task queue".into()));
        }
        if self.endpoints.contains_key(name) {
            return Err(Refusal::AlreadyExists(format!(
                "a Nexus endpoint named `{name}` exists"
            )));
        }
        self.nexus_counter += 1;
        let endpoint = Endpoint {
            id: format!("{:08x}-0000-4000-9000-{:012x}", self.nexus_counter, self.nexus_counter),
            task_queue: task_queue.to_string(),
            created: self.now,
        };
        let described = endpoint.describe(name, &self.namespace);
        self.endpoints.insert(name.to_string(), endpoint);
        Ok(described)
    }

    /// The endpoints, by name.
    pub(crate) fn endpoints(&self) -> Vec<pn::Endpoint> {
        self.endpoints
            .iter()
            .map(|(name, e)| e.describe(name, &self.namespace))
            .collect()
    }

    /// Deletes the endpoint with id `id`.
    pub(crate) fn delete_endpoint(&mut self, id: &str) -> Result<(), Refusal> {
        let before = self.endpoints.len();
        self.endpoints.retain(|_, e| e.id != id);
        if self.endpoints.len() == before {
            return Err(Refusal::NotFound(format!("no Nexus endpoint with id `{id}`")));
        }
        Ok(())
    }

    /// `ScheduleNexusOperation`: records the operation and sends its start request.
    pub(super) fn schedule_nexus(
        &mut self,
        run_id: &str,
        completed_id: i64,
        a: workflow_client::proto::command::ScheduleNexusOperationCommandAttributes,
    ) -> Result<(), Refusal> {
        let Some(endpoint) = self.endpoints.get(&a.endpoint) else {
            return Err(Refusal::Invalid(format!(
                "no Nexus endpoint named `{}` in the test environment (create it with \
                 `TestEnv::create_nexus_endpoint` or the CreateNexusEndpoint RPC)",
                a.endpoint
            )));
        };
        let (endpoint_id, task_queue) = (endpoint.id.clone(), endpoint.task_queue.clone());
        self.nexus_counter += 1;
        let request_id = format!("{:08x}-0000-4000-a000-{:012x}", self.nexus_counter, self.nexus_counter);
        let timeout = a.schedule_to_close_timeout.as_ref().map(from_proto_duration);
        let scheduled = self.append(
            run_id,
            Ev::NexusOperationScheduledEventAttributes(h::NexusOperationScheduledEventAttributes {
                endpoint: a.endpoint.clone(),
                service: a.service.clone(),
                operation: a.operation.clone(),
                input: a.input.clone(),
                schedule_to_close_timeout: a.schedule_to_close_timeout,
                nexus_header: a.nexus_header.clone(),
                workflow_task_completed_event_id: completed_id,
                request_id: request_id.clone(),
                endpoint_id,
                schedule_to_start_timeout: a.schedule_to_start_timeout,
                start_to_close_timeout: a.start_to_close_timeout,
            }),
        );
        let operation = NexusOperationState {
            endpoint: a.endpoint,
            service: a.service,
            operation: a.operation,
            input: a.input,
            header: a.nexus_header,
            request_id,
            task_queue,
            token: None,
            cancel_requested: None,
            cancel_answered: false,
            attempt: 1,
            in_flight: false,
        };
        let execution = self.executions.get_mut(run_id).expect("execution exists");
        execution.nexus.insert(scheduled, operation);
        if let Some(timeout) = timeout.filter(|t| !t.is_zero()) {
            let due = Due::NexusTimeout {
                run_id: run_id.to_string(),
                scheduled_event_id: scheduled,
            };
            self.at(self.now + timeout, due);
        }
        self.queue_nexus(run_id, scheduled);
        Ok(())
    }

    /// Puts the request an operation waits on in its task queue.
    pub(super) fn queue_nexus(&mut self, run_id: &str, scheduled_event_id: i64) {
        let Some(op) = self
            .executions
            .get(run_id)
            .and_then(|e| e.nexus.get(&scheduled_event_id))
        else {
            return;
        };
        let Some(cancel) = op.current_request() else {
            return;
        };
        let task = NexusTask {
            run_id: run_id.to_string(),
            scheduled_event_id,
            cancel,
            attempt: op.attempt,
        };
        self.nexus_queues
            .entry(op.task_queue.clone())
            .or_default()
            .push_back(task);
    }

    /// A worker's poll of Nexus task queue `queue` began.
    pub(crate) fn nexus_poll_began(&mut self, queue: &str) {
        self.nexus_pollers.entry(queue.to_string()).or_default().began();
    }

    /// A worker's poll of Nexus task queue `queue` ended.
    pub(crate) fn nexus_poll_ended(&mut self, queue: &str) {
        self.nexus_pollers.entry(queue.to_string()).or_default().ended();
    }

    /// Whether every Nexus request waiting in a queue waits for time: no worker polls its
    /// queue (the request waits for its operation's timeout, as on the server).
    pub(super) fn nexus_queues_idle(&self, now: std::time::Instant) -> bool {
        self.nexus_queues
            .iter()
            .all(|(queue, tasks)| tasks.is_empty() || !self.nexus_pollers.get(queue).is_some_and(|p| p.serves(now)))
    }

    /// Hands out the next Nexus request of `queue`, if any.
    pub(crate) fn poll_nexus(&mut self, queue: &str) -> Option<ws::PollNexusTaskQueueResponse> {
        loop {
            let task = self.nexus_queues.get_mut(queue)?.pop_front()?;
            let Some(op) = self
                .executions
                .get_mut(&task.run_id)
                .and_then(|e| e.nexus.get_mut(&task.scheduled_event_id))
            else {
                continue;
            };
            if op.in_flight || op.attempt != task.attempt || op.current_request() != Some(task.cancel) {
                continue;
            }
            op.in_flight = true;
            let variant = if task.cancel {
                #[allow(deprecated)]
                pn::request::Variant::CancelOperation(pn::CancelOperationRequest {
                    service: op.service.clone(),
                    operation: op.operation.clone(),
                    operation_id: op.token.clone().unwrap_or_default(),
                    operation_token: op.token.clone().unwrap_or_default(),
                })
            } else {
                let callback_token = format!("{CALLBACK_TOKEN_PREFIX}{}|{}", task.run_id, task.scheduled_event_id);
                pn::request::Variant::StartOperation(pn::StartOperationRequest {
                    service: op.service.clone(),
                    operation: op.operation.clone(),
                    request_id: op.request_id.clone(),
                    callback: CALLBACK_URL.to_string(),
                    payload: op.input.clone(),
                    callback_header: HashMap::from([(CALLBACK_TOKEN_HEADER.to_string(), callback_token)]),
                    links: Vec::new(),
                })
            };
            let request = pn::Request {
                header: op.header.clone(),
                scheduled_time: Some(to_timestamp(self.now)),
                capabilities: Some(pn::request::Capabilities {
                    temporal_failure_responses: true,
                }),
                variant: Some(variant),
                endpoint: op.endpoint.clone(),
            };
            let token = Token::Nexus(task.clone()).encode();
            self.nexus_running
                .insert(task, std::time::Instant::now() + REQUEST_TIMEOUT);
            self.in_flight += 1;
            return Some(ws::PollNexusTaskQueueResponse {
                task_token: token,
                request: Some(request),
                ..Default::default()
            });
        }
    }

    /// The answered request `task` leaves the workers' hands; its operation, if the request is
    /// still the one it waits on.
    fn answered(&mut self, task: &NexusTask) -> Result<Option<&mut NexusOperationState>, Refusal> {
        if self.nexus_running.remove(task).is_none() {
            return Err(Refusal::NotFound("the Nexus task is no longer current".into()));
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        let mut op = self
            .executions
            .get_mut(&task.run_id)
            .filter(|e| e.is_open())
            .and_then(|e| e.nexus.get_mut(&task.scheduled_event_id))
            .filter(|op| op.in_flight && op.attempt == task.attempt && op.current_request() == Some(task.cancel));
        if let Some(op) = &mut op {
            op.in_flight = false;
        }
        Ok(op)
    }

    /// `RespondNexusTaskCompleted`: the handler's answer to a start or cancel request.
    pub(crate) fn complete_nexus_task(&mut self, task: &NexusTask, response: pn::Response) -> Result<(), Refusal> {
        use pn::start_operation_response::Variant as Start;
        if self.answered(task)?.is_none() {
            return Ok(());
        }
        let (run_id, scheduled) = (task.run_id.as_str(), task.scheduled_event_id);
        match response.variant {
            Some(pn::response::Variant::CancelOperation(_)) if task.cancel => {
                let op = self.nexus_operation(run_id, scheduled).expect("current");
                op.cancel_answered = true;
                let requested_event_id = op.cancel_requested.unwrap_or_default();
                self.append(
                    run_id,
                    Ev::NexusOperationCancelRequestCompletedEventAttributes(
                        h::NexusOperationCancelRequestCompletedEventAttributes {
                            requested_event_id,
                            scheduled_event_id: scheduled,
                            ..Default::default()
                        },
                    ),
                );
                self.schedule_task(run_id);
            }
            Some(pn::response::Variant::StartOperation(start)) if !task.cancel => match start.variant {
                Some(Start::SyncSuccess(sync)) => self.end_nexus(run_id, scheduled, Ok(sync.payload)),
                Some(Start::AsyncSuccess(started)) => {
                    #[allow(deprecated)]
                    let token = if started.operation_token.is_empty() {
                        started.operation_id
                    } else {
                        started.operation_token
                    };
                    self.nexus_started(run_id, scheduled, token);
                    // A cancel asked for while the start was under way goes out now.
                    self.queue_nexus(run_id, scheduled);
                }
                Some(Start::Failure(failure)) => self.end_nexus(run_id, scheduled, Err(failure)),
                #[allow(deprecated)]
                Some(Start::OperationError(error)) => {
                    let message = error.failure.map(|f| f.message).unwrap_or_default();
                    let failure = if error.operation_state == "canceled" {
                        Failure::canceled(message)
                    } else {
                        Failure::application(message, "NexusOperationError")
                    };
                    self.end_nexus(run_id, scheduled, Err(failure.into()));
                }
                None => {
                    let failure = Failure::application("the handler answered no outcome", "TestEnvironment");
                    self.end_nexus(run_id, scheduled, Err(failure.into()));
                }
            },
            _ => {
                // An answer of the other kind of request: the request is retried.
                self.nexus_request_failed(task, Failure::application("a mismatched answer", "BAD_RESPONSE").into());
            }
        }
        Ok(())
    }

    /// `RespondNexusTaskFailed`: a handler error; retried after a backoff unless it says it
    /// must not be.
    pub(crate) fn fail_nexus_task(&mut self, task: &NexusTask, failure: ProtoFailure) -> Result<(), Refusal> {
        if self.answered(task)?.is_some() {
            self.nexus_request_failed(task, failure);
        }
        Ok(())
    }

    /// A request failed (a handler error, or no answer in time): retried after a backoff, or
    /// it fails the operation (a start) or the cancel request.
    fn nexus_request_failed(&mut self, task: &NexusTask, failure: ProtoFailure) {
        let (run_id, scheduled) = (task.run_id.as_str(), task.scheduled_event_id);
        let now = self.now;
        let Some(op) = self.nexus_operation(run_id, scheduled) else {
            return;
        };
        if retryable(&failure) {
            let delay = backoff(op.attempt);
            op.attempt += 1;
            let due = Due::NexusRetry {
                run_id: run_id.to_string(),
                scheduled_event_id: scheduled,
            };
            self.at(now + delay, due);
            return;
        }
        if !task.cancel {
            self.end_nexus(run_id, scheduled, Err(failure));
            return;
        }
        op.cancel_answered = true;
        let requested_event_id = op.cancel_requested.unwrap_or_default();
        self.append(
            run_id,
            Ev::NexusOperationCancelRequestFailedEventAttributes(h::NexusOperationCancelRequestFailedEventAttributes {
                requested_event_id,
                scheduled_event_id: scheduled,
                failure: Some(failure),
                ..Default::default()
            }),
        );
        self.schedule_task(run_id);
    }

    /// A pending operation of a run.
    fn nexus_operation(&mut self, run_id: &str, scheduled: i64) -> Option<&mut NexusOperationState> {
        self.executions.get_mut(run_id)?.nexus.get_mut(&scheduled)
    }

    /// The handler started the operation asynchronously: `NexusOperationStarted`.
    fn nexus_started(&mut self, run_id: &str, scheduled: i64, token: String) {
        let Some(op) = self.nexus_operation(run_id, scheduled) else {
            return;
        };
        op.token = Some(token.clone());
        op.attempt = 1;
        let request_id = op.request_id.clone();
        #[allow(deprecated)]
        let started = h::NexusOperationStartedEventAttributes {
            scheduled_event_id: scheduled,
            operation_id: token.clone(),
            request_id,
            operation_token: token,
        };
        self.append(run_id, Ev::NexusOperationStartedEventAttributes(started));
        self.schedule_task(run_id);
    }

    /// The operation ended: with its result, or its failure (a cancellation when the failure
    /// is one), which the event carries wrapped as the server wraps it.
    fn end_nexus(&mut self, run_id: &str, scheduled: i64, outcome: Result<Option<Payload>, ProtoFailure>) {
        let Some(op) = self.executions.get_mut(run_id).and_then(|e| e.nexus.remove(&scheduled)) else {
            return;
        };
        let request_id = op.request_id.clone();
        let event = match outcome {
            Ok(result) => Ev::NexusOperationCompletedEventAttributes(h::NexusOperationCompletedEventAttributes {
                scheduled_event_id: scheduled,
                result,
                request_id,
            }),
            Err(cause) => {
                let canceled = matches!(cause.failure_info, Some(FailureInfo::CanceledFailureInfo(_)));
                let failure = Some(wrapped(&op, scheduled, UNSUCCESSFUL, cause));
                if canceled {
                    Ev::NexusOperationCanceledEventAttributes(h::NexusOperationCanceledEventAttributes {
                        scheduled_event_id: scheduled,
                        failure,
                        request_id,
                    })
                } else {
                    Ev::NexusOperationFailedEventAttributes(h::NexusOperationFailedEventAttributes {
                        scheduled_event_id: scheduled,
                        failure,
                        request_id,
                    })
                }
            }
        };
        self.append(run_id, event);
        self.schedule_task(run_id);
    }

    /// The operation's schedule-to-close timeout passed: `NexusOperationTimedOut`.
    pub(super) fn nexus_timed_out(&mut self, run_id: &str, scheduled: i64) {
        let Some(op) = self.executions.get_mut(run_id).and_then(|e| e.nexus.remove(&scheduled)) else {
            return;
        };
        let cause = server_failure(
            Failure::timeout(
                "operation timed out",
                workflow_client::proto::enums::TimeoutType::ScheduleToClose,
            ),
            "",
        );
        let failure = wrapped(&op, scheduled, UNSUCCESSFUL, cause);
        self.append(
            run_id,
            Ev::NexusOperationTimedOutEventAttributes(h::NexusOperationTimedOutEventAttributes {
                scheduled_event_id: scheduled,
                failure: Some(failure),
                request_id: op.request_id,
            }),
        );
        self.schedule_task(run_id);
    }

    /// `RequestCancelNexusOperation`: recorded; a started operation's handler gets a cancel
    /// request (one not started yet gets it once it starts: until then, as on the server, the
    /// operation goes on and may still complete, fail or time out).
    pub(super) fn request_cancel_nexus(&mut self, run_id: &str, completed_id: i64, scheduled: i64) {
        let requested = self.append(
            run_id,
            Ev::NexusOperationCancelRequestedEventAttributes(h::NexusOperationCancelRequestedEventAttributes {
                scheduled_event_id: scheduled,
                workflow_task_completed_event_id: completed_id,
            }),
        );
        let Some(op) = self.nexus_operation(run_id, scheduled) else {
            return;
        };
        op.cancel_requested = Some(requested);
        if op.token.is_some() {
            self.queue_nexus(run_id, scheduled);
        }
    }

    /// A retry's backoff passed: the request goes out again.
    pub(super) fn retry_nexus(&mut self, run_id: &str, scheduled: i64) {
        self.queue_nexus(run_id, scheduled);
    }

    /// Requests in workers' hands past their (real-time) request timeout fail and are
    /// retried, as when a handler does not answer the server in time.
    pub(crate) fn expire_nexus_tasks(&mut self, now: std::time::Instant) -> bool {
        let expired: Vec<NexusTask> = self
            .nexus_running
            .iter()
            .filter(|(_, deadline)| now >= **deadline)
            .map(|(task, _)| task.clone())
            .collect();
        for task in &expired {
            if let Ok(Some(_)) = self.answered(task) {
                let failure = ProtoFailure {
                    message: "the handler did not answer in time".into(),
                    failure_info: Some(FailureInfo::NexusHandlerFailureInfo(
                        workflow_client::proto::failure::NexusHandlerFailureInfo {
                            r#type: "UPSTREAM_TIMEOUT".into(),
                            retry_behavior: 0,
                        },
                    )),
                    ..Default::default()
                };
                self.nexus_request_failed(task, failure);
            }
        }
        !expired.is_empty()
    }

    /// Whether a Nexus request is in a worker's hands.
    pub(super) fn nexus_request_running(&self) -> bool {
        !self.nexus_running.is_empty()
    }

    /// A closing run's Nexus completion callbacks: each this environment issued delivers the
    /// run's end to the operation it backs (a run continued as new, or retried, hands them to
    /// the next run instead).
    pub(super) fn deliver_callbacks(&mut self, run_id: &str, close: &Ev, next_run: Option<&str>) {
        use workflow_client::proto::common::callback::Variant;
        let Some(execution) = self.executions.get(run_id) else {
            return;
        };
        let callbacks = execution.request.completion_callbacks.clone();
        let (namespace, workflow_id) = (self.namespace.clone(), execution.workflow_id.clone());
        if callbacks.is_empty() {
            return;
        }
        if let Some(next) = next_run {
            if let Some(next) = self.executions.get_mut(next) {
                next.request.completion_callbacks = callbacks;
            }
            return;
        }
        for callback in callbacks {
            let Some(Variant::Nexus(nexus)) = callback.variant else {
                continue;
            };
            let Some((caller, scheduled)) = nexus
                .header
                .get(CALLBACK_TOKEN_HEADER)
                .filter(|_| nexus.url == CALLBACK_URL)
                .and_then(|token| token.strip_prefix(CALLBACK_TOKEN_PREFIX))
                .and_then(|rest| rest.rsplit_once('|'))
                .and_then(|(caller, scheduled)| Some((caller.to_string(), scheduled.parse::<i64>().ok()?)))
            else {
                continue;
            };
            let Some(op) = self.nexus_operation(&caller, scheduled) else {
                continue;
            };
            if op.token.is_none() {
                // The run ended before the handler's answer to the start: it started.
                self.nexus_started(&caller, scheduled, workflow_run_token(&namespace, &workflow_id));
            }
            let outcome = match close {
                Ev::WorkflowExecutionCompletedEventAttributes(a) => {
                    Ok(a.result.as_ref().and_then(|r| r.payloads.first().cloned()))
                }
                Ev::WorkflowExecutionFailedEventAttributes(a) => Err(a.failure.clone().unwrap_or_default()),
                Ev::WorkflowExecutionCanceledEventAttributes(a) => {
                    let mut canceled = server_failure(Failure::canceled("operation canceled"), "");
                    if let Some(FailureInfo::CanceledFailureInfo(info)) = &mut canceled.failure_info {
                        info.details = a.details.clone();
                    }
                    Err(canceled)
                }
                Ev::WorkflowExecutionTerminatedEventAttributes(_) => Err(ProtoFailure {
                    message: "operation terminated".into(),
                    failure_info: Some(FailureInfo::TerminatedFailureInfo(Default::default())),
                    ..Default::default()
                }),
                // As the server words it, with no timeout type.
                Ev::WorkflowExecutionTimedOutEventAttributes(_) => Err(server_failure(
                    Failure::timeout(
                        "operation exceeded internal timeout",
                        workflow_client::proto::enums::TimeoutType::Unspecified,
                    ),
                    "",
                )),
                _ => continue,
            };
            self.end_nexus(&caller, scheduled, outcome);
        }
    }
}

/// `cause` as the server records an operation's end: in a failure naming the operation.
fn wrapped(op: &NexusOperationState, scheduled: i64, message: &str, cause: ProtoFailure) -> ProtoFailure {
    let token = op.token.clone().unwrap_or_default();
    #[allow(deprecated)]
    let info = NexusOperationFailureInfo {
        scheduled_event_id: scheduled,
        endpoint: op.endpoint.clone(),
        service: op.service.clone(),
        operation: op.operation.clone(),
        operation_id: token.clone(),
        operation_token: token,
    };
    ProtoFailure {
        message: message.to_string(),
        cause: Some(Box::new(cause)),
        failure_info: Some(FailureInfo::NexusOperationExecutionFailureInfo(info)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_run_token_is_the_sdks_base64url_json() {
        // {"t":1,"ns":"default","wid":"ship-42"}, as `workflow_runtime::nexus` writes it.
        let token = workflow_run_token("default", "ship-42");
        assert_eq!(token, "eyJ0IjoxLCJucyI6ImRlZmF1bHQiLCJ3aWQiOiJzaGlwLTQyIn0");
    }

    #[test]
    fn handler_errors_are_retried_by_behaviour_then_type() {
        use workflow_client::proto::enums::NexusHandlerErrorRetryBehavior as B;
        let error = |kind: &str, behavior: B| ProtoFailure {
            failure_info: Some(FailureInfo::NexusHandlerFailureInfo(
                workflow_client::proto::failure::NexusHandlerFailureInfo {
                    r#type: kind.into(),
                    retry_behavior: behavior as i32,
                },
            )),
            ..Default::default()
        };
        assert!(retryable(&error("INTERNAL", B::Unspecified)));
        assert!(!retryable(&error("BAD_REQUEST", B::Unspecified)));
        assert!(!retryable(&error("NOT_FOUND", B::Unspecified)));
        assert!(!retryable(&error("INTERNAL", B::NonRetryable)));
        assert!(retryable(&error("BAD_REQUEST", B::Retryable)));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn endpoint_names_follow_the_servers_rule() {
        assert!(valid_endpoint_name("inventory-42_a"));
        assert!(valid_endpoint_name("_x"));
        assert!(!valid_endpoint_name(""));
        assert!(!valid_endpoint_name("4x"));
        assert!(!valid_endpoint_name("a.b"));
    }
}
