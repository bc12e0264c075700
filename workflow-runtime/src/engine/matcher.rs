//! Matching history against the code: which command an event records, and what the markers
//! other SDKs and this engine write (side effects, patches, local activities) hold.

use super::commands::{OLD_PATCH_DETAILS_KEY, PATCH_DETAILS_KEY, PATCH_MARKER, SIDE_EFFECT_MARKER, WorkflowCommand};
use super::run::Run;
use crate::client::failure::Failure;
use crate::client::payload;
use crate::client::proto::common::Payloads;
use crate::client::proto::history::{HistoryEvent, history_event::Attributes as EvAttr};
use crate::workflow::error::TaskError;
use crate::workflow::local_activity::{LOCAL_ACTIVITY_MARKER, LocalActivityResult, MarkerTimes};

impl Run {
    /// Pops the oldest unmatched command and checks it is the one `event` records.
    pub(super) fn match_command(&mut self, event: &HistoryEvent) -> Result<(), TaskError> {
        // A deprecated patch the code no longer mentions is skipped, with the upsert of the
        // run's patch ids that followed it.
        let after_skipped_patch = std::mem::take(&mut self.skipped_deprecated_patch);
        let skippable = |event: &HistoryEvent| {
            if matches!(patch_marker(event), Some((_, true))) {
                return Some(true);
            }
            (after_skipped_patch && is_change_version_upsert(event)).then_some(false)
        };
        let front = self.state.borrow().commands.front().cloned();
        let Some(command) = front.clone().filter(|c| c.matches(event)) else {
            if let Some(patch) = skippable(event) {
                self.skipped_deprecated_patch = patch;
                return Ok(());
            }
            let produced = front.map_or_else(|| "nothing".to_string(), |c| c.describe());
            return Err(self.nondeterminism(event.event_id, describe_event(event), produced));
        };
        self.state.borrow_mut().commands.pop_front();
        self.matched_in_task.push(command.describe());
        let mut run = self.state.borrow_mut();
        match command {
            WorkflowCommand::ScheduleActivity { seq, .. } => {
                run.activities.recorded(event.event_id, seq);
                if let Some(slot) = run.activities.get_mut(seq) {
                    slot.scheduled_event_id = Some(event.event_id);
                }
            }
            WorkflowCommand::StartChild { seq, .. } => {
                run.children.recorded(event.event_id, seq);
                if let Some(slot) = run.children.get_mut(seq) {
                    slot.initiated_event_id = Some(event.event_id);
                }
            }
            WorkflowCommand::SignalExternal { seq, .. } | WorkflowCommand::CancelExternal { seq, .. } => {
                run.externals.recorded(event.event_id, seq);
            }
            WorkflowCommand::ScheduleNexusOperation { seq, .. } => {
                run.nexus.recorded(event.event_id, seq);
                if let Some(slot) = run.nexus.get_mut(seq) {
                    slot.scheduled_event_id = Some(event.event_id);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl WorkflowCommand {
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
            ) => local_activity_marker(event).is_some_and(|r| {
                // The type is checked where history recorded one (sdk-core's id and type checks).
                r.seq == *seq
                    && (r.recorded_type.is_none() || r.recorded_type == marker_activity_type(&attributes.details))
            }),
            (WorkflowCommand::Patch { id, .. }, Some(EvAttr::MarkerRecordedEventAttributes(_))) => {
                patch_marker(event).is_some_and(|(recorded, _)| &recorded == id)
            }
            (
                WorkflowCommand::RequestCancelNexusOperation { scheduled_event_id, .. },
                Some(EvAttr::NexusOperationCancelRequestedEventAttributes(a)),
            ) => a.scheduled_event_id == *scheduled_event_id,
            (
                WorkflowCommand::ScheduleNexusOperation { attributes, .. },
                Some(EvAttr::NexusOperationScheduledEventAttributes(a)),
            ) => {
                a.endpoint == attributes.endpoint
                    && a.service == attributes.service
                    && a.operation == attributes.operation
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
                | EvAttr::NexusOperationScheduledEventAttributes(_)
                | EvAttr::NexusOperationCancelRequestedEventAttributes(_)
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
            None if a.marker_name == LOCAL_ACTIVITY_MARKER => {
                let seq = local_activity_marker(event).map(|r| r.seq).unwrap_or(0);
                let ty = marker_activity_type(&a.details).unwrap_or_default();
                format!("MarkerRecorded(local activity {seq}, type {ty})")
            }
            Some((id, deprecated)) => format!(
                "MarkerRecorded(patch {id}{})",
                if deprecated { ", deprecated" } else { "" }
            ),
            None => format!("MarkerRecorded({})", a.marker_name),
        },
        Some(EvAttr::NexusOperationCancelRequestedEventAttributes(a)) => {
            format!(
                "NexusOperationCancelRequested(scheduled event {})",
                a.scheduled_event_id
            )
        }
        Some(EvAttr::NexusOperationScheduledEventAttributes(a)) => format!(
            "NexusOperationScheduled({}.{} through {})",
            a.service, a.operation, a.endpoint
        ),
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
        s.indexed_fields.len() == 1
            && s.indexed_fields
                .contains_key(crate::workflow::context::CHANGE_VERSION_ATTRIBUTE)
    })
}

/// The value a `SideEffect` marker recorded.
pub(crate) fn side_effect_value(event: &HistoryEvent) -> Option<crate::client::proto::common::Payload> {
    match &event.attributes {
        Some(EvAttr::MarkerRecordedEventAttributes(a)) if a.marker_name == SIDE_EFFECT_MARKER => {
            a.details.get("data").and_then(|p| p.payloads.first().cloned())
        }
        _ => None,
    }
}

/// The activity type in a local activity marker's `data` details.
pub(crate) fn marker_activity_type(details: &std::collections::HashMap<String, Payloads>) -> Option<String> {
    let data = details.get("data")?.payloads.first()?;
    let data: serde_json::Value = payload::from_payload(data).ok()?;
    Some(data.get("activity_type")?.as_str()?.to_string())
}

/// The seq and outcome a local activity marker recorded.
pub(crate) fn local_activity_marker(event: &HistoryEvent) -> Option<LocalActivityResult> {
    let Some(EvAttr::MarkerRecordedEventAttributes(a)) = &event.attributes else {
        return None;
    };
    if a.marker_name != LOCAL_ACTIVITY_MARKER {
        return None;
    }
    let data = a.details.get("data")?.payloads.first()?;
    let data: serde_json::Value = payload::from_payload(data).ok()?;
    let seq = data.get("seq")?.as_u64()? as u32;
    let attempt = data.get("attempt").and_then(|v| v.as_u64()).unwrap_or(1) as u32;
    let outcome = match &a.failure {
        Some(f) => Err(Failure::from(f.clone())),
        None => Ok(a.details.get("result").and_then(|p| p.payloads.first().cloned())),
    };
    Some(LocalActivityResult {
        seq,
        attempt,
        outcome,
        times: MarkerTimes::default(),
        recorded_type: marker_activity_type(&a.details),
    })
}
