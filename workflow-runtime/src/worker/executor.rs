//! Where workflow code runs. With a server, on the workflow thread: jobs come in over a channel
//! from the async side, and a watchdog replaces the thread when workflow code stops yielding.
//! With the in-process test environment on a current-thread runtime, on the runtime's own
//! thread (inline): no thread hop per task, which halves the time of a test's workflow tasks.

use super::WorkerError;
use super::run_cache::{Evictions, Factories, RunCache, TaskOutcome};
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
    Task(Arc<ws::PollWorkflowTaskQueueResponse>, Part),
    ResolveLocal(String, LocalActivityResult),
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

/// A job and where its answer goes (evictions have none).
type Sent = (Job, Option<oneshot::Sender<TaskOutcome>>);

struct Thread {
    jobs: std::sync::mpsc::Sender<Sent>,
    clock: Arc<PollClock>,
    handle: std::thread::JoinHandle<()>,
}

/// Where an executor runs workflow code.
enum Place {
    /// The workflow thread (the current one; replaced when workflow code stops yielding).
    Thread(Mutex<Option<Thread>>),
    /// The thread that asks, in a run cache of that thread's own.
    Inline(Inline),
}

/// Hands workflow tasks to the place workflow code runs, and watches it.
pub(super) struct Executor {
    place: Place,
    factories: Factories,
    settings: RunSettings,
    cache_size: usize,
    namespace: String,
    name: String,
    deadlock_timeout: Duration,
    metrics: super::metrics::WorkerMetrics,
    evictions: Option<Evictions>,
}

/// Does one job on a run cache: what the workflow thread does with each job it receives, and
/// the inline executor with each call. Lets go of the task before answering, so the caller
/// gets it back without a copy.
fn perform(engine: &mut RunCache, metrics: &super::metrics::WorkerMetrics, job: Job) -> Option<TaskOutcome> {
    let outcome = match job {
        Job::Task(task, Part::Earlier) => Some(engine.process_part(&task)),
        Job::Task(task, Part::Last) => {
            let replay_started = engine.replay_started(&task);
            Some(metrics.engine_task(&task, replay_started, |task| engine.process(task)))
        }
        Job::ResolveLocal(run_id, result) => Some(engine.resolve_local(&run_id, result)),
        Job::Evict(run_id) => {
            engine.evict(&run_id);
            None
        }
    };
    metrics.cache_size(engine.cached_runs());
    outcome
}

impl Executor {
    /// An executor that runs workflow code on a workflow thread, or, when `inline`, on the
    /// thread that hands it each task (only for a runtime whose tasks all run on one thread).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start(
        name: String,
        factories: Factories,
        settings: RunSettings,
        cache_size: usize,
        namespace: String,
        deadlock_timeout: Duration,
        metrics: super::metrics::WorkerMetrics,
        evictions: Option<Evictions>,
        inline: bool,
    ) -> Result<Self, WorkerError> {
        let mut executor = Executor {
            place: Place::Thread(Mutex::new(None)),
            factories,
            settings,
            cache_size,
            namespace,
            name,
            deadlock_timeout,
            metrics,
            evictions,
        };
        executor.place = if inline {
            Place::Inline(Inline::start(&executor.name, deadlock_timeout)?)
        } else {
            Place::Thread(Mutex::new(Some(executor.spawn_thread()?)))
        };
        Ok(executor)
    }

    /// Makes an empty run cache: what it takes is sent to the thread that is to own it.
    fn cache_maker(&self) -> impl FnOnce() -> RunCache + Send + 'static {
        let (factories, settings) = (self.factories.clone(), self.settings.clone());
        let (cache_size, namespace, metrics) = (self.cache_size, self.namespace.clone(), self.metrics.clone());
        let evictions = self.evictions.clone();
        move || {
            let mut engine = RunCache::new(factories, settings, cache_size, namespace);
            engine.metrics = metrics;
            engine.evictions = evictions;
            engine
        }
    }

    fn spawn_thread(&self) -> Result<Thread, WorkerError> {
        let (jobs, rx) = std::sync::mpsc::channel::<Sent>();
        let clock = PollClock::new();
        let thread_clock = clock.clone();
        let make_cache = self.cache_maker();
        let metrics = self.metrics.clone();
        let handle = std::thread::Builder::new()
            .name(format!("workflows-{}", self.name))
            .spawn(move || {
                let _clock = thread_clock.install();
                let mut engine = make_cache();
                while let Ok((job, reply)) = rx.recv() {
                    let outcome = perform(&mut engine, &metrics, job);
                    if let (Some(reply), Some(outcome)) = (reply, outcome) {
                        let _ = reply.send(outcome);
                    }
                }
                tracing::debug!(cached = engine.cached_runs(), "workflow thread stopped");
            })
            .map_err(|e| WorkerError::WorkflowThread(e.to_string()))?;
        Ok(Thread { jobs, clock, handle })
    }

    /// The workflow thread's job queue and clock; `None` once it stopped.
    fn thread(current: &Mutex<Option<Thread>>) -> Option<(std::sync::mpsc::Sender<Sent>, Arc<PollClock>)> {
        let current = current.lock().expect("executor lock");
        let thread = current.as_ref()?;
        Some((thread.jobs.clone(), thread.clock.clone()))
    }

    /// Processes a task on the workflow thread. If workflow code stops yielding for longer
    /// than the deadlock timeout, that run's task fails with a message naming it, the thread
    /// is abandoned (its cache with it), and tasks queued behind it move to a new thread.
    /// The thread drops its share of `task` before it answers. `part` says whether the task
    /// carries an earlier part of its history ([`TaskOutcome::Replaying`] answers it) or the
    /// last.
    pub(super) async fn run(&self, task: Arc<ws::PollWorkflowTaskQueueResponse>, part: Part) -> Option<TaskOutcome> {
        let current = match &self.place {
            Place::Inline(inline) => return inline.perform(self, Job::Task(task, part)),
            Place::Thread(current) => current,
        };
        let run_id = task
            .workflow_execution
            .as_ref()
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        loop {
            let (jobs, clock) = Self::thread(current)?;
            let (tx, mut rx) = oneshot::channel();
            jobs.send((Job::Task(task.clone(), part), Some(tx))).ok()?;
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
                self.abandon(current, &clock);
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
    fn abandon(&self, current: &Mutex<Option<Thread>>, clock: &Arc<PollClock>) {
        let mut current = current.lock().expect("executor lock");
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
        let job = Job::ResolveLocal(run_id, result);
        let current = match &self.place {
            Place::Inline(inline) => return inline.perform(self, job),
            Place::Thread(current) => current,
        };
        let (jobs, _) = Self::thread(current)?;
        let (tx, rx) = oneshot::channel();
        jobs.send((job, Some(tx))).ok()?;
        rx.await.ok()
    }

    pub(super) fn evict(&self, run_id: String) {
        match &self.place {
            Place::Inline(inline) => {
                inline.perform(self, Job::Evict(run_id));
            }
            Place::Thread(current) => {
                if let Some((jobs, _)) = Self::thread(current) {
                    let _ = jobs.send((Job::Evict(run_id), None));
                }
            }
        }
    }

    /// Stops the thread after the jobs already sent (inline: drops this thread's runs).
    pub(super) async fn stop(&self) -> Result<(), WorkerError> {
        let current = match &self.place {
            Place::Inline(inline) => {
                inline.stop();
                return Ok(());
            }
            Place::Thread(current) => current,
        };
        let Some(thread) = current.lock().expect("executor lock").take() else {
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

/// Runs workflow code on the thread that hands it each job: the test environment's worker on a
/// current-thread runtime, where all of the worker's tasks run on the one thread that drives
/// the runtime. Each thread keeps its own run cache per executor: a runtime driven from another
/// thread later starts there with an empty cache, and a run's next task replays its history, as
/// after an eviction. Workflow code that never yields cannot be taken off the thread it holds;
/// a watchdog thread reports it (an error naming the run) once it passes the deadlock timeout.
struct Inline {
    /// This executor's cache in each thread's [`INLINE_CACHES`].
    key: u64,
    clock: Arc<PollClock>,
    /// Dropped with the executor, which ends the watchdog.
    _watchdog: std::sync::mpsc::Sender<()>,
}

/// Run caches of inline executors, by executor, on this thread.
#[derive(Default)]
struct InlineCaches(std::collections::HashMap<u64, RunCache>);

impl Drop for InlineCaches {
    fn drop(&mut self) {
        // At thread exit other thread-locals (the tracing dispatcher, tokio's context) may be
        // gone, and dropping a run's futures could reach them: what is left here when the
        // thread ends (an executor never stopped nor dropped on it) is left to the process.
        for (_, cache) in self.0.drain() {
            std::mem::forget(cache);
        }
    }
}

thread_local! {
    static INLINE_CACHES: std::cell::RefCell<InlineCaches> = std::cell::RefCell::default();
}

static NEXT_INLINE_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Inline {
    fn start(name: &str, deadlock_timeout: Duration) -> Result<Inline, WorkerError> {
        let clock = PollClock::new();
        let watched = clock.clone();
        let (watchdog, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name(format!("watchdog-{name}"))
            .spawn(move || {
                let mut reported = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(WATCHDOG_TICK) {
                    match watched.busy() {
                        Some((busy, run)) if busy >= deadlock_timeout && reported.as_ref() != Some(&run) => {
                            let (workflow_type, workflow_id, _) = run.clone();
                            let error = TaskError::Busy {
                                workflow_type,
                                workflow_id,
                                detail: format!(
                                    "one poll of its code has run for more than {deadlock_timeout:?} without waiting on \
                                     the workflow context, on the thread of a current-thread runtime, which it holds \
                                     (an endless loop, blocking I/O or a blocking lock in workflow code?); on a \
                                     multi-thread runtime its task would fail instead"
                                ),
                            };
                            tracing::error!(error = %error, "workflow code does not yield");
                            reported = Some(run);
                        }
                        None => reported = None,
                        Some(_) => {}
                    }
                }
            })
            .map_err(|e| WorkerError::WorkflowThread(e.to_string()))?;
        Ok(Inline {
            key: NEXT_INLINE_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            clock,
            _watchdog: watchdog,
        })
    }

    fn perform(&self, executor: &Executor, job: Job) -> Option<TaskOutcome> {
        // Taken out while workflow code runs, so nothing it drops or calls meets a borrowed map.
        let mut engine = INLINE_CACHES
            .with(|caches| caches.borrow_mut().0.remove(&self.key))
            .unwrap_or_else(|| executor.cache_maker()());
        let outcome = {
            let _clock = self.clock.install();
            perform(&mut engine, &executor.metrics, job)
        };
        INLINE_CACHES.with(|caches| caches.borrow_mut().0.insert(self.key, engine));
        outcome
    }

    /// Drops this thread's runs of this executor.
    fn stop(&self) {
        let engine = INLINE_CACHES
            .try_with(|caches| caches.borrow_mut().0.remove(&self.key))
            .ok()
            .flatten();
        drop(engine);
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        self.stop();
    }
}
