//! The `METRICS_PORT` listener: `GET /metrics` and `GET /healthz` over plain HTTP on a
//! port of its own, for the services whose main port speaks uwsgi and app_sync's master.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Metrics, CONTENT_TYPE};

/// The `METRICS_PORT` listener: one thread answering `GET /metrics` and `GET /healthz`.
/// Stops (within [`ACCEPT_TICK`]) when dropped.
pub struct MetricsServer {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// How often the metrics thread looks at its stop flag.
pub const ACCEPT_TICK: Duration = Duration::from_millis(200);

/// How long one scrape's connection may take to send its request or read the answer.
const SCRAPE_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds `host:port` and serves the metrics there ([`serve`]). A bind failure is one
/// line naming the address.
pub fn listen(host: IpAddr, port: u16, metrics: Metrics) -> io::Result<MetricsServer> {
    let listener = TcpListener::bind((host, port)).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot listen on {host}:{port} (METRICS_PORT): {err}"),
        )
    })?;
    serve(listener, metrics)
}

/// Serves `GET /metrics` and `GET /healthz` on `listener`, on a thread of its own, one
/// connection at a time (a scrape is one small request every few seconds).
pub fn serve(listener: TcpListener, metrics: Metrics) -> io::Result<MetricsServer> {
    let address = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("metrics".to_owned())
        .spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                if !readable(&listener, ACCEPT_TICK) {
                    continue;
                }
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &metrics),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        tracing::debug!("metrics listener: accept failed: {err}");
                        std::thread::sleep(ACCEPT_TICK);
                    }
                }
            }
        })?;
    tracing::info!("metrics on http://{address}/metrics");
    Ok(MetricsServer { address, stop })
}

/// Whether a connection waits on `listener` (poll(2) up to `limit`).
fn readable(listener: &TcpListener, limit: Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll on one pollfd we own, for a bounded time.
    unsafe { libc::poll(&mut fds, 1, millis) > 0 }
}

/// Reads one request head and answers it; the connection then closes.
fn answer(mut stream: TcpStream, metrics: &Metrics) {
    let _ = stream.set_read_timeout(Some(SCRAPE_IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SCRAPE_IO_TIMEOUT));
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > 8 * 1024 {
            break;
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", CONTENT_TYPE, metrics.render()),
        ("GET" | "HEAD", "/healthz") => ("200 OK", "text/plain; charset=utf-8", "ok".into()),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: this port serves /metrics and /healthz\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "method not allowed: use GET\n".into(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes());
}
