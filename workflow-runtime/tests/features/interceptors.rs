//! Interceptors and headers: a client interceptor tags every call with a header; the
//! workflow reads it from its start, `PropagateHeaders` carries it to an activity, a local
//! activity and a child; a recording worker interceptor sees each call come in and go out once
//! live (replays say they are replays) and wraps each activity attempt.

use crate::connect;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workflow_runtime::client::interceptor::{ClientCall, ClientInterceptor, ClientNext, InterceptFuture};
use workflow_runtime::interceptor::{
    ActivityInbound, ActivityInterceptFuture, ActivityNext, OutboundKind, PropagateHeaders, WorkerInterceptor,
    WorkflowInbound, WorkflowInterceptor, WorkflowOutbound,
};
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;
use workflow_runtime::workflow::WorkflowInfo;

/// Adds the `tenant` header to every call, and notes each call's operation.
struct Tenant {
    calls: Arc<Mutex<Vec<String>>>,
}

impl ClientInterceptor for Tenant {
    fn intercept<'a>(&'a self, mut call: ClientCall, next: ClientNext<'a>) -> InterceptFuture<'a> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(format!("{:?}", call.operation));
            call.headers.insert("tenant", "acme")?;
            next.run(call).await
        })
    }
}

/// What a worker's interceptors saw: each live inbound and outbound call with the `tenant`
/// header it carried, the number of replayed ones, and each activity attempt.
#[derive(Default)]
struct Seen {
    live: Vec<String>,
    replayed: usize,
    attempts: Vec<String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

impl WorkerInterceptor for Recorder {
    fn workflow(&self, _: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        Some(Box::new(self.clone()))
    }

    fn intercept_activity<'a>(&'a self, call: ActivityInbound, next: ActivityNext<'a>) -> ActivityInterceptFuture<'a> {
        Box::pin(async move {
            let name = format!(
                "{}{}",
                call.info.activity_type,
                if call.local { " (local)" } else { "" }
            );
            let out = next.run(call).await;
            self.0.lock().unwrap().attempts.push(format!("{name}: {}", out.is_ok()));
            out
        })
    }
}

impl WorkflowInterceptor for Recorder {
    fn inbound(&mut self, call: &WorkflowInbound<'_>) {
        let tenant: Option<String> = call.headers.get("tenant").unwrap();
        let mut seen = self.0.lock().unwrap();
        if call.replaying {
            seen.replayed += 1;
        } else {
            seen.live.push(format!("in {:?} {} {tenant:?}", call.kind, call.name));
        }
    }

    fn outbound(&mut self, call: &mut WorkflowOutbound<'_>) {
        let kind = match &call.kind {
            OutboundKind::Activity { activity_type, .. } => format!("Activity {activity_type}"),
            OutboundKind::LocalActivity { activity_type } => format!("LocalActivity {activity_type}"),
            OutboundKind::Child { workflow_type, .. } => format!("Child {workflow_type}"),
            OutboundKind::Timer { .. } => "Timer".into(),
            other => format!("{other:?}"),
        };
        let mut seen = self.0.lock().unwrap();
        if call.replaying {
            seen.replayed += 1;
        } else {
            seen.live.push(format!("out {kind}"));
        }
    }
}

#[activity(start_to_close_timeout = "10s")]
async fn tenant_of_activity(ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok(ctx
        .header::<String>("tenant")
        .map_err(ActivityError::from_error)?
        .unwrap_or_default())
}

#[workflow]
#[derive(Default)]
pub struct TenantChild;

#[workflow]
impl TenantChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(ctx.header::<String>("tenant")?.unwrap_or_default())
    }
}

#[workflow]
#[derive(Default)]
pub struct Tenanted {
    go: bool,
}

#[workflow]
impl Tenanted {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        let own = ctx.header::<String>("tenant")?.unwrap_or_default();
        ctx.wait_condition(|s| s.go).await?;
        let activity = ctx.activity(tenant_of_activity, ()).await?;
        let local = ctx.local_activity(tenant_of_activity, ()).await?;
        let child = ctx.child::<TenantChild>(()).await?;
        ctx.sleep(Duration::from_millis(10)).await?;
        Ok(vec![own, activity, local, child])
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }

    #[query]
    fn waiting(&self) -> bool {
        !self.go
    }
}

#[tokio::test]
async fn headers_travel_from_the_client_through_the_run_and_interceptors_see_each_call_once() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let options = connect()
        .await
        .options()
        .clone()
        .interceptor(Tenant { calls: calls.clone() });
    let client = Client::connect(options).await.unwrap();
    let tq = unique("intercept");
    let recorder = Recorder::default();
    // No cache: every task replays the run from its start, so replays are seen too.
    let worker = Worker::builder(&client, &tq)
        .workflow::<Tenanted>()
        .workflow::<TenantChild>()
        .activity(tenant_of_activity)
        .sticky_cache_size(0)
        .interceptor(PropagateHeaders::new(["tenant"]))
        .interceptor(recorder.clone())
        .build()
        .unwrap();
    let running = worker.spawn();

    let handle = Tenanted::start(&client, StartOptions::new(unique("tenanted"), &tq))
        .await
        .unwrap();
    handle.go().await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), handle.result())
        .await
        .expect("the run ends")
        .unwrap();
    // Answered by the worker after a replay of the whole run.
    assert!(!handle.waiting().await.unwrap());
    running.stop().await.unwrap();

    assert_eq!(result, ["acme", "acme", "acme", "acme"]);
    assert_eq!(
        *calls.lock().unwrap(),
        ["StartWorkflow", "SignalWorkflow", "QueryWorkflow"],
        "the client interceptor saw each call (the result wait is not a workflow call)"
    );
    let seen = recorder.0.lock().unwrap();
    let tenant = "Some(\"acme\")";
    assert_eq!(
        seen.live,
        [
            format!("in Run Tenanted {tenant}"),
            format!("in Signal go {tenant}"),
            "out Activity tenant_of_activity".into(),
            "out LocalActivity tenant_of_activity".into(),
            "out Child TenantChild".into(),
            format!("in Run TenantChild {tenant}"),
            "out Complete".into(),
            "out Timer".into(),
            "out Complete".into(),
            format!("in Query waiting {tenant}"),
        ],
        "each call once, live"
    );
    assert!(seen.replayed > 0, "replays were seen as replays");
    assert_eq!(
        seen.attempts,
        ["tenant_of_activity: true", "tenant_of_activity (local): true"]
    );
}
