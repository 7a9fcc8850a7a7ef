//! The event queue: a binary heap ordered by `(time, sequence)`, so that events at the same time
//! come out first-in first-out and a seed always gives the same run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::event::Event;
use crate::time::SimTime;

#[derive(Debug, Clone, Copy)]
struct Entry {
    time: SimTime,
    sequence: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.sequence == other.sequence
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that the std max-heap pops the earliest entry.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.sequence).cmp(&(self.time, self.sequence))
    }
}

/// Pending events, earliest first.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Entry>,
    sequence: u64,
}

impl EventQueue {
    /// An empty queue with room for `capacity` events.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            sequence: 0,
        }
    }

    /// Schedules `event` at `time`; among equal times, earlier calls come out first.
    pub(crate) fn push(&mut self, time: SimTime, event: Event) {
        self.heap.push(Entry {
            time,
            sequence: self.sequence,
            event,
        });
        self.sequence += 1;
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(SimTime, Event)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// Number of pending events.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
