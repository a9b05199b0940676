//! slow_api over real sockets: the body, the delay rules, the timer, graceful shutdown.
//!
//! The server runs in this process ([`slow_api::run`] on its own thread and actix
//! system); the binary is spawned only where the process is the point: signals and
//! exit codes.

use std::time::{Duration, Instant};

use kit::testing::in_process::{config_from_args, InProcess};
use kit::testing::{get, get_concurrently, raw_exchange, Service};

const BIN: &str = env!("CARGO_BIN_EXE_slow_api");

/// slow_api in this process, configured by `args` as the binary would be.
fn start_with(args: &[&str]) -> InProcess {
    let config: slow_api::Config = config_from_args(args);
    InProcess::start("slow_api", move |listener, stop| {
        actix_web::rt::System::new().block_on(slow_api::run([listener], config, stop))
    })
}

fn start() -> InProcess {
    start_with(&[])
}

#[test]
fn answers_after_the_delay() {
    let api = start();
    let started = Instant::now();
    let reply = get(&api.url("/?delay=0.3"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "slow api response");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn absent_delay_means_one_second() {
    let api = start();
    let started = Instant::now();
    let reply = get(&api.url("/"));
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn healthz() {
    let api = start();
    assert_eq!(get(&api.url("/healthz")).status, 200);
}

#[test]
fn bad_delays_are_400_with_a_one_line_reason() {
    let api = start_with(&["--max-delay", "5"]);
    let long = "9".repeat(40_000);
    let bad = [
        "abc",
        "-1",
        "nan",
        "NaN",
        "inf",
        "-infinity",
        "1e309",
        "0x10",
        "%00",
        "1%00",
        "1%3B%20DROP%20TABLE%20users%3B--",
        "%27%20OR%201%3D1",
        "5.01",
        "1,5",
        long.as_str(),
    ];
    for delay in bad {
        let reply = get(&api.url(&format!("/?delay={delay}")));
        let shown = &delay[..delay.len().min(40)];
        assert_eq!(reply.status, 400, "delay={shown}: {}", reply.body);
        assert!(
            reply.body.starts_with("bad delay: "),
            "delay={shown}: {}",
            reply.body
        );
        assert_eq!(
            reply.body.lines().count(),
            1,
            "delay={shown}: {}",
            reply.body
        );
    }
    // 100 KB no longer fits in a request line the HTTP layer accepts: still a 400.
    let huge = format!(
        "GET /?delay={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "9".repeat(100_000)
    );
    let (status, _) = raw_exchange(api.port, huge.as_bytes()).expect("an answer");
    assert_eq!(status, 400);
    // And the service is still there.
    assert_eq!(get(&api.url("/?delay=0")).status, 200);
}

#[test]
fn sleeps_on_a_timer_not_a_thread() {
    // 100 requests of 0.5 s: one thread per request on 2 workers would need 25 s.
    let api = start();
    let (replies, took) = get_concurrently(&api.url("/?delay=0.5"), 100);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn the_shutdown_signal_lets_in_flight_requests_finish() {
    let api = start();
    let url = api.url("/?delay=1");
    for reply in api.stop_during(&url, 1, Duration::from_millis(500)) {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "slow api response");
    }
}

/// The binary: SIGTERM and SIGINT are the shutdown signal, and it exits 0 after the drain.
fn drains_on(signal: i32) {
    let mut api = Service::start(BIN, "--port", &[]);
    let url = api.url("/?delay=1");
    let in_flight = std::thread::spawn(move || get(&url));
    // Give the request time to arrive; nothing observable marks "accepted" from outside.
    std::thread::sleep(Duration::from_millis(300));
    api.signal(signal);
    let reply = in_flight.join().expect("request thread");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "slow api response");
    let status = api.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_binary_accepts_on_each_of_its_queues() {
    // Its ACCEPT_QUEUES sockets on one port: the kernel spreads the 40 connections over
    // them by their ports, so a queue the accept thread never took from would leave
    // about half of them unanswered (each GET gives up after 120 s).
    let mut api = Service::start(BIN, "--port", &[]);
    assert_eq!(
        kit::testing::listening_sockets(api.port),
        common::server::ACCEPT_QUEUES
    );
    let (replies, _) = get_concurrently(&api.url("/?delay=0.2"), 40);
    assert!(replies.iter().all(|reply| reply.status == 200));
    api.signal(libc::SIGTERM);
    let status = api.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    drains_on(libc::SIGTERM);
}

#[test]
fn sigint_lets_in_flight_requests_finish() {
    drains_on(libc::SIGINT);
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let output = std::process::Command::new(BIN)
        .args(["--max-delay", "nan"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-delay"), "{stderr}");
}
