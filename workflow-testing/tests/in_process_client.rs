//! The environment's own client calls its server in this process; other clients reach the
//! same server on its port. Both see one state, and a call's deadline ends an in-process call
//! as it ends a network one.

use std::time::Duration;
use workflow_client::proto::taskqueue::TaskQueue;
use workflow_client::proto::workflowservice as ws;
use workflow_client::{Client, StartOptions};
use workflow_testing::TestEnv;

fn poll(task_queue: &str) -> tonic::Request<ws::PollWorkflowTaskQueueRequest> {
    let mut request = tonic::Request::new(ws::PollWorkflowTaskQueueRequest {
        namespace: "default".into(),
        task_queue: Some(TaskQueue {
            name: task_queue.into(),
            ..Default::default()
        }),
        identity: "in-process-test".into(),
        ..Default::default()
    });
    // Far shorter than the environment's long poll (10 s) on an empty queue.
    request.set_timeout(Duration::from_millis(50));
    request
}

/// An environment, and a second client that reaches it over the network on its port.
async fn env_and_network_client() -> (TestEnv, Client) {
    let env = TestEnv::start().await.unwrap();
    let network = Client::connect(env.client().options().clone()).await.unwrap();
    (env, network)
}

#[tokio::test]
async fn a_deadline_ends_an_in_process_call_as_it_ends_a_network_call() {
    let (env, network) = env_and_network_client().await;

    let in_process = env
        .client()
        .workflow_service()
        .poll_workflow_task_queue(poll("empty"))
        .await;
    let over_network = network.workflow_service().poll_workflow_task_queue(poll("empty")).await;

    let in_process = in_process.expect_err("an in-process poll past its deadline fails");
    let over_network = over_network.expect_err("a network poll past its deadline fails");
    assert_eq!(in_process.code(), over_network.code());
    assert_eq!(in_process.message(), over_network.message());
}

#[tokio::test]
async fn in_process_and_network_clients_see_one_server() {
    let (env, network) = env_and_network_client().await;

    let started = env
        .client()
        .start_untyped("Anything", StartOptions::new("seen-by-both", "nobody-polls"), vec![])
        .await
        .unwrap();
    let described = network.untyped_handle("seen-by-both", None).describe().await.unwrap();
    assert_eq!(Some(described.summary.run_id.as_str()), started.run_id());
}
