//! Where a run's interceptors see what comes in and what goes out: every command the run
//! issues passes [`RunState::issue`], every local activity request
//! [`RunState::intercept_local`], and the engine reports the run's start, signals, queries and
//! updates through [`RunState::intercept_inbound`].

use super::commands::WorkflowCommand;
use super::run_state::RunState;
use crate::client::headers::Headers;
use crate::client::proto::common::Header;
use crate::interceptor::{InboundKind, OutboundKind, WorkerInterceptor, WorkflowInbound, WorkflowOutbound};
use crate::workflow::local_activity::LocalActivityRequest;
use std::sync::Arc;

impl RunState {
    /// Issues `command`: the run's interceptors see it first and may set its headers.
    pub(crate) fn issue(&mut self, mut command: WorkflowCommand) {
        if !self.interceptors.is_empty()
            && let WorkflowCommand::ScheduleNexusOperation { attributes, .. } = &mut command
        {
            let kind = OutboundKind::NexusOperation {
                endpoint: attributes.endpoint.clone(),
                service: attributes.service.clone(),
                operation: attributes.operation.clone(),
            };
            let mut headers = std::mem::take(&mut attributes.nexus_header);
            self.intercept_outbound_nexus(kind, &mut headers);
            attributes.nexus_header = headers;
        } else if !self.interceptors.is_empty()
            && let Some((kind, header)) = outbound_of(&mut command)
        {
            match header {
                Some(header) => {
                    let mut headers = Headers::from(header.take());
                    self.intercept_outbound(kind, Some(&mut headers));
                    *header = headers.to_proto();
                }
                None => self.intercept_outbound(kind, None),
            }
        }
        self.commands.push_back(command);
    }

    /// A local activity about to be requested (or met again on replay): the interceptors set
    /// its headers.
    pub(crate) fn intercept_local(&mut self, request: &mut LocalActivityRequest) {
        let kind = OutboundKind::LocalActivity {
            activity_type: request.activity_type.clone(),
        };
        let mut headers = std::mem::take(&mut request.headers);
        self.intercept_outbound(kind, Some(&mut headers));
        request.headers = headers;
    }

    fn intercept_outbound(&mut self, kind: OutboundKind, mut headers: Option<&mut Headers>) {
        for interceptor in &mut self.interceptors {
            interceptor.outbound(&mut WorkflowOutbound {
                kind: kind.clone(),
                headers: headers.as_deref_mut(),
                nexus_headers: None,
                info: &self.info,
                now: self.now,
                replaying: self.replaying,
            });
        }
    }

    fn intercept_outbound_nexus(
        &mut self,
        kind: OutboundKind,
        headers: &mut std::collections::HashMap<String, String>,
    ) {
        for interceptor in &mut self.interceptors {
            interceptor.outbound(&mut WorkflowOutbound {
                kind: kind.clone(),
                headers: None,
                nexus_headers: Some(&mut *headers),
                info: &self.info,
                now: self.now,
                replaying: self.replaying,
            });
        }
    }

    /// Something arrives for the run: the interceptors see it before its handler runs.
    pub(crate) fn intercept_inbound(
        &mut self,
        kind: InboundKind,
        name: &str,
        update_id: Option<&str>,
        header: Option<&Header>,
    ) {
        if self.interceptors.is_empty() {
            return;
        }
        let headers = header.cloned().map(Headers::from).unwrap_or_default();
        // A query reads the state as it is; it is never part of a replay.
        let replaying = self.replaying && kind != InboundKind::Query;
        for interceptor in &mut self.interceptors {
            interceptor.inbound(&WorkflowInbound {
                kind,
                name,
                update_id,
                headers: &headers,
                info: &self.info,
                now: self.now,
                replaying,
            });
        }
    }

    /// The run has started (its info is complete): each worker interceptor may give it an
    /// interceptor of its own, which then sees the start.
    pub(crate) fn start_interceptors(&mut self, worker: &[Arc<dyn WorkerInterceptor>], header: Option<&Header>) {
        self.interceptors = worker.iter().filter_map(|w| w.workflow(&self.info)).collect();
        let workflow_type = self.info.workflow_type.clone();
        self.intercept_inbound(InboundKind::Run, &workflow_type, None, header);
    }
}

/// What a command means to an interceptor, and where its header is (if it has one).
fn outbound_of(command: &mut WorkflowCommand) -> Option<(OutboundKind, Option<&mut Option<Header>>)> {
    Some(match command {
        WorkflowCommand::ScheduleActivity { attributes, .. } => (
            OutboundKind::Activity {
                activity_type: super::commands::activity_type_name(attributes).to_string(),
                activity_id: attributes.activity_id.clone(),
            },
            Some(&mut attributes.header),
        ),
        WorkflowCommand::StartChild { attributes, .. } => (
            OutboundKind::Child {
                workflow_type: attributes
                    .workflow_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                workflow_id: attributes.workflow_id.clone(),
            },
            Some(&mut attributes.header),
        ),
        WorkflowCommand::SignalExternal { attributes, .. } => (
            OutboundKind::SignalExternal {
                signal: attributes.signal_name.clone(),
                workflow_id: attributes
                    .execution
                    .as_ref()
                    .map(|e| e.workflow_id.clone())
                    .unwrap_or_default(),
            },
            Some(&mut attributes.header),
        ),
        WorkflowCommand::CancelExternal { attributes, .. } => (
            OutboundKind::CancelExternal {
                workflow_id: attributes.workflow_id.clone(),
            },
            None,
        ),
        WorkflowCommand::StartTimer { duration, .. } => (OutboundKind::Timer { duration: *duration }, None),
        WorkflowCommand::ContinueAsNew { attributes } => (
            OutboundKind::ContinueAsNew {
                workflow_type: attributes
                    .workflow_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            },
            Some(&mut attributes.header),
        ),
        WorkflowCommand::Complete { .. } => (OutboundKind::Complete, None),
        WorkflowCommand::Fail { failure } => (
            OutboundKind::Fail {
                failure: Box::new(failure.clone()),
            },
            None,
        ),
        WorkflowCommand::Cancel { .. } => (OutboundKind::Cancel, None),
        _ => return None,
    })
}
