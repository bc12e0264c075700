//! Asynchronous activity completion: the `request_approval` activity hands its work to a
//! person and returns without a result; the person approves later, from this example's
//! `approve` command or the `temporal` CLI, and only then does the workflow go on.
//!
//! Wire names: task queue `approval`; workflow `ExpenseWorkflow({"who", "cents"}) ->
//! "approved: …" | "rejected: …"`; activity `request_approval` with activity id `approval`,
//! completed with a string result.
//!
//! ```sh
//! cargo run -p examples --bin approval approve <workflow id> "looks fine"
//! temporal activity complete --workflow-id <id> --activity-id approval --result '"looks fine"'
//! ```

use serde::{Deserialize, Serialize};
use workflow_runtime::client::ActivityRef;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "approval";
/// The activity id of the approval request (what the CLI needs).
pub const ACTIVITY_ID: &str = "approval";

/// An expense claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expense {
    /// Who claims.
    pub who: String,
    /// How much.
    pub cents: u64,
}

/// Asks a person: in a real system, an email with a link; here, a line in the worker's log.
#[activity(start_to_close_timeout = "7d")]
pub async fn request_approval(ctx: ActivityContext, expense: Expense) -> Result<String, ActivityError> {
    println!(
        "[approval] {} claims {} cents; approve with: approval approve {}",
        expense.who,
        expense.cents,
        ctx.info().workflow_id
    );
    Err(ActivityError::WillCompleteAsync)
}

/// Waits for a person's decision on an expense.
#[workflow]
#[derive(Default)]
pub struct ExpenseClaim;

#[workflow(name = "ExpenseWorkflow")]
impl ExpenseClaim {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, expense: Expense) -> WorkflowResult<String> {
        let decision = ctx.activity(request_approval, expense).activity_id(ACTIVITY_ID).await;
        Ok(match decision {
            Ok(note) => format!("approved: {note}"),
            Err(e) => format!("rejected: {}", e.root_cause().message),
        })
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<ExpenseClaim>()
        .activity(request_approval)
        .build()
}

/// Files a claim; returns its handle (the result waits for the decision).
pub async fn start(
    client: &Client,
    workflow_id: &str,
    who: &str,
    cents: u64,
) -> Result<ExpenseClaimHandle, ClientError> {
    let expense = Expense { who: who.into(), cents };
    ExpenseClaim::start(client, StartOptions::new(workflow_id, TASK_QUEUE), expense).await
}

/// The person's answer: completes (or fails) the pending activity by its ids.
pub async fn decide(client: &Client, workflow_id: &str, approve: bool, note: &str) -> Result<(), ClientError> {
    let activity = ActivityRef::Id {
        workflow_id: workflow_id.to_string(),
        run_id: None,
        activity_id: ACTIVITY_ID.to_string(),
    };
    if approve {
        client.complete_activity(&activity, note).await
    } else {
        let failure = workflow_runtime::Failure::application(note, "Rejected").non_retryable();
        client.fail_activity(&activity, failure).await
    }
}
