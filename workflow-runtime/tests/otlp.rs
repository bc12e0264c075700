//! OTLP export of Temporal's SDK metrics: an in-process OTLP/gRPC collector (the collector's
//! `MetricsService`, served by tonic) keeps every export request, a worker on the real dev
//! server runs workflows through a client whose `MetricsExporter` pushes to it, and what the
//! collector received must follow from the run.
#![cfg(all(feature = "metrics", feature = "otlp"))]

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, metric, number_data_point};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use workflow_runtime::metrics::MetricsExporter;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, unique_id};

#[activity(start_to_close_timeout = "10s")]
async fn triple(n: u64) -> Result<u64, ActivityError> {
    Ok(n * 3)
}

#[workflow]
#[derive(Default)]
pub struct Tripler;

#[workflow]
impl Tripler {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u64) -> WorkflowResult<u64> {
        ctx.activity(triple, n).await
    }
}

/// A collector that keeps every export request and counts them on a watch channel.
#[derive(Clone)]
struct Collector {
    received: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    count: Arc<watch::Sender<usize>>,
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.received.lock().unwrap();
        received.push(request.into_inner());
        self.count.send_replace(received.len());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// Serves OTLP/gRPC on a free loopback port until the test's runtime ends.
    async fn start() -> (Collector, SocketAddr) {
        let collector = Collector {
            received: Arc::default(),
            count: Arc::new(watch::channel(0).0),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the collector");
        let address = listener.local_addr().expect("the collector's address");
        let server = tonic::transport::Server::builder().serve_with_incoming(
            MetricsServiceServer::new(collector.clone()),
            tonic::transport::server::TcpIncoming::from(listener),
        );
        tokio::spawn(async move { server.await.expect("the collector serves") });
        (collector, address)
    }

    fn requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Waits, at most `bound`, for an export request after which `done` holds of the latest
    /// one; wakes on each request (no polling interval). Returns the requests received so far.
    async fn wait_for(
        &self,
        what: &str,
        bound: Duration,
        done: impl Fn(&ExportMetricsServiceRequest) -> bool,
    ) -> Vec<ExportMetricsServiceRequest> {
        let deadline = Instant::now() + bound;
        let mut count = self.count.subscribe();
        loop {
            count.mark_unchanged();
            let requests = self.requests();
            if requests.last().is_some_and(&done) {
                return requests;
            }
            if tokio::time::timeout_at(deadline, count.changed()).await.is_err() {
                panic!(
                    "the collector never saw {what} within {bound:?}; {} requests, the last:\n{:#?}",
                    requests.len(),
                    requests.last()
                );
            }
        }
    }
}

fn string(value: &Option<AnyValue>) -> Option<&str> {
    match value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| string(&kv.value))
}

fn matches(attributes: &[KeyValue], wanted: &[(&str, &str)]) -> bool {
    wanted.iter().all(|(k, v)| attribute(attributes, k) == Some(*v))
}

/// Every metric named `name` in one request.
fn metrics<'a>(request: &'a ExportMetricsServiceRequest, name: &'a str) -> impl Iterator<Item = &'a Metric> + 'a {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(move |m| m.name == name)
}

/// The sum of the counter `name`'s points whose attributes include `wanted`, in one request;
/// `None` when it has no such point. Asserts the counter is a cumulative monotonic sum.
fn counter(request: &ExportMetricsServiceRequest, name: &str, wanted: &[(&str, &str)]) -> Option<u64> {
    let mut found = None;
    for m in metrics(request, name) {
        let Some(metric::Data::Sum(sum)) = &m.data else {
            panic!("{name} is not a sum: {m:?}");
        };
        assert!(sum.is_monotonic, "{name} is a counter");
        assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
        for point in sum.data_points.iter().filter(|p| matches(&p.attributes, wanted)) {
            let value = match point.value {
                Some(number_data_point::Value::AsInt(v)) => u64::try_from(v).expect("a count"),
                ref other => panic!("{name}: a count as an integer, not {other:?}"),
            };
            *found.get_or_insert(0) += value;
        }
    }
    found
}

/// The total count of the histogram `name`'s points whose attributes include `wanted`.
fn histogram_count(request: &ExportMetricsServiceRequest, name: &str, wanted: &[(&str, &str)]) -> Option<u64> {
    let mut found = None;
    for m in metrics(request, name) {
        let Some(metric::Data::Histogram(h)) = &m.data else {
            panic!("{name} is not a histogram: {m:?}");
        };
        for point in h.data_points.iter().filter(|p| matches(&p.attributes, wanted)) {
            *found.get_or_insert(0) += point.count;
        }
    }
    found
}

#[tokio::test]
async fn a_collector_receives_the_metrics_over_otlp() -> Result<(), Box<dyn std::error::Error>> {
    const N: u64 = 4;
    let (collector, address) = Collector::start().await;
    let exporter = MetricsExporter::builder()
        .otlp(format!("http://{address}"))
        .otlp_interval(Duration::from_millis(200))
        .label("suite", "otlp-test")
        .start()
        .await?;
    assert_eq!(exporter.prometheus_address(), None, "OTLP only");
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    let queue = unique_id("otlp");
    let worker = Worker::builder(&client, &queue)
        .workflow::<Tripler>()
        .activity(triple)
        .build()?
        .spawn();
    let run = async {
        for n in 0..N {
            let tripled = Tripler::execute(&client, StartOptions::new(unique_id("triple"), &queue), n).await?;
            assert_eq!(tripled, n * 3);
        }
        Ok::<_, ClientError>(())
    };
    tokio::time::timeout(Duration::from_secs(60), run).await??;

    let q = ("task_queue", queue.as_str());
    let tripler = [q, ("namespace", "default"), ("workflow_type", "Tripler")];
    let activity = [q, ("workflow_type", "Tripler"), ("activity_type", "triple")];
    // The points are cumulative: the latest request carries the totals.
    let requests = collector
        .wait_for("N completions and N activity attempts", Duration::from_secs(20), |r| {
            counter(r, "temporal_workflow_completed", &tripler) == Some(N)
                && histogram_count(r, "temporal_activity_execution_latency", &activity) == Some(N)
        })
        .await;
    let last = requests.last().unwrap();
    if std::env::var_os("SHOW_METRICS").is_some() {
        eprintln!("{last:#?}");
    }
    // The same names as the Prometheus endpoint's, and only those of this queue's runs.
    assert_eq!(counter(last, "temporal_workflow_completed", &[q]), Some(N));
    assert_eq!(counter(last, "temporal_workflow_failed", &[q]), None);
    assert_eq!(
        histogram_count(last, "temporal_workflow_endtoend_latency", &tripler),
        Some(N)
    );
    assert_eq!(counter(last, "temporal_worker_start", &[q]), Some(1));
    assert!(
        counter(last, "temporal_request", &[("operation", "StartWorkflowExecution")]).unwrap_or(0) >= N,
        "{last:#?}"
    );
    for m in last
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        assert!(m.name.starts_with("temporal_"), "{}", m.name);
    }
    // Durations in milliseconds with sdk-core's buckets; the handle's label on every point.
    let latency = metrics(last, "temporal_activity_execution_latency").next().unwrap();
    assert_eq!(latency.unit, "ms");
    let Some(metric::Data::Histogram(h)) = &latency.data else {
        unreachable!()
    };
    assert_eq!(h.aggregation_temporality, AggregationTemporality::Cumulative as i32);
    for point in &h.data_points {
        assert_eq!(point.explicit_bounds, [50., 100., 500., 1000., 5000., 10_000., 60_000.]);
        assert_eq!(attribute(&point.attributes, "suite"), Some("otlp-test"));
    }
    // Who is speaking: the scope is the SDK with its version, the resource names the service.
    assert_eq!(last.resource_metrics.len(), 1);
    let resource = last.resource_metrics[0].resource.as_ref().expect("a resource");
    assert_eq!(
        attribute(&resource.attributes, "service.name"),
        Some("temporal-rust-sdk"),
        "{resource:?}"
    );
    assert_eq!(attribute(&resource.attributes, "telemetry.sdk.language"), Some("rust"));
    let scopes: Vec<_> = last.resource_metrics[0]
        .scope_metrics
        .iter()
        .map(|s| s.scope.as_ref().expect("a scope"))
        .collect();
    assert_eq!(scopes.len(), 1, "{scopes:?}");
    assert_eq!(scopes[0].name, "temporal-rust-sdk");
    assert_eq!(scopes[0].version, env!("CARGO_PKG_VERSION"));

    worker.stop().await?;
    drop(client);
    // Shutting down pushes once more and returns once the collector has answered (the test
    // below proves it is that push, with no periodic one to mistake it for).
    let before = collector.requests().len();
    exporter.shutdown().await?;
    let after = collector.requests();
    assert!(after.len() > before, "the final flush arrived before shutdown returned");
    assert_eq!(
        counter(after.last().unwrap(), "temporal_workflow_completed", &tripler),
        Some(N)
    );
    Ok(())
}

/// With an interval far longer than the test, the only push is shutdown's: it must carry what
/// was recorded, and arrive before `shutdown` returns.
#[tokio::test]
async fn shutdown_pushes_the_last_batch() -> Result<(), Box<dyn std::error::Error>> {
    let (collector, address) = Collector::start().await;
    let exporter = MetricsExporter::builder()
        .otlp(format!("http://{address}"))
        .otlp_interval(Duration::from_secs(3600))
        .start()
        .await?;
    // Connecting makes one request (GetSystemInfo).
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    assert!(collector.requests().is_empty(), "no push before the interval");
    drop(client);
    exporter.shutdown().await?;
    let requests = collector.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let system_info = [("namespace", "default"), ("operation", "GetSystemInfo")];
    assert_eq!(counter(&requests[0], "temporal_request", &system_info), Some(1));
    assert_eq!(
        histogram_count(&requests[0], "temporal_request_latency", &system_info),
        Some(1)
    );
    Ok(())
}

/// The endpoint is checked when the exporter starts, not at the first push.
#[tokio::test]
async fn a_malformed_endpoint_is_refused_at_start() {
    let refused = MetricsExporter::builder().otlp("http://[::1").start().await;
    assert!(
        matches!(refused, Err(workflow_runtime::metrics::MetricsError::Otlp { .. })),
        "{refused:?}"
    );
}
