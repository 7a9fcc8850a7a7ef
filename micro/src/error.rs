//! The errors the measurements can meet, each saying what to change.

use std::path::PathBuf;

/// Everything that can stop a measurement or a read of earlier results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call the benchmark depends on failed.
    #[error(
        "{what} failed: {source} (check ulimits and free memory, or run with a smaller budget)"
    )]
    Io {
        /// The operation that failed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused to pin a thread to a core.
    #[error(
        "could not pin a thread to core {core}; run without a restricting cpuset (taskset/cgroup) or on a machine that allows affinity"
    )]
    Pin {
        /// The core id that was asked for.
        core: usize,
    },
    /// The measurement needs more cores than this process may use.
    #[error("this needs {needed} cores but only {available} are available to the process")]
    NotEnoughCores {
        /// Cores the measurement needs.
        needed: usize,
        /// Cores the process may run on.
        available: usize,
    },
    /// A benchmark thread or coroutine panicked.
    #[error("a {what} panicked during the measurement; rerun, and report it if it repeats")]
    Panicked {
        /// Which unit panicked.
        what: &'static str,
    },
    /// A file that should hold a number does not.
    #[error("{path}: {reason}; delete it and rerun the benchmark that writes it")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A budget that is neither a preset nor a duration.
    #[error(
        "budget \"{text}\" is not understood; use standard, quick, tiny or a duration such as 30s, 500ms or 2m (at most 1 hour)"
    )]
    Budget {
        /// What was given.
        text: String,
    },
    /// Reading a file failed.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A measurement ended without a single sample.
    #[error("{what} collected no samples; rerun with a larger --budget")]
    NoSamples {
        /// The measurement.
        what: &'static str,
    },
    /// Other processes disturbed a measurement so much that it measured something else.
    #[error("{what}: {reason}; rerun on a quiet machine")]
    Disturbed {
        /// The measurement.
        what: &'static str,
        /// What went wrong.
        reason: &'static str,
    },
    /// A working-set buffer could not be allocated.
    #[error(
        "could not allocate a {bytes}-byte working set; free memory or run with a smaller budget"
    )]
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
}

impl Error {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { what, source }
    }
}
