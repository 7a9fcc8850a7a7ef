//! Checking a file as written into a [`Scenario`]: every mistake located and explained.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use crate::config::{Arrivals, Model, Pool, Proxy, RunConfig, Server, Stop};
use crate::cost::{self, CostOverrides, Costs};
use crate::dist::Dist;
use crate::machine::{Kernel, KernelOverrides, Preemption, Scheduler};
use crate::metric::Metric;
use crate::pricing::PriceTable;
use crate::unit::parse_duration;

use super::request::{RawStep, check_steps, parse_working_set};
use super::server::{check_model, read_server};
use super::source::{Loc, Source};
use super::spec::{CostsSpec, FileSpec, KernelSpec, ServerSpec, Text};
use super::{
    DEFAULT_MAX_EVENTS, Deployment, LoadShape, MAX_CORES, Overrides, Scenario, ScenarioError,
};

/// A `[costs]` table (a scenario's or a `--costs` file's), each key looked up in the cost
/// table and its value read in that key's unit.
pub(super) fn check_costs(
    table: &CostsSpec,
    source: &Source,
) -> Result<CostOverrides, ScenarioError> {
    let mut costs = CostOverrides::default();
    for (name, value) in table {
        let key = cost::key(name)
            .ok_or_else(|| source.at_key(value.span(), name, &cost::unknown_key_message(name)))?;
        let parsed = key
            .read(value.get_ref())
            .map_err(|message| source.at(value.span(), &message))?;
        costs.put(key, parsed);
    }
    Ok(costs)
}

/// The kernel keys of a `[machine]` table (a scenario's or a `--costs` file's).
pub(super) fn check_kernel(
    spec: &KernelSpec,
    source: &Source,
) -> Result<KernelOverrides, ScenarioError> {
    let scheduler = match &spec.scheduler {
        Some(text) => Some(
            Scheduler::parse(text.get_ref()).map_err(|message| source.at(text.span(), &message))?,
        ),
        None => None,
    };
    let preempt = match &spec.preempt {
        Some(text) => Some(
            Preemption::parse(text.get_ref())
                .map_err(|message| source.at(text.span(), &message))?,
        ),
        None => None,
    };
    let hz = match &spec.hz {
        Some(hz) => {
            let v = *hz.get_ref();
            if !(1..=10_000).contains(&v) {
                return Err(source.at(
                    hz.span(),
                    &format!(
                        "hz is the tick rate (CONFIG_HZ), 1 to 10000, not {v}; write e.g. hz = 250"
                    ),
                ));
            }
            Some(v as u32)
        }
        None => None,
    };
    Ok(KernelOverrides {
        scheduler,
        hz,
        preempt,
        hrtick: spec.hrtick.as_ref().map(|h| *h.get_ref()),
    })
}

pub(super) fn positive(
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

pub(super) fn duration_at(source: &Source, text: &Text) -> Result<u64, ScenarioError> {
    parse_duration(text.get_ref()).map_err(|e| source.at(text.span(), &e.to_string()))
}

pub(super) fn dist_at(
    source: &Source,
    text: &Text,
    base: Option<&Path>,
) -> Result<Dist, ScenarioError> {
    Dist::parse(text.get_ref(), base).map_err(|e| source.at(text.span(), &e.to_string()))
}

impl FileSpec {
    pub(super) fn check(
        self,
        source: &Source,
        base: Option<&Path>,
    ) -> Result<Scenario, ScenarioError> {
        // Type errors and unknown keys in the servers come first, as toml reports them for the
        // rest of the file before any check.
        let servers: Vec<(ServerSpec, CostOverrides)> = self
            .server
            .iter()
            .enumerate()
            .map(|(index, table)| read_server(table, index, source))
            .collect::<Result<_, _>>()?;
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
        let l3_shared_by = match &self.machine.l3_shared_by {
            Some(n) => Some(positive(source, n, "l3_shared_by", "l3_shared_by = 8")?),
            None => None,
        };
        let max_events = match &self.max_events {
            Some(m) => positive(source, m, "max_events", "max_events = 100000000")?,
            None => DEFAULT_MAX_EVENTS,
        };
        let file_costs = check_costs(&self.costs, source)?.apply(Costs::default());
        let kernel_keys = check_kernel(&self.machine.kernel(), source)?;
        let file_kernel = kernel_keys.apply(Kernel::default());

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
        let working_set = match &self.request.working_set {
            Some(text) => parse_working_set(text.get_ref(), &Loc::Span(text.span()), source)?,
            None => 0,
        };
        let steps = check_steps(
            &raw,
            &Loc::Span(self.request.steps.span()),
            source,
            base,
            &pools,
            working_set,
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
        for (index, (spec, costs)) in servers.iter().enumerate() {
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
                Some(m) => match load.stop {
                    // Each machine needs a request to serve: fewer would be rounded up to one
                    // each and report throughput nobody offered.
                    Stop::Requests(n) if (m as u64) > n => {
                        return Err(at(
                            Some("machines"),
                            &format!(
                                "machines = {m} is more than the {n} requests of [load]; each machine needs at least one, so give at most {n} machines or more requests"
                            ),
                        ));
                    }
                    _ => m as u64,
                },
                None => 1,
            };
            let costs = *costs;
            let mut published = BTreeMap::new();
            for (name, value) in common.published {
                let Some(metric) = Metric::from_name(name) else {
                    return Err(at(
                        Some("published"),
                        &format!(
                            "unknown published metric {name:?}; use one of {}",
                            Metric::known_names()
                        ),
                    ));
                };
                if !value.is_finite() || value.abs() > super::load::MAX_RATE {
                    return Err(at(
                        Some("published"),
                        &format!(
                            "published {name} = {value} must be a finite number of at most 1e12"
                        ),
                    ));
                }
                published.insert(metric, *value);
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
                    let own = check_steps(
                        &raw,
                        &Loc::Server(index, "steps"),
                        source,
                        base,
                        &pools,
                        working_set,
                    )?;
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
            if let Model::ThreadPerRequest { quantum, .. } = &model {
                match (kernel_keys.scheduler, quantum) {
                    (Some(s @ (Scheduler::Eevdf | Scheduler::Cfs)), Some(_)) => {
                        return Err(at(
                            Some("quantum"),
                            &format!(
                                "a server's quantum means scheduler = \"rr\", but [machine] says scheduler = \"{}\"; remove quantum or write scheduler = \"rr\"",
                                s.name()
                            ),
                        ));
                    }
                    (Some(Scheduler::Rr), None) => {
                        return Err(at(
                            Some("quantum"),
                            "[machine] says scheduler = \"rr\", which needs this server's fixed quantum; write e.g. quantum = \"3ms\"",
                        ));
                    }
                    _ => {}
                }
            }
            // Without keep-alive (set, or implied by long-lived connections) a connection gives
            // its thread back after every request, so the key would be silently ignored.
            if let Model::ThreadPerRequest {
                keepalive: false,
                keepalive_requests: Some(_),
                ..
            } = &model
                && !matches!(load.arrivals, Arrivals::Connections { .. })
            {
                return Err(at(
                    Some("keepalive_requests"),
                    "keepalive_requests applies only with keepalive = true; add keepalive = true or remove it",
                ));
            }
            deployments.push(Deployment {
                config: RunConfig {
                    scenario: name.clone(),
                    seed: self.seed.unwrap_or(1),
                    cores: machine_cores,
                    l3_shared_by,
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
                    kernel: file_kernel,
                },
                machines,
                published,
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
            file_kernel,
            server_cores,
            defaults_to_cores,
        };
        // Apply the (empty) overrides once so that machine splits are checked now, not at run time.
        scenario.deployments(&Overrides::default())?;
        Ok(scenario)
    }
}
