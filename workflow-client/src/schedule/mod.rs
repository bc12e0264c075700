//! Schedules: the server starts a workflow at the times of a spec (intervals, calendars, cron
//! strings), with policies for overlaps, missed times and failures; the client creates,
//! describes, lists, updates, pauses, triggers, backfills and deletes them.
//!
//! A `#[workflow]` type gets a typed `schedule` stub beside `start`; with a
//! [`WorkflowDefinition`] this is [`Client::create_schedule`]:
//!
//! ```no_run
//! # use workflow_client::{Client, ClientError, StartOptions, WorkflowDefinition};
//! # struct Report;
//! # impl WorkflowDefinition for Report { const NAME: &'static str = "Report"; type Input = (String,); type Output = (); }
//! # async fn demo(client: Client) -> Result<(), ClientError> {
//! use std::time::Duration;
//! use workflow_client::schedule::{CalendarSpec, OverlapPolicy, ScheduleOptions, ScheduleSpec};
//!
//! let spec = ScheduleSpec::new()
//!     .calendar(CalendarSpec::new().hour(6).day_of_week(1..=5).comment("weekday mornings"))
//!     .time_zone("Europe/Paris");
//! let options = ScheduleOptions::new(spec, StartOptions::new("daily-report", "reports"))
//!     .overlap(OverlapPolicy::BufferOne);
//! let schedule = client.create_schedule::<Report>("daily-report", options, ("sales".into(),)).await?;
//!
//! let description = schedule.describe().await?;
//! println!("next reports at {:?}", description.info.next_action_times);
//! schedule.pause("quarter closing").await?;
//! schedule
//!     .update(|mut d| {
//!         d.schedule.spec = d.schedule.spec.interval(Duration::from_secs(3600));
//!         Some(d.schedule)
//!     })
//!     .await?;
//! schedule.delete().await?;
//! # Ok(()) }
//! ```
//!
//! [`WorkflowDefinition`]: crate::WorkflowDefinition

mod action;
mod description;
mod handle;
mod policy;
mod spec;

pub use action::{ScheduleAction, StartWorkflowAction};
pub use description::{ScheduleActionResult, ScheduleDescription, ScheduleInfo, ScheduleSummary, ScheduledRun};
pub use handle::ScheduleHandle;
pub use policy::{Backfill, OverlapPolicy, SchedulePolicies, ScheduleState};
pub use spec::{CalendarSpec, IntervalSpec, IntoRanges, ScheduleRange, ScheduleSpec};

use crate::client::Client;
use crate::error::ClientError;
use crate::options::StartOptions;
use crate::payload::{self, PayloadError};
use crate::proto::common::Payload;
use crate::proto::schedule as ps;
use crate::search_attributes::SearchAttributeKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

/// A schedule: when it acts, what it does, its policies and its state. Described by
/// [`ScheduleHandle::describe`] and replaced as a whole by [`ScheduleHandle::update`].
#[derive(Debug, Clone)]
pub struct Schedule {
    /// When it acts.
    pub spec: ScheduleSpec,
    /// What it does.
    pub action: ScheduleAction,
    /// Overlaps, missed times, failures.
    pub policies: SchedulePolicies,
    /// Paused or not, remaining actions.
    pub state: ScheduleState,
}

impl Schedule {
    pub(crate) async fn to_proto(&self, client: &Client) -> Result<ps::Schedule, ClientError> {
        Ok(ps::Schedule {
            spec: Some((&self.spec).into()),
            action: Some(self.action.to_proto(client).await?),
            policies: Some((&self.policies).into()),
            state: Some((&self.state).into()),
        })
    }

    pub(crate) async fn from_proto(s: ps::Schedule, client: &Client) -> Result<Self, ClientError> {
        Ok(Schedule {
            spec: s.spec.map(ScheduleSpec::from).unwrap_or_default(),
            action: ScheduleAction::from_proto(s.action, client).await?,
            policies: s.policies.map(SchedulePolicies::from).unwrap_or_default(),
            state: s.state.map(ScheduleState::from).unwrap_or_default(),
        })
    }
}

/// How to create a schedule: its spec, the start of the workflow it runs, its policies and
/// state, the schedule's own memo and search attributes, and what to do at once.
///
/// ```
/// use std::time::Duration;
/// use workflow_client::StartOptions;
/// use workflow_client::schedule::{OverlapPolicy, ScheduleOptions, ScheduleSpec};
/// let options = ScheduleOptions::new(
///     ScheduleSpec::new().cron("@hourly"),
///     StartOptions::new("cleanup", "maintenance").run_timeout(Duration::from_secs(600)),
/// )
/// .overlap(OverlapPolicy::Skip)
/// .catchup_window(Duration::from_secs(3600))
/// .pause_on_failure(true)
/// .memo("owner", "ops")
/// .unwrap();
/// assert_eq!(options.workflow.workflow_id, "cleanup");
/// ```
#[derive(Debug, Clone)]
pub struct ScheduleOptions {
    /// When the schedule acts.
    pub spec: ScheduleSpec,
    /// How each workflow is started (see [`StartWorkflowAction`] for the fields that differ
    /// from a direct start).
    pub workflow: StartOptions,
    /// Overlaps, missed times, failures.
    pub policies: SchedulePolicies,
    /// The initial state (paused with a note, a limit of actions).
    pub state: ScheduleState,
    /// Memo fields of the schedule itself (not of its workflows).
    pub memo: HashMap<String, Payload>,
    /// Search attributes of the schedule itself (not of its workflows).
    pub search_attributes: HashMap<String, Payload>,
    /// Take one action as soon as the schedule is created.
    pub trigger_immediately: bool,
    /// Periods to take the actions of as soon as the schedule is created.
    pub backfill: Vec<Backfill>,
    /// Idempotency key of the create request (random when `None`).
    pub request_id: Option<String>,
}

impl ScheduleOptions {
    /// A schedule that starts a workflow with `workflow`'s id (plus the scheduled time) and
    /// task queue at the times of `spec`.
    pub fn new(spec: ScheduleSpec, workflow: StartOptions) -> Self {
        ScheduleOptions {
            spec,
            workflow,
            policies: SchedulePolicies::default(),
            state: ScheduleState::default(),
            memo: HashMap::new(),
            search_attributes: HashMap::new(),
            trigger_immediately: false,
            backfill: Vec::new(),
            request_id: None,
        }
    }
    /// Sets the overlap policy.
    pub fn overlap(mut self, overlap: OverlapPolicy) -> Self {
        self.policies.overlap = overlap;
        self
    }
    /// Sets the catch-up window (at least 10 seconds).
    pub fn catchup_window(mut self, window: Duration) -> Self {
        self.policies.catchup_window = Some(window);
        self
    }
    /// Pauses the schedule when a workflow it started fails.
    pub fn pause_on_failure(mut self, on: bool) -> Self {
        self.policies.pause_on_failure = on;
        self
    }
    /// Creates the schedule paused, with a note saying why.
    pub fn paused(mut self, note: impl Into<String>) -> Self {
        self.state.paused = true;
        self.state.note = note.into();
        self
    }
    /// Takes at most `n` scheduled actions (triggers and backfills do not count).
    pub fn remaining_actions(mut self, n: u64) -> Self {
        self.state.remaining_actions = Some(n);
        self
    }
    /// Adds a memo field to the schedule.
    pub fn memo<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Result<Self, PayloadError> {
        self.memo.insert(key.into(), payload::to_payload(value)?);
        Ok(self)
    }
    /// Sets a search attribute of the schedule, typed by its key.
    pub fn search_attribute<T: Serialize + DeserializeOwned>(mut self, key: SearchAttributeKey<T>, value: T) -> Self {
        key.insert_into(&mut self.search_attributes, &value);
        self
    }
    /// Takes one action as soon as the schedule is created.
    pub fn trigger_immediately(mut self) -> Self {
        self.trigger_immediately = true;
        self
    }
    /// Takes the actions of a period as soon as the schedule is created.
    pub fn backfill(mut self, backfill: Backfill) -> Self {
        self.backfill.push(backfill);
        self
    }
    /// Sets the request id (idempotency key).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}
