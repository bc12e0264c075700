//! Timeouts (see `examples::timeouts`): `timeouts worker`, `timeouts start [HANG_SECS]`
//! (over 5 the workflow's execution timeout ends it).

use examples::{example_main, fresh_id, no_other_commands, timeouts};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: timeouts worker | timeouts start [HANG_SECS]";
    example_main(
        usage,
        timeouts::worker,
        |client, args| async move {
            let hang = args.first().map(|a| a.parse()).transpose()?.unwrap_or(1);
            match timeouts::start(&client, &fresh_id("slow"), hang).await {
                Ok(report) => println!("{report}"),
                Err(e) => println!("{e}"),
            }
            Ok(())
        },
        no_other_commands,
    )
    .await
}
