//! How an engine waits for events: blocking, spinning for a while first (`--spin`), or never
//! blocking (`busy_poll`, `--load-wait spin`).

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use mio::Events;

use super::Engine;
use crate::load::thread::thread_cpu_ns;

impl Engine {
    /// Waits up to `wait` for events: first polling without blocking for up to `plan.spin`,
    /// then blocking. A spin that found nothing was idle time, and is kept out of the client's
    /// CPU once the window has begun.
    pub(super) fn poll_events(
        &mut self,
        events: &mut Events,
        wait: Duration,
    ) -> std::io::Result<()> {
        if self.plan.busy_poll {
            return self.busy_poll(events, wait);
        }
        if self.plan.spin.is_zero() {
            loop {
                match self.poll.poll(events, Some(wait)) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => return other,
                }
            }
        }
        let spin_start = Instant::now();
        let spin_end = spin_start + self.plan.spin.min(wait);
        loop {
            let spinning = Instant::now() < spin_end;
            let timeout = if spinning { Duration::ZERO } else { wait };
            match self.poll.poll(events, Some(timeout)) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => other?,
            }
            if !events.is_empty() || !spinning {
                break;
            }
        }
        if self.cpu_at_start.is_some() {
            // What the spin took until the wait that found the events (or the blocking wait
            // began): idle time spent on the CPU.
            self.spun += spin_start.elapsed().min(self.plan.spin);
        }
        Ok(())
    }

    /// Polls without blocking until events come or `wait` has passed (the loop's housekeeping
    /// then runs). The polling that found nothing was idle time, kept out of the client's CPU
    /// once the window has begun.
    ///
    /// The idle part is counted on the thread's CPU clock up to the poll that found the events,
    /// so time the thread was not running (another thread on its core, the host taking the
    /// vCPU) is not taken out of the client's CPU, and the work of the last poll stays in it.
    fn busy_poll(&mut self, events: &mut Events, wait: Duration) -> std::io::Result<()> {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        let idle_ns = loop {
            let before = thread_cpu_ns();
            match self.poll.poll(events, Some(Duration::ZERO)) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => other?,
            }
            if !events.is_empty() {
                break before.saturating_sub(cpu_start);
            }
            if start.elapsed() >= wait {
                break thread_cpu_ns().saturating_sub(cpu_start);
            }
            std::hint::spin_loop();
        };
        if self.cpu_at_start.is_some() {
            self.spun += Duration::from_nanos(idle_ns);
        }
        Ok(())
    }
}
