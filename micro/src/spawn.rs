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
