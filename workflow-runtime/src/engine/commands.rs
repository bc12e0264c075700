//! Commands the workflow code issues: how each reads in messages and what is sent for it.
//! How each is recognised in history is the [`matcher`](super::matcher)'s business.

use crate::client::failure::Failure;
use crate::client::proto::command::{self as pc, command::Attributes as CmdAttr};
use crate::client::proto::common::{ActivityType, Payloads};
use crate::client::proto::enums::CommandType;
use crate::client::proto::protocol::Message;
use crate::client::time::to_proto_duration;
use std::time::Duration;

/// A command produced by workflow code, waiting to be sent or to be matched against history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WorkflowCommand {
    ScheduleActivity {
        seq: u32,
        attributes: Box<pc::ScheduleActivityTaskCommandAttributes>,
        /// A one-line summary the web UI shows for the activity.
        summary: Option<String>,
    },
    RequestCancelActivity {
        seq: u32,
        scheduled_event_id: i64,
    },
    StartTimer {
        seq: u32,
        duration: Duration,
        /// A one-line summary the web UI shows for the timer.
        summary: Option<String>,
    },
    CancelTimer {
        seq: u32,
    },
    Complete {
        result: Option<Payloads>,
    },
    /// A protocol message that history records (an update's acceptance or completion).
    Protocol {
        update_id: String,
        completed: bool,
        message: Box<Message>,
    },
    Fail {
        failure: Failure,
    },
    /// Ends the run as canceled (after a cancel request).
    Cancel {
        details: Vec<crate::client::proto::common::Payload>,
    },
    ContinueAsNew {
        attributes: Box<pc::ContinueAsNewWorkflowExecutionCommandAttributes>,
    },
    /// A side effect's value, recorded so replay reads it instead of running the code again.
    SideEffect {
        seq: u32,
        value: crate::client::proto::common::Payload,
    },
    /// Search attributes set or removed by workflow code.
    UpsertSearchAttributes {
        attributes: std::collections::HashMap<String, crate::client::proto::common::Payload>,
    },
    /// Memo fields set by workflow code.
    UpsertMemo {
        fields: std::collections::HashMap<String, crate::client::proto::common::Payload>,
    },
    /// A local activity's result, recorded so replay reads it instead of running it again.
    LocalActivityMarker {
        seq: u32,
        attributes: Box<pc::RecordMarkerCommandAttributes>,
    },
    /// A version marker: `patched(id)` or `deprecate_patch(id)` ran live.
    Patch {
        id: String,
        deprecated: bool,
    },
    StartChild {
        seq: u32,
        attributes: Box<pc::StartChildWorkflowExecutionCommandAttributes>,
        /// A one-line summary the web UI shows for the child.
        summary: Option<String>,
    },
    SignalExternal {
        seq: u32,
        attributes: Box<pc::SignalExternalWorkflowExecutionCommandAttributes>,
    },
    CancelExternal {
        seq: u32,
        attributes: Box<pc::RequestCancelExternalWorkflowExecutionCommandAttributes>,
    },
    ScheduleNexusOperation {
        seq: u32,
        attributes: Box<pc::ScheduleNexusOperationCommandAttributes>,
    },
    RequestCancelNexusOperation {
        seq: u32,
        scheduled_event_id: i64,
    },
}

/// The marker name side effects are recorded under (the one other SDKs use).
pub(crate) const SIDE_EFFECT_MARKER: &str = "SideEffect";

/// The marker name patches are recorded under (the one the SDKs built on Temporal's core use).
pub(crate) const PATCH_MARKER: &str = "core_patch";

/// The details key of a patch marker's `{id, deprecated}` JSON, as sdk-core writes it.
pub(crate) const PATCH_DETAILS_KEY: &str = "patch-data";
/// The key this engine wrote before it matched sdk-core; still read.
pub(crate) const OLD_PATCH_DETAILS_KEY: &str = "patch_data";

impl WorkflowCommand {
    /// How the command reads in a nondeterminism message.
    pub(crate) fn describe(&self) -> String {
        match self {
            WorkflowCommand::ScheduleActivity { attributes, .. } => format!(
                "ScheduleActivityTask(type {}, id {})",
                attributes.activity_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
                attributes.activity_id
            ),
            WorkflowCommand::RequestCancelActivity { scheduled_event_id, .. } => {
                format!("RequestCancelActivityTask(scheduled event {scheduled_event_id})")
            }
            WorkflowCommand::StartTimer { seq, duration, .. } => format!("StartTimer(id {seq}, {duration:?})"),
            WorkflowCommand::CancelTimer { seq } => format!("CancelTimer(id {seq})"),
            WorkflowCommand::Complete { .. } => "CompleteWorkflowExecution".to_string(),
            WorkflowCommand::Protocol {
                update_id, completed, ..
            } => format!(
                "{} update {update_id}",
                if *completed { "CompleteUpdate" } else { "AcceptUpdate" }
            ),
            WorkflowCommand::Fail { .. } => "FailWorkflowExecution".to_string(),
            WorkflowCommand::Cancel { .. } => "CancelWorkflowExecution".to_string(),
            WorkflowCommand::ContinueAsNew { .. } => "ContinueAsNewWorkflowExecution".to_string(),
            WorkflowCommand::SideEffect { seq, .. } => format!("RecordMarker(SideEffect, id {seq})"),
            WorkflowCommand::UpsertSearchAttributes { attributes } => {
                let mut names: Vec<&str> = attributes.keys().map(String::as_str).collect();
                names.sort();
                format!("UpsertWorkflowSearchAttributes({})", names.join(", "))
            }
            WorkflowCommand::UpsertMemo { fields } => {
                let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
                names.sort();
                format!("ModifyWorkflowProperties(memo {})", names.join(", "))
            }
            WorkflowCommand::LocalActivityMarker { seq, attributes } => format!(
                "RecordMarker(local activity {seq}, type {})",
                super::matcher::marker_activity_type(&attributes.details).unwrap_or_default()
            ),
            WorkflowCommand::Patch { id, deprecated } => format!(
                "RecordMarker(patch {id}{})",
                if *deprecated { ", deprecated" } else { "" }
            ),
            WorkflowCommand::StartChild { attributes, .. } => format!(
                "StartChildWorkflowExecution(type {}, id {})",
                attributes.workflow_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
                attributes.workflow_id
            ),
            WorkflowCommand::SignalExternal { attributes, .. } => format!(
                "SignalExternalWorkflowExecution(signal {}, id {})",
                attributes.signal_name,
                attributes
                    .execution
                    .as_ref()
                    .map(|e| e.workflow_id.as_str())
                    .unwrap_or("")
            ),
            WorkflowCommand::CancelExternal { attributes, .. } => {
                format!("RequestCancelExternalWorkflowExecution(id {})", attributes.workflow_id)
            }
            WorkflowCommand::ScheduleNexusOperation { attributes, .. } => format!(
                "ScheduleNexusOperation({}.{} through {})",
                attributes.service, attributes.operation, attributes.endpoint
            ),
            WorkflowCommand::RequestCancelNexusOperation { scheduled_event_id, .. } => {
                format!("RequestCancelNexusOperation(scheduled event {scheduled_event_id})")
            }
        }
    }

    /// The proto sent to the server.
    pub(crate) fn to_proto(&self) -> pc::Command {
        let (command_type, attributes) = match self.clone() {
            WorkflowCommand::ScheduleActivity { attributes, .. } => (
                CommandType::ScheduleActivityTask,
                CmdAttr::ScheduleActivityTaskCommandAttributes(*attributes),
            ),
            WorkflowCommand::RequestCancelActivity { scheduled_event_id, .. } => (
                CommandType::RequestCancelActivityTask,
                CmdAttr::RequestCancelActivityTaskCommandAttributes(pc::RequestCancelActivityTaskCommandAttributes {
                    scheduled_event_id,
                }),
            ),
            WorkflowCommand::StartTimer { seq, duration, .. } => (
                CommandType::StartTimer,
                CmdAttr::StartTimerCommandAttributes(pc::StartTimerCommandAttributes {
                    timer_id: seq.to_string(),
                    start_to_fire_timeout: Some(to_proto_duration(duration)),
                }),
            ),
            WorkflowCommand::CancelTimer { seq } => (
                CommandType::CancelTimer,
                CmdAttr::CancelTimerCommandAttributes(pc::CancelTimerCommandAttributes {
                    timer_id: seq.to_string(),
                }),
            ),
            WorkflowCommand::Complete { result } => (
                CommandType::CompleteWorkflowExecution,
                CmdAttr::CompleteWorkflowExecutionCommandAttributes(pc::CompleteWorkflowExecutionCommandAttributes {
                    result,
                }),
            ),
            WorkflowCommand::Protocol { message, .. } => (
                CommandType::ProtocolMessage,
                CmdAttr::ProtocolMessageCommandAttributes(pc::ProtocolMessageCommandAttributes {
                    message_id: message.id,
                }),
            ),
            WorkflowCommand::ContinueAsNew { attributes } => (
                CommandType::ContinueAsNewWorkflowExecution,
                CmdAttr::ContinueAsNewWorkflowExecutionCommandAttributes(*attributes),
            ),
            WorkflowCommand::SideEffect { seq, value } => {
                let mut details = std::collections::HashMap::new();
                details.insert("data".to_string(), Payloads { payloads: vec![value] });
                if let Ok(id) = crate::client::payload::to_payload(&seq) {
                    details.insert("id".to_string(), Payloads { payloads: vec![id] });
                }
                (
                    CommandType::RecordMarker,
                    CmdAttr::RecordMarkerCommandAttributes(pc::RecordMarkerCommandAttributes {
                        marker_name: SIDE_EFFECT_MARKER.to_string(),
                        details,
                        ..Default::default()
                    }),
                )
            }
            WorkflowCommand::UpsertSearchAttributes { attributes } => (
                CommandType::UpsertWorkflowSearchAttributes,
                CmdAttr::UpsertWorkflowSearchAttributesCommandAttributes(
                    pc::UpsertWorkflowSearchAttributesCommandAttributes {
                        search_attributes: Some(crate::client::proto::common::SearchAttributes {
                            indexed_fields: attributes,
                        }),
                    },
                ),
            ),
            WorkflowCommand::UpsertMemo { fields } => (
                CommandType::ModifyWorkflowProperties,
                CmdAttr::ModifyWorkflowPropertiesCommandAttributes(pc::ModifyWorkflowPropertiesCommandAttributes {
                    upserted_memo: Some(crate::client::proto::common::Memo { fields }),
                }),
            ),
            WorkflowCommand::LocalActivityMarker { attributes, .. } => (
                CommandType::RecordMarker,
                CmdAttr::RecordMarkerCommandAttributes(*attributes),
            ),
            WorkflowCommand::Patch { id, deprecated } => {
                let mut details = std::collections::HashMap::new();
                let data = serde_json::json!({ "id": id, "deprecated": deprecated });
                if let Ok(p) = crate::client::payload::to_payload(&data) {
                    details.insert(PATCH_DETAILS_KEY.to_string(), Payloads { payloads: vec![p] });
                }
                (
                    CommandType::RecordMarker,
                    CmdAttr::RecordMarkerCommandAttributes(pc::RecordMarkerCommandAttributes {
                        marker_name: PATCH_MARKER.to_string(),
                        details,
                        ..Default::default()
                    }),
                )
            }
            WorkflowCommand::StartChild { attributes, .. } => (
                CommandType::StartChildWorkflowExecution,
                CmdAttr::StartChildWorkflowExecutionCommandAttributes(*attributes),
            ),
            WorkflowCommand::SignalExternal { attributes, .. } => (
                CommandType::SignalExternalWorkflowExecution,
                CmdAttr::SignalExternalWorkflowExecutionCommandAttributes(*attributes),
            ),
            WorkflowCommand::CancelExternal { attributes, .. } => (
                CommandType::RequestCancelExternalWorkflowExecution,
                CmdAttr::RequestCancelExternalWorkflowExecutionCommandAttributes(*attributes),
            ),
            WorkflowCommand::ScheduleNexusOperation { attributes, .. } => (
                CommandType::ScheduleNexusOperation,
                CmdAttr::ScheduleNexusOperationCommandAttributes(*attributes),
            ),
            WorkflowCommand::RequestCancelNexusOperation { scheduled_event_id, .. } => (
                CommandType::RequestCancelNexusOperation,
                CmdAttr::RequestCancelNexusOperationCommandAttributes(
                    pc::RequestCancelNexusOperationCommandAttributes { scheduled_event_id },
                ),
            ),
            WorkflowCommand::Cancel { details } => (
                CommandType::CancelWorkflowExecution,
                CmdAttr::CancelWorkflowExecutionCommandAttributes(pc::CancelWorkflowExecutionCommandAttributes {
                    details: (!details.is_empty()).then_some(Payloads { payloads: details }),
                }),
            ),
            WorkflowCommand::Fail { failure } => (
                CommandType::FailWorkflowExecution,
                CmdAttr::FailWorkflowExecutionCommandAttributes(pc::FailWorkflowExecutionCommandAttributes {
                    failure: Some(failure.into()),
                }),
            ),
        };
        let summary = match self {
            WorkflowCommand::ScheduleActivity { summary, .. }
            | WorkflowCommand::StartTimer { summary, .. }
            | WorkflowCommand::StartChild { summary, .. } => summary.as_deref(),
            _ => None,
        };
        pc::Command {
            command_type: command_type as i32,
            attributes: Some(attributes),
            user_metadata: summary.and_then(user_metadata),
            ..Default::default()
        }
    }
}

/// A summary as the UI reads it: a JSON string payload (the codec applies on the way out).
fn user_metadata(summary: &str) -> Option<crate::client::proto::sdk::UserMetadata> {
    let summary = crate::client::payload::to_payload(summary).ok()?;
    Some(crate::client::proto::sdk::UserMetadata {
        summary: Some(summary),
        details: None,
    })
}

/// The activity type of a schedule command (for messages and the stack trace).
pub(crate) fn activity_type_name(attributes: &pc::ScheduleActivityTaskCommandAttributes) -> &str {
    attributes
        .activity_type
        .as_ref()
        .map(|t: &ActivityType| t.name.as_str())
        .unwrap_or("")
}
