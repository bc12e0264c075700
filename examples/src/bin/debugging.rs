//! Debuggability (see `examples::debugging`): `debugging worker`, `debugging start` (writes
//! the history to `greeting-history.json` and prints the divergence of the changed code).

use examples::{debugging, example_main, fresh_id, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: debugging worker | debugging start";
    example_main(
        usage,
        debugging::worker,
        |client, _| async move {
            let (json, report) = debugging::start(&client, &fresh_id("greeting")).await?;
            std::fs::write("greeting-history.json", &json)?;
            println!("history written to greeting-history.json; it replays against the code.");
            println!("against the changed code:\n{report}");
            Ok(())
        },
        no_other_commands,
    )
    .await
}
