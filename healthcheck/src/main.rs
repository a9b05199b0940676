//! healthcheck: the probe a container's `HEALTHCHECK` runs.
//!
//! `healthcheck [URL]` sends one `GET` (default `http://127.0.0.1:3000/healthz`) and exits
//! 0 on a 2xx status, 1 otherwise with a one-line reason on stderr. Slim Debian images
//! have no curl or wget, and installing one per image costs a package download and a
//! few megabytes; this is a few hundred lines of nothing but the standard library.
//!
//! Only plain `http://` on an IP address or a name the container resolves, which is all
//! a probe of one's own container needs.

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
        println!("GETs URL and exits 0 on a 2xx status, 1 otherwise.");
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

/// Splits `http://host[:port][/path]` into (host, port, path).
fn parse_url(url: &str) -> Result<(&str, u16, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
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
    Ok((host, port, path))
}

fn probe(url: &str) -> Result<(), String> {
    let (host, port, path) = parse_url(url)?;
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
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // The status line is all we need: "HTTP/1.1 200 OK".
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
    use super::parse_url;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:4000/healthz"),
            Ok(("127.0.0.1", 4000, "/healthz"))
        );
        assert_eq!(parse_url("http://nginx"), Ok(("nginx", 80, "/")));
        assert!(parse_url("https://x/").is_err());
        assert!(parse_url("http://x:99999/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }
}
