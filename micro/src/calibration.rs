//! This machine's costs in one record: measured by [`calibrate`] on a fixed budget, or read back
//! from Criterion's results by [`from_criterion`], and written as the simulator's `[costs]`.

mod budget;
mod criterion;

pub use budget::Budget;
pub use criterion::{CriterionEstimate, criterion_estimate, criterion_ids, from_criterion};

use std::time::Duration;

use crate::error::Error;
use crate::estimate::{self, Estimate};
use crate::rusage;
use crate::switch::{self, Placement};
use crate::{add, machine, memory, spawn, task, unit};

/// What an add, a switch, a spawn and an idle unit cost here. Times in nanoseconds per unit;
/// `None` where this machine could not measure it (the reason is in the notes).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// One u64 add in a dependent chain (latency).
    pub add_ns: Option<f64>,
    /// One switch between two threads pinned to one core, minus the syscalls' own cost.
    pub thread_switch_same_core_ns: Option<f64>,
    /// One hand-off to a thread sleeping on another core: wake-up latency, not a switch.
    pub thread_wakeup_cross_core_ns: Option<f64>,
    /// One spinning hand-off between two cores: the hardware floor.
    pub spin_handoff_cross_core_ns: Option<f64>,
    /// The same-core ping-pong with no affinity at all.
    pub thread_switch_unpinned_ns: Option<f64>,
    /// One switch between two may coroutines on one worker (`yield_now`).
    pub task_switch_may_ns: Option<f64>,
    /// One switch between two tokio tasks on a current-thread runtime (`Notify`).
    pub task_switch_tokio_ns: Option<f64>,
    /// Spawn and join one OS thread.
    pub spawn_thread_ns: Option<f64>,
    /// Spawn and join one may coroutine.
    pub spawn_may_ns: Option<f64>,
    /// Spawn and await one tokio task.
    pub spawn_tokio_ns: Option<f64>,
    /// Bytes per idle OS thread: resident (VmRSS slope) plus kernel stack when measurable.
    pub thread_memory_bytes: Option<f64>,
    /// Resident bytes per parked may coroutine (VmRSS slope).
    pub may_coroutine_memory_bytes: Option<f64>,
    /// Resident bytes per waiting tokio task (VmRSS slope).
    pub tokio_task_memory_bytes: Option<f64>,
    /// CPU model as /proc/cpuinfo names it.
    pub cpu_model: String,
    /// Cores this process may use.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Time slice, wake-up latency, GIL, idle wake-up, spawn CPU and the kernel parameters,
    /// as top-level JSON keys.
    #[serde(flatten)]
    pub scheduling: crate::scheduling::Scheduling,
    /// The indirect cost of a switch: working-set, runnable-thread and background curves.
    #[serde(flatten)]
    pub indirect: crate::indirect::IndirectCosts,
}

/// Share of the whole budget for the kernel figures (`scheduling`), on top of the rest.
const SCHEDULING_SHARE: f64 = 0.75;

/// Blocking ping-pongs should switch twice per round trip; spinning ones never.
fn expected_switches(name: &str) -> f64 {
    if name == "spin_handoff" {
        0.0
    } else {
        switch::SWITCHES_PER_ROUND_TRIP as f64
    }
}

/// A measurement with no detail line to add.
fn timed(
    slice: Duration,
    batch: impl FnMut(u64) -> Result<Duration, Error>,
) -> Result<(Estimate, Option<String>), Error> {
    estimate::run_for(slice, batch).map(|estimate| (estimate, None))
}

/// Runs one thread ping-pong measurement and cross-checks its switch count.
fn thread_measurement(
    name: &str,
    slice: Duration,
    notes: &mut Vec<String>,
    run: impl Fn(u64) -> Result<switch::PingPong, Error>,
) -> Result<(Estimate, Option<String>), Error> {
    let mut counted = rusage::Switches::default();
    let mut round_trips = 0;
    let (mut elapsed, mut baseline) = (Duration::ZERO, Duration::ZERO);
    let estimate = estimate::run_for(slice, |switches| {
        let result = run(switch::round_trips_for(switches))?;
        counted = counted.plus(&result.switches);
        round_trips += result.round_trips;
        elapsed += result.elapsed;
        baseline += result.baseline;
        Ok(result.time_for(switches))
    })?;
    let observed = rusage::per_round_trip(&counted, round_trips);
    let per_switch =
        |d: Duration| unit::format_duration(switch::per_switch_ns(d, Duration::ZERO, round_trips));
    let detail = format!(
        "  {observed:.2} switches per round trip (getrusage); raw {} per hand-off, of which syscall baseline {}",
        per_switch(elapsed),
        per_switch(baseline),
    );
    if let Some(warning) = rusage::check(
        &format!("thread_switch/{name}"),
        observed,
        expected_switches(name),
    ) {
        notes.push(format!("warning: {warning}"));
    }
    Ok((estimate, Some(detail)))
}

/// Measures everything within the budget; `progress` gets a short line per measurement (this
/// function never prints). A value that can't be measured is `None` and its reason is in the
/// returned notes, as are warnings about switch counts that do not match the benchmark.
pub fn calibrate(budget: &Budget, progress: &mut dyn FnMut(&str)) -> (Calibration, Vec<String>) {
    task::init_may();
    let slice = budget.slice();
    let mut notes = Vec::new();
    let mut calibration = Calibration {
        cpu_model: machine::cpu_model(),
        cores: machine::cores(),
        kernel: machine::kernel(),
        ..Calibration::default()
    };

    let mut time =
        |name: &str, notes: &mut Vec<String>, result: Result<(Estimate, Option<String>), Error>| {
            match result {
                Ok((estimate, detail)) => {
                    progress(&format!(
                        "{name}: {} (median of {} batches, {} to {})",
                        unit::format_duration(estimate.median_ns),
                        estimate.batches,
                        unit::format_duration(estimate.min_ns),
                        unit::format_duration(estimate.max_ns),
                    ));
                    if let Some(detail) = detail {
                        progress(&detail);
                    }
                    Some(estimate.median_ns)
                }
                Err(error) => {
                    progress(&format!("{name}: not measured"));
                    notes.push(format!("{name} not measured: {error}"));
                    None
                }
            }
        };

    calibration.add_ns = time(
        "add/dependent",
        &mut notes,
        timed(slice, |n| Ok(add::dependent(n))),
    );
    let independent = timed(slice / 4, |n| Ok(add::independent(n)));
    time("add/independent", &mut notes, independent);

    let cross_core_possible = calibration.cores >= 2;
    for placement in [
        Placement::SameCore,
        Placement::CrossCore,
        Placement::Unpinned,
    ] {
        let name = placement.name();
        let label = format!("thread_switch/{name}");
        let value = if placement == Placement::CrossCore && !cross_core_possible {
            notes.push(format!(
                "{label} skipped: it needs 2 cores and this process may use {}",
                calibration.cores
            ));
            None
        } else {
            let result = thread_measurement(name, slice, &mut notes, |round_trips| {
                switch::pipe_ping_pong(placement, round_trips)
            });
            time(&label, &mut notes, result)
        };
        match placement {
            Placement::SameCore => calibration.thread_switch_same_core_ns = value,
            Placement::CrossCore => calibration.thread_wakeup_cross_core_ns = value,
            Placement::Unpinned => calibration.thread_switch_unpinned_ns = value,
        }
    }
    calibration.spin_handoff_cross_core_ns = if cross_core_possible {
        let result = thread_measurement("spin_handoff", slice, &mut notes, switch::spin_handoff);
        time("thread_switch/spin_handoff", &mut notes, result)
    } else {
        notes.push(format!(
            "thread_switch/spin_handoff skipped: it needs 2 cores and this process may use {}",
            calibration.cores
        ));
        None
    };

    let per_switch =
        |run: Result<task::TaskRun, Error>, switches: u64| run.map(|r| r.time_for(switches));
    calibration.task_switch_may_ns = time(
        "task_switch/may",
        &mut notes,
        timed(slice, |n| {
            per_switch(task::may_yield(switch::round_trips_for(n)), n)
        }),
    );
    let channel = timed(slice / 2, |n| {
        per_switch(task::may_channel(switch::round_trips_for(n)), n)
    });
    time("task_switch/may_channel", &mut notes, channel);
    calibration.task_switch_tokio_ns = time(
        "task_switch/tokio",
        &mut notes,
        timed(slice, |n| {
            per_switch(task::tokio_notify(switch::round_trips_for(n)), n)
        }),
    );

    calibration.spawn_thread_ns = time("spawn/thread", &mut notes, timed(slice, spawn::thread));
    calibration.spawn_may_ns = time("spawn/may", &mut notes, timed(slice, spawn::may));
    calibration.spawn_tokio_ns = time("spawn/tokio", &mut notes, timed(slice, spawn::tokio));
    let join = timed(slice / 2, spawn::rayon_join);
    time("spawn/rayon_join", &mut notes, join);

    let mut bytes = |name: &str, notes: &mut Vec<String>, fit: Result<memory::SlopeFit, Error>| {
        match fit {
            // Another process (or a second calibration in the same process) can release more
            // memory than the units took: a slope at or below zero measures that, not a unit.
            Ok(line) if line.bytes_per_unit <= 0.0 || !line.bytes_per_unit.is_finite() => {
                notes.push(format!(
                    "{name} not measured: resident memory did not grow with the count (slope {:.0} B); something else was freeing memory",
                    line.bytes_per_unit
                ));
                None
            }
            Ok(line) => {
                progress(&format!(
                    "{name}: {} per unit (slope over {} counts up to {}, r² {:.3})",
                    unit::format_size(line.bytes_per_unit),
                    line.points.len(),
                    line.points.last().map_or(0.0, |p| p.0),
                    line.r_squared
                ));
                if line.r_squared < 0.9 {
                    notes.push(format!(
                        "warning: {name}: resident memory grew unevenly (r² {:.2}); another process or the allocator disturbed the fit",
                        line.r_squared
                    ));
                }
                Some(line.bytes_per_unit)
            }
            Err(error) => {
                notes.push(format!("{name} not measured: {error}"));
                None
            }
        }
    };

    calibration.thread_memory_bytes = match memory::threads(budget.threads) {
        Ok(fits) => {
            let user = bytes("memory/thread (resident)", &mut notes, Ok(fits.resident));
            let kernel = fits
                .kernel_stack
                .filter(|line| line.r_squared >= 0.9 && line.bytes_per_unit > 0.0);
            match kernel {
                Some(line) => {
                    let kernel = bytes("memory/thread (kernel stack)", &mut notes, Ok(line));
                    user.zip(kernel).map(|(u, k)| u + k)
                }
                None => {
                    notes.push(
                        "memory/thread: the KernelStack slope was unreadable or disturbed; thread_memory_bytes is VmRSS only"
                            .to_string(),
                    );
                    user
                }
            }
        }
        Err(error) => bytes("memory/thread", &mut notes, Err(error)),
    };
    calibration.may_coroutine_memory_bytes = bytes(
        "memory/may_coroutine",
        &mut notes,
        memory::may_coroutines(budget.coroutines),
    );
    calibration.tokio_task_memory_bytes = bytes(
        "memory/tokio_task",
        &mut notes,
        memory::tokio_tasks(budget.tasks),
    );
    calibration.scheduling = crate::scheduling::measure(
        budget.total.mul_f64(SCHEDULING_SHARE),
        calibration.thread_switch_same_core_ns,
        progress,
        &mut notes,
    );
    let sizes = crate::cache::CacheSizes::read();
    let plan = crate::indirect::Plan::for_budget(&sizes, budget.total());
    calibration.indirect = crate::indirect::measure(&sizes, &plan, &mut notes, progress);
    (calibration, notes)
}

impl Calibration {
    /// The simulator's `[costs]` table as TOML text, preceded by comment lines naming the
    /// machine, kernel and date. Values that were not measured are left out (with a comment),
    /// so the simulator keeps its reference value for them.
    ///
    /// The keys, their units and which measurement fills each come from the simulator's cost
    /// table (`sim::cost::KEYS`), so a new key is written here as soon as it has a row there.
    pub fn to_costs_toml(&self) -> String {
        let measured = serde_json::to_value(self).unwrap_or_default();
        let mut text = format!(
            "# Measured by `calibrate` (switchcost micro crate) on {date}.\n\
             # Machine: {cpu}, {cores} cores, Linux {kernel}.\n\
             # Timings on a shared or virtual machine are noisy; see micro/README.md.\n\
             [costs]\n",
            date = machine::today(),
            cpu = self.cpu_model,
            cores = self.cores,
            kernel = self.kernel,
        );
        for key in sim::cost::KEYS {
            let Some(measurement) = key.measured_by else {
                continue;
            };
            // A difference of two noisy figures can come out negative; the simulator refuses a
            // negative cost, so it keeps its reference instead.
            let negative = measured
                .pointer(measurement.json_pointer)
                .and_then(serde_json::Value::as_f64)
                .is_some_and(|v| v < 0.0);
            if negative {
                text.push_str(&format!(
                    "# {}: measured below zero here, left out ({})\n",
                    key.name, measurement.what
                ));
                continue;
            }
            let value = key.measured_text(&measured, |kind, v| match kind {
                sim::cost::Unit::Size => unit::format_size(v),
                _ => unit::format_duration(v),
            });
            let (name, what) = (key.name, measurement.what);
            match value {
                Some(value) => text.push_str(&format!("{name} = {value}  # {what}\n")),
                None => text.push_str(&format!("# {name}: not measured here ({what})\n")),
            }
        }
        // Without the interrupt count (no `LOC` row, as on arm64) the timer's price per sleep
        // is still a measurement: written under the older key, never beside the newer one.
        if !text.contains("\ntimer_interrupt_cpu = ")
            && let Some(ns) = self.scheduling.timer_wakeup_cpu_ns.filter(|ns| *ns > 0.0)
        {
            text.push_str(&format!(
                "timer_wakeup_cpu = \"{}\"  # core time of a timed sleep on a busy core, beyond the switches (its timer interrupts were not counted here)\n",
                unit::format_duration(ns)
            ));
        }
        text.push('\n');
        text.push_str(&self.scheduling.machine.to_machine_toml());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Calibration {
        Calibration {
            add_ns: Some(0.3),
            thread_switch_same_core_ns: Some(1_400.0),
            thread_wakeup_cross_core_ns: None,
            task_switch_tokio_ns: Some(52.0),
            task_switch_may_ns: Some(31.0),
            spawn_thread_ns: Some(17_260.0),
            spawn_tokio_ns: Some(250.0),
            thread_memory_bytes: Some(19.5 * 1024.0),
            tokio_task_memory_bytes: Some(300.0),
            cpu_model: "Test CPU".into(),
            cores: 2,
            kernel: "6.1.0".into(),
            ..Calibration::default()
        }
    }

    #[test]
    fn the_costs_table_carries_units_and_skips_what_was_not_measured() {
        let text = sample().to_costs_toml();
        assert!(text.starts_with("# Measured by"));
        assert!(text.contains("Test CPU, 2 cores, Linux 6.1.0"));
        assert!(text.contains("thread_switch = \"1.4us\""));
        assert!(text.contains("task_switch = \"52ns\""));
        assert!(text.contains("coroutine_switch = \"31ns\""));
        assert!(text.contains("thread_spawn = \"17.3us\""));
        assert!(text.contains("thread_memory = \"19.5KiB\""));
        assert!(text.contains("task_memory = \"300B\""));
        assert!(text.contains("# thread_wakeup: not measured"));
        assert!(!text.contains("thread_wakeup ="));
        assert!(text.contains("# spawn_thread_cpu: not measured"));
        assert!(text.contains("\n[machine]\n# scheduler: unknown here"));
    }

    #[test]
    fn the_cache_lifetime_is_written_and_read_back() {
        let mut calibration = sample();
        calibration.indirect.l3_lifetime_ns = Some(2_520_000.0);
        let text = calibration.to_costs_toml();
        assert!(text.contains("cache_lifetime = \"2.52ms\""), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.toml");
        std::fs::write(&path, &text).unwrap();
        let costs = sim::scenario::CostOverrides::read_file(&path).unwrap();
        assert_eq!(costs.get("cache_lifetime"), Some(2_520_000));
    }

    #[test]
    fn a_measured_figure_below_zero_is_left_out_and_the_rest_reads_back() {
        // The CI machine of 2026-12-07 measured the idle exit's p99 as -0.97 ms (a stall in
        // the busy run); the simulator refuses a negative cost.
        let mut calibration = sample();
        calibration.scheduling.idle_exit_latency_ns = Some(9_600.0);
        calibration.scheduling.idle_exit_latency_p99_ns = Some(-969_501.0);
        calibration.scheduling.interruptions = Some(vec![(16_000.0, 230.0), (28_000.0, 200.0)]);
        let text = calibration.to_costs_toml();
        assert!(text.contains("idle_exit_latency = \"9.6us\""), "{text}");
        assert!(
            text.contains("# idle_exit_latency_p99: measured below zero here"),
            "{text}"
        );
        assert!(
            text.contains("interruptions = [[16000, 230.00], [28000, 200.00]]"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.toml");
        std::fs::write(&path, &text).unwrap();
        let costs = sim::scenario::CostOverrides::read_file(&path).unwrap();
        assert_eq!(costs.get("idle_exit_latency"), Some(9_600));
        assert_eq!(costs.get("idle_exit_latency_p99"), None);
        assert!(costs.value("interruptions").is_some());
    }

    #[test]
    fn the_timer_is_priced_per_interrupt_else_per_sleep_never_both() {
        let mut calibration = sample();
        calibration.scheduling.timer_wakeup_cpu_ns = Some(9_770.0);
        calibration.scheduling.timer_interrupt_cpu_ns = Some(27_000.0);
        let text = calibration.to_costs_toml();
        assert!(text.contains("\ntimer_interrupt_cpu = \"27us\""), "{text}");
        assert!(!text.contains("\ntimer_wakeup_cpu ="), "{text}");
        // Interrupts not counted: the price per sleep, under its own key.
        calibration.scheduling.timer_interrupt_cpu_ns = None;
        let text = calibration.to_costs_toml();
        assert!(!text.contains("\ntimer_interrupt_cpu ="), "{text}");
        assert!(text.contains("\ntimer_wakeup_cpu = \"9.77us\""), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.toml");
        std::fs::write(&path, &text).unwrap();
        let costs = sim::scenario::CostOverrides::read_file(&path).unwrap();
        assert_eq!(costs.get("timer_wakeup_cpu"), Some(9_770));
        assert_eq!(costs.get("timer_interrupt_cpu"), None);
    }

    #[test]
    fn the_costs_file_reads_back_in_the_simulator() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.toml");
        std::fs::write(&path, sample().to_costs_toml()).unwrap();
        let costs = sim::scenario::CostOverrides::read_file(&path).unwrap();
        assert_eq!(costs.get("thread_switch"), Some(1_400));
        assert_eq!(costs.get("task_memory"), Some(300));
        assert_eq!(costs.get("thread_wakeup"), None);
    }

    #[test]
    fn every_cost_key_names_a_measurement_calibrate_makes() {
        let json = serde_json::to_value(Calibration::default()).unwrap();
        for key in sim::cost::KEYS {
            if let Some(m) = key.measured_by {
                assert!(
                    json.pointer(m.json_pointer).is_some(),
                    "{} is filled by {}, which calibrate does not write",
                    key.name,
                    m.json_pointer
                );
            }
        }
    }

    #[test]
    fn the_json_has_exactly_the_issue_keys() {
        let value = serde_json::to_value(sample()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut expected = vec![
            "add_ns",
            "thread_switch_same_core_ns",
            "thread_wakeup_cross_core_ns",
            "spin_handoff_cross_core_ns",
            "thread_switch_unpinned_ns",
            "task_switch_may_ns",
            "task_switch_tokio_ns",
            "spawn_thread_ns",
            "spawn_may_ns",
            "spawn_tokio_ns",
            "thread_memory_bytes",
            "may_coroutine_memory_bytes",
            "tokio_task_memory_bytes",
            "cpu_model",
            "cores",
            "kernel",
            "sched_slice_ns",
            "sched_slice_p99_ns",
            "sched_involuntary_switches_per_s",
            "wakeup_latency_busy_ns",
            "gil_io_latency_ns",
            "gil_python_version",
            "idle_wakeup_cpu_ns",
            "idle_exit_latency_ns",
            "idle_exit_latency_p99_ns",
            "idle_wakeup_detail",
            "wakeup_cpu_ns",
            "wakeup_cpu_detail",
            "halt_after_ns",
            "brief_idle_cpu_ns",
            "timer_wakeup_cpu_ns",
            "timer_interrupt_cpu_ns",
            "timer_wakeup_detail",
            "spawn_thread_cpu_ns",
            "spawn_thread_cpu_detail",
            "interruptions",
            "interrupted_share",
            "work_quantum_ns",
            "machine",
            "not_measured",
        ];
        // The indirect cost of a switch (issue 12).
        expected.extend(crate::indirect::JSON_KEYS);
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn budgets_parse_and_scale_the_memory_fits() {
        assert_eq!("standard".parse::<Budget>().unwrap(), Budget::standard());
        assert_eq!(
            "30s".parse::<Budget>().unwrap().total(),
            Duration::from_secs(30)
        );
        assert_eq!(
            "500ms".parse::<Budget>().unwrap().total(),
            Duration::from_millis(500)
        );
        assert_eq!(
            "2m".parse::<Budget>().unwrap().total(),
            Duration::from_secs(120)
        );
        assert!("fast".parse::<Budget>().is_err());
        assert!("0s".parse::<Budget>().is_err());
        let quick = Budget::quick();
        assert!(quick.threads < Budget::standard().threads && quick.threads >= 60);
        assert_eq!(Budget::new(Duration::from_secs(120)).threads, 10_000);
    }
}
