//! What a core pays for idling: leaving idle costs core time (`idle_wakeup_cpu`: idle exit,
//! timer and interrupt paths, its own share of the CPU split) and delays the woken thread
//! (`idle_exit_latency`, a C-state exit). Both are zero unless a costs file sets them: the
//! reference machine's measurement could not see an idle core.

use super::Kernel;

impl Kernel {
    /// What a core pays each time it leaves idle: `cpu` of core time (its own share of the
    /// CPU split) and `latency` before the woken thread computes.
    pub(crate) fn with_idle_costs(mut self, cpu: u64, latency: u64) -> Self {
        self.idle_wakeup_cpu = cpu;
        self.idle_exit_latency = latency;
        self
    }
}
