//! Activity cancellation under each cancellation type, and activities cancelled with their
//! workflow.

use super::*;

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
