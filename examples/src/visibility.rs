//! Visibility: find workflows by status and by a custom search attribute, and count them.
//! Orders carry their region as a search attribute; the starter lists and counts them.
//!
//! Wire names: task queue `visibility`; workflow `ShipmentWorkflow("region") -> "shipped"`;
//! signal `ship`; search attribute `CustomKeywordField` (Keyword: the region, registered by
//! `cargo xtask dev-server` and `cargo xtask test`).

use workflow_runtime::client::SearchAttributeKey;
use workflow_runtime::futures::TryStreamExt;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "visibility";
/// The region of a shipment, indexed.
pub const REGION: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomKeywordField");

/// Waits to be shipped.
#[workflow]
#[derive(Default)]
pub struct Shipment {
    shipped: bool,
}

#[workflow(name = "ShipmentWorkflow")]
impl Shipment {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, region: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.shipped).await?;
        Ok(format!("shipped in {region}"))
    }

    /// Ships it.
    #[signal]
    fn ship(&mut self) {
        self.shipped = true;
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE).workflow::<Shipment>().build()
}

/// What the queries found.
#[derive(Debug, PartialEq)]
pub struct Found {
    /// Running shipments of the region.
    pub running: u64,
    /// Completed shipments of the region.
    pub completed: u64,
    /// The ids of the completed ones, sorted.
    pub completed_ids: Vec<String>,
}

/// Starts `n` shipments tagged `region`, ships every other one, then counts and lists them by
/// status (visibility is eventually consistent: it waits, at most 30 s, until they show).
pub async fn start(client: &Client, region: &str, n: usize) -> Result<Found, ClientError> {
    let mut handles = Vec::new();
    for i in 0..n {
        let options = StartOptions::new(format!("{region}-shipment-{i}"), TASK_QUEUE)
            .search_attribute(REGION, region.to_string());
        handles.push(Shipment::start(client, options, region.to_string()).await?);
    }
    for handle in handles.iter().step_by(2) {
        handle.ship().await?;
        handle.result().await?;
    }
    let by_region = format!("{} = '{region}'", REGION.name());
    let running = format!("{by_region} AND ExecutionStatus = 'Running'");
    let completed = format!("{by_region} AND ExecutionStatus = 'Completed'");
    let expect_completed = n.div_ceil(2) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while client.count_workflows(&completed).await? != expect_completed
        || client.count_workflows(&running).await? != (n as u64 - expect_completed)
    {
        if tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut completed_ids: Vec<String> = client
        .list_workflows(&completed)
        .map_ok(|summary| summary.workflow_id)
        .try_collect()
        .await?;
    completed_ids.sort();
    let found = Found {
        running: client.count_workflows(&running).await?,
        completed: client.count_workflows(&completed).await?,
        completed_ids,
    };
    for handle in handles.iter().skip(1).step_by(2) {
        handle.ship().await?;
    }
    Ok(found)
}
