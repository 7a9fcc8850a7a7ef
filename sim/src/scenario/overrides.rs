//! Command-line changes applied on top of a scenario file: cores, seed, requests, a model
//! filter, a costs file, a rate or a concurrency, and the split of a load over machines.

use crate::config::{Arrivals, Load, Model, RunConfig, Stop, Warmup};
use crate::cost::CostOverrides;
use crate::time::{MAX_DURATION_NS, MAX_RUN_NS};

use super::{Deployment, MAX_CORES, Scenario, ScenarioError, kind_name};

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
    /// The overrides come from `sim sweep`, whose flags are lists (`--rates`, `--concurrency`);
    /// messages name the flags of the command in use.
    pub sweep: bool,
}

impl Scenario {
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
            d.config.kernel = overrides.costs.kernel.apply(self.file_kernel);
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
                    "a concurrency applies to a closed-loop load, but {} has kind = \"{}\"; use {} for an open loop, or edit the file's [load]",
                    self.name,
                    kind_name(&load.arrivals),
                    if o.sweep { "--rates" } else { "--rate" }
                )));
            }
            (_, None, None) => {}
        }
        if let Some(rate) = o.rate
            && !(rate.is_finite() && rate > 0.0 && rate <= super::load::MAX_RATE)
        {
            return Err(ScenarioError::Override(format!(
                "rate {rate} must be a positive number of requests per second, at most 1e12"
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
        if let (Arrivals::Open { rate }, Stop::Requests(n)) = (&load.arrivals, load.stop) {
            let end_ns = n as f64 / rate * 1e9;
            if end_ns > MAX_RUN_NS as f64 {
                return Err(ScenarioError::Override(format!(
                    "{n} requests at {rate} per second arrive over {:.3e} years, longer than the 100 years a run may span (the simulated clock holds 584); raise the rate or lower the requests",
                    end_ns / MAX_DURATION_NS as f64
                )));
            }
        }
        if let Stop::Requests(n) = load.stop
            && machines > n
        {
            return Err(ScenarioError::Override(format!(
                "{n} requests over {machines} machines leave some with none; give at least {machines} requests"
            )));
        }
        if machines > 1 {
            split_load(&mut load, machines);
        }
        Ok(load)
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
