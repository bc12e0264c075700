//! Nexus operations of a `#[nexus_service]`, called through its caller stub and an endpoint
//! and served by its handler: synchronous outcomes (a result, an operation failure, handler
//! errors retried or not), a workflow-backed operation's result or failure delivered by its
//! completion callback, a schedule-to-close timeout, and the cancellation of a workflow-backed
//! operation (the handler cancels its workflow).

use super::*;
use workflow_runtime::client::failure::Failure;
use workflow_runtime::client::proto::failure::failure::FailureInfo;
use workflow_runtime::futures::StreamExt;
use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
use workflow_runtime::replay::Replayer;

/// The `inventory` service the scenarios call, as [`Warehouse`] serves it.
#[nexus_service(name = "inventory")]
pub trait Inventory {
    /// Reserves an item, or says why not.
    #[operation]
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    /// Runs the `Restock` workflow; answers its result (or failure).
    #[operation]
    fn restock(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart<Restock>, NexusError>;
    /// Runs the `Count` workflow, which counts for an hour.
    #[operation]
    fn count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError>;
    /// Runs the `Count` workflow with a two-second execution timeout.
    #[operation(name = "brief-count")]
    fn brief_count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError>;
    /// Always fails with a retryable error.
    #[operation]
    async fn flaky(&self, ctx: NexusContext, nothing: ()) -> Result<(), NexusError>;
    /// Fails with a retryable error twice for each call, then answers which attempt succeeded.
    #[operation]
    async fn shaky(&self, ctx: NexusContext, nothing: ()) -> Result<u32, NexusError>;
    /// Takes half a second (of real time) to answer.
    #[operation]
    async fn slow(&self, ctx: NexusContext, nothing: ()) -> Result<String, NexusError>;
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
    async fn run(ctx: WorkflowContext<Self>, count: u64) -> WorkflowResult<String> {
        // Long enough that the caller sees the operation start before it ends.
        ctx.sleep(Duration::from_secs(1)).await?;
        if count == 0 {
            return Err(WorkflowError::non_retryable("nothing to restock", "EmptyRestock"));
        }
        Ok(format!("{count} restocked"))
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

/// The `inventory` service's implementation, one per handler worker.
#[derive(Default)]
pub struct Warehouse {
    /// The attempts `shaky` saw, by the call's request id (the same on every retry).
    shaky_attempts: std::sync::Mutex<Vec<String>>,
}

impl Inventory for Warehouse {
    async fn reserve(&self, _ctx: NexusContext, item: String) -> Result<u64, NexusError> {
        match item.as_str() {
            "" => Err(NexusError::bad_request("an item is required")),
            "unicorn" => Err(NexusError::failed("unicorns are out of stock")),
            _ => Ok(item.len() as u64),
        }
    }

    fn restock(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart<Restock>, NexusError> {
        let id = format!("restock-{}", ctx.request_id);
        Ok(WorkflowStart::on_handler_queue(ctx, id, count))
    }

    fn count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError> {
        Ok(WorkflowStart::on_handler_queue(ctx, format!("count-{item}"), item))
    }

    fn brief_count(&self, ctx: &NexusContext, item: String) -> Result<WorkflowStart<Count>, NexusError> {
        let options =
            StartOptions::new(format!("brief-count-{item}"), &ctx.task_queue).execution_timeout(Duration::from_secs(2));
        Ok(WorkflowStart::new(options, item))
    }

    async fn flaky(&self, _ctx: NexusContext, (): ()) -> Result<(), NexusError> {
        Err(NexusError::internal("the warehouse is down"))
    }

    async fn shaky(&self, ctx: NexusContext, (): ()) -> Result<u32, NexusError> {
        let attempt = {
            let mut seen = self.shaky_attempts.lock().unwrap();
            seen.push(ctx.request_id.clone());
            seen.iter().filter(|id| **id == ctx.request_id).count() as u32
        };
        if attempt < 3 {
            return Err(NexusError::internal(format!("attempt {attempt} failed")));
        }
        Ok(attempt)
    }

    async fn slow(&self, _ctx: NexusContext, (): ()) -> Result<String, NexusError> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok("slow but there".to_string())
    }
}

/// The `inventory` service's handlers, on `task_queue`.
fn handlers(client: &Client, task_queue: &str) -> Worker {
    Worker::builder(client, task_queue)
        .nexus_service(inventory::Handler(Warehouse::default()))
        .workflow::<Restock>()
        .workflow::<Count>()
        .build()
        .unwrap()
}

/// A failure and its causes, one line: each level's message and kind (Nexus kinds by their
/// fields, without event ids, which depend on how workflow tasks batch).
fn describe(failure: &Failure) -> String {
    let kind = match &*failure.kind {
        FailureKind::Application { type_name, .. } => format!("application {type_name}"),
        FailureKind::Canceled { .. } => "canceled".to_string(),
        FailureKind::Timeout { timeout_type, .. } => format!("timeout {timeout_type:?}"),
        FailureKind::Other(info) => match &**info {
            FailureInfo::NexusOperationExecutionFailureInfo(i) => format!(
                "nexus operation {}.{}{}",
                i.service,
                i.operation,
                if i.operation_token.is_empty() {
                    ""
                } else {
                    " with a token"
                }
            ),
            FailureInfo::NexusHandlerFailureInfo(i) => format!("handler error {} {}", i.r#type, i.retry_behavior),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    };
    let here = format!("{} [{kind}]", failure.message);
    match &failure.cause {
        Some(cause) => format!("{here} <- {}", describe(cause)),
        None => here,
    }
}

/// What a call ended with.
fn outcome<T: std::fmt::Debug>(result: Result<T, WorkflowError>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(e) => describe(&e),
    }
}

/// Calls `inventory.reserve` for an item, one with no stock and no item, then an operation
/// the handler does not serve.
#[workflow]
#[derive(Default)]
pub struct SyncCalls;

#[workflow]
impl SyncCalls {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<Vec<String>> {
        let inventory = inventory::Caller::new(&ctx, endpoint.as_str());
        let mut seen = Vec::new();
        for item in ["tea", "unicorn", ""] {
            let call = inventory
                .reserve(item.to_string())
                .schedule_to_close_timeout(Duration::from_secs(20));
            seen.push(outcome(call.await));
        }
        let audit = inventory_v2::Caller::new(&ctx, endpoint)
            .audit(())
            .schedule_to_close_timeout(Duration::from_secs(20))
            .await;
        seen.push(outcome(audit));
        Ok(seen)
    }
}

/// Calls the workflow-backed `inventory.restock` twice: a run that completes, one that fails.
#[workflow]
#[derive(Default)]
pub struct WorkflowBackedCalls;

#[workflow]
impl WorkflowBackedCalls {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<Vec<String>> {
        let inventory = inventory::Caller::new(&ctx, endpoint);
        let mut seen = Vec::new();
        for count in [12, 0] {
            let call = inventory
                .restock(count)
                .schedule_to_close_timeout(Duration::from_secs(30));
            seen.push(outcome(call.await));
        }
        Ok(seen)
    }
}

/// Calls an operation whose handler fails with retryable errors until its schedule-to-close
/// timeout, and a workflow-backed one that outlives its own.
#[workflow]
#[derive(Default)]
pub struct TimedOutCalls;

#[workflow]
impl TimedOutCalls {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String, item: String) -> WorkflowResult<Vec<String>> {
        let inventory = inventory::Caller::new(&ctx, endpoint);
        let flaky = inventory
            .flaky(())
            .schedule_to_close_timeout(Duration::from_secs(3))
            .await;
        // Long enough that the server surely records the start first.
        let count = inventory
            .count(item)
            .schedule_to_close_timeout(Duration::from_secs(5))
            .await;
        Ok(vec![outcome(flaky), outcome(count)])
    }
}

/// Calls `inventory.count` (or `inventory.brief-count`, whose run times out) and tells how it
/// ended.
#[workflow]
#[derive(Default)]
pub struct CountCall;

#[workflow]
impl CountCall {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String, item: String, brief: bool) -> WorkflowResult<String> {
        let inventory = inventory::Caller::new(&ctx, endpoint);
        let ended = if brief {
            inventory.brief_count(item).await
        } else {
            inventory.count(item).await
        };
        Ok(outcome(ended))
    }
}

/// Calls an operation whose handler fails twice with retryable errors, and a slow one beside
/// an hour's timer (the handler's answer comes first: time does not jump while it works).
#[workflow]
#[derive(Default)]
pub struct PatientCalls;

#[workflow]
impl PatientCalls {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<Vec<String>> {
        let inventory = inventory::Caller::new(&ctx, endpoint);
        let shaky = inventory
            .shaky(())
            .schedule_to_close_timeout(Duration::from_secs(30))
            .await;
        let slow = inventory
            .slow(())
            .schedule_to_close_timeout(Duration::from_secs(7200))
            .into_future();
        let hour = ctx.sleep(Duration::from_secs(3600));
        let first = match workflow_runtime::futures::future::select(slow, hour).await {
            workflow_runtime::futures::future::Either::Left((answer, _)) => outcome(answer),
            workflow_runtime::futures::future::Either::Right(_) => "the hour passed first".to_string(),
        };
        Ok(vec![outcome(shaky), first])
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
        Ok(outcome(count.await))
    }
}

/// Runs a caller workflow `W` (its input made from the endpoint's name by `input`) to its end
/// on the dev server and in a fresh `TestEnv`, each with a fresh endpoint (created with the
/// client on the server, with `TestEnv::create_nexus_endpoint` in the environment) routed to a
/// worker of [`handlers`]; both must report the same, and the environment's history must
/// replay. Returns the server's report.
async fn on_both_through_an_endpoint<W>(input: impl Fn(String) -> W::Input) -> Report
where
    W: workflow_runtime::client::WorkflowDefinition + workflow_runtime::definition::Workflow,
    W::Output: std::fmt::Debug,
{
    let caller = |client: &Client, queue: &str| Worker::builder(client, queue).workflow::<W>().build().unwrap();
    let fresh = || (unique_id("inventory").replace('.', "-"), unique_id("nexus-handlers"));
    let started = std::time::Instant::now();
    let client = dev_server_client().await.expect("the dev server");
    let (endpoint, queue) = fresh();
    client
        .create_nexus_endpoint(&endpoint, &queue)
        .await
        .expect("a new endpoint");
    let serving = handlers(&client, &queue).spawn();
    let server = run_to_end::<W>(&client, caller, input(endpoint)).await;
    serving.stop().await.expect("the handler worker stops");
    let on_server = started.elapsed();
    let started = std::time::Instant::now();
    let env = TestEnv::start().await.expect("the test environment");
    let (endpoint, queue) = fresh();
    env.create_nexus_endpoint(&endpoint, &queue).expect("a new endpoint");
    let serving = handlers(env.client(), &queue).spawn();
    let in_env = run_to_end::<W>(env.client(), caller, input(endpoint)).await;
    serving.stop().await.expect("the handler worker stops");
    let in_env = (in_env, started.elapsed());
    // The environment's history of the call replays, as the server's does.
    let query = format!("WorkflowType = '{}'", W::NAME);
    let runs: Vec<_> = env.client().list_workflows(&query).collect().await;
    let workflow_id = &runs[0].as_ref().expect("the run is listed").workflow_id;
    let history = env.history(workflow_id).expect("its history");
    Replayer::new()
        .workflow::<W>()
        .replay(&history)
        .expect("the history replays");
    compare(&[], (server, on_server), in_env)
}

#[tokio::test]
async fn synchronous_operations_answer_results_failures_and_handler_errors() {
    let report = on_both_through_an_endpoint::<SyncCalls>(|endpoint| (endpoint,)).await;
    let wrapped = "nexus operation completed unsuccessfully [nexus operation inventory";
    let expected = [
        "completed: [\"3\", ".to_string(),
        format!("{wrapped}.reserve] <- unicorns are out of stock [application NexusOperationError]"),
        format!("{wrapped}.reserve] <- an item is required [handler error BAD_REQUEST 0]"),
        format!("{wrapped}.audit] <- operation `inventory.audit` is not registered on this worker; registered: "),
        "[handler error NOT_FOUND 0]".to_string(),
    ];
    let mut rest = report.outcome.as_str();
    for part in &expected {
        let at = rest.find(part.as_str()).unwrap_or_else(|| panic!("{part} in {rest}"));
        rest = &rest[at + part.len()..];
    }
    let scheduled = report
        .events
        .iter()
        .filter(|e| *e == "NEXUS_OPERATION_SCHEDULED")
        .count();
    assert_eq!(scheduled, 4, "{:?}", report.events);
}

#[tokio::test]
async fn a_workflow_backed_operation_answers_its_runs_result_or_failure() {
    let report = on_both_through_an_endpoint::<WorkflowBackedCalls>(|endpoint| (endpoint,)).await;
    let expected = [
        "\"12 restocked\"",
        "nexus operation completed unsuccessfully [nexus operation inventory.restock with a token] \
         <- nothing to restock [application EmptyRestock]",
    ];
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
    let nexus: Vec<&str> = report
        .events
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("NEXUS_"))
        .collect();
    assert_eq!(
        nexus,
        [
            "NEXUS_OPERATION_SCHEDULED",
            "NEXUS_OPERATION_STARTED",
            "NEXUS_OPERATION_COMPLETED",
            "NEXUS_OPERATION_SCHEDULED",
            "NEXUS_OPERATION_STARTED",
            "NEXUS_OPERATION_FAILED"
        ]
    );
}

#[tokio::test]
async fn operations_time_out_after_their_schedule_to_close_timeout() {
    let report = on_both_through_an_endpoint::<TimedOutCalls>(|endpoint| (endpoint, unique_id("tea"))).await;
    let timed_out = |op: &str| {
        format!(
            "nexus operation completed unsuccessfully [nexus operation inventory.{op}] <- operation timed out \
             [timeout ScheduleToClose]"
        )
    };
    let expected = [timed_out("flaky"), timed_out("count with a token")];
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
}

#[tokio::test]
async fn retryable_handler_errors_are_retried_and_time_stands_while_a_handler_works() {
    let report = on_both_through_an_endpoint::<PatientCalls>(|endpoint| (endpoint,)).await;
    assert_eq!(report.outcome, format!("completed: {:?}", ["3", "\"slow but there\""]));
}

#[tokio::test]
async fn cancelling_a_workflow_backed_operation_cancels_its_workflow() {
    let report = on_both_through_an_endpoint::<CallsOff>(|endpoint| (endpoint, unique_id("tea"))).await;
    let expected = "nexus operation completed unsuccessfully [nexus operation inventory.count with a token] \
                    <- operation canceled [canceled]";
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
    for event in [
        "NEXUS_OPERATION_STARTED",
        "NEXUS_OPERATION_CANCEL_REQUESTED",
        "NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED",
        "NEXUS_OPERATION_CANCELED",
    ] {
        assert!(
            report.events.iter().any(|e| e == event),
            "{event} in {:?}",
            report.events
        );
    }
}

#[tokio::test]
async fn a_backing_run_that_times_out_fails_the_operation() {
    let report = on_both_through_an_endpoint::<CountCall>(|endpoint| (endpoint, unique_id("tea"), true)).await;
    let expected = "nexus operation completed unsuccessfully [nexus operation inventory.brief-count with a token] \
                    <- operation exceeded internal timeout [timeout Unspecified]";
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
}

#[tokio::test]
async fn a_backing_run_that_is_terminated_fails_the_operation() {
    let report = on_both(&[], |client| async move {
        let (endpoint, queue, callers) = (
            unique_id("inventory").replace('.', "-"),
            unique_id("nexus-handlers"),
            unique_id("nexus-callers"),
        );
        client
            .create_nexus_endpoint(&endpoint, &queue)
            .await
            .expect("a new endpoint");
        let serving = handlers(&client, &queue).spawn();
        let calling = Worker::builder(&client, &callers)
            .workflow::<CountCall>()
            .build()
            .unwrap()
            .spawn();
        let item = unique_id("tea");
        let options = StartOptions::new(unique_id("scenario"), &callers);
        let caller = CountCall::start(&client, options, endpoint, item.clone(), false)
            .await
            .expect("start");
        let counting = client.untyped_handle(format!("count-{item}"), None);
        workflow_runtime::testing::eventually("the count runs", Duration::from_secs(30), || async {
            counting.describe().await.ok().map(drop)
        })
        .await;
        counting
            .terminate("the count is off", Vec::new())
            .await
            .expect("terminated");
        let result = tokio::time::timeout(Duration::from_secs(30), caller.result())
            .await
            .expect("the caller ends");
        calling.stop().await.expect("the caller's worker stops");
        serving.stop().await.expect("the handler worker stops");
        let outcome = match result {
            Ok(value) => format!("completed: {value:?}"),
            Err(e) => format!("failed: {e}"),
        };
        Report::new(outcome, &caller.fetch_history().await.expect("history"))
    })
    .await;
    let expected = "nexus operation completed unsuccessfully [nexus operation inventory.count with a token] \
                    <- operation terminated [Terminated]";
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
    let failed = report.events.iter().filter(|e| *e == "NEXUS_OPERATION_FAILED").count();
    assert_eq!(failed, 1, "{:?}", report.events);
}

/// Calls `inventory.count` through an endpoint nothing serves, and calls it off after a second:
/// the cancel request waits for the operation to start, so it times out.
#[workflow]
#[derive(Default)]
pub struct CallsOffEarly;

#[workflow]
impl CallsOffEarly {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<String> {
        let scope = ctx.cancellation_scope();
        let count = inventory::Caller::new(&ctx, endpoint)
            .count("nothing".to_string())
            .schedule_to_close_timeout(Duration::from_secs(4))
            .cancellation_scope(&scope)
            .into_future();
        ctx.sleep(Duration::from_secs(1)).await?;
        scope.cancel();
        Ok(outcome(count.await))
    }
}

#[tokio::test]
async fn an_operation_canceled_before_it_started_waits_for_its_start() {
    let report = on_both(&[], |client| async move {
        let endpoint = unique_id("unserved").replace('.', "-");
        // No worker polls the endpoint's queue.
        client
            .create_nexus_endpoint(&endpoint, &unique_id("nobody"))
            .await
            .expect("a new endpoint");
        let worker = |client: &Client, queue: &str| {
            Worker::builder(client, queue)
                .workflow::<CallsOffEarly>()
                .build()
                .unwrap()
        };
        run_to_end::<CallsOffEarly>(&client, worker, (endpoint,)).await
    })
    .await;
    let expected = "nexus operation completed unsuccessfully [nexus operation inventory.count] \
                    <- operation timed out [timeout ScheduleToClose]";
    assert_eq!(report.outcome, format!("completed: {expected:?}"));
}
