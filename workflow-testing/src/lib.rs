//! An in-process Temporal server with virtual time, for unit tests of workflows: the test
//! environment behind `workflow_runtime::testing::TestEnv`.
//!
//! It speaks the Temporal gRPC protocol, to its own client in this process and to any other
//! (the `temporal` CLI, another SDK) on a loopback port, and depends only on the client, so a
//! production worker built without the runtime's `testing` feature compiles none of it.

#![deny(missing_docs)]

mod server;
mod state;

use server::ServerState;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use workflow_client::proto::common::WorkflowExecution;
use workflow_client::proto::history::History;
use workflow_client::{Client, ClientError, ClientOptions};

/// Why the test environment could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    /// No loopback port could be bound for its gRPC endpoint.
    #[error("the test environment could not listen on loopback: {0}")]
    Listen(#[from] std::io::Error),
    /// The client could not connect to it.
    #[error("could not connect to the test environment: {0}")]
    Connect(#[from] ClientError),
}

/// Why [`TestEnv::create_nexus_endpoint`] refused an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NexusEndpointError {
    /// An endpoint of that name exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The name or the task queue is not valid.
    #[error("{0}")]
    Invalid(String),
}

/// An in-process Temporal environment with virtual time, for unit tests of workflows.
///
/// It speaks the Temporal protocol, so the real `Worker` (and its engine) runs the workflows
/// and the typed client stubs drive them — no second implementation of workflow semantics.
/// Its [`client`](Self::client) makes its gRPC calls in this process (no socket, no HTTP/2
/// framing); other clients reach the same environment on the loopback port in that client's
/// options (`env.client().options().address`). Time is virtual: it starts at 2026-01-01T00:00:00Z and
/// moves only when told to ([`sleep`](Self::sleep)) or while a test awaits a workflow's result
/// and nothing else can happen, when it jumps straight to the next timer (or activity retry,
/// or workflow timeout). Activity timeouts (start-to-close, heartbeat, schedule-to-close) count
/// in real time, as the activity's code runs in real time; and while an activity attempt runs
/// in a worker, virtual time never jumps: it moves at real speed, so a timer set beside the
/// activity fires as it would on a server, and the activity always gets the chance to
/// heartbeat, finish or see its cancellation before anything past its deadlines happens.
/// An activity task waiting on a task queue no worker polls (no poll waiting, none for a
/// second) does not hold time back: its schedule-to-start timeout is virtual time, like a
/// timer.
///
/// Nexus operations run on it as on a server: create an endpoint that routes to a task queue
/// ([`create_nexus_endpoint`](Self::create_nexus_endpoint), or the `CreateNexusEndpoint` call
/// `temporal operator nexus endpoint create` makes) and serve the operations on a worker there.
/// A workflow's call through the endpoint becomes a Nexus task for that worker; a handler error
/// that may be retried sends the request again after a backoff in virtual time, until the
/// operation's schedule-to-close timeout (virtual time too); a workflow-backed operation's
/// result (or failure, or cancellation) reaches the caller when its run closes, through the
/// completion callback the environment issued; and cancelling a started operation sends its
/// handler a cancel request. While a Nexus request is in a worker's hands, time moves at real
/// speed, as while an activity runs.
///
/// Workflows run on it through the runtime (`workflow_runtime::testing` shows a whole test);
/// on its own it is a server and a client:
///
/// ```
/// use std::time::Duration;
/// use workflow_testing::TestEnv;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let env = TestEnv::start().await?;
/// let before = env.now();
/// env.sleep(Duration::from_secs(30 * 86_400)).await; // 30 virtual days, at once
/// assert_eq!(env.now().duration_since(before)?, Duration::from_secs(30 * 86_400));
/// let _client = env.client(); // for workers and the typed stubs
/// # Ok(()) }
/// ```
pub struct TestEnv {
    shared: Arc<ServerState>,
    client: Client,
    server: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

/// How a [`TestEnv`] behaves where tests may want either of two ways.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TestEnvOptions {
    /// What a failed workflow task (a panic in workflow code, a nondeterminism error) does.
    /// `false` (the default): the run fails at once with the task's failure, so a test sees
    /// the bug instead of waiting on retries. `true`: as on the server, the failure is recorded
    /// (`WorkflowTaskFailed`) and the task is handed out again, attempt after attempt (the
    /// worker reports a failure on a task's first attempt only, so a task that fails again
    /// waits for its task timeout: 10 s unless the start set another) — for tests of a workflow
    /// that recovers after a failed task. Either way, a task no worker answers within its task
    /// timeout (in real time) times out and is handed out again, as on the server.
    pub retry_failed_workflow_tasks: bool,
}

impl TestEnvOptions {
    /// Failed workflow tasks are retried as on the server (see the field).
    pub fn retry_failed_workflow_tasks(mut self, retry: bool) -> Self {
        self.retry_failed_workflow_tasks = retry;
        self
    }
}

impl TestEnv {
    /// Starts an environment (namespace `default`) and connects a client to it.
    pub async fn start() -> Result<TestEnv, TestEnvError> {
        TestEnv::start_with(TestEnvOptions::default()).await
    }

    /// Starts an environment with `options`.
    pub async fn start_with(options: TestEnvOptions) -> Result<TestEnv, TestEnvError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?.to_string();
        let shared = ServerState::new("default".to_string());
        shared.write(|s| s.retry_failed_tasks = options.retry_failed_workflow_tasks);
        let server = server::serve(shared.clone(), listener);
        // Activity code runs in real time: its timeouts are checked against real time, and
        // while it runs, virtual time moves at real speed.
        let ticking = shared.clone();
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(ACTIVITY_TIMEOUT_TICK);
            let mut last = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let now = tokio::time::Instant::now();
                ticking.tick(now - last);
                last = now;
            }
        });
        // The environment's own client calls the server in this process; the port serves
        // other clients (its address is the one in this client's options).
        let client =
            Client::connect_in_process(ClientOptions::new(address), server::in_process(shared.clone())).await?;
        Ok(TestEnv {
            shared,
            client,
            server,
            ticker,
        })
    }

    /// The client connected to this environment: build workers with it and pass it to the
    /// typed stubs.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates Nexus endpoint `name`, which routes the operations workflows call through it to
    /// the workers of `task_queue` (in this environment's namespace), as
    /// `temporal operator nexus endpoint create` does on a server (the environment serves that
    /// `CreateNexusEndpoint` call too). Returns the endpoint's id.
    pub fn create_nexus_endpoint(&self, name: &str, task_queue: &str) -> Result<String, NexusEndpointError> {
        self.shared
            .write(|s| {
                let namespace = s.namespace.clone();
                s.create_endpoint(name, &namespace, task_queue)
            })
            .map(|endpoint| endpoint.id)
            .map_err(|refusal| match refusal {
                state::Refusal::AlreadyExists(m) => NexusEndpointError::AlreadyExists(m),
                other => NexusEndpointError::Invalid(other.message()),
            })
    }

    /// The virtual time now.
    pub fn now(&self) -> SystemTime {
        self.shared.read(|s| s.now)
    }

    /// Moves virtual time forward by `duration`, firing every timer due on the way in order
    /// and letting the workflows react to each before the next (waiting up to 10 s of real
    /// time for their tasks at each step). Activities running meanwhile move it on at real
    /// speed too, so afterwards it is at least `duration` later.
    pub async fn sleep(&self, duration: Duration) {
        let target = self.now() + duration;
        loop {
            self.shared
                .wait_for(Duration::from_secs(10), |s| s.is_idle().then_some(()))
                .await;
            let done = self.shared.write(|s| match s.next_due() {
                Some(next) if next <= target => {
                    s.advance_to(next);
                    false
                }
                _ => {
                    s.advance_to(target);
                    true
                }
            });
            if done {
                return;
            }
        }
    }

    /// The history the environment recorded for the latest run of `workflow_id`, in the
    /// server's format: replay it with the `workflow_runtime::replay::Replayer`, or export it
    /// with [`history_to_json`](workflow_client::history::history_to_json).
    pub fn history(&self, workflow_id: &str) -> Option<History> {
        self.shared.read(|s| {
            let execution = WorkflowExecution {
                workflow_id: workflow_id.to_string(),
                run_id: String::new(),
            };
            let run = s.resolve(Some(&execution)).ok()?;
            Some(History {
                events: s.executions[&run].history.clone(),
            })
        })
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.server.abort();
        self.ticker.abort();
    }
}

/// How often activity attempts are checked against their timeouts.
const ACTIVITY_TIMEOUT_TICK: Duration = Duration::from_millis(20);
