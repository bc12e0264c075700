//! Protobuf payloads across SDKs, on the dev server: a Python client starts a Rust workflow with
//! a `WorkflowExecution` (`json/protobuf`, the Python SDK's default) and signals it a
//! `RetryPolicy` (`binary/protobuf`, from a converter that puts it first); the workflow passes
//! both to a Python activity (`ProtoBinary` and `Proto`), then to a Rust activity with the
//! Python activity's answer, and returns a `HistoryEvent` (int64, enum, timestamp, a nested
//! oneof) that the Python client reads, as it reads a query's `ProtoBinary` answer. Each side's
//! decoded values are checked, and every payload's metadata in the stored history.

#[path = "python/peer.rs"]
mod peer;

use prost::Message;
use serde_json::json;
use std::collections::HashMap;
use workflow_runtime::client::payload::{
    BINARY_PROTOBUF, ENCODING_KEY, JSON_PROTOBUF, MESSAGE_TYPE_KEY, PayloadArgs, from_payload,
};
use workflow_runtime::client::proto::common::{Payload, RetryPolicy, WorkflowExecution};
use workflow_runtime::client::proto::enums::EventType;
use workflow_runtime::client::proto::history::{HistoryEvent, TimerFiredEventAttributes, history_event::Attributes};
use workflow_runtime::client::protobuf::{Proto, ProtoBinary};
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, dev_server_client, unique_id as unique};

/// The Python worker's activity, declared here by its wire name.
struct PyInspect;

impl ActivityDefinition for PyInspect {
    const NAME: &'static str = "py_inspect";
    type Input = (ProtoBinary<WorkflowExecution>, Proto<RetryPolicy>);
    type Output = Proto<WorkflowExecution>;
}

/// The run's result, built from what the Rust and Python sides decoded.
#[activity(start_to_close_timeout = "10s")]
async fn rust_event(
    parent: ProtoBinary<WorkflowExecution>,
    seen: Proto<WorkflowExecution>,
    policy: ProtoBinary<RetryPolicy>,
) -> Result<Proto<HistoryEvent>, ActivityError> {
    let interval = policy.initial_interval.unwrap_or_default();
    Ok(Proto(HistoryEvent {
        event_id: 5_000_000_000 + i64::from(policy.maximum_attempts),
        event_time: Some(workflow_runtime::client::proto::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        event_type: EventType::TimerFired as i32,
        task_id: interval.seconds * 1000 + i64::from(interval.nanos / 1_000_000),
        attributes: Some(Attributes::TimerFiredEventAttributes(TimerFiredEventAttributes {
            timer_id: format!("{} {} {}", parent.workflow_id, seen.workflow_id, seen.run_id),
            started_event_id: (policy.backoff_coefficient * 10.0) as i64,
        })),
        ..Default::default()
    }))
}

#[workflow]
#[derive(Default)]
pub struct ProtoExchange {
    parent: WorkflowExecution,
    policy: Option<RetryPolicy>,
}

#[workflow(name = "ProtoExchange")]
impl ProtoExchange {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, parent: Proto<WorkflowExecution>) -> WorkflowResult<Proto<HistoryEvent>> {
        ctx.state_mut(|s| s.parent = parent.0.clone());
        ctx.wait_condition(|s| s.policy.is_some()).await?;
        let policy = ctx.state(|s| s.policy.clone()).unwrap_or_default();
        let seen = ctx
            .activity(PyInspect, (ProtoBinary(parent.0.clone()), Proto(policy.clone())))
            .task_queue(format!("{}-python", ctx.info().task_queue))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        ctx.activity(
            rust_event,
            (ProtoBinary(parent.into_inner()), seen, ProtoBinary(policy)),
        )
        .await
    }

    #[signal]
    fn policy(&mut self, policy: ProtoBinary<RetryPolicy>) {
        self.policy = Some(policy.into_inner());
    }

    #[query]
    fn parent(&self) -> ProtoBinary<WorkflowExecution> {
        ProtoBinary(self.parent.clone())
    }
}

fn parent() -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: "py-parent".into(),
        run_id: "py-run".into(),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_interval: Some(workflow_runtime::client::proto::Duration {
            seconds: 1,
            nanos: 500_000_000,
        }),
        backoff_coefficient: 1.5,
        maximum_attempts: 4,
        non_retryable_error_types: vec!["Fatal".into()],
        ..Default::default()
    }
}

/// Checks a stored payload's metadata.
#[track_caller]
fn assert_metadata(payload: &Payload, encoding: &str, message_type: &str) {
    let text = |key: &str| {
        payload
            .metadata
            .get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(text(ENCODING_KEY).as_deref(), Some(encoding), "{payload:?}");
    assert_eq!(text(MESSAGE_TYPE_KEY).as_deref(), Some(message_type), "{payload:?}");
}

const WORKFLOW_EXECUTION: &str = "temporal.api.common.v1.WorkflowExecution";
const RETRY_POLICY: &str = "temporal.api.common.v1.RetryPolicy";
const HISTORY_EVENT: &str = "temporal.api.history.v1.HistoryEvent";

#[tokio::test]
async fn protobuf_messages_travel_between_python_and_rust_in_both_encodings() {
    let client = dev_server_client().await.unwrap();
    let queue = unique("protobuf");
    let worker = Worker::builder(&client, &queue)
        .workflow::<ProtoExchange>()
        .activity(rust_event)
        .build()
        .unwrap()
        .spawn();
    let workflow_id = unique("proto-exchange");
    let out = peer::python(
        "protobuf.py",
        &[
            &DevServer::shared_address(),
            &queue,
            &format!("{queue}-python"),
            &workflow_id,
        ],
    )
    .await;
    worker.stop().await.unwrap();

    // What Python decoded: the Rust workflow's binary and JSON messages, its JSON result and
    // its binary query answer, each as the message type the payload named.
    let python: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let execution = |json| json!({"type": WORKFLOW_EXECUTION, "json": json});
    assert_eq!(
        python["activity_parent"],
        execution(json!({"workflowId": "py-parent", "runId": "py-run"}))
    );
    assert_eq!(
        python["activity_policy"],
        json!({"type": RETRY_POLICY, "json": {"initialInterval": "1.500s", "backoffCoefficient": 1.5,
            "maximumAttempts": 4, "nonRetryableErrorTypes": ["Fatal"]}})
    );
    assert_eq!(
        python["result"],
        json!({"type": HISTORY_EVENT, "json": {
            "eventId": "5000000004",
            "eventTime": "2023-11-14T22:13:20Z",
            "eventType": "EVENT_TYPE_TIMER_FIRED",
            "taskId": "1500",
            "timerFiredEventAttributes": {"timerId": "py-parent py-parent/seen 4", "startedEventId": "15"}
        }})
    );
    assert_eq!(
        python["query"],
        execution(json!({"workflowId": "py-parent", "runId": "py-run"}))
    );

    // The stored history: each payload's encoding and message type, as each side wrote it,
    // and what Rust decodes from it.
    let history = client
        .untyped_handle(workflow_id.clone(), None)
        .fetch_history()
        .await
        .unwrap();
    let mut activity_types = HashMap::new();
    let mut checked = Vec::new();
    for event in &history.events {
        match &event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                let input = &a.input.as_ref().unwrap().payloads;
                // Python's json/protobuf: compact, keys sorted.
                assert_metadata(&input[0], JSON_PROTOBUF, WORKFLOW_EXECUTION);
                assert_eq!(input[0].data, br#"{"runId":"py-run","workflowId":"py-parent"}"#);
                assert_eq!(
                    <(Proto<WorkflowExecution>,)>::from_payloads(input).unwrap().0.0,
                    parent()
                );
                checked.push("started".to_string());
            }
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => {
                let input = &a.input.as_ref().unwrap().payloads;
                assert_metadata(&input[0], BINARY_PROTOBUF, RETRY_POLICY);
                assert_eq!(RetryPolicy::decode(input[0].data.as_slice()).unwrap(), policy());
                checked.push("signaled".to_string());
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                let name = a.activity_type.as_ref().unwrap().name.clone();
                let input = &a.input.as_ref().unwrap().payloads;
                if name == "py_inspect" {
                    assert_metadata(&input[0], BINARY_PROTOBUF, WORKFLOW_EXECUTION);
                    assert_eq!(input[0].data, parent().encode_to_vec());
                    assert_metadata(&input[1], JSON_PROTOBUF, RETRY_POLICY);
                    assert_eq!(
                        serde_json::from_slice::<serde_json::Value>(&input[1].data).unwrap()["initialInterval"],
                        "1.500s"
                    );
                } else {
                    assert_metadata(&input[0], BINARY_PROTOBUF, WORKFLOW_EXECUTION);
                    assert_metadata(&input[1], JSON_PROTOBUF, WORKFLOW_EXECUTION);
                    assert_metadata(&input[2], BINARY_PROTOBUF, RETRY_POLICY);
                }
                let side = if name == "py_inspect" { "py" } else { "rust" };
                checked.push(format!("{side} scheduled"));
                activity_types.insert(event.event_id, side);
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                let result = &a.result.as_ref().unwrap().payloads[0];
                let side = activity_types[&a.scheduled_event_id];
                checked.push(format!("{side} completed"));
                if side == "py" {
                    assert_metadata(result, JSON_PROTOBUF, WORKFLOW_EXECUTION);
                    assert_eq!(result.data, br#"{"runId":"4","workflowId":"py-parent/seen"}"#);
                } else {
                    assert_metadata(result, JSON_PROTOBUF, HISTORY_EVENT);
                }
            }
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                let result = &a.result.as_ref().unwrap().payloads[0];
                assert_metadata(result, JSON_PROTOBUF, HISTORY_EVENT);
                let event = from_payload::<Proto<HistoryEvent>>(result).unwrap().into_inner();
                assert_eq!((event.event_id, event.task_id), (5_000_000_004, 1500));
                checked.push("completed".to_string());
            }
            _ => {}
        }
    }
    assert_eq!(
        checked,
        [
            "started",
            "signaled",
            "py scheduled",
            "py completed",
            "rust scheduled",
            "rust completed",
            "completed"
        ]
    );
}
