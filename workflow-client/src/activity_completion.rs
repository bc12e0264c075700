//! Completing activities from outside the worker: an activity that said it completes
//! asynchronously is finished here by its task token or by (workflow id, run id, activity id).

use crate::client::Client;
use crate::error::ClientError;
use crate::failure::Failure;
use crate::proto::common::Payload;
use crate::proto::workflowservice as ws;
use serde::Serialize;

/// Which activity to complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityRef {
    /// The opaque task token the worker received.
    TaskToken(Vec<u8>),
    /// The activity's ids; `run_id: None` means the workflow's latest run.
    Id {
        /// The workflow id.
        workflow_id: String,
        /// The run id.
        run_id: Option<String>,
        /// The activity id.
        activity_id: String,
    },
}

impl ActivityRef {
    /// Refers to an activity by its ids.
    pub fn by_id(workflow_id: impl Into<String>, run_id: Option<String>, activity_id: impl Into<String>) -> Self {
        ActivityRef::Id {
            workflow_id: workflow_id.into(),
            run_id,
            activity_id: activity_id.into(),
        }
    }
}

impl Client {
    /// Completes an activity with a result.
    pub async fn complete_activity<T: Serialize + ?Sized>(
        &self,
        activity: &ActivityRef,
        result: &T,
    ) -> Result<(), ClientError> {
        let result = self.data_converter().encode_value(result).await?;
        let (ns, identity) = (self.namespace().to_string(), self.identity().to_string());
        match activity.clone() {
            ActivityRef::TaskToken(task_token) => {
                let request = ws::RespondActivityTaskCompletedRequest {
                    task_token,
                    result: Some(result),
                    identity,
                    namespace: ns,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_completed(r).await
                })
                .await?;
            }
            ActivityRef::Id {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = ws::RespondActivityTaskCompletedByIdRequest {
                    namespace: ns,
                    workflow_id,
                    run_id: run_id.unwrap_or_default(),
                    activity_id,
                    result: Some(result),
                    identity,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_completed_by_id(r).await
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Fails an activity; the retry policy decides whether it runs again.
    pub async fn fail_activity(&self, activity: &ActivityRef, failure: Failure) -> Result<(), ClientError> {
        let mut failure = crate::proto::failure::Failure::from(failure);
        self.data_converter().encode_failure(&mut failure).await?;
        let (ns, identity) = (self.namespace().to_string(), self.identity().to_string());
        match activity.clone() {
            ActivityRef::TaskToken(task_token) => {
                let request = ws::RespondActivityTaskFailedRequest {
                    task_token,
                    failure: Some(failure),
                    identity,
                    namespace: ns,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_failed(r).await
                })
                .await?;
            }
            ActivityRef::Id {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = ws::RespondActivityTaskFailedByIdRequest {
                    namespace: ns,
                    workflow_id,
                    run_id: run_id.unwrap_or_default(),
                    activity_id,
                    failure: Some(failure),
                    identity,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_failed_by_id(r).await
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Records a heartbeat with details; returns whether cancellation was requested.
    pub async fn heartbeat_activity(&self, activity: &ActivityRef, details: Vec<Payload>) -> Result<bool, ClientError> {
        let details = self.data_converter().encode_raw(details).await?;
        let details = (!details.payloads.is_empty()).then_some(details);
        let (ns, identity) = (self.namespace().to_string(), self.identity().to_string());
        let cancel_requested = match activity.clone() {
            ActivityRef::TaskToken(task_token) => {
                let request = ws::RecordActivityTaskHeartbeatRequest {
                    task_token,
                    details,
                    identity,
                    namespace: ns,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.record_activity_task_heartbeat(r).await
                })
                .await?
                .cancel_requested
            }
            ActivityRef::Id {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = ws::RecordActivityTaskHeartbeatByIdRequest {
                    namespace: ns,
                    workflow_id,
                    run_id: run_id.unwrap_or_default(),
                    activity_id,
                    details,
                    identity,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.record_activity_task_heartbeat_by_id(r).await
                })
                .await?
                .cancel_requested
            }
        };
        Ok(cancel_requested)
    }

    /// Reports that an activity accepted its cancellation.
    pub async fn report_activity_canceled(
        &self,
        activity: &ActivityRef,
        details: Vec<Payload>,
    ) -> Result<(), ClientError> {
        let details = self.data_converter().encode_raw(details).await?;
        let details = (!details.payloads.is_empty()).then_some(details);
        let (ns, identity) = (self.namespace().to_string(), self.identity().to_string());
        match activity.clone() {
            ActivityRef::TaskToken(task_token) => {
                let request = ws::RespondActivityTaskCanceledRequest {
                    task_token,
                    details,
                    identity,
                    namespace: ns,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_canceled(r).await
                })
                .await?;
            }
            ActivityRef::Id {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = ws::RespondActivityTaskCanceledByIdRequest {
                    namespace: ns,
                    workflow_id,
                    run_id: run_id.unwrap_or_default(),
                    activity_id,
                    details,
                    identity,
                    ..Default::default()
                };
                self.call(request, None, |mut s, r| async move {
                    s.respond_activity_task_canceled_by_id(r).await
                })
                .await?;
            }
        }
        Ok(())
    }
}
