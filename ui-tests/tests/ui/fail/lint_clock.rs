use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Reminder;

#[workflow]
impl Reminder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        let started = std::time::SystemTime::now();
        ctx.sleep(Duration::from_secs(60)).await?;
        Ok(started.elapsed().unwrap().as_secs())
    }
}

fn main() {}
