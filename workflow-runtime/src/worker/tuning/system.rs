//! CPU and memory use of this machine or container, read from `/proc` and cgroup v2 files.

use super::TuningError;
use super::resource::{ResourceUsage, Usage};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest span a CPU figure is measured over; measurements asked for sooner get the
/// last figure.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// The use of the resources this process may use, read from Linux's files:
///
/// - CPU: with a cgroup v2 CPU limit (`cpu.max`, as a container runtime sets it), the cgroup's
///   CPU time (`cpu.stat`) over the limit's share of the cores; otherwise the machine's busy
///   time over all its time (`/proc/stat`). Figures are over the time since the previous
///   measurement, at least 100 ms (until the first such span, since boot).
/// - Memory: with a cgroup v2 memory limit (`memory.max`), the cgroup's working set
///   (`memory.current` less reclaimable `inactive_file` in `memory.stat`) over the limit;
///   otherwise 1 − `MemAvailable` / `MemTotal` of `/proc/meminfo`.
///
/// cgroup v1 limits are not read (the machine's figures are used).
pub struct SystemResourceUsage {
    cpu: CpuSource,
    memory: MemorySource,
    state: Mutex<Sampled>,
}

enum CpuSource {
    /// `/proc/stat`.
    Machine,
    /// The cgroup's `cpu.stat`, and the cores its limit allows.
    Cgroup { stat: PathBuf, cores: f64 },
}

enum MemorySource {
    /// `/proc/meminfo`.
    Machine,
    /// The cgroup's directory, and its limit in bytes.
    Cgroup { dir: PathBuf, limit: u64 },
}

/// A CPU time reading: busy time, and the time it is a share of (same units).
#[derive(Debug, Clone, Copy, PartialEq)]
struct CpuTimes {
    busy: f64,
    total: f64,
}

struct Sampled {
    at: Instant,
    cpu: CpuTimes,
    usage: Usage,
}

impl std::fmt::Debug for SystemResourceUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cpu = match &self.cpu {
            CpuSource::Machine => "/proc/stat".to_string(),
            CpuSource::Cgroup { stat, cores } => format!("{} ({cores} cores)", stat.display()),
        };
        let memory = match &self.memory {
            MemorySource::Machine => "/proc/meminfo".to_string(),
            MemorySource::Cgroup { dir, limit } => format!("{} ({limit} bytes)", dir.display()),
        };
        f.debug_struct("SystemResourceUsage")
            .field("cpu", &cpu)
            .field("memory", &memory)
            .finish()
    }
}

impl SystemResourceUsage {
    /// Finds what to read (the process's cgroup v2 limits, else the machine's figures) and
    /// reads it once; fails when the files cannot be read or understood.
    pub fn new() -> Result<Self, TuningError> {
        let cgroup = cgroup_dir();
        let cpu = cgroup
            .as_ref()
            .and_then(|dir| {
                let cores = parse_cpu_max(&std::fs::read_to_string(dir.join("cpu.max")).ok()?)?;
                let stat = dir.join("cpu.stat");
                stat.exists().then_some(CpuSource::Cgroup { stat, cores })
            })
            .unwrap_or(CpuSource::Machine);
        let memory = cgroup
            .as_ref()
            .and_then(|dir| {
                let limit = parse_memory_max(&std::fs::read_to_string(dir.join("memory.max")).ok()?)?;
                dir.join("memory.current").exists().then(|| MemorySource::Cgroup {
                    dir: dir.clone(),
                    limit,
                })
            })
            .unwrap_or(MemorySource::Machine);
        let since_boot = machine_cpu()?;
        let mut usage = Usage {
            cpu: since_boot.busy / since_boot.total,
            memory: 0.0,
        };
        let cpu_now = match &cpu {
            CpuSource::Machine => since_boot,
            CpuSource::Cgroup { stat, .. } => cgroup_cpu(stat)?,
        };
        let this = SystemResourceUsage {
            cpu,
            memory,
            state: Mutex::new(Sampled {
                at: Instant::now(),
                cpu: cpu_now,
                usage,
            }),
        };
        usage.memory = this.memory_use()?;
        this.state.lock().expect("usage lock").usage = usage;
        Ok(this)
    }

    fn memory_use(&self) -> Result<f64, TuningError> {
        match &self.memory {
            MemorySource::Machine => parse_meminfo(&read("/proc/meminfo")?).map_err(|detail| TuningError::Parse {
                path: "/proc/meminfo".into(),
                detail,
            }),
            MemorySource::Cgroup { dir, limit } => {
                let current = dir.join("memory.current");
                let used = read(&current)?.trim().parse::<u64>().map_err(|e| TuningError::Parse {
                    path: current.display().to_string(),
                    detail: e.to_string(),
                })?;
                // Page cache the kernel reclaims under pressure does not count.
                let reclaimable = std::fs::read_to_string(dir.join("memory.stat"))
                    .ok()
                    .and_then(|s| keyed(&s, "inactive_file"))
                    .unwrap_or(0);
                Ok(used.saturating_sub(reclaimable) as f64 / *limit as f64)
            }
        }
    }

    fn cpu_times(&self) -> Result<CpuTimes, TuningError> {
        match &self.cpu {
            CpuSource::Machine => machine_cpu(),
            CpuSource::Cgroup { stat, .. } => cgroup_cpu(stat),
        }
    }
}

impl ResourceUsage for SystemResourceUsage {
    fn measure(&self) -> Result<Usage, TuningError> {
        let mut state = self.state.lock().expect("usage lock");
        if state.at.elapsed() < SAMPLE_INTERVAL {
            return Ok(state.usage);
        }
        let now = Instant::now();
        let cpu = self.cpu_times()?;
        let busy = match &self.cpu {
            CpuSource::Machine => share(cpu.busy - state.cpu.busy, cpu.total - state.cpu.total),
            // cgroup CPU time in µs, over the µs of wall time the limit's cores had.
            CpuSource::Cgroup { cores, .. } => {
                let wall = now.duration_since(state.at).as_micros() as f64 * cores;
                share(cpu.busy - state.cpu.busy, wall)
            }
        };
        let usage = Usage {
            cpu: busy,
            memory: self.memory_use()?,
        };
        *state = Sampled { at: now, cpu, usage };
        Ok(usage)
    }
}

/// `part / whole` within 0..=1 (0 when nothing passed).
fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn read(path: impl AsRef<Path>) -> Result<String, TuningError> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|source| TuningError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn machine_cpu() -> Result<CpuTimes, TuningError> {
    parse_proc_stat(&read("/proc/stat")?).map_err(|detail| TuningError::Parse {
        path: "/proc/stat".into(),
        detail,
    })
}

fn cgroup_cpu(stat: &Path) -> Result<CpuTimes, TuningError> {
    let usec = keyed(&read(stat)?, "usage_usec").ok_or_else(|| TuningError::Parse {
        path: stat.display().to_string(),
        detail: "no usage_usec".into(),
    })?;
    Ok(CpuTimes {
        busy: usec as f64,
        total: 0.0,
    })
}

/// The process's cgroup v2 directory, when there is one with its files: the path of the
/// `0::` line of `/proc/self/cgroup` under `/sys/fs/cgroup`, else (a container that mounts
/// its own cgroup there) `/sys/fs/cgroup` itself.
fn cgroup_dir() -> Option<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let own = std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(|p| root.join(p.trim_start_matches('/')))
    });
    [own, Some(root.to_path_buf())]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("cgroup.controllers").exists())
}

/// The machine's busy and total time from the `cpu` line of `/proc/stat` (user, nice,
/// system, idle, iowait, irq, softirq, steal; idle and iowait are not busy).
fn parse_proc_stat(text: &str) -> Result<CpuTimes, String> {
    let line = text.lines().find(|l| l.starts_with("cpu ")).ok_or("no cpu line")?;
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse::<f64>().map_err(|e| format!("{f:?}: {e}")))
        .collect::<Result<_, _>>()?;
    if fields.len() < 5 {
        return Err(format!("too few fields in {line:?}"));
    }
    let total: f64 = fields.iter().sum();
    let idle = fields[3] + fields[4];
    Ok(CpuTimes {
        busy: total - idle,
        total,
    })
}

/// The share of memory in use from `/proc/meminfo`: 1 − `MemAvailable` / `MemTotal`.
fn parse_meminfo(text: &str) -> Result<f64, String> {
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .ok_or_else(|| format!("no {key}"))
    };
    let total = kib("MemTotal")?;
    let available = kib("MemAvailable")?;
    Ok(1.0 - share(available, total))
}

/// The cores a cgroup's `cpu.max` (`"<quota> <period>"` or `"max <period>"`) allows; `None`
/// when unlimited.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut parts = text.split_whitespace();
    let quota = parts.next()?.parse::<f64>().ok()?;
    let period = parts.next()?.parse::<f64>().ok()?;
    (quota > 0.0 && period > 0.0).then_some(quota / period)
}

/// A cgroup's `memory.max` in bytes; `None` when unlimited (`max`).
fn parse_memory_max(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|n| *n > 0)
}

/// The value of `key` in a `key value` per line file (`cpu.stat`, `memory.stat`).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_counts_idle_and_iowait_as_not_busy() {
        let text = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1\n";
        let t = parse_proc_stat(text).unwrap();
        assert_eq!(t.total, 1000.0);
        assert_eq!(t.busy, 160.0);
        assert!(parse_proc_stat("intr 1\n").is_err());
        assert!(parse_proc_stat("cpu  1 x 3 4 5\n").is_err());
    }

    #[test]
    fn meminfo_uses_available_memory() {
        let text = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n";
        assert_eq!(parse_meminfo(text).unwrap(), 0.75);
        assert!(parse_meminfo("MemTotal: 10 kB\n").is_err());
    }

    #[test]
    fn cgroup_limits_are_read_and_unlimited_is_none() {
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2.0));
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_memory_max("536870912\n"), Some(536_870_912));
        assert_eq!(parse_memory_max("max\n"), None);
        let stat = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n";
        assert_eq!(keyed(stat, "usage_usec"), Some(123_456));
        assert_eq!(keyed(stat, "nr_periods"), None);
    }

    #[test]
    fn this_machine_is_measured_within_bounds() {
        let usage = SystemResourceUsage::new().expect("readable on Linux");
        let first = usage.measure().unwrap();
        for v in [first.cpu, first.memory] {
            assert!((0.0..=1.0).contains(&v), "{first:?} from {usage:?}");
        }
        // Memory in use is never nothing on a running machine.
        assert!(first.memory > 0.0, "{first:?}");
    }
}
