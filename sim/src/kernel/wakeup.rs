//! What a blocked thread pays for being woken by an interrupt (`wakeup_cpu`): the sleeping
//! system call's wake-up and return path (the packet's or timer's softirq, `try_to_wake_up`,
//! the return to user space), beyond the same-core context switch `thread_switch` prices.
//!
//! It is charged to the woken thread's burst as overhead, so it is switching time in the CPU
//! split, whenever the waker is [`Waker::Outside`] (the network, a timer, an I/O completion)
//! or [`Waker::Handoff`] (the acceptor the simulation does not run, itself woken by the
//! network). A thread on a core waking another ([`Waker::Core`]) pays nothing here: `calibrate`
//! measures a wake-up by a loopback packet against the same requests already queued, while a
//! wake-up between two threads of the machine is the measured `thread_switch`. A thread's first
//! run is not a wake-up: a new thread did not sleep, and `spawn_thread_cpu` prices its start.
//! Zero unless a costs file sets it.
//!
//! Known gaps, each small against the measured figure's own spread (13–20 µs here within an
//! hour):
//! - a wake-up by a thread on *another* core (a worker waking a worker, an offload thread)
//!   crosses the hypervisor as a packet's does, and is not charged;
//! - a pool's threads are created before the run and their first request is their first run,
//!   so it goes uncharged although a real pool thread slept for it (once per thread);
//! - the figure is measured with the woken thread's core idling, so it holds the thread's own
//!   extra CPU after an idle exit (about 4 µs here), which `idle_wakeup_cpu` holds too: a
//!   thread woken onto an idle core is charged it twice.

use super::{Burst, Kernel, Waker};

impl Kernel {
    /// Sets the CPU a thread woken by an interrupt pays before its burst (`wakeup_cpu`, ns).
    pub(crate) fn with_wakeup_cpu(mut self, cpu: u64) -> Self {
        self.wakeup_cpu = cpu;
        self
    }

    /// `burst` as the thread woken by `by` runs it: with `wakeup_cpu` added to its overhead
    /// when `by` is an interrupt and the thread has run before (see the module docs).
    pub(super) fn woken_burst(&self, burst: Burst, by: Waker, has_run: bool) -> Burst {
        match by {
            Waker::Outside | Waker::Handoff if has_run => Burst {
                overhead: burst.overhead + self.wakeup_cpu,
                ..burst
            },
            _ => burst,
        }
    }
}
