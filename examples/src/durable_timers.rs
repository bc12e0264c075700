//! Durable timers: a reminder sleeps on a server-side timer; the worker can stop (or crash)
//! while it sleeps, and whichever worker runs next finishes it on time.
//!
//! Wire names: task queue `durable-timers`; workflow `ReminderWorkflow({"note", "after_secs"})
//! -> "reminded: …"`; query `due_in_secs`.

use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "durable-timers";

/// A reminder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// What to remind of.
    pub note: String,
    /// When, from the start.
    pub after_secs: u64,
}

/// Sleeps until the reminder is due.
#[workflow]
#[derive(Default)]
pub struct Remind {
    due: Option<WorkflowTime>,
    now: Option<WorkflowTime>,
}

#[workflow(name = "ReminderWorkflow")]
impl Remind {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, reminder: Reminder) -> WorkflowResult<String> {
        let due = ctx.now() + Duration::from_secs(reminder.after_secs);
        ctx.state_mut(|s| {
            s.due = Some(due);
            s.now = Some(ctx.now());
        });
        ctx.sleep(Duration::from_secs(reminder.after_secs)).await?;
        Ok(format!("reminded: {}", reminder.note))
    }

    /// Seconds until the reminder is due, as of the workflow's last task.
    #[query]
    fn due_in_secs(&self) -> u64 {
        match (self.due, self.now) {
            (Some(due), Some(now)) => due.saturating_duration_since(now).as_secs(),
            _ => 0,
        }
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE).workflow::<Remind>().build()
}

/// Sets a reminder; returns its handle.
pub async fn start(
    client: &Client,
    workflow_id: &str,
    note: &str,
    after_secs: u64,
) -> Result<RemindHandle, ClientError> {
    let reminder = Reminder {
        note: note.into(),
        after_secs,
    };
    Remind::start(client, StartOptions::new(workflow_id, TASK_QUEUE), reminder).await
}
