//! An at-most-once activity: it must never run twice (it sends money), so it has no retries;
//! the workflow decides what a failure or a timeout means — here, it asks a person to check
//! instead of paying again.
//!
//! Wire names: task queue `at-most-once`; workflow `TransferWorkflow({"to": "…", "cents": n})
//! -> "sent …" | "check by hand: …"`; activity `send_money({"to", "cents"}) -> "receipt"`.

use serde::{Deserialize, Serialize};
use workflow_runtime::client::RetryPolicy;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "at-most-once";

/// A transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// The payee.
    pub to: String,
    /// How much.
    pub cents: u64,
}

/// Sends money: refuses unknown payees, takes too long for large sums (the bank hangs).
#[activity(start_to_close_timeout = "2s")]
pub async fn send_money(transfer: Transfer) -> Result<String, ActivityError> {
    if transfer.to.is_empty() {
        return Err(ActivityError::retryable("no payee", "NoPayee"));
    }
    if transfer.cents > 1_000_000 {
        tokio::time::sleep(Duration::from_secs(3)).await; // the bank hangs: the timeout fires
    }
    Ok(format!("sent {} to {}", transfer.cents, transfer.to))
}

/// Pays once; on any failure, hands over to a person rather than risk paying twice.
#[workflow]
#[derive(Default)]
pub struct TransferMoney;

#[workflow(name = "TransferWorkflow")]
impl TransferMoney {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, transfer: Transfer) -> WorkflowResult<String> {
        let sent = ctx
            .activity(send_money, transfer)
            .retry_policy(RetryPolicy::no_retries())
            .await;
        Ok(match sent {
            Ok(receipt) => receipt,
            Err(e) => format!("check by hand: {}", e.root_cause().message),
        })
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<TransferMoney>()
        .activity(send_money)
        .build()
}

/// Runs one transfer and returns what happened.
pub async fn start(client: &Client, workflow_id: &str, to: &str, cents: u64) -> Result<String, ClientError> {
    let transfer = Transfer { to: to.into(), cents };
    TransferMoney::execute(client, StartOptions::new(workflow_id, TASK_QUEUE), transfer).await
}
