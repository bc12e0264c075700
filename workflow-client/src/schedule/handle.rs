//! The schedule operations: create and list on the [`Client`], the rest on a
//! [`ScheduleHandle`].

use crate::client::{Client, RpcError};
use crate::definitions::WorkflowDefinition;
use crate::error::ClientError;
use crate::payload::PayloadArgs;
use crate::proto::common::{Memo, Payload, SearchAttributes};
use crate::proto::schedule as ps;
use crate::proto::workflowservice as ws;
use crate::schedule::description::{ScheduleDescription, ScheduleSummary};
use crate::schedule::policy::{Backfill, OverlapPolicy, overlap_override};
use crate::schedule::{Schedule, ScheduleAction, ScheduleOptions, StartWorkflowAction};
use crate::time::{from_timestamp, to_timestamp};
use futures::Stream;
use std::time::SystemTime;

/// A handle to one schedule, by id. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ScheduleHandle {
    client: Client,
    id: String,
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    /// Creates a schedule that starts workflow `W` with `input` at the times of
    /// `options.spec`. The `#[workflow]` macro's `W::schedule(&client, id, options, args…)`
    /// calls this. An id already taken fails with [`ClientError::ScheduleAlreadyExists`].
    pub async fn create_schedule<W: WorkflowDefinition>(
        &self,
        schedule_id: impl Into<String>,
        options: ScheduleOptions,
        input: W::Input,
    ) -> Result<ScheduleHandle, ClientError> {
        let args = input.to_payloads()?;
        self.create_schedule_untyped(schedule_id, W::NAME, options, args).await
    }

    /// Creates a schedule that starts a workflow by type name with raw argument payloads (the
    /// codec still applies), for workflows written in other SDKs.
    pub async fn create_schedule_untyped(
        &self,
        schedule_id: impl Into<String>,
        workflow_type: &str,
        options: ScheduleOptions,
        args: Vec<Payload>,
    ) -> Result<ScheduleHandle, ClientError> {
        let schedule_id = schedule_id.into();
        let schedule = Schedule {
            spec: options.spec,
            action: ScheduleAction::StartWorkflow(StartWorkflowAction {
                workflow_type: workflow_type.to_string(),
                options: options.workflow,
                args,
            }),
            policies: options.policies,
            state: options.state,
        };
        let initial_patch = (options.trigger_immediately || !options.backfill.is_empty()).then(|| ps::SchedulePatch {
            trigger_immediately: options.trigger_immediately.then(|| trigger_request(None)),
            backfill_request: options.backfill.iter().map(Into::into).collect(),
            ..Default::default()
        });
        let memo = self.data_converter().encode_map(&options.memo).await?;
        let request = ws::CreateScheduleRequest {
            namespace: self.namespace().to_string(),
            schedule_id: schedule_id.clone(),
            schedule: Some(schedule.to_proto(self).await?),
            initial_patch,
            identity: self.identity().to_string(),
            request_id: options.request_id.unwrap_or_else(new_request_id),
            memo: (!memo.is_empty()).then_some(Memo { fields: memo }),
            search_attributes: (!options.search_attributes.is_empty()).then_some(SearchAttributes {
                indexed_fields: options.search_attributes,
            }),
        };
        self.call(request, None, |mut s, r| async move { s.create_schedule(r).await })
            .await
            .map_err(|e| e.into_schedule_error(&schedule_id))?;
        tracing::debug!(%schedule_id, workflow_type, "schedule created");
        Ok(self.schedule_handle(schedule_id))
    }

    /// A handle to an existing schedule.
    pub fn schedule_handle(&self, schedule_id: impl Into<String>) -> ScheduleHandle {
        ScheduleHandle {
            client: self.clone(),
            id: schedule_id.into(),
        }
    }

    /// Lists schedules matching a visibility query (`""` for all), fetching pages as the
    /// stream is read. Visibility lags a little behind creates, updates and deletes.
    ///
    /// ```no_run
    /// # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
    /// use futures::TryStreamExt;
    /// let paused: Vec<String> = client
    ///     .list_schedules("")
    ///     .try_filter(|s| std::future::ready(s.paused))
    ///     .map_ok(|s| s.id)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_schedules(&self, query: &str) -> impl Stream<Item = Result<ScheduleSummary, ClientError>> + use<> {
        let client = self.clone();
        let query = query.to_string();
        crate::client::paginate(move |page_token| {
            let client = client.clone();
            let request = ws::ListSchedulesRequest {
                namespace: client.namespace().to_string(),
                maximum_page_size: 100,
                next_page_token: page_token,
                query: query.clone(),
            };
            async move {
                let resp = client
                    .call(request, None, |mut s, r| async move { s.list_schedules(r).await })
                    .await?;
                let mut page = Vec::with_capacity(resp.schedules.len());
                for entry in resp.schedules {
                    page.push(ScheduleSummary::from_proto(entry, &client).await?);
                }
                Ok((page, resp.next_page_token))
            }
        })
    }
}

fn trigger_request(overlap: Option<OverlapPolicy>) -> ps::TriggerImmediatelyRequest {
    ps::TriggerImmediatelyRequest {
        overlap_policy: overlap_override(overlap),
        scheduled_time: None,
    }
}

/// A pause or unpause note: the server reads an empty one as "no change".
fn note_or(note: String, default: &str) -> String {
    if note.is_empty() { default.to_string() } else { note }
}

impl RpcError {
    /// The client error a schedule call's status means, named by the schedule's id.
    fn into_schedule_error(self, schedule_id: &str) -> ClientError {
        crate::error::schedule_error(self.status, self.attempts, schedule_id)
    }
}

impl ScheduleHandle {
    /// The schedule id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The schedule, what it did (recent actions with the runs they started) and when it acts
    /// next. A missing schedule fails with [`ClientError::ScheduleNotFound`].
    pub async fn describe(&self) -> Result<ScheduleDescription, ClientError> {
        let resp = self.describe_raw().await?;
        ScheduleDescription::from_proto(self.id.clone(), resp, &self.client).await
    }

    async fn describe_raw(&self) -> Result<ws::DescribeScheduleResponse, ClientError> {
        let request = ws::DescribeScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
        };
        self.client
            .call(request, None, |mut s, r| async move { s.describe_schedule(r).await })
            .await
            .map_err(|e| e.into_schedule_error(&self.id))
    }

    /// Read-modify-write: describes the schedule, hands the description to `change`, and
    /// replaces the schedule with what it returns (`None`: leave it as it is). If the schedule
    /// changed in between, nothing is written and the call fails with
    /// [`ClientError::ScheduleConflict`]; describe again to retry.
    ///
    /// ```no_run
    /// # async fn demo(schedule: workflow_client::schedule::ScheduleHandle) -> Result<(), workflow_client::ClientError> {
    /// use workflow_client::schedule::OverlapPolicy;
    /// schedule
    ///     .update(|mut d| {
    ///         d.schedule.policies.overlap = OverlapPolicy::BufferAll;
    ///         Some(d.schedule)
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update<F>(&self, change: F) -> Result<(), ClientError>
    where
        F: FnOnce(ScheduleDescription) -> Option<Schedule>,
    {
        let description = self.describe().await?;
        let token = description.conflict_token().to_vec();
        match change(description) {
            Some(schedule) => self.replace(&schedule, token).await,
            None => Ok(()),
        }
    }

    /// Replaces the schedule with `schedule` unless it changed since `description` was read
    /// ([`ClientError::ScheduleConflict`] then): [`update`](Self::update) in two steps, for
    /// changes that need to await between reading and writing.
    pub async fn update_from(&self, description: &ScheduleDescription, schedule: &Schedule) -> Result<(), ClientError> {
        self.replace(schedule, description.conflict_token().to_vec()).await
    }

    /// Sends the new schedule with the token it was based on. A server whose scheduler is a
    /// workflow (the 1.32 dev server's is) drops an update with a stale token without an
    /// error, so the token is compared here first; the server still refuses a change that
    /// lands between that check and the update, but then says nothing.
    async fn replace(&self, schedule: &Schedule, conflict_token: Vec<u8>) -> Result<(), ClientError> {
        let encoded = schedule.to_proto(&self.client).await?;
        if self.describe_raw().await?.conflict_token != conflict_token {
            return Err(ClientError::ScheduleConflict {
                schedule_id: self.id.clone(),
            });
        }
        let request = ws::UpdateScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            schedule: Some(encoded),
            conflict_token,
            identity: self.client.identity().to_string(),
            request_id: new_request_id(),
            ..Default::default()
        };
        self.client
            .call(request, None, |mut s, r| async move { s.update_schedule(r).await })
            .await
            .map_err(|e| e.into_schedule_error(&self.id))?;
        Ok(())
    }

    async fn patch(&self, patch: ps::SchedulePatch) -> Result<(), ClientError> {
        let request = ws::PatchScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            patch: Some(patch),
            identity: self.client.identity().to_string(),
            request_id: new_request_id(),
        };
        self.client
            .call(request, None, |mut s, r| async move { s.patch_schedule(r).await })
            .await
            .map_err(|e| e.into_schedule_error(&self.id))?;
        Ok(())
    }

    /// Stops scheduled actions; `note` says why (describe and the web UI show it). Triggers
    /// and backfills still act.
    pub async fn pause(&self, note: impl Into<String>) -> Result<(), ClientError> {
        self.patch(ps::SchedulePatch {
            pause: note_or(note.into(), "Paused via the Rust SDK"),
            ..Default::default()
        })
        .await
    }

    /// Resumes scheduled actions; `note` says why.
    pub async fn unpause(&self, note: impl Into<String>) -> Result<(), ClientError> {
        self.patch(ps::SchedulePatch {
            unpause: note_or(note.into(), "Unpaused via the Rust SDK"),
            ..Default::default()
        })
        .await
    }

    /// Takes one action now, paused or not, with `overlap` for this action (`None`: the
    /// schedule's policy).
    pub async fn trigger(&self, overlap: impl Into<Option<OverlapPolicy>>) -> Result<(), ClientError> {
        self.patch(ps::SchedulePatch {
            trigger_immediately: Some(trigger_request(overlap.into())),
            ..Default::default()
        })
        .await
    }

    /// Takes now the actions the spec gives in each period, as if that time passed now.
    ///
    /// ```no_run
    /// # async fn demo(schedule: workflow_client::schedule::ScheduleHandle) -> Result<(), workflow_client::ClientError> {
    /// use std::time::{Duration, SystemTime};
    /// use workflow_client::schedule::{Backfill, OverlapPolicy};
    /// let now = SystemTime::now();
    /// let last_week = Backfill::new(now - Duration::from_secs(7 * 86_400), now).overlap(OverlapPolicy::AllowAll);
    /// schedule.backfill([last_week]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn backfill(&self, periods: impl IntoIterator<Item = Backfill>) -> Result<(), ClientError> {
        let backfill_request: Vec<_> = periods.into_iter().map(|b| (&b).into()).collect();
        if backfill_request.is_empty() {
            return Ok(());
        }
        self.patch(ps::SchedulePatch {
            backfill_request,
            ..Default::default()
        })
        .await
    }

    /// The times in `start..=end` the schedule's spec matches, jitter included and whatever
    /// its state, as the server computes them: how a spec was read, checked without waiting.
    pub async fn matching_times(&self, start: SystemTime, end: SystemTime) -> Result<Vec<SystemTime>, ClientError> {
        let request = ws::ListScheduleMatchingTimesRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            start_time: Some(to_timestamp(start)),
            end_time: Some(to_timestamp(end)),
        };
        let resp = self
            .client
            .call(request, None, |mut s, r| async move {
                s.list_schedule_matching_times(r).await
            })
            .await
            .map_err(|e| e.into_schedule_error(&self.id))?;
        Ok(resp.start_time.iter().map(from_timestamp).collect())
    }

    /// Deletes the schedule; the workflows it started keep running.
    pub async fn delete(&self) -> Result<(), ClientError> {
        let request = ws::DeleteScheduleRequest {
            namespace: self.client.namespace().to_string(),
            schedule_id: self.id.clone(),
            identity: self.client.identity().to_string(),
        };
        self.client
            .call(request, None, |mut s, r| async move { s.delete_schedule(r).await })
            .await
            .map_err(|e| e.into_schedule_error(&self.id))?;
        Ok(())
    }
}
