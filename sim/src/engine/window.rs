//! The measured window: where the warm-up ends (counters snapshot, levels restart) and the raw
//! record of the run over that window, the [`RunTally`] every figure is derived from.

use crate::config::{Arrivals, Stop};
use crate::metrics::Latencies;
use crate::report::Audit;
use crate::tally::RunTally;
use crate::time::SimTime;

use super::world::{PROXY_QUEUE, RUN_QUEUE, World};

impl World<'_> {
    pub(super) fn start_measuring(&mut self, at: SimTime) {
        self.measuring = true;
        self.measure_start = at;
        self.completed = 0;
        self.dropped = 0;
        self.waits = (0, 0, 0);
        self.latencies.clear();
        self.kernel.flush(at);
        self.snapshot = (
            self.kernel.useful_ns,
            self.kernel.switching_ns,
            self.kernel.context_switches,
            self.task_switches,
        );
        self.refill_at_start = self.kernel.refill_ns;
        self.idle_wakeup_at_start = self.kernel.idle_wakeup_ns;
        self.interrupted_at_start = self.kernel.interrupted_ns;
        self.halts_at_start = self.kernel.halts;
        self.timer_interrupts_at_start = self.kernel.timers.interrupts;
        for (_, level) in &mut self.levels {
            level.restart(at);
        }
        self.kernel.run_level.restart(at);
        self.memory.restart(at);
        self.threads_level.restart(at);
        self.tasks_level.restart(at);
    }

    /// The run's raw record, over the measured window that ends at `end`.
    pub(super) fn tally(&mut self, end: SimTime) -> RunTally {
        let cfg = self.cfg;
        if !self.measuring {
            // The warm-up never ended: report the whole run rather than nothing (an empty
            // window would show a busy machine as idle). Counters and levels ran from zero.
            self.measuring = true;
            self.measure_start = SimTime::ZERO;
            self.snapshot = (0, 0, 0, 0);
            self.refill_at_start = 0;
            self.idle_wakeup_at_start = 0;
            self.interrupted_at_start = 0;
            self.halts_at_start = 0;
            self.timer_interrupts_at_start = 0;
        }
        self.kernel.flush(end);
        let start = self.measure_start;
        let span = end - start;
        let mut queues = Vec::with_capacity(self.levels.len());
        for (i, (name, level)) in self.levels.iter().enumerate() {
            let level = if i == RUN_QUEUE {
                &self.kernel.run_level
            } else {
                level
            };
            if i == PROXY_QUEUE && cfg.load.maxconn.is_none() {
                continue;
            }
            queues.push((name.clone(), level.integral(start, end)));
        }
        // A drained open loop's throughput is every completion over the whole run. Counting
        // only the window after the warm-up would be wrong when the load exceeds capacity:
        // the backlog drains after the last arrival, and an event loop then finishes thousands
        // of requests' last steps in a burst that would pass for a sustained rate. Below
        // capacity the two agree to within one latency over the run's length.
        // The span is at least the arrival window an open loop offers (requests / rate): a short
        // run whose Poisson arrivals happened to come early, or a single request, must not
        // report more than the offered rate.
        let window = match (&cfg.load.arrivals, cfg.load.stop) {
            (Arrivals::Open { rate }, Stop::Requests(n)) => (n as f64 / rate * 1e9) as u64,
            _ => 0,
        };
        let throughput = if self.drained && self.completed_total > 0 {
            (
                self.completed_total,
                (end - self.first_sent.min(end)).max(window),
            )
        } else {
            (self.completed, span)
        };
        RunTally {
            cores: self.kernel.cores(),
            span_ns: span,
            useful_ns: self.kernel.useful_ns - self.snapshot.0,
            switching_ns: self.kernel.switching_ns - self.snapshot.1,
            refill_ns: self.kernel.refill_ns - self.refill_at_start,
            idle_wakeup_ns: self.kernel.idle_wakeup_ns - self.idle_wakeup_at_start,
            interrupted_ns: self.kernel.interrupted_ns - self.interrupted_at_start,
            context_switches: self.kernel.context_switches - self.snapshot.2,
            task_switches: self.task_switches - self.snapshot.3,
            halts: self.kernel.halts - self.halts_at_start,
            timer_interrupts: self.kernel.timers.interrupts - self.timer_interrupts_at_start,
            completed: self.completed,
            dropped: self.dropped,
            throughput,
            latencies: std::mem::replace(&mut self.latencies, Latencies::new()),
            queues,
            memory: self.memory.integral(start, end),
            peak_threads: self.threads_level.max(),
            peak_tasks: self.tasks_level.max(),
            waits: self.waits,
            events: self.events,
            audit: Audit {
                sent: self.sent,
                completed: self.completed_total,
                dropped: self.dropped_total,
                in_flight: self.in_flight,
                min_slack_ns: if self.min_slack == i64::MAX {
                    0
                } else {
                    self.min_slack
                },
                core_overlaps: self.kernel.overlaps,
            },
        }
    }
}
