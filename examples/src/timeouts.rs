//! Timeouts: an activity attempt that hangs is cut off by its start-to-close timeout and
//! retried; a workflow that runs past its execution timeout is ended by the server.
//!
//! Wire names: task queue `timeouts`; workflow `SlowWorkflow(hang_secs) -> "…"`; activity
//! `fetch_report() -> "report"` (hangs on its first attempt).

use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "timeouts";

/// Hangs on its first attempt; the 1 s start-to-close timeout cuts it off. While it hangs it
/// heartbeats, which is how it learns that it was timed out (and stops holding the worker).
#[activity(
    start_to_close_timeout = "1s",
    heartbeat_timeout = "500ms",
    retry(initial_interval = "100ms", maximum_attempts = 3)
)]
pub async fn fetch_report(ctx: ActivityContext) -> Result<String, ActivityError> {
    if ctx.info().attempt == 1 {
        for _ in 0..300 {
            ctx.heartbeat(&());
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = ctx.cancelled() => return Err(ActivityError::Canceled),
            }
        }
    }
    Ok(format!("report (attempt {})", ctx.info().attempt))
}

/// Fetches the report, then waits `hang_secs` (longer than its execution timeout, if asked).
#[workflow]
#[derive(Default)]
pub struct Slow;

#[workflow(name = "SlowWorkflow")]
impl Slow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, hang_secs: u64) -> WorkflowResult<String> {
        let report = ctx.activity(fetch_report, ()).await?;
        ctx.sleep(Duration::from_secs(hang_secs)).await?;
        Ok(report)
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<Slow>()
        .activity(fetch_report)
        .build()
}

/// Runs the workflow with a 5 s execution timeout, waiting `hang_secs` after the report.
pub async fn start(client: &Client, workflow_id: &str, hang_secs: u64) -> Result<String, ClientError> {
    let options = StartOptions::new(workflow_id, TASK_QUEUE).execution_timeout(Duration::from_secs(5));
    Slow::execute(client, options, hang_secs).await
}
