//! What a schedule does at its times: start a workflow, described with the same
//! [`StartOptions`] and payload encoding as a direct start.

use crate::client::Client;
use crate::error::ClientError;
use crate::options::{RetryPolicy, StartOptions};
use crate::payload::{PayloadArgs, PayloadError};
use crate::proto::common::{Payload, Payloads};
use crate::proto::schedule as ps;
use crate::proto::workflow::NewWorkflowExecutionInfo;
use crate::schedule::spec::nonzero;

/// The action of a schedule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ScheduleAction {
    /// Start a workflow.
    StartWorkflow(StartWorkflowAction),
}

impl ScheduleAction {
    /// The workflow start, the only action the server has today.
    pub fn start_workflow(&self) -> &StartWorkflowAction {
        let ScheduleAction::StartWorkflow(start) = self;
        start
    }

    /// The workflow start, to change it.
    pub fn start_workflow_mut(&mut self) -> &mut StartWorkflowAction {
        let ScheduleAction::StartWorkflow(start) = self;
        start
    }
}

/// A workflow start a schedule makes at each of its times.
///
/// The options are read as by a direct start (id, task queue, timeouts, retry policy, memo,
/// search attributes, summary and details), with three differences the server makes: the
/// workflow id gets the scheduled time appended (`report-2030-01-01T00:00:00Z`) unless the
/// policies keep it, the id reuse and conflict policies do not apply (the overlap policy
/// decides), and a cron schedule or a start delay is refused.
#[derive(Debug, Clone)]
pub struct StartWorkflowAction {
    /// The workflow type's wire name.
    pub workflow_type: String,
    /// How to start it.
    pub options: StartOptions,
    /// The arguments, one payload each (before the codec, which applies on the way out).
    pub args: Vec<Payload>,
}

impl StartWorkflowAction {
    /// The arguments, decoded as `A` (the workflow definition's `Input`).
    pub fn args_as<A: PayloadArgs>(&self) -> Result<A, PayloadError> {
        A::from_payloads(&self.args)
    }

    /// Replaces the arguments.
    pub fn set_args<A: PayloadArgs>(&mut self, args: &A) -> Result<(), PayloadError> {
        self.args = args.to_payloads()?;
        Ok(())
    }

    /// The wire form: the start request a direct start would send, cut to the fields a schedule
    /// keeps, with arguments and memo through the codec.
    pub(crate) async fn to_proto(&self, client: &Client) -> Result<ps::ScheduleAction, ClientError> {
        let o = &self.options;
        if o.cron_schedule.is_some() || o.start_delay.is_some() {
            return Err(ClientError::InvalidArgument(format!(
                "the scheduled start of `{}` sets a cron schedule or a start delay: put times in the schedule's spec instead",
                self.workflow_type
            )));
        }
        let args = client.data_converter().encode_raw(self.args.clone()).await?;
        let r = client.start_request(&self.workflow_type, o, args).await?;
        let start = NewWorkflowExecutionInfo {
            workflow_id: r.workflow_id,
            workflow_type: r.workflow_type,
            task_queue: r.task_queue,
            input: r.input,
            workflow_execution_timeout: r.workflow_execution_timeout,
            workflow_run_timeout: r.workflow_run_timeout,
            workflow_task_timeout: r.workflow_task_timeout,
            retry_policy: r.retry_policy,
            memo: r.memo,
            search_attributes: r.search_attributes,
            header: r.header,
            user_metadata: r.user_metadata,
            ..Default::default()
        };
        Ok(ps::ScheduleAction {
            action: Some(ps::schedule_action::Action::StartWorkflow(start)),
        })
    }

    /// Reads a described start back, arguments, memo, summary and details through the codec.
    pub(crate) async fn from_proto(info: NewWorkflowExecutionInfo, client: &Client) -> Result<Self, ClientError> {
        let converter = client.data_converter();
        let mut options = StartOptions::new(info.workflow_id, info.task_queue.map(|q| q.name).unwrap_or_default());
        options.execution_timeout = nonzero(info.workflow_execution_timeout.as_ref());
        options.run_timeout = nonzero(info.workflow_run_timeout.as_ref());
        options.task_timeout = nonzero(info.workflow_task_timeout.as_ref());
        options.retry_policy = info.retry_policy.as_ref().map(RetryPolicy::from);
        options.memo = converter
            .decode_map(info.memo.map(|m| m.fields).unwrap_or_default())
            .await?;
        options.search_attributes = info.search_attributes.map(|s| s.indexed_fields).unwrap_or_default();
        if let Some(metadata) = info.user_metadata {
            options.summary = decode_text(client, metadata.summary).await?;
            options.details = decode_text(client, metadata.details).await?;
        }
        Ok(StartWorkflowAction {
            workflow_type: info.workflow_type.map(|t| t.name).unwrap_or_default(),
            options,
            args: converter.decode_raw(info.input).await?,
        })
    }
}

/// A summary or details text of user metadata, through the codec.
async fn decode_text(client: &Client, payload: Option<Payload>) -> Result<Option<String>, ClientError> {
    let Some(payload) = payload else {
        return Ok(None);
    };
    let decoded = client
        .data_converter()
        .decode_raw(Some(Payloads {
            payloads: vec![payload],
        }))
        .await?;
    Ok(Some(crate::payload::from_optional_payload(decoded.first())?))
}

impl ScheduleAction {
    pub(crate) async fn to_proto(&self, client: &Client) -> Result<ps::ScheduleAction, ClientError> {
        self.start_workflow().to_proto(client).await
    }

    pub(crate) async fn from_proto(action: Option<ps::ScheduleAction>, client: &Client) -> Result<Self, ClientError> {
        match action.and_then(|a| a.action) {
            Some(ps::schedule_action::Action::StartWorkflow(info)) => Ok(ScheduleAction::StartWorkflow(
                StartWorkflowAction::from_proto(info, client).await?,
            )),
            None => Err(ClientError::Server {
                code: tonic::Code::Unimplemented,
                message: "the server described a schedule whose action this client does not know".into(),
            }),
        }
    }
}
