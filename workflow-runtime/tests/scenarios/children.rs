//! Children: retried by their retry policy, timed out past their execution timeout.

use super::*;

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

// A child cancelled under each cancellation type: it tidies up (a timer in a detached scope)
// before it ends as canceled; only with wait-cancellation-completed does the parent wait for
// that, and an abandoned child is never told.

#[workflow]
#[derive(Default)]
pub struct TidiesUp;

#[workflow]
impl TidiesUp {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        let slept = ctx.sleep(Duration::from_secs(3600)).await;
        if slept.is_err() {
            ctx.detached_scope().run(ctx.sleep(Duration::from_secs(2))).await?;
        }
        slept
    }
}

#[workflow]
#[derive(Default)]
pub struct CancelsChild;

#[workflow]
impl CancelsChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, how: String) -> WorkflowResult<String> {
        let how = match how.as_str() {
            "wait" => workflow_runtime::workflow::CancellationType::WaitCancellationCompleted,
            "abandon" => workflow_runtime::workflow::CancellationType::Abandon,
            _ => workflow_runtime::workflow::CancellationType::TryCancel,
        };
        let scope = ctx.cancellation_scope();
        let child = ctx
            .child::<TidiesUp>(())
            .cancellation_scope(&scope)
            .cancellation_type(how)
            .start()
            .await?;
        scope.cancel();
        let ended = match child.result().await {
            Ok(()) => "completed".to_string(),
            Err(e) if e.is_canceled() => "canceled".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        Ok(format!("child {ended}"))
    }
}

fn child_cancel_worker(client: &Client, queue: &str) -> Worker {
    Worker::builder(client, queue)
        .workflow::<CancelsChild>()
        .workflow::<TidiesUp>()
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_try_cancelled_child_is_asked_and_the_parent_goes_on() {
    let report = scenario::<CancelsChild>(TestEnvOptions::default(), &[], child_cancel_worker, ("try".into(),)).await;
    assert_eq!(report.outcome, "completed: \"child canceled\"");
    assert!(!report.events.contains(&"CHILD_WORKFLOW_EXECUTION_CANCELED".to_string()));
}

#[tokio::test]
async fn a_wait_cancelled_child_is_waited_for_until_it_tidied_up() {
    let report = scenario::<CancelsChild>(TestEnvOptions::default(), &[], child_cancel_worker, ("wait".into(),)).await;
    assert_eq!(report.outcome, "completed: \"child canceled\"");
    assert!(report.events.contains(&"CHILD_WORKFLOW_EXECUTION_CANCELED".to_string()));
}

#[tokio::test]
async fn an_abandoned_child_is_never_told() {
    let report =
        scenario::<CancelsChild>(TestEnvOptions::default(), &[], child_cancel_worker, ("abandon".into(),)).await;
    assert_eq!(report.outcome, "completed: \"child canceled\"");
    assert!(!report.events.iter().any(|e| e.starts_with("REQUEST_CANCEL_EXTERNAL")));
}
