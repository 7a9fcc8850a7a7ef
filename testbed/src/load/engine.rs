//! One load-generator thread: an epoll loop (mio) over its share of the connections, pinned to
//! one core. Edge-triggered, non-blocking, no allocation per request; 10,000 connections cost
//! one wake-up per readiness change, not a thread each.
//!
//! ```text
//!  ramp ─▶ slot i opens at start + i·gap (≤ MAX_CONNECTING connects in flight)
//!  closed loop: a free slot sends its next request at once (budget and time allowing)
//!  open loop:   Poisson arrivals ─▶ FIFO ─▶ the next free slot (latency from intended time)
//!  timerfd (ns, no slack) wakes the loop for the next arrival; mio's own timeout is in ms
//! ```

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::http::{Parsed, Response};
pub(crate) use super::plan::Plan;
use super::schedule::Arrivals;
use super::tally::Tally;
use super::tally::classify;
use super::thread::{pin, thread_cpu};
use super::timer::Timer;

mod poll;

/// Connects started but not yet established. A full accept queue drops SYNs, which leaves
/// connects pending for a second; stopping at this many turns that into back-pressure on the
/// ramp instead of a pile of SYN retries in the measured tail. (A handshake whose last ACK
/// the server dropped looks established to the client; the report's `listen_overflows`
/// shows when that happened.)
const MAX_CONNECTING: usize = 64;
const TIMER: Token = Token(usize::MAX - 1);
/// Housekeeping (timeouts, ramp, the window) runs at least this often.
const TICK: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No socket.
    Closed,
    Connecting,
    Sending,
    Receiving,
    /// Connected, nothing in flight.
    Idle,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    /// Latency is measured from here.
    since: Instant,
    measured: bool,
}

#[derive(Debug)]
struct Slot {
    stream: Option<TcpStream>,
    state: State,
    sent: usize,
    response: Response,
    job: Option<Job>,
    deadline: Instant,
    /// Whether this slot waits in `free` (so it is never queued twice).
    queued: bool,
}

/// Runs the plan to the end and returns what it counted.
pub(crate) fn run(plan: Plan) -> std::io::Result<Tally> {
    if let Some(core) = plan.core {
        pin(core)?;
    }
    Engine::new(plan)?.run()
}

struct Engine {
    plan: Plan,
    poll: Poll,
    timer: Timer,
    slots: Vec<Slot>,
    /// Active slots with no job, ready to take one (open loop) or to send (closed loop).
    free: VecDeque<usize>,
    opened: usize,
    connecting: usize,
    ramp_done: bool,
    measure_start: Instant,
    measure_end: Instant,
    in_flight_measured: u64,
    issued_measured: u64,
    arrivals: Option<Arrivals>,
    waiting: VecDeque<Instant>,
    tally: Tally,
    cpu_at_start: Option<Duration>,
    /// Idle time spent spinning (`plan.spin`) since `cpu_at_start`.
    spun: Duration,
    buf: Vec<u8>,
}

impl Engine {
    fn new(plan: Plan) -> std::io::Result<Engine> {
        let poll = Poll::new()?;
        let timer = Timer::new()?;
        poll.registry().register(
            &mut SourceFd(&timer.fd().as_raw_fd()),
            TIMER,
            Interest::READABLE,
        )?;
        let arrivals = plan
            .rate
            .map(|rate| Arrivals::new(plan.measure_start.min(plan.start), rate, plan.seed));
        let slots = (0..plan.connections)
            .map(|_| Slot {
                stream: None,
                state: State::Closed,
                sent: 0,
                response: Response::default(),
                job: None,
                deadline: plan.start,
                queued: false,
            })
            .collect();
        Ok(Engine {
            poll,
            timer,
            slots,
            free: VecDeque::new(),
            opened: 0,
            connecting: 0,
            ramp_done: plan.connections == 0,
            measure_start: plan.measure_start,
            measure_end: plan.measure_end,
            in_flight_measured: 0,
            issued_measured: 0,
            arrivals,
            waiting: VecDeque::new(),
            tally: Tally::new(),
            cpu_at_start: None,
            spun: Duration::ZERO,
            buf: vec![0; 64 * 1024],
            plan,
        })
    }

    fn budget_left(&self) -> bool {
        self.plan.requests.is_none_or(|n| self.issued_measured < n)
    }

    fn run(mut self) -> std::io::Result<Tally> {
        let mut events = Events::with_capacity(1024);
        // The ramp may hold the window back (see `ramp`), but not past this.
        let planned_ramp = self
            .plan
            .measure_start
            .saturating_duration_since(self.plan.start);
        let ramp_limit = self.plan.start + (planned_ramp * 10).max(Duration::from_secs(10));
        let mut next_expiry = Instant::now();
        let mut armed: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if self.cpu_at_start.is_none() && self.measuring(now) {
                self.cpu_at_start = Some(thread_cpu());
            }
            self.ramp(now);
            self.arrive(now);
            self.dispatch(now);
            if now >= next_expiry {
                // A scan of every slot: at 10,000 connections, not on every wake-up.
                self.expire(now);
                next_expiry = now + TICK;
            }
            if !self.ramp_done && now >= ramp_limit {
                // Connects held back by a full accept queue: measure with what is open (the
                // unopened slots keep trying) rather than hold the run.
                self.finish_ramp(now);
            }
            let generating = self.generating(now);
            let hard_stop = self.measure_end + self.plan.timeout + Duration::from_millis(100);
            if !generating && self.in_flight_measured == 0 && self.waiting.is_empty() {
                break;
            }
            if now >= hard_stop {
                self.abandon();
                break;
            }
            let mut wait = TICK;
            if let Some(next) = self.next_arrival()
                && armed != Some(next)
            {
                self.timer.arm(next.saturating_duration_since(now))?;
                armed = Some(next);
            }
            if self.cpu_at_start.is_none() {
                wait = wait.min(self.measure_start.saturating_duration_since(now));
            }
            self.poll_events(&mut events, wait)?;
            for event in events.iter() {
                match event.token() {
                    TIMER => self.timer.drain(),
                    Token(i) => self.ready(i),
                }
            }
        }
        let start_cpu = self.cpu_at_start.unwrap_or_else(thread_cpu);
        self.tally.cpu = thread_cpu()
            .saturating_sub(start_cpu)
            .saturating_sub(self.spun);
        Ok(self.tally)
    }

    fn next_arrival(&self) -> Option<Instant> {
        let arrivals = self.arrivals.as_ref()?;
        let next = arrivals.peek();
        self.generating(next).then_some(next)
    }

    /// Opens the slots whose turn in the ramp has come.
    fn ramp(&mut self, now: Instant) {
        while self.opened < self.slots.len() && self.connecting < MAX_CONNECTING {
            let turn = self.plan.start + self.plan.connect_gap * self.opened as u32;
            if turn > now {
                break;
            }
            let i = self.opened;
            self.opened += 1;
            if self.plan.keepalive {
                // Connect ahead of the first request, so it does not carry the handshake.
                self.connect(i, now);
            } else {
                self.release(i);
            }
        }
        if !self.ramp_done && self.opened == self.slots.len() {
            self.finish_ramp(now);
        }
    }

    /// A ramp slower than planned pushes the measured window back, so it still starts with
    /// every connection open and the warmup behind it.
    fn finish_ramp(&mut self, now: Instant) {
        self.ramp_done = true;
        let start = now + self.plan.warmup;
        if start > self.measure_start {
            self.measure_end += start - self.measure_start;
            self.measure_start = start;
        }
        self.tally.measure_start = Some(self.measure_start);
    }

    /// Whether requests are still started at `at`: until the window's end (which the ramp
    /// may push back) while the budget lasts.
    fn generating(&self, at: Instant) -> bool {
        (!self.ramp_done || at < self.measure_end) && self.budget_left()
    }

    fn measuring(&self, at: Instant) -> bool {
        self.ramp_done && at >= self.measure_start
    }

    /// Open loop: queues every arrival whose time has come.
    fn arrive(&mut self, now: Instant) {
        while let Some(next) = self.next_arrival() {
            if next > now {
                break;
            }
            if let Some(arrivals) = self.arrivals.as_mut() {
                arrivals.pop();
            }
            if self.measuring(next) {
                self.issued_measured += 1;
                self.in_flight_measured += 1;
            }
            self.waiting.push_back(next);
        }
    }

    /// Gives work to the slots free now. A slot whose connect fails at once goes back to the
    /// end of the queue and waits for the next pass, so a refusing server costs a retry per
    /// wake-up, not a busy loop.
    fn dispatch(&mut self, now: Instant) {
        for _ in 0..self.free.len() {
            let Some(&i) = self.free.front() else {
                return;
            };
            let job = if self.arrivals.is_some() {
                let Some(intended) = self.waiting.pop_front() else {
                    return;
                };
                Job {
                    since: intended,
                    measured: self.measuring(intended),
                }
            } else {
                // Kept-alive slots send nothing until every connection is open: a closed loop
                // with zero think time keeps a thread-per-connection server's core busy, and
                // its accept thread, one runnable thread among the connected ones, then takes
                // connections at about 100 a second (10,000 never open within the run).
                if !self.generating(now) || (self.plan.keepalive && !self.ramp_done) {
                    return;
                }
                let measured = self.measuring(now);
                if measured {
                    self.issued_measured += 1;
                    self.in_flight_measured += 1;
                }
                Job {
                    since: now,
                    measured,
                }
            };
            self.free.pop_front();
            let slot = &mut self.slots[i];
            slot.queued = false;
            slot.job = Some(job);
            if self.arrivals.is_some() {
                self.tally.lag(now.saturating_duration_since(job.since));
            }
            if slot.state == State::Idle {
                slot.state = State::Sending;
                slot.sent = 0;
                slot.deadline = now + self.plan.timeout;
                self.send(i, now);
            } else {
                self.connect(i, now);
            }
        }
    }

    fn connect(&mut self, i: usize, now: Instant) {
        let slot = &mut self.slots[i];
        slot.deadline = now + self.plan.timeout;
        match TcpStream::connect(self.plan.addr) {
            Ok(mut stream) => {
                let _ = stream.set_nodelay(true);
                let token = Token(i);
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = self.poll.registry().register(&mut stream, token, interest) {
                    self.fail(i, classify(&e, "connect"), now);
                    return;
                }
                slot.stream = Some(stream);
                slot.state = State::Connecting;
                self.connecting += 1;
            }
            Err(e) => self.fail(i, classify(&e, "connect"), now),
        }
    }

    /// A readiness event for slot `i`.
    fn ready(&mut self, i: usize) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let now = Instant::now();
        match slot.state {
            State::Connecting => {
                let Some(stream) = slot.stream.as_ref() else {
                    return;
                };
                let outcome = match stream.take_error() {
                    Ok(Some(e)) | Err(e) => Err(e),
                    Ok(None) => stream.peer_addr().map(|_| ()),
                };
                match outcome {
                    Ok(()) => {}
                    // Not yet: a spurious wake-up.
                    Err(e) if e.kind() == ErrorKind::NotConnected => return,
                    Err(e) => return self.fail(i, classify(&e, "connect"), now),
                }
                self.connecting -= 1;
                if slot.job.is_some() {
                    slot.state = State::Sending;
                    slot.sent = 0;
                    self.send(i, now);
                } else {
                    slot.state = State::Idle;
                    self.release(i);
                }
            }
            State::Sending => self.send(i, now),
            State::Receiving => self.receive(i, now),
            State::Idle => {
                // Readable while idle: the server closed a kept-alive connection (or sent
                // something unasked). Either way it is no longer usable.
                let mut probe = [0u8; 1];
                let gone = match slot.stream.as_mut().map(|s| s.read(&mut probe)) {
                    Some(Err(e)) => e.kind() != ErrorKind::WouldBlock,
                    Some(Ok(_)) => true,
                    None => false,
                };
                if gone {
                    self.close(i);
                }
            }
            State::Closed => {}
        }
    }

    fn send(&mut self, i: usize, now: Instant) {
        let request = Arc::clone(&self.plan.request);
        let slot = &mut self.slots[i];
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        while slot.sent < request.len() {
            match stream.write(&request[slot.sent..]) {
                Ok(0) => return self.fail(i, "write", now),
                Ok(n) => slot.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(i, classify(&e, "write"), now),
            }
        }
        slot.state = State::Receiving;
        slot.response.reset();
        // No read here: the socket was drained to WouldBlock after the previous answer, so the
        // answer's arrival raises a fresh edge. That saves a syscall per request.
    }

    fn receive(&mut self, i: usize, now: Instant) {
        loop {
            let slot = &mut self.slots[i];
            let Some(stream) = slot.stream.as_mut() else {
                return;
            };
            let parsed = match stream.read(&mut self.buf) {
                Ok(0) => slot.response.closed(),
                Ok(n) => slot.response.feed(&self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(i, classify(&e, "read"), now),
            };
            match parsed {
                Ok(Parsed::More) => continue,
                Ok(Parsed::Done { status, close }) => return self.answered(i, status, close),
                Err(_) if !slot.response.started() => {
                    return self.fail(i, "closed_before_response", now);
                }
                Err(_) => return self.fail(i, "bad_response", now),
            }
        }
    }

    fn answered(&mut self, i: usize, status: u16, close: bool) {
        let now = Instant::now();
        let slot = &mut self.slots[i];
        if let Some(job) = slot.job.take()
            && job.measured
        {
            self.in_flight_measured -= 1;
            self.tally
                .answered(now.saturating_duration_since(job.since), now);
            self.plan.progress.fetch_add(1, Ordering::Relaxed);
            match status {
                400..=499 => self.tally.error("http_4xx"),
                500..=599 => self.tally.error("http_5xx"),
                _ => {}
            }
        }
        if close || !self.plan.keepalive {
            self.close(i);
        } else {
            slot.state = State::Idle;
            self.release(i);
        }
        // The next request leaves now, as the answer arrives (as wrk does), not after the
        // rest of this batch of events: sending in bursts would batch the server's work and
        // change the latency being measured.
        self.dispatch(now);
    }

    /// The request in slot `i` failed: count it, drop the connection, free the slot.
    fn fail(&mut self, i: usize, kind: &'static str, _now: Instant) {
        if let Some(job) = self.slots[i].job.take()
            && job.measured
        {
            self.in_flight_measured -= 1;
            self.tally.error(kind);
        }
        self.close(i);
    }

    fn close(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if let Some(mut stream) = slot.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        if slot.state == State::Connecting {
            self.connecting -= 1;
        }
        slot.state = State::Closed;
        self.release(i);
    }

    /// Slot `i` has no job: it takes the next one, or (keep-alive, no socket) reconnects
    /// first.
    fn release(&mut self, i: usize) {
        let generating = self.generating(Instant::now());
        let slot = &mut self.slots[i];
        if slot.job.is_some() || slot.queued {
            return;
        }
        if slot.state == State::Closed
            && self.plan.keepalive
            && generating
            && self.connecting < MAX_CONNECTING
        {
            self.connect(i, Instant::now());
            return;
        }
        slot.queued = true;
        self.free.push_back(i);
    }

    /// Times out requests (and connects) past their deadline.
    fn expire(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot.deadline > now || matches!(slot.state, State::Closed | State::Idle) {
                continue;
            }
            let connecting = slot.state == State::Connecting;
            match self.slots[i].job.take() {
                Some(job) if job.measured => {
                    self.in_flight_measured -= 1;
                    self.tally
                        .timeout(if connecting { "connect" } else { "response" });
                }
                // A connection opened ahead of its first request that never got through:
                // no request waited on it, but the server left it waiting.
                None if connecting && now >= self.measure_start => {
                    self.tally.timeout("connect_ahead");
                }
                _ => {}
            }
            self.close(i);
        }
    }

    /// The hard stop: whatever is still in flight or waiting counts as timed out.
    fn abandon(&mut self) {
        for slot in &mut self.slots {
            if let Some(job) = slot.job.take()
                && job.measured
            {
                self.tally.timeout("unfinished");
            }
        }
        for intended in std::mem::take(&mut self.waiting) {
            if self.measuring(intended) {
                self.tally.timeout("never_sent");
            }
        }
    }
}
