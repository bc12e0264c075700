//! The same scenarios on the real server and in the test environment, from one source: each
//! scenario runs a workflow to its end on a client of either backend and reports what it saw
//! (its outcome and the event types of its history), and the two reports must be equal. A
//! scenario that passes on the server and not in `TestEnv` is a fidelity bug of `TestEnv`.

use std::time::Duration;
use workflow_runtime::client::failure::FailureKind;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{TestEnv, TestEnvOptions, dev_server_client, event_names, unique_id};

/// What one run of a scenario saw: the parent's result (or failure) and its history's events
/// (without the workflow task events, whose number depends on how events batch in time).
#[derive(Debug, PartialEq)]
struct Report {
    outcome: String,
    events: Vec<String>,
}

impl Report {
    /// What a run ended with (`outcome`) and the events of its `history`, less the workflow
    /// task events.
    fn new(outcome: String, history: &workflow_runtime::client::proto::history::History) -> Report {
        Report {
            outcome,
            events: event_names(history)
                .into_iter()
                .filter(|e| !e.starts_with("WORKFLOW_TASK_"))
                .collect(),
        }
    }

    /// The report without the events named in `racing` (events whose presence depends on
    /// timing, on either backend).
    fn without(&self, racing: &[&str]) -> Report {
        Report {
            outcome: self.outcome.clone(),
            events: self
                .events
                .iter()
                .filter(|e| !racing.contains(&e.as_str()))
                .cloned()
                .collect(),
        }
    }
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
    assert_eq!(
        in_env.0.without(racing),
        server.0.without(racing),
        "TestEnv differs from the server"
    );
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
