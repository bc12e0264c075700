use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Counter {
    n: u64,
}

#[workflow]
impl Counter {
    #[run]
    fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(0)
    }

    #[run]
    async fn again(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(1)
    }

    #[query]
    async fn current(&self) -> u64 {
        self.n
    }

    #[query]
    fn bump(&mut self) -> u64 {
        self.n += 1;
        self.n
    }

    #[signal]
    fn add(&mut self, by: u64) -> u64 {
        self.n += by;
        self.n
    }

    #[signal]
    fn cancel(&mut self) {}
}

fn main() {}
