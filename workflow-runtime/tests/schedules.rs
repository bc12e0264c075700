//! Schedules on a real Temporal server: a schedule started by the typed stub takes actions
//! every second, then is paused, triggered, backfilled, updated, listed and deleted; specs come
//! back as the server compiled them; the schedule's own memo and search attributes and its
//! workflows' options round-trip.

use futures::TryStreamExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workflow_runtime::client::schedule::{
    Backfill, CalendarSpec, OverlapPolicy, ScheduleDescription, ScheduleHandle, ScheduleOptions, ScheduleRange,
    ScheduleSpec, ScheduledRun,
};
use workflow_runtime::client::{SearchAttributeKey, payload};
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{dev_server_client, eventually, unique_id as unique};
use workflow_runtime::worker::RunningWorker;

/// A keyword attribute the tests' dev server registers.
const TEAM: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomKeywordField");

/// Answers at once with its input, so every action's run closes quickly.
#[workflow]
#[derive(Default)]
pub struct Tick {}

#[workflow(name = "ScheduledTick")]
impl Tick {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, label: String) -> WorkflowResult<String> {
        Ok(format!("tick {label}"))
    }
}

/// Two arguments, so the typed stub checks both.
#[workflow]
#[derive(Default)]
pub struct Greeting {}

#[workflow]
impl Greeting {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, name: String, times: u32) -> WorkflowResult<String> {
        Ok(format!("hello {name}").repeat(times as usize))
    }
}

/// A client, and a worker for `W` serving a fresh task queue named after `prefix`.
async fn serving<W: Workflow>(prefix: &str) -> (Client, String, RunningWorker) {
    let client = dev_server_client().await.unwrap();
    let queue = unique(prefix);
    let running = Worker::builder(&client, &queue)
        .workflow::<W>()
        .build()
        .unwrap()
        .spawn();
    (client, queue, running)
}

/// The schedule's description once `ready` holds for it.
async fn described_when(
    schedule: &ScheduleHandle,
    what: &str,
    ready: impl Fn(&ScheduleDescription) -> bool,
) -> ScheduleDescription {
    eventually(what, Duration::from_secs(30), || async {
        let d = schedule.describe().await.unwrap();
        ready(&d).then_some(d)
    })
    .await
}

/// The result of a run a schedule started.
async fn tick_result(client: &Client, run: &ScheduledRun) -> String {
    let handle = client.handle::<Tick>(&run.workflow_id, Some(run.run_id.clone()));
    tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .expect("the scheduled run finishes")
        .unwrap()
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

#[tokio::test]
async fn a_one_second_schedule_runs_then_pauses_triggers_backfills_updates_lists_and_deletes() {
    let (client, queue, running) = serving::<Tick>("ticks").await;
    let id = unique("every-second");
    let workflow_id = unique("tick");
    let options = ScheduleOptions::new(
        ScheduleSpec::new().interval(Duration::from_secs(1)),
        StartOptions::new(&workflow_id, &queue),
    );
    let schedule = Tick::schedule(&client, &id, options.clone(), "first".into())
        .await
        .unwrap();

    // The id is taken now.
    let again = Tick::schedule(&client, &id, options, "again".into()).await.unwrap_err();
    assert!(
        matches!(&again, ClientError::ScheduleAlreadyExists { schedule_id } if *schedule_id == id),
        "{again:?}"
    );

    // At least two scheduled runs, each a workflow of the action's id plus its time, run by
    // the worker with the schedule's input.
    let d = described_when(&schedule, "two scheduled runs", |d| d.info.recent_actions.len() >= 2).await;
    assert!(!d.info.next_action_times.is_empty());
    assert!(
        d.info
            .next_action_times
            .iter()
            .all(|t| *t > d.info.recent_actions[0].taken_at.unwrap())
    );
    for action in &d.info.recent_actions[..2] {
        assert!(
            action.run.workflow_id.starts_with(&format!("{workflow_id}-")),
            "{action:?}"
        );
        assert_eq!(tick_result(&client, &action.run).await, "tick first");
    }

    // Paused: the note shows, and from now on only triggers and backfills act.
    schedule.pause("maintenance window").await.unwrap();
    let paused = schedule.describe().await.unwrap();
    assert!(paused.schedule.state.paused);
    assert_eq!(paused.schedule.state.note, "maintenance window");
    let before_trigger = paused.info.action_count;

    // A trigger takes one action while paused.
    schedule.trigger(OverlapPolicy::AllowAll).await.unwrap();
    let d = described_when(&schedule, "the triggered run", |d| d.info.action_count > before_trigger).await;
    assert_eq!(d.info.action_count, before_trigger + 1, "one trigger, one action");
    let triggered = d.info.recent_actions.last().unwrap();
    assert_eq!(tick_result(&client, &triggered.run).await, "tick first");

    // A backfill of three seconds an hour ago (the start is exclusive) takes their actions now.
    let base = whole_seconds(SystemTime::now()) - Duration::from_secs(3600);
    let period = Backfill::new(base - Duration::from_millis(500), base + Duration::from_secs(2));
    schedule
        .backfill([period.overlap(OverlapPolicy::AllowAll)])
        .await
        .unwrap();
    let d = described_when(&schedule, "the backfilled runs", |d| {
        d.info.action_count >= before_trigger + 4
    })
    .await;
    assert_eq!(
        d.info.action_count,
        before_trigger + 4,
        "three backfilled times, three actions"
    );
    let mut backfilled: Vec<_> = d
        .info
        .recent_actions
        .iter()
        .filter(|a| a.scheduled_at.is_some_and(|t| t < base + Duration::from_secs(60)))
        .collect();
    backfilled.sort_by_key(|a| a.scheduled_at);
    let times: Vec<_> = backfilled.iter().map(|a| a.scheduled_at.unwrap()).collect();
    let expected: Vec<_> = (0..3).map(|s| base + Duration::from_secs(s)).collect();
    assert_eq!(times, expected);
    for action in backfilled {
        assert_eq!(tick_result(&client, &action.run).await, "tick first");
    }

    // Read-modify-write: a new interval and a new input; the state (paused) is kept.
    let stale = schedule.describe().await.unwrap();
    schedule
        .update(|mut d| {
            d.schedule.spec = ScheduleSpec::new().interval(Duration::from_secs(3600));
            d.schedule
                .action
                .start_workflow_mut()
                .set_args(&("second".to_string(),))
                .unwrap();
            Some(d.schedule)
        })
        .await
        .unwrap();
    let updated = schedule.describe().await.unwrap();
    assert_eq!(updated.schedule.spec.intervals.len(), 1);
    assert_eq!(updated.schedule.spec.intervals[0].every, Duration::from_secs(3600));
    let start = updated.schedule.action.start_workflow();
    assert_eq!(start.args_as::<(String,)>().unwrap(), ("second".to_string(),));
    assert_eq!(start.workflow_type, "ScheduledTick");
    assert!(updated.schedule.state.paused);

    // An update based on the description from before is refused, and changes nothing.
    let conflict = schedule.update_from(&stale, &stale.schedule).await.unwrap_err();
    assert!(
        matches!(&conflict, ClientError::ScheduleConflict { schedule_id } if *schedule_id == id),
        "{conflict:?}"
    );
    let after = schedule.describe().await.unwrap();
    assert_eq!(after.schedule.spec, updated.schedule.spec);
    assert_eq!(after.conflict_token(), updated.conflict_token());

    // The new input reaches the next run.
    let before = after.info.action_count;
    schedule.trigger(None).await.unwrap();
    let d = described_when(&schedule, "the run after the update", |d| d.info.action_count > before).await;
    assert_eq!(
        tick_result(&client, &d.info.recent_actions.last().unwrap().run).await,
        "tick second"
    );

    // Listed (visibility catches up in its own time), paused, with its workflow type.
    let query = format!("ScheduleId = '{id}'");
    let listed = eventually("the schedule in the list", Duration::from_secs(30), || async {
        let all: Vec<_> = client.list_schedules(&query).try_collect().await.unwrap();
        all.into_iter().find(|s| s.id == id && s.paused)
    })
    .await;
    assert_eq!(listed.workflow_type, "ScheduledTick");
    assert_eq!(listed.note, "maintenance window");

    schedule.unpause("back to work").await.unwrap();
    let unpaused = schedule.describe().await.unwrap();
    assert!(!unpaused.schedule.state.paused);
    assert_eq!(unpaused.schedule.state.note, "back to work");

    // Deleted: describe names the missing schedule.
    schedule.delete().await.unwrap();
    let gone = schedule.describe().await.unwrap_err();
    assert!(
        matches!(&gone, ClientError::ScheduleNotFound { schedule_id } if *schedule_id == id),
        "{gone:?}"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn calendar_cron_and_interval_specs_come_back_as_the_server_reads_them() {
    let client = dev_server_client().await.unwrap();
    let mornings = CalendarSpec::new()
        .hour(9)
        .minute(30)
        .day_of_week(1..=5)
        .comment("weekday mornings");
    let spec = ScheduleSpec::new()
        .calendar(mornings.clone())
        .cron("0 12 * * MON-FRI")
        .interval_with_offset(Duration::from_secs(86_400), Duration::from_secs(3 * 3600))
        .exclude(CalendarSpec::new().day_of_week(3).hour(0..=23).minute(0..=59))
        .time_zone("Europe/Paris")
        .start_at(UNIX_EPOCH + Duration::from_secs(1_893_456_000)) // 2030-01-01
        .end_at(UNIX_EPOCH + Duration::from_secs(1_924_905_600)); // 2030-12-31
    let options = ScheduleOptions::new(spec.clone(), StartOptions::new(unique("report"), unique("reports")))
        .paused("only read, never run");
    let schedule = Tick::schedule(&client, unique("spec"), options, "x".into())
        .await
        .unwrap();

    // The cron string is compiled into a calendar; the rest is as given.
    let described = schedule.describe().await.unwrap().schedule.spec;
    assert!(described.cron_strings.is_empty());
    let noon = CalendarSpec::new().hour(12).day_of_week(1..=5);
    assert_eq!(described.calendars, vec![mornings, noon]);
    assert_eq!(described.intervals, spec.intervals);
    assert_eq!(described.excluded_calendars, spec.excluded_calendars);
    assert_eq!(described.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!((described.start_at, described.end_at), (spec.start_at, spec.end_at));

    // Monday 2030-01-07 to Saturday, Paris on UTC+1: 03:00Z each day (the interval), 09:30 and
    // 12:00 Paris on weekdays, nothing on the excluded Wednesday.
    let monday = UNIX_EPOCH + Duration::from_secs(1_893_974_400);
    let times = schedule
        .matching_times(monday, monday + Duration::from_secs(5 * 86_400))
        .await
        .unwrap();
    let hours: Vec<f64> = times
        .iter()
        .map(|t| t.duration_since(monday).unwrap().as_secs_f64() / 3600.0)
        .collect();
    let expected: Vec<f64> = [0.0, 24.0, 72.0, 96.0]
        .iter()
        .flat_map(|day| [day + 3.0, day + 8.5, day + 11.0])
        .collect();
    assert_eq!(hours, expected);
    schedule.delete().await.unwrap();
}

#[tokio::test]
async fn the_typed_stub_schedules_a_checked_input_with_options_memo_and_search_attributes() {
    let (client, queue, running) = serving::<Greeting>("greetings").await;
    let id = unique("greeting");
    let workflow = StartOptions::new(unique("greet"), &queue)
        .run_timeout(Duration::from_secs(60))
        .retry_policy(RetryPolicy {
            maximum_attempts: 2,
            ..Default::default()
        })
        .memo("purpose", "test")
        .unwrap()
        .search_attribute(TEAM, "workflows".to_string());
    let options = ScheduleOptions::new(
        ScheduleSpec::new()
            .calendar(CalendarSpec::new().second(ScheduleRange::new(0, 59).step(20)))
            .jitter(Duration::from_secs(1)),
        workflow,
    )
    .paused("started by the trigger only")
    .overlap(OverlapPolicy::BufferAll)
    .catchup_window(Duration::from_secs(60))
    .pause_on_failure(true)
    .memo("owner", "ada")
    .unwrap()
    .search_attribute(TEAM, "schedules".to_string())
    .trigger_immediately();
    // A wrong argument type or count is a compile error here.
    let schedule = Greeting::schedule(&client, &id, options, "Ada".into(), 2)
        .await
        .unwrap();

    let d = described_when(&schedule, "the immediate run", |d| !d.info.recent_actions.is_empty()).await;
    let start = d.schedule.action.start_workflow();
    assert_eq!(start.workflow_type, "Greeting");
    assert_eq!(start.args_as::<(String, u32)>().unwrap(), ("Ada".to_string(), 2));
    assert_eq!(start.options.run_timeout, Some(Duration::from_secs(60)));
    assert_eq!(start.options.retry_policy.as_ref().unwrap().maximum_attempts, 2);
    assert_eq!(
        payload::from_payload::<String>(&start.options.memo["purpose"]).unwrap(),
        "test"
    );
    assert_eq!(
        TEAM.get(&start.options.search_attributes).unwrap().unwrap(),
        "workflows"
    );
    let policies = &d.schedule.policies;
    assert_eq!(policies.overlap, OverlapPolicy::BufferAll);
    assert_eq!(policies.catchup_window, Some(Duration::from_secs(60)));
    assert!(policies.pause_on_failure);
    assert_eq!(d.schedule.spec.jitter, Some(Duration::from_secs(1)));
    assert_eq!(payload::from_payload::<String>(&d.memo["owner"]).unwrap(), "ada");
    assert_eq!(TEAM.get(&d.search_attributes).unwrap().unwrap(), "schedules");

    // The run has the action's input, memo and search attributes, and names its schedule.
    let run = &d.info.recent_actions[0].run;
    let handle = client.handle::<Greeting>(&run.workflow_id, Some(run.run_id.clone()));
    assert_eq!(handle.result().await.unwrap(), "hello Adahello Ada");
    let summary = handle.describe().await.unwrap().summary;
    assert_eq!(
        payload::from_payload::<String>(&summary.memo["purpose"]).unwrap(),
        "test"
    );
    assert_eq!(TEAM.get(&summary.search_attributes).unwrap().unwrap(), "workflows");
    let scheduled_by = SearchAttributeKey::keyword("TemporalScheduledById");
    assert_eq!(scheduled_by.get(&summary.search_attributes).unwrap().unwrap(), id);

    schedule.delete().await.unwrap();
    running.stop().await.unwrap();
}
