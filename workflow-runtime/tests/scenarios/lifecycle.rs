//! A run's life: continue-as-new, run timeout, search attributes, workflow task failures and
//! timeouts.

use super::*;

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

// A workflow task taken and never answered: it times out and the next worker runs the workflow.

#[tokio::test]
async fn a_workflow_task_never_answered_times_out_and_is_handed_on() {
    use workflow_runtime::client::proto::taskqueue::TaskQueue;
    use workflow_runtime::client::proto::workflowservice::PollWorkflowTaskQueueRequest;
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let options = StartOptions::new(unique_id("scenario"), &queue).task_timeout(Duration::from_secs(1));
        let handle = client.start::<Chain>(options, (3,)).await.unwrap();
        // A worker that takes the first task and says nothing more.
        let poll = PollWorkflowTaskQueueRequest {
            namespace: client.namespace().to_string(),
            task_queue: Some(TaskQueue {
                name: queue.clone(),
                ..Default::default()
            }),
            identity: "a worker that went away".into(),
            ..Default::default()
        };
        let mut poll = tonic::Request::new(poll);
        poll.set_timeout(Duration::from_secs(30));
        let taken = client
            .workflow_service()
            .poll_workflow_task_queue(poll)
            .await
            .expect("the first task")
            .into_inner();
        assert_eq!(taken.attempt, 1);
        let running = Worker::builder(&client, &queue)
            .workflow::<Chain>()
            .build()
            .unwrap()
            .spawn();
        let result = tokio::time::timeout(Duration::from_secs(60), handle.result()).await;
        let history = handle.fetch_history().await.unwrap();
        let Ok(result) = result else {
            panic!("the run did not end within 60 s: {:?}", event_names(&history));
        };
        running.stop().await.unwrap();
        let task_events: Vec<String> = event_names(&history)
            .into_iter()
            .filter(|e| e.starts_with("WORKFLOW_TASK_"))
            .collect();
        Report::new(format!("{result:?}; workflow task events: {task_events:?}"), &history)
    })
    .await;
    assert_eq!(
        report.outcome,
        "Ok(\"round 3, attempt 1\"); workflow task events: [\"WORKFLOW_TASK_SCHEDULED\", \"WORKFLOW_TASK_STARTED\", \"WORKFLOW_TASK_TIMED_OUT\", \"WORKFLOW_TASK_SCHEDULED\", \"WORKFLOW_TASK_STARTED\", \"WORKFLOW_TASK_COMPLETED\"]"
    );
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
