//! Eager workflow start: a start asks the server to hand the workflow's first task straight
//! back in its answer, and a worker of this process that polls the task queue runs it — no
//! poll round trip before the workflow's code runs.
//!
//! Workers register here (`workflow-runtime`'s worker does it for every task queue it polls
//! with workflows, on the client it was built with); a start with
//! [`StartOptions::eager`](crate::StartOptions::eager) on the same client uses one when it has a
//! free workflow task slot, and starts normally otherwise.

use crate::proto::deployment::WorkerDeploymentOptions;
use crate::proto::workflowservice::PollWorkflowTaskQueueResponse;
use std::collections::HashMap;
use std::sync::{Mutex, Weak};

/// A worker that can run a workflow's first task handed back by its start.
pub trait EagerWorkflowWorker: Send + Sync + 'static {
    /// A free workflow task slot, held until the task it is given ends; `None` when the worker
    /// is busy or stopping (the start then goes the usual way).
    fn reserve(&self) -> Option<Box<dyn EagerWorkflowSlot>>;
}

/// A reserved workflow task slot of an [`EagerWorkflowWorker`]; dropped unused, it is freed.
pub trait EagerWorkflowSlot: Send {
    /// Runs `task`, the first workflow task the start handed back.
    fn run(self: Box<Self>, task: PollWorkflowTaskQueueResponse);
    /// The deployment version the worker declares, if it has one: the start names it, so that
    /// the server hands the task back only to a worker of the version the run would go to.
    fn deployment_options(&self) -> Option<WorkerDeploymentOptions> {
        None
    }
}

/// The workers of one client that take eager starts, by task queue.
#[derive(Default)]
pub(crate) struct EagerWorkers {
    by_queue: Mutex<HashMap<String, Vec<Weak<dyn EagerWorkflowWorker>>>>,
}

impl EagerWorkers {
    pub(crate) fn register(&self, task_queue: &str, worker: Weak<dyn EagerWorkflowWorker>) {
        let mut by_queue = self.by_queue.lock().unwrap_or_else(|e| e.into_inner());
        let workers = by_queue.entry(task_queue.to_string()).or_default();
        workers.retain(|w| w.strong_count() > 0);
        workers.push(worker);
    }

    /// A free slot of a live worker of `task_queue`, if one has any.
    pub(crate) fn reserve(&self, task_queue: &str) -> Option<Box<dyn EagerWorkflowSlot>> {
        let mut by_queue = self.by_queue.lock().unwrap_or_else(|e| e.into_inner());
        let workers = by_queue.get_mut(task_queue)?;
        workers.retain(|w| w.strong_count() > 0);
        workers.iter().filter_map(Weak::upgrade).find_map(|w| w.reserve())
    }
}
