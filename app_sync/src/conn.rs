//! What both protocols share about one client connection: reading with a deadline while
//! watching for shutdown, and writing a response.
//!
//! A blocking `read()` cannot be interrupted by another thread, so every socket gets a
//! short read timeout ([`TICK`]) and the read is retried until the real deadline (the
//! `--read-timeout` flag). Between ticks the thread checks whether SIGTERM arrived; a
//! connection with no request under way is then closed instead of waited on.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::app::{reason_phrase, Response};
use crate::shutdown::Shutdown;

/// How often a blocked read or accept wakes up to look at the shutdown flag.
pub const TICK: Duration = Duration::from_millis(200);

/// Settings every connection needs.
#[derive(Clone)]
pub struct ConnConfig {
    /// How long a client may take to send a request (or to start the next one on a
    /// keep-alive connection) before its thread is released.
    pub read_timeout: Duration,
    pub shutdown: Shutdown,
}

/// Why no more bytes came.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// The client closed its side, or the socket failed.
    Closed,
    /// Nothing arrived before the read timeout.
    TimedOut,
    /// Shutting down, and no request had started on this connection.
    Stopping,
}

/// A client socket plus the clock its reads run against.
pub struct Conn {
    pub stream: TcpStream,
    config: ConnConfig,
}

impl Conn {
    /// Prepares an accepted socket: short read ticks, a write timeout so a client that
    /// never reads cannot hold the thread either, and no Nagle delay on small answers.
    pub fn new(stream: TcpStream, config: ConnConfig) -> std::io::Result<Conn> {
        stream.set_read_timeout(Some(TICK))?;
        stream.set_write_timeout(Some(config.read_timeout.max(TICK)))?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, config })
    }

    pub fn stopping(&self) -> bool {
        self.config.shutdown.requested()
    }

    /// Reads at least one byte into `buf` (appending), waiting at most the read timeout
    /// from `since`. `idle` says no request is under way, so shutdown may cut the wait.
    pub fn read_more(
        &mut self,
        buf: &mut Vec<u8>,
        since: Instant,
        idle: bool,
    ) -> Result<(), ReadEnd> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadEnd::Closed),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if idle && self.stopping() {
                        return Err(ReadEnd::Stopping);
                    }
                    if since.elapsed() >= self.config.read_timeout {
                        return Err(ReadEnd::TimedOut);
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(ReadEnd::Closed),
            }
        }
    }

    /// Reads until `buf` holds at least `len` bytes.
    pub fn read_to_len(
        &mut self,
        buf: &mut Vec<u8>,
        len: usize,
        since: Instant,
    ) -> Result<(), ReadEnd> {
        while buf.len() < len {
            self.read_more(buf, since, false)?;
        }
        Ok(())
    }

    /// Writes a complete response. `protocol` is the status line's version
    /// (`HTTP/1.1`), `keep_alive` decides the `Connection` header, `head` drops the body.
    pub fn write_response(
        &mut self,
        protocol: &str,
        response: &Response,
        keep_alive: bool,
        head: bool,
    ) -> std::io::Result<()> {
        // Date: an origin server with a clock MUST send it (RFC 9110 section 6.6.1).
        let mut out = format!(
            "{protocol} {} {}\r\nDate: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            response.status,
            reason_phrase(response.status),
            httpdate::fmt_http_date(std::time::SystemTime::now()),
            response.content_type,
            response.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        );
        if let Some(allow) = response.allow {
            out.push_str("Allow: ");
            out.push_str(allow);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        if !head {
            out.push_str(&response.body);
        }
        self.stream.write_all(out.as_bytes())?;
        self.stream.flush()
    }

    /// `100 Continue`: the client that sent `Expect: 100-continue` may send its body.
    pub fn write_continue(&mut self) -> std::io::Result<()> {
        self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        self.stream.flush()
    }

    /// Closes our side after an error answer, and reads what the client still sends
    /// for a moment, so the kernel does not reset the connection (and lose the answer)
    /// because unread bytes were left behind.
    pub fn close_gently(mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut sink = [0u8; 4096];
        while Instant::now() < deadline {
            match self.stream.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}
