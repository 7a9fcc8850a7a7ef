//! The simulator beside every point: the `sim` scenario that matches a measured point, written
//! as TOML text (so anyone can rerun it with `sim run FILE`), parsed and run through `sim`'s
//! public entry points, and its report mapped onto the measured [`Figures`].
//!
//! The only numbers the prediction takes from this machine are `calibrate`'s costs and one CPU
//! overhead per request for each server kind (HTTP parsing, syscalls, loopback), measured at
//! concurrency 1 and reused unchanged at every other point. Nothing is fitted per point. That
//! overhead enters the scenario less the wake-ups `sim` charges itself (see
//! [`steady_overhead`]), and a per-connection working set enters it as the `working_set` of the
//! handler's cpu steps, owned by the connection as in the server.
//!
//! How each server kind maps onto a `sim` model (the why is in [`server_table`]):
//!
//! ```text
//!  threads         thread_per_request, threads = "unbounded"
//!  pool:N          thread_per_request, threads = N
//!  may             cooperative, loops = cores, balance = "shared", task_switch = coroutine_switch,
//!                  timer_thread = true (its sleeps end on may's timer thread)
//!  tokio:1         cooperative, loops = 1
//!  tokio           cooperative, loops = cores, balance = "shared"
//!  nginx           cooperative, loops = 1 (one worker)
//!  apache-prefork  thread_per_request, processes = 150 x 1 thread, keepalive_requests = 100
//!  apache-event    thread_per_request, processes = 6 x 25 threads, keep-alive off (its
//!                  listener's event loop holds idle connections, not a worker)
//!  uvicorn-def     thread_per_request, threads = 40, gil = true
//!  uvicorn-async   cooperative, loops = 1
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use sim::Report;
use sim::scenario::{CostOverrides, Overrides, Scenario};

use crate::error::usage;
use crate::figures::Figures;
use crate::foreign::apache;
use crate::kind::ServerKind;
use crate::point::{LoadWait, Point};
use crate::workload::Step;

/// The seed of every prediction, so a point's prediction is the same bytes on every run.
const SEED: u64 = 1;

/// FastAPI runs `def` endpoints on a thread pool of 40 (anyio's default thread limit).
pub const UVICORN_POOL: u32 = 40;

/// This machine's costs as the `[costs]` table `calibrate --out` writes, and where they came
/// from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Costs {
    /// `--costs FILE`, or `calibrate --quick (run by testbed on DATE)`.
    pub source: String,
    /// The `[costs]` table alone, as TOML text.
    pub toml: String,
}

impl Costs {
    /// Reads a `calibrate --out` file; errors (exit 2) name the file and what to fix.
    pub fn from_file(path: &Path) -> anyhow::Result<Costs> {
        // sim's own reader checks every key and unit and says where a mistake is.
        CostOverrides::read_file(path).map_err(|e| usage(format!("--costs: {e}")))?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("--costs {}: {e}", path.display())))?;
        Ok(Costs {
            source: path.display().to_string(),
            toml: costs_table(&text).map_err(|e| usage(format!("--costs: {e}")))?,
        })
    }

    /// Runs `calibrate`'s quick pass (about 4 s) on this machine.
    pub fn calibrate_quick() -> anyhow::Result<Costs> {
        let budget = micro::calibration::Budget::quick();
        let (calibration, _notes) = micro::calibration::calibrate(&budget, &mut |_| {});
        let text = calibration.to_costs_toml();
        Ok(Costs {
            source: format!(
                "calibrate --quick, run by testbed on {}",
                micro::machine::today()
            ),
            toml: costs_table(&text)
                .map_err(|e| anyhow::anyhow!("calibrate wrote an unreadable [costs] table: {e}"))?,
        })
    }

    /// `--costs FILE` if given, else the quick pass.
    pub fn resolve(file: Option<&Path>) -> anyhow::Result<Costs> {
        match file {
            Some(path) => Costs::from_file(path),
            None => Costs::calibrate_quick(),
        }
    }

    /// One cost of the table, as written (`"1.4us"`).
    fn get(&self, key: &str) -> Option<String> {
        let table: toml::Table = toml::from_str(&self.toml).ok()?;
        table
            .get("costs")?
            .get(key)?
            .as_str()
            .map(ToString::to_string)
    }

    /// One duration cost of the table; zero when the table does not set it (as `sim` reads an
    /// unset cost).
    fn duration(&self, key: &str) -> Duration {
        self.get(key)
            .and_then(|text| sim::unit::parse_duration(&text).ok())
            .map_or(Duration::ZERO, Duration::from_nanos)
    }
}

/// The `[costs]` table of a costs file, re-serialised alone.
fn costs_table(text: &str) -> Result<String, String> {
    let file: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let costs = file
        .get("costs")
        .and_then(|c| c.as_table())
        .ok_or("no [costs] table")?;
    let mut out = toml::Table::new();
    out.insert("costs".into(), toml::Value::Table(costs.clone()));
    toml::to_string(&out).map_err(|e| e.to_string())
}

/// What the scenario's server section says, and why.
struct ServerTable {
    /// Lines of the `[[server]]` table after `label`.
    keys: Vec<String>,
    /// One comment line: why this mapping.
    why: &'static str,
}

/// The `sim` model of each server kind.
fn server_table(point: &Point, costs: &Costs) -> ServerTable {
    let cores = point.cores;
    let keepalive = point.keepalive;
    let thread_keys = |threads: String| {
        let mut keys = vec![
            "model = \"thread_per_request\"".to_string(),
            format!("threads = {threads}"),
        ];
        if keepalive {
            keys.push("keepalive = true".into());
        }
        keys
    };
    match point.server {
        ServerKind::Threads => ServerTable {
            keys: thread_keys("\"unbounded\"".into()),
            why: "one OS thread per connection, no limit",
        },
        ServerKind::Pool(n) => ServerTable {
            keys: thread_keys(n.to_string()),
            why: "N workers; with keep-alive a worker serves its connection until it closes",
        },
        ServerKind::May => {
            let mut keys = vec![
                "model = \"cooperative\"".to_string(),
                format!("loops = {cores}"),
                "balance = \"shared\"".into(),
            ];
            // may switches stackful coroutines; calibrate measured that switch separately.
            if let Some(switch) = costs.get("coroutine_switch") {
                keys.push(format!("task_switch = \"{switch}\""));
            }
            // may's sleeps end on its timer thread, an OS thread woken by a kernel timer.
            keys.push("timer_thread = true".into());
            ServerTable {
                keys,
                why: "may never preempts a running coroutine (no signals, no time slice): a \
                      cpu step runs to its end, so it is cooperative, with work stealing; its \
                      sleeps end on a timer thread",
            }
        }
        ServerKind::Tokio1 | ServerKind::Nginx | ServerKind::UvicornAsync => ServerTable {
            keys: vec!["model = \"cooperative\"".into(), "loops = 1".into()],
            why: "one event loop on one thread",
        },
        ServerKind::Tokio => ServerTable {
            keys: vec![
                "model = \"cooperative\"".into(),
                format!("loops = {cores}"),
                "balance = \"shared\"".into(),
            ],
            why: "one worker per core, work stealing",
        },
        ServerKind::ApachePrefork => {
            let mut keys = thread_keys("1".into());
            keys.push(format!("processes = {}", apache::MAX_REQUEST_WORKERS));
            if keepalive {
                keys.push(format!(
                    "keepalive_requests = {}",
                    apache::MAX_KEEPALIVE_REQUESTS
                ));
            }
            ServerTable {
                keys,
                why: "MaxRequestWorkers processes of one thread, all started up front; a \
                      keep-alive connection holds its process for MaxKeepAliveRequests",
            }
        }
        ServerKind::ApacheEvent => ServerTable {
            keys: vec![
                "model = \"thread_per_request\"".into(),
                format!("threads = {}", apache::THREADS_PER_CHILD),
                format!("processes = {}", apache::EVENT_PROCESSES),
            ],
            why: "worker threads take requests, the listener's event loop holds idle \
                  keep-alive connections, so a connection holds no thread between requests",
        },
        ServerKind::UvicornDef => {
            let mut keys = thread_keys(UVICORN_POOL.to_string());
            keys.push("gil = true".into());
            ServerTable {
                keys,
                why: "FastAPI runs a `def` endpoint on a pool of 40 threads that share the GIL",
            }
        }
    }
}

/// One step of the simulated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SimStep {
    /// A burst that needs a core (else a wait that needs none).
    cpu: bool,
    duration: Duration,
    /// The step runs one of the handler's cpu steps, which walk the connection's working set.
    walks: bool,
}

/// The request's steps with the server's overhead split around them: half before the first
/// step (reading and parsing), half after the last (writing the answer). A cpu step of the
/// handler walks the connection's working set; the overhead alone does not.
fn steps(point: &Point, overhead: Duration) -> Vec<SimStep> {
    let half = overhead / 2;
    let mut out: Vec<SimStep> = Vec::new();
    let mut push = |cpu: bool, duration: Duration, walks: bool| {
        if duration.is_zero() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.cpu && cpu => {
                last.duration += duration;
                last.walks |= walks;
            }
            _ => out.push(SimStep {
                cpu,
                duration,
                walks,
            }),
        }
    };
    push(true, half, false);
    for step in &point.workload.steps {
        match step {
            Step::Cpu(d) => push(true, *d, true),
            Step::Sleep(d) => push(false, *d, false),
        }
    }
    push(true, overhead - half, false);
    if out.is_empty() {
        // A request must have a step; a server that costs nothing costs a nanosecond.
        out.push(SimStep {
            cpu: true,
            duration: Duration::from_nanos(1),
            walks: false,
        });
    }
    out
}

/// What a prediction takes from a server kind's concurrency-1 runs: the CPU per request beyond
/// the steps and, from the same run, how often the server's cores halted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Baseline {
    /// CPU per request beyond the steps (the server's /proc figure).
    pub overhead: Duration,
    /// Halts of the server's cores per request in that run (cpuidle), or `None` where they
    /// were not counted (results files before 2026-12-07 18:00).
    pub halts_per_request: Option<f64>,
}

impl From<Duration> for Baseline {
    fn from(overhead: Duration) -> Baseline {
        Baseline {
            overhead,
            halts_per_request: None,
        }
    }
}

/// The most halts per request a spinning client's pause is drawn for (see [`client_think`]).
/// The grids' concurrency-1 runs read 0.09 to 0.58 (2026-12-07 17:55).
pub const MAX_SPIN_HALTS: f64 = 0.9;

/// The overhead the scenario charges per request: the measured one less the wake-ups it
/// holds that `sim` charges by itself.
///
/// With a blocking load generator (`LoadWait::Block`) the client is `idle_exit_latency` away
/// (see [`client_wakeup`]): at concurrency 1 the server's core halts for every request, and
/// its /proc CPU, from which the overhead was taken, holds one wake-up onto a halted core per
/// request (`calibrate`'s `wakeup_cpu`, measured as that same thread CPU). `sim` charges that
/// at every such wake-up; counting it in the overhead too would charge it at every request of
/// a busy event loop, which never blocks. Without an `idle_exit_latency` the scenario's round
/// trip is 0, `sim` never halts the core at concurrency 1 and charges no wake-up there, so
/// nothing is taken out; nor when the round trip is within `halt_after`, since `sim` then
/// wakes the core before it halts. The overhead also holds the server's answer waking the blocked
/// client (6–7 µs on the VM of 2026-12-07), which no key prices: it stays in at every point.
///
/// With a spinning one (`LoadWait::Spin`) the next request comes after the client's own
/// turn-around, and the server's core halts for some of the requests: 0.09 (threads), 0.12
/// (tokio:1), 0.22 (Apache prefork) and 0.44–0.58 (nginx) in runs of 2026-12-07 17:50, counted
/// with cpuidle. The overhead then holds that share of a wake-up, `h · wakeup_cpu`, which is
/// taken out; the scenario's client pauses so that `sim` halts the core as often at
/// concurrency 1 (see [`client_think`]) and charges the wake-ups back there. Before the halts
/// were counted (older results files), nothing is taken out and the client does not pause.
/// (nginx at concurrency 10 and beyond spent 13–16 µs per request against 19–20 µs at 1 in the
/// 17:00 grid; a `perf` profile of the two showed the difference spread over the network path,
/// as cold caches after a halt would, plus the block and wake-up in `epoll_wait`.)
///
/// The core's own cost of idling (`idle_wakeup_cpu`) is not subtracted: it is mostly core time
/// outside the server's threads (the idle loop, the interrupt), which the /proc figure never
/// held. `sim` adds it whenever a core leaves idle, and [`figures`] leaves it out of the
/// simulated CPU per request, so that both sides count the server's threads only. (Until
/// 2026-12-07 it was subtracted here and counted in the simulated CPU: one error hid the other
/// at one connection, and every busy event loop was charged an idle exit it never had.)
pub fn steady_overhead(baseline: impl Into<Baseline>, costs: &Costs, wait: LoadWait) -> Duration {
    let Baseline {
        overhead,
        halts_per_request,
    } = baseline.into();
    match wait {
        LoadWait::Block if client_wakeup(costs, wait) > costs.duration("halt_after") => {
            overhead.saturating_sub(costs.duration("wakeup_cpu"))
        }
        LoadWait::Block => overhead,
        LoadWait::Spin => match spin_halts(halts_per_request, costs) {
            Some(h) => overhead.saturating_sub(costs.duration("wakeup_cpu").mul_f64(h)),
            None => overhead,
        },
    }
}

/// A spinning client's measured halts per request, capped at [`MAX_SPIN_HALTS`], when `sim`
/// can reproduce them: counted, and `halt_after` known (without it `sim` halts a core after
/// any pause at all, so no pause gives a share).
fn spin_halts(halts_per_request: Option<f64>, costs: &Costs) -> Option<f64> {
    let h = halts_per_request.filter(|h| h.is_finite() && *h > 0.0)?;
    (!costs.duration("halt_after").is_zero()).then_some(h.min(MAX_SPIN_HALTS))
}

/// A spinning client's pause between an answer and its next request, as a `sim` distribution,
/// or `None` for no pause.
///
/// The pause is the client's turn-around less the server's own work after its answer, which
/// neither side measures directly; what the concurrency-1 run does measure is how often the
/// server's core outlasted `halt_after` in that pause and halted (`h` per request). The pause
/// is drawn exponential (the least-committal law for a positive time of known scale), with the
/// mean that makes `P(pause > halt_after) = h`: `halt_after / ln(1/h)`. At concurrency 1 `sim`
/// then halts the core for `h` of the requests, as measured; at higher concurrency every
/// client pauses the same way. A blocking client, or one without a halt count, does not pause.
pub fn client_think(
    baseline: impl Into<Baseline>,
    costs: &Costs,
    wait: LoadWait,
) -> Option<String> {
    if wait != LoadWait::Spin {
        return None;
    }
    let h = spin_halts(baseline.into().halts_per_request, costs)?;
    let halt_after = costs.duration("halt_after").as_nanos() as f64;
    let mean = (halt_after / (1.0 / h).ln()).round().max(1.0);
    Some(format!("exp({mean:.0}ns)"))
}

/// What a request spends on the load generator's side, outside the server. A blocking load
/// generator's core goes idle while it waits for answers (it is at most a third busy at every
/// grid point but nginx's), so each answer finds it halted and waits for its exit from idle,
/// the same `idle_exit_latency` the simulator charges a server core. A spinning one answers at
/// once. Its own CPU per request (a few µs) is left out: it is measured per point, and the
/// prediction takes no per-point figure.
pub fn client_wakeup(costs: &Costs, wait: LoadWait) -> Duration {
    match wait {
        LoadWait::Block => costs.duration("idle_exit_latency"),
        LoadWait::Spin => Duration::ZERO,
    }
}

/// Requests the simulation leaves out at the start: every client through at least twice, and
/// a tenth of the run, so the queues are in their steady state as in the measured window.
fn warmup_requests(point: &Point) -> u64 {
    (u64::from(point.concurrency) * 2).max(point.requests / 10)
}

/// The `sim` scenario for `point`, as a file a person can read and rerun.
pub fn scenario_toml(point: &Point, costs: &Costs, baseline: impl Into<Baseline>) -> String {
    let baseline = baseline.into();
    let overhead = baseline.overhead;
    let server = server_table(point, costs);
    let charged = steady_overhead(baseline, costs, point.load_wait);
    let think = client_think(baseline, costs, point.load_wait);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Built by `testbed` for the measured point: {}",
        point.key()
    );
    let _ = match point.load_wait {
        LoadWait::Block => writeln!(
            t,
            "# Server CPU per request beyond its steps (measured at concurrency 1): {} ns; less \
             the one wake-up onto a halted core per request in that figure, which sim charges \
             itself (wakeup_cpu): {} ns, split half before and half after the steps.",
            overhead.as_nanos(),
            charged.as_nanos()
        ),
        LoadWait::Spin => match baseline.halts_per_request {
            Some(h) => writeln!(
                t,
                "# Server CPU per request beyond its steps (measured at concurrency 1, the load \
                 generator spinning; its core halted for {h:.3} of the requests): {} ns; less \
                 that share of a wake-up onto a halted core, which sim charges itself \
                 (wakeup_cpu): {} ns, split half before and half after the steps.",
                overhead.as_nanos(),
                charged.as_nanos()
            ),
            None => writeln!(
                t,
                "# Server CPU per request beyond its steps (measured at concurrency 1, the load \
                 generator spinning; halts not counted): {} ns, split half before and half \
                 after the steps.",
                overhead.as_nanos()
            ),
        },
    };
    let _ = writeln!(t, "# Model: {}.", server.why);
    if point.workload.working_set > 0 {
        let _ = writeln!(
            t,
            "# The handler walks a {} working set per connection in each of its cpu steps: \
             the cache model prices what other connections evicted from it in between.",
            sim::unit::format_size(point.workload.working_set)
        );
    }
    let _ = writeln!(t, "# Rerun: sim run THIS_FILE");
    let _ = writeln!(t, "name = \"testbed-{}\"", point.server);
    let _ = writeln!(t, "description = \"testbed point: {}\"", point.key());
    let _ = writeln!(t, "seed = {SEED}\n");
    let _ = writeln!(t, "[machine]\ncores = {}\n", point.cores);
    t.push_str(&costs.toml);
    t.push('\n');
    let warmup = warmup_requests(point);
    t.push_str("[load]\n");
    match point.rate {
        Some(rate) => {
            let _ = writeln!(t, "kind = \"open\"\nrate = {rate}");
        }
        None => {
            let _ = writeln!(t, "kind = \"closed\"\nconcurrency = {}", point.concurrency);
        }
    }
    let _ = writeln!(t, "requests = {}", point.requests + warmup);
    let _ = writeln!(t, "warmup = {warmup}");
    let _ = match point.load_wait {
        LoadWait::Block => writeln!(
            t,
            "# The load generator's side: its core, idle between answers, wakes for each one \
             (calibrate's idle_exit_latency, as sim charges the server's core). Loopback's \
             own time is in the measured overhead."
        ),
        LoadWait::Spin => writeln!(
            t,
            "# The load generator spins: it sends the next request at once. Loopback's own \
             time is in the measured overhead."
        ),
    };
    let _ = writeln!(
        t,
        "rtt = \"{}ns\"",
        client_wakeup(costs, point.load_wait).as_nanos()
    );
    if let Some(think) = think {
        let _ = writeln!(
            t,
            "# The client's turn-around, drawn so that the server's core outlasts halt_after \
             (and halts) as often as it did at concurrency 1."
        );
        let _ = writeln!(t, "think = \"{think}\"");
    }
    t.push('\n');
    t.push_str("[request]\nsteps = [\n");
    let working_set = point.workload.working_set;
    for step in steps(point, charged) {
        let key = if step.cpu { "cpu" } else { "io" };
        let ns = step.duration.as_nanos();
        if step.walks && working_set > 0 {
            // The buffer belongs to the connection (sim: the closed-loop client), as here.
            let _ = writeln!(
                t,
                "  {{ {key} = \"{ns}ns\", working_set = \"{working_set}B\" }},"
            );
        } else {
            let _ = writeln!(t, "  {{ {key} = \"{ns}ns\" }},");
        }
    }
    t.push_str("]\n\n[[server]]\n");
    let _ = writeln!(t, "label = \"{}\"", point.server);
    for key in &server.keys {
        let _ = writeln!(t, "{key}");
    }
    t
}

/// Runs the scenario text through `sim` (parse, check, simulate).
pub fn simulate(text: &str) -> anyhow::Result<Report> {
    Ok(simulate_on(text)?.0)
}

/// As [`simulate`], with the simulated kernel's tick rate (`[machine] hz`).
fn simulate_on(text: &str) -> anyhow::Result<(Report, u32)> {
    let scenario = Scenario::parse(text, Path::new("testbed-scenario.toml"))
        .map_err(|e| anyhow::anyhow!("the scenario testbed built does not parse: {e}"))?;
    let configs = scenario
        .run_configs(&Overrides::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let [config] = configs.as_slice() else {
        bail!(
            "the scenario testbed built has {} servers, not 1",
            configs.len()
        );
    };
    let report = sim::simulate(config).map_err(|e| anyhow::anyhow!("sim: {e}"))?;
    Ok((report, config.kernel.hz))
}

/// `sim`'s report as the testbed's figures. Every key has a simulated counterpart:
/// - `cpu_ms_per_request`: the server's threads' core time (useful + switching + refill, not
///   the cores' exits from idle, which /proc does not count as the server's) over completed
///   requests;
/// - `context_switches_per_request`: OS thread switches per request (a core changing from one
///   thread to another; sim does not count a switch into or out of idle, the kernel's /proc
///   counters do: a thread that blocks is a voluntary switch there);
/// - `rss_bytes`: peak resident memory of the simulated threads and tasks (and processes);
/// - `timer_interrupts_per_request`: the timer interrupts that ended threads' timed waits,
///   plus the scheduler tick's, `hz` a second of the server's predicted CPU (a tickless
///   kernel stops the tick on an idle core). /proc's `LOC` counts both.
pub fn figures(report: &Report, hz: u32) -> Figures {
    let cpu_ms = (report.throughput_rps > 0.0).then(|| {
        (report.cpu_utilization - report.cpu.idle_wakeup) * report.cores as f64
            / report.throughput_rps
            * 1000.0
    });
    Figures {
        rps: Some(report.throughput_rps),
        p50_ms: latency(report.latency_ms.p50),
        p90_ms: latency(report.latency_ms.p90),
        p99_ms: latency(report.latency_ms.p99),
        p999_ms: latency(report.latency_ms.p999),
        cpu_ms_per_request: cpu_ms,
        context_switches_per_request: Some(report.context_switches_per_request),
        rss_bytes: Some(report.peak_memory_bytes as f64),
        halts_per_request: Some(report.halts_per_request),
        timer_interrupts_per_request: Some(
            report.timer_interrupts_per_request
                + cpu_ms.map_or(0.0, |ms| ms / 1000.0 * f64::from(hz)),
        ),
    }
}

/// A predicted latency, or none when the run completed no request (sim gives NaN there, `null`
/// in its JSON): the testbed then shows no prediction rather than 0 ms.
fn latency(ms: f64) -> Option<f64> {
    Some(ms).filter(|ms| ms.is_finite())
}

/// Builds, runs and maps the prediction for `point`.
pub fn predict(
    point: &Point,
    costs: &Costs,
    baseline: impl Into<Baseline>,
) -> anyhow::Result<Figures> {
    let text = scenario_toml(point, costs, baseline);
    let (report, hz) = simulate_on(&text).with_context(|| format!("predicting {}", point.key()))?;
    Ok(figures(&report, hz))
}

#[cfg(test)]
mod tests;
