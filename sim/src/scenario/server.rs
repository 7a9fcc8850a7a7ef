//! A `[[server]]` table's model checked: threads, workers or loops and their parameters.

use serde::Deserialize;

use crate::config::{Balance, Model, Threads};
use crate::cost::{self, CostOverrides};
use crate::unit::parse_duration;
use crate::validation::{MAX_ENTITIES, MAX_PROCESSES, MAX_RUNTIME_THREADS};

use super::spec::{ServerSpec, ThreadsSpec};
use super::{ScenarioError, Source};

/// CPython's default switch interval (`sys.getswitchinterval()`): a thread holding the GIL
/// drops it after this much CPU when another thread waits.
const DEFAULT_GIL_SWITCH_INTERVAL: u64 = 5_000_000;

/// Reads the `index`-th `[[server]]` table: its cost keys (any row of the cost table that a
/// server may set) come out by name, the rest is read as the model's own keys.
pub(super) fn read_server(
    table: &toml::Table,
    index: usize,
    source: &Source,
) -> Result<(ServerSpec, CostOverrides), ScenarioError> {
    let mut rest = table.clone();
    let mut costs = CostOverrides::default();
    for (name, value) in table {
        let Some(key) = cost::key(name) else { continue };
        rest.remove(name);
        let at = |message: &str| source.at_server(index, Some(name), message);
        if !key.per_server {
            return Err(at(&format!(
                "{name} describes the machine, not a server; move it to [costs]"
            )));
        }
        let parsed = key.read(value).map_err(|message| at(&message))?;
        costs.put(key, parsed);
    }
    let spec = ServerSpec::deserialize(toml::Value::Table(rest)).map_err(|e| {
        let message = e.message().trim().to_string();
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            let message = format!(
                "{message}; a server also takes the cost keys {}",
                cost::known_names()
            );
            return source.at_server_key(index, key, &message);
        }
        if (message.contains("expected i64") || message.contains("expected u64"))
            && let Some((key, described)) = super::source::server_type_error(table, &message)
        {
            return source.at_server(index, Some(&key), &described);
        }
        if message.starts_with("unknown variant") {
            return source.at_server(index, Some("model"), &message);
        }
        source.at_server(index, None, &super::source::explain_toml_message(&message))
    })?;
    Ok((spec, costs))
}

/// The model of one server; the bool says whether its worker or loop count was left to follow
/// the core count.
pub(super) fn check_model(
    spec: &ServerSpec,
    cores: u64,
    at: &dyn Fn(Option<&str>, &str) -> ScenarioError,
) -> Result<(Model, bool), ScenarioError> {
    let count = |key: &str, value: Option<i64>, default: u64| -> Result<u64, ScenarioError> {
        let max = match key {
            "processes" => MAX_PROCESSES,
            "loops" | "workers" => MAX_RUNTIME_THREADS,
            _ => MAX_ENTITIES,
        };
        match value {
            None => Ok(default),
            Some(v) if (1..=max as i64).contains(&v) => Ok(v as u64),
            Some(v) => Err(at(
                Some(key),
                &format!("{key} must be a whole number between 1 and {max}, not {v}"),
            )),
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
                Some(ThreadsSpec::Count(n)) if (1..=MAX_ENTITIES as i64).contains(n) => {
                    Threads::Fixed(*n as u64)
                }
                Some(ThreadsSpec::Count(n)) => {
                    return Err(at(
                        Some("threads"),
                        &format!(
                            "threads must be a whole number between 1 and {MAX_ENTITIES}, not {n}; or write threads = \"unbounded\""
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
            let processes = count("processes", s.processes, 1)?;
            if let Threads::Fixed(n) = threads
                && n.saturating_mul(processes) > MAX_ENTITIES
            {
                return Err(at(
                    Some("threads"),
                    &format!(
                        "threads = {n} in each of {processes} processes is more than {MAX_ENTITIES} in all; lower threads or processes, or write threads = \"unbounded\""
                    ),
                ));
            }
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
                    processes,
                    gil: s.gil.unwrap_or(false),
                    gil_switch_interval: match &s.gil_switch_interval {
                        None => DEFAULT_GIL_SWITCH_INTERVAL,
                        Some(_) if s.gil != Some(true) => {
                            return Err(at(
                                Some("gil_switch_interval"),
                                "gil_switch_interval applies to a server with gil = true; add gil = true or remove it",
                            ));
                        }
                        Some(text) => match parse_duration(text) {
                            Ok(ns) if ns > 0 => ns,
                            Ok(_) => {
                                return Err(at(
                                    Some("gil_switch_interval"),
                                    "gil_switch_interval must be above zero; write e.g. gil_switch_interval = \"5ms\"",
                                ));
                            }
                            Err(e) => return Err(at(Some("gil_switch_interval"), &e.to_string())),
                        },
                    },
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
                None => Balance::Shared,
                Some(name) => match Balance::from_name(name) {
                    Some(balance) => balance,
                    None => {
                        return Err(at(
                            Some("balance"),
                            &format!(
                                "balance = {name:?} is not understood; write \"shared\" (one queue, work stealing) or \"affinity\" (a connection stays on its loop)"
                            ),
                        ));
                    }
                },
            };
            // On by default where tokio has it: a shared, work-stealing runtime.
            let lifo_slot = match (balance, s.lifo_slot) {
                (Balance::Shared, lifo) => lifo.unwrap_or(true),
                (Balance::Affinity, None) => false,
                (Balance::Affinity, Some(_)) => {
                    return Err(at(
                        Some("lifo_slot"),
                        "lifo_slot applies to a cooperative server with balance = \"shared\" (tokio's work-stealing runtime); remove it or write balance = \"shared\"",
                    ));
                }
            };
            let timer_thread = match (balance, s.timer_thread) {
                (Balance::Affinity, Some(true)) => {
                    return Err(at(
                        Some("timer_thread"),
                        "timer_thread applies to a cooperative server with balance = \"shared\" (may's runtime); remove it or write balance = \"shared\"",
                    ));
                }
                (_, on) => on.unwrap_or(false),
            };
            (
                Model::Cooperative {
                    loops: count("loops", s.loops, cores)?,
                    balance,
                    offload: s
                        .offload
                        .map(|o| count("offload", Some(o), 1))
                        .transpose()?,
                    lifo_slot,
                    timer_thread,
                },
                s.loops.is_none(),
            )
        }
    })
}
