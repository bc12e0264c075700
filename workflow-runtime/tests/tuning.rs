//! Worker tuning on the real dev server: activity rate limits (the worker's own and the task
//! queue's), resource-based slots with an injected measurement, and workers that poll only
//! some kinds of task. (Poller autoscaling is in `tests/metrics.rs`, which reads the
//! `temporal_num_pollers` gauge.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workflow_runtime::client::proto::history::History;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{dev_server_client, unique_id};
use workflow_runtime::worker::tuning::{ResourceSlotOptions, ResourceTuner, Usage};
use workflow_runtime::worker::{PollerBehavior, WorkerBuilder, WorkerError};

/// Bounds every run: a stuck workflow fails the test instead of hanging it.
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_nanos() as u64
}

/// Returns when it started, by the wall clock, in nanoseconds since the epoch.
#[activity(start_to_close_timeout = "60s", retry(maximum_attempts = 1))]
async fn stamp() -> Result<u64, ActivityError> {
    Ok(nanos(SystemTime::now()))
}

/// Runs `count` `stamp` activities at once.
#[workflow]
#[derive(Default)]
pub struct Fanout;

#[workflow]
impl Fanout {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, count: u32) -> WorkflowResult<Vec<u64>> {
        let calls = (0..count).map(|_| ctx.activity(stamp, ()).into_future());
        workflow_runtime::futures::future::join_all(calls)
            .await
            .into_iter()
            .collect()
    }
}

/// One activity's start: when the server handed its task to a poll (`ActivityTaskStarted`'s
/// time) and when its code ran (its result), nanoseconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct Start {
    server: u64,
    code: u64,
}

/// The starts of a history's activities, in the server's order.
fn starts(history: &History) -> Vec<Start> {
    let mut server = BTreeMap::new();
    let mut code = BTreeMap::new();
    for event in &history.events {
        match &event.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => {
                assert_eq!(a.attempt, 1, "an activity was retried: {a:?}");
                let t = event.event_time.as_ref().expect("an event time");
                server.insert(a.scheduled_event_id, t.seconds as u64 * 1_000_000_000 + t.nanos as u64);
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                let payload = &a.result.as_ref().expect("a result").payloads[0];
                let t: u64 = serde_json::from_slice(&payload.data).expect("a stamp");
                code.insert(a.scheduled_event_id, t);
            }
            _ => {}
        }
    }
    let mut starts: Vec<Start> = server
        .iter()
        .map(|(id, &server)| Start { server, code: code[id] })
        .collect();
    starts.sort_by_key(|s| s.server);
    starts
}

/// Runs a `Fanout` of `count` activities on a worker built by `tune`; returns their starts.
async fn fan_out(count: u32, tune: impl FnOnce(WorkerBuilder) -> WorkerBuilder) -> (Vec<Start>, Client, String) {
    let client = dev_server_client().await.expect("connect to the dev server");
    let queue = unique_id("tuning");
    let builder = Worker::builder(&client, &queue).workflow::<Fanout>().activity(stamp);
    let worker = tune(builder).build().expect("a valid worker").spawn();
    let handle = Fanout::start(&client, StartOptions::new(unique_id("fanout"), &queue), count)
        .await
        .expect("start");
    let stamps = bounded("the fan-out", handle.result())
        .await
        .expect("the fan-out completes");
    assert_eq!(stamps.len(), count as usize);
    let history = handle.fetch_history().await.expect("history");
    worker.stop().await.expect("the worker stops");
    (starts(&history), client, queue)
}

const SECOND: u64 = 1_000_000_000;

#[tokio::test]
async fn a_worker_limit_of_five_activities_a_second_holds_over_thirty() {
    let (starts, _, _) = fan_out(30, |b| b.max_activities_per_second(5.0)).await;
    assert_eq!(starts.len(), 30);
    // The worker hands each task out at least 200 ms (by its monotonic clock) after the one
    // before, at a moment between the server's start (the poll had the task) and the code's:
    // `server <= handed <= code`. Hence, whatever the machine's load:
    // - the last code start is at least 29 × 200 ms = 5.8 s after the first server start. The
    //   wall clock both are read on may run slower than the monotonic clock by at most its
    //   0.05 % slew rate (3 ms over 6 s): 10 ms are allowed for it.
    let first = starts.iter().map(|s| s.server).min().unwrap();
    let last = starts.iter().map(|s| s.code).max().unwrap();
    assert!(
        last - first >= 5_800_000_000 - 10_000_000,
        "30 starts in {} ms: {starts:?}",
        (last - first) / 1_000_000
    );
    // - no one-second window holds more than 5 hand-outs. A start is certainly inside a
    //   window when both its server and code times are; at most 5 can be, plus 1 for a
    //   sixth hand-out that the same slew could put 1 ms inside the window's end. Delays only
    //   move a start's times apart, never more of them into one window, so this cannot flake;
    //   without the limit all 30 fall in one window.
    for window in &starts {
        let inside = starts
            .iter()
            .filter(|s| s.server >= window.server && s.code < window.server + SECOND)
            .count();
        assert!(inside <= 6, "{inside} starts within 1 s of {window:?}: {starts:?}");
    }
}

#[tokio::test]
async fn a_task_queue_limit_of_five_activities_a_second_is_kept_by_the_server() {
    let (starts, client, queue) = fan_out(30, |b| b.max_task_queue_activities_per_second(5.0)).await;
    // The server's limiter is a token bucket of 5 a second shared by the queue's partitions,
    // each allowing a burst of its share rounded up (at most 4 partitions: 2 each, 8 in all):
    // the server hands out the 30 tasks over at least (30 - 8) / 5 = 4.4 s, by its own clock.
    let first = starts.first().unwrap().server;
    let last = starts.last().unwrap().server;
    assert!(
        last - first >= 4_400_000_000,
        "30 dispatches in {} ms: {starts:?}",
        (last - first) / 1_000_000
    );
    // The server shows the rate the worker's polls asked for.
    let described = client.describe_task_queue(&queue).await.expect("describe");
    assert!(
        described.activity.pollers.iter().any(|p| p.rate_per_second == 5.0),
        "{:?}",
        described.activity.pollers
    );
}

/// The number of `held` activities running at once, and the most seen.
struct Running {
    now: AtomicUsize,
    most: AtomicUsize,
}

static RUNNING: Running = Running {
    now: AtomicUsize::new(0),
    most: AtomicUsize::new(0),
};

/// Whether a `held` activity waits for a second one to run beside it.
static WAIT_FOR_COMPANY: AtomicBool = AtomicBool::new(false);

/// Counts itself running; when asked, waits (at most 20 s) until another runs too.
#[activity(start_to_close_timeout = "60s", retry(maximum_attempts = 1))]
async fn held() -> Result<(), ActivityError> {
    let now = RUNNING.now.fetch_add(1, Ordering::SeqCst) + 1;
    RUNNING.most.fetch_max(now, Ordering::SeqCst);
    if WAIT_FOR_COMPANY.load(Ordering::SeqCst) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while RUNNING.most.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    RUNNING.now.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

/// Runs `count` `held` activities at once, then as many local ones.
#[workflow]
#[derive(Default)]
pub struct Crowd;

#[workflow]
impl Crowd {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, count: u32) -> WorkflowResult<()> {
        let remote = (0..count).map(|_| ctx.activity(held, ()).into_future());
        for done in workflow_runtime::futures::future::join_all(remote).await {
            done?;
        }
        let local = (0..count).map(|_| {
            ctx.local_activity(held, ())
                .start_to_close_timeout(Duration::from_secs(60))
                .into_future()
        });
        for done in workflow_runtime::futures::future::join_all(local).await {
            done?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn resource_based_slots_admit_the_minimum_over_target_and_more_under_it() {
    let client = dev_server_client().await.expect("connect to the dev server");
    // The measurement the tuner sees, set by the test.
    let usage = Arc::new(Mutex::new(Usage { cpu: 0.95, memory: 0.2 }));
    let measured = usage.clone();
    let tuner = ResourceTuner::with_usage(0.8, 0.8, move || Ok(*measured.lock().unwrap())).unwrap();
    let one_at_a_time = ResourceSlotOptions {
        min_slots: 1,
        ..ResourceSlotOptions::ACTIVITIES
    };
    let run = |queue: String| {
        let client = client.clone();
        let worker = Worker::builder(&client, &queue)
            .workflow::<Crowd>()
            .activity(held)
            .workflow_task_slots(tuner.workflow_task_slots())
            .activity_slots(tuner.slots(one_at_a_time))
            .local_activity_slots(tuner.slots(one_at_a_time))
            .build()
            .unwrap()
            .spawn();
        async move {
            let outcome = Crowd::execute(&client, StartOptions::new(unique_id("crowd"), &queue), 4).await;
            worker.stop().await.unwrap();
            outcome
        }
    };

    // CPU over its target: one activity at a time (the minimum), remote and local.
    bounded("over target", run(unique_id("tuning")))
        .await
        .expect("the crowd completes");
    assert_eq!(RUNNING.most.load(Ordering::SeqCst), 1, "ran beside another over target");

    // Under both targets: more come in (each activity waits until it has company, so a
    // second one must be admitted while the first runs, or the run fails after 20 s).
    *usage.lock().unwrap() = Usage { cpu: 0.3, memory: 0.2 };
    RUNNING.most.store(0, Ordering::SeqCst);
    WAIT_FOR_COMPANY.store(true, Ordering::SeqCst);
    bounded("under target", run(unique_id("tuning")))
        .await
        .expect("the crowd completes");
    assert!(RUNNING.most.load(Ordering::SeqCst) >= 2, "never ran two at once");
}

/// Runs `stamp` once as a local activity, then once as an activity.
#[workflow]
#[derive(Default)]
pub struct LocalThenRemote;

#[workflow]
impl LocalThenRemote {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.local_activity(stamp, ())
            .start_to_close_timeout(Duration::from_secs(60))
            .await?;
        ctx.activity(stamp, ()).await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_local_activity_only_worker_and_an_activity_only_worker_split_the_work() {
    let client = dev_server_client().await.expect("connect to the dev server");
    let queue = unique_id("tuning");
    // Both built from the same registrations; each polls one kind.
    let build = |identity: &str| {
        Worker::builder(&client, &queue)
            .workflow::<LocalThenRemote>()
            .activity(stamp)
            .options(WorkerOptions {
                identity: Some(identity.into()),
                ..Default::default()
            })
    };
    let workflows = build("workflows-and-local-activities")
        .no_remote_activities(true)
        .build()
        .unwrap()
        .spawn();
    let activities = build("activities-only")
        .no_workflow_tasks(true)
        .build()
        .unwrap()
        .spawn();
    let handle = LocalThenRemote::start(&client, StartOptions::new(unique_id("split"), &queue))
        .await
        .unwrap();
    bounded("the run", handle.result()).await.expect("the run completes");

    let history = handle.fetch_history().await.unwrap();
    let identities = |pick: fn(&Attributes) -> Option<&str>| -> Vec<String> {
        history
            .events
            .iter()
            .filter_map(|e| e.attributes.as_ref().and_then(pick).map(str::to_string))
            .collect()
    };
    let activity_starts = identities(|a| match a {
        Attributes::ActivityTaskStartedEventAttributes(a) => Some(&a.identity),
        _ => None,
    });
    assert_eq!(activity_starts, ["activities-only"]);
    let workflow_tasks = identities(|a| match a {
        Attributes::WorkflowTaskStartedEventAttributes(a) => Some(&a.identity),
        _ => None,
    });
    assert!(!workflow_tasks.is_empty());
    assert!(
        workflow_tasks.iter().all(|i| i == "workflows-and-local-activities"),
        "{workflow_tasks:?}"
    );
    // The local activity's marker is in history: it ran on the workflow worker.
    assert!(history.events.iter().any(|e| matches!(
        &e.attributes,
        Some(Attributes::MarkerRecordedEventAttributes(m)) if m.marker_name == "core_local_activity"
    )));
    // The server saw each worker poll only its kind.
    let described = client.describe_task_queue(&queue).await.unwrap();
    let names = |pollers: &[workflow_runtime::client::task_queue::Poller]| -> Vec<String> {
        pollers.iter().map(|p| p.identity.clone()).collect()
    };
    assert_eq!(names(&described.workflow.pollers), ["workflows-and-local-activities"]);
    assert_eq!(names(&described.activity.pollers), ["activities-only"]);
    workflows.stop().await.unwrap();
    activities.stop().await.unwrap();
}

#[test]
fn a_worker_that_would_poll_nothing_or_with_impossible_settings_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let client = runtime
        .block_on(dev_server_client())
        .expect("connect to the dev server");
    let refused = |builder: WorkerBuilder| match builder.build() {
        Err(WorkerError::Config(message)) => message,
        Ok(_) => panic!("built"),
        Err(e) => panic!("{e}"),
    };
    let only_activities = || Worker::builder(&client, "q").activity(held);
    let message = refused(only_activities().no_remote_activities(true));
    assert!(message.contains("nothing to poll"), "{message}");
    let message = refused(only_activities().max_activities_per_second(0.0));
    assert!(message.contains("max_activities_per_second"), "{message}");
    let message = refused(only_activities().activity_pollers(PollerBehavior::Autoscaling {
        minimum: 4,
        maximum: 2,
        initial: 3,
    }));
    assert!(message.contains("activity_pollers"), "{message}");
    let message = refused(only_activities().activity_slots(0));
    assert!(message.contains("activity_slots"), "{message}");
}
