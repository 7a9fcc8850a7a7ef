//! The charts of the talk, one module each, and how any of them becomes files.
//!
//! A chart is a plain data struct (built by [`crate::gather`] from measurements and simulator
//! reports, or by hand in tests) that knows its message, its table and how to draw itself. It
//! never runs the simulator. [`write`] turns it into `STEM.svg`, `STEM.png` and `STEM.csv`.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::ChartError;
use crate::plot::text_at;
use crate::table::Table;
use crate::theme::{self, SIZE, color, size};

pub mod connections;
pub mod cores;
pub mod costs;
pub mod cpu;
pub mod fastapi;
pub mod indirect;
pub mod pricing;
pub mod recipe;
pub mod slowdown;
pub mod switches;
pub mod testbed;
pub mod websockets;

/// One slide-ready chart.
pub trait Chart {
    /// File stem, which also orders the charts on the page: `01-costs`.
    fn stem(&self) -> &'static str;
    /// The chart's one message, drawn as its title; computed from the data it shows.
    fn title(&self) -> String;
    /// The line under the title: what is plotted, from where.
    fn subtitle(&self) -> String;
    /// One line for the page under the chart.
    fn caption(&self) -> String;
    /// The numbers the chart plots, in the units of its axes.
    fn table(&self) -> Table;
    /// Draws the chart's body (below the title, above the footer).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
}

/// The files one chart became, and what the page says about it.
#[derive(Debug, Clone)]
pub struct Written {
    /// File stem.
    pub stem: String,
    /// Title (the message).
    pub title: String,
    /// One-line caption.
    pub caption: String,
    /// The data table.
    pub table: Table,
    /// The SVG, with the font inside.
    pub svg: PathBuf,
    /// The 1920x1080 PNG.
    pub png: PathBuf,
    /// The CSV of `table`.
    pub csv: PathBuf,
}

/// Draws title, subtitle and footer on a white canvas and the chart in between.
fn compose<C: Chart, DB: DrawingBackend>(
    chart: &C,
    root: &DrawingArea<DB, Shift>,
    footer: &str,
) -> Result<(), ChartError> {
    root.fill(&color::WHITE)?;
    let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
    // A long message shrinks to fit the width rather than run off the slide.
    let title = chart.title();
    let mut title_px = size::TITLE;
    while title_px > 30 {
        let style = text_at(title_px, color::BLACK, HPos::Left, VPos::Top);
        match root.estimate_text_size(&title, &style) {
            Ok((tw, _)) if tw as i32 > w - 96 => title_px -= 2,
            _ => break,
        }
    }
    root.draw(&Text::new(
        title,
        (48, 26),
        text_at(title_px, color::BLACK, HPos::Left, VPos::Top),
    ))?;
    root.draw(&Text::new(
        chart.subtitle(),
        (50, 92),
        text_at(size::SUBTITLE, color::GREY, HPos::Left, VPos::Top),
    ))?;
    root.draw(&Text::new(
        footer.to_string(),
        (w - 30, h - 14),
        text_at(size::FOOTER, color::GREY, HPos::Right, VPos::Bottom),
    ))?;
    let body = root.margin(140, 44, 20, 30);
    chart.draw(&body)
}

/// Writes `chart` as SVG, PNG and CSV into `dir`, with `footer` (machine, date) on the image.
pub fn write<C: Chart>(chart: &C, dir: &Path, footer: &str) -> Result<Written, ChartError> {
    theme::install_font()?;
    let stem = chart.stem();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let csv = dir.join(format!("{stem}.csv"));

    let mut markup = String::new();
    {
        let root = SVGBackend::with_string(&mut markup, SIZE).into_drawing_area();
        compose(chart, &root, footer)?;
        root.present()?;
    }
    let markup = embed_font(&markup);
    std::fs::write(&svg, markup).map_err(|error| ChartError::Io {
        path: svg.clone(),
        error,
    })?;

    write_png(chart, &png, footer)?;

    let table = chart.table();
    table.write_csv(&csv)?;
    Ok(Written {
        stem: stem.to_string(),
        title: chart.title(),
        caption: chart.caption(),
        table,
        svg,
        png,
        csv,
    })
}

/// Writes only the PNG (the gallery's refresh).
pub fn write_png<C: Chart>(chart: &C, path: &Path, footer: &str) -> Result<(), ChartError> {
    theme::install_font()?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    compose(chart, &root, footer)?;
    root.present()?;
    Ok(())
}

/// Puts the `@font-face` rule right after the opening `<svg ...>` tag.
fn embed_font(markup: &str) -> String {
    match markup
        .find("<svg")
        .and_then(|s| markup[s..].find('>').map(|e| s + e + 1))
    {
        Some(at) => format!(
            "{}\n{}{}",
            &markup[..at],
            theme::svg_font_style(),
            &markup[at..]
        ),
        None => markup.to_string(),
    }
}

/// The largest finite value of `values`, or `None`.
pub(crate) fn max_of(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |m, v| Some(m.map_or(v, |m: f64| m.max(v))))
}

/// Distinct values of `key` over `items`, in order of first appearance.
pub(crate) fn distinct<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for it in items {
        let k = key(it);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}
