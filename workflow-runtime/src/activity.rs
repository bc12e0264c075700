//! Activities: the context an attempt runs with (info, heartbeats, cancellation) and the error
//! type that tells the server whether to retry.

use crate::client::failure::Failure;
use crate::client::payload::{self, PayloadError};
use crate::client::proto::common::Payload;
use crate::client::{ActivityRef, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, watch};

/// Facts about the running attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityInfo {
    /// The activity id.
    pub activity_id: String,
    /// The activity type.
    pub activity_type: String,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The workflow that scheduled it.
    pub workflow_id: String,
    /// Its run.
    pub run_id: String,
    /// Its type.
    pub workflow_type: String,
    /// The task queue the activity was dispatched on.
    pub task_queue: String,
    /// When this attempt was scheduled.
    pub scheduled_time: Option<SystemTime>,
    /// The heartbeat timeout, when set.
    pub heartbeat_timeout: Option<Duration>,
    /// The start-to-close timeout, when set.
    pub start_to_close_timeout: Option<Duration>,
    /// The Temporal headers the activity was scheduled with (see
    /// [`ActivityContext::header`]).
    pub headers: crate::client::headers::Headers,
}

/// How an activity attempt fails.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivityError {
    /// A failure; the retry policy decides on a retry unless it is marked non-retryable.
    /// (Boxed, so that `Result<T, ActivityError>` stays small.)
    #[error("{0}")]
    Failed(Box<Failure>),
    /// The activity accepted a cancellation request.
    #[error("activity canceled")]
    Canceled,
    /// The activity will be completed later by `Client::complete_activity` (with the task
    /// token from [`ActivityContext::task_token`]).
    #[error("activity will complete asynchronously")]
    WillCompleteAsync,
}

impl ActivityError {
    /// A retryable failure with an error type name (retry policies can match it).
    pub fn retryable(message: impl Into<String>, type_name: impl Into<String>) -> Self {
        ActivityError::Failed(Box::new(Failure::application(message, type_name)))
    }

    /// A failure that is never retried.
    pub fn non_retryable(message: impl Into<String>, type_name: impl Into<String>) -> Self {
        ActivityError::Failed(Box::new(Failure::application(message, type_name).non_retryable()))
    }

    /// A retryable failure from any error; the type name is the error's Rust type.
    pub fn from_error<E: std::error::Error>(e: E) -> Self {
        let type_name = std::any::type_name::<E>()
            .rsplit("::")
            .next()
            .unwrap_or("Error")
            .to_string();
        ActivityError::retryable(e.to_string(), type_name)
    }

    pub(crate) fn bad_input(e: PayloadError) -> Self {
        ActivityError::non_retryable(format!("activity input: {e}"), "PayloadError")
    }

    pub(crate) fn bad_output(e: PayloadError) -> Self {
        ActivityError::non_retryable(format!("activity result: {e}"), "PayloadError")
    }
}

impl From<Failure> for ActivityError {
    fn from(f: Failure) -> Self {
        ActivityError::Failed(Box::new(f))
    }
}

/// The context of one activity attempt.
#[derive(Clone)]
pub struct ActivityContext {
    inner: Arc<Inner>,
}

struct Inner {
    info: ActivityInfo,
    task_token: Vec<u8>,
    previous_details: Vec<Payload>,
    client: Option<Client>,
    pending_details: Mutex<Option<Vec<Payload>>>,
    heartbeat_wake: Notify,
    cancel: watch::Sender<bool>,
    /// Turns true when the worker running the attempt starts shutting down.
    worker_shutdown: Option<watch::Receiver<bool>>,
    heartbeater_started: std::sync::Once,
    /// The details of the latest heartbeat, sent or not.
    latest: Mutex<Option<Vec<Payload>>>,
    /// Without a client (tests), every heartbeat's details are kept here.
    local_heartbeats: Mutex<Vec<Vec<Payload>>>,
}

impl std::fmt::Debug for ActivityContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityContext")
            .field("info", &self.inner.info)
            .finish()
    }
}

impl ActivityContext {
    /// A context for an attempt. `client: None` makes heartbeats local (tests).
    pub(crate) fn new(
        info: ActivityInfo,
        task_token: Vec<u8>,
        previous_details: Vec<Payload>,
        client: Option<Client>,
        worker_shutdown: Option<watch::Receiver<bool>>,
    ) -> Self {
        let (cancel, _) = watch::channel(false);
        ActivityContext {
            inner: Arc::new(Inner {
                info,
                task_token,
                previous_details,
                client,
                pending_details: Mutex::new(None),
                heartbeat_wake: Notify::new(),
                cancel,
                worker_shutdown,
                heartbeater_started: std::sync::Once::new(),
                local_heartbeats: Mutex::new(Vec::new()),
                latest: Mutex::new(None),
            }),
        }
    }

    /// Facts about this attempt.
    pub fn info(&self) -> &ActivityInfo {
        &self.inner.info
    }

    /// The Temporal header `key` the activity was scheduled with, decoded as `T`; `None` when
    /// it has none.
    pub fn header<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PayloadError> {
        self.inner.info.headers.get(key)
    }

    /// The task token, for completing the activity from elsewhere.
    pub fn task_token(&self) -> &[u8] {
        &self.inner.task_token
    }

    /// The details of the last heartbeat of a previous attempt, to resume progress.
    pub fn heartbeat_details<T: DeserializeOwned>(&self) -> Result<Option<T>, PayloadError> {
        match self.inner.previous_details.first() {
            None => Ok(None),
            Some(p) => payload::from_payload(p).map(Some),
        }
    }

    /// Records progress. Heartbeats are sent in the background, at most about once per 80% of
    /// the heartbeat timeout; the latest details win. A cancellation request comes back with
    /// the response and wakes [`ActivityContext::cancelled`].
    pub fn heartbeat<T: Serialize + ?Sized>(&self, details: &T) {
        let details = match payload::to_payload(details) {
            Ok(p) => vec![p],
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat details do not encode; sent without details");
                Vec::new()
            }
        };
        if self.inner.client.is_none() {
            self.inner
                .local_heartbeats
                .lock()
                .expect("heartbeat lock")
                .push(details.clone());
        }
        *self.inner.latest.lock().expect("heartbeat lock") = Some(details.clone());
        *self.inner.pending_details.lock().expect("heartbeat lock") = Some(details);
        self.start_heartbeater();
        self.inner.heartbeat_wake.notify_one();
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.inner.cancel.borrow()
    }

    /// Completes when cancellation is requested (learned through heartbeats, or at worker
    /// shutdown), or when a heartbeat finds that the server no longer knows the attempt (its
    /// workflow closed, or it timed out).
    pub async fn cancelled(&self) {
        let mut rx = self.inner.cancel.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Whether the worker running this attempt has started shutting down. Unlike a cancel,
    /// nobody asked the activity to stop: a long attempt may save its progress (heartbeat) and
    /// return a retryable error so that another worker's attempt goes on from there.
    pub fn is_worker_shutting_down(&self) -> bool {
        self.inner.worker_shutdown.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Completes when the worker running this attempt starts shutting down (never, for a
    /// worker that does not). The worker then waits for running attempts up to its graceful
    /// shutdown timeout, and cancels those still running.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// #[activity(start_to_close_timeout = "1h", heartbeat_timeout = "30s")]
    /// async fn import(ctx: ActivityContext, rows: u64) -> Result<u64, ActivityError> {
    ///     let mut done: u64 = ctx.heartbeat_details().ok().flatten().unwrap_or(0);
    ///     while done < rows {
    ///         tokio::select! {
    ///             _ = ctx.worker_shutdown() => {
    ///                 ctx.heartbeat(&done);
    ///                 return Err(ActivityError::retryable("worker stopping", "WorkerShutdown"));
    ///             }
    ///             _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => done += 1,
    ///         }
    ///     }
    ///     Ok(done)
    /// }
    /// ```
    pub async fn worker_shutdown(&self) {
        match self.inner.worker_shutdown.clone() {
            Some(mut rx) => {
                if rx.wait_for(|s| *s).await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending().await,
        }
    }

    pub(crate) fn cancel(&self) {
        self.inner.cancel.send_replace(true);
    }

    /// The details of the latest heartbeat of this attempt, if it sent any.
    pub(crate) fn latest_heartbeat(&self) -> Option<Vec<Payload>> {
        self.inner.latest.lock().expect("heartbeat lock").clone()
    }

    /// The details of every heartbeat so far, when the context has no client (tests).
    pub(crate) fn local_heartbeats(&self) -> Vec<Vec<Payload>> {
        self.inner.local_heartbeats.lock().expect("heartbeat lock").clone()
    }

    fn start_heartbeater(&self) {
        let Some(client) = self.inner.client.clone() else {
            return;
        };
        let inner = Arc::downgrade(&self.inner);
        self.inner.heartbeater_started.call_once(|| {
            let throttle = self
                .inner
                .info
                .heartbeat_timeout
                .map(|t| t.mul_f64(0.8))
                .unwrap_or(Duration::from_secs(30))
                .max(Duration::from_millis(100));
            let token = ActivityRef::TaskToken(self.inner.task_token.clone());
            tokio::spawn(async move {
                loop {
                    let Some(strong) = inner.upgrade() else { return };
                    let details = strong.pending_details.lock().expect("heartbeat lock").take();
                    match details {
                        Some(details) => {
                            match client.heartbeat_activity(&token, details).await {
                                Ok(true) => {
                                    strong.cancel.send_replace(true);
                                }
                                Ok(false) => {}
                                // The server no longer knows the attempt (its workflow closed,
                                // or it timed out): nobody wants the result, so cancel it.
                                Err(crate::client::ClientError::NotFound(message)) => {
                                    tracing::debug!(%message, "heartbeat target gone; cancelling the attempt");
                                    strong.cancel.send_replace(true);
                                }
                                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                            }
                            drop(strong);
                            tokio::time::sleep(throttle).await;
                        }
                        None => {
                            // Wake up now and then to notice that the attempt ended.
                            let _ =
                                tokio::time::timeout(Duration::from_secs(1), strong.heartbeat_wake.notified()).await;
                        }
                    }
                }
            });
        });
    }
}
