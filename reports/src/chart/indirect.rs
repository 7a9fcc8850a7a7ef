//! The indirect cost of a switch as `micro` measured it (issue 12): extra time per switch
//! against each thread's working set and against the number of runnable threads. Chart 1 draws
//! the working-set curve beside the talk's 10 µs – 1 ms band; chart 11 draws both curves.
//!
//! What the captions say is computed here, from the points, so the two charts cannot disagree.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::costs::CLAIM_SWITCH_NS;
use crate::error::ChartError;
use crate::number::{bytes, duration_ns, sig};
use crate::plot::{Axis, Band, Legend, Line, lines_over};
use crate::table::Table;
use crate::theme::color;

/// The measured curves and where they came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Indirect {
    /// `[bytes, ns]`: extra ns per switch, each thread walking its buffer in random order.
    pub random: Vec<(u64, f64)>,
    /// `[bytes, ns]`: the same walked in address order (what the prefetcher hides).
    pub sequential: Vec<(u64, f64)>,
    /// `[threads, ns]`: extra ns per switch in a ring of that many threads, W = 0.
    pub runnable: Vec<(u64, f64)>,
    /// `[threads, ns]`: the same ring with 64 KiB walked per thread.
    pub runnable_64kib: Vec<(u64, f64)>,
    /// L2 size, bytes, when known.
    pub l2: Option<u64>,
    /// L3 size, bytes, when known.
    pub l3: Option<u64>,
    /// The largest working set the pass was allowed to try (a quick pass: 2 × L2); `None`
    /// when the curve went as far as the full plan.
    pub limit: Option<u64>,
    /// `[bytes, ns]`: `sim`'s cache model at each point of `random` (empty when missing).
    pub model_random: Vec<(u64, f64)>,
    /// `[threads, ns]`: `sim`'s cache model at each point of `runnable_64kib`.
    pub model_runnable_64kib: Vec<(u64, f64)>,
    /// Why there is no model line, when there is none.
    pub model_missing: Option<String>,
    /// Working sets of `random` where `calibrate` counted other than one context switch per
    /// hand-off (off by more than 0.25): those points measured preemption, not one switch, and
    /// the fit leaves them out (they are still drawn).
    pub preempted: Vec<u64>,
    /// Where the curves came from ("this run's quick calibrate pass", "the committed
    /// reference micro/reference/… (this run's figures lack the curve)").
    pub source: String,
}

impl Indirect {
    /// What the random-order curve says about the talk's 10 µs – 1 ms band, for a caption.
    pub fn verdict(&self) -> String {
        let (lo, hi) = CLAIM_SWITCH_NS;
        let mut pts = self.random.clone();
        pts.sort_by_key(|p| p.0);
        let Some(&(last_w, _)) = pts.last() else {
            return "No working-set curve was measured.".into();
        };
        let peak = pts
            .iter()
            .copied()
            .fold((0, f64::NEG_INFINITY), |m, p| if p.1 > m.1 { p } else { m });
        // Where the curve rises above `level` and stays there: a noisy point that pokes above
        // it and falls back is not the crossing.
        let crossing = |level: f64| {
            let i = pts.iter().rposition(|p| p.1 < level).map_or(0, |j| j + 1);
            (i < pts.len()).then(|| (i.checked_sub(1).map(|j| pts[j]), pts[i]))
        };
        let mut out = match crossing(lo) {
            Some((Some(before), at)) => format!(
                "The random-order curve crosses 10 µs for good between {} ({}) and {} ({})",
                bytes(before.0 as f64),
                duration_ns(before.1),
                bytes(at.0 as f64),
                duration_ns(at.1)
            ),
            Some((None, at)) => format!(
                "The random-order curve is already above 10 µs at its first point, {} ({})",
                bytes(at.0 as f64),
                duration_ns(at.1)
            ),
            None => format!(
                "The random-order curve stays below 10 µs (at most {} per switch, at {})",
                duration_ns(peak.1),
                bytes(peak.0 as f64)
            ),
        };
        out.push_str(&match crossing(hi) {
            Some((_, at)) => format!(
                "; it stays above 1 ms from {} ({}).",
                bytes(at.0 as f64),
                duration_ns(at.1)
            ),
            None if peak.1 >= hi => format!(
                "; it touches 1 ms ({} at {}) but falls back below it by its last point.",
                duration_ns(peak.1),
                bytes(peak.0 as f64)
            ),
            None => format!(
                "; it does not reach 1 ms (largest: {} at {}).",
                duration_ns(peak.1),
                bytes(peak.0 as f64)
            ),
        });
        if let Some(limit) = self.limit {
            let l2 = self.l2.map_or(String::new(), |l2| {
                format!(" (2 × L2 of {})", bytes(l2 as f64))
            });
            let early = if last_w < limit {
                " and its time ran out before that"
            } else {
                ""
            };
            out.push_str(&format!(
                " The curve stops at {}: this quick pass measures working sets only up to {}{l2}{early}, \
                 so larger working sets are not shown; `calibrate` without --quick goes to 4 × L3.",
                bytes(last_w as f64),
                bytes(limit as f64)
            ));
        }
        out
    }

    /// How well `sim`'s cache model meets the measured points, at the tolerances (15 %
    /// or 1 µs for the two-thread curve it takes its costs from, 25 % for the ring it
    /// predicts), for a caption.
    pub fn fit(&self) -> String {
        if let Some(why) = &self.model_missing {
            return format!("No model line: {why}.");
        }
        let judge = |measured: &[(u64, f64)],
                     model: &[(u64, f64)],
                     pass: &dyn Fn(f64, f64) -> bool| {
            let pairs: Vec<(f64, f64)> = measured
                .iter()
                .filter_map(|&(x, m)| model.iter().find(|p| p.0 == x).map(|p| (m, p.1)))
                .filter(|&(m, _)| m > 0.0)
                .collect();
            let within = pairs.iter().filter(|&&(m, s)| pass(s, m)).count();
            let mut errors: Vec<f64> = pairs.iter().map(|&(m, s)| ((s - m) / m).abs()).collect();
            errors.sort_by(f64::total_cmp);
            let median = errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN);
            (within, pairs.len(), median)
        };
        let one_switch: Vec<(u64, f64)> = self
            .random
            .iter()
            .copied()
            .filter(|p| !self.preempted.contains(&p.0))
            .collect();
        let (wi, wn, wmed) = judge(&one_switch, &self.model_random, &|s, m| {
            (s - m).abs() <= (0.15 * m).max(1_000.0)
        });
        let (ri, rn, rmed) = judge(&self.runnable_64kib, &self.model_runnable_64kib, &|s, m| {
            (s - m).abs() <= 0.25 * m
        });
        let left_out = match self.preempted.len() {
            0 => String::new(),
            n => format!(
                " {n} working-set point{} left out: more than one switch per hand-off there \
                 (preemption, not one switch).",
                if n == 1 { "" } else { "s" }
            ),
        };
        format!(
            "Dashed: sim's cache model, given only what calibrate measured: the cache sizes, the \
             lone walk's line latencies (or, without them, the refill rates) and the W = 0 switch. \
             It meets {wi} of {wn} working-set points within 15 % or 1 µs (median error {} %) and \
             predicts {ri} of {rn} ring points within 25 % (median error {} %).{left_out}",
            sig(100.0 * wmed, 2),
            sig(100.0 * rmed, 2)
        )
    }

    /// The working-set table: one row per measured point.
    pub fn working_set_table(&self) -> Table {
        let mut t = Table::new(&["order", "working_set_bytes", "ns_per_switch"]);
        for (order, pts) in [("random", &self.random), ("sequential", &self.sequential)] {
            for &(w, ns) in pts.iter() {
                t.push(vec![order.into(), (w as f64).into(), ns.into()]);
            }
        }
        t
    }

    /// The runnable-threads table: one row per measured point.
    pub fn runnable_table(&self) -> Table {
        let mut t = Table::new(&["working_set", "runnable_threads", "ns_per_switch"]);
        for (ws, pts) in [("0", &self.runnable), ("64KiB", &self.runnable_64kib)] {
            for &(n, ns) in pts.iter() {
                t.push(vec![ws.into(), (n as f64).into(), ns.into()]);
            }
        }
        t
    }

    /// The working-set panel: both orders, log-log, the talk's band shaded; `with_model` adds
    /// sim's line.
    pub fn draw_working_set<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        with_model: bool,
    ) -> Result<(), ChartError> {
        let mut series = vec![
            dots("random order", color::VERMILLION, &self.random),
            dots("sequential order", color::BLUE, &self.sequential),
        ];
        if with_model && !self.model_random.is_empty() {
            series.push(model_line(
                "model, random",
                color::VERMILLION,
                &self.model_random,
            ));
        }
        let band = Band {
            lo: CLAIM_SWITCH_NS.0,
            hi: CLAIM_SWITCH_NS.1,
            label: "the talk: 10 µs – 1 ms".into(),
        };
        lines_over(
            area,
            title,
            &Axis::log("working set per thread")
                .fmt(bytes)
                .ticks((0..8).map(|p| 1024.0 * 16f64.powi(p)).collect()),
            &Axis::log("extra time per switch").fmt(duration_ns),
            &series,
            Some(Legend::LowerRight),
            Some(&band),
        )
    }

    /// The runnable-threads panel, with sim's line for the 64 KiB ring.
    pub fn draw_runnable<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<(), ChartError> {
        let mut series = vec![
            dots("nothing walked", color::GREY, &self.runnable),
            dots(
                "64 KiB walked each",
                color::VERMILLION,
                &self.runnable_64kib,
            ),
        ];
        if !self.model_runnable_64kib.is_empty() {
            series.push(model_line(
                "model, 64 KiB",
                color::VERMILLION,
                &self.model_runnable_64kib,
            ));
        }
        lines_over(
            area,
            title,
            &Axis::log("runnable threads on one core").fmt(|v| sig(v, 3)),
            &Axis::log("extra time per switch").fmt(duration_ns),
            &series,
            Some(Legend::UpperLeft),
            None,
        )
    }
}

/// The model's figures as a dashed line (non-positive points left out, as for the dots).
fn model_line(label: &str, c: RGBColor, pts: &[(u64, f64)]) -> Line {
    Line {
        dashed: true,
        ..dots(
            label,
            c,
            &pts.iter()
                .copied()
                .filter(|p| p.1 > 0.0)
                .collect::<Vec<_>>(),
        )
    }
}

/// Measured points as a line with dots; non-positive points (the baseline was slower, as
/// noise allows) cannot sit on a log axis and are left out of the drawing, not the CSV.
fn dots(label: &str, c: RGBColor, pts: &[(u64, f64)]) -> Line {
    let mut points: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x as f64, y)).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Line {
        label: label.into(),
        color: c,
        points,
        dashed: false,
    }
}
