//! Temporal's standard SDK metrics (the `metrics` feature): the names, units and labels of the
//! core-based SDKs (Python, TypeScript, .NET), so the community Grafana dashboards for Temporal
//! SDKs work unchanged.
//!
//! The client counts and times its requests; a worker records its polls, task slots, sticky
//! cache, workflow tasks, workflow outcomes and activities. Both record through a [`Metrics`]
//! handle over the OpenTelemetry metrics API. A [`MetricsExporter`] makes one and exports it:
//! a Prometheus scrape endpoint the process serves, and (the `otlp` feature) OTLP pushes to a
//! collector. A handle over your own `MeterProvider` works too: [`Metrics::new`].
//!
//! ```no_run
//! use workflow_runtime::metrics::MetricsExporter;
//! use workflow_runtime::prelude::*;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = MetricsExporter::builder().prometheus("127.0.0.1:9464").start().await?;
//! println!("metrics at {}", exporter.prometheus_url().unwrap());
//! let client = Client::connect(ClientOptions::new("127.0.0.1:7233").metrics(&exporter)).await?;
//! let worker = Worker::builder(&client, "orders") // records through the client's metrics
//!     // .workflow::<OrderWorkflow>()
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! The metrics, their labels and units are listed in the README's "Metrics" section.

mod exporter;

pub use crate::client::metrics::{DurationHistogram, Metrics, MetricsBuilder, PREFIX};
pub use exporter::{MetricsError, MetricsExporter, MetricsExporterBuilder};
