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
    // The OS error is part of the message and deliberately not a `#[source]`: `{:#}` would
    // print it a second time.
    #[error(
        "could not write {path}: {error}; check that the output directory exists and is writable"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The CSV writer failed.
    #[error("could not write the CSV {path}: {error}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        error: csv::Error,
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
    /// An output file or directory could not be written while the job ran.
    #[error("could not write {path}: {error}; pass --out with a writable directory")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why (part of the message, not a `#[source]`, so it prints once).
        error: std::io::Error,
    },
    /// An output directory given on the command line cannot be used; found before any work.
    #[error("{flag} {path}: {problem}")]
    Output {
        /// The flag that named it (`--out`, `--gallery-dir`).
        flag: &'static str,
        /// The directory.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The `--costs` file cannot be used; found before any work.
    #[error("--costs: {0}")]
    CostsFile(String),
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

impl ReportError {
    /// The exit status: 2 for something the user must fix before anything runs (the `--costs`
    /// file, an output directory), 1 for a job that failed while it ran.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Output { .. } | ReportError::CostsFile(_) => 2,
            _ => 1,
        }
    }
}
