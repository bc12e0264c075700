// A select that picks among ready branches at random; the biased one polls in order and passes.
use workflow_runtime::futures::{self, FutureExt};
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Race;

#[workflow]
impl Race {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        futures::select! {
            _ = ctx.sleep(Duration::from_secs(1)).fuse() => {}
            _ = ctx.sleep(Duration::from_secs(2)).fuse() => {}
        }
        futures::select_biased! {
            _ = ctx.sleep(Duration::from_secs(1)).fuse() => {}
            _ = ctx.sleep(Duration::from_secs(2)).fuse() => {}
        }
        Ok(())
    }
}

fn main() {}
