//! Finding and reading files: a scenario by path or built-in name, a `--costs` file, a
//! `--pricing` file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::cost::CostOverrides;
use crate::input::{SCENARIO_CAP, TABLE_CAP, read_text};
use crate::pricing::PriceTable;

use super::check::{check_costs, check_kernel};
use super::spec::{CostsSpec, KernelSpec};
use super::{Scenario, ScenarioError, Source, builtin};

const SCENARIO_ADVICE: &str =
    "a scenario describes requests with distributions; put recorded requests in a trace file";
const TABLE_ADVICE: &str = "a costs or pricing file holds one short table";

impl Scenario {
    /// A file path, or the name of a built-in scenario.
    pub fn load(file_or_name: &str) -> Result<Scenario, ScenarioError> {
        let path = Path::new(file_or_name);
        let builtin = builtin(file_or_name);
        // Anything at the path is read (a directory or device is refused by name); a built-in's
        // name wins only over a path where nothing is.
        if path.is_file() || (builtin.is_none() && std::fs::symlink_metadata(path).is_ok()) {
            let text = read_text(path, SCENARIO_CAP, "scenario", SCENARIO_ADVICE)?;
            return Scenario::parse(&text, path);
        }
        match builtin {
            Some(b) => Scenario::parse(b.toml, Path::new(&format!("builtin:{}", b.name))),
            None if file_or_name.ends_with(".toml") || path.components().count() > 1 => {
                Err(crate::input::InputError::Missing {
                    path: file_or_name.to_string(),
                }
                .into())
            }
            None => Err(ScenarioError::Unknown(file_or_name.to_string())),
        }
    }
}

impl CostOverrides {
    /// Reads a costs file (what `calibrate --out` writes): a `[costs]` table whose keys are
    /// the cost names (`crate::cost::KEYS`) and whose values are strings with units, and an
    /// optional `[machine]` table of kernel keys (`scheduler`, `hz`, `preempt`, `hrtick`).
    /// Other tables are ignored; an unknown key in these two is an error that lists the known
    /// ones.
    pub fn read_file(path: &Path) -> Result<CostOverrides, ScenarioError> {
        #[derive(Deserialize)]
        struct CostsFile {
            costs: Option<CostsSpec>,
            machine: Option<KernelSpec>,
        }
        let text = read_text(path, TABLE_CAP, "costs", TABLE_ADVICE)?;
        let origin = path.display().to_string();
        let source = Source::new(&text, &origin);
        let file: CostsFile = toml::from_str(&text).map_err(|e| source.toml_error(&e))?;
        let table = file.costs.ok_or_else(|| {
            source.at(
                0..0,
                "this costs file has no [costs] table; write e.g.\n[costs]\nthread_switch = \"1.4us\"",
            )
        })?;
        let mut costs = check_costs(&table, &source)?;
        if let Some(machine) = &file.machine {
            costs.kernel = check_kernel(machine, &source)?;
        }
        Ok(costs)
    }
}

impl PriceTable {
    /// Reads a pricing file: a `[pricing]` table whose keys are core counts and whose values are
    /// dollars per month (`4 = 40`).
    pub fn read_file(path: &Path) -> Result<Self, ScenarioError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PricingFile {
            pricing: BTreeMap<String, Spanned<f64>>,
        }
        let text = read_text(path, TABLE_CAP, "pricing", TABLE_ADVICE)?;
        let origin = path.display().to_string();
        let source = Source::new(&text, &origin);
        let file: PricingFile = toml::from_str(&text).map_err(|e| {
            source.at(
                e.span().unwrap_or(0..0),
                &format!(
                    "{}; a pricing file is a [pricing] table of core count = dollars per month, e.g.\n[pricing]\n4 = 40\n8 = 160",
                    e.message().trim()
                ),
            )
        })?;
        Self::from_spans(&file.pricing, &source)
    }
}
