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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{
    Arrivals, Balance, Costs, Load, Model, Pool, Proxy, RunConfig, Server, Step, StepKind, Stop,
    Threads, Warmup,
};
use crate::dist::Dist;
use crate::pricing::PriceTable;
use crate::unit::{parse_duration, parse_size};

mod trace;

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

/// A scenario embedded in the binary (`sim list`, `sim show NAME`).
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name, as `sim run NAME` takes it.
    pub name: &'static str,
    /// The file's one-line description.
    pub description: &'static str,
    /// The whole TOML file.
    pub toml: &'static str,
}

macro_rules! builtin {
    ($name:literal, $description:literal) => {
        Builtin {
            name: $name,
            description: $description,
            toml: include_str!(concat!("../scenarios/", $name, ".toml")),
        }
    };
}

static BUILTINS: &[Builtin] = &[
    builtin!(
        "talk-count-switches",
        "W1: an add-2-plus-2 endpoint behind a local proxy; context switches per request on 1 vs 2 cores"
    ),
    builtin!(
        "talk-apache-vs-nginx",
        "W1: thread-per-connection vs event workers as keep-alive connections rise; throughput and memory"
    ),
    builtin!(
        "fastapi-sleep",
        "W2: ab -n1000 -c100 against a 0.1 s sleep; def (40-thread pool) vs async def (one event loop)"
    ),
    builtin!(
        "recipe-api",
        "W3: Django sync vs Starlette async vs axum behind haproxy maxconn 25 on 2 vCPUs, 50 clients"
    ),
    builtin!(
        "websocket-100k",
        "W4: 100,000 mostly idle WebSocket connections and one broadcast; memory and delivery latency"
    ),
    builtin!(
        "concurrency-tests",
        "W5: a handler gathering upstream JSON documents; gevent vs uvloop + FastAPI, CPU per stack"
    ),
    builtin!(
        "scale-up-vs-out",
        "W1: one bigger VM vs several 4-core VMs at the talk's list prices; dollars per million requests"
    ),
];

/// The built-in scenarios, in the order `sim list` shows them.
pub fn builtins() -> &'static [Builtin] {
    BUILTINS
}

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Command-line changes applied on top of a scenario file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Cores of each machine (replaces `[machine] cores` and any server's `cores`).
    pub cores: Option<u64>,
    /// Seed of the run.
    pub seed: Option<u64>,
    /// Stop after this many requests; a warm-up given as a count shrinks in proportion.
    pub requests: Option<u64>,
    /// Keep only servers whose model name or label is one of these (case-insensitive); empty
    /// keeps all.
    pub models: Vec<String>,
    /// Cost values that replace the scenario's `[costs]` (a `--costs` file); a server's own
    /// cost keys still win, because they describe that runtime rather than the machine.
    pub costs: CostOverrides,
    /// Open-loop arrival rate (requests per second); needs `kind = "open"`.
    pub rate: Option<f64>,
    /// Closed-loop clients; needs `kind = "closed"`.
    pub concurrency: Option<u64>,
    /// Event limit of each run.
    pub max_events: Option<u64>,
}

/// Some cost values, each optional: a `[costs]` table, a server's cost keys, a `--costs` file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostOverrides {
    /// See [`Costs::thread_switch`].
    pub thread_switch: Option<u64>,
    /// See [`Costs::thread_wakeup`].
    pub thread_wakeup: Option<u64>,
    /// See [`Costs::task_switch`].
    pub task_switch: Option<u64>,
    /// See [`Costs::coroutine_switch`].
    pub coroutine_switch: Option<u64>,
    /// See [`Costs::thread_spawn`].
    pub thread_spawn: Option<u64>,
    /// See [`Costs::task_spawn`].
    pub task_spawn: Option<u64>,
    /// See [`Costs::thread_memory`].
    pub thread_memory: Option<u64>,
    /// See [`Costs::task_memory`].
    pub task_memory: Option<u64>,
    /// See [`Costs::process_memory`].
    pub process_memory: Option<u64>,
}

impl CostOverrides {
    /// `costs` with every value present here replaced.
    pub fn apply(&self, costs: Costs) -> Costs {
        Costs {
            thread_switch: self.thread_switch.unwrap_or(costs.thread_switch),
            thread_wakeup: self.thread_wakeup.unwrap_or(costs.thread_wakeup),
            task_switch: self.task_switch.unwrap_or(costs.task_switch),
            coroutine_switch: self.coroutine_switch.unwrap_or(costs.coroutine_switch),
            thread_spawn: self.thread_spawn.unwrap_or(costs.thread_spawn),
            task_spawn: self.task_spawn.unwrap_or(costs.task_spawn),
            thread_memory: self.thread_memory.unwrap_or(costs.thread_memory),
            task_memory: self.task_memory.unwrap_or(costs.task_memory),
            process_memory: self.process_memory.unwrap_or(costs.process_memory),
        }
    }

    /// Reads a costs file (what `calibrate --out` writes): a `[costs]` table whose keys are
    /// the cost names and whose values are strings with units. Other tables are ignored.
    pub fn read_file(path: &Path) -> Result<CostOverrides, ScenarioError> {
        #[derive(Deserialize)]
        struct CostsFile {
            costs: Option<CostsSpec>,
        }
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let origin = path.display().to_string();
        let source = Source::new(&text, &origin);
        let file: CostsFile = toml::from_str(&text).map_err(|e| source.toml_error(&e))?;
        let spec = file.costs.ok_or_else(|| {
            source.at(
                0..0,
                "this costs file has no [costs] table; write e.g.\n[costs]\nthread_switch = \"1.4us\"",
            )
        })?;
        spec.check(&source)
    }
}

/// One server of a scenario, ready to run: its configuration and what surrounds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// What the engine runs: one machine's share of the load.
    pub config: RunConfig,
    /// Identical machines behind a balancer that splits the load evenly; the run simulates one.
    pub machines: u64,
    /// Figures the write-up published for this server (metric -> value), for `sim replay`.
    pub published: BTreeMap<String, f64>,
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
        let spec: FileSpec = toml::from_str(text).map_err(|e| source.toml_error(&e))?;
        let base = if origin_text.starts_with("builtin:") {
            None
        } else {
            Some(origin.parent().unwrap_or(Path::new("")).to_path_buf())
        };
        spec.check(&source, base.as_deref())
    }

    /// A file path, or the name of a built-in scenario.
    pub fn load(file_or_name: &str) -> Result<Scenario, ScenarioError> {
        let path = Path::new(file_or_name);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Io {
                path: path.to_path_buf(),
                error,
            })?;
            return Scenario::parse(&text, path);
        }
        match builtin(file_or_name) {
            Some(b) => Scenario::parse(b.toml, Path::new(&format!("builtin:{}", b.name))),
            None if file_or_name.ends_with(".toml") || path.components().count() > 1 => {
                Err(ScenarioError::Io {
                    path: path.to_path_buf(),
                    error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                })
            }
            None => Err(ScenarioError::Unknown(file_or_name.to_string())),
        }
    }

    /// One RunConfig per `[[server]]`, with overrides (cores, seed, requests, model filter, costs
    /// file, load rate/concurrency) applied.
    pub fn run_configs(&self, overrides: &Overrides) -> Result<Vec<RunConfig>, ScenarioError> {
        Ok(self
            .deployments(overrides)?
            .into_iter()
            .map(|d| d.config)
            .collect())
    }

    /// Like [`Scenario::run_configs`], with each server's machine count and published figures.
    pub fn deployments(&self, overrides: &Overrides) -> Result<Vec<Deployment>, ScenarioError> {
        let mut out = Vec::new();
        for (index, base) in self.deployments.iter().enumerate() {
            if !overrides.models.is_empty()
                && !overrides.models.iter().any(|m| {
                    m.eq_ignore_ascii_case(base.config.server.model.name())
                        || m.eq_ignore_ascii_case(&base.config.server.label)
                })
            {
                continue;
            }
            let mut d = base.clone();
            let cores = overrides
                .cores
                .or(self.server_cores[index])
                .unwrap_or(self.load.cores);
            if cores == 0 || cores > MAX_CORES {
                return Err(ScenarioError::Override(format!(
                    "--cores {cores} is out of range; give 1 to {MAX_CORES}"
                )));
            }
            d.config.cores = cores;
            if self.defaults_to_cores[index] {
                match &mut d.config.server.model {
                    Model::Preemptive { workers, .. } => *workers = cores,
                    Model::Cooperative { loops, .. } => *loops = cores,
                    Model::ThreadPerRequest { .. } => {}
                }
            }
            if let Some(seed) = overrides.seed {
                d.config.seed = seed;
            }
            if let Some(max_events) = overrides.max_events {
                if max_events == 0 {
                    return Err(ScenarioError::Override(
                        "--max-events must be at least 1".into(),
                    ));
                }
                d.config.max_events = max_events;
            }
            d.config.costs = self.server_costs[index].apply(overrides.costs.apply(self.file_costs));
            d.config.load = self.overridden_load(overrides, d.machines)?;
            out.push(d);
        }
        if out.is_empty() {
            let names: Vec<String> = self
                .deployments
                .iter()
                .map(|d| {
                    format!(
                        "{:?} ({})",
                        d.config.server.label,
                        d.config.server.model.name()
                    )
                })
                .collect();
            return Err(ScenarioError::Override(format!(
                "--model {} matches no server of {}; its servers are {}",
                overrides.models.join(","),
                self.name,
                names.join(", ")
            )));
        }
        Ok(out)
    }

    /// The file's load with overrides applied, split over `machines`.
    fn overridden_load(&self, o: &Overrides, machines: u64) -> Result<Load, ScenarioError> {
        let mut load = self.load.load.clone();
        match (&mut load.arrivals, o.rate, o.concurrency) {
            (_, Some(_), Some(_)) => {
                return Err(ScenarioError::Override(
                    "give either a rate (open loop) or a concurrency (closed loop), not both"
                        .into(),
                ));
            }
            (Arrivals::Open { rate }, Some(r), None) => *rate = r,
            (Arrivals::Closed { concurrency, .. }, None, Some(c)) => *concurrency = c,
            (_, Some(_), None) => {
                return Err(ScenarioError::Override(format!(
                    "a rate applies to an open-loop load, but {} has kind = \"{}\"; use --concurrency for a closed loop, or edit the file's [load]",
                    self.name,
                    kind_name(&load.arrivals)
                )));
            }
            (_, None, Some(_)) => {
                return Err(ScenarioError::Override(format!(
                    "a concurrency applies to a closed-loop load, but {} has kind = \"{}\"; use --rates for an open loop, or edit the file's [load]",
                    self.name,
                    kind_name(&load.arrivals)
                )));
            }
            (_, None, None) => {}
        }
        if let Some(rate) = o.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(ScenarioError::Override(format!(
                "rate {rate} must be a positive number of requests per second"
            )));
        }
        if o.concurrency == Some(0) {
            return Err(ScenarioError::Override(
                "concurrency must be at least 1 client".into(),
            ));
        }
        if let Some(n) = o.requests {
            if n == 0 {
                return Err(ScenarioError::Override(
                    "--requests must be at least 1".into(),
                ));
            }
            if let (Stop::Requests(old), Warmup::Requests(w)) = (load.stop, load.warmup) {
                // Keep the warm-up the same fraction of the run.
                let scaled = (w as u128 * n as u128 / old.max(1) as u128) as u64;
                load.warmup = Warmup::Requests(scaled);
            }
            load.stop = Stop::Requests(n);
        }
        if machines > 1 {
            split_load(&mut load, machines);
        }
        Ok(load)
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

/// One machine's share of a load spread evenly over `machines`: a random split of a Poisson
/// stream is Poisson at rate / machines; clients and connections are dealt out evenly (rounded
/// up, so no machine is given less than its share). Request counts and warm-ups are split too,
/// so that the whole deployment serves the requests the file asks for.
fn split_load(load: &mut Load, machines: u64) {
    match &mut load.arrivals {
        Arrivals::Open { rate } => *rate /= machines as f64,
        Arrivals::Closed { concurrency, .. } => *concurrency = concurrency.div_ceil(machines),
        Arrivals::Connections { connections, .. } => *connections = connections.div_ceil(machines),
        Arrivals::Trace { .. } => {}
    }
    if let Stop::Requests(n) = &mut load.stop {
        *n = n.div_ceil(machines).max(1);
    }
    if let Warmup::Requests(w) = &mut load.warmup {
        *w = w.div_ceil(machines);
    }
    if let Some(m) = &mut load.maxconn {
        *m = m.div_ceil(machines);
    }
}

// ---------------------------------------------------------------------------------------------
// Source positions.

/// A file's text and name, to turn byte spans into `file:line:column` messages.
pub(crate) struct Source<'a> {
    text: &'a str,
    origin: &'a str,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str, origin: &'a str) -> Self {
        Source { text, origin }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let mut span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        // Inside a [[server]] table toml points at the whole table; find the key's own line.
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            && let Some(at) = find_key(self.text, span.clone(), key)
        {
            span = at..at;
        }
        let message = explain_toml_message(&message);
        self.at(span, &message)
    }

    /// An error at a byte span.
    pub(crate) fn at(&self, span: std::ops::Range<usize>, message: &str) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let (line, column) = line_column(self.text, start);
        self.at_line(line, column, message)
    }

    pub(crate) fn at_line(&self, line: usize, column: usize, message: &str) -> ScenarioError {
        let snippet = match self.text.lines().nth(line.saturating_sub(1)) {
            Some(text) if !text.trim().is_empty() => {
                let width = line.to_string().len();
                format!(
                    "\n{:width$} |\n{line} | {text}\n{:width$} | {}^",
                    "",
                    "",
                    " ".repeat(column.saturating_sub(1))
                )
            }
            _ => String::new(),
        };
        ScenarioError::At {
            origin: self.origin.to_string(),
            line,
            column,
            message: message.to_string(),
            snippet,
        }
    }

    /// An error about `key` of the `index`-th `[[server]]` table (or about the table itself
    /// when the key is not written there). Internally tagged tables carry no spans, so the
    /// position comes from the text: the table header, then the key's line.
    fn at_server(&self, index: usize, key: Option<&str>, message: &str) -> ScenarioError {
        let (line, column) = locate_server(self.text, index, key);
        self.at_line(line, column, message)
    }
}

/// Byte offset of a line inside `span` that assigns `key` (`key = ...`).
fn find_key(text: &str, span: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let region = text.get(span.clone())?;
    let mut offset = span.start;
    for line in region.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where `key` of the `index`-th `[[server]]` is written (1-based line and column of its
/// value), or the table's header when the key is absent.
fn locate_server(text: &str, index: usize, key: Option<&str>) -> (usize, usize) {
    let mut seen = 0usize;
    let mut header: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if header.is_some() {
                break; // The next table starts: the key is not written.
            }
            if trimmed.starts_with("[[server]]") {
                if seen == index {
                    header = Some(number + 1);
                }
                seen += 1;
            }
            continue;
        }
        if header.is_none() {
            continue;
        }
        if let Some(key) = key
            && let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let indent = line.len() - trimmed.len();
            let eq = key.len() + rest.len() - rest.trim_start().len();
            let value = trimmed[eq + 1..].len() - trimmed[eq + 1..].trim_start().len();
            let byte = indent + eq + 1 + value;
            return (number + 1, line[..byte].chars().count() + 1);
        }
    }
    (header.unwrap_or(1), 1)
}

/// toml's messages name the problem; add what to write where they do not.
fn explain_toml_message(message: &str) -> String {
    if message.starts_with("missing field `server`") {
        return "the scenario has no server; add at least one table like\n[[server]]\nlabel = \"threads\"\nmodel = \"thread_per_request\"\nthreads = 40".into();
    }
    if message.starts_with("missing field `model`") {
        return "this [[server]] has no model; write model = \"thread_per_request\", \"preemptive\" or \"cooperative\"".into();
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!(
            "missing key {rest}; add it (see `sim show recipe-api` for a complete file)"
        );
    }
    if message.starts_with("invalid type: integer") && message.contains("expected a string") {
        return format!(
            "{message}; durations and sizes are strings with units, e.g. \"5ms\" or \"20KiB\""
        );
    }
    message.to_string()
}

// ---------------------------------------------------------------------------------------------
// The file as written.

type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    name: Text,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    max_events: Option<Spanned<i64>>,
    machine: MachineSpec,
    #[serde(default)]
    costs: CostsSpec,
    load: LoadSpec,
    request: RequestSpec,
    #[serde(default)]
    pools: BTreeMap<String, Spanned<i64>>,
    server: Vec<ServerSpec>,
    #[serde(default)]
    pricing: Option<BTreeMap<String, Spanned<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineSpec {
    cores: Spanned<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CostsSpec {
    thread_switch: Option<Text>,
    thread_wakeup: Option<Text>,
    task_switch: Option<Text>,
    coroutine_switch: Option<Text>,
    thread_spawn: Option<Text>,
    task_spawn: Option<Text>,
    thread_memory: Option<Text>,
    task_memory: Option<Text>,
    process_memory: Option<Text>,
}

impl CostsSpec {
    fn check(&self, source: &Source) -> Result<CostOverrides, ScenarioError> {
        let duration = |t: &Option<Text>| -> Result<Option<u64>, ScenarioError> {
            t.as_ref()
                .map(|t| {
                    parse_duration(t.get_ref()).map_err(|e| source.at(t.span(), &e.to_string()))
                })
                .transpose()
        };
        let size = |t: &Option<Text>| -> Result<Option<u64>, ScenarioError> {
            t.as_ref()
                .map(|t| parse_size(t.get_ref()).map_err(|e| source.at(t.span(), &e.to_string())))
                .transpose()
        };
        Ok(CostOverrides {
            thread_switch: duration(&self.thread_switch)?,
            thread_wakeup: duration(&self.thread_wakeup)?,
            task_switch: duration(&self.task_switch)?,
            coroutine_switch: duration(&self.coroutine_switch)?,
            thread_spawn: duration(&self.thread_spawn)?,
            task_spawn: duration(&self.task_spawn)?,
            thread_memory: size(&self.thread_memory)?,
            task_memory: size(&self.task_memory)?,
            process_memory: size(&self.process_memory)?,
        })
    }
}

/// An integer count or a string with a unit (`warmup = 20000` or `warmup = "10s"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CountOrText {
    Count(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadSpec {
    kind: Text,
    rate: Option<Spanned<f64>>,
    concurrency: Option<Spanned<i64>>,
    think: Option<Text>,
    requests: Option<Spanned<i64>>,
    duration: Option<Text>,
    warmup: Option<Spanned<CountOrText>>,
    rtt: Option<Text>,
    maxconn: Option<Spanned<i64>>,
    file: Option<Text>,
    connections: Option<Spanned<i64>>,
    interval: Option<Text>,
    broadcast_at: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    steps: Spanned<Vec<Spanned<StepSpec>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    cpu: Option<Text>,
    io: Option<Text>,
    pool: Option<Text>,
    parallel: Option<Spanned<i64>>,
    blocking: Option<bool>,
}

/// `threads = 40` or `threads = "unbounded"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ThreadsSpec {
    Count(i64),
    Word(String),
}

/// The keys every `[[server]]` takes, whatever its model, followed by the model's own.
macro_rules! server_spec {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            label: String,
            cores: Option<i64>,
            machines: Option<i64>,
            proxy: Option<ProxySpec>,
            #[serde(default)]
            published: BTreeMap<String, f64>,
            steps: Option<Vec<ServerStepSpec>>,
            thread_switch: Option<String>,
            thread_wakeup: Option<String>,
            task_switch: Option<String>,
            coroutine_switch: Option<String>,
            thread_spawn: Option<String>,
            task_spawn: Option<String>,
            thread_memory: Option<String>,
            task_memory: Option<String>,
            process_memory: Option<String>,
            $($field: $ty,)*
        }

        impl $name {
            fn common(&self) -> Common<'_> {
                Common {
                    label: &self.label,
                    cores: self.cores,
                    machines: self.machines,
                    proxy: self.proxy.as_ref(),
                    published: &self.published,
                    steps: self.steps.as_deref(),
                    costs: [
                        ("thread_switch", &self.thread_switch, false),
                        ("thread_wakeup", &self.thread_wakeup, false),
                        ("task_switch", &self.task_switch, false),
                        ("coroutine_switch", &self.coroutine_switch, false),
                        ("thread_spawn", &self.thread_spawn, false),
                        ("task_spawn", &self.task_spawn, false),
                        ("thread_memory", &self.thread_memory, true),
                        ("task_memory", &self.task_memory, true),
                        ("process_memory", &self.process_memory, true),
                    ],
                }
            }
        }
    };
}

server_spec!(ThreadSpec {
    threads: Option<ThreadsSpec>,
    quantum: Option<String>,
    backlog: Option<i64>,
    processes: Option<i64>,
    gil: Option<bool>,
    keepalive: Option<bool>,
    keepalive_requests: Option<i64>,
});

server_spec!(PreemptiveSpec {
    workers: Option<i64>,
    quantum: Option<String>,
});

server_spec!(CooperativeSpec {
    loops: Option<i64>,
    balance: Option<String>,
    offload: Option<i64>,
});

#[derive(Debug, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
enum ServerSpec {
    ThreadPerRequest(ThreadSpec),
    Preemptive(PreemptiveSpec),
    Cooperative(CooperativeSpec),
}

/// A step in a server's own `steps` (no spans: see [`Source::at_server`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerStepSpec {
    cpu: Option<String>,
    io: Option<String>,
    pool: Option<String>,
    parallel: Option<i64>,
    blocking: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxySpec {
    cpu: String,
}

struct Common<'a> {
    label: &'a str,
    cores: Option<i64>,
    machines: Option<i64>,
    proxy: Option<&'a ProxySpec>,
    published: &'a BTreeMap<String, f64>,
    steps: Option<&'a [ServerStepSpec]>,
    /// (key, value, is a size)
    costs: [(&'static str, &'a Option<String>, bool); 9],
}

/// Metrics a `published` table may name, with what they mean (for messages and docs).
pub const PUBLISHED_METRICS: &[(&str, &str)] = &[
    ("rps", "throughput, requests per second"),
    ("mean_ms", "mean latency"),
    ("p50_ms", "median latency"),
    ("p90_ms", "90th percentile latency"),
    ("p95_ms", "95th percentile latency"),
    ("p99_ms", "99th percentile latency"),
    ("max_ms", "largest latency"),
    (
        "cpu_percent",
        "CPU busy, percent of one core (160 = 1.6 cores)",
    ),
    ("rss_mb", "peak resident memory, MB (10^6 bytes)"),
    (
        "context_switches_per_request",
        "OS context switches per request",
    ),
    (
        "mean_vs_first",
        "mean latency divided by the first server's mean latency",
    ),
];

// ---------------------------------------------------------------------------------------------
// Checking.

fn positive(
    source: &Source,
    value: &Spanned<i64>,
    what: &str,
    example: &str,
) -> Result<u64, ScenarioError> {
    let v = *value.get_ref();
    if v < 1 {
        return Err(source.at(
            value.span(),
            &format!("{what} must be at least 1, not {v}; write e.g. {example}"),
        ));
    }
    Ok(v as u64)
}

fn duration_at(source: &Source, text: &Text) -> Result<u64, ScenarioError> {
    parse_duration(text.get_ref()).map_err(|e| source.at(text.span(), &e.to_string()))
}

fn dist_at(source: &Source, text: &Text, base: Option<&Path>) -> Result<Dist, ScenarioError> {
    Dist::parse(text.get_ref(), base).map_err(|e| source.at(text.span(), &e.to_string()))
}

impl FileSpec {
    fn check(self, source: &Source, base: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let name = self.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(source.at(
                self.name.span(),
                "name must not be empty; write e.g. name = \"my-api\"",
            ));
        }
        let cores = positive(source, &self.machine.cores, "cores", "cores = 4")?;
        if cores > MAX_CORES {
            return Err(source.at(
                self.machine.cores.span(),
                &format!("cores must be at most {MAX_CORES}, not {cores}"),
            ));
        }
        let max_events = match &self.max_events {
            Some(m) => positive(source, m, "max_events", "max_events = 100000000")?,
            None => DEFAULT_MAX_EVENTS,
        };
        let file_costs = self.costs.check(source)?.apply(Costs::default());

        let mut pools = Vec::new();
        for (pool_name, size) in &self.pools {
            let size = positive(source, size, &format!("pool {pool_name}"), "db = 25")?;
            pools.push(Pool {
                name: pool_name.clone(),
                size,
            });
        }
        let raw: Vec<RawStep> = self
            .request
            .steps
            .get_ref()
            .iter()
            .map(RawStep::from_spanned)
            .collect();
        let steps = check_steps(
            &raw,
            &Loc::Span(self.request.steps.span()),
            source,
            base,
            &pools,
        )?;
        let load = self.check_load(source, base, steps.len())?;

        let pricing = match &self.pricing {
            Some(table) => Some(PriceTable::from_spans(table, source)?),
            None => None,
        };

        if self.server.is_empty() {
            return Err(source.at(0..0, "the scenario has no [[server]]; add at least one"));
        }
        let mut deployments = Vec::new();
        let mut server_costs = Vec::new();
        let mut server_cores = Vec::new();
        let mut defaults_to_cores = Vec::new();
        let mut labels: Vec<&str> = Vec::new();
        for (index, spec) in self.server.iter().enumerate() {
            let common = match spec {
                ServerSpec::ThreadPerRequest(s) => s.common(),
                ServerSpec::Preemptive(s) => s.common(),
                ServerSpec::Cooperative(s) => s.common(),
            };
            let at = |key: Option<&str>, message: &str| source.at_server(index, key, message);
            if common.label.trim().is_empty() {
                return Err(at(
                    Some("label"),
                    "label must not be empty; write e.g. label = \"threads\"",
                ));
            }
            if labels.contains(&common.label) {
                return Err(at(
                    Some("label"),
                    &format!(
                        "two servers are labelled {:?}; give each [[server]] its own label",
                        common.label
                    ),
                ));
            }
            labels.push(common.label);
            let server_core_count = match common.cores {
                Some(c) if c < 1 || c as u64 > MAX_CORES => {
                    return Err(at(
                        Some("cores"),
                        &format!("cores must be between 1 and {MAX_CORES}, not {c}"),
                    ));
                }
                Some(c) => Some(c as u64),
                None => None,
            };
            let machines = match common.machines {
                Some(m) if m < 1 => {
                    return Err(at(
                        Some("machines"),
                        &format!("machines must be at least 1, not {m}"),
                    ));
                }
                Some(m) if m > 1 && matches!(load.arrivals, Arrivals::Trace { .. }) => {
                    return Err(at(
                        Some("machines"),
                        "a trace cannot be split over several machines; remove machines or use an open or closed load",
                    ));
                }
                Some(m) => m as u64,
                None => 1,
            };
            let mut costs = CostOverrides::default();
            for (key, value, is_size) in common.costs {
                let Some(text) = value else { continue };
                let parsed = if is_size {
                    parse_size(text)
                } else {
                    parse_duration(text)
                }
                .map_err(|e| at(Some(key), &e.to_string()))?;
                let slot = match key {
                    "thread_switch" => &mut costs.thread_switch,
                    "thread_wakeup" => &mut costs.thread_wakeup,
                    "task_switch" => &mut costs.task_switch,
                    "coroutine_switch" => &mut costs.coroutine_switch,
                    "thread_spawn" => &mut costs.thread_spawn,
                    "task_spawn" => &mut costs.task_spawn,
                    "thread_memory" => &mut costs.thread_memory,
                    "task_memory" => &mut costs.task_memory,
                    _ => &mut costs.process_memory,
                };
                *slot = Some(parsed);
            }
            for metric in common.published.keys() {
                if !PUBLISHED_METRICS.iter().any(|(m, _)| m == metric) {
                    let known: Vec<&str> = PUBLISHED_METRICS.iter().map(|(m, _)| *m).collect();
                    return Err(at(
                        Some("published"),
                        &format!(
                            "unknown published metric {metric:?}; use one of {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
            let proxy = match common.proxy {
                Some(p) => Some(Proxy {
                    cpu: Dist::parse(&p.cpu, base)
                        .map_err(|e| at(Some("proxy"), &format!("proxy cpu: {e}")))?,
                }),
                None => None,
            };
            let server_steps = match common.steps {
                Some(own) => {
                    let raw: Vec<RawStep> =
                        own.iter().map(|s| RawStep::from_server(index, s)).collect();
                    let own =
                        check_steps(&raw, &Loc::Server(index, "steps"), source, base, &pools)?;
                    if let Arrivals::Trace { rows } = &load.arrivals
                        && rows.iter().any(|r| r.steps.is_some())
                        && own.len() != steps.len()
                    {
                        return Err(at(
                            Some("steps"),
                            "the trace gives per-request step durations for [request]'s steps; this server's steps must have as many",
                        ));
                    }
                    own
                }
                None => steps.clone(),
            };
            let machine_cores = server_core_count.unwrap_or(cores);
            let (model, from_cores) = check_model(spec, machine_cores, &at)?;
            deployments.push(Deployment {
                config: RunConfig {
                    scenario: name.clone(),
                    seed: self.seed.unwrap_or(1),
                    cores: machine_cores,
                    costs: costs.apply(file_costs),
                    load: load.clone(),
                    steps: server_steps,
                    pools: pools.clone(),
                    server: Server {
                        label: common.label.to_string(),
                        model,
                        proxy,
                    },
                    max_events,
                },
                machines,
                published: common.published.clone(),
            });
            server_costs.push(costs);
            server_cores.push(server_core_count);
            defaults_to_cores.push(from_cores);
        }
        let scenario = Scenario {
            name,
            description: self.description.trim().to_string(),
            origin: source.origin.to_string(),
            pricing,
            deployments,
            load: LoadShape { load, cores },
            server_costs,
            file_costs,
            server_cores,
            defaults_to_cores,
        };
        // Apply the (empty) overrides once so that machine splits are checked now, not at run time.
        scenario.deployments(&Overrides::default())?;
        Ok(scenario)
    }

    fn check_load(
        &self,
        source: &Source,
        base: Option<&Path>,
        step_count: usize,
    ) -> Result<Load, ScenarioError> {
        let l = &self.load;
        let kind = l.kind.get_ref().as_str();
        // Which kind each optional key belongs to, to reject keys that would be ignored.
        let owned: [(&str, bool, Option<std::ops::Range<usize>>); 6] = [
            ("rate", kind == "open", l.rate.as_ref().map(|v| v.span())),
            (
                "concurrency",
                kind == "closed",
                l.concurrency.as_ref().map(|v| v.span()),
            ),
            (
                "think",
                kind == "closed",
                l.think.as_ref().map(|v| v.span()),
            ),
            ("file", kind == "trace", l.file.as_ref().map(|v| v.span())),
            (
                "connections",
                kind == "connections",
                l.connections.as_ref().map(|v| v.span()),
            ),
            (
                "interval",
                kind == "connections",
                l.interval.as_ref().map(|v| v.span()),
            ),
        ];
        if !matches!(kind, "open" | "closed" | "trace" | "connections") {
            return Err(source.at(
                l.kind.span(),
                &format!(
                    "unknown load kind {kind:?}; write kind = \"open\" (rate), \"closed\" (concurrency), \"trace\" (file) or \"connections\""
                ),
            ));
        }
        for (key, allowed, span) in owned {
            if let Some(span) = span
                && !allowed
            {
                return Err(source.at(
                    span,
                    &format!(
                        "{key} does not apply to kind = \"{kind}\"; remove it or change the kind"
                    ),
                ));
            }
        }
        if let Some(b) = &l.broadcast_at
            && kind != "connections"
        {
            return Err(source.at(
                b.span(),
                "broadcast_at applies to kind = \"connections\"; remove it",
            ));
        }
        let missing = |key: &str, example: &str| {
            source.at(
                l.kind.span(),
                &format!("kind = \"{kind}\" needs {key}; add e.g. {example}"),
            )
        };
        let arrivals = match kind {
            "open" => {
                let rate = l
                    .rate
                    .as_ref()
                    .ok_or_else(|| missing("rate", "rate = 100"))?;
                let r = *rate.get_ref();
                if !(r.is_finite() && r > 0.0) {
                    return Err(source.at(
                        rate.span(),
                        &format!(
                            "rate must be a positive number of requests per second, not {r}; write e.g. rate = 100"
                        ),
                    ));
                }
                Arrivals::Open { rate: r }
            }
            "closed" => {
                let c = l
                    .concurrency
                    .as_ref()
                    .ok_or_else(|| missing("concurrency", "concurrency = 50"))?;
                Arrivals::Closed {
                    concurrency: positive(source, c, "concurrency", "concurrency = 50")?,
                    think: match &l.think {
                        Some(t) => dist_at(source, t, base)?,
                        None => Dist::Const(0),
                    },
                }
            }
            "trace" => {
                let file = l
                    .file
                    .as_ref()
                    .ok_or_else(|| missing("file", "file = \"arrivals.csv\""))?;
                let path = match base {
                    Some(base) => base.join(file.get_ref()),
                    None => PathBuf::from(file.get_ref()),
                };
                let rows = trace::read(&path, step_count)
                    .map_err(|e| e.into_scenario_error(source, file.span()))?;
                Arrivals::Trace { rows }
            }
            _ => {
                let c = l
                    .connections
                    .as_ref()
                    .ok_or_else(|| missing("connections", "connections = 100000"))?;
                let interval = l
                    .interval
                    .as_ref()
                    .ok_or_else(|| missing("interval", "interval = \"exp(30s)\""))?;
                Arrivals::Connections {
                    connections: positive(source, c, "connections", "connections = 100000")?,
                    interval: dist_at(source, interval, base)?,
                    broadcast_at: l
                        .broadcast_at
                        .as_ref()
                        .map(|b| duration_at(source, b))
                        .transpose()?,
                }
            }
        };
        let stop = match (&l.requests, &l.duration) {
            (Some(_), Some(d)) => {
                return Err(source.at(
                    d.span(),
                    "give either requests or duration, not both; remove one",
                ));
            }
            (Some(n), None) => Stop::Requests(positive(source, n, "requests", "requests = 10000")?),
            (None, Some(d)) => {
                let ns = duration_at(source, d)?;
                if ns == 0 {
                    return Err(source.at(
                        d.span(),
                        "duration must be above zero; write e.g. duration = \"60s\"",
                    ));
                }
                Stop::Duration(ns)
            }
            (None, None) => match &arrivals {
                // A trace stops when it runs out.
                Arrivals::Trace { rows } => Stop::Requests(rows.len() as u64),
                _ => {
                    return Err(missing(
                        "requests or duration",
                        "requests = 10000 or duration = \"60s\"",
                    ));
                }
            },
        };
        let warmup = match &l.warmup {
            None => Warmup::Requests(0),
            Some(w) => match w.get_ref() {
                CountOrText::Count(n) if *n < 0 => {
                    return Err(source.at(
                        w.span(),
                        "warmup must be zero or more completions, or a duration like \"10s\"",
                    ));
                }
                CountOrText::Count(n) => Warmup::Requests(*n as u64),
                CountOrText::Text(t) => Warmup::Duration(parse_duration(t).map_err(|e| {
                    source.at(
                        w.span(),
                        &format!("warmup is a count of completions or a duration: {e}"),
                    )
                })?),
            },
        };
        match (stop, warmup) {
            (Stop::Requests(n), Warmup::Requests(w)) if w >= n => {
                return Err(source.at(
                    l.warmup.as_ref().map_or(0..0, |w| w.span()),
                    &format!(
                        "warmup ({w} completions) leaves nothing of {n} requests to measure; make it smaller than requests"
                    ),
                ));
            }
            (Stop::Duration(d), Warmup::Duration(w)) if w >= d => {
                return Err(source.at(
                    l.warmup.as_ref().map_or(0..0, |w| w.span()),
                    "warmup is as long as the run; make it shorter than duration",
                ));
            }
            _ => {}
        }
        let rtt = match &l.rtt {
            Some(t) => duration_at(source, t)?,
            None => 0,
        };
        let maxconn = match &l.maxconn {
            Some(m) => Some(positive(source, m, "maxconn", "maxconn = 25")?),
            None => None,
        };
        Ok(Load {
            arrivals,
            stop,
            warmup,
            rtt,
            maxconn,
        })
    }
}

/// Where a value was written: a byte span, or a key of the n-th `[[server]]` table.
#[derive(Debug, Clone)]
enum Loc {
    Span(std::ops::Range<usize>),
    Server(usize, &'static str),
}

impl Source<'_> {
    fn at_loc(&self, loc: &Loc, message: &str) -> ScenarioError {
        match loc {
            Loc::Span(span) => self.at(span.clone(), message),
            Loc::Server(index, key) => self.at_server(*index, Some(key), message),
        }
    }
}

/// A step as written, from `[request]` (with spans) or a server's `steps` (located by key).
struct RawStep {
    whole: Loc,
    cpu: Option<(String, Loc)>,
    io: Option<(String, Loc)>,
    pool: Option<(String, Loc)>,
    parallel: Option<(i64, Loc)>,
    blocking: Option<bool>,
}

impl RawStep {
    fn from_spanned(spanned: &Spanned<StepSpec>) -> Self {
        let s = spanned.get_ref();
        let text = |t: &Option<Text>| {
            t.as_ref()
                .map(|t| (t.get_ref().clone(), Loc::Span(t.span())))
        };
        RawStep {
            whole: Loc::Span(spanned.span()),
            cpu: text(&s.cpu),
            io: text(&s.io),
            pool: text(&s.pool),
            parallel: s
                .parallel
                .as_ref()
                .map(|p| (*p.get_ref(), Loc::Span(p.span()))),
            blocking: s.blocking,
        }
    }

    fn from_server(index: usize, s: &ServerStepSpec) -> Self {
        let loc = Loc::Server(index, "steps");
        let text = |t: &Option<String>| t.as_ref().map(|t| (t.clone(), loc.clone()));
        RawStep {
            whole: loc.clone(),
            cpu: text(&s.cpu),
            io: text(&s.io),
            pool: text(&s.pool),
            parallel: s.parallel.map(|p| (p, loc.clone())),
            blocking: s.blocking,
        }
    }
}

fn check_steps(
    raw: &[RawStep],
    whole: &Loc,
    source: &Source,
    base: Option<&Path>,
    pools: &[Pool],
) -> Result<Vec<Step>, ScenarioError> {
    if raw.is_empty() {
        return Err(source.at_loc(
            whole,
            "a request needs at least one step; write e.g. steps = [{ cpu = \"1ms\" }]",
        ));
    }
    let mut steps = Vec::new();
    for spec in raw {
        let (kind, (text, loc)) = match (&spec.cpu, &spec.io) {
            (Some(cpu), None) => (StepKind::Cpu, cpu),
            (None, Some(io)) => (StepKind::Io, io),
            _ => {
                return Err(source.at_loc(
                    &spec.whole,
                    "a step is either { cpu = \"...\" } (needs a core) or { io = \"...\" } (a wait); give exactly one of cpu and io",
                ));
            }
        };
        let duration = Dist::parse(text, base).map_err(|e| source.at_loc(loc, &e.to_string()))?;
        let pool = match &spec.pool {
            Some((name, loc)) => Some(pools.iter().position(|p| p.name == *name).ok_or_else(
                || {
                    let defined: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                    source.at_loc(
                        loc,
                        &format!(
                            "pool {name:?} is not defined; add it under [pools] (e.g. {name} = 25){}",
                            if defined.is_empty() {
                                String::new()
                            } else {
                                format!(" or use one of: {}", defined.join(", "))
                            }
                        ),
                    )
                },
            )?),
            None => None,
        };
        let parallel = match &spec.parallel {
            Some((k, loc)) => {
                if *k < 1 || *k > u32::MAX as i64 {
                    return Err(source.at_loc(
                        loc,
                        &format!("parallel must be between 1 and {}, not {k}", u32::MAX),
                    ));
                }
                if kind == StepKind::Cpu && *k > 1 {
                    return Err(source.at_loc(
                        loc,
                        "parallel applies to io steps (concurrent waits); split CPU work into separate cpu steps",
                    ));
                }
                *k as u32
            }
            None => 1,
        };
        let blocking = spec.blocking.unwrap_or(false);
        if blocking && kind == StepKind::Cpu {
            return Err(source.at_loc(
                &spec.whole,
                "blocking applies to io steps (a wait that holds its OS thread); remove it from this cpu step",
            ));
        }
        steps.push(Step {
            kind,
            duration,
            pool,
            parallel,
            blocking,
        });
    }
    Ok(steps)
}

/// The model of one server; the bool says whether its worker or loop count was left to follow
/// the core count.
fn check_model(
    spec: &ServerSpec,
    cores: u64,
    at: &dyn Fn(Option<&str>, &str) -> ScenarioError,
) -> Result<(Model, bool), ScenarioError> {
    let count = |key: &str, value: Option<i64>, default: u64| -> Result<u64, ScenarioError> {
        match value {
            None => Ok(default),
            Some(v) if v >= 1 => Ok(v as u64),
            Some(v) => Err(at(Some(key), &format!("{key} must be at least 1, not {v}"))),
        }
    };
    let quantum = |value: &Option<String>| -> Result<Option<u64>, ScenarioError> {
        match value {
            None => Ok(None),
            Some(text) => {
                let ns = parse_duration(text).map_err(|e| at(Some("quantum"), &e.to_string()))?;
                if ns == 0 {
                    return Err(at(
                        Some("quantum"),
                        "quantum must be above zero; write e.g. quantum = \"3ms\"",
                    ));
                }
                Ok(Some(ns))
            }
        }
    };
    Ok(match spec {
        ServerSpec::ThreadPerRequest(s) => {
            let threads = match &s.threads {
                None => Threads::Unbounded,
                Some(ThreadsSpec::Count(n)) if *n >= 1 => Threads::Fixed(*n as u64),
                Some(ThreadsSpec::Count(n)) => {
                    return Err(at(
                        Some("threads"),
                        &format!(
                            "threads must be at least 1, not {n}; or write threads = \"unbounded\""
                        ),
                    ));
                }
                Some(ThreadsSpec::Word(w)) if w == "unbounded" => Threads::Unbounded,
                Some(ThreadsSpec::Word(w)) => {
                    return Err(at(
                        Some("threads"),
                        &format!(
                            "threads = {w:?} is not understood; write a number (threads = 40) or threads = \"unbounded\""
                        ),
                    ));
                }
            };
            (
                Model::ThreadPerRequest {
                    threads,
                    quantum: quantum(&s.quantum)?,
                    backlog: s
                        .backlog
                        .map(|b| {
                            if b < 0 {
                                Err(at(
                                    Some("backlog"),
                                    &format!("backlog must be zero or more, not {b}"),
                                ))
                            } else {
                                Ok(b as u64)
                            }
                        })
                        .transpose()?,
                    processes: count("processes", s.processes, 1)?,
                    gil: s.gil.unwrap_or(false),
                    keepalive: s.keepalive.unwrap_or(false),
                    keepalive_requests: s
                        .keepalive_requests
                        .map(|n| {
                            if n < 1 {
                                Err(at(
                                    Some("keepalive_requests"),
                                    &format!("keepalive_requests must be at least 1, not {n}"),
                                ))
                            } else {
                                Ok(n as u64)
                            }
                        })
                        .transpose()?,
                },
                false,
            )
        }
        ServerSpec::Preemptive(s) => (
            Model::Preemptive {
                workers: count("workers", s.workers, cores)?,
                // Go's forced preemption interval.
                quantum: quantum(&s.quantum)?.unwrap_or(10_000_000),
            },
            s.workers.is_none(),
        ),
        ServerSpec::Cooperative(s) => {
            let balance = match s.balance.as_deref() {
                None | Some("shared") => Balance::Shared,
                Some("affinity") => Balance::Affinity,
                Some(other) => {
                    return Err(at(
                        Some("balance"),
                        &format!(
                            "balance = {other:?} is not understood; write \"shared\" (one queue, work stealing) or \"affinity\" (a connection stays on its loop)"
                        ),
                    ));
                }
            };
            (
                Model::Cooperative {
                    loops: count("loops", s.loops, cores)?,
                    balance,
                    offload: s
                        .offload
                        .map(|o| count("offload", Some(o), 1))
                        .transpose()?,
                },
                s.loops.is_none(),
            )
        }
    })
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
