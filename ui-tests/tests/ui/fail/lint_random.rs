// Randomness: unseeded generators and random sources from several crates. A generator seeded
// from `ctx.random()` is deterministic whatever its crate, so the last two lines pass.
use workflow_runtime::prelude::*;

#[deterministic]
fn jitter_ms(ctx: &WorkflowContext<()>) -> u64 {
    let mut rng = rand::thread_rng();
    let mut from_os = rand::rngs::StdRng::from_entropy();
    let mut fresh = fastrand::Rng::new();
    let mut seeded = rand::rngs::StdRng::seed_from_u64(ctx.random());
    let mut also_seeded = fastrand::Rng::with_seed(ctx.random());
    rng.next_u64() % 100 + fastrand::u64(..10) + from_os.next_u64() + fresh.u64(..) + seeded.next_u64()
        + also_seeded.u64(..)
}

fn main() {}
