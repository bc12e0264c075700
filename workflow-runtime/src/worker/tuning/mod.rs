//! Worker tuning: how many long polls a worker keeps open ([`PollerBehavior`]), how many tasks
//! of each kind it runs at once ([`SlotSupplier`], fixed or following CPU and memory use through
//! a [`ResourceTuner`]), and how fast it starts activities
//! ([`WorkerOptions::max_activities_per_second`](super::WorkerOptions::max_activities_per_second)).
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! use workflow_runtime::worker::tuning::{PollerBehavior, ResourceTuner};
//! # fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
//! // Admit work while the machine is under 80 % CPU and 70 % memory use.
//! let tuner = ResourceTuner::new(0.8, 0.7)?;
//! let worker = Worker::builder(client, "orders")
//!     // .workflow::<OrderWorkflow>().activity(charge_card)
//!     .resource_based_slots(&tuner)
//!     .activity_pollers(PollerBehavior::autoscaling())
//!     .max_activities_per_second(50.0)
//!     .build()?;
//! # Ok(()) }
//! ```

mod rate;
mod resource;
mod scaler;
mod slots;
mod system;

pub(crate) use rate::RateLimiter;
pub use resource::{ResourceSlotOptions, ResourceTuner, ResourceUsage, Usage};
pub(crate) use scaler::{PollOutcome, PollScaler};
pub(crate) use slots::{SlotPermit, Slots};
pub use system::SystemResourceUsage;

#[cfg(test)]
mod tests;

/// How many long polls a worker keeps open on one task queue (each waits for a free task slot
/// first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollerBehavior {
    /// Always this many polls at once.
    SimpleMaximum(usize),
    /// Between `minimum` and `maximum` polls, starting with `initial`, moved as the official
    /// SDKs move theirs: by the server's suggestion when a poll's answer carries one
    /// (`poller_scaling_decision`), a suggestion to poll more only while tasks come in at
    /// least 10 % faster than in the 100 ms before (else the worker, not its polls, is what
    /// limits it); one fewer after a poll comes back empty, once the server has made any
    /// suggestion. A poll the server refuses as overloaded (`RESOURCE_EXHAUSTED`) halves the
    /// count; another failed poll removes one. While above `minimum`, polls ask the server to
    /// answer within 10 s rather than the usual minute, so pollers added for a burst come
    /// back, empty, soon after it ends.
    Autoscaling {
        /// The fewest polls kept open.
        minimum: usize,
        /// The most polls kept open.
        maximum: usize,
        /// The polls opened at start.
        initial: usize,
    },
}

impl PollerBehavior {
    /// Autoscaling between 1 and 100 polls, starting with 5.
    pub const fn autoscaling() -> Self {
        PollerBehavior::Autoscaling {
            minimum: 1,
            maximum: 100,
            initial: 5,
        }
    }

    /// Why these settings cannot work, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        match *self {
            PollerBehavior::SimpleMaximum(0) => Some("must be at least 1".into()),
            PollerBehavior::SimpleMaximum(_) => None,
            PollerBehavior::Autoscaling {
                minimum,
                maximum,
                initial,
            } => (minimum == 0 || minimum > initial || initial > maximum).then(|| {
                format!(
                    "autoscaling needs 1 <= minimum <= initial <= maximum \
                     (minimum {minimum}, initial {initial}, maximum {maximum})"
                )
            }),
        }
    }
}

impl From<usize> for PollerBehavior {
    /// A fixed number of polls.
    fn from(n: usize) -> Self {
        PollerBehavior::SimpleMaximum(n)
    }
}

/// How a worker decides whether it may start one more task of a kind (a workflow task, an
/// activity attempt, a local activity attempt): each running task holds a slot.
#[derive(Debug, Clone)]
pub enum SlotSupplier {
    /// At most this many at once.
    Fixed(usize),
    /// As many as the machine has room for: see [`ResourceTuner`].
    ResourceBased(ResourceBasedSlots),
}

impl From<usize> for SlotSupplier {
    /// A fixed number of slots.
    fn from(n: usize) -> Self {
        SlotSupplier::Fixed(n)
    }
}

impl SlotSupplier {
    /// Why these settings cannot work, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        match self {
            SlotSupplier::Fixed(0) => Some("must be at least 1".into()),
            SlotSupplier::Fixed(_) => None,
            SlotSupplier::ResourceBased(r) => r.options.problem(),
        }
    }
}

/// Slots of one kind handed out by a [`ResourceTuner`], with that kind's
/// [`ResourceSlotOptions`] (made by [`ResourceTuner::slots`] and its siblings).
#[derive(Clone)]
pub struct ResourceBasedSlots {
    pub(crate) tuner: ResourceTuner,
    pub(crate) options: ResourceSlotOptions,
}

impl std::fmt::Debug for ResourceBasedSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceBasedSlots")
            .field("tuner", &self.tuner)
            .field("options", &self.options)
            .finish()
    }
}

/// Why a [`ResourceTuner`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    /// A target use is not a fraction in (0, 1].
    #[error("the target {resource} use must be more than 0 and at most 1, not {value}")]
    Target {
        /// `"CPU"` or `"memory"`.
        resource: &'static str,
        /// The value given.
        value: f64,
    },
    /// A file the measurement reads could not be read.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file the measurement reads did not hold what it should.
    #[error("could not understand {path}: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
}
