//! The default grid (every server kind × concurrency × workload), measured and predicted point
//! by point, written to JSON and CSV after every point so nothing finished is ever lost.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::error::usage;
use crate::figures::Figures;
use crate::foreign;
use crate::kind::ServerKind;
use crate::point::{LoadWait, Machine, Outcome, Point};
use crate::predict::{Baseline, Costs};
use crate::run;
use crate::workload::Workload;

/// Version of the results file's layout.
pub const FORMAT: u32 = 1;

/// The largest results file read back (`--resume`, `--repredict`): a full grid is tens of KiB.
const RESULTS_CAP: u64 = 64 << 20;

/// One server kind's CPU per request beyond its steps, measured at concurrency 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overhead {
    /// The server kind.
    pub server: ServerKind,
    /// Its cores.
    pub cores: usize,
    /// Keep-alive as its points use it.
    pub keepalive: bool,
    /// How the load generator waited, as its points' did (block in files before it).
    #[serde(default)]
    pub load_wait: LoadWait,
    /// CPU per request beyond the steps, ms (`null` when the run failed): the median run's.
    pub overhead_ms_per_request: Option<f64>,
    /// Every run's figure, ms, in the order run (one in files before 2026-12-07T16, which
    /// have none).
    #[serde(default)]
    pub overhead_runs_ms: Vec<f64>,
    /// What the concurrency-1 run showed.
    pub measured: Figures,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl Overhead {
    fn matches(&self, point: &Point) -> bool {
        self.server == point.server
            && self.cores == point.cores
            && self.keepalive == point.keepalive
            && self.load_wait == point.load_wait
    }
}

/// A results file: the machine, the costs and overheads every prediction used, and the points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`FORMAT`].
    pub format: u32,
    /// The day the grid started (UTC, `YYYY-MM-DD`).
    pub date: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// `calibrate`'s costs used by every prediction.
    pub costs: Costs,
    /// Each server kind's overhead, measured once.
    pub overheads: Vec<Overhead>,
    /// The points, in the order they ran.
    pub points: Vec<Outcome>,
}

impl Results {
    /// Reads a results file.
    pub fn read(path: &Path) -> anyhow::Result<Results> {
        // Only a regular file, and never more than a results file could hold: `/dev/zero` or a
        // FIFO as --out must not exhaust memory or block.
        let text = sim::input::read_text(
            path,
            RESULTS_CAP,
            "testbed results",
            "name the JSON that `testbed grid --out` wrote",
        )?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a testbed results file (format {FORMAT})",
                path.display()
            )
        })
    }

    /// How the load generator waited in this file: at its first point, else at its first
    /// overhead run (`grid` loads a file's points alike and refuses to resume it otherwise).
    pub fn load_wait(&self) -> Option<LoadWait> {
        self.points
            .first()
            .map(|o| o.point.load_wait)
            .or_else(|| self.overheads.first().map(|o| o.load_wait))
    }

    /// The overhead for `point` and its run's halts, if measured.
    pub fn overhead_for(&self, point: &Point) -> Option<Baseline> {
        let o = self.overheads.iter().find(|o| o.matches(point))?;
        let ms = o.overhead_ms_per_request?;
        Some(Baseline {
            overhead: Duration::from_nanos((ms * 1e6).round() as u64),
            halts_per_request: o.measured.halts_per_request,
        })
    }

    /// Writes the JSON (via a temporary file and a rename, so a crash never leaves half a
    /// file) and the CSV beside it (same stem, `.csv`).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        atomic_write(path, &json)?;
        atomic_write(&path.with_extension("csv"), &self.csv())
    }

    /// One row per point: its parameters, then measured, predicted and error per figure.
    pub fn csv(&self) -> String {
        const KEYS: [&str; 8] = [
            "rps",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "p999_ms",
            "cpu_ms_per_request",
            "context_switches_per_request",
            "rss_bytes",
        ];
        let mut out = String::from(
            "server,cores,concurrency,rate,keepalive,workload,working_set_bytes,requests,\
             duration_s,load_bound,errors,overhead_ms_per_request,host_busy",
        );
        for side in ["measured", "predicted", "error_percent"] {
            for key in KEYS {
                let _ = write!(out, ",{side}_{key}");
            }
        }
        // New columns go last, so a reader of older files by position still finds the rest.
        out.push_str(
            ",error,load_wait,measured_halts_per_request,predicted_halts_per_request,\
             error_percent_halts_per_request,measured_timer_interrupts_per_request,\
             predicted_timer_interrupts_per_request,error_percent_timer_interrupts_per_request\n",
        );
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
        for o in &self.points {
            let p = &o.point;
            let steps = Workload {
                steps: p.workload.steps.clone(),
                working_set: 0,
            };
            let _ = write!(
                out,
                // The workload's steps hold commas (`cpu=20us,sleep=10ms`): quoted.
                "{},{},{},{},{},\"{}\",{},{},{},{},{},{},{}",
                p.server,
                p.cores,
                p.concurrency,
                p.rate.map_or(String::new(), |r| r.to_string()),
                p.keepalive,
                steps,
                p.workload.working_set,
                p.requests,
                p.duration_s,
                o.load_bound,
                o.errors,
                cell(o.overhead_ms_per_request),
                cell(o.host_busy),
            );
            for f in [&o.measured, &o.predicted, &o.error_percent] {
                for v in values(f) {
                    let _ = write!(out, ",{}", cell(v));
                }
            }
            let error = o.error.as_deref().unwrap_or("").replace(['"', '\n'], "'");
            let _ = write!(out, ",\"{error}\",{}", p.load_wait);
            for f in [&o.measured, &o.predicted, &o.error_percent] {
                let _ = write!(out, ",{}", cell(f.halts_per_request));
            }
            for f in [&o.measured, &o.predicted, &o.error_percent] {
                let _ = write!(out, ",{}", cell(f.timer_interrupts_per_request));
            }
            out.push('\n');
        }
        out
    }
}

impl Results {
    /// The grid as a Markdown table: measured beside predicted with the error, per point.
    pub fn markdown(&self) -> String {
        let n = |v: Option<f64>| match v {
            None => "–".to_string(),
            Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
            Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
            Some(v) => format!("{v:.3}"),
        };
        let e = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:+.0} %"));
        let mut out = String::from(
            "| server | workload | conns | req/s measured | req/s sim | error | p50 ms measured | \
             p50 ms sim | p99 ms measured | p99 ms sim | error | CPU ms/req measured / sim | \
             switches/req measured / sim | other load | on target |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for o in &self.points {
            let (m, s) = (&o.measured, &o.predicted);
            let verdict = match (&o.error, o.load_bound, o.on_target()) {
                (Some(error), _, _) => format!("failed: {}", error.replace('|', "/")),
                (None, true, _) => "load-bound".to_string(),
                (None, false, Some(true)) => "yes".to_string(),
                (None, false, Some(false)) => "**no**".to_string(),
                (None, false, None) => "–".to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} |",
                o.point.server,
                if o.point.server.is_in_tree() {
                    o.point.workload.to_string()
                } else {
                    foreign::page(o.point.server).to_string()
                },
                o.point.concurrency,
                n(m.rps),
                n(s.rps),
                e(o.error_percent.rps),
                n(m.p50_ms),
                n(s.p50_ms),
                n(m.p99_ms),
                n(s.p99_ms),
                e(o.error_percent.p99_ms),
                n(m.cpu_ms_per_request),
                n(s.cpu_ms_per_request),
                n(m.context_switches_per_request),
                n(s.context_switches_per_request),
                o.host_busy
                    .map_or("–".to_string(), |b| format!("{:.0} %", b * 100.0)),
                verdict,
            );
        }
        out
    }
}

/// The eight figures in [`Figures`]' order.
fn values(f: &Figures) -> [Option<f64>; 8] {
    [
        f.rps,
        f.p50_ms,
        f.p90_ms,
        f.p99_ms,
        f.p999_ms,
        f.cpu_ms_per_request,
        f.context_switches_per_request,
        f.rss_bytes,
    ]
}

fn atomic_write(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .map_err(|e| usage(format!("could not write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| usage(format!("could not write {}: {e}", path.display())))
}

/// The server kinds of the default grid on a server of `cores` cores: at one core, `tokio`
/// is `tokio:1` (one worker), so only `tokio:1` runs.
pub fn default_servers(cores: usize) -> Vec<ServerKind> {
    ServerKind::ALL
        .into_iter()
        .filter(|k| cores > 1 || *k != ServerKind::Tokio)
        .collect()
}

/// The most working-set memory (per-connection buffers × connections) a grid point may hold:
/// 1 MiB × 1,000 connections fits, × 10,000 does not.
pub const MAX_GRID_WORKING_SET: u64 = 2 << 30;

/// The grid's three in-tree workloads.
fn workloads() -> Vec<Workload> {
    let parse = |steps: &str, ws: u64| Workload {
        working_set: ws,
        ..steps.parse().unwrap_or_default()
    };
    vec![
        parse("cpu=50us", 0),
        parse("cpu=20us,sleep=10ms", 0),
        parse("cpu=200us,sleep=5ms", 1 << 20),
    ]
}

/// Keep-alive for a kind's points: on, except for uvicorn, which W2 drives with `ab` without
/// `-k` (a connection per request).
pub fn keepalive(kind: ServerKind) -> bool {
    !matches!(kind, ServerKind::UvicornDef | ServerKind::UvicornAsync)
}

/// The points of the grid, in the order they run (one server kind after another).
pub fn points(
    servers: &[ServerKind],
    cores: usize,
    quick: bool,
    load_wait: LoadWait,
) -> Vec<Point> {
    let mut out = Vec::new();
    for &server in servers {
        let concurrencies: &[u32] = match (quick, server) {
            (true, _) => &[10],
            // 100 ms per request on one Python process: 1,000 connections already queue
            // seconds deep; 10,000 would only measure connect timeouts.
            (false, ServerKind::UvicornDef | ServerKind::UvicornAsync) => &[1, 10, 100, 1000],
            (false, _) => &[1, 10, 100, 1000, 10_000],
        };
        let loads = if server.is_in_tree() {
            if quick {
                workloads().into_iter().take(1).collect()
            } else {
                workloads()
            }
        } else {
            vec![foreign::workload(server)]
        };
        for workload in loads {
            for &concurrency in concurrencies {
                // 10,000 connections of 1 MiB each would hold 10 GiB of buffers: a test of
                // the machine's memory, not of its scheduler. Points past the bound are left out.
                if workload.working_set.saturating_mul(u64::from(concurrency))
                    > MAX_GRID_WORKING_SET
                {
                    continue;
                }
                let (duration_s, warmup_s) = match (quick, concurrency) {
                    (true, _) => (1.0, 0.2),
                    (false, c) if c >= 1000 => (5.0, 2.0),
                    (false, _) => (4.0, 1.0),
                };
                out.push(Point {
                    server,
                    cores,
                    concurrency,
                    rate: None,
                    keepalive: keepalive(server),
                    workload: workload.clone(),
                    requests: if quick { 5_000 } else { 100_000 },
                    duration_s,
                    warmup_s,
                    load_wait,
                });
            }
        }
    }
    out
}

/// What `testbed grid` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// The small CI grid.
    pub quick: bool,
    /// Results file.
    pub out: PathBuf,
    /// Skip finished points already in `out`.
    pub resume: bool,
    /// `--costs`.
    pub costs: Option<PathBuf>,
    /// Server kinds (empty: the default list).
    pub servers: Vec<ServerKind>,
    /// Only these concurrencies (empty: all).
    pub concurrency: Vec<u32>,
    /// Server cores.
    pub cores: usize,
    /// How the load generator waits for answers (`None`: as the resumed file's points did,
    /// else spinning).
    pub load_wait: Option<LoadWait>,
    /// The FastAPI venv.
    pub venv: PathBuf,
    /// No progress bar.
    pub quiet: bool,
}

/// Runs the grid, writing `out` after every point.
pub fn run(options: &Options) -> anyhow::Result<Results> {
    let servers = if options.servers.is_empty() {
        default_servers(options.cores)
    } else {
        options.servers.clone()
    };
    crate::output::check_writable("--out", &options.out)?;
    let previous = if options.resume && options.out.is_file() {
        Some(Results::read(&options.out).map_err(|e| usage(format!("--resume: {e:#}")))?)
    } else {
        None
    };
    // A resumed grid goes on as its finished points were loaded unless told otherwise, so
    // `--resume --table` on a file of a blocking load generator prints it rather than
    // measuring every point again with a spinning one.
    let before = previous.as_ref().and_then(Results::load_wait);
    if let (Some(asked), Some(before)) = (options.load_wait, before)
        && asked != before
    {
        return Err(usage(format!(
            "--load-wait {asked}: the points in {} were measured with --load-wait {before}; \
             resume with that, or give a new --out",
            options.out.display()
        )));
    }
    let load_wait = options.load_wait.or(before).unwrap_or(LoadWait::Spin);
    let mut points = points(&servers, options.cores, options.quick, load_wait);
    if !options.concurrency.is_empty() {
        points.retain(|p| options.concurrency.contains(&p.concurrency));
        if points.is_empty() {
            return Err(usage(format!(
                "--concurrency {:?}: no point of this grid has that concurrency (the grid uses 1, 10, 100, 1000 and 10000; --quick only 10)",
                options.concurrency
            )));
        }
    }
    // A resumed grid keeps the costs its finished points were predicted with.
    let costs = match (&options.costs, &previous) {
        (Some(file), _) => Costs::from_file(file)?,
        (None, Some(p)) => p.costs.clone(),
        (None, None) => Costs::calibrate_quick()?,
    };
    let mut results = previous.unwrap_or_else(|| Results {
        format: FORMAT,
        date: micro::machine::today(),
        machine: Machine::this(),
        costs: costs.clone(),
        overheads: Vec::new(),
        points: Vec::new(),
    });
    results.costs = costs;
    // Failed points run again; finished ones are kept.
    results.points.retain(|o| o.error.is_none());
    results.overheads.retain(|o| o.error.is_none());
    let done: BTreeMap<String, ()> = results.points.iter().map(|o| (o.point.key(), ())).collect();
    let todo: Vec<&Point> = points
        .iter()
        .filter(|p| !done.contains_key(&p.key()))
        .collect();

    let bar = progress(options.quiet, todo.len() as u64);
    for point in todo {
        bar.set_message(point.key());
        if !results.overheads.iter().any(|o| o.matches(point)) {
            bar.set_message(format!("{} at concurrency 1 (overhead)", point.server));
            let measured = run::overhead(point, options.quick, &options.venv);
            results.overheads.push(match measured {
                Ok((overhead, figures, runs)) => Overhead {
                    server: point.server,
                    cores: point.cores,
                    keepalive: point.keepalive,
                    load_wait: point.load_wait,
                    overhead_ms_per_request: Some(overhead.as_secs_f64() * 1000.0),
                    overhead_runs_ms: runs,
                    measured: figures,
                    error: None,
                },
                Err(error) => Overhead {
                    server: point.server,
                    cores: point.cores,
                    keepalive: point.keepalive,
                    load_wait: point.load_wait,
                    overhead_ms_per_request: None,
                    overhead_runs_ms: Vec::new(),
                    measured: Figures::default(),
                    error: Some(format!("{error:#}")),
                },
            });
            results.write(&options.out)?;
            bar.set_message(point.key());
        }
        let outcome = match results.overhead_for(point) {
            Some(overhead) => run::run_point(point, &results.costs, overhead, &options.venv),
            None => {
                let why = results
                    .overheads
                    .iter()
                    .find(|o| o.matches(point))
                    .and_then(|o| o.error.clone())
                    .unwrap_or_default();
                Outcome::failed(
                    point.clone(),
                    &anyhow::anyhow!(
                        "no overhead for {} (concurrency 1 failed: {why})",
                        point.server
                    ),
                )
            }
        };
        results.points.push(outcome);
        results.write(&options.out)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

fn progress(quiet: bool, len: u64) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} points (eta {eta}) {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Recomputes every finished point's prediction (and error) in `path` with the current
/// scenario mapping and simulator, from the file's own costs and overheads; the measurements
/// are left as they were taken.
pub fn repredict(path: &Path) -> anyhow::Result<Results> {
    crate::output::check_writable("--out", path)?;
    let mut results = Results::read(path).map_err(|e| usage(format!("--repredict: {e:#}")))?;
    let (costs, overheads) = (results.costs.clone(), results.clone());
    for o in results.points.iter_mut().filter(|o| o.error.is_none()) {
        let Some(overhead) = overheads.overhead_for(&o.point) else {
            continue;
        };
        let predicted = crate::predict::predict(&o.point, &costs, overhead)?;
        o.error_percent = predicted.error_percent(&o.measured);
        o.predicted = predicted;
    }
    results.write(path)?;
    Ok(results)
}

/// `testbed grid`.
pub fn command(args: &crate::cli::GridArgs) -> anyhow::Result<()> {
    let machine_cores = micro::machine::cores();
    if args.cores == 0 || args.cores >= machine_cores {
        return Err(usage(format!(
            "--cores {}: the load generator needs a core of its own; give 1 to {}",
            args.cores,
            machine_cores.saturating_sub(1).max(1)
        )));
    }
    let options = Options {
        quick: args.quick,
        out: args.out.clone(),
        resume: args.resume,
        costs: args.costs.clone(),
        servers: args.servers.clone(),
        concurrency: args.concurrency.clone(),
        cores: args.cores,
        // The load generator always has a core of its own here: either way is allowed.
        load_wait: args.load_wait,
        venv: foreign::venv(args.venv.as_deref()),
        quiet: args.quiet,
    };
    let results = if args.repredict {
        repredict(&options.out)?
    } else {
        run(&options)?
    };
    if args.table {
        print!("{}", results.markdown());
    }
    let failed = results.points.iter().filter(|o| o.error.is_some()).count();
    eprintln!(
        "{} points ({failed} failed) in {} and {}",
        results.points.len(),
        options.out.display(),
        options.out.with_extension("csv").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
