//! The map from a thread's id to its slot in a run queue. Every wake-up and block looks an id
//! up, so std's SipHash (built to resist chosen keys, which ids from our own counter are not)
//! cost more than the rest of the lookup; a folded multiply spreads them as well for the table.
//! The maps are only ever probed, never iterated, so the hash cannot change any output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Id;

/// Thread id → slot, hashed by [`IdHasher`].
pub(crate) type IdMap<V> = HashMap<Id, V, BuildHasherDefault<IdHasher>>;

/// A new, empty [`IdMap`].
pub(crate) fn id_map<V>() -> IdMap<V> {
    HashMap::with_hasher(BuildHasherDefault::default())
}

/// Hashes one integer key by a 64 × 64 → 128-bit multiply folded onto 64 bits, so that both
/// the low bits (the bucket) and the top seven (the table's tag) depend on every bit of the id.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

/// An odd constant with well-spread bits (the golden ratio's, as in Fibonacci hashing).
const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;

impl IdHasher {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * u128::from(SPREAD);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for `u32` keys; kept correct for any key all the same.
        for &b in bytes {
            self.mix(u64::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_ids_spread_over_buckets_and_tags() {
        let hash = |id: Id| {
            let mut h = IdHasher::default();
            h.write_u32(id);
            h.finish()
        };
        // 4,096 consecutive ids (and every fourth id, as one core might hold): distinct low
        // 12 bits for most, and every one of the 128 top-seven-bit tags in use.
        for stride in [1, 4] {
            let hashes: Vec<u64> = (0..4_096).map(|i| hash(i * stride)).collect();
            let mut buckets: Vec<u64> = hashes.iter().map(|h| h & 0xfff).collect();
            buckets.sort_unstable();
            buckets.dedup();
            assert!(buckets.len() > 2_400, "{} buckets of 4,096", buckets.len());
            let mut tags: Vec<u64> = hashes.iter().map(|h| h >> 57).collect();
            tags.sort_unstable();
            tags.dedup();
            assert_eq!(tags.len(), 128);
        }
    }
}
