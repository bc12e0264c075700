//! A tour of the client against a running server, no worker needed: start a workflow by name,
//! signal it, describe it, list it, terminate it and read the outcome.
//!
//! `TEMPORAL_ADDRESS=127.0.0.1:7233 cargo run -p examples --bin client_tour`

use workflow_runtime::client::payload::to_payload;
use workflow_runtime::{Client, ClientError, ClientOptions, StartOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::init_logging();
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let namespace = std::env::var("TEMPORAL_NAMESPACE").unwrap_or_else(|_| "default".into());
    let client = Client::connect(ClientOptions::new(&address).namespace(namespace)).await?;
    let id = format!("tour-{}", std::process::id());
    let handle = client
        .start_untyped(
            "TourWorkflow",
            StartOptions::new(&id, "tour"),
            vec![to_payload(&serde_json::json!({"customer": "ada", "items": 2}))?],
        )
        .await?;
    println!("started {id} (run {})", handle.run_id().unwrap_or_default());
    handle.signal("add_item", vec![to_payload("tea")?]).await?;
    let desc = handle.describe().await?;
    println!(
        "status: {:?}, history length: {}",
        desc.summary.status, desc.summary.history_length
    );
    handle.terminate("tour over", vec![]).await?;
    match handle.result().await {
        Err(ClientError::WorkflowTerminated { reason }) => println!("terminated: {reason}"),
        other => println!("outcome: {other:?}"),
    }
    Ok(())
}
