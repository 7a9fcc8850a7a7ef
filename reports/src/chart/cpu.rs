//! Chart 9: where the CPU goes — useful vs switching vs idle time per model as load rises.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use sim::config::ModelKind;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{text, text_at};
use crate::table::Table;
use crate::theme::{color, size};

/// The core-time split of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuPoint {
    /// Server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// Offered load as a fraction of the cores' capacity for the requests' CPU work.
    pub load: f64,
    /// Fraction of core time running request steps.
    pub useful: f64,
    /// Fraction of core time switching.
    pub switching: f64,
    /// Fraction of core time idle.
    pub idle: f64,
}

/// One layer of a stacked bar: its name, colour and share.
type Part = (&'static str, RGBColor, fn(&CpuPoint) -> f64);

/// The data of chart 9.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpu {
    /// Runs.
    pub points: Vec<CpuPoint>,
}

impl Chart for Cpu {
    fn stem(&self) -> &'static str {
        "09-cpu"
    }

    fn title(&self) -> String {
        match self
            .points
            .iter()
            .max_by(|a, b| a.switching.total_cmp(&b.switching))
        {
            Some(p) if p.switching > 0.0 => format!(
                "Switching peaks at {} % of the CPU ({} at {} % load)",
                sig(p.switching * 100.0, 2),
                p.label,
                sig(p.load * 100.0, 2)
            ),
            Some(_) => "No core time went to switching in these runs".into(),
            None => "Where the CPU goes".into(),
        }
    }

    fn subtitle(&self) -> String {
        "Share of core time as offered load rises (simulated): useful work (blue, bottom), switching (vermillion, % above), idle (grey, top)".into()
    }

    fn caption(&self) -> String {
        "The number above each bar is the switching share; it is the only part a faster scheduler can win back.".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&["label", "model", "load", "useful", "switching", "idle"]);
        for p in &self.points {
            t.push(vec![
                p.label.as_str().into(),
                p.model.name().into(),
                p.load.into(),
                p.useful.into(),
                p.switching.into(),
                p.idle.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let labels = distinct(&self.points, |p| p.label.as_str());
        let panels = area.split_evenly((1, labels.len().max(1)));
        for (k, (panel, label)) in panels.iter().zip(&labels).enumerate() {
            let mine: Vec<&CpuPoint> = self.points.iter().filter(|p| p.label == *label).collect();
            let n = mine.len().max(1) as f64;
            let names: Vec<String> = mine
                .iter()
                .map(|p| format!("{}%", sig(p.load * 100.0, 2)))
                .collect();
            let centers: Vec<f64> = (0..mine.len()).map(|i| i as f64 + 0.5).collect();
            let mut chart = ChartBuilder::on(panel)
                .caption(*label, text(size::PANEL))
                .margin(20)
                .x_label_area_size(100)
                .y_label_area_size(if k == 0 { 130 } else { 60 })
                .build_cartesian_2d(
                    crate::plot::Scale::new(0.0, n, centers),
                    crate::plot::Scale::new(0.0, 112.0, vec![0.0, 25.0, 50.0, 75.0, 100.0]),
                )?;
            let name_of = |v: &f64| names.get(v.floor() as usize).cloned().unwrap_or_default();
            let percent = |v: &f64| format!("{v}%");
            let mut mesh = chart.configure_mesh();
            mesh.disable_x_mesh()
                .x_desc("offered load")
                .axis_desc_style(text(size::AXIS))
                .label_style(text(size::TICK))
                .x_label_formatter(&name_of)
                .y_label_formatter(&percent)
                .bold_line_style(color::LIGHT.stroke_width(2))
                .axis_style(color::GREY.stroke_width(2));
            if k == 0 {
                mesh.y_desc("share of core time");
            }
            mesh.draw()?;
            let parts: [Part; 3] = [
                ("useful", color::BLUE, |p| p.useful),
                ("switching", color::VERMILLION, |p| p.switching),
                ("idle", color::LIGHT, |p| p.idle),
            ];
            let mut base = vec![0.0; mine.len()];
            for (name, c, get) in parts {
                let rects: Vec<Rectangle<(f64, f64)>> = mine
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let lo = base[i];
                        base[i] += get(p) * 100.0;
                        Rectangle::new(
                            [(i as f64 + 0.15, lo), (i as f64 + 0.85, base[i])],
                            c.filled(),
                        )
                    })
                    .collect();
                chart
                    .draw_series(rects)?
                    .label(name)
                    .legend(move |(lx, ly)| {
                        Rectangle::new([(lx, ly - 12), (lx + 32, ly + 12)], c.filled())
                    });
            }
            chart.draw_series(mine.iter().enumerate().map(|(i, p)| {
                Text::new(
                    format!("{}%", sig(p.switching * 100.0, 2)),
                    (i as f64 + 0.5, 101.0),
                    text_at(size::NOTE, color::VERMILLION, HPos::Center, VPos::Bottom),
                )
            }))?;
        }
        Ok(())
    }
}
