//! Activity task pollers and attempts.

use super::WorkerOptions;
use super::polling;
use super::tuning::{PollerBehavior, RateLimiter, SlotPermit, Slots};
use crate::activity::{ActivityContext, ActivityError, ActivityInfo};
use crate::client::headers::Headers;
use crate::client::proto::common::Payloads;
use crate::client::proto::deployment::WorkerDeploymentOptions;
use crate::client::proto::enums::TaskQueueKind;
use crate::client::proto::taskqueue::{TaskQueue, TaskQueueMetadata};
use crate::client::proto::workflowservice as ws;
use crate::client::time::{from_proto_duration, from_timestamp};
use crate::client::{Client, ClientError};
use crate::definition::ErasedActivity;
use crate::interceptor::{ActivityInbound, WorkerInterceptors, intercept_activity};
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

struct ActivityWorkerState {
    client: Client,
    task_queue: String,
    identity: String,
    /// This worker's key on every poll (the server ends its polls when it shuts down).
    instance_key: String,
    /// The deployment version on every poll and answer.
    deployment: Option<WorkerDeploymentOptions>,
    refusals: polling::Refusals,
    activities: Arc<BTreeMap<String, ErasedActivity>>,
    interceptors: WorkerInterceptors,
    slots: Slots,
    pollers: PollerBehavior,
    /// The worker's own limit on activity starts.
    rate: Option<Arc<RateLimiter>>,
    /// The task queue's limit, sent to the server with every poll.
    queue_rate: Option<f64>,
    running: Mutex<HashMap<u64, ActivityContext>>,
    next_id: std::sync::atomic::AtomicU64,
    /// The worker's shutdown signal, which every attempt's context watches.
    shutdown: watch::Receiver<bool>,
    metrics: super::metrics::WorkerMetrics,
}

pub(super) struct ActivityWorker {
    shared: Arc<ActivityWorkerState>,
    poller: JoinHandle<()>,
}

impl ActivityWorker {
    pub(super) fn start(
        client: Client,
        task_queue: String,
        identity: super::WorkerIdentity,
        activities: Arc<BTreeMap<String, ErasedActivity>>,
        interceptors: WorkerInterceptors,
        options: &WorkerOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let shared = Arc::new(ActivityWorkerState {
            client,
            task_queue,
            identity: identity.name,
            instance_key: identity.instance_key,
            deployment: identity.deployment,
            refusals: identity.refusals,
            activities,
            interceptors,
            slots: Slots::new(&options.activity_slots),
            pollers: options.activity_pollers,
            rate: options
                .max_activities_per_second
                .map(|r| Arc::new(RateLimiter::per_second(r))),
            queue_rate: options.max_task_queue_activities_per_second,
            running: Mutex::new(HashMap::new()),
            next_id: Default::default(),
            shutdown: shutdown.clone(),
            metrics: identity.metrics,
        });
        (shared.metrics).watch_slots(super::metrics::SlotKind::Activity, &shared.slots);
        let poller = tokio::spawn(poll_loop(shared.clone(), shutdown));
        ActivityWorker { shared, poller }
    }

    /// A handle that runs activity tasks handed back with a workflow task (eager execution).
    pub(super) fn eager(&self) -> EagerActivities {
        EagerActivities {
            shared: self.shared.clone(),
        }
    }

    /// Waits for running attempts until shortly before `deadline`, then cancels those still
    /// running and waits for their reports until `deadline` at the latest.
    pub(super) async fn finish(self, deadline: tokio::time::Instant) {
        let _ = self.poller.await;
        let slots = &self.shared.slots;
        // The last tenth of the grace period (at most 1 s) is for cancelled attempts to report.
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let cancel_at = deadline - (left / 10).min(Duration::from_secs(1));
        if tokio::time::timeout_at(cancel_at, slots.all_released()).await.is_ok() {
            return;
        }
        let running: Vec<ActivityContext> = self
            .shared
            .running
            .lock()
            .expect("running lock")
            .values()
            .cloned()
            .collect();
        tracing::warn!(
            count = running.len(),
            "activities still running after the grace period; canceling them"
        );
        for ctx in running {
            ctx.cancel();
        }
        if tokio::time::timeout_at(deadline, slots.all_released()).await.is_err() {
            tracing::warn!("activities ignored their cancellation; the worker stops without their results");
        }
    }
}

/// Runs activities whose tasks arrive in the answer to a workflow task instead of through a
/// poll: the workflow worker reserves a slot per activity it asks to run eagerly.
#[derive(Clone)]
pub(super) struct EagerActivities {
    shared: Arc<ActivityWorkerState>,
}

impl EagerActivities {
    /// A slot for an activity of `activity_type` on `task_queue`, if this worker runs it and
    /// has one free.
    pub(super) fn reserve(&self, activity_type: &str, task_queue: &str) -> Option<SlotPermit> {
        if task_queue != self.shared.task_queue || !self.shared.activities.contains_key(activity_type) {
            return None;
        }
        self.shared.slots.try_acquire()
    }

    /// Runs an eagerly dispatched activity task in a reserved slot.
    pub(super) fn run(&self, task: ws::PollActivityTaskQueueResponse, slot: SlotPermit) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            run_attempt(&shared, task).await;
            drop(slot);
        });
    }
}

async fn poll_loop(shared: Arc<ActivityWorkerState>, shutdown: watch::Receiver<bool>) {
    let queue = TaskQueue {
        name: shared.task_queue.clone(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    };
    let metadata = shared.queue_rate.map(|rate| TaskQueueMetadata {
        max_tasks_per_second: Some(rate),
    });
    let poll = |timeout| {
        let request = ws::PollActivityTaskQueueRequest {
            namespace: shared.client.namespace().to_string(),
            task_queue: Some(queue.clone()),
            identity: shared.identity.clone(),
            worker_instance_key: shared.instance_key.clone(),
            task_queue_metadata: metadata,
            deployment_options: shared.deployment.clone(),
            ..Default::default()
        };
        shared.client.call(request, Some(timeout), |mut s, r| async move {
            s.poll_activity_task_queue(r).await
        })
    };
    let handle = |task| {
        let shared = shared.clone();
        async move { run_attempt(&shared, task).await }
    };
    let settings = polling::PollSettings {
        what: "activity task",
        metrics: shared.metrics.poller(super::metrics::PollerKind::Activity),
        slots: shared.slots.clone(),
        pollers: shared.pollers,
        rate: shared.rate.clone(),
        shutdown,
        refusals: shared.refusals.clone(),
    };
    polling::poll_loop(settings, poll, handle).await
}

async fn run_attempt(shared: &ActivityWorkerState, task: ws::PollActivityTaskQueueResponse) {
    let attempt_metrics = shared.metrics.activity_attempt(&task);
    let execution = task.workflow_execution.clone().unwrap_or_default();
    let activity_type = task.activity_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let info = ActivityInfo {
        activity_id: task.activity_id.clone(),
        activity_type: activity_type.clone(),
        attempt: task.attempt.max(1) as u32,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        workflow_type: task.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        task_queue: shared.task_queue.clone(),
        scheduled_time: task.scheduled_time.as_ref().map(from_timestamp),
        heartbeat_timeout: task
            .heartbeat_timeout
            .as_ref()
            .map(from_proto_duration)
            .filter(|d| !d.is_zero()),
        start_to_close_timeout: task
            .start_to_close_timeout
            .as_ref()
            .map(from_proto_duration)
            .filter(|d| !d.is_zero()),
        headers: Headers::from(&task.header),
    };
    let span = tracing::info_span!(
        "activity",
        namespace = %shared.client.namespace(),
        activity_type = %info.activity_type,
        activity_id = %info.activity_id,
        attempt = info.attempt,
        workflow_type = %info.workflow_type,
        workflow_id = %info.workflow_id,
        run_id = %info.run_id,
    );
    async {
        let dc = shared.client.data_converter();
        let decoded = async {
            let input = dc.decode_raw(task.input.clone()).await?;
            let details = dc.decode_raw(task.heartbeat_details.clone()).await?;
            Ok::<_, crate::client::converter::ConvertError>((input, details))
        }
        .await;
        let (input, previous_details) = match decoded {
            Ok(d) => d,
            Err(e) => {
                let failure = ActivityError::non_retryable(format!("payload codec: {e}"), "CodecError");
                return respond(shared, task.task_token, Err(failure), None).await;
            }
        };
        let ctx = ActivityContext::new(
            info,
            task.task_token.clone(),
            previous_details,
            Some(shared.client.clone()),
            Some(shared.shutdown.clone()),
        );
        let id = shared.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        shared.running.lock().expect("running lock").insert(id, ctx.clone());
        let result = match shared.activities.get(&activity_type) {
            None => Err(ActivityError::retryable(
                format!(
                    "activity type `{activity_type}` is not registered on this worker; registered: {}",
                    crate::messages::listed(shared.activities.keys().map(String::as_str))
                ),
                "UnknownActivityType",
            )),
            Some(activity) => {
                let call = ActivityInbound {
                    info: ctx.info().clone(),
                    local: false,
                    args: input,
                };
                let attempt = intercept_activity(&shared.interceptors, call, |call| activity(ctx.clone(), call.args));
                match AssertUnwindSafe(attempt).catch_unwind().await {
                    Ok(r) => r,
                    Err(panic) => {
                        let message = crate::messages::panic_message(&*panic);
                        Err(ActivityError::retryable(
                            format!("activity panicked: {message}"),
                            "Panic",
                        ))
                    }
                }
            }
        };
        shared.running.lock().expect("running lock").remove(&id);
        // A failed attempt hands its latest progress to the next one, even a heartbeat the
        // throttle had not sent yet.
        let progress = ctx.latest_heartbeat();
        attempt_metrics.finished(&result);
        respond(shared, task.task_token, result, progress).await;
    }
    .instrument(span)
    .await
}

async fn respond(
    shared: &ActivityWorkerState,
    task_token: Vec<u8>,
    result: Result<crate::client::proto::common::Payload, ActivityError>,
    progress: Option<Vec<crate::client::proto::common::Payload>>,
) {
    let namespace = shared.client.namespace().to_string();
    let identity = shared.identity.clone();
    let dc = shared.client.data_converter();
    let last_heartbeat_details = match progress {
        Some(details) => dc.encode_raw(details).await.ok(),
        None => None,
    };
    let result = match result {
        Ok(payload) if dc.has_codec() => super::codec::encode_one(dc, payload)
            .await
            .map_err(|e| ActivityError::non_retryable(format!("payload codec: {e}"), "CodecError")),
        other => other,
    };
    let outcome = match result {
        Ok(payload) => {
            let request = ws::RespondActivityTaskCompletedRequest {
                task_token,
                result: Some(Payloads {
                    payloads: vec![payload],
                }),
                identity,
                namespace,
                deployment_options: shared.deployment.clone(),
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_activity_task_completed(r).await
                })
                .await
                .map(|_| ())
        }
        Err(ActivityError::Failed(failure)) => {
            tracing::debug!(%failure, "activity attempt failed");
            let mut failure = crate::client::proto::failure::Failure::from(*failure);
            if let Err(e) = dc.encode_failure(&mut failure).await {
                tracing::warn!(error = %e, "the codec refused a failure's details; sent without them");
            }
            let request = ws::RespondActivityTaskFailedRequest {
                task_token,
                failure: Some(failure),
                identity,
                namespace,
                last_heartbeat_details,
                deployment_options: shared.deployment.clone(),
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_activity_task_failed(r).await
                })
                .await
                .map(|_| ())
        }
        Err(ActivityError::Canceled) => {
            let request = ws::RespondActivityTaskCanceledRequest {
                task_token,
                identity,
                namespace,
                deployment_options: shared.deployment.clone(),
                ..Default::default()
            };
            shared
                .client
                .call(request, None, |mut s, r| async move {
                    s.respond_activity_task_canceled(r).await
                })
                .await
                .map(|_| ())
        }
        Err(ActivityError::WillCompleteAsync) => Ok(()),
    };
    if let Err(e) = outcome {
        // Typically the attempt already timed out or the workflow closed.
        tracing::warn!(error = %ClientError::from(e), "activity result not accepted");
    }
}
