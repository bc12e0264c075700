//! Nexus (see `examples::nexus`): `nexus worker` (orders), `nexus inventory` (the inventory
//! team's worker), `nexus start [ITEM]`.

use examples::{example_main, nexus, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: nexus worker | nexus inventory | nexus start [ITEM]";
    example_main(
        usage,
        nexus::worker,
        |client, args| async move {
            let item = args.first().cloned().unwrap_or_else(|| "scones".into());
            let outcome = nexus::start(&client, &examples::fresh_id("order"), &item).await?;
            println!("{outcome}");
            Ok(())
        },
        |client, command, _| {
            (command == "inventory").then_some(async move { serve(nexus::inventory_worker(&client)?).await })
        },
    )
    .await
}
