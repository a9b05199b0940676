//! Bad input and bad upstreams get an answer with the right status, and never cost the
//! server a thread: these run against the dev server, whose single thread must survive
//! every one of them, in this process ([`app_sync::run`]); bad flags need the binary.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kit::testing::free_port;
use support::*;

#[test]
fn bad_requests_are_answered_and_the_thread_survives() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let big_header = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let many_headers = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        (0..100)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "garbage request line",
            b"HELLO\r\n\r\n".to_vec(),
            400,
            "bad request",
        ),
        (
            "a version it cannot serve",
            b"GET / HTTP/9.9\r\n\r\n".to_vec(),
            505,
            "not supported",
        ),
        (
            "bad header line",
            b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n".to_vec(),
            400,
            "bad request",
        ),
        (
            "control bytes",
            b"GET /\x01 HTTP/1.1\r\n\r\n".to_vec(),
            400,
            "bad request",
        ),
        (
            "bad content-length",
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n".to_vec(),
            400,
            "Content-Length",
        ),
        (
            "oversized headers",
            big_header.into_bytes(),
            431,
            "too large",
        ),
        (
            "too many headers",
            many_headers.into_bytes(),
            431,
            "too many",
        ),
        (
            "bad delay",
            b"GET /?delay=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            400,
            "bad delay",
        ),
        (
            "negative delay",
            b"GET /?delay=-1 HTTP/1.0\r\n\r\n".to_vec(),
            400,
            "negative",
        ),
        (
            "infinite delay",
            b"GET /?delay=inf HTTP/1.0\r\n\r\n".to_vec(),
            400,
            "finite",
        ),
        (
            "unknown path",
            b"GET /nope HTTP/1.0\r\n\r\n".to_vec(),
            404,
            "not found",
        ),
        (
            "wrong method",
            b"DELETE / HTTP/1.0\r\n\r\n".to_vec(),
            405,
            "method",
        ),
        (
            "a transfer coding it does not implement",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            501,
            "not implemented",
        ),
    ];
    for (name, request, status, reason) in cases {
        let answer = raw_exchange(app.port, &request);
        assert_eq!(status_of(&answer), status, "{name}: {answer}");
        assert!(answer.contains(reason), "{name}: {answer}");
        // Every error body is one line.
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert_eq!(body.matches('\n').count(), 1, "{name}: {body:?}");
    }
    // Bytes that are not HTTP at all, then a client that hangs up mid-request.
    let _ = raw_exchange(
        app.port,
        &[0xff, 0xfe, 0x00, 0x13, b'\r', b'\n', b'\r', b'\n'],
    );
    drop(TcpStream::connect(("127.0.0.1", app.port)).map(|mut s| s.write_all(b"GET / HT")));

    // The one thread is still there.
    let reply = get(&app.url("/?delay=0"));
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hi there! slow api response")
    );
}

#[test]
fn upstream_down_is_502() {
    let nothing_there = free_port();
    let api_url = format!("http://127.0.0.1:{nothing_there}/");
    let app = in_process(config_from_args(&["--api-url", &api_url]));
    let reply = get(&app.url("/?delay=0"));
    assert_eq!(reply.status, 502, "{reply:?}");
    assert!(reply.body.starts_with("upstream unreachable"), "{reply:?}");
    assert_eq!(get(&app.url("/healthz")).status, 200);
}

#[test]
fn upstream_slower_than_the_timeout_is_504() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--upstream-timeout", "0.3"]);
    let started = Instant::now();
    let reply = get(&app.url("/?delay=3"));
    assert_eq!(reply.status, 504, "{reply:?}");
    assert!(reply.body.contains("did not answer"), "{reply:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The same thread serves the next request.
    assert_eq!(get(&app.url("/?delay=0")).status, 200);
}

#[test]
fn an_idle_client_does_not_hold_the_only_thread_forever() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "1", "--read-timeout", "0.5"]);

    // Connects and says nothing: the dev server's one thread picks it up...
    let mut idle = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    std::thread::sleep(Duration::from_millis(100));
    // ...and drops it after the read timeout, so the next client is served.
    let started = Instant::now();
    let reply = get(&app.url("/?delay=0"));
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let closed = idle.read_to_end(&mut rest);
    assert!(
        matches!(closed, Ok(0)),
        "idle connection not closed: {closed:?} {rest:?}"
    );

    // A client that starts a request and stalls gets a 408.
    let mut slow = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    slow.write_all(b"GET /?delay=0 HTTP/1.1\r\nHost:")
        .expect("write");
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert_eq!(get(&app.url("/healthz")).status, 200);
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    for args in [
        &["--workers", "0"][..],
        &["--threads", "-1"],
        &["--protocol", "fastcgi"],
        &["--read-timeout", "soon"],
        &["--api-url", "https://x/"],
    ] {
        let output = std::process::Command::new(APP)
            .args(args)
            .env_remove("WORKERS")
            .output()
            .expect("run app_sync");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
}
