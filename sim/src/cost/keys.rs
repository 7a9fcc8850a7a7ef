//! The rows of the cost-key table: one [`CostKey`] per key, in the order files, docs and
//! `calibrate` list them.

use super::{CostKey, Field, Measurement, Unit};

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
        name: "timer_wakeup_cpu",
        unit: Unit::Duration,
        meaning: "core time an I/O wait's end costs an OS thread whose core is busy: the timed sleep's system call and timer, its interrupt (through the hypervisor on a VM) and the wake-up, beyond the context switches; charged per io step that ends with its thread landing on a busy core, as switching (0: not charged)",
        // Off unless measured: every result from before the key stays as it was.
        default: 0,
        // `calibrate` writes `timer_interrupt_cpu` instead, from the same measurement.
        measured_by: None,
        per_server: false,
        field: Field::Number(|c| &mut c.timer_wakeup_cpu),
    },
    CostKey {
        name: "timer_interrupt_cpu",
        unit: Unit::Duration,
        meaning: "core time of one timer interrupt that ends an OS thread's I/O wait on a busy core (on a VM, the exits to the hypervisor for the interrupt and the timer's re-arming) with the sleep's system call and wake-up, beyond the context switches; charged once per interrupt, expiries within Linux's 50 µs timer slack of the first sharing it, as switching (0: not charged; give it or timer_wakeup_cpu, not both)",
        // Off unless measured: every result from before the key stays as it was.
        default: 0,
        measured_by: measured(
            "/timer_interrupt_cpu_ns",
            "core time per timer interrupt that ends a timed sleep on a busy core",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.timer_interrupt_cpu),
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
        name: "halt_after",
        unit: Unit::Duration,
        meaning: "how long a core that ran out of work stays in the idle loop before it halts; a wake-up sooner pays brief_idle_cpu instead of the idle costs, the exit latency and wakeup_cpu (0: it halts at once)",
        // Off unless measured: every result from before the key stays as it was.
        default: 0,
        measured_by: measured(
            "/halt_after_ns",
            "client pause at which the core halts for half of the requests",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.halt_after),
    },
    CostKey {
        name: "brief_idle_cpu",
        unit: Unit::Duration,
        meaning: "core time of an idle spell that ended before the halt (the idle loop's entry and exit), charged as idle_wakeup_cpu is",
        default: 0,
        measured_by: measured(
            "/brief_idle_cpu_ns",
            "core time of an idle spell that ended before the halt",
        ),
        per_server: false,
        field: Field::Number(|c| &mut c.brief_idle_cpu),
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
        name: "cold_line_latency",
        unit: Unit::Curve,
        meaning: "ns per 64-byte line of a set's first random walk after a stream larger than every cache level evicted it, as [bytes, ns] points by the set's size; with line_latency, a returning line never costs more than this (a set returns from memory with its own page walks, not a far lone walk's one per line)",
        // None: without it the curve formula is uncapped, as before the key.
        default: 0,
        // Written again since 2026-12-07T22: calibrate streams twice and keeps the curve only
        // when its sets came back from memory (a 19:19 run read 29 ns a line for 1 MiB, a set
        // one stream had not evicted: testbed/results/2026-12-07T1901-epyc-2c.md).
        measured_by: measured(
            "/cold_line_latency_ns",
            "ns per line of a set's first walk after a stream past every cache level",
        ),
        per_server: false,
        field: Field::Curve(|c| &mut c.cold_line_latency),
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
        name: "switch_runnable",
        unit: Unit::Curve,
        meaning: "ns of the switch to an OS thread when n threads take turns on its core, as [threads, ns] points (a ring of n threads on one core, W = 0); a switch to a thread after n - 1 others ran on its core since it last did costs thread_switch plus this curve's rise from 2 threads to n (none: every switch costs thread_switch)",
        // None: without it every switch costs `thread_switch`, as before the key.
        default: 0,
        measured_by: measured(
            "/switch_runnable_return_ns",
            "switch to a thread after n - 1 others ran on its core, by n",
        ),
        per_server: false,
        field: Field::Curve(|c| &mut c.switch_runnable),
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
