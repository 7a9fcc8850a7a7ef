//! The command line of `reports`.

use std::path::PathBuf;

use clap::Parser;

/// The exit-code table every switchcost binary shows in its `--help`.
pub const EXIT_CODES: &str = "Exit codes: 0 success; 1 a run that failed (the message says why); \
2 anything to fix first (arguments, input files, output paths), checked before any work.";

/// Turns this machine's microbenchmarks and the simulator's replays and sweeps into the talk's
/// charts (SVG + PNG at 1920x1080, with the CSV behind each) and an index.html that shows them.
///
/// Example: `cargo run --release -p reports -- --quick --out /tmp/talk` then open
/// /tmp/talk/index.html.
#[derive(Debug, Clone, Parser)]
#[command(name = "reports", version, after_help = EXIT_CODES)]
pub struct Args {
    /// Directory for the charts, CSVs and index.html (created if missing).
    #[arg(long, default_value = "reports/out")]
    pub out: PathBuf,

    /// The simulator's costs from a file (what `calibrate --out costs.toml` writes) instead of
    /// this run's measurements.
    #[arg(long)]
    pub costs: Option<PathBuf>,

    /// Where Criterion keeps its estimates; used when `cargo bench -p micro` has run there,
    /// else a quick calibrate pass measures the costs.
    #[arg(long, default_value = "target/criterion")]
    pub from_criterion: PathBuf,

    /// Fewer simulated requests and sweep points: under 30 s in all.
    #[arg(long)]
    pub quick: bool,

    /// Also refresh the PNGs under reports/gallery/ that the README shows.
    #[arg(long)]
    pub gallery: bool,

    /// Where --gallery writes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/gallery"))]
    pub gallery_dir: PathBuf,

    /// Where the committed `testbed grid` results are (chart 10 reads the newest `*.json`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../testbed/results"))]
    pub testbed_results: PathBuf,

    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}
