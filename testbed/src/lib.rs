//! switchcost's testbed: real servers pinned to this machine's cores, driven by a real load
//! generator over loopback, with the simulator's prediction for the same workload beside every
//! measured point.
//!
//! ```text
//!  testbed load ──HTTP/1.1 over 127.0.0.1──▶ server (child process, pinned to --cores)
//!   (closed / open loop,                       threads | pool:N | may | tokio:1 | tokio
//!    HDR histograms,                           nginx | apache-prefork | apache-event | uvicorn
//!    /proc of the server)                             │
//!        │ measured figures                           │ same workload, cores, concurrency
//!        ▼                                            ▼
//!   point JSON { measured, predicted, error_percent } ◀── sim scenario (calibrate's costs)
//! ```
#![warn(missing_docs)]

pub mod cli;
pub mod codec;
pub mod error;
pub mod figures;
pub mod foreign;
pub mod grid;
pub mod handler;
pub mod interrupt;
pub mod kind;
pub mod load;
pub mod output;
pub mod point;
pub mod predict;
pub mod proc;
pub mod process;
pub mod run;
pub mod server;
pub mod workload;
