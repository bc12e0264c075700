//! The worker against a real Temporal dev server: workflows written by hand against the
//! runtime's traits, started and driven by the client.

use futures::FutureExt;
use futures::future::{BoxFuture, LocalBoxFuture};
use std::time::Duration;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::client::{FailureKind, QueryDefinition, SignalDefinition};
use workflow_runtime::definition::Handlers;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, dev_server_client, unique_id as unique};
use workflow_runtime::worker::ShutdownHandle;

async fn client() -> Client {
    dev_server_client().await.expect("connect to the dev server")
}

/// Bounds every test: a hung workflow fails the test instead of hanging CI.
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(90), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

// ----- activities -----

struct Greet;
impl ActivityDefinition for Greet {
    const NAME: &'static str = "greet";
    type Input = (String,);
    type Output = String;
}
impl Activity for Greet {
    fn execute(&self, ctx: ActivityContext, (name,): (String,)) -> BoxFuture<'static, Result<String, ActivityError>> {
        async move {
            assert_eq!(ctx.info().activity_type, "greet");
            Ok(format!("Hello, {name}"))
        }
        .boxed()
    }
}

struct Explode;
impl ActivityDefinition for Explode {
    const NAME: &'static str = "explode";
    type Input = ();
    type Output = ();
}
impl Activity for Explode {
    fn execute(&self, _: ActivityContext, (): ()) -> BoxFuture<'static, Result<(), ActivityError>> {
        async move { panic!("the activity blew up") }.boxed()
    }
}

/// Declared but registered on no worker.
struct Missing;
impl ActivityDefinition for Missing {
    const NAME: &'static str = "missing_activity";
    type Input = ();
    type Output = ();
}

// ----- the workflow -----

/// Greets through an activity, sleeps, collects names by signal until `finish`, answers
/// queries, then returns everything.
#[derive(Default)]
struct Greeter {
    names: Vec<String>,
    done: bool,
}

impl WorkflowDefinition for Greeter {
    const NAME: &'static str = "Greeter";
    type Input = (String, u64);
    type Output = String;
}

struct AddName;
impl SignalDefinition for AddName {
    type Workflow = Greeter;
    const NAME: &'static str = "add_name";
    type Input = (String,);
}

struct Finish;
impl SignalDefinition for Finish {
    type Workflow = Greeter;
    const NAME: &'static str = "finish";
    type Input = ();
}

struct Names;
impl QueryDefinition for Names {
    type Workflow = Greeter;
    const NAME: &'static str = "names";
    type Input = ();
    type Output = Vec<String>;
}

impl Workflow for Greeter {
    fn init(_: &Self::Input) -> Self {
        Greeter::default()
    }
    fn run(
        ctx: WorkflowContext<Self>,
        (name, sleep_ms): (String, u64),
    ) -> LocalBoxFuture<'static, WorkflowResult<String>> {
        async move {
            let greeting = ctx
                .activity(Greet, (name,))
                .start_to_close_timeout(Duration::from_secs(10))
                .await?;
            ctx.sleep(Duration::from_millis(sleep_ms)).await?;
            ctx.wait_condition(|s| s.done).await?;
            let names = ctx.state(|s| s.names.join(","));
            Ok(format!("{greeting} + {names}"))
        }
        .boxed_local()
    }
    fn handlers(h: &mut Handlers<Self>) {
        h.signal::<AddName>(|s, (n,)| s.names.push(n));
        h.signal::<Finish>(|s, ()| s.done = true);
        h.query::<Names>(|s, ()| s.names.clone());
    }
}

/// Runs one activity and returns; the workload of the concurrency test.
#[derive(Default)]
struct OneActivity;
impl WorkflowDefinition for OneActivity {
    const NAME: &'static str = "OneActivity";
    type Input = (String,);
    type Output = String;
}
impl Workflow for OneActivity {
    fn init(_: &Self::Input) -> Self {
        OneActivity
    }
    fn run(ctx: WorkflowContext<Self>, (name,): (String,)) -> LocalBoxFuture<'static, WorkflowResult<String>> {
        async move {
            ctx.activity(Greet, (name,))
                .start_to_close_timeout(Duration::from_secs(30))
                .await
        }
        .boxed_local()
    }
}

/// Calls an activity by a name of the caller's choice with a single attempt.
#[derive(Default)]
struct CallsBroken;
impl WorkflowDefinition for CallsBroken {
    const NAME: &'static str = "CallsBroken";
    type Input = (bool,);
    type Output = ();
}
impl Workflow for CallsBroken {
    fn init(_: &Self::Input) -> Self {
        CallsBroken
    }
    fn run(ctx: WorkflowContext<Self>, (missing,): (bool,)) -> LocalBoxFuture<'static, WorkflowResult<()>> {
        async move {
            let once = RetryPolicy::no_retries();
            let timeout = Duration::from_secs(10);
            if missing {
                ctx.activity(Missing, ())
                    .start_to_close_timeout(timeout)
                    .retry_policy(once)
                    .await?;
            } else {
                ctx.activity(Explode, ())
                    .start_to_close_timeout(timeout)
                    .retry_policy(once)
                    .await?;
            }
            Ok(())
        }
        .boxed_local()
    }
}

// ----- cancellation, heartbeats, async completion, deadlock -----

/// Heartbeats until canceled, then reports the cancellation.
struct Slow;
impl ActivityDefinition for Slow {
    const NAME: &'static str = "slow";
    type Input = ();
    type Output = ();
}
impl Activity for Slow {
    fn execute(&self, ctx: ActivityContext, (): ()) -> BoxFuture<'static, Result<(), ActivityError>> {
        async move {
            for beat in 0u32.. {
                ctx.heartbeat(&beat);
                tokio::select! {
                    _ = ctx.cancelled() => return Err(ActivityError::Canceled),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
            Ok(())
        }
        .boxed()
    }
}

/// Counts to 6 with heartbeats; the first attempt fails at 3 and the second resumes there.
struct CountUp;
impl ActivityDefinition for CountUp {
    const NAME: &'static str = "count_up";
    type Input = ();
    type Output = (u32, u32);
}
impl Activity for CountUp {
    fn execute(&self, ctx: ActivityContext, (): ()) -> BoxFuture<'static, Result<(u32, u32), ActivityError>> {
        async move {
            let start: u32 = ctx.heartbeat_details().map_err(ActivityError::from_error)?.unwrap_or(0);
            for i in start..6 {
                ctx.heartbeat(&i);
                if ctx.info().attempt == 1 && i == 3 {
                    // Let the throttled heartbeat reach the server before failing.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    return Err(ActivityError::retryable("interrupted at 3", "Interrupted"));
                }
            }
            Ok((ctx.info().attempt, start))
        }
        .boxed()
    }
}

/// Task tokens of `approve` attempts, for the test to complete them.
static APPROVALS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// Completes later, by whoever holds its task token.
struct Approve;
impl ActivityDefinition for Approve {
    const NAME: &'static str = "approve";
    type Input = (String,);
    type Output = String;
}
impl Activity for Approve {
    fn execute(&self, ctx: ActivityContext, (_,): (String,)) -> BoxFuture<'static, Result<String, ActivityError>> {
        async move {
            APPROVALS.lock().unwrap().push(ctx.task_token().to_vec());
            Err(ActivityError::WillCompleteAsync)
        }
        .boxed()
    }
}

/// What `Patient` does: 0 = race an activity against a timer then wait for cancellation;
/// 1 = heartbeat resume; 2 = async approval.
#[derive(Default)]
struct Patient;
impl WorkflowDefinition for Patient {
    const NAME: &'static str = "Patient";
    type Input = (u8,);
    type Output = String;
}
impl Workflow for Patient {
    fn init(_: &Self::Input) -> Self {
        Patient
    }
    fn run(ctx: WorkflowContext<Self>, (mode,): (u8,)) -> LocalBoxFuture<'static, WorkflowResult<String>> {
        async move {
            let timeout = Duration::from_secs(30);
            match mode {
                0 => {
                    let slow = ctx
                        .activity(Slow, ())
                        .start_to_close_timeout(timeout)
                        .heartbeat_timeout(Duration::from_secs(5))
                        .into_future();
                    let timer = ctx.sleep(Duration::from_millis(300));
                    match futures::future::select(Box::pin(slow), Box::pin(timer)).await {
                        futures::future::Either::Left(_) => return Ok("the activity finished first".into()),
                        futures::future::Either::Right(_) => {} // the activity future is dropped: canceled
                    }
                    ctx.cancelled().await;
                    Ok(format!("canceled cleanly: {}", ctx.is_cancel_requested()))
                }
                1 => {
                    let retry = RetryPolicy {
                        initial_interval: Some(Duration::from_millis(100)),
                        maximum_attempts: 3,
                        ..Default::default()
                    };
                    let (attempt, resumed_from) = ctx
                        .activity(CountUp, ())
                        .start_to_close_timeout(timeout)
                        .heartbeat_timeout(Duration::from_millis(500))
                        .retry_policy(retry)
                        .await?;
                    Ok(format!("attempt {attempt} resumed from {resumed_from}"))
                }
                _ => {
                    ctx.activity(Approve, ("invoice-7".into(),))
                        .start_to_close_timeout(timeout)
                        .await
                }
            }
        }
        .boxed_local()
    }
}

/// Released by the test so the thread a stuck run was left on can finish.
static SPIN_RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Blocks its thread (as blocking I/O or a lock would) until the test releases it.
#[derive(Default)]
struct Blocker;
impl WorkflowDefinition for Blocker {
    const NAME: &'static str = "Blocker";
    type Input = ();
    type Output = String;
}
impl Workflow for Blocker {
    fn init(_: &Self::Input) -> Self {
        Blocker
    }
    fn run(_ctx: WorkflowContext<Self>, (): ()) -> LocalBoxFuture<'static, WorkflowResult<String>> {
        async move {
            while !SPIN_RELEASED.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok("released".to_string())
        }
        .boxed_local()
    }
}

fn spawn_worker(client: &Client, task_queue: &str, cache: usize) -> (ShutdownHandle, tokio::task::JoinHandle<()>) {
    let worker = Worker::builder(client, task_queue)
        .workflow::<Greeter>()
        .workflow::<OneActivity>()
        .workflow::<CallsBroken>()
        .workflow::<Patient>()
        .workflow::<Blocker>()
        .activity(Greet)
        .activity(Explode)
        .activity(Slow)
        .activity(CountUp)
        .activity(Approve)
        .deadlock_detection_timeout(Duration::from_millis(500))
        .build_id("test-build-7")
        .sticky_cache_size(cache)
        .graceful_shutdown_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid worker");
    let handle = worker.shutdown_handle();
    let join = tokio::spawn(async move { worker.run().await.expect("worker runs and stops cleanly") });
    (handle, join)
}

async fn stop(worker: (ShutdownHandle, tokio::task::JoinHandle<()>)) {
    worker.0.shutdown();
    bounded("worker shutdown", worker.1).await.unwrap();
}

/// Drives one Greeter run through signals and a query; returns its result and workflow id.
async fn greeter_run(client: &Client, task_queue: &str) -> (String, String) {
    let handle = client
        .start::<Greeter>(StartOptions::new(unique("greeter"), task_queue), ("Ada".into(), 200))
        .await
        .unwrap();
    handle.signal::<AddName>(("Grace".into(),)).await.unwrap();
    handle.signal::<AddName>(("Barbara".into(),)).await.unwrap();
    let names = handle.query::<Names>(()).await.unwrap();
    assert_eq!(names, ["Grace", "Barbara"]);
    let trace: String = workflow_runtime::client::payload::from_payload(
        &handle
            .untyped()
            .query("__stack_trace", vec![], Default::default())
            .await
            .unwrap()[0],
    )
    .unwrap();
    assert!(trace.contains("waiting on"), "{trace}");
    handle.signal::<Finish>(()).await.unwrap();
    let result = bounded("greeter result", handle.result()).await.unwrap();
    // The history holds exactly the commands the code issued, in order.
    let kinds: Vec<&str> = handle
        .fetch_history()
        .await
        .unwrap()
        .events
        .iter()
        .filter_map(|e| match e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(_)) => Some("activity"),
            Some(Attributes::TimerStartedEventAttributes(_)) => Some("timer"),
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(_)) => Some("completed"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["activity", "timer", "completed"]);
    // Every completed workflow task names the build that ran it.
    let history = handle.fetch_history().await.unwrap();
    #[allow(deprecated)]
    let builds: Vec<&str> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a.binary_checksum.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        !builds.is_empty() && builds.iter().all(|b| *b == "test-build-7"),
        "{builds:?}"
    );
    (result, handle.workflow_id().to_string())
}

#[tokio::test]
async fn activity_timer_signals_and_queries_with_and_without_the_cache() {
    let client = client().await;
    let mut results = Vec::new();
    for cache in [0, 1, 100] {
        let tq = unique("greeter-tq");
        let worker = spawn_worker(&client, &tq, cache);
        results.push(bounded("greeter run", greeter_run(&client, &tq)).await.0);
        stop(worker).await;
    }
    assert_eq!(results[0], "Hello, Ada + Grace,Barbara");
    assert!(results.iter().all(|r| r == &results[0]), "{results:?}");
}

#[tokio::test]
async fn a_new_worker_finishes_a_run_whose_worker_stopped_during_a_timer() {
    let client = client().await;
    let tq = unique("restart-tq");
    let first = spawn_worker(&client, &tq, 100);
    let handle = client
        .start::<Greeter>(StartOptions::new(unique("restart"), &tq), ("Ada".into(), 3000))
        .await
        .unwrap();
    bounded("the timer to start", async {
        loop {
            let history = handle.fetch_history().await.unwrap();
            if history
                .events
                .iter()
                .any(|e| matches!(e.attributes, Some(Attributes::TimerStartedEventAttributes(_))))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    stop(first).await;
    handle.signal::<AddName>(("Grace".into(),)).await.unwrap();
    handle.signal::<Finish>(()).await.unwrap();
    let second = spawn_worker(&client, &tq, 100);
    let result = bounded("result after restart", handle.result()).await.unwrap();
    assert_eq!(result, "Hello, Ada + Grace");
    stop(second).await;
}

/// Cache pressure: 500 workflows at once through a sticky cache of 10 runs; most tasks find
/// their run evicted and rebuild it by replay, and every workflow completes with its result.
#[tokio::test]
async fn five_hundred_concurrent_workflows_complete_through_a_cache_of_ten() {
    let client = client().await;
    let tq = unique("many-tq");
    let worker = spawn_worker(&client, &tq, 10);
    let mut handles = Vec::new();
    for i in 0..500 {
        handles.push(
            client
                .start::<OneActivity>(StartOptions::new(unique("many"), &tq), (format!("n{i}"),))
                .await
                .unwrap(),
        );
    }
    let results = bounded(
        "500 results",
        futures::future::try_join_all(handles.iter().map(|h| h.result())),
    )
    .await;
    let results = results.unwrap();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r, &format!("Hello, n{i}"));
    }
    stop(worker).await;
}

#[tokio::test]
async fn activity_panics_and_unknown_activities_fail_the_workflow_with_their_cause() {
    let client = client().await;
    let tq = unique("broken-tq");
    let worker = spawn_worker(&client, &tq, 100);
    for (missing, expected) in [
        (
            true,
            "activity type `missing_activity` is not registered on this worker; registered: approve, count_up, explode, greet, slow",
        ),
        (false, "activity panicked: the activity blew up"),
    ] {
        let handle = client
            .start::<CallsBroken>(StartOptions::new(unique("broken"), &tq), (missing,))
            .await
            .unwrap();
        match bounded("broken result", handle.result()).await {
            Err(ClientError::WorkflowFailed(failure)) => {
                assert!(
                    matches!(&*failure.kind, FailureKind::Activity { activity_type, .. }
                        if activity_type == if missing { "missing_activity" } else { "explode" }),
                    "{failure:?}"
                );
                assert_eq!(failure.root_cause().message, expected);
            }
            other => panic!("expected the workflow to fail, got {other:?}"),
        }
    }
    stop(worker).await;
}

#[tokio::test]
async fn input_that_does_not_decode_fails_the_workflow_naming_the_type() {
    let client = client().await;
    let tq = unique("badinput-tq");
    let worker = spawn_worker(&client, &tq, 100);
    let handle = client
        .start_untyped(
            "Greeter",
            StartOptions::new(unique("badinput"), &tq),
            vec![workflow_runtime::client::payload::to_payload(&[1, 2]).unwrap()],
        )
        .await
        .unwrap();
    match bounded("bad input result", handle.result()).await {
        Err(ClientError::WorkflowFailed(failure)) => {
            assert!(failure.is_non_retryable(), "{failure:?}");
            assert!(
                failure.message.contains("input of workflow `Greeter` does not decode"),
                "{failure}"
            );
            assert!(
                failure.message.contains("expected 2 argument payload(s), got 1"),
                "{failure}"
            );
        }
        other => panic!("expected the workflow to fail, got {other:?}"),
    }
    stop(worker).await;
}

/// Waits (bounded) until the history of `handle` has an event `pred` accepts.
async fn wait_for_event<W: WorkflowDefinition>(
    handle: &WorkflowHandle<W>,
    what: &str,
    pred: impl Fn(&Attributes) -> bool,
) -> workflow_runtime::client::proto::history::HistoryEvent {
    bounded(what, async {
        loop {
            let history = handle.fetch_history().await.unwrap();
            if let Some(e) = history
                .events
                .into_iter()
                .find(|e| e.attributes.as_ref().is_some_and(&pred))
            {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_dropped_activity_is_canceled_and_workflow_cancellation_reaches_the_code() {
    let client = client().await;
    let tq = unique("cancel-tq");
    let worker = spawn_worker(&client, &tq, 100);
    let handle = client
        .start::<Patient>(StartOptions::new(unique("cancel"), &tq), (0,))
        .await
        .unwrap();
    wait_for_event(&handle, "the activity to be canceled", |a| {
        matches!(a, Attributes::ActivityTaskCanceledEventAttributes(_))
    })
    .await;
    handle.cancel("enough").await.unwrap();
    assert_eq!(
        bounded("result", handle.result()).await.unwrap(),
        "canceled cleanly: true"
    );
    let history = handle.fetch_history().await.unwrap();
    assert!(history.events.iter().any(|e| matches!(
        e.attributes,
        Some(Attributes::ActivityTaskCancelRequestedEventAttributes(_))
    )));
    stop(worker).await;
}

#[tokio::test]
async fn a_retried_activity_resumes_from_its_last_heartbeat() {
    let client = client().await;
    let tq = unique("heartbeat-tq");
    let worker = spawn_worker(&client, &tq, 100);
    let handle = client
        .start::<Patient>(StartOptions::new(unique("heartbeat"), &tq), (1,))
        .await
        .unwrap();
    assert_eq!(
        bounded("result", handle.result()).await.unwrap(),
        "attempt 2 resumed from 3"
    );
    stop(worker).await;
}

#[tokio::test]
async fn an_activity_completes_asynchronously_by_task_token() {
    let client = client().await;
    let tq = unique("async-tq");
    let worker = spawn_worker(&client, &tq, 100);
    let handle = client
        .start::<Patient>(StartOptions::new(unique("async"), &tq), (2,))
        .await
        .unwrap();
    let token = bounded("the approval to be requested", async {
        loop {
            if let Some(t) = APPROVALS.lock().unwrap().pop() {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    client
        .complete_activity(
            &workflow_runtime::client::ActivityRef::TaskToken(token),
            "approved by Grace",
        )
        .await
        .unwrap();
    assert_eq!(bounded("result", handle.result()).await.unwrap(), "approved by Grace");
    stop(worker).await;
}

#[tokio::test]
async fn workflow_code_that_blocks_its_thread_fails_the_task_and_the_worker_goes_on() {
    let client = client().await;
    let tq = unique("blocker-tq");
    let worker = spawn_worker(&client, &tq, 100);
    let handle = client
        .start::<Blocker>(StartOptions::new(unique("blocker"), &tq), ())
        .await
        .unwrap();
    let failed = wait_for_event(&handle, "the blocked task to fail", |a| {
        matches!(a, Attributes::WorkflowTaskFailedEventAttributes(_))
    })
    .await;
    let Some(Attributes::WorkflowTaskFailedEventAttributes(a)) = failed.attributes else {
        unreachable!()
    };
    let message = a.failure.unwrap().message;
    assert!(message.contains("workflow Blocker"), "{message}");
    assert!(message.contains("did not yield"), "{message}");
    // The worker still serves other workflows on a fresh thread.
    let other = client
        .start::<OneActivity>(StartOptions::new(unique("after-blocker"), &tq), ("Ada".into(),))
        .await
        .unwrap();
    assert_eq!(bounded("other result", other.result()).await.unwrap(), "Hello, Ada");
    SPIN_RELEASED.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(bounded("blocker result", handle.result()).await.unwrap(), "released");
    stop(worker).await;
}

/// Declared here, implemented on the worker by name with raw payloads.
struct Shout;
impl ActivityDefinition for Shout {
    const NAME: &'static str = "shout";
    type Input = (String,);
    type Output = String;
}

#[tokio::test]
async fn dynamic_workflows_and_activities_serve_types_by_name() {
    use workflow_runtime::client::payload::{from_payload, to_payload};
    use workflow_runtime::dynamic::DynamicState;
    let client = client().await;
    let tq = unique("dynamic-tq");
    let worker = Worker::builder(&client, &tq)
        .dynamic_workflow("Echo", |ctx: WorkflowContext<DynamicState>, args| {
            Box::pin(async move {
                let text: String = from_payload(&args[0])?;
                let loud = ctx
                    .activity(Shout, text)
                    .start_to_close_timeout(Duration::from_secs(10))
                    .await?;
                ctx.wait_condition(|s| s.signals.iter().any(|(name, _)| name == "go"))
                    .await?;
                let (_, go_args) = ctx.state_mut(|s| s.signals.pop_front()).expect("the go signal");
                let when: String = from_payload(&go_args[0])?;
                Ok(to_payload(&format!("{loud} {when}"))?)
            })
        })
        .dynamic_activity("shout", |_ctx, args| async move {
            let text: String = from_payload(&args[0]).map_err(ActivityError::from_error)?;
            to_payload(&text.to_uppercase()).map_err(ActivityError::from_error)
        })
        .build()
        .unwrap();
    let running = worker.spawn();

    let handle = client
        .start_untyped(
            "Echo",
            StartOptions::new(unique("echo"), &tq),
            vec![to_payload("hi").unwrap()],
        )
        .await
        .unwrap();
    handle.signal("go", vec![to_payload("now").unwrap()]).await.unwrap();
    let result = bounded("echo result", handle.result()).await.unwrap();
    assert_eq!(from_payload::<String>(&result[0]).unwrap(), "HI now");

    bounded("worker shutdown", running.stop()).await.unwrap();
}

/// Flips every byte: a stand-in for encryption that makes stored payloads unreadable.
struct Flip;
#[workflow_runtime::client::async_trait]
impl workflow_runtime::client::PayloadCodec for Flip {
    async fn encode(
        &self,
        mut payloads: Vec<workflow_runtime::client::proto::common::Payload>,
    ) -> Result<Vec<workflow_runtime::client::proto::common::Payload>, workflow_runtime::client::CodecError> {
        for p in &mut payloads {
            p.data.iter_mut().for_each(|b| *b = !*b);
            p.metadata.insert("codec".into(), b"flip".to_vec());
        }
        Ok(payloads)
    }
    async fn decode(
        &self,
        mut payloads: Vec<workflow_runtime::client::proto::common::Payload>,
    ) -> Result<Vec<workflow_runtime::client::proto::common::Payload>, workflow_runtime::client::CodecError> {
        for p in &mut payloads {
            if p.metadata.remove("codec").is_some() {
                p.data.iter_mut().for_each(|b| *b = !*b);
            }
        }
        Ok(payloads)
    }
}

#[tokio::test]
async fn a_payload_codec_applies_to_everything_the_worker_and_client_exchange() {
    let coded = Client::connect(
        ClientOptions::new(DevServer::shared_address())
            .data_converter(workflow_runtime::client::DataConverter::with_codec(Flip)),
    )
    .await
    .unwrap();
    let tq = unique("codec-tq");
    let worker = spawn_worker(&coded, &tq, 100);
    // Inputs, activity arguments and results, signals, queries and the result all round-trip.
    let (result, workflow_id) = greeter_run(&coded, &tq).await;
    assert_eq!(result, "Hello, Ada + Grace,Barbara");
    // What the server stores is only the encoded form.
    let plain = client().await;
    let history = plain.untyped_handle(workflow_id, None).fetch_history().await.unwrap();
    let mut found = 0;
    for e in &history.events {
        let stored = match &e.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => a.input.as_ref(),
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => a.result.as_ref(),
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => a.input.as_ref(),
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => a.result.as_ref(),
            _ => None,
        };
        if let Some(stored) = stored {
            let p = &stored.payloads[0];
            assert_eq!(p.metadata.get("codec").map(Vec::as_slice), Some(&b"flip"[..]), "{e:?}");
            assert!(serde_json::from_slice::<serde_json::Value>(&p.data).is_err());
            found += 1;
        }
    }
    // Started, the activity result, two signals, completed.
    assert_eq!(found, 5);
    stop(worker).await;
}

/// AES-GCM encryption (after zlib compression): the workflow runs as usual, and what the
/// server holds — as `temporal workflow show` prints it — is ciphertext only.
#[tokio::test]
async fn encrypted_payloads_leave_only_ciphertext_on_the_server() {
    use workflow_runtime::client::codecs::{AesGcmCodec, CodecChain, ZlibCodec};
    let codec = CodecChain::new()
        .then(ZlibCodec::default())
        .then(AesGcmCodec::new("test-key", [42; 32]));
    let sealed = Client::connect(
        ClientOptions::new(DevServer::shared_address())
            .data_converter(workflow_runtime::client::DataConverter::with_codec(codec)),
    )
    .await
    .unwrap();
    let tq = unique("aes-tq");
    let worker = spawn_worker(&sealed, &tq, 100);
    let (result, workflow_id) = greeter_run(&sealed, &tq).await;
    assert_eq!(result, "Hello, Ada + Grace,Barbara");
    stop(worker).await;

    let cli = workflow_runtime::testing::find_cli().unwrap();
    let shown = std::process::Command::new(cli)
        .args(["workflow", "show", "--output", "json", "--address"])
        .arg(DevServer::shared_address())
        .args(["--workflow-id", &workflow_id])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let json = String::from_utf8(shown.stdout).unwrap();
    assert!(
        json.contains("GreeterWorkflow") || json.contains("Greeter"),
        "the history was shown"
    );
    for plain in ["Ada", "Grace", "Barbara", "Hello"] {
        assert!(!json.contains(plain), "`{plain}` is readable in the stored history");
    }
    // The payloads say how they are sealed (base64 of "binary/encrypted"), not what they hold.
    assert!(json.contains("YmluYXJ5L2VuY3J5cHRlZA=="), "{json}");
}
