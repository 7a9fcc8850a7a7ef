//! The URL under load, accepted only on a loopback address: the testbed never sends load
//! anywhere but this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::error::usage;

/// A parsed `http://` URL on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The `Host` header: the URL's host and port as written.
    pub host_header: String,
    /// The request target, `/` when the URL has no path.
    pub path: String,
}

impl Target {
    /// Parses `url`. Only `http://` on 127.0.0.0/8, `[::1]` or `localhost` (taken as
    /// 127.0.0.1, without asking a resolver); anything else is a usage error (exit 2). Names
    /// are never resolved, so no lookup leaves the machine.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let fix = "write e.g. http://127.0.0.1:8080/";
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            if url.starts_with("https://") {
                usage(format!(
                    "`{url}`: https is not supported (loopback HTTP/1.1 only); {fix}"
                ))
            } else {
                usage(format!("`{url}` is not an http:// URL; {fix}"))
            }
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(usage(format!(
                "`{url}`: user info in URLs is not supported; {fix}"
            )));
        }
        let (host, port) = split_port(authority).ok_or_else(|| {
            usage(format!(
                "`{url}`: the port is not a number from 1 to 65535; {fix}"
            ))
        })?;
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            let literal = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            literal.parse().map_err(|_| {
                usage(format!(
                    "`{url}`: `{host}` is not a loopback address; the load generator only \
                     loads this machine: 127.0.0.1 (any 127.x.y.z), [::1] or localhost"
                ))
            })?
        };
        if !ip.is_loopback() {
            return Err(usage(format!(
                "`{url}`: {ip} is not a loopback address; the load generator only loads this \
                 machine: 127.0.0.1 (any 127.x.y.z), [::1] or localhost"
            )));
        }
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            host_header: authority.to_string(),
            path: path.to_string(),
        })
    }

    /// One connection before the run, so a server that is not there fails at once with a
    /// message instead of as a run of connect errors (exit 1).
    pub fn probe(&self, timeout: Duration) -> anyhow::Result<()> {
        TcpStream::connect_timeout(&self.addr, timeout.min(Duration::from_secs(2)))
            .map(drop)
            .map_err(|e| {
                anyhow::anyhow!(
                    "could not connect to {}: {e}; is the server running and listening there?",
                    self.addr
                )
            })
    }
}

/// `host:port` or `[v6]:port` (port 80 when absent).
fn split_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let host = &authority[..=close];
        match &authority[close + 1..] {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => 80,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0)?,
    };
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

    fn refused(url: &str) -> String {
        let error = Target::parse(url).unwrap_err();
        assert_eq!(exit_code(&error), 2, "{url}");
        error.to_string()
    }

    #[test]
    fn loopback_addresses_are_accepted() {
        let t = Target::parse("http://127.0.0.1:8080/sleep?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path, "/sleep?x=1");
        assert_eq!(t.host_header, "127.0.0.1:8080");
        let t = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!(t.addr, "[::1]:9000".parse().unwrap());
        assert_eq!(t.path, "/");
        let t = Target::parse("http://localhost:81/").unwrap();
        assert_eq!(t.addr, "127.0.0.1:81".parse().unwrap());
        assert_eq!(t.host_header, "localhost:81");
        assert_eq!(Target::parse("http://127.1.2.3").unwrap().addr.port(), 80);
    }

    #[test]
    fn anything_else_is_refused_without_a_lookup() {
        assert!(refused("http://10.0.0.1:80/").contains("not a loopback"));
        assert!(refused("http://example.com/").contains("not a loopback"));
        assert!(refused("http://localhost.example.com:80/").contains("not a loopback"));
        assert!(refused("http://[2001:db8::1]:80/").contains("not a loopback"));
        assert!(refused("http://0.0.0.0:80/").contains("not a loopback"));
        assert!(refused("https://127.0.0.1/").contains("https"));
        assert!(refused("127.0.0.1:80").contains("http://"));
        assert!(refused("http://127.0.0.1:0/").contains("port"));
        assert!(refused("http://127.0.0.1:http/").contains("port"));
        assert!(refused("http://u@127.0.0.1/").contains("user info"));
    }
}
