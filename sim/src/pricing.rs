//! What a machine of N cores costs per month, and so what a million requests cost.
//!
//! A price table lists VM sizes (cores -> dollars per month). A core count between two sizes
//! rents the next bigger VM; beyond the largest size the price grows linearly at the largest
//! size's price per core (more of the same boxes).
//!
//! Reading a price table from a file (`[pricing]`, `--pricing`) is the scenario reader's job
//! (`scenario/pricing.rs`), so that this module knows nothing about files.

use serde::{Deserialize, Serialize};

/// Hours in a month as cloud providers bill them (365 x 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// VM sizes and their monthly prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// (cores, dollars per month), sorted by cores, cores unique and at least 1.
    rows: Vec<(u64, f64)>,
}

impl PriceTable {
    /// The list prices from the talk "The State of Async Web Frameworks" (2020), one cloud
    /// provider's VM sizes.
    pub fn talk() -> Self {
        PriceTable {
            rows: vec![
                (1, 10.0),
                (2, 20.0),
                (4, 40.0),
                (6, 80.0),
                (8, 160.0),
                (16, 320.0),
                (20, 480.0),
                (24, 640.0),
                (32, 960.0),
            ],
        }
    }

    /// A table from (cores, dollars per month) rows; `None` if it is empty or a row has zero
    /// cores, a repeated core count, or a price that is negative or not finite.
    pub fn new(mut rows: Vec<(u64, f64)>) -> Option<Self> {
        rows.sort_by_key(|r| r.0);
        let valid = !rows.is_empty()
            && rows
                .iter()
                .all(|&(c, p)| c >= 1 && p.is_finite() && p >= 0.0)
            && rows.windows(2).all(|w| w[0].0 < w[1].0);
        valid.then_some(PriceTable { rows })
    }

    /// The rows, sorted by cores.
    pub fn rows(&self) -> &[(u64, f64)] {
        &self.rows
    }

    /// Monthly price of a machine with `cores` cores.
    pub fn usd_per_month(&self, cores: u64) -> f64 {
        if let Some(&(_, price)) = self.rows.iter().find(|&&(c, _)| c >= cores) {
            return price;
        }
        // Beyond the largest size: the same price per core as the largest.
        match self.rows.last() {
            Some(&(c, price)) => price / c as f64 * cores as f64,
            None => 0.0,
        }
    }

    /// Dollars per million requests for `machines` machines of `cores` cores serving
    /// `throughput_rps` requests per second in total, busy all month. `None` when nothing was
    /// served.
    pub fn usd_per_million_requests(
        &self,
        cores: u64,
        machines: u64,
        throughput_rps: f64,
    ) -> Option<f64> {
        if throughput_rps <= 0.0 || !throughput_rps.is_finite() {
            return None;
        }
        let monthly = self.usd_per_month(cores) * machines as f64;
        let requests = throughput_rps * HOURS_PER_MONTH * 3600.0;
        Some(monthly / requests * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_prices_and_in_between_sizes() {
        let t = PriceTable::talk();
        assert_eq!(t.usd_per_month(1), 10.0);
        assert_eq!(t.usd_per_month(6), 80.0);
        // 12 cores rent the 16-core VM.
        assert_eq!(t.usd_per_month(12), 320.0);
        // 64 cores: twice the 32-core box's $30 per core.
        assert_eq!(t.usd_per_month(64), 1920.0);
    }

    #[test]
    fn dollars_per_million_requests() {
        let t = PriceTable::talk();
        // $40/month for 4 cores at 100 rps: 262.8 million requests a month.
        let usd = t.usd_per_million_requests(4, 1, 100.0).unwrap();
        assert!((usd - 40.0 / 262.8).abs() < 1e-9, "{usd}");
        // Four such machines serving four times the traffic cost the same per request.
        let four = t.usd_per_million_requests(4, 4, 400.0).unwrap();
        assert!((four - usd).abs() < 1e-12);
        assert_eq!(t.usd_per_million_requests(4, 1, 0.0), None);
    }

    #[test]
    fn rejects_bad_tables() {
        assert!(PriceTable::new(vec![]).is_none());
        assert!(PriceTable::new(vec![(0, 1.0)]).is_none());
        assert!(PriceTable::new(vec![(2, 1.0), (2, 3.0)]).is_none());
        assert!(PriceTable::new(vec![(2, -1.0)]).is_none());
    }
}
