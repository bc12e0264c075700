//! A unique workflow id (see `examples::unique_id`): `unique_id worker`,
//! `unique_id start [INVOICE]`.

use examples::{example_main, fresh_id, no_other_commands, unique_id};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: unique_id worker | unique_id start [INVOICE_NUMBER]";
    example_main(
        usage,
        unique_id::worker,
        |client, args| async move {
            let number = args.first().cloned().unwrap_or_else(|| fresh_id("INV"));
            let starts = unique_id::start(&client, &number).await?;
            println!("second start while running: {}", starts.while_running);
            println!("start after completion, RejectDuplicate: {}", starts.rejected_after);
            println!("start after completion, AllowDuplicate: {}", starts.allowed_after);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
