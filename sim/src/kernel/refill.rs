//! The kernel's side of the cache model (`crate::cache`): a thread that gets a core pays to
//! refill its stack and the data its burst touches, as core time before its burst.

use super::{Kernel, Owner};
use crate::cache::Caches;
use crate::event::CoreId;

impl Kernel {
    /// Prices every burst's return to a core with `caches`; each thread also touches
    /// `stack_working_set` bytes of its own stack per run.
    pub(crate) fn with_caches(mut self, caches: Caches, stack_working_set: u64) -> Self {
        self.caches = Some(caches);
        self.stack_working_set = stack_working_set;
        self
    }

    /// The data `owner` left in the caches will not be asked for again (its request ended).
    pub(crate) fn forget(&mut self, owner: Owner) {
        if let Some(caches) = &mut self.caches {
            caches.forget(owner);
        }
    }

    /// The cache model's price for the running thread's return to `core`: its stack and the
    /// data its burst touches (a thread switched in pays for what the others evicted; a task
    /// moving in on the same thread pays for its data). Time, like a switch's, comes before the
    /// burst's own.
    ///
    /// Once per burst, when it first gets a core: a burst preempted by the end of its slice is
    /// not charged again when it resumes. In reality refilling is interleaved with the work
    /// and progresses; charging the whole refill again at every slice would let a refill
    /// longer than a slice restart forever (two threads of 2 MiB on a 2 MiB L2). So a long
    /// burst time-sliced against others pays less than it would (a known limit).
    pub(super) fn price(&mut self, core: CoreId) {
        let Some(caches) = &mut self.caches else {
            return;
        };
        let thread = self.cores[core as usize].running;
        let now = self.cores[core as usize].start.ns();
        let t = &mut self.threads[thread as usize];
        if t.priced {
            return;
        }
        t.priced = true;
        let mut ns = 0;
        if self.stack_working_set > 0 {
            ns += caches
                .run(
                    Owner::Stack(thread),
                    core as usize,
                    self.stack_working_set,
                    now,
                )
                .ns;
        }
        if let Some(touch) = t.burst.touch {
            ns += caches.run(touch.owner, core as usize, touch.bytes, now).ns;
        }
        t.burst.refill += ns;
    }
}
