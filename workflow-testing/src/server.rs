//! The test environment's gRPC front: the subset of the Temporal `WorkflowService` that the
//! client and the worker use, and the `OperatorService`'s Nexus endpoint calls, over [`State`]:
//! served on a loopback port (for other clients: the `temporal` CLI, another SDK) and as a
//! service the environment's own client calls in this process.

use super::state::{Awaited, NexusTask, Refusal, State, Token, UpdateStage};
use futures::future::BoxFuture;
use prost::Message;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tonic::Status;
use tonic::server::{Grpc, UnaryService};
use workflow_client::proto::enums::QueryResultType;
use workflow_client::proto::history::History;
use workflow_client::proto::operatorservice as os;
use workflow_client::proto::workflowservice as ws;

/// How long a poll waits for a task before answering empty (the worker polls again).
const LONG_POLL: Duration = Duration::from_secs(10);

/// The state and a signal that it changed.
pub(crate) struct ServerState {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl ServerState {
    pub(crate) fn new(namespace: String) -> Arc<Self> {
        Arc::new(ServerState {
            state: Mutex::new(State::new(namespace)),
            changed: watch::channel(0).0,
        })
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state and wakes every waiter.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let out = f(&mut self.lock());
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
        out
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state with `f`, waking every waiter if it says it changed anything.
    pub(crate) fn write_if(&self, f: impl FnOnce(&mut State) -> bool) -> bool {
        let changed = f(&mut self.lock());
        if changed {
            self.changed.send_modify(|v| *v = v.wrapping_add(1));
        }
        changed
    }

    /// Waits until `f` gives an answer, re-checking after every change, for at most `limit`.
    /// `f` must leave the state as it was when it answers `None`.
    pub(crate) async fn wait_for<R>(&self, limit: Duration, mut f: impl FnMut(&mut State) -> Option<R>) -> Option<R> {
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            changes.borrow_and_update();
            // `f` changes the state only when it has an answer: only then are others woken.
            let answer = f(&mut self.lock());
            if let Some(out) = answer {
                self.changed.send_modify(|v| *v = v.wrapping_add(1));
                return Some(out);
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return None;
            }
        }
    }

    /// One tick of real time (`elapsed` since the last): times out activity attempts past
    /// their (real-time) limits, and while an activity runs, moves virtual time on at real
    /// speed; wakes waiters if anything changed.
    pub(crate) fn tick(&self, elapsed: Duration) {
        let mut state = self.lock();
        let now = std::time::Instant::now();
        let expired = state.expire_attempts(now) | state.expire_workflow_tasks(now) | state.expire_nexus_tasks(now);
        let fired = state.follow_real_time(elapsed);
        drop(state);
        if expired || fired {
            self.changed.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

fn status(refusal: Refusal) -> Status {
    match refusal {
        Refusal::NotFound(m) => Status::not_found(m),
        Refusal::AlreadyStarted(m) | Refusal::AlreadyExists(m) => Status::already_exists(m),
        Refusal::Invalid(m) => Status::invalid_argument(m),
    }
}

fn token(bytes: &[u8]) -> Result<Token, Status> {
    Token::decode(bytes).ok_or_else(|| Status::invalid_argument("a task token the test environment did not issue"))
}

/// One unary method as a tonic service.
struct Unary<F>(F);

impl<Req, Resp, F, Fut> UnaryService<Req> for Unary<F>
where
    F: Fn(Req) -> Fut + Clone,
    Fut: Future<Output = Result<Resp, Status>> + Send + 'static,
    Resp: Send + 'static,
{
    type Response = Resp;
    type Future = BoxFuture<'static, Result<tonic::Response<Resp>, Status>>;
    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let fut = (self.0)(request.into_inner());
        Box::pin(async move { fut.await.map(tonic::Response::new) })
    }
}

/// Serves `listener` until the returned task is aborted.
pub(crate) fn serve(shared: Arc<ServerState>, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(route(shared, req).await) }
                });
                let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

macro_rules! unary {
    ($shared:expr, $req:expr, $handler:path) => {{
        let shared = $shared.clone();
        let handler = Unary(move |r| {
            let shared = shared.clone();
            async move { $handler(&shared, r).await }
        });
        // Clients that compress (the `temporal` CLI does) are understood.
        Grpc::new(tonic_prost::ProstCodec::default())
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .unary(handler, $req)
            .await
    }};
}

/// The server as a service the environment's client calls in this process (no socket, no
/// HTTP/2 framing: a call is the handler's future, run by the caller).
pub(crate) fn in_process(
    shared: Arc<ServerState>,
) -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(shared, req).await) }
    })
}

async fn route<B>(shared: Arc<ServerState>, req: http::Request<B>) -> http::Response<tonic::body::Body>
where
    B: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send,
{
    let method = req.uri().path().rsplit('/').next().unwrap_or("").to_string();
    match method.as_str() {
        "GetSystemInfo" => unary!(shared, req, get_system_info),
        "StartWorkflowExecution" => unary!(shared, req, start_workflow_execution),
        "SignalWithStartWorkflowExecution" => unary!(shared, req, signal_with_start),
        "SignalWorkflowExecution" => unary!(shared, req, signal_workflow_execution),
        "RequestCancelWorkflowExecution" => unary!(shared, req, request_cancel),
        "TerminateWorkflowExecution" => unary!(shared, req, terminate),
        "DescribeWorkflowExecution" => unary!(shared, req, describe),
        "ListWorkflowExecutions" => unary!(shared, req, list_workflows),
        "CountWorkflowExecutions" => unary!(shared, req, count_workflows),
        "GetWorkflowExecutionHistory" => unary!(shared, req, get_history),
        "QueryWorkflow" => unary!(shared, req, query_workflow),
        "PollWorkflowTaskQueue" => unary!(shared, req, poll_workflow_task_queue),
        "RespondWorkflowTaskCompleted" => unary!(shared, req, respond_workflow_task_completed),
        "RespondWorkflowTaskFailed" => unary!(shared, req, respond_workflow_task_failed),
        "RespondQueryTaskCompleted" => unary!(shared, req, respond_query_task_completed),
        "PollActivityTaskQueue" => unary!(shared, req, poll_activity_task_queue),
        "RespondActivityTaskCompleted" => unary!(shared, req, respond_activity_completed),
        "RespondActivityTaskFailed" => unary!(shared, req, respond_activity_failed),
        "RespondActivityTaskCanceled" => unary!(shared, req, respond_activity_canceled),
        "RecordActivityTaskHeartbeat" => unary!(shared, req, record_heartbeat),
        "RespondActivityTaskCompletedById" => unary!(shared, req, respond_activity_completed_by_id),
        "RespondActivityTaskFailedById" => unary!(shared, req, respond_activity_failed_by_id),
        "ShutdownWorker" => unary!(shared, req, shutdown_worker),
        "ResetStickyTaskQueue" => unary!(shared, req, reset_sticky_task_queue),
        "UpdateWorkflowExecution" => unary!(shared, req, update_workflow_execution),
        "ExecuteMultiOperation" => unary!(shared, req, execute_multi_operation),
        "PollWorkflowExecutionUpdate" => unary!(shared, req, poll_workflow_execution_update),
        "PollNexusTaskQueue" => unary!(shared, req, poll_nexus_task_queue),
        "RespondNexusTaskCompleted" => unary!(shared, req, respond_nexus_task_completed),
        "RespondNexusTaskFailed" => unary!(shared, req, respond_nexus_task_failed),
        // The operator service's.
        "CreateNexusEndpoint" => unary!(shared, req, create_nexus_endpoint),
        "GetNexusEndpoint" => unary!(shared, req, get_nexus_endpoint),
        "ListNexusEndpoints" => unary!(shared, req, list_nexus_endpoints),
        "DeleteNexusEndpoint" => unary!(shared, req, delete_nexus_endpoint),
        other => Status::unimplemented(unsupported(other)).into_http(),
    }
}

async fn get_system_info(_: &ServerState, _: ws::GetSystemInfoRequest) -> Result<ws::GetSystemInfoResponse, Status> {
    Ok(ws::GetSystemInfoResponse {
        server_version: "test-environment".to_string(),
        capabilities: Some(Default::default()),
    })
}

async fn shutdown_worker(
    shared: &ServerState,
    request: ws::ShutdownWorkerRequest,
) -> Result<ws::ShutdownWorkerResponse, Status> {
    shared.write(|s| {
        s.drop_sticky_queue(&request.sticky_task_queue);
        if !request.worker_instance_key.is_empty() {
            s.stopped_workers.insert(request.worker_instance_key);
        }
    });
    Ok(Default::default())
}

async fn reset_sticky_task_queue(
    shared: &ServerState,
    request: ws::ResetStickyTaskQueueRequest,
) -> Result<ws::ResetStickyTaskQueueResponse, Status> {
    shared.write(|s| {
        let run_id = s.resolve(request.execution.as_ref()).map_err(status)?;
        s.reset_sticky_queue(&run_id);
        Ok(Default::default())
    })
}

async fn start_workflow_execution(
    shared: &ServerState,
    request: ws::StartWorkflowExecutionRequest,
) -> Result<ws::StartWorkflowExecutionResponse, Status> {
    let run_id = shared.write(|s| s.start(request, None)).map_err(status)?;
    Ok(ws::StartWorkflowExecutionResponse {
        run_id,
        started: true,
        ..Default::default()
    })
}

async fn signal_with_start(
    shared: &ServerState,
    r: ws::SignalWithStartWorkflowExecutionRequest,
) -> Result<ws::SignalWithStartWorkflowExecutionResponse, Status> {
    shared
        .write(|s| {
            let execution = workflow_client::proto::common::WorkflowExecution {
                workflow_id: r.workflow_id.clone(),
                run_id: String::new(),
            };
            let running = s
                .resolve(Some(&execution))
                .ok()
                .filter(|run| s.executions[run].is_open());
            let (run_id, started) = match running {
                Some(run_id) => (run_id, false),
                None => {
                    let start = ws::StartWorkflowExecutionRequest {
                        namespace: r.namespace.clone(),
                        workflow_id: r.workflow_id.clone(),
                        workflow_type: r.workflow_type.clone(),
                        task_queue: r.task_queue.clone(),
                        input: r.input.clone(),
                        workflow_execution_timeout: r.workflow_execution_timeout,
                        workflow_run_timeout: r.workflow_run_timeout,
                        workflow_task_timeout: r.workflow_task_timeout,
                        identity: r.identity.clone(),
                        memo: r.memo.clone(),
                        search_attributes: r.search_attributes.clone(),
                        header: r.header.clone(),
                        ..Default::default()
                    };
                    (s.start(start, None)?, true)
                }
            };
            s.signal(ws::SignalWorkflowExecutionRequest {
                workflow_execution: Some(workflow_client::proto::common::WorkflowExecution {
                    workflow_id: r.workflow_id.clone(),
                    run_id: run_id.clone(),
                }),
                signal_name: r.signal_name.clone(),
                input: r.signal_input.clone(),
                identity: r.identity.clone(),
                ..Default::default()
            })?;
            Ok(ws::SignalWithStartWorkflowExecutionResponse {
                run_id,
                started,
                ..Default::default()
            })
        })
        .map_err(status)
}

async fn signal_workflow_execution(
    shared: &ServerState,
    request: ws::SignalWorkflowExecutionRequest,
) -> Result<ws::SignalWorkflowExecutionResponse, Status> {
    shared.write(|s| s.signal(request)).map_err(status)?;
    Ok(Default::default())
}

async fn request_cancel(
    shared: &ServerState,
    request: ws::RequestCancelWorkflowExecutionRequest,
) -> Result<ws::RequestCancelWorkflowExecutionResponse, Status> {
    shared.write(|s| s.request_cancel(request)).map_err(status)?;
    Ok(Default::default())
}

async fn terminate(
    shared: &ServerState,
    request: ws::TerminateWorkflowExecutionRequest,
) -> Result<ws::TerminateWorkflowExecutionResponse, Status> {
    shared.write(|s| s.terminate(request)).map_err(status)?;
    Ok(Default::default())
}

async fn describe(
    shared: &ServerState,
    request: ws::DescribeWorkflowExecutionRequest,
) -> Result<ws::DescribeWorkflowExecutionResponse, Status> {
    shared.read(|s| {
        let run_id = s.resolve(request.execution.as_ref()).map_err(status)?;
        Ok(ws::DescribeWorkflowExecutionResponse {
            workflow_execution_info: Some(s.execution_info(&run_id)),
            pending_activities: s.pending_activities(&run_id),
            ..Default::default()
        })
    })
}

async fn list_workflows(
    shared: &ServerState,
    request: ws::ListWorkflowExecutionsRequest,
) -> Result<ws::ListWorkflowExecutionsResponse, Status> {
    let executions = shared.read(|s| s.list(&request.query)).map_err(status)?;
    Ok(ws::ListWorkflowExecutionsResponse {
        executions,
        next_page_token: Vec::new(),
    })
}

async fn count_workflows(
    shared: &ServerState,
    request: ws::CountWorkflowExecutionsRequest,
) -> Result<ws::CountWorkflowExecutionsResponse, Status> {
    let count = shared.read(|s| s.list(&request.query)).map_err(status)?.len();
    Ok(ws::CountWorkflowExecutionsResponse {
        count: count as i64,
        groups: Vec::new(),
    })
}

/// Waits (one long poll at most) until `awaited` happens, and while it waits, skips time ahead
/// whenever nothing else can happen. Returns whether it happened.
async fn wait_skipping_time(shared: &ServerState, awaited: Awaited) -> bool {
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    let wait = shared.write(|s| s.awaiting(awaited.clone()));
    let reached = loop {
        if shared.read(|s| awaited.reached(s)) {
            break true;
        }
        if tokio::time::Instant::now() >= deadline {
            break false;
        }
        if !shared.write_if(State::skip_time_for_waiters) {
            // Something is running (a task in a worker's hands): wait for it to change.
            shared
                .wait_for(Duration::from_millis(50), |s| {
                    (awaited.reached(s) || s.is_idle()).then_some(())
                })
                .await;
        }
    };
    shared.write(|s| s.awaited_done(wait));
    reached
}

/// A poll of a versioned worker is refused: the environment routes no task by deployment
/// version, so the worker would run work its version would never get on a server.
fn refuse_versioned(
    method: &str,
    deployment: Option<&workflow_client::proto::deployment::WorkerDeploymentOptions>,
) -> Result<(), Status> {
    use workflow_client::proto::enums::WorkerVersioningMode;
    match deployment {
        Some(d) if d.worker_versioning_mode == WorkerVersioningMode::Versioned as i32 => Err(Status::unimplemented(
            unsupported_feature("worker versioning", &format!("{method} of a versioned worker")),
        )),
        _ => Ok(()),
    }
}

/// Why the test environment refuses an RPC it does not serve, naming the feature it belongs
/// to and where to test it instead.
fn unsupported(method: &str) -> String {
    let feature = if method.contains("Schedule") {
        "schedules"
    } else if method.contains("NexusEndpoint") {
        "changing Nexus endpoints"
    } else if method.contains("WorkerDeployment") || method.contains("Versioning") || method.contains("BuildId") {
        "worker versioning"
    } else if method.contains("Batch") {
        "batch operations"
    } else {
        "this request"
    };
    unsupported_feature(feature, method)
}

fn unsupported_feature(feature: &str, method: &str) -> String {
    format!(
        "the test environment does not support {feature} ({method}); test it against a Temporal server \
         (`testing::DevServer`)"
    )
}

/// The history of a run; with `wait_new_event` and the close-event filter, waits for the run
/// to close — and while it waits, time skips ahead whenever nothing else can happen.
async fn get_history(
    shared: &ServerState,
    request: ws::GetWorkflowExecutionHistoryRequest,
) -> Result<ws::GetWorkflowExecutionHistoryResponse, Status> {
    let run_id = shared.read(|s| s.resolve(request.execution.as_ref())).map_err(status)?;
    let close_only =
        request.history_event_filter_type == workflow_client::proto::enums::HistoryEventFilterType::CloseEvent as i32;
    if close_only && request.wait_new_event {
        let closed = wait_skipping_time(shared, Awaited::RunClosed(run_id.clone())).await;
        if !closed {
            return Ok(Default::default());
        }
        let event = shared.read(|s| s.executions[&run_id].close_event().cloned());
        return Ok(ws::GetWorkflowExecutionHistoryResponse {
            history: Some(History {
                events: event.into_iter().collect(),
            }),
            ..Default::default()
        });
    }
    let events = shared.read(|s| {
        let e = &s.executions[&run_id];
        if close_only {
            e.close_event().cloned().into_iter().collect()
        } else {
            e.history.clone()
        }
    });
    Ok(ws::GetWorkflowExecutionHistoryResponse {
        history: Some(History { events }),
        ..Default::default()
    })
}

async fn query_workflow(
    shared: &ServerState,
    request: ws::QueryWorkflowRequest,
) -> Result<ws::QueryWorkflowResponse, Status> {
    let query = request.query.unwrap_or_default();
    let answer = shared
        .write(|s| s.query(request.execution.as_ref(), query))
        .map_err(status)?;
    match tokio::time::timeout(Duration::from_secs(30), answer).await {
        Ok(Ok(Ok(payloads))) => Ok(ws::QueryWorkflowResponse {
            query_result: Some(payloads),
            ..Default::default()
        }),
        Ok(Ok(Err(message))) => {
            let detail = workflow_client::proto::errordetails::QueryFailedFailure::default();
            let details = workflow_client::proto::rpc::Status {
                code: tonic::Code::InvalidArgument as i32,
                message: message.clone(),
                details: vec![workflow_client::proto::Any {
                    type_url: "type.googleapis.com/temporal.api.errordetails.v1.QueryFailedFailure".into(),
                    value: detail.encode_to_vec(),
                }],
            };
            Err(Status::with_details(
                tonic::Code::InvalidArgument,
                message,
                details.encode_to_vec().into(),
            ))
        }
        _ => Err(Status::deadline_exceeded("no worker answered the query within 30 s")),
    }
}

async fn poll_workflow_task_queue(
    shared: &ServerState,
    request: ws::PollWorkflowTaskQueueRequest,
) -> Result<ws::PollWorkflowTaskQueueResponse, Status> {
    refuse_versioned("PollWorkflowTaskQueue", request.deployment_options.as_ref())?;
    let queue = request.task_queue.unwrap_or_default().name;
    Ok(long_poll(shared, &request.worker_instance_key, |s| s.poll_workflow(&queue)).await)
}

/// Waits (one long poll at most) for `take` to hand out a task; empty when none came. A worker
/// that announced its shutdown gets no more tasks: its polls end empty at once.
async fn long_poll<R: Default>(shared: &ServerState, worker: &str, mut take: impl FnMut(&mut State) -> Option<R>) -> R {
    shared
        .wait_for(LONG_POLL, |s| {
            if s.stopped_workers.contains(worker) {
                return Some(R::default());
            }
            take(s)
        })
        .await
        .unwrap_or_default()
}

async fn respond_workflow_task_completed(
    shared: &ServerState,
    request: ws::RespondWorkflowTaskCompletedRequest,
) -> Result<ws::RespondWorkflowTaskCompletedResponse, Status> {
    let Token::Workflow {
        run_id,
        started_event_id,
    } = token(&request.task_token)?
    else {
        return Err(Status::invalid_argument("not a workflow task token"));
    };
    let return_next = request.return_new_workflow_task;
    let outcome = shared.write(|s| {
        let result = s.complete_workflow_task(&run_id, started_event_id, request);
        if let Err(Refusal::Invalid(message)) = &result {
            // A command the environment cannot record: the run fails with the reason.
            let failure = workflow_client::failure::Failure::application(message.clone(), "TestEnvironment");
            s.fail_workflow_task(&run_id, Some(failure.into()));
        }
        // As the server does: a task the answer creates at once is started and handed back.
        // Time skips first if a client waits and all else waits on time (it would at once).
        result.map(|()| {
            if !return_next {
                return None;
            }
            s.skip_time_for_waiters();
            s.start_next_task_of(&run_id)
        })
    });
    Ok(ws::RespondWorkflowTaskCompletedResponse {
        workflow_task: outcome.map_err(status)?,
        ..Default::default()
    })
}

async fn respond_workflow_task_failed(
    shared: &ServerState,
    request: ws::RespondWorkflowTaskFailedRequest,
) -> Result<ws::RespondWorkflowTaskFailedResponse, Status> {
    if let Token::Workflow {
        run_id,
        started_event_id,
    } = token(&request.task_token)?
    {
        shared.write(|s| s.workflow_task_failed(&run_id, started_event_id, request.cause, request.failure));
    }
    Ok(Default::default())
}

async fn respond_query_task_completed(
    shared: &ServerState,
    request: ws::RespondQueryTaskCompletedRequest,
) -> Result<ws::RespondQueryTaskCompletedResponse, Status> {
    let Token::Query { id } = token(&request.task_token)? else {
        return Err(Status::invalid_argument("not a query task token"));
    };
    let answer = if request.completed_type == QueryResultType::Answered as i32 {
        Ok(request.query_result.unwrap_or_default())
    } else {
        Err(request.error_message)
    };
    shared.write(|s| s.answer_query(id, answer));
    Ok(Default::default())
}

async fn poll_activity_task_queue(
    shared: &ServerState,
    request: ws::PollActivityTaskQueueRequest,
) -> Result<ws::PollActivityTaskQueueResponse, Status> {
    refuse_versioned("PollActivityTaskQueue", request.deployment_options.as_ref())?;
    let queue = request.task_queue.unwrap_or_default().name;
    shared.write(|s| s.activity_poll_began(&queue));
    let _ended = PollEnds {
        shared,
        queue: &queue,
        ended: State::activity_poll_ended,
    };
    Ok(long_poll(shared, &request.worker_instance_key, |s| s.poll_activity(&queue)).await)
}

/// Records the end of an activity (or Nexus) poll however the poll ends (answered, timed
/// out, or dropped when the worker goes away).
struct PollEnds<'a> {
    shared: &'a ServerState,
    queue: &'a str,
    ended: fn(&mut State, &str),
}

impl Drop for PollEnds<'_> {
    fn drop(&mut self) {
        self.shared.write(|s| (self.ended)(s, self.queue));
    }
}

async fn respond_activity_completed(
    shared: &ServerState,
    request: ws::RespondActivityTaskCompletedRequest,
) -> Result<ws::RespondActivityTaskCompletedResponse, Status> {
    let token = token(&request.task_token)?;
    shared
        .write(|s| s.complete_activity(&token, request.result))
        .map_err(status)?;
    Ok(Default::default())
}

async fn respond_activity_failed(
    shared: &ServerState,
    request: ws::RespondActivityTaskFailedRequest,
) -> Result<ws::RespondActivityTaskFailedResponse, Status> {
    let token = token(&request.task_token)?;
    shared
        .write(|s| s.fail_activity(&token, request.failure, request.last_heartbeat_details))
        .map_err(status)?;
    Ok(Default::default())
}

async fn respond_activity_canceled(
    shared: &ServerState,
    request: ws::RespondActivityTaskCanceledRequest,
) -> Result<ws::RespondActivityTaskCanceledResponse, Status> {
    let token = token(&request.task_token)?;
    shared
        .write(|s| s.cancel_activity(&token, request.details))
        .map_err(status)?;
    Ok(Default::default())
}

async fn record_heartbeat(
    shared: &ServerState,
    request: ws::RecordActivityTaskHeartbeatRequest,
) -> Result<ws::RecordActivityTaskHeartbeatResponse, Status> {
    let token = token(&request.task_token)?;
    let cancel_requested = shared.write(|s| s.heartbeat(&token, request.details)).map_err(status)?;
    Ok(ws::RecordActivityTaskHeartbeatResponse {
        cancel_requested,
        ..Default::default()
    })
}

/// Waits (one long poll at most) for update `key` to reach `stage`, skipping time while an
/// async handler waits on a timer; answers where it is.
async fn update_answer(
    shared: &ServerState,
    key: (String, String),
    workflow_id: String,
    stage: UpdateStage,
) -> (
    i32,
    Option<workflow_client::proto::update::Outcome>,
    workflow_client::proto::update::UpdateRef,
) {
    use workflow_client::proto::enums::UpdateWorkflowExecutionLifecycleStage as Stage;
    wait_skipping_time(shared, Awaited::Update(key.clone(), stage)).await;
    let (reached, outcome) = shared.read(|s| {
        s.updates
            .get(&key)
            .map(|u| (u.stage, u.outcome.clone()))
            .unwrap_or((UpdateStage::Admitted, None))
    });
    let stage = match reached {
        UpdateStage::Admitted => Stage::Admitted,
        UpdateStage::Accepted => Stage::Accepted,
        UpdateStage::Completed => Stage::Completed,
    };
    let update_ref = workflow_client::proto::update::UpdateRef {
        workflow_execution: Some(workflow_client::proto::common::WorkflowExecution {
            workflow_id,
            run_id: key.0.clone(),
        }),
        update_id: key.1.clone(),
    };
    (stage as i32, outcome, update_ref)
}

fn wanted_stage(policy: Option<&workflow_client::proto::update::WaitPolicy>) -> UpdateStage {
    use workflow_client::proto::enums::UpdateWorkflowExecutionLifecycleStage as Stage;
    match policy.map(|p| p.lifecycle_stage) {
        Some(s) if s == Stage::Accepted as i32 => UpdateStage::Accepted,
        Some(s) if s == Stage::Admitted as i32 => UpdateStage::Admitted,
        _ => UpdateStage::Completed,
    }
}

async fn update_workflow_execution(
    shared: &ServerState,
    request: ws::UpdateWorkflowExecutionRequest,
) -> Result<ws::UpdateWorkflowExecutionResponse, Status> {
    let workflow_id = request
        .workflow_execution
        .as_ref()
        .map(|e| e.workflow_id.clone())
        .unwrap_or_default();
    let key = shared
        .write(|s| s.request_update(request.workflow_execution.as_ref(), request.request.unwrap_or_default()))
        .map_err(status)?;
    let (stage, outcome, update_ref) =
        update_answer(shared, key, workflow_id, wanted_stage(request.wait_policy.as_ref())).await;
    Ok(ws::UpdateWorkflowExecutionResponse {
        update_ref: Some(update_ref),
        outcome,
        stage,
        ..Default::default()
    })
}

async fn poll_workflow_execution_update(
    shared: &ServerState,
    request: ws::PollWorkflowExecutionUpdateRequest,
) -> Result<ws::PollWorkflowExecutionUpdateResponse, Status> {
    let update_ref = request.update_ref.unwrap_or_default();
    let workflow_id = update_ref
        .workflow_execution
        .as_ref()
        .map(|e| e.workflow_id.clone())
        .unwrap_or_default();
    let run_id = shared
        .read(|s| s.resolve(update_ref.workflow_execution.as_ref()))
        .map_err(status)?;
    let key = (run_id, update_ref.update_id);
    if !shared.read(|s| s.updates.contains_key(&key)) {
        return Err(Status::not_found(format!("no update `{}`", key.1)));
    }
    let (stage, outcome, update_ref) =
        update_answer(shared, key, workflow_id, wanted_stage(request.wait_policy.as_ref())).await;
    Ok(ws::PollWorkflowExecutionUpdateResponse {
        outcome,
        stage,
        update_ref: Some(update_ref),
    })
}

/// Update-with-start: starts the workflow unless it runs (the conflict policy "use existing"
/// or "fail"), then runs the update.
async fn execute_multi_operation(
    shared: &ServerState,
    request: ws::ExecuteMultiOperationRequest,
) -> Result<ws::ExecuteMultiOperationResponse, Status> {
    use workflow_client::proto::enums::WorkflowIdConflictPolicy;
    use ws::execute_multi_operation_request::operation::Operation as Op;
    use ws::execute_multi_operation_response::{Response, response::Response as R};
    let mut ops = request.operations.into_iter().filter_map(|o| o.operation);
    let (Some(Op::StartWorkflow(start)), Some(Op::UpdateWorkflow(update)), None) = (ops.next(), ops.next(), ops.next())
    else {
        return Err(Status::invalid_argument(
            "the test environment runs one start and one update in a multi-operation",
        ));
    };
    let workflow_id = start.workflow_id.clone();
    let use_existing = start.workflow_id_conflict_policy == WorkflowIdConflictPolicy::UseExisting as i32;
    let (run_id, started) = shared
        .write(|s| {
            let execution = workflow_client::proto::common::WorkflowExecution {
                workflow_id: workflow_id.clone(),
                run_id: String::new(),
            };
            match s.resolve(Some(&execution)).ok().filter(|r| s.executions[r].is_open()) {
                Some(run) if use_existing => Ok((run, false)),
                _ => s.start(start, None).map(|run| (run, true)),
            }
        })
        .map_err(status)?;
    let execution = workflow_client::proto::common::WorkflowExecution {
        workflow_id: workflow_id.clone(),
        run_id: run_id.clone(),
    };
    let key = shared
        .write(|s| s.request_update(Some(&execution), update.request.unwrap_or_default()))
        .map_err(status)?;
    let (stage, outcome, update_ref) =
        update_answer(shared, key, workflow_id, wanted_stage(update.wait_policy.as_ref())).await;
    Ok(ws::ExecuteMultiOperationResponse {
        responses: vec![
            Response {
                response: Some(R::StartWorkflow(ws::StartWorkflowExecutionResponse {
                    run_id,
                    started,
                    ..Default::default()
                })),
            },
            Response {
                response: Some(R::UpdateWorkflow(ws::UpdateWorkflowExecutionResponse {
                    update_ref: Some(update_ref),
                    outcome,
                    stage,
                    ..Default::default()
                })),
            },
        ],
    })
}

fn by_id(shared: &ServerState, workflow_id: &str, run_id: &str, activity_id: &str) -> Result<Token, Status> {
    let execution = workflow_client::proto::common::WorkflowExecution {
        workflow_id: workflow_id.to_string(),
        run_id: run_id.to_string(),
    };
    shared
        .read(|s| s.activity_token(Some(&execution), activity_id))
        .map_err(status)
}

async fn respond_activity_completed_by_id(
    shared: &ServerState,
    request: ws::RespondActivityTaskCompletedByIdRequest,
) -> Result<ws::RespondActivityTaskCompletedByIdResponse, Status> {
    let token = by_id(shared, &request.workflow_id, &request.run_id, &request.activity_id)?;
    shared
        .write(|s| s.complete_activity(&token, request.result))
        .map_err(status)?;
    Ok(Default::default())
}

async fn respond_activity_failed_by_id(
    shared: &ServerState,
    request: ws::RespondActivityTaskFailedByIdRequest,
) -> Result<ws::RespondActivityTaskFailedByIdResponse, Status> {
    let token = by_id(shared, &request.workflow_id, &request.run_id, &request.activity_id)?;
    shared
        .write(|s| s.fail_activity(&token, request.failure, request.last_heartbeat_details))
        .map_err(status)?;
    Ok(Default::default())
}

async fn poll_nexus_task_queue(
    shared: &ServerState,
    request: ws::PollNexusTaskQueueRequest,
) -> Result<ws::PollNexusTaskQueueResponse, Status> {
    refuse_versioned("PollNexusTaskQueue", request.deployment_options.as_ref())?;
    let queue = request.task_queue.unwrap_or_default().name;
    shared.write(|s| s.nexus_poll_began(&queue));
    let _ended = PollEnds {
        shared,
        queue: &queue,
        ended: State::nexus_poll_ended,
    };
    Ok(long_poll(shared, &request.worker_instance_key, |s| s.poll_nexus(&queue)).await)
}

fn nexus_token(bytes: &[u8]) -> Result<NexusTask, Status> {
    match token(bytes)? {
        Token::Nexus(task) => Ok(task),
        _ => Err(Status::invalid_argument("not a Nexus task token")),
    }
}

async fn respond_nexus_task_completed(
    shared: &ServerState,
    request: ws::RespondNexusTaskCompletedRequest,
) -> Result<ws::RespondNexusTaskCompletedResponse, Status> {
    let task = nexus_token(&request.task_token)?;
    let response = request
        .response
        .ok_or_else(|| Status::invalid_argument("a Nexus task completion without a response"))?;
    shared
        .write(|s| s.complete_nexus_task(&task, response))
        .map_err(status)?;
    Ok(Default::default())
}

async fn respond_nexus_task_failed(
    shared: &ServerState,
    request: ws::RespondNexusTaskFailedRequest,
) -> Result<ws::RespondNexusTaskFailedResponse, Status> {
    use workflow_client::proto::failure::{Failure, NexusHandlerFailureInfo, failure::FailureInfo};
    let task = nexus_token(&request.task_token)?;
    // The handler error as a Temporal failure, from the older form when that is what came.
    #[allow(deprecated)]
    let failure = match (request.failure, request.error) {
        (Some(failure), _) => failure,
        (None, Some(error)) => Failure {
            message: error.failure.map(|f| f.message).unwrap_or_default(),
            failure_info: Some(FailureInfo::NexusHandlerFailureInfo(NexusHandlerFailureInfo {
                r#type: error.error_type,
                retry_behavior: error.retry_behavior,
            })),
            ..Default::default()
        },
        (None, None) => return Err(Status::invalid_argument("a Nexus task failure without an error")),
    };
    shared.write(|s| s.fail_nexus_task(&task, failure)).map_err(status)?;
    Ok(Default::default())
}

async fn create_nexus_endpoint(
    shared: &ServerState,
    request: os::CreateNexusEndpointRequest,
) -> Result<os::CreateNexusEndpointResponse, Status> {
    use workflow_client::proto::nexus::endpoint_target::Variant;
    let spec = request.spec.unwrap_or_default();
    let (namespace, task_queue) = match spec.target.and_then(|t| t.variant) {
        Some(Variant::Worker(worker)) => (worker.namespace, worker.task_queue),
        Some(Variant::External(_)) => {
            return Err(Status::unimplemented(
                "the test environment does not support external Nexus endpoints (CreateNexusEndpoint); \
                 target a worker's task queue",
            ));
        }
        None => return Err(Status::invalid_argument("a Nexus endpoint needs a target")),
    };
    let endpoint = shared
        .write(|s| s.create_endpoint(&spec.name, &namespace, &task_queue))
        .map_err(status)?;
    Ok(os::CreateNexusEndpointResponse {
        endpoint: Some(endpoint),
    })
}

async fn get_nexus_endpoint(
    shared: &ServerState,
    request: os::GetNexusEndpointRequest,
) -> Result<os::GetNexusEndpointResponse, Status> {
    let endpoint = shared
        .read(|s| s.endpoints().into_iter().find(|e| e.id == request.id))
        .ok_or_else(|| Status::not_found(format!("no Nexus endpoint with id `{}`", request.id)))?;
    Ok(os::GetNexusEndpointResponse {
        endpoint: Some(endpoint),
    })
}

async fn list_nexus_endpoints(
    shared: &ServerState,
    request: os::ListNexusEndpointsRequest,
) -> Result<os::ListNexusEndpointsResponse, Status> {
    let endpoints = shared.read(|s| s.endpoints());
    let endpoints = endpoints
        .into_iter()
        .filter(|e| request.name.is_empty() || e.spec.as_ref().is_some_and(|s| s.name == request.name))
        .collect();
    Ok(os::ListNexusEndpointsResponse {
        endpoints,
        next_page_token: Vec::new(),
    })
}

async fn delete_nexus_endpoint(
    shared: &ServerState,
    request: os::DeleteNexusEndpointRequest,
) -> Result<os::DeleteNexusEndpointResponse, Status> {
    shared.write(|s| s.delete_endpoint(&request.id)).map_err(status)?;
    Ok(Default::default())
}
