//! The workflow features beyond activities and timers, each run by the worker on a real server:
//! child workflows, signals and cancellation of other workflows, workflow cancellation. Every
//! feature's history is also kept under `tests/histories/` and replayed without a server.

use std::time::Duration;
use workflow_runtime::client::proto::enums::WorkflowExecutionStatus;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::client::{IdReusePolicy, SearchAttributeKey};
use workflow_runtime::futures::future::select;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::{DevServer, dev_server_client, unique_id as unique};
use workflow_runtime::workflow::{CancellationType, ParentClosePolicy};

/// A child: cooks a dish; a slow stew waits for `hurry` or for cancellation.
#[workflow]
#[derive(Default)]
pub struct Kitchen {
    hurried: bool,
}

#[workflow(name = "KitchenWorkflow")]
impl Kitchen {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, dish: String, minutes: u32) -> WorkflowResult<String> {
        match dish.as_str() {
            "burnt toast" => Err(WorkflowError::non_retryable("the toast burned", "Burnt")),
            // A cancel request ends the wait with a cancellation error, and so the run.
            "slow stew" => {
                ctx.wait_condition(|s| s.hurried).await?;
                Ok(format!("stew hurried after {minutes} min"))
            }
            _ => Ok(format!("{dish} ready in {minutes} min")),
        }
    }

    #[signal]
    fn hurry(&mut self) {
        self.hurried = true;
    }
}

/// A parent: runs kitchens as children in every way a workflow can, and signals a workflow it
/// did not start.
#[workflow]
#[derive(Default)]
pub struct Restaurant;

#[workflow(name = "RestaurantWorkflow")]
impl Restaurant {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, neighbour: String) -> WorkflowResult<Vec<String>> {
        let me = ctx.info().workflow_id;
        let mut log = Vec::new();
        // Run to the end, typed input and output.
        log.push(ctx.child::<Kitchen>(("soup".to_string(), 5)).await?);
        // A failing child: a child-workflow failure whose cause is the child's own failure.
        match ctx.child::<Kitchen>(("burnt toast".to_string(), 1)).await {
            Err(e) => log.push(format!("{} because {}", e.message, e.root_cause().message)),
            Ok(other) => log.push(other),
        }
        // Start, signal, then wait.
        let stew = ctx
            .child::<Kitchen>(("slow stew".to_string(), 90))
            .workflow_id(format!("{me}-stew"))
            .start()
            .await?;
        stew.signal_by_name("hurry", ()).await?;
        log.push(stew.result().await?);
        // The same id again, refused by the reuse policy.
        let again = ctx
            .child::<Kitchen>(("soup".to_string(), 1))
            .workflow_id(format!("{me}-stew"))
            .id_reuse_policy(IdReusePolicy::RejectDuplicate)
            .start()
            .await;
        match again {
            Err(e) => log.push(format!("second start refused: {}", e.application_type().unwrap_or(""))),
            Ok(_) => log.push("second start allowed".to_string()),
        }
        // Cancel a child; it ends as canceled.
        let called_off = ctx.child::<Kitchen>(("slow stew".to_string(), 60)).start().await?;
        called_off.cancel().await?;
        match called_off.result().await {
            Err(e) => log.push(format!("child canceled: {}", e.is_canceled())),
            Ok(other) => log.push(other),
        }
        // A child that outlives its parent.
        ctx.child::<Kitchen>(("slow stew".to_string(), 30))
            .workflow_id(format!("{me}-abandoned"))
            .parent_close_policy(ParentClosePolicy::Abandon)
            .start()
            .await?;
        // Signal a workflow this one did not start, and one that does not exist.
        ctx.external_workflow(&neighbour, "")
            .signal_by_name("hurry", ())
            .await?;
        match ctx
            .external_workflow(format!("{me}-nobody"), "")
            .signal_by_name("hurry", ())
            .await
        {
            Err(e) => log.push(format!("signal to nobody: {}", e.message)),
            Ok(()) => log.push("signal to nobody delivered".to_string()),
        }
        Ok(log)
    }
}

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

#[activity(start_to_close_timeout = "10s")]
async fn pack(order: String) -> Result<String, ActivityError> {
    Ok(format!("{order} packed"))
}

#[activity(start_to_close_timeout = "10s")]
async fn gift_wrap(order: String) -> Result<String, ActivityError> {
    Ok(format!("{order} gift-wrapped"))
}

/// Four versions of one workflow type: before a change, with it behind `patched`, with the
/// patch deprecated, and with the patch gone.
macro_rules! shipping_version {
    ($name:ident, |$ctx:ident, $order:ident| $pack:expr) => {
        #[workflow]
        #[derive(Default)]
        pub struct $name {
            go: bool,
        }

        #[workflow(name = "ShippingWorkflow")]
        impl $name {
            #[run]
            async fn run($ctx: WorkflowContext<Self>, $order: String) -> WorkflowResult<String> {
                let packed = $pack.await?;
                $ctx.wait_condition(|s| s.go).await?;
                Ok(format!("{packed}, shipped"))
            }

            #[signal]
            fn ship(&mut self) {
                self.go = true;
            }
        }
    };
}

shipping_version!(ShippingV1, |ctx, order| ctx.activity(pack, order));
shipping_version!(ShippingV2, |ctx, order| async {
    if ctx.patched("gift-wrap") {
        ctx.activity(gift_wrap, order).await
    } else {
        ctx.activity(pack, order).await
    }
});
shipping_version!(ShippingV3, |ctx, order| async {
    ctx.deprecate_patch("gift-wrap");
    ctx.activity(gift_wrap, order).await
});
shipping_version!(ShippingV4, |ctx, order| ctx.activity(gift_wrap, order));

/// Attributes the dev server of the tests registers.
const CUSTOMER: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomKeywordField");
const STAGE: SearchAttributeKey<i64> = SearchAttributeKey::int("CustomIntField");

/// Reads its search attributes and memo, upserts both, and waits to be finished.
#[workflow]
#[derive(Default)]
pub struct Tracked {
    done: bool,
}

#[workflow(name = "TrackedWorkflow")]
impl Tracked {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let customer = ctx.search_attribute(CUSTOMER).unwrap_or_default();
        let note: String = ctx.memo("note").unwrap_or_default();
        ctx.upsert_search_attributes([STAGE.set(2)])?;
        ctx.upsert_memo("stage", "packed")?;
        ctx.wait_condition(|s| s.done).await?;
        let stage = ctx.search_attribute(STAGE).unwrap_or(0);
        Ok(format!("{customer}: {note}, stage {stage}"))
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
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

/// Attempts of `flaky_rate` so far (it fails its first two), across all tests of this binary.
static RATE_ATTEMPTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// Runs of `slow_sum` so far.
static SLOW_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[activity(start_to_close_timeout = "5s")]
async fn rate(currency: String) -> Result<u64, ActivityError> {
    Ok(if currency == "EUR" { 110 } else { 100 })
}

#[activity(
    start_to_close_timeout = "5s",
    retry(initial_interval = "100ms", maximum_attempts = 5)
)]
async fn flaky_rate(ctx: ActivityContext) -> Result<u64, ActivityError> {
    RATE_ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if ctx.info().attempt < 3 {
        return Err(ActivityError::retryable("rates not ready", "NotReady"));
    }
    Ok(ctx.info().attempt as u64)
}

#[activity(start_to_close_timeout = "30s")]
async fn slow_sum(a: u64, b: u64) -> Result<u64, ActivityError> {
    SLOW_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    Ok(a + b)
}

#[activity(start_to_close_timeout = "5s", retry(maximum_attempts = 1))]
async fn broken() -> Result<u64, ActivityError> {
    Err(ActivityError::non_retryable("no rates today", "Closed"))
}

/// Local activities: quick ones, a retried one, one slower than the workflow task timeout,
/// a failing one; then it waits for a signal so a replay can be forced.
#[workflow]
#[derive(Default)]
pub struct Quote {
    go: bool,
}

#[workflow(name = "QuoteWorkflow")]
impl Quote {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let eur = ctx.local_activity(rate, "EUR".to_string()).await?;
        let usd = ctx.local_activity(rate, "USD".to_string()).await?;
        let attempts = ctx.local_activity(flaky_rate, ()).await?;
        let sum = ctx.local_activity(slow_sum, (eur, usd)).await?;
        let refused = match ctx.local_activity(broken, ()).await {
            Err(e) => e.root_cause().message.clone(),
            Ok(v) => v.to_string(),
        };
        ctx.wait_condition(|s| s.go).await?;
        Ok(format!("{eur}+{usd}={sum} after {attempts} attempts; {refused}"))
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }
}

/// Takes a name; has a query and an update validator that panic on a bad argument.
#[workflow]
#[derive(Default)]
pub struct Fragile {
    names: Vec<String>,
    done: bool,
}

#[workflow(name = "FragileWorkflow")]
impl Fragile {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        ctx.state_mut(|s| s.names.push(name));
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.names.join(",")))
    }

    #[signal]
    fn add(&mut self, name: String) {
        self.names.push(name);
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    /// Takes a number (a string sent here does not decode).
    #[signal]
    fn skip(&mut self, n: usize) {
        self.names.truncate(self.names.len().saturating_sub(n));
    }

    #[query]
    fn nth(&self, i: usize) -> String {
        self.names[i].clone() // panics past the end: the query fails, the workflow does not
    }

    #[update(validator = "check")]
    fn rename(&mut self, i: usize, name: String) -> String {
        std::mem::replace(&mut self.names[i], name)
    }

    fn check(&self, i: usize, _name: String) -> Result<(), String> {
        assert!(i < 100, "index {i} is absurd"); // a panicking validator rejects the update
        Ok(())
    }
}

async fn connect() -> Client {
    dev_server_client().await.unwrap()
}

/// Keeps a history under `tests/histories/` when `RECORD_HISTORIES` is set (to refresh them
/// after a deliberate change); the `recorded_histories_replay` test reads them.
fn record_history(name: &str, history: &workflow_runtime::client::proto::history::History) {
    if std::env::var_os("RECORD_HISTORIES").is_some() {
        let json = workflow_runtime::client::history::history_to_json(history).unwrap();
        let path = format!("{}/tests/histories/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, json).unwrap();
    }
}

fn replayer() -> Replayer {
    Replayer::new()
        .workflow::<ShippingV2>()
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .workflow::<Patient>()
        .workflow::<Tracked>()
        .workflow::<Guarded>()
        .workflow::<Quote>()
}

#[tokio::test]
async fn child_workflows_and_external_workflows() {
    let client = connect().await;
    let tq = unique("children");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .build()
        .unwrap();
    let running = worker.spawn();

    let neighbour_id = unique("neighbour");
    let neighbour = Kitchen::start(
        &client,
        StartOptions::new(&neighbour_id, &tq),
        "slow stew".to_string(),
        7,
    )
    .await
    .unwrap();
    let id = unique("restaurant");
    let restaurant = Restaurant::start(&client, StartOptions::new(&id, &tq), neighbour_id.clone())
        .await
        .unwrap();
    let log = tokio::time::timeout(Duration::from_secs(60), restaurant.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        log,
        [
            "soup ready in 5 min",
            "child workflow failed because the toast burned",
            "stew hurried after 90 min",
            "second start refused: ChildWorkflowNotStarted",
            "child canceled: true",
            "signal to nobody: the signal was not delivered: SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND",
        ]
    );
    // The neighbour got the parent's signal.
    assert_eq!(neighbour.result().await.unwrap(), "stew hurried after 7 min");

    // The abandoned child outlived its parent; it finishes when told to.
    let abandoned = Kitchen::handle(&client, format!("{id}-abandoned"));
    let status = abandoned.describe().await.unwrap().summary.status;
    assert_eq!(status, WorkflowExecutionStatus::Running);
    abandoned.hurry().await.unwrap();
    assert_eq!(abandoned.result().await.unwrap(), "stew hurried after 30 min");

    // The failed child's failure reached the parent with the child's identity and cause.
    let history = restaurant.fetch_history().await.unwrap();
    let failed = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ChildWorkflowExecutionFailedEventAttributes(a)) => Some(a.clone()),
            _ => None,
        })
        .expect("a failed child in history");
    assert_eq!(failed.workflow_type.unwrap().name, "KitchenWorkflow");
    let child_types: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                Some(a.workflow_type.clone().unwrap().name)
            }
            _ => None,
        })
        .collect();
    assert_eq!(child_types.len(), 6);
    assert!(child_types.iter().all(|t| t == "KitchenWorkflow"));

    // The parent's history replays without a server.
    replayer().replay(&history).unwrap();
    record_history("children", &history);

    running.stop().await.unwrap();
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

/// Histories recorded from the server by the tests above replay against today's code.
#[test]
fn recorded_histories_replay() {
    let dir = format!("{}/tests/histories", env!("CARGO_MANIFEST_DIR"));
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let json = std::fs::read_to_string(&path).unwrap();
            if let Err(e) = replayer().replay_json(&json) {
                panic!("{} does not replay: {e}", path.display());
            }
            replayed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    replayed.sort();
    assert_eq!(
        replayed,
        [
            "cancel",
            "cancellation-scope-wait",
            "children",
            "local-activities",
            "search-attributes",
            "versioning-v1",
            "versioning-v2",
            "versioning-v3"
        ]
    );
}

/// The same parent and children in the in-process test environment: the same outcome, and the
/// same commands as the run on the real server recorded in `tests/histories/children.json`.
#[tokio::test]
async fn children_in_the_test_environment_match_the_server() {
    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "children")
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .build()
        .unwrap();
    let running = worker.spawn();

    let neighbour = Kitchen::start(
        env.client(),
        StartOptions::new("neighbour", "children"),
        "slow stew".to_string(),
        7,
    )
    .await
    .unwrap();
    let restaurant = Restaurant::start(
        env.client(),
        StartOptions::new("restaurant", "children"),
        "neighbour".into(),
    )
    .await
    .unwrap();
    let log = restaurant.result().await.unwrap();
    assert_eq!(log.len(), 6, "{log:?}");
    assert_eq!(log[1], "child workflow failed because the toast burned");
    assert_eq!(log[3], "second start refused: ChildWorkflowNotStarted");
    assert_eq!(log[4], "child canceled: true");
    assert_eq!(neighbour.result().await.unwrap(), "stew hurried after 7 min");
    // The abandoned child outlived its parent.
    let abandoned = Kitchen::handle(env.client(), "restaurant-abandoned");
    assert_eq!(
        abandoned.describe().await.unwrap().summary.status,
        WorkflowExecutionStatus::Running
    );
    abandoned.hurry().await.unwrap();
    assert_eq!(abandoned.result().await.unwrap(), "stew hurried after 30 min");

    let here = env.history("restaurant").unwrap();
    replayer().replay(&here).unwrap();
    let recorded =
        std::fs::read_to_string(format!("{}/tests/histories/children.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let there = workflow_runtime::client::history::history_from_json(&recorded).unwrap();
    assert_eq!(
        workflow_runtime::client::history::command_events(&here),
        workflow_runtime::client::history::command_events(&there)
    );

    running.stop().await.unwrap();
}

/// Waits (bounded) until the run's history holds an event `done` accepts.
async fn wait_for_event(handle: &ShippingV1Handle, done: impl Fn(&Attributes) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = handle.fetch_history().await.unwrap();
        if history.events.iter().any(|e| e.attributes.as_ref().is_some_and(&done)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the event never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A run started on v1 finishes on v2 (old path, by replay) beside a run that takes the new
/// path; later versions replay what earlier ones recorded, and the first divergence is named.
#[tokio::test]
async fn versioning_with_patches_across_worker_versions() {
    let client = connect().await;
    let tq = unique("shipping");
    let v1 = Worker::builder(&client, &tq)
        .workflow::<ShippingV1>()
        .activity(pack)
        .build()
        .unwrap()
        .spawn();
    let old = ShippingV1::start(&client, StartOptions::new(unique("old"), &tq), "old".into())
        .await
        .unwrap();
    wait_for_event(&old, |a| {
        matches!(a, Attributes::ActivityTaskCompletedEventAttributes(_))
    })
    .await;
    v1.stop().await.unwrap();

    // v2 takes over: the old run replays on the old path; a new run takes the new one.
    let v2 = Worker::builder(&client, &tq)
        .workflow::<ShippingV2>()
        .activity(pack)
        .activity(gift_wrap)
        .build()
        .unwrap()
        .spawn();
    let new = ShippingV2::start(&client, StartOptions::new(unique("new"), &tq), "new".into())
        .await
        .unwrap();
    old.ship().await.unwrap();
    new.ship().await.unwrap();
    assert_eq!(old.result().await.unwrap(), "old packed, shipped");
    assert_eq!(new.result().await.unwrap(), "new gift-wrapped, shipped");
    v2.stop().await.unwrap();

    // v3 deprecates the patch: runs recorded with the marker still replay.
    let v3 = Worker::builder(&client, &tq)
        .workflow::<ShippingV3>()
        .activity(gift_wrap)
        .build()
        .unwrap()
        .spawn();
    let newer = ShippingV3::start(&client, StartOptions::new(unique("newer"), &tq), "newer".into())
        .await
        .unwrap();
    newer.ship().await.unwrap();
    assert_eq!(newer.result().await.unwrap(), "newer gift-wrapped, shipped");
    v3.stop().await.unwrap();

    let old_history = old.fetch_history().await.unwrap();
    let new_history = new.fetch_history().await.unwrap();
    let newer_history = newer.fetch_history().await.unwrap();
    let markers = |h: &workflow_runtime::client::proto::history::History| {
        h.events
            .iter()
            .filter(|e| matches!(e.attributes, Some(Attributes::MarkerRecordedEventAttributes(_))))
            .count()
    };
    assert_eq!(
        (markers(&old_history), markers(&new_history), markers(&newer_history)),
        (0, 1, 1)
    );
    let v2 = Replayer::new().workflow::<ShippingV2>();
    for h in [&old_history, &new_history, &newer_history] {
        v2.replay(h).unwrap();
    }
    let v3 = Replayer::new().workflow::<ShippingV3>();
    v3.replay(&new_history).unwrap();
    v3.replay(&newer_history).unwrap();
    // v3 dropped the old path: the run recorded before the change no longer replays.
    let diverged = v3.replay_explained(&old_history).unwrap_err().to_string();
    assert!(diverged.contains("ScheduleActivityTask(type gift_wrap"), "{diverged}");
    // v4 drops the deprecated call: the deprecated marker is skipped, the live one is not.
    let v4 = Replayer::new().workflow::<ShippingV4>();
    v4.replay(&newer_history).unwrap();
    assert!(v4.replay(&new_history).is_err());

    record_history("versioning-v1", &old_history);
    record_history("versioning-v2", &new_history);
    record_history("versioning-v3", &newer_history);
}

/// Typed search attributes and memo: set at start, read and upserted by workflow code, seen by
/// visibility queries and describe — on the server and in the test environment.
#[tokio::test]
async fn search_attributes_and_memo_set_read_upserted_and_listed() {
    async fn run_on(
        client: &Client,
        customer: &str,
        on_server: bool,
    ) -> workflow_runtime::client::proto::history::History {
        let tq = unique("tracked");
        let worker = Worker::builder(client, &tq).workflow::<Tracked>().build().unwrap();
        let running = worker.spawn();
        let options = StartOptions::new(unique("tracked"), &tq)
            .search_attribute(CUSTOMER, customer.to_string())
            .search_attribute(STAGE, 1)
            .memo("note", "fragile")
            .unwrap();
        let tracked = Tracked::start(client, options).await.unwrap();
        // The upsert reaches describe (and, on the server, visibility queries).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let description = tracked.describe().await.unwrap();
            let stage = STAGE.get(&description.summary.search_attributes).map(Result::unwrap);
            let memo = description
                .summary
                .memo
                .get("stage")
                .map(|p| workflow_runtime::client::payload::from_payload::<String>(p).unwrap());
            if stage == Some(2) && memo.as_deref() == Some("packed") {
                assert_eq!(
                    CUSTOMER.get(&description.summary.search_attributes).unwrap().unwrap(),
                    customer
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the upsert never showed: {stage:?} {memo:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if on_server {
            let query = format!("{} = '{customer}' AND {} = 2", CUSTOMER.name(), STAGE.name());
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while client.count_workflows(&query).await.unwrap() != 1 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "visibility never listed the run"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tracked.finish().await.unwrap();
        assert_eq!(tracked.result().await.unwrap(), format!("{customer}: fragile, stage 2"));
        running.stop().await.unwrap();
        tracked.fetch_history().await.unwrap()
    }

    let client = connect().await;
    let history = run_on(&client, &unique("customer"), true).await;
    replayer().replay(&history).unwrap();
    record_history("search-attributes", &history);

    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let here = run_on(env.client(), "ada", false).await;
    assert_eq!(
        workflow_runtime::client::history::command_events(&here),
        workflow_runtime::client::history::command_events(&history)
    );
}

/// The event types of a history, in order, as short names.
fn event_names(history: &workflow_runtime::client::proto::history::History) -> Vec<String> {
    use workflow_runtime::client::proto::enums::EventType;
    history
        .events
        .iter()
        .filter_map(|e| EventType::try_from(e.event_type).ok())
        .map(|t| t.as_str_name().trim_start_matches("EVENT_TYPE_").to_string())
        .collect()
}

fn position(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
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

/// Local activities on the server: results recorded as markers (no activity tasks), retried
/// in the worker, a slow one keeping the workflow task alive, and a replay by a worker without
/// a cache that runs none of them again.
#[tokio::test]
async fn local_activities_record_markers_retry_and_keep_the_task_alive() {
    use std::sync::atomic::Ordering::SeqCst;
    let client = connect().await;
    let tq = unique("quotes");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Quote>()
        .activity(rate)
        .activity(flaky_rate)
        .activity(slow_sum)
        .activity(broken)
        .build()
        .unwrap();
    let running = worker.spawn();
    let before = (RATE_ATTEMPTS.load(SeqCst), SLOW_RUNS.load(SeqCst));
    // A 2 s workflow task timeout: the 2.5 s local activity outlasts 80% of it.
    let quote = Quote::start(
        &client,
        StartOptions::new(unique("quote"), &tq).task_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = quote.fetch_history().await.unwrap();
        let markers = history
            .events
            .iter()
            .filter(|e| matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(a)) if a.marker_name == "core_local_activity"))
            .count();
        if markers == 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {markers} local activity markers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await.unwrap();
    assert_eq!(
        (RATE_ATTEMPTS.load(SeqCst) - before.0, SLOW_RUNS.load(SeqCst) - before.1),
        (3, 1)
    );

    // A worker without a cache replays the whole history to handle the signal: the local
    // activities are read from their markers, not run again.
    let replaying = Worker::builder(&client, &tq)
        .workflow::<Quote>()
        .activity(rate)
        .activity(flaky_rate)
        .activity(slow_sum)
        .activity(broken)
        .sticky_cache_size(0)
        .build()
        .unwrap();
    let running = replaying.spawn();
    quote.go().await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), quote.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, "110+100=210 after 3 attempts; no rates today");
    assert_eq!(
        (RATE_ATTEMPTS.load(SeqCst) - before.0, SLOW_RUNS.load(SeqCst) - before.1),
        (3, 1)
    );
    running.stop().await.unwrap();

    let history = quote.fetch_history().await.unwrap();
    let names = event_names(&history);
    assert!(!names.iter().any(|n| n == "ACTIVITY_TASK_SCHEDULED"), "{names:?}");
    // The slow one kept the task alive: the first task was answered with the markers so far
    // and a new task followed at once, before anything else happened.
    let signal = position(&names, "WORKFLOW_EXECUTION_SIGNALED").unwrap();
    let tasks_before_signal = names[..signal]
        .iter()
        .filter(|n| *n == "WORKFLOW_TASK_COMPLETED")
        .count();
    assert_eq!(tasks_before_signal, 2, "{names:?}");
    replayer().replay(&history).unwrap();
    record_history("local-activities", &history);
}

/// Bad input of every kind gets a clear error and the worker keeps serving the same run.
#[tokio::test]
async fn bad_input_gets_clear_errors_and_the_worker_keeps_serving() {
    use workflow_runtime::client::payload::to_payload;
    use workflow_runtime::client::proto::common::Payload;
    let client = connect().await;
    let tq = unique("fragile");
    let worker = Worker::builder(&client, &tq).workflow::<Fragile>().build().unwrap();
    let running = worker.spawn();
    let fragile = Fragile::start(&client, StartOptions::new(unique("fragile"), &tq), "ada".into())
        .await
        .unwrap();
    let raw = fragile.untyped();
    // Answered only once the run has started: the signals below come after its first line.
    assert_eq!(fragile.nth(0).await.unwrap(), "ada");

    // Unknown signal: dropped (logged); non-UTF-8 text: dropped too. An extra argument is
    // ignored (the arity rule of the Go and TypeScript SDKs): "a" is added.
    raw.signal("no_such_signal", vec![to_payload("x").unwrap()])
        .await
        .unwrap();
    raw.signal("add", vec![to_payload("a").unwrap(), to_payload("b").unwrap()])
        .await
        .unwrap();
    let not_utf8 = Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: vec![b'"', 0xff, 0xfe, b'"'],
        ..Default::default()
    };
    raw.signal("add", vec![not_utf8.clone()]).await.unwrap();
    fragile.add("grace".into()).await.unwrap();

    // Unknown query and update: typed errors naming what exists.
    match raw.query("no_such_query", vec![], Default::default()).await {
        Err(ClientError::QueryFailed { message, .. }) => assert!(message.contains("known queries: nth"), "{message}"),
        other => panic!("{other:?}"),
    }
    match raw.update("no_such_update", vec![]).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert!(failure.message.contains("known updates: rename"), "{failure}")
        }
        other => panic!("{other:?}"),
    }
    // A panicking query handler fails the query; a panicking validator rejects the update.
    match fragile.nth(7).await {
        Err(ClientError::QueryFailed { message, .. }) => assert!(message.contains("index out of bounds"), "{message}"),
        other => panic!("{other:?}"),
    }
    match fragile.rename(1000, "x".into()).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert!(failure.message.contains("index 1000 is absurd"), "{failure}")
        }
        other => panic!("{other:?}"),
    }
    // A payload over the server's size limit is refused, and the error says so.
    let huge = "x".repeat(3 * 1024 * 1024);
    match fragile.add(huge).await {
        Err(e) => assert!(e.to_string().to_lowercase().contains("size"), "{e}"),
        Ok(()) => panic!("a 3 MiB signal was accepted"),
    }
    // The same run still works: the bad signals left no trace in its state.
    assert_eq!(fragile.nth(1).await.unwrap(), "a");
    assert_eq!(fragile.nth(2).await.unwrap(), "grace");
    assert_eq!(fragile.rename(0, "ada lovelace".into()).await.unwrap(), "ada");
    fragile.finish().await.unwrap();
    assert_eq!(fragile.result().await.unwrap(), "ada lovelace,a,grace");

    // Input that is not valid UTF-8 JSON, and the wrong number of arguments, fail the start
    // with the reason (started by name, as another SDK or the CLI would).
    for (what, args) in [
        ("not UTF-8", vec![not_utf8]),
        ("two arguments", vec![to_payload("a").unwrap(); 2]),
    ] {
        let handle = client
            .start_untyped("FragileWorkflow", StartOptions::new(unique("bad"), &tq), args)
            .await
            .unwrap();
        match handle.result().await {
            Err(ClientError::WorkflowFailed(failure)) => {
                assert!(failure.message.contains("FragileWorkflow"), "{what}: {failure}");
                assert_eq!(failure.application_type(), Some("PayloadError"), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    running.stop().await.unwrap();
}

/// A writer into a shared buffer, for reading what was logged.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// At the default log level, neither payload contents (even those that fail to decode) nor the
/// API key reach the logs, and decode failures stored in history do not repeat the payload.
#[tokio::test]
async fn payload_contents_and_secrets_stay_out_of_logs_and_failure_messages() {
    use workflow_runtime::client::payload::to_payload;
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).api_key("sesame-api-key"))
        .await
        .unwrap();
    let tq = unique("secrets");
    let worker = Worker::builder(&client, &tq).workflow::<Fragile>().build().unwrap();
    let running = worker.spawn();
    let fragile = Fragile::start(&client, StartOptions::new(unique("secret"), &tq), "sesame-start".into())
        .await
        .unwrap();
    fragile.add("sesame-signal".into()).await.unwrap();
    // Does not decode: logged as dropped, without the value.
    fragile
        .untyped()
        .signal("skip", vec![to_payload("sesame-undecodable").unwrap()])
        .await
        .unwrap();
    // (The signal may be handled before the run's first line: either order is right.)
    let mut names = [fragile.nth(0).await.unwrap(), fragile.nth(1).await.unwrap()];
    names.sort();
    assert_eq!(names, ["sesame-signal", "sesame-start"]);
    fragile.finish().await.unwrap();
    fragile.result().await.unwrap();
    // A start whose input does not decode: the failure in history names the type, not the value.
    let bad = client
        .start_untyped(
            "FragileWorkflow",
            StartOptions::new(unique("bad"), &tq),
            vec![to_payload(&4111_1111_1111_1111u64).unwrap()],
        )
        .await
        .unwrap();
    match bad.result().await {
        Err(ClientError::WorkflowFailed(failure)) => {
            assert!(failure.message.contains("String"), "{failure}");
            assert!(!failure.message.contains("4111"), "{failure}");
        }
        other => panic!("{other:?}"),
    }
    running.stop().await.unwrap();
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("signal input does not decode"),
        "the dropped signal was logged:\n{logged}"
    );
    for secret in ["sesame", "4111"] {
        assert!(!logged.contains(secret), "`{secret}` was logged:\n{logged}");
    }
}
