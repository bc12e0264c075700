//! A perpetual workflow (see `examples::perpetual`): `perpetual worker`, `perpetual start [DAYS]`.

use examples::{example_main, fresh_id, no_other_commands, perpetual};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: perpetual worker | perpetual start [DAYS] (each day is a 24 h durable timer; \
                 watch it with `temporal workflow describe`)";
    example_main(
        usage,
        perpetual::worker,
        |client, args| async move {
            let days = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10);
            let id = fresh_id("meter");
            let meter = perpetual::start(&client, &id, days).await?;
            println!(
                "started {id}: it continues as new every {} days",
                perpetual::DAYS_PER_RUN
            );
            println!("today: day {}", meter.day().await?);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
