// Hash containers with the per-process random hasher, however they are built, and the hasher
// itself. A map whose hasher is named, and a `BTreeMap`, pass.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher};
use workflow_runtime::prelude::*;

type FixedMap<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

#[deterministic]
fn distinct(items: &[u32]) -> Vec<u32> {
    let mut seen = HashSet::new();
    let _hasher = std::collections::hash_map::RandomState::new();
    let _counts = items.iter().map(|i| (*i, 1)).collect::<HashMap<u32, u32>>();
    let _pairs = HashMap::from([(1, 2)]);
    let _empty: HashMap<u32, u32> = Default::default();
    let _unique: HashSet<_> = items.iter().collect();
    let _fixed: FixedMap<u32, u32> = HashMap::default();
    let _sorted: BTreeMap<u32, u32> = items.iter().map(|i| (*i, 1)).collect();
    items.iter().copied().filter(|i| seen.insert(*i)).collect()
}

fn main() {}
