//! `cargo xtask bench`: this project against the other Temporal SDKs, back to back on this
//! machine (see `bench/README.md` for the contract each SDK's bench program follows). One
//! driver — this project's client — starts the work for every SDK, and every worker process and
//! dev server is measured from outside the same way.
//!
//! Workloads: throughput and latency (200 concurrent one-activity workflows; 20 workflows of 20
//! sequential activities) on an in-memory and on a SQLite dev server, with the null worker
//! (`bench/null-worker`, raw gRPC) as the ceiling column: server and worker CPU per workflow,
//! worker peak RSS; the concurrent workload again with each SDK starting its own workflows
//! from its worker's process with eager start (the contract's `local` command; the share the
//! server ran eagerly from its own metrics); RSS with 10,000 idle cached runs; this project's
//! start-to-first-activity latency with and without eager start; replay of one recorded history of over 10,000 events;
//! this project's long histories (`long_histories`: one workflow of many sequential activities
//! and one of many signals, at about 1,000, 10,000 and 50,000 events, live worker CPU and
//! replay time per event, and how far from linear they grow); scale (`scale`: 10,000 concurrent
//! one-activity workflows through 1 and through 4 worker processes on one task queue, caches
//! well below the open runs, against the Rust SDK, one run per cell); the test environments; a
//! clean build of a minimal worker; the cost of metrics and tracing.
//!
//! Method: a dev server's per-workflow cost grows as finished workflows pile up, so every
//! measured run gets a fresh server (started in a few seconds; far simpler to reason about
//! than alternating SDKs on one server, whose state still drifts within a pair). Each SDK runs
//! `repetitions` times per cell, the SDKs in order and then in reverse order (A B C C B A …),
//! so a drift of the machine weighs on all alike; tables show the median and the spread
//! (min–max), and ratios come from the medians. The load average at the start and the share
//! of the machine other processes took during each run are reported, with a warning when the
//! machine was not quiet (`machine`).
//! `--smoke` runs tiny counts for this project and the null worker only, two repetitions, so
//! CI keeps every path of the harness working.

mod build;
mod long_histories;
mod machine;
mod process;
mod report;
mod scale;

use crate::peers::{self, BenchProgram, Peer, null_worker};
use anyhow::{Context, Result};
use process::{Server, WorkerProcess, json_line, measured};
use report::{Column, Figure, Row, VERSUS_PEERS, at, medians, table};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const THIS_PROJECT: &str = "this project";
/// The rows of the eager-start table (this project only).
const EAGER_START: &str = "eager start";
const NORMAL_START: &str = "normal start";

/// A workload an SDK says it cannot run here (with its reason), as opposed to one that failed.
#[derive(Debug)]
struct Unavailable(String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

struct Sizes {
    /// (workflows, concurrency, activities each)
    concurrent: (usize, usize, u64),
    sequential: (usize, usize, u64),
    /// The workload of the cost of metrics and tracing: (workflows, concurrency, activities).
    cost: (usize, usize, u64),
    warm_up: usize,
    /// Runs of each SDK in each throughput cell (and of the eager-start probe), each on a
    /// fresh dev server.
    repetitions: usize,
    idle: usize,
    /// Activities of the recorded history (6 events each), and replay rounds.
    replay: (u64, usize),
    timers: u64,
    /// Workflows started one at a time with, and as many without, eager start, per run.
    eager: usize,
    /// The long-histories workload (this project only).
    long: long_histories::LongSizes,
    /// The scale workload (this project and the Rust SDK).
    scale: scale::ScaleSizes,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            concurrent: (200, 200, 1),
            sequential: (20, 20, 20),
            cost: (1000, 200, 1),
            warm_up: 20,
            repetitions: 3,
            idle: 10_000,
            replay: (1700, 5),
            timers: 1000,
            eager: 100,
            long: long_histories::LongSizes::full(),
            scale: scale::ScaleSizes::full(),
        }
    }

    /// Tiny counts, but every code path: two repetitions (a median, a spread, both orders).
    fn smoke() -> Sizes {
        Sizes {
            concurrent: (10, 10, 1),
            sequential: (2, 2, 3),
            cost: (10, 10, 1),
            warm_up: 2,
            repetitions: 2,
            idle: 20,
            replay: (20, 2),
            timers: 20,
            eager: 4,
            long: long_histories::LongSizes::smoke(),
            scale: scale::ScaleSizes::smoke(),
        }
    }
}

/// What the measured runs share: the CLI that serves, this project's bench program (also the
/// driver of every SDK), and the sizes.
struct Harness {
    cli: PathBuf,
    ours: BenchProgram,
    sizes: Sizes,
}

impl Harness {
    fn new(smoke: bool) -> Result<Harness> {
        Ok(Harness {
            cli: crate::ensure_cli()?,
            ours: BenchProgram {
                sdk: THIS_PROJECT,
                program: build_ours(profile(smoke))?,
                args: Vec::new(),
                cwd: None,
                env: Vec::new(),
            },
            sizes: if smoke { Sizes::smoke() } else { Sizes::full() },
        })
    }
}

fn profile(smoke: bool) -> &'static str {
    if smoke { "dev" } else { "release" }
}

/// `cargo xtask bench --prepare`: builds this project's bench program and the null worker and
/// installs every peer, measuring nothing, so that a later run on a quiet machine measures from
/// its start (building the Rust SDK alone takes minutes here).
pub(crate) fn run_prepare() -> Result<ExitCode> {
    Harness::new(false)?;
    null_worker::prepare(profile(false))?;
    for peer in peers::prepare_all() {
        match peer {
            Peer::Ready(program) => eprintln!("xtask: {} is ready ({})", program.sdk, program.program.display()),
            Peer::Unavailable { sdk, reason } => eprintln!("xtask: {sdk} is unavailable here: {reason}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(smoke: bool) -> Result<ExitCode> {
    // Before anything of the bench's own (builds included) loads the machine.
    let load = machine::load_average()?;
    let h = Harness::new(smoke)?;
    let reps = h.sizes.repetitions;
    let with_ceiling = throughput_sdks(&h, smoke);
    // The other sections have no ceiling.
    let sdks: Vec<Peer> = with_ceiling
        .iter()
        .filter(|p| sdk_name(p) != null_worker::SDK)
        .cloned()
        .collect();
    let names: Vec<&str> = with_ceiling.iter().map(sdk_name).collect();

    let mut done = Done::new(
        if smoke {
            "smoke.partial.json"
        } else {
            "latest.partial.json"
        },
        load,
    );

    throughput_cells(&h, &with_ceiling, &mut done);

    let (cost_table, cost_raw) = metrics_cost(&h);
    done.add("metrics_cost", cost_table, cost_raw);

    let rows = each(&sdks, &mut |sdk| idle_cache(&h, sdk, h.sizes.idle));
    done.table("idle_cache", &idle_title(h.sizes.idle), &rows, &CACHE, VERSUS_PEERS);

    eprintln!("xtask: eager workflow start");
    let rows = eager_start(&h);
    let title = format!(
        "this project: start to first activity, one workflow at a time, client and worker in one process \
         ({} starts each way per run; median (min–max) of {reps} runs, each on a fresh in-memory server)",
        h.sizes.eager
    );
    done.table("eager_start", &title, &rows, &EAGER, "eager vs normal start");

    let history = record_history(&h, h.sizes.replay.0)?;
    let events = count_events(&history)?;
    let rounds = h.sizes.replay.1.to_string();
    let rows = each(&sdks, &mut |sdk| {
        json_line(&mut sdk.command(&["replay", path_str(&history)?, &rounds]))
    });
    let title = format!(
        "replay of one {events}-event history, in-process ({rounds} rounds; this project's until 1 s has passed too)"
    );
    done.table("replay", &title, &rows, &REPLAY, VERSUS_PEERS);

    let timers = h.sizes.timers.to_string();
    // Repeated like the throughput cells: one run of a millisecond-scale figure moves by
    // several times with the machine's state (the same work has taken 39 to 218 ms of CPU).
    let rows = repeated(&sdks, reps, &mut |sdk| {
        let report = json_line(&mut sdk.command(&["testenv", &timers]))?;
        match report.get("unavailable").and_then(Value::as_str) {
            Some(reason) => Err(Unavailable(reason.to_string()).into()),
            None => Ok(report),
        }
    });
    let title = format!(
        "time-skipping test environment: one 30-day timer; {timers} sequential timers (median (min–max) of {reps} runs)"
    );
    done.table("test_environment", &title, &rows, &TEST_ENV, VERSUS_PEERS);

    if !smoke {
        let rows = build::clean_builds();
        let title = "clean dev build of a minimal worker program";
        done.table("build", title, &rows, &build::COLUMNS, VERSUS_PEERS);
    }

    // The longest sections last.
    let (long_table, long_raw) = long_histories::run(&h);
    done.add("long_histories", long_table, long_raw);
    let (scale_table, scale_raw) = scale::run(&h, &scale_sdks(&sdks));
    done.add("scale", scale_table, scale_raw);

    let date = run_date()?;
    let machine = machine();
    let Done {
        tables, raw, partial, ..
    } = done;
    let workloads = Value::Object(raw);
    let quiet = Quiet::judge(load, &workloads);
    println!(
        "\n## Benchmarks ({}{}), {date}, {machine}\n\nSDKs: {}. ↑ higher is better, ↓ lower is better; \
         the ratio rows are this project's figure over the best peer's and over the null worker's, \
         from the medians (above 1 is better).\n\nMethod: each throughput figure is the median (min–max) \
         of {reps} runs per SDK, each run on a fresh dev server (warm-up, then the measured drive), the \
         SDKs run in order then in reverse order (A B … B A); server CPU is the dev server process's \
         during the measured drive.{}\n\n{}",
        profile(smoke),
        if smoke { ", smoke sizes" } else { "" },
        names.join(", "),
        settings_sentence(),
        quiet.summary(),
    );
    quiet.print_warnings();
    println!("{tables}");
    let report = json!({
        "date": date,
        "machine": machine,
        "profile": profile(smoke),
        "smoke": smoke,
        "sdks": names,
        "repetitions": reps,
        "load_average_at_start": load,
        "settings": settings(),
        "warnings": quiet.warnings,
        "workloads": workloads,
    });
    let path = bench_file(
        if smoke { "smoke.json" } else { "latest.json" },
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("raw numbers: {}", path.display());
    // The complete report replaces the partial one.
    let _ = std::fs::remove_file(path.with_file_name(partial));
    Ok(own_outcome(&report["workloads"]))
}

/// Failure if one of this project's rows (or the null worker's) failed in any of `workloads`
/// (`{key: {sdk: report}}`): a broken harness (CI runs the smoke mode for that).
fn own_outcome(workloads: &Value) -> ExitCode {
    let own = [THIS_PROJECT, null_worker::SDK, EAGER_START, NORMAL_START];
    let own_failed = workloads
        .as_object()
        .into_iter()
        .flat_map(|w| w.values())
        .any(|rows| own.iter().any(|sdk| rows[sdk].get("error").is_some()));
    if own_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The SDKs of the throughput cells: this project, the null worker (the ceiling) beside it,
/// then the peers (none at smoke sizes).
fn throughput_sdks(h: &Harness, smoke: bool) -> Vec<Peer> {
    let ceiling = match null_worker::prepare(profile(smoke)) {
        Ok(program) => Peer::Ready(program),
        Err(e) => Peer::Unavailable {
            sdk: null_worker::SDK,
            reason: format!("{e:#}"),
        },
    };
    let mut sdks = vec![Peer::Ready(h.ours.clone()), ceiling];
    if !smoke {
        sdks.extend(peers::prepare_all());
    }
    sdks
}

/// The throughput cells: both workloads on in-memory and on SQLite dev servers, each SDK
/// `repetitions` times per cell (see `repeated`), each run on a fresh server.
fn throughput_cells(h: &Harness, sdks: &[Peer], done: &mut Done) {
    let reps = h.sizes.repetitions;
    for (mode, in_memory) in [("in-memory", true), ("SQLite", false)] {
        for (key, (n, c, a)) in [("concurrent", h.sizes.concurrent), ("sequential", h.sizes.sequential)] {
            eprintln!("xtask: {key} workload on {mode} dev servers");
            let title = format!(
                "{n} workflows × {a} activit{}, {c} at a time ({mode} dev server; median (min–max) of {reps} runs, \
                 each on a fresh server)",
                if a == 1 { "y" } else { "ies" }
            );
            let rows = repeated(sdks, reps, &mut |sdk| throughput(h, sdk, in_memory, key, (n, c, a)));
            done.table(&format!("{key}_{mode}"), &title, &rows, &THROUGHPUT, VERSUS_PEERS);
        }
    }
    let (n, c, a) = h.sizes.concurrent;
    eprintln!("xtask: concurrent workload started by each worker's own process, eagerly");
    let title = format!(
        "{n} workflows × {a} activit{}, {c} at a time, each SDK starting them from its worker's process with \
         eager start (in-memory dev server; median (min–max) of {reps} runs, each on a fresh server)",
        if a == 1 { "y" } else { "ies" }
    );
    let rows = repeated(sdks, reps, &mut |sdk| eager_throughput(h, sdk, (n, c, a)));
    done.table("concurrent_eager", &title, &rows, &EAGER_THROUGHPUT, VERSUS_PEERS);
}

/// The settings of the bench's workers that come from the environment (see `SETTINGS`), as
/// `{name: value}` for the set ones: a run with other settings than the defaults says so.
fn settings() -> Value {
    Value::Object(
        SETTINGS
            .iter()
            .filter_map(|name| Some((name.to_string(), Value::String(std::env::var(name).ok()?))))
            .collect(),
    )
}

/// The environment variables the workers read their settings from: this project's workflow
/// polls (a count, or `auto`) and the null worker's polls per queue.
const SETTINGS: [&str; 2] = ["BENCH_WORKFLOW_POLLERS", "BENCH_NULL_POLLERS"];

/// ` Settings: NAME=value, ….` for the set ones (see `settings`), or nothing.
fn settings_sentence() -> String {
    let set: Vec<String> = settings()
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| format!("{name}={}", value.as_str().unwrap_or_default()))
        .collect();
    match set.is_empty() {
        true => String::new(),
        false => format!(" Settings: {}.", set.join(", ")),
    }
}

/// The tables of a run so far, and their raw numbers. Each is printed to stderr as it
/// finishes and the raw numbers so far are written to `target/bench/latest.partial.json`
/// (`smoke.partial.json`), so a run stopped part-way keeps what it measured; the complete
/// report replaces that file at the end.
struct Done {
    tables: String,
    raw: serde_json::Map<String, Value>,
    /// The partial report's file under `target/bench`.
    partial: &'static str,
    load: [f64; 3],
}

impl Done {
    fn new(partial: &'static str, load: [f64; 3]) -> Done {
        Done {
            tables: String::new(),
            raw: serde_json::Map::new(),
            partial,
            load,
        }
    }

    /// A table of `rows` under `columns` (see `report::table`).
    fn table(&mut self, key: &str, title: &str, rows: &[Row], columns: &[Column], label: &str) {
        self.add(key, table(title, rows, columns, label), rows_json(rows, columns));
    }

    fn add(&mut self, key: &str, table: String, raw: Value) {
        eprintln!("xtask: finished {key}:\n{table}");
        self.tables.push_str(&table);
        self.raw.insert(key.to_string(), raw);
        let so_far = json!({
            "complete": false,
            "load_average_at_start": self.load,
            "workloads": self.raw,
        });
        let written = serde_json::to_string_pretty(&so_far)
            .map_err(anyhow::Error::from)
            .and_then(|text| bench_file(self.partial, text));
        if let Err(e) = written {
            eprintln!("xtask: could not write {}: {e:#}", self.partial);
        }
    }
}

/// Whether the machine was quiet: the load average at the start, and the share of the machine
/// other processes took during each measured run (see `machine`).
struct Quiet {
    load: [f64; 3],
    others: Vec<f64>,
    warnings: Vec<String>,
}

impl Quiet {
    /// Prints each warning into the report and onto stderr.
    fn print_warnings(&self) {
        for warning in &self.warnings {
            println!("\n> **Warning: the machine was not quiet.** {warning}");
            eprintln!("xtask: warning: {warning}");
        }
    }

    fn judge(load: [f64; 3], workloads: &Value) -> Quiet {
        let mut others = Vec::new();
        collect(workloads, "other_cpu_share", &mut others);
        others.sort_by(f64::total_cmp);
        let cores = machine::cores();
        let mut warnings = Vec::new();
        if load[0] > machine::LOAD_PER_CORE_LIMIT * cores as f64 {
            warnings.push(format!(
                "The 1-minute load average was {:.2} at the start, on {cores} cores (above {} per core): \
                 other work was running; re-run on a quiet machine before quoting figures.",
                load[0],
                machine::LOAD_PER_CORE_LIMIT
            ));
        }
        let busy = others.iter().filter(|&&x| x > machine::OTHER_CPU_LIMIT).count();
        if busy > 0 {
            warnings.push(format!(
                "Other processes took more than {:.0} % of the machine during {busy} of {} measured runs \
                 (up to {:.0} %); those figures are skewed.",
                machine::OTHER_CPU_LIMIT * 100.0,
                others.len(),
                others.last().copied().unwrap_or(0.0) * 100.0
            ));
        }
        Quiet { load, others, warnings }
    }

    fn summary(&self) -> String {
        let [one, five, fifteen] = self.load;
        let mut text = format!("Load average at the start: {one:.2} {five:.2} {fifteen:.2}.");
        if let Some(max) = self.others.last() {
            let median = self.others[self.others.len() / 2];
            text += &format!(
                " Other processes took {:.1} % of the machine during the median measured run (at most {:.1} %).",
                median * 100.0,
                max * 100.0
            );
        }
        text
    }
}

/// Every number under `key` anywhere in `v`.
fn collect(v: &Value, key: &str, out: &mut Vec<f64>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match v.as_f64() {
                    Some(x) if k == key => out.push(x),
                    _ => collect(v, key, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, key, out)),
        _ => {}
    }
}

/// Runs `f` for one SDK: its report, or why there is none.
fn outcome(program: &BenchProgram, f: &mut dyn FnMut(&BenchProgram) -> Result<Value>) -> Result<Value, String> {
    let outcome = f(program).map_err(|e| match e.downcast_ref::<Unavailable>() {
        Some(Unavailable(reason)) => format!("unavailable: {reason}"),
        None => format!("failed: {e:#}"),
    });
    if let Err(e) = &outcome {
        eprintln!("xtask: {}: {e}", program.sdk);
    }
    outcome
}

/// One run of `f` per SDK.
fn each(sdks: &[Peer], f: &mut dyn FnMut(&BenchProgram) -> Result<Value>) -> Vec<Row> {
    sdks.iter()
        .map(|peer| match peer {
            Peer::Ready(program) => {
                eprintln!("xtask: … {}", program.sdk);
                (program.sdk.to_string(), outcome(program, f))
            }
            Peer::Unavailable { sdk, reason } => (sdk.to_string(), Err(format!("unavailable: {reason}"))),
        })
        .collect()
}

/// `repetitions` runs of `f` per SDK, the SDKs in order, then in reverse order, and so on
/// (A B C C B A …), so that a drift of the machine weighs on every SDK alike; each row is
/// `{"repetitions": [report, …]}`. An SDK that fails is not run again.
fn repeated(sdks: &[Peer], repetitions: usize, f: &mut dyn FnMut(&BenchProgram) -> Result<Value>) -> Vec<Row> {
    let mut runs: Vec<Result<Vec<Value>, String>> = sdks
        .iter()
        .map(|peer| match peer {
            Peer::Ready(_) => Ok(Vec::new()),
            Peer::Unavailable { reason, .. } => Err(format!("unavailable: {reason}")),
        })
        .collect();
    for rep in 0..repetitions {
        let order: Vec<usize> = match rep % 2 {
            0 => (0..sdks.len()).collect(),
            _ => (0..sdks.len()).rev().collect(),
        };
        for i in order {
            let (Peer::Ready(program), Ok(_)) = (&sdks[i], &runs[i]) else {
                continue;
            };
            eprintln!("xtask: … {} ({}/{repetitions})", program.sdk, rep + 1);
            match (outcome(program, f), &mut runs[i]) {
                (Ok(report), Ok(done)) => done.push(report),
                (Err(e), run) => *run = Err(format!("{e} (run {} of {repetitions})", rep + 1)),
                (Ok(_), Err(_)) => {}
            }
        }
    }
    sdks.iter()
        .zip(runs)
        .map(|(peer, runs)| (sdk_name(peer).to_string(), runs.map(|r| json!({ "repetitions": r }))))
        .collect()
}

const WORKFLOWS_PER_SECOND: Column = Column {
    title: "workflows/s",
    value: |v| at(v, &["workflows_per_second"]),
    higher_is_better: true,
    decimals: 1,
};

const SERVER_CPU: Column = Column {
    title: "server CPU ms / wf",
    value: |v| Some(at(v, &["server", "cpu_seconds"])? / at(v, &["workflows"])? * 1000.0),
    higher_is_better: false,
    decimals: 1,
};

/// The eager-start cell's columns: as the throughput cells', the process's CPU being the
/// worker's and the starts' together, and the share of starts the server ran eagerly.
const EAGER_THROUGHPUT: [Column; 6] = [
    WORKFLOWS_PER_SECOND,
    SERVER_CPU,
    P50_MS,
    P99_MS,
    Column {
        title: "process CPU s / 1000 wf (worker + starts)",
        value: |v| Some(at(v, &["worker", "cpu_seconds"])? / at(v, &["workflows"])? * 1000.0),
        higher_is_better: false,
        decimals: 2,
    },
    Column {
        title: "started eagerly, %",
        value: |v| Some(at(v, &["eager_runs"])? / at(v, &["workflows"])? * 100.0),
        higher_is_better: true,
        decimals: 0,
    },
];

const THROUGHPUT: [Column; 6] = [
    WORKFLOWS_PER_SECOND,
    SERVER_CPU,
    P50_MS,
    P99_MS,
    Column {
        title: "worker CPU s / 1000 wf",
        value: |v| Some(at(v, &["worker", "cpu_seconds"])? / at(v, &["workflows"])? * 1000.0),
        higher_is_better: false,
        decimals: 2,
    },
    Column {
        title: "worker peak RSS MiB",
        value: |v| at(v, &["worker", "peak_rss_mib"]),
        higher_is_better: false,
        decimals: 1,
    },
];

const CACHE: [Column; 3] = [
    Column {
        title: "worker RSS MiB",
        value: |v| at(v, &["worker", "rss_mib"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "KiB per cached run",
        value: |v| {
            Some((at(v, &["worker", "rss_mib"])? - at(v, &["baseline_rss_mib"])?) * 1024.0 / at(v, &["workflows"])?)
        },
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "worker CPU s",
        value: |v| at(v, &["worker", "cpu_seconds"]),
        higher_is_better: false,
        decimals: 2,
    },
];

const REPLAY: [Column; 1] = [Column {
    title: "events/s",
    value: |v| at(v, &["events_per_second"]),
    higher_is_better: true,
    decimals: 0,
}];

const P50_MS: Column = Column {
    title: "p50 ms",
    value: |v| at(v, &["p50_ms"]),
    higher_is_better: false,
    decimals: 1,
};

const P99_MS: Column = Column {
    title: "p99 ms",
    value: |v| at(v, &["p99_ms"]),
    higher_is_better: false,
    decimals: 1,
};

const EAGER: [Column; 3] = [
    P50_MS,
    P99_MS,
    Column {
        title: "starts run eagerly, %",
        value: |v| Some(at(v, &["eager_runs"])? / at(v, &["runs"])? * 100.0),
        higher_is_better: true,
        decimals: 0,
    },
];

const TEST_ENV: [Column; 2] = [
    Column {
        title: "30-day timer, ms",
        value: |v| at(v, &["thirty_day_timer_ms"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "sequential timers, ms",
        value: |v| at(v, &["sequential_timers_ms"]),
        higher_is_better: false,
        decimals: 0,
    },
];

fn sdk_name(peer: &Peer) -> &'static str {
    match peer {
        Peer::Ready(p) => p.sdk,
        Peer::Unavailable { sdk, .. } => sdk,
    }
}

/// `{sdk: report}` with the medians of the columns added (`"medians"`), or
/// `{sdk: {"error": why}}`.
fn rows_json(rows: &[Row], columns: &[Column]) -> Value {
    let medians = medians(rows, columns);
    Value::Object(
        rows.iter()
            .map(|(sdk, r)| {
                let mut v = r.clone().unwrap_or_else(|e| json!({ "error": e }));
                if let (Some(m), Some(v)) = (medians.get(sdk), v.as_object_mut()) {
                    v.insert("medians".into(), m.clone());
                }
                (sdk.clone(), v)
            })
            .collect(),
    )
}

/// A task queue of its own for each SDK and workload, so nothing left over interferes.
fn task_queue(sdk: &BenchProgram, workload: &str) -> String {
    let slug: String = sdk
        .sdk
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("bench-{workload}-{slug}-{}", std::process::id())
}

fn worker(sdk: &BenchProgram, address: &str, task_queue: &str, max_cached: usize) -> Result<WorkerProcess> {
    let mut cmd = sdk.command(&["worker", task_queue]);
    cmd.env("TEMPORAL_ADDRESS", address)
        .env("BENCH_MAX_CACHED", max_cached.to_string());
    WorkerProcess::start(cmd)
}

/// Runs `n` workflows of `a` activities, `c` at a time, with ids `ids-0`, `ids-1`, ….
fn drive(
    driver: &BenchProgram,
    address: &str,
    task_queue: &str,
    ids: &str,
    (n, c, a): (usize, usize, u64),
) -> Result<Value> {
    let (n, c, a) = (n.to_string(), c.to_string(), a.to_string());
    let mut cmd = driver.command(&["drive", task_queue, &n, &c, &a, ids]);
    json_line(cmd.env("TEMPORAL_ADDRESS", address))
}

/// One measured run on a fresh dev server: warms the worker up, then drives the workload and
/// measures the worker, the server and the rest of the machine while it runs.
fn throughput(
    h: &Harness,
    sdk: &BenchProgram,
    in_memory: bool,
    workload: &str,
    (n, c, a): (usize, usize, u64),
) -> Result<Value> {
    let server = Server::start(&h.cli, in_memory)?;
    let address = server.address();
    let queue = task_queue(sdk, workload);
    let worker = worker(sdk, address, &queue, 10_000)?;
    let warm_up = h.sizes.warm_up;
    let warm_up_ids = format!("{queue}-warm-up");
    drive(&h.ours, address, &queue, &warm_up_ids, (warm_up, warm_up, a)).context("warm-up")?;
    let report = measured(&worker, &server, || drive(&h.ours, address, &queue, &queue, (n, c, a)));
    worker.stop()?;
    server.stop();
    report
}

/// One measured run of the contract's `local` command on a fresh in-memory dev server that
/// serves its metrics: the SDK's process (a worker, and a client on its connection) warms up,
/// then starts `n` workflows of `a` activities, `c` at a time, asking for eager start each
/// time. Measured like `throughput` (the process's CPU is the worker's and the starts'), plus
/// `eager_runs`: the starts whose first workflow task the server handed straight back (its
/// `workflow_eager_execution` counter over the measured drive).
fn eager_throughput(h: &Harness, sdk: &BenchProgram, (n, c, a): (usize, usize, u64)) -> Result<Value> {
    let server = Server::start_with_metrics(&h.cli)?;
    let queue = task_queue(sdk, "eager");
    let warm_up = h.sizes.warm_up;
    let args = [n.to_string(), c.to_string(), a.to_string(), warm_up.to_string()];
    let mut cmd = sdk.command(&["local", &queue, &args[0], &args[1], &args[2], &args[3]]);
    cmd.env("TEMPORAL_ADDRESS", server.address())
        .env("BENCH_MAX_CACHED", "10000");
    let process = WorkerProcess::start(cmd)?;
    let eager_before = server.counter_reaching(EAGER_COUNTER, warm_up as f64)?;
    let mut report = measured(&process, &server, || process.ask())?;
    let eager_after = server.counter_reaching(EAGER_COUNTER, eager_before + n as f64)?;
    report["eager_runs"] = json!(eager_after - eager_before);
    process.stop()?;
    server.stop();
    Ok(report)
}

/// The dev server's count of workflows started eagerly (by task queue and workflow type).
const EAGER_COUNTER: &str = "workflow_eager_execution";

/// `cargo xtask bench --cost`: only the cost of metrics and tracing (release build, fresh
/// in-memory dev servers, the full concurrent workload), for a quick look.
pub(crate) fn run_cost() -> Result<ExitCode> {
    let h = Harness::new(false)?;
    let (table, _) = metrics_cost(&h);
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask bench --long-histories [--smoke]`: only the long-histories workload (this
/// project's worker; full or smoke sizes), for a quick look. Fails if a run failed.
pub(crate) fn run_long_histories(smoke: bool) -> Result<ExitCode> {
    let h = Harness::new(smoke)?;
    let (table, raw) = long_histories::run(&h);
    println!("{table}");
    let failed = raw[THIS_PROJECT].get("error").is_some();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `cargo xtask bench --idle [COUNT]`: only the idle-cache workload, this project's worker
/// alone, with `COUNT` idle runs (10,000 by default) on a fresh in-memory dev server. Prints
/// the load average at the start and the table, and writes the raw numbers to
/// `target/bench/idle-COUNT.json`; fails if the run failed.
pub(crate) fn run_idle(count: Option<usize>) -> Result<ExitCode> {
    let load = machine::load_average()?;
    let h = Harness::new(false)?;
    let count = count.unwrap_or(h.sizes.idle);
    let rows = each(&[Peer::Ready(h.ours.clone())], &mut |sdk| idle_cache(&h, sdk, count));
    let table = table(&idle_title(count), &rows, &CACHE, VERSUS_PEERS);
    let mut workloads = serde_json::Map::new();
    workloads.insert("idle_cache".into(), rows_json(&rows, &CACHE));
    report_alone(load, workloads, &table, &format!("idle-{count}.json"))
}

/// `cargo xtask bench --scale [--smoke]`: only the scale workload (this project and the Rust SDK
/// at full size; this project alone at smoke sizes, with a dev build), for a quick look. Prints
/// the load average at the start and how much of the machine other processes took, and writes
/// the raw numbers to `target/bench/scale.json` (`scale-smoke.json`); fails if one of this
/// project's runs failed or counted errors.
pub(crate) fn run_scale(smoke: bool) -> Result<ExitCode> {
    let load = machine::load_average()?;
    let h = Harness::new(smoke)?;
    let mut sdks = vec![Peer::Ready(h.ours.clone())];
    if !smoke {
        sdks.push(peers::rust_sdk::prepare().unwrap_or_else(|e| Peer::Unavailable {
            sdk: peers::rust_sdk::SDK,
            reason: format!("{e:#}"),
        }));
    }
    let (table, raw) = scale::run(&h, &sdks);
    let file = if smoke { "scale-smoke.json" } else { "scale.json" };
    let mut workloads = serde_json::Map::new();
    workloads.insert("scale".into(), raw);
    report_alone(load, workloads, &table, file)
}

/// `cargo xtask bench --throughput`: only the throughput cells (release build, full sizes,
/// this project, the null worker and the peers, as in a full run), to compare settings: the
/// workers read theirs from the environment (`SETTINGS`; this project's workflow polls, the
/// null worker's polls), and the report records the ones set. Writes the raw numbers to
/// `target/bench/throughput.json`; fails if a run of this project or of the null worker failed.
pub(crate) fn run_throughput() -> Result<ExitCode> {
    let load = machine::load_average()?;
    let h = Harness::new(false)?;
    let sdks = throughput_sdks(&h, false);
    let mut done = Done::new("throughput.partial.json", load);
    throughput_cells(&h, &sdks, &mut done);
    let names: Vec<&str> = sdks.iter().map(sdk_name).collect();
    println!("SDKs: {}.{}", names.join(", "), settings_sentence());
    let Done {
        tables, raw, partial, ..
    } = done;
    let code = report_alone(load, raw, &tables, "throughput.json")?;
    // The complete report replaces the partial one.
    let _ = std::fs::remove_file(crate::target_dir().join("bench").join(partial));
    Ok(code)
}

/// The end of a section run alone (`--scale`, `--idle`, `--throughput`): the load average at
/// the start and how much of the machine other processes took, the tables, and the raw numbers
/// (`workloads`, by section) and the settings in `target/bench/<file>`; fails if a run of this
/// project (or of the null worker) failed.
fn report_alone(
    load: [f64; 3],
    workloads: serde_json::Map<String, Value>,
    tables: &str,
    file: &str,
) -> Result<ExitCode> {
    let workloads = Value::Object(workloads);
    let quiet = Quiet::judge(load, &workloads);
    println!("{}", quiet.summary());
    quiet.print_warnings();
    println!("{tables}");
    let report = json!({
        "date": run_date()?,
        "load_average_at_start": load,
        "settings": settings(),
        "warnings": quiet.warnings,
        "workloads": workloads,
    });
    let path = bench_file(file, serde_json::to_string_pretty(&report)?)?;
    println!("raw numbers: {}", path.display());
    Ok(own_outcome(&report["workloads"]))
}

/// The SDKs of the scale workload: this project and Temporal's Rust SDK.
fn scale_sdks(sdks: &[Peer]) -> Vec<Peer> {
    let names = [THIS_PROJECT, peers::rust_sdk::SDK];
    sdks.iter().filter(|p| names.contains(&sdk_name(p))).cloned().collect()
}

/// This project's worker CPU per workflow with Temporal's SDK metrics and OpenTelemetry tracing
/// off and on (client and worker recording and tracing, a Prometheus endpoint served), on the
/// concurrent one-activity workload with more workflows than the throughput cells (so that
/// `/proc`'s 10 ms CPU ticks weigh under 0.5 %), each run on a fresh in-memory dev server, in
/// strict alternation (off on on off …, so a drift of the machine weighs on both alike).
/// Returns a table (medians and spread, and the overhead from the medians) and the raw reports.
fn metrics_cost(h: &Harness) -> (String, Value) {
    let (n, c, a) = h.sizes.cost;
    let mut with_metrics = h.ours.clone();
    with_metrics.env.push(("BENCH_METRICS".into(), "1".into()));
    let programs = [&h.ours, &with_metrics];
    let mut reports: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    let order: Vec<usize> = (0..h.sizes.repetitions).flat_map(|i| [i % 2, 1 - i % 2]).collect();
    for (round, &i) in order.iter().enumerate() {
        let workload = format!("metrics-{i}-{round}");
        eprintln!(
            "xtask: metrics cost, run {} of {} ({})",
            round + 1,
            order.len(),
            ["off", "on"][i]
        );
        match throughput(h, programs[i], true, &workload, (n, c, a)) {
            Ok(report) => reports[i].push(report),
            Err(e) => eprintln!("xtask: metrics cost ({workload}): {e:#}"),
        }
    }
    let cpu = THROUGHPUT
        .iter()
        .find(|c| c.title == "worker CPU s / 1000 wf")
        .expect("the throughput table has a worker CPU column");
    let figure = |rs: &[Value]| Figure::of(&json!({ "repetitions": rs }), cpu);
    let (off, on) = (figure(&reports[0]), figure(&reports[1]));
    let show = |f: Option<Figure>| f.map_or("–".to_string(), |f| f.show(cpu.decimals + 1));
    let overhead = match (off, on) {
        (Some(off), Some(on)) if off.median > 0.0 => format!("{:+.1} %", (on.median / off.median - 1.0) * 100.0),
        _ => "–".to_string(),
    };
    let runs = order.len() / 2;
    let table = format!(
        "\n### Cost of metrics and tracing: {n} workflows × {a} activity, {c} at a time, this project's worker \
         (median (min–max) of {runs} runs each way, alternating, each on a fresh in-memory server)\n\n\
         | metrics + tracing | worker CPU s / 1000 wf ↓ |\n|---|---|\n| off (compiled in, no handle) | {} |\n\
         | on (client + worker metrics, Prometheus endpoint, every call traced) | {} |\n| **CPU per workflow, on vs off** | {overhead} |\n",
        show(off),
        show(on),
    );
    let median = |f: Option<Figure>| f.map(|f| f.median);
    let raw = json!({
        "off": reports[0],
        "on": reports[1],
        "cpu_per_1000_off": median(off),
        "cpu_per_1000_on": median(on),
    });
    (table, raw)
}

/// The idle table's title, naming the server the runs were held on.
fn idle_title(count: usize) -> String {
    let server = if idle_in_memory(count) { "in-memory" } else { "SQLite" };
    format!("{count} idle workflow runs in the worker's cache ({server} dev server)")
}

/// The most idle runs measured on an in-memory dev server; more go to a SQLite file. The
/// in-memory server's SQLite failed with `out of memory (7)` at about 93,000 open runs here,
/// grew past 16 GB and died; the worker's side of the measurement is the same on either.
const IN_MEMORY_IDLE_RUNS: usize = 50_000;

fn idle_in_memory(count: usize) -> bool {
    count <= IN_MEMORY_IDLE_RUNS
}

/// RSS of a worker holding `count` idle runs in its cache, over its RSS before them (on a
/// fresh dev server: in memory up to [`IN_MEMORY_IDLE_RUNS`], SQLite above).
fn idle_cache(h: &Harness, sdk: &BenchProgram, count: usize) -> Result<Value> {
    let server = Server::start(&h.cli, idle_in_memory(count))?;
    let address = server.address();
    let queue = task_queue(sdk, "idle");
    let worker = worker(sdk, address, &queue, count + 100)?;
    let idle = |count: usize| {
        json_line(
            h.ours
                .command(&["idle", &queue, &count.to_string()])
                .env("TEMPORAL_ADDRESS", address),
        )
    };
    // One run first, so the baseline includes everything loaded for the first workflow.
    idle(1).ok();
    let baseline = worker.rss_mib()?.1;
    let mut report = measured(&worker, &server, || idle(count))?;
    report["baseline_rss_mib"] = json!(baseline);
    worker.stop()?;
    server.stop();
    Ok(report)
}

/// The eager-start table's rows: this project's start-to-first-activity latency with and
/// without eager start, `repetitions` runs of the probe (`bench eager`), each on a fresh
/// in-memory dev server.
fn eager_start(h: &Harness) -> Vec<Row> {
    let reps = h.sizes.repetitions;
    let probe = || -> Result<Value> {
        let server = Server::start(&h.cli, true)?;
        let queue = task_queue(&h.ours, "eager");
        let count = h.sizes.eager.to_string();
        let report = json_line(
            h.ours
                .command(&["eager", &queue, &count])
                .env("TEMPORAL_ADDRESS", server.address()),
        );
        server.stop();
        report
    };
    let mut runs: Result<[Vec<Value>; 2], String> = Ok(Default::default());
    for rep in 0..reps {
        match (probe(), &mut runs) {
            (Ok(report), Ok([eager, normal])) => {
                eager.push(report["eager"].clone());
                normal.push(report["normal"].clone());
            }
            (Err(e), _) => {
                eprintln!("xtask: eager start: {e:#}");
                runs = Err(format!("failed: {e:#} (run {} of {reps})", rep + 1));
                break;
            }
            (Ok(_), Err(_)) => {}
        }
    }
    let row = |name: &str, i: usize| {
        let runs = runs
            .as_ref()
            .map(|r| json!({ "repetitions": r[i] }))
            .map_err(Clone::clone);
        (name.to_string(), runs)
    };
    vec![row(EAGER_START, 0), row(NORMAL_START, 1)]
}

/// Runs one `BenchSequential` of `activities` on this project's worker (on a fresh in-memory
/// dev server) and saves its history as the CLI exports it; every SDK replays that file.
fn record_history(h: &Harness, activities: u64) -> Result<PathBuf> {
    let server = Server::start(&h.cli, true)?;
    let address = server.address();
    let queue = task_queue(&h.ours, "record");
    let worker = worker(&h.ours, address, &queue, 10)?;
    drive(&h.ours, address, &queue, &queue, (1, 1, activities))?;
    worker.stop()?;
    let path = save_history(h, &server, &format!("{queue}-0"), "history.json");
    server.stop();
    path
}

/// Saves the history of workflow `workflow_id` on `server` as the CLI exports it (what every
/// SDK's `replay` reads), as `file` under `target/bench/`.
fn save_history(h: &Harness, server: &Server, workflow_id: &str, file: &str) -> Result<PathBuf> {
    let output = Command::new(&h.cli)
        .args(["workflow", "show", "--address", server.address(), "--output", "json"])
        .args(["--workflow-id", workflow_id])
        .output()
        .context("run `temporal workflow show`")?;
    anyhow::ensure!(
        output.status.success(),
        "`temporal workflow show` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    bench_file(file, output.stdout)
}

/// Writes `contents` to `file` in `target/bench` (made when missing); returns its path.
fn bench_file(file: &str, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(file);
    std::fs::write(&path, contents)?;
    Ok(path)
}

fn count_events(history: &Path) -> Result<usize> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(history)?)?;
    json["events"].as_array().map(Vec::len).context("a history has events")
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("a UTF-8 path")
}

fn build_ours(profile: &str) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(crate::workspace_root())
        // With metrics and tracing compiled in (and off unless `BENCH_METRICS` is set), for
        // their cost.
        .args([
            "build",
            "--quiet",
            "-p",
            "workflow-runtime",
            "--example",
            "bench",
            "--features",
            "metrics,opentelemetry",
        ]);
    if profile == "release" {
        cmd.arg("--release");
    }
    crate::run(&mut cmd)?;
    let dir = if profile == "release" { "release" } else { "debug" };
    Ok(crate::target_dir().join(dir).join("examples/bench"))
}

fn run_date() -> Result<String> {
    let out = Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]).output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn machine() -> String {
    let cores = machine::cores();
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}
