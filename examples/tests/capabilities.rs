//! One example per capability: each runs in the in-process test environment (virtual time) and
//! once against the real server.

use examples::*;
use std::future::Future;
use std::time::Duration;
use workflow_runtime::testing::{DevServer, TestEnv};
use workflow_runtime::worker::{Worker, WorkerError};
use workflow_runtime::{Client, ClientOptions};

type WorkerFn = fn(&Client) -> Result<Worker, WorkerError>;

/// Runs `body` with the example's worker serving on `client`, then stops the worker.
async fn with_worker<F, Fut, T>(client: &Client, worker: WorkerFn, body: F) -> T
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = T>,
{
    let worker = worker(client).unwrap();
    let running = worker.spawn();
    let out = tokio::time::timeout(Duration::from_secs(60), body(client.clone()))
        .await
        .expect("the example finishes within a minute");
    running.stop().await.unwrap();
    out
}

async fn server() -> Client {
    Client::connect(ClientOptions::new(DevServer::shared_address()))
        .await
        .unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

// Dynamic fan-out.

async fn check_fanout(client: &Client, id: &str) {
    let report = with_worker(
        client,
        fanout::worker,
        |c| async move { fanout::start(&c, id, 12).await },
    )
    .await;
    let report = report.unwrap();
    assert_eq!(report.files, 12);
    // "chapter-N.txt": 13 characters for N < 10, 14 for 10..=12; ten words per character.
    assert_eq!(report.words, 9 * 130 + 3 * 140);
    assert_eq!(report.largest, "chapter-10.txt");
}

#[tokio::test]
async fn fanout_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_fanout(env.client(), "fanout").await;
    let history = env.history("fanout").unwrap();
    workflow_runtime::replay::Replayer::new()
        .workflow::<fanout::FanOut>()
        .replay(&history)
        .unwrap();
}

#[tokio::test]
async fn fanout_on_server() {
    check_fanout(&server().await, &unique("fanout")).await;
}

// A perpetual workflow.

async fn check_perpetual(client: &Client, id: &str) {
    let total = with_worker(client, perpetual::worker, |c| async move {
        let meter = perpetual::start(&c, id, 8).await?;
        meter.result().await
    })
    .await
    .unwrap();
    // Days 0..8 read day % 7 + 1 units.
    assert_eq!(total, (0..8u64).map(|d| d % 7 + 1).sum::<u64>());
}

#[tokio::test]
async fn perpetual_in_env() {
    let env = TestEnv::start().await.unwrap();
    let began = env.now();
    check_perpetual(env.client(), "meter").await;
    // Eight days of timers passed in virtual time, over three runs.
    assert!(env.now().duration_since(began).unwrap() >= Duration::from_secs(8 * 86_400));
    let last = env.history("meter").unwrap();
    match &last.events[0].attributes {
        Some(workflow_runtime::client::proto::history::history_event::Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            assert!(!a.continued_execution_run_id.is_empty(), "the last run continued an earlier one")
        }
        other => panic!("{other:?}"),
    }
}

// The server runs real day-long timers, so its test counts no days: it checks the chain.
#[tokio::test]
async fn perpetual_on_server() {
    let client = server().await;
    let id = unique("meter");
    let total = with_worker(&client, perpetual::worker, |c| {
        let id = id.clone();
        async move { perpetual::start(&c, &id, 0).await?.result().await }
    })
    .await
    .unwrap();
    assert_eq!(total, 0);
}

// An at-most-once activity.

#[tokio::test]
async fn at_most_once_in_env() {
    let env = TestEnv::start().await.unwrap();
    let outcome = with_worker(env.client(), at_most_once::worker, |c| async move {
        let sent = at_most_once::start(&c, "t-1", "ada", 500).await?;
        let refused = at_most_once::start(&c, "t-2", "", 500).await?;
        Ok::<_, workflow_runtime::ClientError>((sent, refused))
    })
    .await
    .unwrap();
    assert_eq!(
        outcome,
        ("sent 500 to ada".to_string(), "check by hand: no payee".to_string())
    );
    // One attempt, never a retry.
    let history = env.history("t-2").unwrap();
    let attempts = history
        .events
        .iter()
        .filter(|e| e.event_type == workflow_runtime::client::proto::enums::EventType::ActivityTaskStarted as i32)
        .count();
    assert_eq!(attempts, 1);
}

async fn check_hung_transfer(client: &Client, id: String) {
    // The bank hangs past the 2 s start-to-close timeout: not retried, handed to a person.
    let outcome = with_worker(client, at_most_once::worker, |c| async move {
        at_most_once::start(&c, &id, "ada", 2_000_000).await
    })
    .await
    .unwrap();
    assert!(outcome.starts_with("check by hand: "), "{outcome}");
    assert!(outcome.contains("StartToClose timeout"), "{outcome}");
}

#[tokio::test]
async fn at_most_once_hung_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_hung_transfer(env.client(), "t-3".into()).await;
}

#[tokio::test]
async fn at_most_once_on_server() {
    check_hung_transfer(&server().await, unique("transfer")).await;
}

// Heartbeating with progress.

async fn check_heartbeat(client: &Client, id: &str) {
    let summary = with_worker(client, heartbeat::worker, |c| async move {
        heartbeat::start(&c, id, 10).await
    })
    .await
    .unwrap();
    assert_eq!(
        summary,
        format!("imported 10 rows; attempt 2 resumed at row {}", heartbeat::CRASH_AT)
    );
}

#[tokio::test]
async fn heartbeat_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_heartbeat(env.client(), "import").await;
}

#[tokio::test]
async fn heartbeat_on_server() {
    check_heartbeat(&server().await, &unique("import")).await;
}

// A unique workflow id.

async fn check_unique_id(client: &Client, number: &str) {
    let starts = with_worker(client, unique_id::worker, |c| async move {
        unique_id::start(&c, number).await
    })
    .await
    .unwrap();
    assert_eq!(starts.while_running, format!("refused: {number} already used"));
    assert_eq!(starts.rejected_after, format!("refused: {number} already used"));
    assert_eq!(starts.allowed_after, "started");
}

#[tokio::test]
async fn unique_id_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_unique_id(env.client(), "INV-1").await;
}

#[tokio::test]
async fn unique_id_on_server() {
    check_unique_id(&server().await, &unique("INV")).await;
}

// Asynchronous activity completion.

async fn check_approval(client: &Client, id: &str) {
    let (approved, rejected) = with_worker(client, approval::worker, |c| async move {
        let claim = approval::start(&c, id, "ada", 4200).await?;
        let other_id = format!("{id}-2");
        let other = approval::start(&c, &other_id, "bo", 99_000).await?;
        // The activity went async: the person decides whenever they like, by ids.
        let decide = |target: String, yes: bool, note: &'static str| {
            let c = c.clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                loop {
                    match approval::decide(&c, &target, yes, note).await {
                        Ok(()) => return Ok::<_, workflow_runtime::ClientError>(()),
                        // Not picked up by the worker yet.
                        Err(_) if tokio::time::Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        decide(id.to_string(), true, "receipts attached").await?;
        decide(other_id, false, "over the limit").await?;
        Ok::<_, workflow_runtime::ClientError>((claim.result().await?, other.result().await?))
    })
    .await
    .unwrap();
    assert_eq!(approved, "approved: receipts attached");
    assert_eq!(rejected, "rejected: over the limit");
}

#[tokio::test]
async fn approval_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_approval(env.client(), "expense").await;
}

#[tokio::test]
async fn approval_on_server() {
    check_approval(&server().await, &unique("expense")).await;
}

// Timeouts.

async fn check_timeouts(client: &Client) {
    let (retried, timed_out) = with_worker(client, timeouts::worker, |c| async move {
        let retried = timeouts::start(&c, &unique("slow"), 0).await;
        let timed_out = timeouts::start(&c, &unique("slow"), 10).await;
        (retried, timed_out)
    })
    .await;
    // The first attempt hung past its 1 s start-to-close timeout; the second succeeded.
    assert_eq!(retried.unwrap(), "report (attempt 2)");
    // The 5 s execution timeout ended the workflow waiting 10 s.
    assert!(
        matches!(timed_out, Err(workflow_runtime::ClientError::WorkflowTimedOut)),
        "{timed_out:?}"
    );
}

#[tokio::test]
async fn timeouts_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_timeouts(env.client()).await;
}

#[tokio::test]
async fn timeouts_on_server() {
    check_timeouts(&server().await).await;
}

// Task routing.

async fn check_routing(client: &Client, id: &str) {
    let (alpha_shared, alpha_own) = routing::workers(client, "alpha").unwrap();
    let (beta_shared, beta_own) = routing::workers(client, "beta").unwrap();
    let workers = [alpha_shared, alpha_own, beta_shared, beta_own];
    let handles: Vec<_> = workers.iter().map(|w| w.shutdown_handle()).collect();
    let running: Vec<_> = workers.into_iter().map(|w| tokio::spawn(w.run())).collect();
    let mut hosts = Vec::new();
    for i in 0..4 {
        let line = routing::start(client, &format!("{id}-{i}"), &format!("https://example.com/{i}.csv"))
            .await
            .unwrap();
        // The checksum ran where the file was: a wrong host would have failed with NoFile.
        hosts.push(line.rsplit(' ').next().unwrap().to_string());
    }
    assert!(
        hosts.iter().all(|h| h == "routing-alpha" || h == "routing-beta"),
        "{hosts:?}"
    );
    for h in handles {
        h.shutdown();
    }
    for r in running {
        r.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn routing_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_routing(env.client(), "file").await;
}

#[tokio::test]
async fn routing_on_server() {
    check_routing(&server().await, &unique("file")).await;
}

// Durable timers survive the worker.

async fn check_durable_timer(client: &Client, id: &str, secs: u64) {
    // The first worker sets the timer and stops.
    let reminder = with_worker(client, durable_timers::worker, |c| async move {
        let reminder = durable_timers::start(&c, id, "stretch", secs).await.unwrap();
        assert_eq!(reminder.due_in_secs().await.unwrap(), secs);
        reminder
    })
    .await;
    // A new worker (no cache, no memory of the run) finishes it.
    let done = with_worker(
        client,
        durable_timers::worker,
        |_| async move { reminder.result().await },
    )
    .await
    .unwrap();
    assert_eq!(done, "reminded: stretch");
}

#[tokio::test]
async fn durable_timers_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_durable_timer(env.client(), "reminder", 3 * 86_400).await;
}

#[tokio::test]
async fn durable_timers_on_server() {
    check_durable_timer(&server().await, &unique("reminder"), 2).await;
}

// Visibility.

async fn check_visibility(client: &Client, region: String) {
    let found = with_worker(client, visibility::worker, |c| {
        let region = region.clone();
        async move { visibility::start(&c, &region, 5).await }
    })
    .await
    .unwrap();
    assert_eq!((found.running, found.completed), (2, 3));
    let expected: Vec<String> = [0, 2, 4].iter().map(|i| format!("{region}-shipment-{i}")).collect();
    assert_eq!(found.completed_ids, expected);
}

#[tokio::test]
async fn visibility_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_visibility(env.client(), "south".into()).await;
}

#[tokio::test]
async fn visibility_on_server() {
    check_visibility(&server().await, unique("north")).await;
}

// Schedules: the test environment does not serve them, and says so.

#[tokio::test]
async fn schedules_on_server() {
    let id = unique("reports");
    let tour = with_worker(&server().await, schedules::worker, |c| {
        let id = id.clone();
        async move { schedules::start(&c, &id).await }
    })
    .await
    .unwrap();
    assert_eq!(tour.scheduled, ["report on sales", "report on sales"]);
    assert_eq!(tour.pause_note, "quarter closing");
    assert_eq!(tour.triggered, "report on sales");
    assert_eq!(tour.backfilled.len(), 3);
    let now = std::time::SystemTime::now();
    assert!(
        tour.next_times.iter().all(|t| *t > now + Duration::from_secs(60)),
        "{tour:?}"
    );
    assert!(tour.listed);
}

#[tokio::test]
async fn schedules_in_env_are_refused_by_name() {
    let env = TestEnv::start().await.unwrap();
    let error = schedules::start(env.client(), "reports").await.unwrap_err();
    assert!(error.to_string().contains("does not support schedules"), "{error}");
}

// Nexus: two teams' workers, an endpoint between them.

async fn check_nexus(client: &Client) {
    let inventory = nexus::inventory_worker(client).unwrap().spawn();
    let outcomes = with_worker(client, nexus::worker, |c| async move {
        let mut outcomes = Vec::new();
        for item in ["tea", "scones", "crumpets"] {
            outcomes.push(match nexus::start(&c, &unique("order"), item).await {
                Ok(outcome) => outcome,
                Err(e) => format!("failed: {e}"),
            });
        }
        outcomes
    })
    .await;
    inventory.stop().await.unwrap();
    assert_eq!(outcomes[0], "tea reserved, 41 left");
    assert_eq!(outcomes[1], "scones were out of stock: 12 scones restocked");
    assert!(outcomes[2].contains("we do not sell `crumpets`"), "{}", outcomes[2]);
}

#[tokio::test]
async fn nexus_on_server() {
    check_nexus(&server().await).await;
}

#[tokio::test]
async fn nexus_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_nexus(env.client()).await;
}

// Debuggability.

async fn check_debugging(client: &Client, id: &str) {
    let (json, report) = with_worker(
        client,
        debugging::worker,
        |c| async move { debugging::start(&c, id).await },
    )
    .await
    .unwrap();
    assert!(json.contains("GreetingWorkflow"));
    assert!(report.contains("<- first difference"), "{report}");
    assert!(report.contains("ActivityTaskScheduled(type greet"), "{report}");
    assert!(report.contains("StartTimer"), "{report}");
}

#[tokio::test]
async fn debugging_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_debugging(env.client(), "greeting").await;
}

#[tokio::test]
async fn debugging_on_server() {
    check_debugging(&server().await, &unique("greeting")).await;
}

// Child workflows.

async fn check_children(client: &Client, id: &str) {
    let total = with_worker(client, child_workflows::worker, |c| async move {
        child_workflows::start(&c, id, (1..=14).collect()).await
    })
    .await
    .unwrap();
    // Chunks of three: [13, 14] holds 13 and fails; the rest sum to 1 + … + 12.
    assert_eq!(total.sum, (1..=12).sum::<u64>());
    assert_eq!(total.failed, ["13 is not summed"]);
}

#[tokio::test]
async fn child_workflows_in_env() {
    let env = TestEnv::start().await.unwrap();
    check_children(env.client(), "batch").await;
    assert!(env.history("batch-chunk-4").is_some(), "each child has its own history");
}

#[tokio::test]
async fn child_workflows_on_server() {
    check_children(&server().await, &unique("batch")).await;
}

// The test environment produces the commands the server does, for the examples' workflows.

#[tokio::test]
async fn example_workflows_issue_the_same_commands_in_env_and_on_server() {
    use workflow_runtime::client::history::command_events;
    let env = TestEnv::start().await.unwrap();
    let client = server().await;
    let here = env.client();
    let id = unique("same");
    let (fanout_env, fanout_server) = (format!("{id}-fanout-env"), format!("{id}-fanout"));
    with_worker(here, fanout::worker, |c| async move {
        fanout::start(&c, &fanout_env, 5).await
    })
    .await
    .unwrap();
    let server_id = fanout_server.clone();
    with_worker(&client, fanout::worker, |c| async move {
        fanout::start(&c, &server_id, 5).await
    })
    .await
    .unwrap();
    let (batch_env, batch_server) = (format!("{id}-batch-env"), format!("{id}-batch"));
    with_worker(here, child_workflows::worker, |c| async move {
        child_workflows::start(&c, &batch_env, (1..=14).collect()).await
    })
    .await
    .unwrap();
    let server_id = batch_server.clone();
    with_worker(&client, child_workflows::worker, |c| async move {
        child_workflows::start(&c, &server_id, (1..=14).collect()).await
    })
    .await
    .unwrap();
    for (in_env, on_server) in [
        (format!("{id}-fanout-env"), fanout_server),
        (format!("{id}-batch-env"), batch_server),
    ] {
        let recorded_here = env.history(&in_env).unwrap();
        let recorded_there = client.untyped_handle(&on_server, None).fetch_history().await.unwrap();
        assert_eq!(
            command_events(&recorded_here),
            command_events(&recorded_there),
            "{on_server}"
        );
    }
}

// The wire names in examples/README.md.

/// The README's text about one example: its own section for `food_delivery`, its table row
/// for the others.
fn readme_part<'a>(readme: &'a str, example: &str) -> &'a str {
    if example == "food_delivery" {
        let start = readme.find("## `food_delivery`").expect("the food_delivery section");
        let end = readme[start + 3..]
            .find("\n## ")
            .map_or(readme.len(), |e| start + 3 + e);
        return &readme[start..end];
    }
    let row = format!("| `{example}` |");
    let start = readme
        .find(&row)
        .unwrap_or_else(|| panic!("no table row for `{example}`"));
    let end = readme[start..].find('\n').map_or(readme.len(), |e| start + e);
    &readme[start..end]
}

/// Every workflow type, signal, query, update and activity the examples' workers register is
/// named in the README where that example is described, in backticks (the names the CLI and
/// other SDKs use), so the page cannot drift from the code.
#[tokio::test]
async fn the_readme_names_every_registered_wire_name() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let client = server().await;
    let (routing_worker, host_worker) = routing::workers(&client, "readme").unwrap();
    let workers = [
        ("food_delivery", vec![food_delivery::worker(&client).unwrap()]),
        ("fanout", vec![fanout::worker(&client).unwrap()]),
        ("child_workflows", vec![child_workflows::worker(&client).unwrap()]),
        ("durable_timers", vec![durable_timers::worker(&client).unwrap()]),
        ("routing", vec![routing_worker, host_worker]),
        ("unique_id", vec![unique_id::worker(&client).unwrap()]),
        ("perpetual", vec![perpetual::worker(&client).unwrap()]),
        ("at_most_once", vec![at_most_once::worker(&client).unwrap()]),
        ("approval", vec![approval::worker(&client).unwrap()]),
        ("heartbeat", vec![heartbeat::worker(&client).unwrap()]),
        ("timeouts", vec![timeouts::worker(&client).unwrap()]),
        ("visibility", vec![visibility::worker(&client).unwrap()]),
        ("schedules", vec![schedules::worker(&client).unwrap()]),
        ("debugging", vec![debugging::worker(&client).unwrap()]),
        (
            "nexus",
            vec![
                nexus::worker(&client).unwrap(),
                nexus::inventory_worker(&client).unwrap(),
            ],
        ),
    ];
    let mut missing = Vec::new();
    for (example, workers) in &workers {
        let part = readme_part(&readme, example);
        let mut names: Vec<String> = Vec::new();
        for worker in workers {
            names.extend(worker.activity_types().into_iter().map(String::from));
            for definition in worker.workflow_definitions() {
                names.push(definition.r#type.clone());
                for handler in definition
                    .signal_definitions
                    .iter()
                    .chain(&definition.query_definitions)
                    .chain(&definition.update_definitions)
                {
                    names.push(handler.name.clone());
                }
            }
        }
        assert!(!names.is_empty(), "{example} registers nothing?");
        for name in names {
            if !part.contains(&format!("`{name}")) {
                missing.push(format!("{example}: `{name}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "registered but not in examples/README.md: {missing:#?}"
    );
}
