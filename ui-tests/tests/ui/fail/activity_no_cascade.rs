//! An activity with a mistake is one error: its definition is still generated, so the
//! workflow that calls it and the worker that registers it compile without a second error.
use workflow_runtime::prelude::*;

#[activity(start_to_close_timeout = "10s")]
fn not_async(name: String) -> Result<String, ActivityError> {
    Ok(name)
}

#[activity]
async fn borrowed(name: &str) -> Result<usize, ActivityError> {
    Ok(name.len())
}

#[activity]
async fn no_result(n: u64) -> u64 {
    n
}

pub struct Store;

#[activities(start_to_close_timeout = "5s")]
impl Store {
    #[activity]
    async fn mutates(&mut self, key: String) -> Result<String, ActivityError> {
        Ok(key)
    }
}

#[workflow]
#[derive(Default)]
pub struct Calls;

#[workflow]
impl Calls {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<usize> {
        let greeting: String = ctx.activity(not_async, "x".to_string()).await?;
        let len: usize = ctx.activity(borrowed, greeting).await?;
        let n: u64 = ctx.activity(no_result, 3).await?;
        let key: String = ctx.activity(StoreMutates, "k".to_string()).await?;
        Ok(len + n as usize + key.len())
    }
}

fn worker(client: &Client) -> Result<Worker, Box<dyn std::error::Error>> {
    Ok(Worker::builder(client, "calls")
        .workflow::<Calls>()
        .activity(not_async)
        .activity(borrowed)
        .activity(no_result)
        .activities(Store)
        .build()?)
}

fn main() {
    let _ = worker;
}
