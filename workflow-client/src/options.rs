//! Options: how to connect, and how to start a workflow.

use crate::converter::DataConverter;
use crate::headers::Headers;
use crate::interceptor::ClientInterceptor;
use crate::payload::{self, PayloadError};
use crate::proto::common::{self as pc, Payload};
use crate::proto::enums;
use crate::proxy::HttpConnectProxy;
use crate::time::to_proto_duration;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How to reach a Temporal server.
///
/// ```
/// use std::time::Duration;
/// use workflow_client::ClientOptions;
/// let options = ClientOptions::new("127.0.0.1:7233")
///     .namespace("default")
///     .rpc_timeout(Duration::from_secs(5))
///     .header("x-team", "payments");
/// assert_eq!(options.namespace, "default");
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    /// `host:port`, or a full `http://` / `https://` URL.
    pub address: String,
    /// The namespace every call uses.
    pub namespace: String,
    /// Who this client is, shown in history events (default `pid@hostname`).
    pub identity: String,
    /// TLS settings; `None` for plain-text (the dev server).
    pub tls: Option<TlsOptions>,
    /// An API key, sent as `authorization: Bearer …` (never logged).
    pub api_key: Option<String>,
    /// Extra gRPC metadata on every call.
    pub headers: Vec<(String, String)>,
    /// An HTTP proxy the connection goes through (`CONNECT`); `None` to connect directly.
    pub http_connect_proxy: Option<HttpConnectProxy>,
    /// How long to wait for the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Deadline of ordinary calls (long polls use their own).
    pub rpc_timeout: Duration,
    /// Retry of transient errors (unavailable, resource exhausted).
    pub retry: RpcRetry,
    /// Payload conversion and codec.
    pub data_converter: DataConverter,
    /// Where Temporal's SDK metrics go (see [`metrics`](crate::metrics)).
    #[cfg(feature = "metrics")]
    pub metrics: Option<crate::metrics::Metrics>,
    /// Code run around every workflow call, outermost first (see
    /// [`interceptor`](crate::interceptor)).
    pub interceptors: Vec<Arc<dyn ClientInterceptor>>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("identity", &self.identity)
            .field("tls", &self.tls.is_some())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("http_connect_proxy", &self.http_connect_proxy)
            .field("connect_timeout", &self.connect_timeout)
            .field("rpc_timeout", &self.rpc_timeout)
            .field("retry", &self.retry)
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl ClientOptions {
    /// Options for `address` in the `default` namespace.
    pub fn new(address: impl Into<String>) -> Self {
        ClientOptions {
            address: address.into(),
            namespace: "default".to_string(),
            identity: default_identity(),
            tls: None,
            api_key: None,
            headers: Vec::new(),
            http_connect_proxy: None,
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(10),
            retry: RpcRetry::default(),
            data_converter: DataConverter::default(),
            #[cfg(feature = "metrics")]
            metrics: None,
            interceptors: Vec::new(),
        }
    }

    /// Adds an interceptor; it runs inside those added before it.
    pub fn interceptor(mut self, interceptor: impl ClientInterceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Sets the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the identity.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Enables TLS.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sends an API key as a bearer token.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a gRPC metadata header to every call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Connects through an HTTP proxy: `"proxy.corp:3128"`, `"http://user:password@proxy.corp:3128"`,
    /// or an [`HttpConnectProxy`] with [`basic_auth`](HttpConnectProxy::basic_auth). The proxy
    /// is asked for a tunnel to `address` (`CONNECT host:port`); TLS, when set, runs through it
    /// to the server. A proxy that refuses fails `connect` with [`ClientError::Proxy`](crate::ClientError::Proxy).
    pub fn http_connect_proxy(mut self, proxy: impl Into<HttpConnectProxy>) -> Self {
        self.http_connect_proxy = Some(proxy.into());
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the deadline of ordinary calls.
    pub fn rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// Sets the retry of transient errors.
    pub fn retry(mut self, retry: RpcRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the data converter (for a payload codec).
    pub fn data_converter(mut self, converter: DataConverter) -> Self {
        self.data_converter = converter;
        self
    }
}

/// `pid@hostname`, the identity other SDKs default to.
pub fn default_identity() -> String {
    format!(
        "{}@{}",
        std::process::id(),
        gethostname::gethostname().to_string_lossy()
    )
}

/// TLS settings, as PEM bytes.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// A CA to trust for the server's certificate (the system roots are used otherwise).
    pub server_ca_pem: Option<Vec<u8>>,
    /// The server name to verify, when it differs from the address host.
    pub domain: Option<String>,
    /// Client certificate and key, for mTLS.
    pub client_cert_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsOptions {
    /// TLS trusting the system roots.
    pub fn new() -> Self {
        Self::default()
    }
    /// Trusts this CA for the server certificate.
    pub fn server_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.server_ca_pem = Some(pem.into());
        self
    }
    /// Verifies the server certificate for this name.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
    /// Presents this client certificate and key (mTLS).
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert_pem = Some((cert.into(), key.into()));
        self
    }
}

/// Retry of transient gRPC errors: exponential backoff, bounded in attempts.
#[derive(Debug, Clone)]
pub struct RpcRetry {
    /// Total attempts, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
    /// Growth of the delay per attempt.
    pub multiplier: f64,
}

impl Default for RpcRetry {
    fn default() -> Self {
        RpcRetry {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
        }
    }
}

impl RpcRetry {
    /// No retry at all.
    pub fn none() -> Self {
        RpcRetry {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The delay after attempt `attempt` (1-based) failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.saturating_sub(1).min(30) as i32);
        self.initial_backoff.mul_f64(factor).min(self.max_backoff)
    }
}

/// A retry policy for workflows and activities (the server applies it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetryPolicy {
    /// Delay before the first retry (server default 1 s).
    pub initial_interval: Option<Duration>,
    /// Growth of the delay (server default 2.0).
    pub backoff_coefficient: Option<f64>,
    /// Longest delay (server default 100 × initial interval).
    pub maximum_interval: Option<Duration>,
    /// Total attempts; 0 means unlimited.
    pub maximum_attempts: u32,
    /// Application error types that are never retried.
    pub non_retryable_error_types: Vec<String>,
}

impl RetryPolicy {
    /// A policy that runs at most once: no retries.
    pub fn no_retries() -> Self {
        RetryPolicy {
            maximum_attempts: 1,
            ..Default::default()
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1` after attempt `attempt` failed with
    /// `failure`, or `None` when there is no next attempt: the failure is non-retryable (by
    /// its flag or its type name), or the attempts are used up. Unset fields take the server's
    /// defaults (1 s, doubling, at most 100 × the first interval); a failure's own
    /// `next_retry_delay` wins.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workflow_client::{Failure, RetryPolicy};
    /// let policy = RetryPolicy { maximum_attempts: 3, ..Default::default() };
    /// let oops = Failure::application("oops", "Oops");
    /// assert_eq!(policy.retry_delay(1, &oops), Some(Duration::from_secs(1)));
    /// assert_eq!(policy.retry_delay(2, &oops), Some(Duration::from_secs(2)));
    /// assert_eq!(policy.retry_delay(3, &oops), None);
    /// assert_eq!(policy.retry_delay(1, &oops.non_retryable()), None);
    /// ```
    pub fn retry_delay(&self, attempt: u32, failure: &crate::Failure) -> Option<Duration> {
        if let crate::FailureKind::Application {
            non_retryable,
            type_name,
            next_retry_delay,
            ..
        } = &*failure.kind
        {
            if *non_retryable || self.non_retryable_error_types.contains(type_name) {
                return None;
            }
            if self.maximum_attempts > 0 && attempt >= self.maximum_attempts {
                return None;
            }
            if let Some(d) = next_retry_delay {
                return Some(*d);
            }
        } else if self.maximum_attempts > 0 && attempt >= self.maximum_attempts {
            return None;
        }
        let initial = self.initial_interval.unwrap_or(Duration::from_secs(1));
        let coefficient = self.backoff_coefficient.filter(|c| *c >= 1.0).unwrap_or(2.0);
        let maximum = self.maximum_interval.unwrap_or(initial * 100);
        let delay = initial.mul_f64(coefficient.powi(attempt.saturating_sub(1).min(60) as i32));
        Some(delay.min(maximum))
    }
}

impl From<&pc::RetryPolicy> for RetryPolicy {
    fn from(p: &pc::RetryPolicy) -> Self {
        RetryPolicy {
            initial_interval: p.initial_interval.as_ref().map(crate::time::from_proto_duration),
            backoff_coefficient: (p.backoff_coefficient > 0.0).then_some(p.backoff_coefficient),
            maximum_interval: p.maximum_interval.as_ref().map(crate::time::from_proto_duration),
            maximum_attempts: p.maximum_attempts.max(0) as u32,
            non_retryable_error_types: p.non_retryable_error_types.clone(),
        }
    }
}

impl From<RetryPolicy> for pc::RetryPolicy {
    fn from(r: RetryPolicy) -> Self {
        pc::RetryPolicy {
            initial_interval: r.initial_interval.map(to_proto_duration),
            backoff_coefficient: r.backoff_coefficient.unwrap_or(0.0),
            maximum_interval: r.maximum_interval.map(to_proto_duration),
            maximum_attempts: r.maximum_attempts as i32,
            non_retryable_error_types: r.non_retryable_error_types,
        }
    }
}

/// What the server does when a start names a workflow id used by a closed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdReusePolicy {
    /// Start a new run whatever the old one's outcome (server default).
    #[default]
    AllowDuplicate,
    /// Start only if the last run failed, was canceled, terminated or timed out.
    AllowDuplicateFailedOnly,
    /// Never reuse the id.
    RejectDuplicate,
}

impl From<IdReusePolicy> for enums::WorkflowIdReusePolicy {
    fn from(p: IdReusePolicy) -> Self {
        match p {
            IdReusePolicy::AllowDuplicate => enums::WorkflowIdReusePolicy::AllowDuplicate,
            IdReusePolicy::AllowDuplicateFailedOnly => enums::WorkflowIdReusePolicy::AllowDuplicateFailedOnly,
            IdReusePolicy::RejectDuplicate => enums::WorkflowIdReusePolicy::RejectDuplicate,
        }
    }
}

/// What the server does when a start names a workflow id whose run is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdConflictPolicy {
    /// Refuse with [`crate::ClientError::AlreadyStarted`] (default).
    #[default]
    Fail,
    /// Return a handle to the running run.
    UseExisting,
    /// Terminate the running run and start a new one.
    TerminateExisting,
}

impl From<IdConflictPolicy> for enums::WorkflowIdConflictPolicy {
    fn from(p: IdConflictPolicy) -> Self {
        match p {
            IdConflictPolicy::Fail => enums::WorkflowIdConflictPolicy::Fail,
            IdConflictPolicy::UseExisting => enums::WorkflowIdConflictPolicy::UseExisting,
            IdConflictPolicy::TerminateExisting => enums::WorkflowIdConflictPolicy::TerminateExisting,
        }
    }
}

/// How to start a workflow: its id and task queue, and optional timeouts and policies.
///
/// ```
/// use std::time::Duration;
/// use workflow_client::{IdReusePolicy, StartOptions};
/// let options = StartOptions::new("order-42", "orders")
///     .execution_timeout(Duration::from_secs(3600))
///     .id_reuse_policy(IdReusePolicy::RejectDuplicate)
///     .memo("customer", &"ada").unwrap();
/// assert_eq!(options.workflow_id, "order-42");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The workflow id: the business key, unique among open runs.
    pub workflow_id: String,
    /// The task queue the workers poll.
    pub task_queue: String,
    /// Limit of the whole chain of runs (retries, continue-as-new).
    pub execution_timeout: Option<Duration>,
    /// Limit of one run.
    pub run_timeout: Option<Duration>,
    /// Limit of one workflow task (server default 10 s).
    pub task_timeout: Option<Duration>,
    /// Reuse of an id whose run is closed.
    pub id_reuse_policy: IdReusePolicy,
    /// Reuse of an id whose run is open.
    pub id_conflict_policy: IdConflictPolicy,
    /// Retry of the whole workflow.
    pub retry_policy: Option<RetryPolicy>,
    /// A cron schedule (`"*/5 * * * *"`).
    pub cron_schedule: Option<String>,
    /// Memo fields (not indexed), as payloads.
    pub memo: HashMap<String, Payload>,
    /// Search attributes (indexed), as payloads.
    pub search_attributes: HashMap<String, Payload>,
    /// Delay before the first workflow task.
    pub start_delay: Option<Duration>,
    /// Idempotency key of the start request (random when `None`).
    pub request_id: Option<String>,
    /// A one-line summary of the workflow, shown by the web UI and `temporal workflow describe`.
    pub summary: Option<String>,
    /// Longer details of the workflow (Markdown), shown by the web UI.
    pub details: Option<String>,
    /// Temporal headers of the start: the workflow reads them (`ctx.header`), and so do the
    /// workers' interceptors.
    pub headers: Headers,
    /// Eager start: when a worker built on the same client polls the task queue and has a free
    /// slot, the server hands the first workflow task back in the start's answer and that
    /// worker runs it at once (no poll round trip); otherwise the start goes the usual way.
    pub eager: bool,
    /// Callbacks the server calls when the run closes (a Nexus workflow operation sets the
    /// caller's, so the caller learns the result).
    pub completion_callbacks: Vec<pc::Callback>,
}

impl StartOptions {
    /// Options with a workflow id and a task queue.
    pub fn new(workflow_id: impl Into<String>, task_queue: impl Into<String>) -> Self {
        StartOptions {
            workflow_id: workflow_id.into(),
            task_queue: task_queue.into(),
            ..Default::default()
        }
    }
    /// Sets the execution timeout.
    pub fn execution_timeout(mut self, t: Duration) -> Self {
        self.execution_timeout = Some(t);
        self
    }
    /// Sets the run timeout.
    pub fn run_timeout(mut self, t: Duration) -> Self {
        self.run_timeout = Some(t);
        self
    }
    /// Sets the workflow task timeout.
    pub fn task_timeout(mut self, t: Duration) -> Self {
        self.task_timeout = Some(t);
        self
    }
    /// Sets the id reuse policy.
    pub fn id_reuse_policy(mut self, p: IdReusePolicy) -> Self {
        self.id_reuse_policy = p;
        self
    }
    /// Sets the id conflict policy.
    pub fn id_conflict_policy(mut self, p: IdConflictPolicy) -> Self {
        self.id_conflict_policy = p;
        self
    }
    /// Sets the retry policy.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry_policy = Some(p);
        self
    }
    /// Sets a cron schedule.
    pub fn cron_schedule(mut self, s: impl Into<String>) -> Self {
        self.cron_schedule = Some(s.into());
        self
    }
    /// Adds a memo field.
    pub fn memo<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Result<Self, PayloadError> {
        self.memo.insert(key.into(), payload::to_payload(value)?);
        Ok(self)
    }
    /// Sets a search attribute, typed by its key (it must be registered on the server).
    pub fn search_attribute<T: Serialize + serde::de::DeserializeOwned>(
        mut self,
        key: crate::search_attributes::SearchAttributeKey<T>,
        value: T,
    ) -> Self {
        key.insert_into(&mut self.search_attributes, &value);
        self
    }
    /// A one-line summary of the workflow, shown by the web UI and `temporal workflow describe`.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }
    /// Longer details of the workflow (Markdown), shown by the web UI.
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
    /// Delays the first workflow task.
    pub fn start_delay(mut self, d: Duration) -> Self {
        self.start_delay = Some(d);
        self
    }
    /// Sets the request id (idempotency key).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Asks for an eager start (see [`StartOptions::eager`](StartOptions#structfield.eager)).
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }
    /// Adds a Temporal header to the start (JSON, or bytes as binary).
    pub fn header<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Result<Self, PayloadError> {
        self.headers.insert(key, value)?;
        Ok(self)
    }
}
