//! What each request asks of an in-tree server: the same step list `sim` uses (`cpu` bursts
//! and `sleep` waits that need no core, in order), plus a per-connection working set walked by
//! every cpu step.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sim::unit::{format_duration, format_size, parse_duration, parse_size};

/// One step of a request's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A fixed amount of work, calibrated at start-up (working set warm) to take this long.
    Cpu(Duration),
    /// A wait that needs no core (a DB call): `thread::sleep` on threads and pools, the
    /// runtime's timer on `may` and tokio.
    Sleep(Duration),
}

/// The handler's whole job: steps in order and the working set each connection walks.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Workload {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Bytes of a buffer allocated once per connection and walked (in an order the prefetcher
    /// can't follow) by every cpu step of that connection's requests; 0 for none.
    pub working_set: u64,
}

impl Workload {
    /// Total cpu time the steps ask for (as calibrated, working set warm).
    pub fn cpu(&self) -> Duration {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Cpu(d) => *d,
                Step::Sleep(_) => Duration::ZERO,
            })
            .sum()
    }

    /// Total time the steps wait without a core.
    pub fn sleep(&self) -> Duration {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Sleep(d) => *d,
                Step::Cpu(_) => Duration::ZERO,
            })
            .sum()
    }

    /// From the command line's `--steps` (which wins) or `--cpu`/`--sleep` (cpu first), and
    /// `--working-set`. Errors say what to write.
    pub fn from_flags(
        steps: Option<&str>,
        cpu: Option<&str>,
        sleep: Option<&str>,
        working_set: Option<&str>,
    ) -> Result<Workload, String> {
        let mut workload = match steps {
            Some(list) => list.parse::<Workload>()?,
            None => {
                let mut w = Workload::default();
                if let Some(cpu) = cpu {
                    w.steps.push(Step::Cpu(duration("--cpu", cpu)?));
                }
                if let Some(sleep) = sleep {
                    w.steps.push(Step::Sleep(duration("--sleep", sleep)?));
                }
                w
            }
        };
        if let Some(ws) = working_set {
            workload.working_set = parse_size(ws)
                .map_err(|e| format!("--working-set `{ws}`: {e}; write e.g. 256KiB"))?;
        }
        Ok(workload)
    }
}

fn duration(what: &str, text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .map(Duration::from_nanos)
        .map_err(|e| format!("{what} `{text}`: {e}; write e.g. 200us or 5ms"))
}

impl FromStr for Workload {
    type Err = String;

    /// `cpu=100us,sleep=2ms,cpu=50us` (an empty list is a server that answers at once).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut steps = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("--steps: `{part}` is not key=value; write e.g. cpu=100us,sleep=2ms")
            })?;
            steps.push(match key.trim() {
                "cpu" => Step::Cpu(duration("--steps cpu", value.trim())?),
                "sleep" => Step::Sleep(duration("--steps sleep", value.trim())?),
                other => {
                    return Err(format!(
                        "--steps: unknown step `{other}`; steps are cpu=DURATION and \
                         sleep=DURATION"
                    ));
                }
            });
        }
        Ok(Workload {
            steps,
            working_set: 0,
        })
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|step| match step {
                Step::Cpu(d) => format!("cpu={}", format_duration(d.as_nanos() as u64)),
                Step::Sleep(d) => format!("sleep={}", format_duration(d.as_nanos() as u64)),
            })
            .collect();
        f.write_str(&steps.join(","))?;
        if self.working_set > 0 {
            write!(f, " ws={}", format_size(self.working_set))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_in_order() {
        let w: Workload = "cpu=100us,sleep=2ms,cpu=50us".parse().unwrap();
        assert_eq!(
            w.steps,
            vec![
                Step::Cpu(Duration::from_micros(100)),
                Step::Sleep(Duration::from_millis(2)),
                Step::Cpu(Duration::from_micros(50)),
            ]
        );
        assert_eq!(w.cpu(), Duration::from_micros(150));
        assert_eq!(w.sleep(), Duration::from_millis(2));
    }

    #[test]
    fn flags_build_cpu_then_sleep() {
        let w = Workload::from_flags(None, Some("200us"), Some("5ms"), Some("1MiB")).unwrap();
        assert_eq!(w.steps[0], Step::Cpu(Duration::from_micros(200)));
        assert_eq!(w.working_set, 1 << 20);
    }

    #[test]
    fn bad_steps_say_what_to_write() {
        assert!("cpu".parse::<Workload>().unwrap_err().contains("key=value"));
        assert!(
            "disk=1ms"
                .parse::<Workload>()
                .unwrap_err()
                .contains("unknown step")
        );
        assert!(
            "cpu=fast"
                .parse::<Workload>()
                .unwrap_err()
                .contains("200us")
        );
    }
}
