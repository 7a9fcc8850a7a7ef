//! Command-line arguments of `testbed` and the dispatch to the library.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::error::usage;
use crate::kind::ServerKind;
use crate::point::LoadWait;
use crate::server;
use crate::workload::Workload;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 a run that failed (the message says why); \
2 anything to fix first (arguments, input files, output paths, missing packages).";

/// Real servers on this machine under a real load generator, with `sim`'s prediction beside
/// every measured point. All traffic stays on 127.0.0.1; every run is bounded in requests and
/// time; every server started is stopped on exit.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXIT_CODES)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one server in the foreground and print its URL.
    Serve(ServeArgs),
    /// Drive any HTTP server on a loopback address and measure it.
    Load(LoadArgs),
    /// Serve, load and predict one point.
    Run(RunArgs),
    /// The default grid: every server × concurrency × workload, measured and predicted.
    Grid(GridArgs),
}

/// The handler's workload, shared by `serve` and `run`.
#[derive(Debug, Clone, ClapArgs)]
pub struct WorkloadArgs {
    /// CPU work per request, calibrated at start-up to take this long (e.g. 200us).
    #[arg(long)]
    pub cpu: Option<String>,
    /// A wait per request that needs no core, after the cpu step (e.g. 5ms).
    #[arg(long)]
    pub sleep: Option<String>,
    /// Steps in order, instead of --cpu/--sleep: e.g. "cpu=100us,sleep=2ms,cpu=50us".
    #[arg(long, conflicts_with_all = ["cpu", "sleep"])]
    pub steps: Option<String>,
    /// A buffer per connection walked by every cpu step (e.g. 256KiB, 1MiB).
    #[arg(long)]
    pub working_set: Option<String>,
}

/// `testbed serve`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = EXIT_CODES)]
pub struct ServeArgs {
    /// threads, pool:N, may, tokio:1, tokio, nginx, apache-prefork, apache-event, uvicorn-def,
    /// uvicorn-async.
    #[arg(long)]
    pub server: ServerKind,
    /// Cores to pin the server to (the first K of this machine's cores).
    #[arg(long, default_value_t = 1)]
    pub cores: usize,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The handler's workload (in-tree servers only).
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

/// `testbed load`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = EXIT_CODES)]
pub struct LoadArgs {
    /// The URL to load: http://127.0.0.1:PORT/PATH (loopback addresses only).
    pub url: String,
    /// Connections (closed loop: each sends its next request when the answer arrives; open
    /// loop: the most requests in flight).
    #[arg(long, default_value_t = 10)]
    pub concurrency: u32,
    /// Open loop: Poisson arrivals at this many requests/s, latency from each intended send
    /// time (coordinated omission corrected).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Stop after this many measured requests.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Stop after this long measured (e.g. 10s). With --requests, whichever comes first;
    /// without it 10s, or at most 120s with --requests.
    #[arg(long)]
    pub duration: Option<String>,
    /// Excluded from the statistics: this long at the start (e.g. 1s).
    #[arg(long, default_value = "0s")]
    pub warmup: String,
    /// Reuse connections (HTTP/1.1 keep-alive). Without it, one connection per request, and
    /// its latency includes the connect (as `ab` without -k).
    #[arg(long)]
    pub keepalive: bool,
    /// A connect or response slower than this counts as a timeout (e.g. 10s).
    #[arg(long, default_value = "10s")]
    pub timeout: String,
    /// Ramp-up: connections opened per second (so 10,000 connects do not overflow the
    /// server's accept queue).
    #[arg(long, default_value_t = 5_000.0)]
    pub connect_rate: f64,
    /// Before blocking for the next answer, poll without blocking for up to this long (e.g.
    /// 20us, at most 1ms). In a VM the server pays to wake a client whose core went idle; a
    /// client that spins while answers come faster than this never sleeps. The spin is not
    /// counted in the client's CPU. ab and wrk do not spin.
    #[arg(long, default_value = "0s")]
    pub spin: String,
    /// How it waits for answers: `block` (sleeps in epoll_wait, as wrk and ab do; --spin polls
    /// for a while first) or `spin` (never sleeps: polls without blocking, so the server never
    /// pays to wake it; give it cores of its own with --cores). The polling is not counted in
    /// the client's CPU.
    #[arg(long, value_enum, default_value_t = LoadWait::Block, conflicts_with = "spin")]
    pub load_wait: LoadWait,
    /// Cores for the load generator, one engine thread each (default: every core but 0).
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Pids whose /proc accounting (CPU, context switches, RSS) is the server's, with their
    /// threads and child processes.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// The server's cores: count their cpuidle halts per request (idle spells long enough
    /// to halt the core), e.g. `--server-core 0`.
    #[arg(long, value_delimiter = ',')]
    pub server_core: Vec<usize>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `testbed run`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = EXIT_CODES)]
pub struct RunArgs {
    /// The server kind (see `testbed serve --help`).
    #[arg(long)]
    pub server: ServerKind,
    /// Cores for the server; the load generator runs on the others.
    #[arg(long, default_value_t = 1)]
    pub cores: usize,
    /// Let the server and the load generator share cores (otherwise an error when --cores
    /// leaves the load generator none).
    #[arg(long)]
    pub shared_cores: bool,
    /// Connections.
    #[arg(long, default_value_t = 10)]
    pub concurrency: u32,
    /// Open loop at this rate instead of a closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured requests.
    #[arg(long, default_value_t = 2000)]
    pub requests: u64,
    /// Time bound of the load (e.g. 20s).
    #[arg(long, default_value = "20s")]
    pub duration: String,
    /// Keep-alive connections (default on; --no-keepalive for a connection per request).
    #[arg(long)]
    pub no_keepalive: bool,
    /// The handler's workload.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// calibrate's costs file (`calibrate --out`); without it a quick calibration runs.
    #[arg(long)]
    pub costs: Option<PathBuf>,
    /// How the load generator waits for answers: `spin` (polls without blocking on its own
    /// cores, so the server never pays to wake it, as with a client on another machine) or
    /// `block` (sleeps in epoll_wait, as wrk and ab do; on loopback each answer that finds it
    /// asleep costs the server's write a wake-up of its core). Default: spin, or block with
    /// --shared-cores, where spin is refused (it would take the server's cores).
    #[arg(long, value_enum)]
    pub load_wait: Option<LoadWait>,
    /// Write the sim scenario built for this point to this file.
    #[arg(long)]
    pub emit_scenario: Option<PathBuf>,
    /// Excluded from the statistics: this long at the start (e.g. 1s).
    #[arg(long, default_value = "1s")]
    pub warmup: String,
    /// The Python venv with testbed/requirements.txt installed (uvicorn kinds); default
    /// $SWITCHCOST_VENV, else /tmp/switchcost-venv.
    #[arg(long)]
    pub venv: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `testbed grid`.
#[derive(Debug, Clone, ClapArgs)]
#[command(after_help = EXIT_CODES)]
pub struct GridArgs {
    /// A small grid that finishes in under a minute (CI).
    #[arg(long)]
    pub quick: bool,
    /// Results file (JSON); a CSV is written beside it.
    #[arg(long, default_value = "testbed-grid.json")]
    pub out: PathBuf,
    /// Skip points already in --out.
    #[arg(long)]
    pub resume: bool,
    /// calibrate's costs file; without it calibrate's quick pass runs once for the grid.
    #[arg(long)]
    pub costs: Option<PathBuf>,
    /// Only these server kinds (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<ServerKind>,
    /// Only the points at these concurrencies (comma-separated, from 1, 10, 100, 1000, 10000):
    /// to measure again a few points into a new --out.
    #[arg(long, value_delimiter = ',')]
    pub concurrency: Vec<u32>,
    /// Cores for the servers; the load generator runs on the others.
    #[arg(long, default_value_t = 1)]
    pub cores: usize,
    /// How the load generator waits for answers: `spin` (polls without blocking on its own
    /// cores, so the server never pays to wake it, as with a client on another machine) or
    /// `block` (sleeps in epoll_wait, as wrk and ab do; on loopback each answer that finds it
    /// asleep costs the server's write a wake-up of its core). Default: as the points of the
    /// file --resume reads, else spin.
    #[arg(long, value_enum)]
    pub load_wait: Option<LoadWait>,
    /// The Python venv with testbed/requirements.txt installed (uvicorn kinds); default
    /// $SWITCHCOST_VENV, else /tmp/switchcost-venv.
    #[arg(long)]
    pub venv: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the results as a Markdown table at the end (with --resume on a finished grid:
    /// just the table).
    #[arg(long)]
    pub table: bool,
    /// Measure nothing: recompute the predictions of the finished points in --out with the
    /// current mapping and simulator (from the file's costs and overheads).
    #[arg(long, conflicts_with_all = ["resume", "quick", "load_wait"])]
    pub repredict: bool,
}

/// Runs the subcommand.
pub fn dispatch(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve(args) if !args.server.is_in_tree() => crate::foreign::serve(&args),
        Command::Serve(args) => {
            let w = &args.workload;
            let workload = Workload::from_flags(
                w.steps.as_deref(),
                w.cpu.as_deref(),
                w.sleep.as_deref(),
                w.working_set.as_deref(),
            )
            .map_err(usage)?;
            server::serve(args.server, &workload, args.cores, args.port)
        }
        Command::Load(args) => crate::load::command(&args),
        Command::Run(args) => crate::run::command(&args),
        Command::Grid(args) => crate::grid::command(&args),
    }
}
