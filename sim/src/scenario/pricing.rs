//! The `[pricing]` table as written (in a scenario or a `--pricing` file): core count =
//! dollars per month, each bad row reported at its place.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::pricing::PriceTable;

use super::{ScenarioError, Source};

impl PriceTable {
    /// A table from a parsed `[pricing]` table, reporting bad rows at their place.
    pub(crate) fn from_spans(
        table: &BTreeMap<String, Spanned<f64>>,
        source: &Source,
    ) -> Result<Self, ScenarioError> {
        let mut rows = Vec::new();
        for (key, price) in table {
            let cores: u64 = match key.trim().parse() {
                Ok(c) if c >= 1 => c,
                _ => {
                    return Err(source.at(
                        price.span(),
                        &format!(
                            "pricing key {key:?} is not a core count; write core count = dollars per month, e.g. 4 = 40"
                        ),
                    ));
                }
            };
            let usd = *price.get_ref();
            if !(usd.is_finite() && (0.0..=super::load::MAX_RATE).contains(&usd)) {
                return Err(source.at(
                    price.span(),
                    &format!("the price of {cores} cores must be between 0 and 1e12 dollars per month, not {usd}"),
                ));
            }
            rows.push((cores, usd));
        }
        PriceTable::new(rows).ok_or_else(|| {
            source.at(
                0..0,
                "the [pricing] table is empty; give at least one row such as 4 = 40",
            )
        })
    }
}
