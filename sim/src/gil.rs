//! CPython's global interpreter lock as CPython 3.11 implements it (`Python/ceval_gil.c`:
//! `take_gil`, `drop_gil`, with `FORCE_SWITCHING`; read in the 3.12 source, whose two functions
//! differ from 3.11's only in how they reach the interpreter state), as a pure state machine:
//! it says who holds the lock, who to wake and when a waiter's timed wait ends; the kernel layer
//! runs the threads.
//!
//! ```text
//!  take_gil: free? ──yes──▶ hold it (switch_number += 1 if the holder changed;
//!     │                      wake a dropper waiting for the switch)
//!     no
//!     ▼
//!  timed wait of `interval` on the condition ──signalled──▶ free? again
//!     │ timed out, still held, and no switch meanwhile
//!     ▼
//!  set gil_drop_request ──▶ the holder drops at its next eval-breaker check ──▶ drop_gil:
//!     signal one waiter; if a drop was requested, wait until another thread has taken it
//! ```
//!
//! Why the convoy: a thread back from I/O has to win the lock back. With a CPU-bound thread
//! holding it, it waits a whole switch interval (5 ms by default) before it may even ask for
//! it, so every short I/O costs the I/O thread about one interval.
//!
//! Modelling choices: the holder notices a drop request at its next eval-breaker check, which
//! in a CPU-bound loop comes within a few bytecodes; the kernel layer decides how soon that is
//! (zero, or a small delay). A signalled waiter is the longest waiting one (glibc wakes
//! condition waiters roughly in order); it still has to be scheduled by the kernel, and any
//! thread that asks first while the lock is free takes it (there is no hand-over).
//!
//! The thread-per-request model (`model::thread_per_request`) drives it for `gil = true`.

use std::collections::VecDeque;

use crate::time::SimTime;

/// An OS thread, as the kernel layer numbers them.
pub(crate) type Id = u32;

/// CPython's default switch interval (`sys.getswitchinterval()`, `DEFAULT_INTERVAL` µs); the
/// scenario reader has its own copy (`gil_switch_interval`'s default).
#[cfg(test)]
pub(crate) const DEFAULT_SWITCH_INTERVAL: u64 = 5_000_000;

/// Why a thread is (again) in `take_gil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Attempt {
    /// It wants the lock (after I/O, after a forced drop, or at start).
    Fresh,
    /// Its timed wait ran out (the kernel woke it at the `until` [`Take::Wait`] gave).
    TimedOut,
    /// A releasing thread signalled it (see [`Dropped::signal`]).
    Signalled,
}

/// The outcome of `take_gil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// The thread holds the lock. `released`: a thread that dropped it on request and was
    /// waiting for this switch may go on (wake it).
    Got {
        /// The dropper to wake, if any.
        released: Option<Id>,
    },
    /// The thread waits on the condition until `until` (schedule a timeout) or a signal.
    Wait {
        /// When its timed wait runs out.
        until: SimTime,
        /// It has just set the drop request: the holder should drop at its next check.
        requested: bool,
    },
}

/// The outcome of `drop_gil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// A waiter to wake (it retries with [`Attempt::Signalled`]; cancel its timeout).
    pub(crate) signal: Option<Id>,
    /// The dropper was asked to drop, so it blocks until another thread has taken the lock
    /// (`FORCE_SWITCHING`); [`Take::Got::released`] names it when that happens.
    pub(crate) wait_for_switch: bool,
}

#[derive(Debug, Clone, Copy)]
struct Waiter {
    id: Id,
    /// `switch_number` when its current timed wait began.
    saved_switch: u64,
    signalled: bool,
}

/// One interpreter's lock.
#[derive(Debug)]
pub(crate) struct Gil {
    interval: u64,
    holder: Option<Id>,
    last_holder: Option<Id>,
    switch_number: u64,
    drop_request: bool,
    /// Threads in the timed wait, longest waiting first.
    waiters: VecDeque<Waiter>,
    /// A dropper waiting for another thread to take the lock.
    switch_waiter: Option<Id>,
}

impl Gil {
    /// A free lock with the given switch interval in ns (`sys.setswitchinterval`; CPython
    /// waits at least 1 µs).
    pub(crate) fn new(switch_interval: u64) -> Self {
        Gil {
            interval: switch_interval.max(1_000),
            holder: None,
            last_holder: None,
            switch_number: 0,
            drop_request: false,
            waiters: VecDeque::new(),
            switch_waiter: None,
        }
    }

    /// Who holds the lock.
    pub(crate) fn holder(&self) -> Option<Id> {
        self.holder
    }

    /// Whether the holder has been asked to drop the lock (`gil_drop_request`).
    pub(crate) fn drop_requested(&self) -> bool {
        self.drop_request
    }

    /// `take_gil` for thread `id`, running at `now`.
    pub(crate) fn take(&mut self, id: Id, now: SimTime, attempt: Attempt) -> Take {
        let waiter = self.waiters.iter().position(|w| w.id == id);
        let mut requested = false;
        if let Some(i) = waiter
            && attempt == Attempt::TimedOut
            && self.holder.is_some()
            && self.switch_number == self.waiters[i].saved_switch
        {
            requested = !self.drop_request;
            self.drop_request = true;
        }
        if self.holder.is_none() {
            if let Some(i) = waiter {
                self.waiters.remove(i);
            }
            return Take::Got {
                released: self.acquire(id),
            };
        }
        // Still held: (re)start the timed wait from the current switch number.
        let w = Waiter {
            id,
            saved_switch: self.switch_number,
            signalled: false,
        };
        match waiter {
            Some(i) => self.waiters[i] = w,
            None => self.waiters.push_back(w),
        }
        Take::Wait {
            until: now + self.interval,
            requested,
        }
    }

    fn acquire(&mut self, id: Id) -> Option<Id> {
        self.holder = Some(id);
        if self.last_holder != Some(id) {
            self.last_holder = Some(id);
            self.switch_number += 1;
        }
        self.drop_request = false;
        self.switch_waiter.take()
    }

    /// `drop_gil` by the holder `id`: for I/O, at the end of its work, or because a drop was
    /// requested.
    pub(crate) fn drop(&mut self, id: Id) -> Dropped {
        debug_assert_eq!(
            self.holder,
            Some(id),
            "drop by a thread that does not hold the GIL"
        );
        self.holder = None;
        self.last_holder = Some(id);
        let signal = self.waiters.iter_mut().find(|w| !w.signalled).map(|w| {
            w.signalled = true;
            w.id
        });
        let wait_for_switch = self.drop_request;
        if wait_for_switch {
            // The dropper clears the request itself before it waits for the switch.
            self.drop_request = false;
            self.switch_waiter = Some(id);
        }
        Dropped {
            signal,
            wait_for_switch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_lock_is_taken_at_once_and_a_held_one_makes_the_caller_wait_an_interval() {
        let mut g = Gil::new(DEFAULT_SWITCH_INTERVAL);
        assert_eq!(
            g.take(1, SimTime(0), Attempt::Fresh),
            Take::Got { released: None }
        );
        assert_eq!(
            g.take(2, SimTime(10), Attempt::Fresh),
            Take::Wait {
                until: SimTime(5_000_010),
                requested: false
            }
        );
        // The wait runs out with no switch meanwhile: the drop request goes up.
        assert_eq!(
            g.take(2, SimTime(5_000_010), Attempt::TimedOut),
            Take::Wait {
                until: SimTime(10_000_010),
                requested: true
            }
        );
        assert!(g.drop_requested());
        // The holder drops and waits for the switch; the waiter is signalled, takes it and
        // releases the dropper.
        assert_eq!(
            g.drop(1),
            Dropped {
                signal: Some(2),
                wait_for_switch: true
            }
        );
        assert_eq!(
            g.take(2, SimTime(5_000_020), Attempt::Signalled),
            Take::Got { released: Some(1) }
        );
        assert!(!g.drop_requested());
    }

    #[test]
    fn a_timed_out_waiter_does_not_ask_again_after_a_switch() {
        let mut g = Gil::new(1_000_000);
        g.take(1, SimTime(0), Attempt::Fresh);
        g.take(2, SimTime(0), Attempt::Fresh);
        g.take(3, SimTime(0), Attempt::Fresh);
        // Thread 1 drops for I/O; 2 is signalled and takes it: a switch.
        assert_eq!(g.drop(1).signal, Some(2));
        g.take(2, SimTime(10), Attempt::Signalled);
        // 3's wait, begun before the switch, runs out: no request, a new full wait.
        assert_eq!(
            g.take(3, SimTime(1_000_000), Attempt::TimedOut),
            Take::Wait {
                until: SimTime(2_000_000),
                requested: false
            }
        );
        assert!(!g.drop_requested());
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        /// The thread runs `take_gil` with this attempt.
        Run(Id, Attempt),
        Timeout(Id, u64),
        WorkDone,
        IoDone,
    }

    /// Two threads, each on its own core, woken by the kernel at once: only the GIL delays
    /// anyone. Events come out by (time, order of scheduling).
    struct Driver {
        gil: Gil,
        events: Vec<(SimTime, u64, Ev)>,
        seq: u64,
        wait_gen: [u64; 2],
    }

    const CPU: Id = 0;
    const IO: Id = 1;

    impl Driver {
        fn push(&mut self, t: SimTime, e: Ev) {
            self.seq += 1;
            self.events.push((t, self.seq, e));
        }

        fn pop(&mut self) -> (SimTime, Ev) {
            let k = (0..self.events.len())
                .min_by_key(|&k| (self.events[k].0, self.events[k].1))
                .expect("the run never stalls");
            let (t, _, e) = self.events.swap_remove(k);
            (t, e)
        }

        /// `who` drops the lock at `now`; returns whether it waits for the switch.
        fn drop(&mut self, who: Id, now: SimTime) -> bool {
            let d = self.gil.drop(who);
            if let Some(s) = d.signal {
                self.wait_gen[s as usize] += 1;
                self.push(now, Ev::Run(s, Attempt::Signalled));
            }
            d.wait_for_switch
        }
    }

    /// Per-operation latency (ns) of a thread that does `io` of I/O then `work` of Python
    /// under the GIL, for `ops` operations, beside a CPU-bound thread if `cpu_thread`: from
    /// the end of its I/O to the end of its work.
    fn io_thread_latency(
        interval: u64,
        io: u64,
        work: u64,
        ops: usize,
        cpu_thread: bool,
    ) -> Vec<u64> {
        let mut d = Driver {
            gil: Gil::new(interval),
            events: Vec::new(),
            seq: 0,
            wait_gen: [0; 2],
        };
        if cpu_thread {
            d.push(SimTime::ZERO, Ev::Run(CPU, Attempt::Fresh));
        }
        d.push(SimTime(1), Ev::IoDone);
        let mut asked_at = SimTime::ZERO;
        let mut latencies = Vec::new();
        while latencies.len() < ops {
            let (now, ev) = d.pop();
            match ev {
                Ev::Run(id, attempt) => match d.gil.take(id, now, attempt) {
                    Take::Got { released } => {
                        if let Some(r) = released {
                            d.push(now, Ev::Run(r, Attempt::Fresh));
                        }
                        if id == IO {
                            d.push(now + work, Ev::WorkDone);
                        }
                    }
                    Take::Wait { until, requested } => {
                        d.wait_gen[id as usize] += 1;
                        let generation = d.wait_gen[id as usize];
                        d.push(until, Ev::Timeout(id, generation));
                        // The CPU-bound holder sees the request at its next check (at once)
                        // and, unless it must wait for the switch, asks for the lock again.
                        if requested && d.gil.holder() == Some(CPU) && !d.drop(CPU, now) {
                            d.push(now, Ev::Run(CPU, Attempt::Fresh));
                        }
                    }
                },
                Ev::Timeout(id, generation) => {
                    if d.wait_gen[id as usize] == generation {
                        d.push(now, Ev::Run(id, Attempt::TimedOut));
                    }
                }
                Ev::WorkDone => {
                    latencies.push(now - asked_at);
                    d.drop(IO, now);
                    d.push(now + io, Ev::IoDone);
                }
                Ev::IoDone => {
                    asked_at = now;
                    d.push(now, Ev::Run(IO, Attempt::Fresh));
                }
            }
        }
        latencies
    }

    #[test]
    fn an_io_thread_beside_a_cpu_bound_one_waits_a_switch_interval_per_operation() {
        let (io, work) = (100_000, 20_000);
        let alone = io_thread_latency(DEFAULT_SWITCH_INTERVAL, io, work, 50, false);
        assert!(alone.iter().all(|&l| l == work), "alone: {alone:?}");
        for interval in [DEFAULT_SWITCH_INTERVAL, 1_000_000] {
            let convoy = io_thread_latency(interval, io, work, 50, true);
            // Each operation: wait out the interval, then the work.
            assert!(
                convoy.iter().skip(1).all(|&l| l == interval + work),
                "interval {interval}: {convoy:?}"
            );
        }
    }

    #[test]
    fn two_cpu_bound_threads_take_turns_of_one_switch_interval() {
        // Both always want the lock; each on its own core, woken at once. The holder drops at
        // the request (its next check) and waits for the switch; the other takes over.
        let interval = 5_000_000;
        let mut d = Driver {
            gil: Gil::new(interval),
            events: Vec::new(),
            seq: 0,
            wait_gen: [0; 2],
        };
        d.push(SimTime::ZERO, Ev::Run(0, Attempt::Fresh));
        d.push(SimTime(1), Ev::Run(1, Attempt::Fresh));
        let mut handovers = Vec::new();
        while handovers.len() < 20 {
            let (now, ev) = d.pop();
            match ev {
                Ev::Run(id, attempt) => match d.gil.take(id, now, attempt) {
                    Take::Got { released } => {
                        handovers.push((now, id));
                        if let Some(r) = released {
                            d.push(now, Ev::Run(r, Attempt::Fresh));
                        }
                    }
                    Take::Wait { until, requested } => {
                        d.wait_gen[id as usize] += 1;
                        let generation = d.wait_gen[id as usize];
                        d.push(until, Ev::Timeout(id, generation));
                        if requested {
                            let holder = d.gil.holder().expect("a request means a holder");
                            assert!(d.drop(holder, now), "a requested drop waits for the switch");
                        }
                    }
                },
                Ev::Timeout(id, generation) => {
                    if d.wait_gen[id as usize] == generation {
                        d.push(now, Ev::Run(id, Attempt::TimedOut));
                    }
                }
                Ev::WorkDone | Ev::IoDone => unreachable!("no I/O thread here"),
            }
        }
        // After the first, each holder keeps the lock exactly one interval, turn and turn about.
        for pair in handovers[1..].windows(2) {
            assert_eq!(pair[1].0 - pair[0].0, interval, "{handovers:?}");
            assert_ne!(pair[1].1, pair[0].1);
        }
    }
}
