//! Heartbeating with progress: a long activity records how far it got; when an attempt dies,
//! the next attempt resumes from the last heartbeat instead of starting over.
//!
//! Wire names: task queue `heartbeat`; workflow `ImportWorkflow(rows) -> "imported …"`;
//! activity `import_rows(rows) -> {"imported": n, "resumed_from": row, "attempt": n}`.

use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "heartbeat";
/// The row the first attempt crashes at.
pub const CRASH_AT: u64 = 6;

/// What the import reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// Rows imported in all.
    pub imported: u64,
    /// The row the successful attempt started at.
    pub resumed_from: u64,
    /// The successful attempt.
    pub attempt: u32,
}

/// Imports rows one by one, heartbeating the last row done; the first attempt crashes.
#[activity(
    start_to_close_timeout = "1m",
    heartbeat_timeout = "5s",
    retry(initial_interval = "100ms")
)]
pub async fn import_rows(ctx: ActivityContext, rows: u64) -> Result<Imported, ActivityError> {
    let resumed_from = ctx.heartbeat_details::<u64>().ok().flatten().unwrap_or(0);
    for row in resumed_from..rows {
        if ctx.info().attempt == 1 && row == CRASH_AT {
            return Err(ActivityError::retryable(
                "the database connection dropped",
                "ConnectionLost",
            ));
        }
        ctx.heartbeat(&(row + 1));
    }
    Ok(Imported {
        imported: rows,
        resumed_from,
        attempt: ctx.info().attempt,
    })
}

/// Imports the rows.
#[workflow]
#[derive(Default)]
pub struct Import;

#[workflow(name = "ImportWorkflow")]
impl Import {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, rows: u64) -> WorkflowResult<String> {
        let done = ctx.activity(import_rows, rows).await?;
        Ok(format!(
            "imported {} rows; attempt {} resumed at row {}",
            done.imported, done.attempt, done.resumed_from
        ))
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<Import>()
        .activity(import_rows)
        .build()
}

/// Imports `rows` rows and returns the summary.
pub async fn start(client: &Client, workflow_id: &str, rows: u64) -> Result<String, ClientError> {
    Import::execute(client, StartOptions::new(workflow_id, TASK_QUEUE), rows).await
}
