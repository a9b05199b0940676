//! HTTP/1.0 and HTTP/1.1 on one connection, parsed with `httparse`.
//!
//! The thread that owns the connection serves its requests one after the other
//! (keep-alive) until the client closes it, asks to close it, stays idle past the read
//! timeout, or the server shuts down. While it does, it serves nobody else: that is
//! the blocking model, and why Flask's dev server answers one client at a time.

use std::time::Instant;

use crate::app::{App, Request, Response};
use crate::conn::{Conn, ReadEnd};

/// Largest request head (request line + headers) accepted; more is a 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines accepted; more is a 431.
pub const MAX_HEADERS: usize = 64;
/// Largest request body read (and thrown away); a GET has none, so this is generous.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What we keep of a parsed request head once the buffer it borrowed from moves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub target: String,
    /// `httparse`'s minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub keep_alive: bool,
    pub content_length: usize,
    pub chunked: bool,
    /// Bytes of the buffer the head took (the body, or the next request, follows).
    pub len: usize,
}

/// Why a request head could not be used; each is answered, then the connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    End,
    /// A partial request and then silence: 408.
    TimedOutMidRequest,
    Malformed(String),
    TooLarge(String),
}

/// Serves every request on `conn` until it ends.
pub fn serve(mut conn: Conn, app: &App) {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let head = match read_head(&mut conn, &mut buf) {
            Ok(head) => head,
            Err(HeadError::End) => return,
            Err(HeadError::TimedOutMidRequest) => {
                return reject(conn, Response::error(408, "request not received in time"));
            }
            Err(HeadError::Malformed(reason)) => {
                return reject(conn, Response::error(400, format!("bad request: {reason}")));
            }
            Err(HeadError::TooLarge(reason)) => return reject(conn, Response::error(431, reason)),
        };
        buf.drain(..head.len);

        if head.chunked {
            return reject(
                conn,
                Response::error(501, "chunked request bodies are not supported"),
            );
        }
        if head.content_length > MAX_BODY_BYTES {
            return reject(conn, Response::error(413, "request body too large"));
        }
        // Bodies are not used, but must be consumed to find the next request.
        if conn
            .read_to_len(&mut buf, head.content_length, Instant::now())
            .is_err()
        {
            return;
        }
        buf.drain(..head.content_length);

        let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
        let request = Request {
            method: &head.method,
            path,
            query,
        };
        let started = Instant::now();
        let response = app.handle(&request);
        tracing::debug!(
            "{} {} -> {} in {:?}",
            head.method,
            head.target,
            response.status,
            started.elapsed()
        );

        // After SIGTERM, finish this request but take no more on this connection.
        let keep_alive = head.keep_alive && !conn.stopping();
        let protocol = if head.minor_version == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        };
        if conn
            .write_response(protocol, &response, keep_alive, head.method == "HEAD")
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

/// Answers a request we will not serve, and closes the connection.
fn reject(mut conn: Conn, response: Response) {
    tracing::debug!("rejected: {} {}", response.status, response.body.trim_end());
    if conn
        .write_response("HTTP/1.1", &response, false, false)
        .is_ok()
    {
        conn.close_gently();
    }
}

/// Reads until `buf` starts with a complete request head, and parses it.
fn read_head(conn: &mut Conn, buf: &mut Vec<u8>) -> Result<Head, HeadError> {
    let since = Instant::now();
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf)? {
                return Ok(head);
            }
            if buf.len() >= MAX_HEAD_BYTES {
                return Err(HeadError::TooLarge(format!(
                    "request headers too large: over {MAX_HEAD_BYTES} bytes"
                )));
            }
        }
        // Between requests the connection is idle: shutdown may close it.
        match conn.read_more(buf, since, buf.is_empty()) {
            Ok(()) => {}
            Err(ReadEnd::TimedOut) if !buf.is_empty() => return Err(HeadError::TimedOutMidRequest),
            Err(_) => return Err(HeadError::End),
        }
    }
}

/// Parses the request head at the start of `buf`; `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::TooLarge(format!(
                "too many request headers: over {MAX_HEADERS}"
            )))
        }
        Err(err) => return Err(HeadError::Malformed(err.to_string())),
    };
    // A complete parse always has these three.
    let (Some(method), Some(target), Some(minor_version)) =
        (request.method, request.path, request.version)
    else {
        return Err(HeadError::Malformed("incomplete request line".to_owned()));
    };

    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told
    // to keep it (as `ab -k` does).
    let mut keep_alive = minor_version == 1;
    let mut content_length = 0;
    let mut chunked = false;
    for header in request.headers.iter() {
        let value = std::str::from_utf8(header.value).map_err(|_| {
            HeadError::Malformed(format!("header {} is not valid text", header.name))
        })?;
        if header.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            content_length = value.trim().parse().map_err(|_| {
                HeadError::Malformed(format!("Content-Length {value:?} is not a number"))
            })?;
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
    }
    Ok(Some(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        minor_version,
        keep_alive,
        content_length,
        chunked,
        len,
    }))
}
