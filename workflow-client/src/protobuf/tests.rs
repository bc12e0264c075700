use super::*;
use crate::payload::{
    BINARY_NULL, ENCODING_KEY, JSON_PLAIN, MESSAGE_TYPE_KEY, PayloadArgs, encoding_of, from_optional_payload,
    from_payload, to_payload,
};
use crate::proto::common::{Payload, RetryPolicy, WorkflowExecution};
use crate::proto::enums::EventType;
use crate::proto::history::{HistoryEvent, TimerFiredEventAttributes, history_event::Attributes};
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet,
};
use serde_json::json;

fn run() -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: "order-7".into(),
        run_id: "r1".into(),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_interval: Some(crate::proto::Duration {
            seconds: 1,
            nanos: 500_000_000,
        }),
        backoff_coefficient: 1.5,
        maximum_attempts: 4,
        non_retryable_error_types: vec!["Fatal".into()],
        ..Default::default()
    }
}

fn metadata(payload: &Payload, key: &str) -> String {
    String::from_utf8(payload.metadata[key].clone()).unwrap()
}

fn json_of(payload: &Payload) -> serde_json::Value {
    serde_json::from_slice(&payload.data).unwrap()
}

#[test]
fn proto_is_json_protobuf_with_the_message_type() {
    let payload = to_payload(&Proto(run())).unwrap();
    assert_eq!(encoding_of(&payload), JSON_PROTOBUF);
    assert_eq!(
        metadata(&payload, MESSAGE_TYPE_KEY),
        "temporal.api.common.v1.WorkflowExecution"
    );
    assert_eq!(payload.data, br#"{"workflowId":"order-7","runId":"r1"}"#);
    assert_eq!(
        from_payload::<Proto<WorkflowExecution>>(&payload).unwrap(),
        Proto(run())
    );
}

#[test]
fn proto_binary_is_binary_protobuf_with_the_message_type() {
    let payload = to_payload(&ProtoBinary(policy())).unwrap();
    assert_eq!(encoding_of(&payload), BINARY_PROTOBUF);
    assert_eq!(
        metadata(&payload, MESSAGE_TYPE_KEY),
        "temporal.api.common.v1.RetryPolicy"
    );
    assert_eq!(payload.data, policy().encode_to_vec());
    assert_eq!(from_payload::<ProtoBinary<RetryPolicy>>(&payload).unwrap().0, policy());
}

#[test]
fn each_wrapper_reads_both_encodings() {
    let json = to_payload(&Proto(policy())).unwrap();
    let binary = to_payload(&ProtoBinary(policy())).unwrap();
    assert_eq!(from_payload::<ProtoBinary<RetryPolicy>>(&json).unwrap().0, policy());
    assert_eq!(from_payload::<Proto<RetryPolicy>>(&binary).unwrap().0, policy());
    // Well-known types take their JSON forms.
    assert_eq!(
        json_of(&json),
        json!({"initialInterval": "1.500s", "backoffCoefficient": 1.5, "maximumAttempts": 4,
               "nonRetryableErrorTypes": ["Fatal"]})
    );
}

#[test]
fn json_is_the_proto3_mapping_for_int64_enums_timestamps_and_nesting() {
    let event = HistoryEvent {
        event_id: 42,
        event_time: Some(crate::proto::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        event_type: EventType::TimerFired as i32,
        task_id: 9_007_199_254_740_993, // above 2^53: exact only as a string
        attributes: Some(Attributes::TimerFiredEventAttributes(TimerFiredEventAttributes {
            timer_id: "t1".into(),
            started_event_id: 7,
        })),
        ..Default::default()
    };
    let payload = to_payload(&Proto(event.clone())).unwrap();
    assert_eq!(
        json_of(&payload),
        json!({
            "eventId": "42",
            "eventTime": "2023-11-14T22:13:20Z",
            "eventType": "EVENT_TYPE_TIMER_FIRED",
            "taskId": "9007199254740993",
            "timerFiredEventAttributes": {"timerId": "t1", "startedEventId": "7"}
        })
    );
    assert_eq!(from_payload::<Proto<HistoryEvent>>(&payload).unwrap().0, event);
    // What other writers may send is read too: original field names, numbers for enums and
    // 64-bit integers, unknown fields (skipped).
    let mut other = payload.clone();
    other.data = br#"{"event_id": 42, "eventTime": "2023-11-14T22:13:20Z", "eventType": 18,
        "taskId": "9007199254740993", "newerField": true,
        "timerFiredEventAttributes": {"timer_id": "t1", "startedEventId": 7}}"#
        .to_vec();
    assert_eq!(EventType::TimerFired as i32, 18);
    assert_eq!(from_payload::<Proto<HistoryEvent>>(&other).unwrap().0, event);
}

#[test]
fn another_message_type_is_a_typed_mismatch() {
    for payload in [
        to_payload(&Proto(run())).unwrap(),
        to_payload(&ProtoBinary(run())).unwrap(),
    ] {
        let err = from_payload::<Proto<RetryPolicy>>(&payload).unwrap_err();
        assert_eq!(
            err,
            PayloadError::MessageTypeMismatch {
                expected: "temporal.api.common.v1.RetryPolicy".into(),
                found: "temporal.api.common.v1.WorkflowExecution".into(),
            }
        );
        assert!(
            err.to_string().contains("`temporal.api.common.v1.WorkflowExecution`"),
            "{err}"
        );
    }
}

#[test]
fn a_payload_without_message_type_reads_as_the_expected_type() {
    // The Go SDK leaves `messageType` out with `ExcludeProtobufMessageTypes`.
    let mut payload = to_payload(&ProtoBinary(policy())).unwrap();
    payload.metadata.remove(MESSAGE_TYPE_KEY);
    assert_eq!(from_payload::<Proto<RetryPolicy>>(&payload).unwrap().0, policy());
}

#[test]
fn encodings_a_type_does_not_read_are_typed_mismatches() {
    let plain = to_payload(&json!({"workflowId": "order-7"})).unwrap();
    let err = from_payload::<Proto<WorkflowExecution>>(&plain).unwrap_err();
    assert!(
        matches!(&err, PayloadError::EncodingMismatch { encoding, reads, .. }
            if encoding == JSON_PLAIN && reads.contains("json/protobuf")),
        "{err:?}"
    );
    let null = to_payload(&()).unwrap();
    assert!(matches!(
        from_payload::<ProtoBinary<WorkflowExecution>>(&null),
        Err(PayloadError::EncodingMismatch { .. })
    ));
    assert!(matches!(
        from_optional_payload::<Proto<WorkflowExecution>>(None),
        Err(PayloadError::EncodingMismatch { encoding, .. }) if encoding == "(no payload)"
    ));
    // And a protobuf payload for a serde type.
    let proto = to_payload(&Proto(run())).unwrap();
    for err in [
        from_payload::<u64>(&proto).unwrap_err(),
        from_payload::<serde_json::Value>(&proto).unwrap_err(),
    ] {
        assert!(
            matches!(&err, PayloadError::EncodingMismatch { encoding, reads, .. }
                if encoding == JSON_PROTOBUF && reads.contains("Proto<M>")),
            "{err:?}"
        );
    }
}

#[test]
fn an_optional_message_is_binary_null_or_a_protobuf_payload() {
    let none = to_payload(&None::<Proto<WorkflowExecution>>).unwrap();
    assert_eq!(encoding_of(&none), BINARY_NULL);
    assert_eq!(from_payload::<Option<Proto<WorkflowExecution>>>(&none).unwrap(), None);
    let some = to_payload(&Some(ProtoBinary(run()))).unwrap();
    assert_eq!(encoding_of(&some), BINARY_PROTOBUF);
    assert_eq!(
        from_payload::<Option<ProtoBinary<WorkflowExecution>>>(&some).unwrap(),
        Some(ProtoBinary(run()))
    );
}

#[test]
fn a_newtype_around_a_wrapper_is_the_wrapper() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Execution(Proto<WorkflowExecution>);
    let payload = to_payload(&Execution(Proto(run()))).unwrap();
    assert_eq!(encoding_of(&payload), JSON_PROTOBUF);
    assert_eq!(from_payload::<Execution>(&payload).unwrap(), Execution(Proto(run())));
    assert!(from_payload::<Execution>(&to_payload(&"x").unwrap()).is_err());
}

#[test]
fn inside_another_value_a_message_is_its_proto3_json() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Order {
        id: String,
        parent: Proto<WorkflowExecution>,
        retry: Vec<ProtoBinary<RetryPolicy>>,
    }
    let order = Order {
        id: "o1".into(),
        parent: Proto(run()),
        retry: vec![ProtoBinary(policy())],
    };
    let payload = to_payload(&order).unwrap();
    assert_eq!(encoding_of(&payload), JSON_PLAIN);
    assert_eq!(
        json_of(&payload)["parent"],
        json!({"workflowId": "order-7", "runId": "r1"})
    );
    assert_eq!(json_of(&payload)["retry"][0]["initialInterval"], json!("1.500s"));
    assert_eq!(from_payload::<Order>(&payload).unwrap(), order);
}

#[test]
fn argument_lists_mix_wrappers_and_serde_values() {
    let args = (Proto(run()), ProtoBinary(policy()), "note".to_string());
    let payloads = args.to_payloads().unwrap();
    let encodings: Vec<&str> = payloads.iter().map(encoding_of).collect();
    assert_eq!(encodings, [JSON_PROTOBUF, BINARY_PROTOBUF, JSON_PLAIN]);
    assert_eq!(
        <(Proto<WorkflowExecution>, ProtoBinary<RetryPolicy>, String)>::from_payloads(&payloads).unwrap(),
        args
    );
}

#[test]
fn decode_errors_never_repeat_the_payload() {
    let mut payload = to_payload(&Proto(run())).unwrap();
    payload.data = br#"{"workflowId": 4111111111111111}"#.to_vec();
    let err = from_payload::<Proto<WorkflowExecution>>(&payload).unwrap_err();
    assert!(matches!(err, PayloadError::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("4111"), "{err}");
    payload.metadata.insert(ENCODING_KEY.into(), BINARY_PROTOBUF.into());
    payload.data = vec![0xff, 0xff, 0xff];
    assert!(matches!(
        from_payload::<Proto<WorkflowExecution>>(&payload),
        Err(PayloadError::Decode { .. })
    ));
}

// An application's own messages, as prost-build generates them (with `enable_type_names`).

#[derive(Clone, PartialEq, prost::Message)]
struct Shipment {
    #[prost(int64, tag = "1")]
    weight_grams: i64,
    #[prost(enumeration = "Carrier", tag = "2")]
    carrier: i32,
    #[prost(message, optional, tag = "3")]
    destination: Option<Address>,
    #[prost(uint64, repeated, tag = "4")]
    parcel_ids: Vec<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Address {
    #[prost(string, tag = "1")]
    postal_code: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum Carrier {
    Unspecified = 0,
    Rail = 1,
}

impl Name for Shipment {
    const NAME: &'static str = "Shipment";
    const PACKAGE: &'static str = "shop.v1";
}

impl Name for Address {
    const NAME: &'static str = "Address";
    const PACKAGE: &'static str = "shop.v1";
}

/// A message whose descriptors nobody registers.
#[derive(Clone, PartialEq, prost::Message)]
struct Unregistered {
    #[prost(string, tag = "1")]
    note: String,
}

impl Name for Unregistered {
    const NAME: &'static str = "Unregistered";
    const PACKAGE: &'static str = "shop.v1";
}

/// `shop/v1/shipment.proto`'s descriptor set, as `prost-build` or `protox` would write it.
fn shipment_descriptors() -> Vec<u8> {
    let field = |name: &str, number: i32, label: Label, kind: Type, type_name: Option<&str>| FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(label as i32),
        r#type: Some(kind as i32),
        type_name: type_name.map(Into::into),
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("shop/v1/shipment.proto".into()),
        package: Some("shop.v1".into()),
        syntax: Some("proto3".into()),
        message_type: vec![
            DescriptorProto {
                name: Some("Shipment".into()),
                field: vec![
                    field("weight_grams", 1, Label::Optional, Type::Int64, None),
                    field("carrier", 2, Label::Optional, Type::Enum, Some(".shop.v1.Carrier")),
                    field(
                        "destination",
                        3,
                        Label::Optional,
                        Type::Message,
                        Some(".shop.v1.Address"),
                    ),
                    field("parcel_ids", 4, Label::Repeated, Type::Uint64, None),
                ],
                ..Default::default()
            },
            DescriptorProto {
                name: Some("Address".into()),
                field: vec![field("postal_code", 1, Label::Optional, Type::String, None)],
                ..Default::default()
            },
        ],
        enum_type: vec![EnumDescriptorProto {
            name: Some("Carrier".into()),
            value: ["CARRIER_UNSPECIFIED", "CARRIER_RAIL"]
                .iter()
                .zip(0..)
                .map(|(name, number)| EnumValueDescriptorProto {
                    name: Some(name.to_string()),
                    number: Some(number),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    FileDescriptorSet { file: vec![file] }.encode_to_vec()
}

#[test]
fn an_application_message_travels_once_its_descriptors_are_registered() {
    let shipment = Shipment {
        weight_grams: 12_500,
        carrier: Carrier::Rail as i32,
        destination: Some(Address {
            postal_code: "75001".into(),
        }),
        parcel_ids: vec![1, u64::MAX],
    };
    register_descriptors(&shipment_descriptors()).unwrap();
    // Registering again is harmless.
    register_descriptors(&shipment_descriptors()).unwrap();
    let payload = to_payload(&Proto(shipment.clone())).unwrap();
    assert_eq!(metadata(&payload, MESSAGE_TYPE_KEY), "shop.v1.Shipment");
    assert_eq!(
        json_of(&payload),
        json!({"weightGrams": "12500", "carrier": "CARRIER_RAIL", "destination": {"postalCode": "75001"},
               "parcelIds": ["1", "18446744073709551615"]})
    );
    assert_eq!(from_payload::<Proto<Shipment>>(&payload).unwrap().0, shipment);
}

#[test]
fn json_needs_descriptors_binary_does_not() {
    let note = Unregistered { note: "n".into() };
    let err = to_payload(&Proto(note.clone())).unwrap_err();
    assert!(matches!(err, PayloadError::Encode { .. }), "{err:?}");
    assert!(err.to_string().contains("register_descriptors"), "{err}");
    let payload = to_payload(&ProtoBinary(note.clone())).unwrap();
    assert_eq!(from_payload::<ProtoBinary<Unregistered>>(&payload).unwrap().0, note);
    assert_eq!(
        crate::payload::to_proto_json_payload(&note).unwrap_err(),
        PayloadError::UnknownMessageType {
            message_type: "shop.v1.Unregistered".into()
        }
    );
}

#[test]
fn descriptors_that_do_not_decode_are_refused() {
    assert!(matches!(
        register_descriptors(b"\x0a\x05nope"),
        Err(PayloadError::InvalidDescriptors { .. })
    ));
    // The known descriptors are untouched.
    assert!(to_payload(&Proto(run())).is_ok());
}
