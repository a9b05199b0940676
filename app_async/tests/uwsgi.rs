//! `--protocol uwsgi`: the event loop behind a real nginx's `uwsgi_pass`, with the
//! configuration the compose file mounts (nginx/nginx-uwsgi.conf), the article's
//! nginx -> uWSGI + gevent; and malformed packets sent straight to the socket.

use std::time::{Duration, Instant};

use kit::testing::in_process::{config_from_args, InProcess};
use kit::testing::{get, get_concurrently, raw_exchange, Nginx};

const HI: &str = "Hi there! slow api response";

/// slow_api <- app_async (uwsgi), both in this process, and nginx in front.
fn topology(args: &[&str]) -> (InProcess, InProcess, Nginx) {
    let api = kit::testing::slow_api();
    let api_url = api.url("/");
    let mut all = vec!["--protocol", "uwsgi", "--api-url", &api_url];
    all.extend_from_slice(args);
    let config: app_async::Config = config_from_args(&all);
    // ACCEPT_QUEUES sockets per event loop on one port, as the binary binds them.
    let mut listeners = app_async::bind([127, 0, 0, 1].into(), 0, config.workers).expect("bind");
    let first = listeners.remove(0);
    // It speaks uwsgi, not HTTP: nginx's /healthz (through it) says when it is ready.
    let app = InProcess::spawn_on(first, "app_async", move |first, stop| {
        listeners.insert(0, first);
        actix_web::rt::System::new().block_on(app_async::run(listeners, config, stop))
    });
    let nginx = Nginx::start(kit::nginx::UWSGI, app.port);
    (api, app, nginx)
}

#[test]
fn nginx_uwsgi_pass_reaches_the_event_loop() {
    let (_api, _app, nginx) = topology(&[]);
    let reply = get(&nginx.url("/?delay=0.1"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    assert_eq!(get(&nginx.url("/healthz")).status, 200);
    let bad = get(&nginx.url("/?delay=nope"));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.starts_with("bad delay"), "{}", bad.body);
    assert_eq!(get(&nginx.url("/nowhere")).status, 404);
}

/// One event loop holds them all while they wait: 50 requests of 0.5 s take about one
/// round, not 50 (a thread pool of a few threads would take many).
#[test]
fn one_loop_keeps_many_requests_in_flight_over_uwsgi() {
    let (_api, _app, nginx) = topology(&["--workers", "1"]);
    let started = Instant::now();
    let (replies, _) = get_concurrently(&nginx.url("/?delay=0.5"), 50);
    let took = started.elapsed();
    assert!(replies
        .iter()
        .all(|reply| reply.status == 200 && reply.body == HI));
    assert!(took < Duration::from_secs(5), "50 x 0.5 s took {took:?}");
}

#[test]
fn malformed_packets_get_a_clean_answer_and_the_loop_survives() {
    let (_api, app, nginx) = topology(&[]);
    // An HTTP request is not a uwsgi packet: 'G' is modifier1 71.
    let (status, body) = raw_exchange(app.port, b"GET / HTTP/1.1\r\n\r\n").expect("answer");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("modifier1 71"), "{body}");
    // Vars that end in the middle of a key.
    let (status, body) = raw_exchange(app.port, &[0, 3, 0, 0, 9, 0, b'R']).expect("answer");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("truncated"), "{body}");
    // A body over the limit.
    let packet =
        common::uwsgi::encode_packet(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "1000000")]);
    let (status, _) = raw_exchange(app.port, &packet).expect("answer");
    assert_eq!(status, 413);
    // A packet straight to the socket, the way nginx sends it.
    let packet = common::uwsgi::encode_packet(&[
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", "/"),
        ("QUERY_STRING", "delay=0"),
        ("SERVER_PROTOCOL", "HTTP/1.0"),
    ]);
    let (status, body) = raw_exchange(app.port, &packet).expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("HTTP/1.0 200 OK") && body.ends_with(HI),
        "{body}"
    );
    // And the loop still serves.
    assert_eq!(get(&nginx.url("/?delay=0")).status, 200);
}

/// Two loops, each accepting uwsgi connections on its own sockets: every request through
/// nginx is answered, and on the shutdown signal both let theirs finish.
#[test]
fn every_uwsgi_worker_accepts_and_drains() {
    let (_api, app, nginx) = topology(&["--workers", "2"]);
    let (replies, _) = get_concurrently(&nginx.url("/?delay=0.2"), 30);
    assert!(replies
        .iter()
        .all(|reply| reply.status == 200 && reply.body == HI));
    let url = nginx.url("/?delay=1");
    let replies = app.stop_during(&url, 6, Duration::from_millis(500));
    for reply in replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
}
