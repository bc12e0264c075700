//! Behaviour other SDKs, the `temporal` CLI and operators can see, checked on a real server:
//! what a cancel request does, how failing workflow tasks are reported, what continue-as-new
//! carries over, and how a panicking update handler is treated.

#[path = "python/peer.rs"]
mod peer;

use std::time::Duration;
use workflow_runtime::client::ClientError;
use workflow_runtime::client::proto::enums::WorkflowExecutionStatus;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, dev_server_client, event_names, find_cli, unique_id as unique};

async fn connect() -> Client {
    dev_server_client().await.unwrap()
}

/// Polls `check` on the workflow's history until it holds, for at most 30 s.
async fn wait_for_history(
    client: &Client,
    workflow_id: &str,
    what: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let handle = client.untyped_handle(workflow_id.to_string(), None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // A child may not exist yet: an empty history until it does.
        let names = match handle.fetch_history().await {
            Ok(history) => event_names(&history),
            Err(ClientError::NotFound(_)) => Vec::new(),
            Err(e) => panic!("{workflow_id}: {e}"),
        };
        if check(&names) {
            return names;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{workflow_id}: {what} never happened; history: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the workflow has an activity attempt running (its started event reaches
/// history only when it ends, so this asks describe), for at most 30 s.
async fn wait_for_started_activity(client: &Client, workflow_id: &str) {
    use workflow_runtime::client::proto::enums::PendingActivityState;
    let handle = client.untyped_handle(workflow_id.to_string(), None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pending = handle.describe().await.unwrap().raw.pending_activities;
        if pending.iter().any(|a| a.state == PendingActivityState::Started as i32) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{workflow_id}: the activity never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the `temporal` CLI against the test server, off the test's thread (the worker runs
/// there); panics with its output when it fails.
async fn cli(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(find_cli().unwrap())
            .args(&args)
            .args(["--address", &DevServer::shared_address()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "temporal {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    })
    .await
    .unwrap()
}

async fn status(client: &Client, workflow_id: &str) -> WorkflowExecutionStatus {
    let description = client
        .untyped_handle(workflow_id.to_string(), None)
        .describe()
        .await
        .unwrap();
    description.summary.status
}

// ---------------------------------------------------------------------------------------------
// 1. A cancel request cancels the run's root scope.

/// Sleeps an hour; nothing in it looks at cancellation.
#[workflow]
#[derive(Default)]
pub struct Napper;

#[workflow(name = "NapperWorkflow")]
impl Napper {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok("woke up".into())
    }
}

/// Waits for a signal that never comes.
#[workflow]
#[derive(Default)]
pub struct Waiter {
    done: bool,
}

#[workflow(name = "WaiterWorkflow")]
impl Waiter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.done).await?;
        Ok("done".into())
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }
}

/// Heartbeats until cancelled, for at most 20 s.
#[activity(start_to_close_timeout = "1m", heartbeat_timeout = "2s", retry(maximum_attempts = 1))]
async fn long_job(ctx: ActivityContext) -> Result<String, ActivityError> {
    for _ in 0..400 {
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

/// Runs an activity; when cancelled, cleans up in a detached scope and ends as canceled. A
/// timer started in the cancelled root scope afterwards ends at once.
#[workflow]
#[derive(Default)]
pub struct Cleaner;

#[workflow(name = "CleanerWorkflow")]
impl Cleaner {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        match ctx.activity(long_job, ()).await {
            Err(e) if e.is_canceled() => {
                let tidied = ctx.detached_scope().run(ctx.activity(tidy, ())).await?;
                let late = ctx.sleep(Duration::from_secs(5)).await;
                assert!(late.is_err(), "a timer in the cancelled root scope ends at once");
                Err(WorkflowError::canceled(tidied))
            }
            other => other,
        }
    }
}

/// Runs a `Napper` child to its end.
#[workflow]
#[derive(Default)]
pub struct NapParent;

#[workflow(name = "NapParentWorkflow")]
impl NapParent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let id = format!("{}-child", ctx.info().workflow_id);
        ctx.child::<Napper>(()).workflow_id(id).await
    }
}

/// Starts a `Napper` child and awaits its handle.
#[workflow]
#[derive(Default)]
pub struct NapHandleParent;

#[workflow(name = "NapHandleParentWorkflow")]
impl NapHandleParent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let id = format!("{}-child", ctx.info().workflow_id);
        let child = ctx.child::<Napper>(()).workflow_id(id).start().await?;
        child.result().await
    }
}

/// `temporal workflow cancel` on workflows that never look at cancellation: a timer, a
/// condition, an activity, a child run to its end and a child's handle each end with a
/// cancellation error, and the runs end CANCELED; cleanup in a detached scope still runs.
#[tokio::test]
async fn a_cancel_request_from_the_cli_cancels_the_root_scope() {
    let client = connect().await;
    let tq = unique("cancel");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Napper>()
        .workflow::<Waiter>()
        .workflow::<Cleaner>()
        .workflow::<NapParent>()
        .workflow::<NapHandleParent>()
        .activity(long_job)
        .activity(tidy)
        .build()
        .unwrap();
    let serving = worker.spawn();

    let napper = Napper::start(&client, StartOptions::new(unique("napper"), &tq))
        .await
        .unwrap();
    let waiter = Waiter::start(&client, StartOptions::new(unique("waiter"), &tq))
        .await
        .unwrap();
    let cleaner = Cleaner::start(&client, StartOptions::new(unique("cleaner"), &tq))
        .await
        .unwrap();
    let parent = NapParent::start(&client, StartOptions::new(unique("nap-parent"), &tq))
        .await
        .unwrap();
    let handle_parent = NapHandleParent::start(&client, StartOptions::new(unique("nap-handle"), &tq))
        .await
        .unwrap();
    let has = |name: &'static str| move |names: &[String]| names.iter().any(|n| n == name);
    wait_for_history(&client, napper.workflow_id(), "the timer", has("TIMER_STARTED")).await;
    wait_for_history(
        &client,
        waiter.workflow_id(),
        "the first task",
        has("WORKFLOW_TASK_COMPLETED"),
    )
    .await;
    wait_for_started_activity(&client, cleaner.workflow_id()).await;
    for p in [parent.workflow_id(), handle_parent.workflow_id()] {
        let child = format!("{p}-child");
        wait_for_history(&client, &child, "the child's timer", has("TIMER_STARTED")).await;
    }

    for id in [
        napper.workflow_id(),
        waiter.workflow_id(),
        cleaner.workflow_id(),
        parent.workflow_id(),
        handle_parent.workflow_id(),
    ] {
        cli(&["workflow", "cancel", "--workflow-id", id]).await;
    }
    let canceled = |r: Result<String, ClientError>| matches!(r, Err(ClientError::WorkflowCanceled { .. }));
    let within = Duration::from_secs(30);
    assert!(canceled(tokio::time::timeout(within, napper.result()).await.unwrap()));
    assert!(canceled(tokio::time::timeout(within, waiter.result()).await.unwrap()));
    let cleaned = tokio::time::timeout(within, cleaner.result()).await.unwrap();
    assert!(
        matches!(cleaned, Err(ClientError::WorkflowCanceled { .. })),
        "{cleaned:?}"
    );
    assert!(canceled(tokio::time::timeout(within, parent.result()).await.unwrap()));
    assert!(canceled(
        tokio::time::timeout(within, handle_parent.result()).await.unwrap()
    ));

    // The timer was cancelled on the server, not left to fire.
    let names = event_names(&napper.fetch_history().await.unwrap());
    let at = |name: &str| names.iter().position(|n| n == name);
    assert!(
        at("TIMER_CANCELED").unwrap() < at("WORKFLOW_EXECUTION_CANCELED").unwrap(),
        "{names:?}"
    );
    // The activity was asked to cancel; the cleanup activity ran after that; the late timer
    // never reached the server.
    let names = event_names(&cleaner.fetch_history().await.unwrap());
    let at = |name: &str| names.iter().position(|n| n == name);
    let scheduled: Vec<usize> = (0..names.len())
        .filter(|&i| names[i] == "ACTIVITY_TASK_SCHEDULED")
        .collect();
    assert_eq!(scheduled.len(), 2, "{names:?}");
    assert!(
        at("ACTIVITY_TASK_CANCEL_REQUESTED").unwrap() < scheduled[1],
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "ACTIVITY_TASK_COMPLETED"), "{names:?}");
    assert!(at("TIMER_STARTED").is_none(), "{names:?}");
    // Both children were asked to cancel and ended canceled.
    for p in [parent.workflow_id(), handle_parent.workflow_id()] {
        let child = format!("{p}-child");
        let names = wait_for_history(&client, &child, "the child's end", has("WORKFLOW_EXECUTION_CANCELED")).await;
        assert!(
            names.iter().any(|n| n == "WORKFLOW_EXECUTION_CANCEL_REQUESTED"),
            "{names:?}"
        );
        assert_eq!(status(&client, &child).await, WorkflowExecutionStatus::Canceled);
    }
    // A workflow that finished normally is unaffected by the new default.
    let done = Waiter::start(&client, StartOptions::new(unique("waiter"), &tq))
        .await
        .unwrap();
    done.finish().await.unwrap();
    assert_eq!(
        tokio::time::timeout(within, done.result()).await.unwrap().unwrap(),
        "done"
    );

    let replayer = workflow_runtime::replay::Replayer::new()
        .workflow::<Napper>()
        .workflow::<Waiter>()
        .workflow::<Cleaner>()
        .workflow::<NapParent>()
        .workflow::<NapHandleParent>();
    for id in [napper.workflow_id(), cleaner.workflow_id(), handle_parent.workflow_id()] {
        let history = client
            .untyped_handle(id.to_string(), None)
            .fetch_history()
            .await
            .unwrap();
        replayer.replay(&history).unwrap();
    }
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 2. A workflow task that keeps failing is reported once, not retried in a hot loop.

/// A workflow type the worker does not have: its first task fails and is reported; the retry
/// the server schedules at once is held by the worker without an answer, so the next attempt
/// waits for the workflow task timeout (10 s by default) instead of following at once.
#[tokio::test]
async fn a_failing_workflow_task_is_reported_once_and_not_retried_in_a_hot_loop() {
    use workflow_runtime::client::proto::enums::PendingWorkflowTaskState;
    let client = connect().await;
    let tq = unique("unregistered");
    let worker = Worker::builder(&client, &tq).workflow::<Napper>().build().unwrap();
    let serving = worker.spawn();

    let id = unique("orphan");
    let orphan = client
        .start_untyped("NotRegisteredHere", StartOptions::new(&id, &tq), Vec::new())
        .await
        .unwrap();
    // The second attempt reached the worker: it holds it without answering.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let held = loop {
        let pending = orphan.describe().await.unwrap().raw.pending_workflow_task;
        if let Some(task) = pending.filter(|t| t.attempt == 2 && t.state == PendingWorkflowTaskState::Started as i32) {
            break task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second attempt never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Within the task timeout no third attempt follows (a hot loop made dozens a second).
    let window = tokio::time::Instant::now() + Duration::from_secs(2);
    while tokio::time::Instant::now() < window {
        let task = orphan.describe().await.unwrap().raw.pending_workflow_task.unwrap();
        assert_eq!(
            (task.attempt, task.state),
            (held.attempt, held.state),
            "a new attempt within the timeout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // History keeps the first report, with the cause named.
    let history = orphan.fetch_history().await.unwrap();
    let failures: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(
                workflow_runtime::client::proto::history::history_event::Attributes::WorkflowTaskFailedEventAttributes(
                    a,
                ),
            ) => Some(a.failure.as_ref().map(|f| f.message.clone()).unwrap_or_default()),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("NotRegisteredHere") && failures[0].contains("NapperWorkflow"),
        "{}",
        failures[0]
    );
    orphan.terminate("test over", Vec::new()).await.unwrap();
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 4. A panicking update handler fails the workflow task; a bad update input is rejected.

/// Whether `Tally::add(13)` has panicked yet (it does once).
static UNLUCKY_PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Adds numbers by update until closed; adding 13 panics the first time.
#[workflow]
#[derive(Default)]
pub struct Tally {
    total: u32,
    closed: bool,
}

#[workflow(name = "TallyWorkflow")]
impl Tally {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.wait_condition(|s| s.closed).await?;
        Ok(ctx.state(|s| s.total))
    }

    #[update]
    fn add(&mut self, n: u32) -> u32 {
        if n == 13 && !UNLUCKY_PANICKED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            panic!("unlucky number");
        }
        self.total += n;
        self.total
    }

    #[signal]
    fn close(&mut self) {
        self.closed = true;
    }
}

/// The panic fails the task (reported, nothing recorded); the retried task runs the update
/// again and it completes once. An input of the wrong type is rejected without a trace.
#[tokio::test]
async fn a_panicking_update_handler_fails_the_task_and_the_update_is_delivered_again() {
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let client = connect().await;
    let tq = unique("tally");
    let worker = Worker::builder(&client, &tq).workflow::<Tally>().build().unwrap();
    let serving = worker.spawn();

    let tally = Tally::start(&client, StartOptions::new(unique("tally"), &tq))
        .await
        .unwrap();
    let within = Duration::from_secs(30);
    assert_eq!(tokio::time::timeout(within, tally.add(13)).await.unwrap().unwrap(), 13);
    let untyped = client.untyped_handle(tally.workflow_id().to_string(), None);
    let wrong = workflow_runtime::client::payload::to_payload(&"seven").unwrap();
    let refused = tokio::time::timeout(within, untyped.update("add", vec![wrong]))
        .await
        .unwrap();
    assert!(refused.is_err(), "{refused:?}");
    tally.close().await.unwrap();
    assert_eq!(tokio::time::timeout(within, tally.result()).await.unwrap().unwrap(), 13);

    let history = tally.fetch_history().await.unwrap();
    let names = event_names(&history);
    let count = |name: &str| names.iter().filter(|n| *n == name).count();
    assert_eq!(count("WORKFLOW_TASK_FAILED"), 1, "{names:?}");
    assert_eq!(count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED"), 1, "{names:?}");
    assert_eq!(count("WORKFLOW_EXECUTION_UPDATE_COMPLETED"), 1, "{names:?}");
    for event in &history.events {
        match &event.attributes {
            Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => {
                let message = &a.failure.as_ref().unwrap().message;
                assert!(message.contains("unlucky number"), "{message}");
            }
            Some(Attributes::WorkflowExecutionUpdateCompletedEventAttributes(a)) => {
                let outcome = a.outcome.as_ref().and_then(|o| o.value.as_ref());
                assert!(
                    matches!(
                        outcome,
                        Some(workflow_runtime::client::proto::update::outcome::Value::Success(_))
                    ),
                    "{outcome:?}"
                );
            }
            _ => {}
        }
    }
    workflow_runtime::replay::Replayer::new()
        .workflow::<Tally>()
        .replay(&history)
        .unwrap();
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 3. Continue-as-new carries memo, search attributes, timeouts and retry policy over.

const RUNNER: workflow_runtime::client::SearchAttributeKey<String> =
    workflow_runtime::client::SearchAttributeKey::keyword("CustomKeywordField");
const LEG: workflow_runtime::client::SearchAttributeKey<i64> =
    workflow_runtime::client::SearchAttributeKey::int("CustomIntField");

/// Three legs: the first upserts and continues with defaults, the second continues with a
/// changed memo field and search attribute, the third reports what it got.
#[workflow]
#[derive(Default)]
pub struct Relay;

#[workflow(name = "RelayWorkflow")]
impl Relay {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, leg: u32) -> WorkflowResult<String> {
        match leg {
            1 => {
                ctx.upsert_search_attributes([LEG.set(1)])?;
                ctx.upsert_memo("baton", "red")?;
                Err(ctx.continue_as_new(2))
            }
            2 => {
                let options = workflow_runtime::workflow::ContinueAsNewOptions::new()
                    .memo("baton", "blue")
                    .search_attributes([LEG.set(3)]);
                Err(ctx.continue_as_new_with(3, options))
            }
            _ => {
                let info = ctx.info();
                let baton: String = ctx.memo("baton").unwrap_or_default();
                let origin: String = ctx.memo("origin").unwrap_or_default();
                Ok(format!(
                    "{origin} {baton} {} {:?} first={} from={} run_timeout={:?} task_timeout={:?} retries={:?}",
                    ctx.search_attribute(RUNNER).unwrap_or_default(),
                    ctx.search_attribute(LEG),
                    info.first_execution_run_id,
                    info.continued_from_run_id.unwrap_or_default(),
                    info.run_timeout,
                    info.task_timeout,
                    info.retry_policy.map(|p| p.maximum_attempts),
                ))
            }
        }
    }
}

/// The memo and search attributes of the start and the upserts reach the last run, changed
/// only where the second leg said so; timeouts and the retry policy are kept; the info says
/// which runs came before.
#[tokio::test]
async fn continue_as_new_carries_memo_search_attributes_and_options() {
    let client = connect().await;
    let tq = unique("relay");
    let worker = Worker::builder(&client, &tq).workflow::<Relay>().build().unwrap();
    let serving = worker.spawn();

    let options = StartOptions::new(unique("relay"), &tq)
        .memo("origin", "start")
        .unwrap()
        .search_attribute(RUNNER, "ada".to_string())
        .run_timeout(Duration::from_secs(3600))
        .task_timeout(Duration::from_secs(7))
        .retry_policy(RetryPolicy {
            maximum_attempts: 4,
            ..Default::default()
        });
    let relay = Relay::start(&client, options, 1).await.unwrap();
    let first_run = relay.run_id().unwrap().to_string();
    let report = tokio::time::timeout(Duration::from_secs(30), relay.result())
        .await
        .unwrap()
        .unwrap();
    // The last run's start event, and the run before it.
    let last = client.untyped_handle(relay.workflow_id().to_string(), None);
    let history = last.fetch_history().await.unwrap();
    let Some(
        workflow_runtime::client::proto::history::history_event::Attributes::WorkflowExecutionStartedEventAttributes(
            started,
        ),
    ) = &history.events[0].attributes
    else {
        panic!("no start event");
    };
    assert_eq!(
        report,
        format!(
            "start blue ada Some(3) first={first_run} from={} run_timeout=Some(3600s) task_timeout=7s retries=Some(4)",
            started.continued_execution_run_id
        )
    );
    assert_ne!(started.continued_execution_run_id, first_run, "three runs, not two");
    let memo = started.memo.as_ref().unwrap();
    assert_eq!(memo.fields.len(), 2, "{memo:?}");
    workflow_runtime::replay::Replayer::new()
        .workflow::<Relay>()
        .replay(&history)
        .unwrap();
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 8. The built-in metadata query: handlers with their doc comments, and current details.

/// A to-do list whose handlers are documented.
#[workflow]
#[derive(Default)]
pub struct Todo {
    items: Vec<String>,
    done: bool,
}

#[workflow(name = "TodoWorkflow")]
impl Todo {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<usize> {
        ctx.set_current_details("collecting items until **done**");
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.items.len()))
    }

    /// Adds an item to the list.
    #[signal]
    fn add(&mut self, item: String) {
        self.items.push(item);
    }

    /// Closes the list.
    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    /// The items so far.
    #[query]
    fn items(&self) -> Vec<String> {
        self.items.clone()
    }

    /// Removes every item;
    /// answers how many were removed.
    #[update]
    fn clear(&mut self) -> usize {
        std::mem::take(&mut self.items).len()
    }
}

/// `temporal workflow metadata` (the CLI decodes the answer with the Go SDK's converter) shows
/// the handlers with their doc comments and the current details; the payload is the
/// `json/protobuf` encoding of `WorkflowMetadata` as the other SDKs send it.
#[tokio::test]
async fn the_metadata_query_lists_documented_handlers_and_current_details() {
    let client = connect().await;
    let tq = unique("todo");
    let worker = Worker::builder(&client, &tq).workflow::<Todo>().build().unwrap();
    let serving = worker.spawn();
    let todo = Todo::start(&client, StartOptions::new(unique("todo"), &tq))
        .await
        .unwrap();
    todo.add("milk".into()).await.unwrap();
    assert_eq!(todo.items().await.unwrap(), vec!["milk".to_string()]);

    let raw = client
        .untyped_handle(todo.workflow_id().to_string(), None)
        .query(
            "__temporal_workflow_metadata",
            Vec::new(),
            workflow_runtime::client::handle::QueryRejectCondition::None,
        )
        .await
        .unwrap();
    let encoding = |key: &str| String::from_utf8_lossy(&raw[0].metadata[key]).to_string();
    assert_eq!(
        (encoding("encoding"), encoding("messageType")),
        (
            "json/protobuf".to_string(),
            "temporal.api.sdk.v1.WorkflowMetadata".to_string()
        )
    );
    let shown = cli(&[
        "workflow",
        "metadata",
        "--workflow-id",
        todo.workflow_id(),
        "--output",
        "json",
    ])
    .await;
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"));
    // The CLI decoded the answer as the proto message it names.
    let shown = &shown["queryResult"][0];
    assert_eq!(
        shown["_protoMessageType"], "temporal.api.sdk.v1.WorkflowMetadata",
        "{shown}"
    );
    let definition = &shown["definition"];
    assert_eq!(definition["type"], "TodoWorkflow", "{shown}");
    let described = |list: &str, name: &str| -> String {
        definition[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list}: {shown}"))
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {list}: {shown}"))["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(described("signalDefinitions", "add"), "Adds an item to the list.");
    assert_eq!(described("signalDefinitions", "finish"), "Closes the list.");
    assert_eq!(described("queryDefinitions", "items"), "The items so far.");
    assert_eq!(
        described("updateDefinitions", "clear"),
        "Removes every item;\nanswers how many were removed."
    );
    assert!(!described("queryDefinitions", "__stack_trace").is_empty());
    assert!(!described("queryDefinitions", "__enhanced_stack_trace").is_empty());
    assert_eq!(shown["currentDetails"], "collecting items until **done**", "{shown}");

    // The web UI's stack trace view: one stack per wait, and the SDK named.
    let trace = client
        .untyped_handle(todo.workflow_id().to_string(), None)
        .query(
            "__enhanced_stack_trace",
            Vec::new(),
            workflow_runtime::client::handle::QueryRejectCondition::None,
        )
        .await
        .unwrap();
    let trace: serde_json::Value = workflow_runtime::client::payload::from_payload(&trace[0]).unwrap();
    assert_eq!(
        trace["sdk"]["name"],
        workflow_runtime::workflow::sdk_flags::SDK_NAME,
        "{trace}"
    );
    let frame = trace["stacks"][0]["locations"][0]["functionName"]
        .as_str()
        .unwrap_or_default();
    assert!(frame.contains("condition"), "{trace}");
    todo.finish().await.unwrap();
    assert_eq!(todo.result().await.unwrap(), 1);
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5, 6, 7. Histories the Python SDK and this worker write replay in each other: patch markers
// and their `TemporalChangeVersion` upserts, local activity markers, activity ids, SDK flags.

/// Runs `tests/python/interop.py` with `args` (see `python/peer.rs`).
async fn python(args: &[&str]) -> String {
    peer::python("interop.py", args).await
}

#[activity(start_to_close_timeout = "10s")]
async fn weigh(order: String) -> Result<u64, ActivityError> {
    Ok(order.len() as u64 * 100)
}

#[activity(start_to_close_timeout = "10s")]
async fn weigh_v2(order: String) -> Result<u64, ActivityError> {
    Ok(order.len() as u64 * 100)
}

#[activity(start_to_close_timeout = "10s")]
async fn pack(order: String) -> Result<String, ActivityError> {
    Ok(format!("{order} packed"))
}

/// The Rust port of the Python SDK's `InteropParcel` (tests/python/interop.py).
#[workflow]
#[derive(Default)]
pub struct InteropParcel;

#[workflow(name = "InteropParcel")]
impl InteropParcel {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<String> {
        let carrier = if ctx.patched("fast-carrier") {
            "fast"
        } else {
            "standard"
        };
        let grams = ctx.local_activity(weigh, order.clone()).await?;
        let packed = ctx.activity(pack, order).await?;
        ctx.sleep(Duration::from_millis(100)).await?;
        ctx.deprecate_patch("old-box");
        Ok(format!("{packed} via {carrier}, {grams} g"))
    }
}

/// The same port after someone changed the local activity it calls.
#[workflow]
#[derive(Default)]
pub struct InteropParcelReweighed;

#[workflow(name = "InteropParcel")]
impl InteropParcelReweighed {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<String> {
        let carrier = if ctx.patched("fast-carrier") {
            "fast"
        } else {
            "standard"
        };
        let grams = ctx.local_activity(weigh_v2, order.clone()).await?;
        let packed = ctx.activity(pack, order).await?;
        ctx.sleep(Duration::from_millis(100)).await?;
        ctx.deprecate_patch("old-box");
        Ok(format!("{packed} via {carrier}, {grams} g"))
    }
}

/// A history the Python SDK recorded replays here with the ported workflow; a port whose
/// local activity type changed is reported as nondeterministic.
#[tokio::test]
async fn a_python_history_with_patches_and_local_activities_replays_here() {
    let id = unique("py-parcel");
    let out = python(&["record", &DevServer::shared_address(), &unique("py-parcel"), &id]).await;
    // The SDK logs to stdout too: the history is the last line.
    let json = out.lines().last().unwrap_or_default();
    let history = workflow_runtime::client::history::history_from_json(json).unwrap_or_else(|e| panic!("{e}: {out}"));
    let names = event_names(&history);
    assert!(
        names.iter().any(|n| n == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"),
        "{names:?}"
    );
    workflow_runtime::replay::Replayer::new()
        .workflow::<InteropParcel>()
        .replay(&history)
        .unwrap_or_else(|e| panic!("the port does not replay Python's history: {e}"));
    let changed = workflow_runtime::replay::Replayer::new()
        .workflow::<InteropParcelReweighed>()
        .replay(&history);
    let error = changed
        .expect_err("a changed local activity type must not replay")
        .to_string();
    assert!(error.contains("weigh"), "{error}");
}

/// A history this worker recorded replays in the Python SDK; with the activity type renamed
/// the Python replayer reports nondeterminism, because the history carries this SDK's name
/// and sdk-core's flags (id and type checks, the patch upsert, terminal commands last).
#[tokio::test]
async fn a_rust_history_replays_in_python_with_its_checks() {
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let client = connect().await;
    let tq = unique("rs-parcel");
    let worker = Worker::builder(&client, &tq)
        .workflow::<InteropParcel>()
        .activity(weigh)
        .activity(pack)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let parcel = InteropParcel::start(&client, StartOptions::new(unique("rs-parcel"), &tq), "book".into())
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), parcel.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, "book packed via fast, 400 g");
    let history = parcel.fetch_history().await.unwrap();
    serving.stop().await.unwrap();

    let metadata = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => a.sdk_metadata.clone(),
            _ => None,
        })
        .expect("the first completed task records the SDK");
    assert_eq!(metadata.sdk_name, workflow_runtime::workflow::sdk_flags::SDK_NAME);
    assert_eq!(metadata.core_used_flags, vec![1, 2, 3]);

    let file = std::env::temp_dir().join(format!("{}.json", unique("rust-history")));
    std::fs::write(
        &file,
        workflow_runtime::client::history::history_to_json(&history).unwrap(),
    )
    .unwrap();
    let outcome = python(&["replay", file.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(&file);
    // The SDK logs to stdout too: the answer is the last line.
    let last = outcome.lines().last().unwrap_or_default();
    let outcome: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {outcome}"));
    assert_eq!(outcome["same"], "ok", "{outcome}");
    let renamed = outcome["renamed"].as_str().unwrap_or_default();
    assert!(renamed.starts_with("nondeterminism"), "{outcome}");
}

// ---------------------------------------------------------------------------------------------
// 9. A failure's message and stack trace can travel encoded, through the codec.

#[activity(start_to_close_timeout = "10s", retry(maximum_attempts = 1))]
async fn charge(card: String) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable(
        format!("card {card} declined"),
        "Declined",
    ))
}

/// Charges a card; the activity's failure ends the run.
#[workflow]
#[derive(Default)]
pub struct Checkout;

#[workflow(name = "CheckoutWorkflow")]
impl Checkout {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, card: String) -> WorkflowResult<()> {
        ctx.activity(charge, card).await
    }
}

/// With `encode_failure_attributes`, history shows only "Encoded failure" and ciphertext for
/// every failure in the chain (the activity's and the workflow's); the client reads the
/// original messages back.
#[tokio::test]
async fn failure_messages_are_encoded_through_the_codec_when_asked() {
    use workflow_runtime::client::DataConverter;
    use workflow_runtime::client::codecs::AesGcmCodec;
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let converter = DataConverter::with_codec(AesGcmCodec::new("k1", [7; 32])).encode_failure_attributes(true);
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).data_converter(converter))
        .await
        .unwrap();
    let tq = unique("checkout");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Checkout>()
        .activity(charge)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let checkout = Checkout::start(&client, StartOptions::new(unique("checkout"), &tq), "4242-9999".into())
        .await
        .unwrap();
    let error = tokio::time::timeout(Duration::from_secs(30), checkout.result())
        .await
        .unwrap()
        .expect_err("the charge fails");
    let ClientError::WorkflowFailed(failure) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(failure.root_cause().message, "card 4242-9999 declined");

    let history = checkout.fetch_history().await.unwrap();
    let mut seen = 0;
    for event in &history.events {
        let failure = match &event.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a.failure.as_ref(),
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => a.failure.as_ref(),
            _ => None,
        };
        let mut level = failure;
        while let Some(f) = level {
            seen += 1;
            assert_eq!(f.message, "Encoded failure");
            let attributes = f.encoded_attributes.as_ref().expect("encoded attributes");
            assert!(
                !String::from_utf8_lossy(&attributes.data).contains("4242"),
                "{attributes:?}"
            );
            level = f.cause.as_deref();
        }
    }
    // The activity's failure, and the workflow's failure with its cause chain.
    assert!(seen >= 3, "{seen}");
    // The history replays as exported with the same converter, and not without it.
    let json = workflow_runtime::client::history::history_to_json(&history).unwrap();
    let replayer = workflow_runtime::replay::Replayer::new().workflow::<Checkout>();
    assert!(replayer.replay_json(&json).is_err(), "encrypted input cannot replay");
    workflow_runtime::replay::Replayer::new()
        .workflow::<Checkout>()
        .data_converter(DataConverter::with_codec(AesGcmCodec::new("k1", [7; 32])))
        .replay_json(&json)
        .unwrap();
    serving.stop().await.unwrap();

    // Without a codec the encoded attributes are plain JSON: the Python SDK, which has no
    // setting for it, reads the messages back as its own converter would.
    let converter = DataConverter::default().encode_failure_attributes(true);
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).data_converter(converter))
        .await
        .unwrap();
    let worker = Worker::builder(&client, &tq)
        .workflow::<Checkout>()
        .activity(charge)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let checkout = Checkout::start(&client, StartOptions::new(unique("checkout"), &tq), "1111".into())
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), checkout.result())
        .await
        .unwrap();
    let history = checkout.fetch_history().await.unwrap();
    assert!(history.events.iter().any(|e| matches!(
        &e.attributes,
        Some(Attributes::WorkflowExecutionFailedEventAttributes(a))
            if a.failure.as_ref().is_some_and(|f| f.message == "Encoded failure")
    )));
    let seen = python(&["failure", &DevServer::shared_address(), checkout.workflow_id()]).await;
    let seen: serde_json::Value = serde_json::from_str(seen.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(seen["cause"], "card 1111 declined", "{seen}");
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Waiting on a condition with a timeout.

/// Waits up to 2 s for approval (given at once when `already`).
#[workflow]
#[derive(Default)]
pub struct Approval {
    approved: bool,
}

#[workflow(name = "ApprovalWorkflow")]
impl Approval {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, already: bool) -> WorkflowResult<bool> {
        if already {
            ctx.state_mut(|s| s.approved = true);
        }
        ctx.wait_condition(|s| s.approved).timeout(Duration::from_secs(2)).await
    }

    #[signal]
    fn approve(&mut self) {
        self.approved = true;
    }
}

/// The condition already true: no timer. Met in time: the timer is cancelled. Not met: the
/// timer fires and the wait answers `false`.
#[tokio::test]
async fn wait_condition_with_a_timeout_records_a_timer_only_when_needed() {
    let client = connect().await;
    let tq = unique("approval");
    let worker = Worker::builder(&client, &tq).workflow::<Approval>().build().unwrap();
    let serving = worker.spawn();
    let within = Duration::from_secs(30);

    let at_once = Approval::start(&client, StartOptions::new(unique("approval"), &tq), true)
        .await
        .unwrap();
    let in_time = Approval::start(&client, StartOptions::new(unique("approval"), &tq), false)
        .await
        .unwrap();
    let too_late = Approval::start(&client, StartOptions::new(unique("approval"), &tq), false)
        .await
        .unwrap();
    let started = |names: &[String]| names.iter().any(|n| n == "TIMER_STARTED");
    wait_for_history(&client, in_time.workflow_id(), "the timer", started).await;
    in_time.approve().await.unwrap();

    assert!(tokio::time::timeout(within, at_once.result()).await.unwrap().unwrap());
    assert!(tokio::time::timeout(within, in_time.result()).await.unwrap().unwrap());
    assert!(!tokio::time::timeout(within, too_late.result()).await.unwrap().unwrap());
    let names = event_names(&at_once.fetch_history().await.unwrap());
    assert!(!names.iter().any(|n| n.starts_with("TIMER_")), "{names:?}");
    let names = event_names(&in_time.fetch_history().await.unwrap());
    assert!(names.iter().any(|n| n == "TIMER_CANCELED"), "{names:?}");
    let names = event_names(&too_late.fetch_history().await.unwrap());
    assert!(names.iter().any(|n| n == "TIMER_FIRED"), "{names:?}");
    serving.stop().await.unwrap();
}

/// An update sent by one handle is awaited through another, built from the workflow id and
/// the update id alone (as another process would).
#[tokio::test]
async fn an_update_handle_is_rebuilt_from_the_workflow_id_and_update_id() {
    use workflow_runtime::client::handle::UpdateWaitStage;
    let client = connect().await;
    let tq = unique("tally");
    let worker = Worker::builder(&client, &tq).workflow::<Tally>().build().unwrap();
    let serving = worker.spawn();
    let tally = Tally::start(&client, StartOptions::new(unique("tally"), &tq))
        .await
        .unwrap();
    let five = workflow_runtime::client::payload::to_payload(&5u32).unwrap();
    let sent = tally
        .untyped()
        .start_update("add", vec![five], Some("add-five".into()), UpdateWaitStage::Accepted)
        .await
        .unwrap();
    assert_eq!(sent.update_id(), "add-five");

    let elsewhere = client.untyped_handle(tally.workflow_id().to_string(), None);
    let answer = elsewhere.update_handle("add", "add-five").result().await.unwrap();
    let total: u32 = workflow_runtime::client::payload::from_payload(&answer[0]).unwrap();
    assert_eq!(total, 5);
    let unknown = elsewhere.update_handle("add", "never-sent").result().await;
    assert!(unknown.is_err(), "{unknown:?}");
    tally.close().await.unwrap();
    serving.stop().await.unwrap();
}

/// A handle with a deadline: a query, an update and a result wait on a workflow nobody runs
/// end after the deadline with an error that names the call and the deadline.
#[tokio::test]
async fn queries_updates_and_results_honour_the_handle_deadline() {
    let client = connect().await;
    // No worker polls this queue: nothing will ever answer.
    let tally = Tally::start(&client, StartOptions::new(unique("unserved"), unique("nobody")))
        .await
        .unwrap();
    let bounded = TallyHandle::from(tally.with_deadline(Duration::from_millis(300)));
    let within = Duration::from_secs(10);
    let query = tokio::time::timeout(within, bounded.untyped().query("items", Vec::new(), Default::default()))
        .await
        .expect("the deadline ends the query");
    let update = tokio::time::timeout(within, bounded.add(1))
        .await
        .expect("the deadline ends the update");
    let result = tokio::time::timeout(within, bounded.result())
        .await
        .expect("the deadline ends the wait");
    for (what, error) in [
        ("query `items`", query.map(|_| ()).unwrap_err()),
        ("update `add`", update.map(|_| ()).unwrap_err()),
        ("waiting for the result", result.map(|_| ()).unwrap_err()),
    ] {
        let ClientError::DeadlineExceeded(message) = &error else {
            panic!("{what}: {error:?}")
        };
        assert!(message.contains(what) && message.contains("300ms"), "{message}");
    }
    tally.terminate("test over").await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// An activity can tell a worker shutdown from a cancel.

/// Works until its worker shuts down, then reports whether it had been cancelled.
#[activity(start_to_close_timeout = "1m", heartbeat_timeout = "5s", retry(maximum_attempts = 1))]
async fn until_shutdown(ctx: ActivityContext) -> Result<(), ActivityError> {
    loop {
        ctx.heartbeat(&());
        tokio::select! {
            _ = ctx.worker_shutdown() => {
                return Err(ActivityError::retryable(
                    format!("worker stopping (cancelled: {})", ctx.is_cancelled()),
                    "WorkerShutdown",
                ));
            }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// Runs `until_shutdown`.
#[workflow]
#[derive(Default)]
pub struct Shift;

#[workflow(name = "ShiftWorkflow")]
impl Shift {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(until_shutdown, ()).await
    }
}

/// The shutdown notice reaches a running attempt when shutdown starts (not after the grace
/// period), and it is not a cancellation: the attempt saw `is_cancelled() == false`.
#[tokio::test]
async fn a_running_activity_learns_of_the_worker_shutdown_when_it_starts() {
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let client = connect().await;
    let tq = unique("shift");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Shift>()
        .activity(until_shutdown)
        .graceful_shutdown_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let serving = worker.spawn();
    let shift = Shift::start(&client, StartOptions::new(unique("shift"), &tq))
        .await
        .unwrap();
    wait_for_started_activity(&client, shift.workflow_id()).await;
    // Well within the 60 s grace period: the attempt stopped on the notice.
    serving
        .stop_within(Duration::from_secs(30))
        .await
        .expect("the worker stops once the attempt has");
    let history = shift.fetch_history().await.unwrap();
    let message = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a.failure.as_ref().map(|f| f.message.clone()),
            _ => None,
        })
        .expect("the attempt reported its stop");
    assert_eq!(message, "worker stopping (cancelled: false)");
    // The failed attempt may already have failed the run (its last task ran before the stop).
    let _ = shift.terminate("test over").await;
}

// ---------------------------------------------------------------------------------------------
// User metadata: what the web UI shows for a workflow and for the steps in its history.

/// An activity, a timer and a child, each with a summary.
#[workflow]
#[derive(Default)]
pub struct Described;

#[workflow(name = "DescribedWorkflow")]
impl Described {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(weigh, "box".to_string()).summary("weigh the box").await?;
        ctx.sleep(Duration::from_millis(10)).summary("let the glue dry").await?;
        let id = format!("{}-child", ctx.info().workflow_id);
        ctx.child::<Approval>(true)
            .workflow_id(id)
            .summary("approve at once")
            .await?;
        Ok(())
    }
}

/// The start's summary and details reach the run's description; the steps' summaries reach
/// their history events (all as JSON strings, through the codec).
#[tokio::test]
async fn summaries_and_details_reach_the_description_and_history() {
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let client = connect().await;
    let tq = unique("described");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Described>()
        .workflow::<Approval>()
        .activity(weigh)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let options = StartOptions::new(unique("described"), &tq)
        .summary("a parcel for Ada")
        .details("**Fragile**: handle with care");
    let described = Described::start(&client, options).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), described.result())
        .await
        .unwrap()
        .unwrap();

    let text = |p: Option<&workflow_runtime::client::proto::common::Payload>| -> String {
        workflow_runtime::client::payload::from_payload(p.expect("a summary")).unwrap()
    };
    let description = described.describe().await.unwrap().raw;
    let metadata = description
        .execution_config
        .and_then(|c| c.user_metadata)
        .expect("the start's user metadata");
    assert_eq!(text(metadata.summary.as_ref()), "a parcel for Ada");
    assert_eq!(text(metadata.details.as_ref()), "**Fragile**: handle with care");
    // The CLI reads them as the web UI does.
    let shown = cli(&["workflow", "describe", "--workflow-id", described.workflow_id()]).await;
    assert!(
        shown.contains("a parcel for Ada") && shown.contains("handle with care"),
        "{shown}"
    );

    let history = described.fetch_history().await.unwrap();
    let mut summaries = Vec::new();
    for event in &history.events {
        let step = match &event.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(_)) => "activity",
            Some(Attributes::TimerStartedEventAttributes(_)) => "timer",
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(_)) => "child",
            _ => continue,
        };
        let summary = event.user_metadata.as_ref().and_then(|m| m.summary.as_ref());
        summaries.push(format!("{step}: {}", text(summary)));
    }
    assert_eq!(
        summaries,
        [
            "activity: weigh the box",
            "timer: let the glue dry",
            "child: approve at once"
        ]
    );
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Started now, awaited later.

/// Starts `weigh` then `pack`, awaits them in the other order.
#[workflow]
#[derive(Default)]
pub struct Errands;

#[workflow(name = "ErrandsWorkflow")]
impl Errands {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let weighed = ctx.activity(weigh, "box".to_string()).start();
        let packed = ctx.activity(pack, "box".to_string()).start();
        let child = ctx.child::<Approval>(true).start();
        let packed = packed.await?;
        let grams = weighed.await?;
        let approved = child.await?.result().await?;
        Ok(format!("{packed}, {grams} g, approved: {approved}"))
    }
}

/// `.start()` issues the commands in call order, in the first task, whatever order the
/// futures are awaited in.
#[tokio::test]
async fn activities_and_children_started_now_are_awaited_later() {
    use workflow_runtime::client::proto::history::history_event::Attributes;
    let client = connect().await;
    let tq = unique("errands");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Errands>()
        .workflow::<Approval>()
        .activity(weigh)
        .activity(pack)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let errands = Errands::start(&client, StartOptions::new(unique("errands"), &tq))
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), errands.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, "box packed, 300 g, approved: true");
    let history = errands.fetch_history().await.unwrap();
    let first_task: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) if a.workflow_task_completed_event_id == 4 => {
                Some(format!("{} {}", a.activity_id, a.activity_type.as_ref().unwrap().name))
            }
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a))
                if a.workflow_task_completed_event_id == 4 =>
            {
                Some("child".to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(first_task, ["1 weigh", "2 pack", "child"]);
    serving.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// The arity rule of signals and updates.

/// Log lines written by this test binary (a global subscriber; tests filter by workflow id).
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("workflow_runtime=warn")
        .with_ansi(false)
        .with_writer(|| LogWriter)
        .try_init();
}

/// As in the Go and TypeScript SDKs: arguments beyond a handler's parameters are ignored (and
/// said once, not again when a worker without a cache replays the signal); too few drop a
/// signal and reject an update.
#[tokio::test]
async fn extra_signal_and_update_arguments_are_ignored_and_said_once() {
    use workflow_runtime::client::payload::to_payload;
    capture_logs();
    let client = connect().await;
    let tq = unique("arity");
    // No cache: every task replays the history, signals included.
    let worker = Worker::builder(&client, &tq)
        .workflow::<Todo>()
        .workflow::<Tally>()
        .sticky_cache_size(0)
        .build()
        .unwrap();
    let serving = worker.spawn();

    let todo = Todo::start(&client, StartOptions::new(unique("arity-todo"), &tq))
        .await
        .unwrap();
    let raw = todo.untyped();
    raw.signal("add", vec![to_payload("milk").unwrap(), to_payload("extra").unwrap()])
        .await
        .unwrap();
    raw.signal("add", Vec::new()).await.unwrap();
    todo.add("bread".into()).await.unwrap();
    assert_eq!(todo.items().await.unwrap(), ["milk", "bread"]);
    todo.finish().await.unwrap();
    assert_eq!(todo.result().await.unwrap(), 2);

    let tally = Tally::start(&client, StartOptions::new(unique("arity-tally"), &tq))
        .await
        .unwrap();
    let raw = tally.untyped();
    let answer = raw
        .update("add", vec![to_payload(&5u32).unwrap(), to_payload(&6u32).unwrap()])
        .await
        .unwrap();
    assert_eq!(
        workflow_runtime::client::payload::from_payload::<u32>(&answer[0]).unwrap(),
        5
    );
    assert!(
        raw.update("add", Vec::new()).await.is_err(),
        "too few arguments are refused"
    );
    tally.close().await.unwrap();
    assert_eq!(tally.result().await.unwrap(), 5);
    serving.stop().await.unwrap();

    let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).to_string();
    let said = |id: &str, what: &str| logs.lines().filter(|l| l.contains(id) && l.contains(what)).count();
    let ignored = "beyond the handler's parameters were ignored";
    assert_eq!(said(todo.workflow_id(), ignored), 1, "{logs}");
    assert_eq!(said(todo.workflow_id(), "does not decode; dropped"), 1, "{logs}");
    assert_eq!(said(tally.workflow_id(), ignored), 1, "{logs}");
}

// ---------------------------------------------------------------------------------------------
// Async signal handlers: workflow code that starts when a signal arrives.

/// Packs what it is sent (an activity per parcel, run from the signal handler).
#[workflow]
#[derive(Default)]
pub struct Mailroom {
    packed: Vec<String>,
    closed: bool,
}

#[workflow(name = "MailroomWorkflow")]
impl Mailroom {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, parcels: usize) -> WorkflowResult<Vec<String>> {
        ctx.wait_condition(move |s| s.closed && s.packed.len() == parcels)
            .await?;
        let mut packed = ctx.state(|s| s.packed.clone());
        packed.sort();
        Ok(packed)
    }

    /// Packs a parcel.
    #[signal]
    async fn send(ctx: WorkflowContext<Self>, parcel: String) {
        if let Ok(packed) = ctx.activity(pack, parcel).await {
            ctx.state_mut(|s| s.packed.push(packed));
        }
    }

    /// Refuses the delivery: the workflow fails.
    #[signal]
    async fn refuse(ctx: WorkflowContext<Self>, why: String) -> WorkflowResult<()> {
        ctx.sleep(Duration::from_millis(10)).await?;
        Err(WorkflowError::non_retryable(why, "Refused"))
    }

    #[signal]
    fn close(&mut self) {
        self.closed = true;
    }
}

/// Each signal starts its handler beside `run`; the handlers call activities and timers; an
/// error returned by one fails the workflow; the histories replay.
#[tokio::test]
async fn async_signal_handlers_run_workflow_code_beside_run() {
    let client = connect().await;
    let tq = unique("mailroom");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Mailroom>()
        .activity(pack)
        .build()
        .unwrap();
    let serving = worker.spawn();
    let within = Duration::from_secs(30);

    let mailroom = Mailroom::start(&client, StartOptions::new(unique("mailroom"), &tq), 2)
        .await
        .unwrap();
    mailroom.send("letter".into()).await.unwrap();
    mailroom.send("box".into()).await.unwrap();
    mailroom.close().await.unwrap();
    let packed = tokio::time::timeout(within, mailroom.result()).await.unwrap().unwrap();
    assert_eq!(packed, ["box packed", "letter packed"]);

    let refused = Mailroom::start(&client, StartOptions::new(unique("mailroom"), &tq), 1)
        .await
        .unwrap();
    refused.refuse("no room".into()).await.unwrap();
    let error = tokio::time::timeout(within, refused.result())
        .await
        .unwrap()
        .unwrap_err();
    let ClientError::WorkflowFailed(failure) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(failure.message, "no room");

    let replayer = workflow_runtime::replay::Replayer::new().workflow::<Mailroom>();
    replayer.replay(&mailroom.fetch_history().await.unwrap()).unwrap();
    replayer.replay(&refused.fetch_history().await.unwrap()).unwrap();
    serving.stop().await.unwrap();
}

/// Ignores its cancellation and the worker's shutdown.
#[activity(start_to_close_timeout = "1m", retry(maximum_attempts = 1))]
async fn stubborn() -> Result<(), ActivityError> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

/// Runs `stubborn`.
#[workflow]
#[derive(Default)]
pub struct Stubborn;

#[workflow(name = "StubbornWorkflow")]
impl Stubborn {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(stubborn, ()).await
    }
}

/// The graceful shutdown timeout bounds the stop even when an activity ignores both the
/// shutdown notice and its cancellation (before, the worker waited 5 s more after it).
#[tokio::test]
async fn the_grace_period_bounds_the_stop_of_a_worker_with_a_stubborn_activity() {
    let client = connect().await;
    let tq = unique("stubborn");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Stubborn>()
        .activity(stubborn)
        .graceful_shutdown_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let serving = worker.spawn();
    let run = Stubborn::start(&client, StartOptions::new(unique("stubborn"), &tq))
        .await
        .unwrap();
    wait_for_started_activity(&client, run.workflow_id()).await;
    // A generous bound for a 1 s grace period on a loaded machine; the old stop took 6 s+.
    serving
        .stop_within(Duration::from_secs(4))
        .await
        .expect("the worker stops within its grace period");
    run.terminate("test over").await.unwrap();
}

/// Typed accepted-stage updates: `start_<update>` returns once the update is accepted, and
/// `<update>_handle` rebuilds a typed handle from the update id.
#[tokio::test]
async fn typed_update_stubs_return_at_acceptance_and_rebuild_from_the_id() {
    use workflow_runtime::client::handle::UpdateWaitStage;
    let client = connect().await;
    let tq = unique("tally");
    let worker = Worker::builder(&client, &tq).workflow::<Tally>().build().unwrap();
    let serving = worker.spawn();
    let tally = Tally::start(&client, StartOptions::new(unique("tally"), &tq))
        .await
        .unwrap();
    let sent = tally.start_add(4, UpdateWaitStage::Accepted).await.unwrap();
    let again = tally.add_handle(sent.update_id().to_string());
    let first: u32 = sent.result().await.unwrap();
    let second: u32 = again.result().await.unwrap();
    assert_eq!((first, second), (4, 4));
    tally.close().await.unwrap();
    assert_eq!(tally.result().await.unwrap(), 4);
    serving.stop().await.unwrap();
}
