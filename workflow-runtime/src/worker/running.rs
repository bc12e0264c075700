//! A worker running in the background of the current tokio runtime.

use super::{ShutdownHandle, Worker, WorkerError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// A worker started with [`Worker::spawn`]: it polls until [`stop`](Self::stop) (or its
/// [`ShutdownHandle`]) stops it.
///
/// ```no_run
/// # use workflow_runtime::prelude::*;
/// # async fn demo(worker: Worker) -> Result<(), workflow_runtime::worker::WorkerError> {
/// let running = worker.spawn();
/// // … start workflows, wait for their results …
/// running.stop().await?;
/// # Ok(()) }
/// ```
#[must_use = "a running worker is stopped with `.stop().await`; dropping this leaves it polling"]
pub struct RunningWorker {
    shutdown: ShutdownHandle,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl RunningWorker {
    /// A handle that stops the worker from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Stops the worker and waits until it has stopped (in-flight tasks end within the
    /// worker's graceful shutdown timeout); returns how [`Worker::run`] ended.
    pub async fn stop(self) -> Result<(), WorkerError> {
        self.shutdown.shutdown();
        match self.task.await {
            Ok(outcome) => outcome,
            Err(e) => Err(WorkerError::Stopped(e.to_string())),
        }
    }

    /// [`stop`](Self::stop), failing with [`WorkerError::StopTimedOut`] when the worker has not
    /// stopped within `bound`.
    pub async fn stop_within(self, bound: Duration) -> Result<(), WorkerError> {
        tokio::time::timeout(bound, self.stop())
            .await
            .map_err(|_| WorkerError::StopTimedOut(bound))?
    }
}

impl Worker {
    /// Runs the worker in the background on the current tokio runtime; the returned handle
    /// stops it.
    ///
    /// Polling starts before this returns: a start asking for eager execution right after
    /// finds the worker.
    pub fn spawn(self) -> RunningWorker {
        let shutdown = self.shutdown_handle();
        let started = self.start();
        RunningWorker {
            shutdown,
            task: tokio::spawn(async move { started?.serve().await }),
        }
    }
}
