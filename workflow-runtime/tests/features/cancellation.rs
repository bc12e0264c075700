//! Cancellation: a workflow asked to cancel ends as canceled, and a cancellation scope cancels
//! its activity and timer under each activity cancellation type (cancelled by a signal or by
//! the workflow's own cancellation) while cleanup still runs in a detached scope.

use crate::{connect, event_names, position, record_history, replayer};
use std::time::Duration;
use workflow_runtime::client::proto::enums::WorkflowExecutionStatus;
use workflow_runtime::futures::future::select;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;
use workflow_runtime::workflow::CancellationType;

/// Waits for the cancel request and ends as canceled.
#[workflow]
#[derive(Default)]
pub struct Patient;

#[workflow(name = "PatientWorkflow")]
impl Patient {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.cancelled().await;
        Err(WorkflowError::canceled("asked to stop"))
    }
}

/// Works (heartbeating) until cancelled, for at most 10 s.
#[activity(start_to_close_timeout = "1m", heartbeat_timeout = "1s", retry(maximum_attempts = 1))]
async fn long_job(ctx: ActivityContext) -> Result<String, ActivityError> {
    for _ in 0..200 {
        ctx.heartbeat(&());
        if ctx.is_cancelled() {
            return Err(ActivityError::Canceled);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok("job finished".into())
}

#[activity(start_to_close_timeout = "10s")]
async fn tidy() -> Result<String, ActivityError> {
    Ok("tidied".into())
}

/// An activity and a timer in one cancellation scope, cancelled by a signal or by the
/// workflow's own cancellation; cleanup runs an activity afterwards, in a detached scope.
#[workflow]
#[derive(Default)]
pub struct Guarded {
    stop: bool,
}

#[workflow(name = "GuardedWorkflow")]
impl Guarded {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, how: String) -> WorkflowResult<String> {
        let scope = ctx.cancellation_scope();
        let how = match how.as_str() {
            "wait" => CancellationType::WaitCancellationCompleted,
            "abandon" => CancellationType::Abandon,
            _ => CancellationType::TryCancel,
        };
        let job = ctx
            .activity(long_job, ())
            .cancellation_scope(&scope)
            .cancellation_type(how)
            .into_future();
        let timer = ctx.sleep(Duration::from_secs(3600)).cancellation_scope(&scope);
        // Cancels the scope on the signal; ends as well when the workflow's cancellation did.
        let stopper = async {
            select(ctx.wait_condition(|s| s.stop), scope.cancelled()).await;
            scope.cancel();
        };
        let (job, timer, ()) = workflow_runtime::futures::join!(job, timer, stopper);
        let job = match job {
            Err(e) if e.is_canceled() => "job canceled".to_string(),
            other => other?,
        };
        let timer = if timer.is_err() {
            "timer canceled"
        } else {
            "timer fired"
        };
        // Detached: runs even when the workflow itself was asked to cancel.
        let tidied = ctx.detached_scope().run(ctx.activity(tidy, ())).await?;
        Ok(format!("{job}, {timer}, {tidied}"))
    }

    #[signal]
    fn stop(&mut self) {
        self.stop = true;
    }
}

#[tokio::test]
async fn a_cancelled_workflow_ends_as_canceled() {
    let client = connect().await;
    let tq = unique("cancel");
    let worker = Worker::builder(&client, &tq).workflow::<Patient>().build().unwrap();
    let running = worker.spawn();

    let patient = Patient::start(&client, StartOptions::new(unique("patient"), &tq))
        .await
        .unwrap();
    // Wait until the first task ran (the run is waiting), then cancel.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = patient.fetch_history().await.unwrap();
        if history.events.len() >= 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first workflow task never completed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    patient.cancel("enough").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(30), patient.result())
        .await
        .unwrap()
    {
        Err(ClientError::WorkflowCanceled { .. }) => {}
        other => panic!("expected a canceled workflow, got {other:?}"),
    }
    assert_eq!(
        patient.describe().await.unwrap().summary.status,
        WorkflowExecutionStatus::Canceled
    );
    let history = patient.fetch_history().await.unwrap();
    replayer().replay(&history).unwrap();
    record_history("cancel", &history);

    running.stop().await.unwrap();
}

/// Each cancellation type, on the server: the activity and the timer of the scope end as
/// canceled and cleanup still runs an activity; what history shows differs by type.
#[tokio::test]
async fn cancellation_scopes_and_activity_cancellation_types() {
    let client = connect().await;
    let tq = unique("guarded");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Guarded>()
        .activity(long_job)
        .activity(tidy)
        .build()
        .unwrap();
    let running = worker.spawn();

    let mut histories = Vec::new();
    for how in ["wait", "try", "abandon", "workflow-cancel"] {
        let guarded = Guarded::start(&client, StartOptions::new(unique(how), &tq), how.to_string())
            .await
            .unwrap();
        // Cancel once the activity runs.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let description = guarded.describe().await.unwrap();
            let started = description
                .raw
                .pending_activities
                .iter()
                .any(|a| a.state == workflow_runtime::client::proto::enums::PendingActivityState::Started as i32);
            if started {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{how}: the activity never started"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if how == "workflow-cancel" {
            guarded.cancel("stop it").await.unwrap();
        } else {
            guarded.stop().await.unwrap();
        }
        let result = tokio::time::timeout(Duration::from_secs(30), guarded.result())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(result, "job canceled, timer canceled, tidied", "{how}");
        let history = guarded.fetch_history().await.unwrap();
        replayer().replay(&history).unwrap();
        histories.push((how, history));
    }
    for (how, history) in &histories {
        let names = event_names(history);
        let requested = position(&names, "ACTIVITY_TASK_CANCEL_REQUESTED");
        let canceled = position(&names, "ACTIVITY_TASK_CANCELED");
        let tidy_scheduled = names
            .iter()
            .enumerate()
            .filter(|(_, n)| *n == "ACTIVITY_TASK_SCHEDULED")
            .nth(1)
            .map(|(i, _)| i)
            .expect("the cleanup activity was scheduled");
        assert!(names.contains(&"TIMER_CANCELED".to_string()), "{how}: {names:?}");
        match *how {
            // The workflow waited for the activity to acknowledge before cleaning up.
            "wait" => assert!(requested.is_some() && canceled.unwrap() < tidy_scheduled, "{names:?}"),
            // Cleanup was scheduled in the same task as the cancel request.
            "try" | "workflow-cancel" => assert!(
                requested.unwrap() < tidy_scheduled && canceled.is_none_or(|c| c > tidy_scheduled),
                "{how}: {names:?}"
            ),
            // Nobody told the activity.
            _ => assert!(requested.is_none(), "{how}: {names:?}"),
        }
    }
    record_history("cancellation-scope-wait", &histories[0].1);
    running.stop().await.unwrap();
}
