// Threads and blocking work, whose place is an activity: a glob-imported spawn, a scope, a
// built thread, and tokio's blocking pool.
use workflow_runtime::prelude::*;

#[deterministic]
fn crunch(numbers: Vec<u64>) -> u64 {
    use std::thread::*;
    let handle = spawn(|| 1u64);
    let halves = std::thread::scope(|s| s.spawn(|| numbers.len() as u64).join().unwrap_or(0));
    let named = std::thread::Builder::new().name("crunch".into()).spawn(|| 2u64);
    let blocking = tokio::task::spawn_blocking(|| 3u64);
    drop((named, blocking));
    handle.join().unwrap_or(0) + halves
}

fn main() {}
