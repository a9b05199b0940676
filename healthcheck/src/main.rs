//! healthcheck: the probe a container's `HEALTHCHECK` runs.
//!
//! `healthcheck [URL]` sends one `GET` (default `http://127.0.0.1:3000/healthz`) and exits
//! 0 on a 2xx status, 1 otherwise with a one-line reason on stderr. Slim Debian images
//! have no curl or wget, and installing one per image costs a package download and a
//! few megabytes; this is a few hundred lines of nothing but the standard library.
//!
//! `uwsgi://host:port/path` sends the same request in the uwsgi wire protocol instead
//! (what nginx's `uwsgi_pass` speaks), for app_sync with `PROTOCOL=uwsgi`, which has no
//! HTTP port to probe. Only plain `http://` and `uwsgi://`, which is all a probe of one's
//! own container needs.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_URL: &str = "http://127.0.0.1:3000/healthz";
/// Docker runs the probe with its own timeout too; ours keeps a hung socket from
/// outliving it.
const TIMEOUT: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    if url == "-h" || url == "--help" {
        println!("usage: healthcheck [URL]   (default {DEFAULT_URL})");
        println!("GETs URL (http://... or uwsgi://...) and exits 0 on a 2xx status, 1 otherwise.");
        return ExitCode::SUCCESS;
    }
    match probe(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("healthcheck: {url}: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// How the request goes on the wire.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Scheme {
    Http,
    Uwsgi,
}

/// Splits `http://host[:port][/path]` (or `uwsgi://...`) into its parts.
fn parse_url(url: &str) -> Result<(Scheme, &str, u16, &str), String> {
    let (protocol, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("uwsgi://") {
        (Scheme::Uwsgi, rest)
    } else {
        return Err("only http:// and uwsgi:// URLs are supported".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| format!("{port:?} is not a port number"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err("no host in URL".into());
    }
    Ok((protocol, host, port, path))
}

/// A uwsgi request packet: a 4-byte header (modifier1 = 0 for WSGI/HTTP-like requests,
/// the vars block's size as u16 little-endian, modifier2 = 0) and the CGI-style
/// variables, each key and value prefixed by its u16 little-endian length.
fn uwsgi_packet(host: &str, port: u16, path: &str) -> Result<Vec<u8>, String> {
    let (path_info, query) = path.split_once('?').unwrap_or((path, ""));
    let port = port.to_string();
    let vars = [
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", path),
        ("PATH_INFO", path_info),
        ("QUERY_STRING", query),
        ("SERVER_PROTOCOL", "HTTP/1.0"),
        ("SERVER_NAME", host),
        ("SERVER_PORT", port.as_str()),
        ("HTTP_HOST", host),
        ("HTTP_USER_AGENT", "healthcheck"),
    ];
    let mut body = Vec::new();
    for (key, value) in vars {
        for part in [key, value] {
            let len = u16::try_from(part.len()).map_err(|_| "URL too long for uwsgi")?;
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(part.as_bytes());
        }
    }
    let size = u16::try_from(body.len()).map_err(|_| "URL too long for uwsgi")?;
    let mut packet = vec![0u8];
    packet.extend_from_slice(&size.to_le_bytes());
    packet.push(0);
    packet.extend_from_slice(&body);
    Ok(packet)
}

fn probe(url: &str) -> Result<(), String> {
    let (protocol, host, port, path) = parse_url(url)?;
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&address, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("socket: {e}"))?;
    // HTTP/1.0 with Connection: close: the server closes after one answer. One write,
    // so a server that answers after the first packet never sees a half request.
    let request = match protocol {
        Scheme::Http => format!(
            "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
        )
        .into_bytes(),
        Scheme::Uwsgi => uwsgi_packet(host, port, path)?,
    };
    stream
        .write_all(&request)
        .map_err(|e| format!("send: {e}"))?;
    // The status line is all we need: "HTTP/1.1 200 OK" (a uwsgi app answers with
    // one too; a CGI-style "Status: 200 OK" has the code in the same place).
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < 12 {
        match stream.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..filled]);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .ok_or("no HTTP status line in the answer")?;
    if status.starts_with('2') && status.len() == 3 {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_url, uwsgi_packet, Scheme};

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:4000/healthz"),
            Ok((Scheme::Http, "127.0.0.1", 4000, "/healthz"))
        );
        assert_eq!(
            parse_url("http://nginx"),
            Ok((Scheme::Http, "nginx", 80, "/"))
        );
        assert_eq!(
            parse_url("uwsgi://127.0.0.1:3000/healthz"),
            Ok((Scheme::Uwsgi, "127.0.0.1", 3000, "/healthz"))
        );
        assert!(parse_url("https://x/").is_err());
        assert!(parse_url("http://x:99999/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }

    #[test]
    fn uwsgi_packet_has_header_and_length_prefixed_vars() {
        let packet = uwsgi_packet("127.0.0.1", 3000, "/healthz?x=1").expect("small packet");
        assert_eq!(packet[0], 0);
        assert_eq!(packet[3], 0);
        let size = u16::from_le_bytes([packet[1], packet[2]]) as usize;
        assert_eq!(size, packet.len() - 4);
        // The first variable: REQUEST_METHOD = GET.
        assert_eq!(&packet[4..6], &14u16.to_le_bytes());
        assert_eq!(&packet[6..20], b"REQUEST_METHOD");
        assert_eq!(&packet[20..22], &3u16.to_le_bytes());
        assert_eq!(&packet[22..25], b"GET");
        let text = String::from_utf8_lossy(&packet);
        assert!(text.contains("QUERY_STRING\u{3}\u{0}x=1"));
    }
}
