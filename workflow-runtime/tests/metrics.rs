//! Temporal's SDK metrics on the real dev server: a worker runs workflows while the test
//! scrapes its Prometheus endpoint, and the values must follow from the run.
#![cfg(feature = "metrics")]

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workflow_runtime::client::proto::enums::TaskQueueKind;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::client::proto::taskqueue::TaskQueue;
use workflow_runtime::metrics::MetricsExporter;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, eventually, unique_id};

#[activity(start_to_close_timeout = "10s")]
async fn double(n: u64) -> Result<u64, ActivityError> {
    Ok(n * 2)
}

#[workflow]
#[derive(Default)]
pub struct Doubler;

#[workflow]
impl Doubler {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u64) -> WorkflowResult<u64> {
        ctx.activity(double, n).await
    }
}

#[workflow]
#[derive(Default)]
pub struct Refuser;

#[workflow]
impl Refuser {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, why: String) -> WorkflowResult<()> {
        Err(WorkflowError::non_retryable(why, "Refused"))
    }
}

/// The body of `GET /metrics` from the endpoint, over plain HTTP/1.1.
async fn scrape(exporter: &MetricsExporter) -> String {
    let address = exporter.prometheus_address().expect("a scrape endpoint");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the endpoint");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send the scrape");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read the scrape");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "scrape answered {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The sum of the samples of `name` whose labels include all of `labels`; `None` when there
/// is no such series.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, sample)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
        if series_name != name
            || !labels
                .iter()
                .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")))
        {
            continue;
        }
        let sample: f64 = sample.parse().expect("a number");
        *found.get_or_insert(0.0) += sample;
    }
    found
}

/// Scrapes until `done` holds of the scrape, for at most 20 s; returns the last scrape.
async fn scrape_until(exporter: &MetricsExporter, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(exporter).await;
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never saw {what}; last scrape:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_run_shows_in_the_scraped_metrics() -> Result<(), Box<dyn std::error::Error>> {
    const N: u64 = 5;
    let exporter = MetricsExporter::builder()
        .prometheus("127.0.0.1:0")
        .label("suite", "metrics-test")
        .start()
        .await?;
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    let queue = unique_id("metrics");
    let worker = Worker::builder(&client, &queue)
        .workflow::<Doubler>()
        .workflow::<Refuser>()
        .activity(double)
        .build()?
        .spawn();

    let run = async {
        for n in 0..N {
            let doubled = Doubler::execute(&client, StartOptions::new(unique_id("double"), &queue), n).await?;
            assert_eq!(doubled, n * 2);
        }
        let refused = Refuser::execute(&client, StartOptions::new(unique_id("refuse"), &queue), "no".into()).await;
        assert!(refused.is_err(), "the refusing workflow failed: {refused:?}");
        Ok::<_, ClientError>(())
    };
    tokio::time::timeout(Duration::from_secs(60), run).await??;

    let q = ("task_queue", queue.as_str());
    let doubler = ("workflow_type", "Doubler");
    // The counters move once the server has taken the closing answer, just before the client
    // sees the result: wait for them, bounded.
    let text = scrape_until(&exporter, "every run's outcome counted", |t| {
        value(t, "temporal_workflow_completed", &[q, doubler]) == Some(N as f64)
            && value(t, "temporal_workflow_failed", &[q, ("workflow_type", "Refuser")]) == Some(1.0)
    })
    .await;
    if std::env::var_os("SHOW_METRICS").is_some() {
        eprintln!("{text}");
    }

    // Exactly N completions, one failure, no cancellations, and nothing else closed.
    assert_eq!(
        value(&text, "temporal_workflow_completed", &[q]),
        Some(N as f64),
        "{text}"
    );
    assert_eq!(value(&text, "temporal_workflow_failed", &[q]), Some(1.0));
    assert_eq!(value(&text, "temporal_workflow_canceled", &[q]), None);
    assert_eq!(
        value(&text, "temporal_workflow_endtoend_latency_count", &[q, doubler]),
        Some(N as f64)
    );
    // One activity attempt per Doubler run, each succeeded; none failed.
    let act = ("activity_type", "double");
    assert_eq!(
        value(&text, "temporal_activity_execution_latency_count", &[q, act]),
        Some(N as f64)
    );
    assert_eq!(
        value(&text, "temporal_activity_succeed_endtoend_latency_count", &[q, act]),
        Some(N as f64)
    );
    assert_eq!(value(&text, "temporal_activity_execution_failed", &[q]), None);
    // The second task of each Doubler run (after its activity) found the run cached.
    assert!(
        value(&text, "temporal_sticky_cache_hit", &[q]).unwrap_or(0.0) > 0.0,
        "{text}"
    );
    assert!(value(&text, "temporal_sticky_cache_size", &[q]).is_some());
    // Workflow task timings and polls.
    assert!(
        value(&text, "temporal_workflow_task_execution_latency_count", &[q, doubler]).unwrap_or(0.0) >= 2.0 * N as f64
    );
    assert!(value(&text, "temporal_workflow_task_schedule_to_start_latency_count", &[q]).unwrap_or(0.0) > 0.0);
    assert!(value(&text, "temporal_workflow_task_queue_poll_succeed", &[q]).unwrap_or(0.0) > 0.0);
    assert_eq!(value(&text, "temporal_worker_start", &[q]), Some(1.0));
    // Requests: counted by operation, with the namespace; task polls are long requests
    // labelled with their task queue.
    let ns = ("namespace", "default");
    let starts = value(
        &text,
        "temporal_request",
        &[ns, ("operation", "StartWorkflowExecution")],
    );
    assert!(starts.unwrap_or(0.0) >= (N + 1) as f64, "{text}");
    assert!(
        value(
            &text,
            "temporal_request",
            &[ns, ("operation", "RespondWorkflowTaskCompleted")]
        )
        .unwrap_or(0.0)
            > 0.0
    );
    let polls = value(
        &text,
        "temporal_long_request",
        &[q, ("operation", "PollWorkflowTaskQueue")],
    );
    assert!(polls.unwrap_or(0.0) > 0.0, "{text}");
    assert!(value(&text, "temporal_request_latency_count", &[ns]).unwrap_or(0.0) > 0.0);
    // Slots and pollers are gauges of this worker.
    for worker_type in ["WorkflowWorker", "ActivityWorker"] {
        let labels = [q, ("worker_type", worker_type)];
        assert!(
            value(&text, "temporal_worker_task_slots_available", &labels).is_some(),
            "{text}"
        );
        assert!(
            value(&text, "temporal_worker_task_slots_used", &labels).is_some(),
            "{text}"
        );
    }
    assert!(value(&text, "temporal_num_pollers", &[q, ("poller_type", "workflow_task")]).is_some());
    // The core-based SDKs' exposition: no `_total` on counters, milliseconds without a unit
    // suffix, sdk-core's buckets, and the handle's own label on every series.
    assert!(!text.contains("temporal_request_total"), "{text}");
    assert!(text.contains("# TYPE temporal_workflow_completed counter"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("temporal_workflow_task_execution_latency_bucket") && l.contains("le=\"20\""))
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with("temporal_"))
            .all(|l| l.contains("suite=\"metrics-test\""))
    );

    worker.stop().await?;
    Ok(())
}

#[tokio::test]
async fn seconds_and_total_suffixes_are_options() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = MetricsExporter::builder()
        .prometheus("127.0.0.1:0")
        .durations_as_seconds(true)
        .counters_total_suffix(true)
        .unit_suffix(true)
        .start()
        .await?;
    // Connecting makes one request (GetSystemInfo).
    let _client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    let text = scrape(&exporter).await;
    let labels = [("operation", "GetSystemInfo")];
    assert_eq!(value(&text, "temporal_request_total", &labels), Some(1.0), "{text}");
    assert_eq!(
        value(&text, "temporal_request_latency_seconds_count", &labels),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("temporal_request_latency_seconds_bucket") && l.contains("le=\"0.05\""))
    );
    assert_eq!(
        exporter
            .render_prometheus()
            .as_deref()
            .map(|t| t.contains("temporal_request_total")),
        Some(true)
    );
    exporter.shutdown().await?;
    Ok(())
}

/// Runs `count` `double` activities at once.
#[workflow]
#[derive(Default)]
pub struct Burst;

#[workflow]
impl Burst {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, count: u64) -> WorkflowResult<u64> {
        let calls = (0..count).map(|n| ctx.activity(double, n).into_future());
        let mut sum = 0;
        for doubled in workflow_runtime::futures::future::join_all(calls).await {
            sum += doubled?;
        }
        Ok(sum)
    }
}

#[tokio::test]
async fn autoscaled_pollers_rise_with_a_burst_and_return_to_the_minimum() -> Result<(), Box<dyn std::error::Error>> {
    use workflow_runtime::worker::PollerBehavior;
    const MAXIMUM: f64 = 6.0;
    let exporter = MetricsExporter::builder().prometheus("127.0.0.1:0").start().await?;
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    let queue = unique_id("autoscaling");
    let worker = Worker::builder(&client, &queue)
        .workflow::<Burst>()
        .activity(double)
        .activity_pollers(PollerBehavior::Autoscaling {
            minimum: 1,
            maximum: MAXIMUM as usize,
            initial: 1,
        })
        .build()?
        .spawn();
    // Activity polls open now, read from the gauge; never above the maximum.
    let labels = [("task_queue", queue.as_str()), ("poller_type", "activity_task")];
    let pollers = &|| {
        let text = exporter.render_prometheus().expect("a Prometheus registry");
        let open = value(&text, "temporal_num_pollers", &labels).unwrap_or(0.0);
        assert!(open <= MAXIMUM, "{open} activity polls open, above the maximum");
        open
    };
    // Waits (at most `bound`, looking every 20 ms) until `done` holds of the open polls.
    let wait_for = |what: &'static str, bound: Duration, done: fn(f64) -> bool| async move {
        let deadline = Instant::now() + bound;
        loop {
            let open = pollers();
            if done(open) {
                return;
            }
            assert!(Instant::now() < deadline, "never saw {what}; last {open} polls open");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    wait_for("the minimum poll open at start", Duration::from_secs(20), |open| {
        open == 1.0
    })
    .await;

    // A burst: polls that bring tasks add pollers, up to the maximum.
    let burst = Burst::execute(&client, StartOptions::new(unique_id("burst"), &queue), 60);
    let (sum, ()) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(60), burst),
        wait_for("more polls than the minimum", Duration::from_secs(60), |open| open
            > 1.0),
    );
    assert_eq!(sum??, (0..60).map(|n| n * 2).sum::<u64>());

    // Idle: the added polls come back empty (within about 10 s) and are not renewed.
    wait_for("the minimum again once idle", Duration::from_secs(60), |open| {
        open == 1.0
    })
    .await;
    worker.stop().await?;
    Ok(())
}

/// Tells the test the local activity of [`Knocked`] started, then waits for the test's go.
static KNOCK_STARTED: tokio::sync::Notify = tokio::sync::Notify::const_new();
static KNOCK_GO: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[activity(start_to_close_timeout = "30s")]
async fn hold_the_task() -> Result<(), ActivityError> {
    KNOCK_STARTED.notify_one();
    KNOCK_GO.notified().await;
    Ok(())
}

/// Holds its first workflow task open (a local activity) while the test signals it.
#[workflow]
#[derive(Default)]
pub struct Knocked {
    knocked: bool,
}

#[workflow]
impl Knocked {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.local_activity(hold_the_task, ()).await?;
        ctx.wait_condition(|s| s.knocked).await?;
        Ok(())
    }

    #[signal]
    fn knock(&mut self) {
        self.knocked = true;
    }
}

#[tokio::test]
async fn a_signal_during_a_workflow_task_is_handled_in_the_task_its_answer_brings_back()
-> Result<(), Box<dyn std::error::Error>> {
    let exporter = MetricsExporter::builder().prometheus("127.0.0.1:0").start().await?;
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).metrics(&exporter)).await?;
    let queue = unique_id("inline-task");
    let worker = Worker::builder(&client, &queue)
        .workflow::<Knocked>()
        .activity(hold_the_task)
        .build()?
        .spawn();
    let run = async {
        let handle = Knocked::start(&client, StartOptions::new(unique_id("knocked"), &queue)).await?;
        // The first task is running (its local activity holds it): the signal lands in
        // history while it runs, so answering it makes the server start the next task at once.
        KNOCK_STARTED.notified().await;
        handle.knock().await?;
        KNOCK_GO.notify_one();
        handle.result().await
    };
    tokio::time::timeout(Duration::from_secs(60), run).await??;

    let q = ("task_queue", queue.as_str());
    let text = scrape_until(&exporter, "the run's completion counted", |t| {
        value(t, "temporal_workflow_completed", &[q]) == Some(1.0)
    })
    .await;
    // Two workflow tasks ran, and only the first came through a poll: the second came back
    // with the first one's answer.
    assert_eq!(
        value(&text, "temporal_workflow_task_execution_latency_count", &[q]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "temporal_workflow_task_queue_poll_succeed", &[q]),
        Some(1.0),
        "{text}"
    );
    worker.stop().await?;
    Ok(())
}

/// Waits for its signal, and ends.
#[workflow]
#[derive(Default)]
pub struct Waiting {
    released: bool,
}

#[workflow]
impl Waiting {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.released).await?;
        Ok(())
    }

    #[signal]
    fn release(&mut self) {
        self.released = true;
    }
}

/// Waits (bounded) until the run's history holds `count` completed workflow tasks.
async fn tasks_completed(handle: &WaitingHandle, count: usize) {
    let what = format!("{count} completed workflow tasks");
    eventually(&what, Duration::from_secs(30), || async {
        let history = handle.fetch_history().await.expect("the run's history");
        let done = history
            .events
            .iter()
            .filter(|e| matches!(e.attributes, Some(Attributes::WorkflowTaskCompletedEventAttributes(_))))
            .count();
        (done >= count).then_some(())
    })
    .await
}

/// The task queue of each workflow task the server scheduled for the run, in order.
async fn scheduled_on(handle: &WaitingHandle) -> Result<Vec<TaskQueue>, ClientError> {
    Ok(handle
        .fetch_history()
        .await?
        .events
        .into_iter()
        .filter_map(|e| match e.attributes {
            Some(Attributes::WorkflowTaskScheduledEventAttributes(a)) => a.task_queue,
            _ => None,
        })
        .collect())
}

/// Two runs through a cache of one, on the server at `address`: the second pushes the first
/// out, and the worker tells the server (`ResetStickyTaskQueue`, counted once it is answered),
/// so the first run's next task goes to the normal queue, while the second, still cached, gets
/// its next one on the worker's sticky queue.
async fn a_run_pushed_out_of_the_cache_is_reset(address: String) -> Result<(), Box<dyn std::error::Error>> {
    let exporter = MetricsExporter::builder().prometheus("127.0.0.1:0").start().await?;
    let client = Client::connect(ClientOptions::new(address).metrics(&exporter)).await?;
    let queue = unique_id("evicted");
    let worker = Worker::builder(&client, &queue)
        .workflow::<Waiting>()
        .sticky_cache_size(1)
        .build()?
        .spawn();
    let run = async {
        let first = Waiting::start(&client, StartOptions::new(unique_id("first"), &queue)).await?;
        tasks_completed(&first, 1).await;
        let second = Waiting::start(&client, StartOptions::new(unique_id("second"), &queue)).await?;
        tasks_completed(&second, 1).await;
        Ok::<_, ClientError>((first, second))
    };
    let (first, second) = tokio::time::timeout(Duration::from_secs(60), run).await??;

    let (ns, reset) = (("namespace", "default"), ("operation", "ResetStickyTaskQueue"));
    let q = ("task_queue", queue.as_str());
    let text = scrape_until(&exporter, "the evicted run's reset answered", |t| {
        value(t, "temporal_request_latency_count", &[ns, reset]).is_some()
    })
    .await;
    assert_eq!(
        value(&text, "temporal_request_latency_count", &[ns, reset]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "temporal_request_failure", &[reset]), None, "{text}");
    assert_eq!(
        value(&text, "temporal_sticky_cache_total_forced_eviction", &[q]),
        Some(1.0),
        "{text}"
    );

    // The first run finishes in the task it replays for, so it does not push the second out.
    let finish = async {
        first.release().await?;
        first.result().await?;
        second.release().await?;
        second.result().await
    };
    tokio::time::timeout(Duration::from_secs(60), finish).await??;
    let (first_queues, second_queues) = (scheduled_on(&first).await?, scheduled_on(&second).await?);
    let (normal, sticky) = (TaskQueueKind::Normal as i32, TaskQueueKind::Sticky as i32);
    assert_eq!(first_queues.len(), 2, "{first_queues:?}");
    assert!(
        first_queues.iter().all(|tq| tq.name == queue && tq.kind == normal),
        "{first_queues:?}"
    );
    assert_eq!(second_queues.len(), 2, "{second_queues:?}");
    assert_eq!(
        (second_queues[1].kind, second_queues[1].normal_name.as_str()),
        (sticky, queue.as_str()),
        "{second_queues:?}"
    );
    worker.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_run_pushed_out_of_the_cache_has_its_next_task_sent_to_the_normal_queue()
-> Result<(), Box<dyn std::error::Error>> {
    a_run_pushed_out_of_the_cache_is_reset(DevServer::shared_address()).await
}

#[tokio::test]
async fn in_the_test_environment_too_a_run_pushed_out_of_the_cache_is_reset() -> Result<(), Box<dyn std::error::Error>>
{
    let env = workflow_runtime::testing::TestEnv::start().await?;
    a_run_pushed_out_of_the_cache_is_reset(env.client().options().address.clone()).await
}

/// Sleeps `count` virtual hours, one timer after the other.
#[workflow]
#[derive(Default)]
pub struct HourByHour;

#[workflow]
impl HourByHour {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, count: u32) -> WorkflowResult<u32> {
        for _ in 0..count {
            ctx.sleep(Duration::from_secs(3600)).await?;
        }
        Ok(count)
    }
}

#[tokio::test]
async fn in_the_test_environment_a_timer_loop_needs_no_poll_per_timer() -> Result<(), Box<dyn std::error::Error>> {
    const TIMERS: u32 = 20;
    let env = workflow_runtime::testing::TestEnv::start().await?;
    let exporter = MetricsExporter::builder().prometheus("127.0.0.1:0").start().await?;
    let queue = unique_id("hour-by-hour");
    let worker = Worker::builder(env.client(), &queue)
        .workflow::<HourByHour>()
        .metrics(&exporter)
        .build()?
        .spawn();
    let done = HourByHour::execute(env.client(), StartOptions::new(unique_id("hours"), &queue), TIMERS);
    assert_eq!(tokio::time::timeout(Duration::from_secs(30), done).await??, TIMERS);

    let q = ("task_queue", queue.as_str());
    let text = scrape_until(&exporter, "the run's completion counted", |t| {
        value(t, "temporal_workflow_completed", &[q]) == Some(1.0)
    })
    .await;
    // One task per timer and the first; each timer fired as the task that started it was
    // answered (the client waits on the result, and nothing else runs), so the next task came
    // back with that answer. Only the first task, and the one after the result wait's first
    // jump of the clock, came through a poll.
    assert_eq!(
        value(&text, "temporal_workflow_task_execution_latency_count", &[q]),
        Some(f64::from(TIMERS + 1)),
        "{text}"
    );
    let polled = value(&text, "temporal_workflow_task_queue_poll_succeed", &[q]).unwrap_or(0.0);
    assert!(
        (1.0..=2.0).contains(&polled),
        "{polled} tasks came through polls:\n{text}"
    );
    worker.stop().await?;
    Ok(())
}

/// A Nexus service whose one operation answers or refuses.
#[nexus_service(name = "greeting")]
pub trait Greeting {
    /// Greets a name; refuses an empty one.
    #[operation]
    async fn hello(
        &self,
        ctx: workflow_runtime::nexus::NexusContext,
        name: String,
    ) -> Result<String, workflow_runtime::nexus::NexusError>;
}

struct Greeter;

impl Greeting for Greeter {
    async fn hello(
        &self,
        _ctx: workflow_runtime::nexus::NexusContext,
        name: String,
    ) -> Result<String, workflow_runtime::nexus::NexusError> {
        if name.is_empty() {
            return Err(workflow_runtime::nexus::NexusError::bad_request("a name is required"));
        }
        Ok(format!("hello {name}"))
    }
}

/// Calls `greeting.hello` once per name through the `greetings` endpoint; answers what each
/// call gave.
#[workflow]
#[derive(Default)]
pub struct GreetAll;

#[workflow]
impl GreetAll {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, names: Vec<String>) -> WorkflowResult<Vec<String>> {
        let mut answers = Vec::new();
        for name in names {
            let answer = greeting::Caller::new(&ctx, "greetings").hello(name).await;
            answers.push(answer.unwrap_or_else(|e| format!("refused: {e}")));
        }
        Ok(answers)
    }
}

#[tokio::test]
async fn nexus_requests_show_in_the_metrics_as_the_core_based_sdks_name_them() -> Result<(), Box<dyn std::error::Error>>
{
    let env = workflow_runtime::testing::TestEnv::start().await?;
    let exporter = MetricsExporter::builder().prometheus("127.0.0.1:0").start().await?;
    let queue = unique_id("greetings");
    env.create_nexus_endpoint("greetings", &queue)?;
    let worker = Worker::builder(env.client(), &queue)
        .workflow::<GreetAll>()
        .nexus_service(greeting::Handler(Greeter))
        .metrics(&exporter)
        .build()?
        .spawn();
    let names = vec!["ada".to_string(), "grace".to_string(), String::new()];
    let answers = GreetAll::execute(env.client(), StartOptions::new(unique_id("greet"), &queue), names);
    let answers = tokio::time::timeout(Duration::from_secs(30), answers).await??;
    assert_eq!(answers[..2], ["hello ada", "hello grace"]);
    assert!(answers[2].starts_with("refused: "), "{answers:?}");

    let q = ("task_queue", queue.as_str());
    let op = [q, ("nexus_service", "greeting"), ("nexus_operation", "hello")];
    let text = scrape_until(&exporter, "three Nexus requests timed", |t| {
        value(t, "temporal_nexus_task_execution_latency_count", &op) == Some(3.0)
    })
    .await;
    assert_eq!(
        value(&text, "temporal_nexus_task_schedule_to_start_latency_count", &op),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "temporal_nexus_task_endtoend_latency_count", &op),
        Some(3.0)
    );
    // The refusal, by its handler error type; nothing else failed.
    let refused = [op[0], op[1], op[2], ("failure_reason", "handler_error_BAD_REQUEST")];
    assert_eq!(
        value(&text, "temporal_nexus_task_execution_failed", &refused),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "temporal_nexus_task_execution_failed", &op), Some(1.0));
    // The Nexus poller and slots are the worker's, under the core-based SDKs' names.
    assert!(
        value(&text, "temporal_num_pollers", &[q, ("poller_type", "nexus_task")]).is_some(),
        "{text}"
    );
    assert!(
        value(
            &text,
            "temporal_worker_task_slots_available",
            &[q, ("worker_type", "NexusWorker")]
        )
        .is_some()
    );
    worker.stop().await?;
    Ok(())
}
