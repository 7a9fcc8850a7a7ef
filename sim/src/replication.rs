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
/// order.
pub(crate) fn run(
    config: &RunConfig,
    replications: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Tally, SimError> {
    let n = replications.max(1);
    let done: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let runs: Vec<RunTally> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut cfg = config.clone();
            cfg.seed = replication_seed(config.seed, i);
            let report_progress = |f: f64| {
                done[i as usize].store(f.to_bits(), Ordering::Relaxed);
                let total: f64 = done
                    .iter()
                    .map(|d| f64::from_bits(d.load(Ordering::Relaxed)))
                    .sum();
                progress(total / n as f64);
            };
            model::run(&cfg, &report_progress)
        })
        .collect::<Result<_, _>>()?;
    let mut runs = runs.into_iter().map(Tally::from);
    let mut tally = runs
        .next()
        .unwrap_or_else(|| unreachable!("at least one replication ran"));
    for t in runs {
        tally.merge(t);
    }
    Ok(tally)
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
