//! `GET /metrics` on app_sync: the sum over every prefork worker, whichever process
//! answers (a worker on the main port, the master on `--metrics-port`); and uwsgi mode,
//! whose only HTTP is `--metrics-port`.

mod support;

use std::time::Duration;

use common::metrics::parse::Exposition;
use kit::testing::free_port;
use kit::testing::scrape_metrics as scrape;
use kit::testing::scrape_metrics_until as scrape_until;
use support::*;

#[test]
fn prefork_workers_add_up_whichever_process_answers() {
    let api = slow_api();
    let metrics_port = free_port().to_string();
    let app = app_sync(
        &api,
        &[
            "--workers",
            "2",
            "--threads",
            "2",
            "--metrics-port",
            &metrics_port,
        ],
    );
    let master = format!("http://127.0.0.1:{metrics_port}/metrics");

    // 8 at once on 2 x 2 threads: each worker can hold only 2, so both serve.
    let (replies, _) = get_concurrently(&app.url("/?delay=0.3"), 8);
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert_eq!(get(&app.url("/?delay=-1")).status, 400);

    let expect_totals = |page: &Exposition| {
        kit::testing::assert_requests_counted(page, 8, 1);
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(0.0));
        // Every upstream call is timed, in whichever worker made it; a bad delay made none.
        assert_eq!(
            page.get("upstream_request_duration_seconds_count", &[]),
            Some(8.0)
        );
        assert_eq!(
            page.get(
                "upstream_request_duration_seconds_bucket",
                &[("le", "0.25")]
            ),
            Some(0.0),
            "each call waited 0.3 s"
        );
        assert_eq!(page.get("db_queries_in_flight", &[]), None);
    };
    expect_totals(&scrape(&master));
    // Each scrape of the main port is a new connection, answered by either worker.
    for _ in 0..4 {
        expect_totals(&scrape(&app.url("/metrics")));
    }

    let slow_url = app.url("/?delay=1.5");
    let slow = std::thread::spawn(move || get(&slow_url));
    scrape_until(&master, |page| {
        page.get("http_requests_in_flight", &[]) == Some(1.0)
            && page.get("upstream_requests_in_flight", &[]) == Some(1.0)
    });
    assert_eq!(slow.join().expect("request thread").status, 200);
    let page = scrape(&master);
    assert_eq!(
        page.get("http_requests_total", &[("code", "200")]),
        Some(9.0)
    );
    assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));

    // process_*: the master and its two workers, whichever process answers: each worker
    // runs its 2 request threads, so the tree has more than 4 threads.
    for page in [scrape(&master), scrape(&app.url("/metrics"))] {
        let threads = page.get("process_threads", &[]).expect("process_threads");
        assert!(threads > 4.0, "{threads} threads");
        let resident = page
            .get("process_resident_memory_bytes", &[])
            .expect("process_resident_memory_bytes");
        assert!(resident > 1_000_000.0, "{resident} bytes");
        let cpu = page
            .get("process_cpu_seconds_total", &[])
            .expect("process_cpu_seconds_total");
        assert!(cpu >= 0.0);
    }
    stop(app);
}

#[test]
fn uwsgi_dev_server_serves_metrics_on_the_metrics_port() {
    let api = slow_api();
    let metrics_port = free_port();
    let api_port = api.port.to_string();
    let metrics_flag = metrics_port.to_string();
    let mut app = Service::spawn_with_env(
        APP,
        "--port-app",
        &[
            "--port-api",
            &api_port,
            "--protocol",
            "uwsgi",
            "--metrics-port",
            &metrics_flag,
        ],
        &[],
    );
    app.wait_ready(Duration::from_secs(30), || {
        kit::testing::raw_get_status(metrics_port, "/healthz") == Some(200)
    });
    let packet = |query: &str| {
        common::uwsgi::encode_packet(&[
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", "/"),
            ("QUERY_STRING", query),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ])
    };
    assert_eq!(status_of(&raw_exchange(app.port, &packet("delay=0"))), 200);
    assert_eq!(status_of(&raw_exchange(app.port, &packet("delay=no"))), 400);

    let page = scrape(&format!("http://127.0.0.1:{metrics_port}/metrics"));
    kit::testing::assert_requests_counted(&page, 1, 1);
    assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
    stop(app);
}
