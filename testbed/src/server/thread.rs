//! `threads`: one OS thread per connection, unbounded, like Apache's thread per connection.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use super::{THREAD_STACK_BYTES, accept_failed, serve_blocking};
use crate::handler::Handler;

/// Accepts forever, starting a thread for each connection.
pub(super) fn run(listener: TcpListener, handler: Arc<Handler>) -> anyhow::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let handler = Arc::clone(&handler);
                let started = std::thread::Builder::new()
                    .stack_size(THREAD_STACK_BYTES)
                    .spawn(move || serve_blocking(stream, &handler, std::thread::sleep));
                if let Err(error) = started {
                    // The connection closes with the dropped closure; the client sees a reset.
                    eprintln!("testbed serve: could not start a connection thread: {error}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Err(error) => {
                if accept_failed(&error) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}
