//! One OpenTelemetry trace across SDKs: a Python client (with the Python SDK's
//! `TracingInterceptor`) starts, queries and signals a Rust workflow (with
//! `OpenTelemetryTracing`), which runs a Rust activity and a Python activity. Both sides export
//! their spans in memory; the test checks they form one trace with the parents and names the
//! official SDKs use, and that replays (the worker keeps no cache) add no spans.

#[path = "python/peer.rs"]
mod peer;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde::Deserialize;
use std::collections::HashMap;
use workflow_runtime::interceptor::OpenTelemetryTracing;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, dev_server_client, unique_id as unique};

/// The Python worker's activity, declared here by its wire name.
struct PyShout;

impl ActivityDefinition for PyShout {
    const NAME: &'static str = "py_shout";
    type Input = (String,);
    type Output = String;
}

#[activity(start_to_close_timeout = "10s")]
async fn rust_weigh(ctx: ActivityContext, order: String) -> Result<u64, ActivityError> {
    // The attempt's span is current while the activity runs.
    let current = opentelemetry::Context::current();
    assert!(
        opentelemetry::trace::TraceContextExt::has_active_span(&current),
        "RunActivity is current in {}",
        ctx.info().activity_type
    );
    Ok(order.len() as u64)
}

#[workflow]
#[derive(Default)]
pub struct TracedOrder {
    approved: bool,
}

#[workflow(name = "TracedOrder")]
impl TracedOrder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, customer: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.approved).await?;
        let grams = ctx.activity(rust_weigh, customer.clone()).await?;
        let shouted = ctx
            .activity(PyShout, customer)
            .task_queue(format!("{}-python", ctx.info().task_queue))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        Ok(format!("{shouted} {grams}"))
    }

    #[signal]
    fn approve(&mut self) {
        self.approved = true;
    }

    #[query]
    fn status(&self) -> String {
        if self.approved { "approved" } else { "waiting" }.to_string()
    }
}

/// Tracing whose spans are kept in memory, by a tracer named `name`; the provider must live
/// as long as the tracing does (dropped, it stops recording).
fn traced(name: &'static str) -> (OpenTelemetryTracing, InMemorySpanExporter, SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (OpenTelemetryTracing::new(provider.tracer(name)), exporter, provider)
}

/// A span as both sides report it.
#[derive(Debug, Clone, Deserialize)]
struct Seen {
    name: String,
    trace_id: String,
    span_id: String,
    parent_id: Option<String>,
    kind: String,
    attributes: HashMap<String, serde_json::Value>,
    links: Vec<String>,
}

impl From<&SpanData> for Seen {
    fn from(span: &SpanData) -> Self {
        let parent = span.parent_span_id;
        Seen {
            name: span.name.to_string(),
            trace_id: span.span_context.trace_id().to_string(),
            span_id: span.span_context.span_id().to_string(),
            parent_id: (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string()),
            kind: format!("{:?}", span.span_kind).to_uppercase(),
            attributes: span
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), serde_json::Value::String(kv.value.to_string())))
                .collect(),
            links: span
                .links
                .iter()
                .map(|l| l.span_context.span_id().to_string())
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct PythonSide {
    result: String,
    status: String,
    spans: Vec<Seen>,
}

/// The one span named `name`.
fn one<'a>(spans: &'a [Seen], name: &str) -> &'a Seen {
    let found: Vec<&Seen> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` span in {:#?}", names(spans));
    found[0]
}

fn names(spans: &[Seen]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn one_trace_runs_from_a_python_client_through_a_rust_workflow_to_a_python_activity() {
    let (tracing, exporter, _provider) = traced("rust-worker");
    let client = dev_server_client().await.unwrap();
    let queue = unique("traced");
    let worker = Worker::builder(&client, &queue)
        .workflow::<TracedOrder>()
        .activity(rust_weigh)
        .sticky_cache_size(0)
        .interceptor(tracing)
        .build()
        .unwrap();
    let running = worker.spawn();
    let workflow_id = unique("traced-order");
    let out = peer::python(
        "tracing.py",
        &[
            "workflow",
            &DevServer::shared_address(),
            &queue,
            &format!("{queue}-python"),
            &workflow_id,
        ],
    )
    .await;
    running.stop().await.unwrap();
    let python: PythonSide = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(python.result, "ADA 3");
    assert_eq!(python.status, "waiting");
    let rust: Vec<Seen> = exporter.get_finished_spans().unwrap().iter().map(Seen::from).collect();

    // The Python client's spans start the trace, under the caller's own span.
    let request = one(&python.spans, "place-order");
    let start = one(&python.spans, "StartWorkflow:TracedOrder");
    assert_eq!(start.parent_id.as_deref(), Some(request.span_id.as_str()));
    assert_eq!(start.kind, "CLIENT");
    assert_eq!(start.attributes["temporalWorkflowID"], workflow_id.as_str());
    let trace = &start.trace_id;
    let query = one(&python.spans, "QueryWorkflow:status");
    let signal = one(&python.spans, "SignalWorkflow:approve");

    // Every Rust span belongs to that trace, and replays added none.
    for span in &rust {
        assert_eq!(&span.trace_id, trace, "{span:#?}");
    }
    let mut rust_names = names(&rust);
    rust_names.sort();
    assert_eq!(
        rust_names,
        [
            "CompleteWorkflow:TracedOrder",
            "HandleQuery:status",
            "HandleSignal:approve",
            "RunActivity:rust_weigh",
            "RunWorkflow:TracedOrder",
            "StartActivity:py_shout",
            "StartActivity:rust_weigh",
        ]
    );
    let child_of = |name: &str, parent: &Seen| {
        let span = one(&rust, name);
        assert_eq!(
            span.parent_id.as_deref(),
            Some(parent.span_id.as_str()),
            "{name}: {span:#?}"
        );
        span.clone()
    };
    // The workflow's spans hang off the span that started it, as in the official SDKs.
    let run = child_of("RunWorkflow:TracedOrder", start);
    assert_eq!(run.kind, "SERVER");
    assert_eq!(run.attributes["temporalWorkflowID"], workflow_id.as_str());
    assert!(run.attributes.contains_key("temporalRunID"));
    child_of("CompleteWorkflow:TracedOrder", start);
    let handled = child_of("HandleSignal:approve", start);
    assert_eq!(
        handled.links,
        std::slice::from_ref(&signal.span_id),
        "linked to the signal's sender"
    );
    // A query's span hangs off the query's own span.
    child_of("HandleQuery:status", query);
    // Activities: scheduled under the run, run under their schedule, whichever SDK runs them.
    let schedule_rust = child_of("StartActivity:rust_weigh", start);
    assert_eq!(schedule_rust.kind, "CLIENT");
    let run_rust = child_of("RunActivity:rust_weigh", &schedule_rust);
    assert_eq!(run_rust.kind, "SERVER");
    let schedule_python = child_of("StartActivity:py_shout", start);
    let run_python = one(&python.spans, "RunActivity:py_shout");
    assert_eq!(run_python.trace_id, *trace);
    assert_eq!(
        run_python.parent_id.as_deref(),
        Some(schedule_python.span_id.as_str()),
        "the Python activity runs under the Rust workflow's StartActivity"
    );
}

#[activity(start_to_close_timeout = "5s", retry(maximum_attempts = 1))]
async fn out_of_stock(item: String) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable(
        format!("{item} is out of stock"),
        "OutOfStock",
    ))
}

#[workflow]
#[derive(Default)]
pub struct DoomedOrder;

#[workflow(name = "DoomedOrder")]
impl DoomedOrder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<()> {
        ctx.activity(out_of_stock, item).await?;
        Ok(())
    }
}

/// Errors are recorded on the spans: the failed activity attempt's, and the failed run's
/// `CompleteWorkflow` (here in the test environment, traced from a Rust client).
#[tokio::test]
async fn a_failed_activity_and_a_failed_run_are_recorded_as_errors() {
    use opentelemetry::trace::Status;
    let (tracing, exporter, _provider) = traced("rust");
    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let options = env.client().options().clone().interceptor(tracing.clone());
    let client = Client::connect(options).await.unwrap();
    let worker = Worker::builder(&client, "doomed")
        .workflow::<DoomedOrder>()
        .activity(out_of_stock)
        .interceptor(tracing)
        .build()
        .unwrap();
    let running = worker.spawn();
    let outcome = DoomedOrder::execute(&client, StartOptions::new("doomed-1", "doomed"), "tea".into()).await;
    running.stop().await.unwrap();
    assert!(outcome.is_err());
    let spans = exporter.get_finished_spans().unwrap();
    let status = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no `{name}` span"))
            .status
            .clone()
    };
    assert!(
        matches!(status("RunActivity:out_of_stock"), Status::Error { description } if description.contains("tea is out of stock"))
    );
    assert!(matches!(status("CompleteWorkflow:DoomedOrder"), Status::Error { .. }));
    assert_eq!(
        status("StartWorkflow:DoomedOrder"),
        Status::Unset,
        "the start itself succeeded"
    );
}

/// `inventory.reserve`, served by the Python peer (tests/python/nexus.py).
struct Reserve;

impl workflow_runtime::nexus::NexusOperation for Reserve {
    const SERVICE: &'static str = "inventory";
    const NAME: &'static str = "reserve";
    type Input = String;
    type Output = u64;
}

#[workflow]
#[derive(Default)]
pub struct TracedShopper;

#[workflow(name = "TracedShopper")]
impl TracedShopper {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<String> {
        let left = ctx
            .nexus::<Reserve>(endpoint, "tea".to_string())
            .schedule_to_close_timeout(Duration::from_secs(20))
            .await?;
        Ok(format!("tea reserved: {left}"))
    }
}

/// The trace goes on through a Nexus operation: the Python handler's span hangs off the Rust
/// workflow's `StartNexusOperation`, whose context travelled in the Nexus headers.
#[tokio::test]
async fn the_trace_runs_on_through_a_nexus_operation_to_a_python_handler() {
    let (tracing, exporter, _provider) = traced("rust-worker");
    let client = dev_server_client().await.unwrap();
    let queue = unique("traced-nexus");
    let handlers = format!("{queue}-python");
    let endpoint = unique("traced-inventory").replace('.', "-");
    client.create_nexus_endpoint(&endpoint, &handlers).await.unwrap();
    let worker = Worker::builder(&client, &queue)
        .workflow::<TracedShopper>()
        .interceptor(tracing)
        .build()
        .unwrap();
    let running = worker.spawn();
    let args = [
        "nexus",
        &DevServer::shared_address(),
        &queue,
        &handlers,
        &endpoint,
        &unique("traced-shopper"),
    ];
    let out = peer::python("tracing.py", &args).await;
    running.stop().await.unwrap();
    let python: PythonSide = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(python.result, "tea reserved: 3");
    let rust: Vec<Seen> = exporter.get_finished_spans().unwrap().iter().map(Seen::from).collect();
    let start = one(&python.spans, "StartWorkflow:TracedShopper");
    let scheduled = one(&rust, "StartNexusOperation:inventory/reserve");
    assert_eq!(scheduled.parent_id.as_deref(), Some(start.span_id.as_str()));
    assert_eq!(scheduled.kind, "CLIENT");
    let handled = one(&python.spans, "RunStartNexusOperationHandler:inventory/reserve");
    assert_eq!(handled.trace_id, start.trace_id);
    assert_eq!(
        handled.parent_id.as_deref(),
        Some(scheduled.span_id.as_str()),
        "the Python handler runs under the Rust workflow's StartNexusOperation"
    );
}

/// `inventory.restock`, answered at once here (the Python caller does not mind how).
struct Restock;

impl workflow_runtime::nexus::NexusOperation for Restock {
    const SERVICE: &'static str = "inventory";
    const NAME: &'static str = "restock";
    type Input = (String, u64);
    type Output = String;
}

/// A Python workflow's Nexus calls reach a traced Rust handler: each handler span hangs off
/// the Python `StartNexusOperation` span of its call.
#[tokio::test]
async fn a_python_workflows_nexus_calls_are_traced_into_the_rust_handler() {
    use workflow_runtime::nexus::NexusError;
    let (tracing, exporter, _provider) = traced("rust-handler");
    let client = dev_server_client().await.unwrap();
    let handlers = unique("traced-handlers");
    let endpoint = unique("traced-rs-inventory").replace('.', "-");
    client.create_nexus_endpoint(&endpoint, &handlers).await.unwrap();
    let worker = Worker::builder(&client, &handlers)
        .nexus_operation::<Reserve, _, _>(|_, item: String| async move {
            match item.as_str() {
                "" => Err(NexusError::bad_request("an item is required")),
                "unicorn" => Err(NexusError::failed("unicorns are out of stock")),
                _ => Ok(item.len() as u64),
            }
        })
        .nexus_operation::<Restock, _, _>(|_, (item, count): (String, u64)| async move {
            Ok(format!("{count} {item} restocked"))
        })
        .interceptor(tracing)
        .build()
        .unwrap();
    let running = worker.spawn();
    let args = [
        "nexus-caller",
        &DevServer::shared_address(),
        &unique("py-traced-callers"),
        &endpoint,
        &unique("py-traced-shopper"),
    ];
    let out = peer::python("tracing.py", &args).await;
    running.stop().await.unwrap();
    let python: PythonSide = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(python.result.contains("12 tea restocked"), "{}", python.result);
    let rust: Vec<Seen> = exporter.get_finished_spans().unwrap().iter().map(Seen::from).collect();
    let callers: Vec<&Seen> = python
        .spans
        .iter()
        .filter(|s| s.name.starts_with("StartNexusOperation:inventory/"))
        .collect();
    let handled: Vec<&Seen> = rust
        .iter()
        .filter(|s| s.name.starts_with("RunStartNexusOperationHandler:inventory/"))
        .collect();
    // Three reserves and a restock were served (the unknown `audit` never reached a handler).
    assert_eq!(handled.len(), 4, "{:#?}", names(&rust));
    for span in handled {
        let caller = callers
            .iter()
            .find(|c| Some(c.span_id.as_str()) == span.parent_id.as_deref())
            .unwrap_or_else(|| panic!("{} has no Python caller span as parent", span.name));
        assert_eq!(span.trace_id, caller.trace_id);
        assert_eq!(
            span.name.trim_start_matches("RunStartNexusOperationHandler:"),
            caller.name.trim_start_matches("StartNexusOperation:")
        );
    }
    let reserves = rust
        .iter()
        .filter(|s| s.name == "RunStartNexusOperationHandler:inventory/reserve")
        .count();
    assert_eq!(reserves, 3);
}
