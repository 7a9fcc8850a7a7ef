//! How long `calibrate` may take ([`Budget`]) and how it shares that time out.

use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

/// How long [`calibrate`] may take and how many units the memory fits create.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub(super) total: Duration,
    pub(super) threads: usize,
    pub(super) coroutines: usize,
    pub(super) tasks: usize,
}

/// Timed measurements that share the budget (memory fits take the rest).
const TIMED_MEASUREMENTS: u32 = 12;
/// Share of the budget for timed measurements; the memory fits are sized to fit the rest.
const TIMED_SHARE: f64 = 0.85;

impl Budget {
    /// About 30 s: the default, 10k threads, 20k coroutines, 200k tasks.
    ///
    /// Coroutines stop at 20k because each may stack is its own mapping plus a guard page and
    /// Linux caps a process at about 65k mappings (`vm.max_map_count`).
    pub fn standard() -> Budget {
        Budget {
            total: Duration::from_secs(30),
            threads: 10_000,
            coroutines: 20_000,
            tasks: 200_000,
        }
    }

    /// About 4 s.
    pub fn quick() -> Budget {
        Budget::new(Duration::from_secs(4))
    }

    /// About 1 s, for tests: numbers are rough.
    pub fn tiny() -> Budget {
        Budget::new(Duration::from_secs(1))
    }

    /// A budget of `total`, with the memory fits scaled down from [`Budget::standard`].
    pub fn new(total: Duration) -> Budget {
        let standard = Budget::standard();
        let scale = (total.as_secs_f64() / standard.total.as_secs_f64()).min(1.0);
        let scaled = |full: usize, floor: usize| ((full as f64 * scale) as usize).max(floor);
        Budget {
            total,
            threads: scaled(standard.threads, 60),
            coroutines: scaled(standard.coroutines, 600),
            tasks: scaled(standard.tasks, 3_000),
        }
    }

    /// The whole budget.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// Time for each timed measurement.
    pub(super) fn slice(&self) -> Duration {
        self.total.mul_f64(TIMED_SHARE) / TIMED_MEASUREMENTS
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::standard()
    }
}

impl FromStr for Budget {
    type Err = Error;

    /// `standard`, `quick`, `tiny`, or a duration such as `30s`, `500ms`, `2m`.
    fn from_str(text: &str) -> Result<Budget, Error> {
        let bad = || Error::Budget {
            text: text.to_string(),
        };
        match text.trim() {
            "standard" => return Ok(Budget::standard()),
            "quick" => return Ok(Budget::quick()),
            "tiny" => return Ok(Budget::tiny()),
            _ => {}
        }
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, suffix) = trimmed.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let seconds = match suffix.trim() {
            "ms" => value / 1e3,
            "s" => value,
            "m" | "min" => value * 60.0,
            _ => return Err(bad()),
        };
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3_600.0) {
            return Err(bad());
        }
        Ok(Budget::new(Duration::from_secs_f64(seconds)))
    }
}
