//! `cargo xtask bench`: this project against the other Temporal SDKs, back to back on this
//! machine and the same dev servers (see `bench/README.md` for the contract each SDK's bench
//! program follows). One driver — this project's client — starts the work for every SDK, and
//! every worker process is measured from outside the same way.
//!
//! Workloads: throughput and latency (200 concurrent one-activity workflows; 20 workflows of 20
//! sequential activities) on an in-memory and on a SQLite dev server, worker CPU per 1,000
//! workflows and peak RSS, RSS with 10,000 idle cached runs, replay of one recorded history of
//! over 10,000 events, the test environments, and a clean build of a minimal worker.
//! `--smoke` runs tiny counts for this project only, so CI keeps the harness working.

mod build;
mod process;
mod report;

use crate::peers::{self, BenchProgram, Peer};
use anyhow::{Context, Result};
use process::{WorkerProcess, json_line, measured};
use report::{Column, Row, at, table};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use workflow_dev_server::{DevServer, DevServerOptions};

const THIS_PROJECT: &str = "this project";

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
    warm_up: usize,
    idle: usize,
    /// Activities of the recorded history (6 events each), and replay rounds.
    replay: (u64, usize),
    timers: u64,
}

pub(crate) fn run(smoke: bool) -> Result<ExitCode> {
    let sizes = if smoke {
        Sizes {
            concurrent: (10, 10, 1),
            sequential: (2, 2, 3),
            warm_up: 2,
            idle: 20,
            replay: (20, 2),
            timers: 20,
        }
    } else {
        Sizes {
            concurrent: (200, 200, 1),
            sequential: (20, 20, 20),
            warm_up: 20,
            idle: 10_000,
            replay: (1700, 5),
            timers: 1000,
        }
    };
    let profile = if smoke { "dev" } else { "release" };
    let ours = BenchProgram {
        sdk: THIS_PROJECT,
        program: build_ours(profile)?,
        args: Vec::new(),
        cwd: None,
        env: Vec::new(),
    };
    let cli = crate::ensure_cli()?;
    let mut sdks = vec![Peer::Ready(ours.clone())];
    if !smoke {
        sdks.extend(peers::prepare_all());
    }
    let names: Vec<String> = sdks.iter().map(|p| sdk_name(p).to_string()).collect();
    let each = |f: &mut dyn FnMut(&BenchProgram) -> Result<Value>| -> Vec<Row> {
        sdks.iter()
            .map(|peer| match peer {
                Peer::Ready(program) => {
                    eprintln!("xtask: … {}", program.sdk);
                    let outcome = f(program).map_err(|e| match e.downcast_ref::<Unavailable>() {
                        Some(Unavailable(reason)) => format!("unavailable: {reason}"),
                        None => format!("failed: {e:#}"),
                    });
                    if let Err(e) = &outcome {
                        eprintln!("xtask: {}: {e}", program.sdk);
                    }
                    (program.sdk.to_string(), outcome)
                }
                Peer::Unavailable { sdk, reason } => (sdk.to_string(), Err(format!("unavailable: {reason}"))),
            })
            .collect()
    };

    let mut tables = String::new();
    let mut raw = serde_json::Map::new();
    let mut record = |key: &str, title: &str, rows: &[Row], columns: &[Column], tables: &mut String| {
        tables.push_str(&table(title, rows, columns));
        raw.insert(key.to_string(), rows_json(rows));
    };

    let mut history_file = None;
    let mut metrics_cost_raw = None;
    for (mode, in_memory) in [("in-memory", true), ("SQLite", false)] {
        let server = DevServer::start_with(DevServerOptions {
            cli: Some(cli.clone()),
            in_memory,
            ..Default::default()
        })?;
        let address = server.address().to_string();
        eprintln!("xtask: bench on the {mode} dev server at {address}");
        for (key, (n, c, a)) in [("concurrent", sizes.concurrent), ("sequential", sizes.sequential)] {
            let title = format!(
                "{n} workflows × {a} activit{}, {c} at a time ({mode} dev server)",
                if a == 1 { "y" } else { "ies" }
            );
            let rows = each(&mut |sdk| throughput(sdk, &ours, &address, key, (n, c, a), sizes.warm_up));
            record(&format!("{key}_{mode}"), &title, &rows, &THROUGHPUT, &mut tables);
        }
        if in_memory {
            let cost = metrics_cost(&ours, &address, sizes.concurrent, sizes.warm_up);
            tables.push_str(&cost.0);
            metrics_cost_raw = Some(cost.1);
            let rows = each(&mut |sdk| idle_cache(sdk, &ours, &address, sizes.idle));
            let title = format!(
                "{} idle workflow runs in the worker's cache ({mode} dev server)",
                sizes.idle
            );
            record("idle_cache", &title, &rows, &CACHE, &mut tables);
            history_file = Some(record_history(&ours, &cli, &address, sizes.replay.0)?);
        }
        server.stop();
    }

    let history = history_file.context("the history was recorded")?;
    let events = count_events(&history)?;
    let rounds = sizes.replay.1.to_string();
    let rows = each(&mut |sdk| json_line(&mut sdk.command(&["replay", path_str(&history)?, &rounds])));
    let title = format!("replay of one {events}-event history × {rounds}, in-process");
    record("replay", &title, &rows, &REPLAY, &mut tables);

    let timers = sizes.timers.to_string();
    let rows = each(&mut |sdk| {
        let report = json_line(&mut sdk.command(&["testenv", &timers]))?;
        match report.get("unavailable").and_then(Value::as_str) {
            Some(reason) => Err(Unavailable(reason.to_string()).into()),
            None => Ok(report),
        }
    });
    let title = format!("time-skipping test environment: one 30-day timer; {timers} sequential timers");
    record("test_environment", &title, &rows, &TEST_ENV, &mut tables);

    if !smoke {
        let rows = build::clean_builds();
        record(
            "build",
            "clean dev build of a minimal worker program",
            &rows,
            &build::COLUMNS,
            &mut tables,
        );
    }

    if let Some(cost) = metrics_cost_raw {
        raw.insert("metrics_cost".into(), cost);
    }
    let date = run_date()?;
    let machine = machine();
    println!(
        "\n## Benchmarks ({profile}{}), {date}, {machine}\n\nSDKs: {}. ↑ higher is better, ↓ lower is better; \
         the last row of each table is this project's figure over the best peer's (above 1 is better).",
        if smoke { ", smoke sizes" } else { "" },
        names.join(", ")
    );
    println!("{tables}");
    let report = json!({
        "date": date,
        "machine": machine,
        "profile": profile,
        "smoke": smoke,
        "sdks": names,
        "workloads": Value::Object(raw),
    });
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(if smoke { "smoke.json" } else { "latest.json" });
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("raw numbers: {}", path.display());
    // This project failing a workload is a broken harness (CI runs the smoke mode for that).
    let ours_failed = report["workloads"]
        .as_object()
        .into_iter()
        .flat_map(|w| w.values())
        .any(|rows| rows[THIS_PROJECT].get("error").is_some());
    Ok(if ours_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

const THROUGHPUT: [Column; 5] = [
    Column {
        title: "workflows/s",
        value: |v| at(v, &["workflows_per_second"]),
        higher_is_better: true,
        decimals: 1,
    },
    Column {
        title: "p50 ms",
        value: |v| at(v, &["p50_ms"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "p99 ms",
        value: |v| at(v, &["p99_ms"]),
        higher_is_better: false,
        decimals: 1,
    },
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

/// `{sdk: report}`, or `{sdk: {"error": why}}`.
fn rows_json(rows: &[Row]) -> Value {
    Value::Object(
        rows.iter()
            .map(|(sdk, r)| {
                let v = r.clone().unwrap_or_else(|e| json!({ "error": e }));
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

/// Warms the worker up, then drives the workload and measures the worker while it runs.
fn throughput(
    sdk: &BenchProgram,
    driver: &BenchProgram,
    address: &str,
    workload: &str,
    (n, c, a): (usize, usize, u64),
    warm_up: usize,
) -> Result<Value> {
    let queue = task_queue(sdk, workload);
    let worker = worker(sdk, address, &queue, 10_000)?;
    drive(
        driver,
        address,
        &queue,
        &format!("{queue}-warm-up"),
        (warm_up, warm_up, a),
    )
    .context("warm-up")?;
    let report = measured(&worker, || drive(driver, address, &queue, &queue, (n, c, a)));
    worker.stop()?;
    report
}

/// `cargo xtask bench --cost`: only the cost of metrics and tracing (release build, one
/// in-memory dev server, the full concurrent workload), for a quick look.
pub(crate) fn run_cost() -> Result<ExitCode> {
    let ours = BenchProgram {
        sdk: THIS_PROJECT,
        program: build_ours("release")?,
        args: Vec::new(),
        cwd: None,
        env: Vec::new(),
    };
    let server = DevServer::start_with(DevServerOptions {
        cli: Some(crate::ensure_cli()?),
        in_memory: true,
        ..Default::default()
    })?;
    let (table, _) = metrics_cost(&ours, server.address(), (200, 200, 1), 20);
    println!("{table}");
    server.stop();
    Ok(ExitCode::SUCCESS)
}

/// This project's worker CPU per workflow with Temporal's SDK metrics and OpenTelemetry tracing
/// off and on (client and worker recording and tracing, a Prometheus endpoint served), on the
/// concurrent one-activity workload, off and on twice each, alternating, to even out drift.
/// Returns a table and the raw reports.
fn metrics_cost(ours: &BenchProgram, address: &str, sizes: (usize, usize, u64), warm_up: usize) -> (String, Value) {
    let mut with_metrics = ours.clone();
    with_metrics.env.push(("BENCH_METRICS".into(), "1".into()));
    let mut reports: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    for round in 0..2 {
        for (i, program) in [ours, &with_metrics].into_iter().enumerate() {
            let workload = format!("metrics-{i}-{round}");
            match throughput(program, ours, address, &workload, sizes, warm_up) {
                Ok(report) => reports[i].push(report),
                Err(e) => eprintln!("xtask: metrics cost ({workload}): {e:#}"),
            }
        }
    }
    let cpu_per_1000 = |rs: &[Value]| -> Option<f64> {
        let cpu: f64 = rs
            .iter()
            .map(|r| at(r, &["worker", "cpu_seconds"]))
            .sum::<Option<f64>>()?;
        let workflows: f64 = rs.iter().map(|r| at(r, &["workflows"])).sum::<Option<f64>>()?;
        (workflows > 0.0).then(|| cpu / workflows * 1000.0)
    };
    let (off, on) = (cpu_per_1000(&reports[0]), cpu_per_1000(&reports[1]));
    let show = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
    let overhead = match (off, on) {
        (Some(off), Some(on)) if off > 0.0 => format!("{:+.1} %", (on / off - 1.0) * 100.0),
        _ => "–".to_string(),
    };
    let (n, c, a) = sizes;
    let table = format!(
        "\n### Cost of metrics and tracing: {n} workflows × {a} activity, {c} at a time, this project's worker, twice each\n\n\
         | metrics + tracing | worker CPU s / 1000 wf ↓ |\n|---|---|\n| off (compiled in, no handle) | {} |\n\
         | on (client + worker metrics, Prometheus endpoint, every call traced) | {} |\n| **CPU per workflow, on vs off** | {overhead} |\n",
        show(off),
        show(on),
    );
    let raw = json!({ "off": reports[0], "on": reports[1], "cpu_per_1000_off": off, "cpu_per_1000_on": on });
    (table, raw)
}

/// RSS of a worker holding `count` idle runs in its cache, over its RSS before them.
fn idle_cache(sdk: &BenchProgram, driver: &BenchProgram, address: &str, count: usize) -> Result<Value> {
    let queue = task_queue(sdk, "idle");
    let worker = worker(sdk, address, &queue, count + 100)?;
    // One run first, so the baseline includes everything loaded for the first workflow.
    json_line(driver.command(&["idle", &queue, "1"]).env("TEMPORAL_ADDRESS", address)).ok();
    let baseline = worker.rss_mib()?.1;
    let mut report = measured(&worker, || {
        json_line(
            driver
                .command(&["idle", &queue, &count.to_string()])
                .env("TEMPORAL_ADDRESS", address),
        )
    })?;
    report["baseline_rss_mib"] = json!(baseline);
    worker.stop()?;
    Ok(report)
}

/// Runs one `BenchSequential` of `activities` on this project's worker and saves its history
/// as the CLI exports it; every SDK replays that file.
fn record_history(ours: &BenchProgram, cli: &Path, address: &str, activities: u64) -> Result<PathBuf> {
    let queue = task_queue(ours, "record");
    let worker = worker(ours, address, &queue, 10)?;
    drive(ours, address, &queue, &queue, (1, 1, activities))?;
    worker.stop()?;
    let output = Command::new(cli)
        .args(["workflow", "show", "--address", address, "--output", "json"])
        .args(["--workflow-id", &format!("{queue}-0")])
        .output()
        .context("run `temporal workflow show`")?;
    anyhow::ensure!(
        output.status.success(),
        "`temporal workflow show` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = crate::target_dir().join("bench/history.json");
    std::fs::create_dir_all(path.parent().context("a parent folder")?)?;
    std::fs::write(&path, output.stdout)?;
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
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
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
