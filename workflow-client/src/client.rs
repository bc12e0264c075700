//! The connection to a Temporal server and the workflow operations that are not about one
//! workflow (start, list, count); per-workflow operations live on [`crate::handle`].

use crate::definitions::{SignalDefinition, WorkflowDefinition};
use crate::eager::{EagerWorkers, EagerWorkflowWorker};
use crate::error::{ClientError, from_status, is_transient};
use crate::handle::{UntypedWorkflowHandle, WorkflowHandle};
use crate::interceptor::{ClientCall, ClientInterceptor, ClientOperation, intercepted};
use crate::options::{ClientOptions, StartOptions};
use crate::proto::common::{self as pc, Payload, WorkflowType};
use crate::proto::enums;
use crate::proto::operatorservice::operator_service_client::OperatorServiceClient;
use crate::proto::taskqueue::TaskQueue;
use crate::proto::workflowservice::{self as ws, workflow_service_client::WorkflowServiceClient};
use crate::time::to_proto_duration;
use crate::transport::{BoxError, Transport};
use crate::visibility::WorkflowSummary;
use futures::Stream;
use std::sync::Arc;
use std::time::Duration;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// The raw gRPC service client, with this client's headers applied.
pub type WorkflowService = WorkflowServiceClient<InterceptedService<Transport, MetadataInterceptor>>;

/// The gRPC client of the operator service (Nexus endpoints, search attributes), with this
/// client's metadata on every call.
pub(crate) type OperatorService = OperatorServiceClient<InterceptedService<Transport, MetadataInterceptor>>;

/// The conflict policy of the "…-with-start" calls: use the running run unless the caller chose.
fn use_existing_unless_set(policy: crate::IdConflictPolicy) -> i32 {
    if policy == crate::IdConflictPolicy::Fail {
        enums::WorkflowIdConflictPolicy::UseExisting as i32
    } else {
        enums::WorkflowIdConflictPolicy::from(policy) as i32
    }
}

/// Deadline of a long poll; the server answers empty before it (about 60 s) and refuses polls
/// without a deadline.
pub const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(70);

/// Adds the configured headers (API key, custom metadata) to every call.
#[derive(Clone)]
pub struct MetadataInterceptor {
    headers: Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>,
}

impl Interceptor for MetadataInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        for (key, value) in self.headers.iter() {
            metadata.insert(key.clone(), value.clone());
        }
        Ok(request)
    }
}

/// A failed call, after retries: the last status and how many attempts were made.
#[derive(Debug)]
pub struct RpcError {
    /// The server's (or transport's) last answer.
    pub status: tonic::Status,
    /// Attempts made.
    pub attempts: u32,
}

impl RpcError {
    /// The client error this status means; `workflow_id` gives "already started" its context.
    pub fn into_client_error(self, workflow_id: Option<&str>) -> ClientError {
        from_status(self.status, self.attempts, workflow_id)
    }
}

impl From<RpcError> for ClientError {
    fn from(e: RpcError) -> Self {
        e.into_client_error(None)
    }
}

/// A connection to a Temporal namespace. Cheap to clone, `Send + Sync`.
///
/// ```no_run
/// # async fn demo() -> Result<(), workflow_client::ClientError> {
/// use workflow_client::{Client, ClientOptions, StartOptions};
/// let client = Client::connect(ClientOptions::new("127.0.0.1:7233")).await?;
/// let handle = client
///     .start_untyped("GreetingWorkflow", StartOptions::new("greet-1", "greetings"), vec![])
///     .await?;
/// println!("started run {}", handle.run_id().unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    service: WorkflowService,
    operator: OperatorService,
    options: ClientOptions,
    /// Workers of this process that take eager starts.
    eager: EagerWorkers,
    /// Calls go to a service in this process.
    in_process: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("options", &self.inner.options).finish()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The metadata every call carries: the configured headers, the API key, the namespace.
fn metadata(options: &ClientOptions) -> Result<Vec<(AsciiMetadataKey, AsciiMetadataValue)>, ClientError> {
    let mut headers = Vec::new();
    let header = |k: &str, v: &str| -> Result<(AsciiMetadataKey, AsciiMetadataValue), ClientError> {
        let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| ClientError::Config(format!("header name `{k}` is not valid gRPC metadata")))?;
        let value = AsciiMetadataValue::try_from(v)
            .map_err(|_| ClientError::Config(format!("the value of header `{k}` is not valid gRPC metadata")))?;
        Ok((key, value))
    };
    for (k, v) in &options.headers {
        headers.push(header(k, v)?);
    }
    if let Some(key) = &options.api_key {
        let (k, mut v) = header("authorization", &format!("Bearer {key}"))
            .map_err(|_| ClientError::Config("the API key is not valid gRPC metadata".into()))?;
        v.set_sensitive(true);
        headers.push((k, v));
    }
    headers.push(header("temporal-namespace", &options.namespace)?);
    Ok(headers)
}

impl Client {
    /// Connects, retrying transient failures within `options.retry`, and checks the server
    /// answers. An unreachable address fails with [`ClientError::Unavailable`].
    pub async fn connect(options: ClientOptions) -> Result<Client, ClientError> {
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let uri = if options.address.contains("://") {
            options.address.clone()
        } else {
            format!("{scheme}://{}", options.address)
        };
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| ClientError::Config(format!("address `{}`: {}", options.address, error_chain(&e))))?
            .connect_timeout(options.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(15))
            .keep_alive_while_idle(true);
        if let Some(tls) = &options.tls {
            let mut config = ClientTlsConfig::new();
            config = match &tls.server_ca_pem {
                Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
                None => config.with_native_roots(),
            };
            if let Some(domain) = &tls.domain {
                config = config.domain_name(domain.clone());
            }
            if let Some((cert, key)) = &tls.client_cert_pem {
                config = config.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint
                .tls_config(config)
                .map_err(|e| ClientError::Config(format!("TLS: {}", error_chain(&e))))?;
        }

        let headers = metadata(&options)?;

        let tunnel = options.http_connect_proxy.as_ref().map(|p| p.tunnel()).transpose();
        let tunnel = tunnel.map_err(ClientError::Config)?;
        let mut attempt = 0;
        let channel = loop {
            attempt += 1;
            let connected = match &tunnel {
                Some(tunnel) => endpoint.connect_with_connector(tunnel.clone()).await,
                None => endpoint.connect().await,
            };
            // A proxy's refusal would be the same on every attempt.
            if let Err(e) = &connected
                && let Some(refused) = crate::proxy::refusal(e)
            {
                return Err(refused.into());
            }
            match connected {
                Ok(channel) => break channel,
                Err(e) if attempt < options.retry.max_attempts => {
                    tracing::debug!(attempt, address = %options.address, error = %error_chain(&e), "connect failed; retrying");
                    tokio::time::sleep(options.retry.backoff(attempt)).await;
                }
                Err(e) => {
                    return Err(ClientError::Unavailable {
                        attempts: attempt,
                        message: format!("could not connect to {}: {}", options.address, error_chain(&e)),
                    });
                }
            }
        };
        Client::over(Transport::network(channel), headers, options).await
    }

    /// Connects to a server in this process: `service` answers the client's gRPC calls as a
    /// server would, without sockets or HTTP/2 framing (the test environment's client is made
    /// so). `options.address` is not dialled; the headers, namespace, retries and deadlines
    /// of `options` apply as on the network, and the server must answer `GetSystemInfo`.
    ///
    /// ```no_run
    /// # async fn demo(server: tower::util::BoxCloneSyncService<http::Request<tonic::body::Body>,
    /// #     http::Response<tonic::body::Body>, std::convert::Infallible>) -> Result<(), workflow_client::ClientError> {
    /// use workflow_client::{Client, ClientOptions};
    /// let client = Client::connect_in_process(ClientOptions::new("in-process"), server).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_in_process<S>(options: ClientOptions, service: S) -> Result<Client, ClientError>
    where
        S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        let headers = metadata(&options)?;
        Client::over(Transport::in_process(service), headers, options).await
    }

    /// The client whose calls take `transport` with `headers`, once the server answers.
    async fn over(
        transport: Transport,
        headers: Vec<(AsciiMetadataKey, AsciiMetadataValue)>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let in_process = transport.is_in_process();
        let interceptor = MetadataInterceptor {
            headers: Arc::new(headers),
        };
        let operator = OperatorServiceClient::with_interceptor(transport.clone(), interceptor.clone());
        let service = WorkflowServiceClient::with_interceptor(transport, interceptor)
            .max_decoding_message_size(128 * 1024 * 1024)
            .max_encoding_message_size(128 * 1024 * 1024);
        let client = Client {
            inner: Arc::new(Inner {
                service,
                operator,
                options,
                eager: EagerWorkers::default(),
                in_process,
            }),
        };
        client
            .call(ws::GetSystemInfoRequest::default(), None, |mut s, r| async move {
                s.get_system_info(r).await
            })
            .await?;
        Ok(client)
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Whether this client's calls go to a service in this process
    /// ([`connect_in_process`](Self::connect_in_process): the test environment) rather than over
    /// the network. A worker built on such a client on a current-thread runtime runs workflow
    /// code on that runtime's thread.
    pub fn is_in_process(&self) -> bool {
        self.inner.in_process
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.options.namespace
    }

    /// The identity sent with requests.
    pub fn identity(&self) -> &str {
        &self.inner.options.identity
    }

    /// The data converter.
    pub fn data_converter(&self) -> &crate::converter::DataConverter {
        &self.inner.options.data_converter
    }

    /// The raw gRPC client, for calls this crate does not wrap.
    pub fn workflow_service(&self) -> WorkflowService {
        self.inner.service.clone()
    }

    /// Makes one gRPC call with a deadline (`None` = the configured RPC timeout), retrying
    /// transient errors with backoff within the configured bound.
    pub async fn call<Req, Resp, F, Fut>(&self, request: Req, timeout: Option<Duration>, f: F) -> Result<Resp, RpcError>
    where
        Req: Clone,
        F: FnMut(WorkflowService, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.call_on(&self.inner.service, request, timeout, f).await
    }

    /// [`call`](Self::call) on the operator service (endpoints, search attributes).
    pub(crate) async fn call_operator<Req, Resp, F, Fut>(&self, request: Req, f: F) -> Result<Resp, RpcError>
    where
        Req: Clone,
        F: FnMut(OperatorService, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.call_on(&self.inner.operator, request, None, f).await
    }

    /// One call on `service` with the deadline, transient-error retries and request metrics
    /// every call gets.
    async fn call_on<S, Req, Resp, F, Fut>(
        &self,
        service: &S,
        request: Req,
        timeout: Option<Duration>,
        mut f: F,
    ) -> Result<Resp, RpcError>
    where
        S: Clone,
        Req: Clone,
        F: FnMut(S, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let retry = &self.inner.options.retry;
        let timeout = timeout.unwrap_or(self.inner.options.rpc_timeout);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = tonic::Request::new(request.clone());
            req.set_timeout(timeout);
            // Boxed: a tonic call is a large future; every workflow call holds one.
            let call = Box::pin(f(service.clone(), req));
            match crate::metrics::observe_call::<Req, _, _>(&self.inner.options, timeout, call).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status) if is_transient(&status) && attempt < retry.max_attempts => {
                    tracing::debug!(attempt, code = ?status.code(), message = status.message(), "transient gRPC error; retrying");
                    tokio::time::sleep(retry.backoff(attempt)).await;
                }
                Err(status) => {
                    return Err(RpcError {
                        status,
                        attempts: attempt,
                    });
                }
            }
        }
    }

    /// Starts workflow `W` with typed input.
    pub async fn start<W: WorkflowDefinition>(
        &self,
        options: StartOptions,
        input: W::Input,
    ) -> Result<WorkflowHandle<W>, ClientError> {
        let args = self.data_converter().encode_args(&input).await?;
        let handle = self.start_encoded(W::NAME, options, args, None).await?;
        Ok(WorkflowHandle::from_untyped(handle))
    }

    /// Starts workflow `W` and waits for its result.
    pub async fn execute<W: WorkflowDefinition>(
        &self,
        options: StartOptions,
        input: W::Input,
    ) -> Result<W::Output, ClientError> {
        self.start::<W>(options, input).await?.result().await
    }

    /// Starts a workflow by type name with raw argument payloads (the codec still applies).
    pub async fn start_untyped(
        &self,
        workflow_type: &str,
        options: StartOptions,
        args: Vec<Payload>,
    ) -> Result<UntypedWorkflowHandle, ClientError> {
        let args = self.data_converter().encode_raw(args).await?;
        self.start_encoded(workflow_type, options, args, None).await
    }

    /// Sends signal `S` to workflow `W`, starting the workflow first when it is not running.
    pub async fn signal_with_start<W, S>(
        &self,
        options: StartOptions,
        input: W::Input,
        signal_input: S::Input,
    ) -> Result<WorkflowHandle<W>, ClientError>
    where
        W: WorkflowDefinition,
        S: SignalDefinition<Workflow = W>,
    {
        let args = self.data_converter().encode_args(&input).await?;
        let signal_args = self.data_converter().encode_args(&signal_input).await?;
        let handle = self
            .start_encoded(W::NAME, options, args, Some((S::NAME, signal_args)))
            .await?;
        Ok(WorkflowHandle::from_untyped(handle))
    }

    /// Signal-with-start of workflow `W` with a signal named at run time and typed arguments
    /// (what the macros' `<signal>_with_start` stubs call).
    pub async fn signal_with_start_by_name<W: WorkflowDefinition, A: crate::payload::PayloadArgs>(
        &self,
        options: StartOptions,
        input: W::Input,
        signal_name: &str,
        signal_args: A,
    ) -> Result<WorkflowHandle<W>, ClientError> {
        let args = self.data_converter().encode_args(&input).await?;
        let signal_args = self.data_converter().encode_args(&signal_args).await?;
        let handle = self
            .start_encoded(W::NAME, options, args, Some((signal_name, signal_args)))
            .await?;
        Ok(WorkflowHandle::from_untyped(handle))
    }

    /// Signal-with-start by names, with raw payloads.
    pub async fn signal_with_start_untyped(
        &self,
        workflow_type: &str,
        options: StartOptions,
        args: Vec<Payload>,
        signal_name: &str,
        signal_args: Vec<Payload>,
    ) -> Result<UntypedWorkflowHandle, ClientError> {
        let args = self.data_converter().encode_raw(args).await?;
        let signal_args = self.data_converter().encode_raw(signal_args).await?;
        self.start_encoded(workflow_type, options, args, Some((signal_name, signal_args)))
            .await
    }

    /// The start request for `o`: checks the options and runs memo fields through the codec.
    pub(crate) async fn start_request(
        &self,
        workflow_type: &str,
        o: &StartOptions,
        args: pc::Payloads,
    ) -> Result<ws::StartWorkflowExecutionRequest, ClientError> {
        if o.workflow_id.is_empty() {
            return Err(ClientError::InvalidArgument(
                "a workflow id is required to start a workflow".into(),
            ));
        }
        if o.task_queue.is_empty() {
            return Err(ClientError::InvalidArgument(
                "a task queue is required to start a workflow".into(),
            ));
        }
        // Memo fields are user data: the codec protects them like arguments. Search attributes
        // stay plain: the server indexes them.
        let memo_fields = self.data_converter().encode_map(&o.memo).await?;
        Ok(ws::StartWorkflowExecutionRequest {
            namespace: self.namespace().to_string(),
            workflow_id: o.workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.to_string(),
            }),
            task_queue: Some(TaskQueue {
                name: o.task_queue.clone(),
                kind: enums::TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: (!args.payloads.is_empty()).then_some(args),
            workflow_execution_timeout: o.execution_timeout.map(to_proto_duration),
            workflow_run_timeout: o.run_timeout.map(to_proto_duration),
            workflow_task_timeout: o.task_timeout.map(to_proto_duration),
            identity: self.identity().to_string(),
            request_id: o.request_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            workflow_id_reuse_policy: enums::WorkflowIdReusePolicy::from(o.id_reuse_policy) as i32,
            // A conflict policy with a reuse policy of "terminate if running" is refused by the
            // server; we never send that reuse policy.
            workflow_id_conflict_policy: enums::WorkflowIdConflictPolicy::from(o.id_conflict_policy) as i32,
            retry_policy: o.retry_policy.clone().map(Into::into),
            cron_schedule: o.cron_schedule.clone().unwrap_or_default(),
            memo: (!memo_fields.is_empty()).then_some(pc::Memo { fields: memo_fields }),
            search_attributes: (!o.search_attributes.is_empty()).then(|| pc::SearchAttributes {
                indexed_fields: o.search_attributes.clone(),
            }),
            workflow_start_delay: o.start_delay.map(to_proto_duration),
            user_metadata: self.user_metadata(o).await?,
            header: o.headers.to_proto(),
            completion_callbacks: o.completion_callbacks.clone(),
            ..Default::default()
        })
    }

    /// The start's summary and details as the web UI reads them: JSON strings, through the
    /// codec like every payload.
    async fn user_metadata(&self, o: &StartOptions) -> Result<Option<crate::proto::sdk::UserMetadata>, ClientError> {
        if o.summary.is_none() && o.details.is_none() {
            return Ok(None);
        }
        let text = |t: &Option<String>| -> Result<Option<Payload>, ClientError> {
            t.as_deref()
                .map(crate::payload::to_payload)
                .transpose()
                .map_err(ClientError::from)
        };
        let (summary, details) = (text(&o.summary)?, text(&o.details)?);
        let encode = |p: Option<Payload>| async move {
            match p {
                Some(p) => Ok::<_, ClientError>(self.data_converter().encode_raw(vec![p]).await?.payloads.pop()),
                None => Ok(None),
            }
        };
        Ok(Some(crate::proto::sdk::UserMetadata {
            summary: encode(summary).await?,
            details: encode(details).await?,
        }))
    }

    async fn start_encoded(
        &self,
        workflow_type: &str,
        o: StartOptions,
        args: pc::Payloads,
        signal: Option<(&str, pc::Payloads)>,
    ) -> Result<UntypedWorkflowHandle, ClientError> {
        let r = self.start_request(workflow_type, &o, args).await?;
        let mut call = ClientCall::new(ClientOperation::StartWorkflow, &o.workflow_id)
            .workflow_type(workflow_type)
            .headers(o.headers.clone());
        if let Some((signal_name, _)) = &signal {
            call.operation = ClientOperation::SignalWithStartWorkflow;
            call = call.name(signal_name);
        }
        let options = &o;
        let send = |call: ClientCall| async move {
            let mut r = r;
            r.header = call.headers.to_proto();
            self.send_start(r, options, signal).await
        };
        let (run_id, started) = intercepted(self.interceptors(), call, send).await?;
        tracing::debug!(workflow_id = %o.workflow_id, %run_id, started, "workflow started");
        Ok(UntypedWorkflowHandle::new(self.clone(), o.workflow_id, Some(run_id)))
    }

    /// Sends a start (or a signal-with-start) request; answers the run id and whether this
    /// request started it.
    async fn send_start(
        &self,
        r: ws::StartWorkflowExecutionRequest,
        o: &StartOptions,
        signal: Option<(&str, pc::Payloads)>,
    ) -> Result<(String, bool), ClientError> {
        Ok(match signal {
            None => {
                // Eager: a worker of this client polls the queue and has a free slot, and the
                // start has no delay (the server refuses eager execution with one).
                let slot = (o.eager && o.start_delay.is_none())
                    .then(|| self.inner.eager.reserve(&o.task_queue))
                    .flatten();
                let r = ws::StartWorkflowExecutionRequest {
                    request_eager_execution: slot.is_some(),
                    eager_worker_deployment_options: slot.as_ref().and_then(|s| s.deployment_options()),
                    ..r
                };
                let resp = self
                    .call(r, None, |mut s, r| async move { s.start_workflow_execution(r).await })
                    .await
                    .map_err(|e| e.into_client_error(Some(&o.workflow_id)))?;
                if let (Some(slot), Some(task)) = (slot, resp.eager_workflow_task) {
                    tracing::debug!(workflow_id = %o.workflow_id, "first workflow task handed back: run eagerly");
                    slot.run(task);
                }
                (resp.run_id, resp.started)
            }
            Some((signal_name, signal_args)) => {
                let request = ws::SignalWithStartWorkflowExecutionRequest {
                    namespace: r.namespace,
                    workflow_id: r.workflow_id,
                    workflow_type: r.workflow_type,
                    task_queue: r.task_queue,
                    input: r.input,
                    workflow_execution_timeout: r.workflow_execution_timeout,
                    workflow_run_timeout: r.workflow_run_timeout,
                    workflow_task_timeout: r.workflow_task_timeout,
                    identity: r.identity,
                    request_id: r.request_id,
                    workflow_id_reuse_policy: r.workflow_id_reuse_policy,
                    // Signal-with-start signals the running run; "fail" is not meaningful.
                    workflow_id_conflict_policy: use_existing_unless_set(o.id_conflict_policy),
                    signal_name: signal_name.to_string(),
                    signal_input: (!signal_args.payloads.is_empty()).then_some(signal_args),
                    retry_policy: r.retry_policy,
                    cron_schedule: r.cron_schedule,
                    memo: r.memo,
                    search_attributes: r.search_attributes,
                    workflow_start_delay: r.workflow_start_delay,
                    user_metadata: r.user_metadata,
                    header: r.header,
                    ..Default::default()
                };
                let resp = self
                    .call(request, None, |mut s, r| async move {
                        s.signal_with_start_workflow_execution(r).await
                    })
                    .await
                    .map_err(|e| e.into_client_error(Some(&o.workflow_id)))?;
                (resp.run_id, resp.started)
            }
        })
    }

    /// Lets `worker` take the first task of workflows this client starts on `task_queue` with
    /// [`StartOptions::eager`] (see [`eager`](crate::eager)). Held weakly: a dropped worker is
    /// forgotten.
    pub fn register_eager_worker(&self, task_queue: &str, worker: std::sync::Weak<dyn EagerWorkflowWorker>) {
        self.inner.eager.register(task_queue, worker);
    }

    /// The interceptors every workflow call runs through.
    pub(crate) fn interceptors(&self) -> &[Arc<dyn ClientInterceptor>] {
        &self.inner.options.interceptors
    }

    /// Sends an update to workflow `W`, starting the workflow first when it is not running, in
    /// one request; waits for the update's result. With the default conflict policy a running
    /// run is used as it is. What the macros' `<update>_with_start` stubs call.
    pub async fn update_with_start_by_name<W, A, R>(
        &self,
        options: StartOptions,
        input: W::Input,
        update_name: &str,
        update_args: A,
    ) -> Result<(WorkflowHandle<W>, R), ClientError>
    where
        W: WorkflowDefinition,
        A: crate::payload::PayloadArgs,
        R: serde::de::DeserializeOwned,
    {
        use crate::payload::PayloadArgs as _;
        let args = input.to_payloads()?;
        let update_args = update_args.to_payloads()?;
        let (handle, result) = self
            .update_with_start_untyped(W::NAME, options, args, update_name, update_args, None)
            .await?;
        let result = crate::payload::from_optional_payload(result.first())?;
        Ok((WorkflowHandle::from_untyped(handle), result))
    }

    /// Update-with-start by names, with raw payloads (the codec still applies); `update_id`
    /// deduplicates (random when `None`). Returns the handle and the update's result payloads.
    pub async fn update_with_start_untyped(
        &self,
        workflow_type: &str,
        options: StartOptions,
        args: Vec<Payload>,
        update_name: &str,
        update_args: Vec<Payload>,
        update_id: Option<String>,
    ) -> Result<(UntypedWorkflowHandle, Vec<Payload>), ClientError> {
        use crate::proto::update as pu;
        use ws::execute_multi_operation_request::{Operation, operation};
        use ws::execute_multi_operation_response::response;
        let args = self.data_converter().encode_raw(args).await?;
        let update_args = self.data_converter().encode_raw(update_args).await?;
        let mut start = self.start_request(workflow_type, &options, args).await?;
        start.workflow_id_conflict_policy = use_existing_unless_set(options.id_conflict_policy);
        let update_id = update_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let update = ws::UpdateWorkflowExecutionRequest {
            namespace: self.namespace().to_string(),
            workflow_execution: Some(pc::WorkflowExecution {
                workflow_id: options.workflow_id.clone(),
                run_id: String::new(),
            }),
            wait_policy: Some(pu::WaitPolicy {
                lifecycle_stage: enums::UpdateWorkflowExecutionLifecycleStage::Completed as i32,
            }),
            request: Some(pu::Request {
                meta: Some(pu::Meta {
                    update_id: update_id.clone(),
                    identity: self.identity().to_string(),
                }),
                input: Some(pu::Input {
                    header: None,
                    name: update_name.to_string(),
                    args: (!update_args.payloads.is_empty()).then_some(update_args),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = ws::ExecuteMultiOperationRequest {
            namespace: self.namespace().to_string(),
            operations: vec![
                Operation {
                    operation: Some(operation::Operation::StartWorkflow(start)),
                },
                Operation {
                    operation: Some(operation::Operation::UpdateWorkflow(update)),
                },
            ],
            ..Default::default()
        };
        let mut call = ClientCall::new(ClientOperation::UpdateWithStartWorkflow, &options.workflow_id)
            .workflow_type(workflow_type)
            .name(update_name)
            .headers(options.headers.clone());
        call.update_id = Some(update_id.clone());
        let workflow_id = options.workflow_id.as_str();
        let send = |call: ClientCall| async move {
            // The call's headers go with the start and with the update.
            let mut request = request;
            for op in &mut request.operations {
                match &mut op.operation {
                    Some(operation::Operation::StartWorkflow(start)) => start.header = call.headers.to_proto(),
                    Some(operation::Operation::UpdateWorkflow(update)) => {
                        if let Some(input) = update.request.as_mut().and_then(|r| r.input.as_mut()) {
                            input.header = call.headers.to_proto();
                        }
                    }
                    None => {}
                }
            }
            self.call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                s.execute_multi_operation(r).await
            })
            .await
            .map_err(|e| e.into_client_error(Some(workflow_id)))
        };
        let resp = intercepted(self.interceptors(), call, send).await?;
        let mut run_id = None;
        let mut outcome = None;
        for r in resp.responses {
            match r.response {
                Some(response::Response::StartWorkflow(s)) => run_id = Some(s.run_id),
                Some(response::Response::UpdateWorkflow(u)) => outcome = u.outcome,
                None => {}
            }
        }
        let handle = UntypedWorkflowHandle::new(self.clone(), options.workflow_id, run_id);
        let update = crate::handle::UntypedUpdateHandle::new(handle.clone(), update_name, update_id, outcome);
        let result = update.result().await?;
        Ok((handle, result))
    }

    /// A typed handle to an existing workflow; `run_id: None` means its latest run.
    pub fn handle<W: WorkflowDefinition>(
        &self,
        workflow_id: impl Into<String>,
        run_id: Option<String>,
    ) -> WorkflowHandle<W> {
        WorkflowHandle::from_untyped(self.untyped_handle(workflow_id, run_id))
    }

    /// An untyped handle to an existing workflow; `run_id: None` means its latest run.
    pub fn untyped_handle(&self, workflow_id: impl Into<String>, run_id: Option<String>) -> UntypedWorkflowHandle {
        UntypedWorkflowHandle::new(self.clone(), workflow_id.into(), run_id)
    }

    /// Lists workflows matching a visibility query (`""` for all), newest first, fetching
    /// pages as the stream is read.
    ///
    /// ```no_run
    /// # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
    /// use futures::TryStreamExt;
    /// let running: Vec<_> = client
    ///     .list_workflows("WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'")
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_workflows(&self, query: &str) -> impl Stream<Item = Result<WorkflowSummary, ClientError>> + use<> {
        let client = self.clone();
        let query = query.to_string();
        paginate(move |page_token| {
            let client = client.clone();
            let request = ws::ListWorkflowExecutionsRequest {
                namespace: client.namespace().to_string(),
                page_size: 100,
                next_page_token: page_token,
                query: query.clone(),
            };
            async move {
                let resp = client
                    .call(
                        request,
                        None,
                        |mut s, r| async move { s.list_workflow_executions(r).await },
                    )
                    .await?;
                let page = resp.executions.into_iter().map(WorkflowSummary::from).collect();
                Ok((page, resp.next_page_token))
            }
        })
    }

    /// Counts workflows matching a visibility query (`""` for all).
    pub async fn count_workflows(&self, query: &str) -> Result<u64, ClientError> {
        let request = ws::CountWorkflowExecutionsRequest {
            namespace: self.namespace().to_string(),
            query: query.to_string(),
        };
        let resp = self
            .call(
                request,
                None,
                |mut s, r| async move { s.count_workflow_executions(r).await },
            )
            .await?;
        Ok(resp.count.max(0) as u64)
    }
}

/// The items of a paginated list call as a stream: `fetch` gets a page token (empty for the
/// first page) and answers a page and the next token (empty after the last page); pages are
/// fetched as the stream is read.
pub(crate) fn paginate<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, ClientError>>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Vec<u8>), ClientError>>,
{
    let state = (Some(Vec::new()), std::collections::VecDeque::new(), fetch);
    futures::stream::try_unfold(state, |(mut token, mut buffer, mut fetch)| async move {
        loop {
            if let Some(item) = buffer.pop_front() {
                return Ok(Some((item, (token, buffer, fetch))));
            }
            let Some(page_token) = token.take() else {
                return Ok(None);
            };
            let (page, next) = fetch(page_token).await?;
            buffer.extend(page);
            token = (!next.is_empty()).then_some(next);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{StreamExt, TryStreamExt};

    #[tokio::test]
    async fn paginate_reads_every_page_in_order_and_stops_after_the_last() {
        // Pages by token: "" → [1, 2] then "a"; "a" → [] then "b"; "b" → [3] and no token.
        let mut asked = Vec::new();
        let items: Vec<u32> = paginate(|token: Vec<u8>| {
            asked.push(String::from_utf8(token.clone()).unwrap());
            async move {
                Ok(match token.as_slice() {
                    b"" => (vec![1, 2], b"a".to_vec()),
                    b"a" => (vec![], b"b".to_vec()),
                    _ => (vec![3], Vec::new()),
                })
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(asked, ["", "a", "b"]);
    }

    #[tokio::test]
    async fn paginate_ends_with_the_first_error() {
        let items: Vec<Result<u32, ClientError>> = paginate(|token: Vec<u8>| async move {
            if token.is_empty() {
                Ok((vec![1], b"next".to_vec()))
            } else {
                Err(ClientError::NotFound("gone".into()))
            }
        })
        .collect()
        .await;
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1], Err(ClientError::NotFound(_))));
    }
}
