//! A workflow's state is workflow code's memory: its field types are checked like a `let`.
use std::collections::{BTreeMap, HashMap, HashSet};
use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Tally {
    by_customer: HashMap<String, u64>,
    seen: HashSet<u64>,
    ordered: BTreeMap<String, u64>,
    #[allow_nondeterministic(reason = "only looked up by key, never iterated")]
    lookups: HashMap<String, u64>,
}

#[workflow]
impl Tally {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(ctx.state(|s| s.ordered.values().sum::<u64>() + s.by_customer.len() as u64 + s.seen.len() as u64 + s.lookups.len() as u64))
    }
}

fn main() {}
