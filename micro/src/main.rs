//! `calibrate`: measures this machine's add, switch, spawn and memory costs.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 a run that failed (the message says why); \
2 anything to fix first (arguments, input files, output paths), checked before any work.";

/// Something the user must fix before anything is measured; exits 2 (any other error exits 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// Fails (exit 2) unless `path` can be written, without truncating what is there: checked
/// before the measurements spend their budget.
fn check_out(path: &std::path::Path) -> anyhow::Result<()> {
    let existed = path.exists();
    if path.is_dir() {
        let what = format!("--out {} is a directory; name a file", path.display());
        return Err(Usage(what).into());
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
    {
        let what = format!("--out {}: cannot write it ({e})", path.display());
        return Err(Usage(what).into());
    }
    if !existed {
        // Only the probe is removed; a failure leaves an empty file the real write replaces.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Measures what an add, an OS thread switch, a task switch, a spawn and an idle unit cost on
/// this machine, and prints them in the talk's table (or as JSON, or as the simulator's costs).
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXIT_CODES)]
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
    if let Some(path) = &args.out {
        check_out(path)?;
    }
    if let Some(dir) = args.from_criterion.as_ref().filter(|d| !d.is_dir()) {
        let what = format!(
            "--from-criterion {}: no such directory; run `cargo bench -p micro` first, or pass \
             the directory it wrote (usually target/criterion)",
            dir.display()
        );
        return Err(Usage(what).into());
    }
    let mut stdout = std::io::stdout().lock();
    let calibration = if let Some(dir) = &args.from_criterion {
        let calibration = micro::from_criterion(dir)
            .with_context(|| format!("reading Criterion results under {}", dir.display()))?
            .ok_or_else(|| {
                Usage(format!(
                    "no micro benchmark results under {}; run `cargo bench -p micro` first",
                    dir.display()
                ))
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
            let usage = error.chain().any(|cause| cause.is::<Usage>());
            std::process::ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
