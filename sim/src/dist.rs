//! Distributions of step durations, written as scenario files spell them.
//!
//! | text | meaning |
//! |---|---|
//! | `"5ms"` | constant |
//! | `"exp(1ms)"` | exponential with that mean |
//! | `"uniform(1ms, 3ms)"` | uniform between the bounds |
//! | `"lognormal(5ms, 40ms)"` | log-normal with that median and 99th percentile |
//! | `"bimodal(1ms, 50ms, 0.05)"` | the short value, or the long one with probability `p_long` |
//! | `"empirical(file.csv)"` | resampled uniformly from a CSV of durations (one per line, ns or with units) |
//!
//! Samples are integer nanoseconds so that simulated time never accumulates rounding error.

use std::path::{Path, PathBuf};

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use crate::error::DistError;
use crate::unit::parse_duration;

/// The simulator's random number generator: portable and seedable, so a seed means the same
/// run on every platform.
pub type SimRng = rand_pcg::Pcg64;

/// z-score of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// A distribution of durations in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always this many nanoseconds.
    Const(u64),
    /// Exponential with this mean (ns).
    Exp {
        /// Mean in nanoseconds.
        mean: u64,
    },
    /// Uniform on `[lo, hi]` (ns).
    Uniform {
        /// Lower bound in nanoseconds.
        lo: u64,
        /// Upper bound in nanoseconds.
        hi: u64,
    },
    /// Log-normal given by its median and 99th percentile (ns).
    LogNormal {
        /// Median in nanoseconds.
        median: u64,
        /// 99th percentile in nanoseconds.
        p99: u64,
    },
    /// `short` with probability `1 - p_long`, else `long` (ns).
    Bimodal {
        /// The common value in nanoseconds.
        short: u64,
        /// The rare value in nanoseconds.
        long: u64,
        /// Probability of the long value.
        p_long: f64,
    },
    /// Resampled uniformly from these observations (ns), read from `source`.
    Empirical {
        /// The file the samples came from, for messages.
        source: PathBuf,
        /// The observations in nanoseconds; never empty.
        samples: Vec<u64>,
    },
}

impl Dist {
    /// Parses a distribution; `base` is the folder that relative `empirical(...)` paths start from
    /// (the scenario file's folder).
    pub fn parse(text: &str, base: Option<&Path>) -> Result<Dist, DistError> {
        let text = text.trim();
        let Some(open) = text.find('(') else {
            return parse_duration(text)
                .map(Dist::Const)
                .map_err(|e| DistError::Unit(text.to_string(), e));
        };
        let name = text[..open].trim();
        let inner = text[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| DistError::Malformed {
                text: text.to_string(),
            })?;
        let args: Vec<&str> = inner.split(',').map(str::trim).collect();
        let duration =
            |s: &str| parse_duration(s).map_err(|e| DistError::Unit(text.to_string(), e));
        let arity = |n: usize, usage: &'static str| {
            if args.len() == n {
                Ok(())
            } else {
                Err(DistError::Arity {
                    text: text.to_string(),
                    usage,
                })
            }
        };
        let dist = match name {
            "exp" => {
                arity(1, "exp(mean), e.g. exp(1ms)")?;
                Dist::Exp {
                    mean: duration(args[0])?,
                }
            }
            "uniform" => {
                arity(2, "uniform(lo, hi), e.g. uniform(1ms, 3ms)")?;
                let (lo, hi) = (duration(args[0])?, duration(args[1])?);
                if lo > hi {
                    return Err(DistError::Invalid {
                        text: text.to_string(),
                        why: "lo must not exceed hi",
                    });
                }
                Dist::Uniform { lo, hi }
            }
            "lognormal" => {
                arity(2, "lognormal(median, p99), e.g. lognormal(5ms, 40ms)")?;
                let (median, p99) = (duration(args[0])?, duration(args[1])?);
                if median == 0 || p99 < median {
                    return Err(DistError::Invalid {
                        text: text.to_string(),
                        why: "the median must be above zero and the p99 at least the median",
                    });
                }
                Dist::LogNormal { median, p99 }
            }
            "bimodal" => {
                arity(
                    3,
                    "bimodal(short, long, p_long), e.g. bimodal(1ms, 50ms, 0.05)",
                )?;
                let p_long: f64 = args[2].parse().map_err(|_| DistError::Invalid {
                    text: text.to_string(),
                    why: "p_long must be a number",
                })?;
                if !(0.0..=1.0).contains(&p_long) {
                    return Err(DistError::Invalid {
                        text: text.to_string(),
                        why: "p_long must be between 0 and 1",
                    });
                }
                Dist::Bimodal {
                    short: duration(args[0])?,
                    long: duration(args[1])?,
                    p_long,
                }
            }
            "empirical" => {
                arity(1, "empirical(file.csv)")?;
                let name = args[0].trim_matches(|c| c == '"' || c == '\'');
                let path = match base {
                    Some(base) => base.join(name),
                    None => PathBuf::from(name),
                };
                let samples = read_samples(&path)?;
                Dist::Empirical {
                    source: path,
                    samples,
                }
            }
            _ => {
                return Err(DistError::UnknownName {
                    text: text.to_string(),
                    name: name.to_string(),
                });
            }
        };
        Ok(dist)
    }

    /// Draws one duration in nanoseconds.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        match self {
            Dist::Const(ns) => *ns,
            Dist::Exp { mean } => {
                // Inverse transform; 1 - u lies in (0, 1], so the logarithm is finite.
                let u: f64 = rng.random();
                // Non-negative, so adding one half and truncating rounds to nearest without a
                // call into libm (this is the hottest sample in the benchmark).
                (-(*mean as f64) * (1.0 - u).ln() + 0.5) as u64
            }
            Dist::Uniform { lo, hi } => rng.random_range(*lo..=*hi),
            Dist::LogNormal { median, p99 } => {
                let (mu, sigma) = lognormal_params(*median, *p99);
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp().round() as u64
            }
            Dist::Bimodal {
                short,
                long,
                p_long,
            } => {
                if rng.random::<f64>() < *p_long {
                    *long
                } else {
                    *short
                }
            }
            Dist::Empirical { samples, .. } => samples[rng.random_range(0..samples.len())],
        }
    }

    /// The distribution's mean in nanoseconds (exact, not sampled).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Const(ns) => *ns as f64,
            Dist::Exp { mean } => *mean as f64,
            Dist::Uniform { lo, hi } => (*lo as f64 + *hi as f64) / 2.0,
            Dist::LogNormal { median, p99 } => {
                let (mu, sigma) = lognormal_params(*median, *p99);
                (mu + sigma * sigma / 2.0).exp()
            }
            Dist::Bimodal {
                short,
                long,
                p_long,
            } => *short as f64 * (1.0 - p_long) + *long as f64 * p_long,
            Dist::Empirical { samples, .. } => {
                samples.iter().map(|&s| s as f64).sum::<f64>() / samples.len() as f64
            }
        }
    }

    /// True when every sample is zero, so the step can be skipped.
    pub fn is_zero(&self) -> bool {
        match self {
            Dist::Const(ns) => *ns == 0,
            Dist::Exp { mean } => *mean == 0,
            Dist::Uniform { hi, .. } => *hi == 0,
            Dist::LogNormal { .. } => false,
            Dist::Bimodal { short, long, .. } => *short == 0 && *long == 0,
            Dist::Empirical { samples, .. } => samples.iter().all(|&s| s == 0),
        }
    }
}

fn lognormal_params(median: u64, p99: u64) -> (f64, f64) {
    let mu = (median as f64).ln();
    let sigma = ((p99 as f64).ln() - mu) / Z99;
    (mu, sigma)
}

fn read_samples(path: &Path) -> Result<Vec<u64>, DistError> {
    let text = crate::input::read_text(
        path,
        crate::input::DATA_CAP,
        "samples",
        "a gigabyte of samples is more than a distribution needs; keep a random subset",
    )
    .map_err(DistError::Input)?;
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let field = line.split(',').next().unwrap_or("").trim();
        if field.is_empty() || field.starts_with('#') {
            continue;
        }
        let value = match field.parse::<u64>() {
            Ok(ns) if ns > crate::time::MAX_DURATION_NS => {
                return Err(DistError::BadSample {
                    path: path.to_path_buf(),
                    line: index + 1,
                    text: field.to_string(),
                    why: "longer than 365 days, the longest a scenario may configure".into(),
                });
            }
            Ok(ns) => ns,
            // A header line such as "duration" is allowed on the first line only, and only
            // when it is a word: "-3ms", "1.5" or "0x10" there is a bad sample, not a header.
            Err(_)
                if index == 0
                    && field
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    && field.parse::<f64>().is_err() =>
            {
                continue;
            }
            Err(_) => parse_duration(field).map_err(|e| DistError::BadSample {
                path: path.to_path_buf(),
                line: index + 1,
                text: field.to_string(),
                why: e.to_string(),
            })?,
        };
        samples.push(value);
    }
    if samples.is_empty() {
        return Err(DistError::EmptySamples {
            path: path.to_path_buf(),
        });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sample_mean(dist: &Dist, n: usize) -> f64 {
        let mut rng = SimRng::seed_from_u64(1);
        (0..n).map(|_| dist.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(Dist::parse("5ms", None).unwrap(), Dist::Const(5_000_000));
        assert_eq!(
            Dist::parse("exp(1ms)", None).unwrap(),
            Dist::Exp { mean: 1_000_000 }
        );
        assert_eq!(
            Dist::parse("uniform(1ms, 3ms)", None).unwrap(),
            Dist::Uniform {
                lo: 1_000_000,
                hi: 3_000_000
            }
        );
        assert_eq!(
            Dist::parse("lognormal(5ms, 40ms)", None).unwrap(),
            Dist::LogNormal {
                median: 5_000_000,
                p99: 40_000_000
            }
        );
        assert_eq!(
            Dist::parse("bimodal(1ms, 50ms, 0.05)", None).unwrap(),
            Dist::Bimodal {
                short: 1_000_000,
                long: 50_000_000,
                p_long: 0.05
            }
        );
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        assert!(matches!(
            Dist::parse("gamma(1ms)", None),
            Err(DistError::UnknownName { .. })
        ));
        assert!(matches!(
            Dist::parse("exp(1ms, 2ms)", None),
            Err(DistError::Arity { .. })
        ));
        assert!(matches!(
            Dist::parse("exp(1ms", None),
            Err(DistError::Malformed { .. })
        ));
        assert!(matches!(
            Dist::parse("uniform(3ms, 1ms)", None),
            Err(DistError::Invalid { .. })
        ));
        assert!(matches!(
            Dist::parse("bimodal(1ms, 2ms, 2)", None),
            Err(DistError::Invalid { .. })
        ));
        assert!(matches!(
            Dist::parse("empirical(/no/such/file.csv)", None),
            Err(DistError::Input(_))
        ));
    }

    #[test]
    fn sample_means_match_the_closed_form() {
        // 200k samples: the standard error of the mean is below 0.3 % of the mean for these
        // shapes, so 2 % is a loose but still meaningful bound.
        for text in [
            "exp(1ms)",
            "uniform(1ms, 3ms)",
            "lognormal(5ms, 40ms)",
            "bimodal(1ms, 50ms, 0.05)",
        ] {
            let dist = Dist::parse(text, None).unwrap();
            let (got, want) = (sample_mean(&dist, 200_000), dist.mean());
            assert!(
                (got - want).abs() / want < 0.02,
                "{text}: sampled {got}, closed form {want}"
            );
        }
    }

    #[test]
    fn lognormal_hits_its_stated_p99() {
        let dist = Dist::parse("lognormal(5ms, 40ms)", None).unwrap();
        let mut rng = SimRng::seed_from_u64(3);
        let mut xs: Vec<u64> = (0..100_000).map(|_| dist.sample(&mut rng)).collect();
        xs.sort_unstable();
        let (p50, p99) = (xs[50_000] as f64, xs[99_000] as f64);
        assert!((p50 / 5e6 - 1.0).abs() < 0.03, "p50 {p50}");
        assert!((p99 / 40e6 - 1.0).abs() < 0.05, "p99 {p99}");
    }

    #[test]
    fn empirical_reads_a_file_with_header_and_units() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("d.csv"),
            "duration\n1000\n2us\n# comment\n3000\n",
        )
        .unwrap();
        let dist = Dist::parse("empirical(d.csv)", Some(dir.path())).unwrap();
        assert_eq!(dist.mean(), 2000.0);
        std::fs::write(dir.path().join("bad.csv"), "1000\nlots\n").unwrap();
        assert!(matches!(
            Dist::parse("empirical(bad.csv)", Some(dir.path())),
            Err(DistError::BadSample { line: 2, .. })
        ));
    }
}
