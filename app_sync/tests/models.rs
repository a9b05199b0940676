//! Each concurrency model, told apart by how it behaves under concurrent requests, and
//! the lifecycle of the prefork tree (restarts, draining).
//!
//! One serving process runs in this test process ([`app_sync::run`]); prefork trees and
//! signals need the binary.
//!
//! Bounds are generous: the machine is shared and noisy. Timings here only decide
//! "serialised or not" and "capped or not", never a throughput figure.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

const HI: &str = "Hi there! slow api response";

fn assert_all_ok(replies: &[Reply]) {
    for reply in replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
}

#[test]
fn dev_server_serves_one_request_at_a_time() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.4"), 3);
    assert_all_ok(&replies);
    // Three 0.4 s requests one after the other: at least 1.2 s.
    assert!(
        took >= Duration::from_millis(1150),
        "3 x 0.4 s took only {took:?}"
    );
}

#[test]
fn thread_per_connection_serves_them_together() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "0"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.5"), 5);
    assert_all_ok(&replies);
    // Serialised would be 2.5 s; together, about 0.5 s.
    assert!(
        took < Duration::from_millis(1500),
        "5 x 0.5 s took {took:?}"
    );
}

#[test]
fn workers_times_threads_caps_requests_in_flight() {
    let api = slow_api();
    let app = app_sync(&api, &["--workers", "2", "--threads", "2"]);
    let url = app.url("/?delay=0.6");

    // 4 = 2 x 2 fit at once: both processes serve (one process alone would take 1.2 s).
    let (replies, took) = get_concurrently(&url, 4);
    assert_all_ok(&replies);
    assert!(
        took < Duration::from_millis(1100),
        "4 x 0.6 s on 2x2 took {took:?}"
    );

    // 10 do not: they wait in the queue (3 rounds of at most 4), and none fails.
    let (replies, took) = get_concurrently(&url, 10);
    assert_all_ok(&replies);
    assert!(
        took >= Duration::from_millis(1700),
        "10 x 0.6 s on 2x2 took only {took:?}"
    );
    assert!(
        took < Duration::from_secs(6),
        "10 x 0.6 s on 2x2 took {took:?}"
    );
    stop(app);
}

#[test]
fn one_process_with_threads_caps_at_its_threads() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "3"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.5"), 6);
    assert_all_ok(&replies);
    // Two rounds of three.
    assert!(
        took >= Duration::from_millis(950),
        "6 x 0.5 s on 3 threads took {took:?}"
    );
    assert!(
        took < Duration::from_secs(4),
        "6 x 0.5 s on 3 threads took {took:?}"
    );
}

#[test]
fn master_restarts_a_killed_worker_and_no_later_request_fails() {
    let api = slow_api();
    let app = app_sync(&api, &["--workers", "2", "--threads", "2"]);
    let master = app.pid();
    let mut workers = Vec::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            workers = children_of(master);
            workers.len() == 2
        }),
        "expected 2 workers, found {workers:?}"
    );

    let victim = workers[0];
    kill(victim, libc::SIGKILL);
    // kill(2) returns before the victim is gone: its threads still blocked in accept()
    // can take one more connection on their way out, which dies with them (as with any
    // prefork server). "Later" means after the master has reaped it.
    assert!(
        eventually(Duration::from_secs(10), || is_reaped(victim)),
        "worker {victim} was not reaped after SIGKILL"
    );
    for _ in 0..12 {
        let reply = get(&app.url("/?delay=0.05"));
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    let (replies, _) = get_concurrently(&app.url("/?delay=0.2"), 8);
    assert_all_ok(&replies);

    let mut now = Vec::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            now = children_of(master);
            now.len() == 2 && !now.contains(&victim)
        }),
        "worker {victim} was not replaced: workers now {now:?}"
    );
    stop(app);
}

/// Starts `count` slow requests, waits until they are surely in flight, sends SIGTERM,
/// and checks that every one is answered and the process exits 0.
fn sigterm_drains(args: &[&str], count: usize) {
    let api = slow_api();
    let mut app = app_sync(&api, args);
    let url = app.url("/?delay=1");
    let requests: Vec<_> = (0..count)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || get(&url))
        })
        .collect();
    // Not readiness: the requests need a moment to reach a thread before the signal.
    std::thread::sleep(Duration::from_millis(400));
    let signalled = Instant::now();
    app.signal(libc::SIGTERM);
    for request in requests {
        let reply = request.join().expect("request thread");
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    let status = app
        .wait_exit(Duration::from_secs(15))
        .expect("did not exit after draining");
    assert!(status.success(), "exit status {status}");
    assert!(signalled.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_shutdown_flag_drains_a_pool_of_threads() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "2"]);
    let url = app.url("/?delay=1");
    let replies = app.stop_during(&url, 2, Duration::from_millis(400));
    assert_eq!(replies.len(), 2);
    for reply in replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
}

#[test]
fn sigterm_drains_the_dev_server() {
    sigterm_drains(&["--workers", "1", "--threads", "1"], 1);
}

#[test]
fn sigterm_drains_thread_per_connection() {
    sigterm_drains(&["--threads", "0"], 4);
}

#[test]
fn sigterm_drains_the_whole_prefork_tree() {
    let api = slow_api();
    let mut app = app_sync(&api, &["--workers", "2", "--threads", "2"]);
    let master = app.pid();
    let mut workers = Vec::new();
    assert!(eventually(Duration::from_secs(10), || {
        workers = children_of(master);
        workers.len() == 2
    }));
    let url = app.url("/?delay=1");
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || get(&url))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    app.signal(libc::SIGTERM);
    for request in requests {
        let reply = request.join().expect("request thread");
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    let status = app
        .wait_exit(Duration::from_secs(15))
        .expect("master did not exit after draining");
    assert!(status.success(), "master exit status {status}");
    for worker in workers {
        assert!(
            !std::path::Path::new(&format!("/proc/{worker}")).exists(),
            "worker {worker} still running"
        );
    }
}

#[test]
fn sigint_drains_too() {
    let api = slow_api();
    let mut app = app_sync(&api, &["--threads", "2"]);
    let url = app.url("/?delay=0.8");
    let request = std::thread::spawn(move || get(&url));
    std::thread::sleep(Duration::from_millis(300));
    app.signal(libc::SIGINT);
    let reply = request.join().expect("request thread");
    assert_eq!(reply.status, 200);
    let status = app.wait_exit(Duration::from_secs(10)).expect("exit");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn http11_keeps_the_connection_alive() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "1"]);
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    for _ in 0..3 {
        stream
            .write_all(b"GET /?delay=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let response = read_response(&mut stream);
        assert_eq!(status_of(&response), 200, "{response}");
        assert!(response.contains("Connection: keep-alive"), "{response}");
        assert!(response.ends_with(HI), "{response}");
    }
    // Two requests in one write (pipelined) are both answered, in order.
    stream
        .write_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /?delay=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .expect("write");
    assert!(read_response(&mut stream).ends_with("ok"));
    let last = read_response(&mut stream);
    assert!(
        last.contains("Connection: close") && last.ends_with(HI),
        "{last}"
    );
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--threads", "1"]);
    // Plain HTTP/1.0 (ab without -k): one request, then the server closes.
    let answer = raw_exchange(app.port, b"GET /?delay=0 HTTP/1.0\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("Connection: close") && answer.ends_with(HI),
        "{answer}"
    );

    // HTTP/1.0 with keep-alive (ab -k): the connection stays for the next request.
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    for _ in 0..2 {
        stream
            .write_all(b"GET /?delay=0 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .expect("write");
        let response = read_response(&mut stream);
        assert!(response.contains("Connection: keep-alive") && response.ends_with(HI));
    }
}
