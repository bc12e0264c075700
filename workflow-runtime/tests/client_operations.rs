//! Client operations on a real Temporal server: resetting a workflow to its first or last
//! workflow task or to an event, with and without the signals and updates received since;
//! describing a task queue (its backlog, the workers polling it); batch jobs that signal, cancel
//! and terminate the workflows a query matches; `#[workflow_interface]` driving a workflow the
//! Python SDK serves, and one a Rust worker serves under the same wire name.

#[path = "python/peer.rs"]
mod peer;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};
use workflow_runtime::client::WorkflowExecutionStatus;
use workflow_runtime::client::batch::{BatchKind, BatchOperation, BatchOptions, BatchState, BatchSummary};
use workflow_runtime::client::payload::from_payload;
use workflow_runtime::client::proto::common::Payloads;
use workflow_runtime::client::proto::enums::{EventType, WorkflowTaskFailedCause};
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::client::reset::ResetOptions;
use workflow_runtime::client::task_queue::Poller;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, dev_server_client, eventually, unique_id as unique};
use workflow_runtime::worker::RunningWorker;

/// Collects items from signals and updates until closed; returns them.
#[workflow]
#[derive(Default)]
pub struct Collector {
    items: Vec<String>,
    closed: bool,
}

#[workflow(name = "ResetCollector")]
impl Collector {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, customer: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.closed).await?;
        Ok(format!("{customer}: {}", ctx.state(|s| s.items.join(","))))
    }

    #[signal]
    fn add(&mut self, item: String) {
        self.items.push(item);
    }

    #[signal]
    fn close(&mut self) {
        self.closed = true;
    }

    #[query]
    fn items(&self) -> Vec<String> {
        self.items.clone()
    }

    #[update]
    fn add_now(&mut self, item: String) -> usize {
        self.items.push(item);
        self.items.len()
    }
}

/// A worker serving `Collector` on `queue`.
fn collector_worker(client: &Client, queue: &str) -> RunningWorker {
    Worker::builder(client, queue)
        .workflow::<Collector>()
        .build()
        .unwrap()
        .spawn()
}

/// Waits until the workflow's items are `expected`, failing after a bound: the worker applies
/// signals in its own time, so the test asks instead of sleeping.
async fn items_become(handle: &CollectorHandle, expected: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let items = handle.items().await.unwrap();
        if items == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "items of {:?} stayed {items:?}, expected {expected:?}",
            handle.run_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `Collector` that has applied the signals `a` and `b`, each in its own workflow task.
async fn collected_a_and_b(client: &Client, queue: &str) -> CollectorHandle {
    let handle = Collector::start(client, StartOptions::new(unique("collector"), queue), "ada".into())
        .await
        .unwrap();
    // Answered once the first workflow task completed: the signals come after it.
    items_become(&handle, &[]).await;
    handle.add("a".into()).await.unwrap();
    items_become(&handle, &["a"]).await;
    handle.add("b".into()).await.unwrap();
    items_become(&handle, &["a", "b"]).await;
    handle
}

/// Resets `handle`'s run; checks the old run was terminated by it and the new run's history
/// records the reset and, after it, the `reapplied` signals and updates (as `name(arguments)`).
/// Returns the new run's handle.
async fn reset_checked(handle: &CollectorHandle, options: ResetOptions, reapplied: &[&str]) -> CollectorHandle {
    let before = handle.describe().await.unwrap().summary;
    let new = CollectorHandle::from(handle.reset(options).await.unwrap());
    let new_run = new.run_id().expect("the new run's id").to_string();
    assert_ne!(new_run, before.run_id);
    // A running run is terminated by the reset; a closed one stays as it was.
    let old = handle
        .untyped()
        .client()
        .handle::<Collector>(handle.workflow_id(), Some(before.run_id));
    let expected = match before.status {
        WorkflowExecutionStatus::Running => WorkflowExecutionStatus::Terminated,
        closed => closed,
    };
    assert_eq!(old.describe().await.unwrap().summary.status, expected);

    let history = new.fetch_history().await.unwrap();
    let reset_at = history
        .events
        .iter()
        .position(|e| {
            matches!(&e.attributes, Some(Attributes::WorkflowTaskFailedEventAttributes(a))
                if a.cause == WorkflowTaskFailedCause::ResetWorkflow as i32)
        })
        .expect("the new run records the reset as a failed workflow task");
    let call = |name: &str, args: Option<&Payloads>| {
        let args = args.map(|a| a.payloads.as_slice()).unwrap_or_default();
        let args: Vec<String> = args.iter().map(|p| from_payload(p).unwrap()).collect();
        format!("{name}({})", args.join(", "))
    };
    let after: Vec<String> = history.events[reset_at..]
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(s)) => {
                Some(call(&s.signal_name, s.input.as_ref()))
            }
            Some(Attributes::WorkflowExecutionUpdateAdmittedEventAttributes(u)) => {
                let input = u.request.as_ref().and_then(|r| r.input.as_ref()).unwrap();
                Some(call(&input.name, input.args.as_ref()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(after, reapplied);
    new
}

/// Closes the workflow and returns its result.
async fn closed(handle: &CollectorHandle) -> String {
    handle.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .expect("the run finishes once closed")
        .unwrap()
}

#[tokio::test]
async fn reset_to_the_first_workflow_task_runs_again_with_or_without_the_signals() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("reset-first");
    let running = collector_worker(&client, &queue);

    let kept = collected_a_and_b(&client, &queue).await;
    let options = ResetOptions::first_workflow_task("replay from the start");
    let new = reset_checked(&kept, options, &["add(a)", "add(b)"]).await;
    items_become(&new, &["a", "b"]).await;
    assert_eq!(closed(&new).await, "ada: a,b");

    let dropped = collected_a_and_b(&client, &queue).await;
    let options = ResetOptions::first_workflow_task("start over").reapply_signals(false);
    let new = reset_checked(&dropped, options, &[]).await;
    items_become(&new, &[]).await;
    new.add("c".into()).await.unwrap();
    assert_eq!(closed(&new).await, "ada: c");
    // A handle without a run id resets the latest run: the one the last reset started, whose
    // first completed task came before `c` and `close`, so both are sent again and the new run
    // closes by itself.
    let latest = Collector::handle(&client, new.workflow_id());
    assert!(latest.run_id().is_none());
    let options = ResetOptions::first_workflow_task("once more");
    let again = reset_checked(&latest, options, &["add(c)", "close()"]).await;
    assert_eq!(again.result().await.unwrap(), "ada: c");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn reset_to_an_event_keeps_what_came_before_it() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("reset-event");
    let running = collector_worker(&client, &queue);
    // The workflow task that applied `a`: the first completed after its signal.
    let after_a = |handle: CollectorHandle| async move {
        let events = handle.fetch_history().await.unwrap().events;
        let signaled = events
            .iter()
            .position(|e| e.event_type == EventType::WorkflowExecutionSignaled as i32)
            .unwrap();
        events[signaled..]
            .iter()
            .find(|e| e.event_type == EventType::WorkflowTaskCompleted as i32)
            .unwrap()
            .event_id
    };

    let kept = collected_a_and_b(&client, &queue).await;
    let event = after_a(kept.clone()).await;
    let new = reset_checked(&kept, ResetOptions::event(event, "after a"), &["add(b)"]).await;
    assert_eq!(closed(&new).await, "ada: a,b");

    let dropped = collected_a_and_b(&client, &queue).await;
    let event = after_a(dropped.clone()).await;
    let options = ResetOptions::event(event, "after a, without b").reapply_signals(false);
    let new = reset_checked(&dropped, options, &[]).await;
    assert_eq!(closed(&new).await, "ada: a");

    // An event that is no workflow task event is refused by the server.
    let refused = new.reset(ResetOptions::event(1, "the start event")).await.unwrap_err();
    assert!(matches!(refused, ClientError::InvalidArgument(_)), "{refused:?}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn reset_to_the_last_workflow_task_reapplies_a_signal_no_worker_saw() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("reset-last");
    let running = collector_worker(&client, &queue);
    let kept = collected_a_and_b(&client, &queue).await;
    let dropped = collected_a_and_b(&client, &queue).await;
    // With no worker, `c` is recorded after the last completed workflow task, unapplied.
    running.stop().await.unwrap();
    kept.add("c".into()).await.unwrap();
    dropped.add("c".into()).await.unwrap();

    let new_kept = reset_checked(&kept, ResetOptions::last_workflow_task("fixed"), &["add(c)"]).await;
    let options = ResetOptions::last_workflow_task("fixed, without c").reapply_signals(false);
    let new_dropped = reset_checked(&dropped, options, &[]).await;

    let running = collector_worker(&client, &queue);
    assert_eq!(closed(&new_kept).await, "ada: a,b,c");
    assert_eq!(closed(&new_dropped).await, "ada: a,b");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn reset_reapplies_updates_unless_excluded() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("reset-updates");
    let running = collector_worker(&client, &queue);
    let with_update = |client: Client, queue: String| async move {
        let handle = Collector::start(&client, StartOptions::new(unique("collector"), &queue), "ada".into())
            .await
            .unwrap();
        // Answered once the first workflow task completed: `a` and `u` come after it.
        items_become(&handle, &[]).await;
        handle.add("a".into()).await.unwrap();
        assert_eq!(handle.add_now("u".into()).await.unwrap(), 2);
        handle
    };

    // Reapplied, the update is in the new run's history as admitted, and the worker runs its
    // handler again: the new run has both items.
    let kept = with_update(client.clone(), queue.clone()).await;
    let options = ResetOptions::first_workflow_task("keep updates");
    let new = reset_checked(&kept, options, &["add(a)", "add_now(u)"]).await;
    items_become(&new, &["a", "u"]).await;
    assert_eq!(closed(&new).await, "ada: a,u");

    let dropped = with_update(client.clone(), queue.clone()).await;
    let options = ResetOptions::first_workflow_task("drop updates").reapply_updates(false);
    let new = reset_checked(&dropped, options, &["add(a)"]).await;
    items_become(&new, &["a"]).await;
    assert_eq!(closed(&new).await, "ada: a");

    let neither = with_update(client.clone(), queue.clone()).await;
    let options = ResetOptions::first_workflow_task("drop both")
        .reapply_updates(false)
        .reapply_signals(false);
    let new = reset_checked(&neither, options, &[]).await;
    assert_eq!(closed(&new).await, "ada: ");
    running.stop().await.unwrap();
}

#[activity(start_to_close_timeout = "10s")]
async fn shout(text: String) -> Result<String, ActivityError> {
    Ok(text.to_uppercase())
}

#[tokio::test]
async fn a_task_queue_describes_its_backlog_and_the_worker_polling_it() {
    let identity = unique("describer");
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).identity(&identity))
        .await
        .unwrap();
    let queue = unique("described");

    // No worker yet: three workflow tasks wait.
    for _ in 0..3 {
        Collector::start(&client, StartOptions::new(unique("waiting"), &queue), "ada".into())
            .await
            .unwrap();
    }
    let waiting = eventually("a backlog of three workflow tasks", Duration::from_secs(20), || async {
        let d = client.describe_task_queue(&queue).await.unwrap();
        d.workflow
            .backlog
            .as_ref()
            .is_some_and(|b| b.approximate_count == 3)
            .then_some(d)
    })
    .await;
    assert!(waiting.workflow.pollers.is_empty());
    assert!(waiting.workflow.backlog.as_ref().unwrap().approximate_age > Duration::ZERO);

    // A worker polls both kinds of task under the client's identity and drains the backlog.
    let running = Worker::builder(&client, &queue)
        .workflow::<Collector>()
        .activity(shout)
        .build()
        .unwrap()
        .spawn();
    let served = eventually(
        "the worker's pollers and an empty backlog",
        Duration::from_secs(20),
        || async {
            let d = client.describe_task_queue(&queue).await.unwrap();
            let polled = |pollers: &[Poller]| pollers.iter().any(|p| p.identity == identity);
            let drained = d.workflow.backlog.as_ref().is_some_and(|b| b.approximate_count == 0);
            (polled(&d.workflow.pollers) && polled(&d.activity.pollers) && drained).then_some(d)
        },
    )
    .await;
    let poller = served.workflow.pollers.iter().find(|p| p.identity == identity).unwrap();
    let polled_at = poller.last_access_time.expect("when it last polled");
    assert!(SystemTime::now().duration_since(polled_at).unwrap_or_default() < Duration::from_secs(60));
    assert!(served.versioning.is_none(), "unversioned: {:?}", served.versioning);
    assert!(served.build_ids().is_empty());
    running.stop().await.unwrap();
}

/// `count` collectors started on `queue`, once visibility lists all of them as running.
async fn running_collectors(client: &Client, queue: &str, count: usize) -> (String, Vec<CollectorHandle>) {
    let mut handles = Vec::new();
    for _ in 0..count {
        let options = StartOptions::new(unique("batched"), queue);
        handles.push(Collector::start(client, options, "ada".into()).await.unwrap());
    }
    let query = format!("TaskQueue = '{queue}' AND ExecutionStatus = 'Running'");
    eventually("visibility to list the workflows", Duration::from_secs(20), || async {
        (client.count_workflows(&query).await.unwrap() == count as u64).then_some(())
    })
    .await;
    (query, handles)
}

#[tokio::test]
async fn batches_signal_cancel_and_terminate_the_workflows_a_query_matches() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("batch");
    let running = collector_worker(&client, &queue);
    let (query, handles) = running_collectors(&client, &queue, 5).await;

    // A signal to all five, with its argument.
    let signal = BatchOperation::signal("add", ("batched".to_string(),)).unwrap();
    let job = client
        .start_batch(BatchOptions::new(&query, signal, "stock arrived"))
        .await
        .unwrap();
    let done = job.wait(Duration::from_secs(60)).await.unwrap();
    assert_eq!(done.kind, BatchKind::Signal);
    assert_eq!(done.state, BatchState::Completed, "{done:?}");
    assert_eq!((done.total, done.completed, done.failed), (5, 5, 0));
    assert_eq!(done.reason, "stock arrived");
    for handle in &handles {
        items_become(handle, &["batched"]).await;
    }

    // Terminated, by a job named here: the name is then taken.
    let job_id = unique("terminate-job");
    let terminate = BatchOptions::new(&query, BatchOperation::Terminate, "closing the shop").job_id(&job_id);
    let job = client.start_batch(terminate.clone()).await.unwrap();
    assert_eq!(job.job_id(), job_id);
    let again = client.start_batch(terminate).await.unwrap_err();
    assert!(
        matches!(&again, ClientError::BatchAlreadyExists { job_id: id } if *id == job_id),
        "{again:?}"
    );
    let done = job.wait(Duration::from_secs(60)).await.unwrap();
    assert_eq!((done.kind, done.state), (BatchKind::Terminate, BatchState::Completed));
    assert_eq!((done.total, done.completed, done.failed), (5, 5, 0));
    for handle in &handles {
        let ended = handle.result().await.unwrap_err();
        assert!(
            matches!(&ended, ClientError::WorkflowTerminated { reason } if reason == "closing the shop"),
            "{ended:?}"
        );
    }
    let listed: Vec<BatchSummary> = client.list_batches().try_collect().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|b| b.job_id == job_id && b.kind == BatchKind::Terminate),
        "{listed:?}"
    );

    // Cancel: each run sees the request and ends cancelled.
    let (query, handles) = running_collectors(&client, &queue, 2).await;
    let cancel = BatchOptions::new(&query, BatchOperation::Cancel, "no longer needed");
    let done = client
        .start_batch(cancel)
        .await
        .unwrap()
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((done.kind, done.total, done.completed), (BatchKind::Cancel, 2, 2));
    for handle in &handles {
        let ended = handle.result().await.unwrap_err();
        assert!(matches!(ended, ClientError::WorkflowCanceled { .. }), "{ended:?}");
    }

    let missing = client.batch_handle("no-such-job").describe().await.unwrap_err();
    assert!(
        matches!(&missing, ClientError::BatchNotFound { job_id } if job_id == "no-such-job"),
        "{missing:?}"
    );
    running.stop().await.unwrap();
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    name: String,
    cents: u64,
}

/// The Python SDK's `OrderWorkflow` (tests/python/interface.py), declared here by its interface.
#[workflow_interface(name = "OrderWorkflow")]
pub trait PythonOrder {
    #[run]
    fn run(customer: String) -> String;
    #[signal(name = "add-item")]
    fn add(item: Item);
    #[signal]
    fn close();
    #[query]
    fn items() -> Vec<Item>;
    #[update]
    fn set_price(cents: u64) -> u64;
}

#[tokio::test]
async fn an_interface_drives_a_workflow_the_python_sdk_serves() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("python-orders");
    let workflow_id = unique("python-order");
    let order = PythonOrder::start(&client, StartOptions::new(&workflow_id, &queue), "ada".into())
        .await
        .unwrap();
    let address = DevServer::shared_address();
    // The Python worker serves the queue until the workflow completes.
    let args = [address.as_str(), &queue, &workflow_id];
    let python = peer::python("interface.py", &args);
    let rust = async {
        let tea = Item {
            name: "tea".into(),
            cents: 250,
        };
        let jam = Item {
            name: "jam".into(),
            cents: 400,
        };
        order.add(tea.clone()).await.unwrap();
        order.add(jam.clone()).await.unwrap();
        let items = eventually("both items", Duration::from_secs(60), || async {
            let items = order.items().await.unwrap();
            (items.len() == 2).then_some(items)
        })
        .await;
        assert_eq!(items, [tea, jam]);
        assert_eq!(order.set_price(300).await.unwrap(), 0);
        assert_eq!(order.set_price(350).await.unwrap(), 300);
        order.close().await.unwrap();
        order.result().await.unwrap()
    };
    let (python, result) = tokio::join!(python, rust);
    assert_eq!(result, "ada: 2 items, 650 cents, price 350");
    let python: serde_json::Value = serde_json::from_str(python.trim()).unwrap();
    assert_eq!(python["result"], result.as_str());
}

/// A Rust workflow, and an interface declaring it by its wire name as another service would.
#[workflow]
#[derive(Default)]
pub struct Tally {
    total: u64,
    adds: u32,
}

#[workflow(name = "Tally")]
impl Tally {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, start: u64) -> WorkflowResult<u64> {
        ctx.state_mut(|s| s.total += start);
        ctx.wait_condition(|s| s.total >= 100).await?;
        Ok(ctx.state(|s| s.total))
    }

    /// Adds `n`; answers how many adds there were.
    #[update]
    fn add(&mut self, n: u64) -> u32 {
        self.total += n;
        self.adds += 1;
        self.adds
    }

    #[query]
    fn total(&self) -> u64 {
        self.total
    }
}

#[workflow_interface(name = "Tally")]
pub trait RemoteTally {
    #[run]
    fn run(start: u64) -> u64;
    #[update]
    fn add(n: u64) -> u32;
    #[query]
    fn total() -> u64;
}

/// Runs the interface's workflow as its child.
#[workflow]
#[derive(Default)]
pub struct TallyParent;

#[workflow]
impl TallyParent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, start: u64) -> WorkflowResult<u64> {
        ctx.child::<RemoteTally>(start).await
    }
}

#[tokio::test]
async fn an_interface_drives_a_rust_workflow_of_the_same_wire_name_and_starts_it_as_a_child() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("tallies");
    let running = Worker::builder(&client, &queue)
        .workflow::<Tally>()
        .workflow::<TallyParent>()
        .build()
        .unwrap()
        .spawn();
    let options = StartOptions::new(unique("tally"), &queue);
    let (tally, adds) = RemoteTally::add_with_start(&client, options, 10, 5).await.unwrap();
    assert_eq!(adds, 1);
    assert_eq!(tally.total().await.unwrap(), 15);
    assert_eq!(tally.add(85).await.unwrap(), 2);
    assert_eq!(tally.result().await.unwrap(), 100);
    let again = RemoteTally::handle(&client, tally.workflow_id());
    assert_eq!(again.total().await.unwrap(), 100);

    let parent = TallyParent::execute(&client, StartOptions::new(unique("tally-parent"), &queue), 150);
    assert_eq!(parent.await.unwrap(), 150);
    running.stop().await.unwrap();
}
