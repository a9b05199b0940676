//! The engine against a test server that counts connections and misbehaves on request.
//! Bounds are generous: the machine is a noisy 2-core box shared with other builds.

mod support;

use std::time::{Duration, Instant};

use loadgen::{run_blocking, LoadSpec, Report};
use support::{run, TestServer};

#[test]
fn counts_add_up_and_non_2xx_are_complete() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(200),
        concurrency: 10,
        keep_alive: true,
        ..LoadSpec::new(server.url("/status"))
    });
    assert_eq!(report.complete + report.failed, 200);
    assert_eq!(report.complete, 200);
    assert_eq!(report.failed, 0);
    assert_eq!(report.non_2xx, 50, "every 4th answer is a 500");
    assert_eq!(report.status_codes.get(&500), Some(&50));
    assert_eq!(report.status_codes.get(&200), Some(&150));
    assert_eq!(server.requests(), 200, "the server saw every request once");
    assert!(report.latency_ms.p50 > 0.0);
    assert!(report.latency_ms.p50 <= report.latency_ms.p99);
    assert!(report.latency_ms.p99 <= report.latency_ms.max);
    assert_eq!(report.server_software.as_deref(), Some("testserver"));
    assert_eq!(report.document_length, Some(4));
}

#[test]
fn length_mismatches_are_reported_but_not_failures() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(90),
        concurrency: 3,
        ..LoadSpec::new(server.url("/vary"))
    });
    assert_eq!(report.complete, 90);
    assert_eq!(report.failed, 0);
    // Lengths cycle 1, 2, 3: two thirds differ from whichever came first.
    assert_eq!(report.length_mismatches, 60);
}

#[test]
fn keep_alive_opens_one_connection_per_worker() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(100),
        concurrency: 5,
        keep_alive: true,
        ..LoadSpec::new(server.url("/"))
    });
    assert_eq!(report.complete, 100);
    assert_eq!(server.connections(), 5);
    assert_eq!(report.connections_opened, 5);
    assert_eq!(report.keep_alive_requests, 95);
}

#[test]
fn without_keep_alive_every_request_opens_a_connection() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(100),
        concurrency: 5,
        ..LoadSpec::new(server.url("/"))
    });
    assert_eq!(report.complete, 100);
    assert_eq!(server.connections(), 100);
    assert_eq!(report.connections_opened, 100);
    assert_eq!(report.keep_alive_requests, 0);
}

#[test]
fn keep_alive_reconnects_when_the_server_closes() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(40),
        concurrency: 2,
        keep_alive: true,
        ..LoadSpec::new(server.url("/close"))
    });
    assert_eq!(report.complete, 40);
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(server.connections(), 40);
    assert_eq!(report.connections_opened, 40);
}

#[test]
fn time_limit_is_honoured() {
    let server = TestServer::start();
    let started = Instant::now();
    let report = run(LoadSpec {
        requests: None,
        concurrency: 4,
        keep_alive: true,
        time_limit: Some(Duration::from_secs(1)),
        ..LoadSpec::new(server.url("/sleep?ms=50"))
    });
    let wall = started.elapsed();
    assert!(wall < Duration::from_secs(3), "took {wall:?}");
    assert!(
        (0.9..1.5).contains(&report.time_taken_s),
        "time taken {}",
        report.time_taken_s
    );
    // 4 workers x ~20 requests per second each, give or take a noisy machine.
    assert!(
        (20..=90).contains(&report.complete),
        "{} complete",
        report.complete
    );
    assert_eq!(report.failed, 0, "cut-off requests are not failures");
    assert!(report.unfinished <= 4);
}

#[test]
fn per_request_timeout_is_a_failure() {
    let server = TestServer::start();
    let started = Instant::now();
    let report = run(LoadSpec {
        requests: Some(4),
        concurrency: 2,
        timeout: Duration::from_millis(300),
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/sleep?ms=3000"))
    });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.complete, 0);
    assert_eq!(report.failed, 4);
    assert_eq!(report.failures.timeout, 4);
    assert!(
        report.time_taken_s >= 0.55,
        "two rounds of 0.3 s: {}",
        report.time_taken_s
    );
}

#[test]
fn rate_delivers_its_rate() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(200),
        concurrency: 10,
        keep_alive: true,
        rate: Some(200.0),
        ..LoadSpec::new(server.url("/"))
    });
    assert_eq!(report.complete, 200);
    // The last request is due at 199/200 s.
    assert!(
        (0.95..1.5).contains(&report.time_taken_s),
        "time taken {}",
        report.time_taken_s
    );
    let rate = report.rate.expect("rate mode reports its rate");
    assert_eq!(rate.target_rps, 200.0);
    assert!(rate.sent_late < 20, "{} sent late", rate.sent_late);
}

#[test]
fn rate_latency_counts_from_the_due_time() {
    // One connection, 100 ms per response, asked for 50 per second: requests queue up,
    // and the corrected latency shows the queue that a closed-loop tool would hide.
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(10),
        concurrency: 1,
        keep_alive: true,
        rate: Some(50.0),
        ..LoadSpec::new(server.url("/sleep?ms=100"))
    });
    assert_eq!(report.complete, 10);
    let rate = report.rate.expect("rate report");
    assert!(rate.sent_late >= 8, "{} sent late", rate.sent_late);
    assert!(
        rate.raw_latency_ms.max < 400.0,
        "raw {:?}",
        rate.raw_latency_ms
    );
    assert!(
        report.latency_ms.max > 2.0 * rate.raw_latency_ms.max,
        "corrected {:?} vs raw {:?}",
        report.latency_ms,
        rate.raw_latency_ms
    );
}

#[test]
fn ramp_up_spreads_the_first_requests_and_is_not_latency() {
    // Ten clients, one quick request each, started over one second: the run lasts
    // about that second, yet no request waited for its turn.
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(10),
        concurrency: 10,
        ramp_up: Some(Duration::from_secs(1)),
        ..LoadSpec::new(server.url("/"))
    });
    assert_eq!(report.complete, 10);
    // The last client starts at 9/10 of the ramp.
    assert!(
        (0.85..2.5).contains(&report.time_taken_s),
        "time taken {}",
        report.time_taken_s
    );
    assert!(
        report.latency_ms.max < 500.0,
        "latency counts the ramp: {:?}",
        report.latency_ms
    );

    // Without it, all ten go at once.
    let report = run(LoadSpec {
        requests: Some(10),
        concurrency: 10,
        ..LoadSpec::new(server.url("/"))
    });
    assert!(report.time_taken_s < 0.5, "{}", report.time_taken_s);
}

#[test]
fn refused_connections_are_failures_not_crashes() {
    let port = support::free_port(); // nothing listens there
    let report = run(LoadSpec {
        requests: Some(50),
        concurrency: 5,
        continue_on_socket_error: true,
        ..LoadSpec::new(format!("http://127.0.0.1:{port}/"))
    });
    assert_eq!(report.complete, 0);
    assert_eq!(report.failed, 50);
    assert_eq!(report.failures.connect, 50);
    assert!(report.aborted.is_none());
}

#[test]
fn refused_connections_abort_without_r() {
    let port = support::free_port();
    let report = run(LoadSpec {
        requests: Some(1000),
        concurrency: 2,
        ..LoadSpec::new(format!("http://127.0.0.1:{port}/"))
    });
    assert!(report.aborted.is_some());
    assert!(
        report.failed > 10 && report.failed < 1000,
        "{}",
        report.failed
    );
}

#[test]
fn reset_connections_are_receive_failures() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(40),
        concurrency: 4,
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/reset"))
    });
    assert_eq!(report.complete, 0);
    assert_eq!(report.failed, 40);
    assert_eq!(report.failures.receive, 40, "{:?}", report.failures);
}

#[test]
fn post_bodies_are_sent() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(10),
        concurrency: 2,
        method: "POST".into(),
        body: Some(b"twelve bytes".to_vec()),
        ..LoadSpec::new(server.url("/echo"))
    });
    assert_eq!(report.complete, 10);
    assert_eq!(report.document_length, Some(2), "the server echoes \"12\"");
}

#[test]
fn bad_specs_are_usage_errors() {
    for spec in [
        LoadSpec::new("not a url"),
        LoadSpec::new("https://127.0.0.1/"),
        LoadSpec {
            concurrency: 0,
            ..LoadSpec::new("http://127.0.0.1/")
        },
        LoadSpec {
            requests: Some(5),
            concurrency: 10,
            ..LoadSpec::new("http://127.0.0.1/")
        },
        LoadSpec {
            method: "BAD METHOD".into(),
            ..LoadSpec::new("http://127.0.0.1/")
        },
        LoadSpec {
            headers: vec![("Bad Name".into(), "x".into())],
            ..LoadSpec::new("http://127.0.0.1/")
        },
        LoadSpec {
            rate: Some(10.0),
            ramp_up: Some(Duration::from_secs(1)),
            ..LoadSpec::new("http://127.0.0.1/")
        },
    ] {
        let err = run_blocking(spec.clone()).expect_err("invalid spec");
        assert!(err.is_usage(), "{spec:?}: {err}");
    }
}

/// The live counters: in flight while the clients wait, then every request counted, its
/// latency in the interval's histogram and its failure under its kind.
#[test]
fn live_progress_shows_in_flight_latencies_and_failures_by_kind() {
    let server = TestServer::start();
    let progress = std::sync::Arc::new(loadgen::Progress::with_latencies());
    let spec = LoadSpec {
        requests: Some(20),
        concurrency: 10,
        timeout: Duration::from_secs(5),
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/sleep?ms=400"))
    };
    let load = {
        let progress = std::sync::Arc::clone(&progress);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(loadgen::run_with_progress(spec, progress))
        })
    };
    // All ten clients wait on the server's sleep: the first round is in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut most = 0;
    while Instant::now() < deadline && progress.done() == 0 {
        most = most.max(progress.in_flight());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(most, 10);
    let report = load.join().expect("joined").expect("ran");
    assert_eq!(report.complete, 20);
    assert_eq!(
        (progress.started(), progress.done(), progress.in_flight()),
        (20, 20, 0)
    );
    let latencies = progress.take_latencies().expect("kept");
    assert_eq!(latencies.len(), 20);
    assert!(
        latencies.value_at_quantile(0.5) >= 400_000,
        "{}",
        latencies.value_at_quantile(0.5)
    );
    assert_eq!(
        progress.take_latencies().expect("kept").len(),
        0,
        "a new interval"
    );

    // Refused connections, counted by kind; plain counters keep no latencies.
    let refused = std::sync::Arc::new(loadgen::Progress::default());
    let spec = LoadSpec {
        requests: Some(3),
        concurrency: 1,
        continue_on_socket_error: true,
        ..LoadSpec::new(format!("http://127.0.0.1:{}/", support::free_port()))
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(loadgen::run_with_progress(
            spec,
            std::sync::Arc::clone(&refused),
        ))
        .expect("ran");
    assert_eq!(report.failures.connect, 3);
    assert_eq!(refused.failures(), report.failures);
    assert!(refused.take_latencies().is_none());
}

/// Progress::stop ends a load before its count: the requests in flight finish, no more
/// are sent.
#[test]
fn a_stopped_load_ends_early_and_counts_what_it_sent() {
    let server = TestServer::start();
    let progress = std::sync::Arc::new(loadgen::Progress::default());
    let spec = LoadSpec {
        requests: Some(1000),
        concurrency: 4,
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/sleep?ms=100"))
    };
    let stopper = {
        let progress = std::sync::Arc::clone(&progress);
        std::thread::spawn(move || {
            // Stop once the first round is back (each request takes 100 ms).
            let deadline = Instant::now() + Duration::from_secs(10);
            while progress.done() < 4 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            progress.stop();
        })
    };
    let started = Instant::now();
    let report = run_blocking_with(spec, std::sync::Arc::clone(&progress));
    stopper.join().expect("stopper");
    assert!(
        report.complete >= 4 && report.complete < 1000,
        "{}",
        report.complete
    );
    assert_eq!(report.complete + report.failed, progress.done());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

fn run_blocking_with(spec: LoadSpec, progress: std::sync::Arc<loadgen::Progress>) -> Report {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(loadgen::run_with_progress(spec, progress))
        .expect("ran")
}

/// A stop also ends the clients still waiting for their ramp's start: a 60 s ramp
/// stopped at its first answers ends then, not after the ramp.
#[test]
fn a_stop_during_a_ramp_does_not_wait_for_it() {
    let server = TestServer::start();
    let progress = std::sync::Arc::new(loadgen::Progress::default());
    let spec = LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_secs(120)),
        concurrency: 10,
        ramp: Some(loadgen::ClientRamp {
            from: 1,
            over: Duration::from_secs(60),
        }),
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/sleep?ms=50"))
    };
    let stopper = {
        let progress = std::sync::Arc::clone(&progress);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            while progress.done() < 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            progress.stop();
        })
    };
    let report = run_blocking_with(spec, std::sync::Arc::clone(&progress));
    stopper.join().expect("stopper");
    assert!(report.complete >= 2, "{}", report.complete);
    assert!(
        report.time_taken_s < 30.0,
        "stopped in the ramp's first seconds, ended after {} s",
        report.time_taken_s
    );
}
