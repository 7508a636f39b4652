//! An ordered index of the next deadline of every live transaction, so the
//! layer finds the earliest one in O(log n) and visits only due ones.
//!
//! Each transaction holds the [`Slot`] it was filed under; rescheduling
//! removes that slot and files a new one. The sequence number keeps equal
//! instants apart and fires them in the order they were filed.

use std::collections::BTreeMap;
use std::time::Instant;

/// Where one item is filed: its deadline and a unique sequence number.
pub(crate) type Slot = (Instant, u64);

/// Items ordered by deadline.
#[derive(Debug)]
pub(crate) struct DeadlineIndex<K> {
    by_time: BTreeMap<Slot, K>,
    seq: u64,
}

impl<K> Default for DeadlineIndex<K> {
    fn default() -> Self {
        DeadlineIndex { by_time: BTreeMap::new(), seq: 0 }
    }
}

impl<K: Clone> DeadlineIndex<K> {
    /// File `key` under `at` (or nowhere for `None`), replacing the slot it
    /// held. Nothing changes when the deadline is the same.
    pub fn reschedule(&mut self, slot: &mut Option<Slot>, at: Option<Instant>, key: &K) {
        if slot.map(|s| s.0) == at {
            return;
        }
        self.remove(slot.take());
        if let Some(at) = at {
            self.seq += 1;
            let filed = (at, self.seq);
            self.by_time.insert(filed, key.clone());
            *slot = Some(filed);
        }
    }

    /// Forget a slot (the item ended).
    pub fn remove(&mut self, slot: Option<Slot>) {
        if let Some(s) = slot {
            self.by_time.remove(&s);
        }
    }

    /// The earliest deadline.
    pub fn first(&self) -> Option<Instant> {
        self.by_time.first_key_value().map(|(s, _)| s.0)
    }

    /// The earliest item due at `now`, taken out of the index. Its holder
    /// must clear the slot it kept.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let (slot, _) = self.by_time.first_key_value()?;
        if slot.0 > now {
            return None;
        }
        self.by_time.pop_first().map(|(_, k)| k)
    }

    /// How many items are filed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_time.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pops_due_items_in_deadline_then_filing_order() {
        let t0 = Instant::now();
        let mut index = DeadlineIndex::default();
        let mut slots = [None; 4];
        for (i, at) in [30, 10, 20, 10].into_iter().enumerate() {
            index.reschedule(&mut slots[i], Some(t0 + ms(at)), &i);
        }
        assert_eq!(index.first(), Some(t0 + ms(10)));
        assert_eq!(index.pop_due(t0 + ms(5)), None);
        let due: Vec<usize> = std::iter::from_fn(|| index.pop_due(t0 + ms(20))).collect();
        assert_eq!(due, [1, 3, 2]);
        assert_eq!(index.first(), Some(t0 + ms(30)));
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn rescheduling_moves_the_item_and_none_unfiles_it() {
        let t0 = Instant::now();
        let mut index = DeadlineIndex::default();
        let (mut a, mut b) = (None, None);
        index.reschedule(&mut a, Some(t0 + ms(10)), &"a");
        index.reschedule(&mut b, Some(t0 + ms(20)), &"b");
        index.reschedule(&mut a, Some(t0 + ms(30)), &"a");
        assert_eq!(index.len(), 2);
        assert_eq!(index.first(), Some(t0 + ms(20)));
        index.reschedule(&mut b, None, &"b");
        assert_eq!((b, index.len()), (None, 1));
        index.remove(a.take());
        assert_eq!(index.first(), None);
    }

    #[test]
    fn the_same_deadline_keeps_its_slot() {
        let t0 = Instant::now();
        let mut index = DeadlineIndex::default();
        let mut a = None;
        index.reschedule(&mut a, Some(t0 + ms(10)), &1);
        let filed = a;
        index.reschedule(&mut a, Some(t0 + ms(10)), &1);
        assert_eq!((a, index.len()), (filed, 1));
    }
}
