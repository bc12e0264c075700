//! Debuggability: export a workflow's history as JSON (the format of `temporal workflow show
//! --output json`), replay it in-process against the code — a plain function call a debugger
//! can step through — and see exactly where a changed version of the code diverges.
//!
//! Wire names: task queue `debugging`; workflow `GreetingWorkflow("name") -> "…"`; activity
//! `greet("name") -> "Hello, name"`.

use workflow_runtime::client::history::history_to_json;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::{ReplayError, Replayer};

/// The task queue of this example.
pub const TASK_QUEUE: &str = "debugging";

/// Greets.
#[activity(start_to_close_timeout = "10s")]
pub async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}"))
}

/// Greets, then waits a second.
#[workflow]
#[derive(Default)]
pub struct Greeting;

#[workflow(name = "GreetingWorkflow")]
impl Greeting {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx.activity(greet, name).await?;
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok(greeting)
    }
}

/// The same workflow type after a careless change: it sleeps before greeting.
#[workflow]
#[derive(Default)]
pub struct GreetingChanged;

#[workflow(name = "GreetingWorkflow")]
impl GreetingChanged {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(1)).await?;
        ctx.activity(greet, name).await
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<Greeting>()
        .activity(greet)
        .build()
}

/// Runs the workflow, exports its history, replays it against the code and against the
/// changed code; returns the JSON and the divergence report.
pub async fn start(client: &Client, workflow_id: &str) -> anyhow::Result<(String, String)> {
    let greeting = Greeting::start(client, StartOptions::new(workflow_id, TASK_QUEUE), "Ada".into()).await?;
    greeting.result().await?;
    let json = history_to_json(&greeting.fetch_history().await?)?;
    Replayer::new().workflow::<Greeting>().replay_json(&json)?;
    let report = match Replayer::new().workflow::<GreetingChanged>().replay_json(&json) {
        Err(ReplayError::Divergence { error, side_by_side }) => format!("{error}\n{side_by_side}"),
        Err(other) => format!("{other}"),
        Ok(()) => "the changed code replays the history (no divergence)".to_string(),
    };
    Ok((json, report))
}
