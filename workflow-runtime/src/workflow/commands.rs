//! Commands the workflow code issues, and how each is recognised in history on replay.

use crate::client::failure::Failure;
use crate::client::proto::command::{self as pc, command::Attributes as CmdAttr};
use crate::client::proto::common::{ActivityType, Payloads};
use crate::client::proto::enums::CommandType;
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
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
}

/// The marker name side effects are recorded under (the one other SDKs use).
pub(crate) const SIDE_EFFECT_MARKER: &str = "SideEffect";

/// The marker name patches are recorded under (the one the SDKs built on Temporal's core use).
pub(crate) const PATCH_MARKER: &str = "core_patch";

/// The patch id and deprecation flag of a patch marker.
pub(crate) fn patch_marker(event: &HistoryEvent) -> Option<(String, bool)> {
    let Some(EvAttr::MarkerRecordedEventAttributes(a)) = &event.attributes else {
        return None;
    };
    if a.marker_name != PATCH_MARKER {
        return None;
    }
    let json = a
        .details
        .get(PATCH_DETAILS_KEY)
        .or_else(|| a.details.get(OLD_PATCH_DETAILS_KEY))
        .and_then(|p| p.payloads.first());
    if let Some(data) = json {
        let value: serde_json::Value = crate::client::payload::from_payload(data).ok()?;
        return Some((
            value.get("id")?.as_str()?.to_string(),
            value.get("deprecated").and_then(|d| d.as_bool()).unwrap_or(false),
        ));
    }
    // sdk-core's first layout: the id as raw bytes, `deprecated` as one byte.
    let id = std::str::from_utf8(&a.details.get("patch_id")?.payloads.first()?.data).ok()?;
    let deprecated = a
        .details
        .get("deprecated")
        .and_then(|p| p.payloads.first())
        .and_then(|p| p.data.first())
        .is_some_and(|b| *b != 0);
    Some((id.to_string(), deprecated))
}

/// Whether `event` upserts only `TemporalChangeVersion` (what follows a patch marker).
pub(crate) fn is_change_version_upsert(event: &HistoryEvent) -> bool {
    let Some(EvAttr::UpsertWorkflowSearchAttributesEventAttributes(a)) = &event.attributes else {
        return false;
    };
    a.search_attributes.as_ref().is_some_and(|s| {
        s.indexed_fields.len() == 1 && s.indexed_fields.contains_key(super::context::CHANGE_VERSION_ATTRIBUTE)
    })
}

/// The details key of a patch marker's `{id, deprecated}` JSON, as sdk-core writes it.
const PATCH_DETAILS_KEY: &str = "patch-data";
/// The key this engine wrote before it matched sdk-core; still read.
const OLD_PATCH_DETAILS_KEY: &str = "patch_data";

/// The value a `SideEffect` marker recorded.
pub(crate) fn side_effect_value(event: &HistoryEvent) -> Option<crate::client::proto::common::Payload> {
    match &event.attributes {
        Some(EvAttr::MarkerRecordedEventAttributes(a)) if a.marker_name == SIDE_EFFECT_MARKER => {
            a.details.get("data").and_then(|p| p.payloads.first().cloned())
        }
        _ => None,
    }
}

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
                super::local_activity::marker_activity_type(&attributes.details).unwrap_or_default()
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
        }
    }

    /// Whether `event` is the history record of this command.
    pub(crate) fn matches(&self, event: &HistoryEvent) -> bool {
        match (self, event.attributes.as_ref()) {
            (
                WorkflowCommand::ScheduleActivity { attributes, .. },
                Some(EvAttr::ActivityTaskScheduledEventAttributes(a)),
            ) => {
                a.activity_id == attributes.activity_id
                    && a.activity_type.as_ref().map(|t| &t.name) == attributes.activity_type.as_ref().map(|t| &t.name)
            }
            (
                WorkflowCommand::RequestCancelActivity { scheduled_event_id, .. },
                Some(EvAttr::ActivityTaskCancelRequestedEventAttributes(a)),
            ) => a.scheduled_event_id == *scheduled_event_id,
            (WorkflowCommand::StartTimer { seq, .. }, Some(EvAttr::TimerStartedEventAttributes(a))) => {
                a.timer_id == seq.to_string()
            }
            (WorkflowCommand::CancelTimer { seq }, Some(EvAttr::TimerCanceledEventAttributes(a))) => {
                a.timer_id == seq.to_string()
            }
            (WorkflowCommand::Complete { .. }, Some(EvAttr::WorkflowExecutionCompletedEventAttributes(_))) => true,
            (
                WorkflowCommand::Protocol {
                    update_id,
                    completed: false,
                    ..
                },
                Some(EvAttr::WorkflowExecutionUpdateAcceptedEventAttributes(a)),
            ) => &a.protocol_instance_id == update_id,
            (
                WorkflowCommand::Protocol {
                    update_id,
                    completed: true,
                    ..
                },
                Some(EvAttr::WorkflowExecutionUpdateCompletedEventAttributes(a)),
            ) => a.meta.as_ref().is_some_and(|m| &m.update_id == update_id),
            (WorkflowCommand::Fail { .. }, Some(EvAttr::WorkflowExecutionFailedEventAttributes(_))) => true,
            (WorkflowCommand::Cancel { .. }, Some(EvAttr::WorkflowExecutionCanceledEventAttributes(_))) => true,
            (
                WorkflowCommand::ContinueAsNew { .. },
                Some(EvAttr::WorkflowExecutionContinuedAsNewEventAttributes(_)),
            ) => true,
            (WorkflowCommand::SideEffect { .. }, Some(EvAttr::MarkerRecordedEventAttributes(a))) => {
                a.marker_name == SIDE_EFFECT_MARKER
            }
            (
                WorkflowCommand::UpsertSearchAttributes { .. },
                Some(EvAttr::UpsertWorkflowSearchAttributesEventAttributes(_)),
            ) => true,
            (WorkflowCommand::UpsertMemo { .. }, Some(EvAttr::WorkflowPropertiesModifiedEventAttributes(_))) => true,
            (
                WorkflowCommand::LocalActivityMarker { seq, attributes },
                Some(EvAttr::MarkerRecordedEventAttributes(_)),
            ) => super::local_activity::local_activity_marker(event).is_some_and(|r| {
                // The type is checked where history recorded one (sdk-core's id and type checks).
                r.seq == *seq
                    && (r.recorded_type.is_none()
                        || r.recorded_type == super::local_activity::marker_activity_type(&attributes.details))
            }),
            (WorkflowCommand::Patch { id, .. }, Some(EvAttr::MarkerRecordedEventAttributes(_))) => {
                patch_marker(event).is_some_and(|(recorded, _)| &recorded == id)
            }
            (
                WorkflowCommand::StartChild { attributes, .. },
                Some(EvAttr::StartChildWorkflowExecutionInitiatedEventAttributes(a)),
            ) => {
                a.workflow_id == attributes.workflow_id
                    && a.workflow_type.as_ref().map(|t| &t.name) == attributes.workflow_type.as_ref().map(|t| &t.name)
            }
            (
                WorkflowCommand::SignalExternal { attributes, .. },
                Some(EvAttr::SignalExternalWorkflowExecutionInitiatedEventAttributes(a)),
            ) => {
                a.signal_name == attributes.signal_name
                    && a.workflow_execution.as_ref().map(|e| &e.workflow_id)
                        == attributes.execution.as_ref().map(|e| &e.workflow_id)
            }
            (
                WorkflowCommand::CancelExternal { attributes, .. },
                Some(EvAttr::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(a)),
            ) => a.workflow_execution.as_ref().map(|e| &e.workflow_id) == Some(&attributes.workflow_id),
            _ => false,
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

/// Whether an event is the record of a command (and must be matched against one).
pub(crate) fn is_command_event(event: &HistoryEvent) -> bool {
    matches!(
        event.attributes,
        Some(
            EvAttr::ActivityTaskScheduledEventAttributes(_)
                | EvAttr::ActivityTaskCancelRequestedEventAttributes(_)
                | EvAttr::TimerStartedEventAttributes(_)
                | EvAttr::TimerCanceledEventAttributes(_)
                | EvAttr::WorkflowExecutionCompletedEventAttributes(_)
                | EvAttr::WorkflowExecutionFailedEventAttributes(_)
                | EvAttr::WorkflowExecutionCanceledEventAttributes(_)
                | EvAttr::WorkflowExecutionContinuedAsNewEventAttributes(_)
                | EvAttr::MarkerRecordedEventAttributes(_)
                | EvAttr::StartChildWorkflowExecutionInitiatedEventAttributes(_)
                | EvAttr::SignalExternalWorkflowExecutionInitiatedEventAttributes(_)
                | EvAttr::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_)
                | EvAttr::UpsertWorkflowSearchAttributesEventAttributes(_)
                | EvAttr::WorkflowPropertiesModifiedEventAttributes(_)
                | EvAttr::WorkflowExecutionUpdateAcceptedEventAttributes(_)
                | EvAttr::WorkflowExecutionUpdateCompletedEventAttributes(_)
        )
    )
}

/// A short name of an event for messages (`ActivityTaskScheduled(type charge, id 1)`).
pub(crate) fn describe_event(event: &HistoryEvent) -> String {
    match &event.attributes {
        Some(EvAttr::ActivityTaskScheduledEventAttributes(a)) => format!(
            "ActivityTaskScheduled(type {}, id {})",
            a.activity_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
            a.activity_id
        ),
        Some(EvAttr::TimerStartedEventAttributes(a)) => format!("TimerStarted(id {})", a.timer_id),
        Some(EvAttr::MarkerRecordedEventAttributes(a)) => match patch_marker(event) {
            None if a.marker_name == super::local_activity::LOCAL_ACTIVITY_MARKER => {
                let seq = super::local_activity::local_activity_marker(event)
                    .map(|r| r.seq)
                    .unwrap_or(0);
                let ty = super::local_activity::marker_activity_type(&a.details).unwrap_or_default();
                format!("MarkerRecorded(local activity {seq}, type {ty})")
            }
            Some((id, deprecated)) => format!(
                "MarkerRecorded(patch {id}{})",
                if deprecated { ", deprecated" } else { "" }
            ),
            None => format!("MarkerRecorded({})", a.marker_name),
        },
        Some(EvAttr::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => format!(
            "StartChildWorkflowExecutionInitiated(type {}, id {})",
            a.workflow_type.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
            a.workflow_id
        ),
        Some(EvAttr::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => {
            format!("WorkflowExecutionUpdateAccepted(update {})", a.protocol_instance_id)
        }
        Some(EvAttr::WorkflowExecutionUpdateCompletedEventAttributes(a)) => format!(
            "WorkflowExecutionUpdateCompleted(update {})",
            a.meta.as_ref().map(|m| m.update_id.as_str()).unwrap_or("")
        ),
        Some(EvAttr::TimerCanceledEventAttributes(a)) => format!("TimerCanceled(id {})", a.timer_id),
        Some(EvAttr::ActivityTaskCancelRequestedEventAttributes(a)) => {
            format!("ActivityTaskCancelRequested(scheduled event {})", a.scheduled_event_id)
        }
        Some(other) => {
            let name = format!("{other:?}");
            name.split('(')
                .next()
                .unwrap_or("")
                .trim_end_matches("EventAttributes")
                .to_string()
        }
        None => "an event without attributes".to_string(),
    }
}

/// The activity type of a schedule command (for messages and the stack trace).
pub(crate) fn activity_type_name(attributes: &pc::ScheduleActivityTaskCommandAttributes) -> &str {
    attributes
        .activity_type
        .as_ref()
        .map(|t: &ActivityType| t.name.as_str())
        .unwrap_or("")
}
