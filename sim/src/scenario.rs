//! Scenario files: the TOML a person reads, edits and runs, checked into [`RunConfig`]s.
//!
//! ```text
//! file.toml --toml + serde--> FileSpec (strings with units, spans) --check--> Vec<Deployment>
//!                                                                            (RunConfig + machines
//!                                                                             + published figures)
//! ```
//!
//! Every mistake a person can make in a file is reported as `file:line:column: message` with
//! what to write instead: syntax and type errors carry toml's byte spans, semantic errors carry
//! the span of the value they are about (`toml::Spanned`), and the `[[server]]` tables, whose
//! internally tagged `model` enum cannot carry spans, are located by their header and key.

//!
//! The module is cut by job, and the pieces depend on each other in one direction:
//!
//! ```text
//! catalogue  lookup ─▶ (parse) ─▶ spec ─▶ check ─┬▶ load ─▶ trace
//! (built-ins) (files,                             ├▶ request (steps)
//!             --costs,                            ├▶ server (models, server cost keys)
//!             --pricing)                          └▶ pricing ([pricing] rows)
//!                          source (spans → file:line:column) is used by all of them
//! overrides: a checked Scenario + command-line changes → Deployments
//! ring: calibrate's switch benchmarks written as scenario text, parsed like a file
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::{Arrivals, Costs, Load, RunConfig, Stop};
use crate::metric::Metric;
use crate::pricing::PriceTable;

mod catalogue;
mod check;
mod load;
mod lookup;
mod overrides;
mod pricing;
mod request;
mod ring;
mod scan;
mod server;
mod source;
mod spec;
mod trace;

pub use crate::cost::CostOverrides;
pub use catalogue::{Builtin, builtin, builtins};
pub use overrides::Overrides;
pub use ring::{benchmark_work_ns, ring};
pub(crate) use source::Source;
use spec::FileSpec;

/// Largest core count a machine may have.
pub const MAX_CORES: u64 = 1024;

/// Events a run may process before it stops with an error, unless the scenario or
/// `--max-events` says otherwise. A well-behaved run needs tens of events per request, so this
/// allows a few million requests and stops an overloaded open-loop run within seconds.
pub const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

/// A scenario file that cannot be read or used; every variant says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A mistake at a known place in a file.
    #[error("{origin}:{line}:{column}: {message}{snippet}")]
    At {
        /// The file (or `builtin:NAME`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// What is wrong and what to write instead.
        message: String,
        /// The offending line with a caret under the column (starts with a newline), or empty.
        snippet: String,
    },
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A file that cannot be used: missing, not a regular file, too large, not UTF-8.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// Neither a file nor a built-in scenario.
    #[error(
        "no scenario file or built-in scenario named {0:?}; give a path to a .toml file or one of: {list}",
        list = builtin_names()
    )]
    Unknown(String),
    /// A command-line override that does not fit the scenario.
    #[error("{0}")]
    Override(String),
}

fn builtin_names() -> String {
    builtins()
        .iter()
        .map(|b| b.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One server of a scenario, ready to run: its configuration and what surrounds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// What the engine runs: one machine's share of the load.
    pub config: RunConfig,
    /// Identical machines behind a balancer that splits the load evenly; the run simulates one.
    pub machines: u64,
    /// Figures the write-up published for this server (metric -> value), for `sim replay`.
    pub published: BTreeMap<Metric, f64>,
}

/// A parsed and checked scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// One line a person reads in `sim list`.
    pub description: String,
    /// Where it came from: a path or `builtin:NAME`.
    pub origin: String,
    /// The price table of its `[pricing]`, if it has one.
    pub pricing: Option<PriceTable>,
    /// The servers with the scenario's own settings, before overrides.
    deployments: Vec<Deployment>,
    /// The file's load, kept to re-apply overrides (a rate, clients, requests).
    load: LoadShape,
    /// Server cost keys, kept so that `--costs` does not replace them.
    server_costs: Vec<CostOverrides>,
    /// `[costs]` of the file over the defaults.
    file_costs: Costs,
    /// `[machine]`'s kernel keys over the reference machine's.
    file_kernel: crate::machine::Kernel,
    /// Per-server `cores`, if set.
    server_cores: Vec<Option<u64>>,
    /// Model parameters left to default to the core count (workers, loops).
    defaults_to_cores: Vec<bool>,
}

/// The parts of a file's load that overrides re-derive.
#[derive(Debug, Clone)]
struct LoadShape {
    load: Load,
    cores: u64,
}

impl Scenario {
    /// Parses TOML text; `origin` is the file path (or "builtin:NAME") used in error messages and
    /// to resolve relative `empirical(...)` and trace paths.
    pub fn parse(text: &str, origin: &Path) -> Result<Scenario, ScenarioError> {
        let origin_text = origin.display().to_string();
        let source = Source::new(text, &origin_text);
        scan::check_inline_tables(&source)?;
        let spec: FileSpec = toml::from_str(text).map_err(|e| source.toml_error(&e))?;
        let base = if origin_text.starts_with("builtin:") {
            None
        } else {
            Some(origin.parent().unwrap_or(Path::new("")).to_path_buf())
        };
        spec.check(&source, base.as_deref())
    }

    /// Offered load of the (overridden) scenario, for reports: (kind, rate, clients).
    pub fn offered(load: &Load, machines: u64) -> (&'static str, Option<f64>, Option<u64>) {
        match &load.arrivals {
            Arrivals::Open { rate } => ("open", Some(rate * machines as f64), None),
            Arrivals::Closed { concurrency, .. } => ("closed", None, Some(concurrency * machines)),
            Arrivals::Trace { .. } => ("trace", None, None),
            Arrivals::Connections { connections, .. } => {
                ("connections", None, Some(connections * machines))
            }
        }
    }

    /// The servers as the file describes them, before overrides.
    pub fn servers(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.iter()
    }

    /// The load as the file describes it (one machine's share is computed per deployment).
    pub fn file_load(&self) -> &Load {
        &self.load.load
    }
}

fn kind_name(arrivals: &Arrivals) -> &'static str {
    match arrivals {
        Arrivals::Open { .. } => "open",
        Arrivals::Closed { .. } => "closed",
        Arrivals::Trace { .. } => "trace",
        Arrivals::Connections { .. } => "connections",
    }
}

/// A short multi-line summary of a scenario, for `sim check`.
pub fn summary(scenario: &Scenario) -> String {
    let mut out = String::new();
    let load = scenario.file_load();
    let _ = writeln!(out, "{}: {}", scenario.name, scenario.description);
    let _ = writeln!(
        out,
        "  load: {}, {}",
        kind_name(&load.arrivals),
        match load.stop {
            Stop::Requests(n) => format!("{n} requests"),
            Stop::Duration(ns) => format!("{} long", crate::unit::format_duration(ns)),
        }
    );
    for d in scenario.servers() {
        let _ = writeln!(
            out,
            "  server {:?}: {} on {} cores{}",
            d.config.server.label,
            d.config.server.model.name(),
            d.config.cores,
            if d.machines > 1 {
                format!(" x {} machines", d.machines)
            } else {
                String::new()
            }
        );
    }
    out
}

#[cfg(test)]
mod tests;
