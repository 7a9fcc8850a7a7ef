//! The event queue, ordered by `(time, sequence)`, so that events at the same time come out
//! first-in first-out and a seed always gives the same run.
//!
//! It is a radix heap (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest
//! path problem", 1990) over the 64-bit time. A radix heap needs monotone keys, no key below the
//! last one popped, and the engine gives exactly that: every event is scheduled at or after the
//! current time. What changes against a binary heap is the cost with many pending events (ten
//! million idle connections): a binary heap's pop walks ~24 levels of a large array, a cache
//! miss each; here an event moves between at most 65 buckets over its life, each move an append
//! to a vector.
//!
//! Bucket `i > 0` holds the times whose highest bit that differs from `last` is bit `i - 1`;
//! bucket 0 holds the times equal to `last`. Popping takes bucket 0's oldest entry, or refills
//! bucket 0 from the lowest non-empty bucket: its minimum becomes `last` and its other entries
//! fall into lower buckets.
//!
//! Equal times come out in insertion order without storing a sequence number: every entry of a
//! given time sits in the bucket that time maps to under the current `last` (the radix heap's
//! invariant), so an entry pushed later lands behind every earlier entry of its time; a refill
//! moves a bucket's entries in order into buckets that are all empty; and bucket 0 is consumed
//! from the front. So the order is exactly the `(time, sequence)` order of a binary heap, and
//! results do not change by a bit, while an entry is 24 bytes instead of 32.

use crate::event::Event;
use crate::time::SimTime;

/// Buckets 1 to 64; bucket 0, the entries at `last`, is [`EventQueue::current`].
const BUCKETS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Entry {
    time: u64,
    event: Event,
}

/// Entries each bucket holds before it first grows.
const MIN_BUCKET_ROOM: usize = 16;

/// Pending events, earliest first.
#[derive(Debug)]
pub(crate) struct EventQueue {
    /// Bucket 0: the entries at `last`, oldest first, consumed from `head`; emptied once all
    /// are.
    current: Vec<Entry>,
    head: usize,
    /// `buckets[i]` is bucket `i + 1`.
    buckets: Vec<Vec<Entry>>,
    /// Bit `i` set when `buckets[i]` is not empty (a `u64`, not a `u128` over all 65
    /// buckets: a variable shift of a `u128` costs a dozen instructions, a third of a push).
    nonempty: u64,
    /// The last time popped (0 before the first pop); every pending time is at least this.
    last: u64,
    len: usize,
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
        // Time-stamps far apart differ in a high bit, which is where a queue of many long
        // waits lives; give the first 40 bits' buckets the room.
        for bucket in buckets.iter_mut().take(40) {
            bucket.reserve(capacity / 40);
        }
        EventQueue {
            current: Vec::with_capacity(MIN_BUCKET_ROOM),
            head: 0,
            buckets,
            nonempty: 0,
            last: 0,
            len: 0,
        }
    }

    #[inline]
    fn put(&mut self, entry: Entry) {
        let differ = entry.time ^ self.last;
        if differ == 0 {
            self.current.push(entry);
        } else {
            // Bucket 64 - leading zeros, at index 63 - leading zeros.
            let i = (63 - differ.leading_zeros()) as usize;
            self.buckets[i].push(entry);
            self.nonempty |= 1 << i;
        }
    }

    /// Schedules `event` at `time`; among equal times, earlier calls come out first.
    #[inline]
    pub(crate) fn push(&mut self, time: SimTime, event: Event) {
        debug_assert!(
            time.0 >= self.last,
            "an event scheduled at {time:?}, before the last one popped"
        );
        self.len += 1;
        self.put(Entry {
            time: time.0,
            event,
        });
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(SimTime, Event)> {
        if self.head == self.current.len() {
            if self.nonempty == 0 {
                return None;
            }
            let i = self.nonempty.trailing_zeros() as usize;
            if self.buckets[i].len() == 1 {
                // A lone entry is the minimum: no need to pass it through bucket 0 (the
                // common case when only a few events are pending, as in an M/M/c run).
                let entry = self.buckets[i].pop()?;
                self.nonempty &= !(1 << i);
                self.last = entry.time;
                self.len -= 1;
                return Some((SimTime(entry.time), entry.event));
            }
            // The earliest of the bucket comes out at once; entries at its time follow in
            // bucket 0.
            let entry = self.refill(i)?;
            self.len -= 1;
            return Some((SimTime(entry.time), entry.event));
        }
        let entry = *self.current.get(self.head)?;
        self.head += 1;
        if self.head == self.current.len() {
            self.current.clear();
            self.head = 0;
        }
        self.len -= 1;
        Some((SimTime(entry.time), entry.event))
    }

    /// Empties bucket `i + 1`, the lowest non-empty one while bucket 0 is empty, into the
    /// buckets below it, and returns its earliest entry: its time becomes `last`, the later
    /// entries at that time go to bucket 0. Out of line so that `pop`'s common paths stay small
    /// enough to inline into the engine's loop.
    #[inline(never)]
    fn refill(&mut self, i: usize) -> Option<Entry> {
        // Every entry falls into bucket 0 or a bucket below `i + 1`, all empty now, so they
        // keep their order (the first at the minimum is the oldest); the bucket keeps its
        // allocation.
        let (lower, rest) = self.buckets.split_at_mut(i);
        let bucket = rest.first_mut()?;
        self.nonempty &= !(1 << i);
        let last = bucket.iter().map(|e| e.time).min()?;
        self.last = last;
        let mut earliest = None;
        for entry in bucket.iter() {
            let differ = entry.time ^ last;
            if differ == 0 {
                if earliest.is_none() {
                    earliest = Some(*entry);
                } else {
                    self.current.push(*entry);
                }
            } else {
                let j = (63 - differ.leading_zeros()) as usize;
                lower[j].push(*entry);
                self.nonempty |= 1 << j;
            }
        }
        bucket.clear();
        earliest
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

    #[test]
    fn an_equal_time_pushed_after_the_queue_moved_on_still_comes_out_behind() {
        // `a` goes into a high bucket while `last` is 0; after a pop moves `last` close to its
        // time, `b` at the same time lands where `a` is, behind it.
        let mut q = EventQueue::default();
        q.push(SimTime(1 << 30), Event::ClientSend { client: 0 });
        q.push(SimTime(1 << 29), Event::ClientSend { client: 1 });
        q.push(SimTime((1 << 30) - 1), Event::ClientSend { client: 2 });
        assert_eq!(
            q.pop(),
            Some((SimTime(1 << 29), Event::ClientSend { client: 1 }))
        );
        q.push(SimTime(1 << 30), Event::ClientSend { client: 3 });
        assert_eq!(
            q.pop(),
            Some((SimTime((1 << 30) - 1), Event::ClientSend { client: 2 }))
        );
        q.push(SimTime(1 << 30), Event::ClientSend { client: 4 });
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        let clients: Vec<u32> = rest
            .iter()
            .map(|(_, e)| match e {
                Event::ClientSend { client } => *client,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(clients, vec![0, 3, 4]);
        assert_eq!(q.len(), 0);
    }

    proptest! {
        /// Against a sorted reference: any monotone schedule (pushes at or after the last
        /// time popped, interleaved with pops) comes out in (time, insertion) order.
        #[test]
        fn pops_in_time_then_insertion_order(ops in prop::collection::vec((0u64..5, 0u64..1 << 40, any::<bool>()), 1..400)) {
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
                    // Delays from 0 to 2^40 ns in four scales, and 0 or 1 ns (equal times
                    // pushed before and after the pops that bring `last` up to them).
                    let time = now + if scale == 4 { delay & 1 } else { delay >> (10 * scale) };
                    q.push(SimTime(time), Event::ClientSend { client: n as u32 });
                    reference.push((time, n as u32));
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
