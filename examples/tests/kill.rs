//! A worker killed with SIGKILL: a new worker finishes its runs, and an activity without
//! retries is not run a second time.

use examples::{at_most_once, durable_timers};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use workflow_runtime::client::proto::enums::EventType;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::testing::DevServer;
use workflow_runtime::{Client, ClientOptions};

fn spawn_worker(binary: &str) -> Child {
    Command::new(binary)
        .arg("worker")
        .env("TEMPORAL_ADDRESS", DevServer::shared_address())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill_9(mut child: Child) {
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

async fn wait_for(client: &Client, workflow_id: &str, what: &str, found: impl Fn(&Attributes) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = client.untyped_handle(workflow_id, None).fetch_history().await.unwrap();
        if history.events.iter().any(|e| e.attributes.as_ref().is_some_and(&found)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_killed_worker_loses_nothing_and_runs_no_activity_twice() {
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()))
        .await
        .unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();

    // Mid-timer: the worker that set the reminder dies; a new one finishes it on time.
    let timers = spawn_worker(env!("CARGO_BIN_EXE_durable_timers"));
    let reminder_id = format!("reminder-{suffix}");
    let reminder = durable_timers::start(&client, &reminder_id, "stretch", 2)
        .await
        .unwrap();
    wait_for(&client, &reminder_id, "the timer", |a| {
        matches!(a, Attributes::TimerStartedEventAttributes(_))
    })
    .await;
    kill_9(timers);

    // Mid-activity, without retries: the transfer hangs at the bank when its worker dies.
    let transfers = spawn_worker(env!("CARGO_BIN_EXE_at_most_once"));
    let transfer_id = format!("transfer-{suffix}");
    let transfer = {
        let client = client.clone();
        let id = transfer_id.clone();
        tokio::spawn(async move { at_most_once::start(&client, &id, "ada", 2_000_000).await })
    };
    // The attempt is running once the server lists it as started.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pending = client
            .untyped_handle(&transfer_id, None)
            .describe()
            .await
            .map(|d| d.raw.pending_activities)
            .unwrap_or_default();
        if pending
            .iter()
            .any(|a| a.state == workflow_runtime::client::proto::enums::PendingActivityState::Started as i32)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the transfer never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill_9(transfers);

    // A new worker process for each queue finishes both runs.
    let timers = spawn_worker(env!("CARGO_BIN_EXE_durable_timers"));
    let transfers = spawn_worker(env!("CARGO_BIN_EXE_at_most_once"));
    let reminded = tokio::time::timeout(Duration::from_secs(60), reminder.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reminded, "reminded: stretch");
    let outcome = tokio::time::timeout(Duration::from_secs(60), transfer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(outcome.starts_with("check by hand"), "{outcome}");
    // The one attempt timed out with its worker; it was never started again.
    let history = client.untyped_handle(&transfer_id, None).fetch_history().await.unwrap();
    let started: Vec<i32> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .collect();
    assert_eq!(started, [1]);
    assert!(
        history
            .events
            .iter()
            .any(|e| e.event_type == EventType::ActivityTaskTimedOut as i32)
    );
    kill_9(timers);
    kill_9(transfers);
}
