//! What the engine keeps for each thing workflow code waits on (an activity, a timer, a
//! child, a signal to another workflow, a local activity): one table per kind, keyed by the
//! sequence number the code gave it, and found again by the event id history recorded for it.

/// The slots of one kind, by sequence number, with the history event that recorded each.
///
/// Kept in sorted vectors rather than maps: a run holds few slots at a time and sequence
/// numbers and event ids only grow, so inserts are pushes, lookups binary searches, and an
/// idle cached run pays a few bytes per table instead of two hash maps' worth.
pub(crate) struct SlotTable<S> {
    next_seq: u32,
    /// Slots by increasing sequence number; a removed slot is `None` until the next sweep.
    slots: Vec<(u32, Option<S>)>,
    /// How many entries of `slots` are removed and not swept yet.
    removed: usize,
    /// The event that recorded a slot's command (`ActivityTaskScheduled`,
    /// `StartChildWorkflowExecutionInitiated`, …) and the slot's sequence number, by
    /// increasing event id.
    by_event: Vec<(i64, u32)>,
}

impl<S> Default for SlotTable<S> {
    fn default() -> Self {
        SlotTable {
            next_seq: 1,
            slots: Vec::new(),
            removed: 0,
            by_event: Vec::new(),
        }
    }
}

/// Inserts `entry` into `entries`, sorted by key (usually at the end), replacing an entry of
/// the same key; the first insert allocates room for one entry only.
fn insert_sorted<K: Ord + Copy, V>(entries: &mut Vec<(K, V)>, entry: (K, V)) -> Option<V> {
    match entries.binary_search_by_key(&entry.0, |(k, _)| *k) {
        Ok(i) => Some(std::mem::replace(&mut entries[i], entry).1),
        Err(i) => {
            if entries.capacity() == 0 {
                entries.reserve_exact(1);
            }
            entries.insert(i, entry);
            None
        }
    }
}

impl<S> SlotTable<S> {
    /// The next sequence number (1, 2, …), the same on every replay.
    pub(crate) fn next_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub(crate) fn insert(&mut self, seq: u32, slot: S) {
        if let Some(None) = insert_sorted(&mut self.slots, (seq, Some(slot))) {
            self.removed -= 1;
        }
    }

    fn index(&self, seq: u32) -> Option<usize> {
        self.slots.binary_search_by_key(&seq, |(s, _)| *s).ok()
    }

    pub(crate) fn get(&self, seq: u32) -> Option<&S> {
        self.slots[self.index(seq)?].1.as_ref()
    }

    pub(crate) fn get_mut(&mut self, seq: u32) -> Option<&mut S> {
        let i = self.index(seq)?;
        self.slots[i].1.as_mut()
    }

    /// Takes slot `seq` out; removed slots are swept once they are half the table (all of
    /// it: the memory is given back).
    pub(crate) fn remove(&mut self, seq: u32) -> Option<S> {
        let i = self.index(seq)?;
        let slot = self.slots[i].1.take()?;
        self.removed += 1;
        if self.removed == self.slots.len() {
            self.slots = Vec::new();
            self.removed = 0;
        } else if self.removed * 2 > self.slots.len() {
            self.slots.retain(|(_, slot)| slot.is_some());
            self.removed = 0;
        }
        Some(slot)
    }

    /// Notes that history recorded slot `seq`'s command as event `event_id`.
    pub(crate) fn recorded(&mut self, event_id: i64, seq: u32) {
        insert_sorted(&mut self.by_event, (event_id, seq));
    }

    /// The sequence number of the slot whose command history recorded as `event_id`.
    pub(crate) fn seq_of_event(&self, event_id: i64) -> Option<u32> {
        let i = self.by_event.binary_search_by_key(&event_id, |(e, _)| *e).ok()?;
        Some(self.by_event[i].1)
    }

    /// The slot whose command history recorded as `event_id`.
    pub(crate) fn by_event(&self, event_id: i64) -> Option<&S> {
        self.seq_of_event(event_id).and_then(|seq| self.get(seq))
    }

    /// The slot whose command history recorded as `event_id`, to resolve it.
    pub(crate) fn by_event_mut(&mut self, event_id: i64) -> Option<&mut S> {
        let seq = self.seq_of_event(event_id)?;
        self.get_mut(seq)
    }

    /// Every slot, in sequence order.
    pub(crate) fn in_order(&self) -> impl Iterator<Item = (u32, &S)> {
        self.slots.iter().filter_map(|(seq, slot)| Some((*seq, slot.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::SlotTable;

    #[test]
    fn slots_are_numbered_from_one_and_found_by_their_event() {
        let mut table = SlotTable::<&str>::default();
        let (a, b) = (table.next_seq(), table.next_seq());
        assert_eq!((a, b), (1, 2));
        table.insert(b, "timer");
        table.insert(a, "activity");
        table.recorded(5, a);
        assert_eq!(table.by_event(5), Some(&"activity"));
        assert_eq!(table.by_event(6), None);
        *table.by_event_mut(5).unwrap() = "done";
        assert_eq!(table.in_order().collect::<Vec<_>>(), vec![(1, &"done"), (2, &"timer")]);
        assert_eq!(table.remove(a), Some("done"));
        assert_eq!(table.get(a), None);
        assert_eq!(table.remove(a), None);
        assert_eq!(table.by_event(5), None);
        table.insert(a, "again");
        assert_eq!(table.in_order().collect::<Vec<_>>(), vec![(1, &"again"), (2, &"timer")]);
    }

    #[test]
    fn removed_slots_are_swept_and_the_rest_stay_found() {
        let mut table = SlotTable::<u32>::default();
        for _ in 0..100 {
            let seq = table.next_seq();
            table.insert(seq, seq * 10);
            table.recorded(i64::from(seq) * 3, seq);
        }
        for seq in (1..=100).filter(|s| s % 4 != 0) {
            assert_eq!(table.remove(seq), Some(seq * 10));
        }
        assert!(table.slots.len() < 100, "swept");
        assert_eq!(table.in_order().count(), 25);
        assert_eq!(table.by_event(12), Some(&40));
        assert_eq!(table.get(3), None);
        for seq in (4..=100).step_by(4) {
            assert_eq!(table.remove(seq), Some(seq * 10));
        }
        assert_eq!((table.slots.capacity(), table.removed), (0, 0), "all memory given back");
        assert_eq!(table.next_seq(), 101);
    }
}
