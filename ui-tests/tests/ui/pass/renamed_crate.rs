//! The runtime under another name: `crate = "…"` points the generated code at it (a crate
//! that renames the dependency in Cargo.toml does the same).
#![allow(dead_code)]
use workflow_runtime as wr;
use wr::nexus::{NexusContext, NexusError};
use wr::prelude::{ActivityError, WorkflowContext, WorkflowResult};

#[wr::activity(crate = "wr", start_to_close_timeout = "5s")]
async fn double(n: u64) -> Result<u64, ActivityError> {
    Ok(n * 2)
}

#[wr::workflow(crate = "wr")]
#[derive(Default)]
pub struct Doubler;

#[wr::workflow(crate = "wr")]
impl Doubler {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u64) -> WorkflowResult<u64> {
        let doubled = ctx.activity(double, n).await?;
        doubles::Caller::new(&ctx, "doubles").double(doubled).await
    }
}

/// The generated module reaches the runtime by the same name.
#[wr::nexus_service(crate = "wr", module = "doubles")]
pub trait Doubles {
    #[operation]
    async fn double(&self, ctx: NexusContext, n: u64) -> Result<u64, NexusError>;
}

fn main() {}
