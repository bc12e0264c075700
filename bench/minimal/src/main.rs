//! A worker with one workflow that calls one activity: what every user starts from.

use workflow_runtime::prelude::*;

#[activity(start_to_close_timeout = "30s")]
async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[workflow]
#[derive(Default)]
struct Greeting;

#[workflow]
impl Greeting {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx.activity(greet, name).await?)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let client = Client::connect(ClientOptions::new(address)).await?;
    let worker = Worker::builder(&client, "minimal").workflow::<Greeting>().activity(greet).build()?;
    worker.run().await?;
    Ok(())
}
