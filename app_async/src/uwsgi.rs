//! `PROTOCOL=uwsgi`: the same event loops and the same handler, reached over the uwsgi
//! wire protocol that nginx's `uwsgi_pass` speaks, as the article's nginx -> uWSGI +
//! gevent topology (uWSGI `--gevent`, one worker, `--protocol uwsgi`).
//!
//! actix-web only speaks HTTP, so each loop ([`crate::event_loop`]) hands its uwsgi
//! connections to [`serve`] instead: the same threads, the same connection cap, the same
//! graceful stop. Each connection carries one packet ([`common::uwsgi`] reads it), is
//! answered with a plain HTTP response, and closes, as uWSGI does.
//!
//! Bounds, as on the HTTP side: the packet and body must arrive within
//! [`CLIENT_REQUEST_TIMEOUT`](common::server::CLIENT_REQUEST_TIMEOUT) (else the
//! connection is dropped), vars at most 65,535 bytes (the header's u16), a body at most
//! [`MAX_BODY_BYTES`](common::uwsgi::MAX_BODY_BYTES) (else 413); a malformed packet is a
//! 400 with the reason.

use actix_rt::net::TcpStream;
use common::server::CLIENT_REQUEST_TIMEOUT;
use common::uwsgi::{self, Rejection, HEADER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{hi_there, Upstream};

/// Serves the one request on `stream`; drops the connection if the packet does not
/// arrive in time.
pub(crate) async fn serve(mut stream: TcpStream, upstream: &Upstream, client: &awc::Client) {
    let answer = match tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, read_packet(&mut stream)).await
    {
        Ok(Ok(packet)) => match packet {
            Ok((packet, _body)) => respond(&packet, upstream, client).await,
            Err(rejection) => (
                rejection.status,
                format!("{}\n", rejection.reason),
                "HTTP/1.1",
                TEXT,
            ),
        },
        // Closed early, reset, or too slow: nobody to answer.
        Ok(Err(_)) | Err(_) => return,
    };
    let (status, body, protocol, content_type) = answer;
    let response = format!(
        "{protocol} {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason_phrase(status),
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request's packet and body, or why it is refused (the outer error: I/O).
async fn read_packet(
    stream: &mut TcpStream,
) -> std::io::Result<Result<(Vec<u8>, Vec<u8>), Rejection>> {
    let mut packet = vec![0u8; HEADER_LEN];
    stream.read_exact(&mut packet).await?;
    let len = match uwsgi::packet_len(&packet) {
        Ok(len) => len,
        Err(rejection) => return Ok(Err(rejection)),
    };
    packet.resize(len, 0);
    stream.read_exact(&mut packet[HEADER_LEN..]).await?;
    let content_length = match uwsgi::parse_packet(&packet) {
        Ok(request) => request.content_length,
        Err(rejection) => return Ok(Err(rejection)),
    };
    // The body is not used, but nginx must be done sending before we answer.
    let mut body = vec![0u8; content_length];
    stream.read_exact(&mut body).await?;
    Ok(Ok((packet, body)))
}

/// The content type of every answer but `/metrics`.
const TEXT: &str = "text/plain; charset=utf-8";

/// An answer: status, body, protocol of the status line, content type.
type Answer = (u16, String, &'static str, &'static str);

/// Routes the request as the HTTP side does (`/` through the same handler, `/healthz`,
/// `/metrics`), counting it in the metrics as the HTTP side's middleware does.
async fn respond(packet: &[u8], upstream: &Upstream, client: &awc::Client) -> Answer {
    let request = match uwsgi::parse_packet(packet) {
        Ok(request) => request,
        Err(rejection) => {
            return (
                rejection.status,
                format!("{}\n", rejection.reason),
                "HTTP/1.1",
                TEXT,
            )
        }
    };
    let tracked = upstream.metrics.request(request.path);
    let (status, body, protocol) = route(&request, upstream, client).await;
    if let Some(tracked) = tracked {
        tracked.finish(status);
    }
    if status == 200 && request.path == "/metrics" {
        return (status, body, protocol, common::metrics::CONTENT_TYPE);
    }
    (status, body, protocol, TEXT)
}

async fn route(
    request: &uwsgi::Request<'_>,
    upstream: &Upstream,
    client: &awc::Client,
) -> (u16, String, &'static str) {
    let protocol = if request.protocol == "HTTP/1.0" {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    if request.method != "GET" && request.method != "HEAD" {
        return (405, "method not allowed: use GET\n".into(), protocol);
    }
    match request.path {
        "/" => match hi_there(request.query, upstream, client).await {
            Ok(body) => (200, body, protocol),
            Err(err) => {
                let status = err.as_response_error().status_code().as_u16();
                (status, format!("{err}\n"), protocol)
            }
        },
        "/healthz" => (200, "ok".into(), protocol),
        "/metrics" => (200, upstream.metrics.render(), protocol),
        _ => (404, "not found: try /?delay=1\n".into(), protocol),
    }
}

fn reason_phrase(status: u16) -> &'static str {
    actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Unknown")
}
