//! What a worker does when its run cache pushes a run out to make room: it tells the server to
//! send the run's next task to the normal queue (`ResetStickyTaskQueue`), as Temporal's Go SDK
//! does. That task then carries the run's full history, so whichever worker takes it replays
//! without fetching the history first, and it waits for any worker of the task queue instead of
//! the sticky queue of one that no longer holds the run.
//!
//! Runs that leave the cache otherwise need no call: a finished run has no next task, and a run
//! dropped because its task failed or its answer was refused has its stickiness cleared by the
//! server with that failure.

use super::run_cache::Evictions;
use crate::client::Client;
use crate::client::proto::common::WorkflowExecution;
use crate::client::proto::workflowservice::ResetStickyTaskQueueRequest;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};

/// `ResetStickyTaskQueue` calls in flight at once: evictions come in bursts when the cache is
/// full and new runs keep arriving, and each call is small.
const RESETS_IN_FLIGHT: usize = 8;

/// Where the run cache announces its evictions, and the tokio task that answers each with a
/// `ResetStickyTaskQueue` call until the worker shuts down (its `ShutdownWorker` then moves
/// every run of its sticky queue at once).
pub(super) fn start(client: Client, mut shutdown: watch::Receiver<bool>) -> Evictions {
    let (evictions, mut evicted) = mpsc::unbounded_channel::<WorkflowExecution>();
    tokio::spawn(async move {
        let namespace = client.namespace().to_string();
        let resets =
            futures::stream::poll_fn(|cx| evicted.poll_recv(cx)).for_each_concurrent(RESETS_IN_FLIGHT, |execution| {
                let (client, namespace) = (&client, namespace.clone());
                async move { reset(client, namespace, execution).await }
            });
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => {}
            _ = resets => {}
        }
    });
    evictions
}

/// One run's reset. A failed one costs only a history fetch later (the run's next task comes
/// to the sticky queue without the whole history), so it is logged, not retried.
async fn reset(client: &Client, namespace: String, execution: WorkflowExecution) {
    let (workflow_id, run_id) = (execution.workflow_id.clone(), execution.run_id.clone());
    let request = ResetStickyTaskQueueRequest {
        namespace,
        execution: Some(execution),
    };
    let result = client
        .call(
            request,
            None,
            |mut s, r| async move { s.reset_sticky_task_queue(r).await },
        )
        .await;
    match result {
        Ok(_) => tracing::debug!(%workflow_id, %run_id, "evicted run's next task sent to the normal queue"),
        // The run has closed since: it has no next task.
        Err(e) if e.status.code() == tonic::Code::NotFound => {}
        Err(e) => tracing::warn!(
            %workflow_id, %run_id, error = %e.status.message(),
            "ResetStickyTaskQueue for an evicted run failed; its next task will fetch the history"
        ),
    }
}
