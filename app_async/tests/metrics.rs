//! `GET /metrics` on app_async: counts by status, the histogram, the gauges while a
//! request waits on the upstream; over uwsgi through `--metrics-port`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::metrics::parse::parse;
use kit::testing::in_process::{config_from_args, InProcess};
use kit::testing::scrape_metrics as scrape;
use kit::testing::scrape_metrics_until as scrape_until;
use kit::testing::{free_port, get, slow_api};

fn config(api: &InProcess, args: &[&str]) -> app_async::Config {
    let api_url = api.url("/");
    let mut all = vec!["--api-url", api_url.as_str()];
    all.extend_from_slice(args);
    config_from_args(&all)
}

#[test]
fn http_metrics_count_requests_and_show_them_in_flight() {
    let api = slow_api();
    let config = config(&api, &[]);
    let app = InProcess::start("app_async", move |listener, stop| {
        actix_web::rt::System::new().block_on(app_async::run(listener, config, stop))
    });
    for _ in 0..3 {
        assert_eq!(get(&app.url("/?delay=0")).status, 200);
    }
    assert_eq!(get(&app.url("/?delay=soon")).status, 400);
    assert_eq!(get(&app.url("/healthz")).status, 200);

    let slow_url = app.url("/?delay=1.5");
    let slow = std::thread::spawn(move || get(&slow_url));
    let metrics = app.url("/metrics");
    scrape_until(&metrics, |page| {
        page.get("http_requests_in_flight", &[]) == Some(1.0)
            && page.get("upstream_requests_in_flight", &[]) == Some(1.0)
    });
    assert_eq!(slow.join().expect("request thread").status, 200);

    let page = scrape(&metrics);
    kit::testing::assert_requests_counted(&page, 4, 1);
    // The slow one took over a second: it is in no bucket below 1 s.
    assert_eq!(
        page.get("http_request_duration_seconds_bucket", &[("le", "1")]),
        Some(4.0)
    );
    assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
    assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(0.0));
    // Four upstream calls (the bad delay made none), the slow one over 1 s.
    assert_eq!(
        page.get("upstream_request_duration_seconds_count", &[]),
        Some(4.0)
    );
    assert_eq!(
        page.get("upstream_request_duration_seconds_bucket", &[("le", "1")]),
        Some(3.0)
    );
}

/// One uwsgi request straight to the socket; the whole answer.
fn uwsgi_get(port: u16, path: &str, query: &str) -> String {
    let packet = common::uwsgi::encode_packet(&[
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", path),
        ("QUERY_STRING", query),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
    ]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(&packet).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn uwsgi_mode_serves_metrics_on_the_metrics_port() {
    let api = slow_api();
    let metrics_port = free_port().to_string();
    let config = config(
        &api,
        &["--protocol", "uwsgi", "--metrics-port", &metrics_port],
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut app = InProcess::spawn_on(listener, "app_async", move |listener, stop| {
        actix_web::rt::System::new().block_on(app_async::run(listener, config, stop))
    });
    let base = format!("http://127.0.0.1:{metrics_port}");
    let health = format!("127.0.0.1:{metrics_port}");
    app.wait_ready(Duration::from_secs(30), || {
        TcpStream::connect(&health).is_ok() && get(&format!("{base}/healthz")).status == 200
    });

    assert!(uwsgi_get(app.port, "/", "delay=0").starts_with("HTTP/1.1 200"));
    assert!(uwsgi_get(app.port, "/", "delay=0").starts_with("HTTP/1.1 200"));
    assert!(uwsgi_get(app.port, "/", "delay=x").starts_with("HTTP/1.1 400"));
    assert!(uwsgi_get(app.port, "/healthz", "").starts_with("HTTP/1.1 200"));

    let page = scrape(&format!("{base}/metrics"));
    kit::testing::assert_requests_counted(&page, 2, 1);
    assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));

    // The same page over uwsgi itself (nginx could pass /metrics on).
    let answer = uwsgi_get(app.port, "/metrics", "");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(common::metrics::CONTENT_TYPE), "{answer}");
    let body = answer.split_once("\r\n\r\n").expect("a body").1;
    let page = parse(body).expect("parses");
    assert_eq!(
        page.get("http_request_duration_seconds_count", &[]),
        Some(3.0)
    );
}
