//! The same scenarios on the real server and in the test environment, from one source: each
//! scenario runs a workflow to its end on a client of either backend and reports what it saw
//! (its outcome and the event types of its history), and the two reports must be equal. A
//! scenario that passes on the server and not in `TestEnv` is a fidelity bug of `TestEnv`.

use std::time::Duration;
use workflow_runtime::client::failure::FailureKind;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{TestEnv, TestEnvOptions, dev_server_client, event_names, unique_id};

/// What one run of a scenario saw: the parent's result (or failure) and its history's events
/// (without the workflow task events, whose number depends on how events batch in time).
#[derive(Debug, PartialEq)]
struct Report {
    outcome: String,
    events: Vec<String>,
}

impl Report {
    /// What a run ended with (`outcome`) and the events of its `history`, less the workflow
    /// task events.
    fn new(outcome: String, history: &workflow_runtime::client::proto::history::History) -> Report {
        Report {
            outcome,
            events: event_names(history)
                .into_iter()
                .filter(|e| !e.starts_with("WORKFLOW_TASK_"))
                .collect(),
        }
    }

    /// The report without the events named in `racing` (events whose presence depends on
    /// timing, on either backend).
    fn without(&self, racing: &[&str]) -> Report {
        Report {
            outcome: self.outcome.clone(),
            events: self
                .events
                .iter()
                .filter(|e| !racing.contains(&e.as_str()))
                .cloned()
                .collect(),
        }
    }
}

/// Runs `scenario` against the dev server and against a fresh `TestEnv`; both must report
/// the same (but for the `racing` events), and the server's report is returned for the
/// scenario's own assertions.
async fn on_both<F, Fut>(racing: &[&str], scenario: F) -> Report
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Report>,
{
    on_both_with(TestEnvOptions::default(), racing, scenario).await
}

/// [`on_both`] with a test environment started with `options`.
async fn on_both_with<F, Fut>(options: TestEnvOptions, racing: &[&str], scenario: F) -> Report
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Report>,
{
    let started = std::time::Instant::now();
    let server = scenario(dev_server_client().await.expect("the dev server")).await;
    let on_server = started.elapsed();
    let started = std::time::Instant::now();
    let env = TestEnv::start_with(options).await.expect("the test environment");
    let in_env = scenario(env.client().clone()).await;
    // Seen with `--nocapture`: what each backend took.
    eprintln!(
        "scenario wall time: server {on_server:?}, TestEnv {:?}",
        started.elapsed()
    );
    assert_eq!(
        in_env.without(racing),
        server.without(racing),
        "TestEnv differs from the server"
    );
    server
}

/// Runs `W` with `input` to its end on both backends (a test environment started with
/// `options`), each on a fresh task queue served by `worker`, and compares the reports but for
/// the `racing` events: a scenario whose workflow needs nothing from the test while it runs.
async fn scenario<W>(options: TestEnvOptions, racing: &[&str], worker: WorkerBuilderFn, input: W::Input) -> Report
where
    W: workflow_runtime::client::WorkflowDefinition,
    W::Input: Clone,
    W::Output: std::fmt::Debug,
{
    on_both_with(options, racing, |client| {
        let input = input.clone();
        async move { run_to_end::<W>(&client, worker, input).await }
    })
    .await
}

/// Starts `W` with `input` on a fresh task queue served by `worker`, waits (bounded) for the
/// run to end, and reports its outcome and history.
async fn run_to_end<W>(client: &Client, worker: WorkerBuilderFn, input: W::Input) -> Report
where
    W: workflow_runtime::client::WorkflowDefinition,
    W::Output: std::fmt::Debug,
{
    let queue = unique_id("scenario");
    let running = worker(client, &queue).spawn();
    let handle = client
        .start::<W>(StartOptions::new(unique_id("scenario"), &queue), input)
        .await
        .expect("start");
    let result = tokio::time::timeout(Duration::from_secs(60), handle.result()).await;
    let history = handle.fetch_history().await.expect("history");
    let Ok(result) = result else {
        panic!(
            "the scenario did not end within 60 s; its history: {:?}",
            event_names(&history)
        );
    };
    running.stop().await.expect("the worker stops");
    let outcome = match result {
        Ok(value) => format!("completed: {value:?}"),
        Err(e) => format!("failed: {e}"),
    };
    Report::new(outcome, &history)
}

type WorkerBuilderFn = fn(&Client, &str) -> Worker;

// A child with a retry policy that always fails: retried to its last attempt, and the parent
// hears only of that attempt's end.

#[workflow]
#[derive(Default)]
pub struct Flaky;

#[workflow]
impl Flaky {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Err(WorkflowError::application(
            format!("attempt {} failed", ctx.info().attempt),
            "Flaky",
        ))
    }
}

#[workflow]
#[derive(Default)]
pub struct RetriesChild;

#[workflow]
impl RetriesChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let retry = RetryPolicy {
            initial_interval: Some(Duration::from_millis(100)),
            maximum_attempts: 3,
            ..Default::default()
        };
        match ctx.child::<Flaky>(()).retry_policy(retry).await {
            Ok(()) => Ok("the child completed".into()),
            Err(e) => Ok(describe_child_failure(&e)),
        }
    }
}

/// The retry state of a child's failure and its root cause: a timeout's kind, else the
/// message.
fn describe_child_failure(e: &WorkflowError) -> String {
    let root = e.root_cause();
    let cause = match &*root.kind {
        FailureKind::Timeout { .. } => format!("{:?}", root.kind),
        _ => root.message.clone(),
    };
    match &*e.kind {
        FailureKind::ChildWorkflow { retry_state, .. } => format!("{retry_state:?}: {cause}"),
        other => format!("not a child failure: {other:?}"),
    }
}

#[tokio::test]
async fn a_child_is_retried_by_its_retry_policy() {
    let report = scenario::<RetriesChild>(
        TestEnvOptions::default(),
        &[],
        |client, queue| {
            Worker::builder(client, queue)
                .workflow::<RetriesChild>()
                .workflow::<Flaky>()
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(
        report.outcome,
        "completed: \"MaximumAttemptsReached: attempt 3 failed\""
    );
}

// A child that outlives its execution timeout ends as timed out, not terminated.

#[workflow]
#[derive(Default)]
pub struct Sleeper;

#[workflow]
impl Sleeper {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(())
    }
}

#[workflow]
#[derive(Default)]
pub struct TimesOutChild;

#[workflow]
impl TimesOutChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        match ctx.child::<Sleeper>(()).execution_timeout(Duration::from_secs(2)).await {
            Ok(()) => Ok("the child completed".into()),
            Err(e) => Ok(describe_child_failure(&e)),
        }
    }
}

#[tokio::test]
async fn a_child_past_its_execution_timeout_times_out() {
    let report = scenario::<TimesOutChild>(
        TestEnvOptions::default(),
        &[],
        |client, queue| {
            Worker::builder(client, queue)
                .workflow::<TimesOutChild>()
                .workflow::<Sleeper>()
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert!(
        report.outcome.starts_with("completed: \"Timeout: Timeout"),
        "{}",
        report.outcome
    );
    assert!(
        report
            .events
            .contains(&"CHILD_WORKFLOW_EXECUTION_TIMED_OUT".to_string())
    );
}

// An activity cancelled under each cancellation type, which learns of the cancel through its
// heartbeat and says so with a signal: the workflow sees the activity end as canceled, and
// (except when abandoned) hears from the activity that it saw the cancel.

/// Activities that report back to the workflow that started them.
pub struct Reporter {
    client: Client,
}

#[activities]
impl Reporter {
    /// Says it started, heartbeats until cancelled (or 20 s), then says it saw the cancel.
    #[activity(start_to_close_timeout = "1m", heartbeat_timeout = "5s", retry(maximum_attempts = 1))]
    async fn wait_for_cancel(&self, ctx: ActivityContext, workflow_id: String) -> Result<(), ActivityError> {
        let workflow = CancelsActivity::handle(&self.client, workflow_id);
        workflow.activity_started().await.map_err(ActivityError::from_error)?;
        for _ in 0..400 {
            ctx.heartbeat(&());
            if ctx.is_worker_shutting_down() {
                return Err(ActivityError::Canceled);
            }
            if ctx.is_cancelled() {
                workflow
                    .activity_saw_cancel()
                    .await
                    .map_err(ActivityError::from_error)?;
                return Err(ActivityError::Canceled);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

#[workflow]
#[derive(Default)]
pub struct CancelsActivity {
    started: bool,
    saw_cancel: bool,
}

#[workflow]
impl CancelsActivity {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, how: String) -> WorkflowResult<String> {
        let (how, listen) = match how.as_str() {
            "wait" => (
                workflow_runtime::workflow::CancellationType::WaitCancellationCompleted,
                30,
            ),
            // An abandoned activity is never told: the workflow listens briefly.
            "abandon" => (workflow_runtime::workflow::CancellationType::Abandon, 1),
            _ => (workflow_runtime::workflow::CancellationType::TryCancel, 30),
        };
        let scope = ctx.cancellation_scope();
        let activity = ctx
            .activity(ReporterWaitForCancel, ctx.info().workflow_id)
            .cancellation_scope(&scope)
            .cancellation_type(how)
            .start();
        ctx.wait_condition(|s| s.started).await?;
        scope.cancel();
        let ended = match activity.await {
            Ok(()) => "completed".to_string(),
            Err(e) if e.is_canceled() => "canceled".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        let heard = ctx
            .wait_condition(|s| s.saw_cancel)
            .timeout(Duration::from_secs(listen))
            .await?;
        Ok(format!("activity {ended}; it saw the cancel: {heard}"))
    }

    #[signal]
    fn activity_started(&mut self) {
        self.started = true;
    }

    #[signal]
    fn activity_saw_cancel(&mut self) {
        self.saw_cancel = true;
    }
}

fn cancel_worker(client: &Client, queue: &str) -> Worker {
    Worker::builder(client, queue)
        .workflow::<CancelsActivity>()
        .activities(Reporter { client: client.clone() })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_try_cancelled_activity_hears_of_the_cancel_through_its_heartbeat() {
    // With try-cancel the workflow goes on at once: whether the activity's own end is
    // recorded before the workflow completes depends on timing.
    let racing = ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_CANCELED"];
    let report = scenario::<CancelsActivity>(TestEnvOptions::default(), &racing, cancel_worker, ("try".into(),)).await;
    assert_eq!(
        report.outcome,
        "completed: \"activity canceled; it saw the cancel: true\""
    );
}

#[tokio::test]
async fn a_wait_cancelled_activity_ends_as_canceled_once_it_stopped() {
    let report = scenario::<CancelsActivity>(TestEnvOptions::default(), &[], cancel_worker, ("wait".into(),)).await;
    assert_eq!(
        report.outcome,
        "completed: \"activity canceled; it saw the cancel: true\""
    );
    assert!(report.events.contains(&"ACTIVITY_TASK_CANCELED".to_string()));
}

// Three activities started together are all seen running (the test environment does not jump
// time past them while their code starts), then the workflow is cancelled and so are they.

#[activity(start_to_close_timeout = "1m", heartbeat_timeout = "5s", retry(maximum_attempts = 1))]
async fn hold(ctx: ActivityContext) -> Result<(), ActivityError> {
    for _ in 0..600 {
        ctx.heartbeat(&());
        if ctx.is_cancelled() || ctx.is_worker_shutting_down() {
            return Err(ActivityError::Canceled);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[workflow]
#[derive(Default)]
pub struct HoldsThree;

#[workflow]
impl HoldsThree {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<usize> {
        let held = (0..3).map(|_| ctx.activity(hold, ()).into_future());
        let ended = workflow_runtime::futures::future::join_all(held).await;
        ctx.cancelled().await;
        Ok(ended.iter().filter(|r| r.is_err()).count())
    }
}

#[tokio::test]
async fn three_activities_started_together_are_all_seen_running_until_cancelled() {
    use workflow_runtime::client::proto::enums::PendingActivityState;
    let racing = ["ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_CANCELED"];
    let report = on_both(&racing, |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<HoldsThree>()
            .activity(hold)
            .build()
            .unwrap()
            .spawn();
        let handle = HoldsThree::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let pending = handle.describe().await.unwrap().raw.pending_activities;
            let started = pending
                .iter()
                .filter(|a| a.state == PendingActivityState::Started as i32)
                .count();
            if started == 3 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {started} of 3 activities were seen running"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        handle.cancel("the test is done").await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(60), handle.result())
            .await
            .expect("the run ends");
        let history = handle.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(3)", "all three activities end cancelled");
}

// A query sent right after a signal call returned sees that signal: a query is answered after
// every event recorded before it arrived.

#[workflow]
#[derive(Default)]
pub struct Counter {
    count: u64,
    done: bool,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.count))
    }

    #[signal]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    #[query]
    fn count(&self) -> u64 {
        self.count
    }
}

#[tokio::test]
async fn a_query_right_after_a_signal_sees_it() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Counter>()
            .build()
            .unwrap()
            .spawn();
        let counter = Counter::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        let mut stale = Vec::new();
        for expected in 1..=20 {
            counter.bump().await.unwrap();
            let seen = counter.count().await.unwrap();
            if seen != expected {
                stale.push(format!("after signal {expected} the query saw {seen}"));
            }
        }
        counter.finish().await.unwrap();
        let result = counter.result().await;
        let history = counter.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}; stale reads: {stale:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(20); stale reads: []");
}

#[tokio::test]
async fn a_query_waiting_with_a_signal_for_a_worker_is_answered_after_the_signal() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let worker = || Worker::builder(&client, &queue).workflow::<Counter>().build().unwrap();
        let first = worker().spawn();
        let counter = Counter::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        counter.bump().await.unwrap();
        assert_eq!(counter.count().await.unwrap(), 1);
        first.stop().await.unwrap();
        // No worker: the signal waits for a workflow task, and the query arrives while it does.
        counter.bump().await.unwrap();
        let asking = counter.clone();
        let query = tokio::spawn(async move { asking.count().await });
        // Only to let the query reach the server before a worker polls again; were it later,
        // the signal would be applied first anyway and the check below would still hold.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = worker().spawn();
        let seen = tokio::time::timeout(Duration::from_secs(30), query)
            .await
            .expect("the query is answered")
            .unwrap()
            .unwrap();
        counter.finish().await.unwrap();
        let result = counter.result().await;
        let history = counter.fetch_history().await.unwrap();
        second.stop().await.unwrap();
        Report::new(format!("{result:?}; the query saw {seen}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(2); the query saw 2");
}

#[tokio::test]
async fn an_abandoned_activity_ends_as_canceled_at_once_and_is_never_told() {
    // The abandoned activity runs on: when (and whether) its end is recorded depends on timing.
    let racing = [
        "ACTIVITY_TASK_STARTED",
        "ACTIVITY_TASK_CANCELED",
        "ACTIVITY_TASK_FAILED",
    ];
    let report =
        scenario::<CancelsActivity>(TestEnvOptions::default(), &racing, cancel_worker, ("abandon".into(),)).await;
    assert_eq!(
        report.outcome,
        "completed: \"activity canceled; it saw the cancel: false\""
    );
    assert!(!report.events.contains(&"ACTIVITY_TASK_CANCEL_REQUESTED".to_string()));
}

// Continue-as-new: three runs, the last one's result.

#[workflow]
#[derive(Default)]
pub struct Chain;

#[workflow]
impl Chain {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, round: u32) -> WorkflowResult<String> {
        if round < 3 {
            return Err(ctx.continue_as_new(round + 1));
        }
        Ok(format!("round {round}, attempt {}", ctx.info().attempt))
    }
}

#[tokio::test]
async fn continue_as_new_runs_on_to_the_last_run() {
    let report = scenario::<Chain>(
        TestEnvOptions::default(),
        &[],
        |c, q| Worker::builder(c, q).workflow::<Chain>().build().unwrap(),
        (1,),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"round 3, attempt 1\"");
}

// A workflow's run timeout: the run ends as timed out.

#[workflow]
#[derive(Default)]
pub struct Overslept;

#[workflow]
impl Overslept {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_workflow_past_its_run_timeout_times_out() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Overslept>()
            .build()
            .unwrap()
            .spawn();
        let options = StartOptions::new(unique_id("scenario"), &queue).run_timeout(Duration::from_secs(2));
        let handle = client.start::<Overslept>(options, ()).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(60), handle.result())
            .await
            .expect("the run ends");
        let history = handle.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}"), &history)
    })
    .await;
    assert!(report.outcome.contains("TimedOut"), "{}", report.outcome);
    assert_eq!(
        report.events.last().map(String::as_str),
        Some("WORKFLOW_EXECUTION_TIMED_OUT")
    );
}

// Heartbeat details carry an activity's progress into its next attempt.

#[activity(
    start_to_close_timeout = "10s",
    retry(initial_interval = "100ms", maximum_attempts = 3)
)]
async fn resumable(ctx: ActivityContext) -> Result<String, ActivityError> {
    let done: u32 = ctx.heartbeat_details().map_err(ActivityError::from_error)?.unwrap_or(0);
    if ctx.info().attempt == 1 {
        // The failure carries the last heartbeat's details to the server.
        ctx.heartbeat(&5u32);
        return Err(ActivityError::retryable("lost the connection", "Transient"));
    }
    Ok(format!("attempt {} resumed after {done}", ctx.info().attempt))
}

#[workflow]
#[derive(Default)]
pub struct Resumes;

#[workflow]
impl Resumes {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.activity(resumable, ()).await
    }
}

#[tokio::test]
async fn heartbeat_details_carry_progress_into_the_next_attempt() {
    let report = scenario::<Resumes>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<Resumes>()
                .activity(resumable)
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"attempt 2 resumed after 5\"");
}

// Signals between workflows: a parent signals its child, which was waiting for it.

#[workflow]
#[derive(Default)]
pub struct Waiter {
    go: bool,
}

#[workflow]
impl Waiter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.go).await?;
        Ok("signalled".into())
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }
}

#[workflow]
#[derive(Default)]
pub struct Signaller;

#[workflow]
impl Signaller {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let child = ctx.child::<Waiter>(()).start().await?;
        child.signal_by_name("go", ()).await?;
        Ok(format!("child {}", child.result().await?))
    }
}

#[tokio::test]
async fn a_workflow_signals_another() {
    let report = scenario::<Signaller>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<Signaller>()
                .workflow::<Waiter>()
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"child signalled\"");
}

// Search attributes upserted by the workflow.

const STAGE: workflow_runtime::client::SearchAttributeKey<String> =
    workflow_runtime::client::SearchAttributeKey::keyword("CustomKeywordField");

#[workflow]
#[derive(Default)]
pub struct Staged;

#[workflow]
impl Staged {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.upsert_search_attributes([STAGE.set("packing".to_string())])?;
        ctx.sleep(Duration::from_millis(10)).await?;
        ctx.upsert_search_attributes([STAGE.set("shipped".to_string())])?;
        Ok("shipped".into())
    }
}

#[tokio::test]
async fn a_workflow_upserts_its_search_attributes() {
    let report = scenario::<Staged>(
        TestEnvOptions::default(),
        &[],
        |c, q| Worker::builder(c, q).workflow::<Staged>().build().unwrap(),
        (),
    )
    .await;
    assert_eq!(
        report
            .events
            .iter()
            .filter(|e| *e == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
            .count(),
        2
    );
}

// An update: validated, accepted and answered.

#[workflow]
#[derive(Default)]
pub struct Priced {
    price: u64,
    done: bool,
}

#[workflow]
impl Priced {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.price))
    }

    #[update(validator = "positive")]
    fn set_price(&mut self, price: u64) -> WorkflowResult<u64> {
        Ok(std::mem::replace(&mut self.price, price))
    }

    fn positive(&self, price: u64) -> Result<(), String> {
        if price == 0 {
            Err("a price is positive".into())
        } else {
            Ok(())
        }
    }

    #[signal]
    fn close(&mut self) {
        self.done = true;
    }
}

#[tokio::test]
async fn updates_are_validated_and_answered() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Priced>()
            .build()
            .unwrap()
            .spawn();
        let priced = Priced::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        let first = priced.set_price(250).await;
        let refused = priced.set_price(0).await;
        let second = priced.set_price(300).await;
        priced.close().await.unwrap();
        let result = priced.result().await;
        let history = priced.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        let refused = refused.map_err(|e| e.to_string().contains("a price is positive"));
        Report::new(format!("{first:?} {refused:?} {second:?} {result:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(0) Err(true) Ok(250) Ok(300)");
}

// A workflow task that panics once: the server retries the task and the run goes on; so does
// the test environment when asked to retry failed tasks.

/// The runs whose workflow code panicked once already (by workflow id).
static PANICKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[workflow]
#[derive(Default)]
pub struct PanicsOnce;

#[workflow]
impl PanicsOnce {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let id = ctx.info().workflow_id;
        let first_time = {
            let mut panicked = PANICKED.lock().unwrap();
            let first = !panicked.contains(&id);
            panicked.push(id);
            first
        };
        if first_time {
            panic!("a bug fixed by the next deploy");
        }
        Ok("recovered".into())
    }
}

#[tokio::test]
async fn a_workflow_task_that_panics_once_is_retried_and_the_run_goes_on() {
    let options = TestEnvOptions::default().retry_failed_workflow_tasks(true);
    let report = scenario::<PanicsOnce>(
        options,
        &[],
        |c, q| Worker::builder(c, q).workflow::<PanicsOnce>().build().unwrap(),
        (),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"recovered\"");
}

#[tokio::test]
async fn by_default_a_panicking_workflow_task_fails_the_run_in_the_test_environment() {
    let env = TestEnv::start().await.unwrap();
    let report = run_to_end::<PanicsOnce>(
        env.client(),
        |c, q| Worker::builder(c, q).workflow::<PanicsOnce>().build().unwrap(),
        (),
    )
    .await;
    assert!(
        report.outcome.contains("a bug fixed by the next deploy"),
        "{}",
        report.outcome
    );
}

// An activity that stops heartbeating times out, and how the workflow sees it.

/// The kind of an activity's failure as the workflow sees it: its retry state and the root
/// cause's timeout type (or message).
fn describe_activity_failure(e: &WorkflowError) -> String {
    let retry_state = match &*e.kind {
        FailureKind::Activity { retry_state, .. } => format!("{retry_state:?}"),
        other => format!("not an activity failure: {other:?}"),
    };
    match &*e.root_cause().kind {
        FailureKind::Timeout { timeout_type, .. } => format!("{retry_state}: {timeout_type:?}"),
        _ => format!("{retry_state}: {}", e.root_cause().message),
    }
}

/// Heartbeats once, then goes quiet for longer than its heartbeat timeout.
#[activity(
    start_to_close_timeout = "10s",
    heartbeat_timeout = "1s",
    retry(maximum_attempts = 1)
)]
async fn goes_quiet(ctx: ActivityContext) -> Result<(), ActivityError> {
    ctx.heartbeat(&());
    for _ in 0..60 {
        if ctx.is_cancelled() || ctx.is_worker_shutting_down() {
            return Err(ActivityError::Canceled);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[workflow]
#[derive(Default)]
pub struct TimesOutActivities;

#[workflow]
impl TimesOutActivities {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let quiet = ctx.activity(goes_quiet, ()).await;
        let describe = |r: Result<(), WorkflowError>| match r {
            Ok(()) => "completed".to_string(),
            Err(e) => describe_activity_failure(&e),
        };
        Ok(format!("quiet: {}", describe(quiet)))
    }
}

#[tokio::test]
async fn an_activity_that_stops_heartbeating_times_out() {
    let report = scenario::<TimesOutActivities>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<TimesOutActivities>()
                .activity(goes_quiet)
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(
        report.outcome,
        "completed: \"quiet: MaximumAttemptsReached: Heartbeat\""
    );
}

// A local activity retried to success, recorded as one marker.

static LOCAL_TRIES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[activity(
    start_to_close_timeout = "5s",
    retry(initial_interval = "50ms", maximum_attempts = 5)
)]
async fn flaky_lookup(ctx: ActivityContext, key: String) -> Result<String, ActivityError> {
    let tries = {
        let mut tries = LOCAL_TRIES.lock().unwrap();
        tries.push(key.clone());
        tries.iter().filter(|k| **k == key).count()
    };
    if tries < 3 {
        return Err(ActivityError::retryable("not yet", "NotYet"));
    }
    Ok(format!("found on attempt {}", ctx.info().attempt))
}

#[workflow]
#[derive(Default)]
pub struct LooksUp;

#[workflow]
impl LooksUp {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.local_activity(flaky_lookup, ctx.info().workflow_id).await
    }
}

#[tokio::test]
async fn a_local_activity_is_retried_to_success_and_recorded_once() {
    let report = scenario::<LooksUp>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<LooksUp>()
                .activity(flaky_lookup)
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"found on attempt 3\"");
    assert_eq!(report.events.iter().filter(|e| *e == "MARKER_RECORDED").count(), 1);
}

// Signal-with-start and update-with-start: the first call starts the workflow, the second
// reaches the running one.

#[tokio::test]
async fn signal_with_start_starts_once_then_signals() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Counter>()
            .build()
            .unwrap()
            .spawn();
        let options = StartOptions::new(unique_id("scenario"), &queue);
        let first = Counter::bump_with_start(&client, options.clone()).await.unwrap();
        let second = Counter::bump_with_start(&client, options).await.unwrap();
        let same_run = first.run_id() == second.run_id();
        second.finish().await.unwrap();
        let result = second.result().await;
        let history = second.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}; one run: {same_run}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(2); one run: true");
}

#[tokio::test]
async fn update_with_start_starts_once_then_updates() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Priced>()
            .build()
            .unwrap()
            .spawn();
        let options = StartOptions::new(unique_id("scenario"), &queue)
            .id_conflict_policy(workflow_runtime::client::IdConflictPolicy::UseExisting);
        let (first, before) = Priced::set_price_with_start(&client, options.clone(), 100)
            .await
            .unwrap();
        let (_, again) = Priced::set_price_with_start(&client, options, 200).await.unwrap();
        first.close().await.unwrap();
        let result = first.result().await;
        let history = first.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{before} {again} {result:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "0 100 Ok(200)");
}
