//! A bounded least-recently-used map of cached runs, by run id.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Keeps at most `capacity` values; inserting past it evicts the least recently used.
pub(crate) struct LruCache<V> {
    capacity: usize,
    tick: u64,
    /// Each key is allocated once, shared by both maps.
    entries: HashMap<Arc<str>, (V, u64)>,
    order: BTreeMap<u64, Arc<str>>,
}

impl<V> LruCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        LruCache {
            capacity,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// Takes a value out (the caller puts it back when done with it).
    pub(crate) fn take(&mut self, key: &str) -> Option<V> {
        let (value, tick) = self.entries.remove(key)?;
        self.order.remove(&tick);
        Some(value)
    }

    /// Inserts a value as the most recently used; returns the entry it evicted, if any (with
    /// no capacity, the one just given).
    pub(crate) fn put(&mut self, key: String, value: V) -> Option<(String, V)> {
        if self.capacity == 0 {
            return Some((key, value));
        }
        self.take(&key);
        self.tick += 1;
        let key: Arc<str> = key.into();
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (value, self.tick));
        if self.entries.len() > self.capacity {
            let (&oldest, _) = self.order.iter().next()?;
            let evicted = self.order.remove(&oldest)?;
            let (value, _) = self.entries.remove(&evicted)?;
            return Some((evicted.to_string(), value));
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut c = LruCache::new(2);
        assert_eq!(c.put("a".into(), 1), None);
        assert_eq!(c.put("b".into(), 2), None);
        let a = c.take("a").unwrap();
        assert_eq!(c.put("a".into(), a), None); // a is now the most recent
        assert_eq!(c.put("c".into(), 3), Some(("b".into(), 2)));
        assert_eq!(c.len(), 2);
        assert!(c.take("b").is_none());
        let mut zero = LruCache::new(0);
        assert_eq!(zero.put("x".into(), 1), Some(("x".into(), 1)));
        assert_eq!(zero.len(), 0);
    }
}
