//! History JSON: read and write histories in the proto3 JSON format that
//! `temporal workflow show --output json` prints and the web UI downloads.
//!
//! ```
//! use workflow_client::history::{history_from_json, history_to_json};
//! let json = r#"{"events":[{"eventId":"1","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
//!   "workflowExecutionStartedEventAttributes":{"workflowType":{"name":"Greeting"}}}]}"#;
//! let history = history_from_json(json).unwrap();
//! assert_eq!(history.events[0].event_id, 1);
//! let again = history_from_json(&history_to_json(&history).unwrap()).unwrap();
//! assert_eq!(again, history);
//! ```

use crate::error::ClientError;
use crate::payload::JSON_PROTOBUF;
use crate::proto::history::History;
use crate::protobuf;
use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

fn history_descriptor() -> Result<MessageDescriptor, ClientError> {
    protobuf::descriptor("temporal.api.history.v1.History").map_err(|e| ClientError::HistoryJson(e.to_string()))
}

/// Writes any Temporal API message (or one whose descriptors were registered with
/// [`protobuf::register_descriptors`]) as compact proto3 JSON (camelCase names, enums as
/// names), as the other SDKs' `json/protobuf` payloads carry it.
pub fn message_to_json<M: Message + prost::Name>(message: &M) -> Result<String, ClientError> {
    let json = protobuf::encode_data(JSON_PROTOBUF, message).map_err(|e| ClientError::HistoryJson(e.to_string()))?;
    String::from_utf8(json).map_err(|e| ClientError::HistoryJson(e.to_string()))
}

/// Reads a history from proto3 JSON (`{"events": [...]}`), as the CLI and web UI write it.
/// Unknown fields (from a newer server) are ignored.
pub fn history_from_json(json: &str) -> Result<History, ClientError> {
    let descriptor = history_descriptor()?;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    let message = DynamicMessage::deserialize_with_options(descriptor, &mut deserializer, &options)
        .map_err(|e| ClientError::HistoryJson(format!("not a Temporal history: {e}")))?;
    deserializer
        .end()
        .map_err(|e| ClientError::HistoryJson(format!("trailing data after the history: {e}")))?;
    message
        .transcode_to::<History>()
        .map_err(|e| ClientError::HistoryJson(format!("history does not re-encode: {e}")))
}

/// Writes a history as pretty proto3 JSON that `temporal` tools read.
pub fn history_to_json(history: &History) -> Result<String, ClientError> {
    let message = protobuf::to_dynamic(history).map_err(|e| ClientError::HistoryJson(e.to_string()))?;
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"  "));
    message
        .serialize_with_options(&mut serializer, &SerializeOptions::new())
        .map_err(|e| ClientError::HistoryJson(e.to_string()))?;
    String::from_utf8(out).map_err(|e| ClientError::HistoryJson(e.to_string()))
}

/// The events a run's own commands produced, in order (scheduled activities, timers, markers,
/// children, signals and cancel requests to other workflows, search attribute and memo
/// changes, update outcomes, and how the run closed): what must be the same wherever and
/// whenever the same code runs on the same input. Compare two runs with it, say one on a
/// server and one in a test environment.
pub fn command_events(history: &History) -> Vec<crate::proto::enums::EventType> {
    use crate::proto::enums::EventType as E;
    history
        .events
        .iter()
        .filter_map(|e| E::try_from(e.event_type).ok())
        .filter(|t| {
            matches!(
                t,
                E::ActivityTaskScheduled
                    | E::ActivityTaskCancelRequested
                    | E::TimerStarted
                    | E::TimerCanceled
                    | E::MarkerRecorded
                    | E::StartChildWorkflowExecutionInitiated
                    | E::SignalExternalWorkflowExecutionInitiated
                    | E::RequestCancelExternalWorkflowExecutionInitiated
                    | E::UpsertWorkflowSearchAttributes
                    | E::WorkflowPropertiesModified
                    | E::WorkflowExecutionUpdateAccepted
                    | E::WorkflowExecutionUpdateCompleted
                    | E::WorkflowExecutionCompleted
                    | E::WorkflowExecutionFailed
                    | E::WorkflowExecutionCanceled
                    | E::WorkflowExecutionContinuedAsNew
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_and_truncated_json_are_typed_errors() {
        for bad in [
            "",
            "{",
            "{\"events\": [",
            "[1,2]",
            "{\"events\": [{\"eventId\": \"x\"}]}",
            "{} trailing",
        ] {
            let err = history_from_json(bad).unwrap_err();
            assert!(matches!(err, ClientError::HistoryJson(_)), "{bad:?} gave {err:?}");
        }
    }
}
