//! Heartbeating with progress (see `examples::heartbeat`): `heartbeat worker`,
//! `heartbeat start [ROWS]`.

use examples::{example_main, fresh_id, heartbeat, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: heartbeat worker | heartbeat start [ROWS]";
    example_main(
        usage,
        heartbeat::worker,
        |client, args| async move {
            let rows = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10);
            println!("{}", heartbeat::start(&client, &fresh_id("import"), rows).await?);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
