//! One point of the testbed: what was asked (server, cores, load, workload), what the machine
//! showed, what `sim` predicted, and the machine it ran on.

use serde::{Deserialize, Serialize};

use crate::figures::Figures;
use crate::kind::ServerKind;
use crate::workload::Workload;

/// The parameters of one point: everything the measurement and the prediction share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The server kind.
    pub server: ServerKind,
    /// Cores the server is pinned to.
    pub cores: usize,
    /// Closed loop: connections; open loop: the most requests in flight.
    pub concurrency: u32,
    /// Open loop: Poisson arrivals at this many requests/s; `None` for a closed loop.
    pub rate: Option<f64>,
    /// HTTP keep-alive (a connection carries many requests) or a connection per request.
    pub keepalive: bool,
    /// The handler's workload: in-tree servers run it; third-party servers run their own page
    /// (a static file, W2's `/sleep`), recorded here as the steps it takes.
    pub workload: Workload,
    /// Measured requests (the run stops at this count or at `duration_s`, whichever first).
    pub requests: u64,
    /// Time bound of the measured window, seconds.
    pub duration_s: f64,
    /// Left out of the statistics at the start, seconds.
    pub warmup_s: f64,
    /// How the load generator waits for answers (files written before 2026-12-07T14 have
    /// none: their load generator blocked).
    #[serde(default)]
    pub load_wait: LoadWait,
}

/// How the load generator waits for the next answer. Blocking, on loopback each answer that
/// finds it asleep makes the server's `write` wake its core: on the 2-vCPU VM of 2026-12-07,
/// 6-7 µs of the server's CPU per answer (`peer_wakeup_cpu_ns()` of `calibrate`'s
/// `wakeup_cpu_detail`), which a client on another machine would not cost it. Spinning, the
/// polling that finds nothing is not counted in the client's CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoadWait {
    /// Sleeps until an answer comes, as wrk and ab do (the server pays to wake it).
    #[default]
    Block,
    /// Polls without blocking on cores of its own (the server never pays to wake it).
    Spin,
}

impl std::fmt::Display for LoadWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadWait::Block => "block",
            LoadWait::Spin => "spin",
        })
    }
}

impl Point {
    /// A stable key that identifies the point in a results file (`--resume` skips it).
    pub fn key(&self) -> String {
        let load = match self.rate {
            Some(rate) => format!("rate={rate}"),
            None => format!("c={}", self.concurrency),
        };
        // A blocking load generator, the only kind before `load_wait`, keeps the old keys.
        let wait = match self.load_wait {
            LoadWait::Block => String::new(),
            wait => format!(" wait={wait}"),
        };
        format!(
            "{} cores={} {load} keepalive={}{wait} [{}]",
            self.server, self.cores, self.keepalive, self.workload
        )
    }
}

/// The machine a point ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model as /proc/cpuinfo names it.
    pub cpu_model: String,
    /// Cores of this machine (its affinity mask).
    pub cores: usize,
    /// Kernel release (`uname -r`).
    pub kernel: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        Machine {
            cpu_model: micro::machine::cpu_model(),
            cores: micro::machine::cores(),
            kernel: micro::machine::kernel(),
        }
    }
}

/// One finished (or failed) point: its parameters, both sets of figures and their error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// What was run.
    #[serde(flatten)]
    pub point: Point,
    /// What the machine showed (all `null` when the run failed).
    pub measured: Figures,
    /// What `sim` predicted for the same point.
    pub predicted: Figures,
    /// `(predicted - measured) / measured` in %, key by key.
    pub error_percent: Figures,
    /// The load generator itself was saturated: the point measures the client, so it is kept
    /// out of the accuracy figures.
    pub load_bound: bool,
    /// The server kind's CPU per request beyond its workload's steps (HTTP parsing, syscalls,
    /// loopback), measured once at concurrency 1 and used unchanged by every prediction, ms.
    pub overhead_ms_per_request: Option<f64>,
    /// Requests that failed or timed out in the measured window.
    pub errors: u64,
    /// Why the point failed, if it did; the grid records it and goes on.
    pub error: Option<String>,
    /// How busy this machine's cores were (0..1 of all of them) in the half second before
    /// the point's server started, while the testbed ran nothing: other people's work that
    /// then shared the server's and the load generator's cores.
    #[serde(default)]
    pub host_busy: Option<f64>,
}

/// Busy and total jiffies of all cores, from the first line of /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

/// The fraction of all cores busy over the next half second (see [`Outcome::host_busy`]).
pub fn host_busy() -> Option<f64> {
    let (busy0, total0) = cpu_jiffies()?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (busy1, total1) = cpu_jiffies()?;
    (total1 > total0).then(|| (busy1 - busy0) as f64 / (total1 - total0) as f64)
}

impl Outcome {
    /// A point that could not be measured or predicted, with why.
    pub fn failed(point: Point, error: &anyhow::Error) -> Outcome {
        Outcome {
            point,
            measured: Figures::default(),
            predicted: Figures::default(),
            error_percent: Figures::default(),
            load_bound: false,
            overhead_ms_per_request: None,
            errors: 0,
            error: Some(format!("{error:#}")),
            host_busy: None,
        }
    }

    /// Within the target: throughput within 15 % and p99 within 25 %.
    pub fn on_target(&self) -> Option<bool> {
        let rps = self.error_percent.rps?;
        let p99 = self.error_percent.p99_ms?;
        Some(rps.abs() <= 15.0 && p99.abs() <= 25.0)
    }
}
