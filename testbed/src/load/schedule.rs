//! Open-loop arrivals: a Poisson process (exponential gaps) at a fixed mean rate. Each arrival
//! carries its intended send time, from which its latency is measured, so a server that
//! stalls cannot slow the schedule down and hide its queue (coordinated omission).

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64Mcg;

/// The intended send times of one engine's arrivals.
#[derive(Debug)]
pub(crate) struct Arrivals {
    origin: Instant,
    /// Offset of the next arrival from `origin`, ns. Integer, so gaps never accumulate
    /// floating-point drift over millions of arrivals.
    next_ns: u64,
    gap: Exp<f64>,
    rng: Pcg64Mcg,
}

impl Arrivals {
    /// Arrivals at `rate` per second (must be positive and finite) from `origin`.
    pub(crate) fn new(origin: Instant, rate: f64, seed: u64) -> Arrivals {
        // Rate is validated by the caller (LoadSpec::validate); fall back to 1/s rather than
        // panic if a library user passes nonsense.
        let gap = Exp::new(rate * 1e-9).unwrap_or_else(|_| {
            Exp::new(1e-9).expect("Exp takes any positive finite rate, and 1e-9 per ns is one")
        });
        let mut arrivals = Arrivals {
            origin,
            next_ns: 0,
            gap,
            rng: Pcg64Mcg::seed_from_u64(seed),
        };
        arrivals.next_ns = arrivals.draw();
        arrivals
    }

    fn draw(&mut self) -> u64 {
        self.gap.sample(&mut self.rng).round() as u64
    }

    /// The next intended send time, without consuming it.
    pub(crate) fn peek(&self) -> Instant {
        self.origin + Duration::from_nanos(self.next_ns)
    }

    /// Consumes the next arrival and returns its intended send time.
    pub(crate) fn pop(&mut self) -> Instant {
        let at = self.peek();
        self.next_ns += self.draw().max(1);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_gaps_have_the_asked_mean_and_spread() {
        let origin = Instant::now();
        let rate = 5_000.0;
        let mut arrivals = Arrivals::new(origin, rate, 7);
        let n = 100_000;
        let mut last = origin;
        let mut gaps = Vec::with_capacity(n);
        for _ in 0..n {
            let at = arrivals.pop();
            assert!(at >= last, "arrivals go forward in time");
            gaps.push((at - last).as_secs_f64());
            last = at;
        }
        let mean = gaps.iter().sum::<f64>() / n as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64;
        // Mean 1/rate within 1.5 % (≈5 standard errors at n = 100k); exponential gaps have a
        // coefficient of variation of 1 (a fixed-gap schedule would have 0).
        assert!((mean * rate - 1.0).abs() < 0.015, "mean gap {mean}");
        let cv = var.sqrt() / mean;
        assert!((cv - 1.0).abs() < 0.03, "coefficient of variation {cv}");
    }

    #[test]
    fn same_seed_same_schedule() {
        let origin = Instant::now();
        let mut a = Arrivals::new(origin, 100.0, 3);
        let mut b = Arrivals::new(origin, 100.0, 3);
        for _ in 0..100 {
            assert_eq!(a.pop(), b.pop());
        }
    }
}
