//! The `sim` command line: what each command does (argument types in `cli/args.rs`, the
//! sweep's results file in `cli/file.rs`).
//!
//! `main.rs` parses [`Args`] and calls [`dispatch`]; [`exit_code`] maps an error to the exit
//! status: 2 for a scenario, grid or file the user must fix, 1 for a run that failed.

mod args;
mod file;

pub use args::{Args, Command, CommonArgs, ReplayArgs, RunArgs, SweepArgs};
pub use file::OutputError;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{Format, RunRecord, replay_table, rows_table, write_csv};
use crate::pricing::PriceTable;
use crate::replay::{ReplayError, replay};
use crate::scenario::{CostOverrides, Overrides, Scenario, ScenarioError, builtin, builtins};
use crate::sweep::{
    Grid, SweepError, SweepOptions, SweepRow, cheapest, execute, finished_keys, plan, sweep,
};

use file::{AppendCsv, check_output, read_rows};

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
