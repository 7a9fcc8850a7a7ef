//! The figures a measured point and its prediction share, key for key, and the error of one
//! against the other.

/// What one point showed (measured) or was predicted to show (simulated). Every key is the
/// same in `measured` and `predicted`; a figure that could not be had is `null`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// Completed requests per second over the measured window.
    pub rps: Option<f64>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 90th percentile latency, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile latency, ms.
    pub p999_ms: Option<f64>,
    /// Server CPU time (user + system) per completed request, ms.
    pub cpu_ms_per_request: Option<f64>,
    /// Measured: voluntary + involuntary context switches of the server's threads per request
    /// (from /proc). Predicted: the simulator's thread switches per request.
    pub context_switches_per_request: Option<f64>,
    /// Peak resident memory of the server's processes, bytes.
    pub rss_bytes: Option<f64>,
    /// Measured: entries into a halting cpuidle state (all but `POLL`) of the server's cores
    /// per request, from `/sys/devices/system/cpu/cpuN/cpuidle`. Predicted: the simulator's
    /// exits from a halted idle per request (`sim`'s `halts_per_request`). Absent from files
    /// written before 2026-12-07 18:00.
    #[serde(default)]
    pub halts_per_request: Option<f64>,
    /// Measured: local timer interrupts of the server's cores per request (`/proc/interrupts`,
    /// `LOC`: the scheduler tick's and every timed wait's). Predicted: the simulator's timer
    /// interrupts per request (`sim`'s `timer_interrupts_per_request`) plus the tick's, `hz`
    /// per second of predicted server CPU. Absent from files written before 2026-12-08.
    #[serde(default)]
    pub timer_interrupts_per_request: Option<f64>,
}

impl Figures {
    /// The error of `self` (a prediction) against `measured`, in % of the measurement, key by
    /// key; `null` where either side is missing or the measurement is zero.
    pub fn error_percent(&self, measured: &Figures) -> Figures {
        fn err(predicted: Option<f64>, measured: Option<f64>) -> Option<f64> {
            match (predicted, measured) {
                (Some(p), Some(m)) if m != 0.0 && p.is_finite() && m.is_finite() => {
                    Some((p - m) / m * 100.0)
                }
                _ => None,
            }
        }
        Figures {
            rps: err(self.rps, measured.rps),
            p50_ms: err(self.p50_ms, measured.p50_ms),
            p90_ms: err(self.p90_ms, measured.p90_ms),
            p99_ms: err(self.p99_ms, measured.p99_ms),
            p999_ms: err(self.p999_ms, measured.p999_ms),
            cpu_ms_per_request: err(self.cpu_ms_per_request, measured.cpu_ms_per_request),
            context_switches_per_request: err(
                self.context_switches_per_request,
                measured.context_switches_per_request,
            ),
            rss_bytes: err(self.rss_bytes, measured.rss_bytes),
            halts_per_request: err(self.halts_per_request, measured.halts_per_request),
            timer_interrupts_per_request: err(
                self.timer_interrupts_per_request,
                measured.timer_interrupts_per_request,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_relative_to_the_measurement() {
        let measured = Figures {
            rps: Some(1000.0),
            p50_ms: Some(0.0),
            ..Figures::default()
        };
        let predicted = Figures {
            rps: Some(1150.0),
            p50_ms: Some(1.0),
            ..Figures::default()
        };
        let e = predicted.error_percent(&measured);
        assert!((e.rps.unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(e.p50_ms, None);
        assert_eq!(e.p99_ms, None);
    }
}
