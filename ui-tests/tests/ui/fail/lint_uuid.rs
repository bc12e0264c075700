// Ids: a random UUID and one made from the clock.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Signup;

#[workflow]
impl Signup {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let id = uuid::Uuid::new_v4();
        let sortable = uuid::Uuid::now_v7();
        Ok(format!("{id}-{sortable}"))
    }
}

fn main() {}
