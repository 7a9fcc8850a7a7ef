//! The event queue, ordered by `(time, sequence)`, so that events at the same time come out
//! first-in first-out and a seed always gives the same run.
//!
//! It is a radix heap (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest
//! path problem", 1990) over the 128-bit key `time << 64 | sequence`. A radix heap needs
//! monotone keys, no key below the last one popped, and the engine gives exactly that: every
//! event is scheduled at or after the current time, and its sequence number is larger than
//! every earlier one, so its key is larger than the last key popped. Keys are unique, so the
//! order is the same total order a binary heap on `(time, sequence)` gives, and results do not
//! change by a bit. What changes is the cost with many pending events (a million idle
//! connections): a binary heap's pop walks ~20 levels of a large array, a cache miss each; here
//! an event moves between at most 128 buckets over its life, each move an append to a vector.
//!
//! Bucket `i > 0` holds the keys whose highest bit that differs from `last` is bit `i - 1`;
//! bucket 0 holds the key equal to `last`. Popping refills bucket 0 from the lowest non-empty
//! bucket: its minimum becomes `last` and its other keys fall into lower buckets.

use crate::event::Event;
use crate::time::SimTime;

const BUCKETS: usize = 129;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u128,
    event: Event,
}

fn key(time: SimTime, sequence: u64) -> u128 {
    (u128::from(time.0) << 64) | u128::from(sequence)
}

/// Entries each bucket holds before it first grows.
const MIN_BUCKET_ROOM: usize = 16;

/// Pending events, earliest first.
#[derive(Debug)]
pub(crate) struct EventQueue {
    buckets: Vec<Vec<Entry>>,
    /// Bit `i` set when bucket `i` is not empty.
    nonempty: [u64; 3],
    /// The last key popped (0 before the first pop); every pending key is at least this.
    last: u128,
    len: usize,
    sequence: u64,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue::with_capacity(0)
    }
}

impl EventQueue {
    /// An empty queue; `capacity` events fit in its top buckets without reallocating.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        // Every bucket starts with a little room, so that a bucket reaching a new high-water
        // mark in the steady state does not allocate (issue 15's counting-allocator test).
        let mut buckets: Vec<Vec<Entry>> = (0..BUCKETS)
            .map(|_| Vec::with_capacity(MIN_BUCKET_ROOM))
            .collect();
        // Time-stamps far apart differ in a high bit of the time, which is where a queue of
        // many long waits lives; give the first buckets above the sequence bits the room.
        for bucket in buckets.iter_mut().skip(65).take(40) {
            bucket.reserve(capacity / 40);
        }
        EventQueue {
            buckets,
            nonempty: [0; 3],
            last: 0,
            len: 0,
            sequence: 0,
        }
    }

    fn bucket_of(&self, key: u128) -> usize {
        let differ = key ^ self.last;
        if differ == 0 {
            0
        } else {
            128 - differ.leading_zeros() as usize
        }
    }

    fn put(&mut self, entry: Entry) {
        let b = self.bucket_of(entry.key);
        self.buckets[b].push(entry);
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    fn lowest_nonempty(&self) -> Option<usize> {
        self.nonempty
            .iter()
            .enumerate()
            .find(|(_, word)| **word != 0)
            .map(|(i, word)| i * 64 + word.trailing_zeros() as usize)
    }

    /// Schedules `event` at `time`; among equal times, earlier calls come out first.
    pub(crate) fn push(&mut self, time: SimTime, event: Event) {
        let key = key(time, self.sequence);
        debug_assert!(
            key >= self.last,
            "an event scheduled at {time:?}, before the last one popped"
        );
        self.sequence += 1;
        self.len += 1;
        self.put(Entry { key, event });
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(SimTime, Event)> {
        let b = self.lowest_nonempty()?;
        if b > 0 && self.buckets[b].len() == 1 {
            // A lone entry is the minimum: no need to pass it through bucket 0 (the common
            // case when only a few events are pending, as in an M/M/c run).
            let entry = self.buckets[b].pop()?;
            self.nonempty[b / 64] &= !(1 << (b % 64));
            self.last = entry.key;
            self.len -= 1;
            return Some((SimTime((entry.key >> 64) as u64), entry.event));
        }
        if b > 0 {
            // Keep the bucket's allocation: take its entries out, then put the empty vector
            // back (none of its entries can land in it again: they all fall lower).
            let mut entries = std::mem::take(&mut self.buckets[b]);
            self.nonempty[b / 64] &= !(1 << (b % 64));
            self.last = entries.iter().map(|e| e.key).min().unwrap_or(self.last);
            for entry in entries.drain(..) {
                self.put(entry);
            }
            self.buckets[b] = entries;
        }
        let entry = self.buckets[0].pop()?;
        // Keys are unique, so bucket 0 held exactly this one.
        self.nonempty[0] &= !1;
        self.len -= 1;
        Some((SimTime((entry.key >> 64) as u64), entry.event))
    }

    /// Number of pending events.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_times_come_out_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), Event::ClientSend { client: 0 });
        q.push(SimTime(3), Event::ClientSend { client: 1 });
        q.push(SimTime(5), Event::ClientSend { client: 2 });
        q.push(SimTime(3), Event::ClientSend { client: 3 });
        let order: Vec<u32> = std::iter::from_fn(|| q.pop())
            .map(|(_, e)| match e {
                Event::ClientSend { client } => client,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![1, 3, 0, 2]);
    }

    proptest! {
        /// Against a sorted reference: any monotone schedule (pushes at or after the last
        /// time popped, interleaved with pops) comes out in (time, insertion) order.
        #[test]
        fn pops_in_time_then_insertion_order(ops in prop::collection::vec((0u64..4, 0u64..1 << 40, any::<bool>()), 1..400)) {
            let mut q = EventQueue::default();
            let mut reference: Vec<(u64, u32)> = Vec::new();
            let mut now = 0u64;
            for (n, (scale, delay, pop)) in ops.into_iter().enumerate() {
                if pop {
                    let got = q.pop().map(|(t, e)| match e {
                        Event::ClientSend { client } => (t.0, client),
                        _ => unreachable!(),
                    });
                    reference.sort();
                    let want = if reference.is_empty() { None } else { Some(reference.remove(0)) };
                    prop_assert_eq!(got, want);
                    if let Some((t, _)) = got { now = t; }
                } else {
                    // Delays from 0 to 2^40 ns in four scales, many equal times among them.
                    let time = now + (delay >> (10 * scale));
                    q.push(SimTime(time), Event::ClientSend { client: n as u32 });
                    reference.push((time, n as u32));
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
