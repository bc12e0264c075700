//! What the engine keeps for each thing workflow code waits on (an activity, a timer, a
//! child, a signal to another workflow, a local activity): one table per kind, keyed by the
//! sequence number the code gave it, and found again by the event id history recorded for it.

use std::collections::HashMap;

/// The slots of one kind, by sequence number, with the history event that recorded each.
pub(crate) struct SlotTable<S> {
    next_seq: u32,
    slots: HashMap<u32, S>,
    /// The event that recorded a slot's command (`ActivityTaskScheduled`,
    /// `StartChildWorkflowExecutionInitiated`, …) → the slot's sequence number.
    by_event: HashMap<i64, u32>,
}

impl<S> Default for SlotTable<S> {
    fn default() -> Self {
        SlotTable {
            next_seq: 1,
            slots: HashMap::new(),
            by_event: HashMap::new(),
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
        self.slots.insert(seq, slot);
    }

    pub(crate) fn get(&self, seq: u32) -> Option<&S> {
        self.slots.get(&seq)
    }

    pub(crate) fn get_mut(&mut self, seq: u32) -> Option<&mut S> {
        self.slots.get_mut(&seq)
    }

    pub(crate) fn remove(&mut self, seq: u32) -> Option<S> {
        self.slots.remove(&seq)
    }

    /// Notes that history recorded slot `seq`'s command as event `event_id`.
    pub(crate) fn recorded(&mut self, event_id: i64, seq: u32) {
        self.by_event.insert(event_id, seq);
    }

    /// The sequence number of the slot whose command history recorded as `event_id`.
    pub(crate) fn seq_of_event(&self, event_id: i64) -> Option<u32> {
        self.by_event.get(&event_id).copied()
    }

    /// The slot whose command history recorded as `event_id`.
    pub(crate) fn by_event(&self, event_id: i64) -> Option<&S> {
        self.seq_of_event(event_id).and_then(|seq| self.slots.get(&seq))
    }

    /// The slot whose command history recorded as `event_id`, to resolve it.
    pub(crate) fn by_event_mut(&mut self, event_id: i64) -> Option<&mut S> {
        let seq = self.seq_of_event(event_id)?;
        self.slots.get_mut(&seq)
    }

    /// Every slot, in sequence order.
    pub(crate) fn in_order(&self) -> impl Iterator<Item = (u32, &S)> {
        let mut slots: Vec<(u32, &S)> = self.slots.iter().map(|(seq, s)| (*seq, s)).collect();
        slots.sort_by_key(|(seq, _)| *seq);
        slots.into_iter()
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
    }
}
