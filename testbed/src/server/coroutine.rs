//! `may`: one stackful coroutine per connection, on one may worker thread per server core.
//!
//! Cooperative: a coroutine leaves its worker only when it blocks on may's sockets or sleeps
//! on may's timer, never in the middle of a cpu step.

use std::net::TcpListener;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::Arc;
use std::time::Duration;

use super::{accept_failed, serve_blocking};
use crate::handler::Handler;

/// Coroutine stack, in machine words as may counts it (64 KiB): more than may's default 32 KiB
/// because formatting an error message inside a coroutine can need it.
const STACK_WORDS: usize = 0x2000;

/// Configures may for `cores` workers (left to the process's core mask, not pinned one each,
/// like tokio's workers) and runs the accept loop in a coroutine.
pub(super) fn run(
    listener: TcpListener,
    handler: Arc<Handler>,
    cores: usize,
) -> anyhow::Result<()> {
    may::config().set_workers(cores).set_stack_size(STACK_WORDS);
    may::config().set_worker_pin(false);
    let fd = listener.into_raw_fd();
    let acceptor = move || {
        // SAFETY: `fd` is the listening socket we just released from std; may takes sole
        // ownership of it here.
        let listener = unsafe { may::net::TcpListener::from_raw_fd(fd) };
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let handler = Arc::clone(&handler);
                    let connection =
                        move || serve_blocking(stream, &handler, may::coroutine::sleep);
                    // SAFETY: may's spawn is unsafe because a coroutine may move between
                    // workers, breaking thread-local storage held across a switch; the handler
                    // and codec keep no thread-locals.
                    unsafe { may::coroutine::spawn(connection) };
                }
                Err(error) => {
                    if accept_failed(&error) {
                        may::coroutine::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
    };
    // SAFETY: as above; the accept loop keeps no thread-locals either.
    let accepting = unsafe { may::coroutine::spawn(acceptor) };
    accepting
        .join()
        .map_err(|_| anyhow::anyhow!("the may accept loop panicked"))
}
