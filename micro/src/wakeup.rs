//! Wake-up latency under load, measured the way cyclictest and schbench do: a thread sleeps
//! until an absolute time 1 ms ahead and records how late it got the core.
//!
//! The sleeper shares its core with 0, 1 or 2 CPU-bound threads. Its timer slack is set to
//! 1 ns, so the lateness is the timer interrupt, the wake-up, the wait for the core (the
//! scheduler's choice: wake-up preemption or the end of a hog's slice) and the switch, not the
//! 50 µs the kernel may add on purpose to batch timers. With no hog the core goes idle between
//! sleeps, so the 0-hog figure also includes leaving the idle state (see [`crate::idle`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::{monotonic_ns, sleep_until, tighten_timer_slack};
use crate::error::Error;
use crate::{affinity, quantile};

/// How long the sleeper sleeps each time.
pub const SLEEP_NS: u64 = 1_000_000;

/// Lateness of a 1 ms sleeper with `hogs` CPU-bound threads on its core.
#[derive(Debug, Clone, PartialEq)]
pub struct Lateness {
    /// CPU-bound threads sharing the core.
    pub hogs: usize,
    /// p50 and p99 of how late each wake-up ran, ns.
    pub summary: quantile::Summary,
    /// Whether the 1 ns timer slack took effect (else up to 50 µs of slack is included).
    pub tight_slack: bool,
}

/// Spawns `count` threads pinned to `core` that spin until `stop` (the background load of a
/// measurement), after `setup` runs in each.
pub(crate) fn spinners(
    count: usize,
    core: core_affinity::CoreId,
    stop: &Arc<AtomicBool>,
    setup: fn() -> bool,
) -> Result<Vec<std::thread::JoinHandle<Result<(), Error>>>, Error> {
    (0..count)
        .map(|_| {
            let stop = Arc::clone(stop);
            std::thread::Builder::new()
                .name("micro-spinner".into())
                .spawn(move || {
                    affinity::pin(core)?;
                    setup();
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                    Ok(())
                })
                .map_err(Error::io("spawning a spinner"))
        })
        .collect()
}

/// Stops and joins spinners.
pub(crate) fn stop_all(
    stop: &AtomicBool,
    handles: Vec<std::thread::JoinHandle<Result<(), Error>>>,
) -> Result<(), Error> {
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle
            .join()
            .map_err(|_| Error::Panicked { what: "spinner" })??;
    }
    Ok(())
}

/// Measures the sleeper's lateness for `duration` with `hogs` CPU-bound threads on its core.
pub fn measure(hogs: usize, duration: Duration) -> Result<Lateness, Error> {
    let core = affinity::pick(1)?[0];
    let stop = Arc::new(AtomicBool::new(false));
    let load = spinners(hogs, core, &stop, || true)?;
    let sleeper = std::thread::Builder::new()
        .name("micro-sleeper".into())
        .spawn(move || -> Result<_, Error> {
            affinity::pin(core)?;
            let tight_slack = tighten_timer_slack();
            // Let the hogs settle on the core before counting.
            std::thread::sleep(Duration::from_millis(10));
            let end = monotonic_ns() + duration.as_nanos() as u64;
            let mut late = Vec::with_capacity((duration.as_nanos() as u64 / SLEEP_NS) as usize);
            loop {
                let target = monotonic_ns() + SLEEP_NS;
                if target > end {
                    break;
                }
                sleep_until(target);
                late.push(monotonic_ns().saturating_sub(target) as f64);
            }
            Ok((late, tight_slack))
        })
        .map_err(Error::io("spawning the sleeper"))?;
    let result = sleeper
        .join()
        .map_err(|_| Error::Panicked { what: "sleeper" });
    stop_all(&stop, load)?;
    let (late, tight_slack) = result??;
    let summary = quantile::summarize(&late).ok_or(Error::NoSamples {
        what: "wake-up latency",
    })?;
    Ok(Lateness {
        hogs,
        summary,
        tight_slack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleeper_beside_a_hog_is_counted() {
        let lateness = measure(1, Duration::from_millis(30)).unwrap();
        assert_eq!(lateness.hogs, 1);
        assert!(lateness.summary.count >= 5, "{lateness:?}");
        assert!(lateness.summary.p99 >= lateness.summary.p50);
    }
}
