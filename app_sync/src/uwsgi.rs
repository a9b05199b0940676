//! The uwsgi wire protocol on a blocking thread (`--protocol uwsgi`), for nginx's
//! `uwsgi_pass`: the packet is read here, parsed by [`common::uwsgi`] (which app_async
//! shares), answered with a plain HTTP response, and the connection closes.

use std::time::Instant;

use common::uwsgi::{self, HEADER_LEN};

use crate::app::{App, Request, Response};
use crate::conn::Conn;

/// Serves the one request on `conn`.
pub fn serve(mut conn: Conn, app: &App) {
    let since = Instant::now();
    let mut buf = Vec::with_capacity(1024);
    let header_read = loop {
        let idle = buf.is_empty();
        match conn.read_more(&mut buf, since, idle) {
            Ok(()) if buf.len() >= HEADER_LEN => break true,
            Ok(()) => {}
            Err(_) => break false,
        }
    };
    if !header_read {
        return;
    }
    let len = match uwsgi::packet_len(&buf) {
        Ok(len) => len,
        Err(rejection) => return reject(conn, rejection),
    };
    if conn.read_to_len(&mut buf, len, since).is_err() {
        return;
    }
    // Whatever followed the vars is the start of the request body.
    let mut body = buf.split_off(len);
    let request = match uwsgi::parse_packet(&buf) {
        Ok(request) => request,
        Err(rejection) => return reject(conn, rejection),
    };

    // The body is not used, but nginx must be done sending before we answer.
    if conn
        .read_to_len(&mut body, request.content_length, since)
        .is_err()
    {
        return;
    }
    let method = request.method;
    let response = app.handle(&Request {
        method,
        path: request.path,
        query: request.query,
    });
    tracing::debug!(
        "uwsgi {method} {}?{} -> {}",
        request.path,
        request.query,
        response.status
    );
    let _ = conn.write_response(request.protocol, &response, false, method == "HEAD");
}

/// Answers a request we will not serve, and closes the connection.
fn reject(mut conn: Conn, rejection: uwsgi::Rejection) {
    let response = Response::error(rejection.status, rejection.reason);
    tracing::debug!("rejected: {} {}", response.status, response.body.trim_end());
    if conn
        .write_response("HTTP/1.1", &response, false, false)
        .is_ok()
    {
        conn.close_gently();
    }
}
