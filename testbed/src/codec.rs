//! The one HTTP/1.x codec every in-tree server uses, so that per-kind overheads differ only by
//! how each kind schedules connections, never by how it parses.
//!
//! Hand-written and deliberately small: a request is a request line and headers, optionally a
//! `Content-Length` body (skipped); the answer is always the same short page with a
//! `Content-Length`. Keep-alive follows RFC 9112: HTTP/1.1 keeps the connection unless
//! `Connection: close`; HTTP/1.0 closes it unless `Connection: keep-alive` (what `ab -k`
//! sends). Pipelined requests are answered in order, one at a time, from one buffer
//! ([`Inbox`]) that any reader (std, `may` or tokio) fills.

/// The body of every successful answer.
pub const BODY: &[u8] = b"ok\n";

/// Longest request head (request line and headers) accepted; longer is a 400.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Longest request body accepted (and skipped); longer is a 400.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const OK_KEEP_ALIVE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\
Connection: keep-alive\r\n\r\nok\n";
const OK_CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/// The answer to a request the codec cannot read; the connection is closed after it.
pub const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\
Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n";

/// One parsed request: all the servers need to know is whether the connection stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Whether the client may send another request on this connection.
    pub keep_alive: bool,
}

/// Why a request was refused with [`BAD_REQUEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRequest(pub &'static str);

/// The fixed answer to `request`, with the `Connection` header matching its keep-alive.
pub fn response(request: Request) -> &'static [u8] {
    if request.keep_alive {
        OK_KEEP_ALIVE
    } else {
        OK_CLOSE
    }
}

/// Parses one request from the front of `buf`: `Ok(None)` when more bytes are needed, else the
/// request and how many bytes of `buf` it used (head and body), so a pipelined next request
/// starts right after it.
pub fn parse(buf: &[u8]) -> Result<Option<(Request, usize)>, BadRequest> {
    let Some(head_len) = find_head_end(buf) else {
        if buf.len() > MAX_HEAD_BYTES {
            return Err(BadRequest("request head longer than 8 KiB"));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_len - 4])
        .map_err(|_| BadRequest("request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest("request line is not METHOD TARGET VERSION"));
    };
    if method.is_empty() || !method.bytes().all(is_token) || target.is_empty() {
        return Err(BadRequest("bad method or target"));
    }
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(BadRequest("version is not HTTP/1.0 or HTTP/1.1")),
    };
    let mut body_len = 0usize;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(BadRequest("header line without a colon"))?;
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(BadRequest("bad header name"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            body_len = value
                .parse()
                .map_err(|_| BadRequest("Content-Length is not a number"))?;
            if body_len > MAX_BODY_BYTES {
                return Err(BadRequest("body longer than 64 KiB"));
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(BadRequest("chunked bodies are not supported"));
        }
    }
    let total = head_len + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some((Request { keep_alive }, total)))
}

/// Length of the head including its blank line, if `buf` holds all of it.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// RFC 9110's `tchar`: the bytes allowed in methods and header names.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A connection's receive buffer: readers append to [`Inbox::spare`], the server takes
/// complete requests with [`Inbox::next_request`]. Bytes after a request (the next pipelined
/// one, or a partial one) stay for the next call.
#[derive(Debug)]
pub struct Inbox {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

impl Inbox {
    /// An empty buffer sized for a few small requests.
    pub fn new() -> Inbox {
        Inbox {
            buf: vec![0; 4096],
            start: 0,
            end: 0,
        }
    }

    /// The next complete request, if the buffer holds one.
    pub fn next_request(&mut self) -> Result<Option<Request>, BadRequest> {
        match parse(&self.buf[self.start..self.end])? {
            Some((request, used)) => {
                self.start += used;
                Ok(Some(request))
            }
            None => Ok(None),
        }
    }

    /// Free space to read into; call [`Inbox::filled`] with how many bytes were read.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // A request longer than the buffer (parse refuses past its limits, so this
                // growth is bounded by MAX_HEAD_BYTES + MAX_BODY_BYTES).
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into [`Inbox::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies `bytes` in through `spare`, as many reads as it takes.
    fn feed(inbox: &mut Inbox, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let spare = inbox.spare();
            let n = spare.len().min(bytes.len());
            spare[..n].copy_from_slice(&bytes[..n]);
            inbox.filled(n);
            bytes = &bytes[n..];
        }
    }

    fn one(text: &str) -> Result<Option<(Request, usize)>, BadRequest> {
        parse(text.as_bytes())
    }

    #[test]
    fn http11_keeps_alive_unless_close() {
        let (r, n) = one("GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
        assert!(r.keep_alive);
        assert_eq!(n, 27);
        let (r, _) = one("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!r.keep_alive);
        assert_eq!(response(r), OK_CLOSE);
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let (r, _) = one("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!r.keep_alive);
        // What `ab -k` sends.
        let (r, _) = one("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(r.keep_alive);
        assert_eq!(response(r), OK_KEEP_ALIVE);
    }

    #[test]
    fn pipelined_requests_come_out_in_order() {
        let mut inbox = Inbox::new();
        let text = b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz\
GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /d";
        feed(&mut inbox, text);
        let keeps: Vec<bool> = std::iter::from_fn(|| inbox.next_request().unwrap())
            .map(|r| r.keep_alive)
            .collect();
        assert_eq!(keeps, vec![true, true, false]);
        // The partial fourth request waits for the rest of its head.
        assert_eq!(inbox.next_request().unwrap(), None);
        feed(&mut inbox, b" HTTP/1.0\r\n\r\n");
        assert_eq!(
            inbox.next_request().unwrap(),
            Some(Request { keep_alive: false })
        );
    }

    #[test]
    fn partial_reads_byte_by_byte() {
        let text = b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi";
        let mut inbox = Inbox::new();
        for (i, byte) in text.iter().enumerate() {
            assert_eq!(
                inbox.next_request().unwrap(),
                None,
                "complete after {i} bytes"
            );
            inbox.spare()[0] = *byte;
            inbox.filled(1);
        }
        assert_eq!(
            inbox.next_request().unwrap(),
            Some(Request { keep_alive: true })
        );
        assert_eq!(inbox.next_request().unwrap(), None);
    }

    #[test]
    fn buffer_compacts_and_grows() {
        let mut inbox = Inbox::new();
        let request = b"GET / HTTP/1.1\r\n\r\n";
        // Many requests through a 4 KiB buffer, read in odd-sized pieces.
        let stream: Vec<u8> = request
            .iter()
            .copied()
            .cycle()
            .take(request.len() * 1000)
            .collect();
        let mut served = 0;
        for piece in stream.chunks(777) {
            feed(&mut inbox, piece);
            while inbox.next_request().unwrap().is_some() {
                served += 1;
            }
        }
        assert_eq!(served, 1000);
        // One head longer than the initial buffer still parses.
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(6000));
        feed(&mut inbox, long.as_bytes());
        assert!(inbox.next_request().unwrap().is_some());
    }

    #[test]
    fn bad_requests_are_refused() {
        for bad in [
            "GET /\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.1\r\nno colon\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(one(bad).is_err(), "{bad:?} was accepted");
        }
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES));
        assert!(one(&huge).is_err());
        assert!(BAD_REQUEST.starts_with(b"HTTP/1.1 400 "));
        let body = BAD_REQUEST.split(|&b| b == b'\n').next_back().unwrap();
        assert!(body.is_empty(), "ends with a newline");
    }

    #[test]
    fn content_lengths_match_bodies() {
        for answer in [OK_KEEP_ALIVE, OK_CLOSE, BAD_REQUEST] {
            let text = std::str::from_utf8(answer).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("Content-Length: {}", body.len())));
        }
    }
}
