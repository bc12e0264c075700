//! Whether the machine was quiet: its load average when the bench starts, and the share of the
//! machine other processes took while a figure was measured (what `/proc/stat` says all cores
//! were busy with, minus what this xtask's process tree used: the dev server, the worker and
//! the driver).
//!
//! The thresholds, for the two-core machines this bench runs on: the server is the bottleneck
//! of the throughput workloads, so any CPU another process takes comes out of the figures.
//! A 1-minute load average above half a runnable task per core at the start means other work
//! wanted half the machine over the last minute (a quiet machine shows about 0.0 here), and a
//! tenth of the machine taken during a run moves a server-bound figure by about as much as the
//! differences the bench is meant to show (the goals are 5–15 % apart).

use super::process::{Stat, ticks_per_second};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::time::Instant;

/// Above this 1-minute load average per core at the start, the machine was not quiet.
pub(crate) const LOAD_PER_CORE_LIMIT: f64 = 0.5;
/// Above this share of the machine taken by other processes during a run, it was not quiet.
pub(crate) const OTHER_CPU_LIMIT: f64 = 0.10;

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The 1-, 5- and 15-minute load averages.
pub(crate) fn load_average() -> Result<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>());
    let mut next = || -> Result<f64> { Ok(fields.next().context("malformed /proc/loadavg")??) };
    Ok([next()?, next()?, next()?])
}

/// The processes below this one (children, their children, …), alive or not yet waited for.
pub(crate) fn descendants() -> Result<Vec<u32>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // A process may end between the listing and the read.
        if let Ok(stat) = Stat::read(pid) {
            children.entry(stat.parent()).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![std::process::id()];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    Ok(found)
}

/// CPU seconds used so far by the whole machine and by this process's tree.
pub(crate) struct Snapshot {
    at: Instant,
    machine: f64,
    ours: f64,
}

impl Snapshot {
    pub(crate) fn take() -> Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            machine: busy_seconds()?,
            ours: tree_seconds()?,
        })
    }

    /// The share of the machine (0 to 1) that processes outside this tree used since `earlier`.
    pub(crate) fn other_share_since(&self, earlier: &Snapshot) -> f64 {
        let elapsed = self.at.duration_since(earlier.at).as_secs_f64() * cores() as f64;
        let other = (self.machine - earlier.machine) - (self.ours - earlier.ours);
        if elapsed > 0.0 {
            (other / elapsed).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// CPU seconds all cores have been busy since boot (`/proc/stat`: user, nice, system, and
/// steal — time the hypervisor gave to other guests; guest time is inside user time). Interrupt
/// time is left out: it belongs to no process, and most of it here is the loopback traffic
/// between the bench's own processes.
fn busy_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    let busy: f64 = [0, 1, 2, 7].iter().filter_map(|&i| ticks.get(i)).sum();
    Ok(busy / ticks_per_second())
}

/// CPU seconds of this process and its descendants: their own time, and that of the
/// children they waited for (finished processes count in their parent's).
fn tree_seconds() -> Result<f64> {
    let me = Stat::read(std::process::id())?;
    let mut total = me.cpu_seconds() + me.children_cpu_seconds();
    for pid in descendants()? {
        if let Ok(stat) = Stat::read(pid) {
            total += stat.cpu_seconds() + stat.children_cpu_seconds();
        }
    }
    Ok(total)
}
