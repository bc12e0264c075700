//! Task routing (see `examples::routing`): `routing worker [HOST]` (run two, with different
//! hosts), `routing start [URL]`.

use examples::{connect, example_main, fresh_id, no_other_commands, routing, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        let host = std::env::args()
            .nth(2)
            .unwrap_or_else(|| format!("host-{}", std::process::id()));
        let client = connect().await?;
        let (shared, own) = routing::workers(&client, &host)?;
        println!(
            "worker {host}: task queues `{}` and `{}-{host}`",
            routing::TASK_QUEUE,
            routing::TASK_QUEUE
        );
        let own = tokio::spawn(serve(own));
        serve(shared).await?;
        return own.await?;
    }
    let usage = "usage: routing worker [HOST] | routing start [URL]";
    example_main(
        usage,
        |_| unreachable!("handled above"),
        |client, args| async move {
            let url = args
                .first()
                .cloned()
                .unwrap_or_else(|| "https://example.com/data.csv".into());
            println!("{}", routing::start(&client, &fresh_id("file"), &url).await?);
            Ok(())
        },
        no_other_commands,
    )
    .await
}
