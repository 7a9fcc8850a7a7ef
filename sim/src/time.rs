//! Simulated time: integer nanoseconds, so that no rounding error accumulates over a run.

use std::ops::{Add, Sub};

/// The longest duration a scenario may configure (a step, rtt, think time, run duration,
/// broadcast time): 365 days. Latency histograms record up to this exactly.
pub const MAX_DURATION_NS: u64 = 365 * 86_400 * 1_000_000_000;

/// The latest a run may be planned to end (requests / rate, a trace's last offset): 100
/// years, well inside the u64 nanosecond clock's 584 years, so a queue can still drain.
pub const MAX_RUN_NS: u64 = 100 * MAX_DURATION_NS;

/// A point in simulated time, nanoseconds after the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);

    /// Nanoseconds since the start.
    pub fn ns(self) -> u64 {
        self.0
    }

    /// Seconds since the start, for reports only (never fed back into the simulation).
    pub fn seconds(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Nanoseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<u64> for SimTime {
    type Output = SimTime;
    fn add(self, ns: u64) -> SimTime {
        SimTime(self.0.saturating_add(ns))
    }
}

impl Sub for SimTime {
    type Output = u64;
    fn sub(self, other: SimTime) -> u64 {
        self.since(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime(u64::MAX) + 5, SimTime(u64::MAX));
        assert_eq!(SimTime(3) - SimTime(5), 0);
        assert_eq!(SimTime(5) - SimTime(3), 2);
        assert_eq!(SimTime(1_500_000_000).seconds(), 1.5);
    }
}
