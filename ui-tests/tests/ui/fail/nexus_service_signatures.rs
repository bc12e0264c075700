//! `#[operation]` signatures: each mistake is an error on its own tokens that names the fix,
//! all reported together; the sound operations are still served and every operation keeps its
//! type and caller stub (the calls below add no error).
use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Restock;

#[workflow]
impl Restock {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, count: u64) -> WorkflowResult<String> {
        Ok(count.to_string())
    }
}

#[nexus_service]
pub trait Inventory {
    #[operation]
    async fn sound(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    fn not_async(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn restock_async(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart<Restock>, NexusError>;
    #[operation]
    fn restock_bare(&self, ctx: &NexusContext, count: u64) -> Result<WorkflowStart, NexusError>;
    #[operation]
    async fn no_self(ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn mut_self(&mut self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn no_context(&self, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn no_input(&self, ctx: NexusContext) -> Result<u64, NexusError>;
    #[operation]
    async fn two_inputs(&self, ctx: NexusContext, item: String, count: u64) -> Result<u64, NexusError>;
    #[operation]
    async fn borrowed(&self, ctx: NexusContext, item: &str) -> Result<u64, NexusError>;
    #[operation]
    async fn mut_context(&self, ctx: &mut NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn no_result(&self, ctx: NexusContext, item: String) -> u64;
    #[operation]
    async fn no_return(&self, ctx: NexusContext, item: String);
    #[operation]
    async fn other_error(&self, ctx: NexusContext, item: String) -> Result<u64, String>;
    #[operation]
    async fn generic<T>(&self, ctx: NexusContext, item: T) -> Result<u64, NexusError>;
    #[operation]
    async fn with_body(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError> {
        Ok(1)
    }
}

async fn calls(ctx: &WorkflowContext<()>) -> WorkflowResult<u64> {
    let inventory = inventory::Caller::new(ctx, "inventory");
    inventory.not_async("tea".into()).await?;
    inventory.restock_async(3).await?;
    inventory.two_inputs("tea".into()).await?;
    inventory.borrowed("tea".into()).await?;
    inventory.no_result("tea".into()).await
}

fn main() {}
