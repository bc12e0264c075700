//! One mistake in a handler is one error: the rest of the workflow is still generated, so the
//! code that uses it (the worker, the typed stubs, the other handlers) compiles.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Counter {
    n: u64,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.n > 2).await?;
        Ok(ctx.state(|s| s.n))
    }

    #[signal]
    async fn bump(&mut self) {
        self.n += 1;
    }

    #[query]
    fn current(&self) -> u64 {
        self.n
    }
}

async fn uses(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let _worker = Worker::builder(client, "counters").workflow::<Counter>().build()?;
    let counter = Counter::start(client, StartOptions::new("c", "counters")).await?;
    let _n: u64 = counter.current().await?;
    Ok(())
}

fn main() {
    let _ = uses;
}
