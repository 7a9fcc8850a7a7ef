//! The `[load]` table checked: arrivals, when to stop, the warm-up, rtt and maxconn.

use std::path::{Path, PathBuf};

use crate::config::{Arrivals, Load, Stop, Warmup};
use crate::dist::Dist;
use crate::time::{MAX_DURATION_NS, MAX_RUN_NS};
use crate::unit::parse_duration;

use super::check::{dist_at, duration_at, positive};
use super::source::Source;
use super::spec::{CountOrText, FileSpec};
use super::{ScenarioError, trace};

/// The highest arrival rate (and any configured rate or price): beyond it numbers stop meaning
/// anything and print as hundreds of digits.
pub(crate) const MAX_RATE: f64 = 1e12;

impl FileSpec {
    pub(super) fn check_load(
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
                if !(r.is_finite() && r > 0.0 && r <= MAX_RATE) {
                    return Err(source.at(
                        rate.span(),
                        &format!(
                            "rate must be a positive number of requests per second, at most 1e12, not {r}; write e.g. rate = 100"
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
        if let (Arrivals::Open { rate }, Stop::Requests(n), Some(span)) =
            (&arrivals, &stop, l.rate.as_ref().map(|r| r.span()))
        {
            let end_ns = *n as f64 / rate * 1e9;
            if end_ns > MAX_RUN_NS as f64 {
                return Err(source.at(
                    span,
                    &format!(
                        "{n} requests at {rate} per second arrive over {:.3e} years, longer than the 100 years a run may span (the simulated clock holds 584); raise rate or lower requests",
                        end_ns / (MAX_DURATION_NS as f64)
                    ),
                ));
            }
        }
        if let (
            Arrivals::Connections {
                broadcast_at: Some(at),
                ..
            },
            Stop::Duration(d),
            Some(b),
        ) = (&arrivals, &stop, &l.broadcast_at)
            && at >= d
        {
            return Err(source.at(
                b.span(),
                "broadcast_at is at or after the end of the run (duration); move it earlier or lengthen duration",
            ));
        }
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
