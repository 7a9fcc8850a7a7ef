//! The load generator's side of HTTP/1.x: the request it sends and an incremental parser that
//! finds where each response ends (Content-Length, chunked, or the server's close) without
//! keeping the body.

/// The bytes of one GET request. Without keep-alive it asks the server to close, so every
/// request pays for its own connection, as `ab` without `-k` does.
pub(crate) fn request(host: &str, path: &str, keepalive: bool) -> Vec<u8> {
    let connection = if keepalive { "keep-alive" } else { "close" };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: testbed\r\nAccept: */*\r\n\
         Connection: {connection}\r\n\r\n"
    )
    .into_bytes()
}

/// Where a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// This many bytes still to come.
    Length(u64),
    /// Chunked: reading a chunk-size line.
    ChunkSize,
    /// Chunked: this many bytes of chunk data, then its CRLF.
    ChunkData(u64),
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer lines until an empty one.
    Trailer,
    /// No length: the body ends when the server closes.
    UntilClose,
}

/// What [`Response::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The response is not complete yet.
    More,
    /// The response is complete; the connection may be reused unless `close`.
    Done {
        /// The status code.
        status: u16,
        /// The server will close (or HTTP/1.0 without keep-alive): do not reuse.
        close: bool,
    },
}

/// A malformed response (the load generator counts it as an error of kind `bad_response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// One response being read.
#[derive(Debug, Default)]
pub(crate) struct Response {
    /// Header bytes so far (bodies are counted, not kept).
    head: Vec<u8>,
    /// Known once the header is complete.
    status: u16,
    close: bool,
    body: Option<Body>,
    /// The current chunk-size or trailer line.
    line: Vec<u8>,
}

/// Headers beyond this are a malformed response, not a reason to grow without bound.
const MAX_HEAD: usize = 64 * 1024;

impl Response {
    /// Ready for the next response on the same connection.
    pub(crate) fn reset(&mut self) {
        self.head.clear();
        self.line.clear();
        self.status = 0;
        self.close = false;
        self.body = None;
    }

    /// True once any byte of this response has arrived.
    pub(crate) fn started(&self) -> bool {
        !self.head.is_empty()
    }

    /// Consumes `bytes`. Bytes past the end of the response are ignored (the generator does
    /// not pipeline, so there are none from a correct server).
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<Parsed, Malformed> {
        if self.body.is_none() {
            let before = self.head.len();
            self.head.extend_from_slice(bytes);
            // Search from a little before the new bytes: the terminator may straddle reads.
            let from = before.saturating_sub(3);
            let Some(end) = find(&self.head[from..], b"\r\n\r\n").map(|i| from + i + 4) else {
                if self.head.len() > MAX_HEAD {
                    return Err(Malformed("header longer than 64 KiB"));
                }
                return Ok(Parsed::More);
            };
            self.parse_head(end)?;
            bytes = &bytes[end - before..];
            if (100..200).contains(&self.status) {
                // An interim response (100 Continue): the real one follows.
                let rest = bytes.to_vec();
                self.reset();
                return self.feed(&rest);
            }
        }
        self.feed_body(bytes)
    }

    /// The server closed the connection: the end of an until-close body, else an error.
    pub(crate) fn closed(&mut self) -> Result<Parsed, Malformed> {
        match self.body {
            Some(Body::UntilClose) => Ok(Parsed::Done {
                status: self.status,
                close: true,
            }),
            _ => Err(Malformed("connection closed before the response ended")),
        }
    }

    fn parse_head(&mut self, end: usize) -> Result<(), Malformed> {
        let head = std::str::from_utf8(&self.head[..end - 4])
            .map_err(|_| Malformed("header is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let http10 = match version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return Err(Malformed("status line is not HTTP/1.0 or HTTP/1.1")),
        };
        self.status = parts
            .next()
            .and_then(|code| code.parse().ok())
            .filter(|code| (100..600).contains(code))
            .ok_or(Malformed("status code is not a number from 100 to 599"))?;
        let mut length = None;
        let mut chunked = false;
        let mut keep_alive = !http10;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(Malformed("header line without a colon"));
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| Malformed("Content-Length is not a number"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") {
                        keep_alive = true;
                    }
                }
            }
        }
        let no_body = self.status == 204 || self.status == 304 || self.status < 200;
        self.body = Some(if no_body {
            Body::Length(0)
        } else if chunked {
            Body::ChunkSize
        } else if let Some(n) = length {
            Body::Length(n)
        } else {
            keep_alive = false;
            Body::UntilClose
        });
        self.close = !keep_alive;
        Ok(())
    }

    fn feed_body(&mut self, mut bytes: &[u8]) -> Result<Parsed, Malformed> {
        loop {
            let Some(body) = self.body else {
                return Ok(Parsed::More);
            };
            match body {
                Body::Length(left) => {
                    let take = left.min(bytes.len() as u64);
                    if take == left {
                        return Ok(self.done());
                    }
                    self.body = Some(Body::Length(left - take));
                    return Ok(Parsed::More);
                }
                Body::UntilClose => return Ok(Parsed::More),
                Body::ChunkData(_) if bytes.is_empty() => return Ok(Parsed::More),
                Body::ChunkData(left) => {
                    let take = left.min(bytes.len() as u64);
                    bytes = &bytes[take as usize..];
                    self.body = Some(if take == left {
                        Body::ChunkEnd
                    } else {
                        Body::ChunkData(left - take)
                    });
                }
                Body::ChunkSize | Body::ChunkEnd | Body::Trailer => {
                    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(bytes);
                        if self.line.len() > 4096 {
                            return Err(Malformed("chunk line longer than 4 KiB"));
                        }
                        return Ok(Parsed::More);
                    };
                    self.line.extend_from_slice(&bytes[..newline]);
                    bytes = &bytes[newline + 1..];
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    match body {
                        Body::ChunkEnd if line.is_empty() => self.body = Some(Body::ChunkSize),
                        Body::ChunkEnd => return Err(Malformed("chunk not followed by CRLF")),
                        Body::Trailer if line.is_empty() => return Ok(self.done()),
                        Body::Trailer => {}
                        _ => {
                            let hex = std::str::from_utf8(line)
                                .ok()
                                .map(|l| l.split(';').next().unwrap_or("").trim())
                                .and_then(|h| u64::from_str_radix(h, 16).ok())
                                .ok_or(Malformed("chunk size is not hexadecimal"))?;
                            self.body = Some(if hex == 0 {
                                Body::Trailer
                            } else {
                                Body::ChunkData(hex)
                            });
                        }
                    }
                }
            }
        }
    }

    fn done(&mut self) -> Parsed {
        let parsed = Parsed::Done {
            status: self.status,
            close: self.close,
        };
        self.reset();
        parsed
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_bytewise(text: &[u8]) -> Result<Parsed, Malformed> {
        let mut r = Response::default();
        for (i, b) in text.iter().enumerate() {
            match r.feed(std::slice::from_ref(b))? {
                Parsed::More => {}
                done => {
                    assert_eq!(i, text.len() - 1, "ended early at byte {i}");
                    return Ok(done);
                }
            }
        }
        Ok(Parsed::More)
    }

    #[test]
    fn content_length_ends_the_response_even_split_byte_by_byte() {
        let text = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            feed_bytewise(text),
            Ok(Parsed::Done {
                status: 200,
                close: false
            })
        );
        let mut r = Response::default();
        assert_eq!(r.feed(&text[..text.len() - 1]), Ok(Parsed::More));
        assert!(r.started());
    }

    #[test]
    fn chunked_bodies_end_at_the_zero_chunk() {
        let text = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5;x=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(
            feed_bytewise(text),
            Ok(Parsed::Done {
                status: 503,
                close: false
            })
        );
    }

    #[test]
    fn http10_closes_unless_keep_alive_and_lengthless_bodies_end_at_close() {
        let mut r = Response::default();
        let parsed = r.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            parsed,
            Ok(Parsed::Done {
                status: 200,
                close: true
            })
        );
        let parsed =
            r.feed(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            parsed,
            Ok(Parsed::Done {
                status: 200,
                close: false
            })
        );
        assert_eq!(r.feed(b"HTTP/1.1 200 OK\r\n\r\nabc"), Ok(Parsed::More));
        assert_eq!(
            r.closed(),
            Ok(Parsed::Done {
                status: 200,
                close: true
            })
        );
    }

    #[test]
    fn garbage_and_early_close_are_errors() {
        let mut r = Response::default();
        assert!(r.feed(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        let mut r = Response::default();
        assert_eq!(
            r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Ok(Parsed::More)
        );
        assert!(r.closed().is_err());
    }

    #[test]
    fn interim_responses_are_skipped() {
        let mut r = Response::default();
        let parsed = r.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No\r\n\r\n");
        assert_eq!(
            parsed,
            Ok(Parsed::Done {
                status: 204,
                close: false
            })
        );
    }
}
