//! Async signal handlers: workflow code that starts when the signal arrives, with or without a
//! `WorkflowResult<()>`, and their typed stubs.
use workflow_runtime::prelude::*;

#[activity(start_to_close_timeout = "10s")]
async fn notify(who: String) -> Result<(), ActivityError> {
    let _ = who;
    Ok(())
}

#[workflow]
#[derive(Default)]
pub struct Door {
    rang: u32,
}

#[workflow]
impl Door {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.wait_condition(|s| s.rang > 1).await?;
        Ok(ctx.state(|s| s.rang))
    }

    /// Rings, and tells the owner.
    #[signal]
    async fn ring(ctx: WorkflowContext<Self>, who: String, times: u32) -> WorkflowResult<()> {
        ctx.activity(notify, who).await?;
        ctx.state_mut(|s| s.rang += times);
        Ok(())
    }

    #[signal(name = "knock")]
    async fn knock(ctx: WorkflowContext<Self>) {
        ctx.state_mut(|s| s.rang += 1);
    }
}

async fn uses(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let door = Door::start(client, StartOptions::new("door", "doors")).await?;
    door.ring("ada".to_string(), 2).await?;
    door.knock().await?;
    Ok(())
}

fn main() {
    let _ = uses;
}
