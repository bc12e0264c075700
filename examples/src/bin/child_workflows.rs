//! Child workflows (see `examples::child_workflows`): `child_workflows worker`,
//! `child_workflows start [N…]`.

use examples::{child_workflows, example_main, fresh_id, no_other_commands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: child_workflows worker | child_workflows start [NUMBERS…]";
    example_main(
        usage,
        child_workflows::worker,
        |client, args| async move {
            let numbers: Vec<u64> = if args.is_empty() {
                (1..=12).collect()
            } else {
                args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
            };
            println!(
                "{:?}",
                child_workflows::start(&client, &fresh_id("batch"), numbers).await?
            );
            Ok(())
        },
        no_other_commands,
    )
    .await
}
