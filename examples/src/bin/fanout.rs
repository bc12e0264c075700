//! Dynamic fan-out (see `examples::fanout`): `fanout worker`, `fanout start [FILES]`.

use examples::{example_main, fanout, fresh_id, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: fanout worker | fanout start [NUMBER_OF_FILES]";
    example_main(
        usage,
        fanout::worker,
        |client, args| async move {
            let n = args.first().map(|a| a.parse()).transpose()?.unwrap_or(8);
            let report = fanout::start(&client, &fresh_id("fanout"), n).await?;
            println!("{report:?}");
            Ok(())
        },
        no_other_commands,
    )
    .await
}
