//! app_async over real sockets, in front of the real slow_api.

use std::time::{Duration, Instant};

use lab::testing::{free_port, get, get_concurrently, Service};

const APP: &str = env!("CARGO_BIN_EXE_app_async");

/// slow_api, and app_async in front of it with `args`.
fn topology(args: &[&str]) -> (Service, Service) {
    let api = lab::testing::start_slow_api();
    let api_url = api.url("/");
    let mut app_args = vec!["--api-url", api_url.as_str()];
    app_args.extend_from_slice(args);
    let app = Service::start(APP, "--port-app", &app_args);
    (api, app)
}

#[test]
fn proxies_the_slow_api() {
    let (_api, app) = topology(&[]);
    let reply = get(&app.url("/?delay=0.1"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "Hi there! slow api response");
    assert_eq!(get(&app.url("/healthz")).status, 200);
}

#[test]
fn every_client_gives_the_same_body() {
    for client in ["async", "blocking", "offload"] {
        let (_api, app) = topology(&["--client", client]);
        let reply = get(&app.url("/?delay=0"));
        assert_eq!(reply.status, 200, "{client}");
        assert_eq!(reply.body, "Hi there! slow api response", "{client}");
    }
}

#[test]
fn bad_delay_is_400_and_never_reaches_upstream() {
    // No upstream at all: a 400 proves the delay was checked first.
    let nowhere = format!("http://127.0.0.1:{}/", free_port());
    let app = Service::start(APP, "--port-app", &["--api-url", &nowhere]);
    for delay in [
        "abc",
        "-1",
        "nan",
        "inf",
        "1e309",
        "0x10",
        "%00",
        "1%3B%20DROP%20TABLE%20x",
    ] {
        let reply = get(&app.url(&format!("/?delay={delay}")));
        assert_eq!(reply.status, 400, "delay={delay}: {}", reply.body);
        assert!(reply.body.starts_with("bad delay: "), "{}", reply.body);
        assert_eq!(reply.body.lines().count(), 1);
    }
}

#[test]
fn upstream_down_is_502_and_the_worker_lives_on() {
    let nowhere = format!("http://127.0.0.1:{}/", free_port());
    for client in ["async", "blocking", "offload"] {
        let app = Service::start(
            APP,
            "--port-app",
            &["--api-url", &nowhere, "--client", client],
        );
        for _ in 0..3 {
            let reply = get(&app.url("/?delay=0"));
            assert_eq!(reply.status, 502, "{client}: {}", reply.body);
            assert!(
                reply.body.starts_with("upstream unreachable"),
                "{}",
                reply.body
            );
            assert_eq!(reply.body.lines().count(), 1);
        }
        assert_eq!(get(&app.url("/healthz")).status, 200, "{client}");
    }
}

#[test]
fn upstream_stopped_mid_run_is_502_then_recovers_when_it_returns() {
    let (api, app) = topology(&[]);
    assert_eq!(get(&app.url("/?delay=0")).status, 200);
    let api_port = api.port;
    drop(api);
    assert_eq!(get(&app.url("/?delay=0")).status, 502);
    // A new slow_api on the same port: the app needs no restart.
    let restarted = std::process::Command::new(lab::testing::workspace_bin("slow_api"))
        .args(["--port", &api_port.to_string()])
        .env("RUST_LOG", "warn")
        .spawn();
    let mut restarted = restarted.expect("restart slow_api");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    while Instant::now() < deadline {
        status = get(&app.url("/?delay=0")).status;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert_eq!(status, 200);
}

#[test]
fn slower_than_the_timeout_is_504() {
    for client in ["async", "blocking", "offload"] {
        let (_api, app) = topology(&["--upstream-timeout", "0.2", "--client", client]);
        let started = Instant::now();
        let reply = get(&app.url("/?delay=3"));
        assert_eq!(reply.status, 504, "{client}: {}", reply.body);
        assert!(
            reply.body.starts_with("upstream did not answer"),
            "{}",
            reply.body
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{client}");
        // The worker is fine afterwards.
        assert_eq!(get(&app.url("/?delay=0")).status, 200, "{client}");
    }
}

#[test]
fn async_client_keeps_many_requests_in_flight_on_one_thread() {
    // 50 requests of 0.5 s on one event loop: 25 s if served one by one.
    let (_api, app) = topology(&["--workers", "1", "--client", "async"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.5"), 50);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn more_clients_than_descriptors_queue_instead_of_failing() {
    // 160 open files: after the 64 kept back, 48 connections a side. 120 clients at once
    // would need 240 sockets; past the budget they must wait in the accept queue, not
    // meet "too many open files" (a 502 when the upstream connect fails, a 500 ms pause
    // of the accept loop when accept() does).
    let api = lab::testing::start_slow_api();
    let api_url = api.url("/");
    let app = Service::start(
        "prlimit",
        "--port-app",
        &["--nofile=160:160", APP, "--api-url", api_url.as_str()],
    );
    let (replies, _) = get_concurrently(&app.url("/?delay=0.3"), 120);
    let failed: Vec<_> = replies.iter().filter(|reply| reply.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 120 failed: {:?}",
        failed.len(),
        failed.first()
    );
}

#[test]
fn blocking_client_serialises_requests_on_one_worker() {
    // 6 requests of 0.5 s: the blocked loop serves them one at a time, 3 s in all.
    let (_api, app) = topology(&["--workers", "1", "--client", "blocking"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.5"), 6);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert!(took >= Duration::from_millis(2_900), "took {took:?}");
}

#[test]
fn offloaded_blocking_client_does_not_serialise() {
    let (_api, app) = topology(&["--workers", "1", "--client", "offload"]);
    let (replies, took) = get_concurrently(&app.url("/?delay=0.5"), 20);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let (_api, mut app) = topology(&[]);
        let url = app.url("/?delay=1");
        let in_flight = std::thread::spawn(move || get(&url));
        // Give the request time to arrive; nothing observable marks "accepted" from outside.
        std::thread::sleep(Duration::from_millis(300));
        app.signal(signal);
        let reply = in_flight.join().expect("request thread");
        assert_eq!(reply.status, 200, "signal {signal}");
        assert_eq!(reply.body, "Hi there! slow api response");
        let status = app.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(0), "signal {signal}");
    }
}

#[test]
fn bad_configuration_exits_2_with_a_message() {
    for args in [
        &["--client", "gevent"][..],
        &["--workers", "0"],
        &["--api-url", "ftp://x/"],
        &["--upstream-timeout", "-1"],
    ] {
        let output = std::process::Command::new(APP)
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = std::process::Command::new(APP)
        .env("CLIENT", "nope")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
}
