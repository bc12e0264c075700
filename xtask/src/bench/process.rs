//! The processes of a measured run, measured from outside through `/proc` the same way for
//! every SDK: a bench worker process of any SDK (CPU seconds — user + system, all threads —
//! over a window, peak and current RSS), and the dev server it works against (its CPU seconds).

use super::machine;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};
use workflow_dev_server::{DevServer, DevServerOptions};

/// How long a worker may take to print `ready` (the TypeScript worker bundles its workflows
/// first) and to exit after it is told to stop.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to publish what its metrics counted (it does about once a
/// second).
const METRICS_FLUSH_BOUND: Duration = Duration::from_secs(3);

/// A running worker, stopped (and killed if it does not exit) when dropped.
pub(crate) struct WorkerProcess {
    child: Child,
    /// The lines it prints after `ready`.
    lines: mpsc::Receiver<String>,
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
        let mut worker = WorkerProcess { child, lines: rx };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match worker.lines.recv_timeout(left) {
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
        cpu_seconds(self.child.id())
    }

    /// Sends a line on the process's stdin (a contract `local` command's go-ahead) and returns
    /// the JSON report it prints next.
    pub(crate) fn ask(&self) -> Result<Value> {
        let mut stdin = self.child.stdin.as_ref().context("the process's stdin")?;
        stdin.write_all(b"go\n")?;
        stdin.flush()?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => {
                    return serde_json::from_str(&line).with_context(|| format!("parse the process's report: {line}"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => bail!("no report within {COMMAND_TIMEOUT:?}"),
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the process closed its stdout without a report"),
            }
        }
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

/// A dev server started for one measured run, with the process that serves (the CLI's, under
/// the guard shell `DevServer` runs it in).
pub(crate) struct Server {
    dev: DevServer,
    pid: u32,
    /// Where its own metrics are served, if they are.
    metrics_port: Option<u16>,
}

impl Server {
    /// A fresh server: in memory, or on a fresh SQLite file.
    pub(crate) fn start(cli: &Path, in_memory: bool) -> Result<Server> {
        Server::start_configured(cli, in_memory, &[])
    }

    /// A fresh server with dynamic configuration values, each `(key, JSON value)`.
    pub(crate) fn start_configured(cli: &Path, in_memory: bool, dynamic_config: &[(&str, &str)]) -> Result<Server> {
        Server::start_with(DevServerOptions {
            cli: Some(cli.to_path_buf()),
            in_memory,
            dynamic_config: dynamic_config
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
            ..Default::default()
        })
    }

    /// A fresh in-memory server that serves its own metrics (see [`Server::counter`]).
    pub(crate) fn start_with_metrics(cli: &Path) -> Result<Server> {
        Server::start_with(DevServerOptions {
            cli: Some(cli.to_path_buf()),
            in_memory: true,
            metrics_port: Some(workflow_dev_server::free_port()?),
            ..Default::default()
        })
    }

    fn start_with(options: DevServerOptions) -> Result<Server> {
        let metrics_port = options.metrics_port;
        let cli = options.cli.clone().context("the CLI to serve with")?;
        let dev = DevServer::start_with(options)?;
        let port = dev.address().rsplit(':').next().unwrap_or_default().to_string();
        // The server is the descendant of this process that runs the CLI with its port (the
        // guard shell's command line names both too, after `sh -c SCRIPT`).
        let cli = cli.as_os_str().as_encoded_bytes();
        let pid = machine::descendants()?
            .into_iter()
            .find(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                args.first() == Some(&cli) && args.windows(2).any(|w| w[0] == b"--port" && w[1] == port.as_bytes())
            })
            .with_context(|| format!("no dev server process serves port {port}"))?;
        Ok(Server { dev, pid, metrics_port })
    }

    /// The server's counter `name` once it reads at least `at_least`, or as it reads after
    /// [`METRICS_FLUSH_BOUND`]: the server publishes what it counted about once a second, so a
    /// read right after the work can miss the last of it.
    pub(crate) fn counter_reaching(&self, name: &str, at_least: f64) -> Result<f64> {
        let deadline = Instant::now() + METRICS_FLUSH_BOUND;
        loop {
            let value = self.counter(name)?;
            if value >= at_least || Instant::now() > deadline {
                return Ok(value);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's counter `name` (Prometheus text from its metrics endpoint), summed over
    /// its labels (task queues, namespaces, …); 0 when it has not counted anything yet.
    pub(crate) fn counter(&self, name: &str) -> Result<f64> {
        let port = self.metrics_port.context("the server does not serve its metrics")?;
        let text = crate::scrape_metrics(&format!("127.0.0.1:{port}"), Duration::from_secs(10))?;
        anyhow::ensure!(
            text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200"),
            "the metrics endpoint answered {}",
            text.lines().next().unwrap_or("nothing")
        );
        Ok(prometheus_sum(&text, name))
    }

    pub(crate) fn address(&self) -> &str {
        self.dev.address()
    }

    /// User + system CPU seconds the server has used so far.
    pub(crate) fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.pid)
    }

    pub(crate) fn stop(self) {
        self.dev.stop();
    }
}

/// Measures `work` against a worker and its server: the CPU seconds each used while it ran,
/// the worker's RSS after it, and the share of the machine other processes took meanwhile.
pub(crate) fn measured(worker: &WorkerProcess, server: &Server, work: impl FnOnce() -> Result<Value>) -> Result<Value> {
    measured_all(std::slice::from_ref(worker), server, work)
}

/// [`measured`] for several worker processes on one task queue: their CPU seconds summed, the
/// largest peak and current RSS of one, and the peaks summed (`peak_rss_mib_sum`: an upper
/// bound of their RSS together, the peaks may come at different times).
pub(crate) fn measured_all(
    workers: &[WorkerProcess],
    server: &Server,
    work: impl FnOnce() -> Result<Value>,
) -> Result<Value> {
    let load = machine::load_average()?[0];
    let workers_cpu = || workers.iter().map(WorkerProcess::cpu_seconds).sum::<Result<f64>>();
    let (worker_before, server_before) = (workers_cpu()?, server.cpu_seconds()?);
    let machine_before = machine::Snapshot::take()?;
    let mut report = work()?;
    let other = machine::Snapshot::take()?.other_share_since(&machine_before);
    let (worker_cpu, server_cpu) = (workers_cpu()? - worker_before, server.cpu_seconds()? - server_before);
    let rss = workers.iter().map(WorkerProcess::rss_mib).collect::<Result<Vec<_>>>()?;
    let max = |xs: &mut dyn Iterator<Item = f64>| xs.fold(0.0, f64::max);
    report["worker"] = json!({
        "cpu_seconds": worker_cpu,
        "peak_rss_mib": max(&mut rss.iter().map(|r| r.0)),
        "rss_mib": max(&mut rss.iter().map(|r| r.1)),
        "peak_rss_mib_sum": rss.iter().map(|r| r.0).sum::<f64>(),
        "processes": workers.len(),
    });
    report["server"] = json!({ "cpu_seconds": server_cpu });
    report["machine"] = json!({ "load_average_1m": load, "other_cpu_share": other });
    Ok(report)
}

/// The CPU seconds process `pid` has used so far, to the nanosecond where the kernel keeps it:
/// the running time of each of its threads (`/proc/PID/task/*/schedstat`), or the clock ticks
/// of `/proc/PID/stat` (10 ms each) when those say more (a thread that exited is in the ticks
/// only). Ticks alone made a run of 10 ms of CPU read 0 or 10.
pub(crate) fn cpu_seconds(pid: u32) -> Result<f64> {
    let ticks = Stat::read(pid)?.cpu_seconds();
    let mut nanos = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))?.flatten() {
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        nanos += schedstat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(ticks.max(nanos as f64 / 1e9))
}

/// The figures of `/proc/PID/stat` after the command name (which may hold spaces): the
/// process's state is the first, its parent the second, then (from the 12th) its user and
/// system time and those of its children it waited for, in clock ticks.
pub(crate) struct Stat(Vec<String>);

impl Stat {
    pub(crate) fn read(pid: u32) -> Result<Stat> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let after_name = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<String> = after_name.split_whitespace().map(str::to_string).collect();
        anyhow::ensure!(fields.len() > 14, "malformed /proc/{pid}/stat: {stat}");
        Ok(Stat(fields))
    }

    fn field(&self, i: usize) -> f64 {
        self.0.get(i).and_then(|f| f.parse().ok()).unwrap_or(0.0)
    }

    pub(crate) fn parent(&self) -> u32 {
        self.field(1) as u32
    }

    /// User + system seconds of the process itself.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        (self.field(11) + self.field(12)) / ticks_per_second()
    }

    /// User + system seconds of the children it waited for.
    pub(crate) fn children_cpu_seconds(&self) -> f64 {
        (self.field(13) + self.field(14)) / ticks_per_second()
    }
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

/// The clock ticks per second of `/proc`'s CPU times.
pub(crate) fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The sum of the samples of metric `name` in Prometheus text (`name{labels} value` or
/// `name value` lines).
fn prometheus_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = match rest.chars().next()? {
                '{' => rest.rsplit_once('}')?.1,
                ' ' => rest,
                _ => return None,
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::prometheus_sum;

    #[test]
    fn sums_a_counter_over_its_labels_and_nothing_else() {
        let text = "# HELP workflow_eager_execution eager starts\n\
                    workflow_eager_execution{taskqueue=\"a\",ns=\"x}y\"} 20\n\
                    workflow_eager_execution{taskqueue=\"b\"} 200\n\
                    workflow_eager_execution_total 7\n\
                    other_metric{taskqueue=\"a\"} 5\n";
        assert_eq!(prometheus_sum(text, "workflow_eager_execution"), 220.0);
        assert_eq!(prometheus_sum(text, "workflow_eager_execution_total"), 7.0);
        assert_eq!(prometheus_sum(text, "missing"), 0.0);
    }
}
