//! A bench worker process of any SDK, measured from outside through `/proc` the same way for
//! every SDK: CPU seconds (user + system, all threads) over a window, peak and current RSS.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a worker may take to print `ready` (the TypeScript worker bundles its workflows
/// first) and to exit after it is told to stop.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running worker, stopped (and killed if it does not exit) when dropped.
pub(crate) struct WorkerProcess {
    child: Child,
    ticks_per_second: f64,
}

impl WorkerProcess {
    /// Starts `cmd` (a contract `worker TASK_QUEUE` command) and waits for its `ready` line.
    pub(crate) fn start(mut cmd: Command) -> Result<WorkerProcess> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {cmd:?}"))?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Forward every line; after `ready`, keep draining so the worker never blocks.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut worker = WorkerProcess {
            child,
            ticks_per_second: ticks_per_second(),
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.trim() == "ready" => return Ok(worker),
                Ok(_) => continue,
                Err(_) => {
                    let status = worker.child.try_wait().ok().flatten();
                    bail!(
                        "the worker did not print `ready` within {READY_TIMEOUT:?} (exit status: {status:?}): {cmd:?}"
                    );
                }
            }
        }
    }

    /// User + system CPU seconds the process has used so far.
    pub(crate) fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name (which may hold spaces) start at field 3: utime and
        // stime are fields 14 and 15, so the 12th and 13th after the name.
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64> {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .context("malformed /proc/PID/stat")
        };
        Ok((ticks(11)? + ticks(12)?) / self.ticks_per_second)
    }

    /// (peak RSS, current RSS) in MiB.
    pub(crate) fn rss_mib(&self) -> Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> Result<f64> {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .with_context(|| format!("no {name} in /proc/PID/status"))
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }

    /// Asks the worker to stop and waits for it; an error if it fails or hangs.
    pub(crate) fn stop(mut self) -> Result<()> {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the worker exited with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the worker did not exit within {EXIT_TIMEOUT:?} of being told to stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Measures `work` against a worker: CPU seconds used while it ran, and RSS after it.
pub(crate) fn measured(worker: &WorkerProcess, work: impl FnOnce() -> Result<Value>) -> Result<Value> {
    let cpu_before = worker.cpu_seconds()?;
    let mut report = work()?;
    let cpu = worker.cpu_seconds()? - cpu_before;
    let (peak, current) = worker.rss_mib()?;
    report["worker"] = json!({
        "cpu_seconds": cpu,
        "peak_rss_mib": peak,
        "rss_mib": current,
    });
    Ok(report)
}

/// How long one bench command may run before it counts as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Runs a command that prints one JSON line last; returns that line parsed.
pub(crate) fn json_line(cmd: &mut Command) -> Result<Value> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("run {cmd:?}"))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    let text = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the output reader panicked"))??;
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(last).with_context(|| format!("parse the report of {cmd:?}: {last}"))
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}
