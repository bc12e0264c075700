//! Nexus on the real dev server: a workflow calls a `#[nexus_service]`'s operations through its
//! caller stub and an endpoint that routes to a handler worker on another task queue serving
//! the service — synchronous ones (a result, an operation failure, a handler error that is not
//! retried, an unknown operation) and one backed by a workflow, whose result reaches the
//! caller when that workflow ends — and the calls replay from history; and across SDKs, a Rust
//! workflow calling the Python SDK's handlers and a Python workflow calling these.

#[path = "support/history_files.rs"]
mod history_files;
#[path = "python/peer.rs"]
mod peer;

use std::time::Duration;
use workflow_runtime::client::failure::FailureKind;
use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::{DevServer, dev_server_client, event_names, unique_id as unique};

/// The `inventory` service, as [`Warehouse`] serves it (and the Python SDK's copy of it).
#[nexus_service(name = "inventory")]
pub trait Inventory {
    /// Reserves an item, or says why not.
    #[operation]
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    /// Runs the `Restock` workflow; answers its result when it ends.
    #[operation]
    fn restock(&self, ctx: &NexusContext, order: (String, u64)) -> Result<WorkflowStart<Restock>, NexusError>;
    /// Runs the `Count` workflow, which counts until canceled.
    #[operation]
    fn count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError>;
}

/// A newer contract of `inventory` than the handlers serve: its operation reaches them unknown.
#[nexus_service(name = "inventory")]
pub trait InventoryV2 {
    #[operation]
    async fn audit(&self, ctx: NexusContext, nothing: ()) -> Result<(), NexusError>;
}

#[workflow]
#[derive(Default)]
pub struct Restock;

#[workflow]
impl Restock {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, item: String, count: u64) -> WorkflowResult<String> {
        // Long enough that the caller sees the operation start before it ends.
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok(format!("{count} {item} restocked"))
    }
}

#[workflow]
#[derive(Default)]
pub struct Count;

#[workflow]
impl Count {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(format!("{item} counted"))
    }
}

/// Starts a count, gives it two seconds, then calls it off and waits to hear how it ended.
#[workflow]
#[derive(Default)]
pub struct CallsOff;

#[workflow]
impl CallsOff {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String, item: String) -> WorkflowResult<String> {
        let scope = ctx.cancellation_scope();
        let count = inventory::Caller::new(&ctx, endpoint)
            .count(item)
            .schedule_to_close_timeout(Duration::from_secs(60))
            .cancellation_scope(&scope)
            .into_future();
        ctx.sleep(Duration::from_secs(2)).await?;
        scope.cancel();
        Ok(match count.await {
            Ok(done) => done,
            Err(e) if e.is_canceled() => "canceled".to_string(),
            Err(e) => format!("failed: {e}"),
        })
    }
}

/// The `inventory` service's implementation.
pub struct Warehouse;

impl Inventory for Warehouse {
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError> {
        assert_eq!((ctx.service.as_str(), ctx.operation.as_str()), ("inventory", "reserve"));
        match item.as_str() {
            "" => Err(NexusError::bad_request("an item is required")),
            "unicorn" => Err(NexusError::failed("unicorns are out of stock")),
            _ => Ok(item.len() as u64),
        }
    }

    fn restock(&self, ctx: &NexusContext, (item, count): (String, u64)) -> Result<WorkflowStart<Restock>, NexusError> {
        let id = format!("restock-{item}-{}", ctx.request_id);
        Ok(WorkflowStart::on_handler_queue(ctx, id, (item, count)))
    }

    fn count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError> {
        Ok(WorkflowStart::on_handler_queue(ctx, format!("count-{item}"), item))
    }
}

/// Reserves three items (one in stock, one not, none), restocks, and calls an operation the
/// handlers do not serve: a synchronous and a workflow-backed operation through the service's
/// caller stub.
#[workflow]
#[derive(Default)]
pub struct Shopper;

#[workflow]
impl Shopper {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<Vec<String>> {
        let inventory = inventory::Caller::new(&ctx, endpoint.as_str());
        let mut seen = Vec::new();
        for item in ["tea", "unicorn", ""] {
            let call = inventory
                .reserve(item.to_string())
                .schedule_to_close_timeout(Duration::from_secs(20));
            seen.push(match call.await {
                Ok(n) => format!("{item}: reserved {n}"),
                Err(e) => format!("{item}: {}", e.root_cause().message),
            });
        }
        let restocked = inventory
            .restock(("tea".to_string(), 12))
            .schedule_to_close_timeout(Duration::from_secs(30))
            .await?;
        seen.push(restocked);
        let audit = inventory_v2::Caller::new(&ctx, endpoint)
            .audit(())
            .schedule_to_close_timeout(Duration::from_secs(20))
            .await;
        seen.push(match audit {
            Ok(()) => "audit: done".into(),
            Err(e) => format!("audit: {}", e.root_cause().message),
        });
        Ok(seen)
    }
}

/// The `inventory` service's handlers, on `task_queue`.
fn handler_worker(client: &Client, task_queue: &str) -> Worker {
    Worker::builder(client, task_queue)
        .nexus_service(inventory::Handler(Warehouse))
        .workflow::<Restock>()
        .workflow::<Count>()
        .build()
        .unwrap()
}

/// What `Shopper` (or the Python SDK's copy of it) sees, whichever SDK serves the operations:
/// the unknown operation's message differs by SDK.
fn assert_shopper_saw(seen: &[String]) {
    assert_eq!(
        seen[..4],
        [
            "tea: reserved 3",
            "unicorn: unicorns are out of stock",
            ": an item is required",
            "12 tea restocked"
        ]
    );
    assert!(
        seen[4].starts_with("audit: ") && seen[4] != "audit: done",
        "{}",
        seen[4]
    );
}

/// A fresh endpoint name (letters, digits, `-` and `_` only).
fn endpoint_name(prefix: &str) -> String {
    unique(prefix).replace('.', "-")
}

/// Creates a Nexus endpoint named `name` targeting `task_queue`.
async fn create_endpoint(client: &Client, name: &str, task_queue: &str) {
    client.create_nexus_endpoint(name, task_queue).await.unwrap();
}

#[tokio::test]
async fn a_workflow_calls_a_services_operations_through_an_endpoint() {
    let client = dev_server_client().await.unwrap();
    let (callers, handlers) = (unique("nexus-callers"), unique("nexus-handlers"));
    let endpoint = endpoint_name("inventory");
    create_endpoint(&client, &endpoint, &handlers).await;
    let handler = handler_worker(&client, &handlers).spawn();
    let caller = Worker::builder(&client, &callers)
        .workflow::<Shopper>()
        .build()
        .unwrap()
        .spawn();
    let shopper = Shopper::start(&client, StartOptions::new(unique("shopper"), &callers), endpoint)
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(60), shopper.result())
        .await
        .expect("the run ends")
        .unwrap();
    caller.stop().await.unwrap();
    handler.stop().await.unwrap();
    assert_shopper_saw(&seen);
    assert!(seen[4].contains("inventory.audit"), "refused by name: {}", seen[4]);
    let history = shopper.fetch_history().await.unwrap();
    let names = event_names(&history);
    let count = |n: &str| names.iter().filter(|e| *e == n).count();
    assert_eq!(count("NEXUS_OPERATION_SCHEDULED"), 5);
    assert_eq!(
        count("NEXUS_OPERATION_STARTED"),
        1,
        "the workflow-backed one started, then completed"
    );
    assert_eq!(count("NEXUS_OPERATION_COMPLETED"), 2);
    assert_eq!(count("NEXUS_OPERATION_FAILED"), 3);
    // The calls replay from history, without a server.
    Replayer::new().workflow::<Shopper>().replay(&history).unwrap();
    history_files::record_history("nexus/shopper", &history);
}

#[tokio::test]
async fn a_rust_workflow_calls_operations_the_python_sdk_serves() {
    let client = dev_server_client().await.unwrap();
    let (callers, handlers) = (unique("nexus-callers"), unique("py-nexus-handlers"));
    let endpoint = endpoint_name("py-inventory");
    create_endpoint(&client, &endpoint, &handlers).await;
    let caller = Worker::builder(&client, &callers)
        .workflow::<Shopper>()
        .build()
        .unwrap()
        .spawn();
    let out = peer::python(
        "nexus.py",
        &[
            "serve-and-start",
            &DevServer::shared_address(),
            &callers,
            &handlers,
            &endpoint,
            &unique("shopper"),
        ],
    )
    .await;
    caller.stop().await.unwrap();
    let seen: Vec<String> = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_shopper_saw(&seen);
}

#[tokio::test]
async fn a_python_workflow_calls_operations_this_sdk_serves() {
    let client = dev_server_client().await.unwrap();
    let (callers, handlers) = (unique("py-nexus-callers"), unique("nexus-handlers"));
    let endpoint = endpoint_name("rs-inventory");
    create_endpoint(&client, &endpoint, &handlers).await;
    let handler = handler_worker(&client, &handlers).spawn();
    let out = peer::python(
        "nexus.py",
        &[
            "call",
            &DevServer::shared_address(),
            &callers,
            &endpoint,
            &unique("py-shopper"),
        ],
    )
    .await;
    handler.stop().await.unwrap();
    let seen: Vec<String> = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_shopper_saw(&seen);
}

#[tokio::test]
async fn cancelling_a_workflow_backed_operation_cancels_its_workflow() {
    let client = dev_server_client().await.unwrap();
    let (callers, handlers) = (unique("nexus-callers"), unique("nexus-handlers"));
    let endpoint = endpoint_name("inventory");
    create_endpoint(&client, &endpoint, &handlers).await;
    let handler = handler_worker(&client, &handlers).spawn();
    let caller = Worker::builder(&client, &callers)
        .workflow::<CallsOff>()
        .build()
        .unwrap()
        .spawn();
    let item = unique("tea");
    let calls_off = CallsOff::start(
        &client,
        StartOptions::new(unique("calls-off"), &callers),
        endpoint,
        item.clone(),
    )
    .await
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), calls_off.result())
        .await
        .expect("the run ends")
        .unwrap();
    let counting = client.untyped_handle(format!("count-{item}"), None);
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let status = counting.describe().await.unwrap().summary.status;
            if status != workflow_runtime::client::WorkflowExecutionStatus::Running {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the backing workflow ends");
    caller.stop().await.unwrap();
    handler.stop().await.unwrap();
    assert_eq!(outcome, "canceled");
    assert_eq!(status, workflow_runtime::client::WorkflowExecutionStatus::Canceled);
    let history = calls_off.fetch_history().await.unwrap();
    history_files::record_history("nexus/calls-off", &history);
    let names = event_names(&history);
    for event in [
        "NEXUS_OPERATION_STARTED",
        "NEXUS_OPERATION_CANCEL_REQUESTED",
        "NEXUS_OPERATION_CANCELED",
    ] {
        assert!(names.iter().any(|n| n == event), "{event} in {names:?}");
    }
}

/// Nexus histories recorded from the server (`RECORD_HISTORIES=1`) replay against today's code.
#[test]
fn recorded_nexus_histories_replay() {
    let dir = format!("{}/tests/histories/nexus", env!("CARGO_MANIFEST_DIR"));
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read_to_string(&path).unwrap();
        let replayer = Replayer::new().workflow::<Shopper>().workflow::<CallsOff>();
        if let Err(e) = replayer.replay_json(&json) {
            panic!("{} does not replay: {e}", path.display());
        }
        replayed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    replayed.sort();
    assert_eq!(replayed, ["calls-off", "shopper"]);
}

#[tokio::test]
async fn an_endpoint_name_is_taken_once() {
    let client = dev_server_client().await.unwrap();
    let name = endpoint_name("taken");
    let endpoint = client.create_nexus_endpoint(&name, "anywhere").await.unwrap();
    assert_eq!(endpoint.name, name);
    let again = client.create_nexus_endpoint(&name, "elsewhere").await.unwrap_err();
    assert!(
        matches!(&again, ClientError::NexusEndpointAlreadyExists { name: n } if *n == name),
        "{again:?}"
    );
    client.delete_nexus_endpoint(&endpoint).await.unwrap();
    // Deleted, the name is free again.
    let recreated = client.create_nexus_endpoint(&name, "anywhere").await.unwrap();
    client.delete_nexus_endpoint(&recreated).await.unwrap();
}

/// A service is registered once: an operation of it registered again (as a service or alone)
/// is refused when the worker is built, naming the operation.
#[tokio::test]
async fn an_operation_registered_twice_is_refused() {
    let client = dev_server_client().await.unwrap();
    let refused = |builder: workflow_runtime::worker::WorkerBuilder| match builder.build() {
        Err(workflow_runtime::worker::WorkerError::Config(message)) => message,
        Ok(_) => panic!("built"),
        Err(e) => panic!("{e}"),
    };
    let twice = refused(
        Worker::builder(&client, "q")
            .nexus_service(inventory::Handler(Warehouse))
            .nexus_service(std::sync::Arc::new(inventory::Handler(Warehouse))),
    );
    for operation in ["reserve", "restock", "count"] {
        assert!(
            twice.contains(&format!("Nexus operation `inventory.{operation}` is registered twice")),
            "{twice}"
        );
    }
    let beside = refused(
        Worker::builder(&client, "q")
            .nexus_service(inventory::Handler(Warehouse))
            .nexus_operation::<inventory::Reserve, _, _>(|_ctx, _item| async { Ok(0) }),
    );
    assert!(beside.contains("`inventory.reserve` is registered twice"), "{beside}");
    assert!(!beside.contains("inventory.count"), "{beside}");
}

/// A service whose one operation never answers by itself.
#[nexus_service(name = "slow-desk")]
pub trait SlowDesk {
    /// Waits until the request is given up on.
    #[operation]
    async fn wait(&self, ctx: NexusContext, nothing: ()) -> Result<(), NexusError>;
}

/// How long the first `slow-desk.wait` request had left when it arrived, and whether its
/// handler has been dropped.
static SLOW_DESK_TIME_LEFT: std::sync::Mutex<Option<Duration>> = std::sync::Mutex::new(None);
static SLOW_DESK_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct SlowClerk;

impl SlowDesk for SlowClerk {
    async fn wait(&self, ctx: NexusContext, _: ()) -> Result<(), NexusError> {
        struct Dropped;
        impl Drop for Dropped {
            fn drop(&mut self) {
                SLOW_DESK_DROPPED.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let _dropped = Dropped;
        let left = ctx
            .deadline
            .map(|d| d.saturating_duration_since(std::time::Instant::now()));
        SLOW_DESK_TIME_LEFT
            .lock()
            .unwrap()
            .get_or_insert(left.unwrap_or(Duration::MAX));
        std::future::pending().await
    }
}

/// Calls `slow-desk.wait` with a 3 s schedule-to-close timeout; answers how it ended.
#[workflow]
#[derive(Default)]
pub struct WaitsAtTheDesk;

#[workflow]
impl WaitsAtTheDesk {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<String> {
        let call = slow_desk::Caller::new(&ctx, endpoint)
            .wait(())
            .schedule_to_close_timeout(Duration::from_secs(3));
        Ok(match call.await {
            Ok(()) => "answered".to_string(),
            Err(e) if matches!(*e.root_cause().kind, FailureKind::Timeout { .. }) => "timed out".to_string(),
            Err(e) => format!("failed: {e}"),
        })
    }
}

#[tokio::test]
async fn a_handler_past_its_request_deadline_is_cancelled_and_the_call_times_out() {
    let client = dev_server_client().await.unwrap();
    let (callers, handlers) = (unique("nexus-callers"), unique("slow-desk"));
    let endpoint = endpoint_name("slow-desk");
    create_endpoint(&client, &endpoint, &handlers).await;
    let handler = Worker::builder(&client, &handlers)
        .nexus_service(slow_desk::Handler(SlowClerk))
        .build()
        .unwrap()
        .spawn();
    let caller = Worker::builder(&client, &callers)
        .workflow::<WaitsAtTheDesk>()
        .build()
        .unwrap()
        .spawn();
    let run = WaitsAtTheDesk::execute(&client, StartOptions::new(unique("desk"), &callers), endpoint);
    let outcome = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run ends");
    assert_eq!(outcome.unwrap(), "timed out");
    // The request came with the server's deadline, no later than the call's own timeout, and
    // the handler was dropped when it passed, while its worker still runs.
    let left = SLOW_DESK_TIME_LEFT.lock().unwrap().expect("the handler ran");
    assert!(left > Duration::ZERO && left <= Duration::from_secs(3), "{left:?} left");
    workflow_runtime::testing::eventually("the handler dropped", Duration::from_secs(5), || async {
        SLOW_DESK_DROPPED
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    })
    .await;
    caller.stop().await.unwrap();
    handler.stop().await.unwrap();
}
