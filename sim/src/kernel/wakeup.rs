//! What a blocked thread pays for being woken by an interrupt: onto a core that halted
//! (`wakeup_cpu`), and at the end of its I/O wait onto a busy core (`timer_wakeup_cpu`).
//!
//! Onto a core that halted (`wakeup_cpu`): the sleeping system call's wake-up and return path (the packet's or timer's
//! softirq, `try_to_wake_up`, the return to user space), beyond the same-core context switch
//! `thread_switch` prices, and running on after the halt (on a VM the vCPU left the host's
//! processor; what ran there meanwhile is not ours).
//!
//! It is charged to the woken thread's burst as overhead, so it is switching time in the CPU
//! split, whenever the waker is [`Waker::Outside`] (the network, a timer, an I/O completion)
//! or [`Waker::Handoff`] (the acceptor the simulation does not run, itself woken by the
//! network) *and* the thread lands on a core that idled for some time. A thread woken onto a
//! busy core's queue (an EEVDF delayed sleeper too), or onto a core that was handed it the
//! instant it ran out of work, pays nothing here: on the machine the halt, not the block, is
//! what costs. Measured 2026-12-07 on the 2-vCPU EPYC guest: a testbed server answering a
//! spinning client blocks for every request but its core halts for 0.1–0.2 of them, and its
//! CPU per request is within 1.5 µs of the same server at ten connections, where it never
//! blocks; a C server whose client waits 5-100 µs before each request halts every time and
//! pays 6-10 µs more per request. A thread on a core waking another ([`Waker::Core`]) pays
//! nothing here either: that is the measured `thread_switch`. A thread's first run is not a
//! wake-up: a new thread did not sleep, and `spawn_thread_cpu` prices its start. Zero unless a
//! costs file sets it.
//!
//! `calibrate` measures it with a client that spins (so the server's answer never has to wake
//! the client's core, which costs the sender 6-8 µs more here: `peer_wakeup_cpu_ns` in its
//! detail, a loopback artefact `sim` does not model) and waits 20 µs before each request, so
//! the server's core halts every time.
//!
//! Known gaps:
//! - a wake-up by a thread on *another* core (a worker waking a worker, an offload thread)
//!   crosses the hypervisor as a packet's does, and is not charged;
//! - a pool's threads are created before the run and their first request is their first run,
//!   so it goes uncharged although a real pool thread slept for it (once per thread);
//! - both this figure and `idle_wakeup_cpu` hold the thread's own extra CPU after its core's
//!   idle exit, so a thread woken onto a halted core is charged it twice: `idle_wakeup_cpu` is
//!   the core's non-idle time per request from idle less the thread's CPU on a busy core, which
//!   keeps the thread's slower run after the halt (about 3 µs in `calibrate` runs of
//!   2026-12-07: the idle condition's thread CPU less the busy one's). It is core time, so it
//!   lengthens the request but not the testbed's predicted CPU per request, which leaves
//!   `cpu.idle_wakeup` out.
//!
//! Onto a busy core, at the end of an I/O wait (`timer_wakeup_cpu`): a thread that blocked in
//! an `io` step ([`Waker::Io`]) and lands on a core running something else, in a run queue
//! or where EEVDF kept it delayed, pays the core time of that wait's end beyond the context
//! switches the kernel layer counts: the timed sleep's system call and timer, the interrupt
//! (on a VM, an exit to the hypervisor and an injected interrupt) and the wake-up. Onto a
//! halted core that is in the idle costs and `wakeup_cpu`; onto a core idle for no time it is
//! in the idle costs (measured with a timer too). A request's arrival (`Waker::Outside`,
//! `Waker::Handoff`) pays nothing here: on loopback the sender's core runs the packet's
//! softirq and the wake-up. Zero unless a costs file sets it.
//!
//! `calibrate` measures it with 100 threads on one core, each looping over 20 µs of work and a
//! 1 ms sleep, against the same threads yielding instead (`micro/src/timer.rs`): 7.1–7.8 µs in
//! three trial runs on the 2-vCPU EPYC guest (2026-12-07, 16:00; `calibrate` read 7.6, 7.3 and
//! 5.1 µs at 16:02, 16:17 and 17:00, the last with more timers merged per interrupt), with one switch per iteration
//! either way and 0.45 timer interrupts per sleep (the default timer slack merges some). The
//! testbed measured why it matters: thread servers sleeping 10 ms per request spent 13–30 µs
//! more per request than `sim` charged (`testbed/results/2026-12-07T1352-epyc-2c.md`).
//!
//! Per interrupt (`timer_interrupt_cpu`, which `calibrate` writes instead since 2026-12-08):
//! the same probe's cost over the timer interrupts each sleep added. Those three runs read
//! 17.3, 16.6 and 18.2 µs per interrupt (0.44, 0.44 and 0.28 interrupts per sleep): on a VM
//! the cost is the interrupt's, and sleeps that share one share it. How many a server takes
//! depends on how its sleeps fall: at 1,000 connections with 10 ms sleeps, 0.65 per request
//! for a thread per connection, 0.2 for may (its timer thread batches) and 0.01 for tokio
//! (2026-12-07, about 23:50 UTC). [`Timers`] counts them with the timer slack and charges each
//! once, to the woken thread that lands on a busy core.
//!
//! Known gaps: an `io` step does not say whether a timer or a device ends it, and both are
//! priced with the timer's figure; the interrupt lands on the core the thread last ran on, but
//! the charge goes where the thread runs.
//!
use super::{Burst, Kernel, Waker};
use crate::event::{CoreId, ThreadId};
use crate::time::SimTime;

/// Linux's default timer slack for a normal thread (`init_task.timer_slack_ns`, 50 µs). A
/// timed sleep or futex wait may end up to this long after its expiry: the hrtimer code
/// programs the core's next interrupt for the earliest expiry plus its slack, and the interrupt
/// runs every timer whose expiry has passed by then (`__hrtimer_run_queues`). So expiries
/// within one slack of the first share its interrupt.
pub(crate) const TIMER_SLACK: u64 = 50_000;

/// The timer interrupts that end I/O waits ([`Waker::Io`]), per core, and their prices.
///
/// Each expiry is taken to arm its timer on the core its thread last ran on. An expiry at or
/// before the end of that core's current window (the last interrupt's first expiry plus
/// [`TIMER_SLACK`]) shares the interrupt; a later one opens a new window and counts a new
/// interrupt. The simulated wake-up still happens at the expiry itself, not at the window's
/// end (at most 50 µs earlier than on the machine). Other interrupts that would also run due
/// timers (the tick, a packet's) are not merged with.
#[derive(Debug, Clone)]
pub(crate) struct Timers {
    /// Charged per I/O wait's end onto a busy core (`timer_wakeup_cpu`).
    per_wakeup: u64,
    /// Charged per new interrupt whose wake-up lands on a busy core (`timer_interrupt_cpu`).
    per_interrupt: u64,
    /// Per core: the end of its current interrupt's window.
    window_end: Vec<SimTime>,
    /// The interrupt price the last wake-up's timer took (0 when it shared a window, or the
    /// wake-up was not a timer's).
    last_charge: u64,
    /// Timer interrupts so far, every core.
    pub(crate) interrupts: u64,
}

impl Timers {
    pub(super) fn new(cores: usize) -> Self {
        Timers {
            per_wakeup: 0,
            per_interrupt: 0,
            window_end: vec![SimTime::ZERO; cores],
            last_charge: 0,
            interrupts: 0,
        }
    }

    /// A timer armed on `core` expires at `now`: `true` when that takes an interrupt of its
    /// own, `false` when it shares the window's.
    pub(super) fn expire(&mut self, core: CoreId, now: SimTime) -> bool {
        let end = &mut self.window_end[core as usize];
        // A window's end is never zero (it is an expiry plus the slack): zero is no window.
        if *end > SimTime::ZERO && now <= *end {
            return false;
        }
        *end = now + TIMER_SLACK;
        self.interrupts += 1;
        true
    }
}

impl Kernel {
    /// Sets the CPU a thread woken by an interrupt pays before its burst (`wakeup_cpu`, ns).
    pub(crate) fn with_wakeup_cpu(mut self, cpu: u64) -> Self {
        self.wakeup_cpu = cpu;
        self
    }

    /// Sets what an I/O wait's end costs a thread woken onto a busy core: per wake-up
    /// (`timer_wakeup_cpu`, ns) and per timer interrupt (`timer_interrupt_cpu`, ns).
    pub(crate) fn with_timer_costs(mut self, per_wakeup: u64, per_interrupt: u64) -> Self {
        self.timers.per_wakeup = per_wakeup;
        self.timers.per_interrupt = per_interrupt;
        self
    }

    /// `burst` as `thread`, woken by `by` at `now`, runs it when it lands on a busy core: when
    /// `by` is the end of its I/O wait and the thread has run before, with `timer_wakeup_cpu`
    /// added to its overhead, and `timer_interrupt_cpu` too when its timer's interrupt is a new
    /// one on the core it slept on (see [`Timers`]).
    pub(super) fn busy_woken_burst(
        &mut self,
        now: SimTime,
        thread: ThreadId,
        burst: Burst,
        by: Waker,
        has_run: bool,
    ) -> Burst {
        self.timers.last_charge = 0;
        match by {
            Waker::Io if has_run => {
                let core = self.threads[thread as usize].last_core;
                if self.timers.expire(core, now) {
                    self.timers.last_charge = self.timers.per_interrupt;
                }
                Burst {
                    overhead: burst.overhead + self.timers.per_wakeup + self.timers.last_charge,
                    ..burst
                }
            }
            _ => burst,
        }
    }

    /// `burst` as the thread woken by `by` runs it when it lands on an idle core (one that
    /// `halted`, or not): [`Kernel::woken_burst`]'s when the core halted, else as it is. When
    /// the thread `moved` off its last core, that core was busy (an idle one would have taken
    /// it), and the timer's interrupt, taken there, stays charged, to the woken thread (the
    /// right amount, on the wrong core).
    pub(super) fn idle_landing_burst(
        &self,
        burst: Burst,
        by: Waker,
        has_run: bool,
        halted: bool,
        moved: bool,
    ) -> Burst {
        let landed = if halted {
            self.woken_burst(burst, by, has_run)
        } else {
            burst
        };
        if moved {
            Burst {
                overhead: landed.overhead + self.timers.last_charge,
                ..landed
            }
        } else {
            landed
        }
    }

    /// `burst` as the thread woken by `by` runs it: with `wakeup_cpu` added to its overhead
    /// when `by` is an interrupt and the thread has run before (see the module docs). The
    /// caller asks only for a thread landing on a core that halted.
    pub(super) fn woken_burst(&self, burst: Burst, by: Waker, has_run: bool) -> Burst {
        match by {
            Waker::Outside | Waker::Io | Waker::Handoff if has_run => Burst {
                overhead: burst.overhead + self.wakeup_cpu,
                ..burst
            },
            _ => burst,
        }
    }
}
