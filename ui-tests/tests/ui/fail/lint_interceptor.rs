// Workflow interceptors run inside the deterministic engine: `#[deterministic]` on their impl
// lints their hooks like workflow code.
use workflow_runtime::interceptor::{WorkflowInbound, WorkflowInterceptor};

struct Stamp;

#[deterministic]
impl WorkflowInterceptor for Stamp {
    fn inbound(&mut self, call: &WorkflowInbound<'_>) {
        let _seen_at = std::time::SystemTime::now();
        let _when = call.now;
    }
}

use workflow_runtime::deterministic;

fn main() {}
