//! Eager workflow start: the server hands the first workflow task back in the start's answer
//! and the worker built on the same client runs it, with no poll; without such a worker the
//! start goes the usual way.

use crate::connect;
use std::time::Duration;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;

#[workflow]
#[derive(Default)]
pub struct Eager;

#[workflow]
impl Eager {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("hello {name}"))
    }
}

/// Who started the run's first workflow task: the starting client for an eager start (the
/// server records the start's identity), the polling worker otherwise.
async fn first_task_taken_by(handle: &WorkflowHandle<Eager>) -> String {
    let history = handle.fetch_history().await.unwrap();
    history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => Some(a.identity.clone()),
            _ => None,
        })
        .expect("a workflow task started")
}

#[tokio::test]
async fn an_eager_start_runs_its_first_task_without_a_poll_and_falls_back_without_a_worker() {
    let client = connect().await;
    let tq = unique("eager");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Eager>()
        .options(WorkerOptions {
            identity: Some("polling-worker".into()),
            ..Default::default()
        })
        .build()
        .unwrap();
    let running = worker.spawn();
    let eager = Eager::start(
        &client,
        StartOptions::new(unique("eager"), &tq).eager(true),
        "ada".into(),
    )
    .await
    .unwrap();
    let polled = Eager::start(&client, StartOptions::new(unique("polled"), &tq), "bob".into())
        .await
        .unwrap();
    let bound = Duration::from_secs(30);
    assert_eq!(
        tokio::time::timeout(bound, eager.result()).await.unwrap().unwrap(),
        "hello ada"
    );
    assert_eq!(
        tokio::time::timeout(bound, polled.result()).await.unwrap().unwrap(),
        "hello bob"
    );
    assert_eq!(
        first_task_taken_by(&eager).await,
        client.identity(),
        "handed back to the start"
    );
    assert_eq!(first_task_taken_by(&polled).await, "polling-worker");
    running.stop().await.unwrap();

    // No worker of this client polls the queue any more: the start goes the usual way, and a
    // worker started afterwards polls the task.
    let later = Eager::start(
        &client,
        StartOptions::new(unique("later"), &tq).eager(true),
        "cy".into(),
    )
    .await
    .unwrap();
    let worker = Worker::builder(&client, &tq).workflow::<Eager>().build().unwrap();
    let running = worker.spawn();
    assert_eq!(
        tokio::time::timeout(bound, later.result()).await.unwrap().unwrap(),
        "hello cy"
    );
    running.stop().await.unwrap();
}
