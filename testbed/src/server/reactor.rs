//! `tokio:1` and `tokio`: one task per connection on tokio's current-thread runtime (one event
//! loop) or its multi-thread runtime (work stealing over one worker per server core).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{accept_failed, next_seed};
use crate::codec::{self, Inbox};
use crate::handler::{Handler, Planned};

/// Runs the accept loop on a current-thread runtime (`workers` None) or a multi-thread one.
pub(super) fn run(
    listener: TcpListener,
    handler: Arc<Handler>,
    workers: Option<usize>,
) -> anyhow::Result<()> {
    let mut builder = match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        listener
            .set_nonblocking(true)
            .context("making the listen socket non-blocking")?;
        let listener =
            tokio::net::TcpListener::from_std(listener).context("handing the socket to tokio")?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, Arc::clone(&handler)));
                }
                Err(error) => {
                    if accept_failed(&error) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }
    })
}

/// The same loop as the blocking servers', with tokio's reads, writes and timer.
async fn connection(mut stream: TcpStream, handler: Arc<Handler>) {
    let _ = stream.set_nodelay(true);
    let mut inbox = Inbox::new();
    let mut set = handler.connection(next_seed());
    loop {
        match inbox.next_request() {
            Ok(Some(request)) => {
                for step in handler.steps() {
                    match *step {
                        // Runs on the worker without yielding, as a computing handler would.
                        Planned::Cpu(n) => handler.cpu(n, set.as_mut()),
                        Planned::Sleep(d) => tokio::time::sleep(d).await,
                    }
                }
                let answer = codec::response(request);
                if stream.write_all(answer).await.is_err() || !request.keep_alive {
                    return;
                }
            }
            Ok(None) => match stream.read(inbox.spare()).await {
                Ok(0) | Err(_) => return,
                Ok(n) => inbox.filled(n),
            },
            Err(_) => {
                let _ = stream.write_all(codec::BAD_REQUEST).await;
                return;
            }
        }
    }
}
