//! Property tests: whatever bytes arrive — payloads, failures, history JSON — decoding answers
//! with a value or a typed error, and never panics.

use proptest::prelude::*;
use std::collections::HashMap;
use workflow_client::Failure;
use workflow_client::history::{history_from_json, history_to_json};
use workflow_client::payload::{Binary, from_payload, to_payload};
use workflow_client::proto::common::{Payload, WorkflowExecution};
use workflow_client::proto::failure::{self as pf, failure::FailureInfo};
use workflow_client::proto::history::HistoryEvent;
use workflow_client::{Proto, ProtoBinary};

fn any_payload() -> impl Strategy<Value = Payload> {
    let encodings = prop_oneof![
        Just(b"json/plain".to_vec()),
        Just(b"binary/plain".to_vec()),
        Just(b"binary/null".to_vec()),
        Just(b"json/protobuf".to_vec()),
        Just(b"binary/protobuf".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    let message_types = prop_oneof![
        Just(None),
        Just(Some(b"temporal.api.common.v1.WorkflowExecution".to_vec())),
        Just(Some(b"temporal.api.history.v1.HistoryEvent".to_vec())),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Some),
    ];
    (encodings, message_types, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
        |(encoding, message_type, data)| {
            let mut metadata = HashMap::from([("encoding".to_string(), encoding)]);
            metadata.extend(message_type.map(|t| ("messageType".to_string(), t)));
            Payload {
                metadata,
                data,
                ..Default::default()
            }
        },
    )
}

fn any_failure() -> impl Strategy<Value = pf::Failure> {
    let leaf =
        (any::<String>(), any::<String>(), 0..8u8, any::<String>()).prop_map(|(message, source, kind, extra)| {
            let info = match kind {
                0 => None,
                1 => Some(FailureInfo::ApplicationFailureInfo(pf::ApplicationFailureInfo {
                    r#type: extra,
                    non_retryable: message.len() % 2 == 0,
                    ..Default::default()
                })),
                2 => Some(FailureInfo::CanceledFailureInfo(Default::default())),
                3 => Some(FailureInfo::TimeoutFailureInfo(pf::TimeoutFailureInfo {
                    timeout_type: message.len() as i32 % 7 - 1,
                    ..Default::default()
                })),
                4 => Some(FailureInfo::TerminatedFailureInfo(Default::default())),
                5 => Some(FailureInfo::ServerFailureInfo(Default::default())),
                6 => Some(FailureInfo::ActivityFailureInfo(pf::ActivityFailureInfo {
                    retry_state: extra.len() as i32 - 3,
                    activity_id: extra,
                    ..Default::default()
                })),
                _ => Some(FailureInfo::ChildWorkflowExecutionFailureInfo(Default::default())),
            };
            pf::Failure {
                message,
                source,
                failure_info: info,
                ..Default::default()
            }
        });
    leaf.prop_recursive(4, 16, 1, |inner| {
        (inner, any::<String>()).prop_map(|(cause, message)| pf::Failure {
            message,
            cause: Some(Box::new(cause)),
            ..Default::default()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn payload_decoding_never_panics(payload in any_payload()) {
        let _ = from_payload::<String>(&payload);
        let _ = from_payload::<u64>(&payload);
        let _ = from_payload::<Vec<HashMap<String, i32>>>(&payload);
        let _ = from_payload::<Binary>(&payload);
        let _ = from_payload::<()>(&payload);
        let _ = from_payload::<serde_json::Value>(&payload);
        let _ = from_payload::<Proto<WorkflowExecution>>(&payload);
        let _ = from_payload::<ProtoBinary<HistoryEvent>>(&payload);
        let _ = from_payload::<Option<Proto<HistoryEvent>>>(&payload);
    }

    #[test]
    fn json_values_round_trip(value in proptest::collection::hash_map(any::<String>(), any::<i64>(), 0..8)) {
        let payload = to_payload(&value).unwrap();
        prop_assert_eq!(from_payload::<HashMap<String, i64>>(&payload).unwrap(), value);
    }

    #[test]
    fn failure_conversion_never_panics_and_round_trips(proto in any_failure()) {
        let failure = Failure::from(proto);
        let _ = failure.to_string();
        let _ = failure.root_cause();
        let back = pf::Failure::from(failure.clone());
        // Converting back and forth again changes nothing more.
        prop_assert_eq!(Failure::from(back), failure);
    }

    #[test]
    fn history_json_import_never_panics(json in "\\\\PC{0,200}") {
        let _ = history_from_json(&json);
    }

    #[test]
    fn truncated_or_corrupted_history_json_is_an_error_not_a_panic(cut in 0usize..1000, flip in 0usize..1000) {
        let valid = include_str!("../../workflow-runtime/tests/histories/cancel.json");
        let mut cut = cut * valid.len() / 1000;
        while !valid.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = history_from_json(&valid[..cut]);
        let mut bytes = valid.as_bytes().to_vec();
        let at = flip * bytes.len() / 1000;
        bytes[at] = b'#';
        let _ = history_from_json(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn a_valid_history_survives_export_and_import() {
    let valid = include_str!("../../workflow-runtime/tests/histories/children.json");
    let history = history_from_json(valid).unwrap();
    let again = history_from_json(&history_to_json(&history).unwrap()).unwrap();
    assert_eq!(history, again);
}
