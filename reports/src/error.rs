//! What can go wrong, in words that say what to change.

use std::path::PathBuf;

/// Failure to draw or write one chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// plotters refused to draw (a backend or layout problem).
    #[error("could not draw the chart: {0}")]
    Draw(String),
    /// The embedded font did not load.
    #[error("{0}; the file under reports/assets/ may be damaged: restore it from git")]
    Font(String),
    /// A file could not be written.
    #[error(
        "could not write {path}: {source}; check that the output directory exists and is writable"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CSV writer failed.
    #[error("could not write the CSV {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// The data handed to a chart cannot be plotted.
    #[error("chart {chart}: {problem}")]
    Data {
        /// The chart's file stem.
        chart: &'static str,
        /// What is wrong with its data.
        problem: String,
    },
}

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for ChartError
{
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

/// Failure of the whole report job.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A chart could not be drawn or written.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// An output file or directory could not be written.
    #[error("could not write {path}: {source}; pass --out with a writable directory")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The machine's costs could not be read or measured.
    #[error("machine costs: {0}")]
    Costs(String),
    /// A simulation the charts need failed.
    #[error("simulating {what}: {problem}")]
    Sim {
        /// Which scenario or sweep.
        what: String,
        /// The simulator's message.
        problem: String,
    },
}
