//! The switch ring: `calibrate`'s indirect-cost benchmarks (`switch_working_set`,
//! `switch_runnable_64kib`) written as a scenario, so the cache model can be set beside them.

use std::path::Path;

use super::{Scenario, ScenarioError};
use crate::config::RunConfig;
use crate::cost::LineLatency;

/// A ring of `threads` threads on one core, each with its own connection and
/// `working_set_bytes` of data (none when 0), each answering and waking the next: a closed
/// loop with no think time and no network, so the run queue is the ring, and requests of
/// `work_ns` (at least 1) that touch the working set. The benchmark's own work per hand-off is
/// its baseline: one walk of the buffer alone plus a `write` and a `read`; it sets how long a
/// thread is away, which matters once the caches forget data with time (`cache_lifetime`).
/// `costs` holds the `[costs]` lines (TOML keys such as `thread_switch = "1200ns"`); the run is
/// `max(40 x threads, 20000)` requests after a quarter as many of warm-up.
///
/// The kernel runs round robin with a 1 s slice (`quantum`): a refill of a 1 MiB working set
/// takes milliseconds, longer than EEVDF's protected slice, so under EEVDF the next client's
/// wake-up would preempt a request in the middle of its refill, and a refill is priced once per
/// burst: the switching plus refill time per context switch would no longer be the cache
/// model's figure for one return.
///
/// Errors: a `[costs]` line that does not parse or check, as the scenario file's error.
pub fn ring(
    costs: &str,
    threads: u64,
    working_set_bytes: u64,
    work_ns: u64,
) -> Result<RunConfig, ScenarioError> {
    let requests = (40 * threads).max(20_000);
    let working_set = if working_set_bytes > 0 {
        format!("working_set = \"{working_set_bytes}B\"\n")
    } else {
        String::new()
    };
    let text = format!(
        "name = \"switch-ring\"\n\
         [machine]\ncores = 1\n\
         [costs]\n{costs}\n\
         [load]\nkind = \"closed\"\nconcurrency = {threads}\nrequests = {requests}\nwarmup = {warmup}\n\
         [request]\n{working_set}steps = [{{ cpu = \"{work}ns\" }}]\n\
         [[server]]\nlabel = \"threads\"\nmodel = \"thread_per_request\"\nkeepalive = true\nquantum = \"1s\"\n",
        warmup = requests / 4,
        work = work_ns.max(1),
    );
    let scenario = Scenario::parse(&text, Path::new("switch-ring"))?;
    let server = scenario.servers().next();
    Ok(server
        .expect("the ring's text has one [[server]] table, and a checked scenario keeps it")
        .config
        .clone())
}

/// The benchmark's own work per hand-off for a ring of `working_set_bytes` per thread, ns: one
/// lone walk of the buffer at `latency`'s ns per line (none without a curve) plus 1 µs for the
/// `write` and the `read`. The `work_ns` to give [`ring`] to stand for `micro`'s ring.
pub fn benchmark_work_ns(latency: Option<&LineLatency>, working_set_bytes: u64) -> u64 {
    let w = working_set_bytes as f64;
    let walk = latency.map_or(0.0, |curve| w / 64.0 * curve.at(w));
    1_000 + walk.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Arrivals;

    #[test]
    fn a_ring_is_one_core_of_closed_loop_threads() {
        let config = ring("thread_switch = \"1500ns\"", 8, 64 << 10, 1_000).unwrap();
        assert_eq!(config.cores, 1);
        assert_eq!(config.costs.thread_switch, 1_500);
        assert!(
            matches!(
                config.load.arrivals,
                Arrivals::Closed { concurrency: 8, .. }
            ),
            "{:?}",
            config.load.arrivals
        );
        let err = ring("thread_switch = \"fast\"", 2, 0, 1_000).unwrap_err();
        assert!(err.to_string().contains("switch-ring"), "{err}");
    }

    #[test]
    fn the_benchmark_work_is_one_walk_plus_the_system_calls() {
        let latency = LineLatency::new(&[(4096, 2.0), (1 << 20, 8.0)]).unwrap();
        // 1 MiB: 16,384 lines at 8 ns, plus 1 µs.
        assert_eq!(benchmark_work_ns(Some(&latency), 1 << 20), 1_000 + 131_072);
        assert_eq!(benchmark_work_ns(None, 1 << 20), 1_000);
        assert_eq!(benchmark_work_ns(Some(&latency), 0), 1_000);
    }
}
