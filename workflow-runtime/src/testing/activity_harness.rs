//! Runs one activity attempt outside any workflow and any server: choose the attempt number and
//! the heartbeat details of the previous attempt, request cancellation, read the heartbeats.

use crate::activity::{ActivityContext, ActivityError, ActivityInfo};
use crate::client::payload::{self, IntoArgs, PayloadError};
use crate::definition::Activity;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One activity attempt under test.
///
/// ```
/// use workflow_runtime::prelude::*;
/// use workflow_runtime::testing::ActivityHarness;
///
/// /// Copies `files` files, resuming after the last one a previous attempt reported.
/// #[activity(start_to_close_timeout = "1h", heartbeat_timeout = "10s")]
/// async fn copy(ctx: ActivityContext, files: u32) -> Result<u32, ActivityError> {
///     let start = ctx.heartbeat_details::<u32>().ok().flatten().unwrap_or(0);
///     for done in start + 1..=files {
///         ctx.heartbeat(&done);
///     }
///     Ok(files - start)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let harness = ActivityHarness::new().attempt(2).previous_heartbeat(&7u32)?;
/// assert_eq!(harness.run(copy, 10).await?, 3); // files 8, 9 and 10
/// assert_eq!(harness.heartbeats::<u32>()?, [8, 9, 10]);
/// # Ok(()) }
/// ```
pub struct ActivityHarness {
    info: ActivityInfo,
    previous: Vec<crate::client::proto::common::Payload>,
    ctx: ActivityContext,
    worker_shutdown: tokio::sync::watch::Sender<bool>,
}

impl Default for ActivityHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl ActivityHarness {
    /// A first attempt, with made-up ids (`activity-id`, `workflow-id`, …).
    pub fn new() -> Self {
        let info = ActivityInfo {
            activity_id: "activity-id".into(),
            activity_type: String::new(),
            attempt: 1,
            workflow_id: "workflow-id".into(),
            run_id: "run-id".into(),
            workflow_type: "Workflow".into(),
            task_queue: "task-queue".into(),
            scheduled_time: None,
            heartbeat_timeout: None,
            start_to_close_timeout: None,
            headers: Default::default(),
        };
        let (worker_shutdown, watching) = tokio::sync::watch::channel(false);
        let ctx = ActivityContext::new(
            info.clone(),
            b"test-task-token".to_vec(),
            Vec::new(),
            None,
            Some(watching),
        );
        ActivityHarness {
            info,
            previous: Vec::new(),
            ctx,
            worker_shutdown,
        }
    }

    fn rebuild(mut self) -> Self {
        self.ctx = ActivityContext::new(
            self.info.clone(),
            b"test-task-token".to_vec(),
            self.previous.clone(),
            None,
            Some(self.worker_shutdown.subscribe()),
        );
        self
    }

    /// Runs as attempt `attempt` (from 1).
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.info.attempt = attempt;
        self.rebuild()
    }

    /// The details the previous attempt's last heartbeat recorded.
    pub fn previous_heartbeat<T: Serialize + ?Sized>(mut self, details: &T) -> Result<Self, PayloadError> {
        self.previous = vec![payload::to_payload(details)?];
        Ok(self.rebuild())
    }

    /// Changes any other fact the attempt sees.
    pub fn info(mut self, edit: impl FnOnce(&mut ActivityInfo)) -> Self {
        edit(&mut self.info);
        self.rebuild()
    }

    /// The attempt's context (for activities called by hand).
    pub fn context(&self) -> ActivityContext {
        self.ctx.clone()
    }

    /// Runs the attempt with its arguments (checked against the activity's signature).
    pub async fn run<A: Activity>(
        &self,
        activity: A,
        input: impl IntoArgs<A::Input>,
    ) -> Result<A::Output, ActivityError> {
        activity.execute(self.ctx.clone(), input.into_args()).await
    }

    /// Requests cancellation: `ctx.cancelled()` completes and `ctx.is_cancelled()` turns true.
    pub fn cancel(&self) {
        self.ctx.cancel();
    }

    /// Starts the shutdown of the (simulated) worker: `ctx.worker_shutdown()` completes and
    /// `ctx.is_worker_shutting_down()` turns true, while `ctx.is_cancelled()` stays false.
    pub fn shut_down_worker(&self) {
        self.worker_shutdown.send_replace(true);
    }

    /// The details of every heartbeat the attempt sent so far, in order.
    pub fn heartbeats<T: DeserializeOwned>(&self) -> Result<Vec<T>, PayloadError> {
        self.ctx
            .local_heartbeats()
            .iter()
            .filter_map(|details| details.first())
            .map(payload::from_payload)
            .collect()
    }
}
