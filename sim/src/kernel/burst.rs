//! What a thread asks of a core ([`Burst`]), who woke it ([`Waker`]), and what it does once
//! its burst is done ([`Next`]): the vocabulary between the kernel and a thread's owner (a
//! model or the proxy).

use crate::cache::Touch;
use crate::event::CoreId;

/// Core time a thread needs before its owner decides what it does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Burst {
    /// Switching done in user space (task or coroutine switches), run first.
    pub(crate) overhead: u64,
    /// Useful work (request CPU, spawning).
    pub(crate) work: u64,
    /// The data the work touches (a cpu step's working set), priced by the cache model when
    /// the burst starts on a core.
    pub(crate) touch: Option<Touch>,
    /// Refilling the caches (the kernel sets it from the cache model), run before the overhead.
    pub(crate) refill: u64,
}

impl Burst {
    /// Nothing to compute: the thread only needs a core to take its next decision (issue a
    /// read, hand a result back).
    pub(crate) const ZERO: Burst = Burst {
        overhead: 0,
        work: 0,
        touch: None,
        refill: 0,
    };

    pub(crate) fn work(work: u64) -> Burst {
        Burst {
            work,
            ..Burst::ZERO
        }
    }

    /// All the core time the burst takes: refill, overhead, work.
    #[inline]
    pub(super) fn total(self) -> u64 {
        self.refill + self.overhead + self.work
    }
}

/// Who makes a blocked thread runnable: the thread on a core (it decides to wake another, so
/// the wake-up's origin is that core), or something outside any core (an I/O completion, a
/// timer, the network: the origin is the woken thread's last core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waker {
    /// The thread running on this core.
    Core(CoreId),
    /// No core: an interrupt (the network, a lock or pool released elsewhere).
    Outside,
    /// No core: the end of an I/O wait the thread blocked in (a timer, a device's interrupt).
    /// As [`Waker::Outside`], and onto a busy core it pays `timer_wakeup_cpu`
    /// (`kernel/wakeup.rs`).
    Io,
    /// A thread the simulation does not run (a server's acceptor or listener), woken by the
    /// network, hands work to this one: on a machine of more than one core the hand-off is
    /// taken to cross cores (the acceptor sits wherever its interrupt landed), so a thread
    /// woken onto an idle core starts `thread_wakeup` later; on one core it never crosses.
    Handoff,
}

/// What a thread does once its burst is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep the core and compute this.
    Run(Burst),
    /// Wait (I/O, a lock, nothing to do); the core goes to someone else.
    Block,
    /// The thread ends.
    Exit,
}
