//! The uwsgi wire protocol, as nginx's `uwsgi_pass` speaks it and uWSGI's
//! `--protocol uwsgi` serves it: the article's nginx -> uWSGI topology. app_sync (threads)
//! and app_async (an event loop) both read requests with this module; each does its own
//! I/O.
//!
//! A request is one packet, then the request body:
//!
//! ```text
//! modifier1: u8 | datasize: u16 little-endian | modifier2: u8     (4-byte header)
//! datasize bytes of vars, each: u16 LE key length, key, u16 LE value length, value
//! ```
//!
//! The vars are the CGI/WSGI environ (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`,
//! `CONTENT_LENGTH`, `HTTP_*`, ...), chosen by nginx's `uwsgi_param` lines. The answer
//! is a plain HTTP response (status line, headers, body), as uWSGI writes it, and the
//! connection then closes: one request per connection, as nginx expects by default.
//!
//! Bounds: the vars block is at most 65,535 bytes (its length is a u16), the body at
//! most [`MAX_BODY_BYTES`] (read and thrown away: the app takes no body).

/// The packet header's length.
pub const HEADER_LEN: usize = 4;

/// `modifier1` for a WSGI request, what nginx sends unless `uwsgi_modifier1` says otherwise.
pub const MODIFIER1_WSGI: u8 = 0;

/// Largest request body accepted (and thrown away); past it, 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request this server will not serve: the status and the one-line reason to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

impl Rejection {
    fn bad(reason: impl std::fmt::Display) -> Rejection {
        Rejection {
            status: 400,
            reason: format!("bad request: {reason}"),
        }
    }
}

/// The whole packet's length (header and vars), from the first [`HEADER_LEN`] bytes of
/// `buf`: how much to read before [`parse_packet`].
pub fn packet_len(buf: &[u8]) -> Result<usize, Rejection> {
    let [modifier1, low, high, _modifier2, ..] = *buf else {
        return Err(Rejection::bad("truncated uwsgi header"));
    };
    if modifier1 != MODIFIER1_WSGI {
        return Err(Rejection::bad(format!(
            "uwsgi modifier1 {modifier1} is not supported (only 0)"
        )));
    }
    Ok(HEADER_LEN + usize::from(u16::from_le_bytes([low, high])))
}

/// Parses a whole packet (what [`packet_len`] covers) into the request the app serves,
/// or the answer to refuse it with.
pub fn parse_packet(packet: &[u8]) -> Result<Request<'_>, Rejection> {
    let len = packet_len(packet)?;
    let block = packet
        .get(HEADER_LEN..len)
        .ok_or_else(|| Rejection::bad("truncated uwsgi packet"))?;
    request(block)
}

/// Splits the vars block into (key, value) pairs.
pub fn parse_vars(mut block: &[u8]) -> Result<Vec<(&str, &str)>, String> {
    let mut vars = Vec::new();
    while !block.is_empty() {
        let (key, rest) = take_string(block).ok_or("truncated uwsgi var key")?;
        let (value, rest) = take_string(rest).ok_or("truncated uwsgi var value")?;
        let key = std::str::from_utf8(key).map_err(|_| "uwsgi var name is not UTF-8")?;
        let value =
            std::str::from_utf8(value).map_err(|_| format!("uwsgi var {key} is not UTF-8"))?;
        vars.push((key, value));
        block = rest;
    }
    Ok(vars)
}

/// One u16-LE-length-prefixed string, and what follows it.
fn take_string(block: &[u8]) -> Option<(&[u8], &[u8])> {
    let len_bytes = block.get(..2)?;
    let len = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
    let rest = &block[2..];
    Some((rest.get(..len)?, &rest[len..]))
}

/// What the app needs of a request's vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Still percent-encoded, as in a URL.
    pub query: &'a str,
    /// `HTTP/1.0` or `HTTP/1.1`: what to answer with.
    pub protocol: &'a str,
    /// Body bytes that follow the vars (at most [`MAX_BODY_BYTES`]).
    pub content_length: usize,
}

/// Parses a vars block into the request the app serves, or the answer to refuse it with.
fn request(block: &[u8]) -> Result<Request<'_>, Rejection> {
    let vars = parse_vars(block).map_err(Rejection::bad)?;
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };
    let content_length = match var("CONTENT_LENGTH").filter(|v| !v.is_empty()) {
        None => 0,
        // 1*DIGIT, as HTTP's Content-Length: `str::parse` would also take "+3".
        Some(raw) if !raw.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(Rejection::bad(format!(
                "CONTENT_LENGTH {raw:?} is not a number"
            )))
        }
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n <= MAX_BODY_BYTES => n,
            // Digits past usize: too large, like any other.
            _ => {
                return Err(Rejection {
                    status: 413,
                    reason: "request body too large".into(),
                })
            }
        },
    };
    let method = var("REQUEST_METHOD").ok_or_else(|| Rejection::bad("no REQUEST_METHOD var"))?;
    // nginx's stock uwsgi_params send PATH_INFO as $document_uri; fall back on
    // REQUEST_URI for configurations that only pass that.
    let request_uri = var("REQUEST_URI").unwrap_or("/");
    let path = var("PATH_INFO")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| request_uri.split('?').next().unwrap_or("/"));
    Ok(Request {
        method,
        path,
        query: var("QUERY_STRING").unwrap_or(""),
        protocol: var("SERVER_PROTOCOL")
            .filter(|p| matches!(*p, "HTTP/1.0" | "HTTP/1.1"))
            .unwrap_or("HTTP/1.1"),
        content_length,
    })
}

/// Encodes vars as a uwsgi packet (header and vars), as nginx sends them: for tests and
/// fuzzing seeds.
pub fn encode_packet(vars: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (key, value) in vars {
        for part in [key, value] {
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            block.extend_from_slice(&len.to_le_bytes());
            block.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
        }
    }
    let size = u16::try_from(block.len()).unwrap_or(u16::MAX);
    let mut packet = vec![MODIFIER1_WSGI];
    packet.extend_from_slice(&size.to_le_bytes());
    packet.push(0);
    packet.extend_from_slice(&block);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(vars: &[(&str, &str)]) -> Vec<u8> {
        encode_packet(vars).split_off(HEADER_LEN)
    }

    #[test]
    fn vars_round_trip() {
        let vars = [
            ("REQUEST_METHOD", "GET"),
            ("QUERY_STRING", ""),
            ("PATH_INFO", "/"),
        ];
        assert_eq!(parse_vars(&block(&vars)).unwrap(), vars.to_vec());
        assert_eq!(parse_vars(&[]).unwrap(), vec![]);
        let packet = encode_packet(&vars);
        assert_eq!(packet_len(&packet).unwrap(), packet.len());
        assert_eq!(parse_packet(&packet).unwrap().path, "/");
        assert!(parse_packet(&packet[..packet.len() - 1]).is_err());
    }

    #[test]
    fn truncated_vars_are_refused() {
        let block = block(&[("REQUEST_METHOD", "GET")]);
        for cut in 1..block.len() {
            assert!(parse_vars(&block[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_vars(&[0xff, 0xff, b'a']).is_err());
        assert!(parse_vars(&[1, 0, 0xff, 0, 0]).is_err());
    }

    #[test]
    fn a_request_takes_what_nginx_sends() {
        let packet = encode_packet(&[
            ("REQUEST_METHOD", "GET"),
            ("REQUEST_URI", "/?delay=1"),
            ("PATH_INFO", ""),
            ("QUERY_STRING", "delay=1"),
            ("SERVER_PROTOCOL", "HTTP/1.0"),
            ("CONTENT_LENGTH", ""),
        ]);
        let request = parse_packet(&packet).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/");
        assert_eq!(request.query, "delay=1");
        assert_eq!(request.protocol, "HTTP/1.0");
        assert_eq!(request.content_length, 0);
    }

    #[test]
    fn bad_requests_are_refused_with_a_status_and_a_reason() {
        let no_method = parse_packet(&encode_packet(&[("PATH_INFO", "/")])).unwrap_err();
        assert_eq!(no_method.status, 400);
        assert!(no_method.reason.contains("REQUEST_METHOD"));
        let too_big = encode_packet(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "999999")]);
        assert_eq!(parse_packet(&too_big).unwrap_err().status, 413);
        for bad in ["x", "+3", "-1", " 3", "3 ", "0x10", "1_0"] {
            let not_a_number =
                encode_packet(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", bad)]);
            assert_eq!(
                parse_packet(&not_a_number).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
        let huge = encode_packet(&[
            ("REQUEST_METHOD", "POST"),
            ("CONTENT_LENGTH", "99999999999999999999999"),
        ]);
        assert_eq!(parse_packet(&huge).unwrap_err().status, 413);
        assert_eq!(packet_len(&[5, 0, 0, 0]).unwrap_err().status, 400);
        assert_eq!(packet_len(&[0, 0]).unwrap_err().status, 400);
    }
}
