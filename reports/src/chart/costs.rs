//! Chart 1: what an add, a thread switch and a task switch cost on this machine, on a log axis,
//! beside the talk's claims, with the talk's humanized scale (an add = 1 s) along the top; and,
//! when `micro` measured it, the extra cost per switch against working set, with the talk's
//! 10 µs – 1 ms band shaded, so the band is shown rather than asserted.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::chart::Chart;
use crate::chart::indirect::Indirect;
use crate::error::ChartError;
use crate::number::{bytes, duration_ns, grouped, human_seconds};
use crate::plot::{text, text_at};
use crate::table::{Cell, Table};
use crate::theme::{color, size};

/// The talk's claimed cost of an add, ns (W1).
pub const CLAIM_ADD_NS: f64 = 1.0;
/// The talk's claimed range for a context switch, ns (W1: 10 µs to 1 ms).
pub const CLAIM_SWITCH_NS: (f64, f64) = (1e4, 1e6);

/// What a measured cost is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostKind {
    /// An integer add.
    Add,
    /// A user-level task or coroutine switch.
    TaskSwitch,
    /// An OS thread switch on one core.
    ThreadSwitch,
    /// Waking a thread on another core (not a switch).
    Wakeup,
    /// A spinning hand-off between cores: the hardware floor.
    Floor,
}

impl CostKind {
    fn name(self) -> &'static str {
        match self {
            CostKind::Add => "add",
            CostKind::TaskSwitch => "task switch",
            CostKind::ThreadSwitch => "thread switch",
            CostKind::Wakeup => "cross-core wake-up",
            CostKind::Floor => "hardware floor",
        }
    }

    fn color(self) -> RGBColor {
        match self {
            CostKind::Add => color::BLACK,
            CostKind::TaskSwitch => color::GREEN,
            CostKind::ThreadSwitch => color::VERMILLION,
            CostKind::Wakeup => color::ORANGE,
            CostKind::Floor => color::SKY_BLUE,
        }
    }
}

/// One measured cost.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// What was measured ("thread switch, same core").
    pub label: String,
    /// Its kind.
    pub kind: CostKind,
    /// Nanoseconds; `None` when it could not be measured here (one core, no tokio figure).
    pub ns: Option<f64>,
}

/// The data of chart 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// The measured add, ns: the unit of the humanized scale.
    pub add_ns: f64,
    /// Measured costs, drawn top to bottom in this order.
    pub rows: Vec<CostRow>,
    /// Where the numbers came from ("Criterion estimates", "a quick calibrate pass").
    pub source: String,
    /// The working-set curves (issue 12), when measured here or read from the reference.
    pub indirect: Option<Indirect>,
}

impl Costs {
    fn first(&self, kind: CostKind) -> Option<f64> {
        self.rows.iter().find(|r| r.kind == kind).and_then(|r| r.ns)
    }

    fn humanized(&self, ns: f64) -> String {
        human_seconds(ns / self.add_ns)
    }
}

enum Row<'a> {
    Measured(&'a CostRow),
    ClaimAdd,
    ClaimSwitch,
}

impl Chart for Costs {
    fn stem(&self) -> &'static str {
        "01-costs"
    }

    fn title(&self) -> String {
        let thread = self.first(CostKind::ThreadSwitch);
        let task = self.first(CostKind::TaskSwitch);
        match (thread, task) {
            (Some(t), Some(k)) if self.add_ns > 0.0 => format!(
                "A thread switch costs {} adds here, a task switch {}",
                grouped(t / self.add_ns),
                grouped(k / self.add_ns)
            ),
            _ => "What an add, a thread switch and a task switch cost here".into(),
        }
    }

    fn subtitle(&self) -> String {
        format!(
            "Measured on this machine ({}), log scale · grey: the talk's claims · top: if an add took 1 s",
            self.source
        )
    }

    fn caption(&self) -> String {
        let mut out = format!(
            "Costs per operation from {}; the talk claimed ~1 ns per add and 10 µs – 1 ms per context switch \
             (its humanized 115.7 days is 10 ms at 1 ns per add; 1 ms is 11.6 days).",
            self.source
        );
        match &self.indirect {
            Some(ind) => out.push_str(&format!(
                " Right: the extra cost per switch when each of two threads on one core walks its own \
                 buffer between hand-offs, from {}. {}",
                ind.source,
                ind.verdict()
            )),
            None => out.push_str(" The working-set curve was not measured, here or in the reference."),
        }
        out
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "cost",
            "kind",
            "ns",
            "ns_high",
            "adds",
            "humanized",
            "working_set_bytes",
        ]);
        for r in &self.rows {
            t.push(vec![
                r.label.as_str().into(),
                r.kind.name().into(),
                r.ns.into(),
                Cell::Missing,
                r.ns.map(|v| v / self.add_ns).into(),
                r.ns.map_or(Cell::Missing, |v| self.humanized(v).into()),
                Cell::Missing,
            ]);
        }
        t.push(vec![
            "talk: add".into(),
            "claim".into(),
            CLAIM_ADD_NS.into(),
            Cell::Missing,
            (CLAIM_ADD_NS / self.add_ns).into(),
            self.humanized(CLAIM_ADD_NS).into(),
            Cell::Missing,
        ]);
        t.push(vec![
            "talk: context switch".into(),
            "claim".into(),
            CLAIM_SWITCH_NS.0.into(),
            CLAIM_SWITCH_NS.1.into(),
            (CLAIM_SWITCH_NS.0 / self.add_ns).into(),
            format!(
                "{} – {}",
                self.humanized(CLAIM_SWITCH_NS.0),
                self.humanized(CLAIM_SWITCH_NS.1)
            )
            .into(),
            Cell::Missing,
        ]);
        if let Some(ind) = &self.indirect {
            for (order, pts) in [("random", &ind.random), ("sequential", &ind.sequential)] {
                for &(w, ns) in pts.iter() {
                    t.push(vec![
                        format!("switch, {} walked in {order} order", bytes(w as f64)).into(),
                        format!("working set, {order}").into(),
                        ns.into(),
                        Cell::Missing,
                        (ns / self.add_ns).into(),
                        self.humanized(ns).into(),
                        (w as f64).into(),
                    ]);
                }
            }
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        if !(self.add_ns.is_finite() && self.add_ns > 0.0) {
            return Err(ChartError::Data {
                chart: "01-costs",
                problem: format!("the add must cost a positive time, got {} ns", self.add_ns),
            });
        }
        let mut rows: Vec<Row> = Vec::new();
        for r in &self.rows {
            rows.push(Row::Measured(r));
            if r.kind == CostKind::Add {
                rows.push(Row::ClaimAdd);
            }
        }
        if !rows.iter().any(|r| matches!(r, Row::ClaimAdd)) {
            rows.insert(0, Row::ClaimAdd);
        }
        rows.push(Row::ClaimSwitch);
        // With the working-set curve, the bars take the left two thirds and the curve the rest.
        let (area, curve) = match &self.indirect {
            Some(_) => {
                let (l, r) = area.split_horizontally(area.dim_in_pixel().0 * 2 / 3);
                (l, Some(r))
            }
            None => (area.clone(), None),
        };
        if let (Some(ind), Some(right)) = (&self.indirect, &curve) {
            ind.draw_working_set(right, "Extra cost per switch vs working set", false)?;
        }
        let area = &area;
        let n = rows.len() as f64;
        // 0.1 ns .. 10 ms in log10(ns): wide enough for any add and the talk's whole range.
        let (x0, x1) = (-1.0f64, 7.0f64);
        // A tick every other decade when the bars share the width with the curve, so the
        // labels do not run into each other.
        let step = if curve.is_some() { 2 } else { 1 };
        let ticks: Vec<f64> = (-1..=7).step_by(step).map(f64::from).collect();
        let add = self.add_ns;
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_right(60)
            .x_label_area_size(90)
            .top_x_label_area_size(90)
            .y_label_area_size(470)
            .build_cartesian_2d(
                crate::plot::Scale::new(x0, x1, ticks.clone()),
                crate::plot::Scale::new(0.0, n, Vec::<f64>::new()),
            )?
            .set_secondary_coord(
                crate::plot::Scale::new(x0, x1, ticks),
                crate::plot::Scale::new(0.0, n, Vec::<f64>::new()),
            );
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("time per operation (log scale)")
            .axis_desc_style(text(size::AXIS))
            .label_style(text(size::TICK))
            .x_label_formatter(&|v| duration_ns(10f64.powf(*v)))
            .bold_line_style(color::LIGHT.stroke_width(2))
            .axis_style(color::GREY.stroke_width(2))
            .draw()?;
        chart
            .configure_secondary_axes()
            .x_desc("humanized: if an add took 1 s")
            .axis_desc_style(text(size::AXIS))
            .label_style(text_at(size::TICK, color::GREY, HPos::Center, VPos::Bottom))
            .x_label_formatter(&|v| human_seconds(10f64.powf(*v) / add))
            .draw()?;

        let plot = chart.plotting_area();
        for (i, row) in rows.iter().enumerate() {
            let yc = n - i as f64 - 0.5;
            let (label, lo, hi, fill, note) = match row {
                Row::Measured(r) => match r.ns.filter(|v| *v > 0.0) {
                    Some(v) => (
                        r.label.clone(),
                        x0,
                        v.log10(),
                        r.kind.color().filled(),
                        format!(
                            "{} = {} → {}",
                            duration_ns(v),
                            adds(v / add),
                            self.humanized(v)
                        ),
                    ),
                    None => {
                        plot.draw(&Text::new(
                            "not measured on this machine",
                            (x0 + 0.05, yc),
                            text_at(size::NOTE, color::GREY, HPos::Left, VPos::Center),
                        ))?;
                        (
                            r.label.clone(),
                            x0,
                            x0,
                            color::WHITE.filled(),
                            String::new(),
                        )
                    }
                },
                Row::ClaimAdd => (
                    "talk: add".to_string(),
                    x0,
                    CLAIM_ADD_NS.log10(),
                    color::GREY.mix(0.55).filled(),
                    "~1 ns".to_string(),
                ),
                Row::ClaimSwitch => (
                    "talk: context switch".to_string(),
                    CLAIM_SWITCH_NS.0.log10(),
                    CLAIM_SWITCH_NS.1.log10(),
                    color::GREY.mix(0.55).filled(),
                    format!(
                        "10 µs – 1 ms → {} – {}",
                        self.humanized(CLAIM_SWITCH_NS.0),
                        self.humanized(CLAIM_SWITCH_NS.1)
                    ),
                ),
            };
            if hi > lo {
                plot.draw(&Rectangle::new([(lo, yc - 0.34), (hi, yc + 0.34)], fill))?;
            }
            if !note.is_empty() {
                // Past ~60 % of the axis a note would run off the right edge: it goes left of
                // the bar when the bar does not start at the axis (the claimed range), else inside.
                let (x, style) = if hi <= x0 + 0.6 * (x1 - x0) {
                    (
                        hi + 0.08,
                        text_at(size::NOTE, color::BLACK, HPos::Left, VPos::Center),
                    )
                } else if lo > x0 {
                    (
                        lo - 0.08,
                        text_at(size::NOTE, color::BLACK, HPos::Right, VPos::Center),
                    )
                } else {
                    (
                        hi - 0.08,
                        text_at(size::NOTE, color::WHITE, HPos::Right, VPos::Center),
                    )
                };
                plot.draw(&Text::new(note, (x, yc), style))?;
            }
            // The row's name, right-aligned in the label area left of the plot.
            let (px, py) = plot.map_coordinate(&(x0, yc));
            area.draw(&Text::new(
                label,
                (
                    px - 16 - area.get_base_pixel().0,
                    py - area.get_base_pixel().1,
                ),
                text_at(size::AXIS, color::BLACK, HPos::Right, VPos::Center),
            ))?;
        }
        Ok(())
    }
}

/// A cost in adds: "1 add", "68 adds", "4,677 adds".
fn adds(v: f64) -> String {
    let n = if v >= 10.0 {
        grouped(v)
    } else {
        crate::number::sig(v, 2)
    };
    if n == "1" {
        "1 add".into()
    } else {
        format!("{n} adds")
    }
}
