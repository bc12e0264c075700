//! Handles to one workflow: signal, query, update, cancel, terminate, describe, history, result.
//!
//! [`WorkflowHandle<W>`] is typed by the workflow definition: a signal of another workflow, or
//! an argument of the wrong type, is a compile error. [`UntypedWorkflowHandle`] takes names and
//! payloads, for workflows written in other SDKs.

use crate::client::{Client, LONG_POLL_TIMEOUT, RpcError};
use crate::definitions::{QueryDefinition, SignalDefinition, UpdateDefinition, WorkflowDefinition};
use crate::error::ClientError;
use crate::failure::Failure;
use crate::headers::Headers;
use crate::interceptor::{ClientCall, ClientOperation, intercepted};
use crate::payload::PayloadArgs;
use crate::proto::common::{Payload, Payloads, WorkflowExecution};
use crate::proto::enums::{self, HistoryEventFilterType, UpdateWorkflowExecutionLifecycleStage as Stage};
use crate::proto::history::{History, history_event::Attributes};
use crate::proto::query::WorkflowQuery;
use crate::proto::update::{self as pu, outcome};
use crate::proto::workflowservice as ws;
use crate::visibility::WorkflowDescription;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

/// When a query is refused instead of answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryRejectCondition {
    /// Always answer (default).
    #[default]
    None,
    /// Refuse when the workflow is closed.
    NotOpen,
    /// Refuse unless the workflow is open or completed successfully.
    NotCompletedCleanly,
}

impl From<QueryRejectCondition> for enums::QueryRejectCondition {
    fn from(c: QueryRejectCondition) -> Self {
        match c {
            QueryRejectCondition::None => enums::QueryRejectCondition::None,
            QueryRejectCondition::NotOpen => enums::QueryRejectCondition::NotOpen,
            QueryRejectCondition::NotCompletedCleanly => enums::QueryRejectCondition::NotCompletedCleanly,
        }
    }
}

/// How far an update must have progressed before `start_update` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateWaitStage {
    /// The worker accepted it (validator passed).
    #[default]
    Accepted,
    /// The handler finished.
    Completed,
}

/// A handle to one workflow, untyped: names and payloads.
#[derive(Debug, Clone)]
pub struct UntypedWorkflowHandle {
    client: Client,
    workflow_id: String,
    run_id: Option<String>,
    /// Bound of each query, update and result wait made through this handle.
    deadline: Option<Duration>,
}

impl UntypedWorkflowHandle {
    pub(crate) fn new(client: Client, workflow_id: String, run_id: Option<String>) -> Self {
        UntypedWorkflowHandle {
            client,
            workflow_id,
            run_id,
            deadline: None,
        }
    }

    /// Bounds every query, update (until its answer) and result wait made through this handle
    /// by `deadline`; past it the call ends with [`ClientError::DeadlineExceeded`], which names
    /// the call and the deadline. Without one, such calls wait as long as the server does.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Runs `call` within the handle's deadline, if it has one.
    async fn within_deadline<T>(
        &self,
        what: impl FnOnce() -> String,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        let Some(deadline) = self.deadline else {
            return call.await;
        };
        tokio::time::timeout(deadline, call).await.unwrap_or_else(|_| {
            Err(ClientError::DeadlineExceeded(format!(
                "{} on workflow `{}` did not finish within the handle's deadline of {deadline:?}",
                what(),
                self.workflow_id
            )))
        })
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// This handle, aimed at another run of the same workflow (same client and deadline).
    pub(crate) fn for_run(&self, run_id: String) -> Self {
        UntypedWorkflowHandle {
            run_id: Some(run_id),
            ..self.clone()
        }
    }

    /// A handle to an update sent earlier (by this process or another, in any SDK), known by
    /// its id: its [`result`](UntypedUpdateHandle::result) waits for the outcome. `name` is
    /// the update's wire name, used in errors only.
    pub fn update_handle(&self, name: &str, update_id: impl Into<String>) -> UntypedUpdateHandle {
        UntypedUpdateHandle::new(self.clone(), name, update_id.into(), None)
    }

    /// The run this handle targets (`None`: the latest run).
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn execution(&self) -> Option<WorkflowExecution> {
        Some(WorkflowExecution {
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id.clone().unwrap_or_default(),
        })
    }

    fn ns(&self) -> String {
        self.client.namespace().to_string()
    }

    fn err(&self, e: crate::client::RpcError) -> ClientError {
        e.into_client_error(Some(&self.workflow_id))
    }

    /// Sends a signal by name with raw payloads (the codec still applies).
    pub async fn signal(&self, name: &str, args: Vec<Payload>) -> Result<(), ClientError> {
        let input = self.client.data_converter().encode_raw(args).await?;
        self.signal_encoded(name, input).await
    }

    async fn signal_encoded(&self, name: &str, input: Payloads) -> Result<(), ClientError> {
        let request = ws::SignalWorkflowExecutionRequest {
            namespace: self.ns(),
            workflow_execution: self.execution(),
            signal_name: name.to_string(),
            input: (!input.payloads.is_empty()).then_some(input),
            identity: self.client.identity().to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let send = |call: ClientCall| async move {
            let request = ws::SignalWorkflowExecutionRequest {
                header: call.headers.to_proto(),
                ..request
            };
            self.client
                .call(
                    request,
                    None,
                    |mut s, r| async move { s.signal_workflow_execution(r).await },
                )
                .await
                .map_err(|e| self.err(e))
        };
        self.intercepted(ClientOperation::SignalWorkflow, Some(name), send)
            .await?;
        Ok(())
    }

    /// Runs `send` through the client's interceptors as an `operation` call on this workflow.
    async fn intercepted<T, F, Fut>(
        &self,
        operation: ClientOperation,
        name: Option<&str>,
        send: F,
    ) -> Result<T, ClientError>
    where
        T: Send,
        F: FnOnce(ClientCall) -> Fut + Send,
        Fut: Future<Output = Result<T, ClientError>> + Send,
    {
        let mut call = ClientCall::new(operation, &self.workflow_id).run_id(self.run_id.as_deref());
        if let Some(name) = name {
            call = call.name(name);
        }
        intercepted(self.client.interceptors(), call, send).await
    }

    /// Runs a query by name with raw payloads; returns the decoded (codec) answer payloads.
    pub async fn query(
        &self,
        name: &str,
        args: Vec<Payload>,
        reject: QueryRejectCondition,
    ) -> Result<Vec<Payload>, ClientError> {
        let args = self.client.data_converter().encode_raw(args).await?;
        let answer = self
            .within_deadline(|| format!("query `{name}`"), self.query_encoded(name, args, reject))
            .await?;
        Ok(self.client.data_converter().decode_raw(answer).await?)
    }

    async fn query_encoded(
        &self,
        name: &str,
        args: Payloads,
        reject: QueryRejectCondition,
    ) -> Result<Option<Payloads>, ClientError> {
        let request = ws::QueryWorkflowRequest {
            namespace: self.ns(),
            execution: self.execution(),
            query: Some(WorkflowQuery {
                query_type: name.to_string(),
                query_args: (!args.payloads.is_empty()).then_some(args),
                header: None,
            }),
            query_reject_condition: enums::QueryRejectCondition::from(reject) as i32,
        };
        let send = |call: ClientCall| async move {
            let mut request = request;
            if let Some(query) = request.query.as_mut() {
                query.header = call.headers.to_proto();
            }
            self.client
                .call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.query_workflow(r).await
                })
                .await
                .map_err(|e| self.query_error(name, e))
        };
        let resp = self
            .intercepted(ClientOperation::QueryWorkflow, Some(name), send)
            .await?;
        if let Some(rejected) = resp.query_rejected {
            let status = enums::WorkflowExecutionStatus::try_from(rejected.status)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("WORKFLOW_EXECUTION_STATUS_")
                        .to_lowercase()
                })
                .unwrap_or_else(|_| rejected.status.to_string());
            return Err(ClientError::QueryRejected { status });
        }
        Ok(resp.query_result)
    }

    /// A failed query as the caller sees it: a failed handler (or an unknown query name)
    /// arrives as INVALID_ARGUMENT with a `QueryFailedFailure` detail; other invalid arguments
    /// keep their own meaning.
    fn query_error(&self, name: &str, e: RpcError) -> ClientError {
        if e.status.code() == tonic::Code::InvalidArgument && has_detail(&e.status, "QueryFailedFailure") {
            ClientError::QueryFailed {
                name: name.to_string(),
                message: e.status.message().to_string(),
            }
        } else {
            self.err(e)
        }
    }

    /// Sends an update by name and waits for `wait_for`; returns a handle for its outcome.
    pub async fn start_update(
        &self,
        name: &str,
        args: Vec<Payload>,
        update_id: Option<String>,
        wait_for: UpdateWaitStage,
    ) -> Result<UntypedUpdateHandle, ClientError> {
        let args = self.client.data_converter().encode_raw(args).await?;
        self.start_update_encoded(name, args, update_id, wait_for).await
    }

    /// Sends an update by name and waits for its result payloads (decoded by the codec).
    pub async fn update(&self, name: &str, args: Vec<Payload>) -> Result<Vec<Payload>, ClientError> {
        let handle = self.start_update(name, args, None, UpdateWaitStage::Completed).await?;
        let payloads = handle.outcome_encoded().await?;
        Ok(self.client.data_converter().decode_raw(payloads).await?)
    }

    async fn start_update_encoded(
        &self,
        name: &str,
        args: Payloads,
        update_id: Option<String>,
        wait_for: UpdateWaitStage,
    ) -> Result<UntypedUpdateHandle, ClientError> {
        let update_id = update_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut call = ClientCall::new(ClientOperation::UpdateWorkflow, &self.workflow_id)
            .run_id(self.run_id.as_deref())
            .name(name);
        call.update_id = Some(update_id.clone());
        let send = |call: ClientCall| {
            let update = self.start_update_unbounded(name, args, update_id, wait_for, call.headers);
            self.within_deadline(|| format!("update `{name}`"), update)
        };
        intercepted(self.client.interceptors(), call, send).await
    }

    async fn start_update_unbounded(
        &self,
        name: &str,
        args: Payloads,
        update_id: String,
        wait_for: UpdateWaitStage,
        headers: Headers,
    ) -> Result<UntypedUpdateHandle, ClientError> {
        let stage = match wait_for {
            UpdateWaitStage::Accepted => Stage::Accepted,
            UpdateWaitStage::Completed => Stage::Completed,
        };
        let request = ws::UpdateWorkflowExecutionRequest {
            namespace: self.ns(),
            workflow_execution: self.execution(),
            first_execution_run_id: String::new(),
            wait_policy: Some(pu::WaitPolicy {
                lifecycle_stage: stage as i32,
            }),
            request: Some(pu::Request {
                meta: Some(pu::Meta {
                    update_id: update_id.clone(),
                    identity: self.client.identity().to_string(),
                }),
                input: Some(pu::Input {
                    header: headers.to_proto(),
                    name: name.to_string(),
                    args: (!args.payloads.is_empty()).then_some(args),
                }),
                ..Default::default()
            }),
        };
        // The server answers when its long poll ends even if the stage was not reached; the
        // request is idempotent by update id, so it is sent again until it is.
        loop {
            let resp = self
                .client
                .call(request.clone(), Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.update_workflow_execution(r).await
                })
                .await
                .map_err(|e| self.err(e))?;
            let reached = resp.stage >= stage as i32 || resp.outcome.is_some();
            if reached {
                let run_id = resp
                    .update_ref
                    .and_then(|r| r.workflow_execution)
                    .map(|e| e.run_id)
                    .filter(|r| !r.is_empty())
                    .or_else(|| self.run_id.clone());
                return Ok(UntypedUpdateHandle {
                    workflow: UntypedWorkflowHandle::new(self.client.clone(), self.workflow_id.clone(), run_id),
                    name: name.to_string(),
                    update_id,
                    outcome: resp.outcome,
                });
            }
        }
    }

    /// Asks the workflow to cancel; workflow code sees the request and decides how to end.
    pub async fn cancel(&self, reason: &str) -> Result<(), ClientError> {
        let request = ws::RequestCancelWorkflowExecutionRequest {
            namespace: self.ns(),
            workflow_execution: self.execution(),
            identity: self.client.identity().to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            reason: reason.to_string(),
            ..Default::default()
        };
        let send = |_: ClientCall| async move {
            self.client
                .call(request, None, |mut s, r| async move {
                    s.request_cancel_workflow_execution(r).await
                })
                .await
                .map_err(|e| self.err(e))
        };
        self.intercepted(ClientOperation::CancelWorkflow, None, send).await?;
        Ok(())
    }

    /// Ends the workflow at once, without running any of its code.
    pub async fn terminate(&self, reason: &str, details: Vec<Payload>) -> Result<(), ClientError> {
        let details = self.client.data_converter().encode_raw(details).await?;
        let request = ws::TerminateWorkflowExecutionRequest {
            namespace: self.ns(),
            workflow_execution: self.execution(),
            reason: reason.to_string(),
            details: (!details.payloads.is_empty()).then_some(details),
            identity: self.client.identity().to_string(),
            ..Default::default()
        };
        let send = |_: ClientCall| async move {
            self.client
                .call(request, None, |mut s, r| async move {
                    s.terminate_workflow_execution(r).await
                })
                .await
                .map_err(|e| self.err(e))
        };
        self.intercepted(ClientOperation::TerminateWorkflow, None, send).await?;
        Ok(())
    }

    /// Describes the run: status, times, pending work, cancel requested.
    pub async fn describe(&self) -> Result<WorkflowDescription, ClientError> {
        let request = ws::DescribeWorkflowExecutionRequest {
            namespace: self.ns(),
            execution: self.execution(),
        };
        let resp = self
            .client
            .call(request, None, |mut s, r| async move {
                s.describe_workflow_execution(r).await
            })
            .await
            .map_err(|e| self.err(e))?;
        Ok(WorkflowDescription::from(resp))
    }

    /// Fetches the run's whole history (every page). Payloads stay as stored (encoded).
    pub async fn fetch_history(&self) -> Result<History, ClientError> {
        self.fetch_history_from(Vec::new()).await
    }

    /// Fetches the history pages from `page_token` on (a token a poll or an earlier page
    /// returned; empty for the first page).
    pub async fn fetch_history_from(&self, page_token: Vec<u8>) -> Result<History, ClientError> {
        let mut events = Vec::new();
        let mut token = page_token;
        loop {
            let (page, next) = self.fetch_history_page(token).await?;
            events.extend(page.events);
            if next.is_empty() {
                return Ok(History { events });
            }
            token = next;
        }
    }

    /// Fetches one page of history from `page_token` (a token a poll or an earlier page
    /// returned; empty for the first page); returns it with the next page's token, empty
    /// after the last page. Payloads stay as stored (encoded).
    pub async fn fetch_history_page(&self, page_token: Vec<u8>) -> Result<(History, Vec<u8>), ClientError> {
        let request = ws::GetWorkflowExecutionHistoryRequest {
            namespace: self.ns(),
            execution: self.execution(),
            // The server's page size, which its operator sets.
            maximum_page_size: 0,
            next_page_token: page_token,
            wait_new_event: false,
            history_event_filter_type: HistoryEventFilterType::AllEvent as i32,
            skip_archival: true,
        };
        let resp = self
            .client
            .call(request, None, |mut s, r| async move {
                s.get_workflow_execution_history(r).await
            })
            .await
            .map_err(|e| self.err(e))?;
        Ok((resp.history.unwrap_or_default(), resp.next_page_token))
    }

    /// Waits for the workflow to close and returns its result payloads (decoded by the codec),
    /// following continue-as-new, retry and cron runs to the last one.
    pub async fn result(&self) -> Result<Vec<Payload>, ClientError> {
        let payloads = self.result_encoded().await?;
        Ok(self.client.data_converter().decode_raw(payloads).await?)
    }

    async fn result_encoded(&self) -> Result<Option<Payloads>, ClientError> {
        self.within_deadline(|| "waiting for the result".to_string(), self.result_unbounded())
            .await
    }

    async fn result_unbounded(&self) -> Result<Option<Payloads>, ClientError> {
        let mut run_id = self.run_id.clone().unwrap_or_default();
        let mut token = Vec::new();
        loop {
            let request = ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.ns(),
                execution: Some(WorkflowExecution {
                    workflow_id: self.workflow_id.clone(),
                    run_id: run_id.clone(),
                }),
                // The server's page size, which its operator sets.
                maximum_page_size: 0,
                next_page_token: std::mem::take(&mut token),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                skip_archival: true,
            };
            let resp = self
                .client
                .call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.get_workflow_execution_history(r).await
                })
                .await
                .map_err(|e| self.err(e))?;
            let close = resp.history.and_then(|h| h.events.into_iter().last());
            let Some(attributes) = close.and_then(|e| e.attributes) else {
                // The long poll ended before the run closed: ask again.
                token = resp.next_page_token;
                continue;
            };
            let next_run = |id: String| (!id.is_empty()).then_some(id);
            match attributes {
                Attributes::WorkflowExecutionCompletedEventAttributes(a) => match next_run(a.new_execution_run_id) {
                    Some(next) => run_id = next,
                    None => return Ok(a.result),
                },
                Attributes::WorkflowExecutionFailedEventAttributes(a) => match next_run(a.new_execution_run_id) {
                    Some(next) => run_id = next,
                    None => {
                        let mut failure = a.failure.unwrap_or_default();
                        self.client.data_converter().decode_failure(&mut failure).await?;
                        return Err(ClientError::WorkflowFailed(Box::new(Failure::from(failure))));
                    }
                },
                Attributes::WorkflowExecutionTimedOutEventAttributes(a) => match next_run(a.new_execution_run_id) {
                    Some(next) => run_id = next,
                    None => return Err(ClientError::WorkflowTimedOut),
                },
                Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a) => run_id = a.new_execution_run_id,
                Attributes::WorkflowExecutionCanceledEventAttributes(a) => {
                    let details = self.client.data_converter().decode_raw(a.details).await?;
                    return Err(ClientError::WorkflowCanceled { details });
                }
                Attributes::WorkflowExecutionTerminatedEventAttributes(a) => {
                    return Err(ClientError::WorkflowTerminated { reason: a.reason });
                }
                other => {
                    return Err(ClientError::Server {
                        code: tonic::Code::Internal,
                        message: format!("unexpected close event: {other:?}"),
                    });
                }
            }
        }
    }
}

/// An update in flight, untyped.
#[derive(Debug, Clone)]
pub struct UntypedUpdateHandle {
    workflow: UntypedWorkflowHandle,
    name: String,
    update_id: String,
    outcome: Option<pu::Outcome>,
}

impl UntypedUpdateHandle {
    pub(crate) fn new(
        workflow: UntypedWorkflowHandle,
        name: &str,
        update_id: String,
        outcome: Option<pu::Outcome>,
    ) -> Self {
        UntypedUpdateHandle {
            workflow,
            name: name.to_string(),
            update_id,
            outcome,
        }
    }

    /// The update id (pass it again to deduplicate).
    pub fn update_id(&self) -> &str {
        &self.update_id
    }

    /// Waits for the update's result payloads (decoded by the codec).
    pub async fn result(&self) -> Result<Vec<Payload>, ClientError> {
        let payloads = self.outcome_encoded().await?;
        Ok(self.workflow.client.data_converter().decode_raw(payloads).await?)
    }

    async fn outcome_encoded(&self) -> Result<Option<Payloads>, ClientError> {
        let what = || format!("update `{}` ({})", self.name, self.update_id);
        self.workflow.within_deadline(what, self.outcome_unbounded()).await
    }

    async fn outcome_unbounded(&self) -> Result<Option<Payloads>, ClientError> {
        let mut outcome = self.outcome.clone();
        while outcome.is_none() {
            let request = ws::PollWorkflowExecutionUpdateRequest {
                namespace: self.workflow.ns(),
                update_ref: Some(pu::UpdateRef {
                    workflow_execution: self.workflow.execution(),
                    update_id: self.update_id.clone(),
                }),
                identity: self.workflow.client.identity().to_string(),
                wait_policy: Some(pu::WaitPolicy {
                    lifecycle_stage: Stage::Completed as i32,
                }),
            };
            let resp = self
                .workflow
                .client
                .call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.poll_workflow_execution_update(r).await
                })
                .await
                .map_err(|e| self.workflow.err(e))?;
            outcome = resp.outcome;
        }
        match outcome.and_then(|o| o.value) {
            Some(outcome::Value::Success(payloads)) => Ok(Some(payloads)),
            Some(outcome::Value::Failure(mut failure)) => {
                self.workflow
                    .client
                    .data_converter()
                    .decode_failure(&mut failure)
                    .await?;
                Err(ClientError::UpdateFailed {
                    name: self.name.clone(),
                    failure: Box::new(Failure::from(failure)),
                })
            }
            None => Ok(None),
        }
    }
}

/// A handle to one workflow of type `W`.
pub struct WorkflowHandle<W> {
    raw: UntypedWorkflowHandle,
    _workflow: PhantomData<fn() -> W>,
}

impl<W> Clone for WorkflowHandle<W> {
    fn clone(&self) -> Self {
        WorkflowHandle {
            raw: self.raw.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<W> std::fmt::Debug for WorkflowHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowHandle")
            .field("workflow", &std::any::type_name::<W>())
            .field("workflow_id", &self.raw.workflow_id)
            .field("run_id", &self.raw.run_id)
            .finish()
    }
}

impl<W: WorkflowDefinition> WorkflowHandle<W> {
    /// Wraps an untyped handle (you vouch that it runs `W`).
    pub fn from_untyped(raw: UntypedWorkflowHandle) -> Self {
        WorkflowHandle {
            raw,
            _workflow: PhantomData,
        }
    }

    /// The untyped handle underneath.
    pub fn untyped(&self) -> &UntypedWorkflowHandle {
        &self.raw
    }

    /// A copy of this handle whose queries, updates and result waits end with
    /// [`ClientError::DeadlineExceeded`] past `deadline`. A macro-generated handle keeps its
    /// typed stubs through `From`: `CartHandle::from(cart.with_deadline(d))`.
    pub fn with_deadline(&self, deadline: Duration) -> Self {
        WorkflowHandle {
            raw: self.raw.clone().with_deadline(deadline),
            _workflow: PhantomData,
        }
    }

    /// A typed handle to update `U` sent earlier with `update_id` (by this process or another):
    /// its [`result`](UpdateHandle::result) waits for the outcome. The macros generate
    /// `<update>_handle(update_id)` stubs that call the by-name form.
    pub fn update_handle<U: UpdateDefinition<Workflow = W>>(
        &self,
        update_id: impl Into<String>,
    ) -> UpdateHandle<U::Output> {
        self.update_handle_by_name(U::NAME, update_id)
    }

    /// A typed handle to the update named `name` sent earlier with `update_id`.
    pub fn update_handle_by_name<R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        update_id: impl Into<String>,
    ) -> UpdateHandle<R> {
        UpdateHandle::from_untyped(self.raw.update_handle(name, update_id))
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        self.raw.workflow_id()
    }

    /// The run id (`None`: the latest run).
    pub fn run_id(&self) -> Option<&str> {
        self.raw.run_id()
    }

    /// Sends signal `S` (a signal of `W`).
    pub async fn signal<S: SignalDefinition<Workflow = W>>(&self, input: S::Input) -> Result<(), ClientError> {
        self.signal_by_name(S::NAME, input).await
    }

    /// Sends a signal by name with typed arguments (what the macros' stubs call).
    pub async fn signal_by_name<A: PayloadArgs>(&self, name: &str, args: A) -> Result<(), ClientError> {
        let input = self.raw.client.data_converter().encode_args(&args).await?;
        self.raw.signal_encoded(name, input).await
    }

    /// Runs a query by name with typed arguments and a typed answer.
    pub async fn query_by_name<A: PayloadArgs, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        args: A,
    ) -> Result<R, ClientError> {
        self.query_by_name_with(name, args, QueryRejectCondition::None).await
    }

    async fn query_by_name_with<A: PayloadArgs, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        args: A,
        reject: QueryRejectCondition,
    ) -> Result<R, ClientError> {
        let dc = self.raw.client.data_converter();
        let args = dc.encode_args(&args).await?;
        let answer = self.raw.query_encoded(name, args, reject).await?;
        Ok(dc.decode_value(answer).await?)
    }

    /// Runs an update by name with typed arguments and waits for its typed result.
    pub async fn update_by_name<A: PayloadArgs, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        args: A,
    ) -> Result<R, ClientError> {
        let dc = self.raw.client.data_converter();
        let args = dc.encode_args(&args).await?;
        let handle = self
            .raw
            .start_update_encoded(name, args, None, UpdateWaitStage::Completed)
            .await?;
        let payloads = handle.outcome_encoded().await?;
        Ok(dc.decode_value(payloads).await?)
    }

    /// Runs query `Q` (a query of `W`).
    pub async fn query<Q: QueryDefinition<Workflow = W>>(&self, input: Q::Input) -> Result<Q::Output, ClientError> {
        self.query_with::<Q>(input, QueryRejectCondition::None).await
    }

    /// Runs query `Q` with a reject condition.
    pub async fn query_with<Q: QueryDefinition<Workflow = W>>(
        &self,
        input: Q::Input,
        reject: QueryRejectCondition,
    ) -> Result<Q::Output, ClientError> {
        self.query_by_name_with(Q::NAME, input, reject).await
    }

    /// Runs update `U` (an update of `W`) and waits for its result.
    pub async fn update<U: UpdateDefinition<Workflow = W>>(&self, input: U::Input) -> Result<U::Output, ClientError> {
        self.start_update::<U>(input, None, UpdateWaitStage::Completed)
            .await?
            .result()
            .await
    }

    /// Sends update `U` and returns once it reached `wait_for`.
    pub async fn start_update<U: UpdateDefinition<Workflow = W>>(
        &self,
        input: U::Input,
        update_id: Option<String>,
        wait_for: UpdateWaitStage,
    ) -> Result<UpdateHandle<U::Output>, ClientError> {
        self.start_update_by_name(U::NAME, input, update_id, wait_for).await
    }

    /// Sends an update by name with typed arguments and returns once it reached `wait_for`
    /// (what the macros' `start_<update>` stubs call).
    pub async fn start_update_by_name<A: PayloadArgs, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        args: A,
        update_id: Option<String>,
        wait_for: UpdateWaitStage,
    ) -> Result<UpdateHandle<R>, ClientError> {
        let args = self.raw.client.data_converter().encode_args(&args).await?;
        let raw = self.raw.start_update_encoded(name, args, update_id, wait_for).await?;
        Ok(UpdateHandle::from_untyped(raw))
    }

    /// Waits for the result, following continue-as-new runs.
    pub async fn result(&self) -> Result<W::Output, ClientError> {
        let payloads = self.raw.result_encoded().await?;
        Ok(self.raw.client.data_converter().decode_value(payloads).await?)
    }

    /// Asks the workflow to cancel.
    pub async fn cancel(&self, reason: &str) -> Result<(), ClientError> {
        self.raw.cancel(reason).await
    }

    /// Terminates the workflow.
    pub async fn terminate(&self, reason: &str) -> Result<(), ClientError> {
        self.raw.terminate(reason, Vec::new()).await
    }

    /// Describes the run.
    pub async fn describe(&self) -> Result<WorkflowDescription, ClientError> {
        self.raw.describe().await
    }

    /// Fetches the whole history.
    pub async fn fetch_history(&self) -> Result<History, ClientError> {
        self.raw.fetch_history().await
    }

    /// Resets the run (see [`UntypedWorkflowHandle::reset`]); returns the new run's handle.
    pub async fn reset(&self, options: crate::reset::ResetOptions) -> Result<Self, ClientError> {
        Ok(Self::from_untyped(self.raw.reset(options).await?))
    }
}

/// An update in flight whose result is an `R`: from [`WorkflowHandle::start_update`], the
/// `start_<update>` stubs the macros generate, or rebuilt from its id.
pub struct UpdateHandle<R> {
    raw: UntypedUpdateHandle,
    _result: PhantomData<fn() -> R>,
}

impl<R: serde::de::DeserializeOwned> UpdateHandle<R> {
    /// Wraps an untyped handle (you vouch that the update answers an `R`).
    pub fn from_untyped(raw: UntypedUpdateHandle) -> Self {
        UpdateHandle {
            raw,
            _result: PhantomData,
        }
    }

    /// The update id.
    pub fn update_id(&self) -> &str {
        self.raw.update_id()
    }

    /// Waits for the typed result.
    pub async fn result(&self) -> Result<R, ClientError> {
        let payloads = self.raw.outcome_encoded().await?;
        Ok(self.raw.workflow.client.data_converter().decode_value(payloads).await?)
    }
}

fn has_detail(status: &tonic::Status, type_suffix: &str) -> bool {
    use prost::Message;
    crate::proto::rpc::Status::decode(status.details())
        .map(|s| s.details.iter().any(|d| d.type_url.ends_with(type_suffix)))
        .unwrap_or(false)
}
