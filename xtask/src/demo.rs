//! `cargo xtask demo`: the food-delivery example end to end — a dev server with its web UI, the
//! example's worker in its own process, its starter, then everything stopped again.

use anyhow::{Context, Result, bail};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Runs the demo; with `keep`, leaves the server up (for the web UI) until Ctrl-C.
pub(crate) fn run(keep: bool) -> Result<ExitCode> {
    let cli = crate::ensure_cli()?;
    eprintln!("xtask: building the food-delivery example");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    crate::run(Command::new(cargo).current_dir(crate::workspace_root()).args([
        "build",
        "--quiet",
        "-p",
        "examples",
        "--bin",
        "food_delivery",
    ]))?;
    let program = crate::target_dir().join("debug/food_delivery");

    let (server, ui) = crate::start_server_with_ui(cli)?;
    let log_dir = crate::target_dir().join("demo");
    std::fs::create_dir_all(&log_dir)?;
    let worker_log = log_dir.join("worker.log");
    let metrics_address = format!("127.0.0.1:{}", workflow_dev_server::free_port()?);
    println!("Temporal dev server: {} (web UI {ui})", server.address());
    println!(
        "Worker:              food_delivery worker (output in {})",
        worker_log.display()
    );
    println!("Worker metrics:      http://{metrics_address}/metrics (Prometheus text, Temporal's SDK metrics)");
    println!();

    let log = std::fs::File::create(&worker_log)?;
    let mut worker = Command::new(&program)
        .arg("worker")
        .env("TEMPORAL_ADDRESS", server.address())
        .env("METRICS_ADDRESS", &metrics_address)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("start the food-delivery worker")?;
    let started = Command::new(&program)
        .arg("start")
        .env("TEMPORAL_ADDRESS", server.address())
        .env("TEMPORAL_UI", &ui)
        .status()
        .context("run the food-delivery starter");
    if started.as_ref().is_ok_and(|s| s.success()) {
        print_outcome_counts(&metrics_address);
    }
    let stopped = stop_gracefully(&mut worker);
    let started = started?;
    stopped?;
    if keep && started.success() {
        println!("The server stays up for the web UI at {ui}; press Ctrl-C to stop it.");
        loop {
            std::thread::park();
        }
    }
    server.stop();
    if !started.success() {
        bail!(
            "the starter failed ({started}); the worker's output is in {}",
            worker_log.display()
        );
    }
    println!("Demo done: worker stopped, server stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Prints the worker's workflow outcome counters, scraped from its metrics endpoint.
fn print_outcome_counts(address: &str) {
    match crate::scrape_metrics(address, Duration::from_secs(5)) {
        Ok(response) => {
            println!("From the worker's metrics endpoint:");
            for line in response.lines().filter(|l| {
                [
                    "temporal_workflow_completed{",
                    "temporal_workflow_failed{",
                    "temporal_sticky_cache_hit{",
                ]
                .iter()
                .any(|name| l.starts_with(name))
            }) {
                println!("  {line}");
            }
            println!();
        }
        Err(e) => eprintln!("xtask: could not scrape the worker's metrics at {address}: {e}"),
    }
}

/// Sends SIGINT (the worker finishes its tasks in hand and exits), waiting a bounded time.
fn stop_gracefully(worker: &mut Child) -> Result<()> {
    let _ = Command::new("kill")
        .args(["-INT", &worker.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = worker.try_wait()? {
            if !status.success() {
                bail!("the worker exited with {status}");
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    worker.kill()?;
    bail!("the worker did not stop within 20 s of Ctrl-C")
}
