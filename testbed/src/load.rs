//! The load generator: HTTP/1.1 over loopback, closed loop (`--concurrency C`) or open loop
//! (`--rate R`, Poisson arrivals, latency from each intended send time), HDR histograms, its
//! own CPU use, and the server's from `/proc`.
//!
//! ```text
//!  run(spec) ── spawns one engine per load core (pinned), each an epoll loop over its share
//!     │          of the connections, rate and requests
//!     ├── watcher thread (pinned to a load core): /proc of the server over the window
//!     ▼
//!  ramp ─▶ warmup ─▶ measured window [measure_start, last answer] ─▶ LoadReport
//! ```
//!
//! Every run is bounded in time: the measured window lasts at most `duration` (default
//! [`DEFAULT_DURATION`] without `requests`, [`MAX_DURATION`] with them), then in-flight
//! requests get `timeout` to finish and the rest count as timeouts.

mod engine;
mod http;
mod plan;
mod report;
mod schedule;
mod tally;
mod target;
mod thread;
mod timer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

pub use report::{LOAD_BOUND_FRACTION, LoadReport, command};
pub use tally::Percentiles;
pub use target::Target;

use crate::error::usage;
use crate::proc::{ServerUsage, ServerWatch};

/// The measured window without `--requests` or `--duration`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// The longest `--spin`.
pub const MAX_SPIN: Duration = Duration::from_millis(1);
/// The measured window's cap when only `--requests` is given: a stalled server cannot hold a
/// run (or a grid) forever.
pub const MAX_DURATION: Duration = Duration::from_secs(120);

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `http://HOST:PORT/PATH`; HOST must be 127.0.0.0/8, ::1 or `localhost`.
    pub url: String,
    /// Connections. Closed loop: each sends its next request when the answer arrives. Open
    /// loop: the most requests in flight (more arrivals wait, and their wait is latency).
    pub concurrency: u32,
    /// Open loop at this many requests per second (Poisson arrivals); `None`: closed loop.
    pub rate: Option<f64>,
    /// Stop after this many measured requests...
    pub requests: Option<u64>,
    /// ...or after this long measured, whichever comes first (see [`MAX_DURATION`]).
    pub duration: Option<Duration>,
    /// Excluded from the statistics, after the connections are open.
    pub warmup: Duration,
    /// Reuse connections. Without it, each request opens its own, and its latency includes the
    /// connect (as `ab` without `-k` measures it).
    pub keepalive: bool,
    /// A connect or a response that takes longer counts as a timeout (not in the histogram).
    pub timeout: Duration,
    /// Connections opened per second while ramping up.
    pub connect_rate: f64,
    /// Before blocking for the next event, poll without blocking for up to this long. In a VM
    /// the server pays to wake a client whose core went idle (an IPI to a halted vCPU); a
    /// client that spins while answers come faster than this never sleeps, so the server does
    /// not pay it. The spinning is not counted in the client's CPU. At most [`MAX_SPIN`].
    pub spin: Duration,
    /// Never block: poll without blocking until the next event, however long (the
    /// generator's cores are its own). The server then never pays to wake the client's core,
    /// as with a client on another machine. Polling is not counted in the client's CPU.
    pub busy_poll: bool,
    /// Cores for the generator, one engine thread each; `None`: every core but core 0 (or
    /// core 0 on a single-core machine).
    pub cores: Option<Vec<usize>>,
    /// The server's pids, for `/proc` accounting of them, their threads and descendants.
    pub server_pids: Vec<u32>,
    /// The server's cores, whose cpuidle halts are counted over the window (none: not
    /// counted).
    pub server_cores: Vec<usize>,
    /// Seeds the arrival schedule.
    pub seed: u64,
}

impl LoadSpec {
    /// A closed-loop, keep-alive spec with the defaults of `testbed load`.
    pub fn new(url: impl Into<String>, concurrency: u32) -> LoadSpec {
        LoadSpec {
            url: url.into(),
            concurrency,
            rate: None,
            requests: None,
            duration: None,
            warmup: Duration::ZERO,
            keepalive: true,
            timeout: Duration::from_secs(10),
            connect_rate: 5_000.0,
            spin: Duration::ZERO,
            busy_poll: false,
            cores: None,
            server_pids: Vec::new(),
            server_cores: Vec::new(),
            seed: 1,
        }
    }

    /// The measured window's bound.
    pub fn time_bound(&self) -> Duration {
        match (self.duration, self.requests) {
            (Some(d), _) => d,
            (None, Some(_)) => MAX_DURATION,
            (None, None) => DEFAULT_DURATION,
        }
    }

    /// Checks everything that does not need the network; the error exits 2.
    pub fn validate(&self) -> anyhow::Result<Target> {
        let target = Target::parse(&self.url)?;
        if self.concurrency == 0 || self.concurrency > 1_000_000 {
            return Err(usage(format!(
                "--concurrency {}: give 1 to 1000000 connections",
                self.concurrency
            )));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0)
        {
            return Err(usage(format!(
                "--rate {rate}: give a rate in requests/s above 0 (at most 10000000)"
            )));
        }
        if self.requests == Some(0) {
            return Err(usage("--requests 0: give at least 1 request"));
        }
        if self.time_bound().is_zero() {
            return Err(usage("--duration 0: give a positive duration, e.g. 10s"));
        }
        if self.timeout.is_zero() {
            return Err(usage("--timeout 0: give a positive timeout, e.g. 10s"));
        }
        if self.spin > MAX_SPIN {
            return Err(usage(format!(
                "--spin {:?}: at most {MAX_SPIN:?} (a longer spin only burns the client's core; \
                 the answers that take longer are waited for by blocking anyway)",
                self.spin
            )));
        }
        if !(self.connect_rate.is_finite() && self.connect_rate >= 1.0) {
            return Err(usage(format!(
                "--connect-rate {}: give at least 1 connection/s",
                self.connect_rate
            )));
        }
        Ok(target)
    }

    /// The cores the engines run on: `--cores`, else every core this process may use but
    /// core 0 (the server's), else the one it may use. Core numbers are the machine's, so
    /// under `taskset -c 1` the default is core 1.
    pub fn load_cores(&self) -> anyhow::Result<Vec<usize>> {
        let allowed = crate::server::host::allowed_cores();
        let cores = match &self.cores {
            Some(cores) => cores.clone(),
            None => {
                let others: Vec<usize> = allowed.iter().copied().filter(|&c| c != 0).collect();
                if others.is_empty() {
                    allowed.iter().copied().take(1).collect()
                } else {
                    others
                }
            }
        };
        if cores.is_empty() {
            return Err(usage("--cores: give at least one core, e.g. --cores 1"));
        }
        if let Some(bad) = cores.iter().find(|c| !allowed.contains(c)) {
            let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            return Err(usage(format!(
                "--cores: this process may not run on core {bad}; it may use core(s) {} \
                 (see `taskset -p $$`)",
                list.join(", ")
            )));
        }
        Ok(cores)
    }
}

/// Where a run is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Measured answers so far.
    pub completed: u64,
    /// The measured requests asked for, if any.
    pub requests: Option<u64>,
    /// Since the run started (ramp and warmup included).
    pub elapsed: Duration,
    /// The run's planned length: ramp + warmup + the time bound.
    pub planned: Duration,
}

/// Runs the load and measures it. Input errors (not loopback, bad numbers, no such server pid,
/// not enough file descriptors) exit 2; a server that refuses the first connection is a
/// failed run (exit 1). `progress` is called about ten times a second.
pub fn run(spec: &LoadSpec, progress: &mut dyn FnMut(&Progress)) -> anyhow::Result<LoadReport> {
    let target = spec.validate()?;
    let cores = spec.load_cores()?;
    raise_fd_limit(spec.concurrency)?;
    if !spec.server_pids.is_empty() {
        // Checked before any load, so a wrong pid costs nothing.
        ServerWatch::start(&spec.server_pids).map_err(usage)?;
    }
    target.probe(spec.timeout)?;
    let overflows_before = crate::proc::listen_overflows();

    let engines = cores.len().min(spec.concurrency as usize);
    let conns_per_engine = spec.concurrency.div_ceil(engines as u32);
    let connect_gap = Duration::from_secs_f64(engines as f64 / spec.connect_rate);
    let ramp = connect_gap * conns_per_engine;
    // A little slack so every engine thread is up before its first connection is due.
    let start = Instant::now() + Duration::from_millis(5);
    let measure_start = start + ramp + spec.warmup;
    let bound = spec.time_bound();
    let measure_end = measure_start + bound;
    let request: Arc<[u8]> =
        http::request(&target.host_header, &target.path, spec.keepalive).into();
    let counters: Vec<Arc<AtomicU64>> = (0..engines).map(|_| Arc::default()).collect();

    let mut handles = Vec::with_capacity(engines);
    for (e, &core) in cores.iter().take(engines).enumerate() {
        let plan = engine::Plan {
            addr: target.addr,
            request: Arc::clone(&request),
            keepalive: spec.keepalive,
            connections: share(spec.concurrency as u64, engines, e) as usize,
            rate: spec.rate.map(|r| r / engines as f64),
            requests: spec.requests.map(|n| share(n, engines, e)),
            start,
            connect_gap,
            measure_start,
            measure_end,
            warmup: spec.warmup,
            spin: spec.spin,
            busy_poll: spec.busy_poll,
            timeout: spec.timeout,
            seed: spec.seed.wrapping_add(e as u64),
            core: Some(core),
            progress: Arc::clone(&counters[e]),
        };
        let handle = std::thread::Builder::new()
            .name(format!("load-{core}"))
            .spawn(move || engine::run(plan))
            .context("could not start a load-generator thread")?;
        handles.push(handle);
    }

    let done = Arc::new(AtomicBool::new(false));
    let watcher = spawn_watcher(
        &spec.server_pids,
        &spec.server_cores,
        cores[0],
        measure_start,
        Arc::clone(&done),
    )?;

    let planned = ramp + spec.warmup + bound;
    let began = Instant::now();
    while !handles.iter().all(|h| h.is_finished()) {
        progress(&Progress {
            completed: counters.iter().map(|c| c.load(Ordering::Relaxed)).sum(),
            requests: spec.requests,
            elapsed: began.elapsed(),
            planned,
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    done.store(true, Ordering::Release);
    let mut tally = tally::Tally::new();
    for handle in handles {
        let counted = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a load-generator thread panicked"))?
            .context("the load generator's event loop failed")?;
        tally.merge(counted);
    }
    let (watched, watcher_cpu) = watcher
        .join()
        .map_err(|_| anyhow::anyhow!("the /proc watcher thread panicked"))?;
    let ended = Instant::now();
    let listen_overflows = overflows_before
        .zip(crate::proc::listen_overflows())
        .map(|(before, after)| after.saturating_sub(before));
    // Later than planned when a slow server held the ramp back.
    let window_start = tally.measure_start.unwrap_or(measure_start);
    let window = tally
        .last_done
        .unwrap_or(ended)
        .saturating_duration_since(window_start);
    let wall = ended.saturating_duration_since(window_start);
    let client_cpu_fraction = if wall.is_zero() {
        0.0
    } else {
        (tally.cpu + watcher_cpu).as_secs_f64() / (wall.as_secs_f64() * engines as f64)
    };
    let mut report = LoadReport::new(
        spec,
        &target,
        &cores[..engines],
        &tally,
        window,
        client_cpu_fraction,
        watched,
    );
    report.listen_overflows = listen_overflows;
    Ok(report)
}

/// `share` of `total` split over `parts` (the first ones take the remainder).
fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

/// What the watcher saw of the server over the window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Watched {
    /// The server's /proc totals.
    pub server: Option<ServerUsage>,
    /// Entries into a halting cpuidle state of the server's cores.
    pub halts: Option<u64>,
    /// Local timer interrupts of the server's cores.
    pub timer_interrupts: Option<u64>,
}

/// What the watcher saw, and its own CPU.
type WatchResult = (Watched, Duration);

/// Entries into a halting cpuidle state, summed over `cores`; `None` when there are none or
/// a core's counters are unreadable.
fn halts(cores: &[usize]) -> Option<u64> {
    if cores.is_empty() {
        return None;
    }
    cores
        .iter()
        .map(|&c| micro::idle::idle_counters(c).map(|n| n.halts))
        .sum()
}

/// Local timer interrupts (`/proc/interrupts`, `LOC`), summed over `cores`; `None` when there
/// are none or a core's column is unreadable.
fn timer_interrupts(cores: &[usize]) -> Option<u64> {
    if cores.is_empty() {
        return None;
    }
    cores
        .iter()
        .map(|&c| micro::timer::timer_interrupts(c))
        .sum()
}

/// Samples the server's /proc over the window on a load core (never the server's) until
/// `done`, and counts the halts of the server's cores over the same span. Returns what it
/// saw and its own CPU time over the window.
fn spawn_watcher(
    pids: &[u32],
    server_cores: &[usize],
    core: usize,
    measure_start: Instant,
    done: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<WatchResult>> {
    let pids = pids.to_vec();
    let server_cores = server_cores.to_vec();
    std::thread::Builder::new()
        .name("load-watch".into())
        .spawn(move || {
            let _ = thread::pin(core);
            while Instant::now() < measure_start && !done.load(Ordering::Acquire) {
                std::thread::sleep(
                    measure_start
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(50)),
                );
            }
            let cpu_before = thread::thread_cpu();
            let halts_before = halts(&server_cores);
            let timers_before = timer_interrupts(&server_cores);
            // A server that exited since the check in `run` shows up as errors in the load.
            let mut watch = (!pids.is_empty())
                .then(|| ServerWatch::start(&pids).ok())
                .flatten();
            while !done.load(Ordering::Acquire) {
                if let Some(watch) = watch.as_mut()
                    && watch.due()
                {
                    watch.sample();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let usage = watch.map(ServerWatch::finish);
            let halted = halts_before
                .zip(halts(&server_cores))
                .map(|(before, after)| after.saturating_sub(before));
            let timers = timers_before
                .zip(timer_interrupts(&server_cores))
                .map(|(before, after)| after.saturating_sub(before));
            (
                Watched {
                    server: usage,
                    halts: halted,
                    timer_interrupts: timers,
                },
                thread::thread_cpu().saturating_sub(cpu_before),
            )
        })
        .context("could not start the /proc watcher thread")
}

/// Raises the soft file-descriptor limit to the hard one when `concurrency` needs it.
fn raise_fd_limit(concurrency: u32) -> anyhow::Result<()> {
    let need = concurrency as u64 + 64;
    // SAFETY: getrlimit/setrlimit on our own process with a struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Ok(());
        }
        if limit.rlim_cur as u64 >= need {
            return Ok(());
        }
        if (limit.rlim_max as u64) < need {
            return Err(usage(format!(
                "--concurrency {concurrency} needs {need} file descriptors, but the hard limit \
                 is {}; raise it (as root: `ulimit -Hn {need}` in the shell that runs testbed, \
                 or LimitNOFILE in a systemd unit)",
                limit.rlim_max
            )));
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    Ok(())
}
