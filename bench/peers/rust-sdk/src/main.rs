//! The bench program for Temporal's official Rust SDK (`temporalio-sdk` 1.1.1), following the
//! contract in `bench/README.md`:
//!
//! - `worker TASK_QUEUE`: a worker for `BenchSequential`, `BenchIdle`, `BenchTimers` and the
//!   activity `step`; prints `ready`, works until a line arrives on stdin (or it closes).
//! - `local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP`: that worker and a client on
//!   one connection in this process, every `BenchSequential` started with eager start.
//! - `replay HISTORY_JSON ROUNDS`: replays a recorded `BenchSequential` history with the SDK's
//!   `WorkflowReplayer`, in-process, with no server.
//! - `testenv TIMERS`: the SDK has no time-skipping test environment that works offline, so this
//!   prints `{"unavailable": "…"}`.

use std::error::Error;
use std::io::BufRead;
use std::time::{Duration, Instant};

use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions, WorkflowHistory,
    WorkflowStartOptions,
};
use temporalio_common::data_converters::MultiArgs2;
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult};

type AnyResult<T> = Result<T, Box<dyn Error>>;

/// The contract's slot counts for workflow tasks and activities.
const SLOTS: usize = 500;

pub struct BenchActivities;

#[activities]
impl BenchActivities {
    #[activity(name = "step")]
    pub async fn step(_ctx: ActivityContext, n: i64) -> Result<i64, ActivityError> {
        Ok(n + 1)
    }
}

#[workflow]
#[derive(Default)]
pub struct BenchSequential;

#[workflow_methods]
impl BenchSequential {
    #[run(name = "BenchSequential")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, activities: i64) -> WorkflowResult<i64> {
        let mut n = 0;
        for _ in 0..activities {
            n = ctx
                .execute_activity(
                    BenchActivities::step,
                    n,
                    ActivityOptions::start_to_close_timeout(Duration::from_secs(30)),
                )
                .await?;
        }
        Ok(n)
    }
}

#[workflow]
#[derive(Default)]
pub struct BenchIdle;

#[workflow_methods]
impl BenchIdle {
    #[run(name = "BenchIdle")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.timer(Duration::from_secs(24 * 60 * 60)).await;
        Ok(())
    }
}

#[workflow]
#[derive(Default)]
pub struct BenchTimers;

#[workflow_methods]
impl BenchTimers {
    /// Two workflow arguments travel as two payloads; the SDK takes them as one `MultiArgs2`.
    #[run(name = "BenchTimers")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, args: MultiArgs2<i64, i64>) -> WorkflowResult<i64> {
        let MultiArgs2(timers, each_secs) = args;
        for _ in 0..timers {
            ctx.timer(Duration::from_secs(each_secs.max(0) as u64)).await;
        }
        Ok(timers)
    }
}

async fn connect() -> AnyResult<Client> {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".to_owned());
    let url = if address.contains("://") {
        address
    } else {
        format!("http://{address}")
    };
    let connection = Connection::connect(ConnectionOptions::new(Url::parse(&url)?).build()).await?;
    Ok(Client::new(connection, ClientOptions::new("default").build())?)
}

async fn worker(task_queue: &str) -> AnyResult<()> {
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let client = connect().await?;
    let mut worker = bench_worker(&runtime, client, task_queue)?;

    // A line on stdin, or its end, starts a graceful shutdown; `run` then returns.
    // (The handle must be called inside the Tokio runtime, hence a blocking task, not a thread.)
    let shutdown = worker.shutdown_handle();
    tokio::task::spawn_blocking(move || {
        stdin_line();
        shutdown();
    });

    // The SDK has no hook for "polling has started": `run` validates the namespace and starts
    // polling right away, so `ready` is printed just before it.
    println!("ready");
    worker.run().await?;
    Ok(())
}

/// Waits for a line on stdin, or its end.
fn stdin_line() {
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

/// The contract's worker on `client`: the bench workflows and activity, 500 slots of each kind,
/// a cache of `BENCH_MAX_CACHED` runs.
fn bench_worker(runtime: &Runtime, client: Client, task_queue: &str) -> AnyResult<Worker> {
    let max_cached = match std::env::var("BENCH_MAX_CACHED") {
        Ok(v) => v.parse()?,
        Err(_) => 10_000,
    };
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(SLOTS))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(SLOTS))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(SLOTS))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(SLOTS))
        .build();
    let options = WorkerOptions::new(task_queue)
        .register_workflow::<BenchSequential>()?
        .register_workflow::<BenchIdle>()?
        .register_workflow::<BenchTimers>()?
        .register_activities(BenchActivities)
        .max_cached_workflows(max_cached)
        .tuner(tuner)
        .build();
    Ok(Worker::new(runtime, client, options)?)
}

/// `local`: a worker and the starts on one client (one connection, where the worker registers
/// itself, so that eager start can reserve it a slot), every start asking for eager start.
/// Warms up with `warm_up` workflows, prints `ready`, waits for a line on stdin, then runs
/// `workflows` of `activities` each, `concurrency` at a time, and prints the report.
async fn local(
    task_queue: &str,
    workflows: usize,
    concurrency: usize,
    activities: i64,
    warm_up: usize,
) -> AnyResult<()> {
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let client = connect().await?;
    let mut worker = bench_worker(&runtime, client.clone(), task_queue)?;
    let shutdown = worker.shutdown_handle();
    let drives = async {
        let warm_up_ids = format!("{task_queue}-warm-up");
        drive(&client, task_queue, &warm_up_ids, (warm_up, warm_up.max(1), activities)).await?;
        println!("ready");
        tokio::task::spawn_blocking(stdin_line).await?;
        let started = Instant::now();
        let mut latencies = drive(&client, task_queue, task_queue, (workflows, concurrency, activities)).await?;
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{{\"workflows\": {workflows}, \"seconds\": {seconds:.3}, \"workflows_per_second\": {:.1}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}}}",
            workflows as f64 / seconds,
            percentile(0.5),
            percentile(0.99)
        );
        // Measured from outside until told to stop.
        tokio::task::spawn_blocking(stdin_line).await?;
        shutdown();
        AnyResult::Ok(())
    };
    // The worker runs beside the drives; if it stops first, the drives would wait forever.
    let (ran, drove) = tokio::join!(worker.run(), drives);
    drove?;
    ran?;
    Ok(())
}

/// Runs `n` `BenchSequential(a)`, `c` at a time, with ids `ids-0`, …, each started eagerly;
/// returns their start-to-result latencies in ms.
async fn drive(client: &Client, task_queue: &str, ids: &str, (n, c, a): (usize, usize, i64)) -> AnyResult<Vec<f64>> {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(c));
    let runs: Vec<_> = (0..n)
        .map(|i| {
            let (client, gate) = (client.clone(), gate.clone());
            let options = WorkflowStartOptions::new(task_queue.to_owned(), format!("{ids}-{i}"))
                .enable_eager_workflow_start(true)
                .build();
            tokio::spawn(async move {
                let _slot = gate.acquire_owned().await?;
                let started = Instant::now();
                let handle = client.start_workflow(BenchSequential::run, a, options).await?;
                let result = handle.get_result(WorkflowGetResultOptions::default()).await?;
                if result != a {
                    return Err(format!("BenchSequential({a}) returned {result}").into());
                }
                Ok::<f64, Box<dyn Error + Send + Sync>>(started.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for run in runs {
        latencies.push(run.await?.map_err(|e| e.to_string())?);
    }
    Ok(latencies)
}

async fn replay(file: &str, rounds: usize) -> AnyResult<()> {
    let history = history_from_proto_json(&std::fs::read(file)?)?;
    let events = history.events.len();
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<BenchSequential>()?
            .build(),
    )?;
    // The replayer takes each history by value; the copy is made outside the timed part.
    replayer.replay_workflow(WorkflowHistory::from(history.clone())).await?;
    let mut elapsed = Duration::ZERO;
    for _ in 0..rounds {
        let copy = WorkflowHistory::from(history.clone());
        let started = Instant::now();
        replayer.replay_workflow(copy).await?;
        elapsed += started.elapsed();
    }
    let seconds = elapsed.max(Duration::from_nanos(1)).as_secs_f64();
    println!(
        "{{\"history_events\": {events}, \"rounds\": {rounds}, \"seconds\": {seconds:.3}, \"events_per_second\": {:.0}}}",
        (events * rounds) as f64 / seconds
    );
    Ok(())
}

/// The protos' descriptor set, copied by build.rs.
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));

/// Parses the proto3 JSON of a `History` (what `temporal workflow show --output json` writes).
///
/// The SDK's own `WorkflowHistory::from_json` expects the serde-derive layout of its generated
/// types (`event_id`, enum numbers, …) and rejects this JSON, so the JSON goes through
/// prost-reflect with the protos' descriptors and back to binary, which `History` decodes.
fn history_from_proto_json(json: &[u8]) -> AnyResult<History> {
    let pool = DescriptorPool::decode(DESCRIPTORS)?;
    let descriptor = pool
        .get_message_by_name("temporal.api.history.v1.History")
        .ok_or("the descriptor set lacks temporal.api.history.v1.History")?;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let message = DynamicMessage::deserialize_with_options(
        descriptor,
        &mut deserializer,
        // A newer CLI may write fields these protos do not know yet.
        &DeserializeOptions::new().deny_unknown_fields(false),
    )?;
    deserializer.end()?;
    Ok(History::decode(message.encode_to_vec().as_slice())?)
}

fn testenv() {
    let reason = "temporalio-sdk 1.1.1 has no time-skipping test environment: its `testing` \
                  feature offers only WorkflowEnvironment::start_local (a real-time dev server), \
                  and core's time-skipping TestServerConfig runs the separate temporal-test-server \
                  binary, downloaded from temporal.download (unreachable here)";
    println!("{}", serde_json::json!({ "unavailable": reason }));
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> AnyResult<T> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("missing or bad {what}").into())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("worker") => match arg::<String>(&args, 2, "task queue") {
            Ok(tq) => worker(&tq).await,
            Err(e) => Err(e),
        },
        Some("local") => {
            let numbers = (3..=6)
                .map(|i| arg::<usize>(&args, i, ["workflows", "concurrency", "activities", "warm-up"][i - 3]))
                .collect::<AnyResult<Vec<usize>>>();
            match (arg::<String>(&args, 2, "task queue"), numbers) {
                (Ok(tq), Ok(n)) => local(&tq, n[0], n[1], n[2] as i64, n[3]).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        Some("replay") => match (arg::<String>(&args, 2, "history file"), arg(&args, 3, "rounds")) {
            (Ok(file), Ok(rounds)) => replay(&file, rounds).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        Some("testenv") => {
            testenv();
            Ok(())
        }
        _ => Err("usage: bench-rust-sdk worker TQ | local TQ WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP | replay HISTORY_JSON ROUNDS | testenv TIMERS".into()),
    };
    if let Err(e) = result {
        eprintln!("bench-rust-sdk: {e}");
        std::process::exit(1);
    }
}
