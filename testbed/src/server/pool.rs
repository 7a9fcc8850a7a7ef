//! `pool:N`: N worker threads, each taking the next connection from the listen socket's accept
//! queue and serving it until the client closes it (gunicorn sync workers, Apache prefork).
//! With more keep-alive connections than workers, the extra ones wait in the accept queue:
//! their connect succeeded, their first request sits unread until a worker frees up. There is
//! no idle timeout (Apache's `KeepAliveTimeout` would close an idle connection after 5 s), so
//! a closed-loop client that keeps more connections open than there are workers, and waits for
//! every one of them, stalls until its own time bound: `ab -k -c 10` against `pool:4` does.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::{THREAD_STACK_BYTES, accept_failed, serve_blocking};
use crate::handler::Handler;

/// Starts `workers` threads blocked in `accept` on the same socket (the kernel hands each
/// connection to one of them) and waits for them, which is forever.
pub(super) fn run(
    listener: TcpListener,
    handler: Arc<Handler>,
    workers: usize,
) -> anyhow::Result<()> {
    let mut threads = Vec::with_capacity(workers);
    for worker in 0..workers {
        let listener = listener.try_clone().context("sharing the listen socket")?;
        let handler = Arc::clone(&handler);
        let thread = std::thread::Builder::new()
            .name(format!("pool-{worker}"))
            .stack_size(THREAD_STACK_BYTES)
            .spawn(move || {
                loop {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            serve_blocking(stream, &handler, std::thread::sleep);
                        }
                        Err(error) => {
                            if accept_failed(&error) {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        }
                    }
                }
            })
            .with_context(|| format!("starting pool worker {worker} of {workers}"))?;
        threads.push(thread);
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}
