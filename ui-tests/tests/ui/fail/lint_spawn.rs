// Concurrency outside the workflow's executor: a glob-imported thread spawn, a tokio task, and
// a select that picks among ready branches at random.
use workflow_runtime::futures::{self, FutureExt};
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Race;

#[workflow]
impl Race {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        use std::thread::*;
        spawn(|| {});
        tokio::spawn(async {});
        futures::select! {
            _ = ctx.sleep(Duration::from_secs(1)).fuse() => {}
            _ = ctx.sleep(Duration::from_secs(2)).fuse() => {}
        }
        Ok(())
    }
}

fn main() {}
