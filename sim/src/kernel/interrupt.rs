//! Cutting a thread's burst short from outside it: a lock holder asked to drop the lock (the
//! GIL's drop request) stops at its next check, not at the end of its work.

use super::{Kernel, State};
use crate::event::ThreadId;
use crate::queue::EventQueue;
use crate::time::SimTime;

impl Kernel {
    /// Cuts the current burst of a running or runnable `thread` short: its remaining work is
    /// dropped (returned, ns), so its owner hears of the burst's end at once if it is on a
    /// core, or as soon as it gets one (a lock holder noticing a drop request at its next
    /// check). Switching and refills already owed are still paid.
    pub(crate) fn interrupt(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        thread: ThreadId,
    ) -> u64 {
        let t = self.threads[thread as usize];
        match t.state {
            State::Running => {
                let core = t.last_core;
                self.account(now, core);
                let left = std::mem::take(&mut self.threads[thread as usize].burst.work);
                self.schedule(queue, core);
                left
            }
            State::Runnable => std::mem::take(&mut self.threads[thread as usize].burst.work),
            State::Blocked | State::Dead => 0,
        }
    }
}
