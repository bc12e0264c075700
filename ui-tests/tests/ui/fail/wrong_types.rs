use workflow_runtime::prelude::*;

#[activity(start_to_close_timeout = "10s")]
async fn charge(cents: u64, currency: String) -> Result<String, ActivityError> {
    Ok(format!("{cents} {currency}"))
}

#[workflow]
#[derive(Default)]
pub struct Checkout {
    notes: Vec<String>,
}

#[workflow]
impl Checkout {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, cents: u64) -> WorkflowResult<String> {
        ctx.activity(charge, ("EUR".to_string(), cents)).await
    }

    #[signal]
    fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

async fn client_side(client: &Client) -> Result<(), ClientError> {
    let handle = Checkout::start(client, StartOptions::new("c-1", "q"), "100").await?;
    handle.note(42).await?;
    Ok(())
}

fn main() {}
