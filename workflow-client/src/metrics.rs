//! Temporal's standard SDK metrics, recorded through the OpenTelemetry metrics API (the
//! `metrics` feature).
//!
//! A [`Metrics`] handle names where the client and the workers record: an OpenTelemetry
//! [`Meter`], labels added to every series, and the unit of duration histograms. The names,
//! units and labels are those of the core-based SDKs (Python, TypeScript, .NET), so the
//! community dashboards for Temporal SDKs read them unchanged: every name starts with
//! `temporal_`, durations are milliseconds unless [`MetricsBuilder::durations_as_seconds`] says
//! otherwise, and histogram buckets are sdk-core's.
//!
//! ```
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//! use workflow_client::ClientOptions;
//! use workflow_client::metrics::Metrics;
//!
//! let provider = SdkMeterProvider::builder().build(); // add your readers / exporters
//! let metrics = Metrics::builder(&provider).label("service", "orders").build();
//! let options = ClientOptions::new("127.0.0.1:7233").metrics(metrics);
//! ```
//!
//! The client counts every gRPC attempt: `temporal_request`, `temporal_request_failure` (with
//! the gRPC `status_code`) and `temporal_request_latency`, or their `temporal_long_request*`
//! twins for long polls (task polls, and history reads that wait for a new event); each
//! series carries `namespace` and `operation` (the RPC method name), and task polls carry the
//! `task_queue`.

use crate::client::LONG_POLL_TIMEOUT;
use crate::options::ClientOptions;
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The prefix of every metric name, as the core-based SDKs use it.
pub const PREFIX: &str = "temporal_";

/// Buckets (in milliseconds) of histograms sdk-core gives no buckets of their own to: request
/// latencies, end-to-end activity latencies, local activity latencies.
pub const DEFAULT_BUCKETS_MS: &[f64] = &[50., 100., 500., 1000., 2500., 10_000.];

/// Where the client and workers record Temporal's SDK metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    meter: Meter,
    labels: Vec<KeyValue>,
    seconds: bool,
    requests: RequestInstruments,
    /// The request counters, by namespace and then by (operation, long poll, task queue).
    request_counts: RwLock<HashMap<String, HashMap<RequestKey, RequestSeries>>>,
}

/// One series of request metrics: its counter and its labels (the latency and failure series
/// of the same calls carry them too), made once.
#[derive(Clone)]
struct RequestSeries {
    count: Tally,
    labels: Arc<[KeyValue]>,
}

/// What a request counter's series is for: its operation, whether it counts long polls, and
/// the task queue of a task poll.
type RequestKey = (&'static str, bool, Option<StringValue>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("labels", &self.inner.labels)
            .field("durations_as_seconds", &self.inner.seconds)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Metrics`] handle.
pub struct MetricsBuilder {
    meter: Meter,
    labels: Vec<KeyValue>,
    seconds: bool,
}

impl MetricsBuilder {
    /// Adds a label to every series (a service name, a region…).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push(KeyValue::new(key.into(), value.into()));
        self
    }

    /// Records durations in seconds (`f64`, sdk-core's buckets divided by 1,000) instead of
    /// milliseconds, as the core-based SDKs' `durations_as_seconds` option does.
    pub fn durations_as_seconds(mut self, seconds: bool) -> Self {
        self.seconds = seconds;
        self
    }

    /// The handle.
    pub fn build(self) -> Metrics {
        let requests = RequestInstruments::new(&self.meter, self.seconds);
        Metrics {
            inner: Arc::new(Inner {
                meter: self.meter,
                labels: self.labels,
                seconds: self.seconds,
                requests,
                request_counts: RwLock::default(),
            }),
        }
    }
}

impl Metrics {
    /// A handle recording through `provider`, durations in milliseconds, no extra labels.
    pub fn new<P: MeterProvider + ?Sized>(provider: &P) -> Metrics {
        Metrics::builder(provider).build()
    }

    /// A builder of a handle recording through `provider`.
    pub fn builder<P: MeterProvider + ?Sized>(provider: &P) -> MetricsBuilder {
        let scope = InstrumentationScope::builder("temporal-rust-sdk")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        MetricsBuilder {
            meter: provider.meter_with_scope(scope),
            labels: Vec::new(),
            seconds: false,
        }
    }

    /// The meter the SDK's instruments come from; add your own instruments to it.
    pub fn meter(&self) -> &Meter {
        &self.inner.meter
    }

    /// The labels added to every series.
    pub fn labels(&self) -> &[KeyValue] {
        &self.inner.labels
    }

    /// Whether durations are recorded in seconds rather than milliseconds.
    pub fn durations_as_seconds(&self) -> bool {
        self.inner.seconds
    }

    /// A counter named `temporal_{name}`.
    pub fn counter(&self, name: &str, description: &'static str) -> Counter<u64> {
        counter(&self.inner.meter, name, description)
    }

    /// A duration histogram named `temporal_{name}`, in this handle's unit, with `buckets_ms`
    /// (milliseconds; divided by 1,000 when durations are seconds).
    pub fn duration_histogram(&self, name: &str, description: &'static str, buckets_ms: &[f64]) -> DurationHistogram {
        duration_histogram(&self.inner.meter, self.inner.seconds, name, description, buckets_ms)
    }

    /// A [`Tally`] counter named `temporal_{name}` with fixed `labels` (its series appears
    /// with the first count).
    pub fn tally_counter(&self, name: &str, description: &'static str, labels: Vec<KeyValue>) -> Tally {
        let tally = Tally(Arc::default());
        let value = tally.0.clone();
        self.inner
            .meter
            .u64_observable_counter(format!("{PREFIX}{name}"))
            .with_description(description)
            .with_callback(move |o| match value.load(Ordering::Relaxed) {
                0 => {}
                n => o.observe(n.max(0) as u64, &labels),
            })
            .build();
        tally
    }

    /// A [`Tally`] gauge named `temporal_{name}` with fixed `labels`, set with [`Tally::set`].
    pub fn tally_gauge(&self, name: &str, description: &'static str, labels: Vec<KeyValue>) -> Tally {
        let tally = Tally(Arc::default());
        let value = tally.0.clone();
        self.inner
            .meter
            .u64_observable_gauge(format!("{PREFIX}{name}"))
            .with_description(description)
            .with_callback(move |o| o.observe(value.load(Ordering::Relaxed).max(0) as u64, &labels))
            .build();
        tally
    }

    /// A [`Tally`] up-down counter named `temporal_{name}` (a gauge moved by steps) with fixed
    /// `labels`.
    pub fn tally_up_down(&self, name: &str, description: &'static str, labels: Vec<KeyValue>) -> Tally {
        let tally = Tally(Arc::default());
        let value = tally.0.clone();
        self.inner
            .meter
            .i64_observable_up_down_counter(format!("{PREFIX}{name}"))
            .with_description(description)
            .with_callback(move |o| o.observe(value.load(Ordering::Relaxed), &labels))
            .build();
        tally
    }

    /// The request series of `key` in `namespace`, made on first use.
    fn request_series(&self, namespace: &str, key: RequestKey) -> RequestSeries {
        let counts = self.inner.request_counts.read().unwrap_or_else(|e| e.into_inner());
        if let Some(series) = counts.get(namespace).and_then(|by_key| by_key.get(&key)) {
            return series.clone();
        }
        drop(counts);
        let mut counts = self.inner.request_counts.write().unwrap_or_else(|e| e.into_inner());
        let by_key = counts.entry(namespace.to_string()).or_default();
        if let Some(series) = by_key.get(&key) {
            return series.clone();
        }
        let (operation, long, task_queue) = key.clone();
        let mut labels = vec![
            KeyValue::new("namespace", namespace.to_string()),
            KeyValue::new("operation", operation),
        ];
        labels.extend(task_queue.map(|q| KeyValue::new("task_queue", q)));
        let labels = self.label_set(labels);
        let count = match long {
            true => self.tally_counter(
                "long_request",
                "Count of long-poll requests by rpc name",
                labels.clone(),
            ),
            false => self.tally_counter("request", "Count of client requests by rpc name", labels.clone()),
        };
        let series = RequestSeries {
            count,
            labels: labels.into(),
        };
        by_key.insert(key, series.clone());
        series
    }

    /// `extra` followed by this handle's own labels.
    pub fn label_set(&self, extra: impl IntoIterator<Item = KeyValue>) -> Vec<KeyValue> {
        let mut labels: Vec<KeyValue> = extra.into_iter().collect();
        labels.extend(self.inner.labels.iter().cloned());
        labels
    }
}

fn counter(meter: &Meter, name: &str, description: &'static str) -> Counter<u64> {
    meter
        .u64_counter(format!("{PREFIX}{name}"))
        .with_description(description)
        .build()
}

fn duration_histogram(
    meter: &Meter,
    seconds: bool,
    name: &str,
    description: &'static str,
    buckets_ms: &[f64],
) -> DurationHistogram {
    let name = format!("{PREFIX}{name}");
    if seconds {
        let buckets = buckets_ms.iter().map(|b| b / 1000.0).collect();
        DurationHistogram::Seconds(
            meter
                .f64_histogram(name)
                .with_description(description)
                .with_unit("s")
                .with_boundaries(buckets)
                .build(),
        )
    } else {
        DurationHistogram::Millis(
            meter
                .u64_histogram(name)
                .with_description(description)
                .with_unit("ms")
                .with_boundaries(buckets_ms.to_vec())
                .build(),
        )
    }
}

/// A counter or gauge whose labels never change, kept in an atomic that the meter reads when
/// it collects: counting is one atomic add, with no work in the metrics SDK (whose cost per
/// measurement, hashing every label, was most of what metrics cost a worker). Made by
/// [`Metrics::tally_counter`], [`Metrics::tally_gauge`] and [`Metrics::tally_up_down`]; cheap
/// to clone (clones count together).
///
/// ```
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use workflow_client::metrics::Metrics;
///
/// let metrics = Metrics::new(&SdkMeterProvider::builder().build());
/// let orders = metrics.tally_counter("orders_taken", "Orders taken", vec![KeyValue::new("shop", "north")]);
/// orders.add(1); // exported as `temporal_orders_taken{shop="north"}`
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tally(Arc<AtomicI64>);

impl Tally {
    /// Adds `n` (negative to an up-down counter only).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge's value.
    pub fn set(&self, n: i64) {
        self.0.store(n, Ordering::Relaxed);
    }
}

/// A histogram of durations, in milliseconds or in seconds.
#[derive(Clone)]
pub enum DurationHistogram {
    /// Whole milliseconds (the core-based SDKs' default).
    Millis(Histogram<u64>),
    /// Seconds.
    Seconds(Histogram<f64>),
}

impl DurationHistogram {
    /// Records one duration.
    pub fn record(&self, duration: Duration, labels: &[KeyValue]) {
        match self {
            DurationHistogram::Millis(h) => h.record(duration.as_millis() as u64, labels),
            DurationHistogram::Seconds(h) => h.record(duration.as_secs_f64(), labels),
        }
    }
}

impl std::fmt::Debug for DurationHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DurationHistogram::Millis(_) => "DurationHistogram(ms)",
            DurationHistogram::Seconds(_) => "DurationHistogram(s)",
        })
    }
}

impl ClientOptions {
    /// Records Temporal's request metrics through `metrics`; workers built on the client
    /// record their metrics there too unless given their own.
    pub fn metrics(mut self, metrics: impl Into<Metrics>) -> Self {
        self.metrics = Some(metrics.into());
        self
    }
}

impl From<&Metrics> for Metrics {
    fn from(m: &Metrics) -> Self {
        m.clone()
    }
}

struct RequestInstruments {
    failure: Counter<u64>,
    latency: DurationHistogram,
    long_failure: Counter<u64>,
    long_latency: DurationHistogram,
}

impl RequestInstruments {
    fn new(meter: &Meter, seconds: bool) -> Self {
        let histogram = |name, description| duration_histogram(meter, seconds, name, description, DEFAULT_BUCKETS_MS);
        RequestInstruments {
            failure: counter(meter, "request_failure", "Count of client request failures by rpc name"),
            latency: histogram("request_latency", "Histogram of client request latencies"),
            long_failure: counter(
                meter,
                "long_request_failure",
                "Count of long-poll request failures by rpc name",
            ),
            long_latency: histogram(
                "long_request_latency",
                "Histogram of client long-poll request latencies",
            ),
        }
    }
}

tokio::task_local! {
    /// The task queue a worker's poll is for, so its request metrics carry it.
    static TASK_QUEUE: StringValue;
}

/// Runs `poll` with `task_queue` as the `task_queue` label of the requests it makes (the
/// worker's pollers use it, as sdk-core labels its polls).
#[doc(hidden)]
pub async fn with_task_queue<F: Future>(task_queue: StringValue, poll: F) -> F::Output {
    TASK_QUEUE.scope(task_queue, poll).await
}

/// The RPC method a request type is for: `StartWorkflowExecutionRequest` →
/// `StartWorkflowExecution`.
fn operation_of<Req>() -> &'static str {
    let name = std::any::type_name::<Req>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Request").unwrap_or(last)
}

/// Whether a call is a long poll, as sdk-core counts them: task polls, and history reads
/// that wait for a new event (made with the long-poll deadline).
fn is_long_poll(operation: &str, timeout: Duration) -> bool {
    (operation.starts_with("Poll") && operation.ends_with("TaskQueue"))
        || (operation == "GetWorkflowExecutionHistory" && timeout >= LONG_POLL_TIMEOUT)
}

/// Counts and times one gRPC attempt of `Req` (the hook in [`Client::call`](crate::Client::call)).
pub(crate) async fn observe_call<Req, Resp, Fut>(
    options: &ClientOptions,
    timeout: Duration,
    call: Fut,
) -> Result<tonic::Response<Resp>, tonic::Status>
where
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let Some(metrics) = &options.metrics else {
        return call.await;
    };
    let operation = operation_of::<Req>();
    let long = is_long_poll(operation, timeout);
    let task_queue = TASK_QUEUE.try_with(StringValue::clone).ok();
    let series = metrics.request_series(&options.namespace, (operation, long, task_queue));
    series.count.add(1);
    let r = &metrics.inner.requests;
    let (failure, latency) = if long {
        (&r.long_failure, &r.long_latency)
    } else {
        (&r.failure, &r.latency)
    };
    let started = Instant::now();
    let result = call.await;
    latency.record(started.elapsed(), &series.labels);
    if let Err(status) = &result {
        let mut labels = series.labels.to_vec();
        labels.push(KeyValue::new("status_code", status_code(status.code())));
        failure.add(1, &labels);
    }
    result
}

/// A gRPC code as the other SDKs label it (the gRPC spec's names).
fn status_code(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::workflowservice as ws;

    #[test]
    fn operations_are_the_rpc_method_names() {
        assert_eq!(
            operation_of::<ws::StartWorkflowExecutionRequest>(),
            "StartWorkflowExecution"
        );
        assert_eq!(
            operation_of::<ws::PollWorkflowTaskQueueRequest>(),
            "PollWorkflowTaskQueue"
        );
        assert_eq!(
            operation_of::<ws::RespondActivityTaskCompletedRequest>(),
            "RespondActivityTaskCompleted"
        );
        assert_eq!(operation_of::<ws::GetSystemInfoRequest>(), "GetSystemInfo");
    }

    #[test]
    fn long_polls_are_task_polls_and_waiting_history_reads() {
        assert!(is_long_poll("PollWorkflowTaskQueue", Duration::from_secs(70)));
        assert!(is_long_poll("PollActivityTaskQueue", Duration::from_secs(70)));
        assert!(is_long_poll("GetWorkflowExecutionHistory", LONG_POLL_TIMEOUT));
        assert!(!is_long_poll("GetWorkflowExecutionHistory", Duration::from_secs(10)));
        assert!(!is_long_poll("QueryWorkflow", LONG_POLL_TIMEOUT));
        assert!(!is_long_poll("PollWorkflowExecutionUpdate", LONG_POLL_TIMEOUT));
    }
}
