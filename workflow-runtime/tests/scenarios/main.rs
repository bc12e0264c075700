//! The same scenarios on the real server and in the test environment, from one source: each
//! scenario runs a workflow to its end on a client of either backend and reports what it saw
//! (its outcome, and its history's events with their attributes less what names one backend's
//! run: ids, times, identities), and the two reports must be equal. A scenario that passes on
//! the server and not in `TestEnv` is a fidelity bug of `TestEnv`.

use std::time::Duration;
use workflow_runtime::client::failure::FailureKind;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{TestEnv, TestEnvOptions, dev_server_client, event_names, unique_id};

/// What one run of a scenario saw: the parent's result (or failure) and its history's events
/// (without the workflow task events, whose number depends on how events batch in time), each
/// event's attributes beside its name.
#[derive(Debug, PartialEq)]
struct Report {
    outcome: String,
    events: Vec<String>,
    attributes: Vec<serde_json::Value>,
}

impl Report {
    /// What a run ended with (`outcome`) and the events of its `history`, less the workflow
    /// task events.
    fn new(outcome: String, history: &workflow_runtime::client::proto::history::History) -> Report {
        let json = workflow_runtime::client::history::history_to_json(history).expect("history as JSON");
        let json: serde_json::Value = serde_json::from_str(&json).expect("history JSON");
        let (events, attributes) = event_names(history)
            .into_iter()
            .zip(json["events"].as_array().expect("events"))
            .filter(|(name, _)| !name.starts_with("WORKFLOW_TASK_"))
            .map(|(name, event)| (name, comparable_attributes(event)))
            .unzip();
        Report {
            outcome,
            events,
            attributes,
        }
    }

    /// The report without the events named in `racing` (events whose presence depends on
    /// timing, on either backend).
    fn without(&self, racing: &[&str]) -> Report {
        let (events, attributes) = self
            .events
            .iter()
            .zip(&self.attributes)
            .filter(|(e, _)| !racing.contains(&e.as_str()))
            .map(|(e, a)| (e.clone(), a.clone()))
            .unzip();
        Report {
            outcome: self.outcome.clone(),
            events,
            attributes,
        }
    }

    /// Where `self` and `other` first differ, said for a reader; `None` when they are equal.
    fn first_difference(&self, other: &Report) -> Option<String> {
        if self.outcome != other.outcome {
            return Some(format!("outcome {:?} against {:?}", self.outcome, other.outcome));
        }
        if self.events != other.events {
            return Some(format!("events {:?} against {:?}", self.events, other.events));
        }
        let (i, (mine, theirs)) = self
            .attributes
            .iter()
            .zip(&other.attributes)
            .enumerate()
            .find(|(_, (a, b))| a != b)?;
        Some(format!(
            "the attributes of {} (event {i} of those compared):\n  {mine}\nagainst\n  {theirs}",
            self.events[i]
        ))
    }
}

/// Fields that name one backend's run rather than what the run did: ids (the scenarios' ids are
/// unique per run), references to event ids (the workflow task events are left out, so ids
/// shift), times, identities and what the server alone records about itself.
const RUN_SPECIFIC: &[&str] = &[
    "workflowId",
    "runId",
    "requestId",
    "identity",
    "taskQueue",
    "namespace",
    "namespaceId",
    "originalExecutionRunId",
    "firstExecutionRunId",
    "continuedExecutionRunId",
    "newExecutionRunId",
    "workflowExecutionExpirationTime",
    "expirationTime",
    "lastHeartbeatTime",
    "prevAutoResetPoints",
    "workerVersion",
    "sdkMetadata",
    "meteringMetadata",
    "links",
    "operationId",
    "operationToken",
    "complete_time",
    "original_schedule_time",
];

/// One event's attributes (the `…EventAttributes` object), less the [`RUN_SPECIFIC`] fields
/// and event id references, at any depth; payload data is read as JSON (or text), and the ids in text
/// (from [`unique_id`], and run ids) read as `<id>`.
fn comparable_attributes(event: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                fields.retain(|key, _| !RUN_SPECIFIC.contains(&key.as_str()) && !key.ends_with("EventId"));
                if fields.contains_key("metadata")
                    && let Some(serde_json::Value::String(data)) = fields.get_mut("data")
                    && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data.as_bytes())
                    && let Ok(text) = String::from_utf8(bytes)
                {
                    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                    fields.insert("data".into(), json);
                }
                fields.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            serde_json::Value::String(text) => *text = without_ids(text),
            _ => {}
        }
    }
    let mut attributes = event
        .as_object()
        .and_then(|fields| fields.iter().find(|(key, _)| key.ends_with("EventAttributes")))
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    strip(&mut attributes);
    attributes
}

/// `text` with every run of 32 hex digits (a [`unique_id`]'s tail) and every UUID (a run id)
/// read as `<id>`.
fn without_ids(text: &str) -> String {
    let hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    let uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let (bytes, mut out, mut i) = (text.as_bytes(), String::with_capacity(text.len()), 0);
    while i < bytes.len() {
        let rest = &bytes[i..];
        let id = if rest.len() >= 36 && uuid(&rest[..36]) {
            36
        } else if rest.len() >= 32 && hex(&rest[..32]) && !rest.get(32).is_some_and(u8::is_ascii_hexdigit) {
            32
        } else {
            0
        };
        if id > 0 {
            out.push_str("<id>");
            i += id;
        } else {
            let next = text[i..].chars().next().expect("a char");
            out.push(next);
            i += next.len_utf8();
        }
    }
    out
}

/// Runs `scenario` against the dev server and against a fresh `TestEnv`; both must report
/// the same (but for the `racing` events), and the server's report is returned for the
/// scenario's own assertions.
async fn on_both<F, Fut>(racing: &[&str], scenario: F) -> Report
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Report>,
{
    on_both_with(TestEnvOptions::default(), racing, scenario).await
}

/// [`on_both`] with a test environment started with `options`.
async fn on_both_with<F, Fut>(options: TestEnvOptions, racing: &[&str], scenario: F) -> Report
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Report>,
{
    let started = std::time::Instant::now();
    let server = scenario(dev_server_client().await.expect("the dev server")).await;
    let on_server = started.elapsed();
    let started = std::time::Instant::now();
    let env = TestEnv::start_with(options).await.expect("the test environment");
    let in_env = scenario(env.client().clone()).await;
    compare(racing, (server, on_server), (in_env, started.elapsed()))
}

/// Checks that the test environment reported what the server did (but for the `racing`
/// events), each report with the wall time its backend took; returns the server's report.
fn compare(racing: &[&str], server: (Report, Duration), in_env: (Report, Duration)) -> Report {
    // Seen with `--nocapture`: what each backend took.
    eprintln!("scenario wall time: server {:?}, TestEnv {:?}", server.1, in_env.1);
    if let Some(difference) = in_env.0.without(racing).first_difference(&server.0.without(racing)) {
        panic!("TestEnv differs from the server: {difference}");
    }
    server.0
}

/// Runs `W` with `input` to its end on both backends (a test environment started with
/// `options`), each on a fresh task queue served by `worker`, and compares the reports but for
/// the `racing` events: a scenario whose workflow needs nothing from the test while it runs.
async fn scenario<W>(options: TestEnvOptions, racing: &[&str], worker: WorkerBuilderFn, input: W::Input) -> Report
where
    W: workflow_runtime::client::WorkflowDefinition,
    W::Input: Clone,
    W::Output: std::fmt::Debug,
{
    on_both_with(options, racing, |client| {
        let input = input.clone();
        async move { run_to_end::<W>(&client, worker, input).await }
    })
    .await
}

/// Starts `W` with `input` on a fresh task queue served by `worker`, waits (bounded) for the
/// run to end, and reports its outcome and history.
async fn run_to_end<W>(client: &Client, worker: WorkerBuilderFn, input: W::Input) -> Report
where
    W: workflow_runtime::client::WorkflowDefinition,
    W::Output: std::fmt::Debug,
{
    let queue = unique_id("scenario");
    let running = worker(client, &queue).spawn();
    let handle = client
        .start::<W>(StartOptions::new(unique_id("scenario"), &queue), input)
        .await
        .expect("start");
    let result = tokio::time::timeout(Duration::from_secs(60), handle.result()).await;
    let history = handle.fetch_history().await.expect("history");
    let Ok(result) = result else {
        panic!(
            "the scenario did not end within 60 s; its history: {:?} {:?}",
            event_names(&history),
            history.events.last()
        );
    };
    running.stop().await.expect("the worker stops");
    let outcome = match result {
        Ok(value) => format!("completed: {value:?}"),
        Err(e) => format!("failed: {e}"),
    };
    Report::new(outcome, &history)
}

type WorkerBuilderFn = fn(&Client, &str) -> Worker;

mod activities;
mod cancellation;
mod children;
mod lifecycle;
mod messages;
mod nexus;
