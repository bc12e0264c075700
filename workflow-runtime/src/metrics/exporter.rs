//! A meter provider with its exporters: a Prometheus scrape endpoint and OTLP pushes.

use super::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, header};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use std::convert::Infallible;
use std::net::SocketAddr;
#[cfg(feature = "otlp")]
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Why metrics could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The scrape endpoint's address could not be bound.
    #[error("cannot serve Prometheus metrics on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Prometheus exporter refused its configuration.
    #[error("the Prometheus exporter: {0}")]
    Prometheus(String),
    /// The OTLP exporter could not be built.
    #[error("the OTLP exporter for {endpoint}: {message}")]
    Otlp {
        /// The collector's endpoint.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// Neither a Prometheus endpoint nor an OTLP collector was asked for.
    #[error("nothing to export to: ask for `.prometheus(address)` or `.otlp(endpoint)`")]
    NoExporter,
    /// Flushing or stopping the pipeline failed.
    #[error("could not flush the metrics: {0}")]
    Shutdown(String),
}

/// Builds a [`MetricsExporter`].
#[derive(Debug, Default)]
pub struct MetricsExporterBuilder {
    prometheus: Option<String>,
    #[cfg(feature = "otlp")]
    otlp: Option<(String, Duration)>,
    labels: Vec<(String, String)>,
    durations_as_seconds: bool,
    counters_total_suffix: bool,
    unit_suffix: bool,
}

impl MetricsExporterBuilder {
    /// Serves the metrics in Prometheus' text format at `http://{address}/metrics` (port 0: a
    /// free port; [`MetricsExporter::prometheus_address`] tells which).
    pub fn prometheus(mut self, address: impl Into<String>) -> Self {
        self.prometheus = Some(address.into());
        self
    }

    /// Pushes the metrics over OTLP/gRPC to the collector at `endpoint` (such as
    /// `http://localhost:4317`) every 10 seconds.
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp = Some((endpoint.into(), Duration::from_secs(10)));
        self
    }

    /// Sets how often OTLP pushes (after [`otlp`](Self::otlp)).
    #[cfg(feature = "otlp")]
    pub fn otlp_interval(mut self, interval: Duration) -> Self {
        if let Some((_, every)) = &mut self.otlp {
            *every = interval;
        }
        self
    }

    /// Adds a label to every series.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Records durations in seconds instead of milliseconds (the core-based SDKs' default).
    pub fn durations_as_seconds(mut self, seconds: bool) -> Self {
        self.durations_as_seconds = seconds;
        self
    }

    /// Names Prometheus counters with the `_total` suffix (off by default, as in the core-based
    /// SDKs, whose dashboards query `temporal_request` and not `temporal_request_total`).
    pub fn counters_total_suffix(mut self, on: bool) -> Self {
        self.counters_total_suffix = on;
        self
    }

    /// Suffixes Prometheus histogram names with their unit (`_milliseconds`, `_seconds`); off
    /// by default, as in the core-based SDKs.
    pub fn unit_suffix(mut self, on: bool) -> Self {
        self.unit_suffix = on;
        self
    }

    /// Builds the pipeline and starts serving the scrape endpoint (on the current tokio
    /// runtime).
    pub async fn start(self) -> Result<MetricsExporter, MetricsError> {
        let mut provider = SdkMeterProvider::builder();
        let mut prometheus = None;
        if let Some(address) = &self.prometheus {
            let registry = prometheus::Registry::new();
            let mut exporter = opentelemetry_prometheus::exporter()
                .with_registry(registry.clone())
                .without_target_info()
                .scope_info_enabled(false);
            if !self.counters_total_suffix {
                exporter = exporter.without_counter_suffixes();
            }
            if !self.unit_suffix {
                exporter = exporter.without_units();
            }
            let exporter = exporter.build().map_err(|e| MetricsError::Prometheus(e.to_string()))?;
            provider = provider.with_reader(exporter);
            prometheus = Some(PrometheusEndpoint::bind(address, registry).await?);
        }
        #[cfg(feature = "otlp")]
        if let Some((endpoint, interval)) = &self.otlp {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| MetricsError::Otlp {
                    endpoint: endpoint.clone(),
                    message: e.to_string(),
                })?;
            let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter)
                .with_interval(*interval)
                .build();
            provider = provider
                .with_reader(reader)
                .with_resource(service_named(opentelemetry_sdk::Resource::builder().build()));
        } else if prometheus.is_none() {
            return Err(MetricsError::NoExporter);
        }
        #[cfg(not(feature = "otlp"))]
        if prometheus.is_none() {
            return Err(MetricsError::NoExporter);
        }
        let provider = provider.build();
        let mut metrics = Metrics::builder(&provider).durations_as_seconds(self.durations_as_seconds);
        for (key, value) in self.labels {
            metrics = metrics.label(key, value);
        }
        if let Some(p) = &prometheus {
            tracing::info!(url = %p.url(), "serving Temporal SDK metrics");
        }
        Ok(MetricsExporter {
            metrics: metrics.build(),
            provider,
            prometheus,
        })
    }
}

/// `service.name` when the environment names no service (`OTEL_SERVICE_NAME`, or `service.name`
/// in `OTEL_RESOURCE_ATTRIBUTES`), in the place of OpenTelemetry's `unknown_service:{executable}`,
/// as sdk-core puts `temporal-core-sdk` there.
#[cfg(feature = "otlp")]
const SERVICE_NAME: &str = "temporal-rust-sdk";

/// `resource` (OpenTelemetry's: the environment's attributes and the SDK's `telemetry.sdk.*`)
/// with [`SERVICE_NAME`] where it names no service.
#[cfg(feature = "otlp")]
fn service_named(resource: opentelemetry_sdk::Resource) -> opentelemetry_sdk::Resource {
    let key = opentelemetry::Key::from_static_str("service.name");
    let named = resource
        .get(&key)
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if named {
        return resource;
    }
    opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(
            resource
                .iter()
                .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone())),
        )
        .with_service_name(SERVICE_NAME)
        .build()
}

/// Temporal's SDK metrics, exported: an OpenTelemetry meter provider with a Prometheus scrape
/// endpoint and/or OTLP pushes, and the [`Metrics`] handle to give the client and workers.
/// Dropping it stops the scrape endpoint; [`shutdown`](Self::shutdown) also pushes the last
/// OTLP batch. Call it rather than dropping an OTLP exporter: a drop makes that push from the
/// dropping thread, which on a current-thread runtime blocks the runtime up to 5 s and loses
/// the batch (the push needs the runtime it blocks).
pub struct MetricsExporter {
    metrics: Metrics,
    provider: SdkMeterProvider,
    prometheus: Option<PrometheusEndpoint>,
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("prometheus", &self.prometheus_address())
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl MetricsExporter {
    /// A builder.
    pub fn builder() -> MetricsExporterBuilder {
        MetricsExporterBuilder::default()
    }

    /// The handle to record through (give it to `ClientOptions::metrics` and, to override the
    /// client's, to `WorkerBuilder::metrics`).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The meter provider, for instruments of your own.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// The address the scrape endpoint listens on.
    pub fn prometheus_address(&self) -> Option<SocketAddr> {
        self.prometheus.as_ref().map(|p| p.address)
    }

    /// The scrape endpoint's URL, `http://{address}/metrics`.
    pub fn prometheus_url(&self) -> Option<String> {
        self.prometheus.as_ref().map(PrometheusEndpoint::url)
    }

    /// What a scrape answers now.
    pub fn render_prometheus(&self) -> Option<String> {
        self.prometheus.as_ref().map(|p| render(&p.registry))
    }

    /// Stops the scrape endpoint and pushes the last OTLP batch.
    pub async fn shutdown(mut self) -> Result<(), MetricsError> {
        if let Some(p) = self.prometheus.take() {
            p.server.abort();
        }
        let provider = self.provider.clone();
        // The OTLP push blocks its thread until the collector answers.
        tokio::task::spawn_blocking(move || provider.shutdown())
            .await
            .map_err(|e| MetricsError::Shutdown(e.to_string()))?
            .map_err(|e| MetricsError::Shutdown(e.to_string()))
    }
}

impl From<&MetricsExporter> for Metrics {
    fn from(exporter: &MetricsExporter) -> Self {
        exporter.metrics()
    }
}

struct PrometheusEndpoint {
    address: SocketAddr,
    registry: prometheus::Registry,
    server: JoinHandle<()>,
}

impl Drop for PrometheusEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PrometheusEndpoint {
    async fn bind(address: &str, registry: prometheus::Registry) -> Result<Self, MetricsError> {
        let bind_error = |source| MetricsError::Bind {
            address: address.to_string(),
            source,
        };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let server = tokio::spawn(serve(listener, registry.clone()));
        Ok(PrometheusEndpoint {
            address: bound,
            registry,
            server,
        })
    }

    fn url(&self) -> String {
        format!("http://{}/metrics", self.address)
    }
}

/// Answers scrapes until aborted.
async fn serve(listener: TcpListener, registry: prometheus::Registry) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, typically: try again shortly.
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = answer(&registry, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "metrics endpoint: connection ended with an error");
            }
        });
    }
}

fn answer<B>(registry: &prometheus::Registry, request: &Request<B>) -> Response<Full<Bytes>> {
    let status = |code: StatusCode, text: &'static str| {
        let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *response.status_mut() = code;
        response
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return status(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    if !matches!(request.uri().path(), "/metrics" | "/") {
        return status(StatusCode::NOT_FOUND, "metrics are at /metrics\n");
    }
    let mut response = Response::new(Full::new(Bytes::from(render(registry))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(prometheus::TEXT_FORMAT),
    );
    response
}

fn render(registry: &prometheus::Registry) -> String {
    prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap_or_else(|e| format!("# the metrics could not be encoded: {e}\n"))
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use super::*;
    use opentelemetry::{Key, Value};
    use opentelemetry_sdk::Resource;

    fn service(resource: &Resource) -> Option<Value> {
        resource.get(&Key::from_static_str("service.name"))
    }

    #[test]
    fn an_unnamed_service_is_the_sdk() {
        let unnamed = Resource::builder_empty()
            .with_service_name("unknown_service:orders-worker")
            .with_attribute(opentelemetry::KeyValue::new("telemetry.sdk.language", "rust"))
            .build();
        let named = service_named(unnamed);
        assert_eq!(service(&named), Some(Value::from(SERVICE_NAME)));
        assert_eq!(
            named.get(&Key::from_static_str("telemetry.sdk.language")),
            Some(Value::from("rust"))
        );
        let orders = Resource::builder_empty().with_service_name("orders").build();
        assert_eq!(service(&service_named(orders)), Some(Value::from("orders")));
    }
}
