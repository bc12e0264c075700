// A generic return type that is not a `Result` (nor a renamed one) where a result is needed.
use workflow_runtime::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Summary<T> {
    value: T,
}

#[workflow]
#[derive(Default)]
pub struct Report;

#[workflow]
impl Report {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> Summary<u64> {
        Summary { value: 1 }
    }
}

fn main() {}
