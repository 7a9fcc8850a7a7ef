//! The engine: simulated time and the event loop over the world of one run. It owns the clock,
//! the event queue, the RNG, the requests and their steps, the client side (open, closed,
//! trace, connections), the `maxconn` gate, the local proxy and the statistics; scheduling
//! decisions belong to the model (see [`crate::model`]), which acts through a [`Ctx`], and core
//! time to the kernel.
//!
//! ```text
//!  engine.rs   the loop: pops events, drives the gate, the proxy and the model's hooks
//!  world.rs    World: every field of a run's state (private to this module tree)
//!  context.rs  Ctx: the methods a model may call, over the world
//!  request.rs  requests, their steps, pools, completion and drop
//!  client.rs   arrivals, closed-loop clients, connections, the broadcast
//!  proxy.rs    the local proxy thread
//!  window.rs   the measured window and the run's RunTally
//! ```

mod client;
mod context;
mod proxy;
mod request;
mod window;
mod world;

pub(crate) use context::Ctx;
pub(crate) use request::{Carry, StepStart};

use crate::config::{Arrivals, RunConfig, Stop, Warmup};
use crate::error::SimError;
use crate::event::{CoreId, Event, ReqId, ThreadId};
use crate::kernel::{Next, Waker};
use crate::tally::RunTally;
use crate::time::SimTime;

use proxy::ProxyState;
use world::{PROXY_QUEUE, World};

/// Events between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 1 << 16;

/// The event hooks of a scheduling model (see [`crate::model`]), the interface the engine
/// drives. Each hook acts on the run through `ctx`. Each hook that may wake a thread says who
/// wakes it: `by` (or, on a core, `core`) is passed on to every [`Ctx::wake`] the hook causes.
pub(crate) trait Scheduler {
    /// The run starts: create the threads the server has from the beginning.
    fn start(&mut self, ctx: &mut Ctx);

    /// A long-lived connection opens (before its first message).
    fn on_connect(&mut self, _ctx: &mut Ctx, _client: u32) {}

    /// A request reaches the server, handed over `by` a core's thread (the proxy) or from
    /// outside (the network).
    fn on_arrival(&mut self, ctx: &mut Ctx, req: ReqId, by: Waker);

    /// A thread this model owns finished its burst; it is still on `core`, and whatever it
    /// wakes is woken from there. Say what it does next.
    fn on_burst_done(&mut self, ctx: &mut Ctx, thread: ThreadId, core: CoreId) -> Next;

    /// A request's wait ended (an interrupt: wakes come from outside).
    fn on_io_done(&mut self, ctx: &mut Ctx, req: ReqId);

    /// A request that waited for a pool unit now holds one (wakes come from outside).
    fn on_pool_granted(&mut self, ctx: &mut Ctx, req: ReqId);

    /// A timer set with [`Ctx::set_timer`] ran out (wakes come from outside).
    fn on_timer(&mut self, _ctx: &mut Ctx, _thread: ThreadId, _generation: u32) {}
}

/// The loop's state: the world (behind the model's `Ctx`) and the model.
struct Engine<'a, S> {
    ctx: Ctx<'a>,
    model: S,
}

impl<S: Scheduler> Engine<'_, S> {
    fn admit(&mut self, req: ReqId) {
        let sim = &mut self.ctx.world;
        if let Some(max) = sim.cfg.load.maxconn
            && sim.inside >= max
        {
            sim.proxy_queue.push_back(req);
            let len = sim.proxy_queue.len() as u64;
            sim.levels[PROXY_QUEUE].1.set(sim.now, len);
            return;
        }
        sim.inside += 1;
        self.enter(req);
    }

    /// A request enters the server from the network.
    fn enter(&mut self, req: ReqId) {
        if self.ctx.world.proxy.is_some() {
            self.ctx.world.proxy_job(req, false, Waker::Outside);
        } else {
            self.model.on_arrival(&mut self.ctx, req, Waker::Outside);
        }
    }

    fn start(&mut self) {
        let sim = &mut self.ctx.world;
        if sim.cfg.server.proxy.is_some() {
            let thread = sim.kernel.spawn();
            sim.proxy = Some(ProxyState::new(thread));
        }
        sim.memory_changed();
        sim.kernel.start_noise(&mut sim.queue);
        self.model.start(&mut self.ctx);
        let sim = &mut self.ctx.world;
        if sim.cfg.load.warmup == Warmup::Requests(0) || sim.cfg.load.warmup == Warmup::Duration(0)
        {
            sim.start_measuring(SimTime::ZERO);
        }
        match &sim.cfg.load.arrivals {
            Arrivals::Open { rate } => {
                let gap = sim.open_interarrival(*rate);
                sim.queue.push(SimTime(gap), Event::Arrival);
            }
            Arrivals::Trace { rows } => {
                if let Some(row) = rows.first() {
                    sim.queue.push(SimTime(row.offset), Event::Arrival);
                }
            }
            Arrivals::Closed { .. } => {
                for client in 0..sim.clients.len() as u32 {
                    sim.clients[client as usize].scheduled = true;
                    sim.queue.push(SimTime::ZERO, Event::ClientSend { client });
                }
            }
            Arrivals::Connections {
                interval,
                broadcast_at,
                ..
            } => {
                for client in 0..sim.clients.len() as u32 {
                    self.model.on_connect(&mut self.ctx, client);
                    let sim = &mut self.ctx.world;
                    sim.clients[client as usize].scheduled = true;
                    let gap = interval.sample(&mut sim.rng);
                    sim.queue.push(SimTime(gap), Event::ClientSend { client });
                }
                if let Some(at) = broadcast_at {
                    self.ctx.world.queue.push(SimTime(*at), Event::Broadcast);
                }
            }
        }
    }

    fn on_core_done(&mut self, core: u32, generation: u32) {
        let sim = &mut self.ctx.world;
        let Some(thread) = sim
            .kernel
            .core_done(sim.now, &mut sim.queue, core, generation)
        else {
            return;
        };
        let next = match &sim.proxy {
            Some(p) if p.thread == thread => self.proxy_burst_done(core),
            _ => self.model.on_burst_done(&mut self.ctx, thread, core),
        };
        let sim = &mut self.ctx.world;
        sim.kernel.resume(sim.now, &mut sim.queue, core, next);
        if next == Next::Exit {
            sim.memory_changed();
        }
    }

    fn run(&mut self, progress: &(dyn Fn(f64) + Sync)) -> Result<SimTime, SimError> {
        self.start();
        let cfg = self.ctx.world.cfg;
        let horizon = match cfg.load.stop {
            Stop::Duration(t) => SimTime(t),
            Stop::Requests(_) => SimTime(u64::MAX),
        };
        let warmup_at = match cfg.load.warmup {
            Warmup::Duration(t) if t > 0 => Some(SimTime(t)),
            _ => None,
        };
        let mut events: u64 = 0;
        let mut end = SimTime::ZERO;
        while let Some((time, event)) = self.ctx.world.queue.pop() {
            if time > horizon {
                end = horizon;
                break;
            }
            // Time arithmetic saturates, so an event due past the clock's end lands exactly on
            // its last value: the run cannot go on with its times right.
            if time == SimTime(u64::MAX) {
                return Err(SimError::ClockSaturated {
                    events,
                    at_seconds: self.ctx.world.now.seconds(),
                });
            }
            if let Some(at) = warmup_at
                && !self.ctx.world.measuring
                && time >= at
            {
                self.ctx.world.now = at;
                self.ctx.world.start_measuring(at);
            }
            self.ctx.world.now = time;
            end = time;
            events += 1;
            if events.saturating_add(self.ctx.world.draws) > cfg.max_events {
                return Err(SimError::TooManyEvents {
                    events: cfg.max_events,
                    at_seconds: time.seconds(),
                });
            }
            if events.is_multiple_of(PROGRESS_EVERY) {
                progress(self.ctx.world.progress_fraction(events));
            }
            match event {
                Event::Arrival => self.on_arrival_event(),
                Event::ClientSend { client } => self.on_client_send(client),
                Event::Broadcast => self.on_broadcast(),
                Event::Enter { req } => self.enter(req),
                Event::CoreDone { core, generation } => self.on_core_done(core, generation),
                Event::IoDone { req } => self.model.on_io_done(&mut self.ctx, req),
                Event::PoolGranted { req } => self.model.on_pool_granted(&mut self.ctx, req),
                Event::Timer { thread, generation } => {
                    self.model.on_timer(&mut self.ctx, thread, generation)
                }
                Event::Interruption => {
                    let world = &mut self.ctx.world;
                    world.kernel.interruption(time, &mut world.queue);
                }
            }
            if self.ctx.world.stopped {
                break;
            }
        }
        let world = &mut self.ctx.world;
        if horizon != SimTime(u64::MAX) {
            if world.queue.len() == 0 {
                // Nothing left to happen before the horizon: the run still covers all of it.
                end = horizon;
            }
        } else if !world.stopped {
            // An open loop or trace drained: the run ends with its last request, not with the
            // stale (cancelled) events still queued after it, unless a core was still busy
            // after it (a thread switched in to find nothing to do): that time is in the CPU
            // totals, so it must be in the window too.
            end = world
                .last_exit
                .max(world.kernel.busy_until)
                .max(world.measure_start);
            world.drained = true;
        }
        world.now = end;
        world.events = events;
        Ok(end)
    }
}

/// Runs `model` on a validated config; `quantum` is the kernel's fixed slice, if any.
pub(crate) fn run_with<S: Scheduler>(
    config: &RunConfig,
    quantum: Option<u64>,
    model: S,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<RunTally, SimError> {
    let mut engine = Engine {
        ctx: Ctx {
            world: World::new(config, quantum),
        },
        model,
    };
    let end = engine.run(progress)?;
    progress(1.0);
    Ok(engine.ctx.world.tally(end))
}
