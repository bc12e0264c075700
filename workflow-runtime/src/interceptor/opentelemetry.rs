//! [`OpenTelemetryTracing`]: one trace across clients, workflows and activities, whichever SDK
//! each runs on (feature `opentelemetry`).

use super::{
    ActivityInbound, ActivityInterceptFuture, ActivityNext, InboundKind, NexusInbound, NexusInterceptFuture, NexusNext,
    OutboundKind, WorkerInterceptor, WorkflowInbound, WorkflowInterceptor, WorkflowOutbound,
};
use crate::activity::ActivityError;
use crate::client::headers::Headers;
use crate::client::interceptor::{ClientCall, ClientInterceptor, ClientNext, ClientOperation, InterceptFuture};
use crate::workflow::WorkflowInfo;
use opentelemetry::context::FutureExt as _;
use opentelemetry::global::BoxedTracer;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Link, Span as _, SpanKind, Status, TraceContextExt as _, Tracer};
use opentelemetry::{Context, KeyValue};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// The header the trace context travels in, as every official SDK's tracing interceptor
/// names it: a JSON object of the propagator's fields (`{"traceparent": "00-…"}`).
pub const TRACE_HEADER: &str = "_tracer-data";

/// Traces clients, workflows and activities with OpenTelemetry, the way the official SDKs'
/// tracing interceptors do, so one trace runs from a client in one language through a
/// workflow in another to an activity in a third.
///
/// Register the same value on the client and on the worker:
///
/// ```
/// use workflow_runtime::interceptor::OpenTelemetryTracing;
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let tracing = OpenTelemetryTracing::new(opentelemetry::global::tracer("orders"));
/// let options = workflow_runtime::ClientOptions::new("127.0.0.1:7233").interceptor(tracing.clone());
/// let client = workflow_runtime::Client::connect(options).await?;
/// let worker = workflow_runtime::worker::Worker::builder(&client, "orders").interceptor(tracing);
/// # Ok(()) }
/// ```
///
/// What it records, with the official SDKs' names and attributes (`temporalWorkflowID`,
/// `temporalRunID`, `temporalActivityID`, `temporalUpdateID`):
///
/// - on the client, a span around each call — `StartWorkflow:<type>`,
///   `SignalWithStartWorkflow:<type>`, `SignalWorkflow:<signal>`, `QueryWorkflow:<query>`,
///   `StartWorkflowUpdate:<update>`, `StartUpdateWithStartWorkflow:<type>` — whose context
///   the call carries in the [`TRACE_HEADER`];
/// - in a workflow, spans without duration at workflow time, only when the code runs live
///   (never again on replay) and only under a traced start (unless
///   [`always_create_workflow_spans`](Self::always_create_workflow_spans)): `RunWorkflow:<type>`,
///   `HandleSignal:<signal>`, `HandleQuery:<query>` (under the query's own context),
///   `ValidateUpdate:<update>`, `HandleUpdate:<update>`, `StartActivity:<type>`,
///   `StartChildWorkflow:<type>`, `SignalExternalWorkflow:<signal>` and
///   `CompleteWorkflow:<type>` (with the error when the run fails);
/// - around each activity attempt, `RunActivity:<type>`, under the context its schedule
///   carried, current while the activity runs (spans the activity makes nest under it);
/// - for a Nexus operation a workflow calls, `StartNexusOperation:<service>/<operation>`, its
///   context written into the operation's Nexus headers (text fields, as the Nexus protocol
///   carries them); and around each operation start this worker serves,
///   `RunStartNexusOperationHandler:<service>/<operation>` under the caller's context.
///
/// The context is written with a W3C trace-context propagator unless another is given.
#[derive(Clone)]
pub struct OpenTelemetryTracing {
    tracer: Arc<BoxedTracer>,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    always_create_workflow_spans: bool,
}

impl std::fmt::Debug for OpenTelemetryTracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenTelemetryTracing")
            .field("always_create_workflow_spans", &self.always_create_workflow_spans)
            .finish_non_exhaustive()
    }
}

impl OpenTelemetryTracing {
    /// Traces with `tracer` (e.g. `provider.tracer("my-service")` or
    /// `opentelemetry::global::tracer(…)`).
    pub fn new<T>(tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        OpenTelemetryTracing {
            tracer: Arc::new(BoxedTracer::new(Box::new(tracer))),
            propagator: Arc::new(opentelemetry_sdk::propagation::TraceContextPropagator::new()),
            always_create_workflow_spans: false,
        }
    }

    /// Writes and reads the context with `propagator` instead of W3C trace context (both
    /// sides of a call must agree).
    pub fn propagator(mut self, propagator: impl TextMapPropagator + Send + Sync + 'static) -> Self {
        self.propagator = Arc::new(propagator);
        self
    }

    /// Creates workflow spans even for a run whose start carried no trace context (they
    /// start a trace of their own). Off by default, as in the other SDKs.
    pub fn always_create_workflow_spans(mut self, always: bool) -> Self {
        self.always_create_workflow_spans = always;
        self
    }

    /// The context `headers` carry, if any.
    fn extract(&self, headers: &Headers) -> Option<Context> {
        let carrier: HashMap<String, String> = headers.get(TRACE_HEADER).ok().flatten()?;
        (!carrier.is_empty()).then(|| self.propagator.extract(&carrier))
    }

    /// Writes `cx` into `headers`.
    fn inject(&self, cx: &Context, headers: &mut Headers) {
        let mut carrier = HashMap::new();
        self.propagator.inject_context(cx, &mut carrier);
        if !carrier.is_empty() {
            // A map of strings always encodes.
            let _ = headers.insert(TRACE_HEADER, &carrier);
        }
    }

    /// A span of `kind` named `name` under `parent`, not ended yet.
    fn start(&self, name: String, kind: SpanKind, attributes: Vec<KeyValue>, parent: &Context) -> Context {
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&*self.tracer, parent);
        parent.with_span(span)
    }
}

impl ClientInterceptor for OpenTelemetryTracing {
    fn intercept<'a>(&'a self, mut call: ClientCall, next: ClientNext<'a>) -> InterceptFuture<'a> {
        let workflow_type = call.workflow_type.clone().unwrap_or_default();
        let name = call.name.clone().unwrap_or_default();
        let span_name = match call.operation {
            ClientOperation::StartWorkflow => format!("StartWorkflow:{workflow_type}"),
            ClientOperation::SignalWithStartWorkflow => format!("SignalWithStartWorkflow:{workflow_type}"),
            ClientOperation::SignalWorkflow => format!("SignalWorkflow:{name}"),
            ClientOperation::QueryWorkflow => format!("QueryWorkflow:{name}"),
            ClientOperation::UpdateWorkflow => format!("StartWorkflowUpdate:{name}"),
            ClientOperation::UpdateWithStartWorkflow => format!("StartUpdateWithStartWorkflow:{workflow_type}"),
            // Cancel and terminate carry no headers; the other SDKs trace neither.
            _ => return next.run(call),
        };
        let mut attributes = vec![KeyValue::new("temporalWorkflowID", call.workflow_id.clone())];
        if let Some(update_id) = &call.update_id {
            attributes.push(KeyValue::new("temporalUpdateID", update_id.clone()));
        }
        let cx = self.start(span_name, SpanKind::Client, attributes, &Context::current());
        self.inject(&cx, &mut call.headers);
        Box::pin(async move {
            let out = next.run(call).with_context(cx.clone()).await;
            let span = cx.span();
            if let Err(e) = &out {
                span.set_status(Status::error(e.to_string()));
            }
            span.end();
            out
        })
    }
}

impl WorkerInterceptor for OpenTelemetryTracing {
    fn intercept_nexus_operation<'a>(&'a self, call: NexusInbound, next: NexusNext<'a>) -> NexusInterceptFuture<'a> {
        // Nexus headers are text: the caller's context is the propagator's own fields there.
        let parent = self.propagator.extract(&call.ctx.headers);
        let cx = self.start(
            format!(
                "RunStartNexusOperationHandler:{}/{}",
                call.ctx.service, call.ctx.operation
            ),
            SpanKind::Server,
            Vec::new(),
            &parent,
        );
        Box::pin(async move {
            let out = next.run(call).with_context(cx.clone()).await;
            let span = cx.span();
            if let Err(e) = &out {
                span.set_status(Status::error(e.to_string()));
            }
            span.end();
            out
        })
    }

    fn workflow(&self, info: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        Some(Box::new(RunTracing {
            workflow: self.extract(&info.headers),
            tracing: self.clone(),
        }))
    }

    fn intercept_activity<'a>(&'a self, call: ActivityInbound, next: ActivityNext<'a>) -> ActivityInterceptFuture<'a> {
        let info = &call.info;
        let attributes = vec![
            KeyValue::new("temporalActivityID", info.activity_id.clone()),
            KeyValue::new("temporalWorkflowID", info.workflow_id.clone()),
            KeyValue::new("temporalRunID", info.run_id.clone()),
        ];
        let parent = self.extract(&info.headers).unwrap_or_else(Context::current);
        let cx = self.start(
            format!("RunActivity:{}", info.activity_type),
            SpanKind::Server,
            attributes,
            &parent,
        );
        Box::pin(async move {
            let out = next.run(call).with_context(cx.clone()).await;
            let span = cx.span();
            if let Err(ActivityError::Failed(failure)) = &out {
                span.set_status(Status::error(failure.message.clone()));
            }
            span.end();
            out
        })
    }
}

/// The tracing of one run: the context its start carried.
struct RunTracing {
    tracing: OpenTelemetryTracing,
    workflow: Option<Context>,
}

/// One span a run records.
struct WorkflowSpan<'a> {
    name: String,
    kind: SpanKind,
    /// Its parent: the run's context when `None`.
    parent: Option<&'a Context>,
    /// A context it links to (the sender's, for signals and updates).
    link: Option<&'a Context>,
    error: Option<String>,
    update_id: Option<&'a str>,
}

impl<'a> WorkflowSpan<'a> {
    fn new(name: String, kind: SpanKind) -> Self {
        WorkflowSpan {
            name,
            kind,
            parent: None,
            link: None,
            error: None,
            update_id: None,
        }
    }
}

impl RunTracing {
    /// Records `span` without duration at workflow time `now`; returns its context to hand
    /// on, or `None` when the run is not traced.
    fn record(&self, span: WorkflowSpan<'_>, info: &WorkflowInfo, now: SystemTime) -> Option<Context> {
        let parent = match span.parent.or(self.workflow.as_ref()) {
            Some(parent) => parent.clone(),
            None if self.tracing.always_create_workflow_spans => Context::new(),
            None => return None,
        };
        let mut attributes = vec![
            KeyValue::new("temporalWorkflowID", info.workflow_id.clone()),
            KeyValue::new("temporalRunID", info.run_id.clone()),
        ];
        if let Some(update_id) = span.update_id {
            attributes.push(KeyValue::new("temporalUpdateID", update_id.to_string()));
        }
        let links = span
            .link
            .map(|cx| cx.span().span_context().clone())
            .filter(|sc| sc.is_valid())
            .map(|sc| vec![Link::with_context(sc)])
            .unwrap_or_default();
        let tracer = &*self.tracing.tracer;
        let mut recorded = tracer
            .span_builder(span.name)
            .with_kind(span.kind)
            .with_attributes(attributes)
            .with_start_time(now)
            .with_links(links)
            .start_with_context(tracer, &parent);
        if let Some(error) = span.error {
            recorded.set_status(Status::error(error));
        }
        let context = recorded.span_context().clone();
        recorded.end_with_timestamp(now);
        Some(parent.with_remote_span_context(context))
    }
}

impl WorkflowInterceptor for RunTracing {
    fn inbound(&mut self, call: &WorkflowInbound<'_>) {
        if call.replaying {
            return;
        }
        let sender = self.tracing.extract(call.headers);
        let name = call.name;
        let span = match call.kind {
            InboundKind::Run => WorkflowSpan::new(format!("RunWorkflow:{name}"), SpanKind::Server),
            InboundKind::Signal => WorkflowSpan {
                link: sender.as_ref(),
                ..WorkflowSpan::new(format!("HandleSignal:{name}"), SpanKind::Server)
            },
            // Traced only when the query carries a context, under it.
            InboundKind::Query => match &sender {
                Some(sender) => WorkflowSpan {
                    parent: Some(sender),
                    link: self.workflow.as_ref(),
                    ..WorkflowSpan::new(format!("HandleQuery:{name}"), SpanKind::Server)
                },
                None => return,
            },
            InboundKind::ValidateUpdate | InboundKind::Update => {
                let verb = if call.kind == InboundKind::Update {
                    "HandleUpdate"
                } else {
                    "ValidateUpdate"
                };
                WorkflowSpan {
                    link: sender.as_ref(),
                    update_id: call.update_id,
                    ..WorkflowSpan::new(format!("{verb}:{name}"), SpanKind::Server)
                }
            }
        };
        self.record(span, call.info, call.now);
    }

    fn outbound(&mut self, call: &mut WorkflowOutbound<'_>) {
        if call.replaying {
            return;
        }
        let complete = || format!("CompleteWorkflow:{}", call.info.workflow_type);
        let span = match &call.kind {
            OutboundKind::Activity { activity_type, .. } | OutboundKind::LocalActivity { activity_type } => {
                WorkflowSpan::new(format!("StartActivity:{activity_type}"), SpanKind::Client)
            }
            OutboundKind::Child { workflow_type, .. } => {
                WorkflowSpan::new(format!("StartChildWorkflow:{workflow_type}"), SpanKind::Client)
            }
            OutboundKind::SignalExternal { signal, .. } => {
                WorkflowSpan::new(format!("SignalExternalWorkflow:{signal}"), SpanKind::Client)
            }
            OutboundKind::NexusOperation { service, operation, .. } => {
                WorkflowSpan::new(format!("StartNexusOperation:{service}/{operation}"), SpanKind::Client)
            }
            OutboundKind::ContinueAsNew { .. } => {
                // The next run goes on under the same context.
                if let (Some(cx), Some(headers)) = (&self.workflow, call.headers.as_deref_mut()) {
                    self.tracing.inject(cx, headers);
                }
                return;
            }
            OutboundKind::Complete => WorkflowSpan::new(complete(), SpanKind::Internal),
            OutboundKind::Fail { failure } => WorkflowSpan {
                error: Some(failure.message.clone()),
                ..WorkflowSpan::new(complete(), SpanKind::Internal)
            },
            OutboundKind::Cancel => WorkflowSpan {
                error: Some("workflow canceled".to_string()),
                ..WorkflowSpan::new(complete(), SpanKind::Internal)
            },
            _ => return,
        };
        let Some(cx) = self.record(span, call.info, call.now) else {
            return;
        };
        if let Some(headers) = call.headers.as_deref_mut() {
            self.tracing.inject(&cx, headers);
        }
        // Nexus headers are text: the context goes in as the propagator's own fields.
        if let Some(headers) = call.nexus_headers.as_deref_mut() {
            self.tracing.propagator.inject_context(&cx, headers);
        }
    }
}
