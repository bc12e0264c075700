//! Resource-based slots: a slot beyond the minimum is admitted while the measured CPU and
//! memory use are both under their targets, at most one per ramp throttle interval.

use super::{ResourceBasedSlots, SlotSupplier, SystemResourceUsage, TuningError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a slot request refused for lack of room looks again (the system measurement
/// refreshes its CPU figure at most every 100 ms).
pub(crate) const RECHECK: Duration = Duration::from_millis(20);

/// Resource use as fractions, from 0.0 (none) to 1.0 (all of it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// CPU: 1.0 is every core this process may use busy.
    pub cpu: f64,
    /// Memory: 1.0 is all the memory this process may use taken.
    pub memory: f64,
}

/// A source of [`Usage`] measurements. [`SystemResourceUsage`] reads the machine's (or the
/// container's); tests and other platforms can give their own.
pub trait ResourceUsage: Send + Sync + 'static {
    /// The use now. Called whenever a slot beyond the minimum is asked for, so it should be
    /// cheap (cache a figure that is costly to get).
    fn measure(&self) -> Result<Usage, TuningError>;
}

impl<F> ResourceUsage for F
where
    F: Fn() -> Result<Usage, TuningError> + Send + Sync + 'static,
{
    fn measure(&self) -> Result<Usage, TuningError> {
        self()
    }
}

/// Hands out task slots while the measured CPU and memory use are under targets: the
/// resource-based [`SlotSupplier`]. One tuner is shared by the slot kinds it supplies (and may
/// be shared by several workers of a process), so they all follow the same measurement.
///
/// A request for a slot is granted at once below the kind's
/// [`min_slots`](ResourceSlotOptions::min_slots); beyond that, when fewer than
/// [`max_slots`](ResourceSlotOptions::max_slots) are in use, at least
/// [`ramp_throttle`](ResourceSlotOptions::ramp_throttle) has passed since the kind's last
/// slot, and both CPU and memory use are under their targets. Otherwise it waits (a poller
/// waits before polling) and looks again when a slot is released or 20 ms later. The
/// throttle lets the use of the last admitted tasks show in the measurement before more
/// come in. A measurement that fails (logged once) admits nothing beyond the minimum.
#[derive(Clone)]
pub struct ResourceTuner(Arc<Controller>);

struct Controller {
    target: Usage,
    usage: Box<dyn ResourceUsage>,
    warned: AtomicBool,
}

impl std::fmt::Debug for ResourceTuner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTuner").field("target", &self.0.target).finish()
    }
}

impl ResourceTuner {
    /// A tuner aiming at `target_cpu` and `target_memory` use (fractions in (0, 1]) of this
    /// machine or, in a container with cgroup v2 limits, of the container's share, measured by
    /// [`SystemResourceUsage`]. Fails when a target is out of range or the measurement cannot
    /// be read (it reads `/proc` and `/sys/fs/cgroup`, so Linux only).
    pub fn new(target_cpu: f64, target_memory: f64) -> Result<Self, TuningError> {
        Self::with_usage(target_cpu, target_memory, SystemResourceUsage::new()?)
    }

    /// A tuner aiming at `target_cpu` and `target_memory` use, measured by `usage`.
    pub fn with_usage(target_cpu: f64, target_memory: f64, usage: impl ResourceUsage) -> Result<Self, TuningError> {
        for (resource, value) in [("CPU", target_cpu), ("memory", target_memory)] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(TuningError::Target { resource, value });
            }
        }
        Ok(ResourceTuner(Arc::new(Controller {
            target: Usage {
                cpu: target_cpu,
                memory: target_memory,
            },
            usage: Box::new(usage),
            warned: AtomicBool::new(false),
        })))
    }

    /// The targets this tuner aims at.
    pub fn targets(&self) -> Usage {
        self.0.target
    }

    /// Slots of one kind from this tuner, with `options`.
    pub fn slots(&self, options: ResourceSlotOptions) -> SlotSupplier {
        SlotSupplier::ResourceBased(ResourceBasedSlots {
            tuner: self.clone(),
            options,
        })
    }

    /// Workflow task slots with [`ResourceSlotOptions::WORKFLOW_TASKS`].
    pub fn workflow_task_slots(&self) -> SlotSupplier {
        self.slots(ResourceSlotOptions::WORKFLOW_TASKS)
    }

    /// Activity slots with [`ResourceSlotOptions::ACTIVITIES`].
    pub fn activity_slots(&self) -> SlotSupplier {
        self.slots(ResourceSlotOptions::ACTIVITIES)
    }

    /// Local activity slots with [`ResourceSlotOptions::ACTIVITIES`].
    pub fn local_activity_slots(&self) -> SlotSupplier {
        self.slots(ResourceSlotOptions::ACTIVITIES)
    }

    /// Whether the measured use is under both targets.
    pub(crate) fn has_room(&self) -> bool {
        match self.0.usage.measure() {
            Ok(now) => now.cpu < self.0.target.cpu && now.memory < self.0.target.memory,
            Err(e) => {
                if !self.0.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "resource use cannot be measured; only the minimum slots are handed out");
                }
                false
            }
        }
    }
}

/// How many slots of a kind a [`ResourceTuner`] hands out, and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSlotOptions {
    /// Slots handed out whatever the use.
    pub min_slots: usize,
    /// Slots never exceeded whatever the use.
    pub max_slots: usize,
    /// The least time between two slots handed out beyond the minimum.
    pub ramp_throttle: Duration,
}

impl ResourceSlotOptions {
    /// For workflow tasks: 2 to 10,000 slots, no throttle (workflow tasks are short and
    /// light).
    pub const WORKFLOW_TASKS: ResourceSlotOptions = ResourceSlotOptions {
        min_slots: 2,
        max_slots: 10_000,
        ramp_throttle: Duration::ZERO,
    };

    /// For activities and local activities: 1 to 10,000 slots, at most one new slot per
    /// 50 ms beyond the first.
    pub const ACTIVITIES: ResourceSlotOptions = ResourceSlotOptions {
        min_slots: 1,
        max_slots: 10_000,
        ramp_throttle: Duration::from_millis(50),
    };

    pub(crate) fn problem(&self) -> Option<String> {
        (self.max_slots == 0 || self.min_slots > self.max_slots).then(|| {
            format!(
                "resource-based slots need 1 <= max_slots and min_slots <= max_slots (min {}, max {})",
                self.min_slots, self.max_slots
            )
        })
    }
}

/// What a request for one more slot gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The slot, now.
    Admit,
    /// Nothing until a slot is released.
    WhenReleased,
    /// Nothing now; ask again after this long (or when a slot is released).
    RetryIn(Duration),
}

/// The state a decision is made on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    /// Slots of the kind in use.
    pub(crate) used: usize,
    /// Slots in use by the asker's class (a worker's sticky or normal workflow queue), when
    /// it has one: a class with none gets its first slot below the maximum whatever the use,
    /// so one queue's polls cannot hold every minimum slot and starve the other.
    pub(crate) class_used: Option<usize>,
    /// Time since the kind's last slot was handed out, if one was.
    pub(crate) since_last: Option<Duration>,
}

/// Whether one more slot is handed out; `has_room` measures, and is called only when the
/// decision depends on the use.
pub(crate) fn admission(options: &ResourceSlotOptions, held: Held, has_room: impl FnOnce() -> bool) -> Admission {
    if held.used < options.min_slots {
        return Admission::Admit;
    }
    if held.used >= options.max_slots {
        return Admission::WhenReleased;
    }
    if held.class_used == Some(0) {
        return Admission::Admit;
    }
    if let Some(since) = held.since_last
        && since < options.ramp_throttle
    {
        return Admission::RetryIn(options.ramp_throttle - since);
    }
    if has_room() {
        Admission::Admit
    } else {
        Admission::RetryIn(RECHECK)
    }
}
