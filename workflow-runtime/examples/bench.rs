//! This project's bench program for `cargo xtask bench`, following the contract in
//! `bench/README.md` that every peer SDK's bench program follows too (same workflows, wire
//! names and commands):
//!
//! - `bench worker TASK_QUEUE`: serves until a line arrives on stdin (or stdin closes); with
//!   `BENCH_METRICS=1` (and the `metrics` and `opentelemetry` features) its client and worker
//!   record Temporal's SDK metrics, served on a Prometheus endpoint, and trace every call with
//!   `OpenTelemetryTracing` (spans recorded, not exported), for the cost of both;
//!   `BENCH_WORKFLOW_POLLERS` (a count, or `auto` for `PollerBehavior::autoscaling()`) sets
//!   its workflow pollers, to compare settings by hand.
//! - `bench local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP`: that worker and a
//!   client on one connection in this process; after WARM_UP workflows it prints `ready`, and
//!   on a line on stdin starts WORKFLOWS `BenchSequential(ACTIVITIES)`, CONCURRENCY at a time,
//!   each asking for eager start, prints the drive's report (as `drive` does) and stops on the
//!   next line.
//! - `bench replay HISTORY_JSON ROUNDS`: replays a recorded `BenchSequential` (or, this
//!   project only, `BenchSignals`) history.
//! - `bench testenv TIMERS`: the 30-day-timer and TIMERS-timer workflows in the test environment
//!   (on a current-thread runtime, as `#[tokio::test]` runs tests).
//!
//! It is also the driver for every SDK (one client starts the work for all of them):
//!
//! - `bench drive TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES [ID_PREFIX]`: runs
//!   `BenchSequential` workflows (ids `ID_PREFIX-0`, …), CONCURRENCY at a time, and prints
//!   throughput and start-to-result latencies.
//! - `bench idle TASK_QUEUE COUNT`: starts COUNT `BenchIdle` workflows and returns once the
//!   worker has run the first task of every one (each then waits on its timer in the cache).
//! - `bench scale-drive TASK_QUEUE WORKFLOWS CONCURRENCY ID_PREFIX`: starts WORKFLOWS
//!   `BenchSequential(1)` (ids `ID_PREFIX-0`, …), CONCURRENCY start calls in flight, without
//!   waiting on any result; waits until visibility counts them all closed; then reads their
//!   start and close times from visibility and prints throughput (first start to last close),
//!   start-to-close latencies and errors (the scale workload: no long poll per workflow).
//!
//! And, for this project only (no peer takes part):
//!
//! - `bench signals TASK_QUEUE SIGNALS CONCURRENCY WORKFLOW_ID`: starts one `BenchSignals`
//!   workflow, sends it SIGNALS `bump` signals, CONCURRENCY at a time, and waits for its result
//!   (the long-histories workload; `BenchSequential` of many activities, through `drive`, is its
//!   other shape). Prints `{"signals": M, "seconds": S}`.
//! - `bench eager TASK_QUEUE COUNT`: a client and a worker built on it in this process start
//!   `BenchFirstActivity` workflows one at a time, COUNT with eager start and COUNT without
//!   (alternating, eager first and last of every four, after a few of each to warm up), and
//!   print the start-to-first-activity latencies of each way (from the start call to the
//!   activity's first line) and how many eager starts the worker ran eagerly.
//! - `bench query WORKFLOW_ID ROUNDS`: asks the run's `__stack_trace` query ROUNDS times, one
//!   after another, and prints `{"rounds": R, "seconds": S}` (a worker without a cache replays
//!   a closed run's whole history for each).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workflow_runtime::client::history::history_from_json;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::worker::PollerBehavior;

#[activity(start_to_close_timeout = "30s")]
async fn step(n: u64) -> Result<u64, ActivityError> {
    Ok(n + 1)
}

#[workflow]
#[derive(Default)]
pub struct Sequential;

#[workflow(name = "BenchSequential")]
impl Sequential {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, activities: u64) -> WorkflowResult<u64> {
        let mut n = 0;
        for _ in 0..activities {
            n = ctx.activity(step, n).await?;
        }
        Ok(n)
    }
}

/// Counts `bump` signals; completes once it has as many as its argument.
#[workflow]
#[derive(Default)]
pub struct Signals {
    received: u64,
}

#[workflow(name = "BenchSignals")]
impl Signals {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, signals: u64) -> WorkflowResult<u64> {
        ctx.wait_condition(move |s| s.received >= signals).await?;
        Ok(ctx.state(|s| s.received))
    }

    #[signal]
    fn bump(&mut self) {
        self.received += 1;
    }
}

#[workflow]
#[derive(Default)]
pub struct Idle;

#[workflow(name = "BenchIdle")]
impl Idle {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.sleep(Duration::from_secs(86_400)).await?;
        Ok(())
    }
}

#[workflow]
#[derive(Default)]
pub struct Timers;

#[workflow(name = "BenchTimers")]
impl Timers {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, timers: u64, each_secs: u64) -> WorkflowResult<u64> {
        for _ in 0..timers {
            ctx.sleep(Duration::from_secs(each_secs)).await?;
        }
        Ok(timers)
    }
}

/// When each probe's activity started, by its key.
static FIRST_ACTIVITY: Mutex<BTreeMap<u64, Instant>> = Mutex::new(BTreeMap::new());

#[activity(start_to_close_timeout = "30s")]
async fn first_activity(key: u64) -> Result<u64, ActivityError> {
    FIRST_ACTIVITY.lock().expect("probe map").insert(key, Instant::now());
    Ok(key)
}

#[workflow]
#[derive(Default)]
pub struct FirstActivity;

#[workflow(name = "BenchFirstActivity")]
impl FirstActivity {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, key: u64) -> WorkflowResult<u64> {
        ctx.activity(first_activity, key).await
    }
}

/// The p-th percentile (0 to 1) of sorted figures.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn eager(task_queue: &str, count: usize) {
    const WARM_UP: usize = 4;
    let client = connect().await;
    // A worker identity of its own: an eagerly run task is started by the client's.
    let options = workflow_runtime::worker::WorkerOptions {
        identity: Some(format!("{}-worker", client.identity())),
        ..Default::default()
    };
    let worker = Worker::builder(&client, task_queue)
        .options(options)
        .workflow::<FirstActivity>()
        .activity(first_activity)
        .build()
        .expect("worker");
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let mut latencies: [Vec<f64>; 2] = Default::default();
    let mut ran_eagerly = 0;
    for i in 0..WARM_UP + 2 * count {
        let eager = matches!(i % 4, 0 | 3);
        let options = StartOptions::new(format!("{task_queue}-{i}"), task_queue).eager(eager);
        let started = Instant::now();
        let handle = FirstActivity::start(&client, options, i as u64).await.expect("start");
        handle.result().await.expect("result");
        let activity = FIRST_ACTIVITY.lock().expect("probe map").remove(&(i as u64));
        let latency = activity.expect("the activity ran").duration_since(started);
        if i < WARM_UP {
            continue;
        }
        latencies[usize::from(eager)].push(latency.as_secs_f64() * 1000.0);
        if eager {
            let history = handle.fetch_history().await.expect("history");
            let first_task = history.events.iter().find_map(|e| match &e.attributes {
                Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => Some(a.identity.clone()),
                _ => None,
            });
            ran_eagerly += usize::from(first_task.as_deref() == Some(client.identity()));
        }
    }
    shutdown.shutdown();
    running.await.expect("worker task").expect("worker");
    let report = |latencies: &mut Vec<f64>, eagerly: usize| {
        latencies.sort_by(f64::total_cmp);
        format!(
            "{{\"runs\": {}, \"eager_runs\": {eagerly}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
            latencies.len(),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        )
    };
    let [normal, eager] = &mut latencies;
    println!(
        "{{\"eager\": {}, \"normal\": {}}}",
        report(eager, ran_eagerly),
        report(normal, 0)
    );
}

async fn testenv(timers: u64) {
    let env = workflow_runtime::testing::TestEnv::start()
        .await
        .expect("test environment");
    let worker = Worker::builder(env.client(), "bench-timers")
        .workflow::<Timers>()
        .build()
        .expect("worker");
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let mut timed = Vec::new();
    for (id, (count, each)) in [
        ("one-30-day-timer", (1, 30 * 86_400)),
        ("sequential-timers", (timers, 1)),
    ] {
        let started = Instant::now();
        let handle = Timers::start(env.client(), StartOptions::new(id, "bench-timers"), count, each)
            .await
            .expect("start");
        assert_eq!(handle.result().await.expect("result"), count);
        timed.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    shutdown.shutdown();
    running.await.expect("worker task").expect("worker");
    println!(
        "{{\"thirty_day_timer_ms\": {:.2}, \"timers\": {timers}, \"sequential_timers_ms\": {:.1}}}",
        timed[0], timed[1]
    );
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} ({what}) is missing or invalid"))
}

async fn connect() -> Client {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    Client::connect(ClientOptions::new(address))
        .await
        .expect("connect to Temporal")
}

async fn worker(task_queue: &str) {
    let (client, telemetry) = observed_client().await;
    let worker = bench_worker(&client, task_queue, telemetry.as_ref());
    let shutdown = worker.shutdown_handle();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        shutdown.shutdown();
    });
    println!("ready");
    worker.run().await.expect("worker run");
}

/// The contract's worker on `client`: the bench workflows and activity, 500 slots of each,
/// a cache of `BENCH_MAX_CACHED` runs, `BENCH_WORKFLOW_POLLERS` polls, observed when asked.
fn bench_worker(client: &Client, task_queue: &str, telemetry: Option<&Telemetry>) -> Worker {
    let cache = std::env::var("BENCH_MAX_CACHED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut worker = Worker::builder(client, task_queue)
        .workflow::<Sequential>()
        .workflow::<Idle>()
        .workflow::<Timers>()
        .workflow::<Signals>()
        .activity(step)
        .sticky_cache_size(cache)
        .max_concurrent_activities(500)
        .max_concurrent_workflow_tasks(500);
    if let Some(telemetry) = telemetry {
        worker = telemetry.observe(worker);
    }
    if let Ok(pollers) = std::env::var("BENCH_WORKFLOW_POLLERS") {
        worker = worker.workflow_pollers(match pollers.as_str() {
            "auto" => PollerBehavior::autoscaling(),
            count => PollerBehavior::SimpleMaximum(
                count
                    .parse()
                    .unwrap_or_else(|_| panic!("BENCH_WORKFLOW_POLLERS is {count:?}: a count of polls, or `auto`")),
            ),
        });
    }
    worker.build().expect("worker")
}

/// What `BENCH_METRICS=1` turns on: metrics served on a Prometheus endpoint, and tracing of
/// every call (spans recorded, not exported: an exporter's cost is the application's choice).
#[cfg(all(feature = "metrics", feature = "opentelemetry"))]
struct Telemetry {
    _metrics: workflow_runtime::metrics::MetricsExporter,
    tracing: workflow_runtime::interceptor::OpenTelemetryTracing,
}

/// The worker's client, observed when `BENCH_METRICS` is set.
#[cfg(all(feature = "metrics", feature = "opentelemetry"))]
async fn observed_client() -> (Client, Option<Telemetry>) {
    if std::env::var_os("BENCH_METRICS").is_none() {
        return (connect().await, None);
    }
    let exporter = workflow_runtime::metrics::MetricsExporter::builder()
        .prometheus("127.0.0.1:0")
        .start()
        .await
        .expect("metrics exporter");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracing = workflow_runtime::interceptor::OpenTelemetryTracing::new(
        opentelemetry::trace::TracerProvider::tracer(&provider, "bench"),
    );
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let options = ClientOptions::new(address)
        .metrics(&exporter)
        .interceptor(tracing.clone());
    let client = Client::connect(options).await.expect("connect to Temporal");
    let telemetry = Telemetry {
        _metrics: exporter,
        tracing,
    };
    (client, Some(telemetry))
}

#[cfg(all(feature = "metrics", feature = "opentelemetry"))]
impl Telemetry {
    /// The worker, traced too.
    fn observe(&self, worker: workflow_runtime::worker::WorkerBuilder) -> workflow_runtime::worker::WorkerBuilder {
        worker.interceptor(self.tracing.clone())
    }
}

/// Without the features there is nothing to observe with.
#[cfg(not(all(feature = "metrics", feature = "opentelemetry")))]
enum Telemetry {}

#[cfg(not(all(feature = "metrics", feature = "opentelemetry")))]
impl Telemetry {
    fn observe(&self, _: workflow_runtime::worker::WorkerBuilder) -> workflow_runtime::worker::WorkerBuilder {
        match *self {}
    }
}

#[cfg(not(all(feature = "metrics", feature = "opentelemetry")))]
async fn observed_client() -> (Client, Option<Telemetry>) {
    (connect().await, None)
}

/// The shape of one drive: `workflows` runs of `BenchSequential(activities)`, `concurrency` at
/// a time, with ids `id_prefix-0`, …, eagerly started or not.
struct Drive {
    workflows: usize,
    concurrency: usize,
    activities: u64,
    id_prefix: String,
    eager: bool,
}

/// `bench drive`: runs the workload on this client and prints its report.
async fn drive(task_queue: &str, shape: Drive) {
    println!("{}", drive_on(&connect().await, task_queue, shape).await);
}

/// `bench local`: a worker and the starts on one client in this process, every start asking
/// for eager start; after `warm_up` workflows it prints `ready` and waits for a line on stdin,
/// then drives `shape`, prints its report and stops on the next line.
async fn local(task_queue: &str, shape: Drive, warm_up: usize) {
    let client = connect().await;
    // Spawned, not run in a task: it takes eager starts from the first one on.
    let running = bench_worker(&client, task_queue, None).spawn();
    let warm_up = Drive {
        workflows: warm_up,
        concurrency: warm_up.max(1),
        activities: shape.activities,
        id_prefix: format!("{task_queue}-warm-up"),
        eager: true,
    };
    drive_on(&client, task_queue, warm_up).await;
    println!("ready");
    stdin_line().await;
    println!("{}", drive_on(&client, task_queue, shape).await);
    // Measured from outside until told to stop.
    stdin_line().await;
    running.stop().await.expect("worker");
}

/// Waits for a line on stdin, or its end.
async fn stdin_line() {
    tokio::task::spawn_blocking(|| std::io::stdin().lock().read_line(&mut String::new()))
        .await
        .expect("stdin reader")
        .ok();
}

/// Runs `shape` on `client` and returns its report: throughput and start-to-result latencies.
async fn drive_on(client: &Client, task_queue: &str, shape: Drive) -> String {
    let Drive {
        workflows,
        concurrency,
        activities,
        id_prefix,
        eager,
    } = shape;
    let started = Instant::now();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut runs = Vec::with_capacity(workflows);
    for i in 0..workflows {
        let (client, gate) = (client.clone(), gate.clone());
        let id = format!("{id_prefix}-{i}");
        let task_queue = task_queue.to_string();
        runs.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await.expect("semaphore");
            let t = Instant::now();
            let n = Sequential::execute(&client, StartOptions::new(id, task_queue).eager(eager), activities)
                .await
                .expect("workflow result");
            assert_eq!(n, activities);
            t.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(workflows);
    for r in runs {
        latencies.push(r.await.expect("run"));
    }
    let elapsed = started.elapsed();
    let mut latencies: Vec<f64> = latencies.iter().map(|l| l.as_secs_f64() * 1000.0).collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| percentile(&latencies, p);
    format!(
        "{{\"workflows\": {workflows}, \"seconds\": {:.3}, \"workflows_per_second\": {:.1}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}}}",
        elapsed.as_secs_f64(),
        workflows as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    )
}

/// How often `scale-drive` asks visibility how many runs have closed.
const SCALE_POLL: Duration = Duration::from_millis(500);

/// `bench scale-drive`: starts every workflow first (at most `concurrency` start calls in
/// flight), then waits on visibility alone — one count query every [`SCALE_POLL`], then one
/// listing — so the driver holds no long poll per workflow however many run. Latencies and
/// throughput come from the server's start and close times. Errors are start calls that
/// failed, runs that closed other than completed, and started runs visibility does not list;
/// it gives up (and fails) when the runs have not all closed within a minute plus 100 ms per
/// workflow.
async fn scale_drive(task_queue: &str, workflows: usize, concurrency: usize, id_prefix: &str) {
    use futures::StreamExt;
    let client = connect().await;
    let started = Instant::now();
    let starts = futures::stream::iter(0..workflows)
        .map(|i| {
            let options = StartOptions::new(format!("{id_prefix}-{i}"), task_queue.to_string());
            Sequential::start(&client, options, 1)
        })
        .buffer_unordered(concurrency.max(1));
    let start_errors: Vec<String> = starts
        .filter_map(|r| async move { r.err().map(|e| e.to_string()) })
        .collect()
        .await;
    if let Some(e) = start_errors.first() {
        eprintln!("scale-drive: {} start calls failed, the first: {e}", start_errors.len());
    }
    let expected = (workflows - start_errors.len()) as u64;
    let closed_query = format!("TaskQueue = '{task_queue}' AND ExecutionStatus != 'Running'");
    let bound = Duration::from_secs(60) + Duration::from_millis(100) * workflows as u32;
    let (mut closed, mut reported) = (0, Instant::now());
    while closed < expected {
        assert!(
            started.elapsed() < bound,
            "scale-drive: only {closed} of {expected} workflows closed within {bound:?}"
        );
        tokio::time::sleep(SCALE_POLL).await;
        closed = client
            .count_workflows(&closed_query)
            .await
            .expect("count closed workflows");
        if reported.elapsed() > Duration::from_secs(10) {
            eprintln!("scale-drive: {closed} of {expected} closed");
            reported = Instant::now();
        }
    }
    let prefix = format!("{id_prefix}-");
    let mut runs = std::pin::pin!(client.list_workflows(&closed_query));
    let (mut first_start, mut last_close) = (None::<std::time::SystemTime>, None::<std::time::SystemTime>);
    let (mut latencies, mut statuses) = (Vec::with_capacity(workflows), BTreeMap::<&str, usize>::new());
    while let Some(run) = runs.next().await {
        let run = run.expect("list closed workflows");
        if !run.workflow_id.starts_with(&prefix) {
            continue;
        }
        *statuses.entry(run.status.as_str_name()).or_default() += 1;
        if let (Some(start), Some(close)) = (run.start_time, run.close_time) {
            first_start = Some(first_start.map_or(start, |t| t.min(start)));
            last_close = Some(last_close.map_or(close, |t| t.max(close)));
            let latency = close.duration_since(start).unwrap_or_default();
            latencies.push(latency.as_secs_f64() * 1000.0);
        }
    }
    let completed = statuses
        .get("WORKFLOW_EXECUTION_STATUS_COMPLETED")
        .copied()
        .unwrap_or(0);
    let listed: usize = statuses.values().sum();
    let errors = start_errors.len() + (listed - completed) + (expected as usize).saturating_sub(listed);
    latencies.sort_by(f64::total_cmp);
    let span = match (first_start, last_close) {
        (Some(first), Some(last)) => last.duration_since(first).unwrap_or_default().as_secs_f64(),
        _ => 0.0,
    };
    let pct = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            percentile(&latencies, p)
        }
    };
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("\"{s}\": {n}")).collect();
    println!(
        "{{\"workflows\": {workflows}, \"completed\": {completed}, \"errors\": {errors}, \"start_errors\": {}, \
         \"statuses\": {{{}}}, \"seconds\": {span:.3}, \"workflows_per_second\": {:.1}, \"p50_ms\": {:.1}, \
         \"p99_ms\": {:.1}, \"driver_seconds\": {:.3}}}",
        start_errors.len(),
        statuses.join(", "),
        completed as f64 / span.max(1e-9),
        pct(0.5),
        pct(0.99),
        started.elapsed().as_secs_f64()
    );
}

async fn idle(task_queue: &str, count: usize) {
    let client = connect().await;
    let started = Instant::now();
    let prefix = format!("idle-{}", std::process::id());
    let ids: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    // A thousand at a time, each thousand settled before the next: the server's backlog of
    // first tasks stays small (100,000 started at once, with their describes, took an
    // in-memory dev server past 22 GB here).
    for thousand in ids.chunks(1000) {
        for chunk in thousand.chunks(100) {
            let starts = chunk
                .iter()
                .map(|id| Idle::start(&client, StartOptions::new(id.clone(), task_queue.to_string())));
            for started in futures::future::join_all(starts).await {
                started.expect("start BenchIdle");
            }
        }
        settle(&client, thousand.to_vec()).await;
    }
    println!(
        "{{\"workflows\": {count}, \"seconds\": {:.3}}}",
        started.elapsed().as_secs_f64()
    );
}

/// Waits until each of the `BenchIdle` runs `ids` has had its first workflow task (none
/// pending), so that the run sits in the worker's cache.
async fn settle(client: &Client, mut waiting: Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !waiting.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} runs still have a pending first task",
            waiting.len()
        );
        let mut still = Vec::new();
        for chunk in waiting.chunks(100) {
            let checks = chunk.iter().map(|id| async {
                let described = client.handle::<Idle>(id.clone(), None).describe().await;
                let pending = described.expect("describe").raw.pending_workflow_task.is_some();
                (id.clone(), pending)
            });
            for (id, pending) in futures::future::join_all(checks).await {
                if pending {
                    still.push(id);
                }
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One `BenchSignals` workflow sent `signals` signals, in batches of `concurrency` sent at
/// once, until it completes.
async fn signals(task_queue: &str, signals: u64, concurrency: usize, id: String) {
    let client = connect().await;
    let started = Instant::now();
    let handle = Signals::start(&client, StartOptions::new(id, task_queue.to_string()), signals)
        .await
        .expect("start BenchSignals");
    let batches: Vec<u64> = (0..signals).collect();
    for batch in batches.chunks(concurrency.max(1)) {
        let sent = batch.iter().map(|_| handle.bump());
        for sent in futures::future::join_all(sent).await {
            sent.expect("signal BenchSignals");
        }
    }
    assert_eq!(handle.result().await.expect("BenchSignals result"), signals);
    println!(
        "{{\"signals\": {signals}, \"seconds\": {:.3}}}",
        started.elapsed().as_secs_f64()
    );
}

/// Asks the workflow's stack trace (a query every run answers) `rounds` times, one after
/// another: on a closed run, a worker without a cache replays its whole history each time.
async fn query(workflow_id: &str, rounds: usize) {
    let client = connect().await;
    let handle = client.untyped_handle(workflow_id, None);
    let started = Instant::now();
    for _ in 0..rounds {
        handle
            .query("__stack_trace", vec![], Default::default())
            .await
            .expect("the stack trace query");
    }
    println!(
        "{{\"rounds\": {rounds}, \"seconds\": {:.3}}}",
        started.elapsed().as_secs_f64()
    );
}

/// The least time `bench replay` measures for.
const MIN_REPLAY_TIME: Duration = Duration::from_secs(1);

fn replay(file: &str, rounds: usize) {
    let json = std::fs::read_to_string(file).expect("read the history file");
    let history = history_from_json(&json).expect("parse the history");
    let replayer = Replayer::new().workflow::<Sequential>().workflow::<Signals>();
    replayer.replay(&history).expect("the recorded history replays");
    // At least `rounds`, and at least a second's worth: one round here takes a few
    // milliseconds, short enough for the scheduler's noise to move the figure several times.
    let started = Instant::now();
    let mut done = 0;
    while done < rounds || started.elapsed() < MIN_REPLAY_TIME {
        replayer.replay(&history).expect("replay");
        done += 1;
    }
    let elapsed = started.elapsed().max(Duration::from_nanos(1));
    let events = history.events.len() * done;
    println!(
        "{{\"history_events\": {}, \"rounds\": {done}, \"seconds\": {:.3}, \"events_per_second\": {:.0}}}",
        history.events.len(),
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The test environment runs where a user's tests run: `#[tokio::test]`'s runtime, one
    // thread. Everything else on the multi-threaded runtime, as a worker process runs.
    let runtime = match args.get(1).map(String::as_str) {
        Some("testenv") => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Runtime::new(),
    };
    runtime.expect("a tokio runtime").block_on(run(args));
}

async fn run(args: Vec<String>) {
    match args.get(1).map(String::as_str) {
        Some("worker") => worker(&args[2]).await,
        Some("drive") => {
            let shape = Drive {
                workflows: arg(&args, 3, "workflows"),
                concurrency: arg(&args, 4, "concurrency"),
                activities: arg(&args, 5, "activities"),
                id_prefix: args
                    .get(6)
                    .cloned()
                    .unwrap_or_else(|| format!("{}-{}", args[2], std::process::id())),
                eager: false,
            };
            drive(&args[2], shape).await
        }
        Some("local") => {
            let shape = Drive {
                workflows: arg(&args, 3, "workflows"),
                concurrency: arg(&args, 4, "concurrency"),
                activities: arg(&args, 5, "activities"),
                id_prefix: args[2].clone(),
                eager: true,
            };
            local(&args[2], shape, arg(&args, 6, "warm-up")).await
        }
        Some("idle") => idle(&args[2], arg(&args, 3, "count")).await,
        Some("scale-drive") => {
            let prefix: String = arg(&args, 5, "id prefix");
            scale_drive(
                &args[2],
                arg(&args, 3, "workflows"),
                arg(&args, 4, "concurrency"),
                &prefix,
            )
            .await
        }
        Some("signals") => {
            signals(
                &args[2],
                arg(&args, 3, "signals"),
                arg(&args, 4, "concurrency"),
                arg(&args, 5, "workflow id"),
            )
            .await
        }
        Some("eager") => eager(&args[2], arg(&args, 3, "count")).await,
        Some("replay") => replay(&args[2], arg(&args, 3, "rounds")),
        Some("query") => query(&args[2], arg(&args, 3, "rounds")).await,
        Some("testenv") => testenv(arg(&args, 2, "timers")).await,
        _ => eprintln!(
            "usage: bench worker TQ | bench drive TQ N CONCURRENCY ACTIVITIES [ID_PREFIX] | bench local TQ N CONCURRENCY ACTIVITIES WARM_UP | bench idle TQ COUNT | bench scale-drive TQ N CONCURRENCY ID_PREFIX | bench signals TQ SIGNALS CONCURRENCY WORKFLOW_ID | bench eager TQ COUNT | bench replay HISTORY_JSON ROUNDS | bench query WORKFLOW_ID ROUNDS | bench testenv TIMERS"
        ),
    }
}
