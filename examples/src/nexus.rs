//! Nexus: the inventory team serves its stock as a Nexus service on its own task queue; the
//! orders team's workflow calls it through an endpoint, without knowing where it runs. Both
//! share the service's contract, a `#[nexus_service]` trait. `reserve` answers at once;
//! `restock` runs a workflow on the inventory side and answers when that ends. The starter creates the endpoint (once) and places an order for an item
//! that is out of stock: the order restocks it, then reserves it.
//!
//! Wire names: endpoint `inventory-endpoint` → task queue `nexus-inventory`, service
//! `inventory` with operations `reserve("item") → count` and `restock(["item", count]) →
//! "… restocked"` (backed by `RestockWorkflow(item, count)`, id `restock-<request id>`);
//! orders on task queue `nexus-orders`: `OrderWorkflow("item") → "…"`.

use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
use workflow_runtime::prelude::*;

/// The orders team's task queue.
pub const ORDERS_QUEUE: &str = "nexus-orders";
/// The inventory team's task queue, where the endpoint routes.
pub const INVENTORY_QUEUE: &str = "nexus-inventory";
/// The endpoint the orders call through.
pub const ENDPOINT: &str = "inventory-endpoint";

/// The contract between the teams (in a real project, a crate both depend on): the inventory
/// team implements it, the orders team calls it through `inventory::Caller`.
#[nexus_service(name = "inventory")]
pub trait Inventory {
    /// How many of an item are left after reserving one; an unknown item is a bad request, an
    /// item out of stock an operation failure.
    #[operation]
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;

    /// Restocks an item, backed by `RestockWorkflow`: answers when the truck has come.
    #[operation]
    fn restock(&self, ctx: &NexusContext, order: (String, u64)) -> Result<WorkflowStart<Restock>, NexusError>;
}

/// Restocks an item (on the inventory side).
#[workflow]
#[derive(Default)]
pub struct Restock;

#[workflow(name = "RestockWorkflow")]
impl Restock {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, item: String, count: u64) -> WorkflowResult<String> {
        // The truck takes a moment.
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok(format!("{count} {item} restocked"))
    }
}

/// The inventory team's implementation: tea and cake are kept; scones are sold out.
pub struct Stockroom;

impl Inventory for Stockroom {
    async fn reserve(&self, _ctx: NexusContext, item: String) -> Result<u64, NexusError> {
        match item.as_str() {
            "tea" => Ok(41),
            "cake" => Ok(7),
            "scones" => Err(NexusError::failed("scones are out of stock")),
            other => Err(NexusError::bad_request(format!("we do not sell `{other}`"))),
        }
    }

    fn restock(&self, ctx: &NexusContext, (item, count): (String, u64)) -> Result<WorkflowStart<Restock>, NexusError> {
        let id = format!("restock-{}", ctx.request_id);
        Ok(WorkflowStart::on_handler_queue(ctx, id, (item, count)))
    }
}

/// Places an order: reserves the item; when it is out of stock, restocks and says so.
#[workflow]
#[derive(Default)]
pub struct Order;

#[workflow(name = "OrderWorkflow")]
impl Order {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<String> {
        let timeout = Duration::from_secs(60);
        let inventory = inventory::Caller::new(&ctx, ENDPOINT);
        let reserved = inventory.reserve(item.clone()).schedule_to_close_timeout(timeout).await;
        match reserved {
            Ok(left) => Ok(format!("{item} reserved, {left} left")),
            Err(e) if e.root_cause().message.contains("out of stock") => {
                let restocked = inventory
                    .restock((item.clone(), 12))
                    .schedule_to_close_timeout(timeout)
                    .await?;
                Ok(format!("{item} were out of stock: {restocked}"))
            }
            Err(e) => Err(e),
        }
    }
}

/// The orders team's worker.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, ORDERS_QUEUE).workflow::<Order>().build()
}

/// The inventory team's worker: the service and the workflow behind `restock`.
pub fn inventory_worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, INVENTORY_QUEUE)
        .nexus_service(inventory::Handler(Stockroom))
        .workflow::<Restock>()
        .build()
}

/// Creates the endpoint unless it exists.
pub async fn set_up(client: &Client) -> Result<(), ClientError> {
    match client.create_nexus_endpoint(ENDPOINT, INVENTORY_QUEUE).await {
        Ok(_) | Err(ClientError::NexusEndpointAlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets up the endpoint and places an order for `item` as `order_id`; returns the outcome.
pub async fn start(client: &Client, order_id: &str, item: &str) -> Result<String, ClientError> {
    set_up(client).await?;
    Order::execute(client, StartOptions::new(order_id, ORDERS_QUEUE), item.to_string()).await
}
