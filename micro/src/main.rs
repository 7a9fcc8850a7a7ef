//! `calibrate`: measures this machine's add, switch, spawn and memory costs.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Measures what an add, an OS thread switch, a task switch, a spawn and an idle unit cost on
/// this machine, and prints them in the talk's table (or as JSON, or as the simulator's costs).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Print one JSON object (ns, bytes) instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the simulator's `[costs]` table to this file.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Wall-time budget: standard (~30 s), quick (~4 s), tiny (~1 s) or a duration like 45s.
    #[arg(long, default_value = "standard", conflicts_with = "quick")]
    budget: micro::Budget,
    /// Same as --budget quick.
    #[arg(long)]
    quick: bool,
    /// No progress lines on stderr (warnings and reasons for missing values still print).
    #[arg(long)]
    quiet: bool,
    /// Measure nothing: read the means of an earlier `cargo bench -p micro` from this
    /// directory (usually target/criterion) and list them with their confidence intervals.
    #[arg(long, value_name = "DIR")]
    from_criterion: Option<PathBuf>,
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let budget = if args.quick {
        micro::Budget::quick()
    } else {
        args.budget
    };
    let mut stdout = std::io::stdout().lock();
    let calibration = if let Some(dir) = &args.from_criterion {
        let calibration = micro::from_criterion(dir)
            .with_context(|| format!("reading Criterion results under {}", dir.display()))?
            .with_context(|| {
                format!(
                    "no micro benchmark results under {}; run `cargo bench -p micro` first",
                    dir.display()
                )
            })?;
        if !args.json {
            writeln!(stdout, "{}", micro::table::render_intervals(dir)?)
                .context("writing to stdout")?;
        }
        calibration
    } else {
        let show_progress = !args.quiet && std::io::stderr().is_terminal();
        let mut progress = |line: &str| {
            if show_progress {
                eprintln!("  {line}");
            }
        };
        let (calibration, notes) = micro::calibrate(&budget, &mut progress);
        for note in &notes {
            eprintln!("{note}");
        }
        calibration
    };
    if args.json {
        let json = serde_json::to_string_pretty(&calibration).context("serialising the results")?;
        writeln!(stdout, "{json}").context("writing to stdout")?;
    } else {
        write!(stdout, "{}", micro::table::render(&calibration)).context("writing to stdout")?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, calibration.to_costs_toml())
            .with_context(|| format!("writing the costs table to {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("calibrate: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
