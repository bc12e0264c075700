//! The in-process test environment: workflows run on the real worker against virtual time,
//! driven by the typed stubs; what it records replays with the `Replayer`.

use std::time::{Duration, Instant};
use workflow_runtime::client::proto::enums::WorkflowExecutionStatus;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::{ActivityHarness, TestEnv};

#[path = "support/captured_logs.rs"]
mod captured_logs;

/// Fails until its third attempt.
#[activity(
    start_to_close_timeout = "10s",
    retry(initial_interval = "10m", backoff_coefficient = 2.0, maximum_attempts = 5)
)]
async fn flaky(ctx: ActivityContext, word: String) -> Result<String, ActivityError> {
    if ctx.info().attempt < 3 {
        return Err(ActivityError::retryable("not yet", "NotYet"));
    }
    Ok(format!("{word} on attempt {}", ctx.info().attempt))
}

/// Never succeeds, and says so.
#[activity(start_to_close_timeout = "10s")]
async fn refuse() -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable("no, never", "Refused"))
}

#[workflow]
#[derive(Default)]
pub struct Subscription {
    renewals: u32,
    cancelled: bool,
}

#[workflow(name = "SubscriptionWorkflow")]
impl Subscription {
    /// Renews every 30 days until cancelled by signal; then a flaky goodbye and a refusal.
    #[run]
    async fn run(ctx: WorkflowContext<Self>, customer: String) -> WorkflowResult<String> {
        while !ctx.state(|s| s.cancelled) {
            let renewal = ctx.sleep(Duration::from_secs(30 * 86_400));
            let cancel = ctx.wait_condition(|s| s.cancelled);
            if let workflow_runtime::futures::future::Either::Left((fired, _)) =
                workflow_runtime::futures::future::select(renewal, cancel).await
            {
                fired?;
                ctx.state_mut(|s| s.renewals += 1);
            }
        }
        let goodbye = ctx.activity(flaky, format!("bye {customer}")).await?;
        let refused = match ctx.activity(refuse, ()).await {
            Err(e) => e.root_cause().message.clone(),
            Ok(()) => "accepted".to_string(),
        };
        Ok(format!("{goodbye}; {} renewals; {refused}", ctx.state(|s| s.renewals)))
    }

    #[signal]
    fn unsubscribe(&mut self) {
        self.cancelled = true;
    }

    #[query]
    fn renewals(&self) -> u32 {
        self.renewals
    }
}

/// Counts down by continuing as new.
#[workflow]
#[derive(Default)]
pub struct Countdown;

#[workflow(name = "CountdownWorkflow")]
impl Countdown {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, from: u32) -> WorkflowResult<u32> {
        if from == 0 {
            return Ok(ctx.info().attempt);
        }
        ctx.sleep(Duration::from_secs(3600)).await?;
        Err(ctx.continue_as_new(from - 1))
    }
}

fn run_worker(env: &TestEnv, task_queue: &str) -> workflow_runtime::worker::RunningWorker {
    Worker::builder(env.client(), task_queue)
        .workflow::<Subscription>()
        .workflow::<Countdown>()
        .activity(flaky)
        .activity(refuse)
        .build()
        .unwrap()
        .spawn()
}

#[tokio::test]
async fn months_of_timers_signals_queries_and_retries_in_virtual_time() {
    let env = TestEnv::start().await.unwrap();
    let worker = run_worker(&env, "subscriptions");
    let began = env.now();
    let wall = Instant::now();

    let sub = Subscription::start(env.client(), StartOptions::new("sub-1", "subscriptions"), "ada".into())
        .await
        .unwrap();
    // Time moves only when told: 95 days is three renewals.
    env.sleep(Duration::from_secs(95 * 86_400)).await;
    assert_eq!(sub.renewals().await.unwrap(), 3);
    let slept = env.now().duration_since(began).unwrap();
    assert!(
        slept >= Duration::from_secs(95 * 86_400) && slept <= Duration::from_secs(95 * 86_400) + wall.elapsed(),
        "{slept:?}"
    );
    sub.unsubscribe().await.unwrap();
    // Awaiting the result lets time jump over the retry backoffs (10 min, then 20 min).
    let result = sub.result().await.unwrap();
    assert_eq!(result, "bye ada on attempt 3; 3 renewals; no, never");
    // Virtual time also ran at real speed while the activity attempts ran: at most the wall
    // time this test took.
    let elapsed = env.now().duration_since(began).unwrap();
    let jumped = Duration::from_secs(95 * 86_400 + 30 * 60);
    assert!(
        elapsed >= jumped && elapsed <= jumped + wall.elapsed(),
        "{elapsed:?} is not {jumped:?} plus at most {:?}",
        wall.elapsed()
    );
    assert!(wall.elapsed() < Duration::from_secs(20), "took {:?}", wall.elapsed());

    // The recorded history is in the server's format and replays against the code.
    let history = env.history("sub-1").unwrap();
    let fired = history
        .events
        .iter()
        .filter(|e| matches!(e.attributes, Some(Attributes::TimerFiredEventAttributes(_))))
        .count();
    assert_eq!(fired, 3);
    let started_attempts: Vec<i32> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .collect();
    assert_eq!(started_attempts, [3, 1]);
    Replayer::new().workflow::<Subscription>().replay(&history).unwrap();
    let json = workflow_runtime::client::history::history_to_json(&history).unwrap();
    Replayer::new().workflow::<Subscription>().replay_json(&json).unwrap();
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn continue_as_new_chains_and_describe_and_unknown_workflows() {
    let env = TestEnv::start().await.unwrap();
    let worker = run_worker(&env, "countdowns");
    let countdown = Countdown::start(env.client(), StartOptions::new("count-1", "countdowns"), 5)
        .await
        .unwrap();
    // The result follows the chain of runs to the last one.
    assert_eq!(countdown.result().await.unwrap(), 1);
    let last = env.history("count-1").unwrap();
    match &last.events[0].attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            assert!(!a.continued_execution_run_id.is_empty())
        }
        other => panic!("expected a start event, got {other:?}"),
    }
    // The first run continued as new; the latest run (by id alone) completed.
    let first = countdown.describe().await.unwrap();
    assert_eq!(first.summary.status, WorkflowExecutionStatus::ContinuedAsNew);
    let latest = Countdown::handle(env.client(), "count-1").describe().await.unwrap();
    assert_eq!(latest.summary.status, WorkflowExecutionStatus::Completed);

    // A second start with a running id is refused with the typed error.
    let waiting = Countdown::start(env.client(), StartOptions::new("count-2", "countdowns"), 1)
        .await
        .unwrap();
    match Countdown::start(env.client(), StartOptions::new("count-2", "countdowns"), 1).await {
        Err(ClientError::AlreadyStarted { workflow_id, .. }) => assert_eq!(workflow_id, "count-2"),
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    assert_eq!(waiting.result().await.unwrap(), 1);

    // A workflow type no worker knows fails its task: the test sees why at once.
    let unknown = env
        .client()
        .start_untyped("NoSuchWorkflow", StartOptions::new("nope", "countdowns"), vec![])
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), unknown.result())
        .await
        .unwrap()
    {
        Err(ClientError::WorkflowFailed(failure)) => {
            assert!(failure.message.contains("NoSuchWorkflow"), "{failure}")
        }
        other => panic!("expected a failure naming the type, got {other:?}"),
    }
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn typed_mocks_stand_in_for_activities() {
    let env = TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "mocked")
        .workflow::<Subscription>()
        .mock_activity(flaky, |ctx, (word,)| async move {
            Ok(format!("mocked {word} on attempt {}", ctx.info().attempt))
        })
        .mock_activity(refuse, |_ctx, ()| async { Ok(()) })
        .build()
        .unwrap();
    let running = worker.spawn();
    let sub = Subscription::start(env.client(), StartOptions::new("sub-mocked", "mocked"), "ada".into())
        .await
        .unwrap();
    sub.unsubscribe().await.unwrap();
    assert_eq!(
        sub.result().await.unwrap(),
        "mocked bye ada on attempt 1; 0 renewals; accepted"
    );
    running.stop().await.unwrap();
}

/// Heartbeats, then waits for cancellation.
#[activity(start_to_close_timeout = "1m", heartbeat_timeout = "5s")]
async fn watch(ctx: ActivityContext) -> Result<(), ActivityError> {
    let resumed = ctx.heartbeat_details::<u32>().ok().flatten().unwrap_or(0);
    ctx.heartbeat(&(resumed + 1));
    ctx.cancelled().await;
    ctx.heartbeat(&(resumed + 2));
    Err(ActivityError::Canceled)
}

#[tokio::test]
async fn one_activity_attempt_alone_with_attempt_heartbeats_and_cancellation() {
    let harness = ActivityHarness::new().attempt(4).previous_heartbeat(&10u32).unwrap();
    let run = harness.run(watch, ());
    let cancel = async {
        // The attempt is waiting once its first heartbeat is in.
        while harness.heartbeats::<u32>().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        harness.cancel();
    };
    let (result, ()) = tokio::join!(run, cancel);
    assert_eq!(result, Err(ActivityError::Canceled));
    assert_eq!(harness.heartbeats::<u32>().unwrap(), [11, 12]);
    assert_eq!(harness.context().info().attempt, 4);
    assert!(harness.context().is_cancelled());
}

#[workflow]
#[derive(Default)]
pub struct Tally {
    total: i64,
    closed: bool,
}

#[workflow(name = "TallyWorkflow")]
impl Tally {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<i64> {
        ctx.wait_condition(|s| s.closed).await?;
        Ok(ctx.state(|s| s.total))
    }

    /// Adds a positive amount; answers the new total.
    #[update(validator = "positive")]
    fn add(&mut self, amount: i64) -> WorkflowResult<i64> {
        if amount == 13 {
            return Err(WorkflowError::application("13 is unlucky", "Unlucky"));
        }
        self.total += amount;
        Ok(self.total)
    }

    fn positive(&self, amount: i64) -> Result<(), String> {
        if amount <= 0 {
            return Err(format!("{amount} is not positive"));
        }
        Ok(())
    }

    /// Adds an amount after a (durable) wait; answers the new total.
    #[update]
    async fn add_later(ctx: WorkflowContext<Self>, amount: i64, after_days: u64) -> WorkflowResult<i64> {
        ctx.sleep(Duration::from_secs(after_days * 86_400)).await?;
        Ok(ctx.state_mut(|s| {
            s.total += amount;
            s.total
        }))
    }

    #[signal]
    fn close(&mut self) {
        self.closed = true;
    }
}

/// A test environment with a tally worker on `tallies` and a running tally of id `id`.
async fn running_tally(id: &str) -> (TestEnv, TallyHandle, workflow_runtime::worker::RunningWorker) {
    let env = TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "tallies")
        .workflow::<Tally>()
        .build()
        .unwrap();
    let running = worker.spawn();
    let tally = Tally::start(env.client(), StartOptions::new(id, "tallies"))
        .await
        .unwrap();
    (env, tally, running)
}

#[tokio::test]
async fn an_async_update_waits_in_virtual_time() {
    let (env, tally, running) = running_tally("later").await;
    let started = Instant::now();
    let virtual_start = env.now();
    assert_eq!(tally.add_later(4, 30).await.unwrap(), 4);
    assert!(env.now() >= virtual_start + Duration::from_secs(30 * 86_400));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a month passed in {:?}",
        started.elapsed()
    );
    tally.close().await.unwrap();
    assert_eq!(tally.result().await.unwrap(), 4);
    Replayer::new()
        .workflow::<Tally>()
        .replay(&env.history("later").unwrap())
        .unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn updates_are_validated_run_deduplicated_and_recorded() {
    use workflow_runtime::client::UpdateWaitStage;
    use workflow_runtime::client::payload::{from_payload, to_payload};
    let (env, tally, running) = running_tally("tally").await;

    assert_eq!(tally.add(5).await.unwrap(), 5);
    match tally.add(-1).await {
        Err(ClientError::UpdateFailed { failure, .. }) => assert_eq!(failure.message, "-1 is not positive"),
        other => panic!("expected the validator to reject, got {other:?}"),
    }
    match tally.add(13).await {
        Err(ClientError::UpdateFailed { failure, .. }) => assert_eq!(failure.application_type(), Some("Unlucky")),
        other => panic!("expected the handler to fail, got {other:?}"),
    }
    // The same update id twice is one update.
    for _ in 0..2 {
        let handle = tally
            .untyped()
            .start_update(
                "add",
                vec![to_payload(&7i64).unwrap()],
                Some("add-7".into()),
                UpdateWaitStage::Completed,
            )
            .await
            .unwrap();
        let result = handle.result().await.unwrap();
        assert_eq!(from_payload::<i64>(&result[0]).unwrap(), 12);
    }
    // Update-with-start finds the running tally and updates it.
    let (same, total) = Tally::add_with_start(env.client(), StartOptions::new("tally", "tallies"), 3)
        .await
        .unwrap();
    assert_eq!((same.run_id(), total), (tally.run_id(), 15));
    tally.close().await.unwrap();
    assert_eq!(tally.result().await.unwrap(), 15);
    // …and starts one that is not running.
    let (fresh, total) = Tally::add_with_start(env.client(), StartOptions::new("tally-2", "tallies"), 4)
        .await
        .unwrap();
    assert_eq!(total, 4);
    fresh.close().await.unwrap();
    assert_eq!(fresh.result().await.unwrap(), 4);

    let history = env.history("tally").unwrap();
    let accepted = history
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(_))
            )
        })
        .count();
    // 5, 13, the deduplicated 7 and 3 were accepted; the rejected -1 left no trace.
    assert_eq!(accepted, 4);
    Replayer::new().workflow::<Tally>().replay(&history).unwrap();
    running.stop().await.unwrap();
}

#[activity(start_to_close_timeout = "5s")]
async fn shout(word: String) -> Result<String, ActivityError> {
    Ok(word.to_uppercase())
}

#[workflow]
#[derive(Default)]
pub struct Shouter;

#[workflow(name = "ShouterWorkflow")]
impl Shouter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, word: String) -> WorkflowResult<String> {
        let loud = ctx.local_activity(shout, word).await?;
        ctx.sleep(Duration::from_secs(7 * 86_400)).await?;
        let refused = match ctx.local_activity(refuse, ()).await {
            Err(e) => e.root_cause().message.clone(),
            Ok(()) => "accepted".into(),
        };
        Ok(format!("{loud} a week later; {refused}"))
    }
}

#[tokio::test]
async fn local_activities_in_the_test_environment() {
    let env = TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "shouts")
        .workflow::<Shouter>()
        .activity(shout)
        .activity(refuse)
        .build()
        .unwrap();
    let running = worker.spawn();
    let shouter = Shouter::start(env.client(), StartOptions::new("shout", "shouts"), "hey".into())
        .await
        .unwrap();
    assert_eq!(shouter.result().await.unwrap(), "HEY a week later; no, never");
    let history = env.history("shout").unwrap();
    let markers = history
        .events
        .iter()
        .filter(|e| matches!(e.attributes, Some(Attributes::MarkerRecordedEventAttributes(_))))
        .count();
    assert_eq!(markers, 2);
    Replayer::new().workflow::<Shouter>().replay(&history).unwrap();
    running.stop().await.unwrap();
}

/// What the test environment does not serve fails at once with an error naming the feature,
/// never a hang: schedules, Nexus, and visibility queries beyond the documented subset.
#[tokio::test]
async fn unsupported_features_fail_at_once_naming_the_feature() {
    use workflow_runtime::client::proto::workflowservice as ws;
    let env = TestEnv::start().await.unwrap();
    let client = env.client();
    async fn within<T>(answer: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("an answer, not a hang")
    }
    let schedule = within(client.call(
        ws::CreateScheduleRequest {
            namespace: "default".into(),
            schedule_id: "nightly".into(),
            ..Default::default()
        },
        None,
        |mut service, request| async move { service.create_schedule(request).await },
    ))
    .await;
    let versioning = within(client.call(
        ws::DescribeWorkerDeploymentRequest {
            namespace: "default".into(),
            deployment_name: "checkout".into(),
        },
        None,
        |mut service, request| async move { service.describe_worker_deployment(request).await },
    ))
    .await;
    for (outcome, feature) in [
        (schedule.map(drop), "schedules (CreateSchedule)"),
        (versioning.map(drop), "worker versioning (DescribeWorkerDeployment)"),
    ] {
        let status = outcome.expect_err("not supported").status;
        assert_eq!(status.code() as i32, 12, "UNIMPLEMENTED: {status:?}");
        assert!(
            status.message().contains(&format!("does not support {feature}")),
            "{}",
            status.message()
        );
    }
    // A query beyond `Field = value AND …` is refused with what the environment reads.
    let refused = within(client.count_workflows("WorkflowType = 'A' OR WorkflowType = 'B'"))
        .await
        .expect_err("OR is beyond the subset");
    assert!(refused.to_string().contains("comparisons joined by AND"), "{refused}");
}

/// A versioned worker is refused too: the environment routes nothing by deployment version, so
/// its polls fail naming worker versioning, and the worker stops at once with that error.
#[tokio::test]
async fn a_versioned_worker_stops_at_once_naming_worker_versioning() {
    use workflow_runtime::client::{VersioningBehavior, WorkerDeploymentVersion};
    use workflow_runtime::worker::{WorkerDeploymentOptions, WorkerError};
    let env = TestEnv::start().await.unwrap();
    let deployment = WorkerDeploymentOptions::versioned(WorkerDeploymentVersion::new("shop", "v1"))
        .default_versioning_behavior(VersioningBehavior::Pinned);
    let worker = Worker::builder(env.client(), "versioned")
        .workflow::<Subscription>()
        .activity(flaky)
        .deployment(deployment)
        .build()
        .unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), worker.run())
        .await
        .expect("the worker stops by itself");
    match stopped {
        Err(WorkerError::PollRefused { message, .. }) => assert!(
            message.contains("does not support worker versioning") && message.contains("of a versioned worker"),
            "{message}"
        ),
        other => panic!("expected a refused poll, got {other:?}"),
    }
}

/// `inventory.check`: nothing serves it in these tests.
pub struct Check;

impl workflow_runtime::nexus::NexusOperation for Check {
    const SERVICE: &'static str = "inventory";
    const NAME: &'static str = "check";
    type Input = String;
    type Output = bool;
}

/// Calls `inventory.check` through `endpoint`, waiting a day at most.
#[workflow]
#[derive(Default)]
pub struct Checker;

#[workflow]
impl Checker {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<String> {
        let checked = ctx
            .nexus::<Check>(endpoint, "tea".to_string())
            .schedule_to_close_timeout(Duration::from_secs(86_400))
            .await;
        Ok(match checked {
            Ok(found) => format!("found: {found}"),
            Err(e) => e.root_cause().message.clone(),
        })
    }
}

#[tokio::test]
async fn nexus_endpoints_and_calls_nothing_serves() {
    use workflow_runtime::client::ClientError;
    let env = TestEnv::start().await.unwrap();
    let client = env.client();
    // The client's endpoint calls work here as on a server.
    let endpoint = client.create_nexus_endpoint("inventory", "nobody-polls").await.unwrap();
    assert_eq!(endpoint.name, "inventory");
    let again = client
        .create_nexus_endpoint("inventory", "elsewhere")
        .await
        .unwrap_err();
    assert!(
        matches!(again, ClientError::NexusEndpointAlreadyExists { .. }),
        "{again}"
    );
    client.delete_nexus_endpoint(&endpoint).await.unwrap();
    env.create_nexus_endpoint("inventory", "nobody-polls").unwrap();

    let worker = Worker::builder(client, "checkers")
        .workflow::<Checker>()
        .build()
        .unwrap()
        .spawn();
    // No worker polls the endpoint's queue: the request waits for time, which jumps to the
    // operation's timeout at once.
    let started = Instant::now();
    let before = env.now();
    let checker = Checker::start(client, StartOptions::new("checker", "checkers"), "inventory".into())
        .await
        .unwrap();
    let checked = tokio::time::timeout(Duration::from_secs(10), checker.result())
        .await
        .expect("virtual time jumps to the timeout");
    assert_eq!(checked.unwrap(), "operation timed out");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(env.now().duration_since(before).unwrap() >= Duration::from_secs(86_400));
    // A call through an endpoint that does not exist fails the run at once, naming it.
    let lost = Checker::start(client, StartOptions::new("lost", "checkers"), "nowhere".into())
        .await
        .unwrap();
    let failure = lost.result().await.unwrap_err();
    assert!(
        failure.to_string().contains("no Nexus endpoint named `nowhere`"),
        "{failure}"
    );
    worker.stop().await.unwrap();
}

// ----- where workflow code runs -----

/// Blocks its thread (outside workflow code, where the determinism lints do not look).
fn block_thread(d: Duration) {
    std::thread::sleep(d)
}

/// The name of the thread that ran it; it blocks that thread first for `block_ms`.
#[workflow]
#[derive(Default)]
pub struct WhereAmI;

#[workflow]
impl WhereAmI {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, block_ms: u64) -> WorkflowResult<String> {
        block_thread(Duration::from_millis(block_ms));
        Ok(std::thread::current().name().unwrap_or("unnamed").to_string())
    }
}

async fn where_workflow_code_runs(block_ms: u64, deadlock_timeout: Duration) -> String {
    let env = TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "where")
        .workflow::<WhereAmI>()
        .deadlock_detection_timeout(deadlock_timeout)
        .build()
        .unwrap()
        .spawn();
    let run = WhereAmI::start(env.client(), StartOptions::new("where", "where"), block_ms)
        .await
        .unwrap();
    let thread = tokio::time::timeout(Duration::from_secs(20), run.result())
        .await
        .expect("the run ends")
        .unwrap();
    worker.stop().await.unwrap();
    thread
}

/// `#[tokio::test]` gives a current-thread runtime: workflow code runs on the test's own thread
/// (no hop to a workflow thread and back per task).
#[tokio::test]
async fn on_a_current_thread_runtime_workflow_code_runs_on_the_tests_thread() {
    let test_thread = std::thread::current().name().map(String::from);
    let ran_on = where_workflow_code_runs(0, Duration::from_secs(2)).await;
    assert_eq!(Some(ran_on), test_thread);
}

/// On a multi-thread runtime the runtime's threads may take turns, so workflow code keeps its
/// workflow thread, as with a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_thread_runtime_workflow_code_runs_on_the_workflow_thread() {
    assert_eq!(
        where_workflow_code_runs(0, Duration::from_secs(2)).await,
        "workflows-where"
    );
}

/// Workflow code that holds the test's thread cannot be taken off it: the watchdog names it in
/// an error log once it passes the deadlock timeout (here the code lets go afterwards).
#[test]
fn workflow_code_that_holds_the_tests_thread_is_reported() {
    // The watchdog logs from a thread of its own: the subscriber is the binary's global one.
    let logs = captured_logs::captured_logs();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ran_on = runtime.block_on(where_workflow_code_runs(900, Duration::from_millis(200)));
    assert_eq!(Some(ran_on.as_str()), std::thread::current().name());
    let reports = logs.lines_with("workflow code does not yield");
    let [report] = reports.as_slice() else {
        panic!("one report expected: {reports:?}");
    };
    assert!(
        report.contains("workflow WhereAmI (id where) did not yield"),
        "{report}"
    );
    assert!(report.contains("current-thread runtime"), "{report}");
}
