//! Per-core run-queue policies: which runnable OS thread a core runs next, when the running one's
//! slice ends, and whether a thread woken onto the core preempts the one running there.
//!
//! ```text
//!   wake(thread, waking core) ──▶ enqueue ──▶ ┌──────────── RunQueue (one per core) ───────────┐
//!   new thread ────────────────▶ enqueue ──▶ │ Eevdf: eligible + earliest virtual deadline    │ ──▶ pick ──▶ core
//!                                             │ Cfs:   smallest vruntime (Linux before 6.6)    │
//!   tick / slice end ──▶ tick() ─▶ resched? ─▶│ RoundRobin: FIFO with a fixed quantum          │
//!   running thread blocks ──▶ block() ──▶ Sleeper (lag kept across the sleep)  ◀──────────────┘
//! ```
//!
//! The policies are pure: they hold no events and touch no core. The kernel layer asks them
//! questions and does the switching itself (see the integration notes on [`RunQueue`]). Time is
//! integer nanoseconds; virtual time is nanoseconds scaled by `NICE_0_WEIGHT / weight`.
//!
//! Sources, read for this model (Linux 6.18's `kernel/sched/fair.c`, and 5.15 for the CFS rules
//! that EEVDF replaced in 6.6):
//! - `get_update_sysctl_factor`: the slice tunables scale by `1 + ilog2(min(ncpus, 8))`
//!   (`SCHED_TUNABLESCALING_LOG`), so past 8 CPUs they stop growing. [`KernelParams::factor`].
//! - `sched_tick` → `task_tick_fair` → `entity_tick` → `update_curr` → `update_deadline`: the
//!   running entity is only told to give up the core when its virtual deadline has passed at
//!   one of these accounting points, so without HRTICK a slice ends on the tick (every 4 ms at
//!   `HZ = 250`) even though the base slice is 0.75 ms × factor. With HRTICK,
//!   `hrtick_start_fair` arms a timer for the rest of the slice. [`KernelParams::round`].
//! - The tick granularity is also why the measured two-hog switch rate on this machine is 252/s.
//! - `preempt none/voluntary/full` only decides when a resched set while the running thread is
//!   *in the kernel* takes effect; a thread in user mode is preempted on the return from the
//!   interrupt (the tick, or the IPI a remote wake-up sends) in every mode. [`Preempt`].

pub(crate) mod cfs;
pub(crate) mod eevdf;
#[cfg(test)]
mod harness;
mod index;
pub(crate) mod rr;
mod tree;

use crate::time::SimTime;

/// An OS thread, as the kernel layer numbers them.
pub(crate) type Id = u32;

/// The weight of a nice-0 thread (`NICE_0_LOAD` scaled down): virtual time runs at real speed
/// for it.
pub(crate) const NICE_0_WEIGHT: u64 = 1024;

/// The fair scheduler's tunables at factor 1 (Linux's `normalized_sysctl_*`), in ns.
const BASE_SLICE: u64 = 750_000;
const CFS_LATENCY: u64 = 6_000_000;
const CFS_MIN_GRANULARITY: u64 = 750_000;
const CFS_WAKEUP_GRANULARITY: u64 = 1_000_000;

/// Which run-queue policy the kernel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Linux ≥ 6.6: earliest eligible virtual deadline first.
    Eevdf,
    /// Linux < 6.6: completely fair scheduler (smallest vruntime, target latency).
    Cfs,
    /// A fixed quantum, first in first out (the closed-form tests' processor sharing).
    RoundRobin {
        /// Slice length in ns.
        quantum: u64,
    },
}

/// The kernel's preemption model (`CONFIG_PREEMPT_*`, or `preempt=` with `PREEMPT_DYNAMIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preempt {
    /// No preemption inside the kernel; a resched waits for the return to user space.
    None,
    /// Preemption at the kernel's explicit `cond_resched`/`might_sleep` points only.
    Voluntary,
    /// The kernel is preemptible wherever it does not hold a lock.
    Full,
}

/// Where the running thread is when a resched is requested on its core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only the tests ask: the kernel layer (`kernel.rs`, module docs) switches at the waker's
// return in every mode, its system calls taking no simulated time.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Context {
    /// Running user code: the interrupt or IPI that carries the resched returns to user space
    /// through `schedule()`.
    User,
    /// Inside a system call, e.g. the waker in the middle of the `write`/`futex_wake` that woke
    /// the thread now asking to preempt it.
    Kernel,
}

/// When a resched request on a core takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only the tests ask: the kernel layer (`kernel.rs`, module docs) switches at the waker's
// return in every mode, its system calls taking no simulated time.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum ReschedAt {
    /// At once (the interrupt returns through `schedule()`).
    Now,
    /// When the running thread leaves the kernel: in the simulator, when it has taken its
    /// current decision (the system call that woke someone is over) and before it computes
    /// anything more. If that decision is to block, there is nothing left to preempt.
    ReturnToUser,
}

impl Preempt {
    /// When a resched requested now takes effect on a core whose thread is in `context`.
    ///
    /// In user mode every model switches on the interrupt's return. In the kernel, `none`
    /// waits for the return to user space; `voluntary` adds `cond_resched` points, which the
    /// short system calls that wake threads (a pipe write, a futex wake, a socket send) do not
    /// reach, so it waits too; `full` preempts at the interrupt's return even in the kernel.
    // Only the tests ask: the kernel layer (`kernel.rs`, module docs) switches at the waker's
    // return in every mode, its system calls taking no simulated time.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn resched_at(self, context: Context) -> ReschedAt {
        match (self, context) {
            (_, Context::User) | (Preempt::Full, Context::Kernel) => ReschedAt::Now,
            (Preempt::None | Preempt::Voluntary, Context::Kernel) => ReschedAt::ReturnToUser,
        }
    }
}

/// The kernel's scheduling parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelParams {
    /// The run-queue policy.
    pub(crate) scheduler: Policy,
    /// Timer interrupts per second (`CONFIG_HZ`).
    pub(crate) hz: u32,
    /// The preemption model.
    pub(crate) preempt: Preempt,
    /// The fair class's high-resolution tick (`sched_feat HRTICK`): slices end exactly instead
    /// of at the next tick.
    pub(crate) hrtick: bool,
    /// Online CPUs (scales the slice tunables, capped at 8).
    pub(crate) cores: u64,
}

impl Default for KernelParams {
    /// The committed reference machine: Linux 6.18 (EEVDF), `HZ = 250`, preemption none,
    /// HRTICK off.
    fn default() -> Self {
        KernelParams {
            scheduler: Policy::Eevdf,
            hz: 250,
            preempt: Preempt::None,
            hrtick: false,
            cores: 1,
        }
    }
}

impl KernelParams {
    /// `1 + ilog2(min(cores, 8))`: Linux's `SCHED_TUNABLESCALING_LOG` factor. One core gives 1,
    /// two give 2, eight and more give 4.
    pub(crate) fn factor(&self) -> u64 {
        1 + u64::from(self.cores.clamp(1, 8).ilog2())
    }

    /// The tick period in ns (`TICK_NSEC`).
    pub(crate) fn tick_ns(&self) -> u64 {
        1_000_000_000 / u64::from(self.hz.max(1))
    }

    /// EEVDF's request size: `sysctl_sched_base_slice` (0.75 ms × factor).
    pub(crate) fn base_slice(&self) -> u64 {
        BASE_SLICE * self.factor()
    }

    /// CFS's `sysctl_sched_latency` (6 ms × factor).
    pub(crate) fn cfs_latency(&self) -> u64 {
        CFS_LATENCY * self.factor()
    }

    /// CFS's `sysctl_sched_min_granularity` (0.75 ms × factor).
    pub(crate) fn cfs_min_granularity(&self) -> u64 {
        CFS_MIN_GRANULARITY * self.factor()
    }

    /// CFS's `sysctl_sched_wakeup_granularity` (1 ms × factor).
    pub(crate) fn cfs_wakeup_granularity(&self) -> u64 {
        CFS_WAKEUP_GRANULARITY * self.factor()
    }

    /// The clock that decides when a slice that is due at `t` actually ends.
    pub(crate) fn clock(&self) -> Clock {
        Clock {
            tick_ns: self.tick_ns(),
            hrtick: self.hrtick,
        }
    }

    /// A fresh run queue for core `core` under this policy.
    pub(crate) fn run_queue(&self, core: u32) -> Box<dyn RunQueue> {
        match self.scheduler {
            Policy::Eevdf => Box::new(eevdf::Eevdf::new(core, self)),
            Policy::Cfs => Box::new(cfs::Cfs::new(core, self)),
            Policy::RoundRobin { quantum } => Box::new(rr::RoundRobin::new(quantum)),
        }
    }
}

/// When the scheduler looks at the running thread: on every tick, or (HRTICK) exactly when its
/// slice is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clock {
    /// The tick period in ns.
    pub(crate) tick_ns: u64,
    /// High-resolution tick on.
    pub(crate) hrtick: bool,
}

impl Clock {
    /// The first tick at or after `t`. Ticks fall on multiples of the period on every core
    /// (Linux aligns them unless `skew_tick=1`).
    pub(crate) fn tick_at_or_after(&self, t: SimTime) -> SimTime {
        SimTime(t.ns().div_ceil(self.tick_ns).saturating_mul(self.tick_ns))
    }

    /// When something due at `t` is noticed: at `t` with HRTICK, else at the next tick.
    pub(crate) fn round(&self, t: SimTime) -> SimTime {
        if self.hrtick {
            t
        } else {
            self.tick_at_or_after(t)
        }
    }
}

/// How a thread enters a run queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueue {
    /// Just created (`ENQUEUE_INITIAL`): EEVDF gives it half a slice to its first deadline,
    /// CFS starts it a slice behind (`START_DEBIT`).
    New,
    /// Woken from a sleep, or moved here from another core: it keeps what it carried out of
    /// its last queue ([`Sleeper`]).
    Wakeup,
}

/// What a thread carries from one run queue to the next across a sleep or a migration: the
/// fairness state Linux keeps in its `sched_entity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sleeper {
    /// Load weight (1024 for nice 0).
    pub(crate) weight: u64,
    /// EEVDF: the virtual lag `V − v` at dequeue (positive: owed service). CFS: vruntime
    /// relative to the queue's `min_vruntime` at dequeue.
    pub(crate) vlag: i64,
    /// CFS: the queue's `min_vruntime` at dequeue, so that a thread waking on the same queue
    /// gets its absolute vruntime back (Linux normalizes only on migration).
    pub(crate) anchor: i64,
    /// The core whose queue it left, or `u32::MAX` for a new thread.
    pub(crate) queue: u32,
}

impl Sleeper {
    /// A thread that has never run: nice 0, no lag.
    pub(crate) const NEW: Sleeper = Sleeper {
        weight: NICE_0_WEIGHT,
        vlag: 0,
        anchor: 0,
        queue: u32::MAX,
    };
}

/// What became of the running thread that blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// It left the queue; keep this for its wake-up.
    Left(Sleeper),
    /// EEVDF's `DELAY_DEQUEUE`: it owed service (negative lag), so it stays on the queue,
    /// unpickable, until it has paid that back. Wake it with [`RunQueue::requeue`] on this
    /// queue (Linux wakes a thread that is still queued where it is, `ttwu_runnable`).
    Delayed,
}

/// One core's run queue under a policy.
///
/// The kernel layer drives it (integration notes):
/// - a thread becomes runnable on this core: [`enqueue`](RunQueue::enqueue); then, if the core
///   runs someone, [`wakeup_preempts`](RunQueue::wakeup_preempts) says whether to resched it
///   (when that takes effect: [`Preempt::resched_at`]); if the core is idle, `pick`;
/// - the running thread blocks or exits: [`block`](RunQueue::block) (keep the result in the
///   thread), then [`pick`](RunQueue::pick); when a thread that [`Blocked::Delayed`] wakes,
///   [`requeue`](RunQueue::requeue) it on the same queue first;
/// - whenever the running thread or the queue changed, ask [`slice_end`](RunQueue::slice_end)
///   and schedule a slice-end event at that time (cancel the previous one); at that event call
///   [`tick`](RunQueue::tick) and, if it says so, [`pick`](RunQueue::pick);
/// - an idle core steals a queued thread from a busy core with
///   [`detach`](RunQueue::detach) there and `enqueue(.., Enqueue::Wakeup)` here.
pub(crate) trait RunQueue: std::fmt::Debug {
    /// `id` becomes runnable on this queue (it is not running). Accounts the running thread up
    /// to `now` first.
    fn enqueue(&mut self, id: Id, carried: Sleeper, now: SimTime, how: Enqueue);

    /// Chooses who runs from `now`. The previous runner, if it is still runnable (preempted or
    /// its slice over), competes and may be chosen again (then nothing switches). `None` when
    /// nothing is runnable: the core goes idle.
    fn pick(&mut self, now: SimTime) -> Option<Id>;

    /// The running thread blocks at `now`.
    fn block(&mut self, now: SimTime) -> Blocked;

    /// The running thread ends at `now`: it leaves the queue at once, whatever it owes (its
    /// lag would go nowhere, and its id may be reused).
    fn exit(&mut self, now: SimTime) {
        let left = self.block(now);
        debug_assert!(matches!(left, Blocked::Left(_)), "override exit to dequeue");
    }

    /// Wakes a sleeper this queue delayed ([`Blocked::Delayed`]). `Ok`: it was still queued
    /// and is runnable here again, in place (`requeue_delayed_entity`: same vruntime and
    /// deadline while it still owes service); then ask
    /// [`wakeup_preempts`](RunQueue::wakeup_preempts). `Err`: a pick had already dequeued it;
    /// wake it like any sleeper with what it carries (`enqueue`, on any core).
    fn requeue(&mut self, id: Id, now: SimTime) -> Result<(), Sleeper>;

    /// Takes a queued thread that is neither running nor delayed off this queue, for another
    /// core. `None` if `id` is not such a thread here.
    fn detach(&mut self, id: Id, now: SimTime) -> Option<Sleeper>;

    /// A scheduler tick or slice-end timer at `now`: credits the running thread and returns
    /// whether it must give up the core (then call [`pick`](RunQueue::pick)).
    fn tick(&mut self, now: SimTime) -> bool;

    /// When the running thread's slice ends if nothing else happens: the tick (or, with
    /// HRTICK, the instant) at which [`tick`](RunQueue::tick) will return true. `None` when no
    /// other thread is queued here (a lone thread is never descheduled).
    fn slice_end(&self, now: SimTime) -> Option<SimTime>;

    /// Right after `enqueue(woken, ..)`: whether the running thread must be rescheduled
    /// (Linux's `check_preempt_wakeup_fair`, and under EEVDF also `update_curr` finding the
    /// running thread's slice or protection over). The caller then calls
    /// [`pick`](RunQueue::pick), which usually returns `woken` but may keep the running thread.
    /// Accounts the running thread up to `now`.
    fn wakeup_preempts(&mut self, woken: Id, now: SimTime) -> bool;

    /// The thread the core runs, if any.
    // The kernel layer keeps the running thread per core itself; kept for inspection.
    #[allow(dead_code)]
    fn running(&self) -> Option<Id>;

    /// Threads queued here that could run but are not running (delayed sleepers excluded): the
    /// load an idle core would steal from.
    fn waiting(&self) -> usize;

    /// A queued thread to hand to an idle core (the one that would run last here), if any.
    fn steal_candidate(&self) -> Option<Id>;
}

/// `delta × NICE_0_WEIGHT / weight`: real time to virtual time (Linux's `calc_delta_fair`).
pub(crate) fn to_virtual(delta: u64, weight: u64) -> i64 {
    if weight == NICE_0_WEIGHT {
        return delta as i64;
    }
    (u128::from(delta) * u128::from(NICE_0_WEIGHT) / u128::from(weight.max(1))) as i64
}

/// The real time a thread of `weight` needs to advance its vruntime by `dv` (rounded up, so
/// that at the returned instant the vruntime has got there).
pub(crate) fn to_real(dv: i64, weight: u64) -> u64 {
    if dv <= 0 {
        return 0;
    }
    (dv as u128 * u128::from(weight)).div_ceil(u128::from(NICE_0_WEIGHT)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slice_factor_stops_growing_at_eight_cpus() {
        let at = |cores| KernelParams {
            cores,
            ..KernelParams::default()
        };
        assert_eq!(at(1).factor(), 1);
        assert_eq!(at(2).factor(), 2);
        assert_eq!(at(4).factor(), 3);
        assert_eq!(at(8).factor(), 4);
        assert_eq!(at(64).factor(), 4);
        assert_eq!(at(1024).factor(), 4);
        assert_eq!(at(64).base_slice(), 3_000_000);
        assert_eq!(at(2).base_slice(), 1_500_000);
        assert_eq!(at(64).cfs_latency(), 24_000_000);
        assert_eq!(at(64).cfs_wakeup_granularity(), 4_000_000);
    }

    #[test]
    fn slices_end_on_the_tick_unless_hrtick() {
        let mut p = KernelParams::default();
        assert_eq!(p.tick_ns(), 4_000_000);
        assert_eq!(p.clock().round(SimTime(1_500_000)), SimTime(4_000_000));
        assert_eq!(p.clock().round(SimTime(8_000_000)), SimTime(8_000_000));
        p.hrtick = true;
        assert_eq!(p.clock().round(SimTime(1_500_000)), SimTime(1_500_000));
    }

    #[test]
    fn only_a_thread_in_the_kernel_waits_for_its_return_to_user_space() {
        for mode in [Preempt::None, Preempt::Voluntary, Preempt::Full] {
            assert_eq!(mode.resched_at(Context::User), ReschedAt::Now);
        }
        assert_eq!(
            Preempt::None.resched_at(Context::Kernel),
            ReschedAt::ReturnToUser
        );
        assert_eq!(
            Preempt::Voluntary.resched_at(Context::Kernel),
            ReschedAt::ReturnToUser
        );
        assert_eq!(Preempt::Full.resched_at(Context::Kernel), ReschedAt::Now);
    }

    #[test]
    fn virtual_time_scales_by_weight_and_back() {
        assert_eq!(to_virtual(1_000, NICE_0_WEIGHT), 1_000);
        assert_eq!(to_virtual(1_000, 2048), 500);
        assert_eq!(to_real(500, 2048), 1_000);
        assert_eq!(to_real(1, 3121), 4);
        assert_eq!(to_real(-5, 1024), 0);
    }
}
