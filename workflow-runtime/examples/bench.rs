//! The benchmark program `cargo xtask bench` drives (it starts the server and the processes).
//!
//! - `bench worker TASK_QUEUE`: serves until a line arrives on stdin, then shuts down and
//!   prints its own CPU seconds as JSON.
//! - `bench drive TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES`: starts workflows of
//!   ACTIVITIES sequential activities, CONCURRENCY at a time, and prints throughput and
//!   start-to-result latencies as JSON.
//! - `bench replay ACTIVITIES ROUNDS`: replays a synthetic history of that many activities
//!   ROUNDS times in-process and prints events per second as JSON.
//! - `bench testenv TIMERS`: in the in-process test environment, the wall time of a workflow
//!   with one 30-day timer and of one with TIMERS sequential 1-second timers, as JSON.

use std::io::BufRead;
use std::time::{Duration, Instant};
use workflow_runtime::client::payload::to_payload;
use workflow_runtime::client::proto::common::{ActivityType, Payloads, WorkflowType};
use workflow_runtime::client::proto::enums::EventType;
use workflow_runtime::client::proto::history::{self as ph, History, HistoryEvent, history_event::Attributes as Ev};
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;

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

/// User + system CPU seconds of this process, from /proc (Linux; 100 ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are the 12th and 13th after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size of this process in MiB, from /proc.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn connect() -> Client {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    Client::connect(ClientOptions::new(address))
        .await
        .expect("connect to Temporal")
}

async fn worker(task_queue: &str) {
    let client = connect().await;
    let worker = Worker::builder(&client, task_queue)
        .workflow::<Sequential>()
        .activity(step)
        .max_concurrent_activities(500)
        .max_concurrent_workflow_tasks(500)
        .build()
        .expect("worker");
    let shutdown = worker.shutdown_handle();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        shutdown.shutdown();
    });
    println!("ready");
    worker.run().await.expect("worker run");
    println!(
        "{{\"cpu_seconds\": {:.3}, \"peak_rss_mib\": {:.1}}}",
        cpu_seconds(),
        peak_rss_mib()
    );
}

async fn drive(task_queue: &str, workflows: usize, concurrency: usize, activities: u64) {
    let client = connect().await;
    let started = Instant::now();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut runs = Vec::with_capacity(workflows);
    for i in 0..workflows {
        let (client, gate) = (client.clone(), gate.clone());
        let id = format!("bench-{}-{i}", std::process::id());
        let task_queue = task_queue.to_string();
        runs.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await.expect("semaphore");
            let t = Instant::now();
            let n = Sequential::execute(&client, StartOptions::new(id, task_queue), activities)
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
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{{\"workflows\": {workflows}, \"seconds\": {:.3}, \"workflows_per_second\": {:.1}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}}}",
        elapsed.as_secs_f64(),
        workflows as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}

/// The history a run of `Sequential` with `activities` steps records.
fn synthetic_history(activities: u64) -> History {
    let mut events: Vec<HistoryEvent> = Vec::new();
    let mut add = |event_type: EventType, attributes: Ev| {
        let event_id = events.len() as i64 + 1;
        events.push(HistoryEvent {
            event_id,
            event_type: event_type as i32,
            attributes: Some(attributes),
            ..Default::default()
        });
        event_id
    };
    let payloads = |v: u64| {
        Some(Payloads {
            payloads: vec![to_payload(&v).expect("payload")],
        })
    };
    add(
        EventType::WorkflowExecutionStarted,
        Ev::WorkflowExecutionStartedEventAttributes(ph::WorkflowExecutionStartedEventAttributes {
            workflow_type: Some(WorkflowType {
                name: "BenchSequential".into(),
            }),
            input: payloads(activities),
            workflow_id: "bench-replay".into(),
            original_execution_run_id: "run".into(),
            ..Default::default()
        }),
    );
    let task = |add: &mut dyn FnMut(EventType, Ev) -> i64| {
        add(
            EventType::WorkflowTaskScheduled,
            Ev::WorkflowTaskScheduledEventAttributes(Default::default()),
        );
        add(
            EventType::WorkflowTaskStarted,
            Ev::WorkflowTaskStartedEventAttributes(Default::default()),
        );
        add(
            EventType::WorkflowTaskCompleted,
            Ev::WorkflowTaskCompletedEventAttributes(Default::default()),
        );
    };
    task(&mut add);
    for i in 0..activities {
        let scheduled = add(
            EventType::ActivityTaskScheduled,
            Ev::ActivityTaskScheduledEventAttributes(ph::ActivityTaskScheduledEventAttributes {
                activity_id: (i + 1).to_string(),
                activity_type: Some(ActivityType { name: "step".into() }),
                ..Default::default()
            }),
        );
        add(
            EventType::ActivityTaskStarted,
            Ev::ActivityTaskStartedEventAttributes(Default::default()),
        );
        add(
            EventType::ActivityTaskCompleted,
            Ev::ActivityTaskCompletedEventAttributes(ph::ActivityTaskCompletedEventAttributes {
                scheduled_event_id: scheduled,
                result: payloads(i + 1),
                ..Default::default()
            }),
        );
        task(&mut add);
    }
    add(
        EventType::WorkflowExecutionCompleted,
        Ev::WorkflowExecutionCompletedEventAttributes(ph::WorkflowExecutionCompletedEventAttributes {
            result: payloads(activities),
            ..Default::default()
        }),
    );
    History { events }
}

fn replay(activities: u64, rounds: usize) {
    let history = synthetic_history(activities);
    let replayer = Replayer::new().workflow::<Sequential>();
    replayer.replay(&history).expect("the synthetic history replays");
    let started = Instant::now();
    for _ in 0..rounds {
        replayer.replay(&history).expect("replay");
    }
    let elapsed = started.elapsed().max(Duration::from_nanos(1));
    let events = history.events.len() * rounds;
    println!(
        "{{\"history_events\": {}, \"rounds\": {rounds}, \"seconds\": {:.3}, \"events_per_second\": {:.0}}}",
        history.events.len(),
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("worker") => worker(&args[2]).await,
        Some("drive") => {
            drive(
                &args[2],
                arg(&args, 3, "workflows"),
                arg(&args, 4, "concurrency"),
                arg(&args, 5, "activities"),
            )
            .await
        }
        Some("replay") => replay(arg(&args, 2, "activities"), arg(&args, 3, "rounds")),
        Some("testenv") => testenv(arg(&args, 2, "timers")).await,
        _ => eprintln!(
            "usage: bench worker TQ | bench drive TQ N CONCURRENCY ACTIVITIES | bench replay ACTIVITIES ROUNDS | bench testenv TIMERS"
        ),
    }
}
