//! HTTP/1.0 and HTTP/1.1 on one connection: the head parsed with `httparse`, then held
//! to the rules of RFC 9112 and RFC 9110 that a server must keep (docs/reference.md,
//! "HTTP conformance", lists them with the tests that hold each).
//!
//! The thread that owns the connection serves its requests one after the other
//! (keep-alive) until the client closes it, asks to close it, stays idle past the read
//! timeout, or the server shuts down. While it does, it serves nobody else: that is
//! the blocking model, and why Flask's dev server answers one client at a time.

use std::time::Instant;

use crate::app::{App, Request, Response};
use crate::conn::{Conn, ReadEnd};

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
            Err(HeadError::Refused { status, reason }) => {
                return reject(conn, Response::error(status, reason))
            }
        };
        buf.drain(..head.len);

        // Bodies are not used, but must be consumed to find the next request.
        if let Err(end) = read_body(&mut conn, &mut buf, &head) {
            return match end {
                HeadError::Refused { status, reason } => {
                    reject(conn, Response::error(status, reason))
                }
                HeadError::TimedOutMidRequest => reject(
                    conn,
                    Response::error(408, "request body not received in time"),
                ),
                HeadError::End => {}
            };
        }

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

/// Reads the request's body off the front of `buf` (reading more as needed) and drops
/// it. `Expect: 100-continue` is answered first, so a client that waits for it sends.
fn read_body(conn: &mut Conn, buf: &mut Vec<u8>, head: &Head) -> Result<(), HeadError> {
    let since = Instant::now();
    let timed_out = |end| match end {
        ReadEnd::TimedOut => HeadError::TimedOutMidRequest,
        _ => HeadError::End,
    };
    let wants_body = match head.body {
        Body::Length(len) if len > MAX_BODY_BYTES => {
            return Err(HeadError::refused(413, "request body too large"));
        }
        Body::Length(len) => buf.len() < len,
        Body::Chunked => buf.is_empty(),
    };
    if head.expect_continue && wants_body {
        conn.write_continue().map_err(|_| HeadError::End)?;
    }
    match head.body {
        Body::Length(len) => {
            conn.read_to_len(buf, len, since).map_err(timed_out)?;
            buf.drain(..len);
        }
        Body::Chunked => loop {
            if let Some(len) = parse_chunked(buf, MAX_BODY_BYTES)? {
                buf.drain(..len);
                break;
            }
            conn.read_more(buf, since, false).map_err(timed_out)?;
        },
    }
    Ok(())
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
                return Err(head_too_large(buf));
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

/// Largest request head (request line + headers) accepted; more is a 431 (or a 414 when
/// the request line alone is longer).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines accepted; more is a 431.
pub const MAX_HEADERS: usize = 64;
/// Largest request body read (and thrown away); a GET has none, so this is generous.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest chunk-size line (size and extensions) or trailer section of a chunked body.
pub const MAX_CHUNK_LINE_BYTES: usize = 1024;

/// How the request's body is framed (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `Content-Length: N` (no header: 0).
    Length(usize),
    /// `Transfer-Encoding: chunked`: read with [`parse_chunked`].
    Chunked,
}

/// What we keep of a parsed request head once the buffer it borrowed from moves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The origin-form target (path and query), also when the request sent the
    /// absolute-form (`http://host/path?query`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1 (and for HTTP/1.2 and later 1.x, served as 1.1).
    pub minor_version: u8,
    pub keep_alive: bool,
    pub body: Body,
    /// `Expect: 100-continue` on an HTTP/1.1 request: answer 100 before reading a body.
    pub expect_continue: bool,
    /// Bytes of the buffer the head took (the body, or the next request, follows).
    pub len: usize,
}

/// Why a request head could not be used; a refusal is answered, then the connection
/// closed (the framing of what follows cannot be trusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    End,
    /// A partial request and then silence: 408.
    TimedOutMidRequest,
    /// Answered with this status and one-line reason.
    Refused {
        status: u16,
        reason: String,
    },
}

impl HeadError {
    fn refused(status: u16, reason: impl Into<String>) -> HeadError {
        HeadError::Refused {
            status,
            reason: reason.into(),
        }
    }

    fn bad(reason: impl std::fmt::Display) -> HeadError {
        HeadError::refused(400, format!("bad request: {reason}"))
    }
}

/// The refusal for a buffer that reached [`MAX_HEAD_BYTES`] without a complete head:
/// 414 while the request line itself is not over, 431 otherwise.
pub fn head_too_large(buf: &[u8]) -> HeadError {
    // Blank lines before the request line are skipped (RFC 9112 section 2.2).
    let start = buf
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(buf.len());
    if buf[start..].contains(&b'\n') {
        HeadError::refused(
            431,
            format!("request headers too large: over {MAX_HEAD_BYTES} bytes"),
        )
    } else {
        HeadError::refused(
            414,
            format!("request line too long: over {MAX_HEAD_BYTES} bytes"),
        )
    }
}

/// Parses the request head at the start of `buf`; `Ok(None)` while it is incomplete.
///
/// `httparse` checks the syntax of the request line and the field lines (tokens, no
/// whitespace before a colon, no obs-fold, no bare CR or NUL); this function then holds
/// the rules of RFC 9112 and RFC 9110 on what the fields say: the request-target's form,
/// `Host`, and the body's framing (`Content-Length`, `Transfer-Encoding`). The table in
/// docs/reference.md ("HTTP conformance") lists each rule and the test that holds it.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::refused(
                431,
                format!("too many request headers: over {MAX_HEADERS}"),
            ))
        }
        Err(httparse::Error::Version) => return version_refusal(buf),
        Err(err) => return Err(HeadError::bad(syntax_reason(buf, err))),
    };
    // A complete parse always has these three.
    let (Some(method), Some(target), Some(minor_version)) =
        (request.method, request.path, request.version)
    else {
        return Err(HeadError::bad("incomplete request line"));
    };
    let target = origin_form(method, target)?;

    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told
    // to keep it (as `ab -k` does).
    let mut keep_alive = minor_version == 1;
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut codings: Vec<String> = Vec::new();
    let mut transfer_encoding = false;
    let mut expect_continue = false;
    for header in request.headers.iter() {
        let name = header.name;
        let value = std::str::from_utf8(header.value)
            .map_err(|_| HeadError::bad(format!("header {name} is not ASCII text")))?;
        if name.eq_ignore_ascii_case("connection") {
            for token in list(value) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("host") {
            hosts += 1;
            if !valid_host(value) {
                return Err(HeadError::bad(format!("Host {value:?} is not host[:port]")));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            // 1*DIGIT; a list (or repeated lines) of one value is that value.
            for element in value.split(',').map(|e| e.trim_matches([' ', '\t'])) {
                let length = content_length_value(element).ok_or_else(|| {
                    HeadError::bad(format!("Content-Length {value:?} is not a number"))
                })?;
                if content_length.is_some_and(|seen| seen != length) {
                    return Err(HeadError::bad("differing Content-Length values"));
                }
                content_length = Some(length);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            codings.extend(list(value).map(|coding| {
                let name = coding.split(';').next().unwrap_or_default();
                name.trim_matches([' ', '\t']).to_ascii_lowercase()
            }));
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue |= list(value).any(|e| e.eq_ignore_ascii_case("100-continue"));
        }
    }
    if minor_version == 1 && hosts == 0 {
        return Err(HeadError::bad("an HTTP/1.1 request needs a Host header"));
    }
    if hosts > 1 {
        return Err(HeadError::bad("more than one Host header"));
    }
    let body = if transfer_encoding {
        framing_by_transfer_encoding(minor_version, content_length.is_some(), &codings)?
    } else {
        // Past usize (or the body bound) is refused by the caller with a 413.
        Body::Length(content_length.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)))
    };
    Ok(Some(Head {
        method: method.to_owned(),
        target,
        minor_version,
        keep_alive,
        body,
        // An HTTP/1.0 client does not know 100 (RFC 9110 section 10.1.1): ignored.
        expect_continue: expect_continue && minor_version == 1,
        len,
    }))
}

/// The non-empty elements of a comma-separated field value, trimmed.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|e| e.trim_matches([' ', '\t']))
        .filter(|e| !e.is_empty())
}

/// `Content-Length = 1*DIGIT`: no sign, no space inside, no hex. A value past u64 is
/// kept as u64::MAX (then refused as too large), never wrapped.
fn content_length_value(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}

/// The body framing a request with `Transfer-Encoding` has (RFC 9112 sections 6.1, 6.3).
fn framing_by_transfer_encoding(
    minor_version: u8,
    content_length: bool,
    codings: &[String],
) -> Result<Body, HeadError> {
    if minor_version == 0 {
        return Err(HeadError::bad(
            "Transfer-Encoding in an HTTP/1.0 request (framing is faulty)",
        ));
    }
    if content_length {
        return Err(HeadError::bad(
            "both Transfer-Encoding and Content-Length (framing is ambiguous)",
        ));
    }
    if codings.last().map(String::as_str) != Some("chunked") {
        return Err(HeadError::bad(
            "Transfer-Encoding does not end with chunked (body length unknown)",
        ));
    }
    if codings.iter().filter(|c| *c == "chunked").count() > 1 {
        return Err(HeadError::bad("chunked applied more than once"));
    }
    if let Some(other) = codings.iter().find(|c| *c != "chunked") {
        return Err(HeadError::refused(
            501,
            format!("transfer coding {other:?} is not implemented (only chunked)"),
        ));
    }
    Ok(Body::Chunked)
}

/// The path and query a request-target names (RFC 9112 section 3.2): origin-form as is;
/// absolute-form (which a server MUST accept) reduced to its path and query;
/// authority-form only with CONNECT and asterisk-form only with OPTIONS (both then
/// answered 405 by the router). Anything else is a 400.
fn origin_form(method: &str, target: &str) -> Result<String, HeadError> {
    let invalid = |why: &str| HeadError::bad(format!("request-target {target:?} {why}"));
    // Beyond what httparse allows: no fragment, no raw non-ASCII, well-formed escapes.
    if !target.is_ascii() {
        return Err(invalid("is not ASCII (percent-encode it)"));
    }
    if target.contains('#') {
        return Err(invalid("has a fragment"));
    }
    let bytes = target.as_bytes();
    for (at, _) in target.match_indices('%') {
        let escape = bytes.get(at + 1..at + 3);
        if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            return Err(invalid("has a bad %-escape"));
        }
    }
    if target.starts_with('/') {
        return Ok(target.to_owned());
    }
    if target == "*" {
        return if method == "OPTIONS" {
            Ok(target.to_owned())
        } else {
            Err(invalid("(asterisk-form) is only for OPTIONS"))
        };
    }
    if method == "CONNECT" {
        return Ok(target.to_owned());
    }
    let scheme_end = target
        .find("://")
        .ok_or_else(|| invalid("is not a path or a URL"))?;
    let scheme = &target[..scheme_end];
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(invalid("is not an http URL"));
    }
    let rest = &target[scheme_end + 3..];
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..path_start];
    // userinfo@ is deprecated in http URLs and never sent by clients (RFC 9110 4.2.4).
    if authority.is_empty() || authority.contains('@') || !valid_host(authority) {
        return Err(invalid("has a bad authority"));
    }
    let path = &rest[path_start..];
    Ok(if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    })
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 section 7.2); empty is valid (a URI
/// without an authority).
fn valid_host(value: &str) -> bool {
    let (host, port) = if let Some(literal) = value.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else {
            return false;
        };
        let ip_chars = |c: char| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | 'v' | 'V');
        if inside.is_empty() || !inside.chars().all(ip_chars) {
            return false;
        }
        match after {
            "" => ("", None),
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    // reg-name = *( unreserved / pct-encoded / sub-delims ), IPv4 included.
    let reg_name = |c: char| c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=".contains(c);
    host.chars().all(reg_name) && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An `HTTP-version` httparse refused: HTTP/1.2 and later minors are served as HTTP/1.1
/// (RFC 9110 section 2.5), another well-formed major version is a 505, anything else a
/// 400.
fn version_refusal(buf: &[u8]) -> Result<Option<Head>, HeadError> {
    let start = buf
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(buf.len());
    let line_end = buf[start..]
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .map_or(buf.len(), |at| start + at);
    let line = &buf[start..line_end];
    let Some(space) = line.iter().rposition(|&b| b == b' ') else {
        return Err(HeadError::bad("invalid request line"));
    };
    let version = &line[space + 1..];
    match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
            // Parse again as HTTP/1.1: the rest of the head decides.
            let mut copy = buf.to_vec();
            copy[start + space + 8] = b'1';
            parse_head(&copy)
        }
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(HeadError::refused(
                505,
                format!(
                    "HTTP version {} not supported: use HTTP/1.1 or HTTP/1.0",
                    String::from_utf8_lossy(version)
                ),
            ))
        }
        [b'H', b'T', b'T', b'P', b'/', major] if major.is_ascii_digit() => Err(HeadError::refused(
            505,
            format!(
                "HTTP version {} not supported: use HTTP/1.1 or HTTP/1.0",
                String::from_utf8_lossy(version)
            ),
        )),
        // Still arriving: the version is complete only once its line ends.
        _ if line_end == buf.len() => Ok(None),
        _ => Err(HeadError::bad("invalid HTTP version")),
    }
}

/// A one-line reason for a head httparse refused, naming the RFC 9112 rule where the
/// line shows which.
fn syntax_reason(buf: &[u8], err: httparse::Error) -> String {
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |at| at + 2);
    let mut lines = buf[..head_end].split(|&b| b == b'\n');
    // Blank lines before the request line are skipped.
    let request_line = lines.by_ref().find(|l| !matches!(l, [] | [b'\r']));
    if request_line.is_some_and(|l| l.strip_suffix(b"\r").unwrap_or(l).contains(&b'\r')) {
        return "bare CR in the request line".into();
    }
    for (n, line) in lines.enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| matches!(b, b' ' | b'\t')) {
            return if n == 0 {
                "whitespace between the request line and the first header".into()
            } else {
                "obsolete line folding (obs-fold) is not accepted".into()
            };
        }
        if line.contains(&b'\r') {
            return "bare CR in the head".into();
        }
        if line.contains(&0) {
            return "NUL in a header".into();
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            if colon > 0 && matches!(line[colon - 1], b' ' | b'\t') {
                return "whitespace between a header name and its colon".into();
            }
        }
    }
    match err {
        httparse::Error::HeaderName => "invalid header name".into(),
        httparse::Error::HeaderValue => "invalid header value".into(),
        httparse::Error::Token | httparse::Error::NewLine => "invalid request line".into(),
        other => other.to_string(),
    }
}

/// Reads a chunked body (RFC 9112 section 7.1) at the start of `buf`: `Ok(Some(n))`
/// once the last chunk and the trailer section are in (`n` bytes, all of it),
/// `Ok(None)` while more is needed, or the refusal. Chunk extensions are ignored and
/// trailer fields dropped, as the rules allow; the data is not kept (the app takes no
/// body) but counts against `max_body`.
pub fn parse_chunked(buf: &[u8], max_body: usize) -> Result<Option<usize>, HeadError> {
    let mut at = 0;
    let mut data = 0usize;
    loop {
        let Some((line, next)) = chunk_line(buf, at)? else {
            return Ok(None);
        };
        let digits = line
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .unwrap_or(line.len());
        if digits == 0 {
            return Err(HeadError::bad("chunk size is not hexadecimal"));
        }
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): ignored, but it must
        // start as one and hold no control characters.
        let ext = &line[digits..];
        let ext_start = ext.iter().position(|b| !matches!(b, b' ' | b'\t'));
        if let Some(start) = ext_start {
            let valid = |&b: &u8| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80;
            if ext[start] != b';' || !ext.iter().all(valid) {
                return Err(HeadError::bad("invalid chunk extension"));
            }
        }
        let size = line[..digits].iter().try_fold(0usize, |n, &digit| {
            let value = (digit as char).to_digit(16).unwrap_or(0) as usize;
            n.checked_mul(16)?.checked_add(value)
        });
        data = match size.and_then(|size| data.checked_add(size)) {
            Some(total) if total <= max_body => total,
            _ => {
                return Err(HeadError::refused(
                    413,
                    format!("request body too large: over {max_body} bytes"),
                ))
            }
        };
        let size = size.unwrap_or(0);
        at = next;
        if size == 0 {
            break;
        }
        // chunk-data CRLF
        let Some(end) = at.checked_add(size).filter(|end| end + 2 <= buf.len()) else {
            return Ok(None);
        };
        if &buf[end..end + 2] != b"\r\n" {
            return Err(HeadError::bad("chunk data longer than its size"));
        }
        at = end + 2;
    }
    // trailer-section CRLF: field lines until an empty one.
    let trailer_start = at;
    loop {
        let Some((line, next)) = chunk_line(buf, at)? else {
            return Ok(None);
        };
        at = next;
        if line.is_empty() {
            return Ok(Some(at));
        }
        if at - trailer_start > MAX_CHUNK_LINE_BYTES {
            return Err(HeadError::refused(431, "trailer section too large"));
        }
        let colon = line.iter().position(|&b| b == b':');
        let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
        let valid = colon.is_some_and(|colon| {
            colon > 0
                && line[..colon].iter().all(token)
                && line[colon + 1..]
                    .iter()
                    .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
        });
        if !valid {
            return Err(HeadError::bad("invalid trailer field"));
        }
    }
}

/// The line starting at `at`, without its CRLF, and where the next one starts;
/// `Ok(None)` if it has not ended yet. A bare CR or LF is refused.
fn chunk_line(buf: &[u8], at: usize) -> Result<Option<(&[u8], usize)>, HeadError> {
    let rest = buf.get(at..).unwrap_or_default();
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > MAX_CHUNK_LINE_BYTES {
            return Err(HeadError::refused(431, "chunk line too long"));
        }
        return Ok(None);
    };
    if end > MAX_CHUNK_LINE_BYTES {
        return Err(HeadError::refused(431, "chunk line too long"));
    }
    let line = &rest[..end];
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(HeadError::bad("chunked body line without CRLF"));
    };
    if line.contains(&b'\r') {
        return Err(HeadError::bad("bare CR in a chunked body"));
    }
    Ok(Some((line, at + end + 1)))
}

/// The rules of RFC 9112 and RFC 9110 on a request head and a chunked body, one test a
/// rule (docs/reference.md, "HTTP conformance", names them); `tests/errors.rs` sends
/// the same requests to a running server.
#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Option<Head>, HeadError> {
        parse_head(text.as_bytes())
    }

    fn complete(text: &str) -> Head {
        match head(text) {
            Ok(Some(head)) => head,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn status(text: &str) -> u16 {
        match head(text) {
            Err(HeadError::Refused { status, .. }) => status,
            other => panic!("{text:?} not refused: {other:?}"),
        }
    }

    fn reason(text: &str) -> String {
        match head(text) {
            Err(HeadError::Refused { reason, .. }) => reason,
            other => panic!("{text:?} not refused: {other:?}"),
        }
    }

    /// A GET with `fields` (each ending in CRLF) after a Host.
    fn get(fields: &str) -> String {
        format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n")
    }

    #[test]
    fn content_length_is_one_or_more_digits() {
        for bad in ["+3", "-1", "0x3", "3.0", "3 3", "", "3a", "\u{b3}"] {
            let text = get(&format!("Content-Length: {bad}\r\n"));
            assert_eq!(status(&text), 400, "{bad:?}");
            assert!(reason(&text).contains("Content-Length"), "{bad:?}");
        }
        // Optional whitespace around the value is not part of it; leading zeros are digits.
        assert_eq!(
            complete(&get("Content-Length:  3 \r\n")).body,
            Body::Length(3)
        );
        assert_eq!(
            complete(&get("Content-Length: 003\r\n")).body,
            Body::Length(3)
        );
        assert_eq!(complete(&get("")).body, Body::Length(0));
    }

    #[test]
    fn a_content_length_past_any_integer_is_too_large_not_wrapped() {
        let text = get("Content-Length: 99999999999999999999999999\r\n");
        assert_eq!(complete(&text).body, Body::Length(usize::MAX));
    }

    #[test]
    fn differing_content_lengths_are_refused_and_repeats_of_one_are_one() {
        for fields in [
            "Content-Length: 3, 4\r\n",
            "Content-Length: 3\r\nContent-Length: 4\r\n",
            "Content-Length: 3,\r\n",
        ] {
            assert_eq!(status(&get(fields)), 400, "{fields:?}");
        }
        for fields in [
            "Content-Length: 3, 3\r\n",
            "Content-Length: 3\r\nContent-Length: 3\r\n",
        ] {
            assert_eq!(complete(&get(fields)).body, Body::Length(3), "{fields:?}");
        }
    }

    #[test]
    fn transfer_encoding_with_content_length_is_refused() {
        let text = get("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n");
        assert_eq!(status(&text), 400);
        assert!(reason(&text).contains("both"), "{}", reason(&text));
        let text = get("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n");
        assert_eq!(status(&text), 400);
    }

    #[test]
    fn chunked_must_be_the_final_coding_and_others_are_not_implemented() {
        for fields in [
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, chunked\r\n",
            "Transfer-Encoding: \r\n",
        ] {
            assert_eq!(status(&get(fields)), 400, "{fields:?}");
        }
        for fields in [
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: x-custom;q=1, chunked\r\n",
        ] {
            assert_eq!(status(&get(fields)), 501, "{fields:?}");
        }
        for fields in [
            "Transfer-Encoding: chunked\r\n",
            "Transfer-Encoding: Chunked \r\n",
        ] {
            assert_eq!(complete(&get(fields)).body, Body::Chunked, "{fields:?}");
        }
    }

    #[test]
    fn transfer_encoding_in_http_1_0_is_faulty_framing() {
        let text = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(status(text), 400);
    }

    #[test]
    fn http_1_1_needs_exactly_one_valid_host() {
        assert!(reason("GET / HTTP/1.1\r\n\r\n").contains("Host"));
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
        for bad in ["a b", "a/b", "a:b", "a:80:80", "[::1", "[::1]x", "a@b", "ä"] {
            let text = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(status(&text), 400, "{bad:?}");
        }
        for good in [
            "example.com",
            "example.com:3000",
            "127.0.0.1:80",
            "[::1]:8080",
            "",
            "a:",
        ] {
            let text = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert!(complete(&text).keep_alive, "{good:?}");
        }
        // HTTP/1.0 had no Host.
        assert_eq!(complete("GET / HTTP/1.0\r\n\r\n").minor_version, 0);
    }

    #[test]
    fn whitespace_between_a_field_name_and_its_colon_is_refused() {
        for fields in ["Host : x\r\n", "Host\t: x\r\n", "X-A : b\r\n"] {
            let text = format!("GET / HTTP/1.1\r\n{fields}\r\n");
            assert_eq!(status(&text), 400, "{fields:?}");
        }
        assert!(reason(&get("X-A : b\r\n")).contains("colon"));
    }

    #[test]
    fn obs_fold_is_refused() {
        let text = get("X-A: b\r\n c\r\n");
        assert_eq!(status(&text), 400);
        assert!(reason(&text).contains("obs-fold"), "{}", reason(&text));
        assert_eq!(status(&get("X-A: b\r\n\tc\r\n")), 400);
    }

    #[test]
    fn whitespace_before_the_first_field_is_refused() {
        let text = "GET / HTTP/1.1\r\n Host: x\r\n\r\n";
        assert_eq!(status(text), 400);
        assert!(reason(text).contains("whitespace"), "{}", reason(text));
    }

    #[test]
    fn bare_cr_nul_and_controls_are_refused() {
        for text in [
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n",
            "GET / HTTP/1.1\rHost: x\r\n\r\n",
            "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x01c\r\n\r\n",
            "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            assert_eq!(status(text), 400, "{text:?}");
        }
    }

    #[test]
    fn request_target_forms() {
        // absolute-form: a server MUST accept it; the path and query are served.
        let text = "GET http://example.com:3000/p?delay=0 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(complete(text).target, "/p?delay=0");
        let text = "GET HTTP://example.com?delay=0 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(complete(text).target, "/?delay=0");
        assert_eq!(
            complete("GET https://[::1]/ HTTP/1.1\r\nHost: x\r\n\r\n").target,
            "/"
        );
        // asterisk-form only for OPTIONS, authority-form only for CONNECT.
        assert_eq!(
            complete("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").target,
            "*"
        );
        assert_eq!(status("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(
            complete("CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n").target,
            "x:443"
        );
        for bad in [
            "x:443",
            "p",
            "ftp://x/",
            "http:///p",
            "http://u@x/",
            "/p#frag",
            "/%zz",
            "/%4",
            "/caf\u{e9}",
        ] {
            let text = format!("GET {bad} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(status(&text), 400, "{bad:?}");
        }
        assert_eq!(complete(&get("")).target, "/");
        assert_eq!(
            complete("GET /a%20b?c=%2F HTTP/1.1\r\nHost: x\r\n\r\n").target,
            "/a%20b?c=%2F"
        );
    }

    #[test]
    fn versions_it_cannot_serve_are_505_and_later_1_x_is_1_1() {
        for version in ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/2"] {
            let text = format!("GET / {version}\r\nHost: x\r\n\r\n");
            assert_eq!(status(&text), 505, "{version}");
        }
        // The HTTP/2 connection preface, sent to an HTTP/1 port.
        assert_eq!(status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
        let served = complete("GET / HTTP/1.2\r\nHost: x\r\n\r\n");
        assert_eq!((served.minor_version, served.keep_alive), (1, true));
        // Until the head is complete, HTTP/1.2 is "not yet", like any other.
        assert_eq!(head("GET / HTTP/1.2\r\nHost: x\r\n"), Ok(None));
        for bad in ["HTTP/x.1", "HTTP/1.1x", "http/1.1", "HTTP/11"] {
            let text = format!("GET / {bad}\r\nHost: x\r\n\r\n");
            assert_eq!(status(&text), 400, "{bad}");
        }
    }

    #[test]
    fn a_long_request_line_is_414_and_long_headers_431() {
        let long_target = format!("GET /{} HTTP/1.1", "a".repeat(MAX_HEAD_BYTES));
        let buf = &long_target.as_bytes()[..MAX_HEAD_BYTES];
        assert_eq!(head(std::str::from_utf8(buf).unwrap()), Ok(None));
        assert!(matches!(
            head_too_large(buf),
            HeadError::Refused { status: 414, .. }
        ));
        let long_field = format!("GET / HTTP/1.1\r\nX-A: {}", "a".repeat(MAX_HEAD_BYTES));
        let buf = &long_field.as_bytes()[..MAX_HEAD_BYTES];
        assert!(matches!(
            head_too_large(buf),
            HeadError::Refused { status: 431, .. }
        ));
        // Blank lines before the request line are not a request line.
        let mut blank_first = b"\r\n\r\n".to_vec();
        blank_first.extend_from_slice(&long_target.as_bytes()[..MAX_HEAD_BYTES]);
        assert!(matches!(
            head_too_large(&blank_first),
            HeadError::Refused { status: 414, .. }
        ));
    }

    #[test]
    fn connection_close_and_keep_alive() {
        assert!(!complete(&get("Connection: close\r\n")).keep_alive);
        assert!(!complete(&get("Connection: Upgrade, Close\r\n")).keep_alive);
        assert!(complete(&get("")).keep_alive);
        assert!(!complete("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn expect_100_continue_is_heard_on_http_1_1_only() {
        assert!(complete(&get("Expect: 100-continue\r\nContent-Length: 5\r\n")).expect_continue);
        assert!(!complete(&get("Content-Length: 5\r\n")).expect_continue);
        let http10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
        assert!(!complete(http10).expect_continue);
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped() {
        assert_eq!(
            complete("\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n").target,
            "/x"
        );
    }

    #[test]
    fn chunked_bodies_are_read_with_extensions_and_trailers() {
        let max = MAX_BODY_BYTES;
        let body = b"5\r\nhello\r\n6;ext=1;other\r\n world\r\n0\r\n\r\nNEXT";
        assert_eq!(parse_chunked(body, max), Ok(Some(body.len() - 4)));
        let trailers = b"1\r\na\r\n00 ; done\r\nX-Sum: 1\r\nX-B: two\r\n\r\n";
        assert_eq!(parse_chunked(trailers, max), Ok(Some(trailers.len())));
        for cut in 0..body.len() - 4 {
            assert_eq!(parse_chunked(&body[..cut], max), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bad_chunked_bodies_are_refused() {
        let max = MAX_BODY_BYTES;
        let refused = |bytes: &[u8]| match parse_chunked(bytes, max) {
            Err(HeadError::Refused { status, .. }) => status,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        };
        for bad in [
            &b"x\r\n"[..],
            b"+5\r\nhello\r\n0\r\n\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello!\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
            b"5\r\nhello\r\n0\r\n: x\r\n\r\n",
            b"5;a\rb\r\nhello\r\n0\r\n\r\n",
            b"5;\x01\r\nhello\r\n0\r\n\r\n",
        ] {
            assert_eq!(refused(bad), 400, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(refused(b"10001\r\n"), 413);
        assert_eq!(refused(b"FFFFFFFFFFFFFFFFFFFFFFFF\r\n"), 413);
        let long_ext = format!("1;{}\r\n", "e".repeat(MAX_CHUNK_LINE_BYTES + 1));
        assert_eq!(refused(long_ext.as_bytes()), 431);
    }
}
