//! Visibility (see `examples::visibility`): `visibility worker`, `visibility start [REGION]`.

use examples::{example_main, no_other_commands, visibility};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: visibility worker | visibility start [REGION]";
    example_main(
        usage,
        visibility::worker,
        |client, args| async move {
            let region = args.first().cloned().unwrap_or_else(|| examples::fresh_id("north"));
            let found = visibility::start(&client, &region, 5).await?;
            println!("running in {region}: {}", found.running);
            println!(
                "completed in {region}: {} ({})",
                found.completed,
                found.completed_ids.join(", ")
            );
            Ok(())
        },
        no_other_commands,
    )
    .await
}
