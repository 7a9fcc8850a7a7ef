//! What a core pays for idling: leaving idle costs core time (`idle_wakeup_cpu`: idle exit,
//! timer and interrupt paths, its own share of the CPU split) and delays the woken thread
//! (`idle_exit_latency`, a C-state exit). Both are zero unless a costs file sets them: the
//! reference machine's measurement could not see an idle core.

use super::Kernel;
use crate::event::CoreId;
use crate::time::SimTime;

impl Kernel {
    /// What a core pays each time it leaves idle: `cpu` of core time (its own share of the
    /// CPU split) and `latency` before the woken thread computes.
    pub(crate) fn with_idle_costs(mut self, cpu: u64, latency: u64) -> Self {
        self.idle_wakeup_cpu = cpu;
        self.idle_exit_latency = latency;
        self
    }

    /// Hook: `core` has nothing to run from `now` on. Idle costs (C-state entry) go here.
    pub(super) fn enter_idle(&mut self, now: SimTime, core: CoreId) {
        self.cores[core as usize].record.idle_since = now;
    }

    /// Hook: an idle `core` is handed a thread at `now`; returns extra delay (ns) before it
    /// computes (C-state exit, `idle_exit_latency`), and makes the core pay `idle_wakeup_cpu`
    /// of core time first (idle exit, timer and interrupt paths). Both default to zero: the
    /// reference machine's measurement could not see them.
    pub(super) fn leave_idle(&mut self, _now: SimTime, core: CoreId) -> u64 {
        self.cores[core as usize].idle_cpu = self.idle_wakeup_cpu;
        self.idle_exit_latency
    }
}
