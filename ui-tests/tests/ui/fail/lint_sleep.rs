// Timers: a thread sleep through a renamed module, and a tokio timer.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Backoff;

#[workflow]
impl Backoff {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        use std::thread as threads;
        threads::sleep(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctx.sleep(Duration::from_secs(1)).await
    }
}

fn main() {}
