//! A unique workflow id: the business key (an invoice number) is the workflow id, so a second
//! start while the first runs is refused; after it completes, the id reuse policy decides.
//!
//! Wire names: task queue `unique-id`; workflow `InvoiceWorkflow("invoice number") ->
//! "invoice … sent"`; signal `approve`.

use workflow_runtime::client::IdReusePolicy;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "unique-id";

/// Sends an invoice once approved.
#[workflow]
#[derive(Default)]
pub struct Invoice {
    approved: bool,
}

#[workflow(name = "InvoiceWorkflow")]
impl Invoice {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, number: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.approved).await?;
        Ok(format!("invoice {number} sent"))
    }

    /// Lets the invoice go out.
    #[signal]
    fn approve(&mut self) {
        self.approved = true;
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE).workflow::<Invoice>().build()
}

/// What happened to each of the three starts.
#[derive(Debug, PartialEq)]
pub struct Starts {
    /// The second start while the first ran.
    pub while_running: String,
    /// A start after completion with `RejectDuplicate`.
    pub rejected_after: String,
    /// A start after completion with `AllowDuplicate` (the default).
    pub allowed_after: String,
}

fn describe(outcome: &Result<InvoiceHandle, ClientError>) -> String {
    match outcome {
        Ok(_) => "started".to_string(),
        Err(ClientError::AlreadyStarted { workflow_id, .. }) => format!("refused: {workflow_id} already used"),
        Err(e) => format!("failed: {e}"),
    }
}

/// Starts invoice `number` twice while it runs, approves it, then starts it again with each
/// reuse policy.
pub async fn start(client: &Client, number: &str) -> Result<Starts, ClientError> {
    let options = || StartOptions::new(number, TASK_QUEUE);
    let first = Invoice::start(client, options(), number.to_string()).await?;
    let while_running = describe(&Invoice::start(client, options(), number.to_string()).await);
    first.approve().await?;
    first.result().await?;
    let rejected_after = describe(
        &Invoice::start(
            client,
            options().id_reuse_policy(IdReusePolicy::RejectDuplicate),
            number.to_string(),
        )
        .await,
    );
    let again = Invoice::start(client, options(), number.to_string()).await;
    let allowed_after = describe(&again);
    if let Ok(again) = again {
        again.approve().await?;
        again.result().await?;
    }
    Ok(Starts {
        while_running,
        rejected_after,
        allowed_after,
    })
}
