//! The examples of the SDK: one binary per capability (`src/bin/…`), and the code they share.
//!
//! Every example reads `TEMPORAL_ADDRESS` (default `127.0.0.1:7233`) and `TEMPORAL_NAMESPACE`
//! (default `default`), and has a `worker` subcommand that serves its task queue until Ctrl-C
//! and a `start` subcommand that runs its starter and prints the result.

pub mod food_delivery;
pub mod timeline;

use workflow_runtime::{Client, ClientError, ClientOptions};

/// Connects to the server named by `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE`.
pub async fn connect() -> Result<Client, ClientError> {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let namespace = std::env::var("TEMPORAL_NAMESPACE").unwrap_or_else(|_| "default".into());
    Client::connect(ClientOptions::new(address).namespace(namespace)).await
}

/// Runs `worker` until Ctrl-C (or SIGTERM), then shuts it down gracefully: polling stops and
/// the tasks in hand finish.
pub async fn serve(worker: workflow_runtime::worker::Worker) -> anyhow::Result<()> {
    let shutdown = worker.shutdown_handle();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        eprintln!("worker: shutting down");
        shutdown.shutdown();
    });
    worker.run().await?;
    Ok(())
}
