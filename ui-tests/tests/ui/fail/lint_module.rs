// A `#[deterministic]` module: its `use` items resolve paths in every function and workflow
// method inside it; its activities are left alone.
use workflow_runtime::prelude::*;

#[deterministic]
mod billing {
    use std::time::SystemTime as Clock;
    use std::thread::sleep as pause;
    use workflow_runtime::prelude::*;

    pub fn stamp() -> u64 {
        Clock::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    #[activity(start_to_close_timeout = "10s")]
    pub async fn read_rates() -> Result<String, ActivityError> {
        Ok(std::fs::read_to_string("rates.csv").unwrap_or_default())
    }

    #[workflow]
    #[derive(Default)]
    pub struct Invoice;

    #[workflow]
    impl Invoice {
        #[run]
        async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
            pause(Duration::from_secs(1));
            ctx.activity(read_rates, ()).await
        }
    }
}

fn main() {}
