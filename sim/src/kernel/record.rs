//! What each core ran lately (for a cache model) and when it went idle.

use crate::event::{NONE, ThreadId};
use crate::time::SimTime;

/// How many of the threads a core ran most recently its [`CoreRecord`] keeps.
pub(crate) const RECENT: usize = 4;

/// What a core ran lately, newest first: thread ids and the core time (ns, switching
/// included) each got in its latest stay on the core. A cache model reads it to price a
/// thread's return (is its working set still warm here?).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CoreRecord {
    /// Threads, newest first; NONE where the core ran fewer.
    pub(crate) threads: [ThreadId; RECENT],
    /// Core time of each stay, ns.
    pub(crate) ran_ns: [u64; RECENT],
    /// When the core last went idle (ZERO if never).
    pub(crate) idle_since: SimTime,
}

impl CoreRecord {
    pub(super) const EMPTY: CoreRecord = CoreRecord {
        threads: [NONE; RECENT],
        ran_ns: [0; RECENT],
        idle_since: SimTime::ZERO,
    };

    /// A new stay of `thread` begins (unless it is the newest already).
    pub(super) fn arrive(&mut self, thread: ThreadId) {
        if self.threads[0] == thread {
            return;
        }
        self.threads.copy_within(0..RECENT - 1, 1);
        self.ran_ns.copy_within(0..RECENT - 1, 1);
        self.threads[0] = thread;
        self.ran_ns[0] = 0;
    }
}
