//! Task slots at run time: a slot is held by each running task (and by each poll waiting for
//! one), handed out by the kind's [`SlotSupplier`](super::SlotSupplier).

use super::ResourceTuner;
use super::SlotSupplier;
use super::resource::{Admission, Held, ResourceSlotOptions, admission};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::time::Instant;

/// The slots of one kind of task (shared by clones).
#[derive(Clone)]
pub(crate) struct Slots {
    shared: Arc<Shared>,
    /// Slots held through this handle, when it stands for a class of askers (see
    /// [`Slots::class`]).
    class: Option<Arc<AtomicUsize>>,
}

struct Shared {
    policy: Policy,
    /// Slots in use; every release is a change waiters see.
    used: watch::Sender<usize>,
    /// When the last resource-based slot was handed out.
    last_issued: Mutex<Option<Instant>>,
}

enum Policy {
    Fixed(usize),
    Resource(ResourceTuner, ResourceSlotOptions),
}

/// A slot: released when dropped.
pub(crate) struct SlotPermit {
    shared: Arc<Shared>,
    class: Option<Arc<AtomicUsize>>,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        if let Some(class) = &self.class {
            class.fetch_sub(1, Ordering::Relaxed);
        }
        self.shared.used.send_modify(|used| *used -= 1);
    }
}

/// Slots that are not kept alive by their observer (the metrics' gauges).
#[cfg(feature = "metrics")]
pub(crate) struct WeakSlots(std::sync::Weak<Shared>);

#[cfg(feature = "metrics")]
impl WeakSlots {
    /// Slots in use and, when there is a fixed number, that number; `None` once the slots
    /// are gone.
    pub(crate) fn used_of(&self) -> Option<(usize, Option<usize>)> {
        let shared = self.0.upgrade()?;
        let used = *shared.used.borrow();
        Some((used, shared.capacity()))
    }
}

#[cfg(feature = "metrics")]
impl Shared {
    fn capacity(&self) -> Option<usize> {
        match self.policy {
            Policy::Fixed(n) => Some(n),
            Policy::Resource(..) => None,
        }
    }
}

impl Slots {
    /// Slots as `supplier` hands them out.
    pub(crate) fn new(supplier: &SlotSupplier) -> Self {
        let policy = match supplier {
            SlotSupplier::Fixed(n) => Policy::Fixed(*n),
            SlotSupplier::ResourceBased(r) => Policy::Resource(r.tuner.clone(), r.options),
        };
        Slots {
            shared: Arc::new(Shared {
                policy,
                used: watch::Sender::new(0),
                last_issued: Mutex::new(None),
            }),
            class: None,
        }
    }

    /// A handle on the same slots for one class of askers (a workflow worker's sticky or
    /// normal queue): resource-based slots give a class holding none its first slot whatever
    /// the use.
    pub(crate) fn class(&self) -> Slots {
        Slots {
            shared: self.shared.clone(),
            class: Some(Arc::new(AtomicUsize::new(0))),
        }
    }

    /// A slot now, if one is free.
    pub(crate) fn try_acquire(&self) -> Option<SlotPermit> {
        match self.offer() {
            Admission::Admit => Some(self.issued()),
            Admission::WhenReleased | Admission::RetryIn(_) => None,
        }
    }

    /// A slot, once one is free.
    pub(crate) async fn acquire(&self) -> SlotPermit {
        loop {
            // Subscribed before asking, so a release between the refusal and the wait is seen.
            let mut released = self.shared.used.subscribe();
            match self.offer() {
                Admission::Admit => return self.issued(),
                Admission::WhenReleased => {
                    let _ = released.changed().await;
                }
                Admission::RetryIn(after) => {
                    tokio::select! {
                        _ = released.changed() => {}
                        _ = tokio::time::sleep(after) => {}
                    }
                }
            }
        }
    }

    /// Waits until no slot is in use.
    pub(crate) async fn all_released(&self) {
        let mut used = self.shared.used.subscribe();
        let _ = used.wait_for(|u| *u == 0).await;
    }

    /// Slots in use.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        *self.shared.used.borrow()
    }

    /// A handle that does not keep the slots alive.
    #[cfg(feature = "metrics")]
    pub(crate) fn downgrade(&self) -> WeakSlots {
        WeakSlots(Arc::downgrade(&self.shared))
    }

    /// Decides, and on `Admit` counts the slot as used (atomically with the decision).
    fn offer(&self) -> Admission {
        let class_used = self.class.as_ref().map(|c| c.load(Ordering::Relaxed));
        match &self.shared.policy {
            Policy::Fixed(max) => {
                let max = *max;
                let taken = self.shared.used.send_if_modified(|used| {
                    let free = *used < max;
                    if free {
                        *used += 1;
                    }
                    free
                });
                if taken {
                    Admission::Admit
                } else {
                    Admission::WhenReleased
                }
            }
            Policy::Resource(tuner, options) => {
                let held = self.held(class_used);
                // Measured outside the lock, and only when the decision depends on it.
                let mut depends = false;
                admission(options, held, || {
                    depends = true;
                    true
                });
                let room = depends.then(|| tuner.has_room());
                let mut decided = Admission::WhenReleased;
                self.shared.used.send_if_modified(|used| {
                    // Decided again on the count as it is now; a decision that has come to
                    // depend on a use not measured is asked again shortly.
                    let mut last = self.shared.last_issued.lock().expect("slots lock");
                    let now = Held {
                        used: *used,
                        class_used,
                        since_last: last.map(|at| at.elapsed()),
                    };
                    decided = admission(options, now, || room.unwrap_or(false));
                    let admit = decided == Admission::Admit;
                    if admit {
                        *used += 1;
                        *last = Some(Instant::now());
                    }
                    admit
                });
                decided
            }
        }
    }

    fn held(&self, class_used: Option<usize>) -> Held {
        let last = *self.shared.last_issued.lock().expect("slots lock");
        Held {
            used: *self.shared.used.borrow(),
            class_used,
            since_last: last.map(|at| at.elapsed()),
        }
    }

    /// The permit of a slot just counted as used.
    fn issued(&self) -> SlotPermit {
        if let Some(class) = &self.class {
            class.fetch_add(1, Ordering::Relaxed);
        }
        SlotPermit {
            shared: self.shared.clone(),
            class: self.class.clone(),
        }
    }
}
