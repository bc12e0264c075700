//! Tools for testing workflows.
//!
//! - [`TestEnv`]: an in-process environment with virtual time. Workflows run on the real
//!   worker and engine against it, are started and awaited through the same typed stubs as on
//!   a server, and a workflow that sleeps for 30 days finishes in milliseconds.
//! - [`ActivityHarness`]: one activity attempt, outside any workflow: its attempt number, the
//!   previous attempt's heartbeat, cancellation, the heartbeats it sent.
//! - [`DevServer`]: a real Temporal dev server for integration tests, shared by all tests of a
//!   binary:
//!
//! ```no_run
//! use workflow_runtime::testing::DevServer;
//! # async fn demo() -> Result<(), workflow_runtime::ClientError> {
//! let address = DevServer::shared_address(); // or TEMPORAL_ADDRESS, when set
//! let client = workflow_runtime::Client::connect(workflow_runtime::ClientOptions::new(address)).await?;
//! # Ok(()) }
//! ```
//!
//! A whole workflow test on [`TestEnv`]: thirty days of workflow time in milliseconds.
//!
//! ```
//! use workflow_runtime::prelude::*;
//! use workflow_runtime::testing::TestEnv;
//!
//! #[workflow]
//! #[derive(Default)]
//! pub struct Reminder;
//!
//! #[workflow]
//! impl Reminder {
//!     #[run]
//!     async fn run(ctx: WorkflowContext<Self>, days: u64) -> WorkflowResult<String> {
//!         ctx.sleep(Duration::from_secs(days * 86_400)).await?;
//!         Ok(format!("{days} days later"))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let env = TestEnv::start().await?;
//! let worker = Worker::builder(env.client(), "reminders").workflow::<Reminder>().build()?;
//! let shutdown = worker.shutdown_handle();
//! let running = tokio::spawn(worker.run());
//!
//! let started = std::time::Instant::now();
//! let reminder = Reminder::start(env.client(), StartOptions::new("r-1", "reminders"), 30).await?;
//! assert_eq!(reminder.result().await?, "30 days later");
//! assert!(started.elapsed() < Duration::from_secs(5)); // 30 virtual days
//!
//! shutdown.shutdown();
//! running.await??;
//! # Ok(()) }
//! ```
//!
//! On a current-thread runtime, as here and in `#[tokio::test]`, a worker of the test
//! environment runs workflow code on the runtime's own thread (no workflow thread): each
//! workflow task costs about half as much.
//!
//! `TestEnv` and `DevServer` come from the `workflow-testing` and `workflow-dev-server` crates,
//! behind this crate's default `testing` feature; `ActivityHarness` is always here.

mod activity_harness;

pub use activity_harness::ActivityHarness;

#[cfg(feature = "testing")]
pub use workflow_dev_server::{
    ADDRESS_ENV, CLI_ENV, DevServer, DevServerError, DevServerOptions, PYTHON_ENV, find_cli, free_port,
};
#[cfg(feature = "testing")]
pub use workflow_testing::{NexusEndpointError, TestEnv, TestEnvError, TestEnvOptions};

/// The event types of a history, in order, as short names (`WORKFLOW_EXECUTION_STARTED`,
/// `ACTIVITY_TASK_SCHEDULED`, …): what a test compares to say which events a run recorded.
///
/// ```
/// use workflow_runtime::client::proto::enums::EventType;
/// use workflow_runtime::client::proto::history::{History, HistoryEvent};
///
/// let started = HistoryEvent { event_type: EventType::WorkflowExecutionStarted as i32, ..Default::default() };
/// let history = History { events: vec![started] };
/// assert_eq!(workflow_runtime::testing::event_names(&history), ["WORKFLOW_EXECUTION_STARTED"]);
/// ```
pub fn event_names(history: &crate::client::proto::history::History) -> Vec<String> {
    use crate::client::proto::enums::EventType;
    history
        .events
        .iter()
        .filter_map(|e| EventType::try_from(e.event_type).ok())
        .map(|t| t.as_str_name().trim_start_matches("EVENT_TYPE_").to_string())
        .collect()
}

/// `prefix-<random hex>`: a workflow id or task queue no other test (or earlier run) uses.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Asks `probe` until it gives a value, every 100 ms, and panics naming `what` after `limit`:
/// how a test waits for what a server does in its own time (visibility, batch jobs, pollers)
/// without a sleep that hides a race.
///
/// ```
/// # async fn demo(client: workflow_runtime::Client) {
/// use std::time::Duration;
/// let listed = workflow_runtime::testing::eventually("two runs listed", Duration::from_secs(20), || async {
///     let count = client.count_workflows("TaskQueue = 'orders'").await.unwrap();
///     (count == 2).then_some(count)
/// })
/// .await;
/// # }
/// ```
pub async fn eventually<T, F, Fut>(what: &str, limit: std::time::Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A client of the test binary's shared dev server ([`DevServer::shared_address`]: the one
/// `TEMPORAL_ADDRESS` names, else one started on first use).
#[cfg(feature = "testing")]
pub async fn dev_server_client() -> Result<crate::Client, crate::ClientError> {
    crate::Client::connect(crate::ClientOptions::new(DevServer::shared_address())).await
}
