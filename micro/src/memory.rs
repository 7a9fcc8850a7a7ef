//! Resident memory per idle unit: the slope of the process's resident set over the number of
//! live threads, coroutines or tasks.
//!
//! One reading of VmRSS after creating N units mixes the units with everything else the
//! process holds and with allocator granularity; the slope of VmRSS over several counts is the
//! cost of one more unit. Units are created in one growing series (none freed in between), so
//! memory that an allocator reuses cannot hide a unit's cost.
//!
//! VmRSS is user memory only. An OS thread also costs a kernel stack (16 KiB on x86_64) and
//! kernel structures; [`threads`] also fits the slope of the system-wide `KernelStack` line of
//! `/proc/meminfo`, which other processes creating threads at the same time would disturb.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::task;

/// A least-squares line through (units, bytes) points.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SlopeFit {
    /// Bytes per unit: the slope.
    pub bytes_per_unit: f64,
    /// Bytes at zero units: the intercept.
    pub intercept_bytes: f64,
    /// Share of the variance the line explains (1 = the points lie on it).
    pub r_squared: f64,
    /// The points, as (units, bytes).
    pub points: Vec<(f64, f64)>,
}

/// Fits a line through the points; `None` with fewer than two distinct x values.
pub fn fit(points: &[(f64, f64)]) -> Option<SlopeFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r_squared = if syy == 0.0 {
        1.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some(SlopeFit {
        bytes_per_unit: slope,
        intercept_bytes: mean_y - slope * mean_x,
        r_squared,
        points: points.to_vec(),
    })
}

/// The counts at which memory is read: `steps` evenly spaced counts up to `max`, from
/// `max / steps` (count zero is left out: first-use costs such as a runtime's start-up would
/// bend the line).
pub fn checkpoints(max: usize, steps: usize) -> Vec<usize> {
    let steps = steps.max(2);
    let mut counts: Vec<usize> = (1..=steps).map(|i| max * i / steps).collect();
    counts.dedup();
    counts.retain(|&c| c > 0);
    counts
}

/// Reads a "Name:   1234 kB" line of a /proc status file, in bytes.
fn proc_kib(path: &Path, key: &str) -> Result<f64, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_kib_line(&text, key).ok_or_else(|| Error::Malformed {
        path: path.to_path_buf(),
        reason: format!("no \"{key}\" line in kB"),
    })
}

fn parse_kib_line(text: &str, key: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.split(':').next() == Some(key))?;
    let kib: f64 = line
        .split(':')
        .nth(1)?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0)
}

/// Resident memory of this process (VmRSS), bytes.
pub fn resident_bytes() -> Result<f64, Error> {
    proc_kib(Path::new("/proc/self/status"), "VmRSS")
}

/// Memory used by kernel stacks on the whole machine, bytes.
pub fn kernel_stack_bytes() -> Result<f64, Error> {
    proc_kib(Path::new("/proc/meminfo"), "KernelStack")
}

/// Fits of idle OS threads' memory.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThreadMemory {
    /// VmRSS per thread: the touched part of its stack, TLS, bookkeeping.
    pub resident: SlopeFit,
    /// KernelStack per thread (system-wide reading; `None` if unreadable).
    pub kernel_stack: Option<SlopeFit>,
}

/// Keeps up to `max` idle OS threads alive and fits resident (and kernel-stack) bytes per thread.
pub fn threads(max: usize) -> Result<ThreadMemory, Error> {
    let release = (Mutex::new(false), Condvar::new());
    let started = AtomicUsize::new(0);
    let wait_for_release = || {
        started.fetch_add(1, Ordering::AcqRel);
        let (lock, wake) = &release;
        let mut released = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !*released {
            released = wake.wait(released).unwrap_or_else(|e| e.into_inner());
        }
    };
    std::thread::scope(|scope| {
        let grow = || -> Result<ThreadMemory, Error> {
            let mut resident = Vec::new();
            let mut kernel = Vec::new();
            let mut spawned = 0;
            for target in checkpoints(max, 6) {
                while spawned < target {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, wait_for_release)
                        .map_err(Error::io("spawning a thread"))?;
                    spawned += 1;
                }
                while started.load(Ordering::Acquire) < spawned {
                    std::thread::sleep(Duration::from_micros(200));
                }
                resident.push((spawned as f64, resident_bytes()?));
                if let Ok(bytes) = kernel_stack_bytes() {
                    kernel.push((spawned as f64, bytes));
                }
            }
            Ok(ThreadMemory {
                resident: fit(&resident).ok_or_else(too_few_points)?,
                kernel_stack: fit(&kernel),
            })
        };
        let result = grow();
        // Release every thread, whatever happened, or the scope would never end.
        let (lock, wake) = &release;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        result
    })
}

fn too_few_points() -> Error {
    Error::Io {
        what: "fitting memory per unit",
        source: std::io::Error::other("fewer than two counts could be measured"),
    }
}

/// Keeps up to `max` parked may coroutines alive and fits resident bytes per coroutine.
pub fn may_coroutines(max: usize) -> Result<SlopeFit, Error> {
    let started = Arc::new(AtomicUsize::new(0));
    let released = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let mut points = Vec::new();
    // may keeps up to `pool capacity` finished coroutines (stacks already touched) for reuse;
    // the first that many spawns would cost less than a fresh one, so the line starts after them.
    task::init_may();
    let pooled = may::config().get_pool_capacity();
    let mut grow = || -> Result<(), Error> {
        for target in checkpoints(max, 6) {
            while handles.len() < pooled + target {
                let (started, released) = (Arc::clone(&started), Arc::clone(&released));
                handles.push(task::go(move || {
                    started.fetch_add(1, Ordering::AcqRel);
                    while !released.load(Ordering::Acquire) {
                        may::coroutine::park();
                    }
                }));
            }
            while started.load(Ordering::Acquire) < handles.len() {
                std::thread::sleep(Duration::from_micros(200));
            }
            points.push(((handles.len() - pooled) as f64, resident_bytes()?));
        }
        Ok(())
    };
    let result = grow();
    released.store(true, Ordering::Release);
    for handle in &handles {
        handle.coroutine().unpark();
    }
    for handle in handles {
        handle
            .join()
            .map_err(|_| Error::Panicked { what: "coroutine" })?;
    }
    result?;
    fit(&points).ok_or_else(too_few_points)
}

/// Keeps up to `max` waiting tokio tasks alive on a current-thread runtime and fits resident
/// bytes per task.
pub fn tokio_tasks(max: usize) -> Result<SlopeFit, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(Error::io("building a tokio runtime"))?;
    runtime.block_on(async move {
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let mut spawned = 0;
        let mut points = Vec::new();
        for target in checkpoints(max, 6) {
            while spawned < target {
                let (started, finished, release) = (
                    Arc::clone(&started),
                    Arc::clone(&finished),
                    Arc::clone(&release),
                );
                // Detached (no JoinHandle kept) so only the task itself is on the books.
                tokio::spawn(async move {
                    let notified = release.notified();
                    started.fetch_add(1, Ordering::AcqRel);
                    notified.await;
                    finished.fetch_add(1, Ordering::AcqRel);
                });
                spawned += 1;
            }
            while started.load(Ordering::Acquire) < spawned {
                tokio::task::yield_now().await;
            }
            points.push((spawned as f64, resident_bytes()?));
        }
        release.notify_waiters();
        while finished.load(Ordering::Acquire) < spawned {
            tokio::task::yield_now().await;
        }
        fit(&points).ok_or_else(too_few_points)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_known_slope() {
        let points: Vec<(f64, f64)> = (1..=6)
            .map(|i| (i as f64 * 1000.0, 5e6 + 20_480.0 * i as f64 * 1000.0))
            .collect();
        let line = fit(&points).unwrap();
        assert!((line.bytes_per_unit - 20_480.0).abs() < 1e-6);
        assert!((line.intercept_bytes - 5e6).abs() < 1e-3);
        assert!((line.r_squared - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noise_lowers_r_squared_but_not_the_slope_much() {
        let noise = [3000.0, -2000.0, 1000.0, -4000.0, 2500.0, -500.0];
        let points: Vec<(f64, f64)> = (0..6)
            .map(|i| (i as f64 * 100.0, 100.0 * i as f64 * 100.0 + noise[i]))
            .collect();
        let line = fit(&points).unwrap();
        assert!((line.bytes_per_unit - 100.0).abs() < 10.0, "{line:?}");
        assert!(line.r_squared < 1.0 && line.r_squared > 0.9, "{line:?}");
        assert_eq!(fit(&[(1.0, 2.0)]), None);
        assert_eq!(fit(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn checkpoints_are_evenly_spaced_and_skip_zero() {
        assert_eq!(checkpoints(600, 6), vec![100, 200, 300, 400, 500, 600]);
        assert_eq!(checkpoints(3, 6), vec![1, 2, 3]);
    }

    #[test]
    fn proc_lines_are_read_in_bytes() {
        let status = "Name:\tx\nVmRSS:\t    2048 kB\nVmSwap:\t0 kB\n";
        assert_eq!(parse_kib_line(status, "VmRSS"), Some(2048.0 * 1024.0));
        assert_eq!(parse_kib_line(status, "Vm"), None);
        assert!(resident_bytes().unwrap() > 0.0);
    }
}
