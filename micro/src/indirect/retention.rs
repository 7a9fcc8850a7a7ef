//! How long the shared L3 keeps a set nobody on this machine touches: the *ambient* eviction of
//! a VM whose L3 is shared with other tenants.
//!
//! ```text
//!   walk own 64 KiB ─▶ walk 2 × L2 of another buffer ─▶ spin t, touching nothing ─▶ walk own (timed)
//!                      (pushes own out of L2 into L3)
//! ```
//!
//! On a machine alone, the timed walk costs the same whatever `t`: nothing it does evicts the
//! set from L3. On the 2026-12-07 reference host (an AMD EPYC guest, L3 32 MiB) it costs
//! 12 ns a line at t = 0, 20 at 2 ms and 114 to 121 at 16 ms, with no steal time: tenants
//! outside the VM replace our lines. The cost of a return then depends on how long the others
//! took, not only on how many bytes they touched, and a ring of threads whose period crosses
//! a few milliseconds falls from L3 to memory (`sim/src/cache.rs`, "Other tenants").
//!
//! Within one run the rise is close to a step (12, 17, 113 ns a line at 0, 1 and 2 ms), but
//! where the step lies moves from one run to the next, from 0.5 to 4 ms a minute apart. The
//! simulator takes the step as measured: the *lifetime* is where the cost is halfway up,
//! counted from the line's last touch (so the eviction walk's time is added to the idle time).

use std::time::{Duration, Instant};

use super::Curve;
use crate::affinity;
use crate::cache::{Buffer, CacheSizes, Order};
use crate::error::Error;
use crate::quantile;

/// The set the timed walk returns to: the ring's `switch_runnable` working set.
const OWN_BYTES: usize = super::RUNNABLE_BYTES;

/// Idle times to try, ns: 0 and 0.5 to 16 ms.
const IDLE_NS: [u64; 7] = [
    0, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000,
];

/// What the retention walks measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// `[idle_ns, ns]`: the median ns per line of the timed walk after each idle time.
    pub curve: Curve,
    /// The median time of the eviction walk, ns: a line's time away from its set is this plus
    /// the idle time.
    pub evict_walk_ns: f64,
}

/// Runs the retention walks within `time`; `Err` with the reason when they cannot run (no L2
/// or L3 size, or an L3 too small to hold the eviction walk and the set twice over).
pub fn idle_curve(sizes: &CacheSizes, time: Duration) -> Result<Retention, String> {
    let (Some(l2), Some(l3)) = (sizes.l2, sizes.l3) else {
        return Err("the kernel reports no L2 or L3 size".into());
    };
    let other = 2 * l2;
    if other + OWN_BYTES as u64 > l3 / 2 {
        return Err(format!(
            "L3 ({l3} bytes) holds less than twice the eviction walk (2 × L2) and the set"
        ));
    }
    let core = affinity::pick(1).map_err(|e| e.to_string())?[0];
    let worker = std::thread::Builder::new()
        .name("micro-retention".into())
        .spawn(move || -> Result<Retention, Error> {
            affinity::pin(core)?;
            let mut own = Buffer::new(OWN_BYTES, 0x0e1d_0b1e)?;
            let mut evict = Buffer::new(other as usize, 0x0e1d_0b1f)?;
            // Each idle time gets an equal share of the budget, at least 5 timed walks.
            let share = time.div_f64(IDLE_NS.len() as f64);
            let mut curve = Vec::with_capacity(IDLE_NS.len());
            let mut evict_walks = Vec::new();
            for idle_ns in IDLE_NS {
                let start = Instant::now();
                let mut samples = Vec::new();
                own.walk(Order::Random);
                while samples.len() < 5 || start.elapsed() < share {
                    let (evict_ns, line_ns) = returning_walk(&mut own, &mut evict, idle_ns);
                    samples.push(line_ns);
                    evict_walks.push(evict_ns);
                }
                let median = quantile::median(&samples).unwrap_or(f64::NAN);
                curve.push((idle_ns, median));
            }
            Ok(Retention {
                curve,
                evict_walk_ns: quantile::median(&evict_walks).unwrap_or(0.0),
            })
        })
        .map_err(|e| format!("spawning the retention worker: {e}"))?;
    worker
        .join()
        .map_err(|_| "the retention worker panicked".to_string())?
        .map_err(|e| e.to_string())
}

/// Walks `evict`, spins for `idle_ns` without touching memory, then times one walk of `own`:
/// the eviction walk's ns and the timed walk's ns per line.
fn returning_walk(own: &mut Buffer, evict: &mut Buffer, idle_ns: u64) -> (f64, f64) {
    let walk = Instant::now();
    evict.walk(Order::Random);
    let evict_ns = walk.elapsed().as_secs_f64() * 1e9;
    let idle = Duration::from_nanos(idle_ns);
    let spin = Instant::now();
    while spin.elapsed() < idle {
        std::hint::spin_loop();
    }
    let start = Instant::now();
    own.walk(Order::Random);
    let line_ns = start.elapsed().as_secs_f64() * 1e9 / own.lines() as f64;
    (evict_ns, line_ns)
}

impl Retention {
    /// How long a set stays in L3 while nothing on this machine touches it, ns: the time away
    /// (eviction walk plus idle) at which the timed walk's cost first reaches halfway from its
    /// t = 0 cost to the curve's highest, interpolated linearly in time. `Ok(None)` when the
    /// highest costs no more than t = 0 (within 10 % and 1 ns): nothing was evicted in the
    /// longest idle time, and `Err` when the curve does not start at 0.
    pub fn lifetime_ns(&self) -> Result<Option<f64>, String> {
        if !matches!(self.curve.first(), Some(&(0, _))) {
            return Err("the idle curve has no point at 0".into());
        }
        let Some((at_zero, highest)) = self.rise() else {
            return Ok(None);
        };
        let half = (at_zero + highest) / 2.0;
        let crossing = self.curve.windows(2).find_map(|pair| {
            let ((t0, c0), (t1, c1)) = (pair[0], pair[1]);
            (c1 >= half)
                .then(|| t0 as f64 + (t1 - t0) as f64 * ((half - c0) / (c1 - c0)).clamp(0.0, 1.0))
        });
        Ok(crossing.map(|t| t + self.evict_walk_ns))
    }

    /// ns per line of a returning set that the tenants evicted: the highest point of the
    /// curve, when it lies above t = 0's (see [`Retention::lifetime_ns`]).
    pub fn evicted_line_ns(&self) -> Option<f64> {
        self.rise().map(|(_, highest)| highest)
    }

    /// The first point's cost and the curve's highest, when the highest lies above the first
    /// by more than 10 % and 1 ns (something was evicted); `None` otherwise.
    fn rise(&self) -> Option<(f64, f64)> {
        let at_zero = self.curve.first()?.1;
        let highest = self.curve.iter().map(|p| p.1).fold(at_zero, f64::max);
        (highest > at_zero + (0.1 * at_zero).max(1.0)).then_some((at_zero, highest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(curve: &[(u64, f64)]) -> Retention {
        Retention {
            curve: curve.to_vec(),
            evict_walk_ns: 300_000.0,
        }
    }

    #[test]
    fn the_lifetime_is_the_half_way_crossing_plus_the_eviction_walk() {
        // From 12 to the highest, 137 ns: halfway is 74.5, 37.5 % of the way from 1 ms (37) to
        // 2 ms (137).
        let r = retention(&[
            (0, 12.0),
            (1_000_000, 37.0),
            (2_000_000, 137.0),
            (4_000_000, 112.0),
        ]);
        assert_eq!(r.lifetime_ns(), Ok(Some(1_375_000.0 + 300_000.0)));
        assert_eq!(r.evicted_line_ns(), Some(137.0));
    }

    #[test]
    fn a_flat_curve_has_no_lifetime() {
        let r = retention(&[(0, 12.0), (8_000_000, 12.9), (16_000_000, 12.4)]);
        assert_eq!(r.lifetime_ns(), Ok(None));
        assert_eq!(r.evicted_line_ns(), None);
    }

    #[test]
    fn a_curve_without_its_start_is_refused() {
        assert!(retention(&[(5, 1.0), (10, 100.0)]).lifetime_ns().is_err());
    }

    #[test]
    fn a_set_gone_at_the_first_idle_point_crosses_inside_the_first_interval() {
        let r = retention(&[(0, 10.0), (500_000, 110.0), (1_000_000, 110.0)]);
        assert_eq!(r.lifetime_ns(), Ok(Some(250_000.0 + 300_000.0)));
    }
}
