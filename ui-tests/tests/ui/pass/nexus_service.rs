//! A Nexus service declared on a trait: implemented with `async fn`s, served with
//! `nexus_service`, its operations' types usable with `ctx.nexus::<…>` and `nexus_operation`,
//! and called from workflow code through the generated stub, which the determinism lint
//! accepts. No warning either, in a private service whose stubs go unused, and every public
//! generated item is documented.
#![deny(warnings, missing_docs)]
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
use workflow_runtime::prelude::*;

/// What is reserved.
#[derive(Serialize, Deserialize)]
pub struct Item {
    /// Its name.
    pub name: String,
}

/// A reservation.
#[derive(Serialize, Deserialize)]
pub struct Reservation {
    /// How many are left.
    pub left: u64,
}

/// The inventory team's service.
#[nexus_service(name = "inventory")]
pub trait Inventory {
    /// Reserves one.
    #[operation]
    async fn reserve(&self, ctx: NexusContext, item: Item) -> Result<Reservation, NexusError>;
    /// Restocks with a workflow.
    #[operation(name = "restock-item")]
    fn restock(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart<Restock>, NexusError>;
    /// A synchronous operation taking the context by reference.
    #[operation]
    async fn audit(&self, ctx: &NexusContext, since: u64) -> Result<Vec<String>, NexusError>;
    /// A workflow-backed operation taking the context by value.
    #[workflow_runtime::operation]
    fn recount(
        &self,
        ctx: NexusContext,
        _nothing: (),
    ) -> Result<workflow_runtime::nexus::WorkflowStart<Restock>, NexusError>;
}

/// Restocks an item; named like the `restock` operation's type, which lives in the module.
#[workflow]
#[derive(Default)]
pub struct Restock;

#[workflow]
impl Restock {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, count: u64) -> WorkflowResult<String> {
        Ok(format!("{count} restocked"))
    }
}

/// State shared by concurrent requests (a `Mutex` is fine: the futures are `Send`).
pub struct Warehouse {
    stock: std::sync::Mutex<u64>,
}

impl Inventory for Warehouse {
    async fn reserve(&self, ctx: NexusContext, item: Item) -> Result<Reservation, NexusError> {
        if item.name.is_empty() {
            return Err(NexusError::bad_request(format!(
                "{}: an item is required",
                ctx.operation
            )));
        }
        let mut stock = self.stock.lock().map_err(|e| NexusError::internal(e.to_string()))?;
        *stock = stock.checked_sub(1).ok_or_else(|| NexusError::failed("out of stock"))?;
        Ok(Reservation { left: *stock })
    }

    fn restock(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart<Restock>, NexusError> {
        Ok(WorkflowStart::on_handler_queue(
            ctx,
            format!("restock-{}", ctx.request_id),
            count,
        ))
    }

    async fn audit(&self, _ctx: &NexusContext, since: u64) -> Result<Vec<String>, NexusError> {
        Ok(vec![format!("nothing since {since}")])
    }

    fn recount(&self, ctx: NexusContext, (): ()) -> Result<WorkflowStart<Restock>, NexusError> {
        let options = StartOptions::new("recount", "elsewhere").execution_timeout(Duration::from_secs(60));
        let _ = ctx;
        Ok(WorkflowStart::new(options, 0))
    }
}

/// Calls every operation through the stub, and one through `ctx.nexus` with its type.
#[workflow]
#[derive(Default)]
pub struct Shop;

#[workflow]
impl Shop {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, endpoint: String) -> WorkflowResult<String> {
        let inventory = inventory::Caller::new(&ctx, endpoint.as_str());
        let reserved: Reservation = inventory
            .reserve(Item { name: "tea".into() })
            .schedule_to_close_timeout(Duration::from_secs(30))
            .await?;
        let scope = ctx.cancellation_scope();
        let restocked: String = inventory.restock(12).cancellation_scope(&scope).await?;
        let audit: Vec<String> = inventory.audit(0).await?;
        let recounted: String = ctx.nexus::<inventory::Recount>(endpoint, ()).await?;
        Ok(format!("{} {restocked} {audit:?} {recounted}", reserved.left))
    }
}

/// The wire names the operations' types carry.
const _: () = {
    use workflow_runtime::nexus::NexusOperation;
    assert!(matches!(
        <inventory::Restock as NexusOperation>::NAME.as_bytes(),
        b"restock-item"
    ));
    assert!(matches!(
        <inventory::Reserve as NexusOperation>::SERVICE.as_bytes(),
        b"inventory"
    ));
};

/// A private service in a module of its own, named with `module`, whose stubs nobody calls.
mod private {
    use workflow_runtime::nexus::{NexusContext, NexusError};
    use workflow_runtime::prelude::*;

    #[nexus_service(module = "pings")]
    trait Ping {
        #[operation]
        async fn ping(&self, ctx: NexusContext, n: u8) -> Result<u8, NexusError>;
    }

    struct Ponger;

    impl Ping for Ponger {
        async fn ping(&self, _ctx: NexusContext, n: u8) -> Result<u8, NexusError> {
            Ok(n)
        }
    }

    pub fn worker(client: &Client) -> Worker {
        Worker::builder(client, "pings")
            .nexus_service(pings::Handler(Ponger))
            .build()
            .unwrap()
    }
}

fn workers(client: &Client) -> (Worker, Worker) {
    let warehouse = Arc::new(inventory::Handler(Warehouse {
        stock: std::sync::Mutex::new(3),
    }));
    // A service already shared registers as itself; an operation's type serves alone too.
    let served = Worker::builder(client, "inventory")
        .nexus_service(Arc::clone(&warehouse))
        .workflow::<Restock>()
        .build()
        .unwrap();
    let alone = Worker::builder(client, "audits")
        .nexus_operation::<inventory::Audit, _, _>(|_ctx: NexusContext, since: u64| async move {
            Ok(vec![since.to_string()])
        })
        .workflow::<Shop>()
        .build()
        .unwrap();
    (served, alone)
}

fn main() {
    let _ = (workers, private::worker);
}
