// The clock: the system time, and tokio's `Instant::now` (tokio's `Instant` is the same
// clock read; its `Duration` is std's, which is fine).
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Reminder;

#[workflow]
impl Reminder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        let started = std::time::SystemTime::now();
        let tick = tokio::time::Instant::now();
        ctx.sleep(tokio::time::Duration::from_secs(60)).await?;
        Ok(started.elapsed().unwrap().as_secs() + tick.elapsed().as_secs())
    }
}

fn main() {}
