//! `GET /metrics` on app_pg, both drivers: counts by status, the query in flight, and
//! the pool's gauges while a slow query holds a connection.

mod support;

use std::time::{Duration, Instant};

use kit::testing::scrape_metrics as scrape;
use support::*;

#[test]
fn pool_gauges_and_counts_for_both_drivers() {
    let api = slow_api();
    let db = postgres();
    for &driver in drivers() {
        let metrics_port = free_port().to_string();
        let app = app_pg(
            driver,
            &api,
            &db,
            &["--pool-size", "2", "--metrics-port", &metrics_port],
        );
        assert_eq!(get(&app.url("/?delay=0")).status, 200, "{driver:?}");
        assert_eq!(get(&app.url("/?delay=-3")).status, 400, "{driver:?}");

        // 1 s: half on the upstream, then a 0.5 s query holding a connection.
        let slow_url = app.url("/?delay=1");
        let slow = std::thread::spawn(move || get(&slow_url));
        let metrics = app.url("/metrics");
        let deadline = Instant::now() + Duration::from_secs(15);
        let during = loop {
            // With the blocking driver the loop is stuck in the query: scrape the
            // metrics port, whose thread is not.
            let page = scrape(&format!("http://127.0.0.1:{metrics_port}/metrics"));
            if page.get("db_pool_in_use", &[]) == Some(1.0)
                && page.get("db_queries_in_flight", &[]) == Some(1.0)
            {
                break page;
            }
            assert!(
                Instant::now() < deadline,
                "{driver:?}: no query seen: {page:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(during.get("http_requests_in_flight", &[]), Some(1.0));
        // The upstream half is over when the query runs.
        assert_eq!(during.get("upstream_requests_in_flight", &[]), Some(0.0));
        assert!(during.get("db_pool_size", &[]) >= Some(1.0), "{during:?}");
        assert_eq!(slow.join().expect("request thread").status, 200);

        let page = scrape(&metrics);
        kit::testing::assert_requests_counted(&page, 2, 1);
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("db_queries_in_flight", &[]), Some(0.0));
        // Two requests got past the delay check: two upstream calls, two queries, the
        // slow one's query at least 0.5 s (pg_sleep of half the delay).
        assert_eq!(
            page.get("upstream_request_duration_seconds_count", &[]),
            Some(2.0)
        );
        assert_eq!(page.get("db_query_duration_seconds_count", &[]), Some(2.0));
        let quick = page.get("db_query_duration_seconds_bucket", &[("le", "0.25")]);
        assert!(
            quick <= Some(1.0),
            "{driver:?}: the slow query is not quick"
        );
        assert_eq!(page.get("db_pool_in_use", &[]), Some(0.0), "{driver:?}");
        assert_eq!(page.get("db_pool_waiters", &[]), Some(0.0), "{driver:?}");
        let size = page.get("db_pool_size", &[]).expect("db_pool_size");
        assert!((1.0..=2.0).contains(&size), "{driver:?}: {size}");
        drop(app);
    }
}
