//! The command line's argument types (clap derive): the subcommands and their options.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::sweep::{Shard, Slo};

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
