//! Faults survived: the server restarting under running workflows, and the connection to it
//! cut and restored. Nothing is lost; workers and clients reconnect on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use workflow_runtime::client::RpcRetry;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, DevServerOptions, find_cli};

#[activity(start_to_close_timeout = "30s")]
async fn stamp(n: u32) -> Result<u32, ActivityError> {
    Ok(n * 10)
}

/// An activity, a timer, another activity.
#[workflow]
#[derive(Default)]
pub struct Steady;

#[workflow(name = "SteadyWorkflow")]
impl Steady {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32, pause_ms: u64) -> WorkflowResult<u32> {
        let a = ctx.activity(stamp, n).await?;
        ctx.sleep(Duration::from_millis(pause_ms)).await?;
        let b = ctx.activity(stamp, n + 1).await?;
        Ok(a + b)
    }
}

/// A client that keeps retrying while the server is away (up to a minute).
async fn patient_client(address: &str) -> Client {
    let retry = RpcRetry {
        max_attempts: 120,
        max_backoff: Duration::from_millis(500),
        ..Default::default()
    };
    Client::connect(ClientOptions::new(address).retry(retry)).await.unwrap()
}

fn steady_worker(client: &Client, tq: &str) -> (workflow_runtime::worker::ShutdownHandle, tokio::task::JoinHandle<()>) {
    let worker = Worker::builder(client, tq)
        .workflow::<Steady>()
        .activity(stamp)
        .build()
        .unwrap();
    let shutdown = worker.shutdown_handle();
    (shutdown, tokio::spawn(async move { worker.run().await.unwrap() }))
}

async fn start_all(client: &Client, tq: &str, pause_ms: u64) -> Vec<SteadyHandle> {
    let mut handles = Vec::new();
    for n in 0..10 {
        let id = format!("steady-{n}-{}", uuid::Uuid::new_v4().simple());
        // A short workflow task timeout: a task handed out as the connection broke is handed out
        // again after it, instead of after the default 10 s.
        let options = StartOptions::new(id, tq).task_timeout(Duration::from_secs(2));
        handles.push(Steady::start(client, options, n, pause_ms).await.unwrap());
    }
    handles
}

async fn all_results(handles: &[SteadyHandle]) {
    for (n, h) in handles.iter().enumerate() {
        let n = n as u32;
        let result = tokio::time::timeout(Duration::from_secs(90), h.result())
            .await
            .expect("the workflow finishes after the fault")
            .unwrap();
        assert_eq!(result, n * 10 + (n + 1) * 10);
    }
}

/// The dev server stops while ten workflows sit on their timers, and comes back on the same
/// database: the worker and the client reconnect and every workflow completes.
#[tokio::test]
async fn workflows_complete_across_a_server_restart() {
    let cli = find_cli().unwrap();
    let port = workflow_runtime::testing::free_port().unwrap();
    let db = std::env::temp_dir().join(format!("faults-{}.db", uuid::Uuid::new_v4().simple()));
    let options = DevServerOptions {
        cli: Some(cli),
        port: Some(port),
        db_filename: Some(db.clone()),
        ..Default::default()
    };
    let server = DevServer::start_with(options.clone()).unwrap();
    let client = patient_client(server.address()).await;
    let worker = steady_worker(&client, "steady");
    let handles = start_all(&client, "steady", 3000).await;
    // Every workflow reached its timer before the server goes.
    for h in &handles {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !h
            .fetch_history()
            .await
            .unwrap()
            .events
            .iter()
            .any(|e| e.event_type == workflow_runtime::client::proto::enums::EventType::TimerStarted as i32)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "a workflow never reached its timer"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    server.stop();
    // Down for a moment (the pollers see the connection refused and back off).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let restarted = DevServer::start_with(options).unwrap();
    all_results(&handles).await;
    worker.0.shutdown();
    worker.1.await.unwrap();
    restarted.stop();
    // SQLite's write-ahead log and shared-memory files sit beside the database.
    for suffix in ["", "-shm", "-wal"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}

/// A loopback proxy in front of the server that can drop every connection and refuse new ones
/// for a while.
struct Proxy {
    address: String,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if flag.load(Ordering::SeqCst) {
                    let _ = inbound.shutdown().await;
                    continue;
                }
                let upstream = upstream.clone();
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let watch = async {
                        while !flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    // The connection ends when either side closes or the cut comes.
                    tokio::select! {
                        _ = copy => {}
                        _ = watch => {}
                    }
                });
            }
        });
        Proxy { address, cut }
    }
}

/// The connection to the server is cut for two seconds in the middle of ten workflows: the
/// pollers recover and every workflow completes.
#[tokio::test]
async fn workflows_complete_across_a_cut_connection() {
    // Warnings show with a failure's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let proxy = Proxy::start(DevServer::shared_address()).await;
    let client = patient_client(&proxy.address).await;
    let tq = format!("cut-{}", uuid::Uuid::new_v4().simple());
    let worker = steady_worker(&client, &tq);
    let handles = start_all(&client, &tq, 1000).await;
    proxy.cut.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.cut.store(false, Ordering::SeqCst);
    all_results(&handles).await;
    worker.0.shutdown();
    worker.1.await.unwrap();
}

static SLOW_STAMPS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[activity(start_to_close_timeout = "30s")]
async fn slow_stamp(n: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    SLOW_STAMPS.fetch_add(1, Ordering::SeqCst);
    Ok(n)
}

/// Three slow activities in a row.
#[workflow]
#[derive(Default)]
pub struct Busy;

#[workflow(name = "BusyWorkflow")]
impl Busy {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let mut total = 0;
        for i in 0..3 {
            total += ctx.activity(slow_stamp, n + i).await?;
        }
        Ok(total)
    }
}

fn busy_worker(client: &Client, tq: &str) -> Worker {
    Worker::builder(client, tq)
        .workflow::<Busy>()
        .activity(slow_stamp)
        .build()
        .unwrap()
}

/// A worker shut down gracefully in the middle of 40 busy workflows: it finishes what it
/// holds, a second worker takes over, every workflow completes, no task failed, and no
/// activity ran twice. (A workflow task the server had already routed to the stopped worker's
/// sticky queue moves to the normal queue after the sticky schedule-to-start timeout: delayed,
/// not failed.)
#[tokio::test]
async fn graceful_shutdown_under_load_loses_and_repeats_nothing() {
    let client = patient_client(&DevServer::shared_address()).await;
    let tq = format!("busy-{}", uuid::Uuid::new_v4().simple());
    let first = busy_worker(&client, &tq);
    let first_shutdown = first.shutdown_handle();
    let first_run = tokio::spawn(first.run());
    let before = SLOW_STAMPS.load(Ordering::SeqCst);
    let mut handles = Vec::new();
    for n in 0..40u32 {
        let id = format!("busy-{n}-{}", uuid::Uuid::new_v4().simple());
        handles.push(Busy::start(&client, StartOptions::new(id, &tq), n).await.unwrap());
    }
    // Mid-way (activities running, tasks in hand), the first worker is told to stop.
    while SLOW_STAMPS.load(Ordering::SeqCst) - before < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first_shutdown.shutdown();
    let second = busy_worker(&client, &tq);
    let second_shutdown = second.shutdown_handle();
    let second_run = tokio::spawn(second.run());
    tokio::time::timeout(Duration::from_secs(60), first_run)
        .await
        .expect("the first worker stops")
        .unwrap()
        .unwrap();
    for (n, h) in handles.iter().enumerate() {
        let n = n as u32;
        let total = tokio::time::timeout(Duration::from_secs(60), h.result())
            .await
            .expect("every workflow completes")
            .unwrap();
        assert_eq!(total, 3 * n + 3);
        let history = h.fetch_history().await.unwrap();
        let failed = history.events.iter().any(|e| {
            [
                workflow_runtime::client::proto::enums::EventType::WorkflowTaskFailed as i32,
                workflow_runtime::client::proto::enums::EventType::ActivityTaskFailed as i32,
                workflow_runtime::client::proto::enums::EventType::ActivityTaskTimedOut as i32,
            ]
            .contains(&e.event_type)
        });
        assert!(!failed, "a task of workflow {n} failed");
        let lost = history.events.iter().any(|e| match &e.attributes {
            Some(workflow_runtime::client::proto::history::history_event::Attributes::WorkflowTaskTimedOutEventAttributes(a)) => {
                a.timeout_type != workflow_runtime::client::proto::enums::TimeoutType::ScheduleToStart as i32
            }
            _ => false,
        });
        assert!(!lost, "a workflow task of workflow {n} was taken and never answered");
    }
    assert_eq!(
        SLOW_STAMPS.load(Ordering::SeqCst) - before,
        120,
        "an activity ran twice"
    );
    second_shutdown.shutdown();
    second_run.await.unwrap().unwrap();
}

/// Heartbeats once, then (on its first attempt) stops heartbeating for longer than its
/// heartbeat timeout; the next attempt resumes from the detail it recorded.
#[activity(
    start_to_close_timeout = "30s",
    heartbeat_timeout = "1s",
    retry(initial_interval = "100ms", maximum_attempts = 3)
)]
async fn stalls(ctx: ActivityContext) -> Result<u32, ActivityError> {
    if ctx.info().attempt == 1 {
        ctx.heartbeat(&7u32);
        tokio::time::sleep(Duration::from_secs(3)).await; // silent past the heartbeat timeout
        return Ok(0);
    }
    Ok(ctx.heartbeat_details::<u32>().ok().flatten().unwrap_or(0) * 10 + ctx.info().attempt)
}

#[workflow]
#[derive(Default)]
pub struct Stalled;

#[workflow(name = "StalledWorkflow")]
impl Stalled {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.activity(stalls, ()).await
    }
}

/// An activity that stops heartbeating is timed out by the server and retried; the next
/// attempt sees the last heartbeat's details.
#[tokio::test]
async fn a_silent_activity_is_timed_out_and_the_retry_resumes_from_its_heartbeat() {
    let client = patient_client(&DevServer::shared_address()).await;
    let tq = format!("stalled-{}", uuid::Uuid::new_v4().simple());
    let worker = Worker::builder(&client, &tq)
        .workflow::<Stalled>()
        .activity(stalls)
        .build()
        .unwrap();
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let stalled = Stalled::start(
        &client,
        StartOptions::new(format!("stalled-{}", uuid::Uuid::new_v4()), &tq),
    )
    .await
    .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), stalled.result())
        .await
        .unwrap()
        .unwrap();
    // Detail 7 from attempt 1, read by attempt 2.
    assert_eq!(result, 72);
    let history = stalled.fetch_history().await.unwrap();
    let last_failure = history.events.iter().find_map(|e| match &e.attributes {
        Some(
            workflow_runtime::client::proto::history::history_event::Attributes::ActivityTaskStartedEventAttributes(a),
        ) => a.last_failure.clone(),
        _ => None,
    });
    let last_failure = workflow_runtime::Failure::from(last_failure.expect("the retry records why"));
    assert!(
        matches!(&*last_failure.kind, workflow_runtime::FailureKind::Timeout { timeout_type, .. }
            if *timeout_type == workflow_runtime::client::proto::enums::TimeoutType::Heartbeat),
        "{last_failure:?}"
    );
    shutdown.shutdown();
    running.await.unwrap().unwrap();
}

/// Input of the wrong shape started from the `temporal` CLI (which itself refuses text that is
/// not JSON): the workflow fails at once with an error naming the type, and the worker goes on
/// serving.
#[tokio::test]
async fn malformed_input_from_the_cli_fails_the_workflow_clearly() {
    let client = patient_client(&DevServer::shared_address()).await;
    let tq = format!("cli-{}", uuid::Uuid::new_v4().simple());
    let worker = steady_worker(&client, &tq);
    let id = format!("cli-{}", uuid::Uuid::new_v4().simple());
    let started = std::process::Command::new(find_cli().unwrap())
        .args([
            "workflow",
            "start",
            "--type",
            "SteadyWorkflow",
            "--task-queue",
            &tq,
            "--workflow-id",
            &id,
        ])
        .args(["--address", &DevServer::shared_address()])
        // A string where the workflow takes a number.
        .args(["--input", "\"seven\"", "--input", "10"])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    match tokio::time::timeout(Duration::from_secs(30), client.untyped_handle(&id, None).result())
        .await
        .unwrap()
    {
        Err(workflow_runtime::ClientError::WorkflowFailed(failure)) => {
            assert!(failure.message.contains("SteadyWorkflow"), "{failure}");
            assert_eq!(failure.application_type(), Some("PayloadError"));
        }
        other => panic!("{other:?}"),
    }
    // The same worker still runs good workflows.
    let fine = start_all(&client, &tq, 10).await;
    all_results(&fine).await;
    worker.0.shutdown();
    worker.1.await.unwrap();
}
