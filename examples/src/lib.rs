//! The examples of the SDK: one binary per capability (`src/bin/…`), and the code they share.
//!
//! Every example reads `TEMPORAL_ADDRESS` (default `127.0.0.1:7233`) and `TEMPORAL_NAMESPACE`
//! (default `default`), and has a `worker` subcommand that serves its task queue until Ctrl-C
//! and a `start` subcommand that runs its starter and prints the result.

pub mod approval;
pub mod at_most_once;
pub mod child_workflows;
pub mod debugging;
pub mod durable_timers;
pub mod fanout;
pub mod food_delivery;
pub mod heartbeat;
pub mod nexus;
pub mod perpetual;
pub mod routing;
pub mod schedules;
pub mod timeline;
pub mod timeouts;
pub mod unique_id;
pub mod visibility;

use workflow_runtime::{Client, ClientError, ClientOptions};

/// Connects to the server named by `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE`.
pub async fn connect() -> Result<Client, ClientError> {
    connect_with(|options| options).await
}

/// [`connect`], with more options (metrics, a codec…).
pub async fn connect_with(more: impl FnOnce(ClientOptions) -> ClientOptions) -> Result<Client, ClientError> {
    init_logging();
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let namespace = std::env::var("TEMPORAL_NAMESPACE").unwrap_or_else(|_| "default".into());
    Client::connect(more(ClientOptions::new(address).namespace(namespace))).await
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings and errors, so a dropped signal
/// or a failing workflow task shows; `RUST_LOG=workflow_runtime=debug` shows every task).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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

/// The command line every example shares: `worker` serves its task queue until Ctrl-C, `start
/// [ARGS…]` runs its starter; `other` handles the example's own commands (it gets the command
/// and its arguments, and answers `None` for an unknown one).
pub async fn example_main<S, SF, O, OF>(
    usage: &str,
    worker: fn(&Client) -> Result<workflow_runtime::worker::Worker, workflow_runtime::worker::WorkerError>,
    start: S,
    other: O,
) -> anyhow::Result<()>
where
    S: FnOnce(Client, Vec<String>) -> SF,
    SF: std::future::Future<Output = anyhow::Result<()>>,
    O: FnOnce(Client, String, Vec<String>) -> Option<OF>,
    OF: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "worker" => {
            let client = connect().await?;
            return serve(worker(&client)?).await;
        }
        "start" => return start(connect().await?, rest).await,
        "" => {}
        _ => {
            if let Some(run) = other(connect().await?, command, rest) {
                return run.await;
            }
        }
    }
    eprintln!("{usage}");
    std::process::exit(2);
}

/// For examples without commands of their own.
pub fn no_other_commands(_: Client, _: String, _: Vec<String>) -> Option<std::future::Ready<anyhow::Result<()>>> {
    None
}

/// A workflow id for a starter run: `prefix-<seconds since the epoch>`.
pub fn fresh_id(prefix: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{prefix}-{secs}")
}
