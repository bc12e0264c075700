//! Schedules: the server starts a workflow at the times of a spec. The starter creates a
//! schedule that starts a report every second (typed by the `#[workflow]` macro's `schedule`
//! stub), waits for two reports, pauses it with a note, triggers one report by hand, backfills
//! three seconds of an hour ago, moves it to weekday mornings in Paris (read-modify-write),
//! finds it in the list, and deletes it.
//!
//! Wire names: task queue `schedules`; workflow `ReportWorkflow("topic") -> "report on topic"`;
//! the schedule's workflows are named `<schedule id>-report-<scheduled time>`.

use std::time::{SystemTime, UNIX_EPOCH};
use workflow_runtime::client::schedule::{
    Backfill, CalendarSpec, OverlapPolicy, ScheduleDescription, ScheduleHandle, ScheduleOptions, ScheduleSpec,
    ScheduledRun,
};
use workflow_runtime::futures::TryStreamExt;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "schedules";

/// Writes a report on a topic.
#[workflow]
#[derive(Default)]
pub struct Report {}

#[workflow(name = "ReportWorkflow")]
impl Report {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, topic: String) -> WorkflowResult<String> {
        Ok(format!("report on {topic}"))
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE).workflow::<Report>().build()
}

/// What the starter saw.
#[derive(Debug)]
pub struct Tour {
    /// The results of the first two scheduled reports.
    pub scheduled: Vec<String>,
    /// The note describe showed while paused.
    pub pause_note: String,
    /// The result of the report triggered by hand.
    pub triggered: String,
    /// The scheduled times of the backfilled reports.
    pub backfilled: Vec<SystemTime>,
    /// The next times after the move to weekday mornings.
    pub next_times: Vec<SystemTime>,
    /// Whether the list found the schedule.
    pub listed: bool,
}

/// Waits (at most 30 s) until the schedule's description satisfies `ready`.
async fn described_when(
    schedule: &ScheduleHandle,
    ready: impl Fn(&ScheduleDescription) -> bool,
) -> Result<ScheduleDescription, ClientError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let description = schedule.describe().await?;
        if ready(&description) || tokio::time::Instant::now() > deadline {
            return Ok(description);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn report(client: &Client, run: &ScheduledRun) -> Result<String, ClientError> {
    client
        .handle::<Report>(&run.workflow_id, Some(run.run_id.clone()))
        .result()
        .await
}

/// Walks a schedule through its life (see the module docs) and deletes it.
pub async fn start(client: &Client, schedule_id: &str) -> Result<Tour, ClientError> {
    let every_second = ScheduleSpec::new().interval(Duration::from_secs(1));
    let options = ScheduleOptions::new(
        every_second,
        StartOptions::new(format!("{schedule_id}-report"), TASK_QUEUE),
    );
    let schedule = Report::schedule(client, schedule_id, options, "sales".into()).await?;

    let d = described_when(&schedule, |d| d.info.recent_actions.len() >= 2).await?;
    let mut scheduled = Vec::new();
    for action in d.info.recent_actions.iter().take(2) {
        scheduled.push(report(client, &action.run).await?);
    }

    schedule.pause("quarter closing").await?;
    let paused = schedule.describe().await?;
    let pause_note = paused.schedule.state.note;

    let count = paused.info.action_count;
    schedule.trigger(OverlapPolicy::AllowAll).await?;
    let d = described_when(&schedule, |d| d.info.action_count > count).await?;
    let triggered = match d.info.recent_actions.last() {
        Some(action) => report(client, &action.run).await?,
        None => String::new(),
    };

    // Three seconds of an hour ago (the start is exclusive), each its own report.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let hour_ago = UNIX_EPOCH + Duration::from_secs(now.as_secs() - 3600);
    let period = Backfill::new(hour_ago - Duration::from_millis(500), hour_ago + Duration::from_secs(2));
    schedule.backfill([period.overlap(OverlapPolicy::AllowAll)]).await?;
    let d = described_when(&schedule, |d| d.info.action_count >= count + 4).await?;
    let backfilled = d
        .info
        .recent_actions
        .iter()
        .filter_map(|a| a.scheduled_at)
        .filter(|t| *t <= hour_ago + Duration::from_secs(2))
        .collect();

    schedule
        .update(|mut d| {
            let mornings = CalendarSpec::new()
                .hour(6)
                .day_of_week(1..=5)
                .comment("weekday mornings");
            d.schedule.spec = ScheduleSpec::new().calendar(mornings).time_zone("Europe/Paris");
            d.schedule.state.paused = false;
            Some(d.schedule)
        })
        .await?;
    let next_times = schedule.describe().await?.info.next_action_times;

    let query = format!("ScheduleId = '{schedule_id}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let found: Vec<_> = client.list_schedules(&query).try_collect().await?;
        if !found.is_empty() || tokio::time::Instant::now() > deadline {
            break !found.is_empty();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    schedule.delete().await?;
    Ok(Tour {
        scheduled,
        pause_note,
        triggered,
        backfilled,
        next_times,
        listed,
    })
}
