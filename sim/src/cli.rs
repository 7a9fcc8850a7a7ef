//! The `sim` command line: argument types (clap derive) and what each command does.
//!
//! `main.rs` parses [`Args`] and calls [`dispatch`]; [`exit_code`] maps an error to the exit
//! status: 2 for a scenario, grid or file the user must fix, 1 for a run that failed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args as ClapArgs, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{Format, RunRecord, replay_table, rows_table, write_csv};
use crate::pricing::PriceTable;
use crate::replay::{ReplayError, replay};
use crate::scenario::{CostOverrides, Overrides, Scenario, ScenarioError, builtin, builtins};
use crate::sweep::{
    Grid, Shard, Slo, SweepError, SweepOptions, SweepRow, cheapest, execute, finished_keys, plan,
    sweep,
};

/// The exit-code table every switchcost binary shows at the end of its `--help`.
macro_rules! exit_codes {
    () => {
        "\n\nExit codes: 0 success; 1 a run that failed (the message says why); 2 anything to fix \
         first (arguments, input files, output paths), checked before any work."
    };
}

/// Simulates web servers (thread per request, preemptive green threads, cooperative event
/// loops) on a machine of N cores, and prices the answer.
#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    after_help = concat!("Examples:\n  sim list\n  sim run recipe-api\n  sim sweep scale-up-vs-out --cores 1,2,4,8,16,32 --slo \"p99<200ms\"\n  sim replay", exit_codes!())
)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs every [[server]] of a scenario and prints what a load tester and `top` would show.
    #[command(
        after_help = concat!("Examples:\n  sim run recipe-api\n  sim run my-api.toml --cores 8 --model cooperative --json\n  sim run fastapi-sleep --costs costs.toml --replications 4 --csv", exit_codes!())
    )]
    Run(RunArgs),
    /// Runs a grid of core counts and loads in parallel, with a price per row.
    #[command(
        after_help = concat!("Examples:\n  sim sweep scale-up-vs-out --cores 1,2,4,8,16,32 --slo \"p99<200ms\"\n  sim sweep my-api.toml --cores 2,4,8 --rates 500,1000,2000 --out results.csv\n  # one of 8 shares of the grid, e.g. in a Slurm job array (--array=1-8):\n  sim sweep my-api.toml --cores 1,2,4,8,16,32,64 --out part-$SLURM_ARRAY_TASK_ID.csv --shard $SLURM_ARRAY_TASK_ID/8", exit_codes!())
    )]
    Sweep(SweepArgs),
    /// Replays the built-in scenarios and compares them with their published figures.
    #[command(after_help = concat!("Examples:\n  sim replay\n  sim replay recipe-api fastapi-sleep --json", exit_codes!()))]
    Replay(ReplayArgs),
    /// Lists the built-in scenarios.
    #[command(after_help = concat!("Examples:\n  sim list\n  sim list --json", exit_codes!()))]
    List {
        /// Print JSON: an array of objects with name and description.
        #[arg(long)]
        json: bool,
        /// Accepted for symmetry with the other commands; `list` never shows progress.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Prints a built-in scenario's TOML, to copy and edit.
    #[command(after_help = concat!("Example:\n  sim show recipe-api > my-api.toml", exit_codes!()))]
    Show {
        /// A built-in scenario's name (see `sim list`).
        name: String,
    },
    /// Checks scenario files without running them.
    #[command(after_help = concat!("Example:\n  sim check my-api.toml", exit_codes!()))]
    Check {
        /// Scenario files (or built-in names).
        #[arg(required = true)]
        files: Vec<String>,
    },
}

/// Options shared by `run` and `sweep`.
#[derive(Debug, ClapArgs)]
pub struct CommonArgs {
    /// Seed of the random number generator (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this many requests (a warm-up given as a count shrinks in proportion).
    #[arg(long)]
    pub requests: Option<u64>,
    /// A costs file with a [costs] table (what `calibrate --out` writes); replaces the
    /// scenario's [costs], not a server's own cost keys.
    #[arg(long, value_name = "FILE")]
    pub costs: Option<PathBuf>,
    /// Independent replications per run (1 to 100000), combined into one confidence interval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub replications: u64,
    /// Stop a run with an error (exit 1) after this many events (default: the scenario's
    /// max_events, else 200,000,000). The limit counts the events of each replication (and each
    /// sweep point) on its own, and every wait of a `parallel` step counts as one.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl CommonArgs {
    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.csv {
            Format::Csv
        } else {
            Format::Table
        }
    }

    fn overrides(&self) -> anyhow::Result<Overrides> {
        let costs = match &self.costs {
            Some(path) => CostOverrides::read_file(path)?,
            None => CostOverrides::default(),
        };
        Ok(Overrides {
            seed: self.seed,
            requests: self.requests,
            costs,
            max_events: self.max_events,
            ..Overrides::default()
        })
    }
}

/// `sim run`.
#[derive(Debug, ClapArgs)]
pub struct RunArgs {
    /// A scenario file, or a built-in scenario's name (see `sim list`).
    pub scenario: String,
    /// Cores of the simulated machine.
    #[arg(long)]
    pub cores: Option<u64>,
    /// Run only servers with this model name or label (repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<String>,
    /// Open-loop arrival rate, requests per second (an open-loop scenario only).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Closed-loop clients (a closed-loop scenario only).
    #[arg(long, conflicts_with = "rate")]
    pub concurrency: Option<u64>,
    /// A pricing file ([pricing] table of cores = dollars per month) for the $ columns.
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
}

/// `sim sweep`.
#[derive(Debug, ClapArgs)]
pub struct SweepArgs {
    /// A scenario file, or a built-in scenario's name.
    pub scenario: String,
    /// Core counts per machine (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<u64>,
    /// Open-loop rates, requests per second.
    #[arg(long, value_delimiter = ',')]
    pub rates: Vec<f64>,
    /// Closed-loop client counts.
    #[arg(long, value_delimiter = ',', conflicts_with = "rates")]
    pub concurrency: Vec<u64>,
    /// Model names or server labels to run (default: all).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Append each finished row to this CSV file; rows already there are skipped.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run only share K of N of the grid (K from 1 to N), for batch schedulers.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// A latency objective such as "p99<200ms": marks the cheapest row meeting it per load.
    #[arg(long)]
    pub slo: Option<Slo>,
    /// A pricing file ([pricing] table of cores = dollars per month); default: the scenario's
    /// [pricing], else the talk's list prices.
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: CommonArgs,
}

/// `sim replay`.
#[derive(Debug, ClapArgs)]
pub struct ReplayArgs {
    /// Built-in scenarios to replay (default: all).
    pub names: Vec<String>,
    /// Print JSON: one object per server with scenario, label, published and simulated.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The exit status for an error: 2 when the input must be fixed, 1 when a run failed.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<ScenarioError>().is_some() {
            return 2;
        }
        if let Some(SweepError::Scenario(_) | SweepError::Resume { .. }) =
            cause.downcast_ref::<SweepError>()
        {
            return 2;
        }
        if let Some(ReplayError::Unknown(_)) = cause.downcast_ref::<ReplayError>() {
            return 2;
        }
        if cause.is::<OutputError>() {
            return 2;
        }
        // The engine's own check of a parameter: the input is wrong, not the run.
        if let Some(crate::SimError::Invalid(_)) = cause.downcast_ref::<crate::SimError>() {
            return 2;
        }
    }
    1
}

/// Runs a parsed command line.
pub fn dispatch(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Run(a) => run(a),
        Command::Sweep(a) => sweep_command(a),
        Command::Replay(a) => replay_command(a),
        Command::List { json: true, .. } => {
            let list: Vec<serde_json::Value> = builtins()
                .iter()
                .map(|b| serde_json::json!({ "name": b.name, "description": b.description }))
                .collect();
            print(&(serde_json::to_string_pretty(&list)? + "\n"))
        }
        Command::List { json: false, .. } => {
            let rows: Vec<Vec<String>> = builtins()
                .iter()
                .map(|b| vec![b.name.to_string(), b.description.to_string()])
                .collect();
            print(&crate::output::table(&["name", "description"], &rows, 2))
        }
        Command::Show { name } => match builtin(&name) {
            Some(b) => print(b.toml),
            None => Err(ScenarioError::Unknown(name).into()),
        },
        Command::Check { files } => {
            for file in files {
                let scenario = Scenario::load(&file)?;
                for config in scenario.run_configs(&Overrides::default())? {
                    crate::validate(&config)
                        .with_context(|| format!("{file}: server {:?}", config.server.label))?;
                }
                print(&format!(
                    "{file}: ok\n{}",
                    crate::scenario::summary(&scenario)
                ))?;
            }
            Ok(())
        }
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`sim list | head`) is not a failure of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn prices(scenario: &Scenario, file: Option<&Path>) -> anyhow::Result<PriceTable> {
    Ok(match file {
        Some(path) => PriceTable::read_file(path)?,
        None => scenario.pricing.clone().unwrap_or_else(PriceTable::talk),
    })
}

/// A progress bar on stderr that appears only once the work has taken a second, and never
/// when stderr is not a terminal or the user asked for quiet.
struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    fn new(len: u64, quiet: bool, message: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {percent}% eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    fn set(&self, position: u64) {
        if self.enabled
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(position);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn run(a: RunArgs) -> anyhow::Result<()> {
    let scenario = Scenario::load(&a.scenario)?;
    let mut overrides = a.common.overrides()?;
    overrides.cores = a.cores;
    overrides.models = a.model.clone();
    overrides.rate = a.rate;
    overrides.concurrency = a.concurrency;
    let deployments = scenario.deployments(&overrides)?;
    let prices = prices(&scenario, a.pricing.as_deref())?;
    const STEPS: u64 = 1000;
    let progress = Progress::new(
        STEPS * deployments.len() as u64,
        a.common.quiet,
        &scenario.name,
    );
    let fractions: Vec<AtomicU64> = deployments.iter().map(|_| AtomicU64::new(0)).collect();
    let reports: Vec<_> = deployments
        .par_iter()
        .enumerate()
        .map(|(i, d)| {
            let on_progress = |fraction: f64| {
                fractions[i].store(
                    (fraction.clamp(0.0, 1.0) * STEPS as f64) as u64,
                    Ordering::Relaxed,
                );
                progress.set(fractions.iter().map(|f| f.load(Ordering::Relaxed)).sum());
            };
            execute(&d.config, a.common.replications, &on_progress).with_context(|| {
                format!(
                    "simulating {:?} of {}",
                    d.config.server.label, scenario.name
                )
            })
        })
        .collect();
    progress.finish();
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for (d, report) in deployments.iter().zip(reports) {
        let report = report?;
        if !report.latency_ms.is_measured() {
            // Its latencies are null in JSON (empty in CSV, `-` in the table): say why. A
            // broadcast load measures only the broadcast's messages.
            let what = if report.completed == 0 {
                "request"
            } else {
                "broadcast message"
            };
            eprintln!(
                "warning: {:?} completed no {what} in the measured window, so it has no latency (null in JSON, empty in CSV, - in the table)",
                d.config.server.label
            );
        }
        let row = SweepRow::new(&report, d, &prices);
        records.push(RunRecord {
            report,
            machines: d.machines,
            usd_per_month: row.usd_per_month,
            usd_per_million_requests: row.usd_per_million_requests,
        });
        rows.push(row);
    }
    match a.common.format() {
        Format::Json => print(&(serde_json::to_string_pretty(&records)? + "\n")),
        Format::Csv => {
            let mut buffer = Vec::new();
            write_csv(&mut buffer, &rows)?;
            print(&String::from_utf8_lossy(&buffer))
        }
        Format::Table => print(&rows_table(&rows, &[])),
    }
}

/// A sweep row with the cheapest mark, for `--json`.
#[derive(Serialize)]
struct MarkedRow<'a> {
    #[serde(flatten)]
    row: &'a SweepRow,
    cheapest: bool,
}

fn sweep_command(a: SweepArgs) -> anyhow::Result<()> {
    if let Some(path) = &a.out {
        check_output("--out", path)?;
    }
    let scenario = Scenario::load(&a.scenario)?;
    let prices = prices(&scenario, a.pricing.as_deref())?;
    let grid = Grid {
        cores: a.cores.clone(),
        rates: a.rates.clone(),
        concurrency: a.concurrency.clone(),
        models: a.models.clone(),
    };
    let done = match &a.out {
        Some(path) => finished_keys(path)?,
        None => Default::default(),
    };
    let skipped = done.len();
    let opts = SweepOptions {
        overrides: Overrides {
            sweep: true,
            ..a.common.overrides()?
        },
        replications: a.common.replications,
        shard: a.shard,
        slo: a.slo,
        done,
    };
    let points = plan(&scenario, &grid, &opts)?;
    if skipped > 0 && !a.common.quiet {
        eprintln!(
            "{}: {skipped} rows already there are skipped; {} points to run",
            a.out.as_deref().unwrap_or(Path::new("")).display(),
            points.len()
        );
    }
    let mut writer = match &a.out {
        Some(path) => Some(AppendCsv::open(path)?),
        None => None,
    };
    let progress = Progress::new(points.len() as u64, a.common.quiet, &scenario.name);
    let mut finished = 0u64;
    let mut write_error: Option<anyhow::Error> = None;
    let result = sweep(&scenario, &grid, &prices, &opts, &mut |row| {
        finished += 1;
        progress.set(finished);
        if let Some(w) = &mut writer
            && write_error.is_none()
            && let Err(e) = w.append(row)
        {
            write_error = Some(e);
        }
    });
    progress.finish();
    if let Some(e) = write_error {
        return Err(e);
    }
    let rows = result?;
    let empty = rows.iter().filter(|r| r.latency_ms_mean.is_nan()).count();
    if empty > 0 {
        eprintln!(
            "warning: {empty} of {} points completed no request (or broadcast message) in the measured window, so they have no latency (null in JSON, empty in CSV, - in the table)",
            rows.len()
        );
    }
    // The cheapest configuration may be among rows an earlier (or another shard's) run wrote.
    let mut all: Vec<SweepRow> = match (&a.out, a.slo) {
        (Some(path), Some(_)) => read_rows(path)?
            .into_iter()
            .filter(|r| r.scenario == scenario.name)
            .collect(),
        _ => rows.clone(),
    };
    if let Some(slo) = a.slo {
        for row in &mut all {
            row.meets_slo = Some(slo.met_by(row));
        }
    }
    let best: Vec<&SweepRow> = cheapest(&all).into_iter().map(|i| &all[i]).collect();
    let marks: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| best.iter().any(|b| b.key() == r.key()))
        .map(|(i, _)| i)
        .collect();
    match a.common.format() {
        Format::Json => {
            let marked: Vec<MarkedRow> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| MarkedRow {
                    row,
                    cheapest: marks.contains(&i),
                })
                .collect();
            print(&(serde_json::to_string_pretty(&marked)? + "\n"))?;
        }
        Format::Csv => {
            let mut buffer = Vec::new();
            write_csv(&mut buffer, &rows)?;
            print(&String::from_utf8_lossy(&buffer))?;
        }
        Format::Table => print(&rows_table(&rows, &marks))?,
    }
    if let Some(slo) = &a.slo
        && !a.common.quiet
    {
        if best.is_empty() {
            eprintln!("no configuration meets the objective {slo:?}");
        }
        for b in best {
            let load = match (b.rate_rps, b.concurrency) {
                (Some(r), _) => format!("{r} rps"),
                (None, Some(c)) => format!("{c} clients"),
                _ => b.load_kind.clone(),
            };
            eprintln!(
                "cheapest meeting the objective at {load}: {} ({}) on {} cores{}, ${}/month",
                b.label,
                b.model,
                b.cores,
                if b.machines > 1 {
                    format!(" x {} machines", b.machines)
                } else {
                    String::new()
                },
                crate::output::num(b.usd_per_month, 2)
            );
        }
    }
    Ok(())
}

/// An output path that cannot be used; found before any work, exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {path}: {problem}")]
pub struct OutputError {
    flag: &'static str,
    path: String,
    problem: String,
}

/// Fails unless `path` is a regular file (or nothing yet) that can be appended to: a directory
/// or a FIFO (which would block the sweep forever) is refused. Nothing is truncated; a file
/// created by the probe is removed again.
fn check_output(flag: &'static str, path: &Path) -> anyhow::Result<()> {
    let problem = |problem: String| OutputError {
        flag,
        path: path.display().to_string(),
        problem,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(problem("is a directory; name a CSV file".into()))?,
        Ok(m) if !m.is_file() => Err(problem(format!(
            "is not a regular file ({}); name a CSV file",
            crate::input::file_kind(&m)
        )))?,
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => Err(problem(format!("cannot be read ({e})")))?,
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| problem(format!("cannot be written ({e}); name a writable file")))?;
    if !existed {
        // The probe's file goes again; the sweep creates it when the first row is ready.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// A results file that rows are appended to, one flushed line at a time, so an interrupted
/// sweep keeps every finished row.
struct AppendCsv {
    writer: csv::Writer<std::fs::File>,
    path: PathBuf,
}

impl AppendCsv {
    fn open(path: &Path) -> anyhow::Result<Self> {
        drop_partial_line(path)?;
        let empty = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} to append results", path.display()))?;
        let writer = csv::WriterBuilder::new()
            .has_headers(empty)
            .from_writer(file);
        Ok(AppendCsv {
            writer,
            path: path.to_path_buf(),
        })
    }

    fn append(&mut self, row: &SweepRow) -> anyhow::Result<()> {
        self.writer
            .serialize(row)
            .and_then(|()| Ok(self.writer.flush()?))
            .with_context(|| format!("appending a row to {}", self.path.display()))
    }
}

/// An interrupted write can leave half a row at the end of the file; cut it off so the next
/// row starts on its own line (that point is simply run again).
fn drop_partial_line(path: &Path) -> anyhow::Result<()> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("reading {}", path.display()));
        }
    };
    if text.is_empty() || text.ends_with(b"\n") {
        return Ok(());
    }
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(keep as u64))
        .with_context(|| format!("cutting a partial last row off {}", path.display()))
}

fn read_rows(path: &Path) -> anyhow::Result<Vec<SweepRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {} back", path.display()))?;
    let mut rows = Vec::new();
    for row in reader.deserialize::<SweepRow>() {
        rows.push(row.with_context(|| format!("reading {} back", path.display()))?);
    }
    Ok(rows)
}

fn replay_command(a: ReplayArgs) -> anyhow::Result<()> {
    let progress = Progress::new(1, a.quiet, "replay");
    let rows = replay(&a.names, &|done, total| {
        progress.bar.set_length(total as u64);
        progress.set(done as u64);
    })?;
    progress.finish();
    if a.json {
        print(&(serde_json::to_string_pretty(&rows)? + "\n"))
    } else {
        print(&replay_table(&rows))
    }
}
