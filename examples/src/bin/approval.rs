//! Asynchronous activity completion (see `examples::approval`): `approval worker`,
//! `approval start`, then `approval approve <WORKFLOW_ID> [NOTE]` or `approval reject
//! <WORKFLOW_ID> [REASON]`, and `approval result <WORKFLOW_ID>`.

use examples::{approval, example_main, fresh_id};
use workflow_runtime::Client;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: approval worker | approval start | approval approve ID [NOTE] | \
                 approval reject ID [REASON] | approval result ID";
    example_main(
        usage,
        approval::worker,
        |client, _| async move {
            let id = fresh_id("expense");
            approval::start(&client, &id, "ada", 4200).await?;
            println!(
                "filed {id}; decide with `approval approve {id}` (or `temporal activity complete \
                      --workflow-id {id} --activity-id {} --result '\"ok\"'`)",
                approval::ACTIVITY_ID
            );
            Ok(())
        },
        |client: Client, command, args| {
            let id = args.first().cloned()?;
            let note = args.get(1).cloned();
            Some(async move {
                match command.as_str() {
                    "approve" => approval::decide(&client, &id, true, note.as_deref().unwrap_or("ok")).await?,
                    "reject" => approval::decide(&client, &id, false, note.as_deref().unwrap_or("no")).await?,
                    "result" => {
                        let claim = examples::approval::ExpenseClaim::handle(&client, id);
                        println!("{}", claim.result().await?);
                    }
                    _ => anyhow::bail!("unknown command `{command}`"),
                }
                Ok(())
            })
        },
    )
    .await
}
