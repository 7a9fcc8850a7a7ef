//! The kernel figures as `[costs]` entries and as lines of the talk's table.

use super::Scheduling;
use crate::unit;

impl Scheduling {
    /// The `[costs]` entries these figures give: key, value with units, what it is. Values
    /// that are missing or not positive are `None` (the simulator keeps its reference).
    pub fn cost_entries(&self) -> [(&'static str, Option<String>, &'static str); 7] {
        let positive = |v: Option<f64>| v.filter(|v| *v > 0.0).map(unit::format_duration);
        [
            (
                "idle_wakeup_cpu",
                positive(self.idle_wakeup_cpu_ns),
                "core CPU per request for idling between requests",
            ),
            (
                "idle_exit_latency",
                positive(self.idle_exit_latency_ns),
                "extra lateness of a timer wake-up from idle",
            ),
            (
                "wakeup_cpu",
                positive(self.wakeup_cpu_ns),
                "thread CPU per wake-up by a loopback packet onto a halted core, beyond the same request queued",
            ),
            (
                "halt_after",
                positive(self.halt_after_ns),
                "client pause at which the core halts for half of the requests",
            ),
            (
                "brief_idle_cpu",
                positive(self.brief_idle_cpu_ns),
                "core time of an idle spell that ended before the halt",
            ),
            (
                "timer_interrupt_cpu",
                positive(self.timer_interrupt_cpu_ns),
                "core time per timer interrupt that ends a timed sleep on a busy core",
            ),
            (
                "spawn_thread_cpu",
                positive(self.spawn_thread_cpu_ns),
                "CPU of thread::spawn, spawner + child start",
            ),
        ]
    }

    /// The figures as lines for the talk's table.
    pub fn render(&self) -> String {
        let fmt = |v: Option<f64>| v.map_or("not measured".to_string(), unit::format_duration);
        let m = &self.machine;
        let word = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
        let mut lines = vec![format!(
            "kernel: scheduler {}, HZ {}, preempt {}, hrtick {}",
            word(m.scheduler.and_then(|v| serde_json::to_string(&v).ok())).trim_matches('"'),
            word(m.hz.map(|v| v.to_string())),
            word(m.preempt.and_then(|v| serde_json::to_string(&v).ok())).trim_matches('"'),
            word(m.hrtick.map(|v| v.to_string())),
        )];
        lines.push(format!(
            "time slice, 2 hogs on 1 core: p50 {}, p99 {}{}",
            fmt(self.sched_slice_ns),
            fmt(self.sched_slice_p99_ns),
            self.sched_involuntary_switches_per_s
                .map_or(String::new(), |r| format!(
                    " ({r:.0} involuntary switches/s)"
                ))
        ));
        for (hogs, p50, p99) in self.wakeup_latency_busy_ns.iter().flatten() {
            lines.push(format!(
                "1 ms sleeper's lateness beside {hogs} hog(s): p50 {}, p99 {}",
                fmt(Some(*p50)),
                fmt(Some(*p99))
            ));
        }
        for (interval, with_cpu, p50, p99) in self.gil_io_latency_ns.iter().flatten() {
            lines.push(format!(
                "GIL: 100 us sleep + GIL, interval {}, {}: p50 {}, p99 {}",
                fmt(Some(*interval as f64)),
                if *with_cpu {
                    "beside a CPU thread"
                } else {
                    "alone"
                },
                fmt(Some(*p50)),
                fmt(Some(*p99))
            ));
        }
        lines.push(format!(
            "idle wake-up CPU per request: {}; idle exit latency: {} (p99 {})",
            fmt(self.idle_wakeup_cpu_ns),
            fmt(self.idle_exit_latency_ns),
            fmt(self.idle_exit_latency_p99_ns)
        ));
        lines.push(format!(
            "blocking for a request until the core halts, and being woken by the network, thread CPU: {}",
            fmt(self.wakeup_cpu_ns)
        ));
        if let Some(peer) = self
            .wakeup_cpu_detail
            .as_ref()
            .and_then(|d| d.peer_wakeup_cpu_ns())
        {
            lines.push(format!(
                "an answer that wakes a sleeping loopback client, sender's CPU: {} (a loopback artefact, not in [costs])",
                fmt(Some(peer))
            ));
        }
        lines.push(format!(
            "a core halts after idling {}; an idle spell that ends sooner costs it {}",
            fmt(self.halt_after_ns),
            fmt(self.brief_idle_cpu_ns)
        ));
        lines.push(format!(
            "a timed sleep on a busy core, core time beyond the switches: {} ({} per timer interrupt)",
            fmt(self.timer_wakeup_cpu_ns),
            fmt(self.timer_interrupt_cpu_ns)
        ));
        lines.push(format!(
            "spawn an OS thread, CPU: {}",
            fmt(self.spawn_thread_cpu_ns)
        ));
        if let (Some(bins), Some(share)) = (&self.interruptions, self.interrupted_share) {
            let rate: f64 = bins.iter().map(|b| b.1).sum();
            let over = |ns: f64| bins.iter().filter(|b| b.0 >= ns).map(|b| b.1).sum::<f64>();
            lines.push(format!(
                "interruptions of a busy core: {rate:.0} a second ({:.0} of 20 us or more, {:.1} of 100 us or more), {:.2} % of its time",
                over(20e3),
                over(100e3),
                share * 100.0
            ));
        }
        for [work, _, p50, p90, p99, p999] in self.work_quantum_ns.iter().flatten() {
            lines.push(format!(
                "{} of work, timed back to back on every core: p50 {}, p90 {}, p99 {}, p99.9 {}",
                fmt(Some(*work)),
                fmt(Some(*p50)),
                fmt(Some(*p90)),
                fmt(Some(*p99)),
                fmt(Some(*p999))
            ));
        }
        for (key, reason) in &self.not_measured {
            lines.push(format!("  {key}: {reason}"));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}
