//! What an integer add, an OS thread switch and a user-level task switch cost on this machine.
//!
//! Every measured function lives here so that the Criterion benches (`benches/`) and the
//! `calibrate` binary run exactly the same code:
//!
//! ```text
//!   add ──────────── a chain of u64 adds (latency) / independent adds (throughput)
//!   switch ───────── two OS threads pass a byte through a pipe pair
//!                      same core   : a real switch on one core (minus the syscall baseline)
//!                      cross core  : wake-up latency across cores, not a switch
//!                      spin        : the hardware floor of a cross-core hand-off
//!   task ─────────── may coroutines (yield, channel) and tokio tasks (Notify) on one core
//!   spawn ────────── create + join one thread / coroutine / task / rayon::join
//!   memory ───────── resident bytes per idle unit, the slope of VmRSS over many units
//!   scheduling ───── the kernel's side: slice, wake-up latency under load, GIL, idle
//!                      wake-up, a wake-up by the network (loopback), spawn in CPU time,
//!                      and the kernel parameters (kernel)
//!   cache ────────── cache sizes from sysfs; private buffers walked in random or address order
//!   ring ─────────── n same-core threads each walking W bytes, then waking the next
//!                      n = 2 : switch_working_set   (extra cost per switch against W)
//!                      n ≥ 2 : switch_runnable      (against the number of threads)
//!   background ───── the same-core ping-pong beside k CPU-bound threads
//!   indirect ─────── those curves within a budget, and refill rates from the walks
//!        │
//!        ▼
//!   calibration ──── one `Calibration` (JSON) and the simulator's `[costs]` table
//! ```
//!
//! Durations are nanoseconds per unit of work (per add, per switch, per spawn).

pub mod add;
pub mod affinity;
pub mod calibration;
pub mod error;
pub mod estimate;
pub mod machine;
pub mod memory;
pub mod rusage;
pub mod spawn;
pub mod switch;
pub mod table;
pub mod task;
pub mod unit;
// The indirect cost of a switch (issue 12).
pub mod background;
pub mod cache;
pub mod indirect;
pub mod ring;

pub mod clock;
pub mod gil;
pub mod halt;
pub mod idle;
pub mod interruption;
pub mod kernel;
pub mod loopback;
pub mod quantile;
pub mod scheduling;
pub mod slice;
pub mod timer;
pub mod wakeup;

pub use calibration::{Budget, Calibration, calibrate, from_criterion};
pub use error::Error;
