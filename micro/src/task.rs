//! User-level task switches on one core: `may` stackful coroutines and `tokio` async tasks.
//!
//! Two tasks hand a token back and forth on a single worker thread, so every hand-off is one
//! switch from one task to the other through the runtime's scheduler, with no kernel involved.
//! Each round trip is two switches; the time of one switch is the round trips' time over twice
//! their number. Both tasks are started and have met before the clock starts.

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::affinity;
use crate::error::Error;

/// Switches per round trip: the token goes there and back.
pub const SWITCHES_PER_ROUND_TRIP: u64 = 2;

/// The timings of one task ping-pong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskRun {
    /// Round trips timed.
    pub round_trips: u64,
    /// Wall time of all round trips.
    pub elapsed: Duration,
}

impl TaskRun {
    /// Nanoseconds per switch.
    pub fn per_switch_ns(&self) -> f64 {
        if self.round_trips == 0 {
            return 0.0;
        }
        self.elapsed.as_secs_f64() * 1e9 / (self.round_trips * SWITCHES_PER_ROUND_TRIP) as f64
    }

    /// The time `switches` switches cost at this run's rate.
    pub fn time_for(&self, switches: u64) -> Duration {
        Duration::from_secs_f64(self.per_switch_ns() * switches as f64 / 1e9)
    }
}

/// Configures may's global scheduler once: one worker, pinned (may pins it to the first core).
///
/// may reads its configuration when the scheduler starts, on the first spawn in the process, so
/// this must run before any other may call in the process to take effect.
pub fn init_may() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let config = may::config();
        config.set_workers(1);
        config.set_worker_pin(true);
    });
}

/// Spawns a may coroutine running `f`.
pub(crate) fn go<F, T>(f: F) -> may::coroutine::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    init_may();
    // SAFETY: may marks spawn unsafe because a coroutine must not block its worker thread on
    // std primitives or overflow its stack; the closures given here only use may's own
    // primitives, atomics and shallow stacks.
    unsafe { may::coroutine::spawn(f) }
}

/// Two may coroutines on may's one worker, each calling `yield_now` `round_trips` times.
pub fn may_yield(round_trips: u64) -> Result<TaskRun, Error> {
    may_pair(
        round_trips,
        |_| may::coroutine::yield_now(),
        |_| may::coroutine::yield_now(),
    )
}

/// Two may coroutines passing a token over a pair of may channels.
pub fn may_channel(round_trips: u64) -> Result<TaskRun, Error> {
    let (to_b, from_a) = may::sync::mpsc::channel::<u64>();
    let (to_a, from_b) = may::sync::mpsc::channel::<u64>();
    // A failed send or receive means the partner is gone; stop rather than wait forever.
    may_pair(
        round_trips,
        move |i| {
            if to_b.send(i).is_ok() {
                let _ = from_b.recv();
            }
        },
        move |_| {
            if let Ok(i) = from_a.recv() {
                let _ = to_a.send(i);
            }
        },
    )
}

/// Runs `a(i)` and `b(i)` for i in 0..round_trips in two coroutines, timing A's loop once both
/// have started.
fn may_pair(
    round_trips: u64,
    mut a: impl FnMut(u64) + Send + 'static,
    mut b: impl FnMut(u64) + Send + 'static,
) -> Result<TaskRun, Error> {
    let started = Arc::new(AtomicUsize::new(0));
    let meet = |started: &AtomicUsize| {
        started.fetch_add(1, Ordering::AcqRel);
        while started.load(Ordering::Acquire) < 2 {
            may::coroutine::yield_now();
        }
    };
    // Both coroutines are spawned from a coroutine on the worker, so both land in its local
    // queue. Spawned from another thread, one would wait in may's global queue, which the
    // worker only drains once its local queue is empty, and the other's yield loop in `meet`
    // would keep it non-empty forever.
    let elapsed = go(move || -> Result<Duration, Error> {
        let started_b = Arc::clone(&started);
        let handle_b = go(move || {
            meet(&started_b);
            for i in 0..round_trips {
                b(i);
            }
        });
        let handle_a = go(move || {
            meet(&started);
            let start = Instant::now();
            for i in 0..round_trips {
                a(i);
            }
            start.elapsed()
        });
        let elapsed = handle_a
            .join()
            .map_err(|_| Error::Panicked { what: "coroutine" })?;
        handle_b
            .join()
            .map_err(|_| Error::Panicked { what: "coroutine" })?;
        Ok(elapsed)
    })
    .join()
    .map_err(|_| Error::Panicked { what: "coroutine" })??;
    Ok(TaskRun {
        round_trips,
        elapsed,
    })
}

/// Runs `f` with a current-thread tokio runtime on a fresh thread pinned to the first core.
pub fn on_pinned_runtime<T: Send>(
    f: impl FnOnce(&tokio::runtime::Runtime) -> Result<T, Error> + Send,
) -> Result<T, Error> {
    let core = affinity::pick(1)?[0];
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                affinity::pin(core)?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(Error::io("building a tokio runtime"))?;
                f(&runtime)
            })
            .join()
            .map_err(|_| Error::Panicked { what: "thread" })?
    })
}

/// Two tokio tasks on a pinned current-thread runtime passing a token through two `Notify`s.
pub fn tokio_notify(round_trips: u64) -> Result<TaskRun, Error> {
    on_pinned_runtime(|runtime| {
        runtime.block_on(async {
            let wake_a = Arc::new(tokio::sync::Notify::new());
            let wake_b = Arc::new(tokio::sync::Notify::new());
            let (a_wake_a, a_wake_b) = (Arc::clone(&wake_a), Arc::clone(&wake_b));
            let b = tokio::spawn(async move {
                for _ in 0..round_trips {
                    wake_b.notified().await;
                    wake_a.notify_one();
                }
            });
            let a = tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..round_trips {
                    // notify_one leaves a permit if B is not waiting yet, so order is free.
                    a_wake_b.notify_one();
                    a_wake_a.notified().await;
                }
                start.elapsed()
            });
            let elapsed = a.await.map_err(|_| Error::Panicked { what: "task" })?;
            b.await.map_err(|_| Error::Panicked { what: "task" })?;
            Ok(TaskRun {
                round_trips,
                elapsed,
            })
        })
    })
}

/// Two tokio tasks on a pinned current-thread runtime, each calling `yield_now` in turn.
///
/// tokio defers a yielded task until the scheduler has looked at its driver, so this times
/// that round through the scheduler as well as the switch.
pub fn tokio_yield(round_trips: u64) -> Result<TaskRun, Error> {
    on_pinned_runtime(|runtime| {
        runtime.block_on(async {
            let b = tokio::spawn(async move {
                for _ in 0..round_trips {
                    tokio::task::yield_now().await;
                }
            });
            let a = tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..round_trips {
                    tokio::task::yield_now().await;
                }
                start.elapsed()
            });
            let elapsed = a.await.map_err(|_| Error::Panicked { what: "task" })?;
            b.await.map_err(|_| Error::Panicked { what: "task" })?;
            Ok(TaskRun {
                round_trips,
                elapsed,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_switch_is_half_a_round_trip() {
        let run = TaskRun {
            round_trips: 1_000,
            elapsed: Duration::from_micros(200),
        };
        assert!((run.per_switch_ns() - 100.0).abs() < 1e-9);
        assert_eq!(run.time_for(10), Duration::from_nanos(1_000));
    }

    #[test]
    fn may_coroutines_alternate_on_one_worker() {
        // If yield_now resumed the yielding coroutine instead of the other one, the runs would
        // not interleave and "two switches per round trip" would be false.
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (log_a, log_b) = (Arc::clone(&log), Arc::clone(&log));
        may_pair(
            50,
            move |_| {
                log_a.lock().unwrap().push('a');
                may::coroutine::yield_now();
            },
            move |_| {
                log_b.lock().unwrap().push('b');
                may::coroutine::yield_now();
            },
        )
        .unwrap();
        let log = log.lock().unwrap();
        let alternations = log.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(alternations >= 95, "{alternations} alternations in {log:?}");
    }

    #[test]
    fn every_task_ping_pong_completes() {
        for run in [
            may_yield(100).unwrap(),
            may_channel(100).unwrap(),
            tokio_notify(100).unwrap(),
            tokio_yield(100).unwrap(),
        ] {
            assert_eq!(run.round_trips, 100);
            assert!(run.per_switch_ns() > 0.0);
        }
    }
}
