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
mod latency;
mod overrides;
mod unit;

pub use interruption::Interruptions;
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
            (Unit::Curve, value) => LineLatency::from_toml(value)
                .map(CostValue::Curve)
                .map_err(|e| format!("{name}: {e}; write e.g. {name} = {}", latency::EXAMPLE)),
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

const fn measured(json_pointer: &'static str, what: &'static str) -> Option<Measurement> {
    Some(Measurement { json_pointer, what })
}

/// Every cost key, in the order files, docs and `calibrate` list them.
pub const KEYS: &[CostKey] = &[
    CostKey {
        name: "thread_switch",
        unit: Unit::Duration,
        meaning: "core time of switching a core between two OS threads",
        default: 1_500,
        measured_by: measured("/thread_switch_same_core_ns", "same-core thread switch"),
        per_server: true,
        field: Field::Number(|c| &mut c.thread_switch),
    },
    CostKey {
        name: "thread_wakeup",
        unit: Unit::Duration,
        meaning: "extra latency of waking a thread on another core",
        default: 5_000,
        measured_by: measured("/thread_wakeup_cross_core_ns", "cross-core wake-up latency"),
        per_server: true,
        field: Field::Number(|c| &mut c.thread_wakeup),
    },
    CostKey {
        name: "task_switch",
        unit: Unit::Duration,
        meaning: "core time of an async task switch (tokio, asyncio)",
        default: 200,
        measured_by: measured("/task_switch_tokio_ns", "tokio task switch"),
        per_server: true,
        field: Field::Number(|c| &mut c.task_switch),
    },
    CostKey {
        name: "coroutine_switch",
        unit: Unit::Duration,
        meaning: "core time of a green thread / stackful coroutine switch",
        default: 200,
        measured_by: measured("/task_switch_may_ns", "may coroutine switch"),
        per_server: true,
        field: Field::Number(|c| &mut c.coroutine_switch),
    },
    CostKey {
        name: "thread_spawn",
        unit: Unit::Duration,
        meaning: "wall-clock time to create and join an OS thread (measured for reference; the engine charges spawn_thread_cpu and the kernel's wake-up instead)",
        default: 17_000,
        measured_by: measured("/spawn_thread_ns", "spawn + join a thread"),
        per_server: true,
        field: Field::Number(|c| &mut c.thread_spawn),
    },
    CostKey {
        name: "task_spawn",
        unit: Unit::Duration,
        meaning: "core time to create a task, including the one task switch into it (measured as spawn + await)",
        default: 300,
        measured_by: measured("/spawn_tokio_ns", "spawn + await a tokio task"),
        per_server: true,
        field: Field::Number(|c| &mut c.task_spawn),
    },
    CostKey {
        name: "thread_memory",
        unit: Unit::Size,
        meaning: "resident memory per OS thread",
        // 9.5 KiB of user stack touched + 10 KiB of kernel structures.
        default: 19_968,
        measured_by: measured(
            "/thread_memory_bytes",
            "resident + kernel stack per idle thread",
        ),
        per_server: true,
        field: Field::Number(|c| &mut c.thread_memory),
    },
    CostKey {
        name: "task_memory",
        unit: Unit::Size,
        meaning: "resident memory per task",
        default: 400,
        measured_by: measured(
            "/tokio_task_memory_bytes",
            "resident bytes per waiting tokio task",
        ),
        per_server: true,
        field: Field::Number(|c| &mut c.task_memory),
    },
    CostKey {
        name: "process_memory",
        unit: Unit::Size,
        meaning: "resident memory per server process before threads and tasks",
        default: 0,
        measured_by: None,
        per_server: true,
        field: Field::Number(|c| &mut c.process_memory),
    },
    CostKey {
        name: "spawn_thread_cpu",
        unit: Unit::Duration,
        meaning: "CPU time of creating an OS thread: the spawner's share plus the child's start, charged as the new thread's first burst (thread_spawn is the wall-clock figure)",
        // The committed reference machine (micro/reference/2026-11-30-xeon-2core-loaded.json).
        default: 10_700,
        measured_by: measured(
            "/spawn_thread_cpu_ns",
            "CPU of thread::spawn, spawner + child start",
        ),
        per_server: true,
        field: Field::Number(|c| &mut c.spawn_thread_cpu),
    },
    CostKey {
        name: "wakeup_cpu",
        unit: Unit::Duration,
        meaning: "CPU a blocked OS thread spends being woken by an interrupt (a packet, a timer, the acceptor's hand-off) onto a core that halted meanwhile: the sleeping system call's wake-up and return path beyond a thread switch, and running on after the halt; charged per such wake-up of a thread that has run before, as switching (0: not charged)",
        // Off unless measured: every result from before the key stays as it was.
        default: 0,
        measured_by: measured(
            "/wakeup_cpu_ns",
            "thread CPU per wake-up by a loopback packet onto a halted core, beyond the same request queued",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.wakeup_cpu),
    },
    CostKey {
        name: "idle_wakeup_cpu",
        unit: Unit::Duration,
        meaning: "core time a core spends leaving idle for a request (idle exit, timer and interrupt paths)",
        // Off unless measured: the reference run could not see an idle core (see micro/README.md).
        default: 0,
        measured_by: measured(
            "/idle_wakeup_cpu_ns",
            "core CPU per request for idling between requests",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.idle_wakeup_cpu),
    },
    CostKey {
        name: "idle_exit_latency",
        unit: Unit::Duration,
        meaning: "extra latency of a wake-up that finds its core idle",
        default: 0,
        measured_by: measured(
            "/idle_exit_latency_ns",
            "extra lateness of a timer wake-up from idle",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.idle_exit_latency),
    },
    CostKey {
        name: "idle_exit_latency_p99",
        unit: Unit::Duration,
        meaning: "the 99th percentile of that extra latency; above idle_exit_latency, each exit is drawn from a shifted exponential with both percentiles (0 or not above: every exit takes idle_exit_latency)",
        default: 0,
        measured_by: measured(
            "/idle_exit_latency_p99_ns",
            "the same at the 99th percentile",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.idle_exit_latency_p99),
    },
    CostKey {
        name: "cache_l1d",
        unit: Unit::Size,
        meaning: "L1 data cache per core",
        // The reference machine's sysfs figures.
        default: 48 * 1024,
        measured_by: measured("/cache_bytes/l1d", "L1 data cache per core (sysfs)"),
        per_server: false,
        field: Field::Number(|c| &mut c.cache_l1d),
    },
    CostKey {
        name: "cache_l2",
        unit: Unit::Size,
        meaning: "L2 cache per core",
        default: 2 * 1024 * 1024,
        measured_by: measured("/cache_bytes/l2", "L2 cache per core (sysfs)"),
        per_server: false,
        field: Field::Number(|c| &mut c.cache_l2),
    },
    CostKey {
        name: "cache_l3",
        unit: Unit::Size,
        meaning: "last-level cache, shared by [machine] l3_shared_by cores",
        default: 32 * 1024 * 1024,
        measured_by: measured(
            "/cache_bytes/l3",
            "L3 cache (sysfs; a VM may report the host's)",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.cache_l3),
    },
    CostKey {
        name: "refill_l2_per_line",
        unit: Unit::Duration,
        meaning: "extra time to bring a 64-byte line from L2 instead of L1",
        default: 15,
        measured_by: measured(
            "/refill_l2_ns_per_line",
            "a line from L2 instead of L1 (random walk)",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.refill_l2_per_line),
    },
    CostKey {
        name: "refill_l3_per_line",
        unit: Unit::Duration,
        meaning: "extra time to bring a 64-byte line from L3 instead of L1",
        default: 40,
        measured_by: measured(
            "/refill_l3_ns_per_line",
            "a line from L3 instead of L1 (random walk)",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.refill_l3_per_line),
    },
    CostKey {
        name: "refill_memory_per_line",
        unit: Unit::Duration,
        meaning: "extra time to bring a 64-byte line from memory instead of L1",
        default: 100,
        measured_by: measured(
            "/refill_memory_ns_per_line",
            "a line from memory instead of L1 (random walk)",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.refill_memory_per_line),
    },
    CostKey {
        name: "line_latency",
        unit: Unit::Curve,
        meaning: "ns per 64-byte line of one thread walking a working set alone in random order, as [bytes, ns] points; when given, a refill costs the difference of this curve at the line's reuse distance with and without the others' bytes (the refill_* rates and cache_l1d, cache_l3 are then unused)",
        // None: without a measured curve the level formula with the rates above is used.
        default: 0,
        measured_by: measured(
            "/line_latency_ns",
            "ns per line of a lone random walk, per working set",
        ),
        per_server: false,
        field: Field::Curve(|c| &mut c.line_latency),
    },
    CostKey {
        name: "cache_lifetime",
        unit: Unit::Duration,
        meaning: "how long the caches keep data nobody on the simulated machine touches before tenants outside it (other VMs on the host) have evicted it; a thread or task returning later refills its whole working set from memory (0: no such tenants)",
        default: 0,
        measured_by: measured(
            "/l3_lifetime_ns",
            "a 64 KiB set returned to after 0 to 16 ms alone",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.cache_lifetime),
    },
    CostKey {
        name: "stack_working_set",
        unit: Unit::Size,
        meaning: "stack an OS thread or coroutine touches per run, refilled after others ran (0: stacks not modelled)",
        default: 0,
        measured_by: None,
        per_server: true,
        field: Field::Number(|c| &mut c.stack_working_set),
    },
    CostKey {
        name: "interruptions",
        unit: Unit::Bins,
        meaning: "how often each core is taken from what it runs and for how long (ticks, interrupts, the host): [ns, per_second] bins, replayed as a Poisson process per core (none: never)",
        default: 0,
        measured_by: measured(
            "/interruptions",
            "clock jumps of a pinned spinning thread, by length",
        ),
        per_server: false,
        field: Field::Bins(|c| &mut c.interruptions),
    },
];

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
    /// Core time spent leaving idle when work arrives at an idle core, ns.
    pub idle_wakeup_cpu: u64,
    /// Extra latency of a wake-up that finds its core idle, ns (the median).
    pub idle_exit_latency: u64,
    /// Its 99th percentile, ns (0 or not above the median: constant).
    pub idle_exit_latency_p99: u64,
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
    /// How long the caches keep data nobody on the machine touches, ns (0: for ever).
    pub cache_lifetime: u64,
    /// Bytes of stack an OS thread or coroutine touches per run (0: not modelled).
    pub stack_working_set: u64,
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
            idle_wakeup_cpu: 0,
            idle_exit_latency: 0,
            idle_exit_latency_p99: 0,
            cache_l1d: 0,
            cache_l2: 0,
            cache_l3: 0,
            refill_l2_per_line: 0,
            refill_l3_per_line: 0,
            refill_memory_per_line: 0,
            line_latency: LineLatency::EMPTY,
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
