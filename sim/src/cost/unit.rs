//! How a cost key's value is written in a file and what it counts.

use super::{interruption, latency};
use crate::unit::{format_duration, format_size, parse_duration, parse_size};

/// How a key's value is written in a file and what it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds, written as a string with a time unit (`"1.5us"`).
    Duration,
    /// Bytes, written as a string with a size unit (`"20KiB"`).
    Size,
    /// A curve of `[bytes, ns]` points, written as an array of two-number arrays
    /// (`[[4096, 1.7], [1048576, 8.7]]`): [`LineLatency`].
    Curve,
    /// Bins of `[ns, per_second]`, written as an array of two-number arrays
    /// (`[[2500, 340.0], [31000, 270.0]]`): [`Interruptions`].
    Bins,
}

impl Unit {
    /// The word SCENARIOS.md and error messages use.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Duration => "duration",
            Unit::Size => "size",
            Unit::Curve => "curve",
            Unit::Bins => "bins",
        }
    }

    /// Reads a number written with this unit; the error says what to write instead (a curve
    /// is not a string: see [`CostKey::read`]).
    pub fn parse(self, text: &str) -> Result<u64, String> {
        match self {
            Unit::Duration => parse_duration(text).map_err(|e| e.to_string()),
            Unit::Size => parse_size(text).map_err(|e| e.to_string()),
            Unit::Curve => Err(format!(
                "a curve is a list of [bytes, ns] points, not a string; write e.g. {}",
                latency::EXAMPLE
            )),
            Unit::Bins => Err(format!(
                "interruptions are a list of [ns, per_second] bins, not a string; write e.g. {}",
                interruption::EXAMPLE
            )),
        }
    }

    /// Writes a number the way [`Unit::parse`] reads it back (a curve has no number: `-`).
    pub fn format(self, value: u64) -> String {
        match self {
            Unit::Duration => format_duration(value),
            Unit::Size => format_size(value),
            Unit::Curve | Unit::Bins => "-".to_string(),
        }
    }

    /// An example value, for messages.
    pub fn example(self) -> &'static str {
        match self {
            Unit::Duration => "\"1.5us\"",
            Unit::Size => "\"20KiB\"",
            Unit::Curve => latency::EXAMPLE,
            Unit::Bins => interruption::EXAMPLE,
        }
    }
}
