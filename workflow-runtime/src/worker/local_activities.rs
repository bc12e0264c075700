//! Local activities on the worker's side: each runs on tokio with its retry policy, and its
//! result waits in its run's queue until a workflow task of that run feeds it to the engine.

use super::tuning::Slots;
use crate::activity::{ActivityContext, ActivityError, ActivityInfo};
use crate::client::failure::Failure;
use crate::client::proto::enums::TimeoutType;
use crate::definition::ErasedActivity;
use crate::interceptor::{ActivityInbound, WorkerInterceptor, WorkerInterceptors, intercept_activity};
use crate::workflow::local_activity::{LocalActivityRequest, LocalActivityResult};
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// The local activities of one run: results not yet fed to its workflow code.
pub(super) struct RunLocals {
    tx: mpsc::UnboundedSender<LocalActivityResult>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<LocalActivityResult>>,
}

impl RunLocals {
    /// The next finished local activity of the run.
    pub(super) async fn next(&self) -> Option<LocalActivityResult> {
        self.rx.lock().await.recv().await
    }
}

/// Whose local activities run, and where their results wait.
pub(super) struct LocalActivities {
    activities: Arc<BTreeMap<String, ErasedActivity>>,
    interceptors: WorkerInterceptors,
    runs: Mutex<HashMap<String, Arc<RunLocals>>>,
    /// Held by each attempt while it runs.
    slots: Slots,
}

/// Facts about the run, for the attempt's [`ActivityInfo`].
pub(super) struct RunFacts {
    pub(super) namespace: String,
    pub(super) workflow_id: String,
    pub(super) run_id: String,
    pub(super) workflow_type: String,
    pub(super) task_queue: String,
}

impl LocalActivities {
    pub(super) fn new(
        activities: Arc<BTreeMap<String, ErasedActivity>>,
        interceptors: WorkerInterceptors,
        slots: Slots,
        metrics: &super::metrics::WorkerMetrics,
    ) -> Self {
        metrics.watch_slots(super::metrics::SlotKind::LocalActivity, &slots);
        LocalActivities {
            activities,
            interceptors,
            runs: Mutex::new(HashMap::new()),
            slots,
        }
    }

    /// The queue of run `run_id` (made on first use).
    pub(super) fn run(&self, run_id: &str) -> Arc<RunLocals> {
        let mut runs = self.runs.lock().expect("local activities lock");
        runs.entry(run_id.to_string())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                Arc::new(RunLocals {
                    tx,
                    rx: tokio::sync::Mutex::new(rx),
                })
            })
            .clone()
    }

    /// Forgets a run that waits on nothing any more.
    pub(super) fn forget(&self, run_id: &str) {
        self.runs.lock().expect("local activities lock").remove(run_id);
    }

    /// Starts one local activity; its result goes to the run's queue.
    pub(super) fn start(
        &self,
        facts: &RunFacts,
        request: LocalActivityRequest,
        metrics: &super::metrics::WorkerMetrics,
    ) {
        let queue = self.run(&facts.run_id);
        let activity = self.activities.get(&request.activity_type).cloned();
        let info = ActivityInfo {
            activity_id: request.seq.to_string(),
            activity_type: request.activity_type.clone(),
            attempt: 1,
            workflow_id: facts.workflow_id.clone(),
            run_id: facts.run_id.clone(),
            workflow_type: facts.workflow_type.clone(),
            task_queue: facts.task_queue.clone(),
            scheduled_time: None,
            heartbeat_timeout: None,
            start_to_close_timeout: request.start_to_close_timeout,
            headers: request.headers.clone(),
        };
        let interceptors = self.interceptors.clone();
        let namespace = facts.namespace.clone();
        let known = crate::messages::listed(self.activities.keys().map(String::as_str));
        let la_metrics = metrics.local_activity(&facts.workflow_type, &request.activity_type);
        let slots = self.slots.clone();
        tokio::spawn(async move {
            let scheduled = std::time::SystemTime::now();
            let mut result = match activity {
                Some(activity) => {
                    let attempts = Attempts {
                        activity,
                        interceptors: &interceptors,
                        slots: &slots,
                    };
                    run_with_retries(attempts, &namespace, info, &request).await
                }
                None => LocalActivityResult {
                    seq: request.seq,
                    times: Default::default(),
                    recorded_type: None,
                    attempt: 1,
                    outcome: Err(Failure::application(
                        format!(
                            "activity type `{}` is not registered on this worker; registered: {}",
                            request.activity_type, known
                        ),
                        "UnknownActivityType",
                    )
                    .non_retryable()),
                },
            };
            result.times = crate::workflow::local_activity::MarkerTimes {
                original_schedule: Some(scheduled),
                complete: Some(std::time::SystemTime::now()),
            };
            la_metrics.finished(&result);
            let _ = queue.tx.send(result);
        });
    }
}

/// What runs a local activity's attempts: its code, the interceptors around each attempt, and
/// the slots each attempt holds while it runs (not while it waits to retry).
struct Attempts<'a> {
    activity: ErasedActivity,
    interceptors: &'a [Arc<dyn WorkerInterceptor>],
    slots: &'a Slots,
}

/// Runs the attempts of one local activity until one succeeds or the retry policy or the
/// schedule-to-close timeout says stop.
async fn run_with_retries(
    attempts: Attempts<'_>,
    namespace: &str,
    mut info: ActivityInfo,
    request: &LocalActivityRequest,
) -> LocalActivityResult {
    let Attempts {
        activity,
        interceptors,
        slots,
    } = attempts;
    let started = tokio::time::Instant::now();
    let deadline = request.schedule_to_close_timeout.map(|d| started + d);
    let ended = |attempt, outcome| LocalActivityResult {
        seq: request.seq,
        times: Default::default(),
        recorded_type: None,
        attempt,
        outcome,
    };
    let mut attempt = 1u32;
    loop {
        info.attempt = attempt;
        // A free slot first, within the schedule-to-close timeout.
        let slot = match deadline {
            Some(end) => match tokio::time::timeout_at(end, slots.acquire()).await {
                Ok(slot) => slot,
                Err(_) => {
                    let waited = "local activity timed out waiting for a free local activity slot";
                    return ended(attempt, Err(Failure::timeout(waited, TimeoutType::ScheduleToClose)));
                }
            },
            None => slots.acquire().await,
        };
        let span = tracing::info_span!(
            "local_activity",
            namespace = %namespace,
            activity_type = %info.activity_type,
            seq = request.seq,
            attempt,
            workflow_type = %info.workflow_type,
            workflow_id = %info.workflow_id,
            run_id = %info.run_id,
        );
        let ctx = ActivityContext::new(info.clone(), Vec::new(), Vec::new(), None, None);
        let limit = match (request.start_to_close_timeout, deadline) {
            (Some(t), Some(d)) => Some(t.min(d.saturating_duration_since(tokio::time::Instant::now()))),
            (Some(t), None) => Some(t),
            (None, Some(d)) => Some(d.saturating_duration_since(tokio::time::Instant::now())),
            (None, None) => None,
        };
        let call = ActivityInbound {
            info: info.clone(),
            local: true,
            args: request.input.clone(),
        };
        let attempt_run =
            AssertUnwindSafe(intercept_activity(interceptors, call, |call| activity(ctx, call.args))).catch_unwind();
        let outcome = async {
            match limit {
                Some(limit) => tokio::time::timeout(limit, attempt_run).await.ok(),
                None => Some(attempt_run.await),
            }
        }
        .instrument(span)
        .await;
        drop(slot);
        let failure = match outcome {
            None => Failure::timeout("local activity attempt timed out", TimeoutType::StartToClose),
            Some(Err(panic)) => {
                let message = crate::messages::panic_message(&*panic);
                Failure::application(format!("activity panicked: {message}"), "Panic")
            }
            Some(Ok(Ok(payload))) => return ended(attempt, Ok(Some(payload))),
            Some(Ok(Err(ActivityError::Failed(f)))) => *f,
            Some(Ok(Err(ActivityError::Canceled))) => {
                return ended(attempt, Err(Failure::canceled("local activity canceled")));
            }
            Some(Ok(Err(ActivityError::WillCompleteAsync))) => Failure::application(
                "a local activity cannot complete asynchronously",
                "InvalidLocalActivity",
            )
            .non_retryable(),
        };
        let delay = request.retry_policy.retry_delay(attempt, &failure);
        let too_late = |d: Duration| deadline.is_some_and(|end| tokio::time::Instant::now() + d >= end);
        match delay {
            Some(d) if !too_late(d) => {
                tracing::debug!(seq = request.seq, attempt, error = %failure, ?d, "local activity attempt failed; retrying");
                tokio::time::sleep(d).await;
                attempt += 1;
            }
            _ => return ended(attempt, Err(failure)),
        }
    }
}
