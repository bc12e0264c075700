// Randomness: an unseeded generator and a random source from another crate.
use workflow_runtime::prelude::*;

#[deterministic]
fn jitter_ms() -> u64 {
    let mut rng = rand::thread_rng();
    rng.next_u64() % 100 + fastrand::u64(..10)
}

fn main() {}
