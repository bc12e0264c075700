// Hash containers with the per-process random hasher, and the hasher itself.
use std::collections::HashSet;
use workflow_runtime::prelude::*;

#[deterministic]
fn distinct(items: &[u32]) -> Vec<u32> {
    let mut seen = HashSet::new();
    let _hasher = std::collections::hash_map::RandomState::new();
    items.iter().copied().filter(|i| seen.insert(*i)).collect()
}

fn main() {}
