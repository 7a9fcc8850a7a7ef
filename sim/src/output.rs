//! Results as a person reads them (aligned tables) and as programs read them (JSON, CSV).

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::replay::ReplayRow;
use crate::report::Report;
use crate::sweep::SweepRow;
use crate::unit::format_size;

/// How to print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// An aligned table.
    #[default]
    Table,
    /// Pretty-printed JSON.
    Json,
    /// CSV with a header line.
    Csv,
}

/// One server of `sim run --json`: the engine's report plus the deployment and its price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run (one machine's, when `machines` > 1).
    #[serde(flatten)]
    pub report: Report,
    /// Identical machines sharing the load.
    pub machines: u64,
    /// Monthly price of all machines.
    pub usd_per_month: f64,
    /// Price per million requests at the simulated throughput.
    pub usd_per_million_requests: Option<f64>,
}

/// Lays out rows under headers; the first `left` columns are left-aligned, the rest right.
pub fn table(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            if i < left {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out += &line(&mut row.iter().map(String::as_str));
    }
    out
}

/// A number with at most `digits` decimals and no trailing zeros.
pub fn num(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        num(value, 0)
    } else if value >= 1.0 {
        num(value, 1)
    } else {
        num(value, 3)
    }
}

fn usd(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 1.0 => format!("${}", num(v, 2)),
        Some(v) => format!("${}", num(v, 4)),
        None => "-".into(),
    }
}

/// The table of `sim run` and `sim sweep`: one line per row; `marks` are rows to flag
/// (the cheapest meeting an objective).
pub fn rows_table(rows: &[SweepRow], marks: &[usize]) -> String {
    let headers = [
        "server", "model", "cores", "load", "rps", "mean ms", "p50", "p95", "p99", "cpu %",
        "switch %", "cs/req", "memory", "$/month", "$/M req", "",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cores = if r.machines > 1 {
                format!("{}x{}", r.machines, r.cores)
            } else {
                r.cores.to_string()
            };
            let load = match (r.rate_rps, r.concurrency) {
                (Some(rate), _) => format!("{} rps", num(rate, 1)),
                (None, Some(c)) if r.load_kind == "connections" => format!("{c} conn"),
                (None, Some(c)) => format!("{c} clients"),
                _ => r.load_kind.clone(),
            };
            let mark = match (marks.contains(&i), r.meets_slo) {
                (true, _) => "<- cheapest meeting the SLO",
                (false, Some(true)) => "meets SLO",
                _ => "",
            };
            vec![
                r.label.clone(),
                r.model.name().to_string(),
                cores,
                load,
                num(r.throughput_rps, 1),
                ms(r.latency_ms_mean),
                ms(r.latency_ms_p50),
                ms(r.latency_ms_p95),
                ms(r.latency_ms_p99),
                num(r.cpu_utilization * 100.0, 1),
                num(r.switch_overhead * 100.0, 2),
                num(r.context_switches_per_request, 2),
                format_size(r.peak_memory_bytes),
                usd(Some(r.usd_per_month)),
                usd(r.usd_per_million_requests),
                mark.to_string(),
            ]
        })
        .collect();
    table(&headers, &body, 2)
}

/// The table of `sim replay`: one line per published metric, simulated beside it.
pub fn replay_table(rows: &[ReplayRow]) -> String {
    let headers = [
        "scenario",
        "server",
        "metric",
        "published",
        "simulated",
        "deviation",
    ];
    let mut body = Vec::new();
    for r in rows {
        if r.published.is_empty() {
            // Nothing numeric was published: show what the simulator says.
            let s = &r.simulated;
            body.push(vec![
                r.scenario.clone(),
                r.label.clone(),
                "(no figure) rps / p99 ms / memory (all machines)".into(),
                "-".into(),
                format!(
                    "{} / {} / {}",
                    num(s.throughput_rps * r.machines as f64, 1),
                    ms(s.latency_ms.p99),
                    format_size(s.peak_memory_bytes * r.machines)
                ),
                "-".into(),
            ]);
            continue;
        }
        for (name, published) in &r.published {
            let simulated = r.simulated_metrics.get(name).copied();
            body.push(vec![
                r.scenario.clone(),
                r.label.clone(),
                name.to_string(),
                num(*published, 3),
                simulated.map_or("-".into(), |v| num(v, 3)),
                r.deviation_percent
                    .get(name)
                    .map_or("-".into(), |d| format!("{:+.1} %", d)),
            ]);
        }
    }
    table(&headers, &body, 3)
}

/// Writes rows as CSV with a header.
pub fn write_csv<T: Serialize>(out: &mut dyn Write, rows: &[T]) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["name", "n"],
            &[
                vec!["a".into(), "10".into()],
                vec!["bbb".into(), "2".into()],
            ],
            1,
        );
        assert_eq!(t, "name   n\na     10\nbbb    2\n");
    }

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(num(1.50, 2), "1.5");
        assert_eq!(num(2.0, 2), "2");
        assert_eq!(num(f64::NAN, 2), "-");
    }
}
