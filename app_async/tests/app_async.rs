//! app_async over real sockets, in front of the real slow_api.
//!
//! Both run in this process ([`app_async::run`] and slow_api's, each on its own
//! thread and actix system, on 127.0.0.1:0); the app binary is spawned only where the
//! process is the point: its open-files limit, signals, exit codes.

use std::time::{Duration, Instant};

use app_async::{Client, Config};
use clap::ValueEnum;
use kit::testing::in_process::{config_from_args, InProcess};
use kit::testing::{free_port, get, get_concurrently, slow_api, slow_api_on, Service};

const APP: &str = env!("CARGO_BIN_EXE_app_async");

/// app_async's configuration: `--api-url api_url` plus `args`, as the binary parses them.
fn config(api_url: &str, args: &[&str]) -> Config {
    let mut all = vec!["--api-url", api_url];
    all.extend_from_slice(args);
    config_from_args(&all)
}

/// app_async in this process.
fn app(config: Config) -> InProcess {
    InProcess::start("app_async", move |listener, stop| {
        actix_web::rt::System::new().block_on(app_async::run(listener, config, stop))
    })
}

/// slow_api, and app_async in front of it with `args`.
fn topology(args: &[&str]) -> (InProcess, InProcess) {
    let api = slow_api();
    let app = app(config(&api.url("/"), args));
    (api, app)
}

/// The three clients, as `--client` names them.
fn clients() -> &'static [Client] {
    Client::value_variants()
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
    for &client in clients() {
        let api = slow_api();
        let app = app(Config {
            client,
            ..config(&api.url("/"), &[])
        });
        let reply = get(&app.url("/?delay=0"));
        assert_eq!(reply.status, 200, "{client:?}");
        assert_eq!(reply.body, "Hi there! slow api response", "{client:?}");
    }
}

#[test]
fn bad_delay_is_400_and_never_reaches_upstream() {
    // No upstream at all: a 400 proves the delay was checked first.
    let nowhere = format!("http://127.0.0.1:{}/", free_port());
    let app = app(config(&nowhere, &[]));
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
    for &client in clients() {
        let app = app(Config {
            client,
            ..config(&nowhere, &[])
        });
        for _ in 0..3 {
            let reply = get(&app.url("/?delay=0"));
            assert_eq!(reply.status, 502, "{client:?}: {}", reply.body);
            assert!(
                reply.body.starts_with("upstream unreachable"),
                "{}",
                reply.body
            );
            assert_eq!(reply.body.lines().count(), 1);
        }
        assert_eq!(get(&app.url("/healthz")).status, 200, "{client:?}");
    }
}

#[test]
fn upstream_stopped_mid_run_is_502_then_recovers_when_it_returns() {
    let (api, app) = topology(&[]);
    assert_eq!(get(&app.url("/?delay=0")).status, 200);
    let api_port = api.port;
    // Returns once slow_api has drained and closed its listener.
    assert_eq!(api.stop(), Ok(()));
    assert_eq!(get(&app.url("/?delay=0")).status, 502);
    // A new slow_api on the same port: the app needs no restart.
    let listener = std::net::TcpListener::bind(("127.0.0.1", api_port)).expect("same port");
    let _restarted = slow_api_on(listener);
    // It answers /healthz already; the app may still hold a connection from before, so
    // allow it a few attempts to find out.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    while Instant::now() < deadline {
        status = get(&app.url("/?delay=0")).status;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status, 200);
}

#[test]
fn slower_than_the_timeout_is_504() {
    // One upstream for all three: stopping it waits for the 3 s answers the apps gave up on.
    let api = slow_api();
    for &client in clients() {
        let app = app(Config {
            client,
            ..config(&api.url("/"), &["--upstream-timeout", "0.2"])
        });
        let started = Instant::now();
        let reply = get(&app.url("/?delay=3"));
        assert_eq!(reply.status, 504, "{client:?}: {}", reply.body);
        assert!(
            reply.body.starts_with("upstream did not answer"),
            "{}",
            reply.body
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{client:?}");
        // The worker is fine afterwards.
        assert_eq!(get(&app.url("/?delay=0")).status, 200, "{client:?}");
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
    // The limit is the app process's own: this one spawns the binary under prlimit.
    let api = slow_api();
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
fn the_shutdown_signal_lets_in_flight_requests_finish() {
    let (_api, app) = topology(&[]);
    let url = app.url("/?delay=1");
    for reply in app.stop_during(&url, 1, Duration::from_millis(500)) {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "Hi there! slow api response");
    }
}

/// The binary: SIGTERM and SIGINT are the shutdown signal, and it exits 0 after the drain.
#[test]
fn sigterm_lets_in_flight_requests_finish() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let api = slow_api();
        let mut app = Service::start(APP, "--port-app", &["--api-url", &api.url("/")]);
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

/// app_async in this process with `workers` event loops, each on its own sockets of one
/// port (`app_async::bind`, as the binary does).
fn app_with_workers(config: Config, workers: usize) -> InProcess {
    let mut listeners = app_async::bind([127, 0, 0, 1].into(), 0, workers).expect("bind");
    let first = listeners.remove(0);
    InProcess::start_on(first, "app_async", move |first, stop| {
        listeners.insert(0, first);
        actix_web::rt::System::new().block_on(app_async::run(listeners, config, stop))
    })
}

#[test]
fn every_worker_accepts_on_its_own_sockets() {
    // Three loops' sockets on one port: the kernel spreads the 30 connections over them
    // by their ports, so a loop that did not accept would leave some unanswered.
    let api = slow_api();
    let app = app_with_workers(config(&api.url("/"), &["--workers", "3"]), 3);
    let (replies, _) = get_concurrently(&app.url("/?delay=0.2"), 30);
    assert!(
        replies.iter().all(|reply| reply.status == 200),
        "{:?}",
        replies.iter().find(|reply| reply.status != 200)
    );
    let loops = std::fs::read_dir("/proc/self/task")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|name| name.starts_with("app_async-loop-"))
        .count();
    // Worker 0 runs on the thread that called run.
    assert_eq!(loops, 2);
}

#[test]
fn one_loop_accepts_on_each_of_its_queues() {
    // bind gives the one loop ACCEPT_QUEUES sockets on one port; the kernel spreads
    // the 40 connections over them by their ports, so a queue the loop never accepted
    // on would leave about half of them unanswered (each GET gives up after 120 s).
    let sockets = app_async::bind([127, 0, 0, 1].into(), 0, 3).expect("bind");
    assert_eq!(sockets.len(), 3 * app_async::ACCEPT_QUEUES);
    let port = sockets[0].local_addr().expect("address").port();
    assert!(sockets
        .iter()
        .all(|socket| socket.local_addr().expect("address").port() == port));
    drop(sockets);

    let api = slow_api();
    let app = app_with_workers(config(&api.url("/"), &[]), 1);
    let (replies, _) = get_concurrently(&app.url("/?delay=0.2"), 40);
    assert!(
        replies.iter().all(|reply| reply.status == 200),
        "{:?}",
        replies.iter().find(|reply| reply.status != 200)
    );
}

#[test]
fn workers_and_listeners_must_match() {
    let api = slow_api();
    let config = config(&api.url("/"), &["--workers", "2"]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let never = std::future::pending::<()>();
    let result = actix_web::rt::System::new().block_on(app_async::run(listener, config, never));
    let err = result.expect_err("2 workers, 1 listener");
    assert!(err.to_string().contains("WORKERS=2"), "{err}");
}

#[test]
fn every_worker_drains_on_the_shutdown_signal() {
    let api = slow_api();
    let app = app_with_workers(config(&api.url("/"), &["--workers", "2"]), 2);
    let url = app.url("/?delay=1");
    let replies = app.stop_during(&url, 8, Duration::from_millis(500));
    assert_eq!(replies.len(), 8);
    for reply in replies {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, "Hi there! slow api response");
    }
}

/// The binary with WORKERS=1 is one thread: the event loop, nothing else.
#[test]
fn one_worker_is_one_thread() {
    let api = slow_api();
    let app = Service::start_with_env(
        APP,
        "--port-app",
        &["--api-url", &api.url("/")],
        &[("WORKERS", "1")],
    );
    let threads = || {
        std::fs::read_to_string(format!("/proc/{}/status", app.pid()))
            .expect("status")
            .lines()
            .find_map(|line| line.strip_prefix("Threads:").map(|n| n.trim().to_owned()))
            .expect("Threads:")
    };
    assert_eq!(threads(), "1");
    let (replies, _) = get_concurrently(&app.url("/?delay=0.2"), 20);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert_eq!(threads(), "1");
}

/// WORKERS=3 in the binary: three loops, each with its own sockets on the port, and a
/// graceful exit 0 on SIGTERM.
#[test]
fn the_binary_runs_its_queues_per_worker() {
    let api = slow_api();
    let mut app = Service::start_with_env(
        APP,
        "--port-app",
        &["--api-url", &api.url("/")],
        &[("WORKERS", "3")],
    );
    assert_eq!(
        kit::testing::listening_sockets(app.port),
        3 * app_async::ACCEPT_QUEUES
    );
    let (replies, _) = get_concurrently(&app.url("/?delay=0.1"), 30);
    assert!(replies.iter().all(|reply| reply.status == 200));
    app.signal(libc::SIGTERM);
    let status = app.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(0));
}

/// A port another socket holds: exit 1 and one line that names it, also under
/// RUST_BACKTRACE=1, so that the lab's start-up retry sees "in use" in the log's tail.
#[test]
fn a_taken_port_exits_1_with_one_line_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let output = kit::stack::service_command(APP)
        .env("RUST_BACKTRACE", "1")
        .args(["--port-app", &port.to_string()])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && lines[0].contains("in use"),
        "{stderr}"
    );
}
