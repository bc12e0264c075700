//! Durable timers (see `examples::durable_timers`): `durable_timers worker`, `durable_timers
//! start [SECS]`; stop the worker while the reminder sleeps, start it again: it still fires.

use examples::{durable_timers, example_main, fresh_id, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: durable_timers worker | durable_timers start [SECS]";
    example_main(
        usage,
        durable_timers::worker,
        |client, args| async move {
            let secs = args.first().map(|a| a.parse()).transpose()?.unwrap_or(30);
            let id = fresh_id("reminder");
            let reminder = durable_timers::start(&client, &id, "stretch your legs", secs).await?;
            println!("{id} is due in {secs} s; restart the worker meanwhile if you like");
            println!("{}", reminder.result().await?);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
