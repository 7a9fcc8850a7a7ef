//! What waking a core from idle costs: the CPU a request takes when its core was idle against
//! the same request on a core kept busy, and how late a timer wake-up is from idle.
//!
//! A worker pinned to one core repeats one *request*: sleep until 2 ms from now (timer slack
//! 1 ns), then a fixed amount of arithmetic calibrated to [`WORK_NS`] on a warm core. Rounds
//! alternate between two conditions so that load from other processes falls on both alike:
//!
//! ```text
//!   idle : nothing else on the core; it enters a cpuidle state (here haltpoll: HLT, a VM
//!          exit) during every sleep
//!   busy : a SCHED_IDLE spinner on the core; it never lets the core idle, and the waking
//!          worker preempts it at once (a normal thread always preempts an idle-class one)
//! ```
//!
//! Per request:
//! - *thread CPU* (`CLOCK_THREAD_CPUTIME_ID` from one wake-up to the next): the work, the
//!   `clock_nanosleep` system call, and the scheduler paths charged to the worker. On an idle
//!   core it also holds the work's slowdown on a cold core.
//! - *core busy* (idle rounds only): wall time minus the time the core spent in cpuidle states
//!   (`/sys/devices/system/cpu/cpuN/cpuidle/state*/time`), per request. That is the thread CPU
//!   plus the timer interrupt, the idle loop's entry and exit (governor, tick stop and restart)
//!   and the switches to and from the idle task: everything the core did that was not
//!   sitting in an idle state. Anything else that ran on the core in that round is in it too,
//!   so the figure is the median of the rounds.
//! - *lateness*: how long after the timer's deadline the worker ran. From idle it includes the
//!   exit from the idle state; from the busy core, preempting the spinner.
//!
//! `idle_wakeup_cpu` = core busy per request (idle) − thread CPU per request (busy): the CPU a
//! core spends because it went idle between requests. `idle_exit_latency` = p50 lateness
//! (idle) − p50 lateness (busy).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::clock::{
    become_idle_class, monotonic_ns, sleep_until, thread_cpu_ns, tighten_timer_slack,
};
use crate::error::Error;
use crate::{affinity, quantile, wakeup};

/// The request's own work on a warm core.
pub const WORK_NS: f64 = 20_000.0;
/// The sleep before each request.
pub const SLEEP_NS: u64 = 2_000_000;
/// Requests per round.
const PER_ROUND: usize = 40;

/// One condition's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// Median over rounds of the worker's CPU per request, ns.
    pub thread_cpu_ns: f64,
    /// Median over rounds of the core's non-idle time per request, ns (`None` on the busy core,
    /// where the spinner fills it, or when cpuidle statistics are unreadable).
    pub core_busy_ns: Option<f64>,
    /// Median over rounds of idle-state entries per request (about 1 from idle, 0 when busy).
    pub idle_entries_per_request: Option<f64>,
    /// p50 and p99 of the timer wake-up's lateness, ns.
    pub lateness: quantile::Summary,
    /// Rounds counted.
    pub rounds: usize,
    /// Rounds dropped because the core did not idle between requests (another process kept
    /// it busy); idle condition only.
    pub rounds_not_idle: usize,
}

/// Both conditions and the work they did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IdleWakeup {
    /// Thread CPU of the request's work alone on a warm core (the calibration), ns.
    pub work_ns: f64,
    /// The core idled between requests.
    pub idle: Condition,
    /// A SCHED_IDLE spinner kept the core busy.
    pub busy: Condition,
    /// The cpuidle driver (`/sys/devices/system/cpu/cpuidle/current_driver`).
    pub driver: Option<String>,
}

impl IdleWakeup {
    /// The CPU a core spends on going idle and waking per request, ns.
    pub fn wakeup_cpu_ns(&self) -> Option<f64> {
        self.idle
            .core_busy_ns
            .map(|busy| busy - self.busy.thread_cpu_ns)
    }

    /// How much later a timer wake-up runs from idle than from a busy core (p50), ns.
    pub fn exit_latency_ns(&self) -> f64 {
        self.idle.lateness.p50 - self.busy.lateness.p50
    }

    /// The same at the 99th percentile: how much later the slowest wake-ups from idle run
    /// than the slowest from a busy core (the quantiles subtracted, as if the two paths'
    /// delays ranked alike), ns.
    pub fn exit_latency_p99_ns(&self) -> f64 {
        self.idle.lateness.p99 - self.busy.lateness.p99
    }
}

/// A core's cpuidle counters, summed over its states.
#[derive(Debug, Clone, Copy)]
pub struct IdleCounters {
    /// Time in every state, µs.
    pub time_us: u64,
    /// Entries into every state.
    pub entries: u64,
    /// Entries into the states that halt the core (all but the polling one, `POLL`).
    pub halts: u64,
}

/// `cpu`'s cpuidle counters, or `None` when unreadable.
pub fn idle_counters(cpu: usize) -> Option<IdleCounters> {
    let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle");
    let mut sum = IdleCounters {
        time_us: 0,
        entries: 0,
        halts: 0,
    };
    let mut any = false;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("state") {
            continue;
        }
        let read = |name: &str| -> Option<String> {
            std::fs::read_to_string(entry.path().join(name))
                .ok()
                .map(|t| t.trim().to_string())
        };
        let number = |name: &str| -> Option<u64> { read(name)?.parse().ok() };
        let entries = number("usage")?;
        sum.time_us += number("time")?;
        sum.entries += entries;
        if read("name").as_deref() != Some("POLL") {
            sum.halts += entries;
        }
        any = true;
    }
    any.then_some(sum)
}

/// The fixed arithmetic of one request: `iterations` dependent adds and multiplies.
pub(crate) fn work(iterations: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..iterations {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}

/// Iterations of [`work`] that take [`WORK_NS`] of thread CPU on a warm core, and that time.
pub(crate) fn calibrate_work() -> (u64, f64) {
    let mut iterations = 1_000u64;
    let time = |n: u64| {
        let start = thread_cpu_ns();
        work(n);
        (thread_cpu_ns() - start) as f64
    };
    for _ in 0..20 {
        let took = time(iterations).max(1.0);
        iterations = ((iterations as f64 * WORK_NS / took) as u64).max(1);
    }
    let mut samples: Vec<f64> = (0..31).map(|_| time(iterations)).collect();
    samples.sort_by(f64::total_cmp);
    (iterations, samples[samples.len() / 2])
}

/// One round's per-request figures.
struct Round {
    thread_cpu_ns: f64,
    core_busy_ns: Option<f64>,
    idle_entries: Option<f64>,
    lateness: Vec<f64>,
}

fn round(cpu: usize, iterations: u64) -> Round {
    let before = idle_counters(cpu);
    let wall0 = monotonic_ns();
    let mut lateness = Vec::with_capacity(PER_ROUND);
    // The first wake-up opens the window, so every request counted is one whole cycle.
    sleep_until(monotonic_ns() + SLEEP_NS);
    let cpu0 = thread_cpu_ns();
    let start = monotonic_ns();
    for _ in 0..PER_ROUND {
        work(iterations);
        let target = monotonic_ns() + SLEEP_NS;
        sleep_until(target);
        lateness.push(monotonic_ns().saturating_sub(target) as f64);
    }
    let cpu1 = thread_cpu_ns();
    let end = monotonic_ns();
    let after = idle_counters(cpu);
    let n = PER_ROUND as f64;
    let (core_busy_ns, idle_entries) = match (before, after) {
        (Some(b), Some(a)) => {
            // The counters span the whole round; scale the idle time to the counted window.
            let wall = (monotonic_ns().max(end) - wall0) as f64;
            let idle_ns = (a.time_us.saturating_sub(b.time_us) * 1_000) as f64;
            let busy_fraction = 1.0 - idle_ns / wall;
            (
                Some(busy_fraction * (end - start) as f64 / n),
                Some(a.entries.saturating_sub(b.entries) as f64 / n),
            )
        }
        _ => (None, None),
    };
    Round {
        thread_cpu_ns: (cpu1 - cpu0) as f64 / n,
        core_busy_ns,
        idle_entries,
        lateness,
    }
}

/// An idle round counts only if the core entered an idle state before at least half of its
/// requests; otherwise other processes kept it busy and it measured the busy case.
const MIN_IDLE_ENTRIES: f64 = 0.5;

fn condition(all: &[Round], with_core: bool) -> Result<Condition, Error> {
    let rounds: Vec<&Round> = all
        .iter()
        .filter(|r| !with_core || r.idle_entries.is_none_or(|e| e >= MIN_IDLE_ENTRIES))
        .collect();
    let pick = |f: fn(&Round) -> Option<f64>| {
        let values: Vec<f64> = rounds.iter().copied().filter_map(f).collect();
        quantile::median(&values)
    };
    let lateness: Vec<f64> = rounds.iter().flat_map(|r| r.lateness.clone()).collect();
    let rounds = &rounds;
    Ok(Condition {
        thread_cpu_ns: pick(|r| Some(r.thread_cpu_ns)).ok_or(Error::Disturbed {
            what: "idle wake-up",
            reason: "the core never went idle between requests (other processes kept it busy)",
        })?,
        core_busy_ns: if with_core {
            pick(|r| r.core_busy_ns)
        } else {
            None
        },
        idle_entries_per_request: pick(|r| r.idle_entries),
        lateness: quantile::summarize(&lateness).ok_or(Error::NoSamples {
            what: "idle exit latency",
        })?,
        rounds: rounds.len(),
        rounds_not_idle: all.len() - rounds.len(),
    })
}

/// Alternates idle and busy rounds for about `duration`.
pub fn measure(duration: Duration) -> Result<IdleWakeup, Error> {
    let core = affinity::pick(1)?[0];
    let deadline = monotonic_ns() + duration.as_nanos() as u64;
    let worker = std::thread::Builder::new()
        .name("micro-idle".into())
        .spawn(move || -> Result<_, Error> {
            affinity::pin(core)?;
            tighten_timer_slack();
            let (iterations, work_ns) = calibrate_work();
            let (mut idle, mut busy) = (Vec::new(), Vec::new());
            // At least one pair, then as many as fit: a loaded machine stretches the rounds.
            while idle.is_empty() || monotonic_ns() < deadline {
                idle.push(round(core.id, iterations));
                let stop = Arc::new(AtomicBool::new(false));
                let spinner = wakeup::spinners(1, core, &stop, become_idle_class)?;
                // Let the spinner reach the core before the round starts.
                std::thread::sleep(Duration::from_millis(2));
                busy.push(round(core.id, iterations));
                wakeup::stop_all(&stop, spinner)?;
            }
            Ok((work_ns, idle, busy))
        })
        .map_err(Error::io("spawning the idle worker"))?;
    let (work_ns, idle, busy) = worker.join().map_err(|_| Error::Panicked {
        what: "idle worker",
    })??;
    Ok(IdleWakeup {
        work_ns,
        idle: condition(&idle, true)?,
        busy: condition(&busy, false)?,
        driver: std::fs::read_to_string("/sys/devices/system/cpu/cpuidle/current_driver")
            .ok()
            .map(|d| d.trim().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(thread_cpu_ns: f64, idle_entries: f64, core_busy_ns: f64) -> Round {
        Round {
            thread_cpu_ns,
            core_busy_ns: Some(core_busy_ns),
            idle_entries: Some(idle_entries),
            lateness: vec![thread_cpu_ns / 1000.0],
        }
    }

    #[test]
    fn rounds_where_the_core_did_not_idle_are_dropped() {
        let rounds = [
            round(30e3, 1.0, 60e3),
            round(31e3, 0.9, 62e3),
            round(99e3, 0.1, 500e3),
        ];
        let idle = condition(&rounds, true).unwrap();
        assert_eq!((idle.rounds, idle.rounds_not_idle), (2, 1));
        assert_eq!(idle.core_busy_ns, Some(60e3));
        let busy = condition(&rounds, false).unwrap();
        assert_eq!((busy.rounds, busy.core_busy_ns), (3, None));
        assert!(matches!(
            condition(&rounds[2..], true),
            Err(Error::Disturbed { .. })
        ));
    }

    #[test]
    fn the_work_is_calibrated_and_both_conditions_run() {
        let (iterations, took) = calibrate_work();
        assert!(iterations > 0 && took > 0.0);
        // A loaded machine may never let the core idle: that is a reason, not a failure.
        match measure(Duration::from_millis(100)) {
            Ok(figures) => assert!(figures.busy.thread_cpu_ns > 0.0),
            Err(Error::Disturbed { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
}
