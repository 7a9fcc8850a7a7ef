//! The client side: open-loop and trace arrivals, closed-loop clients and long-lived
//! connections (their next send, a broadcast), each request handed to the `maxconn` gate.

use rand::Rng as _;

use crate::config::{Arrivals, Stop};
use crate::event::{Event, NONE};
use crate::time::SimTime;

use super::world::World;
use super::{Engine, Scheduler};

/// A closed-loop client or a long-lived connection.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Client {
    /// Model-defined binding (a keep-alive thread, an event loop), NONE when unbound.
    pub(super) bind: u32,
    pub(super) busy: bool,
    pub(super) scheduled: bool,
    pub(super) pending_send: bool,
    pub(super) pending_broadcast: bool,
}

impl World<'_> {
    pub(super) fn client_done(&mut self, client: u32) {
        let now = self.now;
        let c = &mut self.clients[client as usize];
        c.busy = false;
        if c.pending_broadcast || c.pending_send {
            c.pending_send = false;
            c.scheduled = true;
            self.queue.push(now, Event::ClientSend { client });
        } else if !c.scheduled {
            c.scheduled = true;
            let gap = match &self.cfg.load.arrivals {
                Arrivals::Closed { think, .. } => think.sample(&mut self.rng),
                Arrivals::Connections { interval, .. } => interval.sample(&mut self.rng),
                _ => 0,
            };
            self.queue
                .push(now + self.cfg.load.rtt + gap, Event::ClientSend { client });
        }
    }

    pub(super) fn open_interarrival(&mut self, rate: f64) -> u64 {
        let u: f64 = self.rng.random();
        // Non-negative: half-up by truncation, without a libm call.
        (-(1e9 / rate) * (1.0 - u).ln() + 0.5) as u64
    }
}

impl<S: Scheduler> Engine<'_, S> {
    pub(super) fn on_arrival_event(&mut self) {
        let sim = &mut self.ctx.world;
        let cfg = sim.cfg;
        let limit = match cfg.load.stop {
            Stop::Requests(n) => n,
            Stop::Duration(_) => u64::MAX,
        };
        match &cfg.load.arrivals {
            Arrivals::Open { rate } => {
                let req = sim.new_request(sim.now, NONE, NONE, false);
                if sim.sent < limit {
                    let gap = sim.open_interarrival(*rate);
                    sim.queue.push(sim.now + gap, Event::Arrival);
                }
                self.admit(req);
            }
            Arrivals::Trace { rows } => {
                let row = sim.next_row;
                let req = sim.new_request(sim.now, NONE, row as u32, false);
                sim.next_row += 1;
                if sim.next_row < rows.len() && sim.sent < limit {
                    sim.queue
                        .push(SimTime(rows[sim.next_row].offset), Event::Arrival);
                }
                self.admit(req);
            }
            _ => {}
        }
    }

    pub(super) fn on_client_send(&mut self, client: u32) {
        let sim = &mut self.ctx.world;
        let c = &mut sim.clients[client as usize];
        c.scheduled = false;
        if c.busy {
            c.pending_send = true;
            return;
        }
        c.busy = true;
        let broadcast = c.pending_broadcast;
        c.pending_broadcast = false;
        let sent = match (broadcast, &sim.cfg.load.arrivals) {
            (
                true,
                Arrivals::Connections {
                    broadcast_at: Some(at),
                    ..
                },
            ) => SimTime(*at),
            _ => sim.now,
        };
        let req = sim.new_request(sent, client, NONE, broadcast);
        self.admit(req);
    }

    pub(super) fn on_broadcast(&mut self) {
        for client in 0..self.ctx.world.clients.len() as u32 {
            let sim = &mut self.ctx.world;
            let c = &mut sim.clients[client as usize];
            if c.busy {
                c.pending_broadcast = true;
                continue;
            }
            c.busy = true;
            let req = sim.new_request(sim.now, client, NONE, true);
            self.admit(req);
        }
    }
}
