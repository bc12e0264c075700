// The escape hatch needs a reason that says why the call is safe on replay.
use workflow_runtime::prelude::*;

#[deterministic]
fn log_line(ctx: &WorkflowContext<()>) -> String {
    #[allow_nondeterministic]
    let wall = std::time::SystemTime::now();
    #[allow_nondeterministic(reason = "")]
    let again = std::time::SystemTime::now();
    format!("{:?} {wall:?} {again:?}", ctx.now())
}

fn main() {}
