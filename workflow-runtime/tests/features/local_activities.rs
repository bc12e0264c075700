//! Local activities: results recorded as markers instead of activity tasks, retries in the
//! worker, a slow one keeping the workflow task alive, and a replay without a cache that runs
//! none of them again.

use crate::{connect, event_names, position, record_history, replayer};
use std::time::Duration;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;

/// Attempts of `flaky_rate` so far (it fails its first two), across all tests of this binary.
static RATE_ATTEMPTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// Runs of `slow_sum` so far.
static SLOW_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[activity(start_to_close_timeout = "5s")]
async fn rate(currency: String) -> Result<u64, ActivityError> {
    Ok(if currency == "EUR" { 110 } else { 100 })
}

#[activity(
    start_to_close_timeout = "5s",
    retry(initial_interval = "100ms", maximum_attempts = 5)
)]
async fn flaky_rate(ctx: ActivityContext) -> Result<u64, ActivityError> {
    RATE_ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if ctx.info().attempt < 3 {
        return Err(ActivityError::retryable("rates not ready", "NotReady"));
    }
    Ok(ctx.info().attempt as u64)
}

#[activity(start_to_close_timeout = "30s")]
async fn slow_sum(a: u64, b: u64) -> Result<u64, ActivityError> {
    SLOW_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    Ok(a + b)
}

#[activity(start_to_close_timeout = "5s", retry(maximum_attempts = 1))]
async fn broken() -> Result<u64, ActivityError> {
    Err(ActivityError::non_retryable("no rates today", "Closed"))
}

/// Local activities: quick ones, a retried one, one slower than the workflow task timeout,
/// a failing one; then it waits for a signal so a replay can be forced.
#[workflow]
#[derive(Default)]
pub struct Quote {
    go: bool,
}

#[workflow(name = "QuoteWorkflow")]
impl Quote {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let eur = ctx.local_activity(rate, "EUR".to_string()).await?;
        let usd = ctx.local_activity(rate, "USD".to_string()).await?;
        let attempts = ctx.local_activity(flaky_rate, ()).await?;
        let sum = ctx.local_activity(slow_sum, (eur, usd)).await?;
        let refused = match ctx.local_activity(broken, ()).await {
            Err(e) => e.root_cause().message.clone(),
            Ok(v) => v.to_string(),
        };
        ctx.wait_condition(|s| s.go).await?;
        Ok(format!("{eur}+{usd}={sum} after {attempts} attempts; {refused}"))
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }
}

/// Local activities on the server: results recorded as markers (no activity tasks), retried
/// in the worker, a slow one keeping the workflow task alive, and a replay by a worker without
/// a cache that runs none of them again.
#[tokio::test]
async fn local_activities_record_markers_retry_and_keep_the_task_alive() {
    use std::sync::atomic::Ordering::SeqCst;
    let client = connect().await;
    let tq = unique("quotes");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Quote>()
        .activity(rate)
        .activity(flaky_rate)
        .activity(slow_sum)
        .activity(broken)
        .build()
        .unwrap();
    let running = worker.spawn();
    let before = (RATE_ATTEMPTS.load(SeqCst), SLOW_RUNS.load(SeqCst));
    // A 2 s workflow task timeout: the 2.5 s local activity outlasts 80% of it.
    let quote = Quote::start(
        &client,
        StartOptions::new(unique("quote"), &tq).task_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = quote.fetch_history().await.unwrap();
        let markers = history
            .events
            .iter()
            .filter(|e| matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(a)) if a.marker_name == "core_local_activity"))
            .count();
        if markers == 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {markers} local activity markers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await.unwrap();
    assert_eq!(
        (RATE_ATTEMPTS.load(SeqCst) - before.0, SLOW_RUNS.load(SeqCst) - before.1),
        (3, 1)
    );

    // A worker without a cache replays the whole history to handle the signal: the local
    // activities are read from their markers, not run again.
    let replaying = Worker::builder(&client, &tq)
        .workflow::<Quote>()
        .activity(rate)
        .activity(flaky_rate)
        .activity(slow_sum)
        .activity(broken)
        .sticky_cache_size(0)
        .build()
        .unwrap();
    let running = replaying.spawn();
    quote.go().await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), quote.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, "110+100=210 after 3 attempts; no rates today");
    assert_eq!(
        (RATE_ATTEMPTS.load(SeqCst) - before.0, SLOW_RUNS.load(SeqCst) - before.1),
        (3, 1)
    );
    running.stop().await.unwrap();

    let history = quote.fetch_history().await.unwrap();
    let names = event_names(&history);
    assert!(!names.iter().any(|n| n == "ACTIVITY_TASK_SCHEDULED"), "{names:?}");
    // The slow one kept the task alive: the first task was answered with the markers so far
    // and a new task followed at once, before anything else happened.
    let signal = position(&names, "WORKFLOW_EXECUTION_SIGNALED").unwrap();
    let tasks_before_signal = names[..signal]
        .iter()
        .filter(|n| *n == "WORKFLOW_TASK_COMPLETED")
        .count();
    assert_eq!(tasks_before_signal, 2, "{names:?}");
    replayer().replay(&history).unwrap();
    record_history("local-activities", &history);
}

#[activity(start_to_close_timeout = "30s")]
async fn slow_double(n: u64) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(2500)).await;
    Ok(2 * n)
}

/// A local activity slower than the workflow task timeout, in a task after the first.
#[workflow]
#[derive(Default)]
pub struct LateSlowQuote;

#[workflow(name = "LateSlowQuote")]
impl LateSlowQuote {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.sleep(Duration::from_millis(100)).await?;
        ctx.local_activity(slow_double, 21).await
    }
}

/// The task after a timer comes to the sticky queue with only its new events: the run's own
/// workflow task timeout (2 s, not the server's default 10 s) still decides when a slow local
/// activity keeps the task alive, so the task never times out.
#[tokio::test]
async fn a_slow_local_activity_keeps_a_later_task_alive_by_the_runs_timeout() {
    let client = connect().await;
    let tq = unique("late-quotes");
    let running = Worker::builder(&client, &tq)
        .workflow::<LateSlowQuote>()
        .activity(slow_double)
        .build()
        .unwrap()
        .spawn();
    let quote = LateSlowQuote::start(
        &client,
        StartOptions::new(unique("late-quote"), &tq).task_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), quote.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, 42);
    running.stop().await.unwrap();
    let names = event_names(&quote.fetch_history().await.unwrap());
    assert!(!names.iter().any(|n| n == "WORKFLOW_TASK_TIMED_OUT"), "{names:?}");
    let completed_tasks = names.iter().filter(|n| *n == "WORKFLOW_TASK_COMPLETED").count();
    assert!(
        completed_tasks >= 3,
        "the slow task was kept alive by an extra task: {names:?}"
    );
}
