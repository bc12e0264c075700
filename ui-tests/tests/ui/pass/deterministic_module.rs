// What the lint must accept: deterministic code in a `#[deterministic]` module (renamed
// imports of safe items, globs, collections, iterators, closures, formatting, math, strings,
// `ctx.*` calls), activities doing I/O beside it, and a justified exception.
use workflow_runtime::prelude::*;

#[deterministic]
pub mod orders {
    use std::collections::BTreeMap as Ledger;
    use std::collections::*;
    use workflow_runtime::prelude::*;

    pub fn totals(lines: &[(String, u64)]) -> Ledger<String, u64> {
        let mut ledger = Ledger::new();
        for (sku, cents) in lines {
            *ledger.entry(sku.clone()).or_insert(0) += cents;
        }
        let _queue: VecDeque<u8> = VecDeque::new();
        ledger
    }

    pub fn summary(ledger: &Ledger<String, u64>) -> String {
        let total: u64 = ledger.values().sum();
        let names = ledger.keys().map(|k| k.to_uppercase()).collect::<Vec<_>>().join(", ");
        format!("{names}: {:.2}", total as f64 / 100.0)
    }

    #[activity(start_to_close_timeout = "10s")]
    pub async fn fetch_lines(order: String) -> Result<Vec<(String, u64)>, ActivityError> {
        let _home = std::env::var("HOME");
        Ok(vec![(order, 250)])
    }

    #[workflow]
    #[derive(Default)]
    pub struct Checkout {
        seen: u32,
    }

    #[workflow]
    impl Checkout {
        #[run]
        async fn run(ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<String> {
            let lines = ctx.activity(fetch_lines, order).await?;
            ctx.sleep(Duration::from_secs(60)).await?;
            #[allow_nondeterministic(reason = "only logged, never decides anything")]
            let wall = std::time::SystemTime::now();
            let _ = wall;
            let read = lines.len();
            Ok(format!("{} {}", summary(&totals(&lines)), read + ctx.state(|s| s.seen) as usize))
        }

        #[signal]
        fn poke(&mut self) {
            self.seen += 1;
        }

        /// An async update: workflow code beside `run`, answering when it is done.
        #[update]
        async fn recount(ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<usize> {
            let lines = ctx.activity(fetch_lines, order).await?;
            ctx.state_mut(|s| s.seen += 1);
            Ok(lines.len())
        }
    }
}

fn main() {}
