//! `--protocol uwsgi` behind a real nginx (`uwsgi_pass`), the article's nginx -> uWSGI
//! topology, plus malformed packets sent straight to the socket.

mod support;

use std::time::Duration;

use kit::testing::Nginx;
use support::*;

const HI: &str = "Hi there! slow api response";

/// slow_api <- app_sync (uwsgi) <- nginx, ready when nginx's /healthz reaches app_sync.
fn topology(args: &[&str]) -> (Service, Service, Nginx) {
    let api = slow_api();
    let api_port = api.port.to_string();
    let mut all = vec!["--protocol", "uwsgi", "--port-api", &api_port];
    all.extend_from_slice(args);
    let app = Service::spawn_with_env(APP, "--port-app", &all, &[]);
    // nginx/nginx-uwsgi.conf, as compose mounts it; ready once /healthz reaches the app.
    let nginx = Nginx::start(kit::nginx::UWSGI_SYNC, app.port);
    (api, app, nginx)
}

#[test]
fn nginx_uwsgi_pass_reaches_the_app() {
    let (_api, _app, nginx) = topology(&["--threads", "2"]);
    let reply = get(&nginx.url("/?delay=0.2"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    let reply = get(&nginx.url("/?delay=abc"));
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("bad delay"), "{reply:?}");
    assert_eq!(get(&nginx.url("/nope")).status, 404);
    // A query string with encoded characters passes through untouched.
    let reply = get(&nginx.url("/?x=%20y&delay=0%2E1"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
}

#[test]
fn nginx_in_front_of_prefork_workers_keeps_the_cap() {
    let (_api, app, nginx) = topology(&["--workers", "2", "--threads", "2"]);
    let url = nginx.url("/?delay=0.6");
    let (replies, took) = get_concurrently(&url, 4);
    for reply in &replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    assert!(
        took < Duration::from_millis(1100),
        "4 x 0.6 s on 2x2 took {took:?}"
    );
    let (replies, took) = get_concurrently(&url, 8);
    for reply in &replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    assert!(
        took >= Duration::from_millis(1150),
        "8 x 0.6 s on 2x2 took only {took:?}"
    );
    drop(nginx);
    stop(app);
}

#[test]
fn malformed_uwsgi_packets_get_400_and_the_thread_survives() {
    let (_api, app, nginx) = topology(&["--threads", "1"]);
    // modifier1 5 (PSGI) is not ours.
    let answer = raw_exchange(app.port, &[5, 0, 0, 0]);
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("modifier1"), "{answer}");
    // A vars block whose key claims more bytes than the block has.
    let answer = raw_exchange(app.port, &[0, 4, 0, 0, 200, 0, b'A', b'B']);
    assert_eq!(status_of(&answer), 400, "{answer}");
    // No REQUEST_METHOD.
    let answer = raw_exchange(app.port, &[0, 0, 0, 0]);
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("REQUEST_METHOD"), "{answer}");
    // HTTP sent to the uwsgi port is garbage to it, answered and not fatal.
    let answer = raw_exchange(app.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.is_empty() || status_of(&answer) == 400, "{answer}");

    let reply = get(&nginx.url("/?delay=0"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
}
