//! The `interruptions` cost key's value: how often a core is taken away from whatever it runs,
//! and for how long (timer ticks, interrupts, kernel threads and, in a virtual machine, the host
//! running something else on the vCPU). This is what the HPC literature calls *OS noise*
//! (Petrini, Kerbyson & Pakin, SC 2003; Ferreira, Bridges & Brightwell, SC 2008, who inject it
//! the same way). `calibrate` measures it as `interruptions`: a thread pinned to each core reads
//! the clock in a tight loop, and every jump of a microsecond or more is an interruption, binned
//! by length; each bin gives its rate per second of one core and its mean length. The kernel
//! layer replays them as a Poisson process per core (`crate::kernel`).

/// Most bins a value holds; `calibrate` writes one per factor of two to 2.5 from 1 µs (13 up to
/// 10 ms). Kept inline so that [`crate::cost::Costs`] stays `Copy`.
pub const MAX_BINS: usize = 24;

/// Most interruptions a second a core may have: one every 10 µs, seventy times what a busy
/// shared VM showed (1,400 a second), and each one an event of the run.
pub const MAX_RATE: f64 = 1e5;

/// Interruptions of one core: bins of `(mean length ns, rate per second)`, lengths strictly
/// increasing; empty when not given (a core is never interrupted).
#[derive(Clone, Copy, PartialEq)]
pub struct Interruptions {
    len: usize,
    bins: [(u64, f64); MAX_BINS],
}

/// How a file writes the value, for messages.
pub const EXAMPLE: &str = "[[2500, 340.0], [31000, 270.0], [290000, 12.0]]";

impl Interruptions {
    /// No interruptions.
    pub const EMPTY: Interruptions = Interruptions {
        len: 0,
        bins: [(0, 0.0); MAX_BINS],
    };

    /// Interruptions of these `(length ns, per second)` bins; the error says which bin is wrong.
    pub fn new(bins: &[(u64, f64)]) -> Result<Interruptions, String> {
        if bins.len() > MAX_BINS {
            return Err(format!(
                "{} bins; give at most {MAX_BINS} (one per range of lengths)",
                bins.len()
            ));
        }
        for (i, &(ns, rate)) in bins.iter().enumerate() {
            let n = i + 1;
            if ns == 0 {
                return Err(format!(
                    "bin {n} lasts 0 ns; an interruption lasts at least 1 ns"
                ));
            }
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(format!(
                    "bin {n} ({ns} ns) comes {rate} times a second; give a finite rate, at least 0"
                ));
            }
            if i > 0 && bins[i - 1].0 >= ns {
                return Err(format!(
                    "bin {n} ({ns} ns) does not come after bin {i} ({} ns); list the bins by growing length",
                    bins[i - 1].0
                ));
            }
        }
        let value = Interruptions {
            len: bins.len(),
            bins: {
                let mut all = [(0, 0.0); MAX_BINS];
                all[..bins.len()].copy_from_slice(bins);
                all
            },
        };
        if value.rate_per_s() > MAX_RATE {
            return Err(format!(
                "{:.0} interruptions a second; give at most {MAX_RATE:.0} a core (one every 10 µs; a busy shared VM shows about 1,400)",
                value.rate_per_s()
            ));
        }
        if value.share() >= 0.5 {
            return Err(format!(
                "these interruptions take {:.0} % of a core; a machine that loses half its time or more is not one to simulate (check the rates: per second, not per ms)",
                value.share() * 100.0
            ));
        }
        Ok(value)
    }

    /// Reads a file's value: an array of `[ns, per_second]` arrays (ns an integer).
    pub fn from_toml(value: &toml::Value) -> Result<Interruptions, String> {
        let toml::Value::Array(items) = value else {
            return Err(format!(
                "a list of [ns, per_second] bins, not {}",
                value.type_str()
            ));
        };
        let mut bins = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let pair = match item {
                toml::Value::Array(pair) if pair.len() == 2 => Some(pair),
                _ => None,
            };
            let ns = pair.and_then(|p| p[0].as_integer());
            let rate = pair.and_then(|p| p[1].as_float().or(p[1].as_integer().map(|n| n as f64)));
            match (ns, rate) {
                (Some(ns), Some(rate)) if ns >= 0 => bins.push((ns as u64, rate)),
                _ => {
                    return Err(format!(
                        "bin {} is not [ns, per_second] (two numbers, ns a whole number at least 0)",
                        i + 1
                    ));
                }
            }
        }
        Interruptions::new(&bins)
    }

    /// Reads `calibrate --json`'s `interruptions` (`[[ns, per_second], ...]`); `None` when it
    /// is not a valid value (not measured: `null`).
    pub fn from_json(value: &serde_json::Value) -> Option<Interruptions> {
        let bins: Option<Vec<(u64, f64)>> = value
            .as_array()?
            .iter()
            .map(|p| Some((p.get(0)?.as_f64()?.round() as u64, p.get(1)?.as_f64()?)))
            .collect();
        Interruptions::new(&bins?).ok()
    }

    /// The value as a file writes it, read back by [`Interruptions::from_toml`].
    pub fn to_toml(&self) -> String {
        let bins: Vec<String> = self
            .bins()
            .iter()
            .map(|(ns, rate)| format!("[{ns}, {rate:.2}]"))
            .collect();
        format!("[{}]", bins.join(", "))
    }

    /// The bins, by growing length.
    pub fn bins(&self) -> &[(u64, f64)] {
        &self.bins[..self.len]
    }

    /// Whether a core is never interrupted.
    pub fn is_empty(&self) -> bool {
        self.rate_per_s() == 0.0
    }

    /// Interruptions per second of one core, all bins.
    pub fn rate_per_s(&self) -> f64 {
        self.bins().iter().map(|b| b.1).sum()
    }

    /// The share of a core's time they take (`Σ rate · length`), when they do not overlap.
    pub fn share(&self) -> f64 {
        self.bins()
            .iter()
            .map(|&(ns, rate)| rate * ns as f64)
            .sum::<f64>()
            / 1e9
    }

    /// The length of the interruption that `u` (uniform in `[0, 1)`) picks, each bin with the
    /// probability of its share of the rate.
    pub fn pick(&self, u: f64) -> u64 {
        let mut left = u * self.rate_per_s();
        for &(ns, rate) in self.bins() {
            if left < rate {
                return ns;
            }
            left -= rate;
        }
        // Rounding left a sliver past the last bin.
        self.bins().last().map_or(0, |b| b.0)
    }
}

impl std::fmt::Debug for Interruptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.bins()).finish()
    }
}

impl serde::Serialize for Interruptions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.bins())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Interruptions, String> {
        let value: toml::Table = toml::from_str(&format!("v = {text}")).unwrap();
        Interruptions::from_toml(&value["v"])
    }

    #[test]
    fn a_file_value_reads_back_from_its_own_text() {
        let v = parse("[[2500, 340], [31000, 270.5], [290000, 12.25]]").unwrap();
        assert_eq!(v.bins(), &[(2500, 340.0), (31000, 270.5), (290000, 12.25)]);
        assert_eq!(parse(&v.to_toml()).unwrap(), v);
        assert!((v.rate_per_s() - 622.75).abs() < 1e-9);
        let share = (2500.0 * 340.0 + 31000.0 * 270.5 + 290000.0 * 12.25) / 1e9;
        assert!((v.share() - share).abs() < 1e-12);
    }

    #[test]
    fn pick_follows_the_rates() {
        let v = Interruptions::new(&[(1000, 3.0), (5000, 1.0)]).unwrap();
        assert_eq!(v.pick(0.0), 1000);
        assert_eq!(v.pick(0.74), 1000);
        assert_eq!(v.pick(0.75), 5000);
        assert_eq!(v.pick(0.999_999), 5000);
    }

    #[test]
    fn bad_values_say_which_bin_and_what_to_write() {
        for (text, says) in [
            ("\"2us\"", "a list of [ns, per_second] bins"),
            ("[[0, 5.0]]", "bin 1 lasts 0 ns"),
            ("[[1000, -1.0]]", "give a finite rate"),
            (
                "[[1000, 5.0], [1000, 2.0]]",
                "bin 2 (1000 ns) does not come after bin 1",
            ),
            ("[[1000, 5.0], [2000]]", "bin 2 is not [ns, per_second]"),
            ("[[1000000, 600.0]]", "60 % of a core"),
            ("[[1, 2e5]]", "200000 interruptions a second"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn empty_or_zero_rates_mean_no_interruptions() {
        assert!(Interruptions::EMPTY.is_empty());
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("[[1000, 0.0]]").unwrap().is_empty());
    }
}
