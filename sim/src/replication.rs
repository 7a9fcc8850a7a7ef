//! Independent replications of one run, in parallel with rayon, combined into one report.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::config::RunConfig;
use crate::error::SimError;
use crate::model;
use crate::tally::{RunTally, Tally};

/// The seed of replication `index`: the config's own seed for the first, so that one
/// replication is exactly `simulate`; for the others, SplitMix64's output function applied to
/// `seed + index x 0x9E3779B97F4A7C15` (the golden-ratio increment SplitMix64 steps by), so
/// replication `i` of seed `s` is the single run `sim run --seed <replication_seed(s, i)>`.
pub fn replication_seed(seed: u64, index: u64) -> u64 {
    if index == 0 {
        return seed;
    }
    let mut z = seed.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `replications` copies with derived seeds and merges their tallies, in replication
/// order. They run a batch at a time (a few per thread), each batch merged before the next
/// starts, so memory does not grow with the replication count.
pub(crate) fn run(
    config: &RunConfig,
    replications: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Tally, SimError> {
    let n = replications.max(1);
    let batch = (rayon::current_num_threads() as u64 * 2).max(1);
    let done: Vec<AtomicU64> = (0..batch).map(|_| AtomicU64::new(0)).collect();
    let mut tally: Option<Tally> = None;
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        for d in &done {
            d.store(0f64.to_bits(), Ordering::Relaxed);
        }
        let runs: Vec<RunTally> = (start..end)
            .into_par_iter()
            .map(|i| {
                let mut cfg = config.clone();
                cfg.seed = replication_seed(config.seed, i);
                let slot = (i - start) as usize;
                let report_progress = |f: f64| {
                    done[slot].store(f.to_bits(), Ordering::Relaxed);
                    let current: f64 = done
                        .iter()
                        .map(|d| f64::from_bits(d.load(Ordering::Relaxed)))
                        .sum();
                    progress((start as f64 + current) / n as f64);
                };
                model::run(&cfg, &report_progress)
            })
            .collect::<Result<_, _>>()?;
        for run in runs {
            match tally.as_mut() {
                Some(t) => t.merge(Tally::from(run)),
                None => tally = Some(Tally::from(run)),
            }
        }
        start = end;
    }
    Ok(tally.unwrap_or_else(|| unreachable!("at least one replication ran")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_distinct_and_the_first_is_the_configs() {
        assert_eq!(replication_seed(7, 0), 7);
        let seeds: std::collections::HashSet<u64> =
            (0..1000).map(|i| replication_seed(7, i)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}
