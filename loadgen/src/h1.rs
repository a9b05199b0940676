//! loadgen's HTTP/1.1 client: one request at a time on one connection, the way wrk
//! speaks it.
//!
//! A load sends the same request over and over, so its bytes are built once
//! ([`encode_request`]) and each exchange is one `write` of them and as many `read`s as
//! the response takes, parsed in place ([`httparse`] for the head, a small decoder for
//! the body). Nothing is allocated per request, no channel stands between the worker
//! and its socket, and the body is counted, not kept (hyper's client, which loadgen used
//! before, cost a dispatch channel, a `Request` and a `HeaderMap` per request).
//!
//! The response is framed as RFC 9112 section 6.3 says: no body after `HEAD`, 1xx, 204
//! and 304; `Transfer-Encoding: chunked`; `Content-Length`; otherwise up to the close.

use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Headers a response head may have; more is a malformed response (hyper's limit too).
const MAX_HEADERS: usize = 100;
/// Bytes a response head, a chunk-size line or the trailers may take.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// What one `read` asks for at least.
const READ_CHUNK: usize = 8 * 1024;

/// The bytes of a request: its head (request line, `headers` in order, a
/// `Content-Length` when there is a body or the method expects one) and its body.
pub(crate) fn encode_request(
    method: &http::Method,
    target: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let framed = headers.contains_key(http::header::CONTENT_LENGTH)
        || headers.contains_key(http::header::TRANSFER_ENCODING);
    let expects_body = matches!(
        *method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    );
    if !framed && (!body.is_empty() || expects_body) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// One client connection.
pub(crate) struct Connection<IO> {
    io: IO,
    /// Bytes read and not yet parsed.
    buf: BytesMut,
}

/// What a complete response measured.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    /// When its head was parsed.
    pub head_at: Instant,
    /// The final head's size on the wire (status line, headers, blank line).
    pub header_bytes: u64,
    /// The body's size once decoded (chunked framing not counted).
    pub body_bytes: u64,
    /// Its `Server` header.
    pub server: Option<String>,
    /// Whether the connection may carry another request.
    pub reusable: bool,
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The connection was closed or reset before a byte of the response came: on a
    /// kept-alive connection, the server closed it while it was idle.
    Closed(String),
    /// The connection broke mid-response (cut short, reset).
    Receive(String),
    /// The server sent something that is not an HTTP/1.x response.
    Parse(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Closed(msg) | Error::Receive(msg) | Error::Parse(msg) => f.write_str(msg),
        }
    }
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// The parsed head of a final response.
struct Head {
    status: u16,
    size: usize,
    framing: Framing,
    keep_alive: bool,
    server: Option<String>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    pub(crate) fn new(io: IO) -> Connection<IO> {
        Connection {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// Sends `request` (from [`encode_request`]) and reads the whole response. `head`:
    /// the request was a `HEAD`, so the response has no body whatever it says. Call it
    /// again only after a [`Response::reusable`] answer (a response that left bytes
    /// unread is not).
    pub(crate) async fn round_trip(
        &mut self,
        request: &[u8],
        head: bool,
    ) -> Result<Response, Error> {
        if let Err(err) = self.io.write_all(request).await {
            return Err(Error::Closed(format!("sending the request: {err}")));
        }
        let head = self.read_head(head).await?;
        let head_at = Instant::now();
        let body_bytes = match head.framing {
            Framing::Empty => 0,
            Framing::Length(length) => self.read_length(length).await?,
            Framing::Chunked => self.read_chunked().await?,
            Framing::UntilClose => self.read_to_close().await?,
        };
        let reusable =
            head.keep_alive && head.framing != Framing::UntilClose && self.buf.is_empty();
        Ok(Response {
            status: head.status,
            head_at,
            header_bytes: head.size as u64,
            body_bytes,
            server: head.server,
            reusable,
        })
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
            self.buf.reserve(READ_CHUNK);
        }
        self.io.read_buf(&mut self.buf).await
    }

    /// Reads until a final (non-1xx) response head is parsed, and consumes it.
    async fn read_head(&mut self, head_request: bool) -> Result<Head, Error> {
        let mut received_any = false;
        loop {
            if !self.buf.is_empty() {
                received_any = true;
                match parse_head(&self.buf, head_request)? {
                    Parsed::Interim(size) => {
                        self.buf.advance(size);
                        continue;
                    }
                    Parsed::Final(head) => {
                        self.buf.advance(head.size);
                        return Ok(head);
                    }
                    Parsed::Partial if self.buf.len() >= MAX_HEAD_BYTES => {
                        return Err(Error::Parse(format!(
                            "response head longer than {MAX_HEAD_BYTES} bytes"
                        )));
                    }
                    Parsed::Partial => {}
                }
            }
            match self.fill().await {
                Ok(0) if received_any => {
                    return Err(Error::Receive(
                        "connection closed before the response head was complete".to_owned(),
                    ))
                }
                Ok(0) => {
                    return Err(Error::Closed(
                        "connection closed before a response".to_owned(),
                    ))
                }
                Ok(_) => {}
                Err(err) if received_any => return Err(Error::Receive(err.to_string())),
                Err(err) => return Err(Error::Closed(err.to_string())),
            }
        }
    }

    /// Counts `length` body bytes.
    async fn read_length(&mut self, mut length: u64) -> Result<u64, Error> {
        let total = length;
        loop {
            let take = (self.buf.len() as u64).min(length);
            // `take` is at most buf.len(), a usize.
            self.buf.advance(take as usize);
            length -= take;
            if length == 0 {
                return Ok(total);
            }
            self.fill_body(total - length, Some(total)).await?;
        }
    }

    /// Counts the body up to the end of the stream.
    async fn read_to_close(&mut self) -> Result<u64, Error> {
        let mut total = 0u64;
        loop {
            total += self.buf.len() as u64;
            self.buf.clear();
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(total),
                Ok(_) => {}
                Err(err) => return Err(Error::Receive(err.to_string())),
            }
        }
    }

    /// Decodes a chunked body, counting its data, through the trailers.
    async fn read_chunked(&mut self) -> Result<u64, Error> {
        let mut decoder = Chunked::Size;
        let mut total = 0u64;
        loop {
            match decoder.advance(&mut self.buf, &mut total)? {
                true => return Ok(total),
                false => self.fill_body(total, None).await?,
            }
        }
    }

    /// Reads more of a body; the end of the stream is an error here.
    async fn fill_body(&mut self, got: u64, expected: Option<u64>) -> Result<(), Error> {
        match self.fill().await {
            Ok(0) => Err(Error::Receive(match expected {
                Some(expected) => {
                    format!("connection closed after {got} of {expected} body bytes")
                }
                None => format!("connection closed after {got} bytes of a chunked body"),
            })),
            Ok(_) => Ok(()),
            Err(err) => Err(Error::Receive(err.to_string())),
        }
    }
}

/// What [`parse_head`] found at the start of the buffer.
enum Parsed {
    /// Not all of the head yet.
    Partial,
    /// A 1xx head of this many bytes, to skip.
    Interim(usize),
    Final(Head),
}

fn parse_head(buf: &[u8], head_request: bool) -> Result<Parsed, Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let size = match response.parse(buf) {
        Ok(httparse::Status::Complete(size)) => size,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(err) => return Err(Error::Parse(format!("invalid response head: {err}"))),
    };
    let status = response.code.unwrap_or(0);
    let http11 = response.version == Some(1);
    if status == 101 {
        return Err(Error::Parse(
            "101 Switching Protocols to a request that asked for no upgrade".to_owned(),
        ));
    }
    if (100..200).contains(&status) {
        return Ok(Parsed::Interim(size));
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut server = None;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            for value in header.value.split(|&b| b == b',') {
                let parsed = parse_length(value).ok_or_else(|| {
                    Error::Parse(format!(
                        "invalid Content-Length {:?}",
                        String::from_utf8_lossy(header.value)
                    ))
                })?;
                if length.is_some_and(|seen| seen != parsed) {
                    return Err(Error::Parse("conflicting Content-Length values".to_owned()));
                }
                length = Some(parsed);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            // Chunked only if it is the last coding applied.
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("server") && server.is_none() {
            server = Some(String::from_utf8_lossy(header.value).into_owned());
        }
    }
    let framing = if head_request || matches!(status, 204 | 304) {
        Framing::Empty
    } else if transfer_encoding && http11 {
        // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok(Parsed::Final(Head {
        status,
        size,
        framing,
        keep_alive: !close && (http11 || keep_alive_token),
        server,
    }))
}

/// A Content-Length value: decimal digits only.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Where a chunked body's decoder is.
#[derive(Debug, Clone, Copy)]
enum Chunked {
    /// At a chunk-size line.
    Size,
    /// Inside a chunk, with this many data bytes left.
    Data(u64),
    /// After a chunk's data, at its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
}

impl Chunked {
    /// Consumes what it can of `buf`, adding data bytes to `total`; true at the end of
    /// the body, false when it needs more bytes.
    fn advance(&mut self, buf: &mut BytesMut, total: &mut u64) -> Result<bool, Error> {
        loop {
            match *self {
                Chunked::Size => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(false);
                    };
                    let size = chunk_size(&line)?;
                    *self = if size == 0 {
                        Chunked::Trailers
                    } else {
                        Chunked::Data(size)
                    };
                }
                Chunked::Data(left) => {
                    if buf.is_empty() {
                        return Ok(false);
                    }
                    let take = (buf.len() as u64).min(left);
                    buf.advance(take as usize);
                    *total += take;
                    *self = if take == left {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left - take)
                    };
                }
                Chunked::DataEnd => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(false);
                    };
                    if !line.is_empty() {
                        return Err(Error::Parse("chunk data longer than its size".to_owned()));
                    }
                    *self = Chunked::Size;
                }
                Chunked::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(false);
                    };
                    if line.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Takes one line (without its CRLF or LF) off the front of `buf`; `None` until it is
/// all there.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, Error> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let mut line = buf.split_to(end + 1);
            line.truncate(end);
            if line.last() == Some(&b'\r') {
                line.truncate(end - 1);
            }
            Ok(Some(line))
        }
        None if buf.len() >= MAX_HEAD_BYTES => Err(Error::Parse(format!(
            "a chunk-size or trailer line longer than {MAX_HEAD_BYTES} bytes"
        ))),
        None => Ok(None),
    }
}

/// A chunk-size line's size: hex digits, then optional `;extensions`.
fn chunk_size(line: &[u8]) -> Result<u64, Error> {
    let invalid = || {
        Error::Parse(format!(
            "invalid chunk size line {:?}",
            String::from_utf8_lossy(line)
        ))
    };
    let digits = line
        .split(|&b| b == b';')
        .next()
        .map(<[u8]>::trim_ascii)
        .unwrap_or_default();
    if digits.is_empty() {
        return Err(invalid());
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let digit = (d as char).to_digit(16).ok_or_else(invalid)?;
        n.checked_mul(16)
            .and_then(|n| n.checked_add(u64::from(digit)))
            .ok_or_else(invalid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// The exchange of a `GET` with a server that answers `raw` in `pieces`-byte writes
    /// and closes.
    fn exchange(raw: &[u8], pieces: usize) -> Result<Response, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let (client, mut server) = tokio::io::duplex(64 * 1024);
            let raw = raw.to_vec();
            let serve = async move {
                let mut request = vec![0u8; 1024];
                let _ = server.read(&mut request).await;
                for piece in raw.chunks(pieces.max(1)) {
                    let _ = server.write_all(piece).await;
                    tokio::task::yield_now().await;
                }
                let _ = server.shutdown().await;
                server
            };
            let mut conn = Connection::new(client);
            let (_server, response) =
                tokio::join!(serve, conn.round_trip(b"GET / HTTP/1.1\r\n\r\n", false));
            response
        })
    }

    #[test]
    fn a_length_framed_response_keeps_the_connection() {
        for pieces in [1, 7, 1000] {
            let response = exchange(
                b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello",
                pieces,
            )
            .expect("complete");
            assert_eq!(response.status, 200);
            assert_eq!(response.body_bytes, 5);
            assert_eq!(response.header_bytes, 49);
            assert_eq!(response.server.as_deref(), Some("x"));
            assert!(response.reusable);
        }
    }

    #[test]
    fn a_chunked_body_is_decoded_across_reads() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n";
        for pieces in [1, 3, 1000] {
            let response = exchange(raw, pieces).expect("complete");
            assert_eq!(response.body_bytes, 15);
            assert!(response.reusable);
        }
    }

    #[test]
    fn interim_responses_are_skipped() {
        let response = exchange(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            1000,
        )
        .expect("complete");
        assert_eq!(response.status, 204);
        assert_eq!(response.body_bytes, 0);
    }

    #[test]
    fn a_body_without_framing_runs_to_the_close() {
        let response = exchange(b"HTTP/1.0 200 OK\r\n\r\nabc", 2).expect("complete");
        assert_eq!(response.body_bytes, 3);
        assert!(!response.reusable);
    }

    #[test]
    fn connection_close_and_http10_end_the_connection() {
        let close = exchange(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            1000,
        )
        .expect("complete");
        assert!(!close.reusable);
        let kept = exchange(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            1000,
        )
        .expect("complete");
        assert!(kept.reusable);
    }

    #[test]
    fn failures_are_told_apart() {
        assert!(matches!(exchange(b"", 1), Err(Error::Closed(_))));
        assert!(matches!(
            exchange(b"HTTP/1.1 200 OK\r\n", 1),
            Err(Error::Receive(_))
        ));
        assert!(matches!(
            exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 1),
            Err(Error::Receive(_))
        ));
        assert!(matches!(
            exchange(b"SSH-2.0-OpenSSH\r\n\r\n", 1),
            Err(Error::Parse(_))
        ));
        assert!(matches!(
            exchange(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                1
            ),
            Err(Error::Parse(_))
        ));
        assert!(matches!(
            exchange(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                1
            ),
            Err(Error::Parse(_))
        ));
        assert!(matches!(
            exchange(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                1
            ),
            Err(Error::Receive(_))
        ));
    }

    #[test]
    fn requests_carry_a_length_when_they_have_a_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, http::HeaderValue::from_static("h:1"));
        let get = encode_request(&http::Method::GET, "/?a=1", &headers, b"");
        assert_eq!(get, b"GET /?a=1 HTTP/1.1\r\nhost: h:1\r\n\r\n");
        let post = encode_request(&http::Method::POST, "/", &headers, b"xy");
        assert_eq!(
            post,
            b"POST / HTTP/1.1\r\nhost: h:1\r\ncontent-length: 2\r\n\r\nxy"
        );
    }
}
