//! The long-histories workload (this project only): does the worker's time per history event
//! stay flat as a history grows? Two shapes, each at a few sizes, one workflow per measured
//! run on a fresh in-memory dev server:
//!
//! - `BenchSequential` with many activities, one after another (about 6 events each);
//! - `BenchSignals`, sent that many `bump` signals by the driver (in batches sent at once),
//!   which completes after the last.
//!
//! Per run: the wall time, the worker's CPU time during the live run (from `/proc`, as every
//! workload measures it, after a small warm-up run of the same shape) and the server's, per
//! event of the history. Then a worker without a cache answers queries on the closed run
//! (`bench query`, after warm-up queries on the warm-up run), each time fetching and replaying
//! the whole history page by page: its CPU time per event replayed, and its peak RSS. Then the
//! history, exported by the CLI, is decoded whole and replayed in process (`bench replay`), per
//! event. Both replays are repeated to about 200,000 events. Last, the history's workflow
//! tasks that failed or timed out (each makes the next task replay the whole history). The
//! linearity of a figure is its value per event at the largest size over its value at the
//! smallest: about 1 when the time is linear in the history's length, above 1 when it grows
//! faster.

use super::process::{Server, json_line, measured};
use super::report::{Column, Figure, Row, at, grid};
use super::{Harness, THIS_PROJECT, drive, path_str, rows_json, save_history, task_queue, worker};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;

/// The dev server refuses a history over 51,200 events and a run over 10,000 signals by
/// default; this workload's longest go beyond both.
const SERVER_CONFIG: [(&str, &str); 3] = [
    ("limit.historyCount.error", "200000"),
    ("limit.historyCount.warn", "200000"),
    ("history.maximumSignalsPerExecution", "200000"),
];

/// The sizes of the workload.
pub(super) struct LongSizes {
    /// Activities of each `BenchSequential` run.
    activities: Vec<u64>,
    /// Signals of each `BenchSignals` run.
    signals: Vec<u64>,
    /// Signals the driver sends at once.
    signal_batch: usize,
    /// Activities (or signals) of the warm-up run before each measured one.
    warm_up: u64,
    /// Events replayed per size: rounds are this over the history's events (at least 1).
    replay_events: usize,
}

impl LongSizes {
    /// Histories of about 1,000, 10,000 and 50,000 events of each shape, and the 10,000
    /// activities of the goal (about 60,000 events).
    pub(super) fn full() -> LongSizes {
        LongSizes {
            activities: vec![170, 1_700, 8_400, 10_000],
            signals: vec![1_000, 10_000, 50_000],
            signal_batch: 50,
            warm_up: 20,
            replay_events: 200_000,
        }
    }

    /// About 20 and 50 events of each shape.
    pub(super) fn smoke() -> LongSizes {
        LongSizes {
            activities: vec![3, 8],
            signals: vec![15, 45],
            signal_batch: 5,
            warm_up: 2,
            replay_events: 200,
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Activities,
    Signals,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Activities => "activities",
            Shape::Signals => "signals",
        }
    }

    /// Runs one workflow of this shape with `count` activities or signals, id `ID_PREFIX-0`.
    fn drive(self, h: &Harness, address: &str, queue: &str, id_prefix: &str, count: u64) -> Result<Value> {
        match self {
            Shape::Activities => drive(&h.ours, address, queue, id_prefix, (1, 1, count)),
            Shape::Signals => {
                let (count, batch) = (count.to_string(), h.sizes.long.signal_batch.to_string());
                let id = format!("{id_prefix}-0");
                let mut cmd = h.ours.command(&["signals", queue, &count, &batch, &id]);
                json_line(cmd.env("TEMPORAL_ADDRESS", address))
            }
        }
    }
}

/// One measured run: a warm-up run of the shape, the measured run, then its history replayed
/// by a worker without a cache and in process.
fn run_once(h: &Harness, shape: Shape, count: u64) -> Result<Value> {
    let server = Server::start_configured(&h.cli, true, &SERVER_CONFIG)?;
    let address = server.address();
    let queue = task_queue(&h.ours, &format!("long-{}-{count}", shape.name()));
    let worker = worker(&h.ours, address, &queue, 10)?;
    let warm_up = format!("{queue}-warm-up");
    shape
        .drive(h, address, &queue, &warm_up, h.sizes.long.warm_up)
        .context("warm-up")?;
    let mut report = measured(&worker, &server, || shape.drive(h, address, &queue, &queue, count))?;
    worker.stop()?;
    let file = format!("long-{}-{count}.json", shape.name());
    let history = save_history(h, &server, &format!("{queue}-0"), &file)?;
    let (events, failed) = history_counts(&history)?;
    let rounds = (h.sizes.long.replay_events / events).max(1);
    report["history_events"] = json!(events);
    report["failed_workflow_tasks"] = json!(failed);
    // A worker without a cache answers queries on the closed run: for each, the whole history
    // fetched and replayed, as after a cache eviction or on another worker (after warm-up
    // queries on the warm-up run), as many rounds as the in-process replay below.
    let uncached = self::worker(&h.ours, address, &queue, 0)?;
    let query = |id: String, rounds: usize| {
        json_line(
            h.ours
                .command(&["query", &id, &rounds.to_string()])
                .env("TEMPORAL_ADDRESS", address),
        )
    };
    query(format!("{warm_up}-0"), 10).context("warm-up queries")?;
    let replayed = measured(&uncached, &server, || query(format!("{queue}-0"), rounds))?;
    uncached.stop()?;
    server.stop();
    report["worker_replay"] = replayed["worker"].clone();
    report["worker_replay"]["rounds"] = json!(rounds);
    report["replay"] = json_line(&mut h.ours.command(&["replay", path_str(&history)?, &rounds.to_string()]))?;
    Ok(report)
}

/// A history's events, and its workflow tasks that failed or timed out (the server fails a
/// task when more than 100 events pile up while it runs, and the next task replays the whole
/// history: signals sent faster than the worker answers).
fn history_counts(history: &Path) -> Result<(usize, usize)> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(history)?)?;
    let events = json["events"].as_array().context("a history has events")?;
    let failed = events
        .iter()
        .filter(|e| {
            matches!(
                e["eventType"].as_str(),
                Some("EVENT_TYPE_WORKFLOW_TASK_FAILED" | "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT")
            )
        })
        .count();
    Ok((events.len(), failed))
}

/// A CPU time in the report per history event, in µs.
fn per_event(v: &Value, seconds: &[&str]) -> Option<f64> {
    Some(at(v, seconds)? / at(v, &["history_events"])? * 1e6)
}

const EVENTS: Column = Column {
    title: "events",
    value: |v| at(v, &["history_events"]),
    higher_is_better: false,
    decimals: 0,
};
const WALL: Column = Column {
    title: "wall s",
    value: |v| at(v, &["seconds"]),
    higher_is_better: false,
    decimals: 1,
};
const LIVE: Column = Column {
    title: "live worker CPU µs / event",
    value: |v| per_event(v, &["worker", "cpu_seconds"]),
    higher_is_better: false,
    decimals: 1,
};
const SERVER: Column = Column {
    title: "server CPU µs / event",
    value: |v| per_event(v, &["server", "cpu_seconds"]),
    higher_is_better: false,
    decimals: 0,
};
const WORKER_REPLAY: Column = Column {
    title: "worker replay CPU µs / event",
    value: |v| Some(per_event(v, &["worker_replay", "cpu_seconds"])? / at(v, &["worker_replay", "rounds"])?),
    higher_is_better: false,
    decimals: 1,
};
const WORKER_REPLAY_RSS: Column = Column {
    title: "worker replay peak RSS MiB",
    value: |v| at(v, &["worker_replay", "peak_rss_mib"]),
    higher_is_better: false,
    decimals: 1,
};
const REPLAY: Column = Column {
    title: "in-process replay µs / event",
    value: |v| Some(1e6 / at(v, &["replay", "events_per_second"])?),
    higher_is_better: false,
    decimals: 2,
};
const FAILED: Column = Column {
    title: "failed workflow tasks",
    value: |v| at(v, &["failed_workflow_tasks"]),
    higher_is_better: false,
    decimals: 0,
};
const COLUMNS: [Column; 8] = [
    EVENTS,
    WALL,
    LIVE,
    SERVER,
    WORKER_REPLAY,
    WORKER_REPLAY_RSS,
    REPLAY,
    FAILED,
];
/// The columns that have a linearity figure (the others show none).
const PER_EVENT: [&str; 4] = [LIVE.title, SERVER.title, WORKER_REPLAY.title, REPLAY.title];

/// The linearity of each per-event column over one shape's rows (largest size over smallest),
/// `{column title: ratio}`; a column without both figures has none.
fn linearity(rows: &[Row]) -> Value {
    let figure = |row: Option<&Row>, c: &Column| Some(Figure::of(row?.1.as_ref().ok()?, c)?.median);
    let ratios = COLUMNS.iter().filter(|c| PER_EVENT.contains(&c.title)).filter_map(|c| {
        let (small, large) = (figure(rows.first(), c)?, figure(rows.last(), c)?);
        (small > 0.0).then(|| (c.title.to_string(), json!(large / small)))
    });
    Value::Object(ratios.collect())
}

/// Runs the workload; returns its table and its raw numbers (`{"this project": {"runs": {row:
/// report}, "linearity": {shape: {column: ratio}}}}`, and `"error"` beside them if a run
/// failed).
pub(super) fn run(h: &Harness) -> (String, Value) {
    let mut rows: Vec<Row> = Vec::new();
    let mut linear = serde_json::Map::new();
    let mut lines = String::new();
    for (shape, counts) in [
        (Shape::Activities, &h.sizes.long.activities),
        (Shape::Signals, &h.sizes.long.signals),
    ] {
        let mut shape_rows = Vec::new();
        for &count in counts {
            eprintln!("xtask: long histories: {count} {}", shape.name());
            let name = format!("{} × {count}", shape.name());
            let report = run_once(h, shape, count).map_err(|e| {
                eprintln!("xtask: long histories ({name}): {e:#}");
                format!("failed: {e:#}")
            });
            shape_rows.push((name, report));
        }
        let ratios = linearity(&shape_rows);
        lines += &format!("\n| **{}: linearity (largest ÷ smallest)** |", shape.name());
        for c in &COLUMNS {
            lines += &match ratios.get(c.title).and_then(Value::as_f64) {
                Some(x) => format!(" **{x:.2}×** |"),
                None => " – |".to_string(),
            };
        }
        linear.insert(shape.name().to_string(), ratios);
        rows.extend(shape_rows);
    }
    let title = "this project: long histories, one workflow per run on a fresh in-memory server: time per history \
                 event, live (worker and server CPU, after a warm-up run), replayed by a worker without a cache to answer queries \
                 (its CPU and peak RSS) and replayed in process from the whole decoded history; linearity = per \
                 event at the largest size ÷ at the smallest (≈ 1: linear)";
    let table = grid(title, "workflow", &rows, &COLUMNS) + &lines + "\n";
    let mut raw = json!({ "runs": rows_json(&rows, &COLUMNS), "linearity": linear });
    if let Some((name, Err(e))) = rows.iter().find(|(_, r)| r.is_err()) {
        raw["error"] = json!(format!("{name}: {e}"));
    }
    (table, json!({ THIS_PROJECT: raw }))
}
