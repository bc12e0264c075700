//! The workflow thread: the one place workflow code runs. Jobs come in over a channel from the
//! async side; a watchdog replaces the thread when workflow code stops yielding.

use super::WorkerError;
use super::run_cache::{Factories, RunCache, TaskOutcome};
use crate::client::failure::Failure;
use crate::client::proto::enums::WorkflowTaskFailedCause;
use crate::client::proto::workflowservice as ws;
use crate::engine::run::RunSettings;
use crate::engine::watchdog::PollClock;
use crate::workflow::TaskError;
use crate::workflow::local_activity::LocalActivityResult;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How often a waiting task checks on the workflow thread.
const WATCHDOG_TICK: Duration = Duration::from_millis(100);

enum Job {
    /// Shared, not copied: a task of a run that is not cached carries its whole history.
    Task(
        Arc<ws::PollWorkflowTaskQueueResponse>,
        Part,
        oneshot::Sender<TaskOutcome>,
    ),
    ResolveLocal(String, LocalActivityResult, oneshot::Sender<TaskOutcome>),
    Evict(String),
}

/// Which part of a task's history a job carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// Events of a long history whose later pages are still to come.
    Earlier,
    /// The rest of the history (all of it, for most tasks): the task is answered.
    Last,
}

struct Thread {
    jobs: std::sync::mpsc::Sender<Job>,
    clock: Arc<PollClock>,
    handle: std::thread::JoinHandle<()>,
}

/// Hands workflow tasks to the workflow thread and watches it.
pub(super) struct Executor {
    current: Mutex<Option<Thread>>,
    factories: Factories,
    settings: RunSettings,
    cache_size: usize,
    namespace: String,
    name: String,
    deadlock_timeout: Duration,
    metrics: super::metrics::WorkerMetrics,
}

impl Executor {
    pub(super) fn start(
        name: String,
        factories: Factories,
        settings: RunSettings,
        cache_size: usize,
        namespace: String,
        deadlock_timeout: Duration,
        metrics: super::metrics::WorkerMetrics,
    ) -> Result<Self, WorkerError> {
        let executor = Executor {
            current: Mutex::new(None),
            factories,
            settings,
            cache_size,
            namespace,
            name,
            deadlock_timeout,
            metrics,
        };
        *executor.current.lock().expect("executor lock") = Some(executor.spawn_thread()?);
        Ok(executor)
    }

    fn spawn_thread(&self) -> Result<Thread, WorkerError> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let clock = PollClock::new();
        let thread_clock = clock.clone();
        let (factories, cache_size, namespace) = (self.factories.clone(), self.cache_size, self.namespace.clone());
        let metrics = self.metrics.clone();
        let settings = self.settings.clone();
        let handle = std::thread::Builder::new()
            .name(format!("workflows-{}", self.name))
            .spawn(move || {
                thread_clock.install();
                let mut engine = RunCache::new(factories, settings, cache_size, namespace);
                engine.metrics = metrics.clone();
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Task(task, Part::Earlier, reply) => {
                            let outcome = engine.process_part(&task);
                            drop(task);
                            let _ = reply.send(outcome);
                        }
                        Job::Task(task, Part::Last, reply) => {
                            let replay_started = engine.replay_started(&task);
                            let outcome = metrics.engine_task(&task, replay_started, |task| engine.process(task));
                            // Let go of the task before answering, so the caller gets it back
                            // without a copy.
                            drop(task);
                            let _ = reply.send(outcome);
                        }
                        Job::ResolveLocal(run_id, result, reply) => {
                            let _ = reply.send(engine.resolve_local(&run_id, result));
                        }
                        Job::Evict(run_id) => engine.evict(&run_id),
                    }
                    metrics.cache_size(engine.cached_runs());
                }
                tracing::debug!(cached = engine.cached_runs(), "workflow thread stopped");
            })
            .map_err(|e| WorkerError::WorkflowThread(e.to_string()))?;
        Ok(Thread { jobs, clock, handle })
    }

    /// Processes a task on the workflow thread. If workflow code stops yielding for longer
    /// than the deadlock timeout, that run's task fails with a message naming it, the thread
    /// is abandoned (its cache with it), and tasks queued behind it move to a new thread.
    /// The thread drops its share of `task` before it answers. `part` says whether the task
    /// carries an earlier part of its history ([`TaskOutcome::Replaying`] answers it) or the
    /// last.
    pub(super) async fn run(&self, task: Arc<ws::PollWorkflowTaskQueueResponse>, part: Part) -> Option<TaskOutcome> {
        let run_id = task
            .workflow_execution
            .as_ref()
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        loop {
            let (jobs, clock) = {
                let current = self.current.lock().expect("executor lock");
                let thread = current.as_ref()?;
                (thread.jobs.clone(), thread.clock.clone())
            };
            let (tx, mut rx) = oneshot::channel();
            jobs.send(Job::Task(task.clone(), part, tx)).ok()?;
            loop {
                tokio::select! {
                    reply = &mut rx => return reply.ok(),
                    _ = tokio::time::sleep(WATCHDOG_TICK) => {}
                }
                let Some((busy, (workflow_type, workflow_id, stuck_run))) = clock.busy() else {
                    continue;
                };
                if busy < self.deadlock_timeout {
                    continue;
                }
                self.abandon(&clock);
                if stuck_run == run_id {
                    let error = TaskError::Busy {
                        workflow_type,
                        workflow_id,
                        detail: format!(
                            "one poll of its code ran for more than {:?} without waiting on the workflow context \
                             (an endless loop, blocking I/O or a blocking lock in workflow code?)",
                            self.deadlock_timeout
                        ),
                    };
                    tracing::error!(error = %error, "workflow code does not yield; its thread is abandoned");
                    return Some(TaskOutcome::Failed {
                        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                        failure: Failure::application(error.to_string(), "WorkflowTaskError"),
                    });
                }
                break; // queued behind the stuck run: send it to the new thread
            }
        }
    }

    /// Replaces the thread that owns `clock` (once, however many tasks notice).
    fn abandon(&self, clock: &Arc<PollClock>) {
        let mut current = self.current.lock().expect("executor lock");
        if current.as_ref().is_some_and(|t| Arc::ptr_eq(&t.clock, clock)) {
            match self.spawn_thread() {
                Ok(fresh) => {
                    // The stuck thread cannot be stopped; it is left to run detached.
                    *current = Some(fresh);
                }
                Err(e) => tracing::error!(error = %e, "could not replace the stuck workflow thread"),
            }
        }
    }

    /// Feeds a local activity's result to its run on the workflow thread.
    pub(super) async fn resolve_local(&self, run_id: String, result: LocalActivityResult) -> Option<TaskOutcome> {
        let jobs = {
            let current = self.current.lock().expect("executor lock");
            current.as_ref()?.jobs.clone()
        };
        let (tx, rx) = oneshot::channel();
        jobs.send(Job::ResolveLocal(run_id, result, tx)).ok()?;
        rx.await.ok()
    }

    pub(super) fn evict(&self, run_id: String) {
        if let Some(thread) = self.current.lock().expect("executor lock").as_ref() {
            let _ = thread.jobs.send(Job::Evict(run_id));
        }
    }

    /// Stops the thread after the jobs already sent.
    pub(super) async fn stop(&self) -> Result<(), WorkerError> {
        let Some(thread) = self.current.lock().expect("executor lock").take() else {
            return Ok(());
        };
        drop(thread.jobs);
        let handle = thread.handle;
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| WorkerError::WorkflowThread(e.to_string()))?
            .map_err(|_| WorkerError::WorkflowThread("the workflow thread panicked".into()))
    }
}
