//! Errors, each with a message that says what to change.

use std::path::PathBuf;

/// A duration or size that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    /// Not a number followed by a known unit.
    #[error("{what} {text:?} is not a number with a unit; write it like {example}")]
    Malformed {
        /// "duration" or "size".
        what: &'static str,
        /// The offending text.
        text: String,
        /// How to write it.
        example: &'static str,
    },
    /// Below zero.
    #[error("{what} {text:?} is negative; it must be zero or more")]
    Negative {
        /// "duration" or "size".
        what: &'static str,
        /// The offending text.
        text: String,
    },
    /// A duration longer than the simulator takes.
    #[error("duration {text:?} is longer than 365 days, the longest a scenario may configure")]
    TooLong {
        /// The offending text.
        text: String,
    },
    /// Too large to represent.
    #[error("{what} {text:?} is too large")]
    TooLarge {
        /// "duration" or "size".
        what: &'static str,
        /// The offending text.
        text: String,
    },
}

/// A distribution that does not parse or cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// A duration inside the distribution is wrong.
    #[error("in distribution {0:?}: {1}")]
    Unit(String, #[source] UnitError),
    /// Not `name(args)`.
    #[error(
        "distribution {text:?} is malformed; write e.g. \"exp(1ms)\" or a plain duration like \"5ms\""
    )]
    Malformed {
        /// The offending text.
        text: String,
    },
    /// An unknown distribution name.
    #[error(
        "unknown distribution {name:?} in {text:?}; use a duration (\"5ms\"), exp(mean), uniform(lo, hi), lognormal(median, p99), bimodal(short, long, p_long) or empirical(file.csv)"
    )]
    UnknownName {
        /// The offending text.
        text: String,
        /// The name used.
        name: String,
    },
    /// Wrong number of arguments.
    #[error("distribution {text:?} has the wrong number of arguments; write {usage}")]
    Arity {
        /// The offending text.
        text: String,
        /// How to write it.
        usage: &'static str,
    },
    /// Arguments that make no sense together.
    #[error("distribution {text:?}: {why}")]
    Invalid {
        /// The offending text.
        text: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The samples file could not be read.
    #[error("samples file {0}")]
    Input(crate::input::InputError),
    /// A sample that is not a duration.
    #[error("{}:{line}: sample {text:?} is not a duration ({why}); write nanoseconds (\"1500\") or a duration (\"1.5us\")", path.display())]
    BadSample {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The offending text.
        text: String,
        /// Why it failed.
        why: String,
    },
    /// No samples at all.
    #[error("samples file {} holds no durations; write one per line", path.display())]
    EmptySamples {
        /// The file.
        path: PathBuf,
    },
}

/// A run that cannot start or cannot finish.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    /// A parameter is out of range; the message names it and the fix.
    #[error("invalid parameter: {0}")]
    Invalid(String),
    /// The run needed more events than allowed.
    #[error(
        "the run reached its event limit ({events} events, --max-events or max_events) at simulated time {at_seconds:.3}s, before its requests or duration were done; raise --max-events, or lower requests or duration"
    )]
    TooManyEvents {
        /// Events processed.
        events: u64,
        /// Simulated time reached.
        at_seconds: f64,
    },
    /// An event fell past the end of the u64 nanosecond clock (about 584 years): the run's
    /// times added up beyond what it can hold. The keys refuse such times one by one; this is
    /// the engine's own check for sums of them (a closed loop's think times over many requests).
    #[error(
        "the simulated clock overflowed: an event fell past 2^64 ns (about 584 years) after {events} events, at simulated time {at_seconds:.3}s; lower requests, think or step times so the run ends within 100 years"
    )]
    ClockSaturated {
        /// Events processed before it.
        events: u64,
        /// The last simulated time the clock held.
        at_seconds: f64,
    },
}
