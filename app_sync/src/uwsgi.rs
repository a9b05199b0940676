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
/// Largest request body read (and thrown away).
const MAX_BODY_BYTES: usize = 64 * 1024;

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
    let (modifier1, size) = (buf[0], usize::from(u16::from_le_bytes([buf[1], buf[2]])));
    if modifier1 != MODIFIER1_WSGI {
        let reason = format!("bad request: uwsgi modifier1 {modifier1} is not supported (only 0)");
        return reject(conn, Response::error(400, reason));
    }
    if conn.read_to_len(&mut buf, 4 + size, since).is_err() {
        return;
    }
    // Whatever followed the vars is the start of the request body.
    let mut body = buf.split_off(4 + size);
    let vars = match parse_vars(&buf[4..]) {
        Ok(vars) => vars,
        Err(reason) => return reject(conn, Response::error(400, format!("bad request: {reason}"))),
    };
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };

    let content_length = match var("CONTENT_LENGTH").filter(|v| !v.is_empty()) {
        None => 0,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n <= MAX_BODY_BYTES => n,
            Ok(_) => return reject(conn, Response::error(413, "request body too large")),
            Err(_) => {
                let reason = format!("bad request: CONTENT_LENGTH {raw:?} is not a number");
                return reject(conn, Response::error(400, reason));
            }
        },
    };
    let Some(method) = var("REQUEST_METHOD") else {
        return reject(
            conn,
            Response::error(400, "bad request: no REQUEST_METHOD var"),
        );
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
