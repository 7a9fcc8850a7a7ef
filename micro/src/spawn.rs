//! The cost of creating and joining one unit of concurrency.
//!
//! Each function creates `count` units one after the other, each doing nothing, and waits for
//! each to finish before the next: the time per unit is creation + first run + join.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::task;

/// Spawns and joins `count` OS threads.
pub fn thread(count: u64) -> Result<Duration, Error> {
    let start = Instant::now();
    for _ in 0..count {
        std::thread::Builder::new()
            .spawn(|| black_box(()))
            .map_err(Error::io("spawning a thread"))?
            .join()
            .map_err(|_| Error::Panicked { what: "thread" })?;
    }
    Ok(start.elapsed())
}

/// Spawns and joins `count` may coroutines from inside a coroutine on may's one worker.
pub fn may(count: u64) -> Result<Duration, Error> {
    task::go(move || -> Result<Duration, Error> {
        let start = Instant::now();
        for _ in 0..count {
            task::go(|| black_box(()))
                .join()
                .map_err(|_| Error::Panicked { what: "coroutine" })?;
        }
        Ok(start.elapsed())
    })
    .join()
    .map_err(|_| Error::Panicked { what: "coroutine" })?
}

/// Spawns and awaits `count` tokio tasks from inside a task on a pinned current-thread runtime.
pub fn tokio(count: u64) -> Result<Duration, Error> {
    task::on_pinned_runtime(|runtime| {
        runtime.block_on(async move {
            tokio::spawn(async move {
                let start = Instant::now();
                for _ in 0..count {
                    tokio::spawn(async { black_box(()) })
                        .await
                        .map_err(|_| Error::Panicked { what: "task" })?;
                }
                Ok(start.elapsed())
            })
            .await
            .map_err(|_| Error::Panicked { what: "task" })?
        })
    })
}

fn rayon_pool() -> Result<&'static rayon::ThreadPool, Error> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(crate::machine::cores())
            .thread_name(|i| format!("micro-rayon-{i}"))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|reason| Error::Io {
        what: "building a rayon pool",
        source: std::io::Error::other(reason.clone()),
    })
}

/// Runs `count` `rayon::join`s of two trivial closures from inside a rayon worker.
///
/// Called from a worker, the second closure is pushed on the worker's deque and usually popped
/// back by the same worker (no thread switch) unless an idle worker steals it first.
pub fn rayon_join(count: u64) -> Result<Duration, Error> {
    Ok(rayon_pool()?.install(|| {
        let start = Instant::now();
        for i in 0..count {
            black_box(rayon::join(|| black_box(i), || black_box(i + 1)));
        }
        start.elapsed()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spawn_kind_runs_its_units() {
        for took in [thread(20), may(20), tokio(20), rayon_join(20)] {
            assert!(took.unwrap() > Duration::ZERO);
        }
    }
}

/// What spawning one OS thread costs in CPU rather than wall time, per thread, in ns.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreadCpu {
    /// The spawning thread's CPU inside `thread::spawn` (`CLOCK_THREAD_CPUTIME_ID`): the
    /// stack mapping, `clone`, and std's bookkeeping.
    pub spawner_ns: f64,
    /// The child's own CPU when its closure starts (`CLOCK_THREAD_CPUTIME_ID` read first
    /// thing): the return from `clone` and std's thread start-up.
    pub child_start_ns: f64,
    /// The whole process's CPU per spawn + join (`CLOCK_PROCESS_CPUTIME_ID`, exited threads
    /// included): the two above plus the child's exit, the stack's unmapping and the join.
    pub process_ns: f64,
    /// Wall time per spawn + join in the same loop, for comparison with `spawn_thread_ns`.
    pub wall_ns: f64,
}

impl ThreadCpu {
    /// The CPU a spawn charges before the new thread runs its code: spawner + child start-up.
    pub fn spawn_ns(&self) -> f64 {
        self.spawner_ns + self.child_start_ns
    }
}

/// Spawns and joins threads for about `duration` (at least 20) with everything pinned to one
/// core, so no other core's time is counted and the child runs only when the spawner blocks in
/// `join`.
pub fn thread_cpu(duration: std::time::Duration) -> Result<ThreadCpu, Error> {
    use crate::clock::{monotonic_ns, process_cpu_ns, thread_cpu_ns};
    let core = crate::affinity::pick(1)?[0];
    let run = move || -> Result<ThreadCpu, Error> {
        crate::affinity::pin(core)?;
        let (mut spawner, mut child) = (0u64, 0u64);
        let process0 = process_cpu_ns();
        let wall0 = monotonic_ns();
        let deadline = wall0 + duration.as_nanos() as u64;
        let mut count = 0u64;
        while count < 20 || monotonic_ns() < deadline {
            count += 1;
            let before = thread_cpu_ns();
            let handle = std::thread::Builder::new()
                .spawn(thread_cpu_ns)
                .map_err(Error::io("spawning a thread"))?;
            spawner += thread_cpu_ns() - before;
            child += handle
                .join()
                .map_err(|_| Error::Panicked { what: "thread" })?;
        }
        let n = count as f64;
        Ok(ThreadCpu {
            spawner_ns: spawner as f64 / n,
            child_start_ns: child as f64 / n,
            process_ns: (process_cpu_ns() - process0) as f64 / n,
            wall_ns: (monotonic_ns() - wall0) as f64 / n,
        })
    };
    std::thread::Builder::new()
        .name("micro-spawner".into())
        .spawn(run)
        .map_err(Error::io("spawning the spawner"))?
        .join()
        .map_err(|_| Error::Panicked { what: "spawner" })?
}

#[cfg(test)]
mod cpu_tests {
    use super::*;

    #[test]
    fn a_spawn_costs_cpu_on_both_sides() {
        let cpu = thread_cpu(Duration::ZERO).unwrap();
        assert!(cpu.spawner_ns > 0.0 && cpu.child_start_ns > 0.0);
        // The process clock holds both sides (and, under `cargo test`, other tests too).
        assert!(cpu.spawn_ns() <= cpu.process_ns * 1.01, "{cpu:?}");
    }
}
