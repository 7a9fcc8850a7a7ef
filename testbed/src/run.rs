//! One point, start to end: start the server pinned to its cores, drive it with the load
//! generator on the other cores, stop it, and put `sim`'s prediction beside the measurement.
//!
//! ```text
//!  overhead (once per server kind, concurrency 1) ─┐
//!  calibrate's costs ──────────────────────────────┼─▶ sim scenario ─▶ predicted
//!  server + load generator ─▶ measured ────────────┘                    │
//!                                  └──────────────▶ error_percent ◀─────┘
//! ```

use std::path::Path;
use std::time::Duration;

use crate::error::usage;
use crate::figures::Figures;
use crate::foreign;
use crate::interrupt;
use crate::kind::ServerKind;
use crate::load::LoadSpec;
use crate::point::{LoadWait, Outcome, Point};
use crate::predict::{self, Baseline, Costs};
use crate::workload::Workload;

/// What the load generator saw at one point.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The measured figures (server CPU, switches and RSS from /proc).
    pub figures: Figures,
    /// The load generator itself was saturated.
    pub load_bound: bool,
    /// Requests that failed or timed out.
    pub errors: u64,
}

/// Where the server runs and how to reach it while it is measured.
pub struct Target {
    /// The URL to load.
    pub url: String,
    /// The server's pid (its process group leader; /proc accounting follows its threads and
    /// children).
    pub pid: u32,
    /// Forgotten before the guard stops the group (fields drop in order).
    _interrupt: Option<interrupt::Registration>,
    /// Keeps the server alive; dropping it stops the whole process group.
    _guard: Box<dyn std::any::Any>,
}

impl Target {
    fn new(url: String, pid: u32, guard: Box<dyn std::any::Any>) -> Target {
        Target {
            url,
            pid,
            _interrupt: interrupt::register(pid),
            _guard: guard,
        }
    }
}

/// Starts `kind` pinned to the first `cores` cores on a free port; `workload` is the handler's
/// (in-tree servers only).
pub fn start(
    kind: ServerKind,
    workload: &Workload,
    cores: usize,
    venv: &Path,
) -> anyhow::Result<Target> {
    if kind.is_in_tree() {
        start_in_tree(kind, workload, cores)
    } else {
        let running = foreign::spawn(kind, cores, 0, venv)?;
        Ok(Target::new(
            running.url(),
            running.process.pid(),
            Box::new(running),
        ))
    }
}

/// The in-tree servers: the running `testbed` binary re-executed as `testbed serve`.
fn start_in_tree(kind: ServerKind, workload: &Workload, cores: usize) -> anyhow::Result<Target> {
    let (process, addr) = crate::server::spawn(kind, workload, cores, 0)?;
    let pid = process.pid();
    Ok(Target::new(
        format!("http://{addr}/"),
        pid,
        Box::new(process),
    ))
}

/// Drives `target` as `point` says (closed or open loop on the cores the server does not
/// use) and reads the server's /proc accounting over the measured window.
fn measure(target: &Target, point: &Point) -> anyhow::Result<Measurement> {
    let machine = micro::machine::cores();
    let mut spec = LoadSpec::new(target.url.clone(), point.concurrency);
    spec.rate = point.rate;
    spec.requests = Some(point.requests);
    spec.duration = Some(Duration::from_secs_f64(point.duration_s));
    spec.warmup = Duration::from_secs_f64(point.warmup_s);
    spec.keepalive = point.keepalive;
    spec.busy_poll = point.load_wait == LoadWait::Spin;
    spec.server_pids = vec![target.pid];
    spec.server_cores = (0..point.cores.min(machine)).collect();
    // The load generator on the cores the server is not pinned to (all of them when shared).
    spec.cores = Some(if point.cores < machine {
        (point.cores..machine).collect()
    } else {
        (0..machine).collect()
    });
    let report = crate::load::run(&spec, &mut |_| {})?;
    Ok(Measurement {
        figures: report.figures,
        load_bound: report.load_bound,
        errors: report.errors_total + report.timeouts_total,
    })
}

/// How the load generator waits: as asked, else `spin` when it has cores of its own and
/// `block` when it shares the server's (a spinning client would take their time).
pub fn load_wait(asked: Option<LoadWait>, shared: bool) -> anyhow::Result<LoadWait> {
    match (asked, shared) {
        (Some(LoadWait::Spin), true) => Err(usage(
            "--load-wait spin: the load generator shares the server's cores and would take \
             their time spinning; give fewer --cores, or --load-wait block",
        )),
        (Some(wait), _) => Ok(wait),
        (None, true) => Ok(LoadWait::Block),
        (None, false) => Ok(LoadWait::Spin),
    }
}

/// Checks what can be checked before anything starts (exit 2 on a mistake).
pub fn check(point: &Point) -> anyhow::Result<()> {
    let cores = micro::machine::cores();
    if point.concurrency == 0 {
        return Err(usage("--concurrency 0: give at least 1 connection"));
    }
    if point.requests == 0 {
        return Err(usage("--requests 0: give at least 1 request"));
    }
    if point.cores == 0 || point.cores > cores {
        return Err(usage(format!(
            "--cores {}: this machine has {cores} cores; give 1 to {cores}",
            point.cores
        )));
    }
    if let Some(rate) = point.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(usage(format!(
            "--rate {rate}: give a positive number of requests/s"
        )));
    }
    if !point.server.is_in_tree() && !point.workload.steps.is_empty() {
        let page = foreign::workload(point.server);
        if point.workload != page {
            return Err(usage(format!(
                "{}: a third-party server serves its own page ({}); leave out --cpu, --sleep, \
                 --steps and --working-set",
                point.server,
                if page.steps.is_empty() {
                    "a 1 KiB static file".to_string()
                } else {
                    page.to_string()
                }
            )));
        }
    }
    Ok(())
}

/// Starts the server, measures it at `point`, and stops it.
pub fn measure_point(point: &Point, venv: &Path) -> anyhow::Result<Measurement> {
    let target = start(point.server, &point.workload, point.cores, venv)?;
    measure(&target, point)
}

/// The server kind's CPU per request beyond its steps: a concurrency-1 closed loop against
/// the server with no steps of its own (in-tree), its static page (nginx, apache), or W2's
/// endpoint asked to sleep 0 s (uvicorn: the same code path; at 0.1 s a concurrency-1 run
/// answers 10 requests a second, too few for /proc's 10 ms CPU ticks), keep-alive as the
/// points use it. [`OVERHEAD_RUNS`] runs back to back against one server (one when `quick`);
/// the median run decides, and every run's figure is returned (ms) to show the spread.
pub fn overhead(
    of: &Point,
    quick: bool,
    venv: &Path,
) -> anyhow::Result<(Duration, Figures, Vec<f64>)> {
    let kind = of.server;
    let workload = if kind.is_in_tree() {
        Workload::default()
    } else {
        foreign::workload(kind)
    };
    let asleep = !workload.sleep().is_zero();
    let point = Point {
        server: kind,
        cores: of.cores,
        concurrency: 1,
        rate: None,
        keepalive: of.keepalive,
        workload: workload.clone(),
        requests: if quick { 3_000 } else { 30_000 },
        duration_s: if quick { 1.0 } else { 3.0 },
        warmup_s: if quick { 0.2 } else { 0.5 },
        load_wait: of.load_wait,
    };
    let mut target = start(point.server, &point.workload, point.cores, venv)?;
    if asleep {
        target.url = target.url.replace(foreign::uvicorn::PATH, "/sleep/0");
    }
    // Nothing of the steps ran (no cpu step; uvicorn's sleep was 0 s).
    let own = if asleep {
        0.0
    } else {
        workload.cpu().as_secs_f64() * 1000.0
    };
    let runs = if quick { 1 } else { OVERHEAD_RUNS };
    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        let figures = measure(&target, &point)?.figures;
        let cpu_ms = figures.cpu_ms_per_request.ok_or_else(|| {
            anyhow::anyhow!("{kind}: no CPU per request from /proc at concurrency 1")
        })?;
        measured.push(((cpu_ms - own).max(0.0), figures));
    }
    drop(target);
    let all: Vec<f64> = measured.iter().map(|(ms, _)| *ms).collect();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (overhead_ms, figures) = measured.swap_remove(measured.len() / 2);
    Ok((
        Duration::from_nanos((overhead_ms * 1e6).round() as u64),
        figures,
        all,
    ))
}

/// Concurrency-1 runs behind each overhead. One 3 s run moved nginx's from 15.8 to 23.1 µs
/// between two grids on 2026-12-07, enough to put a whole row off target; the median of three
/// is steadier for 7 s more per server kind.
pub const OVERHEAD_RUNS: usize = 3;

/// Measures and predicts `point` with a known overhead; a failure is recorded, not raised.
pub fn run_point(point: &Point, costs: &Costs, baseline: Baseline, venv: &Path) -> Outcome {
    let host_busy = crate::point::host_busy();
    let measured = match measure_point(point, venv) {
        Ok(m) => m,
        Err(error) => return Outcome::failed(point.clone(), &error),
    };
    let predicted = match predict::predict(point, costs, baseline) {
        Ok(f) => f,
        Err(error) => {
            let mut failed = Outcome::failed(point.clone(), &error);
            failed.measured = measured.figures;
            return failed;
        }
    };
    Outcome {
        point: point.clone(),
        error_percent: predicted.error_percent(&measured.figures),
        measured: measured.figures,
        predicted,
        load_bound: measured.load_bound,
        overhead_ms_per_request: Some(baseline.overhead.as_secs_f64() * 1000.0),
        errors: measured.errors,
        error: None,
        host_busy,
    }
}

/// The JSON `testbed run --json` prints: the point, both sets of figures, the error, the
/// machine and where the costs came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// The point and its figures.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The machine.
    pub machine: crate::point::Machine,
    /// `calibrate`'s costs the prediction used.
    pub costs: Costs,
}

/// `testbed run`: overhead at concurrency 1, then the point, measured and predicted.
pub fn command(args: &crate::cli::RunArgs) -> anyhow::Result<()> {
    let w = &args.workload;
    let workload = if args.server.is_in_tree() {
        Workload::from_flags(
            w.steps.as_deref(),
            w.cpu.as_deref(),
            w.sleep.as_deref(),
            w.working_set.as_deref(),
        )
        .map_err(usage)?
    } else if w.cpu.is_some() || w.sleep.is_some() || w.steps.is_some() || w.working_set.is_some() {
        return Err(usage(format!(
            "{}: a third-party server serves its own page; leave out --cpu, --sleep, --steps \
             and --working-set",
            args.server
        )));
    } else {
        foreign::workload(args.server)
    };
    let seconds = |flag: &str, text: &str| {
        sim::unit::parse_duration(text)
            .map(|ns| ns as f64 / 1e9)
            .map_err(|e| usage(format!("{flag} `{text}`: {e}; write e.g. 10s")))
    };
    let point = Point {
        server: args.server,
        cores: args.cores,
        concurrency: args.concurrency,
        rate: args.rate,
        keepalive: !args.no_keepalive,
        workload,
        requests: args.requests,
        duration_s: seconds("--duration", &args.duration)?,
        warmup_s: seconds("--warmup", &args.warmup)?,
        load_wait: LoadWait::Spin,
    };
    check(&point)?;
    let machine_cores = micro::machine::cores();
    let shared = point.cores >= machine_cores;
    if shared && !args.shared_cores {
        return Err(usage(format!(
            "--cores {} leaves the load generator none of this machine's {machine_cores} \
             cores; give fewer, or --shared-cores to share them",
            point.cores
        )));
    }
    let point = Point {
        load_wait: load_wait(args.load_wait, shared)?,
        ..point
    };
    if let Some(path) = &args.emit_scenario {
        // Checked before the calibration and the servers, which take seconds.
        crate::output::check_writable("--emit-scenario", path)?;
    }
    let venv = foreign::venv(args.venv.as_deref());
    let costs = Costs::resolve(args.costs.as_deref())?;
    let (overhead, figures, _) = overhead(&point, false, &venv)
        .map_err(|e| e.context(format!("{} at concurrency 1 (its overhead)", point.server)))?;
    let baseline = Baseline {
        overhead,
        halts_per_request: figures.halts_per_request,
    };
    if let Some(path) = &args.emit_scenario {
        let text = predict::scenario_toml(&point, &costs, baseline);
        std::fs::write(path, text)
            .map_err(|e| usage(format!("--emit-scenario {}: {e}", path.display())))?;
    }
    let outcome = run_point(&point, &costs, baseline, &venv);
    if let Some(error) = &outcome.error {
        anyhow::bail!("{}: {error}", point.key());
    }
    let report = RunReport {
        outcome,
        machine: crate::point::Machine::this(),
        costs,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report.outcome));
    }
    Ok(())
}

/// Measured beside predicted, one figure a line.
pub fn table(outcome: &Outcome) -> String {
    type Get = fn(&Figures) -> Option<f64>;
    let rows: [(&str, Get); 8] = [
        ("requests/s", |f| f.rps),
        ("p50 ms", |f| f.p50_ms),
        ("p90 ms", |f| f.p90_ms),
        ("p99 ms", |f| f.p99_ms),
        ("p99.9 ms", |f| f.p999_ms),
        ("cpu ms/request", |f| f.cpu_ms_per_request),
        ("switches/request", |f| f.context_switches_per_request),
        ("rss bytes", |f| f.rss_bytes),
    ];
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "{}\n{:<18} {:>14} {:>14} {:>9}\n",
        outcome.point.key(),
        "",
        "measured",
        "predicted",
        "error %"
    );
    for (name, get) in rows {
        out.push_str(&format!(
            "{name:<18} {:>14} {:>14} {:>9}\n",
            cell(get(&outcome.measured)),
            cell(get(&outcome.predicted)),
            get(&outcome.error_percent).map_or("-".to_string(), |v| format!("{v:+.1}")),
        ));
    }
    if outcome.load_bound {
        out.push_str(
            "load_bound: the load generator was saturated; this point measures the client\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_generator_spins_on_cores_of_its_own_and_blocks_on_shared_ones() {
        assert_eq!(load_wait(None, false).unwrap(), LoadWait::Spin);
        assert_eq!(load_wait(None, true).unwrap(), LoadWait::Block);
        assert_eq!(
            load_wait(Some(LoadWait::Block), false).unwrap(),
            LoadWait::Block
        );
        let error = load_wait(Some(LoadWait::Spin), true)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--load-wait block"), "{error}");
    }
}
