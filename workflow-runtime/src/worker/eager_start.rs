//! Eager workflow start, the worker's side: a start on this worker's client that asks for it
//! hands the first workflow task here, to run in a free workflow task slot like a polled one.

use super::tuning::SlotPermit;
use super::workflow_tasks::{WorkflowWorkerState, handle_task};
use crate::client::eager::{EagerWorkflowSlot, EagerWorkflowWorker};
use crate::client::proto::deployment::WorkerDeploymentOptions;
use crate::client::proto::workflowservice::PollWorkflowTaskQueueResponse;
use std::sync::{Arc, Weak};

/// Takes eager starts for one workflow worker (registered on its client, weakly: the worker
/// holds it, and dropping the worker ends it).
pub(super) struct EagerIntake {
    worker: Weak<WorkflowWorkerState>,
}

impl EagerIntake {
    /// Registers an intake for `worker`'s task queue on its client.
    pub(super) fn register(worker: &Arc<WorkflowWorkerState>) -> Arc<EagerIntake> {
        let intake = Arc::new(EagerIntake {
            worker: Arc::downgrade(worker),
        });
        let as_worker: Arc<dyn EagerWorkflowWorker> = intake.clone();
        worker
            .client
            .register_eager_worker(&worker.task_queue, Arc::downgrade(&as_worker));
        intake
    }
}

impl EagerWorkflowWorker for EagerIntake {
    fn reserve(&self) -> Option<Box<dyn EagerWorkflowSlot>> {
        let worker = self.worker.upgrade()?;
        if *worker.shutdown.borrow() {
            return None;
        }
        let permit = worker.slots.try_acquire()?;
        Some(Box::new(Slot { worker, permit }))
    }
}

/// A workflow task slot held for an eager start's first task.
struct Slot {
    worker: Arc<WorkflowWorkerState>,
    permit: SlotPermit,
}

impl EagerWorkflowSlot for Slot {
    fn run(self: Box<Self>, task: PollWorkflowTaskQueueResponse) {
        let Slot { worker, permit } = *self;
        tokio::spawn(async move {
            handle_task(&worker, task).await;
            drop(permit);
        });
    }

    fn deployment_options(&self) -> Option<WorkerDeploymentOptions> {
        self.worker.deployment.clone()
    }
}
