//! Activities: heartbeats, heartbeat timeouts, local activities retried.

use super::*;

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

// Each activity timeout the server enforces: start-to-close (an attempt that overruns, retried to
// its last attempt), schedule-to-close (no retry fits before the deadline), schedule-to-start
// (a task queue no worker polls).

/// Runs until cancelled or the worker stops, for at most 3 s.
async fn until_told(ctx: &ActivityContext) {
    for _ in 0..60 {
        if ctx.is_cancelled() || ctx.is_worker_shutting_down() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[activity(
    start_to_close_timeout = "1s",
    retry(initial_interval = "100ms", maximum_attempts = 2)
)]
async fn overruns(ctx: ActivityContext) -> Result<(), ActivityError> {
    until_told(&ctx).await;
    Err(ActivityError::Canceled)
}

#[activity(schedule_to_close_timeout = "1s", retry(initial_interval = "5s"))]
async fn always_fails() -> Result<(), ActivityError> {
    Err(ActivityError::retryable("out of stock", "OutOfStock"))
}

#[activity(start_to_close_timeout = "5s")]
async fn never_polled() -> Result<(), ActivityError> {
    Ok(())
}

#[workflow]
#[derive(Default)]
pub struct TimesOutEachWay;

#[workflow]
impl TimesOutEachWay {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        let describe = |r: Result<(), WorkflowError>| match r {
            Ok(()) => "completed".to_string(),
            Err(e) => describe_activity_failure(&e),
        };
        let start_to_close = ctx.activity(overruns, ()).await;
        let schedule_to_close = ctx.activity(always_fails, ()).await;
        let schedule_to_start = ctx
            .activity(never_polled, ())
            .task_queue(format!("{}-unpolled", ctx.info().task_queue))
            .schedule_to_start_timeout(Duration::from_secs(1))
            .await;
        Ok(vec![
            describe(start_to_close),
            describe(schedule_to_close),
            describe(schedule_to_start),
        ])
    }
}

#[tokio::test]
async fn each_activity_timeout_ends_the_activity_as_the_server_does() {
    let report = scenario::<TimesOutEachWay>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<TimesOutEachWay>()
                .activity(overruns)
                .activity(always_fails)
                .activity(never_polled)
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(
        report.outcome,
        "completed: [\"MaximumAttemptsReached: StartToClose\", \"Timeout: out of stock\", \"Timeout: ScheduleToStart\"]"
    );
}
