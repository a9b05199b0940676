//! The uwsgi wire protocol, as nginx's `uwsgi_pass` speaks it and uWSGI's
//! `--protocol uwsgi` serves it. This is the article's nginx -> uWSGI topology.
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

use std::time::Instant;

use crate::app::{App, Request, Response};
use crate::conn::Conn;

/// `modifier1` for a WSGI request, what nginx sends unless `uwsgi_modifier1` says otherwise.
const MODIFIER1_WSGI: u8 = 0;
/// Largest request body read (and thrown away); more is a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serves the one request on `conn`.
pub fn serve(mut conn: Conn, app: &App) {
    let since = Instant::now();
    let mut buf = Vec::with_capacity(1024);
    let header_read = loop {
        let idle = buf.is_empty();
        match conn.read_more(&mut buf, since, idle) {
            Ok(()) if buf.len() >= 4 => break true,
            Ok(()) => {}
            Err(_) => break false,
        }
    };
    if !header_read {
        return;
    }
    let len = match packet_len(&buf) {
        Ok(len) => len,
        Err(err) => return reject(conn, err.response()),
    };
    if conn.read_to_len(&mut buf, len, since).is_err() {
        return;
    }
    // Whatever followed the vars is the start of the request body.
    let mut body = buf.split_off(len);
    let Packet {
        method,
        path,
        query,
        protocol,
        content_length,
    } = match parse_packet(&buf) {
        Ok(packet) => packet,
        Err(err) => return reject(conn, err.response()),
    };

    // The body is not used, but nginx must be done sending before we answer.
    if conn.read_to_len(&mut body, content_length, since).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        query,
    };
    let response = app.handle(&request);
    tracing::debug!("uwsgi {method} {path}?{query} -> {}", response.status);
    let _ = conn.write_response(protocol, &response, false, method == "HEAD");
}

/// Why a uwsgi packet is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// 400, with the reason.
    Malformed(String),
    /// 413: a `CONTENT_LENGTH` over [`MAX_BODY_BYTES`].
    BodyTooLarge,
}

impl PacketError {
    fn response(&self) -> Response {
        match self {
            PacketError::Malformed(reason) => {
                Response::error(400, format!("bad request: {reason}"))
            }
            PacketError::BodyTooLarge => Response::error(413, "request body too large"),
        }
    }
}

/// What the request needs of a packet's vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// `HTTP/1.0` or `HTTP/1.1`: the status line's version.
    pub protocol: &'a str,
    pub content_length: usize,
}

/// The whole packet's length (4-byte header + vars) from its header (at least 4 bytes).
pub fn packet_len(header: &[u8]) -> Result<usize, PacketError> {
    let [modifier1, low, high, _modifier2, ..] = *header else {
        return Err(PacketError::Malformed("truncated uwsgi header".to_owned()));
    };
    if modifier1 != MODIFIER1_WSGI {
        return Err(PacketError::Malformed(format!(
            "uwsgi modifier1 {modifier1} is not supported (only 0)"
        )));
    }
    Ok(4 + usize::from(u16::from_le_bytes([low, high])))
}

/// Parses one complete packet (header and vars; what follows is body) into a request.
pub fn parse_packet(packet: &[u8]) -> Result<Packet<'_>, PacketError> {
    let len = packet_len(packet)?;
    let block = packet
        .get(4..len)
        .ok_or_else(|| PacketError::Malformed("truncated uwsgi packet".to_owned()))?;
    let vars = parse_vars(block).map_err(PacketError::Malformed)?;
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };

    let content_length = match var("CONTENT_LENGTH").filter(|v| !v.is_empty()) {
        None => 0,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n <= MAX_BODY_BYTES => n,
            Ok(_) => return Err(PacketError::BodyTooLarge),
            Err(_) => {
                return Err(PacketError::Malformed(format!(
                    "CONTENT_LENGTH {raw:?} is not a number"
                )))
            }
        },
    };
    let Some(method) = var("REQUEST_METHOD") else {
        return Err(PacketError::Malformed("no REQUEST_METHOD var".to_owned()));
    };
    // nginx's stock uwsgi_params send PATH_INFO as $document_uri; fall back on
    // REQUEST_URI for configurations that only pass that.
    let request_uri = var("REQUEST_URI").unwrap_or("/");
    let path = var("PATH_INFO")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| request_uri.split('?').next().unwrap_or("/"));
    let query = var("QUERY_STRING").unwrap_or("");
    let protocol = var("SERVER_PROTOCOL")
        .filter(|p| matches!(*p, "HTTP/1.0" | "HTTP/1.1"))
        .unwrap_or("HTTP/1.1");
    Ok(Packet {
        method,
        path,
        query,
        protocol,
        content_length,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(vars: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (key, value) in vars {
            for part in [key, value] {
                out.extend_from_slice(&u16::try_from(part.len()).unwrap().to_le_bytes());
                out.extend_from_slice(part.as_bytes());
            }
        }
        out
    }

    #[test]
    fn vars_round_trip() {
        let vars = [
            ("REQUEST_METHOD", "GET"),
            ("QUERY_STRING", ""),
            ("PATH_INFO", "/"),
        ];
        assert_eq!(parse_vars(&encode(&vars)).unwrap(), vars.to_vec());
        assert_eq!(parse_vars(&[]).unwrap(), vec![]);
    }

    #[test]
    fn truncated_vars_are_refused() {
        let block = encode(&[("REQUEST_METHOD", "GET")]);
        for cut in 1..block.len() {
            assert!(parse_vars(&block[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_vars(&[0xff, 0xff, b'a']).is_err());
        assert!(parse_vars(&[1, 0, 0xff, 0, 0]).is_err());
    }
}
