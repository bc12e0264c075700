//! A readable timeline of a workflow history: one line per event that matters to a person
//! (workflow tasks left out), with the time since the workflow started.

use std::collections::HashMap;
use std::time::SystemTime;
use workflow_runtime::Failure;
use workflow_runtime::client::payload::from_payload;
use workflow_runtime::client::proto::common::Payloads;
use workflow_runtime::client::proto::history::{History, history_event::Attributes as Ev};
use workflow_runtime::client::time::from_timestamp;

/// Renders `history` as lines like `  +1.02s  activity charge_card completed: "pay-ada-1897"`.
pub fn render(history: &History) -> Vec<String> {
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut start: Option<SystemTime> = None;
    let mut lines = Vec::new();
    for event in &history.events {
        let at = event.event_time.as_ref().map(from_timestamp);
        let start = *start.get_or_insert(at.unwrap_or(SystemTime::UNIX_EPOCH));
        let what = match &event.attributes {
            Some(Ev::WorkflowExecutionStartedEventAttributes(a)) => format!(
                "workflow {} started{}",
                a.workflow_type.as_ref().map(|t| t.name.as_str()).unwrap_or("?"),
                payloads(&a.input)
            ),
            Some(Ev::WorkflowExecutionSignaledEventAttributes(a)) => {
                format!("signal {}{}", a.signal_name, payloads(&a.input))
            }
            Some(Ev::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => format!(
                "update {} accepted",
                a.accepted_request
                    .as_ref()
                    .and_then(|r| r.input.as_ref())
                    .map(|i| i.name.as_str())
                    .unwrap_or("?")
            ),
            Some(Ev::ActivityTaskScheduledEventAttributes(a)) => {
                let name = a.activity_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                names.insert(event.event_id, name.clone());
                format!("activity {name} scheduled{}", payloads(&a.input))
            }
            Some(Ev::ActivityTaskStartedEventAttributes(a)) => {
                let name = name_of(&names, a.scheduled_event_id);
                match a.last_failure.as_ref() {
                    Some(f) if a.attempt > 1 => format!(
                        "activity {name} started, attempt {} (the last one failed: {})",
                        a.attempt,
                        Failure::from(f.clone()).message
                    ),
                    _ => format!("activity {name} started"),
                }
            }
            Some(Ev::ActivityTaskCompletedEventAttributes(a)) => format!(
                "activity {} completed{}",
                name_of(&names, a.scheduled_event_id),
                payloads(&a.result)
            ),
            Some(Ev::ActivityTaskFailedEventAttributes(a)) => format!(
                "activity {} failed: {}",
                name_of(&names, a.scheduled_event_id),
                failure(&a.failure)
            ),
            Some(Ev::ActivityTaskTimedOutEventAttributes(a)) => {
                format!("activity {} timed out", name_of(&names, a.scheduled_event_id))
            }
            Some(Ev::TimerStartedEventAttributes(a)) => format!(
                "timer {} started for {}",
                a.timer_id,
                a.start_to_fire_timeout
                    .as_ref()
                    .map(|d| format!("{}s", d.seconds))
                    .unwrap_or_default()
            ),
            Some(Ev::TimerFiredEventAttributes(a)) => format!("timer {} fired", a.timer_id),
            Some(Ev::TimerCanceledEventAttributes(a)) => format!("timer {} canceled", a.timer_id),
            Some(Ev::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                let name = a.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                names.insert(event.event_id, name.clone());
                format!("child workflow {name} requested (id {})", a.workflow_id)
            }
            Some(Ev::ChildWorkflowExecutionStartedEventAttributes(a)) => {
                format!("child workflow {} started", name_of(&names, a.initiated_event_id))
            }
            Some(Ev::ChildWorkflowExecutionCompletedEventAttributes(a)) => format!(
                "child workflow {} completed{}",
                name_of(&names, a.initiated_event_id),
                payloads(&a.result)
            ),
            Some(Ev::ChildWorkflowExecutionFailedEventAttributes(a)) => format!(
                "child workflow {} failed: {}",
                name_of(&names, a.initiated_event_id),
                failure(&a.failure)
            ),
            Some(Ev::WorkflowExecutionCompletedEventAttributes(a)) => {
                format!("workflow completed{}", payloads(&a.result))
            }
            Some(Ev::WorkflowExecutionFailedEventAttributes(a)) => format!("workflow failed: {}", failure(&a.failure)),
            Some(Ev::WorkflowExecutionCanceledEventAttributes(_)) => "workflow canceled".to_string(),
            Some(Ev::WorkflowExecutionTerminatedEventAttributes(a)) => format!("workflow terminated: {}", a.reason),
            Some(Ev::WorkflowExecutionTimedOutEventAttributes(_)) => "workflow timed out".to_string(),
            Some(Ev::WorkflowExecutionContinuedAsNewEventAttributes(a)) => {
                format!("continued as new{}", payloads(&a.input))
            }
            _ => continue,
        };
        let offset = at
            .and_then(|t| t.duration_since(start).ok())
            .unwrap_or_default()
            .as_secs_f64();
        lines.push(format!("{offset:>8.2}s  {what}"));
    }
    lines
}

fn name_of(names: &HashMap<i64, String>, event_id: i64) -> String {
    names.get(&event_id).cloned().unwrap_or_else(|| "?".to_string())
}

/// Payloads as `: ` and compact JSON (binary ones by size), long ones shortened; nothing when
/// there are none.
fn payloads(p: &Option<Payloads>) -> String {
    let Some(p) = p.as_ref().filter(|p| !p.payloads.is_empty()) else {
        return String::new();
    };
    let shown: Vec<String> = p
        .payloads
        .iter()
        .map(|p| match from_payload::<serde_json::Value>(p) {
            Ok(v) => v.to_string(),
            Err(_) => format!("<{} bytes>", p.data.len()),
        })
        .collect();
    let text = shown.join(", ");
    if text.chars().count() > 100 {
        format!(": {}…", text.chars().take(99).collect::<String>())
    } else {
        format!(": {text}")
    }
}

fn failure(f: &Option<workflow_runtime::client::proto::failure::Failure>) -> String {
    match f {
        Some(f) => {
            let f = Failure::from(f.clone());
            let root = f.root_cause();
            if root.message == f.message {
                f.message.clone()
            } else {
                format!("{} ({})", f.message, root.message)
            }
        }
        None => "no details".to_string(),
    }
}
