// Tasks outside the workflow's executor: a tokio task, a set of them, a local one.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Fanout;

#[workflow]
impl Fanout {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        tokio::spawn(async {});
        let mut set = tokio::task::JoinSet::new();
        set.spawn(async {});
        tokio::task::spawn_local(async {});
        Ok(())
    }
}

fn main() {}
