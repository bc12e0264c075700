use workflow_runtime::prelude::*;

#[derive(Default)]
pub struct Forgotten;

#[workflow]
impl Forgotten {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

fn main() {}
