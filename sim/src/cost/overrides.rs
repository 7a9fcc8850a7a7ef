//! Cost values given piecemeal (a `[costs]` table, a server's keys, a `--costs` file), laid
//! over the reference [`Costs`] row by row of [`KEYS`].

use super::{CostKey, CostValue, Costs, KEYS, key, unknown_key_message};

/// Some cost values, each optional: a `[costs]` table, a server's cost keys, a `--costs` file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostOverrides {
    /// One slot per row of [`KEYS`], in its order.
    values: [Option<CostValue>; KEYS.len()],
    /// The kernel keys of a `--costs` file's `[machine]` table (`calibrate --out` writes them
    /// beside the costs they were measured with).
    pub kernel: crate::machine::KernelOverrides,
}

impl Default for CostOverrides {
    /// No value given.
    fn default() -> Self {
        CostOverrides {
            values: [None; KEYS.len()],
            kernel: crate::machine::KernelOverrides::default(),
        }
    }
}

impl CostOverrides {
    /// The number given for `name`, if any (`None` also for an unknown name or a curve).
    pub fn get(&self, name: &str) -> Option<u64> {
        match self.value(name)? {
            CostValue::Number(v) => Some(v),
            CostValue::Curve(_) | CostValue::Bins(_) => None,
        }
    }

    /// The value given for `name`, if any (`None` also for an unknown name).
    pub fn value(&self, name: &str) -> Option<CostValue> {
        let index = KEYS.iter().position(|k| k.name == name)?;
        self.values[index]
    }

    /// Sets the number of `key` (a row of [`KEYS`]).
    pub fn set(&mut self, key: &CostKey, value: u64) {
        self.put(key, CostValue::Number(value));
    }

    /// Sets the value of `key` (a row of [`KEYS`]), as [`CostKey::read`] gives it.
    pub fn put(&mut self, key: &CostKey, value: CostValue) {
        if let Some(index) = KEYS.iter().position(|k| k.name == key.name) {
            self.values[index] = Some(value);
        }
    }

    /// Sets the value of the key named `name`; the error lists the known keys.
    pub fn set_named(&mut self, name: &str, value: u64) -> Result<(), String> {
        let key = key(name).ok_or_else(|| unknown_key_message(name))?;
        self.set(key, value);
        Ok(())
    }

    /// `costs` with every value present here replaced.
    pub fn apply(&self, mut costs: Costs) -> Costs {
        for (key, value) in KEYS.iter().zip(self.values) {
            if let Some(value) = value {
                key.put(&mut costs, value);
            }
        }
        costs
    }
}
