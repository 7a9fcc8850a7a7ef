//! The cost keys: one table of what the machine's primitives cost, which every reader and
//! writer of a cost follows.
//!
//! ```text
//!                      KEYS (name, unit, meaning, reference value, calibrate measurement)
//!                        │
//!   scenario parser ◀────┼────▶ calibrate --out (micro)      SCENARIOS.md's table (checked)
//!   ([costs], server     │                                   reports' cost list
//!    keys, --costs)      ▼
//!                      Costs (one u64 field per key, what the engine reads)
//! ```
//!
//! The table lives in `sim` because the simulator is what gives a key its meaning; `micro`
//! (the `calibrate` binary) depends on `sim` to write the keys, and `sim` never depends on
//! `micro`. A new key is one row here and one field of [`Costs`]; the parser, `calibrate`,
//! the docs test and `reports` pick it up from the row.

mod interruption;
mod keys;
mod latency;
mod overrides;
mod unit;

pub use interruption::Interruptions;
pub use keys::KEYS;
pub use latency::LineLatency;
pub use overrides::CostOverrides;
pub use unit::Unit;

/// Which of `calibrate`'s measurements fills a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// Where the figure is in `calibrate --json`'s object, as a JSON pointer
    /// (`/thread_switch_same_core_ns`; nested figures like `/cache_bytes/l2` work the same way).
    /// The figure is in nanoseconds for a duration and bytes for a size.
    pub json_pointer: &'static str,
    /// What was measured, in a few words (the comment `calibrate --out` writes).
    pub what: &'static str,
}

/// One cost key.
#[derive(Clone, Copy)]
pub struct CostKey {
    /// The key as files write it (`[costs]`, a server's own keys, `--costs` files).
    pub name: &'static str,
    /// What it counts and how it is written.
    pub unit: Unit,
    /// What it means, one line (SCENARIOS.md, `reports`).
    pub meaning: &'static str,
    /// The reference value (published figures, not this machine), ns or bytes; a curve's
    /// reference is no curve (0 here).
    pub default: u64,
    /// The `calibrate` measurement that fills it; `None`: nothing here measures it.
    pub measured_by: Option<Measurement>,
    /// Whether a `[[server]]` may set it for itself (a property of a runtime, not only of the
    /// machine).
    pub per_server: bool,
    /// Its field in [`Costs`].
    field: Field,
}

/// Where a key's value lives in [`Costs`]: a number (ns or bytes) or a curve.
#[derive(Clone, Copy)]
enum Field {
    Number(fn(&mut Costs) -> &mut u64),
    Curve(fn(&mut Costs) -> &mut LineLatency),
    Bins(fn(&mut Costs) -> &mut Interruptions),
}

/// One key's value as a file gives it.
// A curve is kept inline (520 bytes) so that cost overrides stay `Copy` like every other cost
// value; they are copied a few times per scenario, never per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CostValue {
    /// ns or bytes.
    Number(u64),
    /// A curve of `[bytes, ns]` points.
    Curve(LineLatency),
    /// Bins of `[ns, per_second]`.
    Bins(Interruptions),
}

impl std::fmt::Debug for CostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl CostKey {
    /// This number key's value in `costs` (0 for a curve key: see [`CostKey::curve`]).
    pub fn get(&self, costs: &Costs) -> u64 {
        let mut copy = *costs;
        match self.field {
            Field::Number(field) => *field(&mut copy),
            Field::Curve(_) | Field::Bins(_) => 0,
        }
    }

    /// This curve key's value in `costs` (empty for a number key).
    pub fn curve(&self, costs: &Costs) -> LineLatency {
        let mut copy = *costs;
        match self.field {
            Field::Curve(field) => *field(&mut copy),
            Field::Number(_) | Field::Bins(_) => LineLatency::EMPTY,
        }
    }

    /// This bins key's value in `costs` (empty for another key).
    pub fn bins(&self, costs: &Costs) -> Interruptions {
        let mut copy = *costs;
        match self.field {
            Field::Bins(field) => *field(&mut copy),
            Field::Number(_) | Field::Curve(_) => Interruptions::EMPTY,
        }
    }

    /// Sets this number key's value in `costs` (a curve key is left as it is).
    pub fn set(&self, costs: &mut Costs, value: u64) {
        if let Field::Number(field) = self.field {
            *field(costs) = value;
        }
    }

    /// Sets this key's value in `costs`; a value of the other kind (a number for a curve key
    /// or the reverse) is ignored, as [`CostKey::read`] never makes one.
    pub fn put(&self, costs: &mut Costs, value: CostValue) {
        match (self.field, value) {
            (Field::Number(field), CostValue::Number(v)) => *field(costs) = v,
            (Field::Curve(field), CostValue::Curve(c)) => *field(costs) = c,
            (Field::Bins(field), CostValue::Bins(b)) => *field(costs) = b,
            _ => {}
        }
    }

    /// Reads this key's value as a file writes it: a string with a unit for a number, an
    /// array of `[bytes, ns]` points for a curve. The error says what to write instead.
    pub fn read(&self, value: &toml::Value) -> Result<CostValue, String> {
        let name = self.name;
        match (self.unit, value) {
            (Unit::Curve, value) => {
                LineLatency::from_toml(value)
                    .map(CostValue::Curve)
                    .map_err(|e| {
                        let (e, example) = self.curve_words(e);
                        format!("{name}: {e}; write e.g. {name} = {example}")
                    })
            }
            (Unit::Bins, value) => Interruptions::from_toml(value)
                .map(CostValue::Bins)
                .map_err(|e| format!("{name}: {e}; write e.g. {name} = {}", interruption::EXAMPLE)),
            (unit, toml::Value::String(text)) => unit.parse(text).map(CostValue::Number),
            (unit, other) => Err(format!(
                "{name} is a {unit}, a string with a unit, not {kind}; write e.g. {name} = {example}",
                unit = unit.name(),
                kind = other.type_str(),
                example = unit.example()
            )),
        }
    }

    /// A curve's error message and example in this key's words: the cache curves run over
    /// bytes (a working set), `switch_runnable` over threads taking turns on a core.
    fn curve_words(&self, message: String) -> (String, &'static str) {
        if self.name != "switch_runnable" {
            return (message, latency::EXAMPLE);
        }
        let message = message
            .replace("[bytes, ns]", "[threads, ns]")
            .replace(
                "0 bytes; a working set is at least 1 byte",
                "0 threads; give 2 or more",
            )
            .replace("growing working set", "growing number of threads")
            .replace("ns per line", "ns")
            .replace("bytes an integer", "threads an integer")
            .replace("one per measured working set", "one per measured ring")
            .replace(" bytes", " threads");
        (message, "[[2, 1825], [4, 2652], [1024, 6196]]")
    }

    /// This key's value in a `calibrate --json` object (`measured`), as a file writes it
    /// (`"1.4us"` with its quotes, or a curve's array); `None` when it was not measured.
    /// `format` writes a measured number in the key's unit.
    pub fn measured_text(
        &self,
        measured: &serde_json::Value,
        format: impl Fn(Unit, f64) -> String,
    ) -> Option<String> {
        let value = measured.pointer(self.measured_by?.json_pointer)?;
        match self.unit {
            Unit::Curve => LineLatency::from_json(value).map(|c| c.to_toml()),
            Unit::Bins => Interruptions::from_json(value).map(|b| b.to_toml()),
            unit => value.as_f64().map(|v| format!("\"{}\"", format(unit, v))),
        }
    }

    /// The reference value as SCENARIOS.md shows it.
    pub fn default_text(&self) -> String {
        match self.unit {
            Unit::Curve | Unit::Bins => "none".to_string(),
            unit => unit.format(self.default),
        }
    }
}

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static CostKey> {
    KEYS.iter().find(|k| k.name == name)
}

/// The known keys' names, comma-separated, for messages about an unknown one.
pub fn known_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// What the machine's primitives cost: one field per row of [`KEYS`]. Defaults are the
/// reference calibration (published figures listed in the README); `calibrate --out
/// costs.toml` measures this machine's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Costs {
    /// Direct cost (core time) of switching a core from one OS thread to another, ns.
    pub thread_switch: u64,
    /// Extra latency (not core time) when a thread is woken onto another core, ns.
    pub thread_wakeup: u64,
    /// Core time of one user-level async task switch (tokio, asyncio), ns.
    pub task_switch: u64,
    /// Core time of one stackful coroutine / green thread switch (Go, BEAM, may), ns.
    pub coroutine_switch: u64,
    /// Wall-clock time to create and join one OS thread, ns (not charged: see
    /// `spawn_thread_cpu`).
    pub thread_spawn: u64,
    /// Core time to create one async task, ns.
    pub task_spawn: u64,
    /// Resident bytes per OS thread (user stack touched + kernel structures).
    pub thread_memory: u64,
    /// Resident bytes per task, coroutine or green thread.
    pub task_memory: u64,
    /// Resident bytes per server process before any thread or task (interpreter, heap).
    pub process_memory: u64,
    /// CPU time (not wall time) of creating one OS thread, ns: what a spawn costs a core.
    pub spawn_thread_cpu: u64,
    /// CPU of a blocked thread woken by an interrupt (the network, a timer), beyond a
    /// same-core switch, ns: charged to the woken thread's burst as switching.
    pub wakeup_cpu: u64,
    /// Core time of an I/O wait's end (a timer, an interrupt) for an OS thread whose core is
    /// busy, beyond the switches, ns: charged to the woken thread's burst as switching.
    pub timer_wakeup_cpu: u64,
    /// Core time of one timer interrupt (on a VM, its exits to the hypervisor) for an OS
    /// thread whose I/O wait it ends onto a busy core, ns; expiries within the timer slack
    /// share one (see `kernel/wakeup.rs`). Charged to the woken thread's burst as switching.
    pub timer_interrupt_cpu: u64,
    /// Core time spent leaving idle when work arrives at an idle core, ns.
    pub idle_wakeup_cpu: u64,
    /// Extra latency of a wake-up that finds its core idle, ns (the median).
    pub idle_exit_latency: u64,
    /// Its 99th percentile, ns (0 or not above the median: constant).
    pub idle_exit_latency_p99: u64,
    /// How long an idle core runs the idle loop before it halts, ns (0: at once).
    pub halt_after: u64,
    /// Core time of an idle spell that ended before the halt, ns.
    pub brief_idle_cpu: u64,
    /// L1 data cache per core, bytes.
    pub cache_l1d: u64,
    /// L2 cache per core, bytes.
    pub cache_l2: u64,
    /// Last-level cache, bytes.
    pub cache_l3: u64,
    /// Extra ns to refill one 64-byte line from L2.
    pub refill_l2_per_line: u64,
    /// Extra ns to refill one 64-byte line from L3.
    pub refill_l3_per_line: u64,
    /// Extra ns to refill one 64-byte line from memory.
    pub refill_memory_per_line: u64,
    /// ns per line of a lone random walk against its working set; empty: the cache model
    /// uses the level formula with the `refill_*` rates.
    pub line_latency: LineLatency,
    /// ns per line of a set's first walk after everything else evicted it, by the set's size
    /// (`cold_line_latency`; empty: no cap).
    pub cold_line_latency: LineLatency,
    /// How long the caches keep data nobody on the machine touches, ns (0: for ever).
    pub cache_lifetime: u64,
    /// Bytes of stack an OS thread or coroutine touches per run (0: not modelled).
    pub stack_working_set: u64,
    /// ns of the switch to an OS thread after others took turns on its core, by how many
    /// threads took turns (`switch_runnable`, `[threads, ns]`; empty: every switch costs
    /// `thread_switch`).
    pub switch_runnable: LineLatency,
    /// How often each core is interrupted and for how long; empty: never.
    pub interruptions: Interruptions,
}

impl Costs {
    /// Every cost zero: a machine whose primitives are free (the queueing-theory checks).
    pub const fn zero() -> Costs {
        Costs {
            thread_switch: 0,
            thread_wakeup: 0,
            task_switch: 0,
            coroutine_switch: 0,
            thread_spawn: 0,
            task_spawn: 0,
            thread_memory: 0,
            task_memory: 0,
            process_memory: 0,
            spawn_thread_cpu: 0,
            wakeup_cpu: 0,
            timer_wakeup_cpu: 0,
            timer_interrupt_cpu: 0,
            idle_wakeup_cpu: 0,
            idle_exit_latency: 0,
            idle_exit_latency_p99: 0,
            halt_after: 0,
            brief_idle_cpu: 0,
            cache_l1d: 0,
            cache_l2: 0,
            cache_l3: 0,
            refill_l2_per_line: 0,
            refill_l3_per_line: 0,
            refill_memory_per_line: 0,
            line_latency: LineLatency::EMPTY,
            cold_line_latency: LineLatency::EMPTY,
            switch_runnable: LineLatency::EMPTY,
            cache_lifetime: 0,
            stack_working_set: 0,
            interruptions: Interruptions::EMPTY,
        }
    }
}

impl Default for Costs {
    /// The reference calibration: every key's [`CostKey::default`].
    fn default() -> Self {
        let mut costs = Costs::zero();
        for key in KEYS {
            key.set(&mut costs, key.default);
        }
        costs
    }
}

/// The message for a key that is not in [`KEYS`].
pub fn unknown_key_message(name: &str) -> String {
    format!(
        "unknown cost key {name:?}; the cost keys are {}",
        known_names()
    )
}

/// SCENARIOS.md's `[costs]` table, generated from [`KEYS`] (a test keeps the file equal to it).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| key | unit | reference | measured by `calibrate` | meaning |\n|---|---|---|---|---|\n",
    );
    for k in KEYS {
        let measured = match k.measured_by {
            Some(m) => format!("`{}`", m.json_pointer.trim_start_matches('/')),
            None => "-".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            k.name,
            k.unit.name(),
            k.default_text(),
            measured,
            k.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests;
