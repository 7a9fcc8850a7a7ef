//! What a wake-up by the network costs the thread it wakes when its core halted: a server
//! thread that blocks in `read` for every request and whose core goes idle meanwhile, against
//! the same server reading requests that are already queued, so that it never blocks.
//!
//! A server thread pinned to one core answers 64-byte requests on a loopback TCP connection
//! (`TCP_NODELAY`); a client pinned to another core sends them. Rounds alternate three
//! conditions, so load from other processes falls on all alike:
//!
//! ```text
//!   blocking      : one request in flight; the client spins [`GAP`] before each request, so the
//!                   server's read finds nothing, it sleeps, its core halts, and the request
//!                   wakes it (an interrupt from the other core)
//!   queued        : four requests in flight; each read finds the next request waiting
//!   client_sleeps : as blocking, but the client sleeps in `read` for each answer
//!   gaps          : as blocking with shorter pauses ([`SWEEP_GAPS`]: 0, 5 and 10 µs), where the
//!                   request may come before the core has halted (see [`crate::halt`])
//! ```
//!
//! In the first two the client never sleeps: it polls its socket without blocking, so the
//! server's `write` never has to wake it. Each round also counts the server core's halts (its
//! cpuidle entries outside the polling state): where an idle state polls before halting, the
//! 20 µs pause may end before the halt, and the figure is then null with that reason. Per request, the server thread's CPU
//! (`CLOCK_THREAD_CPUTIME_ID`) and its voluntary context switches (`getrusage(RUSAGE_THREAD)`,
//! about 1 and 0 per request, checked). `wakeup_cpu` = (thread CPU per request (blocking) −
//! thread CPU per request (queued)) / (their difference in voluntary switches per request):
//! what sleeping until its core halted and being woken by the network costs the server thread
//! per wake-up (the sleeping system call, the wake-up path charged to it, the switch back in,
//! and running on after the halt). The core's own time outside the thread is not in it: that
//! is `idle_wakeup_cpu` (see [`crate::idle`]).
//!
//! `peer_wakeup_cpu` = thread CPU (client_sleeps) − thread CPU (blocking): what the server's
//! answer pays to wake a client whose core halted (on a VM the inter-processor interrupt exits
//! to the hypervisor in the sender's context). It is a loopback artefact, not a server cost: a
//! remote client's answer leaves through a network card and wakes nothing here. `sim` has no
//! key for it; `testbed` keeps its load generator spinning so that its servers do not pay it.
//!
//! Why the gap: a server that blocks but is woken before its core has halted pays almost
//! nothing. A testbed server answering a spinning client blocks for every request, but its
//! core halts for 0.1–0.2 of the requests, and its CPU per request is within 1.5 µs of the same
//! server at ten connections, where it never blocks (2026-12-07). The halt, not the block, is
//! what costs: `sim` charges `wakeup_cpu` only to a thread woken onto a core that idled.
//!
//! Why it matters: a thread per request on a lightly loaded machine halts its core for every
//! request, an event loop under load never does. On a virtual machine the wake-up goes through
//! the hypervisor (the waker's inter-processor interrupt, the woken vCPU's exit from halt), so
//! the figure can be several times the same-core switch that `thread_switch` measures.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::clock::thread_cpu_ns;
use crate::error::Error;
use crate::rusage::thread_switches;
use crate::{affinity, quantile};

/// Bytes of each request and answer.
const MESSAGE: usize = 64;
/// Requests in flight in the queued condition.
pub const QUEUED_DEPTH: usize = 4;
/// Requests per round.
const PER_ROUND: u64 = 200;
/// How long the client waits (spinning) before each request of the conditions with one in
/// flight: long enough that the server's core has halted when the request comes (it halts
/// within a few µs of blocking; with no gap, a spinning client's next request often lands
/// before that).
pub const GAP: Duration = Duration::from_micros(20);
/// The client's shorter pauses, ns: where between 0 and [`GAP`] the server's core starts to
/// halt before the request comes.
pub const SWEEP_GAPS: [u64; 3] = [0, 5_000, 10_000];
/// The longest the client waits for one answer: a dead server cannot hang `calibrate`.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// The first byte of a request: answer it, report the server's counters, or stop.
const ANSWER: u8 = 0;
const REPORT: u8 = 1;
const STOP: u8 = 2;

/// One condition's figures: medians over its rounds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// Requests in flight.
    pub depth: usize,
    /// The server thread's CPU per request, ns.
    pub thread_cpu_ns: f64,
    /// The server thread's voluntary context switches per request (it blocked).
    pub voluntary_switches_per_request: f64,
    /// Rounds counted.
    pub rounds: usize,
    /// How often the server's core halted per request (its cpuidle entries outside the
    /// polling state; `None` when cpuidle is unreadable).
    #[serde(default)]
    pub halts_per_request: Option<f64>,
    /// The server core's time outside idle states per request, ns: the thread's CPU plus
    /// everything else the core did (`None` when cpuidle is unreadable; absent before
    /// 2026-12-07T16).
    #[serde(default)]
    pub core_ns: Option<f64>,
    /// The client's pause before each request, ns (absent before 2026-12-07T16).
    #[serde(default)]
    pub gap_ns: Option<u64>,
    /// One request in flight: the median over rounds of the mean round trip the client saw,
    /// from its send to the whole answer, ns (`None` with more in flight, where a request
    /// waits behind the others; absent before 2026-12-07T19).
    #[serde(default)]
    pub round_trip_ns: Option<f64>,
}

impl Condition {
    /// The core's time per request outside the server thread, ns.
    pub fn outside_thread_ns(&self) -> Option<f64> {
        self.core_ns.map(|core| core - self.thread_cpu_ns)
    }
}

/// The three conditions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkWakeup {
    /// One request in flight after a [`GAP`], the client spinning: the server blocks and its
    /// core halts for each.
    pub blocking: Condition,
    /// [`QUEUED_DEPTH`] in flight, the client spinning: the server never blocks.
    pub queued: Condition,
    /// As `blocking`, but the client sleeps for each answer, so the server's answer wakes it.
    #[serde(default)]
    pub client_sleeps: Option<Condition>,
    /// The client's wait before each request with one in flight, ns.
    #[serde(default)]
    pub gap_ns: u64,
    /// As `blocking` after each of [`SWEEP_GAPS`] (empty before 2026-12-07T16).
    #[serde(default)]
    pub gaps: Vec<Condition>,
}

impl NetworkWakeup {
    /// What blocking until the core halted and being woken by the network costs, ns per
    /// wake-up: the CPU difference over the difference in voluntary switches, since the
    /// queued server may still block now and then.
    pub fn wakeup_cpu_ns(&self) -> f64 {
        let wakeups = self.blocking.voluntary_switches_per_request
            - self.queued.voluntary_switches_per_request;
        (self.blocking.thread_cpu_ns - self.queued.thread_cpu_ns) / wakeups.max(0.5)
    }

    /// What the server's answer pays to wake a client whose core halted, ns per request (a
    /// loopback artefact; see the module docs).
    pub fn peer_wakeup_cpu_ns(&self) -> Option<f64> {
        let sleeps = self.client_sleeps.as_ref()?;
        Some(sleeps.thread_cpu_ns - self.blocking.thread_cpu_ns)
    }

    /// Why the figure does not measure what it says, if it does not: the blocking server
    /// must have slept for most requests and the queued one for few, and the blocking
    /// server's core must have halted for most (where cpuidle says).
    pub fn doubt(&self) -> Option<String> {
        if let Some(halts) = self.blocking.halts_per_request
            && halts < 0.5
        {
            return Some(format!(
                "the server's core halted for only {halts:.2} of the requests with one in flight after a {} µs pause (about 1 expected): its idle state polls first, so the figure would be a block without a halt",
                self.gap_ns / 1000
            ));
        }
        if self.blocking.voluntary_switches_per_request < 0.5 {
            return Some(format!(
                "the server blocked for only {:.2} of each request with one in flight (about 1 expected): something kept answering for it",
                self.blocking.voluntary_switches_per_request
            ));
        }
        if self.queued.voluntary_switches_per_request > 0.5 {
            return Some(format!(
                "the server blocked {:.2} times per request with {} in flight (about 0 expected): the client could not keep it fed; rerun on a quieter machine",
                self.queued.voluntary_switches_per_request, self.queued.depth
            ));
        }
        None
    }
}

/// The server's counters, as it reports them.
#[derive(Debug, Clone, Copy)]
struct Counters {
    cpu_ns: u64,
    voluntary: u64,
}

/// Serves one connection on the calling thread until told to stop.
fn serve(mut stream: TcpStream) -> Result<(), Error> {
    let mut request = [0u8; MESSAGE];
    loop {
        stream
            .read_exact(&mut request)
            .map_err(Error::io("reading a loopback request"))?;
        let mut answer = [0u8; MESSAGE];
        match request[0] {
            STOP => return Ok(()),
            REPORT => {
                answer[..8].copy_from_slice(&thread_cpu_ns().to_le_bytes());
                answer[8..16].copy_from_slice(&thread_switches().voluntary.to_le_bytes());
            }
            _ => answer[0] = request[0],
        }
        stream
            .write_all(&answer)
            .map_err(Error::io("writing a loopback answer"))?;
    }
}

/// One round's figures, per request.
#[derive(Debug, Clone, Copy)]
struct Row {
    cpu_ns: f64,
    voluntary: f64,
    halts: Option<f64>,
    core_ns: Option<f64>,
    round_trip_ns: f64,
}

/// The client's side of the connection.
struct Client {
    stream: TcpStream,
    /// The server's core, whose cpuidle entries each round reads.
    server_core: usize,
    /// Poll for answers without blocking (the client never sleeps) rather than sleep in `read`.
    spin: bool,
}

impl Client {
    fn send(&mut self, kind: u8) -> Result<(), Error> {
        let mut request = [0u8; MESSAGE];
        request[0] = kind;
        self.stream
            .write_all(&request)
            .map_err(Error::io("writing a loopback request"))
    }

    /// Switches between spinning and sleeping for answers.
    fn set_spin(&mut self, spin: bool) -> Result<(), Error> {
        self.stream
            .set_nonblocking(spin)
            .map_err(Error::io("switching the loopback socket's blocking mode"))?;
        self.spin = spin;
        Ok(())
    }

    fn receive(&mut self) -> Result<[u8; MESSAGE], Error> {
        let mut answer = [0u8; MESSAGE];
        if !self.spin {
            self.stream
                .read_exact(&mut answer)
                .map_err(Error::io("reading a loopback answer"))?;
            return Ok(answer);
        }
        let deadline = Instant::now() + ANSWER_LIMIT;
        let mut got = 0;
        while got < MESSAGE {
            match self.stream.read(&mut answer[got..]) {
                Ok(0) => {
                    return Err(Error::io("reading a loopback answer")(
                        ErrorKind::UnexpectedEof.into(),
                    ));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(Error::io("reading a loopback answer")(
                            ErrorKind::TimedOut.into(),
                        ));
                    }
                    std::hint::spin_loop();
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading a loopback answer")(e)),
            }
        }
        Ok(answer)
    }

    fn counters(&mut self) -> Result<Counters, Error> {
        self.send(REPORT)?;
        let answer = self.receive()?;
        let word = |at: usize| u64::from_le_bytes(answer[at..at + 8].try_into().unwrap_or([0; 8]));
        Ok(Counters {
            cpu_ns: word(0),
            voluntary: word(8),
        })
    }

    /// Sends `PER_ROUND` requests keeping `depth` in flight, each of the later ones `gap` after
    /// the answer before it (spinning); returns the server's CPU, voluntary switches and its
    /// core's halts per request.
    fn round(&mut self, depth: usize, gap: Duration) -> Result<Row, Error> {
        let before = self.counters()?;
        // cpuidle adds a spell's time when it ends: read once the server's core has just
        // woken for the report, so that the long spell before the round is not counted in it.
        // The spell that starts after the report is counted whole, a few µs before `start`
        // included: the same small bias in every condition, which the differences cancel.
        let idle_before = crate::idle::idle_counters(self.server_core);
        let start = Instant::now();
        for _ in 0..depth {
            self.send(ANSWER)?;
        }
        let mut sent = depth as u64;
        let (mut round_trips, mut sent_at) = (Duration::ZERO, start);
        for _ in 0..PER_ROUND {
            self.receive()?;
            round_trips += sent_at.elapsed();
            if sent < PER_ROUND {
                let answered = Instant::now();
                while answered.elapsed() < gap {
                    std::hint::spin_loop();
                }
                sent_at = Instant::now();
                self.send(ANSWER)?;
                sent += 1;
            }
        }
        let after = self.counters()?;
        let wall_ns = start.elapsed().as_nanos() as f64;
        let idle_after = crate::idle::idle_counters(self.server_core);
        let n = PER_ROUND as f64;
        let idle = idle_before.zip(idle_after);
        Ok(Row {
            cpu_ns: after.cpu_ns.saturating_sub(before.cpu_ns) as f64 / n,
            voluntary: after.voluntary.saturating_sub(before.voluntary) as f64 / n,
            halts: idle.map(|(b, a)| a.halts.saturating_sub(b.halts) as f64 / n),
            // The closing report's round trip is in the window: one request in 201, the same
            // share in every condition.
            core_ns: idle.map(|(b, a)| {
                let idle_ns = a.time_us.saturating_sub(b.time_us) as f64 * 1_000.0;
                (wall_ns - idle_ns).max(0.0) / n
            }),
            round_trip_ns: round_trips.as_nanos() as f64 / n,
        })
    }
}

/// Runs the rounds for about `time` (at least two of each condition).
pub fn measure(time: Duration) -> Result<NetworkWakeup, Error> {
    let cores = affinity::pick(2)?;
    let (client_core, server_core) = (cores[0], cores[1]);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(Error::io("binding a loopback listener"))?;
    let address = listener
        .local_addr()
        .map_err(Error::io("reading the listener's address"))?;
    let server = std::thread::Builder::new()
        .name("micro-loopback-server".into())
        .spawn(move || -> Result<(), Error> {
            affinity::pin(server_core)?;
            let (stream, _) = listener
                .accept()
                .map_err(Error::io("accepting the loopback client"))?;
            stream
                .set_nodelay(true)
                .map_err(Error::io("setting TCP_NODELAY"))?;
            serve(stream)
        })
        .map_err(Error::io("spawning the loopback server"))?;
    let client = std::thread::Builder::new()
        .name("micro-loopback-client".into())
        .spawn(move || -> Result<[Vec<Row>; 3 + SWEEP_GAPS.len()], Error> {
            affinity::pin(client_core)?;
            let stream =
                TcpStream::connect(address).map_err(Error::io("connecting over loopback"))?;
            stream
                .set_nodelay(true)
                // A read that never returns would hang calibrate: the server's end is ours.
                .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(10))))
                .map_err(Error::io("configuring the loopback socket"))?;
            let mut client = Client {
                stream,
                server_core: server_core.id,
                spin: false,
            };
            // Warm both ends (connection buffers, code, the server's first switches).
            client.set_spin(true)?;
            client.round(1, GAP)?;
            client.round(QUEUED_DEPTH, Duration::ZERO)?;
            let mut rows: [Vec<Row>; 3 + SWEEP_GAPS.len()] = Default::default();
            let start = Instant::now();
            while rows[2].len() < 2 || start.elapsed() < time {
                client.set_spin(true)?;
                rows[0].push(client.round(1, GAP)?);
                rows[1].push(client.round(QUEUED_DEPTH, Duration::ZERO)?);
                for (i, gap) in SWEEP_GAPS.iter().enumerate() {
                    rows[3 + i].push(client.round(1, Duration::from_nanos(*gap))?);
                }
                client.set_spin(false)?;
                rows[2].push(client.round(1, GAP)?);
            }
            client.send(STOP)?;
            Ok(rows)
        })
        .map_err(Error::io("spawning the loopback client"));
    let rows = client.and_then(|client| {
        client
            .join()
            .map_err(|_| Error::Panicked {
                what: "loopback client",
            })
            .and_then(|r| r)
    });
    if rows.is_err() {
        // The server must not wait in `accept` for ever: the client may have failed before it
        // connected (pinning, connecting, spawning), and a connection made and dropped here ends
        // the accept. If the client had connected, its end is closed and the server's read ends.
        drop(TcpStream::connect(address));
    }
    let served = server.join().map_err(|_| Error::Panicked {
        what: "loopback server",
    });
    let rows = rows?;
    served??;
    let condition = |depth: usize, gap: Option<u64>, rows: &[Row]| -> Result<Condition, Error> {
        let cpu: Vec<f64> = rows.iter().map(|r| r.cpu_ns).collect();
        let switches: Vec<f64> = rows.iter().map(|r| r.voluntary).collect();
        let halts: Vec<f64> = rows.iter().filter_map(|r| r.halts).collect();
        let core: Vec<f64> = rows.iter().filter_map(|r| r.core_ns).collect();
        let round_trips: Vec<f64> = rows.iter().map(|r| r.round_trip_ns).collect();
        Ok(Condition {
            depth,
            thread_cpu_ns: quantile::median(&cpu).ok_or(Error::NoSamples {
                what: "loopback wake-up",
            })?,
            voluntary_switches_per_request: quantile::median(&switches).unwrap_or(0.0),
            rounds: rows.len(),
            halts_per_request: quantile::median(&halts),
            core_ns: quantile::median(&core),
            gap_ns: gap,
            round_trip_ns: (depth == 1)
                .then(|| quantile::median(&round_trips))
                .flatten(),
        })
    };
    let gap = Some(GAP.as_nanos() as u64);
    Ok(NetworkWakeup {
        blocking: condition(1, gap, &rows[0])?,
        queued: condition(QUEUED_DEPTH, Some(0), &rows[1])?,
        client_sleeps: Some(condition(1, gap, &rows[2])?),
        gap_ns: GAP.as_nanos() as u64,
        gaps: SWEEP_GAPS
            .iter()
            .zip(&rows[3..])
            .map(|(gap, rows)| condition(1, Some(*gap), rows))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(depth: usize, cpu: f64, switches: f64) -> Condition {
        Condition {
            depth,
            thread_cpu_ns: cpu,
            voluntary_switches_per_request: switches,
            rounds: 3,
            halts_per_request: Some(if depth == 1 { 1.0 } else { 0.0 }),
            core_ns: None,
            gap_ns: None,
            round_trip_ns: None,
        }
    }

    #[test]
    fn the_wakeup_is_the_difference_and_doubts_name_the_condition() {
        let ok = NetworkWakeup {
            blocking: condition(1, 30_000.0, 1.0),
            queued: condition(4, 19_000.0, 0.01),
            client_sleeps: Some(condition(1, 38_000.0, 1.0)),
            gap_ns: GAP.as_nanos() as u64,
            gaps: Vec::new(),
        };
        // 11 us of CPU over 0.99 wake-ups more per request.
        assert!((ok.wakeup_cpu_ns() - 11_000.0 / 0.99).abs() < 1e-6);
        assert_eq!(ok.peer_wakeup_cpu_ns(), Some(8_000.0));
        let older = NetworkWakeup {
            client_sleeps: None,
            ..ok.clone()
        };
        assert_eq!(older.peer_wakeup_cpu_ns(), None);
        assert_eq!(ok.doubt(), None);
        let spun = NetworkWakeup {
            blocking: condition(1, 30_000.0, 0.1),
            ..ok.clone()
        };
        assert!(spun.doubt().unwrap().contains("one in flight"));
        let polled = NetworkWakeup {
            blocking: Condition {
                halts_per_request: Some(0.1),
                ..ok.blocking.clone()
            },
            ..ok.clone()
        };
        assert!(polled.doubt().unwrap().contains("halted for only 0.10"));
        let unreadable = NetworkWakeup {
            blocking: Condition {
                halts_per_request: None,
                ..ok.blocking.clone()
            },
            ..ok.clone()
        };
        assert_eq!(unreadable.doubt(), None, "no cpuidle, no doubt");
        let starved = NetworkWakeup {
            queued: condition(4, 19_000.0, 0.9),
            ..ok
        };
        assert!(starved.doubt().unwrap().contains("4 in flight"));
    }

    #[test]
    fn a_short_run_measures_the_three_conditions() {
        if affinity::cores().len() < 2 {
            return;
        }
        let figures = measure(Duration::from_millis(50)).unwrap();
        eprintln!("{figures:?}: {} ns per wake-up", figures.wakeup_cpu_ns());
        // One request in flight: the server has to wait for each, so it blocks for most.
        assert!(
            figures.blocking.voluntary_switches_per_request >= 0.5,
            "{figures:?}"
        );
        assert!(
            figures.blocking.voluntary_switches_per_request
                > figures.queued.voluntary_switches_per_request,
            "{figures:?}"
        );
        assert!(figures.queued.thread_cpu_ns > 0.0, "{figures:?}");
        // A sleeping client is woken for every answer; the server blocks as often.
        let sleeps = figures.client_sleeps.as_ref().unwrap();
        assert!(sleeps.voluntary_switches_per_request >= 0.5, "{figures:?}");
        assert!(sleeps.rounds >= 2, "{figures:?}");
        assert_eq!(figures.gaps.len(), SWEEP_GAPS.len());
        assert_eq!(figures.gaps[0].gap_ns, Some(0));
        // One in flight: a round trip, and one at least as long as the server's CPU in it;
        // four in flight: none (a request waits behind the others).
        let trip = figures.blocking.round_trip_ns.unwrap();
        assert!(trip >= figures.blocking.thread_cpu_ns, "{figures:?}");
        assert_eq!(figures.queued.round_trip_ns, None);
    }
}
