//! An at-most-once activity (see `examples::at_most_once`): `at_most_once worker`,
//! `at_most_once start [PAYEE] [CENTS]` (over 1,000,000 cents the bank hangs).

use examples::{at_most_once, example_main, fresh_id, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: at_most_once worker | at_most_once start [PAYEE] [CENTS]";
    example_main(
        usage,
        at_most_once::worker,
        |client, args| async move {
            let to = args.first().cloned().unwrap_or_else(|| "ada".into());
            let cents = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
            println!(
                "{}",
                at_most_once::start(&client, &fresh_id("transfer"), &to, cents).await?
            );
            Ok(())
        },
        no_other_commands,
    )
    .await
}
