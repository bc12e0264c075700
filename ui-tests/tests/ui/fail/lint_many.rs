use std::collections::HashMap;
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Messy {
    seen: u32,
}

#[workflow]
impl Messy {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        let id = uuid::Uuid::new_v4();
        tokio::spawn(async {});
        let mut counts = HashMap::new();
        counts.insert(id, 1);
        let config = std::fs::read_to_string("config.toml");
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(ctx.state(|s| s.seen))
    }

    #[signal]
    fn poke(&mut self) {
        let home = std::env::var("HOME");
        self.seen += 1;
    }
}

#[deterministic]
fn helper() -> u64 {
    rand::random()
}

fn main() {}
