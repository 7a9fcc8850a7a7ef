//! switchcost's reports: the talk's charts, drawn from this machine's microbenchmarks and the
//! simulator's replays and sweeps, and a page that presents them.
//!
//! ```text
//!   micro (costs) ──┐
//!                   ├─> gather ──> chart data structs ──> chart::write ──> SVG + PNG + CSV ─┐
//!   sim (replays,   │                                                                       ├─> index.html
//!        sweeps) ───┘                                                                       │
//! ```
//! Charts take plain data and a directory; they never run simulator logic themselves.
#![warn(missing_docs)]

pub mod chart;
pub mod cli;
pub mod error;
pub mod gather;
pub mod job;
pub mod number;
pub mod page;
pub mod plot;
pub mod progress;
pub mod table;
pub mod theme;

pub use chart::{Chart, Written};
pub use error::{ChartError, ReportError};
