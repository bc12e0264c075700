//! A service's types are checked where they are used: a wrong input at a stub's call, a wrong
//! result type, and an implementation whose future cannot move between threads.
use std::rc::Rc;
use workflow_runtime::nexus::{NexusContext, NexusError};
use workflow_runtime::prelude::*;

#[nexus_service]
pub trait Inventory {
    #[operation]
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
}

async fn calls(ctx: &WorkflowContext<()>) -> WorkflowResult<()> {
    let inventory = inventory::Caller::new(ctx, "inventory");
    let left: u64 = inventory.reserve(42).await?;
    let name: String = inventory.reserve("tea".into()).await?;
    Ok(())
}

struct Local;

impl Inventory for Local {
    async fn reserve(&self, _ctx: NexusContext, item: String) -> Result<u64, NexusError> {
        let shared = Rc::new(item);
        std::future::ready(()).await;
        Ok(shared.len() as u64)
    }
}

fn main() {}
