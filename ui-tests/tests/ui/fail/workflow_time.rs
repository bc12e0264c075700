//! Workflow time cannot read the machine's clock: `WorkflowTime` has no `elapsed`, and it is
//! not a `SystemTime` until converted on purpose.
use workflow_runtime::prelude::*;

#[deterministic]
fn waited(ctx: &WorkflowContext<()>) -> Duration {
    ctx.now().elapsed().unwrap()
}

#[deterministic]
fn as_wall_clock(ctx: &WorkflowContext<()>) -> std::time::SystemTime {
    ctx.now()
}

#[deterministic]
fn converted(ctx: &WorkflowContext<()>) -> std::time::SystemTime {
    ctx.now().to_system_time()
}

fn main() {
    let _ = (waited, as_wall_clock, converted);
}
