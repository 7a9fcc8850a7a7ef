//! Distinct bytes touched since a given owner last ran, in one scope (a core's private caches
//! or one shared L3): the LRU stack distance of Mattson et al. (1970) at the granularity of a
//! whole working set, counted with a Fenwick tree as in Bennett & Kruskal (1975).
//!
//! Every run appends a slot holding the owner's bytes and empties the owner's previous slot, so
//! the slots after an owner's own slot hold exactly the *latest* run of every other owner that
//! ran since: their sum is the distinct bytes touched by others since, whatever the number of
//! times each ran. A run and a query each cost O(log n) in the slots kept; slots nobody can
//! ask about any more are dropped when the tree is full (amortised O(1) per run), so the size
//! stays proportional to the owners alive.

use std::collections::HashMap;
use std::hash::Hash;

/// The tree's capacity after a compaction is at least this many slots.
const MIN_CAPACITY: usize = 16;

/// One run, in time order.
#[derive(Debug, Clone, Copy)]
struct Slot<K> {
    bytes: u64,
    /// `None` once its owner ran again (the bytes moved to its newer slot, and this one holds
    /// 0) or was forgotten (the bytes stay: that data is still in the cache, evicting others').
    owner: Option<K>,
}

/// The runs in one scope, oldest first, with prefix sums in a Fenwick tree.
#[derive(Debug)]
pub(crate) struct Recency<K> {
    slots: Vec<Slot<K>>,
    /// `tree[i]` (1-based) sums the slots `i - lowbit(i) .. i`; its length − 1 is the capacity.
    tree: Vec<u64>,
    total: u64,
    at: HashMap<K, usize>,
}

impl<K: Copy + Eq + Hash> Recency<K> {
    /// A scope where nothing has run.
    pub(crate) fn new() -> Self {
        Recency {
            slots: Vec::new(),
            tree: vec![0; MIN_CAPACITY + 1],
            total: 0,
            at: HashMap::new(),
        }
    }

    /// Distinct bytes the others touched in this scope since `owner` last ran here, or `None`
    /// if it never ran here (or was forgotten).
    pub(crate) fn others_since(&self, owner: K) -> Option<u64> {
        let &slot = self.at.get(&owner)?;
        Some(self.total - self.prefix(slot + 1))
    }

    /// `owner` runs here now and touches `bytes`.
    pub(crate) fn run(&mut self, owner: K, bytes: u64) {
        if let Some(slot) = self.at.remove(&owner) {
            let old = std::mem::replace(&mut self.slots[slot].bytes, 0);
            self.slots[slot].owner = None;
            self.sub(slot, old);
        }
        if self.slots.len() + 1 >= self.tree.len() {
            self.compact();
        }
        let slot = self.slots.len();
        self.slots.push(Slot {
            bytes,
            owner: Some(owner),
        });
        self.add(slot, bytes);
        self.at.insert(owner, slot);
    }

    /// `owner` is gone (its request finished): nobody will ask about it again, but the data it
    /// left still counts against the others.
    pub(crate) fn forget(&mut self, owner: K) {
        if let Some(slot) = self.at.remove(&owner) {
            self.slots[slot].owner = None;
        }
    }

    /// Drops the slots no query can reach (those before the oldest owned slot), merges each run
    /// of ownerless slots into one (no query starts inside it), and rebuilds the tree with room
    /// for as many new runs as slots kept.
    fn compact(&mut self) {
        let first_owned = self.slots.iter().position(|s| s.owner.is_some());
        let mut kept: Vec<Slot<K>> = Vec::new();
        for slot in self
            .slots
            .drain(first_owned.unwrap_or(usize::MAX).min(self.slots.len())..)
        {
            match (slot.owner, kept.last_mut()) {
                (None, _) if slot.bytes == 0 => {}
                (None, Some(last)) if last.owner.is_none() => last.bytes += slot.bytes,
                _ => kept.push(slot),
            }
        }
        self.slots = kept;
        self.tree = vec![0; (2 * self.slots.len()).max(MIN_CAPACITY) + 1];
        self.total = 0;
        self.at.clear();
        for slot in 0..self.slots.len() {
            let Slot { bytes, owner } = self.slots[slot];
            self.add(slot, bytes);
            if let Some(owner) = owner {
                self.at.insert(owner, slot);
            }
        }
    }

    fn add(&mut self, slot: usize, bytes: u64) {
        self.total += bytes;
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] += bytes;
            i += i & i.wrapping_neg();
        }
    }

    fn sub(&mut self, slot: usize, bytes: u64) {
        self.total -= bytes;
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] -= bytes;
            i += i & i.wrapping_neg();
        }
    }

    /// The sum of the first `n` slots.
    fn prefix(&self, n: usize) -> u64 {
        let mut sum = 0;
        let mut i = n;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// Slots kept (for the compaction test).
    #[cfg(test)]
    pub(crate) fn slots_kept(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, in O(n): walk the history back from now to the owner's last run,
    /// adding each other owner's latest bytes once. A forgotten number that runs again is a
    /// new owner (a new generation), so its old data counts apart from its new.
    fn naive(history: &[((u8, u32), u64)], owner: (u8, u32)) -> Option<u64> {
        let last = history.iter().rposition(|&(o, _)| o == owner)?;
        let mut seen = std::collections::HashSet::new();
        let mut sum = 0;
        for &(o, bytes) in history[last + 1..].iter().rev() {
            if seen.insert(o) {
                sum += bytes;
            }
        }
        Some(sum)
    }

    #[test]
    fn an_owner_running_again_counts_once() {
        let mut r = Recency::new();
        r.run(1u8, 100);
        for _ in 0..5 {
            r.run(2, 30);
        }
        r.run(3, 7);
        assert_eq!(r.others_since(1), Some(37));
        assert_eq!(r.others_since(2), Some(7));
        assert_eq!(r.others_since(3), Some(0));
        assert_eq!(r.others_since(4), None);
    }

    #[test]
    fn a_forgotten_owner_still_evicts_the_others() {
        let mut r = Recency::new();
        r.run(1u8, 100);
        r.run(2, 30);
        r.forget(2);
        assert_eq!(r.others_since(2), None);
        assert_eq!(r.others_since(1), Some(30));
    }

    #[test]
    fn compaction_keeps_the_size_proportional_to_the_owners() {
        let mut r = Recency::new();
        for i in 0..100_000u64 {
            r.run(i % 10, 64);
        }
        assert!(
            r.slots_kept() <= 2 * MIN_CAPACITY,
            "{} slots",
            r.slots_kept()
        );
        assert_eq!(r.others_since(0), Some(9 * 64));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Any interleaving of runs and forgets answers as the definition does, across many
        /// compactions (few owners, long histories).
        #[test]
        fn agrees_with_the_definition(
            ops in proptest::collection::vec((0u8..6, 0u64..5_000, any::<bool>()), 1..400)
        ) {
            let mut r = Recency::new();
            let mut history = Vec::new();
            let mut generation = [0u32; 6];
            let mut forgotten = std::collections::HashSet::new();
            for (owner, bytes, forget) in ops {
                if forget && bytes % 7 == 0 {
                    r.forget(owner);
                    forgotten.insert(owner);
                    generation[usize::from(owner)] += 1;
                } else {
                    r.run(owner, bytes);
                    history.push(((owner, generation[usize::from(owner)]), bytes));
                    forgotten.remove(&owner);
                }
                for o in 0..6u8 {
                    let expected = if forgotten.contains(&o) {
                        None
                    } else {
                        naive(&history, (o, generation[usize::from(o)]))
                    };
                    prop_assert_eq!(r.others_since(o), expected, "owner {}", o);
                }
            }
        }
    }
}
