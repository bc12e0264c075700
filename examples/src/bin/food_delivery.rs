//! The main demo, a food-delivery order (see `examples::food_delivery`).
//!
//! ```sh
//! cargo xtask demo                                   # all of it: server, worker, starter
//! cargo run -p examples --bin food_delivery worker   # or by hand, against TEMPORAL_ADDRESS
//! cargo run -p examples --bin food_delivery start
//! ```
//!
//! The worker serves Temporal's SDK metrics for Prometheus at `http://$METRICS_ADDRESS/metrics`
//! (default `127.0.0.1:9464`).

use examples::food_delivery::starter::{Scenario, Timings, place_order};
use examples::{connect, connect_with, food_delivery, serve, timeline};
use workflow_runtime::metrics::MetricsExporter;

const USAGE: &str = "usage: food_delivery <worker|start>
  worker   serve the food-delivery task queue until Ctrl-C
  start    place three orders (delivered, refunded, rejected) and print their timelines";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("worker") => {
            let metrics_address = std::env::var("METRICS_ADDRESS").unwrap_or_else(|_| "127.0.0.1:9464".into());
            let metrics = MetricsExporter::builder().prometheus(metrics_address).start().await?;
            let client = connect_with(|options| options.metrics(&metrics)).await?;
            println!("worker: serving task queue `{}`", food_delivery::TASK_QUEUE);
            println!("worker: metrics at {}", metrics.prometheus_url().unwrap_or_default());
            serve(food_delivery::worker(&client)?).await
        }
        Some("start") => start().await,
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn start() -> anyhow::Result<()> {
    let client = connect().await?;
    let ui = std::env::var("TEMPORAL_UI").ok();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let timings = Timings {
        restaurant_timeout_secs: 60,
        delivery_slot_secs: 3,
    };
    if let Some(ui) = &ui {
        println!("Watch the orders live in the web UI: {ui}/namespaces/default/workflows\n");
    }
    for scenario in Scenario::ALL {
        let id = format!("order-{}-{stamp}", scenario.name());
        println!("== order {id}: {} ==", scenario.describe());
        let say = |line: String| println!("  {line}");
        let (handle, outcome) = place_order(&client, scenario, &id, timings, say).await?;
        println!("  timeline (from the workflow's history):");
        for line in timeline::render(&handle.fetch_history().await?) {
            println!("  {line}");
        }
        println!("  outcome: {outcome:?}");
        if let Some(ui) = &ui {
            println!("  in the web UI: {ui}/namespaces/default/workflows/{id}");
        }
        println!();
    }
    Ok(())
}
