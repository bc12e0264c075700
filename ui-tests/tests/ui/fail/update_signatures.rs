// Update handlers: synchronous ones take `&mut self`; async ones are workflow code and take
// the context.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Inventory {
    stock: u32,
}

#[workflow]
impl Inventory {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.wait_condition(|s| s.stock == 0).await?;
        Ok(0)
    }

    #[update]
    async fn restock(&mut self, amount: u32) -> WorkflowResult<u32> {
        self.stock += amount;
        Ok(self.stock)
    }

    #[update]
    async fn reserve(amount: u32) -> WorkflowResult<u32> {
        Ok(amount)
    }

    #[update]
    fn peek(&self) -> u32 {
        self.stock
    }
}

fn main() {}
