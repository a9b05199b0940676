//! A tiny HTTP/1.1 test server that counts the connections and requests it sees, and
//! misbehaves on request: `/` answers `hello`; `/status` answers 500 to every 4th
//! request; `/vary` varies its body length; `/sleep?ms=N` answers after N ms;
//! `/reset` resets the connection (RST) without answering; `/close` closes the
//! connection after each answer; `/echo` answers the request body's length.
//!
//! And what the integration tests share besides it: running a spec or the binary,
//! reading its JSON, report files in a temporary directory, and the invariants every
//! timeline keeps ([`check_sums`]).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// A loopback port nothing listens on (asked of the kernel, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

#[derive(Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
}

pub struct TestServer {
    pub port: u16,
    pub counters: Arc<Counters>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test port");
        // std listens with a backlog of 128; a test that opens 10,000 connections in a
        // second would overflow it, and the kernel's SYN cookies, retransmits and resets
        // would be what it measures. Linux lets listen() be called again to raise it
        // (the kernel caps it at net.core.somaxconn).
        // SAFETY: listen() on a descriptor this function owns; no memory is passed.
        let raised = unsafe { libc::listen(listener.as_raw_fd(), 65_535) };
        assert_eq!(raised, 0, "raise the test server's accept backlog");
        let port = listener.local_addr().expect("local addr").port();
        let counters = Arc::new(Counters::default());
        let for_thread = Arc::clone(&counters);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                for_thread.connections.fetch_add(1, SeqCst);
                // Small stacks: a test may hold 10,000 connections, one thread each. On a
                // loaded machine a spawn can fail for a moment; the connection must not be
                // dropped for it (the client would count a failure the server caused), so
                // each try gets its own handle to the socket and the next try comes soon.
                let spawned = (0..100).any(|attempt| {
                    if attempt > 0 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let (Ok(stream), counters) = (stream.try_clone(), Arc::clone(&for_thread))
                    else {
                        return false;
                    };
                    std::thread::Builder::new()
                        .stack_size(128 * 1024)
                        .spawn(move || serve(stream, &counters))
                        .is_ok()
                });
                if !spawned {
                    eprintln!("test server: cannot spawn a connection thread");
                }
            }
        });
        TestServer { port, counters }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn connections(&self) -> u64 {
        self.counters.connections.load(SeqCst)
    }

    pub fn requests(&self) -> u64 {
        self.counters.requests.load(SeqCst)
    }
}

fn serve(stream: TcpStream, counters: &Counters) {
    let _ = stream.set_nodelay(true);
    // One descriptor per connection: reads and writes both go through `&TcpStream`. A
    // second (try_clone) would double the count, and a test holding 10,000 connections
    // would run into the open-files limit and reset the connections it could not clone.
    let mut writer = &stream;
    let mut reader = BufReader::new(&stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let mut content_length = 0usize;
        let mut close = false;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                content_length = value.trim().parse().unwrap_or(0);
            }
            if lower == "connection: close" {
                close = true;
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = counters.requests.fetch_add(1, SeqCst) + 1;

        let (status, reply) = if path.starts_with("/reset") {
            reset(writer);
            return;
        } else if path.starts_with("/status") {
            if n % 4 == 0 {
                ("500 Internal Server Error", "boom".to_string())
            } else {
                ("200 OK", "fine".to_string())
            }
        } else if path.starts_with("/vary") {
            ("200 OK", "x".repeat(1 + (n % 3) as usize))
        } else if let Some(ms) = path.strip_prefix("/sleep?ms=") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
            ("200 OK", "slept".to_string())
        } else if path.starts_with("/echo") {
            ("200 OK", format!("{}", body.len()))
        } else {
            ("200 OK", "hello".to_string())
        };
        // `/close` closes after every answer, even when the client asked to keep it.
        let close = close || path.starts_with("/close");
        let connection = if close { "close" } else { "keep-alive" };
        let response = format!(
            "HTTP/1.1 {status}\r\nServer: testserver\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(response.as_bytes()).is_err() || close {
            return;
        }
    }
}

/// Closes with SO_LINGER 0, so the peer gets a RST instead of a FIN.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    // The RST goes out when the caller drops its handles (close with linger 0).
}

/// Runs `spec` in this process; panics if it is not valid.
pub fn run(spec: loadgen::LoadSpec) -> loadgen::Report {
    loadgen::run_blocking(spec).expect("the spec is valid")
}

/// Runs the `loadgen` binary with `args`.
pub fn loadgen(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("run loadgen")
}

/// The JSON report a successful run printed.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// A fresh temporary directory for one test's reports (`suite`: the test file).
pub fn temp_dir(suite: &str, test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-{suite}-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes what a successful run printed to `dir/name`; returns the path.
pub fn write(dir: &std::path::Path, name: &str, output: &std::process::Output) -> String {
    assert!(output.status.success(), "{output:?}");
    let path = dir.join(name);
    std::fs::write(&path, &output.stdout).expect("write a report");
    path.to_string_lossy().into_owned()
}

/// The invariants every timeline keeps.
pub fn check_sums(timeline: &loadgen::Timeline, report: &loadgen::Report) {
    let started: u64 = timeline.intervals.iter().map(|i| i.started).sum();
    let completed: u64 = timeline.intervals.iter().map(|i| i.completed).sum();
    let ok: u64 = timeline.intervals.iter().map(|i| i.ok).sum();
    let errors: u64 = timeline.intervals.iter().map(|i| i.errors).sum();
    assert_eq!(
        started,
        report.complete + report.failed + report.unfinished,
        "started"
    );
    assert_eq!(completed, report.complete + report.failed, "completed");
    assert_eq!(ok + errors, completed, "ok + errors");
    assert_eq!(errors, report.non_2xx + report.failed, "errors");
    let (mut cum_started, mut cum_completed) = (0, 0);
    for (n, i) in timeline.intervals.iter().enumerate() {
        cum_started += i.started;
        cum_completed += i.completed;
        assert_eq!(i.in_flight, cum_started - cum_completed, "interval {n}");
        let expected_start = n as f64 * timeline.interval_s;
        assert!(
            (i.start_s - expected_start).abs() < 1e-9,
            "interval {n} start"
        );
        assert_eq!(
            i.p50_ms.is_some(),
            i.ok + i.errors > 0 && i.p99_ms.is_some()
        );
        if let (Some(p50), Some(p99)) = (i.p50_ms, i.p99_ms) {
            assert!(p50 <= p99);
        }
    }
    let last = timeline.intervals.last().expect("at least one interval");
    assert_eq!(last.in_flight, report.unfinished);
    // The intervals cover the run, and not more than one interval past it.
    let covered = timeline.intervals.len() as f64 * timeline.interval_s;
    assert!(covered >= report.time_taken_s - 1e-9);
    assert!(covered < report.time_taken_s + timeline.interval_s + 1e-9);
}
