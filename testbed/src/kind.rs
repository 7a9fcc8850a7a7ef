//! The servers the testbed can run, by the name the command line uses (`threads`, `pool:40`,
//! `may`, `tokio:1`, `tokio`, `nginx`, `apache-prefork`, `apache-event`, `uvicorn-def`,
//! `uvicorn-async`).

use std::fmt;
use std::str::FromStr;

/// One kind of server: written here in Rust, or a third-party server the testbed starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ServerKind {
    /// One OS thread per connection, unbounded (Apache-style thread per request).
    Threads,
    /// N worker threads taking connections from an accept queue (gunicorn sync workers).
    Pool(u32),
    /// Stackful coroutines of the `may` crate on its worker threads (one per server core).
    May,
    /// tokio's current-thread runtime: one event loop.
    Tokio1,
    /// tokio's multi-thread runtime, one worker per server core.
    Tokio,
    /// Debian's nginx, one worker, serving a 1 KiB static file.
    Nginx,
    /// Debian's apache2 with mpm_prefork (processes = MaxRequestWorkers), a 1 KiB static file.
    ApachePrefork,
    /// Debian's apache2 with mpm_event (a thread pool; the event loop holds idle connections).
    ApacheEvent,
    /// W2's FastAPI app under uvicorn, `def` endpoint with `time.sleep` (thread pool of 40).
    UvicornDef,
    /// W2's FastAPI app under uvicorn, `async def` endpoint with `asyncio.sleep` (one loop).
    UvicornAsync,
}

impl ServerKind {
    /// Every kind, in the order the grid runs them (`pool` with its default 40 workers).
    pub const ALL: [ServerKind; 10] = [
        ServerKind::Threads,
        ServerKind::Pool(40),
        ServerKind::May,
        ServerKind::Tokio1,
        ServerKind::Tokio,
        ServerKind::Nginx,
        ServerKind::ApachePrefork,
        ServerKind::ApacheEvent,
        ServerKind::UvicornDef,
        ServerKind::UvicornAsync,
    ];

    /// True for the servers written here, which run the configurable step handler; the
    /// third-party ones serve their own fixed page (a static file, W2's `/sleep`).
    pub fn is_in_tree(self) -> bool {
        matches!(
            self,
            ServerKind::Threads
                | ServerKind::Pool(_)
                | ServerKind::May
                | ServerKind::Tokio1
                | ServerKind::Tokio
        )
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerKind::Threads => f.write_str("threads"),
            ServerKind::Pool(n) => write!(f, "pool:{n}"),
            ServerKind::May => f.write_str("may"),
            ServerKind::Tokio1 => f.write_str("tokio:1"),
            ServerKind::Tokio => f.write_str("tokio"),
            ServerKind::Nginx => f.write_str("nginx"),
            ServerKind::ApachePrefork => f.write_str("apache-prefork"),
            ServerKind::ApacheEvent => f.write_str("apache-event"),
            ServerKind::UvicornDef => f.write_str("uvicorn-def"),
            ServerKind::UvicornAsync => f.write_str("uvicorn-async"),
        }
    }
}

impl FromStr for ServerKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let known = "threads, pool:N, may, tokio:1, tokio, nginx, apache-prefork, apache-event, \
                     uvicorn-def, uvicorn-async";
        Ok(match text.trim() {
            "threads" => ServerKind::Threads,
            "may" => ServerKind::May,
            "tokio:1" => ServerKind::Tokio1,
            "tokio" => ServerKind::Tokio,
            "nginx" => ServerKind::Nginx,
            "apache-prefork" => ServerKind::ApachePrefork,
            "apache-event" => ServerKind::ApacheEvent,
            "uvicorn-def" => ServerKind::UvicornDef,
            "uvicorn-async" => ServerKind::UvicornAsync,
            "pool" => return Err("pool needs its worker count: write e.g. pool:40".into()),
            other => match other.strip_prefix("pool:") {
                Some(n) => match n.parse::<u32>() {
                    Ok(n) if (1..=100_000).contains(&n) => ServerKind::Pool(n),
                    _ => {
                        return Err(format!(
                            "`{other}`: a pool's worker count must be a whole number from 1 to \
                             100000, e.g. pool:40"
                        ));
                    }
                },
                None => return Err(format!("unknown server kind `{other}`; known: {known}")),
            },
        })
    }
}

impl From<ServerKind> for String {
    fn from(kind: ServerKind) -> String {
        kind.to_string()
    }
}

impl TryFrom<String> for ServerKind {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ServerKind::ALL {
            assert_eq!(kind.to_string().parse::<ServerKind>(), Ok(kind));
        }
    }

    #[test]
    fn bad_names_say_what_to_write() {
        assert!(
            "pool"
                .parse::<ServerKind>()
                .unwrap_err()
                .contains("pool:40")
        );
        assert!(
            "pool:0"
                .parse::<ServerKind>()
                .unwrap_err()
                .contains("1 to 100000")
        );
        assert!(
            "apache"
                .parse::<ServerKind>()
                .unwrap_err()
                .contains("known:")
        );
    }
}
