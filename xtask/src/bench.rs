//! `cargo xtask bench`: this project's figures on this machine, against a fresh dev server.
//!
//! Workloads (first cut; peers join with the benchmarks issue): throughput and latency of
//! 200 concurrent one-activity workflows and of 20 workflows of 20 sequential activities,
//! worker CPU seconds per 1,000 workflows and peak RSS, and replay speed of a history of
//! about 10,000 events with no server. Raw numbers go to `target/bench/latest.json`.

use crate::dev_server::{DevServer, DevServerOptions};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

struct Sizes {
    concurrent: (usize, usize, u64),
    sequential: (usize, usize, u64),
    replay: (u64, usize),
    timers: u64,
}

pub(crate) fn run(smoke: bool) -> Result<ExitCode> {
    let sizes = if smoke {
        Sizes {
            concurrent: (10, 10, 1),
            sequential: (2, 2, 3),
            replay: (50, 2),
            timers: 20,
        }
    } else {
        Sizes {
            concurrent: (200, 200, 1),
            sequential: (20, 20, 20),
            replay: (1700, 20),
            timers: 1000,
        }
    };
    let profile = if smoke { "dev" } else { "release" };
    let program = build(profile)?;
    let cli = crate::ensure_cli()?;
    let server = DevServer::start_with(DevServerOptions {
        cli: Some(cli),
        ..Default::default()
    })?;
    eprintln!("xtask: bench against the dev server at {}", server.address());

    let (n, c, a) = sizes.concurrent;
    let concurrent = drive_with_worker(&program, server.address(), "bench-concurrent", n, c, a)?;
    let (n, c, a) = sizes.sequential;
    let sequential = drive_with_worker(&program, server.address(), "bench-sequential", n, c, a)?;
    let (a, rounds) = sizes.replay;
    let replay = json_line(Command::new(&program).args(["replay", &a.to_string(), &rounds.to_string()]))?;
    server.stop();
    let testenv = json_line(Command::new(&program).args(["testenv", &sizes.timers.to_string()]))?;

    let machine = machine();
    let date = String::from_utf8(
        Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d %H:%M UTC")
            .output()?
            .stdout,
    )?
    .trim()
    .to_string();
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nBenchmarks ({}{}), {date}, {machine}",
        profile,
        if smoke { ", smoke sizes" } else { "" }
    );
    println!("| workload | workflows/s | p50 ms | p99 ms | worker CPU s / 1000 wf | worker peak RSS MiB |");
    println!("|---|---|---|---|---|---|");
    for (name, (drive, worker)) in [
        (format!("{} concurrent × 1 activity", sizes.concurrent.0), &concurrent),
        (
            format!(
                "{} workflows × {} sequential activities",
                sizes.sequential.0, sizes.sequential.2
            ),
            &sequential,
        ),
    ] {
        let per_1000 = f(worker, "cpu_seconds") / f(drive, "workflows") * 1000.0;
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
            f(drive, "workflows_per_second"),
            f(drive, "p50_ms"),
            f(drive, "p99_ms"),
            per_1000,
            f(worker, "peak_rss_mib"),
        );
    }
    println!(
        "| replay of a {}-event history × {} | {:.0} events/s |",
        f(&replay, "history_events"),
        f(&replay, "rounds"),
        f(&replay, "events_per_second")
    );
    println!("\n| test environment (virtual time) | wall time |");
    println!("|---|---|");
    println!(
        "| a workflow with one 30-day timer | {:.1} ms |",
        f(&testenv, "thirty_day_timer_ms")
    );
    println!(
        "| a workflow with {} sequential timers | {:.0} ms |",
        f(&testenv, "timers"),
        f(&testenv, "sequential_timers_ms")
    );

    let report = serde_json::json!({
        "date": date,
        "machine": machine,
        "profile": profile,
        "smoke": smoke,
        "concurrent": { "drive": concurrent.0, "worker": concurrent.1 },
        "sequential": { "drive": sequential.0, "worker": sequential.1 },
        "replay": replay,
        "test_environment": testenv,
    });
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(if smoke { "smoke.json" } else { "latest.json" });
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("\nraw numbers: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn build(profile: &str) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(crate::workspace_root())
        .args(["build", "--quiet", "-p", "workflow-runtime", "--example", "bench"]);
    if profile == "release" {
        cmd.arg("--release");
    }
    crate::run(&mut cmd)?;
    let dir = if profile == "release" { "release" } else { "debug" };
    Ok(crate::target_dir().join(dir).join("examples/bench"))
}

/// Runs the driver against a worker process of its own; returns both JSON reports.
fn drive_with_worker(
    program: &Path,
    address: &str,
    task_queue: &str,
    workflows: usize,
    concurrency: usize,
    activities: u64,
) -> Result<(serde_json::Value, serde_json::Value)> {
    let mut worker = Command::new(program)
        .args(["worker", task_queue])
        .env("TEMPORAL_ADDRESS", address)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("start the bench worker")?;
    let mut out = BufReader::new(worker.stdout.take().context("worker stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    if line.trim() != "ready" {
        bail!("the bench worker did not start: {line}");
    }
    let drive = json_line(
        Command::new(program)
            .args(["drive", task_queue])
            .args([workflows.to_string(), concurrency.to_string(), activities.to_string()])
            .env("TEMPORAL_ADDRESS", address),
    )?;
    worker.stdin.take().context("worker stdin")?.write_all(b"stop\n")?;
    let mut report = String::new();
    out.read_line(&mut report)?;
    worker.wait()?;
    let worker: serde_json::Value = serde_json::from_str(report.trim()).context("the worker's report")?;
    Ok((drive, worker))
}

fn json_line(cmd: &mut Command) -> Result<serde_json::Value> {
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("run {cmd:?}"))?;
    if !output.status.success() {
        bail!("{cmd:?} failed with {}", output.status);
    }
    let text = String::from_utf8(output.stdout)?;
    let last = text.lines().last().unwrap_or("");
    serde_json::from_str(last).with_context(|| format!("parse the report of {cmd:?}: {last}"))
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
