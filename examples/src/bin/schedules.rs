//! Schedules (see `examples::schedules`): `schedules worker`, `schedules start [SCHEDULE_ID]`.

use examples::{example_main, no_other_commands, schedules};
use std::time::SystemTime;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: schedules worker | schedules start [SCHEDULE_ID]";
    example_main(
        usage,
        schedules::worker,
        |client, args| async move {
            let id = args.first().cloned().unwrap_or_else(|| examples::fresh_id("reports"));
            let tour = schedules::start(&client, &id).await?;
            println!("schedule {id}: every second");
            println!("  scheduled: {}", tour.scheduled.join(", "));
            println!("  paused: {}", tour.pause_note);
            println!("  triggered: {}", tour.triggered);
            println!("  backfilled: {} reports of an hour ago", tour.backfilled.len());
            let now = SystemTime::now();
            let next: Vec<String> = tour
                .next_times
                .iter()
                .take(3)
                .map(|t| format!("in {}h", t.duration_since(now).unwrap_or_default().as_secs() / 3600))
                .collect();
            println!("  weekday mornings in Paris, next: {}", next.join(", "));
            println!("  listed: {}; deleted", tour.listed);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
