//! What one engine thread is asked to do: the target, the connections, the bounds of its run
//! and its share of the load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// What one engine does.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    pub(crate) request: Arc<[u8]>,
    pub(crate) keepalive: bool,
    pub(crate) connections: usize,
    /// Open loop: this engine's share of the arrivals per second.
    pub(crate) rate: Option<f64>,
    /// This engine's share of the measured requests.
    pub(crate) requests: Option<u64>,
    pub(crate) start: Instant,
    /// Between two connection openings (the ramp).
    pub(crate) connect_gap: Duration,
    /// Requests intended from here on are measured (if the ramp is done by then; else from
    /// the ramp's end + `warmup`, and `measure_end` moves as much)...
    pub(crate) measure_start: Instant,
    /// ...and none is started from here on.
    pub(crate) measure_end: Instant,
    pub(crate) warmup: Duration,
    pub(crate) timeout: Duration,
    /// Poll without blocking this long before blocking (see `LoadSpec::spin`).
    pub(crate) spin: Duration,
    /// Never block (see `LoadSpec::busy_poll`).
    pub(crate) busy_poll: bool,
    pub(crate) seed: u64,
    pub(crate) core: Option<usize>,
    /// Measured answers so far, for the progress callback.
    pub(crate) progress: Arc<AtomicU64>,
}
