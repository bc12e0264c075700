//! Each update gets `start_<update>` and `<update>_handle` on the typed handle: a handler
//! with one of those names is refused, on its name.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Shop {
    percent: u64,
}

#[workflow]
impl Shop {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.percent > 0).await?;
        Ok(ctx.state(|s| s.percent))
    }

    #[update]
    fn discount(&mut self, percent: u64) -> u64 {
        self.percent = percent;
        percent
    }

    #[query]
    fn discount_handle(&self) -> u64 {
        self.percent
    }
}

fn main() {}
