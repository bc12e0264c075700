//! The scale workload: 10,000 concurrent one-activity workflows (`BenchSequential(1)`) through
//! one worker process, and through four worker processes on one task queue (the server routes
//! each run's tasks to the worker that holds it, on that worker's sticky queue), for this
//! project and Temporal's Rust SDK, each run on a fresh in-memory dev server.
//!
//! Every worker's cache holds far fewer runs than are open at once (1,000 per worker at 10,000
//! workflows), so workers evict runs under pressure and replay them later: this project's
//! worker resets an evicted run's stickiness (its next task comes with the whole history, on the
//! normal queue), the Rust SDK's fetches the history when the run's next sticky task comes.
//!
//! The driver (`bench scale-drive`) holds no long poll per workflow: it starts them all, at most
//! 100 start calls in flight, then waits on visibility (one count query every 500 ms), then
//! lists the closed runs, whose start and close times (the server's) give the throughput from
//! the first start to the last close and the start-to-close latencies. Errors are failed start
//! calls, runs that closed other than completed, and started runs visibility does not list;
//! this project's must be 0. There is no warm-up run: against 10,000 workflows, a worker's
//! first-workflow costs weigh nothing.
//!
//! One run per cell (each takes minutes at full size); the cells run in order (1 worker, then
//! 4), this project first in each.

use super::process::{Server, WorkerProcess, json_line, measured_all};
use super::report::{Column, Row, advantage, at, grid};
use super::{Harness, P50_MS, P99_MS, THIS_PROJECT, repeated, rows_json, sdk_name, task_queue, worker};
use crate::peers::Peer;
use anyhow::{Result, bail};
use serde_json::{Value, json};

/// The sizes of the workload.
pub(super) struct ScaleSizes {
    /// Workflows per run, all open at once.
    workflows: usize,
    /// Worker processes of each cell.
    cells: [usize; 2],
    /// Runs each worker process caches (`BENCH_MAX_CACHED`), well below the open runs.
    max_cached: usize,
    /// Start calls the driver has in flight at most.
    start_concurrency: usize,
}

impl ScaleSizes {
    pub(super) fn full() -> ScaleSizes {
        ScaleSizes {
            workflows: 10_000,
            cells: [1, 4],
            max_cached: 1_000,
            start_concurrency: 100,
        }
    }

    /// The same shape, scaled down: 40 workflows, 5 cached runs per worker.
    pub(super) fn smoke() -> ScaleSizes {
        ScaleSizes {
            workflows: 40,
            cells: [1, 4],
            max_cached: 5,
            start_concurrency: 10,
        }
    }
}

/// One run: `processes` workers of `sdk` on one task queue of a fresh in-memory dev server,
/// measured (all of them, and the server) while the driver runs the workflows.
fn run_once(h: &Harness, sdk: &crate::peers::BenchProgram, processes: usize) -> Result<Value> {
    let s = &h.sizes.scale;
    let server = Server::start(&h.cli, true)?;
    let address = server.address();
    let queue = task_queue(sdk, &format!("scale-{processes}"));
    let workers = (0..processes)
        .map(|_| worker(sdk, address, &queue, s.max_cached))
        .collect::<Result<Vec<WorkerProcess>>>()?;
    let (n, c) = (s.workflows.to_string(), s.start_concurrency.to_string());
    let ids = format!("{queue}-scale");
    let mut cmd = h.ours.command(&["scale-drive", &queue, &n, &c, &ids]);
    let report = measured_all(&workers, &server, || json_line(cmd.env("TEMPORAL_ADDRESS", address)));
    for w in workers {
        w.stop()?;
    }
    server.stop();
    report
}

const COLUMNS: [Column; 8] = [
    Column {
        title: "workflows/s",
        value: |v| at(v, &["workflows_per_second"]),
        higher_is_better: true,
        decimals: 1,
    },
    P50_MS,
    P99_MS,
    Column {
        title: "errors",
        value: |v| at(v, &["errors"]),
        higher_is_better: false,
        decimals: 0,
    },
    Column {
        title: "worker peak RSS MiB (largest)",
        value: |v| at(v, &["worker", "peak_rss_mib"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "worker peak RSS MiB (sum)",
        value: |v| at(v, &["worker", "peak_rss_mib_sum"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "worker CPU s (all)",
        value: |v| at(v, &["worker", "cpu_seconds"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "server CPU ms / wf",
        value: |v| Some(at(v, &["server", "cpu_seconds"])? / at(v, &["workflows"])? * 1000.0),
        higher_is_better: false,
        decimals: 2,
    },
];

/// Runs the workload for `sdks` (this project first; the Rust SDK beside it in a full run);
/// returns its table and raw numbers (`{"SDK, N worker(s)": report}`, and `{"this project":
/// {"error": why}}` beside them when one of this project's runs failed or had errors).
pub(super) fn run(h: &Harness, sdks: &[Peer]) -> (String, Value) {
    let s = &h.sizes.scale;
    let mut rows: Vec<Row> = Vec::new();
    let mut ratios = String::new();
    for processes in s.cells {
        let cell = match processes {
            1 => "1 worker".to_string(),
            n => format!("{n} workers"),
        };
        eprintln!("xtask: scale: {} workflows, {cell}", s.workflows);
        let cell_rows = repeated(sdks, 1, &mut |sdk| run_once(h, sdk, processes));
        if let [ours, peer, ..] = &cell_rows[..] {
            ratios += &format!("\n| **{THIS_PROJECT} vs {}, {cell}** |", peer.0);
            for c in &COLUMNS {
                ratios += &match advantage(&[ours.clone(), peer.clone()], c) {
                    Some(x) => format!(" **{x:.2}×** |"),
                    None => " – |".to_string(),
                };
            }
        }
        rows.extend(cell_rows.into_iter().map(|(sdk, r)| (format!("{sdk}, {cell}"), r)));
    }
    let title = format!(
        "scale: {} concurrent one-activity workflows through 1 and through 4 worker processes on one task queue, \
         each worker caching {} runs (evicting under pressure); started all at once ({} start calls in flight), \
         waited on through visibility; one run per cell on a fresh in-memory server",
        s.workflows, s.max_cached, s.start_concurrency
    );
    let table = grid(&title, "SDK, workers", &rows, &COLUMNS) + &ratios + "\n";
    let mut raw = rows_json(&rows, &COLUMNS);
    let ours = sdks.first().map(sdk_name).unwrap_or(THIS_PROJECT);
    if let Err(e) = own_errors(ours, &rows) {
        raw[THIS_PROJECT] = json!({ "error": format!("{e:#}") });
    }
    (table, raw)
}

/// An error when one of this project's runs failed or counted errors.
fn own_errors(ours: &str, rows: &[Row]) -> Result<()> {
    for (name, report) in rows.iter().filter(|(name, _)| name.starts_with(ours)) {
        match report {
            Err(e) => bail!("{name}: {e}"),
            Ok(v) => {
                let mut errors = v["repetitions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| r["errors"].as_u64());
                match errors.find(|e| *e != Some(0)) {
                    Some(Some(n)) => bail!("{name}: {n} errors (failed starts, runs not completed or not listed)"),
                    Some(None) => bail!("{name}: the driver reported no error count"),
                    None => {}
                }
            }
        }
    }
    Ok(())
}
