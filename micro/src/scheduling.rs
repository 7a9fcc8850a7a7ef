//! The kernel's side of the costs: time slice, wake-up latency under load, the GIL convoy,
//! waking from idle, spawn as CPU, and the kernel parameters behind them. One record,
//! flattened into [`crate::Calibration`]'s JSON, measured within a share of its budget.
//!
//! ```text
//!   slice ───── two hogs on one core: slice length, involuntary switches/s
//!   wakeup ──── a 1 ms sleeper beside 0, 1, 2 hogs: lateness p50/p99
//!   gil ─────── python3: I/O thread latency alone / beside a CPU thread, 5 ms and 1 ms
//!   idle ────── a 20 µs request after 2 ms of sleep, idle core vs kept-busy core
//!   network ─── a loopback server thread blocking for each request vs finding it queued, and
//!               the client pausing 0-20 µs: when the core halts, what a spell that does not costs
//!   timer ───── 100 threads on one busy core, each working then sleeping 1 ms vs yielding
//!   spawn ───── thread::spawn in CPU time
//!   noise ───── a spinning thread per core: clock jumps (interruptions) by length
//!   kernel ──── hz, preempt, hrtick, scheduler, each with its source
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use crate::kernel::{self, KernelConfig};
use crate::spawn::ThreadCpu;
use crate::{gil, halt, idle, interruption, loopback, slice, spawn, timer, unit, wakeup};

/// Competing CPU-bound threads beside the 1 ms sleeper.
pub const HOG_COUNTS: [usize; 3] = [0, 1, 2];

/// The kernel figures. Every `Option` is `None` (JSON null) when unmeasured, with the reason
/// under `not_measured`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Scheduling {
    /// Median slice of two CPU-bound threads pinned to one core, ns.
    pub sched_slice_ns: Option<f64>,
    /// 99th percentile of that slice, ns.
    pub sched_slice_p99_ns: Option<f64>,
    /// Involuntary context switches per second of the two threads' CPU time (`getrusage`
    /// over their `CLOCK_THREAD_CPUTIME_ID`): the rate when they have the core to themselves.
    pub sched_involuntary_switches_per_s: Option<f64>,
    /// `[competing_threads, p50_ns, p99_ns]` of a 1 ms sleeper's lateness.
    pub wakeup_latency_busy_ns: Option<Vec<(usize, f64, f64)>>,
    /// `[switch_interval_ns, with_cpu_thread, p50_ns, p99_ns]` of a Python thread's 100 µs
    /// sleep plus getting the GIL back.
    pub gil_io_latency_ns: Option<Vec<(u64, bool, f64, f64)>>,
    /// The Python that ran the GIL script.
    pub gil_python_version: Option<String>,
    /// CPU a core spends per request because it idled between requests, ns.
    pub idle_wakeup_cpu_ns: Option<f64>,
    /// How much later a timer wake-up runs from an idle core than from a busy one (p50), ns.
    pub idle_exit_latency_ns: Option<f64>,
    /// The same difference at the 99th percentile: the exit's tail, ns.
    pub idle_exit_latency_p99_ns: Option<f64>,
    /// Both conditions of the idle measurement in full.
    pub idle_wakeup_detail: Option<idle::IdleWakeup>,
    /// The CPU a thread spends blocking and being woken by a loopback packet, beyond the
    /// same request found already queued, ns (see [`loopback`]).
    pub wakeup_cpu_ns: Option<f64>,
    /// Its conditions in full.
    pub wakeup_cpu_detail: Option<loopback::NetworkWakeup>,
    /// How long a core idles before it halts, ns: a lower bound from the loopback pauses (see
    /// [`halt`]).
    pub halt_after_ns: Option<f64>,
    /// The core time of an idle spell that ended before the halt, ns (see [`halt`]).
    pub brief_idle_cpu_ns: Option<f64>,
    /// The core time a timed sleep costs on a busy core beyond the context switches, ns (see
    /// [`timer`]).
    pub timer_wakeup_cpu_ns: Option<f64>,
    /// The same per timer interrupt the sleep added, ns (see
    /// [`timer::TimerWakeup::interrupt_cpu_ns`]): the simulator's `timer_interrupt_cpu`.
    pub timer_interrupt_cpu_ns: Option<f64>,
    /// Both modes of that measurement in full.
    pub timer_wakeup_detail: Option<timer::TimerWakeup>,
    /// CPU of one `thread::spawn`: the spawner's share plus the child's start-up, ns.
    pub spawn_thread_cpu_ns: Option<f64>,
    /// The spawn's CPU in parts, and wall time in the same loop.
    pub spawn_thread_cpu_detail: Option<ThreadCpu>,
    /// `[mean_ns, per_second]` bins of the interruptions one core suffers while running
    /// (ticks, interrupts, the host): the simulator's `[costs] interruptions`.
    pub interruptions: Option<Vec<(f64, f64)>>,
    /// Share of a busy core's time those interruptions take.
    pub interrupted_share: Option<f64>,
    /// `[work_ns, items, p50_ns, p90_ns, p99_ns, p999_ns]`: fixed work items (100 µs and 1 ms
    /// when nothing interrupts) timed back to back on every core: what the interruptions do to
    /// work, the check of the simulator's replay of them.
    pub work_quantum_ns: Option<Vec<[f64; 6]>>,
    /// The kernel's scheduler parameters, as the simulator's `[machine]` table takes them.
    pub machine: KernelConfig,
    /// Why each null figure above is null.
    pub not_measured: BTreeMap<String, String>,
}

/// Shares of the kernel figures' time.
const SLICE_SHARE: f64 = 0.14;
const WAKEUP_SHARE: f64 = 0.07; // per hog count
const GIL_SHARE: f64 = 0.075; // per case, four cases
const IDLE_SHARE: f64 = 0.25;
const NETWORK_SHARE: f64 = 0.04;
const TIMER_SHARE: f64 = 0.04;
const SPAWN_SHARE: f64 = 0.05;
const NOISE_SHARE: f64 = 0.12;
const QUANTA_SHARE: f64 = 0.3;
/// Below this the work quanta are too few to say anything past their p90: skipped.
const QUANTA_MIN: Duration = Duration::from_secs(2);
/// Below this per case the GIL percentiles mean little: a convoyed operation takes 5 ms.
const GIL_MIN_CASE: Duration = Duration::from_millis(500);

/// Measures everything within `time`; progress lines go to `progress`, warnings to `notes`.
/// `thread_switch_ns` (the same-core switch, measured before) prices the switches the timer
/// measurement takes out of its figure.
pub fn measure(
    time: Duration,
    thread_switch_ns: Option<f64>,
    progress: &mut dyn FnMut(&str),
    notes: &mut Vec<String>,
) -> Scheduling {
    let mut s = Scheduling::default();
    let skip = |s: &mut Scheduling, keys: &[&str], reason: String| {
        for key in keys {
            s.not_measured.insert(key.to_string(), reason.clone());
        }
    };
    let fmt = unit::format_duration;

    match slice::measure(time.mul_f64(SLICE_SHARE)) {
        Ok(slices) => {
            s.sched_involuntary_switches_per_s = Some(slices.involuntary_per_cpu_s);
            match slices.summary() {
                Some(summary) => {
                    s.sched_slice_ns = Some(summary.p50);
                    s.sched_slice_p99_ns = Some(summary.p99);
                    progress(&format!(
                        "sched/slice: p50 {}, p99 {} ({} slices, {} gaps without a switch); getrusage: {:.0} involuntary switches per CPU-second (a mean slice of {}), {:.0} per wall second",
                        fmt(summary.p50),
                        fmt(summary.p99),
                        summary.count,
                        slices.foreign_gaps,
                        slices.involuntary_per_cpu_s,
                        fmt(1e9 / slices.involuntary_per_cpu_s.max(1e-9)),
                        slices.involuntary_per_s,
                    ));
                }
                None => skip(
                    &mut s,
                    &["sched_slice_ns", "sched_slice_p99_ns"],
                    "fewer than three slices per thread in the time given".into(),
                ),
            }
        }
        Err(e) => skip(
            &mut s,
            &[
                "sched_slice_ns",
                "sched_slice_p99_ns",
                "sched_involuntary_switches_per_s",
            ],
            e.to_string(),
        ),
    }

    let mut rows = Vec::new();
    let mut tight = true;
    for hogs in HOG_COUNTS {
        match wakeup::measure(hogs, time.mul_f64(WAKEUP_SHARE)) {
            Ok(late) => {
                tight &= late.tight_slack;
                progress(&format!(
                    "wakeup/{hogs}_hogs: p50 {}, p99 {} late ({} wake-ups)",
                    fmt(late.summary.p50),
                    fmt(late.summary.p99),
                    late.summary.count
                ));
                rows.push((hogs, late.summary.p50, late.summary.p99));
            }
            Err(e) => notes.push(format!("wakeup/{hogs}_hogs not measured: {e}")),
        }
    }
    if !tight {
        notes.push(
            "warning: the timer slack could not be tightened; wake-up latencies include up to 50 µs of it"
                .into(),
        );
    }
    if rows.is_empty() {
        skip(
            &mut s,
            &["wakeup_latency_busy_ns"],
            "no hog count could be measured".into(),
        );
    } else {
        s.wakeup_latency_busy_ns = Some(rows);
    }

    let per_case = time.mul_f64(GIL_SHARE);
    let gil_keys = ["gil_io_latency_ns", "gil_python_version"];
    if per_case < GIL_MIN_CASE {
        skip(
            &mut s,
            &gil_keys,
            format!(
                "the budget leaves {} per GIL case, under {}; use the standard budget",
                fmt(per_case.as_nanos() as f64),
                fmt(GIL_MIN_CASE.as_nanos() as f64)
            ),
        );
    } else {
        match gil::measure(per_case) {
            Ok(convoy) => {
                for case in &convoy.cases {
                    progress(&format!(
                        "gil/{}_{}: p50 {}, p99 {} ({} operations, python {})",
                        fmt(case.switch_interval_ns as f64),
                        if case.with_cpu_thread {
                            "with_cpu_thread"
                        } else {
                            "alone"
                        },
                        fmt(case.summary.p50),
                        fmt(case.summary.p99),
                        case.summary.count,
                        convoy.python
                    ));
                }
                s.gil_io_latency_ns = Some(
                    convoy
                        .cases
                        .iter()
                        .map(|c| {
                            (
                                c.switch_interval_ns,
                                c.with_cpu_thread,
                                c.summary.p50,
                                c.summary.p99,
                            )
                        })
                        .collect(),
                );
                s.gil_python_version = Some(convoy.python);
            }
            Err(reason) => skip(&mut s, &gil_keys, reason),
        }
    }

    let idle_keys = [
        "idle_wakeup_cpu_ns",
        "idle_exit_latency_ns",
        "idle_exit_latency_p99_ns",
        "idle_wakeup_detail",
    ];
    match idle::measure(time.mul_f64(IDLE_SHARE)) {
        Ok(figures) => {
            let (exit, exit_p99) = (figures.exit_latency_ns(), figures.exit_latency_p99_ns());
            if exit >= 0.0 {
                s.idle_exit_latency_ns = Some(exit);
            } else {
                skip(
                    &mut s,
                    &["idle_exit_latency_ns"],
                    format!(
                        "the timer ran {} earlier from idle than from a busy core at the median: the run's noise is larger than the exit; run again on a quieter machine",
                        fmt(-exit)
                    ),
                );
            }
            if exit_p99 >= exit.max(0.0) {
                s.idle_exit_latency_p99_ns = Some(exit_p99);
            } else {
                skip(
                    &mut s,
                    &["idle_exit_latency_p99_ns"],
                    format!(
                        "the busy core's 99th percentile was the later one ({} against {} from idle): a stall in the busy run hides the exit's tail; run again, or with a larger --budget",
                        fmt(figures.busy.lateness.p99),
                        fmt(figures.idle.lateness.p99)
                    ),
                );
            }
            s.idle_wakeup_cpu_ns = figures.wakeup_cpu_ns();
            if s.idle_wakeup_cpu_ns.is_none() {
                skip(
                    &mut s,
                    &["idle_wakeup_cpu_ns"],
                    "cpuidle statistics (/sys/devices/system/cpu/cpuN/cpuidle) unreadable".into(),
                );
            }
            progress(&format!(
                "idle/wakeup: core busy {} per request from idle vs thread CPU {} on a busy core (work alone {}; thread CPU from idle {}); {:.2} idle entries per request",
                figures.idle.core_busy_ns.map_or("-".into(), fmt),
                fmt(figures.busy.thread_cpu_ns),
                fmt(figures.work_ns),
                fmt(figures.idle.thread_cpu_ns),
                figures.idle.idle_entries_per_request.unwrap_or(f64::NAN),
            ));
            progress(&format!(
                "idle/exit: timer lateness p50 {} (p99 {}) from idle, p50 {} (p99 {}) from a busy core; driver {}",
                fmt(figures.idle.lateness.p50),
                fmt(figures.idle.lateness.p99),
                fmt(figures.busy.lateness.p50),
                fmt(figures.busy.lateness.p99),
                figures.driver.as_deref().unwrap_or("unknown"),
            ));
            s.idle_wakeup_detail = Some(figures);
        }
        Err(e) => skip(&mut s, &idle_keys, e.to_string()),
    }

    match loopback::measure(time.mul_f64(NETWORK_SHARE)) {
        Ok(figures) => {
            progress(&format!(
                "wakeup/network: thread CPU {} per request blocking ({:.2} voluntary switches each), {} with {} queued ({:.2}): {} per wake-up ({} and {} rounds); {} more when the client sleeps",
                fmt(figures.blocking.thread_cpu_ns),
                figures.blocking.voluntary_switches_per_request,
                fmt(figures.queued.thread_cpu_ns),
                figures.queued.depth,
                figures.queued.voluntary_switches_per_request,
                fmt(figures.wakeup_cpu_ns()),
                figures.blocking.rounds,
                figures.queued.rounds,
                figures.peer_wakeup_cpu_ns().map_or("?".into(), fmt),
            ));
            let doubt = figures.doubt();
            match &doubt {
                Some(reason) => skip(&mut s, &["wakeup_cpu_ns"], reason.clone()),
                None => s.wakeup_cpu_ns = Some(figures.wakeup_cpu_ns()),
            }
            let spells = halt::idle_spells(&figures);
            let halts: Vec<String> = figures
                .gaps
                .iter()
                .chain([&figures.blocking])
                .map(|c| {
                    format!(
                        "{} µs {:.2}",
                        c.gap_ns.unwrap_or(0) / 1000,
                        c.halts_per_request.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            progress(&format!(
                "idle/halt: halts per request by client pause {}: halts after {}; an idle spell that does not halt costs the core {}",
                halts.join(", "),
                spells
                    .halt_after_ns
                    .as_ref()
                    .map_or("?".into(), |v| fmt(*v)),
                spells
                    .brief_idle_cpu_ns
                    .as_ref()
                    .map_or("?".into(), |v| fmt(*v)),
            ));
            match spells.paired(doubt) {
                Ok((halt_after, brief)) => {
                    s.halt_after_ns = Some(halt_after);
                    s.brief_idle_cpu_ns = Some(brief);
                }
                Err(reason) => skip(&mut s, &["halt_after_ns", "brief_idle_cpu_ns"], reason),
            }
            s.wakeup_cpu_detail = Some(figures);
        }
        Err(e) => skip(
            &mut s,
            &[
                "wakeup_cpu_ns",
                "wakeup_cpu_detail",
                "halt_after_ns",
                "brief_idle_cpu_ns",
            ],
            e.to_string(),
        ),
    }

    match timer::measure(time.mul_f64(TIMER_SHARE)) {
        Ok(figures) => {
            let (y, z) = (&figures.yielding, &figures.sleeping);
            progress(&format!(
                "wakeup/timer: {} threads on one core, core time per iteration {} yielding, {} sleeping {} ({:.2} and {:.2} switches, {:.2} timer interrupts per sleep)",
                figures.threads,
                fmt(y.core_ns),
                fmt(figures.sleep_ns),
                fmt(z.core_ns),
                y.switches,
                z.switches,
                z.timer_interrupts.unwrap_or(f64::NAN),
            ));
            match thread_switch_ns {
                Some(switch) => {
                    s.timer_wakeup_cpu_ns = Some(figures.wakeup_cpu_ns(switch));
                    s.timer_interrupt_cpu_ns = figures.interrupt_cpu_ns(switch);
                    if s.timer_interrupt_cpu_ns.is_none() {
                        skip(
                            &mut s,
                            &["timer_interrupt_cpu_ns"],
                            match figures
                                .sleeping
                                .timer_interrupts
                                .zip(figures.yielding.timer_interrupts)
                            {
                                Some((z, y)) => format!(
                                    "the sleeps added {:.3} local timer interrupts each (/proc/interrupts), fewer than {}",
                                    z - y,
                                    timer::MIN_INTERRUPTS_PER_SLEEP
                                ),
                                None => "local timer interrupts could not be counted (no LOC row for this core in /proc/interrupts)".into(),
                            },
                        );
                    }
                }
                None => skip(
                    &mut s,
                    &["timer_wakeup_cpu_ns", "timer_interrupt_cpu_ns"],
                    "the same-core thread switch, which it subtracts, was not measured".into(),
                ),
            }
            s.timer_wakeup_detail = Some(figures);
        }
        Err(e) => skip(
            &mut s,
            &[
                "timer_wakeup_cpu_ns",
                "timer_interrupt_cpu_ns",
                "timer_wakeup_detail",
            ],
            e.to_string(),
        ),
    }

    match spawn::thread_cpu(time.mul_f64(SPAWN_SHARE)) {
        Ok(cpu) => {
            progress(&format!(
                "spawn/thread_cpu: {} (spawner {} + child start {}); process CPU per spawn + join {}, wall {}",
                fmt(cpu.spawn_ns()),
                fmt(cpu.spawner_ns),
                fmt(cpu.child_start_ns),
                fmt(cpu.process_ns),
                fmt(cpu.wall_ns),
            ));
            s.spawn_thread_cpu_ns = Some(cpu.spawn_ns());
            s.spawn_thread_cpu_detail = Some(cpu);
        }
        Err(e) => skip(
            &mut s,
            &["spawn_thread_cpu_ns", "spawn_thread_cpu_detail"],
            e.to_string(),
        ),
    }

    match interruption::measure(time.mul_f64(NOISE_SHARE)) {
        Ok(noise) => {
            let longest = noise.bins.last().map_or(0.0, |b| b.0);
            progress(&format!(
                "noise/interruptions: {:.0} a second per core, {:.2} % of a busy core, longest bin's mean {} ({} cores, {} each, jumps of {} or more)",
                noise.rate_per_s(),
                noise.share * 100.0,
                fmt(longest),
                noise.cores,
                fmt(noise.elapsed.as_nanos() as f64),
                fmt(noise.threshold_ns as f64),
            ));
            s.interrupted_share = Some(noise.share);
            s.interruptions = Some(noise.bins);
        }
        Err(e) => skip(
            &mut s,
            &["interruptions", "interrupted_share"],
            e.to_string(),
        ),
    }

    let quanta_time = time.mul_f64(QUANTA_SHARE);
    if quanta_time < QUANTA_MIN {
        skip(
            &mut s,
            &["work_quantum_ns"],
            format!(
                "the budget leaves {} for the work quanta, under {}; use the standard budget",
                fmt(quanta_time.as_nanos() as f64),
                fmt(QUANTA_MIN.as_nanos() as f64)
            ),
        );
    } else {
        match interruption::quanta(quanta_time) {
            Ok(rows) => {
                for [work, items, p50, p90, p99, p999] in &rows {
                    progress(&format!(
                        "noise/work_quantum/{}: p50 {}, p90 {}, p99 {}, p99.9 {} ({items} items)",
                        fmt(*work),
                        fmt(*p50),
                        fmt(*p90),
                        fmt(*p99),
                        fmt(*p999)
                    ));
                }
                s.work_quantum_ns = Some(rows);
            }
            Err(e) => skip(&mut s, &["work_quantum_ns"], e.to_string()),
        }
    }

    for (key, reason) in &s.not_measured {
        notes.push(format!("{key} not measured: {reason}"));
    }
    s.machine = kernel::detect(s.sched_slice_ns);
    progress(&format!(
        "kernel: {}",
        s.machine
            .source
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    ));
    s
}

mod table;

#[cfg(test)]
mod tests;
