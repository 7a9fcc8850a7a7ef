//! Which cores the benchmarks may use, and pinning the current thread to one.

use crate::error::Error;

/// The cores this process may run on, as `core_affinity` sees them (respects taskset/cpusets).
pub fn cores() -> Vec<core_affinity::CoreId> {
    core_affinity::get_core_ids().unwrap_or_default()
}

/// The first `needed` usable cores, or why there are not enough.
pub fn pick(needed: usize) -> Result<Vec<core_affinity::CoreId>, Error> {
    let available = cores();
    if available.len() < needed {
        return Err(Error::NotEnoughCores {
            needed,
            available: available.len(),
        });
    }
    Ok(available.into_iter().take(needed).collect())
}

/// Pins the calling thread to `core`.
pub fn pin(core: core_affinity::CoreId) -> Result<(), Error> {
    if core_affinity::set_for_current(core) {
        Ok(())
    } else {
        Err(Error::Pin { core: core.id })
    }
}
