// Channels and locks woken outside history: a std channel through a renamed module, and a
// tokio lock.
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Pipeline;

#[workflow]
impl Pipeline {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        use std::sync::mpsc as channels;
        let (tx, rx) = channels::channel::<u32>();
        let total = tokio::sync::Mutex::new(0u32);
        drop((tx, rx));
        Ok(*total.lock().await)
    }
}

fn main() {}
