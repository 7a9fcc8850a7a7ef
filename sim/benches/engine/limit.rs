//! The limit: a hand-specialised M/M/c loop that simulates exactly what the engine's
//! `mm4_cooperative` case simulates (Poisson arrivals, exponential service, c servers sharing
//! one FIFO queue, the first tenth of completions left out) and nothing else: one binary heap of
//! completion times, one FIFO of waiting arrivals, one PCG stream, `rand_distr`'s `Exp`.
//! It is what this machine can do for the model, so `sim / limit` says how much of that the
//! general engine keeps while also recording HDR histograms, the CPU split and switches.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use sim::dist::SimRng;

/// One M/M/c run's result.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Completions counted (after the warm-up).
    pub counted: u64,
    /// Mean response time of the counted completions, ns.
    pub mean_response_ns: f64,
}

/// Simulates `customers` arrivals at `rate_per_s` to `servers` servers of mean service
/// `service_ns`, leaving out the first `warmup` completions.
pub fn mmc(
    seed: u64,
    customers: u64,
    warmup: u64,
    rate_per_s: f64,
    servers: usize,
    service_ns: f64,
) -> Outcome {
    let mut rng = SimRng::seed_from_u64(seed);
    let inter = Exp::new(rate_per_s / 1e9).expect("a positive rate");
    let service = Exp::new(1.0 / service_ns).expect("a positive service time");
    // Integer nanoseconds, as the engine keeps time.
    let mut next_arrival: u64 = inter.sample(&mut rng) as u64;
    let mut arrived = 0u64;
    // (completion time, arrival time) of the customers in service.
    let mut busy: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(servers);
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let (mut done, mut counted, mut sum) = (0u64, 0u64, 0u128);
    loop {
        let completion = busy.peek().map(|Reverse((t, _))| *t);
        match completion {
            // Completions first at equal times, as the engine's (time, seq) order would have it
            // for a completion scheduled before the arrival.
            Some(t) if arrived == customers || t <= next_arrival => {
                let Some(Reverse((now, arrival))) = busy.pop() else {
                    break;
                };
                done += 1;
                if done > warmup {
                    counted += 1;
                    sum += u128::from(now - arrival);
                }
                if let Some(a) = waiting.pop_front() {
                    busy.push(Reverse((now + service.sample(&mut rng) as u64, a)));
                }
            }
            _ if arrived < customers => {
                let now = next_arrival;
                arrived += 1;
                if busy.len() < servers {
                    busy.push(Reverse((now + service.sample(&mut rng) as u64, now)));
                } else {
                    waiting.push_back(now);
                }
                next_arrival = now + inter.sample(&mut rng) as u64;
            }
            _ => break,
        }
    }
    Outcome {
        counted,
        mean_response_ns: if counted == 0 {
            0.0
        } else {
            sum as f64 / counted as f64
        },
    }
}

/// M/M/c mean response time from Erlang C, ns.
pub fn erlang_c_response_ns(rate_per_s: f64, servers: usize, service_ns: f64) -> f64 {
    let mu = 1e9 / service_ns;
    let a = rate_per_s / mu;
    let rho = a / servers as f64;
    // Sum of a^k/k! for k < c, and the c-th term, built incrementally.
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..servers {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let top = term / (1.0 - rho);
    let wait_probability = top / (sum + top);
    (wait_probability / (servers as f64 * mu - rate_per_s) + 1.0 / mu) * 1e9
}
